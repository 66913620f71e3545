"""Programs written in the style of libraries built on HIPS autograd (part 7; see
autograd_library_programs.py)."""

# A scattering code's autograd layer (treams-style): native kernels return (value, context), the
# context holding a pullback and a pushforward; one primitive runs whichever kernel it is handed
# (the kernel and a holder of its context ride along as arguments that are not differentiated,
# so nothing is registered per call), returning an array for one kernel (solve, a Bessel
# function) and a tuple for another (eig). Its vjps and jvps conjugate around the kernel's
# holomorphic pullback, refuse second derivatives (a box reaching the rule), and the contexts
# are freed with their pullbacks
NATIVE_KERNELS = r'''
import gc, json, weakref
import numpy as onp
import scipy.special as sps
import autograd
import autograd.numpy as anp
from autograd.extend import primitive, defvjp, defjvp
from autograd.tracer import isbox, getval

res = {"library": autograd.__name__}
def c(z): z = onp.asarray(z); return [onp.real(z).tolist(), onp.imag(z).tolist()]

# "native" differentiable kernels: each returns (value, context); context.pullback(*conj cotangents)
# gives conj input cotangents; context.pushforward(*directions) gives output tangents
class SolveContext:
    def __init__(self, a, x):
        self.a, self.x = a, x
    def pullback(self, g):
        gb = onp.linalg.solve(self.a.conj().T, g)
        return -gb @ self.x.conj().T, gb   # (d a, d b) for the holomorphic pairing
    def pushforward(self, da, db):
        return onp.linalg.solve(self.a, db - da @ self.x)

def native_solve(a, b):
    x = onp.linalg.solve(a, b)
    return x, SolveContext(a.copy(), x)

class EigContext:
    def __init__(self, w, v):
        self.w, self.v, self.vinv = w, v, onp.linalg.inv(v)
    def pushforward(self, da):
        m = self.vinv @ da @ self.v
        dw = onp.diag(m).copy()
        f = self.w[None, :] - self.w[:, None]
        onp.fill_diagonal(f, 1.0)
        off = m / f
        onp.fill_diagonal(off, 0.0)
        return dw, self.v @ off
    def pullback(self, gw, gv):
        f = self.w[None, :] - self.w[:, None]
        onp.fill_diagonal(f, 1.0)
        inner = self.v.conj().T @ gv / f.conj()
        onp.fill_diagonal(inner, 0.0)
        inner = inner + onp.diag(gw)
        return (self.vinv.conj().T @ inner @ self.v.conj().T,)

def native_eig(a):
    w, v = onp.linalg.eig(a)
    return (w, v), EigContext(w, v)

class BesselContext:
    def __init__(self, order, z):
        self.order, self.z = order, z
    def derivative(self):
        return 0.5 * (sps.jv(self.order - 1, self.z) - sps.jv(self.order + 1, self.z))
    def pullback(self, g):
        return (g * onp.conj(self.derivative()),)
    def pushforward(self, dz):
        return self.derivative() * dz

def native_bessel(z, order=1):
    return sps.jv(order, z), BesselContext(order, z)

# the wrapper: one primitive for every kernel; the kernel and a holder of its context ride along
# as arguments that are not differentiated, so no registration is made per call
class _Holder:
    __slots__ = ("context", "__weakref__")

def _first_order_only(*values):
    if any(isbox(v) for v in values):
        raise NotImplementedError("native kernels support first-order derivatives only")

@primitive
def _apply(native, holder, kwargs, *args):
    value, holder.context = native(*args, **dict(kwargs))
    return value

def _real_like(x, g):
    return onp.real(g) if not onp.iscomplexobj(x) else g

def _vjp_maker(position):
    def maker(ans, native, holder, kwargs, *args):
        context = holder.context
        def vjp(g):
            _first_order_only(g, *args)
            gs = g if isinstance(g, tuple) else (g,)
            grads = context.pullback(*(onp.conj(x) for x in gs))
            return _real_like(args[position], onp.conj(grads[position]))
        return vjp
    return maker

def _jvp_maker(position):
    def jvp(g, ans, native, holder, kwargs, *args):
        _first_order_only(g, *args)
        kind = [complex if onp.iscomplexobj(a) or onp.iscomplexobj(g) else float for a in args]
        directions = [onp.zeros_like(onp.asarray(a, dtype=k)) for a, k in zip(args, kind)]
        directions[position] = g
        out = holder.context.pushforward(*directions)
        return out
    return jvp

MAX_ARGS = 4
defvjp(_apply, *[_vjp_maker(i) for i in range(MAX_ARGS)], argnums=range(3, 3 + MAX_ARGS))
defjvp(_apply, *[_jvp_maker(i) for i in range(MAX_ARGS)], argnums=range(3, 3 + MAX_ARGS))

def wrap(native):
    def wrapped(*args, **kwargs):
        return _apply(native, _Holder(), tuple(sorted(kwargs.items())), *args)
    return wrapped

solve, eig, bessel = wrap(native_solve), wrap(native_eig), wrap(native_bessel)

# 1. solve against autograd.numpy's, both arguments, real and complex
A = onp.array([[2.0, 0.2], [0.1, 1.5]]); B = onp.array([[0.3], [0.7]])
AC, BC = A + onp.array([[0.2j, -0.1j], [0.3j, 0.1j]]), B + onp.array([[0.1j], [-0.3j]])
for tag, (a, b) in {"real": (A, B), "complex": (AC, BC)}.items():
    def objective(sol, a, b):
        x = sol(a, b)
        return anp.sum(anp.abs(x) ** 2) + 0.2 * anp.sum(anp.imag(x))
    ours = autograd.grad(lambda a, b: objective(solve, a, b), (0, 1))(a, b)
    ref = autograd.grad(lambda a, b: objective(anp.linalg.solve, a, b), (0, 1))(a, b)
    res["solve_" + tag] = [c(ours[0]), c(ours[1]), c(ref[0]), c(ref[1]), onp.iscomplexobj(ours[0])]

# 2. a pullback reused: one forward call, inputs snapshotted
calls = []
def record(a, b):
    calls.append(1)
    return native_solve(a, b)
op = onp.array([[2.0 + 0.2j, 0.1], [0.2j, 1.5]]); rhs = onp.array([[0.3 + 0.1j], [0.7 - 0.2j]])
pullback, output = autograd.make_vjp(wrap(record), (0, 1))(op, rhs)
op[:] = 5.0
outs = [pullback(g) for g in (onp.ones_like(output), onp.full_like(output, 0.2 + 0.3j))]
res["reuse"] = [len(calls), [c(x) for o in outs for x in o], c(output)]

# 3. tuple outputs (eig) and a cotangent for each part; the eigenvalue loss
M = onp.array([[1.3 + 0.1j, 0.2j], [0.1, 2.1 - 0.2j]])
pb, out = autograd.make_vjp(eig)(M)
res["eig_out"] = [type(out).__name__, len(out), c(out[0])]
res["eig_pb"] = c(pb((onp.array([0.2 + 0.1j, -0.3j]), onp.full((2, 2), 0.1 - 0.2j))))
res["eig_loss"] = c(autograd.grad(lambda a: anp.sum(anp.real(eig(a)[0])))(M))
res["eig_vec_loss"] = c(autograd.grad(lambda a: anp.sum(anp.abs(eig(a)[1][0]) ** 2) + anp.real(anp.prod(eig(a)[0])))(M))

# 4. forward mode: several arguments, tuple directions; tuple outputs
for tag, argnums in (("a", (0,)), ("b", (1,)), ("ab", (0, 1))):
    dirs = (onp.full_like(A, 0.1), onp.full((2, 2), 0.2))
    rr = onp.array([[0.3, 0.1], [0.7, -0.2]])
    v, t = autograd.make_jvp(solve, argnums)(A, rr)(tuple(dirs[i] for i in argnums))
    res["jvp_" + tag] = [v.tolist(), c(t)]
Dm = onp.array([[0.2j, 0.1], [-0.1, 0.3j]])
o, t = autograd.make_jvp(eig)(M)(Dm)
res["jvp_eig"] = [c(o[0]), c(t[0]), c(t[1])]
z0, dz = onp.asarray(0.8 + 0.2j), onp.asarray(0.2 - 0.1j)
res["jvp_bessel"] = c(autograd.make_jvp(lambda x: bessel(x, order=2) * 3.0)(z0)(dz)[1])
res["grad_bessel"] = c(autograd.grad(lambda x: anp.real(bessel(x)) ** 2)(0.3))
res["egrad_bessel"] = c(autograd.elementwise_grad(lambda x: anp.real(bessel(x, order=1)))(onp.array([0.3, 0.5, 1.0])))

# 5. higher order is refused with NotImplementedError, whichever way it is asked
def objective(v):
    return anp.real(bessel(v, order=1))
refused = []
for how, call in (("grad_grad", lambda: autograd.grad(autograd.grad(objective))(0.3)),
                  ("grad_jvp", lambda: autograd.grad(lambda x: autograd.make_jvp(objective)(x)(1.0)[1])(0.3)),
                  ("jvp_grad", lambda: autograd.make_jvp(autograd.grad(objective))(0.3)(1.0)),
                  ("hessian", lambda: autograd.hessian(lambda x: anp.sum(anp.real(bessel(x)) ** 2))(
                      onp.array([0.3, 0.4])))):
    try:
        call()
        refused.append([how, "no error"])
    except NotImplementedError as e:
        refused.append([how, "NotImplementedError", "first-order" in str(e)])
res["refused"] = refused

# 6. contexts are freed with their pullbacks
refs = []
class Pullback:
    def __call__(self, g): return g
    def pushforward(self, d): return d
    def pullback(self, g): return (g,)
def rec(value):
    ctx = Pullback(); refs.append(weakref.ref(ctx))
    return value, ctx
alive = []
for _ in range(3):
    pb, _ = autograd.make_vjp(wrap(rec))(onp.array([0.2, 0.3]))
    alive.append(refs[-1]() is not None)
    del pb
    autograd.make_jvp(wrap(rec))(onp.array([0.2, 0.3]))(onp.ones(2))
gc.collect()
res["freed"] = [alive, [r() is None for r in refs]]
print(json.dumps(res))
'''

# grcwa's autograd backend (primitives.py, fft_funs.py, rcwa.py): eig of a complex
# non-Hermitian matrix as a primitive with its own vjp, the layer's convolution matrix from
# np.fft.fft2 indexed by the reciprocal lattice, complex square roots on a chosen branch by
# np.where, a transfer matrix from phase-weighted mode propagators and a reflection solve
GRCWA = r'''
import json
import numpy as onp
import autograd
import autograd.numpy as np
from autograd.extend import primitive, defvjp
from autograd import grad, value_and_grad, jacobian

# grcwa/primitives.py: eig of a general complex matrix with its own vjp
def matrix_diag(a):
    return np.eye(a.shape[-1]) * a[..., np.newaxis, :]

@primitive
def Eig(A):
    return onp.linalg.eig(A)

def grad_eig(ans, x):
    e, u = ans
    n = e.shape[-1]
    def vjp(g):
        ge, gu = g
        ge = matrix_diag(ge)
        f = 1 / (e[..., np.newaxis, :] - e[..., :, np.newaxis] + 1.e-20)
        f -= np.eye(n) * f
        ut = np.swapaxes(u, -1, -2)
        r1 = f * np.dot(ut, gu)
        r2 = -f * (np.dot(np.dot(ut, np.conj(u)), np.real(np.dot(ut, gu)) * np.eye(n)))
        r = np.dot(np.dot(np.linalg.inv(ut), ge + r1 + r2), ut)
        if not np.iscomplexobj(x):
            r = np.real(r)
        return r
    return vjp

defvjp(Eig, grad_eig)

# grcwa/fft_funs.py: the convolution (Toeplitz) matrix of a layer's permittivity from its FFT
def Epsilon_fft(dN, eps_grid, G):
    Nx, Ny = eps_grid.shape
    eps_fft = np.fft.fft2(eps_grid) / (Nx * Ny)
    ix = (G[:, 0][:, None] - G[:, 0][None, :]) % Nx
    iy = (G[:, 1][:, None] - G[:, 1][None, :]) % Ny
    return eps_fft[ix, iy]

# grcwa/rcwa.py: reciprocal lattice truncation, layer eigenproblem, S-matrix
def Lattice_getG(nG):
    G = [(i, j) for i in range(-1, 2) for j in range(-1, 2)][:nG]
    return onp.array(G)

def SolveLayerEigensystem(omega, kx, ky, kp_k, epinv):
    nG = len(kx)
    k = np.vstack((np.diag(kx), np.diag(ky)))
    kkT = np.dot(k, k.T)
    M = np.dot(kp_k, np.dot(np.eye(2 * nG), omega**2) - kkT)  # noqa
    q, phi = Eig(M)
    q = np.sqrt(q + 0j)
    # branch: positive imaginary part
    q = np.where(np.imag(q) < 0, -q, q)
    return q, phi

def layer_kp(kx, ky, epinv):
    nG = len(kx)
    Kx, Ky = np.diag(kx), np.diag(ky)
    top = np.hstack((np.dot(Ky, np.dot(epinv, Ky)), -np.dot(Ky, np.dot(epinv, Kx))))
    bot = np.hstack((-np.dot(Kx, np.dot(epinv, Ky)), np.dot(Kx, np.dot(epinv, Kx))))
    return np.eye(2 * nG) + np.vstack((top, bot)) * 0.1

def GetSMatrix(qs, phis, thicks):
    # a simplified transfer: product of phase-weighted mode propagators, then a reflection solve
    n = phis[0].shape[0]
    T = np.eye(n) + 0j
    for q, phi, d in zip(qs, phis, thicks):
        P = np.dot(phi * np.exp(1j * q * d)[None, :], np.linalg.inv(phi))
        T = np.dot(P, T)
    a = np.eye(n) + T
    b = np.eye(n) - T
    r = np.linalg.solve(a, b)
    return r, T

G = Lattice_getG(5)
omega = 2 * onp.pi / 1.3
kx = 0.3 + G[:, 0] * 2 * onp.pi / 1.5
ky = -0.1 + G[:, 1] * 2 * onp.pi / 1.5
Nx = Ny = 6
rs = onp.random.RandomState(0)
x0 = rs.uniform(0.2, 0.8, (Nx, Ny))

def fom(x, thicks=(0.2, 0.35)):
    eps = 1.0 + 3.0 * x
    epsm = Epsilon_fft(len(G), eps, G)
    epinv = np.linalg.inv(epsm)
    qs, phis = [], []
    for scale in (1.0, 0.5):
        kp = layer_kp(kx * scale, ky, epinv)
        q, phi = SolveLayerEigensystem(omega, kx * scale, ky, kp, epinv)
        qs.append(q); phis.append(phi)
    r, T = GetSMatrix(qs, phis, thicks)
    R = np.sum(np.abs(r[:, 0]) ** 2)
    return np.real(R) + 0.01 * np.real(np.trace(T))

val, g = value_and_grad(fom)(x0)
# the derivative in a thickness too
gt = grad(lambda t: fom(x0, (t[0], t[1])))(onp.array([0.2, 0.35]))
# the eig primitive alone on a complex matrix, its real and imaginary parts both differentiated
Mc = rs.randn(3, 3) + 1j * rs.randn(3, 3)
def eig_obj(m):
    e, u = Eig(m)
    un = u / np.sqrt(np.sum(np.abs(u) ** 2, axis=0))
    return np.sum(np.abs(e) ** 2) + np.real(np.sum(un * np.conj(un)))
ge = grad(eig_obj)(Mc)
J = jacobian(lambda x: np.abs(Epsilon_fft(5, x, G)).ravel())(x0)
res = {"library": autograd.__name__, "val": float(val), "g": g.ravel().tolist(), "gt": gt.tolist(),
       "ge": [onp.real(ge).ravel().tolist(), onp.imag(ge).ravel().tolist()], "J": J.ravel().tolist()}
print(json.dumps(res))
'''

# mattjj/svae: expected sufficient statistics as gradients of log normalisers (Dirichlet by
# gammaln and digamma, normal-inverse-Wishart by multigammaln and slogdet, Gaussian by
# Cholesky and solve_triangular), their Hessians (polygamma), a recognition network, a
# mean-field ELBO over a tuple of tuples and lists of parameters, autograd.misc.flatten and
# autograd.misc.optimizers' adam (with a callback), rmsprop and sgd
SVAE = r'''
import json
import numpy as onp
import autograd
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import grad, value_and_grad, hessian, make_hvp, jacobian
from autograd.scipy.special import digamma, gammaln, multigammaln, polygamma, logsumexp
from autograd.scipy.linalg import solve_triangular
from autograd.misc import flatten
from autograd.misc.optimizers import adam, sgd, rmsprop
from autograd.core import getval
from autograd.extend import primitive, defvjp

# svae/util.py
def unbox(x):
    return getval(x)
def symmetrize(A):
    return (A + np.swapaxes(A, -1, -2)) / 2.
def outer(a, b):
    return a[..., :, None] * b[..., None, :]
def contract(a, b):
    return sum(np.sum(x * y) for x, y in zip(a, b))  # over tuples of natural params / stats
def T(X):
    return np.swapaxes(X, -1, -2)
def solve_symmetric(A, b):
    L = np.linalg.cholesky(A)
    return solve_triangular(T(L), solve_triangular(L, b, lower=True), lower=False)

# svae/distributions/dirichlet.py: expected stats are the gradient of the log normalizer
def dirichlet_logZ(natparam):
    alpha = natparam + 1
    return np.sum(gammaln(alpha), axis=-1) - gammaln(np.sum(alpha, axis=-1))
def dirichlet_expectedstats(natparam):
    alpha = natparam + 1
    return digamma(alpha) - digamma(np.sum(alpha, axis=-1, keepdims=True))

# svae/distributions/niw.py
def niw_standard_to_natural(S, m, kappa, nu):
    b = np.expand_dims(kappa, -1) * m
    A = S + outer(b, m)
    return A, b, kappa, nu
def niw_natural_to_standard(A, b, kappa, nu):
    m = b / np.expand_dims(kappa, -1)
    S = A - outer(b, m)
    return S, m, kappa, nu
def niw_logZ(natparam):
    S, m, kappa, nu = niw_natural_to_standard(*natparam)
    n = m.shape[-1]
    return np.sum(multigammaln(nu / 2., n) - nu / 2. * np.linalg.slogdet(S)[1] - n / 2. * np.log(kappa)
                  + nu * n / 2. * np.log(2.))
def niw_expectedstats(natparam):
    return grad(niw_logZ)(natparam)

# svae/distributions/gaussian.py
def pack_dense(A, b, *args):
    z1, z2 = np.zeros(A.shape[:-1] + (1,)), np.zeros(A.shape[:-2] + (1, 1))
    c, d = args if args else (z2, z2)
    A = np.concatenate((A, b[..., :, None], z1), axis=-1)
    B = np.concatenate((b[..., None, :], c, z2), axis=-1)
    C = np.concatenate((z1.swapaxes(-1, -2), z2, d if args else z2), axis=-1)
    return np.concatenate((A, B, C), axis=-2)
def unpack_dense(arr):
    N = arr.shape[-1] - 2
    return arr[..., :N, :N], arr[..., :N, N], arr[..., N, N], arr[..., N + 1, N + 1]
def gaussian_logZ(natparam):
    neghalfJ, h, a, b = unpack_dense(natparam)
    J = -2 * neghalfJ
    L = np.linalg.cholesky(J)
    v = solve_triangular(L, h[..., None], lower=True)
    halflogdet = np.sum(np.log(np.diagonal(L, axis1=-1, axis2=-2)), axis=-1)
    return 1. / 2 * np.sum(v ** 2) - np.sum(halflogdet) + np.sum(a + b)
def gaussian_expectedstats(natparam):
    return grad(gaussian_logZ)(natparam)

# svae/nnet.py: a Gaussian recognition network
def init_layer(rs, d_in, d_out, scale=1e-1):
    return scale * rs.randn(d_in, d_out), scale * rs.randn(d_out)
def gaussian_mean(inputs, params):
    (W1, b1), (W2, b2), (W3, b3) = params
    h = np.tanh(np.dot(inputs, W1) + b1)
    mu = np.dot(h, W2) + b2
    log_sigmasq = np.dot(h, W3) + b3
    return mu, np.exp(log_sigmasq)
def gaussian_info(inputs, params):
    mu, sigmasq = gaussian_mean(inputs, params)
    J = 1. / sigmasq
    h = J * mu
    return J, h

rs = onp.random.RandomState(0)
N, D, K, P = 12, 3, 3, 2
data = rs.randn(N, P)

# the mean-field update: z's label stats against the Dirichlet, x's Gaussian stats against NIWs
def local_meanfield(global_natparam, node_potentials):
    dirichlet_natparam, niw_natparams = global_natparam
    J, h = node_potentials
    label_global = dirichlet_expectedstats(dirichlet_natparam)
    E_A, E_b, E_k, E_n = niw_expectedstats(niw_natparams)
    Jx = -2 * E_A[:, np.arange(D), np.arange(D)].mean(0) + J  # diagonal Gaussian
    hx = h + np.dot(np.ones(N)[:, None], E_b.mean(0)[None, :])
    stats = (hx / Jx, 1. / Jx + (hx / Jx) ** 2)
    label_logits = label_global[None, :] + np.dot(stats[0], E_b.T) - 0.5 * np.dot(stats[1], np.ones((D, K)))
    label_stats = np.exp(label_logits - logsumexp(label_logits, axis=1, keepdims=True))
    return stats, label_stats, logsumexp(label_logits)

def make_elbo(data):
    def elbo(params):
        global_natparam, rec_params, dec_params = params
        J, h = gaussian_info(data, rec_params)
        stats, label_stats, normalizer = local_meanfield(global_natparam, (J, h))
        xhat = np.dot(stats[0], dec_params)
        ll = -0.5 * np.sum((data - xhat) ** 2)
        kl = np.sum(label_stats * np.log(label_stats + 1e-12)) - normalizer
        prior = np.sum(dirichlet_logZ(global_natparam[0])) + niw_logZ(global_natparam[1])
        return ll - kl - 0.01 * prior
    return elbo

S0 = onp.stack([onp.eye(D) * (1 + 0.2 * k) for k in range(K)])
m0 = rs.randn(K, D) * 0.5
niw0 = niw_standard_to_natural(S0, m0, onp.full(K, 1.5), onp.full(K, D + 3.0))
params0 = ((onp.full(K, 1.3), niw0),
           [init_layer(rs, P, 4), init_layer(rs, 4, D), init_layer(rs, 4, D)],
           0.1 * rs.randn(D, P))
elbo = make_elbo(data)
v0, g0 = value_and_grad(elbo)(params0)
flat_g, unflatten = flatten(g0)

trace = []
def callback(params, i, g):
    if i % 3 == 0:
        trace.append(float(elbo(params)))
opt = adam(grad(lambda p, i: -elbo(p)), params0, step_size=1e-2, num_iters=6, callback=callback)
flat_opt, _ = flatten(opt)
opt2 = rmsprop(grad(lambda p, i: -elbo(p)), params0, step_size=1e-3, num_iters=3)
opt3 = sgd(grad(lambda p, i: -elbo(p)), params0, step_size=1e-3, num_iters=3, mass=0.5)

# Hessians of the log normalizers (Fisher information), by hessian and by make_hvp
alpha_nat = onp.array([0.5, 1.2, 2.0])
H_dir = hessian(lambda a: dirichlet_logZ(a))(alpha_nat)
hvp, _ = make_hvp(lambda a: dirichlet_logZ(a))(alpha_nat)
stats_check = grad(lambda a: dirichlet_logZ(a))(alpha_nat) - dirichlet_expectedstats(alpha_nat)
trig = grad(lambda a: np.sum(polygamma(1, a) * digamma(a)))(alpha_nat + 1)
Jnat = -0.5 * (onp.eye(2) * 2.0 + 0.3)
gnat = pack_dense(Jnat, onp.array([0.3, -0.7]))
Eg = gaussian_expectedstats(gnat)
Hg = hessian(lambda v: gaussian_logZ(pack_dense(Jnat, v)))(onp.array([0.3, -0.7]))
sol_g = jacobian(lambda A: solve_symmetric(A, onp.array([1.0, 2.0])))(onp.array([[2.0, 0.3], [0.3, 1.0]]))

res = {"library": autograd.__name__, "v0": float(v0), "flat_g": flat_g.tolist(),
       "unflatten": float(unflatten(flat_g)[2][0, 0]), "trace": trace, "opt": flat_opt.tolist(),
       "opt2": flatten(opt2)[0].tolist(), "opt3": flatten(opt3)[0].tolist(),
       "H_dir": H_dir.tolist(), "hvp": hvp(onp.array([1.0, -1.0, 0.5])).tolist(), "stats": stats_check.tolist(),
       "trig": trig.tolist(), "Eg": Eg.tolist(), "Hg": Hg.tolist(), "sol": sol_g.ravel().tolist()}
print(json.dumps(res))
'''

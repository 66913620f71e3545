"""Programs trimmed from libraries built on HIPS autograd (part 2; see
autograd_library_programs.py)."""

# mici's autograd_wrapper: derivatives to third order from make_vjp of autograd.builtins.tuple
MICI = r'''
import json
import numpy as onp
import autograd
import autograd.numpy as np
from autograd.builtins import tuple as atuple
from autograd.core import make_vjp
from autograd.extend import vspace

def grad_and_value(func):
    def grad_and_value_func(x):
        vjp, val = make_vjp(func, x)
        if vspace(val).size != 1:
            raise TypeError("grad_and_value only applies to real scalar-output functions.")
        return vjp(vspace(val).ones()), val
    return grad_and_value_func

def vjp_and_value(func):
    def vjp_and_value_func(x):
        return make_vjp(func, x)
    return vjp_and_value_func

def jacobian_and_value(func):
    def jacobian_and_value_func(x):
        vjp, val = make_vjp(func, x)
        val_vspace = vspace(val)
        jacobian_shape = val_vspace.shape + vspace(x).shape
        jacobian_rows = map(vjp, val_vspace.standard_basis())
        return np.reshape(np.stack(jacobian_rows), jacobian_shape), val
    return jacobian_and_value_func

def mhp_jacobian_and_value(func):
    def mhp_jacobian_and_value_func(x):
        mhp, (jacob, val) = make_vjp(lambda x: atuple(jacobian_and_value(func)(x)), x)
        return lambda m: mhp((m, vspace(val).zeros())), jacob, val
    return mhp_jacobian_and_value_func

def hessian_grad_and_value(func):
    def grad_func(x):
        vjp, val = make_vjp(func, x)
        return vjp(vspace(val).ones()), val
    def hessian_grad_and_value_func(x):
        x_vspace = vspace(x)
        vjp_grad, (grad, val) = make_vjp(lambda x: atuple(grad_func(x)), x)
        hessian_shape = x_vspace.shape + x_vspace.shape
        zeros = vspace(val).zeros()
        hessian_rows = (vjp_grad((v, zeros)) for v in x_vspace.standard_basis())
        return np.reshape(np.stack(hessian_rows), hessian_shape), grad, val
    return hessian_grad_and_value_func

def mtp_hessian_grad_and_value(func):
    def mtp_hessian_grad_and_value_func(x):
        mtp, (hessian, grad, val) = make_vjp(lambda x: atuple(hessian_grad_and_value(func)(x)), x)
        return (lambda m: mtp((m, vspace(grad).zeros(), vspace(val).zeros())), hessian, grad, val)
    return mtp_hessian_grad_and_value_func

# mici's examples: a banana-shaped log density and a constraint on a torus-like manifold
def neg_log_dens(q):
    return (q[0] ** 2 / 2 + (q[1] - q[0] ** 2) ** 2 / 0.5 + np.sum(np.log1p(q[2:] ** 2))
            + 0.1 * np.dot(q, np.tanh(q)))

def constr(q):
    return np.stack([np.sum(q ** 2) - 2.0, q[0] * q[1] - np.sin(q[2]) * q[3]])

q = onp.array([0.4, -0.3, 1.1, 0.7])
m = onp.arange(8.0).reshape(2, 4) / 7
m4 = onp.arange(16.0).reshape(4, 4) / 11
res = {"library": autograd.__name__}
g, v = grad_and_value(neg_log_dens)(q)
res["grad"] = [g.tolist(), float(v)]
vjp, val = vjp_and_value(constr)(q)
res["vjp"] = [vjp(onp.array([1.0, -2.0])).tolist(), val.tolist()]
j, val = jacobian_and_value(constr)(q)
res["jac"] = j.tolist()
mhp, j2, val2 = mhp_jacobian_and_value(constr)(q)
res["mhp"] = [mhp(m).tolist(), j2.tolist()]
h, g2, v2 = hessian_grad_and_value(neg_log_dens)(q)
res["hess"] = [h.tolist(), g2.tolist(), float(v2)]
mtp, h3, g3, v3 = mtp_hessian_grad_and_value(neg_log_dens)(q)
res["mtp"] = [mtp(m4).tolist(), h3.tolist()]
print(json.dumps(res))
'''


# momi2's math_functions: convolutions as primitives whose vjps are primitives, expm1d and
# transformed_expi by masks and concatenation, a symmetric matrix filled by assignment
MOMI = r'''
import json
import numpy as onp
import scipy.special
import scipy.linalg
import autograd
import autograd.numpy as np
from autograd.extend import primitive, defvjp
from autograd import grad, hessian, jacobian
from autograd.test_util import check_grads

def _convolve_sum_axes(A, B):
    n, i, k = A.shape
    _, j, l = B.shape
    C = onp.zeros((n, i, j, k + l - 1))
    for a in range(k):
        for b in range(l):
            C[:, :, :, a + b] += A[:, :, a][:, :, None] * B[:, :, b][:, None, :]
    return C

def _transposed_convolve_sum_axes(C, B):
    l = B.shape[2]
    k = C.shape[3] - l + 1
    return onp.stack([onp.einsum('nijl,njl->ni', C[:, :, :, a:a + l], B) for a in range(k)], axis=-1)

def convolve_trailing_axes(A, B):
    A = np.reshape(A, list(A.shape) + [1])
    B = np.reshape(B, list(B.shape) + [1])
    return convolve_sum_axes(np.transpose(A, (0, 2, 1)), np.transpose(B, (0, 2, 1)))

convolve_sum_axes = primitive(_convolve_sum_axes)
transposed_convolve_sum_axes = primitive(_transposed_convolve_sum_axes)
defvjp(convolve_sum_axes,
       lambda ans, A, B: lambda g: transposed_convolve_sum_axes(g, B),
       lambda ans, A, B: lambda g: transposed_convolve_sum_axes(np.transpose(g, (0, 2, 1, 3)), A))
defvjp(transposed_convolve_sum_axes,
       lambda ans, C, B: lambda g: convolve_sum_axes(g, B),
       lambda ans, C, B: lambda g: transposed_convolve_sum_axes(np.transpose(C, (0, 2, 1, 3)), g))

@primitive
def expi(x):
    return scipy.special.expi(x)
defvjp(expi, lambda ans, x: lambda g: g * np.exp(x) / x)

def transformed_expi(x):
    abs_x = np.abs(x)
    ser = abs_x < 1. / 45.
    nser = np.logical_not(ser)
    assert np.all(abs_x[:-1] >= abs_x[1:])
    return np.concatenate((transformed_expi_naive(x[nser]), transformed_expi_series(x[ser])))

def transformed_expi_series(x):
    c_n, ret = 1., 1.
    for n in range(1, 11):
        c_n = -c_n * x * n
        ret = ret + c_n
    return ret

def transformed_expi_naive(x):
    return -expi(-1.0 / x) * np.exp(1.0 / x) / x

def expm1d(x, eps=1e-6):
    x = np.array(x)
    abs_x = np.abs(x)
    if x.shape:
        assert np.all(abs_x[1:] >= abs_x[:-1])
        small = abs_x < eps
        big = ~small
        return np.concatenate([expm1d_taylor(x[small]), expm1d_naive(x[big])])
    elif abs_x < eps:
        return expm1d_taylor(x)
    else:
        return expm1d_naive(x)

def expm1d_naive(x):
    return np.expm1(x) / x

def expm1d_taylor(x):
    c_n, ret = 1., 1.
    for n in range(2, 11):
        c_n = c_n * x / (1.0 * n)
        ret = ret + c_n
    return ret

@primitive
def symmetric_matrix(arr, n):
    if len(arr) != n * (n + 1) / 2:
        raise Exception("Array must have dimensions n*(n+1)/2")
    ret = onp.zeros((n, n))
    idx = onp.triu_indices(n)
    ret[idx] = arr
    ret[tuple(reversed(idx))] = arr
    return ret
# (momi's vjp reads one triangle of g; both libraries compute the same numbers with it)
defvjp(symmetric_matrix, lambda ans, arr, n: lambda g: g[np.triu_indices(n)])

def slogdet_pos(X):
    sgn, slogdet = np.linalg.slogdet(X)
    if sgn <= 0:
        raise Exception("X determinant is nonpositive")
    return slogdet

def log_wishart_pdf(X, V, n, p):
    return (n - p - 1) / 2 * slogdet_pos(X) - n / 2 * slogdet_pos(V) - 0.5 * np.trace(np.dot(np.linalg.inv(V), X))

@primitive
def inv_psd(x):
    return scipy.linalg.pinvh(x)
defvjp(inv_psd, lambda ans, x: lambda g: -np.dot(np.dot(ans, g), ans))

rs = onp.random.RandomState(0)
A0, B0 = rs.rand(2, 3, 4), rs.rand(2, 2, 3)
V = onp.array([[2.0, 0.3, 0.1], [0.3, 1.5, 0.2], [0.1, 0.2, 1.0]])

def model(params):
    A = A0 * np.exp(params[0])
    B = B0 * (1 + params[1] ** 2)
    C = convolve_sum_axes(A, B)
    t = np.sort(np.abs(params[2:5]))[::-1] * 0.1
    e = transformed_expi(np.concatenate([t, np.array([0.01, 0.005])]))
    m = expm1d(np.sort(np.abs(params[2:6]) * np.array([1e-7, 1.0, 1.0, 1.0])))
    s = expm1d(params[0] * 1e-8) + expm1d(params[1])
    X = symmetric_matrix(np.exp(params[:6] * 0.1) * np.array([2.0, 0.1, 0.05, 1.8, 0.1, 1.5]), 3)
    W = log_wishart_pdf(X, V, 5.0, 3)
    Q = inv_psd(X)
    return (np.sum(C ** 2) + np.sum(e) + np.sum(m) + s + W + np.sum(Q * V)
            + np.sum(convolve_trailing_axes(A[:, 0, :], B[:, 0, :]) ** 3))

p = onp.array([0.2, -0.5, 0.3, 0.9, -0.4, 0.7])
check_grads(lambda a: np.sum(convolve_sum_axes(a, B0) ** 2), modes=["rev"], order=2)(A0)
g = rs.rand(2, 3, 2, 6)
res = {"library": autograd.__name__,
       "value": float(model(p)), "grad": grad(model)(p).tolist(), "hess": hessian(model)(p).tolist(),
       "jac_conv": jacobian(lambda a: convolve_sum_axes(a, B0))(A0).tolist(),
       "second": grad(lambda b: np.sum(transposed_convolve_sum_axes(g, b) ** 2))(B0).tolist(),
       "expm1d_scalar": [float(grad(expm1d)(0.0)), float(grad(expm1d)(0.7)), float(grad(expm1d)(1e-8))]}
print(json.dumps(res))
'''


# autograd-gamma's incomplete gamma and beta functions, and a survival likelihood built on them
AUTOGRAD_GAMMA = r'''
import json
import numpy as onp
import autograd
import autograd.numpy as np
from autograd import grad, elementwise_grad, jacobian, hessian, value_and_grad
from autograd_gamma import (gammainc, gammaincc, gammaincln, gammainccln, betainc, betaincln,
                            gammaincinv, gammainccinv, betaincinv)

a = onp.array([0.7, 2.5, 4.0])
x = onp.array([0.3, 1.9, 5.5])
b = onp.array([1.5, 0.8, 3.0])
u = onp.array([0.2, 0.5, 0.9])
res = {"library": autograd.__name__}
for name, f in [("gammainc", gammainc), ("gammaincc", gammaincc), ("gammaincln", gammaincln),
                ("gammainccln", gammainccln)]:
    res[name] = [elementwise_grad(f, 0)(a, x).tolist(), elementwise_grad(f, 1)(a, x).tolist(),
                 jacobian(lambda a: f(a, x))(a).tolist()]
res["inv"] = [elementwise_grad(gammaincinv, 0)(a, u).tolist(), elementwise_grad(gammaincinv, 1)(a, u).tolist(),
              elementwise_grad(gammainccinv, 1)(a, u).tolist()]
s = onp.array([0.2, 0.4, 0.7])
res["beta"] = [elementwise_grad(betainc, k)(a, b, s).tolist() for k in range(3)] + \
    [elementwise_grad(betaincln, k)(a, b, s).tolist() for k in range(3)] + \
    [elementwise_grad(betaincinv, 2)(a, b, u).tolist()]
# a lifelines-style survival log-likelihood: gamma AFT with censoring
T = onp.array([1.2, 0.4, 3.1, 2.2, 0.9])
E = onp.array([1, 0, 1, 1, 0])
def loglik(params):
    k, lam = np.exp(params[0]), np.exp(params[1])
    logsf = gammainccln(k, T / lam)
    logpdf = (k - 1) * np.log(T / lam) - T / lam - autograd.scipy.special.gammaln(k) - np.log(lam)
    return np.sum(E * logpdf + (1 - E) * logsf)
import autograd.scipy.special
p = onp.array([0.3, 0.2])
v, g = value_and_grad(loglik)(p)
res["loglik"] = [float(v), g.tolist(), hessian(loglik)(p).tolist()]
print(json.dumps(res))
'''


# a Gaussian process fitted with scipy.optimize (L-BFGS-B, trust-exact with hessian, trust-ncg with
# make_hvp), kernel derivatives by elementwise_grad and expected improvement
GAUSSIAN_PROCESS = r'''
import json
import numpy as onp
import scipy.optimize
import autograd
import autograd.numpy as np
import autograd.numpy.random as npr
import autograd.scipy.linalg as spla
from autograd.scipy.stats import norm, multivariate_normal as mvn
from autograd.scipy.special import logsumexp, expit
from autograd import grad, hessian, value_and_grad, elementwise_grad, jacobian, make_hvp

rs = npr.RandomState(2)
X = rs.randn(12, 2)
y = onp.sin(X[:, 0]) + 0.3 * X[:, 1] ** 2 + 0.05 * rs.randn(12)

def kernel(params, A, B):
    ls, var = np.exp(params[0:2]), np.exp(params[2])
    d = (A[:, None, :] - B[None, :, :]) / ls
    return var * np.exp(-0.5 * np.sum(d ** 2, axis=-1))

def nll(params):
    K = kernel(params, X, X) + (np.exp(params[3]) + 1e-6) * np.eye(len(X))
    L = np.linalg.cholesky(K)
    alpha = spla.solve_triangular(L, y, lower=True)
    return 0.5 * np.dot(alpha, alpha) + np.sum(np.log(np.diag(L))) + 0.5 * len(X) * np.log(2 * np.pi)

p0 = onp.array([0.1, 0.2, 0.0, -2.0])
res = {"library": autograd.__name__, "g0": grad(nll)(p0).tolist(), "h0": hessian(nll)(p0).tolist()}
r1 = scipy.optimize.minimize(value_and_grad(nll), p0, jac=True, method="L-BFGS-B", options={"maxiter": 4})
r2 = scipy.optimize.minimize(nll, p0, jac=grad(nll), hess=hessian(nll), method="trust-exact", options={"maxiter": 4})
hvp = lambda p, v: make_hvp(nll)(p)[0](v)
r3 = scipy.optimize.minimize(nll, p0, jac=grad(nll), hessp=hvp, method="trust-ncg", options={"maxiter": 4})
res["opt"] = [r1.x.tolist(), float(r1.fun), r2.x.tolist(), r3.x.tolist()]

# predictive mean and its gradient wrt test inputs (kgof-style kernel derivatives)
def predict(xs, params=r1.x):
    K = kernel(params, X, X) + (np.exp(params[3]) + 1e-6) * np.eye(len(X))
    return np.dot(kernel(params, xs, X), np.linalg.solve(K, y))
xs = rs.randn(4, 2)
res["pred"] = [predict(xs).tolist(), elementwise_grad(lambda xs: predict(xs))(xs).tolist(),
               jacobian(predict)(xs).tolist()]
def ksd_kernel_grad(A, B, params):
    return elementwise_grad(lambda A: np.sum(kernel(params, A, B)))(A)
res["kgrad"] = ksd_kernel_grad(xs, X, p0).tolist()

# expected improvement (bayesian optimisation) and its gradient
def ei(xs, best=0.0):
    mu = predict(xs)
    sigma = 0.3 + 0.1 * np.sum(xs ** 2, axis=1)
    z = (best - mu) / sigma
    return (best - mu) * norm.cdf(z) + sigma * norm.pdf(z)
res["ei"] = [ei(xs).tolist(), elementwise_grad(lambda xs: np.sum(ei(xs)))(xs).tolist()]
S = kernel(p0, xs, xs) + 0.1 * np.eye(4)
res["mvn"] = grad(lambda m: mvn.logpdf(xs[:, 0], m, S))(xs[:, 1]).tolist()
lse = lambda w: logsumexp(np.dot(X, w)) + np.sum(np.log(expit(np.dot(X, w))))
res["lse"] = grad(lse)(onp.array([0.2, -0.1])).tolist()
print(json.dumps(res))
'''


# autograd.extend used as libraries use it: defvjp_argnum/defjvp_argnum with keywords,
# def_linear, notrace_primitive, a SparseObject cotangent, vspace, a dict argument
EXTEND = r'''
import json
from collections import namedtuple
import numpy as onp
import autograd
import autograd.numpy as np
from autograd import grad, jacobian, hessian, make_jvp, elementwise_grad
from autograd.extend import (primitive, defvjp, defjvp, defvjp_argnum, defjvp_argnum, def_linear,
                             notrace_primitive, vspace, SparseObject)
from autograd.builtins import dict as adict, list as alist, tuple as atuple

res = {"library": autograd.__name__}
x = onp.array([0.3, -0.7, 1.2])

@primitive
def weighted(d):
    return d["w"] * onp.sum(d["v"] ** 2)
defvjp(weighted, lambda ans, d: lambda g: {"w": g * onp.sum(d["v"] ** 2), "v": 2 * g * d["w"] * d["v"]})
res["dict_in"] = grad(lambda v: weighted(adict(w=v[0], v=v[1:] * 2.0)))(x).tolist()

@primitive
def axpy(a, x, y, scale=1.0):
    return scale * (a * x + y)
defvjp_argnum(axpy, lambda argnum, ans, args, kwargs: (
    lambda g: kwargs.get("scale", 1.0) * (np.sum(g * args[1]) if argnum == 0 else g * args[0] if argnum == 1 else g)))
defjvp_argnum(axpy, lambda argnum, g, ans, args, kwargs: kwargs.get("scale", 1.0) * (
    g * args[1] if argnum == 0 else g * args[0] if argnum == 1 else g))
f = lambda v: np.sum(np.sin(axpy(v[0], v, v ** 2, scale=0.5)))
res["argnum"] = [grad(f)(x).tolist(), hessian(f)(x).tolist(),
                 make_jvp(lambda v: axpy(v[0], v, v ** 2, scale=0.5))(x)(onp.ones(3))[1].tolist()]

@primitive
def flip(v):
    return v[::-1] * 2.0
def_linear(flip)
res["linear"] = [make_jvp(flip)(x)(onp.arange(3.0))[1].tolist()]

@notrace_primitive
def count_positive(v):
    return onp.sum(v > 0)
res["notrace"] = grad(lambda v: count_positive(v) * np.sum(v ** 2))(x).tolist()

@primitive
def pick(v, i):
    return v[i]
def pick_vjp(ans, v, i):
    def vjp(g):
        vs = vspace(v)
        return SparseObject(vs, lambda A: A + onp.eye(v.size)[i] * g)
    return vjp
defvjp(pick, pick_vjp)
res["sparse"] = grad(lambda v: pick(v, 1) * pick(v, 2) + pick(v, 1))(x).tolist()

vs = vspace(x)
res["vspace"] = [int(vs.size), int(vs.ndim), [int(k) for k in vs.shape], [b.tolist() for b in vs.standard_basis()],
                 float(vs.inner_prod(x, x)), vs.covector(x).tolist(), vs.zeros().tolist(), vs.ones().tolist()]
Pair = namedtuple("Pair", ["a", "b"])
res["vspace_tuple"] = [int(vspace((x, 2.0)).size), int(vspace([x, x]).size), int(vspace({"k": x}).size)]

res["list_args"] = grad(lambda v: np.sum(np.stack(alist([v, v ** 2]))) + np.sum(atuple((v, v))[1]))(x).tolist()
print(json.dumps(res))
'''

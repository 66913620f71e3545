"""Scientific programs run as their authors write them, compared with the libraries they
were written for: physics-informed networks, Hamiltonian networks, neural ODEs (RK4 and
a hand-written adjoint), Gaussian processes, normalising flows and molecular dynamics in
PyTorch (with ``import torch`` read as ``import chainrule as torch``); matrix-function
derivatives, least squares, GP marginal likelihoods and force fields against JAX in
float64; MAP by ``scipy.optimize.minimize`` with chainrule's gradients and Hessians, HMC
and Langevin samplers against HIPS autograd; implicit differentiation and the generalized
symmetric eigenproblem of finite elements against closed forms and central differences."""

from functools import partial

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.optimize as so

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.scipy.linalg as csl
from finite_differences import central_differences, central_hessian
from test_torch_programs_generative import _compare_with_pytorch

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROGRAMS: dict[str, str] = {}

# The heat equation u_t = 0.1 Δu in 2-D: the Laplacian of the network by nested
# autograd.grad(create_graph=True), trained by L-BFGS with a closure (strong Wolfe).
PROGRAMS["heat_laplacian"] = '''
import torch
import torch.nn as nn
torch.set_default_dtype(torch.float64)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 8), nn.Softplus(), nn.Linear(8, 1))
    def forward(self, x, t):
        return self.net(torch.cat([x, t], dim=1))

def laplacian(u, x):
    du = torch.autograd.grad(u.sum(), x, create_graph=True)[0]
    lap = 0
    for i in range(x.shape[1]):
        lap = lap + torch.autograd.grad(du[:, i].sum(), x, create_graph=True)[0][:, i:i+1]
    return lap

def build():
    return Net()

def data(rng):
    return torch.tensor(rng.uniform(-1, 1, (6, 2))), torch.tensor(rng.uniform(0, 1, (6, 1)))

def train(model, pts):
    x, t = pts
    x.requires_grad_(True); t.requires_grad_(True)
    opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=4, history_size=5, line_search_fn="strong_wolfe")
    out = []
    def closure():
        opt.zero_grad()
        u = model(x, t)
        u_t = torch.autograd.grad(u, t, grad_outputs=torch.ones_like(u), create_graph=True)[0]
        res = u_t - 0.1 * laplacian(u, x)
        u0 = model(x, torch.zeros_like(t))
        loss = torch.mean(res ** 2) + torch.mean((u0 - torch.prod(torch.cos(torch.pi * x / 2), 1, keepdim=True)) ** 2)
        loss.backward()
        return loss
    for _ in range(2):
        out.append(opt.step(closure).detach())
    out.append(laplacian(model(x, t), x).detach())
    return out
'''
# Hamiltonian neural networks after greydanus/hamiltonian-nn: the vector field is the
# symplectic gradient of the learned H, taken inside forward, and the loss backpropagates
# through it.
PROGRAMS["hnn"] = '''
import numpy as np
import torch
import torch.nn as nn
torch.set_default_dtype(torch.float64)

class HNN(nn.Module):
    def __init__(self, input_dim=2, hidden=16):
        super().__init__()
        self.l1 = nn.Linear(input_dim, hidden)
        self.l2 = nn.Linear(hidden, hidden)
        self.l3 = nn.Linear(hidden, 1, bias=None)
        M = torch.eye(input_dim)
        M = torch.cat([M[input_dim // 2:], -M[:input_dim // 2]])
        self.register_buffer("M", M)
    def forward(self, x):
        h = torch.tanh(self.l1(x))
        h = torch.tanh(self.l2(h))
        return self.l3(h)
    def time_derivative(self, x):
        F2 = self.forward(x)
        dF2 = torch.autograd.grad(F2.sum(), x, create_graph=True)[0]
        return dF2 @ self.M.t()

def build():
    return HNN()

def data(rng):
    q = rng.normal(size=(10, 1)); p = rng.normal(size=(10, 1))
    x = torch.tensor(np.concatenate([q, p], 1))
    dx = torch.tensor(np.concatenate([p, -q], 1))
    return x, dx

def train(model, batch):
    x, dxdt = batch
    opt = torch.optim.Adam(model.parameters(), 1e-2, weight_decay=1e-4)
    losses = []
    x = x.clone().requires_grad_()
    for step in range(4):
        ixs = torch.arange(step % 2, x.shape[0], 2)
        dxdt_hat = model.time_derivative(x[ixs])
        loss = (dxdt[ixs] - dxdt_hat).pow(2).mean()
        loss.backward()
        grad = torch.cat([p.grad.flatten() for p in model.parameters()]).clone()
        opt.step(); opt.zero_grad()
        losses.append(loss.item()); losses.append(grad)
    return losses
'''
# A neural ODE integrated by a hand-written RK4, differentiated by backpropagation through
# the steps and by the adjoint method written by hand: the augmented system [y, a, a·∂f/∂θ]
# integrated backwards, its dynamics from vector-Jacobian products.
PROGRAMS["node_rk4_adjoint"] = '''
import torch
import torch.nn as nn
torch.set_default_dtype(torch.float64)

class ODEFunc(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 10), nn.Tanh(), nn.Linear(10, 2))
    def forward(self, t, y):
        return self.net(y) * torch.cos(t)

def rk4(f, y, t0, t1, n):
    h = (t1 - t0) / n
    t = torch.tensor(t0)
    for _ in range(n):
        k1 = f(t, y); k2 = f(t + h / 2, y + h / 2 * k1)
        k3 = f(t + h / 2, y + h / 2 * k2); k4 = f(t + h, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        t = t + h
    return y

def adjoint_grads(func, y1, a1, t0, t1, n):
    params = tuple(func.parameters())
    def aug(t, s):
        y = s[:, :2].detach().requires_grad_(True)
        a = s[:, 2:4]
        with torch.enable_grad():
            f = func(t, y)
            vjps = torch.autograd.grad(f, (y,) + params, -a, allow_unused=True)
        flat = torch.cat([v.reshape(-1) for v in vjps[1:]])  # one parameter adjoint, split over the rows
        return torch.cat([f, vjps[0], flat.expand(y.shape[0], -1) / y.shape[0]], dim=1)
    n_p = sum(p.numel() for p in params)
    s1 = torch.cat([y1, a1, torch.zeros(y1.shape[0], n_p)], dim=1)
    s0 = rk4(aug, s1, t1, t0, n)
    return s0[:, :2], s0[:, 2:4], s0[0, 4:] * y1.shape[0]

def build():
    return ODEFunc()

def data(rng):
    return torch.tensor(rng.normal(size=(3, 2))), torch.tensor(rng.normal(size=(3, 2)))

def train(func, batch):
    y0, target = batch
    y0 = y0.clone().requires_grad_()
    y1 = rk4(func, y0, 0.0, 1.0, 8)
    loss = ((y1 - target) ** 2).sum()
    loss.backward()
    direct = [y0.grad] + [p.grad.clone() for p in func.parameters()]
    with torch.no_grad():
        y1d = y1.detach()
    a1 = 2 * (y1d - target)
    y0r, a0, gp = adjoint_grads(func, y1d, a1, 0.0, 1.0, 8)
    return [loss, y1, direct, y0r, a0, gp]
'''
# Gaussian-process regression: cdist kernel, Cholesky, cholesky_solve and
# solve_triangular; the negative log marginal likelihood and the predictive mean and variance
# differentiated in the log hyperparameters.
PROGRAMS["gp_torch"] = '''
import math
import torch
import torch.nn as nn
torch.set_default_dtype(torch.float64)

class GP(nn.Module):
    def __init__(self):
        super().__init__()
        self.log_ls = nn.Parameter(torch.tensor(-0.3))
        self.log_sf = nn.Parameter(torch.tensor(0.1))
        self.log_sn = nn.Parameter(torch.tensor(-1.5))
    def kernel(self, a, b):
        d2 = torch.cdist(a / self.log_ls.exp(), b / self.log_ls.exp()) ** 2
        return self.log_sf.exp() ** 2 * torch.exp(-0.5 * d2)
    def nll(self, X, y):
        n = X.shape[0]
        K = self.kernel(X, X) + torch.exp(2 * self.log_sn) * torch.eye(n)
        L = torch.linalg.cholesky(K)
        alpha = torch.cholesky_solve(y.unsqueeze(-1), L)
        fit = 0.5 * (y.unsqueeze(-1) * alpha).sum()
        return fit + torch.log(torch.diagonal(L)).sum() + 0.5 * n * math.log(2 * math.pi)
    def predict(self, X, y, Xs):
        K = self.kernel(X, X) + torch.exp(2 * self.log_sn) * torch.eye(X.shape[0])
        L = torch.linalg.cholesky(K)
        Ks = self.kernel(X, Xs)
        v = torch.linalg.solve_triangular(L, Ks, upper=False)
        w = torch.linalg.solve_triangular(L, y.unsqueeze(-1), upper=False)
        mean = v.T @ w
        var = self.kernel(Xs, Xs).diagonal() - (v ** 2).sum(0)
        return mean.squeeze(-1), var

def build():
    return GP()

def data(rng):
    X = torch.tensor(rng.uniform(-2, 2, (7, 2)))
    return X, torch.sin(X).sum(1), torch.tensor(rng.uniform(-2, 2, (3, 2)))

def train(gp, d):
    X, y, Xs = d
    opt = torch.optim.Adam(gp.parameters(), lr=0.05)
    out = []
    for _ in range(3):
        opt.zero_grad()
        loss = gp.nll(X, y)
        loss.backward()
        out.append([loss.detach(), gp.log_ls.grad.clone(), gp.log_sf.grad.clone(), gp.log_sn.grad.clone()])
        opt.step()
    m, v = gp.predict(X, y, Xs)
    g = torch.autograd.grad(m.sum() + v.sum(), list(gp.parameters()))
    out.append([m.detach(), v.detach(), g])
    return out
'''
# A normalising flow: planar layers (Rezende and Mohamed, with the invertibility fix of u)
# and RealNVP affine couplings, their log-determinants checked against slogdet of the
# Jacobian from torch.autograd.functional.jacobian(create_graph=True), and differentiated.
PROGRAMS["flows"] = '''
import math

import torch
import torch.nn as nn
torch.set_default_dtype(torch.float64)

class Planar(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.u = nn.Parameter(torch.randn(d) * 0.5)
        self.w = nn.Parameter(torch.randn(d) * 0.5)
        self.b = nn.Parameter(torch.zeros(1))
    def forward(self, z):
        wu = self.w @ self.u
        u_hat = self.u + (-1 + nn.functional.softplus(wu) - wu) * self.w / (self.w ** 2).sum()
        lin = z @ self.w + self.b
        f = z + u_hat * torch.tanh(lin).unsqueeze(-1)
        psi = (1 - torch.tanh(lin) ** 2).unsqueeze(-1) * self.w
        logdet = torch.log(torch.abs(1 + psi @ u_hat))
        return f, logdet

class Coupling(nn.Module):
    def __init__(self, d, mask):
        super().__init__()
        self.register_buffer("mask", mask)
        self.s = nn.Sequential(nn.Linear(d, 8), nn.Tanh(), nn.Linear(8, d), nn.Tanh())
        self.t = nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, d))
    def forward(self, x):
        xm = x * self.mask
        s = self.s(xm) * (1 - self.mask)
        t = self.t(xm) * (1 - self.mask)
        y = xm + (1 - self.mask) * (x * torch.exp(s) + t)
        return y, s.sum(-1)

class Flow(nn.Module):
    def __init__(self, d=3):
        super().__init__()
        m = torch.tensor([1.0, 0.0, 1.0])
        self.layers = nn.ModuleList([Planar(d), Coupling(d, m), Coupling(d, 1 - m), Planar(d)])
    def forward(self, x):
        ld = torch.zeros(x.shape[0])
        for layer in self.layers:
            x, l = layer(x)
            ld = ld + l
        return x, ld

def build():
    return Flow()

def data(rng):
    return torch.tensor(rng.normal(size=(5, 3)))

def train(flow, x):
    opt = torch.optim.Adam(flow.parameters(), lr=1e-2)
    out = []
    for _ in range(3):
        z, ld = flow(x)
        log_prior = -0.5 * (z ** 2).sum(-1) - 0.5 * z.shape[1] * math.log(2 * math.pi)
        loss = -(log_prior + ld).mean()
        opt.zero_grad(); loss.backward(); opt.step()
        out.append(loss.detach())
    # the log-determinant against the Jacobian's, by torch.autograd.functional.jacobian
    J = torch.autograd.functional.jacobian(lambda v: flow(v.unsqueeze(0))[0].squeeze(0), x[0], create_graph=True)
    sign, logabs = torch.linalg.slogdet(J)
    out.append([sign, logabs.detach(), flow(x[:1])[1].detach()])
    g = torch.autograd.grad(logabs, list(flow.parameters()), allow_unused=True)
    out.append([v for v in g if v is not None])
    return out
'''
# Molecular dynamics with a Lennard-Jones force field: pair vectors wrapped by the minimum
# image (round), the diagonal masked, forces by -grad with create_graph, a few explicit
# steps, and the kinetic energy differentiated in the potential's parameters.
PROGRAMS["lj_md"] = '''
import numpy as np
import torch
import torch.nn as nn
torch.set_default_dtype(torch.float64)

class LJ(nn.Module):
    def __init__(self):
        super().__init__()
        self.log_sigma = nn.Parameter(torch.tensor(0.0))
        self.log_eps = nn.Parameter(torch.tensor(0.0))
    def forward(self, pos, box):
        dr = pos[:, None, :] - pos[None, :, :]
        dr = dr - box * torch.round(dr / box)
        r2 = (dr ** 2).sum(-1)
        n = pos.shape[0]
        mask = ~torch.eye(n, dtype=torch.bool)
        r2 = torch.where(mask, r2, torch.ones_like(r2))
        sr6 = (self.log_sigma.exp() ** 2 / r2) ** 3
        e = 4 * self.log_eps.exp() * (sr6 ** 2 - sr6)
        return 0.5 * (e * mask).sum()

def build():
    return LJ()

def data(rng):
    g = np.stack(np.meshgrid(*[np.arange(2)] * 3, indexing="ij"), -1).reshape(-1, 3) * 1.15
    return torch.tensor(g + 0.05 * rng.normal(size=g.shape)), 2.3

def train(model, d):
    pos, box = d
    pos = pos.clone().requires_grad_(True)
    out = []
    dt = 1e-3
    vel = torch.zeros_like(pos)
    for _ in range(3):
        E = model(pos, box)
        F = -torch.autograd.grad(E, pos, create_graph=True)[0]
        out.append([E.detach(), F.detach()])
        vel = vel + dt * F
        pos = pos + dt * vel
    ke = 0.5 * (vel ** 2).sum()
    ke.backward()
    out.append([model.log_sigma.grad, model.log_eps.grad])
    return out
'''

# torchdiffeq's odeint_adjoint in miniature: a torch.autograd.Function whose backward
# integrates the adjoint system backwards, differentiating the dynamics through the saved
# parameters under enable_grad.
PROGRAMS["node_adjoint_function"] = '''
import torch
import torch.nn as nn
torch.set_default_dtype(torch.float64)

def rk4(f, y, t0, t1, n):
    h = (t1 - t0) / n
    t = t0
    for _ in range(n):
        k1 = f(t, y); k2 = f(t + h / 2, y + h / 2 * k1)
        k3 = f(t + h / 2, y + h / 2 * k2); k4 = f(t + h, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        t = t + h
    return y

class OdeintAdjoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y0, func, n, *params):
        with torch.no_grad():
            y1 = rk4(func, y0, 0.0, 1.0, n)
        ctx.func, ctx.n = func, n
        ctx.save_for_backward(y1, *params)
        return y1

    @staticmethod
    def backward(ctx, grad_y1):
        y1, *params = ctx.saved_tensors
        func, n = ctx.func, ctx.n
        shapes = [p.shape for p in params]
        def aug(t, state):
            y, a = state[0], state[1]
            with torch.enable_grad():
                y = y.detach().requires_grad_(True)
                f = func(t, y)
                vjp_y, *vjp_p = torch.autograd.grad(f, (y,) + tuple(params), -a, allow_unused=True)
            vjp_p = [torch.zeros(s) if v is None else v for v, s in zip(vjp_p, shapes)]
            return torch.stack([f, vjp_y]), torch.cat([v.flatten() for v in vjp_p])
        # integrate [y, a] and the parameter adjoint backwards
        h = -1.0 / n
        s = torch.stack([y1, grad_y1]); g = torch.zeros(sum(p.numel() for p in params))
        t = 1.0
        for _ in range(n):
            k1, q1 = aug(t, s); k2, q2 = aug(t + h / 2, s + h / 2 * k1)
            k3, q3 = aug(t + h / 2, s + h / 2 * k2); k4, q4 = aug(t + h, s + h * k3)
            s = s + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            g = g + h / 6 * (q1 + 2 * q2 + 2 * q3 + q4)
            t = t + h
        out, k = [], 0
        for p in params:
            out.append(g[k:k + p.numel()].view_as(p)); k += p.numel()
        return (s[1], None, None, *out)

class Func(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin1 = nn.Linear(2, 8)
        self.lin2 = nn.Linear(8, 2)
    def forward(self, t, y):
        return self.lin2(torch.tanh(self.lin1(y))) - 0.1 * y * t

def build():
    return Func()

def data(rng):
    return torch.tensor(rng.normal(size=(4, 2))), torch.tensor(rng.normal(size=(4, 2)))

def train(func, batch):
    y0, target = batch
    opt = torch.optim.SGD(func.parameters(), lr=0.05, momentum=0.9)
    out = []
    for _ in range(3):
        y0r = y0.clone().requires_grad_(True)
        y1 = OdeintAdjoint.apply(y0r, func, 6, *func.parameters())
        loss = ((y1 - target) ** 2).mean()
        opt.zero_grad(); loss.backward()
        out.append([loss.detach(), y0r.grad] + [p.grad.clone() for p in func.parameters()])
        opt.step()
    return out
'''


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_scientific_program_gives_pytorchs_values(name):
    _compare_with_pytorch(PROGRAMS[name])


# -- against JAX (float64): matrix functions, least squares, GP, force fields -------------------
RNG = np.random.default_rng(0)
A4 = RNG.normal(size=(4, 4))
TALL = RNG.normal(size=(5, 3)) + 2 * np.eye(5, 3)
GP_X = RNG.normal(size=(6, 2))
GP_Y = np.sin(GP_X[:, 0]) + GP_X[:, 1]
CRYSTAL = np.stack(np.meshgrid(*[np.arange(2)] * 3, indexing="ij"), -1).reshape(-1, 3) * 1.2
CRYSTAL = CRYSTAL + 0.05 * RNG.normal(size=CRYSTAL.shape)


def decompositions(np, linalg):
    def f(a):  # of a tall 5 x 3 matrix: eigh of aᵀa, svd, the signs fixed by the first row
        w, v = np.linalg.eigh(a.T @ a)
        v = v * np.sign(v[0])
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        sign = np.sign(u[0])
        return (np.sum(w * np.arange(1.0, 4.0)) + np.sum(v[:, 1] ** 3) + np.sum(s ** 2 * np.arange(1.0, 4.0))
                + np.sum((u * sign)[:, 0] * np.arange(5.0)) + np.sum((vt * sign[:, None])[1] ** 3))
    return f


def least_squares(np, linalg):
    def f(a):  # over- and underdetermined, and the pseudo-inverse (whose Hessian is checked)
        coef = np.linalg.lstsq(a, np.arange(5.0), rcond=None)[0]
        minimal = np.linalg.lstsq(a.T, np.arange(3.0), rcond=None)[0]
        return np.sum(coef ** 2) + np.sum(minimal ** 3) + np.sum(np.sin(np.linalg.pinv(a)) * a.T)
    return f


def gp_marginal_likelihood(np, linalg):
    def log_marginal_likelihood(p):
        lengthscale, signal, noise = np.exp(p[0]), np.exp(p[1]), np.exp(p[2])
        d2 = np.sum((GP_X[:, None, :] - GP_X[None, :, :]) ** 2, -1)
        K = signal ** 2 * np.exp(-0.5 * d2 / lengthscale ** 2) + noise ** 2 * np.eye(6)
        L = np.linalg.cholesky(K)
        alpha = linalg.cho_solve((L, True), GP_Y)
        v = linalg.solve_triangular(L, GP_Y, lower=True)
        return -0.5 * GP_Y @ alpha - np.sum(np.log(np.diag(L))) + 0.01 * v @ v
    return log_marginal_likelihood


def _jax_compiled(fun, x):
    """``fun(x)`` by JAX, compiled once without XLA's costly optimisations (most of the time is there)."""
    jax = pytest.importorskip("jax")
    return jax.jit(fun).lower(x).compile(
        compiler_options={"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True})(x)


# order: the highest derivative compared (the GP's Hessian is in transforms/test_jax_scientific_programs.py)
@pytest.mark.parametrize("program, x, order", [(decompositions, TALL, 1), (least_squares, TALL, 2),
                                               (gp_marginal_likelihood, np.array([0.1, -0.2, -1.0]), 1)])
def test_values_and_derivatives_are_jaxs(program, x, order):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jsl = pytest.importorskip("jax.scipy.linalg")
    ours, theirs = program(cnp, csl), program(jax.numpy, jsl)
    ours, theirs = (ours, cr.grad(ours), cr.hessian(ours))[:order + 1], (theirs, jax.grad(theirs), jax.hessian(theirs))
    want = _jax_compiled(lambda x: [f(x) for f in theirs[:order + 1]], x)
    for f, w in zip(ours, want, strict=True):
        np.testing.assert_allclose(f(x), w, rtol=1e-9, atol=1e-10)


def lennard_jones(pos, box=2.5):
    """The energy of a periodic Lennard-Jones crystal: minimum images by round, the
    diagonal masked."""
    dr = pos[:, None, :] - pos[None, :, :]
    dr = dr - box * cnp.round(dr / box)
    eye = cnp.eye(pos.shape[0])
    inv6 = (1.0 / (cnp.sum(dr ** 2, -1) + eye)) ** 3
    return 0.5 * cnp.sum((1 - eye) * 4 * (inv6 ** 2 - inv6))


def lennard_jones_forces(pos, box=2.5):
    """The forces in closed form: 24 (2 r⁻¹⁴ - r⁻⁸) r_ij summed over the other atoms."""
    dr = pos[:, None, :] - pos[None, :, :]
    dr = dr - box * np.round(dr / box)
    r2 = np.sum(dr ** 2, -1) + np.eye(len(pos))
    scale = 24 * (2 * r2 ** -7 - r2 ** -4) * (1 - np.eye(len(pos)))
    return np.sum(scale[..., None] * dr, 1)


def bar_compliance(k):
    """A 1-D finite-element bar of elements of stiffness ``k``, fixed at both ends, under
    unit loads: its compliance fᵀK⁻¹f, and log det K."""
    K = cnp.diag(k[:-1] + k[1:]) - cnp.diag(k[1:-1], 1) - cnp.diag(k[1:-1], -1)
    f = cnp.ones(k.shape[0] - 1)
    return f @ cnp.linalg.solve(K, f) + 0.1 * cnp.linalg.slogdet(K)[1]


def matrix_functions(a):
    return cnp.sum(cnp.sin(csl.sqrtm(a @ a.T + 3 * cnp.eye(3)))) + cnp.sum(csl.expm(0.3 * a) * A4[:3, :3])


def test_force_field_and_matrix_functions_against_closed_forms_and_differences():
    forces = -cr.grad(lennard_jones)(CRYSTAL)
    np.testing.assert_allclose(forces, lennard_jones_forces(CRYSTAL), rtol=1e-12, atol=1e-12)
    assert np.abs(forces.sum(0)).max() < 1e-12  # Newton's third law
    # the gradient of <expm(0.3 a), W> is 0.3 L(0.3 aᵀ, W), SciPy's Fréchet derivative
    expm_part = cr.grad(lambda a: cnp.sum(csl.expm(0.3 * a) * A4))(A4)
    np.testing.assert_allclose(expm_part, 0.3 * sla.expm_frechet(0.3 * A4.T, A4, compute_expm=False), rtol=1e-12)
    # the rest, and every Hessian, by central differences (accurate to about 1e-8 only)
    # (the Lennard-Jones Hessian's entries reach 1e2, its differences' error 1e-4)
    for f, x, tol in ((lennard_jones, CRYSTAL, 1e-5), (bar_compliance, np.exp(RNG.normal(size=5)), 1e-6),
                      (matrix_functions, A4[:3, :3], 1e-6)):
        np.testing.assert_allclose(cr.grad(f)(x), central_differences(f, x), rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(cr.hessian(f)(x), central_hessian(f, x), rtol=tol, atol=tol)


# -- MAP by scipy.optimize, HMC and Langevin samplers, against HIPS autograd ----------------------
FEATURES = RNG.normal(size=(20, 3))
LABELS = (FEATURES @ np.array([1.0, -2.0, 0.5]) + 0.3 * RNG.normal(size=20) > 0).astype(float)


def negative_log_posterior(np):
    def nlp(w):  # logistic regression with a standard normal prior
        z = FEATURES @ w
        return np.sum(np.logaddexp(0, z) - LABELS * z) + 0.5 * np.sum(w ** 2)
    return nlp


def banana_log_density(np):
    return lambda q: -0.5 * (q[0] ** 2 / 4 + (q[1] - 0.3 * q[0] ** 2) ** 2) - 0.5 * np.sum(q[2:] ** 2)


def hmc(np, lib, n=4, steps=5, eps=0.2):
    log_p = banana_log_density(np)
    grad = lib.grad(log_p)
    rs, q, samples = np.random.RandomState(0), np.zeros(3), []
    for _ in range(n):
        p0 = rs.normal(size=3)
        p, q_new = p0 + 0.5 * eps * grad(q), q.copy()
        for i in range(steps):
            q_new = q_new + eps * p
            if i < steps - 1:
                p = p + eps * grad(q_new)
        p = p + 0.5 * eps * grad(q_new)
        if np.log(rs.uniform()) < log_p(q_new) - 0.5 * p @ p - log_p(q) + 0.5 * p0 @ p0:
            q = q_new
        samples.append(q)
    return np.array(samples)


def langevin(np, lib, n=5, eps=0.3):
    grad = lib.grad(banana_log_density(np))
    rs, q, samples = np.random.RandomState(1), np.ones(3), []
    for _ in range(n):
        q = q + 0.5 * eps ** 2 * grad(q) + eps * rs.normal(size=3)
        samples.append(q)
    return np.array(samples)


def map_estimates(np, lib):
    nlp = negative_log_posterior(np)
    hvp = lib.hessian_vector_product(nlp)
    return [so.minimize(nlp, np.zeros(3), method=method, jac=lib.grad(nlp), **second).x for method, second in
            (("trust-ncg", {"hess": lib.hessian(nlp)}), ("trust-exact", {"hess": lib.hessian(nlp)}),
             ("Newton-CG", {"hessp": lambda w, p: hvp(w, p)}))]


@pytest.mark.parametrize("program", [hmc, langevin, map_estimates])
def test_samplers_and_map_estimates_are_autograds(program):
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp

    np.testing.assert_allclose(program(cnp, cr), program(anp, autograd), rtol=1e-12, atol=1e-12)


# -- implicit differentiation --------------------------------------------------------------------
COUPLING = 0.3 * RNG.normal(size=(4, 4))


@cr.custom_vjp
def equilibrium(theta):
    """The fixed point x = tanh(W x + θ), by iteration; its derivative by the implicit
    function theorem: (I - D W)ᵀ u = ḡ, θ̄ = D u with D = 1 - x²."""
    x = np.zeros(4)
    for _ in range(60):
        x = np.tanh(COUPLING @ x + theta)
    return x


def _equilibrium_fwd(theta):
    x = equilibrium(theta)
    return x, x


def _equilibrium_bwd(x, g):
    d = 1 - x ** 2
    return (d * np.linalg.solve((np.eye(4) - d[:, None] * COUPLING).T, g),)


equilibrium.defvjp(_equilibrium_fwd, _equilibrium_bwd)


def test_implicit_derivatives_of_a_fixed_point_and_a_root():
    theta = np.linspace(-1, 1, 4)
    x = equilibrium(theta)
    d = np.diag(1 - x ** 2)
    closed_form = np.linalg.solve(np.eye(4) - d @ COUPLING, d)

    def unrolled(theta):
        x = cnp.zeros(4)
        for _ in range(60):
            x = cnp.tanh(COUPLING @ x + theta)
        return x
    np.testing.assert_allclose(cr.jacobian(unrolled)(theta), closed_form, rtol=1e-12, atol=1e-14)
    # a square Jacobian of a function with a custom vjp only: reverse mode, as jax.jacobian's
    np.testing.assert_allclose(cr.jacobian(equilibrium)(theta), closed_form, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cr.hessian(lambda t: cnp.sum(equilibrium(t)))(theta).shape, (4, 4))
    with pytest.raises(TypeError, match="equilibrium has a custom vjp only"):
        cr.jacfwd(equilibrium)(theta)
    # x³ + t x = c solved by scipy.optimize.root with chainrule's Jacobian; dx/dt = -x / (3x² + t)
    c, t = np.array([1.0, 2.0, 3.0]), 1.5
    residual = lambda x, t: x ** 3 + t * x - c  # noqa: E731
    x = so.root(residual, np.ones(3), args=(t,), jac=cr.jacobian(residual), tol=1e-14).x
    dx_dt = -np.linalg.solve(cr.jacobian(residual, 0)(x, t), cr.jacobian(residual, 1)(x, t))
    np.testing.assert_allclose(dx_dt, -x / (3 * x ** 2 + t), rtol=1e-12)




# JAX's documentation's fixed_point (custom_vjp with nondiff_argnums, the reverse pass a
# fixed point of its own, both in lax.while_loop), run with chainrule
@partial(cr.custom_vjp, nondiff_argnums=(0,))
def fixed_point(f, a, x_guess):
    def cond_fun(carry):
        x_prev, x = carry
        return cnp.max(cnp.abs(x_prev - x)) > 1e-12

    def body_fun(carry):
        _, x = carry
        return x, f(a, x)
    _, x_star = cr.lax.while_loop(cond_fun, body_fun, (x_guess, f(a, x_guess)))
    return x_star


def fixed_point_fwd(f, a, x_init):
    x_star = fixed_point(f, a, x_init)
    return x_star, (a, x_star)


def rev_iter(f, packed, u):
    a, x_star, x_star_bar = packed
    _, vjp_x = cr.vjp(lambda x: f(a, x), x_star)
    return x_star_bar + vjp_x(u)[0]


def fixed_point_rev(f, res, x_star_bar):
    a, x_star = res
    _, vjp_a = cr.vjp(lambda a: f(a, x_star), a)
    a_bar, = vjp_a(fixed_point(partial(rev_iter, f), (a, x_star, x_star_bar), x_star_bar))
    return a_bar, cnp.zeros_like(x_star)


fixed_point.defvjp(fixed_point_fwd, fixed_point_rev)


def test_jax_documentations_fixed_point():
    newton_sqrt = lambda a: fixed_point(lambda a, x: 0.5 * (x + a / x), a, a)  # noqa: E731
    np.testing.assert_allclose(cr.vmap(cr.grad(newton_sqrt))(np.array([2.0, 3.0])), 0.5 / np.sqrt([2.0, 3.0]),
                               rtol=1e-12)
    theta = np.linspace(-1, 1, 4)
    x = equilibrium(theta)
    d = np.diag(1 - x ** 2)
    solve = lambda t: fixed_point(lambda t, x: cnp.tanh(COUPLING @ x + t), t, cnp.zeros(4))  # noqa: E731
    np.testing.assert_allclose(cr.jacobian(solve)(theta), np.linalg.solve(np.eye(4) - d @ COUPLING, d),
                               rtol=1e-10, atol=1e-12)

# -- the generalized eigenproblem of finite elements: K v = ω² M v ---------------------------------
def bar_modes(areas):
    """A bar of elements of cross-sections ``areas``, fixed at its left end: its stiffness
    and consistent mass matrices, and their generalized eigenpairs (scipy.linalg.eigh(K, M))."""
    n = areas.shape[0]
    ke = areas[:, None, None] * np.array([[1.0, -1.0], [-1.0, 1.0]])
    me = areas[:, None, None] * np.array([[2.0, 1.0], [1.0, 2.0]]) / 6
    place = np.eye(n + 1)[np.stack([np.arange(n), np.arange(1, n + 1)], 1)]  # element -> global dofs
    K = cnp.einsum("eai,eab,ebj->ij", place, ke, place)[1:, 1:]
    M = cnp.einsum("eai,eab,ebj->ij", place, me, place)[1:, 1:]
    return K, M, csl.eigh(K, M)


def test_generalized_eigh_of_finite_elements():
    areas = np.array([1.0, 0.8, 1.3, 0.9])
    K, M, (w, v) = bar_modes(areas)
    want_w, want_v = sla.eigh(K, M)
    _, _, (our_w, our_v) = cr.vjp(bar_modes, areas)[0]
    np.testing.assert_allclose(our_w, want_w, rtol=1e-13)
    np.testing.assert_allclose(our_v, want_v, rtol=1e-12, atol=1e-13)  # SciPy's signs, vᵀMv = I
    # dω²ₖ/da = vₖᵀ (∂K/∂a - ω²ₖ ∂M/∂a) vₖ, and ∂K/∂a, ∂M/∂a are the element matrices
    dK, dM = cr.jacobian(lambda a: bar_modes(a)[0])(areas), cr.jacobian(lambda a: bar_modes(a)[1])(areas)
    closed = np.einsum("ik,ije,jk->ke", v, dK, v) - w[:, None] * np.einsum("ik,ije,jk->ke", v, dM, v)
    np.testing.assert_allclose(cr.jacobian(lambda a: bar_modes(a)[2][0])(areas), closed, rtol=1e-12, atol=1e-13)

    def design(a):  # the fundamental frequency and the tip's share of the second mode
        _, _, (w, v) = bar_modes(a)
        return cnp.sqrt(w[0]) + v[-1, 1] ** 2
    np.testing.assert_allclose(cr.grad(design)(areas), central_differences(design, areas), rtol=1e-8, atol=1e-9)
    # (differences of differences: their truncation error is 2e-7 here, falling as h²)
    np.testing.assert_allclose(cr.hessian(design)(areas), central_hessian(design, areas), rtol=1e-5, atol=1e-6)
    # a complex Hermitian pencil: SciPy's eigenvalues, and the gradient of their squares
    a, b = RNG.normal(size=(2, 3, 3)) + 1j * RNG.normal(size=(2, 3, 3))
    a, b = a + a.conj().T, b @ b.conj().T + np.eye(3)
    squares = lambda s: cnp.sum(csl.eigvalsh(a * s, b) ** 2)  # noqa: E731
    np.testing.assert_allclose(cr.grad(squares)(1.3), 2 * 1.3 * np.sum(sla.eigvalsh(a, b) ** 2), rtol=1e-12)
    with pytest.raises(NotImplementedError, match="scipy.linalg.eigh: type is not differentiable"):
        csl.eigh(cr.tensor(K), M, type=2)


# -- whitening by a covariance's -1/2 power --------------------------------------------------------
def test_zca_whitening_by_fractional_matrix_power():
    data = RNG.normal(size=(30, 3)) @ np.array([[1.0, 0.4, 0.0], [0.0, 0.8, 0.3], [0.2, 0.0, 1.1]])
    target = RNG.normal(size=(30, 3))

    def whitened_fit(np, power):
        def f(scale):  # the features rescaled, centred and whitened; their fit to a target
            x = data * scale
            x = x - x.mean(0)
            white = x @ power(x.T @ x / 30)
            return np.sum((white - target) ** 2)
        return f

    ours = whitened_fit(cnp, lambda c: csl.fractional_matrix_power(c, -0.5))
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)

    def inverse_sqrt(c):  # JAX has no fractional_matrix_power: its oracle is by eigh
        w, v = jax.numpy.linalg.eigh(c)
        return (v / jax.numpy.sqrt(w)) @ v.T
    scale = np.array([1.0, 2.0, 0.5])
    theirs = whitened_fit(jax.numpy, inverse_sqrt)
    scale = np.array([1.0, 2.0, 0.5])
    want = _jax_compiled(lambda s: (theirs(s), jax.grad(theirs)(s)), scale)
    np.testing.assert_allclose(ours(scale), want[0], rtol=1e-12)
    np.testing.assert_allclose(cr.grad(ours)(scale), want[1], rtol=1e-9, atol=1e-10)
    # Aᵗ of a non-symmetric matrix, along a direction e: the first and second derivatives
    # against central differences (SciPy's Aᵗ takes milliseconds: one direction only)
    a, e = np.cov(data.T) + 0.1 * A4[:3, :3], A4[1:, 1:]
    for t in (1 / 3, -0.5):
        f = lambda a, t=t: cnp.sum(csl.fractional_matrix_power(a, t) * A4[:3, :3])  # noqa: E731
        along = lambda h, f=f: float(f(a + h * e))  # noqa: E731
        slope, curvature = cr.jvp(cr.grad(f), (a,), (e,))
        np.testing.assert_allclose(np.sum(slope * e), (along(1e-6) - along(-1e-6)) / 2e-6, rtol=1e-8)
        np.testing.assert_allclose(np.sum(curvature * e), (along(1e-4) - 2 * along(0) + along(-1e-4)) / 1e-8,
                                   rtol=1e-6)

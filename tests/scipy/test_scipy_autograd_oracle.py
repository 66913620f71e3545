"""HIPS autograd as an oracle for chainrule.scipy: the same program, written once against
``autograd.scipy`` and once against ``chainrule.scipy``, gives the same value, gradient
and second derivative (to 1e-10); chainrule's forward mode gives the same directional
derivative as autograd's gradient."""

import importlib

import numpy as onp
import pytest

import chainrule as cr
import chainrule.numpy as cnp

autograd = pytest.importorskip("autograd")
anp = importlib.import_module("autograd.numpy")

rng = onp.random.default_rng(7)


def u(low, high, shape=(4,)):
    return rng.uniform(low, high, size=shape)


def spd(n):
    a = rng.standard_normal((n, n))
    return a @ a.T + n * onp.eye(n)


# "module.function": (make the arguments, the differentiated argnums, second order too)
# Arguments are autograd's signatures; argnums are those autograd differentiates.
CASES = {
    **{f"special.{n}": (lambda lo=lo, hi=hi: (u(lo, hi),), (0,), True) for n, (lo, hi) in {
        "gamma": (0.5, 3), "gammaln": (0.5, 3), "digamma": (0.5, 3), "psi": (0.5, 3),
        "rgamma": (0.5, 3), "erf": (-2, 2), "erfc": (-2, 2), "erfinv": (-0.9, 0.9),
        "erfcinv": (0.1, 1.9), "logit": (0.1, 0.9), "expit": (-3, 3), "i0": (-2, 2),
        "i1": (-2, 2), "j0": (-3, 3), "j1": (-3, 3), "y0": (0.5, 3), "y1": (0.5, 3),
    }.items()},
    "special.polygamma": (lambda: (2, u(0.5, 3)), (1,), True),
    "special.jn": (lambda: (2, u(0.3, 3)), (1,), True),
    "special.yn": (lambda: (2, u(0.5, 3)), (1,), True),
    "special.iv": (lambda: (1.5, u(0.3, 3)), (1,), True),
    "special.ive": (lambda: (0.5, u(0.3, 3)), (1,), True),
    "special.gammainc": (lambda: (1.7, u(0.3, 3)), (1,), True),
    "special.gammaincc": (lambda: (1.7, u(0.3, 3)), (1,), True),
    "special.betainc": (lambda: (1.5, 2.5, u(0.1, 0.9)), (2,), True),
    "special.beta": (lambda: (u(0.5, 3), u(0.5, 3)), (0, 1), True),
    "special.betaln": (lambda: (u(0.5, 3), u(0.5, 3)), (0, 1), True),
    "special.multigammaln": (lambda: (u(2.5, 4), 3), (0,), True),
    "special.logsumexp": (lambda: (u(-2, 2, (3, 4)),), (0,), True),
    "stats.norm.pdf": (lambda: (u(-2, 2), u(-0.3, 0.3), u(0.5, 2)), (0, 1, 2), True),
    "stats.norm.cdf": (lambda: (u(-2, 2), u(-0.3, 0.3), u(0.5, 2)), (0, 1, 2), True),
    "stats.norm.sf": (lambda: (u(-2, 2), u(-0.3, 0.3), u(0.5, 2)), (0, 1, 2), True),
    "stats.norm.logpdf": (lambda: (u(-2, 2), u(-0.3, 0.3), u(0.5, 2)), (0, 1, 2), True),
    "stats.norm.logcdf": (lambda: (u(-2, 2), u(-0.3, 0.3), u(0.5, 2)), (0, 1, 2), True),
    "stats.norm.logsf": (lambda: (u(-2, 2), u(-0.3, 0.3), u(0.5, 2)), (0, 1, 2), True),
    "stats.t.pdf": (lambda: (u(-2, 2), u(1.5, 4), u(-0.3, 0.3), u(0.5, 2)), (0, 1, 2, 3), True),
    "stats.t.logpdf": (lambda: (u(-2, 2), u(1.5, 4), u(-0.3, 0.3), u(0.5, 2)), (0, 1, 2, 3),
                       True),
    "stats.t.cdf": (lambda: (u(-2, 2), u(1.5, 4), u(-0.3, 0.3), u(0.5, 2)), (0, 2), True),
    "stats.t.logcdf": (lambda: (u(-2, 2), u(1.5, 4), u(-0.3, 0.3), u(0.5, 2)), (0, 2), True),
    "stats.beta.cdf": (lambda: (u(0.15, 0.85), 2.5, 1.5), (0,), True),
    "stats.beta.logpdf": (lambda: (u(0.15, 0.85), u(1.5, 4), u(1.5, 4)), (0, 1, 2), True),
    "stats.beta.pdf": (lambda: (u(0.15, 0.85), u(1.5, 4), u(1.5, 4)), (0, 1, 2), True),
    "stats.gamma.cdf": (lambda: (u(0.5, 3), 2.5), (0,), True),
    "stats.gamma.logpdf": (lambda: (u(0.5, 3), u(1.5, 4)), (0, 1), True),
    "stats.gamma.pdf": (lambda: (u(0.5, 3), u(1.5, 4)), (0, 1), True),
    "stats.chi2.cdf": (lambda: (u(0.5, 3), 4.0), (0,), True),
    "stats.chi2.logpdf": (lambda: (u(0.5, 3), 4.0), (0,), True),
    "stats.chi2.pdf": (lambda: (u(0.5, 3), 4.0), (0,), True),
    "stats.poisson.cdf": (lambda: (onp.array([0.0, 1, 3.5, 7]), u(0.5, 5)), (1,), True),
    "stats.poisson.logpmf": (lambda: (onp.array([0.0, 1, 3, 7]), u(0.5, 5)), (1,), True),
    "stats.poisson.pmf": (lambda: (onp.array([0.0, 1, 3, 7]), u(0.5, 5)), (1,), True),
    "stats.dirichlet.logpdf": (lambda: (onp.array([0.2, 0.3, 0.5]), u(0.5, 3, (3,))), (0, 1),
                               True),
    "stats.dirichlet.pdf": (lambda: (onp.array([0.2, 0.3, 0.5]), u(0.5, 3, (3,))), (0, 1), True),
    "stats.multivariate_normal.logpdf": (lambda: (u(-1, 1, (5, 3)), u(-1, 1, (3,)), spd(3)),
                                         (0, 1, 2), True),
    "stats.multivariate_normal.pdf": (lambda: (u(-1, 1, (3,)), u(-1, 1, (3,)), spd(3)),
                                      (0, 1, 2), True),
    "stats.multivariate_normal.entropy": (lambda: (onp.zeros(3), spd(3)), (1,), True),
}


def function(library: str, case: str):
    path, name = case.rsplit(".", 1)
    return getattr(importlib.import_module(f"{library}.scipy.{path}"), name)


def scalar_program(f, np, args, argnum, weights):
    """sum(f(...) * weights) as a function of argument ``argnum`` alone."""

    def program(x):
        full = list(args)
        full[argnum] = x
        return np.sum(f(*full) * weights)

    return program


def hessian_vector(grad, np, program, x, v):
    return grad(lambda a: np.sum(grad(program)(a) * v))(x)


@pytest.mark.parametrize("case", sorted(CASES))
def test_against_autograd(case):
    make, argnums, second = CASES[case]
    args = make()
    ours_f, theirs_f = function("chainrule", case), function("autograd", case)
    onp.testing.assert_allclose(ours_f(*args), theirs_f(*args), rtol=1e-12)
    out_shape = onp.shape(theirs_f(*args))
    weights = rng.uniform(0.5, 1.5, size=out_shape)
    for i in argnums:
        ours = scalar_program(ours_f, cnp, args, i, weights)
        theirs = scalar_program(theirs_f, anp, args, i, weights)
        x = onp.asarray(args[i], dtype=float)
        g_theirs = autograd.grad(theirs)(x)
        onp.testing.assert_allclose(cr.grad(ours)(x), g_theirs, rtol=1e-10, atol=1e-12)
        v = rng.standard_normal(onp.shape(x))
        covariance = case.startswith("stats.multivariate_normal") and x.ndim == 2 and i > 0
        if covariance:  # it moves symmetrically; off that, the conventions differ
            v = v + v.T
        _, d_ours = cr.jvp(ours, (x,), (v,))
        onp.testing.assert_allclose(d_ours, onp.sum(g_theirs * v), rtol=1e-10, atol=1e-12)
        if second:
            hv_theirs = hessian_vector(autograd.grad, anp, theirs, x, v)
            hv_ours = hessian_vector(cr.grad, cnp, ours, x, v)
            if covariance:
                hv_theirs, hv_ours = hv_theirs + hv_theirs.T, hv_ours + hv_ours.T
            onp.testing.assert_allclose(hv_ours, hv_theirs, rtol=1e-9, atol=1e-11)


def singular_cov():
    cov = onp.zeros((4, 4))
    cov[:2, :2] = [[1.0, 0.3], [0.3, 0.8]]
    return cov


@pytest.mark.parametrize("points", [1, 3])
def test_multivariate_normal_with_a_singular_cov_agrees_with_autograd(points):
    """allow_singular=True: the density on the subspace cov spans, differentiable in x and
    mean (both modes, second order), as autograd's; a derivative in cov is refused."""
    amvn = importlib.import_module("autograd.scipy.stats.multivariate_normal")
    from chainrule.scipy.stats import multivariate_normal as cmvn

    cov = singular_cov()
    x = onp.concatenate([rng.standard_normal((points, 2)), onp.zeros((points, 2))], axis=1)
    x = x[0] if points == 1 else x
    mean = onp.array([0.2, -0.4, 0.0, 0.0])
    weights = onp.arange(1.0, points + 1) if points > 1 else 1.0

    def program(ag, mvn, np):
        f = lambda x, m: np.sum(mvn.logpdf(x, m, cov, allow_singular=True) * weights)  # noqa: E731
        g = lambda x, m: np.sum(mvn.pdf(x, m, cov, allow_singular=True) * weights)  # noqa: E731
        return (f(x, mean), ag.grad(f, (0, 1))(x, mean), ag.grad(g)(x, mean),
                ag.hessian(f)(x, mean))

    a = program(autograd, amvn, anp)
    c = program(cr, cmvn, cnp)
    for u_, v_ in zip(cr.tree_leaves(a), cr.tree_leaves(c), strict=True):
        onp.testing.assert_allclose(v_, u_, rtol=1e-10, atol=1e-12)
    direction = rng.standard_normal(onp.shape(x))
    _, tangent = cr.jvp(lambda x: cnp.sum(cmvn.logpdf(x, mean, cov, allow_singular=True) * weights),
                        (x,), (direction,))
    onp.testing.assert_allclose(tangent, onp.sum(a[1][0] * direction), rtol=1e-10)
    with pytest.raises(NotImplementedError, match="singular cov"):
        cr.grad(lambda c: cnp.sum(cmvn.logpdf(x, mean, c, allow_singular=True)))(cov)

"""chainrule.scipy.stats: values against scipy.stats, both modes against finite
differences to second order in every differentiable argument, gradients against
torch.distributions."""

import numpy as np
import pytest
import scipy.stats as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.scipy.stats import (
    bernoulli,
    beta,
    cauchy,
    chi2,
    dirichlet,
    expon,
    gamma,
    gennorm,
    geom,
    gumbel_l,
    gumbel_r,
    laplace,
    logistic,
    multivariate_normal,
    norm,
    pareto,
    poisson,
    t,
    vonmises,
    wrapcauchy,
)
from chainrule.scipy.stats import uniform as uniform_distribution

rng = np.random.default_rng(0)

X, LOC, SCALE = (-2, 2), (-0.3, 0.3), (0.5, 2)
UNIT, SHAPE = (0.15, 0.85), (1.5, 4)
# "distribution.function": (function, SciPy's, (low, high) of each argument); every
# argument is differentiated. Non-differentiable ones (t's df in cdf, gamma's a in cdf,
# poisson's k) are fixed inside the lambdas.
CASES = {
    "norm.logpdf": (norm.logpdf, st.norm.logpdf, (X, LOC, SCALE)),
    "norm.pdf": (norm.pdf, st.norm.pdf, (X, LOC, SCALE)),
    "norm.cdf": (norm.cdf, st.norm.cdf, (X, LOC, SCALE)),
    "norm.logcdf": (norm.logcdf, st.norm.logcdf, (X, LOC, SCALE)),
    "norm.sf": (norm.sf, st.norm.sf, (X, LOC, SCALE)),
    "norm.logsf": (norm.logsf, st.norm.logsf, (X, LOC, SCALE)),
    "norm.ppf": (norm.ppf, st.norm.ppf, (UNIT, LOC, SCALE)),
    "norm.isf": (norm.isf, st.norm.isf, (UNIT, LOC, SCALE)),
    "t.logpdf": (t.logpdf, st.t.logpdf, (X, SHAPE, LOC, SCALE)),
    "t.pdf": (t.pdf, st.t.pdf, (X, SHAPE, LOC, SCALE)),
    "t.cdf": (lambda x, l, s: t.cdf(x, 2.5, l, s), lambda x, l, s: st.t.cdf(x, 2.5, l, s),
              (X, LOC, SCALE)),
    "t.sf": (lambda x, l, s: t.sf(x, 2.5, l, s), lambda x, l, s: st.t.sf(x, 2.5, l, s),
             (X, LOC, SCALE)),
    "gamma.logpdf": (gamma.logpdf, st.gamma.logpdf, ((0.5, 3), SHAPE, LOC, SCALE)),
    "gamma.pdf": (gamma.pdf, st.gamma.pdf, ((0.5, 3), SHAPE, LOC, SCALE)),
    "gamma.cdf": (lambda x, l, s: gamma.cdf(x, 2.5, l, s),
                  lambda x, l, s: st.gamma.cdf(x, 2.5, l, s), ((0.5, 3), LOC, SCALE)),
    "chi2.logpdf": (chi2.logpdf, st.chi2.logpdf, ((0.5, 3), (3, 6), LOC, SCALE)),
    "chi2.pdf": (chi2.pdf, st.chi2.pdf, ((0.5, 3), (3, 6), LOC, SCALE)),
    "beta.logpdf": (lambda x, a, b: beta.logpdf(x, a, b), st.beta.logpdf, (UNIT, SHAPE, SHAPE)),
    "beta.pdf": (lambda x, a, b: beta.pdf(x, a, b), st.beta.pdf, (UNIT, SHAPE, SHAPE)),
    "beta.logpdf-loc-scale": (beta.logpdf, st.beta.logpdf,
                              ((0.4, 0.6), SHAPE, SHAPE, (-0.1, 0.1), (1.2, 1.5))),
    "beta.cdf": (lambda x: beta.cdf(x, 2.5, 1.5), lambda x: st.beta.cdf(x, 2.5, 1.5), (UNIT,)),
    "poisson.logpmf": (lambda mu: poisson.logpmf(np.array([0.0, 1, 3, 7]), mu),
                       lambda mu: st.poisson.logpmf(np.array([0.0, 1, 3, 7]), mu), ((0.5, 5),)),
    "poisson.pmf": (lambda mu: poisson.pmf(np.array([0.0, 1, 3, 7]), mu),
                    lambda mu: st.poisson.pmf(np.array([0.0, 1, 3, 7]), mu), ((0.5, 5),)),
    "t.logsf": (lambda x, l, s: t.logsf(x, 2.5, l, s), lambda x, l, s: st.t.logsf(x, 2.5, l, s),
                (X, LOC, SCALE)),
    **{f"{d}.{fn}": (lambda x, l, s, m=m, p=p, fn=fn: getattr(m, fn)(x, *p, l, s),
                     lambda x, l, s, d=d, p=p, fn=fn: getattr(getattr(st, d), fn)(x, *p, l, s),
                     domains)
       for d, m, p, domains in (("gamma", gamma, (2.5,), ((0.5, 3), LOC, SCALE)),
                                ("chi2", chi2, (3.5,), ((0.5, 3), LOC, SCALE)),
                                # (x - loc) / scale in [0.025, 0.9], inside beta's support
                                # (0, 1): outside it logcdf is -inf, and finite differences
                                # across its edge are nan
                                ("beta", beta, (2.5, 1.5), ((0.35, 0.6), LOC, (1.0, 2.0))))
       for fn in ("logcdf", "sf", "logsf")},
    **{f"poisson.{fn}": (lambda mu, fn=fn: getattr(poisson, fn)(np.array([0.0, 1, 3.5, 7]), mu),
                         lambda mu, fn=fn: getattr(st.poisson, fn)(np.array([0.0, 1, 3.5, 7]), mu),
                         ((0.5, 5),))
       for fn in ("logcdf", "sf", "logsf")},
    **{f"{d}.{fn}": (getattr(m, fn), getattr(getattr(st, d), fn),
                     (UNIT if fn in ("ppf", "isf") else dom, LOC, SCALE))
       for d, m, dom in (("laplace", laplace, X), ("logistic", logistic, X),
                         ("cauchy", cauchy, X), ("expon", expon, (0.35, 3)))
       for fn in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf")},
    **{f"{d}.{fn}": (getattr(m, fn), getattr(getattr(st, d), fn),
                     (UNIT if fn == "ppf" else dom, LOC, SCALE))
       for d, m, dom in (("gumbel_r", gumbel_r, X), ("gumbel_l", gumbel_l, X))
       for fn in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf")},
    **{f"pareto.{fn}": (getattr(pareto, fn), getattr(st.pareto, fn),
                        (UNIT if fn == "ppf" else (1.5, 4), SHAPE, (-0.2, 0.2), (0.5, 1.2)))
       for fn in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf")},
    **{f"uniform.{fn}": (getattr(uniform_distribution, fn), getattr(st.uniform, fn),
                         (UNIT if fn in ("ppf", "isf") else (0.35, 0.6), LOC, (1.0, 2.0)))
       for fn in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf")},
    **{f"{d}.{fn}": (lambda p, m=m, fn=fn, k=k: getattr(m, fn)(k, p),
                     lambda p, d=d, fn=fn, k=k: getattr(getattr(st, d), fn)(k, p), (UNIT,))
       for d, m, k in (("bernoulli", bernoulli, np.array([0.0, 1.0, 1.0, 0.0])),
                       ("geom", geom, np.array([1.0, 2.0, 5.0, 3.0])))
       for fn in ("logpmf", "pmf")},
    "poisson.cdf": (lambda mu: poisson.cdf(np.array([0.0, 1, 3.5, 7]), mu),
                    lambda mu: st.poisson.cdf(np.array([0.0, 1, 3.5, 7]), mu), ((0.5, 5),)),
}
# shapes of the arguments: all alike, or the first broadcast against scalars/rows
LAYOUTS = {"vectors": lambda n: [(4,)] * n, "broadcast": lambda n: [(2, 4)] + [(4,)] * (n - 1),
           "scalars": lambda n: [()] * n}


def uniform(shape, low, high):
    return rng.uniform(low, high, size=shape)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_distribution_function(case, layout):
    f, reference, domains = CASES[case]
    shapes = LAYOUTS[layout](len(domains))
    if case.startswith(("poisson", "bernoulli", "geom")):
        shapes = [(4,)]
    args = [uniform(s, *d) for s, d in zip(shapes, domains, strict=True)]
    np.testing.assert_allclose(f(*args), reference(*args), rtol=1e-12, atol=1e-300)
    assert cr.gradcheck(f, *args, order=2)


def test_outside_the_support():
    x = np.array([-1.0, 1.0, 2.0])
    np.testing.assert_array_equal(gamma.logpdf(x, 2.0), st.gamma.logpdf(x, 2.0))
    np.testing.assert_array_equal(beta.logpdf(x, 2.0, 3.0), st.beta.logpdf(x, 2.0, 3.0))
    k = np.array([-1.0, 1.5, 2.0])
    np.testing.assert_allclose(poisson.logpmf(k, 2.0), st.poisson.logpmf(k, 2.0))
    np.testing.assert_allclose(poisson.cdf(k, 2.0), st.poisson.cdf(k, 2.0))
    # no nan leaks into the gradient from the discarded branch
    g = cr.grad(lambda a, s: cnp.sum(gamma.pdf(x, a, scale=s)), (0, 1))(2.0, 1.5)
    assert np.all(np.isfinite(g))
    gx = cr.elementwise_grad(lambda v: beta.pdf(v, 2.0, 3.0))(np.array([-1.0, 0.5, 2.0]))
    assert np.all(np.isfinite(gx)) and gx[0] == 0 and gx[2] == 0
    far = np.array([-800.0, -1.0, 0.0, 1.0, 800.0])  # exp(800) overflows in a discarded branch
    for f, reference in ((expon.logpdf, st.expon.logpdf), (expon.cdf, st.expon.cdf),
                         (expon.logcdf, st.expon.logcdf), (expon.logsf, st.expon.logsf),
                         (laplace.cdf, st.laplace.cdf), (laplace.sf, st.laplace.sf),
                         (laplace.logcdf, lambda x: np.log(st.laplace.cdf(x))),
                         (laplace.logsf, lambda x: np.log(st.laplace.sf(x)))):
        with np.errstate(divide="ignore"):
            finite = np.isfinite(reference(far))
            np.testing.assert_allclose(f(far)[finite], reference(far)[finite], rtol=1e-14)
            g = cr.elementwise_grad(f)(far[far != 0])  # (expon.logcdf's is inf at 0)
        assert np.all(np.isfinite(g)), (f, g)
    y = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 2.5, 3.0])
    for f, args in ((uniform_distribution.logpdf, ()), (uniform_distribution.cdf, ()),
                    (pareto.logpdf, (2.0,)), (bernoulli.logpmf, (0.3,)), (geom.logpmf, (0.3,))):
        reference = getattr(getattr(st, f.__module__.rsplit(".", 1)[1]), f.__name__)
        np.testing.assert_allclose(f(y, *args), reference(y, *args), rtol=1e-14)
        assert np.all(np.isfinite(cr.elementwise_grad(lambda v, f=f, a=args: f(v, *a))(y)))
    # far in the tail the logarithms stay finite, where SciPy's cdf underflows to 0
    np.testing.assert_allclose(laplace.logcdf(-800.0), -800 - np.log(2), rtol=1e-15)
    np.testing.assert_allclose(laplace.logsf(800.0, scale=2.0), -400 - np.log(2), rtol=1e-15)


def test_t_cdf_in_df_raises():
    with pytest.raises(NotImplementedError, match="df"):
        cr.grad(lambda df: t.cdf(0.3, df))(3.0)


# -- multivariate normal and Dirichlet ---------------------------------------------------
def spd(dim, seed=1):
    m = np.random.default_rng(seed).standard_normal((dim, dim))
    return m @ m.T + dim * np.eye(dim)


def symmetric(f):
    """``f`` of a symmetrised covariance: finite differences then stay symmetric."""
    return lambda x, mean, a: f(x, mean, 0.5 * (a + a.T))


@pytest.mark.parametrize("x_shape", [(3,), (5, 3), (2, 4, 3), (5, 1, 3)])
@pytest.mark.parametrize("name", ["logpdf", "pdf"])
def test_multivariate_normal(name, x_shape):
    x, mean, cov = uniform(x_shape, -1, 1), uniform((3,), -0.5, 0.5), spd(3)
    f = symmetric(getattr(multivariate_normal, name))
    reference = symmetric(getattr(st.multivariate_normal, name))
    np.testing.assert_allclose(f(x, mean, cov), reference(x, mean, cov), rtol=1e-12)
    assert cr.gradcheck(f, x, mean, cov, order=2)


@pytest.mark.parametrize(
    "x_shape, mean, cov",
    [((4, 3), np.zeros(3), np.array([0.5, 1.0, 2.0])),  # a vector: the diagonal
     ((4, 2), np.full(2, 0.3), 1.5),  # a scalar: a multiple of the identity
     ((4,), 0.3, 1.5),  # one dimension: a vector is a list of points
     ((), 0.3, 1.5)],
)
def test_multivariate_normal_shorthands(x_shape, mean, cov):
    x = uniform(x_shape, -1, 1)
    f = lambda a, c: multivariate_normal.logpdf(a, mean, c)
    np.testing.assert_allclose(f(x, cov), st.multivariate_normal.logpdf(x, mean, cov))
    assert cr.gradcheck(f, x, cov, order=2)


def test_multivariate_normal_entropy_and_symmetric_gradient():
    mean, cov = uniform((3,), -1, 1), spd(3)
    f = lambda a: multivariate_normal.entropy(mean, 0.5 * (a + a.T))
    np.testing.assert_allclose(f(cov), st.multivariate_normal.entropy(mean, cov))
    assert cr.gradcheck(f, cov, order=2)
    g = cr.grad(lambda c: cnp.sum(multivariate_normal.logpdf(uniform((4, 3), -1, 1), mean, c)))(cov)
    np.testing.assert_allclose(g, g.T)


@pytest.mark.parametrize("mode", ["rev-rev", "fwd-rev"])
def test_multivariate_normal_hessian_in_cov_is_that_of_the_symmetrised_cov(mode):
    """The Hessian in ``cov``, along unsymmetric changes too (``cov[0, 1]`` alone), is that
    of the function of (cov + covᵀ) / 2, whose gradient is the symmetric one returned (JAX's
    convention): second differences of SciPy's logpdf of the symmetrised cov."""
    x, mean, cov = uniform((3, 2), -1, 1), uniform((2,), -0.5, 0.5), spd(2)
    ref = lambda c: np.sum(st.multivariate_normal.logpdf(x, mean, 0.5 * (c + c.T)))  # noqa: E731
    f = lambda c: cnp.sum(multivariate_normal.logpdf(x, mean, c))  # noqa: E731
    h, basis = 1e-3, np.eye(4).reshape(4, 2, 2)
    want = np.array([[(ref(cov + h * (u + v)) - ref(cov + h * (u - v)) - ref(cov - h * (u - v))
                       + ref(cov - h * (u + v))) / (4 * h * h) for v in basis] for u in basis])
    got = (cr.hessian(f) if mode == "rev-rev" else cr.jacfwd(cr.grad(f)))(cov)
    np.testing.assert_allclose(np.reshape(got, (4, 4)), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("x_rows", ["all", "one-fewer"])
@pytest.mark.parametrize("points", [None, 4])
@pytest.mark.parametrize("name", ["logpdf", "pdf"])
def test_dirichlet(name, points, x_rows):
    alpha = uniform((3,), 1.5, 3)
    x = rng.dirichlet(alpha, size=points).T
    if x_rows == "one-fewer":
        x = x[:2]
    f = getattr(dirichlet, name)
    np.testing.assert_allclose(f(x, alpha), getattr(st.dirichlet, name)(x, alpha), rtol=1e-12)
    assert cr.gradcheck(f, x, alpha, order=2)


def test_dirichlet_shape_error():
    with pytest.raises(ValueError, match="first axis"):
        dirichlet.logpdf(np.full((5, 2), 0.2), np.ones(3))


def test_eager_backward_through_a_log_likelihood():
    data = uniform((20,), -1, 3)
    loc = cr.tensor(0.5, requires_grad=True)
    scale = cr.tensor(1.5, requires_grad=True)
    (-cnp.sum(norm.logpdf(data, loc, scale))).backward()
    z = (data - 0.5) / 1.5
    np.testing.assert_allclose(loc.grad, -np.sum(z) / 1.5)
    np.testing.assert_allclose(scale.grad, np.sum(1 - z * z) / 1.5)


# -- torch.distributions as an independent oracle ---------------------------------------
try:
    import torch
    import torch.distributions as td
except ImportError:  # pragma: no cover
    torch = None

# name: (chainrule log density of (x, *params), torch's, (low, high) of x and each param)
TORCH_CASES = {
    "norm": (norm.logpdf, lambda x, l, s: td.Normal(l, s).log_prob(x), (X, LOC, SCALE)),
    "norm.cdf": (norm.cdf, lambda x, l, s: td.Normal(l, s).cdf(x), (X, LOC, SCALE)),
    "t": (t.logpdf, lambda x, df, l, s: td.StudentT(df, l, s).log_prob(x),
          (X, SHAPE, LOC, SCALE)),
    "gamma": (lambda x, a, s: gamma.logpdf(x, a, scale=s),
              lambda x, a, s: td.Gamma(a, 1 / s).log_prob(x), ((0.5, 3), SHAPE, SCALE)),
    "chi2": (chi2.logpdf, lambda x, df: td.Chi2(df).log_prob(x), ((0.5, 3), (3, 6))),
    "beta": (beta.logpdf, lambda x, a, b: td.Beta(a, b).log_prob(x), (UNIT, SHAPE, SHAPE)),
    "poisson": (lambda mu: poisson.logpmf(np.array([0.0, 1, 3, 7]), mu),
                lambda mu: td.Poisson(mu).log_prob(torch.tensor([0.0, 1, 3, 7],
                                                                dtype=torch.float64)),
                ((0.5, 5),)),
}


def torch_gradients(f, args):
    ts = [torch.tensor(a, requires_grad=True) for a in args]
    f(*ts).sum().backward()
    return [v.grad.numpy() for v in ts]


@pytest.mark.torch
@pytest.mark.skipif(torch is None, reason="torch not installed")
@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_gradients_against_torch(name):
    ours_f, torch_f, domains = TORCH_CASES[name]
    args = [uniform((4,), *d) for d in domains]
    ours = cr.grad(lambda *a: cnp.sum(ours_f(*a)), tuple(range(len(args))))(*args)
    for g, expected in zip(ours, torch_gradients(torch_f, args), strict=True):
        np.testing.assert_allclose(g, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.torch
@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_multivariate_normal_and_dirichlet_against_torch():
    x, mean, a = uniform((5, 3), -1, 1), uniform((3,), -0.5, 0.5), spd(3)
    f = symmetric(multivariate_normal.logpdf)
    ours = cr.grad(lambda *v: cnp.sum(f(*v)), (0, 1, 2))(x, mean, a)
    theirs = torch_gradients(
        lambda xx, m, aa: td.MultivariateNormal(m, 0.5 * (aa + aa.T)).log_prob(xx), [x, mean, a])
    for g, expected in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(g, expected, rtol=1e-9, atol=1e-12)

    alpha = uniform((3,), 1.5, 3)
    pts = rng.dirichlet(alpha, size=4)  # torch: components along the last axis
    ours = cr.grad(lambda p, al: cnp.sum(dirichlet.logpdf(p.T, al)), (0, 1))(pts, alpha)
    theirs = torch_gradients(lambda p, al: td.Dirichlet(al).log_prob(p), [pts, alpha])
    for g, expected in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(g, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("f", [lambda a: gamma.cdf(1.0, a), lambda a: gamma.sf(1.0, a),
                               lambda a: gamma.logsf(1.0, a), lambda a: chi2.sf(1.0, a),
                               lambda a: beta.cdf(0.3, a, 2.0), lambda a: beta.sf(0.3, 2.0, a),
                               lambda df: t.logsf(0.3, df)])
def test_distribution_functions_in_shape_parameters_raise(f):
    with pytest.raises(NotImplementedError, match="no derivative in"):
        cr.grad(f)(2.5)
    with pytest.raises(NotImplementedError, match="no derivative in"):
        cr.jvp(f, (2.5,), (1.0,))


# -- the location-scale families: edges against SciPy, signatures, docstrings -------------
LOCATION_SCALE = {"norm": (norm, ()), "logistic": (logistic, ()), "cauchy": (cauchy, ()),
                  "laplace": (laplace, ()), "expon": (expon, ()), "pareto": (pareto, (2.0,)),
                  "gumbel_r": (gumbel_r, ()), "gumbel_l": (gumbel_l, ()),
                  "uniform": (uniform_distribution, ()), "t": (t, (3.0,)), "gamma": (gamma, (2.5,)),
                  "beta": (beta, (2.0, 3.0)), "chi2": (chi2, (3.0,)), "gennorm": (gennorm, (1.5,)),
                  "vonmises": (vonmises, (2.0,)), "wrapcauchy": (wrapcauchy, (0.5,))}
# shape parameters out of their range: every function is nan, as SciPy's
OUT_OF_RANGE = {"pareto": (-1.0,), "t": (-1.0,), "gamma": (0.0,), "beta": (2.0, -1.0),
                "chi2": (-2.0,), "gennorm": (0.0,), "vonmises": (-1.0,), "wrapcauchy": (1.5,)}

# where the density's limit is 0 and SciPy's -z - e^-z is inf - inf = nan: x -> 0 there
LIMIT_WHERE_SCIPY_IS_NAN = {("gumbel_r", "pdf"): -np.inf, ("gumbel_l", "pdf"): np.inf}


@pytest.mark.parametrize("name", sorted(LOCATION_SCALE))
def test_location_scale_edges_match_scipy(name):
    """nan stays nan, ±inf and the ends of the support take SciPy's values; the quantiles
    of 0 and 1 are the ends of the support (cauchy.ppf(1) is inf, not tan(π/2)), nan off
    [0, 1]."""
    module, shapes = LOCATION_SCALE[name]
    x = np.array([np.nan, -np.inf, np.inf, -1.0, 0.0, 0.5, 1.0, 1.5, 3.0])
    q = np.array([np.nan, -0.5, 0.0, 0.3, 0.5, 0.9, 1.0, 1.5])
    for fn in module.__all__:
        a = q if fn in ("ppf", "isf") else x
        for params in [(*shapes, 0.5, 2.0), (*shapes, 0.5, 0.0), (*shapes, 0.5, -1.0),
                       *([(*OUT_OF_RANGE[name], 0.5, 2.0)] if name in OUT_OF_RANGE else [])]:
            with np.errstate(all="ignore"):
                got, want = getattr(module, fn)(a, *params), getattr(getattr(st, name), fn)(a, *params)
            if (name, fn) in LIMIT_WHERE_SCIPY_IS_NAN and params[-1] > 0:
                want = np.where(a == LIMIT_WHERE_SCIPY_IS_NAN[name, fn], 0.0, want)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300, err_msg=f"{name}.{fn}{params}")


@pytest.mark.parametrize("name", sorted(LOCATION_SCALE))
def test_location_scale_signatures_and_examples(name):
    import doctest
    import inspect

    module, shapes = LOCATION_SCALE[name]
    for fn in module.__all__:
        f, reference = getattr(module, fn), getattr(getattr(st, name), fn)
        params = list(inspect.signature(f).parameters)
        assert params == ["q" if fn in ("ppf", "isf") else "x", *module.STANDARD.shapes, "loc", "scale"]
        a = 0.3 if fn in ("ppf", "isf") else 1.7
        keywords = dict(zip(params[1:-2], shapes, strict=True))
        # positional, keyword and mixed calls all mean SciPy's
        calls = [((a, *shapes), {}), ((a, *shapes, 0.2), {}), ((a, *shapes, 0.2, 1.5), {}),
                 ((a,), {**keywords, "scale": 1.5, "loc": 0.2}), ((a, *shapes), {"scale": 1.5}),
                 ((), {params[0]: a, **keywords, "loc": 0.2})]
        for args, kwargs in calls:
            np.testing.assert_allclose(f(*args, **kwargs), reference(*args, **kwargs), rtol=1e-12)
        with pytest.raises(TypeError):
            f(a, *shapes, 0.2, 1.5, 9.0)
        with pytest.raises(TypeError):
            f(a, *shapes, 0.2, location=1.0)
        runner = doctest.DocTestRunner()
        for test in doctest.DocTestFinder().find(f, f"{name}.{fn}", globs={}):
            assert test.examples, f"{name}.{fn} has no example"
            runner.run(test)
        assert runner.summarize(verbose=False).failed == 0


# -- the discrete distributions: edges against SciPy, batched counts under vmap -----------------
DISCRETE = {"poisson": (poisson, (2.0,)), "bernoulli": (bernoulli, (0.3,)), "geom": (geom, (0.3,))}


@pytest.mark.parametrize("name", sorted(DISCRETE))
def test_discrete_edges_match_scipy(name):
    module, params = DISCRETE[name]
    k = np.array([np.nan, -np.inf, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0, np.inf])
    q = np.array([np.nan, -0.5, 0.0, 0.3, 0.7, 0.71, 1.0, 1.5])
    for fn in set(module.__all__) - {"entropy"}:  # the functions of a count
        a = q if fn == "ppf" else k
        with np.errstate(all="ignore"):
            want = getattr(getattr(st, name), fn)(a, *params)
        np.testing.assert_allclose(getattr(module, fn)(a, *params), want, rtol=1e-12, err_msg=f"{name}.{fn}")


# parameters off their range (and nan): every function is nan, as SciPy's
DISCRETE_OUT_OF_RANGE = {"poisson": [(-1.0,), (np.nan,)], "bernoulli": [(-0.1,), (1.5,), (np.nan,)],
                         "geom": [(-0.1,), (0.0,), (1.5,), (np.nan,)]}
# parameters on the edge of their range
DISCRETE_EDGE_PARAMETERS = {"poisson": [(0.0,), (np.inf,)], "bernoulli": [(0.0,), (1.0,)], "geom": [(1.0,)]}


@pytest.mark.parametrize("name", sorted(DISCRETE))
def test_discrete_parameters_off_and_on_the_edge_of_their_range_match_scipy(name):
    """poisson.pmf(0, -1.0) was e (SciPy: nan), bernoulli.pmf(0, -0.1) 1.1, geom.logpmf(1, 1.5)
    log 1.5; bernoulli.ppf(1, 0.0) was 0 where SciPy gives 1, the upper end of the support."""
    module, _ = DISCRETE[name]
    k = np.array([np.nan, -np.inf, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0, np.inf])
    q = np.array([np.nan, -0.5, 0.0, 0.3, 0.7, 1.0, 1.5])
    for fn in set(module.__all__) - {"entropy"}:
        a = q if fn == "ppf" else k
        for params in DISCRETE_OUT_OF_RANGE[name] + DISCRETE_EDGE_PARAMETERS[name]:
            with np.errstate(all="ignore"):
                want = getattr(getattr(st, name), fn)(a, *params)
                got = getattr(module, fn)(a, *params)
            if name == "poisson" and fn == "logcdf" and params in DISCRETE_OUT_OF_RANGE[name]:
                want[-1] = np.nan  # SciPy's logcdf(inf) is 0 whatever mu is, its cdf(inf) nan
            np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=f"{name}.{fn}{params}")
    p = 0.3 if name != "poisson" else 2.0
    assert cr.grad(lambda p: module.logpmf(1.0, p))(p) == pytest.approx(
        (module.logpmf(1.0, p + 1e-6) - module.logpmf(1.0, p - 1e-6)) / 2e-6, rel=1e-7)


def _every_distribution_function():
    import chainrule.scipy.stats as cst

    for name in cst.__all__:
        for fn in getattr(cst, name).__all__:
            yield name, fn


# scalar arguments for each distribution's functions (the first argument, then the parameters)
SCALAR_ARGS = {"dirichlet": (np.array([0.2, 0.3, 0.5]), np.array([1.0, 2.0, 3.0])),
               "multivariate_normal": (np.array([0.2, 0.3]), np.zeros(2), np.eye(2)),
               "multinomial": (np.array([1.0, 2.0]), 3, np.array([0.4, 0.6])),
               "truncnorm": (0.3, -1.0, 2.0), "binom": (2.0, 5, 0.3), "nbinom": (2.0, 5, 0.3),
               "betabinom": (2.0, 5, 2.0, 3.0), "beta": (0.3, 2.0, 3.0), "poisson": (2.0, 1.5),
               "bernoulli": (1.0, 0.3), "geom": (2.0, 0.3), "wrapcauchy": (0.3, 0.5)}


@pytest.mark.parametrize("name, fn", sorted(_every_distribution_function()))
def test_scalar_arguments_give_a_numpy_number_as_scipy(name, fn):
    """norm.logpdf(0.3) is an np.float64, as SciPy's and autograd's (it was a 0-d array,
    which json.dumps and isinstance(v, float) refuse); ppf's were Python floats."""
    import inspect

    import chainrule.scipy.stats as cst

    f, reference = getattr(getattr(cst, name), fn), getattr(getattr(st, name), fn)
    required = [p for p in inspect.signature(f).parameters.values() if p.default is inspect.Parameter.empty]
    args = SCALAR_ARGS.get(name, (0.3, *[2.0] * (len(required) - 1)))
    if fn == "entropy":
        args = args[1:]
    want = reference(*args)
    if (name, fn) == ("multinomial", "logpmf"):
        want = want[()]  # SciPy's is a 0-d array here (its pmf a number); chainrule's both numbers
    got = f(*args)
    assert type(got) is type(want) and got == pytest.approx(want, rel=1e-6), (got, want)


@pytest.mark.parametrize("name", sorted(DISCRETE))
def test_discrete_functions_of_batched_counts(name):
    """A batched count under vmap (it has no derivative, but is no plain number either)."""
    module, params = DISCRETE[name]
    ks = np.array([0.0, 1.0, 3.0, 1.0])
    for fn in module.__all__:
        f = getattr(module, fn)
        got = cr.vmap(lambda k, p, f=f: f(k, p))(ks, np.full(4, params[0]))
        np.testing.assert_allclose(got, f(ks, *params), rtol=1e-14, err_msg=f"{name}.{fn}")
    g = cr.vmap(cr.grad(lambda k, p: module.logpmf(k, p), 1), in_axes=(0, None))(ks, params[0])
    want = [cr.grad(lambda p, k=k: module.logpmf(k, p))(params[0]) for k in ks]
    np.testing.assert_allclose(g, want, rtol=1e-14)


def test_poisson_entropy_near_scipy_and_its_derivative_by_differences():
    # JAX's regimes (see poisson.entropy): within 2e-6 of SciPy's exact sum, relative
    mu = np.array([0.0, 0.5, 3.0, 9.99, 10.0, 50.0, 99.9, 100.0, 150.0, 1000.0])
    np.testing.assert_allclose(poisson.entropy(mu), st.poisson.entropy(mu), rtol=2e-6, atol=0)
    h = 1e-6
    for m in (0.5, 3.3, 50.3, 300.3):  # off the counts where the summed range grows
        fd = (poisson.entropy(m + h) - poisson.entropy(m - h)) / (2 * h)
        np.testing.assert_allclose(cr.grad(poisson.entropy)(m), fd, rtol=1e-6)


@pytest.mark.parametrize("name, fn, q", [("uniform", "ppf", 0.0), ("uniform", "ppf", 1.0), ("uniform", "isf", 0.0),
                                         ("uniform", "isf", 1.0), ("expon", "ppf", 0.0), ("expon", "isf", 1.0),
                                         ("pareto", "ppf", 0.0)])
def test_quantiles_at_a_finite_end_keep_their_one_sided_derivative(name, fn, q):
    """At q = 0 or 1 where the support's end is finite, the derivative in q is the one-sided
    one (second-order one-sided differences of SciPy's, into [0, 1]), not 0."""
    module, shapes = LOCATION_SCALE[name]
    step = 1e-5 if q == 0 else -1e-5
    ref = lambda v: getattr(getattr(st, name), fn)(v, *shapes, 0.5, 2.0)  # noqa: E731
    want = (-3 * ref(q) + 4 * ref(q + step) - ref(q + 2 * step)) / (2 * step)
    f = lambda v: getattr(module, fn)(v, *shapes, 0.5, 2.0)  # noqa: E731
    np.testing.assert_allclose(cr.grad(f)(q), want, rtol=1e-8)
    np.testing.assert_allclose(cr.jvp(f, (q,), (1.0,))[1], want, rtol=1e-8)


# the families smooth at z = 0 (laplace has a kink there, gennorm(1.5) an infinite second
# derivative, and the others' supports, wrapcauchy's [0, 2π) too, end there)
SMOOTH_AT_THE_CENTRE = ["norm", "logistic", "cauchy", "t", "gumbel_r", "gumbel_l", "vonmises"]


@pytest.mark.parametrize("name", SMOOTH_AT_THE_CENTRE)
def test_second_derivatives_at_the_centre_against_scipys_differences(name):
    """d²/dx² and d²/dloc² of logpdf and pdf at x = loc (z = 0 exactly, where a branch on
    |z| has a zero derivative) against central second differences of SciPy's."""
    module, shapes = LOCATION_SCALE[name]
    loc, scale, h = 0.5, 2.0, 1e-3
    for fn in ("logpdf", "pdf"):
        ref = lambda v, fn=fn: getattr(getattr(st, name), fn)(v, *shapes, loc, scale)  # noqa: E731
        want = (ref(loc + h) - 2 * ref(loc) + ref(loc - h)) / h ** 2
        of_x = lambda v, fn=fn: getattr(module, fn)(v, *shapes, loc, scale)  # noqa: E731
        of_loc = lambda m, fn=fn: getattr(module, fn)(loc, *shapes, m, scale)  # noqa: E731
        for f in (of_x, of_loc):
            np.testing.assert_allclose(cr.grad(cr.grad(f))(loc), want, rtol=1e-5, err_msg=fn)


@pytest.mark.parametrize("name", sorted(LOCATION_SCALE))
def test_log_tails_have_the_derivative_pdf_over_cdf(name):
    """d/dx logcdf = pdf / cdf and d/dx logsf = -pdf / sf, SciPy's values the oracle, far
    into both tails, in both modes: a branch of a ``where`` not taken there (log of an
    underflowed tail) must not send nan into the gradient."""
    module, shapes = LOCATION_SCALE[name]
    dist = getattr(st, name)
    for fn, sign, denominator in [("logcdf", 1.0, dist.logcdf), ("logsf", -1.0, dist.logsf)]:
        if fn not in module.__all__:
            continue
        for x in [-1e3, -40.0, -12.0, -3.0, 0.7, 3.0, 12.0, 40.0, 1e3]:
            with np.errstate(all="ignore"):  # SciPy's own overflow in the far tails
                logpdf, logtail = dist.logpdf(x, *shapes), denominator(x, *shapes)
            if not (np.isfinite(logpdf) and np.isfinite(logtail)) or abs(logpdf) > 1e6:
                continue  # (beyond 1e6 the oracle's difference of logs has lost its digits)
            want = sign * np.exp(logpdf - logtail)
            f = lambda v, fn=fn: getattr(module, fn)(v, *shapes)  # noqa: E731
            got = cr.grad(f)(x)
            assert np.isclose(got, want, rtol=1e-7, atol=1e-300), (fn, x, got, want)
            assert np.isclose(cr.jvp(f, (x,), (1.0,))[1], want, rtol=1e-7, atol=1e-300), (fn, x)

"""The distributions JAX's jax.scipy.stats has beyond the classic ones (binom, nbinom,
betabinom, multinomial, truncnorm, gennorm, vonmises, wrapcauchy): values against
scipy.stats at edge inputs, both modes against finite differences to second order in
the continuous arguments, and vmap/grad against jax.vmap/jax.grad of jax.scipy.stats."""

import warnings

import numpy as np
import pytest
import scipy.stats as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.scipy import stats

rng = np.random.default_rng(7)
K = np.array([np.nan, -1.0, 0.0, 1.5, 2.0, 5.0, 6.0, 40.0])  # counts: nan, off, fractional
X = np.array([np.nan, -np.inf, -4.0, -np.pi, -1.0, 0.0, 0.5, 1.0, np.pi, 2 * np.pi, 7.0, np.inf])

# name: (function, SciPy's, the first argument, [parameter tuples, edges included])
EDGES = {
    "binom.logpmf": (stats.binom.logpmf, st.binom.logpmf, K,
                     [(5, 0.3), (5.5, 0.3), (5, 1.2), (5, 0.0), (5, 1.0), (-1, 0.3), (0, 0.3)]),
    "binom.pmf": (stats.binom.pmf, st.binom.pmf, K, [(6, 0.7), (40, 0.5)]),
    "nbinom.logpmf": (stats.nbinom.logpmf, st.nbinom.logpmf, K,
                      [(2.5, 0.3), (2.5, 1.0), (0, 0.5), (2, 0.0), (0.5, 0.9)]),
    "nbinom.pmf": (stats.nbinom.pmf, st.nbinom.pmf, K, [(3, 0.4)]),
    "betabinom.logpmf": (stats.betabinom.logpmf, st.betabinom.logpmf, K,
                         [(5, 2.0, 3.0), (5, -1.0, 3.0), (5.5, 1, 1), (0, 1, 2), (40, 0.5, 0.5)]),
    "betabinom.pmf": (stats.betabinom.pmf, st.betabinom.pmf, K, [(6, 1.5, 0.5)]),
    **{f"vonmises.{f}": (getattr(stats.vonmises, f), getattr(st.vonmises, f), X,
                         [(2.0,), (0.0,), (-1.0,), (50.0,), (800.0,), (2.0, 0.3, 1.5)])
       for f in ("logpdf", "pdf")},
    **{f"wrapcauchy.{f}": (getattr(stats.wrapcauchy, f), getattr(st.wrapcauchy, f), X,
                           [(0.5,), (0.0,), (1.0,), (0.99,), (1e-3,), (0.5, -0.5, 1.5)])
       for f in ("logpdf", "pdf")},
    **{f"gennorm.{f}": (getattr(stats.gennorm, f), getattr(st.gennorm, f), X,
                        [(1.5,), (0.5,), (1.0,), (2.0,), (8.0,), (-1.0,), (1.5, 0.2, 1.3)])
       for f in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")},
    **{f"truncnorm.{f}": (getattr(stats.truncnorm, f), getattr(st.truncnorm, f),
                          np.concatenate([X, np.linspace(-61, 61, 25)]),
                          [(-1.0, 2.0), (2.0, 1.0), (40.0, 60.0), (-60.0, -40.0), (-np.inf, 1.0),
                           (1.0, np.inf), (-np.inf, np.inf), (0.0, 0.01), (5.0, 5.5), (-3, 30),
                           (-1.0, 2.0, 0.5, 2.0)])
       for f in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")},
}


@pytest.mark.parametrize("name", sorted(EDGES))
def test_values_at_edges_match_scipy(name):
    f, reference, first, params = EDGES[name]
    for p in params:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = reference(first, *p)
            got = f(first, *p)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300, err_msg=f"{name}{p}")
        assert np.shape(got) == np.shape(want)


def test_counts_given_as_integers_and_broadcast():
    k = np.arange(7)  # an integer array
    n = np.array([[4], [6]])
    np.testing.assert_allclose(stats.binom.logpmf(k, n, 0.3), st.binom.logpmf(k, n, 0.3), rtol=1e-12)
    np.testing.assert_allclose(stats.betabinom.pmf(k, n, 1.5, np.array([0.5, 2.0, 3.0, 1.0, 1.0, 2.0, 9.0])),
                               st.betabinom.pmf(k, n, 1.5, np.array([0.5, 2.0, 3.0, 1.0, 1.0, 2.0, 9.0])),
                               rtol=1e-12)
    np.testing.assert_allclose(stats.nbinom.logpmf(k, 2.5, 0.4, loc=1), st.nbinom.logpmf(k, 2.5, 0.4, loc=1),
                               rtol=1e-12)


def test_multinomial():
    p = np.array([0.2, 0.3, 0.5])
    x = np.array([[1.0, 2, 3], [0, 0, 6], [2, 2, 2], [1, 2, 4], [1.5, 1.5, 3], [-1, 3, 4]])
    np.testing.assert_allclose(stats.multinomial.logpmf(x, 6, p), st.multinomial.logpmf(x, 6, p),
                               rtol=1e-12)
    np.testing.assert_allclose(stats.multinomial.pmf(x[0], 6, p), st.multinomial.pmf(x[0], 6, p), rtol=1e-12)
    zero = np.array([0.0, 0.5, 0.5])  # a category that cannot occur, and does not
    np.testing.assert_allclose(stats.multinomial.logpmf([0.0, 2, 4], 6, zero),
                               st.multinomial.logpmf([0, 2, 4], 6, zero), rtol=1e-12)
    assert np.isnan(stats.multinomial.logpmf([np.nan, 2, 4], 6, p))
    assert cr.gradcheck(lambda q: stats.multinomial.logpmf(x[:3], 6, q), p, order=2)


# function of the differentiated arguments: (function, SciPy's, (low, high) of each)
UNIT = (0.15, 0.85)
CASES = {
    "binom.logpmf": (lambda p: stats.binom.logpmf(np.array([0.0, 2, 5]), 5, p),
                     lambda p: st.binom.logpmf(np.array([0.0, 2, 5]), 5, p), (UNIT,)),
    "nbinom.logpmf": (lambda n, p: stats.nbinom.logpmf(np.array([0.0, 2, 5]), n, p),
                      lambda n, p: st.nbinom.logpmf(np.array([0.0, 2, 5]), n, p), ((0.5, 4), UNIT)),
    "betabinom.pmf": (lambda a, b: stats.betabinom.pmf(np.array([0.0, 2, 5]), 5, a, b),
                      lambda a, b: st.betabinom.pmf(np.array([0.0, 2, 5]), 5, a, b),
                      ((0.5, 4), (0.5, 4))),
    "vonmises.logpdf": (stats.vonmises.logpdf, st.vonmises.logpdf,
                        ((-3, 3), (0.2, 5), (-0.3, 0.3), (0.5, 2))),
    "vonmises.pdf": (stats.vonmises.pdf, st.vonmises.pdf, ((-3, 3), (0.2, 5))),
    "wrapcauchy.logpdf": (stats.wrapcauchy.logpdf, st.wrapcauchy.logpdf,
                          ((0.5, 5.5), (0.1, 0.9), (-0.3, 0.3), (0.9, 1.1))),
    "gennorm.logpdf": (stats.gennorm.logpdf, st.gennorm.logpdf,
                       ((0.3, 2), (1.2, 4), (-0.2, 0.2), (0.5, 2))),
    **{f"gennorm.{f}": (lambda x, l, s, f=f: getattr(stats.gennorm, f)(x, 1.7, l, s),
                        lambda x, l, s, f=f: getattr(st.gennorm, f)(x, 1.7, l, s),
                        ((-2, 2), (-0.2, 0.2), (0.5, 2)))
       for f in ("cdf", "logcdf", "sf", "logsf")},
    **{f"truncnorm.{f}": (getattr(stats.truncnorm, f), getattr(st.truncnorm, f),
                          ((-0.5, 1.5), (-2, -1), (1.7, 3), (-0.2, 0.2), (0.8, 1.2)))
       for f in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")},
    "truncnorm.logpdf-far": (stats.truncnorm.logpdf, st.truncnorm.logpdf,
                             ((41, 44), (40, 40.5), (45, 46))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_derivatives_against_finite_differences(case):
    f, reference, domains = CASES[case]
    args = [rng.uniform(lo, hi, size=(2, 3) if k == 0 else (3,)) for k, (lo, hi) in enumerate(domains)]
    np.testing.assert_allclose(f(*args), reference(*args), rtol=1e-11)
    assert cr.gradcheck(f, *args, order=2)


def test_infinite_truncation_has_finite_gradients():
    """A half-infinite window (a half-normal): no 0 * inf from Φ(-inf) in the gradient."""
    g = cr.grad(lambda x, b, s: cnp.sum(stats.truncnorm.logpdf(x, -np.inf, b, 0.0, s)), (0, 1, 2))(
        np.array([-1.0, 0.5]), 1.0, 1.5)
    assert all(np.all(np.isfinite(v)) for v in g)
    ga = cr.grad(lambda a: stats.truncnorm.logcdf(0.5, a, np.inf))(-1.0)
    np.testing.assert_allclose(ga, (st.truncnorm.logcdf(0.5, -1.0 + 1e-6, np.inf)
                                    - st.truncnorm.logcdf(0.5, -1.0 - 1e-6, np.inf)) / 2e-6, rtol=1e-6)


@pytest.mark.parametrize("beta", [1.5, 3.0])
@pytest.mark.parametrize("fn", ["cdf", "logcdf", "sf", "logsf"])
def test_gennorm_distribution_functions_differentiate_at_the_centre(fn, beta):
    """At x = loc the derivative is the density (over the cdf, for the logarithms), not
    nan: central differences of SciPy's, both modes."""
    loc, scale, h = 0.5, 2.0, 1e-6
    ref = lambda v: getattr(st.gennorm, fn)(v, beta, loc, scale)  # noqa: E731
    want = (ref(loc + h) - ref(loc - h)) / (2 * h)
    f = lambda v: getattr(stats.gennorm, fn)(v, beta, loc, scale)  # noqa: E731
    np.testing.assert_allclose(cr.grad(f)(loc), want, rtol=1e-7)
    np.testing.assert_allclose(cr.jvp(f, (loc,), (1.0,))[1], want, rtol=1e-7)


def test_outside_the_support_gradient_is_zero():
    for f in (lambda x: stats.wrapcauchy.logpdf(x, 0.5), lambda x: stats.truncnorm.pdf(x, -1.0, 2.0)):
        g = cr.elementwise_grad(f)(np.array([-1.0, 1.0, 9.0]))
        assert np.all(np.isfinite(g)) and g[0] == 0 and g[2] == 0


# -- under vmap and grad, against JAX -------------------------------------------------------------
jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jst = pytest.importorskip("jax.scipy.stats")

# name: (function of (x, *params) in both libraries' modules, batched x, params)
VMAPPED = {
    "binom.logpmf": (lambda m, k, p: m.binom.logpmf(k, 6.0, p), np.array([0.0, 2, 6, 3]), (0.3,)),
    "nbinom.logpmf": (lambda m, k, n, p: m.nbinom.logpmf(k, n, p), np.array([0.0, 2, 6, 3]), (2.5, 0.4)),
    "betabinom.logpmf": (lambda m, k, a, b: m.betabinom.logpmf(k, 6.0, a, b), np.array([0.0, 2, 6, 3]),
                         (1.5, 0.7)),
    "vonmises.logpdf": (lambda m, x, k: m.vonmises.logpdf(x, k), np.array([-2.0, 0.1, 1.0, 3.0]), (2.0,)),
    "wrapcauchy.logpdf": (lambda m, x, c: m.wrapcauchy.logpdf(x, c), np.array([0.5, 1.0, 3.0, 6.0]), (0.4,)),
    "gennorm.logpdf": (lambda m, x, b: m.gennorm.logpdf(x, b), np.array([-2.0, 0.1, 1.0, 3.0]), (1.5,)),
    "truncnorm.logpdf": (lambda m, x, a, b: m.truncnorm.logpdf(x, a, b), np.array([-0.5, 0.1, 1.0, 1.9]),
                         (-1.0, 2.0)),
    "truncnorm.logcdf": (lambda m, x, a, b: m.truncnorm.logcdf(x, a, b), np.array([-0.5, 0.1, 1.0, 1.9]),
                         (-1.0, 2.0)),
    "multinomial.logpmf": (lambda m, x, p: m.multinomial.logpmf(x, 6, p),
                           np.array([[1, 2, 3], [0, 0, 6], [2, 2, 2], [6, 0, 0]]),  # JAX: integers
                           (np.array([0.2, 0.3, 0.5]),)),
}


@pytest.mark.parametrize("name", sorted(VMAPPED))
def test_vmap_and_grad_match_jax(name):
    f, xs, params = VMAPPED[name]
    ours = lambda *a: f(stats, *a)
    theirs = lambda *a: f(jst, *a)
    np.testing.assert_allclose(cr.vmap(ours, in_axes=(0, *[None] * len(params)))(xs, *params),
                               jax.vmap(theirs, in_axes=(0, *[None] * len(params)))(xs, *params),
                               rtol=1e-12)
    # one gradient in the parameters per example, and the parameters batched too
    argnums = tuple(range(1, 1 + len(params)))
    got = cr.vmap(cr.grad(ours, argnums), in_axes=(0, *[None] * len(params)))(xs, *params)
    want = jax.vmap(jax.grad(theirs, argnums), in_axes=(0, *[None] * len(params)))(xs, *params)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-10)
    batched = [np.stack([p * (1 + 0.1 * j) for j in range(len(xs))]) for p in params]
    if name == "multinomial.logpmf":
        batched = [b / b.sum(-1, keepdims=True) for b in batched]
    np.testing.assert_allclose(cr.vmap(ours)(xs, *batched), jax.vmap(theirs)(xs, *batched), rtol=1e-12)

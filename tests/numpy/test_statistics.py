"""Order statistics and covariances (chainrule/numpy/statistics.py): values equal NumPy's
over the calling forms and every quantile method, NaN and empty slices as NumPy has them;
derivatives against central finite differences to second order in both modes, against
jax.grad (ties included: the first of the tied values gets the derivative) and under
cr.vmap against jax.vmap."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = pytest.importorskip("jax.numpy")

rng = np.random.default_rng(7)

METHODS = ["linear", "lower", "higher", "midpoint", "nearest", "hazen", "weibull",
           "median_unbiased", "normal_unbiased", "inverted_cdf", "averaged_inverted_cdf",
           "closest_observation", "interpolated_inverted_cdf"]
JAX_METHODS = ["linear", "lower", "higher", "midpoint"]  # "nearest" rounds .5 differently
# (shape, keyword arguments) for every order statistic
FORMS = [
    ((7,), {}),
    ((6,), {"keepdims": True}),
    ((4, 5), {"axis": 0}),
    ((4, 6), {"axis": -1, "keepdims": True}),
    ((2, 3, 4), {"axis": (0, 2)}),
    ((2, 3, 4), {"axis": (2, 0), "keepdims": True}),
    ((2, 3, 4), {"axis": None, "keepdims": True}),
    ((1,), {}),
]
QS = [0.0, 0.3, 0.5, 1.0, np.array([0.1, 0.5, 0.97]), np.array(0.25),
      0, 1, np.float32(0.3), np.array([0.2, 0.7], np.float32)]  # the q's own dtype counts


def with_ties(shape):
    x = rng.normal(size=shape)
    flat = x.reshape(-1)
    if flat.size > 3:
        flat[1] = flat[3]  # a tie, so that the derivative's choice among tied values shows
    return x


def value(t):
    return t.primal() if isinstance(t, cr.Tensor) else t


def quiet(f, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return f(*args, **kwargs)


# -- values ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name,scale", [("quantile", 1), ("nanquantile", 1), ("percentile", 100),
                                        ("nanpercentile", 100)])
def test_q_as_a_list_holding_traced_values(name, scale):
    x, q = rng.normal(size=7), np.array([0.2, 0.65]) * scale
    f = getattr(cnp, name)
    call = lambda c: f(x, [c[0], c[1]])  # noqa: E731
    np.testing.assert_allclose(cr.vjp(call, q)[0], getattr(np, name)(x, q), rtol=1e-14)
    assert cr.gradcheck(call, q, order=1)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape,kw", FORMS)
@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
def test_quantile_values_equal_numpy(name, shape, kw, method):
    x = with_ties(shape)
    for q in QS:
        want = getattr(np, name)(x, q, method=method, **kw)
        got = cr.vjp(lambda a, q=q: getattr(cnp, name)(a, q, method=method, **kw), x)[0]
        assert type(got) is type(want)  # np.float64 where NumPy gives a scalar
        assert np.shape(got) == np.shape(want)
        np.testing.assert_array_equal(got, want)
        assert np.asarray(got).dtype == np.asarray(want).dtype


@pytest.mark.parametrize("shape,kw", FORMS)
@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_median_values_equal_numpy(name, shape, kw):
    x = with_ties(shape)
    for data in (x, x[..., :-1] if x.shape[-1] > 1 else x):  # odd and even counts
        want = getattr(np, name)(data, **kw)
        got = cr.vjp(lambda a: getattr(cnp, name)(a, **kw), data)[0]
        np.testing.assert_array_equal(got, want)
        assert type(got) is type(want)
        assert np.shape(got) == np.shape(want)


@pytest.mark.parametrize("name", ["percentile", "nanpercentile"])
def test_percentile_is_quantile_of_q_over_100(name):
    x = with_ties((5, 6))
    for q in (0, 37.5, 100, [5, 50, 95], np.array([12.0, 88.0])):
        want = getattr(np, name)(x, q, axis=1)
        np.testing.assert_array_equal(value(getattr(cnp, name)(cr.tensor(x), q, axis=1)), want)


@pytest.mark.parametrize("name", ["quantile", "nanquantile", "median", "nanmedian"])
def test_float32_keeps_float32_as_numpy_does(name):
    x = rng.normal(size=(4, 5)).astype(np.float32)
    args = () if "median" in name else (0.3,)
    want = getattr(np, name)(x, *args, axis=0)
    got = value(getattr(cnp, name)(cr.tensor(x), *args, axis=0))
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-6)
    g = cr.grad(lambda a: cnp.sum(getattr(cnp, name)(a, *args, axis=0)))(x)
    assert g.dtype == np.float32


@pytest.mark.parametrize("name,args", [("median", ()), ("quantile", (0.4,)), ("percentile", (40,))])
def test_nan_propagates_and_nan_forms_skip_it(name, args):
    x = rng.normal(size=(3, 5))
    x[0, 2] = np.nan
    x[2, :] = np.nan
    want = quiet(getattr(np, name), x, *args, axis=1)
    np.testing.assert_array_equal(value(getattr(cnp, name)(cr.tensor(x), *args, axis=1)), want)
    np_nan, cnp_nan = getattr(np, "nan" + name), getattr(cnp, "nan" + name)
    want = quiet(np_nan, x, *args, axis=1)
    with pytest.warns(RuntimeWarning, match="All-NaN slice"):
        got = cnp_nan(cr.tensor(x), *args, axis=1)
    np.testing.assert_array_equal(value(got), want)
    # NaN entries get no derivative; the slices with values get NumPy's weights
    g = quiet(cr.grad(lambda a: cnp.sum(cnp_nan(a, *args, axis=1)[:2])), x)
    assert np.all(g[np.isnan(x)] == 0)

    def f(a):
        return np.sum(np_nan(np.where(np.isnan(x), np.nan, a), *args, axis=1)[:2])

    fd_x = np.where(np.isnan(x), 0.0, x)
    for i, j in [(0, 0), (1, 3)]:
        e = np.zeros_like(x)
        e[i, j] = 1e-6
        assert g[i, j] == pytest.approx((quiet(f, fd_x + e) - quiet(f, fd_x - e)) / 2e-6, abs=1e-7)


def test_infinities_as_numpy():
    x = np.array([1.0, np.inf, -np.inf, 2.0, np.inf])
    for q in (0.0, 0.5, 0.9, 1.0):
        np.testing.assert_array_equal(
            value(cnp.quantile(cr.tensor(x), q)), quiet(np.quantile, x, q))
    np.testing.assert_array_equal(value(cnp.median(cr.tensor(x[:4]))), np.median(x[:4]))


@pytest.mark.parametrize("name,args", [("median", ()), ("nanmedian", ()), ("quantile", (0.5,)),
                                       ("nanquantile", (0.5,)), ("nanquantile", ([0.2, 0.9],)),
                                       ("nanpercentile", (30,))])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("shape", [(3, 0), (0, 3)])
def test_empty_as_numpy(name, args, axis, shape):
    # NumPy's median of nothing is the mean of nothing: NaN (sign bit and all) with a
    # warning; the nan* forms of an empty array return nanmean's NaN whatever q's shape;
    # quantile of an empty slice raises; no slice at all gives an empty result
    x = np.zeros(shape)
    try:
        want = quiet(getattr(np, name), x, *args, axis=axis)
    except IndexError:
        with pytest.raises(IndexError):
            getattr(cnp, name)(cr.tensor(x), *args, axis=axis)
        return
    f = lambda a: getattr(cnp, name)(a, *args, axis=axis)  # noqa: E731
    if np.size(want):
        with pytest.warns(RuntimeWarning):
            got = cr.vjp(f, x)[0]
    else:
        got = cr.vjp(f, x)[0]
    assert type(got) is type(want) and np.shape(got) == np.shape(want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    np.testing.assert_array_equal(got, want)


def test_plain_arrays_run_numpys_function():
    x = rng.normal(size=(4, 5))
    out = np.empty(5)
    assert cnp.quantile(x, 0.3, axis=0, out=out) is out
    assert np.array_equal(cnp.median(x), np.median(x))


@pytest.mark.parametrize("call,error,match", [
    (lambda t: cnp.quantile(t, 1.5), ValueError, r"range \[0, 1\]"),
    (lambda t: cnp.percentile(t, -1), ValueError, r"range \[0, 100\]"),
    (lambda t: cnp.quantile(t, 0.5, method="cubic"), ValueError, "not a valid method"),
    (lambda t: cnp.quantile(t, 0.5, weights=np.ones(5)), NotImplementedError, "weights"),
    (lambda t: cnp.median(t, out=np.empty(())), TypeError, "out="),
    (lambda t: cnp.quantile(t + 1j, 0.5), TypeError, "real numbers"),
    (lambda t: cnp.quantile(t, np.full((2, 2, 2), 0.5)), ValueError, "scalar or 1d"),
])
def test_errors_name_the_problem(call, error, match):
    with pytest.raises(error, match=match):
        call(cr.tensor(rng.normal(size=5)))


# -- derivatives ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape,kw", FORMS[:-1])
@pytest.mark.parametrize("name,args", [
    ("median", ()), ("nanmedian", ()), ("quantile", (np.array([0.2, 0.5]),)),
    ("nanquantile", (0.7,)), ("percentile", (33.0,)), ("nanpercentile", (np.array([10.0, 90.0]),)),
])
def test_gradcheck_second_order(name, args, shape, kw):
    x = rng.normal(size=shape)  # distinct values: the function is smooth there
    f = getattr(cnp, name)
    assert cr.gradcheck(lambda a: f(a, *args, **kw), x, order=2)


@pytest.mark.parametrize("method", ["hazen", "weibull", "median_unbiased", "normal_unbiased",
                                    "interpolated_inverted_cdf", "averaged_inverted_cdf",
                                    "inverted_cdf", "closest_observation", "nearest"])
def test_gradcheck_every_method(method):
    x = rng.normal(size=(3, 7))
    assert cr.gradcheck(lambda a: cnp.quantile(a, np.array([0.15, 0.5, 0.8]), axis=1,
                                               method=method), x, order=2)


@pytest.mark.parametrize("shape,kw", FORMS[:-1])
@pytest.mark.parametrize("method", JAX_METHODS)
def test_grad_equals_jax_with_ties(shape, kw, method):
    x = with_ties(shape)
    q = np.array([0.0, 0.35, 0.5, 1.0])
    want = jax.grad(lambda a: jnp.sum(jnp.sin(jnp.quantile(a, q, method=method, **kw))))(x)
    got = cr.grad(lambda a: cnp.sum(cnp.sin(cnp.quantile(a, q, method=method, **kw))))(x)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape,kw", FORMS[:-1])
def test_median_grad_equals_jax_with_ties(shape, kw):
    x = with_ties(shape)
    want = jax.grad(lambda a: jnp.sum(jnp.cos(jnp.median(a, **kw))))(x)
    got = cr.grad(lambda a: cnp.sum(cnp.cos(cnp.median(a, **kw))))(x)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_all_tied_median_gradient_goes_to_one_entry_as_in_jax():
    for x in (np.ones(5), np.ones(4), np.array([2.0, 1.0, 2.0, 2.0, 0.0])):
        want = jax.grad(jnp.median)(x)
        np.testing.assert_array_equal(cr.grad(cnp.median)(x), want)


@pytest.mark.parametrize("f", [
    lambda L, a: L.median(a, axis=1),
    lambda L, a: L.quantile(a, np.array([0.3, 0.9]), axis=0),
    lambda L, a: L.percentile(a, 75.0),
])
def test_forward_mode_equals_jax(f):
    x, t = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    got = cr.jvp(lambda a: f(cnp, a), (x,), (t,))[1]
    want = jax.jvp(lambda a: f(jnp, a), (x,), (t,))[1]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("f", [lambda L, x, q: L.quantile(x, q), lambda L, x, q: L.percentile(x, 100 * q)])
def test_gradient_with_respect_to_q(f):
    x = rng.normal(size=8)
    got = cr.grad(lambda q: f(cnp, x, q))(0.37)
    want = jax.grad(lambda q: f(jnp, x, q))(0.37)
    assert got == pytest.approx(float(want), abs=1e-12)


# -- cov and corrcoef -----------------------------------------------------------------------
COV_FORMS = [
    ((3, 6), {}),
    ((6,), {}),
    ((6, 3), {"rowvar": False}),
    ((6, 1), {"rowvar": False}),
    ((3, 6), {"bias": True}),
    ((3, 6), {"ddof": 2}),
    ((3, 6), {"fweights": np.array([1, 2, 1, 3, 1, 2])}),
    ((3, 6), {"aweights": np.array([0.5, 1.0, 2.0, 0.1, 1.0, 3.0])}),
    ((3, 6), {"aweights": np.array([0.5, 1.0, 2.0, 0.1, 1.0, 3.0]), "fweights": np.arange(1, 7), "ddof": 1}),
]


@pytest.mark.parametrize("shape,kw", COV_FORMS)
def test_cov_values_and_gradients(shape, kw):
    x = rng.normal(size=shape)
    np.testing.assert_allclose(value(cnp.cov(cr.tensor(x), **kw)), np.cov(x, **kw), rtol=1e-13, atol=1e-15)
    assert cr.gradcheck(lambda a: cnp.cov(a, **kw), x, order=2)
    jkw = {k: (jnp.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    want = jax.grad(lambda a: jnp.sum(jnp.sin(jnp.cov(a, **jkw))))(x)
    np.testing.assert_allclose(cr.grad(lambda a: cnp.sum(cnp.sin(cnp.cov(a, **kw))))(x), want, atol=1e-12)


def test_cov_of_two_arguments_and_in_the_weights():
    x, y, w = rng.normal(size=(2, 5)), rng.normal(size=5), rng.uniform(0.5, 2, size=5)
    np.testing.assert_allclose(value(cnp.cov(cr.tensor(x), cr.tensor(y))), np.cov(x, y), rtol=1e-13)
    assert cr.gradcheck(lambda a, b: cnp.cov(a, b), x, y, order=2)
    assert cr.gradcheck(lambda w: cnp.cov(x, aweights=w), w, order=2)
    want = jax.grad(lambda w: jnp.sum(jnp.cov(x, aweights=w, ddof=1) ** 2))(w)
    np.testing.assert_allclose(cr.grad(lambda w: cnp.sum(cnp.cov(x, aweights=w, ddof=1) ** 2))(w), want, atol=1e-12)


def test_cov_errors_and_edge_cases():
    t = cr.tensor(rng.normal(size=(3, 4)))
    with pytest.raises(ValueError, match="more than 2 dimensions"):
        cnp.cov(cr.tensor(np.zeros((2, 2, 2))))
    with pytest.raises(TypeError, match="fweights must be integer"):
        cnp.cov(t, fweights=np.array([1.5, 1, 1, 1]))
    with pytest.raises(RuntimeError, match="incompatible numbers of samples and aweights"):
        cnp.cov(t, aweights=np.ones(3))
    with pytest.raises(ValueError, match="ddof must be integer"):
        cnp.cov(t, ddof=1.5)
    with pytest.warns(RuntimeWarning, match="Degrees of freedom"):
        got = cnp.cov(cr.tensor(np.ones((2, 1))))
    np.testing.assert_array_equal(value(got), quiet(np.cov, np.ones((2, 1))))


@pytest.mark.parametrize("shape,kw", [((3, 6), {}), ((6, 3), {"rowvar": False}), ((6,), {})])
def test_corrcoef_values_and_gradients(shape, kw):
    x = rng.normal(size=shape)
    np.testing.assert_allclose(value(cnp.corrcoef(cr.tensor(x), **kw)), np.corrcoef(x, **kw), rtol=1e-13)
    if len(shape) == 2:
        off = ~np.eye(3, dtype=bool)  # the diagonal is 1: constant, clipped
        assert cr.gradcheck(lambda a: cnp.corrcoef(a, **kw)[off], x, order=2)
        want = jax.grad(lambda a: jnp.sum(jnp.corrcoef(a, **kw)[off] ** 3))(x)
        got = cr.grad(lambda a: cnp.sum(cnp.corrcoef(a, **kw)[off] ** 3))(x)
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_corrcoef_of_two_vectors_complex_and_scalar():
    x, y = rng.normal(size=6), rng.normal(size=6)
    np.testing.assert_allclose(value(cnp.corrcoef(cr.tensor(x), y)), np.corrcoef(x, y), rtol=1e-13)
    z = x + 1j * y
    np.testing.assert_allclose(value(cnp.corrcoef(cr.tensor(np.stack([z, x])))),
                               np.corrcoef(np.stack([z, x])), rtol=1e-13)
    assert cr.gradcheck(lambda a: cnp.corrcoef(a, y)[0, 1], x, order=2)


# -- under vmap -----------------------------------------------------------------------------
VMAPPED = [
    ("median", lambda L, a: L.median(a, axis=0)),
    ("quantile", lambda L, a: L.quantile(a, np.array([0.25, 0.9]), axis=1, keepdims=True)),
    ("percentile", lambda L, a: L.percentile(a, 40.0, method="midpoint")),
    ("nanquantile", lambda L, a: L.nanquantile(a, 0.3, axis=0)),
    ("nanmedian", lambda L, a: L.nanmedian(a, axis=-1)),
    ("cov", lambda L, a: L.cov(a)),
    ("corrcoef", lambda L, a: L.corrcoef(a, rowvar=False)),
]


@pytest.mark.parametrize("in_axes", [0, 1, -1])
@pytest.mark.parametrize("name,f", VMAPPED)
def test_vmap_and_vmap_of_grad_equal_jax(name, f, in_axes):
    x = with_ties((4, 4, 5))
    if name.startswith("nan"):
        x[1, 2, 3] = x[0, 0, 0] = np.nan
    np.testing.assert_allclose(
        cr.vmap(lambda a: f(cnp, a), in_axes=in_axes)(x),
        jax.vmap(lambda a: f(jnp, a), in_axes=in_axes)(x), rtol=0, atol=1e-12)
    loss_cr = lambda a: cnp.sum(cnp.sin(f(cnp, a)))  # noqa: E731
    loss_jax = lambda a: jnp.sum(jnp.sin(f(jnp, a)))  # noqa: E731
    np.testing.assert_allclose(
        cr.vmap(cr.grad(loss_cr), in_axes=in_axes)(x),
        jax.vmap(jax.grad(loss_jax), in_axes=in_axes)(x), rtol=0, atol=1e-12)


# -- bincount ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("x,kw", [
    (np.array([0, 2, 2, 5]), {}), (np.array([1, 1]), {"minlength": 4}), (np.zeros(0, int), {}),
])
def test_bincount_values_and_weights_gradient(x, kw):
    w = np.linspace(0.5, 2.0, x.size)
    np.testing.assert_array_equal(cnp.bincount(cr.tensor(x), **kw), np.bincount(x, **kw))
    np.testing.assert_allclose(cnp.bincount(x, cr.tensor(w), **kw).numpy(), np.bincount(x, w, **kw))
    if x.size:
        assert cr.gradcheck(lambda w: cnp.bincount(x, w, **kw) ** 2, w, order=2)


def test_bincount_length_and_vmap():
    k = np.array([[0, 3, 3, 1], [4, 4, 0, 0]])
    w = np.arange(8.0).reshape(2, 4)
    got = cr.vmap(lambda k, w: cnp.bincount(k, w, length=4))(k, w)
    np.testing.assert_array_equal(got, [[0.0, 3.0, 0.0, 3.0], [13.0, 0.0, 0.0, 0.0]])  # 4 dropped
    np.testing.assert_array_equal(cr.vmap(lambda k: cnp.bincount(k, length=2))(k), [[1, 1], [2, 0]])
    with pytest.raises(TypeError, match="length=n"):
        cr.vmap(cnp.bincount)(k)


def test_histogram_refuses_weights_being_differentiated():
    a = np.array([0.0, 1.0, 2.0])
    with pytest.raises(NotImplementedError, match="histogram: weights= is not differentiable"):
        cr.grad(lambda w: cnp.sum(cnp.histogram(a, bins=2, weights=w)[0]))(np.ones(3))
    # values alone (an eager Tensor, a batch under vmap) are NumPy's
    np.testing.assert_array_equal(cnp.histogram(a, bins=2, weights=cr.tensor(np.ones(3)))[0], [1.0, 2.0])
    got = cr.vmap(lambda w: cnp.histogram(a, bins=2, weights=w)[0])(np.array([[1.0, 1, 1], [0, 2, 0]]))
    np.testing.assert_array_equal(got, [[1.0, 2.0], [0.0, 2.0]])


@pytest.mark.parametrize("q", [30, np.float64(30), [30]])
def test_percentile_under_vmap_of_rows_some_holding_nan_equals_numpy_row_by_row(q):
    # a scalar percentile of a row with NaN is that NaN (in the data's dtype); the rows
    # without NaN keep their own percentile
    a = np.array([[1.5, np.nan, 2.0], [1.0, 2.0, 3.0], [np.nan, 1.0, 2.0]], np.float16)
    got = np.asarray(cr.vmap(lambda r: cnp.percentile(r, q))(a), dtype=np.float64)
    want = np.array([np.percentile(r, q) for r in a], dtype=np.float64)
    np.testing.assert_array_equal(got, want)

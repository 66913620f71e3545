"""Every reduction: both modes against finite differences, to second order, over the
calling forms NumPy accepts (axis None/int/negative/tuple, keepdims, ddof, where=,
initial=, dtype=); ties, zeros and NaN handled as documented; gradients shaped and typed
like the input."""

import fractions
import math
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

rng = np.random.default_rng(0)

# (shape, keyword arguments): the calling forms every axis-reduction is checked on
AXIS_FORMS = [
    ((), {}),
    ((5,), {}),
    ((5,), {"axis": 0, "keepdims": True}),
    ((3, 4), {"axis": 0}),
    ((3, 4), {"axis": -1, "keepdims": True}),
    ((2, 3, 4), {"axis": (0, 2)}),
    ((2, 3, 4), {"axis": (-1, 0), "keepdims": True}),
    ((2, 3, 4), {"axis": None, "keepdims": True}),
]
CUMULATIVE_FORMS = [
    ((), {}),
    ((), {"axis": 0}),  # NumPy reads a 0-d input as one entry along any axis: shape (1,)
    ((), {"axis": -1}),
    ((5,), {}),
    ((3, 4), {}),
    ((3, 4), {"axis": 0}),
    ((2, 3, 4), {"axis": -2}),
]
# name: (calling forms, extra keyword arguments, input sampler)
REDUCTIONS = {
    "sum": (AXIS_FORMS, {}, "normal"),
    "mean": (AXIS_FORMS, {}, "normal"),
    "prod": (AXIS_FORMS, {}, "away_from_zero"),
    "max": (AXIS_FORMS, {}, "normal"),
    "min": (AXIS_FORMS, {}, "normal"),
    "amax": (AXIS_FORMS, {}, "normal"),
    "amin": (AXIS_FORMS, {}, "normal"),
    "ptp": (AXIS_FORMS[1:], {}, "normal"),
    "var": (AXIS_FORMS, {}, "normal"),
    "std": (AXIS_FORMS[1:], {}, "normal"),  # std of one entry is 0: not differentiable
    "nansum": (AXIS_FORMS, {}, "normal"),
    "nanmean": (AXIS_FORMS, {}, "normal"),
    "nanprod": (AXIS_FORMS, {}, "away_from_zero"),
    "nanmax": (AXIS_FORMS, {}, "normal"),
    "nanmin": (AXIS_FORMS, {}, "normal"),
    "nanvar": (AXIS_FORMS, {}, "normal"),
    "nanstd": (AXIS_FORMS[1:], {}, "normal"),
    "cumsum": (CUMULATIVE_FORMS, {}, "normal"),
    "cumprod": (CUMULATIVE_FORMS, {}, "away_from_zero"),
    "nancumsum": (CUMULATIVE_FORMS, {}, "normal"),
    "nancumprod": (CUMULATIVE_FORMS, {}, "away_from_zero"),
}
DDOF_FORMS = [
    ((6,), {"ddof": 1}),
    ((3, 4), {"axis": 1, "ddof": 2}),
    ((2, 3, 4), {"axis": (0, 1), "correction": 1}),
]


def sample(shape, kind, dtype=np.float64):
    x = rng.standard_normal(shape)
    if kind == "away_from_zero":
        x = np.sign(x) * rng.uniform(0.5, 1.5, shape)
    return np.asarray(x, dtype=dtype)


CASES = [
    pytest.param(name, shape, kwargs, id=f"{name}-{shape}-{kwargs}")
    for name, (forms, extra, _) in REDUCTIONS.items()
    for shape, kwargs in forms
] + [
    pytest.param(name, shape, kwargs, id=f"{name}-{shape}-{kwargs}")
    for name in ("var", "std", "nanvar", "nanstd")
    for shape, kwargs in DDOF_FORMS
]


@pytest.mark.parametrize(("name", "shape", "kwargs"), CASES)
def test_gradcheck_second_order(name, shape, kwargs):
    x = sample(shape, REDUCTIONS[name][2])
    f = getattr(cnp, name)
    assert cr.gradcheck(lambda a: f(a, **kwargs), x, order=2)


@pytest.mark.parametrize(("name", "shape", "kwargs"), CASES)
def test_value_and_gradient_shape(name, shape, kwargs):
    x = sample(shape, REDUCTIONS[name][2])
    f = getattr(cnp, name)
    out, pull = cr.vjp(lambda a: f(a, **kwargs), x)
    np.testing.assert_allclose(out, getattr(np, name)(x, **kwargs), rtol=1e-12)
    g = pull(np.ones_like(out))[0]
    assert np.shape(g) == x.shape and np.result_type(g) == np.float64


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_float32_preserved(name):
    x = sample((3, 4), REDUCTIONS[name][2], np.float32)
    f = getattr(cnp, name)
    g = cr.grad(lambda a: cnp.sum(f(a, axis=1)))(x)
    assert g.dtype == np.float32 and g.shape == x.shape
    t = cr.jvp(lambda a: f(a, axis=1), (x,), (np.ones_like(x),))[1]
    assert t.dtype == np.float32


@pytest.mark.parametrize(
    "name", ["sum", "mean", "prod", "var", "std", "cumsum", "cumprod", "nansum"]
)
def test_dtype_argument_gives_input_dtype_gradient(name):
    x = sample((3, 4), "away_from_zero", np.float32)
    f = getattr(cnp, name)
    g = cr.grad(lambda a: cnp.sum(f(a, axis=0, dtype=np.float64)))(x)
    assert g.dtype == np.float32
    ref = cr.grad(lambda a: cnp.sum(f(a, axis=0)))(x.astype(np.float64))
    np.testing.assert_allclose(g, ref, rtol=1e-5, atol=1e-6)


# -- where=, initial=, ddof and complex inputs ---------------------------------------------
MASK = np.array([[True, False, True, True], [False, True, True, True], [True, True, False, True]])


WHERE_CALLS = [
    lambda a: cnp.sum(a, axis=1, where=MASK),
    lambda a: cnp.sum(a, where=MASK[0], keepdims=True),
    lambda a: cnp.mean(a, axis=0, where=MASK),
    lambda a: cnp.mean(a, where=MASK),
    lambda a: cnp.prod(a, axis=1, where=MASK),
    lambda a: cnp.max(a, axis=1, where=MASK, initial=-10.0),
    lambda a: cnp.min(a, axis=0, where=MASK, initial=10.0, keepdims=True),
    lambda a: cnp.var(a, axis=1, where=MASK),
    lambda a: cnp.std(a, axis=1, where=MASK, ddof=1),
    lambda a: cnp.nansum(a, axis=1, where=MASK),
    lambda a: cnp.nanmean(a, axis=1, where=MASK),
]


@pytest.mark.parametrize(
    "call",
    WHERE_CALLS,
    ids=["sum", "sum-row-mask", "mean-axis", "mean", "prod", "max", "min", "var", "std-ddof",
         "nansum", "nanmean"],
)
def test_where_mask(call):
    x = sample((3, 4), "away_from_zero")
    assert cr.gradcheck(call, x, order=2)
    g = cr.grad(lambda a: cnp.sum(call(a)))(x)
    left_out = ~MASK[0] if call is WHERE_CALLS[1] else ~MASK
    assert np.all(g[np.broadcast_to(left_out, x.shape)] == 0)


# NumPy 2's mean=: var and std about a given mean. An array is held constant (the derivative
# of mean((x - c)**2) is 2 (x - c) / N, not x's own deviations); a traced mean differentiates.
MEAN_CALLS = {
    "var-zero": lambda a, m: cnp.var(a, mean=np.zeros(1)),
    "std-const-axis": lambda a, m: cnp.std(a, axis=1, ddof=1, mean=np.full((3, 1), 0.3), keepdims=True),
    "var-traced": lambda a, m: cnp.var(a, axis=0, mean=m),
    "std-traced-where": lambda a, m: cnp.std(a, 1, None, None, 1, mean=cnp.sum(a, 1, keepdims=True) / 4,
                                             where=MASK),
    "var-correction": lambda a, m: cnp.var(a, correction=1, mean=cnp.mean(a) * 0.5),
}


@pytest.mark.parametrize("name", list(MEAN_CALLS))
def test_var_and_std_about_a_given_mean(name):
    call = MEAN_CALLS[name]
    x, m = sample((3, 4), "normal"), sample((1, 4), "normal")
    want = call(x, m)  # plain arrays: NumPy's own
    np.testing.assert_allclose(cr.vjp(call, x, m)[0], want, rtol=1e-15)
    assert cr.gradcheck(call, x, m, order=2)
    c = np.zeros(1)  # against the closed form: d/dx mean(x**2) = 2 x / N
    np.testing.assert_allclose(cr.grad(lambda a: cnp.var(a, mean=c))(x), 2 * x / x.size, rtol=1e-15)


# A plain x with a traced mean= (the mean is all that is differentiated): it recursed.
PLAIN_X_CALLS = {
    "var": lambda x, m: cnp.var(x, mean=m),
    "std": lambda x, m: cnp.std(x, mean=m),
    "var-axis-keepdims": lambda x, m: cnp.var(x, axis=1, mean=m, keepdims=True),
    "std-axis0-ddof": lambda x, m: cnp.std(x, axis=0, ddof=1, mean=m[:1].T),
    "var-where": lambda x, m: cnp.var(x, axis=1, mean=m, where=MASK),
}


@pytest.mark.parametrize("name", list(PLAIN_X_CALLS))
def test_var_and_std_of_a_plain_array_about_a_traced_mean(name):
    call = PLAIN_X_CALLS[name]
    x, m = sample((3, 4), "normal"), sample((3, 1), "normal")
    np.testing.assert_allclose(cr.vjp(lambda c: call(x, c), m)[0], call(x, m), rtol=1e-15)
    assert cr.gradcheck(lambda c: call(x, c), m, order=2)


def test_traced_where_of_a_plain_array():
    """A where= mask that vmap batches: each example's own (the loop's answer); one that
    only chainrule.jit traces is refused with what to do."""
    x = sample((3, 4), "normal")
    masks = np.stack([MASK, ~MASK])
    np.testing.assert_allclose(cr.vmap(lambda w: cnp.var(x, axis=1, where=w))(masks),
                               [np.var(x, axis=1, where=w) for w in masks], rtol=1e-13)
    with pytest.raises(TypeError, match="where= is traced"):
        cr.jit(lambda w: cnp.var(x, axis=1, where=w))(MASK)


# An infinite entry: ans / x is inf / inf; its derivative is the (finite) product of the others.
INFINITE_ENTRIES = [[np.inf, 2.0, 3.0], [2.0, -np.inf, 0.5], [2.0, 3.0, np.inf], [np.inf, 0.0, 1.0],
                    [-np.inf, np.inf, 2.0]]


@pytest.mark.parametrize("x", INFINITE_ENTRIES, ids=str)
def test_products_with_an_infinite_entry(x):
    x, w = np.array(x), np.array([1.0, 2.0, 3.0])
    others = np.array([np.prod(np.delete(x, i)) for i in range(3)])
    # d/dx_i sum_k w_k prod_{j <= k} x_j = sum_{k >= i} w_k prod_{j <= k, j != i} x_j
    scan = np.array([sum(w[k] * np.prod(np.delete(x[:k + 1], i)) for k in range(i, 3)) for i in range(3)])
    for f, want in ((cnp.prod, others), (lambda a: cnp.sum(cnp.cumprod(a) * w), scan)):
        np.testing.assert_array_equal(cr.grad(f)(x), want)


def test_where_leaves_out_nan():
    x = np.array([[1.0, np.nan, 2.0], [3.0, 4.0, 0.5]])
    mask = ~np.isnan(x)
    for f in (cnp.sum, cnp.mean, cnp.var, cnp.std, cnp.prod, cnp.max):
        kw = {"initial": -np.inf} if f is cnp.max else {}
        def loss(a, f=f, kw=kw):
            return cnp.sum(f(a, axis=1, where=mask, **kw) ** 2)

        g = cr.grad(loss)(x)
        assert np.all(np.isfinite(g)) and g[0, 1] == 0
        h = cr.grad(lambda a, loss=loss: cnp.sum(cr.grad(loss)(a)))(x)
        assert np.all(np.isfinite(h)), f


@pytest.mark.parametrize(
    "call",
    [
        lambda a: cnp.sum(a, axis=0, initial=2.0),
        lambda a: cnp.prod(a, axis=1, initial=3.0),
        lambda a: cnp.max(a, axis=1, initial=0.0),  # initial beats some rows: gradient 0 there
        lambda a: cnp.nansum(a, initial=1.0),
    ],
    ids=["sum", "prod", "max", "nansum"],
)
def test_initial(call):
    x = sample((3, 4), "away_from_zero")
    x[1] = -np.abs(x[1])
    assert cr.gradcheck(call, x, order=2)


def test_max_initial_above_every_entry_gives_zero_gradient():
    x = np.array([[1.0, 2.0], [6.0, 3.0]])
    g = cr.grad(lambda a: cnp.sum(cnp.max(a, axis=1, initial=5.0)))(x)
    np.testing.assert_array_equal(g, [[0.0, 0.0], [1.0, 0.0]])


@pytest.mark.parametrize(
    "name", ["sum", "mean", "prod", "var", "std", "cumsum", "cumprod", "average"]
)
def test_complex(name):
    z = sample((3, 4), "away_from_zero") + 1j * sample((3, 4), "away_from_zero")
    assert cr.gradcheck(lambda a: getattr(cnp, name)(a, axis=1), z, order=2)


def test_complex_var_follows_autograd():
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    z = sample((5,), "normal") + 1j * sample((5,), "normal")
    for name in ("var", "std"):
        np.testing.assert_allclose(
            cr.grad(getattr(cnp, name))(z), autograd.grad(getattr(anp, name))(z), rtol=1e-12
        )


# -- max and min: ties ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["max", "amax", "nanmax"])
def test_max_splits_ties_evenly(name):
    f = getattr(cnp, name)
    x = np.array([1.0, 3.0, 3.0, 2.0])
    np.testing.assert_array_equal(cr.grad(f)(x), [0.0, 0.5, 0.5, 0.0])
    assert cr.jvp(f, (x,), (np.array([5.0, 1.0, 2.0, 7.0]),))[1] == 1.5
    y = np.array([[2.0, 2.0, 2.0], [1.0, 4.0, 0.0]])
    g = cr.grad(lambda a: cnp.sum(f(a, axis=1, keepdims=True) * np.array([[3.0], [1.0]])))(y)
    np.testing.assert_allclose(g, [[1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])


def test_min_and_ptp_ties():
    x = np.array([[0.0, 0.0, 1.0, 1.0]])
    g = cr.grad(lambda a: cnp.sum(cnp.min(a, axis=1)))(x)
    np.testing.assert_array_equal(g, [[0.5, 0.5, 0, 0]])
    np.testing.assert_array_equal(cr.grad(cnp.ptp)(x), [[-0.5, -0.5, 0.5, 0.5]])


def test_ties_match_torch_amax():
    torch = pytest.importorskip("torch")
    x = rng.integers(0, 3, size=(4, 5)).astype(np.float64)  # many ties
    w = rng.standard_normal(5)
    g = cr.grad(lambda a: cnp.sum(cnp.max(a, axis=0) * w))(x)
    xt = torch.tensor(x, requires_grad=True)
    (torch.amax(xt, dim=0) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(g, xt.grad.numpy(), rtol=1e-12)


NAN_ROWS = np.array([[1.0, 5.0, 5.0], [np.nan, 2.0, 2.0], [4.0, 4.0, 1.0]])


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin"])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_extremum_of_nan_and_ties_agrees_with_autograd(name, axis, keepdims):
    """NaN is the extremum of a reduction that holds one, and no entry attains it: the
    derivative is 0/0 over that reduction (NaN), as in autograd and JAX; ties split."""
    anp = pytest.importorskip("autograd.numpy")
    autograd = pytest.importorskip("autograd")
    w = np.arange(1.0, 10.0).reshape(3, 3)

    def program(np_, x):
        r = getattr(np_, name)(x, axis=axis, keepdims=keepdims)
        return np_.sum(r ** 2 * np_.sum(w))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ours = cr.grad(lambda x: program(cnp, x))(NAN_ROWS)
        theirs = autograd.grad(lambda x: program(anp, x))(NAN_ROWS)
        fwd = cr.jvp(lambda x: program(cnp, x), (NAN_ROWS,), (w,))[1]
    np.testing.assert_array_equal(ours, theirs)
    # the row (or column) with the NaN is NaN throughout, and only it
    nan_slices = np.isnan(getattr(np, name)(NAN_ROWS, axis=axis, keepdims=True))
    np.testing.assert_array_equal(np.isnan(ours), np.broadcast_to(nan_slices, NAN_ROWS.shape))
    assert np.isnan(fwd)


def test_nanmax_of_all_nan_shares_the_derivative_and_skips_nan_otherwise():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        g = cr.grad(lambda x: cnp.sum(cnp.nanmax(x, axis=1)))(np.array([[np.nan, np.nan], [np.nan, 3.0]]))
    np.testing.assert_array_equal(g, [[0.5, 0.5], [0.0, 1.0]])


# -- initial= ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "amax", "amin", "nansum", "nanprod",
                                  "nanmax", "nanmin"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_traced_initial_is_differentiated(name, axis):
    """initial= given a value being differentiated: NumPy takes a number only, so the
    reduction is combined with it (sum: +, prod: *, max: maximum, min: minimum)."""
    x = np.array([[1.0, 5.0, -2.0], [3.0, 0.5, 4.0]])
    f = getattr(cnp, name)

    def program(x, i):
        return cnp.sum(f(x * 1.5 * i, axis=axis, initial=i) ** 2)

    for i in (2.0, -3.0, 0.25):
        plain = cr.grad(lambda x, i=i: program(x, i))(x)  # initial= a number: NumPy's own
        both = cr.grad(program, argnums=(0, 1))(x, i)
        np.testing.assert_allclose(both[0], plain, rtol=1e-13)
        assert cr.gradcheck(program, x, i)
    assert f(x, axis=axis, initial=2.0).shape == getattr(np, name)(x, axis=axis, initial=2.0).shape


@pytest.mark.parametrize("name, initial, expected", [("max", 7.5, 1.0), ("min", -7.5, 1.0), ("max", -7.5, 0.0),
                                                       ("sum", 2.0, 1.0), ("prod", 2.0, 0.0)])
def test_traced_initial_with_integer_and_empty_arrays(name, initial, expected):
    f = getattr(cnp, name)
    assert cr.grad(lambda i: f(np.zeros(0), initial=i))(initial) == 1.0
    assert cr.grad(lambda i: f(np.arange(3), initial=i))(initial) == expected
    # promoted to the initial value's float type (NumPy casts it to the integers)
    assert f(np.arange(3), initial=cr.tensor(initial)).item() == getattr(np, name)(np.arange(3.0), initial=initial)


def test_initial_above_every_entry_leaves_them_no_derivative():
    """autograd gives NaN here (0/0: no entry attains the maximum); the derivative is 0."""
    x = np.array([[1.0, 5.0, -2.0], [3.0, 0.5, 4.0]])
    for axis in (None, 0, 1):
        np.testing.assert_array_equal(cr.grad(lambda x, a=axis: cnp.sum(cnp.max(x, axis=a, initial=10.0)))(x), 0)


# -- prod and cumprod: zeros ------------------------------------------------------------------
def products_of_others(x):
    return np.array([np.prod(np.delete(x, i)) for i in range(x.size)])


@pytest.mark.parametrize("x", [[0.0, 2.0, 3.0, -1.5], [2.0, 0.0, 0.0, 4.0], [0.0, 0.0, 0.0, 0.0]])
def test_prod_with_zeros(x):
    x = np.array(x)
    np.testing.assert_array_equal(cr.grad(cnp.prod)(x), products_of_others(x))
    n = x.size
    exact = np.array(
        [[0.0 if i == j else np.prod(np.delete(x, [i, j])) for j in range(n)] for i in range(n)]
    )
    np.testing.assert_array_equal(cr.hessian(cnp.prod)(x), exact)
    np.testing.assert_array_equal(cr.jacfwd(cr.grad(cnp.prod))(x), exact)


def test_prod_with_zeros_along_axes():
    x = sample((2, 3, 4), "away_from_zero")
    x[0, 1, 2] = x[1, 0, 0] = x[1, 2, 0] = 0.0
    for kwargs in ({"axis": 1}, {"axis": (0, 2), "keepdims": True}, {"axis": None}, {"axis": -1}):
        assert cr.gradcheck(lambda a, kw=kwargs: cnp.prod(a, **kw), x, order=2)


def test_prod_and_cumprod_with_zeros_match_torch():
    torch = pytest.importorskip("torch")
    x = sample((3, 5), "away_from_zero")
    x[0, 2] = x[2, 1] = x[2, 3] = 0.0
    w = rng.standard_normal((3, 5))
    wt = torch.tensor(w)
    for ours, theirs in (
        (lambda a: cnp.sum(cnp.prod(a, axis=1) * w[:, 0]),
         lambda a: (torch.prod(a, 1) * wt[:, 0]).sum()),
        (lambda a: cnp.sum(cnp.cumprod(a, axis=1) * w),
         lambda a: (torch.cumprod(a, 1) * wt).sum()),
    ):
        xt = torch.tensor(x, requires_grad=True)
        theirs(xt).backward()
        np.testing.assert_allclose(cr.grad(ours)(x), xt.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs", [{}, {"axis": 1}, {"axis": 0}])
def test_cumprod_with_zeros(kwargs):
    x = sample((3, 5), "away_from_zero")
    x[0, 2] = x[2, 1] = x[2, 3] = x[1, 4] = 0.0
    assert cr.gradcheck(lambda a: cnp.cumprod(a, **kwargs), x, order=2)


def exact_float(terms):
    """The product of float terms in exact arithmetic, rounded once (inf past the range)."""
    product = math.prod(fractions.Fraction(t) for t in terms)
    try:
        return float(product)
    except OverflowError:
        return math.inf if product > 0 else -math.inf


# products that over- or underflow although the inputs are finite; zeros (the 0/0 trap)
CUMPROD_HARD = [[1e200, 1e200, 2.0, 3.0], [1e308, 10.0, 1e-308, 2.0], [1e-200, 1e-200, 0.5, 3.0],
                [2.0, 0.0, 3.0, 1e200], [0.0, 2.0, 0.0, 4.0, 0.0]]


@pytest.mark.parametrize("x", CUMPROD_HARD)
def test_cumprod_derivatives_where_the_product_over_or_underflows(x):
    """Dividing the product by x gave NaN (inf/x) or 0 (0/x) for every entry once the
    product left the float range. Against the exact d cumprod(x)_i / d x_j: wherever JAX's
    associative scan is finite we must be right, and finite in at least as many places."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    x = np.array(x)
    n = x.size
    jacobian = np.array([[exact_float(np.delete(x[: i + 1], j)) if j <= i else 0.0 for j in range(n)]
                         for i in range(n)])
    exact = {"rev": jacobian, "fwd": jacobian}
    with np.errstate(all="ignore"):
        theirs = {"rev": np.asarray(jax.jacrev(jax.numpy.cumprod)(x)),
                  "fwd": np.asarray(jax.jacfwd(jax.numpy.cumprod)(x))}
        ours = {"rev": cr.jacrev(cnp.cumprod)(x), "fwd": cr.jacfwd(cnp.cumprod)(x)}
    for mode in ours:
        known = np.isfinite(theirs[mode])
        np.testing.assert_allclose(ours[mode][known], exact[mode][known], rtol=1e-13)
        assert np.isfinite(ours[mode]).sum() >= known.sum()



# runs of entries whose product over- or underflows (the last output of the first is 0.5
# exactly, NumPy's cumprod is 0 from its second entry on), zeros and signs among them
CUMPROD_RUNS = [[1e-200, 1e-200, 1e200, 1e200, 0.5], [1e-300, 0.0, 1e300, 1e-300, 1e300],
                [-1e200, 1e200, -1e-200, 3.0, 1e-100], [1e308, 10.0, 1e-308, 2.0, 0.0],
                # every product a float, but not ans / x² (the quotient rule's second order)
                [1e-200, 3.0, 1e200, 2.0, 0.5]]


def _cumprod_jacobian(x):
    n = x.size
    return np.array([[exact_float(np.delete(x[:k + 1], j)) if j <= k else 0.0 for j in range(n)] for k in range(n)])


@pytest.mark.parametrize("x", CUMPROD_RUNS, ids=str)
def test_cumprod_derivatives_are_the_products_of_the_others(x):
    """d cumprod(x)_k / d x_j is the product of x_0 .. x_k but x_j, exactly rounded, in both
    modes (the first row's last was [nan, nan, 5e-201, 5e-201, 1], not [5e199, 5e199, ...]);
    along either axis of a 2-d array, under vmap, and to second order; float32 too."""
    x = np.array(x)
    jacobian = _cumprod_jacobian(x)
    hessians = [np.array([[0.0 if i == j or max(i, j) > k else exact_float(np.delete(x[:k + 1], [i, j]))
                           for j in range(x.size)] for i in range(x.size)]) for k in (4, 3)]
    with np.errstate(all="ignore"):
        for jac in (cr.jacrev, cr.jacfwd):
            np.testing.assert_allclose(jac(cnp.cumprod)(x), jacobian, rtol=1e-15, atol=0)
            np.testing.assert_allclose(jac(lambda a: cnp.cumprod(a, axis=0)[:, 1])(np.stack([x * 0 + 1, x], 1)),
                                       np.stack([np.zeros_like(jacobian), jacobian], 2), rtol=1e-15, atol=0)
            np.testing.assert_allclose(cr.vmap(jac(lambda a: cnp.cumprod(a, axis=-1)))(np.stack([x, x[::-1]])),
                                       [jacobian, _cumprod_jacobian(x[::-1])], rtol=1e-15, atol=0)
        for k, hessian in zip((4, 3), hessians, strict=True):
            def output(a, k=k):
                return cnp.cumprod(a)[k]

            np.testing.assert_allclose(cr.hessian(output)(x), hessian, rtol=1e-15, atol=0)  # forward over reverse
            if np.all(np.abs(np.cumprod(x)) >= np.finfo(float).tiny) and np.all(np.isfinite(np.cumprod(x))):
                # (where runs over- or underflow, reverse over reverse still scales a
                # cotangent out of range before the other exponents bring it back)
                np.testing.assert_allclose(cr.jacrev(cr.grad(output))(x), hessian, rtol=1e-15, atol=0)
    x32 = np.array([1e-30, 1e-30, 1e30, 1e30, 0.5], np.float32)
    for jac in (cr.jacrev, cr.jacfwd):
        row = jac(cnp.cumprod)(x32)[4]
        assert row.dtype == np.float32
        np.testing.assert_allclose(row, [5e29, 5e29, 5e-31, 5e-31, 1.0], rtol=1e-6)


# rows whose product NumPy's float loses on the way (left to right: 1e-200 * 1e-200 is 0)
# though each entry's product of the others is a float; zeros among them
PROD_HARD = [[1e-200, 1e-200, 1e200, 1e200, 0.5, 1.0], [1e-300, 1e-300, 3.0, 1.0, 1.0, 1.0],
             [1e300, 1e300, 1e-300, 0.25, 1.0, -1.0], [1e-200, 1e-200, 1e200, 1e200, 0.0, 1.0],
             [1e-200, 0.0, 1e200, 0.0, 2.0, 1.0],
             # a product that is a float, but not ans / x² (the quotient rule's second order)
             [1e-200, 3.0, 1e200, 2.0, 1.0, 1.0], [2.0, 1e-170, 5.0, 1e170, 1.0, -3.0]]


def test_prod_derivatives_where_partial_products_over_or_underflow():
    """The derivative is the product of the others, exactly rounded (it was 0 or NaN once
    NumPy's product had under- or overflowed), along every axis form, in both modes and
    (forward over reverse, reverse over reverse) to second order; float32 and complex too."""
    x = np.array(PROD_HARD)
    others = np.array([[exact_float(np.delete(r, i)) for i in range(r.size)] for r in x])
    w = np.arange(1.0, len(x) + 1.0)
    with np.errstate(all="ignore"):
        for row, want in zip(x, others, strict=True):
            np.testing.assert_allclose(cr.grad(cnp.prod)(row), want, rtol=1e-15, atol=0)
            np.testing.assert_allclose(cr.jacfwd(cnp.prod)(row), want, rtol=1e-15, atol=0)
            hess = [[0.0 if i == j else exact_float(np.delete(row, [i, j])) for j in range(6)] for i in range(6)]
            np.testing.assert_allclose(cr.hessian(cnp.prod)(row), hess, rtol=1e-15, atol=0)
            if np.isfinite(np.prod(row)) and np.prod(row) != 0:
                # (where partial products overflow, nesting reverse or forward mode still
                # scales a cotangent out of range before the other exponents bring it back)
                for nested in (cr.jacrev(cr.grad(cnp.prod)), cr.jacfwd(cr.jacfwd(cnp.prod)),
                               cr.jit(cr.hessian(cnp.prod))):
                    np.testing.assert_allclose(nested(row), hess, rtol=1e-15, atol=0)
                t = cr.tensor(row, requires_grad=True)  # the eager graph's double backward
                (first,) = cr.autograd.grad(cnp.prod(t), t, create_graph=True)
                np.testing.assert_allclose(cr.autograd.grad(first[0], t)[0].numpy(), hess[0], rtol=1e-15, atol=0)
        # the same rows reduced along axis 1, along axis 0 of the transpose, and along the
        # two axes (0, 2) that hold them in a (2, 5, 3) array
        blocks = np.transpose(x.reshape(len(x), 2, 3), (1, 0, 2))
        for f, a, back in ((lambda a: cnp.prod(a, axis=1) @ w, x, lambda g: g),
                           (lambda a: cnp.sum(cnp.prod(a, axis=-1, keepdims=True)[:, 0] * w), x, lambda g: g),
                           (lambda a: cnp.prod(a, axis=0) @ w, x.T, np.transpose),
                           (lambda a: cnp.prod(a, axis=(0, 2)) @ w, blocks,
                            lambda g: np.transpose(g, (1, 0, 2)).reshape(len(x), 6))):
            np.testing.assert_allclose(back(cr.grad(f)(a)), others * w[:, None], rtol=1e-15, atol=0)
        x32 = np.array([1e-30, 1e-30, 1e30, 1e30, 0.5], np.float32)
        g32 = cr.grad(cnp.prod)(x32)
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, [5e29, 5e29, 5e-31, 5e-31, 1.0], rtol=1e-6)
        phases = np.array([1j, -1, 1j, 1, 1 + 1j, 1])  # products of the others' phases, exactly
        out, pullback = cr.vjp(cnp.prod, x[0] * phases)
        want = others[0] * np.array([np.prod(np.delete(phases, i)) for i in range(6)])
        np.testing.assert_allclose(pullback(1.0 + 0j)[0], want, rtol=1e-15, atol=0)


# -- nan functions ------------------------------------------------------------------------------
NAN_X = np.array([[1.0, np.nan, 2.0, -0.5], [np.nan, 3.0, 0.7, np.nan], [1.5, -2.0, 0.6, 1.2]])


@pytest.mark.parametrize(
    "name",
    ["nansum", "nanmean", "nanprod", "nanmax", "nanmin", "nanvar", "nanstd", "nancumsum",
     "nancumprod"],
)
@pytest.mark.parametrize("axis", [None, 1, 0])
def test_nan_functions_ignore_nan(name, axis):
    f = getattr(cnp, name)
    nan = np.isnan(NAN_X)
    g = cr.grad(lambda a: cnp.sum(f(a, axis=axis)))(NAN_X)
    assert np.all(g[nan] == 0) and np.all(np.isfinite(g))
    assert cr.gradcheck(lambda a: f(a, axis=axis), NAN_X, order=2)


def test_nanmean_equals_mean_of_the_rest():
    g = cr.grad(lambda a: cnp.sum(cnp.nanmean(a, axis=1)))(NAN_X)
    counts = np.sum(~np.isnan(NAN_X), 1, keepdims=True)
    np.testing.assert_allclose(g, np.where(np.isnan(NAN_X), 0, 1 / counts))
    g = cr.grad(lambda a: cnp.nansum(a * 2))(NAN_X)
    np.testing.assert_array_equal(g, np.where(np.isnan(NAN_X), 0, 2.0))


# -- average -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ashape", "wshape", "kwargs"),
    [
        ((5,), (5,), {}),
        ((3, 4), (3, 4), {"axis": 1}),
        ((3, 4), (4,), {"axis": 1}),
        ((3, 4), (3,), {"axis": -2, "keepdims": True}),
        ((2, 3, 4), (4, 2), {"axis": (2, 0)}),
        ((2, 3, 4), (2, 3, 4), {}),
    ],
)
def test_average_in_both_arguments(ashape, wshape, kwargs):
    a = sample(ashape, "normal")
    w = rng.uniform(0.5, 2.0, wshape)
    assert cr.gradcheck(lambda x, y: cnp.average(x, weights=y, **kwargs), a, w, order=2)
    ref = np.average(a, weights=w, **kwargs)
    np.testing.assert_allclose(cnp.average(a, weights=w, **kwargs), ref)
    for x in (a, a.astype(np.float32), a + 1j * a[..., ::-1]):  # the sum of the weights in the
        got = cr.vjp(lambda x, y: cnp.average(x, weights=y, returned=True, **kwargs), x, w)[0]
        ref = np.average(x, weights=w, returned=True, **kwargs)  # result's dtype, as NumPy's
        for g, r in zip(got, ref, strict=True):
            assert type(g) is type(r) and np.result_type(g) == np.result_type(r)
            np.testing.assert_allclose(g, r, rtol=1e-6 if x.dtype == np.float32 else 1e-14)
    assert cr.gradcheck(lambda x, y: cnp.average(x, weights=y, returned=True, **kwargs)[1], a, w)


def test_average_without_weights_and_errors():
    a = sample((3, 4), "normal")
    assert cr.gradcheck(lambda x: cnp.average(x, axis=0), a, order=2)
    out, scl = cr.vjp(lambda x: cnp.average(x, axis=0, returned=True), a)[0]
    assert np.allclose(out, a.mean(0)) and np.all(scl == 3.0)
    with pytest.raises(TypeError, match="axis must be specified"):
        cr.grad(lambda x: cnp.average(x, weights=np.ones(4)))(a)
    with pytest.raises(ValueError, match="weights"):
        cr.grad(lambda x: cnp.average(x, axis=0, weights=np.ones(4)))(a)
    with pytest.raises(ZeroDivisionError):
        cr.grad(lambda x: cnp.sum(cnp.average(x, axis=1, weights=np.array([1.0, -1.0, 0, 0]))))(a)


# -- cumulative functions ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["cumsum", "cumprod", "nancumsum", "nancumprod"])
def test_cumulative_of_0d_examples_under_vmap(name):
    """Each example 0-d, with an axis, as NumPy's: the derivative of each (1,) result (its
    vjp raised ZeroDivisionError for the 0-d input's axis)."""
    f = getattr(cnp, name)
    x = np.array([0.5, -2.0, 3.0])
    np.testing.assert_array_equal(cr.vmap(lambda a: f(a, axis=-1))(x), x[:, None])
    g = cr.vmap(cr.grad(lambda a: cnp.sum(f(a, axis=0) ** 3)))(x)
    np.testing.assert_allclose(g, 3 * x ** 2, rtol=1e-14)


def test_cumsum_axis_none_flattens():
    x = sample((2, 3), "normal")
    out, pull = cr.vjp(cnp.cumsum, x)
    assert out.shape == (6,)
    np.testing.assert_array_equal(pull(np.ones(6))[0], np.arange(6, 0, -1).reshape(2, 3))


@pytest.mark.skipif(not hasattr(np, "cumulative_sum"), reason="NumPy < 2.1")
@pytest.mark.parametrize("name", ["cumulative_sum", "cumulative_prod"])
@pytest.mark.parametrize("kwargs", [{}, {"include_initial": True}])
def test_cumulative_array_api(name, kwargs):
    x = sample((3, 4), "away_from_zero")
    f = getattr(cnp, name)
    np.testing.assert_allclose(f(x, axis=1, **kwargs), getattr(np, name)(x, axis=1, **kwargs))
    assert cr.gradcheck(lambda a: f(a, axis=1, **kwargs), x, order=2)
    assert cr.gradcheck(lambda a: f(a, **kwargs), x[0], order=2)
    assert cr.gradcheck(lambda a: f(a, axis=0, **kwargs), np.zeros((0, 2)), order=1)
    for axis in (None, 0, -1):  # NumPy: a 0-d array is one entry along one axis
        out = cr.vjp(lambda a, axis=axis: f(a, axis=axis, **kwargs), np.array(0.4))[0]
        np.testing.assert_array_equal(out, getattr(np, name)(np.array(0.4), axis=axis, **kwargs))
        assert cr.gradcheck(lambda a, axis=axis: f(a, axis=axis, **kwargs), np.array(0.4), order=2)


# -- the Tensor methods, numpy dispatch and the eager layer ----------------------------------------
def test_tensor_methods():
    x = sample((3, 4), "away_from_zero")

    def f(a):
        return (
            a.sum(axis=0, keepdims=True).sum() + a.mean(axis=1).sum() + a.prod(axis=-1).sum()
            + a.max(axis=0).sum() + a.min(keepdims=True).sum() + a.var(axis=1, ddof=1).sum()
            + a.std(axis=0).sum() + a.cumsum(axis=1).sum() + a.cumprod(axis=0).sum()
            + a.cumsum().sum() + a.sum(dtype=np.float64)
        )

    assert cr.gradcheck(f, x, order=2)


def test_numpy_functions_dispatch_to_the_mirror():
    x = sample((3, 4), "away_from_zero")

    def f(a):
        return (
            np.sum(a, axis=1) + np.mean(a, 1) + np.prod(a, axis=1) + np.amax(a, axis=1)
            + np.amin(a, 1) + np.var(a, axis=1, ddof=1) + np.std(a, 1) + np.ptp(a, axis=1)
            + np.average(a, axis=1, weights=np.arange(1.0, 5)) + np.nansum(a, 1)
            + np.nanmean(a, 1) + np.cumsum(a, 1)[:, -1] + np.cumprod(a, axis=1)[:, -1]
            + np.max(a, 1) + np.min(a, 1) + np.nanvar(a, 1) + np.nanmax(a, 1)
        )

    assert cr.gradcheck(f, x, order=1)


def test_positional_arguments_in_numpy_order():
    x = sample((2, 3, 4), "normal")
    assert cr.gradcheck(lambda a: cnp.sum(a, 1, None, None, True), x)
    assert cr.gradcheck(lambda a: cnp.max(a, -1, None, True), x)
    assert cr.gradcheck(lambda a: cnp.var(a, 0, None, None, 1, True), x)
    assert cr.gradcheck(lambda a: cnp.cumprod(a, 2), x)
    mask = x > 0
    g = cr.grad(lambda a: cnp.sum(cnp.nansum(a, 1, None, None, False, 0.0, mask)))(x)
    np.testing.assert_array_equal(g, mask * 1.0)


def test_eager_backward_matches_torch():
    torch = pytest.importorskip("torch")
    x = sample((4, 5), "normal")
    t = cr.tensor(x, requires_grad=True)
    loss = (
        t.var(axis=1, ddof=1).sum() + t.std(axis=0).sum() + (t.max(axis=1) * 2).sum()
        + t.cumsum(axis=0).prod()
    )
    loss.backward()
    xt = torch.tensor(x, requires_grad=True)
    (xt.var(1, unbiased=True).sum() + xt.std(0, unbiased=False).sum() + (xt.amax(1) * 2).sum()
     + xt.cumsum(0).prod()).backward()
    np.testing.assert_allclose(np.asarray(t.grad), xt.grad.numpy(), rtol=1e-10)


def test_plain_values_are_numpy():
    x = np.arange(12).reshape(3, 4)
    for name in ("sum", "prod", "max", "ptp", "cumsum", "nancumsum", "average"):
        np.testing.assert_array_equal(getattr(cnp, name)(x, axis=1), getattr(np, name)(x, axis=1))
    assert cnp.sum(x).dtype == np.sum(x).dtype


def test_out_is_refused_for_composites():
    a = sample((3,), "normal")
    with pytest.raises(TypeError, match="out="):
        cr.grad(lambda x: cnp.sum(cnp.nancumsum(x, out=np.empty(3))))(a)


def test_every_name_is_exported():
    from chainrule.numpy import reductions

    for name in reductions.__all__:
        assert getattr(cnp, name) is getattr(reductions, name)

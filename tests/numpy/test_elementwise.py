"""Every elementwise function: both modes against finite differences, to second order,
on several shapes including broadcasting and 0-d."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

rng = np.random.default_rng(0)

# (shapes of the arguments), for every function of one or two arguments
UNARY_SHAPES = [(), (4,), (2, 3)]
BINARY_SHAPES = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 2))]

# name: (low, high) of the inputs, chosen inside each function's smooth domain
UNARY = {
    "negative": (-2, 2), "positive": (-2, 2), "sin": (-2, 2), "cos": (-2, 2),
    "tan": (-1, 1), "arcsin": (-0.9, 0.9), "arccos": (-0.9, 0.9), "arctan": (-2, 2),
    "sinh": (-2, 2), "cosh": (-2, 2), "tanh": (-2, 2), "arcsinh": (-2, 2),
    "arccosh": (1.2, 3), "arctanh": (-0.9, 0.9), "exp": (-2, 2), "exp2": (-2, 2),
    "expm1": (-2, 2), "log": (0.2, 3), "log2": (0.2, 3), "log10": (0.2, 3),
    "log1p": (-0.5, 2), "sqrt": (0.2, 3), "cbrt": (0.2, 3), "square": (-2, 2),
    "reciprocal": (0.3, 3), "absolute": (0.1, 2), "fabs": (0.1, 2), "sinc": (-2, 2),
    "deg2rad": (-2, 2), "rad2deg": (-2, 2), "degrees": (-2, 2), "radians": (-2, 2),
    "real": (-2, 2), "conj": (-2, 2), "nan_to_num": (-2, 2), "real_if_close": (-2, 2),
    "i0": (-3, 3),
}
BINARY = {
    "add": (-2, 2), "subtract": (-2, 2), "multiply": (-2, 2), "divide": (0.5, 2),
    "true_divide": (0.5, 2), "power": (0.5, 2), "float_power": (0.5, 2),
    "arctan2": (0.5, 2), "hypot": (0.5, 2), "logaddexp": (-2, 2), "logaddexp2": (-2, 2),
    "maximum": (-2, 2), "minimum": (-2, 2), "fmax": (-2, 2), "fmin": (-2, 2),
    "mod": (0.5, 2), "remainder": (0.5, 2), "fmod": (0.5, 2),
    "heaviside": (-2, 2), "copysign": (-2, 2), "nextafter": (-2, 2),
}
# Piecewise constant: the derivative is zero everywhere it exists.
STEPS = ["floor", "ceil", "rint", "trunc", "sign", "round", "around", "floor_divide"]
COMPLEX = ["sin", "cos", "exp", "log", "tanh", "sqrt", "square", "reciprocal", "absolute",
           "real", "imag", "conj", "conjugate", "angle", "negative", "real_if_close"]


def uniform(shape, low, high):
    return rng.uniform(low, high, size=shape)


@pytest.mark.parametrize("shape", UNARY_SHAPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, shape):
    x = uniform(shape, *UNARY[name])
    assert cr.gradcheck(getattr(cnp, name), x, order=2)


@pytest.mark.parametrize("shapes", BINARY_SHAPES)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary(name, shapes):
    x, y = (uniform(s, *BINARY[name]) for s in shapes)
    if name in ("mod", "remainder", "fmod"):  # keep away from the jumps of x mod y
        y = y + 2.5
    assert cr.gradcheck(getattr(cnp, name), x, y, order=2)


@pytest.mark.parametrize("name", COMPLEX)
def test_complex(name):
    z = uniform((3,), 0.3, 1.5) + 1j * uniform((3,), 0.3, 1.5)
    assert cr.gradcheck(getattr(cnp, name), z, order=2)


@pytest.mark.parametrize("name", STEPS)
def test_steps_have_zero_derivative(name):
    x = np.array([0.3, 1.7, -2.2])
    f = (lambda a: cnp.floor_divide(a, 0.7)) if name == "floor_divide" else getattr(cnp, name)
    g = cr.elementwise_grad(f)(x)
    assert np.array_equal(g, np.zeros(3))
    assert np.array_equal(cr.jvp(f, (x,), (np.ones(3),))[1], np.zeros(3))


def test_maximum_of_a_value_made_with_an_eager_tensor_differentiates():
    """Its rule's masks were subtracted, which PyTorch's rules refuse for a bool Tensor:
    grad of maximum(a * cr.ones(3), 0.5) (a FisherSnedecor rsample too) raised."""
    g = cr.grad(lambda a: cnp.sum(cnp.maximum(a * cr.ones(3, dtype=cr.float64), np.array([0.5, 1.0, 2.0]))))(1.0)
    np.testing.assert_allclose(np.asarray(g), 1.5)


def test_maximum_splits_ties_evenly():
    g = cr.grad(lambda x, y: cnp.sum(cnp.maximum(x, y)), (0, 1))(np.ones(2), np.ones(2))
    assert np.array_equal(g[0], [0.5, 0.5]) and np.array_equal(g[1], [0.5, 0.5])


def test_power_at_zero_base_has_finite_gradients():
    gx, gy = cr.grad(lambda x, y: cnp.sum(x ** y), (0, 1))(np.array([0.0, 2.0]), np.array([2.0, 3.0]))
    assert np.array_equal(gx, [0.0, 12.0])
    assert np.allclose(gy, [0.0, 8 * np.log(2.0)])


def test_where_and_clip():
    x = uniform((2, 3), -1, 1)
    y = uniform((3,), -1, 1)
    assert cr.gradcheck(lambda a, b: cnp.where(a > 0, a * 2, b), x, y)
    assert cr.gradcheck(lambda a: cnp.clip(a, -0.5, 0.5), x + 0.01)
    assert cr.gradcheck(lambda a: cnp.clip(a, None, 0.2), x + 0.01)
    g = cr.grad(lambda a: cnp.sum(cnp.clip(a, -0.5, 0.5)))(np.array([-1.0, 0.0, 1.0]))
    assert np.array_equal(g, [0.0, 1.0, 0.0])


def test_an_arrays_own_clip_by_tensor_bounds_is_np_clip():
    # ndarray.clip(lo, hi) computes with NumPy's clip ufunc, which hands the Tensor bounds
    # over as np.clip(a, lo, hi) does (it raised: "numpy.clip is not differentiable")
    a = np.array([[-2.0, -0.1, 0.3], [0.9, 1.7, -0.6]])
    lo, hi = np.array([-0.5, 0.0, -1.0]), np.array([1.0, 0.5, 2.0])
    assert cr.gradcheck(lambda lo, hi: a.clip(lo, hi), lo, hi)
    assert np.array_equal(cr.grad(lambda hi: cnp.sum(a.clip(lo, hi)))(hi), [0.0, 1.0, 0.0])  # 1.7 clipped


def test_float32_stays_float32():
    x = np.linspace(0.1, 1, 4, dtype=np.float32)
    g = cr.grad(lambda a: cnp.sum(cnp.tanh(a) * 2.0 + cnp.exp(a) / 3))(x)
    assert g.dtype == np.float32


# -- ufunc keyword arguments ----------------------------------------------------------------
def test_dtype_keyword_differentiates_through_the_cast():
    x = np.linspace(0.1, 1.0, 4)
    f = lambda x: cnp.sum(cnp.sin(x, dtype=np.float32) * 2.0)  # noqa: E731
    assert np.result_type(cr.stop_gradient(cnp.sin(x, dtype=np.float32))) == np.float32
    g = cr.grad(f)(x)
    assert g.dtype == np.float64
    assert np.array_equal(g, (2.0 * np.cos(x.astype(np.float32))).astype(np.float64))
    t = cr.jvp(f, (x,), (np.ones(4),))[1]
    assert np.isclose(t, np.sum(2.0 * np.cos(x.astype(np.float32))), rtol=1e-6)


@pytest.mark.parametrize("kwargs", [{"out": np.zeros(4)}, {"where": np.array([1, 0, 1, 0], bool)},
                                    {"where": np.ones(4, bool), "out": np.zeros(4)}])
def test_out_and_where_keywords_are_refused_on_tensors(kwargs):
    x = np.linspace(0.1, 1.0, 4)
    with pytest.raises(TypeError, match="out= and where= cannot hold"):
        cr.grad(lambda x: cnp.sum(cnp.exp(x, **kwargs)))(x)
    with pytest.raises(TypeError, match="out= and where= cannot hold"):
        cr.grad(lambda x: np.sum(np.multiply(x, 2.0, **kwargs)))(x)


def test_keywords_on_plain_arrays_are_numpy_itself():
    x = np.linspace(0.1, 1.0, 4)
    out = np.zeros(4)
    assert cnp.exp(x, out=out) is out and np.array_equal(out, np.exp(x))
    mask = x > 0.5
    got = cnp.add(x, 1.0, where=mask, out=np.full(4, -1.0))
    assert np.array_equal(got, np.where(mask, x + 1.0, -1.0))


# where's NumPy implementation selects large float arrays by their bits (no branch per
# element); it must give np.where's result bit for bit, dtype and shape included.
def _bits(a):
    a = np.asarray(a)
    return a.dtype, a.shape, a.tobytes()


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex64, np.int32])
@pytest.mark.parametrize("other", ["scalar 0", "scalar -0.0", "scalar nan", "array", "row",
                                   "column", "0-d array", "python int"])
@pytest.mark.parametrize("side", ["x", "y"])
def test_where_selects_bit_for_bit(dtype, other, side):
    from chainrule.numpy.selection import _np_where

    rng = np.random.default_rng(7)
    shape = (96, 64)  # large enough for the bit selection
    a = rng.standard_normal(shape).astype(dtype)
    if np.dtype(dtype).kind == "f":
        a.flat[:6] = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0]
        a.flat[6:8] = np.frombuffer(np.array([0x7FC00123, 0xFFC0ABCD], np.uint32).tobytes(),
                                    np.float32)[:2].astype(dtype)  # NaNs with payloads
    b = {"scalar 0": 0.0, "scalar -0.0": -0.0, "scalar nan": float("nan"),
         "array": rng.standard_normal(shape).astype(dtype),
         "row": rng.standard_normal(shape[1]).astype(dtype),
         "column": rng.standard_normal((shape[0], 1)).astype(dtype),
         "0-d array": np.array(-1.5, dtype=np.float64), "python int": 3}[other]
    cond = rng.standard_normal(shape) > 0
    x, y = (a, b) if side == "x" else (b, a)
    assert _bits(_np_where(cond, x, y)) == _bits(np.where(cond, x, y))


def test_where_selects_like_numpy_for_other_conditions():
    from chainrule.numpy.selection import _np_where

    x = np.arange(10000.0).reshape(100, 100)
    for cond in (x % 3 == 0, (x % 2).astype(int), np.array(True), x[:1] > 50):
        assert _bits(_np_where(cond, x, -x)) == _bits(np.where(cond, x, -x))


@pytest.mark.parametrize("fun", [cnp.maximum, cnp.minimum, cnp.fmax, cnp.fmin])
def test_select_rules_split_ties_evenly_in_the_input_dtype(fun):
    x = np.array([1.0, 2.0, 3.0, np.nan, 0.0, -0.0], dtype=np.float32)
    y = np.array([1.0, 3.0, 2.0, 1.0, -0.0, np.nan], dtype=np.float32)
    gx, gy = cr.grad(lambda a, b: cnp.sum(fun(a, b)), argnums=(0, 1))(x, y)
    assert gx.dtype == gy.dtype == np.float32
    picks_x = {cnp.maximum: [0.5, 0, 1, 0, 0.5, 0], cnp.minimum: [0.5, 1, 0, 0, 0.5, 0],
               cnp.fmax: [0.5, 0, 1, 0, 0.5, 1], cnp.fmin: [0.5, 1, 0, 0, 0.5, 1]}[fun]
    picks_y = {cnp.maximum: [0.5, 1, 0, 0, 0.5, 0], cnp.minimum: [0.5, 0, 1, 0, 0.5, 0],
               cnp.fmax: [0.5, 1, 0, 1, 0.5, 0], cnp.fmin: [0.5, 0, 1, 1, 0.5, 0]}[fun]
    np.testing.assert_array_equal(gx, picks_x)
    np.testing.assert_array_equal(gy, picks_y)
    # against a scalar (ReLU as maximum(h, 0)): the tie at 0 shares, the scalar gets none
    h = np.array([-1.0, 0.0, 2.0], dtype=np.float32)
    g = cr.grad(lambda a: cnp.sum(cnp.maximum(a, 0.0)))(h)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, [0, 0.5, 1])


_SELECT_VALUES = np.array([1.0, 2.0, 3.0, np.nan, 0.0, -0.0, np.inf, -np.inf, 0.0, np.nan, 5e-324])
_SELECT_OTHERS = np.array([1.0, 3.0, 2.0, 1.0, -0.0, 0.0, np.inf, 1.0, np.nan, np.nan, 0.0])


def _selection_weights(fun, x, y):
    """The derivative of fun(x, y) in x by its definition: 1 where x is the result and y
    is not, 1/2 where both are (a tie), 0 where x is not."""
    ans = fun(x, y)
    picked, tie = x == ans, x == y
    return np.select([tie & picked, picked], [0.5, 1.0], 0.0)


def _summed_to(a, shape):
    """A broadcast cotangent summed back to ``shape`` (leading axes, then kept ones)."""
    lead = a.ndim - len(shape)
    a = a.sum(axis=tuple(range(lead))) if lead else a
    kept = tuple(i for i, n in enumerate(shape) if n == 1 and a.shape[i] != 1)
    return a.sum(axis=kept, keepdims=True) if kept else a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fun", [np.maximum, np.minimum, np.fmax, np.fmin])
@pytest.mark.parametrize("shapes", [((11,), (11,)), ((11, 1), (11,)), ((11,), ())])
def test_select_cotangents_bit_for_bit(fun, dtype, shapes):
    """The cotangent of maximum/minimum/fmax/fmin is g times the definition's weights to
    the bit (signed zeros of 0·g, NaN, inf, subnormal halves), with broadcasting, in
    reverse mode, replayed by jit, and in forward mode."""
    sx, sy = shapes
    x = _SELECT_VALUES.reshape(sx).astype(dtype)
    y = _SELECT_OTHERS.astype(dtype).reshape(sy) if sy else np.asarray(0.0, dtype)
    ans = fun(x, y)
    g = np.linspace(-2.0, 3.0, ans.size).reshape(ans.shape).astype(dtype)
    g.flat[::3] = np.finfo(dtype).smallest_subnormal  # ½·g rounds: the same rounding
    cfun = getattr(cnp, fun.__name__)

    def pullback(x, y):
        return cr.vjp(cfun, x, y)[1](g)

    want_x = g * _selection_weights(fun, x, y).astype(dtype)
    want_y = g * _selection_weights(fun, y, x).astype(dtype)
    want_x, want_y = _summed_to(want_x, x.shape), _summed_to(want_y, y.shape)
    jitted = cr.jit(pullback)
    for got_x, got_y in (pullback(x, y), jitted(x, y), jitted(x, y)):
        assert got_x.dtype == got_y.dtype == dtype
        assert _bits(got_x) == _bits(want_x)
        assert _bits(got_y) == _bits(want_y)
    if x.shape == ans.shape:  # forward mode: t times the same weights
        t = g.astype(dtype)
        got = cr.jvp(lambda x: cfun(x, y), (x,), (t,))[1]
        assert _bits(got) == _bits(t * _selection_weights(fun, x, y).astype(dtype))


def test_i0_derivatives_are_the_bessel_functions():
    """I0' = I1 and I1' = I0 - I1/x, against SciPy and jax.grad, out to large arguments."""
    special = pytest.importorskip("scipy.special")
    x = np.array([-30.0, -3.0, -0.5, 0.0, 1e-3, 0.7, 2.0, 10.0, 80.0, 300.0])
    np.testing.assert_array_equal(cnp.i0(cr.tensor(x)).primal(), np.i0(x))
    np.testing.assert_allclose(cr.elementwise_grad(cnp.i0)(x), special.i1(x), rtol=1e-13, atol=1e-300)
    second = cr.elementwise_grad(cr.elementwise_grad(cnp.i0))(x)
    nz = x != 0
    np.testing.assert_allclose(second[nz], (special.i0(x) - special.i1(x) / np.where(nz, x, 1))[nz], rtol=1e-12)
    assert second[~nz] == pytest.approx(0.5, abs=1e-15)
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    want = jax.vmap(jax.grad(jax.numpy.i0))(x[:8])
    np.testing.assert_allclose(cr.vmap(cr.grad(cnp.i0))(x[:8]), want, rtol=1e-12)


def test_i0_derivatives_beyond_the_finite_range():
    """I1 and I1' overflow to ±inf past |x| ≈ 713 and are ±inf at ±inf, NaN at NaN (it
    raised OverflowError at ±inf and ValueError at NaN, and 1e300 asked for 10¹⁵ points)."""
    x = np.array([np.inf, -np.inf, np.nan, 720.0, -1e300, 700.0])
    with np.errstate(over="ignore", invalid="ignore"):
        first = cr.elementwise_grad(cnp.i0)(x)
        second = cr.elementwise_grad(cr.elementwise_grad(cnp.i0))(x)
    np.testing.assert_array_equal(first[:5], [np.inf, -np.inf, np.nan, np.inf, -np.inf])
    np.testing.assert_array_equal(second[:5], [np.inf, np.inf, np.nan, np.inf, np.inf])
    special = pytest.importorskip("scipy.special")
    np.testing.assert_allclose(first[5], special.i1(700.0), rtol=1e-12)


@pytest.mark.parametrize("name", ["frexp", "modf"])
def test_parts_of_a_float(name):
    """The mantissa and the fractional part carry the derivative (2**-e and 1), the
    exponent and the integral part are plain data; values bit for bit NumPy's."""
    x = np.array([-2.5, -0.3, 0.0, -0.0, 0.7, 3.25, 1e10, np.inf, -np.inf, np.nan, 5e-320])
    got, want = getattr(cnp, name)(cr.tensor(x)), getattr(np, name)(x)
    for g, w in zip(got, want, strict=True):
        g = g.primal() if isinstance(g, cr.Tensor) else g
        np.testing.assert_array_equal(g, w)
        np.testing.assert_array_equal(np.signbit(g), np.signbit(w))
    smooth = np.array([-2.5, -0.3, 0.7, 3.25, 1e3 + 0.25])
    assert cr.gradcheck(lambda a: getattr(cnp, name)(a)[0], smooth, order=2)
    np.testing.assert_allclose(cr.vmap(lambda a: getattr(cnp, name)(a)[0])(smooth.reshape(5, 1)),
                               getattr(np, name)(smooth.reshape(5, 1))[0])


def test_ldexp_and_divmod():
    x, y = rng.uniform(-3, 3, size=6), np.array([1.5, -2.0, 0.7, 3.0, -1.0, 2.0])
    i = np.array([1, 2, 3, -1, 0, 4])
    np.testing.assert_array_equal(cnp.ldexp(cr.tensor(x), i).primal(), np.ldexp(x, i))
    np.testing.assert_array_equal(cr.grad(lambda a: cnp.sum(cnp.ldexp(a, i)))(x), 2.0 ** i)
    assert cr.gradcheck(lambda a: cnp.ldexp(a, i), x, order=2)
    q, r = cnp.divmod(cr.tensor(x), y)
    np.testing.assert_array_equal(q, np.floor_divide(x, y))
    np.testing.assert_array_equal(r.primal(), np.remainder(x, y))
    assert cr.gradcheck(lambda a, b: cnp.divmod(a, b)[1], x, y, order=2)
    assert cr.grad(lambda a: cnp.sum(cnp.ldexp(a, 2)))(np.float32([1.0, 2.0])).dtype == np.float32
    # a tangent or cotangent is scaled as a value is: 2**-1100 alone underflows (it gave
    # 0 for 2**1000 · 2**-1100, as the derivatives of prod's products of others need)
    scale = lambda a: cnp.ldexp(a, -1100)  # noqa: E731
    big = 2.0**1000
    assert cr.jvp(scale, (big,), (big,))[1] == 2.0**-100
    assert cr.vjp(scale, big)[1](big)[0] == 2.0**-100


def test_divmod_of_a_list_holding_traced_values():
    x = np.array([2.5, -1.2])
    call = lambda a: cnp.divmod(3.0, [a[0], a[1]])[1]  # noqa: E731
    np.testing.assert_array_equal(cr.vjp(call, x)[0], np.divmod(3.0, x)[1])
    assert cr.gradcheck(call, x, order=2)


def test_python_divmod_of_a_tensor_is_numpys_divmod():
    x = np.array([3.5, -2.25, 0.75])
    q, r = divmod(cr.tensor(x), 2.0)
    np.testing.assert_array_equal(q, np.floor_divide(x, 2.0))
    np.testing.assert_array_equal(r.numpy(), np.mod(x, 2.0))
    np.testing.assert_array_equal(divmod(5.0, cr.tensor(x))[1].numpy(), np.mod(5.0, x))
    # d/dx of x mod 2 is 1; d/dx of 5 mod x is -floor(5 / x) (finite differences agree)
    g = cr.grad(lambda x: cnp.sum(divmod(x, 2.0)[1] + divmod(5.0, x)[1]))(x)
    np.testing.assert_array_equal(g, 1.0 - np.floor(5.0 / x))


# -- points where a rule needs care to stay exact at every order ------------------------------
# sinc's removable singularity at 0 (its derivatives there are the Maclaurin series'), and
# x ** y at y = 0 (the guard that keeps 0 * x^-1 from being NaN at x = 0 must not cut the
# derivative in y elsewhere). Derivatives along a line through the point, to the fourth
# order, in reverse mode, forward mode and both mixed, against JAX's.
SMOOTH_AT_EDGES = {
    "sinc at 0": lambda L, s: L.sinc(s),
    "sinc at 0, scaled": lambda L, s: L.sum(L.sinc(L.stack([s, -2.5 * s]))),
    "power, y = 0": lambda L, s: (s + 3.0) ** s,
    "power, y = 0, both from s": lambda L, s: L.power(L.exp(s) + 2.0, L.sin(s)),
    "power, x = 0 elsewhere": lambda L, s: L.power(s + 0.5, s * s),
    "float_power, y = 0": lambda L, s: L.float_power(s + 3.0, s),
}


def _nth(d, f, n):
    for _ in range(n):
        f = d(f)
    return f


def _cr_rev(f):
    return cr.grad(f)


def _cr_fwd(f):
    return lambda s: cr.jvp(f, (s,), (1.0,))[1]


@pytest.mark.parametrize("name", sorted(SMOOTH_AT_EDGES))
def test_derivatives_of_every_order_at_edge_points_equal_jax(name):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    f = SMOOTH_AT_EDGES[name]
    for n in range(1, 5):
        want = float(_nth(jax.grad, lambda s: f(jax.numpy, s), n)(0.0))
        for modes in [(_cr_rev,) * n, (_cr_fwd,) * n, (_cr_fwd, _cr_rev) * n, (_cr_rev, _cr_fwd) * n]:
            g = lambda s: f(cnp, s)  # noqa: E731
            for d in modes[:n]:
                g = d(g)
            assert float(g(0.0)) == pytest.approx(want, rel=1e-9, abs=1e-12), (n, modes)


def test_sinc_derivatives_near_zero_keep_their_digits():
    """(cos πx - sinc x) / x cancels to nothing as x -> 0 (it gave sinc'' = -π² for
    |x| < 1e-8, three times the truth, and sinc' = 0); against mpmath's sincpi, and at
    |x| = 1e-300 against the series' leading terms -π²x/3, -π²/3, π⁴x/5 (exact there)."""
    mpmath = pytest.importorskip("mpmath")
    points = np.array([0.0, 1e-300, -1e-300, 1e-9, -1e-5, 1e-3, 0.1, -0.4999, 0.5, 0.5001, 1.3, -2.7])
    leading = [lambda x: -np.pi ** 2 * x / 3, lambda x: -np.pi ** 2 / 3 + 0 * x, lambda x: np.pi ** 4 * x / 5]
    with mpmath.workdps(60):
        exact = [[float(mpmath.diff(mpmath.sincpi, mpmath.mpf(x), n)) for x in points[3:]] for n in (1, 2, 3)]
    f = cnp.sinc
    for n in (1, 2, 3):
        want = np.concatenate([leading[n - 1](points[:3]), exact[n - 1]])
        g = f
        f = cr.elementwise_grad(f)
        reverse = f(points)
        forward = cr.jvp(g, (points,), (np.ones_like(points),))[1]
        for got in (reverse, forward):
            np.testing.assert_allclose(got, want, rtol=[2e-15, 2e-14, 1e-12][n - 1], atol=0)


def test_sinc_higher_derivatives_at_zero_from_its_series():
    """The series branch carries the derivatives docs/engine.md promises beyond the third:
    the 2k-th at 0 (and within 1e-7 of it) is (-1)^k π^{2k} / (2k + 1), the odd ones 0 at 0,
    through the 8th (forward over forward over ...)."""
    x = np.array([0.0, 1e-9, -1e-7])
    f = cnp.sinc
    for n in range(1, 9):
        f = (lambda g: lambda v: cr.jvp(g, (v,), (np.ones_like(v),))[1])(f)
        got = f(x)
        if n % 2:
            assert got[0] == 0.0, n
        else:
            k = n // 2
            np.testing.assert_allclose(got, (-1) ** k * np.pi ** (2 * k) / (2 * k + 1), rtol=1e-12, err_msg=str(n))


def test_cbrt_second_derivative_at_zero_and_infinity():
    """-2/9 x^(-5/3): -inf at +0, +inf at -0, ∓0 at ±inf (it was NaN: 0 * inf)."""
    second = cr.elementwise_grad(cr.elementwise_grad(cnp.cbrt))
    with np.errstate(all="ignore"):
        got = second(np.array([0.0, -0.0, np.inf, -np.inf, 8.0]))
    want = np.array([-np.inf, np.inf, -0.0, 0.0, -2 / 9 * 8.0 ** (-5 / 3)])
    np.testing.assert_allclose(got, want, rtol=1e-15)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def test_i0_derivative_of_nan_alone_is_nan():
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(cr.elementwise_grad(cnp.i0)(np.array([np.nan])), [np.nan])
        assert np.isnan(cr.grad(cnp.i0)(np.nan))


# -- docs/engine.md, "Where a function has no derivative": each line of the table ------------
CONVENTIONS = {
    "abs at 0": (lambda x: cnp.abs(x), (0.0,), 0.0),
    "fabs at 0": (lambda x: cnp.fabs(x), (0.0,), 0.0),
    "copysign at x = 0": (lambda x: cnp.copysign(x, -2.0), (0.0,), 0.0),
    "2-norm at 0": (lambda x: cnp.linalg.norm(x), (np.zeros(3),), np.zeros(3)),
    "Frobenius norm at 0": (lambda x: cnp.linalg.norm(x, "fro"), (np.zeros((2, 2)),), np.zeros((2, 2))),
    "hypot at (0, 0)": (lambda x: cnp.hypot(x[0], x[1]), (np.zeros(2),), np.zeros(2)),
    "p < 1 at a zero entry": (lambda x: cnp.linalg.norm(x, 0.5), (np.array([0.0, 4.0]),), np.array([0.0, 1.0])),
    "p < 0 with a zero norm": (lambda x: cnp.linalg.norm(x, -1), (np.array([0.0, 4.0]),), np.zeros(2)),
    "maximum tie": (lambda x: cnp.maximum(x[0], x[1]), (np.ones(2),), np.full(2, 0.5)),
    "minimum tie": (lambda x: cnp.minimum(x[0], x[1]), (np.ones(2),), np.full(2, 0.5)),
    "fmax tie": (lambda x: cnp.fmax(x[0], x[1]), (np.ones(2),), np.full(2, 0.5)),
    "fmin tie": (lambda x: cnp.fmin(x[0], x[1]), (np.ones(2),), np.full(2, 0.5)),
    "max ties": (lambda x: cnp.max(x), (np.array([1.0, 3.0, 3.0]),), np.array([0.0, 0.5, 0.5])),
    "amax ties": (lambda x: cnp.amax(x), (np.array([3.0, 1.0, 3.0]),), np.array([0.5, 0.0, 0.5])),
    "min ties": (lambda x: cnp.min(x), (np.array([1.0, 3.0, 1.0]),), np.array([0.5, 0.0, 0.5])),
    "inf-norm ties": (lambda x: cnp.linalg.norm(x, np.inf), (np.array([-2.0, 2.0]),), np.array([-0.5, 0.5])),
    "sort ties": (lambda x: cnp.sort(x)[0], (np.array([2.0, 1.0, 1.0]),), np.array([0.0, 1.0, 0.0])),
    "median ties": (lambda x: cnp.median(x), (np.array([1.0, 1.0, 1.0]),), np.array([0.0, 1.0, 0.0])),
    "quantile ties": (lambda x: cnp.quantile(x, 0.0), (np.array([2.0, 1.0, 1.0]),), np.array([0.0, 1.0, 0.0])),
    "clip on a bound": (lambda x: cnp.clip(*x), (np.array([1.0, 1.0, 2.0]),), np.array([0.0, 1.0, 0.0])),
    "clip beyond a bound": (lambda x: cnp.clip(*x), (np.array([3.0, 1.0, 2.0]),), np.array([0.0, 0.0, 1.0])),
    "x ** 0 at 0": (lambda x: x ** 0.0, (0.0,), 0.0),
    "x ** 0 at inf": (lambda x: x ** 0.0, (np.inf,), 0.0),
    "x ** 0 at -inf": (lambda x: cnp.power(x, 0), (-np.inf,), 0.0),
    "x ** y at y = 0, x = 0": (lambda x: cnp.power(x, x * 0.0), (0.0,), 0.0),
    # in y at x = 0: 0 for y > 0, NaN for y < 0 (JAX's and autograd's; PyTorch's pow gives -inf)
    "0 ** y at y > 0": (lambda y: cnp.power(0.0, y), (2.0,), 0.0),
    "0 ** y at y < 0": (lambda y: cnp.power(0.0, y), (-1.0,), np.nan),
    "std of equal entries": (lambda x: cnp.std(x), (np.full(3, 2.0),), np.zeros(3)),
    "sqrt at 0": (lambda x: cnp.sqrt(x), (0.0,), np.inf),
    "arctan2 at (0, 0)": (lambda x: cnp.arctan2(x[0], x[1]), (np.zeros(2),), np.full(2, np.nan)),
    # PyTorch's choice (JAX and autograd: NaN); the real-valued function of the parts x, y
    "angle at complex 0": (lambda x: cnp.angle(x[0] + 1j * x[1]), (np.zeros(2),), np.zeros(2)),
    # the limits of sigmoid(x - y) and sigmoid(y - x) (PyTorch's too); none at (inf, inf)
    "logaddexp at (inf, 1)": (lambda x: cnp.logaddexp(x[0], x[1]), (np.array([np.inf, 1.0]),), np.array([1.0, 0.0])),
    "logaddexp at (-inf, 2)": (lambda x: cnp.logaddexp(x[0], x[1]), (np.array([-np.inf, 2.0]),), np.array([0.0, 1.0])),
    "logaddexp at (inf, inf)": (lambda x: cnp.logaddexp(x[0], x[1]), (np.full(2, np.inf),), np.full(2, np.nan)),
    "logaddexp2 at (1, inf)": (lambda x: cnp.logaddexp2(x[0], x[1]), (np.array([1.0, np.inf]),), np.array([0.0, 1.0])),
}


@pytest.mark.parametrize("name", list(CONVENTIONS))
def test_conventions_where_there_is_no_derivative(name):
    f, args, want = CONVENTIONS[name]
    with np.errstate(all="ignore"):
        got = cr.grad(f)(*args)
        np.testing.assert_array_equal(got, want)
        # forward mode gives the same numbers, direction by direction
        x = np.asarray(args[0], float)
        for i in range(x.size):
            e = np.zeros(x.size)
            e[i] = 1.0
            t = cr.jvp(f, (args[0],), (e.reshape(x.shape) if x.ndim else 1.0,))[1]
            np.testing.assert_array_equal(t, np.ravel(want)[i])


def test_nan_to_num_sends_nothing_through_a_replaced_entry():
    # The replaced entries are constants: their derivative is 0 even where the incoming
    # derivative is infinite (log at 0), as JAX's and autograd's select rules give.
    f = lambda x: cnp.nan_to_num(cnp.log(x))  # noqa: E731
    x = np.array([0.0, 2.0, -1.0])
    with np.errstate(all="ignore"):
        _, t = cr.jvp(f, (x,), (np.ones(3),))
        np.testing.assert_array_equal(t, [0.0, 0.5, 0.0])
        g = cr.grad(lambda x: cnp.sum(cnp.nan_to_num(x) * 3.0))(np.array([np.nan, -np.inf, 2.0]))
        np.testing.assert_array_equal(g, [0.0, 0.0, 3.0])
        g32 = cr.grad(lambda x: cnp.sum(cnp.nan_to_num(x)))(np.array([np.nan, 1.0], np.float32))
        assert g32.dtype == np.float32


def test_an_array_written_in_place_with_an_eager_tensor_is_refused_with_the_fix():
    """``y += t`` with ``y`` an ndarray and ``t`` an eager Tensor that nothing differentiates:
    the error says how to write it (the message spoke of differentiation only)."""
    y, t = np.zeros(3), cr.tensor([1.0, 2.0, 3.0])
    for write in (lambda: y.__iadd__(t), lambda: np.multiply(y, t, out=y)):
        with pytest.raises(TypeError, match=r"eager one.*y = y \+ t.*t\.numpy\(\)"):
            write()
    assert not y.any()  # nothing was written
    y += t.numpy()
    assert y.tolist() == [1.0, 2.0, 3.0]


# -- inverse functions: complex branches, poles, and arguments whose square overflows ---------
INVERSE = ["arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "log", "log1p", "log2", "log10"]


@pytest.mark.parametrize("name", INVERSE)
def test_inverse_functions_of_complex_numbers_in_every_quadrant_against_finite_differences(name):
    """The holomorphic derivative, in both modes, against central differences of NumPy's
    values (arccosh's was 1 / √(z² - 1), of the wrong sign where Re z < 0)."""
    signs = np.array([1 + 1j, -1 + 1j, -1 - 1j, 1 - 1j])
    z = np.concatenate([s.real * uniform((3,), 0.3, 1.5) + 1j * s.imag * uniform((3,), 0.3, 1.5) for s in signs])
    f, h = getattr(np, name), 1e-6
    want = (f(z + h) - f(z - h)) / (2 * h)
    _, fwd = cr.jvp(getattr(cnp, name), (z,), (np.ones_like(z),))
    _, pull = cr.vjp(getattr(cnp, name), z)
    np.testing.assert_allclose(fwd, want, rtol=1e-7)
    np.testing.assert_allclose(pull(np.ones_like(z))[0], want, rtol=1e-7)


# at a pole PyTorch's derivative (a cotangent divided by zero) is inf+nanj; 1 / 0 times the
# cotangent gave nan+nanj
POLES = [("log", 0j), ("log", complex(0.0, -0.0)), ("log", complex(-0.0, -0.0)), ("log2", 0j),
         ("log10", 0j), ("log1p", -1 + 0j), ("log1p", complex(-1.0, -0.0)), ("arctan", 1j), ("arctan", -1j),
         ("arctanh", 1 + 0j), ("arctanh", -1 + 0j), ("arctanh", complex(1.0, -0.0))]
TORCH_NAMES = {"arctan": "atan", "arctanh": "atanh"}


@pytest.mark.parametrize("name, z", POLES)
def test_derivatives_at_complex_poles_are_pytorchs_infinity(name, z):
    torch = pytest.importorskip("torch")
    tf = getattr(torch, TORCH_NAMES.get(name, name))
    for g in (1 + 0j, 1j, 2 - 3j):
        c128 = torch.complex128
        _, want = torch.func.jvp(tf, (torch.tensor(z, dtype=c128),), (torch.tensor(g, dtype=c128),))
        _, got = cr.jvp(getattr(cnp, name), (np.complex128(z),), (np.complex128(g),))
        np.testing.assert_equal(complex(got), complex(want))
        _, pull = cr.vjp(getattr(cnp, name), np.complex128(z))
        np.testing.assert_equal(complex(pull(np.complex128(g))[0]), complex(want))


def _mp_derivative(name, z):
    """The derivative of the principal branch, by its formula in 60 digits (mpmath)."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 60
    z = mpmath.mpc(z)
    sq = mpmath.sqrt
    d = {"arcsin": lambda: 1 / (sq(1 - z) * sq(1 + z)), "arccos": lambda: -1 / (sq(1 - z) * sq(1 + z)),
         "arctan": lambda: 1 / (1 + z * z), "arcsinh": lambda: 1 / (sq(1 + 1j * z) * sq(1 - 1j * z)),
         "arccosh": lambda: 1 / (sq(z - 1) * sq(z + 1)), "arctanh": lambda: 1 / (1 - z * z)}[name]()
    return complex(d)


@pytest.mark.parametrize("name", ["arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh"])
@pytest.mark.parametrize("z", [1e200 + 1e200j, -3e160 + 1e160j, 1e250 - 2e249j, -1e200 - 1e-200j, 2e-170 + 1e200j])
def test_inverse_derivatives_where_the_square_overflows_against_mpmath(name, z):
    """z² overflows (to inf - inf = NaN in a part): the derivative is tiny, not NaN."""
    _, got = cr.jvp(getattr(cnp, name), (np.complex128(z),), (np.complex128(1),))
    want = _mp_derivative(name, z)
    np.testing.assert_allclose(complex(got), want, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name, x", [("arcsinh", 1e200), ("arcsinh", -3e250), ("arccosh", 1e200),
                                     ("arccosh", 7e300), ("arctan", 1e200), ("arctanh", 1e200)])
def test_real_inverse_derivatives_where_the_square_overflows_against_mpmath(name, x):
    """1 / √(x² + 1) at 1e200 is 1e-200, not 1 / inf = 0 (JAX's and PyTorch's)."""
    got = float(cr.grad(getattr(cnp, name))(np.float64(x)))
    want = _mp_derivative(name, x).real
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("name", ["arctan", "arctanh"])
def test_fourth_derivatives_far_out_are_zero_not_nan(name):
    """x² overflowed in the reverse passes: the fourth derivative at 1e300 was NaN (JAX's and
    PyTorch's too); its true value (24 x⁻⁵ in size) underflows to 0. Nearer, JAX's."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    f = getattr(cnp, name)
    for modes in [(_cr_rev,) * 4, (_cr_fwd,) * 4, (_cr_fwd, _cr_rev) * 2, (_cr_rev, _cr_fwd) * 2]:
        g = f
        for d in modes:
            g = d(g)
        for x in (1e300, -1e300, 1e155, np.inf):
            assert float(g(np.float64(x))) == 0.0, (modes, x)
        for x in (-2.5, 1.5, 0.4, 3e10) if name == "arctan" else (0.4, -0.7, 3.0):
            want = float(_nth(jax.grad, getattr(jax.numpy, name), 4)(x))
            assert float(g(np.float64(x))) == pytest.approx(want, rel=1e-9), (modes, x)

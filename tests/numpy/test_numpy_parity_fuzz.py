"""chainrule.numpy against NumPy 2.x, drawn by hypothesis: a function of the namespace with
keywords (axis, keepdims, dtype=, where=, initial=, ddof=, method=, casting=...) on an array
of a drawn dtype, layout (transposed, reversed, Fortran-ordered, read-only) and values
(NaN, ±inf, ±0.0, subnormals, extreme integers). Each call is made on plain arrays, on
values that ``cr.vjp`` traces and on values that ``cr.jvp`` pushes a tangent through; all
must give NumPy's result (type, dtype, shape, the values bit for bit with the sign of zero,
or the same exception class). The examples are the same at each run (tests/conftest.py);
the fixed cases below are the mismatches the drawing found."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.finite_differences import central_differences
from tests.numpy.test_numpy_sweep import _agrees, _outcome, check

import chainrule as cr
import chainrule.numpy as cnp

F32 = np.array([[0.25, -1.0, 1.5, 2.0], [3.0, -2.0, 3.0, 0.0], [1.0, 2.0, -7.0, 0.5]], np.float32)
GEN = F32.astype(np.float64)

# (name, numpy function, chainrule function, arrays): what each fix made agree
FIXED = [
    # a Python q: NumPy's weight of each slice is a Python float, cast with its complement
    ("nanquantile_float32", lambda a: np.nanquantile(a, 0.3, axis=-1), lambda a: cnp.nanquantile(a, 0.3, axis=-1), F32),
    ("nanpercentile_float16_hazen", lambda a: np.nanpercentile(a, 30, axis=-1, method="hazen"),
     lambda a: cnp.nanpercentile(a, 30, axis=-1, method="hazen"), F32.astype(np.float16)),
    ("nanquantile_float32_axis0", lambda a: np.nanquantile(a, 0.3, axis=0, keepdims=True),
     lambda a: cnp.nanquantile(a, 0.3, axis=0, keepdims=True), F32),
    # integers from linspace round toward -inf; the step of 0 or 1 points is NaN
    ("linspace_int", lambda a: np.linspace(0, a, 4, dtype=np.int32), lambda a: cnp.linspace(0, a, 4, dtype=np.int32),
     GEN),
    ("linspace_step_of_one", lambda a: np.asarray(np.linspace(a, 1, 1, retstep=True)[1]),
     lambda a: np.asarray(cnp.linspace(a, 1, 1, retstep=True)[1]), GEN),
    ("geomspace_broadcast", lambda a: np.geomspace(1, np.abs(a) + 1, 3), lambda a: cnp.geomspace(1, cnp.abs(a) + 1, 3),
     GEN),
    ("cumulative_sum_empty_int32", lambda a: np.cumulative_sum(a, axis=0, dtype=np.int32, include_initial=True),
     lambda a: cnp.cumulative_sum(a, axis=0, dtype=np.int32, include_initial=True), np.zeros((0, 3))),
    # casting= without dtype=: NumPy's loop and its casting errors
    ("divide_casting_no", lambda a: np.divide(a, 2, casting="no"), lambda a: cnp.divide(a, 2, casting="no"), GEN),
    ("add_casting_no_error", lambda a: np.add(a, np.float32(2), casting="no"),
     lambda a: cnp.add(a, np.float32(2), casting="no"), GEN),
    ("multiply_casting_safe_complex", lambda a: np.multiply(a, 1j, casting="safe"),
     lambda a: cnp.multiply(a, 1j, casting="safe"), F32),
    ("sin_casting_unsafe", lambda a: np.sin(a, casting="unsafe"), lambda a: cnp.sin(a, casting="unsafe"), F32),
    ("divmod_casting", lambda a: np.divmod(a, np.int8(3), casting="no"),
     lambda a: cnp.divmod(a, np.int8(3), casting="no"), GEN),
    ("frexp_casting", lambda a: np.frexp(a, casting="equiv"), lambda a: cnp.frexp(a, casting="equiv"), GEN),
    # 'equiv' with a Python number (NumPy's resolve_dtypes crashed the process on it)
    ("add_equiv_python_int", lambda a: np.add(a, 2, casting="equiv"), lambda a: cnp.add(a, 2, casting="equiv"), GEN),
    ("add_equiv_python_float", lambda a: np.add(a, 2.0, casting="equiv", dtype=np.float64),
     lambda a: cnp.add(a, 2.0, casting="equiv", dtype=np.float64), GEN),
    ("multiply_equiv_python_complex", lambda a: np.multiply(a, 2j, casting="equiv"),
     lambda a: cnp.multiply(a, 2j, casting="equiv"), GEN + 0j),
    # a scalar quantile of a slice holding NaN: NumPy's is that NaN, in the data's dtype
    ("percentile_nan_float16", lambda a: np.percentile(a, np.float64(30.0)),
     lambda a: cnp.percentile(a, np.float64(30.0)), np.array([1.5, np.nan], np.float16)),
    ("quantile_nan_0d_float32", lambda a: np.quantile(a, np.float64(0.5)), lambda a: cnp.quantile(a, np.float64(0.5)),
     np.array(np.nan, np.float32)),
    # interp's points as a list holding traced values
    ("interp_list_fp", lambda a: np.interp(0.5, [0.0, 1.0], [a[0, 0], 2 * a[0, 1]]),
     lambda a: cnp.interp(0.5, [0.0, 1.0], [a[0, 0], 2 * a[0, 1]]), GEN),
    ("interp_list_xp", lambda a: np.interp([0.5, 3.0], [0.0, a[1, 0]], [1.0, 2.0]),
     lambda a: cnp.interp([0.5, 3.0], [0.0, a[1, 0]], [1.0, 2.0]), GEN),
    # the array method's error for an axis out of range: NumPy's AxisError (an IndexError)
    ("mean_method_bad_axis", lambda a: a.mean(axis=2), lambda a: a.mean(axis=2), GEN),
    ("mean_method_0d_axis", lambda a: a[0, 0].mean(axis=(0,)), lambda a: a[0, 0].mean(axis=(0,)), GEN),
    # stack checks the shapes before the casting, as NumPy
    ("stack_shapes_before_casting", lambda a: np.stack([a, a[:1]], dtype=np.int8, casting="safe"),
     lambda a: cnp.stack([a, a[:1]], dtype=np.int8, casting="safe"), GEN),
    # casting= without dtype=: each array against the common dtype
    ("concatenate_casting_no", lambda a: np.concatenate([a, a > 0], casting="no"),
     lambda a: cnp.concatenate([a, a > 0], casting="no"), F32),
    ("hstack_casting_equiv", lambda a: np.hstack([a, a.astype(np.float16)], casting="equiv"),
     lambda a: cnp.hstack([a, a.astype(np.float16)], casting="equiv"), F32),
    # copy=False where a new array must be made
    ("asarray_copy_false_cast", lambda a: np.asarray(a, dtype=np.float16, copy=False),
     lambda a: cnp.asarray(a, dtype=np.float16, copy=False), GEN),
    ("array_copy_false_cast", lambda a: np.array(a, dtype=np.float32, copy=False),
     lambda a: cnp.array(a, dtype=np.float32, copy=False), GEN),
    ("asarray_copy_false_list", lambda a: np.asarray([a[0], a[1]], copy=False),
     lambda a: cnp.asarray([a[0], a[1]], copy=False), GEN),
]


@pytest.mark.parametrize("case", FIXED, ids=[c[0] for c in FIXED])
def test_fixed_cases_agree_with_numpy(case):
    _, np_fun, cnp_fun, *arrays = case
    check(np_fun, cnp_fun, *arrays)


EMPTY = np.zeros((0, 4))


@pytest.mark.parametrize("norm", [
    lambda m, x: m.linalg.vector_norm(x, ord=np.inf, axis=0), lambda m, x: m.linalg.norm(x, np.inf)],
    ids=["vector_inf", "matrix_inf"])
def test_norms_of_empty_arrays_differentiate(norm):
    """NumPy's norm of no entries is 0; its derivative has no entries (it raised: a
    maximum of nothing)."""
    want = norm(np, EMPTY)
    value, tangent = cr.jvp(lambda x: norm(cnp, x), (EMPTY,), (np.ones_like(EMPTY),))
    assert _agrees(value, want) and np.array_equal(tangent, np.zeros_like(want))
    grad = cr.grad(lambda x: cnp.sum(norm(cnp, x)))(EMPTY)
    fd = central_differences(lambda x: float(np.sum(norm(np, x))), EMPTY)
    assert grad.shape == fd.shape == EMPTY.shape


def test_quantile_gradient_with_a_python_q_matches_central_differences():
    w = np.array([0.3, -1.2, 0.7])
    g = cr.grad(lambda x: cnp.sum(cnp.nanquantile(x, 0.3, axis=-1) * w))(GEN)
    fd = central_differences(lambda x: float(np.sum(np.nanquantile(x, 0.3, axis=-1) * w)), GEN)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


# -- the drawing ---------------------------------------------------------------------------
DTYPES = ["bool", "int8", "int32", "int64", "uint8", "float16", "float32", "float64", "complex64", "complex128"]
VALUES = [0.0, -0.0, 1.5, -2.5, np.nan, np.inf, -np.inf, 3.0, 200.0, -7.0, 5e-324, 1e-40, 0.5, 1e300, 127.0]
SHAPES = [(), (0,), (1,), (4,), (3, 0), (2, 3), (3, 4), (2, 3, 2)]


@st.composite
def arrays(draw, dtype=None, shape=None):
    """An array of a drawn dtype and shape, its values drawn from VALUES (as the dtype
    holds them: integers wrap as NumPy's cast does), in a drawn layout."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)) if dtype is None else dtype)
    shape = draw(st.sampled_from(SHAPES)) if shape is None else shape
    layout = draw(st.sampled_from(["C", "F", "T", "reversed", "readonly"]))
    if layout == "T":
        shape = shape[::-1]
    n = int(np.prod(shape))
    values = np.array(draw(st.lists(st.sampled_from(VALUES), min_size=n, max_size=n)))
    with np.errstate(all="ignore"):
        if dtype.kind in "iub":
            values = np.nan_to_num(values, nan=0, posinf=300, neginf=-129).clip(-2e9, 2e9).astype(np.int64)
        a = values.astype(dtype).reshape(shape)
        if dtype.kind == "c" and a.size:
            a.imag = np.roll(a.real, 1)
    if layout == "T":
        a = a.T
    elif layout == "F":
        a = np.asfortranarray(a)
    elif layout == "reversed" and a.ndim:
        a = a[::-1]
    elif layout == "readonly":
        a.flags.writeable = False
    return a


def _axis(draw, ndim, tuples=True):
    choices = [None, *range(-ndim, ndim), ndim]  # (ndim: out of bounds, NumPy's AxisError)
    if tuples and ndim >= 2:
        choices += [(0, -1), (0, 0)]
    return draw(st.sampled_from(choices))


def _mask(draw, a):
    return draw(st.sampled_from([True, False, "values"])) if a.ndim else True


def _where(draw, a):
    w = _mask(draw, a)
    return (np.arange(a.size).reshape(a.shape) % 3 != 1) if isinstance(w, str) else w


def _kwargs(draw, **choices):
    """Each keyword drawn from its choices or left out."""
    return {k: draw(st.sampled_from(v)) for k, v in choices.items() if draw(st.booleans())}


REDUCTIONS = {
    "sum": dict(dtype=[None, np.float32, np.int64, np.complex128], initial=[1, 2.5]),
    "prod": dict(dtype=[None, np.float32, np.int64], initial=[2, -0.5]),
    "mean": dict(dtype=[None, np.float32, np.float64]),
    "std": dict(dtype=[None, np.float32], ddof=[0, 1, 5]),
    "var": dict(dtype=[None, np.float64], ddof=[1, 2.5]),
    "max": dict(initial=[-np.inf, 0, 3]), "min": dict(initial=[np.inf, 0, -3]),
    "nansum": dict(dtype=[None, np.float32]), "nanmean": {}, "nanmax": {}, "nanmin": {}, "nanstd": dict(ddof=[0, 1]),
    "any": {}, "all": {}, "ptp": {}, "count_nonzero": {},
}
WHERE = {"sum", "prod", "mean", "std", "var", "max", "min", "nansum", "nanmean", "any", "all"}


@st.composite
def reductions(draw):
    a = draw(arrays())
    name = draw(st.sampled_from(sorted(REDUCTIONS)))
    kw = _kwargs(draw, **REDUCTIONS[name])
    kw["axis"] = _axis(draw, a.ndim)
    kw.update(_kwargs(draw, keepdims=[False, True]))
    if name in WHERE and draw(st.booleans()):
        kw["where"] = _where(draw, a)
    if name == "count_nonzero" and kw.get("keepdims") and kw["axis"] is None:
        del kw["keepdims"]  # (NumPy's count_nonzero(axis=None, keepdims=True) is a NumPy quirk: an int)
    return f"{name}(a, **{kw})", lambda m, x: getattr(m, name)(x, **kw), a


SCANS = ["cumsum", "cumprod", "nancumsum", "argmax", "argmin", "nanargmax", "sort", "argsort", "flip", "diff"]


@st.composite
def scans(draw):
    a = draw(arrays())
    name = draw(st.sampled_from(SCANS))
    kw = {"axis": _axis(draw, a.ndim, tuples=name == "flip")}
    if name in ("cumsum", "cumprod"):
        kw.update(_kwargs(draw, dtype=[np.float32, np.int32, np.complex64]))
    if name in ("argmax", "argmin"):
        kw.update(_kwargs(draw, keepdims=[True]))
    if name in ("sort", "argsort"):
        kw.update(_kwargs(draw, kind=["quicksort", "mergesort", "heapsort", "stable"]))
    if name == "diff":
        kw["axis"] = -1 if kw["axis"] is None else kw["axis"]
        kw.update(_kwargs(draw, n=[0, 2], prepend=[0.5], append=[np.inf]))
    return f"{name}(a, **{kw})", lambda m, x: getattr(m, name)(x, **kw), a


UNARY = ["negative", "positive", "absolute", "sign", "signbit", "sqrt", "exp", "expm1", "log", "log1p", "sin", "tanh",
         "arcsinh", "floor", "ceil", "trunc", "rint", "square", "reciprocal", "isnan", "isfinite", "spacing", "cbrt",
         "fabs", "deg2rad", "logical_not", "conjugate", "exp2", "log2", "sinc", "fix", "real", "imag", "angle"]
BINARY = ["add", "subtract", "multiply", "true_divide", "floor_divide", "power", "float_power", "remainder", "fmod",
          "maximum", "minimum", "fmax", "fmin", "copysign", "arctan2", "hypot", "logaddexp", "nextafter", "heaviside",
          "equal", "less_equal", "logical_xor", "ldexp", "bitwise_and", "left_shift", "gcd"]
SCALARS = [2, -1, 300, 2.0, -0.0, 1e40, 2j, True, np.float32(1.5), np.int8(3), np.uint8(200), np.float16(-0.0)]
UFUNC_KW = dict(dtype=[np.float32, np.float64, np.complex128, np.int64],
                casting=["no", "equiv", "safe", "same_kind", "unsafe"])


@st.composite
def elementwise(draw):
    a = draw(arrays())
    if draw(st.booleans()):
        name = draw(st.sampled_from(UNARY))
        kw = _kwargs(draw, **UFUNC_KW) if isinstance(getattr(np, name), np.ufunc) else {}
        return f"{name}(a, **{kw})", lambda m, x: getattr(m, name)(x, **kw), a
    name = draw(st.sampled_from(BINARY))
    kw = _kwargs(draw, **UFUNC_KW)
    if draw(st.booleans()):
        s = draw(st.sampled_from(SCALARS))
        if draw(st.booleans()):
            return f"{name}(a, {s!r}, **{kw})", lambda m, x: getattr(m, name)(x, s, **kw), a
        return f"{name}({s!r}, a, **{kw})", lambda m, x: getattr(m, name)(s, x, **kw), a
    shape = a.shape[-1:] if draw(st.booleans()) else a.shape
    b = draw(arrays(shape=shape))
    b = b.T if b.ndim == a.ndim and b.shape != a.shape else b  # (a layout drawn as 'T' has its shape reversed)
    return f"{name}(a, b, **{kw}) b={b!r}", lambda m, x: getattr(m, name)(x, b, **kw), a


ORDER_STATS = ["median", "nanmedian", "quantile", "nanquantile", "percentile", "nanpercentile"]
METHODS = ["linear", "lower", "higher", "nearest", "midpoint", "inverted_cdf", "averaged_inverted_cdf",
           "closest_observation", "interpolated_inverted_cdf", "hazen", "weibull", "median_unbiased", "normal_unbiased"]


@st.composite
def order_statistics(draw):
    a = draw(arrays(dtype=draw(st.sampled_from(["int32", "float16", "float32", "float64"]))))
    name = draw(st.sampled_from(ORDER_STATS))
    kw = {"axis": _axis(draw, a.ndim), **_kwargs(draw, keepdims=[False, True])}
    args = ()
    if "median" not in name:
        q = draw(st.sampled_from([0.0, 0.3, 0.5, 1.0, [0.1, 0.9], np.float32(0.25), 1.5]))
        args = (np.multiply(q, 100) if "percentile" in name else q,)
        kw.update(_kwargs(draw, method=METHODS))
    # + 0: NumPy's partition may take either of two signed zeros (see test_numpy_sweep)
    return f"{name}(a, *{args}, **{kw})", lambda m, x: getattr(m, name)(x, *args, **kw) + 0, a


@st.composite
def keyword_functions(draw):
    a = draw(arrays())
    calls = {
        "clip": lambda: ((draw(st.sampled_from([None, 0, -0.0, np.nan, -300])),
                          draw(st.sampled_from([None, 1.5, 300]))), {}),
        "round": lambda: ((), _kwargs(draw, decimals=[-1, 0, 1, 3])),
        "isclose": lambda: ((a[::-1] if a.ndim else a,), _kwargs(draw, equal_nan=[True, False], rtol=[0.0, 0.5])),
        "allclose": lambda: ((a,), _kwargs(draw, equal_nan=[True, False])),
        "array_equal": lambda: ((a,), _kwargs(draw, equal_nan=[True, False])),
        "searchsorted": lambda: ((draw(st.sampled_from([0.0, 1.5, np.nan, [-1, 3]])),),
                                 _kwargs(draw, side=["left", "right"])),
        "take": lambda: (([0, 2, -1],), {"axis": _axis(draw, a.ndim, tuples=False),
                                         **_kwargs(draw, mode=["raise", "wrap", "clip"])}),
        "roll": lambda: ((draw(st.sampled_from([1, -2])),), {"axis": _axis(draw, a.ndim, tuples=False)}),
        "nan_to_num": lambda: ((), _kwargs(draw, nan=[-1.0], posinf=[9], neginf=[-9.5])),
        "average": lambda: ((), {"axis": _axis(draw, a.ndim), **_kwargs(draw, keepdims=[True], returned=[True])}),
        "trace": lambda: ((), _kwargs(draw, offset=[-1, 1], dtype=[np.float32, np.int64])),
        "repeat": lambda: ((2,), {"axis": _axis(draw, a.ndim, tuples=False)}),
        "cumulative_sum": lambda: ((), {"axis": _axis(draw, a.ndim, tuples=False),
                                        **_kwargs(draw, dtype=[np.float32, np.int32], include_initial=[True])}),
    }
    name = draw(st.sampled_from(sorted(calls)))
    args, kw = calls[name]()
    if name == "searchsorted":
        a = np.sort(a.ravel())
    return f"{name}(a, *{args}, **{kw})", lambda m, x: getattr(m, name)(x, *args, **kw), a


@st.composite
def joins_and_products(draw):
    """Functions of two arrays of drawn dtypes: joining (dtype=, casting=), where, and
    the products (empty and 0-d operands, mixed precision)."""
    a = draw(arrays(shape=draw(st.sampled_from([(), (3,), (2, 3), (0, 3), (3, 3)]))))
    b = draw(arrays(shape=draw(st.sampled_from([a.shape, a.shape[::-1], a.shape[-1:], ()]))))
    name = draw(st.sampled_from(["concatenate", "stack", "where", "dot", "matmul", "inner", "outer", "vdot",
                                 "tensordot", "kron", "einsum", "vecdot", "append", "column_stack", "hstack",
                                 "vstack"]))
    kw = {}
    if name in ("concatenate", "stack"):
        kw = {"axis": _axis(draw, a.ndim, tuples=False)}
        if name == "stack" or b.shape == a.shape:  # (concatenate checks a cast before the shapes)
            kw.update(_kwargs(draw, dtype=[np.float32, np.int8, np.complex64],
                              casting=["no", "safe", "same_kind", "unsafe"]))
    calls = {
        "concatenate": lambda m, x: m.concatenate([x, b], **kw), "stack": lambda m, x: m.stack([x, b], **kw),
        "where": lambda m, x: m.where(np.signbit(b) if b.dtype.kind != "c" else b.real > 0, x, b),
        "tensordot": lambda m, x: m.tensordot(x, b, axes=min(x.ndim, b.ndim, 1)),
        "einsum": lambda m, x: m.einsum("...,...->...", x, b), "append": lambda m, x: m.append(x, b),
    }
    call = calls.get(name, lambda m, x: getattr(m, name)(x, b))
    return f"{name}(a, b, **{kw}) b={b!r}", call, a


def _traced_outcomes(fun, a):
    """NumPy's forward values through vjp and jvp (a differentiable dtype only)."""
    if a.dtype.kind not in "fc":
        return []
    return [("vjp", _outcome(lambda x: cr.vjp(fun, x)[0], a)),
            ("jvp", _outcome(lambda x: cr.jvp(fun, (x,), (np.ones_like(x),))[0], a))]


def _agree_with_numpy(case):
    text, call, a = case
    want = _outcome(lambda x: call(np, x), a)
    got = _outcome(lambda x: call(cnp, x), a)
    assert _agrees(got, want), f"plain: {text} on {a!r}: {got!r}, NumPy {want!r}"
    for how, got in _traced_outcomes(lambda x: call(cnp, x), a):
        assert _agrees(got, want), f"{how}: {text} on {a!r}: {got!r}, NumPy {want!r}"


@pytest.mark.parametrize("draw", [reductions, scans, elementwise, order_statistics, keyword_functions,
                                  joins_and_products],
                         ids=lambda s: s.__name__)
def test_drawn_calls_agree_with_numpy(draw):
    @settings(max_examples=60)  # (about 5 s for all: the same examples at each run)
    @given(draw())
    def run(case):
        _agree_with_numpy(case)

    run()


@pytest.mark.parametrize("name", ["nanmean", "nanstd", "nanvar"])
@pytest.mark.parametrize("axis", [0, -1])
def test_nan_reductions_of_0d_along_axis_0_differentiate(name, axis):
    """NumPy's nan* reductions take axis=0 (or -1) of a 0-d array, as np.sum does; so do
    their derivatives (they raised NumPy's AxisError from np.mean)."""
    x = np.array(1.5)
    f = getattr(cnp, name)
    assert _agrees(cr.vjp(lambda v: f(v, axis=axis), x)[0], getattr(np, name)(x, axis=axis))
    fd = central_differences(lambda v: float(getattr(np, name)(v, axis=axis)), x)
    np.testing.assert_allclose(cr.grad(lambda v: f(v, axis=axis))(x), fd, atol=1e-8)
    np.testing.assert_allclose(cr.jvp(lambda v: f(v, axis=axis), (x,), (np.array(1.0),))[1], fd, atol=1e-8)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_of_integers_under_vmap_is_numpys_in_float64(edge_order):
    """np.gradient takes integers to float64 first (uint8's differences would wrap)."""
    x = np.array([[0, 2, 3, 4], [6, 4, 6, 0], [2, 4, 14, 1]], np.uint8)
    want = np.stack([np.gradient(row, 2.0, edge_order=edge_order) for row in x])
    got = cr.vmap(lambda row: cnp.gradient(row, 2.0, edge_order=edge_order))(x)
    assert got.dtype == want.dtype and np.array_equal(got, want)


def test_matmul_out_under_jit_writes_as_numpy():
    """matmul(out=) into a NumPy array under cr.jit: NumPy's write, as the other ufuncs'
    (it was refused as on a differentiated value)."""
    a = np.arange(12.0).reshape(3, 4)
    out = np.empty(3)
    with pytest.warns(UserWarning, match="runs without jit"):
        got = cr.jit(lambda x: cnp.matmul(x, np.ones(4), out=out))(a)
    np.testing.assert_array_equal(got, a.sum(1))
    np.testing.assert_array_equal(out, a.sum(1))
    with pytest.raises(TypeError, match="out= and where= cannot hold"):
        cr.grad(lambda x: cnp.sum(cnp.matmul(x, np.ones(4), out=np.empty(3))))(a)


def test_interp_of_points_given_as_lists_differentiates():
    x = np.array([1.25, -0.5])
    for f in (lambda lib, t: lib.interp(0.5, [0.0, 1.0], [t[0], 2 * t[1]]),
              lambda lib, t: lib.interp(0.5, [0.0, t[0]], [1.0, t[1]])):
        fd = central_differences(lambda v, f=f: float(f(np, v)), x)
        np.testing.assert_allclose(cr.grad(lambda t, f=f: f(cnp, t))(x), fd, rtol=1e-6, atol=1e-8)

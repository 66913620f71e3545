"""chainrule.numpy against NumPy, table-driven: each case is called on plain arrays, under
``cr.jit`` (two calls with other values), and on values that ``cr.vjp`` differentiates; all
must give NumPy's result (type, dtype, shape, value bit for bit with the sign of zero, or
the same exception class). Gradients are checked against central differences."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from tests.finite_differences import central_differences

import chainrule as cr
import chainrule.numpy as cnp

SPECIAL = np.array([0.0, -0.0, 1.5, -2.25, np.nan, np.inf, -np.inf, 1e308, 5e-324, 0.5, 3.0, -1.0])
ZEROS = np.array([0.0, -0.0, 2.0, -0.0, 0.0, 1.0])
CSPECIAL = np.empty(12, complex)
CSPECIAL.real, CSPECIAL.imag = SPECIAL, np.roll(SPECIAL, 3)
GEN = np.linspace(-1.7, 2.3, 6).reshape(2, 3) + 0.1 * np.sin(np.arange(6.0)).reshape(2, 3)


def _values(x):
    """An array's values with NaN payloads made equal and the sign of zero kept visible."""
    x = np.asarray(x)
    if x.dtype.kind == "c":
        return np.stack([_values(x.real), _values(x.imag)])
    if x.dtype.kind == "f":
        return np.where(np.isnan(x), np.inf, x), np.signbit(x), np.isnan(x)
    return x


def _same(got, want) -> bool:
    if type(got) is not type(want):
        return False
    if isinstance(want, tuple | list):
        return len(got) == len(want) and all(map(_same, got, want))
    if isinstance(want, np.ndarray | np.generic):
        if got.dtype != want.dtype or got.shape != want.shape:
            return False
        return all(np.array_equal(a, b) for a, b in zip(_values(got), _values(want), strict=True)) \
            if want.dtype.kind == "f" else np.array_equal(_values(got), _values(want))
    return got == want


def _outcome(fun, *args):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return fun(*args)
        except Exception as e:  # noqa: BLE001  (the exception class is the result)
            return type(e)


def _agrees(got, want) -> bool:
    if isinstance(want, type):
        return isinstance(got, type) and issubclass(got, want)
    return _same(got, want)


def _other(x):
    return np.roll(x, 1) if x.size > 1 else x * -2.0


def check(np_fun, cnp_fun, *arrays, jit=True, traced=True):
    """``cnp_fun`` as ``np_fun`` on ``arrays``: plain, jitted (twice, other values), traced."""
    want = _outcome(np_fun, *arrays)
    assert _agrees(_outcome(cnp_fun, *arrays), want), "plain"
    if jit:
        jf = cr.jit(cnp_fun)
        for args in (arrays, tuple(map(_other, arrays))):
            assert _agrees(_outcome(jf, *args), _outcome(np_fun, *args)), "jit"
    if traced and any(a.dtype.kind in "fc" for a in arrays):
        got = _outcome(lambda *a: cr.vjp(cnp_fun, *a)[0], *arrays)
        assert _agrees(got, want), "traced"


# (name, numpy function, chainrule function, arrays): what each fix made agree
FIXED = [
    ("union1d_nep50", lambda a: np.union1d(a, 1.5), lambda a: cnp.union1d(a, 1.5), GEN.astype(np.float32)),
    ("concatenate_none_nep50", lambda a: np.concatenate((a, 1.5), axis=None),
     lambda a: cnp.concatenate((a, 1.5), axis=None), GEN.astype(np.float32)),
    ("concatenate_casting", lambda a: np.concatenate([a, a], dtype=np.int64),
     lambda a: cnp.concatenate([a, a], dtype=np.int64), GEN),
    ("stack_casting", lambda a: np.stack([a, a], dtype=np.int8), lambda a: cnp.stack([a, a], dtype=np.int8), GEN),
    ("stack_dtype", lambda a: np.stack([a, a], dtype=np.float32),
     lambda a: cnp.stack([a, a], dtype=np.float32), GEN),
    ("cov_dtype", lambda a: np.cov(a, dtype=np.float32), lambda a: cnp.cov(a, dtype=np.float32), GEN),
    ("corrcoef_dtype", lambda a: np.corrcoef(a, dtype=np.float32), lambda a: cnp.corrcoef(a, dtype=np.float32), GEN),
    ("vander_empty", np.vander, cnp.vander, np.zeros(0, np.float32)),
    ("modf_0d", np.modf, cnp.modf, np.array(2.5)),
    ("average_returned", lambda a: np.average(a, returned=True), lambda a: cnp.average(a, returned=True), GEN),
    ("average_empty", lambda a: np.average(a, axis=0), lambda a: cnp.average(a, axis=0), np.zeros((3, 0))),
    ("linalg_cross_2", np.linalg.cross, cnp.linalg.cross, GEN[:, :2], GEN[:, 1:]),
    ("linalg_outer_2d", np.linalg.outer, cnp.linalg.outer, GEN, GEN[0]),
    ("vecdot_0d", lambda a: np.vecdot(a, 1.5), lambda a: cnp.vecdot(a, 1.5), GEN),
    ("matvec_1d", np.matvec, cnp.matvec, GEN[0], GEN[0]),
    ("vecmat_1d", np.vecmat, cnp.vecmat, GEN, GEN[0]),
    ("unique_values_order", np.unique_values, cnp.unique_values, np.array([1, 2, 3])),
    ("unique_values_order_complex", np.unique_values, cnp.unique_values, CSPECIAL),
    ("unique_signed_zero", np.unique, cnp.unique, SPECIAL),
    ("unique_signed_zero_few", np.unique, cnp.unique, ZEROS),
    ("unique_counts_signed_zero", np.unique_counts, cnp.unique_counts, SPECIAL),
    ("unique_unsorted", lambda a: np.unique(a, sorted=False), lambda a: cnp.unique(a, sorted=False), CSPECIAL),
    ("unique_complex_nan", np.unique, cnp.unique, CSPECIAL),
    ("intersect1d_scalar", np.intersect1d, cnp.intersect1d, np.array(1.5), GEN),
    ("sort_signed_zero", np.sort, cnp.sort, SPECIAL),
    ("sort_signed_zero_2d", lambda a: np.sort(a, axis=0), lambda a: cnp.sort(a, axis=0), SPECIAL.reshape(2, 6)),
    # (+ 0.0: NumPy 2.4's SIMD partition can write 0.0 for an input's -0.0, which a
    # partition of a traced value, taking the input's elements, cannot do)
    ("partition", lambda a: np.partition(a, 0) + 0.0, lambda a: cnp.partition(a, 0) + 0.0, SPECIAL),
    ("abs_complex_to_float64", lambda a: np.abs(a, dtype=np.float64), lambda a: cnp.abs(a, dtype=np.float64),
     GEN + 1j * GEN[::-1]),
    ("sin_complex_to_float32", lambda a: np.sin(a, dtype=np.float32), lambda a: cnp.sin(a, dtype=np.float32),
     GEN + 1j),
    ("divide_int_to_int", lambda a: np.divide(a, a, dtype=np.int8), lambda a: cnp.divide(a, a, dtype=np.int8), GEN),
    ("add_weak_float32", lambda a: np.add(a, 1.5, dtype=np.float32), lambda a: cnp.add(a, 1.5, dtype=np.float32), GEN),
    ("modf_dtype", lambda a: np.modf(a, dtype=np.float32), lambda a: cnp.modf(a, dtype=np.float32), GEN),
    ("divmod_dtype", lambda a: np.divmod(a, 0.7, dtype=np.float32), lambda a: cnp.divmod(a, 0.7, dtype=np.float32),
     GEN),
    ("take_booleans_are_indices", lambda a: np.take(a, np.array([True, False, True])),
     lambda a: cnp.take(a, np.array([True, False, True])), GEN),
    ("take_empty_list", lambda a: np.take(a, []), lambda a: cnp.take(a, []), GEN),
    ("take_float_list", lambda a: np.take(a, [1.0, 2.0], axis=1), lambda a: cnp.take(a, [1.0, 2.0], axis=1), GEN),
    ("take_float_array", lambda a: np.take(a, np.array([1.0])), lambda a: cnp.take(a, np.array([1.0])), GEN),
    ("cross_axis_out_of_bounds", lambda a: np.cross(a, a, axis=2), lambda a: cnp.cross(a, a, axis=2), GEN),
    ("cross_axisc_out_of_bounds", lambda a: np.cross(a, a, axisc=-3), lambda a: cnp.cross(a, a, axisc=-3), GEN),
    ("vecdot_bits", lambda a: np.vecdot(a, a[::-1] * 1.3), lambda a: cnp.vecdot(a, a[::-1] * 1.3),
     np.sin(np.arange(51.0)).reshape(3, 17)),
    ("vecdot_axis0_complex", lambda a: np.vecdot(a, a * 1j, axis=0), lambda a: cnp.vecdot(a, a * 1j, axis=0),
     np.sin(np.arange(51.0)).reshape(17, 3) + 0.5j),
    ("vecdot_vectors", lambda a: np.vecdot(a, a), lambda a: cnp.vecdot(a, a), np.sin(np.arange(9.0))),
    ("vecdot_dtype", lambda a: np.vecdot(a, a, dtype=np.float32), lambda a: cnp.vecdot(a, a, dtype=np.float32), GEN),
    ("matvec_dtype", lambda a: np.matvec(a, a[0], dtype=np.float32), lambda a: cnp.matvec(a, a[0], dtype=np.float32),
     GEN.reshape(3, 2).T @ GEN.reshape(3, 2)),
    ("vecmat_dtype_casting", lambda a: np.vecmat(a[0], a, dtype=np.int8), lambda a: cnp.vecmat(a[0], a, dtype=np.int8),
     GEN[:, :2]),
    ("linalg_vecdot_bits", lambda a: np.linalg.vecdot(a, a + 1), lambda a: cnp.linalg.vecdot(a, a + 1),
     np.cos(np.arange(40.0)).reshape(2, 20)),
    ("lstsq_bits", lambda a: np.linalg.lstsq(a, a[:, 0] * 2 + 1, rcond=None),
     lambda a: cnp.linalg.lstsq(a, a[:, 0] * 2 + 1, rcond=None), np.sin(np.arange(15.0)).reshape(5, 3)),
    ("lstsq_underdetermined", lambda a: np.linalg.lstsq(a, np.ones(2)), lambda a: cnp.linalg.lstsq(a, np.ones(2)), GEN),
    ("polyfit_bits", lambda y: np.polyfit(np.arange(6.0), y, 3, full=True),
     lambda y: cnp.polyfit(np.arange(6.0), y, 3, full=True), np.cos(np.arange(6.0) * 1.7)),
    ("split_float_sections", lambda a: np.split(a, 2.0, axis=1), lambda a: cnp.split(a, 2.0, axis=1),
     GEN.reshape(3, 2)),
    ("split_zero_sections", lambda a: np.split(a, np.int8(0)), lambda a: cnp.split(a, np.int8(0)), GEN),
    ("hsplit_float", lambda a: np.hsplit(a, 3.0), lambda a: cnp.hsplit(a, 3.0), GEN),
    ("vsplit_float", lambda a: np.vsplit(a, 2.0), lambda a: cnp.vsplit(a, 2.0), GEN),
    ("astype_scalar", lambda a: np.astype(a[0], np.float32), lambda a: cnp.astype(a[0], np.float32), SPECIAL),
    ("cond_singular", lambda a: np.linalg.cond(a, 1), lambda a: cnp.linalg.cond(a, 1),
     np.array([[1.0, 2.0], [2.0, 4.0]])),
    ("cond_singular_stack", lambda a: np.linalg.cond(a, np.inf), lambda a: cnp.linalg.cond(a, np.inf),
     np.array([[[1.0, 2.0], [2.0, 4.0]], [[2.0, 1.0], [1.0, 3.0]]])),
    ("cond_empty", np.linalg.cond, cnp.linalg.cond, np.zeros((2, 0, 0))),
    ("vector_norm_empty", lambda a: np.linalg.vector_norm(a, axis=0), lambda a: cnp.linalg.vector_norm(a, axis=0),
     np.zeros((3, 0))),
    ("unwrap_signed_zero", lambda a: np.unwrap(a, axis=0), lambda a: cnp.unwrap(a, axis=0), SPECIAL.reshape(3, 4)),
    ("partition_2d", lambda a: np.partition(a, [1, 2], axis=1), lambda a: cnp.partition(a, [1, 2], axis=1),
     SPECIAL.reshape(3, 4)),
]


@pytest.mark.parametrize("case", FIXED, ids=[c[0] for c in FIXED])
def test_fixed_cases_agree_with_numpy(case):
    _, np_fun, cnp_fun, *arrays = case
    check(np_fun, cnp_fun, *arrays)


# keywords (out=, dtype=) that NumPy takes: on plain arrays chainrule.numpy passes them on
KEYWORDS = [
    ("modf", lambda f, a: f(a, out=(np.empty(3), np.empty(3))), np.modf, cnp.modf),
    ("modf_dtype", lambda f, a: f(a, dtype=np.float32), np.modf, cnp.modf),
    ("divmod", lambda f, a: f(a, 2.0, out=(np.empty(3), np.empty(3))), np.divmod, cnp.divmod),
    ("matvec", lambda f, a: f(np.ones((2, 3)), a, out=np.empty(2)), np.matvec, cnp.matvec),
    ("vecmat", lambda f, a: f(a, np.ones((3, 2)), dtype=np.float32), np.vecmat, cnp.vecmat),
    ("vecdot", lambda f, a: f(a, a, out=np.empty(())), np.vecdot, cnp.vecdot),
    ("clip_out", lambda f, a: f(a, 0, 1, out=np.empty(3)), np.clip, cnp.clip),
    ("fft_out", lambda f, a: f(a, out=np.empty(3, complex)), np.fft.fft, cnp.fft.fft),
    ("rfft_out", lambda f, a: f(a, None, -1, None, np.empty(2, complex)), np.fft.rfft, cnp.fft.rfft),
    ("fft2_out", lambda f, a: f(a.reshape(1, 3), out=np.empty((1, 3), complex)), np.fft.fft2, cnp.fft.fft2),
    ("irfftn_out", lambda f, a: f(a, out=np.empty(4)), np.fft.irfftn, cnp.fft.irfftn),
    ("clip_one_bound", lambda f, a: f(a, a_min=0), np.clip, cnp.clip),
]


@pytest.mark.parametrize("case", KEYWORDS, ids=[c[0] for c in KEYWORDS])
def test_keywords_on_plain_arrays(case):
    _, call, np_fun, cnp_fun = case
    a = np.array([1.25, -2.5, 3.75])
    assert _agrees(_outcome(call, cnp_fun, a), _outcome(call, np_fun, a))


W = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.6]])
# (name, numpy function, chainrule function): gradients of sum(f(x) * w) at GEN
GRADS = [
    ("arctan2_list", lambda x: np.arctan2(x, [1.0, 2.0, 3.0]), lambda x: cnp.arctan2(x, [1.0, 2.0, 3.0])),
    ("divide_list", lambda x: np.divide(x, [1, 2, 3]), lambda x: cnp.divide(x, [1, 2, 3])),
    ("power_list", lambda x: np.power(np.abs(x) + 1, [1, 2, 3]), lambda x: cnp.power(cnp.abs(x) + 1, [1, 2, 3])),
    ("subtract_tuple", lambda x: np.subtract((1.0, 2.0, 3.0), x), lambda x: cnp.subtract((1.0, 2.0, 3.0), x)),
    ("insert_list", lambda x: np.insert(x, [0, 2], [7, 8], axis=1)[:, :3],
     lambda x: cnp.insert(x, [0, 2], [7, 8], axis=1)[:, :3]),
    ("cov", lambda x: np.cov(x.T)[:2], lambda x: cnp.cov(x.T)[:2]),
    ("sort_axis0", lambda x: np.sort(x, axis=0), lambda x: cnp.sort(x, axis=0)),
    ("partition", lambda x: np.partition(x, 1, axis=1), lambda x: cnp.partition(x, 1, axis=1)),
    ("lstsq", lambda x: np.linalg.lstsq(x.T, [1.0, -2.0, 0.5])[0][:, None] * np.ones(3),
     lambda x: cnp.linalg.lstsq(x.T, [1.0, -2.0, 0.5])[0][:, None] * np.ones(3)),
    ("lstsq_residuals", lambda x: np.linalg.lstsq(x.T[:, :1], [1.0, -2.0, 0.5])[1] * np.ones(3),
     lambda x: cnp.linalg.lstsq(x.T[:, :1], [1.0, -2.0, 0.5])[1] * np.ones(3)),
    ("polyfit", lambda x: np.polyfit(np.arange(6.0), x.ravel(), 2) * np.ones((2, 1)),
     lambda x: cnp.polyfit(np.arange(6.0), cnp.ravel(x), 2) * np.ones((2, 1))),
]


@pytest.mark.parametrize("case", GRADS, ids=[c[0] for c in GRADS])
def test_gradients_match_central_differences(case):
    _, np_fun, cnp_fun = case
    g = cr.grad(lambda x: cnp.sum(cnp_fun(x) * W))(GEN.copy())
    fd = central_differences(lambda x: float(np.sum(np_fun(x) * W)), GEN.copy())
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


# A broad, cheap table from the sweep: elementwise functions over dtypes and edge values
UNARY = sorted(n for n in dir(np) if isinstance(getattr(np, n), np.ufunc) and getattr(np, n).nin == 1
               and getattr(np, n).nout == 1 and n not in ("isnat", "bitwise_count"))
DTYPES = ["float64", "float32", "float16", "int8", "uint8", "bool", "complex128"]


def _edge(dtype):
    with np.errstate(all="ignore"):
        if np.dtype(dtype).kind in "fc":
            return SPECIAL.astype(dtype) if dtype != "complex128" else CSPECIAL
        return np.array([0, 1, -1, 127, -128, 5, 3]).astype(dtype)


@pytest.mark.parametrize("name", UNARY)
def test_unary_functions_over_dtypes(name):
    for dtype in DTYPES:
        x = _edge(dtype)
        for a in (x, x[:0], x[2:3].reshape(())):
            check(getattr(np, name), getattr(cnp, name), a, jit=a.ndim == 1 and a.size > 0)


BINARY = sorted(n for n in dir(np) if isinstance(getattr(np, n), np.ufunc) and getattr(np, n).nin == 2
                and getattr(np, n).nout == 1 and getattr(np, n).signature is None)
# operand pairs: NEP 50 promotion (a Python number takes the array's dtype), broadcasting
PAIRS = [
    (GEN.astype(np.float32), 1.5), (GEN.astype(np.float16), 2.0), (np.arange(6, dtype=np.int8), 2),
    (np.arange(6, dtype=np.int8), 300), (GEN, GEN.astype(np.float32)[0]), (np.array(2.0), GEN.astype(np.float32)),
    (SPECIAL, np.roll(SPECIAL, 5)), (np.arange(6, dtype=np.uint8), np.arange(6, dtype=np.int8)),
]


@pytest.mark.parametrize("name", BINARY)
def test_binary_functions_promote_as_numpy(name):
    np_fun, cnp_fun = getattr(np, name), getattr(cnp, name)
    for x, y in PAIRS:
        if isinstance(y, float | int):
            check(lambda a, y=y: np_fun(a, y), lambda a, y=y: cnp_fun(a, y), x)
        else:
            check(np_fun, cnp_fun, x, y)


REDUCTIONS = ["sum", "prod", "mean", "std", "var", "max", "min", "amax", "amin", "nansum", "nanprod", "nanmean",
              "nanstd", "nanvar", "nanmax", "nanmin", "median", "nanmedian", "ptp", "cumsum", "cumprod", "nancumsum",
              "nancumprod", "argmax", "argmin", "any", "all", "count_nonzero", "average", "sort", "flip"]
AXES = [None, 0, -1, (0, 1)]


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reductions_over_axes(name):
    np_fun, cnp_fun = getattr(np, name), getattr(cnp, name)
    for x in (SPECIAL.reshape(3, 4), np.arange(12, dtype=np.int8).reshape(3, 4), np.zeros((3, 0), np.float32)):
        for axis in AXES:
            check(lambda a, axis=axis: np_fun(a, axis=axis), lambda a, axis=axis: cnp_fun(a, axis=axis), x,
                  jit=axis in (None, 0))


def test_jit_traces_a_numpy_integer_size_and_histogram_weights():
    freq = cr.jit(lambda n, d: (cnp.fft.fftfreq(n, d), cnp.fft.rfftfreq(n, d)))
    for n, d in ((np.int64(6), np.float32(2.0)), (np.int64(5), np.float32(0.5)), (np.int64(0), np.float32(1.0))):
        assert _agrees(_outcome(freq, n, d), _outcome(lambda n, d: (np.fft.fftfreq(n, d), np.fft.rfftfreq(n, d)), n, d))
    hist = cr.jit(lambda a, w: cnp.histogram(a, weights=w))
    for a in (GEN.ravel(), GEN.ravel()[::-1] * 2):
        assert _same(hist(a, a + 3), np.histogram(a, weights=a + 3))
    assert cr.grad(lambda d: cnp.sum(cnp.fft.fftfreq(4, d)))(2.0) == 0.125  # sum is -1/(2d)


@pytest.mark.parametrize("fun", [lambda m, a: m.sort(a, axis=-1), lambda m, a: m.partition(a, 3, axis=-1)],
                         ids=["sort", "partition"])
def test_traced_sort_of_signed_zeros_is_numpys_up_to_the_sign_of_zeros(fun):
    """NumPy's SIMD sort and partition of longer rows can write 0.0 for an input's -0.0;
    on a traced value the result is a rearrangement of the input, and NumPy's values
    otherwise, with each row's zeros where NumPy has them."""
    b = np.random.default_rng(1).normal(size=(6, 40))
    b[:, 5], b[:, 11], b[:, 17] = 0.0, -0.0, -0.0
    ours = cr.vjp(lambda a: fun(cnp, a), b)[0]
    np.testing.assert_array_equal(ours, fun(np, b))  # equal values (-0.0 == 0.0)
    for row, given in zip(ours, b, strict=True):  # the input's bits, each once
        assert sorted(row.view(np.uint64)) == sorted(given.view(np.uint64))

"""Set functions (chainrule/numpy/sets.py): values, indices, inverses and counts equal
NumPy's bit for bit; the values are selections whose derivative goes to the element each
came from (first occurrences, ``ar1`` for ``intersect1d``), checked against finite
differences in both modes and against JAX (which needs ``size=``); errors under vmap;
jit replays follow the data."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = pytest.importorskip("jax.numpy")

rng = np.random.default_rng(5)
# ties, a value in both arrays, in one only, and (for the NaN cases) NaNs
A = np.array([3.0, 1.5, -2.0, 3.0, 0.25, 1.5, 7.0])
B = np.array([1.5, 4.0, 3.0, 4.0, -6.0])
NAN = np.array([np.nan, 2.0, np.nan, -1.0, 2.0])

# name: (function of (module, *arrays, **jax_only), arrays, whether JAX has it (with size=))
CASES = {
    "unique": (lambda L, a, **k: L.unique(a, **k), (A,), True),
    "unique_2d": (lambda L, a, **k: L.unique(a, **k), (A[:6].reshape(2, 3),), True),
    "unique_all_returns": (lambda L, a: L.unique(a, True, True, True), (A,), False),
    "unique_axis_0": (lambda L, a: L.unique(a, axis=0), (np.array([[1.0, 2], [0, 5], [1, 2]]),), False),
    "unique_axis_1_index": (lambda L, a: L.unique(a, return_index=True, axis=1),
                            (np.array([[1.0, 0, 1, 3], [2, 5, 2, 3]]),), False),
    "unique_nan": (lambda L, a: L.unique(a, return_index=True, return_counts=True), (NAN,), False),
    "unique_nan_not_equal": (lambda L, a: L.unique(a, equal_nan=False), (NAN,), False),
    "unique_values": (lambda L, a, **k: L.unique_values(a, **k), (A,), True),
    "unique_counts": (lambda L, a: tuple(L.unique_counts(a)), (A,), False),
    "unique_inverse": (lambda L, a: tuple(L.unique_inverse(a)), (A[:6].reshape(3, 2),), False),
    "unique_all": (lambda L, a: tuple(L.unique_all(a)), (A,), False),
    "intersect1d": (lambda L, a, b, **k: L.intersect1d(a, b, **k), (A, B), True),
    "intersect1d_indices": (lambda L, a, b: L.intersect1d(a, b, return_indices=True), (A, B), False),
    "intersect1d_assume_unique": (lambda L, a, b: L.intersect1d(a, b, assume_unique=True),
                                  (np.array([4.0, 1, 3]), np.array([3.0, 4])), False),
    "union1d": (lambda L, a, b, **k: L.union1d(a, b, **k), (A, B), True),
    "setdiff1d": (lambda L, a, b, **k: L.setdiff1d(a, b, **k), (A, B), True),
    "setdiff1d_assume_unique": (lambda L, a, b: L.setdiff1d(a, b, assume_unique=True),
                                (np.array([4.0, 1, 3]), np.array([3.0, 5])), False),
    "setxor1d": (lambda L, a, b, **k: L.setxor1d(a, b, **k), (A, B), True),
    "empty": (lambda L, a, b: L.union1d(a, b), (np.zeros(0), np.zeros(0)), False),
    "complex": (lambda L, a: L.unique(a), (np.array([1 + 2j, 1 - 2j, 1 + 2j]),), False),
}


def _plain(t):
    return t.primal() if isinstance(t, cr.Tensor) else t


def _leaves(out):
    return list(out) if isinstance(out, tuple) else [out]


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_equal_numpy(name):
    f, args, _ = CASES[name]
    want = _leaves(f(np, *args))
    got = f(cnp, *(cr.tensor(a) for a in args))
    assert type(got) is type(f(np, *args)) or isinstance(got, cr.Tensor)
    got = _leaves(got)
    assert len(got) == len(want)
    assert isinstance(got[0], cr.Tensor)  # the values are data to differentiate
    for g, w in zip(got, want, strict=True):
        g = _plain(g)
        assert g.dtype == w.dtype and g.shape == w.shape, (g, w)
        np.testing.assert_array_equal(g, w)


# Finite differences need inputs without ties (a tie split by a step changes how many
# elements there are) and, for the functions of two arrays, values that stay apart
DISTINCT = rng.permutation(np.linspace(-3.0, 3.0, 7))
APART = np.array([10.0, -10.0, 20.0])
SMOOTH = {
    "unique": (DISTINCT,), "unique_2d": (DISTINCT[:6].reshape(2, 3),), "unique_all_returns": (DISTINCT,),
    "unique_axis_0": (np.array([[1.0, 2], [0, 5], [3, 2]]),), "unique_values": (DISTINCT,),
    "unique_counts": (DISTINCT,), "unique_inverse": (DISTINCT[:6].reshape(3, 2),), "unique_all": (DISTINCT,),
    "union1d": (DISTINCT, APART), "setdiff1d": (DISTINCT, APART), "setxor1d": (DISTINCT, APART),
    "complex": (np.array([1 + 2j, 2 - 2j, -1 + 0.5j]),),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_gradcheck_both_modes(name):
    f = CASES[name][0]
    assert cr.gradcheck(lambda *a: _leaves(f(cnp, *a))[0], *SMOOTH[name], order=2)


@pytest.mark.parametrize("name", sorted(n for n, case in CASES.items() if case[2]))
def test_gradient_goes_where_jax_sends_it(name):
    f, args, _ = CASES[name]
    size = _leaves(f(np, *args))[0].size
    weights = np.linspace(1.0, 2.0, size)
    argnums = tuple(range(len(args)))
    want = jax.grad(lambda *a: jnp.sum(jnp.sin(f(jnp, *a, size=size)) * weights), argnums=argnums)(*args)
    got = cr.grad(lambda *a: cnp.sum(cnp.sin(f(cnp, *a)) * weights), argnums=argnums)(*args)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-14, atol=0)


def test_first_occurrence_takes_the_gradient_and_nan_too():
    x = np.array([2.0, np.nan, 2.0, np.nan, 1.0])
    g = cr.grad(lambda x: cnp.nansum(cnp.unique(x) * np.array([10.0, 20.0, 30.0])))(x)
    np.testing.assert_array_equal(g, [20.0, 0.0, 0.0, 0.0, 10.0])


def test_integer_inputs_have_numpy_values():
    a = np.array([3, 1, 3, 2])
    np.testing.assert_array_equal(_plain(cnp.unique(cr.tensor(a))), np.unique(a))
    np.testing.assert_array_equal(_plain(cnp.intersect1d(cr.tensor(a), np.array([3, 9]))), [3])


@pytest.mark.parametrize("call", [
    lambda x: cnp.unique(x), lambda x: cnp.union1d(x, x), lambda x: cnp.intersect1d(x, x),
    lambda x: cnp.setdiff1d(x, x[:1]), lambda x: cnp.setxor1d(x, x[:1]), lambda x: cnp.unique_all(x),
])
def test_under_vmap_is_refused_with_the_reason(call):
    with pytest.raises(TypeError, match="number of elements it returns depends"):
        cr.vmap(call)(np.ones((2, 3)))


def test_unique_under_vmap_names_size():
    with pytest.raises(TypeError, match=r"unique\(x, size=n, fill_value=v\)"):
        cr.vmap(cnp.unique)(np.ones((2, 3)))


def test_fixed_size_forms_on_plain_arrays_and_their_errors():
    a = np.array([[3.0, 1.0], [3.0, 0.0]])
    np.testing.assert_array_equal(cnp.unique(a, size=2), [0.0, 1.0])  # cut
    np.testing.assert_array_equal(cnp.unique(a, size=4), [0.0, 1.0, 3.0, 0.0])  # the smallest
    np.testing.assert_array_equal(cnp.unique(np.zeros(0), size=2, fill_value=7.0), [7.0, 7.0])
    np.testing.assert_array_equal(cnp.flatnonzero(a, size=4, fill_value=-1), [0, 1, 2, -1])
    np.testing.assert_array_equal(cnp.argwhere(a == 3.0, size=1), [[0, 0]])
    np.testing.assert_array_equal(cnp.where(a > 2, size=3)[1], [0, 0, 0])
    np.testing.assert_array_equal(cnp.argwhere(np.float64(1.0), size=2), np.zeros((2, 0)))
    with pytest.raises(ValueError, match="needs a fill_value"):
        cnp.unique(np.zeros(0), size=2)
    with pytest.raises(NotImplementedError, match="axis=None"):
        cnp.unique(a, size=2, axis=0)
    with pytest.raises(TypeError, match="non-negative int"):
        cnp.nonzero(a, size=-1)
    with pytest.raises(TypeError, match="only meaningful with size"):
        cnp.unique(a, fill_value=0.0)
    with pytest.raises(ValueError, match="2 axes"):
        cnp.nonzero(a, size=2, fill_value=(1, 2, 3))
    with pytest.raises(TypeError, match="one-argument form"):
        cnp.where(a > 0, a, 0.0, size=2)


def test_jit_replays_follow_the_data():
    def f(x, y):
        return cnp.sum(cnp.union1d(x, y) ** 2) + cnp.sum(cnp.setdiff1d(x, y))

    step = cr.jit(cr.value_and_grad(f))
    for _ in range(2):
        for x, y in ((A, B), (A[::-1], B), (np.array([1.0, 1.0, 5.0, 6.0, 1.0, 1.0, 1.0]), B)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = step(x, y)
            want = cr.value_and_grad(f)(x, y)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])


def test_isin_stays_plain_booleans():
    out = cnp.isin(cr.tensor(A), B)
    assert isinstance(out, np.ndarray) and out.dtype == bool
    np.testing.assert_array_equal(out, np.isin(A, B))


# -- trim_zeros: a box of the elements ------------------------------------------------------
Z1 = np.array([0.0, -0.0, 1.5, 0.0, -2.0, 0.0])
Z2 = np.array([[0.0, 0.0, 2.0, 3.0, 0.0, 0.0], [0.0, 1.0, 0.0, 3.0, 0.0, 0.0], [0.0] * 6])
TRIMS = [(Z1, trim, axis) for trim in ("fb", "f", "b", "BF") for axis in (None, 0, -1)]
TRIMS += [(Z2, trim, axis) for trim in ("fb", "f", "b") for axis in (None, 0, 1, (0, 1), -1)]
TRIMS += [(np.zeros(3), "fb", None), (np.zeros((2, 2)), "b", 1), (np.zeros(0), "fb", None),
          (np.array([1.0, 2.0]), "fb", None), (np.array(0.0), "fb", None),
          (np.array([0.0, 3.0, 0.0], np.float32), "fb", None)]


@pytest.mark.parametrize("a, trim, axis", TRIMS)
def test_trim_zeros_values_and_gradient(a, trim, axis):
    want = np.trim_zeros(a, trim, axis)
    got = cnp.trim_zeros(cr.tensor(a), trim, axis)
    assert _plain(got).dtype == want.dtype and _plain(got).shape == want.shape
    np.testing.assert_array_equal(_plain(got), want)
    # each kept element keeps its derivative (finite differences would change the box: the
    # zeros cut off are exactly where a step makes an element nonzero)
    positions = np.arange(a.size, dtype=float).reshape(a.shape) + 1
    box = np.isin(positions, np.ravel(_box(positions, a, trim, axis)))
    g = cr.grad(lambda x: cnp.sum(cnp.trim_zeros(x, trim, axis) ** 2))(a * 1.0) if a.size else None
    if g is not None:
        np.testing.assert_array_equal(g, np.where(box, 2 * a, 0.0))


def _box(positions, a, trim, axis):
    """The positions NumPy's trim_zeros keeps: trim ``a`` and ``positions`` alike."""
    nd = a.ndim
    axes = range(nd) if axis is None else [ax % nd for ax in np.atleast_1d(axis)]
    out = positions
    for ax in axes:
        nonzero = np.flatnonzero(np.any(a != 0, axis=tuple(b for b in range(nd) if b != ax)))
        if nonzero.size == 0:
            return np.zeros(0)
        lo = nonzero[0] if "f" in trim.lower() else 0
        hi = nonzero[-1] + 1 if "b" in trim.lower() else a.shape[ax]
        out = np.take(out, np.arange(lo, hi), axis=ax)
    return out


def test_trim_zeros_modes_jit_vmap_and_errors():
    x = np.array([0.0, 2.0, 0.0, 3.0, 0.0])
    assert cr.gradcheck(lambda v: cnp.trim_zeros(v * np.array([0.0, 1, 1, 1, 0])), x + 0.5, order=2)
    out, tangent = cr.jvp(cnp.trim_zeros, (x,), (np.arange(5.0),))
    np.testing.assert_array_equal(tangent, [1.0, 2.0, 3.0])
    step = cr.jit(cr.grad(lambda v: cnp.sum(cnp.trim_zeros(v) ** 2)))
    for v in (x, np.array([0.0, 0.0, 1.0, 4.0, 0.0]), x):
        np.testing.assert_array_equal(step(v), 2 * v)
    with pytest.raises(TypeError, match="number of elements it returns depends"):
        cr.vmap(cnp.trim_zeros)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="unexpected character"):
        cnp.trim_zeros(cr.tensor(x), "x")
    assert cnp.trim_zeros([0.0, 1.0, 0.0]) == [1.0]  # plain input: NumPy's (a list stays a list)

"""Indexing: basic, advanced (repeated indices add up), boolean and None/Ellipsis indices,
indices held in Tensors, and the gathering functions built on them."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor

rng = np.random.default_rng(1)
X = rng.standard_normal((3, 4))
T3 = rng.standard_normal((2, 3, 4))
V = rng.standard_normal(6)
MASK = X > 0

# id: (function of one array, the array)
SPECS = {
    "int": (lambda a: a[1], X),
    "negative_int": (lambda a: a[-1, -2], X),
    "slice": (lambda a: a[1:, ::2], X),
    "negative_step": (lambda a: a[::-1, 3:0:-2], X),
    "none_ellipsis": (lambda a: a[None, ..., 1], T3),
    "ellipsis_middle": (lambda a: a[1, ..., None, 2:], T3),
    "scalar_of_0d": (lambda a: a[()], np.array(0.3)),
    "fancy": (lambda a: a[[2, 0]], X),
    "fancy_repeated": (lambda a: a[[0, 0, 2], [1, 1, 3]], X),
    "fancy_2d_index": (lambda a: a[np.array([[0, 5], [5, 5]])], V),
    "fancy_and_slice": (lambda a: a[:, [2, 0, 2], 1:], T3),
    "fancy_split_by_slice": (lambda a: a[[1, 0], :, [3, 3]], T3),
    "mask": (lambda a: a[MASK], X),
    "mask_row": (lambda a: a[:, np.array([True, False, True, True])], X),
    "empty_list": (lambda a: a[[]], X),
    "take_flat": (lambda a: cnp.take(a, [[0, 5], [5, 11]]), X),
    "take_axis": (lambda a: cnp.take(a, [3, 0, 3], axis=-1), T3),
    "take_scalar": (lambda a: cnp.take(a, 2, axis=1), X),
    "take_wrap": (lambda a: cnp.take(a, [1, 7, -1], axis=1, mode="wrap"), X),
    "take_clip": (lambda a: cnp.take(a, [1, 7, -9], axis=1, mode="clip"), X),
    "take_along_axis": (lambda a: cnp.take_along_axis(a, np.array([[0, 0, 2], [1, 3, 3]]), 1),
                        X[:2]),
    "take_along_axis_0": (lambda a: cnp.take_along_axis(a, np.array([[2, 0, 0, 1]]), axis=0), X),
    "take_along_axis_none": (lambda a: cnp.take_along_axis(a, np.array([11, 0, 0]), None), X),
    "compress": (lambda a: cnp.compress([True, False, True], a, axis=0), X),
    "compress_flat": (lambda a: cnp.compress([False, True, True], a), X),
    "extract": (lambda a: cnp.extract(MASK, a), X),
    "delete": (lambda a: cnp.delete(a, [0, 2], axis=1), X),
    "delete_flat": (lambda a: cnp.delete(a, slice(1, 9, 3)), X),
}


def value(x):
    return np.asarray(x.primal() if isinstance(x, Tensor) else x)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_values_match_numpy(name):
    f, x = SPECS[name]
    out, _ = cr.vjp(f, x)
    # On a plain array every entry of the table is NumPy's own indexing/function.
    expected = f(x)
    assert value(out).shape == np.shape(expected) and np.array_equal(value(out), expected)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_gradcheck(name):
    f, x = SPECS[name]
    assert cr.gradcheck(f, x, order=2)


def test_repeated_indices_accumulate():
    # f = 2 x0 + 3 x0 + 5 x2: the gradient adds the weights of the repeated index
    w = np.array([2.0, 3.0, 5.0])
    g = cr.grad(lambda a: cnp.sum(a[[0, 0, 2]] * w))(np.ones(4))
    assert np.array_equal(g, [5.0, 0.0, 5.0, 0.0])
    g = cr.grad(lambda a: cnp.sum(a[[1, 1], [0, 0]] ** 2))(X)
    expected = np.zeros_like(X)
    expected[1, 0] = 4 * X[1, 0]
    assert np.allclose(g, expected)
    # forward mode: the tangent is gathered the same way
    _, t = cr.jvp(lambda a: a[[0, 0, 2]], (np.ones(4),), (np.arange(4.0),))
    assert np.array_equal(t, [0.0, 0.0, 2.0])


def test_boolean_mask_gradient():
    g = cr.grad(lambda a: cnp.sum(a[a > 0] ** 2))(X)
    assert np.allclose(g, np.where(X > 0, 2 * X, 0.0))


def test_indices_given_as_tensors():
    i = cr.tensor(np.array([0, 2]))
    g = cr.grad(lambda a: cnp.sum(a[i, [i[1], 1]]))(X)
    expected = np.zeros_like(X)
    expected[0, 2] = expected[2, 1] = 1.0
    assert np.array_equal(g, expected)

    def f(a):  # an index computed from a traced value is read as a plain index
        k = cnp.argmax(a)
        return a[k] * 2 + cnp.take(a, [k, k])[0]

    assert np.array_equal(cr.grad(f)(np.array([1.0, 3.0, 2.0])), [0.0, 3.0, 0.0])


def test_mask_in_a_list_and_eager_indexing():
    x = cr.tensor(V, requires_grad=True)
    cnp.sum(x[[True, False, True, False, False, True]] * 3).backward()
    assert np.array_equal(value(x.grad), [3.0, 0, 3.0, 0, 0, 3.0])


# -- indexing, as a property ------------------------------------------------------------------
@st.composite
def indexed(draw):
    """A shape and an index into it mixing ints, slices, integer lists (with repeats),
    None and Ellipsis; the advanced indices share a length so they broadcast."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    n_fancy = draw(st.integers(1, 3))
    items = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "fancy", "all"]))
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.none() | st.integers(-n - 1, n + 1))
            stop = draw(st.none() | st.integers(-n - 1, n + 1))
            step = draw(st.none() | st.sampled_from([-2, -1, 1, 2, 3]))
            items.append(slice(start, stop, step))
        elif kind == "fancy":
            items.append(draw(st.lists(st.integers(-n, n - 1), min_size=n_fancy, max_size=n_fancy)))
        else:
            items.append(slice(None))
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    if draw(st.booleans()):  # drop trailing axes behind an Ellipsis
        k = draw(st.integers(0, len(items)))
        items = items[:k] + [Ellipsis] + items[k + 1:]
    return shape, tuple(items)


@settings(max_examples=40, deadline=None)
@given(indexed(), st.integers(0, 2**16))
def test_vjp_of_indexing_is_a_scatter_add(case, seed):
    shape, index = case
    r = np.random.default_rng(seed)
    x = r.standard_normal(shape)
    out, pull = cr.vjp(lambda a: a[index], x)
    assert np.array_equal(value(out), x[index])
    c = r.standard_normal(np.shape(x[index]))
    expected = np.zeros(shape)
    np.add.at(expected, tuple(np.asarray(i) if isinstance(i, list) else i for i in index), c)
    (g,) = pull(c)
    assert np.shape(g) == shape and np.allclose(g, expected)
    t = r.standard_normal(shape)
    assert np.array_equal(cr.jvp(lambda a: a[index], (x,), (t,))[1], t[index])


# -- sort_complex -----------------------------------------------------------------------------
@pytest.mark.parametrize("a", [
    np.array([3.0, 1.0, -2.0, 0.5]),
    np.array([[3.0, 1 + 2j, 1.5 - 1j], [0.0, -1.0, 0.2 + 2j]]),
    np.array([5, 3, 6], np.int16),
    np.array([2.0, -1.0], np.float32),
    np.zeros((2, 0)),
])
def test_sort_complex_values_gradients_and_vmap_as_numpy_and_jax(a):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    want = np.sort_complex(a)
    got = cnp.sort_complex(cr.tensor(a))
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got.numpy(), want)
    if a.dtype.kind not in "fc" or a.size == 0:
        return
    w = np.linspace(1.0, 2.0, a.size).reshape(a.shape)
    f = lambda L: lambda x: L.sum(L.abs(L.sort_complex(x) * w + 1.0) ** 2)  # noqa: E731
    single = a.dtype == np.float32
    np.testing.assert_allclose(cr.grad(f(cnp))(a), jax.grad(f(jnp))(a), rtol=1e-6 if single else 1e-13)
    assert single or cr.gradcheck(f(cnp), a, order=2)
    batch = np.stack([a, -a])
    np.testing.assert_array_equal(cr.vmap(cnp.sort_complex)(batch), jax.vmap(jnp.sort_complex)(batch))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 9), st.integers(0, 2**31 - 1))
def test_take_past_axis_0_sums_to_numpys_last_bit(rows, cols, seed):
    """The value of a traced take along axis 1 has NumPy's (C) order, so that a sum of all
    its elements adds them up in NumPy's order: grad's value and jit's replay (of a
    PyTorch topk, which takes its indices so) are the plain call's to the last bit."""
    rng = np.random.default_rng(seed)
    x, idx = rng.standard_normal((rows, cols)), rng.integers(0, cols, (3, 2))
    value, _ = cr.value_and_grad(lambda x: cnp.sum(cnp.take(x, idx, axis=1)))(x)
    assert value == np.sum(np.take(x, idx, axis=1))
    k = min(2, cols)
    f = lambda t: t.topk(k)[0].sum() * t  # noqa: E731
    jitted = cr.jit(f)
    jitted(cr.tensor(rng.standard_normal((rows, cols))))  # traced on other values
    t = cr.tensor(x)
    np.testing.assert_array_equal(jitted(t).numpy(), f(t).numpy())


@pytest.mark.parametrize("mode", ["raise", "clip", "wrap"])
@pytest.mark.parametrize("shape, indices, axis", [
    ((0,), [], None), ((0,), [0], None), ((0, 3), [1], 0), ((2, 0), [0], 1), ((2, 0, 3), [1, 2], 1),
    ((0, 0), [[0, 1]], 1), ((0, 0), [-1], 0), ((0, 2, 0), [[1]], 2), ((0, 3), [0], 1)])
def test_take_along_an_empty_axis_as_numpy(shape, indices, axis, mode):
    # NumPy: an IndexError where the result would have elements, an index error in mode
    # 'raise' where the axes before have elements, else an empty result (a traced take indexed
    # the empty axis, or clipped to -1, and raised otherwise). (NumPy's 'wrap' loops forever
    # on (0, 0)[[-1]]: that case reads 'clip''s answer, the same empty result.)
    a, idx = np.zeros(shape), np.array(indices, dtype=np.intp)
    plain_mode = "clip" if (mode, shape, axis) == ("wrap", (0, 0), 0) else mode
    try:
        want = np.take(a, idx, axis=axis, mode=plain_mode)
    except IndexError as e:
        for f in (lambda a: cnp.take(a, idx, axis=axis, mode=mode),
                  lambda a: cr.vjp(lambda a: cnp.take(a, idx, axis=axis, mode=mode), a)[0],
                  cr.grad(lambda a: cnp.sum(cnp.take(a, idx, axis=axis, mode=mode)))):
            with pytest.raises(IndexError, match=re.escape(str(e))):
                f(a)
        return
    out, back = cr.vjp(lambda a: cnp.take(a, idx, axis=axis, mode=mode), a)
    assert out.shape == want.shape and back(np.ones_like(want))[0].shape == shape

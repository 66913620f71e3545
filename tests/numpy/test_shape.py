"""Shape functions: the same values as NumPy on Tensors, and derivatives that agree with
finite differences in both modes to second order, over a table of calling forms."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor

rng = np.random.default_rng(0)


def normal(*shape):
    return rng.standard_normal(shape)


X = normal(3, 4)
V = normal(5)
T3 = normal(2, 3, 4)
S = np.array(0.7)
E = np.zeros((0, 3))
# Spacings for np.gradient: one uniform axis given as coordinates, one not.
XS, YS = np.array([0.0, 1.0, 3.0]), np.array([0.0, 0.5, 1.0, 1.5])

# id: (call(m, *arrays) with m = numpy or chainrule.numpy, the arrays)
SPECS = {
    # reshaping
    "reshape": (lambda m, a: m.reshape(a, (4, 3)), [X]),
    "reshape_minus1_F": (lambda m, a: m.reshape(a, (-1, 2), order="F"), [X]),
    "reshape_keyword": (lambda m, a: m.reshape(a, shape=(2, 6)), [X]),
    "reshape_A_of_transpose": (lambda m, a: m.reshape(m.transpose(a), (2, 6), order="A"), [X]),
    "reshape_0d": (lambda m, a: m.reshape(a, (1, 1)), [S]),
    "reshape_empty": (lambda m, a: m.reshape(a, (3, 0)), [E]),
    "ravel": (lambda m, a: m.ravel(a), [T3]),
    "ravel_F": (lambda m, a: m.ravel(a, order="F"), [X]),
    "ravel_K_strided": (lambda m, a: m.ravel(m.transpose(a)[::2], order="K"), [X]),
    "ravel_A_transposed": (lambda m, a: m.ravel(m.transpose(a), order="A"), [X]),
    "transpose": (lambda m, a: m.transpose(a), [T3]),
    "transpose_axes": (lambda m, a: m.transpose(a, (1, 2, 0)), [T3]),
    "transpose_negative": (lambda m, a: m.transpose(a, (-1, 0, -2)), [T3]),
    "permute_dims": (lambda m, a: m.permute_dims(a, (2, 0, 1)), [T3]),
    "matrix_transpose": (lambda m, a: m.matrix_transpose(a), [T3]),
    "moveaxis": (lambda m, a: m.moveaxis(a, 0, -1), [T3]),
    "moveaxis_many": (lambda m, a: m.moveaxis(a, [0, 1], [-1, -3]), [T3]),
    "swapaxes": (lambda m, a: m.swapaxes(a, 0, -1), [T3]),
    "rollaxis": (lambda m, a: m.rollaxis(a, 2), [T3]),
    "rollaxis_start": (lambda m, a: m.rollaxis(a, 0, 3), [T3]),
    "expand_dims": (lambda m, a: m.expand_dims(a, 1), [X]),
    "expand_dims_tuple": (lambda m, a: m.expand_dims(a, (0, -1)), [X]),
    "squeeze": (lambda m, a: m.squeeze(m.reshape(a, (1, 3, 1, 4))), [X]),
    "squeeze_axis": (lambda m, a: m.squeeze(m.reshape(a, (1, 3, 1, 4)), axis=2), [X]),
    "squeeze_tuple": (lambda m, a: m.squeeze(m.reshape(a, (1, 3, 1, 4)), axis=(0, 2)), [X]),
    "broadcast_to": (lambda m, a: m.broadcast_to(a, (2, 5)), [V]),
    "broadcast_to_0d": (lambda m, a: m.broadcast_to(a, (2, 2)), [S]),
    "broadcast_to_inner": (lambda m, a: m.broadcast_to(a[:, :1], (2, 3, 4)), [X]),
    "broadcast_arrays": (lambda m, a, b: m.broadcast_arrays(a, b), [X, V[:4]]),
    "atleast_1d": (lambda m, a: m.atleast_1d(a), [S]),
    "atleast_2d": (lambda m, a: m.atleast_2d(a), [V]),
    "atleast_3d_many": (lambda m, a, b, c: m.atleast_3d(a, b, c), [S, V, X]),
    "meshgrid": (lambda m, a, b: m.meshgrid(a, b), [V, V[:3]]),
    "meshgrid_ij_sparse": (lambda m, a, b: m.meshgrid(a, b, indexing="ij", sparse=True), [V, X[0]]),
    # joining
    "concatenate": (lambda m, a, b: m.concatenate([a, b, a]), [X, X[:1]]),
    "concatenate_axis1": (lambda m, a, b: m.concatenate((a, b), axis=-1), [X, X[:, :2]]),
    "concatenate_none": (lambda m, a, b: m.concatenate([a, b], axis=None), [X, V]),
    "concatenate_plain_part": (lambda m, a: m.concatenate([a, np.ones(2)]), [V]),
    "concat": (lambda m, a, b: m.concat([a, b]), [V, V]),
    "stack": (lambda m, a, b: m.stack([a, b, a]), [X, X]),
    "stack_last": (lambda m, a, b: m.stack([a, b], axis=-1), [V, V]),
    "stack_0d": (lambda m, a, b: m.stack([a, b]), [S, S]),
    "hstack_1d": (lambda m, a, b: m.hstack([a, b]), [V, V[:2]]),
    "hstack_2d": (lambda m, a, b: m.hstack((a, b)), [X, X[:, :1]]),
    "vstack": (lambda m, a, b: m.vstack([a, b]), [X[0], X]),
    "dstack": (lambda m, a, b: m.dstack([a, b]), [X, X]),
    "column_stack": (lambda m, a, b: m.column_stack([a, b]), [X[:, 0], X]),
    "append": (lambda m, a, b: m.append(a, b), [X, V]),
    "append_axis": (lambda m, a, b: m.append(a, b, axis=0), [X, X[:2]]),
    # negative axes, with plain and empty operands beside the traced ones
    "concatenate_negative_mixed": (lambda m, a: m.concatenate(
        [m.broadcast_to(a, (3, 3)), np.zeros((3, 0)), np.zeros((3, 3)), a[:, None]], axis=-1), [V[:3]]),
    "concatenate_plain_first_negative": (lambda m, a: m.concatenate(
        [np.ones((1, 4)), a, np.zeros((0, 4)), a[:1] * 2], axis=-2), [X]),
    "concatenate_negative_3d": (lambda m, a: m.concatenate([np.ones((2, 1, 4)), a], axis=-2), [T3]),
    "stack_negative_mixed": (lambda m, a: m.stack([a, np.ones(4), a * 2], axis=-1), [X[0]]),
    "stack_negative_middle": (lambda m, a: m.stack([np.zeros((3, 4)), a], axis=-2), [X]),
    "stack_negative_first": (lambda m, a: m.stack([a, np.zeros((2, 3, 4))], axis=-4), [T3]),
    "stack_empty_negative": (lambda m, a: m.stack([a[:0], np.zeros(0)], axis=-1), [V]),
    "hstack_mixed_empty": (lambda m, a: m.hstack([np.zeros(0), a, np.ones(2), a[:0]]), [V]),
    "vstack_mixed": (lambda m, a: m.vstack([a, np.ones(5), a[::-1]]), [V]),
    "dstack_mixed": (lambda m, a: m.dstack([np.ones(4), a, a * 3]), [X[0]]),
    "append_negative": (lambda m, a: m.append(a, np.ones((3, 1)), axis=-1), [X]),
    "append_plain_first_negative": (lambda m, a: m.append(np.ones((1, 4)), a, axis=-2), [X]),
    # 0-d arrays, which NumPy takes along axis 0 (or -1) as 1-d
    "repeat_0d": (lambda m, a: m.repeat(a, 3), [S]),
    "repeat_0d_axis": (lambda m, a: m.repeat(a, 2, axis=-1), [S]),
    "repeat_0d_counts": (lambda m, a: m.repeat(a, [3], axis=0), [S]),
    "take_0d_axis": (lambda m, a: m.take(a, [0, 0], axis=0), [S]),
    "take_0d_scalar_index": (lambda m, a: m.take(a, 0, axis=-1), [S]),
    "compress_0d": (lambda m, a: m.compress([True], a), [S]),
    "compress_0d_axis": (lambda m, a: m.compress([1], a, axis=0), [S]),
    "pad_0d": (lambda m, a: m.pad(a, 2), [S]),
    "pad_0d_constant_values": (lambda m, a: m.pad(a, ((1, 2),), constant_values=3.0), [S]),
    "pad_0d_edge": (lambda m, a: m.pad(a, 1, mode="edge"), [S]),
    "r_": (lambda m, a, b: m.r_[a, 1.5, b, 0:3], [V, V[:2]]),
    "r_directive": (lambda m, a, b: m.r_["-1", a, b], [X, X]),
    "c_": (lambda m, a, b: m.c_[a, b], [V, V]),
    "c_2d": (lambda m, a, b: m.c_[a, b], [X, X[:, :1]]),
    # splitting (several outputs)
    "split": (lambda m, a: m.split(a, 2, axis=1), [X]),
    "split_indices": (lambda m, a: m.split(a, [1, 3], axis=1), [X]),
    "array_split": (lambda m, a: m.array_split(a, 3, axis=1), [X]),
    "array_split_unsorted": (lambda m, a: m.array_split(a, [3, 1], axis=1), [X]),
    "array_split_one_piece_used": (lambda m, a: m.array_split(a, 3)[1] * 2, [V]),
    "hsplit": (lambda m, a: m.hsplit(a, 2), [X]),
    "vsplit": (lambda m, a: m.vsplit(a, [1]), [X]),
    "dsplit": (lambda m, a: m.dsplit(a, 2), [T3]),
    "unstack": (lambda m, a: m.unstack(a, axis=1), [X]),
    # repeating, flipping, rolling
    "tile": (lambda m, a: m.tile(a, 2), [X]),
    "tile_more_reps": (lambda m, a: m.tile(a, (2, 1, 3)), [X]),
    "tile_fewer_reps": (lambda m, a: m.tile(a, (2,)), [T3]),
    "tile_0d": (lambda m, a: m.tile(a, (2, 3)), [S]),
    "repeat": (lambda m, a: m.repeat(a, 2), [X]),
    "repeat_axis": (lambda m, a: m.repeat(a, 3, axis=-1), [X]),
    "repeat_counts": (lambda m, a: m.repeat(a, [2, 0, 1], axis=0), [X]),
    "flip": (lambda m, a: m.flip(a), [T3]),
    "flip_axis": (lambda m, a: m.flip(a, 1), [T3]),
    "flip_tuple": (lambda m, a: m.flip(a, (0, -1)), [T3]),
    "fliplr": (lambda m, a: m.fliplr(a), [X]),
    "flipud": (lambda m, a: m.flipud(a), [V]),
    "roll": (lambda m, a: m.roll(a, 2), [X]),
    "roll_axis": (lambda m, a: m.roll(a, -1, axis=1), [X]),
    "roll_tuples": (lambda m, a: m.roll(a, (1, 5), axis=(0, 2)), [T3]),
    "rot90": (lambda m, a: m.rot90(a), [X]),
    "rot90_k2": (lambda m, a: m.rot90(a, 2), [X]),
    "rot90_k3_axes": (lambda m, a: m.rot90(a, -1, axes=(2, 1)), [T3]),
    # padding
    "pad": (lambda m, a: m.pad(a, 1), [X]),
    "pad_widths": (lambda m, a: m.pad(a, ((1, 2), (0, 3))), [X]),
    "pad_constant": (lambda m, a: m.pad(a, (2, 1), "constant", constant_values=2.5), [V]),
    "pad_constant_per_side": (lambda m, a: m.pad(a, 1, constant_values=((1, 2), (3, 4))), [X]),
    "pad_reflect": (lambda m, a: m.pad(a, ((2, 3), (1, 0)), mode="reflect"), [X]),
    "pad_symmetric": (lambda m, a: m.pad(a, 2, mode="symmetric"), [X]),
    "pad_edge": (lambda m, a: m.pad(a, (1, 2), mode="edge"), [T3]),
    "pad_wrap": (lambda m, a: m.pad(a, (6, 7), mode="wrap"), [V]),
    # diagonals and triangles
    "diag_build": (lambda m, a: m.diag(a), [V]),
    "diag_build_k": (lambda m, a: m.diag(a, -2), [V]),
    "diag_extract": (lambda m, a: m.diag(a, 1), [X]),
    "diagonal": (lambda m, a: m.diagonal(a), [X]),
    "diagonal_axes": (lambda m, a: m.diagonal(a, 1, 2, 0), [T3]),
    "diagonal_negative": (lambda m, a: m.diagonal(a, -1, -1, -2), [T3]),
    "diagflat": (lambda m, a: m.diagflat(a, 1), [X[:2]]),
    "trace": (lambda m, a: m.trace(a), [X]),
    "trace_axes": (lambda m, a: m.trace(a, -1, 2, 1), [T3]),
    "tril": (lambda m, a: m.tril(a), [X]),
    "tril_batched": (lambda m, a: m.tril(a, -1), [T3]),
    "tril_1d": (lambda m, a: m.tril(a, 1), [V]),
    "triu": (lambda m, a: m.triu(a, 1), [X]),
    "select": (lambda m, a, b: m.select([a > 0, b > 0.5], [a, b * 2], default=a * 3), [X, X[0]]),
    # differences
    "diff": (lambda m, a: m.diff(a), [X]),
    "diff_n2_axis0": (lambda m, a: m.diff(a, 2, axis=0), [X]),
    "diff_prepend_append": (lambda m, a, b: m.diff(a, prepend=1.0, append=b), [X, X[:, :2]]),
    "gradient": (lambda m, a: m.gradient(a), [V]),
    "gradient_2d": (lambda m, a: m.gradient(a), [X]),
    "gradient_spacing_axis": (lambda m, a: m.gradient(a, 0.5, axis=1), [X]),
    "gradient_edge2": (lambda m, a: m.gradient(a, 0.5, axis=-1, edge_order=2), [T3]),
    "gradient_coordinates": (lambda m, a: m.gradient(a, XS, YS), [X]),
    "gradient_coordinates_edge2": (lambda m, a: m.gradient(a, XS, YS, edge_order=2), [X]),
    # sorting
    "sort": (lambda m, a: m.sort(a), [X]),
    "sort_axis0": (lambda m, a: m.sort(a, axis=0), [T3]),
    "sort_none": (lambda m, a: m.sort(a, axis=None), [X]),
    "partition": (lambda m, a: m.partition(a, 2), [X]),
    "partition_kths": (lambda m, a: m.partition(a, (0, 2), axis=0), [X]),
    # building arrays
    "array_nested": (lambda m, a, b: m.array([[a[0], b[1]], [1.0, a[2] ** 2]]), [V, V]),
    "array_of_arrays": (lambda m, a, b: m.array([a, b * 2]), [X, X]),
    "array_ndmin": (lambda m, a: m.array(a, ndmin=3), [V]),
    "asarray_list": (lambda m, a: m.asarray([a, a]), [S]),
    "asarray": (lambda m, a: m.asarray(a), [X]),
    "ascontiguousarray": (lambda m, a: m.ascontiguousarray(a), [X]),
    "ascontiguousarray_0d": (lambda m, a: m.ascontiguousarray(a), [S]),  # NumPy: 1-d
    "asfortranarray_0d": (lambda m, a: m.asfortranarray(a), [S]),
    # arrays made from differentiated values
    "full": (lambda m, a: m.full((2, 3), a), [S]),
    "full_broadcast": (lambda m, a: m.full((2, 5), a), [V]),
    "full_like": (lambda m, a: m.full_like(X, a), [S]),
    "full_like_keyword_broadcast": (lambda m, a: m.full_like(T3, fill_value=a), [X[0]]),
    "full_like_shape": (lambda m, a: m.full_like(V, a, shape=(2, 3)), [S]),
    "linspace": (lambda m, a, b: m.linspace(a, b, 5), [S, S + 1.3]),
    "linspace_arrays_axis": (lambda m, a, b: m.linspace(a, b, 4, axis=-1), [V, V[::-1]]),
    "linspace_open": (lambda m, a, b: m.linspace(a, b, 3, endpoint=False), [X[0], X[1]]),
    "logspace": (lambda m, a, b: m.logspace(a, b, 5), [S, S + 1.3]),
    "logspace_base_open_axis": (lambda m, a, b: m.logspace(a, b, 4, endpoint=False, base=2.0, axis=-1),
                                [V, V[::-1]]),
    "logspace_array_base": (lambda m, a, b, c: m.logspace(a, b, 3, base=c, axis=1), [V[:2], S, 2 + V[2:4] ** 2]),
    "geomspace": (lambda m, a, b: m.geomspace(a, b, 5), [S, S + 1.3]),
    "geomspace_negative_open": (lambda m, a, b: m.geomspace(-a, -b, 4, endpoint=False), [S, S + 2]),
    "geomspace_arrays_axis": (lambda m, a, b: m.geomspace(a, b, 3, axis=1), [1 + V ** 2, 2 + V[::-1] ** 2]),
    "geomspace_two": (lambda m, a, b: m.geomspace(a, b, 2), [S, S + 1]),
    "linspace_list_stop": (lambda m, a: m.linspace(0.5, [a[0], a[1]], 4), [V]),
    "logspace_list_base": (lambda m, a: m.logspace(0.0, 1.5, 3, base=[a[0] ** 2 + 1, 2.0]), [V]),
    "geomspace_list_start": (lambda m, a: m.geomspace([a[0] ** 2 + 1, 3.0], 5.0, 3), [V]),
    "gradient_list_coordinates": (lambda m, a: m.gradient(a, [0.0, 1.0 + a[0] ** 2, 3.0, 4.5, 6.0]), [V]),
    "geomspace_complex": (lambda m, a, b: m.geomspace(a * 1j + 1, b - 2j, 4), [S, S + 1]),
}


def value(x):
    return np.asarray(x.primal() if isinstance(x, Tensor) else x)


def check_same(ours, theirs):
    if isinstance(theirs, list | tuple):
        assert isinstance(ours, list | tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            check_same(o, t)
        return
    o = value(ours)
    assert o.shape == np.shape(theirs) and o.dtype == np.asarray(theirs).dtype
    assert np.allclose(o, theirs)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_values_match_numpy(name):
    call, args = SPECS[name]
    out, _ = cr.vjp(lambda *a: call(cnp, *a), *args)
    check_same(out, call(np, *args))


@pytest.mark.parametrize("name", sorted(SPECS))
def test_gradcheck(name):
    call, args = SPECS[name]
    assert cr.gradcheck(lambda *a: call(cnp, *a), *args, order=2)


@pytest.mark.parametrize("name", ["concatenate", "stack", "transpose_axes", "split", "pad_wrap",
                                  "diag_build_k", "array_nested", "r_", "roll_tuples", "tile"])
def test_complex_inputs(name):
    call, args = SPECS[name]
    args = [a + 1j * normal(*np.shape(a)) for a in args]
    assert cr.gradcheck(lambda *a: call(cnp, *a), *args, order=1)


def test_plain_inputs_give_numpy_results():
    assert type(cnp.concatenate([np.ones(2), [3.0]])) is np.ndarray
    assert type(cnp.array([1.0, 2.0])) is np.ndarray
    assert np.array_equal(cnp.r_[1:4, 7], np.r_[1:4, 7])
    ramp = np.pad(np.ones(2), 1, "linear_ramp")
    assert np.array_equal(cnp.pad(np.ones(2), 1, mode="linear_ramp"), ramp)
    assert [p.tolist() for p in cnp.split(np.arange(4), 2)] == [[0, 1], [2, 3]]


def test_tensor_methods():
    def f(a):
        b = a.reshape(4, 3).T.ravel("F").reshape((2, 6)).transpose(1, 0)
        c = b.repeat(2, axis=1).take([0, 5], axis=0).squeeze()
        return cnp.sum(c * 2) + a.diagonal(1).sum() + a.trace(-1) + cnp.sum(a.swapaxes(0, 1)[0])

    assert cr.gradcheck(f, X, order=2)


def test_pad_constant_values_differentiate():
    def f(a, c):
        return cnp.pad(a, ((1, 0), (2, 1)), constant_values=c)

    assert cr.gradcheck(f, X, np.array(1.5))
    assert cr.gradcheck(f, X, np.array([[0.5, 1.0], [2.0, 3.0]]))
    # each of the 3 + 1 * 7 + ... padded positions holds c once: d sum / dc = their count
    g = cr.grad(lambda c: cnp.sum(f(X, c)))(1.5)
    assert g == (3 + 1) * (4 + 3) - 3 * 4


def test_array_of_tensors_gradient():
    def f(x, y):
        return cnp.sum(cnp.array([x, y**2]) * np.array([3.0, 5.0]))

    gx, gy = cr.grad(f, (0, 1))(0.5, 2.0)
    assert gx == 3.0 and gy == 20.0
    assert cr.gradcheck(lambda x, y: cnp.array([[x, 1.0], [x * y, y]]), 0.5, 2.0)


def test_array_of_a_tensor_is_a_copy_with_its_gradient():
    g = cr.grad(lambda x: cnp.sum(cnp.array(x, dtype=np.float64) * 2 + cnp.asarray(x)))(V)
    assert np.array_equal(g, np.full(5, 3.0))


def test_split_cotangents_tile_back():
    # sum(piece_k * k): the gradient is k on the k-th piece, 0 where a piece is unused
    def f(a):
        p = cnp.array_split(a, [2, 3, 7])
        return cnp.sum(p[1] * 1.0) + cnp.sum(p[3] * 3.0)

    g = cr.grad(f)(np.arange(9.0))
    assert np.array_equal(g, [0, 0, 1, 0, 0, 0, 0, 3, 3])


def test_overlapping_array_split_adds_up():
    g = cr.grad(lambda a: sum(cnp.sum(p) for p in cnp.array_split(a, [3, 1])))(np.arange(5.0))
    assert np.array_equal(g, [1, 2, 2, 1, 1])  # [0:3], [3:1] (empty), [1:5]


def test_split_in_eager_mode():
    x = cr.tensor(X, requires_grad=True)
    left, right = cnp.hsplit(x, 2)
    (cnp.sum(left) * 2 + cnp.sum(right * right)).backward()
    expected = np.concatenate([np.full((3, 2), 2.0), 2 * X[:, 2:]], axis=1)
    assert np.allclose(value(x.grad), expected)


def test_repeat_counts_gradient_counts_copies():
    g = cr.grad(lambda a: cnp.sum(cnp.repeat(a, [2, 0, 3])))(np.ones(3))
    assert np.array_equal(g, [2.0, 0.0, 3.0])


def test_sort_gradient_follows_values():
    x = np.array([3.0, 1.0, 2.0])
    g = cr.grad(lambda a: cnp.sum(cnp.sort(a) * np.array([1.0, 10.0, 100.0])))(x)
    assert np.array_equal(g, [100.0, 1.0, 10.0])


@pytest.mark.parametrize("kind", [None, "quicksort", "heapsort", "stable"])
@pytest.mark.parametrize("n", [2, 4, 17, 100])
def test_sort_gives_a_tie_s_gradient_to_the_first_of_the_tied_in_input_order(n, kind):
    """docs/engine.md's convention, whatever the kind: NumPy's default sort is not stable
    even on 4 elements ([3, 3, 1, 2] sent the gradient of position 2 to index 1), and
    jax.numpy.sort is stable; forward mode and jit agree."""
    x = np.floor(np.random.default_rng(n).uniform(0, 3, size=n)) * np.where(np.arange(n) % 2, 1.0, -1.0)
    weights = np.arange(1.0, n + 1)
    f = lambda a: cnp.sum(cnp.sort(a, kind=kind) * weights)  # noqa: E731
    def want(x):
        w = np.empty(n)
        w[np.argsort(x, kind="stable")] = weights
        return w

    for got in (cr.grad(f)(x), cr.jit(cr.grad(f))(x), cr.jacfwd(f)(x)):
        np.testing.assert_array_equal(got, want(x))
    np.testing.assert_array_equal(cr.vmap(cr.grad(f))(np.stack([x, x[::-1]])), [want(x), want(x[::-1])])
    np.testing.assert_array_equal(cnp.sort(cr.tensor(x), kind=kind).primal(), np.sort(x, kind=kind))


def test_numpy_functions_dispatch_to_the_mirror():
    def f(a):
        parts = np.split(np.pad(np.flip(a, 0), 1), 3, axis=1)
        return np.sum(np.concatenate(parts, axis=0) ** 2) + np.trace(np.diag(np.diagonal(a)))

    assert cr.gradcheck(f, X)


def test_float32_stays_float32():
    x = np.ones((2, 3), dtype=np.float32)
    for f in (lambda a: cnp.concatenate([a, a]), lambda a: cnp.pad(a, 1), cnp.diag,
              lambda a: cnp.split(a, 3, axis=1)[1], lambda a: cnp.stack([a, a])):
        assert cr.grad(lambda a, f=f: cnp.sum(f(a)))(x).dtype == np.float32


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="2-d"):
        cr.grad(lambda a: cnp.sum(cnp.fliplr(a)))(V)
    with pytest.raises(NotImplementedError, match="linear_ramp"):
        cr.grad(lambda a: cnp.sum(cnp.pad(a, 1, mode="linear_ramp")))(V)
    with pytest.raises(TypeError, match="out="):
        cr.grad(lambda a: cnp.sum(cnp.concatenate([a, a], out=np.empty(10))))(V)
    with pytest.raises(ValueError, match="equal division"):
        cr.grad(lambda a: cnp.sum(cnp.split(a, 2)[0]))(V)


# Calls NumPy refuses on Tensors as on arrays: the same exception and message.
REFUSED = {
    "compress_2d_condition": lambda m, a: m.compress([[True]], a),
    "compress_0d_condition": lambda m, a: m.compress(np.array(True), a),
    "compress_0d_axis_1": lambda m, a: m.compress([True], a, axis=1),
    "pad_float_width": lambda m, a: m.pad(a, 1.0),
    "pad_unsigned_width": lambda m, a: m.pad(a, np.uint8(1)),
    "pad_empty_width": lambda m, a: m.pad(a, ()),
    "repeat_0d_axis_1": lambda m, a: m.repeat(a, 2, axis=1),
    "correlate_0d": lambda m, a: m.correlate(a, a),
    "cross_0d": lambda m, a: m.cross(a, a),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
@pytest.mark.parametrize("x", [S, V], ids=["0d", "1d"])
def test_refused_as_numpy_refuses(name, x):
    call = REFUSED[name]
    try:
        call(np, x)
    except Exception as e:  # noqa: BLE001 - NumPy's own exception, whichever it is
        expected = e
    else:
        pytest.skip("NumPy accepts this input")
    with pytest.raises(type(expected)) as got:
        cr.grad(lambda a: cnp.sum(call(cnp, a)))(x)
    assert " ".join(str(got.value).split()) == " ".join(str(expected).split())


# -- broadcasting, as a property ------------------------------------------------------------
@st.composite
def broadcastable(draw):
    """An output shape and an input shape that broadcasts to it."""
    out = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=3)))
    lead = draw(st.integers(0, len(out)))
    shape = tuple(1 if draw(st.booleans()) else n for n in out[lead:])
    return shape, out


@settings(max_examples=25, deadline=None)
@given(broadcastable(), st.integers(0, 2**16))
def test_gradient_of_broadcast_has_input_shape(shapes, seed):
    shape, out = shapes
    r = np.random.default_rng(seed)
    x, w = r.standard_normal(shape), r.standard_normal(out)

    def f(a):
        return cnp.sum(cnp.sin(cnp.broadcast_to(a, out)) * w) + cnp.sum(a * w)

    g = cr.grad(f)(x)
    assert np.shape(g) == shape
    expected = np.cos(x) * w + w
    axes = tuple(range(len(out) - len(shape)))
    expected = np.sum(expected, axis=axes)
    expected = np.sum(expected, axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)
    assert np.allclose(g, expected.reshape(shape))
    assert cr.gradcheck(f, x, order=1)


# -- insert and block ---------------------------------------------------------------------------
INSERT_FORMS = [
    (1, 5.0, None), (1, (4,), 0), ([0, 2], 7.0, 1), (slice(1, 3), (3, 2), 1),
    (np.array([1, 1]), (2, 4), 0), (-1, (3,), 1), (2, (3, 1), 1), (0, (1, 4), -2),
]


@pytest.mark.parametrize("obj,values,axis", INSERT_FORMS)
def test_insert(obj, values, axis):
    a = np.random.default_rng(1).normal(size=(3, 4))
    v = np.float64(values) if isinstance(values, float) else np.random.default_rng(2).normal(size=values)
    got = cnp.insert(cr.tensor(a), obj, cr.tensor(v), axis=axis)
    np.testing.assert_array_equal(got.primal(), np.insert(a, obj, v, axis=axis))
    assert cr.gradcheck(lambda a, v: cnp.insert(a, obj, v, axis=axis), a, v, order=2)
    batch = np.stack([a, -a])
    np.testing.assert_array_equal(cr.vmap(lambda a: cnp.insert(a, obj, v, axis=axis))(batch),
                                  np.stack([np.insert(b, obj, v, axis=axis) for b in batch]))


def test_insert_casts_values_to_the_array_dtype():
    a = np.arange(4, dtype=np.float32)
    got = cnp.insert(cr.tensor(a), 2, cr.tensor(np.float64(0.5)))
    assert got.dtype == np.float32
    assert cr.grad(lambda v: cnp.sum(cnp.insert(a, [0, 3], v)))(np.float64(1.0)) == 2.0


BLOCKS = {
    "2x2": lambda b, c, d: [[b, c], [d]],
    "vectors": lambda b, c, d: [d[0], d[0]],
    "column": lambda b, c, d: [[b], [b]],
    "deeper": lambda b, c, d: [[[b]]],
    "scalar": lambda b, c, d: [d[0], 1.0],
}


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_block(name):
    rng = np.random.default_rng(3)
    b, c, d = rng.normal(size=(2, 2)), rng.normal(size=(2, 3)), rng.normal(size=(1, 5))
    want = np.block(BLOCKS[name](b, c, d))
    got = cnp.block(BLOCKS[name](cr.tensor(b), cr.tensor(c), cr.tensor(d)))
    np.testing.assert_array_equal(got.primal(), want)
    assert cr.gradcheck(lambda b, c, d: cnp.block(BLOCKS[name](b, c, d)), b, c, d, order=2)


def test_block_errors_are_numpys():
    b = cr.tensor(np.ones((2, 2)))
    with pytest.raises(TypeError, match="tuple"):
        cnp.block((b, b))
    with pytest.raises(ValueError, match="depths are mismatched"):
        cnp.block([[b], np.ones((2, 2))])


# -- ediff1d, unwrap, resize, choose --------------------------------------------------------------
def test_ediff1d():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 3))
    for kw in ({}, {"to_begin": [1.0, 2.0]}, {"to_end": 5.0, "to_begin": -1.0}):
        np.testing.assert_array_equal(cnp.ediff1d(cr.tensor(x), **kw).primal(), np.ediff1d(x, **kw))
    assert cr.gradcheck(lambda a, b: cnp.ediff1d(a, to_begin=b, to_end=-1.0), x, np.array([1.0, 2.0]), order=2)
    np.testing.assert_array_equal(cr.vmap(cnp.ediff1d)(x), np.stack([np.ediff1d(r) for r in x]))
    with pytest.raises(TypeError, match="same_kind"):
        cnp.ediff1d(cr.tensor(x.astype(np.float32)), to_end=np.array([1 + 1j]))


@pytest.mark.parametrize("kw", [{}, {"axis": 0}, {"discont": 4.0}, {"period": 3.0}])
def test_unwrap(kw):
    p = np.cumsum(np.random.default_rng(5).normal(size=(3, 8)) * 2, axis=1)
    np.testing.assert_array_equal(cnp.unwrap(cr.tensor(p), **kw).primal(), np.unwrap(p, **kw))
    np.testing.assert_array_equal(cr.grad(lambda a: cnp.sum(cnp.unwrap(a, **kw) * p))(p), p)
    np.testing.assert_allclose(cr.vmap(lambda a: cnp.unwrap(a, **kw), in_axes=1, out_axes=1)(p),
                               np.unwrap(p, **kw) if kw.get("axis") == 0 else
                               np.stack([np.unwrap(c, **kw) for c in p.T], axis=1), rtol=1e-15)


@pytest.mark.parametrize("shape", [(3, 4), (7,), (1,), (2, 0)])
def test_resize(shape):
    x = np.random.default_rng(6).normal(size=(2, 3))
    got = cnp.resize(cr.tensor(x), shape)
    np.testing.assert_array_equal(got.primal() if isinstance(got, cr.Tensor) else got, np.resize(x, shape))
    if np.prod(shape):
        assert cr.gradcheck(lambda a: cnp.resize(a, shape), x, order=2)


@pytest.mark.parametrize("mode", ["raise", "wrap", "clip"])
def test_choose(mode):
    rng = np.random.default_rng(7)
    c = [rng.normal(size=(2, 3)), rng.normal(size=3), 1.5]
    a = np.array([[0, 1, 2], [2, 1, 0]]) + (0 if mode == "raise" else 2)
    got = cnp.choose(a, [cr.tensor(c[0]), cr.tensor(c[1]), c[2]], mode=mode)
    np.testing.assert_array_equal(got.primal(), np.choose(a, c, mode=mode))
    assert cr.gradcheck(lambda u, v: cnp.choose(a, [u, v, 1.5], mode=mode), c[0], c[1], order=2)
    idx = np.array([[0, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(cr.vmap(lambda i, u: cnp.choose(i, [u, c[1]]))(idx, c[0]),
                                  np.stack([np.choose(i, [u, c[1]]) for i, u in zip(idx, c[0], strict=True)]))
    with pytest.raises(ValueError, match="invalid entry in choice array"):
        cnp.choose(a + 5, [cr.tensor(c[0]), c[1]])


_R = np.random.default_rng(11)
BROADCASTS = {
    "column to matrix, float32": (_R.normal(size=(4, 1)).astype(np.float32), (4, 5)),
    "row, new leading axes": (_R.normal(size=(3,)), (2, 4, 3)),
    "0-d": (np.array(-0.0), (2, 3)),
    "same shape": (_R.normal(size=(2, 3)), (2, 3)),
    "int8": (_R.integers(-5, 5, size=(1, 3)).astype(np.int8), (4, 3)),
    "bool": (np.array([[True], [False]]), (2, 2)),
    "complex": (np.array([1 + 2j, np.nan]), (3, 2)),
    "nan and inf": (np.array([[np.nan], [np.inf], [-np.inf]]), (3, 4)),
    "non-contiguous": (_R.normal(size=(6, 4))[::2, :1], (3, 5)),
    "Fortran order": (np.asfortranarray(_R.normal(size=(3, 1, 2))), (3, 4, 2)),
    "empty": (np.zeros((0, 1)), (0, 3)),
    "to a zero length": (np.ones((1, 3)), (0, 3)),
    "numpy ints in the shape": (np.ones((2, 1)), (np.int64(2), np.int64(3))),
    "an int shape": (np.ones(1), 4),
    "a list shape": (np.ones((2, 1)), [2, 2]),
    "incompatible": (np.ones((2, 3)), (2, 4)),
    "fewer axes": (np.ones((2, 3)), (3,)),
    "negative": (np.ones((1, 3)), (-1, 3)),
    "object": (np.array([[1.0], [2]], dtype=object), (2, 3)),
    "subclass": (np.ma.masked_array([[1.0], [2.0]]), (2, 2)),
}


@pytest.mark.parametrize("case", list(BROADCASTS))
def test_broadcast_to_is_numpys_view(case):
    """cnp.broadcast_to on plain arrays makes the view itself where it can: the same
    values, dtype, type, strides, memory and read-only flag as np.broadcast_to, and
    NumPy's own result or error everywhere else."""
    x, shape = BROADCASTS[case]
    try:
        want = np.broadcast_to(x, shape)
    except Exception as e:  # noqa: BLE001 - the same exception is the expected outcome
        with pytest.raises(type(e)):
            cnp.broadcast_to(x, shape)
        return
    got = cnp.broadcast_to(x, shape)
    assert type(got) is type(want) and got.dtype == want.dtype
    assert got.shape == want.shape and got.strides == want.strides
    assert got.flags.writeable is want.flags.writeable is False
    assert np.shares_memory(got, x) == np.shares_memory(want, x)
    assert got.tobytes() == want.tobytes()
    if got.size:
        assert got.__array_interface__["data"][0] == want.__array_interface__["data"][0]


def test_broadcast_to_under_jit_is_numpys_call():
    """cr.jit records np.broadcast_to for cnp.broadcast_to, and the replay's view
    follows new data."""
    f = cr.jit(lambda x: cnp.sum(cnp.broadcast_to(x, (3, 2)), axis=0))
    for x in (np.array([[1.0], [2.0], [3.0]]), np.array([[4.0], [-0.0], [np.nan]])):
        assert f(x).tobytes() == np.sum(np.broadcast_to(x, (3, 2)), axis=0).tobytes()
    assert np.broadcast_to in f.programs[0].replay.__globals__.values()


@pytest.mark.parametrize("shapes, axis", [(((2, 3), (2, 4)), 0), (((2, 3), (3,)), 0), (((2, 3), (5, 3)), 1)])
def test_concatenate_checks_shapes_before_the_cast(shapes, axis):
    # NumPy raises the shape's ValueError before the cast's TypeError (complex to float)
    a, b = np.zeros(shapes[0]), np.zeros(shapes[1], complex)
    with pytest.raises(ValueError) as e:
        np.concatenate([a, b], axis=axis, dtype=float)
    with pytest.raises(ValueError, match=re.escape(str(e.value))):
        cr.grad(lambda a: cnp.sum(cnp.concatenate([a, b], axis=axis, dtype=float)))(a)


def _reshape_flat(module, order):
    return lambda v, order=order: module.reshape(v, -1, order=order)


@pytest.mark.parametrize("order", ["c", "f", "a", "k", b"C", "K", "A", None, -1, "X"])
def test_ravel_and_reshape_take_numpys_spellings_of_order(order):
    """NumPy takes an order in any case (and as bytes): 'c' of a Fortran array was read as
    'A' (Fortran order), 'k' as 'A' too, and an int was taken; NumPy's errors otherwise."""
    arrays = [np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.arange(24.0).reshape(2, 3, 4).transpose(2, 0, 1)[::2]]
    funs = [(lambda v: np.ravel(v, order=order), lambda v: cnp.ravel(v, order=order)),
            (_reshape_flat(np, order), _reshape_flat(cnp, order))]
    for a in arrays:
        for np_f, cr_f in funs:
            try:
                want = np_f(a)
            except (TypeError, ValueError) as e:
                for call in (lambda f=cr_f, a=a: f(cr.tensor(a)), lambda f=cr_f, a=a: cr.jit(f)(a)):
                    with pytest.raises(type(e), match=re.escape(str(e)[:20])):
                        call()
                continue
            np.testing.assert_array_equal(cr_f(cr.tensor(a)).numpy(), want)
            np.testing.assert_array_equal(cr.jit(cr_f)(a), want)
            if isinstance(order, str) and order in "cfCF":  # the gradient: the same order backwards
                grad = cr.grad(lambda v, f=cr_f: cnp.sum(np.arange(a.size) * f(v)))(a)  # noqa: B023
                np.testing.assert_array_equal(np_f(grad), np.arange(a.size))

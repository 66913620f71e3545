"""cr.vmap: every primitive's batching rule against a loop over the examples, in_axes and
out_axes, pytrees, errors, and the fallback for primitives without a rule."""

import importlib
import pkgutil
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core import global_state
from chainrule.core.primitive import Primitive
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.core.trace import PROJECT

rng = np.random.default_rng(0)
B = 3


def take(x, b, axis):
    return x if axis is None else np.take(np.asarray(x), b, axis=axis)


def looped(f, args, in_axes, out_axes=0, size=B):
    """The reference: ``f`` on each example, the results stacked along ``out_axes``."""
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    outs = [f(*(take(a, b, ax) for a, ax in zip(args, axes, strict=True))) for b in range(size)]
    leaves = [tree_flatten(o)[0] for o in outs]
    tree = tree_flatten(outs[0])[1]
    stacked = [np.stack([np.asarray(lv[k]) for lv in leaves], axis=out_axes)
               for k in range(len(leaves[0]))]
    return tree_unflatten(tree, stacked)


def assert_batches(f, args, in_axes=0, out_axes=0, tol=1e-12):
    got = cr.vmap(f, in_axes=in_axes, out_axes=out_axes)(*args)
    want = looped(f, args, in_axes, out_axes)
    for g, w in zip(tree_flatten(got)[0], tree_flatten(want)[0], strict=True):
        g = np.asarray(g)
        assert g.shape == w.shape, (g.shape, w.shape)
        assert g.dtype == w.dtype or np.result_type(g) == np.result_type(w), (g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


# -- the registry: every primitive has a batching rule --------------------------------------------
def all_primitives():
    import chainrule

    found = {}
    for info in pkgutil.walk_packages(chainrule.__path__, "chainrule."):
        if info.name.endswith("__main__") or ".lecture" in info.name or info.name.endswith(".cli"):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional extra that is not installed
            continue
        for name, value in vars(module).items():
            if isinstance(value, Primitive):
                found[id(value)] = (f"{info.name}.{name}", value)
    return sorted(found.values(), key=lambda p: p[0])


# The record of one output of a multiple-output primitive: bookkeeping of the backward pass,
# never called on values.
NOT_CALLED = {id(PROJECT)}


def test_every_primitive_has_a_batching_rule():
    missing = [name for name, prim in all_primitives()
               if prim.batch is None and id(prim) not in NOT_CALLED]
    assert not missing, (
        "these primitives have no batching rule for chainrule.vmap; declare one beside their "
        f"other rules with def_batch (kinds in chainrule.numpy.batching): {missing}"
    )


# -- elementwise functions: the spec tables of tests/numpy/test_elementwise.py ------------------
from tests.numpy.test_elementwise import BINARY, STEPS, UNARY  # noqa: E402


@pytest.mark.parametrize("name", sorted(UNARY) + STEPS[:-1])
@pytest.mark.parametrize("in_axes,out_axes", [(0, 0), (1, 0), (-1, 1), (0, -1)])
def test_unary_elementwise(name, in_axes, out_axes):
    low, high = UNARY.get(name, (-2, 2))
    x = rng.uniform(low, high, size=(B, 4) if in_axes in (0,) else (4, B))
    assert_batches(getattr(cnp, name), (x,), in_axes, out_axes)


@pytest.mark.parametrize("name", sorted(BINARY) + ["floor_divide"])
@pytest.mark.parametrize("shapes,in_axes", [
    (((B, 4), (B, 4)), 0),
    (((B, 4), (4,)), (0, None)),
    (((2, 4), (4, B)), (None, 1)),
    (((B,), (2, 3)), (0, None)),      # a 0-d example against a larger unbatched argument
    (((B, 1, 3), (2, 1)), (0, None)),
])
def test_binary_elementwise(name, shapes, in_axes):
    low, high = BINARY.get(name, (0.5, 2))
    x, y = (rng.uniform(low, high, size=s) for s in shapes)
    if name in ("mod", "remainder", "fmod", "floor_divide"):
        y = y + 2.5
    assert_batches(getattr(cnp, name), (x, y), in_axes)


OPERANDS = {  # the other operand of an operator on a batched value of examples of shape (4,)
    "python float": 1.5, "python int": 2, "python complex": 1 - 2j, "numpy float32": np.float32(3),
    "0-d array": np.array(0.5), "row": np.linspace(1, 2, 4), "matrix": np.linspace(1, 2, 8).reshape(2, 4),
    "column": np.linspace(1, 2, 3).reshape(3, 1), "list": [1.0, 2.0, 3.0, 4.0],
    "float32 row": np.linspace(1, 2, 4, dtype=np.float32),
}


@pytest.mark.parametrize("other", sorted(OPERANDS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize("size", [B, 0])
def test_operators_on_a_batched_value(other, dtype, size):
    # the trace's own path for elementwise calls of one and two arguments: every kind of
    # other operand, on either side, the dtypes NumPy gives, an empty batch
    y = OPERANDS[other]
    x = (rng.uniform(0.5, 2, size=(size, 4)) + (0.5j if dtype == np.complex128 else 0)).astype(dtype)

    def f(v):
        return [v * y, y - v, v / y, y ** v, -v, cnp.tanh(v) + y, cnp.add(y, v), cnp.astype(v, np.complex64)]

    got = cr.vmap(f)(x)
    want = [np.stack([np.asarray(o) for o in outs])
            for outs in zip(*[f(x[b]) for b in range(size)], strict=True)]
    for k, g in enumerate(got):
        g = np.asarray(g)
        ref = np.asarray(f(np.zeros(4, dtype))[k])
        assert g.dtype == ref.dtype and g.shape == (size, *ref.shape), (k, g.dtype, g.shape)
        if size:
            np.testing.assert_allclose(g, want[k], rtol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.bool_])
@pytest.mark.parametrize("y", [2, 1.5, 1 - 2j, True], ids=["int", "float", "complex", "bool"])
def test_products_with_a_python_number_have_numpys_dtype(y, dtype):
    # dot and inner read a Python number as an array (dot(x32, 2) is float64, where
    # x32 * 2 is float32); vdot of booleans stays boolean
    x = np.array([[1, 0, 1], [0, 1, 1]], dtype)
    funs = [lambda v: cnp.dot(v, y), lambda v: cnp.dot(y, v), lambda v: cnp.inner(v, y),
            lambda v: cnp.vdot(v, v)]
    for f in funs:
        want = np.stack([np.asarray(f(x[b])) for b in range(2)])
        got = np.asarray(cr.vmap(f)(x))
        assert got.dtype == want.dtype, (got.dtype, want.dtype)
        np.testing.assert_array_equal(got, want)


def test_operators_between_batched_values_of_different_ranks_and_traces():
    x, y = rng.normal(size=(B, 3)), rng.normal(size=(B, 2, 3))
    assert_batches(lambda a, b: a * b + b / (1 + a ** 2), (x, y))
    assert_batches(lambda a, b: b - a, (x[:, :1], y), (0, 0))
    # a batched value of an outer vmap is an unbatched operand for the inner one
    outer = cr.vmap(lambda a, b: cr.vmap(lambda r: r * a + a * r, in_axes=0)(b))(x, y)
    np.testing.assert_allclose(outer, 2 * x[:, None, :] * y, rtol=1e-12)
    # under jit (a recording trace below) and grad (a reverse trace above)
    jitted = cr.jit(cr.vmap(lambda a, b: cnp.sum(cnp.tanh(a * b) - a)))
    np.testing.assert_allclose(jitted(x, y), [np.sum(np.tanh(x[i] * y[i]) - x[i]) for i in range(B)],
                               rtol=1e-12)
    per_example = cr.vmap(cr.grad(lambda a, b: cnp.sum(b / (1 + a * a))))(x, y)
    np.testing.assert_allclose(per_example, np.sum(-2 * x[:, None] * y / (1 + x[:, None] ** 2) ** 2, 1),
                               rtol=1e-12)


def test_where_clip_and_comparisons():
    x = rng.normal(size=(B, 5))
    assert_batches(lambda v: cnp.where(v > 0, v, 0.1 * v), (x,))
    assert_batches(lambda v, lo: cnp.clip(v, lo, 1.0), (x, np.array([-1.0, 0.0, -0.5])), (0, 0))
    assert_batches(lambda v: (v > 0.1) & cnp.isfinite(v), (x,))
    assert_batches(lambda v: cnp.where(v > cnp.mean(v), 1.0, -1.0) * v, (x,))


COMPARED = [  # (function, argument values, in_axes): batched and plain operands of other ranks
    (lambda a, b: cnp.equal(a, b), (rng.integers(0, 2, (B,)).astype(float), rng.integers(0, 2, (B, 2, 3))),
     (0, 0)),
    (lambda a, b: cnp.less(a, b), (rng.normal(size=(B, 4)), rng.normal(size=(2, 1, 4))), (0, None)),
    (lambda a, b: cnp.greater_equal(a, b), (np.float64(0.5), rng.normal(size=(B, 3))), (None, 0)),
    (lambda a, b: cnp.logical_and(a > 0, b), (rng.normal(size=(B, 2, 3)), rng.normal(size=(B,)) > 0),
     (0, 0)),
    (lambda a: cnp.isnan(a) | cnp.signbit(a), (np.array([[np.nan, -0.0], [0.0, -np.inf], [1.0, np.nan]]),),
     0),
    (lambda a, b: cnp.not_equal(a, b), (np.array([-0.0, np.nan, 1.0]), np.array([0.0, np.nan, 2.0])),
     (0, None)),
    (lambda a, b: cnp.floor_divide(a, b), (np.arange(B * 2).reshape(B, 2), 3), (0, None)),
]


@pytest.mark.parametrize("k", range(len(COMPARED)))
def test_comparisons_of_operands_of_other_ranks(k):
    """Functions without a derivative on batched and plain operands of different ranks
    (one example's axes lined up by broadcasting), NaN and signed zeros included."""
    f, args, in_axes = COMPARED[k]
    assert_batches(f, args, in_axes)
    # and under grad, where the comparison reads the undifferentiated batch
    if isinstance(args[0], np.ndarray) and args[0].dtype.kind == "f" and in_axes in (0, (0, None)):
        assert_batches(cr.grad(lambda a, *rest: cnp.sum(cnp.where(f(a, *rest), a, 2 * a) * a)),
                       args, in_axes)


# -- reductions ---------------------------------------------------------------------------------
REDUCTIONS = ["sum", "mean", "prod", "max", "min", "amax", "amin", "var", "std", "nansum",
              "nanmean", "nanprod", "nanmax", "nanmin", "nanvar", "nanstd", "ptp"]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("kw", [{}, {"axis": 0}, {"axis": -1, "keepdims": True}, {"axis": (0, 1)}])
@pytest.mark.parametrize("in_axes", [0, 2])
def test_reductions(name, kw, in_axes):
    x = rng.uniform(0.5, 2, size=(B, 2, 4) if in_axes == 0 else (2, 4, B))
    assert_batches(lambda v: getattr(cnp, name)(v, **kw), (x,), in_axes)


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "nancumsum", "nancumprod"])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_cumulative(name, axis):
    x = rng.uniform(0.5, 2, size=(B, 2, 3))
    assert_batches(lambda v: getattr(cnp, name)(v, axis=axis), (x,))


def test_argmax_sort_and_friends():
    x = rng.normal(size=(B, 3, 4))
    assert_batches(lambda v: cnp.argmax(v), (x,))
    assert_batches(lambda v: cnp.argmax(v, axis=1), (x,))
    assert_batches(lambda v: cnp.argmin(v, axis=0, keepdims=True), (x,))
    assert_batches(lambda v: cnp.sort(v), (x,))
    assert_batches(lambda v: cnp.sort(v, axis=0), (x,))
    assert_batches(lambda v: cnp.argsort(v, axis=None), (x,))
    assert_batches(lambda v: cnp.any(v > 1, axis=1), (x,))
    assert_batches(lambda v: cnp.all(v > -3), (x,))
    assert_batches(lambda v: cnp.average(v, axis=1, weights=np.arange(1.0, 5.0)), (x,))


# -- shapes and indexing ----------------------------------------------------------------------------
SHAPE_PROGRAMS = {
    "reshape": lambda v: cnp.reshape(v, (4, 3)),
    "reshape -1": lambda v: v.reshape(-1),
    "ravel": lambda v: cnp.ravel(v),
    "transpose": lambda v: v.T,
    "transpose axes": lambda v: cnp.transpose(v, (1, 0)),
    "swapaxes": lambda v: cnp.swapaxes(v, 0, -1),
    "moveaxis": lambda v: cnp.moveaxis(v, 0, 1),
    "expand_dims": lambda v: cnp.expand_dims(v, (0, -1)),
    "squeeze": lambda v: cnp.squeeze(cnp.expand_dims(v, 1)),
    "broadcast_to": lambda v: cnp.broadcast_to(v, (2, 3, 4)),
    "flip": lambda v: cnp.flip(v),
    "flip axis": lambda v: cnp.flip(v, 1),
    "roll": lambda v: cnp.roll(v, 2),
    "roll axis": lambda v: cnp.roll(v, 1, axis=0),
    "diagonal": lambda v: cnp.diagonal(v),
    "diagonal offset": lambda v: cnp.diagonal(v, 1, 1, 0),
    "trace": lambda v: cnp.trace(v),
    "triu": lambda v: cnp.triu(v),
    "concatenate": lambda v: cnp.concatenate([v, 2 * v], axis=1),
    "concatenate const": lambda v: cnp.concatenate([v, np.ones((1, 4))], axis=0),
    "stack": lambda v: cnp.stack([v, v * v], axis=-1),
    "stack const": lambda v: cnp.stack([np.zeros((3, 4)), v]),
    "hstack": lambda v: cnp.hstack([v, v]),
    "split": lambda v: cnp.split(v, 2, axis=1),
    "array_split": lambda v: cnp.array_split(v, 3),
    "unstack": lambda v: cnp.unstack(v, axis=1) if hasattr(np, "unstack") else (v,),
    "pad": lambda v: cnp.pad(v, ((1, 0), (0, 2))),
    "pad edge": lambda v: cnp.pad(v, 1, mode="edge"),
    "tile": lambda v: cnp.tile(v, (2, 1)),
    "repeat": lambda v: cnp.repeat(v, 2, axis=0),
    "getitem int": lambda v: v[1],
    "getitem slice": lambda v: v[:, 1:3],
    "getitem neg": lambda v: v[..., -1],
    "getitem None": lambda v: v[None, 1],
    "getitem array": lambda v: v[[0, 2, 2]],
    "getitem two arrays": lambda v: v[[0, 1], [3, 2]],
    "getitem separated": lambda v: cnp.expand_dims(v, 1)[[0, 2], :, [1, 1]],
    "getitem bool": lambda v: v[np.array([True, False, True])],
    "take": lambda v: cnp.take(v, [3, 0], axis=1),
    "take_along_axis": lambda v: cnp.take_along_axis(v, np.array([[0], [1], [3]]), axis=1),
    "sort take_along": lambda v: cnp.take_along_axis(v, cnp.argsort(v, axis=1), axis=1),
    "fliplr": lambda v: cnp.fliplr(v),
    "rot90": lambda v: cnp.rot90(v),
    "atleast_3d": lambda v: cnp.atleast_3d(v),
}


@pytest.mark.parametrize("name", sorted(SHAPE_PROGRAMS))
@pytest.mark.parametrize("in_axes,out_axes", [(0, 0), (1, -1)])
def test_shape_programs(name, in_axes, out_axes):
    x = rng.normal(size=(B, 3, 4) if in_axes == 0 else (3, B, 4))
    assert_batches(SHAPE_PROGRAMS[name], (x,), in_axes, out_axes)


def test_batched_indices(monkeypatch):
    monkeypatch.setattr(global_state, "_SHOWN_ONCE", set())  # warned once per process: forget it
    x = rng.normal(size=(B, 5))
    idx = np.array([[0, 1], [4, 4], [2, 0]])
    assert_batches(lambda v, i: v[i], (x, idx), (0, 0))
    assert_batches(lambda v, i: cnp.take(v, i), (x[0], idx), (None, 0))
    assert_batches(lambda v, i: cnp.take_along_axis(v, i, axis=0), (x, idx), (0, 0))
    mask = np.zeros((B, 5), bool)
    mask[np.arange(B), [0, 3, 1]] = mask[np.arange(B), [2, 4, 4]] = True  # two per example
    with pytest.warns(UserWarning, match="getitem has no batching rule for these arguments"):
        # a batched boolean mask: one call per example
        assert_batches(lambda v, m: v[m], (x, mask), (0, 0))


# A batched index mixed with slices and None: one gather over the whole batch, the axes put
# where the examples' results have them (NumPy moves the advanced axes to the front when the
# batch position and the example's advanced indices are not adjacent).
MIXED_INDEX = {
    "i, 1:": lambda v, i, j: v[i, 1:],
    "1:, i": lambda v, i, j: v[1:, i % 3],
    ":, i, ::2": lambda v, i, j: v[:, i % 3, ::2],
    "1:, j, 2": lambda v, i, j: v[1:, j, 2],
    "i, :, j": lambda v, i, j: v[i, :, j[0]],
    "None, i, 1:": lambda v, i, j: v[None, i, 1:],
    ":, None, j, 0": lambda v, i, j: v[:, None, j, 0],
    "2:, j, i": lambda v, i, j: v[2:, j, i % 3],
    "-1, :, j": lambda v, i, j: v[-1, :, j],
    # (... was run once per example)
    "..., i": lambda v, i, j: v[..., i],
    "i, ...": lambda v, i, j: v[i, ...],
    "i, ..., j": lambda v, i, j: v[i, ..., j[0]],
    "..., None, j, 1:": lambda v, i, j: v[..., None, j, 1:],
}


@pytest.mark.parametrize("name", sorted(MIXED_INDEX))
@pytest.mark.parametrize("in_axes", [(0, 0, 0), (1, 0, 0), (0, None, 0), (None, 0, 0)])
def test_batched_index_mixed_with_slices_is_one_call(name, in_axes, monkeypatch):
    monkeypatch.setattr(global_state, "_SHOWN_ONCE", set())  # warned once per process: forget it
    f = MIXED_INDEX[name]
    x = rng.normal(size=(B, 5, 3, 6) if in_axes[0] == 0 else (5, B, 3, 6) if in_axes[0] == 1 else (5, 3, 6))
    i = np.array([0, 2, 4]) if in_axes[1] == 0 else np.array([1, 3])
    j = np.array([[1, 2], [0, 0], [2, 1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no loop over the examples
        if in_axes[0] is None:  # x closed over (a Tensor: a NumPy array cannot take the index)
            xt = cr.tensor(x)
            assert_batches(lambda i, j: f(xt, i, j), (i, j), in_axes[1:])
            return
        assert_batches(f, (x, i, j), in_axes)
        got = cr.vmap(cr.grad(lambda v, i, j: cnp.sum(cnp.sin(f(v, i, j)))), in_axes=in_axes)(x, i, j)
    want = looped(cr.grad(lambda v, i, j: cnp.sum(cnp.sin(f(v, i, j)))), (x, i, j), in_axes, 0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# Item assignment with such an index (cr.at(x)[...].set and .add, y[...] = w on a copy) is one
# scatter over the batch too; it ran once per example
MIXED_UPDATES = {
    "i, 1:": lambda i, j: (i, slice(1, None)),
    ":, i, ::2": lambda i, j: (slice(None), i % 3, slice(None, None, 2)),
    "i, :, j": lambda i, j: (i, slice(None), j[0]),
    "None, i, 1:": lambda i, j: (None, i, slice(1, None)),
    "..., i": lambda i, j: (Ellipsis, i),
    "i, ..., j": lambda i, j: (i, Ellipsis, j[0]),
}


def _assigned(update, v, index):
    if update == "set batched":
        return cr.at(v)[index].set(cnp.cos(cr.at(v)[index].get()))
    if update == "add 2":
        return cr.at(v)[index].add(2.0)
    y = cnp.array(v)
    y[index] = cnp.sin(v[index])
    return y


@pytest.mark.parametrize("name", sorted(MIXED_UPDATES))
@pytest.mark.parametrize("update, x_axis", [("set batched", 0), ("set batched", None), ("add 2", 0),
                                            ("add 2", None), ("setitem", 0)])  # (a plain copy refuses a batch)
def test_item_assignment_with_a_batched_index_mixed_with_slices_is_one_call(name, update, x_axis, monkeypatch):
    monkeypatch.setattr(global_state, "_SHOWN_ONCE", set())
    index = MIXED_UPDATES[name]
    x = rng.normal(size=(B, 5, 3, 6))[0 if x_axis is None else slice(None)]
    i, j = np.array([0, 2, 4]), np.array([[1, 2], [0, 0], [2, 1]])
    in_axes = (x_axis, 0, 0)
    f = lambda v, i, j: _assigned(update, v, index(i, j))  # noqa: E731
    loss = cr.grad(lambda v, i, j: cnp.sum(f(v, i, j) ** 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no loop over the examples
        assert_batches(f, (x, i, j), in_axes)
        got = cr.vmap(loss, in_axes=in_axes)(x, i, j)
    np.testing.assert_allclose(got, looped(loss, (x, i, j), in_axes), rtol=1e-12, atol=1e-12)


# -- products, linear algebra, FFTs -------------------------------------------------------------------
def spd(n):
    a = rng.normal(size=(n, n))
    return a @ a.T + n * np.eye(n)


PRODUCTS = {
    "matmul mm": ((3, 4), (4, 2)), "matmul mv": ((3, 4), (4,)), "matmul vm": ((4,), (4, 2)),
    "matmul vv": ((4,), (4,)), "matmul stacked": ((2, 3, 4), (4, 2)),
    "matmul stacked vs": ((4,), (2, 4, 3)),
    "matmul column row": ((4, 1), (1, 3)), "matmul stacked column row": ((2, 4, 1), (2, 1, 3)),
    "dot mm": ((3, 4), (4, 2)), "dot vv": ((4,), (4,)), "dot nd": ((2, 3, 4), (5, 4, 2)),
    "dot scalar": ((), (3,)),
    "inner": ((3, 4), (2, 4)), "outer": ((3,), (2, 2)), "vdot": ((2, 3), (3, 2)),
    "tensordot": ((2, 3, 4), (3, 4, 5)), "tensordot 1": ((3, 4), (4, 2)),
    "cross": ((3,), (3,)), "cross b": ((2, 3), (3,)), "kron": ((2, 2), (3,)),
    "einsum": ((3, 4), (4, 2)),
}
FUNCS = {
    "matmul": cnp.matmul, "dot": cnp.dot, "inner": cnp.inner, "outer": cnp.outer,
    "vdot": cnp.vdot, "tensordot": lambda a, b: cnp.tensordot(a, b, 2),
    "tensordot 1": lambda a, b: cnp.tensordot(a, b, axes=([1], [0])), "cross": cnp.cross,
    "kron": cnp.kron, "einsum": lambda a, b: cnp.einsum("ij,jk->ki", a, b),
}


@pytest.mark.parametrize("in_axes", [(0, 0), (0, None), (1, 0)])
def test_outer_keeps_the_sign_of_zero_products(in_axes):
    """Each entry of a batch of outer products is one product, as NumPy's: -0.0 * 1.0 is
    -0.0 (a contraction's sum of the one product gave +0.0), and 0 * inf is NaN."""
    a = np.array([[-0.0, 1.0, 2.0], [3.0, -0.0, 0.0]])
    b = np.array([[1.0, -0.0], [np.inf, -2.0]])
    args = (a.T if in_axes[0] == 1 else a, b[1] if in_axes[1] is None else b)
    want = np.stack([np.outer(x, b[1] if in_axes[1] is None else y) for x, y in zip(a, b, strict=True)])
    jitted = cr.jit(cr.vmap(cnp.outer, in_axes=in_axes))
    # jitted: the replay decides per call, as the plain call does (no zero product: einsum)
    shifted = np.stack([np.outer(x + 1.5, (b[1] if in_axes[1] is None else y) + 1.5)
                        for x, y in zip(a, b, strict=True)])
    for got, expected in ((cr.vmap(cnp.outer, in_axes=in_axes)(*args), want), (jitted(*args), want),
                          (jitted(*(x + 1.5 for x in args)), shifted)):
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


def test_column_times_row_is_one_einsum_per_batch():
    """matmul of a column and a row per example (the per-example weight gradient of
    examples written as rows, ``x.T @ g``) is one einsum contraction, not NumPy's stacked
    matmul (without BLAS for an inner size of 1) nor a broadcast multiply; each entry is
    what NumPy's matmul gives for the example, the sign of a zero product included (its
    sum starts from 0: -0.0 * 1.0 gives +0.0, as einsum's)."""
    cols = np.array([[[-0.0], [1.0], [2.0]], [[3.0], [-0.0], [0.5]]])
    rows = np.array([[[1.0, -0.0]], [[np.inf, -2.0]]])
    want = np.stack([np.matmul(x, y) for x, y in zip(cols, rows, strict=True)])
    jitted = cr.jit(cr.vmap(cnp.matmul))
    for got in (cr.vmap(cnp.matmul)(cols, rows), jitted(cols, rows)):
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    called = {fun for fun in jitted.programs[0].replay.__globals__.values() if callable(fun)}
    assert np.einsum in called and np.multiply not in called, jitted.programs[0].source


def test_var_and_std_with_a_batched_mask():
    """var and std with where= a mask that vmap batches (the array batched or not): each
    example's own mask, as the loop over the examples gives it."""
    x = rng.normal(size=(B, 5))
    mask = np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1], [1, 0, 1, 0, 1]], bool)
    for f in (cnp.var, cnp.std):
        np.testing.assert_allclose(cr.vmap(lambda w, f=f: f(x[0], where=w))(mask),
                                   [np.var(x[0], where=w) ** (0.5 if f is cnp.std else 1) for w in mask], rtol=1e-13)
        assert_batches(lambda v, w, f=f: f(v, ddof=1, where=w), (x, mask))


@pytest.mark.parametrize("name", sorted(PRODUCTS))
@pytest.mark.parametrize("in_axes", [(0, 0), (0, None), (None, 0), (-1, 0)])
def test_products(name, in_axes):
    fname = name if name in FUNCS else name.split()[0]
    if name == "cross b":
        fname = "cross"
    shapes = PRODUCTS[name]
    args = []
    for shape, ax in zip(shapes, in_axes, strict=True):
        if ax is None:
            args.append(rng.normal(size=shape))
        else:
            full = list(shape)
            full.insert(ax % (len(shape) + 1), B)
            args.append(rng.normal(size=full))
    assert_batches(FUNCS[fname], tuple(args), in_axes)


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_products_nested(name):
    # the inner rule's call (with its axes now explicit) goes through the outer batching
    # rule; the hessian of a product runs that path too
    fname = "cross" if name == "cross b" else (name if name in FUNCS else name.split()[0])
    a, b = (rng.normal(size=(2, B, *shape)) for shape in PRODUCTS[name])
    got = cr.vmap(cr.vmap(FUNCS[fname]))(a, b)
    want = np.stack([np.stack([FUNCS[fname](x, y) for x, y in zip(xs, ys, strict=True)])
                     for xs, ys in zip(a, b, strict=True)])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_hessian_of_cross_matches_second_differences():
    x = rng.normal(size=6)
    h = cr.hessian(lambda v: cnp.sum(cnp.cross(v[:3], v[1:4])))(x)
    # sum(cross(a, b)) = a . (b x 1), bilinear: the Hessian is constant and symmetric
    def f(v):
        return np.sum(np.cross(v[:3], v[1:4]))

    e, want = np.eye(6), np.zeros((6, 6))
    for i in range(6):
        for j in range(6):
            want[i, j] = f(e[i] + e[j]) - f(e[i]) - f(e[j])
    np.testing.assert_allclose(h, want, atol=1e-12)


@pytest.mark.parametrize("name", ["nansum", "nanmean", "nanmax", "nanvar", "nanstd"])
@pytest.mark.parametrize("with_nan", [False, True])
def test_gradients_of_nan_reductions_batch(name, with_nan):
    # the rule asks "is there a NaN anywhere?", of the whole batch under vmap
    x = rng.normal(size=(B, 5))
    if with_nan:
        x[1, 2] = x[2, 0] = x[2, 4] = np.nan

    def f(v):
        return getattr(cnp, name)(v ** 3)

    got = cr.vmap(cr.grad(f))(x)
    want = np.stack([cr.grad(f)(v) for v in x])
    np.testing.assert_array_equal(got, want)


def test_einsum_forms():
    a, b = rng.normal(size=(B, 2, 3)), rng.normal(size=(3, 4))
    assert_batches(lambda x, y: cnp.einsum("...j,jk", x, y), (a, b), (0, None))
    assert_batches(lambda x: cnp.einsum("ij->", x), (a,))
    assert_batches(lambda x: cnp.einsum("ii", x), (rng.normal(size=(B, 3, 3)),))


LINALG = {
    "inv": lambda a: cnp.linalg.inv(a), "det": lambda a: cnp.linalg.det(a),
    "slogdet": lambda a: cnp.linalg.slogdet(a)[1], "cholesky": lambda a: cnp.linalg.cholesky(a),
    "eigh": lambda a: cnp.linalg.eigh(a)[0], "eigvalsh": lambda a: cnp.linalg.eigvalsh(a),
    "svd s": lambda a: cnp.linalg.svd(a)[1], "svdvals": lambda a: cnp.linalg.svd(a, compute_uv=False),
    "qr r": lambda a: cnp.abs(cnp.linalg.qr(a)[1]), "pinv": lambda a: cnp.linalg.pinv(a),
    "norm": lambda a: cnp.linalg.norm(a), "norm fro": lambda a: cnp.linalg.norm(a, "fro"),
    "norm axis": lambda a: cnp.linalg.norm(a, axis=0), "norm 2": lambda a: cnp.linalg.norm(a, 2),
    "norm keepdims": lambda a: cnp.linalg.norm(a, keepdims=True),
    "solve v": lambda a: cnp.linalg.solve(a, np.arange(3.0)),
    "solve m": lambda a: cnp.linalg.solve(a, np.eye(3)[:, :2]),
    "matrix_power": lambda a: cnp.linalg.matrix_power(a, 3),
    "eigvals": lambda a: cnp.sort(cnp.real(cnp.linalg.eig(a)[0])),
}


@pytest.mark.parametrize("name", sorted(LINALG))
def test_linalg(name):
    a = np.stack([spd(3) for _ in range(B)])
    assert_batches(LINALG[name], (a,), tol=1e-9)


def test_solve_with_batched_right_hand_side():
    a, b = spd(3), rng.normal(size=(B, 3))
    assert_batches(cnp.linalg.solve, (a, b), (None, 0), tol=1e-10)
    assert_batches(cnp.linalg.solve, (np.stack([spd(3)] * B), b), (0, 0), tol=1e-10)


FFTS = {
    "fft": lambda v: cnp.fft.fft(v), "ifft": lambda v: cnp.fft.ifft(v, axis=0),
    "fft n": lambda v: cnp.fft.fft(v, n=6), "rfft": lambda v: cnp.fft.rfft(v),
    "irfft": lambda v: cnp.fft.irfft(v), "fft2": lambda v: cnp.fft.fft2(v),
    "fftn s": lambda v: cnp.fft.fftn(v, s=(2, 5)), "rfftn": lambda v: cnp.fft.rfftn(v),
    "fftshift": lambda v: cnp.fft.fftshift(v), "ifftshift": lambda v: cnp.fft.ifftshift(v, axes=0),
}


@pytest.mark.parametrize("name", sorted(FFTS))
def test_fft(name):
    assert_batches(FFTS[name], (rng.normal(size=(B, 3, 4)),), tol=1e-10)


# -- in_axes / out_axes / pytrees -------------------------------------------------------------------
def test_pytree_arguments_and_results():
    params = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    xs = rng.normal(size=(B, 3))

    def f(p, x):
        return {"y": x @ p["w"] + p["b"], "n": cnp.sum(x ** 2)}

    out = cr.vmap(f, in_axes=({"w": None, "b": None}, 0))(params, xs)
    assert out["y"].shape == (B, 2) and out["n"].shape == (B,)
    np.testing.assert_allclose(out["y"], xs @ params["w"] + params["b"], rtol=1e-12)
    out2 = cr.vmap(f, in_axes=(None, 0), out_axes={"y": 1, "n": 0})(params, xs)
    np.testing.assert_allclose(out2["y"], (xs @ params["w"] + params["b"]).T, rtol=1e-12)


def test_unbatched_output_is_broadcast_and_none_out_axes():
    x = rng.normal(size=(B, 2))
    out = cr.vmap(lambda v: (v, np.float64(1.0)))(x)
    assert out[1].shape == (B,)
    const = cr.vmap(lambda v: (v, np.ones(2)), out_axes=(0, None))(x)
    assert const[1].shape == (2,)


def test_axis_size_when_nothing_is_batched():
    out = cr.vmap(lambda a: a * 2, in_axes=None, axis_size=4)(np.ones(2))
    assert out.shape == (4, 2)


# -- errors ---------------------------------------------------------------------------------------------
def test_different_batch_sizes_name_the_arguments():
    with pytest.raises(ValueError, match=r"argument 0 has size 3.*argument 1 has size 4"):
        cr.vmap(cnp.add)(np.ones(3), np.ones(4))


def test_different_batch_sizes_name_keyword_arguments_and_leaves():
    with pytest.raises(ValueError, match=r"argument 0 has size 3.*keyword argument 'y' has size 4"):
        cr.vmap(lambda x, y: x + y)(np.ones(3), y=np.ones(4))
    with pytest.raises(ValueError, match=r"argument 0 leaf 1 has size 2"):
        cr.vmap(lambda p: p[0] + p[1])((np.ones(3), np.ones(2)))
    with pytest.raises(ValueError, match=r"keyword argument 'y' of shape \(\).*always batched"):
        cr.vmap(lambda x, y: x + y)(np.ones(3), y=np.array(1.0))


def test_in_axes_out_of_range():
    with pytest.raises(ValueError, match="in_axes=2 for argument 0 of shape"):
        cr.vmap(cnp.sin, in_axes=2)(np.ones((3, 2)))


def test_in_axes_structure_mismatch():
    with pytest.raises(ValueError, match="in_axes has 1 entries but 2"):
        cr.vmap(cnp.add, in_axes=(0,))(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="prefix"):
        cr.vmap(lambda d: d["a"], in_axes=({"b": 0},))({"a": np.ones(3)})


def test_axis_size_missing():
    with pytest.raises(ValueError, match="axis_size"):
        cr.vmap(cnp.sin, in_axes=None)(np.ones(3))


def test_python_control_flow_on_a_batched_value_is_refused():
    with pytest.raises(TypeError, match="vmap"):
        cr.vmap(lambda v: v if v.sum() > 0 else -v)(np.ones((3, 2)))


def test_out_axes_none_for_a_batched_output():
    with pytest.raises(ValueError, match="out_axes is None"):
        cr.vmap(cnp.sin, out_axes=None)(np.ones(3))


# -- the fallback: a user's primitive without a rule -------------------------------------------------
def test_primitive_without_rule_loops_and_warns_once():
    calls = []

    @cr.primitive
    def cube_sum(x):
        calls.append(np.shape(x))
        return np.sum(x ** 3)

    cr.defvjp(cube_sum, lambda ans, x: lambda g: g * 3 * x ** 2)
    x = rng.normal(size=(B, 4))
    with pytest.warns(UserWarning, match="cube_sum has no batching rule"):
        out = cr.vmap(cube_sum)(x)
    np.testing.assert_allclose(out, np.sum(x ** 3, axis=1), rtol=1e-12)
    assert calls == [(4,)] * B
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = cr.vmap(cr.grad(cube_sum))(x)  # warned once already
    np.testing.assert_allclose(g, 3 * x ** 2, rtol=1e-12)


def test_numpy_function_without_mirror_loops_and_warns_once(monkeypatch):
    """NumPy's functions that chainrule neither mirrors nor differentiates (histogram2d,
    ix_), called on batched values directly or through NumPy's dispatch, run once per
    example and stack, warned once by name, as a primitive without a batching rule."""
    monkeypatch.setattr(global_state, "_SHOWN_ONCE", set())  # warned once per process: forget it
    x, y = rng.uniform(size=(B, 6)), rng.uniform(size=(B, 6))
    with pytest.warns(UserWarning, match="histogram2d has no batching rule"):
        assert_batches(lambda a, b: cnp.histogram2d(a, b, bins=3), (x, y[0]), (0, None))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_batches(lambda a, b: np.histogram2d(a, b, bins=3), (x.T, y), (1, 0), out_axes=-1)  # warned already
    with pytest.warns(UserWarning, match="ix_ has no batching rule"):
        assert_batches(lambda a, b: cnp.ix_(a, b), (x, y[0]), (0, None))
    with pytest.warns(UserWarning, match="histogramdd has no batching rule"):
        counts, edges = cr.vmap(lambda a: cnp.histogramdd(a, bins=2))(x.reshape(B, 3, 2))  # (edges: a list)
    assert isinstance(edges, list) and len(edges) == 2 and counts.shape == (B, 2, 2)
    np.testing.assert_array_equal(edges[1][2], np.histogramdd(x[2].reshape(3, 2), bins=2)[1][1])
    with pytest.raises(TypeError, match="histogram2d is not differentiable"):
        cr.vmap(cr.grad(lambda a: cnp.histogram2d(a, a)[0].sum()))(x)


# -- chainrule.scipy ----------------------------------------------------------------------------------
def scipy_programs():
    import scipy.linalg

    import chainrule.scipy.linalg as csl
    import chainrule.scipy.signal as css
    import chainrule.scipy.special as csp
    import chainrule.scipy.stats as cst

    tri = np.triu(rng.uniform(0.5, 1, (3, 3))) + np.eye(3)
    return {
        "gammaln": (lambda v: csp.gammaln(v + 3), (B, 3, 3)),
        "xlogy": (lambda v: csp.xlogy(v, v * v + 1), (B, 3, 3)),
        "polygamma": (lambda v: csp.polygamma(1, v * v + 1), (B, 3, 3)),
        "logsumexp": (lambda v: csp.logsumexp(v), (B, 3, 3)),
        "logsumexp axis": (lambda v: csp.logsumexp(v, axis=0, keepdims=True), (B, 3, 3)),
        "logsumexp b": (lambda v: csp.logsumexp(v, b=np.arange(1.0, 4.0), axis=-1), (B, 3, 3)),
        "softmax": (lambda v: csp.softmax(v, axis=1), (B, 3, 3)),
        "log_softmax": (lambda v: csp.log_softmax(v), (B, 3, 3)),
        "norm.logpdf": (lambda v: cst.norm.logpdf(v, 0.5, 2.0), (B, 3, 3)),
        "mvn.logpdf": (lambda v: cst.multivariate_normal.logpdf(v, np.zeros(3), np.eye(3) * 2),
                       (B, 3, 3)),
        "solve_triangular": (lambda v: csl.solve_triangular(tri, v[0]), (B, 3, 3)),
        "solve_triangular a": (lambda v: csl.solve_triangular(v + 4 * np.eye(3), np.ones(3)),
                               (B, 3, 3)),
        "expm": (lambda v: csl.expm(0.1 * v), (B, 3, 3)),
        "sqrtm": (lambda v: cnp.real(csl.sqrtm(v @ v.T + np.eye(3))), (B, 3, 3)),
        "solve_sylvester": (lambda v: csl.solve_sylvester(v + 5 * np.eye(3), tri, v), (B, 3, 3)),
        "convolve": (lambda v: css.convolve(v, np.ones((2, 2))), (B, 3, 3)),
        "scipy check": (lambda v: v * scipy.linalg.norm(np.ones(2)), (B, 3, 3)),
    }


@pytest.mark.parametrize("name", sorted(scipy_programs()))
def test_scipy(name):
    f, shape = scipy_programs()[name]
    assert_batches(f, (rng.normal(size=shape),), tol=1e-9)


def test_odeint_per_example():
    from chainrule.scipy.integrate import odeint

    y0 = rng.uniform(0.5, 2, size=(B, 2))
    assert_batches(lambda y: odeint(lambda y, t: -y * t, y, np.array([0.0, 0.5, 1.0])), (y0,),
                   tol=1e-7)


def test_a_batched_value_that_escapes_vmap_is_refused_by_name():
    # each example has its own value, so none stands for the stored one (JAX raises too);
    # a differentiating transform's escaped value is a constant instead (tests/core/test_nesting.py)
    kept = []
    cr.vmap(lambda x: kept.append(x) or x * 2)(np.arange(3.0))
    with pytest.raises(RuntimeError, match="vmap transform that has already returned.*mapping over.*out_axes"):
        cnp.sin(kept[0])


@pytest.mark.parametrize("read", ["np.asarray", ".numpy()", ".tolist()", ".item()", "jit closure"])
def test_an_escaped_batched_value_read_as_plain_is_refused_as_escaped(read):
    """Reading it as a plain value said 'inside chainrule.vmap ...' (or that it required grad,
    or that an outer vmap differentiated it) though the vmap had returned."""
    kept = []
    cr.vmap(lambda x: kept.append(x) or x * 2)(np.arange(3.0))
    reads = {"np.asarray": np.asarray, ".numpy()": lambda v: v.numpy(), ".tolist()": lambda v: v.tolist(),
             ".item()": lambda v: v.item(), "jit closure": lambda v: cr.jit(lambda y: y + v)(np.ones(3))}
    with pytest.raises(TypeError, match="vmap transform that has already returned.*mapping over.*out_axes"):
        reads[read](kept[0])

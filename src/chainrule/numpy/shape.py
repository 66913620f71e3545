"""Shape changes and indexing: the functions that move values without changing them.

Most are linear, so their jvp is the function itself applied to the tangent, and their
vjp moves the cotangent back to where each value came from: a slice of the cotangent for
``concatenate``, a scatter (``np.add.at``, so repeated indices add up) for indexing.

A few primitives carry the rest: ``reshape``, ``transpose``, ``broadcast_to``,
indexing (``getitem`` and its adjoint ``scatter_add``), ``concatenate``/``stack`` and
``split``, ``flip``, ``roll``, ``diagonal``, ``pad``. The other functions (``moveaxis``,
``tile``, ``repeat``, ``rot90``, ``diff``, ``sort``, ``take_along_axis``, ...) are written
with them, so they differentiate to any order without rules of their own. Called on
plain values (no Tensor anywhere in the arguments), each public function is NumPy's own.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import (
    SEQUENCE_TO_ARRAY,
    Primitive,
    RulesByArgument,
    def_batch,
    def_jvps,
    def_linear,
    def_vjps,
)
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import shape_of, unbroadcast
from chainrule.numpy.registry import mirrors, optional, wrap

__all__ = [
    "reshape", "ravel", "transpose", "permute_dims", "matrix_transpose", "moveaxis",
    "swapaxes", "rollaxis", "expand_dims", "squeeze", "broadcast_to", "broadcast_arrays",
    "atleast_1d", "atleast_2d", "atleast_3d",
    "concatenate", "concat", "stack", "hstack", "vstack", "dstack", "column_stack",
    "row_stack", "append", "split", "array_split", "hsplit", "vsplit", "dsplit", "unstack",
    "tile", "repeat", "flip", "fliplr", "flipud", "roll", "rot90", "pad",
    "diag", "diagonal", "diagflat", "trace", "tril", "triu", "select", "diff", "gradient",
    "getitem", "take", "take_along_axis", "compress", "extract", "delete",
    "sort", "partition", "meshgrid",
    "array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray", "r_", "c_",
]

AxisError = getattr(getattr(np, "exceptions", np), "AxisError", IndexError)


# -- helpers --------------------------------------------------------------------------------
def shape_op(np_fun, name: str | None = None, public: bool = True, **kw) -> Primitive:
    return wrap(np_fun, "shape", name, public=public, **kw)


def _ndim(x) -> int:
    return len(shape_of(x))


def _dtype(x) -> np.dtype:
    try:
        return x.dtype
    except AttributeError:
        return np.result_type(x)


def _has_tensor(x) -> bool:
    """Whether ``x`` is a Tensor or a (nested) list or tuple holding one."""
    if isinstance(x, Tensor):
        return True
    if isinstance(x, list | tuple):
        return any(_has_tensor(v) for v in x)
    return False


def _deep_plain(x):
    """``x`` with every Tensor inside (nested lists and tuples too) replaced by its value."""
    if isinstance(x, Tensor):
        return x.primal()
    if isinstance(x, list | tuple) and _has_tensor(x):
        return type(x)(_deep_plain(v) for v in x)
    return x


def _axis(axis, ndim: int) -> int:
    a = operator.index(axis)
    if not -ndim <= a < ndim:
        raise AxisError(a, ndim)
    return a % ndim


def _axes(axis, ndim: int) -> tuple[int, ...]:
    """An int or a sequence of ints as non-negative axes (duplicates are an error)."""
    if isinstance(axis, Sequence) or (isinstance(axis, np.ndarray) and axis.ndim):
        axes = tuple(_axis(a, ndim) for a in axis)
    else:
        axes = (_axis(axis, ndim),)
    if len(set(axes)) != len(axes):
        raise ValueError("repeated axis")
    return axes


def _along(x, axis: int, index):
    """``x[..., index, ...]`` with ``index`` at position ``axis`` (a static index)."""
    return _getitem(x, (slice(None),) * axis + (index,))


def _as_input(x):
    """A nested list holding Tensors becomes a Tensor (so it can be reshaped, sliced...)."""
    if isinstance(x, list | tuple) and not isinstance(x, Tensor) and _has_tensor(x):
        return array(x)
    return x


def _no_out(name: str, out) -> None:
    if out is not None:
        raise TypeError(
            f"{name}: out= cannot hold a Tensor (the gradient would be lost); "
            "use the returned value instead"
        )


def _zeros(shape, dtype) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


# -- reshape, ravel, transpose and friends -----------------------------------------------
def _order(order, x) -> str:
    """The layout an order of 'A' (or 'K', for ravel) stands for, read from ``x``'s value."""
    if order == "C" or order == "F" or order is None:
        return order or "C"
    v = x.primal() if isinstance(x, Tensor) else x
    flags = getattr(v, "flags", None)
    if flags is not None and flags.f_contiguous and not flags.c_contiguous:
        return "F"
    return "C"


reshape = shape_op(np.reshape)
# order='A' reads x's layout; the rules use the layout that x had, not the tangent's.
def_vjps(reshape, lambda g, ans, x, shape=None, order="C", **kw:
         reshape(g, shape_of(x), order=_order(order, x)))
def_jvps(reshape, lambda t, ans, x, shape=None, order="C", **kw:
         reshape(t, shape_of(ans), order=_order(order, x)))


@mirrors(np.ravel, "shape")
def ravel(a, order: str = "C"):
    """``np.ravel``; for order 'A' and 'K' the gradient follows the memory order that
    ``a`` had (as NumPy reads it)."""
    if not isinstance(a, Tensor):
        if not _has_tensor(a):
            return np.ravel(a, order=order)
        a = array(a)
    if order == "K":
        v = np.asarray(a.primal())
        if not (v.flags.c_contiguous or v.flags.f_contiguous):
            # Number the elements in C order in an array laid out like v; reading that
            # array in memory order tells where each element of ravel(v, 'K') comes from.
            ix = np.empty_like(v, dtype=np.intp)
            ix[...] = np.arange(v.size).reshape(v.shape)
            return _getitem(reshape(a, (-1,)), np.ravel(ix, order="K"))
    return reshape(a, (-1,), order=_order(order, a))


def _inverse_axes(axes, ndim: int):
    if axes is None:
        return None
    return tuple(np.argsort([operator.index(a) % ndim for a in axes]))


transpose = shape_op(np.transpose)
def_vjps(transpose, lambda g, ans, x, axes=None: transpose(g, _inverse_axes(axes, _ndim(x))))
def_linear(transpose)
permute_dims = transpose

swapaxes = shape_op(np.swapaxes)
def_vjps(swapaxes, lambda g, ans, x, axis1, axis2: swapaxes(g, axis1, axis2))
def_linear(swapaxes)


@mirrors(optional(np, "matrix_transpose"), "shape")
def matrix_transpose(x, /):
    """``np.matrix_transpose``: swap the last two axes."""
    if _ndim(x) < 2:
        raise ValueError(f"Input array must be at least 2-dimensional, but it is {_ndim(x)}")
    return swapaxes(x, -1, -2)


@mirrors(np.moveaxis, "shape")
def moveaxis(a, source, destination):
    a = _as_input(a)
    nd = _ndim(a)
    src = _axes(source, nd)
    dst = _axes(destination, nd)
    if len(src) != len(dst):
        raise ValueError(
            "`source` and `destination` arguments must have the same number of elements"
        )
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return transpose(a, tuple(order))


@mirrors(np.rollaxis, "shape")
def rollaxis(a, axis: int, start: int = 0):
    a = _as_input(a)
    n = _ndim(a)
    axis = _axis(axis, n)
    if start < 0:
        start += n
    if not 0 <= start < n + 1:
        raise AxisError(f"'start' arg requires {-n} <= start < {n + 1}, but {start} was passed in")
    if axis < start:
        start -= 1
    if axis == start:
        return a
    axes = list(range(n))
    axes.remove(axis)
    axes.insert(start, axis)
    return transpose(a, tuple(axes))


expand_dims = shape_op(np.expand_dims)
def_vjps(expand_dims, lambda g, ans, x, axis: reshape(g, shape_of(x)))
def_linear(expand_dims)

squeeze = shape_op(np.squeeze)
def_vjps(squeeze, lambda g, ans, x, axis=None: reshape(g, shape_of(x)))
def_linear(squeeze)

broadcast_to = shape_op(np.broadcast_to)
def_vjps(broadcast_to, lambda g, ans, x, shape, **kw: unbroadcast(g, x))
def_linear(broadcast_to)


@mirrors(np.broadcast_arrays, "shape")
def broadcast_arrays(*args, subok: bool = False) -> tuple:
    if not _has_tensor(args):
        return np.broadcast_arrays(*args, subok=subok)
    shape = np.broadcast_shapes(*(shape_of(a) for a in args))
    return tuple(a if shape_of(a) == shape else broadcast_to(a, shape) for a in args)


def _atleast(arys, one: Callable, np_fun: Callable):
    if not _has_tensor(arys):
        return np_fun(*arys)
    res = tuple(one(_as_input(a)) for a in arys)
    return res[0] if len(res) == 1 else res


def _at_least_1d(a):
    return reshape(a, (1,)) if _ndim(a) == 0 else a


def _at_least_2d(a):
    nd = _ndim(a)
    return a if nd >= 2 else reshape(a, (1, -1) if nd == 1 else (1, 1))


def _at_least_3d(a):
    shape = shape_of(a)
    if len(shape) >= 3:
        return a
    new = {0: (1, 1, 1), 1: (1, *shape, 1), 2: (*shape, 1)}[len(shape)]
    return reshape(a, new)


@mirrors(np.atleast_1d, "shape")
def atleast_1d(*arys):
    return _atleast(arys, _at_least_1d, np.atleast_1d)


@mirrors(np.atleast_2d, "shape")
def atleast_2d(*arys):
    return _atleast(arys, _at_least_2d, np.atleast_2d)


@mirrors(np.atleast_3d, "shape")
def atleast_3d(*arys):
    return _atleast(arys, _at_least_3d, np.atleast_3d)


# -- indexing ---------------------------------------------------------------------------------
def _getitem_impl(x, index):
    return x[index]


_getitem = shape_op(_getitem_impl, "getitem", public=False)


def _is_basic(index) -> bool:
    """True when no position can be selected twice (no integer arrays in the index), so
    the adjoint can assign instead of accumulating with ``np.add.at``."""
    for i in index if isinstance(index, tuple) else (index,):
        if i is None or i is Ellipsis or isinstance(i, int | np.integer | slice):
            continue
        if isinstance(i, np.ndarray) and i.dtype == bool:
            continue
        return False
    return True


def _scatter_add_impl(g, index, shape):
    out = np.zeros(shape, dtype=np.result_type(g))
    if _is_basic(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


scatter_add = shape_op(_scatter_add_impl, "scatter_add", public=False)
def_vjps(_getitem, lambda g, ans, x, index: scatter_add(g, index, shape_of(x)))
def_linear(_getitem)
def_vjps(scatter_add, lambda g, ans, gi, index, shape: _getitem(g, index))
def_linear(scatter_add)


def _index_item(i):
    if isinstance(i, Tensor):
        return undifferentiated(i)  # under chainrule.jit, an index that follows the data
    if isinstance(i, list):
        arr = np.asarray(_deep_plain(i))
        # An empty list indexes like an empty integer array, not a float one.
        return arr.astype(np.intp) if arr.size == 0 else arr
    return i


def _plain_index(index):
    if isinstance(index, tuple):
        return tuple(_index_item(i) for i in index)
    return _index_item(index)


@mirrors(None, "shape", "getitem")
def getitem(x, index):
    """``x[index]``: basic, advanced (repeated indices add up in the gradient), boolean,
    ``None`` and ``Ellipsis`` indexing; indices may be Tensors or lists holding them."""
    t = type(index)
    if t is not int and t is not slice:
        index = _plain_index(index)
    return _getitem(x, index)


@mirrors(np.take, "shape")
def take(a, indices, axis=None, out=None, mode="raise"):
    if not _has_tensor(a) and not _has_tensor(indices):
        return np.take(a, indices, axis=axis, out=out, mode=mode)
    _no_out("take", out)
    a = _as_input(a)
    indices = _index_array(indices)  # traced indices (jit, vmap) stay traced
    if axis is None:
        a = ravel(a)
        axis = 0
    axis = _axis(axis, _ndim(a))
    n = shape_of(a)[axis]
    if mode == "wrap":
        indices = indices % n
    elif mode == "clip":
        indices = np.clip(indices, 0, n - 1)
    elif mode != "raise":
        raise ValueError(f"clipmode must be one of 'clip', 'raise', or 'wrap' (got {mode!r})")
    return _along(a, axis, indices)


def _index_array(indices):
    """Indices as an array, or as the traced Tensor they are while chainrule.jit records
    (so that they are data of the program, not constants)."""
    indices = undifferentiated(indices)
    if isinstance(indices, Tensor):
        return indices
    return np.asarray(_deep_plain(indices))


def _along_axis_index(shape, indices, axis: int) -> tuple:
    if np.ndim(indices) != len(shape):
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    if not np.issubdtype(_dtype(indices), np.integer):
        raise IndexError("`indices` must be an integer array")
    nd = len(shape)
    index = []
    for dim, n in enumerate(shape):
        if dim == axis:
            index.append(indices)
        else:
            index.append(np.arange(n).reshape((1,) * dim + (-1,) + (1,) * (nd - dim - 1)))
    return tuple(index)


@mirrors(np.take_along_axis, "shape")
def take_along_axis(arr, indices, axis=-1):
    if not _has_tensor(arr) and not _has_tensor(indices):
        return np.take_along_axis(arr, _deep_plain(indices), axis=axis)
    arr = _as_input(arr)
    indices = _index_array(indices)
    if axis is None:
        if indices.ndim != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        arr = ravel(arr)
        axis = 0
    axis = _axis(axis, _ndim(arr))
    return _getitem(arr, _along_axis_index(shape_of(arr), indices, axis))


@mirrors(np.compress, "shape")
def compress(condition, a, axis=None, out=None):
    if not _has_tensor(a):
        return np.compress(_deep_plain(condition), a, axis=axis, out=out)
    _no_out("compress", out)
    cond = np.asarray(_deep_plain(condition))
    return take(a, np.nonzero(cond.ravel())[0], axis=axis)


@mirrors(np.extract, "shape")
def extract(condition, arr):
    if not _has_tensor(arr):
        return np.extract(_deep_plain(condition), arr)
    return take(ravel(arr), np.nonzero(np.ravel(_deep_plain(condition)))[0])


@mirrors(np.delete, "shape")
def delete(arr, obj, axis=None):
    if not _has_tensor(arr):
        return np.delete(arr, _deep_plain(obj), axis=axis)
    arr = _as_input(arr)
    if axis is None:
        arr = ravel(arr)
        axis = 0
    axis = _axis(axis, _ndim(arr))
    kept = np.delete(np.arange(shape_of(arr)[axis]), _deep_plain(obj))
    return _along(arr, axis, kept)


def _sorted_along(a, order_of: Callable, axis):
    a = _as_input(a)
    if axis is None:
        a = ravel(a)
        axis = -1
    idx = order_of(undifferentiated(a), axis)  # under chainrule.jit: recorded, not read
    return take_along_axis(a, idx, axis)


@mirrors(np.sort, "shape")
def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """``np.sort``: the sorted values carry the gradient of the elements they came from."""
    kw = {} if stable is None else {"stable": stable}
    if not _has_tensor(a):
        return np.sort(a, axis=axis, kind=kind, order=order, **kw)
    return _sorted_along(
        a, lambda v, ax: np.argsort(v, axis=ax, kind=kind, order=order, **kw), axis
    )


@mirrors(np.partition, "shape")
def partition(a, kth, axis=-1, kind="introselect", order=None):
    if not _has_tensor(a):
        return np.partition(a, _deep_plain(kth), axis=axis, kind=kind, order=order)
    kth = _deep_plain(kth)
    return _sorted_along(
        a, lambda v, ax: np.argpartition(v, kth, axis=ax, kind=kind, order=order), axis
    )


# -- joining ----------------------------------------------------------------------------------
def _concatenate_impl(*arrays, axis=0):
    return np.concatenate(arrays, axis=axis)


_concatenate = shape_op(_concatenate_impl, "concatenate", public=False)


def _start(arrays, k: int, axis: int) -> int:
    return sum(shape_of(a)[axis] for a in arrays[:k])


def _concatenate_vjp(k: int):
    def rule(g, ans, *arrays, axis):
        start = _start(arrays, k, axis)
        return _along(g, axis, slice(start, start + shape_of(arrays[k])[axis]))

    return rule


def _padded_along(t, axis: int, before: int, after: int, shape) -> Any:
    """``t`` with zero blocks of ``before`` and ``after`` entries around it along ``axis``."""
    parts = []
    dtype = _dtype(t)
    if before:
        parts.append(_zeros(shape[:axis] + (before,) + shape[axis + 1:], dtype))
    parts.append(t)
    if after:
        parts.append(_zeros(shape[:axis] + (after,) + shape[axis + 1:], dtype))
    return _concatenate(*parts, axis=axis) if len(parts) > 1 else t


def _concatenate_jvp(k: int):
    # The output's tangent from argument k alone: t in its place, zeros elsewhere.
    def rule(t, ans, *arrays, axis):
        start = _start(arrays, k, axis)
        total = shape_of(ans)[axis]
        after = total - start - shape_of(arrays[k])[axis]
        return _padded_along(t, axis, start, after, shape_of(ans))

    return rule


def _tangents_or_zeros(tangents, arrays):
    return [cnp.zeros_like(a) if t is None else t for t, a in zip(tangents, arrays, strict=True)]


_concatenate.vjps = RulesByArgument(_concatenate_vjp)
_concatenate.jvps = RulesByArgument(_concatenate_jvp)
_concatenate.joint_jvp = lambda ts, ans, *arrays, axis: _concatenate(*_tangents_or_zeros(ts, arrays), axis=axis)


@mirrors(np.concatenate, "shape")
def concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    arrays = list(arrays)
    if not _has_tensor(arrays):
        return np.concatenate(arrays, axis=axis, out=out, dtype=dtype, casting=casting)
    _no_out("concatenate", out)
    arrays = [_as_input(a) for a in arrays]
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    axis = _axis(axis, _ndim(arrays[0])) if _ndim(arrays[0]) else axis
    res = _concatenate(*arrays, axis=axis)
    return res if dtype is None else cnp.astype(res, dtype)


concat = concatenate


def _stack_impl(*arrays, axis=0):
    return np.stack(arrays, axis=axis)


_stack = shape_op(_stack_impl, "stack", public=False)
_stack.vjps = RulesByArgument(lambda k: lambda g, ans, *arrays, axis: _along(g, axis, k))
_stack.jvps = RulesByArgument(
    lambda k: lambda t, ans, *arrays, axis: _padded_along(
        expand_dims(t, axis), axis, k, len(arrays) - k - 1, shape_of(ans)
    )
)
_stack.joint_jvp = lambda ts, ans, *arrays, axis: _stack(*_tangents_or_zeros(ts, arrays), axis=axis)


@mirrors(np.stack, "shape")
def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    arrays = list(arrays)
    if not _has_tensor(arrays):
        return np.stack(arrays, axis=axis, out=out, dtype=dtype, casting=casting)
    _no_out("stack", out)
    if not arrays:
        raise ValueError("need at least one array to stack")
    arrays = [_as_input(a) for a in arrays]
    axis = _axis(axis, _ndim(arrays[0]) + 1)
    res = _stack(*arrays, axis=axis)
    return res if dtype is None else cnp.astype(res, dtype)


@mirrors(np.hstack, "shape")
def hstack(tup, *, dtype=None, casting="same_kind"):
    if not _has_tensor(list(tup)):
        return np.hstack(tup, dtype=dtype, casting=casting)
    arrs = [_at_least_1d(_as_input(a)) for a in tup]
    axis = 0 if arrs and _ndim(arrs[0]) == 1 else 1
    return concatenate(arrs, axis, dtype=dtype, casting=casting)


@mirrors(np.vstack, "shape")
def vstack(tup, *, dtype=None, casting="same_kind"):
    if not _has_tensor(list(tup)):
        return np.vstack(tup, dtype=dtype, casting=casting)
    return concatenate([_at_least_2d(_as_input(a)) for a in tup], 0, dtype=dtype, casting=casting)


row_stack = mirrors(optional(np, "row_stack"), "shape", "row_stack")(vstack)


@mirrors(np.dstack, "shape")
def dstack(tup):
    if not _has_tensor(list(tup)):
        return np.dstack(tup)
    return concatenate([_at_least_3d(_as_input(a)) for a in tup], 2)


@mirrors(np.column_stack, "shape")
def column_stack(tup):
    if not _has_tensor(list(tup)):
        return np.column_stack(tup)
    arrays = []
    for a in tup:
        a = _as_input(a)
        nd = _ndim(a)
        arrays.append(reshape(a, (-1, 1)) if nd < 2 else a)
    return concatenate(arrays, 1)


@mirrors(np.append, "shape")
def append(arr, values, axis=None):
    if not _has_tensor([arr, values]):
        return np.append(arr, values, axis=axis)
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], 0)
    return concatenate([arr, values], axis)


# -- splitting --------------------------------------------------------------------------------
def _split_impl(x, bounds, axis):
    return tuple(x[(slice(None),) * axis + (slice(a, b),)] for a, b in bounds)


_split = shape_op(_split_impl, "split", public=False, multiple_outputs=True)


def _with_zeros(g, ans) -> list:
    """The cotangents of a multiple-output primitive, zeros for the unused outputs."""
    dtype = next(_dtype(gi) for gi in g if gi is not None)
    return [_zeros(shape_of(p), dtype) if gi is None else gi for gi, p in zip(g, ans, strict=True)]


def _split_vjp(g, ans, x, bounds, axis):
    shape = shape_of(x)
    n = shape[axis]
    parts = _with_zeros(g, ans)
    end = 0  # do the non-empty pieces tile x in order?
    for a, b in bounds:
        start, stop, _ = slice(a, b).indices(n)
        if stop > start:
            if start != end:
                break
            end = stop
    else:
        if end == n:  # then their cotangents, side by side, are x's
            return _concatenate(*parts, axis=axis)
    out = None  # overlapping or out-of-order pieces (array_split with unsorted indices)
    for part, (a, b) in zip(parts, bounds, strict=True):
        gi = scatter_add(part, (slice(None),) * axis + (slice(a, b),), shape)
        out = gi if out is None else out + gi
    return out


def_vjps(_split, _split_vjp)
def_linear(_split)


def _split_bounds(n: int, indices_or_sections) -> list[tuple[int, int]]:
    ios = _deep_plain(indices_or_sections)
    try:
        points = [0, *(operator.index(i) for i in ios), n]
    except TypeError:
        sections = operator.index(ios)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.") from None
        each, extras = divmod(n, sections)
        sizes = [0] + extras * [each + 1] + (sections - extras) * [each]
        points = np.cumsum(sizes).tolist()
    return list(zip(points[:-1], points[1:], strict=True))


@mirrors(np.array_split, "shape")
def array_split(ary, indices_or_sections, axis=0) -> list:
    if not _has_tensor(ary):
        return np.array_split(ary, _deep_plain(indices_or_sections), axis=axis)
    ary = _as_input(ary)
    axis = _axis(axis, _ndim(ary))
    bounds = _split_bounds(shape_of(ary)[axis], indices_or_sections)
    return list(_split(ary, bounds=tuple(bounds), axis=axis))


@mirrors(np.split, "shape")
def split(ary, indices_or_sections, axis=0) -> list:
    ios = _deep_plain(indices_or_sections)
    if np.ndim(ios) == 0:
        n = shape_of(_as_input(ary))[axis]
        if n % operator.index(ios):
            raise ValueError("array split does not result in an equal division")
    return array_split(ary, ios, axis)


@mirrors(np.hsplit, "shape")
def hsplit(ary, indices_or_sections) -> list:
    nd = _ndim(_as_input(ary))
    if nd == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if nd > 1 else 0)


@mirrors(np.vsplit, "shape")
def vsplit(ary, indices_or_sections) -> list:
    if _ndim(_as_input(ary)) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


@mirrors(np.dsplit, "shape")
def dsplit(ary, indices_or_sections) -> list:
    if _ndim(_as_input(ary)) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, 2)


def _unstack_impl(x, axis=0):
    return tuple(np.moveaxis(x, axis, 0))


_unstack = shape_op(_unstack_impl, "unstack", public=False, multiple_outputs=True)


def _unstack_vjp(g, ans, x, axis=0):
    return _stack(*_with_zeros(g, ans), axis=axis)


def_vjps(_unstack, _unstack_vjp)
def_linear(_unstack)


@mirrors(optional(np, "unstack"), "shape")
def unstack(x, /, *, axis: int = 0) -> tuple:
    """``np.unstack``: the slices of ``x`` along ``axis``, as a tuple."""
    if not _has_tensor(x):
        if hasattr(np, "unstack"):
            return np.unstack(x, axis=axis)
        return tuple(np.moveaxis(np.asarray(x), axis, 0))
    x = _as_input(x)
    axis = _axis(axis, _ndim(x))
    if shape_of(x)[axis] == 0:
        return ()
    return _unstack(x, axis=axis)


# -- repeating, flipping, rolling -------------------------------------------------------------
@mirrors(np.tile, "shape")
def tile(A, reps):
    if not _has_tensor(A):
        return np.tile(A, _deep_plain(reps))
    A = _as_input(A)
    reps = _deep_plain(reps)
    tup = tuple(reps) if np.ndim(reps) else (reps,)
    shape = shape_of(A)
    d = max(len(tup), len(shape))
    shape = (1,) * (d - len(shape)) + tuple(shape)
    tup = (1,) * (d - len(tup)) + tuple(operator.index(r) for r in tup)
    # (s0, s1, ...) -> (1, s0, 1, s1, ...) -> (r0, s0, r1, s1, ...) -> (r0*s0, r1*s1, ...)
    spread = reshape(A, tuple(n for s in shape for n in (1, s)))
    spread = broadcast_to(spread, tuple(n for r, s in zip(tup, shape, strict=True) for n in (r, s)))
    return reshape(spread, tuple(r * s for r, s in zip(tup, shape, strict=True)))


@mirrors(np.repeat, "shape")
def repeat(a, repeats, axis=None):
    if not _has_tensor(a):
        return np.repeat(a, _deep_plain(repeats), axis=axis)
    a = _as_input(a)
    repeats = np.asarray(_deep_plain(repeats))
    if axis is None:
        a = ravel(a)
        axis = 0
    axis = _axis(axis, _ndim(a))
    shape = shape_of(a)
    if repeats.size == 1 and repeats.ndim <= 1:
        # One count for all: a broadcast and a reshape (whose adjoint is a sum, not a scatter).
        r = operator.index(repeats.reshape(()).item())
        if r < 0:
            raise ValueError("repeats may not contain negative values.")
        spread = expand_dims(a, axis + 1)
        spread = broadcast_to(spread, shape[:axis + 1] + (r,) + shape[axis + 1:])
        return reshape(spread, shape[:axis] + (shape[axis] * r,) + shape[axis + 1:])
    return _along(a, axis, np.repeat(np.arange(shape[axis]), repeats))


flip = shape_op(np.flip)
def_vjps(flip, lambda g, ans, x, axis=None: flip(g, axis))
def_linear(flip)


@mirrors(np.fliplr, "shape")
def fliplr(m):
    if _ndim(m) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(m, 1)


@mirrors(np.flipud, "shape")
def flipud(m):
    if _ndim(m) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(m, 0)


_roll = shape_op(np.roll, "roll", public=False)
def_vjps(_roll, lambda g, ans, x, shift, axis=None: _roll(g, -np.asarray(shift), axis=axis))
def_linear(_roll)


@mirrors(np.roll, "shape")
def roll(a, shift, axis=None):
    shift = _deep_plain(shift)
    if not _has_tensor(a):
        return np.roll(a, shift, axis=axis)
    return _roll(_as_input(a), shift, axis=axis)


@mirrors(np.rot90, "shape")
def rot90(m, k: int = 1, axes=(0, 1)):
    if not _has_tensor(m):
        return np.rot90(m, k, axes)
    m = _as_input(m)
    nd = _ndim(m)
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    if axes[0] == axes[1] or abs(axes[0] - axes[1]) == nd:
        raise ValueError("Axes must be different.")
    if not (-nd <= axes[0] < nd and -nd <= axes[1] < nd):
        raise ValueError(f"Axes={axes} out of range for array of ndim={nd}.")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, axes[0]), axes[1])
    perm = list(range(nd))
    perm[axes[0] % nd], perm[axes[1] % nd] = perm[axes[1] % nd], perm[axes[0] % nd]
    if k == 1:
        return transpose(flip(m, axes[1]), tuple(perm))
    return flip(transpose(m, tuple(perm)), axes[1])


# -- padding ----------------------------------------------------------------------------------
def _pad_constant_impl(x, constant_values=0, *, widths):
    return np.pad(x, widths, mode="constant", constant_values=constant_values)


_pad_constant = shape_op(_pad_constant_impl, "pad", public=False)


def _interior(widths, shape) -> tuple:
    return tuple(slice(b, b + n) for (b, _), n in zip(widths, shape, strict=True))


def _pad_regions(widths, shape) -> np.ndarray:
    """For each position of the padded array: -1 inside, else 2*axis + side, the pair of
    ``constant_values`` that NumPy writes there (later axes overwrite the corners)."""
    codes = np.arange(2 * len(shape)).reshape(-1, 2)
    return np.pad(np.full(shape, -1), widths, mode="constant", constant_values=codes)


def _pad_constant_vjp_values(g, ans, x, constant_values=0, *, widths):
    regions = _pad_regions(widths, shape_of(x))
    sums = [cnp.sum(g * (regions == code)) for code in range(2 * len(widths))]
    per_side = reshape(_stack(*sums, axis=0), (len(widths), 2))
    return unbroadcast(per_side, constant_values)


def_vjps(_pad_constant,
         lambda g, ans, x, constant_values=0, *, widths:
             _getitem(g, _interior(widths, shape_of(x))),
         _pad_constant_vjp_values)
def_jvps(_pad_constant,
         lambda t, ans, x, constant_values=0, *, widths: _pad_constant(t, 0, widths=widths),
         lambda t, ans, x, constant_values=0, *, widths:
             _pad_constant(_zeros(shape_of(x), _dtype(t)), t, widths=widths))

# Modes that only copy values of the array: padding is a gather along each axis, whose
# indices are NumPy's own padding of arange(n) in the same mode.
_GATHER_MODES = ("edge", "reflect", "symmetric", "wrap")


@mirrors(np.pad, "shape")
def pad(array, pad_width, mode="constant", **kwargs):
    """``np.pad``; differentiable for the modes 'constant' (in ``constant_values`` too),
    'edge', 'reflect', 'symmetric', 'wrap' and 'empty' (filled with zeros)."""
    if not _has_tensor([array, *kwargs.values()]):
        return np.pad(array, _deep_plain(pad_width), mode, **kwargs)
    x = _as_input(array)
    shape = shape_of(x)
    nd = len(shape)
    pw = np.round(np.asarray(_deep_plain(pad_width))).astype(np.intp)
    if pw.size and pw.min() < 0:
        raise ValueError("index can't contain negative values")
    widths = tuple(tuple(int(w) for w in row) for row in np.broadcast_to(pw, (nd, 2)))
    if mode == "empty":
        mode = "constant"
    if mode == "constant":
        cv = kwargs.pop("constant_values", 0)
        if kwargs:
            raise ValueError(f"unsupported keyword arguments for mode 'constant': {set(kwargs)}")
        cv = _as_input(cv)
        if not isinstance(cv, Tensor):
            cv = np.asarray(cv)
        return _pad_constant(x, cv, widths=widths)
    if mode in _GATHER_MODES:
        if kwargs.get("reflect_type", "even") != "even":
            raise NotImplementedError(
                "pad: reflect_type='odd' is not differentiable in chainrule; use 'even'"
            )
        for axis, (before, after) in enumerate(widths):
            if before or after:
                idx = np.pad(np.arange(shape[axis]), (before, after), mode=mode)
                x = _along(x, axis, idx)
        return x
    raise NotImplementedError(
        f"pad: mode {mode!r} is not differentiable in chainrule; use 'constant', 'edge', "
        "'reflect', 'symmetric' or 'wrap'"
    )


# -- diagonals and triangles ------------------------------------------------------------------
def _diag_scatter_impl(g, *, shape, offset=0, axis1=0, axis2=1):
    out = np.zeros(shape, dtype=np.result_type(g))
    view = np.moveaxis(out, (axis1, axis2), (-2, -1))
    n = np.shape(g)[-1]
    view[..., np.arange(n) + max(-offset, 0), np.arange(n) + max(offset, 0)] = g
    return out


# The adjoint of diagonal: the values g put on a diagonal of zeros of the given shape.
_diag_scatter = shape_op(_diag_scatter_impl, "diag_scatter", public=False)
def_vjps(_diag_scatter, lambda g, ans, x, *, shape, offset=0, axis1=0, axis2=1:
         diagonal(g, offset, axis1, axis2))
def_linear(_diag_scatter)

diagonal = shape_op(np.diagonal)
def_vjps(diagonal, lambda g, ans, x, offset=0, axis1=0, axis2=1:
         _diag_scatter(g, shape=shape_of(x), offset=offset, axis1=axis1, axis2=axis2))
def_linear(diagonal)


@mirrors(np.diag, "shape")
def diag(v, k: int = 0):
    if not _has_tensor(v):
        return np.diag(v, k)
    v = _as_input(v)
    nd = _ndim(v)
    if nd == 1:
        n = shape_of(v)[0] + abs(k)
        return _diag_scatter(v, shape=(n, n), offset=k)
    if nd == 2:
        return diagonal(v, k)
    raise ValueError("Input must be 1- or 2-d.")


@mirrors(np.diagflat, "shape")
def diagflat(v, k: int = 0):
    if not _has_tensor(v):
        return np.diagflat(v, k)
    v = ravel(_as_input(v))
    n = shape_of(v)[0] + abs(k)
    return _diag_scatter(v, shape=(n, n), offset=k)


@mirrors(np.trace, "shape")
def trace(a, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype=None, out=None):
    if not _has_tensor(a):
        return np.trace(a, offset, axis1, axis2, dtype, out)
    _no_out("trace", out)
    return cnp.sum(diagonal(_as_input(a), offset, axis1, axis2), axis=-1, dtype=dtype)


@mirrors(np.tril, "shape")
def tril(m, k: int = 0):
    if not _has_tensor(m):
        return np.tril(m, k)
    m = _as_input(m)
    mask = np.tri(*shape_of(m)[-2:], k=k, dtype=bool)
    return cnp.where(mask, m, _zeros(1, _dtype(m)))


@mirrors(np.triu, "shape")
def triu(m, k: int = 0):
    if not _has_tensor(m):
        return np.triu(m, k)
    m = _as_input(m)
    mask = np.tri(*shape_of(m)[-2:], k=k - 1, dtype=bool)
    return cnp.where(mask, _zeros(1, _dtype(m)), m)


@mirrors(np.select, "shape")
def select(condlist, choicelist, default=0):
    if not _has_tensor([list(condlist), list(choicelist), default]):
        return np.select(condlist, choicelist, default)
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("select with an empty condition list is not possible")
    # conditions stay traced under chainrule.vmap (one per example) and chainrule.jit
    conds = [c if isinstance(c, Tensor) else np.asarray(_deep_plain(c))
             for c in map(undifferentiated, condlist)]
    for i, c in enumerate(conds):
        if _dtype(c).type is not np.bool_:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    result = _as_input(default)
    # The first condition that holds wins, so apply them from the last to the first.
    for cond, choice in zip(reversed(conds), reversed(list(choicelist)), strict=True):
        result = cnp.where(cond, _as_input(choice), result)
    shape = np.broadcast_shapes(*(shape_of(c) for c in conds), *(shape_of(c) for c in choicelist),
                                shape_of(default))
    return result if shape_of(result) == shape else broadcast_to(result, shape)


# -- differences --------------------------------------------------------------------------------
_NO_VALUE = getattr(np, "_NoValue", object())


@mirrors(np.diff, "shape")
def diff(a, n: int = 1, axis: int = -1, prepend=_NO_VALUE, append=_NO_VALUE):
    if not _has_tensor([a, prepend, append]):
        kw = {k: v for k, v in (("prepend", prepend), ("append", append)) if v is not _NO_VALUE}
        return np.diff(a, n, axis, **kw)
    if n == 0:
        return a
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}")
    a = _as_input(a)
    nd = _ndim(a)
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = _axis(axis, nd)
    parts = []
    for extra in (prepend, None, append):
        if extra is None:
            parts.append(a)
        elif extra is not _NO_VALUE:
            extra = _as_input(extra)
            if _ndim(extra) == 0:
                shape = list(shape_of(a))
                shape[axis] = 1
                extra = broadcast_to(extra, tuple(shape))
            parts.append(extra)
    if len(parts) > 1:
        a = concatenate(parts, axis)
    for _ in range(n):
        a = _along(a, axis, slice(1, None)) - _along(a, axis, slice(None, -1))
    return a


def _spacing_along(d, axis: int, nd: int):
    """A 1-d array of spacings shaped to broadcast along ``axis``."""
    return reshape(d, (1,) * axis + (-1,) + (1,) * (nd - axis - 1)) if _ndim(d) else d


def _gradient_along(f, axis: int, dx, edge_order: int, nd: int):
    def at(i):
        return _along(f, axis, i)

    def first(i):  # keep the axis, so edges and interior concatenate
        return _along(f, axis, slice(i, i + 1) if i != -1 else slice(-1, None))

    if _ndim(dx) == 0:
        interior = (at(slice(2, None)) - at(slice(None, -2))) / (2.0 * dx)
        if edge_order == 1:
            lo = (first(1) - first(0)) / dx
            hi = (first(-1) - first(-2)) / dx
        else:
            lo = (-1.5 * first(0) + 2.0 * first(1) - 0.5 * first(2)) / dx
            hi = (0.5 * first(-3) - 2.0 * first(-2) + 1.5 * first(-1)) / dx
    else:
        dx1 = _spacing_along(dx[:-1], axis, nd)
        dx2 = _spacing_along(dx[1:], axis, nd)
        a = -dx2 / (dx1 * (dx1 + dx2))
        b = (dx2 - dx1) / (dx1 * dx2)
        c = dx1 / (dx2 * (dx1 + dx2))
        interior = a * at(slice(None, -2)) + b * at(slice(1, -1)) + c * at(slice(2, None))
        if edge_order == 1:
            lo = (first(1) - first(0)) / dx[0]
            hi = (first(-1) - first(-2)) / dx[-1]
        else:
            d1, d2 = dx[0], dx[1]
            lo = (-(2.0 * d1 + d2) / (d1 * (d1 + d2)) * first(0) + (d1 + d2) / (d1 * d2) * first(1)
                  - d1 / (d2 * (d1 + d2)) * first(2))
            d1, d2 = dx[-2], dx[-1]
            hi = (d2 / (d1 * (d1 + d2)) * first(-3) - (d2 + d1) / (d1 * d2) * first(-2)
                  + (2.0 * d2 + d1) / (d2 * (d1 + d2)) * first(-1))
    return concatenate([lo, interior, hi], axis)


@mirrors(np.gradient, "shape")
def gradient(f, *varargs, axis=None, edge_order: int = 1):
    """``np.gradient``: central differences inside, one-sided at the edges; spacings may
    be scalars or coordinate arrays, and differentiate too when they are Tensors."""
    if not _has_tensor([f, *varargs]):
        return np.gradient(f, *varargs, axis=axis, edge_order=edge_order)
    f = _as_input(f)
    shape = shape_of(f)
    nd = len(shape)
    axes = tuple(range(nd)) if axis is None else _axes(axis, nd)
    n = len(varargs)
    if n == 0:
        dx = [1.0] * len(axes)
    elif n == 1 and _ndim(varargs[0]) == 0:
        dx = [varargs[0]] * len(axes)
    elif n == len(axes):
        dx = []
        for i, d in enumerate(varargs):
            d = _as_input(d)
            if _ndim(d) == 0:
                dx.append(d)
                continue
            if _ndim(d) != 1:
                raise ValueError("distances must be either scalars or 1d")
            if shape_of(d)[0] != shape[axes[i]]:
                raise ValueError(
                    "when 1d, distances must match the length of the corresponding dimension"
                )
            if not isinstance(d, Tensor):
                d = np.asarray(d)
            if np.issubdtype(_dtype(d), np.integer):
                d = d.astype(np.float64)
            steps = diff(d)
            plain_steps = np.asarray(steps.primal() if isinstance(steps, Tensor) else steps)
            uniform = plain_steps.size and (plain_steps == plain_steps[0]).all()
            dx.append(steps[0] if uniform else steps)
    else:
        raise TypeError("invalid number of arguments")
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    out = []
    for ax, d in zip(axes, dx, strict=True):
        if shape[ax] < edge_order + 1:
            raise ValueError(
                "Shape of array too small to calculate a numerical gradient, "
                "at least (edge_order + 1) elements are required."
            )
        out.append(_gradient_along(f, ax, d, edge_order, nd))
    return out[0] if len(out) == 1 else tuple(out)


@mirrors(np.meshgrid, "shape")
def meshgrid(*xi, copy: bool = True, sparse: bool = False, indexing: str = "xy"):
    if not _has_tensor(list(xi)):
        return np.meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing)
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    nd = len(xi)
    out = [reshape(_as_input(x), (1,) * i + (-1,) + (1,) * (nd - i - 1)) for i, x in enumerate(xi)]
    if indexing == "xy" and nd > 1:
        out[0] = reshape(out[0], (1, -1) + (1,) * (nd - 2))
        out[1] = reshape(out[1], (-1, 1) + (1,) * (nd - 2))
    if not sparse:
        out = list(broadcast_arrays(*out))
    return tuple(out)


# -- building arrays ------------------------------------------------------------------------
def _build(obj):
    """A nested list or tuple holding Tensors, stacked level by level into one Tensor."""
    if isinstance(obj, list | tuple) and _has_tensor(obj):
        return _stack(*(_build(o) for o in obj), axis=0)
    return obj


def _finish(out, dtype, ndmin: int):
    if dtype is not None and np.dtype(dtype) != _dtype(out):
        out = cnp.astype(out, dtype)
    nd = _ndim(out)
    if ndmin > nd:
        out = reshape(out, (1,) * (ndmin - nd) + shape_of(out))
    return out


def _kw(**kwargs) -> dict:
    return {k: v for k, v in kwargs.items() if v is not None}


@mirrors(np.array, "shape")
def array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, like=None):
    """``np.array``; a (nested) list holding Tensors is stacked, so it differentiates."""
    if isinstance(object, Tensor):
        return _finish(cnp.copy(object) if copy else object, dtype, ndmin)
    if _has_tensor(object):
        return _finish(_build(object), dtype, ndmin)
    return np.array(object, dtype=dtype, copy=copy, order=order, subok=subok, ndmin=ndmin,
                    **_kw(like=like))


# A primitive handed an array-like list that holds Tensors (np.mean([x, y])) stacks it so.
SEQUENCE_TO_ARRAY[0] = array


@mirrors(np.asarray, "shape")
def asarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    if isinstance(a, Tensor):
        return _finish(cnp.copy(a) if copy else a, dtype, 0)
    if _has_tensor(a):
        return _finish(_build(a), dtype, 0)
    return np.asarray(a, dtype=dtype, order=order, **_kw(device=device, copy=copy, like=like))


@mirrors(np.asanyarray, "shape")
def asanyarray(a, dtype=None, order=None, *, like=None, **kwargs):
    if _has_tensor(a):
        return asarray(a, dtype)
    return np.asanyarray(a, dtype=dtype, order=order, **_kw(like=like), **kwargs)


@mirrors(np.ascontiguousarray, "shape")
def ascontiguousarray(a, dtype=None, *, like=None):
    """A Tensor is returned as it is: its layout is NumPy's concern, not the gradient's."""
    if _has_tensor(a):
        return asarray(a, dtype)
    return np.ascontiguousarray(a, dtype=dtype, **_kw(like=like))


@mirrors(np.asfortranarray, "shape")
def asfortranarray(a, dtype=None, *, like=None):
    if _has_tensor(a):
        return asarray(a, dtype)
    return np.asfortranarray(a, dtype=dtype, **_kw(like=like))


_SCALAR_TYPES = getattr(np, "ScalarType", (int, float, complex, bool, bytes, str, memoryview))


class _Concatenator:
    """``r_`` and ``c_``: NumPy's index-expression concatenation, for Tensors too.

    Without a Tensor in the expression, NumPy's own object does the work.
    """

    def __init__(self, np_obj, axis: int, ndmin: int, trans1d: int):
        self.np_obj = np_obj
        self.axis, self.ndmin, self.trans1d = axis, ndmin, trans1d

    def __len__(self) -> int:
        return 0

    def __getitem__(self, key):
        items = key if isinstance(key, tuple) else (key,)
        if not any(_has_tensor(i) for i in items):
            return self.np_obj[key]
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        objs, kinds = [], []
        for k, item in enumerate(items):
            if isinstance(item, str):
                if k != 0:
                    raise ValueError("special directives must be the first entry.")
                if item in ("r", "c"):
                    raise NotImplementedError("r_/c_: matrix directives do not take Tensors")
                vec = [int(v) for v in item.split(",")]
                axis = vec[0]
                if len(vec) > 1:
                    ndmin = vec[1]
                if len(vec) > 2:
                    trans1d = vec[2]
                continue
            if isinstance(item, slice):
                start = 0 if item.start is None else item.start
                step = 1 if item.step is None else item.step
                if isinstance(step, complex | np.complexfloating):
                    new = np.linspace(start, item.stop, num=int(abs(step)))
                else:
                    new = np.arange(start, item.stop, step)
                if ndmin > 1:
                    new = np.array(new, ndmin=ndmin)
                    if trans1d != -1:
                        new = new.swapaxes(-1, trans1d)
                kinds.append(new.dtype)
            elif type(item) in _SCALAR_TYPES:
                new = item
                kinds.append(item)
            else:
                item = _as_input(item)
                nd = _ndim(item)
                new = item
                if nd < ndmin:
                    new = reshape(item, (1,) * (ndmin - nd) + shape_of(item))
                    if trans1d != -1:
                        k2, k1 = ndmin - nd, trans1d
                        if k1 < 0:
                            k1 += k2 + 1
                        default = list(range(ndmin))
                        new = transpose(new, tuple(default[:k1] + default[k2:] + default[k1:k2]))
                kinds.append(_dtype(new))
            objs.append(new)
        dtype = np.result_type(*kinds)
        objs = [_finish(o if _has_tensor(o) else np.asarray(o), dtype, ndmin) for o in objs]
        return concatenate(objs, axis=axis)


r_ = _Concatenator(np.r_, axis=0, ndmin=1, trans1d=-1)
c_ = _Concatenator(np.c_, axis=-1, ndmin=2, trans1d=0)


# Batching rules for vmap: one example's axes counted from the end (see numpy.batching).
for _rule, _prim in (
    (batching.reshape, reshape), (batching.transpose, transpose), (batching.swapaxes, swapaxes),
    (batching.expand_dims, expand_dims), (batching.squeeze, squeeze),
    (batching.broadcast_to, broadcast_to), (batching.getitem, _getitem),
    (batching.scatter_add, scatter_add), (batching.concatenate, _concatenate),
    (batching.stack, _stack), (batching.split, _split), (batching.unstack, _unstack),
    (batching.flip, flip), (batching.roll, _roll), (batching.pad_constant, _pad_constant),
    (batching.diag_scatter, _diag_scatter), (batching.diagonal, diagonal),
):
    def_batch(_rule, _prim)
del _rule, _prim

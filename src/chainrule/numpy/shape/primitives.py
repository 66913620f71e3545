"""The primitives that every shape function is written with, their rules (vjp, jvp and
the batching rule for vmap, declared together), and the helpers that read shapes and axes.

Most are linear, so their jvp is the function itself applied to the tangent, and their
vjp moves the cotangent back to where each value came from: a slice of the cotangent for
``concatenate``, a scatter (``np.add.at``, so repeated indices add up) for indexing.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import (
    Primitive,
    RulesByArgument,
    def_batch,
    def_joint_vjp,
    def_jvps,
    def_linear,
    def_vjps,
    reads_only,
)
from chainrule.core.tensor import Tensor
from chainrule.core.trace import index_replayable
from chainrule.numpy import batching, index_batching
from chainrule.numpy.broadcasting import broadcast_view, shape_of, unbroadcast
from chainrule.numpy.registry import wrap

__all__ = [
    "reshape",
    "transpose",
    "permute_dims",
    "swapaxes",
    "expand_dims",
    "squeeze",
    "broadcast_to",
    "flip",
    "diagonal",
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
    if axis == 0:  # the index itself, not in a tuple: the traces see a traced index there
        return _getitem(x, index)
    return _getitem(x, (slice(None),) * axis + (index,))


def _as_input(x):
    """A nested list holding Tensors becomes a Tensor (so it can be reshaped, sliced...)."""
    if isinstance(x, list | tuple) and not isinstance(x, Tensor) and _has_tensor(x):
        return _build(x)
    return x


def _no_out(name: str, out) -> None:
    if out is not None:
        raise TypeError(
            f"{name}: out= cannot hold a Tensor (the gradient would be lost); "
            "use the returned value instead"
        )


def _zeros(shape, dtype) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


# -- reshape, transpose, broadcast -----------------------------------------------------------
def _order(order, x) -> str:
    """The layout an order of 'A' (or 'K', for ravel) stands for, read from ``x``'s value
    (under vmap, from one example's, as NumPy reads each example)."""
    if order == "C" or order == "F" or order is None:
        return order or "C"
    order = order_name(order)
    if order == "C" or order == "F":
        return order
    v = example_layout(x)
    flags = getattr(v, "flags", None)
    if flags is not None and flags.f_contiguous and not flags.c_contiguous:
        return "F"
    return "C"


def order_name(order) -> str:
    """NumPy's order argument as one of 'C', 'F', 'A', 'K' (it takes any case, and bytes),
    or NumPy's error for another.

    >>> order_name("k"), order_name(None)
    ('K', 'C')
    """
    if order is None:
        return "C"
    if isinstance(order, bytes):
        order = order.decode("latin-1")
    if not isinstance(order, str):
        raise TypeError(f"order must be str, not {type(order).__name__}")
    if order.upper() not in ("C", "F", "A", "K"):
        raise ValueError(f"order must be one of 'C', 'F', 'A', or 'K' (got {order!r})")
    return order.upper()


def example_layout(x):
    """``x``'s plain value, to read its memory layout; under vmap one example of it (a view
    into the batch, with that example's strides: what NumPy would read on the example)."""
    if not isinstance(x, Tensor):
        return x
    t, v, batches = x, x._value, 0
    while True:
        if t._trace.batches:
            batches += 1
        elif t._trace.records:
            t._trace.guard(t, "a layout")
        if not isinstance(v, Tensor):
            break
        t, v = v, v._value
    if batches == 0:
        return v
    v = np.asarray(v)
    if 0 in v.shape[:batches]:  # no example to look at (no result to lay out either)
        return np.empty(v.shape[batches:], v.dtype)
    return v[(0,) * batches]


reshape = shape_op(np.reshape)
# order='A' reads x's layout; the rules use the layout that x had, not the tangent's.
def_vjps(reshape, lambda g, ans, x, shape=None, order="C", **kw:
         reshape(g, shape_of(x), order=_order(order, x)))
def_jvps(reshape, lambda t, ans, x, shape=None, order="C", **kw:
         reshape(t, shape_of(ans), order=_order(order, x)))


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


expand_dims = shape_op(np.expand_dims)
def_vjps(expand_dims, lambda g, ans, x, axis: reshape(g, shape_of(x)))
def_linear(expand_dims)

squeeze = shape_op(np.squeeze)
def_vjps(squeeze, lambda g, ans, x, axis=None: reshape(g, shape_of(x)))
def_linear(squeeze)

broadcast_to = shape_op(np.broadcast_to)
broadcast_to.fun = broadcast_view
def_vjps(broadcast_to, lambda g, ans, x, shape, **kw: unbroadcast(g, x))
def_linear(broadcast_to)

# The shape functions whose result PyTorch makes a view of the argument (and NumPy, where
# the layout allows): an in-place write into either reaches the other (chainrule.core.eager).
for _prim in (reshape, transpose, swapaxes, expand_dims, squeeze, broadcast_to):
    _prim.makes_view = True
    reads_only(_prim, ())  # the rules read x's shape (and layout), not its values


# -- indexing ---------------------------------------------------------------------------------
def _getitem_impl(x, index):
    return x[index]


_getitem = shape_op(_getitem_impl, "getitem", public=False)


def _getitem_view(x, index):
    """``x[index]`` as a 0-d view where NumPy gives a scalar (an integer per axis), as
    PyTorch's ``x[0]``: basic indexing makes views; advanced indexing copies, in both."""
    return x[(*index, Ellipsis) if isinstance(index, tuple) else (index, Ellipsis)]


_getitem.makes_view = _getitem_view


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
reads_only(_getitem, (1,))  # x's shape, and the index
_getitem.replayable = index_replayable  # (the index is never on the graph; PyTorch frees an array index)
def_vjps(scatter_add, lambda g, ans, gi, index, shape: _getitem(g, index))
def_linear(scatter_add)


# -- joining ----------------------------------------------------------------------------------
def _concatenate_impl(*arrays, axis=0):
    return np.concatenate(arrays, axis=axis)


_concatenate = shape_op(_concatenate_impl, "concatenate", public=False)


def _start(arrays, k: int, axis: int) -> int:
    return sum(shape_of(a)[axis] for a in arrays[:k])


def _pieces(argnums, n: int, piece) -> list:
    """The cotangents of a primitive of ``n`` arrays, ``piece(k)`` for each ``k`` the
    backward pass asks for and None for the others: one rule call for all the arrays, so
    joining many arrays (``np.array`` of a list of 10⁵ numbers) costs linear time."""
    out = [None] * n
    for k in set(argnums):
        out[k] = piece(k)
    return out


def _concatenate_vjp(g, ans, argnums, *arrays, axis):
    ends = np.cumsum([shape_of(a)[axis] for a in arrays])
    return _pieces(argnums, len(arrays), lambda k: _along(g, axis, slice(ends[k] - shape_of(arrays[k])[axis], ends[k])))


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


def_joint_vjp(_concatenate, _concatenate_vjp)
_concatenate.jvps = RulesByArgument(_concatenate_jvp)
_concatenate.joint_jvp = lambda ts, ans, *arrays, axis: _concatenate(*_tangents_or_zeros(ts, arrays), axis=axis)


def _stack_impl(*arrays, axis=0):
    return np.stack(arrays, axis=axis)


_stack = shape_op(_stack_impl, "stack", public=False)
def_joint_vjp(_stack, lambda g, ans, argnums, *arrays, axis:
              _pieces(argnums, len(arrays), lambda k: _along(g, axis, k)))
_stack.jvps = RulesByArgument(
    lambda k: lambda t, ans, *arrays, axis: _padded_along(
        expand_dims(t, axis), axis, k, len(arrays) - k - 1, shape_of(ans)
    )
)
_stack.joint_jvp = lambda ts, ans, *arrays, axis: _stack(*_tangents_or_zeros(ts, arrays), axis=axis)
# their rules read the arrays' shapes alone: a second backward pass goes through them
reads_only(_concatenate)  # (the shapes: PyTorch's cat and stack save no tensor)
reads_only(_stack)


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
reads_only(_split, ())  # x's shape: PyTorch's views save no tensor


def _unstack_impl(x, axis=0):
    return tuple(np.moveaxis(x, axis, 0))


_unstack = shape_op(_unstack_impl, "unstack", public=False, multiple_outputs=True)


def _unstack_vjp(g, ans, x, axis=0):
    return _stack(*_with_zeros(g, ans), axis=axis)


def_vjps(_unstack, _unstack_vjp)
def_linear(_unstack)


# -- flipping, rolling -----------------------------------------------------------------------
flip = shape_op(np.flip)
def_vjps(flip, lambda g, ans, x, axis=None: flip(g, axis))
def_linear(flip)


_roll = shape_op(np.roll, "roll", public=False)
def_vjps(_roll, lambda g, ans, x, shift, axis=None: _roll(g, -np.asarray(shift), axis=axis))
def_linear(_roll)


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


def _batch_pad_constant(prim, batched, x, constant_values=0, *, widths):
    """vmap of pad: the batch axis is not padded. Values that differ between examples, or
    by axis and side, are taken where NumPy writes each (the regions of one example) over
    the batch padded with zeros, cast to its dtype as NumPy casts them."""
    if not batched[1] and not shape_of(constant_values):
        return prim(x, constant_values, widths=((0, 0), *widths))
    size = batching.batch_size((x, constant_values), batched)
    padded = prim(batching.with_batch(x, batched[0], size), 0, widths=((0, 0), *widths))
    regions = _pad_regions(widths, shape_of(x)[1 if batched[0] else 0:])
    pairs = (size, len(widths), 2) if batched[1] else (len(widths), 2)
    if batched[1]:
        constant_values = batching.lift(constant_values, 2 - len(shape_of(constant_values)[1:]))
    values = reshape(broadcast_to(constant_values, pairs), (*pairs[:-2], 2 * len(widths)))
    fill = cnp.take(values, np.maximum(regions, 0), axis=-1)
    if _dtype(fill) != _dtype(padded):
        fill = cnp.astype(fill, _dtype(padded))
    return cnp.where(regions < 0, padded, fill)


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
diagonal.makes_view = True
def_vjps(diagonal, lambda g, ans, x, offset=0, axis1=0, axis2=1:
         _diag_scatter(g, shape=shape_of(x), offset=offset, axis1=axis1, axis2=axis2))
def_linear(diagonal)
reads_only(diagonal, ())


# -- strided views -----------------------------------------------------------------------------
def _strided_plain(x, shape, strides, offset=0):
    """The elements of C-ordered ``x`` at ``offset + sum(i_k * strides[k])`` (in elements)
    for each index ``i`` of ``shape``, as a view of ``x``'s memory."""
    x = np.ascontiguousarray(x)  # (a copy, not a view, of an array in another order)
    try:
        return np.ndarray(tuple(shape), x.dtype, buffer=x, offset=offset * x.itemsize,
                          strides=tuple(s * x.itemsize for s in strides))
    except (TypeError, ValueError) as error:
        raise RuntimeError(f"as_strided: size {list(shape)}, stride {list(strides)} and storage offset {offset} "
                           f"reach outside the {x.size} elements of this Tensor ({error})") from None


def _strided_positions(x_shape, shape, strides, offset=0):
    """The position in C order of ``x_shape`` of each element of the strided view."""
    return _strided_plain(np.arange(math.prod(x_shape)).reshape(x_shape), shape, strides, offset)


def _strided_impl(x, shape, strides, offset=0):
    """PyTorch's ``as_strided`` of C-ordered ``x``: a view of its memory, read-only where
    two of its elements are one of ``x``'s (an in-place write there is then refused)."""
    out = _strided_plain(x, shape, strides, offset)
    if out.size and np.unique(_strided_positions(np.shape(x), shape, strides, offset)).size != out.size:
        out.flags.writeable = False
    return out


strided = shape_op(_strided_impl, "as_strided", public=False)
strided.makes_view = True
def_vjps(strided, lambda g, ans, x, shape, strides, offset=0: reshape(
    scatter_add(g, (_strided_positions(shape_of(x), shape, strides, offset),), (math.prod(shape_of(x)),)),
    shape_of(x)))
def_linear(strided)
reads_only(strided, ())


def _batch_strided(prim, batched, x, shape, strides, offset=0):
    """vmap of as_strided: the examples lie one after another in C order, so each one's
    view starts a whole example's elements after the previous one's."""
    x_shape = shape_of(x)
    return prim(x, (x_shape[0], *shape), (math.prod(x_shape[1:]), *strides), offset)


# -- building arrays ------------------------------------------------------------------------
def _build(obj):
    """A nested list or tuple holding Tensors, stacked level by level into one Tensor."""
    if isinstance(obj, list | tuple) and _has_tensor(obj):
        return _stack(*(_build(o) for o in obj), axis=0)
    return obj


# -- item assignment ----------------------------------------------------------------------------
def _index_update_impl(x, index, v):
    out = np.array(x, copy=True)
    out[index] = v
    return out


# ``x[index] = v`` on a Tensor that is differentiated (chainrule.core.eager.setitem) is
# recorded out of place as this primitive; differentiable in ``x`` and ``v``.
def _may_repeat(index) -> bool:
    """Whether ``index`` holds an integer array (which may name an element twice)."""
    items = index if isinstance(index, tuple) else (index,)
    arrays = (np.asarray(i) if isinstance(i, list) else i for i in items)
    return any(isinstance(i, np.ndarray | Tensor) and i.dtype.kind in "iu" and i.size > 1
               for i in arrays)


def _written(g, x, index):
    """The cotangent of the values ``x[index] = v`` wrote: ``g[index]``, except that where
    an integer-array index names an element twice only the write that stays (the last,
    NumPy's order) gets it, as the output holds only that one."""
    picked = cnp.getitem(g, index)
    if not _may_repeat(index):
        return picked
    shape = shape_of(picked)
    order = cnp.reshape(cnp.arange(int(np.prod(shape))), shape)
    kept = index_update(np.full(shape_of(x), -1), index, order)
    return cnp.where(cnp.getitem(kept, index) == order, picked, 0)


index_update = Primitive(_index_update_impl, name="index_update")
def_vjps(index_update,
         lambda g, ans, x, index, v: index_update(g, index, 0),
         None,
         lambda g, ans, x, index, v: unbroadcast(_written(g, x, index), v))
def_jvps(index_update,
         lambda t, ans, x, index, v: index_update(t, index, 0),
         None,
         lambda t, ans, x, index, v: index_update(cnp.zeros_like(ans), index, t))
reads_only(index_update, (1,), (), (1,))  # the index (and the shapes): PyTorch's CopySlices saves no tensor


# Batching rules for vmap: one example's axes counted from the end (see numpy.batching).
for _rule, _prim in (
    (batching.reshape, reshape), (batching.transpose, transpose), (batching.swapaxes, swapaxes),
    (batching.expand_dims, expand_dims), (batching.squeeze, squeeze),
    (batching.broadcast_to, broadcast_to), (index_batching.getitem, _getitem),
    (index_batching.scatter_add, scatter_add), (batching.concatenate, _concatenate),
    (batching.stack, _stack), (batching.split, _split), (batching.unstack, _unstack),
    (batching.flip, flip), (batching.roll, _roll),
    (_batch_pad_constant, _pad_constant), (batching.diag_scatter, _diag_scatter), (batching.diagonal, diagonal),
    (index_batching.index_update, index_update), (_batch_strided, strided),
):
    def_batch(_rule, _prim)
del _rule, _prim

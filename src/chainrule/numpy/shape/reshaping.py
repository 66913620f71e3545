"""Reshaping, transposing, broadcasting, tiling, repeating, flipping and rolling, written
with the primitives of :mod:`chainrule.numpy.shape.primitives`."""

from __future__ import annotations

import operator
from collections.abc import Callable

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import as_array_if_holds_tensor
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy import nondiff
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.registry import MIRROR_OF, mirrors, optional
from chainrule.numpy.shape.primitives import (
    AxisError,
    _along,
    _as_input,
    _axes,
    _axis,
    _build,
    _deep_plain,
    _getitem,
    _has_tensor,
    _ndim,
    _order,
    _roll,
    broadcast_to,
    example_layout,
    expand_dims,
    flip,
    order_name,
    reshape,
    swapaxes,
    transpose,
)

__all__ = [
    "ravel",
    "matrix_transpose",
    "moveaxis",
    "rollaxis",
    "broadcast_arrays",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "tile",
    "repeat",
    "fliplr",
    "flipud",
    "roll",
    "rot90",
]


@mirrors(np.ravel, "shape")
def ravel(a, order: str = "C"):
    """``np.ravel``; for order 'A' and 'K' the gradient follows the memory order that
    ``a`` had (as NumPy reads it)."""
    if not isinstance(a, Tensor):
        if not _has_tensor(a):
            return np.ravel(a, order=order)
        a = _build(a)
    order = order_name(order)
    if order == "K":
        v = np.asarray(example_layout(a))
        if not (v.flags.c_contiguous or v.flags.f_contiguous):
            # Number the elements in C order in an array laid out like v; reading that
            # array in memory order tells where each element of ravel(v, 'K') comes from.
            ix = np.empty_like(v, dtype=np.intp)
            ix[...] = np.arange(v.size).reshape(v.shape)
            return _getitem(reshape(a, (-1,)), np.ravel(ix, order="K"))
    return reshape(a, (-1,), order=_order(order, a))


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


@mirrors(np.broadcast_arrays, "shape")
def broadcast_arrays(*args, subok: bool = False) -> tuple:
    # each argument is an array: a list that holds Tensors stands for the array it makes
    args = tuple(as_array_if_holds_tensor(a) if a.__class__ is list else a for a in args)
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


def _repeat_index(repeats, n: int, total: int) -> np.ndarray:
    """Which of ``n`` elements each of the ``total`` places of ``repeat(...,
    total_repeat_length=total)`` takes, as JAX's: the repeated order cut to ``total``, or
    padded with the last element."""
    repeats = np.broadcast_to(np.asarray(repeats), (n,))
    if np.any(repeats < 0):
        raise ValueError("repeats may not contain negative values.")
    if n == 0 and total:
        raise ValueError(f"repeat: total_repeat_length={total} of an empty axis (nothing to repeat)")
    starts = np.cumsum(repeats) - repeats  # where each element's run begins
    return np.searchsorted(starts, np.arange(total), side="right") - 1


def _np_repeat(a, repeats, axis=None, *, total_repeat_length=None):
    """``np.repeat`` with jax.numpy's ``total_repeat_length=``."""
    if total_repeat_length is None:
        return np.repeat(a, repeats, axis=axis)
    a = np.asarray(a)
    if axis is None or not a.ndim:
        a, axis = a.ravel(), 0
    total = operator.index(total_repeat_length)
    return np.take(a, _repeat_index(repeats, a.shape[axis], total), axis=axis)


@mirrors(_np_repeat, "shape")
def repeat(a, repeats, axis=None, *, total_repeat_length=None):
    """``np.repeat``; with ``total_repeat_length`` (jax.numpy's), the result has that many
    elements along ``axis``: the repeated ones cut there, or padded with the last element
    repeated, as JAX's (which needs it to know the result's shape under ``jit``)."""
    if not _has_tensor(a):
        return _np_repeat(a, _deep_plain(repeats), axis=axis, total_repeat_length=total_repeat_length)
    if total_repeat_length is not None:
        a = _as_input(a)
        if axis is None or not _ndim(a):
            a, axis = ravel(a), 0
        axis = _axis(axis, _ndim(a))
        index = _repeat_index(_deep_plain(repeats), shape_of(a)[axis], operator.index(total_repeat_length))
        return _along(a, axis, index)
    a = _as_input(a)
    repeats = np.asarray(_deep_plain(repeats))
    if axis is None or not _ndim(a):  # NumPy repeats a 0-d array along an axis as 1-d
        a = ravel(a)
        axis = 0 if axis is None else axis
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




MIRROR_OF[np.repeat] = repeat  # (what the record replays is _np_repeat, which takes total_repeat_length=)


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


@mirrors(np.roll, "shape")
def roll(a, shift, axis=None):
    if _has_tensor(shift):  # a traced shift (each example's own under vmap): a gather
        return _roll_by_index(_as_input(a), shift, axis)
    if not _has_tensor(a):
        return np.roll(a, shift, axis=axis)
    return _roll(_as_input(a), shift, axis=axis)


def _check_finite_shift(shift) -> None:
    """A shift that int() refuses (infinite, NaN) refused with int()'s error, for the first
    such entry that a loop over the examples reaches."""
    if not isinstance(shift, Tensor) or shift.dtype.kind not in "fc":
        return
    plain = undifferentiated(shift)
    if not nondiff.anywhere(nondiff.logical_not(nondiff.isfinite(plain))):
        return
    values = nondiff.whole_batch(plain)  # (under vmap the examples in order, batch axis first)
    values = np.ravel(values) if isinstance(values, np.ndarray) else np.array([np.nan])
    if np.isnan(values[~np.isfinite(values)][0]):
        raise ValueError("roll: cannot convert float NaN to integer (the shift)")
    raise OverflowError("roll: cannot convert float infinity to integer (the shift)")


def _whole_shift(s):
    """A shift as NumPy's roll reads it, ``int(s)``: a float one cut toward zero."""
    if not isinstance(s, Tensor):
        return int(s)
    if s.dtype.kind not in "fc":
        return s
    return cnp.astype(nondiff.trunc(undifferentiated(s)), np.intp)


def _roll_by_index(a, shift, axis):
    """``roll(a, shift, axis)`` as ``a[..., (arange(n) - shift) % n, ...]`` per axis."""
    if axis is None:
        return reshape(_roll_by_index(ravel(a), shift, 0), shape_of(a))
    if isinstance(shift, Tensor) and len(shift.shape) > 1:
        raise ValueError("'shift' and 'axis' should be scalars or 1D sequences")
    _check_finite_shift(shift)
    if isinstance(shift, Tensor) and len(shift.shape) == 1:
        shift = [shift[k] for k in range(shift.shape[0])]
    shifts = tuple(map(_whole_shift, shift)) if isinstance(shift, list | tuple) else (_whole_shift(shift),)
    axes = tuple(axis) if isinstance(axis, list | tuple) else (axis,)
    if len(shifts) != len(axes) and 1 not in (len(shifts), len(axes)):
        raise ValueError("'shift' and 'axis' should be scalars or 1D sequences of the same length")
    n_pairs = max(len(shifts), len(axes))
    for s, ax in zip(shifts * (n_pairs // len(shifts)), axes * (n_pairs // len(axes)), strict=True):
        ax = _axis(ax, _ndim(a))
        n = shape_of(a)[ax]
        if n:
            a = _along(a, ax, (np.arange(n) - s) % n)
    return a


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

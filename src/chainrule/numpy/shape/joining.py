"""Joining, splitting and padding arrays: concatenate, stack, split, unstack, pad."""

from __future__ import annotations

import operator
import warnings

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.anomaly import user_stacklevel
from chainrule.core.tensor import Tensor
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.registry import mirrors, optional
from chainrule.numpy.shape.primitives import (
    _along,
    _as_input,
    _axis,
    _concatenate,
    _deep_plain,
    _has_tensor,
    _ndim,
    _no_out,
    _pad_constant,
    _split,
    _stack,
    _unstack,
    reshape,
)
from chainrule.numpy.shape.reshaping import (
    _at_least_1d,
    _at_least_2d,
    _at_least_3d,
    ravel,
)

__all__ = [
    "concatenate",
    "concat",
    "stack",
    "hstack",
    "vstack",
    "dstack",
    "column_stack",
    "row_stack",
    "append",
    "insert",
    "block",
    "split",
    "array_split",
    "hsplit",
    "vsplit",
    "dsplit",
    "unstack",
    "pad",
]


# -- joining ----------------------------------------------------------------------------------
def _cast_each(arrays: list, dtype, casting: str) -> list:
    """The arrays cast to ``dtype`` (None: their common dtype), each checked against
    ``casting`` as NumPy checks them before it joins them."""
    if dtype is None:
        if casting == "same_kind":  # (each array's dtype casts so to the common one)
            return arrays
        dtype = np.result_type(*map(_dtype, arrays))
    dtype = np.dtype(dtype)
    for a in arrays:
        if not np.can_cast(_dtype(a), dtype, casting):
            raise TypeError(f"Cannot cast array data from {_dtype(a)!r} to {dtype!r} according "
                            f"to the rule {casting!r}")
    return [a if _dtype(a) == dtype else cnp.astype(a, dtype) for a in arrays]


@mirrors(np.concatenate, "shape")
def concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    arrays = list(arrays)
    if not _has_tensor(arrays):
        return np.concatenate(arrays, axis=axis, out=out, dtype=dtype, casting=casting)
    _no_out("concatenate", out)
    if axis is None and dtype is None and any(isinstance(a, int | float | complex) for a in arrays):
        # flattened, a Python number takes the arrays' dtype (NEP 50), as in NumPy
        dtype = np.result_type(*(a if isinstance(a, int | float | complex) else _dtype(a) for a in arrays))
    arrays = [_as_input(a) for a in arrays]
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    axis = _axis(axis, _ndim(arrays[0])) if _ndim(arrays[0]) else axis
    if _ndim(arrays[0]):
        _check_joinable(arrays, axis)  # NumPy checks the shapes before the casts
    return _concatenate(*_cast_each(arrays, dtype, casting), axis=axis)


def _check_joinable(arrays, axis: int) -> None:
    """NumPy's ValueError for arrays that do not join along ``axis``."""
    first = shape_of(arrays[0])
    for i, a in enumerate(arrays[1:], 1):
        shape = shape_of(a)
        if len(shape) != len(first):
            raise ValueError("all the input arrays must have same number of dimensions, but the array at "
                             f"index 0 has {len(first)} dimension(s) and the array at index {i} has "
                             f"{len(shape)} dimension(s)")
        for d, (m, n) in enumerate(zip(first, shape, strict=True)):
            if d != axis and m != n:
                raise ValueError("all the input array dimensions except for the concatenation axis must "
                                 f"match exactly, but along dimension {d}, the array at index 0 has size "
                                 f"{m} and the array at index {i} has size {n}")


concat = concatenate


@mirrors(np.stack, "shape")
def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    arrays = list(arrays)
    if not _has_tensor(arrays):
        return np.stack(arrays, axis=axis, out=out, dtype=dtype, casting=casting)
    _no_out("stack", out)
    if not arrays:
        raise ValueError("need at least one array to stack")
    arrays = [_as_input(a) for a in arrays]
    if len({shape_of(a) for a in arrays}) > 1:  # NumPy's first check
        raise ValueError("all input arrays must have the same shape")
    axis = _axis(axis, _ndim(arrays[0]) + 1)
    return _stack(*_cast_each(arrays, dtype, casting), axis=axis)


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


@mirrors(optional(np, "row_stack"), "shape")
def row_stack(tup, *, dtype=None, casting="same_kind"):
    """NumPy's deprecated alias of :func:`vstack`, with NumPy's DeprecationWarning (under
    ``jit`` the recorded ``np.row_stack`` issues it, so plain and jitted calls warn alike).

    >>> import warnings; warnings.simplefilter("ignore", DeprecationWarning)
    >>> row_stack((np.ones(2), np.zeros(2))).shape
    (2, 2)
    """
    warnings.warn("`row_stack` alias is deprecated. Use `np.vstack` directly.", DeprecationWarning,
                  stacklevel=user_stacklevel())
    return vstack(tup, dtype=dtype, casting=casting)


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


def _dtype(x) -> np.dtype:
    return np.dtype(x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype)


@mirrors(np.insert, "shape")
def insert(arr, obj, values, axis=None):
    """``np.insert``: differentiable in ``arr`` and ``values``. NumPy places the entries
    (it is run on their positions), and the result gathers them from ``arr`` and
    ``values``, so every form of ``obj`` and ``axis`` NumPy takes works.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> float(cr.grad(lambda v: cnp.sum(cnp.insert(cnp.arange(3.0), 1, v) ** 2))(2.0))
    4.0
    """
    if not _has_tensor([arr, values]):
        return np.insert(arr, _deep_plain(obj), values, axis=axis)
    arr, values = _as_input(arr), _as_input(values)
    dtype = _dtype(arr)
    arr_shape, values_shape = shape_of(arr), shape_of(values)
    arr_size = int(np.prod(arr_shape))
    # the positions: arr's entries numbered 0.., the values' after them
    labels = np.insert(np.arange(arr_size).reshape(arr_shape), _deep_plain(obj),
                       arr_size + np.arange(int(np.prod(values_shape))).reshape(values_shape),
                       axis=axis)
    if _dtype(values) != dtype:
        values = cnp.astype(values, dtype)  # NumPy casts the values to arr's dtype
    pool = concatenate([ravel(arr), ravel(values)], 0)
    return reshape(pool[labels.ravel()], labels.shape)


def _block_leaves(arrays, depth: int, leaves: list):
    """The arrays of a nested list, each with its depth; NumPy's own checks first."""
    if isinstance(arrays, tuple):
        raise TypeError("arrays is a tuple. Only lists can be used to arrange blocks, and "
                        "np.block does not allow implicit conversion from tuple to ndarray.")
    if isinstance(arrays, list):
        for a in arrays:
            _block_leaves(a, depth + 1, leaves)
    else:
        leaves.append(arrays)


def _stand_in(arrays):
    """The same nesting with zeros of each leaf's shape and dtype (for NumPy's checks)."""
    if isinstance(arrays, list):
        return [_stand_in(a) for a in arrays]
    return np.zeros(shape_of(arrays), _dtype(arrays))


@mirrors(np.block, "shape")
def block(arrays):
    """``np.block``: nested lists of arrays joined along the last axes (the innermost
    list along the last axis), differentiable in every block."""
    leaves: list = []
    _block_leaves(arrays, 0, leaves)
    if not _has_tensor(leaves):
        return np.block(arrays)
    shape = np.block(_stand_in(arrays)).shape  # NumPy's checks and result
    result_ndim = len(shape)

    def join(part, level: int):
        if isinstance(part, list):
            return concatenate([join(p, level + 1) for p in part], axis=level - list_depth)
        part = _as_input(part)
        nd = _ndim(part)
        return reshape(part, (1,) * (result_ndim - nd) + shape_of(part)) if nd < result_ndim else part

    list_depth = _list_depth(arrays)
    joined = join(arrays, 0)
    return joined if shape_of(joined) == shape else reshape(joined, shape)


def _list_depth(arrays) -> int:
    depth = 0
    while isinstance(arrays, list):
        depth += 1
        arrays = arrays[0] if arrays else None
    return depth


# -- splitting --------------------------------------------------------------------------------
def _split_bounds(n: int, indices_or_sections) -> list[tuple[int, int]]:
    ios = _deep_plain(indices_or_sections)
    try:
        points = [0, *(operator.index(i) for i in ios), n]
    except TypeError:
        sections = int(ios)  # (NumPy's int(): split(x, 2.0) is two sections)
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
    if not _has_tensor(ary):
        return np.split(ary, ios, axis)
    if np.ndim(ios) == 0:
        if shape_of(_as_input(ary))[axis] % ios:  # (NumPy's %: split(x, 2.0) works)
            raise ValueError("array split does not result in an equal division")
    return array_split(ary, ios, axis)


@mirrors(np.hsplit, "shape")
def hsplit(ary, indices_or_sections) -> list:
    if not _has_tensor(ary):
        return np.hsplit(ary, _deep_plain(indices_or_sections))
    nd = _ndim(_as_input(ary))
    if nd == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if nd > 1 else 0)


@mirrors(np.vsplit, "shape")
def vsplit(ary, indices_or_sections) -> list:
    if not _has_tensor(ary):
        return np.vsplit(ary, _deep_plain(indices_or_sections))
    if _ndim(_as_input(ary)) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


@mirrors(np.dsplit, "shape")
def dsplit(ary, indices_or_sections) -> list:
    if not _has_tensor(ary):
        return np.dsplit(ary, _deep_plain(indices_or_sections))
    if _ndim(_as_input(ary)) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, 2)


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


# -- padding ----------------------------------------------------------------------------------
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
    pw = np.asarray(_deep_plain(pad_width))
    if pw.dtype.kind != "i":
        raise TypeError("`pad_width` must be of integral type.")
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
        if not nd:  # nothing to pad: NumPy's 0-d result is the value
            return x
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

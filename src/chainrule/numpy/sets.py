"""Set functions as selections: ``unique`` (and NumPy 2's ``unique_values``,
``unique_counts``, ``unique_inverse``, ``unique_all``), ``intersect1d``, ``union1d``,
``setdiff1d`` and ``setxor1d``; and ``trim_zeros``, which selects a box of elements.

What these return is a selection of their inputs' elements, so each is written as NumPy's
own call on the plain values (which elements, in which order) followed by a gather of
those elements: the values are NumPy's bit for bit and the derivative of each output
element goes to the input element it was taken from (the first occurrence, as in JAX:
``intersect1d`` takes its values from ``ar1``). Indices, inverses and counts are plain
data. ``isin`` returns booleans and has no derivative (``chainrule.numpy.nondiff``).

The number of elements depends on the values, so under ``chainrule.vmap`` (one count per
example) these functions raise, unless ``unique`` is given JAX's ``size=`` (the result cut
or padded to that length); ``chainrule.jit`` records the NumPy call that chooses the
elements and checks the shapes it gives on every replay.
"""

from __future__ import annotations

import math

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.errors import TensorTypeError
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.nondiff import batched, unboxing
from chainrule.numpy.registry import mirrors
from chainrule.numpy.shape.primitives import _as_input, _has_tensor

__all__ = ["unique", "unique_values", "unique_counts", "unique_inverse", "unique_all",
           "intersect1d", "union1d", "setdiff1d", "setxor1d", "trim_zeros"]

_chosen_by_unique = unboxing(np.unique)


def _bits(x: np.ndarray) -> np.ndarray:
    """The bit patterns of floating-point ``x``, one row each (real and imaginary parts)."""
    size = x.dtype.itemsize // (2 if x.dtype.kind == "c" else 1)
    return np.ascontiguousarray(x).view(f"u{size}").reshape(x.size, -1)


def _unique_positions(ar, return_inverse, return_counts, equal_nan, kwargs):
    """``np.unique(ar, ...)``'s results on the flattened plain ``ar``, its values replaced
    by the positions that give them bit for bit: first occurrences, but the first with the
    same bits where NumPy's sort kept another of equal elements (-0.0 for 0.0, a NaN), and
    in NumPy's order where it does not sort (``sorted=False``, ``np.unique_values``)."""
    res = np.unique(ar, return_inverse=return_inverse, return_counts=return_counts,
                    equal_nan=equal_nan, **kwargs)
    values, rest = (res[0], res[1:]) if isinstance(res, tuple) else (res, ())
    flat = np.ravel(ar)
    u, first = np.unique(flat, return_index=True, equal_nan=equal_nan)
    index = first[np.minimum(np.searchsorted(u, values), max(u.size - 1, 0))]
    if values.dtype.kind in "fc" and values.size:
        nan = np.isnan(values)
        if nan.any():  # the NaNs in order (one, or each its own value)
            index[nan] = np.flatnonzero(np.isnan(flat))[: int(nan.sum())]
        flat_bits, want = _bits(flat), _bits(values)
        for j in np.flatnonzero((_bits(flat[index]) != want).any(axis=1)):
            same = np.flatnonzero((flat_bits == want[j]).all(axis=1))
            if same.size:  # (NumPy's sort may make a NaN of its own)
                index[j] = same[0]
    return (index, *rest)


_chosen_like_unique = unboxing(_unique_positions)
_chosen_by_intersect1d = unboxing(np.intersect1d)
_isin = unboxing(np.isin)


def _positions_kept(filt, trim: str, axes: tuple[int, ...]) -> tuple:
    """The positions ``np.trim_zeros`` keeps along each of ``axes``: the box around the
    nonzero elements, trimmed at the front and/or back; none if every element is zero."""
    nd = filt.ndim
    kept = []
    for ax in axes:
        nonzero = np.flatnonzero(np.any(filt != 0, axis=tuple(a for a in range(nd) if a != ax)))
        if nonzero.size == 0:
            kept.append(np.arange(0))
            continue
        start = nonzero[0] if "f" in trim else 0
        stop = nonzero[-1] + 1 if "b" in trim else filt.shape[ax]
        kept.append(np.arange(start, stop))
    return tuple(kept)


_kept_by_trim_zeros = unboxing(_positions_kept)


def _refuse_batched(name: str, *arrays) -> None:
    if any(batched(a) for a in arrays):
        raise TensorTypeError(  # a TypeError, as JAX's, and torch.func's RuntimeError
            f"{name} inside chainrule.vmap: the number of elements it returns depends on "
            "each example's values, so the examples cannot form one batch (JAX refuses "
            "too). Call it outside vmap, or loop over the examples"
            + ("; or give a fixed size, as in JAX: unique(x, size=n, fill_value=v)."
               if name == "unique" else ".")
        )


def _selected(a, index, axis=None):
    """The elements of ``a`` at ``index`` (of the flattened ``a`` when ``axis`` is None)."""
    if axis is None:
        return cnp.take(cnp.ravel(a), index)
    return cnp.take(a, index, axis=axis)


def _first_occurrences(a, size: int, equal_nan: bool):
    """JAX's fixed-size ``unique`` of the flattened ``a``, as positions: where each of the
    first ``size`` sorted unique values first occurs (the smallest value's position where
    fewer exist), which of them are real, the inverse indices, and the counts (0 where
    padded)."""
    flat = np.ravel(a)
    perm = np.argsort(flat, kind="stable")
    aux = flat[perm]
    new = np.ones(flat.size, bool)
    if flat.size:
        new[1:] = aux[1:] != aux[:-1]
        if equal_nan and aux.dtype.kind in "fc":
            new[1:] &= ~(np.isnan(aux[1:]) & np.isnan(aux[:-1]))
    starts = np.flatnonzero(new)
    n = min(size, starts.size)
    ind = np.zeros(size, np.intp)
    ind[:n] = starts[:n]
    inverse = np.empty(flat.size, np.intp)
    inverse[perm] = np.cumsum(new) - 1
    counts = np.zeros(size, np.intp)
    counts[:n] = np.diff(np.append(starts, flat.size))[:n]
    return perm[ind] if flat.size else ind, np.arange(size) < starts.size, inverse, counts


_chosen_by_unique_sized = unboxing(_first_occurrences)


def _unique_sized(ar, return_index, return_inverse, return_counts, axis, equal_nan, size,
                  fill_value):
    """``unique(..., size=size, fill_value=fill_value)``, as JAX's: exactly ``size`` values
    (the smallest value repeated, or ``fill_value``, where there are fewer)."""
    if axis is not None and len(shape_of(ar)) > 1:
        raise NotImplementedError(
            "unique: size= with an axis (unique rows or columns) is not supported; "
            "use axis=None (the flattened array)")
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 0:
        raise TypeError(f"unique: size must be a non-negative int, not {size!r}")
    if math.prod(shape_of(ar)) == 0 and size and fill_value is None:
        raise ValueError("unique: an empty array with size > 0 needs a fill_value")
    index, real, inverse, counts = _chosen_by_unique_sized(undifferentiated(ar), int(size),
                                                           equal_nan)
    if math.prod(shape_of(ar)) == 0:
        values = cnp.full(int(size), fill_value, dtype=np.result_type(ar))
    else:
        values = _selected(ar, index)
        if fill_value is not None:
            values = cnp.where(real, values, cnp.astype(cnp.asarray(fill_value), values.dtype))
    extra = ((index,) if return_index else ()) + ((inverse,) if return_inverse else ()) + (
        (counts,) if return_counts else ())
    return (values, *extra) if extra else values


@mirrors(np.unique, "sets")
def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, size: int | None = None, fill_value=None, **kwargs):
    """``np.unique``: the sorted unique elements, each taken from its first occurrence (its
    derivative goes there); ``return_index``, ``return_inverse`` and ``return_counts`` as
    NumPy's, plain integer arrays. JAX's ``size=`` gives exactly ``size`` values (cut, or
    padded with ``fill_value``, by default the smallest value), so that it works per
    example under ``chainrule.vmap``.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.grad(lambda x: cnp.sum(cnp.unique(x) ** 2))(np.array([3.0, 1.0, 3.0]))
    array([6., 2., 0.])
    >>> cr.vmap(lambda x: cnp.unique(x, size=3, fill_value=0.0))(np.array([[3.0, 1.0, 3.0]]))
    array([[1., 3., 0.]])
    """
    if size is not None or fill_value is not None:
        if size is None:
            raise TypeError("unique: fill_value is only meaningful with size=")
        return _unique_sized(ar, return_index, return_inverse, return_counts, axis, equal_nan,
                             size, fill_value)
    if not _has_tensor([ar]):
        return np.unique(ar, return_index, return_inverse, return_counts, axis,
                         equal_nan=equal_nan, **kwargs)
    _refuse_batched("unique", ar)
    ar = _as_input(ar)
    if axis is not None and not isinstance(axis, int | np.integer):
        raise TypeError(f"unique: axis must be an int or None, not {axis!r}")
    if not return_index and axis is None:  # NumPy's values, in its order, bit for bit
        index, *rest = _chosen_like_unique(undifferentiated(ar), return_inverse, return_counts,
                                           equal_nan, kwargs)
        values = _selected(ar, index)
        return (values, *rest) if rest else values
    if kwargs.get("sorted", True) is False:  # NumPy sorts whenever it returns indices
        kwargs.pop("sorted")
    _, index, *rest = _chosen_by_unique(undifferentiated(ar), return_index=True,
                                        return_inverse=return_inverse,
                                        return_counts=return_counts, axis=axis,
                                        equal_nan=equal_nan, **kwargs)
    values = _selected(ar, index, axis)
    out = (values, *((index,) if return_index else ()), *rest)
    return out if len(out) > 1 else values


def _result_type(np_fun) -> type:
    """The named tuple type that ``np_fun`` (``np.unique_all``, ...) returns."""
    return type(np_fun(np.zeros(0)))


@mirrors(getattr(np, "unique_values", None), "sets")
def unique_values(x):
    """``np.unique_values``: the unique elements, each taken from its first occurrence, in
    NumPy's order (NumPy 2.3 and later do not sort them)."""
    if not _has_tensor([x]):
        return np.unique_values(x)
    return unique(x, equal_nan=False, sorted=False)


@mirrors(getattr(np, "unique_counts", None), "sets")
def unique_counts(x):
    """``np.unique_counts``: ``(values, counts)``, values taken from first occurrences."""
    if not _has_tensor([x]):
        return np.unique_counts(x)
    return _result_type(np.unique_counts)(*unique(x, return_counts=True, equal_nan=False))


@mirrors(getattr(np, "unique_inverse", None), "sets")
def unique_inverse(x):
    """``np.unique_inverse``: ``(values, inverse_indices)``, values taken from first
    occurrences."""
    if not _has_tensor([x]):
        return np.unique_inverse(x)
    return _result_type(np.unique_inverse)(*unique(x, return_inverse=True, equal_nan=False))


@mirrors(getattr(np, "unique_all", None), "sets")
def unique_all(x):
    """``np.unique_all``: ``(values, indices, inverse_indices, counts)``, values taken
    from first occurrences."""
    if not _has_tensor([x]):
        return np.unique_all(x)
    return _result_type(np.unique_all)(*unique(x, True, True, True, equal_nan=False))


@mirrors(np.intersect1d, "sets")
def intersect1d(ar1, ar2, assume_unique=False, return_indices=False):
    """``np.intersect1d``: the sorted common elements, taken from ``ar1`` (their derivative
    goes to ``ar1``'s first occurrence, as in JAX; none to ``ar2``).

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.grad(lambda a: cnp.sum(cnp.intersect1d(a, np.array([2.0, 5.0])) * 3))(np.array([5.0, 1.0]))
    array([3., 0.])
    """
    if not _has_tensor([ar1, ar2]):
        return np.intersect1d(ar1, ar2, assume_unique, return_indices)
    _refuse_batched("intersect1d", ar1, ar2)
    a1, a2 = _as_input(ar1), _as_input(ar2)
    _, i1, i2 = _chosen_by_intersect1d(undifferentiated(a1), undifferentiated(a2),
                                       assume_unique=assume_unique, return_indices=True)
    values = _selected(a1, i1)
    dtype = np.result_type(*(x.dtype if isinstance(x, Tensor) else np.asarray(x).dtype for x in (a1, a2)))
    if values.dtype != dtype:
        values = cnp.astype(values, dtype)
    return (values, i1, i2) if return_indices else values


@mirrors(np.union1d, "sets")
def union1d(ar1, ar2):
    """``np.union1d``: ``unique`` of both arrays' elements, each taken from its first
    occurrence (``ar1`` before ``ar2``)."""
    if not _has_tensor([ar1, ar2]):
        return np.union1d(ar1, ar2)
    return unique(cnp.concatenate((ar1, ar2), axis=None))


@mirrors(np.setdiff1d, "sets")
def setdiff1d(ar1, ar2, assume_unique=False):
    """``np.setdiff1d``: the unique elements of ``ar1`` not in ``ar2``, taken from ``ar1``."""
    if not _has_tensor([ar1, ar2]):
        return np.setdiff1d(ar1, ar2, assume_unique)
    _refuse_batched("setdiff1d", ar1, ar2)
    a1 = cnp.ravel(_as_input(ar1)) if assume_unique else unique(ar1)
    a2 = undifferentiated(ar2) if assume_unique else _chosen_by_unique(undifferentiated(ar2))
    return a1[_isin(undifferentiated(a1), a2, assume_unique=True, invert=True)]


@mirrors(np.setxor1d, "sets")
def setxor1d(ar1, ar2, assume_unique=False):
    """``np.setxor1d``: the sorted elements in exactly one of the arrays, each taken from
    where it occurs."""
    if not _has_tensor([ar1, ar2]):
        return np.setxor1d(ar1, ar2, assume_unique)
    _refuse_batched("setxor1d", ar1, ar2)
    if not assume_unique:
        ar1, ar2 = unique(ar1), unique(ar2)
    aux = cnp.concatenate((cnp.ravel(_as_input(ar1)), cnp.ravel(_as_input(ar2))))
    if aux.size == 0:
        return aux
    aux = cnp.sort(aux)
    plain = undifferentiated(aux)
    edge = np.ones(1, bool)
    flag = cnp.concatenate((edge, plain[1:] != plain[:-1], edge))
    return aux[cnp.logical_and(flag[1:], flag[:-1])]


@mirrors(np.trim_zeros, "sets")
def trim_zeros(filt, trim="fb", axis=None):
    """``np.trim_zeros``: the box of elements left when the zeros at the front and/or back
    are cut off (along ``axis``, or every axis); each element keeps its derivative.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.grad(lambda x: cnp.sum(cnp.trim_zeros(x) ** 2))(np.array([0.0, 2.0, 0.0, 3.0, 0.0]))
    array([0., 4., 0., 6., 0.])
    """
    if not _has_tensor([filt]):
        return np.trim_zeros(filt, trim, axis)
    _refuse_batched("trim_zeros", filt)
    a = _as_input(filt)
    trim = trim.lower()
    if trim not in {"fb", "bf", "f", "b"}:
        raise ValueError(f"unexpected character(s) in `trim`: {trim!r}")
    nd = a.ndim
    axes = tuple(range(nd)) if axis is None else np.lib.array_utils.normalize_axis_tuple(axis, nd, "axis")
    if not axes:
        return filt
    for ax, kept in zip(axes, _kept_by_trim_zeros(undifferentiated(a), trim, axes), strict=True):
        a = cnp.take(a, kept, axis=ax)
    return a

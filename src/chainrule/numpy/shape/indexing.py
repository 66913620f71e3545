"""Indexing, taking, deleting, selecting and sorting: gathers whose adjoint is a scatter
(``scatter_add`` in :mod:`chainrule.numpy.shape.primitives`), so repeated indices add up."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.nondiff import batched, every, unboxing
from chainrule.numpy.registry import MIRROR_OF, mirrors, stands_for
from chainrule.numpy.shape.bounds import gather, jax_mode
from chainrule.numpy.shape.primitives import (
    _along,
    _as_input,
    _axis,
    _deep_plain,
    _dtype,
    _getitem,
    _has_tensor,
    _ndim,
    _no_out,
    broadcast_to,
    flip,
)
from chainrule.numpy.shape.reshaping import (
    ravel,
)

__all__ = [
    "select",
    "getitem",
    "take",
    "take_along_axis",
    "compress",
    "extract",
    "delete",
    "sort",
    "sort_complex",
    "partition",
    "resize",
    "choose",
]


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


def take(a, indices, axis=None, out=None, mode=None, unique_indices=False, indices_are_sorted=False,
         fill_value=None):
    """``np.take``, with JAX's ``mode="fill"`` too: an index out of range (a negative one
    counted from the end) reads ``fill_value`` (NaN by default; giving ``fill_value`` alone
    asks for it). ``mode=None`` is NumPy's ``"raise"``; ``"clip"`` and ``"wrap"`` are NumPy's (and JAX's).

    >>> import chainrule.numpy as cnp, numpy as np
    >>> cnp.take(np.arange(3.0), [2, -1, 3], mode="fill", fill_value=-9.0)
    array([ 2.,  2., -9.])
    """
    if mode is None and fill_value is not None:
        mode = "fill"  # JAX's default mode, which fill_value asks for
    if mode not in ("fill", "drop"):
        if fill_value is not None:
            raise ValueError(f"take: fill_value applies to mode='fill' only (mode is {mode!r})")
        return _take(a, indices, axis=axis, out=out, mode="raise" if mode is None else mode)
    _no_out("take", out)
    a = _as_input(a)
    indices = _index_array(indices)
    if axis is None or not _ndim(a):
        a = ravel(a)
        axis = 0 if axis is None else axis
    axis = _axis(axis, _ndim(a))
    return gather(a, (slice(None),) * axis + (indices,), "fill", fill_value)


stands_for(np.take, take, "shape")


@mirrors(np.take, "shape", "take")
def _take(a, indices, axis=None, out=None, mode="raise"):
    if not _has_tensor(a) and not _has_tensor(indices):
        return np.take(a, indices, axis=axis, out=out, mode=mode)
    _no_out("take", out)
    a = _as_input(a)
    if axis is None or not _ndim(a):  # NumPy takes a 0-d array along an axis as 1-d
        a = ravel(a)
        axis = 0 if axis is None else axis
    axis = _axis(axis, _ndim(a))
    indices = _take_indices(_index_array(indices), indices)  # traced indices (jit, vmap) stay traced
    n = shape_of(a)[axis]
    if n == 0:
        return _take_from_empty(a, indices, axis, mode)
    taken = _along(a, axis, _apply_clipmode(indices, n, mode))
    # np.take's result is C-ordered; an index array past axis 0 leaves NumPy's indexing in
    # another order, in which a later sum of all elements adds them up in another order
    # (its last bit would differ from the plain call's, where take gets plain arrays)
    return taken if axis == 0 else cnp.copy(taken, order="C")


def _take_from_empty(a, indices, axis: int, mode: str):
    """``take`` along an axis of length 0, as NumPy's: an IndexError where the result would
    have elements (in every example of a vmap batch); else in mode 'raise' an index past the
    end (any) raises where the axes before ``axis`` have elements, and otherwise the result
    is empty."""
    _apply_clipmode(indices, 1, mode)  # the mode's check
    shape = shape_of(a)
    result = shape[:axis] + shape_of(indices) + shape[axis + 1:]
    if math.prod(result):
        try:  # fails but for a vmap batch of no examples
            return _along(a, axis, indices * 0)
        except IndexError:
            raise IndexError("cannot do a non-empty take from an empty axes.") from None
    if mode == "raise" and math.prod(shape[:axis]) and math.prod(shape_of(indices)):
        return _along(a, axis, indices)  # NumPy's error for the first index
    return cnp.reshape(_along(a, axis, np.zeros(0, np.intp)), result)


def _take_indices(index, given):
    """``take``'s indices as NumPy converts them: to integers (booleans are 0 and 1, not a
    mask; a list's numbers are truncated, [] is empty), an array only by a safe cast."""
    if isinstance(index, Tensor):
        return cnp.astype(index, np.intp) if _dtype(index).kind == "b" else index
    if isinstance(_deep_plain(given), np.ndarray):
        if not np.can_cast(index.dtype, np.intp, "safe"):
            raise TypeError(f"Cannot cast array data from {index.dtype!r} to {np.dtype(np.intp)!r} "
                            "according to the rule 'safe'")
        return index.astype(np.intp, copy=False)
    return np.asarray(_deep_plain(given), dtype=np.intp)


def _apply_clipmode(index, n: int, mode: str):
    """An index array of n positions after NumPy's ``mode`` ('raise' leaves it as is)."""
    if mode == "wrap":
        return index % n
    if mode == "clip":
        return cnp.clip(index, 0, n - 1)
    if mode != "raise":
        raise ValueError(f"clipmode must be one of 'clip', 'raise', or 'wrap' (got {mode!r})")
    return index


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


def take_along_axis(arr, indices, axis=-1, mode=None, fill_value=None):
    """``np.take_along_axis``, with JAX's ``mode``: ``"clip"`` clamps an index out of range
    (a negative one counted from the end), ``"fill"`` reads ``fill_value`` there (NaN by
    default; giving ``fill_value`` alone asks for it); ``mode=None`` raises ``IndexError``, as NumPy does.

    >>> import chainrule.numpy as cnp, numpy as np
    >>> cnp.take_along_axis(np.arange(3.0), np.array([-1, 7]), axis=0, mode="clip")
    array([2., 2.])
    """
    how = jax_mode("fill" if mode is None and fill_value is not None else mode, scatter=False)
    if how is None:
        return _take_along_axis(arr, indices, axis)
    arr = _as_input(arr)
    indices = _index_array(indices)
    if axis is None:
        if len(shape_of(indices)) != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        arr = ravel(arr)
        axis = 0
    axis = _axis(axis, _ndim(arr))
    return gather(arr, _along_axis_index(shape_of(arr), indices, axis), how, fill_value)


stands_for(np.take_along_axis, take_along_axis, "shape")


@mirrors(np.take_along_axis, "shape", "take_along_axis")
def _take_along_axis(arr, indices, axis=-1):
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
    if cond.ndim != 1:
        raise ValueError("condition must be a 1-d array")
    return take(a, np.nonzero(cond)[0], axis=axis)


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


def _bit_keys(v: np.ndarray) -> list:
    """Integer keys, last first (for ``np.lexsort``), that order ``v`` by its bit patterns:
    -0.0 and 0.0 are different keys (every NaN is one key: NumPy's sorts may change a
    NaN's sign). None if ``v`` is not floating point."""
    kind, size = v.dtype.kind, v.dtype.itemsize // (2 if v.dtype.kind == "c" else 1)
    if kind not in "fc" or size not in (2, 4, 8):
        return None
    parts = (v.imag, v.real) if kind == "c" else (v,)
    return [np.where(np.isnan(p), np.nan, p).astype(p.dtype).view(f"u{size}") for p in parts]


def _order_giving(v, idx, axis, kind=None, kth=None):
    """``idx`` (an order of ``v`` along ``axis`` from argsort, or argpartition at ``kth``),
    changed where it must be so that ``v`` taken in that order is what ``np.sort`` (or
    ``np.partition``) gives, bit for bit. They agree on the values; they can differ in
    where equal values with other bits go (-0.0 and 0.0), and ``np.partition`` can arrange
    the elements otherwise than ``np.argpartition``: then the elements go to the positions
    of NumPy's result that hold their bits (tied elements in their order)."""
    v, idx = np.asarray(v), np.asarray(idx)
    if kth is None:
        if v.dtype.kind not in "fc" or not (v == 0).any():
            return idx  # no two equal values with other bits: argsort's order is sort's
        target = np.sort(v, axis=axis, kind=kind)
    else:
        target = np.partition(v, kth, axis=axis, kind=kind)
    v, idx, target = (np.moveaxis(x, axis, -1) for x in (v, idx, target))
    got = np.take_along_axis(v, idx, -1)
    keys_got, keys_target = _bit_keys(got), _bit_keys(target)
    if keys_got is None:  # integers, booleans: equal values have equal bits
        same = got == target
    else:
        same = np.logical_and.reduce([k == t for k, t in zip(keys_got, keys_target, strict=True)])
    if same.all():
        return np.moveaxis(idx, -1, axis)
    rows = ~same.all(axis=-1)  # fix those rows: the k-th element of v by bits goes where
    vr, tr = v[rows], target[rows]  # target holds the k-th bits
    fixed, placed = _placing(_bit_keys(vr), _bit_keys(tr), vr, tr)
    if not placed.all():  # NumPy's SIMD sorts can write 0.0 for -0.0: match by value there
        zero_free = [np.where(x == 0, np.zeros((), x.dtype), x) for x in (vr, tr)]
        by_value, _ = _placing(*map(_bit_keys, zero_free), *zero_free)
        fixed = np.where(placed[:, None], fixed, by_value)
    idx = idx.copy()
    idx[rows] = fixed
    return np.moveaxis(idx, -1, axis)


def _placing(kv, kt, vr, tr):
    """The order that puts each element of the rows ``vr`` where the rows ``tr`` hold its
    keys (tied elements in their order), and whether each row's keys are a rearrangement
    of the other's."""
    order_v = np.lexsort(kv) if kv is not None else np.argsort(vr, axis=-1, kind="stable")
    order_t = np.lexsort(kt) if kt is not None else np.argsort(tr, axis=-1, kind="stable")
    fixed = np.empty_like(order_v)
    np.put_along_axis(fixed, order_t, order_v, -1)
    keys, tkeys = (kv, kt) if kv is not None else ([vr], [tr])
    placed = np.logical_and.reduce([
        (np.take_along_axis(k, order_v, -1) == np.take_along_axis(t, order_t, -1)).all(axis=-1)
        for k, t in zip(keys, tkeys, strict=True)])
    return fixed, placed


_numpys_order = unboxing(_order_giving)


def _sorted_along(a, order_of: Callable, axis, numpys: dict | None = None):
    a = _as_input(a)
    if axis is None:
        a = ravel(a)
        axis = -1
    v = undifferentiated(a)
    idx = order_of(v, axis)  # under chainrule.jit: recorded, not read
    if numpys is not None and not batched(a) and len(shape_of(a)):
        idx = _numpys_order(v, idx, axis, **numpys)  # NumPy's values, bit for bit
    return take_along_axis(a, idx, axis)


def _np_sort(a, axis=-1, kind=None, order=None, *, stable=None, descending: bool = False):
    """``np.sort`` with jax.numpy's ``descending=``: the ascending sort reversed."""
    kw = {} if stable is None else {"stable": stable}
    ans = np.sort(a, axis=axis, kind=kind, order=order, **kw)
    return np.flip(ans, -1 if axis is None else axis) if descending else ans


@mirrors(_np_sort, "shape")
def sort(a, axis=-1, kind=None, order=None, *, stable=None, descending: bool = False):
    """``np.sort``: the sorted values carry the gradient of the elements they came from.
    ``descending=True`` (jax.numpy's) gives the ascending sort reversed along ``axis``, as
    JAX does (tied values such as 0.0 and -0.0 come out in reverse order too)."""
    if not _has_tensor(a):
        return _np_sort(a, axis, kind, order, stable=stable, descending=descending)
    if descending:
        if axis is None:
            a, axis = ravel(a), -1
        return flip(sort(a, axis, kind, order, stable=stable), axis)
    if kind is not None or stable is not None:  # NumPy's errors for a bad kind or kind and stable
        np.sort(np.empty(0), kind=kind, **({} if stable is None else {"stable": stable}))
    # Tied elements are taken in their input order whatever the kind (NumPy's default sorts
    # are not stable, even on 4 elements), so the gradient of a tie goes to the first
    # of them, as docs/engine.md says; the values are still np.sort(kind=kind)'s.
    return _sorted_along(
        a, lambda v, ax: np.argsort(v, axis=ax, kind="stable", order=order), axis,
        None if order is not None or stable else {"kind": kind},
    )


MIRROR_OF[np.sort] = sort  # (what the record replays is _np_sort, which takes descending=)


@mirrors(np.sort_complex, "shape")
def sort_complex(a):
    """``np.sort_complex``: sorted along the last axis by real part, then imaginary part,
    as a complex array (``complex64`` for small integers, ``complex128`` otherwise); the
    sorted values carry the derivative of the elements they came from.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.grad(lambda x: cnp.real(cnp.sort_complex(x))[0])(np.array([3.0, 1.0]))
    array([0., 1.])
    """
    if not _has_tensor(a):
        return np.sort_complex(a)
    b = sort(_as_input(a))
    kind = _dtype(b)
    if kind.kind == "c":
        return b
    return cnp.astype(b, np.dtype("F" if kind.char in "bhBH" else "G" if kind.char == "g" else "D"))


@mirrors(np.partition, "shape")
def partition(a, kth, axis=-1, kind="introselect", order=None):
    if not _has_tensor(a):
        return np.partition(a, _deep_plain(kth), axis=axis, kind=kind, order=order)
    kth = _deep_plain(kth)
    return _sorted_along(
        a, lambda v, ax: np.argpartition(v, kth, axis=ax, kind=kind, order=order), axis,
        None if order is not None else {"kind": kind, "kth": kth},
    )


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


@mirrors(np.resize, "shape")
def resize(a, new_shape):
    """``np.resize``: the flattened entries repeated to fill ``new_shape`` (a gather, so
    the gradient of a repeated entry adds up)."""
    if not _has_tensor(a):
        return np.resize(a, new_shape)
    flat = ravel(_as_input(a))
    size = shape_of(flat)[0]
    positions = np.resize(np.arange(size), new_shape)
    if size == 0 or positions.size == 0:  # NumPy: zeros
        return np.zeros_like(np.zeros(0, _dtype(flat)), shape=positions.shape)
    return _getitem(flat, positions)


@mirrors(np.choose, "shape")
def choose(a, choices, out=None, mode="raise"):
    """``np.choose``: each entry taken from the choice that ``a`` names there;
    differentiable in the choices."""
    if not _has_tensor(choices) and not _has_tensor(a):
        return np.choose(a, choices, out=out, mode=mode)
    _no_out("choose", out)
    if isinstance(choices, Tensor) and not shape_of(choices):
        raise TypeError("choose: choices must be a sequence of arrays (or an array of at least one axis), "
                        "not a 0-d value, which is not iterable")
    index = _index_array(a)
    if isinstance(choices, Tensor):
        choices = [choices[k] for k in range(shape_of(choices)[0])]
    choices = [_as_input(c) for c in choices]
    n = len(choices)
    index = _apply_clipmode(index, n, mode)
    if mode == "raise" and not (every(index >= 0) and every(index < n)):
        raise ValueError("invalid entry in choice array")
    shape = np.broadcast_shapes(shape_of(index), *(shape_of(c) for c in choices))
    stacked = cnp.stack([broadcast_to(c, shape) for c in choices])
    index = cnp.broadcast_to(index, shape)
    return take_along_axis(stacked, cnp.expand_dims(index, 0), axis=0)[0]

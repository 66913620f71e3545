"""Batching rules for ``chainrule.vmap`` of indexing: ``x[index]`` (``getitem``), its
adjoint (``scatter_add``) and the eager layer's out-of-place item assignment
(``index_update``), with the index, the array, or both batched.

An index that is the same for every example is one example's index behind a slice for
the batch axis. An index that differs between examples (a batched integer array) becomes
one advanced index into the whole batch, with ``np.arange(size)`` for the batch axis, so
the batch is one gather or one scatter; ``...`` is written out as the slices it stands
for, and where NumPy would put the advanced dimensions first the result is transposed to
where stacking the examples' results puts them. (The generic kinds are in
:mod:`chainrule.numpy.batching`.)
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor
from chainrule.numpy.batching import any_batched, batch_size, example_ndim, lift, with_batch
from chainrule.numpy.broadcasting import shape_of

__all__ = ["getitem", "scatter_add", "index_update", "batch_position"]


def _is_array_index(i) -> bool:
    return isinstance(i, Tensor | np.ndarray | list) and not isinstance(i, np.generic)


def _index_ndim(i) -> int:
    if isinstance(i, np.ndarray | Tensor) and i.dtype == bool:
        return 1
    return len(shape_of(i))


def _axes_read(i, batched) -> int:
    """How many of an example's axes index item ``i`` reads (``None`` and ``...`` none, a
    boolean mask as many as it has)."""
    if i is None or i is Ellipsis:
        return 0
    if isinstance(i, np.ndarray | Tensor) and i.dtype == bool:
        return example_ndim(i, batched)
    return 1


def without_ellipsis(items, flags, ndim: int):
    """An index's items and their batched flags with ``...`` written out as the slices it
    stands for in an example of ``ndim`` axes (the rules below place slices, not ``...``)."""
    at = next((k for k, i in enumerate(items) if i is Ellipsis), None)
    if at is None:
        return items, flags
    n = ndim - sum(_axes_read(i, f) for i, f in zip(items, flags, strict=True))
    return ((*items[:at], *(slice(None),) * n, *items[at + 1:]),
            (*flags[:at], *(False,) * n, *flags[at + 1:]))


def batch_position(index) -> int:
    """Where ``x[(slice(None),) + index]`` puts the leading axis of ``x``: 0, unless the
    advanced indices are separated by a slice, when NumPy puts their dimensions first."""
    items = index if isinstance(index, tuple) else (index,)
    arrays = [k for k, i in enumerate(items) if _is_array_index(i)]
    if not arrays:
        return 0
    advanced = [k for k, i in enumerate(items)
                if _is_array_index(i) or isinstance(i, int | np.integer)]
    if advanced == list(range(advanced[0], advanced[-1] + 1)):
        return 0
    return max(_index_ndim(items[k]) for k in arrays)


def batched_index(items, flags, size: int, x_batched: bool):
    """One example's index with batched items, as one advanced index into the batch: every
    item an integer array or int, the batched ones lifted to a common rank, and (when
    ``x`` is batched) the batch position in front. None for an index mixing in slices."""
    if any(not (_is_array_index(i) or isinstance(i, int | np.integer)) or _index_ndim(i) !=
           len(shape_of(i)) for i in items):
        return None
    r = max(example_ndim(i, f) for i, f in zip(items, flags, strict=True))
    full = [lift(i, r - example_ndim(i, True)) if f else i for i, f in zip(items, flags, strict=True)]
    if x_batched:
        full.insert(0, np.arange(size).reshape((size,) + (1,) * r))
    return tuple(full)


def mixed_batched_index(items, flags, size: int, x_batched: bool):
    """One example's index that mixes batched integer arrays with slices (or ``None``),
    as one index into the batch, and the permutation that puts the result's axes where
    stacking the examples' results would: NumPy moves advanced dimensions to the front
    when the batch position and the example's own advanced indices are not adjacent.
    None for what it does not handle (boolean arrays of more than one axis, ``...``:
    :func:`without_ellipsis` writes it out)."""
    if any(i is Ellipsis or (_is_array_index(i) and _index_ndim(i) != len(shape_of(i)))
           for i in items):
        return None
    advanced = [k for k, i in enumerate(items) if _is_array_index(i) or isinstance(i, int | np.integer)]
    r = max(example_ndim(i, f) for i, f in zip(items, flags, strict=True) if _is_array_index(i))
    full = [lift(i, r - example_ndim(i, True)) if f else i for i, f in zip(items, flags, strict=True)]
    if x_batched:
        full.insert(0, np.arange(size).reshape((size,) + (1,) * r))
    adjacent = advanced == list(range(advanced[0], advanced[-1] + 1))
    before = sum(1 for i in items[:advanced[0]] if i is None or isinstance(i, slice))
    if not adjacent or before == 0:
        return tuple(full), None  # the advanced dimensions (batch first) lead already
    if x_batched:  # (batch + advanced, before, after) -> (batch, before, advanced, after)
        perm = [0, *range(1 + r, 1 + r + before), *range(1, 1 + r)]
    else:  # (before, batch + advanced, after) -> (batch, before, advanced, after)
        perm = [before, *range(before), *range(before + 1, before + 1 + r)]
    return tuple(full), perm


def _permuted(x, perm):
    n = len(shape_of(x))
    return cnp.transpose(x, (*perm, *range(len(perm), n)))


def getitem(prim, batched, x, index):
    items = index if isinstance(index, tuple) else (index,)
    flags = batched[1] if isinstance(batched[1], tuple) else (batched[1],) * len(items)
    if not any(flags):  # only x is batched
        ans = prim(x, (slice(None), *items))
        pos = batch_position(items)
        return cnp.moveaxis(ans, pos, 0) if pos else ans
    size = batch_size(items, flags)
    items, flags = without_ellipsis(items, flags, example_ndim(x, batched[0]))
    full = batched_index(items, flags, size, batched[0])
    if full is not None:
        return prim(x, full)
    mixed = mixed_batched_index(items, flags, size, batched[0])
    if mixed is None:
        return NotImplemented
    full, perm = mixed
    ans = prim(x, full)
    return ans if perm is None else _permuted(ans, perm)


def scatter_add(prim, batched, g, index, shape):
    """The adjoint of ``getitem``: a batched index scatters each example's cotangent into
    its own slot of the batch (the example's index, with the batch position in front)."""
    items = index if isinstance(index, tuple) else (index,)
    if not any_batched(batched[1:]):
        pos = batch_position(index)
        if pos:
            g = cnp.moveaxis(g, 0, pos)
        return prim(g, (slice(None), *items), (shape_of(g)[pos], *shape))
    if batched[2]:
        return NotImplemented
    flags = batched[1] if isinstance(batched[1], tuple) else (batched[1],) * len(items)
    size = batch_size(items, flags)
    g = with_batch(g, batched[0], size)
    items, flags = without_ellipsis(items, flags, len(shape))
    full = batched_index(items, flags, size, True)
    if full is None:
        mixed = mixed_batched_index(items, flags, size, True)
        if mixed is None:
            return NotImplemented
        full, perm = mixed
        if perm is not None:  # back to the layout of x[full]
            g = _permuted(g, list(np.argsort(perm)))
    return prim(g, full, (size, *shape))


# -- the eager layer's out-of-place item assignment ------------------------------------------------
def index_update(prim, batched, x, index, v):
    """``x[index] = v`` out of place, for each example."""
    size = batch_size((x, index, v), batched)
    x = with_batch(x, batched[0], size)
    items = index if isinstance(index, tuple) else (index,)
    if batched[1]:  # an index per example: one advanced index into the batch
        flags = batched[1] if isinstance(batched[1], tuple) else (batched[1],) * len(items)
        items, flags = without_ellipsis(items, flags, example_ndim(x, True))
        full, perm = batched_index(items, flags, size, True), None
        if full is None:
            mixed = mixed_batched_index(items, flags, size, True)
            if mixed is None:
                return NotImplemented
            full, perm = mixed
        if batched[2] or perm is not None:
            # v's example axes line up with those x[index] selects, the batch's in front;
            # NumPy writes x[full] in its own layout, with the advanced dimensions first
            selected = (len(shape_of(full[0])) + example_ndim(x, True)
                        + sum(1 for i in items if i is None or isinstance(i, slice))
                        - sum(1 for i in items if i is not None))
            v = with_batch(v, batched[2], size)
            v = lift(v, selected - len(shape_of(v)))
            if perm is not None:
                v = _permuted(v, list(np.argsort(perm)))
        return prim(x, full, v)
    if batched[2]:
        # an index boxed by an enclosing trace stands in by its shape (only ndim matters)
        stand_in = tuple(np.zeros(shape_of(i), i.dtype) if isinstance(i, Tensor) else i
                         for i in items)
        selected = np.broadcast_to(np.zeros((), np.int8), shape_of(x)[1:])[stand_in]
        v = lift(v, selected.ndim - example_ndim(v, True))
        pos = batch_position(items)
        v = cnp.moveaxis(v, 0, pos) if pos else v
    return prim(x, (slice(None), *items), v)

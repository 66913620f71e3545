"""JAX's ``mode=`` for indices out of range, as compositions of chainrule's primitives (so
they differentiate, batch and record like any other indexing).

``"clip"`` counts a negative index from the end and clamps it into range; ``"fill"`` (a
gather) reads ``fill_value`` where an index is out of range, and a scatter drops the
update there. Both work by sending such an index one past the end of an array padded by
one element along that axis (with ``fill_value`` for a gather), which is cut off again
after a scatter. Without a mode, chainrule keeps NumPy's rule: an index out of range
raises ``IndexError``.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.shape.primitives import _dtype

# JAX's names (and jax.lax.GatherScatterMode's) -> what a gather and a scatter do
_GATHER = {"clip": "clip", "promise_in_bounds": "clip", "fill": "fill", "drop": "fill"}
_SCATTER = {"clip": "clip", "promise_in_bounds": "fill", "fill": "fill", "drop": "fill"}
_ENUM_NAMES = {"CLIP": "clip", "FILL_OR_DROP": "fill", "PROMISE_IN_BOUNDS": "promise_in_bounds"}


def jax_mode(mode, scatter: bool) -> str | None:
    """``"clip"``, ``"fill"`` or None (NumPy's rule) for JAX's ``mode`` argument."""
    if mode is None:
        return None
    name = _ENUM_NAMES.get(getattr(mode, "name", None), mode)
    table = _SCATTER if scatter else _GATHER
    if not isinstance(name, str) or name not in table:
        raise ValueError(
            f"mode must be 'clip', 'fill', 'drop', 'promise_in_bounds' or None (got {mode!r}): "
            "'clip' clamps an index out of range, 'fill' reads fill_value there (a scatter "
            "drops the update), None raises IndexError")
    return table[name]


def default_fill(dtype) -> np.ndarray:
    """JAX's default ``fill_value``: NaN, the least signed integer, the greatest unsigned
    one, True."""
    dtype = np.dtype(dtype)
    if dtype.kind in "fc":
        return np.array(np.nan, dtype)
    if dtype.kind == "i":
        return np.array(np.iinfo(dtype).min, dtype)
    if dtype.kind == "u":
        return np.array(np.iinfo(dtype).max, dtype)
    return np.array(True, dtype) if dtype.kind == "b" else np.zeros((), dtype)


def _is_integer_index(item) -> bool:
    if isinstance(item, bool | np.bool_):
        return False
    if isinstance(item, int | np.integer):
        return True
    return isinstance(item, np.ndarray | Tensor) and _dtype(item).kind in "iu"


def _axes_used(item) -> int:
    if item is None or isinstance(item, bool | np.bool_):
        return 0
    if isinstance(item, np.ndarray | Tensor) and _dtype(item).kind == "b":
        return len(shape_of(item))
    return 1


def bound(i, n: int, how: str):
    """The integer index ``i`` (an int, array or Tensor) into ``n`` positions, a negative
    one counted from the end: clamped into range (``"clip"``), or sent to ``n`` where it is
    out of range (``"fill"``). A plain index already in range is left as it is."""
    if isinstance(i, int | np.integer):
        j = int(i) + n if i < 0 else int(i)
        return min(max(j, 0), n - 1) if how == "clip" else (j if 0 <= j < n else n)
    if not isinstance(i, Tensor) and (i.size == 0 or (i.min() >= -n and i.max() < n)):
        return i
    j = cnp.where(i < 0, i + n, i)
    if how == "clip":
        return cnp.clip(j, 0, n - 1)
    return cnp.where(cnp.logical_and(j >= 0, j < n), j, n)


def bound_index(index, shape, how: str):
    """``index`` (as ``x[index]`` takes it) with each integer entry bounded by
    :func:`bound` along its axis of ``shape``, and the axes that need one more element
    (an entry may point one past their end)."""
    items = index if isinstance(index, tuple) else (index,)
    if sum(item is Ellipsis for item in items) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(_axes_used(item) for item in items if item is not Ellipsis)
    out, padded, axis = [], [], 0
    for item in items:
        if item is Ellipsis:
            out.append(item)
            axis += len(shape) - used
            continue
        if _is_integer_index(item):
            if axis >= len(shape):
                raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional")
            new = bound(item, shape[axis], how)
            if new is not item and how == "fill":
                padded.append(axis)
            item = new
        out.append(item)
        axis += _axes_used(item)
    return (tuple(out) if isinstance(index, tuple) else out[0]), padded


def pad_end(x, axes, value):
    """``x`` with one more element at the end of each of ``axes``, holding ``value``."""
    if not axes:
        return x
    widths = [(0, int(d in axes)) for d in range(len(shape_of(x)))]
    return cnp.pad(x, widths, constant_values=np.asarray(value, _dtype(x)))


def cut_end(x, axes, shape):
    """``x`` without the element that :func:`pad_end` added at the end of ``axes``."""
    if not axes:
        return x
    return x[tuple(slice(0, n) if d in axes else slice(None) for d, n in enumerate(shape))]


def gather(x, index, how: str, fill_value=None):
    """``x[index]`` with JAX's ``mode`` (``"clip"`` or ``"fill"``) for indices out of range."""
    index, padded = bound_index(index, shape_of(x), how)
    fill = default_fill(_dtype(x)) if fill_value is None else fill_value
    return cnp.getitem(pad_end(x, padded, fill), index)

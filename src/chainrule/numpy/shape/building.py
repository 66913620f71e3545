"""Building arrays: array, asarray and friends (a list holding Tensors is stacked, so it
differentiates), meshgrid, and the index expressions ``r_`` and ``c_``."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import (
    SEQUENCE_TO_ARRAY,
)
from chainrule.core.tensor import Tensor
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.registry import mirrors
from chainrule.numpy.shape.joining import (
    concatenate,
)
from chainrule.numpy.shape.primitives import (
    _as_input,
    _build,
    _dtype,
    _has_tensor,
    _ndim,
    reshape,
    transpose,
)
from chainrule.numpy.shape.reshaping import (
    broadcast_arrays,
)

__all__ = [
    "meshgrid",
    "array",
    "asarray",
    "asanyarray",
    "ascontiguousarray",
    "asfortranarray",
    "r_",
    "c_",
]


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


def _finish(out, dtype, ndmin: int, copy=None):
    if copy is False and dtype is not None and np.dtype(dtype) != _dtype(out):
        raise _copy_needed(f"a cast to {np.dtype(dtype)}")
    if dtype is not None and np.dtype(dtype) != _dtype(out):
        out = cnp.astype(out, dtype)
    nd = _ndim(out)
    if ndmin > nd:
        out = reshape(out, (1,) * (ndmin - nd) + shape_of(out))
    return out


def _copy_needed(what) -> ValueError:
    """NumPy's error for ``copy=False`` where the array must be made anew."""
    return ValueError(f"Unable to avoid copy while creating an array as requested ({what}): "
                      "leave copy=None (the default) to allow a copy when needed")


def _kw(**kwargs) -> dict:
    return {k: v for k, v in kwargs.items() if v is not None}


@mirrors(np.array, "shape")
def array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, like=None):
    """``np.array``; a (nested) list holding Tensors is stacked, so it differentiates."""
    if isinstance(object, Tensor):
        return _finish(cnp.copy(object) if copy else object, dtype, ndmin, copy)
    if _has_tensor(object):
        if copy is False:
            raise _copy_needed("a sequence is stacked into a new array")
        return _finish(_build(object), dtype, ndmin)
    return np.array(object, dtype=dtype, copy=copy, order=order, subok=subok, ndmin=ndmin,
                    **_kw(like=like))


# A primitive handed an array-like list that holds Tensors (np.mean([x, y])) stacks it so.
SEQUENCE_TO_ARRAY[0] = array


@mirrors(np.asarray, "shape")
def asarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    if isinstance(a, Tensor):
        return _finish(cnp.copy(a) if copy else a, dtype, 0, copy)
    if _has_tensor(a):
        if copy is False:
            raise _copy_needed("a sequence is stacked into a new array")
        return _finish(_build(a), dtype, 0)
    return np.asarray(a, dtype=dtype, order=order, **_kw(device=device, copy=copy, like=like))


@mirrors(np.asanyarray, "shape")
def asanyarray(a, dtype=None, order=None, *, like=None, **kwargs):
    if _has_tensor(a):
        return asarray(a, dtype)
    return np.asanyarray(a, dtype=dtype, order=order, **_kw(like=like), **kwargs)


@mirrors(np.ascontiguousarray, "shape")
def ascontiguousarray(a, dtype=None, *, like=None):
    """A Tensor is returned as it is (its layout is NumPy's concern, not the gradient's),
    with at least one dimension, as NumPy makes it."""
    if _has_tensor(a):
        return _at_least_1d(asarray(a, dtype))
    return np.ascontiguousarray(a, dtype=dtype, **_kw(like=like))


@mirrors(np.asfortranarray, "shape")
def asfortranarray(a, dtype=None, *, like=None):
    if _has_tensor(a):
        return _at_least_1d(asarray(a, dtype))
    return np.asfortranarray(a, dtype=dtype, **_kw(like=like))


def _at_least_1d(x):
    return cnp.reshape(x, (1,)) if shape_of(x) == () else x


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

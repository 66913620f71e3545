"""The methods of NumPy's binary ufuncs on the mirror's ufuncs: ``cnp.add.outer(a, b)``,
``cnp.multiply.reduce(x, axis=0)``, ``cnp.add.accumulate(x)`` (and ``np.add.outer(t, u)``
on Tensors, which lands here).

Each is written with differentiable primitives: ``outer`` is the ufunc on ``a`` given
``b.ndim`` trailing axes of length 1 (broadcasting does the rest); ``reduce`` and
``accumulate`` are the mirror's reductions where NumPy has one (``add.reduce`` is
``sum``, ``maximum.accumulate`` a running maximum...) and otherwise a fold of the ufunc
along the axis, which is what the ufunc method computes.
"""

from __future__ import annotations

import functools

import numpy as np

import chainrule.numpy as cnp
from chainrule.numpy import elementwise as ew
from chainrule.numpy import reductions as red
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.dispatch import give_ufunc_interface, guarded
from chainrule.numpy.nondiff import NONDIFF_OF, unboxing
from chainrule.numpy.registry import MIRROR_OF
from chainrule.numpy.shape.primitives import _as_input, _axis, _has_tensor

__all__: list[str] = []

_NoValue = np._NoValue


def outer(prim, a, b, **kwargs):
    """``ufunc.outer(a, b)``: ``result[i..., j...] = ufunc(a[i...], b[j...])``."""
    if not _has_tensor([a, b]):
        return prim.fun.outer(a, b, **kwargs)
    a, b = _as_input(a), _as_input(b)
    a_shape, b_ndim = shape_of(a), len(shape_of(b))
    return prim(cnp.reshape(a, a_shape + (1,) * b_ndim), b, **kwargs)


# ufunc -> the mirror's reduction that is its ``reduce``, and its ``accumulate``
_REDUCTIONS = {np.add: (red.sum, red.cumsum), np.multiply: (red.prod, red.cumprod),
               np.maximum: (red.max, None), np.minimum: (red.min, None)}


def _fold(prim, x, axis: int, keep_all: bool):
    """``prim`` folded along ``axis`` from the first entry on: the last value, or (with
    ``keep_all``) every running value, stacked along ``axis``."""
    x = cnp.moveaxis(x, axis, 0)
    acc = x[0]
    running = [acc]
    for k in range(1, shape_of(x)[0]):
        acc = prim(acc, x[k])
        running.append(acc)
    if keep_all:
        return cnp.moveaxis(cnp.stack(running), 0, axis)
    return acc


def reduce(prim, array, axis=0, dtype=None, out=None, keepdims=False, initial=_NoValue,
           where=True):
    """``ufunc.reduce``: the mirror's reduction (``add``: ``sum``...) or a fold."""
    if not _has_tensor(array):
        return prim.fun.reduce(array, axis=axis, dtype=dtype, out=out, keepdims=keepdims,
                               initial=initial, where=where)
    red.no_out(f"{prim.__name__}.reduce", out)
    x = _as_input(array)
    known = _REDUCTIONS.get(prim.fun, (None, None))[0]
    if known is not None:
        kw = {} if initial is _NoValue else {"initial": initial}
        if dtype is not None and prim.fun is not np.maximum and prim.fun is not np.minimum:
            kw["dtype"] = dtype
        return known(x, axis=axis, keepdims=keepdims, where=where, **kw)
    if where is not True or initial is not _NoValue or dtype is not None:
        raise NotImplementedError(
            f"{prim.__name__}.reduce: where=, initial= and dtype= are supported on Tensors for "
            "add, multiply, maximum and minimum only"
        )
    ndim = len(shape_of(x))
    if ndim == 0:  # NumPy: the value itself, as its scalar
        return x[()]
    axes = tuple(range(ndim)) if axis is None else (
        (axis,) if isinstance(axis, int | np.integer) else tuple(axis))
    axes = sorted((_axis(a, ndim) for a in axes), reverse=True)
    if any(shape_of(x)[a] == 0 for a in axes):
        if prim.fun.identity is None:
            raise ValueError(f"zero-size array to reduction operation {prim.__name__} "
                             "which has no identity")
        # NumPy: the ufunc's identity (hypot's 0, logaddexp's -inf) over the result's shape
        return red.sum(x, axis=tuple(axes), keepdims=keepdims) * 0 + prim.fun.identity
    result = x
    for a in axes:
        result = _fold(prim, result, a, keep_all=False)
    if keepdims:
        result = cnp.reshape(result, tuple(1 if i in axes else n for i, n in enumerate(shape_of(x))))
    return result


def accumulate(prim, array, axis=0, dtype=None, out=None):
    """``ufunc.accumulate``: ``cumsum``/``cumprod`` for add/multiply, else a fold."""
    if not _has_tensor(array):
        return prim.fun.accumulate(array, axis=axis, dtype=dtype, out=out)
    red.no_out(f"{prim.__name__}.accumulate", out)
    x = _as_input(array)
    ndim = len(shape_of(x))
    if ndim == 0:
        raise TypeError("cannot accumulate on a scalar")
    known = _REDUCTIONS.get(prim.fun, (None, None))[1]
    if known is not None:
        return known(x, axis=axis, dtype=dtype)
    if dtype is not None:
        x = cnp.astype(x, dtype)
    if shape_of(x)[_axis(axis, ndim)] == 0:  # nothing to accumulate: the empty array
        return x
    return _fold(prim, x, _axis(axis, ndim), keep_all=True)


def attach() -> None:
    """Give every binary ufunc of the mirror NumPy's ``outer``, ``reduce`` and
    ``accumulate`` methods, differentiable; and every function of the mirror that stands
    for a ufunc the ufunc's attributes and its other methods: NumPy's, guarded
    (``add.at``, ``add.reduceat``) or, for the functions without derivatives
    (``logical_or.reduce``), reading plain values as those functions do."""
    for prim in ew._UFUNCS:
        if getattr(prim.fun, "nin", 0) == 2 and getattr(prim.fun, "nout", 0) == 1:
            prim.outer = functools.partial(outer, prim)
            prim.reduce = functools.partial(reduce, prim)
            prim.accumulate = functools.partial(accumulate, prim)
    for ufunc, fun in MIRROR_OF.items():
        if isinstance(ufunc, np.ufunc):
            give_ufunc_interface(fun, ufunc, guarded)
    for ufunc, fun in NONDIFF_OF.items():
        if isinstance(ufunc, np.ufunc):
            give_ufunc_interface(fun, ufunc, lambda method, name: unboxing(method))


attach()

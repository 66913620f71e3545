"""Undoing broadcasting, in one place.

A broadcast input receives, in the backward pass, a cotangent of the output's shape;
``unbroadcast`` sums it back to the input's shape. Forward mode needs the converse:
``broadcast_like`` spreads a tangent over the output's shape.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.backward import UNBROADCAST

__all__ = ["unbroadcast", "broadcast_like", "broadcast_view", "shape_of", "is_complex"]


def shape_of(x) -> tuple[int, ...]:
    """The shape of an array, Tensor, NumPy scalar or Python number."""
    try:
        return x.shape
    except AttributeError:
        return np.shape(x)


def is_complex(x) -> bool:
    try:
        return x.dtype.kind == "c"
    except AttributeError:
        return isinstance(x, complex)


def unbroadcast(g, target):
    """Sum the cotangent ``g`` down to the shape of ``target``; drop its imaginary part
    when ``target`` is real (the cotangent of a real input is real)."""
    try:  # the common case, checked first: same shape, no complex-to-real projection
        if g.shape == target.shape and (g.dtype.kind != "c" or target.dtype.kind == "c"):
            return g
    except AttributeError:
        pass
    shape = shape_of(target)
    gshape = shape_of(g)
    if len(gshape) < len(shape):  # a value with leading size-1 dims written into fewer (x[...] = v)
        g = cnp.reshape(g, (1,) * (len(shape) - len(gshape)) + tuple(gshape))
        gshape = shape_of(g)
    if gshape != shape:
        lead = len(gshape) - len(shape)
        kept = tuple(lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
        # (a plain array is summed by the call that cnp.sum makes of it, without the two
        # calls that find no trace to record it and no keyword NumPy's wrapper would add)
        total = np.add.reduce if g.__class__ is np.ndarray else cnp.sum
        if not lead:  # the same rank: summed with the axes kept, g has the shape already
            g = total(g, axis=kept, keepdims=True)
        else:
            g = total(g, axis=tuple(range(lead)) + kept)
        if shape_of(g) != shape:
            g = cnp.reshape(g, shape)
    if is_complex(g) and not is_complex(target):
        g = cnp.real(g)
    return g


UNBROADCAST[0] = unbroadcast  # the backward pass's, for elementwise functions


def broadcast_like(t, ans):
    """Spread the tangent ``t`` over the shape of ``ans`` where broadcasting widened it."""
    shape = shape_of(ans)
    if shape_of(t) != shape:
        t = cnp.broadcast_to(t, shape)
    return t


def broadcast_view(array, shape, subok=False):
    """``np.broadcast_to(array, shape)``: for a C-contiguous ndarray of numbers and a
    shape of positive ints that it broadcasts to, the same read-only view (same memory,
    strides 0 along the broadcast axes), made by one call of ``np.ndarray`` instead of
    NumPy's wrapper and its iterator (about 1 us less, as much as the multiplication it
    feeds on a small array: every sum's and mean's vjp broadcasts its cotangent). Every
    other call is NumPy's own, errors included. ``chainrule.jit`` records the NumPy
    function it stands for (``numpy_function``).

    >>> broadcast_view(np.array([[1.0], [2.0]]), (2, 3)).strides
    (8, 0)
    """
    if (array.__class__ is np.ndarray and shape.__class__ is tuple and not subok
            and array.dtype.kind in "biufc" and array.size and array.flags.c_contiguous):
        lead = len(shape) - array.ndim
        if lead >= 0 and all(n.__class__ is int and n > 0 for n in shape):
            strides = [0] * lead
            for n, m, stride in zip(array.shape, shape[lead:], array.strides, strict=True):
                if n == m:
                    strides.append(stride)
                elif n == 1:
                    strides.append(0)
                else:
                    break
            else:
                view = np.ndarray(shape, array.dtype, array, 0, tuple(strides))
                view.flags.writeable = False
                return view
    return np.broadcast_to(array, shape, subok=subok)


broadcast_view.numpy_function = np.broadcast_to

"""Finite differences along an axis: diff, ediff1d, gradient and unwrap."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.nondiff import every
from chainrule.numpy.registry import mirrors
from chainrule.numpy.shape.joining import (
    concatenate,
)
from chainrule.numpy.shape.primitives import (
    _along,
    _as_input,
    _axes,
    _axis,
    _dtype,
    _has_tensor,
    _ndim,
    broadcast_to,
    reshape,
)

__all__ = [
    "diff",
    "ediff1d",
    "gradient",
    "unwrap",
]


_NO_VALUE = getattr(np, "_NoValue", object())


@mirrors(np.diff, "shape")
def diff(a, n: int = 1, axis: int = -1, prepend=_NO_VALUE, append=_NO_VALUE):
    if not _has_tensor([a, prepend, append]):
        kw = {k: v for k, v in (("prepend", prepend), ("append", append)) if v is not _NO_VALUE}
        return np.diff(a, n, axis, **kw)
    if n == 0:
        return a
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}")
    a = _as_input(a)
    nd = _ndim(a)
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = _axis(axis, nd)
    parts = []
    for extra in (prepend, None, append):
        if extra is None:
            parts.append(a)
        elif extra is not _NO_VALUE:
            extra = _as_input(extra)
            if _ndim(extra) == 0:
                shape = list(shape_of(a))
                shape[axis] = 1
                extra = broadcast_to(extra, tuple(shape))
            parts.append(extra)
    if len(parts) > 1:
        a = concatenate(parts, axis)
    for _ in range(n):  # of bools, where they differ, as NumPy's
        later, earlier = _along(a, axis, slice(1, None)), _along(a, axis, slice(None, -1))
        a = (later != earlier) if np.dtype(a.dtype) == np.bool_ else later - earlier
    return a


def _spacing_along(d, axis: int, nd: int):
    """A 1-d array of spacings shaped to broadcast along ``axis``."""
    return reshape(d, (1,) * axis + (-1,) + (1,) * (nd - axis - 1)) if _ndim(d) else d


def _gradient_along(f, axis: int, dx, edge_order: int, nd: int):
    def at(i):
        return _along(f, axis, i)

    def first(i):  # keep the axis, so edges and interior concatenate
        return _along(f, axis, slice(i, i + 1) if i != -1 else slice(-1, None))

    if _ndim(dx) == 0:
        interior = (at(slice(2, None)) - at(slice(None, -2))) / (2.0 * dx)
        if edge_order == 1:
            lo = (first(1) - first(0)) / dx
            hi = (first(-1) - first(-2)) / dx
        else:
            lo = (-1.5 * first(0) + 2.0 * first(1) - 0.5 * first(2)) / dx
            hi = (0.5 * first(-3) - 2.0 * first(-2) + 1.5 * first(-1)) / dx
    else:
        dx1 = _spacing_along(dx[:-1], axis, nd)
        dx2 = _spacing_along(dx[1:], axis, nd)
        a = -dx2 / (dx1 * (dx1 + dx2))
        b = (dx2 - dx1) / (dx1 * dx2)
        c = dx1 / (dx2 * (dx1 + dx2))
        interior = a * at(slice(None, -2)) + b * at(slice(1, -1)) + c * at(slice(2, None))
        if edge_order == 1:
            lo = (first(1) - first(0)) / dx[0]
            hi = (first(-1) - first(-2)) / dx[-1]
        else:
            d1, d2 = dx[0], dx[1]
            lo = (-(2.0 * d1 + d2) / (d1 * (d1 + d2)) * first(0) + (d1 + d2) / (d1 * d2) * first(1)
                  - d1 / (d2 * (d1 + d2)) * first(2))
            d1, d2 = dx[-2], dx[-1]
            hi = (d2 / (d1 * (d1 + d2)) * first(-3) - (d2 + d1) / (d1 * d2) * first(-2)
                  + (2.0 * d2 + d1) / (d2 * (d1 + d2)) * first(-1))
    return concatenate([lo, interior, hi], axis)


@mirrors(np.gradient, "shape")
def gradient(f, *varargs, axis=None, edge_order: int = 1):
    """``np.gradient``: central differences inside, one-sided at the edges; spacings may
    be scalars or coordinate arrays, and differentiate too when they are Tensors."""
    if not _has_tensor([f, *varargs]):
        return np.gradient(f, *varargs, axis=axis, edge_order=edge_order)
    f = _as_input(f)
    if np.issubdtype(_dtype(f), np.integer):  # NumPy: in float64, not wrapping around
        f = cnp.astype(f, np.float64)
    varargs = tuple(_as_input(v) for v in varargs)  # coordinates as lists holding Tensors
    shape = shape_of(f)
    nd = len(shape)
    axes = tuple(range(nd)) if axis is None else _axes(axis, nd)
    n = len(varargs)
    if n == 0:
        dx = [1.0] * len(axes)
    elif n == 1 and _ndim(varargs[0]) == 0:
        dx = [varargs[0]] * len(axes)
    elif n == len(axes):
        dx = []
        for i, d in enumerate(varargs):
            d = _as_input(d)
            if _ndim(d) == 0:
                dx.append(d)
                continue
            if _ndim(d) != 1:
                raise ValueError("distances must be either scalars or 1d")
            if shape_of(d)[0] != shape[axes[i]]:
                raise ValueError(
                    "when 1d, distances must match the length of the corresponding dimension"
                )
            if not isinstance(d, Tensor):
                d = np.asarray(d)
            if np.issubdtype(_dtype(d), np.integer):
                d = d.astype(np.float64)
            steps = diff(d)
            plain_steps = undifferentiated(steps)
            # (under vmap: uniform in every example, else NumPy's formula for uneven steps)
            uniform = shape_of(steps)[0] and every(plain_steps == plain_steps[0])
            dx.append(steps[0] if uniform else steps)
    else:
        raise TypeError("invalid number of arguments")
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    out = []
    for ax, d in zip(axes, dx, strict=True):
        if shape[ax] < edge_order + 1:
            raise ValueError(
                "Shape of array too small to calculate a numerical gradient, "
                "at least (edge_order + 1) elements are required."
            )
        out.append(_gradient_along(f, ax, d, edge_order, nd))
    return out[0] if len(out) == 1 else tuple(out)


@mirrors(np.ediff1d, "shape")
def ediff1d(ary, to_end=None, to_begin=None):
    """``np.ediff1d``: the differences of the flattened array, with ``to_begin`` and
    ``to_end`` around them (all three differentiable)."""
    if not _has_tensor([ary, to_end, to_begin]):
        return np.ediff1d(ary, to_end=to_end, to_begin=to_begin)
    flat = reshape(_as_input(ary), (-1,))
    dtype = _dtype(flat)
    parts = []
    for name, extra in (("to_begin", to_begin), (None, None), ("to_end", to_end)):
        if name is None:
            parts.append(flat[1:] - flat[:-1])
        elif extra is not None:
            extra = reshape(_as_input(extra), (-1,))
            if not np.can_cast(_dtype(extra), dtype, casting="same_kind"):
                raise TypeError(f"dtype of `{name}` must be compatible with input `ary` under "
                                "the `same_kind` rule.")
            parts.append(cnp.astype(extra, dtype) if _dtype(extra) != dtype else extra)
    return concatenate(parts) if len(parts) > 1 else parts[0]


@mirrors(np.unwrap, "shape")
def unwrap(p, discont=None, axis=-1, *, period=2 * np.pi):
    """``np.unwrap``: ``p`` plus NumPy's corrections by multiples of the period, which
    are piecewise constant (so the derivative is the identity, as in JAX)."""
    if not _has_tensor(p):
        return np.unwrap(p, discont, axis, period=period)
    p = _as_input(p)
    axis = _axis(axis, _ndim(p))
    # the corrections, from the values alone (NumPy's own code on them)
    pv = undifferentiated(p)
    corrected = np.unwrap(pv, discont, axis, period=period) if not isinstance(pv, Tensor) else (
        _unwrap_traced(pv, discont, axis, period))
    if _dtype(p).kind not in "fc":
        return corrected  # (booleans, integers: no derivative to pass, NumPy's dtype)
    # NumPy's values (p itself where nothing is corrected: -0.0, inf); the derivative of p
    # passes through
    kept = (corrected == pv) & (cnp.signbit(corrected) == cnp.signbit(pv))
    return cnp.where(kept, p, corrected + (p - pv))


def _unwrap_traced(p, discont, axis, period):
    """NumPy's unwrap written with the mirror (a batch under vmap, a traced value): its
    dtype too (an integer one for integers and an integer period, booleans differenced
    as NumPy's diff does)."""
    dd = cnp.diff(p, axis=axis)
    if discont is None:
        discont = period / 2
    dtype = np.result_type(_dtype(dd), period)
    if np.issubdtype(dtype, np.integer):
        interval_high, rem = divmod(period, 2)
        ambiguous = rem == 0
    else:
        interval_high, ambiguous = period / 2, True
    ddmod = cnp.mod(dd - (-interval_high), period) + (-interval_high)
    if ambiguous:
        ddmod = cnp.where((ddmod == -interval_high) & (dd > 0), interval_high, ddmod)
    ph_correct = cnp.where(cnp.abs(dd) < discont, 0, ddmod - dd)
    # (the first entries are NumPy's copy of p's: -0.0 + 0.0 would lose the sign)
    parts = [_along(p, axis, slice(0, 1)), _along(p, axis, slice(1, None)) + cnp.cumsum(ph_correct, axis=axis)]
    return concatenate([x if _dtype(x) == dtype else cnp.astype(x, dtype) for x in parts], axis=axis)

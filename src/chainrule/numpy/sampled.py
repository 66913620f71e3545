"""Functions of sampled data: ``interp`` (piecewise-linear interpolation) and
``trapezoid`` (the trapezoidal rule; ``trapz`` where NumPy still has it).

Both are written with differentiable primitives as NumPy computes them, so the values
are NumPy's and the derivatives follow in both modes, to any order, and under vmap.
``interp`` is differentiable in the query points, the sample points and the values; the
interval a point falls in is found by ``searchsorted`` (no derivative), and at a sample
point the derivative in ``x`` is the slope of the interval to its right, as in JAX.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.nondiff import anywhere
from chainrule.numpy.registry import mirrors, optional
from chainrule.numpy.shape.primitives import _as_input, _axis, _has_tensor

__all__ = ["interp", "trapezoid"]


def _dtype_of(x) -> np.dtype:
    return np.dtype(x.dtype if hasattr(x, "dtype") else np.result_type(x))


@mirrors(np.interp, "sampled")
def interp(x, xp, fp, left=None, right=None, period=None):
    """``np.interp``: differentiable in ``x``, ``xp``, ``fp``, ``left`` and ``right``.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> float(cr.grad(cnp.interp)(1.5, cnp.array([1.0, 2.0]), cnp.array([0.0, 4.0])))
    4.0
    """
    if not _has_tensor([x, xp, fp, left, right]):
        return np.interp(x, xp, fp, left, right, period)
    # (a list holding Tensors, [t, 2 * t], stacked into one)
    x, xp, fp = (a if isinstance(a, Tensor) else np.asarray(a) for a in map(_as_input, (x, xp, fp)))
    for name, a in (("x", x), ("xp", xp)):
        if _dtype_of(a).kind == "c":  # NumPy's refusal
            raise TypeError(f"interp: {name} must be real; NumPy cannot cast complex values to float64")
    complex_fp = _dtype_of(fp).kind == "c"
    out_dtype = np.complex128 if complex_fp else np.float64
    x = cnp.astype(x, np.float64) if _dtype_of(x) != np.float64 else x
    xp = cnp.astype(xp, np.float64) if _dtype_of(xp) != np.float64 else xp
    fp = cnp.astype(fp, out_dtype) if _dtype_of(fp) != out_dtype else fp
    if len(shape_of(xp)) != 1 or len(shape_of(fp)) != 1:
        raise ValueError("interp: data points must be 1-D sequences (xp and fp)")
    if shape_of(xp)[0] != shape_of(fp)[0]:
        raise ValueError("interp: fp and xp are not of the same length")
    if shape_of(xp)[0] == 0:
        raise ValueError("interp: array of sample points is empty")
    if period is not None:
        x, xp, fp = _periodic(x, xp, fp, period)
        left = right = None
    out = _interp_sorted(x, xp, fp, left, right)
    return out[()] if shape_of(out) == () else out  # a NumPy scalar for a scalar x, as NumPy's


def _periodic(x, xp, fp, period):
    """NumPy's periodic form: everything taken modulo the period, the samples sorted and
    extended by one period-shifted sample at each end."""
    if np.all(np.asarray(undifferentiated(period)) == 0):
        raise ValueError("interp: period must be a non-zero value")
    period = cnp.abs(period)
    x = x % period
    xp = xp % period
    order = cnp.argsort(undifferentiated(xp))
    xp, fp = xp[order], fp[order]
    xp = cnp.concatenate((xp[-1:] - period, xp, xp[0:1] + period))
    fp = cnp.concatenate((fp[-1:], fp, fp[0:1]))
    return x, xp, fp


def _interp_sorted(x, xp, fp, left, right):
    n = shape_of(xp)[0]
    first, last = fp[0], fp[-1]
    if n == 1:
        below, above = first, last
        result = cnp.broadcast_to(first, shape_of(x)) + 0 * x
    else:
        # the interval [xp[j], xp[j+1]) that holds x (the last one for x = xp[-1])
        j = cnp.clip(cnp.searchsorted(undifferentiated(xp), undifferentiated(x), side="right") - 1,
                     0, n - 2)
        x0, x1 = cnp.take(xp, j), cnp.take(xp, j + 1)  # (take: j may be batched under vmap)
        f0, f1 = cnp.take(fp, j), cnp.take(fp, j + 1)
        slope = (f1 - f0) / (x1 - x0)
        # anchored at the left end of the interval (at the last sample, the right end), so
        # a sample point gets its own value exactly and the derivative the slope in x
        at_end = x == x1
        result = cnp.where(at_end, slope * (x - x1) + f1, slope * (x - x0) + f0)
        nan = cnp.isnan(undifferentiated(result))
        if anywhere(nan):  # NumPy's order for an infinite slope or value:
            # a sample point gets its value; otherwise from the other end; if that fails
            # too, a flat interval its value
            from_right = slope * (x - x1) + f1
            flat = cnp.isnan(undifferentiated(from_right)) & (undifferentiated(f0) == undifferentiated(f1))
            otherwise = cnp.where(flat, f0, from_right)
            knot = cnp.where(at_end, f1, f0)
            result = cnp.where(nan, cnp.where(at_end | (x == x0), knot, otherwise), result)
    below = first if left is None else left
    above = last if right is None else right
    result = cnp.where(x < xp[0], below, result)
    result = cnp.where(x > xp[-1], above, result)
    return result


@mirrors(optional(np, "trapezoid"), "sampled", "trapezoid")
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """``np.trapezoid``: differentiable in ``y``, ``x`` and ``dx``.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> cr.grad(cnp.trapezoid)(cnp.array([1.0, 2.0, 4.0]))
    array([0.5, 1. , 0.5])
    """
    if not _has_tensor([y, x, dx]):
        return _np_trapezoid(y, x=x, dx=dx, axis=axis)
    y = _as_input(y)
    nd = len(shape_of(y))
    y_axis = _axis(axis, nd)  # (x and the sum count ``axis`` as given: x may have more axes than y)
    if x is None:
        d = dx
    else:
        x = _as_input(x)
        if len(shape_of(x)) == 1:
            d = cnp.diff(x)
            d = cnp.reshape(d, tuple(shape_of(d)[0] if i == y_axis else 1 for i in range(nd)))
        else:
            d = cnp.diff(x, axis=axis)
    upper = (slice(None),) * y_axis + (slice(1, None),)
    lower = (slice(None),) * y_axis + (slice(None, -1),)
    return cnp.sum(d * (y[upper] + y[lower]) / 2.0, axis=axis)


def _np_trapezoid(y, x=None, dx=1.0, axis=-1):
    return (np.trapezoid if hasattr(np, "trapezoid") else np.trapz)(y, x=x, dx=dx, axis=axis)


if optional(np, "trapz") is not None:  # NumPy < 2.4 (deprecated since 2.0)
    trapz = mirrors(np.trapz, "sampled", "trapz")(
        lambda y, x=None, dx=1.0, axis=-1: trapezoid(y, x=x, dx=dx, axis=axis))
    __all__.append("trapz")

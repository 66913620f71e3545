"""Arrays made from values that may be differentiated: ``full``, ``linspace``,
``logspace``, ``geomspace``, ``make_diagonal`` (HIPS autograd's complement of ``diagonal``).

On plain values each is NumPy's own function (its result bit for bit); given a Tensor,
it is built from differentiable pieces, so every mode and order follows.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import as_array_if_holds_tensor, def_batch
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy.batching import align
from chainrule.numpy.broadcasting import broadcast_like, shape_of, unbroadcast
from chainrule.numpy.nondiff import NONDIFF_OF, anywhere
from chainrule.numpy.registry import mirrors, wrap

__all__ = ["full", "full_like", "linspace", "logspace", "geomspace", "make_diagonal"]


@mirrors(np.full, "shape")
def full(shape, fill_value, dtype=None, order="C", **kwargs):
    """``np.full``; differentiable in ``fill_value``.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> float(cr.grad(lambda a: cnp.sum(cnp.full((3,), a)))(2.0))
    3.0
    """
    if not isinstance(fill_value, Tensor):
        return np.full(shape, fill_value, dtype=dtype, order=order, **kwargs)
    out = cnp.copy(cnp.broadcast_to(fill_value, shape))
    if dtype is not None and np.dtype(dtype) != out.dtype:
        out = cnp.astype(out, dtype)
    return out


@mirrors(np.full_like, "shape")
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, **kwargs):
    """``np.full_like``: ``fill_value`` in ``a``'s shape and dtype; differentiable in
    ``fill_value`` (``a`` gives only its shape and dtype).

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> float(cr.grad(lambda v: cnp.sum(cnp.full_like(cnp.zeros(3), v)))(2.0))
    3.0
    """
    fill_value = as_array_if_holds_tensor(fill_value)
    if not isinstance(fill_value, Tensor):
        return NONDIFF_OF[np.full_like](a, fill_value, dtype=dtype, order=order, subok=subok,
                                        shape=shape, **kwargs)
    if isinstance(dtype, Tensor | np.ndarray):  # (np.dtype would read its .dtype)
        raise TypeError("full_like: cannot construct a dtype from an array; give dtype=arr.dtype")
    out = cnp.copy(cnp.broadcast_to(fill_value, shape_of(a) if shape is None else shape))
    dtype = np.dtype(dtype if dtype is not None else undifferentiated(a).dtype
                     if isinstance(a, Tensor) else np.asarray(a).dtype)
    return out if out.dtype == dtype else cnp.astype(out, dtype)


def _weights(num, endpoint, ans, axis):
    """∂ans/∂stop: the fraction of the way from start to stop of each point, laid along
    ``axis`` of ``ans`` (∂ans/∂start is one minus it), in the dtype of ``ans``."""
    dtype = ans.dtype if ans.dtype.kind in "fc" else np.float64
    w = np.linspace(0.0, 1.0, num, endpoint=endpoint).astype(dtype)
    ndim = len(shape_of(ans))
    return w.reshape([num if i == axis % ndim else 1 for i in range(ndim)])


_linspace = wrap(np.linspace, "shape", "linspace", public=False)


def _linspace_vjp(side):
    def rule(g, ans, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
        w = _weights(num, endpoint, ans, axis)
        x = stop if side else start
        return unbroadcast(cnp.sum(g * (w if side else 1 - w), axis=axis), x)

    return rule


def _linspace_jvp(side):
    def rule(t, ans, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
        w = _weights(num, endpoint, ans, axis)
        return broadcast_like(cnp.expand_dims(t, axis) * (w if side else 1 - w), ans)

    return rule


def _linspace_batch(prim, batched, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    # the points' axis counted in one example's result: one further with the batch in front
    start, stop = align([start, stop], batched[:2])
    return prim(start, stop, num, endpoint, retstep, dtype, axis + 1 if axis >= 0 else axis)


_linspace.vjps.update({0: _linspace_vjp(0), 1: _linspace_vjp(1)})
_linspace.jvps.update({0: _linspace_jvp(0), 1: _linspace_jvp(1)})
def_batch(_linspace_batch, _linspace)


@mirrors(np.linspace, "shape")
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, **kwargs):
    """``np.linspace``; differentiable in ``start`` and ``stop``.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> cr.elementwise_grad(lambda a: cnp.linspace(a, 1.0, 5))(0.0)
    np.float64(2.5)
    """
    start, stop = as_array_if_holds_tensor(start), as_array_if_holds_tensor(stop)  # [x[0], 1.0]
    if not isinstance(start, Tensor) and not isinstance(stop, Tensor):
        return np.linspace(start, stop, num, endpoint, retstep, dtype, axis, **kwargs)
    if kwargs:
        raise TypeError(f"linspace: unexpected arguments {sorted(kwargs)}")
    out = _linspace(start, stop, num, endpoint, False, None, axis)
    div = num - 1 if endpoint else num
    # (NumPy's step is in the points' own dtype; none (NaN) for 0 points, or 1 with the end)
    step = (cnp.astype(stop, out.dtype) - start) / div if div > 0 else np.nan
    if dtype is not None and np.dtype(dtype) != out.dtype:
        if np.issubdtype(dtype, np.integer):  # NumPy rounds toward -inf for integers
            out = cnp.floor(out)
        out = cnp.astype(out, dtype)
    return (out, step) if retstep else out


def _dtype(x) -> np.dtype:
    return np.dtype(x.dtype if hasattr(x, "dtype") else np.result_type(x))


def _with_ndim(a, ndim: int):
    """``a`` with leading axes of length 1 up to ``ndim`` axes (NumPy's ``ndmin``)."""
    shape = shape_of(a)
    return cnp.reshape(a, (1,) * (ndim - len(shape)) + shape) if len(shape) < ndim else a


@mirrors(np.logspace, "shape")
def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``np.logspace``: ``base ** linspace(start, stop)``; differentiable in ``start``,
    ``stop`` and ``base``.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> cnp.logspace(cr.tensor(0.0), 2.0, 3).tolist()
    [1.0, 10.0, 100.0]
    """
    start, stop, base = (as_array_if_holds_tensor(a) for a in (start, stop, base))
    if not any(isinstance(a, Tensor) for a in (start, stop, base)):
        return np.logspace(start, stop, num, endpoint, base, dtype, axis)
    if not isinstance(base, float | int) and np.ndim(base):
        # a base array broadcasts with start and stop, which decides where axis is
        ndmax = max(len(shape_of(a)) for a in (start, stop, base))
        start, stop, base = (_with_ndim(a, ndmax) if isinstance(a, Tensor) else
                             np.array(a, copy=None, subok=True, ndmin=ndmax) for a in (start, stop, base))
        base = cnp.expand_dims(base, axis)
    y = linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    out = cnp.power(base, y)
    return out if dtype is None or np.dtype(dtype) == out.dtype else cnp.astype(out, dtype)


@mirrors(np.geomspace, "shape")
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``np.geomspace``: a geometric sequence from ``start`` to ``stop`` (negative and
    complex ends as NumPy's), the ends exactly ``start`` and ``stop``; differentiable in both.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> cnp.geomspace(cr.tensor(1.0), 8.0, 4).tolist()
    [1.0, 2.0, 4.0, 8.0]
    """
    start, stop = as_array_if_holds_tensor(start), as_array_if_holds_tensor(stop)
    if not isinstance(start, Tensor) and not isinstance(stop, Tensor):
        return np.geomspace(start, stop, num, endpoint, dtype, axis)
    start, stop = (a if isinstance(a, Tensor) else np.asanyarray(a) for a in (start, stop))
    if anywhere(start == 0) or anywhere(stop == 0):
        raise ValueError("Geometric sequence cannot include zero")
    dt = np.result_type(_dtype(start), _dtype(stop), float(num), np.zeros((), dtype))
    dtype = dt if dtype is None else np.dtype(dtype)
    # (broadcast together: NumPy writes start and stop into the ends of the result)
    start, stop = cnp.broadcast_arrays(cnp.astype(start, dt), cnp.astype(stop, dt))
    # NumPy's rotation of start to the positive real axis (and back after): the sign is
    # locally constant, and the sequence does not depend on it, so it is a constant here
    out_sign = cnp.sign(undifferentiated(start))
    start = start / out_sign
    stop = stop / out_sign
    result = logspace(cnp.log10(start), cnp.log10(stop), num=num, endpoint=endpoint,
                      base=10.0, dtype=dt)
    if num > 0:  # the ends exactly start and stop (exp(log(x)) need not be x)
        ends = cnp.concatenate([cnp.expand_dims(start, 0)] + ([result[1:-1], cnp.expand_dims(
            stop, 0)] if num > 1 and endpoint else [result[1:]]), axis=0)
        result = ends
    result = result * out_sign
    if axis != 0:
        result = cnp.moveaxis(result, 0, axis)
    return result if result.dtype == dtype else cnp.astype(result, dtype)


def make_diagonal(D, offset=0, axis1=0, axis2=1):
    """HIPS autograd's ``make_diagonal``: an array whose last two axes hold ``D``'s last
    axis on their diagonal (the complement of ``diagonal(A, 0, -1, -2)``). As in autograd
    only ``offset=0, axis1=-1, axis2=-2`` is supported.

    >>> import chainrule.numpy as cnp, numpy as np
    >>> cnp.make_diagonal(np.array([1.0, 2.0]), axis1=-1, axis2=-2)
    array([[1., 0.],
           [0., 2.]])
    """
    if not (offset == 0 and axis1 == -1 and axis2 == -2):
        raise NotImplementedError("Currently make_diagonal only supports offset=0, axis1=-1, axis2=-2")
    n = shape_of(D)[-1]
    dtype = D.dtype if hasattr(D, "dtype") else np.result_type(D)
    return cnp.expand_dims(D, -1) * np.eye(n, dtype=dtype)

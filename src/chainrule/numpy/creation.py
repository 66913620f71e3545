"""Arrays made from values that may be differentiated: ``full``, ``linspace``,
``make_diagonal`` (HIPS autograd's complement of ``diagonal``).

On plain values each is NumPy's own function (its result bit for bit); given a Tensor,
it is built from differentiable pieces, so every mode and order follows.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import def_batch
from chainrule.core.tensor import Tensor
from chainrule.numpy.batching import align
from chainrule.numpy.broadcasting import broadcast_like, shape_of, unbroadcast
from chainrule.numpy.registry import mirrors, wrap

__all__ = ["full", "linspace", "make_diagonal"]


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
    if not isinstance(start, Tensor) and not isinstance(stop, Tensor):
        return np.linspace(start, stop, num, endpoint, retstep, dtype, axis, **kwargs)
    if kwargs:
        raise TypeError(f"linspace: unexpected arguments {sorted(kwargs)}")
    out = _linspace(start, stop, num, endpoint, False, None, axis)
    if dtype is not None and np.dtype(dtype) != out.dtype:
        out = cnp.astype(out, dtype)
    if retstep:
        return out, (stop - start) / max(num - 1 if endpoint else num, 1)
    return out


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

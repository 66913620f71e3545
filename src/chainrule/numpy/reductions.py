"""Reductions: sum, mean, prod, max, min, var, std, cumulative sums and their kin.

A reduction's cotangent is spread back over the axes it reduced (``expand_reduced``).
"""

from __future__ import annotations

import numpy as np

from chainrule.core.primitive import def_linear, def_vjps
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.registry import wrap

import chainrule.numpy as cnp


def size_of(x) -> int:
    return int(np.prod(shape_of(x)))


def reduced_axes(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, an int or a tuple, negatives allowed) as sorted non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int | np.integer):
        axis = (axis,)
    return tuple(sorted(int(a) % ndim if ndim else 0 for a in axis))


def expand_reduced(g, x, axis=None, keepdims=False):
    """Broadcast the cotangent of a reduction back to the shape of its input ``x``."""
    shape = shape_of(x)
    if not keepdims and shape_of(g) != shape:
        axes = reduced_axes(axis, len(shape))
        g = cnp.reshape(g, tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return cnp.broadcast_to(g, shape)


def reduction(np_fun, name=None):
    return wrap(np_fun, "reductions", name)


sum = reduction(np.sum)
def_vjps(sum, lambda g, ans, x, axis=None, dtype=None, keepdims=False, **kw:
         expand_reduced(g, x, axis, keepdims))
def_linear(sum)

mean = reduction(np.mean)
def_vjps(mean, lambda g, ans, x, axis=None, dtype=None, keepdims=False, **kw:
         expand_reduced(g, x, axis, keepdims) * (size_of(ans) / size_of(x)))
def_linear(mean)

__all__ = ["sum", "mean"]

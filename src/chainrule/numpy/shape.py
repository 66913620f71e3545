"""Shape changes and indexing: the functions that move values without changing them.

Most are linear, so their jvp is the function itself applied to the tangent, and their
vjp moves the cotangent back to where each value came from.
"""

from __future__ import annotations

import numpy as np

from chainrule.core.primitive import def_linear, def_vjps
from chainrule.numpy.broadcasting import shape_of, unbroadcast
from chainrule.numpy.registry import mirrors, wrap


def shape_op(np_fun, name=None):
    return wrap(np_fun, "shape", name)


reshape = shape_op(np.reshape)
def_vjps(reshape, lambda g, ans, x, shape, **kw: reshape(g, shape_of(x)))
def_linear(reshape)

broadcast_to = shape_op(np.broadcast_to)
def_vjps(broadcast_to, lambda g, ans, x, shape, **kw: unbroadcast(g, x))
def_linear(broadcast_to)

transpose = shape_op(np.transpose)
def_vjps(transpose, lambda g, ans, x, axes=None: transpose(g, None if axes is None else np.argsort(axes)))
def_linear(transpose)


def _getitem(x, index):
    return x[index]


getitem = shape_op(_getitem, "getitem")


def _scatter_add(g, index, shape):
    out = np.zeros(shape, dtype=np.result_type(g))
    np.add.at(out, index, g)
    return out


scatter_add = shape_op(_scatter_add, "scatter_add")
def_vjps(getitem, lambda g, ans, x, index: scatter_add(g, index, shape_of(x)))
def_linear(getitem)
def_vjps(scatter_add, lambda g, ans, gi, index, shape: getitem(g, index))
def_linear(scatter_add)



swapaxes = shape_op(np.swapaxes)
def_vjps(swapaxes, lambda g, ans, x, axis1, axis2: swapaxes(g, axis1, axis2))
def_linear(swapaxes)

expand_dims = shape_op(np.expand_dims)
def_vjps(expand_dims, lambda g, ans, x, axis: reshape(g, shape_of(x)))
def_linear(expand_dims)

__all__ = ["reshape", "broadcast_to", "transpose", "getitem", "swapaxes", "expand_dims"]

"""Products: dot, matmul, einsum and their kin."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import def_jvps, def_vjps
from chainrule.numpy.broadcasting import shape_of, unbroadcast
from chainrule.numpy.registry import wrap

__all__ = ["matmul"]


def product(np_fun, name=None):
    return wrap(np_fun, "products", name)


def mT(a):
    """Swap the last two axes (the matrix transpose of a stack of matrices)."""
    return cnp.swapaxes(a, -1, -2)


def as_matrices(g, x, y):
    """Vectors in a matmul act as a 1×n row (left) or n×1 column (right)."""
    if len(shape_of(x)) == 1:
        x = cnp.reshape(x, (1, -1))
        g = cnp.expand_dims(g, -2)
    if len(shape_of(y)) == 1:
        y = cnp.reshape(y, (-1, 1))
        g = cnp.expand_dims(g, -1)
    return g, x, y


def matmul_vjp_x(g, ans, x, y):
    if len(shape_of(x)) > 1 and len(shape_of(y)) > 1:
        return unbroadcast(cnp.matmul(g, mT(y)), x)
    g, x2, y = as_matrices(g, x, y)
    return cnp.reshape(unbroadcast(cnp.matmul(g, mT(y)), x2), shape_of(x))


def matmul_vjp_y(g, ans, x, y):
    if len(shape_of(x)) > 1 and len(shape_of(y)) > 1:
        return unbroadcast(cnp.matmul(mT(x), g), y)
    g, x, y2 = as_matrices(g, x, y)
    return cnp.reshape(unbroadcast(cnp.matmul(mT(x), g), y2), shape_of(y))


matmul = product(np.matmul)
def_vjps(matmul, matmul_vjp_x, matmul_vjp_y)
def_jvps(matmul, lambda t, ans, x, y: cnp.matmul(t, y), lambda t, ans, x, y: cnp.matmul(x, t))

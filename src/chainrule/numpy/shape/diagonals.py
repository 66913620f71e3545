"""Diagonals and triangles: diag, diagflat, trace, tril, triu."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.registry import mirrors
from chainrule.numpy.shape.primitives import (
    _as_input,
    _diag_scatter,
    _dtype,
    _has_tensor,
    _ndim,
    _no_out,
    _zeros,
    diagonal,
)
from chainrule.numpy.shape.reshaping import ravel

__all__ = [
    "diag",
    "diagflat",
    "trace",
    "tril",
    "triu",
]


@mirrors(np.diag, "shape")
def diag(v, k: int = 0):
    if not _has_tensor(v):
        return np.diag(v, k)
    v = _as_input(v)
    nd = _ndim(v)
    if nd == 1:
        n = shape_of(v)[0] + abs(k)
        return _diag_scatter(v, shape=(n, n), offset=k)
    if nd == 2:
        return diagonal(v, k)
    raise ValueError("Input must be 1- or 2-d.")


@mirrors(np.diagflat, "shape")
def diagflat(v, k: int = 0):
    if not _has_tensor(v):
        return np.diagflat(v, k)
    v = ravel(_as_input(v))
    n = shape_of(v)[0] + abs(k)
    return _diag_scatter(v, shape=(n, n), offset=k)


@mirrors(np.trace, "shape")
def trace(a, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype=None, out=None):
    if not _has_tensor(a):
        return np.trace(a, offset, axis1, axis2, dtype, out)
    _no_out("trace", out)
    return cnp.sum(diagonal(_as_input(a), offset, axis1, axis2), axis=-1, dtype=dtype)


@mirrors(np.tril, "shape")
def tril(m, k: int = 0):
    if not _has_tensor(m):
        return np.tril(m, k)
    m = _as_input(m)
    mask = np.tri(*shape_of(m)[-2:], k=k, dtype=bool)
    return cnp.where(mask, m, _zeros(1, _dtype(m)))


@mirrors(np.triu, "shape")
def triu(m, k: int = 0):
    if not _has_tensor(m):
        return np.triu(m, k)
    m = _as_input(m)
    mask = np.tri(*shape_of(m)[-2:], k=k - 1, dtype=bool)
    return cnp.where(mask, _zeros(1, _dtype(m)), m)

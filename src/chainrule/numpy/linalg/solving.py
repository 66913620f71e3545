"""Inverses, solves and determinants."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.core.primitive import def_batch, def_jvps, def_vjps
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import is_complex, shape_of, unbroadcast
from chainrule.numpy.linalg.common import (
    _T,
    _col,
    _la,
    _row,
    _trace,
    _vjp_by_transposing,
    linalg_op,
)
from chainrule.numpy.products import matmul

__all__ = [
    "inv",
    "solve",
    "slogdet",
]


inv = linalg_op(_la.inv)
def_vjps(inv, lambda g, ans, a: -matmul(matmul(_T(ans), g), _T(ans)))
def_jvps(inv, lambda t, ans, a: -matmul(matmul(ans, t), ans))


# NumPy 2 takes b as a vector exactly when it is 1-D (a stack of vectors is a matrix).
def solve_vjp_a(g, ans, a, b):
    if len(shape_of(b)) == 1:
        return unbroadcast(-matmul(solve(_T(a), _col(g)), _row(ans)), a)
    return unbroadcast(-matmul(solve(_T(a), g), _T(ans)), a)


def solve_vjp_b(g, ans, a, b):
    if len(shape_of(b)) == 1:
        return unbroadcast(solve(_T(a), _col(g))[..., 0], b)
    return unbroadcast(solve(_T(a), g), b)


def solve_jvp_a(t, ans, a, b):
    if len(shape_of(b)) == 1:
        return solve(a, -matmul(t, _col(ans)))[..., 0]
    return solve(a, -matmul(t, ans))


def solve_jvp_b(t, ans, a, b):
    if len(shape_of(b)) == 1:
        return solve(a, _col(t))[..., 0]
    return solve(a, t)


solve = linalg_op(_la.solve)
def_vjps(solve, solve_vjp_a, solve_vjp_b)
def_jvps(solve, solve_jvp_a, solve_jvp_b)

def slogdet_jvp(t, ans, a):
    sign, _ = ans
    tr = _trace(solve(a, t))  # d log det a
    if not is_complex(a):
        return cnp.zeros_like(sign), tr
    return sign * (1j * cnp.imag(tr)), cnp.real(tr)


def slogdet_vjp(g, ans, a):
    if is_complex(a):
        return _slogdet_vjp_complex(g, ans, a)
    g_logabs = g[1]
    if g_logabs is None:  # the sign of a real determinant is locally constant
        return cnp.zeros_like(a)
    return _col(_col(g_logabs)) * _T(inv(a))


_slogdet_vjp_complex = _vjp_by_transposing(slogdet_jvp)
slogdet = linalg_op(_la.slogdet, multiple_outputs=True)
def_vjps(slogdet, slogdet_vjp)
def_jvps(slogdet, slogdet_jvp)


# Batching rules for vmap: NumPy's linalg maps over leading axes already.
def_batch(batching.stacked, inv, slogdet)
def_batch(batching.solve, solve)

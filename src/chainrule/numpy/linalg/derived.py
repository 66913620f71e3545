"""Functions built from the others (matrix powers, chained products, tensor solves), the
array API's spellings of NumPy functions, and ``matrix_rank`` (not differentiable)."""

from __future__ import annotations

import operator

import numpy as np

import chainrule.numpy as cnp
from chainrule.numpy import products
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.linalg.common import (
    _T,
    _diag,
    _dtype,
    _la,
    _np_matrix_transpose,
    _trace,
)
from chainrule.numpy.linalg.decompositions import svdvals
from chainrule.numpy.linalg.norms import matrix_norm, vector_norm
from chainrule.numpy.linalg.solving import inv, solve
from chainrule.numpy.nondiff import NONDIFF_OF, unboxing
from chainrule.numpy.products import any_tensor, matmul, permute
from chainrule.numpy.registry import mirrors, optional

__all__ = [
    "matrix_power",
    "multi_dot",
    "matrix_rank",
    "tensorinv",
    "tensorsolve",
    "matrix_transpose",
    "outer",
    "tensordot",
    "cross",
    "vecdot",
    "diagonal",
    "trace",
]


@mirrors(_la.matrix_power, "linalg")
def matrix_power(a, n: int):
    """``np.linalg.matrix_power``, negative powers through the inverse."""
    if not any_tensor((a,)):
        return _la.matrix_power(a, n)
    shape = shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:  # NumPy's check and words
        raise np.linalg.LinAlgError(
            f"{len(shape)}-dimensional array given. Array must be at least two-dimensional"
            if len(shape) < 2 else "Last 2 dimensions of the array must be square")
    try:
        n = operator.index(n)
    except TypeError as e:
        raise TypeError("exponent must be an integer") from e
    if n == 0:
        return np.broadcast_to(np.eye(shape[-1], dtype=_dtype(a)), shape).copy()
    if n < 0:
        a, n = inv(a), -n
    if n == 3:  # NumPy's order of the products, so the same rounding
        return matmul(matmul(a, a), a)
    result, z = None, a
    while True:  # binary powering: the squares z, z², z⁴, ...
        if n & 1:
            result = z if result is None else matmul(result, z)
        n >>= 1
        if not n:
            return result
        z = matmul(z, z)


def _chain_order(shapes):
    """The cheapest parenthesisation of a matrix chain (dynamic programming, as NumPy's)."""
    dims = [shapes[0][0]] + [s[1] for s in shapes]
    k = len(shapes)
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(1, k):
        for i in range(k - length):
            j = i + length
            cost[i][j] = np.inf
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, s
    return split


@mirrors(_la.multi_dot, "linalg")
def multi_dot(arrays, *, out=None):
    """``np.linalg.multi_dot``: the product of a chain, in the cheapest order."""
    arrays = list(arrays)
    if not any_tensor(arrays):
        return _la.multi_dot(arrays, out=out)
    if out is not None:
        raise TypeError("multi_dot: out= cannot take a differentiated result")
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    if len(arrays) == 2:
        return cnp.dot(arrays[0], arrays[1])
    first, last = len(shape_of(arrays[0])), len(shape_of(arrays[-1]))
    if first == 1:
        arrays[0] = cnp.reshape(arrays[0], (1, -1))
    if last == 1:
        arrays[-1] = cnp.reshape(arrays[-1], (-1, 1))
    split = _chain_order([shape_of(x) for x in arrays])

    def product(i, j):
        if i == j:
            return arrays[i]
        s = split[i][j]
        return cnp.dot(product(i, s), product(s + 1, j))

    result = product(0, len(arrays) - 1)
    if first == 1 and last == 1:
        return result[0, 0]
    if first == 1 or last == 1:
        return cnp.reshape(result, (-1,))
    return result


@mirrors(_la.tensorinv, "linalg")
def tensorinv(a, ind: int = 2):
    """``np.linalg.tensorinv``: the inverse of ``a`` seen as a matrix."""
    if not any_tensor((a,)):
        return _la.tensorinv(a, ind)
    shape = shape_of(a)
    rows = int(np.prod(shape[ind:]))
    ia = inv(cnp.reshape(a, (rows, -1)))
    return cnp.reshape(ia, shape[ind:] + shape[:ind])


@mirrors(_la.tensorsolve, "linalg")
def tensorsolve(a, b, axes=None):
    """``np.linalg.tensorsolve``: solve ``tensordot(a, x, x.ndim) = b`` for x."""
    if not any_tensor((a, b)):
        return _la.tensorsolve(a, b, axes)
    nd = len(shape_of(a))
    if axes is not None:
        order = list(range(nd))
        for k in axes:
            order.remove(k)
            order.insert(nd, k)
        a = permute(a, order)
    shape = shape_of(a)[len(shape_of(b)):]
    size = int(np.prod(shape))
    x = solve(cnp.reshape(a, (size, size)), cnp.reshape(b, (-1,)))
    return cnp.reshape(x, shape)


def matrix_transpose(x, /):
    """``np.linalg.matrix_transpose``: swap the last two axes."""
    if _np_matrix_transpose is not None and not any_tensor((x,)):
        return _np_matrix_transpose(x)
    return _T(x)


def outer(x1, x2, /):
    """``np.linalg.outer`` (of two vectors; NumPy's error for other arrays)."""
    nd1, nd2 = len(shape_of(x1)), len(shape_of(x2))
    if nd1 != 1 or nd2 != 1:
        raise ValueError(f"Input arrays must be one-dimensional, but they are x1.ndim={nd1} and "
                         f"x2.ndim={nd2}.")
    return products.outer(x1, x2)


def tensordot(x1, x2, /, *, axes=2):
    """``np.linalg.tensordot``."""
    return products.tensordot(x1, x2, axes=axes)


def cross(x1, x2, /, *, axis: int = -1):
    """``np.linalg.cross`` of 3-vectors (NumPy's error for 2-vectors, which ``np.cross``
    takes)."""
    n1, n2 = shape_of(x1)[axis], shape_of(x2)[axis]
    if n1 != 3 or n2 != 3:
        raise ValueError("Both input arrays must be (arrays of) 3-dimensional vectors, but they "
                         f"are {n1} and {n2} dimensional instead.")
    return products.cross(x1, x2, axis=axis)


def vecdot(x1, x2, /, *, axis: int = -1):
    """``np.linalg.vecdot``: Σ conj(x1) x2 along ``axis``."""
    return products.vecdot(x1, x2, axis=axis)


def diagonal(x, /, *, offset: int = 0):
    """``np.linalg.diagonal``: the diagonals of a stack of matrices (last two axes)."""
    if offset == 0 and any_tensor((x,)) and _square(x):
        return _diag(x)
    return cnp.diagonal(x, offset=offset, axis1=-2, axis2=-1)


def _square(x) -> bool:
    shape = shape_of(x)
    return len(shape) >= 2 and shape[-1] == shape[-2]


def trace(x, /, *, offset: int = 0, dtype=None):
    """``np.linalg.trace``: the traces of a stack of matrices (last two axes)."""
    if offset == 0 and dtype is None and any_tensor((x,)) and _square(x):
        return _trace(x)
    return cnp.trace(x, offset=offset, axis1=-2, axis2=-1, dtype=dtype)


matrix_rank = unboxing(_la.matrix_rank)
NONDIFF_OF[_la.matrix_rank] = matrix_rank

for _name, _fun in (
    ("svdvals", svdvals), ("vector_norm", vector_norm), ("matrix_norm", matrix_norm),
    ("matrix_transpose", matrix_transpose), ("outer", outer), ("tensordot", tensordot),
    ("cross", cross), ("vecdot", vecdot), ("diagonal", diagonal), ("trace", trace),
):
    if optional(_la, _name) is not None:
        mirrors(getattr(_la, _name), "linalg", _name)(_fun)
if optional(_la, "matmul") is not None:
    mirrors(_la.matmul, "linalg", "matmul")(matmul)
del _name, _fun

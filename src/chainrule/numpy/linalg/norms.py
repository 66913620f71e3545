"""Norms and condition numbers."""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

import chainrule.numpy as cnp
from chainrule.core.primitive import def_batch, def_jvps, def_vjps
from chainrule.core.tensor import undifferentiated
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import is_complex, shape_of
from chainrule.numpy.linalg.common import (
    _la,
    _np_matrix_norm,
    _np_vector_norm,
    _real_if,
    linalg_op,
)
from chainrule.numpy.linalg.decompositions import _svd, svdvals
from chainrule.numpy.linalg.solving import inv
from chainrule.numpy.nondiff import anywhere, unboxing
from chainrule.numpy.products import any_tensor, conj_if_complex, matmul, permute
from chainrule.numpy.registry import mirrors

__all__ = [
    "norm",
    "vector_norm",
    "matrix_norm",
    "cond",
]


def _norm_kind(x, ord, axis):
    """('vector' or 'matrix', the reduced axes as non-negative ints, the order)."""
    nd = len(shape_of(x))
    if axis is None:
        if ord is None:  # the 2-norm of the flattened array (Frobenius for a matrix)
            return "vector", tuple(range(nd)), 2
        axis = tuple(range(nd))
    if isinstance(axis, int | np.integer):
        axis = (axis,)
    axes = tuple(int(i) % nd for i in axis)
    if len(axes) == 1:
        return "vector", axes, 2 if ord is None else ord
    return "matrix", axes, "fro" if ord is None else ord


def _unit(x):
    """x / |x| elementwise, 0 where x is 0 (the conjugate of it for complex x, which is
    what the derivative of |x| is in JAX's convention)."""
    if not is_complex(x):
        return cnp.sign(x)
    ax = cnp.abs(x)
    return cnp.conj(x) / cnp.where(ax == 0, 1.0, ax)


def _tie_weights(mask, axis):
    """The mask of the entries that attain the maximum (or minimum) along ``axis``,
    divided by their count: tied entries share the derivative."""
    return mask / cnp.sum(mask, axis=axis, keepdims=True)


def _norm_weight(x, ans, ord, axis, keepdims):
    """w with dn = Σ Re(w · dx): the derivative of the norm, shaped like x."""
    kind, axes, ord = _norm_kind(x, ord, axis)
    shape = shape_of(x)
    if 0 in shape:  # no entries: nothing to weigh (nor a maximum to pick)
        return 0 * x
    kd_shape = tuple(1 if i in axes else n for i, n in enumerate(shape))
    n_k = cnp.reshape(ans, kd_shape)
    if kind == "vector":
        ax = axes[0] if len(axes) == 1 else axes
        if ord == 2 or ord == "fro":
            return conj_if_complex(x) / cnp.where(n_k == 0, 1.0, n_k)
        if ord in (np.inf, -np.inf):
            a = cnp.abs(x)  # (each example's own under vmap)
            pick = cnp.max if ord == np.inf else cnp.min
            mask = a == pick(a, axis=ax, keepdims=True)
            return _unit(x) * _tie_weights(mask, ax)
        if ord == 0:
            return 0 * x
        if ord == 1:
            return _unit(x)
        # d‖x‖_p / dx = sign(x) (|x| / ‖x‖)^(p-1); taken as 0 at the zero entries, where
        # a power below 1 would be infinite, and everywhere for a zero norm (p < 0 with a
        # zero entry: the norm stays 0 whatever the other entries do)
        ratio = cnp.abs(x) / cnp.where(n_k == 0, 1.0, n_k)
        zero = (ratio == 0) | (n_k == 0)
        return _unit(x) * cnp.where(zero, 0.0, cnp.where(zero, 1.0, ratio) ** (ord - 1))
    row, col = axes
    if ord == "fro":
        return conj_if_complex(x) / cnp.where(n_k == 0, 1.0, n_k)
    if ord in ("nuc", 2, -2):
        rest = [i for i in range(len(shape)) if i not in axes]
        order = rest + [row, col]
        u, s, vh = _svd(permute(x, order), full_matrices=False)
        if ord == "nuc":
            w = matmul(u, vh)
        else:
            # the largest (smallest) singular value, shared equally among tied ones as max's
            # derivative is: their u vᴴ summed does not depend on the basis the SVD picked
            # for their subspace, as any one of them does (PyTorch's, of amax of svdvals)
            edge = s[..., :1] if ord == 2 else s[..., -1:]
            share = _tie_weights(undifferentiated(s) == undifferentiated(edge), -1)
            w = matmul(u * cnp.expand_dims(share, -2), vh)
        return permute(conj_if_complex(w), np.argsort(order))
    if ord in (1, -1, np.inf, -np.inf):
        # 1: the largest column sum (summed over rows); inf: the largest row sum
        summed, chosen = (row, col) if ord in (1, -1) else (col, row)
        sums = cnp.sum(cnp.abs(x), axis=summed, keepdims=True)
        pick = cnp.max if ord in (1, np.inf) else cnp.min
        mask = sums == pick(sums, axis=chosen, keepdims=True)
        return _unit(x) * _tie_weights(mask, chosen)
    raise ValueError(f"norm: invalid norm order {ord!r} for matrices")


def norm_vjp(g, ans, x, ord=None, axis=None, keepdims=False):
    return cnp.reshape(g, _kept(x, ord, axis)) * _norm_weight(x, ans, ord, axis, keepdims)


def _kept(x, ord, axis):
    _, axes, _ = _norm_kind(x, ord, axis)
    return tuple(1 if i in axes else n for i, n in enumerate(shape_of(x)))


def norm_jvp(t, ans, x, ord=None, axis=None, keepdims=False):
    _, axes, _ = _norm_kind(x, ord, axis)
    wt = _norm_weight(x, ans, ord, axis, keepdims) * t
    return cnp.sum(_real_if(wt, is_complex(wt)), axis=axes, keepdims=keepdims)


norm = linalg_op(_la.norm)
def_vjps(norm, norm_vjp)
def_jvps(norm, norm_jvp)


def vector_norm(x, /, *, axis=None, keepdims: bool = False, ord=2):
    """``np.linalg.vector_norm``: the norm of the vectors along ``axis`` (all by default)."""
    if _np_vector_norm is not None and not any_tensor((x,)):
        return _np_vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)
    shape = shape_of(x)
    nd = len(shape)
    if axis is None:
        axes = tuple(range(nd))
    elif isinstance(axis, int | np.integer):
        axes = (normalize_axis_index(int(axis), nd),)
    else:  # NumPy's AxisError for an axis the array lacks
        axes = tuple(normalize_axis_index(int(i), nd) for i in axis)
    rest = [i for i in range(nd) if i not in axes]
    # (the length of the vectors spelled out: -1 cannot be inferred when another axis is 0)
    y = cnp.reshape(permute(x, rest + list(axes)),
                    tuple(shape[i] for i in rest) + (math.prod(shape[i] for i in axes),))
    r = norm(y, ord, -1)
    if keepdims:
        r = cnp.reshape(r, tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return r


def matrix_norm(x, /, *, keepdims: bool = False, ord="fro"):
    """``np.linalg.matrix_norm``: the norm of each matrix of a stack (last two axes)."""
    if _np_matrix_norm is not None and not any_tensor((x,)):
        return _np_matrix_norm(x, keepdims=keepdims, ord=ord)
    return norm(x, ord, (-2, -1), keepdims)


@mirrors(_la.cond, "linalg")
def cond(x, p=None):
    """``np.linalg.cond``: ratio of singular values (p None, 2, -2) or ‖x‖ ‖x⁻¹‖."""
    if not any_tensor((x,)):
        return _la.cond(x, p)
    shape = shape_of(x)
    if len(shape) >= 2 and shape[-1] * shape[-2] == 0:
        raise _la.LinAlgError("cond is not defined on empty arrays")
    if p is None or p == 2 or p == -2:
        s = svdvals(x)
        big, small = s[..., 0], s[..., -1]
        return small / big if p == -2 else big / small
    # NumPy's cond is inf for a singular matrix (without NaNs), where inv raises
    singular = _singular(x)
    if not anywhere(singular):
        return norm(x, p, (-2, -1)) * norm(inv(x), p, (-2, -1))
    x = cnp.where(singular[..., None, None], np.eye(shape[-1]), x)
    r = cnp.where(singular, np.inf, norm(x, p, (-2, -1)) * norm(inv(x), p, (-2, -1)))
    return r[()] if len(shape) == 2 else r


def _cond_is_inf(v):
    with np.errstate(all="ignore"):
        return np.isinf(_la.cond(v, 1)) & ~np.isnan(v).any(axis=(-2, -1))


_singular = unboxing(_cond_is_inf)


# Batching rule for vmap.
def_batch(batching.norm, norm)

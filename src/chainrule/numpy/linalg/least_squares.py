"""The pseudo-inverse and least squares."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import def_batch, def_jvps, def_vjps
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import is_complex, shape_of
from chainrule.numpy.linalg.common import (
    _H,
    _T,
    _la,
    _real_if,
    _vjp_by_transposing,
    linalg_op,
)
from chainrule.numpy.linalg.decompositions import svd, svdvals
from chainrule.numpy.nondiff import anywhere, every, plain
from chainrule.numpy.products import any_tensor, conj_if_complex, matmul
from chainrule.numpy.registry import mirrors, wrap

__all__ = [
    "pinv",
    "lstsq",
]


def pinv_jvp(t, ans, a, *args, **kwargs):
    # Golub and Pereyra (1973), for a matrix of constant rank
    p = ans
    th = _H(t)
    return (
        -matmul(matmul(p, t), p)
        + matmul(p, matmul(_H(p), th - matmul(matmul(th, a), p)))
        + matmul(th - matmul(p, matmul(a, th)), matmul(_H(p), p))
    )


def pinv_vjp(g, ans, a, *args, **kwargs):
    if is_complex(a):
        return _pinv_vjp_complex(g, ans, a, *args, **kwargs)
    p = ans
    gt = _T(g)
    x = matmul(gt, matmul(p, _T(p)))  # Gᵀ P Pᵀ, taken through (I − A P)
    y = matmul(matmul(_T(p), p), gt)  # Pᵀ P Gᵀ, through (I − P A)
    return (
        -matmul(matmul(_T(p), g), _T(p))
        + x - matmul(a, matmul(p, x))
        + y - matmul(matmul(y, p), a)
    )


def _pinv_vjp_complex(g, ans, a, *args, **kwargs):
    return _vjp_by_transposing(lambda t, ans, a, **kw: pinv_jvp(t, ans, a, *args, **kw))(
        g, ans, a, **kwargs
    )


_pinv = linalg_op(_la.pinv, "pinv", public=False)
def_vjps(_pinv, pinv_vjp)
def_jvps(_pinv, pinv_jvp)


@mirrors(_la.pinv, "linalg")
def pinv(a, rcond=None, hermitian=False, **kwargs):
    """``np.linalg.pinv``. Where ``rcond=``/``rtol=`` leaves out singular values that are
    not 0, the result is the pseudo-inverse of the truncated matrix, differentiated as
    that through the SVD (Golub and Pereyra's formula, which the full-rank case uses,
    assumes the matrix's own rank).

    >>> import chainrule as cr
    >>> cr.grad(lambda a: cnp.sum(cnp.linalg.pinv(a, rcond=0.1)))(np.diag([2.0, 0.01]))
    array([[-0.25      ,  0.25125628],
           [ 0.25125628,  0.        ]])
    """
    cut = kwargs.get("rtol", rcond)
    if cut is not None and any_tensor((a,)) and np.ndim(cut) <= len(shape_of(a)) - 2:
        sv = svdvals(undifferentiated(a))
        dropped = cnp.logical_and(sv <= cnp.asarray(cut)[..., None] * cnp.max(sv, axis=-1, keepdims=True), sv > 0)
        if anywhere(dropped):
            return _truncated_pinv(a, cut)
    if rcond is not None:
        kwargs["rcond"] = rcond
    if hermitian:
        kwargs["hermitian"] = hermitian
    return _pinv(a, **kwargs)


def _truncated_pinv(a, cut):
    """NumPy's pinv from the SVD, singular values at or below ``cut`` times the largest
    one left out, with the SVD's derivatives."""
    u, s, vt = svd(a, full_matrices=False)
    sv = undifferentiated(s)
    keep = sv > cnp.asarray(cut)[..., None] * cnp.max(sv, axis=-1, keepdims=True)
    inv = cnp.where(keep, 1 / cnp.where(keep, s, 1), 0)
    return matmul(_H(vt), inv[..., None] * _H(u))


def _the_value(x, value):
    return value


# NumPy's value with the derivative of ``x`` (the same quantity computed another way): the
# solution and residuals of lstsq are LAPACK's, bit for bit, and differentiate as the
# pseudo-inverse's
numpys_value = wrap(_the_value, "linalg", "numpys_value", public=False)
def_vjps(numpys_value, lambda g, ans, x, value: g, None)
def_jvps(numpys_value, lambda t, ans, x, value: t, None)
def_batch(batching.elementwise, numpys_value)


@mirrors(_la.lstsq, "linalg")
def lstsq(a, b, rcond=None):
    """``np.linalg.lstsq``: (x, residuals, rank, s); x and the residuals differentiate
    for a matrix of full rank. Under ``chainrule.vmap`` each example has its own rank."""
    if not any_tensor((a, b)):
        return _la.lstsq(a, b, rcond)
    m, n = shape_of(a)[-2:]
    cutoff = np.finfo(np.float64).eps * max(m, n) if rcond is None else rcond
    x = matmul(_pinv(a, rcond=cutoff), b)
    s = svdvals(a)
    if not (_batched(a) or _batched(b)):
        x_np, res, rank, s_np = _la.lstsq(plain(a), plain(b), rcond)
        if shape_of(x) == np.shape(x_np) and shape_of(s) == np.shape(s_np):
            x, s = numpys_value(x, x_np), numpys_value(s, s_np)
        with_residuals = np.size(res) > 0
        res_shape = np.shape(res)
    else:  # LAPACK's rank: the singular values above rcond times the largest one
        sv = undifferentiated(s)
        rank = cnp.sum(sv > cutoff * sv[..., :1], axis=-1)
        full = cnp.equal(rank, n) if m > n else cnp.equal(rank, -1)
        with_residuals = every(full)
        if not with_residuals and anywhere(full):
            raise ValueError(
                "lstsq under vmap: NumPy gives residuals only for a matrix of full rank, and "
                "some examples have full rank while others do not, so the residuals cannot "
                "form one batch; compute them as sum(abs(b - a @ x)**2, axis=0)"
            )
        res = np.zeros((0,), dtype=_real_float(a))  # NumPy's empty residuals
        res_shape = (1,) if len(shape_of(b)) == 1 else shape_of(b)[-1:]
    if with_residuals:
        r = b - matmul(a, x)
        residuals = cnp.sum(_real_if(r * conj_if_complex(r), is_complex(r)), axis=0)
        residuals = cnp.reshape(residuals, res_shape)
        if not (_batched(a) or _batched(b)) and np.shape(res) == res_shape:
            residuals = numpys_value(residuals, res)
    else:
        residuals = res
    return x, residuals, rank, s


def _real_float(x) -> np.dtype:
    dtype = np.dtype(x.dtype if hasattr(x, "dtype") else np.result_type(x))
    return np.finfo(dtype).dtype if dtype.kind in "fc" else np.dtype(np.float64)


def _batched(x) -> bool:
    """Whether ``x`` is (or holds, under other traces) a batch of ``chainrule.vmap``."""
    while isinstance(x, Tensor):
        if x._trace.batches:
            return True
        x = x._value
    return False


# Batching rule for vmap: NumPy's pinv maps over leading axes already.
def_batch(batching.stacked, _pinv)

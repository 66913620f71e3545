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
from chainrule.numpy.linalg.decompositions import svdvals
from chainrule.numpy.nondiff import anywhere, every, plain
from chainrule.numpy.products import any_tensor, conj_if_complex, matmul
from chainrule.numpy.registry import mirrors

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


pinv = linalg_op(_la.pinv)
def_vjps(pinv, pinv_vjp)
def_jvps(pinv, pinv_jvp)


@mirrors(_la.lstsq, "linalg")
def lstsq(a, b, rcond=None):
    """``np.linalg.lstsq``: (x, residuals, rank, s); x and the residuals differentiate
    for a matrix of full rank. Under ``chainrule.vmap`` each example has its own rank."""
    if not any_tensor((a, b)):
        return _la.lstsq(a, b, rcond)
    m, n = shape_of(a)[-2:]
    cutoff = np.finfo(np.float64).eps * max(m, n) if rcond is None else rcond
    x = matmul(pinv(a, rcond=cutoff), b)
    s = svdvals(a)
    if not (_batched(a) or _batched(b)):
        _, res, rank, _ = _la.lstsq(plain(a), plain(b), rcond)
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
def_batch(batching.stacked, pinv)

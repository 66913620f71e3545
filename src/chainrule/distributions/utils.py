"""``torch.distributions.utils``: the helpers user code borrows (``broadcast_all``,
``probs_to_logits``, ``logits_to_probs``, ``clamp_probs``, ``lazy_property``, and the
private ``_standard_normal`` and ``_sum_rightmost`` that distributions written by users
call, as DrQ-v2's TruncatedNormal does).

>>> import chainrule as cr
>>> [round(v, 4) for v in probs_to_logits(cr.tensor([0.25, 0.75])).tolist()]
[-1.3863, -0.2877]
"""

from __future__ import annotations

import numpy as np

import chainrule.nn.functional as F
import chainrule.numpy as cnp
from chainrule.core.dtypes import as_dtype, check_cpu
from chainrule.core.tensor import Tensor
from chainrule.distributions.distribution import broadcast_all, lazy_property, noise, sum_rightmost

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs", "probs_to_logits", "tril_matrix_to_vec",
           "vec_to_tril_matrix"]


def _standard_normal(shape, dtype, device) -> Tensor:
    """Standard normal draws of ``shape`` (PyTorch's private helper, which user code calls)
    from the global generator that ``chainrule.manual_seed`` seeds."""
    check_cpu(device, "_standard_normal")
    return noise("standard_normal", shape, as_dtype(dtype))


def _sum_rightmost(value, dim: int):
    """``value`` summed over its last ``dim`` dimensions (PyTorch's private helper)."""
    return sum_rightmost(value, dim)


def clamp_probs(probs):
    """Probabilities clamped into [eps, 1 - eps] of their dtype."""
    eps = float(np.finfo(probs.dtype).eps)
    return cnp.clip(probs, eps, 1 - eps)


def logits_to_probs(logits, is_binary: bool = False):
    """sigmoid(logits) if ``is_binary``, else softmax over the last axis."""
    return F.sigmoid(logits) if is_binary else F.softmax(logits, dim=-1)


def probs_to_logits(probs, is_binary: bool = False):
    """The logits of (clamped) probabilities: log p - log(1 - p) if ``is_binary``, else log p."""
    p = clamp_probs(probs)
    return cnp.log(p) - cnp.log1p(-p) if is_binary else cnp.log(p)


def _tril_flat_index(n: int, diag: int) -> np.ndarray:
    rows, cols = np.tril_indices(n, k=diag)  # row by row, as PyTorch's mask picks them
    return rows * n + cols


def vec_to_tril_matrix(vec, diag: int = 0):
    """The (n, n) lower-triangular matrices (below diagonal ``diag``) whose entries, row by
    row, are ``vec``'s last dimension."""
    size = vec.shape[-1]
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * size + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    if abs(round(n) - n) > np.finfo(np.float64).eps:
        raise ValueError(f"The size of last dimension is {size} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    n = round(n)
    where = np.full(n * n, size)
    where[_tril_flat_index(n, diag)] = np.arange(size)
    padded = cnp.concatenate([vec, cnp.zeros_like(vec[..., :1])], -1)
    return cnp.take(padded, where, axis=-1).reshape(tuple(vec.shape[:-1]) + (n, n))


def tril_matrix_to_vec(mat, diag: int = 0):
    """The entries of ``mat`` on and below diagonal ``diag``, row by row."""
    n = mat.shape[-1]
    return cnp.take(mat.reshape(tuple(mat.shape[:-2]) + (n * n,)), _tril_flat_index(n, diag), axis=-1)

"""``jax.nn``'s spellings on ``chainrule.nn.functional``: activations PyTorch names
differently or not at all (``log_sigmoid``, ``soft_sign``, ``swish``, ``hard_tanh``,
``hard_sigmoid``, ``hard_silu``/``hard_swish``, ``squareplus``, ``sparse_plus``,
``sparse_sigmoid``, ``log1mexp``, ``identity``) and the reductions ``logsumexp``,
``logmeanexp`` and ``standardize``, with JAX's signatures, values and derivatives at the
kinks. Compositions of the mirror's differentiable functions, each differentiates in
both modes and batches under ``vmap``.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import undifferentiated
from chainrule.nn import _ops
from chainrule.numpy.logdiffexp import log1m_exp

__all__ = ["log_sigmoid", "soft_sign", "swish", "hard_tanh", "hard_sigmoid", "hard_silu",
           "hard_swish", "squareplus", "sparse_plus", "sparse_sigmoid", "log1mexp", "identity",
           "logsumexp", "logmeanexp", "standardize"]


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x) (``jax.nn.log_sigmoid``).

    >>> round(float(log_sigmoid(0.0)), 6)
    -0.693147
    """
    return -cnp.logaddexp(0.0, -x)


def soft_sign(x):
    """x / (|x| + 1) (``jax.nn.soft_sign``)."""
    return x / (cnp.abs(x) + 1)


def swish(x):
    """x·sigmoid(x), ``jax.nn.swish`` (``silu``)."""
    return _ops.silu(x)


def hard_tanh(x):
    """x clipped to [-1, 1], derivative 1 on the closed interval (``jax.nn.hard_tanh``)."""
    v = undifferentiated(x)
    return cnp.where(v > 1, 1, cnp.where(v < -1, -1, x))  # (integers stay integers, as JAX's)


def _relu6(x):
    """min(max(x, 0), 6) with derivative 0 at 0 and at 6, as ``jax.nn.relu6``."""
    v = undifferentiated(x)
    return cnp.where((v > 0) & (v < 6), x, cnp.clip(v, 0.0, 6.0))


def hard_sigmoid(x):
    """relu6(x + 3) / 6 (``jax.nn.hard_sigmoid``)."""
    return _relu6(x + 3.0) / 6.0


def hard_silu(x):
    """x · hard_sigmoid(x) (``jax.nn.hard_silu``, also ``hard_swish``)."""
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def squareplus(x, b=4):
    """(x + sqrt(x² + b)) / 2 (``jax.nn.squareplus``).

    >>> float(squareplus(0.0))
    1.0
    """
    return (x + cnp.sqrt(x * x + b)) / 2


def sparse_plus(x):
    """0 below -1, x above 1, (x + 1)² / 4 between (``jax.nn.sparse_plus``)."""
    v = undifferentiated(x)
    return cnp.where(v <= -1, 0.0, cnp.where(v >= 1, x, (x + 1) ** 2 / 4))


def sparse_sigmoid(x):
    """(clip(x, -1, 1) + 1) / 2, the derivative of ``sparse_plus`` (``jax.nn.sparse_sigmoid``;
    clipped as ``jnp.clip`` is, by ``minimum`` and ``maximum``, whose derivative at a tie is
    1/2: 1/4 at x = ±1)."""
    return 0.5 * cnp.minimum(cnp.maximum(x + 1, 0.0), 2.0)


def log1mexp(x):
    """log(1 - exp(-x)) for x > 0, accurate near 0 and far from it (``jax.nn.log1mexp``).

    >>> round(float(log1mexp(1e-20)), 4)   # log(1e-20)
    -46.0517
    """
    return log1m_exp(-x)


def identity(x):
    """x (``jax.nn.identity``)."""
    return x


def logsumexp(a, axis=None, b=None, keepdims: bool = False, return_sign: bool = False,
              where=None):
    """log Σ b·exp(a) over ``axis`` without overflow (``jax.nn.logsumexp``, which is
    ``jax.scipy.special.logsumexp``): ``return_sign=True`` gives (log |Σ|, sign Σ).

    >>> round(float(logsumexp(np.log([1.0, 3.0]))), 6)
    1.386294
    """
    if np.dtype(getattr(a, "dtype", np.float64)).kind in "biu":
        a = cnp.astype(a, np.float64)
    if b is not None:  # as JAX's (and SciPy's): the terms with b = 0 are left out, whatever their a
        a = cnp.where(undifferentiated(b) != 0, a, -np.inf)
    masked = {} if where is None else {"where": where}
    complex_a = any(np.dtype(getattr(v, "dtype", np.result_type(v))).kind == "c" for v in (a, b) if v is not None)
    stopped = undifferentiated(a)
    peak = cnp.max(cnp.real(stopped) if complex_a else stopped, axis=axis, keepdims=True, initial=-np.inf,
                   **masked)
    peak = cnp.where(cnp.isfinite(peak), peak, 0.0)
    terms = cnp.exp(a - peak)
    total = cnp.sum(terms if b is None else terms * b, axis=axis, keepdims=keepdims, **masked)
    sign = cnp.sign(undifferentiated(total))
    if not keepdims:
        peak = cnp.squeeze(peak, axis=axis) if axis is not None else cnp.reshape(peak, ())
    out = cnp.log(total if complex_a and not return_sign else cnp.abs(total)) + peak
    if return_sign:
        return out, sign
    if b is not None and not complex_a:  # a negative sum: NaN, its derivatives 0, as JAX's
        out = cnp.where(sign < 0, np.nan, out)
    return out


def logmeanexp(x, axis=None, where=None, keepdims: bool = False):
    """log of the mean of exp(x) over ``axis`` (``jax.nn.logmeanexp``)."""
    count = cnp.sum(cnp.ones_like(undifferentiated(x)) if where is None else where,
                    axis=axis, keepdims=keepdims)
    return logsumexp(x, axis=axis, keepdims=keepdims, where=where) - cnp.log(count)


def standardize(x, axis=-1, mean=None, variance=None, epsilon: float = 1e-5, where=None):
    """(x - mean) / sqrt(variance + epsilon) over ``axis``, mean and variance computed
    where not given (``jax.nn.standardize``, its default "fast" variance E[x²] - E[x]²,
    clipped at 0).

    >>> standardize(np.array([1.0, 3.0]), epsilon=0.0).tolist()
    [-1.0, 1.0]
    """
    over = {"axis": axis, "keepdims": True} if where is None else {"axis": axis, "keepdims": True, "where": where}
    if mean is None:
        mean = cnp.mean(x, **over)
    if variance is None:
        variance = cnp.maximum(cnp.mean(x * x, **over) - mean * mean, 0.0)
    return (x - mean) / cnp.sqrt(variance + epsilon)

"""JAX's ``jax.nn``: activation functions and ``initializers`` with JAX's signatures,
defaults, values and derivatives (``import chainrule.jax_nn as jnn`` where a program has
``import jax.nn as jnn``).

``chainrule.nn`` is PyTorch's layer, and ``chainrule.nn.functional`` follows
``torch.nn.functional`` where the two libraries disagree: ``gelu`` is exact there and
tanh-approximated here by default, ``softmax`` reduces over ``dim`` there and ``axis=-1``
here, ``one_hot`` gives int64 there and floats here, ``softplus`` and ``glu`` take other
arguments. These are JAX's, built on the same differentiable functions.

>>> import numpy as np
>>> import chainrule.jax_nn as jnn
>>> jnn.one_hot(np.array([0, 2]), 3).tolist()
[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
>>> round(float(jnn.gelu(1.0)), 6), round(float(jnn.gelu(1.0, approximate=False)), 6)
(0.841192, 0.841345)
"""

from __future__ import annotations

import numpy as np

import chainrule.nn.functional as F
import chainrule.numpy as cnp
from chainrule.core.tensor import undifferentiated
from chainrule.jax_nn import initializers
from chainrule.nn.functional import (
    hard_sigmoid,
    hard_silu,
    hard_swish,
    hard_tanh,
    identity,
    log1mexp,
    log_sigmoid,
    logmeanexp,
    logsumexp,
    soft_sign,
    sparse_plus,
    sparse_sigmoid,
    squareplus,
    standardize,
)
from chainrule.transforms.custom import stop_gradient

__all__ = [
    "relu", "relu6", "sigmoid", "softplus", "silu", "swish", "log_sigmoid", "leaky_relu", "elu", "celu", "selu",
    "gelu", "glu", "mish", "tanh", "hard_tanh", "hard_sigmoid", "hard_silu", "hard_swish", "soft_sign", "squareplus",
    "sparse_plus", "sparse_sigmoid", "log1mexp", "identity", "softmax", "log_softmax", "logsumexp", "logmeanexp",
    "standardize", "one_hot", "dot_product_attention", "initializers",
]


def relu(x):
    """max(x, 0), with derivative 0 at 0 and at NaN (as JAX's; PyTorch's is 1 at NaN);
    integers stay integers."""
    c = undifferentiated(x)
    return cnp.where(c > 0, x, cnp.maximum(c, 0))


def _logistic_input(x):
    """``x``, unless it holds integers or bools, which JAX's logistic function (behind
    sigmoid, silu, swish and glu) refuses with a TypeError."""
    dtype = np.dtype(getattr(x, "dtype", np.float64))
    if dtype.kind in "biu":
        raise TypeError(f"logistic does not accept dtype {dtype.name}. Accepted dtypes are subtypes of floating, "
                        "complexfloating; convert with .astype(float)")
    return x


def relu6(x):
    """min(max(x, 0), 6), with derivative 0 at 0 and 6 and at NaN (as JAX's)."""
    c = undifferentiated(x)
    return cnp.where((c > 0) & (c < 6), x, cnp.clip(c, 0.0, 6.0))


def sigmoid(x):
    return F.sigmoid(_logistic_input(x))


def tanh(x):
    return cnp.tanh(x)


def softplus(x):
    """log(1 + exp(x)), as ``logaddexp(x, 0)``."""
    return cnp.logaddexp(x, 0.0)


def silu(x):
    """x · sigmoid(x)."""
    return F.silu(_logistic_input(x))


swish = silu


def leaky_relu(x, negative_slope=0.01):
    """x where x ≥ 0, else ``negative_slope`` · x."""
    return cnp.where(x >= 0, x, negative_slope * x)


def elu(x, alpha=1.0):
    """x where x > 0, else alpha · (exp(x) − 1)."""
    safe = cnp.where(x > 0, 0.0, x)
    return cnp.where(x > 0, x, alpha * cnp.expm1(safe))


def celu(x, alpha=1.0):
    """max(x, 0) + alpha · min(exp(x / alpha) − 1, 0)."""
    return cnp.maximum(x, 0.0) + alpha * cnp.expm1(cnp.minimum(x, 0.0) / alpha)


def selu(x):
    """scale · elu(x, alpha), JAX's constants; its derivative at 0 is the left branch's
    (scale · alpha), as JAX's."""
    return 1.0507009873554804934193349852946 * elu(x, 1.6732632423543772848170429916717)


def gelu(x, approximate: bool = True):
    """x · Φ(x); tanh's approximation by default, as JAX's (``approximate=False``: erf)."""
    return F.gelu(x, approximate="tanh" if approximate else "none")


def glu(x, axis: int = -1):
    """The first half of ``x`` along ``axis`` times the sigmoid of the second."""
    return F.glu(_logistic_input(x), dim=axis)


def mish(x):
    """x · tanh(softplus(x))."""
    return x * cnp.tanh(softplus(x))


def _shifted(x, axis, where):
    """JAX's shift: ``x`` with −inf where it is masked (so that masked entries reach
    neither the values nor the derivatives) less its unmasked maximum along ``axis``
    (−inf where there is none: an empty or fully masked slice), and the keywords that
    mask a reduction."""
    if np.dtype(getattr(x, "dtype", np.float64)).kind in "biu":
        x = cnp.astype(x, np.float64)
    masked = {} if where is None else {"where": where}
    peak = cnp.max(stop_gradient(x), axis=axis, initial=-np.inf, keepdims=True, **masked)
    return (x if where is None else cnp.where(where, x, -np.inf)) - peak, masked


def softmax(x, axis=-1, where=None):
    """exp(x) / sum(exp(x)) along ``axis``; entries where ``where`` is False are 0, as is
    all of a slice with nothing unmasked (JAX's values, its zero derivatives there too).

    >>> softmax(np.array([[0.0, 0.0], [1.0, 5.0]]), where=np.array([[False, False], [True, False]])).tolist()
    [[0.0, 0.0], [1.0, 0.0]]
    """
    shifted, masked = _shifted(x, axis, where)
    e = cnp.exp(shifted)
    out = e / cnp.sum(e, axis=axis, keepdims=True, **masked)
    return out if where is None else cnp.where(where, out, 0.0)


def log_softmax(x, axis=-1, where=None):
    """x − logsumexp(x) along ``axis`` (entries where ``where`` is False are −inf)."""
    shifted, masked = _shifted(x, axis, where)
    out = shifted - cnp.log(cnp.sum(cnp.exp(shifted), axis=axis, keepdims=True, **masked))
    return out if where is None else cnp.where(where, out, -np.inf)


def one_hot(x, num_classes: int, *, dtype=None, axis: int = -1):
    """1.0 where ``x`` equals the class index along a new ``axis`` (float64 by default);
    indices outside [0, num_classes) give a row of zeros."""
    x = cnp.asarray(x)
    axis = axis % (cnp.ndim(x) + 1)
    classes = cnp.reshape(np.arange(num_classes), (num_classes,) + (1,) * (cnp.ndim(x) - axis))
    return cnp.astype(cnp.expand_dims(x, axis) == classes, np.float64 if dtype is None else dtype)


def dot_product_attention(query, key, value, bias=None, mask=None, *, scale: float | None = None,
                          is_causal: bool = False, query_seq_lengths=None, key_value_seq_lengths=None,
                          local_window_size: int | tuple[int, int] | None = None, implementation: str | None = None,
                          return_residual: bool = False):
    """softmax(q·kᵀ · scale + bias) · v per head, as ``jax.nn.dot_product_attention``:
    ``query`` of shape (B, T, N, H) or (T, N, H), ``key`` and ``value`` (B, S, K, H) or
    (S, K, H), with N a multiple of K (grouped-query attention: query head n reads
    key/value head n // (N // K)); ``bias`` and the boolean ``mask`` (True: attend)
    broadcast to (B, N, T, S); ``is_causal``, ``local_window_size`` (left, right) and the
    int32 sequence lengths mask further. Masked logits are JAX's large negative number
    (a row with nothing to attend to averages the values; a query past its length gives 0).

    One difference: JAX computes the softmax in float32 whatever the inputs, chainrule in
    float32 for float16 and bfloat16 inputs and in float64 for float64 ones.

    >>> import numpy as np
    >>> q = k = v = np.eye(2).reshape(1, 2, 1, 2)
    >>> np.round(dot_product_attention(q, k, v, is_causal=True)[0, :, 0], 3).tolist()
    [[1.0, 0.0], [0.33, 0.67]]
    """
    if implementation not in (None, "xla"):
        raise ValueError(f"Unsupported implementation option: {implementation!r} (chainrule computes "
                         "attention as JAX's 'xla' implementation; pass None or 'xla')")
    out_shape = cnp.shape(query)
    query, key, value = _as_4d(query), _as_4d(key), _as_4d(value)
    bias = None if bias is None else _as_4d(bias)
    mask = None if mask is None else _as_4d(cnp.asarray(mask))
    B, S, K, H = key.shape
    _check_attention_operand(value, (B, S, K, H), key.dtype, "value")
    _check_attention_operand(query, (B, -1, -1, H), key.dtype, "query")
    _check_attention_operand(mask, (-1,) * 4, np.dtype(bool), "mask")
    _check_attention_operand(bias, (-1,) * 4, None, "bias")
    q_lengths, kv_lengths = (None if n is None else cnp.asarray(n) for n in (query_seq_lengths, key_value_seq_lengths))
    _check_attention_operand(q_lengths, (B,), np.dtype(np.int32), "query_seq_lengths")
    _check_attention_operand(kv_lengths, (B,), np.dtype(np.int32), "key_value_seq_lengths")
    T, N = query.shape[1], query.shape[2]
    if N % K:
        raise ValueError(f"The number of query heads must be a multiple of key/value heads, but got {N} vs {K}")
    if N != K:
        key, value = cnp.repeat(key, N // K, axis=2), cnp.repeat(value, N // K, axis=2)
    logits_dtype = np.promote_types(query.dtype, np.float32)
    logits = cnp.astype(cnp.einsum("btnh,bsnh->bnts", query, key), logits_dtype)
    logits = logits * np.asarray(1.0 / np.sqrt(H) if scale is None else scale, logits_dtype)
    if bias is not None:
        logits = cnp.astype(logits + bias, logits_dtype)
    allowed = _attention_mask(mask, is_causal, local_window_size, q_lengths, kv_lengths, T, S)
    if allowed is not None:
        large_negative = -0.7 * min(np.finfo(logits_dtype).max, np.finfo(np.float32).max)
        logits = cnp.where(allowed, logits, np.asarray(large_negative, logits_dtype))
    probs = cnp.astype(softmax(logits, axis=-1), key.dtype)
    out = cnp.einsum("bnts,bsnh->btnh", probs, value)
    if q_lengths is not None:
        out = out * cnp.astype((np.arange(T)[None, :] < q_lengths[:, None])[:, :, None, None], out.dtype)
    out = cnp.reshape(out, out_shape)
    if not return_residual:
        return out
    residual = cnp.transpose(cnp.astype(logsumexp(logits, axis=-1), key.dtype), (0, 2, 1))
    return out, stop_gradient(cnp.reshape(residual, out_shape[:-1]))


def _as_4d(t):
    """``t`` with leading axes of size 1 up to four (JAX's unbatched layouts)."""
    missing = 4 - cnp.ndim(t)
    return cnp.reshape(t, (1,) * missing + tuple(cnp.shape(t))) if missing > 0 else t


def _check_attention_operand(t, shape: tuple, dtype, name: str) -> None:
    """JAX's checks of dot_product_attention's operands, with its messages (-1: any size)."""
    if t is None:
        return
    if cnp.ndim(t) != len(shape):
        raise ValueError(f"{name} ndim should be {len(shape)}, but got {cnp.ndim(t)}")
    if dtype is not None and t.dtype != dtype:
        raise ValueError(f"{name} dtype should be {dtype}, but got {t.dtype}")
    if any(want != -1 and got != want for got, want in zip(cnp.shape(t), shape, strict=True)):
        raise ValueError(f"{name} shape should be {list(shape)}: but got {tuple(cnp.shape(t))}")


def _attention_mask(mask, is_causal: bool, window, q_lengths, kv_lengths, T: int, S: int):
    """Where a query may attend to a key, broadcast to (B, N, T, S), or None (everywhere)."""
    allowed = None if mask is None else mask
    def both(more):
        return more if allowed is None else cnp.logical_and(allowed, more)
    if is_causal:
        allowed = both(np.tril(np.ones((T, S), bool))[None, None])
    if window is not None:
        left, right = (window, window) if isinstance(window, int) else window
        q_pos, k_pos = np.arange(T)[:, None], np.arange(S)[None, :]
        allowed = both(((q_pos <= k_pos + left) & (q_pos >= k_pos - right))[None, None])
    if q_lengths is not None or kv_lengths is not None:
        q_ok = True if q_lengths is None else np.arange(T)[None, :, None] < q_lengths[:, None, None]
        kv_ok = True if kv_lengths is None else np.arange(S)[None, None, :] < kv_lengths[:, None, None]
        allowed = both(cnp.logical_and(q_ok, kv_ok)[:, None])
    return allowed

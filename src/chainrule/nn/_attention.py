"""Attention as functions: ``scaled_dot_product_attention`` (re-exported by
``chainrule.nn.functional``) and the multi-head computation behind
``nn.MultiheadAttention``.

``scaled_dot_product_attention`` is a handful of large operations (two batched matrix
products, a scaling, a mask addition and a fused softmax whose rule needs only its
output), written with the engine's primitives. The multi-head computation runs the heads
as the fused pair of ``chainrule.nn._mha``, which writes the heads' results into their
columns of the merged arrays instead of copying them there.
"""

from __future__ import annotations

import math

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor
from chainrule.nn import _ops
from chainrule.nn._mha import mha_forward

__all__ = ["scaled_dot_product_attention", "multi_head_attention"]


def _dtype(x) -> np.dtype:
    return x.dtype if isinstance(x, Tensor | np.ndarray | np.generic) else np.asarray(x).dtype


def _float_mask(mask, dtype, allowed_when_true: bool, name: str):
    """A mask as an additive float array of ``dtype``: a bool mask becomes 0 / −inf (True
    means "may attend" when ``allowed_when_true``, "may not" otherwise); a float one is
    cast to ``dtype`` (the queries'), so that float32 attention stays float32."""
    if mask is None:
        return None
    kind = _dtype(mask).kind
    if kind == "b":
        m = np.asarray(_ops.plain(mask))
        blocked = ~m if allowed_when_true else m
        return np.where(blocked, -np.inf, 0.0).astype(dtype)
    if kind != "f":
        raise TypeError(f"{name} must be a bool or a float mask, got {_dtype(mask)}")
    return mask if _dtype(mask) == dtype else cnp.astype(mask, dtype)


def _causal_mask(length: int, source: int, dtype) -> np.ndarray:
    return np.where(np.tri(length, source, dtype=bool), 0.0, -np.inf).astype(dtype)


def _dropout(weights, p: float, training: bool, rng):
    return _ops.dropout(weights, p, training, rng)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None, rng=None,
                                 enable_gqa: bool = False):
    """softmax(Q Kᵀ · scale + mask) V over the last two axes, as
    ``torch.nn.functional.scaled_dot_product_attention``: query (..., L, E), key (..., S,
    E), value (..., S, Ev); ``scale`` defaults to 1/√E. A bool ``attn_mask`` says where
    attention is allowed (True); a float one is added to the scores. ``is_causal``
    lets position i attend to positions ≤ i only; a query whose keys are all masked gets
    the output 0 (and gradients 0), as in PyTorch. ``dropout_p`` drops attention weights
    (always, as PyTorch's function does: pass 0 in evaluation). ``enable_gqa``: grouped
    query attention, key and value (..., Hkv, S, E) shared by groups of Hq / Hkv query heads.

    >>> import numpy as np
    >>> q = k = v = np.eye(3)[None]
    >>> scaled_dot_product_attention(q, k, v, is_causal=True)[0, 0].tolist()
    [1.0, 0.0, 0.0]
    """
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ValueError("scaled_dot_product_attention: query, key and value need at least 2 axes (..., L, E)")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: query {tuple(query.shape)}, key {tuple(key.shape)} and value "
            f"{tuple(value.shape)} do not fit: query and key need the same last axis, key and value the "
            "same sequence length"
        )
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: pass either attn_mask or is_causal=True, not both")
    if enable_gqa:
        key, value = _grouped(query, key, value)
    dtype = _dtype(query)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = cnp.matmul(query, cnp.swapaxes(key, -1, -2)) * scale
    mask = _causal_mask(query.shape[-2], key.shape[-2], dtype) if is_causal else \
        _float_mask(attn_mask, dtype, True, "attn_mask")
    if mask is not None:
        scores = scores + mask
    # a query with every key masked gets weights 0 (its output 0), as PyTorch's function gives
    weights = _dropout(_ops.safe_softmax(scores, axis=-1), dropout_p, True, rng)
    return cnp.matmul(weights, value)


def _grouped(query, key, value):
    """Key and value with each of their heads repeated for its group of query heads."""
    heads, kv_heads = query.shape[-3:-2], key.shape[-3:-2]
    if not heads or not kv_heads or value.shape[-3:-2] != kv_heads or heads[0] % kv_heads[0]:
        raise ValueError(
            f"scaled_dot_product_attention(enable_gqa=True): query {tuple(query.shape)}, key "
            f"{tuple(key.shape)} and value {tuple(value.shape)} need a heads axis (..., H, L, E) "
            "with the query's number of heads a multiple of key's and value's (the same)"
        )
    repeats = heads[0] // kv_heads[0]
    if repeats == 1:
        return key, value
    return cnp.repeat(key, repeats, axis=-3), cnp.repeat(value, repeats, axis=-3)


def multi_head_attention(q, k, v, num_heads: int, attn_mask=None, key_padding_mask=None,
                         need_weights: bool = True, average_attn_weights: bool = True,
                         dropout_p: float = 0.0, training: bool = True, is_causal: bool = False, rng=None):
    """Attention of already projected q (N, L, E), k (N, S, E), v (N, S, E) in
    ``num_heads`` heads: the concatenated heads (N, L, E) and the attention weights
    ((N, L, S) averaged over the heads, (N, H, L, S) otherwise, or None). ``k`` and ``v``
    None: ``q`` is the packed (N, L, 3E) projection q|k|v of self-attention.

    ``attn_mask`` (L, S) or (N·H, L, S) and ``key_padding_mask`` (N, S) follow
    ``nn.MultiheadAttention``: True (bool) means "may not attend"; float masks are added.
    A query with every key masked gets the output 0 with ``need_weights=False`` and NaN
    (output and weights) otherwise, as in PyTorch.
    """
    n, length = q.shape[:2]
    source = length if k is None else k.shape[1]
    e = q.shape[-1] // 3 if k is None else q.shape[-1]
    dtype = _dtype(q)
    if attn_mask is None and is_causal:
        attn_mask = _causal_mask(length, source, dtype)
    # the masks, transposed as the scores are ((N, H, S, L), see chainrule.nn._mha), added into one
    mask = _float_mask(attn_mask, dtype, False, "attn_mask")
    if mask is not None:
        if mask.ndim == 2:
            if tuple(mask.shape) != (length, source):
                raise ValueError(f"attn_mask should have shape {(length, source)}, got {tuple(mask.shape)}")
        elif tuple(mask.shape) == (n * num_heads, length, source):
            mask = cnp.reshape(mask, (n, num_heads, length, source))
        else:
            raise ValueError(f"attn_mask should have shape {(length, source)} or "
                             f"{(n * num_heads, length, source)}, got {tuple(mask.shape)}")
        mask = cnp.swapaxes(mask, -1, -2)
    pad = _float_mask(key_padding_mask, dtype, False, "key_padding_mask")
    if pad is not None:
        if tuple(pad.shape) != (n, source):
            raise ValueError(f"key_padding_mask should have shape {(n, source)}, got {tuple(pad.shape)}")
        pad = cnp.reshape(pad, (n, 1, source, 1))
        mask = pad if mask is None else mask + pad
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout probability must be between 0 and 1, got {dropout_p}")
    keep = None
    if training and dropout_p > 0.0:
        keep = _ops.dropout_factor(q, (n, num_heads, source, length), dropout_p, rng)
    # without the weights PyTorch attends as its scaled_dot_product_attention: a query with
    # every key masked gets the output 0; with them, as a softmax: NaN
    out, weights = mha_forward(q, k, v, mask, keep, heads=num_heads, scale=1.0 / math.sqrt(e // num_heads),
                               safe=not need_weights)
    if not need_weights:
        return out, None
    if keep is not None:  # the weights returned are the ones applied: after dropout
        weights = weights * keep
    weights = cnp.swapaxes(weights, -1, -2)  # (N, H, L, S)
    return out, (cnp.mean(weights, axis=1) if average_attn_weights else weights)

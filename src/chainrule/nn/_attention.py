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
from chainrule.core.errors import TensorError
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.trace import eager_quiet
from chainrule.nn import _ops
from chainrule.nn._dropout import dropout_factor, inverted_dropout
from chainrule.nn._mha import mha_forward

__all__ = ["scaled_dot_product_attention", "multi_head_attention", "multi_head_attention_forward"]


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
        m = undifferentiated(mask)  # a mask batched by vmap (each example's own) stays a batch
        m = m if isinstance(m, Tensor) else np.asarray(m)
        blocked = cnp.logical_not(m) if allowed_when_true else m
        return cnp.astype(cnp.where(blocked, -np.inf, 0.0), dtype)
    if kind != "f":
        raise TypeError(f"{name} must be a bool or a float mask, got {_dtype(mask)}")
    return mask if _dtype(mask) == dtype else cnp.astype(mask, dtype)


def _causal_mask(length: int, source: int, dtype) -> np.ndarray:
    return np.where(np.tri(length, source, dtype=bool), 0.0, -np.inf).astype(dtype)


def _dropout(weights, p: float, training: bool, rng):
    return inverted_dropout(weights, p, training, rng)


@eager_quiet
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
        raise TensorError("scaled_dot_product_attention: query, key and value need at least 2 axes (..., L, E)")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise TensorError(
            f"scaled_dot_product_attention: query {tuple(query.shape)}, key {tuple(key.shape)} and value "
            f"{tuple(value.shape)} do not fit: query and key need the same last axis, key and value the "
            "same sequence length"
        )
    if is_causal and attn_mask is not None:
        raise TensorError("scaled_dot_product_attention: pass either attn_mask or is_causal=True, not both")
    if enable_gqa:
        key, value = _grouped(query, key, value)
    try:
        np.broadcast_shapes(tuple(query.shape[:-2]), tuple(key.shape[:-2]), tuple(value.shape[:-2]))
    except ValueError:
        raise TensorError(f"scaled_dot_product_attention: the batch axes (all but the last two) of query "
                          f"{tuple(query.shape)}, key {tuple(key.shape)} and value {tuple(value.shape)} do not "
                          "broadcast together" + ("" if enable_gqa else
                                                   "; for fewer key/value heads pass enable_gqa=True")) from None
    dtype = _dtype(query)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = cnp.matmul(query, cnp.swapaxes(key, -1, -2)) * scale
    mask = _causal_mask(query.shape[-2], key.shape[-2], dtype) if is_causal else \
        _float_mask(attn_mask, dtype, True, "attn_mask")
    if mask is not None:
        try:
            np.broadcast_shapes(tuple(mask.shape), tuple(scores.shape))
        except ValueError:
            raise TensorError(f"scaled_dot_product_attention: attn_mask of shape {tuple(mask.shape)} does not "
                             f"broadcast to the scores (..., L, S) = {tuple(scores.shape)}") from None
        scores = scores + mask
    # a query with every key masked gets weights 0 (its output 0), as PyTorch's function gives
    weights = _dropout(_ops.safe_softmax(scores, axis=-1), dropout_p, True, rng)
    return cnp.matmul(weights, value)


def _grouped(query, key, value):
    """Key and value with each of their heads repeated for its group of query heads."""
    heads, kv_heads = query.shape[-3:-2], key.shape[-3:-2]
    if not heads or not kv_heads or value.shape[-3:-2] != kv_heads or heads[0] % kv_heads[0]:
        raise TensorError(
            f"scaled_dot_product_attention(enable_gqa=True): query {tuple(query.shape)}, key "
            f"{tuple(key.shape)} and value {tuple(value.shape)} need a heads axis (..., H, L, E) "
            "with the query's number of heads a multiple of key's and value's (the same)"
        )
    repeats = heads[0] // kv_heads[0]
    if repeats == 1:
        return key, value
    return cnp.repeat(key, repeats, axis=-3), cnp.repeat(value, repeats, axis=-3)


def check_query_key_value(query, key, value, kdim: int, vdim: int, batch_axis: int, name: str) -> None:
    """Raise a ``TensorError`` saying what is wrong unless key and value fit the query:
    the same number of axes (3, or 2 unbatched), the same batch size on ``batch_axis``,
    ``kdim`` and ``vdim`` features, and key and value the same length."""
    shapes = f"query {tuple(query.shape)}, key {tuple(key.shape)} and value {tuple(value.shape)}"
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise TensorError(f"{name}: {shapes} must all be batched (3 axes) or all unbatched (2)")
    if key.shape[-1] != kdim or value.shape[-1] != vdim:
        raise TensorError(f"{name}: key and value must end in kdim={kdim} and vdim={vdim} features, "
                          f"got {tuple(key.shape)} and {tuple(value.shape)}")
    if key.shape[:-1] != value.shape[:-1]:
        raise TensorError(f"{name}: {shapes}: key and value must have the same length (one value per key)"
                          + ("" if query.ndim == 2 else " and batch size"))
    if query.ndim == 3 and query.shape[batch_axis] != key.shape[batch_axis]:
        raise TensorError(f"{name}: {shapes} must have the same batch size (axis {batch_axis})")


def multi_head_attention(q, k, v, num_heads: int, attn_mask=None, key_padding_mask=None,
                         need_weights: bool = True, average_attn_weights: bool = True,
                         dropout_p: float = 0.0, training: bool = True, is_causal: bool = False, rng=None,
                         masked_rows_nan: bool = False):
    """Attention of already projected q (N, L, E), k (N, S, E), v (N, S, E) in
    ``num_heads`` heads: the concatenated heads (N, L, E) and the attention weights
    ((N, L, S) averaged over the heads, (N, H, L, S) otherwise, or None). ``k`` and ``v``
    None: ``q`` is the packed (N, L, 3E) projection q|k|v of self-attention.

    ``attn_mask`` (L, S) or (N·H, L, S) and ``key_padding_mask`` (N, S) follow
    ``nn.MultiheadAttention``: True (bool) means "may not attend"; float masks are added.
    A query with every key masked gets the output 0 with ``need_weights=False`` and NaN
    (output and weights) otherwise, as in PyTorch; NaN always with ``masked_rows_nan``
    (PyTorch's inference fast path).
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
                raise TensorError(f"attn_mask should have shape {(length, source)}, got {tuple(mask.shape)}")
        elif tuple(mask.shape) == (n * num_heads, length, source):
            mask = cnp.reshape(mask, (n, num_heads, length, source))
        else:
            raise TensorError(f"attn_mask should have shape {(length, source)} or "
                             f"{(n * num_heads, length, source)}, got {tuple(mask.shape)}")
        mask = cnp.swapaxes(mask, -1, -2)
    pad = _float_mask(key_padding_mask, dtype, False, "key_padding_mask")
    if pad is not None:
        if tuple(pad.shape) != (n, source):
            raise TensorError(f"key_padding_mask should have shape {(n, source)}, got {tuple(pad.shape)}")
        pad = cnp.reshape(pad, (n, 1, source, 1))
        mask = pad if mask is None else mask + pad
    if not 0.0 <= dropout_p <= 1.0:
        raise TensorError(f"dropout probability must be between 0 and 1, got {dropout_p}")
    keep = None
    if training and dropout_p > 0.0:
        keep = dropout_factor(q, (n, num_heads, source, length), dropout_p, rng)
    # without the weights PyTorch attends as its scaled_dot_product_attention: a query with
    # every key masked gets the output 0; with them, as a softmax: NaN
    out, weights = mha_forward(q, k, v, mask, keep, heads=num_heads, scale=1.0 / math.sqrt(e // num_heads),
                               safe=not (need_weights or masked_rows_nan))
    if not need_weights:
        return out, None
    if keep is not None:  # the weights returned are the ones applied: after dropout
        weights = weights * keep
    weights = cnp.swapaxes(weights, -1, -2)  # (N, H, L, S)
    return out, (cnp.mean(weights, axis=1) if average_attn_weights else weights)


def attention_block(query, key, value, num_heads: int, in_proj_weight, in_proj_bias, bias_k, bias_v,
                    add_zero_attn: bool, dropout_p: float, out_proj_weight, out_proj_bias, training: bool = True,
                    key_padding_mask=None, need_weights: bool = True, attn_mask=None, q_proj_weight=None,
                    k_proj_weight=None, v_proj_weight=None, static_k=None, static_v=None,
                    average_attn_weights: bool = True, is_causal: bool = False, rng=None, same: bool = False,
                    masked_rows_nan: bool = False):
    """``nn.MultiheadAttention``'s computation on batch-first (N, L, E) query and (N, S, ·)
    key and value: the projections (``in_proj_weight`` packed, or the three separate
    weights when it is None), PyTorch's extra keys, the heads' attention and the output
    projection. ``same``: query, key and value are one array (one packed projection);
    ``masked_rows_nan``: see :func:`multi_head_attention`. With ``is_causal``, no
    ``key_padding_mask`` and no weights wanted, a causal mask replaces ``attn_mask``, as
    PyTorch's (its ``is_causal`` is the promise that ``attn_mask`` is causal)."""
    # PyTorch's hint: its causal mask, over every key (the extra ones too), stands for the one given
    hinted = (is_causal and attn_mask is not None and key_padding_mask is None and not need_weights
              and not masked_rows_nan)
    if hinted:
        attn_mask = None
    e = query.shape[-1]
    b = in_proj_bias
    bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
    if in_proj_weight is not None and same and static_k is None and static_v is None:
        q, k, v = _ops.linear(query, in_proj_weight, b), None, None  # self-attention: one product, packed
    else:
        w = in_proj_weight
        wq, wk, wv = (q_proj_weight, k_proj_weight, v_proj_weight) if w is None else (w[:e], w[e : 2 * e], w[2 * e :])
        q, k, v = _ops.linear(query, wq, bq), _ops.linear(key, wk, bk), _ops.linear(value, wv, bv)
    n, length = q.shape[0], q.shape[1]
    if static_k is not None or static_v is not None:
        k, v = (_static(k, static_k, n, num_heads, "static_k"), _static(v, static_v, n, num_heads, "static_v"))
    if bias_k is not None or add_zero_attn:
        if k is None:
            q, k, v = cnp.split(q, 3, axis=-1)
        k, v, attn_mask, key_padding_mask = _extra_keys(length, k, v, attn_mask, key_padding_mask,
                                                        is_causal and not hinted, bias_k, bias_v, add_zero_attn)
        if hinted:
            attn_mask = _causal_mask(length, k.shape[1], _dtype(q))
    out, weights = multi_head_attention(q, k, v, num_heads, attn_mask, key_padding_mask, need_weights,
                                        average_attn_weights, dropout_p, training, is_causal, rng, masked_rows_nan)
    return _ops.linear(out, out_proj_weight, out_proj_bias), weights


def _static(projected, static, n: int, heads: int, name: str):
    """PyTorch's ``static_k``/``static_v`` (N·heads, S, head_dim) in place of the projection,
    as (N, S, heads·head_dim)."""
    if static is None:
        return projected
    if static.ndim != 3 or static.shape[0] != n * heads:
        raise TensorError(f"{name} must have shape (N·num_heads = {n * heads}, S, head_dim), got {tuple(static.shape)}")
    source, width = static.shape[1], static.shape[2]
    return cnp.reshape(cnp.swapaxes(cnp.reshape(static, (n, heads, source, width)), 1, 2),
                       (n, source, heads * width))


def _extra_keys(length, k, v, attn_mask, key_padding_mask, is_causal, bias_k, bias_v, add_zero_attn):
    """PyTorch's ``add_bias_kv`` (append ``bias_k``/``bias_v`` as one more key and value)
    and ``add_zero_attn`` (then a key and value of zeros), with a column of zeros
    ("may attend") added to each mask for every key added."""
    n, source, dtype = k.shape[0], k.shape[1], _dtype(k)
    if attn_mask is None and is_causal:
        attn_mask = _causal_mask(length, source, dtype)
    added = []
    if bias_k is not None:
        added.append((cnp.broadcast_to(cnp.reshape(bias_k, (1, 1, -1)), (n, 1, k.shape[-1])),
                      cnp.broadcast_to(cnp.reshape(bias_v, (1, 1, -1)), (n, 1, v.shape[-1]))))
    if add_zero_attn:
        added.append((np.zeros((n, 1, k.shape[-1]), dtype=dtype), np.zeros((n, 1, v.shape[-1]), dtype=dtype)))
    k = cnp.concatenate([k, *(a for a, _ in added)], axis=1)
    v = cnp.concatenate([v, *(b for _, b in added)], axis=1)
    widen = lambda m: None if m is None else cnp.concatenate(  # noqa: E731
        [m, np.zeros((*m.shape[:-1], len(added)), dtype=m.dtype)], axis=-1)
    return k, v, widen(_float_mask(attn_mask, dtype, False, "attn_mask")), \
        widen(_float_mask(key_padding_mask, dtype, False, "key_padding_mask"))


@eager_quiet
def multi_head_attention_forward(query, key, value, embed_dim_to_check: int, num_heads: int, in_proj_weight,
                                 in_proj_bias, bias_k, bias_v, add_zero_attn: bool, dropout_p: float,
                                 out_proj_weight, out_proj_bias, training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None, use_separate_proj_weight: bool = False,
                                 q_proj_weight=None, k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights: bool = True, is_causal: bool = False,
                                 rng=None):
    """``torch.nn.functional.multi_head_attention_forward``: ``nn.MultiheadAttention``'s
    computation with the weights passed in. query (L, N, E), key (S, N, kdim), value (S, N,
    vdim), or unbatched (L, E), ...; ``use_separate_proj_weight`` takes ``q_proj_weight``,
    ``k_proj_weight`` and ``v_proj_weight`` instead of the packed ``in_proj_weight``.
    Returns the output (L, N, E) and the attention weights (or None), as the layer does.

    >>> import numpy as np
    >>> x = np.ones((3, 2, 4))
    >>> out, w = multi_head_attention_forward(x, x, x, 4, 2, np.eye(12, 4), None, None, None, False, 0.0,
    ...                                       np.eye(4), None)
    >>> out.shape, w.shape
    ((3, 2, 4), (2, 3, 3))
    """
    if query.ndim not in (2, 3) or query.shape[-1] != embed_dim_to_check:
        raise TensorError(f"multi_head_attention_forward: the query must be (L, N, {embed_dim_to_check}) or "
                         f"(L, {embed_dim_to_check}), got {tuple(query.shape)}")
    if embed_dim_to_check % num_heads:
        raise TensorError(f"multi_head_attention_forward: embed_dim ({embed_dim_to_check}) must be divisible by "
                         f"num_heads ({num_heads})")
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise TensorError("multi_head_attention_forward: use_separate_proj_weight=True needs q_proj_weight, "
                             "k_proj_weight and v_proj_weight")
        in_proj_weight = None
    elif in_proj_weight is None:
        raise TensorError("multi_head_attention_forward: in_proj_weight is None; pass it, or the three separate "
                         "weights with use_separate_proj_weight=True")
    kdim, vdim = (k_proj_weight.shape[-1], v_proj_weight.shape[-1]) if use_separate_proj_weight else \
        (embed_dim_to_check, embed_dim_to_check)
    check_query_key_value(query, key, value, kdim, vdim, 1, "multi_head_attention_forward")
    same = query is key and key is value
    unbatched = query.ndim == 2
    if unbatched:
        query, key, value = (cnp.reshape(t, (1, *t.shape)) for t in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = cnp.reshape(key_padding_mask, (1, *key_padding_mask.shape))
    else:
        query, key, value = (cnp.swapaxes(t, 0, 1) for t in (query, key, value))
    if same:
        key = value = query
    out, weights = attention_block(
        query, key, value, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p,
        out_proj_weight, out_proj_bias, training, key_padding_mask, need_weights, attn_mask, q_proj_weight,
        k_proj_weight, v_proj_weight, static_k, static_v, average_attn_weights, is_causal, rng, same)
    if unbatched:
        return cnp.reshape(out, out.shape[1:]), None if weights is None else cnp.reshape(weights, weights.shape[1:])
    return cnp.swapaxes(out, 0, 1), weights

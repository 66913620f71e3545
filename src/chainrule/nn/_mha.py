"""Multi-head attention's core as a fused pair of primitives: ``mha_forward`` from the
projected queries, keys and values to the merged heads and the attention weights,
``mha_backward`` from their cotangents back to the projections'.

Composed from the mirror's operations, one layer's attention is a dozen graph nodes, and
its backward pass copies: the heads' cotangents are transposed back into (N, L, E)
order one copy each, and the split of a packed q|k|v projection is undone by one more
(a concatenation). The fused pair writes every product where it belongs instead: the
forward pass writes each head's output into its columns of the merged (N, L, E) result
and the backward pass writes the cotangents of q, k and v into their columns of one
(N, L, 3E) array when the three come packed from one projection (self-attention), as
PyTorch's ``in_proj_weight`` makes them. Scores are kept transposed, (N, H, S, L), one
row per key: softmax then reduces over axis −2, along contiguous rows (over the last
axis, a short row at a time, NumPy's max takes about three times as long).

Both bodies are written once with ``chainrule.numpy`` and run as the LSTM's do (see
``chainrule.nn._lstm``): on plain arrays of one dtype into arrays of their own (``out=``),
on traced values as ordinary operations, so the pair differentiates to any order.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import Primitive, def_batch, def_joint_vjp, def_jvps
from chainrule.core.tensor import undifferentiated
from chainrule.nn._lstm import _body_jvp, _body_vjp, _buffers, _dtype, _empty, _matmul
from chainrule.numpy.broadcasting import unbroadcast

__all__ = ["mha_forward", "mha_backward"]


def _parts(q, k, v):
    """(q, k, v): the three column blocks of a packed q|k|v (``k`` and ``v`` None), or as given."""
    if k is not None:
        return q, k, v
    e = q.shape[-1] // 3
    return q[..., :e], q[..., e : 2 * e], q[..., 2 * e :]


def _heads(x, heads: int):
    """(N, T, H·D) -> (N, H, T, D): a view."""
    n, steps, width = x.shape
    return cnp.transpose(cnp.reshape(x, (n, steps, heads, width // heads)), (0, 2, 1, 3))


def _into_heads(buffer, heads: int):
    """Where the heads of an (N, T, H·D) result go: its (N, H, T, D) view, or None."""
    return None if buffer is None else _heads(buffer, heads)


def _merged(heads_out, buffer):
    """The (N, T, H·D) array whose (N, H, T, D) view ``heads_out`` is: the buffer it was
    written into, or the heads merged by a transposition."""
    if buffer is not None:
        return buffer
    n, h, steps, d = heads_out.shape
    return cnp.reshape(cnp.transpose(heads_out, (0, 2, 1, 3)), (n, steps, h * d))


# -- forward: (q, k, v) -> merged heads (N, L, Ev), weights (N, H, S, L) ------------------------
def _forward(q, k, v, mask=None, keep=None, heads=1, scale=1.0, safe=False):
    buffers = _buffers(q, k, v, mask, keep)
    xp = np if buffers else cnp
    q, k, v = _parts(q, k, v)
    (n, length, _), (source, ev), dtype = q.shape, v.shape[1:], _dtype(q)
    kh, vh = _heads(k, heads), _heads(v, heads)
    # the scaled queries written transposed, (N, H, E/H, L), in the one pass that scales them:
    # OpenBLAS multiplies these small matrices about twice as fast as by a transposed view
    qt = xp.multiply(cnp.swapaxes(_heads(q, heads), -1, -2), scale,
                     out=_empty(buffers, (n, heads, q.shape[-1] // heads, length), dtype))
    scores = _matmul(kh, qt, _empty(buffers, (n, heads, source, length), dtype))
    into = scores if buffers else None
    if mask is not None:
        scores = xp.add(scores, mask, out=into)
    # softmax over the keys (axis −2); the shift by the maximum only keeps exp finite
    top = cnp.max(undifferentiated(scores), axis=-2, keepdims=True, initial=-np.inf)  # no keys: weights (…, 0, L)
    if safe:  # a query whose keys are all masked (top score −inf) gets weights 0: exp(−inf − 0) / 1
        top = cnp.where(top == -np.inf, 0, top)
    weights = xp.exp(xp.subtract(scores, top, out=into), out=into)
    total = xp.sum(weights, axis=-2, keepdims=True)
    weights = xp.divide(weights, cnp.where(total == 0, 1, total) if safe else total, out=into)
    dropped = weights if keep is None else xp.multiply(weights, keep)
    out = _empty(buffers, (n, length, ev), dtype)
    return _merged(_matmul(cnp.swapaxes(dropped, -1, -2), vh, _into_heads(out, heads)), out), weights


# -- backward: cotangents of (merged heads, weights) -> of (q, k, v) and of the scores ------------
def _backward(g_out, g_weights, q, k, v, weights, keep=None, heads=1, scale=1.0):
    buffers = _buffers(g_out, g_weights, q, k, v, weights, keep)
    xp = np if buffers else cnp
    packed = k is None
    grads = _empty(buffers, q.shape, _dtype(q)) if packed else None
    q, k, v = _parts(q, k, v)
    dtype = _dtype(q)
    if buffers:
        dq, dk, dv = _parts(grads, None, None) if packed else (np.empty(a.shape, dtype) for a in (q, k, v))
    else:
        dq = dk = dv = None
    qh, kh, vh = _heads(xp.multiply(q, scale), heads), _heads(k, heads), _heads(v, heads)
    if g_out is None:
        g_out = cnp.zeros((*q.shape[:2], v.shape[-1]), dtype)
    go = _heads(g_out, heads)  # (N, H, L, Dv)
    dropped = weights if keep is None else xp.multiply(weights, keep)
    dvh = _matmul(dropped, go, _into_heads(dv, heads))
    into = _empty(buffers, weights.shape, dtype)
    # (N, H, S, L); the output's cotangent transposed into rows first (see the scaled queries above)
    dw = _matmul(vh, cnp.ascontiguousarray(cnp.swapaxes(go, -1, -2)), into)
    if keep is not None:
        dw = xp.multiply(dw, keep, out=into)
    if g_weights is not None:
        dw = xp.add(dw, g_weights, out=into)
    # softmax's rule over axis −2: ds = w·(dw − Σ w·dw)
    along = xp.sum(xp.multiply(weights, dw), axis=-2, keepdims=True)
    ds = xp.multiply(weights, xp.subtract(dw, along, out=into), out=into)
    dkh = _matmul(ds, qh, _into_heads(dk, heads))
    dqh = _matmul(cnp.swapaxes(ds, -1, -2), kh, _into_heads(dq, heads))
    dq = xp.multiply(_merged(dqh, dq), scale, out=dq)
    dk, dv = _merged(dkh, dk), _merged(dvh, dv)
    if packed:
        return (grads if buffers else cnp.concatenate([dq, dk, dv], axis=-1)), ds
    return dq, dk, dv, ds


mha_forward = Primitive(_forward, name="mha_forward", multiple_outputs=True)
"""mha_forward(q, k, v, mask=None, keep=None, heads=1, scale=1.0, safe=False) -> (out, weights): the
heads' attention of projected q (N, L, E), k (N, S, E), v (N, S, Ev) merged into out
(N, L, Ev), and the attention weights, transposed: (N, H, S, L). ``k`` and ``v`` None: ``q``
is the packed (N, L, 3E) projection q|k|v. ``mask``: added to the scores, broadcast
against (N, H, S, L); ``keep``: the dropout factor of each weight (0 or 1/(1 − p)); ``safe``:
a query whose keys are all masked gets weights 0 (NaN otherwise)."""
mha_backward = Primitive(_backward, name="mha_backward", multiple_outputs=True)
mha_forward.eager_quiet = mha_backward.eager_quiet = True  # inf and nan silently, as PyTorch's
"""mha_backward(g_out, g_weights, q, k, v, weights, keep=None, heads=1, scale=1.0) -> (dq,
dk, dv, ds), or (dqkv, ds) for a packed q|k|v: the cotangents of the projections and of the
(masked) scores."""


def _forward_vjp(g, ans, argnums, q, k, v, mask=None, keep=None, heads=1, scale=1.0, safe=False):
    *grads, ds = mha_backward(*g, q, k, v, ans[1], keep, heads=heads, scale=scale)
    out = [*grads, None, None, None][:5]
    if 3 in argnums:  # a float mask that is differentiated: the scores' cotangent
        out[3] = unbroadcast(ds, mask)
    return out


def_joint_vjp(mha_forward, _forward_vjp)
def_jvps(mha_forward, *(_body_jvp(_forward, i) for i in range(4)))
def_joint_vjp(mha_backward, _body_vjp(_backward))
def_jvps(mha_backward, *(_body_jvp(_backward, i) for i in range(6)))


# -- batching for vmap: the examples of a batch merge into the N axis ------------------------------
# Arguments are "rows" (an N axis in front: projections, weights, cotangents) or "masks"
# (broadcast against (N, H, S, L) from the right: the mask, the dropout factors).
def _merge(x, batched: bool, kind: str, size: int, n: int):
    """(B, N, ...) -> (B·N, ...); a mask without an N axis of its own stays as it is
    unless it is batched."""
    if x is None:
        return None
    rank = len(x.shape) - batched
    if kind == "mask" and rank < 4:
        if not batched:
            return x
        x = cnp.reshape(x, (size, *(1,) * (4 - rank), *x.shape[1:]))  # an example of rank 4
    if kind == "rows":
        x = x if batched else cnp.broadcast_to(x, (size, *x.shape))
    else:
        x = cnp.broadcast_to(x, (size, n, *x.shape[-3:]))
    return cnp.reshape(x, (size * n, *x.shape[2:]))


def _batch(kinds):
    def rule(prim, batched, *args, **kwargs):
        size = next(a.shape[0] for a, b in zip(args, batched, strict=False) if b)
        row = next(i for i, kind in enumerate(kinds) if kind == "rows" and args[i] is not None)
        n = args[row].shape[1 if batched[row] else 0]
        merged = [_merge(a, b, kind, size, n) for a, b, kind in zip(args, batched, kinds, strict=False)]
        return tuple(cnp.reshape(o, (size, n, *o.shape[1:])) for o in prim(*merged, **kwargs))

    return rule


def_batch(_batch(("rows", "rows", "rows", "mask", "mask")), mha_forward)
def_batch(_batch(("rows",) * 6 + ("mask",)), mha_backward)

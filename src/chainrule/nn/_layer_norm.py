"""Layer normalisation as a fused pair of primitives: ``layer_norm_forward`` normalises
each row and applies the elementwise scale and shift, ``layer_norm_backward`` returns the
cotangents of the input, the scale and the shift in one pass over the rows.

Composed, a layer norm is three nodes (normalise, scale, shift) and its backward pass
about a dozen passes over the input's size, four of them NumPy reductions along short
rows (a mean over the last axis of a (2048, 128) float32 array takes about five times as
long as the same sums by one matrix-vector product). The pair works on the input as a
matrix of rows, (M, D) with D the normalised size: the rows' means and mean squares are
matrix-vector products with a vector of 1/D, the dot products of rows are one ``einsum``,
the scale's and shift's cotangents are products with a vector of ones, and every
elementwise step writes into an array of its own. With x̂ = (x − mean)·r and
r = 1/√(var + eps):

    y = x̂·w + b,   ∂x = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = g·w,   ∂w = Σ g·x̂,   ∂b = Σ g.

Both bodies are written once with ``chainrule.numpy`` and run as the LSTM's do (see
``chainrule.nn._lstm``), so the pair differentiates to any order.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import Primitive, def_batch, def_joint_vjp, def_jvps
from chainrule.nn._lstm import _body_jvp, _body_vjp, _buffers, _dtype
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import shape_of

__all__ = ["layer_norm_forward", "layer_norm_backward"]


def _column(v):
    return cnp.reshape(v, (-1, 1))


def _in_place(buffers: bool, a):
    """Where a step may write its result: over ``a`` (an array of the body's own), or nowhere."""
    return a if buffers else None


# -- forward: x (..., D...) -> y, x̂ (both x's shape), r (M,) ---------------------------------
def _forward(x, weight, bias=None, width=1, eps=1e-5):
    buffers = _buffers(x, weight, bias)
    xp = np if buffers else cnp
    rows = cnp.reshape(x, (-1, width))
    mean_of = np.full(width, 1.0 / width, dtype=_dtype(x) if _dtype(x).kind == "f" else np.float64)
    centred = xp.subtract(rows, _column(cnp.matmul(rows, mean_of)))
    variance = xp.multiply(cnp.einsum("ij,ij->i", centred, centred), 1.0 / width)
    rstd = xp.divide(1.0, xp.sqrt(xp.add(variance, eps, out=_in_place(buffers, variance)),
                                  out=_in_place(buffers, variance)), out=_in_place(buffers, variance))
    xhat = xp.multiply(centred, _column(rstd), out=_in_place(buffers, centred))
    y = xp.multiply(xhat, cnp.reshape(weight, (-1,)))
    if bias is not None:
        y = xp.add(y, cnp.reshape(bias, (-1,)), out=_in_place(buffers, y))
    return cnp.reshape(y, x.shape), cnp.reshape(xhat, x.shape), rstd


# -- backward: cotangents of (y, x̂, r) -> of (x, weight, bias) ----------------------------------
def _backward(g, g_xhat, g_rstd, xhat, rstd, weight, width=1, bias_shape=None):
    buffers = _buffers(g, g_xhat, g_rstd, xhat, rstd, weight)
    xp = np if buffers else cnp
    shape, dtype = xhat.shape, _dtype(xhat)
    xhat = cnp.reshape(xhat, (-1, width))
    ones = np.ones(xhat.shape[0], dtype=dtype)
    gh = None  # the cotangent of x̂
    dw = cnp.zeros(weight.shape, dtype)  # (when only x̂ or r are differentiated)
    db = None if bias_shape is None else cnp.zeros(bias_shape, dtype)
    if g is not None:
        g = cnp.reshape(g, (-1, width))
        dw = cnp.reshape(cnp.matmul(ones, xp.multiply(g, xhat)), weight.shape)
        db = None if bias_shape is None else cnp.reshape(cnp.matmul(ones, g), bias_shape)
        gh = xp.multiply(g, cnp.reshape(weight, (-1,)))
    if g_xhat is not None:
        g_xhat = cnp.reshape(g_xhat, (-1, width))
        gh = g_xhat if gh is None else xp.add(gh, g_xhat, out=_in_place(buffers, gh))
    dx = None
    if gh is not None:
        mean_of = np.full(width, 1.0 / width, dtype=dtype)
        along = xp.multiply(cnp.einsum("ij,ij->i", gh, xhat), 1.0 / width)  # mean(ĝ·x̂) of each row
        dx = xp.subtract(gh, _column(cnp.matmul(gh, mean_of)))
        dx = xp.subtract(dx, xp.multiply(xhat, _column(along)), out=_in_place(buffers, dx))
        dx = xp.multiply(dx, _column(rstd), out=_in_place(buffers, dx))
    if g_rstd is not None:  # ∂r/∂x = −r²·x̂ / D
        term = xp.multiply(xhat, _column(xp.multiply(xp.multiply(g_rstd, rstd), rstd) * (-1.0 / width)))
        dx = term if dx is None else xp.add(dx, term, out=_in_place(buffers, dx))
    dx = cnp.reshape(dx, shape)
    return (dx, dw) if db is None else (dx, dw, db)


layer_norm_forward = Primitive(_forward, name="layer_norm_forward", multiple_outputs=True)
"""layer_norm_forward(x, weight, bias=None, width=D, eps=1e-5) -> (y, x̂, r): each run of
``width`` trailing elements of x normalised, x̂, then y = x̂·weight + bias; r (M,) is each
row's 1/√(var + eps)."""
layer_norm_backward = Primitive(_backward, name="layer_norm_backward", multiple_outputs=True)
layer_norm_forward.eager_quiet = layer_norm_backward.eager_quiet = True  # inf and nan silently, as PyTorch's
"""layer_norm_backward(g, g_xhat, g_rstd, x̂, r, weight, width=D, bias_shape=None) -> (dx,
dweight, dbias), without dbias when ``bias_shape`` is None: the cotangents of the input and
the affine parameters."""


def _forward_vjp(g, ans, argnums, x, weight, bias=None, width=1, eps=1e-5):
    grads = layer_norm_backward(*g, ans[1], ans[2], weight, width=width,
                                bias_shape=None if bias is None else bias.shape)
    return (*grads, None)[:3]


def_joint_vjp(layer_norm_forward, _forward_vjp)
def_jvps(layer_norm_forward, *(_body_jvp(_forward, i) for i in range(3)))
def_joint_vjp(layer_norm_backward, _body_vjp(_backward))
def_jvps(layer_norm_backward, *(_body_jvp(_backward, i) for i in range(6)))


# -- batching for vmap -------------------------------------------------------------------------
# The examples of a batch are more rows; the parameters' cotangents are summed over each
# example's rows. Where each example has parameters of its own (an ensemble's stacked
# weights), the rows are normalised with a unit scale and each example's scale and shift
# applied by broadcasting.
def _per_example(v, b, size: int, ndim: int):
    """A parameter of each example (batched or not), shaped to broadcast against a batched
    input of ``ndim`` axes."""
    v = batching.with_batch(v, b, size)
    shape = shape_of(v)
    return cnp.reshape(v, (size, *(1,) * (ndim - len(shape)), *shape[1:]))


def _batch_forward(prim, batched, x, weight, bias=None, **kwargs):
    has_bias = len(batched) > 2 and bias is not None
    if not batched[1] and not (has_bias and batched[2]):
        y, xhat, rstd = prim(x, weight, bias, **kwargs)
        return y, xhat, cnp.reshape(rstd, (x.shape[0], -1))
    size = batching.batch_size((x, weight, bias)[:len(batched)], batched)
    x = batching.with_batch(x, batched[0], size)
    unit = np.ones(shape_of(weight)[1:] if batched[1] else shape_of(weight), _dtype(x))
    _, xhat, rstd = prim(x, unit, None, **kwargs)
    ndim = len(shape_of(x))
    y = xhat * _per_example(weight, batched[1], size, ndim)
    if has_bias:
        y = y + _per_example(bias, batched[2], size, ndim)
    return y, xhat, cnp.reshape(rstd, (size, -1))


def _batch_backward(prim, batched, g, g_xhat, g_rstd, xhat, rstd, weight, width=1, bias_shape=None):
    args = (g, g_xhat, g_rstd, xhat, rstd, weight)
    size = batching.batch_size(args, batched)
    g, g_xhat, g_rstd, xhat, rstd = (None if a is None else batching.with_batch(a, b, size)
                                     for a, b in zip(args[:5], batched, strict=False))
    flat = [None if a is None else cnp.reshape(a, (-1,)) for a in (g_rstd, rstd)]
    if batched[5]:  # each example's own scale: the cotangent of x̂ through it, then a unit scale
        scaled = None if g is None else g * _per_example(weight, True, size, len(shape_of(g)))
        gh = scaled if g_xhat is None else g_xhat if scaled is None else scaled + g_xhat
        unit = np.ones(shape_of(weight)[1:], _dtype(xhat))
        dx = prim(None, gh, flat[0], xhat, flat[1], unit, width=width)[0]
        weight_shape = shape_of(weight)[1:]
    else:
        dx = prim(g, g_xhat, flat[0], xhat, flat[1], weight, width=width)[0]
        weight_shape = shape_of(weight)

    def per_example(a):  # Σ over each example's rows
        return cnp.sum(cnp.reshape(a, (size, -1, width)), axis=1)

    dtype = _dtype(xhat)
    dw = cnp.zeros((size, *weight_shape), dtype) if g is None else \
        cnp.reshape(per_example(g * xhat), (size, *weight_shape))
    if bias_shape is None:
        return dx, dw
    return dx, dw, (cnp.zeros((size, *bias_shape), dtype) if g is None else
                    cnp.reshape(per_example(g), (size, *bias_shape)))


def_batch(_batch_forward, layer_norm_forward)
def_batch(_batch_backward, layer_norm_backward)

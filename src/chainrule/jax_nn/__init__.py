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
    swish,
)
from chainrule.transforms.custom import stop_gradient

__all__ = [
    "relu", "relu6", "sigmoid", "softplus", "silu", "swish", "log_sigmoid", "leaky_relu", "elu", "celu", "selu",
    "gelu", "glu", "mish", "tanh", "hard_tanh", "hard_sigmoid", "hard_silu", "hard_swish", "soft_sign", "squareplus",
    "sparse_plus", "sparse_sigmoid", "log1mexp", "identity", "softmax", "log_softmax", "logsumexp", "logmeanexp",
    "standardize", "one_hot", "initializers",
]


def relu(x):
    """max(x, 0), with derivative 0 at 0 and at NaN (as JAX's; PyTorch's is 1 at NaN)."""
    c = undifferentiated(x)
    return cnp.where(c > 0, x, cnp.maximum(c, 0.0))


def relu6(x):
    """min(max(x, 0), 6), with derivative 0 at 0 and 6 and at NaN (as JAX's)."""
    c = undifferentiated(x)
    return cnp.where((c > 0) & (c < 6), x, cnp.clip(c, 0.0, 6.0))


def sigmoid(x):
    return F.sigmoid(x)


def tanh(x):
    return cnp.tanh(x)


def softplus(x):
    """log(1 + exp(x)), as ``logaddexp(x, 0)``."""
    return cnp.logaddexp(x, 0.0)


def silu(x):
    """x · sigmoid(x)."""
    return F.silu(x)


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
    return F.glu(x, dim=axis)


def mish(x):
    """x · tanh(softplus(x))."""
    return x * cnp.tanh(softplus(x))


def _masked(x, where, fill):
    return x if where is None else cnp.where(where, x, fill)


def softmax(x, axis=-1, where=None):
    """exp(x) / sum(exp(x)) along ``axis`` (entries where ``where`` is False are 0)."""
    shifted = x - cnp.max(_masked(stop_gradient(x), where, -np.inf), axis=axis, keepdims=True)
    e = _masked(cnp.exp(shifted), where, 0.0)
    return e / cnp.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=-1, where=None):
    """x − logsumexp(x) along ``axis`` (entries where ``where`` is False are −inf)."""
    shifted = x - cnp.max(_masked(stop_gradient(x), where, -np.inf), axis=axis, keepdims=True)
    total = cnp.sum(_masked(cnp.exp(shifted), where, 0.0), axis=axis, keepdims=True)
    return _masked(shifted - cnp.log(total), where, -np.inf)


def one_hot(x, num_classes: int, *, dtype=None, axis: int = -1):
    """1.0 where ``x`` equals the class index along a new ``axis`` (float64 by default);
    indices outside [0, num_classes) give a row of zeros."""
    x = cnp.asarray(x)
    axis = axis % (cnp.ndim(x) + 1)
    classes = cnp.reshape(np.arange(num_classes), (num_classes,) + (1,) * (cnp.ndim(x) - axis))
    return cnp.astype(cnp.expand_dims(x, axis) == classes, np.float64 if dtype is None else dtype)

"""Dropout, the ``torch.nn.functional`` way: ``dropout`` (each element), ``dropout1d``,
``dropout2d``, ``dropout3d`` (whole channels), ``alpha_dropout`` and
``feature_alpha_dropout`` (for SELU networks: dropped values set to SELU's negative
saturation and the result rescaled to keep the mean and variance); ``rrelu``, the
leaky ReLU whose slope is drawn at random in training; and ``gumbel_softmax``.

Masks are drawn from ``rng`` (a NumPy Generator or seed; default the global generator
that ``chainrule.manual_seed`` seeds), a new one every call, every replay under
``chainrule.jit`` and every example under ``vmap``. ``inplace=True`` writes the result
into an eager input, as PyTorch's (:mod:`chainrule.nn._inplace`).

>>> import numpy as np
>>> x = np.ones((2, 3, 4))
>>> y = dropout1d(x, 0.5, rng=0)   # each (sample, channel) row kept whole or zeroed
>>> sorted(set(y.reshape(6, 4).std(axis=1).tolist()))
[0.0]
"""

from __future__ import annotations

import math
import warnings

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.errors import TensorError
from chainrule.core.rng import randomness_of
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.nn import _ops
from chainrule.nn._inplace import in_place
from chainrule.nn.init import get_generator
from chainrule.numpy import batching
from chainrule.numpy.torch_common import floating_kernel, not_floating_eager, scalar_type_name

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout", "rrelu",
           "rrelu_", "gumbel_softmax"]

# −scale·α of SELU: the value a SELU unit saturates to, which alpha dropout drops to
_SELU_SATURATION = 1.7580993408473766


def _check(name: str, p, inplace) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability must be between 0 and 1, got {p}")
    if not isinstance(inplace, bool):
        raise TypeError(f"{name}: inplace must be True or False, got {inplace!r} (pass the generator as rng=)")


def _floating_mask(input, p: float, name: str) -> None:
    """PyTorch's refusal of dropout (0 < p < 1, in training) of an eager integer or bool
    Tensor: the scaled mask is float, which it cannot cast back."""
    if 0.0 < p < 1.0 and not_floating_eager(input):
        raise TensorError(f"{name}: result type Float can't be cast to the desired output type "
                          f"{scalar_type_name(input.dtype)}; convert the input with .float() first")


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False, rng=None):
    """Zero each element with probability ``p`` and scale the rest by 1/(1−p) (inverted
    dropout), in training; the identity otherwise.

    >>> import numpy as np
    >>> sorted(set(dropout(np.ones(100), 0.5, rng=0).tolist()))
    [0.0, 2.0]
    """
    _check("dropout", p, inplace)
    if training:
        _floating_mask(input, p, "dropout")
    if inplace:
        if not training or p == 0.0:  # the input untouched, as PyTorch returns it: no write is counted
            return input
        return in_place(dropout, input, "dropout_", p, training, False, rng)
    return inverted_dropout(input, p, training, rng)


def _channels(input, p: float, training: bool, rng, alpha: bool = False):
    """Dropout of whole channels: one draw per (sample, channel), the mask (N, C, 1, ...)."""
    if not training or p == 0.0:
        return input
    _floating_mask(input, p, "alpha_dropout" if alpha else "dropout")
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _alpha(input, p, rng, shape) if alpha else input * dropout_factor(input, shape, p, rng)


def _alpha(input, p: float, rng, shape):
    """x·a·keep + b: dropped values go to −α' (SELU's saturation), then the affine map
    a(·) + c that restores zero mean and unit variance (PyTorch's arithmetic)."""
    if p == 1.0:
        return input * 0.0
    keep = dropout_keep(input, shape, p, rng) * 1.0
    a = 1.0 / math.sqrt((_SELU_SATURATION**2 * p + 1) * (1 - p))
    return input * (keep * a) + ((keep - 1) * (_SELU_SATURATION * a) + _SELU_SATURATION * a * p)


def _unbatched(fn, input, batched_ndim: int):
    """``fn`` of ``input`` with a batch axis of one added when it has none."""
    if input.ndim == batched_ndim:
        return fn(input)
    return fn(input[None])[0]


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False, rng=None):
    """Zero whole channels of a (N, C, L) or (C, L) input with probability ``p``, scaling
    the rest by 1/(1−p)."""
    _check("dropout1d", p, inplace)
    if inplace:
        return in_place(dropout1d, input, "dropout1d_", p, training, False, rng)
    if input.ndim not in (2, 3):
        raise TensorError(f"dropout1d: expected a (N, C, L) or (C, L) input, got shape {tuple(input.shape)}")
    return _unbatched(lambda x: _channels(x, p, training, rng), input, 3)


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False, rng=None):
    """Zero whole channels of a (N, C, H, W) input with probability ``p``. PyTorch's
    handling of other inputs, with its warnings: a 3-d input is taken as (N, C, L), and
    any other as (N, C, ...)."""
    _check("dropout2d", p, inplace)
    if inplace:
        return in_place(dropout2d, input, "dropout2d_", p, training, False, rng)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: a {input.ndim}-d input is deprecated (PyTorch's too): dropout2d is for "
                      "(N, C, H, W) or (C, H, W) inputs; use dropout for elementwise dropout",
                      UserWarning, stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: a 3-d input is taken as (N, C, L), as PyTorch does: use dropout1d for that, "
                      "or add the batch axis to a (C, H, W) input", UserWarning, stacklevel=2)
    return _channels(input, p, training, rng)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False, rng=None):
    """Zero whole channels of a (N, C, D, H, W) or (C, D, H, W) input with probability ``p``."""
    _check("dropout3d", p, inplace)
    if inplace:
        return in_place(dropout3d, input, "dropout3d_", p, training, False, rng)
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: a {input.ndim}-d input is deprecated (PyTorch's too): dropout3d is for "
                      "(N, C, D, H, W) or (C, D, H, W) inputs", UserWarning, stacklevel=2)
    return _unbatched(lambda x: _channels(x, p, training, rng), input, 5)


def alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False, rng=None):
    """Dropout that keeps SELU's self-normalisation: each element dropped with probability
    ``p`` to SELU's negative saturation, then all rescaled to zero mean and unit variance.
    (``training`` defaults to False, as in PyTorch.)"""
    _check("alpha_dropout", p, inplace)
    if inplace:
        return in_place(alpha_dropout, input, "alpha_dropout_", p, training, False, rng)
    if not training or p == 0.0:
        return input
    _floating_mask(input, p, "alpha_dropout")
    return _alpha(input, p, rng, tuple(input.shape))


def feature_alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False, rng=None):
    """:func:`alpha_dropout` of whole channels of a (N, C, ...) input."""
    _check("feature_alpha_dropout", p, inplace)
    if inplace:
        return in_place(feature_alpha_dropout, input, "feature_alpha_dropout_", p, training, False, rng)
    return _channels(input, p, training, rng, alpha=True)


def rrelu(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, inplace: bool = False,
          rng=None):
    """The randomized leaky ReLU (Xu et al., 2015), as ``torch.nn.functional.rrelu``: x
    where x > 0, a·x elsewhere (NaN passes with slope 1), each a drawn uniformly from
    [``lower``, ``upper``] in training, and a = (lower + upper)/2 otherwise (a leaky ReLU).
    The derivative is the slope each element was given.

    >>> import numpy as np
    >>> rrelu(np.array([-2.0, 3.0]), 0.1, 0.3).tolist()
    [-0.4, 3.0]
    >>> y = rrelu(np.full(1000, -1.0), training=True, rng=0)
    >>> bool(np.all((-1 / 3 <= y) & (y <= -1 / 8))), len(set(y.tolist())) > 900
    (True, True)
    """
    if not lower <= upper:
        raise TensorError(f"rrelu: the lower bound {lower} should be less than or equal to the upper bound {upper}")
    if not isinstance(inplace, bool):
        raise TypeError(f"rrelu: inplace must be True or False, got {inplace!r} (pass the generator as rng=)")
    floating_kernel(input, "rrelu_with_noise_out_cpu" if training else "leaky_relu_cpu")
    if inplace:
        return in_place(rrelu, input, "rrelu_", lower, upper, training, rng=rng)
    if not training:
        return _ops.leaky_relu(input, negative_slope=(lower + upper) / 2)
    if not isinstance(input, Tensor):
        input = np.asarray(input)
    slope = uniform_draw(input, input.shape, rng) * (upper - lower) + lower
    return input * cnp.where(input <= 0, slope, 1)


def rrelu_(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, rng=None):
    """:func:`rrelu` written into ``input`` (PyTorch's ``F.rrelu_``)."""
    return rrelu(input, lower, upper, training, True, rng=rng)


def gumbel_softmax(logits, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1, rng=None):
    """A sample of the Gumbel-softmax (concrete) distribution (Jang et al., 2016), as
    ``torch.nn.functional.gumbel_softmax``: softmax((logits + g) / tau) along ``dim``, g
    Gumbel(0, 1) noise (from ``rng``, default the global generator); ``hard=True`` gives
    the one-hot vector of its largest entry with the soft sample's gradient (straight-through).

    >>> import numpy as np
    >>> y = gumbel_softmax(np.zeros((4, 3)), hard=True, rng=0)
    >>> y.sum(axis=1).tolist(), sorted(set(y.ravel().tolist()))
    ([1.0, 1.0, 1.0, 1.0], [0.0, 1.0])
    """
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    if not_floating_eager(logits):
        raise TensorError("gumbel_softmax: Exponential distribution is a continuous probability distribution. dtype "
                          f"must be a floating point but you specified {scalar_type_name(logits.dtype)}; convert the "
                          "logits with .float() first")
    if not isinstance(logits, Tensor):
        logits = np.asarray(logits)
    u = uniform_draw(logits, logits.shape, rng)
    exponential = np.maximum(-np.log1p(-u), np.finfo(u.dtype).tiny) if isinstance(u, np.ndarray) else -cnp.log1p(-u)
    z = (logits - cnp.log(exponential)) / tau
    z = z - undifferentiated(cnp.max(z, axis=dim, keepdims=True))
    e = cnp.exp(z)
    y = e / cnp.sum(e, axis=dim, keepdims=True)
    if not hard:
        return y
    soft = undifferentiated(y)
    top = cnp.equal(soft, cnp.max(soft, axis=dim, keepdims=True))
    first = cnp.logical_and(top, cnp.cumsum(top, axis=dim) == 1)  # the first of equal largest entries
    one_hot = cnp.astype(first, soft.dtype)
    return one_hot - soft + y


# -- dropout: a random mask times a constant, so no primitive of its own ------------------------
def inverted_dropout(input, p: float = 0.5, training: bool = True, rng=None):
    """Inverted dropout, without :func:`dropout`'s checks of its arguments (a layer's own
    dropout, attention's, calls it)."""
    if not 0.0 <= p <= 1.0:
        raise TensorError(f"dropout probability must be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:  # (integers and bools keep their dtype, as PyTorch's)
        return input * 0.0 if np.dtype(getattr(input, "dtype", np.float64)).kind in "fc" else cnp.zeros_like(input)
    return input * dropout_factor(input, input.shape, p, rng)


def dropout_factor(like, shape, p: float, rng=None):
    """What inverted dropout multiplies an array of ``shape`` by: 1/(1 − p) where an
    element is kept (probability 1 − p), 0 where it is dropped, in ``like``'s dtype; a
    new draw from ``rng`` each call (under chainrule.jit, each replay of a program that
    computes ``like``), for 0 < p ≤ 1."""
    keep = dropout_keep(like, shape, p, rng)
    return (keep * (1.0 / (1.0 - p) if p < 1.0 else 0.0)).astype(_dtype_of(like), copy=False)


def dropout_keep(like, shape, p: float, rng=None):
    """The kept elements of a dropout mask of ``shape`` (True with probability 1 − p),
    drawn as :func:`dropout_factor` draws them."""
    return uniform_draw(like, shape, rng) >= p


def uniform_draw(like, shape, rng=None):
    """Uniform draws in [0, 1) of ``shape`` from ``rng``, float32 for a float32 ``like``
    (float64 otherwise): a new draw each call, each replay under chainrule.jit of a
    program that computes ``like``, and each example under vmap."""
    draw_dtype = np.float32 if _dtype_of(like) == np.float32 else np.float64
    traced = undifferentiated(like)
    if isinstance(traced, Tensor):  # under chainrule.jit: each replay draws anew
        return traced._trace.record(_draw_uniform, (rng, tuple(shape), draw_dtype), {},
                                    effect="draw", rng=lambda: get_generator(rng))
    return _draw_uniform(rng, tuple(shape), draw_dtype)


def _dtype_of(like) -> np.dtype:
    return like.dtype if isinstance(like, Tensor | np.ndarray) else np.result_type(like)


def _draw_uniform(rng, shape, dtype):
    return get_generator(rng).random(shape, dtype=dtype)


# Under vmap each example draws its own mask: one draw of the batch's shape (one mask for
# all under torch.func's randomness="same").
def _batch_draw_uniform(trace, fun, batched, rng, shape, dtype):
    if randomness_of(trace) == "same":  # torch.func.vmap(..., randomness="same"): one mask for all
        return batching.with_batch(trace.call_below(fun, rng, shape, dtype), False, trace.size)
    return trace.call_below(fun, rng, (trace.size, *shape), dtype)


batching.NONDIFF_BATCH[_draw_uniform] = _batch_draw_uniform

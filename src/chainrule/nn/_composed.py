"""More of ``torch.nn.functional``, composed from the mirror's differentiable functions:
activations (``elu``, ``selu``, ``celu``, ``relu6``, ``hardtanh``, ``hardswish``,
``hardsigmoid``, ``softsign``, ``tanhshrink``, ``mish``, ``softmin``, ``glu``), ``pad``,
``bilinear``, ``rms_norm``,
distances (``normalize``, ``cosine_similarity``, ``pairwise_distance``) and losses
(``kl_div``, ``huber_loss``, ``poisson_nll_loss``, ``gaussian_nll_loss``,
``margin_ranking_loss``, ``triplet_margin_loss``, ``soft_margin_loss``,
``cosine_embedding_loss``, ``hinge_embedding_loss``, ``multi_margin_loss``,
``multilabel_soft_margin_loss``, ``multilabel_margin_loss``). Being compositions, each
differentiates in both modes, to any order, and batches under ``vmap``; derivatives at a
kink and at NaN follow PyTorch's (0 at the ends of ``hardtanh``'s range; the left branch's
at 0 for ``elu``; at NaN the derivative of the branch that PyTorch's comparison leaves it
in, as its kernels compute a Tensor of up to 7 elements: a longer one may differ there,
as its vectorised kernels compare otherwise). Each branch is computed only where it is
taken, so a NaN or an infinity in the other branch reaches neither the value nor the
derivative.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.errors import DimensionError, TensorError, TensorTypeError
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.trace import eager_quiet
from chainrule.nn import _ops
from chainrule.nn._inplace import in_place
from chainrule.nn._reduction import reduction_of
from chainrule.numpy.nondiff import anywhere, every, whole_batch
from chainrule.numpy.selection import clamp
from chainrule.numpy.torch_common import floating_kernel, floating_only, not_bool
from chainrule.numpy.torch_extra import pdist
from chainrule.numpy.torch_linalg import pytorch_vector_norm
from chainrule.numpy.torch_shape import checked_dim
from chainrule.numpy.torch_special_functions import xlogy as torch_xlogy

__all__ = [
    "elu", "selu", "celu", "relu6", "hardtanh", "hardswish", "hardsigmoid", "softsign",
    "tanhshrink", "mish", "softmin", "glu", "pad", "normalize", "cosine_similarity",
    "pairwise_distance", "kl_div", "huber_loss", "poisson_nll_loss", "gaussian_nll_loss",
    "margin_ranking_loss", "triplet_margin_loss",
    "triplet_margin_with_distance_loss", "softshrink", "hardshrink", "threshold", "prelu",
    "softmax_input", "soft_margin_loss", "cosine_embedding_loss", "hinge_embedding_loss",
    "multi_margin_loss", "multilabel_soft_margin_loss", "multilabel_margin_loss", "bilinear", "rms_norm",
    "elu_", "selu_", "celu_", "hardtanh_", "threshold_", "pdist",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


# -- activations ------------------------------------------------------------------------------
def _left(input, at):
    """``input`` where ``at``, else 0 (a branch's argument that only its own elements reach)."""
    return cnp.where(at, input, 0.0)


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """x where x > 0, α (eˣ − 1) elsewhere (the exponential only of x ≤ 0: no overflow);
    derivative α at 0 and 1 at NaN, as PyTorch's.

    >>> import numpy as np
    >>> elu(np.array([-1.0, 2.0])).round(4).tolist()
    [-0.6321, 2.0]
    """
    floating_kernel(input, "elu_cpu")
    if inplace:
        return in_place(elu, input, "elu_", alpha)
    return _ops.elu(input, alpha=alpha)


def selu(input, inplace: bool = False):
    """scale · elu(x, α) with PyTorch's constants."""
    floating_kernel(input, "elu_cpu")
    if inplace:
        return in_place(selu, input, "selu_")
    return _ops.elu(input, alpha=_SELU_ALPHA, scale=_SELU_SCALE)


def celu(input, alpha: float = 1.0, inplace: bool = False):
    """x where x > 0, α (exp(x/α) − 1) elsewhere (derivatives as :func:`elu`'s)."""
    floating_kernel(input, "elu_cpu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU (it divides x)")
    if inplace:
        return in_place(celu, input, "celu_", alpha)
    if alpha == 0:
        raise TensorError("celu: alpha must not be 0 (it divides the input)")
    return _ops.elu(input, alpha=alpha, input_scale=1.0 / alpha)


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """x clipped to [min_val, max_val]; derivative 1 strictly inside (and at NaN), 0 elsewhere
    (PyTorch's)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return hardtanh_(input, min_val, max_val) if inplace else _hardtanh(input, min_val, max_val)


def hardtanh_(input, min_val: float = -1.0, max_val: float = 1.0):
    """:func:`hardtanh` in place (as PyTorch's, min_val > max_val gives max_val everywhere)."""
    return in_place(_hardtanh, input, "hardtanh_", min_val, max_val)


def _hardtanh(input, min_val, max_val):
    x = undifferentiated(not_bool(input, "hardtanh"))
    outside = (x <= min_val) | (x >= max_val)
    clipped = cnp.clip(x, min_val, max_val)
    if isinstance(x, np.ndarray) and x.dtype.kind in "iu":  # integers stay integers, as in PyTorch
        clipped = cnp.astype(clipped, x.dtype)
    return cnp.where(outside, clipped, input)


def relu6(input, inplace: bool = False):
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


# PyTorch's hardsigmoid kernel takes its slope 1/6 in float32, for float64 too
_SIXTH = float(np.float32(1 / 6))


@eager_quiet
def hardsigmoid(input, inplace: bool = False):
    """relu6(x + 3) / 6; its derivative is PyTorch's: 1/6 rounded to float32 strictly
    inside (−3, 3), 0 elsewhere and at NaN."""
    floating_kernel(input, "hardsigmoid_cpu")
    if inplace:
        return in_place(hardsigmoid, input, "hardsigmoid_")
    x = undifferentiated(input)
    inside = (x > -3.0) & (x < 3.0)
    value = cnp.clip(x + 3.0, 0.0, 6.0) / 6.0
    return cnp.where(inside, value + _SIXTH * (input - x), value)


@eager_quiet
def hardswish(input, inplace: bool = False):
    """x · relu6(x + 3) / 6; derivative 0 up to −3, x/3 + 1/2 up to 3, 1 above and at NaN
    (PyTorch's). Above 3 it is x · 6 / 6, as PyTorch computes it: inf where x · 6
    overflows (float32's 3e38)."""
    floating_kernel(input, "hardswish_cpu")
    if inplace:
        return in_place(hardswish, input, "hardswish_")
    x = undifferentiated(input)
    low, middle = x <= -3.0, (x > -3.0) & (x < 3.0)
    inner = _left(input, middle)
    return cnp.where(middle, inner * (inner + 3.0) / 6.0, cnp.where(low, 0.0 * x, input * 6.0 / 6.0))


def softsign(input):
    """x / (1 + |x|) (of a bool x, PyTorch's refusal of its absolute value)."""
    if np.dtype(getattr(input, "dtype", np.float64)).kind == "b":
        floating_kernel(input, "abs_cpu")
    return input / (1 + cnp.abs(input))


@eager_quiet
def tanhshrink(input):
    """x − tanh(x) (a bool x refused, as PyTorch refuses its subtraction)."""
    return not_bool(input, "tanhshrink") - cnp.tanh(input)


@eager_quiet
def mish(input, inplace: bool = False):
    """x · tanh(softplus(x))."""
    floating_kernel(input, "mish_cpu")
    if inplace:
        return in_place(mish, input, "mish_")
    return input * cnp.tanh(_ops.softplus(input))


def softmax_input(name: str, input, dim: int | None, dtype):
    """``(input, dim)`` for the softmax family: ``input`` cast to ``dtype`` (if given, before
    the operation, as PyTorch does) and ``dim``, or PyTorch's implicit choice when it is
    None (the first axis of a 0-, 1- or 3-dimensional input, else the second), with the
    warning PyTorch gives there: the implicit choice is deprecated, name the axis."""
    if dim is not None:  # PyTorch checks the dimension's range first, then the dtype
        checked_dim(input, dim)
    if isinstance(input, Tensor):  # (a NumPy array of integers computes in floating point, as NumPy's)
        floating_only(input, dtype, f"{name}: the input must be a floating point Tensor")
    if dtype is not None:
        input = cnp.astype(input, dtype)
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                      "include dim=X as an argument.", UserWarning, stacklevel=3)
        dim = 0 if cnp.ndim(input) in (0, 1, 3) else 1
    return input, dim


def softmin(input, dim: int | None = None, dtype=None):
    """softmax(−x) along ``dim`` (see :func:`softmax` for ``dim=None``)."""
    input, dim = softmax_input("softmin", input, dim, dtype)
    return _ops.softmax(-input, axis=dim)


def glu(input, dim: int = -1):
    """a · sigmoid(b), a and b the two halves of ``input`` along ``dim``."""
    if input.ndim == 0:
        raise TensorError("glu does not support scalars because halving size must be even; give a Tensor of at "
                          "least one dimension")
    n = input.shape[checked_dim(input, dim)]
    if n % 2:
        raise TensorError(f"glu: the size of dim {dim} must be even, not {n}")
    floating_kernel(input, "glu_cpu")
    a, b = cnp.split(input, 2, axis=dim)
    return a * _ops.sigmoid(b)


@eager_quiet
def softshrink(input, lambd: float = 0.5):
    """x − λ above λ, x + λ below −λ, 0 between (``torch.nn.functional.softshrink``).

    >>> import numpy as np
    >>> softshrink(np.array([-1.0, 0.2, 2.0])).tolist()
    [-0.5, 0.0, 1.5]
    """
    floating_kernel(input, "softshrink_check")
    if lambd < 0:
        raise TensorError(f"softshrink: lambd must be at least 0, got {lambd}")
    x = undifferentiated(input)
    inside = (x >= -lambd) & (x <= lambd)
    return cnp.where(inside, 0.0 * x, cnp.where(x > lambd, input - lambd, input + lambd))


@eager_quiet
def hardshrink(input, lambd: float = 0.5):
    """x where |x| > λ, 0 elsewhere.

    >>> import numpy as np
    >>> hardshrink(np.array([-1.0, 0.2, 2.0])).tolist()
    [-1.0, 0.0, 2.0]
    """
    floating_kernel(input, "hardshrink_cpu")
    x = undifferentiated(input)
    return cnp.where((x >= -lambd) & (x <= lambd), 0.0 * x + 0.0, input)  # (+0.0 at -0.0, as PyTorch's)


def threshold(input, threshold: float, value: float, inplace: bool = False):
    """x where x > threshold, ``value`` elsewhere.

    >>> import numpy as np
    >>> threshold(np.array([-1.0, 0.2, 2.0]), 0.5, 9.0).tolist()
    [9.0, 9.0, 2.0]
    """
    if np.dtype(getattr(input, "dtype", np.float64)).kind == "b":  # (integers keep their dtype, as PyTorch's)
        floating_kernel(input, "threshold_cpu")
    if inplace:
        return in_place(_threshold, input, "threshold_", threshold, value)
    return _threshold(input, threshold, value)


def _threshold(input, threshold: float, value: float):
    return cnp.where(undifferentiated(input) <= threshold, value, input)


def prelu(input, weight):
    """x where x > 0, weight·x elsewhere; ``weight`` one slope, or one per channel (axis 1).

    >>> import numpy as np
    >>> prelu(np.array([[-2.0, 3.0]]), np.array([0.25])).tolist()
    [[-0.5, 3.0]]
    """
    channels = input.shape[1] if input.ndim >= 2 else 1  # PyTorch's: no channel axis is one channel
    if weight.size not in (1, channels):
        raise TensorError(f"prelu: {weight.size} slopes for an input of shape {tuple(input.shape)}; give one slope "
                          f"or one per channel ({channels}, axis 1)")
    floating_kernel(input, "prelu_cpu")  # an integer input: refused as PyTorch refuses it
    if weight.size > 1:
        weight = cnp.reshape(weight, (1, -1) + (1,) * (input.ndim - 2))
    return cnp.where(undifferentiated(input) > 0, input, weight * input)


# -- padding ----------------------------------------------------------------------------------
_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(input, pad, mode: str = "constant", value: float | None = None):
    """``torch.nn.functional.pad``: ``pad`` gives (before, after) widths from the last axis
    backwards; ``mode`` 'constant' (with ``value``; negative widths crop), 'reflect',
    'replicate' or 'circular'.

    >>> import numpy as np
    >>> pad(np.ones((1, 2)), (1, 0), value=5.0).tolist()
    [[5.0, 1.0, 1.0]]
    """
    if mode not in _PAD_MODES:
        raise TensorError(f"pad: mode must be one of {sorted(_PAD_MODES)}, not {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise TensorError(f"pad: {len(pad)} widths for an input of {input.ndim} axes; give pairs "
                         "(before, after) for at most every axis, the last axis first")
    k = len(pad) // 2
    widths = [(0, 0)] * (input.ndim - k) + [(int(pad[2 * i]), int(pad[2 * i + 1])) for i in reversed(range(k))]
    if mode != "constant" and value:
        raise TensorError(f"pad: value is for mode='constant', not {mode!r}")
    if any(w < 0 for pair in widths for w in pair):
        if mode != "constant":
            raise TensorError(f"pad: negative widths (cropping) need mode='constant', not {mode!r}")
        crop = tuple(slice(max(-a, 0), n - max(-b, 0)) for (a, b), n in zip(widths, input.shape, strict=True))
        input = input[crop]
        widths = [(max(a, 0), max(b, 0)) for a, b in widths]
    if mode == "reflect":
        for (a, b), n in zip(widths, input.shape, strict=True):
            if max(a, b) >= n and (a or b):
                raise TensorError(f"pad: mode='reflect' needs widths smaller than the axis, not {(a, b)} for {n}")
    if mode == "constant":
        return cnp.pad(input, widths, mode="constant", constant_values=0.0 if value is None else value)
    return cnp.pad(input, widths, mode=_PAD_MODES[mode])


# -- products ----------------------------------------------------------------------------------
def bilinear(input1, input2, weight, bias=None):
    """y_o = Σ_ij x1_i W_oij x2_j (+ b_o) over the last axes of ``input1`` and ``input2``."""
    if np.ndim(weight) != 3:
        raise DimensionError(f"bilinear: the weight must be (out_features, in1_features, in2_features), got shape "
                             f"{tuple(np.shape(weight))}")
    out = cnp.einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias


# -- normalisation -----------------------------------------------------------------------------
@eager_quiet
def rms_norm(input, normalized_shape, weight=None, eps: float | None = None):
    """``input`` divided by the root mean square over its trailing ``normalized_shape``
    axes (Zhang & Sennrich, 2019), times ``weight``, in the input's dtype, as PyTorch's:
    float16 is computed in float32, and ``eps`` (added to the mean square) defaults to the
    machine epsilon of the dtype computed in (float32's for float16); a ``weight`` of
    another dtype does not change the result's.

    >>> import numpy as np
    >>> rms_norm(np.array([[3.0, 4.0]]), (2,)).round(4).tolist()
    [[0.8485, 1.1314]]
    """
    floating_kernel(input, "rms_norm")
    shape = (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise TensorError(f"rms_norm: normalized_shape {shape} is not the trailing shape of the input "
                         f"{tuple(input.shape)}")
    dtype = input.dtype
    x = cnp.astype(input, np.float32) if dtype == np.float16 else input
    if eps is None:
        eps = float(np.finfo(x.dtype if x.dtype.kind == "f" else np.float64).eps)
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    out = x / cnp.sqrt(cnp.mean(x * x, axis=axes, keepdims=True) + eps)
    if weight is not None:
        out = out * weight
    return out if out.dtype == dtype or dtype.kind != "f" else cnp.astype(out, dtype)


# -- distances ---------------------------------------------------------------------------------
@eager_quiet
def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12):
    """``input`` divided by its ``p``-norm along ``dim`` (at least ``eps``); integer and bool
    inputs and a ``dim`` out of range are refused, as PyTorch refuses them."""
    if np.dtype(getattr(input, "dtype", np.float64)).kind not in "fc":
        raise TensorError(f"normalize: linalg.vector_norm: Expected a floating point or complex tensor as input. "
                          f"Got {np.dtype(input.dtype).name}; convert with .float() or .double()")
    dim = checked_dim(input, dim)
    norm = pytorch_vector_norm(input, p, axis=dim if np.ndim(input) else None, keepdims=True)
    # (clamp selects, as PyTorch's clamp_min: maximum's mask times an infinite cotangent was NaN)
    return input / clamp(norm, eps, None)


@eager_quiet
def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8):
    """The cosine of the angle between ``x1`` and ``x2`` along ``dim`` (each norm at least
    ``eps``), broadcasting the two first, as PyTorch does (a batch against one vector).
    Integer and bool inputs are refused, and a ``dim`` out of range, as PyTorch refuses them."""
    x1, x2 = cnp.broadcast_arrays(x1, x2)
    common = np.result_type(x1.dtype, x2.dtype)
    if common.kind not in "fc":
        raise TensorError(f"cosine_similarity: expected common dtype to be floating point, yet common dtype is "
                          f"{common.name}; convert the inputs with .float() or .double()")
    dim = checked_dim(x1, dim)
    n1 = clamped_value(pytorch_vector_norm(x1, 2, axis=dim, keepdims=True), eps)
    n2 = clamped_value(pytorch_vector_norm(x2, 2, axis=dim, keepdims=True), eps)
    return cnp.sum((x1 / n1) * (x2 / n2), axis=dim)


def clamped_value(norm, eps: float):
    """``norm`` at least ``eps`` in value, its derivative the unclamped norm's: PyTorch's
    cosine_similarity clamps the norms in place without recording it (under no_grad)."""
    below = undifferentiated(norm) < eps
    return cnp.where(below, norm - undifferentiated(norm) + eps, norm)


@eager_quiet
def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
    """‖x1 − x2 + eps‖_p along the last axis."""
    return pytorch_vector_norm(x1 - x2 + eps, p, axis=-1, keepdims=keepdim)


# -- losses ------------------------------------------------------------------------------------
def _reduce(loss, reduction: str, name: str):
    if reduction == "mean":
        return cnp.mean(loss)
    if reduction == "sum":
        return cnp.sum(loss)
    if reduction == "none":
        return loss
    raise TensorError(f"{name}: reduction must be 'mean', 'sum' or 'none', not {reduction!r}")


@eager_quiet
def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False):
    """Σ target (log target − input) with ``input`` log-probabilities (0 where target is 0);
    ``reduction='batchmean'`` divides the sum by the batch size, as PyTorch advises (and,
    as PyTorch's, warns about the default 'mean')."""
    if size_average is not None or reduce is not None:
        reduction = reduction_of(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=2)
    if any(np.dtype(getattr(a, "dtype", np.float64)).kind in "biu" for a in (input, target)):
        raise RuntimeError("kl_div: Integral inputs not supported; convert them with .float()")
    if log_target:
        loss = cnp.exp(target) * (target - input)
    else:  # PyTorch's: NaN where target < 0; 0 where it is 0, with target's derivative NaN there
        loss = torch_xlogy(target, target) - target * input
    if reduction == "batchmean":
        return cnp.sum(loss) / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction, "kl_div")


@eager_quiet
def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0, weight=None):
    """0.5 d² where |d| < δ, δ (|d| − 0.5 δ) elsewhere (d = input − target)."""
    _floating_input(input, "huber_loss")
    d = input - target
    a = cnp.abs(d)
    small = undifferentiated(a) < delta
    near = _left(d, small)  # the square of an infinite d is in neither branch's derivative
    loss = cnp.where(small, 0.5 * near * near, delta * (a - 0.5 * delta))
    if weight is not None:
        if tuple(np.shape(weight)) != tuple(input.shape):
            raise TensorError(f"Weights and input must have the same size: the weight's shape is "
                             f"{tuple(np.shape(weight))}, the input's {tuple(input.shape)}")
        loss = loss * weight  # the mean is the plain mean of the weighted losses, as PyTorch's
    return _reduce(loss, reduction, "huber_loss")


@eager_quiet
def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False, size_average=None,
                     eps: float = 1e-8, reduce=None, reduction: str = "mean"):
    """exp(input) − target·input (``log_input``), else input − target·log(input + eps); with
    ``full``, Stirling's term for target > 1."""
    reduction = reduction_of(size_average, reduce, reduction)
    loss = cnp.exp(input) - target * input if log_input else input - target * cnp.log(input + eps)
    if full:
        t = undifferentiated(target)
        safe = cnp.where(t > 1, target, 2.0)
        stirling = safe * cnp.log(safe) - safe + 0.5 * cnp.log(2 * math.pi * safe)
        loss = loss + cnp.where(t > 1, stirling, 0.0)
    return _reduce(loss, reduction, "poisson_nll_loss")


@eager_quiet
def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
    """0.5 (log var + (input − target)² / var), var held at least ``eps`` (the clamp passes
    the gradient through, as PyTorch's does); with ``full``, + 0.5 log 2π. ``var`` is a
    float (one variance for all), of ``input``'s shape, of its shape without the last axis,
    or of its shape but for one axis of size 1, as PyTorch's."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * cnp.ones_like(undifferentiated(input))
    elif not every(cnp.logical_not(undifferentiated(var) < 0)):  # (NaN is not negative)
        raise ValueError("var has negative entry/entries")
    shape, var_shape = tuple(input.shape), tuple(var.shape)
    if var_shape != shape:
        if var_shape == shape[:-1]:  # one variance per example: broadcast over the last axis
            var = cnp.expand_dims(var, -1)
        elif len(var_shape) != len(shape) or sum(v for s, v in zip(shape, var_shape, strict=True) if s != v) != 1:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    v = undifferentiated(var)
    var = var + (cnp.maximum(v, eps) - v)  # clamped value, identity derivative
    loss = 0.5 * (cnp.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


def _hinge(z):
    """max(z, 0) as PyTorch's ``clamp_min(0)``: at z = 0 the derivative is 1 (``maximum``'s is ½)."""
    return clamp(z, 0.0, None)


def _floating_input(input, name: str) -> None:
    """PyTorch's refusal of an eager integer or bool input to a loss whose result is
    floating point."""
    if isinstance(input, Tensor):
        floating_only(input, None, f"{name}: the input must be a floating point Tensor")


@eager_quiet
def margin_ranking_loss(input1, input2, target, margin: float = 0.0, size_average=None, reduce=None,
                        reduction: str = "mean"):
    """max(0, −target (input1 − input2) + margin)."""
    reduction = reduction_of(size_average, reduce, reduction)
    return _reduce(_hinge(-target * (input1 - input2) + margin), reduction, "margin_ranking_loss")


@eager_quiet
def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                        swap: bool = False, size_average=None, reduce=None, reduction: str = "mean"):
    """max(d(a, p) − d(a, n) + margin, 0) with d the ``pairwise_distance``; ``swap`` takes
    the smaller of d(a, n) and d(p, n)."""
    reduction = reduction_of(size_average, reduce, reduction)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = cnp.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(_hinge(d_pos - d_neg + margin), reduction, "triplet_margin_loss")


@eager_quiet
def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean"):
    """max(d(a, p) − d(a, n) + margin, 0) with d ``distance_function`` (by default
    ``pairwise_distance``); ``swap`` takes the smaller of d(a, n) and d(p, n)."""
    if reduction not in ("mean", "sum", "none"):
        raise TensorError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise TensorError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")
    distance = pairwise_distance if distance_function is None else distance_function
    d_pos, d_neg = distance(anchor, positive), distance(anchor, negative)
    if swap:
        d_neg = cnp.minimum(d_neg, distance(positive, negative))
    return _reduce(_hinge(margin + d_pos - d_neg), reduction, "triplet_margin_with_distance_loss")


@eager_quiet
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """log(1 + exp(−target · input)), for targets ±1 (computed without overflow)."""
    reduction = reduction_of(size_average, reduce, reduction)
    _floating_input(input, "soft_margin_loss")
    shape = tuple(np.shape(input))
    try:
        broadcast = np.broadcast_shapes(shape, tuple(np.shape(target)))
    except ValueError:
        broadcast = None
    if broadcast != shape:
        raise TensorError(f"soft_margin_loss: the target's shape {tuple(np.shape(target))} does not broadcast to "
                          f"the input's {shape}; give a target of the input's shape")
    return _reduce(_ops.softplus(-target * input, threshold=None), reduction, "soft_margin_loss")


@eager_quiet
def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, size_average=None, reduce=None,
                          reduction: str = "mean"):
    """1 − cos(input1, input2) where target is 1, max(0, cos − margin) where it is −1; the
    cosine along the last axis, each squared norm + 1e-12 (PyTorch's guard against 0/0)."""
    reduction = reduction_of(size_average, reduce, reduction)
    dims = np.ndim(target)
    if dims > 1:
        raise TensorError("cosine_embedding_loss: 0D or 1D target tensor expected, multi-target not supported")
    if not input1.ndim == np.ndim(input2) == dims + 1:
        raise TensorError(f"cosine_embedding_loss: {dims}D target tensor expects {dims + 1}D input tensors, but found "
                          f"inputs with sizes {list(input1.shape)} and {list(np.shape(input2))}")
    axis = input1.ndim - 1
    cos = cnp.sum(input1 * input2, axis=axis) / cnp.sqrt(
        (cnp.sum(input1 * input1, axis=axis) + 1e-12) * (cnp.sum(input2 * input2, axis=axis) + 1e-12))
    t = undifferentiated(target)
    loss = cnp.where(t == 1, 1 - cos, 0.0) + cnp.where(t == -1, _hinge(cos - margin), 0.0)
    return _reduce(loss, reduction, "cosine_embedding_loss")


@eager_quiet
def hinge_embedding_loss(input, target, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean"):
    """input where target is 1, max(0, margin − input) where it is −1."""
    reduction = reduction_of(size_average, reduce, reduction)
    if reduction == "mean":
        _floating_input(input, "hinge_embedding_loss")
    t = undifferentiated(target)
    loss = cnp.where(t != 1, _hinge(margin - input), 0.0) + cnp.where(t != -1, input, 0.0)
    return _reduce(loss, reduction, "hinge_embedding_loss")


def _class_targets(input, target, name: str):
    """``(input, target)`` of a multi-class margin loss as (N, C) and (N, ...); a single
    sample (C,) becomes a batch of one. A target batched by ``vmap`` (labels that differ
    between its examples) stays a batch."""
    if input.ndim not in (1, 2):
        raise TensorError(f"{name}: the input must be (C,) or (N, C), got shape {tuple(input.shape)}")
    y = undifferentiated(target)
    if not isinstance(y, Tensor):
        y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TensorTypeError(f"{name}: the target must hold class indices (integers), got {y.dtype}; convert it "
                              "with .long()")
    return (input, y) if input.ndim == 2 else (cnp.reshape(input, (1, -1)), cnp.reshape(y, (1, -1)))


def _shown(y):
    """The labels ``y`` for an error message: every example's, under ``vmap``."""
    v = whole_batch(y)
    return v.tolist() if isinstance(v, np.ndarray) else "labels out of range"


@eager_quiet
def multi_margin_loss(input, target, p: int = 1, margin: float = 1.0, weight=None, size_average=None, reduce=None,
                      reduction: str = "mean"):
    """Σ_{j ≠ y} max(0, margin − x_y + x_j)^p / C for each sample (times ``weight[y]``): the
    multi-class hinge loss of (N, C) scores against class indices y.

    >>> import numpy as np
    >>> round(float(multi_margin_loss(np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([3]))), 6)  # (0.3 + 0.4 + 0.6) / 4
    0.325
    """
    reduction = reduction_of(size_average, reduce, reduction)
    if p not in (1, 2):
        raise TensorError(f"multi_margin_loss: p must be 1 or 2, not {p!r}")
    scores, y = _class_targets(input, target, "multi_margin_loss")
    n, c = scores.shape
    if math.prod(y.shape) != n or not every(cnp.logical_and(y >= 0, y < c)):
        raise TensorError(f"multi_margin_loss: the target must hold {n} class indices in [0, {c}), got {_shown(y)}")
    y = cnp.reshape(y, (n, 1))
    z = margin - cnp.take_along_axis(scores, y, axis=1) + scores
    # a term counts where z > 0 and the class is not the target's (PyTorch's: no term at z = 0)
    counted = cnp.logical_and(undifferentiated(z) > 0, cnp.not_equal(y, np.arange(c)))
    h = cnp.where(counted, z if p == 1 else z * z, 0.0)
    if weight is not None:
        h = h * cnp.take(weight, y)
    loss = cnp.sum(h, axis=1) / c
    return _reduce(loss if input.ndim == 2 else loss[0], reduction, "multi_margin_loss")


@eager_quiet
def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """Σ_{j target, i not} max(0, 1 − (x_j − x_i)) / C for each sample; each row of the
    (N, C) target lists the sample's classes, ended by the first −1.

    >>> import numpy as np
    >>> round(float(multilabel_margin_loss(np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([[3, 0, -1, 1]]))), 6)
    0.85
    """
    reduction = reduction_of(size_average, reduce, reduction)
    scores, y = _class_targets(input, target, "multilabel_margin_loss")
    n, c = scores.shape
    if tuple(y.shape) != (n, c):
        raise TensorError(f"multilabel_margin_loss: the target must have the input's shape {(n, c)}, "
                          f"got {tuple(y.shape)}")
    listed = cnp.cumprod(y >= 0, axis=1) > 0  # the entries before the first -1
    if anywhere(cnp.logical_and(y >= c, listed)):
        raise TensorError(f"multilabel_margin_loss: class indices must lie in [0, {c})")
    slots = cnp.where(listed, y, 0)
    # is_target[k, i]: class i is one of sample k's (listed in one of its slots)
    is_target = cnp.any(cnp.logical_and(cnp.expand_dims(listed, 2),
                                        cnp.equal(cnp.expand_dims(slots, 2), np.arange(c))), axis=1)
    picked = cnp.take_along_axis(scores, slots, axis=1)  # (N, C): x at each slot
    z = 1 - picked[:, :, None] + scores[:, None, :]
    counted = cnp.logical_and(cnp.logical_and(cnp.expand_dims(listed, 2), cnp.expand_dims(~is_target, 1)),
                              undifferentiated(z) > 0)
    loss = cnp.sum(cnp.where(counted, z, 0.0), axis=(1, 2)) / c
    return _reduce(loss if input.ndim == 2 else loss[0], reduction, "multilabel_margin_loss")


@eager_quiet
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
    """The binary cross-entropy of each class's logit against its 0/1 label (times
    ``weight``), averaged over the classes of each sample."""
    reduction = reduction_of(size_average, reduce, reduction)
    if input.ndim == 0:
        raise IndexError("multilabel_soft_margin_loss: the input must be (C,) or (N, C), got a 0-d Tensor")
    # log σ(x) = −softplus(−x), finite for any x
    loss = target * _ops.softplus(-input, threshold=None) + (1 - target) * _ops.softplus(input, threshold=None)
    if weight is not None:
        loss = loss * weight
    return _reduce(cnp.mean(loss, axis=-1), reduction, "multilabel_soft_margin_loss")


def elu_(input, alpha: float = 1.0, scale: float = 1.0, input_scale: float = 1.0):
    """:func:`elu` written into ``input`` (PyTorch's ``F.elu_``); PyTorch's ``scale`` and
    ``input_scale`` give scale·x where x > 0, scale·α (exp(input_scale·x) − 1) elsewhere."""
    if scale == 1 and input_scale == 1:
        return elu(input, alpha, True)
    return in_place(lambda x: scale * cnp.where(x > 0, x, alpha * cnp.expm1(_left(x, x <= 0) * input_scale)),
                    input, "elu_")


def selu_(input):
    return selu(input, True)


def celu_(input, alpha: float = 1.0):
    return celu(input, alpha, True)


def threshold_(input, threshold: float, value: float):
    return in_place(_threshold, input, "threshold_", threshold, value)


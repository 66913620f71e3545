"""``chainrule.nn.functional``: the operations behind the layers, as functions.

Each function takes NumPy arrays or Tensors (eager, or of a transform such as
``chainrule.grad``) and differentiates, to any order. Names and arguments follow
``torch.nn.functional``, so ``import chainrule.nn.functional as F`` reads as usual:

>>> import numpy as np
>>> import chainrule.nn.functional as F
>>> logits = np.array([[2.0, 0.5, -1.0]]); target = np.array([0])
>>> round(float(F.cross_entropy(logits, target)), 6)
0.241311

Losses are computed in a numerically stable way (log-softmax with the maximum shifted
out, log-sigmoid by softplus), so large logits give finite losses and gradients.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.errors import TensorError, TensorTypeError
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.trace import eager_quiet, named_as_torch
from chainrule.nn import (
    _bags,
    _channels,
    _composed,
    _ctc,
    _dropout,
    _fractional,
    _jax_names,
    _losses,
    _ops,
    _pooling,
    _resample,
    _sampling,
    _volumetric,
)
from chainrule.nn._attention import multi_head_attention_forward, scaled_dot_product_attention
from chainrule.nn._bags import *  # noqa: F403  (embedding_bag)
from chainrule.nn._bags import renorm_rows
from chainrule.nn._channels import *  # noqa: F403  (local_response_norm, channel_shuffle, max_unpool)
from chainrule.nn._composed import *  # noqa: F403  (more of torch.nn.functional, composed)
from chainrule.nn._ctc import *  # noqa: F403  (ctc_loss)
from chainrule.nn._dropout import *  # noqa: F403  (dropout of elements and channels)
from chainrule.nn._fractional import *  # noqa: F403  (fractional max pooling)
from chainrule.nn._inplace import in_place
from chainrule.nn._jax_names import *  # noqa: F403  (jax.nn's spellings)
from chainrule.nn._layer_norm import layer_norm_forward
from chainrule.nn._losses import *  # noqa: F403  (cross_entropy, nll_loss, mse_loss, ...)
from chainrule.nn._losses import _check_reduction  # noqa: F401  (the loss layers check theirs)
from chainrule.nn._ops import plain
from chainrule.nn._ops import update_running as _update_running
from chainrule.nn._pooling import *  # noqa: F403  (pooling)
from chainrule.nn._pooling import _dtype, _pair, _single
from chainrule.nn._resample import *  # noqa: F403  (resampling, rearranging, instance_norm)
from chainrule.nn._sampling import *  # noqa: F403  (affine_grid, grid_sample)
from chainrule.nn._volumetric import *  # noqa: F403  (3-d convolution and pooling, lp pooling)
from chainrule.numpy.nondiff import anywhere, batched, every, whole_batch
from chainrule.numpy.torch_common import as_eager, not_bool, same_dtype
from chainrule.numpy.torch_common import floating_kernel as _floating_kernel
from chainrule.transforms.custom import stop_gradient as _stop_gradient

__all__ = [
    "linear",
    "relu",
    "relu_",
    "leaky_relu",
    "leaky_relu_",
    "sigmoid",
    "tanh",
    "gelu",
    "silu",
    "softplus",
    "logsigmoid",
    "softmax",
    "log_softmax",
    "scaled_dot_product_attention",
    "multi_head_attention_forward",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "batch_norm",
    "layer_norm",
    "group_norm",
    "embedding",
    "one_hot",
    *_losses.__all__,
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "max_pool3d_with_indices",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices",
    "upsample_nearest",
    "upsample_bilinear",
    "conv_tbc",
    *_ctc.__all__,
    *_fractional.__all__,
    *_bags.__all__,
    *_composed.__all__,
    *_jax_names.__all__,
    *_dropout.__all__,
    *_pooling.__all__,
    *_resample.__all__,
    *_sampling.__all__,
    *_channels.__all__,
    *_volumetric.__all__,
]


# -- layers as functions -------------------------------------------------------------------
def linear(input, weight, bias=None):
    """``input @ weight.T + bias``, one fused operation (weight has shape (out, in)).

    >>> import numpy as np
    >>> linear(np.ones((2, 3)), np.ones((4, 3)), np.zeros(4)).shape
    (2, 4)
    """
    if np.ndim(input) == 0 or np.ndim(weight) == 0:
        raise TensorError(f"linear: both arguments to linear need to be at least 1D, but they are "
                          f"{np.ndim(input)}D and {np.ndim(weight)}D")
    same_dtype("linear", input, weight, bias)
    if weight.shape[-1] != input.shape[-1]:
        raise TensorError(
            f"linear: the input has {input.shape[-1]} features but the weight expects "
            f"{weight.shape[-1]} (weight shape {tuple(weight.shape)}, input shape {tuple(input.shape)})"
        )
    return _ops.linear(input, weight, bias)


def relu(input, inplace: bool = False):
    """max(x, 0); its derivative at 0 is 0, as in PyTorch (``inplace=True``: written into
    an eager ``input``, :mod:`chainrule.nn._inplace`)."""
    return in_place(_relu, input, "relu_") if inplace else _relu(input)


def _relu(input):
    return _ops.relu(not_bool(input, "relu"))


def relu_(input):
    return relu(input, True)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """x for x > 0, ``negative_slope``·x otherwise."""
    _floating_kernel(input, "leaky_relu_cpu")
    if inplace:
        return in_place(leaky_relu, input, "leaky_relu_", negative_slope)
    return _ops.leaky_relu(input, negative_slope=negative_slope)


def leaky_relu_(input, negative_slope: float = 0.01):
    return leaky_relu(input, negative_slope, True)


def sigmoid(input):
    """1 / (1 + exp(−x)), without overflow for any x.

    >>> float(sigmoid(np.float64(-800.0)))
    0.0
    """
    return input.sigmoid() if isinstance(input, Tensor) else _ops.sigmoid(input)  # (a bool Tensor's is float)


def tanh(input):
    return cnp.tanh(input)


@eager_quiet
def gelu(input, approximate: str | bool = "none"):
    """x·Φ(x), Φ the normal CDF (``approximate='tanh'``: the tanh formula of
    Hendrycks & Gimpel; JAX's ``approximate=True``/``False`` are ``'tanh'``/``'none'``)."""
    _floating_kernel(input, "GeluKernelImpl")
    if approximate is True or approximate is False:
        approximate = "tanh" if approximate else "none"
    if approximate == "none":
        return _ops.gelu(input)
    if approximate == "tanh":
        return _ops.gelu_tanh(input)
    raise TensorError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}")


@eager_quiet
def silu(input, inplace: bool = False):
    """x·sigmoid(x) (also called swish)."""
    _floating_kernel(input, "silu_cpu")
    return in_place(_ops.silu, input, "silu_") if inplace else _ops.silu(input)


@eager_quiet
def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + exp(β x)) / β, stable for large |x|; x itself where β x > ``threshold``.
    Of floating point Tensors only, as PyTorch's.

    >>> softplus(np.array([0.0])).tolist() == [math.log(2.0)]
    True
    """
    _floating_kernel(input, "softplus_cpu")
    return _ops.softplus(input, beta=beta, threshold=threshold)


@eager_quiet
def logsigmoid(input):
    """log(sigmoid(x)) = −softplus(−x), finite for any x (+0.0 at +inf, as PyTorch's)."""
    _floating_kernel(input, "log_sigmoid_cpu")
    return 0.0 - _ops.softplus(-input, threshold=None)


def softmax(input, dim: int | None = None, dtype=None):
    """exp(x) / Σ exp(x) along ``dim``, shifted by the maximum (never overflows); ``dtype``
    casts the input first. Without ``dim``, PyTorch's implicit (deprecated) choice, with its
    warning: the first axis of a 0-, 1- or 3-dimensional input, else the second.

    >>> softmax(np.array([1000.0, 1000.0]), dim=-1).tolist()
    [0.5, 0.5]
    """
    input, dim = _composed.softmax_input("softmax", input, dim, dtype)
    return _ops.softmax(input, axis=dim)


def log_softmax(input, dim: int | None = None, dtype=None):
    """x − log Σ exp(x) along ``dim``, computed stably (``dim`` and ``dtype`` as in :func:`softmax`)."""
    input, dim = _composed.softmax_input("log_softmax", input, dim, dtype)
    return _ops.log_softmax(input, axis=dim)


def _check_channels(c: int, o: int, wc: int, groups, name: str) -> int:
    """``groups`` checked against the input's ``c`` channels and a weight of ``o`` outputs
    and ``wc`` inputs per group; the error names the function the user called."""
    groups = _check_groups(groups, c, o, name)
    if wc * groups != c:
        raise TensorError(
            f"{name}: the input has {c} channels but the weight expects {wc} per group "
            f"x {groups} group(s) = {wc * groups}"
        )
    return groups


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """2-d convolution (cross-correlation, as in every deep-learning library).

    input (N, C, H, W), weight (O, C/groups, kh, kw), bias (O,); ``padding`` an int, a
    pair, ``'valid'`` or ``'same'``; ``groups`` splits the channels into that many
    independent convolutions (``groups=C``: depthwise). Computed as one matrix product
    over the unfolded windows (im2col), batched over the groups; the backward pass folds
    the windows back with one strided addition per kernel offset.

    >>> x = np.ones((1, 1, 4, 4)); w = np.ones((2, 1, 3, 3))
    >>> conv2d(x, w, padding=1).shape
    (1, 2, 4, 4)
    """
    input, unbatched = _batched(input, weight, 4, "conv2d", "input (N, C, H, W) and weight (O, C/groups, kh, kw)")
    n, c, h, w = input.shape
    o, wc, kh, kw = weight.shape
    groups = _check_channels(c, o, wc, groups, "conv2d")
    kernel, stride, dilation = (kh, kw), _pair(stride, "stride"), _pair(dilation, "dilation")
    padding, extra = _conv_padding(padding, kernel, stride, dilation)
    if extra != (0, 0):
        input = cnp.pad(input, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
        h, w = h + extra[0], w + extra[1]
    geom = (kernel, stride, padding, dilation)
    oh, ow = _ops.pool_geometry((h, w), *geom)
    # im2col: (C·kh·kw, N·OH·OW), then one matrix product with the (O, C·kh·kw) weights
    cols = _ops.unfold(input, geom, "conv")
    if groups == 1:
        cols = cnp.reshape(cols, (c * kh * kw, n * oh * ow))
        out = _ops.conv_product(cnp.reshape(weight, (o, c * kh * kw)), cols, bias)
    else:  # one product per group, batched: (G, O/G, C/G·kh·kw) @ (G, C/G·kh·kw, N·OH·OW)
        cols = cnp.reshape(cols, (groups, wc * kh * kw, n * oh * ow))
        out = cnp.matmul(cnp.reshape(weight, (groups, o // groups, wc * kh * kw)), cols)
        out = cnp.reshape(out, (o, n * oh * ow))
        if bias is not None:
            out = out + cnp.reshape(bias, (o, 1))
    # (O, N, OH, OW) in memory, seen as (N, O, OH, OW): the next layer takes the view
    out = _ops.channels_first(out, (n, oh, ow))
    return cnp.reshape(out, out.shape[1:]) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """1-d convolution: input (N, C, L) or (C, L), weight (O, C/groups, k), bias (O,);
    computed as a 2-d convolution of height 1.

    >>> conv1d(np.ones((2, 3, 10)), np.ones((4, 3, 3)), padding="same").shape
    (2, 4, 10)
    """
    input, unbatched = _batched(input, weight, 3, "conv1d", "input (N, C, L) and weight (O, C/groups, k)")
    n, c, length = input.shape
    _check_channels(c, weight.shape[0], weight.shape[1], groups, "conv1d")
    x4 = cnp.reshape(input, (n, c, 1, length))
    w4 = cnp.reshape(weight, (weight.shape[0], weight.shape[1], 1, weight.shape[2]))
    pad = padding if isinstance(padding, str) else (0, _single(padding, "padding"))
    out = conv2d(x4, w4, bias, (1, _single(stride, "stride")), pad, (1, _single(dilation, "dilation")), groups)
    out = cnp.reshape(out, (n, out.shape[1], out.shape[3]))
    return cnp.reshape(out, out.shape[1:]) if unbatched else out


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1,
                     dilation=1):
    """The transposed 2-d convolution (the adjoint of :func:`conv2d` in its input, also
    called a fractionally strided convolution), with PyTorch's arguments and their order.

    input (N, C, H, W), weight (C, O/groups, kh, kw), bias (O,). The output has height
    (H − 1)·stride − 2·padding + dilation·(kh − 1) + output_padding + 1 (width alike).
    One matrix product per group makes each input pixel's kh·kw contributions; one
    strided addition per kernel offset puts them in place.

    >>> conv_transpose2d(np.ones((1, 2, 3, 3)), np.ones((2, 4, 3, 3)), stride=2).shape
    (1, 4, 7, 7)
    """
    input, unbatched = _batched(input, weight, 4, "conv_transpose2d",
                                "input (N, C, H, W) and weight (C, O/groups, kh, kw)")
    n, c, h, w = input.shape
    wc, og, kh, kw = weight.shape
    if wc != c:
        raise TensorError(f"conv_transpose2d: the input has {c} channels but the weight expects {wc}")
    o = og * _check_groups(groups, c, og * groups, "conv_transpose2d")
    kernel = (kh, kw)
    stride, padding = _pair(stride, "stride"), _pair(padding, "padding")
    dilation, extra = _pair(dilation, "dilation"), _pair(output_padding, "output_padding")
    for e, s, d in zip(extra, stride, dilation, strict=True):
        if e >= max(s, d):
            raise TensorError(
                f"conv_transpose2d: output_padding {extra} must be smaller than the stride "
                f"{stride} or the dilation {dilation}"
            )
    # the full canvas that the windows cover, before padding is cut off
    full = tuple((i - 1) * s + d * (k - 1) + 1 for i, s, d, k in zip((h, w), stride, dilation, kernel, strict=True))
    out_hw = tuple(f - 2 * p + e for f, p, e in zip(full, padding, extra, strict=True))
    if min(out_hw) < 1:
        raise TensorError(f"conv_transpose2d: padding {padding} leaves no output for an input of size {(h, w)}")
    cg = c // groups
    x = cnp.reshape(cnp.transpose(input, (1, 0, 2, 3)), (groups, cg, n * h * w))
    wt = cnp.swapaxes(cnp.reshape(weight, (groups, cg, og * kh * kw)), 1, 2)
    cols = cnp.reshape(cnp.matmul(wt, x), (o, kh * kw, n, h, w))
    out = _ops.fold(cols, (n, o, *full), (kernel, stride, (0, 0), dilation), "conv")
    if extra != (0, 0):
        out = cnp.pad(out, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    if padding != (0, 0):
        out = out[:, :, padding[0] : padding[0] + out_hw[0], padding[1] : padding[1] + out_hw[1]]
    if bias is not None:
        out = out + cnp.reshape(bias, (1, o, 1, 1))
    return cnp.reshape(out, out.shape[1:]) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1,
                     dilation=1):
    """The transposed 1-d convolution: input (N, C, L) or (C, L), weight (C, O/groups, k),
    bias (O,); :func:`conv_transpose2d` on a height-1 image, PyTorch's arguments.

    >>> conv_transpose1d(np.ones((1, 2, 3)), np.ones((2, 4, 3)), stride=2).shape
    (1, 4, 7)
    """
    input, unbatched = _batched(input, weight, 3, "conv_transpose1d", "input (N, C, L) and weight (C, O/groups, k)")
    out = conv_transpose2d(cnp.expand_dims(input, 2), cnp.expand_dims(weight, 2), bias,
                           (1, _single(stride, "stride")), (0, _single(padding, "padding")),
                           (0, _single(output_padding, "output_padding")), groups,
                           (1, _single(dilation, "dilation")))
    return out[0, :, 0] if unbatched else out[:, :, 0]


def _batched(input, weight, ndim: int, name: str, layout: str):
    """A convolution's input with its batch axis, PyTorch's unbatched form (one dimension
    fewer) given one of size 1, and whether it was; input and weight of ``ndim``
    dimensions (``layout`` names them) are checked here, once for every convolution."""
    unbatched = input.ndim == ndim - 1
    if unbatched:
        input = cnp.reshape(input, (1, *input.shape))
    if input.ndim != ndim or weight.ndim != ndim:
        raise TensorError(f"{name} expects {layout}, got shapes {tuple(input.shape)} and {tuple(weight.shape)}")
    return input, unbatched


def _check_groups(groups, c: int, o: int, name: str) -> int:
    groups = int(groups)
    if groups < 1 or c % groups or o % groups:
        raise TensorError(
            f"{name}: groups={groups} must be a positive divisor of both the input channels ({c}) "
            f"and the output channels ({o})"
        )
    return groups


def _conv_padding(padding, kernel, stride, dilation):
    """(padding on both sides, one more on the right): the extra is for padding='same'
    with an even total, which PyTorch puts on the right."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise TensorError("conv2d: padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
            return (total[0] // 2, total[1] // 2), (total[0] % 2, total[1] % 2)
        raise TensorError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', not {padding!r}")
    return _pair(padding, "padding"), (0, 0)


def _channel_shape(x) -> tuple[int, ...]:
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


@eager_quiet
def batch_norm(
    input,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
):
    """Normalise each channel (axis 1) by its mean and variance.

    In training the batch statistics are used, and ``running_mean``/``running_var``
    (arrays or Tensors, updated in place) move towards them by ``momentum``, the
    variance unbiased (as in PyTorch). Otherwise the running statistics are used.
    """
    _floating_kernel(input, "batch_norm")
    if input.ndim < 2:
        raise TensorError(f"batch_norm expects (N, C) or (N, C, ...) input, got shape {tuple(input.shape)}")
    shape = _channel_shape(input)
    flat = input.ndim == 2
    for label, value in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                         ("bias", bias)):
        if value is not None and np.size(value) != input.shape[1]:
            raise TensorError(f"batch_norm: {label} should contain {input.shape[1]} elements (one per channel of "
                              f"the input, its axis 1), not {np.size(value)}")
    if training or running_mean is None:
        axes = (0, *range(2, input.ndim))
        count = input.size // input.shape[1]
        if count == 1:
            raise TensorError(
                f"batch_norm in training needs more than one value per channel, got input "
                f"shape {tuple(input.shape)}"
            )
        if count == 0:  # an empty batch: an empty result, the running statistics kept (PyTorch's)
            return batch_norm(input, np.zeros(input.shape[1]), np.ones(input.shape[1]), weight, bias, False, 0.0, eps)
        mean = cnp.mean(input, axis=axes, keepdims=True)
        xc = input - mean
        var = cnp.mean(xc * xc, axis=axes, keepdims=True)
        out = xc / cnp.sqrt(var + eps)
        if training and running_mean is not None:
            # the batch statistics as data (recorded under chainrule.jit, not read)
            batch_mean, batch_var = undifferentiated(mean), undifferentiated(var)
            _update_running(running_mean, batch_mean.reshape(-1), momentum)
            _update_running(running_var, batch_var.reshape(-1) * (count / (count - 1)), momentum)
    else:
        # constants for the derivative; under chainrule.jit, data of the program
        rm, rv = _stop_gradient(running_mean), _stop_gradient(running_var)  # (arrays, as plain reads them)
        scale = 1.0 / cnp.sqrt(rv + eps)
        if not flat:
            rm, scale = rm.reshape(shape), scale.reshape(shape)
        out = (input - rm) * scale
    if weight is not None:
        out = out * (weight if flat else cnp.reshape(weight, shape))
    if bias is not None:
        out = out + (bias if flat else cnp.reshape(bias, shape))
    return out


@eager_quiet
def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalise over the trailing ``normalized_shape`` axes of each sample, then scale
    by ``weight`` and shift by ``bias`` (both of that shape)."""
    _floating_kernel(input, "LayerNormKernelImpl")
    if isinstance(normalized_shape, int | np.integer):
        normalized_shape = (int(normalized_shape),)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(input.shape[-k:]) != normalized_shape:
        raise TensorError(
            f"layer_norm: the input's trailing shape {tuple(input.shape[-k:])} is not "
            f"normalized_shape {normalized_shape}"
        )
    width = math.prod(normalized_shape)
    if weight is not None and width > 0:  # the usual case: one fused node (chainrule.nn._layer_norm)
        out = layer_norm_forward(input, weight, bias, width=width, eps=eps)[0]
    else:
        out = _ops.normalize(input, tuple(range(-k, 0)), eps)[0]
        if weight is not None:
            out = out * weight
        if bias is not None:
            out = out + bias
    return named_as_torch(out, "NativeLayerNormBackward0")


@eager_quiet
def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Normalise each sample's channels (axis 1) in ``num_groups`` groups over the group's
    channels and all further axes (Wu & He, 2018), then scale and shift per channel."""
    _floating_kernel(input, "GroupNormKernelImpl")
    if input.ndim < 2:
        raise TensorError(f"group_norm expects (N, C, ...) input, got shape {tuple(input.shape)}")
    n, c = input.shape[:2]
    if num_groups < 1 or c % num_groups:
        raise TensorError(f"group_norm: {c} channels cannot be split into {num_groups} groups")
    group = (n, num_groups, c // num_groups * math.prod(input.shape[2:]))  # no -1: an empty batch has size 0
    out = cnp.reshape(_ops.normalize(cnp.reshape(input, group), (-1,), eps)[0], input.shape)
    shape = _channel_shape(input)
    if weight is not None:
        out = out * cnp.reshape(weight, shape)
    if bias is not None:
        out = out + cnp.reshape(bias, shape)
    return out


def embedding(input, weight, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False):
    """The rows of ``weight`` at the integer indices ``input``; the row ``padding_idx`` is
    returned as stored but gets no gradient (as in PyTorch).

    As PyTorch's: with ``max_norm``, each row looked up whose ``norm_type``-norm exceeds
    it is first scaled down to that norm, in ``weight`` itself (in place, outside the
    graph); with ``scale_grad_by_freq`` the gradient of each row is divided by how often
    its index occurs in ``input``.

    >>> import numpy as np
    >>> embedding(np.array([0, 1]), np.array([[1.0, 2.0], [3.0, 4.0]]), padding_idx=0).tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    if sparse:
        raise NotImplementedError("embedding(sparse=True): sparse gradients are not supported; "
                                  "chainrule's gradients are dense arrays (leave sparse=False)")
    if np.ndim(weight) != 2:
        raise RuntimeError(f"embedding: 'weight' must be 2-D (rows of embeddings), got {np.ndim(weight)}-D")
    idx = undifferentiated(input)  # a Tensor only while chainrule.jit traces
    if not isinstance(idx, Tensor):
        idx = np.asarray(idx)
    if _dtype(idx).kind not in "iu":
        raise TensorTypeError(f"embedding: indices must be integers, got {_dtype(idx)}")
    n = weight.shape[0]
    if padding_idx is not None and not -n <= padding_idx < n:  # else the modulo below picks another row
        raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for {n} embeddings (the rows of "
                         f"weight); give an index in [-{n}, {n})")
    # under jit one guarded predicate, not the indices, decides whether they are valid
    if idx.size and not every(cnp.logical_and(cnp.min(idx) >= 0, cnp.max(idx) < n)):
        lo, hi = np.min(plain(whole_batch(idx))), np.max(plain(whole_batch(idx)))
        raise IndexError(f"embedding: indices must lie in [0, {n}), got {lo}…{hi}")
    if max_norm is not None:
        renorm_rows(weight, idx, max_norm, norm_type)
    out = cnp.getitem(weight, idx)
    if scale_grad_by_freq:
        # the value is out's to the bit ((out - out) * s is zero); the gradient is divided by the counts
        counts = np.bincount(np.ravel(plain(idx)), minlength=n)
        scale = (1.0 / counts[plain(idx)])[..., None].astype(_dtype(out))
        fixed = undifferentiated(out)
        out = fixed + (out - fixed) * scale
    if padding_idx is not None:
        # the stored row comes out (as in PyTorch), but as a constant: no gradient reaches it
        trained = cnp.not_equal(idx, padding_idx % n)[..., None]
        out = cnp.where(trained, out, undifferentiated(out))
    return out


def one_hot(labels, num_classes: int = -1, *, dtype=np.int64, axis: int = -1):
    """Integer labels as one-hot rows (int64 by default, as PyTorch's; JAX's ``dtype=``
    and ``axis=`` are taken too). No gradient. Labels batched by ``chainrule.vmap``
    need ``num_classes``.

    >>> one_hot(np.array([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    if batched(labels):  # each example its own labels: compared as they are, checked as a whole
        y = undifferentiated(labels)
        if np.dtype(y.dtype).kind not in "iu":
            raise TensorTypeError(f"one_hot: labels must be integers (LongTensor), got {y.dtype}")
        if num_classes < 0:
            raise TensorError("one_hot: labels batched by vmap need num_classes, as in JAX: "
                             "one_hot(labels, num_classes)")
        if anywhere(y < 0) or anywhere(y >= num_classes):
            raise TensorError(f"one_hot: labels must lie in [0, {num_classes})")
        hot = cnp.astype(cnp.equal(cnp.expand_dims(y, -1), np.arange(num_classes)), dtype)
        return hot if axis == -1 else cnp.moveaxis(hot, -1, axis)
    y = np.asarray(plain(labels))
    if y.dtype.kind not in "iu":
        raise TensorTypeError(f"one_hot: labels must be integers (LongTensor), got {y.dtype}")
    if num_classes < 0:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise TensorError(f"one_hot: labels must lie in [0, {num_classes})")
    hot = (y[..., None] == np.arange(num_classes)).astype(dtype)
    hot = hot if axis == -1 else np.moveaxis(hot, -1, axis)
    # of an eager Tensor, an eager Tensor (F.one_hot(y, 10).float() as in PyTorch)
    return as_eager(labels, hot) if isinstance(labels, Tensor) else hot


# -- PyTorch's other spellings -------------------------------------------------------------
def _with_indices(pool):
    def with_indices(input, *args, return_indices: bool = False, **kwargs):
        return pool(input, *args, return_indices=True, **kwargs)
    with_indices.__name__ = f"{pool.__name__}_with_indices"
    with_indices.__doc__ = f"``{pool.__name__}(..., return_indices=True)``: (values, indices), as PyTorch's."
    return with_indices


def _adaptive_with_indices(pool):
    def with_indices(input, output_size, return_indices: bool = False):  # (return_indices as PyTorch's: unread)
        return pool(input, output_size, return_indices=True)
    with_indices.__name__ = f"{pool.__name__}_with_indices"
    with_indices.__doc__ = f"``{pool.__name__}(..., return_indices=True)``: (values, indices), as PyTorch's."
    return with_indices


max_pool1d_with_indices = _with_indices(max_pool1d)  # noqa: F405
max_pool2d_with_indices = _with_indices(max_pool2d)  # noqa: F405
max_pool3d_with_indices = _with_indices(max_pool3d)  # noqa: F405
adaptive_max_pool1d_with_indices = _adaptive_with_indices(adaptive_max_pool1d)  # noqa: F405
adaptive_max_pool2d_with_indices = _adaptive_with_indices(adaptive_max_pool2d)  # noqa: F405
adaptive_max_pool3d_with_indices = _adaptive_with_indices(adaptive_max_pool3d)  # noqa: F405


def upsample_nearest(input, size=None, scale_factor=None):
    """PyTorch's deprecated ``interpolate(..., mode='nearest')``, with its warning."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
                  UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")  # noqa: F405


def upsample_bilinear(input, size=None, scale_factor=None):
    """PyTorch's deprecated ``interpolate(..., mode='bilinear', align_corners=True)``, with
    its warning."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
                  UserWarning, stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)  # noqa: F405


def conv_tbc(input, weight, bias, pad: int = 0):
    """1-d convolution over time of (T, B, C) with ``weight`` (k, C, O) and ``bias`` (O,),
    ``pad`` steps of zeros at both ends: (T', B, O), as PyTorch's ``conv_tbc``.

    >>> conv_tbc(np.ones((5, 2, 3)), np.ones((2, 3, 4)), np.zeros(4), 1).shape
    (6, 2, 4)
    """
    out = conv1d(cnp.transpose(input, (1, 2, 0)), cnp.transpose(weight, (2, 1, 0)), bias, padding=pad)
    return cnp.transpose(out, (2, 0, 1))

"""Layers: ``Linear``, ``Bilinear``, ``Conv2d``, pooling, normalisation, ``Embedding``,
``Flatten`` and ``Unflatten``, as Modules (the activations: :mod:`chainrule.nn.activation`;
the losses: :mod:`chainrule.nn.loss`).

Parameters are float32 by default (as in PyTorch: half the memory traffic of float64,
and BLAS runs about twice as fast); pass ``dtype=np.float64`` for float64 layers, e.g.
to check gradients against finite differences, or change the default for every new
layer with ``chainrule.set_default_dtype``. Initialisation follows PyTorch's
defaults and draws from ``rng=`` (a NumPy Generator or an int seed) or else from the
global generator of :mod:`chainrule.nn.init`.
"""

from __future__ import annotations

import math

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.dtypes import as_dtype, check_cpu
from chainrule.core.eager import get_default_dtype, no_grad
from chainrule.core.errors import TensorError
from chainrule.core.tensor import undifferentiated
from chainrule.core.values import plain
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn._padding import check_padding_mode, check_padding_string, pad_input
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter

__all__ = [
    "Identity",
    "Linear",
    "Bilinear",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "Flatten",
    "Unflatten",
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "LayerNorm",
    "RMSNorm",
    "Embedding",
]

def param_dtype(dtype) -> np.dtype:
    """A layer's ``dtype=`` argument: None stands for ``chainrule.get_default_dtype()``."""
    return get_default_dtype() if dtype is None else as_dtype(dtype)


def _reset_kaiming(module: Module, fan_in: int) -> None:
    """PyTorch's default for Linear and every convolution: the weight kaiming-uniform with
    a = √5 (that is U(±1/√fan_in)), the bias U(±1/√fan_in)."""
    rng = init.generator_of(module)
    init.kaiming_uniform_(module.weight, a=math.sqrt(5), rng=rng)
    if module.bias is not None:
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(module.bias, -bound, bound, rng=rng)


def _affine_parameters(module: Module, shape, dtype, affine: bool, bias: bool) -> None:
    """A normalisation layer's affine ``weight`` and ``bias`` of ``shape`` (set by
    ``reset_parameters``), where it has them; None where it has not (PyTorch's
    ``bias=False``: the weight alone)."""
    if affine:
        module.weight = Parameter(np.ones(shape, dtype=dtype))
        if bias:
            module.bias = Parameter(np.zeros(shape, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _ones_zeros(module: Module) -> None:
    """A normalisation layer's affine weight 1 and bias 0, those it has (PyTorch's init)."""
    with no_grad():
        if module.weight is not None:
            module.weight.fill_(1.0)
        if getattr(module, "bias", None) is not None:
            module.bias.zero_()


def reset_table(module: Module) -> None:
    """An embedding table's init (Embedding's and EmbeddingBag's, PyTorch's): N(0, 1), the
    ``padding_idx`` row zero."""
    init.normal_(module.weight, rng=init.generator_of(module))
    if module.padding_idx is not None:
        with no_grad():
            module.weight[module.padding_idx].fill_(0.0)


def reset_uniform(module: Module) -> None:
    """Every parameter of a recurrent layer or cell, in order, from U(±1/√hidden_size)
    (PyTorch's init for both)."""
    bound = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0.0
    rng = init.generator_of(module)
    for p in module.parameters():
        init.uniform_(p, -bound, bound, rng=rng)


def _empty(shape, dtype) -> Parameter:
    dtype = param_dtype(dtype)
    if dtype.kind not in "fc":
        raise TypeError(f"layer parameters must be floating-point, not {dtype}")
    if any(int(n) < 0 for n in shape):
        raise TensorError(f"a parameter of negative size {tuple(shape)}: every size must be at least 0")
    return Parameter(np.zeros(shape, dtype=dtype))


class Identity(Module):
    """Returns its input unchanged (a placeholder in a Sequential)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """y = x Wᵀ + b, with W of shape (out_features, in_features).

    Initialised as in PyTorch: W and b uniform in ±1/√in_features.

    >>> import numpy as np
    >>> layer = Linear(3, 2, rng=0)
    >>> layer(np.ones((4, 3), dtype=np.float32)).shape
    torch.Size([4, 2])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None, rng=None):
        super().__init__()
        check_cpu(device, type(self).__name__)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = _empty((out_features, in_features), dtype)
        if bias:
            self.bias = _empty((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        init.reset_with(self, rng)

    def reset_parameters(self) -> None:
        """Draw the weight and bias afresh (PyTorch's init, from the global generator; in
        ``__init__`` from its ``rng=``)."""
        _reset_kaiming(self, self.in_features)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """y = x1ᵀ A x2 + b for each output feature: ``weight`` (out, in1, in2) and ``bias``
    (out,) drawn from U(−1/√in1, 1/√in1), as PyTorch's.

    >>> import numpy as np
    >>> Bilinear(3, 4, 2)(np.ones((5, 3), np.float32), np.ones((5, 4), np.float32)).shape
    torch.Size([5, 2])
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None, rng=None):
        super().__init__()
        check_cpu(device, type(self).__name__)
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        dt = param_dtype(dtype)
        self.weight = _empty((out_features, in1_features, in2_features), dt)
        if bias:
            self.bias = _empty((out_features,), dt)
        else:
            self.register_parameter("bias", None)
        init.reset_with(self, rng)

    def reset_parameters(self) -> None:
        """Weight and bias afresh from U(±1/√in1_features) (PyTorch's init)."""
        rng, bound = init.generator_of(self), 1.0 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound, rng=rng)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, rng=rng)

    def forward(self, x1, x2):
        return F.bilinear(x1, x2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


def conv_repr(m: Module) -> str:
    """PyTorch's ``extra_repr`` of a convolution: channels, kernel and stride, then the
    options that differ from their defaults, in PyTorch's order and spelling."""
    s = f"{m.in_channels}, {m.out_channels}, kernel_size={m.kernel_size}, stride={m.stride}"
    if m.padding != (0,) * len(m.padding):  # a string ('same', 'valid') is shown too, as PyTorch's
        s += f", padding={m.padding}"
    if m.dilation != (1,) * len(m.dilation):
        s += f", dilation={m.dilation}"
    output_padding = getattr(m, "output_padding", ())
    if output_padding != (0,) * len(output_padding):
        s += f", output_padding={output_padding}"
    if m.groups != 1:
        s += f", groups={m.groups}"
    if m.bias is None:
        s += ", bias=False"
    if getattr(m, "padding_mode", "zeros") != "zeros":
        s += f", padding_mode={m.padding_mode}"
    return s


def check_kernel(module: Module) -> tuple:
    """A convolution's ``kernel_size``, after checking that it, ``stride`` and ``dilation``
    are positive (PyTorch refuses 0 when it runs the layer)."""
    for what in ("kernel_size", "stride", "dilation"):
        if any(k < 1 for k in getattr(module, what)):
            raise TensorError(f"{type(module).__name__}: {what} should be greater than zero, got "
                              f"{what}={getattr(module, what)}")
    return module.kernel_size


class _ConvNd(Module):
    """PyTorch's ``_ConvNd``, the base of every convolution (Conv1d/2d/3d and the
    transposed ones), for code that finds them by it (``isinstance(m, nn.modules.conv._ConvNd)``
    in an initialisation loop); ``transposed`` tells the two kinds apart, as PyTorch's."""

    transposed = False

    def reset_parameters(self) -> None:
        """Weight and bias afresh (PyTorch's init: U(±1/√fan_in), the fan-in taken from the
        weight's second axis and kernel, also for the transposed ones)."""
        _reset_kaiming(self, math.prod(self.weight.shape[1:]))


class Conv2d(_ConvNd):
    """2-d convolution over (N, C, H, W) inputs (see :func:`chainrule.nn.functional.conv2d`);
    ``groups=in_channels`` makes it depthwise.

    >>> import numpy as np
    >>> conv = Conv2d(1, 4, kernel_size=3, padding=1, rng=0)
    >>> conv(np.zeros((2, 1, 8, 8), dtype=np.float32)).shape
    torch.Size([2, 4, 8, 8])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
        rng=None,
    ):
        super().__init__()
        check_cpu(device, type(self).__name__)
        self.padding_mode = check_padding_mode(padding_mode, "Conv2d")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.groups = F._check_groups(groups, self.in_channels, self.out_channels, "Conv2d")
        self.kernel_size = F._pair(kernel_size, "kernel_size")
        self.stride = F._pair(stride, "stride")
        self.padding = check_padding_string(padding, self.stride, "Conv2d") if isinstance(padding, str) else \
            F._pair(padding, "padding")
        self.dilation = F._pair(dilation, "dilation")
        self.weight = _empty((out_channels, in_channels // self.groups, *check_kernel(self)), dtype)
        if bias:
            self.bias = _empty((out_channels,), dtype)
        else:
            self.register_parameter("bias", None)
        init.reset_with(self, rng)

    def forward(self, x):
        x, padding = pad_input(x, self.padding, self.kernel_size, self.dilation, self.padding_mode)
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return conv_repr(self)


class MaxPool2d(Module):
    """The maximum over windows of (N, C, H, W) inputs; stride defaults to the kernel size.

    >>> import numpy as np
    >>> MaxPool2d(2)(np.zeros((1, 3, 8, 8))).shape
    (1, 3, 4, 4)
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = F._pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else F._pair(stride, "stride")
        self.padding = F._pair(padding, "padding")
        self.dilation = F._pair(dilation, "dilation")
        self.return_indices, self.ceil_mode = return_indices, ceil_mode
        self._given = (kernel_size, kernel_size if stride is None else stride, padding, dilation)

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self) -> str:  # the arguments as given, as PyTorch shows them
        k, st, p, d = self.__dict__.get("_given", (self.kernel_size, self.stride, self.padding, self.dilation))
        return f"kernel_size={k}, stride={st}, padding={p}, dilation={d}, ceil_mode={self.ceil_mode}"


class AvgPool2d(Module):
    """The mean over windows of (N, C, H, W) inputs; stride defaults to the kernel size;
    PyTorch's arguments in PyTorch's order (see :func:`chainrule.nn.functional.avg_pool2d`)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        self.kernel_size = F._pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else F._pair(stride, "stride")
        self.padding = F._pair(padding, "padding")
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override
        self._given = (kernel_size, kernel_size if stride is None else stride, padding)

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:  # the arguments as given, as PyTorch shows them
        k, st, p = self.__dict__.get("_given", (self.kernel_size, self.stride, self.padding))
        return f"kernel_size={k}, stride={st}, padding={p}"


class Flatten(Module):
    """Merge the axes ``start_dim`` … ``end_dim`` into one (by default all but the batch).

    >>> import numpy as np
    >>> Flatten()(np.zeros((2, 3, 4, 5))).shape
    (2, 60)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        shape = tuple(x.shape)
        rank = max(len(shape), 1)  # PyTorch's: a 0-d input flattens as a 1-d one
        for dim in (self.start_dim, self.end_dim):
            if not -rank <= dim < rank:
                raise IndexError(f"Flatten: dimension {dim} is out of range for an input of shape {shape}")
        start, end = self.start_dim % rank, self.end_dim % rank
        if start > end:
            raise TensorError(f"Flatten: start_dim {self.start_dim} comes after end_dim {self.end_dim} for an "
                              f"input of shape {shape}")
        if not shape:
            return cnp.reshape(x, (1,))
        merged = int(np.prod(shape[start : end + 1]))
        return cnp.reshape(x, shape[:start] + (merged,) + shape[end + 1 :])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size`` (one entry may be −1), Flatten's inverse.

    >>> import numpy as np
    >>> Unflatten(1, (3, 4))(np.zeros((2, 12))).shape
    (2, 3, 4)
    """

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim = int(dim)
        self.unflattened_size = tuple(int(n) for n in unflattened_size)

    def forward(self, x):
        shape = tuple(x.shape)
        d = self.dim % len(shape)
        return cnp.reshape(x, shape[:d] + self.unflattened_size + shape[d + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class _NormBase(Module):
    """PyTorch's ``_NormBase``: what BatchNorm and InstanceNorm share (the affine weight
    and bias, the running statistics and their state dict), each with its own forward."""

    _expected_ndim: tuple[int, ...] = ()
    _version = 2  # PyTorch's: the state dict has num_batches_tracked

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ):
        super().__init__()
        check_cpu(device, type(self).__name__)
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dtype = param_dtype(dtype)
        _affine_parameters(self, num_features, dtype, affine, bias)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None
        self.reset_parameters()  # as PyTorch's: an override in a subclass sets the start

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1 and the batch count 0, in place (PyTorch's;
        code that recalibrates the statistics over new data calls it)."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """The running statistics reset, the affine weight 1 and bias 0, in place (PyTorch's)."""
        self.reset_running_stats()
        _ones_zeros(self)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        # PyTorch's: a checkpoint from before num_batches_tracked (metadata version < 2, or
        # none, as in a plain dict) loads without one, and the module keeps its own count
        version = local_metadata.get("version")
        key = prefix + "num_batches_tracked"
        if (version is None or version < 2) and self.track_running_stats and key not in state_dict:
            state_dict[key] = self.num_batches_tracked
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class _BatchNorm(_NormBase):
    """PyTorch's ``_BatchNorm``, the base of BatchNorm1d/2d/3d and SyncBatchNorm (not of
    InstanceNorm, so that ``isinstance(m, _BatchNorm)`` picks the batch norms alone)."""

    def forward(self, x):
        if x.ndim not in self._expected_ndim:
            raise TensorError(
                f"{type(self).__name__} expects a {' or '.join(map(str, self._expected_ndim))}-d "
                f"input, got shape {tuple(x.shape)}"
            )
        if x.shape[1] != self.num_features:
            raise TensorError(
                f"{type(self).__name__}({self.num_features}) got an input with {x.shape[1]} channels"
            )
        use_batch = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1  # in place (recorded under chainrule.jit)
            if self.momentum is None:  # a cumulative average of all batches so far
                # as data, not a Python float: chainrule.jit records it rather than
                # reading the count (a guard that would fail on every call)
                momentum = 1.0 / undifferentiated(self.num_batches_tracked).astype(np.float64)
        return F.batch_norm(
            x,
            self.running_mean if (not use_batch or self.training) else None,
            self.running_var if (not use_batch or self.training) else None,
            self.weight,
            self.bias,
            training=use_batch,
            momentum=momentum,
            eps=self.eps,
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs over the batch (and length),
    with running statistics for eval mode (Ioffe & Szegedy, 2015)."""

    _expected_ndim = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs over the batch and spatial axes.

    >>> import numpy as np
    >>> bn = BatchNorm2d(3)
    >>> y = bn(np.random.default_rng(0).normal(size=(4, 3, 5, 5)).astype(np.float32))
    >>> bool(abs(float(y.mean())) < 1e-5)
    True
    """

    _expected_ndim = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) inputs over the batch and the three spatial
    axes, as PyTorch's."""

    _expected_ndim = (5,)


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` axes of each sample (Ba et al.,
    2016), with an elementwise scale and shift."""

    def __init__(
        self,
        normalized_shape,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        check_cpu(device, type(self).__name__)
        if isinstance(normalized_shape, int | np.integer):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(normalized_shape)
        dtype = param_dtype(dtype)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, dtype, elementwise_affine, bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight 1 and bias 0, in place (PyTorch's)."""
        _ones_zeros(self)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """Divide by the root mean square over the trailing ``normalized_shape`` axes of each
    sample (Zhang & Sennrich, 2019), then scale elementwise by ``weight`` (ones at first);
    ``eps=None``: the machine epsilon of the input's dtype, as PyTorch's.

    >>> import numpy as np
    >>> RMSNorm(4)(np.ones((2, 4), dtype=np.float32)).shape
    torch.Size([2, 4])
    """

    def __init__(self, normalized_shape, eps: float | None = None, elementwise_affine: bool = True, device=None,
                 dtype=None):
        super().__init__()
        check_cpu(device, type(self).__name__)
        if isinstance(normalized_shape, int | np.integer):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=param_dtype(dtype)))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight 1, in place (PyTorch's)."""
        _ones_zeros(self)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class Embedding(Module):
    """A lookup table: integer indices → rows of ``weight`` (num_embeddings, embedding_dim),
    initialised N(0, 1); the ``padding_idx`` row starts at zero and is never trained
    (its stored value is returned, so weights loaded from PyTorch give PyTorch's output).
    PyTorch's ``max_norm``, ``norm_type`` and ``scale_grad_by_freq`` as in
    :func:`~chainrule.nn.functional.embedding`; ``sparse=True`` is refused.

    >>> import numpy as np
    >>> Embedding(10, 3, rng=0)(np.array([[1, 2], [3, 4]])).shape
    torch.Size([2, 2, 3])
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight=None,
        _freeze: bool = False,
        *,
        device=None,
        dtype=None,
        rng=None,
    ):
        super().__init__()
        check_cpu(device, type(self).__name__)
        if sparse:
            raise NotImplementedError("Embedding(sparse=True): sparse gradients are not supported; "
                                      "chainrule's gradients are dense arrays (leave sparse=False)")
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"padding_idx {padding_idx} is out of range for {num_embeddings} embeddings")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        if _weight is None:
            self.weight = _empty((num_embeddings, embedding_dim), dtype)
            self.weight.requires_grad_(not _freeze)
            init.reset_with(self, rng)
        else:
            table = np.array(plain(_weight))
            if table.shape != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {table.shape}, expected "
                                 f"{(self.num_embeddings, self.embedding_dim)}")
            self.weight = Parameter(table if dtype is None else table.astype(param_dtype(dtype)))
            self.weight.requires_grad_(not _freeze)

    def reset_parameters(self) -> None:
        """The table afresh from N(0, 1), the ``padding_idx`` row zero (PyTorch's)."""
        reset_table(self)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0,
                        scale_grad_by_freq: bool = False, sparse: bool = False) -> Embedding:
        """An Embedding holding a copy of the 2-d ``embeddings`` (rows as given, the padding
        row included), not trained if ``freeze`` (PyTorch's ``from_pretrained``).

        >>> import numpy as np
        >>> Embedding.from_pretrained(np.eye(3))(np.array([2])).tolist()
        [[0.0, 0.0, 1.0]]
        """
        if len(np.shape(embeddings)) != 2:
            raise ValueError(f"from_pretrained: embeddings must be 2-d, got shape {np.shape(embeddings)}")
        rows, cols = np.shape(embeddings)
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def forward(self, idx):
        return F.embedding(idx, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        return s

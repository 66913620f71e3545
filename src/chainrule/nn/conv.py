"""More convolution-family layers: ``Conv1d``, ``Conv3d``, ``ConvTranspose2d``, ``AdaptiveAvgPool2d``
and ``GroupNorm``, with PyTorch's constructor arguments, defaults, parameter names and
shapes (so weights move between the two through safetensors files).

Parameters have ``chainrule.get_default_dtype()`` (float32 unless set) unless ``dtype=``
says otherwise; initialisation follows PyTorch's and draws from ``rng=`` (a NumPy Generator or a seed).
"""

from __future__ import annotations

from chainrule.core.dtypes import check_cpu
from chainrule.core.errors import TensorError
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn._padding import check_padding_mode, check_padding_string, pad_input
from chainrule.nn._volumetric import _triple
from chainrule.nn.layers import _affine_parameters, _ConvNd, _empty, _ones_zeros, check_kernel, conv_repr, param_dtype
from chainrule.nn.module import Module

__all__ = ["Conv1d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "AdaptiveAvgPool2d",
           "GroupNorm", "_ConvTransposeNd"]


def _init_conv(module: Module, weight_shape, bias: bool, dtype, rng) -> None:
    """A convolution's weight and bias, then its ``reset_parameters()`` (PyTorch's
    ``_ConvNd.__init__``: an override in a subclass sets the start)."""
    check_kernel(module)
    module.weight = _empty(weight_shape, param_dtype(dtype))
    if bias:
        module.bias = _empty((module.out_channels,), param_dtype(dtype))
    else:
        module.register_parameter("bias", None)
    init.reset_with(module, rng)


def _zeros_only(padding_mode: str, name: str) -> None:
    if padding_mode != "zeros":  # PyTorch refuses them too
        raise ValueError(f"{name}: only padding_mode='zeros' is supported, not {padding_mode!r}")


class Conv1d(_ConvNd):
    """1-d convolution over (N, C, L) or (C, L) inputs; weight (out, in/groups, k).

    >>> import numpy as np
    >>> Conv1d(3, 8, 5, padding=2, rng=0)(np.zeros((2, 3, 20), dtype=np.float32)).shape
    torch.Size([2, 8, 20])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None, rng=None):
        super().__init__()
        check_cpu(device, type(self).__name__)
        self.padding_mode = check_padding_mode(padding_mode, "Conv1d")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.groups = F._check_groups(groups, self.in_channels, self.out_channels, "Conv1d")
        self.kernel_size = (F._single(kernel_size, "kernel_size"),)
        self.stride = (F._single(stride, "stride"),)
        self.padding = check_padding_string(padding, self.stride, "Conv1d") if isinstance(padding, str) else \
            (F._single(padding, "padding"),)
        self.dilation = (F._single(dilation, "dilation"),)
        _init_conv(self, (self.out_channels, self.in_channels // self.groups, *self.kernel_size),
                   bias, dtype, rng)

    def forward(self, x):
        x, padding = pad_input(x, self.padding, self.kernel_size, self.dilation, self.padding_mode)
        return F.conv1d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return conv_repr(self)


class Conv3d(_ConvNd):
    """3-d convolution over (N, C, D, H, W) or (C, D, H, W) inputs; weight (out, in/groups,
    kd, kh, kw); PyTorch's arguments, padding modes and initialisation.

    >>> import numpy as np
    >>> Conv3d(2, 4, 3, padding=1, rng=0)(np.zeros((1, 2, 5, 5, 5), dtype=np.float32)).shape
    torch.Size([1, 4, 5, 5, 5])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None,
                 rng=None):
        super().__init__()
        if device is not None and str(device) != "cpu":
            raise ValueError(f"Conv3d: chainrule computes on the CPU; device={device!r} is not available")
        self.padding_mode = check_padding_mode(padding_mode, "Conv3d")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.groups = F._check_groups(groups, self.in_channels, self.out_channels, "Conv3d")
        self.kernel_size = _triple(kernel_size, "kernel_size")
        self.stride = _triple(stride, "stride")
        self.padding = check_padding_string(padding, self.stride, "Conv3d") if isinstance(padding, str) else \
            _triple(padding, "padding")
        self.dilation = _triple(dilation, "dilation")
        _init_conv(self, (self.out_channels, self.in_channels // self.groups, *self.kernel_size),
                   bias, dtype, rng)

    def forward(self, x):
        x, padding = pad_input(x, self.padding, self.kernel_size, self.dilation, self.padding_mode)
        return F.conv3d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return conv_repr(self)


class _ConvTransposeNd(_ConvNd):
    """PyTorch's ``_ConvTransposeNd``: the base of ConvTranspose1d/2d/3d (none of which
    derives from another, as in PyTorch)."""

    transposed = True

    def _padding_for(self, x, output_size) -> tuple[int, ...]:
        """The output_padding that gives ``output_size`` (its last entries, one per axis)."""
        dims = len(self.kernel_size)
        want = tuple(int(v) for v in tuple(output_size)[-dims:])
        extra = []
        for i, (n, s, p, d, k) in enumerate(zip(x.shape[-dims:], self.stride, self.padding, self.dilation,
                                                self.kernel_size, strict=True)):
            smallest = (n - 1) * s - 2 * p + d * (k - 1) + 1
            e = want[i] - smallest
            if not 0 <= e < max(s, d):
                raise ValueError(f"{type(self).__name__}: output_size {want} is not reachable from input size "
                                 f"{tuple(x.shape[-dims:])} (possible: {smallest} … {smallest + max(s, d) - 1})")
            extra.append(e)
        return tuple(extra)

    def extra_repr(self) -> str:
        return conv_repr(self)


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-d convolution (see :func:`chainrule.nn.functional.conv_transpose2d`);
    weight (in, out/groups, kh, kw), as in PyTorch.

    >>> import numpy as np
    >>> up = ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, rng=0)
    >>> up(np.zeros((1, 4, 5, 5), dtype=np.float32)).shape
    torch.Size([1, 2, 10, 10])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None, rng=None):
        super().__init__()
        check_cpu(device, type(self).__name__)
        _zeros_only(padding_mode, "ConvTranspose2d")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.groups = F._check_groups(groups, self.in_channels, self.out_channels, "ConvTranspose2d")
        self.kernel_size = F._pair(kernel_size, "kernel_size")
        self.stride = F._pair(stride, "stride")
        self.padding = F._pair(padding, "padding")
        self.output_padding = F._pair(output_padding, "output_padding")
        self.dilation = F._pair(dilation, "dilation")
        _init_conv(self, (self.in_channels, self.out_channels // self.groups, *self.kernel_size),
                   bias, dtype, rng)

    def forward(self, x, output_size=None):
        extra = self.output_padding
        if output_size is not None:
            extra = self._padding_for(x, output_size)
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, extra,
                                  self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-d convolution of (N, C, L) or (C, L) (see
    :func:`chainrule.nn.functional.conv_transpose1d`); weight (in, out/groups, k).

    >>> import numpy as np
    >>> ConvTranspose1d(4, 2, 3, stride=2, rng=0)(np.zeros((1, 4, 5), dtype=np.float32)).shape
    torch.Size([1, 2, 11])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None, rng=None):
        super().__init__()
        check_cpu(device, type(self).__name__)
        _zeros_only(padding_mode, "ConvTranspose1d")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.groups = F._check_groups(groups, self.in_channels, self.out_channels, "ConvTranspose1d")
        self.kernel_size = (F._single(kernel_size, "kernel_size"),)
        self.stride = (F._single(stride, "stride"),)
        self.padding = (F._single(padding, "padding"),)
        self.output_padding = (F._single(output_padding, "output_padding"),)
        self.dilation = (F._single(dilation, "dilation"),)
        _init_conv(self, (self.in_channels, self.out_channels // self.groups, *self.kernel_size),
                   bias, dtype, rng)

    def forward(self, x, output_size=None):
        extra = self.output_padding if output_size is None else self._padding_for(x, output_size)
        return F.conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding, extra,
                                  self.groups, self.dilation)


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-d convolution of (N, C, D, H, W) or (C, D, H, W) (see
    :func:`chainrule.nn.functional.conv_transpose3d`); weight (in, out/groups, kd, kh, kw).

    >>> import numpy as np
    >>> ConvTranspose3d(4, 2, 2, stride=2, rng=0)(np.zeros((1, 4, 3, 3, 3), dtype=np.float32)).shape
    torch.Size([1, 2, 6, 6, 6])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None, rng=None):
        super().__init__()
        check_cpu(device, type(self).__name__)
        _zeros_only(padding_mode, "ConvTranspose3d")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.groups = F._check_groups(groups, self.in_channels, self.out_channels, "ConvTranspose3d")
        self.kernel_size = _triple(kernel_size, "kernel_size")
        self.stride = _triple(stride, "stride")
        self.padding = _triple(padding, "padding")
        self.output_padding = _triple(output_padding, "output_padding")
        self.dilation = _triple(dilation, "dilation")
        _init_conv(self, (self.in_channels, self.out_channels // self.groups, *self.kernel_size),
                   bias, dtype, rng)

    def forward(self, x, output_size=None):
        extra = self.output_padding if output_size is None else self._padding_for(x, output_size)
        return F.conv_transpose3d(x, self.weight, self.bias, self.stride, self.padding, extra,
                                  self.groups, self.dilation)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` whatever the input's size (PyTorch's
    windows; None keeps that axis).

    >>> import numpy as np
    >>> AdaptiveAvgPool2d((1, 1))(np.ones((2, 3, 7, 5))).shape
    (2, 3, 1, 1)
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class GroupNorm(Module):
    """Group normalisation of (N, C, ...) inputs: ``num_groups`` groups of channels, each
    normalised per sample; weight and bias of shape (C,) (``bias=False``: the weight alone).

    >>> import numpy as np
    >>> GroupNorm(2, 4)(np.random.default_rng(0).normal(size=(3, 4, 5))).shape
    torch.Size([3, 4, 5])
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, device=None,
                 dtype=None, *, bias: bool = True):
        super().__init__()
        check_cpu(device, type(self).__name__)
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = eps, affine
        _affine_parameters(self, num_channels, param_dtype(dtype), affine, bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weight 1 and bias 0, in place (PyTorch's)."""
        _ones_zeros(self)

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise TensorError(f"GroupNorm({self.num_groups}, {self.num_channels}) got an input of shape "
                             f"{tuple(x.shape)}: axis 1 must have {self.num_channels} channels")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")

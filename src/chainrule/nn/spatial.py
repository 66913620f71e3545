"""Pooling, resampling and instance-normalisation layers with PyTorch's constructor
arguments, defaults and state-dict keys: ``MaxPool1d``, ``AvgPool1d``,
``AdaptiveAvgPool1d``, ``AdaptiveMaxPool1d``, ``AdaptiveMaxPool2d``, ``Upsample``
(and ``UpsamplingNearest2d``/``UpsamplingBilinear2d``), ``Unfold``, ``Fold``,
``PixelShuffle``, ``PixelUnshuffle``, ``InstanceNorm1d``/``2d``/``3d``, ``MaxPool3d``,
``AvgPool3d``, ``AdaptiveAvgPool3d``, ``LPPool1d``/``2d``/``3d``, ``LocalResponseNorm``,
``ChannelShuffle`` and ``MaxUnpool1d``/``2d``; and ``DataParallel``, which on the CPU runs
its module as it is (as PyTorch's does without GPUs), keeping PyTorch's ``module.`` prefix.
"""

from __future__ import annotations

from chainrule.nn import functional as F
from chainrule.nn._options import _Options
from chainrule.nn.layers import _NormBase
from chainrule.nn.module import Module

__all__ = [
    "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "Upsample",
    "UpsamplingNearest2d", "UpsamplingBilinear2d", "Unfold", "Fold", "PixelShuffle", "PixelUnshuffle",
    "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d",
    "LPPool1d", "LPPool2d", "LPPool3d", "LocalResponseNorm", "ChannelShuffle", "MaxUnpool1d", "MaxUnpool2d",
    "DataParallel", "MaxUnpool3d", "AdaptiveMaxPool3d", "FractionalMaxPool2d", "FractionalMaxPool3d",
]


class MaxPool1d(_Options):
    """The maximum over windows of (N, C, L) or (C, L); see :func:`F.max_pool1d`.

    >>> import numpy as np
    >>> MaxPool1d(2)(np.zeros((1, 3, 9))).shape
    (1, 3, 4)
    """

    _fn = staticmethod(F.max_pool1d)
    _names = ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode")
    _defaults = {"stride": None, "padding": 0, "dilation": 1, "return_indices": False, "ceil_mode": False}

    def extra_repr(self) -> str:  # PyTorch's
        stride = self.kernel_size if self.stride is None else self.stride
        return (f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool1d(_Options):
    """The mean over windows of (N, C, L) or (C, L); see :func:`F.avg_pool1d`.

    >>> import numpy as np
    >>> AvgPool1d(3, stride=2)(np.zeros((1, 3, 9))).shape
    (1, 3, 4)
    """

    _fn = staticmethod(F.avg_pool1d)
    _names = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")
    _defaults = {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True}

    def extra_repr(self) -> str:  # PyTorch's, each a 1-tuple
        one = lambda v: tuple(v) if isinstance(v, tuple | list) else (v,)  # noqa: E731
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={one(self.kernel_size)}, stride={one(stride)}, padding={one(self.padding)}"


class AdaptiveAvgPool1d(_Options):
    """Average pooling of (N, C, L) or (C, L) to ``output_size`` (PyTorch's windows).

    >>> import numpy as np
    >>> AdaptiveAvgPool1d(2)(np.zeros((1, 3, 7))).shape
    (1, 3, 2)
    """

    _fn = staticmethod(F.adaptive_avg_pool1d)
    _names = ("output_size",)
    _defaults: dict = {}


class AdaptiveMaxPool1d(_Options):
    """Max pooling of (N, C, L) or (C, L) to ``output_size`` (PyTorch's windows).

    >>> import numpy as np
    >>> AdaptiveMaxPool1d(2)(np.zeros((1, 3, 7))).shape
    (1, 3, 2)
    """

    _fn = staticmethod(F.adaptive_max_pool1d)
    _names = ("output_size", "return_indices")
    _defaults = {"return_indices": False}
    _shown = ("output_size",)


class AdaptiveMaxPool2d(_Options):
    """Max pooling of (N, C, H, W) or (C, H, W) to ``output_size`` (an int or a pair, None
    keeping that axis), over PyTorch's adaptive windows.

    >>> import numpy as np
    >>> AdaptiveMaxPool2d((2, None))(np.zeros((1, 3, 7, 5))).shape
    (1, 3, 2, 5)
    """

    _fn = staticmethod(F.adaptive_max_pool2d)
    _names = ("output_size", "return_indices")
    _defaults = {"return_indices": False}
    _shown = ("output_size",)


class Upsample(_Options):
    """Resize by ``scale_factor`` or to ``size`` (see :func:`F.interpolate`).

    >>> import numpy as np
    >>> Upsample(scale_factor=2, mode="bilinear")(np.zeros((1, 3, 4, 5))).shape
    (1, 3, 8, 10)
    """

    _fn = staticmethod(F.interpolate)
    _names = ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor")
    _defaults = {"size": None, "scale_factor": None, "mode": "nearest", "align_corners": None,
                 "recompute_scale_factor": None}

    def extra_repr(self) -> str:  # PyTorch's
        if self.scale_factor is not None:
            scale = (tuple(float(v) for v in self.scale_factor) if isinstance(self.scale_factor, tuple | list)
                     else float(self.scale_factor))
            return f"scale_factor={scale!r}, mode={self.mode!r}"
        return f"size={self.size!r}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode='nearest')``.

    >>> import numpy as np
    >>> UpsamplingNearest2d(scale_factor=2)(np.zeros((1, 1, 2, 3))).shape
    (1, 1, 4, 6)
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, "nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode='bilinear', align_corners=True)``.

    >>> import numpy as np
    >>> UpsamplingBilinear2d(size=(3, 3))(np.zeros((1, 1, 2, 2))).shape
    (1, 1, 3, 3)
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, "bilinear", True)


class Unfold(_Options):
    """Sliding blocks as columns, (N, C, H, W) → (N, C·kh·kw, L); see :func:`F.unfold`.

    >>> import numpy as np
    >>> Unfold(2)(np.zeros((1, 3, 4, 4))).shape
    (1, 12, 9)
    """

    _fn = staticmethod(F.unfold)
    _names = ("kernel_size", "dilation", "padding", "stride")
    _defaults = {"dilation": 1, "padding": 0, "stride": 1}


class Fold(_Options):
    """Columns summed back into an image of ``output_size``; see :func:`F.fold`.

    >>> import numpy as np
    >>> Fold((4, 4), 2)(np.zeros((1, 12, 9))).shape
    (1, 3, 4, 4)
    """

    _fn = staticmethod(F.fold)
    _names = ("output_size", "kernel_size", "dilation", "padding", "stride")
    _defaults = {"dilation": 1, "padding": 0, "stride": 1}


class PixelShuffle(_Options):
    """(*, C·r², H, W) → (*, C, H·r, W·r).

    >>> import numpy as np
    >>> PixelShuffle(2)(np.zeros((1, 8, 3, 3))).shape
    (1, 2, 6, 6)
    """

    _fn = staticmethod(F.pixel_shuffle)
    _names = ("upscale_factor",)
    _defaults: dict = {}


class PixelUnshuffle(_Options):
    """(*, C, H·r, W·r) → (*, C·r², H, W).

    >>> import numpy as np
    >>> PixelUnshuffle(2)(np.zeros((1, 2, 6, 6))).shape
    (1, 8, 3, 3)
    """

    _fn = staticmethod(F.pixel_unshuffle)
    _names = ("downscale_factor",)
    _defaults: dict = {}


class _InstanceNorm(_NormBase):
    """PyTorch's ``_InstanceNorm``: a ``_NormBase``, not a ``_BatchNorm``."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device=None, dtype=None, *, bias: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, x):
        spatial = self._expected_ndim[0] - 2
        if x.ndim not in (spatial + 1, spatial + 2):
            raise ValueError(f"{type(self).__name__} expects a {spatial + 2}-d input (N, C, ...) or a "
                             f"{spatial + 1}-d one without N, got shape {tuple(x.shape)}")
        unbatched = x.ndim == spatial + 1
        if unbatched:
            x = x[None]
        if self.affine and x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}) got an input with {x.shape[1]} channels")
        use_input_stats = self.training or not self.track_running_stats
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias, use_input_stats,
                              0.0 if self.momentum is None else self.momentum, self.eps)
        return out[0] if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L): each channel of each sample over its
    length; no affine parameters or running statistics unless asked (PyTorch's defaults).

    >>> import numpy as np
    >>> InstanceNorm1d(3)(np.arange(12.0).reshape(1, 3, 4)).shape
    (1, 3, 4)
    """

    _expected_ndim = (3,)


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W) (see :class:`InstanceNorm1d`).

    >>> import numpy as np
    >>> InstanceNorm2d(3, affine=True)(np.ones((2, 3, 4, 4))).shape
    torch.Size([2, 3, 4, 4])
    """

    _expected_ndim = (4,)


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or (C, D, H, W).

    >>> import numpy as np
    >>> InstanceNorm3d(2)(np.ones((1, 2, 2, 2, 2))).shape
    (1, 2, 2, 2, 2)
    """

    _expected_ndim = (5,)


class MaxPool3d(_Options):
    """The maximum over windows of (N, C, D, H, W) or (C, D, H, W); see :func:`F.max_pool3d`.

    >>> import numpy as np
    >>> MaxPool3d(2)(np.zeros((1, 3, 4, 4, 5))).shape
    (1, 3, 2, 2, 2)
    """

    _fn = staticmethod(F.max_pool3d)
    _names = ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode")
    _defaults = {"stride": None, "padding": 0, "dilation": 1, "return_indices": False, "ceil_mode": False}
    extra_repr = MaxPool1d.extra_repr


class AvgPool3d(_Options):
    """The mean over windows of (N, C, D, H, W) or (C, D, H, W); see :func:`F.avg_pool3d`.

    >>> import numpy as np
    >>> AvgPool3d(2, stride=1)(np.zeros((3, 4, 4, 5))).shape
    (3, 3, 3, 4)
    """

    _fn = staticmethod(F.avg_pool3d)
    _names = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")
    _defaults = {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True,
                 "divisor_override": None}

    def extra_repr(self) -> str:  # PyTorch's
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}"


class AdaptiveAvgPool3d(_Options):
    """Average pooling of (N, C, D, H, W) or (C, D, H, W) to ``output_size``.

    >>> import numpy as np
    >>> AdaptiveAvgPool3d((1, None, 2))(np.zeros((1, 3, 4, 4, 5))).shape
    (1, 3, 1, 4, 2)
    """

    _fn = staticmethod(F.adaptive_avg_pool3d)
    _names = ("output_size",)
    _defaults: dict = {}


class LPPool1d(_Options):
    """The ``norm_type``-norm of windows of (N, C, L) or (C, L); see :func:`F.lp_pool1d`.

    >>> import numpy as np
    >>> LPPool1d(2, 3)(np.ones((1, 2, 7))).shape
    (1, 2, 2)
    """

    _fn = staticmethod(F.lp_pool1d)
    _names = ("norm_type", "kernel_size", "stride", "ceil_mode")
    _defaults = {"stride": None, "ceil_mode": False}


class LPPool2d(LPPool1d):
    """The ``norm_type``-norm of windows of (N, C, H, W) or (C, H, W); see :func:`F.lp_pool2d`."""

    _fn = staticmethod(F.lp_pool2d)


class LPPool3d(LPPool1d):
    """The ``norm_type``-norm of windows of (N, C, D, H, W) or (C, D, H, W); see :func:`F.lp_pool3d`."""

    _fn = staticmethod(F.lp_pool3d)


class LocalResponseNorm(Module):
    """:func:`F.local_response_norm` across ``size`` neighbouring channels (AlexNet's).

    >>> import numpy as np
    >>> LocalResponseNorm(2)(np.ones((1, 3, 2))).shape
    (1, 3, 2)
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class ChannelShuffle(Module):
    """:func:`F.channel_shuffle` of (N, C, ...) inputs in ``groups`` groups (ShuffleNet's)."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class _MaxUnpool(Module):
    dims = 2
    _fn = staticmethod(F.max_unpool2d)

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        tup = lambda v: (int(v),) * self.dims if not isinstance(v, tuple | list) else tuple(v)  # noqa: E731
        self.kernel_size = tup(kernel_size)
        self.stride = self.kernel_size if stride is None else tup(stride)
        self.padding = tup(padding)

    def forward(self, input, indices, output_size=None):
        return type(self)._fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpool):
    """:func:`F.max_unpool1d`: ``layer(values, indices, output_size=None)``."""

    dims = 1
    _fn = staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpool):
    """:func:`F.max_unpool2d`: ``layer(values, indices, output_size=None)``, the indices of a
    ``MaxPool2d(..., return_indices=True)``."""


class DataParallel(Module):
    """PyTorch's ``nn.DataParallel(module)``: on the CPU it runs ``module`` as it is, as
    PyTorch's does without GPUs; ``.module`` is the model, and the state-dict keys carry
    PyTorch's ``module.`` prefix, so checkpoints of wrapped models load as in PyTorch
(``device_ids`` are taken and, as PyTorch does on a machine without GPUs, ignored). For
    data-parallel training across processes use ``DistributedDataParallel``.

    >>> from chainrule import nn
    >>> list(DataParallel(nn.Linear(2, 1)).state_dict())
    ['module.weight', 'module.bias']
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        self.module = module  # device_ids and output_device name GPUs, which PyTorch also ignores without them
        self.dim = dim
        self.device_ids: list = []

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)



class MaxUnpool3d(_MaxUnpool):
    """:func:`F.max_unpool3d`: ``layer(values, indices, output_size=None)``, the indices of a
    ``MaxPool3d(..., return_indices=True)``."""

    dims = 3
    _fn = staticmethod(F.max_unpool3d)


class AdaptiveMaxPool3d(_Options):
    """Max pooling of (N, C, D, H, W) or (C, D, H, W) to ``output_size`` (an int or a
    triple, None keeping that axis), over PyTorch's adaptive windows."""

    _fn = staticmethod(F.adaptive_max_pool3d)
    _names = ("output_size", "return_indices")
    _defaults = {"return_indices": False}
    _shown = ("output_size",)


class _FractionalMaxPool(Module):
    dims = 2

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices: bool = False,
                 _random_samples=None):
        super().__init__()
        name = type(self).__name__

        def tup(v):
            return None if v is None else tuple(v) if isinstance(v, tuple | list) else (v,) * self.dims

        self.kernel_size, self.return_indices = tup(kernel_size), return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size, self.output_ratio = tup(output_size), tup(output_ratio)
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):
        fn = F.fractional_max_pool2d if self.dims == 2 else F.fractional_max_pool3d
        return fn(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                  _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPool):
    """:func:`F.fractional_max_pool2d` as a layer (PyTorch's; ``_random_samples`` a buffer)."""


class FractionalMaxPool3d(_FractionalMaxPool):
    """:func:`F.fractional_max_pool3d` as a layer (PyTorch's; ``_random_samples`` a buffer)."""

    dims = 3

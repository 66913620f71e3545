"""PyTorch's ``torch.nn.modules.conv``, for code that names the convolutions' base class
(``isinstance(m, nn.modules.conv._ConvNd)`` in an initialisation loop, as torchvision's
and timm's models do) or imports a convolution from here."""

from __future__ import annotations

from chainrule.nn import lazy
from chainrule.nn.conv import Conv1d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, _ConvTransposeNd
from chainrule.nn.layers import Conv2d, _ConvNd

LazyConv1d, LazyConv2d, LazyConv3d = lazy.LazyConv1d, lazy.LazyConv2d, lazy.LazyConv3d
LazyConvTranspose1d, LazyConvTranspose2d = lazy.LazyConvTranspose1d, lazy.LazyConvTranspose2d
LazyConvTranspose3d = lazy.LazyConvTranspose3d

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LazyConv1d",
           "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
           "_ConvNd", "_ConvTransposeNd"]

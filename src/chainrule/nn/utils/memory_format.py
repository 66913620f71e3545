"""``nn.utils.convert_conv2d_weight_memory_format`` and ``convert_conv3d_weight_memory_format``,
PyTorch's: they change the memory layout of convolution weights (``channels_last``), which
NumPy arrays do not have, so here they check the format and give the module back as it is."""

from __future__ import annotations

from chainrule.nn.module import Module
from chainrule.numpy.torch_creation import memory_format as _memory_format

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]


def _convert(module: Module, memory_format, name: str) -> Module:
    if not isinstance(memory_format, _memory_format):
        raise TypeError(f"{name}: memory_format must be a memory format (chainrule.channels_last, ...), "
                        f"got {memory_format!r}")
    return module


def convert_conv2d_weight_memory_format(module: Module, memory_format) -> Module:
    """``module`` as it is (the values, and so every result, are those of any layout).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> m = nn.Conv2d(2, 3, 3)
    >>> convert_conv2d_weight_memory_format(m, cr.channels_last) is m
    True
    """
    return _convert(module, memory_format, "convert_conv2d_weight_memory_format")


def convert_conv3d_weight_memory_format(module: Module, memory_format) -> Module:
    """``module`` as it is (see :func:`convert_conv2d_weight_memory_format`)."""
    return _convert(module, memory_format, "convert_conv3d_weight_memory_format")

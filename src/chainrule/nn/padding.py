"""Padding layers, PyTorch's: ``ZeroPad1d``/``2d``/``3d``, ``ConstantPad1d``/``2d``/``3d``,
``ReflectionPad1d``/``2d``/``3d``, ``ReplicationPad1d``/``2d``/``3d`` and
``CircularPad1d``/``2d``/``3d``. Each pads the last one, two or three axes by
:func:`chainrule.nn.functional.pad`, so the gradient flows back to the input (a reflected
or replicated cell adds into its source).
"""

from __future__ import annotations

from chainrule.core.errors import TensorError
from chainrule.nn import functional as F
from chainrule.nn.module import Module

__all__ = [
    "ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d",
    "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d", "CircularPad2d", "ZeroPad3d", "ConstantPad3d",
    "ReflectionPad3d", "ReplicationPad3d", "CircularPad3d",
]

_SIDES = ("left, right", ", top, bottom", ", front, back")


class _PadNd(Module):
    axes = 1
    mode = "constant"

    def __init__(self, padding, value: float = 0.0):
        super().__init__()
        widths = (int(padding),) * (2 * self.axes) if isinstance(padding, int) else tuple(int(p) for p in padding)
        if len(widths) != 2 * self.axes:
            raise TensorError(f"{type(self).__name__}: padding is an int or {2 * self.axes} widths "
                             f"({''.join(_SIDES[:self.axes])}), got {padding!r}")
        self.padding = widths
        self.value = value

    def forward(self, input):
        if self.mode == "constant":  # PyTorch's: any input with at least the padded axes
            if input.ndim < self.axes:
                raise TensorError(f"{type(self).__name__}: expected an input of at least {self.axes} dimensions, "
                                  f"got shape {tuple(input.shape)}")
            return F.pad(input, self.padding, "constant", self.value)
        if input.ndim not in (self.axes + 1, self.axes + 2):
            raise ValueError(f"{type(self).__name__}: expected an input of {self.axes + 1} or {self.axes + 2} "
                             f"dimensions ((C, ...) or (N, C, ...)), got shape {tuple(input.shape)}")
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:  # PyTorch's: the widths; a ConstantPad's value too
        if self.mode == "constant" and not type(self).__name__.startswith("Zero"):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pad the last axis with ``value``: ``padding`` an int or (left, right).

    >>> import numpy as np
    >>> ConstantPad1d((1, 2), 7.0)(np.zeros((1, 2))).tolist()
    [[7.0, 0.0, 0.0, 7.0, 7.0]]
    """

    def __init__(self, padding, value: float):
        super().__init__(padding, value)


class ConstantPad2d(_PadNd):
    """Pad the last two axes with ``value``: ``padding`` an int or (left, right, top, bottom)."""

    axes = 2

    def __init__(self, padding, value: float):
        super().__init__(padding, value)


class ZeroPad1d(_PadNd):
    """Pad the last axis with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ZeroPad2d(_PadNd):
    """Pad the last two axes with zeros.

    >>> import numpy as np
    >>> ZeroPad2d((1, 0, 0, 1))(np.ones((1, 1, 1))).tolist()
    [[[0.0, 1.0], [0.0, 0.0]]]
    """

    axes = 2

    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ReflectionPad1d(_PadNd):
    """Pad the last axis with its reflection (the edge not repeated).

    >>> import numpy as np
    >>> ReflectionPad1d(2)(np.arange(3.0).reshape(1, 3)).tolist()
    [[2.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.0]]
    """

    mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    """Pad the last two axes with their reflection."""

    axes = 2


class ReplicationPad1d(_PadNd):
    """Pad the last axis by repeating its edge values."""

    mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    """Pad the last two axes by repeating their edge values."""

    axes = 2


class CircularPad1d(_PadNd):
    """Pad the last axis by wrapping around (the other end's values)."""

    mode = "circular"


class CircularPad2d(CircularPad1d):
    """Pad the last two axes by wrapping around."""

    axes = 2


class ConstantPad3d(_PadNd):
    """Pad the last three axes with ``value``: ``padding`` an int or (left, right, top,
    bottom, front, back)."""

    axes = 3

    def __init__(self, padding, value: float):
        super().__init__(padding, value)


class ZeroPad3d(_PadNd):
    """Pad the last three axes with zeros."""

    axes = 3

    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ReflectionPad3d(ReflectionPad1d):
    """Pad the last three axes with their reflection."""

    axes = 3


class ReplicationPad3d(ReplicationPad1d):
    """Pad the last three axes by repeating their edge values."""

    axes = 3


class CircularPad3d(CircularPad1d):
    """Pad the last three axes by wrapping around."""

    axes = 3

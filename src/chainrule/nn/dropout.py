"""Dropout layers: ``Dropout`` (each element), ``Dropout1d``, ``Dropout2d``, ``Dropout3d``
(whole channels), ``AlphaDropout`` and ``FeatureAlphaDropout`` (for SELU networks), with
PyTorch's arguments ``(p=0.5, inplace=False)``; ``rng=`` (a NumPy Generator or seed) fixes
the masks' stream, which is otherwise the global generator that ``chainrule.manual_seed``
seeds (a deep copy of a layer shares its stream). Each is the identity in eval mode.

>>> import numpy as np
>>> layer = Dropout2d(0.5, rng=0)
>>> y = layer(np.ones((2, 3, 4, 4)))
>>> sorted(set(y.reshape(6, 16).std(axis=1).tolist()))  # whole channels kept or dropped
[0.0]
>>> layer.eval()(np.ones((1, 2, 1, 1))).tolist()
[[[[1.0]], [[1.0]]]]
"""

from __future__ import annotations

from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]


class _DropoutNd(Module):
    _fn = staticmethod(F.dropout)

    def __init__(self, p: float = 0.5, inplace: bool = False, rng=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be between 0 and 1, got {p}")
        if not isinstance(inplace, bool):
            raise TypeError(f"{type(self).__name__}: inplace must be True or False, got {inplace!r} "
                            "(pass the generator as rng=)")
        self.p, self.inplace = p, inplace
        self.rng = rng if rng is None else init.get_generator(rng)

    def forward(self, x):
        return type(self)._fn(x, self.p, self.training, self.inplace, rng=self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero elements with probability ``p`` in training, scaling the rest by 1/(1−p)."""


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability ``p``."""

    _fn = staticmethod(F.dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) inputs with probability ``p``."""

    _fn = staticmethod(F.dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with probability ``p``."""

    _fn = staticmethod(F.dropout3d)


class AlphaDropout(_DropoutNd):
    """Alpha dropout (for SELU networks): keeps zero mean and unit variance."""

    _fn = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels."""

    _fn = staticmethod(F.feature_alpha_dropout)

"""``torch.distributions``' most used members for the eager layer: :class:`Categorical`
(policy-gradient code: ``m = Categorical(probs); a = m.sample(); m.log_prob(a)``),
:class:`Bernoulli` and :class:`Normal` (with ``rsample``, the reparameterised draw).
``log_prob`` and ``entropy`` differentiate in the parameters; draws come from the global
generator that ``chainrule.manual_seed`` seeds (NumPy's numbers, not PyTorch's).

>>> import chainrule as cr
>>> m = Categorical(probs=cr.tensor([0.25, 0.75]))
>>> round(m.log_prob(cr.tensor(1)).item(), 4), round(m.entropy().item(), 4)
(-0.2877, 0.5623)
"""

from __future__ import annotations

import math

import numpy as np

import chainrule.nn.functional as F
import chainrule.numpy as cnp
from chainrule.core.eager import EAGER
from chainrule.core.rng import get_generator
from chainrule.core.tensor import Tensor
from chainrule.core.values import plain

__all__ = ["Distribution", "Categorical", "Bernoulli", "Normal"]


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.result_type(x, np.float32)), EAGER)


def _shape(sample_shape) -> tuple:
    return (int(sample_shape),) if isinstance(sample_shape, int) else tuple(sample_shape)


class Distribution:
    """What the distributions share: ``sample(sample_shape)`` (without gradient),
    ``log_prob(value)``, ``entropy()``, ``mean``, ``batch_shape``."""

    def __init__(self, batch_shape: tuple):
        self.batch_shape = tuple(batch_shape)

    def sample(self, sample_shape=()) -> Tensor:
        raise NotImplementedError


class Categorical(Distribution):
    """Categories 0..K-1 with probabilities ``probs`` (normalised along the last axis) or
    ``logits`` (unnormalised log-probabilities), as ``torch.distributions.Categorical``."""

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Categorical: give exactly one of probs and logits")
        if probs is not None:
            probs = _tensor(probs)
            self.probs = probs / probs.sum(-1, keepdims=True)
            self.logits = cnp.log(self.probs)
        else:
            self.logits = F.log_softmax(_tensor(logits), dim=-1)
            self.probs = cnp.exp(self.logits)
        super().__init__(self.probs.shape[:-1])

    def sample(self, sample_shape=()) -> Tensor:
        p = np.asarray(plain(self.probs), dtype=np.float64)
        shape = _shape(sample_shape) + self.batch_shape
        u = get_generator(None).random(shape + (1,))
        cdf = np.cumsum(p, axis=-1)
        idx = np.minimum((u > cdf / cdf[..., -1:]).sum(-1), p.shape[-1] - 1)
        return Tensor(idx.astype(np.int64), EAGER)

    def log_prob(self, value) -> Tensor:
        idx = np.asarray(plain(value)).astype(np.int64)
        logits = cnp.broadcast_to(self.logits, np.broadcast_shapes(idx.shape + (1,), self.logits.shape))
        return cnp.take_along_axis(logits, np.broadcast_to(idx, logits.shape[:-1])[..., None], axis=-1)[..., 0]

    def entropy(self) -> Tensor:
        return -(self.probs * cnp.where(self.probs > 0, self.logits, 0.0)).sum(-1)


class Bernoulli(Distribution):
    """1 with probability ``probs`` (or sigmoid(``logits``)), else 0."""

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Bernoulli: give exactly one of probs and logits")
        self.logits = _tensor(logits) if logits is not None else cnp.log(_tensor(probs)) - cnp.log1p(-_tensor(probs))
        self.probs = _tensor(probs) if probs is not None else F.sigmoid(self.logits)
        super().__init__(self.probs.shape)

    def sample(self, sample_shape=()) -> Tensor:
        p = np.asarray(plain(self.probs))
        draws = get_generator(None).random(_shape(sample_shape) + p.shape) < p
        return Tensor(draws.astype(p.dtype), EAGER)

    def log_prob(self, value) -> Tensor:
        return -F.binary_cross_entropy_with_logits(self.logits, _tensor(value), reduction="none")

    def entropy(self) -> Tensor:
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")


class Normal(Distribution):
    """The normal distribution of mean ``loc`` and standard deviation ``scale``."""

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _tensor(loc), _tensor(scale)
        super().__init__(np.broadcast_shapes(self.loc.shape, self.scale.shape))

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return self.scale

    def rsample(self, sample_shape=()) -> Tensor:
        """A draw that differentiates in ``loc`` and ``scale`` (loc + scale·ε)."""
        dtype = np.result_type(plain(self.loc), plain(self.scale))
        eps = get_generator(None).standard_normal(_shape(sample_shape) + self.batch_shape).astype(dtype)
        return self.loc + self.scale * Tensor(eps, EAGER)

    def sample(self, sample_shape=()) -> Tensor:
        return self.rsample(sample_shape).detach()

    def log_prob(self, value) -> Tensor:
        z = (_tensor(value) - self.loc) / self.scale
        return -0.5 * z * z - cnp.log(self.scale) - 0.5 * math.log(2 * math.pi)

    def entropy(self) -> Tensor:
        return 0.5 + 0.5 * math.log(2 * math.pi) + cnp.log(self.scale) + cnp.zeros(self.batch_shape)

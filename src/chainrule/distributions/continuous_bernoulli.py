"""``torch.distributions.ContinuousBernoulli``: the density ∝ λˣ(1 − λ)¹⁻ˣ on [0, 1] (a VAE's
likelihood for pixel intensities), with PyTorch's Taylor expansions inside ``lims`` around
λ = 1/2, where the closed forms divide 0 by 0.

>>> import chainrule as cr
>>> round(ContinuousBernoulli(cr.tensor(0.5)).mean.item(), 6)
0.5
"""

from __future__ import annotations

import math

import numpy as np

import chainrule.nn.functional as F
import chainrule.numpy as cnp
from chainrule.distributions import constraints
from chainrule.distributions.discrete import _one_of
from chainrule.distributions.distribution import broadcast_all, lazy_property, noise
from chainrule.distributions.exp_family import ExponentialFamily
from chainrule.distributions.utils import clamp_probs, probs_to_logits

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(ExponentialFamily):
    """The continuous Bernoulli of ``probs`` (or sigmoid(``logits``)) on [0, 1]."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        _one_of("ContinuousBernoulli", probs, logits)
        if probs is not None:
            (probs,) = broadcast_all(probs)
            # checked before clamping: the clamped probs would always pass
            if validate_args is not None and not bool(np.all(np.asarray(constraints.unit_interval.check(probs)))):
                raise ValueError("The parameter probs has invalid values")
            self.probs = clamp_probs(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        self._lims = lims
        super().__init__(self._param.shape, validate_args=validate_args)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return clamp_probs(F.sigmoid(self.logits))

    @property
    def param_shape(self):
        return self._param.size()

    def _outside_unstable_region(self):
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self):
        return cnp.where(self._outside_unstable_region(), self.probs, self._lims[0])

    def _cont_bern_log_norm(self):
        """The log of the normalising constant, in ``probs``."""
        cut = self._cut_probs()
        below = cnp.where(cut <= 0.5, cut, 0.0)
        above = cnp.where(cut >= 0.5, cut, 1.0)
        log_norm = cnp.log(cnp.abs(cnp.log1p(-cut) - cnp.log(cut))) - cnp.where(
            cut <= 0.5, cnp.log1p(-2.0 * below), cnp.log(2.0 * above - 1.0))
        x = (self.probs - 0.5) ** 2
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return cnp.where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self):
        cut = self._cut_probs()
        mus = cut / (2.0 * cut - 1.0) + 1.0 / (cnp.log1p(-cut) - cnp.log(cut))
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x ** 2) * x
        return cnp.where(self._outside_unstable_region(), mus, taylor)

    @property
    def variance(self):
        cut = self._cut_probs()
        var = cut * (cut - 1.0) / (1.0 - 2.0 * cut) ** 2 + 1.0 / (cnp.log1p(-cut) - cnp.log(cut)) ** 2
        x = (self.probs - 0.5) ** 2
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return cnp.where(self._outside_unstable_region(), var, taylor)

    def rsample(self, sample_shape=()):
        return self.icdf(noise("random", self._extended_shape(sample_shape), self.probs.dtype, like=self))

    def log_prob(self, value):
        value = self._checked(value)
        logits, value = broadcast_all(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction="none") + self._cont_bern_log_norm()

    def cdf(self, value):
        value = self._checked(value)
        cut = self._cut_probs()
        cdfs = (cut ** value * (1.0 - cut) ** (1.0 - value) + cut - 1.0) / (2.0 * cut - 1.0)
        unbounded = cnp.where(self._outside_unstable_region(), cdfs, value)
        return cnp.where(value <= 0.0, 0.0, cnp.where(value >= 1.0, 1.0, unbounded))

    def icdf(self, value):
        cut = self._cut_probs()
        inverse = (cnp.log1p(-cut + value * (2.0 * cut - 1.0)) - cnp.log1p(-cut)) / (cnp.log(cut) - cnp.log1p(-cut))
        return cnp.where(self._outside_unstable_region(), inverse, value)

    def entropy(self):
        log_probs0, log_probs1 = cnp.log1p(-self.probs), cnp.log(self.probs)
        return self.mean * (log_probs0 - log_probs1) - self._cont_bern_log_norm() - log_probs0

    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, x):
        """log ∫ exp(x·v) dv on [0, 1], by its Taylor series near x = 0, as PyTorch's."""
        outside = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut = cnp.where(outside, x, self._lims[0] - 0.5)
        log_norm = cnp.log(cnp.abs(cnp.expm1(cut))) - cnp.log(cnp.abs(cut))
        return cnp.where(outside, log_norm, 0.5 * x + x ** 2 / 24.0 - x ** 4 / 2880.0)

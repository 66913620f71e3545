"""``torch.distributions.GeneralizedPareto``: the tails of other distributions (peaks over a
threshold), on [loc, ∞) for concentration ≥ 0 and [loc, loc − scale/concentration] below 0;
Exponential at concentration 0, as PyTorch's (after TensorFlow Probability's).

>>> import chainrule as cr
>>> round(GeneralizedPareto(0.0, 1.0, 0.0).log_prob(cr.tensor(2.0)).item(), 6)
-2.0
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.distributions import constraints
from chainrule.distributions.distribution import Distribution, broadcast_all, noise

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """The generalised Pareto of ``loc``, ``scale`` and ``concentration``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def _safe_concentration(self):
        """(concentration ≈ 0, the concentration with 1 there): the closed forms divide by it."""
        eq_zero = cnp.isclose(self.concentration, 0.0)
        return eq_zero, cnp.where(eq_zero, 1.0, self.concentration)

    def _z(self, x):
        return (x - self.loc) / self.scale

    def rsample(self, sample_shape=()):
        return self.icdf(noise("random", self._extended_shape(sample_shape), self.loc.dtype, like=self))

    def log_prob(self, value):
        z = self._z(self._checked(value))
        eq_zero, conc = self._safe_concentration()
        y = 1 / conc + 1
        where_nonzero = cnp.where(y == 0, y, y * cnp.log1p(conc * z))
        return -cnp.log(self.scale) - cnp.where(eq_zero, z, where_nonzero)

    def log_survival_function(self, value):
        z = self._z(self._checked(value))
        eq_zero, conc = self._safe_concentration()
        return cnp.where(eq_zero, -z, -cnp.log1p(conc * z) / conc)

    def log_cdf(self, value):
        return cnp.log1p(-cnp.exp(self.log_survival_function(value)))

    def cdf(self, value):
        return cnp.exp(self.log_cdf(value))

    def icdf(self, value):
        eq_zero, conc = self._safe_concentration()
        logu = cnp.log1p(-value)
        where_nonzero = self.loc + self.scale / conc * cnp.expm1(-conc * logu)
        return cnp.where(eq_zero, self.loc - self.scale * logu, where_nonzero)

    @property
    def mean(self):
        valid = self.concentration < 1
        conc = cnp.where(valid, self.concentration, 0.5)
        return cnp.where(valid, self.loc + self.scale / (1 - conc), np.nan)

    @property
    def variance(self):
        valid = self.concentration < 0.5
        conc = cnp.where(valid, self.concentration, 0.25)
        return cnp.where(valid, self.scale ** 2 / ((1 - conc) ** 2 * (1 - 2 * conc)), np.nan)

    def entropy(self):
        return cnp.broadcast_to(cnp.log(self.scale) + self.concentration + 1, tuple(self.batch_shape))

    @property
    def mode(self):
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        upper = cnp.where(self.concentration < 0, self.loc - self.scale / cnp.where(
            self.concentration < 0, self.concentration, -1.0), np.inf)
        return constraints.interval(self.loc, upper)

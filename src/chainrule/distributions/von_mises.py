"""``torch.distributions.VonMises``: the circular normal on angles (radians, any real
``loc`` and value, read modulo 2π), with PyTorch's polynomial approximations of the Bessel
functions I₀ and I₁ (Abramowitz and Stegun's, to about 1e-7) so that ``log_prob`` and the
circular variance are PyTorch's numbers, and Best and Fisher's rejection sampler.

>>> import chainrule as cr
>>> round(VonMises(cr.tensor(0.0), cr.tensor(1.0)).log_prob(cr.tensor(0.0)).item(), 6)
-1.073791
"""

from __future__ import annotations

import math

import numpy as np

import chainrule.numpy as cnp
from chainrule.distributions import constraints
from chainrule.distributions.distribution import SAMPLERS, Distribution, broadcast_all, noise

__all__ = ["VonMises"]

_I0_COEF_SMALL = [1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.360768e-1, 0.45813e-2]
_I0_COEF_LARGE = [0.39894228, 0.1328592e-1, 0.225319e-2, -0.157565e-2, 0.916281e-2, -0.2057706e-1, 0.2635537e-1,
                  -0.1647633e-1, 0.392377e-2]
_I1_COEF_SMALL = [0.5, 0.87890594, 0.51498869, 0.15084934, 0.2658733e-1, 0.301532e-2, 0.32411e-3]
_I1_COEF_LARGE = [0.39894228, -0.3988024e-1, -0.362018e-2, 0.163801e-2, -0.1031555e-1, 0.2282967e-1, -0.2895312e-1,
                  0.1787654e-1, -0.420059e-2]
_COEF_SMALL = [_I0_COEF_SMALL, _I1_COEF_SMALL]
_COEF_LARGE = [_I0_COEF_LARGE, _I1_COEF_LARGE]


def _eval_poly(y, coef):
    result = coef[-1]
    for c in reversed(coef[:-1]):
        result = c + y * result
    return result


def _log_modified_bessel_fn(x, order=0):
    """log I_order(x) for x > 0 (order 0 or 1), PyTorch's approximation."""
    small = _eval_poly((x / 3.75) ** 2, _COEF_SMALL[order])
    if order == 1:
        small = cnp.abs(x) * small
    large = x - 0.5 * cnp.log(x) + cnp.log(_eval_poly(3.75 / x, _COEF_LARGE[order]))
    return cnp.where(x < 3.75, cnp.log(small), large)


class VonMises(Distribution):
    """The von Mises distribution of ``loc`` (an angle) and ``concentration``."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def log_prob(self, value):
        value = self._checked(value)
        return (self.concentration * cnp.cos(value - self.loc) - math.log(2 * math.pi)
                - _log_modified_bessel_fn(self.concentration, order=0))

    @property
    def mean(self):
        """The circular mean."""
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        """The circular variance."""
        return 1 - cnp.exp(_log_modified_bessel_fn(self.concentration, order=1)
                           - _log_modified_bessel_fn(self.concentration, order=0))

    def sample(self, sample_shape=()):
        """Best and Fisher's (1979) rejection sampler, in float64 as PyTorch's."""
        return noise("von_mises", self._extended_shape(sample_shape), self.loc.dtype, self.loc, self.concentration)


def _von_mises(generator, loc, concentration, size):
    """Best and Fisher's (1979) rejection sampler of ``size`` draws, in float64."""
    loc = np.broadcast_to(np.asarray(loc, dtype=np.float64), size)
    kappa = np.broadcast_to(np.asarray(concentration, dtype=np.float64), size)
    with np.errstate(all="ignore"):
        tau = 1 + np.sqrt(1 + 4 * kappa ** 2)
        rho = (tau - np.sqrt(2 * tau)) / (2 * kappa)
        r = np.where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho ** 2) / (2 * rho))
        x, done = np.zeros(size), np.zeros(size, dtype=bool)
        while not done.all():
            u1, u2, u3 = generator.random((3, *size))
            z = np.cos(math.pi * u1)
            f = (1 + r * z) / (r + z)
            c = kappa * (r - f)
            accept = ~done & (((c * (2 - c) - u2) > 0) | (np.log(c / u2) + 1 - c >= 0))
            x = np.where(accept, np.sign(u3 - 0.5) * np.arccos(f), x)
            done |= accept
    return (x + math.pi + loc) % (2 * math.pi) - math.pi


SAMPLERS["von_mises"] = _von_mises

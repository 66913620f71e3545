"""The Cauchy distribution, density ``1 / (π scale (1 + z²))`` with ``z = (x - loc) /
scale``: differentiable in ``x``, ``loc`` and ``scale`` (``q`` for the quantiles)."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]



def _log1p_square(z):
    """``log(1 + z²)``, as ``2 log|z| + log(1 + 1/z²)`` beyond 1 (z² overflows past 1e154);
    within 1 of z itself, not |z|, whose derivative 0 at 0 would make the second 0 there."""
    a = cnp.abs(z)
    far = a > 1
    outer, inner = cnp.where(far, a, 2.0), cnp.where(far, 0.0, z)
    return cnp.where(far, 2 * cnp.log(outer) + cnp.log1p(outer ** -2), cnp.log1p(inner * inner))


def _cdf(z):
    """``1/2 + atan(z)/π``, as ``atan(-1/z)/π`` below -1: the left tail without cancellation."""
    tail = z < -1
    return cnp.where(tail, cnp.arctan(-1 / cnp.where(tail, z, -2.0)) / np.pi,
                     0.5 + cnp.arctan(cnp.where(tail, 0.0, z)) / np.pi)


def _ppf(q):
    """``tan(π (q - 1/2))``, as ``-1/tan(π q)`` and ``1/tan(π (1 - q))`` in the tails, where
    ``π q`` keeps the digits of a small ``q`` that ``q - 1/2`` loses."""
    low, high = q < 0.25, q > 0.75
    middle = cnp.where(low | high, 0.5, q)
    return cnp.where(low, -1 / cnp.tan(np.pi * cnp.where(low, q, 0.25)),
                     cnp.where(high, 1 / cnp.tan(np.pi * (1 - cnp.where(high, q, 0.75))),
                               cnp.tan(np.pi * (middle - 0.5))))


STANDARD = Standard(lambda z: -np.log(np.pi) - _log1p_square(z), cdf=_cdf, ppf=_ppf, symmetric=True)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = location_scale(__name__, STANDARD, __all__)

# rvs, mean, fit, ... and the functions without rules here: scipy.stats.cauchy's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "cauchy")

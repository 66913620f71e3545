"""The Laplace distribution, density ``exp(-|x - loc| / scale) / (2 scale)``:
differentiable in ``x``, ``loc`` and ``scale`` (at ``x == loc`` the derivative in ``x`` is
that of ``abs`` at 0, which is 0, as JAX's)."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._common import LOG2, on_support
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]



def _halves(z):
    """``z`` where ``z <= 0`` and where ``z > 0`` (0 elsewhere): each branch of the
    distribution functions gets finite arguments, so no inf reaches a discarded derivative."""
    below = z <= 0
    return below, on_support(below, z, 0.0), on_support(cnp.logical_not(below), z, 0.0)


def _cdf(z):
    below, lo, hi = _halves(z)
    return cnp.where(below, 0.5 * cnp.exp(lo), 1 - 0.5 * cnp.exp(-hi))


def _logcdf(z):
    below, lo, hi = _halves(z)
    return cnp.where(below, lo - LOG2, cnp.log1p(-0.5 * cnp.exp(-hi)))


def _ppf(q):
    lower = q <= 0.5
    low, high = on_support(lower, q, 0.25), on_support(cnp.logical_not(lower), q, 0.75)
    return cnp.where(lower, cnp.log(2 * low), -cnp.log(2 - 2 * high))


STANDARD = Standard(lambda z: -cnp.abs(z) - LOG2, cdf=_cdf, logcdf=_logcdf, ppf=_ppf,
                    symmetric=True)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = location_scale(__name__, STANDARD, __all__)

# rvs, mean, fit, ... and the functions without rules here: scipy.stats.laplace's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "laplace")

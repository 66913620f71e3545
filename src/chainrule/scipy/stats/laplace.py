"""The Laplace distribution, density ``exp(-|x - loc| / scale) / (2 scale)``:
differentiable in ``x``, ``loc`` and ``scale`` (at ``x == loc`` the derivative in ``x`` is
that of ``abs`` at 0, which is 0, as JAX's)."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._common import exported, on_support, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_export = exported("laplace")
_LOG2 = np.log(2.0)


def _halves(z):
    """``z`` where ``z <= 0`` and where ``z > 0`` (0 elsewhere): each branch of the
    distribution functions gets finite arguments, so no inf reaches a discarded derivative."""
    below = z <= 0
    return below, on_support(below, z, 0.0), on_support(~below, z, 0.0)


@_export
def logpdf(x, loc=0.0, scale=1.0):
    return -cnp.abs(standardize(x, loc, scale)) - cnp.log(2 * scale)


@_export
def pdf(x, loc=0.0, scale=1.0):
    return cnp.exp(logpdf(x, loc, scale))


@_export
def cdf(x, loc=0.0, scale=1.0):
    below, lo, hi = _halves(standardize(x, loc, scale))
    return cnp.where(below, 0.5 * cnp.exp(lo), 1 - 0.5 * cnp.exp(-hi))


@_export
def logcdf(x, loc=0.0, scale=1.0):
    below, lo, hi = _halves(standardize(x, loc, scale))
    return cnp.where(below, lo - _LOG2, cnp.log1p(-0.5 * cnp.exp(-hi)))


@_export
def sf(x, loc=0.0, scale=1.0):
    return cdf(-x, -loc, scale)


@_export
def logsf(x, loc=0.0, scale=1.0):
    return logcdf(-x, -loc, scale)


@_export
def ppf(q, loc=0.0, scale=1.0):
    lower = q <= 0.5
    low, high = on_support(lower, q, 0.25), on_support(~lower, q, 0.75)
    return loc + scale * cnp.where(lower, cnp.log(2 * low), -cnp.log(2 - 2 * high))


@_export
def isf(q, loc=0.0, scale=1.0):
    return -ppf(q, -loc, scale)


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.laplace's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "laplace")

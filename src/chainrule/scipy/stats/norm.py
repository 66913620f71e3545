"""The normal distribution ``N(loc, scale²)``, differentiable in ``x``, ``loc`` and
``scale`` (and in ``q`` for the quantile functions)."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import log_ndtr, ndtr, ndtri
from chainrule.scipy.stats._common import exported, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
_export = exported("norm")


@_export
def logpdf(x, loc=0.0, scale=1.0):
    z = standardize(x, loc, scale)
    return -0.5 * z * z - cnp.log(scale) - _LOG_SQRT_2PI


@_export
def pdf(x, loc=0.0, scale=1.0):
    return cnp.exp(logpdf(x, loc, scale))


@_export
def cdf(x, loc=0.0, scale=1.0):
    return ndtr(standardize(x, loc, scale))


@_export
def logcdf(x, loc=0.0, scale=1.0):
    return log_ndtr(standardize(x, loc, scale))


@_export
def sf(x, loc=0.0, scale=1.0):
    return ndtr(-standardize(x, loc, scale))


@_export
def logsf(x, loc=0.0, scale=1.0):
    return log_ndtr(-standardize(x, loc, scale))


@_export
def ppf(q, loc=0.0, scale=1.0):
    return loc + scale * ndtri(q)


@_export
def isf(q, loc=0.0, scale=1.0):
    return loc - scale * ndtri(q)


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.norm's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "norm")

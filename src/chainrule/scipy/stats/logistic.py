"""The logistic distribution, with cdf ``expit((x - loc) / scale)``: differentiable in
``x``, ``loc`` and ``scale`` (``q`` for the quantile functions)."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import expit, log_expit, logit
from chainrule.scipy.stats._common import exported, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_export = exported("logistic")


@_export
def logpdf(x, loc=0.0, scale=1.0):
    half = 0.5 * standardize(x, loc, scale)
    return -2 * cnp.logaddexp(half, -half) - cnp.log(scale)


@_export
def pdf(x, loc=0.0, scale=1.0):
    return cnp.exp(logpdf(x, loc, scale))


@_export
def cdf(x, loc=0.0, scale=1.0):
    return expit(standardize(x, loc, scale))


@_export
def logcdf(x, loc=0.0, scale=1.0):
    return log_expit(standardize(x, loc, scale))


@_export
def sf(x, loc=0.0, scale=1.0):
    return expit(-standardize(x, loc, scale))


@_export
def logsf(x, loc=0.0, scale=1.0):
    return log_expit(-standardize(x, loc, scale))


@_export
def ppf(q, loc=0.0, scale=1.0):
    return loc + scale * logit(q)


@_export
def isf(q, loc=0.0, scale=1.0):
    return loc - scale * logit(q)


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.logistic's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "logistic")

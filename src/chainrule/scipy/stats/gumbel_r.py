"""The right-skewed Gumbel distribution, cdf ``exp(-exp(-z))`` with ``z = (x - loc) /
scale``: differentiable in ``x``, ``loc`` and ``scale`` (``q`` for ``ppf``)."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._common import exported, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf"]

_export = exported("gumbel_r")


@_export
def logpdf(x, loc=0.0, scale=1.0):
    z = standardize(x, loc, scale)
    return -cnp.log(scale) - (z + cnp.exp(-z))


@_export
def pdf(x, loc=0.0, scale=1.0):
    return cnp.exp(logpdf(x, loc, scale))


@_export
def logcdf(x, loc=0.0, scale=1.0):
    return -cnp.exp(-standardize(x, loc, scale))


@_export
def cdf(x, loc=0.0, scale=1.0):
    return cnp.exp(logcdf(x, loc, scale))


@_export
def sf(x, loc=0.0, scale=1.0):
    return -cnp.expm1(logcdf(x, loc, scale))


@_export
def logsf(x, loc=0.0, scale=1.0):
    log_cdf = logcdf(x, loc, scale)  # log(1 - cdf), accurate where cdf is small and where not
    return cnp.where(log_cdf < -0.693, cnp.log1p(-cnp.exp(log_cdf)), cnp.log(-cnp.expm1(log_cdf)))


@_export
def ppf(q, loc=0.0, scale=1.0):
    return loc - scale * cnp.log(-cnp.log(q))


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.gumbel_r's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "gumbel_r")

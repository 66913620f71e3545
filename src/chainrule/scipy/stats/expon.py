"""The exponential distribution, density ``exp(-(x - loc) / scale) / scale`` for
``x >= loc``: differentiable in ``x``, ``loc`` and ``scale`` (``q`` for the quantiles).
Below ``loc`` the log density is -inf, the cdf 0, and their derivatives 0."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._common import NEG_INF, exported, on_support, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_export = exported("expon")


def _on_support(x, loc, scale):
    z = standardize(x, loc, scale)
    inside = z >= 0
    return inside, on_support(inside, z, 1.0)


@_export
def logpdf(x, loc=0.0, scale=1.0):
    inside, z = _on_support(x, loc, scale)
    return cnp.where(inside, -z - cnp.log(scale), NEG_INF)


@_export
def pdf(x, loc=0.0, scale=1.0):
    return cnp.exp(logpdf(x, loc, scale))


@_export
def cdf(x, loc=0.0, scale=1.0):
    inside, z = _on_support(x, loc, scale)
    return cnp.where(inside, -cnp.expm1(-z), 0.0)


@_export
def logcdf(x, loc=0.0, scale=1.0):
    inside, z = _on_support(x, loc, scale)
    return cnp.where(inside, cnp.log(-cnp.expm1(-z)), NEG_INF)


@_export
def sf(x, loc=0.0, scale=1.0):
    return cnp.exp(logsf(x, loc, scale))


@_export
def logsf(x, loc=0.0, scale=1.0):
    inside, z = _on_support(x, loc, scale)
    return cnp.where(inside, -z, 0.0)


@_export
def ppf(q, loc=0.0, scale=1.0):
    return loc - scale * cnp.log1p(-q)


@_export
def isf(q, loc=0.0, scale=1.0):
    return loc - scale * cnp.log(q)


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.expon's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "expon")

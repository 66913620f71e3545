"""The Cauchy distribution, density ``1 / (π scale (1 + z²))`` with ``z = (x - loc) /
scale``: differentiable in ``x``, ``loc`` and ``scale`` (``q`` for the quantiles)."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._common import exported, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_export = exported("cauchy")


@_export
def logpdf(x, loc=0.0, scale=1.0):
    z = standardize(x, loc, scale)
    return -cnp.log(np.pi * scale) - cnp.log1p(z * z)


@_export
def pdf(x, loc=0.0, scale=1.0):
    return cnp.exp(logpdf(x, loc, scale))


@_export
def cdf(x, loc=0.0, scale=1.0):
    return 0.5 + cnp.arctan(standardize(x, loc, scale)) / np.pi


@_export
def logcdf(x, loc=0.0, scale=1.0):
    return cnp.log(cdf(x, loc, scale))


@_export
def sf(x, loc=0.0, scale=1.0):
    return cdf(-x, -loc, scale)


@_export
def logsf(x, loc=0.0, scale=1.0):
    return logcdf(-x, -loc, scale)


@_export
def ppf(q, loc=0.0, scale=1.0):
    return loc + scale * cnp.tan(np.pi * q - np.pi / 2)


@_export
def isf(q, loc=0.0, scale=1.0):
    return loc + scale * cnp.tan(np.pi / 2 - np.pi * q)


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.cauchy's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "cauchy")

"""Student's t distribution: ``logpdf`` and ``pdf`` differentiable in ``x``, ``df``,
``loc`` and ``scale``; ``cdf``, ``sf`` and their logarithms in ``x``, ``loc`` and ``scale`` (not ``df``)."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import gammaln, stdtr
from chainrule.scipy.stats._common import exported, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]

_export = exported("t")


@_export
def logpdf(x, df, loc=0.0, scale=1.0):
    z = standardize(x, loc, scale)
    return (gammaln(0.5 * (df + 1)) - gammaln(0.5 * df) - 0.5 * cnp.log(df * np.pi)
            - cnp.log(scale) - 0.5 * (df + 1) * cnp.log1p(z * z / df))


@_export
def pdf(x, df, loc=0.0, scale=1.0):
    return cnp.exp(logpdf(x, df, loc, scale))


@_export
def cdf(x, df, loc=0.0, scale=1.0):
    return stdtr(df, standardize(x, loc, scale))


@_export
def logcdf(x, df, loc=0.0, scale=1.0):
    return cnp.log(cdf(x, df, loc, scale))


@_export
def sf(x, df, loc=0.0, scale=1.0):
    return stdtr(df, -standardize(x, loc, scale))


@_export
def logsf(x, df, loc=0.0, scale=1.0):
    return cnp.log(sf(x, df, loc, scale))


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.t's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "t")

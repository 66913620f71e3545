"""The chi-squared distribution: the gamma distribution with shape ``df / 2`` and
scale ``2 * scale``, differentiable as :mod:`chainrule.scipy.stats.gamma` is."""

from __future__ import annotations

from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats import gamma
from chainrule.scipy.stats._common import exported

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]

_export = exported("chi2")


@_export
def logpdf(x, df, loc=0.0, scale=1.0):
    return gamma.logpdf(x, 0.5 * df, loc, 2 * scale)


@_export
def pdf(x, df, loc=0.0, scale=1.0):
    return gamma.pdf(x, 0.5 * df, loc, 2 * scale)


@_export
def cdf(x, df, loc=0.0, scale=1.0):
    return gamma.cdf(x, 0.5 * df, loc, 2 * scale)


@_export
def logcdf(x, df, loc=0.0, scale=1.0):
    return gamma.logcdf(x, 0.5 * df, loc, 2 * scale)


@_export
def sf(x, df, loc=0.0, scale=1.0):
    return gamma.sf(x, 0.5 * df, loc, 2 * scale)


@_export
def logsf(x, df, loc=0.0, scale=1.0):
    return gamma.logsf(x, 0.5 * df, loc, 2 * scale)


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.chi2's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "chi2")

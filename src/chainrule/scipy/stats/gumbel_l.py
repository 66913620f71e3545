"""The left-skewed Gumbel distribution, the mirror image of ``gumbel_r``: differentiable
in ``x``, ``loc`` and ``scale`` (``q`` for ``ppf``)."""

from __future__ import annotations

from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats import gumbel_r
from chainrule.scipy.stats._common import exported

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf"]

_export = exported("gumbel_l")


@_export
def logpdf(x, loc=0.0, scale=1.0):
    return gumbel_r.logpdf(-x, -loc, scale)


@_export
def pdf(x, loc=0.0, scale=1.0):
    return gumbel_r.pdf(-x, -loc, scale)


@_export
def cdf(x, loc=0.0, scale=1.0):
    return gumbel_r.sf(-x, -loc, scale)


@_export
def logcdf(x, loc=0.0, scale=1.0):
    return gumbel_r.logsf(-x, -loc, scale)


@_export
def sf(x, loc=0.0, scale=1.0):
    return gumbel_r.cdf(-x, -loc, scale)


@_export
def logsf(x, loc=0.0, scale=1.0):
    return gumbel_r.logcdf(-x, -loc, scale)


@_export
def ppf(q, loc=0.0, scale=1.0):
    return -gumbel_r.ppf(1 - q, -loc, scale)


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.gumbel_l's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "gumbel_l")

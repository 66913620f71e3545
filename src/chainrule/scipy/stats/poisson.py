"""The Poisson distribution, differentiable in its mean ``mu`` (the count ``k`` is an
integer). Off the support (negative or fractional ``k``) the log mass is -inf."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import undifferentiated
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import gammainc, gammaln, pdtr, xlogy
from chainrule.scipy.stats._common import counts, exported

__all__ = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"]

_export = exported("poisson")


@_export
def logpmf(k, mu, loc=0):
    k, inside, off = counts(k, loc)
    return cnp.where(inside, xlogy(k, mu) - gammaln(k + 1) - mu, off)


@_export
def pmf(k, mu, loc=0):
    return cnp.exp(logpmf(k, mu, loc))


@_export
def cdf(k, mu, loc=0):
    k = cnp.floor(cnp.subtract(undifferentiated(k), undifferentiated(loc)))
    return cnp.where(cnp.isnan(k), np.nan, cnp.where(k >= 0, pdtr(cnp.where(k >= 0, k, 0), mu), 0.0))


@_export
def logcdf(k, mu, loc=0):
    return cnp.log(cdf(k, mu, loc))


@_export
def sf(k, mu, loc=0):
    # P(X > k) = P(k + 1, mu), the regularised lower incomplete gamma function
    k = cnp.floor(cnp.subtract(undifferentiated(k), undifferentiated(loc)))
    upper = gammainc(cnp.where(k >= 0, k, 0) + 1, mu)
    return cnp.where(cnp.isnan(k), np.nan, cnp.where(k >= 0, upper, 1.0))


@_export
def logsf(k, mu, loc=0):
    return cnp.log(sf(k, mu, loc))


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.poisson's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "poisson")

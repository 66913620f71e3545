"""The Poisson distribution, differentiable in its mean ``mu`` (the count ``k`` is an
integer). Off the support (negative or fractional ``k``) the log mass is -inf."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import undifferentiated
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import gammainc, gammaln, pdtr, xlogy
from chainrule.scipy.stats._common import counts, exported

__all__ = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "entropy"]

_export = exported("poisson")


def _valid(mu, value):
    """``value``, nan where ``mu`` is negative or nan (SciPy's)."""
    return cnp.where(mu >= 0, value, np.nan)


@_export
def logpmf(k, mu, loc=0):
    k, inside, off = counts(k, loc)
    return _valid(mu, cnp.where(inside, xlogy(k, mu) - gammaln(k + 1) - mu, off))


@_export
def pmf(k, mu, loc=0):
    return cnp.exp(logpmf(k, mu, loc))


@_export
def cdf(k, mu, loc=0):
    k = cnp.floor(cnp.subtract(undifferentiated(k), undifferentiated(loc)))
    below = pdtr(cnp.where((k >= 0) & (k < np.inf), k, 0), mu)
    return _valid(mu, cnp.where(cnp.isnan(k), np.nan, cnp.where(k >= 0, cnp.where(k < np.inf, below, 1.0), 0.0)))


@_export
def logcdf(k, mu, loc=0):
    return cnp.log(cdf(k, mu, loc))


@_export
def sf(k, mu, loc=0):
    # P(X > k) = P(k + 1, mu), the regularised lower incomplete gamma function
    k = cnp.floor(cnp.subtract(undifferentiated(k), undifferentiated(loc)))
    upper = gammainc(cnp.where((k >= 0) & (k < np.inf), k, 0) + 1, mu)
    return _valid(mu, cnp.where(cnp.isnan(k), np.nan, cnp.where(k >= 0, cnp.where(k < np.inf, upper, 0.0), 1.0)))


@_export
def logsf(k, mu, loc=0):
    return cnp.log(sf(k, mu, loc))


def _summed_entropy(mu, terms: int, upper):
    """``-sum p log p`` over the counts ``k < upper`` (at most ``terms`` of them)."""
    k = cnp.arange(terms, dtype=np.float64).reshape((terms,) + (1,) * cnp.ndim(mu))
    lp = logpmf(k, mu)
    return cnp.sum(cnp.where(k < cnp.ceil(upper), -cnp.exp(lp) * lp, 0.0), axis=0)


@_export
def entropy(mu, loc=0):
    """The entropy of Poisson(``mu``) (``loc`` does not change it), as JAX computes it:
    the sum over the counts below ``mu + 20`` for ``mu < 10`` and below
    ``mu + 10 sqrt(mu) + 20`` for ``mu < 100``, and ``log(2 pi e mu) / 2 - 1 / (12 mu)``
    above (within 2e-6 of SciPy's value relative to it); 0 at ``mu = 0``.

    >>> round(float(entropy(5.0)), 4)
    2.2044
    """
    mu = cnp.add(mu, cnp.zeros(cnp.shape(loc)))  # loc only broadcasts, as in JAX
    safe = cnp.where(mu == 0, 1.0, mu)  # no inf or nan in the unused branches' derivatives
    small = _summed_entropy(cnp.where(safe < 10, safe, 1.0), 35, safe + 20)
    medium = _summed_entropy(cnp.where((safe >= 10) & (safe < 100), safe, 10.0), 250,
                             safe + 10 * cnp.sqrt(cnp.abs(safe)) + 20)
    large = 0.5 * cnp.log(2 * np.pi * np.e * cnp.where(safe >= 100, safe, 100.0)) - 1.0 / (12 * safe)
    return cnp.where(mu == 0, 0.0, cnp.where(mu < 10, small, cnp.where(mu < 100, medium, large)))


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.poisson's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "poisson")

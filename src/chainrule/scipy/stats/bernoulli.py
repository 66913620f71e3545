"""The Bernoulli distribution with success probability ``p``: ``logpmf`` and ``pmf``
differentiable in ``p`` (``k`` is a count, without a derivative)."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import xlog1py, xlogy
from chainrule.scipy.stats._common import counts, exported

__all__ = ["logpmf", "pmf", "cdf", "ppf"]

_export = exported("bernoulli")


def _valid(p, value):
    """``value``, nan where ``p`` is not a probability (SciPy's)."""
    return cnp.where((p >= 0) & (p <= 1), value, np.nan)


@_export
def logpmf(k, p, loc=0):
    k, inside, off = counts(k, loc, high=1)
    return _valid(p, cnp.where(inside, xlogy(k, p) + xlog1py(1 - k, -p), off))


@_export
def pmf(k, p, loc=0):
    return cnp.exp(logpmf(k, p, loc))


@_export
def cdf(k, p, loc=0):
    x = k - loc
    return _valid(p, cnp.where(cnp.isnan(x), np.nan, cnp.where(x < 0, 0.0, cnp.where(x < 1, 1 - p, 1.0))))


@_export
def ppf(q, p, loc=0):
    # SciPy's: -1 (below the support) at q = 0, 1 (its upper end) at q = 1, nan off [0, 1]
    inside = (q >= 0) & (q <= 1)
    value = cnp.where(q == 0, -1.0, cnp.where((q <= 1 - p) & (q < 1), 0.0, 1.0))
    return _valid(p, cnp.where(inside, value, np.nan)) + loc


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.bernoulli's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "bernoulli")

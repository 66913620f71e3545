"""The beta-binomial distribution (``k`` successes in ``n`` trials whose probability is
beta(``a``, ``b``)): ``logpmf`` and ``pmf`` differentiable in ``a`` and ``b`` (and in ``n``
through ``gammaln``); the count ``k`` has no derivative. Off the support the log mass is
-inf; ``n`` not a non-negative integer or ``a``, ``b`` not positive give nan, as SciPy's."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import betaln
from chainrule.scipy.stats._common import counts, exported
from chainrule.scipy.stats.binom import is_count, log_choose

__all__ = ["logpmf", "pmf"]

_export = exported("betabinom")


@_export
def logpmf(k, n, a, b, loc=0):
    """``scipy.stats.betabinom.logpmf``.

    >>> import numpy as np, scipy.stats
    >>> bool(np.isclose(logpmf(2.0, 5, 1.5, 2.5), scipy.stats.betabinom.logpmf(2, 5, 1.5, 2.5)))
    True
    """
    k, inside, off = counts(k, loc, high=n)
    mass = log_choose(n, k) + betaln(k + a, n - k + b) - betaln(a, b)
    return cnp.where(is_count(n) & (a > 0) & (b > 0), cnp.where(inside, mass, off), np.nan)


@_export
def pmf(k, n, a, b, loc=0):
    """``scipy.stats.betabinom.pmf``: ``exp(logpmf(k, n, a, b, loc))``."""
    return cnp.exp(logpmf(k, n, a, b, loc))


# rvs, mean, cdf, ... and the functions without rules here: scipy.stats.betabinom's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "betabinom")

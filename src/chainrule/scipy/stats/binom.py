"""The binomial distribution, ``k`` successes in ``n`` trials of probability ``p``:
``logpmf`` and ``pmf`` differentiable in ``p`` (and in ``n`` through ``gammaln``, as
JAX's; the count ``k`` has no derivative). Off the support (``k`` negative, fractional or
above ``n``) the log mass is -inf; ``n`` not a non-negative integer or ``p`` outside
[0, 1] give nan, as SciPy's."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import gammaln, xlog1py, xlogy
from chainrule.scipy.stats._common import counts, exported

__all__ = ["logpmf", "pmf"]

_export = exported("binom")


def log_choose(n, k):
    """``log(n choose k)`` by ``gammaln``."""
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def is_count(n):
    return (n >= 0) & (n == cnp.floor(n))


@_export
def logpmf(k, n, p, loc=0):
    """``scipy.stats.binom.logpmf``.

    >>> import numpy as np, scipy.stats
    >>> bool(np.isclose(logpmf(2.0, 5, 0.3), scipy.stats.binom.logpmf(2, 5, 0.3)))
    True
    """
    k, inside, off = counts(k, loc, high=n)
    value = cnp.where(inside, log_choose(n, k) + xlogy(k, p) + xlog1py(n - k, -p), off)
    return cnp.where(is_count(n) & (p >= 0) & (p <= 1), value, np.nan)


@_export
def pmf(k, n, p, loc=0):
    """``scipy.stats.binom.pmf``: ``exp(logpmf(k, n, p, loc))``."""
    return cnp.exp(logpmf(k, n, p, loc))


# rvs, mean, cdf, ... and the functions without rules here: scipy.stats.binom's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "binom")

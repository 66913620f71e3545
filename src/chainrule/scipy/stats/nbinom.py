"""The negative binomial distribution, ``k`` failures before the ``n``-th success of
probability ``p``: ``logpmf`` and ``pmf`` differentiable in ``n`` (any positive number)
and ``p``; the count ``k`` has no derivative. Off the support the log mass is -inf;
``n <= 0`` or ``p`` outside (0, 1] give nan, as SciPy's."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import gammaln, xlog1py, xlogy
from chainrule.scipy.stats._common import counts, exported

__all__ = ["logpmf", "pmf"]

_export = exported("nbinom")


@_export
def logpmf(k, n, p, loc=0):
    """``scipy.stats.nbinom.logpmf``.

    >>> import numpy as np, scipy.stats
    >>> bool(np.isclose(logpmf(3.0, 2.5, 0.4), scipy.stats.nbinom.logpmf(3, 2.5, 0.4)))
    True
    """
    k, inside, off = counts(k, loc)
    mass = gammaln(k + n) - gammaln(n) - gammaln(k + 1) + xlogy(n, p) + xlog1py(k, -p)
    return cnp.where((n > 0) & (p > 0) & (p <= 1), cnp.where(inside, mass, off), np.nan)


@_export
def pmf(k, n, p, loc=0):
    """``scipy.stats.nbinom.pmf``: ``exp(logpmf(k, n, p, loc))``."""
    return cnp.exp(logpmf(k, n, p, loc))


# rvs, mean, cdf, ... and the functions without rules here: scipy.stats.nbinom's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "nbinom")

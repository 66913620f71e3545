"""The multinomial distribution: counts ``x`` (along the last axis) of ``n`` draws from
the categories of probabilities ``p``. ``logpmf`` and ``pmf`` are differentiable in ``p``;
the counts and ``n`` have no derivative. Counts that are negative, fractional or do not
add up to ``n`` have log mass -inf, as in SciPy; ``p`` is used as given (SciPy replaces
its last entry by one minus the others)."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import gammaln, xlogy
from chainrule.scipy.stats._common import NEG_INF, counts, exported

__all__ = ["logpmf", "pmf"]

_export = exported("multinomial")


@_export
def logpmf(x, n, p):
    """``scipy.stats.multinomial.logpmf``.

    >>> import numpy as np, scipy.stats
    >>> p = np.array([0.2, 0.3, 0.5])
    >>> bool(np.isclose(logpmf([1.0, 2, 3], 6, p), scipy.stats.multinomial.logpmf([1, 2, 3], 6, p)))
    True
    """
    x, inside, off = counts(x)
    n = cnp.asarray(n)
    mass = gammaln(n + 1) + cnp.sum(xlogy(x, p) - gammaln(x + 1), axis=-1)
    inside = cnp.all(inside, axis=-1) & (cnp.sum(x, axis=-1) == n)
    off = cnp.where(cnp.any(cnp.isnan(off), axis=-1), np.nan, NEG_INF)
    return cnp.where(inside, mass, off)


@_export
def pmf(x, n, p):
    """``scipy.stats.multinomial.pmf``: ``exp(logpmf(x, n, p))``."""
    return cnp.exp(logpmf(x, n, p))


# rvs, mean, cov, ... and the functions without rules here: scipy.stats.multinomial's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "multinomial")

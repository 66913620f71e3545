"""The geometric distribution (trials up to the first success, ``k >= 1``): ``logpmf``
and ``pmf`` differentiable in ``p``."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import xlog1py
from chainrule.scipy.stats._common import counts, exported

__all__ = ["logpmf", "pmf"]

_export = exported("geom")


@_export
def logpmf(k, p, loc=0):
    k, inside, off = counts(k, loc)
    inside = inside & (k >= 1)
    k = cnp.where(inside, k, 1)
    return cnp.where(inside, xlog1py(k - 1, -p) + cnp.log(p), off)


@_export
def pmf(k, p, loc=0):
    return cnp.exp(logpmf(k, p, loc))


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.geom's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "geom")

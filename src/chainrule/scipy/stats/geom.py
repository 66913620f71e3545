"""The geometric distribution (trials up to the first success, ``k >= 1``): ``logpmf``
and ``pmf`` differentiable in ``p``."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import xlog1py
from chainrule.scipy.stats._common import NEG_INF, exported

__all__ = ["logpmf", "pmf"]

_export = exported("geom")


@_export
def logpmf(k, p, loc=0):
    x = k - loc
    outside = (x < 1) | (x != cnp.floor(x))  # (SciPy's: no mass between counts)
    return cnp.where(outside, NEG_INF, xlog1py(x - 1, -p) + cnp.log(p))


@_export
def pmf(k, p, loc=0):
    return cnp.exp(logpmf(k, p, loc))


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.geom's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "geom")

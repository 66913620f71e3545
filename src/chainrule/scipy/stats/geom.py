"""The geometric distribution (trials up to the first success, ``k >= 1``): ``logpmf``
and ``pmf`` differentiable in ``p``."""

from __future__ import annotations

import numpy as np

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
    value = cnp.where(inside, xlog1py(k - 1, -p) + cnp.log(cnp.where(p > 0, p, 1.0)), off)
    return cnp.where((p > 0) & (p <= 1), value, np.nan)  # nan for p off (0, 1], SciPy's


@_export
def pmf(k, p, loc=0):
    return cnp.exp(logpmf(k, p, loc))


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.geom's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "geom")

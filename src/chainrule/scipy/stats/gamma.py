"""The gamma distribution with shape ``a``: ``logpdf`` and ``pdf`` differentiable in
``x``, ``a``, ``loc`` and ``scale``; ``cdf``, ``sf`` and their logarithms in all but
``a``. Outside the support the
log density is -inf and its gradient zero, as SciPy's values suggest."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import gammainc, gammaincc, gammaln, xlogy
from chainrule.scipy.stats._common import NEG_INF, exported, on_support, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]

_export = exported("gamma")


@_export
def logpdf(x, a, loc=0.0, scale=1.0):
    z = standardize(x, loc, scale)
    inside = z >= 0
    z = on_support(inside, z, 1.0)
    return cnp.where(inside, xlogy(a - 1, z) - z - gammaln(a) - cnp.log(scale), NEG_INF)


@_export
def pdf(x, a, loc=0.0, scale=1.0):
    return cnp.exp(logpdf(x, a, loc, scale))


@_export
def cdf(x, a, loc=0.0, scale=1.0):
    z = standardize(x, loc, scale)
    return gammainc(a, on_support(z >= 0, z, 0.0))


@_export
def logcdf(x, a, loc=0.0, scale=1.0):
    return cnp.log(cdf(x, a, loc, scale))


@_export
def sf(x, a, loc=0.0, scale=1.0):
    z = standardize(x, loc, scale)
    return gammaincc(a, on_support(z >= 0, z, 0.0))


@_export
def logsf(x, a, loc=0.0, scale=1.0):
    return cnp.log(sf(x, a, loc, scale))


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.gamma's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "gamma")

"""The beta distribution: ``logpdf`` and ``pdf`` differentiable in ``x``, ``a``, ``b``,
``loc`` and ``scale``; ``cdf``, ``sf`` and their logarithms in all
but ``a`` and ``b``. Outside [0, 1] the log
density is -inf and its gradient zero."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import betainc, betaln, xlog1py, xlogy
from chainrule.scipy.stats._common import NEG_INF, exported, on_support, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]

_export = exported("beta")


@_export
def logpdf(x, a, b, loc=0.0, scale=1.0):
    z = standardize(x, loc, scale)
    inside = (z >= 0) & (z <= 1)
    z = on_support(inside, z, 0.5)
    density = xlogy(a - 1, z) + xlog1py(b - 1, -z) - betaln(a, b) - cnp.log(scale)
    return cnp.where(inside, density, NEG_INF)


@_export
def pdf(x, a, b, loc=0.0, scale=1.0):
    return cnp.exp(logpdf(x, a, b, loc, scale))


@_export
def cdf(x, a, b, loc=0.0, scale=1.0):
    z = standardize(x, loc, scale)
    inside = (z > 0) & (z < 1)
    return cnp.where(inside, betainc(a, b, on_support(inside, z, 0.5)), cnp.where(z <= 0, 0.0, 1.0))


@_export
def logcdf(x, a, b, loc=0.0, scale=1.0):
    return cnp.log(cdf(x, a, b, loc, scale))


@_export
def sf(x, a, b, loc=0.0, scale=1.0):
    # I_x(a, b) = 1 − I_{1−x}(b, a): the upper tail without cancellation
    z = standardize(x, loc, scale)
    inside = (z > 0) & (z < 1)
    return cnp.where(inside, betainc(b, a, 1 - on_support(inside, z, 0.5)),
                     cnp.where(z <= 0, 1.0, 0.0))


@_export
def logsf(x, a, b, loc=0.0, scale=1.0):
    return cnp.log(sf(x, a, b, loc, scale))


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.beta's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "beta")

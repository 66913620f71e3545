"""The beta distribution: ``logpdf`` and ``pdf`` differentiable in ``x``, ``a``, ``b``,
``loc`` and ``scale``; ``cdf`` in all but ``a`` and ``b``. Outside [0, 1] the log
density is -inf and its gradient zero."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import betainc, betaln, xlog1py, xlogy
from chainrule.scipy.stats._common import NEG_INF, exported, on_support, standardize

__all__ = ["logpdf", "pdf", "cdf"]

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
    return betainc(a, b, cnp.clip(standardize(x, loc, scale), 0.0, 1.0))


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.beta's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "beta")

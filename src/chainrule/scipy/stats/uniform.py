"""The uniform distribution on ``[loc, loc + scale]``: differentiable in ``x``, ``loc``
and ``scale`` (``q`` for ``ppf``). Outside the interval the log density is -inf."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._common import NEG_INF, exported, on_support, standardize

__all__ = ["logpdf", "pdf", "cdf", "ppf"]

_export = exported("uniform")


@_export
def logpdf(x, loc=0.0, scale=1.0):
    z = standardize(x, loc, scale)
    return cnp.where((z >= 0) & (z <= 1), -cnp.log(scale) + cnp.zeros_like(z), NEG_INF)


@_export
def pdf(x, loc=0.0, scale=1.0):
    return cnp.exp(logpdf(x, loc, scale))


@_export
def cdf(x, loc=0.0, scale=1.0):
    z = standardize(x, loc, scale)
    inside = (z >= 0) & (z <= 1)
    return cnp.where(inside, on_support(inside, z, 0.5), cnp.where(z > 1, 1.0, 0.0))


@_export
def ppf(q, loc=0.0, scale=1.0):
    return loc + scale * q


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.uniform's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "uniform")

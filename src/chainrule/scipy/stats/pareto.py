"""The Pareto distribution with shape ``b`` (``x >= loc + scale``): differentiable in
``x``, ``b``, ``loc`` and ``scale`` (``q`` for ``ppf``). Below its support the log
density is -inf and the derivatives 0."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._common import NEG_INF, exported, on_support, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf"]

_export = exported("pareto")


def _z(x, loc, scale):
    z = standardize(x, loc, scale)
    inside = z >= 1
    return inside, on_support(inside, z, 2.0)


@_export
def logpdf(x, b, loc=0.0, scale=1.0):
    inside, z = _z(x, loc, scale)
    return cnp.where(inside, cnp.log(b / scale) - (b + 1) * cnp.log(z), NEG_INF)


@_export
def pdf(x, b, loc=0.0, scale=1.0):
    return cnp.exp(logpdf(x, b, loc, scale))


@_export
def cdf(x, b, loc=0.0, scale=1.0):
    inside, z = _z(x, loc, scale)
    return cnp.where(inside, -cnp.expm1(-b * cnp.log(z)), 0.0)


@_export
def logcdf(x, b, loc=0.0, scale=1.0):
    inside, z = _z(x, loc, scale)
    return cnp.where(inside, cnp.log1p(-z ** -b), NEG_INF)


@_export
def sf(x, b, loc=0.0, scale=1.0):
    return cnp.exp(logsf(x, b, loc, scale))


@_export
def logsf(x, b, loc=0.0, scale=1.0):
    inside, z = _z(x, loc, scale)
    return cnp.where(inside, -b * cnp.log(z), 0.0)


@_export
def ppf(q, b, loc=0.0, scale=1.0):
    return loc + scale * (1 - q) ** (-1 / b)


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.pareto's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "pareto")

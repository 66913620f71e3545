"""The Pareto distribution with shape ``b`` (``x >= loc + scale``): differentiable in
``x``, ``b``, ``loc`` and ``scale`` (``q`` for ``ppf``). Below its support the log
density is -inf and the derivatives 0."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf"]

STANDARD = Standard(lambda z, b: cnp.log(b) - (b + 1) * cnp.log(z),
                    cdf=lambda z, b: -cnp.expm1(-b * cnp.log(z)),
                    logcdf=lambda z, b: cnp.log1p(-z ** -b), logsf=lambda z, b: -b * cnp.log(z),
                    ppf=lambda q, b: (1 - q) ** (-1 / b), support=(1.0, float("inf")), valid=lambda b: b > 0,
                    interior=2.0, shapes=("b",), example=(1.5, 2.0))
logpdf, pdf, cdf, logcdf, sf, logsf, ppf = location_scale(__name__, STANDARD, __all__)

# rvs, mean, fit, ... and the functions without rules here: scipy.stats.pareto's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "pareto")

"""The exponential distribution, density ``exp(-(x - loc) / scale) / scale`` for
``x >= loc``: differentiable in ``x``, ``loc`` and ``scale`` (``q`` for the quantiles).
Below ``loc`` the log density is -inf, the cdf 0, and their derivatives 0."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.numpy.logdiffexp import log_diff_exp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

STANDARD = Standard(lambda z: -z, cdf=lambda z: -cnp.expm1(-z),
                    logcdf=lambda z: log_diff_exp(0.0, -z), logsf=lambda z: -z,
                    ppf=lambda q: -cnp.log1p(-q), isf=lambda q: -cnp.log(q),
                    support=(0.0, float("inf")), interior=1.0)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = location_scale(__name__, STANDARD, __all__)

# rvs, mean, fit, ... and the functions without rules here: scipy.stats.expon's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "expon")

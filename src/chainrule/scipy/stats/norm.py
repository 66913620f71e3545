"""The normal distribution ``N(loc, scale²)``, differentiable in ``x``, ``loc`` and
``scale`` (and in ``q`` for the quantile functions)."""

from __future__ import annotations

import numpy as np

from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import log_ndtr, ndtr, ndtri
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

_LOG_SQRT_2PI = float(0.5 * np.log(2 * np.pi))  # a Python number: it takes the dtype of what it meets
STANDARD = Standard(lambda z: -0.5 * z * z - _LOG_SQRT_2PI, cdf=ndtr, logcdf=log_ndtr, ppf=ndtri,
                    symmetric=True)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = location_scale(__name__, STANDARD, __all__)

# rvs, mean, fit, ... and the functions without rules here: scipy.stats.norm's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "norm")

"""The logistic distribution, with cdf ``expit((x - loc) / scale)``: differentiable in
``x``, ``loc`` and ``scale`` (``q`` for the quantile functions)."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import expit, log_expit, logit
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

STANDARD = Standard(lambda z: -2 * cnp.logaddexp(0.5 * z, -0.5 * z), cdf=expit, logcdf=log_expit,
                    ppf=logit, symmetric=True)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = location_scale(__name__, STANDARD, __all__)

# rvs, mean, fit, ... and the functions without rules here: scipy.stats.logistic's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "logistic")

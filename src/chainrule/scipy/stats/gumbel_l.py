"""The left-skewed Gumbel distribution, the mirror image of ``gumbel_r``: differentiable
in ``x``, ``loc`` and ``scale`` (``q`` for ``ppf``)."""

from __future__ import annotations

from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats import gumbel_r
from chainrule.scipy.stats._location_scale import location_scale

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf"]

STANDARD = gumbel_r.STANDARD.reflected()
logpdf, pdf, cdf, logcdf, sf, logsf, ppf = location_scale(__name__, STANDARD, __all__)

# rvs, mean, fit, ... and the functions without rules here: scipy.stats.gumbel_l's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "gumbel_l")

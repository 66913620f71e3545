"""The uniform distribution on ``[loc, loc + scale]``: differentiable in ``x``, ``loc``
and ``scale`` (``q`` for ``ppf`` and ``isf``). Outside the interval the log density is -inf."""

from __future__ import annotations

from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

STANDARD = Standard(lambda z: 0.0 * z, cdf=lambda z: z, sf=lambda z: 1 - z, ppf=lambda q: q,
                    isf=lambda q: 1 - q, support=(0.0, 1.0), interior=0.5)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = location_scale(__name__, STANDARD, __all__)

# rvs, mean, fit, ... and the functions without rules here: scipy.stats.uniform's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "uniform")

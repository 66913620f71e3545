"""The uniform distribution on ``[loc, loc + scale]``: differentiable in ``x``, ``loc``
and ``scale`` (``q`` for ``ppf``). Outside the interval the log density is -inf."""

from __future__ import annotations

from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf", "cdf", "ppf"]

STANDARD = Standard(lambda z: 0.0 * z, cdf=lambda z: z, ppf=lambda q: q, support=(0.0, 1.0),
                    interior=0.5)
logpdf, pdf, cdf, ppf = location_scale(__name__, STANDARD, __all__)

# rvs, mean, fit, ... and the functions without rules here: scipy.stats.uniform's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "uniform")

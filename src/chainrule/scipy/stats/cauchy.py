"""The Cauchy distribution, density ``1 / (π scale (1 + z²))`` with ``z = (x - loc) /
scale``: differentiable in ``x``, ``loc`` and ``scale`` (``q`` for the quantiles)."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]

STANDARD = Standard(lambda z: -np.log(np.pi) - cnp.log1p(z * z),
                    cdf=lambda z: 0.5 + cnp.arctan(z) / np.pi,
                    ppf=lambda q: cnp.tan(np.pi * q - np.pi / 2), symmetric=True)
logpdf, pdf, cdf, logcdf, sf, logsf, ppf, isf = location_scale(__name__, STANDARD, __all__)

# rvs, mean, fit, ... and the functions without rules here: scipy.stats.cauchy's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "cauchy")

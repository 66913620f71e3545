"""The right-skewed Gumbel distribution, cdf ``exp(-exp(-z))`` with ``z = (x - loc) /
scale``: differentiable in ``x``, ``loc`` and ``scale`` (``q`` for ``ppf``)."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.numpy.logdiffexp import log1m_exp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf"]

STANDARD = Standard(lambda z: -(z + cnp.exp(-z)), cdf=lambda z: cnp.exp(-cnp.exp(-z)),
                    logcdf=lambda z: -cnp.exp(-z), sf=lambda z: -cnp.expm1(-cnp.exp(-z)),
                    logsf=lambda z: log1m_exp(-cnp.exp(-z)),
                    ppf=lambda q: -cnp.log(-cnp.log(q)), isf=lambda q: -cnp.log(-cnp.log1p(-q)))
logpdf, pdf, cdf, logcdf, sf, logsf, ppf = location_scale(__name__, STANDARD, __all__)

# rvs, mean, fit, ... and the functions without rules here: scipy.stats.gumbel_r's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "gumbel_r")

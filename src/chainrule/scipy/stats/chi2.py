"""The chi-squared distribution: the gamma distribution with shape ``df / 2`` and scale 2,
differentiable as :mod:`chainrule.scipy.stats.gamma` is (``logpdf`` and ``pdf`` in every
argument, ``cdf``, ``sf`` and their logarithms in all but ``df``)."""

from __future__ import annotations

import numpy as np

from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import gamma_density, gammainc, gammaincc
from chainrule.scipy.stats import gamma
from chainrule.scipy.stats._common import LOG2
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]

STANDARD = Standard(lambda z, df: gamma.STANDARD.logpdf(z / 2, df / 2) - LOG2,
                    pdf=lambda z, df: gamma_density(df / 2, z / 2) / 2,
                    cdf=lambda z, df: gammainc(df / 2, z / 2), sf=lambda z, df: gammaincc(df / 2, z / 2),
                    support=(0.0, np.inf), interior=1.0, valid=lambda df: df > 0, shapes=("df",),
                    example=(1.5, 3.0))
logpdf, pdf, cdf, logcdf, sf, logsf = location_scale(__name__, STANDARD, __all__)

# rvs, mean, fit, ... and the functions without rules here: scipy.stats.chi2's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "chi2")

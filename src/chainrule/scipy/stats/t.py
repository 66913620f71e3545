"""Student's t distribution: ``logpdf`` and ``pdf`` differentiable in ``x``, ``df``,
``loc`` and ``scale``; ``cdf``, ``sf`` and their logarithms in ``x``, ``loc`` and ``scale`` (not ``df``)."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import gammaln, stdtr
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def _logpdf(z, df):
    return (gammaln(0.5 * (df + 1)) - gammaln(0.5 * df) - 0.5 * cnp.log(df * np.pi)
            - 0.5 * (df + 1) * cnp.log1p(z * z / df))


STANDARD = Standard(_logpdf, cdf=lambda z, df: stdtr(df, z), symmetric=True, valid=lambda df: df > 0, shapes=("df",),
                    example=(0.5, 3.0))
logpdf, pdf, cdf, logcdf, sf, logsf = location_scale(__name__, STANDARD, __all__)

# rvs, mean, fit, ... and the functions without rules here: scipy.stats.t's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "t")

"""The right-skewed Gumbel distribution, cdf ``exp(-exp(-z))`` with ``z = (x - loc) /
scale``: differentiable in ``x``, ``loc`` and ``scale`` (``q`` for ``ppf``)."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.numpy.logdiffexp import log1m_exp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf"]

# Below z = -40 the density, cdf, sf and log sf are their limits (exp(-e^40) is 0) with
# derivatives that underflow to 0, while e^-z overflows past z = -709, and an inf would meet
# their zero derivative as 0 * inf = nan: they read z no lower than -40 (the density's limit
# at z = -inf is then 0, where SciPy's -z - e^-z is inf - inf). The log density and log cdf,
# -e^-z there, overflow with their derivatives: they read z itself.
def _unsaturated(z):
    return cnp.maximum(z, -40.0)


def _logpdf(z):
    return -(z + cnp.exp(-z))


def _logsf(z):
    """log(1 - exp(-e^-z)): past z = 10 its series -z - t/2 + t²/24 in t = e^-z (the terms
    left out are t⁴/2880, 1e-15 of the second derivative there), which stays -z where t
    underflows (the log of the sf, 0 past z = 745, would be -inf, its derivative nan), and
    whose second derivative does not lose log(-expm1(-t))'s digits to cancellation (1e-7 at
    z = 20)."""
    far = z > 10.0
    t = cnp.exp(-cnp.where(far, z, 10.0))
    return cnp.where(far, -z - t / 2 + t * t / 24, log1m_exp(-cnp.exp(-_unsaturated(cnp.where(far, 10.0, z)))))


STANDARD = Standard(_logpdf, pdf=lambda z: cnp.exp(_logpdf(_unsaturated(z))),
                    cdf=lambda z: cnp.exp(-cnp.exp(-_unsaturated(z))), logcdf=lambda z: -cnp.exp(-z),
                    sf=lambda z: -cnp.expm1(-cnp.exp(-_unsaturated(z))),
                    logsf=_logsf,
                    ppf=lambda q: -cnp.log(-cnp.log(q)), isf=lambda q: -cnp.log(-cnp.log1p(-q)))
logpdf, pdf, cdf, logcdf, sf, logsf, ppf = location_scale(__name__, STANDARD, __all__)

# rvs, mean, fit, ... and the functions without rules here: scipy.stats.gumbel_r's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "gumbel_r")

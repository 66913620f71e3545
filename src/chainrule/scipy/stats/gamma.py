"""The gamma distribution with shape ``a``: ``logpdf`` and ``pdf`` differentiable in
``x``, ``a``, ``loc`` and ``scale``; ``cdf``, ``sf`` and their logarithms in all but
``a``. Outside the support the
log density is -inf and its gradient zero, as SciPy's values suggest."""

from __future__ import annotations

from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import gamma_density, gammainc, gammaincc, gammaln, xlogy
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]

# the density as itself, not exp(logpdf): at x = 0 the log density's derivative is infinite
# where the density's need not be (a = 3: 0)
STANDARD = Standard(lambda z, a: xlogy(a - 1, z) - z - gammaln(a), pdf=lambda z, a: gamma_density(a, z),
                    cdf=lambda z, a: gammainc(a, z), sf=lambda z, a: gammaincc(a, z),
                    support=(0.0, float("inf")), interior=1.0, valid=lambda a: a > 0, shapes=("a",), example=(1.5, 2.5))
logpdf, pdf, cdf, logcdf, sf, logsf = location_scale(__name__, STANDARD, __all__)

# rvs, mean, fit, ... and the functions without rules here: scipy.stats.gamma's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "gamma")

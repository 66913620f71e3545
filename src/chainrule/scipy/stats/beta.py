"""The beta distribution: ``logpdf`` and ``pdf`` differentiable in ``x``, ``a``, ``b``,
``loc`` and ``scale``; ``cdf``, ``sf`` and their logarithms in all but ``a`` and ``b``.
Outside [0, 1] the log density is -inf and its gradient zero; ``a`` or ``b`` not positive
give nan, as SciPy's."""

from __future__ import annotations

from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import beta_density, betainc, betaincc, betaln, xlog1py, xlogy
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]

# the upper tail as betaincc, without cancellation, and without I_{1−z}(b, a)'s 1 − z, which
# rounds a z below 1e-16 away (its derivative, inf for a < 1, with it)
# (the density as itself, not exp(logpdf): see gamma's)
STANDARD = Standard(lambda z, a, b: xlogy(a - 1, z) + xlog1py(b - 1, -z) - betaln(a, b),
                    pdf=lambda z, a, b: beta_density(a, b, z),
                    cdf=lambda z, a, b: betainc(a, b, z), sf=lambda z, a, b: betaincc(a, b, z),
                    support=(0.0, 1.0), interior=0.5, valid=lambda a, b: (a > 0) & (b > 0),
                    shapes=("a", "b"), example=(0.3, 2.5, 1.5))
logpdf, pdf, cdf, logcdf, sf, logsf = location_scale(__name__, STANDARD, __all__)

# rvs, mean, fit, ... and the functions without rules here: scipy.stats.beta's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "beta")

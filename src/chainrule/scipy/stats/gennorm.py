"""The generalized normal distribution of shape ``beta``, density
``beta / (2 Γ(1/beta)) exp(-|z|^beta)`` with ``z = (x - loc) / scale``: ``logpdf`` and
``pdf`` differentiable in ``x``, ``beta``, ``loc`` and ``scale``; ``cdf``, ``sf`` and their
logarithms in all but ``beta``. ``beta <= 0`` gives nan, as SciPy's. (``divide(1.0, beta)``, not
``reciprocal``: an integer ``beta`` of 2 has the reciprocal 0 in NumPy's integers.)"""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import gammaincc, gammaln
from chainrule.scipy.stats._common import LOG2
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def _logpdf(z, beta):
    return cnp.log(beta) - LOG2 - gammaln(cnp.divide(1.0, beta)) - cnp.abs(z) ** beta


def _tail(z, beta):
    """The mass beyond ``|z|`` on one side."""
    return 0.5 * gammaincc(cnp.divide(1.0, beta), cnp.abs(z) ** beta)


# At z = 0 the tail's derivative would be gammaincc's infinite one at 0 times that of |z|^β,
# 0 (nan): there the cdf is 1/2 + z times the density at 0 instead (its derivative the
# density), and the tails see a harmless point
def _through_centre(z, beta):
    """1/2 + z f(0) at z = 0 (the cdf to first order), 1/2 elsewhere."""
    return 0.5 + cnp.where(z == 0, z, 0.0) * cnp.exp(_logpdf(0.0, beta))


def _cdf(z, beta):
    centre = z == 0
    off = cnp.where(centre, 1.0, z)
    tail = _tail(off, beta)
    return cnp.where(centre, _through_centre(z, beta), cnp.where(off < 0, tail, 1 - tail))


def _logcdf(z, beta):
    # each branch sees only its own side's tail: log(0) far on the right would send nan
    # through the zero cotangent of the branch not taken
    centre, left = z == 0, z < 0
    return cnp.where(centre, cnp.log(_through_centre(z, beta)),
                     cnp.where(left, cnp.log(_tail(cnp.where(left, z, -1.0), beta)),
                               cnp.log1p(-_tail(cnp.where(left | centre, 1.0, z), beta))))


STANDARD = Standard(_logpdf, cdf=_cdf, logcdf=_logcdf, symmetric=True, valid=lambda beta: beta > 0, shapes=("beta",),
                    example=(0.5, 1.5))
logpdf, pdf, cdf, logcdf, sf, logsf = location_scale(__name__, STANDARD, __all__)

# rvs, ppf, fit, ... and the functions without rules here: scipy.stats.gennorm's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "gennorm")

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


# Near z = 0 the tail's derivative is gammaincc's, infinite at |z|^β = 0, times that of
# |z|^β, 0 (nan), or inf times a tiny number where |z|^β underflows (z = 1e-300), and its
# second derivative the difference of two terms ~|z|^(β-2) (cancelling to 1/|z|^β times the
# rounding). There the cdf is its series 1/2 + f(0) z Σ (-|z|^β)^n / (n! (1 + nβ)), to
# n = 2 while |z|^β < 1e-5 (the terms left out are (1e-5)^3 smaller, 1e-10 in the second
# derivative), and the tails see a harmless point. (|z| < 1e-5 too: for a large β SciPy's
# tails give the values elsewhere, as chainrule's)
def _near_centre(z, beta):
    return cnp.maximum(cnp.abs(z), cnp.abs(z) ** beta) < 1e-5


def _through_centre(z, beta):
    """The cdf's series about 0 where ``z`` is near it (elsewhere its value at 1, unused)."""
    w = cnp.where(_near_centre(z, beta), z, 1.0)
    # z |z|^nβ as sign(z) |z|^(1+nβ): its derivative is finite at 0
    odd = lambda p: cnp.sign(w) * cnp.abs(w) ** p  # noqa: E731
    return 0.5 + cnp.exp(_logpdf(0.0, beta)) * (w - odd(1 + beta) / (1 + beta) + odd(1 + 2 * beta) / (2 + 4 * beta))


def _cdf(z, beta):
    centre = _near_centre(z, beta)
    off = cnp.where(centre, 1.0, z)
    tail = _tail(off, beta)
    return cnp.where(centre, _through_centre(z, beta), cnp.where(off < 0, tail, 1 - tail))


def _logcdf(z, beta):
    # each branch sees only its own side's tail: log(0) far on the right would send nan
    # through the zero cotangent of the branch not taken
    centre = _near_centre(z, beta)
    left = (z < 0) & ~centre
    return cnp.where(centre, cnp.log(_through_centre(z, beta)),
                     cnp.where(left, cnp.log(_tail(cnp.where(left, z, -1.0), beta)),
                               cnp.log1p(-_tail(cnp.where(left | centre, 1.0, z), beta))))


STANDARD = Standard(_logpdf, cdf=_cdf, logcdf=_logcdf, symmetric=True, valid=lambda beta: beta > 0, shapes=("beta",),
                    example=(0.5, 1.5))
logpdf, pdf, cdf, logcdf, sf, logsf = location_scale(__name__, STANDARD, __all__)

# rvs, ppf, fit, ... and the functions without rules here: scipy.stats.gennorm's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "gennorm")

"""The normal distribution truncated to ``[a, b]`` (in the standardised variable
``z = (x - loc) / scale``, as SciPy's ``a`` and ``b``): ``logpdf``, ``pdf``, ``cdf``,
``logcdf``, ``sf`` and ``logsf``, differentiable in ``x``, ``a``, ``b``, ``loc`` and
``scale``. The mass ``Φ(b) - Φ(a)`` is taken from the tail it lies in, so a window far out
(``a = 40``) keeps its precision. ``a >= b`` gives nan, as SciPy's."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.numpy.logdiffexp import log_diff_exp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import log_ndtr
from chainrule.scipy.stats._common import LOG2, NEG_INF, exported, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]

_export = exported("truncnorm")


def _log_phi(z):
    """``log Φ(z)``, -inf at -inf with a zero derivative (not ``0 * inf``)."""
    finite = z > NEG_INF
    return cnp.where(finite, log_ndtr(cnp.where(finite, z, 0.0)), NEG_INF)


def _log_mass(lo, hi):
    """``log(Φ(hi) - Φ(lo))`` for ``lo <= hi``, from the upper tail where ``lo > 0``."""
    upper = lo > 0
    return log_diff_exp(_log_phi(cnp.where(upper, -lo, hi)), _log_phi(cnp.where(upper, -hi, lo)))


def _parts(x, a, b, loc, scale):
    z = standardize(x, loc, scale)
    inside = cnp.logical_not((z < a) | (z > b))  # (nan stays inside: its values stay nan)
    return cnp.clip(z, a, b), inside, _log_mass(a, b)


def _valid(a, b, scale, z, value):
    """``value``, nan where ``a >= b``, ``scale`` is not positive or ``z`` is nan (SciPy's)."""
    return cnp.where((a < b) & (scale > 0) & cnp.logical_not(cnp.isnan(z)), value, np.nan)


def _log_tails(x, a, b, loc, scale):
    """``log P(Z <= z)`` and ``log P(Z > z)``, each of them, where near 0, as ``log1p`` of
    minus the other (so that a probability near 1 keeps its tiny logarithm)."""
    z, inside, mass = _parts(x, a, b, loc, scale)
    below = cnp.where(z > a, _log_mass(a, cnp.where(z > a, z, b)) - mass, NEG_INF)
    above = cnp.where(z < b, _log_mass(cnp.where(z < b, z, a), b) - mass, NEG_INF)
    near = -LOG2
    # the unused branch of each where sees -1 (log_diff_exp(0, 0) is -inf, its derivative inf: nan)
    return (_valid(a, b, scale, z, cnp.where(below > near, log_diff_exp(0.0, cnp.where(below > near, above, -1.0)),
                                             below)),
            _valid(a, b, scale, z, cnp.where(above > near, log_diff_exp(0.0, cnp.where(above > near, below, -1.0)),
                                             above)))


@_export
def logpdf(x, a, b, loc=0.0, scale=1.0):
    """``scipy.stats.truncnorm.logpdf``.

    >>> import numpy as np, scipy.stats
    >>> bool(np.isclose(logpdf(0.5, -1.0, 2.0), scipy.stats.truncnorm.logpdf(0.5, -1.0, 2.0)))
    True
    """
    z, inside, mass = _parts(x, a, b, loc, scale)
    density = -0.5 * z * z - 0.5 * np.log(2 * np.pi) - mass - cnp.log(scale)
    return _valid(a, b, scale, z, cnp.where(inside, density, NEG_INF))


@_export
def pdf(x, a, b, loc=0.0, scale=1.0):
    """``scipy.stats.truncnorm.pdf``: ``exp(logpdf(x, a, b, loc, scale))``."""
    return cnp.exp(logpdf(x, a, b, loc, scale))


@_export
def logcdf(x, a, b, loc=0.0, scale=1.0):
    """``scipy.stats.truncnorm.logcdf``: ``log((Φ(z) - Φ(a)) / (Φ(b) - Φ(a)))``.

    >>> import numpy as np, scipy.stats
    >>> bool(np.isclose(logcdf(0.5, -1.0, 2.0), scipy.stats.truncnorm.logcdf(0.5, -1.0, 2.0)))
    True
    """
    return _log_tails(x, a, b, loc, scale)[0]


@_export
def logsf(x, a, b, loc=0.0, scale=1.0):
    """``scipy.stats.truncnorm.logsf``: ``log((Φ(b) - Φ(z)) / (Φ(b) - Φ(a)))``.

    >>> import numpy as np, scipy.stats
    >>> bool(np.isclose(logsf(0.5, -1.0, 2.0), scipy.stats.truncnorm.logsf(0.5, -1.0, 2.0)))
    True
    """
    return _log_tails(x, a, b, loc, scale)[1]


@_export
def cdf(x, a, b, loc=0.0, scale=1.0):
    """``scipy.stats.truncnorm.cdf``: ``exp(logcdf(x, a, b, loc, scale))``."""
    return cnp.exp(logcdf(x, a, b, loc, scale))


@_export
def sf(x, a, b, loc=0.0, scale=1.0):
    """``scipy.stats.truncnorm.sf``: ``exp(logsf(x, a, b, loc, scale))``."""
    return cnp.exp(logsf(x, a, b, loc, scale))


# rvs, ppf, mean, ... and the functions without rules here: scipy.stats.truncnorm's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "truncnorm")

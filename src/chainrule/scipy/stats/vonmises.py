"""The von Mises distribution on the circle, density ``exp(kappa cos z) / (2π I0(kappa))``
with ``z = (x - loc) / scale``: ``logpdf`` and ``pdf`` differentiable in ``x``, ``kappa``,
``loc`` and ``scale``. The density is periodic (SciPy's), and nan for ``kappa < 0``."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import i0e
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf"]

# I0(kappa) = i0e(kappa) exp(kappa): the exponent folded in, so large kappa does not overflow
STANDARD = Standard(lambda z, kappa: kappa * (cnp.cos(z) - 1) - np.log(2 * np.pi) - cnp.log(i0e(kappa)),
                    valid=lambda kappa: kappa >= 0, shapes=("kappa",), example=(0.5, 2.0))
logpdf, pdf = location_scale(__name__, STANDARD, __all__)

# rvs, cdf, fit, ... and the functions without rules here: scipy.stats.vonmises's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "vonmises")

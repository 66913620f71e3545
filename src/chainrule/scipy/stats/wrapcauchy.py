"""The wrapped Cauchy distribution on [0, 2π], density
``(1 - c²) / (2π (1 + c² - 2c cos z))`` with ``z = (x - loc) / scale``: ``logpdf`` and
``pdf`` differentiable in ``x``, ``c``, ``loc`` and ``scale``. Outside [0, 2π] the log
density is -inf; ``c`` outside (0, 1) gives nan, as SciPy's."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._location_scale import Standard, location_scale

__all__ = ["logpdf", "pdf"]

STANDARD = Standard(lambda z, c: cnp.log1p(-c * c) - np.log(2 * np.pi) - cnp.log1p(c * c - 2 * c * cnp.cos(z)),
                    support=(0.0, 2 * np.pi), interior=np.pi, valid=lambda c: (c > 0) & (c < 1),
                    shapes=("c",), example=(1.5, 0.5))
logpdf, pdf = location_scale(__name__, STANDARD, __all__)

# rvs, cdf, fit, ... and the functions without rules here: scipy.stats.wrapcauchy's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "wrapcauchy")

"""``chainrule.scipy.stats``: log densities, densities and distribution functions of
common distributions, differentiable in their arguments and parameters.

Each distribution is a module with SciPy's function names and signatures:
``from chainrule.scipy.stats import norm; norm.logpdf(x, loc, scale)``; the methods
chainrule has no rules for (``rvs``, ``fit``, ``mean``, ...) are SciPy's own. Every other
name of ``scipy.stats`` (``expon``, ``pearsonr``, ``qmc``, ...) is SciPy's, refusing
Tensors with an error that names it.
"""

from __future__ import annotations

from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats import (
    beta,
    chi2,
    dirichlet,
    gamma,
    multivariate_normal,
    norm,
    poisson,
    t,
)

__all__ = ["beta", "chi2", "dirichlet", "gamma", "multivariate_normal", "norm", "poisson", "t"]
__getattr__, __dir__ = fallback(__name__, "scipy.stats")

"""``chainrule.scipy.stats``: log densities, densities and distribution functions of
common distributions, differentiable in their arguments and parameters.

Each distribution is a module with SciPy's function names and signatures:
``from chainrule.scipy.stats import norm; norm.logpdf(x, loc, scale)``.
"""

from __future__ import annotations

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

"""``chainrule.scipy.stats``: log densities, densities and distribution functions of
common distributions (normal, truncated normal, generalized normal, Student's t, gamma,
chi², beta, Poisson, binomial, negative binomial, beta-binomial, multinomial, Laplace,
logistic, Cauchy, exponential, uniform, Pareto, Gumbel, von Mises, wrapped Cauchy,
Bernoulli, geometric, Dirichlet, multivariate normal), differentiable in their arguments and parameters.

Each distribution is a module with SciPy's function names and signatures:
``from chainrule.scipy.stats import norm; norm.logpdf(x, loc, scale)``; the methods
chainrule has no rules for (``rvs``, ``fit``, ``mean``, ...) are SciPy's own. Every other
name of ``scipy.stats`` (``weibull_min``, ``pearsonr``, ``qmc``, ...) is SciPy's, refusing
Tensors with an error that names it.
"""

from __future__ import annotations

from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats import (
    bernoulli,
    beta,
    betabinom,
    binom,
    cauchy,
    chi2,
    dirichlet,
    expon,
    gamma,
    gennorm,
    geom,
    gumbel_l,
    gumbel_r,
    laplace,
    logistic,
    multinomial,
    multivariate_normal,
    nbinom,
    norm,
    pareto,
    poisson,
    t,
    truncnorm,
    uniform,
    vonmises,
    wrapcauchy,
)

__all__ = ["bernoulli", "beta", "betabinom", "binom", "cauchy", "chi2", "dirichlet", "expon",
           "gamma", "gennorm", "geom", "gumbel_l", "gumbel_r", "laplace", "logistic",
           "multinomial", "multivariate_normal", "nbinom", "norm", "pareto", "poisson", "t",
           "truncnorm", "uniform", "vonmises", "wrapcauchy"]
__getattr__, __dir__ = fallback(__name__, "scipy.stats")

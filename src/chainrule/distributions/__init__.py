"""``torch.distributions`` for the eager layer: the families PyTorch programs use most
(VAEs, policy gradients, Bayesian code), with PyTorch's shapes, parameter and value
validation, ``constraints``, and ``kl_divergence``/``register_kl``.

``log_prob``, ``entropy``, ``cdf``, the moments and ``kl_divergence`` differentiate in the
parameters; ``rsample`` is the reparameterised draw: closed form for the location-scale
families, implicit reparameterisation for Gamma and the families drawn from it (Beta,
Dirichlet, StudentT).
Draws come from the global generator that ``chainrule.manual_seed`` seeds (NumPy's
numbers, not PyTorch's: the same seed gives other values).

>>> import chainrule as cr
>>> q = Independent(Normal(cr.zeros(3), cr.ones(3)), 1)
>>> q.batch_shape, q.event_shape, q.rsample((5,)).shape
(torch.Size([]), torch.Size([3]), torch.Size([5, 3]))
"""

# with the submodules PyTorch code reaches for (torch.distributions.normal.Normal, ...)
from chainrule.distributions import (
    bernoulli,
    categorical,
    constraints,
    independent,
    multivariate_normal,
    normal,
    transforms,
    uniform,
    utils,
)
from chainrule.distributions.continuous import (
    Beta,
    Cauchy,
    Exponential,
    Gamma,
    Laplace,
    LogNormal,
    Normal,
    StudentT,
    Uniform,
)
from chainrule.distributions.discrete import Bernoulli, Binomial, Categorical, OneHotCategorical, Poisson
from chainrule.distributions.distribution import Distribution
from chainrule.distributions.families import (
    Chi2,
    ExpRelaxedCategorical,
    Geometric,
    Gumbel,
    HalfCauchy,
    HalfNormal,
    LogitRelaxedBernoulli,
    MixtureSameFamily,
    Multinomial,
    NegativeBinomial,
    Pareto,
    RelaxedBernoulli,
    RelaxedOneHotCategorical,
    Weibull,
)
from chainrule.distributions.kl import kl_divergence, register_kl
from chainrule.distributions.multivariate import Dirichlet, Independent, LowRankMultivariateNormal, MultivariateNormal
from chainrule.distributions.transforms import (
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    PowerTransform,
    SigmoidTransform,
    SoftplusTransform,
    TanhTransform,
    Transform,
    TransformedDistribution,
)

__all__ = [
    "Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "Dirichlet", "Distribution",
    "ExpRelaxedCategorical", "Exponential", "Gamma", "Geometric", "Gumbel", "HalfCauchy", "HalfNormal",
    "Independent", "Laplace", "LogNormal", "LogitRelaxedBernoulli", "LowRankMultivariateNormal", "MixtureSameFamily",
    "Multinomial", "MultivariateNormal", "NegativeBinomial", "Normal", "OneHotCategorical", "Pareto", "Poisson",
    "RelaxedBernoulli", "RelaxedOneHotCategorical", "StudentT", "TransformedDistribution", "Uniform", "Weibull",
    # the transforms, as torch.distributions has them too (from torch.distributions import SigmoidTransform)
    "AffineTransform", "ComposeTransform", "ExpTransform", "PowerTransform", "SigmoidTransform", "SoftplusTransform",
    "TanhTransform", "Transform",
    "constraints", "kl_divergence", "register_kl", "transforms", "utils",
    "bernoulli", "categorical", "independent", "multivariate_normal", "normal", "uniform",
]

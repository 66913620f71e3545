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

import sys

# with the submodules PyTorch code reaches for (torch.distributions.normal.Normal, ...)
from chainrule.distributions import (
    bernoulli,
    categorical,
    constraint_registry,
    constraints,
    continuous,
    continuous_bernoulli,
    discrete,
    exp_family,
    families,
    generalized_pareto,
    independent,
    multivariate,
    multivariate_normal,
    normal,
    transformed_families,
    transforms,
    uniform,
    utils,
    von_mises,
    wishart,
)
from chainrule.distributions.constraint_registry import biject_to, transform_to
from chainrule.distributions.continuous import (
    Beta,
    Cauchy,
    Exponential,
    Gamma,
    Laplace,
    Normal,
    StudentT,
    Uniform,
)
from chainrule.distributions.continuous_bernoulli import ContinuousBernoulli
from chainrule.distributions.discrete import (
    Bernoulli,
    Binomial,
    Categorical,
    OneHotCategorical,
    OneHotCategoricalStraightThrough,
    Poisson,
)
from chainrule.distributions.distribution import Distribution
from chainrule.distributions.exp_family import ExponentialFamily
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
from chainrule.distributions.generalized_pareto import GeneralizedPareto
from chainrule.distributions.kl import kl_divergence, register_kl
from chainrule.distributions.multivariate import Dirichlet, Independent, LowRankMultivariateNormal, MultivariateNormal
from chainrule.distributions.transformed_families import (
    FisherSnedecor,
    InverseGamma,
    Kumaraswamy,
    LKJCholesky,
    LogisticNormal,
    LogNormal,
)
from chainrule.distributions.transforms import (
    AbsTransform,
    AffineTransform,
    CatTransform,
    ComposeTransform,
    CorrCholeskyTransform,
    CumulativeDistributionTransform,
    ExpTransform,
    IndependentTransform,
    LowerCholeskyTransform,
    PositiveDefiniteTransform,
    PowerTransform,
    ReshapeTransform,
    SigmoidTransform,
    SoftmaxTransform,
    SoftplusTransform,
    StackTransform,
    StickBreakingTransform,
    TanhTransform,
    Transform,
    TransformedDistribution,
    identity_transform,
)
from chainrule.distributions.von_mises import VonMises
from chainrule.distributions.wishart import Wishart

__all__ = [
    "Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "Chi2", "ContinuousBernoulli", "Dirichlet",
    "Distribution", "ExponentialFamily",
    "ExpRelaxedCategorical", "Exponential", "FisherSnedecor", "Gamma", "GeneralizedPareto", "Geometric", "Gumbel",
    "HalfCauchy",
    "HalfNormal",
    "Independent", "InverseGamma", "Kumaraswamy", "LKJCholesky", "Laplace", "LogisticNormal", "LogNormal",
    "LogitRelaxedBernoulli",
    "LowRankMultivariateNormal", "MixtureSameFamily",
    "Multinomial", "MultivariateNormal", "NegativeBinomial", "Normal", "OneHotCategorical",
    "OneHotCategoricalStraightThrough", "Pareto", "Poisson",
    "RelaxedBernoulli", "RelaxedOneHotCategorical", "StudentT", "TransformedDistribution", "Uniform", "VonMises",
    "Weibull", "Wishart",
    # the transforms, as torch.distributions has them too (from torch.distributions import SigmoidTransform)
    "AbsTransform", "AffineTransform", "CatTransform", "ComposeTransform", "CorrCholeskyTransform",
    "CumulativeDistributionTransform",
    "ExpTransform", "IndependentTransform", "LowerCholeskyTransform", "PositiveDefiniteTransform", "PowerTransform",
    "ReshapeTransform", "SigmoidTransform", "SoftmaxTransform", "SoftplusTransform", "StackTransform",
    "StickBreakingTransform", "TanhTransform", "Transform", "identity_transform",
    "biject_to", "constraint_registry", "transform_to",
    "constraints", "kl_divergence", "register_kl", "transforms", "utils",
    "bernoulli", "categorical", "continuous_bernoulli", "exp_family", "generalized_pareto", "independent",
    "multivariate_normal",
    "normal", "uniform", "von_mises", "wishart",
]

# PyTorch's other submodules, by the name PyTorch gives each, as the module that holds its
# class (pyd.transformed_distribution.TransformedDistribution, from torch.distributions.beta
# import Beta): one module under two names, as chainrule.utils.data is chainrule.data
_SUBMODULES = {
    "transformed_distribution": transforms, "beta": continuous, "gamma": continuous, "laplace": continuous,
    "exponential": continuous, "cauchy": continuous, "log_normal": transformed_families, "studentT": continuous,
    "one_hot_categorical": discrete, "poisson": discrete, "binomial": discrete, "dirichlet": multivariate,
    "lowrank_multivariate_normal": multivariate, "mixture_same_family": families, "relaxed_categorical": families,
    "relaxed_bernoulli": families, "gumbel": families, "half_normal": families, "half_cauchy": families,
    "weibull": families, "pareto": families, "geometric": families, "negative_binomial": families,
    "multinomial": families, "chi2": families, "inverse_gamma": transformed_families,
    "kumaraswamy": transformed_families, "logistic_normal": transformed_families,
    "fishersnedecor": transformed_families, "lkj_cholesky": transformed_families,
}
for _name, _module in _SUBMODULES.items():
    sys.modules[f"{__name__}.{_name}"] = _module
    globals()[_name] = _module

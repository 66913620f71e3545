"""More of ``torch.distributions``: Chi2, HalfNormal, HalfCauchy, Gumbel (continuous),
Geometric, NegativeBinomial, Multinomial (discrete), the relaxed (Gumbel-softmax)
RelaxedOneHotCategorical and RelaxedBernoulli, Weibull, Pareto, and MixtureSameFamily (a Gaussian
mixture: ``MixtureSameFamily(Categorical(logits=w), Normal(mu, sigma))``), with PyTorch's
formulas, differentiable in the parameters.

>>> import chainrule as cr
>>> from chainrule.distributions import Categorical, Normal
>>> gmm = MixtureSameFamily(Categorical(logits=cr.zeros(2)), Normal(cr.tensor([-1.0, 1.0]), 1.0))
>>> round(gmm.log_prob(cr.tensor(0.0)).item(), 6)
-1.418939
"""

from __future__ import annotations

import math

import numpy as np

import chainrule.nn.functional as F
import chainrule.numpy as cnp
import chainrule.scipy.special as sp
from chainrule.distributions import constraints
from chainrule.distributions.continuous import Cauchy, Exponential, Gamma, Normal, Uniform
from chainrule.distributions.discrete import Bernoulli, Binomial, Categorical
from chainrule.distributions.distribution import Distribution, as_tensor, broadcast_all, noise
from chainrule.distributions.transforms import (
    AbsTransform,
    AffineTransform,
    ExpTransform,
    PowerTransform,
    SigmoidTransform,
    TransformedDistribution,
)
from chainrule.numpy.nondiff import every, whole_batch

__all__ = ["Chi2", "HalfNormal", "HalfCauchy", "Gumbel", "Geometric", "NegativeBinomial", "Multinomial",
           "MixtureSameFamily", "ExpRelaxedCategorical", "LogitRelaxedBernoulli", "RelaxedOneHotCategorical",
           "RelaxedBernoulli", "Weibull", "Pareto"]

_EULER_GAMMA = 0.57721566490153286060


def _full(like, value):
    return as_tensor(np.full(like.shape, value, dtype=like.dtype))


class Chi2(Gamma):
    """Gamma(df / 2, 1 / 2)."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None):
        (df,) = broadcast_all(df)
        super().__init__(0.5 * df, 0.5 * cnp.ones_like(df), validate_args=validate_args)

    @property
    def df(self):
        return self.concentration * 2


class _Half(TransformedDistribution):
    """|X| for X symmetric about 0 with scale ``scale``: ``base_dist`` that X, ``transforms``
    ``[AbsTransform()]``, as PyTorch's."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _base = Normal

    def __init__(self, scale, validate_args=None):
        (scale,) = broadcast_all(scale)
        base = self._base(cnp.zeros_like(scale), scale, validate_args=False)
        super().__init__(base, AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        family = next(c for c in type(self).__mro__ if _Half in c.__bases__)  # HalfNormal or HalfCauchy
        return self._expand_parameters(family, batch_shape, "scale", _instance=_instance)

    scale = property(lambda self: self.base_dist.scale)

    @property
    def mode(self):
        return _full(self.scale, 0.0)

    def log_prob(self, value):
        value = self._checked(value)
        lp = self.base_dist.log_prob(value) + math.log(2)
        return cnp.where(value >= 0, lp, -np.inf)

    def cdf(self, value):
        value = self._checked(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)


class HalfNormal(_Half):
    """|X| for X ~ Normal(0, scale)."""

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self):
        return self.scale ** 2 * (1 - 2 / math.pi)


class HalfCauchy(_Half):
    """|X| for X ~ Cauchy(0, scale)."""

    _base = Cauchy

    @property
    def mean(self):
        return _full(self.scale, np.inf)

    @property
    def variance(self):
        return _full(self.scale, np.inf)


class Gumbel(TransformedDistribution):
    """Density exp(-(z + exp(-z))) / scale, z = (x - loc) / scale: as PyTorch's, a Uniform
    on [tiny, 1 - eps] pushed through u -> loc - scale·log(-log u), so ``icdf(0)`` and
    ``icdf(1)`` are finite (those of the Uniform's ends)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        info = np.finfo(self.loc.dtype)
        base = Uniform(_full(self.loc, info.tiny), _full(self.loc, 1 - info.eps), validate_args=validate_args)
        transforms = [ExpTransform().inv, AffineTransform(0, -cnp.ones_like(self.scale)), ExpTransform().inv,
                      AffineTransform(self.loc, -self.scale)]
        super().__init__(base, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_parameters(Gumbel, batch_shape, "loc", "scale", _instance=_instance)

    def rsample(self, sample_shape=()):
        # the transforms' composition in one step, its draws tied to loc and scale (under
        # vmap each example draws its own; the base Uniform's constant ends are not batched)
        info = np.finfo(self.loc.dtype)
        u = noise("uniform", self._extended_shape(sample_shape), self.loc.dtype, info.tiny, 1 - info.eps, like=self)
        return self.loc - self.scale * cnp.log(-cnp.log(u))

    @property
    def mean(self):
        return self.loc + self.scale * _EULER_GAMMA

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self):
        return self.stddev ** 2

    def log_prob(self, value):
        value = self._checked(value)
        y = (self.loc - value) / self.scale
        return (y - cnp.exp(y)) - cnp.log(self.scale)

    def cdf(self, value):
        value = self._checked(value)
        return cnp.exp(-cnp.exp(-(value - self.loc) / self.scale))

    def entropy(self):
        return cnp.log(self.scale) + (1 + _EULER_GAMMA)


class Geometric(Distribution):
    """The number of failures before the first success of probability ``probs``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        param = self.probs if probs is not None else self.logits
        super().__init__(param.shape, validate_args=validate_args)
        # probs 0 lies in unit_interval but has no first success; PyTorch checks this too
        if self._validating() and probs is not None and not every(self.probs > 0):
            raise ValueError(
                f"Expected parameter probs ({type(self.probs).__name__} of shape {tuple(self.probs.shape)}) "
                f"of distribution {self!r} to be positive but found invalid values:\n{whole_batch(self.probs)}")

    logits = Bernoulli.logits
    probs = Bernoulli.probs

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return _full(self.probs, 0.0)

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()):
        return noise("geometric", self._extended_shape(sample_shape), self.probs.dtype, self.probs) - 1

    def log_prob(self, value):
        value = self._checked(value)
        value, probs = broadcast_all(value, self.probs)
        probs = cnp.where((probs == 1) & (value == 0), 0.0, probs)
        return value * cnp.log1p(-probs) + cnp.log(self.probs)

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none") / self.probs


class NegativeBinomial(Distribution):
    """The number of successes before ``total_count`` failures, success probability ``probs``."""

    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0), "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.astype(self.probs.dtype)
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.astype(self.logits.dtype)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self.total_count.shape, validate_args=validate_args)

    logits = Bernoulli.logits
    probs = Bernoulli.probs
    param_shape = Bernoulli.param_shape

    @property
    def mean(self):
        return self.total_count * cnp.exp(self.logits)

    @property
    def mode(self):
        return as_tensor(cnp.clip(cnp.floor((self.total_count - 1) * cnp.exp(self.logits)), 0.0, None))

    @property
    def variance(self):
        return self.mean / F.sigmoid(-self.logits)

    def sample(self, sample_shape=()):
        shape, p = tuple(self._extended_shape(sample_shape)), self.probs
        rate = noise("standard_gamma", shape, np.float64, self.total_count) * p / (1 - p)
        return noise("poisson", shape, p.dtype, rate)

    def log_prob(self, value):
        value = self._checked(value)
        n = self.total_count
        unnormalised = n * F.logsigmoid(-self.logits) + value * F.logsigmoid(self.logits)
        normalisation = -sp.gammaln(n + value) + sp.gammaln(1.0 + value) + sp.gammaln(n)
        return unnormalised - cnp.where(n + value == 0.0, 0.0, normalisation)


class Multinomial(Distribution):
    """Counts of ``total_count`` draws from ``probs`` (event_shape ``(K,)``)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int | np.integer):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = int(total_count)
        self._categorical = Categorical(probs=probs, logits=logits, validate_args=validate_args)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self.__new__(type(self))
        new.total_count, new._categorical = self.total_count, self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape, p = tuple(self._extended_shape(sample_shape)), cnp.astype(self.probs, np.float64)
        return noise("multinomial", shape[:-1], self.probs.dtype, self.total_count, p / p.sum(-1, keepdims=True))

    def entropy(self):
        n = self.total_count
        term1 = n * self._categorical.entropy() - math.lgamma(n + 1)
        binomial = Binomial(n, self.probs, validate_args=False)
        support = binomial.enumerate_support(expand=False)[1:]
        term2 = (cnp.exp(binomial.log_prob(support)) * sp.gammaln(support + 1)).sum(-1).sum(0)
        return term1 + term2

    def log_prob(self, value):
        value = self._checked(value)
        logits, value = broadcast_all(self.logits, value)
        logits = cnp.where((value == 0) & (logits == -np.inf), 0.0, logits)
        return sp.gammaln(value.sum(-1) + 1) - sp.gammaln(value + 1).sum(-1) + (logits * value).sum(-1)


class MixtureSameFamily(Distribution):
    """A mixture whose weights are the Categorical ``mixture_distribution`` and whose
    components are the rightmost batch dimension of ``component_distribution``."""

    arg_constraints: dict = {}

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError("The Mixture distribution needs to be an instance of torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution need to be an instance of torch.distributions.Distribution")
        mdbs, cdbs = tuple(mixture_distribution.batch_shape), tuple(component_distribution.batch_shape)[:-1]
        for size1, size2 in zip(reversed(mdbs), reversed(cdbs), strict=False):
            if size1 != 1 and size2 != 1 and size1 != size2:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mdbs}) is not compatible with "
                                 f"`component_distribution.batch_shape`({cdbs})")
        km, kc = mixture_distribution.logits.shape[-1], component_distribution.batch_shape[-1]
        if km != kc:
            raise ValueError(f"`mixture_distribution component` ({km}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({kc})")
        self._mixture_distribution, self._component_distribution = mixture_distribution, component_distribution
        self._num_component = km
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(cdbs, component_distribution.event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self.__new__(type(self))
        new.__dict__.update(self.__dict__)
        batch_shape = tuple(batch_shape)
        new._component_distribution = self._component_distribution.expand(batch_shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    @constraints.dependent_property
    def support(self):
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    def _pad(self, x):
        return cnp.expand_dims(x, -1 - self._event_ndims)

    def _pad_mixture_dimensions(self, x):
        for _ in range(self._event_ndims):
            x = x[..., None]
        return x

    @property
    def mean(self):
        probs = self._pad_mixture_dimensions(self._mixture_distribution.probs)
        return (probs * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        probs = self._pad_mixture_dimensions(self._mixture_distribution.probs)
        axis = -1 - self._event_ndims
        mean_cond_var = (probs * self._component_distribution.variance).sum(axis)
        var_cond_mean = (probs * (self._component_distribution.mean - self._pad(self.mean)) ** 2).sum(axis)
        return mean_cond_var + var_cond_mean

    def cdf(self, x):
        x = self._pad(as_tensor(x))
        cdf_x = self._component_distribution.cdf(x)
        return (cdf_x * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x):
        x = self._checked(x)
        log_prob_x = self._component_distribution.log_prob(self._pad(x))
        log_mix_prob = F.log_softmax(self._mixture_distribution.logits, dim=-1)
        return sp.logsumexp(log_prob_x + log_mix_prob, axis=-1)

    def sample(self, sample_shape=()):
        shape = tuple(sample_shape) if not isinstance(sample_shape, int) else (sample_shape,)
        idx = self._mixture_distribution.sample(shape)
        comp = self._component_distribution.sample(shape)
        axis = -1 - self._event_ndims
        idx = cnp.broadcast_to(idx, tuple(comp.shape[:comp.ndim + axis]))
        idx = idx.reshape(tuple(idx.shape) + (1,) * (1 + self._event_ndims))
        lead = tuple(idx.shape[:len(shape) + len(self.batch_shape)])
        idx = cnp.broadcast_to(idx, lead + (1,) + tuple(self.event_shape))
        return cnp.squeeze(cnp.take_along_axis(comp, idx, axis=axis), axis)

    def __repr__(self):
        return (f"MixtureSameFamily(\n  {self._mixture_distribution},\n  {self._component_distribution})")


def _clamp_unit(u):
    info = np.finfo(u.dtype)
    return cnp.clip(u, float(info.eps), 1 - float(info.eps))


class ExpRelaxedCategorical(Distribution):
    """The log of a RelaxedOneHotCategorical draw (Gumbel-softmax in log space), of
    ``temperature`` and ``probs`` or ``logits``."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        self.temperature = as_tensor(temperature, self._categorical._param.dtype)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self.__new__(type(self))
        new.temperature, new._categorical = self.temperature, self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def probs(self):
        return self._categorical.probs

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = _clamp_unit(noise("random", shape, self.logits.dtype, like=self))
        gumbels = -cnp.log(-cnp.log(u))
        scores = (self.logits + gumbels) / self.temperature
        return scores - sp.logsumexp(scores, axis=-1, keepdims=True)

    def log_prob(self, value):
        value = self._checked(value)
        k = self._categorical._num_events
        log_scale = math.lgamma(k) - cnp.log(self.temperature) * -(k - 1)
        score = self.logits - value * self.temperature
        score = (score - sp.logsumexp(score, axis=-1, keepdims=True)).sum(-1)
        return score + log_scale


class LogitRelaxedBernoulli(Distribution):
    """The logit of a RelaxedBernoulli draw, of ``temperature`` and ``probs`` or ``logits``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        param = self.probs if probs is not None else self.logits
        self.temperature = as_tensor(temperature, param.dtype)
        super().__init__(param.shape, validate_args=validate_args)

    logits = Bernoulli.logits
    probs = Bernoulli.probs

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        probs = _clamp_unit(cnp.broadcast_to(self.probs, shape))
        u = _clamp_unit(noise("random", shape, self.probs.dtype, like=self))
        return (cnp.log(u) - cnp.log1p(-u) + cnp.log(probs) - cnp.log1p(-probs)) / self.temperature

    def log_prob(self, value):
        value = self._checked(value)
        logits, value = broadcast_all(self.logits, value)
        diff = logits - value * self.temperature
        return cnp.log(self.temperature) + diff - 2 * cnp.log1p(cnp.exp(diff))


class _Relaxed(TransformedDistribution):
    """A relaxation that is a distribution of logits mapped by ``_transform`` (what the two
    relaxed distributions below share)."""

    has_rsample = True
    _transform: type

    def expand(self, batch_shape, _instance=None):
        new = self.__new__(type(self))
        TransformedDistribution.__init__(new, self.base_dist.expand(batch_shape), self._transform(),
                                         validate_args=self._validate_args)
        return new

    temperature = property(lambda self: self.base_dist.temperature)
    logits = property(lambda self: self.base_dist.logits)
    probs = property(lambda self: self.base_dist.probs)


class RelaxedOneHotCategorical(_Relaxed):
    """Gumbel-softmax: a reparameterisable relaxation of OneHotCategorical on the simplex."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    _transform = ExpTransform

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)


class RelaxedBernoulli(_Relaxed):
    """A reparameterisable relaxation of Bernoulli on (0, 1)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _transform = SigmoidTransform

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = LogitRelaxedBernoulli(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)


class Weibull(TransformedDistribution):
    """scale · E^(1/concentration) for E ~ Exponential(1)."""

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive

    def __init__(self, scale, concentration, validate_args=None):
        self.scale, self.concentration = broadcast_all(scale, concentration)
        self.concentration_reciprocal = 1 / self.concentration
        base = Exponential(cnp.ones_like(self.scale), validate_args=validate_args)
        super().__init__(base, [PowerTransform(self.concentration_reciprocal), AffineTransform(0, self.scale)],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_parameters(Weibull, batch_shape, "scale", "concentration", _instance=_instance)

    @property
    def mean(self):
        return self.scale * cnp.exp(sp.gammaln(1 + self.concentration_reciprocal))

    @property
    def mode(self):
        return self.scale * ((self.concentration - 1) / self.concentration) ** self.concentration_reciprocal

    @property
    def variance(self):
        r = self.concentration_reciprocal
        return self.scale ** 2 * (cnp.exp(sp.gammaln(1 + 2 * r)) - cnp.exp(2 * sp.gammaln(1 + r)))

    def entropy(self):
        r = self.concentration_reciprocal
        return _EULER_GAMMA * (1 - r) + cnp.log(self.scale * r) + 1


class Pareto(TransformedDistribution):
    """scale · exp(E) for E ~ Exponential(alpha), on [scale, ∞)."""

    arg_constraints = {"alpha": constraints.positive, "scale": constraints.positive}

    def __init__(self, scale, alpha, validate_args=None):
        self.scale, self.alpha = broadcast_all(scale, alpha)
        base = Exponential(self.alpha, validate_args=validate_args)
        super().__init__(base, [ExpTransform(), AffineTransform(0, self.scale)], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_parameters(Pareto, batch_shape, "scale", "alpha", _instance=_instance)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.greater_than_eq(self.scale)

    @property
    def mean(self):
        finite = self.alpha > 1  # inf, not inf·0 = nan in the gradient, where alpha <= 1
        a = cnp.where(finite, self.alpha, 2.0)
        return cnp.where(finite, a * self.scale / (a - 1), np.inf)

    @property
    def mode(self):
        return self.scale

    @property
    def variance(self):
        finite = self.alpha > 2
        a = cnp.where(finite, self.alpha, 3.0)
        return cnp.where(finite, self.scale ** 2 * a / ((a - 1) ** 2 * (a - 2)), np.inf)

    def entropy(self):
        return cnp.log(self.scale / self.alpha) + (1 + 1 / self.alpha)

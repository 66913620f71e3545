"""Families that PyTorch builds from others: ``LogNormal`` (exp of a Normal draw),
``InverseGamma`` (1/x of a Gamma draw), ``Kumaraswamy`` (powers of a Uniform draw),
``LogisticNormal`` (a Normal vector broken onto the simplex), ``FisherSnedecor`` (a ratio
of Gamma draws) and ``LKJCholesky`` (Beta draws on the onion method's spheres), with
PyTorch's moments, entropy and parameters.

>>> import chainrule as cr
>>> round(InverseGamma(cr.tensor(3.0), cr.tensor(2.0)).mean.item(), 6)
1.0
"""

from __future__ import annotations

import math

import numpy as np

import chainrule.numpy as cnp
import chainrule.scipy.special as sp
from chainrule.distributions import constraints
from chainrule.distributions.continuous import Beta, Gamma, Normal, Uniform
from chainrule.distributions.distribution import Distribution, as_tensor, broadcast_all, noise
from chainrule.distributions.transforms import (
    AffineTransform,
    ExpTransform,
    PowerTransform,
    StickBreakingTransform,
    TransformedDistribution,
)

__all__ = ["FisherSnedecor", "InverseGamma", "Kumaraswamy", "LKJCholesky", "LogisticNormal", "LogNormal"]

_EULER_GAMMA = 0.5772156649015329


class LogNormal(TransformedDistribution):
    """exp of a Normal(``loc``, ``scale``) draw: ``base_dist`` that Normal, ``transforms``
    ``[ExpTransform()]``, as PyTorch's."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        base = Normal(loc, scale, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_parameters(LogNormal, batch_shape, "loc", "scale", _instance=_instance)

    loc = property(lambda self: self.base_dist.loc)
    scale = property(lambda self: self.base_dist.scale)

    @property
    def mean(self):
        return cnp.exp(self.loc + self.scale ** 2 / 2)

    @property
    def mode(self):
        return cnp.exp(self.loc - self.scale ** 2)

    @property
    def variance(self):
        s2 = self.scale ** 2
        return cnp.expm1(s2) * cnp.exp(2 * self.loc + s2)

    def log_prob(self, value):
        value = self._checked(value)
        y = cnp.log(value)
        return self.base_dist.log_prob(y) - y

    def cdf(self, value):
        return self.base_dist.cdf(cnp.log(self._checked(value)))

    def icdf(self, value):
        return cnp.exp(self.base_dist.icdf(value))

    def entropy(self):
        return self.base_dist.entropy() + self.loc


class InverseGamma(TransformedDistribution):
    """1 / x for x ~ Gamma(``concentration``, ``rate``)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        base = Gamma(concentration, rate, validate_args=validate_args)
        super().__init__(base, PowerTransform(-1.0), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_parameters(InverseGamma, batch_shape, "concentration", "rate", _instance=_instance)

    concentration = property(lambda self: self.base_dist.concentration)
    rate = property(lambda self: self.base_dist.rate)

    @property
    def mean(self):
        a = cnp.where(self.concentration > 1, self.concentration, 2.0)
        return cnp.where(self.concentration > 1, self.rate / (a - 1), np.inf)

    @property
    def mode(self):
        return self.rate / (self.concentration + 1)

    @property
    def variance(self):
        a = cnp.where(self.concentration > 2, self.concentration, 3.0)
        return cnp.where(self.concentration > 2, self.rate ** 2 / ((a - 1) ** 2 * (a - 2)), np.inf)

    def entropy(self):
        a = self.concentration
        return a + cnp.log(self.rate) + sp.gammaln(a) - (1 + a) * sp.digamma(a)


def _kumaraswamy_moment(a, b, n):
    """E[Xⁿ] of Kumaraswamy(a, b): b·B(1 + n/a, b)."""
    arg = 1 + n / a
    return b * cnp.exp(sp.gammaln(arg) + sp.gammaln(b) - sp.gammaln(arg + b))


class Kumaraswamy(TransformedDistribution):
    """(1 − (1 − u)^(1/concentration0))^(1/concentration1) for u ~ Uniform(0, 1), on (0, 1)."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        base = Uniform(cnp.zeros_like(self.concentration0), cnp.ones_like(self.concentration0),
                       validate_args=validate_args)
        super().__init__(base, [PowerTransform(1 / self.concentration0), AffineTransform(1.0, -1.0),
                                PowerTransform(1 / self.concentration1)], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_parameters(Kumaraswamy, batch_shape, "concentration1", "concentration0",
                                       _instance=_instance)

    @property
    def mean(self):
        return _kumaraswamy_moment(self.concentration1, self.concentration0, 1)

    @property
    def mode(self):
        a, b = self.concentration1, self.concentration0
        log_mode = cnp.log1p(-b) / b - cnp.log1p(-b * a)  # as PyTorch's (nan unless both are >= 1)
        return cnp.where((b < 1) | (a < 1), np.nan, cnp.exp(log_mode))

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        return _kumaraswamy_moment(a, b, 2) - self.mean ** 2

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        return (1 - 1 / b) + (1 - 1 / a) * (sp.digamma(b + 1) + _EULER_GAMMA) - cnp.log(a) - cnp.log(b)


class LogisticNormal(TransformedDistribution):
    """A Normal(``loc``, ``scale``) vector of K entries broken onto the simplex of K + 1
    (StickBreakingTransform)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        base = Normal(loc, scale, validate_args=validate_args)
        if not base.batch_shape:
            base = base.expand((1,))
        super().__init__(base, StickBreakingTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_parameters(LogisticNormal, batch_shape, "loc", "scale", _instance=_instance,
                                       event_shape=self.loc.shape[-1:])

    loc = property(lambda self: self.base_dist.base_dist.loc)
    scale = property(lambda self: self.base_dist.base_dist.scale)


class FisherSnedecor(Distribution):
    """The F distribution: (X₁/df1) / (X₂/df2) for chi-squared X₁, X₂ of ``df1``, ``df2``
    degrees of freedom (a ratio of Gamma draws, so ``rsample`` differentiates)."""

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args=None):
        self.df1, self.df2 = broadcast_all(df1, df2)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1, validate_args=False)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2, validate_args=False)
        super().__init__(self.df1.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return self._expand_parameters(FisherSnedecor, batch_shape, "df1", "df2", _instance=_instance)

    @property
    def mean(self):
        df2 = cnp.where(self.df2 > 2, self.df2, 3.0)  # nan where df2 <= 2, as PyTorch's
        return cnp.where(self.df2 > 2, df2 / (df2 - 2), np.nan)

    @property
    def mode(self):
        mode = (self.df1 - 2) / self.df1
        return cnp.where(mode > 0, mode * self.df2 / (self.df2 + 2), np.nan)

    @property
    def variance(self):
        df2 = cnp.where(self.df2 > 4, self.df2, 5.0)
        var = 2 * df2 ** 2 * (self.df1 + df2 - 2) / (self.df1 * (df2 - 2) ** 2 * (df2 - 4))
        return cnp.where(self.df2 > 4, var, np.nan)

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        tiny = float(np.finfo(self.df1.dtype).tiny)
        x1 = self._gamma1.rsample(sample_shape).reshape(shape)
        x2 = cnp.maximum(self._gamma2.rsample(sample_shape).reshape(shape), tiny)
        return cnp.maximum(x1 / x2, tiny)

    def log_prob(self, value):
        value = self._checked(value)
        ct1, ct2 = self.df1 * 0.5, self.df2 * 0.5
        ct3 = self.df1 / self.df2
        t1 = sp.gammaln(ct1 + ct2) - sp.gammaln(ct1) - sp.gammaln(ct2)
        t2 = ct1 * cnp.log(ct3) + (ct1 - 1) * cnp.log(value)
        return t1 + t2 - (ct1 + ct2) * cnp.log1p(ct3 * value)


class LKJCholesky(Distribution):
    """Cholesky factors of ``dim`` × ``dim`` correlation matrices with density ∝
    det(LLᵀ)^(concentration − 1) (the LKJ prior), drawn by the onion method as PyTorch's."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        marginal_conc = self.concentration + 0.5 * (dim - 2)
        offset = np.concatenate([[0.0], np.arange(dim - 1, dtype=np.float64)]).astype(self.concentration.dtype)
        self._beta = Beta(as_tensor(offset + 0.5), cnp.expand_dims(marginal_conc, -1) - 0.5 * as_tensor(offset),
                          validate_args=False)
        super().__init__(self.concentration.shape, (dim, dim), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return LKJCholesky(self.dim, cnp.broadcast_to(self.concentration, tuple(batch_shape)),
                           validate_args=self._validate_args)

    def sample(self, sample_shape=()):
        y = cnp.expand_dims(self._beta.sample(sample_shape), -1)
        u = cnp.tril(noise("standard_normal", self._extended_shape(sample_shape), y.dtype, like=self), -1)
        norm = cnp.sqrt(cnp.sum(u * u, axis=-1, keepdims=True))
        u = cnp.where(norm > 0, u / cnp.where(norm > 0, norm, 1.0), 0.0)  # the first row stays 0
        w = cnp.sqrt(y) * u
        diag = cnp.sqrt(cnp.maximum(1 - cnp.sum(w ** 2, axis=-1), np.finfo(w.dtype).tiny))
        return w + diag[..., None] * np.eye(self.dim, dtype=w.dtype)

    def log_prob(self, value):
        value = self._checked(value)
        diag_elems = cnp.diagonal(value, axis1=-2, axis2=-1)[..., 1:]
        order = 2 * cnp.expand_dims(self.concentration - 1, -1) + self.dim - np.arange(2, self.dim + 1)
        unnormalized = cnp.sum(order * cnp.log(diag_elems), axis=-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        mvlgamma = dm1 * (dm1 - 1) / 4 * math.log(math.pi) + sum(
            sp.gammaln(alpha - 0.5 - 0.5 * j) for j in range(dm1))
        return unnormalized - (0.5 * dm1 * math.log(math.pi) + mvlgamma - sp.gammaln(alpha) * dm1)

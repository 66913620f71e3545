"""``torch.distributions.kl``: :func:`kl_divergence` KL(p ‖ q) in closed form, for the
pairs registered with :func:`register_kl`: every pair PyTorch registers among the families
here (same-family and across families), Independent, LogNormal, and the Bregman divergence
between two members of one ``ExponentialFamily`` without a closed form of their own. A pair
without a rule raises NotImplementedError, as in PyTorch; register your own with ``@register_kl(P, Q)``.

>>> import chainrule as cr
>>> from chainrule.distributions import Normal
>>> round(kl_divergence(Normal(0.0, 1.0), Normal(1.0, 2.0)).item(), 6)
0.443147
"""

from __future__ import annotations

import math

import numpy as np

import chainrule.nn.functional as F
import chainrule.numpy as cnp
import chainrule.numpy.torch_linalg as linalg
import chainrule.scipy.special as sp
from chainrule.core.values import plain
from chainrule.distributions.continuous import Beta, Cauchy, Exponential, Gamma, Laplace, Normal, Uniform
from chainrule.distributions.continuous_bernoulli import ContinuousBernoulli
from chainrule.distributions.discrete import Bernoulli, Binomial, Categorical, OneHotCategorical, Poisson
from chainrule.distributions.distribution import Distribution, as_tensor, sum_rightmost
from chainrule.distributions.exp_family import ExponentialFamily, bregman_terms
from chainrule.distributions.families import Geometric, Gumbel, HalfNormal, Pareto
from chainrule.distributions.multivariate import (
    Dirichlet,
    Independent,
    LowRankMultivariateNormal,
    MultivariateNormal,
    batch_mahalanobis,
)
from chainrule.distributions.transformed_families import LogNormal
from chainrule.distributions.transforms import TransformedDistribution

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY: dict = {}


def register_kl(type_p, type_q):
    """Decorator registering ``fn(p, q)`` as KL(p ‖ q) for instances of these classes
    (or their subclasses; the most specific registered pair wins)."""
    if not (isinstance(type_p, type) and issubclass(type_p, Distribution)):
        raise TypeError(f"Expected type_p to be a Distribution subclass but got {type_p}")
    if not (isinstance(type_q, type) and issubclass(type_q, Distribution)):
        raise TypeError(f"Expected type_q to be a Distribution subclass but got {type_q}")

    def decorator(fn):
        _KL_REGISTRY[type_p, type_q] = fn
        return fn

    return decorator


def _dispatch(type_p, type_q):
    p_mro, q_mro = type_p.__mro__, type_q.__mro__
    matches = [(p_mro.index(p) + q_mro.index(q), p_mro.index(p), fn)
               for (p, q), fn in _KL_REGISTRY.items() if p in p_mro and q in q_mro]
    return min(matches, key=lambda m: m[:2])[2] if matches else None


def kl_divergence(p: Distribution, q: Distribution):
    """KL(p ‖ q), batched over the distributions' batch shape."""
    fn = _dispatch(type(p), type(q))
    if fn is None:
        raise NotImplementedError(
            f"No KL(p || q) is implemented for p type {type(p).__name__} and q type {type(q).__name__}")
    return fn(p, q)


def _where_inf(mask, t):
    return cnp.where(mask, np.inf, t)


@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_expfamily_expfamily(p, q):
    """The Bregman divergence of the log normalizer, for two members of one family without
    a closed form of their own (PyTorch's; it differentiates in q's parameters only)."""
    if type(p) is not type(q):
        raise NotImplementedError(
            "The cross KL-divergence between different exponential families cannot be computed using Bregman "
            "divergences")
    value, thetas, grads = bregman_terms(p._log_normalizer, p._natural_params)
    q_thetas = q._natural_params
    result = q._log_normalizer(*q_thetas) - value
    for pt, qt, g in zip(thetas, q_thetas, grads, strict=True):
        result = result - sum_rightmost((qt - pt) * g, len(q.event_shape))
    return result


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - cnp.log(var_ratio))


@register_kl(LogNormal, LogNormal)
def _kl_lognormal_lognormal(p, q):
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    t1 = p.probs * (F.softplus(-q.logits) - F.softplus(-p.logits))
    t1 = cnp.where(p.probs == 0, 0.0, _where_inf(q.probs == 0, t1))
    t2 = (1 - p.probs) * (F.softplus(q.logits) - F.softplus(p.logits))
    t2 = cnp.where(p.probs == 1, 0.0, _where_inf(q.probs == 1, t2))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    shape = t.shape
    t = _where_inf(cnp.broadcast_to(q.probs == 0, shape), t)
    return cnp.where(cnp.broadcast_to(p.probs == 0, shape), 0.0, t).sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    result = cnp.log((q.high - q.low) / (p.high - p.low))
    return _where_inf((q.low > p.low) | (q.high < p.high), result)


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    scale_ratio = p.scale / q.scale
    loc_abs_diff = cnp.abs(p.loc - q.loc)
    return -cnp.log(scale_ratio) + loc_abs_diff / q.scale + scale_ratio * cnp.exp(-loc_abs_diff / p.scale) - 1


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    rate_ratio = q.rate / p.rate
    return -cnp.log(rate_ratio) + rate_ratio - 1


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    t1 = q.concentration * cnp.log(p.rate / q.rate)
    t2 = sp.gammaln(q.concentration) - sp.gammaln(p.concentration)
    t3 = (p.concentration - q.concentration) * sp.digamma(p.concentration)
    t4 = (q.rate - p.rate) * (p.concentration / p.rate)
    return t1 + t2 + t3 + t4


def _kl_dirichlet(pc, qc):
    sum_p, sum_q = pc.sum(-1), qc.sum(-1)
    t1 = sp.gammaln(sum_p) - sp.gammaln(sum_q)
    t2 = (sp.gammaln(pc) - sp.gammaln(qc)).sum(-1)
    t4 = sp.digamma(pc) - sp.digamma(sum_p)[..., None]
    return t1 - t2 + ((pc - qc) * t4).sum(-1)


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    return _kl_dirichlet(p.concentration, q.concentration)


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    pc = cnp.stack([p.concentration1, p.concentration0], -1)
    qc = cnp.stack([q.concentration1, q.concentration0], -1)
    return _kl_dirichlet(pc, qc)


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    return p.rate * (cnp.log(p.rate) - cnp.log(q.rate)) - (p.rate - q.rate)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    if bool(np.any(np.asarray(plain(p.total_count < q.total_count)))):
        raise NotImplementedError("KL between Binomials where q.total_count > p.total_count is not implemented")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + cnp.log1p(-p.probs) - cnp.log1p(-q.probs))
    return _where_inf(p.total_count > q.total_count, kl)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    t1 = cnp.log((p.scale + q.scale) ** 2 + (p.loc - q.loc) ** 2)
    return t1 - cnp.log(4 * p.scale * q.scale)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event shapes cannot be "
                         "computed")
    Lp, Lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    diag = lambda m: cnp.diagonal(m, axis1=-2, axis2=-1)  # noqa: E731
    half_term1 = cnp.log(diag(Lq)).sum(-1) - cnp.log(diag(Lp)).sum(-1)
    shape = np.broadcast_shapes(Lq.shape, Lp.shape)
    ratio = linalg.solve_triangular(cnp.broadcast_to(Lq, shape), cnp.broadcast_to(Lp, shape), upper=False)
    term2 = (ratio ** 2).sum((-2, -1))
    term3 = batch_mahalanobis(Lq, q.loc - p.loc)
    return half_term1 + 0.5 * (term2 + term3 - p.event_shape[0])


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


# -- PyTorch's pairs across families ---------------------------------------------------------

_EULER_GAMMA = 0.57721566490153286060


def _infinite_like(t):
    return as_tensor(np.full(t.shape, np.inf, dtype=t.dtype))


def _x_log_x(t):
    return sp.xlogy(t, t)  # 0 at t = 0, where t·log t is 0·(-inf)


@register_kl(Exponential, Beta)
@register_kl(Exponential, ContinuousBernoulli)
@register_kl(Exponential, Uniform)
def _kl_exponential_infinity(p, q):
    return _infinite_like(p.rate)


@register_kl(Gamma, Beta)
@register_kl(Gamma, ContinuousBernoulli)
@register_kl(Gamma, Uniform)
def _kl_gamma_infinity(p, q):
    return _infinite_like(p.concentration)


@register_kl(Laplace, Beta)
@register_kl(Laplace, ContinuousBernoulli)
@register_kl(Laplace, Exponential)
@register_kl(Laplace, Gamma)
@register_kl(Laplace, Uniform)
def _kl_laplace_infinity(p, q):
    return _infinite_like(p.loc)


@register_kl(Normal, Beta)
@register_kl(Normal, ContinuousBernoulli)
@register_kl(Normal, Exponential)
@register_kl(Normal, Gamma)
@register_kl(Normal, Uniform)
def _kl_normal_infinity(p, q):
    return _infinite_like(p.loc)


@register_kl(Poisson, Bernoulli)
@register_kl(Poisson, Binomial)
def _kl_poisson_infinity(p, q):
    return _infinite_like(p.rate)


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    return -p.entropy() - (p.probs * cnp.log(q.rate) - q.rate)


def _beta_mean(p):
    return p.concentration1 / (p.concentration1 + p.concentration0)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    return -p.entropy() - cnp.log(q.rate) + q.rate * _beta_mean(p)


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    t2 = sp.gammaln(q.concentration) - q.concentration * cnp.log(q.rate)
    t3 = (q.concentration - 1) * (sp.digamma(p.concentration1) - sp.digamma(p.concentration1 + p.concentration0))
    return -p.entropy() + t2 - t3 + q.rate * _beta_mean(p)


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    e = _beta_mean(p)
    var_normal = q.scale ** 2
    t2 = 0.5 * cnp.log(var_normal * 2 * np.pi)
    t3 = (e * (1 - e) / (p.concentration1 + p.concentration0 + 1) + e ** 2) * 0.5
    return -p.entropy() + t2 + (t3 - q.loc * e + q.loc ** 2 * 0.5) / var_normal


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    result = -p.entropy() + cnp.log(q.high - q.low)
    return _where_inf((q.low > 0.0) | (q.high < 1.0), result)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    ratio = q.rate / p.rate
    return (-q.concentration * cnp.log(ratio) + ratio + sp.gammaln(q.concentration)
            + q.concentration * _EULER_GAMMA - (1 + _EULER_GAMMA))


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    var_normal, rate_sqr = q.scale ** 2, p.rate ** 2
    t1 = 0.5 * cnp.log(rate_sqr * var_normal * 2 * np.pi)
    return t1 - 1 + (1 / rate_sqr - q.loc / p.rate + q.loc ** 2 * 0.5) / var_normal


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return -p.entropy() - cnp.log(q.rate) + q.rate * p.concentration / p.rate


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    var_normal, beta_sqr, c = q.scale ** 2, p.rate ** 2, p.concentration
    t1 = 0.5 * cnp.log(beta_sqr * var_normal * 2 * np.pi) - c - sp.gammaln(c)
    t2 = 0.5 * (c ** 2 + c) / beta_sqr
    t3 = q.loc * c / p.rate
    return t1 + (c - 1) * sp.digamma(c) + (t2 - t3 + 0.5 * q.loc ** 2) / var_normal


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    var_normal = q.scale ** 2
    ratio = p.scale ** 2 / var_normal
    t1 = 0.5 * cnp.log(2 * ratio / np.pi)
    return -t1 + ratio + (0.5 * p.loc ** 2 - p.loc * q.loc + 0.5 * q.loc ** 2) / var_normal - 1


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    loc_diff = p.loc - q.loc
    scaled = loc_diff / p.scale
    t2 = np.sqrt(2 / np.pi) * p.scale * cnp.exp(-0.5 * scaled ** 2)
    t3 = loc_diff * sp.erf(np.sqrt(0.5) * scaled)
    return -cnp.log(p.scale / q.scale) + (t2 + t3) / q.scale - 0.5 * (1 + np.log(0.5 * np.pi))


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    width = p.high - p.low
    t2 = (q.concentration1 - 1) * (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    t3 = (q.concentration0 - 1) * (_x_log_x(1 - p.high) - _x_log_x(1 - p.low) + width) / width
    t4 = sp.gammaln(q.concentration1) + sp.gammaln(q.concentration0) - sp.gammaln(q.concentration1 + q.concentration0)
    return _where_inf((p.high > 1.0) | (p.low < 0.0), t3 + t4 - cnp.log(width) - t2)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    result = q.rate * (p.high + p.low) / 2 - cnp.log((p.high - p.low) * q.rate)
    return _where_inf(p.low < 0.0, result)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    width = p.high - p.low
    t2 = sp.gammaln(q.concentration) - q.concentration * cnp.log(q.rate)
    t3 = (1 - q.concentration) * (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    return _where_inf(p.low < 0.0, -cnp.log(width) + t2 + t3 + q.rate * (p.high + p.low) / 2)


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    width = p.high - p.low
    t1 = cnp.log(np.sqrt(np.pi * 2) * q.scale / width)
    return t1 + 0.5 * (width ** 2 / 12 + ((p.high + p.low - 2 * q.loc) / 2) ** 2) / q.scale ** 2


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p, q):
    if p.transforms != q.transforms or p.event_shape != q.event_shape:
        raise NotImplementedError
    return kl_divergence(p.base_dist, q.base_dist)


# -- the families of chainrule.distributions.families ---------------------------------------------

@register_kl(Beta, Pareto)
@register_kl(ContinuousBernoulli, Pareto)
@register_kl(Exponential, Pareto)
@register_kl(Gamma, Pareto)
@register_kl(Laplace, Pareto)
@register_kl(Normal, Pareto)
def _kl_to_pareto_infinity(p, q):
    return _infinite_like(p.mean)


@register_kl(Gumbel, Uniform)
@register_kl(Gumbel, Pareto)
@register_kl(Gumbel, Gamma)
@register_kl(Gumbel, Exponential)
@register_kl(Gumbel, Beta)
@register_kl(Gumbel, ContinuousBernoulli)
def _kl_gumbel_infinity(p, q):
    return _infinite_like(p.loc)


@register_kl(Pareto, Uniform)
@register_kl(Pareto, Beta)
@register_kl(Pareto, ContinuousBernoulli)
def _kl_pareto_infinity(p, q):
    return _infinite_like(p.scale)


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    ct1, ct2, ct3 = p.scale / q.scale, q.loc / q.scale, p.loc / q.scale
    t3 = cnp.exp(ct2 + sp.gammaln(1 + ct1) - ct3)
    return -cnp.log(ct1) - ct2 + ct3 + ct1 * _EULER_GAMMA + t3 - (1 + _EULER_GAMMA)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    return -p.entropy() - cnp.log1p(-q.probs) / p.probs - q.logits


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    alpha_ratio = q.alpha / p.alpha
    result = q.alpha * cnp.log(p.scale / q.scale) - cnp.log(alpha_ratio) + alpha_ratio - 1
    return _where_inf(p.scale < q.scale, result)


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p, q):
    prod = p.rate * q.scale
    ratio = q.loc / q.scale
    return cnp.log(prod) - 1 - ratio + cnp.exp(ratio) * prod / (prod + 1) + 1 / prod


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p, q):
    c, prod, ratio = p.concentration, p.rate * q.scale, q.loc / q.scale
    t1 = (c - 1) * sp.digamma(c) - sp.gammaln(c) - c
    t2 = cnp.log(prod) + c / prod
    t3 = cnp.exp(ratio) * (1 + 1 / prod) ** -c - ratio
    return t1 + t2 + t3


@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p, q):
    ratio = p.scale / q.scale
    t1 = cnp.log(ratio / np.sqrt(2 * np.pi))
    t2 = (np.pi * ratio * 0.5) ** 2 / 3
    t3 = ((p.loc + p.scale * _EULER_GAMMA - q.loc) / q.scale) ** 2 * 0.5
    return -t1 + t2 + t3 - (_EULER_GAMMA + 1)


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p, q):
    mean_ratio, var_ratio, loc_ratio = p.loc / q.scale, (p.scale / q.scale) ** 2, q.loc / q.scale
    t3 = cnp.exp(-mean_ratio + 0.5 * var_ratio + loc_ratio)
    return -0.5 * cnp.log(var_ratio) + mean_ratio - loc_ratio + t3 - 0.5 * (1 + np.log(2 * np.pi))


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p, q):
    prod = p.scale * q.rate
    result = cnp.log(p.alpha / prod) - 1 / p.alpha + p.alpha * prod / (p.alpha - 1) - 1
    return _where_inf(p.alpha <= 1, result)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p, q):
    common = cnp.log(p.scale) + 1 / p.alpha
    t2 = sp.gammaln(q.concentration) - q.concentration * cnp.log(q.rate)
    t4 = q.rate * p.alpha * p.scale / (p.alpha - 1)
    result = cnp.log(p.alpha) - common + t2 + (1 - q.concentration) * common + t4 - 1
    return _where_inf(p.alpha <= 1, result)


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p, q):
    var_normal, common = 2 * q.scale ** 2, p.scale / (p.alpha - 1)
    t1 = cnp.log(np.sqrt(2 * np.pi) * q.scale * p.alpha / p.scale)
    t3 = p.alpha * common ** 2 / (p.alpha - 2)
    t4 = (p.alpha * common - q.loc) ** 2
    return _where_inf(p.alpha <= 2, t1 - 1 / p.alpha + (t3 + t4) / var_normal - 1)


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p, q):
    common = q.scale / (p.high - p.low)
    high, low = (p.high - q.loc) / q.scale, (p.low - q.loc) / q.scale
    return cnp.log(common) + 0.5 * (high + low) - common * (cnp.exp(-high) - cnp.exp(-low))


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p, q):
    width = p.high - p.low
    t1 = cnp.log(q.alpha * q.scale ** q.alpha * width)
    t2 = (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    return _where_inf(p.low < q.scale, t2 * (q.alpha + 1) - t1)


def _scale_tril(d):
    return d._unbroadcasted_scale_tril if isinstance(d, MultivariateNormal) else cnp.linalg.cholesky(
        d.covariance_matrix)


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
@register_kl(MultivariateNormal, LowRankMultivariateNormal)
@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrank_gaussians(p, q):
    """KL of two Gaussians through the Cholesky factors of their covariances (PyTorch
    works with the low-rank factors; the value is the same)."""
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two (Low Rank) Multivariate Normals with different event shapes "
                         "cannot be computed")
    Lp, Lq = _scale_tril(p), _scale_tril(q)
    half_term1 = cnp.log(cnp.diagonal(Lq, axis1=-2, axis2=-1)).sum(-1) - cnp.log(
        cnp.diagonal(Lp, axis1=-2, axis2=-1)).sum(-1)
    shape = np.broadcast_shapes(Lq.shape, Lp.shape)
    ratio = linalg.solve_triangular(cnp.broadcast_to(Lq, shape), cnp.broadcast_to(Lp, shape), upper=False)
    term3 = batch_mahalanobis(Lq, q.loc - p.loc)
    return half_term1 + 0.5 * ((ratio ** 2).sum((-2, -1)) + term3 - p.event_shape[0])


# -- ContinuousBernoulli ---------------------------------------------------------------------------

@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_continuous_bernoulli_continuous_bernoulli(p, q):
    t1 = p.mean * (p.logits - q.logits)
    t2 = p._cont_bern_log_norm() + cnp.log1p(-p.probs)
    t3 = -q._cont_bern_log_norm() - cnp.log1p(-q.probs)
    return t1 + t2 + t3


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_continuous_bernoulli(p, q):
    return -p.entropy() - p.mean * q.logits - cnp.log1p(-q.probs) - q._cont_bern_log_norm()


@register_kl(ContinuousBernoulli, Exponential)
def _kl_continuous_bernoulli_exponential(p, q):
    return -p.entropy() - cnp.log(q.rate) + q.rate * p.mean


@register_kl(ContinuousBernoulli, Normal)
def _kl_continuous_bernoulli_normal(p, q):
    t1 = -p.entropy()
    t2 = 0.5 * (math.log(2.0 * math.pi) + (q.loc / q.scale) ** 2) + cnp.log(q.scale)
    t3 = (p.variance + p.mean ** 2 - 2.0 * q.loc * p.mean) / (2.0 * q.scale ** 2)
    return t1 + t2 + t3


@register_kl(ContinuousBernoulli, Uniform)
def _kl_continuous_bernoulli_uniform(p, q):
    result = -p.entropy() + cnp.log(q.high - q.low)
    return _where_inf((q.low >= 0.0) | (q.high <= 1.0), result)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_continuous_bernoulli(p, q):
    result = -p.entropy() - p.mean * q.logits - cnp.log1p(-q.probs) - q._cont_bern_log_norm()
    return _where_inf((p.high >= 1.0) | (p.low <= 0.0), result)

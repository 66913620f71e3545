"""``torch.distributions.kl``: :func:`kl_divergence` KL(p ‖ q) in closed form, for the
pairs registered with :func:`register_kl` (PyTorch's same-family pairs among the families
here, Independent, and LogNormal). A pair without a rule raises NotImplementedError, as
in PyTorch; register your own with ``@register_kl(P, Q)``.

>>> import chainrule as cr
>>> from chainrule.distributions import Normal
>>> round(kl_divergence(Normal(0.0, 1.0), Normal(1.0, 2.0)).item(), 6)
0.443147
"""

from __future__ import annotations

import numpy as np

import chainrule.nn.functional as F
import chainrule.numpy as cnp
import chainrule.numpy.torch_linalg as linalg
import chainrule.scipy.special as sp
from chainrule.core.values import plain
from chainrule.distributions.continuous import Beta, Cauchy, Exponential, Gamma, Laplace, LogNormal, Normal, Uniform
from chainrule.distributions.discrete import Bernoulli, Binomial, Categorical, OneHotCategorical, Poisson
from chainrule.distributions.distribution import Distribution, sum_rightmost
from chainrule.distributions.multivariate import Dirichlet, Independent, MultivariateNormal, batch_mahalanobis

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
    if bool(np.any(np.asarray(plain((p.total_count < q.total_count).detach())))):
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

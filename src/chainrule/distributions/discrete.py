"""The discrete families of ``torch.distributions``: Categorical, OneHotCategorical,
Bernoulli, Binomial and Poisson. ``log_prob`` and ``entropy`` differentiate in ``probs``
or ``logits`` (whichever was given; the other is derived as PyTorch derives it, clamping
probabilities to [eps, 1 - eps] before the log). Draws have no gradient.

>>> import chainrule as cr
>>> m = Categorical(probs=cr.tensor([0.25, 0.75]))
>>> round(m.log_prob(cr.tensor(1)).item(), 4), round(m.entropy().item(), 4)
(-0.2877, 0.5623)
"""

from __future__ import annotations

import numpy as np

import chainrule.nn.functional as F
import chainrule.numpy as cnp
import chainrule.scipy.special as sp
from chainrule.core.eager import EAGER
from chainrule.core.tensor import Tensor
from chainrule.core.values import plain
from chainrule.distributions import constraints
from chainrule.distributions.distribution import SAMPLERS, Distribution, as_tensor, broadcast_all, lazy_property, noise
from chainrule.distributions.exp_family import ExponentialFamily
from chainrule.distributions.utils import probs_to_logits

__all__ = ["Categorical", "OneHotCategorical", "OneHotCategoricalStraightThrough", "Bernoulli", "Binomial", "Poisson"]


def _one_of(name, probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


def _nan(like):
    return as_tensor(np.full(like.shape, np.nan, dtype=like.dtype))


class Categorical(Distribution):
    """Categories 0..K-1 with probabilities ``probs`` (normalised along the last axis) or
    ``logits`` (unnormalised log-probabilities)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of("Categorical", probs, logits)
        if probs is not None:
            probs = as_tensor(probs)
            if probs.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdims=True)
        else:
            logits = as_tensor(logits)
            if logits.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - sp.logsumexp(logits, axis=-1, keepdims=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        super().__init__(self._param.shape[:-1], validate_args=validate_args)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return F.softmax(self.logits, dim=-1)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def param_shape(self):
        return self._param.size()

    @property
    def mean(self):
        return _nan(self.probs[..., 0])

    @property
    def mode(self):
        idx = cnp.argmax(self.probs, -1)
        return idx if isinstance(idx, Tensor) else Tensor(idx, EAGER)

    @property
    def variance(self):
        return _nan(self.probs[..., 0])

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)
        new._param = new.__dict__.get("probs", new.__dict__.get("logits"))
        return new

    def sample(self, sample_shape=()):
        p, shape = self.probs, tuple(self._extended_shape(sample_shape))
        u = noise("random", shape + (1,), np.float64, like=self)
        cdf = cnp.cumsum(cnp.broadcast_to(cnp.astype(p, np.float64), shape + p.shape[-1:]), axis=-1)
        idx = cnp.astype(cnp.minimum((u * cdf[..., -1:] >= cdf).sum(-1), p.shape[-1] - 1), np.int64)
        return idx if isinstance(idx, Tensor) else Tensor(idx, EAGER)

    def log_prob(self, value):
        value = self._checked(value)
        # the index stays a traced value (not a NumPy copy), so vmap can batch it
        idx = cnp.expand_dims(cnp.astype(value, np.int64), -1)
        shape = np.broadcast_shapes(idx.shape, self.logits.shape)
        logits = cnp.broadcast_to(self.logits, shape)
        return cnp.take_along_axis(logits, cnp.broadcast_to(idx, shape[:-1] + (1,)), axis=-1)[..., 0]

    def entropy(self):
        logits = cnp.clip(self.logits, float(np.finfo(self.logits.dtype).min), None)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        n = self._num_events
        values = Tensor(np.arange(n, dtype=np.int64).reshape((n,) + (1,) * len(self.batch_shape)), EAGER)
        return cnp.broadcast_to(values, (n,) + tuple(self.batch_shape)) if expand else values


class OneHotCategorical(Distribution):
    """A Categorical whose draws are one-hot vectors (event_shape ``(K,)``)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self.__new__(type(self))
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

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
        return self.probs

    @property
    def mode(self):
        return F.one_hot(self._categorical.mode, self.event_shape[0]).astype(self.probs.dtype)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        idx = self._categorical.sample(sample_shape)
        return F.one_hot(idx, self.event_shape[0]).astype(self.probs.dtype)

    def log_prob(self, value):
        value = self._checked(value)
        return self._categorical.log_prob(cnp.argmax(value, -1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        n = self.event_shape[0]
        values = Tensor(np.eye(n, dtype=self.probs.dtype).reshape((n,) + (1,) * len(self.batch_shape) + (n,)), EAGER)
        return cnp.broadcast_to(values, (n,) + tuple(self.batch_shape) + (n,)) if expand else values


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """A OneHotCategorical whose ``rsample`` is the straight-through estimator, as
    DreamerV2's discrete latents draw: the one-hot draw in value, the gradient that of
    ``probs``."""

    has_rsample = True

    def rsample(self, sample_shape=()):
        probs = self.probs
        return self.sample(sample_shape) + (probs - probs.detach())


class Bernoulli(ExponentialFamily):
    """1 with probability ``probs`` (or sigmoid(``logits``)), else 0."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of("Bernoulli", probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.shape, validate_args=validate_args)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return F.sigmoid(self.logits)

    @property
    def param_shape(self):
        return self._param.size()

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        mode = (self.probs >= 0.5).astype(self.probs.dtype)
        return cnp.where(self.probs == 0.5, np.nan, mode)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        u = noise("random", self._extended_shape(sample_shape), np.float64, like=self)
        return cnp.astype(u < self.probs, self.probs.dtype)

    def log_prob(self, value):
        value = self._checked(value)
        logits, value = broadcast_all(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand=True):
        values = Tensor(np.arange(2, dtype=self._param.dtype).reshape((2,) + (1,) * len(self.batch_shape)), EAGER)
        return cnp.broadcast_to(values, (2,) + tuple(self.batch_shape)) if expand else values

    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return (sp.logit(self.probs),)

    def _log_normalizer(self, x):
        return cnp.log1p(cnp.exp(x))


def _clamp_by_zero(x):
    return (cnp.clip(x, 0, None) + x - cnp.clip(x, None, 0)) / 2


def _binomial(generator, total_count, probs, size):
    """Binomial draws of counts given as floats (NumPy's take integers)."""
    return generator.binomial(np.asarray(total_count).astype(np.int64), probs, size=size)


SAMPLERS["binomial"] = _binomial


class Binomial(Distribution):
    """The number of successes in ``total_count`` trials of probability ``probs``."""

    arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        _one_of("Binomial", probs, logits)
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.astype(self.probs.dtype)
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.astype(self.logits.dtype)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.shape, validate_args=validate_args)

    logits = Bernoulli.logits
    probs = Bernoulli.probs
    param_shape = Bernoulli.param_shape

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return as_tensor(cnp.minimum(cnp.floor((self.total_count + 1) * self.probs), self.total_count))

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        return noise("binomial", self._extended_shape(sample_shape), self._param.dtype, self.total_count, self.probs)

    def log_prob(self, value):
        value = self._checked(value)
        n, logits = self.total_count, self.logits
        normalize = n * _clamp_by_zero(logits) + n * cnp.log1p(cnp.exp(-cnp.abs(logits))) - sp.gammaln(n + 1)
        return value * logits - sp.gammaln(value + 1) - sp.gammaln(n - value + 1) - normalize

    def entropy(self):
        counts = np.asarray(plain(self.total_count))
        total = int(counts.max())
        if not counts.min() == total:
            raise NotImplementedError("Inhomogeneous total count not supported by `entropy`.")
        lp = self.log_prob(self.enumerate_support(False))
        return -(cnp.exp(lp) * lp).sum(0)

    def enumerate_support(self, expand=True):
        counts = np.asarray(plain(self.total_count))
        total = int(counts.max())
        if not counts.min() == total:
            raise NotImplementedError("Inhomogeneous total count not supported by `enumerate_support`.")
        values = np.arange(1 + total, dtype=self._param.dtype).reshape((-1,) + (1,) * len(self.batch_shape))
        values = Tensor(values, EAGER)
        return cnp.broadcast_to(values, (1 + total,) + tuple(self.batch_shape)) if expand else values


class Poisson(ExponentialFamily):
    """Counts with mean ``rate``."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return as_tensor(cnp.floor(self.rate))

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        return noise("poisson", self._extended_shape(sample_shape), self.rate.dtype, self.rate)

    def log_prob(self, value):
        value = self._checked(value)
        if not np.issubdtype(value.dtype, np.floating):  # integer counts: the rate's dtype, as PyTorch promotes
            value = value.astype(self.rate.dtype)
        rate, value = broadcast_all(self.rate, value)
        return sp.xlogy(value, rate) - rate - sp.gammaln(value + 1)

    @property
    def _natural_params(self):
        return (cnp.log(self.rate),)

    def _log_normalizer(self, x):
        return cnp.exp(x)

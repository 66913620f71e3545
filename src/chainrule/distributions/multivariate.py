"""The multivariate families of ``torch.distributions`` (MultivariateNormal,
LowRankMultivariateNormal, Dirichlet)
and ``Independent``, which turns batch dimensions into event dimensions (a diagonal
Gaussian posterior: ``Independent(Normal(mu, std), 1)``).

>>> import chainrule as cr
>>> m = MultivariateNormal(cr.zeros(2), scale_tril=cr.eye(2))
>>> m.event_shape, round(m.log_prob(cr.zeros(2)).item(), 6)
(torch.Size([2]), -1.837877)
"""

from __future__ import annotations

import math

import numpy as np

import chainrule.numpy as cnp
import chainrule.numpy.torch_linalg as linalg
import chainrule.scipy.special as sp
from chainrule.distributions import constraints
from chainrule.distributions.continuous import dirichlet_mode, dirichlet_rsample
from chainrule.distributions.distribution import Distribution, as_tensor, lazy_property, noise, sum_rightmost
from chainrule.distributions.exp_family import ExponentialFamily

__all__ = ["MultivariateNormal", "LowRankMultivariateNormal", "Dirichlet", "Independent"]


def _diag(m):
    return cnp.diagonal(m, axis1=-2, axis2=-1)


def batch_mahalanobis(L, x):
    """xᵀ (L Lᵀ)⁻¹ x for lower-triangular L, batched."""
    shape = np.broadcast_shapes(L.shape[:-1], x.shape)
    L = cnp.broadcast_to(L, shape + L.shape[-1:])
    y = linalg.solve_triangular(L, cnp.broadcast_to(x, shape)[..., None], upper=False)[..., 0]
    return (y ** 2).sum(-1)


def lower_cholesky_factor(given, scale_tril, covariance_matrix):
    """The lower Cholesky factor of the covariance from the one matrix a distribution was
    given (``given``): the factor itself, the covariance's, or the precision's inverse's."""
    if scale_tril is not None:
        return given
    if covariance_matrix is not None:
        return cnp.linalg.cholesky(given)
    return cnp.linalg.cholesky(cnp.linalg.inv(given))


def keep_given_matrix(dist, matrix, scale_tril, covariance_matrix) -> None:
    """Keep ``matrix`` on ``dist`` under the name of the one it was given (``scale_tril``,
    ``covariance_matrix`` or ``precision_matrix``); the other two are computed when read."""
    if scale_tril is not None:
        dist.scale_tril = matrix
    elif covariance_matrix is not None:
        dist.covariance_matrix = matrix
    else:
        dist.precision_matrix = matrix


class MultivariateNormal(Distribution):
    """A Gaussian of mean ``loc`` and covariance given by exactly one of
    ``covariance_matrix``, ``precision_matrix`` or ``scale_tril`` (its lower Cholesky factor)."""

    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True
    _unexpanded = ("_unbroadcasted_scale_tril",)

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        loc = as_tensor(loc)
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        given = next(m for m in (scale_tril, covariance_matrix, precision_matrix) if m is not None)
        given = as_tensor(given, loc.dtype)
        if given.ndim < 2:
            raise ValueError("scale_tril, covariance_matrix or precision_matrix must be at least two-dimensional, "
                             "with optional leading batch dimensions")
        batch_shape = np.broadcast_shapes(given.shape[:-2], loc.shape[:-1])
        matrix = cnp.broadcast_to(given, batch_shape + given.shape[-2:])
        keep_given_matrix(self, matrix, scale_tril, covariance_matrix)
        self.loc = cnp.broadcast_to(loc, batch_shape + loc.shape[-1:])
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        self._unbroadcasted_scale_tril = lower_cholesky_factor(given, scale_tril, covariance_matrix)

    @lazy_property
    def scale_tril(self):
        return cnp.broadcast_to(self._unbroadcasted_scale_tril, self._batch_shape + self._event_shape * 2)

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return cnp.broadcast_to(L @ cnp.swapaxes(L, -1, -2), self._batch_shape + self._event_shape * 2)

    @lazy_property
    def precision_matrix(self):
        return cnp.broadcast_to(cnp.linalg.inv(self.covariance_matrix), self._batch_shape + self._event_shape * 2)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return cnp.broadcast_to((self._unbroadcasted_scale_tril ** 2).sum(-1), self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=()):
        eps = noise("standard_normal", self._extended_shape(sample_shape), self.loc.dtype, like=self)
        return self.loc + (self._unbroadcasted_scale_tril @ eps[..., None])[..., 0]

    def log_prob(self, value):
        value = self._checked(value)
        L = self._unbroadcasted_scale_tril
        m = batch_mahalanobis(L, value - self.loc)
        half_log_det = cnp.log(_diag(L)).sum(-1)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + m) - half_log_det

    def entropy(self):
        half_log_det = cnp.log(_diag(self._unbroadcasted_scale_tril)).sum(-1)
        h = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        return cnp.broadcast_to(h, self._batch_shape)


class Dirichlet(ExponentialFamily):
    """A distribution on the simplex of ``concentration`` (last axis: the categories);
    rsample normalises Gamma draws and differentiates as PyTorch's (:func:`dirichlet_rsample`)."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    has_rsample = True
    support = constraints.simplex

    def __init__(self, concentration, validate_args=None):
        concentration = as_tensor(concentration)
        if concentration.ndim < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdims=True)

    @property
    def mode(self):
        return dirichlet_mode(self.concentration)

    @property
    def variance(self):
        c0 = self.concentration.sum(-1, keepdims=True)
        return self.concentration * (c0 - self.concentration) / (c0 ** 2 * (c0 + 1))

    def rsample(self, sample_shape=()):
        return dirichlet_rsample(self.concentration, self._extended_shape(sample_shape))

    def log_prob(self, value):
        value = self._checked(value)
        c = self.concentration
        return sp.xlogy(c - 1.0, value).sum(-1) + sp.gammaln(c.sum(-1)) - sp.gammaln(c).sum(-1)

    def entropy(self):
        c = self.concentration
        k, a0 = c.shape[-1], c.sum(-1)
        return (sp.gammaln(c).sum(-1) - sp.gammaln(a0) - (k - a0) * sp.digamma(a0)
                - ((c - 1.0) * sp.digamma(c)).sum(-1))

    @property
    def _natural_params(self):
        return (self.concentration,)

    def _log_normalizer(self, x):
        return sp.gammaln(x).sum(-1) - sp.gammaln(x.sum(-1))


class Independent(Distribution):
    """``base_distribution`` with its rightmost ``reinterpreted_batch_ndims`` batch
    dimensions read as event dimensions: log_prob and entropy sum over them."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        n = int(reinterpreted_batch_ndims)
        if n > len(base_distribution.batch_shape):
            raise ValueError("Expected reinterpreted_batch_ndims <= len(base_distribution.batch_shape), "
                             f"actual {n} vs {len(base_distribution.batch_shape)}")
        shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        event_dim = n + len(base_distribution.event_shape)
        self.base_dist, self.reinterpreted_batch_ndims = base_distribution, n
        super().__init__(shape[:len(shape) - event_dim], shape[len(shape) - event_dim:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self.__new__(type(self))
        n = self.reinterpreted_batch_ndims
        new.base_dist = self.base_dist.expand(tuple(batch_shape) + tuple(self.event_shape[:n]))
        new.reinterpreted_batch_ndims = n
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self):
        return False if self.reinterpreted_batch_ndims else self.base_dist.has_enumerate_support

    @constraints.dependent_property
    def support(self):
        s = self.base_dist.support
        return constraints.independent(s, self.reinterpreted_batch_ndims) if self.reinterpreted_batch_ndims else s

    @property
    def mean(self):
        return self.base_dist.mean

    @property
    def mode(self):
        return self.base_dist.mode

    @property
    def variance(self):
        return self.base_dist.variance

    def sample(self, sample_shape=()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value):
        return sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self):
        return sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def __repr__(self):
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"


def _capacitance_tril(W, D):
    """The Cholesky factor of I + Wᵀ D⁻¹ W."""
    m = W.shape[-1]
    K = (cnp.swapaxes(W, -1, -2) / D[..., None, :]) @ W
    return cnp.linalg.cholesky(K + np.eye(m, dtype=K.dtype))


class LowRankMultivariateNormal(Distribution):
    """A Gaussian of mean ``loc`` and covariance ``cov_factor cov_factorᵀ + diag(cov_diag)``."""

    arg_constraints = {"loc": constraints.real_vector, "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True
    _unexpanded = ("_unbroadcasted_cov_factor", "_unbroadcasted_cov_diag", "_capacitance_tril")

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        loc, cov_factor, cov_diag = as_tensor(loc), as_tensor(cov_factor), as_tensor(cov_diag)
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if cov_factor.ndim < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional leading batch dimensions")
        if cov_factor.shape[-2:-1] != loc.shape[-1:]:
            raise ValueError(f"cov_factor must be a batch of matrices with shape {loc.shape[-1]} x m")
        if cov_diag.shape[-1:] != loc.shape[-1:]:
            raise ValueError(f"cov_diag must be a batch of vectors with shape {loc.shape[-1:]}")
        shape = np.broadcast_shapes(loc.shape[:-1], cov_factor.shape[:-2], cov_diag.shape[:-1])
        n = loc.shape[-1]
        self.loc = cnp.broadcast_to(loc, shape + (n,))
        self.cov_factor = cnp.broadcast_to(cov_factor, shape + cov_factor.shape[-2:])
        self.cov_diag = cnp.broadcast_to(cov_diag, shape + (n,))
        self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag = cov_factor, cov_diag
        self._capacitance_tril = _capacitance_tril(cov_factor, cov_diag)
        super().__init__(shape, (n,), validate_args=validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        v = (self._unbroadcasted_cov_factor ** 2).sum(-1) + self._unbroadcasted_cov_diag
        return cnp.broadcast_to(v, self._batch_shape + self._event_shape)

    @property
    def covariance_matrix(self):
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        cov = W @ cnp.swapaxes(W, -1, -2) + D[..., None] * np.eye(D.shape[-1], dtype=D.dtype)
        return cnp.broadcast_to(cov, self._batch_shape + self._event_shape * 2)

    @property
    def scale_tril(self):
        return cnp.linalg.cholesky(self.covariance_matrix)

    @property
    def precision_matrix(self):
        return cnp.linalg.inv(self.covariance_matrix)

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        eps_w = noise("standard_normal", shape[:-1] + (W.shape[-1],), self.loc.dtype, like=self)
        eps_d = noise("standard_normal", shape, self.loc.dtype, like=self)
        return self.loc + (W @ eps_w[..., None])[..., 0] + cnp.sqrt(D) * eps_d

    def _log_det(self):
        return 2 * cnp.log(_diag(self._capacitance_tril)).sum(-1) + cnp.log(self._unbroadcasted_cov_diag).sum(-1)

    def log_prob(self, value):
        value = self._checked(value)
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        diff = value - self.loc
        wt_dinv_x = ((cnp.swapaxes(W, -1, -2) / D[..., None, :]) @ diff[..., None])[..., 0]
        m = (diff ** 2 / D).sum(-1) - batch_mahalanobis(self._capacitance_tril, wt_dinv_x)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + self._log_det() + m)

    def entropy(self):
        h = 0.5 * (self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + self._log_det())
        return cnp.broadcast_to(h, self._batch_shape)

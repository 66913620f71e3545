"""``torch.distributions.Wishart``: the distribution of ``X Xᵀ`` for ``df`` (ν) Gaussian
columns X of covariance Σ, a distribution on positive definite p × p matrices, given by ν and
one of ``covariance_matrix`` (Σ), ``precision_matrix`` (Σ⁻¹) or ``scale_tril`` (Σ's lower
Cholesky factor L). ``rsample`` is Bartlett's decomposition, L A Aᵀ Lᵀ for A lower triangular
with √χ²(ν - i) on its diagonal and standard normals below, reparameterised in ν and L.

>>> import chainrule as cr
>>> w = Wishart(cr.tensor(4.0), covariance_matrix=cr.eye(2))
>>> w.batch_shape, w.event_shape, w.mean.tolist()
(torch.Size([]), torch.Size([2, 2]), [[4.0, 0.0], [0.0, 4.0]])
"""

from __future__ import annotations

import math
import warnings

import numpy as np

import chainrule.numpy as cnp
import chainrule.scipy.special as sp
from chainrule.distributions import constraints
from chainrule.distributions.distribution import as_tensor, lazy_property, noise
from chainrule.distributions.exp_family import ExponentialFamily
from chainrule.distributions.families import Chi2
from chainrule.distributions.multivariate import keep_given_matrix, lower_cholesky_factor
from chainrule.numpy.nondiff import anywhere, every, whole_batch
from chainrule.numpy.torch_special_functions import multigammaln

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _mvdigamma(x, p: int):
    """The multivariate digamma Σᵢ ψ(x - i/2), i < p (the derivative of multigammaln)."""
    if not every(x > (p - 1) / 2):
        raise ValueError("Wrong domain for multivariate digamma function.")
    return sp.digamma(x[..., None] - np.arange(p, dtype=x.dtype) / 2).sum(-1)


def _gram_solve(L, B):
    """(L Lᵀ)⁻¹ B by two solves with L read as a full matrix, so that L's upper triangle
    gets PyTorch's gradient (``torch.cholesky_solve``'s)."""
    return cnp.linalg.solve(cnp.swapaxes(L, -1, -2), cnp.linalg.solve(L, B))


def _log_det_scale(L):
    return cnp.log(cnp.diagonal(L, axis1=-2, axis2=-1)).sum(-1)


class Wishart(ExponentialFamily):
    """The Wishart distribution of ``df`` degrees of freedom (greater than p - 1) and scale
    given by exactly one of ``covariance_matrix``, ``precision_matrix`` or ``scale_tril``."""

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0
    _unexpanded = ("_unbroadcasted_scale_tril",)

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        given = next(m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None)
        given = as_tensor(given, as_tensor(df).dtype if not isinstance(df, int | float) else None)
        if given.ndim < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        df = as_tensor(df, given.dtype)
        batch_shape = np.broadcast_shapes(given.shape[:-2], df.shape)
        self.df = cnp.broadcast_to(df, batch_shape)
        p = given.shape[-1]
        if anywhere(self.df <= p - 1):
            raise ValueError(f"Value of df={whole_batch(df)} expected to be greater than ndim - 1 = {p - 1}.")
        matrix = cnp.broadcast_to(given, batch_shape + given.shape[-2:])
        keep_given_matrix(self, matrix, scale_tril, covariance_matrix)
        if anywhere(self.df < p):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < "
                          "ndim.", stacklevel=2)
        super().__init__(batch_shape, given.shape[-2:], validate_args=validate_args)
        self._unbroadcasted_scale_tril = lower_cholesky_factor(given, scale_tril, covariance_matrix)

    @lazy_property
    def scale_tril(self):
        return cnp.broadcast_to(self._unbroadcasted_scale_tril, self._batch_shape + self._event_shape)

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return cnp.broadcast_to(L @ cnp.swapaxes(L, -1, -2), self._batch_shape + self._event_shape)

    @lazy_property
    def precision_matrix(self):
        L = self._unbroadcasted_scale_tril
        eye = np.eye(self._event_shape[-1], dtype=L.dtype)
        return cnp.broadcast_to(_gram_solve(L, eye), self._batch_shape + self._event_shape)

    def _df_matrix(self):
        return self.df.reshape(tuple(self._batch_shape) + (1, 1))

    @property
    def mean(self):
        return self._df_matrix() * self.covariance_matrix

    @property
    def mode(self):
        factor = self.df - self._event_shape[-1] - 1
        factor = cnp.where(factor <= 0, np.nan, factor)
        return factor.reshape(tuple(self._batch_shape) + (1, 1)) * self.covariance_matrix

    @property
    def variance(self):
        V = self.covariance_matrix
        d = cnp.diagonal(V, axis1=-2, axis2=-1)
        return self._df_matrix() * (V ** 2 + d[..., :, None] * d[..., None, :])

    def _bartlett_sampling(self, sample_shape):
        p = self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        chi2 = Chi2(self.df[..., None] - np.arange(p, dtype=self.df.dtype))
        diag = cnp.clip(cnp.sqrt(chi2.rsample(sample_shape)), np.finfo(L.dtype).eps, None)
        below = cnp.tril(noise("standard_normal", self._extended_shape(sample_shape), L.dtype, like=self), -1)
        A = below + diag[..., None] * np.eye(p, dtype=L.dtype)
        chol = L @ A
        return chol @ cnp.swapaxes(chol, -1, -2)

    def _singular(self, sample):
        bad = ~self.support.check(sample)
        return bad.any(axis=tuple(range(bad.ndim - len(self._batch_shape), bad.ndim))) if self._batch_shape else bad

    def rsample(self, sample_shape=(), max_try_correction=None):
        """Bartlett's decomposition; draws that come out singular (possible for df below p)
        are drawn again, up to ``max_try_correction`` (10) times, as PyTorch's."""
        sample_shape = tuple(sample_shape) if not isinstance(sample_shape, int) else (sample_shape,)
        sample = self._bartlett_sampling(sample_shape)
        singular = self._singular(sample)
        if anywhere(singular):
            warnings.warn("Singular sample detected.", stacklevel=2)
            for _ in range(10 if max_try_correction is None else max_try_correction):
                mask = singular.reshape(singular.shape + (1,) * (sample.ndim - singular.ndim))
                sample = cnp.where(mask, self._bartlett_sampling(sample_shape), sample)
                singular = self._singular(sample)
                if not anywhere(singular):
                    break
        return sample

    def log_prob(self, value):
        value = self._checked(value)
        nu, p = self.df, self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        trace = cnp.diagonal(_gram_solve(L, value), axis1=-2, axis2=-1).sum(-1)
        return (-nu * (p * _LOG_2 / 2 + _log_det_scale(L)) - multigammaln(nu / 2, p)
                + (nu - p - 1) / 2 * cnp.linalg.slogdet(value)[1] - trace / 2)

    def entropy(self):
        nu, p = self.df, self._event_shape[-1]
        return ((p + 1) * (p * _LOG_2 / 2 + _log_det_scale(self._unbroadcasted_scale_tril))
                + multigammaln(nu / 2, p) - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2)

    @property
    def _natural_params(self):
        return -self.precision_matrix / 2, (self.df - self._event_shape[-1] - 1) / 2

    def _log_normalizer(self, x, y):
        p = self._event_shape[-1]
        return ((y + (p + 1) / 2) * (-cnp.linalg.slogdet(-2 * x)[1] + _LOG_2 * p)
                + multigammaln(y + (p + 1) / 2, p))

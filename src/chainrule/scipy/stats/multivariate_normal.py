"""The multivariate normal distribution, differentiable in ``x``, ``mean`` and ``cov``.

``logpdf`` is one primitive: its value comes from a Cholesky factorisation, its rules
from the residual ``r = cov⁻¹ (x − mean)``: ∂/∂x = −r, ∂/∂mean = r and
∂/∂cov = (r rᵀ − cov⁻¹) / 2 per point. ``cov`` must be symmetric positive definite; its
gradient is returned symmetric (the convention of HIPS autograd and JAX): the rules read
``(cov + covᵀ) / 2``, so that they differentiate again as the function of the symmetrised
covariance (JAX's), also along an unsymmetric change. A scalar
``cov`` means that multiple of the identity, a vector the diagonal, as in SciPy.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

import chainrule.numpy as cnp
from chainrule.core.primitive import def_batch, def_jvps, def_vjps
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import shape_of, unbroadcast
from chainrule.numpy.registry import wrap
from chainrule.scipy.reexport import fallback
from chainrule.scipy.stats._common import exported

__all__ = ["logpdf", "pdf", "entropy"]

_export = exported("multivariate_normal")
_LOG_2PI = float(np.log(2 * np.pi))  # a Python number: it takes the dtype of what it meets


# -- the precision matrix, a primitive so that the rules below differentiate again -------
_inv = wrap(np.linalg.inv, "scipy.stats", "multivariate_normal.precision", public=False)
def_vjps(_inv, lambda g, ans, c: -cnp.matmul(cnp.matmul(cnp.swapaxes(ans, -1, -2), g),
                                             cnp.swapaxes(ans, -1, -2)))
def_jvps(_inv, lambda t, ans, c: -cnp.matmul(cnp.matmul(ans, t), ans))


def _np_logpdf(x, mean, cov):
    x, mean, cov = np.asarray(x), np.asarray(mean), np.asarray(cov)
    chol = np.linalg.cholesky(cov)
    d = np.broadcast_to(x - mean, np.broadcast_shapes(np.shape(x), np.shape(mean)))
    z = scipy.linalg.solve_triangular(chol, d.reshape(-1, d.shape[-1]).T, lower=True)
    logdet = 2 * np.sum(np.log(np.diagonal(chol)))
    quad = np.sum(z * z, axis=0).reshape(d.shape[:-1])
    return -0.5 * (cov.shape[-1] * _LOG_2PI + logdet + quad)


def _symmetric(cov):
    """(cov + covᵀ) / 2: cov itself, but its derivative is that of the symmetric part, so
    that the rules, differentiated again, stay the function of the symmetrised cov."""
    return 0.5 * (cov + cnp.swapaxes(cov, -1, -2))


def _residual(x, mean, cov):
    """r = (x − mean) cov⁻¹, one row per point (cov is symmetric)."""
    return cnp.matmul(x - mean, _inv(_symmetric(cov)))


def _cov_cotangent(g, x, mean, cov):
    r = _residual(x, mean, cov)
    dim = shape_of(cov)[-1]
    rows = cnp.reshape(r, (-1, dim))
    weighted = cnp.reshape(cnp.expand_dims(g, -1) * r, (-1, dim))
    outer = cnp.matmul(cnp.swapaxes(rows, 0, 1), weighted)
    return 0.5 * (outer - cnp.sum(g) * _inv(_symmetric(cov)))


def _cov_tangent(t, x, mean, cov):
    r = _residual(x, mean, cov)
    quad = cnp.sum(cnp.matmul(r, t) * r, axis=-1)
    return 0.5 * (quad - cnp.sum(_inv(_symmetric(cov)) * t))


_logpdf = wrap(_np_logpdf, "scipy.stats", "multivariate_normal.logpdf", public=False)
def_vjps(
    _logpdf,
    lambda g, ans, x, mean, cov: unbroadcast(-cnp.expand_dims(g, -1) * _residual(x, mean, cov), x),
    lambda g, ans, x, mean, cov: unbroadcast(cnp.expand_dims(g, -1) * _residual(x, mean, cov),
                                             mean),
    lambda g, ans, x, mean, cov: _cov_cotangent(g, x, mean, cov),
)
def_jvps(
    _logpdf,
    lambda t, ans, x, mean, cov: cnp.broadcast_to(
        -cnp.sum(_residual(x, mean, cov) * t, axis=-1), shape_of(ans)),
    lambda t, ans, x, mean, cov: cnp.broadcast_to(
        cnp.sum(_residual(x, mean, cov) * t, axis=-1), shape_of(ans)),
    lambda t, ans, x, mean, cov: _cov_tangent(t, x, mean, cov),
)


# -- a singular covariance (allow_singular=True): the density on the subspace cov spans --
def _np_logpdf_singular(x, mean, cov):
    import scipy.stats  # on first use: scipy.stats imports scipy.optimize and scipy.integrate

    d = np.asarray(x) - np.asarray(mean)  # the density depends on x − mean alone
    flat = d.reshape(-1, d.shape[-1])
    out = scipy.stats.multivariate_normal.logpdf(flat, None, cov, allow_singular=True)
    return np.reshape(out, d.shape[:-1])


def _pseudo_residual(x, mean, cov):
    """r = (x − mean) cov⁺: the residual on the subspace a singular cov spans."""
    return cnp.matmul(x - mean, cnp.linalg.pinv(cov))


def _singular_cov_error(*args, **kwargs):
    raise NotImplementedError(
        "multivariate_normal.logpdf with allow_singular=True is not differentiable in a "
        "singular cov (its rank would change); differentiate in x and mean only"
    )


_logpdf_singular = wrap(_np_logpdf_singular, "scipy.stats",
                        "multivariate_normal.logpdf_singular", public=False)
def_vjps(
    _logpdf_singular,
    lambda g, ans, x, mean, cov: unbroadcast(-cnp.expand_dims(g, -1) * _pseudo_residual(x, mean, cov), x),
    lambda g, ans, x, mean, cov: unbroadcast(cnp.expand_dims(g, -1) * _pseudo_residual(x, mean, cov),
                                             mean),
    _singular_cov_error,
)
def_jvps(
    _logpdf_singular,
    lambda t, ans, x, mean, cov: cnp.broadcast_to(
        -cnp.sum(_pseudo_residual(x, mean, cov) * t, axis=-1), shape_of(ans)),
    lambda t, ans, x, mean, cov: cnp.broadcast_to(
        cnp.sum(_pseudo_residual(x, mean, cov) * t, axis=-1), shape_of(ans)),
    _singular_cov_error,
)


def _as_matrix(cov, dim: int):
    """SciPy's shorthands: a scalar is a multiple of the identity, a vector a diagonal."""
    ndim = len(shape_of(cov))
    if ndim == 0:
        return cov * np.eye(dim)
    if ndim == 1:
        return cnp.expand_dims(cov, -1) * np.eye(dim)
    return cov


def _dimension(mean, cov) -> int:
    if mean is not None and shape_of(mean):
        return shape_of(mean)[-1]
    if shape_of(cov):
        return shape_of(cov)[-1]
    return 1


@_export
def logpdf(x, mean=None, cov=1, allow_singular: bool = False):
    """``scipy.stats.multivariate_normal.logpdf``. Points run along the leading axes of
    ``x`` and the components along its last; as in SciPy, axes of length one are
    squeezed from the result, so one point gives a scalar."""
    dim = _dimension(mean, cov)
    if mean is None:
        mean = np.zeros(dim)
    xshape = shape_of(x)
    if dim == 1 and (not xshape or xshape[-1] != 1):
        x = cnp.expand_dims(x, -1)  # SciPy reads a vector as points of one dimension
    elif not xshape:
        x = cnp.reshape(x, (1,))
    out = (_logpdf_singular if allow_singular else _logpdf)(x, mean, _as_matrix(cov, dim))
    shape = shape_of(out)
    if 1 in shape:  # SciPy squeezes every axis of length one
        out = cnp.reshape(out, tuple(n for n in shape if n != 1))
    return out


@_export
def pdf(x, mean=None, cov=1, allow_singular: bool = False):
    return cnp.exp(logpdf(x, mean, cov, allow_singular))


@_export
def entropy(mean=None, cov=1):
    """Differential entropy ½ log det(2πe cov), differentiable in ``cov``."""
    dim = _dimension(mean, cov)
    cov = _as_matrix(cov, dim)
    # logpdf at the mean is −½ (d log 2π + log det cov); the entropy adds d/2 to its negative
    centre = mean if mean is not None else np.zeros(dim)
    return 0.5 * dim - logpdf(centre, centre, cov)


# Batching rules for vmap: the precision is stacked; the density broadcasts points and mean.
def_batch(batching.stacked, _inv)
def_batch(batching.points_density, _logpdf, _logpdf_singular)


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.multivariate_normal's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "multivariate_normal")

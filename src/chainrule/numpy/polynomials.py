"""Polynomials as coefficient arrays, highest power first: ``polyval`` (Horner's scheme),
``polyadd``, ``polysub``, ``polymul``, ``polyder``, ``polyint``, ``vander`` and
``polyfit`` (least squares).

Each is NumPy's own algorithm written with differentiable primitives, so the values
are NumPy's and the derivatives (in the coefficients and in the points) follow in both
modes, to any order, and under vmap. ``poly1d`` objects are NumPy's and take plain
arrays only.
"""

from __future__ import annotations

import warnings

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import undifferentiated
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.convolution import convolve
from chainrule.numpy.nondiff import anywhere, every
from chainrule.numpy.registry import mirrors
from chainrule.numpy.shape.primitives import _as_input, _has_tensor

__all__ = ["polyval", "polyadd", "polysub", "polymul", "polyder", "polyint", "vander", "polyfit"]


def _no_poly1d(name: str, *args) -> None:
    if any(isinstance(a, np.poly1d) for a in args):
        raise TypeError(f"{name}: a poly1d holds plain coefficients; pass the coefficient "
                        "array (a Tensor) instead to differentiate")


@mirrors(np.polyval, "polynomials")
def polyval(p, x):
    """``np.polyval``: ``p[0] * x**(n-1) + ... + p[n-1]`` by Horner's scheme.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> float(cr.grad(lambda x: cnp.polyval(cnp.array([1.0, 0.0, -2.0]), x))(3.0))
    6.0
    """
    if not _has_tensor([p, x]):
        return np.polyval(p, x)
    _no_poly1d("polyval", p, x)
    p, x = _as_input(p), _as_input(x)
    y = cnp.zeros_like(undifferentiated(x))  # NumPy starts from zeros of x's dtype
    for i in range(shape_of(p)[0]):
        y = y * x + p[i]
    return y


def _padded_pair(a1, a2):
    a1, a2 = cnp.atleast_1d(_as_input(a1)), cnp.atleast_1d(_as_input(a2))
    diff = shape_of(a2)[0] - shape_of(a1)[0]
    if diff > 0:
        a1 = cnp.concatenate((np.zeros(diff, _dtype(a1)), a1))
    elif diff < 0:
        a2 = cnp.concatenate((np.zeros(-diff, _dtype(a2)), a2))
    return a1, a2


def _dtype(x) -> np.dtype:
    return np.dtype(x.dtype if hasattr(x, "dtype") else np.result_type(x))


@mirrors(np.polyadd, "polynomials")
def polyadd(a1, a2):
    """``np.polyadd``: the shorter coefficient array padded with leading zeros."""
    if not _has_tensor([a1, a2]):
        return np.polyadd(a1, a2)
    _no_poly1d("polyadd", a1, a2)
    a1, a2 = _padded_pair(a1, a2)
    return a1 + a2


@mirrors(np.polysub, "polynomials")
def polysub(a1, a2):
    """``np.polysub``: the shorter coefficient array padded with leading zeros."""
    if not _has_tensor([a1, a2]):
        return np.polysub(a1, a2)
    _no_poly1d("polysub", a1, a2)
    a1, a2 = _padded_pair(a1, a2)
    return a1 - a2


def _trim_leading_zeros(a):
    """NumPy's ``poly1d(a).coeffs``: leading zero coefficients dropped (all zero: [0]).
    Under ``chainrule.vmap``, those that are zero in every example (one shape for all)."""
    a = cnp.atleast_1d(_as_input(a))
    if len(shape_of(a)) != 1:
        raise ValueError("Polynomial must be 1d only.")
    n = shape_of(a)[0]
    lead = 0
    while lead < n and every(cnp.equal(undifferentiated(a[lead]), 0)):
        lead += 1
    if lead == n:
        return a[-1:] * 0
    return a[lead:] if lead else a


@mirrors(np.polymul, "polynomials")
def polymul(a1, a2):
    """``np.polymul``: the convolution of the coefficients (leading zeros dropped first,
    as NumPy's ``poly1d`` does)."""
    if not _has_tensor([a1, a2]):
        return np.polymul(a1, a2)
    _no_poly1d("polymul", a1, a2)
    return convolve(_trim_leading_zeros(a1), _trim_leading_zeros(a2))


@mirrors(np.polyder, "polynomials")
def polyder(p, m=1):
    """``np.polyder``: the coefficients of the ``m``-th derivative."""
    if not _has_tensor(p):
        return np.polyder(p, m)
    _no_poly1d("polyder", p)
    m = int(m)
    if m < 0:
        raise ValueError("Order of derivative must be positive (see polyint)")
    p = _as_input(p)
    for _ in range(m):
        n = shape_of(p)[0] - 1
        p = p[:-1] * np.arange(n, 0, -1)
    return p


@mirrors(np.polyint, "polynomials")
def polyint(p, m=1, k=None):
    """``np.polyint``: the coefficients of the ``m``-th antiderivative, with integration
    constants ``k`` (differentiable too)."""
    if not _has_tensor([p, k]):
        return np.polyint(p, m, k)
    _no_poly1d("polyint", p)
    m = int(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    k = np.zeros(m, float) if k is None else cnp.atleast_1d(_as_input(k))
    if shape_of(k)[0] == 1 and m > 1:
        k = k[0] * np.ones(m, float)
    if shape_of(k)[0] < m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or >m.")
    p = _as_input(p)
    for i in range(m):
        p = cnp.concatenate((p / np.arange(shape_of(p)[0], 0, -1), k[i:i + 1]))
    return p


@mirrors(np.vander, "polynomials")
def vander(x, N=None, increasing=False):
    """``np.vander``: the powers of ``x`` in columns, built by a cumulative product as
    NumPy builds them (so the values are NumPy's)."""
    if not _has_tensor(x):
        return np.vander(x, N, increasing)
    x = _as_input(x)
    if len(shape_of(x)) != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    rows = shape_of(x)[0]
    N = rows if N is None else int(N)
    dtype = np.promote_types(_dtype(x), int)
    if N == 0:
        return cnp.reshape(x[:0], (rows, 0)) if rows == 0 else cnp.zeros((rows, 0), dtype)
    x = cnp.astype(x, dtype) if _dtype(x) != dtype else x
    ones = np.ones((rows, 1), dtype)
    if N == 1:
        v = cnp.broadcast_to(x[:, None], (rows, 1)) * 0 + ones
    else:
        powers = cnp.cumprod(cnp.broadcast_to(x[:, None], (rows, N - 1)), axis=1)
        v = cnp.concatenate((ones, powers), axis=1)
    return v if increasing else v[:, ::-1]


@mirrors(np.polyfit, "polynomials")
def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """``np.polyfit``: least squares through ``lstsq`` of the column-scaled Vandermonde
    matrix, as NumPy solves it; differentiable in ``x``, ``y`` and ``w``. ``cov=True``
    is not supported on Tensors (it raises)."""
    if not _has_tensor([x, y, w]):
        return np.polyfit(x, y, deg, rcond, full, w, cov)
    if cov:
        raise NotImplementedError("polyfit: cov=True is not differentiable in chainrule; "
                                  "compute the covariance from the returned fit")
    order = int(deg) + 1
    x, y = _as_input(x) + 0.0, _as_input(y) + 0.0
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if len(shape_of(x)) != 1:
        raise TypeError("expected 1D vector for x")
    if shape_of(x)[0] == 0:
        raise TypeError("expected non-empty vector for x")
    if len(shape_of(y)) < 1 or len(shape_of(y)) > 2:
        raise TypeError("expected 1D or 2D array for y")
    if shape_of(x)[0] != shape_of(y)[0]:
        raise TypeError("expected x and y to have same length")
    if rcond is None:
        rcond = shape_of(x)[0] * np.finfo(_dtype(x)).eps
    lhs = vander(x, order)
    rhs = y
    if w is not None:
        w = _as_input(w) + 0.0
        if len(shape_of(w)) != 1:
            raise TypeError("expected a 1-d array for weights")
        if shape_of(w)[0] != shape_of(y)[0]:
            raise TypeError("expected w and y to have the same length")
        lhs = lhs * w[:, None]
        rhs = rhs * w if len(shape_of(rhs)) == 1 else rhs * w[:, None]
    scale = cnp.sqrt(cnp.sum(lhs * lhs, axis=0))
    lhs = lhs / scale
    c, resids, rank, s = cnp.linalg.lstsq(lhs, rhs, rcond)
    c = cnp.transpose(cnp.transpose(c) / scale)
    if anywhere(cnp.not_equal(rank, order)) and not full:
        warnings.warn("Polyfit may be poorly conditioned", np.exceptions.RankWarning, stacklevel=2)
    if full:
        return c, resids, rank, s, rcond
    return c

"""Polynomials as coefficient arrays, highest power first: ``polyval`` (Horner's scheme),
``polyadd``, ``polysub``, ``polymul``, ``polydiv``, ``polyder``, ``polyint``, ``vander``,
``polyfit`` (least squares), ``poly`` (from roots) and ``roots`` (the eigenvalues of the
companion matrix).

Each is NumPy's own algorithm written with differentiable primitives, so the values
are NumPy's and the derivatives (in the coefficients and in the points) follow in both
modes, to any order, and under vmap. ``poly1d`` objects are NumPy's and take plain
arrays only.
"""

from __future__ import annotations

import operator
import warnings

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.convolution import convolve
from chainrule.numpy.nondiff import anywhere, every
from chainrule.numpy.registry import mirrors
from chainrule.numpy.shape.primitives import _as_input, _has_tensor

__all__ = ["polyval", "polyadd", "polysub", "polymul", "polydiv", "polyder", "polyint", "vander",
           "polyfit", "poly", "roots"]


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
    # NumPy makes arrays of both: a list of Python floats is float64, not weak
    p, x = (a if isinstance(a, Tensor) else np.asarray(a) for a in (_as_input(p), _as_input(x)))
    if shape_of(p) == ():
        raise TypeError("polyval: iteration over a 0-d array (p must be a sequence of coefficients)")
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


def _sequence(name: str, p):
    """``p`` as an array of coefficients; a 0-d one is refused as NumPy refuses it."""
    p = _as_input(p)
    if shape_of(p) == ():
        raise TypeError(f"{name}: iteration over a 0-d array (p must be a sequence of coefficients)")
    return p


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
    p = _sequence("polyder", p)
    m = int(m)
    if m < 0:
        raise ValueError("Order of derivative must be positive (see polyint)")
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
    p = _sequence("polyint", p)
    m = int(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    k = np.zeros(m, float) if k is None else cnp.atleast_1d(_as_input(k))
    if shape_of(k)[0] == 1 and m > 1:
        k = k[0] * np.ones(m, float)
    if shape_of(k)[0] < m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or >m.")
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
    N = rows if N is None else operator.index(N)  # (a float N: TypeError, as NumPy's)
    dtype = np.promote_types(_dtype(x), int)
    x = cnp.astype(x, dtype) if _dtype(x) != dtype else x
    if N == 0:
        return cnp.reshape(x[:0], (rows, 0)) if rows == 0 else cnp.zeros((rows, 0), dtype)
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


@mirrors(np.polydiv, "polynomials")
def polydiv(u, v):
    """``np.polydiv``: quotient and remainder by NumPy's long division, the remainder's
    leading (near) zeros dropped as NumPy drops them; differentiable in ``u`` and ``v``.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> q, r = cnp.polydiv(cr.tensor([1.0, -3.0, 2.0]), np.array([1.0, -1.0]))
    >>> q.tolist(), r.tolist()
    ([1.0, -2.0], [0.0])
    """
    if not _has_tensor([u, v]):
        return np.polydiv(u, v)
    _no_poly1d("polydiv", u, v)
    u, v = cnp.atleast_1d(_as_input(u)) + 0.0, cnp.atleast_1d(_as_input(v)) + 0.0
    dtype = np.result_type(_dtype(u), _dtype(v))
    m, n = shape_of(u)[0] - 1, shape_of(v)[0] - 1
    if m >= n and (len(shape_of(u)) != 1 or len(shape_of(v)) != 1):  # (NumPy: a sequence set as an element)
        raise ValueError(f"polydiv: u and v must be 1-d sequences of coefficients, not of shapes "
                         f"{shape_of(u)} and {shape_of(v)}")
    scale = 1.0 / v[0]
    r = cnp.astype(u, dtype) if _dtype(u) != dtype else u
    q = []
    for k in range(m - n + 1):
        d = scale * r[k]
        q.append(d)
        r = r - _padded_pair(cnp.concatenate((d * v, np.zeros(m - n - k, dtype))), r)[0]
    q = cnp.stack(q) if q else np.zeros(1, dtype)
    while shape_of(r)[0] > 1 and every(cnp.isclose(undifferentiated(r[0]), 0, rtol=1e-14)):
        r = r[1:]
    return q, r


@mirrors(np.poly, "polynomials")
def poly(seq_of_zeros):
    """``np.poly``: the coefficients of the monic polynomial with these roots (or with the
    eigenvalues of a square matrix as roots), real when the roots come in conjugate pairs.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> cnp.poly(cr.tensor([1.0, 2.0])).tolist()
    [1.0, -3.0, 2.0]
    """
    if not _has_tensor(seq_of_zeros):
        return np.poly(seq_of_zeros)
    zeros = cnp.atleast_1d(_as_input(seq_of_zeros))
    sh = shape_of(zeros)
    if len(sh) == 2 and sh[0] == sh[1] and sh[0] != 0:
        zeros = cnp.linalg.eigvals(zeros)
    elif len(sh) == 1:
        dt = np.dtype(np.mintypecode(_dtype(zeros).char))
        zeros = cnp.astype(zeros, dt) if _dtype(zeros) != dt else zeros
    else:
        raise ValueError("input must be 1d or non-empty square 2d array.")
    if shape_of(zeros)[0] == 0:
        return 1.0
    dt = _dtype(zeros)
    a = np.ones((1,), dt)
    for i in range(shape_of(zeros)[0]):
        a = convolve(a, cnp.concatenate((np.ones(1, dt), -zeros[i:i + 1])), mode="full")
    if dt.kind == "c":  # roots in conjugate pairs: the coefficients are real
        plain = undifferentiated(zeros)
        if every(cnp.sort(plain) == cnp.sort(cnp.conjugate(plain))):
            a = cnp.real(a)
    return a


@mirrors(np.roots, "polynomials")
def roots(p):
    """``np.roots``: the eigenvalues of the companion matrix (leading and trailing zero
    coefficients stripped first, the latter giving roots at 0); differentiable in ``p``
    where the roots are simple.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> sorted(cnp.roots(cr.tensor([1.0, -3.0, 2.0])).tolist())
    [1.0, 2.0]
    """
    if not _has_tensor(p):
        return np.roots(p)
    _no_poly1d("roots", p)
    p = _sequence("roots", p)
    if len(shape_of(p)) != 1:
        raise ValueError("Input must be a rank-1 array.")
    n = shape_of(p)[0]
    zero = [every(cnp.equal(undifferentiated(p[i]), 0)) for i in range(n)]
    if all(zero):
        return np.array([])
    first = zero.index(False)
    last = n - 1 - zero[::-1].index(False)
    p = p[first:last + 1]
    if _dtype(p).kind not in "fc":
        p = cnp.astype(p, float)
    size = shape_of(p)[0]
    if size > 1:
        companion = cnp.concatenate((cnp.expand_dims(-p[1:] / p[0], 0),
                                     np.eye(size - 2, size - 1, dtype=_dtype(p))))
        found = cnp.linalg.eigvals(companion)
    else:
        found = np.array([])
    return cnp.concatenate((found, np.zeros(n - 1 - last, _dtype(found))))

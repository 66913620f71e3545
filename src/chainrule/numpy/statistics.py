"""Order statistics and covariances: median, quantile, percentile (and their ``nan*``
forms), cov and corrcoef.

They are compositions of differentiable primitives, so they differentiate to any order
in both modes and batch under ``chainrule.vmap`` without rules of their own:

* an order statistic sorts (a stable sort, so tied values pass the derivative to the
  first of them in the input's order, as ``jax.numpy`` does), gathers the one or two
  neighbours of each quantile's position with ``take_along_axis`` and interpolates
  between them with NumPy's own weights and formula, so the values are NumPy's;
* ``cov`` and ``corrcoef`` are means and a matrix product, written as NumPy writes them.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.nondiff import anywhere, batched, every, unboxing
from chainrule.numpy.registry import mirrors
from chainrule.numpy.shape.primitives import (
    _as_input,
    _axes,
    _deep_plain,
    _has_tensor,
    _no_out,
    scatter_add,
)

__all__ = [
    "bincount",
    "median",
    "nanmedian",
    "quantile",
    "nanquantile",
    "percentile",
    "nanpercentile",
    "cov",
    "corrcoef",
]

_NoValue = np._NoValue


# -- where each quantile sits in the sorted sample ------------------------------------------
def _virtual(alpha: float, beta: float):
    """Hyndman and Fan's continuous positions (NumPy's ``_compute_virtual_index``)."""
    return lambda n, q: n * q + (alpha + q * (1 - alpha - beta)) - 1


def _to_boundaries(index, take_previous):
    previous = cnp.floor(index)
    gamma = index - previous
    chosen = cnp.where(take_previous(gamma, index), previous, previous + 1)
    return cnp.maximum(cnp.astype(chosen, np.intp), 0)


def _inverted_cdf(n, q):
    return _to_boundaries(n * q - 1, lambda gamma, _: gamma == 0)


def _closest_observation(n, q):
    return _to_boundaries(
        n * q - 1 - 0.5, lambda gamma, index: (gamma == 0) & (cnp.floor(index) % 2 == 1)
    )


def _gamma_where(default: float, conditioned: float, condition):
    return lambda gamma, index: cnp.where(condition(gamma, index), conditioned, default)


# method -> (position of each quantile, the interpolation weight from its fractional part;
# None: the position is an index and the value is taken there, no interpolation).
# NumPy's table (numpy.lib._function_base_impl._QuantileMethods), written with
# chainrule.numpy so that the positions may follow traced data (the nan* forms' counts).
QUANTILE_METHODS = {
    "inverted_cdf": (_inverted_cdf, None),
    "averaged_inverted_cdf": (
        lambda n, q: n * q - 1, _gamma_where(1.0, 0.5, lambda gamma, _: gamma == 0)),
    "closest_observation": (_closest_observation, None),
    "interpolated_inverted_cdf": (_virtual(0, 1), lambda gamma, _: gamma),
    "hazen": (_virtual(0.5, 0.5), lambda gamma, _: gamma),
    "weibull": (_virtual(0, 0), lambda gamma, _: gamma),
    "linear": (lambda n, q: (n - 1) * q, lambda gamma, _: gamma),
    "median_unbiased": (_virtual(1 / 3.0, 1 / 3.0), lambda gamma, _: gamma),
    "normal_unbiased": (_virtual(3 / 8.0, 3 / 8.0), lambda gamma, _: gamma),
    "lower": (lambda n, q: cnp.astype(cnp.floor((n - 1) * q), np.intp), None),
    "higher": (lambda n, q: cnp.astype(cnp.ceil((n - 1) * q), np.intp), None),
    "midpoint": (
        lambda n, q: 0.5 * (cnp.floor((n - 1) * q) + cnp.ceil((n - 1) * q)),
        _gamma_where(0.5, 0.0, lambda _, index: index % 1 == 0)),
    "nearest": (lambda n, q: cnp.astype(cnp.around((n - 1) * q), np.intp), None),
}


def _neighbours(virtual, n):
    """The indices before and after each position (NumPy's ``_get_indexes``): positions
    past the last value take the last one, before the first the first one."""
    previous = cnp.floor(virtual)
    following = previous + 1
    above = virtual >= n - 1
    below = virtual < 0
    nan = cnp.isnan(virtual)
    last = n - 1
    # NumPy marks past-the-end with -1 and computes the weight from that
    previous_marked = cnp.where(above | nan, -1, cnp.where(below, 0, previous))
    previous = cnp.where(above | nan, last, previous_marked)
    following = cnp.where(above | nan, last, cnp.where(below, 0, following))
    return (cnp.astype(previous, np.intp), cnp.astype(following, np.intp),
            cnp.astype(previous_marked, np.intp))


def _lerp(a, b, t, weak_dtype=None):
    """NumPy's ``_lerp``: from the nearer end, so that t = 0 gives a and t = 1 gives b.
    With ``weak_dtype``, ``t`` stands for the Python float NumPy uses for a Python ``q``:
    ``t`` and ``1 - t`` are taken in its precision and each cast to the data's dtype."""
    diff = b - a
    low, high = t, 1 - t
    if weak_dtype is not None:
        low, high = cnp.astype(low, weak_dtype), cnp.astype(high, weak_dtype)
    return cnp.where(t >= 0.5, b - diff * high, a + diff * low)


def _gather(sorted_x, index):
    """``sorted_x[..., index]`` for indices (k,) shared by every slice, or (..., k)."""
    index = undifferentiated(index)
    if len(shape_of(index)) == 1 and len(shape_of(sorted_x)) != 1:
        return cnp.take(sorted_x, index, axis=-1)
    return cnp.take_along_axis(sorted_x, index, axis=-1)


def _last_axis(a, axis):
    """``a`` with the reduced axes merged into one at the end, and the shape the result
    has with ``keepdims``."""
    shape = shape_of(a)
    if axis is None:
        return cnp.reshape(a, (-1,)), tuple(1 for _ in shape)
    axes = _axes(axis, len(shape))
    kept = [i for i in range(len(shape)) if i not in axes]
    moved = a if tuple(kept) + axes == tuple(range(len(shape))) else cnp.transpose(a, (*kept, *axes))
    merged = cnp.reshape(moved, tuple(shape[i] for i in kept) + (math.prod(shape[i] for i in axes),))
    return merged, tuple(1 if i in axes else n for i, n in enumerate(shape))


def _check_real(name: str, a) -> None:
    if np.dtype(a.dtype if hasattr(a, "dtype") else np.result_type(a)).kind == "c":
        raise TypeError(f"{name}: a must be an array of real numbers")


def _quantiles(name, a, q, axis, method, keepdims, skip_nan, weak_q):
    """The quantiles ``q`` (in [0, 1], an array of at most one dimension) of ``a``."""
    if method not in QUANTILE_METHODS:
        raise ValueError(
            f"{name}: {method!r} is not a valid method. Use one of: {list(QUANTILE_METHODS)}"
        )
    position_of, fix_gamma = QUANTILE_METHODS[method]
    x, kept_shape = _last_axis(a, axis)
    reduced_shape = shape_of(x)[:-1]
    n_static = shape_of(x)[-1]
    if n_static == 0 and not skip_nan:
        raise IndexError(f"{name}: cannot take a quantile of an empty axis")
    if skip_nan and math.prod(shape_of(a)) == 0:  # NumPy: nanmean's NaN, whatever q's shape
        return cnp.nanmean(a, axis=axis, keepdims=keepdims)
    q_shape = shape_of(q)
    qs = cnp.reshape(q, (-1,))  # one dimension at most, so this is q's own order
    sorted_x = cnp.sort(x, axis=-1, kind="stable")  # NaN sorts last
    if skip_nan:
        valid = ~cnp.isnan(undifferentiated(sorted_x))
        n = cnp.expand_dims(cnp.sum(valid, axis=-1), -1)  # (..., 1): per slice
        if anywhere(n == 0):
            warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=4)
    else:
        n = n_static
    q_dtype = np.dtype(_dtype_of(qs))
    # NumPy counts each slice with a Python int, which takes a float q's dtype (NEP 50)
    virtual = position_of(cnp.astype(n, q_dtype) if skip_nan and q_dtype.kind == "f" else n, qs)
    if fix_gamma is None or (method == "linear" and np.dtype(_dtype_of(virtual)).kind in "iu"):
        last = cnp.maximum(n - 1, 0)
        result = _gather(sorted_x, cnp.minimum(virtual, last))
    else:
        previous, following, marked = _neighbours(virtual, n)
        if skip_nan:  # an all-NaN slice reads its first (NaN) entry
            previous, following = cnp.maximum(previous, 0), cnp.maximum(following, 0)
        # NumPy casts the weight to the positions' dtype
        gamma = cnp.astype(fix_gamma(virtual - marked, virtual), _dtype_of(virtual))
        weak_dtype = None
        if weak_q:  # a Python q: NumPy's result keeps the data's precision
            gamma, weak_dtype = _weak(gamma, _dtype_of(x))
        result = _lerp(_gather(sorted_x, previous), _gather(sorted_x, following), gamma, weak_dtype)
    last_is_nan = cnp.isnan(undifferentiated(sorted_x[..., -1:]))
    if not skip_nan and anywhere(last_is_nan):
        # NumPy: the NaN itself, in a's dtype (under vmap, only where every example has one)
        if q_shape == () and reduced_shape == () and every(last_is_nan):
            result = sorted_x[..., -1:]
        else:
            result = cnp.where(cnp.isnan(undifferentiated(sorted_x[..., -1:])), sorted_x[..., -1:], result)
    # (..., k) -> q's shape, then the kept axes (NumPy puts q's axes first)
    result = cnp.moveaxis(result, -1, 0)
    out_shape = q_shape + (kept_shape if keepdims else reduced_shape)
    return _scalar_if_0d(cnp.reshape(result, out_shape), keepdims)


def _scalar_if_0d(result, keepdims):
    """A 0-d result as the NumPy scalar NumPy returns (``np.median(x)`` is ``np.float64``);
    with ``keepdims`` an array, even of 0 dimensions."""
    return result[()] if shape_of(result) == () and not keepdims else result


def _weak(gamma, dtype):
    """The weight as NumPy uses it for a Python ``q``: a Python float, so float32 data
    stay float32; where there is a weight per slice (NumPy's Python float for each), with
    the dtype that ``_lerp`` casts it and its complement to."""
    if not isinstance(gamma, Tensor) and np.size(gamma) == 1:
        return float(np.ravel(gamma)[0]), None
    return gamma, (dtype if np.dtype(dtype).kind == "f" else None)


def _dtype_of(x):
    return x.dtype if hasattr(x, "dtype") else np.result_type(x)


def _q_array(name: str, q, a, scale):
    """``q`` (``percentile``'s divided by 100 as NumPy divides it) as an array, checked."""
    weak = type(q) in (int, float)
    if isinstance(q, Tensor):  # (under vmap each example's q, checked for the whole batch)
        q = q / scale if scale != 1 else q
    else:
        q = np.true_divide(q, scale) if scale != 1 else np.asanyarray(q)
    if len(shape_of(q)) > 2:
        raise ValueError(f"{name}: q must be a scalar or 1d")
    if not (every(q >= 0) and every(q <= 1)):
        what = "Percentiles must be in the range [0, 100]" if scale != 1 else (
            "Quantiles must be in the range [0, 1]")
        raise ValueError(f"{name}: {what}")
    return q, weak


def _unsupported(name: str, out, overwrite_input, weights, interpolation) -> None:
    _no_out(name, out)
    if weights is not None:
        raise NotImplementedError(
            f"{name}: weights= is not differentiable in chainrule; drop weights, or call "
            "NumPy's function on plain arrays"
        )
    if interpolation is not None:
        raise TypeError(f"{name}: interpolation= was renamed method= in NumPy 1.22; use method=")


def _quantile_function(np_fun, scale: float, skip_nan: bool):
    name = np_fun.__name__

    @mirrors(np_fun, "statistics", name)
    def function(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                 keepdims=False, *, weights=None, interpolation=None):
        if not _has_tensor(a) and not _has_tensor(q):
            kw = {} if interpolation is None else {"interpolation": interpolation}
            return np_fun(a, q, axis=axis, out=out, overwrite_input=overwrite_input,
                          method=method, keepdims=keepdims, weights=weights, **kw)
        _unsupported(name, out, overwrite_input, weights, interpolation)
        a, q = _as_input(a), _as_input(q)  # q may be a list holding traced values
        _check_real(name, a)
        q, weak = _q_array(name, q, a, scale)
        return _quantiles(name, a, q, axis, method, keepdims, skip_nan, weak)

    function.__name__ = function.__qualname__ = name
    return function


quantile = _quantile_function(np.quantile, 1, skip_nan=False)
nanquantile = _quantile_function(np.nanquantile, 1, skip_nan=True)
percentile = _quantile_function(np.percentile, 100, skip_nan=False)
nanpercentile = _quantile_function(np.nanpercentile, 100, skip_nan=True)


# -- median ---------------------------------------------------------------------------------
def _median(name, a, axis, keepdims, skip_nan):
    a = _as_input(a)
    if np.dtype(_dtype_of(a)).kind not in "fc":  # a mean: integers give float64
        a = cnp.astype(a, np.float64)
    x, kept_shape = _last_axis(a, axis)
    reduced_shape = shape_of(x)[:-1]
    out_shape = kept_shape if keepdims else reduced_shape
    n_static = shape_of(x)[-1]
    if math.prod(shape_of(a)) == 0:  # NumPy: the mean of nothing, NaN with its warnings
        mean = cnp.nanmean if skip_nan else cnp.mean
        return mean(a, axis=axis, keepdims=keepdims)
    sorted_x = cnp.sort(x, axis=-1, kind="stable")
    if skip_nan:
        n = cnp.sum(~cnp.isnan(undifferentiated(sorted_x)), axis=-1, keepdims=True)
        if anywhere(n == 0):
            warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=3)
        low = cnp.astype(cnp.maximum((n - 1) // 2, 0), np.intp)
        high = cnp.astype(cnp.maximum(n // 2, 0), np.intp)
        a_low, a_high = _gather(sorted_x, low), _gather(sorted_x, high)
        # NumPy's masked median: the half sum of the two middle values (one value twice)
        result = (a_low + a_high) / 2.0
    else:
        half = n_static // 2
        if n_static % 2:
            result = sorted_x[..., half:half + 1]
        else:  # the mean of the two middle values, as NumPy takes it
            result = cnp.mean(sorted_x[..., half - 1:half + 1], axis=-1, keepdims=True)
        last = sorted_x[..., -1:]
        if anywhere(cnp.isnan(undifferentiated(last))):
            result = cnp.where(cnp.isnan(undifferentiated(last)), last, result)
    return _scalar_if_0d(cnp.reshape(result, out_shape), keepdims)


@mirrors(np.median, "statistics")
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """``np.median``: the middle value (the mean of the two middle values); tied values
    pass the derivative to the first of them, as in JAX.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> cr.grad(cnp.median)(cnp.array([3.0, 1.0, 2.0, 5.0]))
    array([0.5, 0. , 0.5, 0. ])
    """
    if not _has_tensor(a):
        return np.median(a, axis=axis, out=out, overwrite_input=overwrite_input, keepdims=keepdims)
    _no_out("median", out)
    return _median("median", a, axis, keepdims, skip_nan=False)


@mirrors(np.nanmedian, "statistics")
def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=_NoValue):
    """``np.nanmedian``: the median of the entries that are not NaN (NaN for a slice
    without any, with NumPy's warning); NaN entries get a zero derivative."""
    if not _has_tensor(a):
        return np.nanmedian(a, axis=axis, out=out, overwrite_input=overwrite_input,
                            keepdims=keepdims)
    _no_out("nanmedian", out)
    return _median("nanmedian", a, axis, keepdims is True, skip_nan=True)


# -- covariance and correlation -------------------------------------------------------------
def _as_2d_rows(m, rowvar: bool, name: str = "m"):
    """``m`` as rows of variables (NumPy transposes ``m`` unless it is 1-D, and ``y``
    unless it is one row)."""
    m = _as_input(m)
    nd = len(shape_of(m))
    if nd > 2:
        raise ValueError(f"{name} has more than 2 dimensions")
    m2 = cnp.atleast_2d(m)
    flip = nd != 1 if name == "m" else shape_of(m2)[0] != 1
    return cnp.transpose(m2) if not rowvar and flip else m2


def _value(x) -> np.ndarray:
    return np.asarray(_deep_plain(x))


@mirrors(np.cov, "statistics")
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    """``np.cov``: differentiable in ``m``, ``y`` and the weights.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> float(cr.grad(lambda x: cnp.cov(x))(cnp.array([1.0, 2.0, 4.0]))[0])
    -1.3333333333333333
    """
    if not _has_tensor([m, y, fweights, aweights]):
        return np.cov(m, y, rowvar, bias, ddof, fweights, aweights, dtype=dtype)
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    x = _as_2d_rows(m, rowvar)
    if dtype is None:
        dtype = np.result_type(_dtype_of(x), np.float64) if y is None else np.result_type(
            _dtype_of(x), _dtype_of(_as_input(y)), np.float64)
    if shape_of(x)[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        x = cnp.concatenate((x, _as_2d_rows(y, rowvar, "y")), axis=0)
    x = cnp.astype(x, dtype) if _dtype_of(x) != dtype else x
    if ddof is None:
        ddof = 0 if bias else 1
    w = _weights(fweights, aweights, shape_of(x)[1])
    if w is None:
        avg = cnp.mean(x, axis=1)
        w_sum = float(shape_of(x)[1])
        fact = w_sum - ddof
    else:
        w_sum = cnp.sum(w)
        avg = cnp.sum(x * w, axis=1) / w_sum
        if ddof == 0:
            fact = w_sum
        elif aweights is None:
            fact = w_sum - ddof
        else:
            fact = w_sum - ddof * cnp.sum(w * _as_input(aweights)) / w_sum
    if _value(fact) <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=3)
        fact = 0.0
    xc = x - avg[:, None]
    xw = xc if w is None else xc * w
    c = cnp.matmul(xc, cnp.conj(cnp.transpose(xw)))
    scaled = c * cnp.true_divide(1, fact)
    # NumPy scales c in place: the product is cast back to c's dtype (cov(x, dtype=float32))
    c = scaled if _dtype_of(scaled) == _dtype_of(c) else cnp.astype(scaled, _dtype_of(c))
    return cnp.squeeze(c)


def _weights(fweights, aweights, n: int):
    """NumPy's checks on cov's weights, and their product (None without weights)."""
    w = None
    if fweights is not None:
        fw = _as_input(fweights)
        fv = _value(fw).astype(float)
        if not np.all(fv == np.around(fv)):
            raise TypeError("fweights must be integer")
        if fv.ndim > 1:
            raise RuntimeError("cannot handle multidimensional fweights")
        if fv.shape[0] != n:
            raise RuntimeError("incompatible numbers of samples and fweights")
        if np.any(fv < 0):
            raise ValueError("fweights cannot be negative")
        w = fw if isinstance(fw, Tensor) else np.asarray(fw, dtype=float)
    if aweights is not None:
        aw = _as_input(aweights)
        av = _value(aw)
        if av.ndim > 1:
            raise RuntimeError("cannot handle multidimensional aweights")
        if av.shape[0] != n:
            raise RuntimeError("incompatible numbers of samples and aweights")
        if np.any(av < 0):
            raise ValueError("aweights cannot be negative")
        aw = aw if isinstance(aw, Tensor) else np.asarray(aw, dtype=float)
        w = aw if w is None else w * aw
    return w


@mirrors(np.corrcoef, "statistics")
def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """``np.corrcoef``: the covariance scaled by the standard deviations, its real part
    clipped to [-1, 1] as NumPy does (a clipped entry has a zero derivative)."""
    if not _has_tensor([x, y]):
        return np.corrcoef(x, y, rowvar, dtype=dtype)
    c = cov(x, y, rowvar, dtype=dtype)
    if len(shape_of(c)) == 0:
        return c / c  # NaN for a zero variance, 1 otherwise, as NumPy's division gives
    d = cnp.diag(c)
    stddev = cnp.sqrt(cnp.real(d))
    c = c / stddev[:, None]
    c = c / stddev[None, :]
    if np.dtype(_dtype_of(c)).kind == "c":
        return cnp.clip(cnp.real(c), -1, 1) + 1j * cnp.clip(cnp.imag(c), -1, 1)
    return cnp.clip(c, -1, 1)



# -- bincount: counts are data, weighted counts differentiate in the weights ---------------------
def _counted(x, length: int):
    """``np.bincount`` of ``x`` cut to ``length`` bins (JAX's: larger values are dropped)."""
    x = np.asarray(x).ravel()
    return np.bincount(x[x < length], minlength=length)[:length]


_counts = unboxing(_counted)
_bins_needed = unboxing(lambda x, minlength: max(int(np.max(x, initial=-1)) + 1, minlength))


@mirrors(np.bincount, "statistics")
def bincount(x, weights=None, minlength: int = 0, *, length: int | None = None):
    """``np.bincount``, differentiable in ``weights`` (each weight goes to its bin). With
    JAX's ``length`` the result has exactly that many bins (values at or past it are
    dropped), which is what makes it work per example under ``chainrule.vmap``.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.grad(lambda w: cnp.sum(cnp.bincount(np.array([0, 2, 2]), w) ** 2))(np.ones(3))
    array([2., 4., 4.])
    """
    if not _has_tensor([x, weights]) and length is None:
        return np.bincount(x, weights, minlength)
    x = _as_input(x)
    dtype = x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype
    if not np.can_cast(dtype, np.intp, "safe"):  # (NumPy's refusals, before the number of bins)
        raise TypeError(f"bincount: x must hold non-negative integers, not {dtype} (NumPy cannot cast "
                        f"it to {np.dtype(np.intp)} by the rule 'safe')")
    if len(shape_of(x)) != 1:
        raise ValueError(f"bincount: x must be 1-d, not of shape {shape_of(x)}")
    if length is None:
        if batched(x):
            raise TypeError(
                "bincount inside chainrule.vmap: the number of bins depends on each example's "
                "values; give it as JAX does, bincount(x, weights, length=n)")
        length = _bins_needed(x, minlength)
    elif isinstance(length, bool) or not isinstance(length, int | np.integer) or length < 0:
        raise TypeError(f"bincount: length must be a non-negative int, not {length!r}")
    if weights is None:
        return _counts(x, int(length))
    kept = x < length
    spread = cnp.broadcast_to(cnp.where(kept, weights, 0.0), shape_of(x))
    return scatter_add(cnp.ravel(spread), cnp.ravel(cnp.where(kept, x, 0)), (int(length),))

"""What the distribution modules share: registration and the standardised variable."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy.registry import mirrors

__all__ = ["LOG2", "exported", "inexact_args", "widened_args", "standardize", "on_support", "counts"]


def exported(distribution: str, widens: bool = True) -> Callable[[Callable], Callable]:
    """Decorator: list ``distribution.function`` among the supported functions, which
    computes in SciPy's dtype: float64 for float16 and float32 arguments where ``widens``
    (:func:`widened_args`; SciPy's distributions compute so, and HIPS autograd's, which
    call SciPy's), else in the floating dtype of its array arguments (SciPy's
    ``dirichlet``: :func:`inexact_args`), and returns a scalar result as a NumPy number
    (SciPy's type: ``norm.logpdf(0.3)`` is an ``np.float64``, not a 0-d array)."""

    def deco(f: Callable) -> Callable:
        @functools.wraps(f)
        def function(*args, **kwargs):
            if widens:
                args, kwargs = widened_args(args, kwargs)
                return _numpy_scalar(f(*args, **kwargs))
            args, kwargs = inexact_args(args, kwargs)
            return _numpy_scalar(in_dtype_of(f(*args, **kwargs), args, kwargs))

        return mirrors(None, "scipy.stats", f"{distribution}.{f.__name__}")(function)

    return deco


def _numpy_scalar(result):
    """A 0-d array or a Python number as a NumPy number; arrays and Tensors unchanged."""
    if isinstance(result, np.ndarray) and result.ndim == 0:
        return result[()]
    if isinstance(result, int | float | complex) and not isinstance(result, np.generic | bool):
        return np.asarray(result)[()]
    return result


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _floating(values) -> list:
    return [v.dtype for v in values
            if isinstance(getattr(v, "dtype", None), np.dtype) and v.dtype.kind in "fc"]


def in_dtype_of(result, args, kwargs=None):
    """A distribution's ``result`` in the floating dtype of its array arguments (float32
    for float32 arguments, as JAX's), where a float64 constant widened it."""
    floating = _floating([*args, *kwargs.values()] if kwargs else args)
    if not floating or all(d == np.float64 for d in floating):
        return result
    dtype = np.result_type(*floating)
    if getattr(result, "dtype", dtype) == dtype or np.dtype(result.dtype).kind != "f":
        return result
    return cnp.astype(result, dtype) if isinstance(result, Tensor) else np.asarray(result, dtype)


_NARROW = frozenset(map(np.dtype, (np.float16, np.float32, np.complex64)))


def widened_args(args, kwargs=None):
    """``args`` (and ``kwargs``) with their float16 and float32 arrays (and complex64)
    in float64 (complex128), as SciPy's distributions take them: a float32 input gives a
    float64 result, and its derivative comes back in float32. Unchanged where no argument
    is such an array.

    >>> import numpy as np
    >>> widened_args((np.ones(2, np.float32), 2.0))[0][0].dtype
    dtype('float64')
    """
    if not any(d in _NARROW for d in _floating([*args, *kwargs.values()] if kwargs else args)):
        return args, kwargs

    def cast(v):
        dtype = getattr(v, "dtype", None)
        if dtype not in _NARROW:
            return v
        wide = np.complex128 if dtype.kind == "c" else np.float64
        return cnp.astype(v, wide) if isinstance(v, Tensor) else np.asarray(v, wide)

    return tuple(map(cast, args)), ({k: cast(v) for k, v in kwargs.items()} if kwargs else kwargs)


def inexact_args(args, kwargs=None):
    """``args`` (and ``kwargs``) in their floating arrays' dtype, as JAX promotes them: a
    Python number, or an integer array, given with float32 arrays becomes float32, so that
    a float32 input gives a float32 result (NumPy would widen it to float64 at the first
    constant). Unchanged where no argument is a floating array.

    >>> import numpy as np
    >>> inexact_args((np.ones(2, np.float32), 2.0, np.arange(2)))[0][1:]
    (array(2., dtype=float32), array([0., 1.], dtype=float32))
    """
    floating = _floating([*args, *kwargs.values()] if kwargs else args)
    if not floating or all(d == np.float64 for d in floating):
        return args, kwargs
    dtype = np.result_type(*floating)

    def cast(v):
        if _is_number(v):
            return np.asarray(v, dtype)
        kind = getattr(getattr(v, "dtype", None), "kind", None)
        if kind in ("i", "u"):
            return cnp.astype(v, dtype) if isinstance(v, Tensor) else np.asarray(v, dtype)
        return v

    return tuple(map(cast, args)), ({k: cast(v) for k, v in kwargs.items()} if kwargs else kwargs)


def standardize(x, loc, scale):
    return (x - loc) / scale


def on_support(inside, z, interior: float):
    """``z`` where ``inside`` holds, ``interior`` (a point of the support) elsewhere.

    A density is evaluated on this and then replaced outside the support: the discarded
    branch then has finite derivatives, so no nan leaks into the gradient through the
    zero cotangent that ``where`` sends it.
    """
    return cnp.where(inside, z, interior)


NEG_INF = -np.inf
LOG2 = float(np.log(2.0))  # a Python number: it takes the dtype of what it meets


def counts(k, loc=0, high=None):
    """A discrete distribution's argument: ``(k, inside, off)``.

    ``k - loc`` as plain numbers (a count has no derivative), 0 where it is not a count in
    ``[0, high]``; where it is; and the log mass off the support, SciPy's: -inf, nan where
    ``k`` is nan.
    """
    k = cnp.subtract(undifferentiated(k), undifferentiated(loc))
    inside = (k >= 0) & (k == cnp.floor(k))
    if high is not None:
        inside = inside & (k <= high)
    return cnp.where(inside, k, 0), inside, cnp.where(cnp.isnan(k), np.nan, NEG_INF)



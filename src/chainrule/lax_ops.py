"""``jax.lax``'s array operations, for code written with them: each is the
``chainrule.numpy`` (or ``chainrule.scipy.special``) composition it stands for, so every
transform (``grad``, ``jvp``, ``vmap``, ``jit``) sees through it. ``chainrule.lax``
re-exports them beside its control flow and collectives.

>>> import chainrule as cr, numpy as np
>>> from chainrule import lax
>>> lax.dot_general(np.ones((2, 3, 4)), np.ones((2, 4)), (((2,), (1,)), ((0,), (0,)))).shape
(2, 3)
"""

from __future__ import annotations

import builtins
import enum
import string
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import def_batch
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.numpy import batching
from chainrule.numpy.activations import sigmoid
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.registry import elementwise_derivatives as derivs
from chainrule.numpy.registry import wrap
from chainrule.numpy.torch_special import as_pytorch, scipy_special

__all__ = ["add", "sub", "mul", "neg", "max", "min", "abs", "sign", "floor", "ceil", "sqrt", "cbrt", "square",
           "exp", "exp2", "log", "expm1", "log1p", "sin", "cos", "tan", "asin", "acos", "atan", "atan2",
           "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "real", "imag", "conj", "is_finite",
           "nextafter", "eq", "ne", "lt", "le", "gt", "ge", "rem", "erf", "erfc", "erf_inv", "lgamma",
           "digamma", "logistic", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "pow",
           "integer_pow", "rsqrt", "div", "round", "RoundingMethod", "Precision", "convert_element_type", "select_n",
           "broadcast",
           "broadcast_in_dim", "reshape", "squeeze", "expand_dims", "transpose", "rev", "collapse",
           "concatenate", "slice", "slice_in_dim", "index_in_dim", "pad", "iota", "full", "full_like",
           "argmax", "argmin", "cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp", "associative_scan",
           "sort", "sort_key_val", "top_k", "dot", "dot_general", "batch_matmul"]

# -- elementwise: JAX's names for chainrule.numpy's functions, taking the dtypes JAX's take ----------
_KIND_NAMES = {"b": "bool", "u": "unsigned integer", "i": "signed integer", "f": "floating-point",
               "c": "complex"}


def _dtype(x) -> np.dtype:
    return np.dtype(x.dtype) if hasattr(x, "dtype") else np.asarray(x).dtype


def _kind(x) -> str:
    return _dtype(x).kind


def _check(name: str, kinds: str, args: tuple, same: bool = True) -> None:
    """JAX's checks of an elementwise operation's operands: each of a dtype the operation
    takes (``kinds``: NumPy's letters), and all of one dtype (``same``; a Python number is
    the 64-bit one of its kind, as in JAX, which does not promote in ``lax``)."""
    dtypes = [_dtype(x) for x in args]
    for k, dtype in enumerate(dtypes):
        if dtype.kind not in kinds:
            takes = ", ".join(_KIND_NAMES[c] for c in kinds)
            where = f" (argument {k})" if len(args) > 1 else ""
            raise TypeError(f"lax.{name} does not take {dtype} values{where}, as in JAX: it takes {takes} values; "
                            "convert with lax.convert_element_type")
    if same and len(set(dtypes)) > 1:
        raise TypeError(f"lax.{name} requires arguments of one dtype, as in JAX (which does not promote in lax), "
                        f"got {', '.join(map(str, dtypes))}; convert with lax.convert_element_type, or use the "
                        "chainrule.numpy function, which promotes")


def _elementwise(fun: Callable, name: str, kinds: str) -> Callable:
    def operation(*args):
        _check(name, kinds, args)
        return fun(*args)

    operation.__name__ = operation.__qualname__ = name
    operation.__doc__ = (f"``jax.lax.{name}``: ``{getattr(fun, '__name__', name)}`` of operands of one dtype, "
                         f"each {' or '.join(_KIND_NAMES[c] for c in kinds)} (a TypeError otherwise, as in JAX).")
    return operation


def _each(kinds: str, **functions: Callable) -> tuple:
    return tuple(_elementwise(fun, name, kinds) for name, fun in functions.items())


_FLOATS, _INEXACT, _NUMBERS, _ALL, _BITS = "f", "fc", "uifc", "buifc", "bui"
sin, cos, tan, asin, acos, atan, atan2 = _each(_INEXACT, sin=cnp.sin, cos=cnp.cos, tan=cnp.tan, asin=cnp.arcsin,
                                               acos=cnp.arccos, atan=cnp.arctan, atan2=cnp.arctan2)
sinh, cosh, tanh, asinh, acosh, atanh = _each(_INEXACT, sinh=cnp.sinh, cosh=cnp.cosh, tanh=cnp.tanh,
                                              asinh=cnp.arcsinh, acosh=cnp.arccosh, atanh=cnp.arctanh)
exp, exp2, log, expm1, log1p, sqrt = _each(_INEXACT, exp=cnp.exp, exp2=cnp.exp2, log=cnp.log, expm1=cnp.expm1,
                                           log1p=cnp.log1p, sqrt=cnp.sqrt)
floor, ceil, cbrt, is_finite, nextafter = _each(_FLOATS, floor=cnp.floor, ceil=cnp.ceil, cbrt=cnp.cbrt,
                                                is_finite=cnp.isfinite, nextafter=cnp.nextafter)
neg, square, add, sub, mul = _each(_NUMBERS, neg=cnp.negative, square=cnp.square, add=cnp.add, sub=cnp.subtract,
                                   mul=cnp.multiply)
eq, ne = _each(_ALL, eq=cnp.equal, ne=cnp.not_equal)
lt, le, gt, ge = _each("buif", lt=cnp.less, le=cnp.less_equal, gt=cnp.greater, ge=cnp.greater_equal)
bitwise_and, bitwise_or, bitwise_xor, bitwise_not = _each(_BITS, bitwise_and=cnp.bitwise_and,
                                                          bitwise_or=cnp.bitwise_or, bitwise_xor=cnp.bitwise_xor,
                                                          bitwise_not=cnp.invert)


def _signed_zero_tie(pick_min: bool) -> Callable:
    def select(x, y):
        _check("min" if pick_min else "max", _ALL, (x, y))
        out = (cnp.minimum if pick_min else cnp.maximum)(x, y)
        if _kind(x) not in "fc":
            return out
        # XLA's min(-0.0, 0.0) is -0.0 and max(-0.0, 0.0) is 0.0, whatever the order, where
        # NumPy's takes the second; half the derivative to each, as at other ties
        half = -0.5 * (-x + -y) if pick_min else 0.5 * (x + y)
        return cnp.where((x == 0) & (y == 0), half, out)

    select.__name__ = select.__qualname__ = "min" if pick_min else "max"
    select.__doc__ = (f"``jax.lax.{select.__name__}``: the {'smaller' if pick_min else 'larger'} of ``x`` and "
                      f"``y`` elementwise (NaN if either is; {'-0.0' if pick_min else '0.0'} of -0.0 and 0.0), "
                      "the derivative shared at ties.")
    return select


max, min = _signed_zero_tie(False), _signed_zero_tie(True)  # noqa: A001 (JAX's names)


def abs(x):  # noqa: A001 (JAX's name)
    """``|x|``, as ``jax.lax.abs`` (signed integers, floats and complex numbers)."""
    _check("abs", "ifc", (x,))
    return cnp.abs(x)


def sign(x):
    """-1, 0 or 1 by the sign of ``x``; -0.0 and NaN kept, as ``jax.lax.sign``."""
    _check("sign", _NUMBERS, (x,))
    return cnp.where(x == 0, x * 0, cnp.sign(x)) if _kind(x) == "f" else cnp.sign(x)  # (x * 0: no derivative)


def real(x):
    """The real part of a complex ``x`` (a float is refused, as in JAX)."""
    _check("real", "c", (x,))
    return cnp.real(x)


def imag(x):
    """The imaginary part of a complex ``x`` (a float is refused, as in JAX)."""
    _check("imag", "c", (x,))
    return cnp.imag(x)


def conj(x):
    """The complex conjugate of ``x``, complex also for a float ``x``, as ``jax.lax.conj``."""
    _check("conj", _INEXACT, (x,))
    return cnp.conj(x if _kind(x) == "c" else cnp.astype(x, np.result_type(_dtype(x), np.complex64)))


def rem(x, y):
    """C's remainder (the sign of the dividend), as XLA's: for integers ``rem(x, 0)`` is ``x``."""
    _check("rem", "uif", (x, y))
    if _kind(x) == "f":
        return cnp.fmod(x, y)
    zero = cnp.equal(y, 0)
    return cnp.where(zero, x, cnp.fmod(x, cnp.where(zero, cnp.ones_like(y), y)))


def _special(name: str, scipy_name: str) -> Callable:
    def function(x):
        _check(name, _FLOATS, (x,))
        return as_pytorch(scipy_name, x, scipy_special(scipy_name)(x))

    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"jax.lax.{name}: chainrule.scipy.special.{scipy_name} of floats, with JAX's values where "
                        "SciPy's differ (needs the scipy extra).")
    return function


erf, erfc, erf_inv = _special("erf", "erf"), _special("erfc", "erfc"), _special("erf_inv", "erfinv")
lgamma, digamma = _special("lgamma", "gammaln"), _special("digamma", "digamma")


def logistic(x):
    """``1 / (1 + exp(-x))``, as ``jax.lax.logistic``."""
    _check("logistic", _INEXACT, (x,))
    return sigmoid(x)


def pow(x, y):  # noqa: A001 (JAX's name)
    """``x ** y``, as ``jax.lax.pow``: ``x`` a float or complex number, ``y`` an integer or
    a number of ``x``'s dtype."""
    _check("pow", _INEXACT, (x,))
    _check("pow", "uifc", (y,))
    if _kind(y) in "fc" and _dtype(x) != _dtype(y):
        raise TypeError(f"lax.pow: an inexact exponent must have the base's dtype, as in JAX, got {_dtype(x)} and "
                        f"{_dtype(y)}")
    return cnp.power(x, y)


def integer_pow(x, y: int):
    """``x ** y`` for a Python int ``y``, as ``jax.lax.integer_pow`` (an integer ``x`` to a
    negative power is refused)."""
    _check("integer_pow", _NUMBERS, (x,))
    if int(y) < 0 and _kind(x) in "iu":
        raise TypeError(f"lax.integer_pow: integers cannot be raised to the negative power {y}, as in JAX; "
                        "convert x to a float first")
    return cnp.power(x, int(y))


def _reciprocal_sqrt(x):
    return np.reciprocal(np.sqrt(x))


# A primitive for JAX's derivative -ans / (2 x), negative at -0.0 too: the composition
# 1 / sqrt(x) has +inf there (sqrt(-0.0) is -0.0, and two infinities of one sign meet)
_rsqrt = wrap(_reciprocal_sqrt, "lax", "rsqrt", public=False)
derivs(_rsqrt, lambda ans, x: -0.5 * ans / x)
def_batch(batching.elementwise, _rsqrt)


def rsqrt(x):
    """``1 / sqrt(x)``, as ``jax.lax.rsqrt``; its derivative is ``-rsqrt(x) / (2 x)``,
    -inf at both signed zeros, as JAX's.

    >>> from chainrule import lax
    >>> float(lax.rsqrt(4.0))
    0.5
    """
    _check("rsqrt", _INEXACT, (x,))
    return _rsqrt(x)


def div(x, y):
    """``x / y``; for integers rounded toward zero (C's division), as ``jax.lax.div``, and
    XLA's ``x / 0``: -1 (all bits set) for signed integers, the largest value for unsigned."""
    _check("div", _NUMBERS, (x, y))
    if _kind(x) not in "iu":
        return cnp.divide(x, y)
    zero = cnp.equal(y, 0)
    y = cnp.where(zero, cnp.ones_like(y), y)
    if _kind(x) == "u":
        return cnp.where(zero, _dtype(x).type(np.iinfo(_dtype(x)).max), cnp.floor_divide(x, y))
    q = cnp.floor_divide(cnp.abs(x), cnp.abs(y))
    return cnp.where(zero, _dtype(x).type(-1), cnp.where(cnp.logical_xor(cnp.less(x, 0), cnp.less(y, 0)), -q, q))


class RoundingMethod(enum.IntEnum):
    """``jax.lax.RoundingMethod``: how :func:`round` breaks ties."""

    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1


class Precision(enum.Enum):
    """``jax.lax.Precision``, for the ``precision=`` of products and convolutions: how an
    accelerator rounds float32 operands. NumPy multiplies in the operands' own precision,
    so every value gives the same result here. Strings name them as in JAX."""

    DEFAULT = 0
    HIGH = 1
    HIGHEST = 2

    @classmethod
    def _missing_(cls, value):
        names = {"default": 0, "fastest": 0, "bfloat16": 0, "high": 1, "bfloat16_3x": 1, "tensorfloat32": 1,
                 "highest": 2, "float32": 2}
        return cls(names[value]) if isinstance(value, str) and value in names else None


def round(x, rounding_method=RoundingMethod.AWAY_FROM_ZERO):  # noqa: A001 (JAX's name)
    """``x`` rounded half away from zero (``rounding_method=0``, JAX's default) or half to
    even (``1``), as ``jax.lax.round``."""
    if _kind(x) != "f":
        raise TypeError(f"lax.round takes floating-point values (as JAX's), got {_dtype(x)}; "
                        "an integer is already whole")
    if int(getattr(rounding_method, "value", rounding_method)) == 1:
        return cnp.round(x)
    whole = cnp.trunc(x)  # then one step away from zero where the part cut off is half or more
    return cnp.where(cnp.abs(x - whole) >= 0.5, whole + cnp.sign(x), whole)  # (-0.3 gives -0.0)


def convert_element_type(operand, new_dtype):
    """``operand`` cast to ``new_dtype`` as XLA casts: floats to integers round toward zero
    and saturate (NaN gives 0, a value past the type's range its least or greatest value),
    where NumPy's cast leaves those undefined."""
    x = cnp.asarray(operand) if not hasattr(operand, "dtype") else operand
    dtype = np.dtype(new_dtype)
    if dtype.kind not in "iu" or _kind(x) not in "fc":
        return cnp.astype(x, dtype)
    x = cnp.real(x)
    info = np.iinfo(dtype)
    high, low = x >= float(info.max), x <= float(info.min)
    inside = cnp.astype(cnp.where(cnp.isnan(x) | high | low, 0, x), dtype)
    return cnp.where(high, dtype.type(info.max), cnp.where(low, dtype.type(info.min), inside))


def select_n(which, *cases):
    """``cases[which]`` elementwise (``which`` boolean: ``cases[1]`` where it holds), as
    ``jax.lax.select_n``: the cases of one shape and dtype, ``which`` a boolean (for at most
    two cases) or an integer, 0-d or of the cases' shape; an index out of range takes the
    nearest case, as XLA's tree of selects does.

    >>> import numpy as np
    >>> select_n(np.array([0, 1, 5], np.int32), np.zeros(3), np.ones(3))
    array([0., 1., 1.])
    """
    if not cases:
        raise ValueError("select_n needs at least one case")
    _check_select("select_n", which, cases)
    if _kind(which) == "b":
        return cases[0] if len(cases) == 1 else cnp.where(which, cases[1], cases[0])
    out = cases[-1]
    for k in builtins.range(len(cases) - 2, -1, -1):  # which <= k: case k or one before it
        out = cnp.where(cnp.less_equal(which, k), cases[k], out)
    return out


def _check_select(name: str, which, cases: tuple) -> None:
    """JAX's checks of ``select`` and ``select_n``: a TypeError naming what differs."""
    if _kind(which) not in "biu":
        raise TypeError(f"lax.{name}: the predicate (which) must be a boolean or an integer, as in JAX, got "
                        f"{_dtype(which)}")
    if _kind(which) == "b" and len(cases) > 2:
        raise TypeError(f"lax.{name}: a boolean predicate chooses between at most two cases, as in JAX, got "
                        f"{len(cases)}; give an integer one")
    shapes = {tuple(shape_of(case)) for case in cases}
    if len(shapes) > 1:
        raise TypeError(f"lax.{name}: the cases must have one shape, as in JAX (which does not broadcast in lax), "
                        f"got {', '.join(str(tuple(shape_of(c))) for c in cases)}; use chainrule.numpy.where, "
                        "which broadcasts")
    _check(name, _ALL, tuple(cases))
    shape = tuple(shape_of(which))
    if shape and shape != tuple(shape_of(cases[0])):
        raise TypeError(f"lax.{name}: the predicate (which) must be 0-d or of the cases' shape, as in JAX, got "
                        f"{shape} for cases of shape {tuple(shape_of(cases[0]))}")


# -- shapes -----------------------------------------------------------------------------------------
def broadcast(operand, sizes: Sequence[int]):
    """``operand`` with leading axes of ``sizes`` added, as ``jax.lax.broadcast``."""
    return cnp.broadcast_to(operand, (*sizes, *shape_of(operand)))


def broadcast_in_dim(operand, shape: Sequence[int], broadcast_dimensions: Sequence[int]):
    """``operand``'s axis ``i`` becomes axis ``broadcast_dimensions[i]`` of an array of
    ``shape``, as ``jax.lax.broadcast_in_dim``."""
    placed = [1] * len(shape)
    for axis, dim in zip(broadcast_dimensions, shape_of(operand), strict=True):
        placed[axis] = dim
    return cnp.broadcast_to(cnp.reshape(operand, tuple(placed)), tuple(shape))


def reshape(operand, new_sizes: Sequence[int], dimensions: Sequence[int] | None = None):
    """``operand`` (its axes first put in the order ``dimensions``) reshaped to
    ``new_sizes`` in C order, as ``jax.lax.reshape``."""
    if dimensions is not None:
        operand = cnp.transpose(operand, tuple(dimensions))
    return cnp.reshape(operand, tuple(new_sizes))


def squeeze(array, dimensions: Sequence[int]):
    """``array`` without the axes ``dimensions`` (each of length 1)."""
    return cnp.squeeze(array, axis=tuple(dimensions))


def expand_dims(array, dimensions: Sequence[int]):
    """``array`` with axes of length 1 at ``dimensions``."""
    return cnp.expand_dims(array, tuple(dimensions))


def transpose(operand, permutation: Sequence[int]):
    """``operand``'s axes in the order ``permutation``."""
    if sorted(builtins.range(len(permutation))) != sorted(permutation) or len(permutation) != len(shape_of(operand)):
        raise TypeError(f"lax.transpose: the permutation {tuple(permutation)} must order all "
                        f"{len(shape_of(operand))} axes of the operand, as in JAX")
    return cnp.transpose(operand, tuple(permutation))


def rev(operand, dimensions: Sequence[int]):
    """``operand`` reversed along ``dimensions``."""
    ndim = len(shape_of(operand))
    if len(set(dimensions)) != len(dimensions) or any(not 0 <= d < ndim for d in dimensions):
        raise TypeError(f"lax.rev: dimensions {tuple(dimensions)} must be distinct axes of the operand, in "
                        f"[0, {ndim}), as in JAX")
    return cnp.flip(operand, axis=tuple(dimensions)) if len(dimensions) else operand


def collapse(operand, start_dimension: int, stop_dimension: int | None = None):
    """``operand`` with the axes from ``start_dimension`` up to ``stop_dimension`` merged."""
    shape = shape_of(operand)
    stop = len(shape) if stop_dimension is None else stop_dimension
    return cnp.reshape(operand, (*shape[:start_dimension], -1, *shape[stop:]))


def concatenate(operands: Sequence, dimension: int):
    """``operands`` joined along ``dimension``."""
    if not operands or any(len(shape_of(x)) == 0 for x in operands):
        raise TypeError("lax.concatenate needs one or more operands of one or more axes, as in JAX; "
                        "stack 0-d values with lax.broadcast or expand_dims first")
    _check("concatenate", _ALL, tuple(operands))
    return cnp.concatenate(list(operands), axis=dimension)


def slice(operand, start_indices: Sequence[int], limit_indices: Sequence[int],  # noqa: A001
          strides: Sequence[int] | None = None):
    """``operand[start:limit:stride]`` along every axis, as ``jax.lax.slice``: the indices
    within the operand's shape, never counted from the end (a TypeError otherwise, as in JAX)."""
    shape = shape_of(operand)
    strides = strides or (1,) * len(start_indices)
    if not len(start_indices) == len(limit_indices) == len(strides) == len(shape):
        raise TypeError(f"lax.slice: an operand of shape {tuple(shape)} needs {len(shape)} start indices, limit "
                        f"indices and strides, got {tuple(start_indices)}, {tuple(limit_indices)}, {tuple(strides)}")
    if any(not 0 <= s <= e <= n or k < 1 for s, e, k, n in zip(start_indices, limit_indices, strides, shape,
                                                                strict=True)):
        raise TypeError(f"lax.slice: need 0 <= start <= limit <= size and stride >= 1 along each axis, as in JAX, "
                        f"got starts {tuple(start_indices)}, limits {tuple(limit_indices)}, strides {tuple(strides)} "
                        f"for shape {tuple(shape)} (lax.slice_in_dim counts negative indices from the end)")
    return operand[tuple(builtins.slice(s, e, k) for s, e, k in zip(start_indices, limit_indices, strides,
                                                                    strict=True))]




def slice_in_dim(operand, start_index: int | None, limit_index: int | None, stride: int = 1, axis: int = 0):
    """``operand[start:limit:stride]`` along ``axis`` (negative indices count from the end
    once; then they must lie within the axis, as in JAX)."""
    shape = shape_of(operand)
    axis = axis % len(shape)
    n = shape[axis]
    start = 0 if start_index is None else start_index + n if start_index < 0 else start_index
    limit = n if limit_index is None else limit_index + n if limit_index < 0 else limit_index
    starts, limits, strides = [0] * len(shape), list(shape), [1] * len(shape)
    starts[axis], limits[axis], strides[axis] = start, limit, stride
    return slice(operand, starts, limits, strides)


def index_in_dim(operand, index: int, axis: int = 0, keepdims: bool = True):
    """Entry ``index`` of ``operand`` along ``axis`` (kept as an axis of length 1)."""
    axis = axis % len(shape_of(operand))
    n = shape_of(operand)[axis]
    if not -n <= index < n:
        raise IndexError(f"lax.index_in_dim: index {index} is out of bounds for axis {axis} with size {n}")
    index = index + n if index < 0 else index
    out = slice_in_dim(operand, index, index + 1, 1, axis)
    return out if keepdims else cnp.squeeze(out, axis=axis)


def pad(operand, padding_value, padding_config: Sequence[tuple[int, int, int]]):
    """``operand`` padded with ``padding_value``: per axis ``(low, high, interior)``, with
    ``interior`` values between neighbours and a negative ``low`` or ``high`` cutting
    entries off, as ``jax.lax.pad``."""
    shape = shape_of(operand)
    if _dtype(padding_value) != _dtype(operand) and not isinstance(padding_value, int | float | bool):
        raise TypeError(f"lax.pad: the padding value must have the operand's dtype, as in JAX, got "
                        f"{_dtype(operand)} and {_dtype(padding_value)}")
    if len(padding_config) != len(shape):
        raise ValueError(f"lax.pad: padding_config needs one (low, high, interior) per axis of the operand "
                         f"{tuple(shape)}, got {padding_config}")
    for (low, high, interior), n in zip(padding_config, shape, strict=True):
        if interior < 0:
            raise ValueError(f"pad: interior padding must be >= 0, got {interior}")
        if low + high + n + builtins.max(n - 1, 0) * interior < 0:
            raise ValueError(f"lax.pad: padding {(low, high, interior)} leaves fewer than 0 entries of an axis of "
                             f"length {n}, as JAX refuses")
    out = operand
    for axis, (low, high, interior) in enumerate(padding_config):
        n = shape_of(out)[axis]
        if interior and n > 1:
            fill = cnp.zeros_like(out) + padding_value
            spread = cnp.stack([out, *([fill] * interior)], axis=axis + 1)
            shape = shape_of(spread)
            spread = cnp.reshape(spread, (*shape[:axis], -1, *shape[axis + 2:]))
            out = _in_dim(spread, 0, n + (n - 1) * interior, axis)
        out = _extend(out, low, axis, padding_value, before=True)
        out = _extend(out, high, axis, padding_value, before=False)
    return out


def _in_dim(x, start: int, stop: int, axis: int):
    return x[(builtins.slice(None),) * axis + (builtins.slice(start, stop),)]


def _extend(x, k: int, axis: int, value, before: bool):
    n = shape_of(x)[axis]
    if k < 0:
        return _in_dim(x, -k, n, axis) if before else _in_dim(x, 0, n + k, axis)
    if k == 0:
        return x
    shape = list(shape_of(x))
    shape[axis] = k
    block = cnp.zeros(tuple(shape), x.dtype) + value
    block = cnp.astype(block, x.dtype) if block.dtype != x.dtype else block
    return cnp.concatenate([block, x] if before else [x, block], axis=axis)


def iota(dtype, size: int):
    """``0, 1, ..., size - 1`` of ``dtype``."""
    return np.arange(size, dtype=np.dtype(dtype))


def full(shape: Sequence[int], fill_value, dtype=None):
    """An array of ``shape`` filled with ``fill_value`` (a traced value too)."""
    dtype = np.dtype(dtype) if dtype is not None else _dtype(fill_value)
    value = cnp.astype(cnp.asarray(fill_value), dtype)
    return cnp.copy(cnp.broadcast_to(value, tuple(shape)))  # (not zeros + value, which makes -0.0 0.0)


def full_like(x, fill_value, dtype=None, shape=None):
    """An array like ``x`` (or of ``shape``) filled with ``fill_value``."""
    return full(shape_of(x) if shape is None else shape, fill_value, x.dtype if dtype is None else dtype)


# -- reductions, scans, sorting, products -------------------------------------------------------------
def argmax(operand, axis: int, index_dtype):
    """The position of the largest entry along ``axis``, as ``index_dtype``."""
    return cnp.astype(cnp.argmax(operand, axis=axis), np.dtype(index_dtype))


def argmin(operand, axis: int, index_dtype):
    """The position of the smallest entry along ``axis``, as ``index_dtype``."""
    return cnp.astype(cnp.argmin(operand, axis=axis), np.dtype(index_dtype))


def _cumulative(name: str, accumulate: Callable) -> Callable:
    def cumulative(operand, axis: int = 0, reverse: bool = False):
        if _kind(operand) == "b":
            raise TypeError(f"lax.{name} does not take bool values, as in JAX: it takes numbers; "
                            "convert with lax.convert_element_type")
        if reverse:
            return cnp.flip(accumulate(cnp.flip(operand, axis=axis), axis), axis=axis)
        return accumulate(operand, axis)

    cumulative.__name__ = cumulative.__qualname__ = name
    cumulative.__doc__ = (f"``jax.lax.{name}``: the running {name[3:]} along ``axis`` (from the end if "
                          "``reverse``), in the operand's dtype (integers wrap, as XLA's); bools are refused.")
    return cumulative


cumsum = _cumulative("cumsum", lambda x, axis: cnp.cumsum(x, axis=axis, dtype=_dtype(x)))  # (int8 wraps, as XLA's)
cumprod = _cumulative("cumprod", lambda x, axis: cnp.cumprod(x, axis=axis, dtype=_dtype(x)))


def _running_extremum(largest: bool) -> Callable:
    def accumulate(x, axis: int):
        out = (cnp.maximum if largest else cnp.minimum).accumulate(x, axis=axis)
        if _kind(x) != "f":
            return out
        # XLA's max(-0.0, 0.0) is 0.0 and min -0.0, NumPy's the later one: a running zero
        # takes the sign that any zero before it of that sign gives (the derivative kept)
        zero = cnp.equal(x, 0) & (cnp.signbit(x) if not largest else ~cnp.signbit(x))
        seen = cnp.cumsum(zero, axis=axis) > 0
        return cnp.where(cnp.equal(out, 0) & seen, out + 0.0 if largest else -(-out + 0.0), out)

    return accumulate


cummax = _cumulative("cummax", _running_extremum(True))
cummin = _cumulative("cummin", _running_extremum(False))
cumlogsumexp = _cumulative("cumlogsumexp", lambda x, axis: cnp.logaddexp.accumulate(x, axis=axis))


def associative_scan(fn: Callable, elems: Any, reverse: bool = False, axis: int = 0):
    """The running combination ``fn(fn(e0, e1), e2)...`` of the slices of ``elems`` (a
    pytree) along ``axis``, as ``jax.lax.associative_scan`` (``fn`` associative; it is
    applied in order, one slice at a time; ``reverse`` scans the flipped slices).

    >>> import numpy as np
    >>> associative_scan(lambda a, b: a + b, np.arange(1.0, 5.0))
    array([ 1.,  3.,  6., 10.])
    """
    leaves, tree = tree_flatten(elems)
    if not leaves:
        return elems
    n = shape_of(leaves[0])[axis]
    if any(shape_of(leaf)[axis] != n for leaf in leaves):
        raise ValueError("associative_scan: the leaves of elems differ in length along axis")
    if n == 0:
        return elems
    order = range(n - 1, -1, -1) if reverse else range(n)
    running, outs = None, []
    for i in order:
        item = tree_unflatten(tree, [cnp.take(leaf, i, axis=axis) for leaf in leaves])
        running = item if running is None else fn(running, item)  # (reverse: fn of the flipped slices)
        outs.append(tree_flatten(running)[0])
    if reverse:
        outs.reverse()
    return tree_unflatten(tree, [cnp.stack([o[k] for o in outs], axis=axis) for k in range(len(leaves))])


def sort(operand, dimension: int = -1, is_stable: bool = True, num_keys: int = 1):
    """``operand`` sorted along ``dimension``; a tuple of arrays is sorted together by its
    first ``num_keys`` (lexicographically), as ``jax.lax.sort``."""
    if not isinstance(operand, tuple | list):
        return cnp.sort(operand, axis=dimension, kind="stable")
    keys = [cnp.asarray(k) for k in operand[:num_keys]]
    order = cnp.argsort(keys[-1], axis=dimension, kind="stable")
    for key in reversed(keys[:-1]):  # the last key first, then stable sorts by the others
        order = cnp.take_along_axis(order, cnp.argsort(cnp.take_along_axis(key, order, axis=dimension),
                                                       axis=dimension, kind="stable"), axis=dimension)
    return tuple(cnp.take_along_axis(o, order, axis=dimension) for o in operand)


def sort_key_val(keys, values, dimension: int = -1):
    """``keys`` sorted along ``dimension``, and ``values`` in the same order."""
    return sort((keys, values), dimension=dimension, num_keys=1)


def top_k(operand, k: int):
    """The ``k`` largest entries along the last axis, largest first (ties: the first
    position first), and their positions (int32), as a list, as ``jax.lax.top_k``. Floats
    in XLA's total order: NaN above infinity, 0.0 above -0.0, a NaN with its sign bit set
    below everything."""
    n = shape_of(operand)[-1] if shape_of(operand) else None
    if n is None or not 0 <= k <= n:
        raise ValueError(f"lax.top_k: k must lie in [0, n] for an operand of n entries along its last axis, "
                         f"as in JAX, got k={k} for shape {tuple(shape_of(operand))}")
    if _kind(operand) == "c":
        raise ValueError("lax.top_k does not take complex values, as in JAX")
    if _kind(operand) != "f":  # ~x orders integers downwards without overflow (-x does not: 0 - uint, -int_min)
        order = cnp.argsort(cnp.invert(operand), axis=-1, kind="stable")
    else:  # stable sorts by the keys from the least significant: the sign of zero, the value, NaN
        order = cnp.argsort(cnp.signbit(operand), axis=-1, kind="stable")
        for key in (-operand, cnp.where(cnp.isnan(operand), cnp.where(cnp.signbit(operand), 1, -1), 0)):
            order = cnp.take_along_axis(order, cnp.argsort(cnp.take_along_axis(key, order, axis=-1), axis=-1,
                                                           kind="stable"), axis=-1)
    index = order[..., :k]
    return [cnp.take_along_axis(operand, index, axis=-1), cnp.astype(index, np.int32)]


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    """``np.dot`` for vectors and matrices, as ``jax.lax.dot``."""
    out = cnp.dot(lhs, rhs)
    return out if preferred_element_type is None else cnp.astype(out, np.dtype(preferred_element_type))


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """A product contracting ``lhs``'s and ``rhs``'s axes ``((lhs_contract, rhs_contract),
    (lhs_batch, rhs_batch))``: the batch axes first, then ``lhs``'s free axes, then
    ``rhs``'s, as ``jax.lax.dot_general`` (one ``einsum``)."""
    (lc, rc), (lb, rb) = dimension_numbers
    nl, nr = len(shape_of(lhs)), len(shape_of(rhs))
    letters = iter(string.ascii_letters)
    left = [next(letters) for _ in range(nl)]
    right = [next(letters) for _ in range(nr)]
    for a, b in zip((*lc, *lb), (*rc, *rb), strict=True):
        right[b] = left[a]
    batch = [left[a] for a in lb]
    free_l = [left[a] for a in range(nl) if a not in lc and a not in lb]
    free_r = [right[b] for b in range(nr) if b not in rc and b not in rb]
    out = cnp.einsum(f"{''.join(left)},{''.join(right)}->{''.join(batch + free_l + free_r)}", lhs, rhs)
    return out if preferred_element_type is None else cnp.astype(out, np.dtype(preferred_element_type))


def batch_matmul(lhs, rhs, precision=None):
    """``lhs @ rhs`` over matching leading axes."""
    return cnp.matmul(lhs, rhs)

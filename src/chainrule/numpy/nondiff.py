"""NumPy functions without a derivative, made to accept Tensors.

Indices, masks, counts, shapes and predicates do not depend smoothly on their inputs,
and rounding is piecewise constant; these functions read the plain value under a Tensor
and return plain NumPy results, which carry no derivative and can be used as any data
(``x[np.floor(t).astype(int)]``), as in HIPS autograd.
Whatever is not listed here nor defined by a family module raises on a Tensor (see
``chainrule.numpy.__getattr__``): nothing drops a gradient silently.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from chainrule.core.errors import TensorTypeError
from chainrule.core.primitive import RECORDING
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.values import plain
from chainrule.numpy import batching

# Only names present in the installed NumPy are exported, so an older or newer NumPy
# never breaks import.
NAMES = """
argmax argmin argsort argpartition argwhere nonzero flatnonzero count_nonzero
shape ndim size result_type can_cast min_scalar_type promote_types iscomplexobj isrealobj
isscalar issubdtype
zeros_like ones_like empty_like full_like
isfinite isnan isinf isposinf isneginf isreal iscomplex signbit isnat
equal not_equal less less_equal greater greater_equal
logical_and logical_or logical_not logical_xor all any allclose isclose array_equal
array_equiv searchsorted digitize histogram histogram_bin_edges
unravel_index ravel_multi_index
bitwise_and bitwise_or bitwise_xor invert left_shift right_shift gcd lcm
floor ceil rint trunc fix sign round around floor_divide
nanargmax nanargmin isin lexsort diag_indices_from tril_indices_from triu_indices_from spacing
""".split()


# These read only shapes and dtypes, which a jit program is keyed on: no guard needed.
# (Not min_scalar_type: for a 0-d array it reads the value.)
STATIC = set("shape ndim size result_type can_cast promote_types iscomplexobj isrealobj "
             "isscalar issubdtype".split())


def static_plain(x):
    """Like :func:`plain`, for functions of shapes and dtypes only."""
    if isinstance(x, Tensor):
        shape = x.shape  # one example's shape under chainrule.vmap
        while isinstance(x, Tensor):
            x = x._value
        if np.shape(x) != shape:  # a batch under vmap: a stand-in of one example's shape
            x = np.broadcast_to(np.zeros((), np.result_type(x)), shape)
        return x
    if isinstance(x, list | tuple) and any(isinstance(v, Tensor) for v in x):
        return type(x)(static_plain(v) for v in x)
    return x


def _recording_trace(args, kwargs):
    """The innermost trace (jit's or vmap's) that one of the (undifferentiated) arguments
    belongs to, if any."""
    top = None
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor):
            found = a._trace
        elif isinstance(a, list | tuple):
            found = _recording_trace(a, {})
        else:
            continue
        if found is not None and (top is None or found.level > top.level):
            top = found
    return top


# What plain() looks into: a Tensor, or a list or tuple that may hold one.
_HOLDERS = (Tensor, list, tuple)


def unboxing(np_fun):
    """``np_fun`` on the plain values of its arguments. Under ``chainrule.jit`` the call
    is recorded, so that its result follows the data when the program is replayed."""

    @functools.wraps(np_fun)
    def call(*args, **kwargs):
        if not RECORDING[0]:
            if not kwargs:  # mostly plain arrays (a mask inside a rule): nothing to unbox
                for a in args:
                    if isinstance(a, _HOLDERS):
                        break
                else:
                    return np_fun(*args)
            return np_fun(*map(plain, args), **{k: plain(v) for k, v in kwargs.items()})
        args = tuple(map(undifferentiated, args))
        kwargs = {k: undifferentiated(v) for k, v in kwargs.items()}
        trace = _recording_trace(args, kwargs)
        if trace is not None:
            return (trace.unboxed if trace.records else trace.record)(np_fun, args, kwargs)
        return np_fun(*args, **kwargs)

    return call


def whole_batch(x):
    """``x`` without the traces that differentiate or batch it: under ``chainrule.vmap``
    the values of every example at once (under ``chainrule.jit``, its traced value)."""
    while isinstance(x, Tensor) and (x._trace.batches or not x._trace.records):
        x = x._value
    return x


def batched(x) -> bool:
    """Whether ``x`` is batched by ``chainrule.vmap`` (at any level of nesting)."""
    while isinstance(x, Tensor):
        if x._trace.batches:
            return True
        x = x._value
    return False


def every(pred) -> bool:
    """Whether ``pred`` holds everywhere, in every example of a ``vmap`` batch: for the
    checks and fast paths of library code that hold for the batch as a whole."""
    v = whole_batch(pred)
    if v.__class__ is np.ndarray:
        return bool(np.logical_and.reduce(v, None))  # np.all's own call, without its wrapper
    return bool(NONDIFF_OF[np.all](v) if isinstance(v, Tensor) else np.all(v))


def anywhere(pred) -> bool:
    """Whether ``pred`` holds anywhere, in any example of a ``vmap`` batch."""
    v = whole_batch(pred)
    if v.__class__ is np.ndarray:
        return bool(np.logical_or.reduce(v, None))  # np.any's own call, without its wrapper
    return bool(NONDIFF_OF[np.any](v) if isinstance(v, Tensor) else np.any(v))


def reading_shapes(np_fun):
    @functools.wraps(np_fun)
    def call(*args, **kwargs):
        return np_fun(*map(static_plain, args), **{k: static_plain(v) for k, v in kwargs.items()})

    return call


NONDIFF_OF: dict[object, object] = {}
__all__ = []
for _name in NAMES:
    _fun = getattr(np, _name, None)
    if _fun is not None:
        globals()[_name] = NONDIFF_OF[_fun] = (reading_shapes if _name in STATIC else unboxing)(_fun)
        if _name != "full_like":  # chainrule.numpy's differentiates in fill_value (creation)
            __all__.append(_name)
del _name, _fun


def _refusing_tensor_out(fun):
    """``np.isposinf`` and ``np.isneginf`` (whose ``out`` may come by position), refusing an
    ``out`` that is a Tensor: a Tensor's value is never written into (under
    ``chainrule.vmap`` it is a whole batch), and NumPy refuses a non-array ``out`` too. A
    value that ``chainrule.jit`` traces for a NumPy array is one: the call, recorded, writes
    into it as the plain call does."""

    @functools.wraps(fun)
    def call(x, out=None):
        if isinstance(out, Tensor) and not (out._trace.records and out._node not in out._trace.eager):
            raise TypeError(f"{fun.__name__}: out= cannot be a Tensor (its value is never written into); "
                            "use the returned array")
        return fun(x) if out is None else fun(x, out)

    return call


for _fun in (np.isposinf, np.isneginf):
    globals()[_fun.__name__] = NONDIFF_OF[_fun] = _refusing_tensor_out(NONDIFF_OF[_fun])
del _fun


# -- JAX's fixed-size forms: size= (and fill_value=) give a result of a known shape, so they
# work under chainrule.vmap (each example padded or cut to `size`) and chainrule.jit
def _padded_nonzero(a, size: int, fill_value=None) -> tuple:
    """``np.nonzero(a)``, each index array cut or padded to ``size`` with ``fill_value``
    (0 by default; a tuple gives one per axis), as ``jax.numpy.nonzero(size=...)``."""
    found = np.nonzero(a)
    fills = fill_value if isinstance(fill_value, tuple | list) else (
        (0 if fill_value is None else fill_value),) * len(found)
    if len(fills) != len(found):
        raise ValueError(f"nonzero: fill_value has {len(fills)} entries, the array {len(found)} axes")
    out = []
    for index, fill in zip(found, fills, strict=True):
        padded = np.full(size, fill, dtype=index.dtype)
        padded[:min(size, index.size)] = index[:size]
        out.append(padded)
    return tuple(out)


_sized_nonzero = unboxing(_padded_nonzero)


def _size_of(size) -> int:
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 0:
        raise TypeError(f"size must be a non-negative int (the length of the result), not {size!r}")
    return int(size)


def _refuse_unsized(name: str, a) -> None:
    """Under ``chainrule.vmap`` each example finds its own count: JAX's ``size=`` fixes it."""
    if batched(a):
        raise TensorTypeError(  # a TypeError, as JAX's, and torch.func's RuntimeError
            f"{name} inside chainrule.vmap: the number of elements it returns depends on each "
            "example's values, so the examples cannot form one batch (JAX refuses too). Give a "
            f"fixed size, as in JAX: {name}(x, size=n, fill_value=v) (cut, or padded with v), or "
            "call it outside vmap")


def nonzero(a, *, size: int | None = None, fill_value=None):
    """``np.nonzero``; with ``size`` (JAX's), each index array has exactly ``size``
    entries: cut, or padded with ``fill_value`` (0 by default), so that it works per
    example under ``chainrule.vmap``.

    >>> nonzero(np.array([0, 3, 0, 5]), size=3, fill_value=-1)
    (array([ 1,  3, -1]),)
    """
    if size is None:
        if fill_value is not None:
            raise TypeError("nonzero: fill_value is only meaningful with size=")
        _refuse_unsized("nonzero", a)
        return NONDIFF_OF[np.nonzero](a)
    return _sized_nonzero(a, _size_of(size), fill_value)


def flatnonzero(a, *, size: int | None = None, fill_value=None):
    """``np.flatnonzero``; ``size`` and ``fill_value`` as in :func:`nonzero`."""
    if size is None and fill_value is None:
        _refuse_unsized("flatnonzero", a)
        return NONDIFF_OF[np.flatnonzero](a)
    return nonzero(_ravel(a), size=size, fill_value=fill_value)[0]


def argwhere(a, *, size: int | None = None, fill_value=None):
    """``np.argwhere``; ``size`` and ``fill_value`` as in :func:`nonzero` (rows)."""
    if size is None and fill_value is None:
        _refuse_unsized("argwhere", a)
        return NONDIFF_OF[np.argwhere](a)
    if len(static_plain(a).shape) == 0:
        return np.zeros((_size_of(size), 0), np.intp)
    return _stack_columns(nonzero(a, size=size, fill_value=fill_value))


def _descending_order(a, axis=-1, kind=None, stable=None):
    """The order that sorts ``a`` along ``axis`` from greatest to least, as
    ``jax.numpy.argsort(descending=True)``: stable (tied values in their original order)
    unless ``stable=False``, which reverses the ascending order."""
    a = np.asarray(a)
    if axis is None:
        a, axis = a.ravel(), -1
    if stable is False:
        return np.flip(np.argsort(a, axis=axis, kind=kind), axis)
    n = a.shape[axis]
    return n - 1 - np.flip(np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)


_argsort_descending = unboxing(_descending_order)
batching.NONDIFF_BATCH[_descending_order] = batching.nondiff_flattening(1)


def argsort(a, axis=-1, kind=None, order=None, *, stable=None, descending: bool = False):
    """``np.argsort``; ``descending=True`` (jax.numpy's) orders from greatest to least,
    stable as JAX's (tied values keep their original order) unless ``stable=False``;
    ``axis=None`` sorts the flattened array.

    >>> argsort(np.array([1, 1, 0, 2, 1]), descending=True)
    array([3, 0, 1, 4, 2])
    """
    if not descending:
        kw = {} if stable is None else {"stable": stable}
        return NONDIFF_OF[np.argsort](a, axis, kind, order, **kw)
    if order is not None:
        raise ValueError("argsort: descending=True sorts plain values; order= (fields of a "
                         "structured array) is not supported with it")
    return _argsort_descending(a, axis=axis, kind=kind, stable=stable)


_ravel = unboxing(np.ravel)
_stack_columns = unboxing(lambda columns: np.stack(columns, axis=-1))


def _refuse_differentiated_weights(np_fun):
    """``np_fun`` (``histogram``...), refusing ``weights`` being differentiated: the weighted
    counts have a derivative in them that NumPy's function would drop. It also answers
    NumPy's own ``np_fun`` called on a Tensor (``NONDIFF_OF``, which dispatch reads)."""
    plain_fun = NONDIFF_OF[np_fun]
    signature = inspect.signature(np_fun)

    @functools.wraps(np_fun)
    def call(*args, **kwargs):
        # (by position too: NumPy's dispatch hands a Tensor given by keyword so)
        weights = signature.bind(*args, **kwargs).arguments.get("weights")
        # (a value that chainrule.jit traces has no requires_grad: it stands for an array)
        if isinstance(weights, Tensor) and (weights.differentiated_by() is not None
                                            or getattr(weights, "requires_grad", False)):
            raise NotImplementedError(
                f"numpy.{np_fun.__name__}: weights= is not differentiable in chainrule; for "
                "weighted counts that differentiate, use bincount(digitize(a, edges) - 1, "
                "weights, length=n), or stop_gradient(weights)")
        return plain_fun(*args, **kwargs)

    NONDIFF_OF[np_fun] = call
    return call


histogram = _refuse_differentiated_weights(np.histogram)


def _integer_type(np_type: type) -> type:
    """``np_type`` (a signed integer scalar type) that also takes a Tensor: ``np.int64(t)``
    is the integer under ``t``, plain data, as in HIPS autograd. A subclass, so that it
    still names the dtype (``astype(np.int64)``, ``dtype=np.int64``)."""
    cast = unboxing(np_type)

    def __new__(cls, *args, **kwargs):
        return cast(*args, **kwargs)

    return _SameAs(np_type.__name__, (np_type,), {"__new__": __new__, "__module__": __name__,
                                                   "__doc__": np_type.__doc__})


class _SameAs(type):
    """The type of those subclasses: ``isinstance(np.int64(3), cnp.int64)`` holds."""

    def __instancecheck__(cls, x) -> bool:
        return isinstance(x, cls.__bases__[0])

    def __subclasscheck__(cls, sub) -> bool:
        return issubclass(sub, cls.__bases__[0])


# HIPS autograd's set: the signed integer types, under each of their names
_INTEGER_TYPES = {t: _integer_type(t) for t in (np.int8, np.int16, np.int32, np.int64)}
for _name in ("int8 int16 int32 int64 intp int_ intc long longlong short byte".split()):
    _type = getattr(np, _name, None)
    if _type in _INTEGER_TYPES:
        globals()[_name] = _INTEGER_TYPES[_type]
        __all__.append(_name)
del _name, _type

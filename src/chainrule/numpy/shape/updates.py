"""JAX's out-of-place indexed updates on Tensors: ``x.at[index].set(v)``, ``.add``,
``.subtract``, ``.multiply``, ``.divide``, ``.power``, ``.min``, ``.max``, ``.apply`` and
``.get``, differentiable in ``x`` and ``v`` and batched under ``vmap``.

``add`` and ``subtract`` accumulate at repeated indices (one scatter-add), as JAX does;
``set`` keeps the last of repeated writes (NumPy's order). ``multiply``, ``divide``,
``power``, ``min`` and ``max`` combine every update aimed at an element, as JAX does
(``x * v1 * v2``, ``x / (v1 * v2)``, ``x ** (v1 * v2)``, ``max(x, v1, v2)``; tied maxima
share the derivative evenly); when an integer-array index may repeat an element (it is
batched, or its values repeat), the updates aimed at each element are found by comparing
their positions, pairwise. ``apply`` refuses such an index.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.eager import recorded_only, recording_trace
from chainrule.core.tensor import Tensor
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.nondiff import batched
from chainrule.numpy.registry import stands_for
from chainrule.numpy.shape.bounds import bound_index, cut_end, gather, jax_mode, pad_end
from chainrule.numpy.shape.indexing import _plain_index, resize
from chainrule.numpy.shape.primitives import _as_input, _deep_plain, _has_tensor, index_update, scatter_add

__all__ = ["at", "put", "place", "putmask", "fill_diagonal"]


class IndexedUpdates:
    """``x.at``: ``x.at[index]`` names the elements an update is for."""

    __slots__ = ("_x",)

    def __init__(self, x):
        self._x = x

    def __getitem__(self, index) -> IndexedUpdate:
        return IndexedUpdate(self._x, index)


def at(x) -> IndexedUpdates:
    """JAX's ``x.at`` for any array: ``chainrule.at(x)[index].set(v)``, ``.add(v)``,
    ``.max(v)``... out of place, differentiable and batched, also where ``x`` is a plain
    NumPy array (``cnp.zeros(3)`` is one, as ``np.zeros(3)`` is, and has no ``.at``),
    ``v`` or ``index`` being differentiated or batched by ``vmap``.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> cr.vmap(lambda k, v: cr.at(cnp.zeros(3))[k].set(v))(np.array([0, 2]), np.array([5.0, 7.0]))
    array([[5., 0., 0.],
           [0., 0., 7.]])
    """
    return IndexedUpdates(x if isinstance(x, Tensor | np.ndarray) else np.asarray(x))


class IndexedUpdate:
    """The elements ``x[index]``, and what can be done to them out of place.

    Each method takes JAX's ``mode=`` for an index out of range: ``"clip"`` clamps it
    (a negative one counted from the end), ``"fill"`` (or ``"drop"``) makes ``get`` read
    ``fill_value`` there (NaN by default) and the updates drop it; without a mode it
    raises ``IndexError``, as NumPy's indexing does. (JAX's ``indices_are_sorted`` and
    ``unique_indices`` hints are accepted and change nothing.)

    >>> import chainrule as cr, numpy as np
    >>> cr.tensor(np.zeros(3)).at[np.array([0, 0, 2])].add(1.0).tolist()
    [2.0, 0.0, 1.0]
    >>> cr.tensor(np.arange(3.0)).at[np.array([1, 5])].get(mode="fill", fill_value=-1.0).tolist()
    [1.0, -1.0]
    """

    __slots__ = ("_x", "_index")

    def __init__(self, x, index):
        self._x = x
        self._index = index if type(index) in (int, slice) else _plain_index(index)

    def get(self, *, mode=None, fill_value=None, indices_are_sorted=False, unique_indices=False):
        how = jax_mode(mode, scatter=False)
        if how is None:
            return cnp.getitem(self._x, self._index)
        return gather(self._x, self._index, how, fill_value)

    def set(self, values, *, mode=None, indices_are_sorted=False, unique_indices=False):
        return self._bounded(mode, lambda u: index_update(u._x, u._index, values))

    def add(self, values, *, mode=None, indices_are_sorted=False, unique_indices=False):
        return self._bounded(mode, lambda u: u._add(values))

    def subtract(self, values, *, mode=None, indices_are_sorted=False, unique_indices=False):
        return self.add(-values, mode=mode)

    def multiply(self, values, *, mode=None, indices_are_sorted=False, unique_indices=False):
        return self._bounded(mode, lambda u: u._combine(cnp.multiply, values))

    def divide(self, values, *, mode=None, indices_are_sorted=False, unique_indices=False):
        return self._bounded(mode, lambda u: u._divide(values))

    def power(self, values, *, mode=None, indices_are_sorted=False, unique_indices=False):
        return self._bounded(mode, lambda u: u._power(values))

    def min(self, values, *, mode=None, indices_are_sorted=False, unique_indices=False):
        return self._bounded(mode, lambda u: u._combine(cnp.minimum, values))

    def max(self, values, *, mode=None, indices_are_sorted=False, unique_indices=False):
        return self._bounded(mode, lambda u: u._combine(cnp.maximum, values))

    def apply(self, func: Callable, *, mode=None, indices_are_sorted=False, unique_indices=False):
        return self._bounded(mode, lambda u: u._apply(func))

    def _bounded(self, mode, update: Callable):
        """``update`` of this selection, or with JAX's ``mode`` of an index out of range:
        clamped, or aimed at one more element at the end of its axis, cut off after."""
        how = jax_mode(mode, scatter=True)
        if how is None:
            return update(self)
        shape = shape_of(self._x)
        index, padded = bound_index(self._index, shape, how)
        x = pad_end(self._x, padded, np.zeros((), self._x.dtype))
        return cut_end(update(IndexedUpdate(x, index)), padded, shape)

    def _add(self, values):
        selected = shape_of(self.get())
        spread = cnp.broadcast_to(cnp.astype(values, self._x.dtype) if isinstance(values, Tensor)
                                  else np.asarray(values, self._x.dtype), selected)
        return self._x + scatter_add(spread, self._index, shape_of(self._x))

    def _divide(self, values):
        if self._may_repeat():  # JAX's: x / (the product of the updates at each element)
            return self._x / at(cnp.ones_like(self._x))[self._index].multiply(values)
        return self._combine(cnp.divide, values)

    def _power(self, values):
        if self._may_repeat():  # JAX's: x ** (the product of the updates at each element)
            return self._x ** at(cnp.ones_like(self._x))[self._index].multiply(values)
        return self._combine(cnp.power, values)

    def _apply(self, func: Callable):
        if self._may_repeat():
            raise NotImplementedError(
                "x.at[index].apply: an integer-array index that may repeat an element (JAX "
                "applies the function once per update there); use an index without repeats")
        return self._combine(lambda old, _: func(old), None)

    def _combine(self, op: Callable, values):
        old = self.get()
        if self._may_repeat():
            new = _grouped(op, old, values, cnp.getitem(_positions(shape_of(self._x)), self._index))
        else:
            new = op(old, values)
        return index_update(self._x, self._index, cnp.astype(new, self._x.dtype)
                            if new.dtype != self._x.dtype else new)

    def _may_repeat(self) -> bool:
        """Whether an integer-array index may name an element twice (a batched one may)."""
        items = self._index if isinstance(self._index, tuple) else (self._index,)
        arrays = [i for i in items if isinstance(i, np.ndarray | Tensor) and i.dtype != bool]
        if not arrays or int(np.prod(np.broadcast_shapes(*map(shape_of, arrays)))) <= 1:
            return False  # one element per example, or basic indexing: nothing repeats
        if any(batched(i) for i in arrays):
            return True
        chosen = _positions(shape_of(self._x))[tuple(
            np.asarray(i.primal() if isinstance(i, Tensor) else i)
            if isinstance(i, np.ndarray | Tensor) else i for i in items)]
        return len(np.unique(chosen)) != chosen.size


def _positions(shape):
    """The flat position of each element of an array of ``shape``."""
    return np.arange(int(np.prod(shape))).reshape(shape)


# how each combination folds the updates aimed at one element, and its identity
_FOLDS = {cnp.maximum: (cnp.max, "min"), cnp.minimum: (cnp.min, "max"), cnp.multiply: (cnp.prod, 1)}


def _identity(which, dtype):
    """The identity of a fold in ``dtype``: 1, or the least (``"min"``) or greatest value."""
    if which == 1:
        return np.ones((), dtype)
    info = np.iinfo(dtype) if dtype.kind in "iu" else None
    if dtype.kind == "b":
        return np.array(which == "max")
    if info is not None:
        return np.array(info.min if which == "min" else info.max, dtype)
    return np.array(-np.inf if which == "min" else np.inf, dtype)


def _grouped(op: Callable, old, values, positions):
    """``op`` of each selected element with every update aimed at the same element (the
    updates that share its position), for an index that repeats elements: row ``k`` of a
    (updates × updates) table holds the updates at update ``k``'s element, the identity
    of ``op`` elsewhere, and the selected element itself in front."""
    fold, which = _FOLDS[op]
    dtype = np.dtype(old.dtype)
    spread = cnp.broadcast_to(cnp.astype(values, dtype) if isinstance(values, Tensor)
                              else np.asarray(values, dtype), shape_of(old))
    at = cnp.ravel(positions)
    same = cnp.equal(cnp.expand_dims(at, 1), cnp.expand_dims(at, 0))
    table = cnp.where(same, cnp.expand_dims(cnp.ravel(spread), 0), _identity(which, dtype))
    rows = cnp.concatenate([cnp.expand_dims(cnp.ravel(old), 1), table], axis=1)
    return cnp.reshape(fold(rows, axis=1), shape_of(old))


def _array_of_plain_call(a: Tensor) -> bool:
    """Whether ``a`` is a value that ``chainrule.jit`` traces for an ndarray of the plain
    call (not an eager Tensor there), into which that call refuses to write a Tensor."""
    return a._trace.records and a._node not in a._trace.eager


def _writes_into_first(np_fun):
    """Decorator for a mirror of NumPy's writer ``np_fun(a, ...)``: plain values go to
    NumPy; under ``chainrule.jit`` a traced ``a`` is written and recorded; a Tensor ``a``
    goes to the decorated function; a plain ``a`` cannot take a Tensor."""

    def deco(f: Callable) -> Callable:
        @functools.wraps(f)
        def writer(a, *args, **kwargs):
            if (trace := recording_trace(a, (*args, *kwargs.values()))) is not None:
                trace.write(np_fun, (a, *args), kwargs)
                return None
            if not _has_tensor([a, list(args), list(kwargs.values())]):
                return np_fun(a, *args, **kwargs)
            if isinstance(a, Tensor) and not _array_of_plain_call(a):
                f(a, *args, **kwargs)
                return None
            if (trace := recorded_only((a, *args, *kwargs.values()))) is not None:
                return trace.write_untraced(np_fun, (a, *args), kwargs)  # into an array not traced
            raise TypeError(
                f"numpy.{np_fun.__name__} writes into a plain ndarray, which cannot hold a "
                "value being differentiated (its derivative would be dropped). Write into a "
                f"Tensor instead: a = chainrule.tensor(a), then {np_fun.__name__}(a, ...) or "
                "a = a.at[index].set(values); or build the array with chainrule.numpy "
                "(np.where(mask, values, a), np.stack, np.concatenate)."
            )

        stands_for(np_fun, writer, "shape")
        return writer

    return deco


def _write_flat(a: Tensor, positions, values) -> None:
    """``a.flat[positions] = values``, the values repeated in turn (NumPy's rule), written
    as ``a[index] = v`` (repeated positions: the last write wins, as in NumPy)."""
    positions = np.asarray(positions, np.intp).ravel()
    if positions.size == 0:
        return
    a[np.unravel_index(positions, shape_of(a))] = _repeated(values, positions.shape)


def _repeated(values, shape: tuple):
    """``values`` raveled and repeated in turn to ``shape`` (what a flat write takes)."""
    values = _as_input(values)
    flat = cnp.ravel(values) if isinstance(values, Tensor) else np.ravel(values)
    if shape_of(flat)[0] == 0:
        raise ValueError("cannot write an empty array of values into nonempty positions")
    return resize(flat, shape) if isinstance(flat, Tensor) else np.resize(flat, shape)


@_writes_into_first(np.put)
def put(a, ind, v, mode="raise"):
    """``np.put``: ``a.flat[ind] = v`` on a Tensor, differentiable in ``a`` and ``v``.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> def f(x):
    ...     cnp.put(x, [0, 2], x[1] * 3)
    ...     return cnp.sum(x)
    >>> cr.grad(f)(np.ones(3))
    array([0., 7., 0.])
    """
    size = int(np.prod(shape_of(a)))
    ind = np.asarray(_deep_plain(ind), np.intp).ravel()
    if mode == "wrap":
        ind = ind % size if size else ind
    elif mode == "clip":
        ind = np.clip(ind, 0, max(size - 1, 0))
    elif mode != "raise":
        raise ValueError(f"clipmode must be one of 'clip', 'raise', or 'wrap' (got {mode!r})")
    bad = ind[(ind < -size) | (ind >= size)]
    if bad.size:
        raise IndexError(f"index {bad[0]} is out of bounds for axis 0 with size {size}")
    _write_flat(a, ind % size if size else ind, v)


@_writes_into_first(np.place)
def place(arr, mask, vals):
    """``np.place``: the elements of ``arr`` where ``mask`` holds take ``vals`` in turn."""
    mask = np.asarray(_deep_plain(mask), bool)
    if mask.size != int(np.prod(shape_of(arr))):
        raise ValueError("place: mask and data must be the same size")
    positions = np.flatnonzero(mask)
    vals = _as_input(vals)
    if positions.size and not int(np.prod(shape_of(vals))):
        raise ValueError("Cannot insert from an empty array!")
    _write_flat(arr, positions, vals)


@_writes_into_first(np.putmask)
def putmask(a, mask, values):
    """``np.putmask``: ``a.flat[n] = values[n % len(values)]`` where ``mask`` holds."""
    mask = np.asarray(_deep_plain(mask), bool)
    if mask.shape != shape_of(a):
        raise ValueError("putmask: mask and data must be the same size")
    positions = np.flatnonzero(mask)
    values = _as_input(values)
    flat = cnp.ravel(values) if isinstance(values, Tensor) else np.ravel(values)
    n = shape_of(flat)[0]
    if positions.size and n == 0:
        raise ValueError("putmask: values must not be empty")
    if positions.size:
        _write_flat(a, positions, flat[positions % n])


def fill_diagonal(a, val, wrap=False, *, inplace=True):
    """``np.fill_diagonal``: the main diagonal of ``a`` takes ``val`` (in turn, if an
    array), at the positions NumPy writes (``wrap`` for tall matrices). ``inplace=False``
    (JAX's ``jnp.fill_diagonal``, which takes only that) returns a new array and leaves
    ``a`` as it is, differentiable in both, also where ``a`` is a plain array.

    >>> import chainrule.numpy as cnp
    >>> fill_diagonal(cnp.ones((2, 2)), 0.0, inplace=False)
    array([[0., 1.],
           [1., 0.]])
    """
    if inplace:
        return _fill_diagonal_into(a, val, wrap)
    shape = shape_of(a)
    positions = _diagonal(shape, wrap)
    return at(a)[np.unravel_index(positions, shape)].set(_repeated(val, positions.shape))


@_writes_into_first(np.fill_diagonal)
def _fill_diagonal_into(a, val, wrap=False):
    _write_flat(a, _diagonal(shape_of(a), wrap), val)


def _diagonal(shape: tuple, wrap: bool) -> np.ndarray:
    """The flat positions of the main diagonal that ``np.fill_diagonal`` writes."""
    if len(shape) < 2:
        raise ValueError("array must be at least 2-d")
    end = None
    if len(shape) == 2:
        step = shape[1] + 1
        if not wrap:
            end = shape[1] * shape[1]
    else:
        if not np.all(np.diff(shape) == 0):
            raise ValueError("All dimensions of input must be of equal length")
        step = 1 + int(np.cumprod(shape[:-1]).sum())
    return np.arange(int(np.prod(shape)))[:end:step]

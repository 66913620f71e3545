"""Flatten nested containers of arrays into one vector, and back (autograd's
``misc.flatten``); ``unflatten`` differentiates, so an optimizer can work on the vector.

>>> import numpy as np
>>> flat, unflatten = flatten([np.zeros((2, 2)), (1.0, 2.0)])
>>> flat
array([0., 0., 0., 0., 1., 2.])
>>> unflatten(np.arange(6.0))
[array([[0., 1.],
       [2., 3.]]), (np.float64(4.0), np.float64(5.0))]
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor
from chainrule.numpy.broadcasting import shape_of

__all__ = ["flatten", "flatten_func"]


def flatten(value: Any) -> tuple[Any, Callable]:
    """``(vector, unflatten)``: the leaves of any nesting of tuples, lists and dicts
    (dict keys in sorted order, an ``OrderedDict``'s in its own), raveled and concatenated; ``unflatten(vector)``
    rebuilds the structure, each dict in its key order. Like autograd's, the leaves share
    one dtype in the vector; ``unflatten`` gives a leaf inside a container its own floating
    dtype back, and a bare array (no container) the dtype of the vector it is given, as
    autograd's does (so ``adam`` on one float32 array works in float64, as autograd's).
    ``unflatten`` differentiates."""
    rebuild, size = _layout(value, 0, inside=False)
    flat_value = _flatten(value)

    def unflatten(vector):
        if shape_of(vector) != (size,):
            raise ValueError(f"unflatten takes a vector of {size} entries (what flatten gave), "
                             f"not one of shape {shape_of(vector)}")
        return rebuild(vector)

    return flat_value, unflatten


def _children(value) -> list:
    """The items of a container in the order flatten reads them."""
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value[k] for k in (value if isinstance(value, OrderedDict) else sorted(value))]


def _layout(value, start: int, inside: bool = True) -> tuple[Callable, int]:
    """``(rebuild, stop)``: ``rebuild(vector)`` makes ``value``'s structure from the entries
    ``start:stop`` of the vector; a floating leaf ``inside`` a container in its own dtype."""
    if isinstance(value, (list, tuple, dict)):
        parts = []
        for child in _children(value):
            part, start = _layout(child, start)
            parts.append(part)
        if isinstance(value, dict):
            keys = list(value) if isinstance(value, OrderedDict) else sorted(value)
            kind = OrderedDict if isinstance(value, OrderedDict) else dict

            def rebuild_dict(vector):
                items = dict(zip(keys, (part(vector) for part in parts), strict=True))
                return kind((k, items[k]) for k in value)

            return rebuild_dict, start
        if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple
            return (lambda vector: type(value)(*(part(vector) for part in parts))), start
        container = type(value) if type(value) in (list, tuple) else (list if isinstance(value, list) else tuple)
        return (lambda vector: container(part(vector) for part in parts)), start
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"flatten: a boolean leaf ({value!r}) is not a number to optimise; "
                        "leave it out of the value, or give it as 0.0 or 1.0")
    shape = shape_of(value)
    stop = start + math.prod(shape)
    dtype = np.result_type(value) if inside and np.result_type(value).kind in "fc" else None
    # a number in a container comes back a number; a bare one, as autograd's, a 0-d array
    array = isinstance(value, np.ndarray | Tensor) or not inside

    def leaf(vector):
        piece = cnp.reshape(vector[start:stop], shape) if array else vector[start]
        return piece if dtype is None else _in_dtype(piece, dtype)

    return leaf, stop


def _in_dtype(piece, dtype):
    if np.result_type(piece) == dtype:
        return piece
    if dtype.kind == "f" and np.result_type(piece).kind == "c":
        piece = cnp.real(piece)
    return piece.astype(dtype) if isinstance(piece, np.generic) else cnp.astype(piece, dtype)


def _flatten(value):
    if isinstance(value, (list, tuple, dict)):  # namedtuples too
        parts = [_flatten(child) for child in _children(value)]
        return cnp.concatenate(parts) if parts else np.array([])
    return cnp.ravel(value)


def flatten_func(func: Callable, example: Any) -> tuple[Callable, Callable, Any]:
    """``(flat_func, unflatten, flat_example)``: ``func`` of a nested value as a function
    of the flat vector (its result flattened too).

    >>> import numpy as np
    >>> f, unflatten, x = flatten_func(lambda d: {"y": 2 * d["x"]}, {"x": np.ones(2)})
    >>> f(x)
    array([2., 2.])
    """
    _ex, unflatten = flatten(example)

    def _func(_x, *args):
        return flatten(func(unflatten(_x), *args))[0]

    return _func, unflatten, _ex

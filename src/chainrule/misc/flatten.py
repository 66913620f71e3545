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

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule.numpy as cnp
from chainrule.transforms.reverse import make_vjp

__all__ = ["flatten", "flatten_func"]


def flatten(value: Any) -> tuple[Any, Callable]:
    """``(vector, unflatten)``: the leaves of any nesting of tuples, lists and dicts
    (dict keys in sorted order, an ``OrderedDict``'s in its own), raveled and concatenated; ``unflatten(vector)``
    rebuilds the structure. Like autograd's, the leaves share one dtype in the vector."""
    unflatten, flat_value = make_vjp(_flatten)(value)
    return flat_value, unflatten


def _flatten(value):
    if isinstance(value, (list, tuple)):  # namedtuples too
        return _concatenate(map(_flatten, value))
    if isinstance(value, dict):  # an OrderedDict in its own order, as pytrees have it
        return _concatenate(_flatten(value[k]) for k in (value if isinstance(value, OrderedDict) else sorted(value)))
    return cnp.ravel(value)


def _concatenate(parts):
    parts = list(parts)
    return cnp.concatenate(parts) if parts else np.array([])


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

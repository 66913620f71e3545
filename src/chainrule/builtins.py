"""HIPS autograd's ``builtins``: ``tuple``, ``list``, ``dict``, ``isinstance``, ``type``.

In autograd, a tuple or dict that holds values being differentiated must be built with
these to be differentiable. chainrule differentiates through Python's own containers
(they are pytrees, never boxed), so ``tuple``, ``list`` and ``dict`` here are Python's;
``isinstance`` and ``type`` look through a Tensor to the value inside it, as autograd's
do through a box (``isinstance(x, np.ndarray)`` is True for an array being
differentiated). ``SequenceBox`` and ``DictBox`` exist for code that tests for them: no
value is ever one, because containers are never boxed.

>>> import chainrule as cr, numpy as np
>>> cr.elementwise_grad(lambda x: x * isinstance(x, np.ndarray))(np.ones(2))
array([1., 1.])
>>> cr.grad(lambda d: d["a"] * d["b"])(dict(a=2.0, b=3.0))
{'a': np.float64(3.0), 'b': np.float64(2.0)}
"""

from __future__ import annotations

import builtins as _py
from typing import Any

from chainrule.numpy.numpy_boxes import DictBox, SequenceBox
from chainrule.numpy.numpy_vspaces import (
    ContainerVSpace,
    DictVSpace,
    ListVSpace,
    NamedTupleVSpace,
    SequenceVSpace,
    TupleVSpace,
)
from chainrule.tracer import getval

__all__ = [
    "tuple",
    "list",
    "dict",
    "isinstance",
    "type",
    "SequenceBox",
    "DictBox",
    "ContainerVSpace",
    "SequenceVSpace",
    "ListVSpace",
    "TupleVSpace",
    "DictVSpace",
    "NamedTupleVSpace",
]

tuple = _py.tuple  # noqa: A001
list = _py.list  # noqa: A001
dict = _py.dict  # noqa: A001
isinstance_ = _py.isinstance
type_ = _py.type


def isinstance(obj: Any, classinfo) -> bool:  # noqa: A001
    """``isinstance`` of the value inside ``obj`` (a Tensor counts as what it holds).

    >>> import chainrule as cr
    >>> cr.grad(lambda x: x * isinstance(x, float))(1.5)
    np.float64(1.0)
    """
    return _py.isinstance(getval(obj), classinfo)


def type(obj: Any) -> _py.type:  # noqa: A001
    """``type`` of the value inside ``obj`` (a Tensor's value's type)."""
    return _py.type(getval(obj))

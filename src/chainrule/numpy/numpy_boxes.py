"""HIPS autograd's ``numpy_boxes``: ``ArrayBox`` is chainrule's :class:`Tensor`.

autograd wraps an array being differentiated in an ``ArrayBox``; chainrule wraps it in
a ``Tensor``. Code that asks ``isinstance(x, ArrayBox)`` (to unbox with ``x._value``)
works unchanged, and so does ``ArrayBox.register(T)`` for an ndarray subclass ``T``
(PennyLane registers its ``tensor`` so, scarlet its ``Parameter``) or a number type:
chainrule differentiates NumPy arrays of every subclass already, so there is nothing to
record.

>>> import chainrule as cr
>>> from chainrule.numpy.numpy_boxes import ArrayBox
>>> cr.grad(lambda x: float(isinstance(x, ArrayBox)) * x)(2.0)
np.float64(1.0)
"""

import numbers

import numpy as np

from chainrule.core.tensor import Tensor

__all__ = ["ArrayBox"]

ArrayBox = Tensor


def _register(cls, value_type: type) -> None:
    """autograd's ``ArrayBox.register(T)``: ``T`` an ndarray subclass or a number type
    (Python's or NumPy's), already differentiated as an array; any other type is refused.

    >>> import numpy as np
    >>> class Marked(np.ndarray):
    ...     pass
    >>> ArrayBox.register(Marked)
    """
    if isinstance(value_type, type) and issubclass(value_type, np.ndarray | np.generic | numbers.Number):
        return
    raise TypeError(
        f"ArrayBox.register({getattr(value_type, '__name__', value_type)!s}): chainrule boxes "
        "NumPy arrays (any ndarray subclass) and numbers itself; for a value type of your own, "
        "subclass chainrule.extend.Box (class TBox(Box, T)), call TBox.register(T) and register "
        "a VSpace for T"
    )


Tensor.register = classmethod(_register)

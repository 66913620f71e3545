"""HIPS autograd's ``numpy_boxes``: ``ArrayBox`` is chainrule's :class:`Tensor`; ``Box``,
``SequenceBox`` and ``primitive`` are here too, as in autograd's module (libraries import
them from it).

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
from typing import Any

import numpy as np

from chainrule.core.tensor import BOX_TYPES, Tensor
from chainrule.core.user_primitive import primitive

__all__ = ["ArrayBox", "Box", "SequenceBox", "DictBox", "primitive"]

ArrayBox = Tensor


def _register(cls, value_type: type) -> None:
    """autograd's ``ArrayBox.register(T)``: ``T`` an ndarray subclass or a number type
    (Python's or NumPy's), already differentiated as an array; any other type is refused.
    ``ParamBox.register(T)`` for a subclass ``ParamBox`` of ``ArrayBox`` boxes a value of
    type ``T`` in a ``ParamBox`` where it is differentiated (its properties read the value).

    >>> import numpy as np
    >>> class Marked(np.ndarray):
    ...     pass
    >>> ArrayBox.register(Marked)
    """
    if isinstance(value_type, type) and issubclass(value_type, np.ndarray | np.generic | numbers.Number):
        if cls is not Tensor:  # a box class of one's own for it (class ParamBox(ArrayBox)): the
            # value is boxed in it where it is differentiated, as autograd boxes it (and such a
            # box again, by a transform inside another)
            BOX_TYPES[value_type] = BOX_TYPES[cls] = Box.type_mappings[value_type] = Box.type_mappings[cls] = cls
            Box.types.add(cls)
        return
    raise TypeError(
        f"ArrayBox.register({getattr(value_type, '__name__', value_type)!s}): chainrule boxes "
        "NumPy arrays (any ndarray subclass) and numbers itself; for a value type of your own, "
        "subclass chainrule.extend.Box (class TBox(Box, T)), call TBox.register(T) and register "
        "a VSpace for T"
    )


Tensor.register = classmethod(_register)


class _BoxType(type):
    """``Box`` itself names every Tensor (``isinstance(t, Box)``); its subclasses are
    ordinary classes."""

    def __instancecheck__(cls, x) -> bool:
        if cls is Box:
            return isinstance(x, Tensor)
        return type.__instancecheck__(cls, x)

    def __subclasscheck__(cls, sub) -> bool:
        if cls is Box:
            return issubclass(sub, Tensor)
        return type.__subclasscheck__(cls, sub)


class Box(Tensor, metaclass=_BoxType):
    """autograd's box: ``isinstance(x, Box)`` is True for a value being differentiated
    (a chainrule :class:`~chainrule.core.tensor.Tensor`).

    As in autograd, a value type of your own (a function in an RKHS, say) is
    differentiated by subclassing ``Box`` and registering the type, with a
    :class:`~chainrule.extend.VSpace` for its vector operations::

        class RKHSFunBox(Box, RKHSFun):
            @property
            def kernel(self):
                return self._value.kernel

        RKHSFunBox.register(RKHSFun)

    An argument of that type is then boxed in your subclass when it is differentiated;
    the primitives it is passed to return ordinary Tensors, and its cotangents (made by
    your rules) are added with ``+``.
    """

    __slots__ = ()

    # autograd's tables of box types, by its names, for libraries that write into them
    # (PennyLane: Box.type_mappings[tensor] = tensor_to_arraybox). chainrule boxes every
    # ndarray subclass itself and reads only what Box.register records (BOX_TYPES).
    type_mappings: dict = {}
    types: set = set()

    @classmethod
    def register(cls, value_type: type) -> None:
        if cls is Box:
            raise TypeError(
                "Box.register(T): subclass Box for your type first (class TBox(Box, T)) and "
                "call TBox.register(T); arrays and numbers are boxed already"
            )
        BOX_TYPES[value_type] = Box.type_mappings[value_type] = Box.type_mappings[cls] = cls
        Box.types.add(cls)


class _NeverABox(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return False


class SequenceBox(metaclass=_NeverABox):
    """autograd's box around a tuple or list; chainrule never boxes containers, so
    ``isinstance(x, SequenceBox)`` is False for every ``x``."""


class DictBox(metaclass=_NeverABox):
    """autograd's box around a dict; chainrule never boxes containers, so
    ``isinstance(x, DictBox)`` is False for every ``x``."""


# autograd's table as its import leaves it, read through ArrayBox too (tidy3d patches
# ArrayBox.__array_function__ to defer unless every type NumPy passes is a key of
# ArrayBox.type_mappings): value types and box types to the box type that wraps them.
Box.type_mappings.update(
    dict.fromkeys((np.ndarray, Tensor, float, complex, np.float16, np.float32, np.float64, np.longdouble,
                   np.complex64, np.complex128, np.clongdouble), Tensor)
)
Box.type_mappings.update({tuple: SequenceBox, list: SequenceBox, SequenceBox: SequenceBox,
                          dict: DictBox, DictBox: DictBox})
Box.types.update((Tensor, SequenceBox, DictBox))
Tensor.type_mappings = Box.type_mappings
Tensor.types = Box.types

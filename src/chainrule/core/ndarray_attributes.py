"""The attributes that tell a Tensor from a NumPy array: an ndarray attribute that Tensor
lacks raises an AttributeError naming the way out (:class:`_NdarrayOnly`), and, while
``chainrule.jit`` traces a call on plain arrays, a Tensor attribute that ndarray lacks
raises NumPy's AttributeError (:class:`_NotOfNdarray`), so the jitted call refuses what
the plain one refuses. The mirror marks them once it has set its methods on the class
(:mod:`chainrule.numpy.bindings`).
"""

from __future__ import annotations

import inspect

import numpy as np

from chainrule.core.tensor import Tensor, read_by_chainrule, stands_for_array

__all__ = ["mark_ndarray_only_attributes", "mark_not_of_ndarray_attributes"]


class _NdarrayOnly:
    """An ndarray attribute that Tensor does not have: reading it raises an
    AttributeError that names the way out (``hasattr`` and ``getattr(t, name, default)``
    see a missing attribute, as for any other).

    A descriptor per such name, not a ``__getattr__`` on the class: with ``__getattr__``
    every attribute read of every Tensor (``_value``, ``_trace``, ``_node`` on the hot
    paths) takes CPython's slow lookup, about 2.5 times as long.
    """

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __get__(self, obj, objtype=None):
        name = self.name
        if obj is not None and stands_for_array(obj):
            # chainrule.jit on plain arrays: the plain call's ndarray attribute (x.tobytes(),
            # x.flat), of the value; that call runs without jit, as np.asarray(x) does
            value = obj._value
            obj.__array__()
            return getattr(value, name)
        raise AttributeError(
            f"'Tensor' object has no attribute {name!r}: inside chainrule's transforms "
            "(jit, grad, vmap) arrays are Tensors, which have the ndarray methods that "
            f"chainrule.numpy mirrors but not {name!r}. Use indexing (x[i] = v), "
            "x.reshape, or a chainrule.numpy function instead."
        )


class _NotOfNdarray:
    """A Tensor attribute that NumPy's ndarray lacks (PyTorch's methods, ``.at``,
    ``detach``): while ``chainrule.jit`` traces a call on plain arrays, where the plain
    call's values are ndarrays, reading it raises NumPy's AttributeError, so the jitted
    call refuses what the plain one refuses. chainrule's own code (``nn.functional.sigmoid``
    of a traced value, which it takes for the Tensor it is) reads it as a Tensor's."""

    __slots__ = ("name", "member")

    def __init__(self, name: str, member):
        self.name, self.member = name, member

    def __get__(self, obj, objtype=None):
        if obj is not None and stands_for_array(obj) and not read_by_chainrule():
            raise AttributeError(
                f"'{type(obj._value).__module__}.{type(obj._value).__name__}' object has no "
                f"attribute {self.name!r} (inside chainrule.jit "
                "this value stands for a NumPy array, as in the plain call)"
            )
        get = getattr(type(self.member), "__get__", None)
        return self.member if get is None else get(self.member, obj, objtype)

    def __set__(self, obj, value):
        put = getattr(type(self.member), "__set__", None)
        if put is None:
            raise AttributeError(f"attribute {self.name!r} of 'Tensor' objects is not writable")
        put(self.member, obj, value)


# chainrule's own reads of a traced value, which the plain call does not make
_CHAINRULE_ATTRIBUTES = {"primal", "differentiated_by"}


def mark_not_of_ndarray_attributes() -> None:
    """Wrap each public Tensor attribute that ndarray lacks in a :class:`_NotOfNdarray`;
    called once the mirror has set its methods on the class."""
    ndarray = set(dir(np.ndarray))
    for name in dir(Tensor):
        member = inspect.getattr_static(Tensor, name)
        if (not name.startswith("_") and name not in ndarray and name not in _CHAINRULE_ATTRIBUTES
                and not isinstance(member, _NdarrayOnly | _NotOfNdarray)):
            setattr(Tensor, name, _NotOfNdarray(name, member))


# NumPy's scalars, whose attributes (float's is_integer, hex, as_integer_ratio; int's
# bit_count) a traced NumPy scalar has as the plain call's does
_NUMPY_SCALARS = (np.float64, np.float32, np.float16, np.longdouble, np.complex128, np.int64, np.uint8, np.bool_)


def mark_ndarray_only_attributes() -> None:
    """Give Tensor an :class:`_NdarrayOnly` for each public attribute of ndarray (and of
    NumPy's scalars) it lacks; called once the mirror has set its methods on the class."""
    for name in sorted({n for kind in (np.ndarray, *_NUMPY_SCALARS) for n in dir(kind)}):
        if not name.startswith("__") and not hasattr(Tensor, name):
            setattr(Tensor, name, _NdarrayOnly(name))

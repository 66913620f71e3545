"""The NumPy scalars that :func:`chainrule.jit` traces, and their arithmetic.

Where the plain call holds a NumPy scalar (a reduction's result, ``x[0]``), the recording
trace holds a :class:`RecordedScalar`, whose class is the scalar's to the user's code;
its operators are recorded as NumPy's scalar math computes them (:class:`ScalarOperators`,
the part of :class:`~chainrule.transforms.record.RecordTrace` that decides it), which
rounds, overflows and warns otherwise than the ufuncs do on arrays.
"""

from __future__ import annotations

import array
import collections
import inspect
import numbers
import operator
import sys
from collections.abc import Callable

import numpy as np

from chainrule.core.tensor import NO_KWARGS, Tensor
from chainrule.transforms.ndarray_calls import RecordedArray

__all__ = ["SCALAR_MATH", "SCALAR_OPERATORS", "RecordedScalar", "ScalarOperators"]

# the packages whose code sees a RecordedScalar as the Tensor it is (not its scalar's class)
_OWN_CODE = ("chainrule", "numpy")
# the modules of isinstance machinery, looked through to find who asks
_INSTANCE_CHECKS = ("abc", "typing", "_py_abc")


class RecordedScalar(RecordedArray):
    """A NumPy scalar traced by :func:`jit` (a reduction's result, ``x[0]``, a scalar
    argument). Its class is the scalar's to the function's code, as in the plain call:
    ``isinstance(s, float)`` of a ``float64`` is True, ``isinstance(s, numbers.Integral)``
    of an ``int64`` too (the type of a traced value is fixed by the trace's key, so no
    guard is needed). To chainrule's and NumPy's own code, and where the plain call has an
    eager Tensor, it is the Tensor it is."""

    __slots__ = ()

    @property
    def __class__(self):
        frame = sys._getframe(1)
        while (caller := frame.f_globals.get("__name__") or "") in _INSTANCE_CHECKS and frame.f_back:
            frame = frame.f_back  # isinstance(s, numbers.Real): ABCMeta.__instancecheck__'s caller
        if caller.partition(".")[0] in _OWN_CODE or self._node in self._trace.eager:
            return type(self)
        return type(self._value)

    def __contains__(self, value) -> bool:
        if self._node in self._trace.eager:
            return Tensor.__contains__(self, value)
        raise TypeError(f"argument of type 'numpy.{type(self._value).__name__}' is not iterable")

    def __matmul__(self, other):  # a NumPy scalar has no @ of its own
        return Tensor.__matmul__(self, other) if self._node in self._trace.eager else NotImplemented

    def __rmatmul__(self, other):
        return Tensor.__rmatmul__(self, other) if self._node in self._trace.eager else NotImplemented


class _NotOfScalar:
    """An ndarray attribute that NumPy's scalars lack (``dot``, ``mT``, ``partition``):
    reading it of a value that is a NumPy scalar in the plain call (``x[0].dot(y)``)
    raises NumPy's AttributeError, as the plain call does; an eager Tensor has it."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __get__(self, obj, objtype=None):
        member = inspect.getattr_static(Tensor, self.name)
        if obj is None:
            return member
        if obj._node not in obj._trace.eager:
            raise AttributeError(f"'numpy.{type(obj._value).__name__}' object has no attribute {self.name!r}")
        return member.__get__(obj, objtype) if hasattr(type(member), "__get__") else member


for _name in sorted(n for n in set(dir(np.ndarray)) - set(dir(np.generic)) if not n.startswith("_")):
    setattr(RecordedScalar, _name, _NotOfScalar(_name))

# operators that NumPy's scalar math computes otherwise than the ufunc (powers of floats,
# products of complex numbers, and + - * of integers, whose overflow it reports), and the
# kinds of Python's numbers
SCALAR_OPERATORS = {np.power: operator.pow, np.multiply: operator.mul, np.add: operator.add,
                    np.subtract: operator.sub, np.true_divide: operator.truediv,
                    np.floor_divide: operator.floordiv, np.remainder: operator.mod, np.divmod: divmod}
_FLOAT_SCALAR_MATH = (np.add, np.subtract, np.multiply, np.true_divide, np.floor_divide, np.remainder, np.divmod)
SCALAR_MATH = frozenset(SCALAR_OPERATORS.values())
_PYTHON_KINDS = {bool: "b", int: "i", float: "f", complex: "c"}
# the sequences that NumPy's scalars repeat (or refuse to) rather than multiply elementwise
_REPEATS = {kind.__mul__ for kind in (list, tuple, str, bytes, bytearray, collections.deque, array.array)}
# the NumPy scalars that subclass Python's numbers, and which
_PYTHON_SCALARS = {np.float64: float, np.complex128: complex}
_DUNDERS = {np.add: "__add__", np.subtract: "__sub__", np.multiply: "__mul__",
            np.true_divide: "__truediv__", np.power: "__pow__"}


class ScalarOperators:
    """The operators of :class:`~chainrule.transforms.record.RecordTrace` on values that
    are NumPy scalars or Python numbers in the plain call: recorded as the scalar math
    that the plain call runs, not as the ufunc. Needs the trace's ``record``,
    ``process`` and ``eager``."""

    __slots__ = ()

    def binary(self, prim, a, b, kwargs=NO_KWARGS):
        # x[0] is a NumPy float64 (or complex128) in the plain call, a subclass of Python's
        # float (complex): a number on its left whose own operator takes it gives Python's
        # result, 1j + x[0] a complex, not NumPy's complex128. The value is read as Python
        # reads it (a guard).
        if (isinstance(b, Tensor) and b._trace is self and type(b._value) in _PYTHON_SCALARS
                and isinstance(a, numbers.Number) and not kwargs and b._node not in self.eager):
            method = getattr(type(a), _DUNDERS.get(prim.fun, ""), None)
            if (method is not None and not isinstance(a, np.generic)
                    and type(a) not in (int, bool, float, _PYTHON_SCALARS[type(b._value)])):
                result = method(a, b._value)
                if result is not NotImplemented:
                    b.primal()
                    return result
        if prim.fun is np.multiply and not kwargs and (repeated := self._repeat(a, b)) is not None:
            return repeated[0]
        if prim.fun in SCALAR_OPERATORS and not kwargs and self._scalar_operands(prim.fun, a, b):
            # operators of NumPy scalars are NumPy's scalar math, whose power (of floats)
            # and complex product round differently from the ufuncs' SIMD loops: recorded
            # as the operator, as the plain call computes them (0.999 ** t, t a float64)
            return self.record(SCALAR_OPERATORS[prim.fun], (a, b), {})
        if (prim.fun is np.power and type(b) is int and b == 2 and isinstance(a, Tensor)
                and a._trace is self and a._node not in self.eager
                and isinstance(a._value, np.ndarray) and a._value.dtype == bool):
            # ndarray's ** 2 is NumPy's square (bools: int8, where power gives int64); an
            # eager Tensor's is PyTorch's power
            return self.record(np.square, (a,), {})
        return self.process(prim, (a, b), kwargs)

    def _repeat(self, a, b) -> tuple | None:
        """``a * b`` of a sequence (a list, a string) and a NumPy scalar traced here, as
        the plain call computes it: NumPy's scalars repeat a sequence by their integer value
        (``[0.0] * np.argmax(x)``) and refuse to as Python refuses a float; the value is read
        (a guard). None where one is not such a pair."""
        for seq, t in ((a, b), (b, a)):
            if (getattr(type(seq), "__mul__", None) in _REPEATS and isinstance(t, Tensor) and t._trace is self
                    and t._node not in self.eager and isinstance(t._value, np.generic)):
                value = t.primal()
                return (seq * value if seq is a else value * seq),
        return None

    def unary_operator(self, op: Callable, a: Tensor, ufunc: Callable):
        """``-a`` or ``abs(a)`` (``op``): of a NumPy integer scalar, Python's operator, as
        in the plain call (NumPy's scalar math reports the overflow of -np.int8(-128),
        which the ufunc wraps around silently); otherwise the ufunc, as ``np.negative(a)``."""
        if (a._trace is self and a._node not in self.eager and isinstance(a._value, np.generic)
                and a._value.dtype.kind in "iu"):
            return self.record(op, (a,), {})
        return ufunc(a)

    def scalar_operator(self, fun, a, b):
        """``a // b``, ``a % b``, ``divmod(a, b)`` (``fun``: the ufunc) of NumPy scalars, one
        of them traced here: recorded as Python's operator, NumPy's scalar math, as the plain
        call computes it (its warnings are its own: "... in scalar floor_divide"); None for
        arrays and the rest, which the ufunc computes."""
        if self._scalar_operands(fun, a, b):
            return self.record(SCALAR_OPERATORS[fun], (a, b), {})
        return None

    def _scalar_operands(self, fun, a, b) -> bool:
        """Whether ``a`` and ``b`` (one of them traced here) are NumPy scalars or Python
        numbers in the plain call, of kinds on which :data:`SCALAR_OPERATORS` differ."""
        traced = False
        kinds = ""
        for x in (a, b):
            if isinstance(x, Tensor):
                if x._trace is not self or x._node in self.eager or not isinstance(x._value, np.generic):
                    return False
                traced = True
                kinds += x._value.dtype.kind
            elif isinstance(x, np.generic):
                kinds += x.dtype.kind
            elif type(x) in _PYTHON_KINDS:
                kinds += _PYTHON_KINDS[type(x)]
            else:
                return False
        if not traced:
            return False
        if fun is np.power:
            return "f" in kinds or "c" in kinds
        if fun is np.multiply and "c" in kinds:
            return True
        if fun in _FLOAT_SCALAR_MATH and "f" in kinds and "c" not in kinds:
            # the scalar math's a + b (a * b) of two NaNs gives b's NaN, the ufunc's a's, and
            # its warnings are its own ("divide by zero encountered in scalar divide")
            return True
        # integers: the scalar math reports an overflow (a RuntimeWarning, or an error under
        # np.errstate(over="raise")) where the ufunc wraps around silently
        return all(k in "iub" for k in kinds) and ("i" in kinds or "u" in kinds)

"""In-place writes into the arrays that :func:`chainrule.jit` traces.

``x += y``, ``x[i] = v``, ``out=``, ``np.copyto``: NumPy writes an array's memory in place,
so every view and alias of it sees the change. The recording trace does the write on its
traced arrays and records it as a call that writes (:class:`InplaceWrites`, the part of
:class:`~chainrule.transforms.record.RecordTrace` that does it); a value being
differentiated cannot be written (the gradient would be dropped).
"""

from __future__ import annotations

import operator
from collections.abc import Callable

import numpy as np

from chainrule.core.dtypes import wrapped_int
from chainrule.core.errors import eager_error
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.transforms.record_scalars import SCALAR_OPERATORS

__all__ = ["InplaceWrites"]

_INPLACE = {"add_": operator.iadd, "sub_": operator.isub, "mul_": operator.imul,
            "div_": operator.itruediv, "pow_": operator.ipow, "floordiv_": operator.ifloordiv,
            "remainder_": operator.imod, "matmul_": operator.imatmul, "and_": operator.iand,
            "or_": operator.ior, "xor_": operator.ixor, "lshift_": operator.ilshift,
            "rshift_": operator.irshift}


def _write_result(buffer, op, other):
    """``buffer`` overwritten with ``op(buffer, other)`` (an eager ``fill_``/``copy_``)."""
    np.copyto(buffer, op(buffer, other), casting="unsafe")
    return buffer


def _inplace_foreign_error(name: str) -> Exception:
    return TypeError(
        f"{name}: a value being differentiated cannot be written into an array in place (the "
        "gradient would be dropped, as NumPy would refuse it too). Use the out-of-place "
        "operation (x = x + y) or chainrule.stop_gradient(y)."
    )


class InplaceWrites:
    """The in-place writes of :class:`~chainrule.transforms.record.RecordTrace`: done on
    the traced values, and recorded as calls that write. Needs the trace's ``record``,
    ``refuse``, ``_encode``, ``_is_eager`` and ``_scalar_operands``."""

    __slots__ = ()

    def inplace(self, t: Tensor, op: Callable, other, name: str) -> Tensor:
        """``t <op>= other`` on a traced value: NumPy writes an array's memory in place
        (so every view of it and every alias sees the change), a scalar is rebound."""
        if self._foreign(other):
            raise _inplace_foreign_error(name)
        wrapped = wrapped_int(other, t.dtype) if self._is_eager(t) else None
        if wrapped is not None:  # an eager Tensor's uint8 -= 300 is -= 44, as PyTorch's; an
            other = wrapped      # array's raises NumPy's OverflowError, as the plain call
        if not isinstance(t._value, np.ndarray):  # a NumPy scalar: x += y is x = x + y
            fun = getattr(op, "fun", None)
            if fun in SCALAR_OPERATORS and self._scalar_operands(fun, t, other):
                return self.record(SCALAR_OPERATORS[fun], (t, other), {})  # as in binary
            return self.record(fun or op, (t, other), {})
        fun = _INPLACE.get(name)
        if fun is not None and not self._is_eager(t) and self._is_eager(other):
            # an ndarray's x += t of an eager Tensor: NumPy's ufunc with out=x, which the
            # plain call refuses (chainrule.numpy.elementwise.ufunc_keywords); raised so here,
            # on a copy of the array, that nothing is written unrecorded
            fun(t._value.copy(), other)
        try:
            out = (self.record(fun, (t, other), {}, effect="write") if fun is not None
                   else self.record(_write_result, (t, op, other), {}, effect="write"))
        except (ValueError, TypeError) as e:
            if self._is_eager(t):  # (a module's buffer) as the eager layer raises it, a TensorError
                raise eager_error(name, e, [getattr(a, "_value", a) for a in (t, other)]) from None
            raise
        t._value, t._node = out._value, out._node  # every alias of t sees the new value
        return t

    def write(self, fun: Callable, args, kwargs) -> None:
        """A NumPy call that writes into a traced array (``out=``, ``np.copyto``,
        ``ufunc.at``, ``np.put``): done, and recorded as a write."""
        for a in (*args, *kwargs.values()):
            for v in a if isinstance(a, tuple | list) else (a,):
                if self._foreign(v):
                    raise _inplace_foreign_error(getattr(fun, "__name__", "a write"))
        self.record(fun, args, kwargs, effect="write")

    def write_untraced(self, fun: Callable, args, kwargs):
        """A NumPy call that writes traced values into an array that is not traced
        (``np.copyto(np.zeros(4), x)``, ``out=`` such an array, ``np.add.at`` into one):
        done on the values, as the plain call does it; a replay would not write that
        array, so the call is not replayed."""
        self.refuse("a traced value was written into an array that is not traced (out=, "
                    "np.copyto or ufunc.at into an array made from no traced value, or one "
                    "that is not an argument), which a replay would not write")
        found: list = []
        return fun(*(self._encode(a, found)[0] for a in args),
                   **{k: self._encode(v, found)[0] for k, v in kwargs.items()})

    def setitem(self, t: Tensor, index, value) -> None:
        """``t[index] = value`` on a traced value: written, and recorded as a write."""
        if self._foreign(value):
            raise _inplace_foreign_error("__setitem__")
        self.record(operator.setitem, (t, undifferentiated(index), value), {}, effect="write")

    def _foreign(self, x) -> bool:
        """Whether ``x`` is a Tensor that a write into a traced array cannot take: a value
        of a transform inside the function (being differentiated), not this trace's nor an
        eager Tensor without grad (``t.copy_(cr.tensor(v))``, read as a constant)."""
        return isinstance(x, Tensor) and x._trace is not self and not (x._trace.level == 0 and x._node is None)

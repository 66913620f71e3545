"""What the core's values do through the mirror, bound when ``chainrule.numpy`` is imported.

The core defines the Tensor, its traces and the backward pass, and imports nothing from
the layers above it (DESIGN.md). A Tensor's operators, array methods and NumPy protocols
(``x + y``, ``x.sum()``, ``x[i] = v``, ``np.sin(x)``) are the mirror's functions, so they are
written here and set on :class:`~chainrule.core.tensor.Tensor` by :func:`bind_to_core`, as
are the zeros and casts that :mod:`chainrule.core.values` makes as the mirror does (a
batched value under ``vmap``, a recorded one under ``jit``).
"""

from __future__ import annotations

import copy
import math
import operator

import numpy as np

import chainrule.numpy as cnp
from chainrule.core import eager, values
from chainrule.core.errors import TensorError
from chainrule.core.ndarray_attributes import mark_ndarray_only_attributes, mark_not_of_ndarray_attributes
from chainrule.core.tensor import (
    Tensor,
    deepcopy_eager,
    overrides_ufuncs,
    read_by_chainrule,
    stands_for_array,
)
from chainrule.numpy import activations
from chainrule.numpy.dispatch import dispatch_function, dispatch_ufunc
from chainrule.numpy.elementwise import (
    add,
    multiply,
    negative,
    power,
    reciprocal,
    sqrt,
    square,
    subtract,
    torch_power,
    true_divide,
)
from chainrule.numpy.shape.primitives import index_update
from chainrule.numpy.shape.updates import IndexedUpdates
from chainrule.numpy.torch_common import (
    alpha_first,
    checked_divisor,
    integer_power,
    is_eager,
    not_bool,
    pytorchs,
    same_dtype,
    vectors_only,
)
from chainrule.numpy.torch_common import remainder as torch_remainder
from chainrule.numpy.torch_methods import torch_members
from chainrule.numpy.torch_promotion import EAGER_OPERANDS
from chainrule.numpy.torch_select import torch_index, torch_split

__all__ = ["bind_to_core"]


class NotMatricesError(TensorError, AttributeError):
    """``mT``, ``mH`` or ``H`` of a Tensor that holds no matrices: PyTorch's RuntimeError
    (NumPy's ValueError), and an AttributeError, so that ``hasattr(x, "mT")`` is False,
    as for HIPS autograd's boxes, which have no ``mT`` (hasattr lets nothing else pass)."""


def _matrices(x: Tensor, name: str) -> bool:
    """Whether ``x`` holds matrices (PyTorch's ``mT``, ``mH`` take a 0-d Tensor as it is
    and refuse a 1-d one)."""
    if x.ndim == 1:
        raise NotMatricesError(f"tensor.{name} is only supported on matrices or batches of matrices. Got 1-D tensor.")
    return x.ndim > 1


def _conj(x: Tensor) -> Tensor:
    return cnp.conj(x) if x.dtype.kind == "c" else x


class TensorMethods:
    """The methods that :func:`bind_to_core` sets on Tensor (a class only to hold them)."""

    @property
    def T(self) -> Tensor:
        return cnp.transpose(self)

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped; a 0-d Tensor itself, and a 1-d one refused, as PyTorch's."""
        return cnp.swapaxes(self, -1, -2) if _matrices(self, "mT") else self

    @property
    def mH(self) -> Tensor:
        """The conjugate of :attr:`mT` (PyTorch's)."""
        return _conj(cnp.swapaxes(self, -1, -2) if _matrices(self, "mH") else self)

    @property
    def H(self) -> Tensor:
        """The conjugate transpose of a matrix (a 0-d Tensor's conjugate), as PyTorch's."""
        if self.ndim not in (0, 2):
            raise NotMatricesError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor.")
        return _conj(cnp.transpose(self) if self.ndim else self)

    @property
    def real(self) -> Tensor:
        return cnp.real(self)

    @real.setter
    def real(self, value) -> None:
        """``z.real = v`` (and ``z.real += v``): written into the real parts, as NumPy does."""
        self.real[...] = value

    @property
    def imag(self) -> Tensor:
        return cnp.imag(self)

    @imag.setter
    def imag(self, value) -> None:
        """``z.imag = v`` (and ``z.imag += v``): written into the imaginary parts of a complex
        array; a real one has none, and refuses as NumPy's does."""
        if self.dtype.kind != "c":
            raise TypeError("array does not have imaginary part to set")
        self.imag[...] = value

    def __round__(self, ndigits=None):
        if ndigits is None:
            return round(self.primal())
        return cnp.round(self, ndigits)

    # -- NumPy interoperability ---------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return dispatch_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return dispatch_function(func, args, kwargs)

    def __array_namespace__(self, api_version=None):
        if stands_for_array(self) and not read_by_chainrule():
            # under jit, for a plain array: NumPy itself, as in the plain call (its functions
            # of traced values are recorded through __array_function__ all the same)
            return self._value.__array_namespace__(api_version=api_version)
        return cnp

    # -- operators ----------------------------------------------------------------------
    # + - * / ** (and their reflections) are set below the class by _operator.
    def __floordiv__(self, other):
        return cnp.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return cnp.floor_divide(other, self)

    def __mod__(self, other):
        return cnp.mod(self, other)

    def __rmod__(self, other):
        return cnp.mod(other, self)

    def __divmod__(self, other):
        if self._trace.records and (out := self._trace.scalar_operator(np.divmod, self, other)) is not None:
            return out  # of NumPy scalars: NumPy's scalar math, as in the plain call
        return cnp.divmod(self, other)

    def __rdivmod__(self, other):
        if self._trace.records and (out := self._trace.scalar_operator(np.divmod, other, self)) is not None:
            return out
        return cnp.divmod(other, self)

    def __lshift__(self, other):
        return cnp.left_shift(self, other)

    def __rlshift__(self, other):
        return cnp.left_shift(other, self)

    def __rshift__(self, other):
        return cnp.right_shift(self, other)

    def __rrshift__(self, other):
        return cnp.right_shift(other, self)

    def __matmul__(self, other):
        same_dtype("matmul", self, other)  # of eager Tensors, PyTorch's refusal of mixed kinds
        return cnp.matmul(self, other)

    def __rmatmul__(self, other):
        same_dtype("matmul", other, self)
        return cnp.matmul(other, self)

    def __neg__(self):
        if self._trace.records:  # chainrule.jit: -x of a NumPy scalar is its scalar math
            return self._trace.unary_operator(operator.neg, self, negative)
        return self._trace.unary(negative, self)

    def __abs__(self):
        return cnp.abs(self)

    def __pos__(self):  # a new array, as NumPy's +x (a write into it leaves x alone)
        return cnp.positive(self)

    def __copy__(self):
        """``copy.copy(x)``: inside a transform a new array, as for an ndarray (a write
        into it leaves x alone); an eager Tensor is copied as any object is. A value of a
        ``chainrule.jit`` trace that has ended is itself, as for :meth:`__deepcopy__`."""
        if self._trace.level > 0:
            if getattr(self._trace, "open", True) is False or _plain_scalar(self):
                return self
            return cnp.copy(self)
        return copy._reconstruct(self, None, *object.__reduce_ex__(self, 4))

    def __deepcopy__(self, memo):
        """``copy.deepcopy(x)``: inside a transform as :meth:`__copy__` (a traced value holds
        no objects); an eager Tensor becomes a new one, a new leaf where it required grad.
        A value of a ``chainrule.jit`` trace that has ended is itself: a pytree class whose
        flatten function deep-copies (``dataclasses.astuple``) is flattened again when the
        traced call has returned, and a traced value is never written to."""
        if self._trace.level > 0:
            if getattr(self._trace, "open", True) is False or _plain_scalar(self):
                return self
            return cnp.copy(self)
        return deepcopy_eager(self, memo)

    def __contains__(self, value) -> bool:
        """``v in x``: whether an element equals ``v``, as ``ndarray`` (a read that guards)."""
        return bool(cnp.any(cnp.equal(self, value)))

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    # Comparisons are not differentiable: they give plain boolean arrays.
    def __eq__(self, other):
        return cnp.equal(self, other)

    def __ne__(self, other):
        return cnp.not_equal(self, other)

    def __lt__(self, other):
        return cnp.less(self, other)

    def __le__(self, other):
        return cnp.less_equal(self, other)

    def __gt__(self, other):
        return cnp.greater(self, other)

    def __ge__(self, other):
        return cnp.greater_equal(self, other)

    # Logical operators: not differentiable either (they meet Tensors of masks while
    # chainrule.jit records, where comparisons give Tensors).
    def __and__(self, other):
        return cnp.bitwise_and(self, other)

    def __rand__(self, other):
        return cnp.bitwise_and(other, self)

    def __or__(self, other):
        return cnp.bitwise_or(self, other)

    def __ror__(self, other):
        return cnp.bitwise_or(other, self)

    def __xor__(self, other):
        return cnp.bitwise_xor(self, other)

    def __rxor__(self, other):
        return cnp.bitwise_xor(other, self)

    def __invert__(self):
        return cnp.invert(self)

    def __getitem__(self, index):
        if isinstance(index, Tensor) and index.dtype == bool and is_eager(self):
            if index.shape != self.shape[:index.ndim]:  # NumPy lets an empty mask pass
                raise IndexError(f"The shape of the mask {list(index.shape)} does not match the shape of the "
                                 f"indexed tensor {list(self.shape)}")
        if type(index) is tuple and is_eager(self):  # PyTorch's meaning of ints beside arrays (jitted too)
            selected = torch_index(self.shape, index)
            if selected is None and (split := torch_split(index)) is not None:  # a traced index
                return cnp.getitem(cnp.getitem(self, split[0]), split[1])
            index = index if selected is None else selected
        if self._trace.records and self._trace.swap_reads and self is self._trace.measured:  # NumPy's shuffle
            self._trace.swap_reads -= 1
            return cnp.copy(cnp.getitem(self, index))
        out = cnp.getitem(self, index)
        if self._trace.records and isinstance(out, Tensor) and stands_for_array(self):
            # an ndarray of the plain call indexed by an eager Tensor (x[t]): NumPy reads the
            # Tensor's array, and the result is NumPy's array
            return self._trace.as_array(out)
        return out

    @property
    def at(self):
        """JAX's out-of-place indexed updates: ``x.at[i].set(v)``, ``.add(v)``, ``.get()``...
        (see :mod:`chainrule.numpy.shape.updates`)."""
        return IndexedUpdates(self)

    # -- methods, as on ndarray ---------------------------------------------------------
    def reshape(self, *shape, order="C", copy=None):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return cnp.reshape(self, shape, order=order, copy=copy)

    def swapaxes(self, axis1, axis2):
        return cnp.swapaxes(self, axis1, axis2)

    def ravel(self, order="C"):
        return cnp.ravel(self, order=order)

    def dot(self, other, out=None):
        """NumPy's dot; of an eager Tensor, PyTorch's (of two 1-d Tensors only)."""
        if is_eager(self):
            vectors_only("dot", self, other)
            same_dtype("dot", self, other)
        return cnp.dot(self, other) if out is None else cnp.dot(self, other, out=out)

    def clip(self, min=None, max=None, out=None, **kwargs):
        """NumPy's clip; on an eager Tensor, PyTorch's (``clamp``: a value on a bound keeps its
        derivative)."""
        if out is None and not kwargs and pytorchs(self):
            return self.clamp(min, max)
        return cnp.clip(self, min, max, **kwargs) if out is None else cnp.clip(self, min, max, out=out, **kwargs)

    def round(self, decimals=0):
        return cnp.round(self, decimals=decimals)

    def conj(self):
        if self.dtype.kind != "c":  # NumPy's method returns a real array itself
            return self
        return cnp.conj(self)

    conjugate = conj

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        if not np.can_cast(self.dtype, dtype, casting):
            raise TypeError(f"Cannot cast array data from {self.dtype!r} to {np.dtype(dtype)!r} "
                            f"according to the rule {casting!r}")
        if not copy and np.dtype(dtype) == self.dtype and order in "KA":  # NumPy returns the array itself
            return self
        return _in_order(cnp.astype(self, dtype), order, self)

    def take(self, indices, axis=None, out=None, mode=None, unique_indices=False, indices_are_sorted=False,
             fill_value=None):
        if is_eager(self) and isinstance(indices, Tensor) and indices.dtype.kind not in "iu":  # PyTorch's
            raise TensorError(f"take(): Expected a long tensor for index, but got {indices.dtype}")
        if out is None and mode is None and fill_value is None:
            return cnp.take(self, indices, axis=axis)
        return cnp.take(self, indices, axis=axis, out=out, mode=mode, fill_value=fill_value)

    def searchsorted(self, v, side="left", sorter=None):
        return cnp.searchsorted(self, v, side=side, sorter=sorter)

    def choose(self, choices, out=None, mode="raise"):
        return cnp.choose(self, choices, out=out, mode=mode)

    def compress(self, condition, axis=None, out=None):
        return cnp.compress(condition, self, axis=axis, out=out)

    def put(self, indices, values, mode="raise") -> None:
        cnp.put(self, indices, values, mode=mode)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return cnp.diagonal(self, offset, axis1, axis2)

    def trace(self, offset=0, axis1=0, axis2=1, dtype=None, out=None):
        return cnp.trace(self, offset, axis1, axis2, dtype, out)

    def nonzero(self):
        return cnp.nonzero(self)

    def copy(self, order="C"):
        """A new array, C-ordered as ``ndarray.copy`` makes it (``np.copy`` keeps the layout);
        a NumPy scalar's copy is a scalar."""
        out = cnp.copy(self, order=order)
        return out[()] if isinstance(_innermost(self), np.generic) else out

    # PyTorch-style elementwise methods, so that (x @ w).tanh().sum() reads naturally.
    def exp(self):
        return cnp.exp(self)

    def log(self):
        return cnp.log(self)

    def sqrt(self):
        return cnp.sqrt(self)

    def tanh(self):
        return cnp.tanh(self)

    def sin(self):
        return cnp.sin(self)

    def cos(self):
        return cnp.cos(self)

    def abs(self):
        return cnp.abs(self)

    def sigmoid(self):
        try:
            return activations.sigmoid(self)
        except TypeError:  # a bool Tensor's: of the default floating dtype, as PyTorch's
            if self.dtype.kind != "b" or not is_eager(self):
                raise
            return activations.sigmoid(self.to(eager.default_float_dtype()))

    def relu(self):
        return activations.relu(not_bool(self, "relu"))

    # In-place operations: see chainrule.core.eager.inplace for the rules.
    def __iadd__(self, other):
        return eager.inplace(self, add, other, "add_", augmented=True)

    def __isub__(self, other):
        return eager.inplace(self, subtract, other, "sub_", augmented=True)

    def __imul__(self, other):
        return eager.inplace(self, multiply, other, "mul_", augmented=True)

    def __itruediv__(self, other):
        return eager.inplace(self, true_divide, other, "div_", augmented=True)

    def __ipow__(self, other):
        prim = torch_power if isinstance(other, Tensor) and pytorchs(self) else power
        return eager.inplace(self, prim, other, "pow_", augmented=True)

    # the other in-place operators of ndarray: without them Python would rebind the name
    # (x = x // y) where NumPy writes the array
    def __ifloordiv__(self, other):
        divisor = checked_divisor(self, other, "floor_divide_")
        return eager.inplace(self, cnp.floor_divide, divisor, "floordiv_", augmented=True)

    def __imod__(self, other):
        return eager.inplace(self, lambda a, b: torch_remainder(a, b, "remainder_"), other, "remainder_",
                             augmented=True)

    def __imatmul__(self, other):
        return eager.inplace(self, cnp.matmul, other, "matmul_", augmented=True)

    def __iand__(self, other):
        return eager.inplace(self, cnp.bitwise_and, other, "and_", augmented=True)

    def __ior__(self, other):
        return eager.inplace(self, cnp.bitwise_or, other, "or_", augmented=True)

    def __ixor__(self, other):
        return eager.inplace(self, cnp.bitwise_xor, other, "xor_", augmented=True)

    def __ilshift__(self, other):
        return eager.inplace(self, cnp.left_shift, other, "lshift_", augmented=True)

    def __irshift__(self, other):
        return eager.inplace(self, cnp.right_shift, other, "rshift_", augmented=True)

    def add_(self, other, alpha=1):
        other, alpha = alpha_first(other, alpha, "add_")
        unit = not isinstance(alpha, Tensor) and alpha == 1
        return eager.inplace(self, add, other if unit else other * alpha, "add_")

    def sub_(self, other, alpha=1):
        other, alpha = alpha_first(other, alpha, "sub_")
        unit = not isinstance(alpha, Tensor) and alpha == 1
        return eager.inplace(self, subtract, other if unit else other * alpha, "sub_")

    def mul_(self, other):
        return eager.inplace(self, multiply, other, "mul_")

    def div_(self, other):
        return eager.inplace(self, true_divide, other, "div_")

    def zero_(self):
        return eager.inplace(self, _filled, 0, "zero_")

    def fill_(self, value):
        """Every element set to ``value`` in place; into a view whose elements share memory
        (an expand), a number is written, a Tensor refused, as PyTorch's ``fill_``; a value
        Tensor must be 0-d, as there."""
        if isinstance(value, Tensor) and value.ndim:
            raise TensorError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                              "dimensions.")
        if isinstance(value, Tensor) and eager.overlaps(self):
            raise eager.overlap_error("fill_")
        return eager.inplace(self, _filled, value, "fill_")

    def copy_(self, other):
        return eager.inplace(self, _filled, other, "copy_")

    def fill(self, value) -> None:
        """``ndarray.fill``: every element set to ``value``, in place."""
        eager.inplace(self, _filled, value, "fill")

    def __setitem__(self, index, value):
        if type(index) is tuple and is_eager(self):
            index = torch_index(self.shape, index) or index
        eager.setitem(self, index, value, index_update)



def _plain_scalar(x: Tensor) -> bool:
    """Whether ``x`` is a NumPy scalar in the plain call of a ``chainrule.jit`` trace
    (``x[0]``, a reduction's result), which ``copy.copy`` hands back as itself: a scalar
    cannot be written to, and its copy is no 0-d array."""
    trace = x._trace
    return trace.records and isinstance(x._value, np.generic) and x._node not in trace.eager


def _innermost(x):
    """The plain value under a Tensor's traces (what its layout and type are read from)."""
    while isinstance(x, Tensor):
        x = x._value
    return x


def _in_order(x, order: str, source):
    """``x`` laid out in memory as ``order`` says (NumPy's C, F, A: F if ``source`` is
    Fortran-ordered only, K: as it is)."""
    if order == "A":
        flags = getattr(_innermost(source), "flags", None)
        order = "F" if flags is not None and flags.f_contiguous and not flags.c_contiguous else "C"
    if order == "C" and x.ndim:  # (NumPy's ascontiguousarray makes a 0-d array 1-d)
        return cnp.ascontiguousarray(x)
    if order == "F" and x.ndim:
        return cnp.asfortranarray(x)
    return x


def _filled(a, v):
    """An array of ``a``'s shape and dtype holding ``v``: written, not computed from ``a``
    (``a * 0 + v`` would keep a NaN or inf of ``a``); differentiable in ``v``, and in a
    Tensor ``a`` with derivative 0, so that a Tensor on a graph stays on it (PyTorch's
    ``y.zero_()`` keeps ``y.requires_grad``). The zeros are -0.0, which keep the sign of
    any ``v`` (0.0 + -0.0 is 0.0)."""
    out = cnp.full_like(a, -0.0) + v
    dtype = a.dtype if hasattr(a, "dtype") else np.result_type(a)
    out = out if out.dtype == dtype else cnp.astype(out, dtype)
    return cnp.where(True, out, a) if isinstance(a, Tensor) else out


# ndarray ** e calls these ufuncs instead of power for a float or complex array and a
# Python int 2 or -1 or float 0.5 (NumPy's fast_scalar_power); power rounds complex
# values differently
_FAST_POWERS = {(int, 2): square, (int, -1): reciprocal, (float, 0.5): sqrt}


def _array_power(method, torch_method):
    """``Tensor.__pow__`` as ``ndarray.__pow__``: the same ufunc for the same operands; of a
    Tensor exponent, where ``self`` means PyTorch's, ``torch_method`` (PyTorch's partials at
    0 and NaN: :data:`chainrule.numpy.elementwise.torch_power`)."""
    def __pow__(self, other):
        fast = _FAST_POWERS.get((type(other), other)) if type(other) in (int, float) else None
        if fast is not None:
            value = _innermost(self)  # (a primal traced by a lower transform)
            if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
                return fast(self)
        if other.__class__ is bool and self.dtype == np.bool_ and is_eager(self):  # PyTorch's bool ** bool
            return self | (not other)  # (x ** True is x, x ** False is True; NumPy's is int8)
        if self.dtype.kind in "biu" and is_eager(self) and (
                type(other) is int and other < 0
                or isinstance(other, Tensor | np.ndarray) and other.dtype.kind in "iu"):
            return integer_power(self, other)  # (PyTorch's integer powers: of -1 refused, of a Tensor wrapped)
        if isinstance(other, Tensor) and pytorchs(self):
            return torch_method(self, other)
        return method(self, other)
    __pow__.__qualname__ = "Tensor.__pow__"
    return __pow__


def _array_rpower(method, torch_method):
    """``Tensor.__rpow__``: of an eager integer Tensor, PyTorch's integer powers (see
    :func:`chainrule.numpy.torch_common.integer_power`); where ``self`` means PyTorch's,
    ``torch_method`` (see :func:`_array_power`)."""
    def __rpow__(self, other):
        if self.dtype.kind in "iu" and type(other) is int and is_eager(self):
            return integer_power(other, self)
        if pytorchs(self):
            return torch_method(self, other)
        return method(self, other)
    __rpow__.__qualname__ = "Tensor.__rpow__"
    return __rpow__


# Operands that an ndarray's operators never give way to (see _ndarray_gives_way); nor do
# they to a Tensor of any kind (a Tensor's __array_ufunc__ takes part in the call)
_OWN_OPERANDS = frozenset({Tensor, np.ndarray, int, float, complex, bool, np.float64, np.float32, np.int64,
                           np.int32, np.bool_, np.complex128})


def _ndarray_gives_way(value, other, reflected: str) -> bool:
    """Whether NumPy's operator on ``value`` returns NotImplemented for ``other``, so that
    Python calls ``other``'s reflected one (NumPy's binop override: ``other`` sets
    ``__array_ufunc__ = None``, or, without ``__array_ufunc__``, has a higher
    ``__array_priority__`` and the reflected operator). A call that ``cr.jit`` traces on
    plain arrays must do what the plain call does."""
    kind = type(other)
    if isinstance(other, np.ndarray | np.generic) or not hasattr(kind, reflected):
        return False
    if hasattr(kind, "__array_ufunc__"):
        return kind.__array_ufunc__ is None
    if issubclass(kind, type(value)):
        return False
    mine = getattr(value, "__array_priority__", 0.0 if isinstance(value, np.ndarray) else -1e6)
    return getattr(other, "__array_priority__", -1e6) > mine


# An ndarray's binary operators: name -> (NumPy's ufunc, the reflected operator)
_OPERATORS = {"__add__": (np.add, "__radd__"), "__sub__": (np.subtract, "__rsub__"),
              "__mul__": (np.multiply, "__rmul__"), "__truediv__": (np.true_divide, "__rtruediv__"),
              "__pow__": (np.power, "__rpow__"), "__floordiv__": (np.floor_divide, "__rfloordiv__"),
              "__mod__": (np.remainder, "__rmod__"), "__divmod__": (np.divmod, "__rdivmod__"),
              "__matmul__": (np.matmul, "__rmatmul__"), "__and__": (np.bitwise_and, "__rand__"),
              "__or__": (np.bitwise_or, "__ror__"), "__xor__": (np.bitwise_xor, "__rxor__"),
              "__lshift__": (np.left_shift, "__rlshift__"), "__rshift__": (np.right_shift, "__rrshift__"),
              "__lt__": (np.less, "__gt__"), "__le__": (np.less_equal, "__ge__"), "__eq__": (np.equal, "__eq__"),
              "__ne__": (np.not_equal, "__ne__"), "__gt__": (np.greater, "__lt__"),
              "__ge__": (np.greater_equal, "__le__")}
_OWN = object()  # (no other operand takes the call: the Tensor's own operation)


def _handed_over(self, other, name: str):
    """What an ndarray's operator ``name`` does with ``other``, an operand of another kind:
    NumPy's ufunc, whose dispatch hands the call to a container that takes part in it
    (see overrides_ufuncs), or NotImplemented where NumPy gives way (see
    :func:`_ndarray_gives_way`); else ``_OWN``."""
    ufunc, reflected = _OPERATORS[name]
    if overrides_ufuncs(other):
        return ufunc(self, other)
    if stands_for_array(self) and _ndarray_gives_way(self._value, other, reflected):
        return NotImplemented
    return _OWN


def _operator(prim, reflected: bool, name: str):
    """The operator method for ``prim``: straight to the innermost trace, skipping the
    argument scan of ``Primitive.__call__`` (operators are the hot path)."""
    if reflected:
        def method(self, other):
            trace = self._trace
            if isinstance(other, Tensor) and other._trace.level > trace.level:
                trace = other._trace
            return trace.binary(prim, other, self)
    else:
        def method(self, other):
            if (other.__class__ not in _OWN_OPERANDS and not isinstance(other, Tensor)
                    and (out := _handed_over(self, other, name)) is not _OWN):
                return out
            trace = self._trace
            if isinstance(other, Tensor) and other._trace.level > trace.level:
                trace = other._trace
            return trace.binary(prim, self, other)
    return method


# the other binary operators, whose methods are set on Tensor first
_HANDING_OVER = ("__floordiv__", "__mod__", "__divmod__", "__matmul__", "__and__", "__or__", "__xor__",
                 "__lshift__", "__rshift__", "__lt__", "__le__", "__eq__", "__ne__", "__gt__", "__ge__")


def _handing_over(method, name: str):
    """``method`` that first hands the call over to ``other`` where an ndarray's would (see
    :func:`_handed_over`)."""
    def op(self, other):
        if (other.__class__ not in _OWN_OPERANDS and not isinstance(other, Tensor)
                and (out := _handed_over(self, other, name)) is not _OWN):
            return out
        return method(self, other)
    op.__name__, op.__qualname__, op.__doc__ = method.__name__, method.__qualname__, method.__doc__
    return op


# Class machinery that is not a method (``__hash__`` is None in a class that defines
# ``__eq__``: Tensor keeps its own).
_NOT_METHODS = {"__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__hash__"}


def bind_to_core() -> None:
    """Set the mirror's methods and operators on Tensor, and give the core's values the
    mirror's zeros and casts."""
    members = {**vars(TensorMethods), **torch_members()}  # PyTorch's forms where they differ
    for name, member in members.items():
        if name in _NOT_METHODS:
            continue
        fun = member.fget if isinstance(member, property) else member
        if callable(fun) and not fun.__qualname__.startswith("Tensor."):
            fun.__qualname__ = f"Tensor.{name}"
        setattr(Tensor, name, member)
    for name, prim in (("add", add), ("sub", subtract), ("mul", multiply),
                       ("truediv", true_divide), ("pow", power)):
        for method_name, reflected in ((f"__{name}__", False), (f"__r{name}__", True)):
            method = _operator(prim, reflected, method_name)
            method.__name__ = method_name
            method.__qualname__ = f"Tensor.{method_name}"
            setattr(Tensor, method_name, method)
    Tensor.__pow__ = _array_power(Tensor.__pow__, _operator(torch_power, False, "__pow__"))
    Tensor.__rpow__ = _array_rpower(Tensor.__rpow__, _operator(torch_power, True, "__rpow__"))
    for name in _HANDING_OVER:
        setattr(Tensor, name, _handing_over(getattr(Tensor, name), name))
    for prim, operands in EAGER_OPERANDS.items():  # PyTorch's result dtypes on eager Tensors
        prim.eager_operands = operands
    values.use_mirror(zeros_like=cnp.zeros_like, real=cnp.real, conj=cnp.conj, astype=cnp.astype, copy=cnp.copy)
    mark_ndarray_only_attributes()
    mark_not_of_ndarray_attributes()

"""PyTorch's type promotion for the arithmetic of eager Tensors.

NumPy and PyTorch agree on most result dtypes; they differ where an operand is a
"scalar": PyTorch lets a Tensor with dimensions decide the dtype over a 0-d Tensor, a
Python number or a NumPy scalar of the same kind (float32 Tensor * ``np.float64(2)`` is
float32, NumPy says float64), and a floating operand over an integer one of any size
(int64 Tensor + float32 Tensor is float32, NumPy says float64); a Python or NumPy float
with an integer Tensor gives the default floating dtype (:func:`chainrule.get_default_dtype`
for new Tensors), as does true division of integers.

The eager layer calls :func:`eager_operands` (set on the arithmetic primitives as
``Primitive.eager_operands``) before such a call and casts the operands so that NumPy's
result has PyTorch's dtype; inside ``chainrule.grad``, ``jit`` and ``vmap`` NumPy's rules
stay, as HIPS autograd's code expects.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from chainrule.core.dtypes import wrapped_int
from chainrule.core.eager import default_float_dtype
from chainrule.core.errors import KernelMissingError, TensorError
from chainrule.core.tensor import Tensor
from chainrule.numpy import elementwise

__all__ = ["EAGER_OPERANDS", "eager_operands", "eager_division_operands", "comparison_operands", "promoted_operands",
           "result_type"]

_KIND = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_DIMENSIONED, _ZERO_DIM, _SCALAR = 0, 1, 2


def _default_for(kind: int) -> np.dtype:
    """The dtype PyTorch gives a Python number of category ``kind``."""
    if kind == 0:
        return np.dtype(bool)
    if kind == 1:
        return np.dtype(np.int64)
    f = default_float_dtype()
    return f if kind == 2 else np.result_type(f, np.complex64)


def _promote(a: np.dtype | None, b: np.dtype | None) -> np.dtype | None:
    """PyTorch's promote_types: NumPy's within a category, the floating (or complex)
    dtype over an integer or boolean one of any size."""
    if a is None or b is None:
        return b if a is None else a
    ka, kb = _KIND.get(a.kind, 3), _KIND.get(b.kind, 3)
    if ka != kb and max(ka, kb) >= 2 and min(ka, kb) <= 1:
        return a if ka > kb else b
    return np.promote_types(a, b)


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """PyTorch's combine_categories: a lower-priority group's dtype counts only where its
    category is above the higher group's."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    kh, kl = _KIND.get(higher.kind, 3), _KIND.get(lower.kind, 3)
    if kh == 3:
        return higher
    if kl == 3:
        return np.result_type(higher, np.complex64) if kh == 2 else lower
    if kh == 2:
        return higher
    if kh == 0 or kl == 2:
        return _promote(higher, lower)
    return higher


def _classify(x) -> tuple[int, np.dtype] | None:
    if isinstance(x, Tensor):
        return (_ZERO_DIM if x.ndim == 0 else _DIMENSIONED), x.dtype
    if isinstance(x, np.ndarray):  # as PyTorch converts an array: by its own dtype
        return _DIMENSIONED, x.dtype
    if isinstance(x, bool | np.bool_):
        return _SCALAR, np.dtype(bool)
    if isinstance(x, int | np.integer):
        return _SCALAR, _default_for(1)
    if isinstance(x, float | np.floating):
        return _SCALAR, _default_for(2)
    if isinstance(x, complex | np.complexfloating):
        return _SCALAR, _default_for(3)
    return None


def result_type(*operands) -> np.dtype | None:
    """PyTorch's ``torch.result_type`` for Tensors, arrays and Python or NumPy scalars
    (None for an operand it does not know).

    >>> import chainrule as cr
    >>> result_type(cr.tensor([1.0], dtype="float32"), np.float64(2.0))
    dtype('float32')
    """
    groups: list = [None, None, None]
    for x in operands:
        c = _classify(x)
        if c is None:
            return None
        groups[c[0]] = _promote(groups[c[0]], c[1])
    return _combine(groups[_DIMENSIONED], _combine(groups[_ZERO_DIM], groups[_SCALAR]))


def _cast(x, dtype: np.dtype):
    if isinstance(x, Tensor | np.ndarray):
        return x if x.dtype == dtype else elementwise.astype(x, dtype)
    if isinstance(x, np.generic):  # as a Python number, which NumPy casts to the other's dtype
        return x.item()
    return x


def eager_operands(a, b, numpy_dtype: np.dtype, name: str = "the operation") -> tuple | None:
    """``(a, b)`` cast so that NumPy's arithmetic on them gives PyTorch's result dtype
    (one of them is an eager Tensor), or None where NumPy's, ``numpy_dtype``, is PyTorch's.

    >>> import chainrule as cr
    >>> a, b = eager_operands(cr.tensor([1, 2]), cr.tensor([0.5], dtype="float32"), np.dtype("float64"))
    >>> str(a.dtype), str(b.dtype)
    ('float32', 'float32')
    """
    return _cast_to(a, b, result_type(a, b), numpy_dtype, name)


def eager_subtraction_operands(a, b, numpy_dtype: np.dtype, name: str = "subtract") -> tuple | None:
    """As :func:`eager_operands`; a bool Tensor is refused, as PyTorch refuses it (NumPy
    subtracts it from or of a number as 0 and 1).

    >>> import chainrule as cr
    >>> eager_subtraction_operands(cr.tensor([True]), 1.0, np.dtype("float64"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    chainrule.core.errors.TensorError: Subtraction, the `-` operator, with a bool Tensor is not supported; ...
    """
    if any(isinstance(x, Tensor) and x.dtype == np.bool_ for x in (a, b)):
        raise TensorError("Subtraction, the `-` operator, with a bool Tensor is not supported; to invert a mask "
                          "use ~ or logical_not(), else convert it with .int() or .float() first")
    return eager_operands(a, b, numpy_dtype, name)


def eager_division_operands(a, b, numpy_dtype: np.dtype, name: str = "the operation") -> tuple | None:
    """As :func:`eager_operands`, for true division (and ``arctan2``): integers divide in
    the default floating dtype, as in PyTorch.

    >>> import chainrule as cr
    >>> cr.set_default_dtype("float32")
    >>> a, b = eager_division_operands(cr.tensor([1, 2]), 2, np.dtype("float64"))
    >>> cr.set_default_dtype(None); str(a.dtype)
    'float32'
    """
    dtype = result_type(a, b)
    if dtype is not None and dtype.kind in "biu":
        dtype = default_float_dtype()
    return _cast_to(a, b, dtype, numpy_dtype, name)


def comparison_operands(a, b) -> tuple:
    """``(a, b)`` cast to the dtype PyTorch compares them in, :func:`result_type`'s (a
    float32 Tensor meets ``np.float64(0.1)`` or a 0-d float64 Tensor as float32), where
    NumPy's comparison would differ; a Python number is left to NumPy, which compares it
    in the Tensor's dtype as PyTorch does (an int out of an integer Tensor's range wrapped
    into it first, as PyTorch converts it), and so is a NumPy scalar or 0-d array, as a
    number (NumPy hands ``np.float64(0.1) < x`` over as a 0-d array).

    >>> import chainrule as cr
    >>> a, b = comparison_operands(cr.tensor([0.1], dtype="float32"), np.float64(0.1))
    >>> bool(a == b)
    True
    """
    if isinstance(b, np.generic) or isinstance(b, np.ndarray) and b.ndim == 0:
        b = b.item()
    if b.__class__ in (int, float, bool):
        wrapped = wrapped_int(b, getattr(a, "dtype", None))  # uint8 == 258 is uint8 == 2, as PyTorch's
        return a, b if wrapped is None else wrapped
    dtype = result_type(a, b)
    return (a, b) if dtype is None else (_cast(a, dtype), _cast(b, dtype))


def promoted_operands(a, b) -> tuple:
    """``(a, b)`` both cast to PyTorch's result dtype of the two (:func:`result_type`), for a
    function of eager Tensors written with several NumPy calls (``maximum``'s ``where``),
    whose own promotion would be NumPy's.

    >>> import chainrule as cr
    >>> a, b = promoted_operands(cr.tensor([1.0], dtype="float32"), cr.tensor(2.0, dtype="float64"))
    >>> str(a.dtype), str(b.dtype)
    ('float32', 'float32')
    """
    dtype = result_type(a, b)
    return (a, b) if dtype is None else (_cast(a, dtype), _cast(b, dtype))


def _cast_to(a, b, dtype: np.dtype | None, numpy_dtype: np.dtype, name: str) -> tuple | None:
    if dtype is None or dtype == numpy_dtype:
        return None
    cast = _cast(a, dtype), _cast(b, dtype)
    if cast[0] is a and cast[1] is b:  # NumPy's kernel for ``dtype`` gives another dtype (bool ** bool: int8)
        raise KernelMissingError(f"{name} is not implemented for {dtype.name} Tensors, as in PyTorch; convert "
                                  "them first with .int() or .float()")
    return cast


# What the mirror binds as ``Primitive.eager_operands`` (chainrule.numpy.bindings).
EAGER_OPERANDS = {
    **{prim: partial(eager_operands, name=prim.__name__)
       for prim in (elementwise.add, elementwise.multiply, elementwise.power, elementwise.torch_power,
                    elementwise.mod, elementwise.fmod, elementwise.maximum, elementwise.minimum,
                    elementwise.fmax, elementwise.fmin)},
    elementwise.subtract: eager_subtraction_operands,
    # (integers give the default floating dtype; so do the functions that compute in floats)
    **{prim: partial(eager_division_operands, name=prim.__name__)
       for prim in (elementwise.true_divide, elementwise.arctan2, elementwise.hypot, elementwise.copysign,
                    elementwise.logaddexp, elementwise.logaddexp2, elementwise.nextafter)},
}

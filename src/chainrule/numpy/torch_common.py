"""What the modules of PyTorch's Tensor methods share: PyTorch's small result types
(``x.size()``, ``x.device``, the (values, indices) pairs) and the reading of PyTorch's
arguments (``dim=`` next to NumPy's ``axis=``, sizes given as ``*args`` or one sequence).

The methods themselves live by job in :mod:`~chainrule.numpy.torch_methods` (size, type and
new Tensors), :mod:`~chainrule.numpy.torch_shape` (shape and indexing),
:mod:`~chainrule.numpy.torch_reductions` (reductions and sorting) and
:mod:`~chainrule.numpy.torch_elementwise` (elementwise and in-place).
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from collections import namedtuple

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.dtypes import default_float_dtype, type_name
from chainrule.core.eager import EAGER, tensor
from chainrule.core.eager_trace import is_eager
from chainrule.core.errors import DimensionError, KernelMissingError, TensorError, TensorTypeError
from chainrule.core.grad_mode import pytorch_meaning, pytorch_meaning_on
from chainrule.core.size import Size as TorchSize
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.values import plain
from chainrule.numpy.nondiff import batched, whole_batch
from chainrule.numpy.torch_promotion import promoted_operands, result_type

__all__ = ["CPU", "Device", "Size", "alpha_first", "at_least_one_dim", "checked_divisor",
           "as_axes", "as_eager", "as_shape", "axis_or_dim", "elementwise_extreme", "filled_like", "floating_only",
           "index_operand",
           "index_values", "is_eager", "tensor_of", "held_as_tensor", "check_tensor_argument",
           "legacy_value", "nonnegative_dim", "pytorch_meaning", "pytorchs", "reduced_axes", "scalar_dims",
           "values_indices", "TorchSize"]

values_indices = namedtuple("values_indices", ["values", "indices"])
"""What ``max(dim)``, ``min(dim)``, ``sort``, ``topk`` and ``median(dim)`` return, as
PyTorch's ``torch.return_types``: a pair with ``.values`` and ``.indices``."""


class Size(int):
    """A Tensor's ``size``: NumPy's element count (an int), and callable as PyTorch's
    ``x.size()`` (the shape) or ``x.size(dim)``."""

    def __new__(cls, shape):
        obj = super().__new__(cls, math.prod(shape))
        obj.shape = tuple(shape)
        return obj

    def __call__(self, dim: int | None = None):
        return TorchSize(self.shape) if dim is None else self.shape[dim]


def legacy_value(args: tuple, dtype: np.dtype | None, name: str):
    """The array that PyTorch's legacy constructor ``name(*args)`` holds: zeros of the sizes
    (ints, or one ``torch.Size`` such as ``x.size()``; a plain tuple is data, as PyTorch
    reads it), or the data as ``dtype``. A Tensor given alone is shared with its own dtype
    (``dtype`` None) or refused if it requires grad.

    >>> legacy_value((2, 3), np.dtype(np.float32), "FloatTensor").shape
    (2, 3)
    """
    dtype = default_float_dtype() if dtype is None else dtype
    if len(args) == 1 and type(args[0]) is TorchSize:
        args = tuple(args[0])
    if all(isinstance(a, int | np.integer) and not isinstance(a, bool | np.bool_) for a in args):
        if any(a < 0 for a in args):
            raise RuntimeError(f"{name}: trying to create a Tensor with a negative size {list(args)}")
        return np.zeros(tuple(int(a) for a in args) if args else (0,), dtype)
    if len(args) != 1:
        raise TypeError(f"{name}() takes sizes (ints, or a torch.Size) or one sequence of data, got "
                        f"({', '.join(type(a).__name__ for a in args)})")
    data = args[0]
    if isinstance(data, Tensor) and name == "Tensor":
        if data.requires_grad:
            raise TypeError("Tensor(t) of a Tensor that requires grad: use t itself, or t.detach() for "
                            "the same values without the graph")
        return plain(data)  # the same memory and dtype, as PyTorch's alias
    if np.ndim(plain(data)) == 0 and not isinstance(data, Tensor):
        raise TypeError(f"{name}() takes sizes (ints) or a sequence of data, got a {type(data).__name__}; for "
                        "a 0-d Tensor write chainrule.tensor(value)")
    return np.array(plain(data), dtype=dtype)


def elementwise_extreme(x, other, greater: bool):
    """PyTorch's ``maximum`` (``greater``) or ``minimum`` of an eager Tensor: the gradient
    to the winner, halved at a tie, and to both where either is NaN (the result is NaN);
    NumPy's rule (the mirror's) inside the transforms and for integers."""
    if not is_eager(x) or x.dtype.kind not in "fc" or (isinstance(other, Tensor) and not is_eager(other)):
        return cnp.maximum(x, other) if greater else cnp.minimum(x, other)
    x, other = promoted_operands(x, other)  # (cnp.where promotes as NumPy)
    a, b = undifferentiated(x), undifferentiated(other)
    wins = a > b if greater else a < b
    both = x * 0.5 + other * 0.5
    return cnp.where(cnp.isnan(a) | cnp.isnan(b), x + other, cnp.where(a == b, both, cnp.where(wins, x, other)))


def floating_only(x, dtype, message: str) -> None:
    """PyTorch's error for an eager integer or boolean Tensor given to a function of
    floating point ones (NumPy's functions, with ``dtype=``, take them)."""
    if dtype is None and is_eager(x) and x.dtype.kind not in "fc":
        raise TensorError(f"{message}, got {np.dtype(x.dtype).name}; convert with .double() or .float()")


def floating_kernel(x, kernel: str) -> None:
    """PyTorch's NotImplementedError for an eager integer or bool Tensor given to a function
    whose kernel, ``kernel``, computes floats only (NumPy's would give float64; a NumPy
    array or a transform's value is left to NumPy's promotion, as jax.nn's reuse wants).

    >>> try:
    ...     floating_kernel(tensor([1, 2]), "elu_cpu")
    ... except NotImplementedError as error:
    ...     print(str(error)[:40])
    "elu_cpu" not implemented for 'Long'; co
    """
    if not_floating_eager(x):
        raise KernelMissingError(f'"{kernel}" not implemented for \'{scalar_type_name(x.dtype)}\'; convert the '
                                 'input with .float() or .double() first')


def no_bool_kernel(x, kernel: str) -> None:
    """PyTorch's NotImplementedError for an eager bool Tensor given to ``kernel``, which
    takes numbers only (``median``, ``kthvalue``, ``abs``)."""
    if x.dtype.kind == "b":
        floating_kernel(x, kernel)


def not_floating_eager(x) -> bool:
    """Whether ``x`` is an eager Tensor of integers or bools (which PyTorch's floating point
    kernels refuse; NumPy arrays and transforms' values promote as NumPy's)."""
    return isinstance(x, Tensor) and is_eager(x) and x.dtype.kind not in "fc"


def scalar_type_name(dtype) -> str:
    """PyTorch's name of ``dtype`` in its kernels' messages.

    >>> scalar_type_name(np.dtype("int64")), scalar_type_name(np.dtype("bool"))
    ('Long', 'Bool')
    """
    return type_name(dtype).removeprefix("chainrule.").removesuffix("Tensor")


def magnitude(x):
    """``|x|`` with PyTorch's derivative at NaN: 0 (its ``sgn(NaN)``), where NumPy's sign
    gives NaN; of any Tensor (eager or a transform's), for Tensor.abs and the norms.

    >>> x = tensor([float("nan"), -2.0], requires_grad=True)
    >>> magnitude(x).sum().backward(); x.grad.tolist()
    [0.0, -1.0]
    """
    if np.dtype(x.dtype).kind != "f":
        return cnp.abs(x)
    nan = cnp.isnan(undifferentiated(x))
    return cnp.where(nan, undifferentiated(x), cnp.abs(cnp.where(nan, 0.0, x)))


def integer_power(base, exponent):
    """``base ** exponent`` as PyTorch computes it: of integers, a negative exponent in a
    Tensor gives its integer power (±1 for a base of ±1, 0 for any other) where NumPy
    raises, in PyTorch's result dtype; a negative Python int exponent of an integer or
    bool Tensor is refused, as PyTorch refuses it. Written with chainrule.numpy, not on
    plain values, so that it runs on values vmap batches too.

    >>> integer_power(tensor([1, 2, -1]), tensor(-1)).tolist()
    [1, 0, -1]
    """
    refuse_negative_integer_power(base, exponent)
    if not (isinstance(exponent, Tensor | np.ndarray) and _dtype_of(base).kind in "biu"
            and _dtype_of(exponent).kind in "iu"):
        return base ** exponent
    dtype = result_type(base, exponent) or np.result_type(_dtype_of(base), _dtype_of(exponent))
    like = base if isinstance(base, Tensor) else exponent
    # in the result's dtype first, as PyTorch computes: uint8 ** tensor(-1) is uint8 ** 255
    base, exponent = (cnp.astype(a, dtype) if _dtype_of(a) != dtype else a for a in (base, exponent))
    negative = exponent < 0
    odd = cnp.where(exponent % 2 == 1, -1, 1)
    value = cnp.where(negative, cnp.where(base == 1, 1, cnp.where(base == -1, odd, 0)),
                      cnp.power(base, cnp.where(negative, 0, exponent)))
    value = cnp.astype(value, dtype)
    return as_eager(like, value) if isinstance(like, Tensor) else value


def refuse_negative_integer_power(base, exponent) -> None:
    """PyTorch's refusal of an integer or bool Tensor to a negative Python int power."""
    if type(exponent) is int and exponent < 0 and isinstance(base, Tensor | np.ndarray) and base.dtype.kind in "biu":
        raise TensorError(f"Integers to negative integer powers are not allowed (here {np.dtype(base.dtype).name} ** "
                          f"{exponent}); convert the base with .float() or .double() first")


def _dtype_of(x) -> np.dtype:
    return x.dtype if isinstance(x, Tensor | np.ndarray) else np.asarray(x).dtype


def not_bool(x, name: str):
    """``x``, unless it is a bool Tensor or array, which PyTorch's ``name`` refuses."""
    if np.dtype(getattr(x, "dtype", np.float64)).kind == "b":
        raise TensorTypeError(f"Boolean inputs not supported for {name}; convert with .float()")
    return x


def check_ndims(name: str, *operands) -> None:
    """PyTorch's check that each (operand, its name, its number of dimensions) of ``mm``,
    ``bmm`` or ``mv`` has that many dimensions (matmul would broadcast them instead)."""
    for x, label, ndim in operands:
        if np.ndim(x) != ndim:
            raise DimensionError(f"{name}: {label} must be a {ndim}-D tensor, got {np.ndim(x)}-D of shape "
                                 f"{tuple(np.shape(x))}; use matmul (or @) to broadcast")


def same_dtype(name: str, *operands) -> None:
    """PyTorch's refusal of a matrix product (matmul, mm, dot, linear, ...) of eager Tensors
    of different kinds (bool, integer, floating, complex), where NumPy's would promote. Of
    float32 and float64 chainrule's product is float64, as NumPy's: its layers' parameters
    are float32 by default and its Tensors float64."""
    if len(operands) == 2:  # the common case, two Tensors of one dtype, without the sets below
        a, b = getattr(operands[0], "_value", None), getattr(operands[1], "_value", None)
        if a.__class__ is b.__class__ is np.ndarray and a.dtype is b.dtype:
            return
    dtypes = {np.dtype(t.dtype) for t in operands if isinstance(t, Tensor) and is_eager(t)}
    if len({d.kind for d in dtypes}) > 1 and all(isinstance(t, Tensor) for t in operands if t is not None):
        names = " and ".join(sorted(d.name for d in dtypes))
        raise TensorError(f"{name}: expected the operands to have the same dtype, but found {names}; convert one "
                          "with .to(other.dtype)")


def index_operand(index):
    """A gather or scatter index as NumPy integers; under vmap, an index that differs between
    the examples stays as it is (indexing with it gathers or scatters over the batch in one
    call, as torch.func's batching rules do)."""
    return index if batched(index) else np.asarray(plain(index))


def index_values(index) -> np.ndarray:
    """Every value of ``index`` (under vmap, every example's), for PyTorch's checks of its
    dtype and range."""
    return np.asarray(plain(whole_batch(index)))


def held_as_tensor(value) -> bool:
    """Whether the plain call holds ``value`` as a Tensor: any Tensor but the value that
    ``chainrule.jit`` traces for an array or NumPy scalar of the plain call."""
    return isinstance(value, Tensor) and not (
        value._trace.records and value._node not in value._trace.eager
        and isinstance(value._value, np.ndarray | np.generic))


def sharing_tensor(array):
    """The eager Tensor that shares the memory of ``array``, an ndarray in the plain call
    (``torch.from_numpy``): while ``chainrule.jit`` traces, a value that stands for that
    Tensor, so that its writes (``t.add_(1)``, ``t[0] = 5``) are recorded as writes into
    the array, and replayed into the caller's; None where ``array`` is no ndarray."""
    if isinstance(array, np.ndarray):
        return Tensor(array, EAGER)
    if (isinstance(array, Tensor) and not held_as_tensor(array) and type(array._value) is np.ndarray):
        return array._trace.as_eager(array)
    return None


def tensor_of(value) -> Tensor:
    """An argument of PyTorch's functions as a Tensor: a Tensor as it is, an array or a
    number (jitted too, see :func:`held_as_tensor`) as a new eager Tensor."""
    return value if held_as_tensor(value) else tensor(value)


def check_tensor_argument(value, function: str, what: str = "input", position: int = 1) -> None:
    """PyTorch's TypeError for an argument it takes only as a Tensor (not a number, list
    or array), jitted as in the plain call."""
    if not held_as_tensor(value):
        kind = type(value._value if isinstance(value, Tensor) else value).__name__
        raise TypeError(f"{function}(): argument '{what}' (position {position}) must be Tensor, not {kind}")


def pytorchs(x) -> bool:
    """Whether a method whose name NumPy also uses means PyTorch's on ``x``: an eager
    Tensor (:func:`is_eager`), or any value within :func:`pytorch_meaning` but one that
    ``chainrule.jit`` traces for a plain array (an ndarray's method in the plain call)."""
    if is_eager(x):
        return True
    trace = x._trace
    return not (trace.records and trace.plain_arrays) and pytorch_meaning_on()


class Device(str):
    """``x.device``: the string 'cpu', with PyTorch's ``.type`` and ``.index``."""

    type = property(lambda self: str.__str__(self))
    index = None


CPU = Device("cpu")


def as_eager(x, result):
    """A non-differentiable result (a mask, indices) of an eager Tensor's method as an
    eager Tensor (without gradient), so that PyTorch's chains (``(a == b).float()``)
    go on (inside ``chainrule.func``'s transforms too, as torch.func's); a transform's
    results stay as they are."""
    if isinstance(result, np.ndarray | np.generic):
        return Tensor(np.asarray(result), EAGER) if pytorchs(x) else result
    if is_eager(x) and isinstance(result, Tensor) and result._trace is x._trace and x._trace.records:
        return x._trace.as_eager(result)  # (jit's value of an eager Tensor)
    return result


def filled_like(x, fill_value, dtype=None, shape=None) -> Tensor:
    """``fill_value`` in ``shape`` (``x``'s if None) and ``dtype`` (``x``'s if None): what
    PyTorch's ``zeros_like(x)`` and ``x.new_zeros(shape)`` make. Under ``vmap`` it is
    batched as ``x`` is, as in torch.func, so that each example may write its own values
    into it in place (``y = torch.zeros_like(x); y.add_(x)``); elsewhere a new eager Tensor.

    >>> import chainrule as cr
    >>> cr.func.vmap(lambda x: filled_like(x, 0.0).add_(x))(cr.ones(2, 3)).shape
    torch.Size([2, 3])
    """
    dtype = _dtype_of(x) if dtype is None else np.dtype(dtype)
    if isinstance(x, Tensor) and x._trace is not EAGER and not x._trace.records:
        made = cnp.full_like(x, fill_value, dtype=dtype, shape=shape)  # batched where x is
        if isinstance(made, Tensor):
            return made
    shape = (tuple(x.shape) if isinstance(x, Tensor) else np.shape(x)) if shape is None else shape
    return Tensor(np.full(shape, fill_value, dtype), EAGER)


def as_axes(dim):
    """PyTorch's ``dim`` as NumPy's ``axis``: a list of dims becomes a tuple."""
    return tuple(dim) if isinstance(dim, list | tuple) else dim


def as_shape(args) -> tuple:
    """Sizes given as PyTorch allows, ``f(2, 3)`` or ``f((2, 3))``, as one tuple."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], list | tuple) else tuple(args)


def axis_or_dim(axis, dim, name: str):
    """The axis of a method that takes NumPy's ``axis=`` or PyTorch's ``dim=`` (not both)."""
    if dim is not None and axis is not None:
        raise TypeError(f"{name}() got both axis= and dim=; give one")
    return as_axes(axis if dim is None else dim)


def dim_required(x, axis, dim, name: str, numpys: bool = True):
    """PyTorch's TypeError for ``name`` called without the dim it requires, where ``x``
    means PyTorch's (:func:`pytorchs`; ``torch.cumsum(x)`` too). NumPy's method of that
    name (``numpys``: ``cumsum``, ``cumprod``) flattens without an axis, and does so on a
    value that means NumPy's: a transform's value in NumPy code, or ``cnp.cumsum(x)``.

    >>> import chainrule as cr
    >>> cr.tensor([1.0, 2.0]).cumsum()
    Traceback (most recent call last):
    ...
    TypeError: cumsum() missing 1 required positional argument: 'dim' (PyTorch's cumsum takes the dim ...
    """
    if axis is None and dim is None and (pytorchs(x) or not numpys):
        raise TypeError(f"{name}() missing 1 required positional argument: 'dim' (PyTorch's {name} takes the dim "
                        f"to work along: x.{name}(0), or x.flatten().{name}(0) for all the elements)")


def reduced_axes(x, axis, dim, name: str):
    """The axis of a reduction method that takes NumPy's ``axis=`` or PyTorch's ``dim=``,
    with PyTorch's reading of an empty list of dims: every dim (``x.sum(dim=[])`` is the
    sum of all elements; NumPy's ``axis=()`` reduces none). PyTorch's reading where the
    call gives ``dim=`` or ``x`` means PyTorch's (:func:`pytorchs`: an eager Tensor).

    >>> import chainrule as cr
    >>> reduced_axes(cr.ones(2, 3), None, [], "sum") is None
    True
    """
    axes = axis_or_dim(axis, dim, name)
    if isinstance(axes, tuple) and not axes and (dim is not None or pytorchs(x)):
        return None
    return axes


def _is_dims(arg) -> bool:
    if isinstance(arg, list | tuple):  # (an empty list names no dim: PyTorch's every dim)
        return bool(arg) and all(isinstance(a, int | np.integer) for a in arg)
    return isinstance(arg, int | np.integer) and not isinstance(arg, bool)


def _scalar(out):
    """A method's result on a 0-d Tensor read as shape (1,), made 0-d again."""
    if isinstance(out, tuple):
        return type(out)(*map(_scalar, out)) if hasattr(out, "_fields") else tuple(map(_scalar, out))
    return out.reshape(()) if isinstance(out, Tensor) and out.shape == (1,) else out


def scalar_dims(always: bool = False):
    """A method that takes dims, made to read an eager 0-d Tensor as PyTorch does: as one of
    shape (1,), so that dim 0 and -1 name its one element (NumPy has no dims there), its
    results 0-d again. It applies where the call gives dims (an int or a sequence of ints,
    first or as ``dim=``/``axis=``/``dims=``), or at every call (``always``: a default dim)."""
    def decorate(method):
        @functools.wraps(method)
        def wrapped(self, *args, **kwargs):
            if self.ndim == 0 and is_eager(self) and (
                    always or (args and _is_dims(args[0])) or
                    any(_is_dims(kwargs.get(k)) for k in ("dim", "axis", "dims"))):
                return _scalar(method(cnp.reshape(self, (1,)), *args, **kwargs))
            return method(self, *args, **kwargs)
        return wrapped
    return decorate


def boolean_condition(name: str, condition, uint8: bool = True) -> None:
    """PyTorch's refusal of a condition (a mask) Tensor that is not bool (or uint8, where
    PyTorch still takes it)."""
    if isinstance(condition, Tensor) and condition.dtype.kind != "b" and not (uint8 and condition.dtype == np.uint8):
        raise TensorError(f"{name} expected condition to be a boolean tensor, but got a tensor with dtype "
                          f"{condition.dtype}")


def vectors_only(name: str, a, b) -> None:
    """PyTorch's refusal of ``dot``/``vdot`` of operands that are not both 1-d."""
    if np.ndim(a) != 1 or np.ndim(b) != 1:
        raise TensorError(f"{name}: 1D tensors expected, but got {np.ndim(a)}D and {np.ndim(b)}D tensors")


def at_least_one_dim(x, name: str) -> None:
    """PyTorch's refusal of a 0-d Tensor by ``name``, which cuts along a dimension (split,
    chunk, narrow): a 0-d Tensor has none, though other methods read dim 0 as its one."""
    if x.ndim == 0:
        raise TensorError(f"{name} expects at least a 1-dimensional tensor, but got a tensor with 0 dims; "
                          f"make it one of shape (1,) with x.reshape(1) first")


def nonnegative_dim(x, dim: int) -> int:
    """``dim`` counted from the front of ``x``'s dimensions."""
    return dim + x.ndim if dim < 0 else dim



def alpha_first(other, alpha, name: str) -> tuple:
    """``(other, alpha)`` of ``x.add(other, alpha=alpha)``, read from PyTorch's deprecated
    form ``x.add(alpha, other)`` (a number, then a Tensor: old training scripts update
    ``p.data.add_(-lr, p.grad)``), with PyTorch's warning.

    >>> import chainrule as cr
    >>> import warnings; warnings.simplefilter("ignore")
    >>> cr.tensor([1.0]).add(2.0, cr.tensor([3.0]))
    Tensor([7.])
    """
    if isinstance(alpha, Tensor) and isinstance(other, numbers.Number) and not isinstance(other, Tensor):
        warnings.warn(f"This overload of {name} is deprecated:\n\t{name}(Number alpha, Tensor other)\n"
                      f"Consider using one of the following signatures instead:\n"
                      f"\t{name}(Tensor other, *, Number alpha = 1)", UserWarning, stacklevel=3)
        return alpha, other
    return other, alpha


def remainder(a, b, name: str = "remainder"):
    """``a % b``: PyTorch's for eager values, NumPy's inside the transforms. They differ
    for floats only in the sign of a zero result, which PyTorch takes from ``a`` (fmod,
    moved into ``b``'s sign where it is not there) and NumPy from ``b``:
    ``remainder(-0.0, 0.7)`` is -0.0 in PyTorch, 0.0 in NumPy.

    >>> import chainrule as cr
    >>> cr.tensor([-0.0, 0.0, -1.0]) % 0.7
    Tensor([-0. ,  0. ,  0.4])
    """
    b = checked_divisor(a, b, name)
    operands = [x for x in (a, b) if isinstance(x, Tensor)]
    pytorchs = all(is_eager(x) or x._trace.records for x in operands) and any(map(is_eager, operands))
    if (pytorchs or not operands) and np.result_type(*map(plain, (a, b))).kind == "f":
        m = cnp.fmod(a, b)
        return cnp.where((m != 0) & ((b < 0) != (m < 0)), m + b, m)
    return cnp.remainder(a, b)


def checked_divisor(a, b, name: str):
    """``b``, after PyTorch's check that an integer division or remainder of eager values
    does not divide by zero (NumPy gives 0 and warns; PyTorch raises ZeroDivisionError).

    >>> import chainrule as cr
    >>> cr.tensor([7]) // cr.tensor([0])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    RuntimeError: ZeroDivisionError: floor_divide: integer division by zero ...
    """
    values = []
    for x in (a, b):
        if isinstance(x, Tensor):
            if x._trace is not EAGER:  # inside a transform: NumPy's rules
                return b
            values.append(x._value)
        else:
            values.append(x)
    if np.result_type(*values).kind in "iu" and not np.all(np.asarray(values[1]) != 0):
        raise RuntimeError(f"ZeroDivisionError: {name}: integer division by zero (PyTorch refuses it too); "
                           "divide floats for inf or nan")
    return b

"""PyTorch's elementwise, comparison and in-place methods on chainrule's Tensor
(``clamp``, ``add(alpha=)``, ``div(rounding_mode=)``, ``x == y`` as an eager Tensor,
``add_``/``clamp_``/``uniform_``/``exp_``, ...), written with the mirror so that each
differentiates and traces under the transforms; the in-place ones go through
:func:`chainrule.core.eager.inplace`, which keeps the graph honest.
"""

from __future__ import annotations

import builtins
import dis
import operator
import sys

import numpy as np

import chainrule.numpy as cnp
from chainrule.core import eager
from chainrule.core.errors import TensorError, eager_error
from chainrule.core.rng import get_generator
from chainrule.core.tensor import Tensor, stands_for_array, undifferentiated
from chainrule.core.trace import eager_quiet, named_as_torch
from chainrule.core.values import plain
from chainrule.numpy import activations
from chainrule.numpy.dispatch import dispatch_ufunc, handed_over
from chainrule.numpy.draws import noise
from chainrule.numpy.registry import MIRROR_OF
from chainrule.numpy.selection import clamp
from chainrule.numpy.torch_common import (
    alpha_first,
    as_eager,
    boolean_condition,
    check_ndims,
    checked_divisor,
    elementwise_extreme,
    integer_power,
    is_eager,
    magnitude,
    no_bool_kernel,
    not_bool,
    refuse_negative_integer_power,
    remainder,
    same_dtype,
)
from chainrule.numpy.torch_promotion import comparison_operands, result_type
from chainrule.numpy.torch_shape import fill_where, one_value

__all__ = ["TorchElementwiseMethods"]


def _compare(fun):
    def method(self, other):
        return as_eager(self, fun(self, other))
    return method


def _compare_reflected(fun):
    def method(self, other):
        return as_eager(self, fun(other, self))
    return method


# NumPy's comparison ufuncs -> the Tensor's method, and the method with the operands swapped
# the ufuncs that a NumPy scalar's operators call with an operand it does not know, and
# that operand's reflected operator
_REFLECTED = {np.add: "__radd__", np.subtract: "__rsub__", np.multiply: "__rmul__", np.true_divide: "__rtruediv__",
              np.power: "__rpow__", np.floor_divide: "__rfloordiv__", np.remainder: "__rmod__"}
# the opcodes of a * b and a *= b (BINARY_OP; before Python 3.11 one per operator)
_OPERATOR_OPCODES = frozenset(code for name, code in dis.opmap.items() if name.startswith(("BINARY_", "INPLACE_"))
                              and name not in ("BINARY_SUBSCR", "BINARY_SLICE"))


def _at_operator(frame) -> bool:
    """Whether Python code ``frame`` is running an operator (``a * b``, ``a *= b``) rather
    than calling a ufunc itself (``np.multiply(a, b)``)."""
    return frame.f_code.co_code[frame.f_lasti] in _OPERATOR_OPCODES


_COMPARISONS = {np.equal: ("__eq__", "__eq__"), np.not_equal: ("__ne__", "__ne__"),
                np.less: ("__lt__", "__gt__"), np.less_equal: ("__le__", "__ge__"),
                np.greater: ("__gt__", "__lt__"), np.greater_equal: ("__ge__", "__le__")}


def _clamped(x, low, high):
    """clamp in PyTorch's promoted dtype on an eager Tensor (an integer Tensor clamped by a
    float is of the default floating dtype; a 0-d float64 bound leaves float32 as it is)."""
    out = clamp(x, low, high)
    if is_eager(x):
        dtype = result_type(x, *(b for b in (low, high) if b is not None))
        if dtype is not None and out.dtype != dtype:
            out = cnp.astype(out, dtype)
    return out


def _constant(x, value, *others):
    """``value``, a piecewise-constant function of ``x`` (and of ``others``), as an eager
    Tensor with derivative 0 for each of them that is on a graph (so that a loss made of it
    still runs backward and each gets a zero gradient, as in PyTorch), as it is inside a
    transform."""
    on_graph = [a for a in (x, *others) if isinstance(a, Tensor) and is_eager(a) and a.requires_grad]
    if on_graph and eager.is_grad_enabled():
        ones, out = np.ones(np.shape(value), bool), value
        for a in on_graph:
            out = cnp.where(ones, out, a)
        return out if out.dtype == value.dtype else cnp.astype(out, value.dtype)
    return as_eager(x, value)


def _lerp(start, end, weight):
    """PyTorch's lerp: start + w (end − start) where |w| < 0.5, else end − (end − start)(1 − w)
    (so that w = 1 gives ``end`` exactly)."""
    if isinstance(end, Tensor) and isinstance(start, Tensor) and end.dtype != start.dtype:
        raise RuntimeError(f"lerp: expected dtype {start.dtype} for `end` but got dtype {end.dtype}; convert one of "
                           "them with .to()")
    diff = end - start
    if isinstance(weight, int | float):
        return start + weight * diff if abs(weight) < 0.5 else end - diff * (1 - weight)
    # each branch sees only the weights it is taken for: an infinite weight would make the
    # zero cotangent `where` sends the other branch NaN (in `end` and `start`)
    small = cnp.abs(undifferentiated(weight)) < 0.5
    return cnp.where(small, start + cnp.where(small, weight, 0) * diff, end - diff * (1 - cnp.where(small, 1, weight)))


@eager_quiet  # x / 0 is inf or nan silently, as PyTorch's (NumPy warns)
def _rounded_division(a, b, rounding_mode):
    """``a / b`` rounded as ``rounding_mode`` says ('floor' or 'trunc'; of integers, an
    integer, as in PyTorch), on Tensors or arrays."""
    checked_divisor(a, b, "div")
    if rounding_mode == "floor":
        return cnp.floor_divide(a, b)
    if rounding_mode == "trunc":
        dtype = np.result_type(plain(a), plain(b))
        out = cnp.trunc(a / b)
        return cnp.astype(out, dtype) if dtype.kind in "iu" else out
    raise TensorError(f"div: rounding_mode must be None, 'floor' or 'trunc', not {rounding_mode!r}")


def _comparison(fun, reflected: str, op=None):
    """A comparison of an eager Tensor in PyTorch's common dtype (NumPy's inside a transform);
    with None or a string, Python's default (``x == None`` is False), as PyTorch's.
    ``reflected``: the comparison with the operands swapped. ``op``: Python's operator, which
    chainrule.jit records for a structured array (ndarray's == compares it field by field,
    where the ufunc has no loop for it) and for a string operand (``x == "auto"``: NumPy's ==
    of numbers and a string is all False)."""
    def method(self, other):
        if is_eager(self):
            if other is None or isinstance(other, str | bytes):  # not comparable, as in PyTorch:
                return NotImplemented  # x == None is False, x != "auto" True, x < None a TypeError
            return as_eager(self, fun(*comparison_operands(self, other)))
        if isinstance(other, Tensor) and is_eager(other) and stands_for_array(self):
            # chainrule.jit's value of an ndarray or NumPy scalar (whose class Python asks
            # first, a subclass of Tensor): its operator hands the ufunc to the eager
            # Tensor, which compares as PyTorch does (see __array_ufunc__)
            return getattr(other, reflected)(self)
        if op is not None and self._trace.records and (
                isinstance(other, str | bytes) or getattr(self._value, "dtype", np.dtype(float)).names):
            return self._trace.record(op, (self, other), {})
        return fun(self, other)
    return method



def _scalar_math(ufunc, a, b):
    """``a // b`` or ``a % b`` of NumPy scalars that chainrule.jit traces: NumPy's scalar
    math, as the plain call computes it; None elsewhere (the ufunc's)."""
    for t in (a, b):
        if isinstance(t, Tensor) and t._trace.records:
            return t._trace.scalar_operator(ufunc, a, b)
    return None


def pytorch_sign(a):
    """PyTorch's sign: NumPy's, with 0 at NaN (derivative 0); a bool Tensor's is itself."""
    if a.dtype.kind == "b":
        return a
    return cnp.where(cnp.isnan(a), 0.0, cnp.sign(a)) if a.dtype.kind == "f" else cnp.sign(a)


def _unary_(fun, name: str):
    def method(self):
        return eager.inplace(self, lambda a, _: fun(a), None, name)
    method.__name__ = name
    return method



class TorchElementwiseMethods:
    """PyTorch's elementwise, comparison and in-place methods, set on Tensor by
    :func:`chainrule.numpy.bindings.bind_to_core`."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """NumPy's ufuncs on Tensors (:func:`~chainrule.numpy.dispatch.dispatch_ufunc`); a
        comparison with an eager Tensor is its comparison method, so that
        ``np.float64(0.1) < x`` (which NumPy's scalar hands to this) compares as ``x > 0.1``."""
        if method == "__call__" and not kwargs and ufunc not in _COMPARISONS:
            # Tensors and plain arrays only (``W @ x``, ``np.tanh(x)``): the mirror's primitive
            fun = MIRROR_OF.get(ufunc)
            if fun is not None:
                for v in inputs:
                    if v.__class__ is not np.ndarray and not isinstance(v, Tensor):
                        break
                else:
                    return fun(*inputs)
        if handed_over(inputs):
            return NotImplemented
        if (len(inputs) == 2 and inputs[1] is self and ufunc in _REFLECTED and isinstance(inputs[0], np.generic)
                and self._trace.records and isinstance(self._value, np.generic) and not kwargs
                and method == "__call__" and _at_operator(sys._getframe(1))):
            # np.float64(2) * x[0] under chainrule.jit: the NumPy scalar's operator handed
            # its ufunc a traced scalar, where the plain call's is NumPy's scalar math
            # ("overflow encountered in scalar multiply"): the reflected operator's
            return getattr(self, _REFLECTED[ufunc])(inputs[0])
        names = _COMPARISONS.get(ufunc)
        if names is not None and method == "__call__" and len(inputs) == 2 and not kwargs:
            a, b = inputs
            if isinstance(a, Tensor) and is_eager(a):
                return getattr(a, names[0])(b)
            if isinstance(b, Tensor) and is_eager(b):
                return getattr(b, names[1])(a)
        return dispatch_ufunc(ufunc, method, inputs, kwargs)

    # -- comparisons, bitwise and shift operators (an eager Tensor, so that chains go on) -----
    __eq__ = _comparison(cnp.equal, "__eq__", operator.eq)
    __ne__ = _comparison(cnp.not_equal, "__ne__", operator.ne)
    __lt__ = _comparison(cnp.less, "__gt__")
    __le__ = _comparison(cnp.less_equal, "__ge__")
    __gt__ = _comparison(cnp.greater, "__lt__")
    __ge__ = _comparison(cnp.greater_equal, "__le__")
    __and__ = _compare(cnp.bitwise_and)
    __or__ = _compare(cnp.bitwise_or)
    __xor__ = _compare(cnp.bitwise_xor)
    __rand__ = _compare_reflected(cnp.bitwise_and)
    __ror__ = _compare_reflected(cnp.bitwise_or)
    __rxor__ = _compare_reflected(cnp.bitwise_xor)
    __lshift__ = _compare(cnp.left_shift)
    __rshift__ = _compare(cnp.right_shift)
    __rlshift__ = _compare_reflected(cnp.left_shift)
    __rrshift__ = _compare_reflected(cnp.right_shift)

    def __invert__(self):
        return as_eager(self, cnp.invert(self))


    # -- elementwise ----------------------------------------------------------------------------
    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise TensorError("clamp: give at least one of min and max")
        return _clamped(self, min, max)

    # clamp's derivative, not maximum's: a tie keeps the whole derivative, as in PyTorch
    def clamp_min(self, min):
        return _clamped(self, min, None)

    def clamp_max(self, max):
        return _clamped(self, None, max)

    def add(self, other, alpha=1):
        other, alpha = alpha_first(other, alpha, "add")
        return self + (other if not isinstance(alpha, Tensor) and alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        other, alpha = alpha_first(other, alpha, "sub")
        return self - (other if not isinstance(alpha, Tensor) and alpha == 1 else other * alpha)

    subtract = sub

    def mul(self, other):
        return self * other

    multiply = mul

    def div(self, other, rounding_mode=None):
        if rounding_mode is None:
            return self / other
        # piecewise constant: derivative 0 for both operands, as PyTorch's
        return _constant(self, _rounded_division(self, other, rounding_mode), other)

    divide = true_divide = div

    def div_(self, other, rounding_mode=None):
        if rounding_mode is None:
            return eager.inplace(self, cnp.true_divide, other, "div_")
        return eager.inplace(self, lambda a, b: _rounded_division(a, b, rounding_mode)
                             if not isinstance(a, Tensor) else a.div(b, rounding_mode), other, "div_")

    divide_ = true_divide_ = div_

    def pow(self, exponent):
        return integer_power(self, exponent)

    def square(self):
        """``self * self``; of a bool Tensor, int64 (PyTorch's ``pow(2)``)."""
        x = self.to(np.int64) if self.dtype.kind == "b" else self
        return x * x

    def rsqrt(self):
        return named_as_torch(1.0 / cnp.sqrt(self), "RsqrtBackward0")

    def reciprocal(self):
        """``1 / self``; of a floating Tensor by ``reciprocal``, whose node keeps only its
        result, as PyTorch's (a write into ``self`` afterwards leaves its gradient right)."""
        return cnp.reciprocal(self) if self.dtype.kind in "fc" else 1.0 / self

    def neg(self):
        return -self

    negative = neg

    # piecewise constant: derivative 0, on the graph where ``self`` is, as in PyTorch
    def sign(self):
        return _constant(self, pytorch_sign(self))

    def floor(self):
        no_bool_kernel(self, "floor_vml_cpu")
        return _constant(self, cnp.floor(self))

    def ceil(self):
        no_bool_kernel(self, "ceil_vml_cpu")
        return _constant(self, cnp.ceil(self))

    def trunc(self):
        no_bool_kernel(self, "trunc_vml_cpu")
        return _constant(self, cnp.trunc(self))

    def round(self, decimals=0, out=None):
        if out is not None:  # NumPy's x.round(2, out): written into out
            return cnp.round(self, decimals, out=out)
        no_bool_kernel(self, "round_vml_cpu")
        return _constant(self, cnp.round(self, decimals))

    @eager_quiet
    def __floordiv__(self, other):
        if (out := _scalar_math(np.floor_divide, self, other)) is not None:
            return out
        return as_eager(self, cnp.floor_divide(self, checked_divisor(self, other, "floor_divide")))

    @eager_quiet
    def __rfloordiv__(self, other):
        if (out := _scalar_math(np.floor_divide, other, self)) is not None:
            return out
        return as_eager(self, cnp.floor_divide(other, checked_divisor(other, self, "floor_divide")))

    def __mod__(self, other):
        if (out := _scalar_math(np.remainder, self, other)) is not None:
            return out
        return remainder(self, other)

    def __rmod__(self, other):
        if (out := _scalar_math(np.remainder, other, self)) is not None:
            return out
        return remainder(other, self)

    def frac(self):
        no_bool_kernel(self, "frac_cpu")
        return self - cnp.trunc(self)

    def log1p(self):
        return cnp.log1p(self)

    def expm1(self):
        return cnp.expm1(self)

    def log2(self):
        return cnp.log2(self)

    def log10(self):
        return cnp.log10(self)

    def tan(self):
        return cnp.tan(self)

    def sinh(self):
        return cnp.sinh(self)

    def cosh(self):
        return cnp.cosh(self)

    def asin(self):
        return cnp.arcsin(self)

    def acos(self):
        return cnp.arccos(self)

    def atan(self):
        return cnp.arctan(self)

    def abs(self):
        """|x|; on an eager floating Tensor its derivative at NaN is 0, PyTorch's sign(NaN);
        of an eager bool Tensor PyTorch's NotImplementedError."""
        no_bool_kernel(self, "abs_cpu")
        if not is_eager(self) or self.dtype.kind != "f":
            return cnp.abs(self)
        return named_as_torch(magnitude(self), "AbsBackward0")

    absolute = abs

    def __abs__(self):
        if self._trace.records:  # chainrule.jit: abs of a NumPy integer scalar is its scalar math
            return self._trace.unary_operator(builtins.abs, self, TorchElementwiseMethods.abs)
        return TorchElementwiseMethods.abs(self)

    def maximum(self, other):
        return elementwise_extreme(self, other, True)

    def minimum(self, other):
        return elementwise_extreme(self, other, False)

    def lerp(self, end, weight):
        return _lerp(self, end, weight)

    def matmul(self, other):
        same_dtype("matmul", self, other)
        return cnp.matmul(self, other)

    def mm(self, mat2):
        check_ndims("mm", (self, "self", 2), (mat2, "mat2", 2))
        same_dtype("mm", self, mat2)
        return cnp.matmul(self, mat2)

    def bmm(self, mat2):
        check_ndims("bmm", (self, "batch1", 3), (mat2, "batch2", 3))
        if self.shape[0] != np.shape(mat2)[0]:  # bmm does not broadcast the batch, unlike matmul
            raise RuntimeError(f"bmm: batch1 and batch2 must have the same batch size, got {self.shape[0]} "
                               f"and {np.shape(mat2)[0]}")
        same_dtype("bmm", self, mat2)
        return cnp.matmul(self, mat2)

    def mv(self, vec):
        check_ndims("mv", (self, "self", 2), (vec, "vec", 1))
        same_dtype("mv", self, vec)
        return cnp.matmul(self, vec)

    def outer(self, other):
        """The outer product of two 1-d Tensors (NumPy's flattens others; PyTorch refuses them)."""
        for name, v in (("self", self), ("vec2", other)):
            if np.ndim(v) != 1:
                raise TensorError(f"outer: Expected 1-D argument {name}, but got {np.ndim(v)}-D")
        return cnp.outer(self, other)

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def logical_not(self):
        return as_eager(self, cnp.logical_not(self))

    def logical_and(self, other):
        return as_eager(self, cnp.logical_and(self, other))

    def logical_or(self, other):
        return as_eager(self, cnp.logical_or(self, other))

    def isnan(self):
        return as_eager(self, cnp.isnan(self))

    def isinf(self):
        return as_eager(self, cnp.isinf(self))

    def isfinite(self):
        return as_eager(self, cnp.isfinite(self))

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return cnp.nan_to_num(self, nan=nan, posinf=posinf, neginf=neginf)

    def allclose(self, other, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
        if isinstance(other, Tensor) and other.dtype != self.dtype:  # as PyTorch's
            raise TensorError(f"{np.dtype(self.dtype).name} did not match {np.dtype(other.dtype).name}: allclose "
                              "compares Tensors of one dtype; convert one with .to()")
        return bool(np.allclose(plain(self), plain(other), rtol=rtol, atol=atol, equal_nan=equal_nan))

    def equal(self, other) -> bool:
        return bool(np.shape(plain(self)) == np.shape(plain(other)) and np.array_equal(plain(self), plain(other)))

    # -- in place -------------------------------------------------------------------------------
    def clamp_(self, min=None, max=None):
        if min is None and max is None:
            raise TensorError("clamp_: give at least one of min and max")
        return eager.inplace(self, lambda a, b: clamp(a, *b), (min, max), "clamp_")

    def clamp_min_(self, min):
        return eager.inplace(self, lambda a, b: clamp(a, b, None), min, "clamp_min_")

    def clamp_max_(self, max):
        return eager.inplace(self, lambda a, b: clamp(a, None, b), max, "clamp_max_")

    def masked_fill_(self, mask, value):
        one_value("masked_fill_", value)
        boolean_condition("masked_fill_", mask, uint8=False)
        mask = plain(mask)
        return eager.inplace(self, lambda a, v: fill_where(a, mask, v), value, "masked_fill_")

    def pow_(self, exponent):
        refuse_negative_integer_power(self, exponent)  # (before inplace wraps -1 into uint8's 255)
        return eager.inplace(self, integer_power, exponent, "pow_")

    def lerp_(self, end, weight):
        return eager.inplace(self, lambda a, ew: _lerp(a, *ew), (end, weight), "lerp_")

    def addcmul_(self, tensor1, tensor2, value=1):
        return eager.inplace(self, lambda a, b: a + value * b, tensor1 * tensor2, "addcmul_")

    def addcdiv_(self, tensor1, tensor2, value=1):
        return eager.inplace(self, lambda a, b: a + value * b, tensor1 / tensor2, "addcdiv_")

    # the fills draw through noise(), the one door of every draw, before writing: under
    # chainrule.jit the draw is a recorded call (each replay draws anew, the plain call's
    # numbers) and the write one more; inside torch.func.vmap(randomness="different") each
    # example gets its own draws, inside randomness="same" all share one
    def uniform_(self, a=0.0, b=1.0, generator=None):
        """Fill with uniform draws on [a, b) from ``generator`` (a NumPy Generator or an
        int seed; by default the global generator that ``chainrule.manual_seed`` seeds)."""
        get_generator(generator)
        return _fill(self, "uniform_", lambda: _fill_draws(self, "uniform", generator, a, b))

    def normal_(self, mean=0.0, std=1.0, generator=None):
        """Fill with normal draws (as :meth:`uniform_`, the same generators)."""
        get_generator(generator)
        return _fill(self, "normal_", lambda: _fill_draws(self, "normal", generator, mean, std))

    def bernoulli_(self, p=0.5, generator=None):
        """Fill with 1 (probability ``p``, a number or a Tensor of probabilities) or 0."""
        get_generator(generator)
        return _fill(self, "bernoulli_", lambda: _fill_draws(self, "random", generator) < p)

    def exponential_(self, lambd=1.0, generator=None):
        """Fill with exponential draws of rate ``lambd``."""
        get_generator(generator)
        return _fill(self, "exponential_", lambda: _fill_draws(self, "exponential", generator, 1.0 / lambd))

    def random_(self, *bounds, generator=None):
        """Fill with integers drawn uniformly, as PyTorch's: ``random_(to)`` from [0, to − 1],
        ``random_(from, to)`` from [from, to − 1]; without ``to``, up to 2^mantissa for a
        float dtype (each value exact), the largest value for an integer one."""
        if len(bounds) > 2:
            raise TypeError(f"random_() takes at most 2 bounds (from, to), got {len(bounds)}")
        low, high = (0, bounds[0]) if len(bounds) == 1 else tuple(bounds) if bounds else (0, None)
        get_generator(generator)

        def draw():
            top = high
            if top is None:
                dtype = np.dtype(self.dtype)
                top = 2 if dtype.kind == "b" else np.iinfo(dtype).max if dtype.kind in "iu" else \
                    2 ** (np.finfo(dtype).nmant + 1) + 1
            if not low < top:
                raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={top}")
            return _fill_draws(self, "integers", generator, low, top)
        return _fill(self, "random_", draw)

    exp_ = _unary_(cnp.exp, "exp_")
    log_ = _unary_(cnp.log, "log_")
    sqrt_ = _unary_(cnp.sqrt, "sqrt_")
    def abs_(self):
        no_bool_kernel(self, "abs_cpu")
        return eager.inplace(self, lambda a, _: cnp.abs(a), None, "abs_")
    neg_ = _unary_(cnp.negative, "neg_")
    tanh_ = _unary_(cnp.tanh, "tanh_")
    sigmoid_ = _unary_(activations.sigmoid, "sigmoid_")
    relu_ = _unary_(lambda a: activations.relu(not_bool(a, "relu")), "relu_")
    floor_ = _unary_(cnp.floor, "floor_")
    round_ = _unary_(cnp.round, "round_")
    reciprocal_ = _unary_(lambda a: 1.0 / a, "reciprocal_")
    sign_ = _unary_(pytorch_sign, "sign_")
    square_ = _unary_(lambda a: (cnp.astype(a, np.int64) if a.dtype.kind == "b" else a) * a, "square_")  # bool: int64


def _fill(t: Tensor, name: str, draw) -> Tensor:
    """``t`` filled in place with ``draw()``, cast to its dtype (an in-place fill,
    ``x.uniform_()``). The draws are made first, so that under chainrule.jit they are a
    recorded draw and the fill a recorded write of them; an error of the draw on an eager
    Tensor is the eager operation's, as PyTorch raises it."""
    try:
        draws = draw()
    except (TypeError, ValueError) as error:
        if t._trace is not eager.EAGER:
            raise
        raise eager_error(name, error, (t, None)) from None
    return eager.inplace(t, _cast_into, draws, name)


def _cast_into(x, draws):
    return cnp.astype(draws, x.dtype)


def _fill_draws(x, method: str, generator, *params):
    """Draws by ``method`` of the generator's, of ``x``'s shape, through :func:`noise`; a
    plain array where no trace records them, which the eager fill writes as it is."""
    draws = noise(method, np.shape(x), None, *params, generator=generator)
    return draws._value if draws._trace is eager.EAGER else draws

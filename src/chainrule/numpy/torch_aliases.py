"""PyTorch's Tensor methods that are another name for one chainrule has (``arccos``,
``greater``, ``fix``, ``ger``, ...) or a short composition of the mirror's functions
(``addcmul``, ``addcdiv``, ``xlogy``, ``copysign``, ``logaddexp2``, ``inner``,
``diag_embed``, ``hsplit``, the bitwise and integer functions, ``cov``, ...), each
differentiable where PyTorch's is; ``torch.<name>(input, ...)`` calls them too
(:mod:`chainrule.numpy.torch_functions`).

>>> import chainrule as torch
>>> v = torch.tensor([1.0, 2.0], requires_grad=True)
>>> torch.addcmul(v, v, torch.tensor([3.0, 4.0]), value=0.5).tolist()
[2.5, 6.0]
>>> torch.xlogy(torch.tensor([0.0, 2.0]), torch.tensor([0.0, 1.0])).tolist()
[0.0, 0.0]
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core import eager
from chainrule.core.dtypes import type_name
from chainrule.core.eager import default_float_dtype
from chainrule.core.errors import KernelMissingError, TensorError, TensorTypeError
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.values import plain
from chainrule.numpy import torch_extra, torch_linalg, torch_spectral
from chainrule.numpy import torch_special_functions as special
from chainrule.numpy.torch_common import as_eager, same_dtype
from chainrule.numpy.torch_promotion import result_type

__all__ = ["TorchAliasMethods", "FUNCTION_FORMS"]

# PyTorch's in-place forms x.name_(...) of methods x.name(...): the result written into x
# (recorded on a graph, as the other in-place methods; refused where its dtype does not
# fit x's, as PyTorch refuses it)
IN_PLACE = (
    "acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "asin", "asinh", "atan",
    "atanh", "ceil", "cos", "cosh", "deg2rad", "digamma", "erf", "erfc", "erfinv", "exp2", "expm1", "fix",
    "frac", "i0", "lgamma", "log10", "log1p", "log2", "negative", "rad2deg", "rsqrt", "sin", "sinc", "sinh",
    "tan", "trunc", "absolute", "logical_not", "bitwise_not", "sgn", "conj_physical",
    "arctan2", "atan2", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift",
    "copysign", "cumprod", "cumsum", "divide", "true_divide", "multiply", "subtract", "eq", "ne", "lt", "le", "gt",
    "ge", "greater", "greater_equal", "less", "less_equal", "not_equal", "floor_divide", "fmod", "remainder",
    "gcd", "lcm", "heaviside", "hypot", "logical_and", "logical_or", "logical_xor", "logit", "mvlgamma",
    "polygamma", "nan_to_num", "tril", "triu", "float_power", "masked_scatter",
)


def _in_place(name: str):
    def method(self, *args, **kwargs):
        def op(a, _):
            if not isinstance(a, Tensor):
                return plain(getattr(Tensor(a, eager.EAGER), name)(*args, **kwargs))
            result = getattr(a, name)(*args, **kwargs)
            if a.requires_grad and not result.requires_grad:  # (gt_): on the graph, derivative 0, as PyTorch's
                result = cnp.where(np.ones(result.shape, bool), result, a)
            return result
        return eager.inplace(self, op, _others(args, kwargs), f"{name}_")
    method.__name__ = f"{name}_"
    method.__doc__ = f"``x.{name}_(...)``: ``x.{name}(...)`` written into ``x``."
    return method


def _others(args, kwargs):
    """The Tensors among a call's arguments (an in-place write is recorded if one is on a graph)."""
    found = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
    return found[0] if len(found) == 1 else tuple(found) or None


def _plain(name: str):
    """The mirror's ``name`` as a method whose result has no derivative (a test, integer
    bits), looked up at the call: the mirror is still being imported here."""
    def method(self, *args):
        return as_eager(self, getattr(cnp, name)(undifferentiated(self), *(undifferentiated(a) for a in args)))
    method.__name__ = name
    return method


def _integer_bits(name: str, kernel: str):
    """The mirror's integer function ``name`` as a method, refusing floating operands
    (Tensors or Python numbers) with PyTorch's NotImplementedError (a TypeError too, as NumPy's)."""
    def method(self, *args):
        for a in (self, *args):
            dtype = a.dtype if isinstance(a, Tensor) else default_float_dtype() if isinstance(a, float | complex) \
                else None
            if dtype is not None and dtype.kind in "fc":
                raise KernelMissingError(f'"{kernel}_cpu" not implemented for \'{type_name(dtype)[10:-6]}\'')
        return as_eager(self, getattr(cnp, name)(undifferentiated(self), *(undifferentiated(a) for a in args)))
    method.__name__ = name
    return method


def _split_along(x, split, sections, dim: int, name: str) -> tuple:
    """NumPy's hsplit/vsplit/dsplit; a number of sections that does not divide the size
    (0 included) is PyTorch's RuntimeError (NumPy's ValueError, or ZeroDivisionError for 0)."""
    if isinstance(sections, int) and x.ndim > dim and (sections <= 0 or x.shape[dim] % sections):
        raise TensorError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                          f"{x.shape[dim]} is not divisible by the split_size {sections}!")
    return tuple(split(x, sections))


def _xlogy(a, b):
    """xlogy for an in-place write: of Tensors on a graph, a Tensor; of arrays, an array."""
    result = special.xlogy(a, b)
    return result if isinstance(a, Tensor) or isinstance(b, Tensor) else plain(result)


def _floating(x, result):
    """``result`` in PyTorch's dtype for a floating function of ``x``: ``x``'s (float32
    stays float32), the default floating dtype for integers."""
    dtype = x.dtype if x.dtype.kind in "fc" else default_float_dtype()
    return result if result.dtype == dtype else cnp.astype(result, dtype)


class TorchAliasMethods:
    """Set on Tensor with the other PyTorch methods (:mod:`chainrule.numpy.torch_methods`)."""

    # -- other names for methods chainrule has ---------------------------------------------
    def arccos(self):
        return self.acos()

    def arcsin(self):
        return self.asin()

    def arctan(self):
        return self.atan()

    def greater(self, other):
        return self.gt(other)

    def greater_equal(self, other):
        return self.ge(other)

    def less(self, other):
        return self.lt(other)

    def less_equal(self, other):
        return self.le(other)

    def not_equal(self, other):
        return self.ne(other)

    def fix(self):
        return self.trunc()

    def ger(self, vec2):
        return self.outer(vec2)

    def positive(self):
        """``self`` itself, as PyTorch's (refused for bool, as PyTorch refuses it)."""
        if self.dtype == np.bool_:
            raise TensorTypeError("positive: the unary + of a bool Tensor is not supported (PyTorch refuses it too)")
        return self

    # -- compositions --------------------------------------------------------------------
    def addcmul(self, tensor1, tensor2, *, value=1):
        """self + value · tensor1 · tensor2."""
        return self + (tensor1 * tensor2 if value == 1 else value * tensor1 * tensor2)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        """self + value · tensor1 / tensor2 (integer tensors refused, as PyTorch refuses them)."""
        if all(np.result_type(undifferentiated(t)).kind in "biu" for t in (tensor1, tensor2)):
            raise TypeError("addcdiv: integer division of tensor1 by tensor2 is not supported (as in PyTorch); "
                            "use floating-point tensors")
        return self + (tensor1 / tensor2 if value == 1 else value * tensor1 / tensor2)

    def xlogy(self, other):
        """self · log(other), 0 where self is 0 (unless other is NaN)."""
        return special.xlogy(self, other)

    def xlogy_(self, other):
        return eager.inplace(self, _xlogy, other, "xlogy_")

    def copysign(self, other):
        """Of integers and bools, in PyTorch's floating result dtype of the two (a 0-d float32
        ``other`` decides it), else the default floating dtype (NumPy's is float16 for bools)."""
        x = self
        if self.dtype.kind not in "fc":
            promoted = result_type(self, other)
            x = cnp.astype(self, promoted if promoted is not None and promoted.kind in "fc" else default_float_dtype())
        return cnp.copysign(x, other)  # derivative 0 in other, on its graph, as PyTorch's

    def logaddexp2(self, other):
        return cnp.logaddexp2(self, other)

    def inner(self, other):
        if self.ndim == 0 or np.ndim(other) == 0:  # a product, as PyTorch's (signs of zero kept)
            return self * other
        same_dtype("inner", self, other)
        return cnp.inner(self, other)

    def msort(self):
        """The values sorted along the first axis (a 0-d Tensor's is itself)."""
        return cnp.sort(self, axis=0) if self.ndim else self.clone()

    def hsplit(self, indices_or_sections):
        return _split_along(self, cnp.hsplit, indices_or_sections, 1 if self.ndim > 1 else 0, "hsplit")

    def vsplit(self, indices_or_sections):
        return _split_along(self, cnp.vsplit, indices_or_sections, 0, "vsplit")

    def dsplit(self, indices_or_sections):
        return _split_along(self, cnp.dsplit, indices_or_sections, 2, "dsplit")

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1):
        """Matrices whose diagonal ``offset`` holds the last axis's values (zeros elsewhere),
        those two new axes put at ``dim1`` and ``dim2``."""
        n = self.shape[-1] + abs(offset)
        pad = [(0, 0)] * (self.ndim - 1) + [(0, abs(offset)) if offset >= 0 else (abs(offset), 0)]
        rows = cnp.pad(self, pad)[..., :, None]
        out = cnp.where(np.eye(n, k=offset, dtype=bool), rows, cnp.zeros((), dtype=self.dtype))
        ndim = out.ndim
        d1, d2 = dim1 % ndim, dim2 % ndim
        if d1 == d2:
            raise TensorError(f"diag_embed: dim1 and dim2 cannot be the same dimension ({dim1}, {dim2})")
        return cnp.moveaxis(out, (ndim - 2, ndim - 1), (d1, d2))

    def diagflat(self, offset: int = 0):
        return cnp.diag(cnp.ravel(self), offset)

    def cov(self, *, correction: int = 1, fweights=None, aweights=None):
        """The covariance of the rows (variables) over the columns (observations)."""
        if self.dtype.kind == "b":
            raise TensorError("cov(): bool dtype is not supported for input")
        return _floating(self, cnp.cov(self, ddof=correction, fweights=undifferentiated(fweights),
                                       aweights=aweights))

    def corrcoef(self):
        if self.dtype.kind == "b":
            raise TensorError("corrcoef(): bool dtype is not supported for input (cov's)")
        return _floating(self, cnp.corrcoef(self))

    def i0(self):
        return special.i0(self)

    def sgn(self):
        return torch_extra.sgn(self)

    # chainrule computes a conjugate (or negation) when asked: no Tensor carries PyTorch's
    # lazy conjugate or negative bit, so there is nothing to resolve
    def conj_physical(self):
        return self.conj()

    def resolve_conj(self):
        return self

    def resolve_neg(self):
        return self

    def is_conj(self) -> bool:
        return False

    def is_neg(self) -> bool:
        return False

    def adjoint(self):
        return self.mH

    def signbit(self):
        return torch_extra.signbit(self)

    def float_power(self, exponent):
        return torch_extra.float_power(self, exponent)

    def logcumsumexp(self, dim: int):
        return torch_extra.logcumsumexp(self, dim)

    def vdot(self, other):
        return torch_extra.vdot(self, other)

    def frexp(self):
        return torch_extra.frexp(self)

    def stft(self, n_fft: int, hop_length: int | None = None, win_length: int | None = None, window=None,
             center: bool = True, pad_mode: str = "reflect", normalized: bool = False, onesided: bool | None = None,
             return_complex: bool | None = None, align_to_window: bool | None = None):
        return torch_spectral.stft(self, n_fft, hop_length, win_length, window, center, pad_mode, normalized,
                                   onesided, return_complex, align_to_window)

    def istft(self, n_fft: int, hop_length: int | None = None, win_length: int | None = None, window=None,
              center: bool = True, normalized: bool = False, onesided: bool | None = None, length: int | None = None,
              return_complex: bool = False):
        return torch_spectral.istft(self, n_fft, hop_length, win_length, window, center, normalized, onesided,
                                    length, return_complex)

    def rot90(self, k: int = 1, dims=(0, 1)):
        return torch_extra.rot90(self, k, dims)

    def tensor_split(self, indices_or_sections, dim: int = 0):
        return torch_extra.tensor_split(self, indices_or_sections, dim)

    # -- linear algebra, as the functions of the same name -----------------------------------
    def det(self):
        return torch_extra.det(self)

    def logdet(self):
        return torch_extra.logdet(self)

    def slogdet(self):
        return torch_extra.slogdet(self)

    def inverse(self):
        return torch_extra.inverse(self)

    def pinverse(self, rcond: float = 1e-15):
        return torch_extra.pinverse(self, rcond)

    def matrix_power(self, n: int):
        return torch_extra.matrix_power(self, n)

    def matrix_exp(self):
        return torch_linalg.matrix_exp(self)

    def cholesky(self, upper: bool = False):
        return torch_extra.cholesky(self, upper)

    def qr(self, some: bool = True):
        return torch_extra.qr(self, some)

    def svd(self, some: bool = True, compute_uv: bool = True):
        return torch_extra.svd(self, some, compute_uv)

    # -- the CPU, and filling in place ------------------------------------------------------
    is_cpu = property(lambda self: True, doc="True: chainrule computes on the CPU.")

    def get_device(self) -> int:
        """-1, PyTorch's number for the CPU."""
        return -1

    def fill_diagonal_(self, fill_value, wrap: bool = False):
        """The main diagonal (of a matrix, or of an n-d Tensor of equal sizes) set to
        ``fill_value`` in place; ``wrap`` continues it below a tall matrix, as PyTorch's."""
        def op(a, v):
            mask = np.zeros(np.shape(undifferentiated(a)), dtype=bool)
            np.fill_diagonal(mask, True, wrap=wrap)
            return cnp.where(mask, v, a)
        if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
            raise TensorError(f"fill_diagonal_: the Tensor must be at least 2-d, with all sizes equal beyond 2-d "
                              f"(shape {tuple(self.shape)})")
        return eager.inplace(self, op, fill_value, "fill_diagonal_")

    def polygamma(self, n: int):
        return special.polygamma(n, self)

    def mvlgamma(self, p: int):
        return special.multigammaln(self, p)

    # -- tests and integer bits (no derivative) ------------------------------------------------
    isposinf = _plain("isposinf")
    isneginf = _plain("isneginf")
    bitwise_and = _integer_bits("bitwise_and", "bitwise_and")
    bitwise_or = _integer_bits("bitwise_or", "bitwise_or")
    bitwise_xor = _integer_bits("bitwise_xor", "bitwise_xor")
    bitwise_not = _integer_bits("bitwise_not", "bitwise_not")
    bitwise_left_shift = _integer_bits("left_shift", "lshift")
    bitwise_right_shift = _integer_bits("right_shift", "rshift")
    gcd = _integer_bits("gcd", "gcd")
    lcm = _integer_bits("lcm", "lcm")

    def isreal(self):
        return as_eager(self, cnp.imag(undifferentiated(self)) == 0 if self.dtype.kind == "c"
                        else cnp.ones(self.shape, dtype=bool))

    def is_nonzero(self) -> bool:
        """The truth of a one-element Tensor (PyTorch's errors for more or fewer)."""
        if self.size != 1:
            raise TensorError("Boolean value of Tensor with no values is ambiguous" if self.size == 0 else
                              "Boolean value of Tensor with more than one value is ambiguous")
        return bool(np.asarray(undifferentiated(self)).reshape(()) != 0)

    def is_same_size(self, other) -> bool:
        return tuple(self.shape) == tuple(np.shape(undifferentiated(other)))

    def is_signed(self) -> bool:
        return self.dtype.kind in "ifc"


for _name in IN_PLACE:
    setattr(TorchAliasMethods, f"{_name}_", _in_place(_name))

# the methods above that torch also has as torch.<name>(input, ...)
FUNCTION_FORMS = (
    "arccos", "arcsin", "arctan", "greater", "greater_equal", "less", "less_equal", "not_equal", "fix", "ger",
    "positive", "addcmul", "addcdiv", "copysign", "logaddexp2", "inner", "msort", "hsplit", "vsplit", "dsplit",
    "diag_embed", "diagflat", "cov", "corrcoef", "i0", "mvlgamma", "isposinf", "isneginf", "isreal",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "gcd",
    "lcm", "is_nonzero", "is_same_size", "is_signed", "conj_physical", "resolve_conj", "resolve_neg", "is_conj",
    "is_neg", "adjoint",
)

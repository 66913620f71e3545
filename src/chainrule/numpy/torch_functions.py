"""PyTorch's functions of a tensor, ``torch.flatten(x, 1)``, ``torch.exp(x)``,
``torch.sum(x, dim=0)``, ``torch.matmul(a, b)``, ...: each is the Tensor method of the
same name called on its first argument (an array or a number becomes an eager Tensor
first), so ``import chainrule as torch`` code that calls them reads as it does in
PyTorch. ``torch.where(condition, input, other)`` and ``torch.einsum(equation,
*operands)`` take their tensors elsewhere and are spelled out.

>>> import numpy as np
>>> flatten(np.ones((2, 3, 4)), 1).shape
torch.Size([2, 12])
>>> float(sum(exp(np.zeros(3))))
3.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.dtypes import as_dtype, check_cpu
from chainrule.core.eager import EAGER, tensor
from chainrule.core.errors import TensorError
from chainrule.core.grad_mode import is_grad_enabled, no_grad
from chainrule.core.tensor import Tensor
from chainrule.numpy import torch_special_functions as _special
from chainrule.numpy.torch_aliases import FUNCTION_FORMS
from chainrule.numpy.torch_common import (
    boolean_condition,
    check_tensor_argument,
    held_as_tensor,
    pytorch_meaning,
    sharing_tensor,
    tensor_of,
)
from chainrule.numpy.torch_order import bucketize, cdist, isin, searchsorted
from chainrule.numpy.torch_promotion import result_type

# Functions whose first argument is the tensor and whose other arguments are the method's
METHOD_FORMS = (
    "flatten", "reshape", "squeeze", "unsqueeze", "transpose", "permute", "t", "chunk", "split", "narrow",
    "movedim", "swapaxes", "unbind", "tile", "take", "take_along_dim", "roll", "flip", "tril", "triu",
    "diagonal", "trace", "masked_fill", "gather", "scatter", "index_select",
    "exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "abs", "sin", "cos", "tan", "asin",
    "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "relu", "sign", "floor", "ceil", "round", "trunc",
    "frac", "square", "pow", "neg", "negative", "reciprocal", "clamp", "clip", "clamp_min", "clamp_max",
    "nan_to_num", "isnan", "isinf", "isfinite", "conj",
    "add", "sub", "mul", "div", "true_divide", "maximum", "minimum", "lerp",
    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_not", "allclose", "equal",
    "sum", "mean", "std", "var", "prod", "max", "min", "argmax", "argmin", "amax", "amin", "all", "any",
    "cumsum", "cumprod", "median", "nanmedian", "nansum", "renorm", "norm", "topk", "sort", "argsort", "logsumexp",
    "softmax", "log_softmax", "matmul", "mm", "bmm", "mv", "dot", "outer", "numel", "detach",
    "unique", "unique_consecutive", "bincount", "multinomial", "bernoulli", "floor_divide", "remainder", "fmod",
    "atan2", "sign",
    "floor", "ceil", "trunc", "masked_select", "masked_scatter", "argwhere", "index_add", "index_reduce",
    "scatter_add", "nonzero",
    "cummax", "cummin", "index_copy",
    "erf", "erfc", "erfinv", "lgamma", "digamma", "clone", "is_floating_point", "is_complex", "count_nonzero",
    "diag", "diff", "kron", "cross", "logaddexp", "hypot", "fmax", "fmin", "exp2", "sinc", "isclose", "addmm",
    "dist", "nanmean", "logical_xor", "broadcast_to", "moveaxis", "heaviside", "select",
    "index_fill", "angle", "fliplr", "flipud", "quantile", "nanquantile", "kthvalue", "aminmax", "histc", "histogram",
    "logit", "as_strided",
    "absolute", "acosh", "arccosh", "asinh", "arcsinh", "atanh", "arctanh", "arctan2", "deg2rad", "rad2deg",
    "multiply", "divide", "subtract", "ravel", "swapdims", "unflatten", "mode",
    *FUNCTION_FORMS,
)

# PyTorch's in-place functions, ``torch.clamp_(x, -1, 1)``: the Tensor's in-place method
INPLACE_FORMS = (
    "abs_", "acos_", "acosh_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "asin_",
    "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_",
    "deg2rad_", "detach_", "erf_", "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "gcd_",
    "i0_", "index_put_", "lcm_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_",
    "negative_", "rad2deg_", "reciprocal_", "relu_", "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_",
    "sqrt_", "square_", "tan_", "tanh_", "trunc_", "xlogy_", "zero_",
)


def _inplace_form(name: str):
    def function(input, *args, **kwargs):
        check_tensor_argument(input, name)
        return getattr(input, name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``torch.{name}(input, ...)``: ``input.{name}(...)``, in place."
    return function


# method forms whose input PyTorch takes only as a Tensor (a number or list is a TypeError)
TENSOR_INPUT = {"quantile", "nanquantile"}


def _method_form(name: str):
    def function(input, *args, out=None, **kwargs):
        if name in TENSOR_INPUT:
            check_tensor_argument(input, name)
        with pytorch_meaning():  # torch.sort(x) is PyTorch's on a transform's value too
            result = getattr(tensor_of(input), name)(*args, **kwargs)
        return result if out is None else _into(out, result, name)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``torch.{name}(input, ...)``: ``input.{name}(...)``."
    return function


def _into(out, result, name: str) -> Tensor:
    """PyTorch's ``out=``: ``result`` written into ``out`` (Stable Baselines3's polyak
    update, ``torch.add(t.data, p.data, alpha=tau, out=t.data)``), which is returned; as in
    PyTorch, not while recording a gradient, and not into a dtype the result cannot be cast
    to. chainrule does not resize ``out``: it must have the result's shape. A result of
    several Tensors ((values, indices) of ``torch.max(x, dim)``) goes into a tuple ``out`` of
    as many, each of its dtype, as PyTorch's; the same kind of tuple of them is returned."""
    if isinstance(out, tuple | list) and isinstance(result, tuple):
        if len(out) != len(result) or [o for o in out if not isinstance(o, Tensor)]:  # (all is torch.all here)
            raise TypeError(f"{name}(): argument 'out' must be a tuple of {len(result)} Tensors, got "
                            f"{[type(o).__name__ for o in out]}")
        for o, r in zip(out, result, strict=True):
            if o.dtype != r.dtype:
                raise RuntimeError(f"{name}(): Expected out tensor to have dtype {r.dtype}, but got {o.dtype} "
                                   "instead")
        written = [_into(o, r, name) for o, r in zip(out, result, strict=True)]
        return type(result)(*written) if hasattr(result, "_fields") else type(result)(written)
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if not isinstance(result, Tensor):
        raise TypeError(f"{name}(..., out=...): chainrule writes out= only where the result is one Tensor; "
                        f"assign the result instead, y = {name}(...)")
    if is_grad_enabled() and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    if tuple(out.shape) != tuple(result.shape):
        raise RuntimeError(f"{name}(..., out=...): out has shape {list(out.shape)} and the result "
                           f"{list(result.shape)}; chainrule does not resize out: give one of the result's shape, "
                           f"or assign the result, y = {name}(...)")
    if not np.can_cast(result.dtype, out.dtype, "same_kind"):
        raise RuntimeError(f"result type {result.dtype} can't be cast to the desired output type {out.dtype}")
    with no_grad():
        out.copy_(result)
    return out


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``torch.as_tensor``: ``data`` itself if it is a Tensor of that dtype, an eager Tensor
    sharing an ndarray's memory where no conversion is needed, else a new one.

    >>> import numpy as np
    >>> a = np.zeros(2)
    >>> t = as_tensor(a); t[0] = 1.0; a.tolist()
    [1.0, 0.0]
    """
    check_cpu(device, "as_tensor")
    dtype = as_dtype(dtype)
    if held_as_tensor(data):
        return data if dtype is None or dtype == data.dtype else data.to(dtype)
    if dtype is None or dtype == getattr(data, "dtype", None):
        shared = sharing_tensor(data)  # (an ndarray, jitted too)
        if shared is not None:
            return shared
    elif isinstance(data, Tensor) and (shared := sharing_tensor(data)) is not None:
        # chainrule.jit's value of an array: the plain call's new Tensor of that dtype,
        # recorded (a copy by cr.tensor would read the value, and trace again for each)
        return shared.to(dtype)
    return tensor(data, dtype=dtype)


def real(input):
    """``torch.real(input)``: ``input.real``."""
    return tensor_of(input).real


def imag(input):
    """``torch.imag(input)``: ``input.imag`` of a complex Tensor (PyTorch refuses a real one)."""
    input = tensor_of(input)
    if input.dtype.kind != "c":
        raise TensorError("imag is not implemented for tensors with non-complex dtypes.")
    return input.imag


def where(condition, input=None, other=None) -> Any:
    """``torch.where(condition, input, other)``: ``input`` where ``condition`` holds, else
    ``other``; ``torch.where(condition)`` gives the indices where it holds."""
    if input is None and other is None:  # int64 eager Tensors, as PyTorch's (a 0-d condition read as 1-d)
        # (an array of NumPy's, or chainrule.jit's value of one: an eager Tensor of it)
        return tuple(i if held_as_tensor(i) else sharing_tensor(cnp.astype(i, np.int64))
                     for i in cnp.nonzero(cnp.atleast_1d(condition)))
    boolean_condition("where", condition)
    out = cnp.where(condition, input, other)
    eager_operand = [v for v in (condition, input, other) if isinstance(v, Tensor) and v._trace is EAGER]
    if eager_operand:  # (``any`` is torch.any in this module)
        dtype = result_type(input, other)  # PyTorch's: float32 with int64 or a 0-d float64 stays float32
        if dtype is not None and out.dtype != dtype:
            out = cnp.astype(out, dtype)
    return out


def tensordot(a, b, dims=2, *, axes=None) -> Any:
    """``torch.tensordot(a, b, dims)``: NumPy's ``tensordot`` with ``axes=dims``; of eager
    Tensors of one dtype, and an int ``dims`` no larger than either's dimensions, as PyTorch requires.
    NumPy's keyword ``axes`` is taken in place of ``dims``: opt_einsum calls the ``tensordot``
    of the module it names from an array's class (``chainrule`` for a Tensor) with it.

    >>> import numpy as np
    >>> tensordot(np.ones((2, 3)), np.ones((3, 4)), axes=([1], [0])).shape
    (2, 4)
    """
    if axes is not None:
        dims = axes
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype != b.dtype:
        raise TensorError(f"tensordot: both inputs should have same dtype, got {a.dtype} and {b.dtype}")
    if isinstance(dims, int) and (dims > np.ndim(a) or dims > np.ndim(b)):  # (min is torch.min here)
        raise TensorError(f"tensordot expects dims <= ndim_a and ndim_b, but got dims={dims} for {np.ndim(a)}-d and "
                          f"{np.ndim(b)}-d inputs")
    return cnp.tensordot(a, b, axes=dims)


def repeat_interleave(input, repeats=None, dim: int | None = None, *, output_size: int | None = None) -> Any:
    """``torch.repeat_interleave(input, repeats, dim)``: ``input.repeat_interleave(...)``;
    with ``input`` alone, the repeat counts of ``0, 1, 2, ...`` (a graph's batch vector from
    its node counts)."""
    if repeats is not None:
        return tensor_of(input).repeat_interleave(repeats, dim, output_size=output_size)
    counts = np.asarray(input.numpy() if isinstance(input, Tensor) else input)
    if counts.ndim != 1:
        raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
    if counts.dtype.kind not in "iu":
        raise NotImplementedError(f"repeat_interleave of counts of dtype {counts.dtype}: they must be integers")
    if (counts < 0).any():
        raise RuntimeError("repeats can not be negative")
    return tensor(np.repeat(np.arange(len(counts)), counts))


def einsum(equation: str, *operands) -> Any:
    """``torch.einsum(equation, *operands)`` (operands also as one list, as PyTorch allows)."""
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    if not isinstance(equation, str) and not operands:  # PyTorch's ValueError (a Tensor given as the equation)
        raise ValueError("einsum(): must specify the equation string and at least one operand, or at least one "
                         "operand and its subscripts list")
    return cnp.einsum(equation, *operands)


globals().update({name: _method_form(name) for name in METHOD_FORMS})
globals().update({name: _inplace_form(name) for name in INPLACE_FORMS})
__all__ = [*METHOD_FORMS, *INPLACE_FORMS, "where", "repeat_interleave", "einsum", "tensordot", "real", "imag",
           "as_tensor", "searchsorted", "bucketize", "isin", "cdist", "xlogy", "polygamma"]

# torch.xlogy(input, other) takes a number for either; torch.polygamma(n, input) puts n first
xlogy, polygamma = _special.xlogy, _special.polygamma

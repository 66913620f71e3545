"""PyTorch's legacy constructors, still common in older programs: ``torch.Tensor(2, 3)``
and ``torch.FloatTensor(2, 3)`` (a Tensor of that size), ``torch.Tensor([1, 2])`` and
``torch.LongTensor([1, 2])`` (of that data), ``x.new(2, 3)`` (of ``x``'s dtype), and
``DoubleTensor``, ``IntTensor``, ``ShortTensor``, ``ByteTensor``, ``CharTensor``,
``HalfTensor``, ``BoolTensor`` alike; ``torch.set_default_tensor_type(torch.DoubleTensor)``
(``set_default_dtype`` of that type's dtype); and ``torch.spmm`` of dense matrices (chainrule has no
sparse layout).
"""

from __future__ import annotations

import warnings

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.dtypes import check_cpu, set_default_dtype
from chainrule.core.eager import EAGER
from chainrule.core.tensor import Tensor
from chainrule.numpy.torch_common import legacy_value

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
           "ByteTensor", "BoolTensor", "set_default_tensor_type", "spmm"]


def _construct(t: Tensor, args: tuple, device) -> None:
    # torch.Tensor(*args): bound as Tensor._construct, which Tensor(...) calls for
    # arguments that are not (value, trace)
    check_cpu(device, "Tensor")
    t._value = legacy_value(args, None, "Tensor")
    t._trace = EAGER
    t._node = None


Tensor._construct = _construct


def _typed(name: str, dtype: np.dtype):
    def constructor(*args, device=None) -> Tensor:
        check_cpu(device, name)
        return Tensor(legacy_value(args, dtype, name), EAGER)

    constructor.__name__ = constructor.__qualname__ = name
    constructor.__doc__ = (f"``torch.{name}(*sizes)``: a {dtype} Tensor of that size (zeros); "
                           f"``torch.{name}(data)``: of that data.")
    return constructor


FloatTensor = _typed("FloatTensor", np.dtype(np.float32))
DoubleTensor = _typed("DoubleTensor", np.dtype(np.float64))
HalfTensor = _typed("HalfTensor", np.dtype(np.float16))
LongTensor = _typed("LongTensor", np.dtype(np.int64))
IntTensor = _typed("IntTensor", np.dtype(np.int32))
ShortTensor = _typed("ShortTensor", np.dtype(np.int16))
CharTensor = _typed("CharTensor", np.dtype(np.int8))
ByteTensor = _typed("ByteTensor", np.dtype(np.uint8))
BoolTensor = _typed("BoolTensor", np.dtype(bool))

_TYPES = {t.__name__: t for t in (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor,
                                   CharTensor, ByteTensor, BoolTensor)}


def set_default_tensor_type(t) -> None:
    """``torch.set_default_tensor_type(torch.DoubleTensor)`` (or ``'torch.DoubleTensor'``):
    :func:`set_default_dtype` of that type's dtype, with PyTorch's deprecation warning.

    >>> import warnings, chainrule as cr
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     set_default_tensor_type(DoubleTensor)
    >>> cr.nn.Linear(2, 1).weight.dtype
    dtype('float64')
    >>> cr.set_default_dtype(None)
    """
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.", UserWarning,
                  stacklevel=2)
    name = t if isinstance(t, str) else getattr(t, "__name__", None)
    if isinstance(name, str) and name.startswith(("torch.cuda.", "chainrule.cuda.")):
        raise RuntimeError(f"set_default_tensor_type({name!r}): chainrule runs on the CPU only; give "
                           f"{name.replace('.cuda', '')!r}")
    if isinstance(name, str) and name.startswith(("torch.", "chainrule.")):
        name = name.split(".", 1)[1]
    if name not in _TYPES or (_TYPES[name] is not t and not isinstance(t, str)):
        raise TypeError(f"set_default_tensor_type: expected a tensor type such as torch.DoubleTensor or "
                        f"'torch.DoubleTensor', got {t!r}")
    dtype = np.dtype(_TYPES[name](0).dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_tensor_type({name}): only floating-point types are supported as the default "
                        f"type")
    set_default_dtype(dtype)


def spmm(input, mat2) -> Tensor:
    """``torch.spmm(input, mat2)`` of two dense matrices: their product.

    >>> import chainrule as cr
    >>> spmm(cr.eye(2), cr.ones(2, 3)).shape
    torch.Size([2, 3])
    """
    if np.ndim(input) != 2 or np.ndim(mat2) != 2:
        raise RuntimeError(f"spmm: both arguments must be 2-d matrices, got {np.ndim(input)}-d and "
                           f"{np.ndim(mat2)}-d")
    return cnp.matmul(input, mat2)

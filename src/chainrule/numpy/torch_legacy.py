"""PyTorch's legacy constructors, still common in older programs: ``torch.Tensor(2, 3)``
and ``torch.FloatTensor(2, 3)`` (a Tensor of that size), ``torch.Tensor([1, 2])`` and
``torch.LongTensor([1, 2])`` (of that data), ``x.new(2, 3)`` (of ``x``'s dtype), and
``DoubleTensor``, ``IntTensor``, ``ShortTensor``, ``ByteTensor``, ``CharTensor``,
``HalfTensor``, ``BoolTensor`` alike; and ``torch.spmm`` of dense matrices (chainrule has no
sparse layout).
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.dtypes import check_cpu
from chainrule.core.eager import EAGER
from chainrule.core.tensor import Tensor
from chainrule.numpy.torch_common import legacy_value

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
           "ByteTensor", "BoolTensor", "spmm"]


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


def spmm(input, mat2) -> Tensor:
    """``torch.spmm(input, mat2)`` of two dense matrices: their product.

    >>> import chainrule as cr
    >>> spmm(cr.eye(2), cr.ones(2, 3)).shape
    (2, 3)
    """
    if np.ndim(input) != 2 or np.ndim(mat2) != 2:
        raise RuntimeError(f"spmm: both arguments must be 2-d matrices, got {np.ndim(input)}-d and "
                           f"{np.ndim(mat2)}-d")
    return cnp.matmul(input, mat2)

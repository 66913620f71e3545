"""PyTorch's legacy typed constructors, still common in older programs:
``torch.FloatTensor(2, 3)`` (a Tensor of that size), ``torch.LongTensor([1, 2])`` (of that
data), and ``DoubleTensor``, ``IntTensor``, ``ShortTensor``, ``ByteTensor``,
``CharTensor``, ``HalfTensor``, ``BoolTensor`` alike; and ``torch.spmm`` of dense
matrices (chainrule has no sparse layout).
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.eager import EAGER
from chainrule.core.tensor import Tensor
from chainrule.core.values import plain
from chainrule.numpy.torch_runtime import Size

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
           "ByteTensor", "BoolTensor", "spmm"]


def _typed(name: str, dtype: np.dtype):
    def constructor(*args, device=None) -> Tensor:
        if device is not None and str(device) != "cpu":
            raise ValueError(f"{name}: chainrule computes on the CPU; device={device!r} is not available")
        sizes = (len(args) == 1 and type(args[0]) is Size) or all(isinstance(a, int | np.integer) and
                                                                   not isinstance(a, bool) for a in args)
        if sizes:
            shape = tuple(args[0]) if len(args) == 1 and type(args[0]) is Size else tuple(int(a) for a in args)
            return Tensor(np.zeros(shape if args else (0,), dtype), EAGER)
        if len(args) != 1 or np.ndim(plain(args[0])) == 0:
            raise TypeError(f"{name}() takes sizes (ints, or a torch.Size) or one sequence of data, got "
                            f"{', '.join(type(a).__name__ for a in args)}")
        return Tensor(np.array(plain(args[0]), dtype=dtype), EAGER)

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

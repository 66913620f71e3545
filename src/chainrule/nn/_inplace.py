"""PyTorch's in-place activations: ``inplace=True`` of ``F.relu``, ``F.elu``, ... and the
functions ``F.relu_``, ``F.elu_``, ...: the result written into the input, an eager Tensor
(recorded on a graph; a leaf that requires grad is refused, as PyTorch refuses it), or
computed out of place for an array or inside a transform.

>>> import chainrule as cr
>>> import chainrule.nn.functional as F
>>> x = cr.tensor([-1.0, 2.0])
>>> F.relu_(x) is x, x.tolist()
(True, [0.0, 2.0])
"""

from __future__ import annotations

from collections.abc import Callable

from chainrule.core import eager
from chainrule.core.tensor import Tensor

__all__ = ["in_place"]


def in_place(fn: Callable, input, name: str, *args, **kwargs):
    """``fn(input, *args, **kwargs)`` written into ``input`` where it is an eager Tensor
    (also where ``chainrule.jit`` traces one: the write is recorded, and each replay writes
    the caller's Tensor, as the plain call does)."""
    if isinstance(input, Tensor) and (input._trace is eager.EAGER
                                      or input._trace.records and input._node in input._trace.eager):
        return eager.inplace(input, lambda a, _: fn(a, *args, **kwargs), None, name)
    return fn(input, *args, **kwargs)

"""``chainrule.autograd.forward_ad``: PyTorch's forward-mode AD with dual Tensors.

Inside ``with dual_level():``, ``make_dual(x, v)`` gives a Tensor whose operations carry
the directional derivative along ``v`` (forward mode, one pass), and
``unpack_dual(y)`` splits a result into its value and that derivative (the Jacobian-vector
product). It is the forward trace of :func:`chainrule.jvp`, opened for the block, so
modules, functional calls and eager Tensors that require grad mix freely with the dual
Tensors, and the tangent of a result that depends on such Tensors can be differentiated
again with ``backward()``, as in PyTorch.

>>> import chainrule as cr
>>> import chainrule.autograd.forward_ad as fwAD
>>> x = cr.tensor([0.0, 1.0], dtype="float64")
>>> with fwAD.dual_level():
...     y = fwAD.make_dual(x, cr.ones(2, dtype="float64")).exp()
...     value, jvp = fwAD.unpack_dual(y)
>>> jvp.tolist() == value.tolist() == [1.0, 2.718281828459045]
True
"""

from __future__ import annotations

import contextlib
import threading
from typing import NamedTuple

import numpy as np

from chainrule.core.eager import EAGER
from chainrule.core.forward_trace import ForwardTrace
from chainrule.core.grad_mode import pytorch_meaning
from chainrule.core.tensor import Tensor
from chainrule.transforms.reverse import on_eager_graph

__all__ = ["dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor",
           "open_level"]

# the open level of each thread (PyTorch's forward AD has one level at a time)
_open = threading.local()


class UnpackedDualTensor(NamedTuple):
    """What :func:`unpack_dual` returns: the ``primal`` value and its ``tangent`` (None
    where the Tensor is not dual at this level)."""

    primal: object
    tangent: object


def enter_dual_level() -> int:
    """Open a level for dual Tensors and return its index (0); :class:`dual_level` calls
    it on entry. PyTorch has no nested forward AD, and neither is it taken here.

    >>> level = enter_dual_level(); exit_dual_level(level=level); level
    0
    """
    if getattr(_open, "trace", None) is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment: leave the dual_level "
                           "before opening another")
    # as torch.func's transforms: the tangents are functions of the eager Tensors on their
    # graph (backward() of a tangent reaches them, through fused rules too), and the dual
    # Tensors' methods have PyTorch's meaning (x.var() unbiased, x.max(0) a pair)
    scopes = contextlib.ExitStack()
    scopes.enter_context(on_eager_graph())
    scopes.enter_context(pytorch_meaning())
    _open.trace, _open.scopes = ForwardTrace("forward_ad"), scopes
    return 0


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the open level: the dual Tensors made in it carry no tangent any more.

    >>> exit_dual_level()
    Traceback (most recent call last):
    ...
    RuntimeError: exit_dual_level: no dual level is open (enter one with dual_level())
    """
    trace = _current("exit_dual_level", level)
    trace.open = False
    _open.trace = None
    _open.scopes.close()


class dual_level:
    """Context manager (and decorator) of a level of dual Tensors, as PyTorch's.

    >>> import chainrule as cr
    >>> with dual_level():
    ...     t = unpack_dual(make_dual(cr.tensor(2.0), cr.tensor(1.0)) ** 2).tangent
    >>> float(t)
    4.0
    """

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc) -> bool:
        exit_dual_level()
        return False

    def __call__(self, fun):
        def wrapped(*args, **kwargs):
            with dual_level():
                return fun(*args, **kwargs)

        return wrapped


def open_level() -> ForwardTrace | None:
    """The trace of the open dual level of this thread (its dual Tensors are on it), or None.

    >>> open_level() is None
    True
    """
    return getattr(_open, "trace", None)


def _current(caller: str, level: int | None) -> ForwardTrace:
    trace = getattr(_open, "trace", None)
    if trace is None:
        raise RuntimeError(f"{caller}: no dual level is open (enter one with dual_level())")
    if level not in (None, 0):
        raise RuntimeError(f"{caller}: level {level} is not the open dual level (0)")
    return trace


def make_dual(tensor, tangent, *, level: int | None = None) -> Tensor:
    """``tensor`` carrying ``tangent`` (the direction of the derivative) through the
    operations that follow, inside :class:`dual_level`.

    >>> import chainrule as cr
    >>> with dual_level():
    ...     y = make_dual(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 0.0])) * 3
    ...     unpack_dual(y).tangent.tolist()
    [3.0, 0.0]
    """
    trace = _current("make_dual", level)
    if not isinstance(tensor, Tensor) or not isinstance(tangent, Tensor):
        raise TypeError(f"make_dual(tensor, tangent): both must be Tensors, got {type(tensor).__name__} and "
                        f"{type(tangent).__name__}")
    if tuple(tensor.shape) != tuple(tangent.shape):
        raise RuntimeError(f"Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {tuple(tensor.shape)} while the given "
                           f"forward gradient is of size {tuple(tangent.shape)}.")
    if not np.issubdtype(tensor.dtype, np.inexact) or not np.issubdtype(tangent.dtype, np.inexact):
        raise ValueError(f"make_dual: expected a floating point or complex primal and tangent, got {tensor.dtype} "
                         f"and {tangent.dtype}")
    if tensor._trace is trace:
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a forward gradient at the same "
                           "level 0 is not supported.")
    value = tensor if tensor._trace is EAGER else tensor.primal()
    return trace.new_tensor(value, tangent.to(tensor.dtype) if tangent.dtype != tensor.dtype else tangent)


def unpack_dual(tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of a dual Tensor of the open level; ``(tensor, None)`` for
    any other value, as PyTorch's.

    >>> import chainrule as cr
    >>> with dual_level():
    ...     unpack_dual(cr.tensor(1.0)).tangent is None
    True
    """
    trace = getattr(_open, "trace", None)
    if trace is None or not isinstance(tensor, Tensor) or tensor._trace is not trace:
        return UnpackedDualTensor(tensor, None)
    primal, tangent = tensor._value, tensor._tangent
    wrap = (lambda v: v if isinstance(v, Tensor) else Tensor(np.asarray(v), EAGER))
    return UnpackedDualTensor(wrap(primal), wrap(tangent))

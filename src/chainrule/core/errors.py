"""The library's errors that the traces share: PyTorch's exception types for the eager
layer (each also the exception NumPy code expects), and the messages for a transform's
value used where it cannot stand.

>>> issubclass(TensorError, ValueError) and issubclass(TensorError, RuntimeError)
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # (the Tensor module raises these)
    from chainrule.core.tensor import Tensor

__all__ = ["TensorError", "TensorTypeError", "DimensionError", "KernelMissingError", "BatchedValueError",
           "escaped_tensor_error", "stands_for_jit_argument", "not_eager_error", "eager_error"]


class TensorError(RuntimeError, ValueError):
    """What NumPy raises as a ValueError (shapes that do not broadcast, a reshape to another
    size, an ambiguous truth value), raised by an operation on eager Tensors: a
    RuntimeError, as PyTorch raises, and still a ValueError, as NumPy code expects."""


class TensorTypeError(RuntimeError, TypeError):
    """A Tensor of a dtype an eager operation does not take (an integer Tensor that should
    require grad): a RuntimeError, as PyTorch raises, and a TypeError."""


class DimensionError(TensorError, IndexError):
    """A Tensor with fewer (or more) dimensions than an eager operation reads: PyTorch's
    IndexError ("Dimension out of range") where its kernel indexes a dimension that is not
    there, and its RuntimeError where it checks first; a TensorError as chainrule's other
    refusals of a shape."""


class KernelMissingError(NotImplementedError, TypeError):
    """An eager operation on a dtype PyTorch has no kernel for (a bitwise ``and`` of
    floats): PyTorch's NotImplementedError (a RuntimeError), and the TypeError NumPy raises."""


class BatchedValueError(TensorTypeError):
    """A value batched by ``chainrule.vmap`` read as one plain array (``np.array`` of it,
    ``float``, ``.item()``, an ``if`` on it): each example has its own. A TypeError, as
    JAX's, and a RuntimeError, as torch.func's."""


def escaped_tensor_error(trace, prim=None, what: str = "") -> Exception:
    """The error for a value of a transform that maps over a batch (``vmap``), used after
    the transform returned (``prim`` called on it, or the value read as ``what``): it holds
    every example, and no one value stands for it. (A differentiating transform's value is
    a constant by then: :func:`chainrule.core.trace_protocol.returned_call`.)"""
    use = (f"{prim.__name__} was called on a value of a {trace.name} transform that has already returned"
           if prim is not None else
           f"a value of a {trace.name} transform that has already returned cannot become {what}")
    message = (f"{use}. A value that it was mapping over escaped it (stored in a global, a closure "
               "or an attribute); return it from the function instead (out_axes says where its "
               "batch axis goes).")
    return RuntimeError(message) if prim is not None else BatchedValueError(message)


def stands_for_jit_argument(t: Tensor) -> bool:
    """Whether ``t`` is the value that stands for an eager Tensor argument of the
    ``chainrule.jit`` function being traced (whose own attributes the plain call reads)."""
    return t._trace.records and id(t) in t._trace.callers


def not_eager_error(t: Tensor, what: str, instead: str) -> RuntimeError:
    """The error for ``what`` (an eager Tensor's own graph operation: ``requires_grad_``,
    ``register_hook``, ``detach_``) on a value of a transform, ``instead`` saying what to use
    there. On a value that stands for an eager Tensor argument of a ``chainrule.jit``
    function, which the replay cannot repeat: done before the call, or without jit."""
    if stands_for_jit_argument(t):
        return RuntimeError(f"chainrule.jit: {what} of an eager Tensor argument inside a jitted function is not "
                            "recorded; call it on the Tensor before the jitted call, or call the function "
                            "without chainrule.jit")
    return RuntimeError(f"{what} belongs to eager Tensors; {instead}")


def eager_error(name: str, error: ValueError | TypeError, values) -> Exception:
    """``error`` of the eager operation ``name`` on ``values`` as PyTorch would raise it: a
    :class:`TensorError` (with PyTorch's words for two shapes that do not broadcast), a
    :class:`TensorTypeError` for NumPy's TypeError (a dtype it does not take); an
    AxisError stays (an IndexError too, as PyTorch's for a dim out of range)."""
    if isinstance(error, IndexError | RuntimeError):
        return error
    # (named once: NumPy's error of a gufunc, or the mirror's own, names it already)
    named = str(error) if str(error).startswith(f"{name}: ") else f"{name}: {error}"
    if isinstance(error, TypeError):
        return TensorTypeError(named)
    shapes = [np.shape(v) for v in values]
    if len(shapes) == 2 and "broadcast" in str(error):
        a, b = shapes
        for d in range(1, min(len(a), len(b)) + 1):
            if a[-d] != b[-d] and 1 not in (a[-d], b[-d]):
                return TensorError(f"{name}: the size of tensor a ({a[-d]}) must match the size of tensor b "
                                   f"({b[-d]}) at non-singleton dimension {max(len(a), len(b)) - d} (shapes "
                                   f"{a} and {b})")
    return TensorError(named)

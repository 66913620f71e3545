"""The TorchScript and ``torch.fx`` hooks that model code written for PyTorch carries
(torchvision's models are full of them): ``torch.jit.is_scripting()``,
``torch.jit.is_tracing()``, the ``@torch.jit.unused``/``@torch.jit.ignore``/``@torch.jit._overload_method`` decorators,
``torch.jit.annotate(T, value)``, ``torch.fx.wrap("name")`` at module level and
``torch._assert(cond, msg)``. chainrule runs such code eagerly, as PyTorch does outside
a script or a trace: nothing is scripting or tracing, the decorators and ``annotate``
hand back what they were given, and ``_assert`` is Python's ``assert`` that ``-O`` does
not remove. They are attached to :func:`chainrule.jit` (``torch.jit``) as attributes;
the compiler of functional code stays the call ``chainrule.jit(f)``.
"""

from __future__ import annotations

import types
from typing import Any

__all__ = ["is_scripting", "is_tracing", "unused", "ignore", "overload", "annotate", "fx", "torch_assert", "JIT_NAMES"]


def is_scripting() -> bool:
    """False: chainrule runs every model eagerly (PyTorch's ``torch.jit.is_scripting``).

    >>> import chainrule as cr
    >>> cr.jit.is_scripting(), cr.jit.is_tracing()
    (False, False)
    """
    return False


def is_tracing() -> bool:
    """False: no ``torch.jit.trace`` is running (PyTorch's ``torch.jit.is_tracing``)."""
    return False


def unused(fn: Any) -> Any:
    """PyTorch's ``@torch.jit.unused``: the method as it is (it only matters to a script)."""
    return fn


def ignore(drop: Any = False, **kwargs) -> Any:
    """PyTorch's ``@torch.jit.ignore`` and ``@torch.jit.ignore(drop=True)``: the function
    as it is."""
    if callable(drop):
        return drop
    return lambda fn: fn


def overload(fn: Any) -> Any:
    """PyTorch's ``@torch.jit._overload_method`` (and ``_overload``), which torchvision's
    DenseNet puts on typed stubs of ``forward`` before the real one: the function as it
    is (the last ``def`` of the name is the one Python keeps)."""
    return fn


def annotate(the_type: Any, the_value: Any) -> Any:
    """PyTorch's ``torch.jit.annotate(List[Tensor], [])``: the value, unchanged.

    >>> import chainrule as cr
    >>> cr.jit.annotate(list, [1, 2])
    [1, 2]
    """
    return the_value


def _wrap(fn_or_name: Any) -> Any:
    """PyTorch's ``torch.fx.wrap``: marks a function as a leaf of symbolic tracing;
    returns its argument."""
    return fn_or_name


fx = types.SimpleNamespace(wrap=_wrap)


def torch_assert(condition: Any, message: str) -> None:
    """PyTorch's ``torch._assert(condition, message)``: AssertionError(message) when the
    condition is false (kept under ``python -O``).

    >>> import chainrule as cr
    >>> cr._assert(2 > 1, "never")
    """
    if not condition:
        raise AssertionError(message)


JIT_NAMES = {"is_scripting": is_scripting, "is_tracing": is_tracing, "unused": unused, "ignore": ignore,
             "annotate": annotate, "_overload": overload, "_overload_method": overload}

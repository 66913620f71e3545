"""The TorchScript and ``torch.fx`` hooks that model code written for PyTorch carries
(torchvision's models are full of them): ``torch.jit.is_scripting()``,
``torch.jit.is_tracing()``, the ``@torch.jit.unused``/``@torch.jit.ignore``/``@torch.jit._overload_method`` decorators,
``torch.jit.annotate(T, value)``, ``torch.jit.script``/``trace``/``freeze`` (the function
or module back, run eagerly), ``torch.jit.Final``, ``torch.fx.wrap("name")`` at module level and
``torch._assert(cond, msg)``. chainrule runs such code eagerly, as PyTorch does outside
a script or a trace: nothing is scripting or tracing, the decorators and ``annotate``
hand back what they were given, and ``_assert`` is Python's ``assert`` that ``-O`` does
not remove. They are attached to :func:`chainrule.jit` (``torch.jit``) as attributes;
the compiler of functional code stays the call ``chainrule.jit(f)``.
"""

from __future__ import annotations

import types
from typing import Any, Final

__all__ = ["is_scripting", "is_tracing", "unused", "ignore", "overload", "annotate", "script", "trace", "freeze",
           "export", "fx", "torch_assert", "JIT_NAMES"]


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


def script(obj: Any = None, optimize: Any = None, _frames_up: int = 0, _rcb: Any = None,
           example_inputs: Any = None) -> Any:
    """PyTorch's ``torch.jit.script`` (also ``@torch.jit.script``): the function or module
    as it is. A script runs what the Python code says, so the eager run gives its answers
    (the compiler of functional code is ``chainrule.jit(f)``).

    >>> import chainrule as cr
    >>> cr.jit.script(lambda x: 2 * x)(3)
    6
    """
    return obj


def trace(func: Any, example_inputs: Any = None, *args, **kwargs) -> Any:
    """PyTorch's ``torch.jit.trace(model, example_inputs)`` (and ``trace_module``): the
    function or module as it is, run eagerly on every call. A trace records the branches
    the example took; the eager run follows the branches of each input, which is what the
    traced code gives whenever its branches do not depend on the data."""
    return func


def freeze(mod: Any, preserved_attrs: Any = None, optimize_numerics: bool = True) -> Any:
    """PyTorch's ``torch.jit.freeze`` and ``optimize_for_inference``: the module as it is."""
    return mod


def export(fn: Any) -> Any:
    """PyTorch's ``@torch.jit.export``: the method as it is (it only matters to a script)."""
    return fn


def _no_archive(*args, **kwargs):
    raise NotImplementedError(
        "torch.jit.save/load read and write TorchScript archives (compiled code), which chainrule "
        "does not have: save the weights with chainrule.save(model.state_dict(), path) and load "
        "them into the model with model.load_state_dict(chainrule.load(path))")


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
             "annotate": annotate, "_overload": overload, "_overload_method": overload, "script": script,
             "script_method": export, "trace": trace, "trace_module": trace, "freeze": freeze,
             "optimize_for_inference": freeze, "export": export, "script_if_tracing": export, "Final": Final,
             "save": _no_archive, "load": _no_archive}

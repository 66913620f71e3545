"""``nn.utils.skip_init``, PyTorch's: a module made without its initialisation mattering."""

from __future__ import annotations

import inspect

from chainrule.nn.module import Module

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs) -> Module:
    """``module_cls(*args, **kwargs)`` for a module whose parameters are to be overwritten
    (loaded, say), as PyTorch's ``skip_init``, whose values are left uninitialised: here
    they are initialised as usual (NumPy has no uninitialised device memory to save), so
    any later code sees valid numbers.

    >>> from chainrule import nn
    >>> skip_init(nn.Linear, 3, 2).weight.shape
    torch.Size([2, 3])
    """
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    return module_cls(*args, **kwargs)

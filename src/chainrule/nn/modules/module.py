"""PyTorch's ``torch.nn.modules.module``, for code that imports ``Module`` from here, and its
global hooks (``register_module_forward_hook`` and the like), which run for every module."""

from __future__ import annotations

from chainrule.nn._module_hooks import (
    register_module_forward_hook,
    register_module_forward_pre_hook,
    register_module_full_backward_hook,
    register_module_full_backward_pre_hook,
)
from chainrule.nn.module import Module

__all__ = ["Module", "register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_full_backward_hook", "register_module_full_backward_pre_hook"]

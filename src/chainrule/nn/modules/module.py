"""PyTorch's ``torch.nn.modules.module``, for code that imports ``Module`` from here, and its
global hooks (``register_module_forward_hook`` and the like), which run for every module,
with the dicts that hold them under their handles' ids (``_global_forward_hooks`` and the
like, as PyTorch's)."""

from __future__ import annotations

from chainrule.nn._backward_hooks import GLOBAL_BACKWARD_HOOKS as _global_backward_hooks  # noqa: F401
from chainrule.nn._backward_hooks import GLOBAL_BACKWARD_PRE_HOOKS as _global_backward_pre_hooks  # noqa: F401
from chainrule.nn._module_hooks import GLOBAL_FORWARD_HOOKS as _global_forward_hooks  # noqa: F401
from chainrule.nn._module_hooks import GLOBAL_FORWARD_HOOKS_ALWAYS_CALLED as _global_forward_hooks_always_called  # noqa: F401
from chainrule.nn._module_hooks import GLOBAL_FORWARD_HOOKS_WITH_KWARGS as _global_forward_hooks_with_kwargs  # noqa: F401
from chainrule.nn._module_hooks import GLOBAL_FORWARD_PRE_HOOKS as _global_forward_pre_hooks  # noqa: F401
from chainrule.nn._module_hooks import (
    register_module_forward_hook,
    register_module_forward_pre_hook,
    register_module_full_backward_hook,
    register_module_full_backward_pre_hook,
)
from chainrule.nn.module import Module

__all__ = ["Module", "register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_full_backward_hook", "register_module_full_backward_pre_hook"]

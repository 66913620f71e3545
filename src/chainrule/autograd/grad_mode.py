"""PyTorch's module path ``torch.autograd.grad_mode``: the grad modes of
:mod:`chainrule.core.grad_mode` under that name.

>>> import chainrule as cr
>>> from chainrule.autograd.grad_mode import no_grad
>>> no_grad is cr.no_grad
True
"""

from chainrule.core.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]

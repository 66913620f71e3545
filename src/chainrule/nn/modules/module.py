"""PyTorch's ``torch.nn.modules.module``, for code that imports ``Module`` from here."""

from __future__ import annotations

from chainrule.nn.module import Module

__all__ = ["Module"]

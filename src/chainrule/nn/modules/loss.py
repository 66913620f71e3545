"""PyTorch's ``torch.nn.modules.loss``, for code that derives its own loss from the base
classes (``class FocalLoss(nn.modules.loss._WeightedLoss)``)."""

from __future__ import annotations

from chainrule.nn.loss import _Loss, _WeightedLoss

__all__ = ["_Loss", "_WeightedLoss"]

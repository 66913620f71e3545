"""PyTorch's ``torch.nn.modules.instancenorm``, for code that names the base class
(torchvision's training references: ``nn.modules.instancenorm._InstanceNorm``)."""

from __future__ import annotations

from chainrule.nn.spatial import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, _InstanceNorm

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "_InstanceNorm"]

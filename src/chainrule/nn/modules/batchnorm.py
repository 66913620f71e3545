"""PyTorch's ``torch.nn.modules.batchnorm``, for code that names the base class, as
torchvision's training references do (``norm_classes = (nn.modules.batchnorm._BatchNorm,
...)`` to leave normalisation layers out of weight decay) and as code that freezes
BatchNorm does (``isinstance(m, _BatchNorm)``). Here InstanceNorm derives from it too:
its base is also PyTorch's ``_NormBase``."""

from __future__ import annotations

from chainrule.nn.layers import BatchNorm1d, BatchNorm2d, BatchNorm3d, _BatchNorm
from chainrule.nn.sync_batchnorm import SyncBatchNorm

_NormBase = _BatchNorm

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "_BatchNorm", "_NormBase"]

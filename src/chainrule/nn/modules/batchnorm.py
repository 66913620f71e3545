"""PyTorch's ``torch.nn.modules.batchnorm``, for code that names the base class, as
torchvision's training references do (``norm_classes = (nn.modules.batchnorm._BatchNorm,
...)`` to leave normalisation layers out of weight decay) and as code that freezes
BatchNorm does (``isinstance(m, _BatchNorm)``). As in PyTorch, InstanceNorm derives from
``_NormBase``, not from ``_BatchNorm``."""

from __future__ import annotations

from chainrule.nn.layers import BatchNorm1d, BatchNorm2d, BatchNorm3d, _BatchNorm, _NormBase
from chainrule.nn.sync_batchnorm import SyncBatchNorm

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "_BatchNorm", "_NormBase"]

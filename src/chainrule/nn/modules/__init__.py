"""PyTorch's ``torch.nn.modules`` path, for code that imports from it or names a base
class through it: :mod:`.utils`, :mod:`.batchnorm` (``_BatchNorm``), :mod:`.instancenorm`
(``_InstanceNorm``), :mod:`.loss` (``_Loss``, ``_WeightedLoss``)."""

from chainrule.nn.modules import batchnorm, instancenorm, loss, utils

__all__ = ["batchnorm", "instancenorm", "loss", "utils"]

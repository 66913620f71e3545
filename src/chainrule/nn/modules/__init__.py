"""PyTorch's ``torch.nn.modules`` path, for code that imports from it or names a base
class through it: :mod:`.utils`, :mod:`.batchnorm` (``_BatchNorm``, ``_NormBase``),
:mod:`.instancenorm` (``_InstanceNorm``), :mod:`.conv` (``_ConvNd``, ``_ConvTransposeNd``),
:mod:`.loss` (``_Loss``, ``_WeightedLoss``), :mod:`.module` (``Module``)."""

from chainrule.nn.modules import batchnorm, conv, instancenorm, loss, module, utils

__all__ = ["batchnorm", "conv", "instancenorm", "loss", "module", "utils"]

"""PyTorch's ``torch.nn.modules`` path, for code that imports from it or names a base
class through it: :mod:`.utils`, :mod:`.batchnorm` (``_BatchNorm``, ``_NormBase``),
:mod:`.instancenorm` (``_InstanceNorm``), :mod:`.conv` (``_ConvNd``, ``_ConvTransposeNd``),
:mod:`.loss` (``_Loss``, ``_WeightedLoss``), :mod:`.module` (``Module``),
:mod:`.activation` (the activation layers, ``MultiheadAttention``), :mod:`.rnn` (the
recurrent layers and cells) and :mod:`.transformer` (the Transformer layers and the
helpers ``_get_clones``, ``_get_activation_fn``, ``_generate_square_subsequent_mask``)."""

from chainrule.nn.modules import activation, batchnorm, conv, instancenorm, loss, module, rnn, transformer, utils

__all__ = ["activation", "batchnorm", "conv", "instancenorm", "loss", "module", "rnn", "transformer", "utils"]

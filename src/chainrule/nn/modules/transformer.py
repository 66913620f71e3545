"""PyTorch's ``torch.nn.modules.transformer``, for code that imports from it: the
Transformer layers, the names that module imports and that programs take from it
(``MultiheadAttention``, ``LayerNorm``, ``Linear``, ``Dropout``, ``ModuleList``), and its
helpers ``_get_clones``, ``_get_activation_fn`` and ``_generate_square_subsequent_mask``,
which custom layers written after PyTorch's use."""

from __future__ import annotations

import copy

from chainrule.nn import functional as F
from chainrule.nn.containers import ModuleList
from chainrule.nn.dropout import Dropout
from chainrule.nn.layers import LayerNorm, Linear
from chainrule.nn.module import Module
from chainrule.nn.transformer import (
    MultiheadAttention,
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ = ["Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
           "TransformerDecoderLayer", "MultiheadAttention", "LayerNorm", "Linear", "Dropout", "ModuleList"]


def _get_clones(module: Module, N: int) -> ModuleList:
    """``N`` deep copies of ``module`` in a ModuleList, as PyTorch's."""
    return ModuleList([copy.deepcopy(module) for _ in range(N)])


def _get_activation_fn(activation: str):
    """``F.relu`` or ``F.gelu`` by name, as PyTorch's (another name raises RuntimeError)."""
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _generate_square_subsequent_mask(sz: int, device=None, dtype=None):
    """The causal float mask, as :meth:`Transformer.generate_square_subsequent_mask`."""
    return Transformer.generate_square_subsequent_mask(sz, device=device, dtype=dtype)

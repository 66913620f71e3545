"""``EmbeddingBag``: an embedding table whose rows are summed, averaged or maxed over bags
of indices, with PyTorch's constructor arguments, defaults and state-dict key
(``weight``); :func:`~chainrule.nn.functional.embedding_bag` computes it.
"""

from __future__ import annotations

import numpy as np

from chainrule.core.values import plain
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.layers import _empty, param_dtype, reset_table
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter

__all__ = ["EmbeddingBag"]


class EmbeddingBag(Module):
    """``weight`` (num_embeddings, embedding_dim), initialised N(0, 1) (the ``padding_idx``
    row zero); ``forward(input, offsets=None, per_sample_weights=None)`` gives a row per
    bag, the ``mode`` ('mean' by default, 'sum' or 'max') of its rows, as PyTorch's.

    >>> import numpy as np
    >>> bag = EmbeddingBag(10, 3, mode="sum", rng=0)
    >>> bag(np.array([1, 2, 4, 5, 4]), np.array([0, 2])).shape
    torch.Size([2, 3])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight=None, include_last_offset: bool = False,
                 padding_idx: int | None = None, device=None, dtype=None, *, rng=None):
        super().__init__()
        if sparse:
            raise NotImplementedError("EmbeddingBag(sparse=True): sparse gradients are not supported; "
                                      "chainrule's gradients are dense arrays (leave sparse=False)")
        if device is not None and str(device) != "cpu":
            raise ValueError(f"EmbeddingBag: chainrule computes on the CPU; device={device!r} is not available")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"padding_idx {padding_idx} is out of range for {num_embeddings} embeddings")
            padding_idx %= num_embeddings
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        self.mode, self.sparse, self.include_last_offset, self.padding_idx = mode, sparse, include_last_offset, \
            padding_idx
        if _weight is None:
            self.weight = _empty((self.num_embeddings, self.embedding_dim), dtype)
            init.reset_with(self, rng)
        else:
            table = np.array(plain(_weight))
            if table.shape != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"EmbeddingBag: _weight has shape {table.shape}, expected "
                                 f"{(self.num_embeddings, self.embedding_dim)}")
            self.weight = Parameter(table if dtype is None else table.astype(param_dtype(dtype)))

    def reset_parameters(self) -> None:
        """The table afresh from N(0, 1), the ``padding_idx`` row zero (PyTorch's)."""
        reset_table(self)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                        sparse: bool = False, include_last_offset: bool = False,
                        padding_idx: int | None = None) -> EmbeddingBag:
        """An EmbeddingBag holding a copy of the 2-d ``embeddings``, not trained if ``freeze``."""
        if len(np.shape(embeddings)) != 2:
            raise ValueError(f"from_pretrained: embeddings must be 2-d, got shape {np.shape(embeddings)}")
        rows, cols = np.shape(embeddings)
        bag = cls(rows, cols, max_norm, norm_type, scale_grad_by_freq, mode, sparse, embeddings,
                  include_last_offset, padding_idx)
        bag.weight.requires_grad_(not freeze)
        return bag

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                               self.mode, self.sparse, per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s

"""Attention layers: ``MultiheadAttention``, ``TransformerEncoderLayer``,
``TransformerEncoder`` and ``TransformerDecoderLayer``, with PyTorch's constructor
arguments, defaults, parameter names and shapes (``self_attn.in_proj_weight``,
``linear1.weight``, ``norm2.bias``, ...), so weights move between the two libraries.

Inputs are (sequence, batch, features) unless ``batch_first=True``; inside, the layers
work batch-first, and the transpositions are views.
"""

from __future__ import annotations

import copy
import math

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.dtypes import check_cpu
from chainrule.core.eager import EAGER, is_grad_enabled
from chainrule.core.errors import TensorError
from chainrule.core.tensor import Tensor
from chainrule.nn import _ops, init
from chainrule.nn import functional as F
from chainrule.nn._attention import _float_mask, attention_block, check_query_key_value
from chainrule.nn.activation import GELU, ReLU
from chainrule.nn.containers import ModuleList
from chainrule.nn.dropout import Dropout
from chainrule.nn.layers import LayerNorm, Linear, _empty, param_dtype
from chainrule.nn.module import Module
from chainrule.numpy.torch_runtime import mha_fastpath_enabled

__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer",
           "TransformerDecoder", "Transformer"]


class NonDynamicallyQuantizableLinear(Linear):
    """The Linear layer of PyTorch's MultiheadAttention (``out_proj``), under PyTorch's
    name, so that a printed model reads as PyTorch's."""


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al., 2017) as ``torch.nn.MultiheadAttention``.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True,
    attn_mask=None, average_attn_weights=True, is_causal=False)`` returns the output and
    the attention weights (averaged over the heads unless ``average_attn_weights=False``;
    None when ``need_weights=False``). Bool masks mark with True what may NOT be
    attended; float masks are added to the scores. With ``is_causal=True`` and no
    ``attn_mask``, a causal mask is used; with an ``attn_mask``, no ``key_padding_mask`` and
    ``need_weights=False``, PyTorch's causal mask stands for the one given (as PyTorch's).
    A query whose keys are all masked gets NaN with the weights, or on PyTorch's inference
    fast path (see ``_native_path``; off with ``backends.mha.set_fastpath_enabled(False)``),
    and the output 0 (before ``out_proj``) otherwise.

    >>> import numpy as np
    >>> mha = MultiheadAttention(8, 2, batch_first=True, rng=0)
    >>> x = np.zeros((3, 5, 8), dtype=np.float32)
    >>> out, w = mha(x, x, x)
    >>> out.shape, w.shape
    (torch.Size([3, 5, 8]), torch.Size([3, 5, 5]))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None, rng=None):
        super().__init__()
        check_cpu(device, type(self).__name__)
        if embed_dim < 1 or num_heads < 1 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout probability must be between 0 and 1, got {dropout}")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.kdim = self.embed_dim if kdim is None else int(kdim)
        self.vdim = self.embed_dim if vdim is None else int(vdim)
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        self.rng = rng if rng is None else init.get_generator(rng)
        dtype = param_dtype(dtype)
        gen = init.get_generator(rng)
        e = self.embed_dim
        self._qkv_same_embed_dim = self.kdim == e and self.vdim == e
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _empty((3 * e, e), dtype)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            for name, width in (("q_proj_weight", e), ("k_proj_weight", self.kdim), ("v_proj_weight", self.vdim)):
                setattr(self, name, _empty((e, width), dtype))
        if bias:
            self.in_proj_bias = _empty((3 * e,), dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(e, e, bias=bias, dtype=dtype, rng=gen)
        if add_bias_kv:  # one more key and value, learnt, that every query may attend to
            self.bias_k, self.bias_v = _empty((1, 1, e), dtype), _empty((1, 1, e), dtype)
        else:
            self.register_parameter("bias_k", None)
            self.register_parameter("bias_v", None)
        self.add_zero_attn = bool(add_zero_attn)
        # PyTorch's order: out_proj draws its weight first, then the projections are drawn
        init.reset_with(self, gen, "_reset_parameters")

    def _reset_parameters(self) -> None:
        """The input projections afresh (Xavier-uniform), the biases 0, ``bias_k`` and
        ``bias_v`` Xavier-normal; ``out_proj``'s weight is left as it is (PyTorch's)."""
        gen = init.generator_of(self)
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight, rng=gen)
        else:
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                init.xavier_uniform_(getattr(self, name), rng=gen)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k, rng=gen)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v, rng=gen)

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True, attn_mask=None,
                average_attn_weights: bool = True, is_causal: bool = False):
        native = self._native_path(query, key, value, key_padding_mask, attn_mask)
        return self._attention(query, key, value, key_padding_mask, need_weights, attn_mask, average_attn_weights,
                               is_causal, native)

    def _native_path(self, query, key, value, key_padding_mask, attn_mask) -> bool:
        """Whether PyTorch runs this call on its inference fast path, where a query whose
        keys are all masked gets NaN (not 0) even without the weights: batched, batch-first
        self-attention (one tensor as query, key and value) in evaluation mode, an even
        number of heads, packed projections with biases, no extra keys, no float mask and
        nothing that requires a gradient while gradients are on."""
        if (not mha_fastpath_enabled() or query.ndim != 3 or query is not key or key is not value
                or self.training or self.num_heads % 2 or not self.batch_first or self.bias_k is not None
                or self.add_zero_attn or not self._qkv_same_embed_dim or self.in_proj_bias is None):
            return False
        if any(m is not None and _dtype_kind(m) == "f" for m in (key_padding_mask, attn_mask)):
            return False
        return not _needs_grad(query, self.in_proj_weight, self.in_proj_bias, *self.out_proj.parameters())

    def _attention(self, query, key, value, key_padding_mask, need_weights, attn_mask, average_attn_weights,
                   is_causal, masked_rows_nan: bool):
        unbatched = query.ndim == 2
        if query.ndim not in (2, 3) or query.shape[-1] != self.embed_dim:
            raise ValueError(f"MultiheadAttention: the query must be (L, N, {self.embed_dim}) (or (N, L, ...) "
                             f"with batch_first, or (L, {self.embed_dim})), got {tuple(query.shape)}")
        check_query_key_value(query, key, value, self.kdim, self.vdim, 0 if self.batch_first else 1,
                              "MultiheadAttention")
        same = query is key and key is value
        if unbatched:
            query, key, value = (cnp.reshape(t, (1, *t.shape)) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = cnp.reshape(key_padding_mask, (1, *key_padding_mask.shape))
        elif not self.batch_first:
            query, key, value = (cnp.swapaxes(t, 0, 1) for t in (query, key, value))
        if same:
            key = value = query
        out, weights = attention_block(
            query, key, value, self.num_heads, self.in_proj_weight, self.in_proj_bias, self.bias_k, self.bias_v,
            self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias, self.training,
            key_padding_mask, need_weights, attn_mask, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal, rng=self.rng, same=same,
            masked_rows_nan=masked_rows_nan)
        if unbatched:
            out = cnp.reshape(out, out.shape[1:])
            weights = None if weights is None else cnp.reshape(weights, weights.shape[1:])
        elif not self.batch_first:
            out = cnp.swapaxes(out, 0, 1)
        return out, weights


def _dtype_kind(x) -> str:
    return (x.dtype if isinstance(x, Tensor | np.ndarray | np.generic) else np.asarray(x).dtype).kind


def _needs_grad(*tensors) -> bool:
    """Whether, with gradients on, any of ``tensors`` requires a gradient (PyTorch's fast
    paths are taken only when none does)."""
    return is_grad_enabled() and any(getattr(t, "requires_grad", False) for t in tensors)


def _activation(activation):
    if callable(activation):
        return activation
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise TensorError(f"activation must be 'relu', 'gelu' or a callable, not {activation!r}")


class _Block(Module):
    """What the encoder and decoder layers share: the feed-forward part and its options."""

    def _setup(self, d_model, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first,
               bias, dtype, rng, n_norms):
        dtype = param_dtype(dtype)
        gen = init.get_generator(rng)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype, rng=gen)
        self.dropout = Dropout(dropout, rng=rng)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype, rng=gen)
        self.norm_first, self.batch_first = bool(norm_first), bool(batch_first)
        for i in range(1, n_norms + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        for i in range(1, n_norms + 1):
            setattr(self, f"dropout{i}", Dropout(dropout, rng=rng))
        self.activation = _activation(activation)
        return gen

    def _ff(self, x, dropout):
        return dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    @staticmethod
    def _attend(attn, x, memory, mask, padding, is_causal, dropout):
        out = attn(x, memory, memory, key_padding_mask=padding, need_weights=False, attn_mask=mask,
                   is_causal=is_causal)[0]
        return dropout(out)


class TransformerEncoderLayer(_Block):
    """Self-attention and a feed-forward network, each with a residual connection and
    layer normalisation (after, or before with ``norm_first=True``).

    >>> import numpy as np
    >>> layer = TransformerEncoderLayer(16, 4, dim_feedforward=32, batch_first=True, rng=0)
    >>> layer(np.zeros((2, 7, 16), dtype=np.float32)).shape
    torch.Size([2, 7, 16])
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None, rng=None):
        super().__init__()
        check_cpu(device, type(self).__name__)
        dt = param_dtype(dtype)
        gen = init.get_generator(rng)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dt, rng=gen)
        self._setup(d_model, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first,
                    bias, dt, gen, 2)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        x = src
        if self._native_path(src):  # PyTorch's fused layer: a query with all keys masked gets NaN
            attention = lambda y: self.self_attn._attention(  # noqa: E731
                y, y, y, src_key_padding_mask, False, src_mask, True, is_causal, True)[0]
        else:  # PyTorch turns bool masks into float ones here, so the attention takes no fast path
            dtype = F._dtype(src)
            mask, padding = (_float_mask(m, dtype, False, name) for m, name in
                             ((src_mask, "src_mask"), (src_key_padding_mask, "src_key_padding_mask")))
            attention = lambda y: self.self_attn(  # noqa: E731
                y, y, y, key_padding_mask=padding, need_weights=False, attn_mask=mask, is_causal=is_causal)[0]
        attend = lambda y: self.dropout1(attention(y))  # noqa: E731
        if self.norm_first:
            x = x + attend(self.norm1(x))
            return x + self._ff(self.norm2(x), self.dropout2)
        x = self.norm1(x + attend(x))
        return self.norm2(x + self._ff(x, self.dropout2))

    def _native_path(self, src) -> bool:
        """Whether PyTorch runs this call as one fused layer (its inference fast path)."""
        attn = self.self_attn
        if (not mha_fastpath_enabled() or src.ndim != 3 or self.training or not attn.batch_first
                or attn.in_proj_bias is None or not attn._qkv_same_embed_dim or not _relu_or_gelu(self.activation)
                or self.norm1.eps != self.norm2.eps or attn.num_heads % 2):
            return False
        if any(m._forward_hooks or m._forward_pre_hooks for m in self.modules()):
            return False
        return not _needs_grad(src, *attn.parameters(), *self.norm1.parameters(), *self.norm2.parameters(),
                               *self.linear1.parameters(), *self.linear2.parameters())


class TransformerDecoderLayer(_Block):
    """Self-attention over the target, attention to the encoder's ``memory``, and a
    feed-forward network, each with a residual connection and layer normalisation.

    >>> import numpy as np
    >>> layer = TransformerDecoderLayer(8, 2, dim_feedforward=16, rng=0)
    >>> layer(np.zeros((5, 2, 8), dtype=np.float32), np.zeros((6, 2, 8), dtype=np.float32)).shape
    torch.Size([5, 2, 8])
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None, rng=None):
        super().__init__()
        check_cpu(device, type(self).__name__)
        dt = param_dtype(dtype)
        gen = init.get_generator(rng)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dt, rng=gen)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, dtype=dt, rng=gen)
        self._setup(d_model, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first,
                    bias, dt, gen, 3)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool = False, memory_is_causal: bool = False):
        x = tgt
        sa = lambda y: self._attend(self.self_attn, y, y, tgt_mask, tgt_key_padding_mask,  # noqa: E731
                                    tgt_is_causal, self.dropout1)
        ca = lambda y: self._attend(self.multihead_attn, y, memory, memory_mask,  # noqa: E731
                                    memory_key_padding_mask, memory_is_causal, self.dropout2)
        if self.norm_first:
            x = x + sa(self.norm1(x))
            x = x + ca(self.norm2(x))
            return x + self._ff(self.norm3(x), self.dropout3)
        x = self.norm1(x + sa(x))
        x = self.norm2(x + ca(x))
        return self.norm3(x + self._ff(x, self.dropout3))


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (deep copies: the same initial weights,
    trained separately), then ``norm`` if given.

    With ``enable_nested_tensor`` PyTorch runs inference without the padding: where its
    conditions hold (a post-norm, batch-first :class:`TransformerEncoderLayer` with biases,
    'relu' or 'gelu', equal norm eps and an even number of heads; evaluation mode; a
    ``src_key_padding_mask`` padded at the end of each sequence and no ``mask``; nothing
    that requires a gradient, or gradients off), the output is 0 at the padded positions
    before ``norm``. Here too; with ``mask_check=False`` the mask is not checked and, as
    PyTorch's, each sequence is taken to be its first (number unmasked) positions.

    >>> import numpy as np
    >>> enc = TransformerEncoder(TransformerEncoderLayer(8, 2, 16, rng=0), num_layers=2)
    >>> enc(np.zeros((4, 3, 8), dtype=np.float32)).shape
    torch.Size([4, 3, 8])
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(int(num_layers))])
        self.num_layers = int(num_layers)
        self.norm = norm
        self.enable_nested_tensor, self.mask_check = bool(enable_nested_tensor), bool(mask_check)
        self.use_nested_tensor = self.enable_nested_tensor and _nested_layer(encoder_layer)

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal: bool | None = None):
        x, padding = src, src_key_padding_mask
        nested = self._runs_nested(src, mask, padding)
        if nested:  # a nested tensor holds each sequence's first (number kept) positions
            kept = (np.asarray(_ops.plain(padding)) == 0).sum(axis=-1)
            padding = np.arange(src.shape[1]) >= kept[:, None]
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=padding, is_causal=bool(is_causal))
        if nested:
            x = cnp.where(padding[..., None], np.zeros((), F._dtype(x)), x)
        return x if self.norm is None else self.norm(x)

    def _runs_nested(self, src, mask, padding) -> bool:
        """Whether PyTorch would run this call on nested tensors (see the class's docstring)."""
        if not mha_fastpath_enabled() or not self.use_nested_tensor or self.layers[0].training or src.ndim != 3 \
                or padding is None or mask is not None:
            return False
        first = self.layers[0]
        tensors = (src, *first.self_attn.parameters(), *first.norm1.parameters(), *first.norm2.parameters(),
                   *first.linear1.parameters(), *first.linear2.parameters())
        if is_grad_enabled() and any(getattr(t, "requires_grad", False) for t in tensors):
            return False
        if not self.mask_check:  # unchecked, as PyTorch: the mask is taken to be end-padded
            return True
        kept = np.asarray(_ops.plain(padding)) == 0  # end-padded: each sequence's kept positions first
        return bool(np.all(kept[..., 1:] <= kept[..., :-1]))


def _relu_or_gelu(activation) -> bool:
    return activation in (F.relu, F.gelu) or isinstance(activation, ReLU | GELU)


def _nested_layer(layer) -> bool:
    """PyTorch's construction-time conditions for running an encoder on nested tensors."""
    if not isinstance(layer, TransformerEncoderLayer) or layer.norm_first or not layer.batch_first:
        return False
    attn = layer.self_attn
    return (attn._qkv_same_embed_dim and attn.in_proj_bias is not None and _relu_or_gelu(layer.activation)
            and layer.norm1.eps == layer.norm2.eps and attn.num_heads % 2 == 0)


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` (deep copies), each attending to the
    same ``memory``, then ``norm`` if given.

    >>> import numpy as np
    >>> dec = TransformerDecoder(TransformerDecoderLayer(8, 2, 16, rng=0), num_layers=2)
    >>> dec(np.zeros((4, 3, 8), dtype=np.float32), np.zeros((5, 3, 8), dtype=np.float32)).shape
    torch.Size([4, 3, 8])
    """

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(int(num_layers))])
        self.num_layers = int(num_layers)
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool | None = None, memory_is_causal: bool = False):
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return x if self.norm is None else self.norm(x)


class Transformer(Module):
    """The encoder–decoder Transformer (Vaswani et al., 2017) as ``torch.nn.Transformer``:
    a :class:`TransformerEncoder` and a :class:`TransformerDecoder`, each ending in a
    LayerNorm (or ``custom_encoder``/``custom_decoder``); every weight matrix starts
    Xavier-uniform, as in PyTorch. ``forward(src, tgt, ...)`` returns (T, N, d_model)
    ((N, T, d_model) with ``batch_first``).

    >>> import numpy as np
    >>> model = Transformer(8, 2, 1, 1, 16, dropout=0.0, rng=0)
    >>> model(np.zeros((5, 2, 8), dtype=np.float32), np.zeros((4, 2, 8), dtype=np.float32)).shape
    torch.Size([4, 2, 8])
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False,
                 bias: bool = True, device=None, dtype=None, rng=None):
        super().__init__()
        check_cpu(device, type(self).__name__)
        dt = param_dtype(dtype)
        gen = init.get_generator(rng)
        common = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                      layer_norm_eps=layer_norm_eps, batch_first=batch_first, norm_first=norm_first, bias=bias,
                      dtype=dt, rng=gen)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(d_model, nhead, **common), num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(d_model, nhead, **common), num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt))
        self.d_model, self.nhead, self.batch_first = int(d_model), int(nhead), bool(batch_first)
        init.reset_with(self, gen, "_reset_parameters")

    def _reset_parameters(self) -> None:
        """Every weight matrix afresh, Xavier-uniform (PyTorch's)."""
        gen = init.generator_of(self)
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p, rng=gen)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
                tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal: bool | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False):
        batch_axis = 0 if self.batch_first else 1
        if src.ndim == 3 and tgt.ndim == 3 and src.shape[batch_axis] != tgt.shape[batch_axis]:
            raise ValueError(f"Transformer: src {tuple(src.shape)} and tgt {tuple(tgt.shape)} must have the same "
                             f"batch size (axis {batch_axis}{'' if self.batch_first else ': batch_first=False'})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(f"Transformer: src and tgt must have d_model={self.d_model} features, got "
                             f"{tuple(src.shape)} and {tuple(tgt.shape)}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """The causal float mask (0 on and below the diagonal, −inf above), as PyTorch's: a
        Tensor (``.to(device)``, ``.bool()`` as there) of ``chainrule.get_default_dtype()``
        unless ``dtype`` is given (``device``: CPU only).

        >>> Transformer.generate_square_subsequent_mask(2).tolist()
        [[0.0, -inf], [0.0, 0.0]]
        """
        if device is not None and str(device).split(":")[0] not in ("cpu", "meta"):
            raise RuntimeError(f"generate_square_subsequent_mask(device={str(device)!r}): chainrule computes on "
                               "the CPU only; use 'cpu'")
        return Tensor(causal_mask(sz, dtype), EAGER)


def causal_mask(size: int, dtype=None) -> np.ndarray:
    """The float mask (0 on and below the diagonal, −inf above) that PyTorch's
    ``Transformer.generate_square_subsequent_mask`` makes, of ``chainrule.get_default_dtype()``
    unless ``dtype`` is given.

    >>> causal_mask(3).tolist()
    [[0.0, -inf, -inf], [0.0, 0.0, -inf], [0.0, 0.0, 0.0]]
    """
    if size < 0:
        raise ValueError(f"the causal mask's size must be at least 0, got {size}")
    return np.where(np.tri(size, dtype=bool), 0.0, -math.inf).astype(param_dtype(dtype))

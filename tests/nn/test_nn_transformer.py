"""MultiheadAttention, scaled_dot_product_attention and the Transformer layers against
PyTorch on the same weights: outputs, attention weights, input gradients and every
parameter gradient, for the listed argument combinations (float64 to 1e-10)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

torch = pytest.importorskip("torch")
from torch_parity import compare, copy_weights  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore:Support for mismatched:UserWarning")]
rng = np.random.default_rng(11)
L, S, N, E, H = 4, 5, 3, 8, 2


def pair(ours_cls, theirs_cls, *args, dtype=np.float64, **kw):
    ours, theirs = ours_cls(*args, **kw).to(dtype), theirs_cls(*args, **kw)
    theirs = theirs.double() if dtype == np.float64 else theirs.float()
    if dtype == np.float64:  # random biases too (PyTorch starts them at zero)
        for p in ours.parameters():
            p._value[...] = rng.standard_normal(p.shape) * 0.5
    copy_weights(ours, theirs)
    ours.train(), theirs.train()
    return ours, theirs


PADDING = np.array([[False] * S, [False, False, True, True, True], [True, False, False, False, False]])
BOOL_MASK = rng.uniform(size=(L, S)) < 0.3
BOOL_MASK[:, 0] = False  # every query keeps a key
FLOAT_MASK = rng.standard_normal((L, S))


class Wrap(nn.Module):
    """Call a module as f(query, key, value, **kw), with the masks fixed."""

    def __init__(self, inner, **kw):
        super().__init__()
        self.inner, self.kw = inner, kw

    def forward(self, *args):
        return self.inner(*args, **self.kw)


class TWrap(torch.nn.Module):
    def __init__(self, inner, **kw):
        super().__init__()
        self.inner, self.kw = inner, kw

    def forward(self, *args):
        return self.inner(*args, **self.kw)


def _t(v):
    return torch.tensor(v) if isinstance(v, np.ndarray) else v


MHA_CASES = {
    "seq_first": ({}, {}, (L, N), (S, N)),
    "batch_first_padding": ({"batch_first": True}, {"key_padding_mask": PADDING}, (N, L), (N, S)),
    "bool_attn_mask_per_head_weights": ({}, {"attn_mask": BOOL_MASK, "average_attn_weights": False}, (L, N), (S, N)),
    "float_attn_mask_and_float_padding": (
        {"batch_first": True}, {"attn_mask": FLOAT_MASK, "key_padding_mask": np.where(PADDING, -2.5, 0.0)},
        (N, L), (N, S)),
    "mask_per_batch_and_head": ({"batch_first": True}, {"attn_mask": rng.standard_normal((N * H, L, S))},
                                (N, L), (N, S)),
    "kdim_vdim": ({"kdim": 5, "vdim": 3}, {}, (L, N), (S, N)),
    "no_weights_no_bias": ({"bias": False}, {"need_weights": False}, (L, N), (S, N)),
    "unbatched": ({}, {"key_padding_mask": PADDING[1]}, (L,), (S,)),
}


@pytest.mark.parametrize("name", sorted(MHA_CASES))
def test_multihead_attention_matches_torch(name):
    ctor, call, qshape, kshape = MHA_CASES[name]
    ours, theirs = pair(nn.MultiheadAttention, torch.nn.MultiheadAttention, E, H, **ctor)
    kdim, vdim = ctor.get("kdim", E), ctor.get("vdim", E)
    q = rng.standard_normal((*qshape, E))
    k, v = rng.standard_normal((*kshape, kdim)), rng.standard_normal((*kshape, vdim))
    compare(Wrap(ours, **call), TWrap(theirs, **{a: _t(b) for a, b in call.items()}), [q, k, v])


def test_self_attention_weights_and_causal_flag_match_torch():
    ours, theirs = pair(nn.MultiheadAttention, torch.nn.MultiheadAttention, E, H, batch_first=True)
    x = rng.standard_normal((N, L, E))
    causal = torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64)

    class Self(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x, x, x, is_causal=True)

    class TSelf(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x, x, x, attn_mask=causal, is_causal=True)

    (_, w), (_, tw) = compare(Self(ours), TSelf(theirs), [x])
    assert np.all(w.detach().numpy()[:, 0, 1:] == 0)  # the first position sees only itself


SDPA_CASES = {
    "plain": {},
    "causal": {"is_causal": True},
    "bool_mask": {"attn_mask": BOOL_MASK | np.eye(L, S, dtype=bool)},
    "float_mask_scale": {"attn_mask": FLOAT_MASK, "scale": 0.7},
}


@pytest.mark.parametrize("name", sorted(SDPA_CASES))
def test_scaled_dot_product_attention_matches_torch(name):
    kw = SDPA_CASES[name]
    if name == "bool_mask":
        kw = {"attn_mask": ~BOOL_MASK}  # here True means "may attend"
    q, k, v = rng.standard_normal((N, H, L, 6)), rng.standard_normal((N, H, S, 6)), rng.standard_normal((N, H, S, 3))
    qa, ka, va = (cr.tensor(a, requires_grad=True) for a in (q, k, v))
    qt, kt, vt = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    ours = F.scaled_dot_product_attention(qa, ka, va, **kw)
    theirs = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, **{a: _t(b) for a, b in kw.items()})
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(ours.shape)
    (ours * g).sum().backward()
    (theirs * torch.tensor(g)).sum().backward()
    for a, b in ((qa, qt), (ka, kt), (va, vt)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kv_heads", [1, 2, 4])
@pytest.mark.parametrize("is_causal", [False, True])
def test_grouped_query_attention_matches_torch(kv_heads, is_causal):
    # enable_gqa: 4 query heads share kv_heads key/value heads (PyTorch's repeat_interleave)
    q, k, v = rng.standard_normal((N, 4, L, 6)), rng.standard_normal((N, kv_heads, S, 6)), \
        rng.standard_normal((N, kv_heads, S, 3))
    qa, ka, va = (cr.tensor(a, requires_grad=True) for a in (q, k, v))
    qt, kt, vt = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    ours = F.scaled_dot_product_attention(qa, ka, va, is_causal=is_causal, enable_gqa=True)
    theirs = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, is_causal=is_causal, enable_gqa=True)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(ours.shape)
    (ours * g).sum().backward()
    (theirs * torch.tensor(g)).sum().backward()
    for a, b in ((qa, qt), (ka, kt), (va, vt)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


LAYER_OPTIONS = {
    "post_norm_relu": {},
    "pre_norm_gelu_batch_first": {"norm_first": True, "activation": "gelu", "batch_first": True},
    "no_bias_eps": {"bias": False, "layer_norm_eps": 1e-3},
}


@pytest.mark.parametrize("masks", [False, True])
@pytest.mark.parametrize("options", sorted(LAYER_OPTIONS))
def test_encoder_layer_and_encoder_match_torch(options, masks):
    kw = {"dim_feedforward": 12, "dropout": 0.0, **LAYER_OPTIONS[options]}
    batch_first = kw.get("batch_first", False)
    shape = (N, L, E) if batch_first else (L, N, E)
    call = {}
    if masks:
        call = {"src_mask": FLOAT_MASK[:, :L], "src_key_padding_mask": PADDING[:, :L] & ~np.eye(N, L, dtype=bool)}
    ours, theirs = pair(nn.TransformerEncoderLayer, torch.nn.TransformerEncoderLayer, E, H, **kw)
    compare(Wrap(ours, **call), TWrap(theirs, **{a: _t(b) for a, b in call.items()}), [rng.standard_normal(shape)])
    enc_call = {("mask" if k == "src_mask" else k): v for k, v in call.items()}
    ours_enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, **kw), 2, norm=nn.LayerNorm(E))
    theirs_enc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(E, H, **kw), 2,
                                             norm=torch.nn.LayerNorm(E), enable_nested_tensor=False)
    ours_enc.double(), theirs_enc.double()
    for p in ours_enc.parameters():
        p._value[...] = rng.standard_normal(p.shape) * 0.5
    copy_weights(ours_enc, theirs_enc)
    compare(Wrap(ours_enc, **enc_call), TWrap(theirs_enc, **{a: _t(b) for a, b in enc_call.items()}),
            [rng.standard_normal(shape)])


@pytest.mark.parametrize("masks", [False, True])
@pytest.mark.parametrize("options", sorted(LAYER_OPTIONS))
def test_decoder_layer_matches_torch(options, masks):
    kw = {"dim_feedforward": 12, "dropout": 0.0, **LAYER_OPTIONS[options]}
    batch_first = kw.get("batch_first", False)
    tshape, mshape = ((N, L, E), (N, S, E)) if batch_first else ((L, N, E), (S, N, E))
    call = {}
    if masks:
        call = {"tgt_mask": FLOAT_MASK[:, :L], "memory_key_padding_mask": PADDING, "tgt_is_causal": False,
                "memory_mask": np.where(BOOL_MASK, -np.inf, 0.0)}
    ours, theirs = pair(nn.TransformerDecoderLayer, torch.nn.TransformerDecoderLayer, E, H, **kw)
    compare(Wrap(ours, **call), TWrap(theirs, **{a: _t(b) for a, b in call.items()}),
            [rng.standard_normal(tshape), rng.standard_normal(mshape)])


def test_state_dict_keys_and_shapes_match_torch_for_default_construction():
    for ours, theirs in [
        (nn.TransformerEncoderLayer(16, 4), torch.nn.TransformerEncoderLayer(16, 4)),
        (nn.TransformerDecoderLayer(16, 4, norm_first=True), torch.nn.TransformerDecoderLayer(16, 4, norm_first=True)),
        (nn.MultiheadAttention(16, 4, kdim=3, vdim=5), torch.nn.MultiheadAttention(16, 4, kdim=3, vdim=5)),
    ]:
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
            [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]


def test_dropout_is_active_in_training_and_off_in_eval():
    layer = nn.TransformerEncoderLayer(E, H, dim_feedforward=16, dropout=0.5, rng=0)
    x = rng.standard_normal((L, N, E)).astype(np.float32)
    a, b = layer(x).detach().numpy(), layer(x).detach().numpy()
    assert not np.allclose(a, b)
    layer.eval()
    assert np.array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())


@pytest.mark.parametrize("bad, match", [
    (lambda: nn.MultiheadAttention(10, 3), "divisible"),
    (lambda: nn.MultiheadAttention(8, 2)(np.zeros((4, 2, 8)), np.zeros((5, 2, 8)), np.zeros((5, 2, 8)),
                                         attn_mask=np.zeros((4, 4))), "attn_mask should have shape"),
    (lambda: nn.MultiheadAttention(8, 2)(np.zeros((4, 2, 8)), np.zeros((5, 2, 3)), np.zeros((5, 2, 8))), "kdim"),
    (lambda: F.scaled_dot_product_attention(np.zeros((2, 3)), np.zeros((2, 4)), np.zeros((2, 4))), "do not fit"),
    (lambda: F.scaled_dot_product_attention(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 3)),
                                            attn_mask=np.ones((2, 2), bool), is_causal=True), "not both"),
    (lambda: F.scaled_dot_product_attention(np.zeros((1, 4, 2, 3)), np.zeros((1, 3, 2, 3)), np.zeros((1, 3, 2, 3)),
                                            enable_gqa=True), "multiple"),
    (lambda: nn.TransformerEncoderLayer(8, 2, activation="tanh"), "activation"),
])
def test_bad_arguments_say_what_is_wrong(bad, match):
    with pytest.raises((ValueError, NotImplementedError), match=match):
        bad()


def test_attention_gradients_match_finite_differences():
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 2))
    assert cr.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=FLOAT_MASK[:3]),
                        q, k, v, order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("stack, layer", [(nn.TransformerEncoder, nn.TransformerEncoderLayer),
                                          (nn.TransformerDecoder, nn.TransformerDecoderLayer)])
def test_stacked_layers_draw_their_own_dropout_masks_as_pytorch_s(stack, layer):
    # PyTorch's clones of a layer draw their masks one after another from one generator, so two
    # layers never share a mask; the clones of a layer made with rng= share its generator too
    def masks(module, x=None):
        module.train()
        x = np.ones((64, 8)) if x is None else x
        return [np.asarray(m(x)) != 0 for m in module.modules() if type(m).__name__ == "Dropout"]

    torch.manual_seed(0)
    theirs = masks(getattr(torch.nn, stack.__name__)(getattr(torch.nn, layer.__name__)(8, 2, 16, 0.5), 3),
                   torch.ones(64, 8))
    ours = masks(stack(layer(8, 2, 16, 0.5, rng=0), 3))
    assert len(ours) == len(theirs)
    for found in (theirs, ours):
        assert len({m.tobytes() for m in found}) == len(found)  # every mask its own
    # and the stream is the layer's: the same seed gives the same masks again
    assert all(np.array_equal(a, b) for a, b in zip(ours, masks(stack(layer(8, 2, 16, 0.5, rng=0), 3)), strict=True))

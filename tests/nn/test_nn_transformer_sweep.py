"""TransformerEncoderLayer/Encoder, TransformerDecoderLayer/Decoder and Transformer
against PyTorch over the product of their options (norm_first, activation as a name or a
callable, masks, key padding, is_causal, a final norm, batch_first), with the weights
loaded from torch's state dict by name. Float64, to 1e-10: the output, the input
gradients and every parameter gradient."""

import itertools

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

torch = pytest.importorskip("torch")
from torch_parity import Call, compare, load_from_torch  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore:Support for mismatched:UserWarning"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor:UserWarning"),
              pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors:UserWarning")]
T_, S_, N, E, H, FF = 4, 3, 2, 4, 2, 6
_rng = np.random.default_rng(29)
ACTIVATIONS = {"relu": ("relu", "relu"), "gelu": ("gelu", "gelu"),
               "callable": (lambda x: F.gelu(x, approximate="tanh"),
                            lambda x: torch.nn.functional.gelu(x, approximate="tanh"))}
_blocked = _rng.uniform(size=(T_, T_)) < 0.4
_blocked[:, 0] = False  # key 0 is never padded either: no query is left without a key
MASKS = {"none": None, "bool": _blocked, "float": _rng.standard_normal((T_, T_)),
         "causal": np.triu(np.ones((T_, T_), dtype=bool), 1)}
PADDING = np.array([[False, False, True, True], [False, True, False, False]])


def _randomise(theirs):
    with torch.no_grad():  # random biases and norms too, so that their gradients count
        for p in theirs.parameters():
            p.copy_(torch.randn_like(p) * 0.5)


def _torch(v):  # an array or a chainrule Tensor (the mask generate_square_subsequent_mask makes) as torch's
    return torch.tensor(np.asarray(v)) if hasattr(v, "__array__") and not isinstance(v, torch.Tensor) else v


def _layers(kind, activation, **options):
    ours_act, their_act = ACTIVATIONS[activation]
    ours = getattr(nn, kind)(E, H, FF, dropout=0.0, activation=ours_act, dtype=np.float64, **options)
    theirs = getattr(torch.nn, kind)(E, H, FF, dropout=0.0, activation=their_act, **options).double()
    return ours, theirs


def _seq(batch_first, length):
    return _rng.standard_normal((N, length, E) if batch_first else (length, N, E))


@pytest.mark.parametrize("norm_first, activation, mask, padded, batch_first, stacked",
                         list(itertools.product((False, True), sorted(ACTIVATIONS), sorted(MASKS), (False, True),
                                                (False, True), (False, True))))
def test_encoder_layer_and_encoder_match_torch(norm_first, activation, mask, padded, batch_first, stacked):
    ours, theirs = _layers("TransformerEncoderLayer", activation, norm_first=norm_first, batch_first=batch_first)
    if stacked:  # two layers and a final norm
        ours = nn.TransformerEncoder(ours, 2, nn.LayerNorm(E, dtype=np.float64))
        theirs = torch.nn.TransformerEncoder(theirs, 2, torch.nn.LayerNorm(E).double(), enable_nested_tensor=False)
    _randomise(theirs)
    load_from_torch(ours, theirs)
    kw = {"mask" if stacked else "src_mask": MASKS[mask], "src_key_padding_mask": PADDING if padded else None,
          "is_causal": mask == "causal"}

    def build(m, x):
        t = isinstance(m, torch.nn.Module)
        return m(x, **{k: _torch(v) if t else v for k, v in kw.items()})

    compare(Call.wrap(nn.Module, ours, build), Call.wrap(torch.nn.Module, theirs, build),
            [_seq(batch_first, T_)], np.float64)


DECODER_MASKS = {"none": {}, "causal_and_padding": {"tgt_mask": MASKS["causal"], "tgt_is_causal": True,
                                                    "tgt_key_padding_mask": PADDING,
                                                    "memory_key_padding_mask": PADDING[:, :S_]},
                 "float_masks": {"tgt_mask": MASKS["float"], "memory_mask": _rng.standard_normal((T_, S_))}}


@pytest.mark.parametrize("norm_first, activation, masks, batch_first, stacked",
                         list(itertools.product((False, True), sorted(ACTIVATIONS), sorted(DECODER_MASKS),
                                                (False, True), (False, True))))
def test_decoder_layer_and_decoder_match_torch(norm_first, activation, masks, batch_first, stacked):
    ours, theirs = _layers("TransformerDecoderLayer", activation, norm_first=norm_first, batch_first=batch_first)
    if stacked:
        ours = nn.TransformerDecoder(ours, 2, nn.LayerNorm(E, dtype=np.float64))
        theirs = torch.nn.TransformerDecoder(theirs, 2, torch.nn.LayerNorm(E).double())
    _randomise(theirs)
    load_from_torch(ours, theirs)
    kw = DECODER_MASKS[masks]

    def build(m, tgt, memory):
        t = isinstance(m, torch.nn.Module)
        return m(tgt, memory, **{k: _torch(v) if t else v for k, v in kw.items()})

    compare(Call.wrap(nn.Module, ours, build), Call.wrap(torch.nn.Module, theirs, build),
            [_seq(batch_first, T_), _seq(batch_first, S_)], np.float64)


@pytest.mark.parametrize("batch_first, norm_first", list(itertools.product((False, True), repeat=2)))
def test_transformer_matches_torch(batch_first, norm_first):
    kw = dict(d_model=E, nhead=H, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=FF, dropout=0.0,
              batch_first=batch_first, norm_first=norm_first)
    ours, theirs = nn.Transformer(**kw, dtype=np.float64, rng=0), torch.nn.Transformer(**kw).double()
    _randomise(theirs)
    load_from_torch(ours, theirs)
    causal = nn.Transformer.generate_square_subsequent_mask(T_)
    np.testing.assert_array_equal(causal, torch.nn.Transformer.generate_square_subsequent_mask(T_).numpy())
    masks = {"tgt_mask": causal, "src_key_padding_mask": PADDING[:, :S_], "memory_key_padding_mask": PADDING[:, :S_]}

    def build(m, src, tgt):
        t = isinstance(m, torch.nn.Module)
        return m(src, tgt, **{k: _torch(v) if t else v for k, v in masks.items()})

    compare(Call.wrap(nn.Module, ours, build), Call.wrap(torch.nn.Module, theirs, build),
            [_seq(batch_first, S_), _seq(batch_first, T_)], np.float64)


def test_transformer_initialisation_and_errors():
    ours, theirs = nn.Transformer(8, 2, 1, 1, 16, rng=0), torch.nn.Transformer(8, 2, 1, 1, 16)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    w = ours.encoder.layers[0].linear1.weight.detach().numpy()  # Xavier: U(±√(6/(8+16)))
    assert np.abs(w).max() <= np.sqrt(6 / 24) and np.abs(w).max() > 0.8 * np.sqrt(6 / 24)
    with pytest.raises(ValueError, match="same batch size"):
        ours(np.zeros((3, 2, 8)), np.zeros((3, 4, 8)))
    with pytest.raises(ValueError, match="d_model=8"):
        ours(np.zeros((3, 2, 8)), np.zeros((3, 2, 6)))


def test_square_subsequent_mask_takes_torchs_arguments_and_default_dtype():
    ours, theirs = nn.Transformer.generate_square_subsequent_mask(3, device="cpu"), \
        torch.nn.Transformer.generate_square_subsequent_mask(3, device="cpu")
    assert ours.dtype == np.float32 and str(theirs.dtype) == "torch.float32"  # the default dtype, as torch's
    np.testing.assert_array_equal(ours, theirs.numpy())
    assert nn.Transformer.generate_square_subsequent_mask(2, dtype=np.float64).dtype == np.float64
    with pytest.raises(RuntimeError, match="CPU only"):
        nn.Transformer.generate_square_subsequent_mask(2, device="cuda")


@pytest.mark.parametrize("need_weights", [False, True])
def test_float32_attention_stays_float32_under_a_float64_mask(need_weights):
    # a float64 mask (NumPy's default) on a float32 model: cast to the queries' dtype, not promoted
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF, dropout=0.0), 2, enable_nested_tensor=False)
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(E, H, FF, dropout=0.0), 2,
                                         enable_nested_tensor=False)
    load_from_torch(ours, theirs)
    x, mask = _seq(False, T_).astype(np.float32), MASKS["float"]
    out = ours(x, mask=mask)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.detach().numpy(), theirs(torch.tensor(x), mask=torch.tensor(mask).float())
                               .detach().numpy(), rtol=2e-4, atol=2e-5)
    mha = ours.layers[0].self_attn
    assert all(a.dtype == np.float32 for a in mha(x, x, x, attn_mask=mask, key_padding_mask=np.where(
        PADDING, -1.0, 0.0), need_weights=need_weights) if a is not None)
    q = x.transpose(1, 0, 2)[:, None]
    assert F.scaled_dot_product_attention(q, q, q, attn_mask=mask).dtype == np.float32


_RIGHT = np.array([[False, False, True, True], [False, False, False, False]])
NESTED = {"eval_no_grad": {}, "training": {"train": True}, "grad_on": {"grad": True},
          "seq_first": {"batch_first": False}, "norm_first": {"norm_first": True},
          "with_mask": {"mask": MASKS["causal"]}, "left_padded": {"padding": PADDING},
          "odd_heads": {"heads": 1}, "disabled": {"enable_nested_tensor": False},
          "gelu_frozen": {"activation": "gelu", "grad": True, "frozen": True}}


@pytest.mark.parametrize("case", sorted(NESTED))
def test_encoder_inference_on_nested_tensors_zeroes_padding_as_torch(case):
    # PyTorch's TransformerEncoder drops the padding in inference (its nested-tensor fast
    # path): the output is then 0 at padded positions, before the final norm
    o = dict(NESTED[case])
    batch_first = o.get("batch_first", True)
    kw = dict(dim_feedforward=FF, dropout=0.0, batch_first=batch_first, norm_first=o.get("norm_first", False),
              activation=o.get("activation", "relu"))
    heads = o.get("heads", H)
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, heads, **kw, dtype=np.float64), 2,
                                 nn.LayerNorm(E, dtype=np.float64),
                                 enable_nested_tensor=o.get("enable_nested_tensor", True))
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(E, heads, **kw).double(), 2,
                                         torch.nn.LayerNorm(E).double(),
                                         enable_nested_tensor=o.get("enable_nested_tensor", True))
    _randomise(theirs)
    load_from_torch(ours, theirs)
    if o.get("frozen"):
        for m in (ours, theirs):
            for p in m.parameters():
                p.requires_grad_(False)
    ours.train(o.get("train", False)), theirs.train(o.get("train", False))
    x, padding = _seq(batch_first, T_), o.get("padding", _RIGHT)
    mask = o.get("mask")
    with torch.set_grad_enabled(o.get("grad", False)):
        want = theirs(torch.tensor(x), mask=_torch(mask), src_key_padding_mask=torch.tensor(padding))
    with cr.set_grad_enabled(o.get("grad", False)):
        got = ours(x, mask=mask, src_key_padding_mask=padding)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    nested = case in ("eval_no_grad", "gelu_frozen")
    rows = got.detach().numpy()[0, 2:] if batch_first else got.detach().numpy()[2:, 0]
    assert np.allclose(rows, ours.norm.bias.detach().numpy()) == nested  # LayerNorm(0) = its bias


def test_square_subsequent_mask_is_a_tensor_as_torchs():
    # the tutorials move it with .to(device) and cast it with .type(torch.bool)
    for lib in (torch, cr):
        mask = lib.nn.Transformer.generate_square_subsequent_mask(3).to("cpu")
        assert isinstance(mask, lib.Tensor) and mask.type(lib.bool).tolist() == \
            [[False, True, True], [False, False, True], [False, False, False]]


def test_torch_nn_modules_paths_of_the_sequence_layers():
    # custom layers written after PyTorch's import its helpers from torch.nn.modules.transformer
    ours, theirs = cr.nn.modules, torch.nn.modules
    for name in ("activation", "rnn", "transformer"):
        assert set(getattr(theirs, name).__all__) <= set(getattr(ours, name).__all__)
        assert all(getattr(getattr(ours, name), n) is getattr(nn, n) for n in getattr(theirs, name).__all__)
    for lib, mods in ((torch, theirs), (cr, ours)):
        layers = mods.transformer._get_clones(lib.nn.Linear(2, 2), 3)
        assert isinstance(layers, lib.nn.ModuleList) and len(layers) == 3 and layers[0] is not layers[1]
        assert mods.transformer._get_activation_fn("gelu") is lib.nn.functional.gelu
        with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
            mods.transformer._get_activation_fn("tanh")
        np.testing.assert_array_equal(mods.transformer._generate_square_subsequent_mask(3),
                                      np.triu(np.full((3, 3), -np.inf), 1))

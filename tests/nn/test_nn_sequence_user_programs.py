"""Sequence layers as PyTorch users call them, against PyTorch on the same float64 weights:
here the inference fast path of ``MultiheadAttention`` and ``TransformerEncoderLayer``
(evaluation mode, nothing that requires a gradient), where a query whose keys are all
masked gets NaN, while the same call with gradients gets 0 (without the weights)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch
E, HEADS = 8, 2


def _torch_then_ours(make):
    """``(lib, make(lib))`` for PyTorch, then for chainrule with PyTorch's weights loaded."""
    weights = None
    for lib in (torch, cr):
        lib.manual_seed(0)
        module = make(lib)
        if weights is None:
            weights = {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}
        else:
            module.load_state_dict(weights)
        yield lib, module


def _build(lib, kind, batch_first):
    lib.manual_seed(0)
    if kind == "mha":
        return lib.nn.MultiheadAttention(E, HEADS, batch_first=batch_first, dtype=lib.float64)
    act = (lambda x: lib.tanh(x)) if kind == "layer_callable" else "gelu"  # noqa: PLW0108
    layer = lib.nn.TransformerEncoderLayer(E, HEADS, 12, 0.1, activation=act, batch_first=batch_first,
                                           norm_first=kind == "layer_norm_first", dtype=lib.float64)
    if kind == "layer_hooked":
        layer.linear1.register_forward_hook(lambda m, i, o: None)
    return layer


def _masks(lib, case):
    padding = np.zeros((2, 4), bool)
    padding[0] = True  # every key of the first sequence
    padding[1, 3] = True
    rows = np.zeros((4, 4), bool)
    rows[2] = True  # every key of the third query
    if case == "padding":
        return dict(key_padding_mask=lib.tensor(padding))
    if case == "padding_float":
        return dict(key_padding_mask=lib.tensor(np.where(padding, -np.inf, 0.0)))
    return dict(attn_mask=lib.tensor(rows))


@pytest.mark.parametrize("grad", [False, True], ids=["no_grad", "grad"])
@pytest.mark.parametrize("case", ["padding", "padding_float", "attn_mask"])
@pytest.mark.parametrize("batch_first", [True, False], ids=["batch_first", "seq_first"])
@pytest.mark.parametrize("kind", ["mha", "layer", "layer_norm_first", "layer_callable", "layer_hooked"])
def test_fully_masked_query_in_inference_as_pytorch(kind, batch_first, case, grad):
    x = np.random.default_rng(1).standard_normal((2, 4, E) if batch_first else (4, 2, E))
    outs = []
    for lib, module in _torch_then_ours(lambda lib: _build(lib, kind, batch_first)):
        module.eval()
        masks = _masks(lib, case)
        if kind != "mha":
            masks = {"src_" + k if k == "key_padding_mask" else "src_mask": v for k, v in masks.items()}
        with lib.set_grad_enabled(grad):
            xt = lib.tensor(x)
            out = module(xt, xt, xt, need_weights=False, **masks)[0] if kind == "mha" else module(xt, **masks)
        outs.append(out.detach().numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-10, atol=1e-12)  # NaN where PyTorch's is


def test_encoder_layer_without_mask_agrees_on_both_paths():
    layer = nn.TransformerEncoderLayer(E, HEADS, 12, batch_first=True, dtype=np.float64, rng=0).eval()
    x = cr.tensor(np.random.default_rng(2).standard_normal((2, 3, E)))
    with cr.no_grad():
        fast = layer(x).numpy()
    np.testing.assert_allclose(fast, layer(x).detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mask_check", [True, False])
@pytest.mark.parametrize("padding_case", ["end_padded", "not_end_padded", "not_end_padded_float"])
def test_encoder_nested_inference_with_and_without_mask_check_as_pytorch(padding_case, mask_check):
    padding = np.zeros((3, 5), bool)
    padding[0] = True  # a sequence with nothing kept
    padding[1, 3:] = True
    if padding_case != "end_padded":
        padding[2, 1] = True  # PyTorch checks this only with mask_check
    x = np.random.default_rng(3).standard_normal((3, 5, E))
    def make(lib):
        layer = lib.nn.TransformerEncoderLayer(E, HEADS, 12, 0.1, batch_first=True, dtype=lib.float64)
        return lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(E, dtype=lib.float64), mask_check=mask_check)

    outs = []
    for lib, enc in _torch_then_ours(make):
        enc.eval()
        mask = lib.tensor(np.where(padding, -np.inf, 0.0) if padding_case.endswith("float") else padding)
        with lib.no_grad():
            outs.append(enc(lib.tensor(x), src_key_padding_mask=mask).numpy())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("kind", "need_weights"), [("mha", True), ("mha", False), ("transformer", False)])
def test_attention_to_no_keys_as_pytorch(kind, need_weights):
    """A source of length 0 (no key to attend to): PyTorch's attention gives 0 before the
    output projection, weights of shape (N, L, 0), and gradients."""
    rng = np.random.default_rng(4)
    src, tgt = rng.standard_normal((0, 2, E)), rng.standard_normal((3, 2, E))
    def make(lib):
        if kind == "mha":
            return lib.nn.MultiheadAttention(E, HEADS, dtype=lib.float64)
        return lib.nn.Transformer(E, HEADS, 1, 1, 12, 0.0, dtype=lib.float64)

    results = []
    for lib, module in _torch_then_ours(make):
        with lib.no_grad():  # a bias, so that the output is not 0
            module.get_submodule("out_proj" if kind == "mha" else "decoder.layers.0.multihead_attn.out_proj") \
                .bias.copy_(lib.tensor(np.arange(E, dtype=np.float64)))
        s, t = lib.tensor(src, requires_grad=True), lib.tensor(tgt, requires_grad=True)
        if kind == "mha":
            out, w = module(t, s, s, need_weights=need_weights)
        else:
            out, w = module(s, t), None
        (out * lib.tensor(np.cos(np.arange(out.numel())).reshape(out.shape))).sum().backward()
        results.append([out.detach().numpy(), None if w is None else tuple(w.shape), t.grad.numpy(),
                        *(p.grad.numpy() for _, p in sorted(module.named_parameters()))])
    assert results[1][1] == results[0][1]
    for ours, theirs in zip(results[1][:1] + results[1][2:], results[0][:1] + results[0][2:], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("padding", [False, True])
@pytest.mark.parametrize("kind", ["mha", "mha_bias_kv", "encoder", "transformer"])
def test_is_causal_hint_with_a_mask_that_is_not_causal_as_pytorch(kind, padding, need_weights):
    """PyTorch takes ``is_causal=True`` as the promise that the mask is causal: without the
    weights and without a padding mask its causal mask stands for the one given."""
    if kind in ("encoder", "transformer") and need_weights:
        pytest.skip("the layers never ask for the weights")
    rng = np.random.default_rng(5)
    x, memory, mask = rng.standard_normal((4, 2, E)), rng.standard_normal((5, 2, E)), rng.standard_normal((4, 4))
    keys_padded = np.zeros((2, 4), bool)
    keys_padded[1, 3] = True
    def make(lib):
        if kind.startswith("mha"):
            return lib.nn.MultiheadAttention(E, HEADS, add_bias_kv=kind == "mha_bias_kv", dtype=lib.float64)
        if kind == "encoder":
            return lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(E, HEADS, 12, 0.0, dtype=lib.float64), 2,
                                             enable_nested_tensor=False)
        return lib.nn.Transformer(E, HEADS, 1, 1, 12, 0.0, dtype=lib.float64)

    results = []
    for lib, module in _torch_then_ours(make):
        xt, m = lib.tensor(x, requires_grad=True), lib.tensor(mask)
        pad = lib.tensor(keys_padded) if padding else None
        if kind.startswith("mha"):
            out = module(xt, xt, xt, attn_mask=m, is_causal=True, need_weights=need_weights, key_padding_mask=pad)[0]
        elif kind == "encoder":
            out = module(xt, mask=m, src_key_padding_mask=pad, is_causal=True)
        else:
            out = module(lib.tensor(memory), xt, tgt_mask=m, tgt_key_padding_mask=pad, tgt_is_causal=True)
        (out * lib.tensor(np.sin(np.arange(out.numel())).reshape(out.shape))).sum().backward()
        results.append([out.detach().numpy(), xt.grad.numpy()])
    for ours, theirs in zip(results[1], results[0], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["mha", "layer", "encoder"])
def test_fastpath_switched_off_as_pytorch(kind):
    """``backends.mha.set_fastpath_enabled(False)``: the inference fast path is not taken (a
    query with all keys masked gets 0 without the weights; the encoder keeps the padding)."""
    padding = np.zeros((2, 4), bool)
    padding[0] = True
    padding[1, 3] = True
    x = np.random.default_rng(6).standard_normal((2, 4, E))
    def make(lib):
        if kind == "mha":
            return lib.nn.MultiheadAttention(E, HEADS, batch_first=True, dtype=lib.float64)
        layer = lib.nn.TransformerEncoderLayer(E, HEADS, 12, batch_first=True, dtype=lib.float64)
        return layer if kind == "layer" else lib.nn.TransformerEncoder(layer, 2)

    outs = []
    for lib, module in _torch_then_ours(make):
        module.eval()
        assert lib.backends.mha.get_fastpath_enabled()
        lib.backends.mha.set_fastpath_enabled(False)
        try:
            with lib.no_grad():
                xt, pad = lib.tensor(x), lib.tensor(padding)
                out = module(xt, xt, xt, key_padding_mask=pad, need_weights=False)[0] if kind == "mha" \
                    else module(xt, src_key_padding_mask=pad)
        finally:
            lib.backends.mha.set_fastpath_enabled(True)
        outs.append(out.numpy())
    assert not np.isnan(outs[0]).any()
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-10, atol=1e-12)

"""MultiheadAttention and scaled_dot_product_attention against PyTorch over the product
of their options (masks of every kind and shape, weights averaged or per head,
batch_first, kdim/vdim, add_bias_kv, add_zero_attn, is_causal), with the weights loaded
from torch's state dict by name. Float64, to 1e-10: the output, the attention weights,
the input gradients and every parameter gradient."""

import itertools

import numpy as np
import pytest

import chainrule.nn.functional as F
from chainrule import nn

torch = pytest.importorskip("torch")
from torch_parity import Call, compare, load_from_torch  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore:Support for mismatched:UserWarning")]
L, S, N, E, H = 3, 4, 2, 4, 2
_rng = np.random.default_rng(23)
_blocked = _rng.uniform(size=(N * H, L, S)) < 0.4
_blocked[..., 0] = False  # every query keeps a key: a row with none is NaN in both
ATTN_MASKS = {
    "none": None,
    "bool_2d": _blocked[0],
    "float_2d": _rng.standard_normal((L, S)),
    "bool_3d": _blocked,
    "float_3d": _rng.standard_normal((N * H, L, S)),
}
_padded = np.array([[False, False, True, True], [False, True, False, False]])
PADDING_MASKS = {"none": None, "bool": _padded, "float": np.where(_padded, -1.5, 0.25)}
WEIGHTS = {"no_weights": {"need_weights": False}, "averaged": {},
           "per_head": {"average_attn_weights": False}}


def _pair(batch_first=False, **options):
    theirs = torch.nn.MultiheadAttention(E, H, batch_first=batch_first, **options).double()
    with torch.no_grad():  # random biases (torch starts them at zero), so their gradients count
        for p in theirs.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    ours = nn.MultiheadAttention(E, H, batch_first=batch_first, **options, dtype=np.float64)
    load_from_torch(ours, theirs)
    return ours, theirs


def _run(ours, theirs, inputs, **kw):
    def build(m, *args):
        t = isinstance(m, torch.nn.Module)
        masks = {k: (torch.tensor(v) if t and isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        q, k, v = (args[0],) * 3 if len(args) == 1 else args
        return m(q, k, v, **masks)

    compare(Call.wrap(nn.Module, ours, build), Call.wrap(torch.nn.Module, theirs, build), inputs, np.float64)


def _inputs(batch_first, kdim=E, vdim=E, length=L, source=S):
    lead = (lambda t: (N, t)) if batch_first else (lambda t: (t, N))
    return [_rng.standard_normal((*lead(length), E)), _rng.standard_normal((*lead(source), kdim)),
            _rng.standard_normal((*lead(source), vdim))]


@pytest.mark.parametrize("attn_mask, padding, weights",
                         list(itertools.product(sorted(ATTN_MASKS), sorted(PADDING_MASKS), sorted(WEIGHTS))))
def test_masks_and_weights_match_torch(attn_mask, padding, weights):
    batch_first = (len(attn_mask) + len(padding)) % 2 == 0  # both layouts, spread over the cases
    ours, theirs = _pair(batch_first)
    _run(ours, theirs, _inputs(batch_first), attn_mask=ATTN_MASKS[attn_mask],
         key_padding_mask=PADDING_MASKS[padding], **WEIGHTS[weights])


@pytest.mark.parametrize("batch_first, other_dims, bias_kv, zero_attn, masked",
                         list(itertools.product((False, True), repeat=5)))
def test_kdim_vdim_bias_kv_zero_attn_match_torch(batch_first, other_dims, bias_kv, zero_attn, masked):
    kdim, vdim = (3, 5) if other_dims else (E, E)
    ours, theirs = _pair(batch_first, kdim=kdim, vdim=vdim, add_bias_kv=bias_kv, add_zero_attn=zero_attn)
    masks = {"attn_mask": ATTN_MASKS["bool_3d"], "key_padding_mask": PADDING_MASKS["float"]} if masked else {}
    _run(ours, theirs, _inputs(batch_first, kdim, vdim), **masks, average_attn_weights=not masked)


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("padding", ["none", "bool"])
@pytest.mark.parametrize("self_attention", [False, True])
def test_is_causal_with_its_mask_matches_torch(need_weights, padding, self_attention):
    # torch takes is_causal as a hint that attn_mask is the causal mask, and needs the mask
    ours, theirs = _pair(True)
    causal = np.triu(np.ones((S, S), dtype=bool), 1)
    inputs = _inputs(True, length=S)[:1] if self_attention else _inputs(True, length=S)
    _run(ours, theirs, inputs, attn_mask=causal, is_causal=True, need_weights=need_weights,
         key_padding_mask=PADDING_MASKS[padding])
    ours_only = nn.MultiheadAttention(E, H, batch_first=True, dtype=np.float64, rng=0)
    x = _rng.standard_normal((N, S, E))
    a = ours_only(x, x, x, is_causal=True)[0].detach().numpy()  # ours also accepts the flag alone
    b = ours_only(x, x, x, attn_mask=causal)[0].detach().numpy()
    np.testing.assert_array_equal(a, b)


def test_unbatched_with_bias_kv_and_masks_matches_torch():
    ours, theirs = _pair(add_bias_kv=True, add_zero_attn=True)
    inputs = [a[:, 0] for a in _inputs(False)]
    _run(ours, theirs, inputs, attn_mask=ATTN_MASKS["float_2d"], key_padding_mask=_padded[1])


class _Fn:
    def __init__(self, fn, **kw):
        self.fn, self.kw = fn, kw

    def module(self, base):
        fn, kw = self.fn, self.kw

        class M(base):
            def forward(self, *args):
                t = base is torch.nn.Module
                masks = {k: (torch.tensor(v) if t and isinstance(v, np.ndarray) else v) for k, v in kw.items()}
                return fn(t)(*args, **masks)

        return M()


SDPA = {
    "plain": {},
    "causal": {"is_causal": True},
    "causal_rectangular": {"is_causal": True, "_source": 6},
    "scale": {"scale": 0.3},
    "bool_mask": {"attn_mask": _rng.uniform(size=(L, S)) < 0.7},
    "float_mask_broadcast": {"attn_mask": _rng.standard_normal((N, 1, L, S))},
    "float_mask_scale": {"attn_mask": _rng.standard_normal((L, S)), "scale": 2.0},
    "three_axes": {"_lead": (N,)},
    "value_width": {"_ev": 5},
}


@pytest.mark.parametrize("name", sorted(SDPA))
def test_scaled_dot_product_attention_matches_torch(name):
    kw = dict(SDPA[name])
    source, lead, ev = kw.pop("_source", S), kw.pop("_lead", (N, H)), kw.pop("_ev", E)
    if "attn_mask" in kw and kw["attn_mask"].dtype == bool:
        kw["attn_mask"][:, 0] = True  # every query keeps a key
    f = _Fn(lambda t: torch.nn.functional.scaled_dot_product_attention if t else F.scaled_dot_product_attention,
            dropout_p=0.0, **kw)
    inputs = [_rng.standard_normal((*lead, L, E)), _rng.standard_normal((*lead, source, E)),
              _rng.standard_normal((*lead, source, ev))]
    compare(f.module(nn.Module), f.module(torch.nn.Module), inputs, np.float64)


_every_key = np.array([[True, True, True, True], [False, True, False, True]])  # sequence 0: all padding


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("masks", ["padding", "attn_mask", "both_float"])
def test_queries_with_every_key_masked_match_torch(need_weights, masks):
    # PyTorch attends through its scaled_dot_product_attention without the weights: such a
    # query's output is 0 (then out_proj's bias), its gradients 0; with them, NaN in both
    ours, theirs = _pair(True)
    blocked = np.zeros((L, S), dtype=bool)
    blocked[1] = True
    kw = {"padding": {"key_padding_mask": _every_key},
          "attn_mask": {"attn_mask": blocked},
          "both_float": {"key_padding_mask": np.where(_every_key, -np.inf, 0.0),
                         "attn_mask": np.where(blocked, -np.inf, _rng.standard_normal((L, S)))}}[masks]
    _run(ours, theirs, _inputs(True), need_weights=need_weights, **kw)


@pytest.mark.parametrize("layer", ["TransformerEncoderLayer", "TransformerDecoderLayer"])
def test_left_padding_with_a_causal_mask_matches_torch(layer):
    # the first query of a left-padded sequence sees no key: finite in PyTorch's layers
    ours = getattr(nn, layer)(E, H, 6, dropout=0.0, batch_first=True, dtype=np.float64)
    theirs = getattr(torch.nn, layer)(E, H, 6, dropout=0.0, batch_first=True).double()
    load_from_torch(ours, theirs)
    causal = np.triu(np.ones((S, S), dtype=bool), 1)
    left = np.array([[True, False, False, False], [False, False, False, False]])
    kw = ({"src_mask": causal, "src_key_padding_mask": left} if layer.startswith("TransformerEncoder") else
          {"tgt_mask": causal, "tgt_key_padding_mask": left})

    def build(m, *args):
        t = isinstance(m, torch.nn.Module)
        return m(*args, **{k: torch.tensor(v) if t else v for k, v in kw.items()})

    inputs = _inputs(True, length=S)[:1 if layer.startswith("TransformerEncoder") else 2]
    out, _ = compare(Call.wrap(nn.Module, ours, build), Call.wrap(torch.nn.Module, theirs, build), inputs,
                     np.float64)
    assert np.isfinite(out[0].detach().numpy()).all()


@pytest.mark.parametrize("mask", ["bool", "float"])
def test_sdpa_with_every_key_masked_is_zero_as_torch(mask):
    blocked = _rng.uniform(size=(N, H, L, S)) < 0.3
    blocked[0, 1, 2] = True  # one query of one head sees nothing
    blocked[1, 0, 0] = True
    attn_mask = ~blocked if mask == "bool" else np.where(blocked, -np.inf, _rng.standard_normal((N, H, L, S)))
    f = _Fn(lambda t: torch.nn.functional.scaled_dot_product_attention if t else F.scaled_dot_product_attention,
            dropout_p=0.0, attn_mask=attn_mask)
    inputs = [_rng.standard_normal((N, H, L, E)), _rng.standard_normal((N, H, S, E)),
              _rng.standard_normal((N, H, S, E))]
    out, _ = compare(f.module(nn.Module), f.module(torch.nn.Module), inputs, np.float64)
    assert not out[0].detach().numpy()[0, 1, 2].any() and np.isfinite(out[0].detach().numpy()).all()


def test_sdpa_without_keys_is_zero_as_torch():
    f = _Fn(lambda t: torch.nn.functional.scaled_dot_product_attention if t else F.scaled_dot_product_attention)
    inputs = [_rng.standard_normal((N, H, L, E)), _rng.standard_normal((N, H, 0, E)),
              _rng.standard_normal((N, H, 0, 5))]
    out, _ = compare(f.module(nn.Module), f.module(torch.nn.Module), inputs, np.float64)
    assert out[0].shape == (N, H, L, 5) and not out[0].detach().numpy().any()


FUNCTIONAL = {
    "packed": {},
    "separate_clip_pool": {"separate": True, "query_first_only": True},
    "bias_kv_zero_attn_masks": {"bias_kv": True, "add_zero_attn": True, "attn_mask": _rng.standard_normal((L, L)),
                                "key_padding_mask": _padded[:, :L], "average_attn_weights": False},
    "static_kv": {"static": True, "key_padding_mask": _padded},
    "unbatched_causal": {"unbatched": True, "is_causal": True, "attn_mask": np.triu(np.ones((S, S), bool), 1),
                         "need_weights": False},
}


@pytest.mark.parametrize("case", sorted(FUNCTIONAL))
def test_multi_head_attention_forward_matches_torch(case):
    # F.multi_head_attention_forward with the weights passed in, as CLIP's attention pooling calls it
    o = dict(FUNCTIONAL[case])
    separate, bias_kv, static, unbatched = (o.pop(k, False) for k in ("separate", "bias_kv", "static", "unbatched"))
    query_first_only = o.pop("query_first_only", False)
    weights = {"in_proj_weight": _rng.standard_normal((3 * E, E)), "in_proj_bias": _rng.standard_normal(3 * E),
               "out_proj_weight": _rng.standard_normal((E, E)), "out_proj_bias": _rng.standard_normal(E)}
    if separate:
        weights.update(q_proj_weight=_rng.standard_normal((E, E)), k_proj_weight=_rng.standard_normal((E, E)),
                       v_proj_weight=_rng.standard_normal((E, E)))
    if bias_kv:
        weights.update(bias_k=_rng.standard_normal((1, 1, E)), bias_v=_rng.standard_normal((1, 1, E)))
    if static:
        weights.update(static_k=_rng.standard_normal((N * H, S, E // H)),
                       static_v=_rng.standard_normal((N * H, S, E // H)))
    names = sorted(weights)
    length = S if unbatched else L

    def call(t):
        fn = torch.nn.functional.multi_head_attention_forward if t else F.multi_head_attention_forward
        conv = (lambda v: torch.tensor(v) if isinstance(v, np.ndarray) else v) if t else (lambda v: v)

        def run(x, *ws):
            w = dict(zip(names, ws, strict=True))
            q = x[:1] if query_first_only else x
            return fn(q, x, x, E, H, w.get("in_proj_weight") if not separate else None, w["in_proj_bias"],
                      w.get("bias_k"), w.get("bias_v"), o.get("add_zero_attn", False), 0.0, w["out_proj_weight"],
                      w["out_proj_bias"], training=True, use_separate_proj_weight=separate,
                      q_proj_weight=w.get("q_proj_weight"), k_proj_weight=w.get("k_proj_weight"),
                      v_proj_weight=w.get("v_proj_weight"), static_k=w.get("static_k"), static_v=w.get("static_v"),
                      **{k: conv(v) for k, v in o.items() if k != "add_zero_attn"})

        return run

    class M:
        def __init__(self, t):
            self.t = t

        def module(self, base):
            run = call(self.t)

            class Wrapped(base):
                def forward(self, *args):
                    return run(*args)

            return Wrapped()

    x = _rng.standard_normal((length, E) if unbatched else (length, N, E))
    used = [True, *(not (separate and k == "in_proj_weight") for k in names)]  # torch: no gradient for the unused
    compare(M(False).module(nn.Module), M(True).module(torch.nn.Module), [x, *(weights[k] for k in names)],
            np.float64, grad_inputs=used)


def test_multi_head_attention_forward_says_what_is_missing():
    x, w = np.ones((3, 2, 4)), np.eye(4)
    with pytest.raises(ValueError, match="needs q_proj_weight"):
        F.multi_head_attention_forward(x, x, x, 4, 2, None, None, None, None, False, 0.0, w, None,
                                       use_separate_proj_weight=True, q_proj_weight=w)
    with pytest.raises(ValueError, match="in_proj_weight is None"):
        F.multi_head_attention_forward(x, x, x, 4, 2, None, None, None, None, False, 0.0, w, None)
    with pytest.raises(ValueError, match="divisible"):
        F.multi_head_attention_forward(x, x, x, 4, 3, np.ones((12, 4)), None, None, None, False, 0.0, w, None)


def test_sdpa_mask_of_the_wrong_shape_says_which_shapes():
    q = np.ones((2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 5\) does not broadcast to the scores "
                                         r"\(\.\.\., L, S\) = \(2, 3, 4, 4\)"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=np.zeros((4, 5)))

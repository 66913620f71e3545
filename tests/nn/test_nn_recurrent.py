"""RNN, LSTM and GRU against PyTorch on the same weights: the output sequence, the final
states, the input and initial-state gradients and every parameter gradient, for the
argument combinations of the constructors; and the fused LSTM cell against finite
differences."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import _lstm

torch = pytest.importorskip("torch")
from torch_parity import compare, copy_weights  # noqa: E402

rng = np.random.default_rng(7)

KINDS = {"RNN": {}, "RNN_relu": {"nonlinearity": "relu"}, "LSTM": {}, "GRU": {}}
OPTIONS = {
    "plain": {},
    "two_layers_bidirectional": {"num_layers": 2, "bidirectional": True},
    "batch_first_no_bias": {"batch_first": True, "bias": False},
    "three_layers_batch_first_bidirectional": {"num_layers": 3, "batch_first": True, "bidirectional": True},
}


def _make(kind, options, dtype):
    cls = kind.split("_")[0]
    kw = {**KINDS[kind], **options}
    ours = getattr(nn, cls)(3, 4, **kw).to(dtype)
    theirs = getattr(torch.nn, cls)(3, 4, **kw).to(torch.float64 if dtype == np.float64 else torch.float32)
    copy_weights(ours, theirs)
    return ours, theirs


@pytest.mark.torch
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("options", sorted(OPTIONS))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_recurrent_layer_matches_torch(kind, options, with_state):
    ours, theirs = _make(kind, OPTIONS[options], np.float64)
    t, n = 5, 2
    shape = (n, t, 3) if OPTIONS[options].get("batch_first") else (t, n, 3)
    inputs = [rng.standard_normal(shape)]
    if with_state:
        layers = OPTIONS[options].get("num_layers", 1) * (2 if OPTIONS[options].get("bidirectional") else 1)
        states = [rng.standard_normal((layers, n, 4)) for _ in range(2 if kind == "LSTM" else 1)]
        if kind == "LSTM":
            # the pair goes in as one argument: wrap both modules to take it as two
            class Pair(nn.Module):
                def __init__(self, inner):
                    super().__init__()
                    self.inner = inner

                def forward(self, x, h, c):
                    return self.inner(x, (h, c))

            class TorchPair(torch.nn.Module):
                def __init__(self, inner):
                    super().__init__()
                    self.inner = inner

                def forward(self, x, h, c):
                    return self.inner(x, (h, c))

            ours, theirs = Pair(ours), TorchPair(theirs)
        inputs += states
    compare(ours, theirs, inputs, np.float64)


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_unbatched_and_float32_match_torch(kind):
    ours, theirs = _make(kind, {"num_layers": 2}, np.float32)
    compare(ours, theirs, [rng.standard_normal((6, 3)).astype(np.float32)], np.float32)
    ours, theirs = _make(kind, {"bidirectional": True}, np.float64)
    compare(ours, theirs, [rng.standard_normal((4, 3))], np.float64)


@pytest.mark.torch
def test_dropout_between_layers_only_in_training():
    ours = nn.LSTM(3, 4, num_layers=2, dropout=0.5, rng=0).double()
    x = rng.standard_normal((5, 2, 3))
    ours.eval()
    a, _ = ours(x)
    b, _ = ours(x)
    assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    theirs = torch.nn.LSTM(3, 4, num_layers=2, dropout=0.5).double()
    copy_weights(ours, theirs)
    theirs.eval()
    np.testing.assert_allclose(a.detach().numpy(), theirs(torch.tensor(x))[0].detach().numpy(), rtol=1e-10)
    ours.train()
    c, (h, _) = ours(x)
    d, _ = ours(x)
    assert not np.allclose(c.detach().numpy(), d.detach().numpy())  # a fresh mask per call
    # the last layer's output is not dropped: the final h is the last output step
    np.testing.assert_array_equal(h.detach().numpy()[-1], c.detach().numpy()[-1])


def test_parameter_names_shapes_and_initial_bounds_follow_torch():
    ours = nn.GRU(3, 5, num_layers=2, bidirectional=True, rng=0)
    theirs = torch.nn.GRU(3, 5, num_layers=2, bidirectional=True)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    bound = 1 / np.sqrt(5)
    assert all(np.abs(p.detach().numpy()).max() <= bound for p in ours.parameters())


@pytest.mark.torch
@pytest.mark.parametrize("kind, options", [("LSTM", {"proj_size": 2, "num_layers": 2, "bidirectional": True}),
                                           ("GRU", {"bias": False, "num_layers": 3}), ("RNN", {})])
def test_all_weights_flatten_parameters_and_repr_as_torchs(kind, options):
    # PyTorch programs call rnn.flatten_parameters() in forward and read rnn.all_weights
    ours, theirs = getattr(nn, kind)(3, 4, **options, batch_first=True), \
        getattr(torch.nn, kind)(3, 4, **options, batch_first=True)
    names = {id(p): n for n, p in ours.named_parameters()}
    their_names = {id(p): n for n, p in theirs.named_parameters()}
    assert [[names[id(p)] for p in ws] for ws in ours.all_weights] == \
        [[their_names[id(p)] for p in ws] for ws in theirs.all_weights]
    assert ours.flatten_parameters() is None and repr(ours) == repr(theirs)
    width = (options.get("proj_size") or 4) * (1 + options.get("bidirectional", False))
    assert ours(np.zeros((0, 2, 3), np.float32))[0].shape == (0, 2, width)  # an empty batch is fine


@pytest.mark.parametrize("bad, match", [
    (lambda: nn.LSTM(3, 4)(np.zeros((2, 3, 5))), "expected an input"),
    (lambda: nn.GRU(3, 4)(np.zeros((2, 1, 3)), np.zeros((2, 1, 4))), "initial state must have shape"),
    (lambda: nn.LSTM(3, 4)(np.zeros((2, 1, 3)), np.zeros((1, 1, 4))), "pair"),
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), "nonlinearity"),
    (lambda: nn.LSTM(3, 4, proj_size=4), "proj_size"),
    (lambda: nn.LSTM(3, 4)(np.zeros((0, 2, 3))), "empty"),
    (lambda: nn.GRU(3, 4, batch_first=True)(np.zeros((2, 0, 3))), "empty"),
    (lambda: nn.RNN(3, 4)(np.zeros((0, 3))), "empty"),
    (lambda: nn.RNNBase("SRU", 3, 4), "mode must be one of"),
])
def test_bad_arguments_say_what_is_wrong(bad, match):
    with pytest.raises((ValueError, NotImplementedError), match=match):
        bad()


@pytest.mark.parametrize("output", ["h", "c", "both"])
def test_lstm_cell_gradients_match_finite_differences(output):
    z, c = rng.standard_normal((3, 8)), rng.standard_normal((3, 2))
    pick = {"h": lambda hc: hc[0], "c": lambda hc: hc[1], "both": lambda hc: hc[0] * hc[1]}[output]
    assert cr.gradcheck(lambda z, c: pick(_lstm.lstm_cell(z, c)), z, c, order=2, modes=("fwd", "rev"))


def test_whole_lstm_gradients_match_finite_differences():
    lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True, dtype=np.float64, rng=1)
    x = rng.standard_normal((4, 2, 2))
    assert cr.gradcheck(lambda m, x: (m(x)[0] ** 2).sum(), lstm, x, order=1)


@pytest.mark.torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch_and_differentiates(batch_first, side):
    from chainrule.nn.utils.rnn import pad_sequence

    seqs = [rng.standard_normal((t, 2)) for t in (3, 1, 4)]
    ours_in = [cr.tensor(s, requires_grad=True) for s in seqs]
    ours = pad_sequence(ours_in, batch_first=batch_first, padding_value=-1.5, padding_side=side)
    theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=batch_first,
                                             padding_value=-1.5, padding_side=side)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.numpy())
    w = rng.standard_normal(ours.shape)
    (ours * w).sum().backward()
    for i, (t, s) in enumerate(zip(ours_in, seqs, strict=True)):
        span = slice(0, len(s)) if side == "right" else slice(4 - len(s), 4)
        expected = w[i, span] if batch_first else w[span, i]
        np.testing.assert_array_equal(t.grad.numpy(), expected)
    with pytest.raises(ValueError, match="every sequence"):
        pad_sequence([np.ones((2, 3)), np.ones((2, 4))])


@pytest.mark.parametrize("in_axes", [(0, 0), (0, None), (None, 1)])
def test_lstm_cell_batches_under_vmap(in_axes):
    z, c = rng.standard_normal((4, 3, 8)), rng.standard_normal((4, 3, 2))
    zs = z if in_axes[0] == 0 else z[0]
    cs = {0: c, None: c[0], 1: np.swapaxes(c, 0, 1)}[in_axes[1]]
    for pick in (0, 1):
        def f(z, c, pick=pick):
            return _lstm.lstm_cell(z, c)[pick]

        got = cr.vmap(f, in_axes=in_axes)(zs, cs)
        zi = [zs[i] if in_axes[0] == 0 else zs for i in range(4)]
        ci = [cs[i] if in_axes[1] == 0 else cs if in_axes[1] is None else cs[:, i] for i in range(4)]
        np.testing.assert_allclose(got, np.stack([f(a, b) for a, b in zip(zi, ci, strict=True)]), rtol=1e-14)
        grads = cr.vmap(cr.grad(lambda z, c: (f(z, c) ** 2).sum(), argnums=(0, 1)), in_axes=in_axes)(zs, cs)
        for k in range(2):
            want = np.stack([cr.grad(lambda z, c: (f(z, c) ** 2).sum(), argnums=(0, 1))(a, b)[k]
                             for a, b in zip(zi, ci, strict=True)])
            np.testing.assert_allclose(grads[k], want, rtol=1e-12)  # per example, batched or not


@pytest.mark.torch
def test_base_classes_under_pytorchs_names():
    # initialisation loops test isinstance(m, nn.RNNBase) / nn.RNNCellBase
    assert all(isinstance(m, nn.RNNBase) for m in (nn.RNN(2, 3), nn.LSTM(2, 3), nn.GRU(2, 3)))
    assert all(isinstance(m, nn.RNNCellBase) for m in (nn.RNNCell(2, 3), nn.LSTMCell(2, 3), nn.GRUCell(2, 3)))
    ours, theirs = nn.RNNBase("GRU", 3, 4, num_layers=2), torch.nn.RNNBase("GRU", 3, 4, num_layers=2)
    copy_weights(ours, theirs)  # the same keys and shapes (PyTorch's base has no forward)


@pytest.mark.torch
def test_weight_lists_warning_and_cell_repr_as_pytorchs():
    # forget-gate initialisations walk _all_weights; AWD-LSTM-style code reads _flat_weights_names
    for kw in ({"num_layers": 2, "bidirectional": True, "proj_size": 2}, {"bias": False}):
        ours, theirs = nn.LSTM(3, 4, **kw), torch.nn.LSTM(3, 4, **kw)
        assert ours._all_weights == theirs._all_weights
        assert ours._flat_weights_names == theirs._flat_weights_names
        assert all(w is getattr(ours, n) for w, n in zip(ours._flat_weights, ours._flat_weights_names, strict=True))
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.5)
    cell = (nn.RNNCell(3, 4, bias=False, nonlinearity="relu"), torch.nn.RNNCell(3, 4, bias=False, nonlinearity="relu"))
    assert repr(cell[0]) == repr(cell[1])


@pytest.mark.torch
@pytest.mark.parametrize("model_dtype, input_dtype", [(np.float64, np.float32), (np.float32, np.float64)])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_an_input_of_another_dtype_is_promoted_as_by_linear(kind, model_dtype, input_dtype):
    """A deliberate difference (docs/training.md, "mixed dtypes" in the module sweep):
    PyTorch refuses an input whose dtype is not the weights' ("RNN input dtype ... does
    not match weight dtype"); chainrule's recurrent layers promote as NumPy does, as its
    Linear and Conv do (a float64 NumPy array into a float32 model is the common case).
    The result is the float64 computation: PyTorch's on float64 copies of the weights."""
    ours, _ = _make(kind, {"num_layers": 2}, model_dtype)
    theirs = getattr(torch.nn, kind)(3, 4, num_layers=2).double()
    copy_weights(ours.to(np.float64), theirs)
    ours = ours.to(model_dtype)
    x = rng.standard_normal((5, 2, 3)).astype(input_dtype)
    with pytest.raises(ValueError, match="does not match weight dtype"):
        getattr(torch.nn, kind)(3, 4).to(torch.float64 if model_dtype == np.float64 else torch.float32)(
            torch.tensor(x))
    mine = cr.tensor(x, requires_grad=True)
    out = ours(mine)[0]
    out.sum().backward()
    given = torch.tensor(x.astype(np.float64), requires_grad=True)
    want = theirs(given)[0]
    want.sum().backward()
    assert out.dtype == np.float64 and mine.grad.dtype == input_dtype
    assert all(p.grad.dtype == model_dtype for p in ours.parameters())
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(mine.grad.numpy(), given.grad.numpy(), rtol=1e-5, atol=1e-6)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), getattr(theirs, name).grad.numpy(), rtol=1e-5, atol=1e-6)

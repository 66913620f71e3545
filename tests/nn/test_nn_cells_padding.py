"""RNNCell, LSTMCell, GRUCell, RMSNorm and the padding layers against PyTorch (float64):
constructor defaults, parameter names and shapes (state_dict keys), outputs and the
gradients of inputs and parameters, with weights copied from the torch module."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

rng = np.random.default_rng(7)


def _copy_weights(ours, theirs):
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (name, p), q in zip(ours.state_dict().items(), theirs.state_dict().values(), strict=True):
        assert tuple(p.shape) == tuple(q.shape), name
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})


def _run(module, inputs, lib):
    xs = [lib.tensor(a.copy(), requires_grad=True) for a in inputs]
    out = module(*xs)
    outs = out if isinstance(out, tuple) else (out,)
    loss = sum(((o * lib.tensor(np.linspace(-1, 1, o.numel()).reshape(tuple(o.shape)))) ** 2).sum()
               for o in outs)
    loss.backward()
    return ([np.array(o.tolist()) for o in outs], [np.array(x.grad.tolist()) for x in xs],
            [np.array(p.grad.tolist()) for p in module.parameters()])


def _compare(ours, theirs, inputs):
    a, b = _run(ours, inputs, cr), _run(theirs, inputs, torch)
    for part_a, part_b in zip(a, b, strict=True):
        assert len(part_a) == len(part_b)
        for u, v in zip(part_a, part_b, strict=True):
            np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-12)


X = rng.normal(size=(4, 3))
H = rng.normal(size=(4, 5))
C = rng.normal(size=(4, 5))

CELLS = {
    "rnn_tanh": (lambda m: m.RNNCell(3, 5), [X, H]),
    "rnn_relu_no_bias": (lambda m: m.RNNCell(3, 5, bias=False, nonlinearity="relu"), [X, H]),
    "rnn_zero_state": (lambda m: m.RNNCell(3, 5), [X]),
    "rnn_unbatched": (lambda m: m.RNNCell(3, 5), [X[0], H[0]]),
    "gru": (lambda m: m.GRUCell(3, 5), [X, H]),
    "gru_no_bias_unbatched": (lambda m: m.GRUCell(3, 5, bias=False), [X[1], H[1]]),
    "gru_zero_state": (lambda m: m.GRUCell(3, 5), [X]),
    "lstm_zero_state": (lambda m: m.LSTMCell(3, 5), [X]),
}


@pytest.mark.parametrize("name", sorted(CELLS))
def test_cell_matches_torch(name):
    make, inputs = CELLS[name]
    theirs = make(torch.nn).double()
    ours = make(nn).double()
    _copy_weights(ours, theirs)
    _compare(ours, theirs, inputs)


@pytest.mark.parametrize("batched", [True, False])
def test_lstm_cell_with_a_state_pair_matches_torch(batched):
    theirs = torch.nn.LSTMCell(3, 5).double()
    ours = nn.LSTMCell(3, 5, dtype=np.float64)
    _copy_weights(ours, theirs)
    x, h, c = (X, H, C) if batched else (X[2], H[2], C[2])
    results = []
    for lib, m in ((cr, ours), (torch, theirs)):
        xs = [lib.tensor(a.copy(), requires_grad=True) for a in (x, h, c)]
        h1, c1 = m(xs[0], (xs[1], xs[2]))
        h2, c2 = m(xs[0] * 0.5, (h1, c1))  # two steps, the second fed the first's state
        ((h2 * h2).sum() + (c2 * 3).sum()).backward()
        results.append([np.array(t.tolist()) for t in (h2, c2, *[v.grad for v in xs],
                                                        *[p.grad for p in m.parameters()])])
    for u, v in zip(*results, strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-12)


def test_cells_initialise_as_torch_and_check_shapes():
    cell = nn.GRUCell(3, 16, rng=0)
    bound = 1 / 4
    for p in cell.parameters():
        assert p.dtype == np.float32 and float(abs(p).max()) <= bound
    with pytest.raises(ValueError, match="expected an input of shape"):
        cell(np.ones((2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="expected a state of shape"):
        cell(np.ones((2, 3), dtype=np.float32), np.ones((3, 16), dtype=np.float32))
    with pytest.raises(ValueError, match="hx must be a pair"):
        nn.LSTMCell(3, 4)(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNNCell(3, 4, nonlinearity="sigmoid")


NORMS = {
    "rmsnorm_default_eps": (lambda m: m.RMSNorm(4), [rng.normal(size=(2, 3, 4))]),
    "rmsnorm_two_axes_eps": (lambda m: m.RMSNorm((3, 4), eps=1e-3), [rng.normal(size=(2, 3, 4))]),
    "rmsnorm_no_affine": (lambda m: m.RMSNorm([4], elementwise_affine=False), [rng.normal(size=(5, 4)) * 1e-9]),
}


@pytest.mark.parametrize("name", sorted(NORMS))
def test_rms_norm_matches_torch(name):
    make, inputs = NORMS[name]
    theirs = make(torch.nn).double()
    ours = make(nn).double()
    if list(theirs.parameters()):
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(rng.normal(size=tuple(theirs.weight.shape))))
    _copy_weights(ours, theirs)
    _compare(ours, theirs, inputs)


@pytest.mark.parametrize(("x_dtype", "w_dtype"), [("float16", None), ("float16", "float16"), ("float32", "float64"),
                                                ("float64", "float32"), ("float16", "float32")])
@pytest.mark.filterwarnings("ignore:Mismatch dtype between input and weight")
def test_rms_norm_dtype_and_half_precision_as_torchs(x_dtype, w_dtype):
    # the result keeps the input's dtype whatever the weight's; float16 is computed in
    # float32 with float32's eps (small half activations were divided by sqrt(eps16) ~ 0.03)
    x = rng.normal(size=(3, 4)) * 0.02
    w = rng.normal(size=4)
    results = []
    for lib in (torch, cr):
        weight = None if w_dtype is None else lib.tensor(w, dtype=getattr(lib, w_dtype))
        out = lib.nn.functional.rms_norm(lib.tensor(x, dtype=getattr(lib, x_dtype)), (4,), weight)
        results.append(out)
    theirs, ours = results
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy().astype(float), theirs.numpy().astype(float), rtol=2e-3)


PADS = {
    "zero1d": (lambda m: m.ZeroPad1d(2), (2, 3, 4)),
    "zero2d_tuple": (lambda m: m.ZeroPad2d((1, 0, 2, 1)), (1, 2, 3, 3)),
    "constant1d": (lambda m: m.ConstantPad1d((0, 3), 1.5), (3, 4)),
    "constant2d": (lambda m: m.ConstantPad2d(1, -2.0), (2, 2, 3)),
    "constant2d_crop": (lambda m: m.ConstantPad2d((-1, 1, 0, -1), 0.5), (1, 2, 3, 4)),
    "reflection1d": (lambda m: m.ReflectionPad1d((2, 1)), (2, 3, 4)),
    "reflection2d": (lambda m: m.ReflectionPad2d((1, 2, 2, 1)), (1, 2, 3, 4)),
    "replication1d": (lambda m: m.ReplicationPad1d(3), (2, 2, 3)),
    "replication2d": (lambda m: m.ReplicationPad2d((2, 0, 1, 3)), (2, 1, 3, 2)),
    "circular1d": (lambda m: m.CircularPad1d((1, 2)), (2, 2, 4)),
    "circular2d": (lambda m: m.CircularPad2d(1), (1, 1, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(PADS))
def test_padding_layer_matches_torch(name):
    make, shape = PADS[name]
    theirs, ours = make(torch.nn), make(nn)
    assert repr(ours).split("(")[0] == repr(theirs).split("(")[0]
    _compare(ours, theirs, [rng.normal(size=shape)])


def test_padding_errors():
    with pytest.raises(ValueError, match="padding is an int or 4 widths"):
        nn.ZeroPad2d((1, 2))
    with pytest.raises(ValueError, match="expected an input of 2 or 3 dimensions"):
        nn.ReflectionPad1d(1)(np.ones(3))
    with pytest.raises(ValueError, match="widths smaller than the axis"):
        nn.ReflectionPad1d(3)(np.ones((1, 3)))

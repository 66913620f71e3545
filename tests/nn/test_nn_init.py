"""Initialisation: seeding, the bounds and spreads of each scheme, dtypes kept."""

import math
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.nn import init


def test_global_seed_and_rng_argument_make_models_reproducible():
    init.manual_seed(123)
    a = [p.detach().numpy().copy() for p in nn.Linear(5, 3).parameters()]
    init.manual_seed(123)
    b = [p.detach().numpy().copy() for p in nn.Linear(5, 3).parameters()]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    c = nn.Conv2d(2, 3, 3, rng=np.random.default_rng(7)).weight.detach().numpy()
    d = nn.Conv2d(2, 3, 3, rng=7).weight.detach().numpy()
    assert np.array_equal(c, d)
    assert not np.array_equal(c, nn.Conv2d(2, 3, 3, rng=8).weight.detach().numpy())


def test_linear_default_init_matches_pytorchs_bounds():
    layer = nn.Linear(50, 400, rng=0)
    bound = 1 / math.sqrt(50)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert w.dtype == np.float32 and np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    assert nn.Linear(2, 2, dtype=np.float64).weight.dtype == np.float64
    with pytest.raises(TypeError, match="floating-point"):
        nn.Linear(2, 2, dtype=np.int32)


@pytest.mark.parametrize(
    "fn, expected_std",
    [
        (lambda t: init.xavier_uniform_(t, rng=0), math.sqrt(2 / (300 + 200))),
        (lambda t: init.xavier_normal_(t, rng=0), math.sqrt(2 / (300 + 200))),
        (lambda t: init.kaiming_uniform_(t, nonlinearity="relu", rng=0), math.sqrt(2 / 300)),
        (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu", rng=0), math.sqrt(2 / 200)),
        (lambda t: init.normal_(t, 0.0, 0.3, rng=0), 0.3),
        (lambda t: init.uniform_(t, -1.0, 1.0, rng=0), 1 / math.sqrt(3)),
    ],
)
def test_schemes_have_the_published_spread(fn, expected_std):
    p = nn.Parameter(np.zeros((200, 300), dtype=np.float32))
    assert fn(p) is p
    values = p.detach().numpy()
    assert values.dtype == np.float32
    assert values.std() == pytest.approx(expected_std, rel=0.02)
    assert abs(values.mean()) < 0.02 * expected_std * 10


def test_fans_of_convolution_weights_and_gains():
    assert init.fan_in_and_fan_out((8, 3, 5, 5)) == (75, 200)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        init.calculate_gain("swishy")
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform_(np.zeros(3))


def test_orthogonal_and_constants_fill_in_place():
    w = np.zeros((4, 6))
    init.orthogonal_(w, gain=2.0, rng=0)
    assert np.allclose(w @ w.T, 4 * np.eye(4))
    init.ones_(w)
    assert np.all(w == 1)
    init.zeros_(w)
    assert np.all(w == 0)
    with pytest.raises(TypeError, match="numpy Generator"):
        init.uniform_(w, rng="seed")


def test_trunc_normal_and_eye():
    w = nn.Linear(200, 100, rng=0).weight
    init.trunc_normal_(w, mean=0.1, std=1.0, a=-0.5, b=1.0, rng=1)
    v = w.detach().numpy()
    assert v.dtype == np.float32 and v.min() >= -0.5 and v.max() <= 1.0 and v.std() > 0.3
    init.trunc_normal_(w, std=0.02, rng=2)  # PyTorch's ViT use: bounds ±2 far outside the spread
    assert abs(w.detach().numpy().std() - 0.02) < 0.001
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(w, a=1.0, b=0.0)
    assert np.array_equal(init.eye_(nn.Linear(2, 3).weight).detach().numpy(), np.eye(3, 2))
    with pytest.raises(ValueError, match="2-d"):
        init.eye_(nn.Conv2d(1, 1, 3).weight)


@pytest.mark.parametrize(("shape", "groups"), [((3, 3, 5), 1), ((4, 2, 3, 3), 1), ((6, 2, 3, 3), 3),
                                               ((2, 4, 3, 2, 3), 2)])
def test_dirac_is_torch_s(shape, groups):
    torch = pytest.importorskip("torch")
    ours = nn.init.dirac_(cr.empty(*shape), groups)
    assert ours.tolist() == torch.nn.init.dirac_(torch.empty(*shape), groups).tolist()
    x = np.random.default_rng(0).standard_normal((1, shape[1] * groups, *(5,) * (len(shape) - 2)))
    if len(shape) == 4 and groups == 1:  # the convolution passes its inputs through
        conv = nn.Conv2d(shape[1], shape[0], shape[2:], padding=1, bias=False, dtype=np.float64)
        nn.init.dirac_(conv.weight)
        np.testing.assert_allclose(conv(x).detach().numpy()[:, :shape[1]], x[:, :shape[0]])
    with pytest.raises(ValueError):
        nn.init.dirac_(cr.empty(5, 5))


def test_sparse_zeros_the_share_of_each_column_torch_does():
    torch = pytest.importorskip("torch")
    for rows, cols, sparsity in ((10, 4, 0.5), (7, 3, 0.3), (5, 5, 0.0)):
        ours = nn.init.sparse_(cr.empty(rows, cols), sparsity, std=0.1).numpy()
        theirs = torch.nn.init.sparse_(torch.empty(rows, cols), sparsity, std=0.1).numpy()
        assert (ours == 0).sum(axis=0).tolist() == (theirs == 0).sum(axis=0).tolist()
        assert 0.0 < ours[ours != 0].std() < 0.3
    with pytest.raises(ValueError):
        nn.init.sparse_(cr.empty(2, 2, 2), 0.1)


def test_init_functions_take_torch_s_generator_keyword():
    for fn, args in ((nn.init.uniform_, ()), (nn.init.normal_, ()), (nn.init.xavier_uniform_, ()),
                     (nn.init.xavier_normal_, ()), (nn.init.kaiming_uniform_, ()), (nn.init.kaiming_normal_, ()),
                     (nn.init.orthogonal_, ()), (nn.init.trunc_normal_, ()), (nn.init.sparse_, (0.5,))):
        a = fn(cr.empty(4, 3), *args, generator=cr.Generator().manual_seed(7)).numpy()
        b = fn(cr.empty(4, 3), *args, generator=cr.Generator().manual_seed(7)).numpy()
        c = fn(cr.empty(4, 3), *args, generator=cr.Generator().manual_seed(8)).numpy()
        assert np.array_equal(a, b) and not np.array_equal(a, c), fn.__name__


def test_layers_without_inputs_are_made_as_torch():
    for make, tmake in ((lambda: nn.Conv2d(0, 4, 3), lambda: torch.nn.Conv2d(0, 4, 3)),
                        (lambda: nn.Linear(0, 4), lambda: torch.nn.Linear(0, 4))):
        said = []
        for f in (make, tmake):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                m = f()
            said.append([str(w.message) for w in caught if "zero-element" in str(w.message)])
            assert tuple(m.weight.shape)[1] == 0 and not np.any(m.bias.detach().numpy())
        assert said[0] == said[1] == ["Initializing zero-element tensors is a no-op"]


# Every layer torch gives a reset_parameters(), built as (class name, args, kwargs); the
# last column: whether torch's __init__ calls it (AdaptiveLogSoftmaxWithLoss's does not)
RESET_LAYERS = [
    ("Linear", (6, 5), {}, True), ("Bilinear", (4, 3, 5), {}, True),
    ("Conv1d", (4, 6, 3), {"groups": 2}, True), ("Conv2d", (2, 3, 3), {}, True), ("Conv3d", (2, 3, 2), {}, True),
    ("ConvTranspose1d", (2, 4, 3), {"groups": 2}, True), ("ConvTranspose2d", (2, 3, 3), {}, True),
    ("ConvTranspose3d", (2, 3, 2), {}, True), ("Embedding", (7, 4), {"padding_idx": 1}, True),
    ("EmbeddingBag", (7, 4), {"padding_idx": 2}, True), ("LayerNorm", (5,), {}, True),
    ("GroupNorm", (2, 4), {}, True), ("RMSNorm", (5,), {}, True), ("BatchNorm2d", (3,), {}, True),
    ("InstanceNorm1d", (3,), {"affine": True}, True), ("PReLU", (3,), {"init": 0.1}, True),
    ("RNN", (3, 4, 2), {}, True), ("LSTM", (3, 5), {"proj_size": 2, "bidirectional": True}, True),
    ("GRU", (3, 4), {"bias": False}, True), ("RNNCell", (3, 4), {}, True), ("LSTMCell", (3, 4), {}, True),
    ("GRUCell", (3, 4), {}, True), ("AdaptiveLogSoftmaxWithLoss", (8, 10, [3, 6]), {"div_value": 2.0}, False),
]


def _params(m) -> dict:
    return {k: np.array(v.detach().numpy(), copy=True) for k, v in m.named_parameters()}


def _constant_override(base, lib):
    """The same subclass for either library: reset_parameters sets each parameter to a
    constant read from the attributes its constructor has set by then."""
    class Custom(base):
        def reset_parameters(self):
            for i, (_, p) in enumerate(sorted(self.named_parameters(), key=lambda kv: kv[0])):
                lib.nn.init.constant_(p, 0.5 * (i + 1) + 0.01 * p.shape[0])
    return Custom


@pytest.mark.parametrize("name,args,kwargs,at_init", RESET_LAYERS, ids=[r[0] for r in RESET_LAYERS])
def test_an_override_of_reset_parameters_sets_the_start_as_in_torch(name, args, kwargs, at_init):
    mine = _params(_constant_override(getattr(nn, name), cr)(*args, **kwargs))
    theirs = _params(_constant_override(getattr(torch.nn, name), torch)(*args, **kwargs))
    assert mine.keys() == theirs.keys() and mine
    for k in mine:
        assert np.array_equal(mine[k], theirs[k]) == at_init, k
        if at_init:
            assert mine[k].dtype == np.float32 and mine[k].shape == theirs[k].shape


def test_xavier_override_and_eye_override_as_in_torch():
    def program(lib):
        class EyeLinear(lib.nn.Linear):
            def reset_parameters(self):
                lib.nn.init.eye_(self.weight)
                lib.nn.init.zeros_(self.bias)

        class XavierLinear(lib.nn.Linear):
            def reset_parameters(self):
                lib.nn.init.xavier_uniform_(self.weight)
                lib.nn.init.zeros_(self.bias)

        class OnesAttention(lib.nn.MultiheadAttention):
            def _reset_parameters(self):
                lib.nn.init.ones_(self.in_proj_weight)
                lib.nn.init.constant_(self.in_proj_bias, 0.5)

        return EyeLinear(3, 4), XavierLinear(30, 20), OnesAttention(4, 2)
    (eye, xav, att), (teye, txav, tatt) = program(cr), program(torch)
    assert np.array_equal(eye.weight.detach().numpy(), teye.weight.detach().numpy())
    assert np.array_equal(att.in_proj_weight.detach().numpy(), tatt.in_proj_weight.detach().numpy())
    assert np.array_equal(att.in_proj_bias.detach().numpy(), tatt.in_proj_bias.detach().numpy())
    for layer in (xav, txav):
        w, bound = layer.weight.detach().numpy(), math.sqrt(6 / 50)  # Xavier's bound, not Linear's 1/√30
        assert not np.any(layer.bias.detach().numpy()) and 0.9 * bound < np.abs(w).max() <= bound


def _pooled(m, lib, times: int = 20) -> dict:
    """Each parameter's values over ``times`` calls of reset_parameters(), every parameter
    first overwritten with 7 (so a parameter the call leaves alone shows)."""
    out = {}
    for _ in range(times):
        for p in m.parameters():
            lib.nn.init.constant_(p, 7.0)
        m.reset_parameters()
        for k, v in _params(m).items():
            out.setdefault(k, []).append(v)
    return {k: np.stack(v) for k, v in out.items()}


@pytest.mark.parametrize("name,args,kwargs,at_init", RESET_LAYERS, ids=[r[0] for r in RESET_LAYERS])
def test_reset_parameters_redraws_as_torch_from_the_global_generator(name, args, kwargs, at_init):
    m = getattr(nn, name)(*args, **kwargs, **({"rng": 0} if "rng" in getattr(nn, name).__init__.__code__.co_varnames
                                             else {}))
    before = {k: (id(p), p.shape, p.dtype) for k, p in m.named_parameters()}
    cr.manual_seed(3)
    mine = _pooled(m, cr)
    assert before == {k: (id(p), p.shape, p.dtype) for k, p in m.named_parameters()}
    cr.manual_seed(3)
    assert all(np.array_equal(v, mine[k]) for k, v in _pooled(m, cr).items())  # the global generator's draws
    torch.manual_seed(0)
    theirs = _pooled(getattr(torch.nn, name)(*args, **kwargs), torch)
    for k, t in theirs.items():
        c = mine[k]
        assert c.shape == t.shape, k
        if np.all(t == t[0]):  # a constant init (ones, zeros, PReLU's) or a padding row
            assert np.array_equal(c, t), k
            continue
        fixed = np.all(t == t[0], axis=0)  # a padding row is zero, the rest drawn
        assert np.array_equal(c[:, fixed], t[:, fixed]) and not np.any(c == 7.0), k
        c, t = c[:, ~fixed], t[:, ~fixed]
        assert np.abs(c).max() <= 1.05 * np.abs(t).max() and abs(c.mean()) < 0.2 * t.std() + 1e-3, k
        assert 0.75 < c.std() / t.std() < 1.33, k
        assert not np.array_equal(c[0], c[1]), k  # drawn afresh each call


def test_a_gnn_program_reinitialises_its_layers_as_torch():
    def program(lib):
        lib.manual_seed(0)

        class GCN(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin1, self.norm = lib.nn.Linear(4, 16), lib.nn.LayerNorm(16)
                self.act, self.lin2 = lib.nn.PReLU(), lib.nn.Linear(16, 2)

            def reset_parameters(self):
                for m in self.children():
                    m.reset_parameters()

            def forward(self, x, adj):
                h = self.act(self.norm(adj @ self.lin1(x)))
                return adj @ self.lin2(h)

        adj = lib.tensor(np.eye(6, k=1) + np.eye(6, k=-1) + np.eye(6), dtype=lib.float32) / 3
        x, y = lib.tensor(np.linspace(-1, 1, 24).reshape(6, 4), dtype=lib.float32), lib.tensor([0, 0, 0, 1, 1, 1])
        model = GCN()
        losses = []
        for _run in range(2):
            model.reset_parameters()
            opt = lib.optim.Adam(model.parameters(), lr=0.05)
            for _ in range(30):
                opt.zero_grad()
                loss = lib.nn.functional.cross_entropy(model(x, adj), y)
                loss.backward()
                opt.step()
            losses.append(float(loss.detach()))
            trained = [float(model.norm.weight.detach().std()), float(model.act.weight.detach()[0])]
        model.reset_parameters()
        again = [model.norm.weight.detach().numpy().tolist(), float(model.act.weight.detach()[0]),
                 float(model.lin1.weight.detach().abs().max())]
        return losses, trained, again
    for losses, trained, again in (program(cr), program(torch)):
        assert losses[0] < 0.1 and losses[1] < 0.1 and trained[0] > 0 and trained[1] != 0.25
        assert again[0] == [1.0] * 16 and again[1] == 0.25 and 0.3 < again[2] <= 0.5  # U(±1/√4) again


@pytest.mark.parametrize("shape", [(3,), (2, 3), (4, 2, 3, 5), (4, 0), (0, 4, 3), (6, 2, 1)])
def test_the_fan_helpers_layers_call_give_torch_s(shape):
    # custom layers copy PyTorch's Linear.reset_parameters, which calls these private helpers
    def run(lib, helper, *args):
        try:
            return getattr(lib.nn.init, helper)(lib.empty(*shape), *args)
        except ValueError:
            return "ValueError"

    for helper, args in [("_calculate_fan_in_and_fan_out", ()), ("_calculate_correct_fan", ("fan_in",)),
                         ("_calculate_correct_fan", ("FAN_OUT",)), ("_calculate_correct_fan", ("bad",))]:
        assert run(cr, helper, *args) == run(torch, helper, *args), (helper, args)


@pytest.mark.parametrize("name, args", [("uniform", (-1.0, 1.0)), ("normal", ()), ("constant", (0.5,)),
                                        ("xavier_uniform", ()), ("xavier_normal", ()), ("kaiming_uniform", ()),
                                        ("kaiming_normal", ()), ("orthogonal", ()), ("sparse", (0.5,)),
                                        ("eye", ()), ("dirac", ())])
def test_the_deprecated_names_warn_and_fill_as_torch(name, args):
    shapes = {"dirac": (2, 2, 3)}
    for lib in (cr, torch):
        t = lib.zeros(*shapes.get(name, (4, 3)))
        with pytest.warns(FutureWarning, match=f"`nn.init.{name}` is now deprecated"):
            assert getattr(lib.nn.init, name)(t, *args) is t
        assert name in ("constant", "eye", "dirac") or float((t != 0).sum()) > 0


@pytest.mark.parametrize("param", [None, 0.2, 1, True, "0.2"])
def test_leaky_relu_gain_takes_a_number_as_torch(param):
    def run(lib):
        try:
            return round(lib.nn.init.calculate_gain("leaky_relu", param), 12)
        except ValueError:
            return "ValueError"

    assert run(cr) == run(torch)


def test_uniform_with_its_bounds_reversed_is_a_runtime_error_as_torch():
    for lib in (cr, torch):
        with pytest.raises(RuntimeError, match="uniform_"):
            lib.nn.init.uniform_(lib.empty(3), 2.0, 1.0)

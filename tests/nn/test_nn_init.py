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

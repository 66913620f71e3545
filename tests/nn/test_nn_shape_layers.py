"""Unflatten, Bilinear, CosineSimilarity and PairwiseDistance against PyTorch (float64,
the same weights), and PyTorch's positional ``inplace`` argument of the activation layers."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
rng = np.random.default_rng(6)


def test_unflatten_is_flattens_inverse():
    x = rng.normal(size=(2, 12, 5))
    for dim, size in [(1, (3, 4)), (1, (-1, 2)), (-1, (5, 1)), (0, (1, 2))]:
        got = nn.Unflatten(dim, size)(x)
        want = torch.nn.Unflatten(dim, size)(torch.tensor(x)).numpy()
        np.testing.assert_array_equal(np.asarray(got), want)
    np.testing.assert_array_equal(np.asarray(nn.Flatten(1, 2)(nn.Unflatten(1, (3, 4))(x))), x)


def test_bilinear_matches_torch():
    theirs = torch.nn.Bilinear(3, 4, 2).double()
    ours = nn.Bilinear(3, 4, 2, dtype=np.float64)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    bound = 1 / np.sqrt(3)
    assert np.abs(ours.weight.detach().numpy()).max() <= bound
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x1, x2 = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 4))
    a, b = cr.tensor(x1, requires_grad=True), cr.tensor(x2, requires_grad=True)
    ta, tb = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    w = rng.normal(size=(2, 5, 2))
    (ours(a, b) * cr.tensor(w)).sum().backward()
    (theirs(ta, tb) * torch.tensor(w)).sum().backward()
    for mine, yours in [(a, ta), (b, tb), (ours.weight, theirs.weight), (ours.bias, theirs.bias)]:
        np.testing.assert_allclose(mine.grad.numpy(), yours.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert cr.gradcheck(lambda u, v: nn.functional.bilinear(u, v, ours.weight.detach().numpy()), x1, x2)


@pytest.mark.parametrize("name, kwargs", [("CosineSimilarity", {}), ("CosineSimilarity", {"dim": 0, "eps": 1e-3}),
                                          ("PairwiseDistance", {}), ("PairwiseDistance", {"p": 1.0, "keepdim": True})])
def test_distance_modules_match_torch(name, kwargs):
    x1, x2 = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    got = getattr(nn, name)(**kwargs)(x1, x2)
    want = getattr(torch.nn, name)(**kwargs)(torch.tensor(x1), torch.tensor(x2)).numpy()
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-13)


@pytest.mark.parametrize("name, args", [("ELU", (0.5, True)), ("CELU", (1.5, True)), ("SELU", (True,)),
                                        ("ReLU6", (True,)), ("Hardtanh", (-2.0, 2.0, True)), ("Hardswish", (True,)),
                                        ("Hardsigmoid", (True,)), ("Mish", (True,)), ("Threshold", (0.1, 20.0, True))])
def test_activation_layers_take_inplace_positionally(name, args):
    x = rng.normal(size=(3, 4)) * 3
    got = getattr(nn, name)(*args)(x)
    want = getattr(torch.nn, name)(*args)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)

"""ParameterList and ParameterDict (chainrule/nn/containers.py) against PyTorch's: the
state_dict keys in order, weights moved between the two libraries, gradients and an
optimizer step, and the container operations."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

torch = pytest.importorskip("torch")


class Mixture(nn.Module):
    def __init__(self):
        super().__init__()
        self.scales = nn.ParameterList([np.full((3, 3), 0.5), nn.Parameter(np.arange(3.0))])
        self.extra = nn.ParameterDict({"shift": np.ones(3), "gain": np.array(2.0)})

    def forward(self, x):
        return (x @ self.scales[0] + self.scales[1]) * self.extra["gain"] + self.extra["shift"]


class TorchMixture(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.scales = torch.nn.ParameterList([torch.full((3, 3), 0.5), torch.arange(3.0)])
        self.extra = torch.nn.ParameterDict({"shift": torch.ones(3), "gain": torch.tensor(2.0)})

    def forward(self, x):
        return (x @ self.scales[0] + self.scales[1]) * self.extra["gain"] + self.extra["shift"]


def test_state_dict_gradients_and_a_step_match_torch():
    ours, theirs = Mixture(), TorchMixture().double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    w = np.random.default_rng(0).normal(size=(3, 3))
    theirs.scales[0].data = torch.tensor(w)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(1).normal(size=(4, 3))
    for model, opt, xs in ((ours, optim.SGD(ours.parameters(), lr=0.1), cr.tensor(x)),
                           (theirs, torch.optim.SGD(theirs.parameters(), lr=0.1), torch.tensor(x))):
        opt.zero_grad()
        (model(xs) ** 2).sum().backward()
        opt.step()
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(np.asarray(ours.state_dict()[k]), v.numpy(), rtol=1e-14, err_msg=k)


def test_a_model_with_containers_is_a_pytree():
    g = cr.grad(lambda m, x: (m(x) ** 2).sum())(Mixture(), np.ones((2, 3)))
    assert type(g) is Mixture and g.scales[0].shape == (3, 3) and np.shape(g.extra["gain"]) == ()


def test_list_operations():
    ps = nn.ParameterList()
    ps.append(np.zeros(2)).extend([cr.tensor(np.ones(3)), 4.0])
    assert len(ps) == 3 and all(isinstance(p, nn.Parameter) for p in ps)
    assert [tuple(p.shape) for p in ps[1:]] == [(3,), ()]
    ps[0] = np.full(5, 7.0)
    assert list(ps.state_dict()) == ["0", "1", "2"] and ps[0].shape == (5,)
    with pytest.raises(TypeError, match="expected a Parameter"):
        ps.append("weights")


def test_dict_operations():
    d = nn.ParameterDict([("a", np.ones(2)), ("b", np.zeros(1))])
    assert "a" in d and sorted(d) == ["a", "b"] and d.get("c") is None
    assert d.pop("a").shape == (2,) and list(d.keys()) == ["b"] and list(d.state_dict()) == ["b"]
    with pytest.raises(KeyError, match="without '.'"):
        d["x.y"] = np.ones(1)

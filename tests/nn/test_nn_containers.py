"""ParameterList and ParameterDict (chainrule/nn/containers.py) against PyTorch's: the
state_dict keys in order, weights moved between the two libraries, gradients and an
optimizer step, and the container operations (Sequential's, ModuleList's and ModuleDict's too)."""

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
    ps.append(np.zeros(2)).extend([cr.tensor(np.ones(3)), np.float64(4.0)])
    assert len(ps) == 3 and all(isinstance(p, nn.Parameter) for p in ps)
    assert [tuple(p.shape) for p in ps[1:]] == [(3,), ()]
    ps[0] = np.full(5, 7.0)
    assert list(ps.state_dict()) == ["0", "1", "2"] and ps[0].shape == (5,)


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_a_parameters_place_in_a_list_takes_a_parameter_or_none(lib):
    ps = lib.nn.ParameterList([lib.zeros(2)])
    with pytest.raises(TypeError, match="parameter '0'"):
        ps[0] = 7
    with pytest.raises(IndexError):
        ps[1] = lib.zeros(1)


def test_dict_operations():
    d = nn.ParameterDict([("a", np.ones(2)), ("b", np.zeros(1))])
    assert "a" in d and sorted(d) == ["a", "b"] and d.get("c") is None
    assert d.pop("a").shape == (2,) and list(d.keys()) == ["b"] and list(d.state_dict()) == ["b"]
    with pytest.raises(KeyError, match="without '.'"):
        d["x.y"] = np.ones(1)


def _entries(container):
    items = container.items() if hasattr(container, "items") else enumerate(container)
    return [(k, type(v).__name__, v if isinstance(v, int | float | str | type(None)) else tuple(v.shape))
            for k, v in items]


# name: an operation on a ParameterList or ParameterDict holding objects that are not
# tensors (PyTorch keeps them as they are and registers them nowhere), written the same
# way for both libraries: entries, parameters, state_dict keys and repr must agree
PARAMETER_CONTAINER_OPS = {
    "list_mixed": lambda lib: lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2)), 3, "a", None, 2.5]),
    "list_append_number": lambda lib: lib.nn.ParameterList([lib.zeros(1)]).append(4.5).append(lib.ones(3)),
    "list_setitem": lambda lib: (lambda ps: (ps.__setitem__(-1, lib.zeros(3)), ps.__setitem__(0, None),
                                             ps.__setitem__(1, "x"), ps)[3])(
        lib.nn.ParameterList([lib.zeros(2), 5, lib.ones(1)])),
    "list_slice": lambda lib: lib.nn.ParameterList([1, lib.zeros(2), "x"])[1:],
    "dict_mixed": lambda lib: lib.nn.ParameterDict({"w": lib.ones(2), "n": 3, "s": "x", "z": None}),
    "dict_pop_setdefault": lambda lib: (lambda d: (d.pop("n"), d.setdefault("k", 1.5), d)[2])(
        lib.nn.ParameterDict({"w": lib.ones(2), "n": 3})),
    "dict_popitem_copy": lambda lib: (lambda d: (d.popitem(), d.copy())[1])(
        lib.nn.ParameterDict([("a", 1), ("b", lib.zeros(1)), ("c", "x")])),
    "dict_or": lambda lib: lib.nn.ParameterDict({"a": lib.ones(1), "b": 2}) | lib.nn.ParameterDict({"b": lib.zeros(2)}),
    "dict_ior": lambda lib: (lambda d: d.__ior__({"c": lib.ones(3)}))(lib.nn.ParameterDict({"a": 1})),
    "dict_fromkeys": lambda lib: lib.nn.ParameterDict().fromkeys(["x", "y"], lib.ones(2)),
}


@pytest.mark.parametrize("op", sorted(PARAMETER_CONTAINER_OPS))
def test_parameter_container_operations_match_torch(op):
    ours, theirs = PARAMETER_CONTAINER_OPS[op](cr), PARAMETER_CONTAINER_OPS[op](torch)
    assert _entries(ours) == _entries(theirs)
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    strip = (lambda r: __import__("re").sub(r"\[torch\.\w+ ", "[", r))  # default dtypes differ
    assert strip(repr(ours)) == strip(repr(theirs))


def _kinds(container):
    return [type(m).__name__ for m in container]


def _seq(lib):
    return lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Linear(3, 1))


# name: an operation on a Sequential, ModuleList or ModuleDict written the same way for
# both libraries, and what of the result to compare
MODULE_CONTAINER_OPS = {
    "seq_slice": lambda lib: (lambda s: (type(s).__name__, list(s.state_dict())))(_seq(lib)[1:]),
    "seq_negative_index": lambda lib: type(_seq(lib)[-1]).__name__,
    "seq_append": lambda lib: _kinds(_seq(lib).append(lib.nn.Sigmoid())),
    "seq_del": lambda lib: (lambda s: (s.__delitem__(1), _kinds(s), list(s.state_dict())))(_seq(lib))[1:],
    "seq_del_slice": lambda lib: (lambda s: (s.__delitem__(slice(0, 2)), list(s.state_dict())))(_seq(lib))[1],
    "seq_insert": lambda lib: (lambda s: (s.insert(1, lib.nn.Tanh()), _kinds(s), list(s.state_dict())))(_seq(lib))[1:],
    "seq_setitem": lambda lib: (lambda s: (s.__setitem__(1, lib.nn.Tanh()), _kinds(s)))(_seq(lib))[1],
    "seq_pop": lambda lib: (lambda s: (type(s.pop(0)).__name__, list(s.state_dict())))(_seq(lib)),
    "seq_add": lambda lib: (lambda s: (type(s).__name__, _kinds(s), list(s.state_dict())))(_seq(lib) + _seq(lib)),
    "seq_extend": lambda lib: _kinds(lib.nn.Sequential().extend([lib.nn.ReLU(), lib.nn.Tanh()])),
    "seq_named_slice": lambda lib: list(lib.nn.Sequential(__import__("collections").OrderedDict(
        [("fc", lib.nn.Linear(2, 2)), ("act", lib.nn.ReLU()), ("out", lib.nn.Linear(2, 1))]))[1:].state_dict()),
    "list_add": lambda lib: (lambda m: (type(m).__name__, _kinds(m)))(
        lib.nn.ModuleList([lib.nn.ReLU()]) + lib.nn.ModuleList([lib.nn.Tanh()])),
    "list_iadd_pop": lambda lib: (lambda m: (m.__iadd__([lib.nn.Tanh()]), type(m.pop(0)).__name__, _kinds(m)))(
        lib.nn.ModuleList([lib.nn.ReLU(), lib.nn.Linear(1, 1)]))[1:],
    "dict_pop_update_clear": lambda lib: (lambda d: (type(d.pop("a")).__name__, d.update({"c": lib.nn.Tanh()}),
                                                     list(d.keys()), d.clear(), len(d)))(
        lib.nn.ModuleDict({"a": lib.nn.Linear(2, 2), "b": lib.nn.ReLU()})),
    "dict_from_pairs": lambda lib: (lambda d: (list(d), _kinds(d.values()), list(d.state_dict())))(
        lib.nn.ModuleDict([("z", lib.nn.Linear(1, 1)), ("a", lib.nn.ReLU())])),
    "dict_from_generator": lambda lib: list(lib.nn.ModuleDict((str(i), lib.nn.ReLU()) for i in range(3))),
}


@pytest.mark.parametrize("op", sorted(MODULE_CONTAINER_OPS))
def test_module_container_operations_match_torch(op):
    assert MODULE_CONTAINER_OPS[op](cr) == MODULE_CONTAINER_OPS[op](torch)


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_a_shared_layer_is_in_the_state_dict_under_each_name(lib):
    lin = lib.nn.Linear(2, 2)
    net = lib.nn.Sequential(lin, lib.nn.ReLU(), lin)
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert [n for n, _ in net.named_parameters(remove_duplicate=False)] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [n for n, _ in net.named_modules(remove_duplicate=False)] == ["", "0", "1", "2"]
    assert len(list(net.parameters())) == 2
    other = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU(), lib.nn.Linear(2, 2))
    other.load_state_dict(net.state_dict())  # the file of a shared model loads into an unshared one
    assert np.array_equal(other[2].weight.detach().numpy(), lin.weight.detach().numpy())


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_a_layer_assigned_again_keeps_its_place(lib):
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = lib.nn.Linear(2, 3)
            self.scale = lib.nn.Parameter(lib.ones(3))
            self.fc = lib.nn.Linear(3, 1)

    net = Net()
    net.conv = lib.nn.Linear(2, 3, bias=False)  # transfer learning: a layer replaced
    net.scale = lib.nn.Parameter(lib.zeros(3))
    assert list(net.state_dict()) == ["scale", "conv.weight", "fc.weight", "fc.bias"]
    assert [n for n, _ in net.named_parameters()] == ["scale", "conv.weight", "fc.weight", "fc.bias"]


def test_deprecated_container_as_torch():
    torch = pytest.importorskip("torch")
    with pytest.warns(FutureWarning, match="nn.Container` is deprecated"):
        ours = nn.Container(a=nn.Linear(2, 3), b=nn.ReLU())
    with pytest.warns(FutureWarning, match="nn.Container` is deprecated"):
        theirs = torch.nn.Container(a=torch.nn.Linear(2, 3), b=torch.nn.ReLU())
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("program", ["insert 2", "insert -2", "insert 3", "insert -3", "times 2", "2 times",
                                     "in place 3", "times 0", "times 1.5"])
def test_sequential_insert_range_and_repetition_as_torch(program):
    def run(lib):
        try:
            return _program(lib)
        except (IndexError, ValueError, TypeError) as e:
            return type(e).__name__

    def _program(lib):
        s = lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Tanh())
        op, arg = program.rsplit(" ", 1) if program[0] != "2" else ("2 times", None)
        if op == "insert":
            s.insert(int(arg), lib.nn.Sigmoid())
        elif op == "times":
            s = s * float(arg) if "." in arg else s * int(arg)
        elif op == "in place":
            s *= int(arg)
        else:
            s = 2 * s
        return [(n, type(m).__name__) for n, m in s._modules.items()], len(list(s.parameters()))

    assert run(cr) == run(torch)


@pytest.mark.parametrize("given", ["not iterable", "triples"])
def test_module_dict_update_refuses_what_is_not_pairs_as_torch(given):
    for lib in (cr, torch):
        value = 3 if given == "not iterable" else [("a", lib.nn.ReLU(), 1)]
        with pytest.raises(TypeError if given == "not iterable" else ValueError, match="ModuleDict.update"):
            lib.nn.ModuleDict().update(value)

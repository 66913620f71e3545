"""Module: registration, traversal, state_dict round trips and errors, modes, repr,
containers, copying, and the Module as a pytree of the functional transforms."""

import copy

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4, rng=0)
        self.norm = nn.BatchNorm1d(4)
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))
        self.register_buffer("steps", np.zeros((), dtype=np.int64))
        self.note = "plain attribute"

    def forward(self, x):
        return self.norm(self.fc(x)) * self.scale


def test_registration_and_order_of_parameters_buffers_and_modules():
    b = Block()
    assert [n for n, _ in b.named_parameters()] == ["scale", "fc.weight", "fc.bias", "norm.weight", "norm.bias"]
    assert [n for n, _ in b.named_buffers()] == [
        "steps", "norm.running_mean", "norm.running_var", "norm.num_batches_tracked"
    ]
    assert [n for n, _ in b.named_children()] == ["fc", "norm"]
    assert [n for n, _ in b.named_modules()] == ["", "fc", "norm"]
    assert list(b.state_dict()) == [
        "scale", "steps", "fc.weight", "fc.bias",
        "norm.weight", "norm.bias", "norm.running_mean", "norm.running_var", "norm.num_batches_tracked",
    ]
    # reassigning and deleting keep the registries in step with the attributes
    b.fc = nn.Linear(3, 4)
    del b.scale
    assert "scale" not in dict(b.named_parameters())
    with pytest.raises(TypeError, match="wrap it in nn.Parameter"):
        b.fc.weight = np.zeros((4, 3))
    b.fc.bias = None
    assert [n for n, _ in b.fc.named_parameters()] == ["weight"]


def test_dtype_conversion_keeps_parameter_objects():
    b = Block()
    w = b.fc.weight
    assert b.double() is b and b.fc.weight is w and w.dtype == np.float64
    assert b.norm.running_mean.dtype == np.float64 and b.steps.dtype == np.int64
    b(np.ones((3, 3))).sum().backward()
    b.float()
    assert w.dtype == np.float32 and w.grad.dtype == np.float32
    with pytest.raises(TypeError, match="floating-point"):
        b.to(np.int32)


def test_shared_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    net = nn.Sequential(shared, nn.Tanh(), shared)
    assert len(list(net.parameters())) == 2


def test_assigning_before_init_gives_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Bad()


def test_parameter_is_a_float_tensor_that_requires_grad():
    p = nn.Parameter(np.arange(3.0))
    assert isinstance(p, cr.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:")
    with pytest.raises(TypeError, match="floating-point"):
        nn.Parameter(np.arange(3))
    frozen = nn.Parameter(np.zeros(2), requires_grad=False)
    assert not frozen.requires_grad


def test_state_dict_round_trip_is_bit_exact_and_shares_no_memory_with_the_copy():
    a, b = Block(), Block()
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    a(x)  # moves the running statistics
    b.load_state_dict(a.state_dict())
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert va.numpy().tobytes() == vb.numpy().tobytes(), k
    # load_state_dict writes in place: the Parameter objects stay the same
    w = b.fc.weight
    b.load_state_dict(Block().state_dict())
    assert b.fc.weight is w


def test_load_state_dict_reports_missing_unexpected_and_shape_errors_and_changes_nothing():
    b = Block()
    before = {k: v.numpy().copy() for k, v in b.state_dict().items()}
    sd = {k: v.numpy() * 2 for k, v in Block().state_dict().items()}
    del sd["fc.bias"]
    sd["extra"] = np.zeros(1)
    with pytest.raises(nn.StateDictError, match="unexpected keys: extra.*missing keys: fc.bias"):
        b.load_state_dict(sd)
    sd2 = {k: v.numpy() for k, v in Block().state_dict().items()}
    sd2["fc.weight"] = np.zeros((3, 4), dtype=np.float32)
    with pytest.raises(nn.StateDictError, match=r"size mismatch for fc.weight.*\(3, 4\).*\(4, 3\)"):
        b.load_state_dict(sd2)
    for k, v in b.state_dict().items():
        assert np.array_equal(v.numpy(), before[k]), k
    # strict=False skips the keys but still refuses shapes
    result = b.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["fc.bias"] and result.unexpected_keys == ["extra"]
    with pytest.raises(nn.StateDictError, match="size mismatch"):
        b.load_state_dict(sd2, strict=False)
    with pytest.raises(nn.StateDictError, match="dtype mismatch"):
        b.load_state_dict({**{k: v.numpy() for k, v in Block().state_dict().items()},
                           "fc.weight": np.zeros((4, 3), dtype=np.complex64)})


def test_load_state_dict_invalidates_a_graph_that_saved_the_old_values():
    m = nn.Linear(2, 1, dtype=np.float64)
    x = cr.tensor(np.ones((1, 2)), requires_grad=True)
    out = (m(x) ** 2).sum()
    m.load_state_dict(nn.Linear(2, 1, dtype=np.float64).state_dict())
    with pytest.raises(RuntimeError, match="modified in place"):
        out.backward()


def test_train_eval_and_zero_grad():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.BatchNorm1d(2))
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    F.mse_loss(net(np.ones((4, 2), dtype=np.float32)), np.zeros((4, 2), dtype=np.float32)).backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_repr_is_nested_and_readable():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16, 2))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
        "  (1): ReLU()\n"
        "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"  # as PyTorch prints it
        "  (3): Flatten(start_dim=1, end_dim=-1)\n"
        "  (4): Linear(in_features=16, out_features=2, bias=True)\n"
        ")"
    )
    assert "(fc): Linear(in_features=3, out_features=4, bias=True)" in repr(Block())


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[1], nn.Tanh)
    assert isinstance(seq[:2], nn.Sequential) and len(seq[:2]) == 2
    named = nn.Sequential({"a": nn.Linear(2, 2), "b": nn.ReLU()})
    assert [n for n, _ in named.named_children()] == ["a", "b"]
    ml = nn.ModuleList([nn.Linear(2, 2)])
    ml.append(nn.Linear(2, 3))
    ml.insert(0, nn.Linear(2, 4))
    assert [m.out_features for m in ml] == [4, 2, 3]
    assert list(ml.state_dict())[:2] == ["0.weight", "0.bias"]
    del ml[0]
    assert [m.out_features for m in ml] == [2, 3] and len(list(ml.parameters())) == 4
    md = nn.ModuleDict({"x": nn.Linear(1, 1)})
    md["y"] = nn.Linear(1, 2)
    assert "y" in md and len(md) == 2 and list(md) == ["x", "y"]
    with pytest.raises(TypeError, match="expected a Module"):
        nn.Sequential(nn.Linear(1, 1), lambda x: x)


def test_deepcopy_gives_independent_parameters():
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    twin = copy.deepcopy(net)
    for p, q in zip(net.parameters(), twin.parameters(), strict=True):
        assert p is not q and np.array_equal(p.detach().numpy(), q.detach().numpy())
        assert q.requires_grad
    x = np.ones((3, 2), dtype=np.float32)
    twin(x).sum().backward()
    assert all(p.grad is None for p in net.parameters())
    assert all(q.grad is not None for q in twin.parameters())
    with cr.no_grad():
        twin[0].weight.add_(1.0)
    assert not np.array_equal(net[0].weight.detach().numpy(), twin[0].weight.detach().numpy())


# -- the Module as a pytree -----------------------------------------------------------------
def loss_fn(model, x, y):
    return F.cross_entropy(model(x), y)


def _mlp():
    return nn.Sequential(nn.Linear(4, 8, dtype=np.float64, rng=1), nn.Tanh(), nn.Linear(8, 3, dtype=np.float64, rng=2))


def test_grad_of_a_model_is_shaped_like_the_model_and_equals_backward():
    model = _mlp()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    grads = cr.grad(loss_fn)(model, x, y)
    assert type(grads) is nn.Sequential and isinstance(grads[0], nn.Linear)
    loss_fn(model, x, y).backward()
    for (name, p), (gname, g) in zip(model.named_parameters(), grads.named_parameters(), strict=True):
        assert name == gname
        assert isinstance(g, np.ndarray) and g.shape == p.shape
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-12, atol=1e-15)
    # value_and_grad, and a functional SGD step with tree_map
    value, grads = cr.value_and_grad(loss_fn)(model, x, y)
    stepped = cr.tree_map(lambda p, g: p.detach().numpy() - 0.5 * g, model, grads)
    assert type(stepped) is nn.Sequential
    assert loss_fn(stepped, x, y) < value


def test_grad_of_a_layer_without_bias_keeps_the_none():
    layer = nn.Linear(3, 2, bias=False, dtype=np.float64)
    grads = cr.grad(lambda m, x: (m(x) ** 2).sum())(layer, np.ones((4, 3)))
    assert grads.bias is None and grads.weight.shape == (2, 3)


def test_model_pytree_supports_jvp_and_hessian_vector_products():
    model = _mlp()
    x, y = np.random.default_rng(1).standard_normal((3, 4)), np.array([0, 1, 2])
    leaves, tree = cr.tree_flatten(model)
    assert len(leaves) == 4
    tangent = cr.tree_unflatten(tree, [np.ones(np.shape(leaf)) for leaf in leaves])
    _, directional = cr.jvp(lambda m: loss_fn(m, x, y), (model,), (tangent,))
    grads = cr.grad(loss_fn)(model, x, y)
    expected = sum(float(np.sum(g)) for g in cr.tree_leaves(grads))
    assert directional == pytest.approx(expected, rel=1e-10)
    hvp = cr.grad(lambda m: cr.jvp(lambda mm: loss_fn(mm, x, y), (m,), (tangent,))[1])(model)
    assert type(hvp) is nn.Sequential


def test_batch_norm_in_a_transform_updates_the_running_statistics():
    bn = nn.BatchNorm1d(2, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((5, 2)) + 3.0
    cr.grad(lambda m: (m(x) ** 2).sum())(bn)
    assert np.all(bn.running_mean.numpy() > 0.2)
    assert int(bn.num_batches_tracked.item()) == 1


def test_pytorch_spellings_of_device_and_dtype_moves():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    assert net.to("cpu") is net and net.cpu() is net and net[0].weight.dtype == np.float32
    assert net.to("cpu", np.float64)[0].weight.dtype == np.float64
    assert net.to(device="cpu", dtype=np.float32)[0].weight.dtype == np.float32
    assert net.to(cr.tensor(np.zeros(1))).get_submodule("2").bias.dtype == np.float64
    assert net.half()[2].weight.dtype == np.float16
    assert net.to(np.float32)[0].weight.dtype == np.float32  # a NumPy scalar type is a dtype
    for device in ("cuda", 0, "cuda:1"):  # an integer is a GPU's index, as in PyTorch
        with pytest.raises(RuntimeError, match="CPU only"):
            net.to(device)
        with pytest.raises(RuntimeError, match="CPU only"):
            cr.ones(2).to(device)
    with pytest.raises(AttributeError, match="no sub-module"):
        net.get_submodule("0.weight")
    assert net.get_submodule("") is net


def test_parameter_data_assignment_and_parameter_vectors():
    layer = nn.Linear(3, 2, dtype=np.float64)
    x = cr.tensor(np.ones((1, 3)))
    y = layer(x).sum()
    layer.weight.data = cr.tensor(np.full((2, 3), 2.0))  # the graph keeps the values it saved
    y.backward()
    assert np.all(layer.weight.detach().numpy() == 2.0) and np.all(layer.weight.grad.numpy() == 1.0)
    vec = nn.utils.parameters_to_vector(layer.parameters())
    assert vec.shape == (8,) and vec.tolist()[:6] == [2.0] * 6
    nn.utils.vector_to_parameters(np.arange(8.0), layer.parameters())
    assert layer.weight.detach().numpy().ravel().tolist() == list(range(6))
    assert layer.bias.detach().tolist() == [6.0, 7.0]
    with pytest.raises(ValueError, match="8 values"):
        nn.utils.vector_to_parameters(np.arange(7.0), layer.parameters())
    with pytest.raises(RuntimeError):  # (PyTorch's error for a short vector)
        nn.utils.vector_to_parameters(np.arange(7.0), layer.parameters())
    # a longer vector: its first values, the rest unread (PyTorch's)
    nn.utils.vector_to_parameters(np.arange(10.0), layer.parameters())
    tl = torch.nn.Linear(3, 2)
    torch.nn.utils.vector_to_parameters(torch.arange(10.0), tl.parameters())
    assert layer.bias.detach().tolist() == tl.bias.detach().tolist() == [6.0, 7.0]
    nn.utils.vector_to_parameters(np.arange(8.0), layer.parameters())
    g = cr.grad(lambda m: (nn.utils.parameters_to_vector(m.parameters()) ** 2).sum())(layer)
    assert np.array_equal(g.bias, [12.0, 14.0])


def test_manual_seed_and_inference_mode_at_the_top_level():
    cr.manual_seed(5)
    a = nn.Linear(3, 2).weight.detach().numpy().copy()
    cr.manual_seed(5)
    assert np.array_equal(a, nn.Linear(3, 2).weight.detach().numpy())
    with cr.inference_mode():
        assert not nn.Linear(3, 2)(np.ones((1, 3), np.float32)).requires_grad


def test_forward_hooks_see_and_replace_arguments_and_outputs():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    features = {}
    h1 = net[1].register_forward_hook(lambda m, args, out: features.__setitem__("relu", out))
    h2 = net[2].register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    x = cr.tensor(np.ones((2, 3), np.float32))
    out = net(x)
    assert features["relu"].shape == (2, 4)
    np.testing.assert_array_equal(out.detach().numpy(), np.broadcast_to(net[2].bias.detach().numpy(), (2, 2)))
    h2.remove()
    h3 = net.register_forward_hook(lambda m, args, out: out * 2)
    doubled = net(x)
    h3.remove()
    np.testing.assert_allclose(doubled.detach().numpy(), 2 * net(x).detach().numpy(), rtol=1e-6)
    doubled.sum().backward()  # the hooks' arithmetic is on the graph
    assert net[0].weight.grad is not None
    h1.remove()
    features.clear()
    net(x)
    assert features == {}


_DEVICE_LAYERS = {
    "Linear": (2, 3), "Bilinear": (2, 2, 3), "Conv1d": (2, 3, 1), "Conv2d": (2, 3, 1), "ConvTranspose1d": (2, 3, 1),
    "ConvTranspose2d": (2, 3, 1), "BatchNorm1d": (2,), "InstanceNorm2d": (2,), "LayerNorm": (4,), "RMSNorm": (4,),
    "GroupNorm": (1, 2), "Embedding": (5, 2), "PReLU": (), "RNN": (2, 3), "LSTM": (2, 3), "GRU": (2, 3),
    "RNNCell": (2, 3), "LSTMCell": (2, 3), "GRUCell": (2, 3), "MultiheadAttention": (4, 2),
    "TransformerEncoderLayer": (4, 2, 8), "TransformerDecoderLayer": (4, 2, 8), "Transformer": (4, 2, 1, 1, 8),
}


@pytest.mark.parametrize("name", sorted(_DEVICE_LAYERS))
@pytest.mark.filterwarnings("ignore:enable_nested_tensor:UserWarning")
def test_layers_take_pytorchs_device_argument(name):
    # PyTorch code passes factory arguments: nn.LSTM(..., device=device, dtype=torch.float64)
    torch = pytest.importorskip("torch")
    args = _DEVICE_LAYERS[name]
    ours = getattr(nn, name)(*args, device="cpu", dtype=np.float64)
    theirs = getattr(torch.nn, name)(*args, device="cpu", dtype=torch.float64)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert all(p.dtype == np.float64 for p in ours.parameters())
    getattr(nn, name)(*args, device=cr.device("cpu"))
    with pytest.raises(RuntimeError, match=f"{name}\\(device='cuda:0'\\): chainrule computes on the CPU only"):
        getattr(nn, name)(*args, device="cuda:0")


def test_load_state_dict_with_assign_takes_the_tensors_themselves_as_torch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (cr, torch):
        m = lib.nn.Sequential(lib.nn.Linear(2, 1), lib.nn.BatchNorm1d(1))
        m[0].bias.requires_grad_(False)
        sd = {k: v.clone().double() for k, v in m.state_dict().items()}
        sd["0.weight"] = lib.nn.Parameter(lib.ones(1, 2, dtype=lib.float64))
        keys = m.load_state_dict(sd, assign=True)
        sd["0.bias"].fill_(3.0)  # the given Tensor is the parameter now
        sd["1.running_mean"].fill_(-1.0)
        results.append([m[0].weight is sd["0.weight"], str(m[0].weight.dtype).removeprefix("torch."),
                        isinstance(m[0].bias, lib.nn.Parameter), m[0].bias.requires_grad, m[0].bias.tolist(),
                        m[1].running_mean.tolist(), [n for n, _ in m.named_parameters()], list(keys.missing_keys)])
        with pytest.raises(RuntimeError, match="size mismatch"):
            m.load_state_dict({**sd, "0.weight": lib.ones(3, 3)}, assign=True)
    assert results[0] == results[1]


def _hooked_model_run(lib, pytest):
    class Scaled(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(2, 2)
            self.register_buffer("count", lib.zeros(1))

        def forward(self, x, scale=1.0):
            return self.lin(x) * scale

    m = Scaled()
    with lib.no_grad():
        m.lin.weight.copy_(lib.tensor([[1.0, 2.0], [3.0, 4.0]]))
        m.lin.bias.zero_()
    calls = []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {**kwargs, "scale": 10.0}), with_kwargs=True)
    m.register_forward_pre_hook(lambda mod, args: calls.append("first"), prepend=True)
    h = m.register_forward_hook(lambda mod, args, kwargs, out: out + kwargs["scale"], with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: calls.append(("plain", float(out.sum()))))
    y = m(lib.ones(1, 2), scale=2.0)
    h.remove()
    y2 = m(lib.ones(1, 2))
    m.register_module("extra", lib.nn.Identity())
    with pytest.raises(AttributeError):
        m.get_parameter("lin.nothing")
    return [y.tolist(), y2.tolist(), calls, m.get_parameter("lin.weight").shape == (2, 2),
            m.get_buffer("count").tolist(), [n for n, _ in m.named_children()]]


def test_hooks_with_kwargs_and_prepend_and_the_getters_as_torch():
    torch = pytest.importorskip("torch")
    assert _hooked_model_run(cr, pytest) == _hooked_model_run(torch, pytest)


def test_buffer_assigned_is_registered_as_torch():
    torch = pytest.importorskip("torch")
    keys = []
    for lib in (nn, torch.nn):
        m = lib.Module()
        m.a = lib.Buffer(np.zeros(2) if lib is nn else torch.zeros(2))
        m.b = lib.Buffer(np.ones(3) if lib is nn else torch.ones(3), persistent=False)
        m.a = np.full(2, 5.0) if lib is nn else torch.full((2,), 5.0)  # a plain value: the buffer's new value
        keys.append((list(m.state_dict()), [n for n, _ in m.named_buffers()], float(m.a.sum())))
    assert keys[0] == keys[1]


def _state_dict_internals_run(lib):
    # the internals model code overrides and hooks, written as for torch; torch is the oracle
    nn = lib.nn
    calls = []

    class Scaled(nn.Module):  # saves a plain attribute with the Tensors, reads it back
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.scale = lib.ones(2)

        def _save_to_state_dict(self, destination, prefix, keep_vars):
            super()._save_to_state_dict(destination, prefix, keep_vars)
            destination[prefix + "scale"] = self.scale.clone()

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                  error_msgs):
            calls.append(("load", prefix, local_metadata.get("version"), strict))
            key = prefix + "scale"
            if key in state_dict:
                self.scale = state_dict.pop(key).clone()
            elif strict:
                missing_keys.append(key)
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                          unexpected_keys, error_msgs)

    class Counted(nn.Module):  # extra state, and a cache made from the values just loaded
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(lib.zeros(2))
            self.count, self.cache = 0, None

        def get_extra_state(self):
            return {"count": self.count}

        def set_extra_state(self, state):
            self.count = state["count"]

        def _load_from_state_dict(self, *args):
            super()._load_from_state_dict(*args)
            self.cache = self.w.detach().clone().tolist()

    def fresh():
        return nn.Sequential(Scaled(), Counted())

    m = fresh()
    with lib.no_grad():
        m[0].scale.fill_(3.0)
        m[1].w.fill_(2.0)
    m[1].count = 7
    m.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: calls.append(("pre", prefix, keep_vars)))
    m[0].register_state_dict_post_hook(lambda mod, sd, prefix, meta: calls.append(("post", prefix, meta["version"])))
    m._register_state_dict_hook(lambda mod, sd, prefix, meta: type(sd)((k.replace("lin.", "fc."), v)
                                                                        for k, v in sd.items()))
    sd = m.state_dict()
    out = [list(sd), sorted(getattr(sd, "_metadata", {})), sd["1._extra_state"], list(calls)]
    calls.clear()
    n = fresh()
    n[0].register_load_state_dict_pre_hook(
        lambda mod, state, prefix, *rest: [state.__setitem__(k.replace("fc.", "lin."), state.pop(k))
                                           for k in [k for k in state if k.startswith(prefix + "fc.")]])
    n.register_load_state_dict_post_hook(lambda mod, keys: calls.append(("post", list(keys.missing_keys))))
    res = n.load_state_dict({k: v for k, v in sd.items() if k != "0.scale"}, strict=False)
    out += [list(res.missing_keys), list(res.unexpected_keys), n[0].scale.tolist(), n[1].count, n[1].cache,
            list(calls)]
    calls.clear()
    n[1].register_load_state_dict_post_hook(lambda mod, keys: keys.unexpected_keys.clear())
    n.load_state_dict({**sd, "1.stray": lib.zeros(1)})  # the hook forgives the stray key under strict
    out += [n[0].scale.tolist(), n[0].lin.weight.tolist() == m[0].lin.weight.tolist(), calls]
    return out


def test_state_dict_internals_overridden_and_hooked_as_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = _state_dict_internals_run(cr), _state_dict_internals_run(torch)
    assert ours == theirs
    assert ours[0] == ["0.scale", "0.fc.weight", "0.fc.bias", "1.w", "1._extra_state"]


def test_a_failed_load_changes_nothing_even_where_an_override_loaded_first():
    m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 3))
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    sd = {k: v * 0 + 5 for k, v in m.state_dict().items()}
    sd["1.weight"] = cr.zeros(4, 4)
    with pytest.raises(nn.StateDictError, match="size mismatch for 1.weight"):
        m.load_state_dict(sd)  # 0.weight was copied before 1.weight's shape was seen
    assert all(np.array_equal(v.numpy(), before[k]) for k, v in m.state_dict().items())


@pytest.mark.parametrize("lib_name", ["chainrule", "torch"])
def test_convolution_and_norm_base_classes_as_torch_s(lib_name):
    # init loops and BatchNorm freezing find layers by PyTorch's private base classes;
    # InstanceNorm is a _NormBase but not a _BatchNorm
    lib = pytest.importorskip("torch") if lib_name == "torch" else cr
    mods = lib.nn.modules
    layers = [lib.nn.Conv1d(2, 2, 1), lib.nn.Conv2d(2, 2, 1), lib.nn.Conv3d(2, 2, 1), lib.nn.ConvTranspose1d(2, 2, 1),
              lib.nn.ConvTranspose2d(2, 2, 1), lib.nn.ConvTranspose3d(2, 2, 1), lib.nn.BatchNorm1d(2),
              lib.nn.BatchNorm2d(2), lib.nn.SyncBatchNorm(2), lib.nn.InstanceNorm1d(2),
              lib.nn.InstanceNorm2d(2, affine=True), lib.nn.Linear(2, 2), lib.nn.GroupNorm(1, 2), lib.nn.LayerNorm(2)]
    bases = [mods.conv._ConvNd, mods.conv._ConvTransposeNd, mods.batchnorm._BatchNorm, mods.batchnorm._NormBase,
             mods.instancenorm._InstanceNorm]
    table = [[isinstance(m, b) for b in bases] + [getattr(m, "transposed", None)] for m in layers]
    assert table == [[True, False, False, False, False, False]] * 3 + [[True, True, False, False, False, True]] * 3 + \
        [[False, False, True, True, False, None]] * 3 + [[False, False, False, True, True, None]] * 2 + \
        [[False] * 5 + [None]] * 3
    frozen = [type(m).__name__ for m in lib.nn.Sequential(*layers).modules()
              if isinstance(m, mods.batchnorm._BatchNorm)]
    assert frozen == ["BatchNorm1d", "BatchNorm2d", "SyncBatchNorm"]
    assert mods.module.Module is lib.nn.Module and mods.conv.Conv2d is lib.nn.Conv2d
    # no convolution derives from another of a different dimension
    assert [[isinstance(m, c) for c in (lib.nn.ConvTranspose1d, lib.nn.ConvTranspose2d, lib.nn.ConvTranspose3d)]
            for m in layers[3:6]] == [[True, False, False], [False, True, False], [False, False, True]]


def _norm_reset_run(lib):
    # BatchNorm recalibration code: reset the statistics, then re-estimate them
    bn, inorm = lib.nn.BatchNorm1d(3), lib.nn.InstanceNorm1d(3, affine=True, track_running_stats=True)
    x = lib.tensor(np.arange(24.0).reshape(2, 3, 4).tolist())
    for m in (bn, inorm):
        m(x)
        with lib.no_grad():
            m.weight.mul_(3.0)
    out = []
    for m in (bn, inorm):
        m.reset_running_stats()
        out.append([m.running_mean.tolist(), m.running_var.tolist(), int(m.num_batches_tracked), m.weight.tolist()])
        m.reset_parameters()
        out.append([m.weight.tolist(), m.bias.tolist(), m.weight.requires_grad])
    return out


def test_norm_layers_reset_their_statistics_and_parameters_as_torch():
    torch = pytest.importorskip("torch")
    assert _norm_reset_run(cr) == _norm_reset_run(torch)


def _buffer_internals_run(lib):
    m = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))
    m[1].register_buffer("scratch", lib.zeros(1))
    m[1]._non_persistent_buffers_set.add("scratch")  # made non-persistent after the fact, as torch code does
    return [sorted(m[1]._non_persistent_buffers_set), m[0]._version, m[1]._version, list(m.state_dict())]


def test_buffer_and_version_internals_as_torch():
    torch = pytest.importorskip("torch")
    assert _buffer_internals_run(cr) == _buffer_internals_run(torch)


def _apply_override_run(lib):
    class Rotary(lib.nn.Module):  # a cache kept as a plain attribute, moved by its _apply
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(2, 2)
            self.cache = lib.ones(3)
            self.calls = 0

        def forward(self, x):
            return self.lin(x) * self.cache[:2]

        def _apply(self, fn, *args, **kwargs):
            self.calls += 1
            super()._apply(fn, *args, **kwargs)
            self.cache = fn(self.cache)
            return self

    m = lib.nn.Sequential(Rotary())
    w = m[0].lin.weight
    m(lib.ones(1, 2)).sum().backward()
    out = []
    for move in (lambda: m.double(), lambda: m.to(lib.float16), lambda: m.float(), lambda: m.cpu()):
        assert move() is m
        out.append([str(m[0].cache.dtype).removeprefix("torch."), str(w.dtype).removeprefix("torch."),
                    str(w.grad.dtype).removeprefix("torch."), m[0].lin.weight is w, m[0].calls])
    return out


def test_to_and_dtype_moves_go_through_apply_as_torch():
    torch = pytest.importorskip("torch")
    assert _apply_override_run(cr) == _apply_override_run(torch)


REGISTRATIONS = {
    "buffer_over_attribute": lambda L, m: m.register_buffer("plain", L.zeros(1)),
    "buffer_over_parameter": lambda L, m: m.register_buffer("p", L.zeros(1)),
    "buffer_over_method": lambda L, m: m.register_buffer("forward", L.zeros(1)),
    "buffer_again": lambda L, m: m.register_buffer("b", L.ones(1)),
    "buffer_dotted": lambda L, m: m.register_buffer("x.y", L.zeros(1)),
    "buffer_empty": lambda L, m: m.register_buffer("", L.zeros(1)),
    "buffer_assigned_over_attribute": lambda L, m: setattr(m, "plain", L.nn.Buffer(L.zeros(1))),
    "parameter_over_attribute": lambda L, m: m.register_parameter("plain", None),
    "parameter_over_module": lambda L, m: m.register_parameter("lin", L.nn.Parameter(L.zeros(1))),
    "parameter_again": lambda L, m: m.register_parameter("p", None),
    "parameter_dotted": lambda L, m: m.register_parameter("q.r", None),
    "parameter_not_a_string": lambda L, m: m.register_parameter(1, None),
    "module_over_attribute": lambda L, m: m.add_module("plain", L.nn.ReLU()),
    "module_again": lambda L, m: m.add_module("lin", L.nn.ReLU()),
    "module_dotted": lambda L, m: m.add_module("s.t", L.nn.ReLU()),
    "module_numbered": lambda L, m: m.add_module("0", L.nn.ReLU()),
    "module_dict_key_forward": lambda L, m: L.nn.ModuleDict({"forward": L.nn.ReLU()}),
}


@pytest.mark.parametrize("register", REGISTRATIONS.values(), ids=REGISTRATIONS.keys())
def test_registering_a_name_taken_by_an_attribute_or_dotted_is_refused_as_pytorch(register):
    torch = pytest.importorskip("torch")
    # register_buffer("plain", ...) over a plain attribute, or a dotted name (a state_dict key
    # that load_state_dict reads as a submodule's), was accepted
    found = []
    for lib in (torch, cr):
        m = lib.nn.Module()
        m.plain = 3
        m.lin = lib.nn.Linear(1, 1)
        m.register_parameter("p", lib.nn.Parameter(lib.ones(1)))
        m.register_buffer("b", lib.zeros(1))
        try:
            register(lib, m)
        except (KeyError, TypeError) as e:
            found.append(type(e))
        else:
            found.append(sorted(m.state_dict()))
    assert found[0] == found[1]

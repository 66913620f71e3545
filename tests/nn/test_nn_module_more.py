"""Module methods PyTorch programs call beyond the core ones (share_memory, set_submodule,
to_empty, type, compile) and Tensor.is_inference; forward hooks with always_call, hook
handles, train() through the children, registration refusals, the dtype shorthands and
load_state_dict's corner cases, each against
PyTorch's answer."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LIBS = [pytest.param((cr, nn), id="chainrule"), pytest.param((torch, torch.nn), id="torch")]


def _tree(lnn):
    inner = lnn.Sequential(lnn.Linear(2, 2), lnn.ReLU())
    return lnn.Sequential(inner, lnn.Linear(2, 1))


@pytest.mark.parametrize("lib", LIBS)
def test_share_memory_returns_the_module(lib):
    _, lnn = lib
    m = _tree(lnn)
    assert m.share_memory() is m


@pytest.mark.parametrize("lib", LIBS)
def test_set_submodule_replaces_and_adds_as_torch(lib):
    _, lnn = lib
    m = _tree(lnn)
    assert m.set_submodule("0.1", lnn.Tanh()) is None
    assert type(m[0][1]).__name__ == "Tanh"
    m.set_submodule("0.extra", lnn.Identity())  # a new name under an existing parent
    assert [n for n, _ in m.named_children()] == ["0", "1"] and "extra" in dict(m[0].named_children())
    m.set_submodule("0.extra", lnn.ReLU(), strict=True)
    assert type(m.get_submodule("0.extra")).__name__ == "ReLU"


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize(("target", "module", "strict", "error"), [
    ("", "relu", False, ValueError),  # no target
    ("0.1", "not a module", False, ValueError),
    ("0.nope", "relu", True, AttributeError),  # strict: the name must exist
    ("missing.child", "relu", False, AttributeError),  # the parent must exist
    ("0.0.weight", "relu", False, AttributeError),  # a parameter is not a Module
])
def test_set_submodule_errors_as_torch(lib, target, module, strict, error):
    _, lnn = lib
    m = _tree(lnn)
    with pytest.raises(error):
        m.set_submodule(target, lnn.ReLU() if module == "relu" else module, strict=strict)


@pytest.mark.parametrize("lib", LIBS)
def test_to_empty_keeps_shapes_dtypes_and_parameter_objects(lib):
    _, lnn = lib
    m = _tree(lnn)
    m.append(lnn.BatchNorm1d(1))
    params = list(m.parameters())
    before = {n: (tuple(p.shape), str(p.dtype)) for n, p in m.state_dict(keep_vars=True).items()}
    assert m.to_empty(device="cpu") is m
    after = m.state_dict(keep_vars=True)
    assert list(after) == list(before)
    for n, (shape, dtype) in before.items():
        assert tuple(after[n].shape) == shape and str(after[n].dtype) == dtype
    assert all(a is b for a, b in zip(params, m.parameters(), strict=True))  # the optimizer's stay valid


@pytest.mark.parametrize("lib", LIBS)
def test_to_empty_without_recursion_leaves_the_children(lib):
    lt, lnn = lib
    m = lnn.Linear(2, 2)
    m.child = lnn.Linear(2, 2)
    kept = m.child.weight.detach().clone()
    m.to_empty(device="cpu", recurse=False)
    assert lt.equal(m.child.weight.detach(), kept)


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("spelling", ["dtype", "torch.DoubleTensor"])
def test_type_casts_parameters_and_buffers(lib, spelling):
    lt, lnn = lib
    m = lnn.Sequential(lnn.Linear(2, 2), lnn.BatchNorm1d(2))
    params = list(m.parameters())
    assert m.type(lt.float64 if spelling == "dtype" else spelling) is m
    dtypes = {n: str(t.dtype).removeprefix("torch.") for n, t in m.state_dict().items()}
    assert set(dtypes.values()) == {"float64"}  # num_batches_tracked too, as PyTorch's
    assert all(a is b for a, b in zip(m.parameters(), params, strict=True))
    out = m(lt.ones(3, 2, dtype=lt.float64))
    assert str(out.dtype).removeprefix("torch.") == "float64"


def test_compile_returns_none_and_the_module_runs_as_before():
    m = nn.Linear(2, 1, dtype=np.float64)
    x = cr.ones(3, 2, dtype=np.float64)
    before = m(x).detach().numpy()
    assert m.compile() is None and m.compile(mode="max-autotune", fullgraph=True) is None
    np.testing.assert_array_equal(m(x).detach().numpy(), before)
    with pytest.raises(TypeError):
        m.compile(no_such_option=1)


@pytest.mark.parametrize("lib", LIBS)
def test_is_inference_of_ordinary_tensors(lib):
    lt, lnn = lib
    x = lt.ones(2)
    with lt.no_grad():
        y = x * 2
    assert (x.is_inference(), y.is_inference(), lnn.Linear(2, 2).weight.is_inference()) == (False, False, False)


def _outcome(run, lib):
    """What ``run(lib)`` returned, or the built-in class of the exception it raised."""
    try:
        return run(lib)
    except Exception as e:  # noqa: BLE001 - the kind of error is the result compared
        return "raised " + next(c.__name__ for c in type(e).__mro__ if c.__module__ == "builtins")


def _failing_call(lib, where):
    """A module with forward hooks of each kind, called so that it raises at ``where``;
    the log of the hooks that ran, each with the output it saw."""
    log = []

    class Net(lib.nn.Module):
        def forward(self, x):
            if where == "forward":
                raise ValueError("forward")
            return x * 2

    def pre(m, args):
        if where == "pre-hook":
            raise KeyError("pre-hook")
        return (args[0] + 1,)

    def later(m, args, out):
        log.append(("later", out.tolist()))
        if where == "hook":
            raise IndexError("hook")
        return out + 10

    net = Net()
    net.register_forward_pre_hook(pre)
    net.register_forward_hook(lambda m, a, out: log.append(("always", None if out is None else out.tolist(),
                                                            a[0].tolist())), always_call=True)
    net.register_forward_hook(later)
    net.register_forward_hook(lambda m, a, k, out: log.append(("always kw", out is None, k)), always_call=True,
                              with_kwargs=True)
    net.register_forward_hook(lambda m, a, out: log.append(("first", out is None)), always_call=True, prepend=True)
    net.register_forward_hook(lambda m, a, out: log.append(("plain", out.tolist())))
    handle = lib.nn.modules.module.register_module_forward_hook(
        lambda m, a, out: log.append(("global", out is None)), always_call=True)
    try:
        log.append(("returned", net(lib.ones(2)).tolist()))
    except (KeyError, ValueError, IndexError) as e:
        log.append(("raised", type(e).__name__))
    finally:
        handle.remove()
    return log


@pytest.mark.parametrize("where", ["nowhere", "pre-hook", "forward", "hook"])
def test_forward_hooks_with_always_call_run_when_the_call_raises_as_torch(where):
    assert _failing_call(cr, where) == _failing_call(torch, where)


def test_an_always_called_hook_that_raises_after_an_error_is_a_warning_as_torch():
    for lib in (cr, torch):
        m = lib.nn.Identity()
        m.register_forward_pre_hook(lambda mod, args: 1 / 0)
        m.register_forward_hook(lambda mod, args, out: [][0], always_call=True)
        with pytest.warns(UserWarning, match="always_call=True"), pytest.raises(ZeroDivisionError):
            m(lib.ones(1))


def _handles_run(lib):
    m, calls = lib.nn.Identity(), []

    def hook(mod, args, out):
        calls.append(len(calls))

    first, second = m.register_forward_hook(hook), m.register_forward_hook(hook)
    first.remove()
    first.remove()  # removes nothing more: the second registration stays
    m(lib.ones(1))
    with m.register_forward_pre_hook(lambda mod, args: calls.append("inside")) as third:
        m(lib.ones(1))
    m(lib.ones(1))
    second.remove()
    m(lib.ones(1))
    return calls, second.id > first.id, third.id > second.id


def test_hook_handles_remove_once_and_are_context_managers_as_torch():
    assert _handles_run(cr) == _handles_run(torch)


@pytest.mark.parametrize("returned", ["args only", "one tuple", "three"])
def test_a_pre_hook_with_kwargs_must_return_args_and_kwargs_as_torch(returned):
    def run(lib):
        m = lib.nn.Identity()
        value = {"args only": lambda a, k: a[0], "one tuple": lambda a, k: (a,), "three": lambda a, k: (a, k, k)}
        m.register_forward_pre_hook(lambda mod, a, k: value[returned](a, k), with_kwargs=True)
        return m(lib.ones(1)).tolist()

    assert _outcome(run, cr) == _outcome(run, torch) == "raised RuntimeError"


def _train_run(lib, mode):
    class FrozenNorm(lib.nn.Module):  # keeps its batch norm in evaluation mode, as detection code does
        def __init__(self):
            super().__init__()
            self.bn = lib.nn.BatchNorm1d(2)
            self.calls = []

        def train(self, mode=True):
            self.calls.append(mode)
            super().train(mode)
            self.bn.eval()
            return self

    net = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Sequential(FrozenNorm()))

    def run(lib):
        net.eval()
        net.train(mode)
        return [m.training for m in net.modules()], net[1][0].calls

    return _outcome(run, lib)


@pytest.mark.parametrize("mode", [True, False, 1, "yes", None])
def test_train_calls_each_child_s_train_and_takes_a_bool_as_torch(mode):
    assert _train_run(cr, mode) == _train_run(torch, mode)


@pytest.mark.parametrize("lib", LIBS)
def test_a_module_under_two_names_is_one_child_as_torch(lib):
    _, lnn = lib
    shared = lnn.Linear(2, 2)
    net = lnn.Sequential(shared, lnn.ReLU(), shared)
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert [n for n, _ in net.named_children()] == ["0", "1"]
    assert [n for n, _ in net.named_modules(remove_duplicate=False)] == ["", "0", "1", "2"]
    assert seen == ["Linear", "ReLU", "Sequential"]


_WRONG_ASSIGNMENTS = {
    "module onto a parameter": lambda lib, m: setattr(m, "weight", lib.nn.ReLU()),
    "string onto a buffer": lambda lib, m: setattr(m, "running_mean", "zeros"),
    "tensor onto a parameter": lambda lib, m: setattr(m, "bias", lib.ones(2)),
    "number onto a module": lambda lib, m: setattr(m.inner, "0", 3),
}


@pytest.mark.parametrize("name", sorted(_WRONG_ASSIGNMENTS))
def test_assigning_the_wrong_kind_to_a_registered_name_is_refused_as_torch(name):
    def run(lib):
        m = lib.nn.BatchNorm1d(2)
        m.inner = lib.nn.Sequential(lib.nn.ReLU())
        _WRONG_ASSIGNMENTS[name](lib, m)
        return [n for n, _ in m.named_parameters()], [n for n, _ in m.named_buffers()]

    assert _outcome(run, cr) == _outcome(run, torch) == "raised TypeError"


@pytest.mark.parametrize("lib", LIBS)
def test_registering_a_buffer_before_init_is_an_attribute_error(lib):
    _, lnn = lib

    class Early(lnn.Module):
        def __init__(self):
            self.register_buffer("count", None)
            super().__init__()

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


@pytest.mark.parametrize("cast", ["float", "double", "half"])
def test_float_double_half_leave_complex_and_integer_tensors_as_torch(cast):
    def run(lib):
        m = lib.nn.Module()
        m.z = lib.nn.Parameter(lib.tensor([1 + 2j, 3j], dtype=lib.complex64))
        m.w = lib.nn.Parameter(lib.ones(2, dtype=lib.float64))
        m.register_buffer("n", lib.ones(2, dtype=lib.int64))
        getattr(m, cast)()
        return [str(t.dtype).removeprefix("torch.") for t in (m.z, m.w, m.n)], m.z.detach().numpy().tolist()

    assert run(cr) == run(torch)


@pytest.mark.parametrize("saved", [[2.5], [2.5, 7.0]])
@pytest.mark.parametrize("assign", [False, True])
def test_a_0d_buffer_loads_a_1d_value_as_torch(saved, assign):
    # checkpoints of older PyTorch kept 0-d Tensors as 1-d; PyTorch loads one of one value
    def run(lib):
        m = lib.nn.Module()
        m.register_buffer("scale", lib.tensor(1.0))
        m.load_state_dict({"scale": lib.tensor(saved)}, assign=assign)
        return m.scale.tolist()

    assert _outcome(run, cr) == _outcome(run, torch)


@pytest.mark.parametrize("given", ["Parameter", "Tensor"])
@pytest.mark.parametrize("frozen", [False, True])
def test_load_with_assign_keeps_the_model_s_requires_grad_as_torch(given, frozen):
    def run(lib):
        m = lib.nn.Linear(2, 1)
        m.weight.requires_grad_(not frozen)
        w = lib.zeros(1, 2, requires_grad=True)
        sd = {"weight": lib.nn.Parameter(w) if given == "Parameter" else w, "bias": lib.zeros(1)}
        m.load_state_dict(sd, assign=True)
        return type(m.weight).__name__, m.weight.requires_grad, m.bias.requires_grad

    assert run(cr) == run(torch)


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("name", ["_call_impl", "_wrapped_call_impl"])
def test_the_call_with_hooks_under_pytorch_s_private_names(lib, name):
    mod, lnn = lib

    class Logged(lnn.Linear):
        def __call__(self, *args):  # an override that still runs the hooks
            return getattr(lnn.Module, name)(self, *args)

    layer, seen = Logged(2, 1), []
    layer.register_forward_hook(lambda m, args, out: seen.append(tuple(out.shape)))
    layer(mod.ones(3, 2))
    assert seen == [(3, 1)]


@pytest.mark.parametrize("name, args", [("_single", (3,)), ("_pair", (3,)), ("_pair", ([1, 2],)),
                                        ("_triple", ((1, 2, 3),)), ("_quadruple", (0,)), ("_pair", ((5,),)),
                                        ("_reverse_repeat_tuple", ((1, 2, 3), 2)), ("_reverse_repeat_tuple", ([4], 0))])
def test_the_size_helpers_layers_import_give_torch_s(name, args):
    # from torch.nn.modules.utils import _pair, as convolution layers written for PyTorch do
    assert getattr(nn.modules.utils, name)(*args) == getattr(torch.nn.modules.utils, name)(*args)
    assert nn.modules.utils._ntuple(3, "parse")(2) == torch.nn.modules.utils._ntuple(3, "parse")(2)


_STORES = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks", "_state_dict_hooks",
           "_state_dict_pre_hooks", "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks",
           "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks_with_kwargs")


def _hook_store_program(lib, case):
    """What code written for PyTorch does with a module's dicts of hooks (feature
    extractors, pruning libraries): the handles' ids stand as their registration order."""
    from collections import OrderedDict

    m, log = lib.nn.Linear(2, 2), []
    glob = lib.nn.modules.module
    fwd = [lambda mod, a, out, i=i: log.append(("fwd", i)) for i in range(3)]
    handles = [m.register_forward_hook(fwd[0]), m.register_forward_hook(fwd[1], prepend=True),
               m.register_forward_hook(lambda mod, a, k, out: log.append(("kw", sorted(k))), with_kwargs=True,
                                       always_call=True),
               m.register_forward_pre_hook(lambda mod, a: log.append("pre"), prepend=True),
               m.register_full_backward_hook(lambda mod, gi, go: log.append("bwd")),
               m.register_full_backward_pre_hook(lambda mod, go: log.append("bwd pre"), prepend=True),
               m.register_state_dict_pre_hook(lambda mod, prefix, keep: log.append("sd pre")),
               glob.register_module_forward_hook(lambda mod, a, out: log.append("global"))]
    order = {h.id: i for i, h in enumerate(handles)}

    def stores():
        return {name: [order.get(k, "?") for k in getattr(m, name)] for name in _STORES}

    if case == "items":
        log.append(stores())
        log.append([type(getattr(m, name)).__name__ for name in _STORES])
        log.append([h is fwd[1] for _, h in m._forward_hooks.items()])
        log.append([order[k] for k in glob._global_forward_hooks if k in order])
    elif case == "clear":
        m._forward_hooks.clear()
        m._forward_pre_hooks.clear()
    elif case == "del":
        del m._forward_hooks[handles[0].id]
        del m._backward_hooks[handles[4].id]
        handles[0].remove()  # removes nothing more
    elif case == "reassign":
        m._forward_hooks = OrderedDict()
        m._backward_pre_hooks = OrderedDict()
        handles[2].remove()  # in the dicts it was put in
    elif case == "remove":
        for h in handles[::2]:
            h.remove()
    elif case == "fresh":
        log.append({name: len(getattr(lib.nn.Tanh(), name)) for name in _STORES})
    elif case == "global clear":
        glob._global_forward_hooks.clear()
    try:
        m(lib.ones(1, 2, requires_grad=True)).sum().backward()
        m.state_dict()
        log.append(stores())
    finally:
        handles[-1].remove()
    return log


@pytest.mark.parametrize("case", ["items", "clear", "del", "reassign", "remove", "fresh", "global clear"])
def test_hooks_are_kept_in_dicts_under_the_handles_ids_as_torch(case):
    assert _hook_store_program(cr, case) == _hook_store_program(torch, case)

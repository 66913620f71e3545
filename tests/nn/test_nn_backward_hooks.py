"""Module.register_full_backward_hook and register_full_backward_pre_hook against PyTorch:
what the hooks see (grad_input per positional argument, None where an argument is off the
graph; grad_output per output), how often they run, and the gradients after a hook
replaces grad_input or grad_output."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

rng = np.random.default_rng(3)
X = rng.normal(size=(4, 3))
Y = rng.normal(size=(4, 3))
W = rng.normal(size=(2, 3))


def _as_list(gs):
    return [None if g is None else np.array(g.tolist()) for g in gs]


def _program(lib, hooks):
    """A Linear, a two-input module and a two-output module; ``hooks`` set on them."""
    base = torch.nn.Module if lib is torch else nn.Module

    class Mix(base):
        def forward(self, a, scale, b):
            return a * b * scale + a.tanh()

    class Split(base):
        def forward(self, a):
            return a.sin(), a * a

    lin = (torch.nn.Linear(3, 2).double() if lib is torch else nn.Linear(3, 2, dtype=np.float64))
    with (torch.no_grad() if lib is torch else cr.no_grad()):
        lin.weight.copy_(lib.tensor(W))
        lin.bias.zero_()
    mix, split = Mix(), Split()
    seen = []
    for name, module in (("lin", lin), ("mix", mix), ("split", split)):
        for kind, hook in hooks(name, seen):
            getattr(module, kind)(hook)
    x = lib.tensor(X.copy(), requires_grad=True)
    y = lib.tensor(Y.copy())  # off the graph
    u, v = split(mix(x, 0.5, y))
    loss = (lin(u) ** 2).sum() + (v * 3).sum()
    loss.backward()
    return seen, np.array(x.grad.tolist())


def _recorder(name, seen):
    return [("register_full_backward_hook", lambda m, gi, go: seen.append((name, _as_list(gi), _as_list(go)))),
            ("register_full_backward_pre_hook", lambda m, go: seen.append((name, "pre", _as_list(go))))]


def _scaler(name, seen):
    if name == "mix":  # replaces grad_input: halves the gradient reaching x
        return [("register_full_backward_hook",
                 lambda m, gi, go: tuple(None if g is None else g * 0.5 for g in gi))]
    if name == "split":  # replaces grad_output: drops the gradient of the first output
        return [("register_full_backward_pre_hook", lambda m, go: (go[0] * 0, go[1]))]
    return []


def _same(a, b):
    if isinstance(a, list | tuple):
        assert len(a) == len(b)
        for u, v in zip(a, b, strict=True):
            _same(u, v)
    elif isinstance(a, np.ndarray):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    else:
        assert a == b


@pytest.mark.parametrize("hooks", [_recorder, _scaler], ids=["record", "replace"])
def test_backward_hooks_match_torch(hooks):
    ours, theirs = _program(cr, hooks), _program(torch, hooks)
    _same(ours[0], theirs[0])
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)


def test_backward_hook_removed_and_wrong_arity():
    lin = nn.Linear(3, 2, dtype=np.float64)
    calls = []
    handle = lin.register_full_backward_hook(lambda m, gi, go: calls.append(1))
    lin(cr.tensor(X, requires_grad=True)).sum().backward()
    handle.remove()
    lin(cr.tensor(X, requires_grad=True)).sum().backward()
    assert calls == [1]
    lin.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="returned 2 gradients; the module has 1 positional inputs"):
        lin(cr.tensor(X, requires_grad=True)).sum().backward()


def test_backward_hooks_leave_no_grad_and_transforms_alone():
    lin = nn.Linear(3, 2, dtype=np.float64)
    lin.register_full_backward_hook(lambda m, gi, go: pytest.fail("no backward pass ran"))
    with cr.no_grad():
        assert lin(cr.tensor(X)).shape == (4, 2)
    g = cr.grad(lambda x: (lin(x) ** 2).sum())(X)
    assert g.shape == X.shape


def test_input_off_the_graph_gives_none_as_torch():
    seen = []
    for lib, layer in ((cr, nn.Linear(3, 2, dtype=np.float64)), (torch, torch.nn.Linear(3, 2).double())):
        layer.register_full_backward_hook(lambda m, gi, go: seen.append((gi, tuple(go[0].shape))))
        layer(lib.ones(4, 3, dtype=np.float64 if lib is cr else torch.float64)).sum().backward()
    assert seen[0][0] == seen[1][0] == (None,)
    assert seen[0][1] == seen[1][1] == (4, 2)


@pytest.mark.parametrize("name", ["ReLU", "Sigmoid", "Tanh", "LeakyReLU"])
def test_deprecated_backward_hook_of_a_one_operation_module_as_torch(name):
    x = np.random.default_rng(0).standard_normal((3, 4))
    seen = {}
    for lib, mod in ((cr, getattr(nn, name)()), (torch, getattr(torch.nn, name)())):
        def guided(m, gi, go, lib=lib):
            seen.setdefault(lib.__name__, []).append([g.detach().numpy().copy() for g in (*gi, *go)])
            return (gi[0].clamp(min=0.0),)
        mod.register_backward_hook(guided)
        t = lib.tensor(x, requires_grad=True)
        with pytest.warns(FutureWarning, match="non-full backward hook"):
            y = mod(t)
        (y * lib.tensor(x)).sum().backward()
        seen.setdefault(lib.__name__, []).append([t.grad.numpy()])
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full backward hooks"):
            mod.register_full_backward_hook(guided)
    for a, b in zip(seen["chainrule"], seen["torch"], strict=True):
        for u, v in zip(a, b, strict=True):
            np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-14)


def _global_hooks_program(lib):
    hooks = lib.nn.modules.module
    mod = torch.nn if lib is torch else nn
    model = mod.Sequential(mod.Linear(3, 4), mod.Tanh(), mod.Sequential(mod.Linear(4, 2), mod.Sigmoid())).double()
    with (torch.no_grad() if lib is torch else cr.no_grad()):
        for i, p in enumerate(model.parameters()):
            p.copy_(lib.tensor(np.cos(np.arange(p.numel()) + i).reshape(tuple(p.shape))))
    x = lib.tensor(X, requires_grad=True)
    log = []
    model[0].register_forward_hook(lambda m, a, o: log.append(("own", o.tolist())))
    handles = [
        hooks.register_module_forward_pre_hook(lambda m, a: log.append(("pre", type(m).__name__))),
        hooks.register_module_forward_hook(lambda m, a, o: o * 2 if type(m).__name__ == "Tanh" else None),
        hooks.register_module_forward_hook(lambda m, a, k, o: log.append(("kw", sorted(k))), with_kwargs=True),
        hooks.register_module_full_backward_hook(
            lambda m, gi, go: log.append(("bwd", type(m).__name__, _as_list(gi), _as_list(go)))),
        hooks.register_module_full_backward_pre_hook(
            lambda m, go: (go[0] * 0.5,) if type(m).__name__ == "Sigmoid" else None),
    ]
    model(x).sum().backward()
    for h in handles:
        h.remove()
    after = model(x)  # no hook runs once removed
    return log, x.grad.tolist(), [p.grad.tolist() for p in model.parameters()], after.tolist()


def test_global_module_hooks_run_for_every_module_as_pytorchs():
    # torch.nn.modules.module.register_module_forward_hook and the like (profilers, FLOP
    # counters): ahead of each module's own hooks, in PyTorch's order
    ours, theirs = _global_hooks_program(cr), _global_hooks_program(torch)
    assert [e[:2] if e[0] != "own" else e[0] for e in ours[0]] == [e[:2] if e[0] != "own" else e[0] for e in theirs[0]]
    for a, b in zip(ours[0], theirs[0], strict=True):
        if a[0] == "own":
            np.testing.assert_allclose(a[1], b[1], rtol=1e-12)
        for u, v in zip(a[2:], b[2:], strict=True):  # grad_input, grad_output
            assert [g is None for g in u] == [g is None for g in v]
            for g, h in zip(u, v, strict=True):
                if g is not None:
                    np.testing.assert_allclose(g, h, rtol=1e-12)
    for a, b in zip([ours[1], *ours[2], ours[3]], [theirs[1], *theirs[2], theirs[3]], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("kind", ["pre-hook", "hook"])
def test_a_backward_hook_returning_the_wrong_number_of_gradients_raises_as_torch(kind):
    for lib in (cr, torch):
        layer = lib.nn.Linear(2, 2)
        if kind == "pre-hook":
            layer.register_full_backward_pre_hook(lambda m, go: (go[0], go[0]))
        else:
            layer.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
        with pytest.raises(RuntimeError, match="(invalid number|returned 2 gradients)"):
            layer(lib.ones(1, 2, requires_grad=True)).sum().backward()


def _none_grad_input_program(lib, kept, through, elsewhere):
    """A full backward hook that returns None for the inputs not in ``kept``: those get
    nothing from the module (``.grad`` None where no other path reaches them)."""
    base = torch.nn.Module if lib is torch else nn.Module

    class Mul(base):
        def forward(self, a, b):
            return a * b

    m = Mul()
    m.register_full_backward_hook(lambda mod, gi, go: tuple(g if i in kept else None for i, g in enumerate(gi)))
    a = lib.tensor(X[0].copy(), requires_grad=True)
    b = lib.tensor(Y[0].copy(), requires_grad=True)
    loss = m(a * 2 if through else a, b).sum()
    if elsewhere:
        loss = loss + (a * a).sum()
    loss.backward()
    return [None if t.grad is None else np.array(t.grad.tolist()) for t in (a, b)]


@pytest.mark.parametrize("kept", [(), (0,), (1,), (0, 1)])
@pytest.mark.parametrize("through", [False, True], ids=["leaf", "interior"])
@pytest.mark.parametrize("elsewhere", [False, True], ids=["only-path", "other-path"])
def test_a_none_in_the_returned_grad_input_gives_that_input_nothing_as_torch(kept, through, elsewhere):
    ours = _none_grad_input_program(cr, kept, through, elsewhere)
    theirs = _none_grad_input_program(torch, kept, through, elsewhere)
    assert [g is None for g in ours] == [g is None for g in theirs]
    for g, h in zip(ours, theirs, strict=True):
        if g is not None:
            np.testing.assert_allclose(g, h, rtol=1e-12)

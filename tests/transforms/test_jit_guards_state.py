"""cr.jit against state that changes between calls or is left behind by a call that
raised: each program is run jitted and plain on the same sequence of calls, and every
result must be the plain call's, bit for bit."""

import gc
import types
import weakref

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import same

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import nn, optim


def _scale_weight(model):
    with cr.no_grad():
        model.weight.mul_(2.0)


def _write_weight_data(model):
    model.weight.data[0, 1] = 3.0


def _load_state(model):
    model.load_state_dict({"weight": cr.ones(2, 3) * 5, "bias": cr.ones(2)})


def _sgd_step(model):
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(cr.ones(3)).sum().backward()
    opt.step()


@pytest.mark.parametrize("change", [_scale_weight, _write_weight_data, _load_state, _sgd_step])
@pytest.mark.parametrize("read", [
    lambda m, x: m(cr.tensor(x)).detach().numpy(),  # computed eagerly from a guarded value
    lambda m, x: m.weight.detach().numpy() @ x,      # the parameter's array, a constant
])
def test_a_closed_over_parameter_changed_between_calls_is_read_anew(change, read):
    cr.manual_seed(0)
    model = nn.Linear(3, 2)

    def f(x):
        return read(model, x)

    jitted = cr.jit(f)
    x = np.array([1.0, -2.0, 0.5])
    assert same(jitted(x), f(x))
    change(model)
    assert same(jitted(x), f(x))
    assert same(jitted(x), f(x))


def test_a_closed_over_module_stays_usable_after_a_trace_that_raised():
    # the running statistics are written before the affine weight (which requires grad)
    # refuses the traced value: they hold values, not values of a trace that is over
    cr.manual_seed(0)
    bn = nn.BatchNorm1d(3)
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(TypeError, match="not an argument"):
        cr.jit(lambda x: bn(x))(x)
    twin = nn.BatchNorm1d(3)
    twin(x)
    assert same(bn.running_mean, twin.running_mean) and same(bn.running_var, twin.running_var)
    assert same(bn(x), twin(x))


class _Holder:
    pass


def test_traced_values_stored_before_an_exception_are_their_values():
    def f(holder, x):
        holder.last = x * 2
        raise ValueError("diverged")

    holder = _Holder()
    with pytest.raises(ValueError, match="diverged"):
        cr.jit(f)(holder, np.ones(2))
    assert same(holder.last, np.full(2, 2.0))


def _outcome_of_backward_after(step, jitted):
    """Whether a backward pass through a graph that saved ``t`` before ``step(t)`` ran
    under no_grad raises (PyTorch's version counter), and the gradient if not."""
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    t = cr.tensor([3.0, 4.0])
    y = (w * t).sum()
    with cr.no_grad():
        jitted(t)
    try:
        y.backward()
    except RuntimeError as e:
        assert "modified by an inplace operation" in str(e)
        return "raised"
    return w.grad.numpy()


@pytest.mark.parametrize("step", [
    lambda t: t.mul_(2.0),
    lambda t: t.__setitem__(0, 5.0),
    lambda t: t[1:].mul_(2.0),           # through a view
    lambda t: t.copy_(t * 2.0),
    lambda t: t.detach().add_(1.0),     # detach shares the version counter
    lambda t: t.data.add_(1.0),         # .data does not
])
def test_a_write_into_an_eager_tensor_argument_counts_as_the_plain_calls(step):
    jitted = cr.jit(step)
    want = _outcome_of_backward_after(step, step)
    for _ in range(3):  # the trace, then replays
        assert same(_outcome_of_backward_after(step, jitted), want)


def _manual_sgd(params, lr):
    for p in params[:2]:
        p -= lr * p.grad  # PyTorch's step by hand, under no_grad


def _grads(params, lr):
    return [None if p.grad is None else p.grad * lr for p in params]


def _set_to_none(params, lr):
    for p in params:
        p.grad = None
    return lr


def _flags(params, lr):
    return [(p.requires_grad, p.is_leaf) for p in params], lr


def _graph(params, lr):
    return [p.grad_fn is None for p in params], lr


@pytest.mark.parametrize("step", [_manual_sgd, _grads, _set_to_none, _flags, _graph])
def test_grad_requires_grad_and_is_leaf_of_eager_tensor_arguments_under_no_grad_are_the_callers(step):
    def run(fun):
        cr.manual_seed(0)
        model = nn.Linear(2, 1)
        w = cr.ones(2, requires_grad=True)
        out = []
        for k in range(3):
            model(cr.ones(2) * (k + 1.0)).sum().backward()
            params = [*model.parameters(), w * 2, cr.zeros(2)]  # leaves, a non-leaf, no grad
            with cr.no_grad():
                out.append(fun(params, 0.1))
            out.append([p.grad for p in model.parameters()] + [p.detach() for p in params])
        return out

    got, want = run(cr.jit(step)), run(step)
    assert len(got) == len(want) and all(map(same, got, want))


@pytest.mark.parametrize("grad_mode", [True, False])
@pytest.mark.parametrize("what,step", [
    ("requires_grad", lambda t: (t.requires_grad_(), t * 2)[1]),
    ("requires_grad", lambda t: (setattr(t, "requires_grad", True), t * 2)[1]),
    ("detach_", lambda t: (t.detach_(), t * 2)[1]),
    ("register_hook", lambda t: (t.register_hook(lambda g: g), t * 2)[1]),
])
def test_graph_operations_on_an_eager_tensor_argument_are_refused_saying_what_to_do(what, step, grad_mode):
    """The eager Tensor argument's own graph operations are not recorded by jit (the plain
    call does them): refused with what to do instead, not with "belongs to eager Tensors"."""
    t = cr.ones(2, requires_grad=True) if what == "register_hook" else cr.ones(2)
    with cr.set_grad_enabled(grad_mode):
        step(t.clone() if what != "register_hook" else t)  # the plain call does it
        if what == "register_hook" and grad_mode:
            return  # an argument that requires grad: the call runs without jit
        with pytest.raises(RuntimeError, match=f"jit: {what}.* eager Tensor argument .*before the jitted call"):
            cr.jit(step)(t)


@pytest.mark.parametrize("between", [
    lambda m: m(cr.ones(2)).sum().backward(),  # accumulates into .grad
    lambda m: m.zero_grad(),                    # sets it to None
])
def test_the_gradient_of_a_closed_over_parameter_is_watched(between):
    cr.manual_seed(0)
    model = nn.Linear(2, 1)

    def f(x):
        g = model.weight.grad
        return x * (0.0 if g is None else g.numpy())

    jitted = cr.jit(f)
    x = np.array([1.0, -2.0])
    for k in range(4):
        model(cr.ones(2) * (k + 1.0)).sum().backward() if k % 2 else between(model)
        assert same(jitted(x), f(x))


def test_an_attribute_the_function_sets_on_itself_is_watched():
    def count(x):
        count.calls = getattr(count, "calls", 0) + 1
        return x * count.calls

    def plain(x):
        plain.calls = getattr(plain, "calls", 0) + 1
        return x * plain.calls

    jitted = cr.jit(count)
    for _ in range(3):
        assert same(jitted(np.ones(2)), plain(np.ones(2)))


def test_an_attribute_set_on_a_jitted_function_is_watched():
    @cr.jit
    def scaled(x):
        return x * scaled.scale

    for scale in (2.0, 3.0, 2.0):
        scaled.scale = scale
        assert same(scaled(np.ones(2)), np.full(2, scale))


_settings = types.ModuleType("_jit_guards_settings")  # a module of the user's settings


@pytest.mark.parametrize("read", [
    lambda x: x * getattr(_settings, "LR", 0.1),
    lambda x: x * (_settings.LR if hasattr(_settings, "LR") else 0.1),
])
def test_a_setting_a_module_defines_after_the_trace_is_read(read):
    vars(_settings).pop("LR", None)
    jitted = cr.jit(read)
    for lr in (None, 0.5, 0.25):
        if lr is not None:
            _settings.LR = lr
        assert same(jitted(np.ones(2)), read(np.ones(2)))


_RULE_SCALE = [1.0]


def test_a_primitives_rule_reading_a_global_and_a_rule_defined_again_are_watched():
    @cr.primitive
    def sine(x):
        return np.sin(x)

    cr.defvjp(sine, lambda ans, x: lambda g: g * np.cos(x) * _RULE_SCALE[0])
    grad = cr.grad(lambda x: cnp.sum(sine(x)))
    jitted = cr.jit(grad)
    x = np.array([0.3, 0.7])
    for k in range(3):
        _RULE_SCALE[0] = k + 1.0
        assert same(jitted(x), np.cos(x) * (k + 1.0))
    cr.defvjp(sine, lambda ans, x: lambda g: -g)  # a rule replaced between calls
    assert same(jitted(x), -np.ones(2))


def _append_then_raise(xs, model):
    xs.append(xs[0] * 2)
    raise ValueError("stop")


def _set_key_then_raise(xs, model):
    xs[0] = xs[0] + 1
    raise ValueError("stop")


def _rebind_then_raise(xs, model):
    model.calls = model.calls + 1
    model.last = xs[0] * 3
    raise ValueError("stop")


@pytest.mark.parametrize("step", [_append_then_raise, _set_key_then_raise, _rebind_then_raise])
def test_what_a_call_changed_before_it_raised_is_changed_as_by_the_plain_call(step):
    def run(fun):
        xs, model = [np.ones(2)], nn.Linear(2, 2)
        model.calls = 0
        for _ in range(2):
            with pytest.raises(ValueError, match="stop"), cr.no_grad():
                fun(xs, model)
        return xs, model.calls, getattr(model, "last", None)

    got, want = run(cr.jit(step)), run(step)
    assert all(map(same, got, want))


def test_a_buffer_registered_inside_is_refused_without_a_trace_of_it_left():
    def step(model, x):
        if not hasattr(model, "seen"):
            model.register_buffer("seen", cr.zeros(2))
        model.seen.add_(x)
        return model(x)

    model = nn.Linear(2, 2)
    jitted = cr.jit(step)
    for _ in range(2):  # refused every time: the caller's module is as it was
        with pytest.raises(TypeError, match="outside the jitted call"), cr.no_grad():
            jitted(model, cr.ones(2))
        assert "seen" not in model._buffers and not hasattr(model, "seen")


def test_state_holding_a_weakref_proxy_is_watched_dead_or_alive():
    """A closed-over object with a weakref.proxy attribute (a parent link): a dead proxy
    refers to nothing (reading it raised ReferenceError in jit's watch); a live one is
    read through, so a change behind it traces again."""
    class Node:
        pass

    gone, kept = Node(), Node()
    kept.scale = 2.0
    dead, alive = Node(), Node()
    dead.parent, alive.parent = weakref.proxy(gone), weakref.proxy(kept)
    del gone
    gc.collect()
    registry = [dead, alive]

    def f(x):
        return x * registry[1].parent.scale

    jitted, x = cr.jit(f), np.array([1.0, -2.0])
    assert same(jitted(x), f(x))
    kept.scale = 3.0
    assert same(jitted(x), f(x))

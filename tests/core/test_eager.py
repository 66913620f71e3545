"""The eager layer: backward, .grad accumulation, hooks, graphs freed, in-place rules."""

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp


def test_backward_matches_closed_form_and_accumulates():
    w = cr.tensor([[0.5, -1.0], [2.0, 0.1]], requires_grad=True)
    x = cr.tensor([[1.0, 2.0]])
    (x @ w).tanh().sum().backward()
    expected = x.numpy().T @ (1 - np.tanh(x.numpy() @ w.detach().numpy()) ** 2)
    assert np.allclose(w.grad.numpy(), expected, rtol=1e-14)
    (x @ w).tanh().sum().backward()
    assert np.allclose(w.grad.numpy(), 2 * expected, rtol=1e-14)


def test_backward_with_gradient_argument_and_errors():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).backward(gradient=np.array([1.0, 10.0]))
    assert x.grad.tolist() == [3.0, 30.0]
    with pytest.raises(RuntimeError, match="one-element"):
        (x * 3).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor([1.0]).sum().backward()
    with pytest.raises(RuntimeError, match="floating point") as caught:  # as PyTorch raises
        cr.tensor([1, 2], requires_grad=True)
    assert isinstance(caught.value, TypeError)


def test_second_backward_through_freed_graph_raises_and_retain_graph_allows_it():
    x = cr.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 8.0
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_create_graph_gives_second_derivatives():
    x = cr.tensor(0.5, requires_grad=True)
    y = cnp.sin(x) * x
    y.backward(create_graph=True)
    g = x.grad
    x.grad = None
    g.backward()
    assert np.isclose(x.grad.item(), 2 * np.cos(0.5) - 0.5 * np.sin(0.5))


def test_no_grad_and_enable_grad():
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        y = x * 2
        with cr.enable_grad():
            z = x * 2
    assert not y.requires_grad and z.requires_grad

    @cr.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad and cr.is_grad_enabled()


def test_hooks_and_retain_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x.register_hook(lambda g: g * 10)
    y = x * x
    y.retain_grad()
    y.sum().backward()
    assert x.grad.tolist() == [20.0, 40.0] and y.grad.tolist() == [1.0, 1.0]
    h.remove()
    x.grad = None
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_inplace_on_graph_is_recorded_out_of_place():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cnp.exp(x) + 0  # (PyTorch, and chainrule, refuse a backward pass through exp after y += 1)
    y += 1
    y *= x
    y.sum().backward()
    # d/dx [(e^x + 1) x] = e^x x + e^x + 1
    xs = np.array([1.0, 2.0])
    assert np.allclose(x.grad.numpy(), np.exp(xs) * xs + np.exp(xs) + 1)


def test_setitem_is_differentiable():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y[1] = x[0] * 10
    y.sum().backward()
    assert x.grad.tolist() == [12.0, 0.0, 2.0]


_COPIES = {
    "cnp.array": lambda v: cnp.array(v),
    "cnp.copy": lambda v: cnp.copy(v),
    "Tensor.copy": lambda v: v.copy(),
    "zeros + v": lambda v: cnp.zeros(3) + v,
    "eager tensor": lambda v: cr.tensor(np.zeros(3)) + v * 1,
}


@pytest.mark.parametrize("transform", ["jacfwd", "jacrev", "jvp"])
@pytest.mark.parametrize("copy", sorted(_COPIES))
def test_setitem_on_a_traced_value_in_every_mode(copy, transform):
    # x[i] = v on a value of a functional trace becomes that trace's out-of-place update,
    # its tangent included in forward mode (the tangent was once left behind, silently)
    v0 = np.array([0.3, 0.5, 0.7])

    def f(v):
        out = _COPIES[copy](v)
        out[2] = cnp.sin(v[0]) * v[1]
        return out

    want = np.array([[1.0, 0, 0], [0, 1, 0], [np.cos(0.3) * 0.5, np.sin(0.3), 0]])
    if transform == "jvp":
        got = np.stack([cr.jvp(f, (v0,), (e,))[1] for e in np.eye(3)], axis=1)
    else:
        got = getattr(cr, transform)(f)(v0)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


@pytest.mark.parametrize("transform", ["jacfwd", "jacrev"])
def test_writing_a_traced_value_into_an_untraced_tensor(transform):
    # the untraced Tensor takes the traced value's trace (its plain value was written
    # once, dropping the derivative silently): the derivative reaches v
    def f(v):
        out = cr.tensor(np.zeros(3))
        out += v[1] * cnp.ones(3)
        out[1] = v[0] * 2
        return out

    want = [[0, 1], [2, 0], [0, 1]]
    np.testing.assert_array_equal(getattr(cr, transform)(f)(np.ones(2)), want)
    batched = cr.vmap(f)(np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(np.asarray(batched), [[1, 0, 1], [3, 4, 3], [5, 8, 5]])


def test_leaf_written_with_a_traced_value_still_refused():
    w = cr.tensor([1.0, 2.0], requires_grad=True)

    def f(v):
        w[0] = v
        return v

    with pytest.raises(RuntimeError, match="leaf Tensor"):
        cr.grad(f)(3.0)

    def g(v):
        w.__iadd__(v)
        return v

    with pytest.raises(RuntimeError, match="leaf Tensor"):
        cr.grad(g)(3.0)
    assert w.tolist() == [1.0, 2.0]


def test_inplace_write_to_a_saved_value_raises_at_backward():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([3.0, 4.0])
    y = (x * c).sum()
    c += 1
    with pytest.raises(RuntimeError, match="multiply saved .* modified in place"):
        y.backward()


@pytest.mark.parametrize("f, derivative", [
    (lambda a: a.exp(), np.exp), (lambda a: a.tanh(), lambda a: 1 - np.tanh(a) ** 2),
    (lambda a: a.sqrt(), lambda a: 0.5 / np.sqrt(a)), (lambda a: a + 1, lambda a: np.ones_like(a)),
    (lambda a: 1 - a, lambda a: -np.ones_like(a)), (lambda a: -a, lambda a: -np.ones_like(a)),
    (lambda a: a * 2.0, lambda a: np.full_like(a, 2.0)), (lambda a: a / 4.0, lambda a: np.full_like(a, 0.25)),
    (lambda a: a.exp() * 3.0, lambda a: 3 * np.exp(a)),
    (lambda a: a.relu(), lambda a: (a > 0).astype(float)),
    (lambda a: a.sigmoid(), lambda a: np.exp(-a) / (1 + np.exp(-a)) ** 2),
    (lambda a: a.view(2, 1).expand(2, 3).t() * 1.0, lambda a: np.full_like(a, 3.0)),
    (lambda a: a.unsqueeze(0).squeeze(0).sum() + a.mean(), lambda a: np.full_like(a, 1.5)),
])
def test_an_inplace_write_to_a_value_no_rule_reads_leaves_the_gradient_as_torch(f, derivative):
    # PyTorch saves what a rule reads only (exp its result, x + 1 nothing): a SAC step that
    # updates log_alpha before the backward pass of a loss made with log_alpha.exp() runs
    a = cr.tensor([0.5, 1.5], requires_grad=True)
    y = f(a)
    with cr.no_grad():
        a.add_(1.0)
    y.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), derivative(np.array([0.5, 1.5])), rtol=1e-14)


def test_an_inplace_write_to_a_value_a_rule_reads_still_raises():
    for f in (lambda a: a.sin(), lambda a: a * a):
        a = cr.tensor([0.5, 1.5], requires_grad=True)
        y = f(a).sum()
        with cr.no_grad():
            a.add_(1.0)
        with pytest.raises(RuntimeError, match="saved .* modified in place"):
            y.backward()
    a = cr.tensor([0.5, 1.5], requires_grad=True)
    y = a.exp().sum()  # create_graph calls exp again, on the values written
    with cr.no_grad():
        a.add_(1.0)
    with pytest.raises(RuntimeError, match="exp saved .* modified in place"):
        y.backward(create_graph=True)


def test_inplace_on_leaf_requires_no_grad():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w += 1
    buf = w._value
    with cr.no_grad():
        w -= 0.5
    assert w.tolist() == [0.5] and w._value is buf  # written in place


def test_graph_is_freed_without_reference_cycles():
    gc.disable()
    try:
        x = cr.tensor(np.ones(3), requires_grad=True)
        t = cnp.tanh(x)
        saved = weakref.ref(t._value)  # an intermediate that the multiply node saves
        y = t * 2
        y.sum().backward(retain_graph=True)
        del t, y
        assert saved() is None  # freed by reference counting alone: no cycles
    finally:
        gc.enable()


def test_detach_item_numpy():
    x = cr.tensor([1.5], requires_grad=True)
    assert x.item() == 1.5 and not x.detach().requires_grad
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    with pytest.raises(TypeError, match="drop its derivative"):
        np.asarray(x)


def test_functional_grad_over_eager_tensors():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    g = cr.grad(lambda w: cnp.sum(w**2))(w)
    assert np.array_equal(g, [2.0, 4.0])


torch = pytest.importorskip("torch")  # the oracle of the tests below
_rng = np.random.default_rng(2)
_A, _B = _rng.normal(size=(4, 3)), _rng.normal(size=(3, 2))


def _penalty(lib, x, w):
    """A WGAN-GP style gradient penalty: the norm of d(critic)/dx, differentiated again."""
    out = (x @ w).tanh().sum(1)
    (g,) = lib.autograd.grad(out, x, grad_outputs=out.new_ones(out.shape), create_graph=True)
    return ((g.norm(2, dim=1) - 1) ** 2).mean() + out.mean()


# name: a program of (library, x, w) whose result is backpropagated; the same on both
AUTOGRAD_GRAD = {
    "gradient_penalty": _penalty,
    "two_inputs_sum": lambda lib, x, w: sum(g.sum() for g in lib.autograd.grad((x @ w).exp().sum(), [x, w],
                                                                              create_graph=True)),
    "two_outputs": lambda lib, x, w: lib.autograd.grad([(x * x).sum(), (x @ w).sum()], x, create_graph=True)[0].sum()
    * w.sum(),
    "intermediate_input": lambda lib, x, w: (lambda h: lib.autograd.grad((h ** 3).sum(), h, create_graph=True)[0]
                                             .sum())(x @ w),
    "no_graph_then_backward": lambda lib, x, w: (
        lib.autograd.grad((x ** 2).sum(), x, retain_graph=True)[0].detach() * x).sum(),
}


@pytest.mark.parametrize("name", sorted(AUTOGRAD_GRAD))
def test_autograd_grad_matches_torch(name):
    program = AUTOGRAD_GRAD[name]
    x, w = cr.tensor(_A, requires_grad=True), cr.tensor(_B, requires_grad=True)
    xt, wt = torch.tensor(_A, requires_grad=True), torch.tensor(_B, requires_grad=True)
    ours, theirs = program(cr, x, w), program(torch, xt, wt)
    np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-12)
    ours.backward()
    theirs.backward()
    for a, b in ((x, xt), (w, wt)):
        assert (a.grad is None) == (b.grad is None)
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-11, atol=1e-13)


def test_autograd_grad_leaves_dot_grad_alone_and_reports_unused_inputs():
    x, y = cr.tensor(_A, requires_grad=True), cr.tensor(_A, requires_grad=True)
    x.grad = cr.tensor(np.ones_like(_A))
    (g,) = cr.autograd.grad((x * 3).sum(), x)
    assert np.all(g.numpy() == 3) and np.all(x.grad.numpy() == 1) and not g.requires_grad
    with pytest.raises(RuntimeError, match="allow_unused"):
        cr.autograd.grad((x * 3).sum(), [x, y])
    assert cr.autograd.grad((x * 3).sum(), [x, y], allow_unused=True)[1] is None
    assert np.all(cr.autograd.grad((x * 3).sum(), [y], materialize_grads=True)[0].numpy() == 0)
    with pytest.raises(RuntimeError, match="requires grad"):
        cr.autograd.grad((x * 3).sum(), cr.tensor(_A))
    cr.autograd.backward([(x * 2).sum(), x.sum()])
    assert np.all(x.grad.numpy() == 4)


# in-place operations whose result cannot be written into the Tensor: PyTorch refuses
# them (NumPy's in-place ufuncs too); ones that can are written, cast within their kind
IN_PLACE_FITS = {
    "int_add_float": (lambda lib: lib.tensor([1, 2]), lambda t: t.add_(1.5), False),
    "int_iadd_float": (lambda lib: lib.tensor([1, 2]), lambda t: t.__iadd__(0.5), False),
    "int_mul_float": (lambda lib: lib.tensor([1, 2]), lambda t: t.mul_(1.5), False),
    "int_div": (lambda lib: lib.tensor([1, 2]), lambda t: t.div_(2), False),
    "int_exp": (lambda lib: lib.tensor([1, 2]), lambda t: t.exp_(), False),
    "bool_add_int": (lambda lib: lib.tensor([True]), lambda t: t.add_(1), False),
    "broadcast_to_more": (lambda lib: lib.zeros(3, dtype=lib.float64), lambda t: t.add_(lib_ones(t, (2, 3))), False),
    "int_add_int": (lambda lib: lib.tensor([1, 2]), lambda t: t.add_(3), True),
    "float32_add_float64": (lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float32),
                            lambda t: t.add_(t.double() * 0.1), True),
    "int_fill_float": (lambda lib: lib.tensor([1, 2]), lambda t: t.fill_(2.7), True),
    "int_copy_float": (lambda lib: lib.tensor([1, 2]), lambda t: t.copy_(t.double() + 0.6), True),
    "broadcast_from_less": (lambda lib: lib.zeros(2, 3, dtype=lib.float64), lambda t: t.add_(lib_ones(t, (3,))), True),
}


def lib_ones(t, shape):
    return (torch.ones if isinstance(t, torch.Tensor) else cr.ones)(*shape, dtype=t.dtype)


@pytest.mark.parametrize("case", sorted(IN_PLACE_FITS))
def test_in_place_results_that_do_not_fit_are_refused_as_torch(case):
    make, op, fits = IN_PLACE_FITS[case]
    outcomes = []
    for lib in (cr, torch):
        t = make(lib)
        try:
            op(t)
            outcomes.append((str(t.dtype).removeprefix("torch."), t.tolist()))
        except RuntimeError:
            outcomes.append("refused")
    assert outcomes[0] == outcomes[1] and (outcomes[0] != "refused") == fits

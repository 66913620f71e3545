"""The backward pass writes into an array only when no one else can see it.

Where the pass multiplies a cotangent by an elementwise derivative, or adds two
cotangents of one value, it may reuse one of the operands' buffers (core/backward.py,
``sole_owner``). Every test here gives some other party a reference to such an operand
(a hook, ``retain_grad``, ``.grad``, a user's cotangent, a rule's saved array, a view,
a graph kept for a second derivative) and checks that what that party holds is intact
and that the gradient equals the one computed with in-place writes switched off.
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core import backward
from chainrule.core.backward import IN_PLACE_BYTES, sole_owner
from chainrule.core.primitive import Primitive, def_jvps, def_vjps

N = IN_PLACE_BYTES // 8 * 2  # float64 vectors well above the in-place size


@pytest.fixture
def x():
    return np.random.default_rng(0).uniform(-1.0, 1.0, N)


@pytest.fixture
def no_in_place(monkeypatch):
    """A function that runs its argument with in-place writes switched off."""

    def run(fun, *args):
        with monkeypatch.context() as m:
            m.setattr(backward, "IN_PLACE_BYTES", 1 << 62)
            return fun(*args)

    return run


def test_sole_owner_reads_references_views_size_and_writeability():
    a = np.ones(N)
    assert sole_owner(a, 1)
    other = a
    assert not sole_owner(a, 1) and sole_owner(a, 2)
    del other
    view = a[1:]
    assert not sole_owner(a, 1)  # the view holds its base
    assert not sole_owner(view, 1)  # a view's memory is its base's
    del view
    assert sole_owner(a, 1)
    a.flags.writeable = False
    assert not sole_owner(a, 1)
    assert not sole_owner(np.ones(4), 1)  # small: not worth it
    assert not sole_owner(np.float64(1.0), 1)


def test_in_place_is_used_and_gives_the_same_gradient(x, no_in_place, monkeypatch):
    def f(x):
        y = cnp.tanh(x)
        return cnp.sum(cnp.sin(y) + cnp.exp(y) * y)  # y has three uses: accumulation

    writes = []
    real_multiply, real_add = backward.multiply, backward.add
    monkeypatch.setattr(backward, "multiply", lambda *a, **k: writes.append("*") or real_multiply(*a, **k))
    monkeypatch.setattr(backward, "add", lambda *a, **k: writes.append("+") or real_add(*a, **k))
    g = cr.grad(f)(x)
    assert "*" in writes and "+" in writes  # the fast path ran
    expected = no_in_place(cr.grad(f), x)
    np.testing.assert_array_equal(g, expected)
    y = np.tanh(x)
    closed = (np.cos(y) + np.exp(y) * (y + 1)) * (1 - y * y)
    np.testing.assert_allclose(g, closed, rtol=1e-12)


def test_a_derivative_that_a_rule_keeps_elsewhere_is_not_written():
    kept = np.full(N, 3.0)  # a partial that returns an array held by someone else
    scale = Primitive(lambda x: 3.0 * x, name="scale3")
    def_vjps(scale, lambda g, ans, x: g * kept)
    def_jvps(scale, lambda t, ans, x: t * kept)
    scale.partials = (lambda ans, x: kept,)
    g = cr.grad(lambda x: cnp.sum(cnp.tanh(scale(x))))(np.linspace(-1, 1, N))
    np.testing.assert_array_equal(kept, 3.0)
    np.testing.assert_allclose(g, 3.0 * (1 - np.tanh(3.0 * np.linspace(-1, 1, N)) ** 2))


def test_a_derivative_that_is_a_view_is_not_written():
    base = np.full(2 * N, 2.0)
    double = Primitive(lambda x: 2.0 * x, name="double")
    def_vjps(double, lambda g, ans, x: g * 2.0)
    double.partials = (lambda ans, x: base[:N],)  # a view: its memory is base's
    x = np.linspace(0.1, 1.0, N)
    g = cr.grad(lambda x: cnp.sum(cnp.sin(double(x))))(x)
    np.testing.assert_array_equal(base, 2.0)
    np.testing.assert_allclose(g, 2.0 * np.cos(2.0 * x), rtol=1e-12)


def test_a_cotangent_a_rule_returns_twice_is_not_written():
    shared = np.full(N, 1.0)
    twice = Primitive(lambda x, y: x + y, name="twice")
    # both arguments get the same (saved) array as their cotangent
    def_vjps(twice, lambda g, ans, x, y: shared, lambda g, ans, x, y: shared)
    g = cr.grad(lambda x: cnp.sum(cnp.sin(x) + twice(x, x)))(np.zeros(N))
    np.testing.assert_array_equal(shared, 1.0)
    np.testing.assert_array_equal(g, 3.0)


def test_a_users_cotangent_is_not_written(x):
    ct = np.ones(N)
    out, pull = cr.vjp(lambda x: x + cnp.tanh(x), x)  # add hands ct on to x's slot
    (gx,) = pull(ct)
    np.testing.assert_array_equal(ct, 1.0)
    np.testing.assert_allclose(gx, 1 + (1 - np.tanh(x) ** 2), rtol=1e-12)


def test_eager_hooks_and_retained_grads_keep_what_they_saw(x, no_in_place):
    def run():
        xt = cr.tensor(x, requires_grad=True)
        e = cnp.exp(xt)  # made before y, so its cotangent reaches x's slot after y's
        y = xt + 0.0  # add passes y's cotangent on as it is to x's slot
        y.retain_grad()
        seen = []
        y.register_hook(lambda g: seen.append((g, g.numpy().copy())))
        s = cnp.sin(y)
        s.register_hook(lambda g: seen.append((g, g.numpy().copy())))
        # y and x each have several uses: their cotangents accumulate
        (cnp.sum(cnp.tanh(y)) + cnp.sum(s * s) + cnp.sum(e)).backward()
        for held, copy in seen:
            np.testing.assert_array_equal(held.numpy(), copy)
        return xt.grad.numpy().copy(), y.grad.numpy().copy(), seen[-1][1]

    gx, gy, at_y = run()
    np.testing.assert_array_equal(gy, at_y)  # .grad still what the hook saw
    ref = no_in_place(run)
    np.testing.assert_array_equal(gx, ref[0])
    np.testing.assert_array_equal(gy, ref[1])
    s = np.sin(x)
    np.testing.assert_allclose(gx, 1 - np.tanh(x) ** 2 + 2 * s * np.cos(x) + np.exp(x), rtol=1e-12)


def test_a_hook_that_returns_its_own_array_keeps_it(x):
    xt = cr.tensor(x, requires_grad=True)
    mine = np.full(N, 2.0)
    y = cnp.tanh(xt)
    s = cnp.sin(y)  # made before z: its cotangent reaches y's slot after z's
    z = y + 0.0
    z.register_hook(lambda g: mine)  # z's cotangent becomes mine, passed on to y
    (cnp.sum(z) + cnp.sum(s)).backward()  # y's cotangents add up onto mine
    np.testing.assert_array_equal(mine, 2.0)
    np.testing.assert_allclose(xt.grad.numpy(), (2.0 + np.cos(np.tanh(x))) * (1 - np.tanh(x) ** 2))


def test_grad_held_from_a_first_backward_gets_the_second_added_and_nothing_else(x):
    # PyTorch accumulates into the .grad it holds: the reference sees the sum, and the
    # pass wrote nothing else into that memory
    xt = cr.tensor(x, requires_grad=True)
    cnp.sum(cnp.tanh(xt) + cnp.sin(xt)).backward()
    first = xt.grad
    copy = first.numpy().copy()
    cnp.sum(cnp.tanh(xt) + cnp.sin(xt)).backward()
    assert xt.grad is first
    np.testing.assert_allclose(first.numpy(), 2 * copy, rtol=1e-15)


def test_create_graph_and_higher_order_match_without_in_place(x, no_in_place):
    def f(x):
        y = cnp.tanh(x)
        return cnp.sum(cnp.sin(y) * y + cnp.exp(y))

    def second(v):
        return cr.grad(lambda x: cnp.sum(cr.grad(f)(x) * v))(x)

    v = np.cos(x)
    np.testing.assert_array_equal(second(v), no_in_place(second, v))
    h = 1e-6
    fd = (cr.grad(f)(x + h * v) - cr.grad(f)(x - h * v)) / (2 * h)  # H v, H symmetric
    np.testing.assert_allclose(second(v), fd, rtol=1e-6, atol=1e-8)

    xt = cr.tensor(x, requires_grad=True)
    out = f(xt)
    out.backward(create_graph=True)
    g = xt.grad
    kept = g.detach().numpy().copy()
    xt.grad = None
    cnp.sum(g * cr.tensor(v)).backward()
    np.testing.assert_array_equal(g.detach().numpy(), kept)  # the first gradient, still on its graph
    np.testing.assert_allclose(xt.grad.numpy(), second(v), rtol=1e-12)


def test_float32_and_complex_and_broadcasting_cotangents(no_in_place):
    r = np.random.default_rng(1)
    x32 = r.uniform(-1, 1, (N // 64, 64)).astype(np.float32)
    f = lambda x: cnp.sum(cnp.tanh(x) * cnp.sin(x) + cnp.tanh(x))  # noqa: E731
    g = cr.grad(f)(x32)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, no_in_place(cr.grad(f), x32))
    z = (r.normal(size=N) + 1j * r.normal(size=N)) * 0.3
    fc = lambda x: cnp.sum(cnp.abs(cnp.tanh(x * z) + cnp.sin(x * z)) ** 2)  # noqa: E731
    xr = r.normal(size=N)
    gc = cr.grad(fc)(xr)
    assert gc.dtype == np.float64
    np.testing.assert_array_equal(gc, no_in_place(cr.grad(fc), xr))
    row = r.normal(size=(1, 64))
    fb = lambda w: cnp.sum(cnp.tanh(x32.astype(np.float64) * w) + cnp.sin(w))  # noqa: E731
    np.testing.assert_array_equal(cr.grad(fb)(row), no_in_place(cr.grad(fb), row))


@pytest.mark.torch
def test_each_grad_owns_its_memory_as_pytorchs():
    # add hands one cotangent on to both leaves, and backward(gradient) the caller's array
    # on: an in-place write into one .grad (clipping, p.grad.mul_) must reach neither the
    # other .grad nor the caller's gradient
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (torch, cr):
        w, v = (lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True) for _ in range(2))
        ((w + v) * lib.tensor([3.0, 4.0], dtype=lib.float64)).sum().backward()
        w.grad.mul_(2)
        u = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        seed = lib.tensor([1.0, 1.0], dtype=lib.float64)
        (u + 0).backward(seed)
        u.grad.mul_(5)
        seen.append([t.detach().numpy().copy() for t in (w.grad, v.grad, u.grad, seed)])
    for ours, theirs in zip(seen[1], seen[0], strict=True):
        np.testing.assert_array_equal(ours, theirs)


def _fixed_linear(lib):
    """A float64 ``Linear(3, 2)`` of ``lib`` with the same weights in either library."""
    model = lib.nn.Linear(3, 2).double()
    with lib.no_grad():
        model.weight.copy_(lib.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 3.0]], dtype=lib.float64))
        model.bias.fill_(0.25)
    return model


@pytest.mark.torch
def test_grads_accumulate_and_zero_in_place_as_pytorchs():
    # .grad views of one flat bucket (gradient-as-bucket-view data parallelism, contiguous
    # gradient buffers) receive backward's sums, and zero_grad(set_to_none=False) zeroes them
    # in place, as PyTorch's: the bucket holds every step's gradients
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (torch, cr):
        model = _fixed_linear(lib)
        bucket = lib.zeros(8, dtype=lib.float64)
        model.weight.grad, model.bias.grad = bucket[:6].view(2, 3), bucket[6:]
        held = [p.grad for p in model.parameters()]
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        x = lib.tensor([[0.5, 1.0, -1.0], [2.0, 0.0, 1.0]], dtype=lib.float64)
        row = []
        for _ in range(2):
            model(x).pow(2).sum().backward()
            model(x).tanh().sum().backward()
            row.append(bucket.numpy().copy())
            opt.step()
            (model if len(row) == 1 else opt).zero_grad(set_to_none=False)
            row.append(bucket.numpy().copy())
        assert all(a is p.grad for a, p in zip(held, model.parameters(), strict=True))
        seen.append(row + [p.detach().numpy().copy() for p in model.parameters()])
    for ours, theirs in zip(seen[1], seen[0], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")
@pytest.mark.parametrize("clear", ["module", "optimizer"])
@pytest.mark.parametrize("how", ["plain", "create_graph", "create_graph_seed"])
def test_zero_grad_keeps_the_grad_object_as_pytorchs(how, clear):
    # zero_grad(set_to_none=False) detaches a .grad on a graph in place and zeroes it: a
    # reference held to it (an accumulator, a hook's) is still p.grad, sees the zeros and the
    # next backward's sum; and a .grad made with create_graph from the caller's gradient is a
    # copy, so zeroing it leaves that gradient as it was (it was the same object)
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (torch, cr):
        model = _fixed_linear(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        x = lib.tensor([[0.5, 1.0, -1.0], [2.0, 0.0, 1.0]], dtype=lib.float64)
        seed = lib.tensor([[1.5, -1.0], [0.5, 2.0]], dtype=lib.float64)
        if how == "create_graph_seed":
            model.bias.clone().backward(seed[0], create_graph=True)
            model.weight.clone().backward(seed.repeat(1, 2)[:, :3].contiguous(), create_graph=True)
        else:
            model(x).pow(3).sum().backward(create_graph=how == "create_graph")
        held = [p.grad for p in model.parameters()]
        (model if clear == "module" else opt).zero_grad(set_to_none=False)
        row = [[g is p.grad, g.requires_grad, g.grad_fn is None] for g, p in zip(held, model.parameters(), strict=True)]
        values = [g.detach().numpy().copy() for g in held] + [seed.numpy().copy()]
        model(x).tanh().sum().backward()
        row += [[g is p.grad, g.requires_grad] for g, p in zip(held, model.parameters(), strict=True)]
        values += [g.detach().numpy().copy() for g in held]
        seen.append((row, values))
    assert seen[1][0] == seen[0][0]
    for ours, theirs in zip(seen[1][1], seen[0][1], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)

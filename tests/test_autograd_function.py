"""chainrule.autograd.Function against torch.autograd.Function: the same subclasses (with
ctx.save_for_backward, needs_input_grad, non-Tensor arguments, several outputs, an unused
output, setup_context, mark_non_differentiable) give PyTorch's values and gradients."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _functions(lib):
    base = lib.autograd.Function

    class Cube(base):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

    class ScaledPair(base):  # a number argument, two outputs, gradients only where needed
        @staticmethod
        def forward(ctx, x, scale, y):
            ctx.save_for_backward(x, y)
            ctx.scale = scale
            return x * y * scale, x + y

        @staticmethod
        def backward(ctx, g_prod, g_sum):
            x, y = ctx.saved_tensors
            gx = g_prod * y * ctx.scale + g_sum if ctx.needs_input_grad[0] else None
            gy = g_prod * x * ctx.scale + g_sum if ctx.needs_input_grad[2] else None
            return gx, None, gy

    class Clip(base):  # the new style: forward without ctx, then setup_context
        @staticmethod
        def forward(x, low):
            return x.clamp(min=low)

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, low = inputs
            ctx.save_for_backward(x)
            ctx.low = low

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * (x > ctx.low), None

    class MaxWithIndex(base):
        @staticmethod
        def forward(ctx, x):
            idx = x.argmax(dim=1)
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x, idx)
            return x.amax(dim=1), idx

        @staticmethod
        def backward(ctx, g, g_idx):
            x, idx = ctx.saved_tensors
            out = x * 0
            out[range(x.shape[0]), idx] = g
            return out

    return Cube, ScaledPair, Clip, MaxWithIndex


X = np.array([[0.5, -1.5, 2.0], [1.0, 3.0, -0.25]])
Y = np.array([[2.0, 0.5, -1.0], [0.3, -0.7, 1.1]])

PROGRAMS = {
    "cube": lambda F, x, y: F[0].apply(x).sum(),
    "pair_both_outputs": lambda F, x, y: sum(o.sin().sum() for o in F[1].apply(x, 0.5, y)),
    "pair_one_output_used": lambda F, x, y: F[1].apply(x, 2.0, y)[0].sum(),
    "pair_constant_second": lambda F, x, y: F[1].apply(x, 1.5, y.detach())[1].pow(2).sum(),
    "setup_context": lambda F, x, y: (F[2].apply(x * y, 0.1) ** 2).sum(),
    "non_differentiable_output": lambda F, x, y: (F[3].apply(x)[0] * 2).sum() + F[3].apply(y)[1].sum() * 0,
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_function_matches_torch(name):
    results = []
    for lib in (cr, torch):
        x = lib.tensor(X.copy(), requires_grad=True)
        y = lib.tensor(Y.copy(), requires_grad=True)
        loss = PROGRAMS[name](_functions(lib), x, y)
        loss.backward()
        grads = [None if t.grad is None else np.array(t.grad.tolist()) for t in (x, y)]
        results.append((float(loss.item()), grads))
    (a, ga), (b, gb) = results
    np.testing.assert_allclose(a, b, rtol=1e-12)
    for u, v in zip(ga, gb, strict=True):
        assert (u is None) == (v is None)
        if u is not None:
            np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-14)


def test_function_errors_and_plain_inputs():
    Cube = _functions(cr)[0]
    assert Cube.apply(cr.tensor([2.0])).tolist() == [8.0]  # nothing to differentiate: just the forward

    class Wrong(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g.sum()

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="returned a gradient of shape"):
        Wrong.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match="it must override the setup_context staticmethod"):  # as torch.func
        cr.grad(lambda v: Cube.apply(v).sum())(np.ones(2))


def _broadcasting(lib):
    class Scale(lib.autograd.Function):  # backward hands w's gradient back unsummed, of x's shape
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return x * w

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            return g * w, g * x

    return Scale


@pytest.mark.parametrize("w_shape", [(4,), (1, 4), (3, 1), ()])
def test_a_gradient_of_the_broadcast_shape_is_summed_back_as_in_pytorch(w_shape):
    rng = np.random.default_rng(0)
    x0, w0 = rng.normal(size=(3, 4)), rng.normal(size=w_shape)
    grads = []
    for lib in (cr, torch):
        x, w = lib.tensor(x0, requires_grad=True), lib.tensor(w0, requires_grad=True)
        (_broadcasting(lib).apply(x, w) ** 2).sum().backward()
        grads.append((x.grad.numpy(), w.grad.numpy()))
    for ours, theirs in zip(*grads, strict=True):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-13)


def test_a_gradient_of_another_shape_is_refused_by_name():
    class Bad(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return cr.ones(5)

    with pytest.raises(RuntimeError, match="Bad.backward returned a gradient of shape"):
        Bad.apply(cr.ones(3, requires_grad=True)).sum().backward()


def _second_order(lib):
    class Exp(lib.autograd.Function):  # saves its output
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    class Mul(lib.autograd.Function):  # saves its inputs, and an intermediate (a constant of backward)
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b, a * 2)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b, twice = ctx.saved_tensors
            return g * b + 0 * twice, g * a

    return Exp, Mul


@pytest.mark.parametrize("which", ["Exp", "Mul"])
def test_saved_tensors_differentiate_again_with_create_graph_as_pytorch(which):
    results = []
    for lib in (cr, torch):
        Exp, Mul = _second_order(lib)
        x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([1.5, 2.0, -0.5], dtype=lib.float64, requires_grad=True)
        out = Exp.apply(x * w) if which == "Exp" else Mul.apply(x * x, w)
        gx, gw = lib.autograd.grad((out * out).sum(), (x, w), create_graph=True)
        (gx.pow(2).sum() + (gw * x).sum()).backward()
        results.append([gx.requires_grad, gw.requires_grad, gx.detach().numpy(), x.grad.numpy(), w.grad.numpy()])
    ours, theirs = results
    assert ours[:2] == theirs[:2] == [True, True]
    for a, b in zip(ours[2:], theirs[2:], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def _add_one(lib):
    class AddOne(lib.autograd.Function):  # modifies its input in place and says so
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    return AddOne


def test_mark_dirty_gives_back_the_input_modified_in_place_as_torch():
    results = []
    for lib in (cr, torch):
        a = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        b = a.clone()
        c = _add_one(lib).apply(b)
        (c * c).sum().backward()
        with lib.no_grad():
            d = lib.tensor([5.0], dtype=lib.float64)
            e = _add_one(lib).apply(d)
        results.append([c is b, b.tolist(), c.requires_grad, a.grad.tolist(), e is d, d.tolist()])
        with pytest.raises(RuntimeError, match="leaf"):
            _add_one(lib).apply(lib.tensor([1.0], requires_grad=True))
    assert results[0] == results[1]
    assert results[0][:4] == [True, [2.0, 3.0], True, [4.0, 6.0]]

    class NotAnInput(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            ctx.mark_dirty(y)
            return y

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="not one of its inputs"):
        NotAnInput.apply(cr.tensor([1.0], requires_grad=True))


def test_once_differentiable_backward_runs_once_as_torch_s():
    grads = []
    for lib in (cr, torch):
        once = lib.autograd.function.once_differentiable

        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @once
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x * g

        x = lib.tensor([1.5, -2.0], dtype=lib.float64, requires_grad=True)
        Square.apply(x).sum().backward()
        (g,) = lib.autograd.grad(Square.apply(x).sum(), x, create_graph=True)
        grads.append([x.grad.tolist(), g.tolist()])
        with pytest.raises(RuntimeError):  # differentiated a second time: refused
            lib.autograd.grad(g.sum(), x)
    assert grads[0] == grads[1] == [[3.0, -4.0], [3.0, -4.0]]
    assert cr.autograd.function.Function is cr.autograd.Function


def _counted(lib, extra):
    class Counted(lib.autograd.Function):  # forward also returns a number; backward extra gradients
        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            return x * k, 5

        @staticmethod
        def backward(ctx, g, g_number):
            assert g_number is None  # the number's gradient: None, materialized or not
            return (g * ctx.k, None, *extra)

    return Counted


@pytest.mark.parametrize("extra", [(), (None,), (None, None)])
def test_a_number_output_stays_a_number_and_trailing_none_gradients_are_allowed_as_torch(extra):
    seen = []
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        out, number = _counted(lib, extra).apply(x, 3.0)
        out.sum().backward()
        seen.append((type(number), number, x.grad.tolist()))
    assert seen[0] == seen[1] == (int, 5, [3.0, 3.0])


def test_a_backward_with_one_gradient_too_many_is_refused_as_torch():
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        out, _ = _counted(lib, (lib.ones(2),)).apply(x, 3.0)
        with pytest.raises(RuntimeError, match="incorrect number of gradients"):
            out.sum().backward()


def _square(lib, detached):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * (x.detach() if detached else x) * g  # detached: a wrong second derivative

    return Square


@pytest.mark.parametrize("detached", [False, True])
def test_gradgradcheck_judges_a_function_s_double_backward_as_torch(detached):
    verdicts = []
    for lib in (cr, torch):
        x = lib.tensor([0.5, 1.5], dtype=lib.float64, requires_grad=True)
        y = lib.tensor([2.0, -1.0], dtype=lib.float64, requires_grad=True)
        verdicts.append((lib.autograd.gradgradcheck(_square(lib, detached).apply, (x,), raise_exception=False),
                         lib.autograd.gradgradcheck(lambda a, b: a ** 2 * b.exp(), (x, y))))
    assert verdicts[0] == verdicts[1] == (not detached, True)


def _misused(lib, what):
    class Misused(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x, *((k,) if what == "save a number" else (None,)))
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * 3.0, (g if what == "grad for a number" else None)

    return Misused


@pytest.mark.parametrize("what, error, words", [
    ("save a number", TypeError, "save_for_backward can only save variables, but argument 1 is of type int"),
    ("grad for a number", RuntimeError, "returned a gradient different than None at position 2, but the "
                                        "corresponding forward input was not a Variable"),
])
def test_what_torch_refuses_of_a_function_s_ctx_and_backward_is_refused(what, error, words):
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        with pytest.raises(error, match=words):
            _misused(lib, what).apply(x, 3).sum().backward()
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    _misused(cr, "").apply(x, 3).sum().backward()  # a None saved, a None for the number: accepted
    assert x.grad.tolist() == [3.0, 3.0]


def _for_transforms(lib, rule):
    class SinScaled(lib.autograd.Function):  # sin(x * w) * k, in the style torch.func takes
        generate_vmap_rule = rule == "generated"

        @staticmethod
        def forward(x, w, k):
            return (x * w).sin() * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, w, k = inputs
            ctx.save_for_backward(x, w)
            ctx.save_for_forward(x, w)
            ctx.k = k

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            c = (x * w).cos() * ctx.k * g
            return c * w, c * x, None

        @staticmethod
        def jvp(ctx, tx, tw, tk):
            x, w = ctx.saved_tensors
            return (x * w).cos() * ctx.k * (tx * w + x * tw)

    if rule == "by hand":  # its own batching rule: (outputs, out_dims)
        SinScaled.vmap = staticmethod(lambda info, in_dims, x, w, k: (SinScaled.forward(x, w, k) + info.batch_size,
                                                                      0))
    return SinScaled


def _transformed(lib, rule):
    F = _for_transforms(lib, rule)
    xs = lib.tensor([[0.5, 1.0], [1.5, -2.0], [0.3, 0.1]], dtype=lib.float64)
    w = lib.tensor([0.7, -1.1], dtype=lib.float64)
    loss = lambda x, w: F.apply(x, w, 3.0).sum()  # noqa: E731
    grad = lib.func.grad(loss, argnums=(0, 1))
    return [lib.func.vmap(F.apply, in_dims=(0, None, None))(xs, w, 3.0),
            *grad(xs[0], w), lib.func.vmap(lib.func.grad(loss), in_dims=(0, None))(xs, w),
            lib.func.grad(lambda x: lib.func.grad(loss)(x, w).sum())(xs[0]),  # through a backward of Tensor ops
            *lib.func.jvp(lambda x: F.apply(x, w, 3.0), (xs[0],), (xs[1],))]


@pytest.mark.parametrize("rule", ["generated", "by hand"])
def test_a_function_with_setup_context_runs_under_func_transforms_as_torch(rule):
    ours, theirs = _transformed(cr, rule), _transformed(torch, rule)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12)
    # the generated batching rule and the gradients against central differences
    x, w, e = np.array([0.5, 1.0]), np.array([0.7, -1.1]), 1e-6
    f = lambda x: (np.sin(x * w) * 3.0).sum()  # noqa: E731
    fd = [(f(x + e * d) - f(x - e * d)) / (2 * e) for d in np.eye(2)]
    np.testing.assert_allclose(ours[1].numpy(), fd, rtol=1e-8)


def test_a_function_that_transforms_cannot_run_is_refused_as_torch():
    for lib in (cr, torch):
        no_rule = _for_transforms(lib, "none")

        class OldStyle(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return 2 * g

        x = lib.ones(3, 2, dtype=lib.float64)
        with pytest.raises(RuntimeError, match="does not have vmap support. Please override and implement"):
            lib.func.vmap(no_rule.apply, in_dims=(0, None, None))(x, x[0], 2.0)
        with pytest.raises(RuntimeError, match="it must override the setup_context staticmethod"):
            lib.func.grad(lambda v: OldStyle.apply(v).sum())(x)

"""torch.autograd.forward_ad (dual Tensors: make_dual, unpack_dual inside dual_level)
against PyTorch: the values, the Jacobian-vector products through modules, fused
recurrent layers and PyTorch's meaning of the methods, the gradients of a loss made of
the tangents (backward() through them), and PyTorch's errors."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)
X, V = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))


def _program(lib):
    fwAD = lib.autograd.forward_ad
    lib.manual_seed(0)
    lin, lstm = lib.nn.Linear(3, 3).double(), lib.nn.LSTM(3, 2).double()
    with lib.no_grad():
        for i, p in enumerate([*lin.parameters(), *lstm.parameters()]):
            p.copy_(lib.tensor(np.cos(np.arange(p.numel()) * 0.7 + i).reshape(tuple(p.shape))))
    x = lib.tensor(X, requires_grad=True)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, lib.tensor(V))
        h = lib.nn.functional.gelu(lin(d))
        y = lstm(h)[0].sum(1) * d.var(1) + d.max(0)[0].sum() + h.sigmoid()[:, 0]
        primal, tangent = fwAD.unpack_dual(y)
        assert fwAD.unpack_dual(x).tangent is None
    (tangent * lib.tensor(np.arange(4.0))).sum().backward()
    return [primal, tangent, x.grad, lin.weight.grad, *[p.grad for p in lstm.parameters()]]


def test_dual_tensors_give_pytorchs_jacobian_vector_products_and_their_gradients():
    ours, theirs = _program(cr), _program(torch)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_the_tangent_of_a_fused_layer_is_differentiated_as_finite_differences_say():
    # layer_norm's tangent summed over the normalized axis is 0 for every input, so that sum
    # has gradient 0; a weighted sum's gradient, by central differences
    fwAD = cr.autograd.forward_ad
    weights = rng.standard_normal((4, 3))

    def weighted_tangent(a, grad=False):
        x = cr.tensor(a, requires_grad=grad)
        with fwAD.dual_level():
            t = fwAD.unpack_dual(cr.nn.functional.layer_norm(fwAD.make_dual(x, cr.tensor(V)), (3,))).tangent
        return x, (t * cr.tensor(weights)).sum()

    x, s = weighted_tangent(X, grad=True)
    s.backward()
    eps, fd = 1e-6, np.zeros_like(X)
    for i in np.ndindex(X.shape):
        e = np.zeros_like(X)
        e[i] = eps
        fd[i] = (weighted_tangent(X + e)[1].item() - weighted_tangent(X - e)[1].item()) / (2 * eps)
    np.testing.assert_allclose(x.grad.numpy(), fd, rtol=1e-6, atol=1e-8)


def test_dual_level_refuses_what_pytorch_refuses():
    fwAD = cr.autograd.forward_ad
    x = cr.ones(2, dtype="float64")
    with pytest.raises(RuntimeError, match="no dual level is open"):
        fwAD.make_dual(x, x)
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match="different size"):
            fwAD.make_dual(x, cr.ones(3, dtype="float64"))
        with pytest.raises(RuntimeError, match="Nested forward mode AD"), fwAD.dual_level():
            pass
        y = fwAD.make_dual(x, x) * 3
        with pytest.raises(RuntimeError, match="already has a forward gradient at the same level"):
            fwAD.make_dual(y, x)
    assert fwAD.unpack_dual(y).tangent is None  # the level closed: a plain value again
    assert (y + 1).tolist() == [4.0, 4.0]


def _with_jvp(lib):
    class ScaledSquare(lib.autograd.Function):  # x ** 2 * k, with a second output that has no tangent
        @staticmethod
        def forward(x, w, k):
            return x ** 2 * w * k, x.argmax()

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, w, k = inputs
            ctx.k = k
            ctx.save_for_backward(x, w)
            ctx.save_for_forward(x, w)
            ctx.mark_non_differentiable(output[1])

        @staticmethod
        def backward(ctx, g, _):
            x, w = ctx.saved_tensors
            return 2 * x * w * ctx.k * g, x ** 2 * ctx.k * g, None

        @staticmethod
        def jvp(ctx, tx, tw, tk):
            assert tk is None  # a number has no tangent; w, not dual, has zeros
            x, w = ctx.saved_tensors  # what save_for_forward kept
            return (2 * x * tx * w + x ** 2 * tw) * ctx.k, None

    return ScaledSquare


def _function_jvp(lib):
    fwAD = lib.autograd.forward_ad
    x = lib.tensor([0.5, -1.5, 2.0], dtype=lib.float64, requires_grad=True)
    w = lib.tensor([1.0, 2.0, -3.0], dtype=lib.float64, requires_grad=True)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, lib.tensor([1.0, 0.5, -2.0], dtype=lib.float64))
        y, i = _with_jvp(lib).apply(d.sin(), w, 3.0)
        primal, tangent = fwAD.unpack_dual(y)
        index_tangent = fwAD.unpack_dual(i).tangent
        (tangent * tangent).sum().backward(retain_graph=True)  # through the tangent's graph
        y.sum().backward()  # through the primal's: a dual Tensor stands for its primal
    return primal, tangent, index_tangent, x.grad, w.grad


def test_a_function_s_jvp_gives_dual_outputs_under_forward_ad_as_torch():
    ours, theirs = _function_jvp(cr), _function_jvp(torch)
    assert ours[2] is None and theirs[2] is None
    for a, b in zip(ours[:2] + ours[3:], theirs[:2] + theirs[3:], strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
    # the tangent against central differences of the primal along the direction
    x0, v, w0 = np.array([0.5, -1.5, 2.0]), np.array([1.0, 0.5, -2.0]), np.array([1.0, 2.0, -3.0])
    f = lambda s: np.sin(x0 + s * v) ** 2 * w0 * 3.0  # noqa: E731
    np.testing.assert_allclose(ours[1].detach().numpy(), (f(1e-6) - f(-1e-6)) / 2e-6, rtol=1e-7)


def test_a_function_without_jvp_or_with_a_wrong_tangent_is_refused_as_torch():
    for lib in (cr, torch):
        fwAD = lib.autograd.forward_ad

        class Doubled(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return 2 * g

        class Summed(Doubled):
            @staticmethod
            def jvp(ctx, t):
                return t.sum()

        with fwAD.dual_level():
            d = fwAD.make_dual(lib.ones(2, dtype=lib.float64), lib.ones(2, dtype=lib.float64))
            with pytest.raises(NotImplementedError, match="You must implement the jvp function"):
                Doubled.apply(d)
            with pytest.raises(RuntimeError, match="different size than that of the original Tensor"):
                Summed.apply(d)
            assert fwAD.unpack_dual(Doubled.apply(lib.ones(2, dtype=lib.float64))).tangent is None

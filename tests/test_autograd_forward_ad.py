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

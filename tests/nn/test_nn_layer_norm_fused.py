"""The fused layer norm pair (``chainrule.nn._layer_norm``): against PyTorch in float64,
against central finite differences (both modes, second order, every output of the
forward primitive, the backward primitive with cotangents missing), under vmap (shared
and per-example parameters), in float32, and the unfused path it leaves to layers
without a scale."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
import chainrule.numpy as cnp
from chainrule.nn import _layer_norm

rng = np.random.default_rng(7)
SHAPES = {"rows": ((3, 4, 5), (5,)), "two_axes": ((3, 2, 3), (2, 3)), "one_row": ((5,), (5,))}


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_matches_torch(name, bias):
    torch = pytest.importorskip("torch")
    shape, normalized = SHAPES[name]
    x, w = rng.standard_normal(shape), rng.standard_normal(normalized)
    b = rng.standard_normal(normalized) if bias else None
    g = rng.standard_normal(shape)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True) if bias else None
    ty = torch.nn.functional.layer_norm(tx, normalized, tw, tb, eps=1e-3)
    ty.backward(torch.tensor(g))
    args = (x, w, b) if bias else (x, w)
    y, vjp = cr.vjp(lambda *a: F.layer_norm(a[0], normalized, a[1], a[2] if bias else None, eps=1e-3), *args)
    grads = vjp(g)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(grads, (tx, tw, tb), strict=False):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("bias", [False, True])
def test_forward_matches_finite_differences(bias):
    x, w, b = rng.standard_normal((3, 4, 5)), rng.standard_normal(5), rng.standard_normal(5)

    def f(x, w, b):
        y, xhat, rstd = _layer_norm.layer_norm_forward(x, w, b if bias else None, width=5)
        return cnp.sin(y).sum() + (xhat ** 3).sum() + (rstd * rstd).sum()

    assert cr.gradcheck(f, x, w, b, order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("missing", [(), (0,), (1,), (2,), (0, 1), (1, 2)])
@pytest.mark.parametrize("bias_shape", [None, (5,)])
def test_backward_matches_finite_differences(missing, bias_shape):
    x, w = rng.standard_normal((3, 4, 5)), rng.standard_normal(5)
    y, xhat, rstd = _layer_norm.layer_norm_forward(x, w, width=5)
    cots = [rng.standard_normal(a.shape) for a in (y, xhat, rstd)]

    def f(g, g_xhat, g_rstd, xhat, rstd, w):
        gs = [g, g_xhat, g_rstd]
        for k in missing:
            gs[k] = None
        return _layer_norm.layer_norm_backward(*gs, xhat, rstd, w, width=5, bias_shape=bias_shape)

    assert cr.gradcheck(f, *cots, xhat, rstd, w, order=1, modes=("fwd", "rev"))


def test_vmap_matches_a_loop_over_examples():
    xs, w, b = rng.standard_normal((4, 3, 5)), rng.standard_normal(5), rng.standard_normal(5)
    ws = rng.standard_normal((4, 5))

    def loss(x, w, b):
        return cnp.sin(F.layer_norm(x, 5, w, b)).sum()

    cases = [(lambda x: F.layer_norm(x, 5, w, b), (xs,), 0),  # shared parameters: more rows
             (cr.grad(loss, (0, 1, 2)), (xs, w, b), (0, None, None)),  # per-example parameter gradients
             (cr.grad(loss, (0, 1)), (xs, ws, b), (0, 0, None))]  # per-example parameters
    for fun, args, in_axes in cases:
        got = cr.vmap(fun, in_axes)(*args)
        axes = in_axes if isinstance(in_axes, tuple) else (in_axes,)
        loop = [fun(*(a[i] if ax == 0 else a for a, ax in zip(args, axes, strict=True))) for i in range(4)]
        for g, want in zip(cr.tree_leaves(got), zip(*[cr.tree_leaves(x) for x in loop], strict=True), strict=True):
            np.testing.assert_allclose(g, np.stack(want), rtol=1e-12, atol=1e-12)


def test_float32_stays_float32_and_without_scale_the_plain_path_runs():
    x = rng.standard_normal((2, 3, 8)).astype(np.float32)
    w, b = np.ones(8, np.float32), np.zeros(8, np.float32)
    y, vjp = cr.vjp(lambda x, w, b: F.layer_norm(x, 8, w, b), x, w, b)
    assert {a.dtype for a in (y, *vjp(np.ones_like(y)))} == {np.dtype(np.float32)}
    np.testing.assert_allclose(F.layer_norm(x, 8), y, rtol=1e-6, atol=1e-6)


def test_integer_input_is_normalised_as_float():
    x = np.arange(12).reshape(3, 4)
    w = rng.standard_normal(4)
    np.testing.assert_allclose(F.layer_norm(x, 4, w), F.layer_norm(x.astype(np.float64), 4, w), rtol=1e-14,
                               atol=1e-14)

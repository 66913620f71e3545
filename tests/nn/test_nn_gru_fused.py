"""The fused GRU layer (``chainrule.nn._gru``): its two primitives against central finite
differences (both modes, second order), against the per-step composition it replaces
(values and every gradient, both directions, with and without b_hh, float32 and float64),
against PyTorch's GRU in float64, under vmap and jit, and in place on plain arrays against
the same body on traced values."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import nn
from chainrule.nn import _gru, _ops

T, N, H = 4, 3, 2
rng = np.random.default_rng(12)


def _inputs(dtype=np.float64, t=T, n=N, h=H, bias=True):
    return [rng.standard_normal((t, n, 3 * h)).astype(dtype), (0.7 * rng.standard_normal((3 * h, h))).astype(dtype),
            rng.standard_normal(3 * h).astype(dtype) if bias else None, rng.standard_normal((n, h)).astype(dtype)]


def _composed(xproj, w_hh, b_hh, h, reverse=False):
    """PyTorch's GRU step by step, with the mirror's and nn's primitives."""
    hidden = w_hh.shape[1]
    outs = [None] * xproj.shape[0]
    for t in (range(xproj.shape[0] - 1, -1, -1) if reverse else range(xproj.shape[0])):
        g = cnp.matmul(h, cnp.transpose(w_hh))
        if b_hh is not None:
            g = g + b_hh
        x = xproj[t]
        r = _ops.sigmoid(x[:, :hidden] + g[:, :hidden])
        z = _ops.sigmoid(x[:, hidden : 2 * hidden] + g[:, hidden : 2 * hidden])
        n = cnp.tanh(x[:, 2 * hidden :] + r * g[:, 2 * hidden :])
        h = (1 - z) * n + z * h
        outs[t] = h
    return cnp.stack(outs), h


def _weighted(fun, weights):
    def loss(*args):
        ys, h = fun(*args)
        return (ys * weights[0]).sum() + (h * weights[1]).sum()

    return loss


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("output", [0, 1, 2, "all"])
def test_gru_forward_matches_finite_differences(output, reverse):
    args = _inputs(t=3, n=2)

    def f(*a):
        outs = _gru.gru_forward(*a, reverse=reverse)
        if output == "all":
            return outs[0].sum() * outs[2] + cnp.sin(outs[1][..., :H])
        return outs[output]

    assert cr.gradcheck(f, *args, order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("missing", [(), (0,), (1,), (2,), (1, 2), (0, 2)])
def test_gru_backward_matches_finite_differences(missing):
    xproj, w_hh, b_hh, h0 = _inputs(t=3, n=2)
    outs = _gru.gru_forward(xproj, w_hh, b_hh, h0)
    cots = [rng.standard_normal(a.shape) for a in outs]

    def f(gy, ga, gn, ys, gates, g_n, w_hh, h0):
        g = [gy, ga, gn]
        for k in missing:
            g[k] = None
        return _gru.gru_backward(*g, ys, gates, g_n, w_hh, h0)

    assert cr.gradcheck(f, *cots, *outs, w_hh, h0, order=1, modes=("fwd", "rev"))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("reverse", [False, True])
def test_fused_layer_matches_the_composed_loop(reverse, dtype, tol, bias):
    args = _inputs(dtype, t=6, n=3, h=5, bias=bias)
    fused = _gru.gru_sequence(*args, reverse=reverse)
    composed = _composed(*args, reverse=reverse)
    for a, b in zip(fused, composed, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    weights = [rng.standard_normal(np.shape(a)).astype(dtype) for a in composed]
    argnums = (0, 1, 2, 3) if bias else (0, 1, 3)
    got = cr.grad(_weighted(lambda *a: _gru.gru_sequence(*a, reverse=reverse), weights), argnums)(*args)
    want = cr.grad(_weighted(lambda *a: _composed(*a, reverse=reverse), weights), argnums)(*args)
    for a, b in zip(got, want, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol * 10)


def test_second_derivatives_and_forward_mode_match_the_composed_loop():
    args = _inputs()
    weights = [rng.standard_normal(s) for s in ((T, N, H), (N, H))]
    direction = [rng.standard_normal(a.shape) for a in args]
    argnums = (0, 1, 2, 3)

    def second_derivatives(fun):
        loss = _weighted(fun, weights)
        fwd_over_rev = cr.jvp(cr.grad(loss, argnums), args, direction)[1]

        def along(*a):
            return sum((g * d).sum() for g, d in zip(cr.grad(loss, argnums)(*a), direction, strict=True))

        return fwd_over_rev, cr.grad(along, argnums)(*args)

    fused = second_derivatives(lambda *a: _gru.gru_sequence(*a))
    composed = second_derivatives(_composed)
    for got in (*fused, composed[1]):
        for a, b in zip(got, composed[0], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kwargs", [{}, {"bidirectional": True, "num_layers": 2}, {"bias": False, "batch_first": True}])
def test_layer_matches_pytorch_in_float64(kwargs):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.GRU(3, 4, **kwargs).double()
    ours = nn.GRU(3, 4, dtype=np.float64, **kwargs)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((2, 5, 3) if kwargs.get("batch_first") else (5, 2, 3))
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    h0 = rng.standard_normal((layers, 2, 4))
    xt, ht = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    out_t, hn_t = theirs(xt, ht)
    weights = rng.standard_normal(out_t.shape)
    ((out_t * torch.tensor(weights)).sum() + (hn_t ** 2).sum()).backward()
    xs, hs = cr.tensor(x, requires_grad=True), cr.tensor(h0, requires_grad=True)
    out, hn = ours(xs, hs)
    ((out * weights).sum() + (hn ** 2).sum()).backward()
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hn.detach().numpy(), hn_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hs.grad.numpy(), ht.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("in_axes", [(0, None, None, None), (0, None, None, 0), (None, 0, 0, None),
                                     (None, None, 0, 0)])
def test_vmap_of_the_fused_layer_and_its_gradient_matches_a_loop(in_axes):
    b = 3
    args = [np.stack([a * (1 + 0.1 * k) for k in range(b)]) if ax == 0 else a
            for a, ax in zip(_inputs(), in_axes, strict=True)]
    weights = [rng.standard_normal(s) for s in ((T, N, H), (N, H))]
    loss = _weighted(lambda *a: _gru.gru_sequence(*a, reverse=True), weights)

    def example(k):
        return [a[k] if ax == 0 else a for a, ax in zip(args, in_axes, strict=True)]

    got = cr.vmap(lambda *a: _gru.gru_sequence(*a), in_axes=in_axes)(*args)
    for i, g in enumerate(got):
        np.testing.assert_allclose(g, np.stack([_composed(*example(k))[i] for k in range(b)]), rtol=1e-12)
    grads = cr.vmap(cr.grad(loss, (0, 1, 2, 3)), in_axes=in_axes)(*args)
    for i, g in enumerate(grads):
        want = np.stack([cr.grad(_weighted(lambda *a: _composed(*a, reverse=True), weights), i)(*example(k))
                         for k in range(b)])
        np.testing.assert_allclose(g, want, rtol=1e-11, atol=1e-12)


def test_jit_of_a_training_step_matches_eager():
    gru = nn.GRU(3, 4, num_layers=2, dtype=np.float64, rng=3)
    x, y = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 2, 4))
    model = cr.tree_map(lambda p: p.detach().numpy().copy(), gru)

    def loss(m, x, y):
        return ((m(x)[0] - y) ** 2).mean()

    step = cr.jit(cr.grad(loss))
    for scale in (1.0, 0.5):  # the second call replays the recorded program
        got = cr.tree_leaves(step(model, x * scale, y))
        want = cr.tree_leaves(cr.grad(loss)(model, x * scale, y))
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
def test_written_into_buffers_equals_the_traced_body_and_leaves_inputs_alone(dtype, reverse):
    args = _inputs(dtype, t=5, n=3, h=4)
    kept = [a.copy() for a in args]
    plain = _gru.gru_forward(*args, reverse=reverse)
    traced = cr.jvp(lambda x: _gru.gru_forward(x, *args[1:], reverse=reverse), (args[0],),
                    (np.zeros_like(args[0]),))[0]
    for a, b in zip(plain, traced, strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    cots = [rng.standard_normal(a.shape).astype(dtype) for a in plain]
    for missing in [(), (0,), (1, 2), (0, 2)]:
        g = [None if k in missing else c for k, c in enumerate(cots)]
        kept_g = [None if c is None else c.copy() for c in g]
        back = _gru.gru_backward(*g, *plain, args[1], args[3], reverse=reverse)
        back_traced = cr.jvp(lambda w, g=g: _gru.gru_backward(*g, *plain, w, args[3], reverse=reverse),
                             (args[1],), (np.zeros_like(args[1]),))[0]
        for a, b in zip(back, back_traced, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=1e-7)
        for c, k in zip(g, kept_g, strict=True):
            assert c is None or np.array_equal(c, k)
    for a, k in zip(args, kept, strict=True):
        np.testing.assert_array_equal(a, k)

"""The fused LSTM layer (``chainrule.nn._lstm``): its two primitives against central
finite differences (both modes, second order), against the per-step composition of the
LSTM cell it replaces (values and every gradient, both directions, float32 and float64),
under vmap (shared and per-example weights), under jit, and with create_graph."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import nn
from chainrule.nn import _lstm

T, N, H = 4, 3, 2
rng = np.random.default_rng(11)


def _inputs(dtype=np.float64, t=T, n=N, h=H):
    return [rng.standard_normal((t, n, 4 * h)).astype(dtype), (0.7 * rng.standard_normal((4 * h, h))).astype(dtype),
            rng.standard_normal((n, h)).astype(dtype), rng.standard_normal((n, h)).astype(dtype)]


def _composed(xproj, w_hh, h, c, reverse=False):
    """The LSTM as it is composed without the fused pair: one cell primitive per step."""
    outs = [None] * xproj.shape[0]
    for t in (range(xproj.shape[0] - 1, -1, -1) if reverse else range(xproj.shape[0])):
        h, c = _lstm.lstm_cell(xproj[t] + cnp.matmul(h, cnp.transpose(w_hh)), c)
        outs[t] = h
    return cnp.stack(outs), h, c


def _weighted(fun, weights):
    def loss(*args):
        ys, h, c = fun(*args)
        return (ys * weights[0]).sum() + (h * weights[1]).sum() + (c * weights[2]).sum()

    return loss


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("output", [0, 1, 2, "all"])
def test_lstm_forward_matches_finite_differences(output, reverse):
    args = _inputs(t=3, n=2)

    def f(*a):
        outs = _lstm.lstm_forward(*a, reverse=reverse)
        if output == "all":
            return outs[0].sum() * outs[1] + cnp.sin(outs[2][..., :H])
        return outs[output]

    assert cr.gradcheck(f, *args, order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("missing", [(), (0,), (1,), (2,), (1, 2), (0, 2)])
def test_lstm_backward_matches_finite_differences(missing):
    xproj, w_hh, h0, c0 = _inputs(t=3, n=2)
    ys, cs, gates = _lstm.lstm_forward(xproj, w_hh, h0, c0)
    cots = [rng.standard_normal(a.shape) for a in (ys, cs, gates)]

    def f(gy, gc, ga, ys, cs, gates, w_hh, h0, c0):
        g = [gy, gc, ga]
        for k in missing:
            g[k] = None
        return _lstm.lstm_backward(*g, ys, cs, gates, w_hh, h0, c0)

    assert cr.gradcheck(f, *cots, ys, cs, gates, w_hh, h0, c0, order=1, modes=("fwd", "rev"))


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("reverse", [False, True])
def test_fused_layer_matches_the_composed_cell_loop(reverse, dtype, tol):
    args = _inputs(dtype, t=6, n=3, h=5)
    fused = _lstm.lstm_sequence(*args, reverse=reverse)
    composed = _composed(*args, reverse=reverse)
    for a, b in zip(fused, composed, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    weights = [rng.standard_normal(np.shape(a)).astype(dtype) for a in composed]
    argnums = (0, 1, 2, 3)
    got = cr.grad(_weighted(lambda *a: _lstm.lstm_sequence(*a, reverse=reverse), weights), argnums)(*args)
    want = cr.grad(_weighted(lambda *a: _composed(*a, reverse=reverse), weights), argnums)(*args)
    for a, b in zip(got, want, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol * 10)


def test_second_derivatives_and_forward_mode_match_the_composed_loop():
    args = _inputs()
    weights = [rng.standard_normal(s) for s in ((T, N, H), (N, H), (N, H))]
    direction = [rng.standard_normal(a.shape) for a in args]
    argnums = (0, 1, 2, 3)

    def second_derivatives(fun):
        loss = _weighted(fun, weights)
        fwd_over_rev = cr.jvp(cr.grad(loss, argnums), args, direction)[1]

        def along(*a):
            return sum((g * d).sum() for g, d in zip(cr.grad(loss, argnums)(*a), direction, strict=True))

        return fwd_over_rev, cr.grad(along, argnums)(*args)

    fused = second_derivatives(lambda *a: _lstm.lstm_sequence(*a))
    composed = second_derivatives(_composed)
    for got in (*fused, composed[1]):
        for a, b in zip(got, composed[0], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_eager_create_graph_differentiates_the_fused_layer_again():
    lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True, dtype=np.float64, rng=2)
    x = rng.standard_normal((5, 2, 2))
    assert cr.gradcheck(lambda m, x: (m(x)[0] ** 2).sum(), lstm, x, order=2)


@pytest.mark.parametrize("in_axes", [(0, None, None, None), (0, None, 0, 0), (None, None, 0, None),
                                     (0, 0, None, None), (None, 0, 0, 0)])
def test_vmap_of_the_fused_layer_and_its_gradient_matches_a_loop(in_axes):
    b = 3
    args = [np.stack([a * (1 + 0.1 * k) for k in range(b)]) if ax == 0 else a
            for a, ax in zip(_inputs(), in_axes, strict=True)]
    weights = [rng.standard_normal(s) for s in ((T, N, H), (N, H), (N, H))]
    loss = _weighted(lambda *a: _lstm.lstm_sequence(*a, reverse=True), weights)

    def example(k):
        return [a[k] if ax == 0 else a for a, ax in zip(args, in_axes, strict=True)]

    got = cr.vmap(lambda *a: _lstm.lstm_sequence(*a), in_axes=in_axes)(*args)
    for i, g in enumerate(got):
        np.testing.assert_allclose(g, np.stack([_composed(*example(k))[i] for k in range(b)]), rtol=1e-12)
    grads = cr.vmap(cr.grad(loss, (0, 1, 2, 3)), in_axes=in_axes)(*args)
    for i, g in enumerate(grads):
        want = np.stack([cr.grad(_weighted(lambda *a: _composed(*a, reverse=True), weights), i)(*example(k))
                         for k in range(b)])
        np.testing.assert_allclose(g, want, rtol=1e-11, atol=1e-12)


def test_jit_of_a_training_step_matches_eager():
    lstm = nn.LSTM(3, 4, num_layers=2, dtype=np.float64, rng=3)
    x, y = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 2, 4))
    model = cr.tree_map(lambda p: p.detach().numpy().copy(), lstm)

    def loss(m, x, y):
        return ((m(x)[0] - y) ** 2).mean()

    step = cr.jit(cr.grad(loss))
    for scale in (1.0, 0.5):  # the second call replays the recorded program
        got = cr.tree_leaves(step(model, x * scale, y))
        want = cr.tree_leaves(cr.grad(loss)(model, x * scale, y))
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("argnums", [(0,), (1,), (2,), (3,), (1, 2), (0, 3), (2, 3)])
def test_any_subset_of_arguments_gets_the_composed_loops_gradient(argnums):
    # the pass through time is made once per backward pass, by one joint rule
    args = _inputs(t=5)
    weights = [rng.standard_normal(s) for s in ((5, N, H), (N, H), (N, H))]
    got = cr.grad(_weighted(lambda *a: _lstm.lstm_sequence(*a), weights), argnums)(*args)
    want = cr.grad(_weighted(_composed, weights), argnums)(*args)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reverse", [False, True])
def test_written_into_buffers_equals_the_traced_body_and_leaves_inputs_alone(dtype, reverse):
    # On plain arrays of one dtype the bodies write into arrays of their own (in place); on
    # traced values every operation makes a new value. Both must give the same numbers,
    # and neither may write into an argument.
    args = _inputs(dtype, t=5, n=3, h=4)
    kept = [a.copy() for a in args]
    plain = _lstm.lstm_forward(*args, reverse=reverse)
    traced = cr.jvp(lambda x: _lstm.lstm_forward(x, *args[1:], reverse=reverse), (args[0],),
                    (np.zeros_like(args[0]),))[0]
    for a, b in zip(plain, traced, strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    cots = [rng.standard_normal(a.shape).astype(dtype) for a in plain]
    for missing in [(), (0,), (1, 2), (0, 2)]:
        g = [None if k in missing else c for k, c in enumerate(cots)]
        kept_g = [None if c is None else c.copy() for c in g]
        back = _lstm.lstm_backward(*g, *plain, args[1], *args[2:], reverse=reverse)
        back_traced = cr.jvp(lambda w, g=g: _lstm.lstm_backward(*g, *plain, w, *args[2:], reverse=reverse),
                             (args[1],), (np.zeros_like(args[1]),))[0]
        for a, b in zip(back, back_traced, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=1e-7)
        for c, k in zip(g, kept_g, strict=True):
            assert c is None or np.array_equal(c, k)
    for a, k in zip(args, kept, strict=True):
        np.testing.assert_array_equal(a, k)


def test_arguments_of_mixed_dtypes_compute_in_the_wider_one():
    x32, w, h0, c0 = _inputs(np.float32)
    mixed = _lstm.lstm_forward(x32, w.astype(np.float64), h0.astype(np.float64), c0.astype(np.float64))
    wide = _lstm.lstm_forward(x32.astype(np.float64), w.astype(np.float64), h0.astype(np.float64),
                              c0.astype(np.float64))
    for a, b in zip(mixed[:2], wide[:2], strict=True):
        assert a.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=1e-7)

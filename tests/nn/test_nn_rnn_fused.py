"""The fused Elman RNN layer (``chainrule.nn._rnn``, tanh and ReLU): its two primitives
against central finite differences, against the per-step composition it replaces (values
and every gradient, both directions, with and without b_hh, float32 and float64), against
PyTorch's RNN in float64, under vmap and jit, and in place on plain arrays against the
same body on traced values."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import nn
from chainrule.nn import _ops, _rnn

T, N, H = 4, 3, 2
rng = np.random.default_rng(13)


def _inputs(dtype=np.float64, t=T, n=N, h=H, bias=True):
    return [rng.standard_normal((t, n, h)).astype(dtype), (0.7 * rng.standard_normal((h, h))).astype(dtype),
            rng.standard_normal(h).astype(dtype) if bias else None, rng.standard_normal((n, h)).astype(dtype)]


def _composed(xproj, w_hh, b_hh, h, relu=False, reverse=False):
    outs = [None] * xproj.shape[0]
    for t in (range(xproj.shape[0] - 1, -1, -1) if reverse else range(xproj.shape[0])):
        z = xproj[t] + cnp.matmul(h, cnp.transpose(w_hh))
        if b_hh is not None:
            z = z + b_hh
        h = _ops.relu(z) if relu else cnp.tanh(z)
        outs[t] = h
    return cnp.stack(outs), h


def _weighted(fun, weights):
    def loss(*args):
        ys, h = fun(*args)
        return (ys * weights[0]).sum() + (h * weights[1]).sum()

    return loss


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_primitives_match_finite_differences(relu, reverse):
    args = _inputs(t=3, n=2)
    order = 1 if relu else 2  # ReLU's second derivative is 0 almost everywhere: checked below by the loop
    assert cr.gradcheck(lambda *a: _rnn.rnn_forward(*a, relu=relu, reverse=reverse), *args, order=order,
                        modes=("fwd", "rev"))
    # the backward pass as a function of outputs away from ReLU's kink (any values will do)
    ys = np.abs(rng.standard_normal((3, 2, H))) + 0.5 if relu else _rnn.rnn_forward(*args, reverse=reverse)
    gy = rng.standard_normal(ys.shape)
    assert cr.gradcheck(lambda g, y, w, h0: _rnn.rnn_backward(g, y, w, h0, relu=relu, reverse=reverse),
                        gy, ys, args[1], args[3], order=1, modes=("fwd", "rev"))


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("reverse", [False, True])
def test_fused_layer_matches_the_composed_loop(reverse, dtype, tol, bias, relu):
    args = _inputs(dtype, t=6, n=3, h=5, bias=bias)
    fused = _rnn.rnn_sequence(*args, relu=relu, reverse=reverse)
    composed = _composed(*args, relu=relu, reverse=reverse)
    for a, b in zip(fused, composed, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    weights = [rng.standard_normal(np.shape(a)).astype(dtype) for a in composed]
    argnums = (0, 1, 2, 3) if bias else (0, 1, 3)
    got = cr.grad(_weighted(lambda *a: _rnn.rnn_sequence(*a, relu=relu, reverse=reverse), weights), argnums)(*args)
    want = cr.grad(_weighted(lambda *a: _composed(*a, relu=relu, reverse=reverse), weights), argnums)(*args)
    for a, b in zip(got, want, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol * 10)


@pytest.mark.parametrize("relu", [False, True])
def test_second_derivatives_and_forward_mode_match_the_composed_loop(relu):
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

    fused = second_derivatives(lambda *a: _rnn.rnn_sequence(*a, relu=relu))
    composed = second_derivatives(lambda *a: _composed(*a, relu=relu))
    for got in (*fused, composed[1]):
        for a, b in zip(got, composed[0], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_relu_derivative_at_zero_is_zero_in_both_modes():
    xproj = np.zeros((2, 1, 2))
    w, h0 = np.zeros((2, 2)), np.zeros((1, 2))
    g = cr.grad(lambda x: _rnn.rnn_sequence(x, w, None, h0, relu=True)[0].sum())(xproj)
    t = cr.jvp(lambda x: _rnn.rnn_sequence(x, w, None, h0, relu=True)[0], (xproj,), (np.ones_like(xproj),))[1]
    assert not g.any() and not t.any()


@pytest.mark.parametrize("kwargs", [{}, {"nonlinearity": "relu", "bidirectional": True, "num_layers": 2},
                                    {"bias": False, "batch_first": True}])
def test_layer_matches_pytorch_in_float64(kwargs):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.RNN(3, 4, **kwargs).double()
    ours = nn.RNN(3, 4, dtype=np.float64, **kwargs)
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
    for a, b in ((out.detach().numpy(), out_t.detach().numpy()), (hn.detach().numpy(), hn_t.detach().numpy()),
                 (xs.grad.numpy(), xt.grad.numpy()), (hs.grad.numpy(), ht.grad.numpy()),
                 *((getattr(ours, name).grad.numpy(), p.grad.numpy()) for name, p in theirs.named_parameters())):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("in_axes", [(0, None, None, None), (None, 0, 0, None), (None, None, 0, 0)])
def test_vmap_of_the_fused_layer_and_its_gradient_matches_a_loop(in_axes):
    b = 3
    args = [np.stack([a * (1 + 0.1 * k) for k in range(b)]) if ax == 0 else a
            for a, ax in zip(_inputs(), in_axes, strict=True)]
    weights = [rng.standard_normal(s) for s in ((T, N, H), (N, H))]

    def example(k):
        return [a[k] if ax == 0 else a for a, ax in zip(args, in_axes, strict=True)]

    got = cr.vmap(lambda *a: _rnn.rnn_sequence(*a), in_axes=in_axes)(*args)
    for i, g in enumerate(got):
        np.testing.assert_allclose(g, np.stack([_composed(*example(k))[i] for k in range(b)]), rtol=1e-12)
    loss = _weighted(lambda *a: _rnn.rnn_sequence(*a, reverse=True), weights)
    grads = cr.vmap(cr.grad(loss, (0, 1, 2, 3)), in_axes=in_axes)(*args)
    for i, g in enumerate(grads):
        want = np.stack([cr.grad(_weighted(lambda *a: _composed(*a, reverse=True), weights), i)(*example(k))
                         for k in range(b)])
        np.testing.assert_allclose(g, want, rtol=1e-11, atol=1e-12)


def test_jit_of_a_training_step_matches_eager():
    rnn = nn.RNN(3, 4, num_layers=2, nonlinearity="relu", dtype=np.float64, rng=3)
    x, y = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 2, 4))
    model = cr.tree_map(lambda p: p.detach().numpy().copy(), rnn)

    def loss(m, x, y):
        return ((m(x)[0] - y) ** 2).mean()

    step = cr.jit(cr.grad(loss))
    for scale in (1.0, 0.5):
        got = cr.tree_leaves(step(model, x * scale, y))
        want = cr.tree_leaves(cr.grad(loss)(model, x * scale, y))
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_written_into_buffers_equals_the_traced_body_and_leaves_inputs_alone(dtype, relu):
    args = _inputs(dtype, t=5, n=3, h=4)
    kept = [a.copy() for a in args]
    plain = _rnn.rnn_forward(*args, relu=relu)
    traced = cr.jvp(lambda x: _rnn.rnn_forward(x, *args[1:], relu=relu), (args[0],), (np.zeros_like(args[0]),))[0]
    assert plain.dtype == dtype
    np.testing.assert_array_equal(plain, traced)
    gy = rng.standard_normal(plain.shape).astype(dtype)
    kept_gy = gy.copy()
    back = _rnn.rnn_backward(gy, plain, args[1], args[3], relu=relu)
    back_traced = cr.jvp(lambda w: _rnn.rnn_backward(gy, plain, w, args[3], relu=relu), (args[1],),
                         (np.zeros_like(args[1]),))[0]
    for a, b in zip(back, back_traced, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=1e-7)
    np.testing.assert_array_equal(gy, kept_gy)
    for a, k in zip(args, kept, strict=True):
        np.testing.assert_array_equal(a, k)

"""F.rrelu and nn.RReLU against torch: eval mode exactly (values and derivatives, NaN and
signed zeros included), training mode by what it promises (slopes drawn in [lower,
upper], the derivative the slope drawn, NaN and positives passed with slope 1), and
central differences through a fixed draw."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

torch = pytest.importorskip("torch")

X = np.array([-3.0, -1.0, -0.0, 0.0, 0.5, 2.0, np.nan, -np.inf, np.inf, -1e-30])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bounds", [(), (0.1, 0.3), (-1.0, 2.0), (0.2, 0.2)])
def test_eval_mode_is_torch_s_leaky_relu(dtype, bounds):
    x = cr.tensor(X.astype(dtype), requires_grad=True)
    tx = torch.tensor(X.astype(dtype), requires_grad=True)
    y, ty = F.rrelu(x, *bounds), torch.nn.functional.rrelu(tx, *bounds)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    assert np.array_equal(np.signbit(y.detach().numpy()), np.signbit(ty.detach().numpy()))
    g = np.linspace(-1, 1, X.size).astype(dtype)
    y.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    layer, tlayer = nn.RReLU(*bounds).eval(), torch.nn.RReLU(*bounds).eval()
    np.testing.assert_array_equal(np.asarray(layer(X.astype(dtype))), tlayer(torch.tensor(X.astype(dtype))).numpy())
    assert repr(layer) == repr(tlayer)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_draws_a_slope_per_element_and_differentiates_by_it(dtype):
    cr.manual_seed(0)
    lower, upper = 0.1, 0.4
    x = cr.tensor(np.concatenate([X, -np.ones(20000)]).astype(dtype), requires_grad=True)
    y = F.rrelu(x, lower, upper, training=True)
    y.sum().backward()
    xv, yv, grad = x.detach().numpy(), y.detach().numpy(), x.grad.numpy()
    assert y.dtype == dtype and grad.dtype == dtype
    # as torch's: x > 0 and NaN pass with slope 1, x <= 0 (signed zeros kept) takes its slope
    ty = torch.nn.functional.rrelu(torch.tensor(X), lower, upper, training=True)
    assert np.array_equal(np.isnan(yv[:X.size]), np.isnan(ty.numpy()))
    assert np.array_equal(np.signbit(yv[:X.size]), np.signbit(ty.numpy()))
    pos = (xv > 0) | np.isnan(xv)
    assert np.array_equal(yv[xv > 0], xv[xv > 0]) and np.all(grad[pos] == 1)
    neg = np.isfinite(xv) & (xv < 0)
    slopes = grad[~pos]
    assert np.all((lower <= slopes) & (slopes <= upper))
    np.testing.assert_allclose(yv[neg], xv[neg] * grad[neg], rtol=1e-6)
    # uniform on [lower, upper]: mean and variance (20000 draws)
    s = grad[X.size:]
    assert abs(s.mean() - (lower + upper) / 2) < 0.005
    assert abs(s.var() - (upper - lower) ** 2 / 12) < 0.0005
    assert len(np.unique(s)) > 19000
    # a new draw each call; the same draw from the same seed
    assert not np.array_equal(F.rrelu(x, training=True).detach().numpy(), F.rrelu(x, training=True).detach().numpy())
    a = F.rrelu(x, training=True, rng=7).detach().numpy()
    assert np.array_equal(a, F.rrelu(x, training=True, rng=7).detach().numpy(), equal_nan=True)


def test_training_derivative_against_central_differences():
    x0 = np.array([[-1.5, 0.7, -0.2], [2.0, -3.0, 0.4]])
    f = lambda v: F.rrelu(v, 0.05, 0.6, training=True, rng=np.random.default_rng(3))  # noqa: E731
    x = cr.tensor(x0, requires_grad=True)
    w = np.arange(1.0, 7.0).reshape(2, 3)
    (f(x) * w).sum().backward()
    eps = 1e-6
    numeric = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        d = np.zeros_like(x0)
        d[i] = eps
        numeric[i] = ((np.asarray(f(x0 + d)) - np.asarray(f(x0 - d))) * w).sum() / (2 * eps)
    np.testing.assert_allclose(x.grad.numpy(), numeric, rtol=1e-7)


def test_the_layer_switches_with_train_and_eval():
    layer = nn.RReLU(0.1, 0.3, rng=0)
    x = -np.ones(1000)
    y = np.asarray(layer(x))
    assert len(np.unique(y)) > 900 and np.all((-0.3 <= y) & (y <= -0.1))
    np.testing.assert_allclose(layer.eval()(x), np.full(1000, -0.2))
    assert repr(nn.RReLU(0.1, 0.3, True)) == repr(torch.nn.RReLU(0.1, 0.3, True))
    assert list(layer.parameters()) == []


def test_bad_bounds_are_refused_as_torch_refuses_them():
    for training in (True, False):
        with pytest.raises(RuntimeError, match="Lower bound should be less than or equal to the upper bound"):
            torch.nn.functional.rrelu(torch.tensor([-1.0]), 0.5, 0.1, training=training)
        with pytest.raises(ValueError, match="lower bound 0.5 should be less than or equal to the upper bound 0.1"):
            F.rrelu(np.array([-1.0]), 0.5, 0.1, training=training)
    with pytest.raises(ValueError, match="lower bound"):
        nn.RReLU(0.5, 0.1)
    with pytest.raises(TypeError, match="inplace must be True or False"):
        F.rrelu(np.array([-1.0]), 0.1, 0.2, True, 3)


def test_under_jit_each_call_draws_anew():
    f = cr.jit(lambda v: F.rrelu(v, training=True))
    x = -np.ones(50)
    a, b = np.asarray(f(x)), np.asarray(f(x))
    assert not np.array_equal(a, b) and np.all((-1 / 3 <= a) & (a <= -1 / 8))

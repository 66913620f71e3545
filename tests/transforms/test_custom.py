"""custom_vjp, custom_jvp, user primitives, stop_gradient and checkpoint."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp


def test_custom_vjp_is_used_and_differentiates_again():
    calls = []

    @cr.custom_vjp
    def f(x, y):
        return cnp.sin(x) * y

    def fwd(x, y):
        return f(x, y), (x, y)

    def bwd(res, g):
        calls.append(1)
        x, y = res
        return g * cnp.cos(x) * y, g * cnp.sin(x)

    f.defvjp(fwd, bwd)
    gx, gy = cr.grad(f, (0, 1))(0.3, 2.0)
    assert np.isclose(gx, np.cos(0.3) * 2) and np.isclose(gy, np.sin(0.3)) and len(calls) == 1
    assert np.isclose(cr.grad(cr.grad(f))(0.3, 2.0), -np.sin(0.3) * 2)
    with pytest.raises(TypeError, match="forward mode"):
        cr.jvp(f, (0.3, 2.0), (1.0, 0.0))


def test_custom_jvp_in_both_modes():
    @cr.custom_jvp
    def softplus(x):
        return cnp.log1p(cnp.exp(x))

    @softplus.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return softplus(x), t / (1 + cnp.exp(-x))

    x = np.array([-1.0, 0.0, 800.0])  # exp(800) overflows: only the custom rule is finite
    with np.errstate(over="ignore"):
        assert np.allclose(cr.jvp(softplus, (x,), (np.ones(3),))[1], 1 / (1 + np.exp(-x)))
        assert np.allclose(cr.elementwise_grad(softplus)(x), 1 / (1 + np.exp(-x)))


def test_primitive_with_only_a_vjp_gets_a_derived_jvp_and_vice_versa():
    cube = cr.primitive(lambda x: x**3)
    cr.defvjp(cube, lambda ans, x: lambda g: 3 * g * x**2)
    assert cr.jvp(cube, (2.0,), (1.0,))[1] == 12.0
    assert cr.gradcheck(cube, np.array([0.5, -1.5]), order=2)
    quart = cr.primitive(lambda x: x**4)
    cr.defjvp(quart, lambda t, ans, x: 4 * t * x**3)
    assert cr.grad(quart)(2.0) == 32.0
    assert cr.gradcheck(quart, np.array([0.5, -1.5]), order=2)


def test_primitive_without_rules_names_itself():
    opaque = cr.primitive(lambda x: x * 2)
    opaque.__name__ = "opaque"
    with pytest.raises(NotImplementedError, match="opaque.*defvjp"):
        cr.grad(opaque)(1.0)


def test_stop_gradient():
    assert cr.grad(lambda x: x * cr.stop_gradient(x))(3.0) == 3.0
    assert cr.grad(cr.grad(lambda x: x**2 * cr.stop_gradient(x)))(3.0) == 6.0


def test_checkpoint_gives_the_same_gradients_in_every_mode():
    rng = np.random.default_rng(6)
    ws = [rng.normal(size=(4, 4)) * 0.5 for _ in range(3)]

    def block(h, w):
        return cnp.tanh(h @ w)

    def net(h, remat):
        b = cr.checkpoint(block) if remat else block
        for w in ws:
            h = b(h, w)
        return cnp.sum(h**2)

    h = rng.normal(size=(2, 4))
    g_plain = cr.grad(net)(h, False)
    assert np.allclose(cr.grad(net)(h, True), g_plain, rtol=1e-14)
    assert np.allclose(cr.hessian(lambda h: net(h, True))(h), cr.hessian(lambda h: net(h, False))(h))
    assert cr.gradcheck(lambda h: net(h, True), h, order=2)


def test_checkpoint_recomputes_in_the_backward_pass():
    calls = []

    def block(x):
        calls.append(1)
        return cnp.sin(x) * 2

    cr.grad(lambda x: cnp.sum(cr.checkpoint(block)(x)))(np.ones(3))
    assert len(calls) == 2  # once forward, once again in the backward pass

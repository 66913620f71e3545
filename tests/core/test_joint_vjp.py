"""A joint vjp rule (``def_joint_vjp``): one rule gives the cotangents of all of a
primitive's arguments. The backward pass asks it once per node, with the positions it
needs, in every mode that runs a backward pass (functional, eager, jit, create_graph,
second order) and under detect_anomaly; its results are checked against finite
differences and against the same function with one rule per argument."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.primitive import Primitive, def_batch, def_joint_vjp, def_jvps, def_vjps
from chainrule.numpy import batching

rng = np.random.default_rng(5)


def _fun(x, y, s):
    return np.sin(x) * y * s


def _make(counter=None):
    """sin(x)·y·s with a joint rule (s, a number, has no derivative) that counts its calls."""
    prim = Primitive(_fun, name="sin_times")

    def rule(g, ans, argnums, x, y, s):
        if counter is not None:
            counter.append(tuple(argnums))
        return (g * cnp.cos(x) * y * s if 0 in argnums else None,
                g * cnp.sin(x) * s if 1 in argnums else None, None)

    def_joint_vjp(prim, rule)
    def_jvps(prim, lambda t, ans, x, y, s: t * cnp.cos(x) * y * s, lambda t, ans, x, y, s: t * cnp.sin(x) * s)
    def_batch(batching.elementwise, prim)
    return prim


def _per_argument():
    prim = Primitive(_fun, name="sin_times_per_argument")
    def_vjps(prim, lambda g, ans, x, y, s: g * cnp.cos(x) * y * s, lambda g, ans, x, y, s: g * cnp.sin(x) * s)
    return prim


X, Y = rng.standard_normal(4), rng.standard_normal(4)


@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_asked_once_with_the_arguments_needed(argnums):
    calls = []
    prim = _make(calls)
    got = cr.grad(lambda x, y: cnp.sum(prim(x, y, 0.5) ** 2), argnums)(X, Y)
    want = cr.grad(lambda x, y: cnp.sum(_per_argument()(x, y, 0.5) ** 2), argnums)(X, Y)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    assert calls == [(argnums,) if isinstance(argnums, int) else argnums]


def test_matches_finite_differences_both_modes_second_order():
    prim = _make()
    assert cr.gradcheck(lambda x, y: prim(x, y, 1.5), X, Y, order=2, modes=("fwd", "rev"))


def test_a_node_used_twice_gets_one_call_per_backward_pass():
    calls = []
    prim = _make(calls)
    g = cr.grad(lambda x: cnp.sum(prim(x, x, 1.0) * prim(x, 2 * x, 1.0)))(X)
    # d/dx of sin(x)·x · sin(x)·2x = 2·(sin x·x)·(cos x·2x + 2 sin x) ... by the product rule:
    s, c = np.sin(X), np.cos(X)
    np.testing.assert_allclose(g, (c * X + s) * (2 * s * X) + (s * X) * (2 * c * X + 2 * s), rtol=1e-13)
    assert calls == [(0, 1), (0, 1)]


def test_eager_backward_and_create_graph():
    calls = []
    prim = _make(calls)
    x = cr.tensor(X.copy(), requires_grad=True)
    y = cr.tensor(Y.copy())  # a constant: only x's position is asked for
    cnp.sum(prim(x, y, 2.0) ** 2).backward(create_graph=True)
    gx = x.grad
    np.testing.assert_allclose(gx.detach().numpy(), 2 * (2 * np.sin(X) * Y) * 2 * np.cos(X) * Y, rtol=1e-13)
    assert calls == [(0,)]
    x.grad = None
    cnp.sum(gx).backward()  # through the joint rule's own (differentiable) operations
    want = cr.grad(lambda x: cnp.sum(cr.grad(lambda x: cnp.sum(_per_argument()(x, Y, 2.0) ** 2))(x)))(X)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)


def test_under_jit_and_vmap():
    prim = _make()

    def loss(x, y):
        return cnp.sum(prim(x, y, 0.25) ** 2)

    step = cr.jit(cr.grad(loss, (0, 1)))
    for k in (1.0, 3.0):  # the second call replays
        got = step(X * k, Y)
        want = cr.grad(lambda x, y: cnp.sum(_per_argument()(x, y, 0.25) ** 2), (0, 1))(X * k, Y)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-14)
    batch = rng.standard_normal((3, 4))
    got = cr.vmap(cr.grad(loss), in_axes=(0, None))(batch, Y)
    np.testing.assert_allclose(got, np.stack([cr.grad(loss)(b, Y) for b in batch]), rtol=1e-14)


def test_detect_anomaly_checks_each_cotangent_of_a_joint_rule():
    prim = Primitive(lambda x, y: x * y, name="joint_mul")
    def_joint_vjp(prim, lambda g, ans, argnums, x, y: (g * y, g / x))  # y's cotangent: inf at x = 0
    f = cr.grad(lambda x, y: cnp.sum(prim(x, y)), (0, 1))
    with np.errstate(divide="ignore"), pytest.raises(FloatingPointError, match=r"joint_mul.*argument 1"):
        cr.detect_anomaly()(f)(np.array([0.0, 1.0]), np.array([1.0, 2.0]))


def test_a_complex_cotangent_for_a_real_argument_keeps_its_real_part():
    prim = Primitive(lambda x, z: x * z, name="joint_scale")
    def_joint_vjp(prim, lambda g, ans, argnums, x, z: (g * z, g * x))
    x, z = np.array([0.5, 2.0]), np.array([1 + 2j, 3 - 1j])
    got = cr.grad(lambda x: cnp.sum(cnp.abs(prim(x, z)) ** 2))(x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, 2 * x * np.abs(z) ** 2, rtol=1e-14)

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


def test_checkpoint_takes_keyword_only_arguments_as_jax_does():
    # jax.checkpoint(f)(x, s=3.0) with s keyword-only: s is an argument of the call
    f = cr.checkpoint(lambda a, *, s=2.0: cnp.sin(a) * s)
    x = np.array([0.5, 1.0])
    np.testing.assert_allclose(f(x, s=3.0), 3.0 * np.sin(x), rtol=1e-15)
    np.testing.assert_allclose(f(x), 2.0 * np.sin(x), rtol=1e-15)
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(f(x, s=3.0)))(x), 3.0 * np.cos(x), rtol=1e-15)
    np.testing.assert_allclose(cr.grad(lambda s: cnp.sum(f(x, s=s)))(3.0), np.sin(x).sum(), rtol=1e-15)
    np.testing.assert_allclose(cr.jvp(lambda x: f(x, s=3.0), (x,), (np.ones(2),))[1], 3.0 * np.cos(x), rtol=1e-15)


def test_checkpoint_recomputes_in_the_backward_pass():
    calls = []

    def block(x):
        calls.append(1)
        return cnp.sin(x) * 2

    cr.grad(lambda x: cnp.sum(cr.checkpoint(block)(x)))(np.ones(3))
    assert len(calls) == 2  # once forward, once again in the backward pass


# -- custom rules are primitives: every trace handles them through the same door ----------
def _clip_gradient():
    @cr.custom_vjp
    def clip_gradient(x):
        return x * 1.0

    clip_gradient.defvjp(lambda x: (x * 1.0, None), lambda res, g: (cnp.clip(g, -1, 1),))
    return clip_gradient


def test_jit_of_custom_vjp_and_checkpoint_outside_grad():
    clip_gradient = _clip_gradient()
    x = np.array([0.5, -2.0, 3.0])
    f = cr.jit(lambda x: cnp.sin(clip_gradient(x)) * 2)
    assert np.array_equal(f(x), np.sin(x) * 2) and np.array_equal(f(x + 1), np.sin(x + 1) * 2)
    block = cr.checkpoint(lambda h: cnp.tanh(h) * 3)
    assert np.array_equal(cr.jit(block)(x), np.tanh(x) * 3)
    # and inside grad under jit, the custom rule is the one recorded
    g = cr.jit(cr.grad(lambda x: cnp.sum(clip_gradient(x) * 5)))
    assert np.array_equal(g(x), np.ones(3)) and np.array_equal(g(x * 2), np.ones(3))


def test_custom_vjp_with_pytree_arguments_and_several_outputs_in_every_reverse_trace():
    calls = []

    @cr.custom_vjp
    def f(params, x):
        return {"y": params["w"] * x, "z": cnp.sin(x)}

    def fwd(params, x):
        return f(params, x), (params["w"], x)

    def bwd(res, g):
        calls.append(1)
        w, x = res
        # deliberately not the true derivative: 10x on w, so the rule is visibly used
        return {"w": 10 * g["y"] * x}, g["y"] * w + g["z"] * cnp.cos(x)

    f.defvjp(fwd, bwd)

    def loss(w, x):
        out = f({"w": w}, x)
        return cnp.sum(out["y"] + out["z"])

    w, x = np.array([2.0, 3.0]), np.array([0.5, -1.0])
    gw, gx = cr.grad(loss, (0, 1))(w, x)
    assert np.allclose(gw, 10 * x) and np.allclose(gx, w + np.cos(x)) and len(calls) == 1
    # eager: one node, the same rule; without grad, the plain function on Tensors
    we, xe = cr.tensor(w, requires_grad=True), cr.tensor(x, requires_grad=True)
    loss(we, xe).backward()
    assert np.allclose(we.grad.numpy(), 10 * x) and np.allclose(xe.grad.numpy(), w + np.cos(x))
    with cr.no_grad():
        out = f({"w": we}, xe)
    assert isinstance(out["y"], cr.Tensor) and not out["y"].requires_grad
    assert np.allclose(cr.jit(loss)(w, x), loss(w, x))
    # only the first output used: the other's cotangent is zeros
    gx_y = cr.grad(lambda x: cnp.sum(f({"w": w}, x)["y"]))(x)
    assert np.allclose(gx_y, w)


def test_custom_jvp_rule_called_once_per_jvp_with_all_tangents():
    calls = []

    @cr.custom_jvp
    def f(x, y):
        return x * y

    @f.defjvp
    def _(primals, tangents):
        calls.append(1)
        (x, y), (tx, ty) = primals, tangents
        return f(x, y), tx * y + x * ty

    out, t = cr.jvp(f, (2.0, 3.0), (1.0, 10.0))
    assert out == 6.0 and t == 23.0 and len(calls) == 1
    assert cr.grad(f, (0, 1))(2.0, 3.0) == (3.0, 2.0)
    assert cr.jit(f)(2.0, 3.0) == 6.0
    x = cr.tensor(2.0, requires_grad=True)
    f(x, 3.0).backward()
    assert x.grad.item() == 3.0


def test_checkpoint_in_eager_backward_and_forward_mode():
    calls = []

    def block(x):
        calls.append(1)
        return cnp.sin(x) * 2

    remat = cr.checkpoint(block)
    x = cr.tensor([0.1, 0.2], requires_grad=True)
    remat(x).sum().backward()
    assert np.allclose(x.grad.numpy(), 2 * np.cos([0.1, 0.2])) and len(calls) == 2
    assert np.allclose(cr.jvp(remat, (np.array([0.1]),), (np.array([1.0]),))[1], 2 * np.cos(0.1))


def test_composites_under_vmap_keep_their_rules_in_grad_of_vmap():
    clip_gradient = _clip_gradient()
    X = np.array([[0.5, -2.0], [3.0, 1.0], [0.1, 0.2]])
    w = np.array([4.0, -5.0])

    def per_example(x, w):  # w shared: its cotangent sums over the batch
        return cnp.sum(clip_gradient(x * w))

    g_x, g_w = cr.grad(lambda X, w: cnp.sum(cr.vmap(per_example, (0, None))(X, w)), (0, 1))(X, w)
    assert np.allclose(g_x, np.clip(1.0, -1, 1) * w * np.ones_like(X))
    assert np.allclose(g_w, X.sum(axis=0))  # the clipped cotangent (1) times x, summed
    # per-example gradients through a custom_vjp: vmap of grad
    per = cr.vmap(cr.grad(lambda x: cnp.sum(clip_gradient(x) * 5)))(X)
    assert np.array_equal(per, np.ones_like(X))
    # checkpoint: the same values and gradients as the plain block, in grad(vmap) and jit
    block = lambda x: cnp.tanh(x) * 3  # noqa: E731
    remat = cr.checkpoint(block)
    for f in (block, remat):
        assert np.allclose(cr.vmap(f)(X), np.tanh(X) * 3)
    g_remat = cr.grad(lambda X: cnp.sum(cr.vmap(remat)(X) ** 2))(X)
    g_plain = cr.grad(lambda X: cnp.sum(cr.vmap(block)(X) ** 2))(X)
    assert np.allclose(g_remat, g_plain, rtol=1e-14)
    assert np.allclose(cr.jit(cr.vmap(remat))(X), np.tanh(X) * 3)


def test_custom_jvp_rule_is_used_under_vmap():
    @cr.custom_jvp
    def f(x):
        return cnp.sin(x)

    @f.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), 10 * t  # deliberately not cos: the rule must be the one used

    X = np.array([0.1, 0.2, 0.3])
    _, t = cr.jvp(cr.vmap(f), (X,), (np.ones(3),))
    assert np.array_equal(t, 10 * np.ones(3))
    assert np.array_equal(cr.vmap(cr.grad(f))(X), 10 * np.ones(3))
    assert np.array_equal(cr.grad(lambda X: cnp.sum(cr.vmap(f)(X)))(X), 10 * np.ones(3))


def _sin_with_jvp(tangent_of):
    @cr.custom_jvp
    def f(x):
        return cnp.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        return cnp.sin(primals[0]), tangent_of(primals[0], tangents[0])

    return f


@pytest.mark.parametrize("tangent_of", [lambda x, t: cnp.cos(x) * t ** 2, lambda x, t: cnp.sin(t),
                                        lambda x, t: t * t * x])
def test_reverse_mode_refuses_a_jvp_rule_that_is_not_linear(tangent_of):
    # jax.grad raises (NotImplementedError: no transpose rule for 'integer_pow'/'sin', or a
    # failed linearity assertion); a transposition at zero gave 0.0 here, silently
    f = _sin_with_jvp(tangent_of)
    x = np.array([0.3, 0.5, 0.7])
    assert np.allclose(cr.jvp(f, (x,), (np.ones(3),))[1], tangent_of(x, np.ones(3)))  # forward mode stands
    for differentiate in (lambda: cr.grad(lambda a: cnp.sum(f(a)))(x), lambda: cr.jacrev(f)(x),
                          lambda: cr.vmap(cr.grad(f))(x), lambda: cr.jit(cr.grad(lambda a: cnp.sum(f(a))))(x),
                          lambda: cr.hessian(lambda a: cnp.sum(f(a)))(x)):
        with pytest.raises(NotImplementedError, match="f: the jvp rule of argument 0 is not linear"):
            differentiate()
    t = cr.tensor(x, requires_grad=True)
    with pytest.raises(NotImplementedError, match="not linear"):
        f(t).sum().backward()


def test_linear_jvp_rules_transpose_exactly_under_every_transform():
    f = _sin_with_jvp(lambda x, t: cnp.cos(x) * t)
    z = np.array([0.3 + 0.2j, 0.5 - 1j, 0.7j])
    assert np.allclose(cr.jacrev(f, holomorphic=True)(z), np.diag(np.cos(z)))
    x = np.array([0.3, 0.5, 0.7])
    assert np.allclose(cr.jacrev(f)(x), np.diag(np.cos(x)))
    assert np.allclose(cr.vmap(cr.grad(f))(x), np.cos(x))
    assert np.allclose(cr.hessian(lambda a: cnp.sum(f(a)))(x), np.diag(-np.sin(x)))
    assert np.allclose(cr.jit(cr.grad(lambda a: cnp.sum(f(a))))(x), np.cos(x))
    # a real function of a complex argument: grad's convention, d/dx - i d/dy
    z = 0.4 + 0.3j
    want = 2 * np.conj(np.sin(z) * np.conj(np.cos(z)))
    assert np.isclose(cr.grad(lambda a: cnp.real(f(a) * cnp.conj(f(a))))(z), want)

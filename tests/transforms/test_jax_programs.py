"""Programs written for JAX (custom derivatives, checkpoint, the transforms' keywords,
pytree utilities): each is written once over ``(lib, npm)`` and run with
``(chainrule, chainrule.numpy)`` and with ``(jax, jax.numpy)``; the results must agree
(JAX is the oracle)."""

from functools import partial

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jax.config.update("jax_enable_x64", True)

X = np.array([0.3, 1.2, -0.7])
Y = np.array([2.0, -1.0, 0.5])
BATCH = np.linspace(-1.0, 1.0, 12).reshape(4, 3)


def sin_times(lib, npm):
    @lib.custom_vjp
    def f(x, y):
        return npm.sin(x) * y

    f.defvjp(lambda x, y: (f(x, y), (npm.cos(x), npm.sin(x), y)),
             lambda res, g: (res[0] * g * res[2], res[1] * g))
    return f


def scaled(lib, npm):  # a parameter with a default: fwd and bwd see it (JAX binds it)
    @lib.custom_vjp
    def f(x, s=2.0):
        return x * s

    f.defvjp(lambda x, s: (x * s, (x, s)), lambda r, g: (g * r[1], npm.sum(g * r[0])))
    return f


def power(lib, npm):
    @partial(lib.custom_vjp, nondiff_argnums=(1,))
    def f(x, k):
        return x**k

    f.defvjp(lambda x, k: (x**k, x), lambda k, x, g: (g * k * x ** (k - 1),))
    return f


def sin_cos(lib, npm):  # several outputs, tangent rule only: reverse mode transposes it
    @lib.custom_jvp
    def f(x):
        return npm.sin(x), npm.cos(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return f(x), (npm.cos(x) * t, -npm.sin(x) * t)

    return f


def times_sin(lib, npm):  # JAX's defjvps, with None for an argument without a rule
    @lib.custom_jvp
    def f(x, y):
        return x * npm.sin(y)

    f.defjvps(lambda t, ans, x, y: t * npm.sin(y), lambda t, ans, x, y: x * npm.cos(y) * t)
    return f


def times_sin_first_only(lib, npm):
    @lib.custom_jvp
    def f(x, y):
        return x * npm.sin(y)

    f.defjvps(lambda t, ans, x, y: t * npm.sin(y), None)
    return f


def repeated_sin(lib, npm, **options):
    def f(x, n):
        for _ in range(n):
            x = npm.sin(x) * 1.5
        return npm.sum(x)

    return lib.checkpoint(f, static_argnums=(1,), **options)


def times_sin_by_gradient(lib, npm):  # JAX's custom_gradient: (value, vjp) from one call
    return lib.custom_gradient(
        lambda x, y: (x * npm.sin(y), lambda g: (g * npm.sin(y) * 3, g * x * npm.cos(y))))


def sin_times_closing_over(w):  # its bwd cannot give w a cotangent
    @cr.custom_vjp
    def f(x):
        return cnp.sin(x) * w

    f.defvjp(lambda x: (f(x), x), lambda x, g: (g * cnp.cos(x) * 2.0,))
    return f


def tree_utils(lib):
    return (lib, lib.tree_map, lib.tree_leaves) if lib is cr else (
        lib, jax.tree_util.tree_map, jax.tree_util.tree_leaves)


def sin_cos_loss(lib, npm):
    f = sin_cos(lib, npm)
    return lambda x: npm.sum(f(x)[0] ** 2 * f(x)[1])


PROGRAMS = {
    "custom_vjp called with a keyword": lambda lib, npm: lib.grad(
        lambda x: npm.sum(sin_times(lib, npm)(x, y=Y)))(X),
    "custom_vjp default filled in": lambda lib, npm: lib.grad(
        lambda x: npm.sum(scaled(lib, npm)(x)))(X),
    "custom_vjp default given by keyword": lambda lib, npm: lib.grad(
        lambda s: npm.sum(scaled(lib, npm)(X, s=s)))(3.0),
    "nondiff_argnums given by keyword": lambda lib, npm: lib.grad(
        lambda x: npm.sum(power(lib, npm)(x, k=3)))(X),
    "custom_jvp, two outputs, grad": lambda lib, npm: lib.grad(sin_cos_loss(lib, npm))(X),
    "custom_jvp, two outputs, one used": lambda lib, npm: lib.grad(
        lambda x: npm.sum(sin_cos(lib, npm)(x)[1]))(X),
    "custom_jvp, two outputs, jacrev": lambda lib, npm: lib.jacrev(sin_cos(lib, npm))(X),
    "custom_jvp, two outputs, hessian": lambda lib, npm: lib.hessian(sin_cos_loss(lib, npm))(X),
    "custom_jvp, two outputs, jit of grad": lambda lib, npm: lib.jit(
        lib.grad(sin_cos_loss(lib, npm)))(X),
    "custom_jvp, two outputs, vmap of grad": lambda lib, npm: lib.vmap(
        lib.grad(sin_cos_loss(lib, npm)))(BATCH),
    "custom_jvp called with a keyword": lambda lib, npm: lib.grad(
        lambda x: npm.sum(times_sin(lib, npm)(x, y=Y)))(X),
    "defjvps, grad of both": lambda lib, npm: lib.grad(
        lambda x, y: npm.sum(times_sin(lib, npm)(x, y)), argnums=(0, 1))(X, Y),
    "defjvps with None": lambda lib, npm: lib.grad(
        lambda x, y: npm.sum(times_sin_first_only(lib, npm)(x, y)), argnums=(0, 1))(X, Y),
    "defjvps, jvp": lambda lib, npm: lib.jvp(times_sin(lib, npm), (X, Y), (Y, X)),
    "defjvps, hessian": lambda lib, npm: lib.hessian(
        lambda x: npm.sum(times_sin(lib, npm)(x, Y) ** 2))(X),
    "checkpoint with static_argnums": lambda lib, npm: lib.grad(repeated_sin(lib, npm))(X, 3),
    "checkpoint with static_argnums, jvp": lambda lib, npm: lib.jvp(
        lambda x: repeated_sin(lib, npm)(x, 2), (X,), (Y,)),
    "checkpoint with static_argnums, hessian": lambda lib, npm: lib.hessian(
        lambda x: repeated_sin(lib, npm)(x, 3))(X),
    "checkpoint with static_argnums, vmap of grad": lambda lib, npm: lib.vmap(
        lib.grad(lambda x: repeated_sin(lib, npm)(x, 2)))(BATCH),
    "checkpoint with static_argnums, jit": lambda lib, npm: lib.jit(
        lib.grad(repeated_sin(lib, npm)), static_argnums=1)(X, 2),
    "checkpoint with a policy": lambda lib, npm: lib.grad(repeated_sin(
        lib, npm, policy=lib.checkpoint_policies.dots_saveable, prevent_cse=False))(X, 2),
    "checkpoint saving everything": lambda lib, npm: lib.grad(repeated_sin(
        lib, npm, policy=lib.checkpoint_policies.everything_saveable))(X, 2),
    "checkpoint of a scan step closing over the parameter": lambda lib, npm: lib.grad(
        lambda w: npm.sum(lib.lax.scan(lib.checkpoint(lambda c, x: (npm.sin(c) * w + x, c * w)),
                                       X, BATCH)[1]))(Y),
    "checkpoint closing over the parameter, its argument too": lambda lib, npm: lib.grad(
        lambda w: npm.sum(lib.checkpoint(lambda c: npm.sin(c) * w)(w * 1.5)))(X),
    "checkpoint closing over the parameter, jit of grad": lambda lib, npm: lib.jit(lib.grad(
        lambda w: npm.sum(lib.checkpoint(lambda c: npm.sin(c) * w)(w * 1.5))))(X),
    "remat, argument by keyword": lambda lib, npm: lib.grad(
        lambda x: lib.remat(lambda a, b: npm.sum(npm.sin(a) * b))(x, b=x))(X),
    "custom_gradient, two arguments": lambda lib, npm: lib.grad(
        lambda x, y: npm.sum(times_sin_by_gradient(lib, npm)(x, y)), argnums=(0, 1))(X, Y),
    "custom_gradient, one argument": lambda lib, npm: lib.grad(lib.custom_gradient(
        lambda x: (x**2, lambda g: g * 10.0)))(3.0),
    "custom_gradient, vmap of grad": lambda lib, npm: lib.vmap(lib.grad(
        times_sin_by_gradient(lib, npm), argnums=(0, 1)))(X, Y),
    "custom_gradient, jit of grad": lambda lib, npm: lib.jit(lib.grad(
        lambda x, y: npm.sum(times_sin_by_gradient(lib, npm)(x, y))))(X, Y),
    "custom_gradient, grad of grad": lambda lib, npm: lib.grad(lambda x: npm.sum(lib.grad(
        lambda x: npm.sum(times_sin_by_gradient(lib, npm)(x, x)))(x)))(X),
    "grad, holomorphic": lambda lib, npm: lib.grad(
        lambda z: npm.sum(npm.sin(z) * z), holomorphic=True)(X + 1j * Y),
    "value_and_grad, holomorphic": lambda lib, npm: lib.value_and_grad(
        lambda z: z * z, holomorphic=True)(2.0 + 1.0j),
    "jacrev, holomorphic": lambda lib, npm: lib.jacrev(
        lambda z: npm.exp(z) * z[::-1], holomorphic=True)(X + 1j * Y),
    "jacfwd, holomorphic": lambda lib, npm: lib.jacfwd(
        lambda z: npm.exp(z) * z[::-1], holomorphic=True)(X + 1j * Y),
    "hessian, holomorphic": lambda lib, npm: lib.hessian(
        lambda z: npm.sum(z**3 * z[::-1]), holomorphic=True)(X + 1j * Y),
    "grad, allow_int": lambda lib, npm: lib.grad(
        lambda x, w: npm.sum(x * w), argnums=0, allow_int=True)(X, 3),
    "tree_leaves, is_leaf": lambda lib, npm: tree_utils(lib)[2](
        {"a": (1.0, 2.0), "b": [3.0, (4.0,)], "c": None}, is_leaf=lambda v: isinstance(v, tuple)),
    "tree_map, None as a leaf": lambda lib, npm: tree_utils(lib)[1](
        lambda v: 0.0 if v is None else v * 2, {"a": None, "b": (1.0, [2.0])},
        is_leaf=lambda v: v is None),
    "tree_map of two trees, is_leaf": lambda lib, npm: tree_utils(lib)[1](
        lambda a, b: npm.sum(npm.asarray(a)) * npm.sum(npm.asarray(b)), {"a": (1.0, 2.0)},
        {"a": (3.0, 4.0)}, is_leaf=lambda v: isinstance(v, tuple)),
}


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_written_for_jax_gives_jax_results(name):
    ours = PROGRAMS[name](cr, cnp)
    theirs = PROGRAMS[name](jax, jnp)
    ours_leaves, ours_tree = cr.tree_flatten(ours)
    theirs_leaves = jax.tree_util.tree_leaves(theirs)
    assert len(ours_leaves) == len(theirs_leaves), ours_tree
    for a, b in zip(ours_leaves, theirs_leaves, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14)


def test_eager_backward_through_a_custom_jvp_with_two_outputs():
    f = sin_cos(cr, cnp)
    x = cr.tensor(X, requires_grad=True)
    a, b = f(x)
    (a * b).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(2 * X), rtol=1e-12)  # d/dx sin x cos x


@pytest.mark.parametrize("transform", ["grad", "jacrev", "jacfwd", "hessian"])
def test_holomorphic_needs_complex_inputs_as_in_jax(transform):
    with pytest.raises(TypeError, match="holomorphic=True needs complex inputs"):
        getattr(cr, transform)(lambda z: z * z, holomorphic=True)(np.array([2.0]))
    with pytest.raises(TypeError):
        getattr(jax, transform)(lambda z: z * z, holomorphic=True)(np.array([2.0]))
    if transform == "grad":
        with pytest.raises(TypeError, match="holomorphic=True needs a complex output"):
            cr.grad(lambda z: cnp.real(z * z), holomorphic=True)(2.0 + 1.0j)


def test_bad_calls_say_what_was_wrong():
    f = scaled(cr, cnp)
    with pytest.raises(TypeError, match="f: got an unexpected keyword argument 't'"):
        f(X, t=2.0)

    @cr.custom_vjp
    def keyword_only(x, *, s):
        return x * s

    keyword_only.defvjp(lambda x, s: (x * s, s), lambda r, g: (g * r,))
    with pytest.raises(TypeError, match=r"keyword-only parameters \(s\)"):
        keyword_only(X, s=2.0)
    with pytest.raises(TypeError, match="defjvps was given 1 rules for a call with 2"):
        g = cr.custom_jvp(lambda x, y: x * y)
        g.defjvps(lambda t, ans, x, y: t * y)
        cr.jvp(g, (2.0, 3.0), (1.0, 0.0))
    with pytest.raises(TypeError, match=r"f read a value that grad is differentiating without "
                       r"being given it as an argument.*pass it as an argument"):
        cr.grad(lambda w: sin_times_closing_over(w)(w * 1.5))(0.5)  # JAX raises too
    w = cr.tensor(0.5, requires_grad=True)  # on eager Tensors: w.grad was silently left None
    with pytest.raises(TypeError, match=r"f read a Tensor that requires grad without being given"):
        sin_times_closing_over(w)(cr.tensor(0.75, requires_grad=True))
    with pytest.raises(TypeError, match="policy must be one of cr.checkpoint_policies"):
        cr.checkpoint(lambda x: x, policy="dots")

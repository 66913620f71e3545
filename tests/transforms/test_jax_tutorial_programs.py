"""The code of JAX's own tutorials (Quickstart, the Autodiff Cookbook, Custom derivative rules,
Automatic vectorization, Advanced automatic differentiation, Pytrees, Control flow),
which is what new users copy: each program is written once over ``(lib, npm)`` and run
with ``(chainrule, chainrule.numpy)`` and with ``(jax, jax.numpy)`` in float64; values
and derivatives must agree (JAX is the oracle). The tutorials' data drawn with
``jax.random`` are replaced by fixed NumPy arrays of small sizes."""

from functools import partial

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jax.config.update("jax_enable_x64", True)
from jax_tutorial_pytrees import (  # noqa: E402 (after the skip when JAX is missing)
    X5,
    Point,
    pytree_key_paths,
    pytree_mlp,
    pytree_transforms,
    pytree_utilities,
)

RNG = np.random.default_rng(0)
INPUTS = np.array([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]])
TARGETS = np.array([True, True, False, True])
W0, B0 = RNG.normal(size=3), 0.3
XM, VM = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))
A_HERM = np.array([[5.0, 2.0 + 3j, 5j], [2.0 - 3j, 7.0, 1.0 + 7j], [-5j, 1.0 - 7j, 12.0]])

# ---- Quickstart ------------------------------------------------------------------------


def quickstart(lib, npm):
    def selu(x, alpha=1.67, lmbda=1.05):
        return lmbda * npm.where(x > 0, x, alpha * npm.exp(x) - alpha)

    def sum_logistic(x):
        return npm.sum(1.0 / (1.0 + npm.exp(-x)))

    def first_finite_differences(f, x, eps=1e-3):
        return npm.array([(f(x + eps * v) - f(x - eps * v)) / (2 * eps) for v in npm.eye(len(x))])

    def apply_matrix(x):
        return npm.dot(MAT, x)

    key = lib.random.key(1701)
    key, subkey = lib.random.split(key)
    x_small = npm.arange(3.0)
    return (lib.jit(selu)(X5), lib.jit(selu)(X5, alpha=2.0), lib.grad(sum_logistic)(x_small),
            first_finite_differences(sum_logistic, x_small),
            lib.grad(lib.jit(lib.grad(lib.jit(lib.grad(sum_logistic)))))(1.0),
            lib.jacfwd(lib.jacrev(sum_logistic))(x_small), lib.vmap(apply_matrix)(BX),
            lib.jit(lib.vmap(apply_matrix))(BX), lib.random.normal(subkey, (3,)), lib.random.uniform(key, (2,)))


# ---- The Autodiff Cookbook ------------------------------------------------------------


def sigmoid(npm, x):
    return 0.5 * (npm.tanh(x / 2) + 1)


def predict(npm, W, b, inputs):
    return sigmoid(npm, npm.dot(inputs, W) + b)


def cookbook_loss(npm):
    def loss(W, b):
        preds = predict(npm, W, b, INPUTS)
        label_probs = preds * TARGETS + (1 - preds) * (1 - TARGETS)
        return -npm.sum(npm.log(label_probs))

    return loss


def cookbook_grads(lib, npm):
    loss = cookbook_loss(npm)

    def loss2(params_dict):
        return loss(params_dict["W"], params_dict["b"])

    return (lib.grad(loss, argnums=0)(W0, B0), lib.grad(loss, 1)(W0, B0), lib.grad(loss, (0, 1))(W0, B0),
            lib.grad(loss2)({"W": W0, "b": B0}), lib.value_and_grad(loss, (0, 1))(W0, B0))


def hvp_fwd_rev(lib, f, primals, tangents):
    return lib.jvp(lib.grad(f), primals, tangents)[1]


def hvp_rev_rev(lib, npm, f, x, v):
    return lib.grad(lambda x: npm.vdot(lib.grad(f)(x), v))(x)


def hvp_rev_fwd(lib, f, primals, tangents):
    return lib.grad(lambda primals: lib.jvp(f, (primals,), (tangents[0],))[1])(primals[0])


def cookbook_hvps(lib, npm):
    def f(X):
        return npm.sum(npm.tanh(X) ** 2)

    return (hvp_fwd_rev(lib, f, (XM,), (VM,)), hvp_rev_rev(lib, npm, f, XM, VM),
            hvp_rev_fwd(lib, f, (XM,), (VM,)), npm.tensordot(lib.hessian(f)(XM), VM, 2),
            lib.jit(lambda x, v: hvp_fwd_rev(lib, f, (x,), (v,)))(XM, VM))


def cookbook_jacobians(lib, npm):
    def f(W):
        return predict(npm, W, B0, INPUTS)

    def my_hessian(fun):
        return lib.jit(lib.jacfwd(lib.jacrev(fun)))

    def loss(W):
        return cookbook_loss(npm)(W, B0)

    def predict_dict(params, inputs):
        return predict(npm, params["W"], params["b"], inputs)

    y, u = lib.jvp(f, (W0,), (Y3,))
    y2, vjp_fun = lib.vjp(f, W0)
    params = {"W": W0, "b": B0}
    return (lib.jacfwd(f)(W0), lib.jacrev(f)(W0), my_hessian(loss)(W0), lib.hessian(loss)(W0), y, u, y2,
            vjp_fun(np.arange(4.0)), lib.jacrev(predict_dict)(params, INPUTS),
            lib.jacfwd(predict_dict)(params, INPUTS), lib.hessian(f)(W0),
            lib.hessian(lambda p: cookbook_loss(npm)(p["W"], p["b"]))(params))


Y3 = np.array([0.5, -1.0, 2.0])
M43 = RNG.normal(size=(4, 4))
M33 = RNG.normal(size=(3, 3))


def cookbook_matrix_products(lib, npm):
    def f(W):
        return predict(npm, W, B0, INPUTS)

    def vmap_mjp(f, x, M):
        y, vjp_fun = lib.vjp(f, x)
        outs, = lib.vmap(vjp_fun)(M)
        return outs

    def vmap_jmp(f, W, M):
        _jvp = lambda s: lib.jvp(f, (W,), (s,))[1]  # noqa: E731 (the tutorial's code)
        return lib.vmap(_jvp)(M)

    def our_jacrev(f):
        def jacfun(x):
            y, vjp_fun = lib.vjp(f, x)
            J, = lib.vmap(vjp_fun, in_axes=0)(npm.eye(len(y)))
            return J

        return jacfun

    def our_jacfwd(f):
        def jacfun(x):
            _jvp = lambda s: lib.jvp(f, (x,), (s,))[1]  # noqa: E731
            Jt = lib.vmap(_jvp, in_axes=1)(npm.eye(len(x)))
            return npm.transpose(Jt)

        return jacfun

    def loop_mjp(f, x, M):
        y, vjp_fun = lib.vjp(f, x)
        return npm.vstack([vjp_fun(mi)[0] for mi in M])

    return (vmap_mjp(f, W0, M43), loop_mjp(f, W0, M43), vmap_jmp(f, W0, M33), our_jacrev(f)(W0),
            our_jacfwd(f)(W0), lib.jit(vmap_mjp, static_argnums=0)(f, W0, M43))


def cookbook_complex(lib, npm):
    def f(z):
        x, y = npm.real(z), npm.imag(z)
        return x**2 + y**2

    def chol_loss(X):
        L = npm.linalg.cholesky(X)
        return npm.sum((L - npm.sin(L)) ** 2)

    z = 3.0 + 4.0j
    return (lib.grad(f)(z), lib.grad(lambda z: npm.abs(z) ** 2)(z), lib.grad(npm.sin, holomorphic=True)(z),
            lib.jacfwd(npm.sin, holomorphic=True)(z), lib.jacrev(npm.sin, holomorphic=True)(z),
            lib.grad(chol_loss, holomorphic=True)(A_HERM), lib.jvp(npm.sin, (z,), (1.0 + 0.5j,)),
            lib.vjp(npm.sin, z)[1](1.0 + 0.0j), lib.vjp(npm.sin, z)[1](1.0j),
            lib.grad(lambda x: npm.abs(npm.exp(1j * x) * (2.0 + x)) ** 2)(0.7),
            lib.jacfwd(lambda x: npm.exp(1j * x))(np.array([0.3, 0.9])),
            lib.jacrev(lambda z: npm.abs(z) ** 2)(np.array([1.0 + 2j, -0.5 + 1j])),
            lib.grad(npm.conjugate, holomorphic=True)(z), [check(lib, npm, seed) for seed in range(3)])


def check(lib, npm, seed):
    """The cookbook's check of the JVP and VJP conventions on a non-holomorphic C -> C
    function, its coefficients drawn with ``random`` (bit for bit the same keys)."""
    key = lib.random.key(seed)
    key, subkey = lib.random.split(key)
    a, b, c, d = lib.random.uniform(subkey, (4,))

    def fun(z):
        x, y = npm.real(z), npm.imag(z)
        return u(x, y) + v(x, y) * 1j

    def u(x, y):
        return a * x + b * y

    def v(x, y):
        return c * x + d * y

    key, subkey = lib.random.split(key)
    x, y = lib.random.uniform(subkey, (2,))
    z = x + y * 1j
    key, subkey = lib.random.split(key)
    c2, d2 = lib.random.uniform(subkey, (2,))
    _, ans = lib.jvp(fun, (z,), (c2 + d2 * 1j,))
    _, fun_vjp = lib.vjp(fun, z)
    ans2, = fun_vjp(npm.array(c2 + d2 * 1j))
    return ans, ans2, lib.grad(u, 0)(x, y), lib.grad(v, 1)(x, y)


# ---- Custom derivative rules -----------------------------------------------------------


def log1pexp(lib, npm, by_defjvps=False):
    @lib.custom_jvp
    def f(x):
        return npm.log(1.0 + npm.exp(x))

    if by_defjvps:
        f.defjvps(lambda t, ans, x: (1 - 1 / (1 + npm.exp(x))) * t)
        return f

    @f.defjvp
    def f_jvp(primals, tangents):
        x, = primals
        x_dot, = tangents
        ans = f(x)
        ans_dot = (1 - 1 / (1 + npm.exp(x))) * x_dot
        return ans, ans_dot

    return f


def custom_log1pexp(lib, npm):
    f, g = log1pexp(lib, npm), log1pexp(lib, npm, by_defjvps=True)
    plain = lambda x: npm.log(1.0 + npm.exp(x))  # noqa: E731
    xs = npm.arange(3.0)
    return (lib.grad(f)(100.0), lib.grad(plain)(10.0), lib.jit(f)(3.0), lib.jit(lib.grad(f))(3.0),
            lib.vmap(lib.jit(lib.grad(f)))(xs), lib.grad(g)(100.0), lib.vmap(lib.grad(g))(xs),
            lib.grad(lib.grad(f))(2.0), lib.jvp(f, (2.0,), (3.0,)), lib.hessian(f)(1.5))


def sin_times_jvp(lib, npm, by_defjvps=False):
    @lib.custom_jvp
    def f(x, y):
        return npm.sin(x) * y

    if by_defjvps:
        f.defjvps(lambda x_dot, primal_out, x, y: npm.cos(x) * x_dot * y,
                  lambda y_dot, primal_out, x, y: npm.sin(x) * y_dot)
        return f

    @f.defjvp
    def f_jvp(primals, tangents):
        x, y = primals
        x_dot, y_dot = tangents
        primal_out = f(x, y)
        tangent_out = npm.cos(x) * x_dot * y + npm.sin(x) * y_dot
        return primal_out, tangent_out

    return f


def sin_times_vjp(lib, npm):
    @lib.custom_vjp
    def f(x, y):
        return npm.sin(x) * y

    def f_fwd(x, y):
        return f(x, y), (npm.cos(x), npm.sin(x), y)

    def f_bwd(res, g):
        cos_x, sin_x, y = res
        return (cos_x * g * y, sin_x * g)

    f.defvjp(f_fwd, f_bwd)
    return f


def custom_two_args(lib, npm):
    f, g, h = sin_times_jvp(lib, npm), sin_times_jvp(lib, npm, True), sin_times_vjp(lib, npm)
    return (lib.grad(f)(2.0, 3.0), lib.grad(f, (0, 1))(2.0, 3.0), lib.grad(g, (0, 1))(2.0, 3.0),
            lib.jvp(g, (2.0, 3.0), (1.0, 0.5)), lib.grad(h)(2.0, 3.0), lib.grad(h, 1)(2.0, 3.0),
            lib.vmap(lib.grad(h, (0, 1)))(npm.asarray(X5), npm.asarray(X5 + 1)))


def convention(lib, npm):
    @lib.custom_jvp
    def f(x):
        return x / (1 + npm.sqrt(x))

    @f.defjvp
    def f_jvp(primals, tangents):
        x, = primals
        x_dot, = tangents
        ans = f(x)
        ans_dot = ((npm.sqrt(x) + 2) / (2 * (npm.sqrt(x) + 1) ** 2)) * x_dot
        return ans, ans_dot

    return f


def clip_gradient_vjp(lib, npm):
    @lib.custom_vjp
    def clip_gradient(lo, hi, x):
        return x  # identity function

    def clip_gradient_fwd(lo, hi, x):
        return x, (lo, hi)  # save bounds as residuals

    def clip_gradient_bwd(res, g):
        lo, hi = res
        return (None, None, npm.clip(g, lo, hi))  # use None to indicate zero cotangents for lo and hi

    clip_gradient.defvjp(clip_gradient_fwd, clip_gradient_bwd)
    return clip_gradient


def clip_gradient_jvp(lib, npm):
    @lib.custom_jvp
    def clip_gradient(lo, hi, x):
        return x

    @clip_gradient.defjvp
    def clip_gradient_jvp_rule(primals, tangents):
        lo, hi, x = primals
        _, _, x_dot = tangents
        return x, npm.clip(x_dot, lo, hi)

    return clip_gradient


T = np.linspace(0.0, 10.0, 9)


def custom_clipping(lib, npm):
    clip_v, clip_j = clip_gradient_vjp(lib, npm), clip_gradient_jvp(lib, npm)

    def clip_sin(x):
        x = clip_v(-0.75, 0.75, x)
        return npm.sin(x)

    def clip_sin_j(x):
        return npm.sin(clip_j(-0.75, 0.75, x))

    return (lib.vmap(lib.grad(npm.sin))(T), lib.vmap(lib.grad(clip_sin))(T), lib.jit(lib.vmap(lib.grad(clip_sin)))(T),
            lib.vmap(lambda x: lib.jvp(clip_sin_j, (x,), (1.0,)))(T), lib.grad(lambda x: npm.sum(clip_sin(x) * 3.0))(T),
            lib.grad(lambda x: clip_v(-0.5, 0.5, x) * 4.0)(1.0))


def custom_stability(lib, npm):
    f = convention(lib, npm)

    def my_log(x):
        return npm.where(x > 0.0, npm.log(x), 0.0)

    def safe_for_grad_log(x):
        return npm.log(npm.where(x > 0.0, x, 1.0))

    def my_log_safe(x):
        return npm.where(x > 0.0, safe_for_grad_log(x), 0.0)

    return (lib.grad(f)(0.0), lib.grad(f)(4.0), lib.vmap(lib.grad(f))(npm.array([0.0, 1.0, 9.0])),
            lib.grad(my_log)(0.0), lib.grad(my_log_safe)(0.0), lib.grad(my_log_safe)(2.0),
            lib.vmap(lib.grad(my_log_safe))(npm.array([-1.0, 0.0, 3.0])))


def fixed_point_loop(lib, npm, f, a, x_guess):
    def cond_fun(carry):
        x_prev, x = carry
        return npm.abs(x_prev - x) > 1e-6

    def body_fun(carry):
        _, x = carry
        return x, f(a, x)

    _, x_star = lib.lax.while_loop(cond_fun, body_fun, (x_guess, f(a, x_guess)))
    return x_star


def implicit_fixed_point(lib, npm):
    @partial(lib.custom_vjp, nondiff_argnums=(0,))
    def fixed_point(f, a, x_guess):
        return fixed_point_loop(lib, npm, f, a, x_guess)

    def fixed_point_fwd(f, a, x_init):
        x_star = fixed_point(f, a, x_init)
        return x_star, (a, x_star)

    def fixed_point_rev(f, res, x_star_bar):
        a, x_star = res
        _, vjp_a = lib.vjp(lambda a: f(a, x_star), a)
        a_bar, = vjp_a(fixed_point(partial(rev_iter, f), (a, x_star, x_star_bar), x_star_bar))
        return a_bar, npm.zeros_like(x_star)

    def rev_iter(f, packed, u):
        a, x_star, x_star_bar = packed
        _, vjp_x = lib.vjp(lambda x: f(a, x), x_star)
        return x_star_bar + vjp_x(u)[0]

    fixed_point.defvjp(fixed_point_fwd, fixed_point_rev)
    return fixed_point


def custom_fixed_point(lib, npm):
    fixed_point = implicit_fixed_point(lib, npm)

    def newton_sqrt_plain(a):
        return fixed_point_loop(lib, npm, lambda a, x: 0.5 * (x + a / x), a, a)

    def newton_sqrt(a):
        update = lambda a, x: 0.5 * (x + a / x)  # noqa: E731
        return fixed_point(update, a, a)

    xs = npm.array([1.0, 2.0, 3.0, 4.0])
    return (newton_sqrt_plain(2.0), lib.vmap(newton_sqrt_plain)(xs), newton_sqrt(2.0), lib.vmap(newton_sqrt)(xs),
            lib.grad(newton_sqrt)(2.0), lib.grad(lib.grad(newton_sqrt))(2.0), lib.vmap(lib.grad(newton_sqrt))(xs),
            lib.jit(lib.grad(newton_sqrt))(3.0), lib.jvp(newton_sqrt_plain, (2.0,), (1.0,)))


def custom_nondiff_jvp(lib, npm):
    @partial(lib.custom_jvp, nondiff_argnums=(0,))
    def app(f, x):
        return f(x)

    @app.defjvp
    def app_jvp(f, primals, tangents):
        x, = primals
        x_dot, = tangents
        return f(x), 2.0 * x_dot

    @partial(lib.custom_jvp, nondiff_argnums=(0, 2))
    def app2(f, x, y):
        return f(x * y)

    @app2.defjvp
    def app2_jvp(f, y, primals, tangents):
        x, = primals
        x_dot, = tangents
        return f(x * y), 3.0 * x_dot * y

    @partial(lib.custom_vjp, nondiff_argnums=(0,))
    def app_v(f, x):
        return f(x)

    app_v.defvjp(lambda f, x: (f(x), x), lambda f, x, g: (5.0 * g * x,))
    cube = lambda x: x**3  # noqa: E731
    return (app(cube, 3.0), lib.grad(app, 1)(cube, 3.0), app2(cube, 3.0, 4.0), lib.grad(app2, 1)(cube, 3.0, 4.0),
            lib.jvp(lambda x: app2(cube, x, 4.0), (3.0,), (1.0,)), lib.grad(app_v, 1)(cube, 3.0),
            lib.vmap(lib.grad(lambda x: app(cube, x)))(X5), lib.jit(lib.grad(lambda x: app2(cube, x, 2.0)))(1.5))


def point_rules(lib, npm):
    @lib.custom_vjp
    def fv(pt):
        x, y = pt.x, pt.y
        return {"a": x**2, "b": (npm.sin(x), npm.cos(y))}

    def f_fwd(pt):
        return fv(pt), pt

    def f_bwd(pt, g):
        a_bar, (b0_bar, b1_bar) = g["a"], g["b"]
        x_bar = 2 * pt.x * a_bar + npm.cos(pt.x) * b0_bar
        y_bar = -npm.sin(pt.y) * b1_bar
        return (Point(x_bar, y_bar),)

    fv.defvjp(f_fwd, f_bwd)

    @lib.custom_jvp
    def fj(pt):
        x, y = pt.x, pt.y
        return {"a": x**2, "b": (npm.sin(x), npm.cos(y))}

    @fj.defjvp
    def f_jvp(primals, tangents):
        pt, = primals
        pt_dot, = tangents
        ans = fj(pt)
        ans_dot = {"a": 2 * pt.x * pt_dot.x, "b": (npm.cos(pt.x) * pt_dot.x, -npm.sin(pt.y) * pt_dot.y)}
        return ans, ans_dot

    return fv, fj


def custom_pytrees(lib, npm):
    fv, fj = point_rules(lib, npm)

    def fun(f):
        def g(pt):
            dct = f(pt)
            return dct["a"] + dct["b"][0] + 3 * dct["b"][1]

        return g

    pt = Point(1.0, 2.0)
    return (fv(pt), lib.grad(fun(fv))(pt), fj(pt), lib.grad(fun(fj))(pt), lib.jvp(fj, (pt,), (Point(0.5, -1.0),)),
            lib.vmap(lib.grad(fun(fv)))(Point(npm.asarray(X5), npm.asarray(X5 * 2))), lib.hessian(fun(fj))(pt))


def custom_python_control_flow(lib, npm):
    @lib.custom_jvp
    def f(x):
        return x

    @f.defjvp
    def f_jvp(primals, tangents):
        x, = primals
        x_dot, = tangents
        if x >= 0:
            return f(x), x_dot
        return f(x), 2 * x_dot

    @lib.custom_vjp
    def g(x):
        if x > 0:
            return npm.sin(x)
        return npm.cos(x)

    def g_fwd(x):
        return g(x), x

    def g_bwd(x, y_bar):
        return (2 * x * y_bar,)

    g.defvjp(g_fwd, g_bwd)

    @lib.custom_vjp
    def h(x):
        return npm.sin(x)

    h.defvjp(lambda x: (h(x), npm.cos(x)), lambda cos_x, y_bar: (cos_x * y_bar,))
    return (lib.grad(f)(1.0), lib.grad(f)(-1.0), g(1.0), g(-1.0), lib.grad(g)(1.0), lib.grad(g)(-1.0),
            lib.grad(h)(3.0), lib.grad(lib.grad(h))(3.0), [lib.grad(python_if)(v) for v in (2.0, 4.0)])


# ---- Automatic vectorization -----------------------------------------------------------

XC, WC = np.arange(5.0), np.array([2.0, 3.0, 4.0])
XS, WS = np.stack([XC, XC * 2]), np.stack([WC, WC - 1])


def convolve(npm, x, w):
    output = []
    for i in range(1, len(x) - 1):
        output.append(npm.dot(x[i - 1:i + 2], w))
    return npm.array(output)


def vectorization(lib, npm):
    conv = partial(convolve, npm)

    def manually_batched_convolve(xs, ws):
        output = []
        for i in range(xs.shape[0]):
            output.append(conv(xs[i], ws[i]))
        return npm.stack(output)

    def manually_vectorized_convolve(xs, ws):
        output = []
        for i in range(1, xs.shape[-1] - 1):
            output.append(npm.sum(xs[:, i - 1:i + 2] * ws, axis=1))
        return npm.stack(output, axis=1)

    auto_batch_convolve = lib.vmap(conv)
    auto_batch_convolve_v2 = lib.vmap(conv, in_axes=1, out_axes=1)
    batch_convolve_v3 = lib.vmap(conv, in_axes=[0, None])
    jitted_batch_convolve = lib.jit(auto_batch_convolve)
    return (conv(XC, WC), manually_batched_convolve(XS, WS), manually_vectorized_convolve(XS, WS),
            auto_batch_convolve(XS, WS), auto_batch_convolve_v2(XS.T, WS.T), batch_convolve_v3(XS, WC),
            jitted_batch_convolve(XS, WS), lib.grad(lambda w: npm.sum(auto_batch_convolve(XS, w) ** 2))(WS),
            lib.vmap(lib.grad(lambda x, w: npm.sum(conv(x, w) ** 2), (0, 1)))(XS, WS))


MAT, BX = RNG.normal(size=(6, 4)), RNG.normal(size=(3, 4))


def batched_dots(lib, npm):
    def apply_matrix(x):
        return npm.dot(MAT, x)

    def batched_apply_matrix(batched_x):
        return npm.dot(batched_x, MAT.T)

    vv = lambda x, y: npm.vdot(x, y)  # noqa: E731 ([] x [] -> [])
    mv = lib.vmap(vv, (0, None), 0)  # ([b,a], [a]) -> [b]
    mm = lib.vmap(mv, (None, 1), 1)  # ([b,a], [a,c]) -> [b,c]
    return (lib.vmap(apply_matrix)(BX), lib.jit(batched_apply_matrix)(BX), lib.jit(lib.vmap(apply_matrix))(BX),
            lib.vmap(npm.dot)(BX, BX), mv(MAT, BX[0]), mm(MAT, BX.T), lib.vmap(apply_matrix, out_axes=1)(BX),
            lib.vmap(lambda p, x: p["w"] @ x + p["b"], in_axes=({"w": None, "b": 0}, 0))(
                {"w": MAT, "b": np.ones((3, 6))}, BX),
            lib.vmap(lambda x: (x, {"s": npm.sum(x)}), out_axes=(1, {"s": 0}))(BX))


# ---- Advanced automatic differentiation ------------------------------------------------


def value_fn(npm, theta, state):
    return npm.dot(theta, state)


THETA, S_TM1 = np.array([0.1, -0.1, 0.0]), np.array([1.0, 2.0, -1.0])
R_T, S_T = np.array(1.0), np.array([2.0, 1.0, 0.0])


def td_loss(lib, npm):
    def loss(theta, s_tm1, r_t, s_t):
        v_tm1 = value_fn(npm, theta, s_tm1)
        target = r_t + value_fn(npm, theta, s_t)
        return -0.5 * ((lib_stop_gradient(lib)(target) - v_tm1) ** 2)

    return loss


def lib_stop_gradient(lib):
    return jax.lax.stop_gradient if lib is jax else cr.lax.stop_gradient


def advanced_td(lib, npm):
    loss = td_loss(lib, npm)
    td_update = lib.grad(loss)
    batched_s_tm1, batched_r_t, batched_s_t = (npm.stack([S_TM1, S_TM1 * 2]), npm.stack([R_T, R_T]),
                                               npm.stack([S_T, S_T + 1]))
    perex_grads = lib.jit(lib.vmap(lib.grad(loss), in_axes=(None, 0, 0, 0)))
    dumb = [td_update(THETA, batched_s_tm1[i], batched_r_t[i], batched_s_t[i]) for i in range(2)]
    return (td_update(THETA, S_TM1, R_T, S_T), perex_grads(THETA, batched_s_tm1, batched_r_t, batched_s_t),
            dumb, lib.vmap(lib.grad(loss), in_axes=(None, 0, 0, 0))(THETA, batched_s_tm1, batched_r_t, batched_s_t))


def advanced_straight_through(lib, npm):
    sg = lib_stop_gradient(lib)

    def f(x):
        return npm.round(x)

    def straight_through_f(x):
        zero = x - sg(x)
        return zero + sg(f(x))

    return (f(3.2), straight_through_f(3.2), lib.grad(f)(3.2), lib.grad(straight_through_f)(3.2),
            lib.vmap(lib.grad(straight_through_f))(X5), lib.jit(lib.grad(lambda x: straight_through_f(x) ** 2))(1.6),
            lib.hessian(lambda x: sg(x) * x ** 2)(1.5), lib.jvp(straight_through_f, (2.7,), (1.0,)))


def advanced_hvps(lib, npm):
    def f(X):
        return npm.sum(npm.tanh(X) ** 2)

    def hvp(f, x, v):
        return lib.jvp(lib.grad(f), (x,), (v,))[1]

    def vmap_hvp(Vs):
        return lib.vmap(lambda v: hvp(f, XM, v))(Vs)

    Vs = npm.stack([VM, VM * 2, -VM])
    y, f_jvp = lib.linearize(f, XM)
    return (vmap_hvp(Vs), lib.jit(vmap_hvp)(Vs), y, f_jvp(VM), lib.vmap(f_jvp)(Vs))


# ---- Control flow ----------------------------------------------------------------------


def control_flow(lib, npm):
    lax = lib.lax

    @lib.jit
    def f(x):
        for _ in range(3):
            x = 2 * x
        return x

    def g(x):
        y = 0.0
        for i in range(x.shape[0]):
            y = y + x[i]
        return y

    operand = np.array([0.0])
    body = lambda i, x: x + i  # noqa: E731
    return (f(3.0), lib.jit(g)(np.array([1.0, 2.0, 3.0])), lax.cond(True, lambda x: x + 1, lambda x: x - 1, operand),
            lax.cond(False, lambda x: x + 1, lambda x: x - 1, operand),
            lax.while_loop(lambda x: x < 10, lambda x: x + 1, 0), lax.fori_loop(0, 10, body, 0),
            lax.switch(1, [lambda x: x * 2, lambda x: x + 10, lambda x: -x], 5.0),
            lax.switch(7, [lambda x: x * 2, lambda x: x + 10, lambda x: -x], 5.0),
            lax.cond(True, lambda: 1.0, lambda: 2.0), lib.jit(lambda n, v: lax.fori_loop(0, n, body, v))(10, 1),
            lib.jit(g_n, static_argnames="n")(np.arange(4.0), n=3), lax.map(lambda x: x**2, X5),
            lax.scan(lambda c, x: (c + x, c * x), 0.0, X5, reverse=True),
            lib.vmap(lambda x: x / lax.psum(x, "i"), axis_name="i")(X5 + 3))


def g_n(x, n):
    y = 0.0
    for i in range(n):
        y = y + x[i]
    return y


def control_flow_grads(lib, npm):
    lax = lib.lax

    def func11(arr, extra):
        ones = npm.ones(arr.shape)

        def body(carry, aelems):
            ae1, ae2 = aelems
            return (carry + ae1 * ae2 + extra, carry)

        return lax.scan(body, 0.0, (arr, ones))

    def fori(x):
        return lax.fori_loop(0, 3, lambda i, x: x * 1.1 + npm.sin(x) * i, x)

    def cond_fn(x):
        return lax.cond(x > 0.5, lambda x: npm.sin(x) * 3, lambda x: x**2, x)

    def switch_fn(i, x):
        return lax.switch(i, [npm.sin, npm.cos, lambda x: x**3], x)

    def while_fn(x):  # forward mode goes through while_loop
        return lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, npm.sin(c[1]) * 1.2), (0, x))[1]

    def cumsum_scan(xs):
        return lax.scan(lambda c, x: (c + x, c + x), 0.0, xs)[1]

    return (func11(X5, 0.5), lib.grad(lambda a: npm.sum(func11(a, 0.5)[1]))(X5),
            lib.grad(lambda e: func11(X5, e)[0])(0.5),
            lib.grad(fori)(0.3), lib.jit(lib.grad(fori))(0.3),
            lib.vmap(lib.grad(fori))(X5), lib.grad(cond_fn)(0.2), lib.grad(cond_fn)(0.9),
            lib.vmap(lib.grad(cond_fn))(X5), [lib.grad(switch_fn, 1)(i, 0.7) for i in range(3)],
            lib.vmap(lib.grad(switch_fn, 1))(np.array([0, 1, 2, 5, -1]), X5[:5]),
            lib.jvp(while_fn, (0.4,), (1.0,)), lib.jacfwd(while_fn)(0.4), lib.vmap(while_fn)(X5),
            lib.jacrev(cumsum_scan)(X5[:3]), lib.hessian(lambda x: npm.sum(cumsum_scan(x) ** 3))(X5[:3]),
            lib.grad(lambda x: lax.scan(lambda c, _: (npm.sin(c) * 2.0, c), x, None, length=4)[0])(0.3),
            lib.grad(lambda xs: npm.sum(lib.vmap(lambda x: x / lax.psum(x, "i"), axis_name="i")(xs) ** 2))(X5 + 3),
            lib.grad(lambda x: npm.sum(lax.scan(lambda c, v: (c * v, c + v), x, X5, reverse=True)[1]))(0.7))


def python_if(x):
    if x < 3:
        return 3.0 * x**2
    return -4 * x


PROGRAMS = {
    "quickstart: jit, grad, vmap, random": quickstart,
    "cookbook: grad, argnums, dict, value_and_grad": cookbook_grads,
    "cookbook: hvp fwd-over-rev, rev-over-rev, rev-over-fwd": cookbook_hvps,
    "cookbook: jacfwd, jacrev, jacfwd(jacrev), jvp, vjp": cookbook_jacobians,
    "cookbook: matrix-jacobian and jacobian-matrix products": cookbook_matrix_products,
    "cookbook: complex numbers": cookbook_complex,
    "custom: log1pexp custom_jvp": custom_log1pexp,
    "custom: two arguments, defjvp, defjvps, custom_vjp": custom_two_args,
    "custom: clip_gradient": custom_clipping,
    "custom: differentiation convention and safe log": custom_stability,
    "custom: fixed_point with nondiff_argnums": custom_fixed_point,
    "custom: nondiff_argnums with functions": custom_nondiff_jvp,
    "custom: pytree inputs and outputs": custom_pytrees,
    "custom: python control flow in rules": custom_python_control_flow,
    "vectorization: convolve": vectorization,
    "vectorization: batched dots and axes": batched_dots,
    "advanced: TD(0) with stop_gradient": advanced_td,
    "advanced: straight-through estimator": advanced_straight_through,
    "advanced: vmap of hvp, linearize": advanced_hvps,
    "pytrees: MLP training step": pytree_mlp,
    "pytrees: utilities": pytree_utilities,
    "pytrees: transforms of custom nodes": pytree_transforms,
    "pytrees: key paths of classes registered with keys": pytree_key_paths,
    "control flow: values": control_flow,
    "control flow: derivatives": control_flow_grads,
}


# programs with Python control flow on values or strings in their results: the JAX side
# runs them op by op; the others run under one jax.jit (one compilation instead of
# hundreds of dispatches; under it JAX's vmap of a custom rule wants JAX arrays, hence
# the npm.asarray of the batches)
JAX_EAGER = {"custom: python control flow in rules", "pytrees: utilities",
             "pytrees: transforms of custom nodes", "pytrees: key paths of classes registered with keys"}


def leaves_of(result):
    """Leaves of a result, strings and Python numbers kept (both libraries' trees)."""
    return jax.tree_util.tree_leaves(result, is_leaf=lambda v: isinstance(v, cr.Tensor))


@pytest.mark.parametrize("name", PROGRAMS)
def test_tutorial_program_gives_jax_results(name):
    ours = leaves_of(PROGRAMS[name](cr, cnp))
    program = partial(PROGRAMS[name], jax, jnp)
    theirs = leaves_of(program() if name in JAX_EAGER else jax.jit(program)())
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if isinstance(b, str):
            assert a == b, i
            continue
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape, (i, a.shape, b.shape)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13, err_msg=f"leaf {i}")

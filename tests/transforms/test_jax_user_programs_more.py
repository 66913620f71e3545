"""More programs written by JAX users, run unchanged over a namespace ``L`` (JAX's
examples: differentially private SGD, kernel least squares, Gaussian-process regression,
ADVI; the custom-derivatives and advanced-autodiff tutorials; scans, loops, keys and
hand-written optimisers), with chainrule and with JAX in float64: values and derivatives
must agree (JAX is the oracle), and where JAX raises, chainrule raises the same kind of
error. Sizes are tiny; the structure of the code is the point."""

import dataclasses
from functools import partial
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("jax")
import jax  # noqa: E402 (after the skip)
import jax.scipy.stats  # noqa: E402
from jax_namespaces import CR, FAST_COMPILE, JAX, assert_jax_results  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.scipy.stats  # noqa: E402

JX = SimpleNamespace(**vars(JAX), stats=jax.scipy.stats, linearize=jax.linearize,
                     tree_flatten=jax.tree_util.tree_flatten, tree_unflatten=jax.tree_util.tree_unflatten)
CX = SimpleNamespace(**vars(CR), stats=chainrule.scipy.stats, linearize=cr.linearize,
                     tree_flatten=cr.tree_util.tree_flatten, tree_unflatten=cr.tree_util.tree_unflatten)

RNG = np.random.default_rng(11)


# -- examples/differentially_private_sgd.py ---------------------------------------------------
IMAGES = RNG.normal(size=(3, 6, 6, 1))
LABELS = np.eye(4)[[0, 3, 1]]


def stax_mlp(L):
    """stax.serial(Dense(5), Tanh, Dense(4)) as (init_fun, apply_fun)."""
    def init(key):
        k1, k2, k3 = L.random.split(key, 3)
        return [(0.3 * L.random.normal(k1, (36, 5)), L.np.zeros(5)), (),
                (0.3 * L.random.normal(k2, (5, 4)), 0.1 * L.random.normal(k3, (4,)))]

    def apply(params, inputs):
        (w, b), _, (wd, bd) = params
        y = L.np.tanh(L.np.dot(L.np.reshape(inputs, (inputs.shape[0], -1)), w) + b)
        return L.np.dot(y, wd) + bd

    return init, apply


def dp_sgd(L):
    init_params, predict = stax_mlp(L)

    def loss(params, batch):
        inputs, targets = batch
        logits = predict(params, inputs)
        logits = logits - L.nn.logsumexp(logits, axis=1, keepdims=True)  # stax.logsoftmax
        return -L.np.mean(L.np.sum(logits * targets, axis=1))

    def private_grad(params, batch, rng, l2_norm_clip, noise_multiplier, batch_size):
        def _clipped_grad(params, single_example_batch):
            grads = L.grad(loss)(params, single_example_batch)
            nonempty_grads, tree_def = L.tree_flatten(grads)
            total_grad_norm = L.np.linalg.norm(
                L.np.array([L.np.linalg.norm(neg.ravel()) for neg in nonempty_grads]))
            divisor = L.np.maximum(total_grad_norm / l2_norm_clip, 1.)
            normalized_nonempty_grads = [g / divisor for g in nonempty_grads]
            return L.tree_unflatten(tree_def, normalized_nonempty_grads)

        px_clipped_grad_fn = L.vmap(partial(_clipped_grad, params))
        std_dev = l2_norm_clip * noise_multiplier
        noise_ = lambda n: n + std_dev * L.random.normal(rng, n.shape)  # noqa: E731
        normalize_ = lambda n: n / float(batch_size)  # noqa: E731
        sum_ = lambda n: L.np.sum(n, 0)  # noqa: E731
        aggregated_clipped_grads = L.tree_util.tree_map(sum_, px_clipped_grad_fn(batch))
        noised = L.tree_util.tree_map(noise_, aggregated_clipped_grads)
        return L.tree_util.tree_map(normalize_, noised)

    def shape_as_image(images, labels, dummy_dim=False):
        target_shape = (-1, 1, 6, 6, 1) if dummy_dim else (-1, 6, 6, 1)
        return L.np.reshape(images, target_shape), labels

    def update(i, params, rng, batch):  # optimizers.sgd's update, jitted
        grads = private_grad(params, batch, rng, 1.5, 1.1, 3)
        return L.tree_util.tree_map(lambda p, g: p - 0.15 * g, params, grads)

    update = L.jit(update)
    key = L.random.PRNGKey(42)
    params = init_params(key)
    steps = []
    for i in range(1):
        key = L.random.fold_in(key, i)
        params = update(i, params, key, shape_as_image(IMAGES, LABELS, dummy_dim=True))
        steps.append(loss(params, shape_as_image(IMAGES, LABELS)))
    return params, steps


# -- examples/kernel_lsq.py ------------------------------------------------------------------
def momentum(L, step_size, mass):  # example_libraries.optimizers.momentum
    def init(x0):
        return x0, L.np.zeros_like(x0)

    def update(i, g, state):
        x, velocity = state
        velocity = mass * velocity + g
        return x - step_size * velocity, velocity

    return init, update, lambda state: state[0]


KLSQ_XS, KLSQ_COEFFS = RNG.normal(size=(5, 3)), RNG.normal(size=3)


def kernel_lsq(L):
    def gram(kernel, xs):
        return L.vmap(lambda x: L.vmap(lambda y: kernel(x, y))(xs))(xs)

    def minimize(f, x, num_steps=4, step_size=0.01, mass=0.9):
        opt_init, opt_update, get_params = momentum(L, step_size, mass)

        @L.jit
        def update(i, opt_state):
            x = get_params(opt_state)
            return opt_update(i, L.grad(f)(x), opt_state)

        opt_state = opt_init(x)
        for i in range(num_steps):
            opt_state = update(i, opt_state)
        return get_params(opt_state)

    def train(kernel, xs, ys, regularization=0.01):
        gram_ = L.jit(partial(gram, kernel))
        gram_mat = gram_(xs)
        n = xs.shape[0]

        def objective(v):
            risk = .5 * L.np.sum((L.np.dot(gram_mat, v) - ys) ** 2.0)
            reg = regularization * L.np.sum(v ** 2.0)
            return risk + reg

        v = minimize(objective, L.np.zeros(n))

        def predict(x):
            prods = L.vmap(lambda x_: kernel(x, x_))(xs)
            return L.np.sum(v * prods)

        return L.jit(L.vmap(predict))

    xs, coeffs = KLSQ_XS, KLSQ_COEFFS
    ys = L.np.dot(xs, coeffs)
    linear_kernel = lambda x, y: L.np.dot(x, y, precision=L.lax.Precision.HIGH)  # noqa: E731
    rbf_kernel = lambda x, y: L.np.exp(-L.np.sum((x - y) ** 2))  # noqa: E731
    xt = xs[:2] + 0.1
    return train(linear_kernel, xs, ys)(xt), train(rbf_kernel, xs, ys)(xt)


# -- examples/gaussian_process_regression.py ---------------------------------------------------
def gp_regression(L, numpts=5, steps=1):
    eye = L.np.eye(numpts)

    def cov_map(cov_func, xs, xs2=None):
        if xs2 is None:
            return L.vmap(lambda x: L.vmap(lambda y: cov_func(x, y))(xs))(xs)
        return L.vmap(lambda x: L.vmap(lambda y: cov_func(x, y))(xs))(xs2).T

    def softplus(x):
        return L.np.logaddexp(x, 0.)

    def exp_quadratic(x1, x2):
        return L.np.exp(-L.np.sum((x1 - x2)**2))

    def gp(params, x, y, xtest=None, compute_marginal_likelihood=False):
        noise = softplus(params['noise'])
        amp = softplus(params['amplitude'])
        ls = softplus(params['lengthscale'])
        ymean = L.np.mean(y)
        y = y - ymean
        x = x / ls
        train_cov = amp * cov_map(exp_quadratic, x) + eye * (noise + 1e-6)
        chol = L.linalg.cholesky(train_cov, lower=True)
        kinvy = L.linalg.solve_triangular(chol.T, L.linalg.solve_triangular(chol, y, lower=True))
        if compute_marginal_likelihood:
            log2pi = L.np.log(2. * 3.1415)
            ml = L.np.sum(-0.5 * L.np.dot(y.T, kinvy) - L.np.sum(L.np.log(L.np.diag(chol)))
                          - (numpts / 2.) * log2pi)
            ml -= L.np.sum(-0.5 * L.np.log(2 * 3.1415) - L.np.log(amp) - 0.5 * L.np.log(amp)**2)
            return -ml
        if xtest is not None:
            xtest = xtest / ls
        cross_cov = amp * cov_map(exp_quadratic, x, xtest)
        mu = L.np.dot(cross_cov.T, kinvy) + ymean
        v = L.linalg.solve_triangular(chol, cross_cov, lower=True)
        var = (amp * cov_map(exp_quadratic, xtest) - L.np.dot(v.T, v))
        return mu, var

    marginal_likelihood = partial(gp, compute_marginal_likelihood=True)
    predict = partial(gp, compute_marginal_likelihood=False)
    grad_fun = L.jit(L.grad(marginal_likelihood))
    params = {"amplitude": L.np.zeros((1, 1)), "noise": L.np.zeros((1, 1)) - 5.,
              "lengthscale": L.np.zeros((1, 1))}
    momentums = {k: p * 0. for k, p in params.items()}
    scales = {k: p * 0. + 1. for k, p in params.items()}
    lr = 0.01

    def train_step(params, momentums, scales, x, y):
        grads = grad_fun(params, x, y)
        for k in params:
            momentums[k] = 0.9 * momentums[k] + 0.1 * grads[k][0]
            scales[k] = 0.9 * scales[k] + 0.1 * grads[k][0]**2
            params[k] -= lr * momentums[k] / L.np.sqrt(scales[k] + 1e-5)
        return params, momentums, scales

    key = L.random.PRNGKey(0)
    x = (L.random.uniform(key, shape=(numpts, 1)) * 4.) + 1
    y = L.np.sin(x) + 0.1 * L.random.normal(key, shape=(x.shape[0], 1))
    xtest = L.np.linspace(0, 6., 4)[:, None]
    mls = []
    for _ in range(steps):
        params, momentums, scales = train_step(params, momentums, scales, x, y)
        mls.append(marginal_likelihood(params, x, y))
    mu, var = predict(params, x, y, xtest)
    return params, mls, mu, L.np.sqrt(L.np.diag(var))


# -- examples/advi.py ---------------------------------------------------------------------------
def advi(L, num_samples=3, steps=2):
    def diag_gaussian_entropy(mean, log_std):
        return 0.5 * mean.shape[0] * (1.0 + L.np.log(2 * L.np.pi)) + L.np.sum(log_std)

    def diag_gaussian_logpdf(x, mean, log_std):
        return L.np.sum(L.vmap(L.stats.norm.logpdf)(x, mean, L.np.exp(log_std)))

    def diag_gaussian_sample(rng, mean, log_std):
        return mean + L.np.exp(log_std) * L.random.normal(rng, mean.shape)

    def elbo(logprob, rng, mean, log_std):
        sample = diag_gaussian_sample(rng, mean, log_std)
        return logprob(sample) + diag_gaussian_entropy(mean, log_std)

    def batch_elbo(logprob, rng, params, num_samples):
        rngs = L.random.split(rng, num_samples)
        vectorized_elbo = L.vmap(partial(elbo, logprob), in_axes=(0, None, None))
        return L.np.mean(vectorized_elbo(rngs, *params))

    def funnel_log_density(params):
        return L.stats.norm.logpdf(params[0], 0, L.np.exp(params[1])) + \
            L.stats.norm.logpdf(params[1], 0, 1.35)

    def objective(params, t):
        return -batch_elbo(funnel_log_density, L.random.key(t), params, num_samples)

    def adam(step_size, b1=0.9, b2=0.999, eps=1e-8):  # example_libraries.optimizers.adam
        def init(x0):
            return x0, L.tree_util.tree_map(L.np.zeros_like, x0), L.tree_util.tree_map(L.np.zeros_like, x0)

        def update(i, g, state):
            def one(g, x, m, v):
                m = (1 - b1) * g + b1 * m
                v = (1 - b2) * L.np.square(g) + b2 * v
                mhat = m / (1 - L.np.asarray(b1, m.dtype) ** (i + 1))
                vhat = v / (1 - L.np.asarray(b2, m.dtype) ** (i + 1))
                return x - step_size * mhat / (L.np.sqrt(vhat) + eps), m, v

            g_leaves, tree = L.tree_flatten(g)
            new = [one(*xs) for xs in zip(g_leaves, *(L.tree_util.tree_leaves(s) for s in state), strict=True)]
            return tuple(L.tree_unflatten(tree, [n[k] for n in new]) for k in range(3))

        return init, update, lambda state: state[0]

    opt_init, opt_update, get_params = adam(step_size=0.1)
    opt_state = opt_init((L.np.zeros(2), L.np.zeros(2)))

    @L.jit
    def update(i, opt_state):
        params = get_params(opt_state)
        gradient = L.grad(objective)(params, i)
        return opt_update(i, gradient, opt_state)

    values = []
    for t in range(steps):
        opt_state = update(t, opt_state)
        params = get_params(opt_state)
        values.append(objective(params, t))
    x, y = L.np.meshgrid(L.np.linspace(-2, 2, 3), L.np.linspace(-4, 2, 2))
    xy = L.np.stack([x.ravel(), y.ravel()]).T
    zs = L.vmap(funnel_log_density)(xy)
    zs_q = L.vmap(diag_gaussian_logpdf, in_axes=(0, None, None))(xy, *params)
    return params, values, zs, zs_q


# -- the custom-derivatives tutorial: custom rules under vmap, jit and each other -------------
XS, YS = RNG.normal(size=4), RNG.normal(size=4)
XS2 = RNG.normal(size=(2, 3))
W = RNG.normal(size=(3,))


def sin_times_vjp(L):
    @L.custom_vjp
    def f(x, y):
        return L.np.sin(x) * y

    def f_fwd(x, y):
        return f(x, y), (L.np.cos(x), L.np.sin(x), y)

    def f_bwd(res, g):
        cos_x, sin_x, y = res
        return (cos_x * g * y, sin_x * g)

    f.defvjp(f_fwd, f_bwd)
    return f


def custom_vjp_under_vmap(L):
    f = sin_times_vjp(L)
    xs, ys, xs2 = L.np.asarray(XS), L.np.asarray(YS), L.np.asarray(XS2)  # (JAX's vmap of a
    return (L.vmap(f)(xs, ys), L.vmap(L.grad(f))(xs, ys),                # custom_vjp under jit
            L.vmap(L.grad(f, argnums=(0, 1)), in_axes=(0, None))(xs, 2.),  # fails on NumPy arrays)
            L.grad(lambda xs: L.np.sum(L.vmap(f, in_axes=(0, None))(xs, 2.)))(xs),
            L.jit(L.vmap(L.value_and_grad(f)))(xs, ys),
            L.vmap(L.vmap(L.grad(f)))(xs2, xs2 + 1),
            L.jacrev(lambda x: L.vmap(f)(x, ys))(xs))


def clip_gradient(L):
    @partial(L.custom_vjp, nondiff_argnums=(0, 1))
    def clip_gradient(lo, hi, x):
        return x  # identity function

    def clip_gradient_fwd(lo, hi, x):
        return x, None  # no residual values to save

    def clip_gradient_bwd(lo, hi, _, g):
        return (L.np.clip(g, lo, hi),)

    clip_gradient.defvjp(clip_gradient_fwd, clip_gradient_bwd)
    return clip_gradient


def clipped_per_example(L):
    clip = clip_gradient(L)

    def loss(w, x):
        return L.np.sum(clip(-0.5, 0.5, L.np.sin(w * x)) ** 2 * 3.)

    per_example = L.vmap(L.grad(loss), in_axes=(None, 0))(W, XS2)
    total = L.grad(lambda w: L.np.sum(L.vmap(lambda x: loss(w, x))(XS2)))(W)
    return per_example, total, L.jit(L.grad(loss))(W, XS2[0])


def custom_jvp_pytrees(L):
    @L.custom_jvp
    def f(p):
        return L.np.sin(p["x"]) * p["y"], {"b": L.np.exp(p["y"])}

    @f.defjvp
    def f_jvp(primals, tangents):
        (p,), (t,) = primals, tangents
        out = f(p)
        return out, (L.np.cos(p["x"]) * t["x"] * p["y"] + L.np.sin(p["x"]) * t["y"],
                     {"b": L.np.exp(p["y"]) * t["y"]})

    def loss(p):
        a, d = f(p)
        return L.np.sum(a * d["b"])

    p, t = {"x": L.np.asarray(XS[:3]), "y": L.np.asarray(YS[:3])}, {"x": L.np.asarray(W), "y": -W}
    batch = {"x": L.np.asarray(XS2), "y": L.np.asarray(XS2) * 2}
    return (L.jvp(f, (p,), (t,)), L.grad(loss)(p), L.vmap(L.grad(loss))(batch),
            L.hessian(loss)(p), L.jacfwd(f)(p), L.jit(L.vmap(f))(batch),
            L.vmap(lambda p, t: L.jvp(f, (p,), (t,)), in_axes=(0, None))(batch, t))


# -- the advanced-autodiff tutorial, on pytrees of parameters -----------------------------------
PARAMS = {"w": RNG.normal(size=(3, 2)), "b": RNG.normal(size=2)}
BATCH_X, BATCH_Y = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 2))


def net_loss(L, params, x, y):
    pred = L.np.tanh(x @ params["w"] + params["b"])
    return L.np.mean((pred - y) ** 2), {"pred": pred}


def advanced_pytrees(L):
    def loss(params):
        return net_loss(L, params, BATCH_X, BATCH_Y)[0]

    def hvp(f, primals, tangents):
        return L.jvp(L.grad(f), primals, tangents)[1]

    def hvp_revrev(f, x, v):
        return L.grad(lambda x: sum(L.np.vdot(g, u) for g, u in zip(
            L.tree_util.tree_leaves(L.grad(f)(x)), L.tree_util.tree_leaves(v), strict=True)))(x)

    v = L.tree_util.tree_map(lambda p: L.np.ones_like(p) * 0.3, PARAMS)
    (value, aux), grads = L.value_and_grad(partial(net_loss, L), argnums=(0, 1), has_aux=True)(
        PARAMS, BATCH_X, BATCH_Y)
    y, f_jvp = L.linearize(loss, PARAMS)
    tangents = L.tree_util.tree_map(lambda p: L.np.stack([p, -2 * p]), PARAMS)
    _, f_vjp = L.vjp(lambda p: L.np.tanh(BATCH_X @ p["w"] + p["b"]), PARAMS)
    cotangents = L.np.stack([BATCH_Y, -BATCH_Y, 2 * BATCH_Y])
    return (hvp(loss, (PARAMS,), (v,)), hvp_revrev(loss, PARAMS, v), value, aux, grads, y, f_jvp(v),
            L.vmap(f_jvp)(tangents), L.vmap(f_vjp)(cotangents),
            L.jacrev(lambda p: L.np.tanh(BATCH_X[0] @ p["w"] + p["b"]))(PARAMS),
            L.jacfwd(L.jacrev(loss))(PARAMS),
            L.jacrev(lambda x: net_loss(L, PARAMS, x, BATCH_Y), has_aux=True)(BATCH_X))


# -- lax.scan, associative_scan and the loops -------------------------------------------------
SEQ = RNG.normal(size=(4, 3))
SEQS = RNG.normal(size=(2, 4, 3))
MASK = np.array([1.0, 1.0, 0.0, 1.0])
LSTM = {"wx": 0.5 * RNG.normal(size=(3, 8)), "wh": 0.5 * RNG.normal(size=(2, 8)), "b": 0.1 * RNG.normal(size=8)}


def lstm(L, params, seq, mask, reverse=False, unroll=1):
    """An LSTM over a sequence: the carry a pair (h, c), xs a dict, ys a pair with a dict."""
    def step(carry, inputs):
        h, c = carry
        gates = inputs["x"] @ params["wx"] + h @ params["wh"] + params["b"]
        i, f, g, o = L.np.split(gates, 4)
        new_c = L.nn.sigmoid(f) * c + L.nn.sigmoid(i) * L.np.tanh(g)
        new_h = L.nn.sigmoid(o) * L.np.tanh(new_c)
        m = inputs["m"]
        h, c = m * new_h + (1 - m) * h, m * new_c + (1 - m) * c
        return (h, c), (h, {"c": c})

    init = (L.np.zeros(2), L.np.zeros(2))
    return L.lax.scan(L.checkpoint(step), init, {"x": seq, "m": mask}, reverse=reverse, unroll=unroll)


def lstm_programs(L):
    def loss(params, seq):
        (h, c), (hs, aux) = lstm(L, params, seq, MASK, unroll=2)
        (hb, _), _ = lstm(L, params, seq, MASK, reverse=True, unroll=True)
        return L.np.sum(hs ** 2) + L.np.sum(aux["c"]) + L.np.sum(h * hb)

    # per-sequence gradients: the checkpointed step reads the parameters from its closure
    return lstm(L, LSTM, SEQ, MASK), L.vmap(L.grad(loss), in_axes=(None, 0))(LSTM, SEQS)


def cumulative_programs(L):
    def cumsum_scan(x, reverse=False):
        return L.lax.scan(lambda c, v: (c + v, c + v), L.np.zeros_like(x[0]), x, reverse=reverse, unroll=3)[1]

    def linear_recurrence(a, b):  # h_t = a_t h_{t-1} + b_t
        def op(left, right):
            a1, b1 = left
            a2, b2 = right
            return a1 * a2, a2 * b1 + b2
        return L.lax.associative_scan(op, (a, b))[1]

    a = L.nn.sigmoid(SEQ)
    f = lambda x: L.np.sum(L.np.sin(cumsum_scan(x, reverse=True)) * x)  # noqa: E731
    g = lambda b: L.np.sum(linear_recurrence(a, b) ** 2)  # noqa: E731
    return (cumsum_scan(SEQ), cumsum_scan(SEQ, True), L.grad(f)(SEQ), L.vmap(cumsum_scan)(SEQS),
            L.jit(L.vmap(L.grad(f)))(SEQS), L.lax.cumsum(SEQ, axis=0, reverse=True),
            L.grad(lambda x: L.np.sum(L.lax.cummax(x, axis=1) * x))(SEQ),
            L.grad(lambda x: L.np.sum(L.lax.cumlogsumexp(x, axis=0, reverse=True)))(SEQ),
            L.lax.associative_scan(L.np.add, SEQ, reverse=True, axis=1),
            linear_recurrence(a, SEQ), L.grad(g)(SEQ), L.vmap(L.grad(g))(SEQS),
            L.jacfwd(lambda x: L.lax.associative_scan(L.np.multiply, x))(SEQ[:, 0]))


def loop_programs(L):
    m = SEQ[:3] + 2 * np.eye(3)

    def power_method(m, n=6):
        def body(i, state):
            v, history = state
            w = m @ v
            v = w / L.np.linalg.norm(w)
            return v, L.at(history)[i].set(v @ m @ v)
        return L.lax.fori_loop(0, n, body, (L.np.ones(3) / 3.0, L.np.zeros(n)), unroll=2)

    def bisect(a):  # sqrt(a) by bisection, until the interval is small
        def cond(s):
            lo, hi, k = s
            return (hi - lo > 1e-3) & (k < 40)

        def body(s):
            lo, hi, k = s
            mid = (lo + hi) / 2
            up = mid * mid < a
            return L.np.where(up, mid, lo), L.np.where(up, hi, mid), k + 1
        return L.lax.while_loop(cond, body, (0.0 * a, 1.0 + a, 0))

    def newton(a):
        return L.lax.fori_loop(0, 5, lambda i, x: 0.5 * (x + a / x), a)

    return (power_method(m), L.grad(lambda m: power_method(m)[1][-1])(m),
            L.vmap(bisect)(L.np.array([0.5, 2.0, 9.0])),
            L.jvp(newton, (2.0,), (1.0,)), L.vmap(L.grad(newton))(L.np.array([0.5, 2.0, 9.0])),
            L.jit(L.vmap(lambda a: L.lax.fori_loop(0, 3, lambda i, c: (c[0] * a, c[1] + i), (a, 0))))(XS))


# -- keys per example, initializers, modules as registered dataclasses, optimisers by tree_map --
def random_per_example(L):
    key = L.random.PRNGKey(0)
    keys = L.random.split(key, 4)

    def dropout(k, x, rate=0.5):
        keep = L.random.bernoulli(k, 1 - rate, x.shape)
        return L.np.where(keep, x / (1 - rate), 0)

    def loss(w, k, x):
        return L.np.sum(dropout(k, L.np.tanh(x * w)) ** 2)

    per_example = L.vmap(L.grad(loss), in_axes=(None, 0, 0))(W, keys, SEQS[0, :4, :])
    noise = L.vmap(lambda k: L.random.normal(k, (3,)))(keys)
    folded = L.vmap(lambda i: L.random.uniform(L.random.fold_in(key, i)))(L.np.arange(4))
    typed = L.vmap(lambda k: L.random.normal(k, (2,)))(L.random.split(L.random.key(1), 3))
    nested = L.vmap(lambda k: L.vmap(lambda kk: L.random.uniform(kk, (2,)))(L.random.split(k, 3)))(keys)
    return per_example, noise, folded, typed, nested


def make_modules(L):
    @partial(L.tree_util.register_dataclass, data_fields=["w", "b"], meta_fields=["activation"])
    @dataclasses.dataclass
    class Dense:
        w: object
        b: object
        activation: str = "tanh"

        def __call__(self, x):
            y = x @ self.w + self.b
            return getattr(L.np, self.activation)(y) if self.activation != "linear" else y

    @L.tree_util.register_pytree_node_class
    class MLP:
        def __init__(self, layers):
            self.layers = layers

        def __call__(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

        def tree_flatten(self):
            return (self.layers,), None

        @classmethod
        def tree_unflatten(cls, aux, children):
            return cls(*children)

    return Dense, MLP


def module_training(L):
    Dense, MLP = make_modules(L)
    init = L.nn.initializers
    k1, k2 = L.random.split(L.random.PRNGKey(3))
    model = MLP([Dense(init.glorot_normal()(k1, (3, 4)), init.zeros(k1, (4,))),
                 Dense(init.lecun_uniform()(k2, (4, 2)), init.normal(0.1)(k2, (2,)), "linear")])

    def loss(model, x, y):
        return L.np.mean((L.vmap(model)(x) - y) ** 2)

    def sgd_momentum(lr=0.1, beta=0.9):  # optax.sgd(momentum=...) by tree_map
        def update(grads, velocity, params):
            velocity = L.tree_util.tree_map(lambda v, g: beta * v + g, velocity, grads)
            return L.tree_util.tree_map(lambda p, v: p - lr * v, params, velocity), velocity
        return update

    update = sgd_momentum()

    @L.jit
    def step(model, velocity, x, y):
        value, grads = L.value_and_grad(loss)(model, x, y)
        model, velocity = update(grads, velocity, model)
        return model, velocity, value

    velocity = L.tree_util.tree_map(L.np.zeros_like, model)
    values = []
    for _ in range(1):
        model, velocity, value = step(model, velocity, BATCH_X, BATCH_Y)
        values.append(value)
    scaled = L.jit(lambda f, x: f(x))(L.tree_util.Partial(L.np.multiply, 2.0), BATCH_X)
    return model, values, L.vmap(L.grad(loss), in_axes=(None, 0, 0))(model, BATCH_X[:, None], BATCH_Y[:, None]), scaled


PROGRAMS = {
    "examples: differentially private SGD, per-example clipped gradients": dp_sgd,
    "examples: kernel least squares, momentum in a jitted step": kernel_lsq,
    "examples: Gaussian process regression, hand-written adam-like steps": gp_regression,
    "examples: ADVI, ELBO vmapped over keys, jit(grad) with a traced step": advi,
    "custom: custom_vjp under vmap, vmap of grad, grad of vmap, jacrev": custom_vjp_under_vmap,
    "custom: clip_gradient with nondiff_argnums, per example": clipped_per_example,
    "custom: custom_jvp of pytrees under jvp, grad, hessian, vmap": custom_jvp_pytrees,
    "advanced: hvps, linearize, vmap of jvp and vjp, has_aux on pytrees": advanced_pytrees,
    "scan: LSTM with pytree carry and xs, checkpointed step, reverse, unroll": lstm_programs,
    "scan: cumulative sums, associative_scan, cummax, cumlogsumexp": cumulative_programs,
    "loops: fori_loop with pytree carry and .at, while_loop vmapped, newton": loop_programs,
    "random: keys per example, dropout, fold_in, typed keys, nested": random_per_example,
    "modules: registered dataclasses, initializers, momentum by tree_map": module_training,
}


def jax_results(program):
    return jax.jit(lambda: program(JX)).lower().compile(compiler_options=FAST_COMPILE)()


@pytest.mark.parametrize("name", PROGRAMS)
def test_user_program_gives_jax_results(name):
    assert_jax_results(PROGRAMS[name](CX), jax_results(PROGRAMS[name]))


# -- where JAX raises, chainrule raises the same kind of error --------------------------------
def bad_custom_jvp(L):
    @L.custom_jvp
    def f(x):
        return L.np.sin(x)

    f.defjvp(lambda primals, tangents: (f(primals[0]), L.np.ones(3)))
    return f


ERRORS = {
    "jvp of a custom_vjp": lambda L: L.jvp(sin_times_vjp(L), (1.0, 2.0), (1.0, 0.0)),
    "jacfwd of a custom_vjp": lambda L: L.jacfwd(sin_times_vjp(L))(1.0, 2.0),
    "a custom_jvp rule's tangent of another shape": lambda L: L.jvp(
        bad_custom_jvp(L), (L.np.ones(2),), (L.np.ones(2),)),
    "grad through that rule": lambda L: L.grad(lambda x: L.np.sum(bad_custom_jvp(L)(x)))(L.np.ones(2)),
    "while_loop's body changes the carry's structure": lambda L: L.lax.while_loop(
        lambda c: c[0] < 3, lambda c: (c[0] + 1,), (0, 1.0)),
    "fori_loop's body changes the carry's shape": lambda L: L.lax.fori_loop(
        0, 3, lambda i, c: L.np.append(c, 1.0), L.np.zeros(1)),
    "fori_loop's body changes the carry's structure": lambda L: L.lax.fori_loop(
        0, 3, lambda i, c: (c,), 1.0),
    "scan's body changes the carry's shape": lambda L: L.lax.scan(
        lambda c, x: (L.np.append(c, x), x), L.np.zeros(1), L.np.ones(3)),
    "scan's body returns the carry alone": lambda L: L.lax.scan(lambda c, x: c + x, 0.0, L.np.ones(3)),
    "scan over xs of different lengths": lambda L: L.lax.scan(
        lambda c, x: (c, x[0] + x[1]), 0.0, (L.np.ones(3), L.np.ones(4))),
    "vmap over arguments of different sizes": lambda L: L.vmap(lambda a, b: a + b)(
        L.np.ones(3), L.np.ones(4)),
    "random with an array that is not a key": lambda L: L.random.normal(L.np.ones(3, "uint32"), (2,)),
    "random with a batch of keys": lambda L: L.random.normal(L.random.split(L.random.PRNGKey(0), 3), (2,)),
}


@pytest.mark.parametrize("name", ERRORS)
def test_user_program_raises_as_jax(name):
    with pytest.raises(Exception) as theirs:
        ERRORS[name](JX)
    with pytest.raises(theirs.type):
        ERRORS[name](CX)

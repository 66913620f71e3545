"""Programs written as users of JAX's module and optimizer libraries write them: Equinox
(modules as frozen dataclasses registered as pytrees, static fields in the aux data,
filter_grad / filter_jit built from partitions of a model, tree_at surgery, ensembles by
vmap over stacked models), Flax linen (init/apply on nested variable dicts, a mutable
batch_stats collection, dropout keys, an RNN cell in lax.scan, a train state), Haiku
(transform with a parameter dict built while the function runs) and optax (chains,
schedules, masked and multi_transform updates, gradient accumulation), and jax.random
with the same keys. Each is written once over a namespace ``L`` and run with chainrule
and with JAX in float64; values and derivatives must agree (JAX is the oracle)."""

import dataclasses
import math
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import pytest

jax = pytest.importorskip("jax")
from jax_namespaces import CR, JAX, assert_jax_results, jax_compiled  # noqa: E402 (after the skip)

RNG = np.random.default_rng(11)
X = RNG.normal(size=(6, 3))
Y = RNG.normal(size=(6, 2))
LABELS = np.array([0, 1, 2, 1, 0, 2])
IMAGES = RNG.normal(size=(4, 1, 5, 5))  # N, C, H, W


# -- Equinox: modules as frozen dataclasses, static fields in the aux data ----------------------


def static_field(**kwargs):
    return dataclasses.field(metadata={"static": True}, **kwargs)


def module(cls):
    """``eqx.Module``: a frozen dataclass whose static fields are aux data and whose other
    fields are children, registered with both libraries."""
    cls = dataclasses.dataclass(frozen=True)(cls)
    fields = dataclasses.fields(cls)
    dynamic = tuple(f.name for f in fields if not f.metadata.get("static"))
    static = tuple(f.name for f in fields if f.metadata.get("static"))

    def flatten(m):
        return [getattr(m, k) for k in dynamic], tuple(getattr(m, k) for k in static)

    def unflatten(aux, children):
        m = object.__new__(cls)
        for k, v in (*zip(dynamic, children, strict=True), *zip(static, aux, strict=True)):
            object.__setattr__(m, k, v)
        return m

    for L in (JAX, CR):
        L.tree_util.register_pytree_node(cls, flatten, unflatten)
    return cls


@module
class Linear:
    weight: Any
    bias: Any
    in_features: int = static_field()
    out_features: int = static_field()

    @staticmethod
    def init(L, key, n_in, n_out):
        wkey, bkey = L.random.split(key)
        lim = 1 / math.sqrt(n_in)
        return Linear(L.random.uniform(wkey, (n_out, n_in), minval=-lim, maxval=lim),
                      L.random.uniform(bkey, (n_out,), minval=-lim, maxval=lim), n_in, n_out)

    def __call__(self, L, x):
        return self.weight @ x + self.bias


@module
class MLP:
    layers: tuple
    activation: Any = static_field()
    name: str = static_field(default="mlp")

    @staticmethod
    def init(L, key, sizes, activation):
        keys = L.random.split(key, len(sizes) - 1)
        pairs = zip(keys, sizes[:-1], sizes[1:], strict=True)
        return MLP(tuple(Linear.init(L, k, a, b) for k, a, b in pairs), activation)

    def __call__(self, L, x):
        for layer in self.layers[:-1]:
            x = self.activation(layer(L, x))
        return self.layers[-1](L, x)


@module
class Conv2d:
    weight: Any
    bias: Any
    stride: tuple = static_field()
    padding: Any = static_field()

    @staticmethod
    def init(L, key, c_in, c_out, k, stride=(1, 1), padding="VALID"):
        wkey, bkey = L.random.split(key)
        lim = 1 / math.sqrt(c_in * k * k)
        return Conv2d(L.random.uniform(wkey, (c_out, c_in, k, k), minval=-lim, maxval=lim),
                      L.random.uniform(bkey, (c_out, 1, 1), minval=-lim, maxval=lim), stride, padding)

    def __call__(self, L, x):  # x: (C, H, W), unbatched as in Equinox
        y = L.lax.conv_general_dilated(x[None], self.weight, self.stride, self.padding,
                                       dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return y[0] + self.bias


@module
class CNN:
    conv1: Conv2d
    conv2: Conv2d
    head: Linear

    @staticmethod
    def init(L, key):
        k1, k2, k3 = L.random.split(key, 3)
        return CNN(Conv2d.init(L, k1, 1, 3, 3, padding=((1, 1), (1, 1))),
                   Conv2d.init(L, k2, 3, 4, 3, stride=(2, 2)), Linear.init(L, k3, 16, 3))

    def __call__(self, L, x):
        x = L.nn.relu(self.conv1(L, x))
        x = L.nn.relu(self.conv2(L, x))
        return self.head(L, L.np.ravel(x))


def eqx(L):
    """Equinox's filtering, as a user builds it from jax.tree_util."""
    tree_map = L.tree_util.tree_map

    def is_array(x):
        return isinstance(x, L.array_types)

    def partition(tree, filter_spec=is_array):
        dynamic = tree_map(lambda x: x if filter_spec(x) else None, tree)
        static = tree_map(lambda x: None if filter_spec(x) else x, tree)
        return dynamic, static

    def combine(*trees):
        return tree_map(lambda *xs: next((x for x in xs if x is not None), None), *trees,
                        is_leaf=lambda x: x is None)

    def filter_value_and_grad(fun):
        def call(model, *args):
            dynamic, static = partition(model)
            return L.value_and_grad(lambda d, *a: fun(combine(d, static), *a))(dynamic, *args)
        return call

    def filter_grad(fun):
        return lambda model, *args: filter_value_and_grad(fun)(model, *args)[1]

    def filter_jit(fun):
        @partial(L.jit, static_argnums=(1, 2))
        def jitted(dynamic, static_leaves, static_def):
            args = combine(dynamic, L.tree_util.tree_unflatten(static_def, static_leaves))
            out_dynamic, out_static = partition(fun(*args))
            return out_dynamic, out_static

        def call(*args):
            dynamic, static = partition(args)
            static_leaves, static_def = L.tree_util.tree_flatten(static)
            out_dynamic, out_static = jitted(dynamic, tuple(static_leaves), static_def)
            return combine(out_dynamic, out_static)
        return call

    def tree_at(where, tree, replace):
        target = where(tree)
        leaves, treedef = L.tree_util.tree_flatten(tree, is_leaf=lambda x: x is target)
        leaves = [replace if x is target else x for x in leaves]
        return L.tree_util.tree_unflatten(treedef, leaves)

    return dict(is_array=is_array, partition=partition, combine=combine, filter_grad=filter_grad,
                filter_value_and_grad=filter_value_and_grad, filter_jit=filter_jit, tree_at=tree_at)


def mse(L, model, x, y):
    return L.np.mean((L.vmap(lambda v: model(L, v))(x) - y) ** 2)


def eqx_mlp_training(L):
    e = eqx(L)
    model = MLP.init(L, L.random.PRNGKey(0), (3, 5, 2), L.nn.tanh)

    @e["filter_jit"]
    def step(model, x, y, lr):
        loss, grads = e["filter_value_and_grad"](partial(mse, L))(model, x, y)
        return loss, L.tree_util.tree_map(lambda p, g: p - lr * g, model, grads)

    losses = []
    for _ in range(2):
        loss, model = step(model, X, Y, 0.1)
        losses.append(loss)
    assert model.activation is L.nn.tanh and model.layers[1].out_features == 2
    return L.np.stack(losses), model


def eqx_cnn_grad(L):
    e = eqx(L)
    model = CNN.init(L, L.random.PRNGKey(3))

    def loss(model, x, labels):
        logits = L.vmap(lambda v: model(L, v))(x)
        return -L.np.mean(L.np.take_along_axis(L.nn.log_softmax(logits), labels[:, None], axis=1))

    value, grads = e["filter_value_and_grad"](loss)(model, IMAGES, LABELS[:4])
    assert grads.conv2.stride == (2, 2)
    return value, grads, L.jit(lambda m, x: L.vmap(lambda v: m(L, v))(x))(model, IMAGES)


def eqx_tree_surgery(L):
    e = eqx(L)
    model = MLP.init(L, L.random.PRNGKey(1), (3, 4, 2), L.nn.relu)
    zero_bias = e["tree_at"](lambda m: m.layers[0].bias, model, L.np.zeros(4))
    scaled = e["tree_at"](lambda m: m.layers[1].weight, zero_bias, 2.0 * zero_bias.layers[1].weight)
    swapped = dataclasses.replace(scaled, activation=L.nn.sigmoid)
    frozen_first = e["tree_at"](lambda m: m.layers[0], swapped, L.stop_gradient(swapped.layers[0]))
    grads = e["filter_grad"](partial(mse, L))(frozen_first, X, Y)
    dynamic, static = e["partition"](swapped)
    return (mse(L, swapped, X, Y), grads, L.tree_util.tree_leaves(dynamic),
            len(L.tree_util.tree_leaves(static)), e["combine"](dynamic, static).layers[0].bias)


def eqx_ensemble(L):
    e = eqx(L)
    keys = L.random.split(L.random.PRNGKey(2), 3)
    ensemble = L.vmap(lambda k: MLP.init(L, k, (3, 4, 2), L.nn.tanh))(keys)
    shared_bias = L.np.array([0.1, -0.2])
    ensemble = e["tree_at"](lambda m: m.layers[1].bias, ensemble, shared_bias)
    axes = L.tree_util.tree_map(lambda _: 0, ensemble)
    axes = dataclasses.replace(axes, layers=(axes.layers[0], dataclasses.replace(axes.layers[1], bias=None)))
    preds = L.vmap(lambda m, x: L.vmap(lambda v: m(L, v))(x), in_axes=(axes, None))(ensemble, X)
    per_member = L.vmap(e["filter_grad"](partial(mse, L)), in_axes=(axes, None, None))(ensemble, X, Y)
    mean_loss = e["filter_value_and_grad"](
        lambda m, x, y: L.np.mean(L.vmap(partial(mse, L), in_axes=(axes, None, None))(m, x, y)))(ensemble, X, Y)
    return preds, per_member, mean_loss


# -- Flax linen: init/apply on variable dicts, batch statistics, dropout, scan ------------------


def flax_mlp(L):
    """A linen ``Dense(use_bias=False) -> BatchNorm -> relu -> Dropout -> Dense`` module as init/apply."""
    jnp, init = L.np, L.nn.initializers

    def init_fn(key, x):
        k0, k1 = L.random.split(key)
        return {"params": {"Dense_0": {"kernel": init.lecun_normal()(k0, (x.shape[-1], 8))},
                           "BatchNorm_0": {"scale": jnp.ones(8), "bias": jnp.zeros(8)},
                           "Dense_1": {"kernel": init.lecun_normal()(k1, (8, 3)), "bias": jnp.zeros(3)}},
                "batch_stats": {"BatchNorm_0": {"mean": jnp.zeros(8), "var": jnp.ones(8)}}}

    def apply_fn(variables, x, train=False, rngs=None, mutable=()):
        p, stats = variables["params"], variables["batch_stats"]["BatchNorm_0"]
        h = x @ p["Dense_0"]["kernel"]  # Dense(use_bias=False) before BatchNorm
        if train:
            mean, var = jnp.mean(h, axis=0), jnp.var(h, axis=0)
            stats = {"mean": 0.9 * stats["mean"] + 0.1 * mean, "var": 0.9 * stats["var"] + 0.1 * var}
        else:
            mean, var = stats["mean"], stats["var"]
        h = (h - mean) * L.lax.rsqrt(var + 1e-5) * p["BatchNorm_0"]["scale"] + p["BatchNorm_0"]["bias"]
        h = L.nn.relu(h)
        if train:
            keep = L.random.bernoulli(rngs["dropout"], 0.75, h.shape)
            h = jnp.where(keep, h / 0.75, 0.0)
        out = h @ p["Dense_1"]["kernel"] + p["Dense_1"]["bias"]
        if "batch_stats" in mutable:
            return out, {"batch_stats": {"BatchNorm_0": stats}}
        return out

    return init_fn, apply_fn


class TrainState(NamedTuple):
    step: Any
    apply_fn: Any
    params: Any
    tx: Any
    opt_state: Any
    batch_stats: Any


def flax_training(L):
    init_fn, apply_fn = flax_mlp(L)
    opt = optax(L)
    root = L.random.PRNGKey(42)
    params_key, dropout_key = L.random.split(root)
    variables = init_fn(params_key, X)
    tx = opt.chain(opt.clip_by_global_norm(1.0), opt.scale_by_adam(), opt.scale(-0.05))
    state = TrainState(0, apply_fn, variables["params"], tx, tx.init(variables["params"]),
                       variables["batch_stats"])

    def train_step(state, x, labels, key):
        step_key = L.random.fold_in(key, state.step)

        def loss_fn(params):
            logits, updates = state.apply_fn({"params": params, "batch_stats": state.batch_stats}, x,
                                             train=True, rngs={"dropout": step_key}, mutable=["batch_stats"])
            logp = L.nn.log_softmax(logits)
            return -L.np.mean(L.np.sum(L.nn.one_hot(labels, 3) * logp, axis=-1)), updates

        (loss, updates), grads = L.value_and_grad(loss_fn, has_aux=True)(state.params)
        new_updates, opt_state = state.tx.update(grads, state.opt_state, state.params)
        return state._replace(step=state.step + 1, params=opt.apply_updates(state.params, new_updates),
                              opt_state=opt_state, batch_stats=updates["batch_stats"]), loss

    losses = []
    for _ in range(2):
        state, loss = train_step(state, X, LABELS, dropout_key)
        losses.append(loss)
    evaluated = apply_fn({"params": state.params, "batch_stats": state.batch_stats}, X)
    return L.np.stack(losses), state.params, state.batch_stats, state.opt_state, evaluated


def flax_rnn(L):
    """A linen ``SimpleCell`` scanned over time (``nn.scan`` of a cell: params broadcast)."""
    jnp = L.np
    k_ih, k_hh, k_out = L.random.split(L.random.PRNGKey(5), 3)
    init = L.nn.initializers
    params = {"params": {"cell": {"i": {"kernel": init.lecun_normal()(k_ih, (3, 4)), "bias": jnp.zeros(4)},
                                  "h": {"kernel": init.orthogonal()(k_hh, (4, 4))}},
                         "out": {"kernel": init.lecun_normal()(k_out, (4, 2))}}}
    xs = jnp.asarray(X).reshape(3, 2, 3)  # time, batch, features

    def apply(variables, xs):
        p = variables["params"]

        def cell(h, x):
            h = jnp.tanh(x @ p["cell"]["i"]["kernel"] + p["cell"]["i"]["bias"] + h @ p["cell"]["h"]["kernel"])
            return h, h @ p["out"]["kernel"]

        return L.lax.scan(cell, jnp.zeros((xs.shape[1], 4)), xs)

    def loss(variables):
        h, ys = apply(variables, xs)
        return jnp.sum(ys**2) + jnp.sum(h), ys

    return L.value_and_grad(loss, has_aux=True)(params), L.jit(apply)(params, xs[::-1])


def flax_conv_autoencoder(L):
    """linen's ``Conv``, ``max_pool``, ``avg_pool`` and ``ConvTranspose`` (NHWC, HWIO), as
    flax writes them on lax.conv_general_dilated, lax.reduce_window and lax.conv_transpose."""
    jnp, init = L.np, L.nn.initializers
    k1, k2 = L.random.split(L.random.PRNGKey(9))
    params = {"Conv_0": {"kernel": init.lecun_normal()(k1, (3, 3, 1, 4)), "bias": jnp.full(4, 0.1)},
              "ConvTranspose_0": {"kernel": init.lecun_normal()(k2, (2, 2, 4, 1)), "bias": jnp.zeros(1)}}
    images = jnp.asarray(IMAGES).transpose(0, 2, 3, 1)  # N, H, W, C

    def pool(x, init_value, op, window, strides, padding):
        return L.lax.reduce_window(x, init_value, op, (1, *window, 1), (1, *strides, 1), padding)

    def apply(p, x):
        h = L.lax.conv_general_dilated(x, p["Conv_0"]["kernel"], (1, 1), "SAME",
                                       dimension_numbers=("NHWC", "HWIO", "NHWC")) + p["Conv_0"]["bias"]
        h = pool(L.nn.relu(h), -jnp.inf, L.lax.max, (2, 2), (2, 2), "VALID")
        code = pool(h, 0.0, L.lax.add, (2, 2), (1, 1), "SAME") / 4.0  # avg_pool, count_include_pad
        y = L.lax.conv_transpose(code, p["ConvTranspose_0"]["kernel"], (2, 2), "SAME",
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return y + p["ConvTranspose_0"]["bias"], code

    def loss(p):
        y, code = apply(p, images)
        return jnp.mean((y - images[:, :4, :4]) ** 2), code

    return L.value_and_grad(loss, has_aux=True)(params)


# -- Haiku: transform, with the parameter dict built while the function runs -------------------


def haiku(L):
    frames = []

    def get_parameter(name, shape, init):
        frame = frames[-1]
        module_name = frame["scope"][-1]
        if frame["init"]:
            frame["key"], sub = L.random.split(frame["key"])
            frame["params"].setdefault(module_name, {})[name] = init(sub, shape)
        return frame["params"][module_name][name]

    def linear(x, size, name):
        frame = frames[-1]
        frame["counts"][name] = n = frame["counts"].get(name, -1) + 1
        frame["scope"].append(f"{frame['prefix']}{name}" + (f"_{n}" if n else ""))
        w_init = L.nn.initializers.truncated_normal(1 / math.sqrt(x.shape[-1]))
        out = x @ get_parameter("w", (x.shape[-1], size), w_init) + get_parameter(
            "b", (size,), L.nn.initializers.zeros)
        frame["scope"].pop()
        return out

    def transform(f):
        def run(params, key, init, *args):
            frames.append({"params": params, "key": key, "init": init, "scope": [], "counts": {},
                           "prefix": "mlp/~/"})
            try:
                out = f(*args)
                return out, frames[-1]["params"]
            finally:
                frames.pop()

        return (lambda key, *args: run({}, key, True, *args)[1],
                lambda params, key, *args: run(params, key, False, *args)[0])

    return linear, transform


def haiku_mlp(L):
    linear, transform = haiku(L)

    def forward(x):
        h = L.nn.gelu(linear(x, 5, "linear"))
        h = L.nn.gelu(linear(h, 5, "linear"))
        return linear(h, 2, "linear")

    init, apply = transform(forward)
    params = init(L.random.PRNGKey(7), X)
    loss = lambda p, x, y: L.np.mean((apply(p, None, x) - y) ** 2)  # noqa: E731
    grads = L.jit(L.grad(loss))(params, X, Y)
    flat, unravel = L.ravel_pytree(grads)
    return params, grads, flat, unravel(2 * flat), sorted(params) == ["mlp/~/linear", "mlp/~/linear_1",
                                                                       "mlp/~/linear_2"]


# -- optax: chains, schedules, masks, multi_transform, gradient accumulation -------------------


class GradientTransformation(NamedTuple):
    init: Any
    update: Any


class EmptyState(NamedTuple):
    pass


class MaskedNode(NamedTuple):
    pass


class ScaleByAdamState(NamedTuple):
    count: Any
    mu: Any
    nu: Any


class CountState(NamedTuple):
    count: Any


class MaskedState(NamedTuple):
    inner_state: Any


class MultiStepsState(NamedTuple):
    mini_step: Any
    acc_grads: Any
    inner_state: Any


def optax(L):
    jnp, tree_map = L.np, L.tree_util.tree_map
    ns = {}

    def transformation(fn):
        ns[fn.__name__] = fn
        return fn

    def stateless(update):
        return GradientTransformation(lambda params: EmptyState(), update)

    @transformation
    def scale(step_size):
        return stateless(lambda u, s, p=None: (tree_map(lambda g: step_size * g, u), s))

    @transformation
    def scale_by_adam(b1=0.9, b2=0.999, eps=1e-8):
        def init_fn(params):
            return ScaleByAdamState(jnp.zeros([], jnp.int32), tree_map(jnp.zeros_like, params),
                                    tree_map(jnp.zeros_like, params))

        def update_fn(updates, state, params=None):
            mu = tree_map(lambda g, t: (1 - b1) * g + b1 * t, updates, state.mu)
            nu = tree_map(lambda g, t: (1 - b2) * g**2 + b2 * t, updates, state.nu)
            count = state.count + 1
            mu_hat = tree_map(lambda t: t / (1 - b1**count), mu)
            nu_hat = tree_map(lambda t: t / (1 - b2**count), nu)
            return (tree_map(lambda m, v: m / (jnp.sqrt(v) + eps), mu_hat, nu_hat),
                    ScaleByAdamState(count, mu, nu))

        return GradientTransformation(init_fn, update_fn)

    @transformation
    def clip_by_global_norm(max_norm):
        def update_fn(updates, state, params=None):
            g_norm = jnp.sqrt(sum(jnp.sum(x**2) for x in L.tree_util.tree_leaves(updates)))
            trigger = jnp.squeeze(g_norm < max_norm)
            return tree_map(lambda t: L.lax.select(trigger, t, (t / g_norm) * max_norm), updates), state

        return stateless(update_fn)

    @transformation
    def add_decayed_weights(weight_decay, mask=None):
        tx = stateless(lambda u, s, p: (tree_map(lambda g, w: g + weight_decay * w, u, p), s))
        return tx if mask is None else masked(tx, mask)

    @transformation
    def scale_by_schedule(schedule):
        def update_fn(updates, state, params=None):
            # JAX divides an int32 count into float32, NumPy (and chainrule) into float64
            step_size = schedule(state.count.astype(jnp.float64))
            return tree_map(lambda g: step_size * g, updates), CountState(state.count + 1)

        return GradientTransformation(lambda p: CountState(jnp.zeros([], jnp.int32)), update_fn)

    @transformation
    def chain(*txs):
        def update_fn(updates, state, params=None):
            new_state = []
            for s, tx in zip(state, txs, strict=True):
                updates, s = tx.update(updates, s, params)
                new_state.append(s)
            return updates, tuple(new_state)

        return GradientTransformation(lambda params: tuple(tx.init(params) for tx in txs), update_fn)

    def mask_pytree(tree, mask):
        return tree_map(lambda m, x: x if m else MaskedNode(), mask, tree)

    @transformation
    def masked(inner, mask):
        def init_fn(params):
            mask_tree = mask(params) if callable(mask) else mask
            return MaskedState(inner.init(mask_pytree(params, mask_tree)))

        def update_fn(updates, state, params=None):
            mask_tree = mask(updates) if callable(mask) else mask
            masked_updates = mask_pytree(updates, mask_tree)
            masked_params = None if params is None else mask_pytree(params, mask_tree)
            new_masked, inner_state = inner.update(masked_updates, state.inner_state, masked_params)
            new_updates = tree_map(lambda m, new, old: new if m else old, mask_tree, new_masked, updates,
                                   is_leaf=lambda x: isinstance(x, MaskedNode))
            return new_updates, MaskedState(inner_state)

        return GradientTransformation(init_fn, update_fn)

    @transformation
    def multi_transform(transforms, param_labels):
        def labels_of(params):
            return param_labels(params) if callable(param_labels) else param_labels

        def mask_for(label):
            return lambda params: tree_map(lambda lab: lab == label, labels_of(params))

        txs = {label: masked(tx, mask_for(label)) for label, tx in transforms.items()}

        def init_fn(params):
            return {label: tx.init(params) for label, tx in txs.items()}

        def update_fn(updates, state, params=None):
            new_state = {}
            for label, tx in txs.items():
                updates, new_state[label] = tx.update(updates, state[label], params)
            return updates, new_state

        return GradientTransformation(init_fn, update_fn)

    @transformation
    def polynomial_schedule(init_value, end_value, power, transition_steps, transition_begin=0):
        def schedule(count):
            count = jnp.clip(count - transition_begin, 0, transition_steps)
            frac = 1 - count / transition_steps
            return (init_value - end_value) * (frac**power) + end_value
        return schedule

    @transformation
    def cosine_decay_schedule(init_value, decay_steps, alpha=0.0, exponent=1.0):
        def schedule(count):
            count = jnp.minimum(count, decay_steps)
            cosine_decay = 0.5 * (1 + jnp.cos(jnp.pi * count / decay_steps))
            decayed = (1 - alpha) * cosine_decay**exponent + alpha
            return init_value * decayed
        return schedule

    @transformation
    def join_schedules(schedules, boundaries):
        def schedule(step):
            output = schedules[0](step)
            for boundary, fn in zip(boundaries, schedules[1:], strict=True):
                output = jnp.where(step < boundary, output, fn(step - boundary))
            return output
        return schedule

    @transformation
    def warmup_cosine_decay_schedule(init_value, peak_value, warmup_steps, decay_steps, end_value=0.0):
        return join_schedules(
            [polynomial_schedule(init_value, peak_value, 1, warmup_steps),
             cosine_decay_schedule(peak_value, decay_steps - warmup_steps, end_value / peak_value)],
            [warmup_steps])

    @transformation
    def multi_steps(inner, every_k):
        def init_fn(params):
            return MultiStepsState(jnp.zeros([], jnp.int32), tree_map(jnp.zeros_like, params), inner.init(params))

        def update_fn(updates, state, params=None):
            acc = tree_map(lambda a, g: a + g, state.acc_grads, updates)
            emit = state.mini_step == every_k - 1

            def final_step(args):
                acc, inner_state = args
                mean = tree_map(lambda a: a / every_k, acc)
                new_updates, inner_state = inner.update(mean, inner_state, params)
                return new_updates, MultiStepsState(jnp.zeros([], jnp.int32), tree_map(jnp.zeros_like, acc),
                                                    inner_state)

            def mid_step(args):
                acc, inner_state = args
                return tree_map(jnp.zeros_like, updates), MultiStepsState(state.mini_step + 1, acc, inner_state)

            return L.lax.cond(emit, final_step, mid_step, (acc, state.inner_state))

        return GradientTransformation(init_fn, update_fn)

    @transformation
    def apply_updates(params, updates):
        return tree_map(lambda p, u: None if p is None else (p + u).astype(jnp.asarray(p).dtype), params, updates,
                        is_leaf=lambda x: x is None)

    return type("optax", (), {k: staticmethod(v) for k, v in ns.items()})


OPT_PARAMS = {"encoder": {"w": RNG.normal(size=(3, 4)) * 0.5, "b": np.zeros(4)},
              "head": {"w": RNG.normal(size=(4, 2)) * 0.5, "b": np.full(2, 0.1)}}


def opt_loss(L, params, x, y):
    h = L.np.tanh(x @ params["encoder"]["w"] + params["encoder"]["b"])
    return L.np.mean((h @ params["head"]["w"] + params["head"]["b"] - y) ** 2)


def optax_adamw_warmup_cosine(L):
    opt = optax(L)
    schedule = opt.warmup_cosine_decay_schedule(0.0, 0.1, 2, 6, end_value=0.01)
    decay_mask = L.tree_util.tree_map(lambda p: p.ndim > 1, OPT_PARAMS)
    tx = opt.chain(opt.clip_by_global_norm(0.5), opt.scale_by_adam(),
                   opt.add_decayed_weights(1e-2, mask=decay_mask),
                   opt.scale_by_schedule(lambda c: -schedule(c)))
    params, state = OPT_PARAMS, tx.init(OPT_PARAMS)

    @L.jit
    def step(params, state):
        loss, grads = L.value_and_grad(partial(opt_loss, L))(params, X, Y)
        updates, state = tx.update(grads, state, params)
        return opt.apply_updates(params, updates), state, loss

    losses = []
    for _ in range(4):
        params, state, loss = step(params, state)
        losses.append(loss)
    return params, state, L.np.stack(losses), L.vmap(schedule)(L.np.arange(8))


def optax_multi_transform(L):
    opt = optax(L)
    labels = lambda params: {k: L.tree_util.tree_map(lambda _, k=k: "slow" if k == "encoder" else "fast", v)  # noqa: E731
                             for k, v in params.items()}
    tx = opt.multi_transform({"fast": opt.chain(opt.scale_by_adam(), opt.scale(-0.1)),
                              "slow": opt.scale(-0.01)}, labels)
    params, state = OPT_PARAMS, tx.init(OPT_PARAMS)
    for _ in range(3):
        grads = L.grad(partial(opt_loss, L))(params, X, Y)
        updates, state = tx.update(grads, state, params)
        params = opt.apply_updates(params, updates)
    return params, state


def optax_gradient_accumulation(L):
    opt = optax(L)
    tx = opt.multi_steps(opt.chain(opt.scale_by_adam(), opt.scale(-0.1)), every_k=2)

    def body(carry, batch):
        params, state = carry
        loss, grads = L.value_and_grad(partial(opt_loss, L))(params, *batch)
        updates, state = tx.update(grads, state, params)
        return (opt.apply_updates(params, updates), state), loss

    batches = (X.reshape(3, 2, 3), Y.reshape(3, 2, 2))
    return L.lax.scan(body, (OPT_PARAMS, tx.init(OPT_PARAMS)), batches)


# -- jax.random: the same keys give the same numbers --------------------------------------------


def random_draws(L):
    r = L.random
    key = r.PRNGKey(1234)
    key, sub = r.split(key)
    keys = r.split(sub, 4)
    folded = r.fold_in(key, 17)
    logits = L.np.log(L.np.array([0.1, 0.2, 0.3, 0.4]))
    return (key, keys, folded, r.split(folded, (2, 3)),
            r.normal(keys[0], (3, 2)), r.uniform(keys[1], (5,), minval=-1.0, maxval=2.0),
            r.bernoulli(keys[2], L.np.array([0.1, 0.5, 0.9]), (4, 3)),
            r.categorical(keys[3], logits, shape=(7,)), r.categorical(folded, L.np.stack([logits, -logits])),
            r.permutation(key, 6), r.permutation(folded, L.np.arange(8.0).reshape(4, 2)),
            L.vmap(lambda k: r.normal(k, (2,)))(keys), L.vmap(lambda k, i: r.uniform(r.fold_in(k, i)))(
                keys, L.np.arange(4)),
            L.jit(lambda k: r.bernoulli(k, 0.3, (5,)))(key))


def random_in_scan(L):  # keys threaded through a scan, the dropout pattern of a training loop
    def body(key, x):
        key, sub = L.random.split(key)
        keep = L.random.bernoulli(sub, 0.5, x.shape)
        return key, L.np.where(keep, 2 * x, 0.0) + L.random.normal(L.random.fold_in(sub, 1), x.shape)

    return L.lax.scan(body, L.random.PRNGKey(0), L.np.asarray(X))


PROGRAMS = {
    "equinox: MLP trained with filter_jit and filter_value_and_grad": eqx_mlp_training,
    "equinox: CNN by conv_general_dilated, vmapped over images": eqx_cnn_grad,
    "equinox: tree_at surgery, partition and combine": eqx_tree_surgery,
    "equinox: ensemble by vmap over stacked models, in_axes a pytree prefix": eqx_ensemble,
    "flax: init/apply, batch_stats, dropout keys, train state": flax_training,
    "flax: RNN cell in lax.scan": flax_rnn,
    "flax: conv autoencoder with max_pool, avg_pool and ConvTranspose": flax_conv_autoencoder,
    "haiku: transform with a parameter dict, jit(grad), ravel_pytree": haiku_mlp,
    "optax: clip, adam, masked weight decay, warmup cosine schedule": optax_adamw_warmup_cosine,
    "optax: multi_transform": optax_multi_transform,
    "optax: gradient accumulation in scan": optax_gradient_accumulation,
    "random: same keys, same numbers": random_draws,
    "random: keys threaded through scan": random_in_scan,
}


@pytest.mark.parametrize("name", PROGRAMS)
def test_module_program_gives_jax_results(name):
    assert_jax_results(PROGRAMS[name](CR), jax_compiled(PROGRAMS[name]))

"""JAX on the CPU, every function compiled with ``jax.jit`` (compiled before timing)."""

from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)  # W1, W2 and W5 are float64

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from bench import problems as P  # noqa: E402
from bench.cases import Case  # noqa: E402


def build(workload: str, spec: dict, variant: str | None = None) -> list[Case]:
    return BUILDERS[workload](spec, variant)


def ready(out):
    return jax.block_until_ready(out)


def chain(workload):
    def cases(spec, variant):
        x0 = jnp.asarray(P.chain_input(workload, spec))
        ops = P.chain_ops(spec["ops"])

        def f(x):
            h = x
            for op in ops:
                if op == "sin":
                    h = jnp.sin(h)
                elif op == "tanh":
                    h = jnp.tanh(h)
                elif op == "exp":
                    h = jnp.exp(h)
                elif op == "mul":
                    h = h * 0.5
                else:
                    h = h + x
            return jnp.sum(h)

        grad = jax.jit(jax.grad(f))

        def step():
            return ready(grad(x0))

        return [Case("jax (jit)", step, lambda: [np.asarray(step())], ops=spec["ops"])]

    return cases


def mlp(workload):
    def cases(spec, variant):
        params, x, _, onehot = P.mlp_problem(workload, spec)
        lr, batch, n_layers = spec["lr"], x.shape[0], len(params) // 2
        activation = jnp.tanh if spec["act"] == "tanh" else jax.nn.relu

        def loss(params, x, onehot):
            h = x
            for i in range(n_layers):
                h = h @ params[2 * i] + params[2 * i + 1]
                if i < n_layers - 1:
                    h = activation(h)
            return -jnp.sum(onehot * jax.nn.log_softmax(h, axis=1)) / batch

        grad = jax.jit(jax.grad(loss))

        @jax.jit
        def train_step(params, x, onehot):
            g = jax.grad(loss)(params, x, onehot)
            return [p - lr * gi for p, gi in zip(params, g, strict=True)]

        state = {"params": [jnp.asarray(p) for p in params]}
        x, onehot = jnp.asarray(x), jnp.asarray(onehot)

        def grads():
            return [np.asarray(g) for g in grad(state["params"], x, onehot)]

        def step():
            state["params"] = ready(train_step(state["params"], x, onehot))

        return [Case("jax (jit)", step, grads)]

    return cases


def rosenbrock(x):
    a, b = x[:-1], x[1:]
    return jnp.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2)


def hvp(spec, variant):
    x, v = (jnp.asarray(a) for a in P.rosenbrock_problem(spec))
    product = jax.jit(lambda x, v: jax.jvp(jax.grad(rosenbrock), (x,), (v,))[1])

    def step():
        return ready(product(x, v))

    return [Case("jax (jit, jvp of grad)", step, lambda: [np.asarray(step())])]


def deep(spec, variant):
    w0, h0 = P.deep_problem(spec)
    w, h0 = jnp.asarray(w0), jnp.asarray(h0)
    layers, segment = spec["layers"], spec["segment"]

    def block(w, h, n):
        for _ in range(n):
            h = jnp.tanh(h @ w)
        return h

    if variant == "checkpoint":
        seg = jax.checkpoint(lambda w, h: block(w, h, segment))

        def loss(w, h):
            for _ in range(layers // segment):
                h = seg(w, h)
            return jnp.sum(h)
        name = f"jax (jit, checkpoint every {segment})"
    else:
        def loss(w, h):
            return jnp.sum(block(w, h, layers))
        name = "jax (jit)"
    # Compiled ahead of time, so the first (measured) call does not include compilation.
    grad = jax.jit(jax.grad(loss)).lower(w, h0).compile()
    return [Case(name, lambda: ready(grad(w, h0)), convert=lambda g: [np.asarray(g)])]


BUILDERS = {
    "W1": chain("W1"),
    "W2": chain("W2"),
    "W3": mlp("W3"),
    "W4": mlp("W4"),
    "W5": hvp,
    "W6": deep,
}

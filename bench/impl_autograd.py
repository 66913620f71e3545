"""HIPS autograd (the API chainrule is a drop-in replacement for)."""

from __future__ import annotations

import autograd
import autograd.numpy as anp

from bench import problems as P
from bench.cases import Case


def build(workload: str, spec: dict, variant: str | None = None) -> list[Case]:
    return BUILDERS[workload](spec, variant)


def chain(workload):
    def cases(spec, variant):
        x0 = P.chain_input(workload, spec)
        ops = P.chain_ops(spec["ops"])

        def f(x):
            h = x
            for op in ops:
                if op == "sin":
                    h = anp.sin(h)
                elif op == "tanh":
                    h = anp.tanh(h)
                elif op == "exp":
                    h = anp.exp(h)
                elif op == "mul":
                    h = h * 0.5
                else:
                    h = h + x
            return anp.sum(h)

        grad = autograd.grad(f)

        def step():
            return grad(x0)

        return [Case("autograd", step, lambda: [step()], ops=spec["ops"])]

    return cases


def mlp(workload):
    def cases(spec, variant):
        params, x, _, onehot = P.mlp_problem(workload, spec)
        lr, batch, n_layers = spec["lr"], x.shape[0], len(params) // 2
        activation = anp.tanh if spec["act"] == "tanh" else (lambda z: anp.maximum(z, 0.0))

        def loss(params, x, onehot):
            h = x
            for i in range(n_layers):
                h = anp.dot(h, params[2 * i]) + params[2 * i + 1]
                if i < n_layers - 1:
                    h = activation(h)
            s = h - anp.max(h, axis=1, keepdims=True)
            logp = s - anp.log(anp.sum(anp.exp(s), axis=1, keepdims=True))
            return -anp.sum(onehot * logp) / batch

        value_and_grad = autograd.value_and_grad(loss)

        def grads():
            return value_and_grad(params, x, onehot)[1]

        def step():
            for p, g in zip(params, grads(), strict=True):
                p -= lr * g

        return [Case("autograd", step, grads)]

    return cases


def rosenbrock(x):
    a, b = x[:-1], x[1:]
    return anp.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2)


def hvp(spec, variant):
    x, v = P.rosenbrock_problem(spec)
    product = autograd.hessian_tensor_product(rosenbrock)

    def step():
        return product(x, v)

    return [Case("autograd (hessian_tensor_product)", step, lambda: [step()])]


def deep(spec, variant):
    w, h0 = P.deep_problem(spec)
    layers, segment = spec["layers"], spec["segment"]

    def block(w, h, n):
        for _ in range(n):
            h = anp.tanh(anp.dot(h, w))
        return h

    if variant == "checkpoint":
        seg = autograd.checkpoint(lambda w, h: block(w, h, segment))

        def loss(w):
            h = h0
            for _ in range(layers // segment):
                h = seg(w, h)
            return anp.sum(h)
        name = f"autograd (checkpoint every {segment})"
    else:
        def loss(w):
            return anp.sum(block(w, h0, layers))
        name = "autograd"
    grad = autograd.grad(loss)
    return [Case(name, lambda: grad(w), convert=lambda g: [g])]


BUILDERS = {
    "W1": chain("W1"),
    "W2": chain("W2"),
    "W3": mlp("W3"),
    "W4": mlp("W4"),
    "W5": hvp,
    "W6": deep,
}

"""Plain NumPy with hand-written derivatives: the floor a NumPy-based library can reach."""

from __future__ import annotations

import numpy as np

from bench import problems as P
from bench.cases import Case


def build(workload: str, spec: dict, variant: str | None = None) -> list[Case]:
    return BUILDERS[workload](spec, variant)


def chain(workload):
    def cases(spec, variant):
        x = P.chain_input(workload, spec)
        ops = P.chain_ops(spec["ops"])

        def step():
            return P.chain_value_and_grad(x, ops)[1]

        return [Case("numpy (hand-written)", step, lambda: [step()], ops=spec["ops"])]

    return cases


def mlp(workload):
    def cases(spec, variant):
        params, x, _, onehot = P.mlp_problem(workload, spec)
        act, lr = spec["act"], spec["lr"]

        def grads():
            return P.mlp_loss_and_grads(params, x, onehot, act)[1]

        def step():
            for p, g in zip(params, grads(), strict=True):
                p -= lr * g

        return [
            Case("numpy (hand-written)", step, grads),
            Case("numpy GEMM floor", gemm_floor(workload, spec), checked=False),
        ]

    return cases


def gemm_floor(workload, spec):
    """Only the matrix products of a training step: 3 forward, 5 backward, into
    preallocated outputs."""
    params, x, _, _ = P.mlp_problem(workload, spec)
    w1, w2, w3 = params[0], params[2], params[4]
    batch = x.shape[0]
    dtype = x.dtype
    h1 = np.empty((batch, w1.shape[1]), dtype)
    h2 = np.empty((batch, w2.shape[1]), dtype)
    z3 = np.empty((batch, w3.shape[1]), dtype)
    g1, g2 = np.empty_like(h1), np.empty_like(h2)
    gw1, gw2, gw3 = np.empty_like(w1), np.empty_like(w2), np.empty_like(w3)
    matmul = np.matmul

    def step():
        matmul(x, w1, out=h1)
        matmul(h1, w2, out=h2)
        matmul(h2, w3, out=z3)
        matmul(h2.T, z3, out=gw3)
        matmul(z3, w3.T, out=g2)
        matmul(h1.T, g2, out=gw2)
        matmul(g2, w2.T, out=g1)
        matmul(x.T, g1, out=gw1)

    return step


def hvp(spec, variant):
    x, v = P.rosenbrock_problem(spec)

    def step():
        return P.rosenbrock_hvp(x, v)

    return [Case("numpy (hand-written)", step, lambda: [step()])]


def deep(spec, variant):
    if variant == "checkpoint":
        return []
    if variant == "distinct":
        ws, h0 = P.deep_distinct_problem(spec)
        return [Case("numpy (hand-written, distinct weights)",
                     lambda: P.deep_distinct_value_and_grad(ws, h0)[1], convert=list)]
    w, h0 = P.deep_problem(spec)

    def step():
        return P.deep_value_and_grad(w, h0, spec["layers"])[1]

    return [Case("numpy (hand-written)", step, convert=lambda g: [g])]


BUILDERS = {
    "W1": chain("W1"),
    "W2": chain("W2"),
    "W3": mlp("W3"),
    "W4": mlp("W4"),
    "W5": hvp,
    "W6": deep,
}

"""The workloads: their sizes, their fixed inputs, and float64 reference gradients.

Every library builds its version of a workload from the NumPy arrays made here (same
seed, same values), and every gradient it computes is compared with the float64
reference below before it is timed. The references are hand-written NumPy derivatives,
independent of every library under test (tests/test_bench.py checks them against
central finite differences).
"""

from __future__ import annotations

import numpy as np

WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6")

TITLES = {
    "W1": "overhead: 200 chained elementwise ops on a 16-vector, gradient",
    "W2": "scalar graph: 1000 chained ops on a 0-d value, gradient",
    "W3": "small MLP 64-128-128-10 tanh, batch 64, float32: one SGD step",
    "W4": "large MLP 784-1024-1024-10 ReLU, batch 256, float32: one SGD step",
    "W5": "Hessian-vector product of Rosenbrock, 10,000 dims, float64",
    "W6": "100 layers h = tanh(h W), width 512, batch 256, float32: one gradient",
}

FULL_SIZES = {
    "W1": {"n": 16, "ops": 200},
    "W2": {"ops": 1000},
    "W3": {"sizes": (64, 128, 128, 10), "batch": 64, "act": "tanh", "lr": 0.01},
    "W4": {"sizes": (784, 1024, 1024, 10), "batch": 256, "act": "relu", "lr": 0.01},
    "W5": {"n": 10_000},
    "W6": {"layers": 100, "width": 512, "batch": 256, "segment": 10},
}

# Quick mode keeps every size but W6's (whose full run takes seconds per library).
QUICK_SIZES = {**FULL_SIZES, "W6": {"layers": 40, "width": 256, "batch": 128, "segment": 10}}


# Workloads whose peak memory is measured (on the first call, in a fresh process).
MEMORY_WORKLOADS = ("W6",)


def sizes(workload: str, quick: bool) -> dict:
    return (QUICK_SIZES if quick else FULL_SIZES)[workload]


def title(workload: str, quick: bool) -> str:
    if quick and QUICK_SIZES[workload] != FULL_SIZES[workload]:
        q = QUICK_SIZES[workload]
        return (f"{TITLES[workload]} (quick mode: {q['layers']} layers, width {q['width']}, "
                f"batch {q['batch']})")
    return TITLES[workload]


def warmup_sizes(spec: dict) -> dict:
    """A small problem that runs the same code as ``spec`` (W6: two segments, batch 8)."""
    return {**spec, "layers": 2 * spec["segment"], "batch": 8}


def rng(workload: str) -> np.random.Generator:
    return np.random.default_rng(int(workload[1:]))


# ---------------------------------------------------------------- W1, W2: op chains
#
# The chain cycles through five cheap ops: sin, tanh, exp, multiply by 0.5, add the
# input. Values stay in (-1, 2), so exp never overflows however long the chain.

CHAIN = ("sin", "tanh", "exp", "mul", "add")


def chain_ops(n_ops: int) -> list[str]:
    return [CHAIN[i % len(CHAIN)] for i in range(n_ops)]


def chain_input(workload: str, spec: dict) -> np.ndarray:
    r = rng(workload)
    if workload == "W2":
        return np.array(r.uniform(-0.5, 0.5))
    return r.uniform(-0.5, 0.5, spec["n"])


def chain_value_and_grad(x: np.ndarray, ops: list[str]):
    """Forward and backward of the chain by hand (the NumPy floor of W1 and W2)."""
    saved = []
    h = x
    for op in ops:
        if op == "sin":
            saved.append(h)
            h = np.sin(h)
        elif op == "tanh":
            h = np.tanh(h)
            saved.append(h)
        elif op == "exp":
            h = np.exp(h)
            saved.append(h)
        elif op == "mul":
            saved.append(None)
            h = h * 0.5
        else:
            saved.append(None)
            h = h + x
    value = np.sum(h)
    g = np.ones_like(h)
    gx = np.zeros_like(x)
    for op, s in zip(reversed(ops), reversed(saved), strict=True):
        if op == "sin":
            g = g * np.cos(s)
        elif op == "tanh":
            g = g * (1.0 - s * s)
        elif op == "exp":
            g = g * s
        elif op == "mul":
            g = g * 0.5
        else:
            gx = gx + g
    return value, gx + g


def chain_value(x, ops):
    return chain_value_and_grad(x, ops)[0]


# ---------------------------------------------------------------- W3, W4: MLPs


def mlp_problem(workload: str, spec: dict, dtype=np.float32):
    """``params`` ([W1, b1, W2, b2, W3, b3], W of shape (in, out)), inputs ``x``, integer
    labels ``y`` and their one-hot matrix."""
    r = rng(workload)
    sizes_ = spec["sizes"]
    params = []
    for n_in, n_out in zip(sizes_[:-1], sizes_[1:], strict=True):
        params.append((r.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(dtype))
        params.append((0.01 * r.standard_normal(n_out)).astype(dtype))
    x = r.standard_normal((spec["batch"], sizes_[0])).astype(dtype)
    y = r.integers(0, sizes_[-1], spec["batch"])
    onehot = np.eye(sizes_[-1], dtype=dtype)[y]
    return params, x, y, onehot


def mlp_loss_and_grads(params, x, onehot, act: str):
    """Mean softmax cross-entropy of the MLP and its gradients, by hand (manual backprop):
    3 GEMMs forward, 5 backward."""
    hs = [x]
    h = x
    n_layers = len(params) // 2
    for i in range(n_layers):
        z = h @ params[2 * i] + params[2 * i + 1]
        if i < n_layers - 1:
            h = np.tanh(z) if act == "tanh" else np.maximum(z, 0)
            hs.append(h)
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    batch = x.shape[0]
    loss = -np.sum(onehot * (shifted - np.log(s))) / batch
    dz = (e / s - onehot) / batch
    grads = [None] * len(params)
    for i in reversed(range(n_layers)):
        grads[2 * i] = hs[i].T @ dz
        grads[2 * i + 1] = dz.sum(axis=0)
        if i > 0:
            dh = dz @ params[2 * i].T
            dz = dh * (1 - hs[i] * hs[i]) if act == "tanh" else dh * (hs[i] > 0)
    return loss, grads


# ---------------------------------------------------------------- W5: Rosenbrock HVP


def rosenbrock_problem(spec: dict):
    r = rng("W5")
    return r.uniform(-1.0, 1.0, spec["n"]), r.standard_normal(spec["n"])


def rosenbrock(x):
    a, b = x[:-1], x[1:]
    return np.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2)


def rosenbrock_hvp(x, v):
    """The Hessian of Rosenbrock's function times ``v``, written out by hand."""
    a, b = x[:-1], x[1:]
    va, vb = v[:-1], v[1:]
    r = b - a * a
    hv = np.zeros_like(x)
    hv[:-1] = (2.0 - 400.0 * r + 800.0 * a * a) * va - 400.0 * a * vb
    hv[1:] += 200.0 * (vb - 2.0 * a * va)
    return hv


# ---------------------------------------------------------------- W6: a deep tanh net
#
# One weight matrix W is shared by all layers (a weight-tied deep network, an unrolled
# recurrent net): the stored activations, not the parameter gradients, are then what
# takes the memory, which is what checkpointing is about.


def deep_problem(spec: dict, dtype=np.float32):
    r = rng("W6")
    width = spec["width"]
    w = (r.standard_normal((width, width)) / np.sqrt(width)).astype(dtype)
    h0 = r.standard_normal((spec["batch"], width)).astype(dtype)
    return w, h0


# W6's "distinct" variant: the same network with a weight matrix of its own per layer (an
# ordinary deep network), so that the backward pass also makes 100 parameter gradients.


def deep_distinct_problem(spec: dict, dtype=np.float32):
    """``ws`` (one (width, width) matrix per layer) and the input ``h0``."""
    w, h0 = deep_problem(spec, dtype)  # the first layer's weight and the input as in W6
    r = np.random.default_rng(60)  # a stream of its own for the other layers
    width = spec["width"]
    ws = [w] + [(r.standard_normal((width, width)) / np.sqrt(width)).astype(dtype)
                for _ in range(spec["layers"] - 1)]
    return ws, h0


def deep_distinct_value_and_grad(ws, h0):
    """``sum(h_L)`` with ``h_{l+1} = tanh(h_l W_l)``, and its gradients in every W_l."""
    hs = [h0]
    h = h0
    for w in ws:
        h = np.tanh(h @ w)
        hs.append(h)
    g = np.ones_like(h)
    grads = [None] * len(ws)
    for i in range(len(ws), 0, -1):
        dz = g * (1 - hs[i] * hs[i])
        grads[i - 1] = hs[i - 1].T @ dz
        g = dz @ ws[i - 1].T
    return np.sum(h), grads


def deep_value_and_grad(w, h0, layers: int):
    """``sum(h_L)`` with ``h_{l+1} = tanh(h_l W)``, and its gradient in W, by hand."""
    hs = [h0]
    h = h0
    for _ in range(layers):
        h = np.tanh(h @ w)
        hs.append(h)
    g = np.ones_like(h)
    gw = np.zeros_like(w)
    for i in range(layers, 0, -1):
        dz = g * (1 - hs[i] * hs[i])
        gw += hs[i - 1].T @ dz
        g = dz @ w.T
    return np.sum(h), gw


# ---------------------------------------------------------------- references


def reference(workload: str, spec: dict, variant: str | None = None) -> list[np.ndarray]:
    """The float64 gradient (for W5, the Hessian-vector product) every library must give."""
    if workload == "W6" and variant and variant.startswith("distinct"):
        ws, h0 = deep_distinct_problem(spec)
        return deep_distinct_value_and_grad([w.astype(np.float64) for w in ws],
                                             h0.astype(np.float64))[1]
    if workload in ("W1", "W2"):
        x = chain_input(workload, spec)
        return [chain_value_and_grad(x, chain_ops(spec["ops"]))[1]]
    if workload in ("W3", "W4"):
        params, x, _, onehot = mlp_problem(workload, spec)
        as64 = [p.astype(np.float64) for p in params]
        return mlp_loss_and_grads(as64, x.astype(np.float64), onehot.astype(np.float64),
                                  spec["act"])[1]
    if workload == "W5":
        return [rosenbrock_hvp(*rosenbrock_problem(spec))]
    if workload == "W6":
        w, h0 = deep_problem(spec)
        return [deep_value_and_grad(w.astype(np.float64), h0.astype(np.float64),
                                    spec["layers"])[1]]
    raise ValueError(f"unknown workload {workload!r}")


def relative_error(got, want) -> float:
    """The largest, over arrays, of ‖got − want‖ / ‖want‖ (an absolute error if want = 0)."""
    if len(got) != len(want):
        return float("inf")
    worst = 0.0
    for g, w in zip(got, want, strict=True):
        g = np.asarray(g, dtype=np.float64)
        if g.shape != w.shape:
            return float("inf")
        scale = np.linalg.norm(w)
        err = np.linalg.norm(g - w) / (scale if scale > 0 else 1.0)
        worst = max(worst, float(err) if np.isfinite(err) else float("inf"))
    return worst


# float32 workloads are compared with a float64 reference, hence the looser tolerance.
TOLERANCE = {"W1": 1e-9, "W2": 1e-9, "W3": 1e-4, "W4": 1e-4, "W5": 1e-9, "W6": 1e-4}

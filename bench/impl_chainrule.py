"""chainrule: the functional transforms, and the eager layer where it applies."""

from __future__ import annotations

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp
from bench import problems as P
from bench import spellings
from bench.cases import Case

# How the "jit fuse" rows fuse: "wait" compiles the fused loops at the first call, so that
# every timed call replays them; bench.first_call also times fuse=True, whose first calls
# replay unfused while the loops compile in the background.
FUSE: bool | str = "wait"


def build(workload: str, spec: dict, variant: str | None = None) -> list[Case]:
    return BUILDERS[workload](spec, variant)


def as_numpy(t) -> np.ndarray:
    return np.asarray(cr.stop_gradient(t))


def run_chain(x, ops):
    """The W1/W2 chain on a value of any trace (functional or eager)."""
    h = x
    for op in ops:
        if op == "sin":
            h = cnp.sin(h)
        elif op == "tanh":
            h = cnp.tanh(h)
        elif op == "exp":
            h = cnp.exp(h)
        elif op == "mul":
            h = h * 0.5
        else:
            h = h + x
    return cnp.sum(h)


def chain(workload):
    def cases(spec, variant):
        x0 = P.chain_input(workload, spec)
        ops = P.chain_ops(spec["ops"])
        grad = cr.grad(lambda x: run_chain(x, ops))

        def step():
            return grad(x0)

        xt = cr.tensor(x0, requires_grad=True)

        def eager_step():
            xt.grad = None
            run_chain(xt, ops).backward()
            return xt.grad

        jitted = cr.jit(grad)
        fused = cr.jit(grad, fuse=FUSE)

        def jit_step():
            return jitted(x0)

        def fused_step():
            return fused(x0)

        return [
            Case("chainrule", step, lambda: [step()], ops=spec["ops"]),
            Case("chainrule (jit)", jit_step, lambda: [jit_step()], ops=spec["ops"]),
            Case("chainrule (jit fuse)", fused_step, lambda: [fused_step()], ops=spec["ops"]),
            Case("chainrule (eager)", eager_step, lambda: [as_numpy(eager_step())],
                 ops=spec["ops"]),
        ]

    return cases


def mlp(workload):
    def cases(spec, variant):
        params, x, _, onehot = P.mlp_problem(workload, spec)
        n_layers, batch = len(params) // 2, x.shape[0]
        loss = spellings.mlp_loss(spellings.DEFAULT, spec["act"], n_layers, batch)
        out = mlp_rows(loss, params, x, onehot, spec["lr"], fused=True)
        out.append(eager_mlp(workload, spec))
        for label, spelling in spellings.variants(spec["act"]):
            loss = spellings.mlp_loss(spelling, spec["act"], n_layers, batch)
            out += mlp_rows(loss, params, x, onehot, spec["lr"], f" [{label}]")
        return out

    return cases


def mlp_rows(loss, params, x, onehot, lr, label="", fused=False):
    """The functional and the replayed (cr.jit) training step of ``loss``; with ``fused``
    also the replay with fused elementwise loops (``fuse=True``)."""
    params = [p.copy() for p in params]  # the functional row updates its params in place
    value_and_grad = cr.value_and_grad(loss)

    def grads_at(params, x, onehot):
        return value_and_grad(params, x, onehot)[1]

    def grads():
        return grads_at(params, x, onehot)

    def step():
        for p, g in zip(params, grads(), strict=True):
            p -= lr * g

    def sgd_step(params, x, onehot):
        g = value_and_grad(params, x, onehot)[1]
        return [p - lr * gi for p, gi in zip(params, g, strict=True)]

    start = [p.copy() for p in params]

    def replayed(fuse):
        # The old parameters are donated: the new ones are written into their memory, as
        # the hand-written row's `p -= lr * g` does.
        train_step = cr.jit(sgd_step, donate_argnums=0, fuse=fuse and FUSE)
        jit_grads = cr.jit(grads_at, fuse=fuse and FUSE)
        state = [[p.copy() for p in start]]

        def jit_step():
            state[0] = train_step(state[0], x, onehot)

        return jit_step, lambda: list(jit_grads(start, x, onehot))

    rows = [Case(f"chainrule{label}", step, grads),
            Case(f"chainrule (jit){label}", *replayed(False))]
    if fused:
        rows.append(Case(f"chainrule (jit fuse){label}", *replayed(True)))
    return rows


def eager_mlp(workload, spec):
    """The same step with chainrule.nn and chainrule.optim (PyTorch-style)."""
    from chainrule import nn, optim

    params, x, y, _ = P.mlp_problem(workload, spec)
    sizes_ = spec["sizes"]
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes_[:-1], sizes_[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes_) - 2:
            layers.append(nn.Tanh() if spec["act"] == "tanh" else nn.ReLU())
    model = nn.Sequential(*layers)
    linears = [m for m in layers if isinstance(m, nn.Linear)]
    transposed = []
    for lin, w, b in zip(linears, params[0::2], params[1::2], strict=True):
        # chainrule.nn stores the weight as PyTorch does, (out, in): the transpose of ours.
        flip = tuple(lin.weight.shape) == w.shape[::-1]
        transposed.append(flip)
        lin.weight = nn.Parameter(np.ascontiguousarray(w.T if flip else w))
        lin.bias = nn.Parameter(b.copy())
    xt = cr.tensor(x)
    yt = cr.tensor(y)
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=spec["lr"])

    def grads():
        opt.zero_grad()
        loss_fn(model(xt), yt).backward()
        out = []
        for lin, flip in zip(linears, transposed, strict=True):
            g = as_numpy(lin.weight.grad)
            out += [g.T if flip else g, as_numpy(lin.bias.grad)]
        return out

    def step():
        opt.zero_grad()
        loss_fn(model(xt), yt).backward()
        opt.step()

    return Case("chainrule (nn+optim)", step, grads)


def rosenbrock(x):
    a, b = x[:-1], x[1:]
    return cnp.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2)


def hvp(spec, variant):
    x, v = P.rosenbrock_problem(spec)
    def step():
        return cr.hvp(rosenbrock, (x,), (v,))

    jitted = cr.jit(lambda x, v: cr.hvp(rosenbrock, (x,), (v,)))
    fused = cr.jit(lambda x, v: cr.hvp(rosenbrock, (x,), (v,)), fuse=FUSE)

    def jit_step():
        return jitted(x, v)

    def fused_step():
        return fused(x, v)

    return [Case("chainrule (hvp)", step, lambda: [step()]),
            Case("chainrule (hvp, jit)", jit_step, lambda: [jit_step()]),
            Case("chainrule (hvp, jit fuse)", fused_step, lambda: [fused_step()])]


def deep(spec, variant):
    if variant == "distinct":
        return deep_distinct(spec)
    w, h0 = P.deep_problem(spec)
    layers, segment = spec["layers"], spec["segment"]

    def block(w, h, n):
        for _ in range(n):
            h = cnp.tanh(h @ w)
        return h

    if variant.startswith("checkpoint"):
        seg = cr.checkpoint(lambda w, h: block(w, h, segment))

        def loss(w):
            h = h0
            for _ in range(layers // segment):
                h = seg(w, h)
            return cnp.sum(h)
        name = f"chainrule (checkpoint every {segment})"
    else:
        def loss(w):
            return cnp.sum(block(w, h0, layers))
        name = "chainrule"
    grad = cr.grad(loss)
    if variant.endswith(("+jit", "+jit+fuse")):
        fuse = variant.endswith("+fuse")
        jitted = cr.jit(grad, fuse=fuse and FUSE)
        jitted(w)  # traced here, so that the measured call is a replay (as JAX compiles first)
        kind = "jit fuse" if fuse else "jit"
        name = f"chainrule ({kind}" + (f", checkpoint every {segment})" if "(" in name else ")")
        return [Case(name, lambda: jitted(w), convert=lambda g: [g])]
    return [Case(name, lambda: grad(w), convert=lambda g: [g])]


def deep_distinct(spec):
    """W6 with a weight matrix per layer, written as a NumPy user writes it."""
    ws, h0 = P.deep_distinct_problem(spec)

    def loss(ws):
        h = h0
        for w in ws:
            h = np.tanh(np.dot(h, w))
        return np.sum(h)

    grad = cr.grad(loss)
    return [Case("chainrule (distinct weights)", lambda: grad(ws), convert=list)]


BUILDERS = {
    "W1": chain("W1"),
    "W2": chain("W2"),
    "W3": mlp("W3"),
    "W4": mlp("W4"),
    "W5": hvp,
    "W6": deep,
}

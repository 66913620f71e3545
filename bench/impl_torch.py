"""PyTorch, eager (the way it is usually written: nn + optim for training steps)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from bench import problems as P
from bench.cases import Case


def build(workload: str, spec: dict, variant: str | None = None) -> list[Case]:
    return BUILDERS[workload](spec, variant)


def as_numpy(t) -> np.ndarray:
    return t.detach().numpy()


def chain(workload):
    def cases(spec, variant):
        x = torch.tensor(P.chain_input(workload, spec), requires_grad=True)
        ops = P.chain_ops(spec["ops"])

        def step():
            x.grad = None
            h = x
            for op in ops:
                if op == "sin":
                    h = torch.sin(h)
                elif op == "tanh":
                    h = torch.tanh(h)
                elif op == "exp":
                    h = torch.exp(h)
                elif op == "mul":
                    h = h * 0.5
                else:
                    h = h + x
            h.sum().backward()
            return x.grad

        return [Case("torch", step, lambda: [as_numpy(step())], ops=spec["ops"])]

    return cases


def mlp(workload):
    def cases(spec, variant):
        params, x, y, _ = P.mlp_problem(workload, spec)
        sizes_ = spec["sizes"]
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes_[:-1], sizes_[1:], strict=True)):
            layers.append(torch.nn.Linear(n_in, n_out))
            if i < len(sizes_) - 2:
                layers.append(torch.nn.Tanh() if spec["act"] == "tanh" else torch.nn.ReLU())
        model = torch.nn.Sequential(*layers)
        linears = [m for m in layers if isinstance(m, torch.nn.Linear)]
        with torch.no_grad():
            for lin, w, b in zip(linears, params[0::2], params[1::2], strict=True):
                lin.weight.copy_(torch.from_numpy(w.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        opt = torch.optim.SGD(model.parameters(), lr=spec["lr"])

        def backward():
            opt.zero_grad()
            F.cross_entropy(model(xt), yt).backward()

        def grads():
            backward()
            out = []
            for lin in linears:
                out += [as_numpy(lin.weight.grad).T, as_numpy(lin.bias.grad)]
            return out

        def step():
            backward()
            opt.step()

        return [Case("torch", step, grads)]

    return cases


def rosenbrock(x):
    a, b = x[:-1], x[1:]
    return torch.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2)


def hvp(spec, variant):
    x0, v0 = P.rosenbrock_problem(spec)
    x, v = torch.from_numpy(x0), torch.from_numpy(v0)
    xr = x.clone().requires_grad_(True)

    def double_backward():
        (g,) = torch.autograd.grad(rosenbrock(xr), xr, create_graph=True)
        (hv,) = torch.autograd.grad(g, xr, v)
        return hv

    def forward_over_reverse():
        return torch.func.jvp(torch.func.grad(rosenbrock), (x,), (v,))[1]

    return [
        Case("torch (double backward)", double_backward,
             lambda: [as_numpy(double_backward())]),
        Case("torch.func (jvp of grad)", forward_over_reverse,
             lambda: [as_numpy(forward_over_reverse())]),
    ]


def deep(spec, variant):
    if variant == "distinct":
        return deep_distinct(spec)
    w0, h0 = P.deep_problem(spec)
    w = torch.from_numpy(w0).requires_grad_(True)
    h0 = torch.from_numpy(h0)
    layers, segment = spec["layers"], spec["segment"]

    def block(h, n):
        for _ in range(n):
            h = torch.tanh(h @ w)
        return h

    if variant == "checkpoint":
        def forward():
            h = h0
            for _ in range(layers // segment):
                h = checkpoint(block, h, segment, use_reentrant=False)
            return h
        name = f"torch (checkpoint every {segment})"
    else:
        def forward():
            return block(h0, layers)
        name = "torch"

    def step():
        w.grad = None
        forward().sum().backward()
        return w.grad

    return [Case(name, step, convert=lambda g: [as_numpy(g)])]


def deep_distinct(spec):
    ws0, h0 = P.deep_distinct_problem(spec)
    ws = [torch.from_numpy(w).requires_grad_(True) for w in ws0]
    h0 = torch.from_numpy(h0)

    def step():
        for w in ws:
            w.grad = None
        h = h0
        for w in ws:
            h = torch.tanh(h @ w)
        h.sum().backward()
        return [w.grad for w in ws]

    return [Case("torch (distinct weights)", step, convert=lambda g: [as_numpy(x) for x in g])]


BUILDERS = {
    "W1": chain("W1"),
    "W2": chain("W2"),
    "W3": mlp("W3"),
    "W4": mlp("W4"),
    "W5": hvp,
    "W6": deep,
}

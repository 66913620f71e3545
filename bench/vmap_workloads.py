"""W7 and W8: vectorised maps against torch.func, JAX and a Python loop.

``python -m bench.vmap_workloads --interleaved`` instead runs every library's cases in one
process, round after round, and reports CPU time per call (``time.process_time``): on a
shared, loaded machine that is the steadier measure of the ratios.

``python -m bench.vmap_workloads [--quick]`` runs both in one process per library, one
thread each, checks every result against a float64 reference first, and prints a
Markdown table of median times and ratios (BENCHMARKS.md has the numbers of a run).

* W7: per-example gradients of the W3 MLP (64-128-128-10, tanh, softmax cross-entropy),
  batch 64, float32: ``vmap(grad(loss), in_axes=(None, 0, 0))``; chainrule also with
  ``cr.jit`` around it and as a Python loop of ``grad`` over the examples.
* W8: the full Jacobian of ``x -> tanh(W2 tanh(W1 x + b1) + b2)``, 256 -> 256, float64,
  by ``jacrev`` and ``jacfwd``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBS = ("chainrule", "torch", "jax")


def problems():
    import numpy as np

    from bench import problems as P

    spec = {"sizes": (64, 128, 128, 10), "batch": 64}
    params, x, _, onehot = P.mlp_problem("W3", spec, dtype=np.float32)
    p64 = [p.astype(np.float64) for p in params]
    reference = [np.stack([g for g in grads]) for grads in zip(*[
        P.mlp_loss_and_grads(p64, x[i:i + 1].astype(np.float64), onehot[i:i + 1].astype(np.float64),
                             "tanh")[1] for i in range(spec["batch"])], strict=True)]
    r = np.random.default_rng(8)
    n = 256
    net = [r.standard_normal((n, n)) / np.sqrt(n), 0.1 * r.standard_normal(n),
           r.standard_normal((n, n)) / np.sqrt(n), 0.1 * r.standard_normal(n)]
    x8 = r.standard_normal(n)
    h = np.tanh(net[0] @ x8 + net[1])
    out = np.tanh(net[2] @ h + net[3])
    jac = (1 - out ** 2)[:, None] * (net[2] * (1 - h ** 2)[None, :]) @ net[0]
    return (params, x, onehot, reference), (net, x8, jac)


def median_time(fn, repeats: int, min_s: float) -> float:
    import statistics
    import time

    fn()
    fn()
    times = []
    for _ in range(repeats):
        number, start = 0, time.perf_counter()
        while True:
            fn()
            number += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_s:
                break
        times.append(elapsed / number)
    return statistics.median(times)


def check(name, got, want, rtol):
    import numpy as np

    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g, dtype=np.float64), w, rtol=rtol, atol=rtol,
                                   err_msg=name)


def cases_chainrule(w7, w8):
    import numpy as np

    import chainrule as cr
    import chainrule.numpy as cnp

    params, x, onehot, _ = w7

    def loss(ps, xi, yi):
        h = xi
        for k in range(0, 4, 2):
            h = cnp.tanh(h @ ps[k] + ps[k + 1])
        z = h @ ps[4] + ps[5]
        shifted = z - cnp.max(z)
        return -cnp.sum(yi * (shifted - cnp.log(cnp.sum(cnp.exp(shifted)))))

    per_example = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))
    jitted = cr.jit(per_example)
    one = cr.grad(loss)

    def loop():
        grads = [one(params, x[i], onehot[i]) for i in range(len(x))]
        return [np.stack(g) for g in zip(*grads, strict=True)]

    net, x8, _ = w8

    def f(v):
        return cnp.tanh(net[2] @ cnp.tanh(net[0] @ v + net[1]) + net[3])

    return {
        "W7": [("chainrule vmap(grad)", lambda: per_example(params, x, onehot)),
               ("chainrule jit(vmap(grad))", lambda: jitted(params, x, onehot)),
               ("chainrule Python loop of grad", loop)],
        "W8": [("chainrule jacrev", lambda: cr.jacrev(f)(x8)),
               ("chainrule jacfwd", lambda: cr.jacfwd(f)(x8))],
    }


def cases_torch(w7, w8):
    import torch
    from torch.func import grad, jacfwd, jacrev, vmap

    params, x, onehot, _ = w7
    tp = [torch.tensor(p) for p in params]
    tx, ty = torch.tensor(x), torch.tensor(onehot)

    def loss(ps, xi, yi):
        h = xi
        for k in range(0, 4, 2):
            h = torch.tanh(h @ ps[k] + ps[k + 1])
        z = h @ ps[4] + ps[5]
        return -(yi * torch.log_softmax(z, -1)).sum()

    per_example = vmap(grad(loss), in_dims=(None, 0, 0))
    net, x8, _ = w8
    tn = [torch.tensor(p) for p in net]
    tx8 = torch.tensor(x8)

    def f(v):
        return torch.tanh(tn[2] @ torch.tanh(tn[0] @ v + tn[1]) + tn[3])

    return {
        "W7": [("torch.func vmap(grad)", lambda: [g.numpy() for g in per_example(tp, tx, ty)])],
        "W8": [("torch.func jacrev", lambda: jacrev(f)(tx8).numpy()),
               ("torch.func jacfwd", lambda: jacfwd(f)(tx8).numpy())],
    }


def cases_jax(w7, w8):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    params, x, onehot, _ = w7
    jp = [jnp.asarray(p) for p in params]
    jx, jy = jnp.asarray(x), jnp.asarray(onehot)

    def loss(ps, xi, yi):
        h = xi
        for k in range(0, 4, 2):
            h = jnp.tanh(h @ ps[k] + ps[k + 1])
        z = h @ ps[4] + ps[5]
        return -(yi * jax.nn.log_softmax(z)).sum()

    per_example = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))
    net, x8, _ = w8
    jn = [jnp.asarray(p) for p in net]
    jx8 = jnp.asarray(x8)

    def f(v):
        return jnp.tanh(jn[2] @ jnp.tanh(jn[0] @ v + jn[1]) + jn[3])

    jr, jf = jax.jit(jax.jacrev(f)), jax.jit(jax.jacfwd(f))
    return {
        "W7": [("JAX jit(vmap(grad))",
                lambda: jax.block_until_ready(per_example(jp, jx, jy)))],
        "W8": [("JAX jit(jacrev)", lambda: jax.block_until_ready(jr(jx8))),
               ("JAX jit(jacfwd)", lambda: jax.block_until_ready(jf(jx8)))],
    }


def run_one(lib: str, quick: bool) -> list[dict]:
    w7, w8 = problems()
    builders = {"chainrule": cases_chainrule, "torch": cases_torch, "jax": cases_jax}
    rows = []
    for workload, cases in builders[lib](w7, w8).items():
        for name, fn in cases:
            if workload == "W7":
                check(name, fn(), w7[3], 1e-4)
            else:
                check(name, [fn()], [w8[2]], 1e-10)
            seconds = median_time(fn, 3 if quick else 7, 0.05 if quick else 0.2)
            rows.append({"workload": workload, "case": name, "ms": 1000 * seconds})
    return rows


def run_interleaved(rounds: int) -> list[dict]:
    """Every library's cases in this process, ``rounds`` times in turn (each case for at
    least 0.1 s of CPU time per round); the median CPU time per call of each case."""
    import statistics
    import time

    for var, value in child_env().items():
        if var.endswith("_THREADS") or var in ("JAX_PLATFORMS", "XLA_FLAGS"):
            os.environ[var] = value
    import torch

    torch.set_num_threads(1)
    w7, w8 = problems()
    cases = []
    for build in (cases_chainrule, cases_torch, cases_jax):
        for workload, items in build(w7, w8).items():
            for name, fn in items:
                if workload == "W7":
                    check(name, fn(), w7[3], 1e-4)
                else:
                    check(name, [fn()], [w8[2]], 1e-10)
                cases.append((workload, name, fn))
    times: dict = {name: [] for _, name, _ in cases}
    for _ in range(rounds):
        for _, name, fn in cases:
            number, start = 0, time.process_time()
            while (elapsed := time.process_time() - start) < 0.1 or number == 0:
                fn()
                number += 1
            times[name].append(elapsed / number)
    return [{"workload": w, "case": n, "ms": 1000 * statistics.median(times[n])} for w, n, _ in cases]


def child_env() -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[var] = "1"
    env["JAX_PLATFORMS"] = "cpu"
    env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return env


def table(rows: list[dict]) -> str:
    by = {(r["workload"], r["case"]): r["ms"] for r in rows}
    peers = {"W7": "torch.func vmap(grad)", "W8": None}
    lines = ["| workload | case | ms | × torch.func | × JAX |", "|---|---|---:|---:|---:|"]
    for r in rows:
        w = r["workload"]
        torch_ref = by.get((w, peers[w])) if w == "W7" else by.get(
            (w, "torch.func " + r["case"].split()[-1].replace("jit(", "").rstrip(")")))
        jax_ref = by.get((w, "JAX jit(vmap(grad))")) if w == "W7" else by.get(
            (w, "JAX jit(" + r["case"].split()[-1].replace("jit(", "").rstrip(")") + ")"))
        ratios = [f"{r['ms'] / ref:.2f}" if ref else "" for ref in (torch_ref, jax_ref)]
        lines.append(f"| {w} | {r['case']} | {r['ms']:.3f} | {ratios[0]} | {ratios[1]} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--interleaved", action="store_true",
                        help="all libraries in one process, CPU time, rounds in turn")
    parser.add_argument("--lib", choices=LIBS, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.lib:
        print(json.dumps(run_one(args.lib, args.quick)))
        return 0
    if args.interleaved:
        rows = sorted(run_interleaved(3 if args.quick else 7), key=lambda r: (r["workload"], r["case"]))
        print(table(rows))
        return 0
    rows = []
    for lib in LIBS:
        cmd = [sys.executable, "-m", "bench.vmap_workloads", "--lib", lib] + (
            ["--quick"] if args.quick else [])
        done = subprocess.run(cmd, env=child_env(), cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            print(f"{lib}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.extend(json.loads(done.stdout.strip().splitlines()[-1]))
    rows.sort(key=lambda r: (r["workload"], r["case"]))
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m bench.first_call``: what the first call of a compiled step costs.

For each workload, fresh processes time the first call of: chainrule's ``cr.jit`` row
(trace); its ``jit fuse`` row with ``fuse="wait"`` with an empty kernel cache (trace +
Numba compilation, Numba's import included), and again in a new process with the cache
that the previous one left (trace + loading the compiled kernels); the same row with
``fuse=True`` (the fused loops compile or load on a background thread, the first call
replays unfused), empty cache and from the cache; and JAX's ``jax.jit`` row (trace + XLA
compilation). Imports of the libraries themselves are not counted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

from bench import problems as P
from bench.cli import ROOT, child_env

ROWS = {
    "W1": ("chainrule (jit)", "chainrule (jit fuse)", "jax (jit)"),
    "W2": ("chainrule (jit)", "chainrule (jit fuse)", "jax (jit)"),
    "W3": ("chainrule (jit)", "chainrule (jit fuse)", "jax (jit)"),
    "W5": ("chainrule (hvp, jit)", "chainrule (hvp, jit fuse)", "jax (jit, jvp of grad)"),
}


def first_call(lib: str, workload: str, row: str, fuse: str = "wait") -> float:
    """Seconds of the first call of ``row`` (run in this process); ``fuse`` is the mode of
    chainrule's fused rows ("wait" or "background")."""
    module = __import__(f"bench.impl_{lib}", fromlist=["build"])
    if lib == "chainrule":
        module.FUSE = "wait" if fuse == "wait" else True
    (case,) = [c for c in module.build(workload, P.sizes(workload, False)) if c.name == row]
    start = time.perf_counter()
    case.step()
    return time.perf_counter() - start


def in_new_process(lib: str, workload: str, row: str, cache: str, fuse: str = "wait") -> float:
    env = child_env(2)
    env["CHAINRULE_FUSED_CACHE"] = cache
    out = subprocess.run([sys.executable, "-m", "bench.first_call", "--child", lib, workload, row,
                          fuse],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.first_call")
    parser.add_argument("--workloads", default="W1,W2,W3,W5")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", nargs=4, metavar=("LIB", "WORKLOAD", "ROW", "FUSE"))
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(first_call(*args.child)))
        return 0
    print("| workload | cr.jit (trace) | fuse=\"wait\", empty cache (trace + compile) "
          "| fuse=\"wait\", from the disk cache | fuse=True (background), empty cache "
          "| fuse=True, from the disk cache | JAX jit (trace + compile) |")
    print("|---|---|---|---|---|---|---|")
    for workload in args.workloads.split(","):
        plain, fused, jax = ROWS[workload]
        best: dict = {}
        for _ in range(args.rounds):  # rounds in turn; the best of each
            times = {}
            with tempfile.TemporaryDirectory() as cache:
                times["plain"] = in_new_process("chainrule", workload, plain, cache)
                times["cold"] = in_new_process("chainrule", workload, fused, cache)
                times["warm"] = in_new_process("chainrule", workload, fused, cache)
                times["jax"] = in_new_process("jax", workload, jax, cache)
            with tempfile.TemporaryDirectory() as cache:
                times["bg cold"] = in_new_process("chainrule", workload, fused, cache, "background")
                times["bg warm"] = in_new_process("chainrule", workload, fused, cache, "background")
            for k, v in times.items():
                best[k] = min(best.get(k, v), v)
        print(f"| {workload} | {best['plain']:.3f} s | {best['cold']:.3f} s | {best['warm']:.3f} s "
              f"| {best['bg cold']:.3f} s | {best['bg warm']:.3f} s | {best['jax']:.3f} s |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

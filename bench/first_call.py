"""``python -m bench.first_call``: what the first call of a compiled step costs.

For each workload, fresh processes time the first call of: chainrule's ``cr.jit`` row
(trace), its ``jit fuse`` row with an empty kernel cache (trace + Numba compilation,
Numba's import included), the same row again in a new process with the cache that the
previous one left (trace + loading the compiled kernels), and JAX's ``jax.jit`` row
(trace + XLA compilation). Imports of the libraries themselves are not counted.
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


def first_call(lib: str, workload: str, row: str) -> float:
    """Seconds of the first call of ``row`` (run in this process)."""
    module = __import__(f"bench.impl_{lib}", fromlist=["build"])
    (case,) = [c for c in module.build(workload, P.sizes(workload, False)) if c.name == row]
    start = time.perf_counter()
    case.step()
    return time.perf_counter() - start


def in_new_process(lib: str, workload: str, row: str, cache: str) -> float:
    env = child_env(2)
    env["CHAINRULE_FUSED_CACHE"] = cache
    out = subprocess.run([sys.executable, "-m", "bench.first_call", "--child", lib, workload, row],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.first_call")
    parser.add_argument("--workloads", default="W1,W2,W3,W5")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", nargs=3, metavar=("LIB", "WORKLOAD", "ROW"))
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(first_call(*args.child)))
        return 0
    print("| workload | cr.jit (trace) | jit fuse, empty cache (trace + compile) "
          "| jit fuse, from the disk cache | JAX jit (trace + compile) |")
    print("|---|---|---|---|---|")
    for workload in args.workloads.split(","):
        plain, fused, jax = ROWS[workload]
        best: dict = {}
        for _ in range(args.rounds):  # rounds in turn; the best of each
            with tempfile.TemporaryDirectory() as cache:
                times = {
                    "plain": in_new_process("chainrule", workload, plain, cache),
                    "cold": in_new_process("chainrule", workload, fused, cache),
                    "warm": in_new_process("chainrule", workload, fused, cache),
                    "jax": in_new_process("jax", workload, jax, cache),
                }
            for k, v in times.items():
                best[k] = min(best.get(k, v), v)
        print(f"| {workload} | {best['plain']:.3f} s | {best['cold']:.3f} s | {best['warm']:.3f} s "
              f"| {best['jax']:.3f} s |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Runs one library's workloads in a process of its own and writes the rows as JSON.

Started by :mod:`bench.cli` as ``python -m bench.child --lib NAME --workloads W1,W2 ...``
with the thread counts already in the environment. For each case: the gradient is
computed on the fixed inputs and compared with the float64 reference; only a case that
passes is timed (warm-up, then the median of the repeats).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.metadata
import json
import math
import platform
import resource
import statistics
import sys
import time
import traceback

from bench import problems as P
from bench.cases import Unavailable

TIMING = {
    # warm-up seconds, repeats, least seconds per repeat
    False: (0.3, 7, 0.2),
    True: (0.05, 5, 0.03),
}


def time_call(fn, warmup_s: float, repeats: int, min_repeat_s: float):
    """Median seconds per call: warm up, then ``repeats`` timings of ``number`` calls,
    ``number`` chosen so that one repeat lasts at least ``min_repeat_s``."""
    start = time.perf_counter()
    calls = 0
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= warmup_s:
            break
    number = max(1, math.ceil(min_repeat_s / (elapsed / calls)))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times), number, times


# ------------------------------------------------------------------ peak memory
#
# The same method for every library: the resident set's high-water mark is reset
# (Linux: /proc/self/clear_refs), the gradient is computed once, and the increase of
# ru_maxrss over the resident set before the call is its peak memory. Without the reset
# (another OS), the increase of ru_maxrss itself is taken, in a fresh process.


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def max_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024


def rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return max_rss_mb()


def measure_first_call(case):
    """Peak memory increase (MB) of the first call of ``case.step``, and its output."""
    gc.collect()
    before = rss_mb() if reset_peak() else max_rss_mb()
    out = case.step()
    return max_rss_mb() - before, out


# ------------------------------------------------------------------ one workload


def run_workload(lib, module, workload, quick, variant):
    spec = P.sizes(workload, quick)
    try:
        if workload in P.MEMORY_WORKLOADS:
            warm_up(module, workload, spec, variant)
        cases = module.build(workload, spec, variant)
    except Unavailable as e:
        return [{"name": f"{lib} ({variant})" if variant else lib, "status": "unavailable",
                 "message": str(e)}]
    except Exception as e:  # a library that cannot even set the workload up
        return [{"name": f"{lib} ({variant})" if variant else lib, "status": "error",
                 "message": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}]
    reference = None
    rows = []
    for case in cases:
        row = {"name": case.name, "variant": variant, "status": "ok"}
        rows.append(row)
        try:
            if case.convert is not None:
                row["peak_mb"], out = measure_first_call(case)
                got = case.convert(out)
                del out
            else:
                got = case.grads() if case.checked else None
            if case.checked:
                if reference is None:
                    reference = P.reference(workload, spec, variant)
                row["grad_error"] = P.relative_error(got, reference)
                if not row["grad_error"] <= P.TOLERANCE[workload]:
                    row["status"] = "FAILED"
                    row["message"] = (f"gradient differs from the float64 reference: "
                                      f"relative error {row['grad_error']:.3g}")
                    continue
            del got
            row["time_s"], row["number"], times = time_call(case.step, *TIMING[quick])
            row["times"] = times
            if case.ops:
                row["us_per_op"] = row["time_s"] / case.ops * 1e6
        except Unavailable as e:
            row.update(status="unavailable", message=str(e))
        except Exception as e:  # reported in the table, the other rows still run
            row.update(status="error", message=f"{type(e).__name__}: {e}",
                       traceback=traceback.format_exc())
    return rows


def warm_up(module, workload, spec, variant):
    """Run the same code once on a small problem, so that what a library sets up on first
    use (thread pools, lazily imported modules, caches) is not counted in the peak."""
    for case in module.build(workload, P.warmup_sizes(spec), variant):
        case.step()
    gc.collect()


def versions(lib) -> dict:
    import numpy

    out = {"python": platform.python_version(), "numpy": numpy.__version__}
    module = {"chainrule": "chainrule", "torch": "torch", "autograd": "autograd",
              "jax": "jax"}.get(lib)
    if module:
        try:
            out[lib] = importlib.metadata.version(module)
        except Exception:
            out[lib] = getattr(sys.modules.get(module), "__version__", "?")
    if lib == "numpy":
        try:
            from threadpoolctl import threadpool_info

            out["blas"] = [
                {k: info.get(k) for k in ("internal_api", "architecture", "version",
                                          "num_threads")}
                for info in threadpool_info() if info.get("user_api") == "blas"
            ]
        except ImportError:
            pass
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    parser.add_argument("--lib", required=True)
    parser.add_argument("--workloads", required=True)
    parser.add_argument("--variant", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json-out", required=True)
    args = parser.parse_args(argv)

    result = {"lib": args.lib, "rows": {}, "versions": {}}
    try:
        module = importlib.import_module(f"bench.impl_{args.lib}")
    except ImportError as e:
        module = None
        message = f"{args.lib} is not installed ({e})"
    if args.lib == "torch" and module is not None:
        import torch

        torch.set_num_threads(args.threads)
    for workload in args.workloads.split(","):
        if module is None:
            result["rows"][workload] = [{"name": args.lib, "status": "unavailable",
                                         "message": message}]
            continue
        result["rows"][workload] = run_workload(args.lib, module, workload, args.quick,
                                                args.variant)
    result["versions"] = versions(args.lib)
    with open(args.json_out, "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m bench``: run the workloads for each library in its own process, print the
table, compare with the peers, the targets and (quick mode) the committed baseline."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import problems as P
from bench import report

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
BASELINE = RESULTS / "baseline.json"
MARKDOWN = ROOT / "BENCHMARKS.md"
LIBS = ("chainrule", "torch", "autograd", "jax")
# The libraries that run W6 with distinct weights (its target compares with PyTorch eager).
DISTINCT_WEIGHT_LIBS = ("numpy", "chainrule", "torch")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
# Set on some machines to pin OpenBLAS's kernel or cache size; they slow NumPy down.
UNSET_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def child_env(threads: int) -> dict:
    """The environment of a benchmark process: the same thread count for every library,
    set before anything is imported."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    for var in UNSET_VARS:
        env.pop(var, None)
    env["JAX_PLATFORMS"] = "cpu"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    paths = [str(ROOT)]
    if (ROOT / "src" / "chainrule").is_dir():
        paths.append(str(ROOT / "src"))  # benchmark this working tree's chainrule
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def cpu_pinning(threads: int):
    """Restrict a benchmark process to ``threads`` CPUs where the machine has more, so
    that libraries which size their pools by the CPU count (XLA) get the same number."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) <= threads:
        return None
    chosen = set(cpus[:threads])
    return lambda: os.sched_setaffinity(0, chosen)


def run_child(lib, workloads, variant, args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [sys.executable, "-m", "bench.child", "--lib", lib,
               "--workloads", ",".join(workloads), "--threads", str(args.threads),
               "--json-out", str(out)]
        if variant:
            cmd += ["--variant", variant]
        if args.quick:
            cmd.append("--quick")
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=child_env(args.threads),
                                  preexec_fn=cpu_pinning(args.threads), capture_output=True,
                                  text=True, timeout=300 if args.quick else 1800)
            failure = None if out.exists() else (proc.stderr.strip().splitlines() or ["?"])[-1]
        except subprocess.TimeoutExpired:
            failure = "timed out"
        if failure is None:
            return json.loads(out.read_text())
    rows = {w: [{"name": f"{lib} ({variant})" if variant else lib, "status": "error",
                 "variant": variant, "message": f"benchmark process failed: {failure}"}]
            for w in workloads}
    return {"lib": lib, "rows": rows, "versions": {}}


def jobs(libs, workloads):
    """(lib, workloads, variant): one process per library for the timing workloads, and
    a fresh one per library and variant for each memory workload."""
    timed = [w for w in workloads if w not in P.MEMORY_WORKLOADS]
    out = [(lib, timed, None) for lib in libs if timed]
    for w in workloads:
        if w in P.MEMORY_WORKLOADS:
            for lib in libs:
                variants = ("plain",) if lib == "numpy" else ("plain", "checkpoint")
                if lib in DISTINCT_WEIGHT_LIBS:  # a weight matrix per layer
                    variants += ("distinct",)
                if lib == "chainrule":  # replayed by cr.jit: measured in processes of their own
                    variants += ("plain+jit", "checkpoint+jit", "plain+jit+fuse")
                out += [(lib, [w], v) for v in variants]
    return out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average():
    """The 1-minute load average (other work on the machine skews timings), if known."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def describe_blas(versions: dict) -> str:
    blas = versions.get("blas") or []
    return "; ".join(f"{b['internal_api']} {b['version']} ({b['architecture']} kernels, "
                     f"{b['num_threads']} threads)" for b in blas)


def best_of_rounds(rounds: list[list[dict]]) -> list[dict]:
    """One row per case from several rounds: a failure if any round failed, else the
    round with the lowest median time (the one least disturbed by other work on the
    machine) and the median of the rounds' peak memory (each from a fresh process); the
    values of all rounds are kept in ``round_times`` and ``round_peaks_mb``."""
    merged = []
    for same in zip(*rounds, strict=True):
        bad = [r for r in same if r["status"] != "ok"]
        row = dict(bad[0] if bad else min(same, key=lambda r: r["time_s"]))
        if not bad and len(same) > 1:
            row["round_times"] = [r["time_s"] for r in same]
            peaks = [r["peak_mb"] for r in same if r.get("peak_mb") is not None]
            if peaks:
                row["round_peaks_mb"] = peaks
                row["peak_mb"] = statistics.median(peaks)
        merged.append(row)
    return merged


def run(args) -> dict:
    libs = ["numpy"] + [lib for lib in args.libs if lib != "numpy"]
    collected: dict = {}
    versions = {}
    start = time.perf_counter()
    load_before = load_average()
    # Rounds go through all the jobs in turn, so that a burst of other work on the
    # machine hits one round of one library, not all the rounds of it.
    for round_ in range(args.rounds):
        for lib, workloads, variant in jobs(libs, args.only):
            t0 = time.perf_counter()
            out = run_child(lib, workloads, variant, args)
            versions.update(out["versions"])
            if lib == "numpy" and out["versions"].get("blas"):
                versions["blas"] = out["versions"]["blas"]
            for w, rows in out["rows"].items():
                for row in rows:
                    row["lib"] = lib
                    row.setdefault("variant", variant)
                collected.setdefault((w, lib, variant), []).append(rows)
            label = f"{lib} {','.join(workloads)}" + (f" ({variant})" if variant else "")
            print(f"  round {round_ + 1}/{args.rounds} {label}: "
                  f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    results = {w: [] for w in args.only}
    for (w, _, _), rounds in collected.items():
        if len({len(r) for r in rounds}) == 1:
            results[w] += best_of_rounds(rounds)
        else:  # a process failed in some round: its rows do not line up
            results[w] += min(rounds, key=len)
    report.add_ratios(results)
    command = "python -m bench " + shlex.join(results_args(args.argv))
    return {
        "meta": {
            "command": command.strip(),
            "quick": args.quick,
            "date": datetime.date.today().isoformat(),
            "cpu": cpu_model(),
            "cpus": os.cpu_count(),
            "threads": args.threads,
            "rounds": args.rounds,
            "os": platform.platform(),
            "versions": {k: v for k, v in versions.items() if k != "blas"},
            "blas": describe_blas(versions),
            "seconds": round(time.perf_counter() - start, 1),
            "load_average": [load_before, load_average()],
        },
        "results": results,
        "targets": report.evaluate_targets(results),
    }


def results_args(argv: list[str]) -> list[str]:
    """The command-line arguments that decide the results (not where they are written)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--out", "--baseline"):
            skip = True
        elif not a.startswith(("--out=", "--baseline=")):
            out.append(a)
    return out


RESULTS_START = "<!-- results: generated by `python -m bench --update-md`; edit History below -->"
RESULTS_END = "<!-- end of results -->"


def update_markdown(data: dict, path: Path = MARKDOWN) -> None:
    """Replace the generated results section of BENCHMARKS.md, keeping the rest."""
    generated = f"{RESULTS_START}\n{report.render_markdown(data)}{RESULTS_END}"
    if path.exists():
        text = path.read_text()
        if RESULTS_START in text and RESULTS_END in text:
            head, rest = text.split(RESULTS_START, 1)
            tail = rest.split(RESULTS_END, 1)[1]
            path.write_text(head + generated + tail)
            return
        text = text.rstrip() + "\n\n" + generated + "\n"
    else:
        text = f"# Benchmarks\n\n{generated}\n\n## History\n"
    path.write_text(text)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="chainrule against PyTorch, HIPS autograd, JAX and plain NumPy.")
    parser.add_argument("--libs", default=",".join(LIBS),
                        help="comma-separated libraries (numpy is always run: the floor)")
    parser.add_argument("--only", default=",".join(P.WORKLOADS),
                        help="comma-separated workloads, e.g. W1,W3")
    parser.add_argument("--quick", action="store_true",
                        help="few repeats, small W6; compares with bench/results/baseline.json")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=None,
                        help="run every job this many times, keep each row's best median "
                             "(default: 1 in quick mode, 2 otherwise)")
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    parser.add_argument("--baseline", type=Path, default=BASELINE,
                        help="baseline of the quick mode's regression warnings")
    parser.add_argument("--update-md", action="store_true",
                        help="regenerate the results section of BENCHMARKS.md")
    args = parser.parse_args(argv)
    args.argv = list(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 2
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    args.libs = [s.strip() for s in args.libs.split(",") if s.strip()]
    args.only = [s.strip().upper() for s in args.only.split(",") if s.strip()]
    unknown = [w for w in args.only if w not in P.WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(P.WORKLOADS)}")
    bad = [lib for lib in args.libs if lib not in (*LIBS, "numpy")]
    if bad:
        parser.error(f"unknown librar(ies) {', '.join(bad)}; known: {', '.join(LIBS)}")
    return args


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    data = run(args)
    print(report.render_text(data))
    if args.quick and args.baseline.exists():
        warnings = report.regressions(data["results"], json.loads(args.baseline.read_text()))
        data["warnings"] = warnings
        print("\n" + ("\n".join(warnings) if warnings else
                      f"No regression over 30% against {args.baseline.name}."))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=1) + "\n")
    if args.update_md:
        update_markdown(data)
    bad = [(w, r["name"], r["status"]) for w, rows in data["results"].items() for r in rows
           if r["status"] in ("FAILED", "error")]
    for w, name, status in bad:
        print(f"{status}: {w} {name}", file=sys.stderr)
    print(f"\n{data['meta']['seconds']} s", file=sys.stderr)
    return 1 if bad else 0

"""Data-parallel training throughput of the W4 MLP on 1 and 2 processes.

    python -m bench.distributed            # both process counts, prints a table
    python -m bench.distributed --json out.json

Each process runs the W4 training step (MLP 784-1024-1024-10, ReLU, batch 256 per
process, float32, chainrule.nn + SGD) with one BLAS thread, under ``mpiexec -n P``. The
model is wrapped in ``DistributedDataParallel``, once summing the buckets in an MPI
shared-memory window (the wrapper's default on one machine) and once with
``MPI_Iallreduce`` (``--reductions``); one process without the wrapper is the baseline.
Scaling efficiency is the throughput of P processes over P times the baseline's (weak
scaling: the global batch grows with P). The wrapper reports the time ``backward()``
spent after its pass waiting for allreduces (the communication the backward pass did not
hide) and the bytes each process hands to MPI per step.

On a busy machine wall-clock times say little, so each row also has what each process
spent: CPU time per step (``time.process_time``), the part of it outside MPI calls (the
wrapper's ``last_mpi_cpu_seconds`` subtracted), the number of MPI calls, the bytes copied
into buckets, minor page faults per step, the BLAS threads each process really runs
with (threadpoolctl), and the step's allreduces timed alone on the same buffers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SIZES = (784, 1024, 1024, 10)
BATCH = 256
WARMUP, STEPS, REPEATS = 3, 15, 3
ALONE_TRIES = 100  # the allreduces timed alone: the best of these (both processes must run at once)


def _blas_threads() -> str:
    """The BLAS threads this process really runs with (threadpoolctl reads the library),
    or the environment's setting where threadpoolctl is not installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "env " + os.environ.get("OPENBLAS_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "unset"))
    return ",".join(f"{i['internal_api']}:{i['num_threads']}" for i in threadpool_info()) or "none"


def _minor_faults() -> int:
    try:
        import resource
    except ImportError:  # not on Windows
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _worker(bucket_cap_mb: float | None, shared_memory: bool | None = None) -> dict:
    from bench import problems as P
    from chainrule import distributed as dist
    from chainrule import nn, optim

    dist.init()
    spec = P.FULL_SIZES["W4"]
    _, x, y, _ = P.mlp_problem("W4", spec)
    rank = dist.rank()
    rng = np.random.default_rng(rank)
    x = x + 0.01 * rng.standard_normal(x.shape).astype(x.dtype)  # each process its own data
    model = nn.Sequential(nn.Linear(784, 1024, rng=0), nn.ReLU(), nn.Linear(1024, 1024, rng=1), nn.ReLU(),
                          nn.Linear(1024, 10, rng=2))
    net = model if bucket_cap_mb is None else dist.DistributedDataParallel(
        model, bucket_cap_mb=bucket_cap_mb, shared_memory=shared_memory)
    opt = optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    counted = ("last_exposed_seconds", "last_mpi_seconds", "last_mpi_cpu_seconds", "last_mpi_calls",
               "last_bytes_copied")

    def step():
        opt.zero_grad()
        loss_fn(net(x), y).backward()
        opt.step()

    for _ in range(WARMUP):
        step()
    rounds = []
    for _ in range(REPEATS):
        dist.barrier()
        faults = _minor_faults()
        cpu = time.process_time()
        start = time.perf_counter()
        sums = dict.fromkeys(counted, 0.0)
        for _ in range(STEPS):
            step()
            for name in counted:
                sums[name] += getattr(net, name, 0)
        rounds.append({
            "wall": (time.perf_counter() - start) / STEPS,
            "cpu": (time.process_time() - cpu) / STEPS,
            "faults": (_minor_faults() - faults) / STEPS,
            **{name: v / STEPS for name, v in sums.items()},
        })
    alone = _allreduce_alone(net) if bucket_cap_mb is not None else 0.0
    best = min(rounds, key=lambda r: r["wall"])
    # CPU time per step does not count the time other programs on the machine took the
    # core away, so it is the steadier measure on a busy machine; wall time is what a
    # user gets. Every process's numbers: the job runs at the pace of the slowest.
    mine = {"wall": best["wall"], "cpu": min(r["cpu"] for r in rounds), "faults": best["faults"],
            "exposed": best["last_exposed_seconds"], "mpi": best["last_mpi_seconds"],
            "calls": best["last_mpi_calls"], "copied": best["last_bytes_copied"], "blas": _blas_threads(),
            "outside": min(r["cpu"] - r["last_mpi_cpu_seconds"] for r in rounds)}
    everyone = dist.communicator().allgather(mine)
    step_time = max(e["wall"] for e in everyone)
    cpu_time = max(e["cpu"] for e in everyone)
    return {
        "processes": dist.world_size(),
        "bucket_cap_mb": bucket_cap_mb,
        "shared_memory": bool(getattr(net, "shared_memory", False)),
        "step_ms": 1e3 * step_time,
        "samples_per_s": dist.world_size() * BATCH / step_time,
        "cpu_ms_per_rank": [round(1e3 * e["cpu"], 3) for e in everyone],
        "cpu_ms": 1e3 * cpu_time,
        "cpu_samples_per_s": dist.world_size() * BATCH / cpu_time,
        "cpu_outside_mpi_ms": 1e3 * max(e["outside"] for e in everyone),
        "allreduce_alone_ms": 1e3 * alone,
        "exposed_allreduce_ms": 1e3 * max(e["exposed"] for e in everyone),
        "mpi_ms": 1e3 * max(e["mpi"] for e in everyone),
        "mpi_calls": max(e["calls"] for e in everyone),
        "minor_faults": max(e["faults"] for e in everyone),
        "bytes_per_step": getattr(net, "last_bytes_reduced", 0),
        "bytes_copied": max(e["copied"] for e in everyone),
        "gradient_bytes": sum(p.detach().numpy().nbytes for p in model.parameters()),
        "buckets": len(getattr(net, "bucket_sizes", [])),
        "blas_threads": sorted({e["blas"] for e in everyone}),
    }


def _allreduce_alone(net) -> float:
    """The wall time of the step's allreduces by themselves (every bucket started, then
    all waited for, both processes entering together; or the sum in the shared-memory
    window), the best of several: what the communication costs this machine when nothing
    else runs."""
    from chainrule.distributed.comm import communicator, mpi

    comm = communicator()
    buffers = [np.zeros(n // 4, np.float32) for n in net.bucket_sizes]
    best = float("inf")
    for _ in range(ALONE_TRIES):
        comm.Barrier()
        start = time.perf_counter()
        if net.shared_memory:
            net._shared.allreduce()
        else:
            requests = [comm.Iallreduce(mpi().IN_PLACE, b) for b in buffers]
            mpi().Request.Waitall(requests)
        best = min(best, comm.allreduce(time.perf_counter() - start, op=mpi().MAX))
    return best


# -- the scaling model on paper (docs/distributed.md) ------------------------------------------
W4_LAYER_BYTES = [4 * (784 * 1024 + 1024), 4 * (1024 * 1024 + 1024), 4 * (1024 * 10 + 10)]  # float32 W and b
LINKS = {"10 Gbit/s (TCP)": (1.25e9, 20e-6), "100 Gbit/s (RDMA)": (12.5e9, 2e-6)}  # bytes/s, latency per message
STEP_MS = 17.0  # one W4 step at batch 256 per process (BENCHMARKS.md: 1.04x the 16.4 ms GEMM floor)
# The backward pass's products: dW3, dh2 (small), dW2, dh1 (1024x1024x256 each), dW1 (784x1024x256).
# W2's gradient is ready after dW2; dh1 and dW1 remain: the window that can hide its allreduce.
BACKWARD_MS = STEP_MS * 5 / 8
HIDING_MS = BACKWARD_MS * (1024 * 1024 + 784 * 1024) / (2 * 1024 * 1024 + 784 * 1024 + 2 * 1024 * 10)


def ring_ms(nbytes: float, processes: int, bandwidth: float, latency: float) -> float:
    """Ring allreduce: 2(N-1) steps, each moving nbytes/N per process: 2(N-1)/N x nbytes."""
    n = processes
    return 1e3 * (2 * (n - 1) * latency + 2 * (n - 1) / n * nbytes / bandwidth)


def paper_model(batch: int = 256) -> list[dict]:
    """Expected W4 step times: one 25 MB bucket (all 7.45 MB sent after the backward
    pass) and per-layer buckets (W2's allreduce overlaps dh1 and dW1; W1's, computed last,
    cannot be hidden)."""
    rows = []
    scale = batch / 256
    total = sum(W4_LAYER_BYTES)
    first, rest = W4_LAYER_BYTES[0], total - W4_LAYER_BYTES[0]
    for link, (bandwidth, latency) in LINKS.items():
        for n in (8, 64, 512):
            one = ring_ms(total, n, bandwidth, latency)
            last = ring_ms(first, n, bandwidth, latency)
            early = ring_ms(rest, n, bandwidth, latency)
            hidden_window = HIDING_MS * scale
            rows.append({
                "link": link, "processes": n,
                "sent_mb": 2 * (n - 1) / n * total / 1e6,
                "allreduce_ms": one,
                "step_one_bucket_ms": STEP_MS * scale + one,
                "step_per_layer_ms": STEP_MS * scale + last + max(0.0, early - hidden_window),
                "batch_to_hide_early": 256 * early / HIDING_MS,
            })
    return rows


def paper_table(batch: int = 256) -> str:
    lines = [
        "| link | processes | sent per process per step | allreduce of 7.45 MB | step, one 25 MB bucket "
        "| step, per-layer buckets | batch per process that hides W2's allreduce |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in paper_model(batch):
        lines.append(
            f"| {r['link']} | {r['processes']} | {r['sent_mb']:.2f} MB | {r['allreduce_ms']:.1f} ms "
            f"| {r['step_one_bucket_ms']:.1f} ms | {r['step_per_layer_ms']:.1f} ms | {r['batch_to_hide_early']:.0f} |"
        )
    return "\n".join(lines)


def _launch(processes: int, bucket_cap_mb: float | None, reduction: str = "auto") -> dict:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    mpiexec = Path(sys.executable).parent / "mpiexec"
    cap = "none" if bucket_cap_mb is None else f"{bucket_cap_mb}:{reduction}"
    out = subprocess.run([str(mpiexec), "-n", str(processes), sys.executable, "-m", "bench.distributed",
                          "--worker", cap], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    if out.returncode:
        raise RuntimeError(f"the worker failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--caps", default="25,1", help="bucket sizes in MB to try (default 25,1)")
    parser.add_argument("--reductions", default="shared,mpi",
                        help="how DDP sums the buckets: shared (an MPI shared-memory window), mpi "
                             "(MPI_Iallreduce), auto (the wrapper's default); default shared,mpi")
    parser.add_argument("--model", action="store_true", help="print the scaling model on paper and exit")
    args = parser.parse_args(argv)
    if args.model:
        print(paper_table())
        return 0
    if args.worker is not None:
        if args.worker == "none":
            row = _worker(None)
        else:
            cap, reduction = args.worker.split(":")
            row = _worker(float(cap), {"shared": True, "mpi": False, "auto": None}[reduction])
        from chainrule import distributed as dist

        if dist.rank() == 0:
            print(json.dumps(row))
        return 0
    caps = [float(c) for c in args.caps.split(",")]
    rows = [_launch(1, None)]
    # two processes that do not communicate: what sharing the machine costs by itself
    rows += [_launch(2, None)]
    rows += [_launch(2, cap, reduction) for cap in caps for reduction in args.reductions.split(",")]
    base = rows[0]["samples_per_s"]
    base_cpu = rows[0]["cpu_ms"]
    print(f"W4 data-parallel, batch {BATCH} per process, float32, 1 BLAS thread per process "
          f"(BLAS threads seen: {sorted({t for r in rows for t in r['blas_threads']})})")
    print("| processes | wrapper | buckets | step (ms) | samples/s | scaling efficiency | unhidden allreduce (ms/step) "
          "| bytes to MPI per step | bytes copied into buckets | gradient bytes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cap = r["bucket_cap_mb"]
        how = "shared-memory sum" if r["shared_memory"] else "MPI_Iallreduce"
        r["wrapper"] = "none (no communication)" if cap is None else f"DDP, {cap:g} MB buckets, {how}"
        r["scaling_efficiency"] = r["samples_per_s"] / (r["processes"] * base)
        print(f"| {r['processes']} | {r['wrapper']} | {r['buckets']} | {r['step_ms']:.1f} | {r['samples_per_s']:.0f} "
              f"| {100 * r['scaling_efficiency']:.0f} % | {r['exposed_allreduce_ms']:.2f} | {r['bytes_per_step']:,} "
              f"| {r['bytes_copied']:,.0f} | {r['gradient_bytes']:,} |")
    # CPU time does not count the time other programs took the core away: on a busy
    # machine it is the steadier measure. Time inside MPI is mostly waiting (MPICH polls),
    # so the work of a step is the CPU time outside MPI, and what the communication itself
    # costs is the allreduces timed alone; their sum, against one process's CPU time, is
    # an estimate of the efficiency on a quiet machine (it leaves out the time the
    # processes wait for each other).
    print()
    print("| processes | wrapper | CPU ms/step, each rank | CPU ms/step outside MPI | in MPI (ms, calls) "
          "| allreduces alone (ms) | minor page faults/step | efficiency from CPU times |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        r["cpu_time_efficiency"] = base_cpu / (r["cpu_outside_mpi_ms"] + r["allreduce_alone_ms"])
        per_rank = " / ".join(f"{c:.1f}" for c in r["cpu_ms_per_rank"])
        print(f"| {r['processes']} | {r['wrapper']} | {per_rank} | {r['cpu_outside_mpi_ms']:.1f} "
              f"| {r['mpi_ms']:.2f}, {r['mpi_calls']:.0f} | {r['allreduce_alone_ms']:.2f} | {r['minor_faults']:.0f} "
              f"| {100 * r['cpu_time_efficiency']:.0f} % |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Odd cases of chainrule.distributed met by scripts written for torch.distributed: 0-d
Tensors in the collectives, a parameter frozen on one process only, SyncBatchNorm and
collectives of plain values under cr.jit, charlm under a launcher, spawn's started
processes, and the message of a process that waits for one that has ended. (A last batch
smaller than the job in ``chainrule train`` is checked in test_cli_parallel.py.)"""

import subprocess
import sys
import textwrap

from mpi_jobs import mpi_env, needs_mpi, ok, run_mpi

from chainrule.cli import main

pytestmark = needs_mpi

# Several checks in one job of 2 processes (each job costs seconds to start); each
# section prints its name when its check has passed.
ODD_CASES = """
import numpy as np, chainrule as cr
from chainrule import distributed as dist, nn
import chainrule.distributed.nn as dnn
dist.init_process_group("gloo")
r, w = dist.get_rank(), dist.get_world_size()

# A 0-d Tensor (a loss, a count) was sent as shape (1,): all_gather and gather failed to
# write it back, scatter refused it, and the other process waited forever.
def same(t, want):
    got = t.detach().numpy() if isinstance(t, cr.Tensor) else np.asarray(t)
    assert got.shape == () and got == want, (got, want)
out = [cr.tensor(0.0) for _ in range(w)]
dist.all_gather(out, cr.tensor(float(r)))
for q in range(w):
    same(out[q], q)
gathered = [cr.tensor(0.0) for _ in range(w)] if r == 0 else None
dist.gather(cr.tensor(float(r)), gathered, dst=0)
if r == 0:
    for q in range(w):
        same(gathered[q], q)
t = cr.tensor(0.0)
dist.scatter(t, [cr.tensor(5.0 + q) for q in range(w)] if r == 0 else None, src=0)
same(t, 5.0 + r)
t = cr.tensor(float(r + 1))
if r == 0:
    dist.send(t, 1)
else:
    dist.recv(t, 0)
same(t, 1.0)
x = cr.tensor(float(r + 1), requires_grad=True)
parts = dnn.all_gather(x)
for q in range(w):
    same(parts[q], q + 1)
sum((q + 2) * p for q, p in enumerate(parts)).backward()
same(x.grad, w * (r + 2))  # every process's gradient of this process's part
print("0-d tensors")

# The buckets hold the parameters that require a gradient: with a bias frozen on one
# process only they differed, and the allreduce summed unrelated gradients in silence
# (or failed inside MPI with "buffer is smaller than requested size").
for shared_memory in (False, True):
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2))
    if r == 1:
        model[1].bias.requires_grad_(False)
    try:
        dist.DistributedDataParallel(model, shared_memory=shared_memory)
    except dist.DistributedError as e:
        assert "rank 1 differs from rank 0 at 'parameter 1.bias'" in str(e), e
        assert "rank 1 has 'parameter 1.bias (requires_grad=False)'" in str(e), e
    else:
        raise AssertionError("no error")
print("frozen on one process")

# SyncBatchNorm's global count was a number read when cr.jit traced: a process whose batch
# kept its size replayed with the old count, without the count's allreduce that the other
# process (tracing its new size) made, and the collectives no longer matched.
bn = nn.SyncBatchNorm(2, dtype=np.float64)
normalise = cr.jit(lambda m, x: m(x))
rng = np.random.default_rng(0)
for sizes in [(4, 4), (4, 4), (4, 2), (4, 2)]:
    x = rng.normal(size=(sum(sizes), 2))
    mine = slice(sum(sizes[:r]), sum(sizes[: r + 1]))
    with cr.no_grad():
        got = normalise(bn, x[mine])
    want = (x - x.mean(0)) / np.sqrt(x.var(0) + bn.eps)  # BatchNorm of the whole batch
    np.testing.assert_allclose(np.asarray(got), want[mine], rtol=1e-12, atol=1e-12)
print("jitted SyncBatchNorm")

# all_reduce of a Python number (a batch size) and broadcast of any value ran when the
# function was traced only: a process whose own values had not changed replayed the old
# result (rank 1 kept rank 0's first broadcast value), in silence.
mean_over_all = cr.jit(lambda x: x.sum() / dist.all_reduce(x.shape[0]))
from_root = cr.jit(lambda x: dist.broadcast(x, src=0) * 1.0)
for k, sizes in enumerate([(4, 4), (4, 4), (4, 2), (3, 2)]):
    x = np.full(sizes[r], float(r + 1))
    np.testing.assert_allclose(mean_over_all(x), sizes[r] * (r + 1) / sum(sizes))
    np.testing.assert_array_equal(from_root(np.full(2, float(k if r == 0 else 7))), np.full(2, float(k)))
print("jitted plain collectives")
"""


def test_odd_cases_on_two_processes(tmp_path):
    out = ok(run_mpi(ODD_CASES, tmp_path, timeout=90))
    for section in ("0-d tensors", "frozen on one process", "jitted SyncBatchNorm", "jitted plain collectives"):
        assert out.count(section) == 2, (section, out)


def test_charlm_under_a_launcher_is_refused(monkeypatch, capsys):
    # under mpiexec each process trained a language model of its own and wrote the same files
    monkeypatch.setenv("PMI_SIZE", "2")
    assert main(["train", "--task", "charlm", "--steps", "1", "--no-progress", "--no-plot"]) == 2
    assert "--task charlm trains in one process: run it without mpiexec" in capsys.readouterr().err


def test_a_spawned_process_whose_fn_fails_does_not_run_the_code_after_spawn(tmp_path):
    # fn's error reached the script's `except Exception:` around spawn in the started
    # process, which went on with the code meant for the first process alone
    script = tmp_path / "spawned.py"
    script.write_text(textwrap.dedent("""
        import chainrule.multiprocessing as mp
        def fn(rank):
            raise ValueError("fn fails")
        try:
            mp.spawn(fn, nprocs=1)
        except Exception as e:
            print("went on after spawn:", e)
    """))
    env = dict(mpi_env(), CHAINRULE_SPAWNED="1")  # as in a process that spawn started
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode != 0
    assert "went on after spawn" not in proc.stdout
    assert "ValueError: fn fails" in proc.stderr


def test_the_ended_process_message_names_the_call_of_an_eager_all_reduce(tmp_path):
    # the in-place all_reduce of a Tensor passes through the engine: the message named an
    # internal function and file (_reduce_array, called at trace.py)
    proc = run_mpi("""
import sys, numpy as np, chainrule as cr
from chainrule import distributed as dist
dist.init_process_group("gloo")
if dist.get_rank() == 1:
    sys.exit(0)
t = cr.tensor(np.ones(2))
dist.all_reduce(t, op=dist.ReduceOp.SUM)
""", tmp_path, timeout=60)
    assert proc.returncode != 0
    assert "[rank 0] rank 1 has ended while this process waits for it in all_reduce (called at job.py:8)" \
        in proc.stderr, proc.stderr

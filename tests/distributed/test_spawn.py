"""chainrule.multiprocessing.spawn: PyTorch's DDP tutorial, run as python script.py,
starts itself on MPI; each rank runs fn(rank, *args), the first process goes on after
spawn once, and a failing rank makes spawn raise."""

import subprocess
import sys
import textwrap

import pytest
from mpi_jobs import MPIEXEC, mpi_env, needs_mpi, ok

TUTORIAL = """
import os, sys
import chainrule as torch
import chainrule.distributed as dist
import chainrule.multiprocessing as mp
import chainrule.nn as nn
import chainrule.optim as optim
from chainrule.nn.parallel import DistributedDataParallel as DDP

def demo_basic(rank, world_size):
    os.environ["MASTER_ADDR"] = "localhost"
    os.environ["MASTER_PORT"] = "12355"
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    torch.manual_seed(rank)  # different initial weights: DDP broadcasts rank 0's
    model = nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 5))
    ddp_model = DDP(model)
    optimizer = optim.SGD(ddp_model.parameters(), lr=0.001)
    optimizer.zero_grad()
    nn.MSELoss()(ddp_model(torch.randn(20, 10)), torch.randn(20, 5)).backward()
    optimizer.step()
    w = ddp_model.module[0].weight.detach().numpy().copy()
    total = torch.tensor(w)
    dist.all_reduce(total)
    print(f"rank {rank} of {world_size}: same weights {bool(abs(total.numpy() / world_size - w).max() == 0)}",
          flush=True)
    if "fail" in sys.argv and rank == 1:
        raise RuntimeError("rank 1 fails on purpose")
    dist.destroy_process_group()

if __name__ == "__main__":
    print("script starts", flush=True)
    mp.spawn(demo_basic, args=(2,), nprocs=2, join=True)
    print("after spawn", flush=True)
"""


def _run(tmp_path, *args, launcher=()):
    script = tmp_path / "tutorial.py"
    script.write_text(textwrap.dedent(TUTORIAL))
    return subprocess.run([*launcher, sys.executable, str(script), *args], capture_output=True, text=True,
                          timeout=120, env=mpi_env(), cwd=tmp_path)


@needs_mpi
def test_pytorch_ddp_tutorial_spawns_itself_on_mpi(tmp_path):
    out = ok(_run(tmp_path))
    assert "rank 0 of 2: same weights True" in out and "rank 1 of 2: same weights True" in out
    assert out.count("after spawn") == 1  # the started processes run fn only


@needs_mpi
def test_a_failing_rank_makes_spawn_raise(tmp_path):
    proc = _run(tmp_path, "fail")
    assert proc.returncode != 0
    assert "rank 1 fails on purpose" in proc.stderr
    assert "ProcessExitedException" in proc.stderr and "after spawn" not in proc.stdout


@needs_mpi
def test_under_mpiexec_each_rank_runs_fn_at_once(tmp_path):
    out = ok(_run(tmp_path, launcher=(MPIEXEC, "-n", "2")))
    assert "rank 0 of 2: same weights True" in out and "rank 1 of 2: same weights True" in out
    assert out.count("after spawn") == 2  # launched by mpiexec: every process goes on


@needs_mpi
def test_nprocs_must_match_the_job(tmp_path):
    script = tmp_path / "wrong.py"
    script.write_text("import chainrule.multiprocessing as mp\nmp.spawn(lambda rank: None, nprocs=3)\n")
    proc = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env=mpi_env(), cwd=tmp_path)
    assert proc.returncode != 0 and "spawn(nprocs=3) in a job of 2 processes" in proc.stderr


def test_spawn_refuses_what_it_cannot_start():
    import chainrule.multiprocessing as mp

    with pytest.raises(ValueError, match="at least 1"):
        mp.spawn(lambda rank: None, nprocs=0)
    seen = []
    mp.start_processes(lambda rank, a, b: seen.append((rank, a, b)), args=(1, 2), nprocs=1)
    assert seen == [(0, 1, 2)]
    context = mp.spawn(lambda rank: None, nprocs=1, join=False)
    assert context.join()

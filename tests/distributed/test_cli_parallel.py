"""``chainrule train`` data-parallel under mpiexec, --nproc, checkpoints and --resume."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest
from mpi_jobs import MPIEXEC, mpi_env, needs_mpi, ok

from chainrule import io
from chainrule.cli import main

pytest.importorskip("sklearn")

ARGS = ["train", "--epochs", "3", "--hidden", "16", "--no-plot", "--no-progress", "--batch-size", "50"]

# A script that runs the command line, optionally failing on one rank after a checkpoint
JOB = """
import os, signal, sys
from chainrule import cli, cli_parallel

fail = os.environ.get("FAIL")  # "kill:RANK:EPOCH" or "raise:RANK:EPOCH"
if fail:
    how, rank, after = fail.split(":")
    save = cli_parallel.save_checkpoint
    def save_then_fail(out, epoch, *args, **kwargs):
        save(out, epoch, *args, **kwargs)
        world = args[-1]
        if epoch == int(after) and world.rank == int(rank):
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError(f"rank {rank} fails after epoch {epoch}")
    cli_parallel.save_checkpoint = save_then_fail
sys.exit(cli.main(sys.argv[1:]))
"""


def launch(tmp_path, argv, n=2, fail=None, timeout=120):
    script = tmp_path / "job.py"
    script.write_text(JOB)
    env = mpi_env()
    if fail:
        env["FAIL"] = fail
    command = [MPIEXEC, "-n", str(n), sys.executable, str(script), *argv] if n else [sys.executable, str(script), *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path)


def weights(out):
    return io.load(out / "model.safetensors")


def history(out):
    epochs = json.loads((out / "metrics.json").read_text())["history"]
    return [{k: v for k, v in h.items() if k != "seconds"} for h in epochs]


@needs_mpi
def test_two_processes_train_like_one_and_only_rank_0_writes(tmp_path, capsys):
    # 1401 training samples: the last batch of each epoch has 1 sample for 2 processes,
    # which must be trained on as one process does (it was skipped)
    args = [*ARGS, "--test-fraction", "0.2204"]
    two = tmp_path / "two"
    proc = launch(tmp_path, [*args, "--out", str(two)])
    stdout = ok(proc)
    assert stdout.count("test accuracy:") == 1  # rank 0 prints, once
    metrics = json.loads((two / "metrics.json").read_text())
    assert metrics["processes"] == 2
    one = tmp_path / "one"
    assert main([*args, "--out", str(one)]) == 0
    a, b = weights(one), weights(two)
    for k in a:  # the same steps, float32 sums in another order
        np.testing.assert_allclose(a[k], b[k], rtol=0, atol=2e-6)
    h1, h2 = history(one), history(two)
    for e1, e2 in zip(h1, h2, strict=True):
        assert e1.keys() == e2.keys()
        for k in e1:
            assert abs(e1[k] - e2[k]) < 1e-5, (k, e1[k], e2[k])
    assert sorted(p.name for p in two.iterdir()) == ["checkpoint.safetensors", "metrics.json", "model.safetensors"]


@needs_mpi
def test_batch_smaller_than_the_processes_is_refused(tmp_path):
    proc = launch(tmp_path, [*ARGS, "--batch-size", "1", "--out", str(tmp_path / "run")])
    assert proc.returncode != 0
    assert "--batch-size 1 is smaller than the 2 processes that share it" in proc.stderr


@needs_mpi
def test_nproc_starts_itself_under_mpiexec(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "chainrule", *ARGS, "--epochs", "1", "--nproc", "2", "--out", str(out)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, env=mpi_env(), cwd=tmp_path)
    ok(proc)
    assert json.loads((out / "metrics.json").read_text())["processes"] == 2


@needs_mpi
@pytest.mark.parametrize("how", ["kill", "raise"])
def test_a_failing_rank_ends_the_job_and_resume_equals_an_uninterrupted_run(tmp_path, how):
    whole = tmp_path / "whole"
    ok(launch(tmp_path, [*ARGS, "--out", str(whole)]))
    cut = tmp_path / "cut"
    start = time.monotonic()
    proc = launch(tmp_path, [*ARGS, "--out", str(cut)], fail=f"{how}:1:2")
    assert proc.returncode != 0 and time.monotonic() - start < 30
    if how == "raise":
        assert "[rank 1]" in proc.stderr and "rank 1 fails after epoch 2" in proc.stderr, proc.stderr
    assert not (cut / "model.safetensors").exists()
    assert io.load(cut / "checkpoint.safetensors")["epoch"] == 2
    stdout = ok(launch(tmp_path, [*ARGS, "--out", str(cut), "--resume"]))
    assert "test accuracy:" in stdout
    a, b = weights(whole), weights(cut)
    assert all(np.array_equal(a[k], b[k]) for k in a)  # bit for bit
    assert history(whole) == history(cut)


def test_resume_in_one_process_equals_an_uninterrupted_run(tmp_path, monkeypatch, capsys):
    from chainrule import cli_parallel

    args = [*ARGS, "--dropout", "0.2", "--schedule", "warmup-cosine", "--optimizer", "adamw"]
    whole = tmp_path / "whole"
    assert main([*args, "--out", str(whole)]) == 0
    cut = tmp_path / "cut"
    save = cli_parallel.save_checkpoint

    def save_then_stop(out, epoch, *rest):
        save(out, epoch, *rest)
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli_parallel, "save_checkpoint", save_then_stop)
    assert main([*args, "--out", str(cut)]) == 130
    monkeypatch.setattr(cli_parallel, "save_checkpoint", save)
    assert main([*args, "--out", str(cut), "--resume"]) == 0
    a, b = weights(whole), weights(cut)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert (whole / "model.safetensors").read_bytes() == (cut / "model.safetensors").read_bytes()
    assert history(whole) == history(cut)
    # resuming a finished run changes nothing
    assert main([*args, "--out", str(cut), "--resume"]) == 0
    assert all(np.array_equal(a[k], weights(cut)[k]) for k in a)


def test_resume_errors(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*ARGS, "--out", str(out), "--resume"]) == 1
    assert "no checkpoint in" in capsys.readouterr().err
    assert main([*ARGS, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main([*ARGS, "--epochs", "1", "--out", str(out), "--resume", "--lr", "0.5"]) == 2
    assert "the checkpoint was made with other options: lr (was None, now 0.5)" in capsys.readouterr().err


def test_batch_split():
    from chainrule.cli_parallel import World

    class FakeComm:
        def __init__(self, rank, size):
            self.rank, self.size = rank, size

        def Get_rank(self):
            return self.rank

        def Get_size(self):
            return self.size

    x = np.arange(10)
    parts = [World(FakeComm(r, 3)).part(x, x) for r in range(3)]
    assert np.array_equal(np.concatenate([p[0] for p in parts]), x)  # contiguous, complete
    # the mean over processes of the weighted local means is the mean of the whole batch
    assert sum(p[2] * p[1].mean() for p in parts) / 3 == pytest.approx(x.mean())
    # too few to share: some processes get an empty part, of weight 0, and still take the step
    small = [World(FakeComm(r, 3)).part(x[:2], x[:2]) for r in range(3)]
    assert np.array_equal(np.concatenate([p[0] for p in small]), x[:2])
    assert sorted(len(p[0]) for p in small) == [0, 1, 1]
    assert all(p[2] == 0 for p in small if len(p[0]) == 0)

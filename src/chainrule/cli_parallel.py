"""Data-parallel ``chainrule train``, checkpoints and ``--resume``.

Started by ``mpiexec -n N chainrule train ...`` (or ``srun``, or ``chainrule train
--nproc N``, which starts itself under ``mpiexec``), every process builds the same model
and reads the same shuffled order of the training set; each global batch of
``--batch-size`` samples is split into N contiguous parts, one per process, and
:class:`~chainrule.distributed.DistributedDataParallel` averages the gradients. Each
process's loss is weighted by its share of the batch, so the step is the one that a
single process takes on the whole batch. Only rank 0 prints and writes files; the
metrics are sums over all processes.

At the end of every epoch rank 0 writes ``checkpoint.safetensors`` (atomically: a crash
never leaves half a file) with the model, the optimizer and scheduler state, the data
order's generator and the history; ``--resume`` continues from it and ends where an
uninterrupted run would have.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from chainrule import distributed, io
from chainrule.cli_common import CHECKPOINT_ERRORS, CLIError, damaged_checkpoint, not_a_checkpoint
from chainrule.data import TensorDataset
from chainrule.distributed import DistributedDataParallel, all_reduce
from chainrule.distributed import comm as dist_comm
from chainrule.nn import init

__all__ = ["World", "setup", "launched_by_mpi", "relaunch", "save_checkpoint", "load_checkpoint", "CHECKPOINT"]

CHECKPOINT = "checkpoint.safetensors"
# set by MPI launchers (Hydra, Open MPI, srun) for each process of a job step; not
# SLURM_NTASKS, which a batch script sees before any srun
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "SLURM_STEP_NUM_TASKS")


def launched_by_mpi() -> bool:
    """Whether an MPI launcher started this process as one of several."""
    for name in _SIZE_VARIABLES:
        try:
            if int(os.environ.get(name, "1")) > 1:
                return True
        except ValueError:
            continue
    return False


class World:
    """This process's place in the job: ``rank``, ``size``, and the few collective steps
    the training loop needs (a job of one needs no MPI at all)."""

    def __init__(self, comm=None):
        self.comm = comm
        self.rank = 0 if comm is None else comm.Get_rank()
        self.size = 1 if comm is None else comm.Get_size()
        self.is_root = self.rank == 0

    def threads(self, requested: int | None) -> int | None:
        """BLAS threads per process: as asked, else the cores of this machine shared
        among the processes running on it."""
        if requested is not None or self.size == 1:
            return requested
        local = dist_comm.same_machine(self.comm).Get_size()
        return max(1, (os.cpu_count() or 1) // local)

    def wrap(self, model):
        if self.size == 1:
            return model
        return DistributedDataParallel(model)

    def part(self, x, y):
        """This process's contiguous part of a global batch and the weight of its loss
        (its share of the batch times the number of processes). A batch smaller than the
        job (the last one of an epoch) leaves some processes an empty part, of weight 0:
        they still take part in the step, which is the one a single process takes on the
        whole batch."""
        if self.size == 1:
            return x, y, 1.0
        n = len(y)
        bounds = np.linspace(0, n, self.size + 1).round().astype(int)  # the same on every process
        start, stop = bounds[self.rank], bounds[self.rank + 1]
        return x[start:stop], y[start:stop], (stop - start) * self.size / n

    def sum(self, *values: float) -> tuple:
        if self.size == 1:
            return values
        return tuple(all_reduce([float(v) for v in values]))

    def evaluate(self, evaluate, model, dataset) -> tuple[float, float]:
        """Mean loss and accuracy over ``dataset``, each process evaluating a part."""
        if self.size == 1:
            return evaluate(model, dataset)
        x, y = dataset.arrays
        bounds = np.linspace(0, len(y), self.size + 1).round().astype(int)
        start, stop = bounds[self.rank], bounds[self.rank + 1]
        n = stop - start
        loss, acc = evaluate(model, TensorDataset(x[start:stop], y[start:stop])) if n else (0.0, 0.0)
        loss_sum, correct = self.sum(loss * n, acc * n)
        total = max(len(y), 1)
        return loss_sum / total, correct / total

    def gather(self, value):
        return [value] if self.size == 1 else self.comm.allgather(value)

    def barrier(self) -> None:
        if self.size > 1:
            self.comm.Barrier()


def setup() -> World:
    """The job this process belongs to: MPI is initialised only when a launcher started
    several processes."""
    if not launched_by_mpi():
        return World()
    distributed.init()
    return World(distributed.communicator())


def find_mpiexec() -> str | None:
    """The ``mpiexec`` next to this Python (the mpich wheel's), else the one on PATH."""
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


def relaunch(nproc: int, argv: list[str]) -> int:
    """Run ``chainrule`` with ``argv`` (without ``--nproc``) on ``nproc`` processes under
    ``mpiexec``; returns its exit status."""
    mpiexec = find_mpiexec()
    if mpiexec is None:
        raise _cli_error("--nproc needs MPI's mpiexec: pip install 'chainrule[mpi]' (mpi4py and mpich)")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise _cli_error("--nproc needs mpi4py: pip install 'chainrule[mpi]'") from None
    command = [mpiexec, "-n", str(nproc), sys.executable, "-m", "chainrule", *_without_nproc(argv)]
    return subprocess.call(command)


def _without_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def _cli_error(message: str, code: int = 1):
    return CLIError(message, code)


# -- checkpoints ------------------------------------------------------------------------------
def save_checkpoint(out: Path, epoch: int, options: dict, model, opt, sched, generator, history: list,
                    world: World) -> None:
    """Rank 0 writes the state after ``epoch`` to ``out/checkpoint.safetensors`` (every
    process calls this: the dropout generators of all processes are saved too)."""
    dropout_states = world.gather(init.get_generator(None).bit_generator.state)
    if world.is_root:
        state = {
            "epoch": epoch,
            "options": options,
            "history": history,
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": None if sched is None else sched.state_dict(),
            "data_order": generator.bit_generator.state,
            "dropout": dropout_states,
        }
        io.save(state, out / CHECKPOINT, metadata={"chainrule.checkpoint": "1"})
    world.barrier()  # the checkpoint exists before anyone goes on


def load_checkpoint(out: Path, options: dict, model, opt, sched, generator, world: World) -> tuple[int, list]:
    """Restore the state saved by :func:`save_checkpoint`; returns the epoch it was saved
    after and the history so far."""
    path = out / CHECKPOINT
    if not path.exists():
        raise _cli_error(f"--resume: no checkpoint in {out} ({CHECKPOINT} is written after every epoch)")
    metadata = io.load_metadata(path)
    if "chainrule.checkpoint" not in metadata:
        raise not_a_checkpoint(path, metadata, "'chainrule train'")
    state = io.load(path)
    try:
        return _restore(state, options, model, opt, sched, generator, world)
    except CHECKPOINT_ERRORS as e:
        raise damaged_checkpoint(path, e) from None


def _restore(state: dict, options: dict, model, opt, sched, generator, world: World) -> tuple[int, list]:
    differ = [k for k in sorted(set(options) | set(state["options"])) if options.get(k) != state["options"].get(k)]
    if differ:
        shown = ", ".join(f"{k} (was {state['options'].get(k)!r}, now {options.get(k)!r})" for k in differ)
        raise _cli_error(f"--resume: the checkpoint was made with other options: {shown}", 2)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    if sched is not None and state["scheduler"] is not None:
        sched.load_state_dict(state["scheduler"])
    generator.bit_generator.state = state["data_order"]
    dropout = state["dropout"]
    if len(dropout) != world.size and options.get("dropout"):
        raise _cli_error(
            f"--resume: the run used dropout on {len(dropout)} processes; resume it on as many "
            f"(now {world.size}) to draw the same masks", 2)
    init.get_generator(None).bit_generator.state = dropout[world.rank % len(dropout)]
    return int(state["epoch"]), list(state["history"])

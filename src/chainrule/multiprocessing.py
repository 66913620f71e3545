"""PyTorch's ``torch.multiprocessing.spawn`` on MPI, for the data-parallel scripts written
around it (PyTorch's DDP tutorial: ``mp.spawn(train, args=(world_size,), nprocs=world_size)``
with ``dist.init_process_group("gloo", rank=rank, world_size=world_size)`` inside).

``spawn(fn, args, nprocs)`` run by ``python script.py`` starts the script again on
``nprocs`` processes under ``mpiexec`` (the ``mpi`` extra's), where each process runs
``fn(rank, *args)`` with its MPI rank and then ends; the first process waits for them and
goes on after ``spawn``, as PyTorch's parent does. Run by ``mpiexec -n nprocs python
script.py`` (or ``srun``), each process runs ``fn(rank, *args)`` at once. A process that
fails makes ``spawn`` raise with its exit status. As the processes run the script from
its start, what the script does before ``spawn`` runs in each of them too.

>>> import chainrule.multiprocessing as mp
>>> seen = []
>>> mp.spawn(lambda rank, tag: seen.append((rank, tag)), args=("one process",), nprocs=1)
>>> seen
[(0, 'one process')]
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from chainrule import distributed
from chainrule.cli_parallel import find_mpiexec, launched_by_mpi

__all__ = ["spawn", "start_processes", "ProcessRaisedException", "ProcessExitedException", "get_all_start_methods",
           "set_start_method", "get_start_method", "cpu_count"]

_SPAWNED = "CHAINRULE_SPAWNED"  # set in the processes that spawn started, which only run fn


class ProcessExitedException(RuntimeError):
    """A process started by :func:`spawn` ended with a non-zero status."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


ProcessRaisedException = ProcessExitedException


class SpawnContext:
    """What ``spawn(..., join=False)`` returns: ``join()`` waits for the processes."""

    def __init__(self, process: subprocess.Popen | None):
        self.process = process

    def join(self, timeout: float | None = None) -> bool:
        if self.process is None:
            return True
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        _check_exit(code)
        return True


class SpawnedFunctionFailed(BaseException):
    """The error of ``fn`` in a process that :func:`spawn` started: not an ``Exception``, so
    that it ends the process (as the error ends PyTorch's child) rather than run the code
    after ``spawn`` meant for the first process."""


def _check_exit(code: int) -> None:
    if code != 0:
        raise ProcessExitedException(f"spawn: a process ended with exit status {code} (its error is above)", code)


def _run_here(fn: Callable, args: tuple, nprocs: int) -> None:
    distributed.init()
    size = distributed.get_world_size()
    if size != nprocs:
        raise RuntimeError(f"spawn(nprocs={nprocs}) in a job of {size} processes: launch with mpiexec -n {nprocs}, "
                           "or run the script with python alone and let spawn start the processes")
    fn(distributed.get_rank(), *args)


def spawn(fn: Callable, args: tuple = (), nprocs: int = 1, join: bool = True, daemon: bool = False,
          start_method: str = "spawn") -> SpawnContext | None:
    """``fn(rank, *args)`` on ``nprocs`` processes (see the module's docstring); returns
    None, or with ``join=False`` a context whose ``join()`` waits for them."""
    nprocs = int(nprocs)
    if nprocs < 1:
        raise ValueError(f"spawn: nprocs must be at least 1, got {nprocs}")
    if os.environ.get(_SPAWNED) == "1":  # a started process runs fn only, as PyTorch's children do:
        try:  # fn's error ends it, past the script's `except Exception:` around spawn
            _run_here(fn, tuple(args), nprocs)
        except Exception as error:
            rank = distributed.get_rank()
            raise SpawnedFunctionFailed(f"spawn: fn raised the error above in process {rank}") from error
        sys.exit(0)
    if launched_by_mpi():
        _run_here(fn, tuple(args), nprocs)
        return None if join else SpawnContext(None)
    if nprocs == 1:
        fn(0, *args)
        return None if join else SpawnContext(None)
    script = sys.argv[0] if sys.argv else ""
    if not script or script == "-c" or not os.path.exists(script):
        raise RuntimeError("spawn starts the script again under mpiexec, which needs it to be a file run as "
                           "python script.py; from elsewhere, launch with mpiexec -n N python script.py")
    mpiexec = find_mpiexec()
    if mpiexec is None:
        raise RuntimeError("spawn with nprocs > 1 runs on MPI: pip install 'chainrule[mpi]' (mpi4py and mpich)")
    env = dict(os.environ, **{_SPAWNED: "1"})
    process = subprocess.Popen([mpiexec, "-n", str(nprocs), sys.executable, *sys.argv], env=env)
    context = SpawnContext(process)
    if join:
        context.join()
        return None
    return context


def start_processes(fn: Callable, args: tuple = (), nprocs: int = 1, join: bool = True, daemon: bool = False,
                    start_method: str = "spawn") -> SpawnContext | None:
    """PyTorch's ``start_processes``: :func:`spawn` (every start method starts MPI processes)."""
    return spawn(fn, args, nprocs, join, daemon, start_method)


def get_all_start_methods() -> list[str]:
    return ["spawn"]


def get_start_method(allow_none: bool = False) -> str:
    return "spawn"


def set_start_method(method: str, force: bool = False) -> None:
    """Accepted for ``"spawn"``, ``"fork"`` and ``"forkserver"``: processes are MPI's."""
    if method not in ("spawn", "fork", "forkserver"):
        raise ValueError(f"set_start_method: unknown start method {method!r}")


def cpu_count() -> int:
    return os.cpu_count() or 1

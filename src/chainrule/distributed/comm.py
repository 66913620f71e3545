"""The processes of a job, on MPI through mpi4py: joining them, and who is who.

``mpiexec -n 4 python train.py`` (or ``srun`` on a cluster) starts four copies of a
script; :func:`init` joins them, and :func:`rank` and :func:`world_size` say which one
this is and how many there are (the collectives that move arrays between them are in
``collectives.py``). MPI does the transport: nothing here opens a socket of its own.

A failure on one process must not leave the others waiting forever in a collective, so
:func:`init` installs an exception hook that prints the error with its rank and aborts the
whole job (``MPI_Abort``); the launcher then ends every process with a non-zero status.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from chainrule.core.heap import keep_freed_memory

__all__ = [
    "init",
    "is_initialized",
    "rank",
    "world_size",
    "abort",
    "communicator",
    "DistributedError",
    # PyTorch's spellings (torch.distributed), for code written for it
    "init_process_group",
    "destroy_process_group",
    "is_available",
    "get_rank",
    "get_world_size",
    "get_backend",
    "get_node_local_rank",
    "group",
    "is_gloo_available",
    "is_mpi_available",
    "is_nccl_available",
    "is_torchelastic_launched",
]


class DistributedError(RuntimeError):
    """The processes of a job disagree (model structure, array shapes), or MPI is missing."""


class _NotInitialisedError(DistributedError, ValueError):
    """A collective before :func:`init`: a ValueError too, as PyTorch's."""


class _State:
    comm: Any = None  # the communicator, once init() has run
    previous_hook: Callable | None = None
    kept_heap: bool = False  # whether init() raised malloc's thresholds
    backend: str = "mpi"  # what init_process_group was asked for


_STATE = _State()


def mpi():
    """The ``mpi4py.MPI`` module (importing it initialises MPI), or a clear error."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise DistributedError(
            f"chainrule.distributed needs mpi4py and an MPI library ({e}); install them with "
            "pip install 'chainrule[mpi]' (on a cluster, build mpi4py against the site's MPI)"
        ) from None
    return MPI


def init(comm=None, abort_on_exception: bool = True, keep_heap: bool = True) -> None:
    """Join the processes of this job (those ``mpiexec``/``srun`` started); a single
    process started without a launcher is a job of one. Calling it again does nothing.

    ``comm`` is an mpi4py communicator to work in (default ``COMM_WORLD``). With
    ``abort_on_exception`` (the default) an exception that ends one process prints its
    traceback, prefixed with the rank, and aborts every process of the job, so none is
    left waiting in a collective.

    With ``keep_heap`` (the default), in a job of more than one process on Linux with
    glibc, malloc keeps freed memory of up to 128 MB at the top of its heap and maps
    blocks of 32 MB and more on their own, rather than shrinking the heap whenever MPI
    frees the temporary buffer of an allreduce: otherwise every training step faults the
    same pages in again (about 15 % of a W4 step). Settings of your own in
    ``GLIBC_TUNABLES`` or ``MALLOC_TRIM_THRESHOLD_``/``MALLOC_MMAP_THRESHOLD_`` are left
    as they are.

    As ``torchrun`` does, it sets the environment variables ``RANK``, ``WORLD_SIZE``,
    ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` (the processes on this machine), for scripts
    written for PyTorch that read them.

    >>> from chainrule import distributed as dist
    >>> dist.init()
    >>> dist.rank(), dist.world_size(), dist.is_initialized()
    (0, 1, True)
    """
    if _STATE.comm is not None:
        return
    MPI = mpi()
    _STATE.comm = MPI.COMM_WORLD if comm is None else comm
    _export_torchrun_variables(_STATE.comm)
    if keep_heap and _STATE.comm.Get_size() > 1:
        _STATE.kept_heap = keep_freed_memory()
    if abort_on_exception and _STATE.previous_hook is None:
        _STATE.previous_hook = sys.excepthook
        sys.excepthook = _abort_on_uncaught


def _abort_on_uncaught(kind, value, tb) -> None:
    comm = _STATE.comm
    if comm is None or comm.Get_size() == 1 or issubclass(kind, SystemExit | KeyboardInterrupt):
        (_STATE.previous_hook or sys.__excepthook__)(kind, value, tb)
        return
    text = "".join(traceback.format_exception(kind, value, tb))
    abort(f"{text.rstrip()}", code=1)


_OUTPUT_GRACE_S = 0.5


def abort(message: str | None = None, code: int = 1) -> None:
    """End every process of the job now with exit status ``code``, after printing
    ``message`` (prefixed with this process's rank) on stderr."""
    comm = _STATE.comm
    r = comm.Get_rank() if comm is not None else 0
    if message:
        lines = message.splitlines() or [""]
        sys.stderr.write("".join(f"[rank {r}] {line}\n" for line in lines))
    sys.stderr.flush()
    sys.stdout.flush()
    if comm is None:
        raise SystemExit(code)
    # The launcher forwards each process's output through a pipe of its own and stops
    # forwarding when the abort ends the job: without a pause, the message just written
    # can be lost with it on a busy machine, and the job ends with no word of why.
    time.sleep(_OUTPUT_GRACE_S)
    comm.Abort(code)


def is_initialized() -> bool:
    """Whether :func:`init` has run in this process."""
    return _STATE.comm is not None


def communicator():
    """The mpi4py communicator of the job (after :func:`init`)."""
    if _STATE.comm is None:
        raise _NotInitialisedError(
            "chainrule.distributed is not initialised: call chainrule.distributed.init() first "
            "(launch the script with mpiexec -n N, or run it alone as a job of one)"
        )
    return _STATE.comm


# The processes of each communicator that share this one's machine, made once: MPI has a
# few thousand communicators to give, and a program may wrap many models.
_MACHINES: dict = {}


def same_machine(comm):
    """The communicator of ``comm``'s processes that run on this process's machine, in
    ``comm``'s order (collective the first time for each ``comm``)."""
    if id(comm) not in _MACHINES:  # the entry keeps comm alive, so its id stays its own
        _MACHINES[id(comm)] = (comm, comm.Split_type(mpi().COMM_TYPE_SHARED, key=comm.Get_rank()))
    return _MACHINES[id(comm)][1]


def _export_torchrun_variables(comm) -> None:
    """Set ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` as ``torchrun``
    sets them, from the MPI job, for scripts written for it that read them
    (``int(os.environ["LOCAL_RANK"])``)."""
    node = same_machine(comm)
    values = {"RANK": comm.Get_rank(), "WORLD_SIZE": comm.Get_size(),
              "LOCAL_RANK": node.Get_rank(), "LOCAL_WORLD_SIZE": node.Get_size()}
    os.environ.update({name: str(value) for name, value in values.items()})


def rank() -> int:
    """This process's number in the job, from 0 to ``world_size() - 1``."""
    return communicator().Get_rank()


def world_size() -> int:
    """How many processes the job has."""
    return communicator().Get_size()


# -- PyTorch's spellings -------------------------------------------------------------------
class _World:
    """The one group there is: the whole job (PyTorch's ``dist.group.WORLD``)."""

    def __repr__(self) -> str:
        return "<the whole job>"


class group:  # noqa: N801 - PyTorch's name
    """PyTorch's ``dist.group``: ``group.WORLD``, the whole job, is the only group."""

    WORLD = _World()


def is_world(group_) -> bool:
    """Whether ``group_`` names the whole job (``None`` or ``dist.group.WORLD``)."""
    return group_ is None or isinstance(group_, _World)


def get_rank(group=None) -> int:
    """PyTorch's ``get_rank``: :func:`rank` (``group`` must be the whole job)."""
    check_group(group)
    return rank()


def get_world_size(group=None) -> int:
    """PyTorch's ``get_world_size``: :func:`world_size` (``group`` must be the whole job)."""
    check_group(group)
    return world_size()


def get_backend(group=None) -> str:
    """PyTorch's ``get_backend``: the backend given to :func:`init_process_group`
    (``"gloo"`` or ``"mpi"``; ``"mpi"`` after :func:`init`). The transport is MPI either way."""
    check_group(group)
    communicator()
    return _STATE.backend


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """PyTorch's ``get_node_local_rank``: this process's number among those of its machine
    (``LOCAL_RANK``, which :func:`init` sets), or ``fallback_rank`` before :func:`init`."""
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is None:
        raise RuntimeError("get_node_local_rank: LOCAL_RANK is not set: call init_process_group() first "
                           "or pass fallback_rank")
    return int(fallback_rank)


def is_nccl_available() -> bool:
    """False: chainrule runs on CPUs (PyTorch's scripts then choose ``"gloo"``)."""
    return False


def is_gloo_available() -> bool:
    """Whether ``init_process_group("gloo")`` works here: MPI carries it (mpi4py imports)."""
    return is_available()


is_mpi_available = is_gloo_available


def is_torchelastic_launched() -> bool:
    """False: the processes are started by an MPI launcher, not by ``torchrun``."""
    return False


def is_available() -> bool:
    """Whether MPI can be used here (mpi4py imports)."""
    try:
        mpi()
    except DistributedError:
        return False
    return True


def init_process_group(backend: str | None = None, init_method: str | None = None, timeout=None,
                       world_size: int = -1, rank: int = -1, **options) -> None:
    """PyTorch's ``init_process_group``, for code written for it: :func:`init`. The
    processes are the ones the MPI launcher started, so ``init_method`` and ``store`` have
    nothing to do, and a ``world_size`` or ``rank`` given must be MPI's (an error says so).

    >>> from chainrule import distributed as dist
    >>> dist.init_process_group("gloo")
    >>> dist.get_rank(), dist.get_world_size()
    (0, 1)
    """
    if backend is not None and str(backend).lower() not in ("gloo", "mpi", "cpu:gloo"):
        raise ValueError(f"init_process_group: backend {backend!r} is not available: chainrule runs on "
                         "CPUs over MPI; use 'gloo' or 'mpi' (or leave backend out)")
    init()
    _STATE.backend = "gloo" if backend is None else str(backend).lower().removeprefix("cpu:")
    for name, given, actual in (("world_size", world_size, get_world_size()), ("rank", rank, get_rank())):
        if given not in (-1, None) and int(given) != actual:
            raise DistributedError(
                f"init_process_group: {name}={given} was given, but the MPI launcher started this "
                f"process with {name} {actual}; launch with mpiexec -n N (N processes), or leave "
                f"{name} out"
            )


def destroy_process_group(group=None) -> None:
    """PyTorch's ``destroy_process_group``: this process leaves the job's collectives
    (:func:`is_initialized` is False again; MPI itself ends with the process)."""
    check_group(group)
    _STATE.comm = None


def check_group(group_) -> None:
    if not is_world(group_):
        raise ValueError("chainrule.distributed has one group, the whole job: pass group=None "
                         f"(or dist.group.WORLD), not {group_!r}")

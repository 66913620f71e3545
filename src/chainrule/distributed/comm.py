"""The processes of a job, on MPI through mpi4py: joining them, and who is who.

``mpiexec -n 4 python train.py`` (or ``srun`` on a cluster) starts four copies of a
script; :func:`init` joins them, and :func:`rank` and :func:`world_size` say which one
this is and how many there are (the collectives that move arrays between them are in
``collectives.py``). MPI does the transport: nothing here opens a socket of its own.

A failure on one process must not leave the others waiting forever in a collective, so
:func:`init` installs an exception hook that prints the error with its rank and aborts the
whole job (``MPI_Abort``); the launcher then ends every process with a non-zero status.
An uncaught ``sys.exit(status)`` or ``os._exit(status)`` with a failing status does the
same, and a watchdog thread on each process ends the job when a process that has ended
(``raise SystemExit``, or its program finished) leaves another waiting for it.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

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
    "Backend",
    "is_available",
    "get_rank",
    "get_world_size",
    "get_backend",
    "get_node_local_rank",
    "group",
    "GroupMember",
    "ProcessGroup",
    "new_group",
    "new_subgroups",
    "new_subgroups_by_enumeration",
    "get_process_group_ranks",
    "get_global_rank",
    "get_group_rank",
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
    job: Any = None  # the same, kept after destroy_process_group(): what an abort ends
    previous_hook: Callable | None = None
    previous_os_exit: Callable | None = None  # os._exit as init() found it
    exit_status: int = 0  # the failing status of an uncaught sys.exit(): the job ends with it
    pid: int = 0  # the process init() ran in (not a forked child of it)
    watchdog: Any = None  # the _Watchdog of this process, in a job of more than one
    kept_heap: bool = False  # whether init() raised malloc's thresholds
    backend: str = "mpi"  # what init_process_group was asked for
    process_group: bool = False  # whether init_process_group ran (and no destroy_process_group since)


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
    _STATE.comm = _STATE.job = MPI.COMM_WORLD if comm is None else comm
    _export_torchrun_variables(_STATE.comm)
    if keep_heap and _STATE.comm.Get_size() > 1:
        _STATE.kept_heap = keep_freed_memory()
    if abort_on_exception and _STATE.previous_hook is None:
        _STATE.previous_hook = sys.excepthook
        sys.excepthook = _abort_on_uncaught
        _STATE.pid = os.getpid()
        sys.exit = _exit
        _STATE.previous_os_exit = os._exit
        os._exit = _os_exit
        atexit.register(_at_exit)
        if _STATE.job.Get_size() > 1 and MPI.Query_thread() == MPI.THREAD_MULTIPLE:
            _STATE.watchdog = _Watchdog(_STATE.job)
            _STATE.watchdog.start()


def _status(code) -> int:
    """The exit status Python gives ``SystemExit(code)``."""
    if code is None or isinstance(code, int):
        return int(code or 0) & 0xFF
    return 1  # a message: Python prints it and exits with 1


class _SystemExit(SystemExit):
    """What ``sys.exit`` raises once :func:`init` has run: a ``SystemExit`` whose status
    is noted when the interpreter reads it on its way out, with no Python code left
    running (an exit that nobody caught); one that is caught is forgotten with it."""

    @property
    def code(self):
        code = SystemExit.code.__get__(self)
        try:
            sys._getframe(1)  # the reader: Python code, which may catch and go on
        except ValueError:  # none: the interpreter, ending the program with this status
            if threading.current_thread() is threading.main_thread():
                _STATE.exit_status = _status(code)
        return code

    @code.setter
    def code(self, value) -> None:
        SystemExit.code.__set__(self, value)

    def __reduce__(self):  # pickled (sent from a worker process, say) as Python's own
        return SystemExit, self.args


_SystemExit.__name__ = _SystemExit.__qualname__ = "SystemExit"  # as Python's, in messages
_SystemExit.__module__ = "builtins"


def _exit(status=None):
    """``sys.exit``, whose status the job ends with if nobody catches it: MPI's ending of
    a process waits for the others, so one that leaves with ``sys.exit(1)`` while they wait
    in a collective would wait with them forever. As under ``torchrun``, a failing status
    ends the job; in another thread than the main one it ends that thread only."""
    raise _SystemExit(status)


def _os_exit(status: int) -> None:
    """``os._exit``, which runs no handler: with a failing status, in the process that
    called :func:`init` (not a forked child of it), the job is ended with a word naming
    this process, rather than by the launcher in silence."""
    comm = _STATE.job
    if (status and os.getpid() == _STATE.pid and comm is not None and comm.Get_size() > 1
            and not mpi().Is_finalized()):
        abort(f"exited with status {status} (os._exit): ending every process of the job", code=status & 0xFF)
    _STATE.previous_os_exit(status)


def _at_exit() -> None:
    """At the end of this process: an uncaught ``sys.exit`` with a failing status ends the
    job; otherwise the others are told that this process has ended (see :class:`_Watchdog`)."""
    comm = _STATE.job
    if comm is None or comm.Get_size() == 1 or os.getpid() != _STATE.pid or mpi().Is_finalized():
        return
    if _STATE.exit_status:
        abort(f"exited with status {_STATE.exit_status} (sys.exit): ending every process of the job",
              code=_STATE.exit_status)
    if _STATE.watchdog is not None:
        _STATE.watchdog.leave()


_PACKAGE = __name__.rsplit(".", 1)[0] + "."  # chainrule.distributed.
_LIBRARY = __name__.split(".", 1)[0] + "."  # chainrule.
_NOT_MPI = (_PACKAGE + "store",)  # its modules whose waits are not for other processes' MPI calls
_POLL_S = 0.1  # how often the watchdog looks
_STUCK_POLLS = 10  # how many looks in a row find the main thread waiting before the job ends
_LEFT = 77  # the tag of the message "this process has ended"


class _Watchdog(threading.Thread):
    """Each process's watch for processes that have ended while it waits for them.

    A process ends by ``raise SystemExit(...)`` (whose status Python tells nobody), by
    its program finishing, or by a ``sys.exit`` that was caught: MPI then waits, in the
    ending process, for the others to end too, and a process that waits for it in a
    collective would wait forever. So each process, as it ends, tells the others on a
    communicator of their own; a process told so whose main thread then stays inside
    ``chainrule.distributed`` (waiting in a collective, a ``recv`` or a gradient sum) for
    a second ends the job, naming the process that has gone. A process that is busy
    elsewhere (writing a checkpoint) is left alone, and ends as usual."""

    def __init__(self, comm):
        super().__init__(name="chainrule.distributed watchdog", daemon=True)
        self._comm = comm.Dup()  # collective: init() is
        self._stop_event = threading.Event()
        self._main = threading.main_thread().ident
        self.gone: list[int] = []

    def run(self) -> None:
        MPI = mpi()
        box, status = np.zeros(1, np.int64), MPI.Status()
        request = self._comm.Irecv(box, source=MPI.ANY_SOURCE, tag=_LEFT)
        where, polls = None, 0
        while not self._stop_event.wait(_POLL_S):
            while request.Test(status):
                self.gone.append(status.Get_source())
                request = self._comm.Irecv(box, source=MPI.ANY_SOURCE, tag=_LEFT)
            frame = sys._current_frames().get(self._main) if self.gone else None
            here = None if frame is None else (frame, frame.f_lasti)
            module = "" if frame is None else str(frame.f_globals.get("__name__", ""))
            if here is None or not module.startswith(_PACKAGE) or module in _NOT_MPI or here != where:
                where, polls = here, 0
                continue
            polls += 1
            if polls >= _STUCK_POLLS and not self._stop_event.is_set():
                gone = ", ".join(map(str, sorted(set(self.gone))))
                # the outermost function of this package in the calls from the program, and
                # the program's line (calls pass through chainrule's other layers, such as
                # the engine for an eager Tensor's all_reduce)
                entry, caller = frame, frame.f_back
                while caller is not None and str(caller.f_globals.get("__name__", "")).startswith(_LIBRARY):
                    if str(caller.f_globals.get("__name__", "")).startswith(_PACKAGE):
                        entry = caller
                    caller = caller.f_back
                called = "" if caller is None else (
                    f" (called at {os.path.basename(caller.f_code.co_filename)}:{caller.f_lineno})")
                abort(f"rank {gone} has ended while this process waits for it in {entry.f_code.co_name}{called}: "
                      "ending every process of the job", code=1)
        request.Cancel()
        request.Wait()

    def leave(self) -> None:
        """Stop watching, and tell the other processes that this one has ended."""
        self._stop_event.set()
        self.join()
        MPI, me = mpi(), self._comm.Get_rank()
        note = np.zeros(1, np.int64)
        MPI.Request.Waitall([self._comm.Isend(note, dest=r, tag=_LEFT)
                             for r in range(self._comm.Get_size()) if r != me])


def _abort_on_uncaught(kind, value, tb) -> None:
    # after destroy_process_group() too (a script's `finally:` calls it on the way out
    # while the others wait in a collective): the job ends only if this process aborts it
    comm = _STATE.job
    if (comm is None or comm.Get_size() == 1 or issubclass(kind, SystemExit | KeyboardInterrupt)
            or mpi().Is_finalized()):
        (_STATE.previous_hook or sys.__excepthook__)(kind, value, tb)
        return
    text = "".join(traceback.format_exception(kind, value, tb))
    abort(f"{text.rstrip()}", code=1)


_OUTPUT_GRACE_S = 0.5


def abort(message: str | None = None, code: int = 1) -> None:
    """End every process of the job now with exit status ``code``, after printing
    ``message`` (prefixed with this process's rank) on stderr."""
    comm = _STATE.comm if _STATE.comm is not None else _STATE.job
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


# What the MPI launchers tell each process in its environment: (rank, size, rank on this
# machine, processes on this machine)
_LAUNCHER_VARIABLES = (
    ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),  # MPICH's mpiexec (Hydra)
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"),
    ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", None),  # srun
)


def _export_launcher_variables() -> None:
    """``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` from the MPI
    launcher's variables, as soon as chainrule is imported: scripts written for
    ``torchrun`` read them before ``init_process_group`` (``int(os.environ["LOCAL_RANK"])``),
    which then sets them from MPI itself. Under ``torchrun`` (no MPI launcher) nothing
    changes; MPI is not started here."""
    for names in _LAUNCHER_VARIABLES:
        if names[0] in os.environ and names[1] in os.environ:  # (a value inherited from a parent is stale)
            for torch_name, name in zip(("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"), names, strict=True):
                value = os.environ.get(name) if name else None
                if value is not None and value.strip().isdigit():
                    os.environ[torch_name] = value.strip()
            return


_export_launcher_variables()


def rank() -> int:
    """This process's number in the job, from 0 to ``world_size() - 1``."""
    return communicator().Get_rank()


def world_size() -> int:
    """How many processes the job has."""
    return communicator().Get_size()


# -- PyTorch's spellings -------------------------------------------------------------------
class _World:
    """The whole job (PyTorch's ``dist.group.WORLD``)."""

    def rank(self) -> int:
        return rank()

    def size(self) -> int:
        return world_size()

    def __repr__(self) -> str:
        return "<the whole job>"


class ProcessGroup:
    """Some of the job's processes, made by :func:`new_group` (PyTorch's ``ProcessGroup``):
    a collective given it runs among them alone, over an MPI communicator of their own.
    ``rank()`` is this process's number in the group, ``size()`` how many it has."""

    def __init__(self, comm, ranks: tuple[int, ...]):
        self._comm = comm
        self.ranks = ranks  # the members' numbers in the job, in the group's order

    def rank(self) -> int:
        return self._comm.Get_rank()

    def size(self) -> int:
        return len(self.ranks)

    def __repr__(self) -> str:
        return f"<process group of ranks {list(self.ranks)}>"


class _NonMember:
    """What :func:`new_group` returns to a process it leaves out (PyTorch's
    ``GroupMember.NON_GROUP_MEMBER``): a collective given it does nothing there."""

    def __repr__(self) -> str:
        return "<not a member of the group>"


class group:  # noqa: N801 - PyTorch's name
    """PyTorch's ``dist.group``: ``group.WORLD``, the whole job."""

    WORLD = _World()


class GroupMember:
    """PyTorch's ``dist.GroupMember``: ``WORLD``, and ``NON_GROUP_MEMBER``, what
    :func:`new_group` returns to a process that is not in the group."""

    WORLD = group.WORLD
    NON_GROUP_MEMBER = _NonMember()


def is_world(group_) -> bool:
    """Whether ``group_`` names the whole job (``None`` or ``dist.group.WORLD``)."""
    return group_ is None or isinstance(group_, _World)


def spans_job(group_) -> bool:
    """Whether ``group_`` holds every process of the job, in the job's order: ``None``,
    ``dist.group.WORLD``, or a group of :func:`new_group` with every rank."""
    return is_world(group_) or (isinstance(group_, ProcessGroup) and group_.ranks == tuple(range(world_size())))


def group_comm(group_):
    """The MPI communicator of ``group_`` (None or ``group.WORLD``: the job's; a group of
    :func:`new_group`: its own), or None on a process that is not in it."""
    if is_world(group_):
        return communicator()
    if isinstance(group_, ProcessGroup):
        communicator()  # not after destroy_process_group()
        if group_._comm is None:
            raise ValueError(f"{group_!r} was destroyed by destroy_process_group(group)")
        return group_._comm
    if isinstance(group_, _NonMember):
        return None
    raise ValueError(f"group must be None, dist.group.WORLD or a group made by dist.new_group(), not {group_!r}")


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization: bool = False,
              group_desc=None):
    """PyTorch's ``new_group``: a :class:`ProcessGroup` of the processes ``ranks`` (numbers
    in the job; all of them when None), numbered in the group in increasing order.
    Collective: every process of the job calls it, with the same ``ranks``; those not in
    it get ``GroupMember.NON_GROUP_MEMBER``. As in PyTorch, ``src``/``dst`` of a
    collective on a group are numbers in the job, and ``get_rank(group)`` the number in
    the group (-1 outside it)."""
    world = communicator()
    size = world.Get_size()
    members = tuple(range(size)) if ranks is None else tuple(sorted({int(r) for r in ranks}))
    if not members or not all(0 <= r < size for r in members):
        raise ValueError(f"new_group: ranks must be ranks of this job of {size} processes, got {ranks!r}")
    check_same(world, [("ranks", members)], "new_group")
    mine = world.Get_rank() in members
    sub = world.Split(0 if mine else mpi().UNDEFINED, key=world.Get_rank())
    return ProcessGroup(sub, members) if mine else GroupMember.NON_GROUP_MEMBER


def new_subgroups_by_enumeration(ranks_per_subgroup_list, timeout=None, backend=None, pg_options=None,
                                 group_desc=None) -> tuple:
    """PyTorch's ``new_subgroups_by_enumeration``: a :func:`new_group` of each list of
    ranks (a process in at most one of them), as ``(this process's group or None, [every
    group])``. Collective: every process calls it with the same lists."""
    lists = [[int(r) for r in ranks] for ranks in ranks_per_subgroup_list or []]
    if not lists:
        raise ValueError("new_subgroups_by_enumeration: the subgroup rank list must not be empty")
    seen: dict[int, int] = {}
    for i, ranks in enumerate(lists):
        for r in ranks:
            if r in seen:  # PyTorch's error and words
                raise ValueError(f"Rank {r} has appeared in both subgroup {lists[seen[r]]} and {ranks}")
            seen[r] = i
    subgroups = [new_group(ranks, timeout=timeout, backend=backend) for ranks in lists]
    mine = seen.get(rank())
    return (None if mine is None else subgroups[mine]), subgroups


def new_subgroups(group_size: int | None = None, group=None, timeout=None, backend=None, pg_options=None,
                  group_desc=None) -> tuple:
    """PyTorch's ``new_subgroups``: the job cut into groups of ``group_size`` consecutive
    ranks, as ``(this process's group, [every group])``. Collective."""
    if group_size is None:  # PyTorch's default is the GPUs per machine
        raise ValueError("new_subgroups: give group_size (PyTorch's default, the number of GPUs per machine, "
                         "has no meaning here)")
    size = world_size()
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size <= 0:
        raise ValueError(f"new_subgroups: group_size must be a positive integer, got {group_size!r}")
    if size % group_size:
        raise ValueError(f"The world size ({size}) must be divisible by group_size={group_size}")
    return new_subgroups_by_enumeration([list(range(start, start + group_size))
                                         for start in range(0, size, group_size)], timeout, backend)


def get_rank(group=None) -> int:
    """PyTorch's ``get_rank``: :func:`rank`, or this process's number in ``group`` (-1 if
    it is not in it)."""
    comm = group_comm(group)
    return -1 if comm is None else comm.Get_rank()


def get_world_size(group=None) -> int:
    """PyTorch's ``get_world_size``: :func:`world_size`, or how many processes ``group``
    has (-1 on a process that is not in it)."""
    comm = group_comm(group)
    return -1 if comm is None else comm.Get_size()


def get_process_group_ranks(group) -> list[int]:
    """PyTorch's ``get_process_group_ranks``: the members' numbers in the job."""
    group_comm(group)
    return list(group.ranks) if isinstance(group, ProcessGroup) else list(range(world_size()))


def get_global_rank(group, group_rank: int) -> int:
    """PyTorch's ``get_global_rank``: the number in the job of ``group``'s process ``group_rank``."""
    members = get_process_group_ranks(group)
    if not 0 <= group_rank < len(members):
        raise ValueError(f"get_global_rank: group rank {group_rank} is not in {group!r} of {len(members)} processes")
    return members[group_rank]


def get_group_rank(group, global_rank: int) -> int:
    """PyTorch's ``get_group_rank``: the number in ``group`` of the job's process ``global_rank``."""
    members = get_process_group_ranks(group)
    if global_rank not in members:
        raise ValueError(f"get_group_rank: process {global_rank} is not in {group!r}")
    return members.index(global_rank)


def get_backend(group=None) -> str:
    """PyTorch's ``get_backend``: the backend given to :func:`init_process_group`
    (``"gloo"`` or ``"mpi"``; ``"mpi"`` after :func:`init`). The transport is MPI either way."""
    group_comm(group)
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


class Backend(str):
    """PyTorch's ``dist.Backend``: the backends' names (``Backend.GLOO`` is ``"gloo"``),
    and ``Backend("GLOO")``, a name in lower case. :func:`init_process_group` takes
    ``"gloo"`` and ``"mpi"``, both MPI here.

    >>> from chainrule import distributed as dist
    >>> dist.Backend.GLOO, dist.Backend("MPI")
    ('gloo', 'mpi')
    """

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    UCC = "ucc"
    MPI = "mpi"
    XCCL = "xccl"

    def __new__(cls, name: str) -> str:
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, got {name!r}")
        value = getattr(Backend, name.upper(), Backend.UNDEFINED)
        return name.lower() if value == Backend.UNDEFINED else value


def _cpu_backend(backend) -> str:
    """The backend that ``backend`` gives the CPU's tensors: ``"gloo"``, or in PyTorch's
    map of devices to backends (``"cpu:gloo,cuda:nccl"``) the one for ``cpu``; ``""`` if none."""
    name = str(backend).lower()
    if ":" not in name:
        return name
    pairs = [part.split(":", 1) for part in name.split(",")]
    if any(len(pair) != 2 for pair in pairs):
        return ""
    return next((b.strip() for d, b in pairs if d.strip() == "cpu"), "")


def init_process_group(backend: str | None = None, init_method: str | None = None, timeout=None,
                       world_size: int = -1, rank: int = -1, **options) -> None:
    """PyTorch's ``init_process_group``, for code written for it: :func:`init`. The
    processes are the ones the MPI launcher started, so ``init_method`` and ``store`` have
    nothing to do, and a ``world_size`` or ``rank`` given must be MPI's (an error says so).
    ``backend`` is ``"gloo"`` or ``"mpi"`` (the transport is MPI either way), or PyTorch's
    map of devices to backends, such as ``"cpu:gloo,cuda:nccl"``, whose backend for
    ``cpu`` is one of them (chainrule's tensors are on the CPU). As in PyTorch, a second
    call before :func:`destroy_process_group` is a ValueError.

    >>> from chainrule import distributed as dist
    >>> dist.init_process_group("gloo")
    >>> dist.get_rank(), dist.get_world_size()
    (0, 1)
    >>> dist.destroy_process_group()
    """
    cpu = "gloo" if backend is None else _cpu_backend(backend)
    if cpu not in ("gloo", "mpi"):
        raise ValueError(f"init_process_group: backend {backend!r} is not available: chainrule runs on "
                         "CPUs over MPI; use 'gloo' or 'mpi' (or 'cpu:gloo,cuda:nccl', or leave backend out)")
    if _STATE.process_group and _STATE.comm is not None:
        # PyTorch's error and class: a second call is a script's mistake (a setup run twice),
        # whose backend or rank would otherwise change under the first one's collectives
        raise ValueError("init_process_group: trying to initialize the default process group twice! It "
                         f"was initialized with backend {_STATE.backend!r}; call it once per process, or "
                         "call destroy_process_group() first (init() may be called any number of times)")
    init()
    _STATE.backend = cpu
    for name, given, actual in (("world_size", world_size, get_world_size()), ("rank", rank, get_rank())):
        if given not in (-1, None) and int(given) != actual:
            raise DistributedError(
                f"init_process_group: {name}={given} was given, but the MPI launcher started this "
                f"process with {name} {actual}; launch with mpiexec -n N (N processes), or leave "
                f"{name} out"
            )
    _STATE.process_group = True


def destroy_process_group(group=None) -> None:
    """PyTorch's ``destroy_process_group``: this process leaves the job's collectives
    (:func:`is_initialized` is False again; MPI itself ends with the process), or, given
    a group of :func:`new_group`, frees that group."""
    if isinstance(group, ProcessGroup):
        if group._comm is not None:
            group._comm.Free()
            group._comm = None
        return
    check_group(group)
    _STATE.comm = None
    _STATE.process_group = False


def check_group(group_) -> None:
    """For what takes the whole job alone: a clear error for any other group."""
    if not spans_job(group_):
        raise ValueError("only the whole job is supported here: pass group=None "
                         f"(or dist.group.WORLD, or a group of every process), not {group_!r}")


def check_same(comm, described: list[tuple[str, Any]], what: str) -> None:
    """Raise the same :class:`DistributedError` on every process unless all of them are in
    the same collective ``what`` with the same ``[(name, description), ...]`` (structures,
    shapes, dtypes, op); the error names the first difference.

    It costs one allreduce of a 16-byte digest, and it is the first MPI call of every
    collective here, so processes that called different collectives (one ``all_reduce``,
    another ``broadcast``) meet in it too, and raise rather than wait for each other
    forever or exchange the wrong data."""
    described = [("collective", what), *described]
    if _agree(comm, described):
        return
    _compare(comm.allgather(described), what)


def _agree(comm, described: list) -> bool:
    """Whether every process passed the same ``described`` (one allreduce of a digest)."""
    digest = hashlib.blake2b(repr(described).encode(), digest_size=8).digest()
    h = int(np.frombuffer(digest, np.int64)[0])
    both = np.array([h, ~h], np.int64)  # max of h and of ~h: h everywhere iff all agree
    comm.Allreduce(mpi().IN_PLACE, both, op=mpi().MAX)
    return bool(both[0] == h and both[1] == ~h)


# What a process that has called Horovod's join() passes to check_same, and the collectives
# it then takes part in (with values that change nothing: zeros to a sum, no rows to a gather)
JOINED = [("collective", "join")]
JOINABLE = ("all_reduce", "allgather")


def joined_round(comm) -> list | None:
    """For a process that has called Horovod's ``join()``: meet the others in their next
    collective's check. Returns what they described, or None once every process has joined."""
    if _agree(comm, JOINED):
        return None
    everyone = comm.allgather(JOINED)
    return _compare(everyone, next(d for d in everyone if d != JOINED)[0][1])


def _compare(everyone: list, what: str) -> list:
    """Every process's description, the same on every process: what the processes that
    have not joined agree on, or the same :class:`DistributedError` everywhere."""
    joined = [r for r, d in enumerate(everyone) if d == JOINED]
    if joined and what not in JOINABLE:
        raise DistributedError(
            f"{what}: rank {joined[0]} has called hvd.join(), which takes part in the others' allreduce "
            "and allgather only; call join() after the last of the others' other collectives")
    ranks = [(r, d) for r, d in enumerate(everyone) if d != JOINED]
    first, reference = ranks[0]
    for r, mine in ranks[1:]:
        if mine == reference:
            continue
        for k in range(max(len(mine), len(reference))):
            a = reference[k] if k < len(reference) else None
            b = mine[k] if k < len(mine) else None
            if a == b:
                continue
            if k == 0:
                raise DistributedError(
                    f"{what}: the processes called different collectives: rank {first} called {a[1]}, rank {r} "
                    f"called {b[1]}; every process must call the same collectives in the same order"
                )
            raise DistributedError(
                f"{what}: rank {r} differs from rank {first} at {_name(a, b)}: rank {first} has "
                f"{_show(a)}, rank {r} has {_show(b)}"
            )
    if not joined:
        raise DistributedError(f"{what}: the processes passed different arrays")  # digests differ, lists too
    return reference


def _name(a, b) -> str:
    return repr((a or b)[0])


def _show(entry) -> str:
    if entry is None:
        return "nothing there"
    name, desc = entry
    if name == "tree":
        return f"the tree {desc}"
    if isinstance(desc, tuple) and len(desc) == 2:
        shape, dtype = desc
        return f"{name!r} of shape {tuple(shape)} and dtype {np.dtype(dtype)}"
    return f"{name!r} ({desc})"

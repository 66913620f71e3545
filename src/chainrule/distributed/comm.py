"""The processes of a job and the collectives between them, on MPI through mpi4py.

``mpiexec -n 4 python train.py`` (or ``srun`` on a cluster) starts four copies of a
script; :func:`init` joins them, :func:`rank` and :func:`world_size` say which one this
is and how many there are, and :func:`all_reduce` and :func:`broadcast` move arrays
between them. MPI does the transport: nothing here opens a socket of its own.

A failure on one process must not leave the others waiting forever in a collective, so
:func:`init` installs an exception hook that prints the error with its rank and aborts the
whole job (``MPI_Abort``); the launcher then ends every process with a non-zero status.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.core.heap import keep_freed_memory
from chainrule.core.primitive import Primitive, def_batch, def_jvps, def_vjps
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.core.tensor import Tensor
from chainrule.core.trace import EAGER
from chainrule.numpy import batching

__all__ = [
    "init",
    "is_initialized",
    "rank",
    "world_size",
    "barrier",
    "all_reduce",
    "broadcast",
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
    "monitored_barrier",
    "ReduceOp",
    "Work",
    "all_gather",
    "all_gather_object",
    "broadcast_object_list",
    "reduce",
    "gather",
    "scatter",
    "all_gather_into_tensor",
    "reduce_scatter_tensor",
    "send",
    "recv",
    "isend",
    "irecv",
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
    _check_group(group)
    return rank()


def get_world_size(group=None) -> int:
    """PyTorch's ``get_world_size``: :func:`world_size` (``group`` must be the whole job)."""
    _check_group(group)
    return world_size()


def get_backend(group=None) -> str:
    """PyTorch's ``get_backend``: the backend given to :func:`init_process_group`
    (``"gloo"`` or ``"mpi"``; ``"mpi"`` after :func:`init`). The transport is MPI either way."""
    _check_group(group)
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
    _check_group(group)
    _STATE.comm = None


def _check_group(group_) -> None:
    if not is_world(group_):
        raise ValueError("chainrule.distributed has one group, the whole job: pass group=None "
                         f"(or dist.group.WORLD), not {group_!r}")


class ReduceOp:
    """PyTorch's names for :func:`all_reduce`'s ``op`` (``dist.ReduceOp.SUM``)."""

    SUM = "sum"
    AVG = "mean"
    MAX = "max"
    MIN = "min"
    PRODUCT = "product"


class Work:
    """What ``async_op=True`` returns, as PyTorch's: the collective has already completed
    (chainrule runs it at once), so ``wait()`` returns at once."""

    def __init__(self, result: Any = None):
        self._result = result

    def wait(self, timeout=None) -> bool:
        return True

    def is_completed(self) -> bool:
        return True

    def result(self) -> list:
        return [self._result]


def _in_place_target(tree) -> bool:
    """Whether ``tree`` is one eager Tensor outside any graph, which PyTorch's collectives
    write in place (``dist.all_reduce(t)`` then ``t /= world``)."""
    return isinstance(tree, Tensor) and tree._trace is EAGER and not tree.requires_grad


def _collective_result(tree, result, async_op: bool):
    if _in_place_target(tree):
        tree.copy_(result)
        result = tree
    return Work(result) if async_op else result


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every process of the job has reached this call (PyTorch's signature:
    ``device_ids`` is for GPUs and changes nothing; ``async_op=True`` returns a :class:`Work`)."""
    _check_group(group)
    communicator().Barrier()
    return Work() if async_op else None


def monitored_barrier(group=None, timeout=None, wait_all_ranks: bool = False) -> None:
    """PyTorch's ``monitored_barrier``: :func:`barrier` (a process that fails ends the
    job, see :func:`init`, so nobody waits on it forever)."""
    barrier(group)


# -- all_reduce -----------------------------------------------------------------------------
_OPS = ("sum", "mean", "max", "min", "product")


_OP_ALIASES = {"avg": "mean", "average": "mean", "prod": "product"}  # torch's and Horovod's names


def _check_op(op: str) -> str:
    """``op`` as one of ``_OPS`` (any case; ``"avg"`` and ``"prod"`` too), or a clear error."""
    name = op.lower() if isinstance(op, str) else op
    name = _OP_ALIASES.get(name, name)
    if name not in _OPS:
        raise ValueError(f"all_reduce: op must be one of {', '.join(map(repr, _OPS))} "
                         f"(or a dist.ReduceOp), got {op!r}")
    return name


def _mpi_op(op: str, dtype: np.dtype):
    MPI = mpi()
    if dtype == np.bool_:  # reduced as bytes 0/1: torch's rule, sum and max are or, min and product and
        return MPI.MAX if op in ("sum", "max") else MPI.MIN
    return {"max": MPI.MAX, "min": MPI.MIN, "product": MPI.PROD}.get(op, MPI.SUM)


def _agree(comm, described: list, what: str) -> None:
    """Raise the same :class:`DistributedError` on every process unless all of them pass
    the same ``described`` (names, shapes, dtypes, op) to this collective: one allreduce
    of its digest, so that a mismatch is an error rather than wrong numbers, MPI's
    "message truncated", or a process waiting forever."""
    digest = hashlib.blake2b(repr(described).encode(), digest_size=8).digest()
    h = int(np.frombuffer(digest, np.int64)[0])
    both = np.array([h, ~h], np.int64)  # max of h and of ~h: h everywhere iff all agree
    comm.Allreduce(mpi().IN_PLACE, both, op=mpi().MAX)
    if both[0] != h or both[1] != ~h:
        check_same(comm, described, what)
        raise DistributedError(f"{what}: the processes passed different arrays")  # digests differ, lists too


def _linear(op: str) -> str:
    if op not in ("sum", "mean"):
        raise NotImplementedError(f"all_reduce with op={op!r} has no derivative here; reduce a value "
                                  "outside the differentiated computation (or use op='sum'/'mean')")
    return op


def _reduce_array(x, op: str) -> np.ndarray:
    """The sum (or mean) of ``x`` over all processes, as a new array (``x`` is left as it
    is: under ``cr.jit`` it may be a buffer the program reads again)."""
    out = np.array(x, order="C")  # a contiguous copy, reduced in place
    _check_dtype(out.dtype, op, "the array")
    comm = communicator()
    _agree(comm, [("the array", _spec(out)), ("op", op)], "all_reduce")
    return _reduce_buffer(comm, out, op)


def _check_dtype(dtype: np.dtype, op: str, name: str) -> None:
    if dtype.kind not in "biufc":
        raise TypeError(f"all_reduce: {name} has dtype {dtype}, which cannot be added")
    if dtype == np.bool_ and op == "mean":
        raise TypeError(f"all_reduce: {name} is boolean, which has no mean; reduce it with op='sum' "
                        "(or) or 'min' (and), or cast it to a number first")


def _reduce_buffer(comm, out: np.ndarray, op: str) -> np.ndarray:
    """``out`` (a contiguous array of this process's) reduced in place over all processes."""
    if out.size:
        buffer = out.view(np.uint8) if out.dtype == np.bool_ else out
        comm.Allreduce(mpi().IN_PLACE, buffer, op=_mpi_op(op, out.dtype))
    if op == "mean":
        size = comm.Get_size()
        if out.dtype.kind in "fc":
            out /= size
        else:
            out = out / size
    return out


# Differentiable: with every process's loss summed into one objective, the cotangent of
# an input is the sum over processes of the output's cotangents (the mean: their mean).
all_reduce_p = Primitive(_reduce_array, name="all_reduce")
def_vjps(all_reduce_p, lambda g, ans, x, op: all_reduce_p(g, _linear(op)), None)
def_jvps(all_reduce_p, lambda t, ans, x, op: all_reduce_p(t, _linear(op)), None)
def_batch(batching.stacked, all_reduce_p)  # under vmap: every example reduced at once


def all_reduce(tree, op: str = "sum", group=None, async_op: bool = False):
    """The sum (``op="sum"``) or mean (``op="mean"``) over all processes of an array, a
    number, or a pytree of them (the gradients ``cr.grad`` returns, say); every process
    gets the result. ``"max"``, ``"min"`` and ``"product"`` reduce too, without a
    derivative. Inputs are not modified, except, as in PyTorch (``dist.all_reduce(t,
    op=dist.ReduceOp.SUM)``), one eager Tensor that does not require grad: it is
    written in place (and returned). ``async_op=True`` returns a :class:`Work`.

    It is differentiable, and under ``cr.jit`` it is recorded as an operation that every
    replay performs again (its result is never a constant of the program). Every process
    must call it with the same structure, shapes and dtypes, in the same order.

    >>> import numpy as np
    >>> from chainrule import distributed as dist
    >>> dist.init()
    >>> dist.all_reduce({"w": np.ones(2), "b": 3.0}, op="mean")   # a job of one
    {'w': array([1., 1.]), 'b': 3.0}
    """
    op = _check_op(op)
    _check_group(group)
    leaves, treedef = tree_flatten(tree)
    out = []
    plain_positions = []
    for i, leaf in enumerate(leaves):
        if isinstance(leaf, Tensor):
            out.append(all_reduce_p(leaf, op))
        else:
            out.append(None)
            plain_positions.append(i)
    if plain_positions:
        reduced = _reduce_plain([leaves[i] for i in plain_positions], op)
        for i, value in zip(plain_positions, reduced, strict=True):
            out[i] = value
    return _collective_result(tree, tree_unflatten(treedef, out), async_op)


def _reduce_plain(values: list, op: str) -> list:
    """Plain arrays and numbers, reduced with one message per dtype (packed together)."""
    arrays = [np.asarray(v) for v in values]
    groups: dict[np.dtype, list[int]] = {}
    for i, a in enumerate(arrays):
        _check_dtype(a.dtype, op, f"leaf {i}")
        groups.setdefault(a.dtype, []).append(i)
    comm = communicator()
    _agree(comm, [(f"leaf {i}", _spec(a)) for i, a in enumerate(arrays)] + [("op", op)], "all_reduce")
    results: list = [None] * len(arrays)
    for dtype, members in sorted(groups.items(), key=lambda kv: kv[0].str):  # same order on every rank
        packed = np.concatenate([arrays[i].ravel() for i in members]) if members else np.empty(0, dtype)
        reduced = _reduce_buffer(comm, packed, op)
        start = 0
        for i in members:
            n = arrays[i].size
            results[i] = reduced[start : start + n].reshape(arrays[i].shape)
            start += n
    for i, v in enumerate(values):  # Python numbers stay Python numbers
        if isinstance(v, int | float | complex) and not isinstance(v, bool):
            results[i] = results[i].item()
    return results


def reduce(tensor, dst: int = 0, op: str = "sum", group=None, async_op: bool = False):
    """PyTorch's ``reduce``: like :func:`all_reduce`, but only process ``dst`` has its
    Tensor written with the result (the others' are left as they are)."""
    _check_group(group)
    result = all_reduce(np.array(tensor.primal() if isinstance(tensor, Tensor) else tensor), op)
    if get_rank() == dst and _in_place_target(tensor):
        tensor.copy_(result)
    return Work(tensor) if async_op else None


def all_gather(tensor_list: list, tensor, group=None, async_op: bool = False):
    """PyTorch's ``all_gather``: every process's ``tensor``, in rank order, written into
    the eager Tensors (or NumPy arrays) of ``tensor_list``, one per process, each of
    ``tensor``'s shape and dtype."""
    _check_group(group)
    comm = communicator()
    size = comm.Get_size()
    if len(tensor_list) != size:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} entries for a job of {size} processes")
    value = _send_buffer(tensor)
    check_same(comm, [("tensor", _spec(value))], "all_gather")
    gathered = np.empty((size, *value.shape), value.dtype)
    comm.Allgather(value, gathered)
    for target, part in zip(tensor_list, gathered, strict=True):
        _write(target, part)
    return Work(tensor_list) if async_op else None


def _send_buffer(tensor) -> np.ndarray:
    """The values of an eager Tensor or array, contiguous, as MPI sends them."""
    return np.ascontiguousarray(tensor.primal() if isinstance(tensor, Tensor) else tensor)


def _write(target, value) -> None:
    """``value`` written into an eager Tensor or a NumPy array, as PyTorch's collectives
    write their output arguments."""
    if isinstance(target, Tensor):
        target.copy_(value)
    else:
        np.copyto(target, value)


def _check_rank(rank_: int, what: str, name: str) -> int:
    size = get_world_size()
    if not 0 <= int(rank_) < size:
        raise ValueError(f"{what}: {name}={rank_} is not a rank of this job of {size} processes")
    return int(rank_)


def gather(tensor, gather_list: list | None = None, dst: int = 0, group=None, async_op: bool = False):
    """PyTorch's ``gather``: every process's ``tensor``, in rank order, written into the
    ``gather_list`` of process ``dst`` (one Tensor or array per process, each of
    ``tensor``'s shape); the other processes pass no list."""
    _check_group(group)
    comm, dst = communicator(), _check_rank(dst, "gather", "dst")
    value = _send_buffer(tensor)
    check_same(comm, [("tensor", _spec(value))], "gather")
    size, mine = comm.Get_size(), comm.Get_rank() == dst
    if mine and (gather_list is None or len(gather_list) != size):
        got = "none" if gather_list is None else f"{len(gather_list)} entries"
        raise ValueError(f"gather: process dst={dst} needs a gather_list of {size} entries, got {got}")
    if not mine and gather_list:
        raise ValueError(f"gather: only process dst={dst} passes a gather_list (this is process {comm.Get_rank()})")
    gathered = np.empty((size, *value.shape), value.dtype) if mine else None
    comm.Gather(value, gathered, root=dst)
    if mine:
        for target, part in zip(gather_list, gathered, strict=True):
            _write(target, part)
    return Work(gather_list) if async_op else None


def scatter(tensor, scatter_list: list | None = None, src: int = 0, group=None, async_op: bool = False):
    """PyTorch's ``scatter``: entry ``r`` of process ``src``'s ``scatter_list`` written into
    process ``r``'s ``tensor``; the other processes pass no list."""
    _check_group(group)
    comm, src = communicator(), _check_rank(src, "scatter", "src")
    size, mine = comm.Get_size(), comm.Get_rank() == src
    shape = tuple(np.shape(tensor.primal() if isinstance(tensor, Tensor) else tensor))
    check_same(comm, [("tensor", _spec(np.empty(shape, _send_buffer(tensor).dtype)))], "scatter")
    if mine:
        if scatter_list is None or len(scatter_list) != size:
            got = "none" if scatter_list is None else f"{len(scatter_list)} entries"
            raise ValueError(f"scatter: process src={src} needs a scatter_list of {size} entries, got {got}")
        parts = [_send_buffer(t) for t in scatter_list]
        if any(p.shape != shape for p in parts):
            raise ValueError(f"scatter: every entry of scatter_list must have the output's shape {shape}, got "
                             f"{[p.shape for p in parts]}")
        outgoing = np.ascontiguousarray(np.stack(parts).astype(_send_buffer(tensor).dtype, copy=False))
    elif scatter_list:
        raise ValueError(f"scatter: only process src={src} passes a scatter_list (this is process {comm.Get_rank()})")
    else:
        outgoing = None
    received = np.empty(shape, _send_buffer(tensor).dtype)
    comm.Scatter(outgoing, received, root=src)
    _write(tensor, received)
    return Work(tensor) if async_op else None


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """PyTorch's ``all_gather_into_tensor``: every process's ``input_tensor``, in rank
    order, written into ``output_tensor``, which holds them concatenated along the first
    axis (shape ``(world * n, ...)``) or stacked (shape ``(world, n, ...)``)."""
    _check_group(group)
    comm = communicator()
    value = _send_buffer(input_tensor)
    check_same(comm, [("input_tensor", _spec(value))], "all_gather_into_tensor")
    size = comm.Get_size()
    out_shape = tuple(np.shape(output_tensor.primal() if isinstance(output_tensor, Tensor) else output_tensor))
    allowed = [(size, *value.shape)] + ([(size * value.shape[0], *value.shape[1:])] if value.ndim else [])
    if out_shape not in allowed:
        raise ValueError(f"all_gather_into_tensor: output_tensor of shape {out_shape} cannot hold {size} inputs "
                         f"of shape {value.shape}: give it shape {(size, *value.shape)} (stacked) or the "
                         "inputs' first axis times the number of processes (concatenated)")
    gathered = np.empty((size, *value.shape), value.dtype)
    comm.Allgather(value, gathered)
    _write(output_tensor, gathered.reshape(out_shape))
    return Work(output_tensor) if async_op else None


def reduce_scatter_tensor(output, input, op: str = "sum", group=None, async_op: bool = False):
    """PyTorch's ``reduce_scatter_tensor``: ``input`` (shape ``(world * n, ...)``) reduced
    over the processes, and process ``r`` gets the ``r``-th of its ``world`` blocks along
    the first axis in ``output`` (shape ``(n, ...)``)."""
    op = _check_op(op)
    _check_group(group)
    comm = communicator()
    value = _send_buffer(input)
    _check_dtype(value.dtype, op, "input")
    check_same(comm, [("input", _spec(value)), ("op", op)], "reduce_scatter_tensor")
    if value.dtype == np.bool_:
        value = value.view(np.uint8)
    size = comm.Get_size()
    out_shape = tuple(np.shape(output.primal() if isinstance(output, Tensor) else output))
    if not out_shape or value.shape != (size * out_shape[0], *out_shape[1:]):
        raise ValueError(f"reduce_scatter_tensor: input of shape {value.shape} does not split into {size} blocks "
                         f"of the output's shape {out_shape}")
    block = np.empty(out_shape, value.dtype)
    comm.Reduce_scatter_block(value, block, op=_mpi_op(op, value.dtype))
    _write(output, block / size if op == "mean" else block)
    return Work(output) if async_op else None


class _Pending(Work):
    """What ``isend``/``irecv`` return: ``wait()`` waits for the message (and writes a
    received one into its Tensor)."""

    def __init__(self, request, target=None, buffer=None):
        super().__init__(target)
        self._request, self._target, self._buffer, self._done = request, target, buffer, False

    def wait(self, timeout=None) -> bool:
        if not self._done:
            self._request.Wait()
            if self._target is not None:
                _write(self._target, self._buffer)
            self._done = True
        return True

    def is_completed(self) -> bool:
        return self._done or (self._request.Test() and self.wait())


def send(tensor, dst: int, group=None, tag: int = 0) -> None:
    """PyTorch's ``send``: ``tensor``'s values to process ``dst``, which receives them with
    :func:`recv` into a Tensor of the same shape and dtype."""
    _check_group(group)
    communicator().Send(_send_buffer(tensor), dest=_check_rank(dst, "send", "dst"), tag=tag)


def recv(tensor, src: int | None = None, group=None, tag: int = 0) -> int:
    """PyTorch's ``recv``: a message from process ``src`` (any process when None) written
    into ``tensor``; returns the sender's rank."""
    _check_group(group)
    MPI = mpi()
    buffer, status = np.empty_like(_send_buffer(tensor)), MPI.Status()
    source = MPI.ANY_SOURCE if src is None else _check_rank(src, "recv", "src")
    communicator().Recv(buffer, source=source, tag=tag, status=status)
    _write(tensor, buffer)
    return status.Get_source()


def isend(tensor, dst: int, group=None, tag: int = 0) -> Work:
    """PyTorch's ``isend``: :func:`send` without waiting; ``wait()`` on the result waits."""
    _check_group(group)
    buffer = _send_buffer(tensor).copy()  # the caller may change its Tensor before the send ends
    return _Pending(communicator().Isend(buffer, dest=_check_rank(dst, "isend", "dst"), tag=tag), buffer=buffer)


def irecv(tensor, src: int | None = None, group=None, tag: int = 0) -> Work:
    """PyTorch's ``irecv``: :func:`recv` without waiting; ``wait()`` on the result waits
    and writes the message into ``tensor``."""
    _check_group(group)
    MPI = mpi()
    buffer = np.empty_like(_send_buffer(tensor))
    source = MPI.ANY_SOURCE if src is None else _check_rank(src, "irecv", "src")
    return _Pending(communicator().Irecv(buffer, source=source, tag=tag), tensor, buffer)


def all_gather_object(object_list: list, obj, group=None) -> None:
    """PyTorch's ``all_gather_object``: every process's ``obj`` (any picklable object),
    in rank order, into ``object_list`` (one entry per process)."""
    _check_group(group)
    everyone = communicator().allgather(obj)
    if len(object_list) != len(everyone):
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} entries for a job "
                         f"of {len(everyone)} processes")
    object_list[:] = everyone


def broadcast_object_list(object_list: list, src: int = 0, group=None) -> None:
    """PyTorch's ``broadcast_object_list``: process ``src``'s entries of ``object_list``
    (picklable objects) written into every process's list."""
    _check_group(group)
    object_list[:] = communicator().bcast(list(object_list), root=src)


# -- broadcast ------------------------------------------------------------------------------
def _spec(a: np.ndarray) -> tuple:
    return (tuple(a.shape), a.dtype.str)


def broadcast(tree, root: int = 0, *, src: int | None = None, group=None, async_op: bool = False):
    """``root``'s copy of a pytree of arrays, on every process. Every process passes a
    tree of the same structure, shapes and dtypes (its own values are ignored), and gets
    new arrays; a mismatch raises :class:`DistributedError` on every process. As in
    PyTorch (``dist.broadcast(t, src=0)``), one eager Tensor that does not require grad
    is written in place; ``src`` is PyTorch's name for ``root``.

    >>> import numpy as np
    >>> from chainrule import distributed as dist
    >>> dist.init()
    >>> dist.broadcast([np.arange(3)], root=0)
    [array([0, 1, 2])]
    """
    _check_group(group)
    root = root if src is None else src
    comm = communicator()
    size = comm.Get_size()
    if not 0 <= root < size:
        raise ValueError(f"broadcast: root {root} is not a rank of this job of {size}")
    leaves, treedef = tree_flatten(tree)
    arrays = [np.array(leaf.primal() if isinstance(leaf, Tensor) else leaf, order="C") for leaf in leaves]
    check_same(comm, [(f"leaf {i}", _spec(a)) for i, a in enumerate(arrays)], "broadcast")
    for a in arrays:
        comm.Bcast(a, root=root)
    out = []
    for leaf, a in zip(leaves, arrays, strict=True):
        out.append(a.item() if isinstance(leaf, int | float | complex) and not isinstance(leaf, bool) else a)
    return _collective_result(tree, tree_unflatten(treedef, out), async_op)


def check_same(comm, described: list[tuple[str, Any]], what: str) -> None:
    """Raise the same :class:`DistributedError` on every process unless all of them hold
    the same ``[(name, description), ...]``; the error names the first difference."""
    everyone = comm.allgather(described)
    reference = everyone[0]
    for r, mine in enumerate(everyone[1:], start=1):
        if mine == reference:
            continue
        for k in range(max(len(mine), len(reference))):
            a = reference[k] if k < len(reference) else None
            b = mine[k] if k < len(mine) else None
            if a != b:
                raise DistributedError(
                    f"{what}: rank {r} differs from rank 0 at {_name(a, b)}: rank 0 has "
                    f"{_show(a)}, rank {r} has {_show(b)}"
                )


def _name(a, b) -> str:
    return repr((a or b)[0])


def _show(entry) -> str:
    if entry is None:
        return "nothing there"
    name, desc = entry
    if isinstance(desc, tuple) and len(desc) == 2:
        shape, dtype = desc
        return f"{name!r} of shape {tuple(shape)} and dtype {np.dtype(dtype)}"
    return f"{name!r} ({desc})"

"""The collectives between the processes of a job, on MPI through mpi4py.

:func:`all_reduce` and :func:`broadcast` move pytrees of arrays between the processes
that :func:`chainrule.distributed.init` joined (``comm.py``), :func:`barrier` waits for
them all; PyTorch's ``reduce``, ``Work`` and ``Future`` are here too, its collectives that
write into given Tensors, messages and object collectives in ``tensor_collectives.py``.
Every process must call the same collectives in the same order, with the same
structures, shapes and dtypes: each collective first checks that they agree, so that a
mismatch raises the same :class:`DistributedError` on every process instead of giving
wrong numbers, MPI's "message truncated", or a process waiting forever.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import numpy as np

from chainrule.core.primitive import Primitive, def_batch, def_jvps, def_vjps
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.core.rng import open_recorder
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.trace import EAGER
from chainrule.core.values import plain
from chainrule.distributed.comm import (
    ProcessGroup,
    check_same,
    group_comm,
    is_world,
    mpi,
    rank,
)
from chainrule.numpy import batching

__all__ = [
    "barrier",
    "all_reduce",
    "broadcast",
    "monitored_barrier",
    "ReduceOp",
    "reduce_op",
    "Work",
    "Future",
    "reduce",
]


class ReduceOp:
    """PyTorch's names for :func:`all_reduce`'s ``op`` (``dist.ReduceOp.SUM``)."""

    SUM = "sum"
    AVG = "mean"
    MAX = "max"
    MIN = "min"
    PRODUCT = "product"
    BAND = "band"  # bitwise and, or and exclusive or: integer and boolean Tensors only
    BOR = "bor"
    BXOR = "bxor"
    PREMUL_SUM = "premul_sum"  # NCCL's only: refused, as PyTorch's gloo refuses it


reduce_op = ReduceOp  # PyTorch's old name, which scripts still use (dist.reduce_op.SUM)


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

    def get_future(self) -> Future:
        """PyTorch's ``Work.get_future()``: a completed :class:`Future` whose value is the
        list of the collective's Tensors (``fut.value()[0]``)."""
        fut = Future()
        fut.set_result(self.result())
        return fut


class Future:
    """PyTorch's ``torch.futures.Future``, for DDP communication hooks: a value that
    ``set_result`` gives (chainrule's collectives complete at once, so it is usually
    there already); ``then(callback)`` is a Future of ``callback(this future)``."""

    def __init__(self, *, devices=None):
        self._done, self._value, self._error, self._callbacks = False, None, None, []

    def set_result(self, result) -> None:
        if self._done:
            raise RuntimeError("Future.set_result: this Future already has a result")
        self._done, self._value = True, result
        for callback in self._callbacks:
            callback(self)
        self._callbacks = []

    def set_exception(self, error: BaseException) -> None:
        self._error = error
        self.set_result(None)

    def done(self) -> bool:
        return self._done

    def value(self):
        if not self._done:
            raise RuntimeError("Future.value: no result yet (call set_result first, or wait())")
        if self._error is not None:
            raise self._error
        return self._value

    def wait(self):
        if not self._done:  # nothing runs in the background here to set it later
            raise RuntimeError("Future.wait: this Future was never given a result, and nothing will give "
                               "it one: call set_result() on it before returning it from a hook")
        return self.value()

    def add_done_callback(self, callback) -> None:
        if self._done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def then(self, callback) -> Future:
        out = Future()

        def chain(fut):
            try:
                out.set_result(callback(fut))
            except Exception as e:  # noqa: BLE001 - handed on to whoever waits on `out`
                out.set_exception(e)

        self.add_done_callback(chain)
        return out


def _in_place_target(tree) -> bool:
    """Whether ``tree`` is one eager Tensor, which PyTorch's collectives write in place
    (``dist.all_reduce(t)`` then ``t /= world``), also one that requires grad (a loss
    reduced for the log, a parameter broadcast): the values, outside autograd."""
    return isinstance(tree, Tensor) and tree._trace is EAGER


def _collective_result(tree, result, async_op: bool):
    if _in_place_target(tree):
        write_into(tree, result)
        if not tree.requires_grad:  # (else the differentiable result is returned too)
            result = tree
    return Work(result) if async_op else result


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every process of the job has reached this call (PyTorch's signature:
    ``device_ids`` is for GPUs and changes nothing; ``async_op=True`` returns a :class:`Work`)."""
    comm = group_comm(group)
    if comm is not None:  # (a process outside the group has nothing to wait for)
        check_same(comm, [], "barrier")  # an allreduce: nobody leaves before everyone came
    return Work() if async_op else None


_MONITOR_TAG = 32_000  # the messages of monitored_barrier (MPI's tags go to 32767 at least)
_MONITOR_DEFAULT_S = 1800.0  # PyTorch's default timeout of a process group: 30 minutes
_monitor_calls: dict = {}  # per communicator: how many monitored_barrier calls this process made


def monitored_barrier(group=None, timeout=None, wait_all_ranks: bool = False) -> None:
    """PyTorch's ``monitored_barrier``: a :func:`barrier` that names the processes that did
    not reach it within ``timeout`` (a ``timedelta`` or seconds; 30 minutes by default).
    Each process tells the group's first one that it has come and waits for its answer;
    the first one raises ``RuntimeError`` naming the first process that did not come in
    time (every one, with ``wait_all_ranks=True``), and the others raise if it does not
    answer in time."""
    comm = group_comm(group)
    if comm is None or comm.Get_size() == 1:
        return
    MPI = mpi()
    limit_s = _MONITOR_DEFAULT_S if timeout is None else (
        timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout))
    key = id(comm)
    call = _monitor_calls[key] = _monitor_calls.get(key, 0) + 1
    me, deadline = comm.Get_rank(), time.monotonic() + limit_s
    mine = np.array([call], np.int64)
    if me != 0:
        comm.Isend(mine, dest=0, tag=_MONITOR_TAG)
        if not _wait_for(comm, 0, call, deadline):
            raise RuntimeError(f"[Rank {get_global(group, me)}]: monitored_barrier: rank {get_global(group, 0)} "
                               f"did not answer within {limit_s:g} s")
        return
    late = [r for r in range(1, comm.Get_size()) if not _wait_for(comm, r, call, deadline)]
    if late:
        late = late if wait_all_ranks else late[:1]
        names = ", ".join(str(get_global(group, r)) for r in late)
        raise RuntimeError(f"[Rank {get_global(group, 0)}]: Rank{'s' if len(late) > 1 else ''} {names} failed to "
                           f"pass monitoredBarrier in {limit_s * 1000:g} ms")
    MPI.Request.Waitall([comm.Isend(mine, dest=r, tag=_MONITOR_TAG) for r in range(1, comm.Get_size())])


def _wait_for(comm, source: int, call: int, deadline: float) -> bool:
    """Whether the message of monitored_barrier's call ``call`` came from ``source``
    before ``deadline`` (the messages of earlier calls, which came late, are dropped)."""
    box = np.zeros(1, np.int64)
    while True:
        request = comm.Irecv(box, source=source, tag=_MONITOR_TAG)
        while not request.Test():
            if time.monotonic() >= deadline:
                request.Cancel()
                status = mpi().Status()
                request.Wait(status)
                if status.Is_cancelled():
                    return False
                break  # it came as it was cancelled
            time.sleep(0.001)
        if box[0] == call:
            return True
        if box[0] > call:  # not possible: every process counts the same calls
            raise RuntimeError("monitored_barrier: the processes called it a different number of times")


# -- all_reduce -----------------------------------------------------------------------------
_OPS = ("sum", "mean", "max", "min", "product", "band", "bor", "bxor")


_OP_ALIASES = {"avg": "mean", "average": "mean", "prod": "product"}  # torch's and Horovod's names


def check_op(op: str) -> str:
    """``op`` as one of ``_OPS`` (any case; ``"avg"`` and ``"prod"`` too), or a clear error."""
    name = op.lower() if isinstance(op, str) else op
    name = _OP_ALIASES.get(name, name)
    if name == ReduceOp.PREMUL_SUM:
        raise ValueError("ReduceOp.PREMUL_SUM is NCCL's (made by torch.distributed._make_nccl_premul_sum(factor)) "
                         "and PyTorch's gloo refuses it too: multiply by the factor and reduce with ReduceOp.SUM")
    if name not in _OPS:
        raise ValueError(f"all_reduce: op must be one of {', '.join(map(repr, _OPS))} "
                         f"(or a dist.ReduceOp), got {op!r}")
    return name


def mpi_op(op: str, dtype: np.dtype):
    MPI = mpi()
    if dtype == np.bool_:  # reduced as bytes 0/1: torch's rule, sum and max are or, min and product and
        return {"bxor": MPI.BXOR, "band": MPI.MIN, "bor": MPI.MAX}.get(
            op, MPI.MAX if op in ("sum", "max") else MPI.MIN)
    return {"max": MPI.MAX, "min": MPI.MIN, "product": MPI.PROD,
            "band": MPI.BAND, "bor": MPI.BOR, "bxor": MPI.BXOR}.get(op, MPI.SUM)


def _linear(op: str) -> str:
    if op not in ("sum", "mean"):
        raise NotImplementedError(f"all_reduce with op={op!r} has no derivative here; reduce a value "
                                  "outside the differentiated computation (or use op='sum'/'mean')")
    return op


def _reduce_array(x, op: str, group=None) -> np.ndarray:
    """The sum (or mean) of ``x`` over all processes, as a new array (``x`` is left as it
    is: under ``cr.jit`` it may be a buffer the program reads again)."""
    out = np.array(x, order="C")  # a contiguous copy, reduced in place
    check_dtype(out.dtype, op, "the array")
    comm = group_comm(group)
    check_same(comm, [("the array", spec(out)), ("op", op)], "all_reduce")
    return _reduce_buffer(comm, out, op)


def check_dtype(dtype: np.dtype, op: str, name: str) -> None:
    if dtype.kind not in "biufc":
        raise TypeError(f"all_reduce: {name} has dtype {dtype}, which cannot be added")
    if op in ("band", "bor", "bxor") and dtype.kind not in "biu":  # PyTorch's words
        raise TypeError(f"all_reduce: cannot use ReduceOp.{op.upper()} with non-integral dtype ({name} has "
                        f"dtype {dtype}); bitwise reductions take integer or boolean arrays")
    if dtype == np.bool_ and op == "mean":
        raise TypeError(f"all_reduce: {name} is boolean, which has no mean; reduce it with op='sum' "
                        "(or) or 'min' (and), or cast it to a number first")


def _reduce_buffer(comm, out: np.ndarray, op: str) -> np.ndarray:
    """``out`` (a contiguous array of this process's) reduced in place over all processes."""
    if out.size:
        buffer = out.view(np.uint8) if out.dtype == np.bool_ else out
        comm.Allreduce(mpi().IN_PLACE, buffer, op=mpi_op(op, out.dtype))
    if op == "mean":
        size = comm.Get_size()
        if out.dtype.kind in "fc":
            out /= size
        else:
            out = out / size
    return out


def _neutral(op: str, dtype: np.dtype):
    """The value that ``op`` leaves the others' unchanged with: 0 for a sum, 1 for a product."""
    if op == "product":
        return 1
    if op == "band":
        return True if dtype == np.bool_ else -1
    if op in ("min", "max"):
        if dtype.kind == "f":
            return np.inf if op == "min" else -np.inf
        if dtype == np.bool_:
            return op == "min"
        info = np.iinfo(dtype)
        return info.max if op == "min" else info.min
    return 0


def shadow_all_reduce(comm, described: list) -> None:
    """For a process that has called Horovod's ``join()``: take part in the others'
    :func:`all_reduce` that they described to :func:`check_same` (the same messages,
    packed the same way), with values that leave theirs unchanged (zeros to a sum)."""
    op = dict(described)["op"]
    leaves = [desc for name, desc in described if name == "the array" or name.startswith("leaf ")]
    sizes: dict[np.dtype, int] = {}
    for shape, dtype in leaves:  # one message per dtype, in _reduce_plain's order
        sizes[np.dtype(dtype)] = sizes.get(np.dtype(dtype), 0) + int(np.prod(shape, dtype=np.int64))
    for dtype, n in sorted(sizes.items(), key=lambda kv: kv[0].str):
        _reduce_buffer(comm, np.full(n, _neutral(op, dtype), dtype), op)


# Differentiable: with every process's loss summed into one objective, the cotangent of
# an input is the sum over processes of the output's cotangents (the mean: their mean).
all_reduce_p = Primitive(_reduce_array, name="all_reduce")
def_vjps(all_reduce_p, lambda g, ans, x, op, group=None: all_reduce_p(g, _linear(op), group), None, None)
def_jvps(all_reduce_p, lambda t, ans, x, op, group=None: all_reduce_p(t, _linear(op), group), None, None)
def_batch(batching.stacked, all_reduce_p)  # under vmap: every example reduced at once


def all_reduce(tree, op: str = "sum", group=None, async_op: bool = False):
    """The sum (``op="sum"``) or mean (``op="mean"``) over all processes of an array, a
    number, or a pytree of them (the gradients ``cr.grad`` returns, say); every process
    gets the result. ``"max"``, ``"min"``, ``"product"`` and the bitwise ``"band"``,
    ``"bor"`` and ``"bxor"`` (integers and booleans) reduce too, without a derivative.
    Inputs are not modified, except, as in PyTorch (``dist.all_reduce(t,
    op=dist.ReduceOp.SUM)``), one eager Tensor: it is written in place (and returned;
    one that requires grad gets the values only, outside autograd, and the
    differentiable result is returned). ``async_op=True`` returns a :class:`Work`.

    It is differentiable, and under ``cr.jit`` it is recorded as an operation that every
    replay performs again (its result is never a constant of the program). Every process
    must call it with the same structure, shapes and dtypes, in the same order.

    >>> import numpy as np
    >>> from chainrule import distributed as dist
    >>> dist.init()
    >>> dist.all_reduce({"w": np.ones(2), "b": 3.0}, op="mean")   # a job of one
    {'w': array([1., 1.]), 'b': 3.0}
    """
    op = check_op(op)
    if op == "mean" and _in_place_target(tree) and np.asarray(tree.primal()).dtype.kind in "iu":
        # the mean has no place in an integer Tensor; PyTorch raises rather than round it
        raise TypeError(f"all_reduce: the mean (ReduceOp.AVG) of an integer Tensor ({tree.dtype}) cannot be "
                        "written into it (PyTorch: result type Float can't be cast to the desired output type); "
                        "reduce with ReduceOp.SUM and divide, or reduce a float copy")
    comm = group_comm(group)
    if comm is None:  # a process outside the group: nothing to reduce (PyTorch's rule)
        return Work(tree) if async_op else tree
    leaves, treedef = tree_flatten(tree)
    structure = _structure(treedef)
    if treedef.kind is not None and any(isinstance(leaf, Tensor) for leaf in leaves):
        # the Tensors are reduced one by one, each checked on its own: the tree first
        check_same(comm, [("tree", structure), ("op", op)], "all_reduce")
    out = []
    plain_positions = []
    for i, leaf in enumerate(leaves):
        if isinstance(leaf, Tensor):
            out.append(all_reduce_p(leaf, op, None if is_world(group) else group))
        else:
            out.append(None)
            plain_positions.append(i)
    if plain_positions:
        values = [leaves[i] for i in plain_positions]
        recorder = open_recorder()
        if recorder is None:
            reduced = _reduce_plain(comm, values, op, structure)
        else:  # under cr.jit: a call of the program, made again by every replay (never a
            # constant of it: another process's values, a batch size, say, may change)
            reduced = recorder.record(_reduce_plain, (comm, values, op, structure, False), {})
        for i, value in zip(plain_positions, reduced, strict=True):
            out[i] = value
    return _collective_result(tree, tree_unflatten(treedef, out), async_op)


def _reduce_plain(comm, values: list, op: str, structure: str, numbers: bool = True) -> list:
    """Plain arrays and numbers, reduced with one message per dtype (packed together);
    Python numbers come back as Python numbers (``numbers=True``) or 0-d arrays."""
    arrays = [np.asarray(v) for v in values]
    groups: dict[np.dtype, list[int]] = {}
    for i, a in enumerate(arrays):
        check_dtype(a.dtype, op, f"leaf {i}")
        groups.setdefault(a.dtype, []).append(i)
    check_same(comm, [("tree", structure)] + [(f"leaf {i}", spec(a)) for i, a in enumerate(arrays)] + [("op", op)],
               "all_reduce")
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
        if numbers and isinstance(v, int | float | complex) and not isinstance(v, bool):
            results[i] = results[i].item()
    return results


def reduce(tensor, dst: int = 0, op: str = "sum", group=None, async_op: bool = False):
    """PyTorch's ``reduce``: like :func:`all_reduce`, but only process ``dst`` has its
    Tensor written with the result (the others' are left as they are)."""
    if group_comm(group) is None:
        return Work(tensor) if async_op else None
    dst = get_global(group, check_rank(group, dst, "reduce", "dst"))
    result = all_reduce(np.array(tensor.primal() if isinstance(tensor, Tensor) else tensor), op, group)
    if rank() == dst and _in_place_target(tensor):
        write_into(tensor, result)
    return Work(tensor) if async_op else None


def send_buffer(tensor) -> np.ndarray:
    """The values of an eager Tensor or array, contiguous, as MPI sends them, of the same
    shape (``np.ascontiguousarray`` would make a 0-d value 1-d)."""
    return np.asarray(tensor.primal() if isinstance(tensor, Tensor) else tensor, order="C")


def write_into(target, value) -> None:
    """``value`` written into an eager Tensor or a NumPy array, as PyTorch's collectives
    write their output arguments: the values alone, outside autograd, also into a Tensor
    that requires grad (its gradient is not changed by it)."""
    if isinstance(target, Tensor):
        if isinstance(value, Tensor):
            value = value.primal()
        (target.detach() if target.requires_grad else target).copy_(value)
    else:
        np.copyto(target, value)


def check_rank(group, rank_: int, what: str, name: str) -> int:
    """The number in ``group`` of the job's process ``rank_`` (PyTorch's ``src``/``dst`` are
    numbers in the job, also for a group), or a clear error."""
    if isinstance(group, ProcessGroup):
        if int(rank_) not in group.ranks:
            raise ValueError(f"{what}: {name}={rank_} is not in {group!r} (src and dst are ranks in the job)")
        return group.ranks.index(int(rank_))
    size = group_comm(group).Get_size()
    if not 0 <= int(rank_) < size:
        raise ValueError(f"{what}: {name}={rank_} is not a rank of this job of {size} processes")
    return int(rank_)


def get_global(group, group_rank: int) -> int:
    """The number in the job of ``group``'s process ``group_rank``."""
    return group.ranks[group_rank] if isinstance(group, ProcessGroup) else group_rank


# -- broadcast ------------------------------------------------------------------------------
def refuse_together(comm, problem: str | None, what: str) -> None:
    """Raise ``ValueError`` on every process if any process found ``problem`` in its own
    arguments (a list that only the root passes): raised on one process alone, it would
    leave the others waiting in the collective. One allreduce of a flag; the messages
    travel only when there is one."""
    flag = np.array([problem is not None], np.int64)
    comm.Allreduce(mpi().IN_PLACE, flag, op=mpi().SUM)
    if not flag[0]:
        return
    if problem is not None:
        comm.allgather(problem)
        raise ValueError(problem)
    q, message = next((q, p) for q, p in enumerate(comm.allgather(None)) if p is not None)
    raise ValueError(f"{message} (found by process {q} of the group, in {what})")


def spec(a: np.ndarray) -> tuple:
    return (tuple(a.shape), a.dtype.str)


def broadcast(tree, root: int = 0, *, src: int | None = None, group=None, async_op: bool = False):
    """``root``'s copy of a pytree of arrays, on every process. Every process passes a
    tree of the same structure, shapes and dtypes (its own values are ignored), and gets
    new arrays; a mismatch raises :class:`DistributedError` on every process. As in
    PyTorch (``dist.broadcast(t, src=0)``), one eager Tensor is written in place;
    ``src`` is PyTorch's name for ``root``.

    >>> import numpy as np
    >>> from chainrule import distributed as dist
    >>> dist.init()
    >>> dist.broadcast([np.arange(3)], root=0)
    [array([0, 1, 2])]
    """
    root = root if src is None else src
    comm = group_comm(group)
    if comm is None:  # a process outside the group: nothing comes (PyTorch's rule)
        return Work(tree) if async_op else tree
    if isinstance(group, ProcessGroup):
        root = check_rank(group, root, "broadcast", "src")
    elif not 0 <= root < comm.Get_size():
        raise ValueError(f"broadcast: root {root} is not a rank of this job of {comm.Get_size()}")
    leaves, treedef = tree_flatten(tree)
    recorder = open_recorder()
    if recorder is None:
        arrays = _broadcast_plain(comm, [plain(leaf) for leaf in leaves], root, _structure(treedef))
        out = [a.item() if isinstance(leaf, int | float | complex) and not isinstance(leaf, bool) else a
               for leaf, a in zip(leaves, arrays, strict=True)]
    else:  # under cr.jit: a call of the program, made again by every replay (root's values
        # change between calls where the others' do not: never a constant of the program)
        out = recorder.record(_broadcast_plain, (comm, [undifferentiated(leaf) for leaf in leaves], root,
                                                 _structure(treedef)), {})
    return _collective_result(tree, tree_unflatten(treedef, out), async_op)


def _broadcast_plain(comm, values: list, root: int, structure: str) -> list:
    """New arrays holding process ``root``'s ``values`` (arrays and numbers)."""
    arrays = [np.array(v, order="C") for v in values]
    check_same(comm, [("tree", structure)] + [(f"leaf {i}", spec(a)) for i, a in enumerate(arrays)]
               + [("src", root)], "broadcast")
    for a in arrays:
        comm.Bcast(a, root=root)
    return arrays


_SIMPLE_KEYS = (str, int, float, bool, type(None))


def _structure(treedef) -> str:
    """A pytree's structure, as every process writes it the same way: ``{'a': *, 'b': [*, *]}``
    (``*`` a leaf), for the check that the processes pass trees of one structure."""
    if treedef.kind is None:
        return "*"
    kids = [_structure(c) for c in treedef.subtrees]
    keys = treedef.aux[1] if treedef.kind is defaultdict else treedef.aux
    if treedef.kind is tuple:
        return f"({', '.join(kids)}{',' if len(kids) == 1 else ''})"
    if treedef.kind is list:
        return f"[{', '.join(kids)}]"
    if isinstance(keys, tuple) and len(keys) == len(kids):  # a dict's keys, sorted
        shown = [repr(k) if isinstance(k, _SIMPLE_KEYS) else f"<{type(k).__name__}>" for k in keys]
        inner = ", ".join(f"{k}: {c}" for k, c in zip(shown, kids, strict=True))
        return "{" + inner + "}" if treedef.kind is dict else f"{treedef.kind.__name__}({{{inner}}})"
    fields = getattr(treedef.kind, "_fields", None)  # a namedtuple
    if fields is not None and len(fields) == len(kids):
        return f"{treedef.kind.__name__}({', '.join(f'{f}={c}' for f, c in zip(fields, kids, strict=True))})"
    return f"{treedef.kind.__name__}({', '.join(kids)})"

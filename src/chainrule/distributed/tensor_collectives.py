"""PyTorch's collectives that write into Tensors they are given, its point-to-point
messages and its collectives of Python objects (``torch.distributed``), for code written
for it: ``all_gather``, ``gather``, ``scatter``, ``all_gather_into_tensor``,
``reduce_scatter_tensor``, ``send``/``recv``/``isend``/``irecv``, ``all_gather_object``
and ``broadcast_object_list``. Each collective first checks, as those of
``collectives.py`` do, that the processes agree on what they pass; ``group=`` is the job,
or a group of ``new_group`` (``src``/``dst`` are ranks in the job, as in PyTorch).
"""

from __future__ import annotations

import numpy as np

from chainrule.core.tensor import Tensor
from chainrule.distributed.collectives import (
    Work,
    check_dtype,
    check_op,
    check_rank,
    get_global,
    mpi_op,
    refuse_together,
    send_buffer,
    spec,
    write_into,
)
from chainrule.distributed.comm import check_same, group_comm, mpi

__all__ = [
    "all_gather",
    "all_gather_object",
    "broadcast_object_list",
    "gather",
    "scatter",
    "all_gather_into_tensor",
    "reduce_scatter_tensor",
    "send",
    "recv",
    "isend",
    "irecv",
    "reduce_scatter",
    "all_to_all_single",
    "all_to_all",
    "gather_object",
    "scatter_object_list",
    "send_object_list",
    "recv_object_list",
    "P2POp",
    "batch_isend_irecv",
]


def all_gather(tensor_list: list, tensor, group=None, async_op: bool = False):
    """PyTorch's ``all_gather``: every process's ``tensor``, in rank order, written into
    the eager Tensors (or NumPy arrays) of ``tensor_list``, one per process, each of
    ``tensor``'s shape and dtype."""
    comm = group_comm(group)
    if comm is None:
        return None
    size = comm.Get_size()
    if len(tensor_list) != size:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} entries for a job of {size} processes")
    value = send_buffer(tensor)
    check_same(comm, [("tensor", spec(value))], "all_gather")
    gathered = np.empty((size, *value.shape), value.dtype)
    comm.Allgather(value, gathered)
    _check_outputs(tensor_list, value, "all_gather", "tensor_list")
    for target, part in zip(tensor_list, gathered, strict=True):
        write_into(target, part)
    return Work(tensor_list) if async_op else None


def _check_outputs(targets: list, value: np.ndarray, what: str, name: str) -> None:
    """PyTorch's refusal of outputs that are not of the input's shape and dtype (they
    were broadcast to, or cast, in silence); checked after the collective, so that a
    process with wrong outputs does not leave the others waiting."""
    for k, target in enumerate(targets):
        have = np.asarray(target.primal() if isinstance(target, Tensor) else target)
        if have.shape != value.shape or have.dtype != value.dtype:
            raise ValueError(f"{what}: entry {k} of {name} has shape {have.shape} and dtype {have.dtype}; "
                             f"every entry must have the input's, {value.shape} and {value.dtype}")


def gather(tensor, gather_list: list | None = None, dst: int = 0, group=None, async_op: bool = False):
    """PyTorch's ``gather``: every process's ``tensor``, in rank order, written into the
    ``gather_list`` of process ``dst`` (one Tensor or array per process, each of
    ``tensor``'s shape); the other processes pass no list."""
    comm = group_comm(group)
    if comm is None:
        return None
    dst = check_rank(group, dst, "gather", "dst")
    value = send_buffer(tensor)
    check_same(comm, [("tensor", spec(value)), ("dst", dst)], "gather")
    size, mine = comm.Get_size(), comm.Get_rank() == dst
    problem = None
    if mine and (gather_list is None or len(gather_list) != size):
        got = "none" if gather_list is None else f"{len(gather_list)} entries"
        problem = f"gather: process dst={dst} needs a gather_list of {size} entries, got {got}"
    if not mine and gather_list:
        problem = f"gather: only process dst={dst} passes a gather_list (this is process {comm.Get_rank()})"
    refuse_together(comm, problem, "gather")
    gathered = np.empty((size, *value.shape), value.dtype) if mine else None
    comm.Gather(value, gathered, root=dst)
    if mine:
        _check_outputs(gather_list, value, "gather", "gather_list")
        for target, part in zip(gather_list, gathered, strict=True):
            write_into(target, part)
    return Work(gather_list) if async_op else None


def scatter(tensor, scatter_list: list | None = None, src: int = 0, group=None, async_op: bool = False):
    """PyTorch's ``scatter``: entry ``r`` of process ``src``'s ``scatter_list`` written into
    process ``r``'s ``tensor``; the other processes pass no list."""
    comm = group_comm(group)
    if comm is None:
        return None
    src = check_rank(group, src, "scatter", "src")
    size, mine = comm.Get_size(), comm.Get_rank() == src
    shape = tuple(np.shape(tensor.primal() if isinstance(tensor, Tensor) else tensor))
    check_same(comm, [("tensor", spec(np.empty(shape, send_buffer(tensor).dtype))), ("src", src)], "scatter")
    problem = outgoing = None
    if mine:
        parts = [] if scatter_list is None else [send_buffer(t) for t in scatter_list]
        if scatter_list is None or len(scatter_list) != size:
            got = "none" if scatter_list is None else f"{len(scatter_list)} entries"
            problem = f"scatter: process src={src} needs a scatter_list of {size} entries, got {got}"
        elif any(p.shape != shape for p in parts):
            problem = (f"scatter: every entry of scatter_list must have the output's shape {shape}, got "
                       f"{[p.shape for p in parts]}")
        else:
            outgoing = np.ascontiguousarray(np.stack(parts).astype(send_buffer(tensor).dtype, copy=False))
    elif scatter_list:
        problem = f"scatter: only process src={src} passes a scatter_list (this is process {comm.Get_rank()})"
    refuse_together(comm, problem, "scatter")
    received = np.empty(shape, send_buffer(tensor).dtype)
    comm.Scatter(outgoing, received, root=src)
    write_into(tensor, received)
    return Work(tensor) if async_op else None


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """PyTorch's ``all_gather_into_tensor``: every process's ``input_tensor``, in rank
    order, written into ``output_tensor``, which holds them concatenated along the first
    axis (shape ``(world * n, ...)``) or stacked (shape ``(world, n, ...)``)."""
    comm = group_comm(group)
    if comm is None:
        return None
    value = send_buffer(input_tensor)
    check_same(comm, [("input_tensor", spec(value))], "all_gather_into_tensor")
    size = comm.Get_size()
    out_shape = tuple(np.shape(output_tensor.primal() if isinstance(output_tensor, Tensor) else output_tensor))
    allowed = [(size, *value.shape)] + ([(size * value.shape[0], *value.shape[1:])] if value.ndim else [])
    if out_shape not in allowed:
        raise ValueError(f"all_gather_into_tensor: output_tensor of shape {out_shape} cannot hold {size} inputs "
                         f"of shape {value.shape}: give it shape {(size, *value.shape)} (stacked) or the "
                         "inputs' first axis times the number of processes (concatenated)")
    gathered = np.empty((size, *value.shape), value.dtype)
    comm.Allgather(value, gathered)
    write_into(output_tensor, gathered.reshape(out_shape))
    return Work(output_tensor) if async_op else None


def reduce_scatter_tensor(output, input, op: str = "sum", group=None, async_op: bool = False):
    """PyTorch's ``reduce_scatter_tensor``: ``input`` (shape ``(world * n, ...)``) reduced
    over the processes, and process ``r`` gets the ``r``-th of its ``world`` blocks along
    the first axis in ``output`` (shape ``(n, ...)``)."""
    op = check_op(op)
    comm = group_comm(group)
    if comm is None:
        return None
    value = send_buffer(input)
    check_dtype(value.dtype, op, "input")
    check_same(comm, [("input", spec(value)), ("op", op)], "reduce_scatter_tensor")
    if value.dtype == np.bool_:
        value = value.view(np.uint8)
    size = comm.Get_size()
    out_shape = tuple(np.shape(output.primal() if isinstance(output, Tensor) else output))
    if not out_shape or value.shape != (size * out_shape[0], *out_shape[1:]):
        raise ValueError(f"reduce_scatter_tensor: input of shape {value.shape} does not split into {size} blocks "
                         f"of the output's shape {out_shape}")
    block = np.empty(out_shape, value.dtype)
    comm.Reduce_scatter_block(value, block, op=mpi_op(op, value.dtype))
    write_into(output, block / size if op == "mean" else block)
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
                write_into(self._target, self._buffer)
            self._done = True
        return True

    def is_completed(self) -> bool:
        return self._done or (self._request.Test() and self.wait())


def _peer(group, rank_, group_rank, what: str, name: str) -> int | None:
    """The number in ``group`` of the other process, given as a rank in the job (``dst``,
    ``src``) or, as PyTorch 2.6 allows, in the group (``group_dst``, ``group_src``); None
    when neither is given."""
    if group_rank is None:
        return None if rank_ is None else check_rank(group, rank_, what, name)
    if rank_ is not None:  # PyTorch's rule
        raise ValueError(f"{what}: give {name} (a rank in the job) or group_{name} (a rank in the group), not both")
    size = group_comm(group).Get_size()
    if not 0 <= int(group_rank) < size:
        raise ValueError(f"{what}: group_{name}={group_rank} is not a rank of {group or 'the job'!r}, which has "
                         f"{size} processes")
    return int(group_rank)


def _destination(group, dst, group_dst, what: str) -> int:
    peer = _peer(group, dst, group_dst, what, "dst")
    if peer is None:
        raise ValueError(f"{what}: give dst (a rank in the job) or group_dst (a rank in the group)")
    return peer


def send(tensor, dst: int | None = None, group=None, tag: int = 0, group_dst: int | None = None) -> None:
    """PyTorch's ``send``: ``tensor``'s values to process ``dst`` (a rank in the job; or
    ``group_dst``, a rank in ``group``), which receives them with :func:`recv` into a
    Tensor of the same shape and dtype."""
    group_comm(group).Send(send_buffer(tensor), dest=_destination(group, dst, group_dst, "send"), tag=tag)


def recv(tensor, src: int | None = None, group=None, tag: int = 0, group_src: int | None = None) -> int:
    """PyTorch's ``recv``: a message from process ``src`` (a rank in the job; or
    ``group_src``, a rank in ``group``; any process when both are None) written into
    ``tensor``; returns the sender's rank in the job."""
    MPI, comm = mpi(), group_comm(group)
    buffer, status = np.empty_like(send_buffer(tensor)), MPI.Status()
    source = _peer(group, src, group_src, "recv", "src")
    comm.Recv(buffer, source=MPI.ANY_SOURCE if source is None else source, tag=tag, status=status)
    write_into(tensor, buffer)
    return get_global(group, status.Get_source())


def isend(tensor, dst: int | None = None, group=None, tag: int = 0, group_dst: int | None = None) -> Work:
    """PyTorch's ``isend``: :func:`send` without waiting; ``wait()`` on the result waits."""
    buffer = send_buffer(tensor).copy()  # the caller may change its Tensor before the send ends
    dst = _destination(group, dst, group_dst, "isend")
    return _Pending(group_comm(group).Isend(buffer, dest=dst, tag=tag), buffer=buffer)


def irecv(tensor, src: int | None = None, group=None, tag: int = 0, group_src: int | None = None) -> Work:
    """PyTorch's ``irecv``: :func:`recv` without waiting; ``wait()`` on the result waits
    and writes the message into ``tensor``."""
    MPI = mpi()
    buffer = np.empty_like(send_buffer(tensor))
    source = _peer(group, src, group_src, "irecv", "src")
    return _Pending(group_comm(group).Irecv(buffer, source=MPI.ANY_SOURCE if source is None else source, tag=tag),
                    tensor, buffer)


def all_gather_object(object_list: list, obj, group=None) -> None:
    """PyTorch's ``all_gather_object``: every process's ``obj`` (any picklable object),
    in rank order, into ``object_list`` (one entry per process)."""
    comm = group_comm(group)
    if comm is None:
        return None
    check_same(comm, [], "all_gather_object")
    everyone = comm.allgather(obj)
    if len(object_list) != len(everyone):
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} entries for a job "
                         f"of {len(everyone)} processes")
    object_list[:] = everyone


def broadcast_object_list(object_list: list, src: int = 0, group=None) -> None:
    """PyTorch's ``broadcast_object_list``: process ``src``'s entries of ``object_list``
    (picklable objects) written into every process's list."""
    comm = group_comm(group)
    if comm is None:
        return None
    root = check_rank(group, src, "broadcast_object_list", "src")
    check_same(comm, [("object_list", f"{len(object_list)} entries"), ("src", root)], "broadcast_object_list")
    object_list[:] = comm.bcast(list(object_list), root=root)


def reduce_scatter(output, input_list: list, op: str = "sum", group=None, async_op: bool = False):
    """PyTorch's ``reduce_scatter``: entry ``r`` of every process's ``input_list``, reduced
    over the processes, written into process ``r``'s ``output``."""
    comm = group_comm(group)
    if comm is None:
        return None
    if len(input_list) != comm.Get_size():
        raise ValueError(f"reduce_scatter: input_list has {len(input_list)} entries for {comm.Get_size()} processes")
    return reduce_scatter_tensor(output, np.concatenate([send_buffer(t) for t in input_list]), op, group,
                                 async_op)


def _rows(value: np.ndarray, splits, size: int, what: str) -> list[int]:
    """How many rows (entries along the first axis) of ``value`` go to each process."""
    if splits is None or len(splits) == 0:
        if value.shape[0] % size:
            raise ValueError(f"all_to_all_single: {what} has {value.shape[0]} rows, which do not split evenly "
                             f"into {size} processes: give {what}_split_sizes")
        return [value.shape[0] // size] * size
    splits = [int(n) for n in splits]
    if len(splits) != size or sum(splits) != value.shape[0] or min(splits) < 0:
        raise ValueError(f"all_to_all_single: {what}_split_sizes {splits} must be {size} counts adding up to the "
                         f"{value.shape[0]} rows of {what}")
    return splits


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None,
                      async_op: bool = False):
    """PyTorch's ``all_to_all_single``: ``input`` split along its first axis into one block
    per process (``input_split_sizes`` rows each, or equal blocks), block ``q`` sent to
    process ``q``; ``output`` receives the blocks of every process, in rank order
    (``output_split_sizes`` rows each)."""
    comm = group_comm(group)
    if comm is None:
        return None
    value = send_buffer(input)
    out_shape = tuple(np.shape(output.primal() if isinstance(output, Tensor) else output))
    if value.ndim == 0 or len(out_shape) != value.ndim or out_shape[1:] != value.shape[1:]:
        raise ValueError(f"all_to_all_single: output of shape {out_shape} and input of shape {value.shape} must "
                         "differ in their first axis only")
    size = comm.Get_size()
    sent = _rows(value, input_split_sizes, size, "input")
    got = _rows(np.empty(out_shape), output_split_sizes, size, "output")
    check_same(comm, [("rows", spec(value[:0]))], "all_to_all_single")
    row = int(np.prod(value.shape[1:], dtype=np.int64))
    counts = comm.alltoall(sent)  # what each process sends here: a wrong split raises everywhere
    if comm.allreduce(int(counts != got), op=mpi().SUM):
        raise ValueError(f"all_to_all_single: the split sizes do not match between the processes (process "
                         f"{comm.Get_rank()} expects {got} rows from them, which send it {counts})")
    received = np.empty(out_shape, value.dtype)
    send_counts, recv_counts = [n * row for n in sent], [n * row for n in got]
    comm.Alltoallv([value, (send_counts, np.cumsum([0, *send_counts[:-1]]).tolist())],
                   [received, (recv_counts, np.cumsum([0, *recv_counts[:-1]]).tolist())])
    write_into(output, received)
    return Work(output) if async_op else None


def all_to_all(output_tensor_list: list, input_tensor_list: list, group=None, async_op: bool = False):
    """PyTorch's ``all_to_all``: entry ``q`` of this process's ``input_tensor_list`` goes
    to process ``q``, and entry ``r`` of ``output_tensor_list`` comes from process ``r``."""
    comm = group_comm(group)
    if comm is None:
        return None
    size = comm.Get_size()
    if len(input_tensor_list) != size or len(output_tensor_list) != size:
        raise ValueError(f"all_to_all: input_tensor_list and output_tensor_list need {size} entries each, got "
                         f"{len(input_tensor_list)} and {len(output_tensor_list)}")
    check_same(comm, [], "all_to_all")
    received = comm.alltoall([send_buffer(t) for t in input_tensor_list])
    for target, value in zip(output_tensor_list, received, strict=True):
        write_into(target, value)
    return Work(output_tensor_list) if async_op else None


def gather_object(obj, object_gather_list: list | None = None, dst: int = 0, group=None) -> None:
    """PyTorch's ``gather_object``: every process's ``obj``, in rank order, into process
    ``dst``'s ``object_gather_list`` (one entry per process); the others pass None."""
    comm = group_comm(group)
    if comm is None:
        return None
    root = check_rank(group, dst, "gather_object", "dst")
    check_same(comm, [("dst", root)], "gather_object")
    everyone = comm.gather(obj, root=root)
    if comm.Get_rank() == root:
        if object_gather_list is None or len(object_gather_list) != len(everyone):
            raise ValueError(f"gather_object: process dst={dst} needs an object_gather_list of {len(everyone)} "
                             "entries")
        object_gather_list[:] = everyone
    return None


def scatter_object_list(scatter_object_output_list: list, scatter_object_input_list: list | None = None,
                        src: int = 0, group=None) -> None:
    """PyTorch's ``scatter_object_list``: entry ``r`` of process ``src``'s
    ``scatter_object_input_list`` into entry 0 of process ``r``'s output list."""
    comm = group_comm(group)
    if comm is None:
        return None
    root = check_rank(group, src, "scatter_object_list", "src")
    check_same(comm, [("src", root)], "scatter_object_list")
    outgoing = None
    if comm.Get_rank() == root:
        good = scatter_object_input_list is not None and len(scatter_object_input_list) == comm.Get_size()
        outgoing = list(scatter_object_input_list) if good else [_BAD_LIST] * comm.Get_size()
    mine = comm.scatter(outgoing, root=root)
    if isinstance(mine, str) and mine == _BAD_LIST:  # raised on every process
        raise ValueError(f"scatter_object_list: process src={src} needs a scatter_object_input_list of "
                         f"{comm.Get_size()} entries")
    if not scatter_object_output_list:
        raise ValueError("scatter_object_list: scatter_object_output_list needs at least one entry")
    scatter_object_output_list[0] = mine
    return None


_BAD_LIST = "<scatter_object_list: no valid input list on the source process>"


def send_object_list(object_list: list, dst: int, group=None) -> None:
    """PyTorch's ``send_object_list``: ``object_list`` (picklable objects) to process ``dst``."""
    group_comm(group).send(list(object_list), dest=check_rank(group, dst, "send_object_list", "dst"))


def recv_object_list(object_list: list, src: int | None = None, group=None) -> int:
    """PyTorch's ``recv_object_list``: the objects that process ``src`` (any process when
    None) sent, written into ``object_list`` (of their number); returns the sender's rank."""
    MPI, comm = mpi(), group_comm(group)
    status = MPI.Status()
    source = MPI.ANY_SOURCE if src is None else check_rank(group, src, "recv_object_list", "src")
    objects = comm.recv(source=source, status=status)
    if len(objects) != len(object_list):
        raise ValueError(f"recv_object_list: {len(objects)} objects came for a list of {len(object_list)}")
    object_list[:] = objects
    return get_global(group, status.Get_source())


class P2POp:
    """PyTorch's ``P2POp``: a :func:`isend` or :func:`irecv` of ``tensor`` with process
    ``peer``, for :func:`batch_isend_irecv`."""

    def __init__(self, op, tensor, peer: int | None = None, group=None, tag: int = 0, group_peer=None):
        if op not in (isend, irecv):
            raise ValueError(f"P2POp: op must be dist.isend or dist.irecv, got {op!r}")
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag
        self.group_peer = group_peer  # a rank in the group, in place of peer (PyTorch 2.6)


def batch_isend_irecv(p2p_op_list: list) -> list:
    """PyTorch's ``batch_isend_irecv``: every :class:`P2POp` started; ``wait()`` on each
    of the returned requests waits for it."""
    if not all(isinstance(op, P2POp) for op in p2p_op_list):
        raise TypeError("batch_isend_irecv: p2p_op_list must hold dist.P2POp entries")
    return [op.op(op.tensor, op.peer, op.group, op.tag, op.group_peer) for op in p2p_op_list]

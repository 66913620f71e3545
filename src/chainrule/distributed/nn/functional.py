"""PyTorch's ``torch.distributed.nn.functional``: collectives that are differentiable,
for losses that reach across processes (CLIP's and SimCLR's contrastive losses gather
every process's features with :func:`all_gather` and backpropagate into their own).

With every process's loss summed into one objective, the cotangent of a process's input
is the sum over processes of the cotangents of its part of the output, as in PyTorch:
``all_gather``'s derivative is a reduce-scatter of the cotangents, ``broadcast``'s a sum
onto ``src``, ``all_reduce``'s (a sum) an all-reduce. The others (``reduce``,
``reduce_scatter``, ``gather``, ``scatter``, ``all_to_all`` and ``all_to_all_single``)
are built from these three, so their derivatives follow; they move more data than
PyTorch's (an all-reduce or all-gather of every process's whole input), which matters
little for the features and losses they are used for.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import Primitive, def_batch, def_jvps, def_vjps
from chainrule.core.tensor import Tensor
from chainrule.distributed.collectives import (
    ReduceOp,
    all_reduce_p,
    check_op,
    check_rank,
    send_buffer,
    spec,
    write_into,
)
from chainrule.distributed.comm import check_same, group, group_comm, is_world
from chainrule.numpy import batching
from chainrule.transforms.custom import stop_gradient

__all__ = ["all_gather", "all_reduce", "broadcast", "reduce", "reduce_scatter", "gather", "scatter", "all_to_all",
           "all_to_all_single", "ReduceOp"]


def _gather(x, group_=None) -> np.ndarray:
    """Every process's ``x``, stacked in rank order (shape ``(world, *x.shape)``)."""
    comm = group_comm(group_)
    value = send_buffer(x)
    check_same(comm, [("tensor", spec(value))], "all_gather")
    out = np.empty((comm.Get_size(), *value.shape), value.dtype)
    comm.Allgather(value, out)
    return out


def _broadcast(x, src: int, group_=None) -> np.ndarray:
    comm = group_comm(group_)
    value = np.array(send_buffer(x), order="C")
    root = check_rank(group_, src, "broadcast", "src")
    check_same(comm, [("tensor", spec(value)), ("src", root)], "broadcast")
    comm.Bcast(value, root=root)
    return value


def _own_part(g, group_):
    return all_reduce_p(g, "sum", group_)[group_comm(group_).Get_rank()]


def _onto_src(g, src: int, group_):
    total = all_reduce_p(g, "sum", group_)
    mine = check_rank(group_, src, "broadcast", "src") == group_comm(group_).Get_rank()
    return total if mine else cnp.zeros_like(total)


all_gather_p = Primitive(_gather, name="all_gather")
def_vjps(all_gather_p, lambda g, ans, x, group_=None: _own_part(g, group_), None)
def_jvps(all_gather_p, lambda t, ans, x, group_=None: all_gather_p(t, group_), None)
broadcast_p = Primitive(_broadcast, name="broadcast")
def_vjps(broadcast_p, lambda g, ans, x, src, group_=None: _onto_src(g, src, group_), None, None)
def_jvps(broadcast_p, lambda t, ans, x, src, group_=None: broadcast_p(t, src, group_), None, None)


def _gather_batched(prim, batched, x, group_=None):
    """Under vmap: the whole batch gathered at once, the processes' axis after the batch's."""
    return cnp.moveaxis(prim(x, group_), 1, 0)


def_batch(_gather_batched, all_gather_p)
def_batch(batching.stacked, broadcast_p)  # every example broadcast at once


def _plain(group_):
    return None if is_world(group_) else group_


def all_gather(tensor, group=group.WORLD) -> tuple:
    """Every process's ``tensor``, in rank order, as a tuple; differentiable (the gradient
    of a process's ``tensor`` sums every process's gradient of its entry)."""
    gathered = all_gather_p(tensor, _plain(group))
    return tuple(gathered[i] for i in range(gathered.shape[0]))


def all_reduce(tensor, op=ReduceOp.SUM, group=group.WORLD):
    """The sum (or mean) of ``tensor`` over the processes, as a new Tensor; differentiable."""
    return all_reduce_p(tensor, check_op(op), _plain(group))


def broadcast(tensor, src: int, group=group.WORLD):
    """Process ``src``'s ``tensor``, as a new Tensor on every process; differentiable (the
    gradients of every process are summed onto ``src``'s ``tensor``)."""
    return broadcast_p(tensor, src, _plain(group))


def _linear(op, what: str) -> str:
    name = check_op(op)
    if name not in ("sum", "mean"):
        raise NotImplementedError(f"chainrule.distributed.nn.{what}: op={op!r} has no derivative here; use "
                                  "ReduceOp.SUM or ReduceOp.AVG, or torch.distributed's (not differentiable) one")
    return name


def _stack(tensors, what: str):
    tensors = list(tensors)
    shapes = {tuple(np.shape(t)) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"chainrule.distributed.nn.{what}: the tensors must have one shape here, got "
                         f"{sorted(shapes)}")
    return cnp.stack(tensors)


def _world(group_) -> tuple[int, int]:
    comm = group_comm(group_)
    return comm.Get_rank(), comm.Get_size()


def reduce(tensor, dst: int = 0, op=ReduceOp.SUM, group=group.WORLD):
    """The sum (or mean) of ``tensor`` over the processes on process ``dst``, as a new
    Tensor; the other processes get their own ``tensor``'s values (PyTorch leaves them
    unspecified). Differentiable as PyTorch's: every process's ``tensor`` gets ``dst``'s
    gradient."""
    total = all_reduce_p(tensor, _linear(op, "reduce"), _plain(group))
    here, _ = _world(group)
    if check_rank(group, dst, "reduce", "dst") == here:
        return total
    return stop_gradient(tensor) + 0 * total  # dst's cotangent alone reaches the inputs


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=group.WORLD):
    """Process ``r`` gets the sum (or mean) over the processes of their ``input_list[r]``,
    as a new Tensor (also written into ``output``, as PyTorch writes it). Differentiable:
    the gradient of ``input_list[r]`` is process ``r``'s gradient of its result."""
    here, size = _world(group)
    if len(input_list) != size:
        raise ValueError(f"chainrule.distributed.nn.reduce_scatter: input_list has {len(input_list)} tensors "
                         f"for {size} processes")
    result = all_reduce_p(_stack(input_list, "reduce_scatter"), _linear(op, "reduce_scatter"), _plain(group))[here]
    if isinstance(output, Tensor):
        write_into(output, result)
    return result


def gather(tensor, dst: int = 0, group=group.WORLD) -> tuple:
    """Every process's ``tensor``, in rank order, on process ``dst`` (zeros elsewhere, as
    PyTorch's), as a tuple. Differentiable: each process's ``tensor`` gets ``dst``'s
    gradient of its entry."""
    gathered = all_gather_p(tensor, _plain(group))
    here, _ = _world(group)
    if check_rank(group, dst, "gather", "dst") != here:
        gathered = 0 * gathered
    return tuple(gathered[i] for i in range(gathered.shape[0]))


def scatter(tensors, src: int = 0, group=group.WORLD):
    """Process ``r`` gets process ``src``'s ``tensors[r]``, as a new Tensor (every process
    passes a list of the same shapes; only ``src``'s values are read). Differentiable:
    ``src``'s ``tensors[r]`` gets process ``r``'s gradient."""
    here, size = _world(group)
    if len(tensors) != size:
        raise ValueError(f"chainrule.distributed.nn.scatter: {len(tensors)} tensors for {size} processes")
    return broadcast_p(_stack(tensors, "scatter"), src, _plain(group))[here]


def all_to_all(output_tensor_list, input_tensor_list, group=group.WORLD) -> tuple:
    """Entry ``j`` of process ``r``'s result is process ``j``'s ``input_tensor_list[r]``
    (also written into ``output_tensor_list``, as PyTorch writes it); a tuple.
    Differentiable: the gradients travel back the same way. Here every tensor has one
    shape."""
    here, size = _world(group)
    if len(input_tensor_list) != size:
        raise ValueError(f"chainrule.distributed.nn.all_to_all: input_tensor_list has {len(input_tensor_list)} "
                         f"tensors for {size} processes")
    mine = all_gather_p(_stack(input_tensor_list, "all_to_all"), _plain(group))[:, here]
    result = tuple(mine[j] for j in range(size))
    for out, value in zip(output_tensor_list, result, strict=False):
        if isinstance(out, Tensor):
            write_into(out, value)
    return result


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=group.WORLD):
    """:func:`all_to_all` on the blocks of ``input``'s first axis, one per process,
    concatenated into a new Tensor (also written into ``output``). Equal blocks only
    here."""
    here, size = _world(group)
    n = np.shape(input)[0]
    for sizes in (output_split_sizes, input_split_sizes):
        if sizes is not None and list(sizes) != [n // size] * size:
            raise NotImplementedError("chainrule.distributed.nn.all_to_all_single: only equal blocks (no "
                                      f"split sizes, or {n // size} for each process), got {list(sizes)}")
    if n % size:
        raise ValueError(f"chainrule.distributed.nn.all_to_all_single: the first axis ({n}) does not split "
                         f"into {size} equal blocks")
    blocks = cnp.reshape(input, (size, n // size, *np.shape(input)[1:]))
    mine = all_gather_p(blocks, _plain(group))[:, here]
    result = cnp.reshape(mine, (n, *np.shape(input)[1:]))
    if isinstance(output, Tensor):
        write_into(output, result)
    return result

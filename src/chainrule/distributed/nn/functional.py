"""PyTorch's ``torch.distributed.nn.functional``: collectives that are differentiable,
for losses that reach across processes (CLIP's and SimCLR's contrastive losses gather
every process's features with :func:`all_gather` and backpropagate into their own).

With every process's loss summed into one objective, the cotangent of a process's input
is the sum over processes of the cotangents of its part of the output, as in PyTorch:
``all_gather``'s derivative is a reduce-scatter of the cotangents, ``broadcast``'s a sum
onto ``src``, ``all_reduce``'s (a sum) an all-reduce.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import Primitive, def_batch, def_jvps, def_vjps
from chainrule.distributed.collectives import ReduceOp, all_reduce_p, check_op, check_rank, send_buffer, spec
from chainrule.distributed.comm import check_same, group, group_comm, is_world
from chainrule.numpy import batching

__all__ = ["all_gather", "all_reduce", "broadcast", "ReduceOp"]


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
    check_same(comm, [("tensor", spec(value))], "broadcast")
    comm.Bcast(value, root=check_rank(group_, src, "broadcast", "src"))
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

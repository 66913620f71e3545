"""PyTorch's ``ddp_comm_hooks.debugging_hooks``: ``noop_hook``, which leaves each process
its own gradients (no communication), for measuring what the communication costs."""

from __future__ import annotations

from chainrule.distributed.collectives import Future

__all__ = ["noop_hook"]


def noop_hook(_, bucket) -> Future:
    """The bucket's gradients as they are: each process keeps its own."""
    fut = Future()
    fut.set_result(bucket.buffer())
    return fut

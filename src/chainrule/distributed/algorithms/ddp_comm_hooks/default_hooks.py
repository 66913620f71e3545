"""PyTorch's default DDP communication hooks
(``torch.distributed.algorithms.ddp_comm_hooks.default_hooks``), for
``model.register_comm_hook(state, hook)``; ``state`` is the process group (None: the job).

>>> import numpy as np
>>> from chainrule import distributed as dist, nn
>>> from chainrule.distributed.algorithms.ddp_comm_hooks import default_hooks
>>> dist.init()
>>> model = dist.DistributedDataParallel(nn.Linear(2, 1))
>>> model.register_comm_hook(None, default_hooks.allreduce_hook)
>>> model(np.ones((1, 2))).sum().backward()
>>> model.module.bias.grad.tolist()
[1.0]
"""

from __future__ import annotations

import numpy as np

from chainrule.core.eager import EAGER
from chainrule.core.tensor import Tensor
from chainrule.distributed.collectives import Future, all_reduce
from chainrule.distributed.comm import get_world_size

__all__ = ["allreduce_hook", "fp16_compress_hook"]


def _allreduce_fut(process_group, tensor: Tensor) -> Future:
    """``tensor`` divided by the group's size, then summed over it, in place."""
    tensor.div_(get_world_size(process_group))
    return all_reduce(tensor, group=process_group, async_op=True).get_future().then(lambda fut: fut.value()[0])


def allreduce_hook(process_group, bucket) -> Future:
    """The mean of the bucket's gradients over the processes: what DDP does without a hook."""
    return _allreduce_fut(process_group, bucket.buffer())


def fp16_compress_hook(process_group, bucket) -> Future:
    """The bucket's gradients cast to float16 and divided by the number of processes,
    summed in float16, and cast back: half the bytes on the wire, float16's precision."""
    buffer = bucket.buffer()
    compressed = Tensor(np.asarray(buffer.primal()).astype(np.float16), EAGER)
    compressed.div_(get_world_size(process_group))
    all_reduce(compressed, group=process_group)
    buffer.copy_(np.asarray(compressed.primal()).astype(np.asarray(buffer.primal()).dtype))
    fut = Future()
    fut.set_result(buffer)
    return fut

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

__all__ = ["allreduce_hook", "fp16_compress_hook", "bf16_compress_hook", "fp16_compress_wrapper",
           "bf16_compress_wrapper"]


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


def to_bfloat16(x) -> np.ndarray:
    """``x`` rounded to bfloat16's precision (to nearest, ties to even), as float32: NumPy
    has no bfloat16, and float32 holds every bfloat16 value exactly."""
    x = np.asarray(x, np.float32)
    bits = x.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000).astype(np.uint32).view(np.float32)
    return np.where(np.isnan(x), x, rounded)


def bf16_compress_hook(process_group, bucket) -> Future:
    """The bucket's gradients rounded to bfloat16 and divided by the number of processes
    (rounded again), summed and rounded to bfloat16, and cast back: PyTorch's hook, whose
    sum NCCL does in bfloat16 (bfloat16's precision, 8 bits)."""
    buffer = bucket.buffer()
    compressed = to_bfloat16(to_bfloat16(buffer.primal()) / np.float32(get_world_size(process_group)))
    total = to_bfloat16(all_reduce(compressed, group=process_group))
    buffer.copy_(total.astype(np.asarray(buffer.primal()).dtype))
    fut = Future()
    fut.set_result(buffer)
    return fut


def _compress_wrapper(hook, compress, name: str):
    def wrapped(hook_state, bucket) -> Future:
        original = bucket.buffer()
        bucket.set_buffer(Tensor(compress(np.asarray(original.primal())), EAGER))
        fut = hook(hook_state, bucket)

        def decompress(fut):
            value = fut.value()
            value = value[0] if isinstance(value, list | tuple) and len(value) == 1 else value
            value = compress(np.asarray(value.primal() if isinstance(value, Tensor) else value))
            original.copy_(value.astype(np.asarray(original.primal()).dtype))
            return original
        return fut.then(decompress)
    wrapped.__name__ = wrapped.__qualname__ = name
    return wrapped


def fp16_compress_wrapper(hook):
    """PyTorch's wrapper: ``hook`` run on the bucket's gradients cast to float16, its
    result cast back."""
    return _compress_wrapper(hook, lambda a: a.astype(np.float16), "fp16_compress_wrapper_hook")


def bf16_compress_wrapper(hook):
    """PyTorch's wrapper: ``hook`` run on the bucket's gradients rounded to bfloat16 (kept
    in float32, which NumPy's arrays have), its result rounded and cast back."""
    return _compress_wrapper(hook, to_bfloat16, "bf16_compress_wrapper_hook")

"""PyTorch's ``torch.distributed.algorithms.ddp_comm_hooks``: the communication hooks of
``DistributedDataParallel.register_comm_hook`` (:mod:`.default_hooks`,
:mod:`.debugging_hooks`), ``DDPCommHookType`` and ``register_ddp_comm_hook``. PowerSGD,
the quantization hooks and post-local SGD are not available: their names raise
``NotImplementedError``, saying what to use instead."""

from __future__ import annotations

import enum

from chainrule.distributed.algorithms.ddp_comm_hooks import (
    debugging_hooks,
    default_hooks,
    post_localSGD_hook,
    powerSGD_hook,
    quantization_hooks,
)
from chainrule.distributed.algorithms.ddp_comm_hooks.unavailable import unavailable

__all__ = ["default_hooks", "debugging_hooks", "powerSGD_hook", "quantization_hooks", "post_localSGD_hook",
           "DDPCommHookType", "register_ddp_comm_hook"]


class DDPCommHookType(enum.Enum):
    """PyTorch's names of the built-in hooks, for :func:`register_ddp_comm_hook`."""

    ALLREDUCE = "allreduce"
    FP16_COMPRESS = "fp16_compress"
    BF16_COMPRESS = "bf16_compress"
    QUANTIZE_PER_TENSOR = "quantize_per_tensor"
    QUANTIZE_PER_CHANNEL = "quantize_per_channel"
    POWER_SGD = "power_sgd"
    POWER_SGD_RANK2 = "power_sgd_rank2"
    BATCHED_POWER_SGD = "batched_power_sgd"
    BATCHED_POWER_SGD_RANK2 = "batched_power_sgd_rank2"
    NOOP = "noop"


_HOOKS = {
    DDPCommHookType.ALLREDUCE: default_hooks.allreduce_hook,
    DDPCommHookType.FP16_COMPRESS: default_hooks.fp16_compress_hook,
    DDPCommHookType.BF16_COMPRESS: default_hooks.bf16_compress_hook,
    DDPCommHookType.NOOP: debugging_hooks.noop_hook,
}


def register_ddp_comm_hook(comm_hook_type: DDPCommHookType, model, state=None) -> None:
    """PyTorch's ``register_ddp_comm_hook``: ``model.register_comm_hook(state, hook)`` with
    the built-in hook that ``comm_hook_type`` names."""
    if comm_hook_type not in _HOOKS:
        unavailable(f"register_ddp_comm_hook({comm_hook_type})")()  # raises, naming it
    model.register_comm_hook(state, _HOOKS[comm_hook_type])

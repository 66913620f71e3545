"""PyTorch's ``ddp_comm_hooks.powerSGD_hook`` (low-rank gradient compression): not
available in chainrule; its names raise ``NotImplementedError`` when used."""

from chainrule.distributed.algorithms.ddp_comm_hooks.unavailable import unavailable

__all__ = ["PowerSGDState", "powerSGD_hook", "batched_powerSGD_hook"]

PowerSGDState = unavailable("powerSGD_hook.PowerSGDState")
powerSGD_hook = unavailable("powerSGD_hook.powerSGD_hook")
batched_powerSGD_hook = unavailable("powerSGD_hook.batched_powerSGD_hook")

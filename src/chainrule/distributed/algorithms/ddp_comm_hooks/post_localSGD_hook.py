"""PyTorch's ``ddp_comm_hooks.post_localSGD_hook``: not available in chainrule; its names
raise ``NotImplementedError`` when used."""

from chainrule.distributed.algorithms.ddp_comm_hooks.unavailable import unavailable

__all__ = ["PostLocalSGDState", "post_localSGD_hook"]

PostLocalSGDState = unavailable("post_localSGD_hook.PostLocalSGDState")
post_localSGD_hook = unavailable("post_localSGD_hook.post_localSGD_hook")

"""PyTorch's ``ddp_comm_hooks.quantization_hooks``: not available in chainrule; its names
raise ``NotImplementedError`` when used."""

from chainrule.distributed.algorithms.ddp_comm_hooks.unavailable import unavailable

__all__ = ["quantization_pertensor_hook", "quantization_perchannel_hook"]

quantization_pertensor_hook = unavailable("quantization_hooks.quantization_pertensor_hook")
quantization_perchannel_hook = unavailable("quantization_hooks.quantization_perchannel_hook")

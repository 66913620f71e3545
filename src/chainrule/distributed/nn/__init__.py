"""PyTorch's ``torch.distributed.nn``: the differentiable collectives of :mod:`.functional`."""

from chainrule.distributed.nn import functional
from chainrule.distributed.nn.functional import ReduceOp, all_gather, all_reduce, broadcast

__all__ = ["functional", "all_gather", "all_reduce", "broadcast", "ReduceOp"]

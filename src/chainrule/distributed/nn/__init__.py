"""PyTorch's ``torch.distributed.nn``: the differentiable collectives of :mod:`.functional`."""

from chainrule.distributed.nn import functional
from chainrule.distributed.nn.functional import (
    ReduceOp,
    all_gather,
    all_reduce,
    all_to_all,
    all_to_all_single,
    broadcast,
    gather,
    reduce,
    reduce_scatter,
    scatter,
)

__all__ = ["functional", "all_gather", "all_reduce", "all_to_all", "all_to_all_single", "broadcast", "gather",
           "reduce", "reduce_scatter", "scatter", "ReduceOp"]

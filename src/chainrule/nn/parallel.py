"""PyTorch's ``torch.nn.parallel`` path to data-parallel training: the wrapper itself is
:class:`chainrule.distributed.DistributedDataParallel` (on MPI)."""

from chainrule.distributed.ddp import DistributedDataParallel

__all__ = ["DistributedDataParallel"]

"""PyTorch's ``torch.nn.parallel`` path to data-parallel training: the wrapper itself is
:class:`chainrule.distributed.DistributedDataParallel` (on MPI)."""

from chainrule.distributed.ddp import DistributedDataParallel
from chainrule.nn.spatial import DataParallel

__all__ = ["DistributedDataParallel", "DataParallel"]

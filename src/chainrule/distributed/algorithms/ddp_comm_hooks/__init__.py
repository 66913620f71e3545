"""PyTorch's ``torch.distributed.algorithms.ddp_comm_hooks``: the default communication
hooks of ``DistributedDataParallel.register_comm_hook`` (:mod:`.default_hooks`)."""

from chainrule.distributed.algorithms.ddp_comm_hooks import default_hooks

__all__ = ["default_hooks"]

"""PyTorch's ``torch.utils.data.distributed`` path: :class:`DistributedSampler`."""

from chainrule.data.sampler import DistributedSampler

__all__ = ["DistributedSampler"]

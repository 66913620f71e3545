"""PyTorch's ``torch.distributed.algorithms`` path: :mod:`.ddp_comm_hooks`, and the
generic join context manager (:class:`Join`, :class:`Joinable`, :class:`JoinHook`)."""

from chainrule.distributed.algorithms.join import Join, Joinable, JoinHook

__all__ = ["Join", "Joinable", "JoinHook"]

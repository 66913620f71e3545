"""The communication hooks of PyTorch that chainrule does not have: using one raises,
naming it and what to use instead."""

from __future__ import annotations

__all__ = ["unavailable"]


def unavailable(name: str):
    """A stand-in for PyTorch's ``name`` (a hook, or the state class of one) that raises
    ``NotImplementedError`` when called or made."""

    def refuse(*args, **kwargs):
        raise NotImplementedError(
            f"{name} is not available in chainrule: register default_hooks.allreduce_hook (what "
            "DistributedDataParallel does without a hook), or default_hooks.fp16_compress_hook or "
            "bf16_compress_hook for half the bytes")
    refuse.__name__ = refuse.__qualname__ = name.rsplit(".", 1)[-1]
    refuse.__doc__ = f"PyTorch's ``{name}``: not available here; calling it raises ``NotImplementedError``."
    return refuse

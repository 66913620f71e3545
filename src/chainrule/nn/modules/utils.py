"""PyTorch's ``torch.nn.modules.utils``: what scripts use to load checkpoints of wrapped
models, ``consume_prefix_in_state_dict_if_present``."""

from __future__ import annotations

__all__ = ["consume_prefix_in_state_dict_if_present"]


def consume_prefix_in_state_dict_if_present(state_dict: dict, prefix: str) -> None:
    """Strip ``prefix`` from every key of ``state_dict`` that starts with it, in place (the
    ``"module."`` that ``DistributedDataParallel.state_dict()`` puts before each name), so
    that the plain model loads it; the keys keep their order.

    >>> sd = {"module.weight": 1, "module.bias": 2, "step": 3}
    >>> consume_prefix_in_state_dict_if_present(sd, "module.")
    >>> sd
    {'weight': 1, 'bias': 2, 'step': 3}
    """
    items = list(state_dict.items())
    state_dict.clear()
    for key, value in items:
        state_dict[key[len(prefix):] if key.startswith(prefix) else key] = value
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is not None:  # PyTorch's per-module versions, keyed the same way
        for key in list(metadata):
            if key.startswith(prefix) or key == prefix.rstrip("."):
                metadata[key[len(prefix):] if key.startswith(prefix) else ""] = metadata.pop(key)

"""PyTorch's ``torch.nn.modules.utils``: what scripts use to load checkpoints of wrapped
models, ``consume_prefix_in_state_dict_if_present``, and the helpers that layers written
for PyTorch import to spell their sizes (``_pair(kernel_size)``, ``_reverse_repeat_tuple``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["consume_prefix_in_state_dict_if_present", "_ntuple", "_single", "_pair", "_triple", "_quadruple",
           "_reverse_repeat_tuple"]


def _ntuple(n: int, name: str = "parse") -> Callable[[Any], tuple]:
    """A function that makes a tuple of ``n`` copies of a number, or a tuple of an
    iterable as it is (not checked for length), as PyTorch's.

    >>> _ntuple(2)(3), _ntuple(2)([1, 2])
    ((3, 3), (1, 2))
    """
    def parse(x) -> tuple:
        return tuple(x) if isinstance(x, Iterable) else (x,) * n

    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")


def _reverse_repeat_tuple(t: Iterable, n: int) -> tuple:
    """``t``'s entries in reverse order, each ``n`` times (a layer's per-axis padding as
    ``F.pad`` takes it, last axis first).

    >>> _reverse_repeat_tuple((1, 2), 2)
    (2, 2, 1, 1)
    """
    return tuple(x for x in reversed(tuple(t)) for _ in range(n))


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

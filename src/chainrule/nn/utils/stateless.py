"""``nn.utils.stateless``, PyTorch's: ``functional_call`` (deprecated there in favour of
``torch.func.functional_call``, which :mod:`chainrule.func` has; both call the code here)."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from chainrule.nn.module import Module

__all__ = ["functional_call", "call_with_values"]


@contextlib.contextmanager
def swapped(module: Module, values: Mapping[str, Any], strict: bool) -> Iterator[None]:
    """``module`` with the parameters and buffers named in ``values`` replaced for the
    duration (the registries untouched: only what ``forward`` reads), then restored."""
    known = {name for name, _ in module.named_parameters()} | {name for name, _ in module.named_buffers()}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"functional_call: {type(module).__name__} has no parameter or buffer {unknown[0]!r}")
    if strict and set(values) != known:
        raise ValueError(f"functional_call(strict=True): missing {sorted(known - set(values))}")
    saved = []
    try:
        for name, value in values.items():
            owner_name, _, attr = name.rpartition(".")
            owner = module.get_submodule(owner_name) if owner_name else module
            saved.append((owner, attr, owner.__dict__[attr]))
            object.__setattr__(owner, attr, value)
        yield
    finally:
        for owner, attr, value in reversed(saved):
            object.__setattr__(owner, attr, value)


def call_with_values(module: Module, parameter_and_buffer_dicts: Mapping | Sequence[Mapping], args: Any = (),
                     kwargs: Mapping | None = None, strict: bool = False) -> Any:
    """``module(*args, **kwargs)`` with its parameters and buffers replaced by the values
    in ``parameter_and_buffer_dicts`` (a dict by dotted name, or a tuple of dicts); the
    module itself is left as it was (``chainrule.func.functional_call``)."""
    dicts = [parameter_and_buffer_dicts] if isinstance(parameter_and_buffer_dicts, Mapping) \
        else list(parameter_and_buffer_dicts)
    values: dict[str, Any] = {}
    for d in dicts:
        for k, v in d.items():
            if k in values:
                raise ValueError(f"functional_call: {k!r} is given in more than one dict")
            values[k] = v
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    with swapped(module, values, strict):
        return module(*args, **(kwargs or {}))


def functional_call(module: Module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """PyTorch's deprecated ``torch.nn.utils.stateless.functional_call`` (with its
    FutureWarning): :func:`chainrule.func.functional_call`."""
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed in "
                  "a future version of PyTorch. Please use `torch.func.functional_call` instead which is a drop-in "
                  "replacement.", FutureWarning, stacklevel=2)
    return call_with_values(module, parameters_and_buffers, args, kwargs, strict)

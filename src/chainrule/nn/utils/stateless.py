"""``nn.utils.stateless``, PyTorch's: ``functional_call`` (deprecated there in favour of
``torch.func.functional_call``, which :mod:`chainrule.func` has; both call the code here)."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from chainrule.core.errors import TensorError
from chainrule.nn.module import Module

__all__ = ["functional_call", "call_with_values"]


def _tied_groups(module: Module) -> dict[str, list[str]]:
    """Every parameter's and buffer's name (under each of its names, as PyTorch's
    ``remove_duplicate=False``), mapped to all the names of the same array: more than one
    where weights are tied (``decoder.weight = encoder.weight``)."""
    by_id: dict[int, list[str]] = {}
    for named in (module.named_parameters, module.named_buffers):
        for name, value in named(remove_duplicate=False):
            by_id.setdefault(id(value), []).append(name)
    return {name: names for names in by_id.values() for name in names}


def _with_tied(values: Mapping[str, Any], groups: dict[str, list[str]]) -> dict[str, Any]:
    """``values`` with each value also given to the names tied to its own, as PyTorch's
    ``tie_weights=True``; different values for names of one array are refused, as there."""
    out = dict(values)
    for name, value in values.items():
        for other in groups.get(name, ()):
            if other in values and values[other] is not value:
                tied = sorted(n for n in groups[name] if n in values)
                raise ValueError(f"functional_call got multiple values for keys {tied}, which are tied. Consider "
                                 "using tie_weights=False")
            out[other] = value
    return out


@contextlib.contextmanager
def swapped(module: Module, values: Mapping[str, Any], strict: bool, tie_weights: bool = True) -> Iterator[None]:
    """``module`` with the parameters and buffers named in ``values`` replaced for the
    duration (the registries untouched: only what ``forward`` reads), then restored. With
    ``tie_weights``, a value given for one of tied weights' names replaces them all."""
    groups = _tied_groups(module)
    unknown = sorted(set(values) - set(groups))
    if unknown and not strict:
        raise TensorError(f"functional_call: {type(module).__name__} has no parameter or buffer {unknown[0]!r}")
    if tie_weights:
        values = _with_tied(values, groups)
    missing = sorted(set(groups) - set(values))
    if strict and (missing or unknown):
        lines = [f"\tUnexpected key(s): {', '.join(map(repr, unknown))}." if unknown else "",
                 f"\tMissing key(s): {', '.join(map(repr, missing))}." if missing else ""]
        raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n"
                           + "\n".join(line for line in lines if line))
    saved = []
    try:
        for name, value in values.items():
            owner_name, _, attr = name.rpartition(".")
            owner = module.get_submodule(owner_name) if owner_name else module
            registry = owner._buffers if attr in owner._buffers else owner._parameters
            saved.append((owner, attr, owner.__dict__[attr], registry, registry.get(attr)))
            object.__setattr__(owner, attr, value)
        yield
    finally:
        # (forward may have assigned the name, self.num_batches_tracked += 1: that reaches the
        # registry too, which then held the caller's value instead of the module's own)
        for owner, attr, value, registry, registered in reversed(saved):
            object.__setattr__(owner, attr, value)
            if attr in registry:
                registry[attr] = registered


def call_with_values(module: Module, parameter_and_buffer_dicts: Mapping | Sequence[Mapping], args: Any = (),
                     kwargs: Mapping | None = None, strict: bool = False, tie_weights: bool = True) -> Any:
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
    with swapped(module, values, strict, tie_weights):
        return module(*args, **(kwargs or {}))


def functional_call(module: Module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """PyTorch's deprecated ``torch.nn.utils.stateless.functional_call`` (with its
    FutureWarning): :func:`chainrule.func.functional_call`."""
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed in "
                  "a future version of PyTorch. Please use `torch.func.functional_call` instead which is a drop-in "
                  "replacement.", FutureWarning, stacklevel=2)
    return call_with_values(module, parameters_and_buffers, args, kwargs, strict, tie_weights)

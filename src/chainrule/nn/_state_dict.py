"""The steps of :meth:`Module.load_state_dict` that PyTorch lets a module take part in.

PyTorch calls ``module._load_from_state_dict(state_dict, prefix, local_metadata, strict,
missing_keys, unexpected_keys, error_msgs)`` on every module, parents first, with the
whole state dict; model code overrides it to read old checkpoints (torchvision's
``MLPBlock`` renames ``linear_1.weight`` to ``0.weight``, ``FrozenBatchNorm2d`` drops
``num_batches_tracked``) and then calls ``super()._load_from_state_dict(...)``. Here the
base step runs the module's load pre-hooks; the values are copied after every module has
taken its step, all at once, so that a wrong key or shape changes nothing. The keys and
messages the steps report join those that ``load_state_dict`` finds itself. A state dict
carries the modules' versions in its ``_metadata``, as PyTorch's.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from chainrule.nn.parameter import Parameter

__all__ = ["run_load_steps", "assign_state", "state_metadata"]


def run_load_steps(module, state_dict: Mapping[str, Any], strict: bool):
    """``state_dict`` as the ``_load_from_state_dict`` of ``module`` and of each module
    below it leave it (a copy: the caller's dict is not changed), with the missing keys,
    unexpected keys and error messages they reported. ``local_metadata`` is the entry of
    the dict's ``_metadata`` (PyTorch's, where it has one) for the module, else ``{}``."""
    metadata = getattr(state_dict, "_metadata", None)
    state_dict = OrderedDict(state_dict)
    missing: list[str] = []
    unexpected: list[str] = []
    errors: list[str] = []
    for prefix, m in module.named_modules():
        local = metadata.get(prefix, {}) if isinstance(metadata, Mapping) else {}
        m._load_from_state_dict(state_dict, f"{prefix}." if prefix else "", local, strict, missing, unexpected,
                                errors)
    return state_dict, missing, unexpected, errors


def state_metadata(module, prefix: str) -> OrderedDict:
    """PyTorch's ``state_dict()._metadata``: ``{"version": _version}`` of each module (1
    unless its class says otherwise; BatchNorm's is 2) by its dotted name, which
    ``_load_from_state_dict`` overrides read as ``local_metadata``."""
    return OrderedDict((name, {"version": getattr(m, "_version", 1)})
                       for name, m in module.named_modules(prefix=prefix, remove_duplicate=False))


def assign_state(module, updates: list) -> None:
    """``load_state_dict(assign=True)``: each (key, value) made the parameter or buffer."""
    modules = dict(module.named_modules(remove_duplicate=False))
    for key, value in updates:
        prefix, _, name = key.rpartition(".")
        owner = modules[prefix]
        old = owner.__dict__["_parameters"].get(name)
        if old is not None:
            if not isinstance(value, Parameter):
                value = Parameter(value, requires_grad=old.requires_grad)
            owner.register_parameter(name, value)
        else:
            owner.register_buffer(name, value)

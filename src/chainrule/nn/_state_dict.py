"""``Module.state_dict`` and ``load_state_dict`` as PyTorch's, with the steps and hooks
that PyTorch lets a module take part in.

Saving: each module, parents first, runs its ``state_dict`` pre-hooks, then
``_save_to_state_dict(destination, prefix, keep_vars)`` (its parameters, persistent
buffers and ``get_extra_state()``; model code overrides it to save more), then its
children's ``state_dict``, then its post-hooks; the dict carries each module's version
in its ``_metadata``.

Loading: each module, parents first, gets ``_load_from_state_dict(state_dict, prefix,
local_metadata, strict, missing_keys, unexpected_keys, error_msgs)`` with the keys under
its prefix; model code overrides it to read old checkpoints (torchvision's ``MLPBlock``
renames keys, ``FrozenBatchNorm2d`` drops ``num_batches_tracked``) and calls
``super()._load_from_state_dict(...)``, which runs the load pre-hooks and copies the
module's own values, so that code after it sees them, as in PyTorch. Then the children,
then the module's load post-hooks (``hook(module, incompatible_keys)``, which may edit
the key lists). Unlike PyTorch, a load that fails changes nothing: the values are put
back as they were before the error is raised.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from chainrule.core.eager import count_write
from chainrule.core.tensor import Tensor
from chainrule.nn._backward_hooks import run_load_pre_hooks
from chainrule.nn.parameter import Parameter

__all__ = ["EXTRA_STATE", "PublicHook", "save_state", "save_own", "load_state", "load_own"]

EXTRA_STATE = "_extra_state"  # the key suffix of get_extra_state's value, PyTorch's


class PublicHook:
    """A ``state_dict`` post-hook registered through the public method: it must return
    None (the private ``_register_state_dict_hook``'s may return a new dict)."""

    def __init__(self, fun):
        self.fun = fun

    def __call__(self, *args):
        if self.fun(*args) is not None:
            raise RuntimeError("state_dict post-hook must return None")


def _hooks(module, kind: str) -> list:
    return list((module.__dict__.get(kind) or {}).values())


def _overrides(module, name: str, base: type) -> bool:
    return getattr(type(module), name) is not getattr(base, name)


def save_state(module, destination: OrderedDict, prefix: str, keep_vars: bool) -> OrderedDict:
    """``module.state_dict(destination=..., prefix=..., keep_vars=...)``: PyTorch's order of
    pre-hooks, ``_save_to_state_dict``, children, post-hooks."""
    local_metadata = {"version": getattr(module, "_version", 1)}
    metadata = getattr(destination, "_metadata", None)
    if metadata is not None:
        metadata[prefix[:-1]] = local_metadata
    for hook in _hooks(module, "_state_dict_pre_hooks"):
        hook(module, prefix, keep_vars)
    module._save_to_state_dict(destination, prefix, keep_vars)
    for name, child in module.__dict__["_modules"].items():
        if child is not None:
            child.state_dict(destination=destination, prefix=f"{prefix}{name}.", keep_vars=keep_vars)
    for hook in _hooks(module, "_state_dict_hooks"):
        result = hook(module, destination, prefix, local_metadata)
        if result is not None:
            destination = result
    return destination


def save_own(module, base: type, destination: dict, prefix: str, keep_vars: bool) -> None:
    """The base ``_save_to_state_dict``: the module's parameters and persistent buffers
    (detached unless ``keep_vars``), and ``get_extra_state()`` where its class defines it."""
    d = module.__dict__
    for name, p in d["_parameters"].items():
        if p is not None:
            destination[prefix + name] = p if keep_vars else _detached(p)
    for name, b in d["_buffers"].items():
        if b is not None and name not in d["_non_persistent"]:
            destination[prefix + name] = b if keep_vars else _detached(b)
    if _overrides(module, "get_extra_state", base):
        destination[prefix + EXTRA_STATE] = module.get_extra_state()


def _detached(t):
    return t.detach() if isinstance(t, Tensor) else np.asarray(t)


def load_state(module, state_dict, strict: bool, assign: bool, keys_type) -> tuple[list, list, list]:
    """Run the load steps of ``module`` and its children (PyTorch's recursion), copying the
    values; the (missing keys, unexpected keys, error messages). ``keys_type`` makes the
    ``incompatible_keys`` the post-hooks get. On an error the values are put back."""
    metadata = getattr(state_dict, "_metadata", None)
    state_dict = OrderedDict(state_dict)
    if metadata is not None:
        state_dict._metadata = metadata
    missing: list[str] = []
    unexpected: list[str] = []
    errors: list[str] = []
    before = _Snapshot(module)

    def load(m, local, prefix: str) -> None:
        local_metadata = dict(metadata.get(prefix[:-1], {})) if hasattr(metadata, "get") else {}
        if assign:
            local_metadata["assign_to_params_buffers"] = True
        m._load_from_state_dict(local, prefix, local_metadata, True, missing, unexpected, errors)
        for name, child in m.__dict__["_modules"].items():
            if child is not None:
                under = f"{prefix}{name}."
                load(child, {k: v for k, v in local.items() if k.startswith(under)}, under)
        keys = keys_type(missing, unexpected)  # the lists themselves: a hook edits them in place
        for hook in _hooks(m, "_load_state_dict_post_hooks"):
            if hook(m, keys) is not None:
                raise AssertionError("a hook registered with register_load_state_dict_post_hook must return None; "
                                     "to change the incompatible keys, edit its lists in place")

    try:
        load(module, state_dict, "")
    except BaseException:
        before.restore()
        raise
    if errors or (strict and (missing or unexpected)):
        before.restore()
    return missing, unexpected, errors


def load_own(module, state_dict, prefix: str, local_metadata: dict, strict: bool, missing_keys: list,
             unexpected_keys: list, error_msgs: list, base: type) -> None:
    """The base ``_load_from_state_dict``: the load pre-hooks, then each of the module's
    parameters and persistent buffers copied from ``state_dict[prefix + name]`` (or made
    that Tensor, with ``assign_to_params_buffers``), its shape and dtype checked; the keys
    it lacks, the keys under ``prefix`` that are not the module's, and the errors reported."""
    run_load_pre_hooks(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
    d = module.__dict__
    own = {k: v for k, v in d["_parameters"].items() if v is not None}
    own.update((k, v) for k, v in d["_buffers"].items() if v is not None and k not in d["_non_persistent"])
    assign = local_metadata.get("assign_to_params_buffers", False)
    for name, target in own.items():
        key = prefix + name
        if key not in state_dict:
            if strict:
                missing_keys.append(key)
            continue
        given = state_dict[key]
        value = np.asarray(given.primal() if isinstance(given, Tensor) else given)
        have = np.shape(target._value)
        if have == () and value.shape == (1,):  # a 0-d Tensor saved as 1-d by old PyTorch
            given, value = given[0], value[0]
        if value.shape != have:
            error_msgs.append(f"size mismatch for {key}: the file has shape {value.shape}, the model has shape {have}")
        elif assign:
            _assign(module, name, target, given)
        elif not np.can_cast(value.dtype, np.result_type(target._value), "same_kind"):
            error_msgs.append(f"dtype mismatch for {key}: cannot load {value.dtype} into "
                              f"{np.result_type(target._value)}")
        else:
            _copy_into(target, value)
    extra = prefix + EXTRA_STATE
    if _overrides(module, "set_extra_state", base):
        if extra in state_dict:
            module.set_extra_state(state_dict[extra])
        elif strict:
            missing_keys.append(extra)
    elif strict and extra in state_dict:
        unexpected_keys.append(extra)
    if strict:
        children = d["_modules"]
        for key in state_dict:
            if key.startswith(prefix) and key != extra:
                head, dot, _ = key[len(prefix):].partition(".")
                if (head not in children) if dot else (head not in own):
                    unexpected_keys.append(key)


def _copy_into(target: Tensor, value: np.ndarray) -> None:
    buf = target._value
    if isinstance(buf, np.ndarray) and buf.flags.writeable:
        np.copyto(buf, value, casting="same_kind")
    else:
        target._value = np.array(value, dtype=np.result_type(buf))
    count_write(target)


def _assign(module, name: str, old: Tensor, value: Any) -> None:
    """``load_state_dict(assign=True)``: ``value`` made the parameter or buffer ``name``."""
    if name in module.__dict__["_parameters"]:
        if not isinstance(value, Parameter):
            value = Parameter(value, requires_grad=old.requires_grad)
        else:  # the model's requires_grad, as PyTorch's (a frozen layer stays frozen)
            value.requires_grad_(old.requires_grad)
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


class _Snapshot:
    """The parameters and buffers of a module tree as they are (the objects and a copy of
    their values), to put back when a load fails."""

    def __init__(self, module):
        self.entries = []
        for m in module.modules():
            d = m.__dict__
            for registry in ("_parameters", "_buffers"):
                for name, t in d[registry].items():
                    if isinstance(t, Tensor) and isinstance(t._value, np.ndarray):
                        self.entries.append((m, registry, name, t, t._value, t._value.copy()))

    def restore(self) -> None:
        for m, registry, name, t, buf, values in self.entries:
            if m.__dict__[registry].get(name) is not t:
                (m.register_parameter if registry == "_parameters" else m.register_buffer)(name, t)
            if t._value is not buf:
                t._value = buf
            if not np.array_equal(buf, values, equal_nan=buf.dtype.kind in "fc"):
                np.copyto(buf, values)
                count_write(t)

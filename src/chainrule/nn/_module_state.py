"""``state_dict`` and ``load_state_dict`` of :class:`~chainrule.nn.Module`, with
PyTorch's overridable steps (the work itself is in :mod:`chainrule.nn._state_dict`)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, NamedTuple

from chainrule.core.tensor import Tensor
from chainrule.nn._state_dict import load_own, load_state, save_own, save_state

__all__ = ["ModuleStateDict", "StateDictError", "IncompatibleKeys"]


class StateDictError(RuntimeError):
    """``load_state_dict`` found missing or unexpected keys, or a shape that differs."""


class IncompatibleKeys(NamedTuple):
    """The keys ``load_state_dict(..., strict=False)`` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:  # PyTorch's, for a notebook's print(model.load_state_dict(...))
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"IncompatibleKeys(missing_keys={self.missing_keys!r}, unexpected_keys={self.unexpected_keys!r})"


class ModuleStateDict:
    """The part of :class:`~chainrule.nn.Module` that saves and loads its state."""

    def _save_to_state_dict(self, destination, prefix: str, keep_vars: bool) -> None:
        """PyTorch's step of :meth:`state_dict` for this module alone: its parameters and
        persistent buffers under ``prefix`` (and ``get_extra_state()``); an override may
        save more (see ``chainrule.nn._state_dict``)."""
        save_own(self, ModuleStateDict, destination, prefix, keep_vars)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        """PyTorch's step of :meth:`load_state_dict` for this module: the load pre-hooks,
        then its own values copied from ``state_dict``; an override may rewrite
        ``state_dict`` before calling this and read the loaded values after it."""
        load_own(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs,
                 ModuleStateDict)

    def get_extra_state(self) -> Any:
        """What :meth:`state_dict` saves under ``_extra_state`` beyond the Tensors, where a
        subclass defines it (with :meth:`set_extra_state`), as PyTorch's."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be called.")

    def set_extra_state(self, state: Any) -> None:
        """Take back what :meth:`get_extra_state` gave, where a subclass defines it."""
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be called.")

    def state_dict(self, *args, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name in an ``OrderedDict``, as
        detached Tensors that share memory with the module (save them with
        ``chainrule.save``); ``keep_vars=True`` gives the Parameters themselves, and
        ``destination`` a dict to fill, as PyTorch's (also PyTorch's deprecated positional
        order, ``destination, prefix, keep_vars``).

        >>> from chainrule import nn
        >>> list(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)).state_dict())  # doctest: +NORMALIZE_WHITESPACE
        ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var',
         '1.num_batches_tracked']
        """
        if args:  # PyTorch's deprecated positional arguments
            destination, prefix, keep_vars = (*args, *(destination, prefix, keep_vars)[len(args):])[:3]
        if destination is None:  # with each module's version, which _load_from_state_dict reads
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        # a module shared by two paths is saved under both, as PyTorch's (so its files load)
        return save_state(self, destination, prefix, keep_vars)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False) -> IncompatibleKeys:
        """Copy values into the parameters and buffers, in place (``assign=True``: make the
        given Tensors the parameters and buffers themselves, in their dtype, as PyTorch's;
        a parameter keeps its ``requires_grad``).

        Every shape must match; with ``strict=True`` (the default) the keys must be
        exactly those of :meth:`state_dict`. Otherwise :class:`StateDictError` lists every
        problem at once, and nothing is modified.

        >>> import numpy as np
        >>> from chainrule import nn
        >>> a, b = nn.Linear(2, 2), nn.Linear(2, 2)
        >>> b.load_state_dict(a.state_dict())
        <All keys matched successfully>
        >>> bool(np.array_equal(a.weight.detach().numpy(), b.weight.detach().numpy()))
        True
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict expects a mapping of names to arrays, got {type(state_dict)}")
        missing, unexpected, problems = load_state(self, state_dict, strict, assign, IncompatibleKeys)
        problems = list(problems)
        if strict:
            if missing:
                problems.insert(0, f"missing keys: {', '.join(dict.fromkeys(missing))}")
            if unexpected:
                problems.insert(0, f"unexpected keys: {', '.join(dict.fromkeys(unexpected))}")
        if problems:
            raise StateDictError(
                f"error(s) in loading state_dict for {type(self).__name__}: " + "; ".join(problems)
            )
        return IncompatibleKeys(missing, unexpected)

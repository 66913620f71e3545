"""PyTorch's generic join context manager (``torch.distributed.algorithms.join``), for
processes with different numbers of inputs: ``with Join([model]):`` around each
process's training loop.

A :class:`DistributedDataParallel` in it joins as :meth:`DistributedDataParallel.join`
does (a process that has run out takes part in the others' gradient sums with zeros).
A :class:`Joinable` of your own follows PyTorch's protocol: it calls
:meth:`Join.notify_join_context` before its collectives of each iteration, and its
:class:`JoinHook`'s ``main_hook()`` shadows them once it has joined.

>>> import numpy as np
>>> from chainrule import distributed as dist, nn
>>> from chainrule.distributed.algorithms.join import Join
>>> dist.init()
>>> model = dist.DistributedDataParallel(nn.Linear(2, 1))
>>> with Join([model]):
...     model(np.ones((1, 2))).sum().backward()
>>> model.module.bias.grad.tolist()
[1.0]
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from chainrule.distributed.collectives import Work, all_reduce
from chainrule.distributed.comm import get_rank
from chainrule.distributed.ddp import DistributedDataParallel

__all__ = ["Join", "Joinable", "JoinHook"]


class JoinHook:
    """PyTorch's ``JoinHook``: ``main_hook()`` runs on a process that has joined, once for
    each iteration of those that have not (it shadows their collectives);
    ``post_hook(is_last_joiner)`` once every process has joined."""

    def main_hook(self) -> None:
        """Shadow one iteration's collectives of the processes that have not joined."""

    def post_hook(self, is_last_joiner: bool) -> None:
        """After every process has joined; ``is_last_joiner``: this one was among the last."""


class Joinable:
    """PyTorch's ``Joinable``: a class whose collectives of each iteration a
    :class:`Join` can shadow. It defines ``join_hook(**kwargs)`` (a :class:`JoinHook`),
    ``join_device`` and ``join_process_group``, sets ``self._join_config =
    _JoinConfig.construct_disabled_join_config()`` in ``__init__`` (PyTorch's
    ``super().__init__()`` does), and calls ``Join.notify_join_context(self)`` before each
    iteration's collectives."""

    def __init__(self):
        self._join_config = _JoinConfig.construct_disabled_join_config()

    def join_hook(self, **kwargs) -> JoinHook:
        raise NotImplementedError(f"{type(self).__name__}.join_hook(**kwargs) must return a JoinHook")

    @property
    def join_device(self):
        return "cpu"

    @property
    def join_process_group(self):
        return None


class _JoinConfig:
    """What a :class:`Join` tells each of its joinables (PyTorch's ``_JoinConfig``)."""

    def __init__(self, enable: bool, throw_on_early_termination: bool, is_first_joinable: bool):
        self.enable, self.throw_on_early_termination = enable, throw_on_early_termination
        self.is_first_joinable = is_first_joinable

    @staticmethod
    def construct_disabled_join_config() -> _JoinConfig:
        return _JoinConfig(False, False, False)


class Join:
    """PyTorch's ``Join(joinables, enable=True, throw_on_early_termination=False,
    **kwargs)``: around a training loop whose processes may have different numbers of
    inputs. Give it :class:`DistributedDataParallel` wrappers (each joins as its
    ``join()`` does; ``divide_by_initial_world_size`` among ``kwargs``), or joinables of
    your own (PyTorch's protocol; ``kwargs`` go to their ``join_hook``); not both kinds at
    once. ``throw_on_early_termination=True`` raises on every process as soon as one has
    run out."""

    def __init__(self, joinables: list, enable: bool = True, throw_on_early_termination: bool = False, **kwargs):
        joinables = list(joinables)
        if not joinables:  # PyTorch's words
            raise ValueError("The join context manager requires at least one joinable")
        wrappers = [j for j in joinables if isinstance(j, DistributedDataParallel)]
        if wrappers and len(wrappers) != len(joinables):
            raise NotImplementedError(
                "Join: DistributedDataParallel joins by its own protocol here, which other joinables "
                f"({', '.join(type(j).__name__ for j in joinables if j not in wrappers)}) do not follow: "
                "give Join one kind or the other")
        others = [j for j in joinables if j not in wrappers]
        for j in others:
            if not hasattr(j, "join_hook"):
                raise TypeError(f"Join: {type(j).__name__} is not a Joinable (it has no join_hook)")
        self._joinables, self._wrappers = others, wrappers
        self._enable, self._throw = bool(enable), bool(throw_on_early_termination)
        self._kwargs: dict[str, Any] = kwargs
        self._stack: contextlib.ExitStack | None = None
        self._hooks = [j.join_hook(**kwargs) for j in others]
        for k, j in enumerate(others):
            j._join_config = _JoinConfig(self._enable, self._throw, k == 0)

    def __enter__(self) -> Join:
        self._stack = contextlib.ExitStack()
        for model in self._wrappers:
            self._stack.enter_context(model.join(
                divide_by_initial_world_size=self._kwargs.get("divide_by_initial_world_size", True),
                enable=self._enable, throw_on_early_termination=self._throw))
        return self

    def __exit__(self, kind, value, tb) -> bool | None:
        stack, self._stack = self._stack, None
        try:
            if stack is not None and stack.__exit__(kind, value, tb):
                return True
            if kind is not None or not self._enable or not self._joinables:
                return None
            group = self._joinables[0].join_process_group
            last = True
            while all_reduce(np.zeros(1, np.int64), group=group)[0]:  # someone has not joined
                if self._throw:  # tell them (they raise in notify_join_context), then raise here
                    all_reduce(np.ones(1, np.int64), group=group)
                    raise RuntimeError(f"Rank {get_rank(group)} exhausted all inputs.")
                for hook in self._hooks:
                    hook.main_hook()
                last = False
            for hook in self._hooks:
                hook.post_hook(last)
            return None
        finally:
            for j in self._joinables:
                j._join_config = _JoinConfig.construct_disabled_join_config()

    @staticmethod
    def notify_join_context(joinable) -> Work | None:
        """For a joinable of your own, before each iteration's collectives: counts this
        process as not joined (the first joinable of a :class:`Join` only), and raises
        where ``throw_on_early_termination`` is set and a process has run out."""
        config = getattr(joinable, "_join_config", None)
        if config is None or not config.enable or not config.is_first_joinable:
            return None
        group = joinable.join_process_group
        work = all_reduce(np.ones(1, np.int64), group=group, async_op=True)
        if config.throw_on_early_termination and all_reduce(np.zeros(1, np.int64), group=group)[0]:
            raise RuntimeError("Detected at least one rank that exhausted inputs. Throwing across all ranks.")
        return work


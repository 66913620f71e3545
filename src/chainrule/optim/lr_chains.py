"""Schedules made of other schedules: :class:`SequentialLR` (one after another),
:class:`ChainedScheduler` (stepped together), and :func:`warmup_cosine`. The public
module is :mod:`chainrule.optim.lr_scheduler`.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from chainrule.optim.lr_schedules import CosineAnnealingLR, LinearLR, LRScheduler, ReduceLROnPlateau
from chainrule.optim.optimizer import Optimizer

__all__ = ["ChainedScheduler", "SequentialLR", "warmup_cosine"]


def _check_chain(name: str, schedulers: Sequence[LRScheduler], optimizer: Optimizer) -> None:
    """Refuse, as PyTorch's, a schedule among ``schedulers`` that ``step()`` cannot step (a
    ReduceLROnPlateau, stepped with its metric) or that sets another optimizer's rates."""
    for i, s in enumerate(schedulers):
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(f"{name} does not support ReduceLROnPlateau (at index {i}): it is stepped with the "
                             "metric, plateau.step(val_loss); step it on its own, next to this schedule")
        if getattr(s, "optimizer", None) is not optimizer:
            raise ValueError(f"{name}: every scheduler must belong to the same optimizer (the one at index {i} "
                             "does not)")


def _torch_names(state_dict: dict, *names: str) -> dict:
    """A copy of ``state_dict`` with its entries of an older chainrule under PyTorch's names
    (``schedulers`` as ``_schedulers``, ...)."""
    state_dict = dict(state_dict)
    for name in names:
        if name[1:] in state_dict and name not in state_dict:
            state_dict[name] = state_dict.pop(name[1:])
    return state_dict


class SequentialLR(LRScheduler):
    """One schedule after another: ``schedulers[i]`` runs from ``milestones[i − 1]`` on,
    its own step count starting at 0 there (e.g. a warm-up, then cosine decay)."""

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ):
        if not schedulers:
            raise ValueError("SequentialLR expects at least one scheduler, but got no scheduler")
        _check_chain("SequentialLR", schedulers, optimizer)
        for i, s in enumerate(schedulers):
            if isinstance(s, ChainedScheduler):
                raise NotImplementedError(
                    f"SequentialLR over a ChainedScheduler (at index {i}) is not supported (PyTorch's cannot set it "
                    "to its step 0 at a milestone either): chain SequentialLRs instead, ChainedScheduler("
                    "[SequentialLR(opt, [...], milestones), other_schedule])")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more than the number of "
                f"milestone points, but got number of schedulers {len(schedulers)} and the number of milestones to "
                f"be equal to {len(milestones)}")
        self._schedulers = list(schedulers)
        self._milestones = [int(m) for m in milestones]
        super().__init__(optimizer, last_epoch)

    def step(self, epoch=None) -> None:
        """The next step; the schedule of the step counts it first (but at its milestone, where
        it is set to its step 0) and keeps its rates, as PyTorch's, which steps it."""
        upcoming = self.last_epoch + 1 if epoch is None else epoch
        i = bisect.bisect_right(self._milestones, upcoming)
        schedule = self._schedulers[i]
        if self._is_initial:  # PyTorch's SequentialLR makes its first schedule's first step again
            schedule._step_count = 1
        elif upcoming != (self._milestones[i - 1] if i > 0 else 0):
            schedule._step_count += 1
        super().step(epoch)
        schedule._last_lr = list(self._last_lr)

    def get_lr(self):
        """The groups' rates at the current step, as PyTorch's stepping of the schedule of the
        step gives them: the closed form of its step; MultiplicativeLR, which has none, moves the
        rates the groups have from its milestone on (by λ(0) there); a schedule of its own steps
        (CyclicLR, OneCycleLR, SWALR, one of the user's) gives its rates at its step (and sets
        the momentum)."""
        schedule, start = self._segment()
        if schedule._has_closed_form() or (self._is_initial and hasattr(schedule, "next_rate")):
            return super().get_lr()
        if hasattr(schedule, "next_rate"):
            return [schedule.next_rate(group["lr"], self.last_epoch - start, i)
                    for i, group in enumerate(self.optimizer.param_groups)]
        schedule.last_epoch = self.last_epoch - start
        return schedule._rates_of_get_lr()

    def lr_at(self, base_lr, t, group_index=0):
        i = bisect.bisect_right(self._milestones, t)
        start = self._milestones[i - 1] if i > 0 else 0
        return self._schedulers[i].lr_at(base_lr, t - start, group_index)

    def _segment(self) -> tuple[LRScheduler, int]:
        """The schedule of the current step, and the step at which it started."""
        i = bisect.bisect_right(self._milestones, self.last_epoch)
        return self._schedulers[i], self._milestones[i - 1] if i > 0 else 0

    @property
    def chainable(self) -> bool:
        """As PyTorch's: a schedule starts from its closed form at its milestone, and from
        there a multiplicative one moves the rate the group has (one set by hand included)."""
        schedule, start = self._segment()
        return self.last_epoch > start and schedule.chainable

    def move(self, current, new, previous):
        return self._segment()[0].move(current, new, previous)

    def state_dict(self):
        """PyTorch's keys: the milestones, the step, the last rates and each schedule's state."""
        out = {k: self.__dict__[k] for k in ("_milestones", "last_epoch", "_last_lr")}
        out["_schedulers"] = [s.state_dict() for s in self._schedulers]
        # each schedule's step count as PyTorch's SequentialLR keeps it, which PyTorch's steps on
        # from: -1 before its milestone, then its steps since, up to the next milestone
        t, starts = self.last_epoch, [0, *self._milestones]
        for i, state in enumerate(out["_schedulers"]):
            if "last_epoch" in state and isinstance(t, int):
                end = starts[i + 1] - 1 if i + 1 < len(starts) else t
                state["last_epoch"] = -1 if t < starts[i] else min(t, end) - starts[i]
        return out

    def load_state_dict(self, state_dict):
        state_dict = _torch_names(state_dict, "_schedulers", "_milestones")
        for s, sd in zip(self._schedulers, state_dict.pop("_schedulers", []), strict=False):
            s.load_state_dict(sd)
        self.__dict__.update(state_dict)


class ChainedScheduler(LRScheduler):
    """Several schedules stepped together, one call stepping each in turn (their factors
    multiply, as PyTorch's ``ChainedScheduler``).

    >>> from chainrule import nn, optim
    >>> opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=1.0)
    >>> S = optim.lr_scheduler
    >>> sched = S.ChainedScheduler([S.ConstantLR(opt, factor=0.5, total_iters=2), S.ExponentialLR(opt, 0.9)])
    >>> [round(sched.get_last_lr()[0], 4)] + [(opt.step(), sched.step(), round(sched.get_last_lr()[0], 4))[2]
    ...                                       for _ in range(3)]
    [0.5, 0.45, 0.81, 0.729]
    """

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None):
        if not schedulers:
            raise ValueError("ChainedScheduler needs at least one scheduler")
        optimizer = optimizer or schedulers[0].optimizer
        _check_chain("ChainedScheduler", schedulers, optimizer)
        self.optimizer, self._schedulers = optimizer, list(schedulers)
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self) -> None:
        for s in self._schedulers:
            s.step()
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        return {"_last_lr": self._last_lr, "_schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state_dict):
        state_dict = _torch_names(state_dict, "_schedulers")
        for s, sd in zip(self._schedulers, state_dict["_schedulers"], strict=True):
            s.load_state_dict(sd)
        self._last_lr = list(state_dict["_last_lr"])


def warmup_cosine(optimizer: Optimizer, warmup_steps: int, total_steps: int, eta_min: float = 0.0) -> LRScheduler:
    """A linear warm-up from near zero over ``warmup_steps``, then cosine decay to
    ``eta_min`` at ``total_steps``.

    >>> from chainrule import nn, optim
    >>> opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=1.0)
    >>> sched = optim.lr_scheduler.warmup_cosine(opt, warmup_steps=2, total_steps=10)
    """
    if warmup_steps <= 0:
        return CosineAnnealingLR(optimizer, max(total_steps, 1), eta_min)
    warm = LinearLR(optimizer, start_factor=1.0 / (warmup_steps + 1), total_iters=warmup_steps)
    cosine = CosineAnnealingLR(optimizer, max(total_steps - warmup_steps, 1), eta_min)
    return SequentialLR(optimizer, [warm, cosine], milestones=[warmup_steps])

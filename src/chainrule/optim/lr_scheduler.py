"""Learning-rate schedules: each sets ``group['lr']`` of an optimizer from step ``t``.

Call ``scheduler.step()`` once per epoch (or per batch) after ``optimizer.step()``. The
learning rate is a closed-form function of ``t`` and of each group's initial rate, so
resuming from ``state_dict()`` continues exactly.

>>> from chainrule import nn, optim
>>> opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=1.0)
>>> sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
>>> lrs = []
>>> for _ in range(5):
...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
>>> lrs
[1.0, 0.5, 0.5, 0.25, 0.25]
"""

from __future__ import annotations

import bisect
import collections
import functools
import math
import types
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from chainrule.optim.optimizer import Optimizer

__all__ = [
    "LRScheduler",
    "LambdaLR",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "LinearLR",
    "SequentialLR",
    "ChainedScheduler",
    "ConstantLR",
    "PolynomialLR",
    "MultiplicativeLR",
    "CosineAnnealingWarmRestarts",
    "OneCycleLR",
    "CyclicLR",
    "ReduceLROnPlateau",
    "warmup_cosine",
]


_GET_LR_OUTSIDE_STEP = "To get the last learning rate computed by the scheduler, please use `get_last_lr()`."
_EPOCH_DEPRECATED = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where possible. "
    "Please use `scheduler.step()` to step the scheduler. During the deprecation, if epoch is different from "
    "None, the closed form is used instead of the new chainable form, where available.")
EPOCH_DEPRECATION_WARNING = _EPOCH_DEPRECATED  # PyTorch's name, which schedules copied from its source warn with

_BEFORE_OPTIMIZER = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`: call `optimizer.step()` first, then "
    "`lr_scheduler.step()`; in this order the first value of the learning rate schedule is skipped (as PyTorch "
    "warns)")


def _track_steps(optimizer: Optimizer) -> None:
    """Wrap ``optimizer.step`` (once) so that it notes it was called, as PyTorch's schedulers
    do, to warn when the schedule is stepped before the optimizer."""
    if getattr(optimizer.step, "_wrapped_by_lr_sched", False):
        return
    method, ref = type(optimizer).step, weakref.ref(optimizer)

    @functools.wraps(method)
    def step(*args, **kwargs):
        opt = ref()
        opt._opt_called = True
        return method(opt, *args, **kwargs)

    step._wrapped_by_lr_sched = True
    optimizer._opt_called = False
    optimizer.step = step


class LRScheduler:
    """Base class: subclasses give ``factor(t)``, the learning rate at step ``t`` as a
    multiple of the initial one (or override ``lr_at``).

    A ``chainable`` schedule (PyTorch's multiplicative ones: StepLR, MultiStepLR,
    ExponentialLR, LinearLR, ConstantLR, PolynomialLR, MultiplicativeLR,
    CosineAnnealingLR) moves the rate the group has, as PyTorch's recursive form does:
    each step scales it by lr_at(t) / lr_at(t − 1), so that two such schedules stepped
    on one optimizer multiply, and a rate set by hand is carried on from.
    """

    # chainrule.jit watches a scheduler that a jitted function reads (get_last_lr())
    __jit_watch__ = True
    chainable = False
    # a chainable schedule made with last_epoch (to resume) that leaves the group's rate as it
    # is at its first step, as PyTorch's (its get_lr returns the rates while _is_initial)
    _initial_keeps_rate = False
    _epoch_warns = True  # step(epoch) is deprecated (but for CosineAnnealingWarmRestarts)
    _order_warns = True  # a step before the optimizer's warns (but for CosineAnnealingWarmRestarts)

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param group {i} has no 'initial_lr' to resume from (last_epoch={last_epoch})")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._last_lr: list[float] = []
        _track_steps(optimizer)
        self._step_count = 0
        self._get_lr_called_within_step = False
        self._is_initial = True  # during the step that sets the first rate, as PyTorch's
        self.step()
        self._is_initial = False

    def factor(self, t: int) -> float:
        raise NotImplementedError

    def lr_at(self, base_lr: float, t: int, group_index: int = 0) -> float:
        return base_lr * self.factor(t)

    def get_lr(self) -> list[float]:
        """The learning rates of the groups at the current step (what ``step()`` sets;
        called outside it, it warns as PyTorch's: ``get_last_lr()`` reports the rates)."""
        if not self.__dict__.get("_get_lr_called_within_step", True):
            warnings.warn(_GET_LR_OUTSIDE_STEP, UserWarning, stacklevel=2)
        return [self.lr_at(base, self.last_epoch, i) for i, base in enumerate(self.base_lrs)]

    def _rates_of_get_lr(self) -> list[float]:
        """``get_lr()`` called from within a step (``_get_lr_called_within_step`` True, as
        a schedule written for PyTorch checks)."""
        self._get_lr_called_within_step = True
        try:
            return self.get_lr()
        finally:
            self._get_lr_called_within_step = False

    def _count_step(self) -> None:
        """Count a step; warn at the user's first if the optimizer has not stepped yet."""
        self._step_count = getattr(self, "_step_count", 0) + 1
        if self._step_count == 2 and self._order_warns and not getattr(self.optimizer, "_opt_called", True):
            warnings.warn(_BEFORE_OPTIMIZER, UserWarning, stacklevel=3)

    def step(self, epoch: float | None = None) -> None:
        """Move to the next step (PyTorch's deprecated ``step(epoch)``: to step ``epoch``,
        by the closed form, with PyTorch's warning)."""
        self._count_step()
        if epoch is not None:
            if self._epoch_warns:
                warnings.warn(_EPOCH_DEPRECATED, UserWarning, stacklevel=2)
            self.last_epoch = epoch
            if not type(self).get_lr.__module__.startswith("chainrule."):  # a schedule of the user's, as PyTorch
                closed_form = getattr(self, "_get_closed_form_lr", None)
                lrs = closed_form() if closed_form is not None else self._rates_of_get_lr()
            else:
                lrs = [self.lr_at(base, epoch, i) for i, base in enumerate(self.base_lrs)]
            for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
                group["lr"] = lr
            self._last_lr = list(lrs)
            return
        self.last_epoch += 1
        lrs = self._rates_of_get_lr()
        if self.chainable and self._is_initial and self._initial_keeps_rate and self.last_epoch > 0:
            # made to resume (last_epoch given): the rate the group has stands, as PyTorch's
            lrs = [group["lr"] for group in self.optimizer.param_groups]
        elif self.chainable:  # a group added since the schedule was made moves as the others, as in PyTorch
            lrs = [self._chained(i, group["lr"], lrs[i] if i < len(lrs) else None)
                   for i, group in enumerate(self.optimizer.param_groups)]
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = lrs

    def _chained(self, i: int, current: float, new: float) -> float:
        """The rate after this step where the group holds ``current`` and the closed form
        says ``new``: ``current`` moved as the schedule moves from the previous step (from
        the initial rate, at the first step) to this one; ``new`` itself where nothing else
        moves the rate."""
        t = self.last_epoch
        if i >= len(self.base_lrs):  # a group added later: the schedule's step, read off the first group's
            base = self.base_lrs[0]
            new = self.lr_at(base, t, 0)
            return self.move(current, new, self.lr_at(base, t - 1, 0) if t > 0 else base)
        base = self.base_lrs[i]
        return self.move(current, new, self.lr_at(base, t - 1, i) if t > 0 else base)

    def move(self, current: float, new: float, previous: float) -> float:
        """``current`` scaled as the schedule goes from ``previous`` to ``new`` (from 0 to 0,
        a schedule that has ended, it stays, as in PyTorch)."""
        if previous == 0:
            return current if new == 0 else new
        return current * (new / previous)

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last ``step()``."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer" and not callable(v)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)


_LRScheduler = LRScheduler  # PyTorch's older name, kept by code written for it


class LambdaLR(LRScheduler):
    """lr = initial_lr · λ(t), for any function λ (one, or one per parameter group).

    >>> from chainrule import nn, optim
    >>> opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1)
    >>> sched = optim.lr_scheduler.LambdaLR(opt, lambda t: 1 / (1 + t))
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | Sequence, last_epoch: int = -1):
        n = len(optimizer.param_groups)
        if callable(lr_lambda):
            self.lr_lambdas = [lr_lambda] * n
        else:
            if len(lr_lambda) != n:
                raise ValueError(f"expected {n} lr_lambdas (one per group), got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t, group_index=0):
        return base_lr * self.lr_lambdas[group_index](t)

    def state_dict(self):
        """PyTorch's: the schedule's attributes, and under ``lr_lambdas`` None for each
        function and the attributes (``__dict__``) of each callable object."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(getattr(fn, "__dict__", {}))
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        lambdas = state.pop("lr_lambdas", None) or []
        self.__dict__.update(state)
        for fn, attributes in zip(self.lr_lambdas, lambdas, strict=False):
            if attributes is not None:
                vars(fn).update(attributes)


class StepLR(LRScheduler):
    """lr = initial_lr · γ^⌊t / step_size⌋."""

    chainable = True

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        if step_size < 1:
            raise ValueError(f"step_size must be a positive integer, got {step_size}")
        self.step_size, self.gamma = int(step_size), gamma
        super().__init__(optimizer, last_epoch)

    def factor(self, t):
        return self.gamma ** (t // self.step_size)


class MultiStepLR(LRScheduler):
    """lr = initial_lr · γ^(number of milestones ≤ t)."""

    chainable = True

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1, last_epoch: int = -1):
        # a Counter of the milestones (one given twice counts twice), as PyTorch's, whose state_dict holds it
        self.milestones, self.gamma = collections.Counter(int(m) for m in milestones), gamma
        super().__init__(optimizer, last_epoch)

    def factor(self, t):
        return self.gamma ** bisect.bisect_right(sorted(self.milestones.elements()), t)

    def load_state_dict(self, state_dict):
        """Resume; the milestones a Counter again where a checkpoint file gave them back as a
        plain dict (cr.save keeps dicts, not their classes)."""
        super().load_state_dict(state_dict)
        self.milestones = collections.Counter({int(m): int(n) for m, n in dict(self.milestones).items()})


class ExponentialLR(LRScheduler):
    """lr = initial_lr · γᵗ."""

    chainable = True
    _initial_keeps_rate = True

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def factor(self, t):
        return self.gamma**t


class CosineAnnealingLR(LRScheduler):
    """lr = η_min + (initial_lr − η_min)·(1 + cos(π t / T_max)) / 2 (Loshchilov & Hutter,
    SGDR, without restarts)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        if T_max < 1:
            raise ValueError(f"T_max must be a positive integer, got {T_max}")
        self.T_max, self.eta_min = int(T_max), eta_min
        super().__init__(optimizer, last_epoch)

    chainable = True
    _initial_keeps_rate = True

    def lr_at(self, base_lr, t, group_index=0):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2

    def move(self, current, new, previous):
        """PyTorch's recursive form: the distance to η_min scales with the cosine's, and
        at the trough, where that distance is 0, the rate goes up by the closed form's step."""
        eta = self.eta_min
        if previous == eta:
            return current + (new - previous)
        return eta + (current - eta) * (new - eta) / (previous - eta)


class LinearLR(LRScheduler):
    """A linear ramp of the factor from ``start_factor`` to ``end_factor`` over
    ``total_iters`` steps, then constant: the usual linear warm-up.

    >>> from chainrule import nn, optim
    >>> opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=1.0)
    >>> warm = optim.lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> [round(warm.get_last_lr()[0], 3)] + [(opt.step(), warm.step(), round(warm.get_last_lr()[0], 3))[2]
    ...                                      for _ in range(4)]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    chainable = True
    _initial_keeps_rate = True

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ):
        if not (0 < start_factor <= 1 and 0 <= end_factor <= 1):
            raise ValueError("LinearLR: start_factor must lie in (0, 1] and end_factor in [0, 1]")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, int(total_iters)
        super().__init__(optimizer, last_epoch)

    def factor(self, t):
        if self.total_iters <= 0:
            return self.end_factor
        frac = min(t, self.total_iters) / self.total_iters
        return self.start_factor + (self.end_factor - self.start_factor) * frac


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
        if len(milestones) != len(schedulers) - 1:
            raise ValueError("SequentialLR needs one milestone fewer than schedulers")
        self._schedulers = list(schedulers)
        self._milestones = [int(m) for m in milestones]
        super().__init__(optimizer, last_epoch)

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
        out = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
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


class ConstantLR(LRScheduler):
    """lr = initial_lr · ``factor`` for the first ``total_iters`` steps, then initial_lr."""

    chainable = True

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1):
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: factor must lie in [0, 1], got {factor}")
        # ``factor`` is the number, as in PyTorch's state_dict (a checkpoint of PyTorch's loads)
        self.factor, self.total_iters = factor, int(total_iters)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, t, group_index=0):
        return base_lr * (self.factor if t < self.total_iters else 1.0)


class PolynomialLR(LRScheduler):
    """lr = initial_lr · (1 − min(t, total_iters) / total_iters)^power."""

    chainable = True
    _initial_keeps_rate = True

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1):
        self.total_iters, self.power = int(total_iters), power
        super().__init__(optimizer, last_epoch)

    def factor(self, t):
        return (1.0 - min(t, self.total_iters) / self.total_iters) ** self.power


class MultiplicativeLR(LambdaLR):
    """lr = initial_lr · λ(1) · λ(2) ⋯ λ(t): each step multiplies the rate by λ(t)."""

    chainable = True
    _initial_keeps_rate = True

    def lr_at(self, base_lr, t, group_index=0):
        lr = base_lr
        for k in range(1, t + 1):
            lr *= self.lr_lambdas[group_index](k)
        return lr


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine decay from initial_lr to ``eta_min`` over T_0 steps, then again from the
    top over T_0·T_mult, T_0·T_mult², ... (SGDR, Loshchilov & Hutter)."""

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0, last_epoch: int = -1):
        if T_0 < 1 or int(T_mult) != T_mult or T_mult < 1:
            raise ValueError(f"CosineAnnealingWarmRestarts: T_0 must be positive and T_mult an integer >= 1, got "
                             f"{T_0} and {T_mult}")
        self.T_0, self.T_mult, self.eta_min = int(T_0), int(T_mult), eta_min
        self.T_i = self.T_0
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    # step(epoch) with a fraction of an epoch is this schedule's own use, and its step() does
    # not check that the optimizer stepped first, as in PyTorch
    _epoch_warns = _order_warns = False

    def lr_at(self, base_lr, t, group_index=0):
        """The rate at step ``t`` counted from the start (``T_cur`` and ``T_i`` left as they are)."""
        t_cur, t_i = self._cycle_at(t)
        return self._cosine(base_lr, t_cur, t_i)

    def _cosine(self, base_lr, t_cur, t_i):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2

    def _cycle_at(self, epoch):
        """(T_cur, T_i) at ``epoch`` (a fraction of one too), by PyTorch's closed form."""
        if epoch < self.T_0:
            return epoch, self.T_0
        if self.T_mult == 1:
            return epoch % self.T_0, self.T_0
        n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
        return epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1), self.T_0 * self.T_mult**n

    def step(self, epoch: float | None = None) -> None:
        """The next step (``T_cur`` moves on by one, from where it is: a fraction of an epoch
        stays), or the step at ``epoch`` (a fraction of an epoch: ``epoch + i / iters``), as
        PyTorch's."""
        self._count_step()
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur, self.T_i = self.T_cur - self.T_i, self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"CosineAnnealingWarmRestarts: expected a non-negative epoch, got {epoch}")
            self.T_cur, self.T_i = self._cycle_at(epoch)
        self.last_epoch = math.floor(epoch)
        lrs = [self._cosine(base, self.T_cur, self.T_i) for base in self.base_lrs]
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = lrs


class OneCycleLR(LRScheduler):
    """The one-cycle policy (Smith & Topin): the rate rises from max_lr/``div_factor`` to
    ``max_lr`` over the first ``pct_start`` of ``total_steps`` (or ``epochs`` ·
    ``steps_per_epoch``), then falls to max_lr/(div_factor·final_div_factor), by cosine or
    linear annealing; ``three_phase`` comes back down before the last fall. With
    ``cycle_momentum`` the momentum (Adam's β₁) moves the other way between
    ``max_momentum`` and ``base_momentum``. Call ``step()`` after every batch.

    >>> from chainrule import nn, optim
    >>> opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9)
    >>> sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    >>> round(sched.get_last_lr()[0], 6), opt.param_groups[0]["momentum"]
    (0.04, 0.95)
    """

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, last_epoch: int = -1):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = int(epochs) * int(steps_per_epoch)
        if total_steps < 1 or not 0 <= pct_start <= 1 or anneal_strategy not in ("cos", "linear"):
            raise ValueError("OneCycleLR: total_steps must be positive, pct_start in [0, 1] and anneal_strategy "
                             "'cos' or 'linear'")
        self.total_steps, self._anneal_func_type = int(total_steps), anneal_strategy
        up = float(pct_start * total_steps) - 1
        phases = ([(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                   (2 * up + 1 - 1, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                   (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")] if three_phase else
                  [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                   (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")])
        # named as in PyTorch's state_dict: each phase's last step and the group keys of its ends
        self._schedule_phases = [dict(zip(("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum"),
                                          phase, strict=True)) for phase in phases]
        n = len(optimizer.param_groups)
        per_group = [v if isinstance(v, list | tuple) else [v] * n for v in (max_lr, base_momentum, max_momentum)]
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:  # PyTorch's state_dict holds use_beta1 only where momentum cycles
            self.use_beta1 = "betas" in optimizer.defaults
            if not self.use_beta1 and "momentum" not in optimizer.defaults:
                raise ValueError("OneCycleLR: the optimizer has no momentum to cycle; pass cycle_momentum=False")
        if last_epoch == -1:
            for group, top, low, high in zip(optimizer.param_groups, *per_group, strict=True):
                group.update(initial_lr=top / div_factor, max_lr=top, min_lr=top / div_factor / final_div_factor)
                if cycle_momentum:
                    group.update(base_momentum=low, max_momentum=high)
                    self._set_momentum(group, high)
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, m) -> None:
        if self.use_beta1:
            group["betas"] = (m, *group["betas"][1:])
        else:
            group["momentum"] = m

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _at(self, group, t):
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR stepped {t} times, more than total_steps={self.total_steps}")
        start = 0.0
        for i, phase in enumerate(self._schedule_phases):
            end = phase["end_step"]
            if t <= end or i == len(self._schedule_phases) - 1:
                pct = (t - start) / (end - start)
                m = (self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                     if self.cycle_momentum else None)
                return self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct), m
            start = end
        raise AssertionError("unreachable")

    def step(self, epoch: int | None = None) -> None:
        self._count_step()
        if epoch is not None:  # PyTorch's deprecated form: to step ``epoch``
            warnings.warn(_EPOCH_DEPRECATED, UserWarning, stacklevel=2)
            self.last_epoch = epoch - 1
        self.last_epoch += 1
        lrs = []
        for group in self.optimizer.param_groups:
            lr, m = self._at(group, self.last_epoch)
            group["lr"] = lr
            lrs.append(lr)
            if m is not None:
                self._set_momentum(group, m)
        self._last_lr = lrs


class CyclicLR(LRScheduler):
    """The cyclical learning rate (Smith, 2017): the rate goes from ``base_lr`` up to
    ``max_lr`` in ``step_size_up`` steps and back down in ``step_size_down`` (the same by
    default), the height scaled per cycle (``triangular``: 1, ``triangular2``: halved each
    cycle) or per step (``exp_range``: γᵗ), or by ``scale_fn`` of the cycle or step count
    (``scale_mode``). With ``cycle_momentum`` the momentum (Adam's β₁) goes the other way
    between ``max_momentum`` and ``base_momentum``. Call ``step()`` after every batch.

    >>> from chainrule import nn, optim
    >>> opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9)
    >>> sched = optim.lr_scheduler.CyclicLR(opt, base_lr=0.1, max_lr=0.5, step_size_up=2)
    >>> lrs = []
    >>> for _ in range(4):
    ...     opt.step(); sched.step(); lrs.append(round(sched.get_last_lr()[0], 6))
    >>> lrs
    [0.3, 0.5, 0.3, 0.1]
    """

    def __init__(self, optimizer: Optimizer, base_lr, max_lr, step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular", gamma: float = 1.0,
                 scale_fn: Callable[[float], float] | None = None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum=0.8, max_momentum=0.9, last_epoch: int = -1):
        n = len(optimizer.param_groups)
        base_lrs = _per_group(base_lr, n, "base_lr")
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups, strict=True):
                group["lr"] = lr
        self.max_lrs = _per_group(max_lr, n, "max_lr")
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(f"CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range' (or give "
                             f"scale_fn), not {mode!r}")
        self.mode, self.gamma, self._scale_fn_custom = mode, gamma, scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else ("iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("CyclicLR: the optimizer has no momentum or beta1 to cycle; pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group(base_momentum, n, "base_momentum")
            self.max_momentums = _per_group(max_momentum, n, "max_momentum")
            if last_epoch == -1:
                for top, low, group in zip(self.max_momentums, self.base_momentums, optimizer.param_groups,
                                           strict=True):
                    self._set_momentum(group, top)
                    group["max_momentum"], group["base_momentum"] = top, low
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _set_momentum(self, group, m) -> None:
        if self.use_beta1:
            group["betas"] = (m, *group["betas"][1:])
        else:
            group["momentum"] = m

    def scale_fn(self, x: float) -> float:
        """The height of cycle ``x`` (or at iteration ``x``): ``scale_fn`` given, or the mode's."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        if self.mode == "exp_range":
            return self.gamma**x
        return 1.0

    def get_lr(self) -> list[float]:
        """The groups' rates at the current step (and, with ``cycle_momentum``, their
        momentum is set, as PyTorch's ``get_lr`` does)."""
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        height = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (top - base) * height * scale for base, top in zip(self.base_lrs, self.max_lrs, strict=True)]
        if self.cycle_momentum:
            for group, low, top in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums,
                                       strict=True):
                self._set_momentum(group, top - (top - low) * height * scale)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """PyTorch's: the schedule's attributes, and under ``_scale_fn_custom`` None, or the
        attributes (``__dict__``) of a callable object given as ``scale_fn``."""
        state = super().state_dict()
        fn = self._scale_fn_custom
        state["_scale_fn_custom"] = None if isinstance(fn, types.FunctionType | None) else dict(vars(fn))
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        attributes = state.pop("_scale_fn_custom", None)
        super().load_state_dict(state)
        if attributes is not None:
            vars(self._scale_fn_custom).update(attributes)


def _per_group(value, n: int, name: str) -> list:
    """A scheduler's option given once or per parameter group, as a list of ``n``."""
    if isinstance(value, list | tuple):
        if len(value) != n:
            raise ValueError(f"expected {n} values of {name} (one per parameter group), got {len(value)}")
        return list(value)
    return [value] * n


class ReduceLROnPlateau(LRScheduler):
    """Multiply each group's rate by ``factor`` (not below ``min_lr``) once the metric
    given to ``step(metric)`` has not improved for more than ``patience`` calls, then wait
    ``cooldown`` calls; ``mode`` 'min' or 'max', improvement by more than ``threshold``
    ('rel': relative, 'abs': absolute), as PyTorch's. As there, it is an
    :class:`LRScheduler` (``isinstance(s, LRScheduler)`` holds), stepped with the metric.

    >>> from chainrule import nn, optim
    >>> opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=1.0)
    >>> plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    >>> for loss in [3.0, 2.0, 2.0, 2.0, 2.0]:
    ...     plateau.step(loss)
    >>> plateau.get_last_lr()
    [0.5]
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr=0,
                 eps: float = 1e-8):
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor should be < 1.0, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode {mode!r} is unknown: 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold mode {threshold_mode!r} is unknown: 'rel' or 'abs'")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, list | tuple):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs (one per parameter group), got {len(min_lr)}")
            self.default_min_lr, self.min_lrs = None, list(min_lr)
        else:  # also the floor of the groups added later
            self.default_min_lr, self.min_lrs = min_lr, [min_lr] * n
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode, self.factor, self.patience, self.threshold = mode, factor, int(patience), threshold
        self.threshold_mode, self.cooldown, self.eps = threshold_mode, int(cooldown), eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    @property
    def in_cooldown(self) -> bool:
        """Whether the schedule waits out its cooldown after a reduction (no bad epochs counted)."""
        return self.cooldown_counter > 0

    def _better(self, a: float) -> bool:
        rel, best, th = self.threshold_mode == "rel", self.best, self.threshold
        if self.mode == "min":
            return a < (best * (1 - th) if rel else best - th)
        return a > (best * (1 + th) if rel else best + th)

    def step(self, metrics, epoch: int | None = None) -> None:
        current = float(metrics)
        if epoch is not None:  # PyTorch's deprecated form
            warnings.warn(_EPOCH_DEPRECATED, UserWarning, stacklevel=2)
            self.last_epoch = epoch - 1
        self.last_epoch += 1
        if self._better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            groups = self.optimizer.param_groups
            if len(groups) != len(self.min_lrs):  # a group added since: PyTorch's rule
                if self.default_min_lr is None:
                    raise RuntimeError(
                        f"ReduceLROnPlateau: the optimizer has {len(groups)} parameter groups, it had "
                        f"{len(self.min_lrs)} when the scheduler was made (a group was added); set "
                        "scheduler.min_lrs to one floor per group")
                self.min_lrs = [self.default_min_lr] * len(groups)
            for group, low in zip(groups, self.min_lrs, strict=True):
                new = max(group["lr"] * self.factor, low)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)


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

"""The cyclic learning-rate schedules, stepped after every batch: :class:`OneCycleLR`
and :class:`CyclicLR`, which move the momentum (Adam's β₁) against the rate. The public
module is :mod:`chainrule.optim.lr_scheduler`.
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Callable
from typing import Any

from chainrule.optim.lr_schedules import _GET_LR_OUTSIDE_STEP, EPOCH_DEPRECATION_WARNING, LRScheduler, _set_rates
from chainrule.optim.optimizer import Optimizer

__all__ = ["CyclicLR", "OneCycleLR"]


def _per_group(value, n: int, name: str) -> list:
    """A scheduler's option given once or per parameter group, as a list of ``n``."""
    if isinstance(value, list | tuple):
        if len(value) != n:
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. {name} has {len(value)} "
                             f"values, param_groups has {n}. Give one value, or one per parameter group")
        return list(value)
    return [value] * n


def _set_momentum(group: dict, use_beta1: bool, momentum: float) -> None:
    """Set the momentum of a parameter group: Adam's β₁ where the optimizer has ``betas``."""
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


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

    _closed_form = False  # its rates come from its own step (step(epoch) too), as PyTorch's

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, last_epoch: int = -1):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
            total_steps = int(epochs) * int(steps_per_epoch)
        if total_steps < 1:
            raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
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
        per_group = [_per_group(v, n, name) for v, name in ((max_lr, "max_lr"), (base_momentum, "base_momentum"),
                                                             (max_momentum, "max_momentum"))]
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:  # PyTorch's state_dict holds use_beta1 only where momentum cycles
            self.use_beta1 = "betas" in optimizer.defaults
            if not self.use_beta1 and "momentum" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled (or "
                                 "pass cycle_momentum=False)")
        if last_epoch == -1:
            for group, top, low, high in zip(optimizer.param_groups, *per_group, strict=True):
                group.update(initial_lr=top / div_factor, max_lr=top, min_lr=top / div_factor / final_div_factor)
                if cycle_momentum:
                    group.update(base_momentum=low, max_momentum=high)
                    _set_momentum(group, self.use_beta1, high)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _at(self, group, t):
        if t > self.total_steps:
            raise ValueError(f"Tried to step {t} times. The specified number of total steps is {self.total_steps}")
        missing = [k for k in ("initial_lr", "max_lr", "min_lr", *(("max_momentum", "base_momentum")
                                                                    if self.cycle_momentum else ())) if k not in group]
        if missing:  # (a KeyError, as PyTorch's, with the reason)
            raise KeyError(f"{missing[0]!r}: a parameter group added after OneCycleLR was made has no "
                           f"{', '.join(missing)}; add the groups first, then make the schedule")
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

    def get_lr(self) -> list[float]:
        """The groups' rates at the current step (and, with ``cycle_momentum``, their momentum
        is set, as PyTorch's ``get_lr`` does)."""
        if not self.__dict__.get("_get_lr_called_within_step", True):
            warnings.warn(_GET_LR_OUTSIDE_STEP, UserWarning, stacklevel=2)
        lrs = []
        for group in self.optimizer.param_groups:
            lr, m = self._at(group, self.last_epoch)
            lrs.append(lr)
            if m is not None:
                _set_momentum(group, self.use_beta1, m)
        return lrs

    def step(self, epoch: int | None = None) -> None:
        self._count_step()
        if epoch is not None:  # PyTorch's deprecated form: to step ``epoch``
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
            self.last_epoch = epoch - 1
        self.last_epoch += 1
        self._last_lr = _set_rates(self.optimizer, self._rates_of_get_lr())


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

    _closed_form = False  # its rates come from its own step (step(epoch) too), as PyTorch's

    def __init__(self, optimizer: Optimizer, base_lr, max_lr, step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular", gamma: float = 1.0,
                 scale_fn: Callable[[float], float] | None = None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum=0.8, max_momentum=0.9, last_epoch: int = -1):
        n = len(optimizer.param_groups)
        base_lrs = _per_group(base_lr, n, "base_lr")
        if last_epoch == -1:
            _set_rates(optimizer, base_lrs)
        self.max_lrs = _per_group(max_lr, n, "max_lr")
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(f"mode is invalid and scale_fn is None (mode {mode!r}: 'triangular', 'triangular2' or "
                             "'exp_range', or give scale_fn)")
        self.mode, self.gamma, self._scale_fn_custom = mode, gamma, scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else ("iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled (or "
                                 "pass cycle_momentum=False)")
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group(base_momentum, n, "base_momentum")
            self.max_momentums = _per_group(max_momentum, n, "max_momentum")
            if last_epoch == -1:
                for top, low, group in zip(self.max_momentums, self.base_momentums, optimizer.param_groups,
                                           strict=True):
                    _set_momentum(group, self.use_beta1, top)
                    group["max_momentum"], group["base_momentum"] = top, low
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

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
                _set_momentum(group, self.use_beta1, top - (top - low) * height * scale)
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

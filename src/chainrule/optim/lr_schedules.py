"""The base of chainrule's learning-rate schedules, :class:`LRScheduler`, and the
schedules stepped on their own: each sets ``group['lr']`` of an optimizer from step ``t``
by a closed form (:class:`StepLR`, :class:`CosineAnnealingLR`, ...), or from a metric
(:class:`ReduceLROnPlateau`). The public module is :mod:`chainrule.optim.lr_scheduler`.
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

from chainrule.core.eager import tensor
from chainrule.core.tensor import Tensor
from chainrule.optim.optimizer import Optimizer

__all__ = [
    "EPOCH_DEPRECATION_WARNING",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "ConstantLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "StepLR",
]


_GET_LR_OUTSIDE_STEP = "To get the last learning rate computed by the scheduler, please use `get_last_lr()`."
# PyTorch's name, which schedules copied from its source warn with
EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where possible. "
    "Please use `scheduler.step()` to step the scheduler. During the deprecation, if epoch is different from "
    "None, the closed form is used instead of the new chainable form, where available.")

_BEFORE_OPTIMIZER = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`: call `optimizer.step()` first, then "
    "`lr_scheduler.step()`; in this order the first value of the learning rate schedule is skipped (as PyTorch "
    "warns)")


_STEP_REPLACED = (
    "Seems like `optimizer.step()` has been overridden after learning rate scheduler initialization. Please, "
    "make sure to call `optimizer.step()` before `lr_scheduler.step()` (the schedule can no longer tell whether "
    "it did: make the schedule after replacing `optimizer.step`)")


def _set_rate(group: dict, lr):
    """Set ``group['lr']`` to ``lr`` and return it: a Tensor where the group's rate is one
    (``lr=torch.tensor(0.01)``), as PyTorch's schedules keep it, else the number."""
    if isinstance(group["lr"], Tensor) and not isinstance(lr, Tensor):
        lr = tensor(lr, dtype=group["lr"].dtype)
    group["lr"] = lr
    return lr


def _set_rates(optimizer: Optimizer, lrs) -> list:
    """:func:`_set_rate` for each group of ``optimizer``, the rates as set."""
    return [_set_rate(group, lr) for group, lr in zip(optimizer.param_groups, lrs, strict=True)]


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
    _closed_form = True  # step(epoch) sets lr_at(epoch) (but for MultiplicativeLR, which has none)

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
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when resuming scheduler "
                                   "with last_epoch >= 0.\nLoad the optimizer's state_dict first (it holds "
                                   f"initial_lr), or make the schedule with last_epoch=-1 (given: {last_epoch})")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._last_lr: list[float] = []
        _track_steps(optimizer)
        self._step_count = 0
        self._get_lr_called_within_step = False
        self._is_initial = True  # during the step that sets the first rate, as PyTorch's
        self.step()
        self._is_initial = False

    def _has_closed_form(self) -> bool:
        """Whether :meth:`lr_at` gives the rate at any step: a built-in schedule's (but for those
        whose steps move the rate, ``_closed_form`` False); a schedule of the user's, with its own
        ``get_lr``, has only its steps."""
        return self._closed_form and type(self).get_lr.__module__.startswith("chainrule.")

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
        """Count a step; warn at the user's first if the optimizer has not stepped yet, or if
        its ``step`` was replaced since the schedule was made (then the schedule cannot tell),
        as PyTorch's."""
        self._step_count = getattr(self, "_step_count", 0) + 1
        if self._step_count == 2 and self._order_warns:
            if not getattr(self.optimizer.step, "_wrapped_by_lr_sched", False):
                warnings.warn(_STEP_REPLACED, UserWarning, stacklevel=3)
            elif not getattr(self.optimizer, "_opt_called", True):
                warnings.warn(_BEFORE_OPTIMIZER, UserWarning, stacklevel=3)

    def step(self, epoch: float | None = None) -> None:
        """Move to the next step (PyTorch's deprecated ``step(epoch)``: to step ``epoch``,
        by the closed form, with PyTorch's warning)."""
        self._count_step()
        if epoch is not None:
            if self._epoch_warns:
                warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
            self.last_epoch = epoch
            if not self._has_closed_form():  # as PyTorch
                closed_form = getattr(self, "_get_closed_form_lr", None)
                lrs = closed_form() if closed_form is not None else self._rates_of_get_lr()
            else:
                lrs = [self.lr_at(base, epoch, i) for i, base in enumerate(self.base_lrs)]
            self._last_lr = _set_rates(self.optimizer, lrs)
            return
        self.last_epoch += 1
        lrs = self._rates_of_get_lr()
        if self.chainable and self._is_initial and self._initial_keeps_rate and self.last_epoch > 0:
            # made to resume (last_epoch given): the rate the group has stands, as PyTorch's
            lrs = [group["lr"] for group in self.optimizer.param_groups]
        elif self.chainable:  # a group added since the schedule was made moves as the others, as in PyTorch
            lrs = [self._chained(i, group["lr"], lrs[i] if i < len(lrs) else None)
                   for i, group in enumerate(self.optimizer.param_groups)]
        self._last_lr = _set_rates(self.optimizer, lrs)

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
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)} (give one function, or one per "
                                 "parameter group)")
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
        if not 0 < start_factor <= 1:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
        if not 0 <= end_factor <= 1:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, int(total_iters)
        super().__init__(optimizer, last_epoch)

    def factor(self, t):
        if self.total_iters <= 0:
            return self.end_factor
        frac = min(t, self.total_iters) / self.total_iters
        return self.start_factor + (self.end_factor - self.start_factor) * frac


class ConstantLR(LRScheduler):
    """lr = initial_lr · ``factor`` for the first ``total_iters`` steps, then initial_lr."""

    chainable = True

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1):
        if not 0 <= factor <= 1:
            raise ValueError(f"Constant multiplicative factor expected to be between 0 and 1. (got {factor})")
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
    """Each step multiplies the rate the group has by λ(t) (from initial_lr: initial_lr · λ(1)
    · λ(2) ⋯ λ(t)), as PyTorch's, which calls λ once per step; ``step(epoch)`` multiplies by
    λ(epoch), as there (it has no closed form)."""

    _closed_form = False

    def get_lr(self):
        if not self.__dict__.get("_get_lr_called_within_step", True):
            warnings.warn(_GET_LR_OUTSIDE_STEP, UserWarning, stacklevel=2)
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        return [self.next_rate(group["lr"], self.last_epoch, i) for i, group in enumerate(groups)]

    def next_rate(self, lr, t: int, group_index: int = 0):
        """The rate ``lr`` of a group after step ``t``: lr · λ(t) (a group added since the
        schedule was made moves by the first group's λ)."""
        return lr * self.lr_lambdas[min(group_index, len(self.lr_lambdas) - 1)](t)

    def lr_at(self, base_lr, t, group_index=0):
        """The rate at step ``t`` from ``base_lr`` (SequentialLR's segments start from it)."""
        lr = base_lr
        for k in range(1, t + 1):
            lr = lr * self.lr_lambdas[group_index](k)
        return lr


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine decay from initial_lr to ``eta_min`` over T_0 steps, then again from the
    top over T_0·T_mult, T_0·T_mult², ... (SGDR, Loshchilov & Hutter)."""

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0, last_epoch: int = -1):
        if T_0 < 1:
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if int(T_mult) != T_mult or T_mult < 1:
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
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
        PyTorch's, which does not count its steps (``_step_count``) nor check the order."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:  # (modulo, as PyTorch's: made with last_epoch, T_cur starts there)
                self.T_cur, self.T_i = self.T_cur % self.T_i, self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            self.T_cur, self.T_i = self._cycle_at(epoch)
        self.last_epoch = math.floor(epoch)
        self._last_lr = _set_rates(self.optimizer, [self._cosine(base, self.T_cur, self.T_i) for base in self.base_lrs])


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
            raise ValueError(f"Factor should be < 1.0. (got {factor})")
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode} is unknown! (ReduceLROnPlateau's mode is 'min' or 'max')")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode} is unknown! (it is 'rel' or 'abs')")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, list | tuple):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(min_lr)} (give one, or one per parameter group)")
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
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
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
                    _set_rate(group, new)
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)

"""PyTorch's ``torch.optim.swa_utils``: stochastic weight averaging (Izmailov et al.) and
exponential moving averages of a model's weights.

:class:`AveragedModel` keeps a copy of a module whose parameters are the running average
(or ``avg_fn``'s) of the model's, :class:`SWALR` anneals each group's rate to ``swa_lr``,
and :func:`update_bn` recomputes batch-norm statistics for the averaged weights.

>>> from chainrule import nn, optim
>>> model = nn.Linear(2, 1)
>>> swa = optim.swa_utils.AveragedModel(model)
>>> swa.update_parameters(model); int(swa.n_averaged)
1
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable

import numpy as np

from chainrule.core.dtypes import get_default_dtype
from chainrule.core.eager import no_grad, tensor
from chainrule.core.tensor import Tensor
from chainrule.nn import Module
from chainrule.nn.layers import _BatchNorm
from chainrule.optim.lr_schedules import LRScheduler
from chainrule.optim.optimizer import Optimizer

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_avg_fn", "get_ema_multi_avg_fn", "get_swa_avg_fn",
           "get_swa_multi_avg_fn"]


def _check_decay(decay: float) -> None:
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """The exponential moving average ``decay * averaged + (1 - decay) * current``
    (``decay`` in [0, 1])."""
    _check_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """:func:`get_ema_avg_fn` over lists of parameters, updated in place (floating-point
    ones by ``lerp_``, as PyTorch's)."""
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _):
        for p_ema, p_model in zip(ema_param_list, current_param_list, strict=True):
            if p_ema.is_floating_point() or p_ema.is_complex():
                p_ema.lerp_(p_model, 1 - decay)
            else:
                p_ema.copy_(p_ema * decay + p_model * (1 - decay))
    return ema_update


def get_swa_avg_fn() -> Callable:
    """The running mean ``averaged + (current - averaged) / (n_averaged + 1)``, the
    default of :class:`AveragedModel`."""
    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


def get_swa_multi_avg_fn() -> Callable:
    """:func:`get_swa_avg_fn` over lists of parameters, updated in place (floating-point
    ones by ``lerp_``, as PyTorch's: by the weight 1 / (n + 1), of the default dtype where
    ``num_averaged`` is a Tensor, AveragedModel's count, as PyTorch's integer division gives it)."""
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        if isinstance(num_averaged, Tensor):
            scalar = get_default_dtype().type
            weight = float(scalar(1) / scalar(int(num_averaged) + 1))
        else:
            weight = 1 / (num_averaged + 1)
        for p_avg, p_model in zip(averaged_param_list, current_param_list, strict=True):
            if p_avg.is_floating_point() or p_avg.is_complex():
                p_avg.lerp_(p_model, weight)
            else:
                p_avg.copy_(p_avg + (p_model - p_avg) * weight)
    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters (and buffers, with ``use_buffers=True``) are
    the average of the model's over the :meth:`update_parameters` calls (equal weights by
    default, or ``avg_fn(averaged, current, n_averaged)`` / ``multi_avg_fn``), as PyTorch's;
    calling it runs the copy."""

    def __init__(self, model: Module, device=None, avg_fn: Callable | None = None,
                 multi_avg_fn: Callable | None = None, use_buffers: bool = False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("AveragedModel: give only one of avg_fn (one parameter at a time) and multi_avg_fn "
                             "(lists of parameters), not both")
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", tensor(0, dtype=np.int64))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        averaged = (itertools.chain(self.module.parameters(), self.module.buffers()) if self.use_buffers
                    else self.parameters())
        current = itertools.chain(model.parameters(), model.buffers()) if self.use_buffers else model.parameters()
        pairs = [(a, c.detach()) for a, c in zip(averaged, current, strict=False)]
        n = int(self.n_averaged)
        with no_grad():
            if n == 0:
                for a, c in pairs:
                    a.detach().copy_(c)
            elif self.multi_avg_fn is not None:
                self.multi_avg_fn([a.detach() for a, _ in pairs], [c for _, c in pairs], self.n_averaged)
            else:
                for a, c in pairs:
                    if self.avg_fn is None:
                        new = a.detach() + (c - a.detach()) / (n + 1)
                    else:
                        new = self.avg_fn(a.detach(), c, self.n_averaged)
                    a.detach().copy_(new)
            if not self.use_buffers:  # the buffers follow the model's
                for b_avg, b_model in zip(self.module.buffers(), model.buffers(), strict=False):
                    b_avg.detach().copy_(b_model.detach())
            self.n_averaged.add_(1)


@no_grad()
def update_bn(loader, model: Module, device=None) -> None:
    """Recompute the running statistics of ``model``'s batch-norm layers over one pass of
    ``loader`` (batches, or tuples whose first entry is the input), as PyTorch's: the
    statistics are reset and averaged with ``momentum=None``."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    for batch in loader:
        model(batch[0] if isinstance(batch, list | tuple) else batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's rate from where it is to ``swa_lr`` over ``anneal_epochs`` steps
    (``anneal_strategy`` 'cos' or 'linear'), then hold it, as PyTorch's ``SWALR``."""

    _closed_form = False  # each step moves the rate the group has (step(epoch) too), as PyTorch's

    def __init__(self, optimizer: Optimizer, swa_lr, anneal_epochs: int = 10, anneal_strategy: str = "cos",
                 last_epoch: int = -1):
        groups = optimizer.param_groups
        swa_lrs = list(swa_lr) if isinstance(swa_lr, list | tuple) else [swa_lr] * len(groups)
        if len(swa_lrs) != len(groups):
            raise ValueError(f"swa_lr must have one entry per parameter group ({len(groups)}), got {len(swa_lrs)}")
        for lr, group in zip(swa_lrs, groups, strict=True):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def load_state_dict(self, state_dict) -> None:
        """Resume, with the saved annealing strategy, as PyTorch's."""
        super().load_state_dict(state_dict)
        self.anneal_func = self._cosine_anneal if self._anneal_strategy == "cos" else self._linear_anneal

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [group["swa_lr"] * alpha + self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha) * (1 - alpha)
                for group in self.optimizer.param_groups]

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

The schedules live in :mod:`~chainrule.optim.lr_schedules` (the base class and the
schedules stepped on their own), :mod:`~chainrule.optim.lr_cycles` (per-batch cycles) and
:mod:`~chainrule.optim.lr_chains` (schedules of schedules); this module is their public
path, PyTorch's.
"""

from __future__ import annotations

from chainrule.optim.lr_chains import ChainedScheduler, SequentialLR, warmup_cosine
from chainrule.optim.lr_cycles import CyclicLR, OneCycleLR
from chainrule.optim.lr_schedules import (
    EPOCH_DEPRECATION_WARNING,  # noqa: F401  (PyTorch's public name)
    ConstantLR,
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiplicativeLR,
    MultiStepLR,
    PolynomialLR,
    ReduceLROnPlateau,
    StepLR,
)

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

_LRScheduler = LRScheduler  # PyTorch's older name, kept by code written for it

"""``SyncBatchNorm``: batch normalisation with statistics over every process of a job.

Plain ``BatchNorm1d``/``BatchNorm2d`` under data-parallel training normalise each
process's part of the batch by that part's statistics. ``SyncBatchNorm`` instead sums
the per-channel counts, sums and squared deviations over all processes (two allreduces:
the counts with the sums for the mean first, then the squared deviations around it,
which keeps float precision), so the
output is what BatchNorm would give on the whole global batch. The allreduce is
differentiable, so the gradient flows through the statistics of every process.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import undifferentiated
from chainrule.distributed.collectives import all_reduce_p
from chainrule.distributed.comm import is_initialized, spans_job
from chainrule.nn.functional import _update_running
from chainrule.nn.layers import _BatchNorm
from chainrule.nn.module import Module

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation of (N, C, ...) inputs over the batch (and spatial) axes of all
    processes of the :mod:`chainrule.distributed` job together, in training; in eval mode,
    and where no job is initialised, it is ``BatchNorm2d``. Every process must call it in
    the same order (it communicates).

    >>> import numpy as np
    >>> from chainrule import distributed as dist, nn
    >>> dist.init()
    >>> bn = nn.SyncBatchNorm(3)
    >>> y = bn(np.random.default_rng(0).normal(size=(4, 3, 5, 5)).astype(np.float32))
    >>> bool(abs(float(y.mean())) < 1e-5)
    True
    """

    _expected_ndim = (2, 3, 4, 5)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None, *, bias: bool = True):
        if not spans_job(process_group):
            raise ValueError("SyncBatchNorm: only the whole job is supported as the process group: "
                             "pass process_group=None (or dist.group.WORLD, or a group of every process), "
                             f"not {process_group!r}")
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """PyTorch's conversion: ``module`` with every BatchNorm layer in it replaced by a
        SyncBatchNorm holding the same parameters and running statistics (the module
        itself is returned converted if it is one).

        >>> from chainrule import nn
        >>> net = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)))
        >>> type(net[1]).__name__
        'SyncBatchNorm'
        """
        converted = module
        if isinstance(module, _BatchNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group)
            if module.affine:
                converted.weight, converted.bias = module.weight, module.bias
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                if getattr(module, name) is not None:
                    converted.register_buffer(name, getattr(module, name))
            converted.train(module.training)
        for name, child in module.named_children():
            converted.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return converted

    def forward(self, x):
        if not self.training or not is_initialized():  # outside a job: BatchNorm's (PyTorch's)
            return super().forward(x)
        if x.ndim not in self._expected_ndim:
            raise ValueError(f"SyncBatchNorm expects a 2- to 5-d input, got shape {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm({self.num_features}) got an input with {x.shape[1]} channels")
        axes = (0, *range(2, x.ndim))
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        # the count of values per channel over all processes travels with the sums, a value
        # of the computation (recorded by chainrule.jit) rather than a number Python reads:
        # a replay then counts again when another process's batch has changed size (an
        # uneven last batch) while this one's has not
        local = cnp.sum(x, axis=axes)
        sums = all_reduce_p(cnp.concatenate([local, np.full(1, x.size // x.shape[1], local.dtype)]), "sum")
        count = undifferentiated(sums[-1])  # a number of values: no derivative
        if bool(count < 2):
            raise ValueError(
                f"SyncBatchNorm in training needs more than one value per channel over all "
                f"processes, got {float(count):g}"
            )
        mean = sums[:-1] / count
        xc = x - cnp.reshape(mean, shape)
        var = all_reduce_p(cnp.sum(xc * xc, axis=axes), "sum") / count
        out = xc / cnp.sqrt(cnp.reshape(var, shape) + self.eps)
        if self.track_running_stats:
            self.num_batches_tracked += 1
            momentum = 0.0 if self.momentum is None else self.momentum
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked)
            # the batch statistics as data (recorded under chainrule.jit, not read)
            _update_running(self.running_mean, undifferentiated(mean), momentum)
            _update_running(self.running_var, undifferentiated(var) * (count / (count - 1)), momentum)
        if self.weight is not None:
            out = out * cnp.reshape(self.weight, shape)
        if self.bias is not None:
            out = out + cnp.reshape(self.bias, shape)
        return out

"""PyTorch's ``torch.utils`` module paths, so that a program written for PyTorch imports
its data pipeline, activation checkpointing and TensorBoard logging unchanged:
``chainrule.utils.data`` is :mod:`chainrule.data` (``from chainrule.utils.data import
DataLoader``, and ``chainrule.utils.data.distributed``), ``chainrule.utils.checkpoint`` is
PyTorch's ``checkpoint(function, *args)`` on :func:`chainrule.checkpoint`, and
``chainrule.utils.tensorboard`` has ``SummaryWriter`` (imported on its own: it needs the
``tensorboard`` package).

>>> import chainrule as torch
>>> from chainrule.utils.data import DataLoader, TensorDataset
>>> DataLoader is torch.data.DataLoader
True
"""

import sys

from chainrule import data
from chainrule.data import distributed as _data_distributed

# One module under two names, as an alias in sys.modules: the import system finds
# chainrule.utils.data (and its submodule) there, and both names hold the same classes.
sys.modules[__name__ + ".data"] = data
sys.modules[__name__ + ".data.distributed"] = _data_distributed
for _name in ("dataset", "dataloader", "sampler"):  # PyTorch's submodules torch.utils.data.<name>
    sys.modules[f"{__name__}.data.{_name}"] = getattr(data, _name)

from chainrule.utils import checkpoint  # noqa: E402

__all__ = ["data", "checkpoint"]

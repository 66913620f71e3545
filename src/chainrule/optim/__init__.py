"""``chainrule.optim``: optimizers and learning-rate schedules, as in ``torch.optim``.

>>> import numpy as np
>>> from chainrule import nn, optim
>>> import chainrule.nn.functional as F
>>> model = nn.Linear(3, 1)
>>> opt = optim.Adam(model.parameters(), lr=1e-2)
>>> sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
>>> x, y = np.ones((4, 3), dtype=np.float32), np.zeros((4, 1), dtype=np.float32)
>>> for _ in range(3):
...     opt.zero_grad()
...     F.mse_loss(model(x), y).backward()
...     opt.step()
...     sched.step()
"""

from chainrule.nn.utils import clip_grad_norm_, clip_grad_value_
from chainrule.optim import functional, lr_scheduler, swa_utils
from chainrule.optim.algorithms import SGD, Adagrad, Adam, AdamW, RMSprop
from chainrule.optim.lbfgs import LBFGS
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.variants import ASGD, Adadelta, Adafactor, Adamax, NAdam, RAdam, Rprop

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "LBFGS",
    "Adamax",
    "NAdam",
    "RAdam",
    "Adadelta",
    "Rprop",
    "ASGD",
    "Adafactor",
    "lr_scheduler",
    "swa_utils",
    "functional",
    "clip_grad_norm_",
    "clip_grad_value_",
]

# torch.optim's optimizers that chainrule does not have, with what to use instead
_NOT_HERE = {
    "SparseAdam": "chainrule has no sparse gradients (nn.Embedding's gradient is dense); optim.Adam takes the "
                  "same arguments (it moves the moments of every row, not only of the rows a batch used)",
    "Muon": "PyTorch's Muon orthogonalises each update by Newton-Schulz iterations in bfloat16, a dtype chainrule "
            "does not compute in; use optim.AdamW, or write the step as an optim.Optimizer subclass",
    "swap_in_optimizer_params_and_state": "PyTorch's swaps fake tensors into an optimizer to trace its step with "
            "make_fx; chainrule traces a step with cr.jit over chainrule.optim.functional's optimizers (or jits the "
            "step of an optimizer as it is); to step other parameters, make an optimizer over them and "
            "load_state_dict() the state",
}


def __getattr__(name: str):
    if name in _NOT_HERE:
        raise AttributeError(f"module 'chainrule.optim' has no attribute {name!r}: {_NOT_HERE[name]}")
    raise AttributeError(f"module 'chainrule.optim' has no attribute {name!r}")

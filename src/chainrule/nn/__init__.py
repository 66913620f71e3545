"""``chainrule.nn``: layers, models and losses, PyTorch-style, on chainrule's engine.

>>> import numpy as np
>>> import chainrule as cr
>>> from chainrule import nn
>>> import chainrule.nn.functional as F
>>> model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
>>> x = np.ones((8, 4), dtype=np.float32); y = np.zeros(8, dtype=np.int64)
>>> loss = F.cross_entropy(model(x), y)
>>> loss.backward()
>>> model[0].weight.grad.shape
torch.Size([16, 4])

Parameters are float32 unless a layer is given ``dtype=``. A Module is also a pytree,
so ``chainrule.grad(loss_fn)(model, x, y)`` returns gradients shaped like the model.
"""

from chainrule.nn import (
    activation,
    adaptive,
    attention,
    cells,
    conv,
    dropout,
    functional,
    init,
    layers,
    lazy,
    loss,
    modules,  # PyTorch's torch.nn.modules path
    padding,
    recurrent,
    sparse,
    spatial,
    transformer,
    utils,
)
from chainrule.nn.activation import *  # noqa: F403
from chainrule.nn.adaptive import *  # noqa: F403
from chainrule.nn.cells import *  # noqa: F403
from chainrule.nn.containers import Container, ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from chainrule.nn.conv import *  # noqa: F403
from chainrule.nn.dropout import *  # noqa: F403
from chainrule.nn.layers import *  # noqa: F403 (the layers' own __all__ says what)
from chainrule.nn.lazy import *  # noqa: F403
from chainrule.nn.loss import *  # noqa: F403
from chainrule.nn.module import IncompatibleKeys, Module, StateDictError
from chainrule.nn.padding import *  # noqa: F403
from chainrule.nn.parameter import Buffer, Parameter
from chainrule.nn.recurrent import *  # noqa: F403
from chainrule.nn.sparse import *  # noqa: F403
from chainrule.nn.spatial import *  # noqa: F403
from chainrule.nn.sync_batchnorm import SyncBatchNorm
from chainrule.nn.transformer import *  # noqa: F403

__all__ = [
    "functional",
    "attention",
    "init",
    "utils",
    "modules",
    "Module",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "ParameterList",
    "ParameterDict",
    "Container",
    "Parameter",
    "Buffer",
    "StateDictError",
    "IncompatibleKeys",
    "SyncBatchNorm",
    *adaptive.__all__,
    *layers.__all__,
    *conv.__all__,
    *lazy.__all__,
    *loss.__all__,
    *sparse.__all__,
    *dropout.__all__,
    *recurrent.__all__,
    *cells.__all__,
    *padding.__all__,
    *spatial.__all__,
    *[n for n in activation.__all__ if n[0].isupper()],
    *transformer.__all__,
]

"""``chainrule.data``: datasets and batching.

>>> import numpy as np
>>> from chainrule.data import DataLoader, TensorDataset
>>> loader = DataLoader(TensorDataset(np.zeros((10, 4)), np.arange(10)), batch_size=4, shuffle=True, generator=0)
>>> [tuple(x.shape) for x, y in loader]
[(4, 4), (4, 4), (2, 4)]
"""

import sys as _sys

from chainrule.data import dataset, datasets, sampler
from chainrule.data import dataset as dataloader
from chainrule.data.dataset import *  # noqa: F403
from chainrule.data.datasets import *  # noqa: F403
from chainrule.data.sampler import *  # noqa: F403

# PyTorch's module torch.utils.data.dataloader (DataLoader, default_collate) is this
# package's dataset module, under that name too
_sys.modules[__name__ + ".dataloader"] = dataloader

# each module's own __all__ says what it gives
__all__ = [*dataset.__all__, *datasets.__all__, *sampler.__all__]

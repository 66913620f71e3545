"""``chainrule.data``: datasets and batching.

>>> import numpy as np
>>> from chainrule.data import DataLoader, TensorDataset
>>> loader = DataLoader(TensorDataset(np.zeros((10, 4)), np.arange(10)), batch_size=4, shuffle=True, generator=0)
>>> [tuple(x.shape) for x, y in loader]
[(4, 4), (4, 4), (2, 4)]
"""

import sys as _sys

from chainrule.data import dataset as dataloader
from chainrule.data.dataset import (
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)
from chainrule.data.datasets import (
    FASHION_MNIST_CLASSES,
    DatasetError,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    read_idx,
    train_test_split,
    write_idx,
)
from chainrule.data.sampler import (
    BatchSampler,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

# PyTorch's module torch.utils.data.dataloader (DataLoader, default_collate) is this
# package's dataset module, under that name too
_sys.modules[__name__ + ".dataloader"] = dataloader

__all__ = [
    "Dataset",
    "IterableDataset",
    "ChainDataset",
    "StackDataset",
    "TensorDataset",
    "Subset",
    "random_split",
    "DataLoader",
    "DistributedSampler",
    "RandomSampler",
    "SequentialSampler",
    "Sampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
    "default_convert",
    "get_worker_info",
    "ConcatDataset",
    "default_collate",
    "DatasetError",
    "read_idx",
    "write_idx",
    "load_digits",
    "load_mnist",
    "load_fashion_mnist",
    "train_test_split",
    "FASHION_MNIST_CLASSES",
]

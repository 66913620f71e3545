"""``DistributedSampler``: each process of a data-parallel job reads its own share.

The partition is PyTorch's: the order (shuffled with ``seed + epoch``, the same on every
process) is padded by repeating its beginning until it divides evenly, or cut down with
``drop_last``, and process ``r`` takes positions ``r, r + N, r + 2N, ...``. The shuffled
order is ``torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch))``,
reproduced bit for bit (:func:`torch_randperm`), so every index equals torch's.
"""

from __future__ import annotations

import math
import operator
import types
from collections.abc import Iterator

import numpy as np

from chainrule.core.eager import EAGER
from chainrule.core.rng import get_generator
from chainrule.core.tensor import Tensor
from chainrule.core.values import plain
from chainrule.distributed import comm

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "DistributedSampler"]


def sample_index(i) -> int:
    """An index that a sampler gave, as an int: an integer (a NumPy integer, a 0-d integer
    Tensor) is one; a float or a boolean is refused, as PyTorch's indexing refuses it,
    rather than cut down to an integer."""
    if not isinstance(i, bool | np.bool_):
        try:
            return operator.index(i)
        except TypeError:
            pass
    raise IndexError(f"a sampler gave the index {i!r} (a {type(i).__name__}); indices must be integers")


class Sampler:
    """The base of index samplers: subclass it and define ``__iter__`` (and ``__len__``)."""

    __class_getitem__ = classmethod(types.GenericAlias)  # Sampler[int], as PyTorch's

    def __init__(self, data_source=None):
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """The indices 0, 1, ..., len(data_source) − 1.

    >>> list(SequentialSampler(range(3)))
    [0, 1, 2]
    """

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """The indices in a new random order each pass (``replacement=True``: ``num_samples``
    draws with replacement), from ``generator`` (an int seed or a NumPy Generator).

    >>> sorted(RandomSampler(range(4), generator=0))
    [0, 1, 2, 3]
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, got replacement={replacement!r}")
        if num_samples is not None and (isinstance(num_samples, bool) or not isinstance(num_samples, int | np.integer)
                                        or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples!r}")
        self.data_source, self.replacement = data_source, replacement
        # as PyTorch's: the number given (None: the dataset's length, read when asked)
        self._num_samples = None if num_samples is None else int(num_samples)
        if self._num_samples is None and len(data_source) == 0:
            raise ValueError("RandomSampler: num_samples should be a positive integer value, but got num_samples=0 "
                             "(the data source is empty)")
        # None: the global generator, read at each pass (chainrule.manual_seed seeds it)
        self.generator = None if generator is None else get_generator(generator)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        # drawn as they are read (PyTorch's draws 32 at a time), so that num_samples=int(1e10)
        # (minGPT's trainer: an endless stream) costs only what is read
        n, left = len(self.data_source), self.num_samples
        if n == 0 and left > 0:  # no index to draw: PyTorch's fails too (a division by zero)
            raise ValueError(f"RandomSampler: cannot draw num_samples={left} indices from an empty data source")
        rng = get_generator(self.generator)
        while left > 0:
            chunk = rng.integers(0, n, min(left, 32)) if self.replacement else rng.permutation(n)[:left]
            left -= len(chunk)
            yield from chunk.tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a new random order each pass.

    >>> sorted(SubsetRandomSampler([3, 7, 9], generator=0))
    [3, 7, 9]
    """

    def __init__(self, indices, generator=None):
        self.indices = list(indices)
        # None: the global generator, read at each pass (chainrule.manual_seed seeds it)
        self.generator = None if generator is None else get_generator(generator)

    def __iter__(self) -> Iterator[int]:
        return iter([self.indices[i] for i in get_generator(self.generator).permutation(len(self.indices))])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights`` (with
    replacement by default; without, each index at most once), anew each pass.

    >>> s = WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 6, generator=0)
    >>> sorted(set(s)) , len(s)
    ([1, 3], 6)
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None):
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1 or not len(w):
            raise ValueError(f"WeightedRandomSampler: weights must be a non-empty sequence, got shape {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any() or not w.sum() > 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        if isinstance(num_samples, bool) or not isinstance(num_samples, int | np.integer) or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples must be a positive integer, got {num_samples!r}")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement must be True or False, got {replacement!r}")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} distinct indices from "
                             f"{np.count_nonzero(w)} with non-zero weight")
        # a float64 Tensor, as PyTorch's (read at each pass: a curriculum may replace it)
        self.weights, self.num_samples, self.replacement = Tensor(w, EAGER), int(num_samples), replacement
        self.generator = None if generator is None else get_generator(generator)

    def __iter__(self) -> Iterator[int]:
        w = np.asarray(plain(self.weights), dtype=np.float64)
        drawn = get_generator(self.generator).choice(len(w), size=self.num_samples, replace=self.replacement,
                                                     p=w / w.sum())
        return iter(drawn.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups of ``batch_size`` indices from ``sampler`` (the last one shorter unless
    ``drop_last``), for ``DataLoader(batch_sampler=...)``.

    >>> list(BatchSampler(range(5), 2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last must be True or False, got {drop_last!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch = []
        for i in self.sampler:
            batch.append(sample_index(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# torch.randperm's Fisher-Yates holds for n below this; above it torch shuffles differently
_TORCH_RANDPERM_LIMIT = (2**32 - 1) // 20


def torch_randperm(n: int, seed: int) -> np.ndarray:
    """``torch.randperm(n, generator=torch.Generator().manual_seed(seed))`` on the CPU,
    without torch: the same MT19937 stream (seeded with the seed's low 32 bits) and the
    same Fisher-Yates swaps (position ``i`` with ``i + u % (n - i)``).

    >>> torch_randperm(6, 0).tolist()
    [2, 5, 3, 0, 1, 4]
    """
    n = int(n)
    if n >= _TORCH_RANDPERM_LIMIT:
        raise ValueError(f"torch_randperm: n={n} is at least {_TORCH_RANDPERM_LIMIT}, where torch shuffles otherwise")
    bits = np.random.MT19937(0)
    bits._legacy_seeding(int(seed) & 0xFFFFFFFF)
    offsets = (bits.random_raw(max(n - 1, 0)) % np.arange(n, 1, -1, dtype=np.uint64)).tolist()
    order = list(range(n))
    for i, z in enumerate(offsets):
        j = i + z
        order[i], order[j] = order[j], order[i]
    return np.array(order, dtype=np.int64)


class DistributedSampler(Sampler):
    """The indices of ``dataset`` that process ``rank`` of ``num_replicas`` reads in this
    epoch (both default to this process's place in the :mod:`chainrule.distributed` job).
    Give it to ``DataLoader(sampler=...)`` and call :meth:`set_epoch` at the start of every
    epoch, or every epoch has the same order.

    >>> s = DistributedSampler(range(10), num_replicas=3, rank=1, shuffle=False)
    >>> list(s), len(s)
    ([1, 4, 7, 0], 4)
    >>> list(DistributedSampler(range(10), num_replicas=3, rank=1, shuffle=False, drop_last=True))
    [1, 4, 7]
    """

    def __init__(
        self,
        dataset,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ):
        if num_replicas is None:
            num_replicas = comm.world_size()
        if rank is None:
            rank = comm.rank()
        if not isinstance(num_replicas, int | np.integer) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, got {num_replicas!r}")
        if not isinstance(rank, int | np.integer) or not 0 <= rank < num_replicas:
            raise ValueError(
                f"DistributedSampler: rank must be an integer in [0, {num_replicas - 1}], got {rank!r}"
            )
        self.dataset = dataset
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Shuffle with ``seed + epoch`` from now on (call it with the same epoch on
        every process)."""
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """This process's indices for the current epoch, as an array."""
        n = len(self.dataset)
        if self.shuffle:
            seed = self.seed + self.epoch
            if n < _TORCH_RANDPERM_LIMIT:
                order = torch_randperm(n, seed)
            else:  # too long for a loop in Python: NumPy's permutation
                order = np.random.default_rng(seed & 0xFFFFFFFFFFFFFFFF).permutation(n)
        else:
            order = np.arange(n)
        if self.drop_last:
            order = order[: self.total_size]
        elif self.total_size > n:  # pad by repeating the order from its start
            order = np.resize(order, self.total_size)
        return order[self.rank : self.total_size : self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

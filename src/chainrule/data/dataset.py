"""Datasets and the ``DataLoader`` that batches them.

A :class:`TensorDataset` of arrays is batched by one fancy-indexing operation per array
per batch (no Python loop over samples); any other :class:`Dataset` is read sample by
sample and collated with ``np.stack``.
"""

from __future__ import annotations

import collections.abc
import contextlib
import copy
import functools
import hashlib
import itertools
import math
import multiprocessing
import operator
import threading
import types
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from chainrule.core.dtypes import default_float_dtype, sequence_dtype
from chainrule.core.eager import EAGER
from chainrule.core.rng import get_generator
from chainrule.core.tensor import Tensor
from chainrule.core.values import plain
from chainrule.data.sampler import BatchSampler, RandomSampler, SequentialSampler, sample_index
from chainrule.numpy.torch_creation import stack

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset", "StackDataset",
           "random_split", "DataLoader", "default_collate", "default_convert", "get_worker_info"]


def _as_tensor(a) -> Tensor:
    # a batch is a fresh array already (fancy indexing copies): wrap it without a copy
    return Tensor(a, EAGER)


class Dataset:
    """A sized collection of samples: subclass it and define ``__len__`` and
    ``__getitem__(i)``.

    >>> class Squares(Dataset):
    ...     def __len__(self): return 4
    ...     def __getitem__(self, i): return np.float32(i), np.float32(i * i)
    >>> [b[1].tolist() for b in DataLoader(Squares(), batch_size=2)]
    [[0.0, 1.0], [4.0, 9.0]]
    """

    # Dataset[T] as in PyTorch (class MyData(Dataset[tuple[Tensor, Tensor]]))
    __class_getitem__ = classmethod(types.GenericAlias)

    # no __len__ here, as in PyTorch: a dataset without one is not Sized (hasattr(ds,
    # "__len__") is False, len(ds) a TypeError), so code that asks before it counts works

    def __getitem__(self, index: int):
        raise NotImplementedError

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclass it and define ``__iter__`` (a ``DataLoader`` batches
    the stream in order; there is no index, so no ``shuffle`` or ``sampler``).

    >>> class Count(IterableDataset):
    ...     def __iter__(self): return iter(range(5))
    >>> [b.tolist() for b in DataLoader(Count(), batch_size=2)]
    [[0, 1], [2, 3], [4]]
    """

    def __iter__(self) -> Iterator:
        raise NotImplementedError

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate over it instead of indexing it")

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several iterable datasets, one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            _stream_only(d)
            yield from d

    def __len__(self) -> int:
        for d in self.datasets:
            _stream_only(d)
        return sum(len(d) for d in self.datasets)


def _stream_only(d) -> None:
    """Refuse a map-style dataset in a ChainDataset, as PyTorch's does: iterated by its
    ``__getitem__`` until an IndexError, one that never raises would stream forever."""
    if not isinstance(d, IterableDataset):
        raise TypeError(f"ChainDataset only supports IterableDataset, got a {type(d).__name__} (join map-style "
                        "datasets with ConcatDataset, or ds1 + ds2)")


class StackDataset(Dataset):
    """Samples made of the same index of several equally long datasets: a tuple
    (``StackDataset(a, b)``) or a dict (``StackDataset(image=a, label=b)``).

    >>> StackDataset(x=[1, 2], y=[3, 4])[1]
    {'x': 2, 'y': 4}
    """

    def __init__(self, *args, **kwargs):
        if bool(args) == bool(kwargs):
            raise ValueError("StackDataset: give the datasets either positionally (a tuple per sample) or by "
                             "keyword (a dict per sample)")
        self.datasets = args or kwargs
        sizes = {len(d) for d in (args or kwargs.values())}
        if len(sizes) != 1:
            raise ValueError(f"StackDataset: the datasets must have the same length, got {sorted(sizes)}")
        self._length = sizes.pop()

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length

    def __getitems__(self, indices: list) -> list:
        """The samples at ``indices``, each dataset read through its own ``__getitems__``
        where it has one, as PyTorch's (a DataLoader fetches its batches by it)."""
        named = isinstance(self.datasets, dict)
        columns = {}
        for key, d in (self.datasets.items() if named else enumerate(self.datasets)):
            getitems = getattr(d, "__getitems__", None)
            items = getitems(indices) if callable(getitems) else [d[i] for i in indices]
            if len(items) != len(indices):
                raise ValueError(f"StackDataset: dataset {key!r} gave {len(items)} samples for {len(indices)} "
                                 "indices from its __getitems__ (Nested dataset's output size mismatch)")
            columns[key] = items
        if named:
            return [{k: items[j] for k, items in columns.items()} for j in range(len(indices))]
        return [tuple(items[j] for items in columns.values()) for j in range(len(indices))]


class WorkerInfo:
    """What :func:`get_worker_info` gives in a loader's worker, as PyTorch's: the worker's
    ``id``, ``num_workers``, its ``seed`` and ``dataset``, its own copy of the loader's."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        return f"WorkerInfo({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items() if k != 'dataset')})"


_current = threading.local()  # .worker: the WorkerInfo whose code runs now in this thread


def get_worker_info() -> WorkerInfo | None:
    """The worker running the dataset's code (its ``__iter__``, ``__getitem__``, the
    ``collate_fn`` or ``worker_init_fn``) in a ``DataLoader`` with ``num_workers > 0``, as
    PyTorch's: an IterableDataset reads its share by it. None outside a worker, as in PyTorch.

    >>> class Shards(IterableDataset):
    ...     def __iter__(self):
    ...         w = get_worker_info()
    ...         return iter(range(10) if w is None else range(w.id, 10, w.num_workers))
    >>> [b.tolist() for b in DataLoader(Shards(), batch_size=3, num_workers=2)]
    [[0, 2, 4], [1, 3, 5], [6, 8], [7, 9]]
    """
    return getattr(_current, "worker", None)


@contextlib.contextmanager
def _in_worker(worker: WorkerInfo | None):
    outer, _current.worker = getattr(_current, "worker", None), worker
    try:
        yield
    finally:
        _current.worker = outer


class TensorDataset(Dataset):
    """Samples are the rows of equally long arrays (features, labels, ...), each as an
    eager Tensor without gradient that shares the row's memory, as PyTorch's
    (``x, y = ds[0]; model(x.unsqueeze(0))``).

    >>> ds = TensorDataset(np.zeros((5, 3)), np.arange(5))
    >>> len(ds), ds[2][1].item(), ds[2][0].shape
    (5, 2, torch.Size([3]))
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(np.asarray(plain(a)) for a in arrays)
        n = len(self.arrays[0]) if self.arrays[0].ndim else None  # a 0-d array has no rows
        for a in self.arrays:
            if a.ndim == 0 or len(a) != n:
                raise ValueError(
                    f"TensorDataset: all arrays must have the same length, got "
                    f"{[len(a) if a.ndim else 'scalar' for a in self.arrays]}"
                )

        # a Tensor that needs a gradient is kept, and its samples indexed from it (differentiably)
        self._needing_grad = tuple(a if isinstance(a, Tensor) and a.requires_grad else None for a in arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(Tensor(np.asarray(a[index]), EAGER) if t is None else t[index]
                     for a, t in zip(self.arrays, self._needing_grad, strict=True))

    @property
    def tensors(self) -> tuple:
        """The arrays as eager Tensors that share their memory (PyTorch's ``.tensors``; a
        Tensor given that needs a gradient is itself)."""
        return tuple(Tensor(a, EAGER) if t is None else t for a, t in zip(self.arrays, self._needing_grad, strict=True))


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (kept as given, as PyTorch's; ``random_split``
    gives lists of ints)."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        if isinstance(index, np.ndarray | Tensor):  # several at once
            return self.dataset[np.asarray(self.indices)[np.asarray(plain(index))]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices: list) -> list:
        """The samples at ``indices``, read through the dataset's ``__getitems__`` where it has
        one, as PyTorch's (a subclass's own ``__getitem__``, which PyTorch refuses without a
        ``__getitems__``, reads each)."""
        if type(self).__getitem__ is not Subset.__getitem__:
            return [self[i] for i in indices]
        chosen = [self.indices[i] for i in indices]
        getitems = getattr(self.dataset, "__getitems__", None)
        return getitems(chosen) if callable(getitems) else [self.dataset[i] for i in chosen]


class ConcatDataset(Dataset):
    """The samples of several datasets, one after another.

    >>> both = ConcatDataset([TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 12))])
    >>> len(both), int(both[3][0]), int(both[-1][0])
    (5, 10, 11)
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise ValueError("ConcatDataset does not support IterableDataset (join streams with ChainDataset)")
        self.cumulative_sizes = [int(n) for n in np.cumsum([len(d) for d in self.datasets])]

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index):
        n = len(self)
        if isinstance(index, bool | np.bool_) or not hasattr(index, "__index__"):
            raise TypeError(f"ConcatDataset indices must be integers, not {type(index).__name__} ({index!r})")
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for a ConcatDataset of {n} samples")
        index = operator.index(index) % n
        k = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        return self.datasets[k][index - (int(self.cumulative_sizes[k - 1]) if k else 0)]


def random_split(dataset: Dataset, lengths: Sequence[int | float], generator=None) -> list[Subset]:
    """Split ``dataset`` at random into subsets of the given lengths (or fractions that
    sum to 1), reproducibly for a given seed or Generator.

    >>> a, b = random_split(TensorDataset(np.arange(10)), [0.8, 0.2], generator=0)
    >>> len(a), len(b)
    (8, 2)
    """
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:  # fractions, as PyTorch reads them
        for i, f in enumerate(lengths):
            if not 0 <= f <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1, got {f}")
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):  # hand out the remainder one at a time
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                              stacklevel=2)
    else:
        for i, x in enumerate(lengths):
            if x != int(x):  # not cut down to an integer: 2.5 is not a size
                raise ValueError(f"random_split: length {x!r} at index {i} is neither a whole number of samples "
                                 f"nor part of fractions that sum to 1 (they sum to {sum(lengths)})")
        sizes = [int(x) for x in lengths]
    if sum(sizes) != n:
        raise ValueError(f"random_split: the lengths {list(lengths)} add up to {sum(lengths)}, not to the dataset's "
                         f"{n} samples (give lengths that sum to {n}, or fractions that sum to 1)")
    perm = get_generator(_generator(generator)).permutation(n)
    out, start = [], 0
    for s in sizes:
        out.append(Subset(dataset, perm[start : start + s].tolist()))  # Python ints, as PyTorch's
        start += s
    return out


def _generator(g) -> np.random.Generator | None:
    """A DataLoader's or random_split's generator; None: the global one, read at each draw
    (``chainrule.manual_seed`` seeds it, as ``torch.manual_seed`` does PyTorch's)."""
    return None if g is None else get_generator(g, "generator")


def default_convert(sample) -> Any:
    """A sample as the loader hands it out without batching (``batch_size=None``), as
    PyTorch's ``default_convert``: NumPy arrays and scalars become eager Tensors (arrays
    of strings or objects stay; records, dates and times are refused), tuples become
    lists (a namedtuple stays one), lists and dicts are converted field by field,
    anything else is kept.

    >>> default_convert((np.arange(2), np.float64(0.5), "a"))
    [Tensor([0, 1]), Tensor(0.5), 'a']
    """
    if isinstance(sample, np.ndarray | np.generic) and not isinstance(sample, np.str_ | np.bytes_):
        if sample.dtype.kind in "SaUO":
            return sample
        if sample.dtype.kind in _NOT_NUMBERS:  # records, dates, times
            raise TypeError(f"default_convert: a Tensor cannot hold NumPy's {sample.dtype} (convert the field to "
                            "numbers in the dataset, or pass a collate_fn)")
        return Tensor(np.array(sample), EAGER)
    if isinstance(sample, collections.abc.Mapping):
        fields = {k: default_convert(v) for k, v in sample.items()}
        try:
            if isinstance(sample, collections.abc.MutableMapping):
                clone = copy.copy(sample)
                clone.update(fields)
                return clone
            return type(sample)(fields)
        except TypeError:
            return fields
    if isinstance(sample, tuple):
        fields = [default_convert(s) for s in sample]
        return type(sample)(*fields) if hasattr(sample, "_fields") else fields
    if isinstance(sample, collections.abc.Sequence) and not isinstance(sample, str | bytes):
        return _same_sequence(sample, [default_convert(s) for s in sample])
    return sample


def _same_sequence(like, fields: list):
    """``fields`` in a sequence of ``like``'s type, as PyTorch's collate and convert build
    it: a copy of a mutable one (a list subclass keeps its class and attributes) with the
    fields written in, a new one of an immutable type, a list where neither works."""
    try:
        if isinstance(like, collections.abc.MutableSequence):
            clone = copy.copy(like)
            for i, f in enumerate(fields):
                clone[i] = f
            return clone
        return type(like)(fields)
    except TypeError:  # no copy or item assignment, or no __init__(iterable) (a range)
        return fields


_COLLATE_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def default_collate(samples: list) -> Any:
    """Stack a list of samples into a batch: arrays and numbers into one array per
    field, as eager Tensors (Tensors that need a gradient by a differentiable stack);
    tuples and lists are collated field by field into a list (a namedtuple stays one),
    dicts key by key (into the sample's own mapping type), strings are kept in a list, as
    PyTorch's ``default_collate``; anything else (None, sets, arrays of strings or
    objects) is refused with PyTorch's TypeError.

    >>> [t.tolist() for t in default_collate([(1, 2.5), (3, 4.5)])]
    [[1, 3], [2.5, 4.5]]
    """
    first = samples[0]
    if isinstance(first, Tensor):
        arrays = [np.asarray(plain(s)) for s in samples]
        _same_shapes(arrays)
        if any(isinstance(s, Tensor) and s.requires_grad for s in samples):
            return stack(samples)
        return _as_tensor(_stacked(arrays))
    if isinstance(first, np.ndarray | np.generic) and not isinstance(first, np.str_ | np.bytes_):
        if first.dtype.kind in _NOT_NUMBERS:
            raise TypeError(_COLLATE_ERROR.format(first.dtype))
        arrays = [np.asarray(s) for s in samples]
        _same_shapes(arrays)
        batch = _stacked(arrays, list(samples))  # a Python float among them: the default float
        if batch.dtype.kind in _NOT_NUMBERS:  # numbers mixed with strings or objects
            raise TypeError(_COLLATE_ERROR.format(f"{first.dtype} mixed with {batch.dtype}"))
        return _as_tensor(batch)
    if isinstance(first, str | bytes):
        return samples  # as they come: a list from the loader, a tuple of a field (PyTorch's)
    if isinstance(first, int | float):
        return _as_tensor(_numbers(samples, np.float64 if isinstance(first, float) else None))
    if isinstance(first, collections.abc.Mapping):
        fields = {k: default_collate([s[k] for s in samples]) for k in first}
        try:
            if isinstance(first, collections.abc.MutableMapping):  # its class and other attributes kept
                clone = copy.copy(first)
                clone.update(fields)
                return clone
            return type(first)(fields)
        except TypeError:  # a mapping that cannot be built from a dict
            return fields
    if isinstance(first, collections.abc.Sequence):
        if any(len(s) != len(first) for s in samples):
            raise RuntimeError("default_collate: each element in list of batch should be of equal size, "
                               f"got lengths {sorted({len(s) for s in samples})}")
        fields = [default_collate(tuple(s[i] for s in samples)) for i in range(len(first))]
        if hasattr(first, "_fields"):  # a namedtuple
            return type(first)(*fields)
        if isinstance(first, tuple):
            return fields
        return _same_sequence(first, fields)
    raise TypeError(_COLLATE_ERROR.format(type(first)))


_NOT_NUMBERS = "SaUOVMm"  # strings, objects, records, dates and times: no Tensor holds them


def _numbers(samples, dtype) -> np.ndarray:
    """A batch of Python numbers as one array, as ``torch.tensor(samples)`` makes it:
    anything but numbers in it is a TypeError, an integer beyond int64 a ValueError."""
    for s in samples:
        if not isinstance(s, int | float | np.integer | np.floating | np.bool_):
            raise TypeError(f"default_collate: a batch of numbers holds a {type(s).__name__} ({s!r}); every "
                            "sample must give a number in this field (or collate it in a collate_fn)")
    if dtype is None:  # torch.tensor(samples)'s dtype: NumPy scalars among them promoted by kind,
        dtype = sequence_dtype(list(samples))  # a float among Python integers the default float
    if dtype is None:
        floats = any(isinstance(s, float | np.floating) for s in samples)
        dtype = (default_float_dtype() if floats else
                 bool if all(isinstance(s, bool | np.bool_) for s in samples) else np.int64)
    try:
        return np.asarray(samples, dtype=dtype)
    except OverflowError:
        raise ValueError(f"default_collate: the integers {samples!r} do not fit in int64 (a Tensor of "
                         "integers holds -2**63 to 2**63 - 1)") from None


def _stacked(arrays: list, samples: list | None = None) -> np.ndarray:
    """The arrays of ``samples`` stacked in torch.stack's dtype: promoted by kind (int32 with
    float32 is float32, as in PyTorch, where NumPy widens it to float64), each cast once."""
    return np.stack(arrays, dtype=sequence_dtype(arrays if samples is None else samples), casting="unsafe")


def _same_shapes(arrays: list) -> None:
    shapes = sorted({a.shape for a in arrays})
    if len(shapes) > 1:
        raise RuntimeError(f"default_collate: stack expects each tensor to be equal size, got shapes {shapes} "
                           "(pad them to one size in a collate_fn, e.g. with nn.utils.rnn.pad_sequence)")


class _DatasetKind:
    """PyTorch's kinds of dataset (``torch.utils.data.dataloader._DatasetKind``), which
    ``DataLoader._dataset_kind`` holds: indexed (``Map``) or streamed (``Iterable``)."""

    Map = 0
    Iterable = 1


class DataLoader:
    """Iterate over a dataset in batches, each field a Tensor (eager, no gradient), with
    ``torch.utils.data.DataLoader``'s arguments in its order.

    ``shuffle=True`` draws a new order every epoch from ``generator`` (a NumPy Generator
    or an int seed: the same seed gives the same sequence of epochs; by default the
    global generator, which ``chainrule.manual_seed`` seeds); ``drop_last``
    leaves out a final incomplete batch. A ``sampler`` (an iterable of indices with a
    length, such as :class:`~chainrule.data.DistributedSampler`) gives the order instead,
    a ``batch_sampler`` whole batches of indices; ``batch_size=None`` hands out samples
    one by one, unbatched (arrays as Tensors). An :class:`IterableDataset` is batched as
    it streams. Batches are made in the calling process; ``num_workers`` workers are
    played out there as PyTorch's run (each with a copy of the dataset, its
    :func:`get_worker_info` and ``worker_init_fn``, taking turns at the batches).

    >>> ds = TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5))
    >>> loader = DataLoader(ds, batch_size=2, shuffle=True, generator=0)
    >>> [len(y) for x, y in loader]
    [2, 2, 1]
    >>> len(DataLoader(ds, batch_size=2, drop_last=True))
    2
    """

    __class_getitem__ = classmethod(types.GenericAlias)  # DataLoader[T], as PyTorch's

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler=None,
        batch_sampler=None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable | None = None,
        multiprocessing_context=None,
        generator: np.random.Generator | int | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ):
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer)
                                       or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        if batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int | np.integer) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be a non-negative integer, got {num_workers!r}; "
                             "use num_workers=0 to disable multiprocessing")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in multiprocessing: let "
                             "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2  # PyTorch's default with workers, as its loader.prefetch_factor says
        if prefetch_factor is not None and (isinstance(prefetch_factor, bool) or prefetch_factor <= 0):
            raise ValueError(f"DataLoader: prefetch_factor option should be a positive number of batches per "
                             f"worker, got {prefetch_factor!r}")
        if num_workers == 0 and persistent_workers:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if num_workers == 0 and timeout > 0:  # PyTorch's single-process iterator refuses it
            raise ValueError(f"DataLoader: timeout={timeout!r} waits for a worker's batch: it needs num_workers > 0 "
                             "(leave timeout=0 without workers)")
        if multiprocessing_context is not None:
            if num_workers == 0:
                raise ValueError("DataLoader: multiprocessing_context can only be used with multi-process loading "
                                 "(num_workers > 0), but got num_workers=0")
            methods = multiprocessing.get_all_start_methods()
            if isinstance(multiprocessing_context, str) and multiprocessing_context not in methods:
                raise ValueError(f"DataLoader: multiprocessing_context option should specify a valid start method "
                                 f"in {methods!r}, but got multiprocessing_context={multiprocessing_context!r}")
        if batch_size is not None and batch_sampler is None and not isinstance(drop_last, bool):
            raise ValueError(f"DataLoader: drop_last should be a boolean value, but got drop_last={drop_last!r}")
        if (shuffle and sampler is None and batch_sampler is None and not isinstance(dataset, IterableDataset)
                and len(dataset) == 0):
            raise ValueError("DataLoader: shuffle=True of an empty dataset: its RandomSampler's num_samples should "
                             "be a positive integer value, but got num_samples=0 (the dataset has no samples)")
        if isinstance(dataset, IterableDataset) and (shuffle or sampler is not None or batch_sampler is not None):
            raise ValueError("DataLoader: an IterableDataset streams its samples in its own order: shuffle, "
                             "sampler and batch_sampler do not apply (shuffle inside the dataset instead)")
        if sampler is not None and shuffle:
            raise ValueError(
                "DataLoader: pass either shuffle=True or a sampler, not both (the sampler "
                "decides the order; DistributedSampler shuffles by itself)"
            )
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler gives whole batches: it excludes batch_size, shuffle, "
                                 "sampler and drop_last")
            batch_size = None
        self.dataset = dataset
        self._dataset_kind = _DatasetKind.Iterable if isinstance(dataset, IterableDataset) else _DatasetKind.Map
        self._sampler = sampler  # as given (None: the order comes from shuffle)
        self._batch_sampler = batch_sampler
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = drop_last
        self.generator = _generator(generator)
        if collate_fn is None:  # PyTorch's default: collate batches, convert single samples
            collate_fn = default_convert if batch_size is None and batch_sampler is None else default_collate
        self.collate_fn = collate_fn
        # PyTorch's worker options, kept as given (trainers read them back, or rebuild the
        # loader from them); batches are made in this process whatever they say
        self.num_workers, self.pin_memory, self.timeout = int(num_workers), pin_memory, timeout
        self.worker_init_fn, self.multiprocessing_context = worker_init_fn, multiprocessing_context
        self.prefetch_factor, self.persistent_workers = prefetch_factor, persistent_workers
        self.pin_memory_device, self.in_order = pin_memory_device, in_order
        self._kept_workers, self._passes = None, 0  # persistent workers; passes begun (for the worker seeds)

    @property
    def sampler(self):
        """The sampler given, or PyTorch's default: a RandomSampler (of ``generator``, the
        one that orders the batches) with ``shuffle=True``, else a SequentialSampler; None
        for an IterableDataset."""
        if self._sampler is None and not isinstance(self.dataset, IterableDataset):
            self._sampler = (RandomSampler(self.dataset, generator=self.generator) if self.shuffle
                             else SequentialSampler(self.dataset))
        return self._sampler

    @property
    def batch_sampler(self):
        """The batch sampler given, or PyTorch's default: a BatchSampler over
        :attr:`sampler` (None with ``batch_size=None`` or for an IterableDataset)."""
        if self._batch_sampler is None and self.batch_size is not None and self.sampler is not None:
            self._batch_sampler = BatchSampler(self.sampler, self.batch_size, self.drop_last)
        return self._batch_sampler

    def __len__(self) -> int:
        if self._batch_sampler is not None:
            return len(self._batch_sampler)
        if self._sampler is None and not hasattr(self.dataset, "__len__"):
            raise TypeError(f"object of type '{type(self.dataset).__name__}' has no len(): the loader's length is "
                            "its dataset's (an IterableDataset may define __len__ to give one)")
        n = len(self.dataset) if self._sampler is None else len(self._sampler)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> Iterator[np.ndarray]:
        """The indices of one pass, in chunks of the batch size (one at a time with
        ``batch_size=None``): a sampler given is read as the batches are, as PyTorch's
        loader reads it, so a sampler of 10**10 draws (minGPT's) costs a batch at a time."""
        bs = self.batch_size or 1
        if self._sampler is not None:
            indices = iter(self._sampler)
            while chunk := list(itertools.islice(indices, bs)):
                yield np.array([sample_index(i) for i in chunk], dtype=np.int64)
            return
        n = len(self.dataset)
        order = get_generator(self.generator).permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, bs):
            yield order[start : start + bs]

    def __iter__(self) -> Iterator:
        return _LoaderIterator(self)

    def _batches(self) -> Iterator:
        """One pass: the workers start (``worker_init_fn`` runs) now, the batches come as read."""
        workers = self._workers()
        if isinstance(self.dataset, IterableDataset):
            if workers == [None]:
                return self._stream(self.dataset)
            return _take_turns([(w, self._stream(w.dataset)) for w in workers])
        return self._indexed(workers)

    def _workers(self) -> list[WorkerInfo | None]:
        """None (this process) with ``num_workers=0``; else one WorkerInfo per worker, each
        with its own shallow copy of the dataset, as PyTorch's processes have their own
        (kept from pass to pass with ``persistent_workers``), after ``worker_init_fn`` ran in it."""
        if not self.num_workers:
            return [None]
        if self.persistent_workers and self._kept_workers is not None:
            return self._kept_workers
        state = get_generator(self.generator).bit_generator.state  # read, not drawn from: the order stays
        self._passes += 1
        digest = hashlib.sha256(f"{state}/{self._passes}".encode()).digest()
        base = int.from_bytes(digest[:8], "little") >> 1
        workers = [WorkerInfo(id=i, num_workers=self.num_workers, seed=base + i, dataset=copy.copy(self.dataset))
                   for i in range(self.num_workers)]
        if self.worker_init_fn is not None:
            for w in workers:
                with _in_worker(w):
                    self.worker_init_fn(w.id)
        if self.persistent_workers:
            self._kept_workers = workers
        return workers

    def _indexed(self, workers: list) -> Iterator:
        """The batches of a map-style dataset, batch ``k`` made by worker ``k % num_workers``
        from its copy of the dataset (the same batches, in the same order, as in one process)."""
        datasets = [self.dataset if w is None else w.dataset for w in workers]
        fast = self.collate_fn is default_collate and self.batch_size is not None and self._batch_sampler is None
        backings = [_arrays_of(ds) if fast else None for ds in datasets]
        collate = self.collate_fn
        for k, job in enumerate(self._jobs()):
            i = k % len(workers)
            if workers[i] is None:  # this process
                yield job(datasets[i], backings[i], collate)
                continue
            with _in_worker(workers[i]):  # not around the yield: the caller's code runs outside the worker
                batch = job(datasets[i], backings[i], collate)
            yield batch

    def _jobs(self) -> Iterator[Callable]:
        """One pass's batches to make, each a function of the dataset (the loader's or a
        worker's copy), the arrays behind it (None: read it sample by sample) and the collate_fn."""
        if self._batch_sampler is not None:
            for indices in self._batch_sampler:
                yield functools.partial(_collated, [sample_index(i) for i in indices])
            return
        if self.batch_size is None:  # each index (a batch of them from a batch-yielding sampler) as it is
            indices = iter(self._sampler) if self._sampler is not None else (int(i) for (i,) in self._order())
            for index in indices:
                yield functools.partial(_converted, index)
            return
        for idx in self._order():
            if self.drop_last and len(idx) < self.batch_size:
                return
            yield functools.partial(_sliced, idx)

    def _stream(self, ds: IterableDataset) -> Iterator:
        """Batches of an IterableDataset's samples, in the order it yields them."""
        if self.batch_size is None:
            convert = self.collate_fn
            for sample in ds:
                yield convert(sample)
            return
        collate = self.collate_fn
        batch = []
        for sample in ds:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)


def _collated(indices: list, ds, backing, collate):
    return collate(_fetch(ds, indices))


def _converted(index, ds, backing, convert):
    return convert(ds[index])


def _sliced(idx: np.ndarray, ds, backing, collate):
    if backing is None:
        return collate(_fetch(ds, idx.tolist()))
    arrays, base = backing
    return [_as_tensor(a[idx if base is None else base[idx]]) for a in arrays]


def _take_turns(streams: list) -> Iterator:
    """The batches of each worker's stream of an IterableDataset in turn, as PyTorch's
    loader takes them (a worker whose stream ends drops out)."""
    while streams:
        for entry in list(streams):
            worker, stream = entry
            with _in_worker(worker):
                batch = next(stream, _ENDED)
            if batch is _ENDED:
                streams.remove(entry)
            else:
                yield batch


_ENDED = object()


class _LoaderIterator:
    """One pass over a DataLoader: its batches, and its length, as PyTorch's iterator."""

    def __init__(self, loader: DataLoader):
        self._loader, self._batches = loader, loader._batches()

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._batches)

    def __len__(self) -> int:
        return len(self._loader)


def _fetch(ds, indices: list) -> list:
    """The samples of ``ds`` at ``indices``, as PyTorch's loader fetches them: by the
    dataset's ``__getitems__`` where it has one (a Subset's, a StackDataset's), else one by one."""
    getitems = getattr(ds, "__getitems__", None)
    if getitems is not None:
        return getitems(indices)
    return [ds[i] for i in indices]


def _arrays_of(ds):
    """The arrays behind a TensorDataset (or a Subset of one), and the subset's indices;
    None where a subclass reads its samples otherwise (its own ``__getitem__``) or a
    Tensor needs its gradient (its samples are stacked differentiably)."""
    if type(ds) is TensorDataset and all(t is None for t in ds._needing_grad):
        return ds.arrays, None
    if type(ds) is Subset and type(ds.dataset) is TensorDataset and all(t is None for t in ds.dataset._needing_grad):
        indices = np.asarray(plain(ds.indices)) if len(ds.indices) else np.zeros(0, np.int64)
        if indices.dtype.kind in "iu":  # others (floats) are indexed one by one, and refused there
            return ds.dataset.arrays, indices.astype(np.int64, copy=False)
    return None

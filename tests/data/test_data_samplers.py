"""The rest of torch.utils.data (chainrule/data): Sampler subclasses, SubsetRandomSampler,
WeightedRandomSampler, BatchSampler, DataLoader(batch_sampler=...) and batch_size=None,
IterableDataset and ChainDataset, StackDataset and ``dataset + dataset``; compared with
PyTorch wherever the result does not depend on the random stream."""

import collections.abc
import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    Sampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_convert,
    get_worker_info,
)

torch = pytest.importorskip("torch")
tdata = torch.utils.data
X, Y = np.arange(14.0).reshape(7, 2), np.arange(7)


def test_batch_sampler_and_loader_match_torch():
    for batch, drop in [(3, False), (3, True), (7, False), (10, True)]:
        ours = list(BatchSampler(SequentialSampler(range(7)), batch, drop))
        theirs = list(tdata.BatchSampler(tdata.SequentialSampler(range(7)), batch, drop))
        assert ours == theirs and len(BatchSampler(range(7), batch, drop)) == len(theirs)
    loader = DataLoader(TensorDataset(X, Y), batch_sampler=[[6, 0], [3, 3, 1]])
    tloader = tdata.DataLoader(tdata.TensorDataset(torch.tensor(X), torch.tensor(Y)), batch_sampler=[[6, 0], [3, 3, 1]])
    for (x, y), (tx, ty) in zip(loader, tloader, strict=True):
        assert isinstance(x, cr.Tensor) and np.array_equal(x.numpy(), tx.numpy())
        assert np.array_equal(y.numpy(), ty.numpy())
    assert len(loader) == 2
    with pytest.raises(ValueError, match="batch_sampler gives whole batches"):
        DataLoader(TensorDataset(X), batch_size=2, batch_sampler=[[0]])


def test_unbatched_loading():
    ds = TensorDataset(X, Y)
    items = list(DataLoader(ds, batch_size=None))
    titems = list(tdata.DataLoader(tdata.TensorDataset(torch.tensor(X), torch.tensor(Y)), batch_size=None))
    assert len(items) == len(titems) == 7 and len(DataLoader(ds, batch_size=None)) == 7
    for (x, y), (tx, ty) in zip(items, titems, strict=True):
        assert tuple(x.shape) == tuple(tx.shape) and np.array_equal(np.asarray(x), tx.numpy()) and int(y) == int(ty)
    converted = default_convert({"a": np.ones(2), "b": [np.zeros(1), 3]})
    assert isinstance(converted["a"], cr.Tensor) and isinstance(converted["b"][0], cr.Tensor)
    assert converted["b"][1] == 3


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter({"x": np.full(2, float(i)), "i": i} for i in range(self.n))


def test_iterable_datasets_are_batched_as_they_stream():
    batches = list(DataLoader(Stream(5), batch_size=2))
    assert [b["i"].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert [b["i"].tolist() for b in DataLoader(Stream(5), batch_size=2, drop_last=True)] == [[0, 1], [2, 3]]
    assert [s["i"] for s in DataLoader(Stream(3), batch_size=None)] == [0, 1, 2]
    chained = list(DataLoader(ChainDataset([Stream(2), Stream(1)]), batch_size=4))
    assert chained[0]["i"].tolist() == [0, 1, 0] and [s["i"] for s in Stream(1) + Stream(2)] == [0, 0, 1]
    with pytest.raises(ValueError, match="IterableDataset"):
        DataLoader(Stream(3), shuffle=True)
    with pytest.raises(TypeError):
        len(DataLoader(Stream(3)))
    with pytest.raises(TypeError, match="iterate over it"):
        Stream(3)[0]
    assert get_worker_info() is None


def test_subset_random_sampler_permutes_its_indices():
    s = SubsetRandomSampler([2, 5, 9, 11], generator=np.random.default_rng(0))
    passes = [list(s) for _ in range(6)]
    assert all(sorted(p) == [2, 5, 9, 11] for p in passes) and len({tuple(p) for p in passes}) > 1
    assert isinstance(s, Sampler) and len(s) == 4


def test_weighted_random_sampler_draws_in_proportion():
    w = [1.0, 0.0, 3.0, 6.0]
    drawn = np.array(list(WeightedRandomSampler(w, 200_000, generator=0)))
    np.testing.assert_allclose(np.bincount(drawn, minlength=4) / len(drawn), np.array(w) / 10, atol=0.005)
    distinct = list(WeightedRandomSampler(w, 3, replacement=False, generator=1))
    assert sorted(distinct) == [0, 2, 3]
    loader = DataLoader(TensorDataset(X, Y), batch_size=4, sampler=WeightedRandomSampler(np.ones(7), 8, generator=2))
    assert [len(y) for _, y in loader] == [4, 4]
    for bad, match in [(([1.0, -1.0], 2), "non-negative"), (([0.0, 0.0], 2), "not all zero"),
                       (([1.0, np.nan], 2), "finite"), (([1.0, 2.0], 0), "positive integer"),
                       (([1.0, 0.0], 2, False), "distinct")]:
        with pytest.raises(ValueError, match=match):
            WeightedRandomSampler(*bad)


def test_stack_and_concat_datasets_match_torch():
    a, b = TensorDataset(X), TensorDataset(Y)
    ta, tb = tdata.TensorDataset(torch.tensor(X)), tdata.TensorDataset(torch.tensor(Y))
    for ours, theirs in [(StackDataset(a, b), tdata.StackDataset(ta, tb)),
                         (StackDataset(x=a, y=b), tdata.StackDataset(x=ta, y=tb))]:
        assert len(ours) == len(theirs) == 7
        mine, yours = ours[3], theirs[3]
        assert type(mine) is type(yours)
        pairs = zip(*((mine.values(), yours.values()) if isinstance(mine, dict) else (mine, yours)), strict=True)
        for (m,), (t,) in pairs:  # each field is a TensorDataset's 1-tuple
            assert np.array_equal(np.asarray(m), t.numpy())
    with pytest.raises(ValueError, match="same length"):
        StackDataset(a, TensorDataset(Y[:3]))
    both = a + b
    assert isinstance(both, ConcatDataset) and len(both) == 14 and int(both[8][0]) == 1

    class Squares(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return i * i

    assert [int(v) for v in (Squares() + Squares())] == [0, 1, 4, 0, 1, 4]


def test_samplers_without_a_generator_follow_manual_seed():
    def draws():
        cr.manual_seed(4)
        return list(SubsetRandomSampler(range(10))), list(WeightedRandomSampler(np.ones(5), 6))

    assert draws() == draws()


@pytest.mark.parametrize("replacement", [True, False])
def test_an_endless_random_sampler_is_read_as_the_batches_are(replacement):
    # minGPT's trainer: RandomSampler(ds, replacement=True, num_samples=int(1e10)) under a
    # DataLoader; PyTorch draws as it reads, so the first batches come at once
    ds = TensorDataset(cr.arange(5.0), cr.arange(5))
    sampler = cr.utils.data.RandomSampler(ds, replacement=replacement, num_samples=int(1e12))
    assert len(sampler) == 10 ** 12
    it = iter(DataLoader(ds, sampler=sampler, batch_size=4))
    for _ in range(3):
        x, y = next(it)
        assert x.shape == (4,) and set(y.tolist()) <= set(range(5))
    unbatched = iter(DataLoader(ds, sampler=sampler, batch_size=None))
    assert next(unbatched)[0].shape == ()
    assert list(DataLoader(ds, sampler=SequentialSampler(ds), batch_size=2, drop_last=True))[-1][1].tolist() == [2, 3]


@pytest.mark.parametrize("indices", [[0.5, 1.7], np.array([1.0, 2.0]), [True, False]])
def test_a_sampler_of_floats_or_booleans_is_refused_not_cut_down_to_integers(indices):
    ds, tds = TensorDataset(X), tdata.TensorDataset(torch.tensor(X))
    for kwargs in ({"sampler": indices, "batch_size": 2}, {"batch_sampler": [list(indices)]}):
        with pytest.raises((IndexError, RuntimeError)):
            list(tdata.DataLoader(tds, **kwargs))
        with pytest.raises(IndexError, match="a sampler gave the index .*; indices must be integers"):
            list(DataLoader(ds, **kwargs))  # was rows 0 and 1 for [0.5, 1.7]
    with pytest.raises(IndexError, match="indices must be integers"):
        list(BatchSampler(indices, 2, False))
    assert list(BatchSampler(np.array([3, 1, 2]), 2, False)) == [[3, 1], [2]]


def test_a_subset_of_float_indices_is_refused_as_pytorchs_not_cut_down():
    with pytest.raises(IndexError):
        list(tdata.DataLoader(tdata.Subset(tdata.TensorDataset(torch.tensor(X)), [0.5, 1.7]), batch_size=2))
    with pytest.raises(IndexError):
        list(DataLoader(Subset(TensorDataset(X), [0.5, 1.7]), batch_size=2))  # was rows 0 and 1
    assert [b[0].tolist() for b in DataLoader(Subset(TensorDataset(X), np.array([3, 1], np.uint8)), batch_size=2)] \
        == [X[[3, 1]].tolist()]


@pytest.mark.parametrize("index", [1.7, np.float64(0.0), True])
def test_a_concat_dataset_refuses_an_index_that_is_not_an_integer(index):
    both, tboth = ConcatDataset([[1, 2], [3]]), tdata.ConcatDataset([[1, 2], [3]])
    if not isinstance(index, bool):
        with pytest.raises(TypeError):
            tboth[index]
    with pytest.raises(TypeError, match="ConcatDataset indices must be integers"):
        both[index]  # was both[1] for 1.7
    assert both[np.int64(2)] == tboth[np.int64(2)] == 3


class Batched:
    """A dataset read a batch at a time: ``__getitems__`` gives what ``__getitem__`` would not."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return ("one", i)

    def __getitems__(self, indices):
        return [("batch", i) for i in indices]


@pytest.mark.parametrize("build", [
    lambda lib: lib.StackDataset(Batched(), [10, 11, 12, 13, 14]),
    lambda lib: lib.StackDataset(a=Batched(), b=Batched()),
    lambda lib: lib.Subset(Batched(), [4, 2, 0]),
    lambda lib: lib.Subset(lib.Subset(Batched(), [4, 3, 2, 1]), [3, 0]),
    lambda lib: lib.Subset(lib.StackDataset(Batched(), Batched()), [1, 2]),
])
def test_stacked_and_subset_datasets_read_a_batch_by_getitems_as_pytorchs(build):
    ours, theirs = build(cr.data), build(tdata)
    assert ours.__getitems__([1, 0]) == theirs.__getitems__([1, 0])
    take = dict(batch_size=2, collate_fn=list)
    assert list(DataLoader(ours, **take)) == list(tdata.DataLoader(theirs, **take))


@pytest.mark.parametrize("make", [
    lambda lib: lib.RandomSampler([]),
    lambda lib: lib.RandomSampler([], replacement=True),
    lambda lib: lib.DataLoader([], shuffle=True),
    lambda lib: lib.DataLoader(lib.TensorDataset(np.zeros((0, 2)) if lib is cr.data else torch.zeros(0, 2)),
                               batch_size=4, shuffle=True),
])
def test_shuffling_an_empty_dataset_is_refused_as_by_pytorch(make):
    # not a silent epoch of no batches: a training loop over it would learn nothing
    with pytest.raises(ValueError, match="num_samples=0"):
        make(tdata)
    with pytest.raises(ValueError, match="num_samples=0"):
        make(cr.data)
    assert list(DataLoader([], batch_size=4)) == list(tdata.DataLoader([], batch_size=4)) == []


@pytest.mark.parametrize("replacement", [False, True])
def test_drawing_from_an_empty_data_source_fails_as_pytorchs_not_endlessly(replacement):
    with pytest.raises((ZeroDivisionError, RuntimeError)):
        list(tdata.RandomSampler([], replacement=replacement, num_samples=3))
    with pytest.raises(ValueError, match="empty data source"):
        list(cr.data.RandomSampler([], replacement=replacement, num_samples=3))


@pytest.mark.parametrize("kind", ["iterable", "map without __len__", "base"])
def test_a_dataset_without_len_is_not_sized_as_in_pytorch(kind):
    # programs ask before they count: total = len(ds) if hasattr(ds, "__len__") else None
    def make(lib):
        if kind == "base":
            return lib.Dataset()
        if kind == "iterable":
            return type("Stream", (lib.IterableDataset,), {"__iter__": lambda self: iter(range(3))})()
        return type("Lookup", (lib.Dataset,), {"__getitem__": lambda self, i: i})()

    ours, theirs = make(cr.data), make(tdata)
    assert hasattr(ours, "__len__") == hasattr(theirs, "__len__") is False
    assert isinstance(ours, collections.abc.Sized) == isinstance(theirs, collections.abc.Sized) is False
    with pytest.raises(TypeError, match="has no len"):
        len(ours)
    if kind == "iterable":
        with pytest.raises(TypeError, match="has no len"):
            len(tdata.DataLoader(theirs, batch_size=2))
        with pytest.raises(TypeError, match="has no len"):
            len(DataLoader(ours, batch_size=2))
        assert [b.tolist() for b in DataLoader(ours, batch_size=2)] == [[0, 1], [2]]



def endless_and_stream(lib):
    """A map-style dataset whose __getitem__ answers any index (it never raises IndexError),
    and a stream, both of ``lib``."""
    squares = type("Squares", (lib.Dataset,), {"__len__": lambda self: 3, "__getitem__": lambda self, i: i * i})
    stream = type("Stream", (lib.IterableDataset,), {"__iter__": lambda self: iter([7, 8])})
    return squares(), stream()


@pytest.mark.parametrize("case", ["map-style", "list after a stream", "stream + map-style"])
def test_a_chain_of_a_map_style_dataset_is_refused_as_pytorchs_not_streamed_forever(case):
    def build(lib):
        squares, stream = endless_and_stream(lib)
        if case == "stream + map-style":
            return stream + squares
        return lib.ChainDataset([squares] if case == "map-style" else [stream, [1, 2]])

    with pytest.raises(AssertionError, match="only supports IterableDataset"):
        list(build(tdata))
    with pytest.raises(TypeError, match="only supports IterableDataset"):
        list(itertools.islice(build(cr.data), 10))  # on the previous version, 10 squares of an endless stream
    with pytest.raises(TypeError, match="only supports IterableDataset"):
        len(build(cr.data))

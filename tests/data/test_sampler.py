"""DistributedSampler: PyTorch's partition, disjoint and complete shares, DataLoader use."""

import itertools

import numpy as np
import pytest

from chainrule.data import DataLoader, DistributedSampler, TensorDataset
from chainrule.data.sampler import torch_randperm

CASES = [(n, replicas) for n in (0, 1, 2, 5, 7, 10, 16, 33) for replicas in (1, 2, 3, 4, 8)]


def _shares(n, replicas, **kw):
    return [list(DistributedSampler(range(n), num_replicas=replicas, rank=r, **kw)) for r in range(replicas)]


@pytest.mark.parametrize(("n", "replicas"), CASES + [(n, r) for n in (3, 11, 100) for r in (3, 5)])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_equals_torch(n, replicas, drop_last, shuffle):
    pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    for seed, epoch in [(3, 0), (3, 2), (0, 7), (2**32 + 5, 1), (-4, 1)]:
        for r in range(replicas):
            ours = DistributedSampler(range(n), num_replicas=replicas, rank=r, shuffle=shuffle, seed=seed,
                                      drop_last=drop_last)
            theirs = TorchSampler(range(n), num_replicas=replicas, rank=r, shuffle=shuffle, seed=seed,
                                  drop_last=drop_last)
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert list(ours) == list(theirs), (seed, epoch, r)
            assert len(ours) == len(theirs)


def test_torch_randperm_is_torchs():
    torch = pytest.importorskip("torch")
    for n in (0, 1, 2, 9, 1000, 70_001):
        for seed in (0, 1, 123456789, 2**40 + 17, -1):
            g = torch.Generator()
            g.manual_seed(seed)
            assert torch_randperm(n, seed).tolist() == torch.randperm(n, generator=g).tolist(), (n, seed)


@pytest.mark.parametrize(("n", "replicas"), CASES)
def test_disjoint_and_complete(n, replicas):
    shares = _shares(n, replicas, shuffle=True, seed=1)
    assert len({len(s) for s in shares}) <= 1  # equal shares, so collectives line up
    everything = list(itertools.chain(*shares))
    assert set(everything) == set(range(n))  # complete
    padding = len(everything) - n
    assert 0 <= padding < replicas or n == 0  # disjoint up to the padding
    dropped = _shares(n, replicas, shuffle=True, seed=1, drop_last=True)
    flat = list(itertools.chain(*dropped))
    assert len(flat) == len(set(flat)) and len(flat) == n - n % replicas  # disjoint, drops the rest


def test_epochs_reshuffle_identically_everywhere():
    a = DistributedSampler(range(20), num_replicas=2, rank=0, seed=5)
    b = DistributedSampler(range(20), num_replicas=2, rank=1, seed=5)
    first = (list(a), list(b))
    a.set_epoch(1)
    b.set_epoch(1)
    second = (list(a), list(b))
    assert first != second
    assert sorted(second[0] + second[1]) == list(range(20))
    a.set_epoch(0)
    assert list(a) == first[0]


def test_with_data_loader():
    ds = TensorDataset(np.arange(10.0), np.arange(10))
    sampler = DistributedSampler(ds, num_replicas=3, rank=2, shuffle=False)
    loader = DataLoader(ds, batch_size=2, sampler=sampler)
    assert len(loader) == 2
    assert [y.numpy().tolist() for _, y in loader] == [[2, 5], [8, 1]]
    with pytest.raises(ValueError, match="either shuffle=True or a sampler"):
        DataLoader(ds, shuffle=True, sampler=sampler)


@pytest.mark.parametrize(("kw", "message"), [
    ({"num_replicas": 0, "rank": 0}, "num_replicas must be a positive integer"),
    ({"num_replicas": 2, "rank": 2}, r"rank must be an integer in \[0, 1\]"),
    ({"num_replicas": 2, "rank": -1}, r"rank must be an integer in \[0, 1\]"),
])
def test_bad_arguments(kw, message):
    with pytest.raises(ValueError, match=message):
        DistributedSampler(range(4), **kw)

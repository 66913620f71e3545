"""DataLoader(num_workers > 0) against PyTorch's: workers are emulated in the calling
process, each with its own copy of the dataset, so that get_worker_info() sharding of an
IterableDataset, worker_init_fn and persistent_workers give PyTorch's batches in PyTorch's
order."""

import math

import numpy as np
import pytest

from chainrule import data

torch = pytest.importorskip("torch")
tdata = torch.utils.data
pytestmark = [pytest.mark.usefixtures("one_torch_thread"),
              pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")]


def as_lists(loader):
    return [b.tolist() if hasattr(b, "tolist") else b for b in loader]


def ranges(lib):
    """PyTorch's two IterableDataset examples: a range split in __iter__ by the worker's id,
    and one split by a worker_init_fn that edits its worker's copy of the dataset."""

    class InIter(lib.IterableDataset):
        def __init__(self, start, end, shard=True):
            self.start, self.end, self.shard = start, end, shard

        def __iter__(self):
            info = lib.get_worker_info()
            if info is None or not self.shard:
                return iter(range(self.start, self.end))
            per = int(math.ceil((self.end - self.start) / info.num_workers))
            lo = self.start + info.id * per
            return iter(range(lo, min(lo + per, self.end)))

    def init(worker_id):
        info = lib.get_worker_info()
        ds = info.dataset  # this worker's copy
        per = int(math.ceil((ds.end - ds.start) / info.num_workers))
        ds.start = ds.start + worker_id * per
        ds.end = min(ds.start + per, ds.end)

    return InIter, init


@pytest.mark.parametrize("batch_size, drop_last, shard", [(2, False, True), (2, True, True), (None, False, False)])
def test_an_iterable_dataset_read_by_workers_gives_pytorchs_batches(batch_size, drop_last, shard):
    batches = []
    for lib in (tdata, data):
        InIter, _ = ranges(lib)
        ds = InIter(3, 10, shard)
        batches.append(as_lists(lib.DataLoader(ds, batch_size=batch_size, drop_last=drop_last, num_workers=2)))
    assert batches[0] == batches[1]


def test_a_worker_init_fn_splits_the_workers_copies_as_in_pytorch():
    batches = []
    for lib in (tdata, data):
        InIter, init = ranges(lib)
        ds = InIter(3, 10, shard=False)
        batches.append(as_lists(lib.DataLoader(ds, batch_size=2, num_workers=3, worker_init_fn=init)))
        assert (ds.start, ds.end) == (3, 10)  # the loader's dataset is left as it was
    assert batches[0] == batches[1] == [[3, 4], [6, 7], [9], [5], [8]]
    assert data.get_worker_info() is None


class Tagged(data.Dataset):
    """Samples that say which worker made them, and the calls of worker_init_fn."""

    def __init__(self):
        self.inits = []

    def __len__(self):
        return 7

    def __getitem__(self, i):
        info = data.get_worker_info()
        return np.array([i, -1 if info is None else info.id])


def test_map_style_batches_keep_their_order_and_batch_k_is_made_by_worker_k_mod_n():
    plain = as_lists(data.DataLoader(Tagged(), batch_size=2))
    assert [row[1] for b in plain for row in b] == [-1] * 7
    ds = Tagged()
    seeds = []

    def init(worker_id):
        info = data.get_worker_info()
        seeds.append(info.seed - worker_id)
        ds.inits.append((worker_id, info.num_workers, info.dataset is not ds))

    loader = data.DataLoader(ds, batch_size=2, num_workers=3, worker_init_fn=init)
    for _ in range(2):  # two passes
        batches = []
        for b in loader:
            assert data.get_worker_info() is None  # the loop's own code runs outside the workers
            batches.append(b.tolist())
        assert [[row[0] for row in b] for b in batches] == [[row[0] for row in b] for b in plain]
        assert [b[0][1] for b in batches] == [0, 1, 2, 0]  # as PyTorch's workers take turns
    assert ds.inits == [(0, 3, True), (1, 3, True), (2, 3, True)] * 2  # each pass starts its workers
    assert len(set(seeds)) == 2  # one base seed per pass, as PyTorch draws
    ds.inits.clear()
    kept = data.DataLoader(ds, batch_size=2, num_workers=2, worker_init_fn=init, persistent_workers=True)
    assert as_lists(kept) == as_lists(kept) and ds.inits == [(0, 2, True), (1, 2, True)]


def test_torchs_map_style_workers_take_the_same_turns():
    class TorchTagged(tdata.Dataset):
        def __len__(self):
            return 7

        def __getitem__(self, i):
            return np.array([i, tdata.get_worker_info().id])

    theirs = as_lists(tdata.DataLoader(TorchTagged(), batch_size=2, num_workers=3))
    ours = as_lists(data.DataLoader(Tagged(), batch_size=2, num_workers=3))
    assert ours == theirs


def test_another_thread_is_not_inside_the_worker():
    import threading

    seen = []

    def init(worker_id):
        seen.append(data.get_worker_info().id)
        other = threading.Thread(target=lambda: seen.append(data.get_worker_info()))
        other.start()
        other.join()

    list(data.DataLoader(Tagged(), batch_size=4, num_workers=1, worker_init_fn=init))
    assert seen == [0, None]

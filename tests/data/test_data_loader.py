"""Dataset, TensorDataset, Subset, random_split and DataLoader."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split

X = np.arange(20, dtype=np.float32).reshape(10, 2)
Y = np.arange(10)


def test_batches_cover_the_data_in_order_without_shuffle():
    loader = DataLoader(TensorDataset(X, Y), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [len(y) for _, y in batches] == [4, 4, 2]
    assert all(isinstance(x, cr.Tensor) and not x.requires_grad for x, _ in batches)
    assert np.array_equal(np.concatenate([y.numpy() for _, y in batches]), Y)
    assert batches[0][0].dtype == np.float32


def test_drop_last():
    loader = DataLoader(TensorDataset(X, Y), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [len(y) for _, y in loader] == [4, 4]


def test_seeded_shuffle_is_reproducible_and_differs_between_epochs():
    def epochs(seed):
        loader = DataLoader(TensorDataset(X, Y), batch_size=3, shuffle=True, generator=seed)
        return [np.concatenate([y.numpy() for _, y in loader]) for _ in range(3)]

    a, b = epochs(5), epochs(5)
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert all(sorted(e.tolist()) == Y.tolist() for e in a)
    assert not np.array_equal(a[0], a[1])
    assert not np.array_equal(a[0], epochs(6)[0])
    g = np.random.default_rng(1)
    assert len(list(DataLoader(TensorDataset(X, Y), batch_size=3, shuffle=True, generator=g))) == 4


def test_rows_stay_paired_after_shuffling():
    loader = DataLoader(TensorDataset(X, Y), batch_size=3, shuffle=True, generator=0)
    for x, y in loader:
        assert np.array_equal(x.numpy()[:, 0], 2 * y.numpy())


class Pairs(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full(2, i, dtype=np.float32), "y": i}


def test_generic_datasets_are_collated_field_by_field():
    batches = list(DataLoader(Pairs(), batch_size=2))
    assert [b["y"].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert batches[0]["x"].shape == (2, 2)
    custom = DataLoader(Pairs(), batch_size=5, collate_fn=lambda s: len(s))
    assert list(custom) == [5]
    assert default_collate([(1.0, "a"), (2.0, "b")])[1] == ("a", "b")  # a tuple, as PyTorch's


def test_subset_and_random_split():
    ds = TensorDataset(X, Y)
    a, b = random_split(ds, [7, 3], generator=0)
    assert len(a) == 7 and len(b) == 3
    assert sorted(np.concatenate([a.indices, b.indices]).tolist()) == list(range(10))
    loader = DataLoader(a, batch_size=10)
    (x, y), = list(loader)
    assert np.array_equal(y.numpy(), a.indices)
    c, d = random_split(ds, [0.5, 0.5], generator=0)
    assert len(c) == len(d) == 5
    assert Subset(ds, [3])[0][1] == 3
    with pytest.raises(ValueError, match="add up to 9"):
        random_split(ds, [5, 4])


def test_errors():
    with pytest.raises(ValueError, match="same length"):
        TensorDataset(X, Y[:5])
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(TensorDataset(X), batch_size=0)
    with pytest.raises(TypeError, match="generator"):
        DataLoader(TensorDataset(X), generator="seed")


def test_pytorch_worker_options_are_accepted_and_change_nothing():
    plain = [y.tolist() for _, y in DataLoader(TensorDataset(X, Y), batch_size=3)]
    with_workers = DataLoader(TensorDataset(X, Y), batch_size=3, num_workers=4, pin_memory=True,
                              persistent_workers=True, prefetch_factor=2, timeout=5, worker_init_fn=print)
    assert [y.tolist() for _, y in with_workers] == plain


def test_concat_dataset_and_samplers():
    from chainrule.data import ConcatDataset, RandomSampler, SequentialSampler

    both = ConcatDataset([TensorDataset(X[:4], Y[:4]), TensorDataset(X[4:], Y[4:])])
    assert len(both) == 10 and [int(both[i][1]) for i in (0, 3, 4, 9, -1)] == [0, 3, 4, 9, 9]
    with pytest.raises(IndexError, match="out of range"):
        both[10]
    assert [y.tolist() for _, y in DataLoader(both, batch_size=4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert list(SequentialSampler(both)) == list(range(10))
    loader = DataLoader(TensorDataset(X, Y), batch_size=5, sampler=RandomSampler(Y, generator=3))
    order = [y.tolist() for _, y in loader]
    assert sorted(order[0] + order[1]) == list(range(10)) and order != [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    drawn = list(RandomSampler(Y, replacement=True, num_samples=25, generator=0))
    assert len(drawn) == 25 and all(0 <= i < 10 for i in drawn)
    assert len(list(RandomSampler(Y, num_samples=15, generator=0))) == 15


@pytest.mark.parametrize("lib", ["chainrule", "torch"])
def test_a_tensor_dataset_sample_is_tensors_as_torch_s(lib):
    torch = pytest.importorskip("torch")
    x, y = np.arange(12.0).reshape(4, 3), np.arange(4)
    if lib == "torch":
        ds = torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y))
    else:
        ds = TensorDataset(x, y)
    xi, yi = ds[2]
    assert xi.unsqueeze(0).shape == (1, 3) and yi.item() == 2 and yi.dim() == 0
    assert [v.tolist() for v in ds[1:3]] == [[[3.0, 4.0, 5.0], [6.0, 7.0, 8.0]], [1, 2]]
    with (torch.no_grad() if lib == "torch" else cr.no_grad()):
        xi[0] = -1.0  # a sample shares the dataset's memory, as in PyTorch
    assert ds[2][0].tolist() == [-1.0, 7.0, 8.0]


@pytest.mark.parametrize("samples", [
    [(1, 2.5), (3, 4.5)], [[1, 2], [3, 4]], [{"a": (1, 2)}, {"a": (3, 4)}],
    [(np.zeros(2, np.float32), 1), (np.ones(2, np.float32), 0)],
])
def test_default_collate_gives_pytorchs_containers(samples):
    torch = pytest.importorskip("torch")
    ours, theirs = default_collate(samples), torch.utils.data.default_collate(samples)

    def same(a, b):
        assert type(a).__name__ == type(b).__name__ or (cr.is_tensor(a) and torch.is_tensor(b))
        if isinstance(a, dict):
            assert a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        elif isinstance(a, list):
            assert len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        else:
            assert a.tolist() == b.tolist() and str(a.dtype) == str(b.dtype).removeprefix("torch.")
        return True
    assert same(ours, theirs)


def test_default_collate_refuses_samples_of_unequal_length():
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])


def test_a_tensor_dataset_batch_is_a_list_as_pytorchs():
    batch = next(iter(DataLoader(TensorDataset(np.zeros((4, 2)), np.arange(4)), batch_size=2)))
    assert type(batch) is list and len(batch) == 2


@pytest.mark.parametrize("shuffle, batch_size, drop_last", [(False, 4, False), (True, 3, True), (False, None, False)])
def test_the_loader_s_samplers_iterator_and_dataset_attributes_as_pytorchs(shuffle, batch_size, drop_last):
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (cr, torch):
        ds = lib.utils.data.TensorDataset(lib.tensor(X), lib.tensor(Y))
        loader = lib.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last)
        sampler, batches = loader.sampler, loader.batch_sampler
        seen.append((type(sampler).__name__, len(sampler), sorted(sampler),
                     None if batches is None else (type(batches).__name__, len(batches), batches.batch_size,
                                                   batches.drop_last, batches.sampler is sampler),
                     len(iter(loader)), [t.numpy().tolist() for t in ds.tensors],
                     lib.utils.data.ConcatDataset([ds, ds]).cumulative_sizes))
    assert seen[0] == seen[1]


def test_random_split_gives_subsets_of_python_int_indices_as_pytorchs():
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (cr, torch):
        ds = lib.utils.data.TensorDataset(lib.tensor(X), lib.tensor(Y))
        parts = lib.utils.data.random_split(ds, [7, 3])
        sub = lib.utils.data.Subset(ds, [4, 1])
        seen.append(([type(i) for p in parts for i in p.indices], sorted(i for p in parts for i in p.indices),
                     sub.indices, sub[1][1].item(), [t.tolist() for t in sub[[0, 1]]]))
    assert seen[0] == seen[1]


def test_pytorch_s_submodule_paths_of_data_and_autograd_import():
    import chainrule.utils.data.dataloader as loader_module
    from chainrule.autograd import enable_grad, inference_mode, no_grad, set_grad_enabled
    from chainrule.autograd.grad_mode import no_grad as no_grad_too
    from chainrule.utils.data.dataset import Dataset as D
    from chainrule.utils.data.sampler import Sampler as S

    torch = pytest.importorskip("torch")
    import torch.utils.data.dataloader as torch_loader_module

    assert {"DataLoader", "default_collate"} <= set(dir(loader_module)) & set(dir(torch_loader_module))
    assert D is Dataset and S is cr.data.Sampler and loader_module.DataLoader is DataLoader
    assert (no_grad, enable_grad, set_grad_enabled, inference_mode) == (
        cr.no_grad, cr.enable_grad, cr.set_grad_enabled, cr.inference_mode) and no_grad_too is cr.no_grad
    assert torch.autograd.grad_mode.no_grad is torch.no_grad and torch.autograd.inference_mode is torch.inference_mode


@pytest.mark.parametrize("options, message", [
    (dict(num_workers=2, prefetch_factor=-1), "prefetch_factor"),
    (dict(num_workers=2, prefetch_factor=0), "prefetch_factor"),
    (dict(timeout=1.5), "timeout"),
    (dict(multiprocessing_context="spawn"), "multiprocessing_context"),
    (dict(num_workers=1, multiprocessing_context="threads"), "multiprocessing_context"),
    (dict(batch_size=3, drop_last=1), "drop_last"),
])
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # PyTorch's half-made iterator
def test_worker_options_pytorch_refuses_are_refused(options, message):
    torch = pytest.importorskip("torch")
    with pytest.raises((ValueError, AssertionError)):  # at construction, or the first batch (timeout, 0)
        next(iter(torch.utils.data.DataLoader(list(range(10)), **options)))
    with pytest.raises(ValueError, match=message):
        DataLoader(list(range(10)), **options)


def test_prefetch_factor_defaults_to_pytorchs_with_workers():
    torch = pytest.importorskip("torch")
    for workers in (0, 2):
        theirs = torch.utils.data.DataLoader(list(range(4)), num_workers=workers).prefetch_factor
        assert DataLoader(list(range(4)), num_workers=workers).prefetch_factor == theirs


@pytest.mark.parametrize("n, lengths", [(10, [2.5, 7.5]), (0, [0.5, 0.6]), (0, [0.4, 0.4]), (4, [1.5, 2.5]),
                                        (3, [0.9, 2.1])])
def test_random_split_refuses_lengths_that_are_neither_sizes_nor_fractions_as_pytorch(n, lengths):
    torch = pytest.importorskip("torch")
    with pytest.raises((ValueError, TypeError)):  # PyTorch's sum check, or its randperm of a float
        torch.utils.data.random_split(list(range(n)), lengths)
    with pytest.raises(ValueError, match="random_split: length"):  # not cut down to whole sizes
        random_split(list(range(n)), lengths)
    assert [len(p) for p in random_split(list(range(n)), [n - 1.0, 1.0] if n else [0, 0])] == (
        [len(p) for p in torch.utils.data.random_split(list(range(n)), [n - 1, 1] if n else [0, 0])])


@pytest.mark.parametrize("arrays", [(np.array(3.0),), (np.array(3.0), np.arange(3)), (np.arange(3), np.array(1))])
def test_a_tensor_dataset_of_a_0d_array_is_refused_as_pytorchs(arrays):
    torch = pytest.importorskip("torch")
    with pytest.raises(IndexError):  # PyTorch's: a 0-d tensor has no dimension 0 to count samples along
        torch.utils.data.TensorDataset(*(torch.as_tensor(a) for a in arrays))
    with pytest.raises(ValueError, match="same length, got .*'scalar'"):
        TensorDataset(*arrays)

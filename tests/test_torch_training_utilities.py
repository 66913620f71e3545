"""Training utilities one call at a time, each written once as a function of the library
and run with PyTorch and with chainrule: data loading (samplers given whole batches,
``__getitems__``, subclasses' ``__getitem__``, collation, unbatched samples, loader
options), schedules (warm restarts stepped by fractions then whole epochs, SequentialLR with
a rate set by hand, SWALR resumed), ``ReduceLROnPlateau`` as an ``LRScheduler``, generator
state, ``bincount``; and wrong uses, which raise as PyTorch's do. Whole training programs
are in ``test_torch_programs_training``."""

import warnings

import numpy as np
import pytest

import chainrule
from test_torch_programs import _values

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _loader_values(lib, dataset, **kw):
    return [[t.tolist() for t in b] if isinstance(b, list | tuple) else b.tolist()
            for b in lib.utils.data.DataLoader(dataset, **kw)]


def _augmented(lib):
    """A TensorDataset subclass whose __getitem__ augments, as users write one."""
    class Augmented(lib.utils.data.TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x * 2 + 1, y
    return _loader_values(lib, Augmented(lib.arange(4.0).reshape(4, 1), lib.arange(4)), batch_size=3)


def _getitems(lib):
    """A dataset read a batch at a time by __getitems__ (Hugging Face datasets' way)."""
    class Batched(lib.utils.data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            raise AssertionError("read one by one")

        def __getitems__(self, indices):
            return [(float(i), i * 10) for i in indices]
    data = lib.utils.data
    return [_loader_values(lib, Batched(), batch_size=2),
            _loader_values(lib, data.Subset(Batched(), [4, 0, 2]), batch_size=2),
            _loader_values(lib, Batched(), batch_sampler=[[3, 1], [0]])]


def _batch_sampler_as_sampler(lib):
    """A sampler of whole batches with batch_size=None: the dataset indexed by each list."""
    data = lib.utils.data
    ds = data.TensorDataset(lib.arange(12.0).reshape(6, 2), lib.arange(6))
    return _loader_values(lib, ds, sampler=data.BatchSampler(data.SequentialSampler(ds), 4, False), batch_size=None)


def _collate_containers(lib):
    from collections import OrderedDict
    collate = lib.utils.data.default_collate
    mapping = collate([OrderedDict(b=np.float32(1), a=2), OrderedDict(b=np.float32(3), a=4)])
    x = lib.ones(2, requires_grad=True)
    stacked = collate([x * 2, x * 3])
    stacked.sum().backward()
    return [type(mapping).__name__, list(mapping), mapping["b"], stacked, x.grad]


def _fractions_split(lib):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sizes = [[len(s) for s in lib.utils.data.random_split(range(n), lengths)]
                 for n, lengths in ((10, [1, 0]), (5, [0.5, 0.5, 0.0]), (7, [0.25, 0.75]))]
    return sizes, [str(w.message) for w in caught]


def _generator_resumed(lib):
    """A data order resumed from the loader's generator's saved state."""
    g = lib.Generator().manual_seed(3)
    loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(lib.arange(8.0)), batch_size=3, shuffle=True,
                                       generator=g)
    state = g.get_state()
    first = [b.tolist() for (b,) in loader]
    g.set_state(state)
    return [first == [b.tolist() for (b,) in loader], first != [b.tolist() for (b,) in loader]]


def _plateau_is_a_scheduler(lib):
    plateau = lib.optim.lr_scheduler.ReduceLROnPlateau(lib.optim.SGD(lib.nn.Linear(2, 2).parameters(), lr=1.0))
    return [isinstance(plateau, lib.optim.lr_scheduler.LRScheduler)]


def _warm_restarts_fraction_then_whole(lib):
    """Fractions of an epoch (per batch), then whole steps: T_cur moves on from the fraction."""
    opt = lib.optim.SGD(lib.nn.Linear(2, 2).parameters(), lr=1.0)
    sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=0.01)
    seen = []
    for epoch in [0.5, 1.25, None, None, 6.75, None]:
        opt.step()
        sched.step(epoch)
        seen.append([*sched.get_last_lr(), sched.T_cur, sched.T_i, sched.last_epoch])
    return seen


def _unbatched(lib):
    """batch_size=None: each sample converted as PyTorch's default_convert does."""
    class Pairs(lib.utils.data.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.arange(3.0) * i, np.float64(i / 2), "name"
    return [[type(sample).__name__, [type(f).__name__ for f in sample], sample[:2]]
            for sample in lib.utils.data.DataLoader(Pairs(), batch_size=None)]


def _bincount_of_float32_weights(lib):
    """A class-weighted count (torchmetrics' way) keeps float32 weights' dtype."""
    counts = lib.bincount(lib.tensor([0, 2, 2]), weights=lib.tensor([0.5, 1.0, 2.0], dtype=lib.float32), minlength=4)
    doubles = lib.tensor([1, 1]).bincount(lib.tensor([1, 2]))  # integer weights: float64
    return [counts, counts.dtype == lib.float32, doubles.dtype == lib.float64]


def _sequential_rate_set_by_hand(lib):
    """A warm-up then decays, the rate set by hand between (as a manual plateau cut does):
    a multiplicative schedule carries on from it, a milestone restarts from the closed form."""
    opt = lib.optim.SGD(lib.nn.Linear(2, 2).parameters(), lr=1.0)
    S = lib.optim.lr_scheduler
    sched = S.SequentialLR(opt, [S.LinearLR(opt, 0.1, total_iters=3), S.CosineAnnealingLR(opt, T_max=4, eta_min=0.01),
                                 S.ExponentialLR(opt, 0.5)], milestones=[3, 7])
    seen = []
    for step in range(10):
        if step in (1, 5, 8):
            opt.param_groups[0]["lr"] *= 0.3
        opt.step()
        sched.step()
        seen.append(sched.get_last_lr())
    return seen


def _loader_options(lib):
    """The options a trainer reads back from a loader (to rebuild it, or warn of them)."""
    loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(lib.zeros(4)), batch_size=2, pin_memory=True,
                                       drop_last=True)
    unbatched = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(lib.zeros(4)), batch_size=None)
    return [loader.num_workers, loader.pin_memory, loader.timeout, loader.prefetch_factor, loader.persistent_workers,
            loader.worker_init_fn is None, loader.multiprocessing_context is None, loader.pin_memory_device,
            loader.collate_fn is lib.utils.data.default_collate, unbatched.collate_fn.__name__]


def _swalr_resumed(lib):
    """SWALR resumed from a state_dict anneals with the saved strategy."""
    def make(strategy):
        opt = lib.optim.SGD(lib.nn.Linear(2, 2).parameters(), lr=1.0)
        return opt, lib.optim.swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=4, anneal_strategy=strategy)
    opt, sched = make("linear")
    for _ in range(2):
        opt.step()
        sched.step()
    opt2, resumed = make("cos")
    opt2.load_state_dict(opt.state_dict())
    resumed.load_state_dict(sched.state_dict())
    seen = []
    for _ in range(3):
        opt2.step()
        resumed.step()
        seen.append(resumed.get_last_lr())
    return seen


def _weights_replaced(lib):
    """A curriculum replaces a WeightedRandomSampler's weights (a float64 Tensor) between passes."""
    sampler = lib.utils.data.WeightedRandomSampler([1.0, 2.0, 3.0], 4)
    before = [type(sampler.weights).__name__, sampler.weights, sampler.weights.dtype == lib.float64]
    sampler.weights = lib.tensor([0.0, 0.0, 1.0], dtype=lib.float64)
    return before + [list(sampler)]


SAME = {
    "swalr_resumed": _swalr_resumed,
    "weights_replaced": _weights_replaced,
    "loader_options": _loader_options,
    "sequential_rate_set_by_hand": _sequential_rate_set_by_hand,
    "bincount_of_float32_weights": _bincount_of_float32_weights,
    "unbatched": _unbatched,
    "warm_restarts_fraction_then_whole": _warm_restarts_fraction_then_whole,
    "generator_resumed": _generator_resumed,
    "plateau_is_a_scheduler": _plateau_is_a_scheduler,
    "tensor_dataset_subclass": _augmented,
    "getitems": _getitems,
    "batch_sampler_as_sampler": _batch_sampler_as_sampler,
    "collate_containers": _collate_containers,
    "fractions_split": _fractions_split,
}


@pytest.mark.parametrize("name", sorted(SAME))
def test_utilities_give_pytorchs_values(name):
    theirs, ours = _values(SAME[name](torch)), _values(SAME[name](chainrule))
    assert len(ours) == len(theirs)
    for x, y in zip(ours, theirs, strict=True):
        if y.dtype.kind == "f":
            np.testing.assert_allclose(x, y, rtol=1e-12)
        else:
            assert x.tolist() == y.tolist()


def _dataloader(lib, **kw):
    return lib.utils.data.DataLoader(lib.utils.data.TensorDataset(lib.arange(6.0)), **kw)


def _linear(lib):
    return lib.nn.Linear(2, 2)


RAISE = {
    "bincount_negative": (RuntimeError, lambda lib: lib.bincount(lib.tensor([-1, 2]))),
    "bincount_2d": (RuntimeError, lambda lib: lib.bincount(lib.tensor([[1, 2]]))),
    "bincount_of_floats": (RuntimeError, lambda lib: lib.tensor([1.0, 2.0]).bincount()),
    "bincount_weights_of_another_length": (RuntimeError, lambda lib: lib.bincount(lib.tensor([1]), lib.ones(2))),
    "ema_decay_above_one": (ValueError, lambda lib: lib.optim.swa_utils.get_ema_multi_avg_fn(1.5)),
    "ema_decay_negative": (ValueError, lambda lib: lib.optim.swa_utils.get_ema_avg_fn(-0.1)),
    "two_averaging_functions": ((AssertionError, ValueError), lambda lib: lib.optim.swa_utils.AveragedModel(
        _linear(lib), avg_fn=lib.optim.swa_utils.get_ema_avg_fn(),
        multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn())),
    "plateau_unknown_mode": (ValueError, lambda lib: lib.optim.lr_scheduler.ReduceLROnPlateau(
        lib.optim.SGD(_linear(lib).parameters()), mode="maximum")),
    "params_in_a_set": (TypeError, lambda lib: lib.optim.SGD([{"params": set(_linear(lib).parameters())}], lr=0.1)),
    "names_for_some_params": (ValueError, lambda lib: lib.optim.SGD(
        [("w", _linear(lib).weight), _linear(lib).bias], lr=0.1)),
    "named_and_unnamed_groups": (ValueError, lambda lib: lib.optim.SGD(
        [{"params": _linear(lib).named_parameters()}, {"params": _linear(lib).parameters()}], lr=0.1)),
    "collate_none": (TypeError, lambda lib: lib.utils.data.default_collate([None, None])),
    "collate_set": (TypeError, lambda lib: lib.utils.data.default_collate([{1}, {2}])),
    "collate_strings_array": (TypeError, lambda lib: lib.utils.data.default_collate([np.array(["a"])] * 2)),
    "collate_unequal_shapes": (RuntimeError, lambda lib: lib.utils.data.default_collate([np.zeros(2), np.zeros(3)])),
    "split_fraction_out_of_range": (ValueError, lambda lib: lib.utils.data.random_split(range(5), [1.2, -0.2])),
    "split_wrong_sum": (ValueError, lambda lib: lib.utils.data.random_split(range(5), [0.5, 0.6])),
    "concat_nothing": ((AssertionError, ValueError), lambda lib: lib.utils.data.ConcatDataset([])),
    "persistent_without_workers": (ValueError, lambda lib: _dataloader(lib, persistent_workers=True)),
    "prefetch_without_workers": (ValueError, lambda lib: _dataloader(lib, prefetch_factor=2)),
    "negative_timeout": (ValueError, lambda lib: _dataloader(lib, timeout=-1)),
    "negative_workers": (ValueError, lambda lib: _dataloader(lib, num_workers=-1)),
    "unbatched_drop_last": (ValueError, lambda lib: _dataloader(lib, batch_size=None, drop_last=True)),
    "sampler_no_samples": (ValueError, lambda lib: lib.utils.data.RandomSampler(range(3), num_samples=0)),
    "sampler_replacement_not_bool": (TypeError, lambda lib: lib.utils.data.RandomSampler(range(3), replacement=1)),
}


@pytest.mark.parametrize("name", sorted(RAISE))
def test_wrong_use_raises_as_pytorch(name):
    error, use = RAISE[name]
    for lib in (torch, chainrule):
        with pytest.raises(error):
            use(lib)

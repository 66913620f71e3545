"""Training utilities one call at a time, each written once as a function of the library
and run with PyTorch and with chainrule: data loading (samplers given whole batches,
``__getitems__``, subclasses' ``__getitem__``, collation, unbatched samples, loader
options), schedules (warm restarts stepped by fractions then whole epochs, SequentialLR with
a rate set by hand, SWALR resumed), ``ReduceLROnPlateau`` as an ``LRScheduler``, generator
state, ``bincount``; two short programs (a schedule of one's own copied from pl_bolts,
hooks on the optimizer); and wrong uses, which raise as PyTorch's do. Whole training
programs are in ``test_torch_programs_training``."""

import warnings

import numpy as np
import pytest

import chainrule
from test_torch_programs import _values
from test_torch_programs_training import _compare

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# short programs, run as test_torch_programs_training runs its own
PROGRAMS: dict[str, str] = {}

# pl_bolts' LinearWarmupCosineAnnealingLR, a schedule of one's own as Lightning users copy it:
# get_lr checks _get_lr_called_within_step and moves the group's rate recursively; a jump by
# step(epoch) takes its _get_closed_form_lr
PROGRAMS["bolts_warmup_cosine"] = '''
import math
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import _LRScheduler

torch.set_default_dtype(torch.float64)


class LinearWarmupCosineAnnealingLR(_LRScheduler):
    def __init__(self, optimizer, warmup_epochs, max_epochs, warmup_start_lr=0.0, eta_min=0.0, last_epoch=-1):
        self.warmup_epochs = warmup_epochs
        self.max_epochs = max_epochs
        self.warmup_start_lr = warmup_start_lr
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use `get_last_lr()`.")
        if self.last_epoch == 0:
            return [self.warmup_start_lr] * len(self.base_lrs)
        if self.last_epoch < self.warmup_epochs:
            return [group["lr"] + (base_lr - self.warmup_start_lr) / (self.warmup_epochs - 1)
                    for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups)]
        if self.last_epoch == self.warmup_epochs:
            return self.base_lrs
        span = self.max_epochs - self.warmup_epochs
        if (self.last_epoch - 1 - self.max_epochs) % (2 * span) == 0:
            return [group["lr"] + (base_lr - self.eta_min) * (1 - math.cos(math.pi / span)) / 2
                    for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups)]
        return [(1 + math.cos(math.pi * (self.last_epoch - self.warmup_epochs) / span))
                / (1 + math.cos(math.pi * (self.last_epoch - self.warmup_epochs - 1) / span))
                * (group["lr"] - self.eta_min) + self.eta_min for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        if self.last_epoch < self.warmup_epochs:
            return [self.warmup_start_lr
                    + self.last_epoch * (base_lr - self.warmup_start_lr) / max(1, self.warmup_epochs - 1)
                    for base_lr in self.base_lrs]
        span = self.max_epochs - self.warmup_epochs
        return [self.eta_min + 0.5 * (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * (self.last_epoch - self.warmup_epochs) / span))
                for base_lr in self.base_lrs]


def build():
    return nn.Linear(3, 2)


def data(rng):
    return [(torch.tensor(rng.normal(size=(4, 3))), torch.tensor(rng.normal(size=(4, 2)))) for _ in range(2)]


def train(model, batches):
    opt = torch.optim.AdamW([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.02}], lr=0.05)
    sched = LinearWarmupCosineAnnealingLR(opt, warmup_epochs=3, max_epochs=8, warmup_start_lr=0.001, eta_min=1e-4)
    out = [sched.get_last_lr()]
    for epoch in range(9):
        for x, y in batches:
            opt.zero_grad()
            F.mse_loss(model(x), y).backward()
            opt.step()
        if epoch == 5:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sched.step(7)  # a jump, by the closed form
        else:
            sched.step()
        out.append(sched.get_last_lr())
    return out
'''

# Hooks on the optimizer as libraries use them: an EMA updated by a step post-hook, a pre-hook
# that counts steps, a global post-hook (removed after), state_dict hooks that add and strip
# an entry of their own
PROGRAMS["optimizer_hooks"] = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.optimizer import register_optimizer_step_post_hook
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

torch.set_default_dtype(torch.float64)


def build():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))


def data(rng):
    return [(torch.tensor(rng.normal(size=(4, 3))), torch.tensor(rng.normal(size=(4, 1)))) for _ in range(3)]


def train(model, batches):
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    seen = []
    opt.register_step_pre_hook(lambda o, args, kwargs: seen.append(("pre", len(args), len(kwargs))))
    opt.register_step_post_hook(lambda o, args, kwargs: ema.update_parameters(model))
    handle = register_optimizer_step_post_hook(lambda o, args, kwargs: seen.append(("global", o.param_groups[0]["lr"])))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "ema_steps": int(ema.n_averaged)})

    def drop_extra(o, sd):
        seen.append(("load", sd.pop("ema_steps")))
        return sd
    opt.register_load_state_dict_pre_hook(drop_extra)
    opt.register_load_state_dict_post_hook(lambda o: seen.append(("loaded",)))
    for i, (x, y) in enumerate(batches * 2):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        if i == 2:
            handle.remove()
            opt.load_state_dict(opt.state_dict())
    with torch.no_grad():
        return [len(seen), [v for entry in seen for v in entry[1:]], ema(batches[0][0]), ema.state_dict()]
'''


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_short_program_gives_pytorchs_values(name):
    _compare(PROGRAMS[name])


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


def _typed_dataset(lib):
    """Datasets and samplers annotated with their sample type, as typed code writes them."""
    data = lib.utils.data

    class Pairs(data.Dataset[tuple[int, int]]):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return i, 10 * i

    class Backwards(data.Sampler[int]):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n - 1, -1, -1))

        def __len__(self):
            return self.n

    class Stream(data.IterableDataset[int]):
        def __iter__(self):
            return iter(range(3))

    loader: data.DataLoader[tuple[int, int]] = data.DataLoader(Pairs(), batch_size=2, sampler=Backwards(3))
    return [[[t.tolist() for t in b] for b in loader], [b.tolist() for b in data.DataLoader(Stream(), batch_size=2)],
            isinstance(Pairs(), data.Dataset)]


SAME = {
    "typed_dataset": _typed_dataset,
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

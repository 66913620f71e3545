"""Training utilities as PyTorch users and Lightning-style trainers write them, trimmed (tiny
sizes, a few steps): stochastic weight averaging and EMA (``torch.optim.swa_utils``),
schedules combined per batch and per epoch and resumed from their state_dicts, parameter
groups (no weight decay on biases and norms, a group added to fine-tune), gradient
accumulation, early stopping with a best checkpoint, metrics by ``bincount``, and
``torch.utils.data`` pipelines (splits, samplers, collation). Each runs with PyTorch and
with ``import torch`` read as ``import chainrule as torch``, from PyTorch's initial weights
(see ``test_torch_programs``). chainrule's samplers draw NumPy's numbers (docs/training.md,
"Initialisation and seeding"), so the orders PyTorch's samplers and ``random_split`` draw
are recorded and given to chainrule's run in the same order."""

import contextlib
import warnings

import numpy as np
import pytest

import chainrule
import chainrule.data.dataset
import chainrule.data.sampler
from test_torch_programs import _run, _values

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class _Replay:
    """A generator whose draws are PyTorch's, recorded: each permutation or weighted
    draw chainrule's data module asks for is the next one PyTorch's made (checked to be
    of the same size)."""

    def __init__(self, draws):
        self._draws = draws

    def _next(self, kind, size):
        theirs_kind, theirs = next(self._draws)
        assert (theirs_kind, len(theirs)) == (kind, size), (theirs_kind, len(theirs), kind, size)
        return np.array(theirs, dtype=np.int64)

    def permutation(self, n):
        return self._next("perm", n)

    def choice(self, n, size, replace=True, p=None):
        return self._next("weighted", size)


@contextlib.contextmanager
def _orders(lib, draws: list):
    """PyTorch's sampling orders appended to ``draws``; chainrule's replaced by them."""
    with pytest.MonkeyPatch.context() as mp:
        if lib is torch:
            def record(real, kind):
                def draw(*args, **kwargs):
                    out = real(*args, **kwargs)
                    draws.append((kind, out.tolist()))
                    return out
                return draw

            def shuffle(real):  # a pass's order (its last, empty, randperm left out)
                def order(self):
                    out = list(real(self))
                    draws.append(("perm", out))
                    return iter(out)
                return order

            mp.setattr(torch.utils.data.dataset, "randperm", record(torch.randperm, "perm"))
            mp.setattr(torch, "multinomial", record(torch.multinomial, "weighted"))
            mp.setattr(torch.utils.data.RandomSampler, "__iter__", shuffle(torch.utils.data.RandomSampler.__iter__))
        else:
            replay = _Replay(iter(list(draws)))
            for module in (chainrule.data.dataset, chainrule.data.sampler):
                mp.setattr(module, "get_generator", lambda *args, **kwargs: replay)
        yield


def _compare(source):
    draws: list = []
    with _orders(torch, draws):
        start, theirs, their_end = _run(source, "torch")
    with warnings.catch_warnings(record=True) as caught, _orders(None, draws):
        warnings.simplefilter("always")
        _, ours, our_end = _run(source, "chainrule", weights=start)
    assert not [str(w.message) for w in caught if "chainrule" in w.filename]
    a, b = _values(ours), _values(theirs)
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if y.dtype.kind in "USO":  # names, types
            assert x.tolist() == y.tolist(), i
        else:
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-10, err_msg=str(i))
    assert list(our_end) == list(their_end)
    for k in their_end:
        np.testing.assert_allclose(our_end[k], their_end[k], rtol=1e-9, atol=1e-10, err_msg=k)


PROGRAMS: dict[str, str] = {}

# SWA as in PyTorch's docs: a cosine schedule, then AveragedModel + SWALR from swa_start,
# update_bn over the loader at the end; an EMA of parameters and buffers
# (get_ema_multi_avg_fn, use_buffers=True) and one by avg_fn, updated every batch
PROGRAMS["swa_and_ema"] = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import (AveragedModel, SWALR, update_bn, get_ema_multi_avg_fn, get_ema_avg_fn,
                                   get_swa_multi_avg_fn)
from torch.utils.data import DataLoader, TensorDataset

torch.set_default_dtype(torch.float64)


def build():
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def data(rng):
    x = torch.tensor(rng.normal(size=(12, 4)))
    y = torch.tensor(rng.integers(0, 3, size=12))
    return DataLoader(TensorDataset(x, y), batch_size=4)


def train(model, loader):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    swa_model = AveragedModel(model)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.999), use_buffers=True)
    ema2 = AveragedModel(model, avg_fn=get_ema_avg_fn(0.9))
    swa2 = AveragedModel(model, multi_avg_fn=get_swa_multi_avg_fn())
    swa_sched = SWALR(opt, swa_lr=0.05, anneal_epochs=2, anneal_strategy="linear")
    out = []
    for epoch in range(5):
        model.train()
        for x, y in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            ema.update_parameters(model)
            ema2.update_parameters(model)
            out.append(loss.item())
        if epoch >= 2:
            swa_model.update_parameters(model)
            swa2.update_parameters(model)
            swa_sched.step()
        else:
            sched.step()
        out.append(opt.param_groups[0]["lr"])
        out.append(swa_sched.get_last_lr())
    update_bn(loader, swa_model)
    swa_model.eval()
    ema.eval()
    x0 = next(iter(loader))[0]
    with torch.no_grad():
        preds = [swa_model(x0), ema(x0), ema2(x0)]
    return (out, preds, swa_model.state_dict(), ema.state_dict(), dict(ema2.state_dict()), swa2.state_dict(),
            int(swa_model.n_averaged))
'''

# SWALR's cosine annealing with two parameter groups and their own swa_lrs, swa_lr reached
# and held; update_bn with a loader of bare tensors and a model with two batch norms
PROGRAMS["swalr_cos_groups"] = '''
import torch
import torch.nn as nn
from torch.optim.swa_utils import AveragedModel, SWALR, update_bn

torch.set_default_dtype(torch.float64)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.bn = nn.BatchNorm2d(3)
        self.fc = nn.Linear(12, 2)
        self.bn1 = nn.BatchNorm1d(2, momentum=0.3)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return self.bn1(self.fc(x.flatten(1)))


def build():
    return Net()


def data(rng):
    return [torch.tensor(rng.normal(size=(3, 1, 4, 4))) for _ in range(3)]


def train(model, batches):
    opt = torch.optim.SGD([{"params": model.conv.parameters()},
                           {"params": list(model.fc.parameters()) + list(model.bn.parameters()), "lr": 0.2}],
                          lr=0.1)
    swa = AveragedModel(model)
    sched = SWALR(opt, swa_lr=[0.01, 0.02], anneal_epochs=3, anneal_strategy="cos")
    lrs = []
    for epoch in range(5):
        for x in batches:
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step()
        swa.update_parameters(model)
        sched.step()
        lrs.append(sched.get_last_lr())
    update_bn(batches, swa)
    bufs = {k: v for k, v in swa.state_dict().items()}
    swa.eval()
    with torch.no_grad():
        return lrs, bufs, swa(batches[0]), model.bn.running_mean
'''

# A Lightning-style loop: AdamW with no weight decay on biases and norms (split by name),
# OneCycleLR three-phase cycling Adam's beta1, gradient accumulation (loss / accum_steps),
# clipping, zero_grad(set_to_none=False) so that a head unused in a step still decays
PROGRAMS["onecycle_accumulation"] = '''
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(5, 8), nn.LayerNorm(8), nn.GELU())
        self.head_a = nn.Linear(8, 2)
        self.head_b = nn.Linear(8, 2)

    def forward(self, x, use_b):
        h = self.body(x)
        return self.head_b(h) if use_b else self.head_a(h)


def build():
    return TwoHeads()


def data(rng):
    return [(torch.tensor(rng.normal(size=(4, 5))), torch.tensor(rng.normal(size=(4, 2)))) for _ in range(6)]


def configure_optimizers(model, total_steps):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim == 1 or name.endswith(".bias") else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                             {"params": no_decay, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[1e-2, 5e-3], total_steps=total_steps, pct_start=0.3, three_phase=True,
        cycle_momentum=True, base_momentum=0.8, max_momentum=0.95, div_factor=10, final_div_factor=100)
    return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def train(model, batches):
    accum = 2
    conf = configure_optimizers(model, len(batches) * 3 // accum)
    opt, sched = conf["optimizer"], conf["lr_scheduler"]["scheduler"]
    out = []
    opt.zero_grad(set_to_none=False)
    step = 0
    for epoch in range(3):
        for i, (x, y) in enumerate(batches):
            loss = F.mse_loss(model(x, use_b=step % 2 == 1), y) / accum
            loss.backward()
            out.append(loss.item())
            if (i + 1) % accum == 0:
                norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
                opt.step()
                sched.step()
                step += 1
                out.append([norm, *sched.get_last_lr(), opt.param_groups[0]["betas"][0],
                            opt.param_groups[1]["betas"][1]])
                opt.zero_grad(set_to_none=False)
                out.append([-1.0 if p.grad is None else float(p.grad.abs().sum()) for p in model.parameters()])
    opt.zero_grad()
    out.append([p.grad is None for p in model.parameters()])
    out.append(opt.state_dict()["param_groups"][1]["weight_decay"])
    return out
'''

# AdamW given named_parameters() (PyTorch keeps the names in each group's param_names), the
# decay split made on the names, a checkpoint of the optimizer resumed into a fresh one
PROGRAMS["named_parameter_groups"] = '''
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def build():
    return nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Tanh(), nn.Linear(4, 2))


def data(rng):
    return [(torch.tensor(rng.normal(size=(5, 3))), torch.tensor(rng.normal(size=(5, 2)))) for _ in range(3)]


def make(model):
    named = list(model.named_parameters())
    return torch.optim.AdamW([
        {"params": [(n, p) for n, p in named if p.ndim > 1], "weight_decay": 0.1},
        {"params": [(n, p) for n, p in named if p.ndim <= 1], "weight_decay": 0.0},
    ], lr=0.01)


def train(model, batches):
    opt = make(model)
    out = [[g["param_names"] for g in opt.param_groups]]
    for i, (x, y) in enumerate(batches * 2):
        if i == 3:
            saved = copy.deepcopy(opt.state_dict())
            opt = make(model)
            opt.load_state_dict(saved)
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        out.append(loss.item())
    out.append([g["param_names"] for g in opt.state_dict()["param_groups"]])
    plain = torch.optim.SGD(model.named_parameters(), lr=0.1)
    out.append(plain.param_groups[0]["param_names"])
    return out
'''

# Learned inputs (dataset distillation's way): a TensorDataset of a Tensor that needs its
# gradient, batched by a DataLoader, the loss differentiated back to the inputs
PROGRAMS["learned_inputs"] = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.set_default_dtype(torch.float64)


def build():
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


def data(rng):
    return rng.normal(size=(5, 3)), torch.tensor(rng.integers(0, 2, size=5))


def train(model, inputs):
    x, y = inputs
    synthetic = torch.tensor(x, requires_grad=True)
    opt = torch.optim.Adam([synthetic], lr=0.1)
    out = []
    for _ in range(3):
        opt.zero_grad()
        ds = TensorDataset(synthetic, y)
        out.append([ds[1][0], ds.tensors[0].requires_grad])
        for xb, yb in DataLoader(ds, batch_size=2):
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            out.append(loss.item())
        out.append(synthetic.grad.clone())
        opt.step()
    return out, synthetic
'''

# Per-batch cyclic schedules: CyclicLR triangular2 cycling SGD's momentum, then exp_range,
# then a ChainedScheduler of ConstantLR and ExponentialLR, each on a new optimizer
PROGRAMS["cyclic_and_chained"] = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import CyclicLR, ChainedScheduler, ConstantLR, ExponentialLR

torch.set_default_dtype(torch.float64)


def build():
    return nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 1))


def data(rng):
    return [(torch.tensor(rng.normal(size=(5, 3))), torch.tensor(rng.normal(size=(5, 1)))) for _ in range(4)]


def run(model, batches, opt, sched, epochs):
    seen = []
    for _ in range(epochs):
        for x, y in batches:
            opt.zero_grad()
            loss = F.smooth_l1_loss(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            g = opt.param_groups[0]
            seen.append([loss.item(), g["lr"], g.get("momentum", 0.0), *sched.get_last_lr()])
    return seen


def train(model, batches):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    tri2 = CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2, step_size_down=3, mode="triangular2",
                    base_momentum=0.8, max_momentum=0.9)
    out = run(model, batches, opt, tri2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    exp = CyclicLR(opt, base_lr=[0.02], max_lr=0.2, step_size_up=3, mode="exp_range", gamma=0.95,
                   cycle_momentum=False)
    out += run(model, batches, opt, exp, 2)
    opt = torch.optim.RMSprop(model.parameters(), lr=0.01)
    chained = ChainedScheduler([ConstantLR(opt, factor=0.5, total_iters=3), ExponentialLR(opt, gamma=0.8)])
    out += run(model, batches, opt, chained, 2)
    return out
'''

# Per-batch warm restarts with fractional epochs (scheduler.step(epoch + i / iters)), then a
# checkpoint mid-training (model, optimizer, scheduler state_dicts, deep-copied) that a
# fresh optimizer and scheduler resume from; SequentialLR (warm-up, then step decay) and
# PolynomialLR resumed the same way
PROGRAMS["restarts_and_resume"] = '''
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import (CosineAnnealingWarmRestarts, LinearLR, PolynomialLR, SequentialLR,
                                      StepLR)

torch.set_default_dtype(torch.float64)


def build():
    return nn.Sequential(nn.Linear(3, 4), nn.SiLU(), nn.Linear(4, 2))


def data(rng):
    return [(torch.tensor(rng.normal(size=(4, 3))), torch.tensor(rng.integers(0, 2, size=4))) for _ in range(3)]


def epoch_loop(model, batches, opt, sched, epoch, per_batch_fraction):
    seen = []
    iters = len(batches)
    for i, (x, y) in enumerate(batches):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if per_batch_fraction:
            sched.step(epoch + i / iters)
        seen.append([loss.item(), *sched.get_last_lr()])
    if not per_batch_fraction:
        sched.step()
    return seen


def make(model, kind):
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-3)
    if kind == "restarts":
        sched = CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=1e-3)
    elif kind == "sequential":
        sched = SequentialLR(opt, [LinearLR(opt, start_factor=0.25, total_iters=2), StepLR(opt, 2, gamma=0.5)],
                             milestones=[2])
    else:
        sched = PolynomialLR(opt, total_iters=6, power=2.0)
    return opt, sched


def train(model, batches):
    out = []
    for kind in ("restarts", "sequential", "poly"):
        opt, sched = make(model, kind)
        for epoch in range(3):
            out += epoch_loop(model, batches, opt, sched, epoch, kind == "restarts")
        ckpt = copy.deepcopy({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                              "epoch": 3})
        for epoch in range(3, 5):  # run on, then resume from the checkpoint
            out += epoch_loop(model, batches, opt, sched, epoch, kind == "restarts")
        after = copy.deepcopy(model.state_dict())
        model.load_state_dict(ckpt["model"])
        opt, sched = make(model, kind)
        opt.load_state_dict(ckpt["opt"])
        sched.load_state_dict(ckpt["sched"])
        out.append(sched.get_last_lr())
        for epoch in range(ckpt["epoch"], 5):
            out += epoch_loop(model, batches, opt, sched, epoch, kind == "restarts")
        out.append([torch.equal(after[k], v) for k, v in model.state_dict().items()])
    return out
'''

# Early stopping on validation accuracy with ReduceLROnPlateau(mode="max",
# threshold_mode="abs", cooldown), the best weights kept by copy.deepcopy(model.state_dict())
# and restored; accuracy, a confusion matrix by bincount, per-class precision and recall
PROGRAMS["early_stopping_metrics"] = '''
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.utils.data import DataLoader, TensorDataset

torch.set_default_dtype(torch.float64)
NUM_CLASSES = 3


def build():
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.0), nn.Linear(16, NUM_CLASSES))


def data(rng):
    x = rng.normal(size=(30, 4))
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    ds = TensorDataset(torch.tensor(x), torch.tensor(y))
    train_ds = torch.utils.data.Subset(ds, list(range(20)))
    val_ds = torch.utils.data.Subset(ds, range(20, 30))
    return DataLoader(train_ds, batch_size=6), DataLoader(val_ds, batch_size=4)


def confusion_matrix(preds, target, num_classes):
    idx = target * num_classes + preds
    return torch.bincount(idx, minlength=num_classes ** 2).reshape(num_classes, num_classes)


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    preds, targets, loss = [], [], 0.0
    for x, y in loader:
        logits = model(x)
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        preds.append(logits.argmax(dim=1))
        targets.append(y)
    preds, targets = torch.cat(preds), torch.cat(targets)
    acc = (preds == targets).float().mean().item()
    cm = confusion_matrix(preds, targets, NUM_CLASSES)
    tp = cm.diag().double()
    precision = tp / cm.sum(0).clamp(min=1)
    recall = tp / cm.sum(1).clamp(min=1)
    f1 = (2 * precision * recall / (precision + recall).clamp(min=1e-12)).mean()
    return loss / len(loader.dataset), acc, cm, precision, recall, f1


def train(model, loaders):
    train_loader, val_loader = loaders
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    sched = ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=1, threshold=0.05, threshold_mode="abs",
                              cooldown=1, min_lr=1e-3)
    best_acc, best_state, bad, patience = -1.0, None, 0, 4
    history = []
    for epoch in range(12):
        model.train()
        for x, y in train_loader:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
        val_loss, acc, cm, precision, recall, f1 = evaluate(model, val_loader)
        if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step(acc)
        history.append([val_loss, acc, cm, precision, recall, f1, sched.get_last_lr(), sched.num_bad_epochs])
        if acc > best_acc:
            best_acc, best_state, bad = acc, copy.deepcopy(model.state_dict()), 0
        else:
            bad += 1
            if bad >= patience:
                break
    history.append(epoch)
    model.load_state_dict(best_state)
    history.append(list(evaluate(model, val_loader)))
    state = sched.state_dict()
    history.append([state["best"], state["cooldown_counter"], state["last_epoch"]])
    return history
'''

# Fine-tuning: the backbone frozen (requires_grad_(False)) while the head warms up under
# LambdaLR with one lambda per group, then unfrozen and added with add_param_group at its
# own rate; get_last_lr() as the schedules report it
PROGRAMS["finetune_param_groups"] = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import LambdaLR, MultiStepLR

torch.set_default_dtype(torch.float64)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU())
        self.head = nn.Linear(5, 2)
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return self.head(self.backbone(x)) * self.scale


def build():
    return Model()


def data(rng):
    return [(torch.tensor(rng.normal(size=(6, 3))), torch.tensor(rng.normal(size=(6, 2)))) for _ in range(2)]


def step(model, opt, batches):
    losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def train(model, batches):
    model.backbone.requires_grad_(False)
    opt = torch.optim.SGD([{"params": model.head.parameters()}, {"params": [model.scale], "lr": 0.01}],
                          lr=0.1, momentum=0.9)
    sched = LambdaLR(opt, lr_lambda=[lambda e: (e + 1) / 3 if e < 3 else 1.0, lambda e: 0.9 ** e])
    out = []
    for epoch in range(4):
        out += step(model, opt, batches)
        sched.step()
        out.append(sched.get_last_lr())
    out.append([p.grad is None for p in model.backbone.parameters()])
    model.backbone.requires_grad_(True)
    opt.add_param_group({"params": model.backbone.parameters(), "lr": 0.003, "momentum": 0.5})
    decay = MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
    for epoch in range(4):
        out += step(model, opt, batches)
        decay.step()
        out.append(decay.get_last_lr())
        out.append([g["lr"] for g in opt.param_groups])
    out.append([sorted(k for k in g if k != "params") for g in opt.param_groups])
    return out
'''

# torch.utils.data as pipelines use it: a Dataset of dicts of NumPy arrays, namedtuples and
# tuples through default_collate; random_split by fractions with a seeded Generator, Subset,
# ConcatDataset, a class-balancing WeightedRandomSampler, a BatchSampler, drop_last, a
# padding collate_fn, shuffling with a generator and a worker_init_fn
PROGRAMS["data_pipeline"] = '''
from collections import namedtuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, RandomSampler, Subset,
                              TensorDataset, WeightedRandomSampler, default_collate, random_split)

torch.set_default_dtype(torch.float64)
Pair = namedtuple("Pair", ["x", "y"])


class DictDataset(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "y": self.y[i], "meta": (i, float(i) / 2)}


class PairDataset(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return Pair(self.x[i], self.y[i])


class Sequences(Dataset):
    def __init__(self, rng):
        self.items = [rng.normal(size=(int(n), 2)) for n in rng.integers(1, 5, size=7)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return torch.tensor(self.items[i]), i % 2


def pad_collate(batch):
    seqs, labels = zip(*batch)
    lengths = torch.tensor([len(s) for s in seqs])
    padded = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True)
    return padded, lengths, torch.tensor(labels)


def seed_worker(worker_id):
    np.random.seed(worker_id)


def build():
    return nn.Linear(2, 2)


def data(rng):
    x, y = rng.normal(size=(10, 2)), rng.integers(0, 2, size=10)
    return x, y, Sequences(rng)


def train(model, inputs):
    x, y, sequences = inputs
    out = []
    g = torch.Generator().manual_seed(42)
    train_ds, val_ds, test_ds = random_split(DictDataset(x, y), [0.6, 0.2, 0.2], generator=g)
    out.append([len(train_ds), len(val_ds), len(test_ds), sorted(val_ds.indices)])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(train_ds, batch_size=4, shuffle=True, drop_last=True, generator=g,
                        worker_init_fn=seed_worker, num_workers=0)
    for epoch in range(2):
        for batch in loader:
            out.append([batch["x"], batch["y"], batch["meta"][0], batch["meta"][1]])
            opt.zero_grad()
            F.cross_entropy(model(batch["x"]), batch["y"]).backward()
            opt.step()
    out.append(len(loader))
    pairs = PairDataset(x, y)
    batch = default_collate([pairs[0], pairs[3]])
    out.append([type(batch).__name__, batch.x, batch.y])
    both = ConcatDataset([TensorDataset(torch.tensor(x), torch.tensor(y)), Subset(TensorDataset(
        torch.tensor(x[:4] * 2), torch.tensor(y[:4])), [3, 1])])
    counts = np.bincount(np.concatenate([y, y[[3, 1]]]), minlength=2)
    weights = [1.0 / counts[int(label)] for _, label in both]
    sampler = WeightedRandomSampler(weights, num_samples=8, replacement=True, generator=g)
    for xb, yb in DataLoader(both, batch_size=3, sampler=sampler):
        out.append([xb, yb])
    batches = BatchSampler(RandomSampler(both, generator=g), batch_size=5, drop_last=False)
    for xb, yb in DataLoader(both, batch_sampler=batches):
        out.append([xb, yb])
    out.append(list(BatchSampler(range(7), 3, drop_last=True)))
    for padded, lengths, labels in DataLoader(sequences, batch_size=3, collate_fn=pad_collate):
        out.append([padded, lengths, labels])
    out.append(default_collate([np.arange(3.0), np.ones(3)]))
    out.append(default_collate([(1, 2.5, True), (3, 4.5, False)]))
    return out
'''


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_training_program_gives_pytorchs_values(name):
    _compare(PROGRAMS[name])

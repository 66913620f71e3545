"""Training loops as users of PyTorch Lightning, Accelerate, timm and HuggingFace write them,
trimmed (tiny models, a few steps), run with PyTorch and with ``import torch`` read as
``import chainrule as torch`` from the same weights (see ``test_torch_programs``): losses,
learning rates, state_dicts and the final weights agree in float64. Also: PyTorch's own
state_dicts of schedules and optimizers resumed by chainrule's."""

import copy
import importlib

import numpy as np
import pytest

import chainrule as cr
from test_torch_programs_training import _compare

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROGRAMS: dict[str, str] = {}

# timm's way: Adafactor over param_groups_weight_decay (no decay for 1-d parameters and
# biases), an EMA of the model as ModelEmaV3 keeps it (torch._foreach_lerp_ with weight=,
# or _foreach_mul_(scalar=) then _foreach_add_(alpha=)), mixup of the inputs with
# label-smoothed soft targets, and the optimizer resumed from its state_dict mid-training
PROGRAMS["timm_ema_adafactor"] = '''
import copy
import importlib

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


class ModelEmaV3(nn.Module):
    def __init__(self, model, decay=0.9, foreach_lerp=True):
        super().__init__()
        self.module = copy.deepcopy(model)
        self.module.eval()
        self.decay = decay
        self.foreach_lerp = foreach_lerp

    @torch.no_grad()
    def update(self, model):
        ema, current = [], []
        for ema_v, model_v in zip(self.module.state_dict().values(), model.state_dict().values()):
            if ema_v.is_floating_point():
                ema.append(ema_v)
                current.append(model_v)
            else:
                ema_v.copy_(model_v)
        if self.foreach_lerp:
            torch._foreach_lerp_(ema, current, weight=1.0 - self.decay)
        else:
            torch._foreach_mul_(ema, scalar=self.decay)
            torch._foreach_add_(ema, current, alpha=1.0 - self.decay)


def param_groups_weight_decay(model, weight_decay=1e-5):
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim <= 1 or name.endswith(".bias"):
            no_decay.append(param)
        else:
            decay.append(param)
    return [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": weight_decay}]


def build():
    return nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.GELU(), nn.Linear(6, 3))


def data(rng):
    return [(torch.tensor(rng.normal(size=(5, 4))), torch.tensor(rng.integers(0, 3, size=5)),
             torch.tensor(rng.permutation(5)), float(rng.beta(1.0, 1.0))) for _ in range(6)]


def mixup_target(target, index, lam, num_classes=3, smoothing=0.1):
    off, on = smoothing / num_classes, 1.0 - smoothing + smoothing / num_classes
    y1 = torch.full((target.size(0), num_classes), off).scatter_(1, target.view(-1, 1), on)
    return y1 * lam + y1[index] * (1.0 - lam)


def train(model, batches):
    emas = [ModelEmaV3(model), ModelEmaV3(model, decay=0.8, foreach_lerp=False)]
    optimizer = torch.optim.Adafactor(param_groups_weight_decay(model, 0.05), lr=0.05)
    out = []
    for i, (x, y, index, lam) in enumerate(batches):
        if i == 3:  # resumed from a checkpoint of the optimizer
            state = copy.deepcopy(optimizer.state_dict())
            optimizer = torch.optim.Adafactor(param_groups_weight_decay(model, 0.05), lr=0.05)
            optimizer.load_state_dict(state)
        model.train()
        mixed = lam * x + (1.0 - lam) * x[index]
        loss = torch.sum(-mixup_target(y, index, lam) * F.log_softmax(model(mixed), dim=-1), dim=-1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        for ema in emas:
            ema.update(model)
        with torch.no_grad():
            out.append([loss, F.cross_entropy(emas[0].module(x), y, label_smoothing=0.1)])
    state = optimizer.state_dict()
    out.append([sorted(state["state"][k]) for k in sorted(state["state"])])
    out.append([state["state"][k][name] for k in sorted(state["state"]) for name in sorted(state["state"][k])])
    return out, [ema.module.state_dict() for ema in emas]
'''

# Lightning-style checkpointing: SequentialLR (warm-up, then MultiStepLR) and a
# ChainedScheduler stepped per batch, the model, optimizer and schedules saved in one
# checkpoint dict with torch.save and resumed from torch.load into fresh objects; the
# schedules' state_dicts carry PyTorch's keys
PROGRAMS["checkpoint_resume_schedules"] = '''
import io

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import (ChainedScheduler, ConstantLR, ExponentialLR, LinearLR, MultiStepLR,
                                      SequentialLR)

torch.set_default_dtype(torch.float64)


def build():
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))


def data(rng):
    return [(torch.tensor(rng.normal(size=(4, 3))), torch.tensor(rng.normal(size=(4, 2)))) for _ in range(8)]


def make(model):
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.01)
    warm = LinearLR(optimizer, start_factor=0.2, total_iters=2)
    steps = MultiStepLR(optimizer, milestones=[2, 4, 4], gamma=0.5)
    sequential = SequentialLR(optimizer, [warm, steps], milestones=[3])
    chained = ChainedScheduler([ConstantLR(optimizer, factor=0.5, total_iters=5), ExponentialLR(optimizer, 0.9)])
    return optimizer, sequential, chained


def train(model, batches):
    optimizer, sequential, chained = make(model)
    out = []
    for i, (x, y) in enumerate(batches):
        if i == 4:
            buffer = io.BytesIO()
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "sequential": sequential.state_dict(), "chained": chained.state_dict(), "step": i}, buffer)
            buffer.seek(0)
            checkpoint = torch.load(buffer)
            model.load_state_dict(checkpoint["model"])
            optimizer, sequential, chained = make(model)
            optimizer.load_state_dict(checkpoint["optimizer"])
            sequential.load_state_dict(checkpoint["sequential"])
            chained.load_state_dict(checkpoint["chained"])
            out.append([checkpoint["step"], checkpoint["sequential"]["_milestones"], sorted(checkpoint["chained"])])
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        sequential.step()
        chained.step()
        out.append([loss, optimizer.param_groups[0]["lr"], sequential.get_last_lr(), chained.get_last_lr()])
    return out
'''


# HuggingFace Trainer's way: AdamW with no decay for biases and LayerNorm (get_parameter_names),
# get_linear_schedule_with_warmup as a LambdaLR of a functools.partial, LabelSmoother's loss
# over padded labels (-100), gradient accumulation with clip_grad_norm_'s norm read by .item(),
# a GradScaler that is off in float32/float64, validation under eval() and inference_mode()
PROGRAMS["huggingface_trainer"] = '''
import functools

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

torch.set_default_dtype(torch.float64)


def get_parameter_names(model, forbidden_layer_types):
    result = []
    for name, child in model.named_children():
        result += [f"{name}.{n}" for n in get_parameter_names(child, forbidden_layer_types)
                   if not isinstance(child, tuple(forbidden_layer_types))]
    result += list(model._parameters.keys())
    return result


def _linear_warmup(current_step, *, num_warmup_steps, num_training_steps):
    if current_step < num_warmup_steps:
        return float(current_step) / float(max(1, num_warmup_steps))
    return max(0.0, float(num_training_steps - current_step) / float(max(1, num_training_steps - num_warmup_steps)))


def label_smoothed_loss(logits, labels, epsilon=0.1, ignore_index=-100):
    log_probs = -nn.functional.log_softmax(logits, dim=-1)
    labels = labels.unsqueeze(-1)
    padding_mask = labels.eq(ignore_index)
    labels = torch.clamp(labels, min=0)
    nll_loss = log_probs.gather(dim=-1, index=labels)
    smoothed_loss = log_probs.sum(dim=-1, keepdim=True, dtype=torch.float64)
    nll_loss.masked_fill_(padding_mask, 0.0)
    smoothed_loss.masked_fill_(padding_mask, 0.0)
    num_active_elements = padding_mask.numel() - padding_mask.long().sum()
    nll_loss = nll_loss.sum() / num_active_elements
    smoothed_loss = smoothed_loss.sum() / (num_active_elements * log_probs.shape[-1])
    return (1 - epsilon) * nll_loss + epsilon * smoothed_loss


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(7, 6)
        self.norm = nn.LayerNorm(6)
        self.head = nn.Linear(6, 4)

    def forward(self, ids):
        return self.head(torch.tanh(self.norm(self.embed(ids))))


def build():
    return Tagger()


def data(rng):
    batches = []
    for _ in range(6):
        labels = torch.tensor(rng.integers(0, 4, size=(2, 5)))
        labels[:, -1] = -100
        batches.append((torch.tensor(rng.integers(0, 7, size=(2, 5))), labels))
    return batches


def train(model, batches):
    decay = [n for n in get_parameter_names(model, [nn.LayerNorm]) if "bias" not in n]
    groups = [{"params": [p for n, p in model.named_parameters() if n in decay and p.requires_grad],
               "weight_decay": 0.01},
              {"params": [p for n, p in model.named_parameters() if n not in decay and p.requires_grad],
               "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=5e-2, betas=(0.9, 0.98), eps=1e-6)
    schedule = functools.partial(_linear_warmup, num_warmup_steps=1, num_training_steps=3)
    scheduler = LambdaLR(optimizer, schedule, -1)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    accumulation, out = 2, []
    for step, (ids, labels) in enumerate(batches):
        model.train()
        loss = label_smoothed_loss(model(ids), labels) / accumulation
        scaler.scale(loss).backward()
        if (step + 1) % accumulation == 0:
            scaler.unscale_(optimizer)
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            optimizer.zero_grad()
            model.eval()
            with torch.inference_mode():
                logits = model(batches[0][0])
            out.append([loss.item(), grad_norm.item(), scheduler.get_last_lr(), logits.argmax(-1)])
    return out, [sorted(g) for g in optimizer.state_dict()["param_groups"]]
'''

# Optimizers of their own as libraries write them: transformers' Adafactor (lr=None for its
# relative step, factored row and column moments of another shape than the parameter's) and
# lucidrains' Lion, each checkpointed by state_dict and resumed into a fresh instance
PROGRAMS["optimizers_of_their_own"] = '''
import copy
import importlib
import math

import torch
from torch import nn

torch.set_default_dtype(torch.float64)


class Adafactor(torch.optim.Optimizer):
    def __init__(self, params, lr=None, eps=(1e-30, 1e-3), clip_threshold=1.0, decay_rate=-0.8, beta1=None,
                 weight_decay=0.0):
        super().__init__(params, {"lr": lr, "eps": eps, "clip_threshold": clip_threshold, "decay_rate": decay_rate,
                                  "beta1": beta1, "weight_decay": weight_decay})

    @staticmethod
    def _rms(tensor):
        return tensor.norm(2) / (tensor.numel() ** 0.5)

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad, state = p.grad, self.state[p]
                factored = grad.dim() >= 2
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(grad)
                    if factored:
                        state["exp_avg_sq_row"] = torch.zeros(grad.shape[:-1]).to(grad)
                        state["exp_avg_sq_col"] = torch.zeros(grad.shape[:-2] + grad.shape[-1:]).to(grad)
                    else:
                        state["exp_avg_sq"] = torch.zeros_like(grad)
                state["step"] += 1
                state["RMS"] = self._rms(p)
                lr = max(group["eps"][1], state["RMS"]) * min(1e-2, 1.0 / math.sqrt(state["step"]))
                beta2t = 1.0 - math.pow(state["step"], group["decay_rate"])
                update = (grad**2) + group["eps"][0]
                if factored:
                    row, col = state["exp_avg_sq_row"], state["exp_avg_sq_col"]
                    row.mul_(beta2t).add_(update.mean(dim=-1), alpha=(1.0 - beta2t))
                    col.mul_(beta2t).add_(update.mean(dim=-2), alpha=(1.0 - beta2t))
                    r_factor = (row / row.mean(dim=-1, keepdim=True)).rsqrt_().unsqueeze(-1)
                    update = torch.mul(r_factor, col.unsqueeze(-2).rsqrt()).mul_(grad)
                else:
                    state["exp_avg_sq"].mul_(beta2t).add_(update, alpha=(1.0 - beta2t))
                    update = state["exp_avg_sq"].rsqrt().mul_(grad)
                update.div_((self._rms(update) / group["clip_threshold"]).clamp_(min=1.0))
                update.mul_(lr)
                state["exp_avg"].mul_(group["beta1"]).add_(update, alpha=(1 - group["beta1"]))
                p.add_(p, alpha=(-group["weight_decay"] * lr))
                p.add_(-state["exp_avg"])


class Lion(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in filter(lambda p: p.grad is not None, group["params"]):
                p.data.mul_(1 - group["lr"] * group["weight_decay"])
                state = self.state[p]
                if len(state) == 0:
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                exp_avg, (beta1, beta2) = state["exp_avg"], group["betas"]
                p.add_((exp_avg * beta1 + p.grad * (1 - beta1)).sign_(), alpha=-group["lr"])
                exp_avg.mul_(beta2).add_(p.grad, alpha=1 - beta2)


def build():
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))


def data(rng):
    return [(torch.tensor(rng.normal(size=(4, 3))), torch.tensor(rng.normal(size=(4, 2)))) for _ in range(6)]


def train(model, batches):
    makers = [lambda: Adafactor(model.parameters(), beta1=0.9, weight_decay=0.01),
              lambda: Lion(model.parameters(), lr=1e-2, weight_decay=0.1)]
    out = []
    for make in makers:
        optimizer = make()
        for i, (x, y) in enumerate(batches):
            if i == 3:
                state = copy.deepcopy(optimizer.state_dict())
                optimizer = make()
                optimizer.load_state_dict(state)
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            out.append(loss)
        out.append([sorted(s) for s in optimizer.state_dict()["state"].values()])
    return out
'''

@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_training_loop_gives_pytorchs_values(name):
    _compare(PROGRAMS[name])


def _converted(value, lib):
    """A state_dict with ``lib``'s tensors in place of the other library's."""
    if isinstance(value, torch.Tensor | cr.Tensor):
        return lib.tensor(value.detach().numpy().copy())
    if isinstance(value, dict):
        return type(value)({k: _converted(v, lib) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return type(value)(_converted(v, lib) for v in value)
    return copy.deepcopy(value)


def _sequential(lib, opt):
    s = lib.optim.lr_scheduler
    return s.SequentialLR(opt, [s.LinearLR(opt, start_factor=0.1, total_iters=3), s.MultiStepLR(opt, [1, 3])],
                          milestones=[3])


def _chained(lib, opt):
    s = lib.optim.lr_scheduler
    return s.ChainedScheduler([s.ConstantLR(opt, factor=0.5, total_iters=4), s.ExponentialLR(opt, 0.9)])


@pytest.mark.parametrize("first", ["torch", "chainrule"])
@pytest.mark.parametrize("schedule", [_sequential, _chained])
@pytest.mark.parametrize("name", ["Adafactor", "AdamW"])
def test_state_dicts_of_one_library_resume_in_the_other(name, schedule, first):
    # four steps with one library, its model, optimizer and schedule state_dicts loaded into
    # the other's; from there both go on, to the same rates and weights
    first, second = (torch, cr) if first == "torch" else (cr, torch)
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(4, 3)), rng.normal(size=(4, 2))) for _ in range(7)]
    runs = {}
    for lib in (first, second):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2)).double()
        opt = getattr(lib.optim, name)(model.parameters(), lr=0.05)
        runs[lib] = [model, opt, schedule(lib, opt), []]
    model, opt, sched, _ = runs[first]
    for i, (x, y) in enumerate(batches):
        if i == 4:
            other = runs[second]
            for target, source in zip(other[:3], (model, opt, sched), strict=True):
                target.load_state_dict(_converted(source.state_dict(), second))
        for lib in (first, second) if i >= 4 else (first,):
            m, o, s, lrs = runs[lib]
            o.zero_grad()
            ((m(lib.tensor(x)) - lib.tensor(y)) ** 2).mean().backward()
            o.step()
            s.step()
            lrs.append(s.get_last_lr())
    np.testing.assert_allclose(runs[second][3], runs[first][3][4:], rtol=1e-12)
    for p, q in zip(runs[first][0].parameters(), runs[second][0].parameters(), strict=True):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-9, atol=1e-12)
    assert sorted(runs[cr][2].state_dict()["_schedulers"][0]) >= sorted(runs[torch][2].state_dict()["_schedulers"][0])


_RESUMED_BY_LAST_EPOCH = {
    "cosine": lambda s, o: s.CosineAnnealingLR(o, T_max=10, last_epoch=3),
    "exponential": lambda s, o: s.ExponentialLR(o, 0.5, last_epoch=2),
    "linear": lambda s, o: s.LinearLR(o, start_factor=0.2, total_iters=6, last_epoch=2),
    "polynomial": lambda s, o: s.PolynomialLR(o, total_iters=6, last_epoch=2),
    "multiplicative": lambda s, o: s.MultiplicativeLR(o, lambda e: 0.9, last_epoch=2),
    "step": lambda s, o: s.StepLR(o, 2, last_epoch=3),
    "constant": lambda s, o: s.ConstantLR(o, 0.5, total_iters=4, last_epoch=3),
    "multistep": lambda s, o: s.MultiStepLR(o, [3, 5], last_epoch=2),
}


@pytest.mark.parametrize("name", sorted(_RESUMED_BY_LAST_EPOCH))
def test_a_schedule_made_with_last_epoch_resumes_from_the_groups_rate_as_pytorchs(name):
    # the older way to resume (the optimizer's state loaded, initial_lr in its groups): the
    # first step keeps the rate the group has where PyTorch's does, then moves it on
    rates = {}
    for lib in (torch, cr):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=0.03)
        opt.param_groups[0]["initial_lr"] = 0.1
        sched = _RESUMED_BY_LAST_EPOCH[name](lib.optim.lr_scheduler, opt)
        rates[lib] = [sched.get_last_lr()[0], sched.last_epoch]
        for _ in range(4):
            opt.step()
            sched.step()
            rates[lib] += [sched.get_last_lr()[0], sched.last_epoch]
    np.testing.assert_allclose(rates[cr], rates[torch], rtol=1e-13)


def test_plateau_in_cooldown_and_the_step_dtypes_of_a_float64_program_are_pytorchs():
    out = {}
    for lib in (torch, cr):
        before = lib.get_default_dtype()
        lib.set_default_dtype(lib.float64)
        try:
            w = lib.nn.Parameter(lib.ones(2))
            opt = lib.optim.Adam([w], lr=0.1)
            plateau = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, cooldown=2)
            cooling = []
            for metric in (1.0, 2.0, 2.0, 2.0, 2.0):
                (w * w).sum().backward()
                opt.step()
                plateau.step(metric)
                cooling.append(plateau.in_cooldown)
            fused = lib.optim.AdamW([lib.nn.Parameter(lib.ones(2))], fused=True)
            fused.param_groups[0]["params"][0].grad = lib.ones(2)
            fused.step()
            steps = [opt.state[w]["step"], opt.state_dict()["state"][0]["step"],
                     fused.state_dict()["state"][0]["step"]]
            out[lib] = cooling, [str(s.dtype).split(".")[-1] for s in steps], plateau.get_last_lr()
        finally:
            lib.set_default_dtype(before)
    assert out[cr] == out[torch]


@pytest.mark.parametrize("name", ["SparseAdam", "Muon"])
def test_an_optimizer_of_torch_optim_that_chainrule_lacks_is_named_with_the_way_out(name):
    assert hasattr(torch.optim, name)
    with pytest.raises(AttributeError, match=f"no attribute '{name}': .*optim.Adam"):
        getattr(cr.optim, name)


def test_every_public_name_of_torch_optim_is_here_or_refused_with_the_way_out():
    """(swap_in_optimizer_params_and_state, new in PyTorch 2.13, was a bare AttributeError)"""
    for name in dir(torch.optim):
        if name.startswith("_") or not callable(getattr(torch.optim, name)):
            continue
        try:
            getattr(cr.optim, name)
        except AttributeError as e:
            assert f"no attribute {name!r}: " in str(e)


def test_schedules_chained_wrongly_are_refused_with_the_reason():
    model = cr.nn.Linear(2, 1)
    opt, other = cr.optim.SGD(model.parameters(), lr=0.1), cr.optim.SGD(model.parameters(), lr=0.1)
    s = cr.optim.lr_scheduler
    plateau = s.ReduceLROnPlateau(opt)
    with pytest.raises(ValueError, match="does not support ReduceLROnPlateau .* plateau.step"):
        s.SequentialLR(opt, [plateau, s.StepLR(opt, 2)], milestones=[2])
    with pytest.raises(ValueError, match="does not support ReduceLROnPlateau"):
        s.ChainedScheduler([s.StepLR(opt, 2), plateau])
    with pytest.raises(ValueError, match="same optimizer"):
        s.ChainedScheduler([s.StepLR(other, 2)], optimizer=opt)
    with pytest.raises(ValueError, match="at least one scheduler"):
        s.SequentialLR(opt, [], milestones=[])
    # (it raised a bare NotImplementedError at its first step)
    with pytest.raises(NotImplementedError, match="over a ChainedScheduler .* chain SequentialLRs instead"):
        s.SequentialLR(opt, [s.ChainedScheduler([s.ConstantLR(opt), s.ExponentialLR(opt, 0.9)]), s.StepLR(opt, 2)],
                       milestones=[3])
    with pytest.warns(UserWarning, match="duplicate parameters.* updated twice"):  # as PyTorch warns
        cr.optim.SGD([model.weight, model.bias, model.weight], lr=0.1)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 0.5, 0.0, float("inf"), -float("inf")])
def test_clipping_takes_each_norm_and_foreach_as_pytorchs(norm_type):
    rng = np.random.default_rng(3)
    grads = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    out = {}
    for lib in (torch, cr):
        params = [lib.nn.Parameter(lib.tensor(np.ones_like(g))) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = lib.tensor(g)
        total = lib.nn.utils.clip_grad_norm_(params, 0.3, norm_type=norm_type, foreach=True)
        lib.nn.utils.clip_grad_value_(params, 0.05, foreach=False)
        out[lib] = [total.item()] + [p.grad.detach().numpy() for p in params]
    for ours, theirs in zip(out[cr], out[torch], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-13)


def test_a_random_sampler_rebuilt_as_accelerate_rebuilds_it():
    # Accelerate's prepare_data_loader makes a SeedableRandomSampler from the loader's one, passing
    # num_samples=sampler._num_samples (None: the dataset's length, read when asked)
    out = {}
    for lib in (torch, cr):
        data = lib.utils.data.TensorDataset(lib.arange(6.0))
        loader = lib.utils.data.DataLoader(data, batch_size=4, shuffle=True)
        sampler = loader.sampler
        again = type(sampler)(sampler.data_source, replacement=sampler.replacement, num_samples=sampler._num_samples,
                              generator=sampler.generator)
        fixed = type(sampler)(data, num_samples=4)
        out[lib] = [sampler._num_samples, again.num_samples, len(again), fixed._num_samples, len(fixed),
                    sorted(int(i) for i in again)]
    assert out[cr] == out[torch]


def test_a_grad_scaler_s_factors_are_read_and_set_as_pytorchs():
    out = {}
    for lib in (torch, cr):
        w = lib.nn.Parameter(lib.ones(2, dtype=lib.float64))
        opt = lib.optim.SGD([w], lr=0.1)
        scaler = lib.amp.GradScaler("cpu", init_scale=8.0, growth_interval=3)
        read = [scaler.get_growth_factor(), scaler.get_backoff_factor(), scaler.get_growth_interval()]
        scaler.set_growth_factor(4.0)
        scaler.set_backoff_factor(0.25)
        scaler.set_growth_interval(1)
        scales = []
        for bad in (False, True, False):
            opt.zero_grad()
            scaler.scale((w * w).sum() * (float("inf") if bad else 1.0)).backward()
            scaler.step(opt)
            scaler.update()
            scales.append(scaler.get_scale())
        out[lib] = read, scales, w.detach().numpy().tolist(), scaler.state_dict()
    assert out[cr] == out[torch]


def test_cyclic_lr_s_scale_fn_is_pytorchs():
    out = {}
    for lib in (torch, cr):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=0.1, momentum=0.9)
        schedules = [lib.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, mode=mode, gamma=0.9)
                     for mode in ("triangular", "triangular2", "exp_range")]
        schedules.append(lib.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, scale_fn=lambda x: 1 / (1 + x)))
        out[lib] = [s.scale_fn(x) for s in schedules for x in (1, 2, 3.5)]
    np.testing.assert_allclose(out[cr], out[torch], rtol=1e-15)


def _copied_from_pytorch(lib):
    """An optimizer written as PyTorch's own source writes them (LARS-style SGD): a required
    learning rate, __setstate__ that fills in a default, the step under
    _use_grad_for_differentiable after the graph-capture check, _get_value of the step."""
    optimizer = importlib.import_module(f"{lib.__name__}.optim.optimizer")

    class SGDLike(optimizer.Optimizer):
        def __init__(self, params: optimizer.ParamsT, lr=optimizer.required, momentum=0.0):
            if lr is not optimizer.required and lr < 0.0:
                raise ValueError(f"Invalid learning rate: {lr}")
            super().__init__(params, {"lr": lr, "momentum": momentum, "differentiable": False})

        def __setstate__(self, state):
            super().__setstate__(state)
            for group in self.param_groups:
                group.setdefault("nesterov", False)

        @optimizer._use_grad_for_differentiable
        def step(self, closure=None):
            self._accelerator_graph_capture_health_check()
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if not state:
                        state["step"] = lib.tensor(0.0, dtype=optimizer._get_scalar_dtype())
                        state["momentum_buffer"] = lib.zeros_like(p)
                    state["step"] += 1
                    buf = state["momentum_buffer"].mul_(group["momentum"]).add_(p.grad)
                    p.add_(buf, alpha=-group["lr"] / optimizer._get_value(state["step"]) ** 0.5)

    return SGDLike


def test_an_optimizer_copied_from_pytorchs_source_runs_as_there():
    out = {}
    for lib in (torch, cr):
        cls = _copied_from_pytorch(lib)
        w = lib.nn.Parameter(lib.tensor([1.0, -2.0], dtype=lib.float64))
        with pytest.raises(ValueError, match="didn't specify a value of required optimization parameter lr"):
            cls([w])
        opt = cls([w], lr=0.1, momentum=0.9)
        for _ in range(3):
            opt.zero_grad()
            (w ** 3).sum().backward()
            opt.step()
        again = copy.deepcopy(opt)
        out[lib] = w.detach().numpy().tolist(), again.param_groups[0]["nesterov"], repr(opt.defaults["lr"])
    assert out[cr] == out[torch]


def test_a_schedule_copied_from_pytorchs_source_warns_with_its_message():
    ours, theirs = cr.optim.lr_scheduler.EPOCH_DEPRECATION_WARNING, torch.optim.lr_scheduler.EPOCH_DEPRECATION_WARNING
    assert ours.startswith(theirs[:60])


def test_one_cycle_after_add_param_group_raises_torch_s_key_error_with_the_reason():
    """(PyTorch's and ours raise KeyError 'initial_lr'; ours said 'max_momentum' and nothing more)"""
    raised = []
    for lib in (torch, cr):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=0.1, momentum=0.9)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, 1.0, total_steps=10)
        opt.add_param_group({"params": [lib.nn.Parameter(lib.zeros(1))], "lr": 0.5})
        opt.step()
        with pytest.raises(KeyError) as info:
            sched.step()
        raised.append(info.value.args[0])
    assert raised[1].startswith(f"{raised[0]!r}: a parameter group added after OneCycleLR was made")

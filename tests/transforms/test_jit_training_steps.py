"""``chainrule.jit`` on training-loop code written as PyTorch users write it: steps that
read parameters under ``cr.no_grad()``, keep the best weights, convert Tensors for
metrics, update state between calls. Each program runs plain and jitted on the same
freshly built state for several consecutive calls, with the state changed between
calls; the plain call is the oracle: the same results (values, types, dtypes, the
error raised) and the same state left behind, call after call."""

from __future__ import annotations

import math
import struct
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn import functional as F

pytestmark = pytest.mark.filterwarnings("ignore:chainrule.jit")

_RNG = np.random.default_rng(0)
_X = [_RNG.normal(size=(6, 4)) for _ in range(5)]
_Y = [_RNG.integers(0, 3, 6) for _ in range(5)]


def _described(x):
    """What a result is, to the bit: type, dtype, shape and bytes of arrays and Tensors
    (and whether a Tensor requires grad), floats by their bits, containers item by item,
    an exception by its type and message, optimizers and schedulers by their state."""
    if isinstance(x, BaseException):
        return type(x), str(x)
    if isinstance(x, nn.Module):
        return type(x), _described(x.state_dict()), x.training
    if isinstance(x, cr.Tensor):
        a = np.asarray(x.detach().numpy())
        return type(x), a.dtype.str, a.shape, a.tobytes(), x.requires_grad
    if isinstance(x, np.ndarray | np.generic):
        return type(x), x.dtype.str, np.shape(x), x.tobytes()
    if isinstance(x, float):
        return float, struct.pack("d", x)
    if isinstance(x, dict):
        return type(x), tuple((k, _described(v)) for k, v in x.items())
    if isinstance(x, list | tuple):
        return type(x), tuple(_described(v) for v in x)
    if isinstance(x, optim.Optimizer | optim.lr_scheduler.LRScheduler | optim.lr_scheduler.ReduceLROnPlateau):
        return type(x), _described(x.state_dict())
    return type(x), x


def _runs(step, build, between=None, calls: int = 5) -> list:
    """The results of ``calls`` consecutive calls of ``step(*state, i)`` under no_grad,
    each with the state as it is after the call (``between(state, i)`` changes it)."""
    cr.manual_seed(0)
    state = build()
    seen = []
    for i in range(calls):
        with cr.no_grad():
            try:
                got = step(*state, i)
            except Exception as e:  # noqa: BLE001 (the exception is the result)
                got = e
        seen.append((_described(got), _described(state)))
        if between is not None:
            between(state, i)
    return seen


def _model():
    return nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))


def _keep_best(model, best, i):
    # early stopping with a checkpoint: the best weights cloned into a dict the caller holds
    loss = F.cross_entropy(model(_X[0]), _Y[0]).item()
    if loss < best["loss"]:
        best["loss"] = loss
        best["state"] = {k: v.clone() for k, v in model.state_dict().items()}
        best["log"].append(model[0].bias * 1)
    return loss


def _perturb(state, i):
    with cr.no_grad():
        for p in state[0].parameters():
            p.mul_(0.5 if i % 2 else 1.5)


def _numpy_metrics(model, i):
    return {name: np.asarray(p) for name, p in model.named_parameters()}


def _numpy_method(model, i):
    return model[0].weight.numpy().sum()


def _detached(model, i):
    w = model[0].weight
    return w.detach().requires_grad, w.detach() is w, np.asarray(w.detach()).sum()


def _data(model, i):
    w = model[0].bias
    d = w.data
    return d.requires_grad, d is w, d.numpy() * 2, d


def _written_through_detach(model, i):
    model[0].bias.detach().mul_(0.5)
    return model(_X[i]).sum()


class _Tied(nn.Module):
    """An encoder and a decoder that share their weight (a language model's tied embedding)."""

    def __init__(self):
        super().__init__()
        self.encode, self.decode = nn.Linear(4, 4, bias=False), nn.Linear(4, 4)
        self.decode.weight = self.encode.weight

    def forward(self, x):
        return self.decode(cr.numpy.tanh(self.encode(x)))


def _tied():
    return [_Tied()]


def _untie_and_tie(state, i):
    # between calls: the weights untied (a copy), then tied again; and their values changed
    model = state[0]
    with cr.no_grad():
        model.decode.weight = nn.Parameter(model.encode.weight.detach().clone()) if i % 2 == 0 else model.encode.weight
        for p in model.parameters():
            p.mul_(0.5)


def _l2_penalized(model, i):
    # a penalty over model.parameters(): a tied weight once, as PyTorch's parameters() gives it
    loss = F.mse_loss(model(_X[i]), _X[i]) + 0.01 * sum((p ** 2).sum() for p in model.parameters())
    return loss, sum(p.numel() for p in model.parameters()), model.encode.weight is model.decode.weight


def _sgd_in_place(model, i):
    loss, grads = cr.value_and_grad(lambda m: F.mse_loss(m(_X[i]), _X[i]))(model)
    for p, g in zip(cr.tree_leaves(model), cr.tree_leaves(grads), strict=True):
        p.sub_(0.1 * g)  # the tied weight twice, with the gradient of each place
    return loss


def _decay_groups(model, i):
    # weight decay for matrices, as optimizers' parameter groups are built
    decay = [n for n, p in model.named_parameters() if isinstance(p, nn.Parameter) and p.ndim > 1]
    for n, p in model.named_parameters():
        if n in decay:
            p.mul_(0.9)
    return decay, [p.__class__.__name__ for p in model.parameters()]


def _printed(model, i):
    return repr(model[0].bias), f"{model[0].weight}", str(model[0].bias)


def _scheduled_step(model, opt, scheduler, i):
    # an SGD step by hand at the optimizer's rate, the scheduler stepped inside
    lr = opt.param_groups[0]["lr"]
    loss, grads = cr.value_and_grad(lambda m: F.cross_entropy(m(_X[i]), _Y[i]))(model)
    for p, g in zip(model.parameters(), cr.tree_leaves(grads), strict=True):
        p.sub_(lr * g)
    if isinstance(scheduler, optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(float(loss))
    else:
        scheduler.step()
    return loss.item(), lr, {"lr": opt.param_groups[0]["lr"]}


def _scheduled(make):
    def build():
        model = _model()
        opt = optim.SGD(model.parameters(), lr=0.5)
        return [model, opt, make(opt)]
    return build


def _ema_update(ema, model, i):
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.mul_(0.9).add_(p, alpha=0.1)
    return ema[0].weight.sum()


def _batch_norm_forward(model, i):
    return model(cr.tensor(_X[i])), model.training, model[1].num_batches_tracked


def _train_between(state, i):
    model = state[-1] if len(state) == 2 else state[0]  # (the EMA's model, or the model)
    model.train(i % 2 == 1)
    with cr.no_grad():
        model(cr.tensor(_X[i]))  # running statistics move
        for p in model.parameters():
            p.add_(0.1)


def _with_batch_norm():
    return nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.Linear(5, 3))


_PROGRAMS = {
    "best weights cloned into a dict": (_keep_best, lambda: [_model(), {"loss": math.inf, "state": None, "log": []}]),
    "np.asarray of parameters": (_numpy_metrics, lambda: [_model()]),
    "numpy() of a parameter": (_numpy_method, lambda: [_model()]),
    "detach() of a parameter": (_detached, lambda: [_model()]),
    ".data of a parameter": (_data, lambda: [_model()]),
    "a write through detach()": (_written_through_detach, lambda: [_model()]),
    "isinstance of parameters": (_decay_groups, lambda: [_model()]),
    "text of parameters": (_printed, lambda: [_model()]),
    "a penalty over tied weights": (_l2_penalized, _tied),
    "an update of tied weights in place": (_sgd_in_place, _tied),
    "StepLR stepped inside": (_scheduled_step, _scheduled(lambda opt: optim.lr_scheduler.StepLR(opt, 2, 0.5))),
    "OneCycleLR stepped inside": (
        _scheduled_step, _scheduled(lambda opt: optim.lr_scheduler.OneCycleLR(opt, 1.0, total_steps=8))),
    "ReduceLROnPlateau on a float loss": (
        _scheduled_step, _scheduled(lambda opt: optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, threshold=0.5))),
    "an EMA of the weights": (_ema_update, lambda: [_with_batch_norm(), _with_batch_norm()]),
    "batch norm, train and eval between calls": (_batch_norm_forward, lambda: [_with_batch_norm()]),
}
_BETWEEN = {"a penalty over tied weights": _untie_and_tie, "an update of tied weights in place": _untie_and_tie,
            "an EMA of the weights": _train_between, "batch norm, train and eval between calls": _train_between}


@pytest.mark.parametrize("name", sorted(_PROGRAMS))
def test_a_jitted_step_on_a_models_parameters_is_the_plain_step_call_after_call(name):
    step, build = _PROGRAMS[name]
    between = _BETWEEN.get(name, _perturb)
    want = _runs(step, build, between)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _runs(cr.jit(step), build, between)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == w, f"call {i}"

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
from chainrule import nn
from chainrule.nn import functional as F

pytestmark = pytest.mark.filterwarnings("ignore:chainrule.jit")

_RNG = np.random.default_rng(0)
_X = [_RNG.normal(size=(6, 4)) for _ in range(5)]
_Y = [_RNG.integers(0, 3, 6) for _ in range(5)]


def _described(x):
    """What a result is, to the bit: type, dtype, shape and bytes of arrays and Tensors
    (and whether a Tensor requires grad), floats by their bits, containers item by item,
    an exception by its type and message."""
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
    return type(x), x


def _runs(step, build, between=None, calls: int = 4) -> list:
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


_PROGRAMS = {
    "best weights cloned into a dict": (_keep_best, lambda: [_model(), {"loss": math.inf, "state": None, "log": []}]),
    "np.asarray of parameters": (_numpy_metrics, lambda: [_model()]),
    "numpy() of a parameter": (_numpy_method, lambda: [_model()]),
    "detach() of a parameter": (_detached, lambda: [_model()]),
    ".data of a parameter": (_data, lambda: [_model()]),
    "a write through detach()": (_written_through_detach, lambda: [_model()]),
}


@pytest.mark.parametrize("name", sorted(_PROGRAMS))
def test_a_jitted_step_on_a_models_parameters_is_the_plain_step_call_after_call(name):
    step, build = _PROGRAMS[name]
    want = _runs(step, build, _perturb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _runs(cr.jit(step), build, _perturb)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == w, f"call {i}"

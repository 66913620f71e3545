"""The functional optimizers follow the in-place ones to the last bit, with and without
cr.jit, in float32 and float64, and for complex parameters in complex64 and complex128
(whose in-place steps, and PyTorch's, take .grad, the conjugate of cr.grad's gradient)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import optim
from chainrule.optim import functional as fopt

CASES = [
    ("SGD", "sgd", {"lr": 0.1}),
    ("SGD", "sgd", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", "sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", "sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("Adam", "adam", {"lr": 0.05}),
    ("Adam", "adam", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("Adam", "adam", {"lr": 0.05, "betas": (0.5, 0.9), "eps": 1e-3, "maximize": True}),
    ("AdamW", "adamw", {"lr": 0.05}),
    ("AdamW", "adamw", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
]


def loss(params, x):
    return cnp.sum(cnp.abs(cnp.tanh(x @ params[0] + params[1])) ** 2)


def starting_point(dtype):
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 2))]
    start = [(p[0] + 1j * p[1] if np.dtype(dtype).kind == "c" else p[0]).astype(dtype) for p in parts]
    return start, [rng.normal(size=(4, 3)).astype(dtype) for _ in range(5)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize(("cls", "fn", "kwargs"), CASES)
def test_same_trajectory_as_the_in_place_optimizer(cls, fn, kwargs, dtype):
    start, xs = starting_point(dtype)

    # in place, on eager parameters
    params = [cr.tensor(p.copy(), requires_grad=True) for p in start]
    opt = getattr(optim, cls)(params, **kwargs)
    for x in xs:
        opt.zero_grad()
        loss(params, x).backward()
        opt.step()
    expected = [p.detach().numpy() for p in params]

    fo = getattr(fopt, fn)(**kwargs)

    def step(params, state, x):
        return fo.update(params, cr.grad(loss)(params, x), state)

    for run in (step, cr.jit(step)):
        params, state = [p.copy() for p in start], fo.init(start)
        for x in xs:
            params, state = run(params, state, x)
        for got, want in zip(params, expected, strict=True):
            assert got.dtype == want.dtype
            assert np.array_equal(got, want), (cls, kwargs, got - want)
    assert run.traces == 1


@pytest.mark.parametrize(("cls", "fn", "kwargs"), CASES)
def test_complex_parameters_step_as_pytorch_optimizers(cls, fn, kwargs):
    torch = pytest.importorskip("torch")
    start, xs = starting_point(np.complex128)
    fo = getattr(fopt, fn)(**kwargs)
    params, state = [p.copy() for p in start], fo.init(start)
    theirs = [torch.tensor(p, requires_grad=True) for p in start]
    opt = getattr(torch.optim, cls)(theirs, **kwargs)
    for x in xs:
        params, state = fo.update(params, cr.grad(loss)(params, x), state)
        opt.zero_grad()
        (torch.tanh(torch.tensor(x) @ theirs[0] + theirs[1]).abs() ** 2).sum().backward()
        opt.step()
    for got, want in zip(params, theirs, strict=True):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_structures_must_match():
    fo = fopt.sgd(lr=0.1)
    with pytest.raises(ValueError, match="structure"):
        fo.update([np.ones(2)], (np.ones(2),), fo.init([np.ones(2)]))


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="learning rate"):
        fopt.adam(lr=-1.0)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0"):
        fopt.adam(betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="Nesterov"):
        fopt.sgd(nesterov=True)

"""Learning-rate schedules against torch.optim.lr_scheduler, and resuming them."""

import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.optim import lr_scheduler as ls

EPOCHS = 25


def ours_lrs(make, lr=0.5, groups=1):
    model = nn.Linear(2, 2)
    params = [{"params": [model.weight]}, {"params": [model.bias], "lr": lr / 2}] if groups == 2 else model.parameters()
    opt = optim.SGD(params, lr=lr)
    sched = make(opt)
    out = [sched.get_last_lr()]
    for _ in range(EPOCHS):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr())
        assert [g["lr"] for g in opt.param_groups] == out[-1]
    return np.array(out)


def torch_lrs(make, lr=0.5, groups=1):
    torch = pytest.importorskip("torch")
    w = torch.nn.Parameter(torch.zeros(2))
    b = torch.nn.Parameter(torch.zeros(2))
    params = [{"params": [w]}, {"params": [b], "lr": lr / 2}] if groups == 2 else [w, b]
    opt = torch.optim.SGD(params, lr=lr)
    sched = make(opt, torch.optim.lr_scheduler)
    out = [sched.get_last_lr()]
    for _ in range(EPOCHS):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr())
    return np.array(out)


CASES = {
    "step": lambda o, m: m.StepLR(o, step_size=4, gamma=0.5),
    "multistep": lambda o, m: m.MultiStepLR(o, milestones=[3, 10, 11], gamma=0.3),
    "exponential": lambda o, m: m.ExponentialLR(o, gamma=0.9),
    "cosine": lambda o, m: m.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
    "linear_warmup": lambda o, m: m.LinearLR(o, start_factor=0.1, total_iters=6),
    "lambda": lambda o, m: m.LambdaLR(o, lambda t: 1 / (1 + 0.3 * t)),
    "constant": lambda o, m: m.ConstantLR(o, factor=0.4, total_iters=7),
    "polynomial": lambda o, m: m.PolynomialLR(o, total_iters=12, power=2.0),
    "multiplicative": lambda o, m: m.MultiplicativeLR(o, lambda t: 0.9 + 0.01 * (t % 3)),
    "warm_restarts": lambda o, m: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01),
    "warm_restarts_constant_period": lambda o, m: m.CosineAnnealingWarmRestarts(o, T_0=4),
    "one_cycle": lambda o, m: m.OneCycleLR(o, max_lr=[2.0, 1.0], total_steps=EPOCHS)
    if len(o.param_groups) == 2 else m.OneCycleLR(o, max_lr=2.0, total_steps=EPOCHS),
    "one_cycle_linear_three_phase": lambda o, m: m.OneCycleLR(
        o, max_lr=1.0, epochs=5, steps_per_epoch=5, pct_start=0.25, anneal_strategy="linear", three_phase=True),
    "cyclic": lambda o, m: m.CyclicLR(o, base_lr=0.1, max_lr=[1.0, 0.6][: len(o.param_groups)] if
                                      len(o.param_groups) == 2 else 1.0, step_size_up=4),
    "cyclic_triangular2_uneven": lambda o, m: m.CyclicLR(o, base_lr=0.05, max_lr=0.8, step_size_up=3,
                                                         step_size_down=5, mode="triangular2"),
    "cyclic_exp_range": lambda o, m: m.CyclicLR(o, base_lr=0.1, max_lr=2.0, step_size_up=2, mode="exp_range",
                                                gamma=0.9),
    "cyclic_scale_fn_iterations": lambda o, m: m.CyclicLR(o, base_lr=0.2, max_lr=1.0, step_size_up=3,
                                                          scale_fn=lambda x: 1 / (1 + 0.1 * x),
                                                          scale_mode="iterations", cycle_momentum=False),
    "warmup_then_cosine": lambda o, m: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.2, total_iters=4), m.CosineAnnealingLR(o, T_max=15)], milestones=[4]
    ),
}


@pytest.mark.torch
@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("case", sorted(CASES))
def test_schedule_matches_torch(case, groups):
    make = CASES[case]
    theirs = torch_lrs(make, groups=groups)
    ours = ours_lrs(lambda o: make(o, ls), groups=groups)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-14)


@pytest.mark.torch
@pytest.mark.parametrize("adam", [False, True])
def test_one_cycle_momentum_matches_torch(adam):
    torch = pytest.importorskip("torch")
    momenta = []
    for lib, w in ((optim, nn.Linear(2, 2).weight), (torch.optim, torch.nn.Parameter(torch.zeros(2)))):
        opt = lib.Adam([w], lr=0.1) if adam else lib.SGD([w], lr=0.1, momentum=0.9)
        sched = lib.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, base_momentum=0.8)
        seen = []
        for _ in range(10):
            opt.step()
            sched.step()
            g = opt.param_groups[0]
            seen.append((g["lr"], g["betas"][0] if adam else g["momentum"]))
        momenta.append(seen)
    np.testing.assert_allclose(momenta[0], momenta[1], rtol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("adam", [False, True])
def test_cyclic_momentum_matches_torch(adam):
    torch = pytest.importorskip("torch")
    seen = []
    for lib, w in ((optim, nn.Linear(2, 2).weight), (torch.optim, torch.nn.Parameter(torch.zeros(2)))):
        opt = lib.Adam([w], lr=0.1) if adam else lib.SGD([w], lr=0.1, momentum=0.9)
        sched = lib.lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="triangular2",
                                          base_momentum=0.7, max_momentum=0.95)
        steps = []
        for _ in range(14):
            opt.step()
            sched.step()
            g = opt.param_groups[0]
            steps.append((g["lr"], g["betas"][0] if adam else g["momentum"]))
        seen.append(steps)
    np.testing.assert_allclose(seen[0], seen[1], rtol=1e-12)


def test_cyclic_refuses_an_optimizer_without_momentum_and_a_bad_mode():
    opt = optim.Adagrad(nn.Linear(2, 2).parameters())
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        ls.CyclicLR(opt, base_lr=0.1, max_lr=1.0)
    ls.CyclicLR(opt, base_lr=0.1, max_lr=1.0, cycle_momentum=False)
    with pytest.raises(ValueError, match="mode is invalid and scale_fn is None"):
        ls.CyclicLR(optim.SGD(nn.Linear(2, 2).parameters()), base_lr=0.1, max_lr=1.0, mode="sawtooth")


@pytest.mark.torch
@pytest.mark.parametrize("kw", [{}, {"mode": "max", "patience": 1, "factor": 0.5},
                                {"threshold_mode": "abs", "threshold": 0.1, "cooldown": 2, "patience": 0,
                                 "min_lr": 0.05}])
def test_reduce_on_plateau_matches_torch(kw):
    torch = pytest.importorskip("torch")
    metrics = [5.0, 4.0, 4.0, 3.99, 4.5, 3.0, 3.0, 3.0, 2.95, 3.1, 3.0, 2.0] * 2
    lrs = []
    for lib, params in ((optim, nn.Linear(2, 2).parameters()), (torch.optim, [torch.nn.Parameter(torch.zeros(2))])):
        opt = lib.SGD(params, lr=1.0)
        sched = lib.lr_scheduler.ReduceLROnPlateau(opt, **{"patience": 2, **kw})
        seen = []
        for m in metrics:
            sched.step(m)
            seen.append(opt.param_groups[0]["lr"])
        lrs.append(seen)
    np.testing.assert_allclose(lrs[0], lrs[1], rtol=1e-12)


def test_closed_forms():
    lrs = ours_lrs(lambda o: ls.CosineAnnealingLR(o, T_max=EPOCHS), lr=1.0)[:, 0]
    assert lrs[0] == 1.0 and lrs[-1] == pytest.approx(0.0, abs=1e-15)
    assert lrs[EPOCHS // 2] == pytest.approx((1 + math.cos(math.pi * (EPOCHS // 2) / EPOCHS)) / 2)
    warm = ours_lrs(lambda o: ls.warmup_cosine(o, warmup_steps=5, total_steps=EPOCHS), lr=1.0)[:, 0]
    assert np.all(np.diff(warm[:6]) > 0) and warm[5] == pytest.approx(1.0)
    assert np.all(np.diff(warm[5:]) < 0)


def test_resume_from_state_dict():
    model = nn.Linear(2, 2)
    opt = optim.SGD(model.parameters(), lr=1.0)
    sched = ls.StepLR(opt, step_size=3, gamma=0.1)
    for _ in range(4):
        sched.step()
    saved, lr = sched.state_dict(), opt.param_groups[0]["lr"]
    opt2 = optim.SGD(nn.Linear(2, 2).parameters(), lr=1.0)
    opt2.load_state_dict(opt.state_dict())  # the rate the schedule goes on from, as in PyTorch
    sched2 = ls.StepLR(opt2, step_size=99)
    sched2.load_state_dict(saved)
    sched2.step()
    sched.step()
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    assert lr == pytest.approx(0.1)


def test_scheduler_errors():
    opt = optim.SGD(nn.Linear(2, 2).parameters(), lr=1.0)
    with pytest.raises(ValueError, match="step_size"):
        ls.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas, but got 2"):
        ls.LambdaLR(opt, [lambda t: 1.0, lambda t: 1.0])
    with pytest.raises(TypeError, match="not an Optimizer"):
        ls.ExponentialLR(object(), 0.9)
    with pytest.raises(KeyError, match="initial_lr"):
        ls.ExponentialLR(optim.SGD(nn.Linear(2, 2).parameters(), lr=1.0), 0.9, last_epoch=5)


@pytest.mark.parametrize("options", [{"max_lr": [1.0, 2.0, 3.0]}, {"max_lr": 1.0, "base_momentum": [0.8]}])
def test_one_cycle_refuses_a_list_of_another_length_in_torch_s_words(options):
    """(it failed inside zip: 'zip() argument 2 is longer than argument 1')"""
    torch = pytest.importorskip("torch")
    said = []
    for lib in (torch, cr):
        groups = [{"params": [lib.nn.Parameter(lib.zeros(n))]} for n in (2, 1)]
        opt = lib.optim.SGD(groups, lr=0.1, momentum=0.9)
        with pytest.raises(ValueError) as raised:
            lib.optim.lr_scheduler.OneCycleLR(opt, total_steps=10, **options)
        said.append(str(raised.value))
    assert said[1].startswith(said[0])


# Schedules stepped together on one optimizer, or after a rate set by hand, against
# PyTorch's: each case makes its schedules on (lib, opt) and returns those to step
def _two(lib, opt):
    S = lib.optim.lr_scheduler
    return [S.LinearLR(opt, start_factor=0.1, total_iters=4), S.StepLR(opt, 3, 0.5)]


def _warmup_cosine(lib, opt):
    S = lib.optim.lr_scheduler
    return [S.LinearLR(opt, start_factor=0.2, total_iters=3), S.CosineAnnealingLR(opt, 8, eta_min=0.01)]


def _three(lib, opt):
    S = lib.optim.lr_scheduler
    return [S.ExponentialLR(opt, 0.9), S.MultiStepLR(opt, [2, 5, 5], 0.1), S.ConstantLR(opt, 0.5, 3)]


def _poly_cos(lib, opt):
    S = lib.optim.lr_scheduler
    return [S.PolynomialLR(opt, total_iters=6, power=2.0), S.CosineAnnealingLR(opt, 4)]


def _chained(lib, opt):
    S = lib.optim.lr_scheduler
    return [S.ChainedScheduler([S.ConstantLR(opt, factor=0.5, total_iters=2), S.ExponentialLR(opt, 0.9),
                                S.MultiplicativeLR(opt, lambda t: 0.99)])]


def _by_hand(lib, opt):
    return [lib.optim.lr_scheduler.StepLR(opt, 3, 0.5)]


def _sequential_multiplicative(lib, opt):
    """A MultiplicativeLR after a milestone moves the rate the group has, by λ(0) there too."""
    S = lib.optim.lr_scheduler
    return [S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.1, total_iters=3), S.MultiplicativeLR(opt, _wobble),
                                 S.ExponentialLR(opt, 0.9), S.MultiplicativeLR(opt, lambda t: 0.95)],
                           milestones=[4, 8, 11])]


def _multiplicative_and_cosine(lib, opt):
    S = lib.optim.lr_scheduler
    return [S.MultiplicativeLR(opt, _wobble), S.CosineAnnealingLR(opt, 6)]


def _wobble(t):
    return 0.9 if t % 3 else 1.1


@pytest.mark.parametrize("make", [_two, _warmup_cosine, _three, _poly_cos, _chained, _by_hand,
                                  _sequential_multiplicative, _multiplicative_and_cosine])
def test_schedules_stepped_together_multiply_as_pytorchs(make):
    torch = pytest.importorskip("torch")

    def run(lib):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=0.1)
        schedules = make(lib, opt)
        rates = [opt.param_groups[0]["lr"]]
        for t in range(14):
            opt.step()
            for s in schedules:
                s.step()
            if make is _by_hand and t == 4:
                opt.param_groups[0]["lr"] = 0.03
            rates.append(opt.param_groups[0]["lr"])
        return rates, schedules[-1].get_last_lr()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = run(torch)
    ours = run(cr)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-13, atol=0)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-13, atol=0)


def test_chained_scheduler_resumes_from_its_state_dict():
    def make():
        opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=1.0)
        return opt, ls.ChainedScheduler([ls.ConstantLR(opt, factor=0.5, total_iters=3), ls.ExponentialLR(opt, 0.9)])
    opt, sched = make()
    for _ in range(2):
        sched.step()
    opt2, sched2 = make()
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    for _ in range(3):
        sched.step()
        sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr() and sched.get_last_lr()[0] == pytest.approx(0.9**5)


def _one_schedule(lib, name, opt):
    S = lib.optim.lr_scheduler
    return {"StepLR": lambda: S.StepLR(opt, step_size=1),
            "OneCycleLR": lambda: S.OneCycleLR(opt, 1.0, total_steps=5),
            "CyclicLR": lambda: S.CyclicLR(opt, 0.01, 0.1, step_size_up=2),
            "ChainedScheduler": lambda: S.ChainedScheduler([S.ExponentialLR(opt, 0.9), S.ConstantLR(opt)]),
            "CosineAnnealingWarmRestarts": lambda: S.CosineAnnealingWarmRestarts(opt, T_0=2)}[name]()


@pytest.mark.parametrize("name", ["StepLR", "OneCycleLR", "CyclicLR", "ChainedScheduler",
                                  "CosineAnnealingWarmRestarts"])
def test_stepping_the_schedule_before_the_optimizer_warns_as_torch(name):
    torch = pytest.importorskip("torch")
    for wrong_order in (True, False):
        caught, rates = [], []
        for lib in (cr, torch):
            opt = lib.optim.SGD(lib.nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9)
            sched = _one_schedule(lib, name, opt)
            with warnings.catch_warnings(record=True) as record:
                warnings.simplefilter("always")
                for _ in range(3):
                    first, second = (sched, opt) if wrong_order else (opt, sched)
                    first.step()
                    second.step()
            caught.append([str(w.message)[:50] for w in record if "before `optimizer.step()`" in str(w.message)])
            rates.append(opt.param_groups[0]["lr"])
        # PyTorch's CosineAnnealingWarmRestarts.step does not check the order
        assert caught[0] == caught[1] and bool(caught[0]) == (wrong_order and name != "CosineAnnealingWarmRestarts")
        assert rates[0] == pytest.approx(rates[1])


def _schedule_with_epochs(lib, name):
    S = lib.optim.lr_scheduler
    opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=1.0, momentum=0.9)
    make = {"StepLR": lambda: S.StepLR(opt, 2, 0.5), "ExponentialLR": lambda: S.ExponentialLR(opt, 0.9),
            "CosineAnnealingLR": lambda: S.CosineAnnealingLR(opt, 10, eta_min=0.1),
            "MultiStepLR": lambda: S.MultiStepLR(opt, [2, 5], 0.1),
            "CosineAnnealingWarmRestarts": lambda: S.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2, eta_min=0.01),
            "OneCycleLR": lambda: S.OneCycleLR(opt, 1.0, total_steps=20),
            # no closed form: step(epoch) multiplies the rate by λ(epoch), as PyTorch's
            "MultiplicativeLR": lambda: S.MultiplicativeLR(opt, _wobble),
            "LambdaLR": lambda: S.LambdaLR(opt, _wobble),
            "CyclicLR": lambda: S.CyclicLR(opt, 0.1, 1.0, step_size_up=3)}[name]
    return opt, make()


@pytest.mark.parametrize("name", ["StepLR", "ExponentialLR", "CosineAnnealingLR", "MultiStepLR",
                                  "CosineAnnealingWarmRestarts", "OneCycleLR", "MultiplicativeLR", "LambdaLR",
                                  "CyclicLR"])
def test_the_epoch_argument_of_step_as_torch(name):
    torch = pytest.importorskip("torch")
    epochs = [0.25, 0.5, 1.75, 3, 6.5, 2] if name == "CosineAnnealingWarmRestarts" else [1, 2, 5, 3, 7]
    got = []
    for lib in (cr, torch):
        opt, sched = _schedule_with_epochs(lib, name)
        rates = []
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            for e in epochs:
                opt.step()
                sched.step(e)
                rates.append(opt.param_groups[0]["lr"])
        deprecated = any("epoch parameter" in str(w.message) for w in record)
        got.append((rates, sched.last_epoch, deprecated))
    np.testing.assert_allclose(got[0][0], got[1][0], rtol=1e-12)
    assert got[0][1:] == got[1][1:]


def test_a_scheduler_subclass_written_for_pytorch_runs_as_there():
    torch = pytest.importorskip("torch")
    rates = []
    for lib in (cr, torch):
        class Warmup(lib.optim.lr_scheduler._LRScheduler):
            def __init__(self, optimizer, warmup, last_epoch=-1):
                self.warmup = warmup
                super().__init__(optimizer, last_epoch)

            def get_lr(self):
                return [base * min(1.0, (self.last_epoch + 1) / self.warmup) for base in self.base_lrs]

        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=2.0)
        sched = Warmup(opt, 4)
        seen = [opt.param_groups[0]["lr"]]
        for _ in range(6):
            opt.step()
            sched.step()
            seen.append(opt.param_groups[0]["lr"])
        plateau = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plateau.step(1.0, epoch=5)
            plateau.step(2.0)
        rates.append(seen + [sched.get_last_lr(), plateau.last_epoch, opt.param_groups[0]["lr"]])
    assert rates[0] == rates[1]


def test_a_copy_or_pickle_of_a_scheduled_optimizer_steps_its_own_parameters():
    import copy
    import pickle

    w = nn.Parameter(cr.ones(1))
    opt = optim.SGD([w], lr=0.1)
    ls.StepLR(opt, 1)
    for clone in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        w2 = clone.param_groups[0]["params"][0]
        w2.grad, w.grad = cr.ones(1), cr.zeros(1)
        clone.step()
        assert w2.tolist() == [0.9] and w.tolist() == [1.0]


class _Decay:
    """A callable object: its attributes go into LambdaLR's state_dict, as PyTorch's."""

    def __init__(self, k):
        self.k = k

    def __call__(self, epoch):
        return self.k ** epoch


@pytest.mark.parametrize("name", ["LambdaLR", "MultiplicativeLR"])
def test_lambda_schedules_save_and_restore_their_callable_objects_as_torch(name):
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (cr, torch):
        S = getattr(lib.optim.lr_scheduler, name)
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=1.0)
        sched = S(opt, [_Decay(0.5)] if name == "LambdaLR" else lambda epoch: 0.9)
        opt2 = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=1.0)
        sched2 = S(opt2, [_Decay(0.9)] if name == "LambdaLR" else lambda epoch: 0.9)
        for _ in range(2):
            opt.step()
            sched.step()
        state = sched.state_dict()
        sched2.load_state_dict(state)
        opt2.step()
        sched2.step()
        seen.append((state["lr_lambdas"], state["last_epoch"], state["base_lrs"], opt2.param_groups[0]["lr"]))
    assert seen[0][:3] == seen[1][:3]
    assert seen[0][3] == pytest.approx(seen[1][3])


@pytest.mark.parametrize("min_lr", [0.05, [0.05]])
def test_reduce_on_plateau_after_add_param_group_and_its_state_dict_as_torch(min_lr):
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (cr, torch):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=1.0)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5, min_lr=min_lr)
        sched.step(1.0)
        opt.add_param_group({"params": [lib.nn.Parameter(lib.zeros(1))], "lr": 0.2})
        try:
            for m in (2.0, 2.0, 2.0):
                sched.step(m)
            outcome = [g["lr"] for g in opt.param_groups]
        except RuntimeError:
            outcome = "refused"
        state = sched.state_dict()
        seen.append((outcome, sorted(state), state["default_min_lr"], state["mode_worse"], state["min_lrs"]))
    assert seen[0] == seen[1]


_GROWING = {"StepLR": lambda S, o: S.StepLR(o, 1, 0.5), "ExponentialLR": lambda S, o: S.ExponentialLR(o, 0.5),
            "MultiStepLR": lambda S, o: S.MultiStepLR(o, [1, 3], 0.5),
            "CosineAnnealingLR": lambda S, o: S.CosineAnnealingLR(o, 4),
            "LinearLR": lambda S, o: S.LinearLR(o, 0.5, total_iters=3)}


@pytest.mark.parametrize("name", sorted(_GROWING))
def test_a_group_added_while_scheduled_moves_with_the_others_as_torch(name):
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (cr, torch):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=1.0, momentum=0.9)
        sched = _GROWING[name](lib.optim.lr_scheduler, opt)
        rates = []
        for i in range(4):
            opt.step()
            sched.step()
            if i == 1:  # progressive unfreezing: a new group mid-schedule
                opt.add_param_group({"params": [lib.nn.Parameter(lib.zeros(1))], "lr": 0.2})
            rates.append([g["lr"] for g in opt.param_groups])
        seen.append(rates)
    for ours, theirs in zip(*seen, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_warm_restarts_keep_t_cur_and_t_i_as_torch():
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (cr, torch):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=1.0)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, 3, 2)
        cycle = [(sched.T_cur, sched.T_i)]
        for _ in range(10):
            opt.step()
            sched.step()
            cycle.append((sched.T_cur, sched.T_i))
        for epoch in (0.5, 3.25, 10.0):
            sched.step(epoch)
            cycle.append((sched.T_cur, sched.T_i))
        state = sched.state_dict()
        seen.append((cycle, state["T_cur"], state["T_i"]))
    assert seen[0] == seen[1]


@pytest.mark.parametrize("name", ["MultiplicativeLR", "ExponentialLR", "LambdaLR", "StepLR"])
def test_a_tensor_lr_moves_as_torch_s(name):
    """Adam(lr=tensor(0.1)) under a schedule (MultiplicativeLR multiplied the initial rate, a
    Tensor shared with the group, in place: the rate stood still)."""
    torch = pytest.importorskip("torch")
    got = []
    for lib in (cr, torch):
        opt = lib.optim.Adam([lib.nn.Parameter(lib.zeros(2))], lr=lib.tensor(np.array(0.1)))
        args = {"MultiplicativeLR": (_wobble,), "ExponentialLR": (0.9,), "LambdaLR": (_wobble,), "StepLR": (2, 0.5)}
        sched = getattr(lib.optim.lr_scheduler, name)(opt, *args[name])
        rates = []
        for _ in range(8):
            opt.step()
            sched.step()
            rates.append((float(opt.param_groups[0]["lr"]), float(opt.param_groups[0]["initial_lr"])))
        got.append(rates)
    np.testing.assert_allclose(got[0], got[1], rtol=1e-13)


RESUMED = {"CosineAnnealingWarmRestarts": {"T_0": 3, "T_mult": 2}, "CyclicLR": {"base_lr": 0.01, "max_lr": 0.1,
           "step_size_up": 3}, "OneCycleLR": {"max_lr": 1.0, "total_steps": 20}, "MultiStepLR": {"milestones": [3, 7]},
           "LinearLR": {"total_iters": 8}, "CosineAnnealingLR": {"T_max": 7}, "PolynomialLR": {"total_iters": 8},
           "MultiplicativeLR": {"lr_lambda": _wobble}}


@pytest.mark.parametrize("name", sorted(RESUMED))
def test_a_schedule_made_with_last_epoch_resumes_as_torch_s(name):
    """PyTorch's older way to resume: a new schedule made with last_epoch=n on the stepped optimizer
    (CosineAnnealingWarmRestarts starts T_cur at n and wraps it by T_i modulo, as PyTorch's: it
    subtracted T_i once)."""
    torch = pytest.importorskip("torch")
    got = []
    for lib in (cr, torch):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=0.1, momentum=0.9)
        make = getattr(lib.optim.lr_scheduler, name)
        sched = make(opt, **RESUMED[name])
        for _ in range(5):
            opt.step()
            sched.step()
        again = make(opt, last_epoch=sched.last_epoch, **RESUMED[name])
        rates = [opt.param_groups[0]["lr"]]
        for _ in range(6):
            opt.step()
            again.step()
            rates.append(opt.param_groups[0]["lr"])
        got.append(rates)
    np.testing.assert_allclose(got[0], got[1], rtol=1e-13)



def _comparable(v, near=False):
    """A state_dict entry as compared with PyTorch's: numbers as floats (``near``: to rounding),
    containers entry by entry, a function (PyTorch's None for one) as None."""
    if isinstance(v, dict):
        return {k: _comparable(x, near) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_comparable(x, near) for x in v]
    if isinstance(v, bool | str) or v is None or callable(v):
        return None if callable(v) else v
    return pytest.approx(float(v), rel=1e-12, abs=1e-15) if near else float(v)


EVERY_SCHEDULE = {
    "StepLR": lambda S, opt: S.StepLR(opt, 3, 0.5),
    "MultiStepLR": lambda S, opt: S.MultiStepLR(opt, [2, 5, 5]),
    "ExponentialLR": lambda S, opt: S.ExponentialLR(opt, 0.9),
    "CosineAnnealingLR": lambda S, opt: S.CosineAnnealingLR(opt, 6),
    "CosineAnnealingWarmRestarts": lambda S, opt: S.CosineAnnealingWarmRestarts(opt, 2, 2),
    "LambdaLR": lambda S, opt: S.LambdaLR(opt, _wobble),
    "MultiplicativeLR": lambda S, opt: S.MultiplicativeLR(opt, _wobble),
    "LinearLR": lambda S, opt: S.LinearLR(opt, total_iters=4),
    "ConstantLR": lambda S, opt: S.ConstantLR(opt, total_iters=4),
    "PolynomialLR": lambda S, opt: S.PolynomialLR(opt, 6),
    "OneCycleLR": lambda S, opt: S.OneCycleLR(opt, 1.0, total_steps=20),
    "CyclicLR": lambda S, opt: S.CyclicLR(opt, 0.01, 0.1, 3),
    "SequentialLR": lambda S, opt: S.SequentialLR(opt, [S.LinearLR(opt, total_iters=2), S.ExponentialLR(opt, 0.9),
                                                        S.MultiplicativeLR(opt, _wobble)], milestones=[3, 5]),
    "ChainedScheduler": lambda S, opt: S.ChainedScheduler([S.ConstantLR(opt, total_iters=3),
                                                           S.ExponentialLR(opt, 0.9)]),
}


@pytest.mark.parametrize("steps", [2, 4, 7])
@pytest.mark.parametrize("name", sorted(EVERY_SCHEDULE))
def test_a_schedule_s_state_dict_holds_torch_s_keys_and_values(name, steps):
    """SequentialLR held more keys than PyTorch's, and the step counts and last rates of its
    schedules as they were made; CosineAnnealingWarmRestarts counted its steps, which PyTorch's
    does not."""
    torch = pytest.importorskip("torch")
    states = []
    for lib in (cr, torch):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=0.1, momentum=0.9)
        sched = EVERY_SCHEDULE[name](lib.optim.lr_scheduler, opt)
        for _ in range(steps):
            opt.step()
            sched.step()
        states.append(sched.state_dict())
    assert sorted(states[0]) == sorted(states[1])
    assert _comparable(states[0]) == _comparable(states[1], near=True)


def _group_pair(lib):
    return lib.optim.SGD([{"params": [lib.nn.Parameter(lib.zeros(2))]}, {"params": [lib.nn.Parameter(lib.zeros(1))]}],
                         lr=0.1, momentum=0.9)


REFUSED = {  # name -> what makes it, on (lr_scheduler, an optimizer of two groups)
    "LambdaLR count": lambda S, o: S.LambdaLR(o, [_wobble]),
    "LinearLR start": lambda S, o: S.LinearLR(o, start_factor=0),
    "LinearLR end": lambda S, o: S.LinearLR(o, end_factor=1.5),
    "ConstantLR factor": lambda S, o: S.ConstantLR(o, factor=1.5),
    "warm restarts T_0": lambda S, o: S.CosineAnnealingWarmRestarts(o, 0),
    "warm restarts T_mult": lambda S, o: S.CosineAnnealingWarmRestarts(o, 2, 0),
    "warm restarts epoch": lambda S, o: S.CosineAnnealingWarmRestarts(o, 2).step(-1),
    "plateau factor": lambda S, o: S.ReduceLROnPlateau(o, factor=1.0),
    "plateau mode": lambda S, o: S.ReduceLROnPlateau(o, mode="avg"),
    "plateau threshold mode": lambda S, o: S.ReduceLROnPlateau(o, threshold_mode="pct"),
    "plateau min_lr": lambda S, o: S.ReduceLROnPlateau(o, min_lr=[0.1]),
    "one cycle total": lambda S, o: S.OneCycleLR(o, 1.0),
    "one cycle total_steps": lambda S, o: S.OneCycleLR(o, 1.0, total_steps=0),
    "one cycle pct_start": lambda S, o: S.OneCycleLR(o, 1.0, total_steps=5, pct_start=1.5),
    "one cycle anneal": lambda S, o: S.OneCycleLR(o, 1.0, total_steps=5, anneal_strategy="exp"),
    "one cycle past its end": lambda S, o: [s.step() for s in [S.OneCycleLR(o, 1.0, total_steps=2)] * 3],
    "cyclic mode": lambda S, o: S.CyclicLR(o, 0.1, 1.0, mode="sawtooth"),
    "resume without initial_lr": lambda S, o: S.StepLR(o, 2, last_epoch=3),
    "sequential milestones": lambda S, o: S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(o, 2)], milestones=[1, 2]),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_schedule_refuses_bad_arguments_in_torch_s_words(case):
    """PyTorch's exception, its message (first line) at the start of ours."""
    torch = pytest.importorskip("torch")
    raised = []
    for lib in (torch, cr):
        with pytest.raises(Exception) as info, warnings.catch_warnings():  # noqa: PT011 - compared below
            warnings.simplefilter("ignore")
            REFUSED[case](lib.optim.lr_scheduler, _group_pair(lib))
        raised.append(info.value)
    assert type(raised[1]) is type(raised[0])
    assert str(raised[1]).startswith(str(raised[0]).split("\\n")[0])


@pytest.mark.parametrize("name", ["StepLR", "OneCycleLR", "CyclicLR", "ChainedScheduler"])
def test_an_optimizer_step_replaced_after_the_schedule_was_made_warns_as_torch(name):
    """(PyTorch warns that the schedule cannot tell whether the optimizer stepped; it did not)"""
    torch = pytest.importorskip("torch")
    caught = []
    for lib in (cr, torch):
        opt = lib.optim.SGD(lib.nn.Linear(2, 1).parameters(), lr=0.1, momentum=0.9)
        sched = _one_schedule(lib, name, opt)
        step = opt.step
        opt.step = lambda *args, step=step, **kwargs: step(*args, **kwargs)  # a wrapper, as a logging library adds
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            for _ in range(3):
                opt.step()
                sched.step()
        caught.append([str(w.message)[:60] for w in record if "overridden" in str(w.message)])
    assert caught[0] == caught[1] and caught[0]  # (one per schedule of a ChainedScheduler, as there)


def test_no_warm_up_leaves_the_rate_as_torch_s_closed_form():
    """total_iters=0 (a warm-up switched off in a config): the rate is the initial one, as PyTorch's
    closed form gives it for ConstantLR (and LinearLR its end_factor times it, the end of an empty
    window); PyTorch's recursive form keeps factor (start_factor) times it for good
    (pytorch/pytorch#193682, a difference kept on purpose)."""
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    theirs = torch.optim.lr_scheduler.ConstantLR(opt, 0.25, total_iters=0)
    ours = ls.ConstantLR(optim.SGD([cr.nn.Parameter(cr.zeros(1))], lr=0.5), 0.25, total_iters=0)
    linear = ls.LinearLR(optim.SGD([cr.nn.Parameter(cr.zeros(1))], lr=0.5), 0.25, 0.8, total_iters=0)
    for epoch in range(4):
        theirs.last_epoch = epoch
        assert ours.get_last_lr() == theirs._get_closed_form_lr() == [0.5]
        assert linear.get_last_lr() == [0.5 * 0.8]
        for s in (ours, linear):
            s.optimizer.step()
            s.step()


def _users_warm_up(base):
    """A schedule of the user's, as written for PyTorch: get_lr only."""
    class WarmUp(base):
        def __init__(self, optimizer, steps, last_epoch=-1):
            self.steps = steps
            super().__init__(optimizer, last_epoch)

        def get_lr(self):
            return [lr * min(1.0, (self.last_epoch + 1) / self.steps) for lr in self.base_lrs]
    return WarmUp


SEQUENCES_OF_CYCLES = {  # on (lib.optim, optimizer)
    "warm-up then cyclic": lambda O, o: O.lr_scheduler.SequentialLR(
        o, [O.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=3),
            O.lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=3)], [4]),
    "cyclic then decay": lambda O, o: O.lr_scheduler.SequentialLR(
        o, [O.lr_scheduler.CyclicLR(o, 0.01, 0.1, step_size_up=2, mode="triangular2"),
            O.lr_scheduler.ExponentialLR(o, 0.9)], [8]),
    "warm-up then one cycle": lambda O, o: O.lr_scheduler.SequentialLR(
        o, [O.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=3),
            O.lr_scheduler.OneCycleLR(o, [1.0, 0.5], total_steps=30, three_phase=True)], [4]),
    "one cycle then decay": lambda O, o: O.lr_scheduler.SequentialLR(
        o, [O.lr_scheduler.OneCycleLR(o, 1.0, total_steps=10), O.lr_scheduler.ExponentialLR(o, 0.9)], [8]),
    "cosine then swa": lambda O, o: O.lr_scheduler.SequentialLR(
        o, [O.lr_scheduler.CosineAnnealingLR(o, 10), O.swa_utils.SWALR(o, swa_lr=0.05, anneal_epochs=4)], [6]),
    "warm-up of the user's then decay": lambda O, o: O.lr_scheduler.SequentialLR(
        o, [_users_warm_up(O.lr_scheduler.LRScheduler)(o, 4), O.lr_scheduler.ExponentialLR(o, 0.9)], [5]),
    "cosine and swa chained": lambda O, o: O.lr_scheduler.ChainedScheduler(
        [O.lr_scheduler.CosineAnnealingLR(o, 10),
         O.swa_utils.SWALR(o, swa_lr=0.05, anneal_epochs=4, anneal_strategy="linear")]),
}


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
@pytest.mark.parametrize("case", sorted(SEQUENCES_OF_CYCLES))
def test_a_cyclic_schedule_in_sequential_lr_as_torch_s(case, optimizer):
    """SequentialLR over CyclicLR, OneCycleLR, SWALR or a schedule of the user's, whose rates (and
    momentum) come from their own steps: it raised a bare NotImplementedError."""
    torch = pytest.importorskip("torch")
    got = []
    for lib in (cr, torch):
        groups = [{"params": [lib.nn.Parameter(lib.zeros(2))]}, {"params": [lib.nn.Parameter(lib.zeros(1))]}]
        extra = {"momentum": 0.9} if optimizer == "SGD" else {}
        opt = getattr(lib.optim, optimizer)(groups, lr=0.1, **extra)
        sched = SEQUENCES_OF_CYCLES[case](lib.optim, opt)
        seen = []
        for _ in range(20):
            opt.step()
            sched.step()
            seen.append([(g["lr"], g.get("momentum", g.get("betas", (0,))[0])) for g in opt.param_groups])
        got.append(seen)
    np.testing.assert_allclose(np.array(got[0], float), np.array(got[1], float), rtol=1e-13)


@pytest.mark.parametrize("name", ["OneCycleLR", "CyclicLR", "ReduceLROnPlateau", "CosineAnnealingWarmRestarts"])
def test_a_tensor_lr_stays_a_tensor_as_torch_s(name):
    """Adam(lr=tensor(0.1)): PyTorch's schedules keep the group's rate a Tensor (these set a
    number), and so the state_dict's groups."""
    torch = pytest.importorskip("torch")
    got = []
    for lib in (cr, torch):
        opt = lib.optim.Adam([lib.nn.Parameter(lib.zeros(2))], lr=lib.tensor(np.array(0.1)))
        args, kwargs = {"OneCycleLR": ((1.0,), {"total_steps": 20, "cycle_momentum": False}),
                        "CyclicLR": ((0.01, 0.1, 3), {"cycle_momentum": False}),
                        "ReduceLROnPlateau": ((), {"patience": 1, "factor": 0.5}),
                        "CosineAnnealingWarmRestarts": ((3,), {})}[name]
        sched = getattr(lib.optim.lr_scheduler, name)(opt, *args, **kwargs)
        seen = []
        for _ in range(8):
            opt.step()
            sched.step(1.0) if name == "ReduceLROnPlateau" else sched.step()
            lr = opt.param_groups[0]["lr"]
            seen.append((type(lr).__name__, float(lr), type(sched.get_last_lr()[0]).__name__,
                         type(opt.state_dict()["param_groups"][0]["lr"]).__name__))
        got.append(seen)
    assert [(s[0], s[2], s[3]) for s in got[0]] == [(s[0], s[2], s[3]) for s in got[1]]
    np.testing.assert_allclose([s[1] for s in got[0]], [s[1] for s in got[1]], rtol=1e-13)


def test_get_lr_outside_a_step_warns_and_gives_the_current_rates():
    """As PyTorch's it warns; its value is the rates get_last_lr() gives (PyTorch's StepLR would
    apply its decay once more at a boundary, a rate no step sets: a difference kept on purpose)."""
    opt = optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1)
    sched = ls.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(4):
        opt.step()
        sched.step()
        with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
            assert sched.get_lr() == sched.get_last_lr() == [g["lr"] for g in opt.param_groups]

"""Optimizers: trajectories against torch.optim on a fixed problem, resuming from a
state_dict, parameter groups, gradient clipping, and argument errors."""

import copy

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim

rng = np.random.default_rng(0)
X = rng.standard_normal((16, 5))
Y = rng.integers(0, 3, 16)
STEPS = 6


def make_model(dtype=np.float64):
    return nn.Sequential(nn.Linear(5, 4, dtype=dtype, rng=1), nn.Tanh(), nn.Linear(4, 3, dtype=dtype, rng=2))


def run_ours(cls, kwargs, steps=STEPS, dtype=np.float64):
    model = make_model(dtype)
    opt = cls(model.parameters(), **kwargs)
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(X.astype(dtype)), Y).backward()
        opt.step()
        trajectory.append([p.detach().numpy().copy() for p in model.parameters()])
    return trajectory


def run_torch(name, kwargs, steps=STEPS):
    torch = pytest.importorskip("torch")
    ours = make_model()
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3)).double()
    with torch.no_grad():
        for p, q in zip(model.parameters(), ours.parameters(), strict=True):
            p.copy_(torch.tensor(q.detach().numpy()))
    opt = getattr(torch.optim, name)(model.parameters(), **kwargs)
    x, y = torch.tensor(X), torch.tensor(Y)
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        trajectory.append([p.detach().numpy().copy() for p in model.parameters()])
    return trajectory


CASES = {
    "sgd": ("SGD", {"lr": 0.1}),
    "sgd_momentum_dampening": ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    "sgd_nesterov_weight_decay": ("SGD", {"lr": 0.1, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05}),
    "sgd_maximize": ("SGD", {"lr": 0.05, "momentum": 0.5, "maximize": True}),
    "adam": ("Adam", {"lr": 0.05}),
    "adam_weight_decay_betas": ("Adam", {"lr": 0.02, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.1}),
    "adam_amsgrad": ("Adam", {"lr": 0.05, "amsgrad": True}),
    "adamw": ("AdamW", {"lr": 0.05}),
    "adamw_amsgrad": ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
    "adam_decoupled": ("Adam", {"lr": 0.05, "weight_decay": 0.3, "decoupled_weight_decay": True}),
    "rmsprop": ("RMSprop", {"lr": 0.01}),
    "rmsprop_centered_momentum_wd": (
        "RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.7, "centered": True, "weight_decay": 0.1}
    ),
    "adagrad": ("Adagrad", {"lr": 0.1}),
    "adagrad_decay_wd_initial": (
        "Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.2}
    ),
    "adamax": ("Adamax", {}),
    "adamax_wd_maximize": ("Adamax", {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1, "maximize": True}),
    "nadam": ("NAdam", {"lr": 0.05}),
    "nadam_wd_momentum_decay": ("NAdam", {"lr": 0.03, "weight_decay": 0.1, "momentum_decay": 0.01}),
    "nadamw": ("NAdam", {"lr": 0.03, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    "radam": ("RAdam", {"lr": 0.05}),
    "radam_wd": ("RAdam", {"lr": 0.05, "betas": (0.5, 0.6), "weight_decay": 0.05}),
    "radamw": ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    "adadelta": ("Adadelta", {}),
    "adadelta_rho_wd_maximize": ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.1,
                                              "maximize": True}),
    "rprop": ("Rprop", {}),
    "rprop_etas_sizes": ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.1)}),
    "asgd": ("ASGD", {"lr": 0.05}),
    "asgd_averaging_wd_maximize": ("ASGD", {"lr": 0.1, "lambd": 0.05, "alpha": 0.5, "t0": 3, "weight_decay": 0.1,
                                            "maximize": True}),
    "adafactor": ("Adafactor", {"lr": 0.05}),
    "adafactor_decay_eps_d_wd_maximize": ("Adafactor", {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-20, 1e-2),
                                                        "d": 1.5, "weight_decay": 0.1, "maximize": True}),
}
# added after torch.optim's first five, checked over a longer run and to a tighter tolerance
LATER = ("adamax", "nadam", "radam", "adadelta", "rprop", "asgd", "adafactor")


@pytest.mark.torch
@pytest.mark.parametrize("case", sorted(CASES))
def test_trajectory_matches_torch(case):
    name, kwargs = CASES[case]
    theirs = run_torch(name, kwargs)
    ours = run_ours(getattr(optim, name), kwargs)
    for step, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        for pa, pb in zip(a, b, strict=True):
            np.testing.assert_allclose(pa, pb, rtol=1e-6, atol=1e-9, err_msg=f"step {step + 1}")
    # the parameters did move: the comparison is not between two unchanged models
    assert not np.allclose(ours[-1][0], make_model().state_dict()["0.weight"].numpy())


@pytest.mark.torch
@pytest.mark.parametrize("case", sorted(c for c in CASES if c.startswith(LATER)))
def test_twenty_steps_match_torch_closely(case):
    name, kwargs = CASES[case]
    theirs = run_torch(name, kwargs, steps=20)
    ours = run_ours(getattr(optim, name), kwargs, steps=20)
    for step, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        for pa, pb in zip(a, b, strict=True):
            np.testing.assert_allclose(pa, pb, rtol=1e-10, atol=1e-12, err_msg=f"step {step + 1}")


@pytest.mark.torch
@pytest.mark.parametrize("default", ["float32", "float64"])
def test_nadam_keeps_its_momentum_product_in_the_default_dtype_as_torch(default):
    # torch.optim.NAdam's mu_product is a float32 scalar, float64 once that is the default
    torch = pytest.importorskip("torch")
    weights = []
    for L in (cr, torch):
        L.set_default_dtype(getattr(L, default))
        try:
            w = L.tensor([1.0, -2.0, 3.0], dtype=L.float64, requires_grad=True)
            opt = L.optim.NAdam([w], lr=0.05)
            for _ in range(10):
                opt.zero_grad()
                (w.sin() * w).sum().backward()
                opt.step()
        finally:
            L.set_default_dtype(L.float32 if L is torch else None)
        weights.append(w.detach().numpy())
    np.testing.assert_allclose(weights[0], weights[1], rtol=1e-13)


ALL = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam", "Adadelta", "Rprop", "ASGD"]


@pytest.mark.torch
@pytest.mark.parametrize("flags", [{"foreach": False}, {"foreach": True}, {"fused": False}, {"capturable": False}])
@pytest.mark.parametrize("name", ALL)
def test_kernel_switches_are_taken_and_kept_as_torch_s(name, flags):
    torch = pytest.importorskip("torch")
    groups = []
    for L in (cr, torch):
        w = L.zeros(2, requires_grad=True)
        try:
            groups.append({k: v for k, v in getattr(L.optim, name)([w], lr=0.1, **flags).param_groups[0].items()
                           if k != "params"})
        except TypeError:  # an argument this optimizer does not have, in PyTorch too
            groups.append("TypeError")
    assert groups[0] == groups[1]


def test_a_differentiable_step_is_refused_with_the_way_out():
    with pytest.raises(NotImplementedError, match="chainrule.grad"):
        optim.SGD(make_model().parameters(), lr=0.1, differentiable=True)


def test_adam_with_decoupled_weight_decay_is_adamw():
    kwargs = {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}
    ours = run_ours(optim.Adam, {**kwargs, "decoupled_weight_decay": True})
    for a, b in zip(ours, run_ours(optim.AdamW, kwargs), strict=True):
        for pa, pb in zip(a, b, strict=True):
            np.testing.assert_array_equal(pa, pb)
    assert optim.AdamW(make_model().parameters()).param_groups[0]["decoupled_weight_decay"] is True


@pytest.mark.torch
@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adadelta", "Rprop", "ASGD",
                                  "Adafactor"])
def test_defaults_and_state_keys_are_torch_s(name):
    torch = pytest.importorskip("torch")
    ours = getattr(optim, name)(make_model().parameters())
    theirs = getattr(torch.optim, name)(torch.nn.Linear(5, 4).parameters())
    assert ours.defaults == theirs.defaults
    run = run_ours(getattr(optim, name), {}, steps=1)
    assert run
    model = make_model()
    opt = getattr(optim, name)(model.parameters())
    F.cross_entropy(model(X), Y).backward()
    opt.step()
    tmodel = torch.nn.Linear(5, 4).double()
    topt = getattr(torch.optim, name)(tmodel.parameters())
    tmodel(torch.tensor(X)).sum().backward()
    topt.step()
    assert sorted(opt.state_dict()["state"][0]) == sorted(topt.state_dict()["state"][0])


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_parameters_keep_float32_state(case):
    name, kwargs = CASES[case]
    model = make_model(np.float32)
    opt = getattr(optim, name)(model.parameters(), **kwargs)
    for _ in range(2):
        opt.zero_grad()
        F.cross_entropy(model(X.astype(np.float32)), Y).backward()
        opt.step()
    for p in model.parameters():
        assert p.dtype == np.float32
        for key, v in opt.state[p].items():
            assert isinstance(v, cr.Tensor), key
            if v.ndim or key == "step":
                assert v.dtype == np.float32, key


@pytest.mark.parametrize("case", ["sgd_momentum_dampening", "adam_amsgrad", "rmsprop_centered_momentum_wd", "adagrad",
                                  "asgd_averaging_wd_maximize"])
def test_resuming_from_state_dict_continues_the_same_trajectory(case):
    name, kwargs = CASES[case]
    cls = getattr(optim, name)
    straight = run_ours(cls, kwargs, steps=6)[-1]

    model = make_model()
    opt = cls(model.parameters(), **kwargs)

    def step(m, o):
        o.zero_grad()
        F.cross_entropy(m(X), Y).backward()
        o.step()

    for _ in range(3):
        step(model, opt)
    saved_model = copy.deepcopy(model.state_dict())
    saved_opt = opt.state_dict()
    step(model, opt)  # the saved copies must not see this step
    resumed = make_model()
    resumed.load_state_dict({k: v.numpy() for k, v in saved_model.items()})
    opt2 = cls(resumed.parameters(), lr=123.0)  # options come back from the state_dict
    opt2.load_state_dict(saved_opt)
    assert opt2.param_groups[0]["lr"] == kwargs["lr"]
    for _ in range(3):
        step(resumed, opt2)
    for a, b in zip(straight, resumed.parameters(), strict=True):
        np.testing.assert_array_equal(a, b.detach().numpy())


def test_load_state_dict_checks_groups_and_shapes():
    opt = optim.Adam(make_model().parameters())
    other = optim.Adam(nn.Linear(5, 4).parameters())
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group \\(2 parameters saved, 4"):
        opt.load_state_dict(other.state_dict())
    model = make_model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt.zero_grad()
    F.cross_entropy(model(X), Y).backward()
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["momentum_buffer"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match="has shape \\(2, 2\\)"):
        optim.SGD(make_model().parameters(), lr=0.1, momentum=0.9).load_state_dict(sd)
    with pytest.raises(ValueError, match="not an optimizer state_dict"):
        opt.load_state_dict({"weights": 1})


def test_parameter_groups_and_frozen_parameters():
    model = make_model()
    opt = optim.SGD([{"params": model[0].parameters(), "lr": 0.0}, {"params": model[2].parameters()}], lr=0.1)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    F.cross_entropy(model(X), Y).backward()
    model[2].bias.grad = None  # a parameter without a gradient is left alone
    opt.step()
    after = [p.detach().numpy() for p in model.parameters()]
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])
    assert not np.array_equal(before[2], after[2])
    assert np.array_equal(before[3], after[3])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [model[0].weight]}, {"params": [model[0].weight]}], lr=0.1)
    # other keys of a group stay there, as in PyTorch (a group's name, a scheduler's values)
    named = optim.SGD([{"params": [model[0].weight], "name": "first"}], lr=0.1)
    assert named.param_groups[0]["name"] == "first" and named.state_dict()["param_groups"][0]["name"] == "first"


def test_argument_errors():
    params = list(make_model().parameters())
    with pytest.raises(ValueError, match="learning rate"):
        optim.SGD(params, lr=-1.0)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(params, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.Adam(params, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.Adam(params[0])
    computed = cr.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(ValueError, match="leaf"):
        optim.SGD([computed], lr=0.1)


def test_step_invalidates_graphs_that_saved_the_old_parameters():
    model = make_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    F.cross_entropy(model(X), Y).backward()
    loss = F.cross_entropy(model(X), Y)
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_closure_is_evaluated_with_gradients_enabled():
    model = make_model()
    opt = optim.SGD(model.parameters(), lr=0.1)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(model(X), Y)
        loss.backward()
        return loss

    with cr.no_grad():
        loss = opt.step(closure)
    assert loss.item() > 0


@pytest.mark.torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_matches_torch(norm_type):
    torch = pytest.importorskip("torch")
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    ours = [cr.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads, strict=True):
        (p * g).sum().backward()
        q.grad = torch.tensor(g)
    n1 = optim.clip_grad_norm_(ours, 0.5, norm_type)
    n2 = torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type)
    assert float(n1) == pytest.approx(float(n2), rel=1e-12)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)
    # below the threshold nothing changes
    before = [p.grad.numpy().copy() for p in ours]
    optim.clip_grad_norm_(ours, 1e6, norm_type)
    assert all(np.array_equal(a, p.grad.numpy()) for a, p in zip(before, ours, strict=True))


@pytest.mark.parametrize("norm_type", [2.0, "inf", 1.0])
def test_clip_grad_norm_refuses_a_nonfinite_norm_in_torch_s_words(norm_type):
    torch = pytest.importorskip("torch")
    said = []
    for lib in (torch, cr):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        (w * lib.tensor([np.inf, 1.0])).sum().backward()
        with pytest.raises(RuntimeError) as info:
            lib.nn.utils.clip_grad_norm_([w], 1.0, norm_type=norm_type, error_if_nonfinite=True)
        said.append(str(info.value))
    assert said[1].startswith(said[0])


def test_clip_grad_norm_errors_on_nonfinite_and_clip_value():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    (w * np.array([np.inf, 1.0])).sum().backward()
    with pytest.raises(RuntimeError, match="non-finite"):
        optim.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    v = cr.tensor([1.0, -2.0], requires_grad=True)
    (v * v).sum().backward()  # a broadcast, read-only gradient must still be clippable
    optim.clip_grad_value_([v], 1.5)
    assert v.grad.tolist() == [1.5, -1.5]


@pytest.mark.torch
def test_clipping_scales_the_gradient_tensors_in_place_as_pytorchs():
    # a reference to p.grad taken before clipping sees the clipped values, as PyTorch's
    # (code that logs or reuses grads = [p.grad for p in params]); the broadcast,
    # read-only gradient of a sum included
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (torch, cr):
        w = lib.tensor([3.0, 4.0], dtype=lib.float64, requires_grad=True)
        b = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
        (w * w).sum().backward()
        (b.sum() * 5).backward()
        held = [w.grad, b.grad]
        lib.nn.utils.clip_grad_norm_([w, b], 1.0)
        assert held[0] is w.grad and held[1] is b.grad
        lib.nn.utils.clip_grad_value_([w, b], 0.5)
        assert held[0] is w.grad and held[1] is b.grad
        seen.append([g.detach().numpy().copy() for g in held])
    for ours, theirs in zip(seen[1], seen[0], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("dtype, bad", [("float32", None), ("float64", None), ("float64", np.nan),
                                        ("float32", np.nan), ("float64", np.inf)])
def test_clipped_gradients_are_rounded_as_pytorchs_and_a_nan_norm_makes_them_nan(dtype, bad):
    # the factor is rounded as PyTorch's (in the norm's dtype, max_norm * reciprocal: float32
    # gradients agree bit for bit), and a NaN norm makes every gradient NaN, as PyTorch's
    # clamp(coef, max=1) keeps the NaN (float64 norms are summed in another order: 1 ulp)
    torch = pytest.importorskip("torch")
    draw = np.random.default_rng(0)  # (a norm whose division by max_norm rounds otherwise)
    grads = [draw.standard_normal(7).astype(dtype) * 3, draw.standard_normal((3, 2)).astype(dtype)]
    if bad is not None:
        grads[0][2] = bad
    seen = []
    for lib in (torch, cr):
        params = [lib.nn.Parameter(lib.zeros(g.shape, dtype=getattr(lib, dtype))) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = lib.tensor(g)
        norm = lib.nn.utils.clip_grad_norm_(params, 0.7)
        seen.append([norm.numpy()] + [p.grad.numpy().copy() for p in params])
    for ours, theirs in zip(seen[1], seen[0], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-15, atol=0)  # NaN where NaN


def test_a_custom_optimizer_written_for_pytorch_runs_and_agrees():
    torch = pytest.importorskip("torch")

    def make(lib):
        class MomentumSGD(lib.optim.Optimizer):  # self.state[p] made on first use, as PyTorch's
            def __init__(self, params, lr=0.01, momentum=0.9):
                super().__init__(params, dict(lr=lr, momentum=momentum))

            @lib.no_grad()
            def step(self, closure=None):
                loss = None
                if closure is not None:
                    with lib.enable_grad():
                        loss = closure()
                for group in self.param_groups:
                    for p in group["params"]:
                        if p.grad is None:
                            continue
                        state = self.state[p]
                        if "buf" not in state:
                            state["buf"] = lib.clone(p.grad).detach()
                        else:
                            state["buf"].mul_(group["momentum"]).add_(p.grad)
                        p.add_(state["buf"], alpha=-group["lr"])
                return loss
        return MomentumSGD

    rng = np.random.default_rng(0)
    w0, x0 = rng.normal(size=(3,)), rng.normal(size=(8, 3))
    runs = []
    for lib in (cr, torch):
        w = lib.nn.Parameter(lib.tensor(w0))
        opt = make(lib)([w], lr=0.05)
        x = lib.tensor(x0)

        def closure(opt=opt, w=w, x=x):
            opt.zero_grad()
            loss = ((x @ w).tanh() ** 2).sum()
            loss.backward()
            return loss
        runs.append(([opt.step(closure).item() for _ in range(5)], w.detach().numpy().copy(), len(opt.state)))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-13)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-13)
    assert runs[0][2] == runs[1][2] == 1


def _custom_optimizer(lib):
    class MomentumSGD(lib.optim.Optimizer):  # as research code subclasses Optimizer (torch's Adam as model)
        def __init__(self, params, lr=0.01, beta=0.9):
            super().__init__(params, dict(lr=lr, beta=beta))

        @lib.no_grad()
        def step(self, closure=None):
            loss = None
            if closure is not None:
                with lib.enable_grad():
                    loss = closure()
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if len(state) == 0:
                        state["step"] = 0
                        state["exp_avg"] = lib.zeros_like(p, memory_format=lib.preserve_format)
                    state["step"] += 1
                    state["exp_avg"].mul_(group["beta"]).add_(p.grad, alpha=1 - group["beta"])
                    p.add_(state["exp_avg"], alpha=-group["lr"])
            return loss

    return MomentumSGD


def test_an_optimizer_subclass_written_for_pytorch_trains_as_there():
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (cr, torch):
        w = lib.nn.Parameter(lib.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=lib.float64))
        b = lib.nn.Parameter(lib.tensor([0.1, -0.2], dtype=lib.float64))
        opt = _custom_optimizer(lib)([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
        x = lib.tensor([1.0, 2.0], dtype=lib.float64)
        losses = []

        def closure(opt=opt, w=w, b=b, x=x):
            opt.zero_grad()
            loss = ((w @ x + b) ** 2).sum()
            loss.backward()
            return loss

        for _ in range(3):
            losses.append(opt.step(closure).item())
        seen.append((losses, w.detach().numpy().tolist(), b.detach().numpy().tolist(), opt.state[w]["step"],
                     lib.ones_like(w, memory_format=lib.contiguous_format).shape == w.to(
                         memory_format=lib.channels_last if w.ndim == 4 else lib.preserve_format).shape))
    assert seen[0][3:] == seen[1][3:]
    np.testing.assert_allclose(np.array(seen[0][0]), np.array(seen[1][0]), rtol=1e-12)
    np.testing.assert_allclose(np.array(seen[0][1]), np.array(seen[1][1]), rtol=1e-12)
    np.testing.assert_allclose(np.array(seen[0][2]), np.array(seen[1][2]), rtol=1e-12)


@pytest.mark.parametrize("name, hyper", [("Adam", {}), ("AdamW", {"betas": (0.8, 0.9)}), ("SGD", {"momentum": 0.9}),
                                         ("RMSprop", {"alpha": 0.9})])
def test_tensor_hyperparameters_are_read_as_their_numbers_as_torch(name, hyper):
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (cr, torch):
        w = lib.nn.Parameter(lib.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=lib.float64))
        def t(x, lib=lib):
            return lib.tensor(x, dtype=lib.float64)

        kw = {k: tuple(t(x) for x in v) if isinstance(v, tuple) else t(v) for k, v in hyper.items()}
        opt = getattr(lib.optim, name)([w], lr=t(0.1), **kw)
        for _ in range(3):
            opt.zero_grad()
            ((w @ lib.tensor([1.0, 2.0], dtype=lib.float64) - 1) ** 2).sum().backward()
            opt.step()
        seen.append(w.detach().numpy())
    np.testing.assert_allclose(seen[0], seen[1], rtol=1e-12)


def _swa_run(lib, weights, X, Y, strategy):
    model = lib.nn.Sequential(lib.nn.Linear(3, 4, dtype=lib.float64), lib.nn.BatchNorm1d(4, dtype=lib.float64),
                              lib.nn.Linear(4, 1, dtype=lib.float64))
    model.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    swa_utils = lib.optim.swa_utils
    swa = swa_utils.AveragedModel(model)
    ema = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9))
    ema_buffers = swa_utils.AveragedModel(model, avg_fn=swa_utils.get_ema_avg_fn(0.8), use_buffers=True)
    # by lerp with the weight 1 / (n + 1) of PyTorch's integer division: float32 (it was float64)
    swa_multi = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    sched = swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=3, anneal_strategy=strategy)
    rates = []
    for epoch in range(6):
        opt.zero_grad()
        ((model(lib.tensor(X)) - lib.tensor(Y)) ** 2).mean().backward()
        opt.step()
        if epoch >= 2:
            swa.update_parameters(model)
            swa_multi.update_parameters(model)
            sched.step()
        ema.update_parameters(model)
        ema_buffers.update_parameters(model)
        rates.append(opt.param_groups[0]["lr"])
    swa_utils.update_bn([(lib.tensor(X[:3]),), (lib.tensor(X[3:]),)], swa)
    outputs = [m(lib.tensor(X)).detach().numpy() for m in (swa, ema, ema_buffers, swa_multi)]
    return rates, outputs, {k: np.asarray(v.detach().numpy(), float) for k, v in swa.state_dict().items()}


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_swa_utils_average_anneal_and_update_bn_as_torch(strategy):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 1))
    torch.manual_seed(0)
    f64 = torch.float64
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4, dtype=f64), torch.nn.BatchNorm1d(4, dtype=f64),
                                    torch.nn.Linear(4, 1, dtype=f64))
    weights = {k: v.detach().numpy().copy() for k, v in reference.state_dict().items()}
    ours, theirs = _swa_run(cr, weights, X, Y, strategy), _swa_run(torch, weights, X, Y, strategy)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    for a, b in zip(ours[1], theirs[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert sorted(ours[2]) == sorted(theirs[2])
    for k in theirs[2]:
        np.testing.assert_allclose(ours[2][k], theirs[2][k], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, kwargs", [
    ("Adam", {}), ("AdamW", {}), ("SGD", {"momentum": 0.9}), ("RMSprop", {}), ("RMSprop", {"centered": True}),
    ("Adamax", {}), ("NAdam", {}), ("RAdam", {}), ("Adagrad", {}),
])
def test_a_parameter_turned_double_after_its_state_was_made_as_torch(name, kwargs):
    # PyTorch's lerp of a float32 state toward a float64 gradient raises (Adam's exp_avg);
    # updates without one go on with the float32 state (SGD's momentum buffer)
    torch = pytest.importorskip("torch")
    outcomes = []
    for lib in (cr, torch):
        model = lib.nn.Linear(2, 2)
        with lib.no_grad():
            model.weight.copy_(lib.tensor([[0.1, -0.2], [0.3, 0.4]]))
            model.bias.copy_(lib.tensor([0.5, -0.5]))
        opt = getattr(lib.optim, name)(model.parameters(), lr=0.1, **kwargs)
        model(lib.ones(1, 2)).sum().backward()
        opt.step()
        opt.zero_grad()
        model.double()
        model(lib.ones(1, 2, dtype=lib.float64)).sum().backward()
        try:
            opt.step()
        except RuntimeError as e:
            outcomes.append(str(e))
            continue
        outcomes.append((np.array(model.weight.tolist()), sorted(str(v.dtype).removeprefix("torch.")
                                                                  for v in opt.state[model.weight].values())))
    ours, theirs = outcomes
    if isinstance(theirs, str):
        assert isinstance(ours, str) and "parameter 0 of param_groups[0] is now float64" in ours
        assert "create the optimizer after .double()" in ours
    else:
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
        assert ours[1] == theirs[1]


def test_repr_is_torch_s():
    """A blank line between the groups, as PyTorch's."""
    torch = pytest.importorskip("torch")
    seen = [repr(lib.optim.Adam([{"params": [lib.nn.Parameter(lib.zeros(2))]},
                                 {"params": [lib.nn.Parameter(lib.zeros(1))], "lr": 0.5}])) for lib in (cr, torch)]
    assert seen[0] == seen[1]


@pytest.mark.parametrize("options", [{"anneal_strategy": "exp"}, {"anneal_epochs": -1}])
def test_swalr_refuses_bad_arguments_in_torch_s_words(options):
    torch = pytest.importorskip("torch")
    said = []
    for lib in (torch, cr):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=0.1)
        with pytest.raises(ValueError) as info:
            lib.optim.swa_utils.SWALR(opt, swa_lr=0.05, **options)
        said.append(str(info.value))
    assert said[1].startswith(said[0])

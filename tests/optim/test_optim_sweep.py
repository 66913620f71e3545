"""chainrule.optim against torch.optim, table-driven: every optimizer both expose, over
its keyword arguments (lr a float and a 0-d Tensor, weight decay, momenta, betas, eps,
the kernel switches), with parameter groups of their own settings, a parameter that gets
no gradient in some steps, complex parameters, zero_grad(set_to_none=False), a group
added mid-run and torch's state_dict (as NumPy arrays) loaded and continued. Five steps
in float64 from the same parameters and gradients: the parameters, the state (keys,
values, ``step``'s dtype) and the groups must agree, but for the differences kept on
purpose, listed in KNOWN with their reasons. Invalid arguments raise torch's class."""

import inspect

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STEPS = 5
RNG = np.random.default_rng(2024)
SHAPES = [(3, 2), (4,), (2, 3)]  # the third is left out of some steps' gradients, or added mid-run
VALUES = [RNG.standard_normal(s) for s in SHAPES]
GRADS = [[RNG.standard_normal(s) for s in SHAPES] for _ in range(STEPS)]
CVALUES = [v + 1j * RNG.standard_normal(v.shape) for v in VALUES]
CGRADS = [[g + 1j * RNG.standard_normal(g.shape) for g in gs] for gs in GRADS]
SVALUES = [RNG.standard_normal(()) for _ in SHAPES]  # 0-d parameters
SGRADS = [[RNG.standard_normal(()) for _ in SHAPES] for _ in range(STEPS)]

# (optimizer, options, how): how ⊂ {"groups": the third parameter in a group of its own options,
#  "skip": it gets no gradient at steps 1 and 3, "zero": zero_grad(set_to_none=False) between steps,
#  "add": its group added after step 2, "complex": complex parameters, "scalar": 0-d parameters,
#  "tlr": lr a 0-d Tensor, "tbetas": betas 0-d Tensors}
ROWS = [
    ("SGD", {"lr": 0.1}, "skip"),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.2, "weight_decay": 0.1}, "groups skip"),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True, "foreach": True}, "zero skip"),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "foreach": False, "fused": False}, "add complex tlr"),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "fused": True}, "groups skip"),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-6, "weight_decay": 0.1}, "groups skip"),
    ("Adam", {"lr": 0.05, "fused": True, "amsgrad": True}, "skip tlr"),
    ("AdamW", {"lr": 0.05, "fused": True}, "zero skip add"),
    ("Adam", {"lr": 0.05, "amsgrad": True, "maximize": True, "foreach": True}, "zero skip"),
    ("Adam", {"lr": 0.05, "weight_decay": 0.2, "decoupled_weight_decay": True, "fused": False}, "add complex"),
    ("Adam", {"lr": 0.05, "amsgrad": True, "capturable": False, "differentiable": False}, "complex skip tlr"),
    ("AdamW", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.3}, "groups zero skip"),
    ("AdamW", {"lr": 0.05, "foreach": False}, "add complex tlr"),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.1}, "groups skip"),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "maximize": True}, "zero skip complex"),
    ("RMSprop", {"lr": 0.01, "centered": True, "foreach": True}, "add tlr"),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.5}, "groups skip"),
    ("Adagrad", {"lr": 0.1, "eps": 1e-6, "maximize": True, "foreach": True}, "zero skip complex tlr"),
    ("Adagrad", {"lr": 0.1, "fused": False}, "add"),
    ("Adagrad", {"lr": 0.1, "fused": True}, "groups skip"),
    ("Adamax", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-6, "weight_decay": 0.1}, "groups skip"),
    ("Adamax", {"lr": 0.05, "maximize": True, "foreach": True}, "zero skip complex tlr"),
    ("NAdam", {"lr": 0.05, "momentum_decay": 0.01, "weight_decay": 0.1}, "groups skip"),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}, "zero skip"),
    ("NAdam", {"lr": 0.05, "betas": (0.8, 0.9), "foreach": True}, "add complex tlr"),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1}, "groups skip"),
    ("RAdam", {"lr": 0.05, "betas": (0.5, 0.6), "weight_decay": 0.1, "decoupled_weight_decay": True,
               "maximize": True}, "zero skip"),
    ("RAdam", {"lr": 0.05, "foreach": True}, "add complex tlr"),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1}, "groups skip"),
    ("Adadelta", {"lr": 0.5, "maximize": True, "foreach": True}, "zero skip complex tlr"),
    ("Rprop", {"lr": 0.05, "etas": (0.4, 1.5), "step_sizes": (1e-3, 0.08)}, "groups skip"),
    ("Rprop", {"lr": 0.05, "maximize": True, "foreach": True}, "zero skip complex tlr"),
    ("ASGD", {"lr": 0.05, "lambd": 0.1, "alpha": 0.5, "t0": 2, "weight_decay": 0.1}, "groups skip"),
    ("ASGD", {"lr": 0.05, "t0": 1, "maximize": True, "foreach": True}, "zero skip complex tlr"),
    ("Adafactor", {"lr": 0.05, "beta2_decay": -0.5, "d": 2.0, "weight_decay": 0.1}, "groups skip"),
    ("Adafactor", {"lr": 0.05, "eps": (1e-20, 1e-2), "maximize": True, "foreach": False}, "zero skip add tlr"),
    ("Adafactor", {"lr": 0.05}, "scalar skip"), ("Adam", {"lr": 0.05, "amsgrad": True}, "scalar skip add"),
    ("NAdam", {"lr": 0.05}, "scalar groups"), ("Rprop", {"lr": 0.05}, "scalar zero skip"),
    ("ASGD", {"lr": 0.05, "t0": 1}, "scalar add"),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9), "amsgrad": True}, "tbetas tlr skip groups"),
    ("AdamW", {"lr": 0.05, "betas": (0.8, 0.9), "foreach": False, "capturable": False}, "tbetas zero complex"),
]


def _id(row):
    return f"{row[0]}-{'-'.join(f'{k}={v}' for k, v in row[1].items())}-{row[2].replace(' ', '+')}"


IDS = [_id(r) for r in ROWS]

# (row id, what) -> why chainrule differs on purpose; `what` names the check that differs
KNOWN: dict[tuple[str, str], str] = {}


def _lib(L):
    return torch if L == "torch" else cr


def _tensor(L, a):
    return torch.tensor(a) if L == "torch" else cr.tensor(a)


def _params(L, how, values=None):
    values = values if values is not None else CVALUES if "complex" in how else SVALUES if "scalar" in how else VALUES
    return [_lib(L).nn.Parameter(_tensor(L, np.array(v))) for v in values]


def _groups(L, name, opts, how, params):
    """The optimizer's first groups: all three parameters in one group, or the third in a group of
    its own lr (and weight decay where there is one), or left out to be added mid-run."""
    if "tlr" in how:
        opts = {**opts, "lr": _tensor(L, np.array(opts["lr"]))}
    if "tbetas" in how:
        opts = {**opts, "betas": tuple(_tensor(L, np.array(b)) for b in opts["betas"])}
    if "groups" in how:
        own = {"params": [params[2]], "lr": 0.02}
        if "weight_decay" in opts:
            own["weight_decay"] = 0.0
        groups = [{"params": params[:2]}, own]
    else:
        groups = [{"params": params[:2] if "add" in how else params}]
    return getattr(_lib(L).optim, name)(groups, **opts)


def _add(L, opt, params):
    opt.add_param_group({"params": [params[2]], "lr": 0.03})


def _step(L, opt, params, k, how):
    """Step ``k`` with the table's gradients (the first parameters' made to depend on the iterate)."""
    grads = CGRADS[k] if "complex" in how else SGRADS[k] if "scalar" in how else GRADS[k]
    opt.zero_grad(set_to_none="zero" not in how)
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        if i == 2 and "skip" in how and k in (1, 3):
            continue
        g = g + 0.5 * p.detach().numpy()
        if p.grad is None:
            p.grad = _tensor(L, g)
        else:
            p.grad.copy_(_tensor(L, g))
    opt.step()


def _array(v):
    return v.detach().numpy() if isinstance(v, torch.Tensor | cr.Tensor) else v


def _same(ours, theirs, where, atol=1e-14, rtol=1e-12):
    """``ours`` (chainrule's state_dict entry) as ``theirs`` (torch's): Tensors where torch's
    are tensors, of the same dtype and shape, values to rtol 1e-12; other values equal."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, cr.Tensor), f"{where}: {type(ours).__name__}, torch's a tensor"
        a, b = ours.detach().numpy(), theirs.detach().numpy()
        assert (a.dtype, a.shape) == (b.dtype, b.shape), f"{where}: {a.dtype}{a.shape}, torch's {b.dtype}{b.shape}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=where)
    elif isinstance(theirs, tuple | list):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), f"{where}: {ours!r}, torch's {theirs!r}"
        for i, (x, y) in enumerate(zip(ours, theirs, strict=True)):
            _same(x, y, f"{where}[{i}]", atol, rtol)
    elif isinstance(theirs, float):
        assert type(ours) is float and ours == pytest.approx(theirs, rel=rtol, abs=atol), f"{where}: {ours!r}, " \
            f"torch's {theirs!r}"
    else:
        assert type(ours) is type(theirs) and ours == theirs, f"{where}: {ours!r}, torch's {theirs!r}"


def _compare(opt, params, topt, tparams, where, loaded=False):
    for i, (p, q) in enumerate(zip(params, tparams, strict=True)):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=f"{where}: parameter {i}")
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert sorted(ours["state"]) == sorted(theirs["state"]), f"{where}: the parameters with state"
    for i, entry in theirs["state"].items():
        assert sorted(ours["state"][i]) == sorted(entry), f"{where}: state {i}'s keys"
        for k, v in entry.items():
            _same(ours["state"][i][k], v, f"{where}: state {i} {k!r}")
    assert len(ours["param_groups"]) == len(theirs["param_groups"])
    for j, (g, h) in enumerate(zip(ours["param_groups"], theirs["param_groups"], strict=True)):
        assert sorted(g) == sorted(h), f"{where}: group {j}'s keys"
        for k, v in h.items():
            if loaded and _as_arrays(v) is not v:  # a group's Tensors, loaded as the arrays they were given
                assert repr(g[k]) == repr(_as_arrays(v)), f"{where}: group {j} {k!r}: {g[k]!r}, torch's {v!r}"
            else:
                _same(g[k], v, f"{where}: group {j} {k!r}")


def _as_arrays(v):
    """torch's state_dict (or a value of it) with each tensor as a NumPy array (as a NumPy-only tool saves it);
    ``v`` itself where it holds no tensor."""
    if isinstance(v, torch.Tensor):
        return v.detach().numpy().copy()
    if isinstance(v, dict):
        return {k: _as_arrays(x) for k, x in v.items()}
    if isinstance(v, tuple | list):
        out = type(v)(_as_arrays(x) for x in v)
        return v if all(a is b for a, b in zip(out, v, strict=True)) else out
    return v


def _check(row, what, check):
    why = KNOWN.get((_id(row), what))
    if why is None:
        check()
    else:
        with pytest.raises(AssertionError):
            check()


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_five_steps_agree_with_torch(row):
    name, opts, how = row

    def run():
        runs = {}
        for L in ("torch", "cr"):
            params = _params(L, how)
            opt = _groups(L, name, opts, how, params)
            runs[L] = opt, params
        for k in range(STEPS):
            for L, (opt, params) in runs.items():
                if "add" in how and k == 2:
                    _add(L, opt, params)
                _step(L, opt, params, k, how)
            _compare(*runs["cr"], *runs["torch"], f"step {k + 1}")
    _check(row, "steps", run)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_torch_s_state_dict_as_arrays_loads_and_continues(row):
    name, opts, how = row

    def run():
        tparams = _params("torch", how)
        topt = _groups("torch", name, opts, how, tparams)
        for k in range(3):
            if "add" in how and k == 2:
                _add("torch", topt, tparams)
            _step("torch", topt, tparams, k, how)
        params = _params("cr", how, [p.detach().numpy() for p in tparams])
        opt = _groups("cr", name, opts, how, params)
        if "add" in how:
            _add("cr", opt, params)
        for p, q in zip(params, tparams, strict=True):  # zero_grad(set_to_none=False) kept zeros
            if q.grad is not None:
                p.grad = cr.zeros_like(p)
        saved = topt.state_dict()
        opt.load_state_dict(_as_arrays(saved))
        topt = _groups("torch", name, opts, how, tparams[:2] + tparams[2:] * ("add" not in how))
        if "add" in how:
            _add("torch", topt, tparams)
        topt.load_state_dict(saved)  # torch resumes too: its load casts the state to the parameters' dtype
        _compare(opt, params, topt, tparams, "loaded", loaded=True)
        for k in range(3, STEPS):
            _step("torch", topt, tparams, k, how)
            _step("cr", opt, params, k, how)
            _compare(opt, params, topt, tparams, f"step {k + 1} after the load", loaded=True)
    _check(row, "load", run)


# what both refuse, at construction or at the first step: the same exception class
REFUSED = [
    ("Adam", {"capturable": True}, ""), ("AdamW", {"capturable": True}, "complex"),
    ("RMSprop", {"capturable": True, "centered": True}, ""), ("NAdam", {"capturable": True}, ""),
    ("RAdam", {"capturable": True}, ""), ("Adamax", {"capturable": True}, ""),
    ("Adadelta", {"capturable": True}, ""), ("Rprop", {"capturable": True}, ""), ("ASGD", {"capturable": True}, ""),
    ("Adafactor", {}, "complex"), ("SGD", {"differentiable": True}, ""), ("Adam", {"differentiable": True}, ""),
    ("SGD", {"capturable": True}, ""), ("Adafactor", {"fused": True}, ""), ("RMSprop", {"fused": True}, ""),
]
REFUSED_IDS = [_id((n, {"lr": 0.05, **o}, h)) for n, o, h in REFUSED]
_STEP_OFF_GRAPH = ("differentiable=True: PyTorch's step then fails on the leaf parameters at the step (RuntimeError); "
                   "chainrule refuses at construction with NotImplementedError, naming optim.functional")
KNOWN.update({(i, "refused"): _STEP_OFF_GRAPH for i in REFUSED_IDS if "differentiable" in i})


@pytest.mark.parametrize("row", REFUSED, ids=REFUSED_IDS)
def test_what_torch_refuses_is_refused_with_its_class(row):
    name, opts, how = row
    raised = []
    for L in ("torch", "cr"):
        try:
            params = _params(L, how)
            _step(L, _groups(L, name, {"lr": 0.05, **opts}, how, params), params, 0, how)
            raised.append(None)
        except Exception as e:  # noqa: BLE001 - the class is what is compared
            raised.append(type(e))
    assert raised[0] is not None

    def same():
        assert raised[1] is raised[0]
    _check((name, {"lr": 0.05, **opts}, how), "refused", same)


def test_known_differences_are_rows():
    ids = set(IDS) | set(REFUSED_IDS) | {f"LBFGS-{i}" for i in range(len(LBFGS_ROWS))}
    assert {i for i, _ in KNOWN} <= ids


# -- L-BFGS: one group, a closure; the strong Wolfe line search and the tolerances ----------------
LBFGS_ROWS = [
    {"lr": 0.5, "max_iter": 4, "history_size": 3},
    {"line_search_fn": "strong_wolfe", "max_iter": 5, "tolerance_grad": 1e-5, "tolerance_change": 1e-6},
    {"line_search_fn": "strong_wolfe", "max_iter": 6, "max_eval": 8, "history_size": 2},
]
A = np.random.default_rng(7).standard_normal((4, 3))


def _lbfgs_run(L, opts, steps=3, w0=None, state=None):
    """L-BFGS's parameter, optimizer and losses after ``steps`` steps from ``w0`` (resuming ``state``)."""
    w = _lib(L).nn.Parameter(_tensor(L, (VALUES[0] if w0 is None else w0).copy()))
    opt = _lib(L).optim.LBFGS([w], **opts)
    if state is not None:
        opt.load_state_dict(state)
    a = _tensor(L, A)

    def closure():
        opt.zero_grad()
        z = a @ w
        loss = (z * z).sum() * 0.5 + (w**4).sum() * 0.1 - w.sum()
        loss.backward()
        return loss
    losses = [float(opt.step(closure).detach()) for _ in range(steps)]
    return w, opt, losses


@pytest.mark.parametrize("i", range(len(LBFGS_ROWS)))
def test_lbfgs_agrees_with_torch(i):
    opts = LBFGS_ROWS[i]

    def run():
        w, opt, losses = _lbfgs_run("cr", opts)
        tw, topt, tlosses = _lbfgs_run("torch", opts)
        np.testing.assert_allclose(losses, tlosses, rtol=1e-12)
        np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-12, atol=1e-14)
        ours, theirs = opt.state_dict(), topt.state_dict()
        assert sorted(ours["state"][0]) == sorted(theirs["state"][0])
        for k, v in theirs["state"][0].items():
            _same(ours["state"][0][k], v, f"state {k!r}", 1e-12, 1e-10)  # the line search's round-off
        for k, v in theirs["param_groups"][0].items():
            _same(ours["param_groups"][0][k], v, f"group {k!r}")
        # torch's state as arrays, resumed: the next step as torch's
        w0 = tw.detach().numpy()
        w, _, losses = _lbfgs_run("cr", opts, 1, w0, _as_arrays(theirs))
        tw, _, tlosses = _lbfgs_run("torch", opts, 1, w0, theirs)
        np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-10)
    _check(("LBFGS", {}, f"{i}"), "lbfgs", run)


# -- invalid arguments: torch's exception class --------------------------------------------------
INVALID = [
    ("SGD", {"lr": -0.1}), ("SGD", {"momentum": -0.5}), ("SGD", {"weight_decay": -1.0}),
    ("SGD", {"nesterov": True}), ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
    ("Adam", {"lr": -1.0}), ("Adam", {"eps": -1e-8}), ("Adam", {"betas": (1.0, 0.9)}),
    ("Adam", {"betas": (0.9, -0.1)}), ("Adam", {"weight_decay": -0.1}),
    ("AdamW", {"betas": (0.9, 1.0)}), ("AdamW", {"eps": -1.0}),
    ("RMSprop", {"lr": -1.0}), ("RMSprop", {"alpha": -0.5}), ("RMSprop", {"momentum": -0.1}),
    ("RMSprop", {"eps": -1.0}), ("RMSprop", {"weight_decay": -1.0}),
    ("Adagrad", {"lr_decay": -1.0}), ("Adagrad", {"initial_accumulator_value": -1.0}), ("Adagrad", {"eps": -1.0}),
    ("Adamax", {"betas": (1.0, 0.9)}), ("Adamax", {"eps": -1.0}), ("Adamax", {"lr": -1.0}),
    ("NAdam", {"momentum_decay": -1.0}), ("NAdam", {"betas": (0.9, 1.5)}), ("NAdam", {"eps": -1.0}),
    ("RAdam", {"betas": (-0.1, 0.9)}), ("RAdam", {"weight_decay": -1.0}), ("RAdam", {"eps": -1.0}),
    ("Adadelta", {"rho": 1.5}), ("Adadelta", {"eps": -1.0}), ("Adadelta", {"lr": -1.0}),
    ("Rprop", {"etas": (1.5, 1.2)}), ("Rprop", {"etas": (0.5, 0.9)}), ("Rprop", {"lr": -1.0}),
    ("ASGD", {"lr": -1.0}), ("ASGD", {"weight_decay": -1.0}),
    ("Adafactor", {"lr": -1.0}), ("Adafactor", {"beta2_decay": 0.5}), ("Adafactor", {"d": 0.5}),
    ("Adafactor", {"eps": (-1.0, 1e-3)}), ("Adafactor", {"eps": (None, -1.0)}), ("Adafactor", {"weight_decay": -1.0}),
    ("LBFGS", {"lr": -1.0}),
    ("Adam", {"lr": np.array(0.1), "foreach": True}), ("AdamW", {"lr": np.array(0.1), "foreach": True}),
    ("Adam", {"betas": (np.array(0.9), np.array(0.99)), "foreach": True}), ("Adam", {"lr": np.ones(2)}),
    ("Adam", {"betas": (np.array(0.9), 0.99)}), ("SGD", {"lr": np.ones(2)}), ("RMSprop", {"lr": np.ones(2)}),
    ("SGD", {"fused": True, "foreach": True}), ("Adam", {"fused": True, "foreach": True}),
    ("AdamW", {"fused": True, "foreach": True}), ("Adagrad", {"fused": True, "foreach": True}),
]


def _raised(name, opts, group=None):
    """The exception each library's constructor raises (None where it takes the arguments)."""
    raised = []
    for L in ("torch", "cr"):
        try:
            kw = {k: _tensor(L, v) if isinstance(v, np.ndarray) else
                  tuple(_tensor(L, x) if isinstance(x, np.ndarray) else x for x in v) if isinstance(v, tuple) else v
                  for k, v in opts.items()}
            getattr(_lib(L).optim, name)([{"params": _params(L, "")[:1], **(group or {})}], **kw)
            raised.append(None)
        except Exception as e:  # noqa: BLE001 - the class and the words are what is compared
            raised.append(e)
    return raised


@pytest.mark.parametrize(("name", "opts"), INVALID, ids=[f"{n}-{o}" for n, o in INVALID])
def test_invalid_arguments_raise_torch_s_class_and_words(name, opts):
    """The class, and PyTorch's message at the start of ours (``match="Invalid learning rate"`` in a
    test written for PyTorch holds), a hint of how to fix it after it."""
    torch_s, ours = _raised(name, opts)
    assert torch_s is not None
    assert type(ours) is type(torch_s)
    assert str(ours).startswith(str(torch_s)), (str(ours), str(torch_s))


NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD",
         "Adafactor", "LBFGS"]


def _signature_of(function):
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize("name", NAMES)
def test_constructor_takes_torch_s_arguments_in_torch_s_order(name):
    """The same names, defaults, and positions: RMSprop's eighth positional argument is capturable and
    Adagrad's seventh foreach, as in PyTorch (they were maximize, which ascended), and an argument
    PyTorch takes only by keyword (SGD's maximize) is refused by position."""
    assert _signature_of(getattr(cr.optim, name).__init__) == _signature_of(getattr(torch.optim, name).__init__)


@pytest.mark.parametrize("method", ["add_param_group", "zero_grad", "state_dict", "load_state_dict",
                                    "register_step_pre_hook", "register_step_post_hook"])
def test_optimizer_methods_take_torch_s_arguments(method):
    """(add_param_group's argument was named group: add_param_group(param_group={...}) failed)"""
    assert _signature_of(getattr(cr.optim.Optimizer, method)) == _signature_of(getattr(torch.optim.Optimizer, method))


# arguments checked on purpose otherwise than PyTorch checks them: (optimizer, options, group) -> why
CHECKED_OTHERWISE = {
    ("SGD", (("lr", 0.1),), (("lr", -1.0),)): "a group's own lr is checked as the constructor's (a negative one "
                                               "would ascend); PyTorch checks only the constructor's",
    ("Adam", (("betas", (0, 0.99)),), ()): "betas may be any two numbers in [0, 1) (ints too); PyTorch refuses "
                                          "ints with ValueError ('betas must be either both floats or both Tensors')",
}


@pytest.mark.parametrize("case", list(CHECKED_OTHERWISE), ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CHECKED_OTHERWISE])
def test_arguments_checked_otherwise_on_purpose(case):
    name, opts, group = case
    torch_s, ours = _raised(name, dict(opts), dict(group))
    assert (torch_s is None) != (ours is None) and ValueError in (type(torch_s), type(ours))

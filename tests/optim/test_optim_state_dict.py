"""Optimizer state_dicts as PyTorch's: the same keys, Tensors where torch.optim holds
tensors (``step`` a float32 0-d Tensor), and a torch.optim state_dict (tensors and all)
loaded into the same chainrule optimizer goes on along torch's trajectory."""

import copy

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim

torch = pytest.importorskip("torch")
torch_optimizer = pytest.importorskip("torch.optim.optimizer")

rng = np.random.default_rng(5)
X = rng.standard_normal((8, 3))
Y = rng.integers(0, 2, 8)

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adamax", {}),
    ("NAdam", {"lr": 0.05}),
    ("RAdam", {"lr": 0.05}),
    ("Adadelta", {}),
    ("Rprop", {}),
    ("ASGD", {"lr": 0.05, "t0": 1}),
    ("Adafactor", {"lr": 0.05, "weight_decay": 0.1}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def models():
    ours = nn.Sequential(nn.Linear(3, 4, dtype=np.float64, rng=1), nn.Tanh(), nn.Linear(4, 2, dtype=np.float64, rng=2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    with torch.no_grad():
        for p, q in zip(theirs.parameters(), ours.parameters(), strict=True):
            p.copy_(torch.tensor(q.detach().numpy()))
    return ours, theirs


def train(model, opt, n, lib):
    for _ in range(n):
        opt.zero_grad()
        if lib is torch:
            torch.nn.functional.cross_entropy(model(torch.tensor(X)), torch.tensor(Y)).backward()
        else:
            F.cross_entropy(model(X), Y).backward()
        opt.step()


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_state_dict_holds_what_torch_s_holds(name, kwargs):
    ours, theirs = models()
    opt, topt = getattr(optim, name)(ours.parameters(), **kwargs), getattr(torch.optim, name)(theirs.parameters(),
                                                                                               **kwargs)
    train(ours, opt, 3, cr)
    train(theirs, topt, 3, torch)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"] == tsd["param_groups"]
    assert sd["state"].keys() == tsd["state"].keys()
    for i, entry in tsd["state"].items():
        assert sd["state"][i].keys() == entry.keys(), (i, sorted(sd["state"][i]), sorted(entry))
        for key, want in entry.items():
            got = sd["state"][i][key]
            assert isinstance(got, cr.Tensor) and not got.requires_grad, key
            assert got.shape == tuple(want.shape) and got.dtype == np.dtype(str(want.dtype).split(".")[1]), key
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-9, atol=1e-12, err_msg=key)
    if "step" in tsd["state"].get(0, {}):
        assert sd["state"][0]["step"].item() == 3.0 and float(sd["state"][0]["step"]) == 3.0
    # copies: stepping on leaves the saved state as it was
    before = {k: v.numpy().copy() for k, v in sd["state"].get(0, {}).items()}
    train(ours, opt, 1, cr)
    assert all(np.array_equal(sd["state"][0][k].numpy(), v) for k, v in before.items())


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_a_torch_state_dict_resumes_torch_s_trajectory(name, kwargs):
    ours, theirs = models()
    topt = getattr(torch.optim, name)(theirs.parameters(), **kwargs)
    train(theirs, topt, 3, torch)
    saved = copy.deepcopy(topt.state_dict())
    with cr.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            p.copy_(cr.tensor(q.detach().numpy()))
    opt = getattr(optim, name)(ours.parameters(), lr=123.0)  # options come from the state_dict
    opt.load_state_dict(saved)  # torch's tensors, step counts and all
    assert opt.param_groups[0]["lr"] == topt.param_groups[0]["lr"]
    # torch resumes too (its load casts the state to the parameters' dtype: NAdam's mu_product)
    topt = getattr(torch.optim, name)(theirs.parameters(), lr=123.0)
    topt.load_state_dict(copy.deepcopy(saved))
    train(theirs, topt, 3, torch)
    train(ours, opt, 3, cr)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-9, atol=1e-12)
    # and the other way: ours into torch's
    topt2 = getattr(torch.optim, name)(theirs.parameters(), **kwargs)
    topt2.load_state_dict(cr.tree_map(lambda v: torch.tensor(v.numpy()) if isinstance(v, cr.Tensor) else v,
                                      opt.state_dict()))
    got, want = topt2.state_dict(), topt.state_dict()
    assert got["param_groups"] == want["param_groups"] and got["state"].keys() == want["state"].keys()
    for i, entry in want["state"].items():
        assert got["state"][i].keys() == entry.keys()
        for key, v in entry.items():
            assert got["state"][i][key].dtype == v.dtype, key
            np.testing.assert_allclose(got["state"][i][key].numpy(), v.numpy(), rtol=1e-9, atol=1e-12, err_msg=key)


def test_state_dict_round_trips_through_a_file(tmp_path):
    ours, _ = models()
    opt = optim.Adam(ours.parameters(), lr=0.05)
    train(ours, opt, 2, cr)
    cr.save({"optimizer": opt.state_dict()}, tmp_path / "ckpt.pt")
    back = cr.load(tmp_path / "ckpt.pt")["optimizer"]
    assert isinstance(back["state"][0]["step"], cr.Tensor) and back["state"][0]["step"].dtype == np.float32
    opt2 = optim.Adam(models()[0].parameters())
    opt2.load_state_dict(back)
    assert opt2.state[opt2.param_groups[0]["params"][0]]["step"] == 2


def test_older_torch_s_sgd_state_with_no_momentum_buffer_loads():
    # torch.optim before 2.1 kept {"momentum_buffer": None} for every parameter
    ours, theirs = models()
    opt = optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    sd = opt.state_dict()
    sd["state"] = {i: {"momentum_buffer": None} for i in range(4)}
    opt.load_state_dict(sd)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    topt.load_state_dict({**topt.state_dict(), "state": {i: {"momentum_buffer": None} for i in range(4)}})
    train(ours, opt, 2, cr)
    train(theirs, topt, 2, torch)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12)


def test_a_custom_optimizer_s_tensors_stay_tensors():
    class Momentum(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        @cr.no_grad()
        def step(self):
            for group in self.param_groups:
                for p in group["params"]:
                    state = self.state[p]
                    if not state:
                        state["step"] = 0
                        state["buf"] = cr.zeros_like(p)
                    state["step"] += 1
                    state["buf"].mul_(0.9).add_(p.grad)
                    p.sub_(group["lr"] * state["buf"])

    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = Momentum([w])
    (w * w).sum().backward()
    opt.step()
    sd = opt.state_dict()
    assert sd["state"][0]["step"] == 1 and isinstance(sd["state"][0]["buf"], cr.Tensor)
    opt2 = Momentum([w])
    opt2.load_state_dict(sd)
    assert opt2.state[w]["step"] == 1 and isinstance(opt2.state[w]["buf"], cr.Tensor)
    opt2.step()  # the Tensor methods of its step still work
    assert opt2.state[w]["buf"].tolist() == pytest.approx([2 * 0.9 + 2.0, 4 * 0.9 + 4.0])


def test_a_state_of_the_wrong_shape_is_refused():
    ours, theirs = models()
    topt = torch.optim.Adam(theirs.parameters())
    train(theirs, topt, 1, torch)
    sd = topt.state_dict()
    sd["state"][0]["exp_avg"] = torch.zeros(2, 2)
    with pytest.raises(ValueError, match="'exp_avg' of parameter 0 has shape"):
        optim.Adam(ours.parameters()).load_state_dict(sd)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_asgd_s_average_follows_torch_s(dtype):
    w0 = np.array([1.0, -2.0, 0.5], dtype=dtype)
    ws, avgs = [], []
    for L in (cr, torch):
        w = L.tensor(w0, requires_grad=True)
        opt = L.optim.ASGD([w], lr=0.1, lambd=0.01, alpha=0.6, t0=4)
        for _ in range(12):
            opt.zero_grad()
            (w * w * (w * w + 1)).sum().backward()  # a polynomial: no transcendental's rounding
            opt.step()
        ws.append(w.detach().numpy())
        avgs.append(np.asarray(opt.state[w]["ax"]))
        assert float(opt.state[w]["mu"]) == pytest.approx(1 / 8) and float(opt.state[w]["eta"]) < 0.1
    rtol = 1e-6 if dtype == np.float32 else 1e-14  # torch's add_(g, alpha=-eta) is a fused multiply-add
    np.testing.assert_allclose(ws[0], ws[1], rtol=rtol)
    np.testing.assert_allclose(avgs[0], avgs[1], rtol=rtol)
    assert not np.allclose(avgs[0], ws[0])  # the average is not the iterate


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_optimizer_state_holds_tensors_as_torch_s(name, kwargs):
    # what training code does with opt.state[p]: Tensor methods on the moments, the step
    # count as a number, a Tensor taken once that follows the steps, in-place edits that
    # the next step sees (torch's state is its tensors, step a float32 0-d one)
    ours, theirs = models()
    opt, topt = getattr(optim, name)(ours.parameters(), **kwargs), getattr(torch.optim, name)(theirs.parameters(),
                                                                                               **kwargs)
    train(ours, opt, 2, cr)
    train(theirs, topt, 2, torch)
    p, q = next(ours.parameters()), next(theirs.parameters())
    assert sorted(opt.state[p]) == sorted(topt.state[q])
    for key, want in topt.state[q].items():
        got = opt.state[p][key]
        assert isinstance(got, cr.Tensor) and not got.requires_grad and got.grad_fn is None, key
        assert got.shape == tuple(want.shape) and got.dtype == np.dtype(str(want.dtype).split(".")[1]), key
        assert got.norm().item() == pytest.approx(want.norm().item(), rel=1e-9, abs=1e-12), key
    if "step" in topt.state[q]:
        held, theirs_held = opt.state[p]["step"], topt.state[q]["step"]
        assert held.item() == theirs_held.item() == 2.0 and int(held) == 2 and float(held) == 2.0
    for lib_opt in (opt, topt):  # halve every moment in place, as a user's reset code does
        for state in lib_opt.state.values():
            for key, v in state.items():
                if key != "step" and v.ndim:
                    v.mul_(0.5)
    train(ours, opt, 2, cr)
    train(theirs, topt, 2, torch)
    if "step" in topt.state[q]:
        assert held.item() == theirs_held.item() == 4.0 and opt.state[p]["step"] is held
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-12)
    for key, want in topt.state[q].items():
        np.testing.assert_allclose(opt.state[p][key].numpy(), want.numpy(), rtol=1e-9, atol=1e-12, err_msg=key)


def test_a_saved_and_loaded_state_holds_tensors(tmp_path):
    ours, theirs = models()
    opt = optim.Adam(ours.parameters(), lr=0.05)
    train(ours, opt, 2, cr)
    cr.save(opt.state_dict(), tmp_path / "opt.pt")
    opt2 = optim.Adam(ours.parameters(), lr=0.05)
    opt2.load_state_dict(cr.load(tmp_path / "opt.pt"))
    state = opt2.state[next(ours.parameters())]
    assert all(isinstance(v, cr.Tensor) for v in state.values())
    assert state["step"].dtype == np.float32 and int(state["step"]) == 2
    # a torch state_dict's tensors, and a plain state of NumPy arrays and an int step, load alike
    topt = torch.optim.Adam(theirs.parameters(), lr=0.05)
    train(theirs, topt, 2, torch)
    sd = topt.state_dict()
    sd["state"][1] = {k: v.item() if k == "step" else v.numpy() for k, v in sd["state"][1].items()}
    opt2.load_state_dict(sd)
    for i, p in enumerate(ours.parameters()):
        assert all(isinstance(v, cr.Tensor) for v in opt2.state[p].values())
        assert opt2.state[p]["step"].dtype == np.float32 and opt2.state[p]["step"].item() == 2.0
        np.testing.assert_array_equal(opt2.state[p]["exp_avg"].numpy(), topt.state_dict()["state"][i]["exp_avg"])


def test_lbfgs_state_holds_tensors_as_torch_s():
    got = {}
    for lib in (cr, torch):
        w = lib.tensor(np.array([-1.5, 2.0]), requires_grad=True)
        opt = lib.optim.LBFGS([w], history_size=3, max_iter=5)

        def closure(w=w, opt=opt):
            opt.zero_grad()
            loss = (1 - w[0]) ** 2 + 10 * (w[1] - w[0] ** 2) ** 2
            loss.backward()
            return loss

        for _ in range(2):
            opt.step(closure)
        state = opt.state[w]
        got[lib] = state
        assert isinstance(state["d"], lib.Tensor) and isinstance(state["prev_flat_grad"], lib.Tensor)
        assert all(isinstance(v, lib.Tensor) for v in state["old_dirs"] + state["old_stps"])
        assert isinstance(state["n_iter"], int) and isinstance(state["func_evals"], int)
    ours, theirs = got[cr], got[torch]
    assert (ours["n_iter"], ours["func_evals"]) == (theirs["n_iter"], theirs["func_evals"])
    np.testing.assert_allclose(ours["d"].numpy(), theirs["d"].numpy(), rtol=1e-12)
    assert len(ours["old_dirs"]) == len(theirs["old_dirs"])


def _hook_stores(lib, opt_module):
    """The hooks of an optimizer, registered, run, removed and copied as a program does."""
    p = lib.nn.Parameter(lib.ones(2, dtype=lib.float64))
    opt = lib.optim.SGD([p], lr=0.1)
    p.grad = lib.ones(2, dtype=lib.float64)
    log = []
    handles = {
        "pre": opt.register_step_pre_hook(lambda o, a, k: log.append("pre")),
        "post": opt.register_step_post_hook(lambda o, a, k: log.append("post")),
        "sd_pre": opt.register_state_dict_pre_hook(lambda o: log.append("sd_pre")),
        "sd_pre_first": opt.register_state_dict_pre_hook(lambda o: log.append("sd_pre_first"), prepend=True),
        "ld_post": opt.register_load_state_dict_post_hook(lambda o: log.append("ld_post")),
        "global": opt_module.register_optimizer_step_pre_hook(lambda o, a, k: log.append("global")),
    }
    stores = [type(opt._optimizer_step_pre_hooks).__name__,
              list(opt._optimizer_step_pre_hooks) == [handles["pre"].id],
              list(opt._optimizer_step_post_hooks) == [handles["post"].id],
              list(opt._optimizer_state_dict_pre_hooks) == [handles["sd_pre_first"].id, handles["sd_pre"].id],
              list(opt._optimizer_load_state_dict_post_hooks) == [handles["ld_post"].id],
              handles["global"].id in opt_module._global_optimizer_pre_hooks]
    try:
        opt.step()
        opt.load_state_dict(opt.state_dict())
    finally:
        handles["global"].remove()
    handles["sd_pre"].remove()
    handles["sd_pre"].remove()
    opt.state_dict()
    copied = copy.deepcopy(opt)
    stores += [len(opt._optimizer_state_dict_pre_hooks), len(copied._optimizer_step_pre_hooks),
               len(opt_module._global_optimizer_pre_hooks)]
    return stores, log


def test_optimizer_hooks_are_kept_in_ordered_dicts_by_handle_id_as_torch():
    ours = _hook_stores(cr, optim.optimizer)
    assert ours == _hook_stores(torch, torch_optimizer)
    assert ours[0][0] == "OrderedDict"

"""L-BFGS (chainrule/optim/lbfgs.py): the iterates against torch.optim.LBFGS on the same
problems (to rounding), convergence to a known minimum, the stopping rules, the state
saved and resumed, and errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

torch = pytest.importorskip("torch")
rng = np.random.default_rng(11)
A, B = rng.normal(size=(8, 5)), rng.normal(size=8)
W0, V0 = rng.normal(size=5), rng.normal(size=(2, 3))


def trajectory(lib: str, problem: str, steps: int = 4, **options):
    """The parameters after each of ``steps`` calls of step(closure), for PyTorch or chainrule."""
    T = torch if lib == "torch" else None
    make = (lambda a: torch.tensor(a, requires_grad=True)) if T else (lambda a: cr.tensor(a, requires_grad=True))
    const = torch.tensor if T else cr.tensor
    w, v = make(W0), make(V0)
    options = {k: const(x) if isinstance(x, np.ndarray) else x for k, x in options.items()}  # lr a 0-d Tensor
    opt = (torch.optim.LBFGS if T else optim.LBFGS)([w, v], **options)
    a, b = const(A), const(B)

    def closure():
        opt.zero_grad()
        z = a @ w - b
        if problem == "least_squares":
            loss = 0.5 * (z * z).sum() + 0.01 * (w**4).sum() + ((v - 0.5) ** 2).sum()
        else:  # a smooth convex problem with a log-sum-exp
            loss = z.logsumexp(0) + 0.05 * (w * w).sum() + (v * v).sum() + (v[0] * w[:3]).sum() * 0.1
        loss.backward()
        return loss

    out = []
    for _ in range(steps):
        opt.step(closure)
        out.append(np.concatenate([w.detach().numpy().ravel(), v.detach().numpy().ravel()]))
    return np.array(out)


@pytest.mark.parametrize("problem", ["least_squares", "log_sum_exp"])
@pytest.mark.parametrize("options", [{}, {"line_search_fn": "strong_wolfe"}, {"history_size": 2, "max_iter": 7},
                                     {"history_size": 2, "max_iter": 7, "line_search_fn": "strong_wolfe"},
                                     {"lr": 0.5, "max_iter": 3}, {"max_eval": 4, "line_search_fn": "strong_wolfe"},
                                     # (a Tensor lr failed in the first step: the step added a Tensor in place)
                                     {"lr": np.array(0.5)}, {"lr": np.array(0.5), "line_search_fn": "strong_wolfe"}])
def test_iterates_match_torch(problem, options):
    ours = trajectory("chainrule", problem, **options)
    theirs = trajectory("torch", problem, **options)
    # (atol: up to 28 inner iterations and line searches, each summing in its library's order)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_converges_to_rosenbrocks_minimum():
    w = cr.tensor(np.array([-1.5, 2.0]), requires_grad=True)
    opt = optim.LBFGS([w], line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=0)

    def closure():
        opt.zero_grad()
        loss = (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2
        loss.backward()
        return loss

    for _ in range(10):
        opt.step(closure)
    np.testing.assert_allclose(w.detach().numpy(), [1.0, 1.0], atol=1e-9)


def test_stops_at_a_stationary_point_without_moving():
    w = cr.tensor(np.zeros(3), requires_grad=True)
    calls = []
    opt = optim.LBFGS([w])

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure)) == 0.0 and len(calls) == 1 and not w.detach().numpy().any()


def test_state_saved_and_resumed_continues_the_same_iterates(tmp_path):
    def model_and_optimizer():
        nn.init.manual_seed(2)
        m = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.Tanh(), nn.Linear(4, 1, dtype=np.float64))
        return m, optim.LBFGS(m.parameters(), history_size=5, max_iter=4, line_search_fn="strong_wolfe")

    x, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 1))

    def steps(m, opt, n):
        def closure():
            opt.zero_grad()
            loss = ((m(x) - y) ** 2).mean()
            loss.backward()
            return loss
        for _ in range(n):
            opt.step(closure)

    m, opt = model_and_optimizer()
    steps(m, opt, 2)
    cr.save({"model": m.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "c.safetensors")
    steps(m, opt, 2)
    m2, opt2 = model_and_optimizer()
    saved = cr.load(tmp_path / "c.safetensors")
    m2.load_state_dict(saved["model"])
    opt2.load_state_dict(saved["optimizer"])
    steps(m2, opt2, 2)
    for (k, a), (_, b) in zip(m.state_dict().items(), m2.state_dict().items(), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=k)


def test_errors():
    w = cr.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="strong_wolfe"):
        optim.LBFGS([w], line_search_fn="backtracking")
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [w]}, {"params": [cr.tensor(np.ones(1), requires_grad=True)]}])
    with pytest.raises(TypeError, match="needs a closure"):
        optim.LBFGS([w]).step()

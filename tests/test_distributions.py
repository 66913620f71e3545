"""chainrule.distributions against torch.distributions: log_prob, entropy and their
gradients in the parameters, the shapes and frequencies of draws, and a REINFORCE step
written for PyTorch."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

P = [[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]
LOGITS = [[0.2, -1.5, 0.3], [2.0, 0.0, -40.0]]


def _compare(make, value, params):
    results = []
    for lib in (cr, torch):
        ts = [lib.tensor(p, dtype=lib.float64, requires_grad=True) for p in params]
        m = make(lib.distributions, *ts)
        lp, ent = m.log_prob(lib.tensor(value)), m.entropy()
        (lp.sum() * 1.5 + ent.sum()).backward()
        results.append([lp.detach().numpy(), ent.detach().numpy()] + [t.grad.numpy() for t in ts])
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


CASES = {
    "categorical_probs": (lambda D, p: D.Categorical(p), [1, 2], [P]),
    "categorical_logits": (lambda D, p: D.Categorical(logits=p), [0, 2], [LOGITS]),
    "categorical_broadcast_value": (lambda D, p: D.Categorical(probs=p), [[0, 1], [2, 2]], [P]),
    "bernoulli_probs": (lambda D, p: D.Bernoulli(probs=p), [1.0, 0.0, 1.0], [[0.3, 0.9, 0.5]]),
    "bernoulli_logits": (lambda D, p: D.Bernoulli(logits=p), [1.0, 0.0], [[-0.3, 4.0]]),
    "normal": (lambda D, loc, scale: D.Normal(loc, scale), [0.1, 0.2], [[0.5, -1.0], [1.5, 0.3]]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    make, value, params = CASES[name]
    _compare(make, value if "normal" not in name and "bernoulli" not in name else np.array(value), params)


def test_draws_have_pytorchs_shapes_and_the_given_frequencies():
    cr.manual_seed(0)
    m = cr.distributions.Categorical(cr.tensor(P))
    assert m.sample().shape == (2,) and m.sample((3,)).shape == (3, 2) and m.sample().dtype == np.int64
    draws = m.sample((6000,)).numpy()
    np.testing.assert_allclose([(draws[:, 1] == k).mean() for k in range(3)], P[1], atol=0.02)
    n = cr.distributions.Normal(cr.tensor([0.0, 5.0], requires_grad=True), cr.tensor([1.0, 0.1]))
    r = n.rsample((4000,))
    assert r.shape == (4000, 2) and r.requires_grad and not n.sample().requires_grad
    np.testing.assert_allclose(r.detach().numpy().mean(0), [0.0, 5.0], atol=0.05)
    assert cr.distributions.Bernoulli(probs=cr.tensor([0.0, 1.0])).sample((5,)).tolist() == [[0.0, 1.0]] * 5


def test_a_reinforce_step_written_for_pytorch_agrees():
    rng = np.random.default_rng(0)
    states, actions, rewards = rng.normal(size=(6, 4)), [0, 1, 1, 0, 1, 1], [1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    grads, saved = [], {}
    for lib in (torch, cr):
        policy = lib.nn.Linear(4, 2).double()
        if lib is cr:
            policy.load_state_dict(saved)
        else:
            saved = {k: v.detach().numpy().copy() for k, v in policy.state_dict().items()}
        returns, R = [], 0.0
        for r in rewards[::-1]:
            R = r + 0.99 * R
            returns.insert(0, R)
        returns = lib.tensor(returns, dtype=lib.float64)
        returns = (returns - returns.mean()) / (returns.std() + 1e-9)
        policy_loss = []
        for s, a, ret in zip(states, actions, returns, strict=True):
            probs = lib.nn.functional.softmax(policy(lib.tensor(s).unsqueeze(0)), dim=1)
            m = lib.distributions.Categorical(probs)
            policy_loss.append(-m.log_prob(lib.tensor([a])) * ret)
        lib.cat(policy_loss).sum().backward()
        grads.append(policy.weight.grad.numpy().copy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


@pytest.mark.parametrize("make", [lambda D, r: D.Poisson(r), lambda D, r: D.Gamma(r, 2 * r), lambda D, r: D.Chi2(r)],
                         ids=["Poisson", "Gamma", "Chi2"])
@pytest.mark.parametrize("value_dtype", ["int64", "float64"])
@pytest.mark.parametrize("param_dtype", ["float32", "float64"])
def test_log_prob_of_counts_takes_torchs_dtype_value_and_gradient(make, value_dtype, param_dtype):
    """Integer counts meet a float32 rate in float32 (PyTorch's promotion; SciPy's xlogy
    would give float64), and Gamma reads the value in its rate's dtype, as PyTorch's."""
    results = []
    for lib in (cr, torch):
        rate = lib.tensor([0.5, 3.0], dtype=getattr(lib, param_dtype), requires_grad=True)
        lp = make(lib.distributions, rate).log_prob(lib.tensor([2, 0], dtype=getattr(lib, value_dtype)) + 1)
        lp.sum().backward()
        results.append((str(lp.dtype).replace("torch.", ""), lp.detach().numpy(), rate.grad.numpy()))
    (dtype, lp, grad), (want_dtype, want_lp, want_grad) = results
    assert dtype == want_dtype
    np.testing.assert_allclose(lp, want_lp, rtol=1e-6)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-6)

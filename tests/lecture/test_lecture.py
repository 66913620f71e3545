"""The lecture: hand-derived backpropagation against chainrule, the call counts of the
scalar chain, the printed numbers of ``python -m chainrule.lecture``, and docs/lecture.md."""

import doctest
import itertools
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import lecture
from chainrule.lecture import backprop, chain, descent, programs, sections

ROOT = Path(__file__).resolve().parents[2]
ACTS = ["tanh", "sigmoid", "relu"]


def assert_rel(actual, expected, rtol=1e-12):
    """``max|actual - expected| <= rtol · max|expected|`` (relative to the array's scale)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    scale = np.max(np.abs(expected)) if expected.size else 0.0
    assert np.max(np.abs(actual - expected), initial=0.0) <= rtol * scale


# -- section 3: the two-layer vector case ---------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("phi,psi", list(itertools.product(ACTS, ACTS)))
def test_two_layer_backward_equals_grad(seed, phi, psi):
    rng = np.random.default_rng(seed)
    m, n, k = rng.integers(1, 8, size=3)
    A, B = rng.normal(size=(k, n)), rng.normal(size=(n, m))
    x, t = rng.normal(size=m), rng.normal(size=k)
    loss, g = lecture.two_layer_gradients(A, B, x, t, phi, psi)
    dA, dB, dx = cr.grad(lecture.two_layer_loss, argnums=(0, 1, 2))(A, B, x, t, phi, psi)
    assert_rel(g.dA, dA)
    assert_rel(g.dB, dB)
    assert_rel(g.dx, dx)
    assert loss == pytest.approx(float(lecture.two_layer_loss(A, B, x, t, phi, psi)), rel=1e-14)
    # δy' is the gradient of the loss as a function of the hidden layer's output
    cache = lecture.two_layer_forward(A, B, x, phi, psi)
    top = lambda yp: lecture.two_layer_loss(A, np.eye(n), yp, t, "identity", psi)  # noqa: E731
    assert_rel(g.dyp, cr.grad(top)(cache.yp))


def test_two_layer_formulas_written_out():
    # The slide's formulas evaluated independently of the library's code.
    rng = np.random.default_rng(7)
    A, B, x, t = rng.normal(size=(3, 5)), rng.normal(size=(5, 4)), rng.normal(size=4), np.ones(3)
    zp = B @ x
    yp = np.tanh(zp)
    z = A @ yp
    y = 1 / (1 + np.exp(-z))
    dy = y - t
    dpsi = y * (1 - y)
    dA = np.diag(dy) @ np.diag(dpsi) @ np.tile(yp, (3, 1))
    dyp = A.T @ np.diag(dpsi) @ dy
    dB = np.diag(dyp) @ np.diag(1 - yp ** 2) @ np.tile(x, (5, 1))
    g = lecture.two_layer_backward(A, B, lecture.two_layer_forward(A, B, x), dy)
    assert_rel(g.dA, dA)
    assert_rel(g.dyp, dyp)
    assert_rel(g.dB, dB)


def test_two_layer_backward_uses_the_cache():
    # The backward pass reads the forward values from the cache; it does not recompute them.
    rng = np.random.default_rng(1)
    A, B, x = rng.normal(size=(2, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
    cache = lecture.two_layer_forward(A, B, x)
    wrong = cache._replace(yp=np.zeros_like(cache.yp))
    dy = np.ones(2)
    assert np.all(lecture.two_layer_backward(A, B, wrong, dy).dA == 0)
    assert not np.all(lecture.two_layer_backward(A, B, cache, dy).dA == 0)


# -- section 4: L layers, batched, with biases ----------------------------------------------
@pytest.mark.parametrize("seed", range(8))
def test_mlp_backward_equals_grad(seed):
    rng = np.random.default_rng(100 + seed)
    L = int(rng.integers(1, 5))
    sizes = [int(s) for s in rng.integers(1, 7, size=L + 1)]
    N = int(rng.integers(1, 9))
    acts = [ACTS[int(i)] for i in rng.integers(0, 3, size=L)]
    weights = [rng.normal(size=(b, a)) for a, b in itertools.pairwise(sizes)]
    biases = [rng.normal(size=b) for b in sizes[1:]]
    X, T = rng.normal(size=(N, sizes[0])), rng.normal(size=(N, sizes[-1]))
    loss, g = lecture.mlp_gradients(weights, biases, X, T, acts)
    gW, gb = cr.grad(lecture.mlp_loss)((weights, biases), X, T, acts)
    for a, b in zip(g.dW + g.db, list(gW) + list(gb), strict=True):
        assert_rel(a, b)
    gX = cr.grad(lecture.mlp_loss, argnums=1)((weights, biases), X, T, acts)
    assert_rel(g.dX, gX)
    assert loss == pytest.approx(float(lecture.mlp_loss((weights, biases), X, T, acts)),
                                 rel=1e-14)


def test_mlp_backward_single_example_is_the_slide():
    # N = 1 and column vectors: δW_k = (δy_k ⊙ φ'(z_k)) y_{k-1}ᵀ, δy_{k-1} = W_kᵀ(δy_k ⊙ φ'(z_k)).
    rng = np.random.default_rng(3)
    W1, W2 = rng.normal(size=(4, 3)), rng.normal(size=(2, 4))
    b1, b2 = rng.normal(size=4), rng.normal(size=2)
    x, t = rng.normal(size=3), rng.normal(size=2)
    z1 = W1 @ x + b1
    y1 = np.tanh(z1)
    z2 = W2 @ y1 + b2
    y2 = z2
    d2 = y2 - t
    g2 = d2 * 1.0
    d1 = W2.T @ g2
    g1 = d1 * (1 - np.tanh(z1) ** 2)
    g = lecture.mlp_backward([W1, W2], lecture.mlp_forward([W1, W2], [b1, b2], x[None],
                                                            ["tanh", "identity"]), d2[None])
    assert_rel(g.dW[1], np.outer(g2, y1))
    assert_rel(g.db[1], g2)
    assert_rel(g.dW[0], np.outer(g1, x))
    assert_rel(g.db[0], g1)
    assert_rel(g.dX[0], W1.T @ g1)


def test_mlp_backward_against_nn_linear():
    nn = pytest.importorskip("chainrule.nn")
    if not hasattr(nn, "Linear"):
        pytest.skip("chainrule.nn.Linear is not available")
    rng = np.random.default_rng(5)
    sizes, acts = [3, 5, 4, 2], ["sigmoid", "relu", "tanh"]
    X, T = rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    err = sections._against_nn(sizes, acts, X, T)
    assert err is not None and err < 1e-12


@pytest.mark.torch
def test_mlp_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    sizes, acts = [4, 6, 3], ["tanh", "sigmoid"]
    weights = [rng.normal(size=(b, a)) for a, b in itertools.pairwise(sizes)]
    biases = [rng.normal(size=b) for b in sizes[1:]]
    X, T = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    _, g = lecture.mlp_gradients(weights, biases, X, T, acts)
    tw = [torch.tensor(w, requires_grad=True) for w in weights]
    tb = [torch.tensor(b, requires_grad=True) for b in biases]
    y = torch.tensor(X)
    for w, b, f in zip(tw, tb, (torch.tanh, torch.sigmoid), strict=True):
        y = f(y @ w.T + b)
    (0.5 * ((y - torch.tensor(T)) ** 2).sum() / 5).backward()
    for a, t in zip(g.dW + g.db, tw + tb, strict=True):
        assert_rel(a, t.grad.numpy())


def test_activation_errors_and_custom():
    with pytest.raises(ValueError, match="unknown activation"):
        lecture.get_activation("swish")
    with pytest.raises(ValueError, match="activations for"):
        lecture.mlp_forward([np.eye(2)], [np.zeros(2)], np.ones((1, 2)), ["tanh", "tanh"])
    softplus = lecture.Activation("softplus", lambda z: np.log1p(np.exp(z)),
                                  lambda z: 1 / (1 + np.exp(-z)), lambda z: cnp.log1p(cnp.exp(z)))
    rng = np.random.default_rng(0)
    A, B, x, t = rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=4), np.zeros(2)
    _, g = lecture.two_layer_gradients(A, B, x, t, softplus, softplus)
    dA = cr.grad(lecture.two_layer_loss)(A, B, x, t, softplus, softplus)
    assert_rel(g.dA, dA)


# -- section 2: the scalar chain --------------------------------------------------------------
def test_chain_grad_evaluates_f_three_times_and_backward_none():
    f, df = chain.example_f()
    F = lambda w: f(f(f(w)))  # noqa: E731
    value, d = cr.value_and_grad(F)(0.7)
    assert f.calls == 3
    f.reset()
    out, pullback = cr.vjp(F, 0.7)
    assert f.calls == 3  # the forward pass
    (dw,) = pullback(1.0)
    assert f.calls == 3  # the backward pass reused the saved values
    x = np.sin(0.7) + 0.35
    y = np.sin(x) + x / 2
    assert float(dw) == pytest.approx((np.cos(y) + 0.5) * (np.cos(x) + 0.5) * (np.cos(0.7) + 0.5),
                                      rel=1e-14)
    assert float(d) == pytest.approx(float(dw), rel=1e-15)


def test_chain_naive_formula_needs_extra_evaluations():
    f, df = chain.example_f()
    z = f(f(f(0.7)))
    naive = df(f(f(0.7))) * df(f(0.7)) * df(0.7)
    assert f.calls == 6
    f.reset()
    z2, d = chain.backprop_derivative(f, df, 0.7)
    assert f.calls == 3
    assert z2 == z and d == pytest.approx(naive, rel=1e-15)
    for depth in (2, 4, 7):
        f.reset()
        chain.naive_derivative(f, df, 0.7, depth)
        assert f.calls == depth * (depth - 1) // 2
        f.reset()
        cr.grad(chain.compose(f, depth))(0.7)
        assert f.calls == depth


# -- section 1 and 5 ------------------------------------------------------------------------
def test_descent_converges_to_least_squares():
    data = descent.make_regression(n=128, seed=2)
    best = descent.least_squares(data)
    theta, hist = descent.gradient_descent(data, alpha=0.5, steps=150)
    assert descent.parameter_error(theta, best) < 1e-10
    assert hist[-1] == pytest.approx(descent.risk(best, data), rel=1e-12)
    g = cr.grad(descent.loss)({"w": np.ones(3), "b": np.float64(0.5)}, data.X, data.y)
    hand = descent.risk_gradient({"w": np.ones(3), "b": 0.5}, data)
    assert_rel(g["w"], hand["w"])
    assert float(g["b"]) == pytest.approx(float(hand["b"]), rel=1e-12)


def test_programs_derivatives():
    for a in (0.3, 0.9, 1.7, 5.0):
        exact = 2.5 / a if a > 1 else 2.5 * a ** 1.5
        assert float(cr.grad(programs.program)(a)) == pytest.approx(exact, rel=1e-12)
    assert float(cr.grad(lambda x: programs.power(x, 13))(1.1)) == pytest.approx(
        13 * 1.1 ** 12, rel=1e-13)
    assert float(cr.grad(programs.newton_sqrt)(3.0)) == pytest.approx(0.5 / np.sqrt(3.0),
                                                                     rel=1e-12)


# -- the script and its printed numbers ------------------------------------------------------
@pytest.fixture(scope="module")
def printed():
    done = subprocess.run([sys.executable, "-m", "chainrule.lecture"], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    values = {}
    for m in re.finditer(r"^  ([a-z_]+\.[\w.]+) = (.+?)(?:    # .*)?$", done.stdout, re.M):
        values[m.group(1)] = m.group(2)
    return values


def num(printed, key):
    return float(printed[key])


def test_script_prints_every_section(printed):
    prefixes = {k.split(".")[0] for k in printed}
    assert {"gd", "sgd", "chain", "two_layer", "mlp", "programs"} <= prefixes


def test_script_gradient_descent_numbers(printed):
    assert num(printed, "gd.grad_rel_error") < 1e-12
    assert num(printed, "gd.theta_error") < 1e-10
    assert num(printed, "gd.risk_end") == pytest.approx(num(printed, "gd.risk_min"), rel=1e-5)
    # the schedule brings SGD closer to θ* than the constant rate does
    assert num(printed, "sgd.schedule_theta_error") < 0.02
    assert num(printed, "sgd.schedule_theta_error") < num(printed, "sgd.constant_theta_error") / 2
    assert np.allclose(eval(printed["sgd.learned_w"]), descent.TRUE_W, atol=0.05)


def test_script_chain_numbers(printed):
    assert printed["chain.f_calls_backprop"] == "3"
    assert printed["chain.f_calls_naive"] == "6"
    assert printed["chain.f_calls_grad"] == "3"
    assert printed["chain.f_calls_forward"] == "3"
    assert printed["chain.f_calls_backward"] == "0"
    f = lambda w: np.sin(w) + 0.5 * w  # noqa: E731
    df = lambda w: np.cos(w) + 0.5  # noqa: E731
    w = 0.7
    assert num(printed, "chain.z") == pytest.approx(f(f(f(w))), rel=1e-5)
    assert num(printed, "chain.dz_dw") == pytest.approx(df(f(f(w))) * df(f(w)) * df(w), rel=1e-5)
    assert num(printed, "chain.grad_minus_backprop") < 1e-14


def test_script_backprop_numbers(printed):
    assert num(printed, "two_layer.max_rel_error") < 1e-12
    assert num(printed, "mlp.max_rel_error_grad") < 1e-12
    assert num(printed, "mlp.train_drift") < 1e-12
    assert num(printed, "mlp.trained_loss") < num(printed, "mlp.loss")
    if "mlp.max_rel_error_nn" in printed:
        assert num(printed, "mlp.max_rel_error_nn") < 1e-12


def test_script_programs_numbers(printed):
    assert num(printed, "programs.grad_at_2.0") == pytest.approx(1.25, rel=1e-5)
    assert num(printed, "programs.grad_error_at_2.0") < 1e-12
    assert num(printed, "programs.grad_error_at_0.5") < 1e-12
    assert num(printed, "programs.second_derivative_at_2.0") == pytest.approx(-0.625, rel=1e-5)
    assert num(printed, "programs.graph_nodes_collapsed") < num(printed, "programs.graph_nodes_full")


def test_run_returns_what_it_prints():
    lines = []
    results = lecture.run(write=lines.append, sections=["chain", "programs"])
    text = "\n".join(lines)
    assert results["chain.f_calls_backprop"] == 3 and results["chain.f_calls_naive"] == 6
    for key in results:
        assert f"  {key} = " in text
    assert "chain.graph_nodes" in results


def test_example_script_writes_graphs(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "lecture.py"), "--sections", "chain",
         "--dot", str(tmp_path)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "chain.f_calls_backward = 0" in done.stdout
    assert (tmp_path / "chain.dot").read_text().startswith("digraph")


# -- documentation ------------------------------------------------------------------------------
def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def test_docs_lecture_runs(capsys):
    blocks = python_blocks(ROOT / "docs" / "lecture.md")
    assert len(blocks) >= 10
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/lecture.md, block {i}", "exec"), namespace)


@pytest.mark.parametrize("module", [lecture, backprop, chain, descent, programs, sections])
def test_doctests(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0

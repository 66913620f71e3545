"""The lecture, section by section: each function prints its part and returns its numbers.

``python -m chainrule.lecture`` runs :func:`main`. Every number the lecture asserts is
printed on a line ``name = value`` (names like ``chain.f_calls_backprop``), and returned in
the dictionary of :func:`run`, so that tests can check both.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn, viz
from chainrule.lecture import backprop as bp
from chainrule.lecture import chain, descent, programs
from chainrule.transforms.reverse import trace_vjp

__all__ = ["run", "main", "SECTIONS"]


class _Printer:
    """Prints the lecture and collects the numbers it prints as ``name = value``."""

    def __init__(self, write: Callable[[str], object]):
        self.write = write
        self.results: dict[str, object] = {}

    def __call__(self, text: str = "") -> None:
        self.write(text)

    def heading(self, text: str) -> None:
        self.write("")
        self.write(text)
        self.write("=" * len(text))

    def value(self, name: str, value, note: str = "") -> None:
        self.results[name] = value
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        self.write(f"  {name} = {shown}" + (f"    # {note}" if note else ""))


def section_descent(out: _Printer, dot_dir: Path | None = None) -> None:
    out.heading("1. Gradient descent and SGD")
    out("Data: y = 2 x1 - 3 x2 + 0.5 x3 + 1.5 + 0.1 noise, 256 examples (seed 0).")
    out("Model f_theta(x) = w.x + b, loss l = (f_theta(x) - y)^2 / 2, risk L = mean l.")
    data = descent.make_regression()
    best = descent.least_squares(data)
    theta0 = {"w": np.zeros(3), "b": np.float64(0.0)}
    g_auto = cr.grad(descent.loss)(theta0, data.X, data.y)
    g_hand = descent.risk_gradient(theta0, data)
    err = max(bp.relative_error(g_auto[k], g_hand[k]) for k in g_auto)
    out.value("gd.grad_rel_error", err, "cr.grad vs X^T r / n at theta = 0")
    out.value("gd.risk_min", descent.risk(best, data), "at the least-squares solution")
    theta, hist = descent.gradient_descent(data, alpha=0.5, steps=100)
    out("Gradient descent, alpha = 0.5, 100 full-batch steps:")
    out.value("gd.risk_start", hist[0])
    out.value("gd.risk_end", hist[-1])
    out.value("gd.theta_error", descent.parameter_error(theta, best), "|theta - theta*|")
    out("SGD, one example per step, 10 epochs (2560 steps):")
    constant = lambda t: 0.1  # noqa: E731
    decay = descent.inverse_time_decay(0.1, len(data.y))
    th_c, hist_c = descent.sgd(data, constant, epochs=10, seed=1)
    th_d, hist_d = descent.sgd(data, decay, epochs=10, seed=1)
    out("  epoch   risk (alpha = 0.1)   risk (alpha(t) = 0.1 / (1 + t/256))")
    for e in (1, 2, 5, 10):
        out(f"  {e:5d}   {hist_c[e]:.6f}             {hist_d[e]:.6f}")
    out.value("sgd.constant_theta_error", descent.parameter_error(th_c, best))
    out.value("sgd.schedule_theta_error", descent.parameter_error(th_d, best))
    out.value("sgd.schedule_excess_risk", hist_d[-1] - descent.risk(best, data))
    out.value("sgd.learned_w", np.round(th_d["w"], 2).tolist())
    out.value("sgd.learned_b", round(float(th_d["b"]), 2))


def section_chain(out: _Printer, dot_dir: Path | None = None) -> None:
    out.heading("2. The scalar chain z = f(f(f(w)))")
    out("f(w) = sin(w) + w/2, f'(w) = cos(w) + 1/2, at w = 0.7.")
    f, df = chain.example_f()
    w = 0.7
    F = chain.compose(f, 3)
    z, dz = chain.backprop_derivative(f, df, w)
    out.value("chain.z", float(z))
    out.value("chain.dz_dw", float(dz))
    out.value("chain.f_calls_backprop", f.calls, "by hand: forward 3, backward 0")
    f.reset()
    F(w)
    d_naive = chain.naive_derivative(f, df, w)
    out.value("chain.f_calls_naive", f.calls, "3 for z, then f(f(w)) and f(w) again: 2 + 1")
    out.value("chain.naive_minus_backprop", abs(float(d_naive) - float(dz)))
    f.reset()
    z_auto, d_auto = cr.value_and_grad(F)(w)
    out.value("chain.f_calls_grad", f.calls, "cr.value_and_grad: value and derivative")
    f.reset()
    _, record = trace_vjp(F, (w,), (0,))
    forward_calls = f.calls
    record.pull(np.float64(1.0))
    out.value("chain.f_calls_forward", forward_calls, "recording the forward pass")
    out.value("chain.f_calls_backward", f.calls - forward_calls, "the backward pass")
    out.value("chain.grad_minus_backprop", abs(float(d_auto) - float(dz)))
    out("Evaluations of f for the derivative of depth-L chains:")
    out("  L   naive formula   backprop")
    for depth in (3, 5, 10):
        f.reset()
        chain.compose(f, depth)(w)
        chain.naive_derivative(f, df, w, depth)
        naive = f.calls
        f.reset()
        cr.value_and_grad(chain.compose(f, depth))(w)
        out(f"  {depth:<3d} {naive:<15d} {f.calls}")
    out("The recorded graph: each node keeps its forward value; delta is its adjoint dz/d(node).")
    g = viz.graph(F, w)
    out(g.text())
    out.value("chain.graph_nodes", len(g.nodes))
    _write_graph(g, dot_dir, "chain")


def section_two_layer(out: _Printer, dot_dir: Path | None = None) -> None:
    out.heading("3. The two-layer vector case")
    out("z' = B x, y' = phi(z'), z = A y', y = psi(z), l = |y - t|^2 / 2,")
    out("dA = (dy * psi'(z)) y'^T,  dy' = A^T (dy * psi'(z)),  dB = (dy' * phi'(z')) x^T")
    rng = np.random.default_rng(3)
    worst = 0.0
    for phi, psi in (("tanh", "sigmoid"), ("sigmoid", "relu"), ("relu", "tanh")):
        m, n, k = rng.integers(2, 7, size=3)
        A, B = rng.normal(size=(k, n)), rng.normal(size=(n, m))
        x, t = rng.normal(size=m), rng.normal(size=k)
        loss, g = bp.two_layer_gradients(A, B, x, t, phi, psi)
        dA, dB, dx = cr.grad(bp.two_layer_loss, argnums=(0, 1, 2))(A, B, x, t, phi, psi)
        cache = bp.two_layer_forward(A, B, x, phi, psi)
        psi_a = bp.get_activation(psi)
        # δy' is the gradient of the top layer alone, as a function of its input y'
        top = lambda yp, A=A, t=t, psi=psi: bp.two_layer_loss(  # noqa: E731
            A, np.eye(len(yp)), yp, t, "identity", psi)
        dyp = cr.grad(top)(cache.yp)
        err = max(bp.relative_error(g.dA, dA), bp.relative_error(g.dB, dB),
                  bp.relative_error(g.dyp, dyp), bp.relative_error(g.dx, dx))
        worst = max(worst, err)
        # The slide's matrix forms: diag(dy) diag(psi'(z)) [y'^T; ...] and A^T diag(psi'(z)).
        dy = cache.y - t
        dA_diag = np.diag(dy) @ np.diag(psi_a.df(cache.z)) @ np.tile(cache.yp, (k, 1))
        jac = cr.jacobian(lambda yp, A=A, psi=psi_a: psi.cf(A @ yp))(cache.yp)  # ∂y_i/∂y'_j
        worst_form = max(bp.relative_error(dA_diag, g.dA),
                         bp.relative_error(A.T @ np.diag(psi_a.df(cache.z)), jac.T))
        out(f"  phi={phi:<8s} psi={psi:<8s} m,n,k={m},{n},{k}  loss={loss:.6f}  "
            f"max rel. error vs cr.grad {err:.1e}, matrix forms {worst_form:.1e}")
    out.value("two_layer.max_rel_error", worst, "hand-derived vs cr.grad, float64")


def section_mlp(out: _Printer, dot_dir: Path | None = None) -> None:
    out.heading("4. L layers with biases: forward and backward pass")
    out("z_k = W_k y_{k-1} + b_k, y_k = phi_k(z_k); backward for k = L..1:")
    out("g_k = dy_k * phi_k'(z_k), dW_k = g_k y_{k-1}^T, db_k = g_k 1, dy_{k-1} = W_k^T g_k")
    rng = np.random.default_rng(4)
    sizes = [3, 8, 8, 8, 2]
    acts = ["tanh", "relu", "sigmoid", "identity"]
    N = 16
    weights = [rng.normal(size=(b, a)) / np.sqrt(a) for a, b in pairwise(sizes)]
    biases = [0.1 * rng.normal(size=b) for b in sizes[1:]]
    X, T = rng.normal(size=(N, sizes[0])), rng.normal(size=(N, sizes[-1]))
    loss, g = bp.mlp_gradients(weights, biases, X, T, acts)
    gW, gb = cr.grad(bp.mlp_loss)((weights, biases), X, T, acts)
    err = max(bp.relative_error(a, b)
              for a, b in zip(g.dW + g.db, list(gW) + list(gb), strict=True))
    out(f"  sizes {sizes}, activations {acts}, batch {N}")
    out.value("mlp.loss", loss)
    out.value("mlp.max_rel_error_grad", err, "hand-written vs cr.grad")
    nn_err = _against_nn(sizes, acts, X, T)
    out.value("mlp.max_rel_error_nn", nn_err, "hand-written vs nn.Linear + backward()")
    # Training with the hand-written gradients follows cr.grad's path step for step.
    steps, alpha = 200, 0.1
    params_hand = ([w.copy() for w in weights], [b.copy() for b in biases])
    params_auto = ([w.copy() for w in weights], [b.copy() for b in biases])
    grad = cr.grad(bp.mlp_loss)
    for _ in range(steps):
        _, gh = bp.mlp_gradients(*params_hand, X, T, acts)
        params_hand = _step(params_hand, (gh.dW, gh.db), alpha)
        params_auto = _step(params_auto, grad(params_auto, X, T, acts), alpha)
    drift = max(bp.relative_error(a, b)
                for a, b in zip(params_hand[0], params_auto[0], strict=True))
    out(f"  {steps} gradient-descent steps, alpha = {alpha}, from the same start:")
    out.value("mlp.trained_loss", float(bp.mlp_loss(params_hand, X, T, acts)))
    out.value("mlp.train_drift", drift, "hand-written vs cr.grad weights after training")


def _step(params, grads, alpha):
    return tuple([p - alpha * g for p, g in zip(ps, gs, strict=True)]
                 for ps, gs in zip(params, grads, strict=True))


NN_ACTIVATIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "ReLU", "identity": "Identity"}


def _against_nn(sizes, acts, X, T) -> float:
    """The largest relative difference between the hand-written gradients and those of a
    network of ``chainrule.nn.Linear`` layers (eager ``backward()``)."""
    layers = [nn.Linear(a, b, dtype=np.float64, rng=k)
              for k, (a, b) in enumerate(pairwise(sizes))]
    weights = [np.array(layer.weight.primal()) for layer in layers]
    biases = [np.array(layer.bias.primal()) for layer in layers]
    _, g = bp.mlp_gradients(weights, biases, X, T, acts)
    y = cr.tensor(X)
    for layer, act in zip(layers, acts, strict=True):
        module = getattr(nn, NN_ACTIVATIONS[act], None)
        z = layer(y)
        y = module()(z) if module is not None else bp.get_activation(act).cf(z)
    r = y - T
    loss = (r * r).sum() * (0.5 / X.shape[0])
    loss.backward()
    errs = []
    for layer, dW, db in zip(layers, g.dW, g.db, strict=True):
        errs.append(bp.relative_error(dW, layer.weight.grad.primal()))
        errs.append(bp.relative_error(db, layer.bias.grad.primal()))
    return max(errs)


def section_programs(out: _Printer, dot_dir: Path | None = None) -> None:
    out.heading("5. Automatic differentiation of programs")
    out("program(a): r = Newton's sqrt(a) (a loop until it settles), p = r^5 by recursive")
    out("squaring, then a branch: log(p) if p > 1 else p - 1. So program(a) = 2.5 log a for")
    out("a > 1, a^2.5 - 1 below; chainrule differentiates the operations that actually ran.")
    for a in (2.0, 0.5):
        d = float(cr.grad(programs.program)(a))
        exact = 2.5 / a if a > 1 else 2.5 * a ** 1.5
        out.value(f"programs.grad_at_{a}", d, f"exact {exact:.12g}")
        out.value(f"programs.grad_error_at_{a}", abs(d - exact))
    d2 = float(cr.grad(cr.grad(programs.program))(2.0))
    out.value("programs.second_derivative_at_2.0", d2, "exact -2.5 / a^2 = -0.625")
    g = viz.graph(programs.program, 2.0, collapse=True)
    full = viz.graph(programs.program, 2.0, collapse=False)
    out.value("programs.graph_nodes_full", len(full.nodes))
    out.value("programs.graph_nodes_collapsed", len(g.nodes), "Newton's loop body drawn once")
    out(g.text())
    _write_graph(g, dot_dir, "program")


def _write_graph(g: viz.Graph, dot_dir: Path | None, name: str) -> None:
    if dot_dir is None:
        return
    dot_dir.mkdir(parents=True, exist_ok=True)
    g.render(dot_dir / f"{name}.dot")
    if viz.graphviz_available():
        g.render(dot_dir / f"{name}.svg")


SECTIONS = {
    "descent": section_descent,
    "chain": section_chain,
    "two_layer": section_two_layer,
    "mlp": section_mlp,
    "programs": section_programs,
}


def run(write: Callable[[str], object] = print, sections=None,
        dot_dir: str | Path | None = None) -> dict:
    """Run the lecture's ``sections`` (all by default), printing with ``write``; returns
    the numbers printed as ``name = value``.

    >>> results = run(write=lambda line: None, sections=["chain"])
    >>> results["chain.f_calls_backprop"], results["chain.f_calls_naive"]
    (3, 6)
    """
    out = _Printer(write)
    for name in sections or SECTIONS:
        SECTIONS[name](out, None if dot_dir is None else Path(dot_dir))
    return out.results


def main(argv: list[str] | None = None) -> int:
    """The command line: ``python -m chainrule.lecture [--sections ...] [--dot DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m chainrule.lecture",
                                     description="The backpropagation lecture, executable.")
    parser.add_argument("--sections", nargs="+", choices=list(SECTIONS), default=None)
    parser.add_argument("--dot", metavar="DIR", default=None,
                        help="write the drawn graphs as DOT (and SVG, with Graphviz) to DIR")
    args = parser.parse_args(argv)
    run(sections=args.sections, dot_dir=args.dot)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

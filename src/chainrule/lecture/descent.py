"""Gradient descent and SGD on a small regression problem (the lecture's first slide).

The empirical risk of a model ``f_θ`` is ``L(θ) = (1/n) Σ ℓ(f_θ(x_i), y_i)``. Gradient
descent steps along ``-∇L``; stochastic gradient descent steps along the gradient of one
example's loss,

    θ(t+1) = θ(t) − α(t) ∇_θ ℓ(f_θ(x_t), y_t),

with a learning-rate schedule ``α(t)`` that decays so the noise of single examples
averages out. The data is made from a fixed formula and seeded noise, so every number is
reproducible and the exact minimiser is known (least squares).

>>> data = make_regression(n=64, seed=0)
>>> theta, _ = gradient_descent(data, alpha=0.5, steps=200)
>>> bool(parameter_error(theta, least_squares(data)) < 1e-10)
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp

__all__ = [
    "Regression",
    "make_regression",
    "predict",
    "loss",
    "risk",
    "risk_gradient",
    "least_squares",
    "parameter_error",
    "inverse_time_decay",
    "gradient_descent",
    "sgd",
]

TRUE_W = np.array([2.0, -3.0, 0.5])
TRUE_B = 1.5


class Regression(NamedTuple):
    """Inputs ``X`` (n × 3), targets ``y`` (n), from ``y = X w + b + noise``."""

    X: np.ndarray
    y: np.ndarray


def make_regression(n: int = 256, noise: float = 0.1, seed: int = 0) -> Regression:
    """``y = 2 x₁ − 3 x₂ + 0.5 x₃ + 1.5 + noise·ε`` with standard normal ``x`` and ``ε``.

    >>> make_regression(n=5).X.shape
    (5, 3)
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ TRUE_W + TRUE_B + noise * rng.normal(size=n)
    return Regression(X, y)


def predict(theta: dict, X):
    """The linear model ``f_θ(x) = wᵀx + b`` on each row of ``X``."""
    return X @ theta["w"] + theta["b"]


def loss(theta: dict, X, y):
    """``½ mean (f_θ(x) − y)²`` over the rows given: one example for SGD, all for GD.

    >>> float(loss({"w": np.zeros(3), "b": 0.0}, np.zeros((1, 3)), np.array([2.0])))
    2.0
    """
    r = predict(theta, X) - y
    return 0.5 * cnp.mean(r * r)


def risk(theta: dict, data: Regression) -> float:
    """The empirical risk ``L(θ)`` on the whole data set (plain NumPy)."""
    r = data.X @ theta["w"] + theta["b"] - data.y
    return float(0.5 * np.mean(r * r))


def risk_gradient(theta: dict, data: Regression) -> dict:
    """``∇L`` by hand: ``∇_w = Xᵀr / n``, ``∇_b = mean(r)`` with residuals ``r``."""
    r = data.X @ theta["w"] + theta["b"] - data.y
    return {"w": data.X.T @ r / len(r), "b": np.mean(r)}


def least_squares(data: Regression) -> dict:
    """The exact minimiser of ``L`` (the normal equations, solved by ``lstsq``)."""
    A = np.column_stack([data.X, np.ones(len(data.y))])
    sol = np.linalg.lstsq(A, data.y, rcond=None)[0]
    return {"w": sol[:3], "b": sol[3]}


def parameter_error(theta: dict, ref: dict) -> float:
    """``‖θ − θ_ref‖`` over all parameters."""
    return float(np.sqrt(np.sum((theta["w"] - ref["w"]) ** 2) + (theta["b"] - ref["b"]) ** 2))


def inverse_time_decay(alpha0: float, tau: float) -> Callable[[int], float]:
    """The schedule ``α(t) = α₀ / (1 + t/τ)``: steps shrink like 1/t, slowly enough
    (Σα = ∞) to reach the minimum and fast enough (Σα² < ∞) to average out the noise.

    >>> inverse_time_decay(0.1, 10)(10)
    0.05
    """
    return lambda t: alpha0 / (1.0 + t / tau)


def _initial() -> dict:
    return {"w": np.zeros(3), "b": np.float64(0.0)}


def gradient_descent(data: Regression, alpha: float = 0.5, steps: int = 100):
    """Full-batch gradient descent ``θ ← θ − α ∇L(θ)`` with ``∇L`` from ``cr.grad``.

    Returns the final θ and the risk before each step and after the last.
    """
    theta = _initial()
    grad = cr.grad(loss)
    history = [risk(theta, data)]
    for _ in range(steps):
        g = grad(theta, data.X, data.y)
        theta = {k: theta[k] - alpha * g[k] for k in theta}
        history.append(risk(theta, data))
    return theta, history


def sgd(data: Regression, schedule: Callable[[int], float], epochs: int = 10, seed: int = 0):
    """SGD: one example at a time, in a fresh random order each epoch,
    ``θ(t+1) = θ(t) − α(t) ∇_θ ℓ(f_θ(x_t), y_t)``.

    Returns the final θ and the risk after each epoch (the first entry: before training).
    """
    rng = np.random.default_rng(seed)
    theta = _initial()
    grad = cr.grad(loss)
    history = [risk(theta, data)]
    t = 0
    for _ in range(epochs):
        for i in rng.permutation(len(data.y)):
            g = grad(theta, data.X[i : i + 1], data.y[i : i + 1])
            a = schedule(t)
            theta = {k: theta[k] - a * g[k] for k in theta}
            t += 1
        history.append(risk(theta, data))
    return theta, history

"""The scalar chain ``z = f(f(f(w)))``: the chain rule as a product of local derivatives.

With ``x = f(w)``, ``y = f(x)``, ``z = f(y)``,

    dz/dw = (dz/dy)(dy/dx)(dx/dw) = f'(y) f'(x) f'(w) = f'(f(f(w))) f'(f(w)) f'(w).

Written as the last expression, the derivative evaluates ``f(w)`` and ``f(f(w))`` again,
although the forward pass already computed them. Backpropagation keeps ``x`` and ``y`` from
the forward pass and multiplies the local derivatives from the output back:
``δz = 1``, ``δy = f'(y) δz``, ``δx = f'(x) δy``, ``δw = f'(w) δx``: ``f`` is evaluated
once per layer, in the forward pass only. :class:`Counted` counts the evaluations.

>>> f = Counted(lambda w: cnp.sin(w) + 0.5 * w)
>>> z, dz = backprop_derivative(f, lambda w: np.cos(w) + 0.5, 0.7)
>>> f.calls
3
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

import chainrule.numpy as cnp

__all__ = ["Counted", "compose", "naive_derivative", "backprop_derivative", "example_f"]


class Counted:
    """``fun`` with a count of its calls in ``calls`` (reset with ``reset()``).

    >>> sq = Counted(lambda x: x * x)
    >>> sq(3.0), sq.calls
    (9.0, 1)
    """

    def __init__(self, fun: Callable):
        self.fun = fun
        self.calls = 0
        functools.update_wrapper(self, fun)

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.fun(*args, **kwargs)

    def reset(self) -> None:
        self.calls = 0


def example_f() -> tuple[Counted, Callable]:
    """The lecture's ``f(w) = sin(w) + w/2`` (counted, built from chainrule.numpy ops so
    chainrule can differentiate it) and its derivative ``f'(w) = cos(w) + 1/2``."""
    return Counted(lambda w: cnp.sin(w) + 0.5 * w), lambda w: np.cos(w) + 0.5


def compose(f: Callable, depth: int = 3) -> Callable:
    """``w ↦ f(f(...f(w)))`` with ``depth`` applications of ``f``.

    >>> compose(lambda x: 2 * x, 3)(1.0)
    8.0
    """

    def composed(w):
        for _ in range(depth):
            w = f(w)
        return w

    composed.__name__ = f"f∘{depth}" if depth != 3 else "f(f(f(w)))"
    return composed


def naive_derivative(f: Callable, df: Callable, w, depth: int = 3):
    """``f'(f^{depth-1}(w)) ⋯ f'(f(w)) f'(w)``, each inner ``f^j(w)`` computed from scratch
    as the formula reads: ``0 + 1 + … + (depth − 1)`` evaluations of ``f``.

    >>> f = Counted(lambda x: x * x)
    >>> naive_derivative(f, lambda x: 2 * x, 2.0), f.calls   # d/dw w⁸ = 8 w⁷
    (1024.0, 3)
    """
    out = 1.0
    for j in range(depth):
        out = out * df(compose(f, j)(w))
    return out


def backprop_derivative(f: Callable, df: Callable, w, depth: int = 3):
    """``(z, dz/dw)`` by one forward pass that keeps every intermediate value and one
    backward pass that reuses them: ``depth`` evaluations of ``f`` in all.

    >>> f = Counted(lambda x: x * x)
    >>> backprop_derivative(f, lambda x: 2 * x, 2.0), f.calls
    ((256.0, 1024.0), 3)
    """
    values = [w]
    for _ in range(depth):  # forward: w, x = f(w), y = f(x), z = f(y)
        values.append(f(values[-1]))
    delta = 1.0  # δz
    for v in reversed(values[:-1]):  # backward: δ ← f'(saved input) δ, no call of f
        delta = df(v) * delta
    return values[-1], delta

"""Differentiable programming: derivatives of programs with loops, branches and recursion.

Automatic differentiation does not need a formula: it records the primitive operations a
program actually executes at the given input (which loop iterations ran, which branch was
taken, how deep the recursion went) and applies the chain rule to that record. The result
is the exact derivative of the function the program computes near that input.

>>> import chainrule as cr
>>> round(float(cr.grad(program)(2.0)), 12)   # d/da log(a^2.5) = 2.5 / a
1.25
"""

from __future__ import annotations

import chainrule.numpy as cnp

__all__ = ["newton_sqrt", "power", "program"]


def newton_sqrt(a, tol: float = 1e-14, max_iter: int = 100):
    """√a by Newton's iteration ``x ← (x + a/x) / 2``, stopping when it settles: a loop
    whose number of iterations depends on the data.

    >>> round(float(newton_sqrt(2.0)), 12)
    1.414213562373
    """
    x = 0.5 * (a + 1.0)
    for _ in range(max_iter):
        x_new = 0.5 * (x + a / x)
        if abs(x_new - x) <= tol * abs(x_new):  # a branch on a value being differentiated
            return x_new
        x = x_new
    return x


def power(x, n: int):
    """``x ** n`` by recursive squaring: ``x^n = (x^(n//2))² · x^(n mod 2)``.

    >>> power(3.0, 5)
    243.0
    """
    if n == 0:
        return 1.0
    half = power(x, n // 2)
    square = half * half
    return square * x if n % 2 else square


def program(a):
    """``√a`` by a loop, to the 5th power by recursion, then a branch:
    ``log p`` where ``p > 1``, ``p − 1`` otherwise (the two pieces meet smoothly at 1).

    >>> round(float(program(4.0)), 10)   # log(4^2.5) = 5 log 2
    3.4657359028
    """
    p = power(newton_sqrt(a), 5)
    if p > 1.0:
        return cnp.log(p)
    return p - 1.0

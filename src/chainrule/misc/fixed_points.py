"""Fixed points and their derivatives (autograd's ``misc.fixed_points``).

``fixed_point(f, a, x0, distance, tol)`` iterates ``x ← f(a)(x)`` from ``x0`` until
``distance(x, x_prev) <= tol``; its derivative in ``a`` comes from the implicit
function theorem, itself computed as a fixed point (reverse mode), never by
differentiating through the iterations.

>>> import chainrule as cr, chainrule.numpy as cnp
>>> sqrt = lambda a: fixed_point(lambda a: lambda x: 0.5 * (x + a / x), a, 1.0,
...                              lambda x, y: abs(x - y), 1e-12)
>>> round(float(sqrt(2.0)), 10), round(float(cr.grad(sqrt)(2.0)), 10)  # √2, 1/(2√2)
(1.4142135624, 0.3535533906)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule.core.primitive import def_batch
from chainrule.extend import defvjp, primitive, vspace
from chainrule.numpy import batching
from chainrule.transforms.reverse import make_vjp

__all__ = ["fixed_point", "fixed_point_vjp"]


@primitive
def fixed_point(f: Callable, a: Any, x0: Any, distance: Callable, tol: float) -> Any:
    _f = f(a)
    x, x_prev = _f(x0), x0
    while distance(x, x_prev) > tol:
        x, x_prev = _f(x), x
    return x


def fixed_point_vjp(ans: Any, f: Callable, a: Any, x0: Any, distance: Callable, tol: float) -> Callable:
    """The cotangent of ``a``: solve ``w = g + (∂f/∂x)ᵀ w`` by iteration, then pull ``w``
    back through ``∂f/∂a``."""

    def rev_iter(params):
        a, x_star, x_star_bar = params
        vjp_x, _ = make_vjp(f(a))(x_star)
        vs = vspace(x_star)
        return lambda g: vs.add(vjp_x(g), x_star_bar)

    vjp_a, _ = make_vjp(lambda x, y: f(x)(y))(a, ans)
    return lambda g: vjp_a(fixed_point(rev_iter, (a, ans, g), vspace(x0).zeros(), distance, tol))


defvjp(fixed_point, None, fixed_point_vjp, None)
# Under vmap each example iterates to its own convergence: one call per example.
def_batch(batching.per_example, fixed_point)

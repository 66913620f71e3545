"""autograd's stochastic optimizers (``misc.optimizers``): ``sgd``, ``rmsprop``, ``adam``.

Each is called as ``opt(grad, x0, callback=None, num_iters=..., step_size=..., ...)``
where ``grad(x, i)`` gives the gradient at iteration ``i`` and ``callback(x, i, g)``
(if given) sees each step; ``x0`` may be any nesting of tuples, lists and dicts of
arrays, and the result has its structure. They are written with ``chainrule.numpy``,
so they can be differentiated themselves (meta-optimization).

>>> import numpy as np
>>> x = adam(lambda x, i: 2 * (x - 3.0), np.zeros(2), num_iters=500, step_size=0.1)
>>> np.round(x, 3)
array([3., 3.])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chainrule.numpy as np
from chainrule.misc.flatten import flatten
from chainrule.wrap_util import wraps

__all__ = ["unflatten_optimizer", "sgd", "rmsprop", "adam"]


def unflatten_optimizer(optimize: Callable) -> Callable:
    """An optimizer of flat vectors made into one of nested containers of arrays."""

    @wraps(optimize)
    def _optimize(grad, x0, callback=None, *args, **kwargs):
        _x0, unflatten = flatten(x0)

        def _grad(x, i):
            return flatten(grad(unflatten(x), i))[0]

        if callback:
            def _callback(x, i, g):
                return callback(unflatten(x), i, unflatten(g))
        else:
            _callback = None
        return unflatten(optimize(_grad, _x0, _callback, *args, **kwargs))

    _optimize.__wrapped__ = optimize  # inspect.signature shows num_iters, step_size, ...
    return _optimize


@unflatten_optimizer
def sgd(grad: Callable, x: Any, callback: Callable | None = None, num_iters: int = 200,
        step_size: float = 0.1, mass: float = 0.9) -> Any:
    """Stochastic gradient descent with momentum; ``grad(x, i)``, ``i`` the iteration."""
    velocity = np.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        velocity = mass * velocity - (1.0 - mass) * g
        x = x + step_size * velocity
    return x


@unflatten_optimizer
def rmsprop(grad: Callable, x: Any, callback: Callable | None = None, num_iters: int = 100,
            step_size: float = 0.1, gamma: float = 0.9, eps: float = 10**-8) -> Any:
    """Root mean squared propagation."""
    avg_sq_grad = np.ones(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        avg_sq_grad = avg_sq_grad * gamma + g**2 * (1 - gamma)
        x = x - step_size * g / (np.sqrt(avg_sq_grad) + eps)
    return x


@unflatten_optimizer
def adam(grad: Callable, x: Any, callback: Callable | None = None, num_iters: int = 100,
         step_size: float = 0.001, b1: float = 0.9, b2: float = 0.999, eps: float = 10**-8) -> Any:
    """Adam (Kingma and Ba, arXiv:1412.6980): RMSprop with momentum and bias correction."""
    m = np.zeros(len(x))
    v = np.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        m = (1 - b1) * g + b1 * m  # first moment estimate
        v = (1 - b2) * (g**2) + b2 * v  # second moment estimate
        mhat = m / (1 - b1 ** (i + 1))  # bias correction
        vhat = v / (1 - b2 ** (i + 1))
        x = x - step_size * mhat / (np.sqrt(vhat) + eps)
    return x

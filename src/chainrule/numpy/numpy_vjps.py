"""HIPS autograd's ``numpy_vjps`` helpers that extension code imports.

chainrule's own rules live in the family modules (``elementwise``, ``reductions``,
...); this module gives autograd's helper functions with autograd's signatures, written
with ``chainrule.numpy`` so that rules built from them differentiate again.

>>> import numpy as np
>>> unbroadcast_f(np.zeros(3), lambda g: 2 * g)(np.ones((4, 3)))
array([8., 8., 8.])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor

__all__ = [
    "metadata",
    "unbroadcast",
    "unbroadcast_f",
    "unbroadcast_einsum",
    "match_complex",
    "balanced_eq",
    "replace_zero",
]


def metadata(A: Any) -> tuple:
    """``(shape, ndim, dtype, iscomplex)`` of ``A``, what :func:`unbroadcast` needs."""
    return cnp.shape(A), cnp.ndim(A), cnp.result_type(A), cnp.iscomplexobj(A)


def _value(x):
    while isinstance(x, Tensor):
        x = x._value
    return x


def unbroadcast(x, target_meta: tuple, broadcast_idx: int = 0):
    """Sum ``x`` back down to the shape in ``target_meta`` (undoing broadcasting), and
    keep the real part if the target is real.

    >>> import numpy as np
    >>> unbroadcast(np.ones((2, 3)), metadata(np.zeros((1, 3))))
    array([[2., 2., 2.]])
    """
    target_shape, target_ndim, _dtype, target_iscomplex = target_meta
    while cnp.ndim(x) > target_ndim:
        x = cnp.sum(x, axis=broadcast_idx)
    for axis, size in enumerate(target_shape):
        if size == 1:
            x = cnp.sum(x, axis=axis, keepdims=True)
    if cnp.iscomplexobj(_value(x)) and not target_iscomplex:
        x = cnp.real(x)
    return x


def unbroadcast_f(target, f: Callable) -> Callable:
    """``g ↦ unbroadcast(f(g))`` to ``target``'s shape: a vjp for a broadcasting argument."""
    target_meta = metadata(_value(target))
    return lambda g: unbroadcast(f(g), target_meta)


def unbroadcast_einsum(x, target_meta: tuple, subscript):
    """:func:`unbroadcast` for an ``einsum`` operand whose subscript has an ellipsis."""
    if Ellipsis not in subscript:
        return x
    if subscript[0] == Ellipsis:
        return unbroadcast(x, target_meta, 0)
    if subscript[-1] == Ellipsis:
        return unbroadcast(x, target_meta, -1)
    return unbroadcast(x, target_meta, subscript.index(Ellipsis))


def match_complex(target: Any, x: Any) -> Any:
    """``x`` made real or complex like ``target``."""
    target_iscomplex = cnp.iscomplexobj(_value(target))
    x_iscomplex = cnp.iscomplexobj(_value(x))
    if x_iscomplex and not target_iscomplex:
        return cnp.real(x)
    if not x_iscomplex and target_iscomplex:
        return x + 0j
    return x


def balanced_eq(x: Any, z: Any, y: Any) -> Any:
    """Where ``x`` equals the result ``z``, shared equally when ``y`` equals it too
    (the derivative of ``maximum``/``minimum`` at ties)."""
    x, z, y = _value(x), _value(z), _value(y)
    return (x == z) / (1.0 + (x == y))


def replace_zero(x: Any, val: Any) -> Any:
    """``x`` with its zeros replaced by ``val``."""
    return cnp.where(x, x, val)

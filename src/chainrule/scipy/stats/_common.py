"""What the distribution modules share: registration and the standardised variable."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import chainrule.numpy as cnp
from chainrule.numpy.registry import mirrors

__all__ = ["exported", "standardize", "on_support"]


def exported(distribution: str) -> Callable[[Callable], Callable]:
    """Decorator: list ``distribution.function`` among the supported functions."""

    def deco(f: Callable) -> Callable:
        return mirrors(None, "scipy.stats", f"{distribution}.{f.__name__}")(f)

    return deco


def standardize(x, loc, scale):
    return (x - loc) / scale


def on_support(inside, z, interior: float):
    """``z`` where ``inside`` holds, ``interior`` (a point of the support) elsewhere.

    A density is evaluated on this and then replaced outside the support: the discarded
    branch then has finite derivatives, so no nan leaks into the gradient through the
    zero cotangent that ``where`` sends it.
    """
    return cnp.where(inside, z, interior)


NEG_INF = -np.inf

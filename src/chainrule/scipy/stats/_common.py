"""What the distribution modules share: registration and the standardised variable."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import undifferentiated
from chainrule.numpy.registry import mirrors

__all__ = ["exported", "standardize", "on_support", "counts", "log_diff_exp"]


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


def counts(k, loc=0, high=None):
    """A discrete distribution's argument: ``(k, inside, off)``.

    ``k - loc`` as plain numbers (a count has no derivative), 0 where it is not a count in
    ``[0, high]``; where it is; and the log mass off the support, SciPy's: -inf, nan where
    ``k`` is nan.
    """
    k = cnp.subtract(undifferentiated(k), undifferentiated(loc))
    inside = (k >= 0) & (k == cnp.floor(k))
    if high is not None:
        inside = inside & (k <= high)
    return cnp.where(inside, k, 0), inside, cnp.where(cnp.isnan(k), np.nan, NEG_INF)


def log_diff_exp(big, small):
    """``log(exp(big) - exp(small))`` for ``big >= small``, without cancellation."""
    d = small - big
    near = d > -np.log(2.0)  # log(-expm1(d)) near 0, log1p(-exp(d)) in the tail
    return big + cnp.where(near, cnp.log(-cnp.expm1(cnp.where(near, d, -1.0))),
                           cnp.log1p(-cnp.exp(cnp.where(near, -1.0, d))))

"""Log-space helpers built from the mirror's primitives (so differentiable to any order,
under every transform), shared by the layers above: ``scipy.stats``' log survival and
log cdf functions and ``jax.nn.log1mexp``.

>>> import chainrule.numpy as cnp
>>> round(float(log1m_exp(cnp.array(-1e-20))), 4)   # log(1 - exp(-1e-20)) = log(1e-20)
-46.0517
"""

from __future__ import annotations

import math

import chainrule.numpy as cnp

__all__ = ["log1m_exp", "log_diff_exp"]

_LOG2 = math.log(2.0)  # a Python number: it takes the dtype of what it meets


def log1m_exp(d):
    """``log(1 - exp(d))`` for ``d <= 0``, without cancellation near 0 or in the tail
    (Mächler's switch at ``-log 2``); nan for ``d > 0``.

    Each branch sees only the ``d`` it is accurate for: the other one's derivative would
    be infinite there, and the zero cotangent ``where`` sends it would make it nan.

    >>> f"{float(log1m_exp(-50.0)):.4e}"   # -exp(-50): log1p keeps it
    '-1.9287e-22'
    """
    near = d > -_LOG2  # log(-expm1(d)) near 0, log1p(-exp(d)) in the tail
    return cnp.where(near, cnp.log(-cnp.expm1(cnp.where(near, d, -1.0))),
                     cnp.log1p(-cnp.exp(cnp.where(near, -1.0, d))))


def log_diff_exp(big, small):
    """``log(exp(big) - exp(small))`` for ``big >= small``, without cancellation.

    >>> round(float(log_diff_exp(0.0, -1e-20)), 4)   # log(1e-20)
    -46.0517
    """
    return big + log1m_exp(small - big)

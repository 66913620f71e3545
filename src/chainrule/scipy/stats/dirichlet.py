"""The Dirichlet distribution, differentiable in ``x`` and ``alpha``.

As in SciPy, the components run along the first axis of ``x``: shape ``(K,)`` for one
point, ``(K, N)`` for N points; with ``K - 1`` rows the last component is one minus
their sum. Unlike SciPy, ``x`` is not checked to lie on the simplex, so that finite
differences and tangent directions off the simplex remain usable.
"""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.numpy.broadcasting import shape_of
from chainrule.scipy.reexport import fallback
from chainrule.scipy.special import gammaln, xlogy
from chainrule.scipy.stats._common import exported

__all__ = ["logpdf", "pdf"]

_export = exported("dirichlet", widens=False)  # SciPy's dirichlet keeps float32


def _log_normalizer(alpha):
    return cnp.sum(gammaln(alpha)) - gammaln(cnp.sum(alpha))


@_export
def logpdf(x, alpha):
    (k,) = shape_of(alpha)
    xshape = shape_of(x)
    if not xshape or xshape[0] not in (k, k - 1):
        raise ValueError(
            f"dirichlet: x must have {k} or {k - 1} entries along its first axis "
            f"(one per component of alpha), got shape {xshape}"
        )
    column = (-1,) + (1,) * (len(xshape) - 1)
    terms = xlogy(cnp.reshape(alpha[: xshape[0]] - 1, column), x)
    total = cnp.sum(terms, axis=0)
    if xshape[0] == k - 1:
        total = total + xlogy(alpha[k - 1] - 1, 1 - cnp.sum(x, axis=0))
    return total - _log_normalizer(alpha)


@_export
def pdf(x, alpha):
    return cnp.exp(logpdf(x, alpha))


# rvs, mean, fit, ... and the functions without rules here: scipy.stats.dirichlet's own
__getattr__, __dir__ = fallback(__name__, "scipy.stats", "dirichlet")

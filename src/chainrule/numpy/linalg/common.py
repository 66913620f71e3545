"""What the linear-algebra modules share: ``linalg_op`` and helpers on stacks of matrices,
written with differentiable operations."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.linearize import pullback
from chainrule.core.values import like_input
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.products import conj_if_complex, einsum, matmul
from chainrule.numpy.registry import optional, wrap

__all__ = [
    "LinAlgError",
]


_la = np.linalg
LinAlgError = _la.LinAlgError


# NumPy 2's array-API functions: NumPy's own for plain arrays where this NumPy has them
_np_vector_norm, _np_matrix_norm, _np_matrix_transpose = (
    optional(_la, n) for n in ("vector_norm", "matrix_norm", "matrix_transpose")
)


def linalg_op(np_fun, name=None, multiple_outputs=False, public=True):
    return wrap(np_fun, "linalg", name, multiple_outputs=multiple_outputs, public=public)


# -- helpers on stacks of matrices, written with differentiable operations ----------------
def _T(x):
    return cnp.swapaxes(x, -1, -2)


def _H(x):
    """Conjugate transpose (the plain transpose of a real matrix)."""
    return conj_if_complex(_T(x))


def _real_if(x, cond: bool):
    return cnp.real(x) if cond else x


def _dtype(*xs):
    return np.result_type(*(getattr(x, "dtype", np.float64) for x in xs))


def _real_dtype(x):
    """The real dtype of ``x``'s values (float32 for complex64): constants of a rule take it."""
    return np.finfo(_dtype(x)).dtype if _dtype(x).kind in "fc" else np.dtype(np.float64)


def _diag(x):
    return einsum("...ii->...i", x)


def _trace(x):
    return einsum("...ii->...", x)


def _diag_embed(v):
    n = shape_of(v)[-1]
    return cnp.expand_dims(v, -1) * np.eye(n, dtype=_dtype(v))


def _tril(x, k: int = 0):
    m, n = shape_of(x)[-2:]
    return x * np.tril(np.ones((m, n), dtype=bool), k)


def _sym(x):
    """The Hermitian part (x + xᴴ) / 2."""
    return (x + _H(x)) * 0.5


def _col(x):
    return cnp.expand_dims(x, -1)


def _row(x):
    return cnp.expand_dims(x, -2)


def _inverse_gaps(w):
    """F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it; infinite where two values
    coincide (the derivative does not exist there)."""
    n = shape_of(w)[-1]
    eye = np.eye(n, dtype=_dtype(w))
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 / (_row(w) - _col(w) + eye) - eye


def _hcat(x, y):
    """[x | y] along the last axis, with products by constant selection matrices (exact:
    their entries are 0 and 1), so that it differentiates like any product."""
    p, q = shape_of(x)[-1], shape_of(y)[-1]
    dtype = _dtype(x, y)
    return matmul(x, np.eye(p, p + q, dtype=dtype)) + matmul(y, np.eye(q, p + q, k=p, dtype=dtype))


def _vjp_by_transposing(jvp_rule):
    """The vjp rule that transposes a jvp rule (linear in its tangent) by reverse mode.

    Exact for any linear map, the complex ones included, at the price of one small
    reverse pass; used where no explicit complex formula is written down.
    """

    def rule(g, ans, a, **kwargs):
        point = cnp.zeros_like(a)
        outs, pull = pullback(lambda t: jvp_rule(t, ans, a, **kwargs), (point,))
        if isinstance(outs, tuple):
            g = tuple(cnp.zeros_like(o) if gi is None else gi for gi, o in zip(g, outs, strict=True))
        ct = pull(g)[0]
        return point if ct is None else like_input(ct, point)

    return rule

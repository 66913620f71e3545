"""``chainrule.scipy.linalg``: SciPy's linear algebra, differentiable.

On plain arrays every function here is SciPy's own. On Tensors:

* ``solve_triangular``, ``solve_banded``, ``solve_sylvester``, ``sqrtm``, ``expm``,
  ``logm`` and ``fractional_matrix_power`` are primitives whose rules are written with
  these same functions, so they differentiate again (the Fréchet derivatives of ``expm``,
  ``logm`` and ``fractional_matrix_power`` are the off-diagonal block of the function of
  ``[[A, E], [0, A]]``, those of ``sqrtm`` solve a Sylvester equation);
* ``inv``, ``solve``, ``det``, ``cholesky``, ``cho_factor``/``cho_solve``, ``qr``, ``svd``,
  ``svdvals``, ``eigh``, ``eigvalsh``, ``eig``, ``eigvals``, ``norm`` and ``pinv`` take
  SciPy's signatures and run on :mod:`chainrule.numpy.linalg`'s rules;
* ``block_diag`` places its blocks with ``concatenate``;
* ``lu`` (of any m × n matrix) is a primitive for L and U, with the permutation read from
  the value; ``lu_factor`` and ``lu_solve`` build on it and on ``solve_triangular``.

Functions that read one triangle of their input (``cholesky``, ``cho_factor``, ``eigh``,
``solve_triangular``, ``solve(..., assume_a="pos")``) differentiate the function as SciPy
computes it: the other triangle does not enter, and its gradient is zero. Every other
name of ``scipy.linalg`` (``schur``, ``toeplitz``, ...) is SciPy's own and
raises an error naming itself when handed a Tensor.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

import chainrule.numpy as cnp
from chainrule.core.primitive import def_batch, def_jvps, def_vjps
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import is_complex, shape_of
from chainrule.numpy.nondiff import plain, unboxing
from chainrule.numpy.products import any_tensor
from chainrule.numpy.registry import mirrors, wrap
from chainrule.scipy.reexport import fallback

__all__ = [
    "inv", "solve", "det", "cholesky", "cho_factor", "cho_solve", "solve_triangular",
    "solve_banded", "solve_sylvester", "sqrtm", "expm", "logm", "fractional_matrix_power", "qr", "svd",
    "svdvals",
    "eigh", "eigvalsh", "eig", "eigvals", "norm", "pinv", "lu", "lu_factor", "lu_solve",
    "block_diag",
]

FAMILY = "scipy.linalg"
la = cnp.linalg


def _T(x):
    return cnp.swapaxes(x, -1, -2)


def _triangle(n: int, lower: bool, strict: bool = False) -> np.ndarray:
    k = -1 if strict else 0
    return np.tril(np.ones((n, n), bool), k) if lower else np.triu(np.ones((n, n), bool), -k)


def _hermitian_from_triangle(a, lower: bool):
    """The Hermitian (for real input: symmetric) matrix that LAPACK reads from one
    triangle of ``a``: the triangle, its conjugate mirror, the diagonal's real part."""
    n = shape_of(a)[-1]
    strict = a * _triangle(n, lower, strict=True)
    mirror = cnp.conj(_T(strict)) if is_complex(a) else _T(strict)
    diag = a * np.eye(n, dtype=bool)
    return strict + mirror + (cnp.real(diag) if is_complex(a) else diag)


def _symmetric_from_triangle(a, lower: bool):
    n = shape_of(a)[-1]
    strict = a * _triangle(n, lower, strict=True)
    return strict + _T(strict) + a * np.eye(n, dtype=bool)


def _refuse(name: str, what: str) -> NotImplementedError:
    return NotImplementedError(
        f"scipy.linalg.{name}: {what} is not differentiable in chainrule; "
        "call it on plain arrays, or use the default"
    )


# -- triangular systems ----------------------------------------------------------------------
_TRANS = {0: 0, "N": 0, 1: 1, "T": 1, 2: 2, "C": 2}


def _triangular_solve(a, b, trans=0, lower=False, unit_diagonal=False):
    return sla.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)


_solve_tri = wrap(_triangular_solve, FAMILY, "solve_triangular", public=False)


def _read(t, lower, unit_diagonal):
    """The entries of ``t`` that the triangular solver reads."""
    return t * _triangle(shape_of(t)[-1], lower, strict=unit_diagonal)


def _as_columns(x):
    return cnp.expand_dims(x, -1) if len(shape_of(x)) == 1 else x


def _tri_solve_vjp_b(g, ans, a, b, trans=0, lower=False, unit_diagonal=False):
    # op(M)⁻ᵀ g, with op the identity (trans 0) or the transpose (trans 1)
    return _solve_tri(a, g, trans=1 - trans, lower=lower, unit_diagonal=unit_diagonal)


def _tri_solve_vjp_a(g, ans, a, b, trans=0, lower=False, unit_diagonal=False):
    gb = _as_columns(_tri_solve_vjp_b(g, ans, a, b, trans, lower, unit_diagonal))
    g_op = -cnp.matmul(gb, _T(_as_columns(ans)))  # the cotangent of op(M)
    return _read(g_op if trans == 0 else _T(g_op), lower, unit_diagonal)


def _tri_solve_jvp_a(t, ans, a, b, trans=0, lower=False, unit_diagonal=False):
    dm = _read(t, lower, unit_diagonal)
    rhs = cnp.matmul(dm if trans == 0 else _T(dm), _as_columns(ans))
    if len(shape_of(ans)) == 1:
        rhs = rhs[..., 0]
    return -_solve_tri(a, rhs, trans=trans, lower=lower, unit_diagonal=unit_diagonal)


def _tri_solve_jvp_b(t, ans, a, b, trans=0, lower=False, unit_diagonal=False):
    return _solve_tri(a, t, trans=trans, lower=lower, unit_diagonal=unit_diagonal)


def_vjps(_solve_tri, _tri_solve_vjp_a, _tri_solve_vjp_b)
def_jvps(_solve_tri, _tri_solve_jvp_a, _tri_solve_jvp_b)


@mirrors(sla.solve_triangular, FAMILY)
def solve_triangular(a, b, trans=0, lower: bool = False, unit_diagonal: bool = False,
                     overwrite_b: bool = False, check_finite: bool = True):
    """``scipy.linalg.solve_triangular``: differentiable in ``a`` (the triangle it reads)
    and ``b``, for ``trans`` 0/'N', 1/'T' and 2/'C'."""
    if not any_tensor((a, b)):
        return sla.solve_triangular(a, b, trans, lower, unit_diagonal, overwrite_b,
                                    check_finite)
    trans = _TRANS[trans]
    if trans == 2:  # op(a) = conj(a)ᵀ: the transposed solve with conj(a)
        a, trans = cnp.conj(a), 1
    return _solve_tri(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)


# -- Cholesky --------------------------------------------------------------------------------
@mirrors(sla.cholesky, FAMILY)
def cholesky(a, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True):
    """``scipy.linalg.cholesky`` (upper factor by default), differentiable in the
    triangle of ``a`` that it reads."""
    if not any_tensor((a,)):
        return sla.cholesky(a, lower, overwrite_a, check_finite)
    low = la.cholesky(_hermitian_from_triangle(a, lower))
    return low if lower else cnp.conj(_T(low)) if is_complex(low) else _T(low)


@mirrors(sla.cho_factor, FAMILY)
def cho_factor(a, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True):
    """``scipy.linalg.cho_factor``: ``(c, lower)``; the other triangle of ``c`` holds
    ``a``'s entries, as SciPy leaves them."""
    if not any_tensor((a,)):
        return sla.cho_factor(a, lower, overwrite_a, check_finite)
    factor = cholesky(a, lower=lower)
    n = shape_of(a)[-1]
    return factor + a * _triangle(n, not lower, strict=True), lower


@mirrors(sla.cho_solve, FAMILY)
def cho_solve(c_and_lower, b, overwrite_b: bool = False, check_finite: bool = True):
    """``scipy.linalg.cho_solve``: two triangular solves with the factor in ``c``."""
    c, lower = c_and_lower
    if not any_tensor((c, b)):
        return sla.cho_solve((c, lower), b, overwrite_b, check_finite)
    if lower:  # A = L Lᴴ
        y = solve_triangular(c, b, lower=True)
        return solve_triangular(c, y, trans=2, lower=True)
    y = solve_triangular(c, b, trans=2, lower=False)  # A = Uᴴ U
    return solve_triangular(c, y, lower=False)


# -- general systems, inverse, determinant ----------------------------------------------------
_ASSUME = {None: "gen", "gen": "gen", "general": "gen", "sym": "sym", "symmetric": "sym",
           "her": "her", "hermitian": "her", "pos": "her", "positive definite": "her",
           "diagonal": "diagonal", "upper triangular": "upper", "lower triangular": "lower"}


def _as_read(a, assume_a, lower: bool, name: str):
    """The matrix SciPy's solver reads from ``a`` under ``assume_a``."""
    kind = _ASSUME.get(assume_a)
    if kind is None:
        raise _refuse(name, f"assume_a={assume_a!r}")
    n = shape_of(a)[-1]
    if kind == "sym":
        return _symmetric_from_triangle(a, lower)
    if kind == "her":
        return _hermitian_from_triangle(a, lower)
    if kind == "diagonal":
        return a * np.eye(n, dtype=bool)
    if kind in ("upper", "lower"):
        return a * _triangle(n, kind == "lower")
    return a


@mirrors(sla.solve, FAMILY)
def solve(a, b, lower: bool = False, overwrite_a: bool = False, overwrite_b: bool = False,
          check_finite: bool = True, assume_a=None, transposed: bool = False):
    """``scipy.linalg.solve``; with ``assume_a`` 'sym', 'her' or 'pos' it differentiates
    in the triangle it reads."""
    if not any_tensor((a, b)):
        return sla.solve(a, b, lower, overwrite_a, overwrite_b, check_finite, assume_a,
                         transposed)
    m = _as_read(a, assume_a, lower, "solve")
    return la.solve(_T(m) if transposed else m, b)


@mirrors(sla.inv, FAMILY)
def inv(a, overwrite_a: bool = False, check_finite: bool = True, *, assume_a=None,
        lower: bool = False):
    """``scipy.linalg.inv``."""
    if not any_tensor((a,)):
        kwargs = {} if assume_a is None and not lower else {"assume_a": assume_a, "lower": lower}
        return sla.inv(a, overwrite_a, check_finite, **kwargs)
    return la.inv(_as_read(a, assume_a, lower, "inv"))


@mirrors(sla.det, FAMILY)
def det(a, overwrite_a: bool = False, check_finite: bool = True):
    """``scipy.linalg.det``."""
    if not any_tensor((a,)):
        return sla.det(a, overwrite_a, check_finite)
    return la.det(a)


@mirrors(sla.block_diag, FAMILY)
def block_diag(*arrs):
    """``scipy.linalg.block_diag``: the blocks along the diagonal of a matrix of zeros,
    differentiable in each block (a 0-d block is 1 x 1, a 1-d block one row).

    >>> block_diag(np.array([[1.0, 2.0]]), 3.0)
    array([[1., 2., 0.],
           [0., 0., 3.]])
    """
    if not any_tensor(arrs):
        return sla.block_diag(*arrs)
    blocks = [cnp.atleast_2d(a) for a in arrs]
    for k, b in enumerate(blocks):
        if len(shape_of(b)) > 2:
            raise ValueError(f"block_diag: argument {k} has {len(shape_of(b))} dimensions; each "
                             "block must have at most 2 (map over a stack with chainrule.vmap)")
    dtype = cnp.result_type(*blocks)
    widths = [shape_of(b)[1] for b in blocks]
    rows = [cnp.concatenate([cnp.zeros((shape_of(b)[0], sum(widths[:k])), dtype), cnp.astype(b, dtype),
                             cnp.zeros((shape_of(b)[0], sum(widths[k + 1:])), dtype)], axis=1)
            for k, b in enumerate(blocks)]
    return cnp.concatenate(rows, axis=0)


# -- banded systems --------------------------------------------------------------------------
def _band_positions(l_and_u, n: int):
    """Row and column indices in the full matrix of each entry of the band storage
    ``ab[u + i - j, j] = A[i, j]``, and which entries of ``ab`` are inside the matrix."""
    lo, up = l_and_u
    rows = np.arange(lo + up + 1)[:, None] - up + np.arange(n)[None, :]
    cols = np.broadcast_to(np.arange(n), rows.shape)
    inside = (rows >= 0) & (rows < n)
    return np.where(inside, rows, 0), cols, inside


def _band_to_full(ab, l_and_u):
    n = shape_of(ab)[-1]
    rows, cols, inside = _band_positions(l_and_u, n)
    onehot = (rows[..., None] == np.arange(n)) & inside[..., None]  # (bands, n, n): i
    return cnp.einsum("kj,kji->ij", ab, onehot)


def _full_to_band(m, l_and_u):
    n = shape_of(m)[-1]
    rows, cols, inside = _band_positions(l_and_u, n)
    return m[rows, cols] * inside


def _banded_solve(ab, b, l_and_u):
    return sla.solve_banded(l_and_u, ab, b)


_solve_band = wrap(_banded_solve, FAMILY, "solve_banded", public=False)


def _band_vjp_b(g, ans, ab, b, l_and_u):
    return la.solve(_T(_band_to_full(ab, l_and_u)), g)


def _band_vjp_ab(g, ans, ab, b, l_and_u):
    gb = _as_columns(_band_vjp_b(g, ans, ab, b, l_and_u))
    return _full_to_band(-cnp.matmul(gb, _T(_as_columns(ans))), l_and_u)


def _band_jvp_ab(t, ans, ab, b, l_and_u):
    rhs = cnp.matmul(_band_to_full(t, l_and_u), _as_columns(ans))
    if len(shape_of(ans)) == 1:
        rhs = rhs[..., 0]
    return -_solve_band(ab, rhs, l_and_u=l_and_u)


def_vjps(_solve_band, _band_vjp_ab, _band_vjp_b)
def_jvps(_solve_band, _band_jvp_ab, lambda t, ans, ab, b, l_and_u: _solve_band(ab, t, l_and_u=l_and_u))


@mirrors(sla.solve_banded, FAMILY)
def solve_banded(l_and_u, ab, b, overwrite_ab: bool = False, overwrite_b: bool = False,
                 check_finite: bool = True):
    """``scipy.linalg.solve_banded``, differentiable in the band ``ab`` and in ``b``."""
    if not any_tensor((ab, b)):
        return sla.solve_banded(l_and_u, ab, b, overwrite_ab, overwrite_b, check_finite)
    return _solve_band(ab, b, l_and_u=tuple(int(k) for k in l_and_u))


# -- Sylvester equations and matrix functions ---------------------------------------------------
solve_sylvester = wrap(sla.solve_sylvester, FAMILY)


def _sylvester_cotangent(g, a, b):
    return solve_sylvester(_T(a), _T(b), g)


# A X + X B = Q: dX solves A dX + dX B = dQ − dA X − X dB
def_vjps(solve_sylvester,
         lambda g, ans, a, b, q: -cnp.matmul(_sylvester_cotangent(g, a, b), _T(ans)),
         lambda g, ans, a, b, q: -cnp.matmul(_T(ans), _sylvester_cotangent(g, a, b)),
         lambda g, ans, a, b, q: _sylvester_cotangent(g, a, b))
def_jvps(solve_sylvester,
         lambda t, ans, a, b, q: solve_sylvester(a, b, -cnp.matmul(t, ans)),
         lambda t, ans, a, b, q: solve_sylvester(a, b, -cnp.matmul(ans, t)),
         lambda t, ans, a, b, q: solve_sylvester(a, b, t))

# sqrtm: X² = A, so X dX + dX X = dA
_sqrtm = wrap(lambda a: sla.sqrtm(a), FAMILY, "sqrtm", public=False)
def_vjps(_sqrtm, lambda g, ans, a: solve_sylvester(_T(ans), _T(ans), g))
def_jvps(_sqrtm, lambda t, ans, a: solve_sylvester(ans, ans, t))


@mirrors(sla.sqrtm, FAMILY)
def sqrtm(A, *args, **kwargs):
    """``scipy.linalg.sqrtm``, the principal square root, differentiable where it is
    (no eigenvalue on the closed negative real axis)."""
    if not any_tensor((A,)):
        return sla.sqrtm(A, *args, **kwargs)
    return _sqrtm(A)


def _frechet(fun, a, e):
    """The Fréchet derivative of a matrix function at ``a`` in direction ``e``: the upper
    right block of ``fun([[a, e], [0, a]])`` (Higham, Functions of Matrices, 3.1)."""
    n = shape_of(a)[-1]
    top = cnp.concatenate([a, e], axis=-1)
    bottom = cnp.concatenate([cnp.zeros_like(a), a], axis=-1)
    return fun(cnp.concatenate([top, bottom], axis=-2))[..., :n, n:]


expm = wrap(sla.expm, FAMILY)
# the transpose of E ↦ L(A, E) is G ↦ L(Aᵀ, G), for expm and logm alike
def_vjps(expm, lambda g, ans, a: _frechet(expm, _T(a), g))
def_jvps(expm, lambda t, ans, a: _frechet(expm, a, t))

_logm = wrap(lambda a: sla.logm(a), FAMILY, "logm", public=False)
def_vjps(_logm, lambda g, ans, a: _frechet(_logm, _T(a), g))
def_jvps(_logm, lambda t, ans, a: _frechet(_logm, a, t))


@mirrors(sla.logm, FAMILY)
def logm(A, *args, **kwargs):
    """``scipy.linalg.logm``, the principal logarithm, differentiable where it is."""
    if not any_tensor((A,)):
        return sla.logm(A, *args, **kwargs)
    return _logm(A)


# Aᵗ, a primary matrix function as expm and logm: its Fréchet derivative and the transpose alike
_power = wrap(lambda a, t: sla.fractional_matrix_power(a, t), FAMILY, "fractional_matrix_power", public=False)
def_vjps(_power, lambda g, ans, a, t: _frechet(lambda m: _power(m, t=t), _T(a), g))
def_jvps(_power, lambda d, ans, a, t: _frechet(lambda m: _power(m, t=t), a, d))


@mirrors(sla.fractional_matrix_power, FAMILY)
def fractional_matrix_power(A, t):
    """``scipy.linalg.fractional_matrix_power``, the principal power ``Aᵗ`` (``t`` a
    number; whitening by a covariance's ``-1/2`` power), differentiable in ``A`` where it is."""
    if not any_tensor((A,)):
        return sla.fractional_matrix_power(A, t)
    if any_tensor((t,)):
        raise _refuse("fractional_matrix_power", "a Tensor exponent t")
    return _power(A, t=float(t))


# -- LU: A = P L U, with the permutation P locally constant ----------------------------------------
def _lu_values(a, check_finite=True):
    _, low, up = sla.lu(a, check_finite=check_finite)
    return low, up


_lu = wrap(_lu_values, FAMILY, "lu", multiple_outputs=True, public=False)


# P of A = P L U (or its row indices, or LAPACK's pivots), read from the value: constant near
# a (distinct pivots), so without a derivative; each example's own under vmap
_permutation = unboxing(lambda a: sla.lu(a, check_finite=False)[0])
_permutation_indices = unboxing(lambda a: sla.lu(a, p_indices=True, check_finite=False)[0])
_pivots = unboxing(lambda a: sla.lu_factor(a, check_finite=False)[1])


def _unit_lower_solve(low, b, trans=0):
    return solve_triangular(low, b, trans=trans, lower=True, unit_diagonal=True)


def lu_jvp(t, ans, a, check_finite=True):
    # B = Pᵀ dA; X = L₁⁻¹ B₁ U₁⁻¹ on the leading k×k blocks (k = min(m, n)); wide (and
    # square): dL = L tril(X, −1), dU = L⁻¹ B − tril(X, −1) U; tall: dU = triu(X) U,
    # dL = B U⁻¹ − L triu(X)
    low, up = ans
    m, n = shape_of(a)
    k = min(m, n)
    b = cnp.matmul(_T(_permutation(a)), t)
    x = _T(solve_triangular(up[:, :k], _T(_unit_lower_solve(low[:k], b[:k, :k])), trans=1))
    if m <= n:
        x_low = cnp.tril(x, -1)
        return cnp.matmul(low, x_low), _unit_lower_solve(low, b) - cnp.matmul(x_low, up)
    x_up = cnp.triu(x)
    return _T(solve_triangular(up, _T(b), trans=1)) - cnp.matmul(low, x_up), cnp.matmul(x_up, up)


def lu_vjp(g, ans, a, check_finite=True):
    # Ā = P B̄ with, wide (and square): B̄ = L⁻ᵀ([tril(Lᵀ L̄ − Ū Uᵀ, −1) U₁⁻ᵀ | 0] + Ū);
    # tall: B̄ = [L₁⁻ᵀ triu(Ū Uᵀ − Lᵀ L̄) ; 0] U⁻ᵀ + L̄ U⁻ᵀ (L̄ and Ū masked to L's and U's
    # free entries, PyTorch's linalg_lu_backward)
    low, up = ans
    g_low, g_up = g
    m, n = shape_of(a)
    k = min(m, n)
    g_low = cnp.zeros_like(low) if g_low is None else cnp.tril(g_low, -1)
    g_up = cnp.zeros_like(up) if g_up is None else cnp.triu(g_up)
    if m <= n:
        core = cnp.tril(cnp.matmul(_T(low), g_low) - cnp.matmul(g_up, _T(up)), -1)
        core = _T(solve_triangular(up[:, :k], _T(core)))  # core U₁⁻ᵀ
        core = cnp.concatenate([core, cnp.zeros((k, n - k), dtype=core.dtype)], axis=1) + g_up
        b = _unit_lower_solve(low, core, trans=1)
    else:
        core = _unit_lower_solve(low[:k], cnp.triu(cnp.matmul(g_up, _T(up)) - cnp.matmul(_T(low), g_low)), trans=1)
        core = cnp.concatenate([core, cnp.zeros((m - k, k), dtype=core.dtype)], axis=0) + g_low
        b = _T(solve_triangular(up, _T(core)))  # core U⁻ᵀ
    return cnp.matmul(_permutation(a), b)


def_vjps(_lu, lu_vjp)
def_jvps(_lu, lu_jvp)


def _matrix_only(a, name: str) -> None:
    if len(shape_of(a)) != 2:
        raise _refuse(name, f"an array of shape {shape_of(a)} (only matrices are)")


@mirrors(sla.lu, FAMILY)
def lu(a, permute_l: bool = False, overwrite_a: bool = False, check_finite: bool = True,
       p_indices: bool = False):
    """``scipy.linalg.lu`` of an m × n matrix: ``(P, L, U)``, L m × k and U k × n for
    k = min(m, n), differentiable in L and U (of a matrix of full rank)
    where the pivots are distinct (P is locally constant)."""
    if not any_tensor((a,)):
        return sla.lu(a, permute_l, overwrite_a, check_finite, p_indices)
    _matrix_only(a, "lu")
    low, up = _lu(a, check_finite=bool(check_finite))
    if permute_l:
        return cnp.matmul(_permutation(a), low), up
    p = _permutation_indices(a) if p_indices else _permutation(a)
    return p, low, up


@mirrors(sla.lu_factor, FAMILY)
def lu_factor(a, overwrite_a: bool = False, check_finite: bool = True):
    """``scipy.linalg.lu_factor``: ``(lu, piv)`` with L below the diagonal of ``lu`` and U
    on and above it; differentiable in ``lu``."""
    if not any_tensor((a,)):
        return sla.lu_factor(a, overwrite_a, check_finite)
    _matrix_only(a, "lu_factor")
    low, up = _lu(a, check_finite=bool(check_finite))
    m, n = shape_of(a)
    k = min(m, n)
    if m < n:  # both m × n, in LAPACK's one array (a -0.0 below the diagonal kept)
        low = cnp.concatenate([low, cnp.zeros((m, n - k), dtype=low.dtype)], axis=1)
    elif m > n:
        up = cnp.concatenate([up, cnp.zeros((m - k, n), dtype=up.dtype)], axis=0)
    return cnp.where(np.tril(np.ones((m, n), bool), -1), low, up), _pivots(a)


@unboxing
def _row_order(piv) -> np.ndarray:
    """The rows of b in the order LAPACK's interchanges put them: b' = b[order] = Pᵀ b."""
    order = np.arange(len(piv))
    for i, j in enumerate(np.asarray(piv)):
        order[i], order[j] = order[j], order[i]
    return order


@mirrors(sla.lu_solve, FAMILY)
def lu_solve(lu_and_piv, b, trans=0, overwrite_b: bool = False, check_finite: bool = True):
    """``scipy.linalg.lu_solve``: triangular solves with the factors in ``lu``,
    differentiable in ``lu`` and ``b``."""
    lu_, piv = lu_and_piv
    if not any_tensor((lu_, b)):
        return sla.lu_solve((lu_, piv), b, trans, overwrite_b, check_finite)
    order = _row_order(piv)
    trans = _TRANS[trans]
    if trans == 0:  # A x = P L U x = b
        y = _unit_lower_solve(lu_, cnp.take(b, order, axis=0))
        return solve_triangular(lu_, y, lower=False)
    z = solve_triangular(lu_, b, trans=trans, lower=False)  # op(A) = op(U) op(L) Pᵀ
    w = _unit_lower_solve(lu_, z, trans=trans)
    return cnp.take(w, cnp.argsort(order), axis=0)


# -- decompositions, with SciPy's signatures, on chainrule.numpy.linalg's rules ---------------
@mirrors(sla.qr, FAMILY)
def qr(a, overwrite_a: bool = False, lwork=None, mode: str = "full", pivoting: bool = False,
       check_finite: bool = True):
    """``scipy.linalg.qr`` in modes 'full', 'economic' and 'r' (without pivoting)."""
    if not any_tensor((a,)):
        return sla.qr(a, overwrite_a, lwork, mode, pivoting, check_finite)
    if pivoting:
        raise _refuse("qr", "pivoting=True")
    if mode == "r":  # SciPy's R has as many rows as a: zero rows below the square part
        r = la.qr(a, mode="r")
        m, n = shape_of(a)[-2:]
        if m > n:
            r = cnp.concatenate([r, np.zeros(shape_of(r)[:-2] + (m - n, n), r.dtype)], axis=-2)
        return (r,)
    if mode not in ("full", "economic"):
        raise _refuse("qr", f"mode={mode!r}")
    return tuple(la.qr(a, mode="complete" if mode == "full" else "reduced"))


@mirrors(sla.svd, FAMILY)
def svd(a, full_matrices: bool = True, compute_uv: bool = True, overwrite_a: bool = False,
        check_finite: bool = True, lapack_driver: str = "gesdd"):
    """``scipy.linalg.svd``."""
    if not any_tensor((a,)):
        return sla.svd(a, full_matrices, compute_uv, overwrite_a, check_finite, lapack_driver)
    out = la.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(out) if compute_uv else out


@mirrors(sla.svdvals, FAMILY)
def svdvals(a, overwrite_a: bool = False, check_finite: bool = True):
    """``scipy.linalg.svdvals``."""
    if not any_tensor((a,)):
        return sla.svdvals(a, overwrite_a, check_finite)
    return la.svd(a, compute_uv=False)


def _plain_eigh_only(name: str, options: dict):
    used = sorted(k for k, v in options.items() if v is not None and (k != "type" or v != 1))
    if used:
        raise _refuse(name, ", ".join(used))


def _generalized_eigh(a, b, lower: bool):
    """``a v = w b v`` reduced to a standard problem by ``b = L Lᴴ``, as LAPACK's
    ``sygvd`` does: ``C = L⁻¹ a L⁻ᴴ`` has the eigenvalues ``w`` and the eigenvectors
    ``u = Lᴴ v`` (so ``vᴴ b v = I``); both matrices read one triangle, as SciPy's."""
    low = la.cholesky(_hermitian_from_triangle(b, lower))
    half = solve_triangular(low, _hermitian_from_triangle(a, lower), lower=True)
    w, u = la.eigh(solve_triangular(low, cnp.conj(_T(half)), lower=True))
    return w, solve_triangular(low, u, trans="C", lower=True)


@mirrors(sla.eigh, FAMILY)
def eigh(a, b=None, *, lower: bool = True, eigvals_only: bool = False, **kwargs):
    """``scipy.linalg.eigh``. Of a standard problem the values read one triangle, as
    SciPy's, and the derivative is that of the symmetrised input, as JAX's (see
    :mod:`chainrule.numpy.linalg`). The generalized problem ``a v = w b v`` (``b``
    positive definite, ``type=1``) is reduced to a standard one by the Cholesky factor
    of ``b``, as LAPACK does, and differentiates the triangles of ``a`` and ``b`` it reads."""
    if not any_tensor((a, b)):
        return sla.eigh(a, b, lower=lower, eigvals_only=eigvals_only, **kwargs)
    _plain_eigh_only("eigh", {k: kwargs.get(k) for k in
                              ("subset_by_index", "subset_by_value", "driver", "type")})
    w, v = la.eigh(a, "L" if lower else "U") if b is None else _generalized_eigh(a, b, lower)
    return w if eigvals_only else (w, v)


@mirrors(sla.eigvalsh, FAMILY)
def eigvalsh(a, b=None, *, lower: bool = True, **kwargs):
    """``scipy.linalg.eigvalsh`` of a standard problem."""
    if not any_tensor((a, b)):
        return sla.eigvalsh(a, b, lower=lower, **kwargs)
    return eigh(a, b, lower=lower, eigvals_only=True, **kwargs)


@mirrors(sla.eig, FAMILY)
def eig(a, b=None, left: bool = False, right: bool = True, overwrite_a: bool = False,
        overwrite_b: bool = False, check_finite: bool = True, homogeneous_eigvals: bool = False):
    """``scipy.linalg.eig``: eigenvalues and right eigenvectors of a standard problem."""
    if not any_tensor((a, b)):
        return sla.eig(a, b, left, right, overwrite_a, overwrite_b, check_finite,
                       homogeneous_eigvals)
    if b is not None or left or homogeneous_eigvals:
        raise _refuse("eig", "b, left=True or homogeneous_eigvals=True")
    w, v = la.eig(a)
    return (w, v) if right else w


@mirrors(sla.eigvals, FAMILY)
def eigvals(a, b=None, overwrite_a: bool = False, check_finite: bool = True,
            homogeneous_eigvals: bool = False):
    """``scipy.linalg.eigvals`` of a standard problem."""
    if not any_tensor((a, b)):
        return sla.eigvals(a, b, overwrite_a, check_finite, homogeneous_eigvals)
    return eig(a, b, right=False, homogeneous_eigvals=homogeneous_eigvals)


@mirrors(sla.norm, FAMILY)
def norm(a, ord=None, axis=None, keepdims: bool = False, check_finite: bool = True):
    """``scipy.linalg.norm``."""
    if not any_tensor((a,)):
        return sla.norm(a, ord, axis, keepdims, check_finite)
    return la.norm(a, ord, axis, keepdims)


@mirrors(sla.pinv, FAMILY)
def pinv(a, *, atol=None, rtol=None, return_rank: bool = False, check_finite: bool = True):
    """``scipy.linalg.pinv`` (default tolerances on Tensors), differentiable where the
    rank is constant."""
    if not any_tensor((a,)):
        return sla.pinv(a, atol=atol, rtol=rtol, return_rank=return_rank,
                        check_finite=check_finite)
    if atol is not None or rtol is not None:
        raise _refuse("pinv", "atol=/rtol=")
    m, n = shape_of(a)[-2:]
    p = la.pinv(a, rcond=max(m, n) * np.finfo(np.float64).eps)
    if return_rank:  # the rank is an integer, read from the plain value
        return p, int(np.linalg.matrix_rank(plain(a), rtol=max(m, n) * np.finfo(float).eps))
    return p


# Batching rules for vmap: SciPy's linalg maps over leading axes of stacked matrices; a band
# matrix's layout has no stack, so banded solves run once per example.
def_batch(batching.solve, _solve_tri)
def_batch(batching.per_example, _solve_band, _lu, _power)
def_batch(batching.all_stacked, solve_sylvester)
def_batch(batching.stacked, _sqrtm, expm, _logm)

# every other name of scipy.linalg: SciPy's own, refusing Tensors (see reexport.py)
__getattr__, __dir__ = fallback(__name__, "scipy.linalg")

"""``chainrule.numpy.linalg``: differentiable linear algebra.

Every function takes stacks of matrices (leading batch axes), as NumPy's do, and
differentiates in both modes, to any order: the rules are written with
:mod:`chainrule.numpy` itself. The formulas are the standard ones (M. Giles, "An
extended collection of matrix derivative results", 2008; I. Murray's note on the
Cholesky factor, arXiv:1602.07527; J. Townsend's notes on the SVD and the QR
decomposition), arranged as in JAX and HIPS autograd.

Conventions, the same as JAX's:

* ``eigh`` and ``eigvalsh`` read one triangle of their input (``UPLO``); their
  derivatives are those of the function as computed, of that triangle alone (as HIPS
  autograd's), so they agree with finite differences along every change, symmetric or
  not. ``cholesky``'s derivative is that of the function of the *symmetrised* input
  ``(a + aᴴ) / 2`` (as JAX's and autograd's): symmetric, and right along every
  symmetric change.
* The derivatives of eigenvectors and singular vectors exist where eigenvalues
  (singular values) are distinct; at repeated ones they are infinite or NaN, without an
  error. ``eig`` differentiates where the matrix is diagonalisable with distinct
  eigenvalues; eigenvectors keep NumPy's normalisation (unit norm, largest component
  real).
* ``svd(a, full_matrices=True)`` of a non-square ``a`` has an arbitrary basis for the
  complement of the singular vectors: forward mode refuses it (as JAX does), reverse
  mode accepts it when no gradient flows into those extra columns. Use
  ``full_matrices=False`` or ``compute_uv=False``. Likewise ``qr(a, mode="complete")``
  of a tall matrix.
* ``norm`` at zero, and ``inf``/``1``-norms at ties, take a subgradient: zero, or the
  average of the tied entries.
* Complex inputs: cotangents go through the transpose of the Jacobian (JAX's rule).
  Where no explicit complex formula is written, the vjp is obtained by transposing the
  jvp with reverse mode, which is exact.
"""

from __future__ import annotations

import operator

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.linearize import pullback
from chainrule.core.primitive import def_batch, def_jvps, def_vjps
from chainrule.core.values import like_input
from chainrule.numpy import batching, products
from chainrule.numpy.broadcasting import is_complex, shape_of, unbroadcast
from chainrule.numpy.dispatch import guarded
from chainrule.numpy.nondiff import NONDIFF_OF, plain, unboxing
from chainrule.numpy.products import any_tensor, conj_if_complex, einsum, matmul, permute
from chainrule.numpy.registry import mirrors, optional, wrap

__all__ = [
    "LinAlgError",
    "inv",
    "solve",
    "det",
    "slogdet",
    "cholesky",
    "eigh",
    "eigvalsh",
    "eig",
    "eigvals",
    "svd",
    "svdvals",
    "qr",
    "norm",
    "vector_norm",
    "matrix_norm",
    "cond",
    "pinv",
    "lstsq",
    "matrix_power",
    "multi_dot",
    "matrix_rank",
    "tensorinv",
    "tensorsolve",
    "matrix_transpose",
    "matmul",
    "outer",
    "tensordot",
    "cross",
    "vecdot",
    "diagonal",
    "trace",
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


# -- inverse, solve, determinants --------------------------------------------------------
inv = linalg_op(_la.inv)
def_vjps(inv, lambda g, ans, a: -matmul(matmul(_T(ans), g), _T(ans)))
def_jvps(inv, lambda t, ans, a: -matmul(matmul(ans, t), ans))


# NumPy 2 takes b as a vector exactly when it is 1-D (a stack of vectors is a matrix).
def solve_vjp_a(g, ans, a, b):
    if len(shape_of(b)) == 1:
        return unbroadcast(-matmul(solve(_T(a), _col(g)), _row(ans)), a)
    return unbroadcast(-matmul(solve(_T(a), g), _T(ans)), a)


def solve_vjp_b(g, ans, a, b):
    if len(shape_of(b)) == 1:
        return unbroadcast(solve(_T(a), _col(g))[..., 0], b)
    return unbroadcast(solve(_T(a), g), b)


def solve_jvp_a(t, ans, a, b):
    if len(shape_of(b)) == 1:
        return solve(a, -matmul(t, _col(ans)))[..., 0]
    return solve(a, -matmul(t, ans))


def solve_jvp_b(t, ans, a, b):
    if len(shape_of(b)) == 1:
        return solve(a, _col(t))[..., 0]
    return solve(a, t)


solve = linalg_op(_la.solve)
def_vjps(solve, solve_vjp_a, solve_vjp_b)
def_jvps(solve, solve_jvp_a, solve_jvp_b)

det = linalg_op(_la.det)
def_vjps(det, lambda g, ans, a: _col(_col(g * ans)) * _T(inv(a)))
def_jvps(det, lambda t, ans, a: ans * _trace(solve(a, t)))


def slogdet_jvp(t, ans, a):
    sign, _ = ans
    tr = _trace(solve(a, t))  # d log det a
    if not is_complex(a):
        return cnp.zeros_like(sign), tr
    return sign * (1j * cnp.imag(tr)), cnp.real(tr)


def slogdet_vjp(g, ans, a):
    if is_complex(a):
        return _slogdet_vjp_complex(g, ans, a)
    g_logabs = g[1]
    if g_logabs is None:  # the sign of a real determinant is locally constant
        return cnp.zeros_like(a)
    return _col(_col(g_logabs)) * _T(inv(a))


_slogdet_vjp_complex = _vjp_by_transposing(slogdet_jvp)
slogdet = linalg_op(_la.slogdet, multiple_outputs=True)
def_vjps(slogdet, slogdet_vjp)
def_jvps(slogdet, slogdet_jvp)


# -- Cholesky ------------------------------------------------------------------------------
def _phi(x):
    """The lower triangle with the diagonal halved."""
    n = shape_of(x)[-1]
    return x * (np.tril(np.ones((n, n))) - 0.5 * np.eye(n)).astype(_real_dtype(x))


def cholesky_jvp(t, ans, a):
    # dL = L Φ(L⁻¹ dA L⁻ᴴ) (Murray, arXiv:1602.07527)
    y = solve(ans, _sym(t))
    return matmul(ans, _phi(_H(solve(ans, _H(y)))))


def cholesky_vjp(g, ans, a):
    if is_complex(a):
        return _cholesky_vjp_complex(g, ans, a)
    # Ā = sym(L⁻ᵀ Φ(Lᵀ Ḡ) L⁻¹)
    w = solve(_T(ans), _phi(matmul(_T(ans), g)))
    return _sym(_T(solve(_T(ans), _T(w))))


_cholesky_vjp_complex = _vjp_by_transposing(cholesky_jvp)
_cholesky = linalg_op(_la.cholesky, "cholesky", public=False)
def_vjps(_cholesky, cholesky_vjp)
def_jvps(_cholesky, cholesky_jvp)


@mirrors(_la.cholesky, "linalg")
def cholesky(a, /, *, upper: bool = False):
    """``np.linalg.cholesky``; differentiates as a function of the symmetrised input."""
    if not any_tensor((a,)):
        return _la.cholesky(a, upper=upper) if upper else _la.cholesky(a)
    low = _cholesky(a)
    return _H(low) if upper else low


# -- symmetric eigenproblem ----------------------------------------------------------------
def _strict_triangle(x, UPLO):
    n = shape_of(x)[-1]
    return x * (np.tril(np.ones((n, n), dtype=bool), -1) if UPLO == "L" else np.triu(np.ones((n, n), dtype=bool), 1))


def _triangle_read(t, UPLO):
    """The Hermitian matrix that eigh reads from ``t``: the UPLO triangle mirrored, and
    the real part of the diagonal (LAPACK ignores the rest)."""
    part = _strict_triangle(t, UPLO)
    return part + _H(part) + _diag_embed(_real_if(_diag(t), is_complex(t)))


def _triangle_read_adjoint(g, UPLO):
    """The transpose of :func:`_triangle_read` (real matrices)."""
    return _strict_triangle(g + _T(g), UPLO) + _diag_embed(_diag(g))


def eigh_jvp(t, ans, a, UPLO="L"):
    w, v = ans
    vdv = matmul(matmul(_H(v), _triangle_read(t, UPLO)), v)
    dw = _real_if(_diag(vdv), is_complex(vdv))
    dv = matmul(v, _inverse_gaps(w) * vdv)
    return dw, dv


def eigh_vjp(g, ans, a, UPLO="L"):
    if is_complex(a):
        return _eigh_vjp_complex(g, ans, a, UPLO=UPLO)
    gw, gv = g
    w, v = ans
    inner = 0
    if gw is not None:
        inner = _diag_embed(gw)
    if gv is not None:
        inner = inner + _inverse_gaps(w) * matmul(_T(v), gv)
    return _triangle_read_adjoint(_sym(matmul(matmul(v, inner), _T(v))), UPLO)


_eigh_vjp_complex = _vjp_by_transposing(eigh_jvp)
eigh = linalg_op(_la.eigh, multiple_outputs=True)
def_vjps(eigh, eigh_vjp)
def_jvps(eigh, eigh_jvp)


@mirrors(_la.eigvalsh, "linalg")
def eigvalsh(a, UPLO: str = "L"):
    """``np.linalg.eigvalsh``; differentiates as a function of the triangle it reads."""
    if not any_tensor((a,)):
        return _la.eigvalsh(a, UPLO)
    return eigh(a, UPLO)[0]


# -- general eigenproblem -------------------------------------------------------------------
def _largest_component(v):
    """A mask of the largest-modulus component of each eigenvector (column), which LAPACK
    makes real: that fixes the phase, and so the derivative's."""
    vp = np.abs(plain(v))
    k = np.argmax(vp, axis=-2)
    return np.arange(vp.shape[-2])[:, None] == k[..., None, :]


def eig_jvp(t, ans, a):
    w, v = ans
    vdv = solve(v, matmul(t, v))  # V⁻¹ dA V
    dw = _diag(vdv)
    dv = matmul(v, _inverse_gaps(w) * vdv)
    if is_complex(v):
        # keep |v_j| = 1, then keep the largest component real
        dv = dv - v * cnp.real(cnp.sum(cnp.conj(v) * dv, axis=-2, keepdims=True))
        mask = _largest_component(v)
        vk = cnp.sum(v * mask, axis=-2, keepdims=True)
        dvk = cnp.sum(dv * mask, axis=-2, keepdims=True)
        dv = dv - 1j * v * cnp.imag(dvk / vk)
    else:
        dv = dv - v * cnp.sum(v * dv, axis=-2, keepdims=True)
    return dw, dv


eig = linalg_op(_la.eig, multiple_outputs=True)
def_vjps(eig, _vjp_by_transposing(eig_jvp))
def_jvps(eig, eig_jvp)


@mirrors(_la.eigvals, "linalg")
def eigvals(a):
    """``np.linalg.eigvals``: differentiable where the eigenvalues are distinct."""
    if not any_tensor((a,)):
        return _la.eigvals(a)
    return eig(a)[0]


# -- singular value decomposition ---------------------------------------------------------
def _full_svd_error() -> NotImplementedError:
    return NotImplementedError(
        "svd: the derivative of the full U (or Vh) of a non-square matrix is not defined: "
        "its extra columns are an arbitrary basis. Use svd(a, full_matrices=False), or "
        "compute_uv=False (svdvals) for the singular values alone."
    )


def svd_jvp(t, ans, a, full_matrices=True, compute_uv=True, hermitian=False):
    u, s, vh = ans
    m, n = shape_of(a)[-2:]
    if full_matrices and m != n:
        raise _full_svd_error()
    cplx = is_complex(u)
    v = _H(vh)
    ds_mat = matmul(matmul(_H(u), t), v)  # Uᴴ dA V
    ds = _real_if(_diag(ds_mat), cplx)
    s_row, s_col = _row(s), _col(s)
    f = _inverse_gaps(s * s)  # 1 / (s_j² − s_i²)
    dss = ds_mat * s_row
    sds = s_col * ds_mat
    inner_u = f * (dss + _H(dss))
    if cplx:  # the phase of each pair (u_j, v_j), fixed as in JAX
        s_inv = cnp.where(s == 0, 0.0, 1 / cnp.where(s == 0, 1.0, s))
        inner_u = inner_u + 0.5 * (ds_mat - _H(ds_mat)) * _diag_embed(s_inv)
    du = matmul(u, inner_u)
    dv = matmul(v, f * (sds + _H(sds)))
    if m > n:
        dav = matmul(t, v)
        du = du + (dav - matmul(u, matmul(_H(u), dav))) / s_row
    if n > m:
        dahu = matmul(_H(t), u)
        dv = dv + (dahu - matmul(v, matmul(vh, dahu))) / s_row
    return du, ds, _H(dv)


def _thin_svd_cotangents(g, ans, a, full_matrices):
    """For full_matrices=True of a non-square matrix, the thin part of the outputs and
    their cotangents, refusing a cotangent on the arbitrary extra columns."""
    u, s, vh = ans
    gu, gs, gvh = g
    m, n = shape_of(a)[-2:]
    if not full_matrices or m == n:
        return (u, s, vh), (gu, gs, gvh)
    k = min(m, n)
    if (gu is not None and m > k and np.any(plain(gu)[..., k:])) or (
        gvh is not None and n > k and np.any(plain(gvh)[..., k:, :])
    ):
        raise _full_svd_error()
    u, vh = u[..., :k], vh[..., :k, :]
    gu = None if gu is None else gu[..., :k]
    gvh = None if gvh is None else gvh[..., :k, :]
    return (u, s, vh), (gu, gs, gvh)


def svd_vjp(g, ans, a, full_matrices=True, compute_uv=True, hermitian=False):
    ans, g = _thin_svd_cotangents(g, ans, a, full_matrices)
    if is_complex(a):
        return _svd_vjp_complex(g, ans, a, full_matrices=False)
    u, s, vh = ans
    gu, gs, gvh = g
    m, n = shape_of(a)[-2:]
    v = _T(vh)
    f = _inverse_gaps(s * s)
    inner = 0
    if gs is not None:
        inner = _diag_embed(gs)
    if gu is not None:
        utgu = matmul(_T(u), gu)
        inner = inner + (f * (utgu - _T(utgu))) * _row(s)
    if gvh is not None:
        gv = _T(gvh)
        vtgv = matmul(_T(v), gv)
        inner = inner + _col(s) * (f * (vtgv - _T(vtgv)))
    ga = matmul(matmul(u, inner), vh)
    if gu is not None and m > n:  # the part of gU outside the span of U
        gu_out = gu - matmul(u, matmul(_T(u), gu))
        ga = ga + matmul(gu_out / _row(s), vh)
    if gvh is not None and n > m:
        gvh_out = gvh - matmul(matmul(gvh, v), vh)
        ga = ga + matmul(u / _row(s), gvh_out)
    return ga


_svd_vjp_complex = _vjp_by_transposing(svd_jvp)
_svd = linalg_op(_la.svd, "svd", multiple_outputs=True, public=False)
def_vjps(_svd, svd_vjp)
def_jvps(_svd, svd_jvp)


def _svdvals_impl(a, hermitian=False):
    return _la.svd(a, compute_uv=False, hermitian=hermitian)


def svdvals_jvp(t, ans, a, hermitian=False):
    u, _, vh = _svd(a, full_matrices=False)
    return _real_if(_diag(matmul(matmul(_H(u), t), _H(vh))), is_complex(a))


def svdvals_vjp(g, ans, a, hermitian=False):
    u, _, vh = _svd(a, full_matrices=False)
    return conj_if_complex(matmul(u * _row(g), vh))


_svdvals = linalg_op(_svdvals_impl, "svdvals", public=False)
def_vjps(_svdvals, svdvals_vjp)
def_jvps(_svdvals, svdvals_jvp)


@mirrors(_la.svd, "linalg")
def svd(a, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False):
    """``np.linalg.svd``. Derivatives of U and Vh need distinct singular values and, for a
    non-square matrix, ``full_matrices=False`` (see the module's notes)."""
    if not any_tensor((a,)):
        return _la.svd(a, full_matrices, compute_uv, hermitian)
    if not compute_uv:
        return _svdvals(a, hermitian=hermitian)
    return _svd(a, full_matrices=full_matrices, hermitian=hermitian)


def svdvals(x, /):
    """``np.linalg.svdvals``: the singular values, differentiable everywhere they are
    distinct (and their sum, the nuclear norm, everywhere they are positive)."""
    if not any_tensor((x,)):
        return _la.svd(x, compute_uv=False)
    return _svdvals(x)


# -- QR ---------------------------------------------------------------------------------------
def _complete_qr_error() -> NotImplementedError:
    return NotImplementedError(
        "qr: the derivative of the complete Q of a tall matrix is not defined: its extra "
        "columns are an arbitrary basis. Use mode='reduced'."
    )


def _qr_jvp_tall(t, q, r):
    """(dQ, dR) of a matrix with no more columns than rows (Townsend's notes, as in JAX)."""
    t_rinv = _T(solve(_T(r), _T(t)))  # dA R⁻¹
    qt = matmul(_H(q), t_rinv)
    low = _tril(qt, -1)
    do = low - _H(low)  # skew-Hermitian
    if is_complex(qt):
        do = do + _diag_embed(1j * cnp.imag(_diag(qt)))
    return matmul(q, do - qt) + t_rinv, matmul(qt - do, r)


def qr_jvp(t, ans, a, mode="reduced"):
    q, r = ans
    m, n = shape_of(a)[-2:]
    if mode == "complete" and m > n:
        raise _complete_qr_error()
    if m >= n:
        return _qr_jvp_tall(t, q, r)
    # A = [X | Y] with X square: Q R_X = X and R = [R_X | Qᴴ Y]
    dq, drx = _qr_jvp_tall(t[..., :m], q, r[..., :m])
    dry = matmul(_H(dq), a[..., m:]) + matmul(_H(q), t[..., m:])
    return dq, _hcat(drx, dry)


def _qr_vjp_tall(gq, gr, q, r):
    # Ā = (Ḡ_Q + Q N) R⁻ᵀ, N = the symmetric matrix of the upper triangle of Ḡ_R Rᵀ − Qᵀ Ḡ_Q
    mm = 0
    if gr is not None:
        mm = matmul(gr, _T(r))
    if gq is not None:
        mm = mm - matmul(_T(q), gq)
    upper = mm - _tril(mm, -1)
    nmat = upper + _T(upper) - _diag_embed(_diag(mm))
    b = matmul(q, nmat) if gq is None else gq + matmul(q, nmat)
    return _T(solve(r, _T(b)))


def qr_vjp(g, ans, a, mode="reduced"):
    q, r = ans
    m, n = shape_of(a)[-2:]
    if mode == "complete" and m > n:
        raise _complete_qr_error()
    if is_complex(a):
        return _qr_vjp_complex(g, ans, a, mode=mode)
    gq, gr = g
    if m >= n:
        return _qr_vjp_tall(gq, gr, q, r)
    y = a[..., m:]
    grx = None if gr is None else gr[..., :m]
    gry = None if gr is None else gr[..., m:]
    if gry is not None:
        extra = matmul(y, _T(gry))
        gq = extra if gq is None else gq + extra
    gx = _qr_vjp_tall(gq, grx, q, r[..., :m])
    gy = cnp.zeros_like(y) if gry is None else matmul(q, gry)
    return _hcat(gx, gy)


_qr_vjp_complex = _vjp_by_transposing(qr_jvp)
_qr = linalg_op(_la.qr, "qr", multiple_outputs=True, public=False)
def_vjps(_qr, qr_vjp)
def_jvps(_qr, qr_jvp)


def _qr_r_impl(a):
    return _la.qr(a, mode="r")


def qr_r_jvp(t, ans, a):
    return qr_jvp(t, _qr(a), a)[1]


def qr_r_vjp(g, ans, a):
    return qr_vjp([None, g], _qr(a), a)


_qr_r = linalg_op(_qr_r_impl, "qr_r", public=False)
def_vjps(_qr_r, qr_r_vjp)
def_jvps(_qr_r, qr_r_jvp)


@mirrors(_la.qr, "linalg")
def qr(a, mode: str = "reduced"):
    """``np.linalg.qr`` in modes 'reduced', 'complete' (square or wide matrices) and 'r'."""
    if not any_tensor((a,)):
        return _la.qr(a, mode)
    if mode == "r":
        return _qr_r(a)
    if mode in ("reduced", "complete"):
        return _qr(a, mode=mode)
    raise NotImplementedError(
        f"qr: mode={mode!r} returns Householder reflectors, which chainrule does not "
        "differentiate; use mode='reduced'"
    )


# -- norms --------------------------------------------------------------------------------------
def _norm_kind(x, ord, axis):
    """('vector' or 'matrix', the reduced axes as non-negative ints, the order)."""
    nd = len(shape_of(x))
    if axis is None:
        if ord is None:  # the 2-norm of the flattened array (Frobenius for a matrix)
            return "vector", tuple(range(nd)), 2
        axis = tuple(range(nd))
    if isinstance(axis, int | np.integer):
        axis = (axis,)
    axes = tuple(int(i) % nd for i in axis)
    if len(axes) == 1:
        return "vector", axes, 2 if ord is None else ord
    return "matrix", axes, "fro" if ord is None else ord


def _unit(x):
    """x / |x| elementwise, 0 where x is 0 (the conjugate of it for complex x, which is
    what the derivative of |x| is in JAX's convention)."""
    if not is_complex(x):
        return cnp.sign(x)
    ax = cnp.abs(x)
    return cnp.conj(x) / cnp.where(ax == 0, 1.0, ax)


def _tie_weights(mask, axis):
    """The mask of the entries that attain the maximum (or minimum) along ``axis``,
    divided by their count: tied entries share the derivative."""
    return mask / np.sum(mask, axis=axis, keepdims=True)


def _norm_weight(x, ans, ord, axis, keepdims):
    """w with dn = Σ Re(w · dx): the derivative of the norm, shaped like x."""
    kind, axes, ord = _norm_kind(x, ord, axis)
    shape = shape_of(x)
    kd_shape = tuple(1 if i in axes else n for i, n in enumerate(shape))
    n_k = cnp.reshape(ans, kd_shape)
    if kind == "vector":
        ax = axes[0] if len(axes) == 1 else axes
        if ord == 2 or ord == "fro":
            return conj_if_complex(x) / cnp.where(n_k == 0, 1.0, n_k)
        if ord in (np.inf, -np.inf):
            a = np.abs(plain(x))
            pick = np.max if ord == np.inf else np.min
            mask = a == pick(a, axis=ax, keepdims=True)
            return _unit(x) * _tie_weights(mask, ax)
        if ord == 0:
            return 0 * x
        if ord == 1:
            return _unit(x)
        # d‖x‖_p / dx = sign(x) (|x| / ‖x‖)^(p-1); taken as 0 at the zero entries, where
        # a power below 1 would be infinite
        ratio = cnp.abs(x) / cnp.where(n_k == 0, 1.0, n_k)
        zero = ratio == 0
        return _unit(x) * cnp.where(zero, 0.0, cnp.where(zero, 1.0, ratio) ** (ord - 1))
    row, col = axes
    if ord == "fro":
        return conj_if_complex(x) / cnp.where(n_k == 0, 1.0, n_k)
    if ord in ("nuc", 2, -2):
        rest = [i for i in range(len(shape)) if i not in axes]
        order = rest + [row, col]
        u, _, vh = _svd(permute(x, order), full_matrices=False)
        if ord == "nuc":
            w = matmul(u, vh)
        else:
            i = slice(0, 1) if ord == 2 else slice(-1, None)
            w = u[..., :, i] * vh[..., i, :]
        return permute(conj_if_complex(w), np.argsort(order))
    if ord in (1, -1, np.inf, -np.inf):
        # 1: the largest column sum (summed over rows); inf: the largest row sum
        summed, chosen = (row, col) if ord in (1, -1) else (col, row)
        sums = np.sum(np.abs(plain(x)), axis=summed, keepdims=True)
        pick = np.max if ord in (1, np.inf) else np.min
        mask = sums == pick(sums, axis=chosen, keepdims=True)
        return _unit(x) * _tie_weights(mask, chosen)
    raise ValueError(f"norm: invalid norm order {ord!r} for matrices")


def norm_vjp(g, ans, x, ord=None, axis=None, keepdims=False):
    return cnp.reshape(g, _kept(x, ord, axis)) * _norm_weight(x, ans, ord, axis, keepdims)


def _kept(x, ord, axis):
    _, axes, _ = _norm_kind(x, ord, axis)
    return tuple(1 if i in axes else n for i, n in enumerate(shape_of(x)))


def norm_jvp(t, ans, x, ord=None, axis=None, keepdims=False):
    _, axes, _ = _norm_kind(x, ord, axis)
    wt = _norm_weight(x, ans, ord, axis, keepdims) * t
    return cnp.sum(_real_if(wt, is_complex(wt)), axis=axes, keepdims=keepdims)


norm = linalg_op(_la.norm)
def_vjps(norm, norm_vjp)
def_jvps(norm, norm_jvp)


def vector_norm(x, /, *, axis=None, keepdims: bool = False, ord=2):
    """``np.linalg.vector_norm``: the norm of the vectors along ``axis`` (all by default)."""
    if _np_vector_norm is not None and not any_tensor((x,)):
        return _np_vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)
    shape = shape_of(x)
    nd = len(shape)
    if axis is None:
        axes = tuple(range(nd))
    elif isinstance(axis, int | np.integer):
        axes = (int(axis) % nd,)
    else:
        axes = tuple(int(i) % nd for i in axis)
    rest = [i for i in range(nd) if i not in axes]
    y = cnp.reshape(permute(x, rest + list(axes)), tuple(shape[i] for i in rest) + (-1,))
    r = norm(y, ord, -1)
    if keepdims:
        r = cnp.reshape(r, tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return r


def matrix_norm(x, /, *, keepdims: bool = False, ord="fro"):
    """``np.linalg.matrix_norm``: the norm of each matrix of a stack (last two axes)."""
    if _np_matrix_norm is not None and not any_tensor((x,)):
        return _np_matrix_norm(x, keepdims=keepdims, ord=ord)
    return norm(x, ord, (-2, -1), keepdims)


@mirrors(_la.cond, "linalg")
def cond(x, p=None):
    """``np.linalg.cond``: ratio of singular values (p None, 2, -2) or ‖x‖ ‖x⁻¹‖."""
    if not any_tensor((x,)):
        return _la.cond(x, p)
    if p is None or p == 2 or p == -2:
        s = svdvals(x)
        big, small = s[..., 0], s[..., -1]
        return small / big if p == -2 else big / small
    return norm(x, p, (-2, -1)) * norm(inv(x), p, (-2, -1))


# -- pseudo-inverse and least squares ---------------------------------------------------------
def pinv_jvp(t, ans, a, *args, **kwargs):
    # Golub and Pereyra (1973), for a matrix of constant rank
    p = ans
    th = _H(t)
    return (
        -matmul(matmul(p, t), p)
        + matmul(p, matmul(_H(p), th - matmul(matmul(th, a), p)))
        + matmul(th - matmul(p, matmul(a, th)), matmul(_H(p), p))
    )


def pinv_vjp(g, ans, a, *args, **kwargs):
    if is_complex(a):
        return _pinv_vjp_complex(g, ans, a, *args, **kwargs)
    p = ans
    gt = _T(g)
    x = matmul(gt, matmul(p, _T(p)))  # Gᵀ P Pᵀ, taken through (I − A P)
    y = matmul(matmul(_T(p), p), gt)  # Pᵀ P Gᵀ, through (I − P A)
    return (
        -matmul(matmul(_T(p), g), _T(p))
        + x - matmul(a, matmul(p, x))
        + y - matmul(matmul(y, p), a)
    )


def _pinv_vjp_complex(g, ans, a, *args, **kwargs):
    return _vjp_by_transposing(lambda t, ans, a, **kw: pinv_jvp(t, ans, a, *args, **kw))(
        g, ans, a, **kwargs
    )


pinv = linalg_op(_la.pinv)
def_vjps(pinv, pinv_vjp)
def_jvps(pinv, pinv_jvp)


@mirrors(_la.lstsq, "linalg")
def lstsq(a, b, rcond=None):
    """``np.linalg.lstsq``: (x, residuals, rank, s); x and the residuals differentiate
    for a matrix of full rank."""
    if not any_tensor((a, b)):
        return _la.lstsq(a, b, rcond)
    m, n = shape_of(a)[-2:]
    _, res, rank, _ = _la.lstsq(plain(a), plain(b), rcond)
    cutoff = np.finfo(np.float64).eps * max(m, n) if rcond is None else rcond
    x = matmul(pinv(a, rcond=cutoff), b)
    if np.size(res):
        r = b - matmul(a, x)
        residuals = cnp.sum(_real_if(r * conj_if_complex(r), is_complex(r)), axis=0)
        residuals = cnp.reshape(residuals, np.shape(res))
    else:
        residuals = res
    return x, residuals, rank, svdvals(a)


# -- built from the above -----------------------------------------------------------------------
@mirrors(_la.matrix_power, "linalg")
def matrix_power(a, n: int):
    """``np.linalg.matrix_power``, negative powers through the inverse."""
    if not any_tensor((a,)):
        return _la.matrix_power(a, n)
    n = operator.index(n)
    if n == 0:
        shape = shape_of(a)
        return np.broadcast_to(np.eye(shape[-1], dtype=_dtype(a)), shape).copy()
    if n < 0:
        a, n = inv(a), -n
    result, z = None, a
    while True:  # binary powering: the squares z, z², z⁴, ...
        if n & 1:
            result = z if result is None else matmul(result, z)
        n >>= 1
        if not n:
            return result
        z = matmul(z, z)


def _chain_order(shapes):
    """The cheapest parenthesisation of a matrix chain (dynamic programming, as NumPy's)."""
    dims = [shapes[0][0]] + [s[1] for s in shapes]
    k = len(shapes)
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(1, k):
        for i in range(k - length):
            j = i + length
            cost[i][j] = np.inf
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, s
    return split


@mirrors(_la.multi_dot, "linalg")
def multi_dot(arrays, *, out=None):
    """``np.linalg.multi_dot``: the product of a chain, in the cheapest order."""
    arrays = list(arrays)
    if not any_tensor(arrays):
        return _la.multi_dot(arrays, out=out)
    if out is not None:
        raise TypeError("multi_dot: out= cannot take a differentiated result")
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    if len(arrays) == 2:
        return cnp.dot(arrays[0], arrays[1])
    first, last = len(shape_of(arrays[0])), len(shape_of(arrays[-1]))
    if first == 1:
        arrays[0] = cnp.reshape(arrays[0], (1, -1))
    if last == 1:
        arrays[-1] = cnp.reshape(arrays[-1], (-1, 1))
    split = _chain_order([shape_of(x) for x in arrays])

    def product(i, j):
        if i == j:
            return arrays[i]
        s = split[i][j]
        return cnp.dot(product(i, s), product(s + 1, j))

    result = product(0, len(arrays) - 1)
    if first == 1 and last == 1:
        return result[0, 0]
    if first == 1 or last == 1:
        return cnp.reshape(result, (-1,))
    return result


@mirrors(_la.tensorinv, "linalg")
def tensorinv(a, ind: int = 2):
    """``np.linalg.tensorinv``: the inverse of ``a`` seen as a matrix."""
    if not any_tensor((a,)):
        return _la.tensorinv(a, ind)
    shape = shape_of(a)
    rows = int(np.prod(shape[ind:]))
    ia = inv(cnp.reshape(a, (rows, -1)))
    return cnp.reshape(ia, shape[ind:] + shape[:ind])


@mirrors(_la.tensorsolve, "linalg")
def tensorsolve(a, b, axes=None):
    """``np.linalg.tensorsolve``: solve ``tensordot(a, x, x.ndim) = b`` for x."""
    if not any_tensor((a, b)):
        return _la.tensorsolve(a, b, axes)
    nd = len(shape_of(a))
    if axes is not None:
        order = list(range(nd))
        for k in axes:
            order.remove(k)
            order.insert(nd, k)
        a = permute(a, order)
    shape = shape_of(a)[len(shape_of(b)):]
    size = int(np.prod(shape))
    x = solve(cnp.reshape(a, (size, size)), cnp.reshape(b, (-1,)))
    return cnp.reshape(x, shape)


def matrix_transpose(x, /):
    """``np.linalg.matrix_transpose``: swap the last two axes."""
    if _np_matrix_transpose is not None and not any_tensor((x,)):
        return _np_matrix_transpose(x)
    return _T(x)


def outer(x1, x2, /):
    """``np.linalg.outer`` (of two vectors)."""
    return products.outer(x1, x2)


def tensordot(x1, x2, /, *, axes=2):
    """``np.linalg.tensordot``."""
    return products.tensordot(x1, x2, axes=axes)


def cross(x1, x2, /, *, axis: int = -1):
    """``np.linalg.cross`` of 3-vectors."""
    return products.cross(x1, x2, axis=axis)


def vecdot(x1, x2, /, *, axis: int = -1):
    """``np.linalg.vecdot``: Σ conj(x1) x2 along ``axis``."""
    return products.vecdot(x1, x2, axis=axis)


def diagonal(x, /, *, offset: int = 0):
    """``np.linalg.diagonal``: the diagonals of a stack of matrices (last two axes)."""
    if offset == 0 and any_tensor((x,)):
        return _diag(x)
    return cnp.diagonal(x, offset=offset, axis1=-2, axis2=-1)


def trace(x, /, *, offset: int = 0, dtype=None):
    """``np.linalg.trace``: the traces of a stack of matrices (last two axes)."""
    if offset == 0 and dtype is None and any_tensor((x,)):
        return _trace(x)
    return cnp.trace(x, offset=offset, axis1=-2, axis2=-1, dtype=dtype)


matrix_rank = unboxing(_la.matrix_rank)
NONDIFF_OF[_la.matrix_rank] = matrix_rank

for _name, _fun in (
    ("svdvals", svdvals), ("vector_norm", vector_norm), ("matrix_norm", matrix_norm),
    ("matrix_transpose", matrix_transpose), ("outer", outer), ("tensordot", tensordot),
    ("cross", cross), ("vecdot", vecdot), ("diagonal", diagonal), ("trace", trace),
):
    if optional(_la, _name) is not None:
        mirrors(getattr(_la, _name), "linalg", _name)(_fun)
if optional(_la, "matmul") is not None:
    mirrors(_la.matmul, "linalg", "matmul")(matmul)
del _name, _fun


def __getattr__(name: str):
    try:
        value = getattr(_la, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.numpy.linalg' has no attribute {name!r}") from None
    if callable(value) and not isinstance(value, type):
        value = guarded(value, f"linalg.{name}")
    globals()[name] = value
    return value



# Batching rules for vmap: NumPy's linalg maps over leading axes already.
def_batch(batching.stacked, inv, det, slogdet, _cholesky, eigh, eig, _svd, _svdvals, _qr, _qr_r, pinv)
def_batch(batching.solve, solve)
def_batch(batching.norm, norm)

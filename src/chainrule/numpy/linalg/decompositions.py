"""Decompositions: Cholesky, the symmetric and the general eigenproblem, the SVD, QR."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import def_batch, def_jvps, def_vjps
from chainrule.core.tensor import undifferentiated
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import is_complex, shape_of
from chainrule.numpy.linalg.common import (
    _H,
    _T,
    _col,
    _diag,
    _diag_embed,
    _hcat,
    _inverse_gaps,
    _la,
    _real_dtype,
    _real_if,
    _row,
    _sym,
    _tril,
    _vjp_by_transposing,
    linalg_op,
)
from chainrule.numpy.linalg.solving import inv, solve
from chainrule.numpy.nondiff import anywhere, plain
from chainrule.numpy.products import any_tensor, conj_if_complex, matmul
from chainrule.numpy.registry import MIRROR_OF, mirrors

__all__ = [
    "cholesky",
    "eigh",
    "eigvalsh",
    "eig",
    "eigvals",
    "svd",
    "svdvals",
    "qr",
    "det",
]


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
# eigh's derivative is that of eigh((a + aᴴ) / 2), as JAX's (which symmetrises its input):
# a symmetric gradient, right along every Hermitian change of a. With JAX's
# symmetrize_input=False, JAX's rules take the change of a as it is (hermitian_part=False).
def eigh_jvp(t, ans, a, UPLO="L", hermitian_part=True):
    w, v = ans
    vdv = matmul(matmul(_H(v), _sym(t) if hermitian_part else t), v)
    dw = _real_if(_diag(vdv), is_complex(vdv))
    dv = matmul(v, _inverse_gaps(w) * vdv)
    return dw, dv


def eigh_vjp(g, ans, a, UPLO="L", hermitian_part=True):
    if is_complex(a):
        return _eigh_vjp_complex(g, ans, a, UPLO=UPLO, hermitian_part=hermitian_part)
    gw, gv = g
    w, v = ans
    inner = 0
    if gw is not None:
        inner = _diag_embed(gw)
    if gv is not None:
        inner = inner + _inverse_gaps(w) * matmul(_T(v), gv)
    ct = matmul(matmul(v, inner), _T(v))
    return _sym(ct) if hermitian_part else ct


_eigh_vjp_complex = _vjp_by_transposing(eigh_jvp)
_eigh = linalg_op(_la.eigh, "eigh", multiple_outputs=True, public=False)
def_vjps(_eigh, eigh_vjp)
def_jvps(_eigh, eigh_jvp)
# the same values, differentiated as JAX's eigh(symmetrize_input=False) does
_eigh_as_given = linalg_op(_la.eigh, "eigh", multiple_outputs=True, public=False)
def_vjps(_eigh_as_given, lambda g, ans, a, UPLO="L": eigh_vjp(g, ans, a, UPLO, hermitian_part=False))
def_jvps(_eigh_as_given, lambda t, ans, a, UPLO="L": eigh_jvp(t, ans, a, UPLO, hermitian_part=False))


def _uplo(UPLO) -> str:
    if UPLO is None:
        return "L"
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U' (the triangle read), not {UPLO!r}")
    return UPLO


def _np_eigh(a, UPLO=None, symmetrize_input=None):
    """``np.linalg.eigh`` with jax.numpy's ``symmetrize_input=``."""
    if symmetrize_input:
        a = np.asarray(a)
        a = (a + np.conj(np.swapaxes(a, -1, -2))) / 2
    return _la.eigh(a, _uplo(UPLO))


@mirrors(_np_eigh, "linalg", "eigh")
def eigh(a, UPLO=None, symmetrize_input=None):
    """``np.linalg.eigh``: the values read one triangle of ``a`` (``UPLO``, ``'L'`` by
    default) and differentiate as a function of the symmetrised input (JAX's derivative).
    jax.numpy's ``symmetrize_input=True`` decomposes (a + aᴴ) / 2 instead, as JAX does
    (the same for a symmetric ``a``); ``symmetrize_input=False`` reads the triangle and
    differentiates along any change of ``a``, symmetric or not, as JAX does. Left out, it
    is NumPy's: the triangle, with the symmetrised input's derivative."""
    if not any_tensor((a,)):
        return _np_eigh(a, UPLO, symmetrize_input)
    if symmetrize_input:
        return _eigh(_sym(a), _uplo(UPLO))
    return (_eigh if symmetrize_input is None else _eigh_as_given)(a, _uplo(UPLO))


MIRROR_OF[_la.eigh] = eigh  # (what the record replays is _np_eigh, which takes symmetrize_input=)


# NumPy's own eigvalsh for the values (LAPACK's eigenvalues-only routine, whose last bits
# differ from eigh's); the derivatives are eigh's eigenvalues'
_eigvalsh = linalg_op(_la.eigvalsh, "eigvalsh", public=False)
def_vjps(_eigvalsh, lambda g, ans, a, UPLO="L": eigh_vjp((g, None), _eigh(a, UPLO), a, UPLO))
def_jvps(_eigvalsh, lambda t, ans, a, UPLO="L": eigh_jvp(t, _eigh(a, UPLO), a, UPLO)[0])


@mirrors(_la.eigvalsh, "linalg")
def eigvalsh(a, UPLO: str = "L"):
    """``np.linalg.eigvalsh``; differentiates as a function of the symmetrised input."""
    if not any_tensor((a,)):
        return _la.eigvalsh(a, UPLO)
    return _eigvalsh(a, UPLO)


# -- general eigenproblem -------------------------------------------------------------------
def _largest_component(v):
    """A mask of the largest-modulus component of each eigenvector (column), which LAPACK
    makes real: that fixes the phase, and so the derivative's."""
    k = cnp.argmax(cnp.abs(undifferentiated(v)), axis=-2)  # (each example's, under vmap)
    return cnp.equal(np.arange(shape_of(v)[-2])[:, None], cnp.expand_dims(k, -2))


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


# -- the determinant (here, as its derivative at a singular matrix needs the SVD) ----------
def _cofactors(a, ans):
    """d det(a) / da, the matrix of cofactors: det(a) inv(a)ᵀ where every matrix of the
    stack is invertible. det is a polynomial, smooth where inv fails, so where a matrix is
    singular it is taken from the SVD a = U diag(s) Vh: det(U) det(Vh) U* diag(Πⱼ≠ᵢ sⱼ) Vh*
    (* conjugates complex values), the same matrix, with no division."""
    if not anywhere(ans == 0):
        return _col(_col(ans)) * _T(inv(a))
    u, s, vh = _svd(a)
    ones = cnp.ones_like(s[..., :1])
    before = cnp.cumprod(cnp.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
    after = cnp.flip(cnp.cumprod(cnp.concatenate([ones, cnp.flip(s, -1)[..., :-1]], axis=-1), axis=-1), -1)
    others = _row(before * after)
    return _col(_col(det(u) * det(vh))) * matmul(conj_if_complex(u) * others, conj_if_complex(vh))


det = linalg_op(_la.det)
def_vjps(det, lambda g, ans, a: _col(_col(g)) * _cofactors(a, ans))
def_jvps(det, lambda t, ans, a: cnp.sum(_cofactors(a, ans) * t, axis=(-2, -1)))


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


# Batching rules for vmap: NumPy's linalg maps over leading axes already.
def_batch(batching.stacked, _cholesky, _eigh, _eigh_as_given, _eigvalsh, eig, _svd, _svdvals, _qr, _qr_r, det)

"""chainrule.numpy.linalg: both modes against finite differences, to second order, on
single and stacked matrices, real and complex; gradients against PyTorch; the documented
limits (full SVD, repeated eigenvalues, Householder QR) fail loudly, not wrongly."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

la = cnp.linalg
rng = np.random.default_rng(0)


def normal(*shape):
    return rng.standard_normal(shape)


def cnormal(*shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def well_conditioned(*shape, complex_=False):
    x = cnormal(*shape) if complex_ else normal(*shape)
    return x + 3 * np.eye(shape[-1])


def spd(*shape, complex_=False):
    x = cnormal(*shape) if complex_ else normal(*shape)
    return x @ np.conj(np.swapaxes(x, -1, -2)) + shape[-1] * np.eye(shape[-1])


def symmetric(*shape, complex_=False):
    x = cnormal(*shape) if complex_ else normal(*shape)
    return (x + np.conj(np.swapaxes(x, -1, -2))) / 2


def diagonalisable(*shape):
    """A real matrix with real, distinct eigenvalues, P diag(λ) P⁻¹."""
    p = normal(*shape) + 2 * np.eye(shape[-1])
    lam = np.arange(1, shape[-1] + 1) * 1.3
    return p @ (lam[:, None] * np.linalg.inv(p))


def eig_continuous(*shape):
    """A real matrix (generic: it has complex pairs of eigenvalues or not) where NumPy's
    eig is continuous. LAPACK makes the largest component of each eigenvector real but
    leaves its sign to rounding: for about one draw in ten a perturbation of the size of
    gradcheck's step flips an eigenvector, and finite differences there measure the jump,
    not the derivative. Such draws are drawn again."""
    while True:
        a = normal(*shape)
        vectors = np.linalg.eig(a)[1]
        if all(np.allclose(np.linalg.eig(a + 1e-6 * normal(*shape))[1], vectors, atol=1e-3)
               for _ in range(8)):
            return a


def mT(x):
    return cnp.swapaxes(x, -1, -2)


def mH(x):
    return cnp.conj(mT(x))


def sym(a):
    """Symmetric (Hermitian) part: the functions of a symmetric matrix are tested on it."""
    return (a + mH(a)) / 2


def eigh_gauge_free(a):
    """Functions of eigenvalues and eigenvectors that do not depend on the eigenvectors'
    signs (phases): V diag(w²) Vᴴ and |V|² weighted by w."""
    w, v = la.eigh(sym(a))
    return v @ ((w**2)[..., None] * mH(v)), cnp.abs(v) ** 2 * w[..., None, :]


def svd_gauge_free(a):
    u, s, vh = la.svd(a, full_matrices=False)
    return u @ (s[..., None] ** 3 * vh), cnp.abs(u) ** 2 * s[..., None, :], cnp.abs(vh) ** 2


# name: (function, [makers of the argument tuple]); every case runs on real inputs
LINALG = {
    "inv": (la.inv, [lambda: (well_conditioned(3, 3),), lambda: (well_conditioned(2, 3, 3),)]),
    "solve": (la.solve, [
        lambda: (well_conditioned(3, 3), normal(3)),
        lambda: (well_conditioned(3, 3), normal(3, 2)),
        lambda: (well_conditioned(2, 3, 3), normal(3)),
        lambda: (well_conditioned(2, 3, 3), normal(2, 3, 4)),
        lambda: (well_conditioned(3, 3), normal(2, 3, 2)),
        lambda: (well_conditioned(2, 1, 3, 3), normal(4, 3, 1)),
    ]),
    "det": (la.det, [lambda: (well_conditioned(3, 3),), lambda: (well_conditioned(2, 3, 3),)]),
    "slogdet": (la.slogdet, [lambda: (well_conditioned(3, 3),),
                             lambda: (-well_conditioned(2, 3, 3),)]),
    "slogdet_logabs": (lambda a: la.slogdet(a)[1], [lambda: (well_conditioned(2, 4, 4),)]),
    "cholesky": (lambda a: la.cholesky(sym(a)), [lambda: (spd(3, 3),), lambda: (spd(2, 4, 4),)]),
    "cholesky_upper": (lambda a: la.cholesky(sym(a), upper=True), [lambda: (spd(3, 3),)]),
    "eigh": (lambda a: la.eigh(sym(a)),
             [lambda: (symmetric(4, 4),), lambda: (symmetric(2, 3, 3),)]),
    "eigh_upper": (lambda a: la.eigh(sym(a), UPLO="U"), [lambda: (symmetric(3, 3),)]),
    "eigh_gauge_free": (eigh_gauge_free, [lambda: (symmetric(4, 4),)]),
    "eigvalsh": (lambda a: la.eigvalsh(sym(a)), [lambda: (symmetric(2, 4, 4),)]),
    "eig_real": (la.eig, [lambda: (diagonalisable(3, 3),), lambda: (diagonalisable(2, 4, 4),)]),
    "eig_complex_pairs": (la.eig, [lambda: (eig_continuous(3, 3),), lambda: (eig_continuous(4, 4),)]),
    "eigvals": (la.eigvals, [lambda: (normal(2, 3, 3),)]),
    "svd_thin": (lambda a: la.svd(a, full_matrices=False), [
        lambda: (normal(4, 4),), lambda: (normal(5, 3),), lambda: (normal(3, 5),),
        lambda: (normal(2, 4, 3),),
    ]),
    "svd_full_square": (la.svd, [lambda: (normal(3, 3),), lambda: (normal(2, 3, 3),)]),
    "svd_values": (lambda a: la.svd(a, compute_uv=False), [
        lambda: (normal(4, 3),), lambda: (normal(2, 3, 5),),
    ]),
    "svdvals": (la.svdvals, [lambda: (normal(3, 4),)]),
    "svd_gauge_free": (svd_gauge_free, [lambda: (normal(4, 3),), lambda: (normal(3, 4),)]),
    "qr": (la.qr, [
        lambda: (normal(4, 4),), lambda: (normal(5, 3),), lambda: (normal(3, 5),),
        lambda: (normal(2, 4, 3),), lambda: (normal(2, 3, 4),),
    ]),
    "qr_complete_wide": (lambda a: la.qr(a, mode="complete"), [lambda: (normal(3, 5),)]),
    "qr_r": (lambda a: la.qr(a, mode="r"), [lambda: (normal(5, 3),), lambda: (normal(3, 5),)]),
    "pinv": (la.pinv, [lambda: (normal(3, 3),), lambda: (normal(4, 2),),
                       lambda: (normal(2, 2, 4),)]),
    "matrix_power": (lambda a: [la.matrix_power(a, n) for n in (0, 1, 2, 3, 6, -1, -3)],
                     [lambda: (0.5 * well_conditioned(3, 3),),
                      lambda: (0.5 * well_conditioned(2, 2, 2),)]),
    "multi_dot": (lambda a, b, c, d: la.multi_dot([a, b, c, d]), [
        lambda: (normal(3, 10), normal(10, 2), normal(2, 6), normal(6, 4)),
        lambda: (normal(3), normal(3, 4), normal(4, 2), normal(2)),
    ]),
    "cond": (lambda a: [la.cond(a), la.cond(a, -2), la.cond(a, "fro"), la.cond(a, 1),
                        la.cond(a, np.inf)], [lambda: (well_conditioned(3, 3),)]),
    "lstsq": (lambda a, b: la.lstsq(a, b)[:2], [
        lambda: (normal(5, 3), normal(5)), lambda: (normal(5, 3), normal(5, 2)),
    ]),
    "tensorinv": (lambda a: la.tensorinv(a, ind=1),
                  [lambda: (well_conditioned(4, 4).reshape(4, 2, 2),)]),
    "tensorsolve": (la.tensorsolve,
                    [lambda: (well_conditioned(6, 6).reshape(2, 3, 6), normal(2, 3))]),
    "matrix_transpose": (la.matrix_transpose, [lambda: (normal(2, 3, 4),)]),
    "linalg_products": (lambda a, b: [la.outer(a[0], b[0]), la.tensordot(a, b, axes=1),
                                      la.vecdot(a, b[0]), la.cross(a[:, :3], b[:, :3]),
                                      la.matmul(a, b)],
                        [lambda: (normal(3, 3), normal(3, 3))]),
    "diagonal_trace": (lambda a: [la.diagonal(a), la.trace(a)],
                       [lambda: (normal(2, 3, 3),), lambda: (normal(2, 3, 4),), lambda: (normal(4, 3),)]),
}

# vector norms: (ord, axis, keepdims) on a (3, 4) array
VECTOR_NORMS = [
    (None, None, False), (None, 1, False), (2, 0, True), (1, 1, False), (3, 1, False),
    (0.5, 0, False), (-1.5, 1, False), (np.inf, 1, False), (-np.inf, 0, False), (0, 1, False),
    (None, (0, 1), False),
]
MATRIX_NORMS = ["fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf]

CASES = [(name, i) for name, (_, makers) in LINALG.items() for i in range(len(makers))]


@pytest.mark.parametrize("name, case", CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_linalg(name, case):
    f, makers = LINALG[name]
    assert cr.gradcheck(f, *makers[case](), order=2)


@pytest.mark.parametrize("name, case", CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_values_are_numpys(name, case):
    f, makers = LINALG[name]
    args = makers[case]()
    out, _ = cr.vjp(f, *args)
    expected = f(*args)  # plain arrays: NumPy's own functions
    for o, e in zip(_leaves(out), _leaves(expected), strict=True):
        if name in COMPOSED:
            assert np.allclose(o, e)
        else:  # the same NumPy call: the same bits
            np.testing.assert_array_equal(o, e)


# computed on Tensors by a composition rather than by NumPy's own call, so equal to NumPy's
# values only to rounding: lstsq (pinv(a) @ b, not LAPACK's gelsd), vecdot (a sum of
# products, not NumPy's gufunc) and cholesky(upper=True) (the lower factor transposed, not
# LAPACK's upper one: about one matrix in eight differs in a last bit)
COMPOSED = {"lstsq", "linalg_products", "cholesky_upper"}


def _leaves(x):
    if isinstance(x, list | tuple):
        return [leaf for item in x for leaf in _leaves(item)]
    return [x]


@pytest.mark.parametrize("ord, axis, keepdims", VECTOR_NORMS)
def test_vector_norms(ord, axis, keepdims):
    x = normal(3, 4)
    f = lambda a: la.norm(a, ord, axis, keepdims)
    assert cr.gradcheck(f, x, order=2)
    assert np.allclose(cr.vjp(f, x)[0], np.linalg.norm(x, ord, axis, keepdims))


@pytest.mark.parametrize("ord", MATRIX_NORMS, ids=str)
@pytest.mark.parametrize("shape, axis",
                         [((3, 4), None), ((2, 4, 3), (-2, -1)), ((3, 2, 4), (2, 0))])
def test_matrix_norms(ord, shape, axis):
    x = normal(*shape)
    f = lambda a: la.norm(a, ord, axis)
    assert cr.gradcheck(f, x, order=2)
    assert cr.gradcheck(lambda a: la.norm(a, ord, axis, keepdims=True), x, order=1)
    assert np.allclose(cr.vjp(f, x)[0], np.linalg.norm(x, ord, axis))


def test_array_api_norms():
    x = normal(2, 3, 4)
    assert cr.gradcheck(lambda a: la.vector_norm(a, axis=(0, 2), ord=3, keepdims=True), x)
    assert cr.gradcheck(lambda a: la.vector_norm(a), x)
    assert cr.gradcheck(lambda a: la.matrix_norm(a, ord="nuc"), x)
    out = cr.vjp(lambda a: la.vector_norm(a, axis=(0, 2), ord=3, keepdims=True), x)[0]
    assert np.allclose(out, np.linalg.vector_norm(x, axis=(0, 2), ord=3, keepdims=True))
    for axis in (3, -4, (0, 5)):  # NumPy's AxisError, not an axis taken modulo ndim
        with pytest.raises(np.exceptions.AxisError):
            cr.grad(lambda a, axis=axis: cnp.sum(la.vector_norm(a, axis=axis)))(x)


# complex inputs: JAX's convention; eigenvector and singular-vector phases are arbitrary,
# so those are tested through functions that do not depend on them
COMPLEX = {
    "inv": (la.inv, (well_conditioned(2, 3, 3, complex_=True),)),
    "solve": (la.solve, (well_conditioned(3, 3, complex_=True), cnormal(3, 2))),
    "solve_vector": (la.solve, (well_conditioned(2, 3, 3, complex_=True), cnormal(3))),
    "det": (la.det, (well_conditioned(3, 3, complex_=True),)),
    "slogdet": (la.slogdet, (well_conditioned(2, 3, 3, complex_=True),)),
    "cholesky": (lambda a: la.cholesky(sym(a)), (spd(2, 3, 3, complex_=True),)),
    "eigh": (eigh_gauge_free, (symmetric(3, 3, complex_=True),)),
    "eig": (la.eig, (well_conditioned(3, 3, complex_=True),)),
    "svd": (svd_gauge_free, (cnormal(4, 3),)),
    "svd_wide": (svd_gauge_free, (cnormal(3, 4),)),
    "svd_values": (lambda a: la.svd(a, compute_uv=False), (cnormal(3, 4),)),
    "qr": (la.qr, (cnormal(4, 3),)),
    "qr_wide": (la.qr, (cnormal(3, 4),)),
    "pinv": (la.pinv, (cnormal(3, 4),)),
    "norms": (lambda a: [la.norm(a), la.norm(a, "nuc"), la.norm(a, 2), la.norm(a, 1),
                         la.norm(a, np.inf, axis=1), la.norm(a, 3, axis=0)], (cnormal(3, 4),)),
}


@pytest.mark.parametrize("name", sorted(COMPLEX))
def test_complex(name):
    f, args = COMPLEX[name]
    assert cr.gradcheck(f, *args, order=2)


def test_gradient_of_complex_determinant_follows_jax_convention():
    # for holomorphic det, the cotangent is g · (d det / da) = g · det(a) a⁻ᵀ, unconjugated
    a = well_conditioned(3, 3, complex_=True)
    _, pull = cr.vjp(la.det, a)
    (ga,) = pull(1.0 + 0j)
    assert np.allclose(ga, np.linalg.det(a) * np.linalg.inv(a).T)


def test_symmetric_convention():
    """cholesky differentiates as a function of the symmetrised input: the gradient is
    symmetric and matches finite differences along symmetric directions."""
    a = spd(4, 4)
    g = cr.grad(lambda x: cnp.sum(la.cholesky(x) ** 3))(a)
    assert np.allclose(g, g.T)
    g2 = cr.grad(lambda x: cnp.sum(la.cholesky(sym(x)) ** 3))(a)
    assert np.allclose(g, g2)


def _fd_matrix(f, a, h=1e-6):
    g = np.zeros(a.shape, dtype=a.dtype)
    for i in np.ndindex(a.shape):
        e = np.zeros(a.shape)
        e[i] = h
        g[i] = (f(a + e) - f(a - e)) / (2 * h)
        if np.iscomplexobj(a):
            g[i] -= 1j * (f(a + 1j * e) - f(a - 1j * e)) / (2 * h)
    return g


@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("complex_", [False, True])
def test_eigh_differentiates_the_symmetrised_input(uplo, complex_):
    """On a matrix that is not symmetric, eigh and eigvalsh read one triangle (NumPy's
    values); the derivative is that of the function of (a + aᴴ) / 2, as JAX's: the
    gradient is Hermitian, and right along every Hermitian change of a."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 4))
    if complex_:
        a = a + 1j * rng.standard_normal((4, 4))
    weights = rng.standard_normal((4, 4))
    np.testing.assert_allclose(cr.jvp(lambda m: la.eigh(m, uplo)[0], (a,), (a,))[0],
                               np.linalg.eigh(a, uplo)[0], rtol=1e-13)

    def f(m, linalg):
        w, v = linalg.eigh(m, uplo)
        return (cnp.sum(linalg.eigvalsh(m, uplo) ** 3) + cnp.sum(w**2)
                + cnp.sum(cnp.abs(v) * weights))

    def along_hermitian_changes(m):  # f(a + (d + dᴴ) / 2) for the change d = m - a
        return f(a + (m - a + np.conj((m - a).T)) / 2, np.linalg)

    fd = _fd_matrix(along_hermitian_changes, a)
    g = cr.grad(lambda m: f(m, la))(a)
    np.testing.assert_allclose(g, np.conj(g.T), atol=1e-12)
    np.testing.assert_allclose(g, fd, atol=1e-6)
    t = rng.standard_normal((4, 4)) + (1j * rng.standard_normal((4, 4)) if complex_ else 0)
    _, tangent = cr.jvp(lambda m: f(m, la), (a,), (t,))
    np.testing.assert_allclose(tangent, np.real(np.sum(fd * t)), atol=1e-6)  # Re: see the convention
    # second order: the derivative of the gradient along a Hermitian t, against differences
    h, t = 1e-5, (t + np.conj(t.T)) / 2
    fd2 = (cr.grad(lambda m: f(m, la))(a + h * t) - cr.grad(lambda m: f(m, la))(a - h * t)) / (2 * h)
    _, hv = cr.jvp(cr.grad(lambda m: f(m, la)), (a,), (t,))
    np.testing.assert_allclose(hv, fd2, atol=1e-5)


def test_repeated_eigenvalues_do_not_crash():
    a = np.eye(3)
    # eigenvalues alone are fine at a repeated eigenvalue
    g = cr.grad(lambda x: cnp.sum(la.eigh(x)[0] ** 2))(a)
    assert np.allclose(g, 2 * np.eye(3))
    # eigenvectors are not differentiable there: non-finite numbers, not an exception
    with np.errstate(all="ignore"):
        g = cr.grad(lambda x: cnp.sum(la.eigh(x)[1][:, 0]))(a)
    assert not np.all(np.isfinite(g))


def test_norm_at_zero_has_zero_subgradient():
    assert np.array_equal(cr.grad(la.norm)(np.zeros(3)), np.zeros(3))
    assert np.array_equal(cr.grad(lambda x: la.norm(x, 1))(np.zeros(3)), np.zeros(3))
    # a p-norm with p < 1 at a zero entry: that entry gets 0, the others stay finite
    g = cr.grad(lambda x: la.norm(x, 0.5))(np.array([0.0, 1.0, 2.0]))
    assert g[0] == 0 and np.all(np.isfinite(g))
    # p < 0 with a zero entry: the norm is 0 and stays 0 when the other entries move
    for p in (-1, -2.5):
        x = np.array([2.0, 0.0, 3.0])
        assert la.norm(x, p) == 0
        assert np.array_equal(cr.grad(lambda x, p=p: la.norm(x, p))(x), np.zeros(3))
        assert cr.jvp(lambda x, p=p: la.norm(x, p), (x,), (np.array([1.0, 0.0, 1.0]),))[1] == 0


SINGULAR = {
    "rank 1 of 2": np.array([[1.0, 2.0], [2.0, 4.0]]),
    "rank 2 of 3": np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]]),
    "rank 1 of 3": np.outer([1.0, -2.0, 0.5], [3.0, 1.0, 2.0]),
    "zero": np.zeros((3, 3)),
    "a stack with one singular": np.stack([np.array([[1.0, 2.0], [2.0, 4.0]]), np.eye(2) + 0.5]),
    "complex": np.array([[1.0, 2.0], [2.0, 4.0]]) * (1 + 1j),
}


@pytest.mark.parametrize("name", list(SINGULAR))
def test_det_differentiates_at_singular_matrices(name):
    """det is a polynomial: its derivative, the matrix of cofactors, exists at a singular
    matrix too, where inv(a) does not (LinAlgError before); as JAX's."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    a = SINGULAR[name]
    f = lambda L: lambda m: L.sum(L.real(L.linalg.det(m) * (1.0 - 0.5j)))  # noqa: E731
    want = np.asarray(jax.grad(f(jnp))(a))
    g = cr.grad(f(cnp))(a)
    np.testing.assert_allclose(g, want, atol=1e-12)
    t = np.ones_like(a) + np.arange(a.size).reshape(a.shape)
    np.testing.assert_allclose(cr.jvp(f(cnp), (a,), (t,))[1], jax.jvp(f(jnp), (a,), (t,))[1], atol=1e-12)
    if np.linalg.matrix_rank(a).min() == a.shape[-1] - 1 and not np.iscomplexobj(a):  # distinct s
        np.testing.assert_allclose(cr.hessian(f(cnp))(a), jax.hessian(f(jnp))(a), atol=1e-10)
    if name == "zero":  # two or more singular values 0: the SVD's derivative, so NaN (docs)
        with np.errstate(all="ignore"):
            assert np.isnan(cr.hessian(f(cnp))(a)).all()


def test_inf_norm_ties_share_the_gradient():
    g = cr.grad(lambda x: la.norm(x, np.inf))(np.array([1.0, -2.0, 2.0]))
    assert np.allclose(g, [0.0, -0.5, 0.5])


def test_full_svd_of_non_square_matrix():
    a = normal(4, 3)
    # singular values alone: fine in reverse mode
    g = cr.grad(lambda x: cnp.sum(la.svd(x)[1]))(a)
    assert np.allclose(g, cr.grad(lambda x: cnp.sum(la.svd(x, compute_uv=False)))(a))
    # the thin part of U: fine too
    g = cr.grad(lambda x: cnp.sum(cnp.abs(la.svd(x)[0][:, :3]) ** 2 * la.svd(x)[1]))(a)
    assert g.shape == a.shape
    # the arbitrary extra columns: refused, with the fix named
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        cr.grad(lambda x: cnp.sum(la.svd(x)[0]))(a)
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        cr.jvp(lambda x: la.svd(x)[1], (a,), (a,))


def test_qr_limits():
    with pytest.raises(NotImplementedError, match="mode='reduced'"):
        cr.grad(lambda x: cnp.sum(la.qr(x, mode="complete")[0]))(normal(4, 3))
    with pytest.raises(NotImplementedError, match="Householder"):
        cr.grad(lambda x: cnp.sum(la.qr(x, mode="raw")[0]))(normal(4, 3))


def test_passthrough_names():
    assert la.LinAlgError is np.linalg.LinAlgError
    a = well_conditioned(3, 3)
    # matrix_rank has no derivative; it reads the value under a Tensor
    assert cr.grad(lambda x: la.matrix_rank(x) * cnp.sum(x))(a).shape == (3, 3)
    assert cr.grad(lambda x: np.linalg.matrix_rank(x) * cnp.sum(x))(a).shape == (3, 3)
    with pytest.raises(np.linalg.LinAlgError):
        la.inv(np.zeros((2, 2)))


def test_numpy_linalg_functions_dispatch():
    a = well_conditioned(3, 3)
    f = lambda x: (np.linalg.det(x) + np.sum(np.linalg.inv(x)) + np.linalg.norm(x, "nuc")
                   + np.sum(np.linalg.solve(x, np.ones(3))) + np.linalg.slogdet(x)[1]
                   + np.sum(np.linalg.svd(x)[1]) + np.sum(np.linalg.qr(x)[1])
                   + np.sum(np.linalg.cholesky(x @ x.T)) + np.sum(np.linalg.eigh(x + x.T)[0]))
    assert cr.gradcheck(f, a)


def test_float32_stays_float32():
    a = well_conditioned(3, 3).astype(np.float32)
    for f in (la.inv, la.det, lambda x: la.solve(x, np.ones(3, np.float32)), la.norm):
        g = cr.grad(lambda x, f=f: cnp.sum(f(x)))(a)
        assert g.dtype == np.float32


def test_against_torch():
    torch = pytest.importorskip("torch")
    t = lambda x: torch.tensor(x, requires_grad=True)
    tsym = lambda x: (x + x.mT) / 2
    a, s, r = well_conditioned(2, 3, 3), spd(2, 3, 3), normal(2, 4, 3)
    b = normal(2, 3, 2)
    cases = [
        (lambda x: cnp.sum(la.inv(x) ** 2), lambda x: (torch.linalg.inv(x) ** 2).sum(), a),
        (lambda x: cnp.sum(la.det(x) ** 2), lambda x: (torch.linalg.det(x) ** 2).sum(), a),
        (lambda x: cnp.sum(la.slogdet(x)[1]), lambda x: torch.linalg.slogdet(x)[1].sum(), a),
        (lambda x: cnp.sum(la.solve(x, b) ** 3),
         lambda x: (torch.linalg.solve(x, torch.tensor(b)) ** 3).sum(), a),
        (lambda x: cnp.sum(la.cholesky(sym(x)) ** 3),
         lambda x: (torch.linalg.cholesky(tsym(x)) ** 3).sum(), s),
        (lambda x: cnp.sum(eigh_gauge_free(x)[0] ** 2) + cnp.sum(la.eigh(sym(x))[0] ** 3),
         lambda x: _torch_eigh_gauge_free(torch, tsym(x)), s),
        (lambda x: cnp.sum(svd_gauge_free(x)[0] ** 2) + cnp.sum(la.svdvals(x) ** 3),
         lambda x: _torch_svd_gauge_free(torch, x), r),
        (lambda x: cnp.sum(la.qr(x)[0] ** 3) + cnp.sum(la.qr(x)[1] ** 3),
         lambda x: sum((m**3).sum() for m in torch.linalg.qr(x)), r),
        (lambda x: cnp.sum(la.pinv(x) ** 3), lambda x: (torch.linalg.pinv(x) ** 3).sum(), r),
        (lambda x: cnp.sum(la.norm(x, "nuc", axis=(-2, -1)) + la.norm(x, 2, axis=(-2, -1))),
         lambda x: (torch.linalg.matrix_norm(x, "nuc") + torch.linalg.matrix_norm(x, 2)).sum(), r),
        (lambda x: cnp.sum(la.matrix_power(x, -3)),
         lambda x: torch.linalg.matrix_power(x, -3).sum(), a),
    ]
    for f, tf, x in cases:
        tx = t(x)
        tf(tx).backward()
        assert np.allclose(cr.grad(f)(x), tx.grad.numpy())


def _torch_eigh_gauge_free(torch, x):
    w, v = torch.linalg.eigh(x)
    return ((v @ ((w**2)[..., None] * v.mT)) ** 2).sum() + (w**3).sum()


def _torch_svd_gauge_free(torch, x):
    u, s, vh = torch.linalg.svd(x, full_matrices=False)
    return ((u @ (s[..., None] ** 3 * vh)) ** 2).sum() + (torch.linalg.svdvals(x) ** 3).sum()


# -- pinv with rcond=/rtol= that leaves singular values out ------------------------------------
def _with_singular_values(m, n, s, seed):
    r = np.random.default_rng(seed)
    u = np.linalg.qr(r.standard_normal((m, len(s))))[0]
    v = np.linalg.qr(r.standard_normal((n, len(s))))[0]
    return u @ np.diag(s) @ v.T


PINV_CASES = {
    "cut one": (_with_singular_values(5, 4, [3.0, 1.0, 0.05, 0.01], 1), {"rcond": 0.1}),
    "cut by rtol": (_with_singular_values(5, 4, [3.0, 1.0, 0.05, 0.01], 2), {"rtol": 0.1}),
    "cut all but one": (_with_singular_values(3, 4, [2.0, 0.5, 0.3], 3), {"rcond": 0.5}),
    "cut, and a zero": (_with_singular_values(5, 4, [3.0, 0.2, 0.01, 0.0], 4), {"rcond": 0.1}),
    "stack, one cut per matrix": (np.stack([_with_singular_values(4, 3, [1.0, 0.5, 0.01], 5),
                                            _with_singular_values(4, 3, [1.0, 0.9, 0.3], 6)]),
                                  {"rcond": np.array([0.1, 0.5])}),
    "hermitian": (_with_singular_values(3, 3, [2.0, 1.0, 0.01], 7) @ np.eye(3), {"rcond": 0.1, "hermitian": False}),
}


@pytest.mark.parametrize("case", sorted(PINV_CASES))
def test_pinv_that_leaves_singular_values_out_differentiates_the_truncated_pseudo_inverse(case):
    """The derivative of the function NumPy computes, against central differences (the
    Golub-Pereyra formula with the matrix's own rank, autograd's and JAX's, is off here)."""
    a, kw = PINV_CASES[case]
    w = normal(*a.shape[:-2], a.shape[-1], a.shape[-2])
    np.testing.assert_allclose(cnp.linalg.pinv(a, **kw), np.linalg.pinv(a, **kw), rtol=1e-12, atol=1e-13)

    def f(a):
        return cnp.sum(cnp.sin(cnp.linalg.pinv(a, **kw)) * w)

    # a singular value of exactly 0: the SVD's second derivative is not right there yet
    assert cr.gradcheck(f, a, order=1 if case == "cut, and a zero" else 2)


def test_pinv_of_full_rank_keeps_the_golub_pereyra_rule_and_numpys_errors():
    a = normal(4, 3)
    assert cr.gradcheck(lambda a: cnp.sum(cnp.linalg.pinv(a, rcond=1e-3) ** 3), a)
    with pytest.raises(ValueError):
        cr.grad(lambda a: cnp.sum(cnp.linalg.pinv(a, rcond=np.array([0.1, 0.2]))))(a)

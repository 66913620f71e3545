"""chainrule.scipy.linalg: values are SciPy's, both modes against finite differences to
second order (on unsymmetric inputs where a function reads one triangle, so that the
derivative of the function as SciPy computes it is what is checked), gradients against
PyTorch, and autograd's four scipy.linalg rules as an oracle."""

import importlib

import numpy as np
import pytest
import scipy.linalg as sla

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.scipy import linalg as cla

rng = np.random.default_rng(3)


def normal(*shape):
    return rng.standard_normal(shape)


def cnormal(*shape):
    return normal(*shape) + 1j * normal(*shape)


def well_conditioned(n, complex_=False):
    return (cnormal(n, n) if complex_ else normal(n, n)) + 3 * np.eye(n)


def spd(n):
    x = normal(n, n)
    return x @ x.T + n * np.eye(n)


def spd_with_noise(n):
    """Positive definite in the triangle that is read, unsymmetric elsewhere."""
    return spd(n) + 0.3 * np.triu(normal(n, n), 1)


def spd_with_noise_below(n):
    return spd(n) + 0.3 * np.tril(normal(n, n), -1)


def near_identity(n):
    return np.eye(n) + 0.2 * normal(n, n)


def band(lo, up, n):
    ab = normal(lo + up + 1, n)
    ab[up] += 4.0  # a dominant diagonal
    return ab


def gauge_free_eigh(a):
    # eigh differentiates as a function of the symmetrised input (as JAX's): finite
    # differences agree along every change of a function of a symmetric matrix
    w, v = cla.eigh((a + a.T) / 2)
    return v @ (w[:, None] ** 2 * v.T), w


# name: (function, [makers of the argument tuple])
LINALG = {
    "inv": (cla.inv, [lambda: (well_conditioned(3),)]),
    "inv_pos": (lambda a: cla.inv(a, assume_a="pos"), [lambda: (spd_with_noise_below(3),)]),
    "solve": (cla.solve, [lambda: (well_conditioned(3), normal(3)),
                          lambda: (well_conditioned(3), normal(3, 2))]),
    "solve_transposed": (lambda a, b: cla.solve(a, b, transposed=True),
                         [lambda: (well_conditioned(3), normal(3, 2))]),
    "solve_pos": (lambda a, b: cla.solve(a, b, assume_a="pos"),
                  [lambda: (spd_with_noise(3), normal(3))]),
    "solve_sym_upper": (lambda a, b: cla.solve(a, b, assume_a="sym", lower=False),
                        [lambda: (spd_with_noise_below(3), normal(3, 2))]),
    "solve_diagonal": (lambda a, b: cla.solve(a, b, assume_a="diagonal"),
                       [lambda: (well_conditioned(3), normal(3))]),
    "det": (cla.det, [lambda: (well_conditioned(3),)]),
    "cholesky_upper": (cla.cholesky, [lambda: (spd_with_noise_below(4),)]),
    "cholesky_lower": (lambda a: cla.cholesky(a, lower=True), [lambda: (spd_with_noise(4),)]),
    "cho_factor": (lambda a: cla.cho_factor(a)[0], [lambda: (spd_with_noise_below(3),)]),
    "cho_solve": (lambda a, b: cla.cho_solve(cla.cho_factor(a), b),
                  [lambda: (spd_with_noise_below(3), normal(3, 2))]),
    "cho_solve_lower": (lambda a, b: cla.cho_solve(cla.cho_factor(a, lower=True), b),
                        [lambda: (spd_with_noise(3), normal(3))]),
    "solve_triangular": (cla.solve_triangular, [lambda: (well_conditioned(4), normal(4)),
                                                lambda: (well_conditioned(4), normal(4, 2))]),
    "solve_triangular_lower_T": (
        lambda a, b: cla.solve_triangular(a, b, trans="T", lower=True),
        [lambda: (well_conditioned(3), normal(3, 2))]),
    "solve_triangular_unit": (
        lambda a, b: cla.solve_triangular(a, b, lower=True, unit_diagonal=True),
        [lambda: (well_conditioned(3), normal(3))]),
    "solve_triangular_C": (lambda a, b: cla.solve_triangular(a, b, trans=2),
                           [lambda: (well_conditioned(3), normal(3))]),
    "solve_banded": (lambda ab, b: cla.solve_banded((1, 2), ab, b),
                     [lambda: (band(1, 2, 5), normal(5)), lambda: (band(1, 2, 5), normal(5, 2))]),
    "solve_sylvester": (cla.solve_sylvester,
                        [lambda: (well_conditioned(3), well_conditioned(2), normal(3, 2))]),
    "sqrtm": (cla.sqrtm, [lambda: (spd(3),), lambda: (near_identity(3),)]),
    "expm": (cla.expm, [lambda: (0.5 * normal(3, 3),), lambda: (0.3 * normal(2, 3, 3),)]),
    "logm": (cla.logm, [lambda: (near_identity(2),)]),
    "lu": (lambda a: cla.lu(a)[1:], [lambda: (normal(4, 4),)]),
    "lu_wide_tall": (lambda a: cla.lu(a)[1:], [lambda: (normal(2, 4),), lambda: (normal(4, 2),)]),
    "lu_permute_l": (lambda a: cla.lu(a, permute_l=True), [lambda: (normal(3, 3),)]),
    "lu_factor": (lambda a: cla.lu_factor(a)[0], [lambda: (normal(4, 4),), lambda: (normal(2, 3),),
                                                  lambda: (normal(3, 2),)]),
    "lu_solve": (lambda a, b: cla.lu_solve(cla.lu_factor(a), b),
                 [lambda: (normal(4, 4), normal(4)), lambda: (normal(3, 3), normal(3, 2))]),
    "lu_solve_T": (lambda a, b: cla.lu_solve(cla.lu_factor(a), b, trans=1),
                   [lambda: (normal(4, 4), normal(4, 2))]),
    "qr_economic": (lambda a: cla.qr(a, mode="economic"), [lambda: (normal(4, 3),)]),
    "qr_full_square": (cla.qr, [lambda: (normal(3, 3),)]),
    "qr_r": (lambda a: cla.qr(a, mode="r"), [lambda: (normal(4, 3),)]),
    "svd_thin": (lambda a: cla.svd(a, full_matrices=False)[1], [lambda: (normal(4, 3),)]),
    "svdvals": (cla.svdvals, [lambda: (normal(3, 4),)]),
    "eigh_gauge_free": (gauge_free_eigh, [lambda: (spd_with_noise(4),)]),
    "eigvalsh_upper": (lambda a: cla.eigvalsh((a + a.T) / 2, lower=False), [lambda: (spd(3),)]),
    "eigvals": (cla.eigvals, [lambda: (normal(3, 3),)]),
    "norm": (lambda a: [cla.norm(a), cla.norm(a, 1), cla.norm(a, "nuc")],
             [lambda: (normal(3, 4),)]),
    "pinv": (cla.pinv, [lambda: (normal(4, 2),)]),
    "block_diag": (cla.block_diag, [lambda: (normal(2, 3), normal(3), normal(2, 2)),
                                    lambda: (normal(1, 2), np.array(0.7))]),
}
CASES = [(name, k) for name, (_, makers) in LINALG.items() for k in range(len(makers))]


def scipy_reference(name):
    """The SciPy function that a case computes, where the case is a bare call."""
    return {"inv": sla.inv, "det": sla.det, "solve": sla.solve, "sqrtm": sla.sqrtm,
            "expm": sla.expm, "logm": sla.logm, "solve_triangular": sla.solve_triangular,
            "solve_sylvester": sla.solve_sylvester, "svdvals": sla.svdvals,
            "cholesky_upper": sla.cholesky, "pinv": sla.pinv,
            "lu": lambda a: sla.lu(a)[1:], "lu_factor": lambda a: sla.lu_factor(a)[0],
            "lu_solve": lambda a, b: sla.lu_solve(sla.lu_factor(a), b),
            "lu_solve_T": lambda a, b: sla.lu_solve(sla.lu_factor(a), b, trans=1),
            "block_diag": sla.block_diag}.get(name)


@pytest.mark.parametrize(("name", "case"), CASES)
def test_scipy_linalg(name, case):
    f, makers = LINALG[name]
    args = makers[case]()
    reference = scipy_reference(name)
    if reference is not None:  # a Tensor gives SciPy's value
        value = cr.jvp(lambda *a: f(*a), args, tuple(np.zeros_like(a) for a in args))[0]
        np.testing.assert_allclose(value, reference(*args), rtol=1e-10, atol=1e-12)
    assert cr.gradcheck(f, *args, order=2)


def test_plain_calls_are_scipys_own():
    a = spd(3)
    assert cla.cholesky(a).tobytes() == sla.cholesky(a).tobytes()
    c, low = cla.cho_factor(a)
    np.testing.assert_array_equal(c, sla.cho_factor(a)[0])
    assert cla.expm(a / 10).tobytes() == sla.expm(a / 10).tobytes()


def test_cho_factor_keeps_the_other_triangle_as_scipy_does():
    a = spd_with_noise_below(4)
    c, lower = cr.jvp(lambda x: cla.cho_factor(x)[0], (a,), (np.zeros_like(a),))[0], False
    np.testing.assert_allclose(c, sla.cho_factor(a, lower=lower)[0], rtol=1e-12)


def test_complex_triangular_solve_and_expm():
    a, b = np.triu(well_conditioned(3, complex_=True)), cnormal(3)
    for trans in (0, 1, 2):
        np.testing.assert_allclose(
            cr.jvp(lambda x, t=trans: cla.solve_triangular(x, b, trans=t), (a,), (0 * a,))[0],
            sla.solve_triangular(a, b, trans=trans), rtol=1e-12)
        assert cr.gradcheck(lambda x, y, t=trans: cla.solve_triangular(x, y, trans=t), a, b)
    assert cr.gradcheck(cla.expm, 0.4 * cnormal(3, 3))


def test_refused_options_name_themselves():
    a = spd(3)
    with pytest.raises(NotImplementedError, match=r"scipy\.linalg\.qr: pivoting=True"):
        cr.grad(lambda x: cla.qr(x, pivoting=True)[0].sum())(a)
    with pytest.raises(NotImplementedError, match=r"scipy\.linalg\.eigh: type is"):
        cr.grad(lambda x: cla.eigh(x, np.eye(3), type=3)[0].sum())(a)
    with pytest.raises(NotImplementedError, match=r"scipy\.linalg\.eig: b, left=True"):
        cr.grad(lambda x: cnp.real(cla.eig(x, np.eye(3))[0]).sum())(a)
    with pytest.raises(NotImplementedError, match=r"scipy\.linalg\.pinv: atol="):
        cr.grad(lambda x: cla.pinv(x, atol=1e-3).sum())(a)
    with pytest.raises(TypeError, match=r"scipy\.linalg\.schur is not differentiable"):
        cr.grad(lambda x: cla.schur(x)[0].sum())(a)
    t, z = cla.schur(a)  # SciPy's own on plain arrays
    np.testing.assert_allclose(z @ t @ z.T, a)
    with pytest.raises(NotImplementedError, match=r"scipy\.linalg\.lu: an array of shape"):
        cr.grad(lambda x: cla.lu(x)[1].sum())(normal(2, 3, 2))


def test_expm_of_a_rotation_generator():
    """d/dθ expm(θ K) = K expm(θ K): closed form, both modes."""
    k = np.array([[0.0, -1.0], [1.0, 0.0]])
    theta = 0.7
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    d = cr.jacobian(lambda t: cla.expm(t * k))(theta)
    np.testing.assert_allclose(d, k @ rotation, atol=1e-12)
    _, dt = cr.jvp(lambda t: cla.expm(t * k), (theta,), (1.0,))
    np.testing.assert_allclose(dt, k @ rotation, atol=1e-12)


# -- autograd's scipy.linalg rules as an oracle ----------------------------------------------
AUTOGRAD_CASES = {
    "sqrtm": (lambda m: m.sqrtm, lambda: (spd(3),)),
    "solve_triangular": (lambda m: m.solve_triangular, lambda: (np.triu(well_conditioned(3)),
                                                                normal(3, 2))),
    "solve_triangular_lower": (lambda m: (lambda a, b: m.solve_triangular(a, b, lower=True)),
                               lambda: (np.tril(well_conditioned(3)), normal(3))),
    "solve_sylvester": (lambda m: m.solve_sylvester,
                        lambda: (well_conditioned(3), well_conditioned(2), normal(3, 2))),
    "solve_banded": (lambda m: (lambda ab, b: m.solve_banded((1, 1), ab, b)),
                     lambda: (band(1, 1, 4), normal(4))),
}


@pytest.mark.parametrize("name", sorted(AUTOGRAD_CASES))
def test_against_autograd(name):
    autograd = pytest.importorskip("autograd")
    anp = importlib.import_module("autograd.numpy")
    asla = importlib.import_module("autograd.scipy.linalg")
    pick, make = AUTOGRAD_CASES[name]
    args = make()
    w = normal(*np.shape(pick(sla)(*args)))
    for i in range(len(args)):
        def program(fun, np_, i=i):
            def scalar(x):
                full = list(args)
                full[i] = x
                return np_.sum(fun(*full) * w)

            return scalar

        theirs = autograd.grad(program(pick(asla), anp))(args[i])
        ours = cr.grad(program(pick(cla), cnp))(args[i])
        if name.startswith("solve_triangular") and i == 0:  # the triangle that is read
            theirs = np.triu(theirs) if name == "solve_triangular" else np.tril(theirs)
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


# -- PyTorch as an oracle ----------------------------------------------------------------------
def test_matrix_exp_and_triangular_solve_against_torch():
    torch = pytest.importorskip("torch")
    a, w = 0.5 * normal(3, 3), normal(3, 3)
    ours = cr.grad(lambda x: cnp.sum(cla.expm(x) * w))(a)
    at = torch.tensor(a, requires_grad=True)
    (torch.linalg.matrix_exp(at) * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(ours, at.grad.numpy(), rtol=1e-10, atol=1e-12)
    t, b = well_conditioned(3), normal(3, 2)
    ours = cr.grad(lambda x: cnp.sum(cla.solve_triangular(x, b, lower=True) ** 2))(t)
    tt = torch.tensor(t, requires_grad=True)
    x = torch.linalg.solve_triangular(torch.tril(tt), torch.from_numpy(b), upper=False)
    (x**2).sum().backward()
    np.testing.assert_allclose(ours, tt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_lu_permutation_and_indices_are_scipys():
    a = normal(4, 4)
    p, low, up = cr.jvp(lambda x: cla.lu(x), (a,), (0 * a,))[0]
    for ours, theirs in zip((p, low, up), sla.lu(a), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    idx = cr.jvp(lambda x: cla.lu(x, p_indices=True)[1], (a,), (0 * a,))[0]
    np.testing.assert_allclose(idx, sla.lu(a, p_indices=True)[1], rtol=1e-12)
    assert np.array_equal(cla.lu_factor(cr.tensor(a))[1], sla.lu_factor(a)[1])
    c = well_conditioned(3, complex_=True)
    b = cnormal(3)
    np.testing.assert_allclose(
        cr.jvp(lambda x: cla.lu_solve(cla.lu_factor(x), b, trans=2), (c,), (0 * c,))[0],
        sla.lu_solve(sla.lu_factor(c), b, trans=2), rtol=1e-12)


FLOAT32 = {
    "expm": (cla.expm, lambda: (0.3 * normal(3, 3),)),
    "sqrtm": (cla.sqrtm, lambda: (spd(3),)),
    "solve_triangular": (cla.solve_triangular, lambda: (well_conditioned(3), normal(3))),
    "solve_sylvester": (cla.solve_sylvester,
                        lambda: (well_conditioned(3), well_conditioned(2), normal(3, 2))),
    "cholesky": (cla.cholesky, lambda: (spd_with_noise_below(3),)),
    "solve_pos": (lambda a, b: cla.solve(a, b, assume_a="pos"), lambda: (spd(3), normal(3))),
    "lu": (lambda a: cla.lu(a)[1:], lambda: (normal(3, 3),)),
    "solve_banded": (lambda ab, b: cla.solve_banded((1, 1), ab, b),
                     lambda: (band(1, 1, 4), normal(4))),
    "qr_r": (lambda a: cla.qr(a, mode="r"), lambda: (normal(4, 3),)),
}


@pytest.mark.parametrize("name", sorted(FLOAT32))
def test_float32_stays_float32(name):
    """SciPy keeps float32 for these; so do their values on Tensors, tangents, gradients."""
    f, make = FLOAT32[name]
    args = tuple(a.astype(np.float32) for a in make())
    value, tangent = cr.jvp(f, args, args)
    grads = cr.grad(lambda *x: sum(cnp.sum(v) for v in cr.tree_leaves(f(*x))),
                    argnums=tuple(range(len(args))))(*args)
    for v in (*cr.tree_leaves(value), *cr.tree_leaves(tangent), *grads):
        assert np.asarray(v).dtype == np.float32, name


def test_block_diag_of_tensors_mixed_with_plain_blocks():
    a = cr.tensor(normal(2, 2))
    for args in ((a, np.eye(1), 2), (a, np.ones((0, 3)), np.arange(2)), (a,)):
        got = cla.block_diag(*args)
        want = sla.block_diag(*(np.asarray(v) for v in args))
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(np.asarray(got), want)
    with pytest.raises(ValueError, match="argument 1 has 3 dimensions"):
        cla.block_diag(a, np.ones((2, 2, 2)))


def test_cholesky_gradient_conventions_against_jax():
    """docs/scipy.md: scipy's cholesky differentiates the lower triangle it reads, numpy's
    (as jnp.linalg's) the symmetrised input; jax.scipy.linalg's gradient is neither, and
    all agree along symmetric changes."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp, jsl = jax.numpy, pytest.importorskip("jax.scipy.linalg")
    r = np.random.default_rng(0)
    m, w = r.normal(size=(3, 3)), r.normal(size=(3, 3))
    a = m @ m.T + 3 * np.eye(3)
    ours_scipy = cr.grad(lambda a: cnp.sum(cla.cholesky(a, lower=True) * w))(a)
    ours_numpy = cr.grad(lambda a: cnp.sum(cnp.linalg.cholesky(a) * w))(a)
    jax_scipy = jax.grad(lambda a: jnp.sum(jsl.cholesky(a, lower=True) * w))(a)
    jax_numpy = jax.grad(lambda a: jnp.sum(jnp.linalg.cholesky(a) * w))(a)
    assert np.all(np.triu(ours_scipy, 1) == 0)
    np.testing.assert_allclose(ours_numpy, ours_numpy.T, rtol=1e-14)
    np.testing.assert_allclose(ours_numpy, jax_numpy, rtol=1e-12)
    assert not np.allclose(jax_scipy, np.tril(jax_scipy)) and not np.allclose(jax_scipy, jax_scipy.T)
    sym = lambda g: (g + g.T) / 2
    for g in (ours_scipy, jax_scipy, jax_numpy):
        np.testing.assert_allclose(sym(g), ours_numpy, rtol=1e-12, atol=1e-14)

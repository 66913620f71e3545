"""``chainrule.linalg`` against ``torch.linalg`` in float64: values, dtypes, shapes,
named-tuple fields and gradients; float32 stays float32; programs as PyTorch users
write them."""

import math
import warnings

import numpy as np
import pytest
import torch
from tests.finite_differences import central_differences
from tests.numpy.torch_oracle import check_float32, compare

import chainrule as cr

rng = np.random.default_rng(7)
M34 = rng.normal(size=(3, 4))
M43 = rng.normal(size=(4, 3))
M33 = rng.normal(size=(3, 3)) + 3 * np.eye(3)
B233 = rng.normal(size=(2, 3, 3)) + 3 * np.eye(3)
SPD = M43.T @ M43 + np.eye(3)
BSPD = np.einsum("bij,bkj->bik", B233, B233) + np.eye(3)
V3, W3 = rng.normal(size=3), rng.normal(size=3)
R32 = rng.normal(size=(3, 2))
T234 = rng.normal(size=(2, 3, 4))


def both(name, **kwargs):
    """(ours, PyTorch's) linalg function ``name`` with ``kwargs`` bound."""
    return (lambda *a: getattr(cr.linalg, name)(*a, **kwargs),
            lambda *a: getattr(torch.linalg, name)(*a, **kwargs))


def _sym_svd(out, m):
    # U diag(S) Vh and S: free of the singular vectors' signs
    return (out.U[..., :, : out.S.shape[-1]] * out.S[..., None, :] @ out.Vh[..., : out.S.shape[-1], :]).sum() \
        + (out.S ** 2).sum()


def _sym_eigh(out, m):
    v = out.eigenvectors
    return (v * v * m.tensor(np.arange(1.0, v.shape[-1] + 1))).sum() + (out.eigenvalues * m.tensor([1.0, 2, 3])).sum()


def _sym_qr(out, m):
    return (out.Q @ out.R).sum() + (out.R * out.R).sum() + (out.Q * out.Q).sum()


CASES = [
    # name, kwargs, inputs, loss free of a decomposition's sign choices (None: all results)
    ("norm", {}, [T234], None),
    ("norm", {}, [M34], None),
    ("norm", {"ord": 1}, [M34], None),
    ("norm", {"ord": "nuc"}, [M34], None),
    ("norm", {"ord": 2}, [M34], None),
    ("norm", {"ord": -math.inf}, [M34], None),
    ("norm", {"ord": 3, "dim": 1, "keepdim": True}, [M34], None),
    ("norm", {"ord": math.inf}, [V3], None),
    ("norm", {"dim": (0, 2)}, [T234], None),
    ("vector_norm", {}, [T234], None),
    ("vector_norm", {"ord": 1, "dim": (0, 2), "keepdim": True}, [T234], None),
    ("vector_norm", {"ord": 0.5, "dim": -1}, [M34], None),
    ("vector_norm", {"ord": math.inf, "dim": 0}, [M34], None),
    ("vector_norm", {"ord": -math.inf}, [M34], None),
    ("vector_norm", {"keepdim": True}, [T234], None),
    ("vector_norm", {"dim": 1}, [np.array([[0.0, 0.0], [3.0, -4.0]])], None),
    ("vector_norm", {"ord": 3, "dim": 0}, [np.array([[0.0, 1.0], [0.0, -2.0]])], None),
    ("vector_norm", {"ord": 0.5}, [np.array([0.0, 3.0, -4.0])], None),
    ("vector_norm", {"ord": math.inf}, [np.array([2.0, -2.0, 1.0])], None),
    ("matrix_norm", {}, [T234], None),
    ("matrix_norm", {"ord": "nuc", "keepdim": True}, [T234], None),
    ("matrix_norm", {"ord": -1, "dim": (0, 2)}, [T234], None),
    ("matrix_norm", {"ord": 2}, [B233], None),
    ("det", {}, [M33], None),
    ("det", {}, [B233], None),
    ("slogdet", {}, [B233], None),
    ("inv", {}, [B233], None),
    ("pinv", {}, [M34], None),
    ("pinv", {"hermitian": True}, [SPD], None),
    ("solve", {}, [M33, R32], None),
    ("solve", {}, [M33, V3], None),
    ("solve", {}, [B233, M33[:2]], None),
    ("solve", {"left": False}, [M33, M34.T[:2]], None),
    ("cholesky", {}, [SPD], None),
    ("cholesky", {"upper": True}, [BSPD], None),
    ("qr", {}, [M43], _sym_qr),
    ("qr", {"mode": "complete"}, [M33], _sym_qr),
    ("qr", {"mode": "complete"}, [M34], _sym_qr),
    ("svd", {"full_matrices": False}, [M34], _sym_svd),
    ("svd", {}, [M43], _sym_svd),
    ("svdvals", {}, [T234], None),
    ("eigh", {}, [SPD], _sym_eigh),
    ("eigh", {"UPLO": "U"}, [M33], _sym_eigh),
    ("eigvalsh", {}, [BSPD], None),
    ("eigvalsh", {"UPLO": "U"}, [M33], None),
    ("matrix_power", {"n": 3}, [M33], None),
    ("matrix_power", {"n": -2}, [B233], None),
    ("matrix_power", {"n": 0}, [M33], None),
    ("cross", {}, [V3, W3], None),
    ("cross", {"dim": 0}, [M34[:, :2] * 0 + M33[:, :2], M33[:, 1:]], None),
    ("vecdot", {}, [M34, M34[::-1].copy()], None),
    ("vecdot", {"dim": 0}, [M34, M34[::-1].copy()], None),
    ("solve_triangular", {"upper": True}, [M33, R32], None),
    ("solve_triangular", {"upper": False, "unitriangular": True}, [B233, R32], None),
    ("solve_triangular", {"upper": True, "left": False}, [M33, M34.T[:2]], None),
    ("matrix_exp", {}, [M33 / 3], None),
    ("matrix_exp", {}, [B233 / 3], None),
    ("diagonal", {}, [T234], None),
    ("diagonal", {"offset": 1, "dim1": 0, "dim2": 2}, [T234], None),
    ("cond", {}, [M33], None),
    ("vander", {}, [V3], None),
    ("vander", {"N": 5}, [M34], None),
    ("lu_factor", {}, [M33], None),
    ("lu_factor", {}, [B233], None),
    ("lu", {}, [M33[::-1].copy()], None),
    ("lu", {}, [B233], None),
]


@pytest.mark.parametrize(("name", "kwargs", "inputs", "loss"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_against_torch(name, kwargs, inputs, loss):
    ours, theirs = both(name, **kwargs)
    compare(ours, theirs, inputs, loss=loss, rtol=1e-6, atol=1e-8)
    check_float32(ours, theirs, inputs)


@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3)])
def test_lu_unpack_and_lu_solve_of_lu_factor(shape):
    # Glow's LU-decomposed 1x1 convolution: P, L, U from lu_factor's (LU, pivots)
    A = rng.normal(size=shape)
    B = rng.normal(size=shape[:-1] + (2,))

    def run(lib):
        factors = lib.linalg.lu_factor(lib.tensor(A))
        P, L, U = lib.lu_unpack(*factors)
        return [P, L, U, lib.linalg.lu_solve(*factors, lib.tensor(B)),
                lib.linalg.lu_solve(*factors, lib.tensor(B).mT, left=False, adjoint=True)]

    compare(lambda a, b: (cr.lu_unpack(*cr.linalg.lu_factor(a)), cr.linalg.lu_solve(*cr.linalg.lu_factor(a), b)),
            lambda a, b: (torch.lu_unpack(*torch.linalg.lu_factor(a)),
                          torch.linalg.lu_solve(*torch.linalg.lu_factor(a), b)),
            [A, B], loss=lambda out, m: (out[0].L ** 2).sum() + (out[0].U ** 3).sum() + out[1].sum(), rtol=1e-9)
    for ours, theirs in zip(run(cr), run(torch), strict=True):
        assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_lu_factor_refuses_a_singular_matrix_and_lu_factors_it_as_torch():
    A = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(RuntimeError, match=r"U\[2,2\] is zero"):
        torch.linalg.lu_factor(torch.tensor(A))
    with pytest.raises(RuntimeError, match=r"U\[2,2\] is zero"):
        cr.linalg.lu_factor(cr.tensor(A))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and without SciPy's warning, as PyTorch's
        ours = cr.linalg.lu(cr.tensor(A))
    for a, b in zip(ours, torch.linalg.lu(torch.tensor(A)), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy())


def test_multi_dot():
    arrays = [M34, rng.normal(size=(4, 5)), rng.normal(size=(5, 2))]
    compare(lambda *a: cr.linalg.multi_dot(a), lambda *a: torch.linalg.multi_dot(a), arrays)


@pytest.mark.parametrize("driver", [None, "gelsy", "gelsd", "gelss", "gels"])
@pytest.mark.parametrize("shapes", [((5, 3), (5, 2)), ((5, 3), (5,)), ((2, 5, 3), (2, 5, 2))])
def test_lstsq(driver, shapes):
    A, B = rng.normal(size=shapes[0]), rng.normal(size=shapes[1])
    ours, theirs = both("lstsq", driver=driver)
    compare(ours, theirs, [A, B], rtol=1e-6, atol=1e-8)


def test_lstsq_rank_deficient_gives_minimum_norm_solution_and_rank():
    A = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    B = np.array([[1.0], [2.0], [2.0]])
    ours, theirs = cr.linalg.lstsq(A, B, driver="gelsd"), torch.linalg.lstsq(torch.tensor(A), torch.tensor(B),
                                                                             driver="gelsd")
    np.testing.assert_allclose(np.asarray(ours.solution), theirs.solution.numpy(), atol=1e-10)
    assert int(ours.rank) == int(theirs.rank) == 1
    assert ours.residuals.shape == theirs.residuals.shape == (0,)


def test_qr_mode_r_and_named_results():
    q, r = cr.linalg.qr(M43, mode="r")
    tq, tr = torch.linalg.qr(torch.tensor(M43), mode="r")
    assert q.shape == tq.shape == (0,)
    np.testing.assert_allclose(np.abs(np.asarray(r)), np.abs(tr.numpy()), atol=1e-12)
    assert cr.linalg.svd(M34)._fields == ("U", "S", "Vh")
    assert cr.linalg.eigh(SPD)._fields == ("eigenvalues", "eigenvectors")
    assert cr.linalg.slogdet(SPD)._fields == ("sign", "logabsdet")




@pytest.mark.parametrize("kwargs", [{}, {"hermitian": True}, {"atol": 1.5}, {"rtol": 0.3}, {"atol": 0.1, "rtol": 0.9}])
def test_matrix_rank_and_pinv_tolerances(kwargs):
    A = np.diag([3.0, 1.0, 1e-20]) if kwargs.get("hermitian") else np.diag([3.0, 1.0, 0.2]) @ np.eye(3)[[2, 0, 1]]
    ours, theirs = cr.linalg.matrix_rank(A, **kwargs), torch.linalg.matrix_rank(torch.tensor(A), **kwargs)
    assert ours.dtype == np.int64 and int(ours) == int(theirs)
    compare(lambda a: cr.linalg.pinv(a, **kwargs), lambda a: torch.linalg.pinv(a, **kwargs), [A], grad=False)
    if kwargs.get("hermitian"):
        return  # the dropped singular value is 0: no derivative there
    # the gradient against central differences: PyTorch 2.13's pinv(atol=) derivative is that
    # of the untruncated pseudo-inverse, not of the one it returns
    W = rng.normal(size=(3, 3))
    a = cr.tensor(A, requires_grad=True)
    (cr.linalg.pinv(a, **kwargs) * cr.tensor(W)).sum().backward()
    expected = central_differences(lambda m: float((torch.linalg.pinv(torch.tensor(m), **kwargs).numpy() * W).sum()), A)
    np.testing.assert_allclose(np.asarray(a.grad), expected, atol=1e-6)


def test_cond_fro_against_its_definition():
    compare(lambda a: cr.linalg.cond(a, "fro"), lambda a: torch.linalg.matrix_norm(a) * torch.linalg.matrix_norm(
        torch.linalg.inv(a)), [M33], rtol=1e-10)


def test_complete_qr_of_a_tall_matrix_has_no_gradient_as_in_pytorch():
    a, t = cr.tensor(M43, requires_grad=True), torch.tensor(M43, requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.linalg.qr(t, mode="complete").Q.sum().backward()
    with pytest.raises(NotImplementedError, match="reduced"):
        cr.linalg.qr(a, mode="complete").Q.sum().backward()


def test_inputs_may_be_arrays_and_out_is_refused():
    assert isinstance(cr.linalg.det(M33), cr.Tensor)
    with pytest.raises(TypeError, match="out="):
        cr.linalg.inv(M33, out=cr.zeros(3, 3))
    with pytest.raises(ValueError, match="dim="):
        cr.linalg.norm(T234, ord=2)
    with pytest.raises(ValueError, match="driver"):
        cr.linalg.lstsq(M43, R32[:2], driver="lapack")


def test_under_grad_jit_and_vmap():
    f = lambda a: cr.linalg.slogdet(a).logabsdet + cr.linalg.norm(a)  # noqa: E731
    g = cr.grad(f)(M33)
    np.testing.assert_allclose(np.asarray(cr.jit(cr.grad(f))(M33)), np.asarray(g), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(g), np.linalg.inv(M33).T + M33 / np.linalg.norm(M33), rtol=1e-10)
    batched = cr.vmap(f)(B233)
    np.testing.assert_allclose(np.asarray(batched), [float(f(b)) for b in B233], rtol=1e-10)


def test_least_squares_fit_written_as_in_pytorch():
    # fit y = 2 + 3x by least squares, then refine the same model by gradient descent
    x = torch.linspace(0, 1, 20, dtype=torch.float64)
    y = 2 + 3 * x + 0.01 * torch.sin(40 * x)
    ours = {}
    for lib in (torch, cr):
        xs = lib.tensor(x.numpy())
        ys = lib.tensor(y.numpy())
        A = lib.stack([lib.ones_like(xs), xs], dim=1)
        coef = lib.linalg.lstsq(A, ys.unsqueeze(1)).solution
        w = coef.clone().detach().requires_grad_(True)
        loss = ((A @ w - ys.unsqueeze(1)) ** 2).mean()
        loss.backward()
        ours[lib.__name__] = (coef.detach().numpy().ravel(), w.grad.numpy().ravel())
    np.testing.assert_allclose(ours["chainrule"][0], ours["torch"][0], rtol=1e-10)
    np.testing.assert_allclose(ours["chainrule"][1], ours["torch"][1], atol=1e-12)
    np.testing.assert_allclose(ours["chainrule"][0], [2, 3], atol=0.02)


def test_gaussian_log_likelihood_written_as_in_pytorch():
    data = rng.normal(size=(10, 3))
    grads = {}
    for lib in (torch, cr):
        L_raw = lib.tensor(np.tril(rng.normal(size=(3, 3))) * 0 + np.eye(3) * 1.3 + np.tril(np.ones((3, 3)), -1) * 0.2,
                           requires_grad=True)
        mu = lib.tensor([0.1, -0.2, 0.3], dtype=lib.float64, requires_grad=True)
        x = lib.tensor(data)
        cov = L_raw @ L_raw.T + 0.1 * lib.eye(3, dtype=lib.float64)
        L = lib.linalg.cholesky(cov)
        diff = (x - mu).T
        z = lib.linalg.solve_triangular(L, diff, upper=False)
        sign, logdet = lib.linalg.slogdet(cov)
        loglik = -0.5 * (z ** 2).sum() - 0.5 * x.shape[0] * (logdet + 3 * math.log(2 * math.pi))
        loglik.backward()
        assert float(sign.detach()) == 1.0
        grads[lib.__name__] = (float(loglik.detach()), L_raw.grad.numpy(), mu.grad.numpy())
    for a, b in zip(grads["chainrule"], grads["torch"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10)


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_inverse_and_triangular_solve(upper):
    # a Gaussian process's solves from its Cholesky factor (GPyTorch-style code): values and
    # gradients against torch through the factorisation, and in the factor's own triangle
    # (PyTorch's cholesky_solve also fills the other triangle's gradient, which its result
    # does not read: chainrule gives it the 0 of finite differences)
    B = rng.normal(size=(2, 3, 2))

    def run(lib):
        A = lib.tensor(BSPD, requires_grad=True)
        b = lib.tensor(B, requires_grad=True)
        F = lib.linalg.cholesky(A, upper=upper)
        leaf = F.detach().requires_grad_(True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # PyTorch's deprecation of triangular_solve
            outs = [lib.cholesky_solve(b, F, upper=upper), lib.cholesky_inverse(F[1], upper=upper),
                    lib.triangular_solve(b, F, upper=upper).solution,
                    lib.triangular_solve(b, F, upper=upper, transpose=True)[0], lib.cholesky_solve(b, leaf, upper)]
        total = sum(((k + 1) * o ** 2).sum() for k, o in enumerate(outs))
        total.backward()
        mask = np.triu(np.ones((3, 3))) if upper else np.tril(np.ones((3, 3)))
        return [o.detach().numpy() for o in outs] + [A.grad.numpy(), b.grad.numpy(), leaf.grad.numpy() * mask,
                                                      leaf.grad.numpy() * (1 - mask)]

    ours, theirs = run(cr), run(torch)
    for o, t in zip(ours[:-1], theirs[:-1], strict=True):
        np.testing.assert_allclose(o, t, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(ours[-1], 0.0)


@pytest.mark.parametrize("shapes", [((1, 4, 3), (4, 3)), ((2, 1, 4, 3), (1, 4, 2)), ((1, 4, 3), (1, 4)),
                                    ((3, 4, 3), (3, 4))])
def test_lstsq_broadcasts_a_right_hand_side_one_dimension_short_as_torch(shapes):
    # a B one dimension short of A is a batch of vectors only when it is A's shape less
    # A's last dimension; otherwise its dimensions but the last broadcast against A's batch
    A, B = rng.normal(size=shapes[0]), rng.normal(size=shapes[1])
    ours, theirs = compare(lambda a, b: cr.linalg.lstsq(a, b).solution,
                           lambda a, b: torch.linalg.lstsq(a, b).solution, [A, B], rtol=1e-6, atol=1e-8)
    assert tuple(ours.shape) == tuple(theirs.shape)
    for driver in ("gelsd", "gels"):  # rank and singular values: of A's own batch
        ours, theirs = cr.linalg.lstsq(A, B, driver=driver), torch.linalg.lstsq(torch.tensor(A), torch.tensor(B),
                                                                                driver=driver)
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-8)


@pytest.mark.parametrize("shapes", [((5, 4, 3), (4, 2)), ((1, 4, 3), (4,)), ((4, 3), (3,)), ((4, 3), (2, 4, 3))])
def test_lstsq_refuses_what_torch_refuses(shapes):
    A, B = rng.normal(size=shapes[0]), rng.normal(size=shapes[1])
    with pytest.raises(RuntimeError) as theirs:
        torch.linalg.lstsq(torch.tensor(A), torch.tensor(B))
    with pytest.raises(RuntimeError) as ours:
        cr.linalg.lstsq(cr.tensor(A), cr.tensor(B))
    assert str(theirs.value).split(" (")[0].lower().split(": ")[-1] in str(ours.value).lower()


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_inverse_gradient_is_torchs_for_a_non_symmetric_weighting(upper):
    # the result is symmetric: the gradient is that of (L Lᵀ)⁻¹ for sum(result * W) with W
    # not symmetric, the factor's unread triangle included, as PyTorch's
    for factor in (B233, np.tril(B233)):
        factor = np.swapaxes(factor, -1, -2) if upper else factor
        compare(lambda f: cr.cholesky_inverse(f, upper=upper), lambda f: torch.cholesky_inverse(f, upper=upper),
                [factor], rtol=1e-12, atol=1e-12)
    W = rng.normal(size=(3, 3))
    lower = np.tril(M33)
    x = cr.tensor(lower, requires_grad=True)
    (cr.cholesky_inverse(x) * cr.tensor(W)).sum().backward()
    expected = central_differences(lambda a: float((np.linalg.inv(np.tril(a) @ np.tril(a).T) * W).sum()), lower)
    np.testing.assert_allclose(np.tril(x.grad.numpy()), np.tril(expected), atol=1e-8)


@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("interpolation", ["linear", "midpoint", "nearest"])
def test_quantile_differentiates_a_tensor_q_as_torch(name, interpolation):
    x = M34.copy()
    x[1, 2] = np.nan if name == "nanquantile" else x[1, 2]
    for q, dim in ((np.array([0.1, 0.37, 0.9]), 1), (np.array(0.63), None)):
        compare(lambda a, p, dim=dim: getattr(cr, name)(a, p, dim=dim, interpolation=interpolation),
                lambda a, p, dim=dim: getattr(torch, name)(a, p, dim=dim, interpolation=interpolation), [x, q],
                rtol=1e-12, atol=1e-12)
    W = rng.normal(size=(3, 3))
    p = cr.tensor([0.1, 0.37, 0.9], requires_grad=True)
    (getattr(cr, name)(cr.tensor(x), p, dim=1) * cr.tensor(W)).sum().backward()
    expected = central_differences(lambda v: float((getattr(np, name)(x, v, axis=1) * W).sum()), p.detach().numpy())
    np.testing.assert_allclose(p.grad.numpy(), expected, atol=1e-8)


@pytest.mark.parametrize("shape", [(2, 3), (3, 2), (2, 2, 4), (2, 4, 3)])
def test_lu_of_wide_and_tall_matrices_as_torch(shape):
    # P m×m, L m×k, U k×n (k = min(m, n)) and the gradient of each, PyTorch's for full rank
    A = rng.normal(size=shape)
    compare(cr.linalg.lu, torch.linalg.lu, [A], rtol=1e-12, atol=1e-12)
    compare(lambda a: (cr.linalg.lu_factor(a).LU, *cr.lu_unpack(*cr.linalg.lu_factor(a))),
            lambda a: (torch.linalg.lu_factor(a).LU, *torch.lu_unpack(*torch.linalg.lu_factor(a))), [A],
            rtol=1e-12, atol=1e-12)
    ours = cr.linalg.lu_factor(A)
    np.testing.assert_array_equal(ours.pivots.numpy(), torch.linalg.lu_factor(torch.tensor(A)).pivots.numpy())
    k = min(shape[-2:])
    WL, WU = rng.normal(size=shape[:-1] + (k,)), rng.normal(size=shape[:-2] + (k, shape[-1]))

    def loss(a):  # PyTorch's values, by central differences
        _, L, U = torch.linalg.lu(torch.tensor(a))
        return float((L * torch.tensor(WL)).sum() + (U * torch.tensor(WU)).sum())

    x = cr.tensor(A, requires_grad=True)
    _, L, U = cr.linalg.lu(x)
    ((L * cr.tensor(WL)).sum() + (U * cr.tensor(WU)).sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), central_differences(loss, A), atol=1e-7)


def test_lu_refuses_what_is_not_a_matrix_as_torch():
    with pytest.raises(RuntimeError, match="Expected tensor with 2 or more dimensions"):
        cr.linalg.lu(cr.ones(3))
    with pytest.raises(NotImplementedError, match="lu_cpu"):  # an integer matrix
        cr.linalg.lu_factor(cr.tensor([[1, 2], [3, 4]]))


def test_lu_keeps_the_sign_of_a_zero_below_the_diagonal():
    M = np.array([[0.0, -0.0, 1.5], [-2.25, 1.5, 0.5]])
    np.testing.assert_array_equal(np.signbit(cr.linalg.lu(M).L.numpy()),
                                  np.signbit(torch.linalg.lu(torch.tensor(M)).L.numpy()))


def test_lu_unpack_and_lu_solve_refuse_what_torch_refuses():
    LU, pivots = cr.linalg.lu_factor(M33)
    for call, error in ((lambda: cr.lu_unpack(LU, cr.tensor([1.0, 2.0, 3.0])), RuntimeError),
                        (lambda: cr.lu_unpack(cr.ones(3), pivots), RuntimeError),
                        (lambda: cr.lu_unpack(LU, 2.0), TypeError),
                        (lambda: cr.lu_unpack(LU, pivots, 0.5), TypeError),
                        (lambda: cr.linalg.lu_solve(LU, pivots, 0.5), TypeError)):
        with pytest.raises(error):
            call()


def test_quantile_and_cholesky_inverse_take_tensors_only_as_torch():
    for call in (lambda: cr.quantile(2, 3), lambda: cr.nanquantile([1.0, 2.0], 0.5),
                 lambda: cr.quantile(cr.tensor(M34), 0.5, dim=1.0), lambda: cr.cholesky_inverse(np.eye(2)),
                 lambda: cr.cholesky_inverse(cr.eye(2), 2)):
        with pytest.raises(TypeError):
            call()
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        cr.cholesky_inverse(cr.ones(3))


@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("dtype", ["float16", "int64", "bool"])
def test_quantile_refuses_what_torchs_kernel_refuses(name, dtype):
    """float and double only: float16 too (NumPy would compute it)."""
    x = np.array([1, 0, 1]).astype(dtype)
    with pytest.raises(RuntimeError, match="must be either float or double") as theirs:
        getattr(torch.tensor(x), name)(0.5)
    with pytest.raises(RuntimeError, match="must be either float or double") as ours:
        getattr(cr.tensor(x), name)(0.5)
    assert str(ours.value).startswith(str(theirs.value))

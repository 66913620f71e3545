"""PyTorch's functions that return (named) tuples keep their structure and values inside
torch.func's transforms and chainrule's own (``torch.sort(x)`` under ``grad`` is
PyTorch's sort, not NumPy's in-place one), with PyTorch's gradients: real torch.func is
the oracle, in float64."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

_X = np.array([[0.5, -1.0, 2.0, 0.25], [3.0, 1.5, -2.0, -0.75], [1.25, -0.5, 0.75, 2.5]])
_R = np.array([[0.5, -1.0, 0.5, 2.0, -1.0], [3.0, 1.5, 3.0, 1.5, 0.25]])  # ties for mode
_A = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, -0.25], [0.5, -0.25, 2.0]])  # symmetric positive definite

# name, function of (module, x) giving a tuple, input
CASES = [
    ("sort", lambda t, x: t.sort(x), _X),
    ("sort_descending", lambda t, x: t.sort(x, 0, descending=True), _X),
    ("sort_method", lambda t, x: x.sort(), _X),
    ("max_dim", lambda t, x: t.max(x * x, 0), _X),
    ("min_dim", lambda t, x: t.min(x, 1, keepdim=True), _X),
    ("max_method", lambda t, x: x.max(1), _X),
    ("topk", lambda t, x: t.topk(x, 2), _X),
    ("kthvalue", lambda t, x: t.kthvalue(x, 2, 1), _X),
    ("median_dim", lambda t, x: t.median(x, 1), _X),
    ("nanmedian_dim", lambda t, x: t.nanmedian(x, 0), _X),
    ("mode", lambda t, x: t.mode(x, 1), _R),
    ("mode_dim0", lambda t, x: t.mode(x, 0), _R),
    ("cummax", lambda t, x: t.cummax(x, 1), _X),
    ("cummin", lambda t, x: t.cummin(x, 0), _X),
    ("var_mean", lambda t, x: t.var_mean(x, 1), _X),
    ("std_mean", lambda t, x: t.std_mean(x, 0), _X),
    ("aminmax", lambda t, x: t.aminmax(x, dim=1), _X),
    ("linalg_slogdet", lambda t, x: t.linalg.slogdet(x), _A),
    ("eigh", lambda t, x: t.linalg.eigh(x), _A),
    ("qr", lambda t, x: t.linalg.qr(x), _A),
    ("svd", lambda t, x: t.linalg.svd(x), _A),
    ("lu_factor", lambda t, x: t.linalg.lu_factor(x), _A),
    ("lstsq", lambda t, x: t.linalg.lstsq(x, t.ones(3, 2, dtype=t.float64)), _A),
    ("lu", lambda t, x: t.linalg.lu(x), np.ascontiguousarray(_A[::-1])),
    ("cholesky_ex", lambda t, x: t.linalg.cholesky_ex(x), _A),
    ("inv_ex", lambda t, x: t.linalg.inv_ex(x), _A),
    ("frexp", lambda t, x: t.frexp(x), _X),
    ("frexp_method", lambda t, x: (x * 3.0).frexp(), _X),
    ("slogdet", lambda t, x: t.slogdet(x), _A),
    ("triangular_solve", lambda t, x: t.triangular_solve(t.ones(3, 2, dtype=t.float64), x), _A),
]


def _scalar(t, f):
    """A scalar of all the floating fields of ``f``'s result, each weighted differently."""
    def loss(x):
        out, total = f(t, x), 0.0
        for k, v in enumerate(out):
            if v.dtype.is_floating_point if hasattr(v.dtype, "is_floating_point") else v.dtype.kind == "f":
                total = total + (v * (k + 1.5)).sum() if k % 2 == 0 else total + ((v * v).sum() * 0.5)
        return total
    return loss


def _check_like(ours, theirs, what, signless=False):
    """``ours`` is a tuple of ``theirs``'s length, with its field names, and its values
    (eigenvectors, ``signless``, up to sign)."""
    assert isinstance(ours, tuple) and len(ours) == len(theirs), f"{what}: {type(ours).__name__}"
    for key, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        field = type(theirs).__match_args__[key] if hasattr(type(theirs), "__match_args__") else None
        if field is not None:
            assert getattr(ours, field) is a, f"{what}: no field {field}"
        a, b = np.asarray(a), b.detach().numpy()
        if signless:
            a, b = np.abs(a), np.abs(b)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("name, f, x", CASES, ids=[c[0] for c in CASES])
def test_tuple_results_under_transforms(name, f, x):
    tx, cx, signless = torch.tensor(x), cr.tensor(x), name == "eigh"
    _check_like(f(cr, cx), f(torch, tx), "eager", signless)
    _check_like(cr.jit(lambda v: f(cr, v))(cx), f(torch, tx), "cr.jit", signless)
    expected = torch.func.grad(_scalar(torch, f))(tx).numpy()
    np.testing.assert_allclose(cr.func.grad(_scalar(cr, f))(cx).numpy(), expected, rtol=1e-9, atol=1e-12)
    got = cr.func.jacrev(lambda v: f(cr, v)[0])(cx).numpy()
    np.testing.assert_allclose(got, torch.func.jacrev(lambda v: f(torch, v)[0])(tx).numpy(), rtol=1e-9, atol=1e-12)
    if "method" not in name:  # under chainrule's own grad, x.sort() is NumPy's in-place sort
        np.testing.assert_allclose(np.asarray(cr.grad(_scalar(cr, f))(cx)), expected, rtol=1e-9, atol=1e-12)
    square = x.shape[0] == x.shape[-1]  # a matrix to factor: kept positive-definite
    batch = np.stack([x, (x if square else x[::-1]) * 0.5 + 0.125])
    _check_like(cr.func.vmap(lambda v: f(cr, v))(cr.tensor(batch)),
                torch.func.vmap(lambda v: f(torch, v))(torch.tensor(batch)), "vmap", signless)


@pytest.mark.parametrize("name, matrix", [("cholesky_ex", -np.eye(2)), ("inv_ex", np.zeros((2, 2)))])
def test_ex_functions_refuse_what_does_not_factor(name, matrix):
    with pytest.raises(RuntimeError, match="order 1"):
        getattr(cr.linalg, name)(cr.tensor(matrix), check_errors=True)
    with pytest.raises(NotImplementedError, match="info 1"):
        getattr(cr.linalg, name)(cr.tensor(matrix))


def test_geqrf_is_lapacks():
    x = np.random.default_rng(0).normal(size=(2, 4, 3))
    expected = torch.geqrf(torch.tensor(x))
    _check_like(cr.geqrf(cr.tensor(x)), expected, "eager")
    _check_like(cr.jit(cr.geqrf)(cr.tensor(x)), expected, "cr.jit")
    _check_like(cr.geqrf(cr.tensor(x[0].T)), torch.geqrf(torch.tensor(x[0].T)), "wide")

"""PyTorch's top-level functions without a Tensor method (``torch.meshgrid``,
``torch.block_diag``, ``torch.svd``, ``torch.trapezoid``, ...) against torch 2.13:
values, dtypes, shapes, named-tuple fields and gradients."""

import warnings

import numpy as np
import pytest
import torch
from tests.numpy.torch_oracle import check_float32, compare

import chainrule as cr

rng = np.random.default_rng(11)
A = rng.normal(size=(3, 3)) + 3 * np.eye(3)
B = rng.normal(size=(2, 3, 3)) + 3 * np.eye(3)
V3, V4 = rng.normal(size=3), rng.normal(size=4)
M34 = rng.normal(size=(3, 4))
SPD = A @ A.T + np.eye(3)
Z = rng.normal(size=(2, 3)) + 1j * rng.normal(size=(2, 3))


def both(name, *fixed, **kwargs):
    return (lambda *a: getattr(cr, name)(*a, *fixed, **kwargs), lambda *a: getattr(torch, name)(*a, *fixed, **kwargs))


def listed(name, **kwargs):
    # functions taking one sequence of tensors
    return (lambda *a: getattr(cr, name)(list(a), **kwargs), lambda *a: getattr(torch, name)(list(a), **kwargs))


def _svd_loss(out, m):
    k = out.S.shape[-1]
    return (out.U[..., :k] * out.S[..., None, :] @ out.V[..., :k].mT).sum() + (out.S ** 3).sum()


def _qr_loss(out, m):
    return (out.Q @ out.R).sum() + (out.R ** 2).sum()


CASES = [
    # id, (ours, theirs), inputs, loss (None: every result, weighted)
    ("meshgrid-ij", both("meshgrid", indexing="ij"), [V3, V4], None),
    ("meshgrid-xy", both("meshgrid", indexing="xy"), [V3, V4], None),
    ("broadcast_tensors", both("broadcast_tensors"), [V4, M34[:, :1], np.array(2.0)], None),
    ("hstack", listed("hstack"), [M34, M34[:, :2]], None),
    ("hstack-1d", listed("hstack"), [V3, V4], None),
    ("vstack", listed("vstack"), [V4, M34], None),
    ("column_stack", listed("column_stack"), [V3, M34], None),
    ("dstack", listed("dstack"), [M34, M34], None),
    ("concatenate", listed("concatenate", axis=1), [M34, M34[:, :1]], None),
    ("atleast_1d", both("atleast_1d"), [np.array(3.0)], None),
    ("atleast_2d-many", both("atleast_2d"), [np.array(3.0), V3], None),
    ("atleast_3d", both("atleast_3d"), [M34], None),
    ("tensor_split-n", both("tensor_split", 3, dim=1), [M34], None),
    ("tensor_split-idx", both("tensor_split", [1, 3]), [V4], None),
    ("rot90", both("rot90", 3, [1, 0]), [M34], None),
    ("rot90-default", both("rot90"), [M34], None),
    ("block_diag", both("block_diag"), [A, V4, np.array(5.0)], None),
    ("cartesian_prod", both("cartesian_prod"), [V3, V4[:2]], None),
    ("cartesian_prod-one", both("cartesian_prod"), [V3], None),
    ("combinations", both("combinations"), [V4], None),
    ("combinations-r3-repl", both("combinations", r=3, with_replacement=True), [V3], None),
    ("combinations-none", both("combinations"), [V3[:1]], None),
    ("det", both("det"), [B], None),
    ("inverse", both("inverse"), [A], None),
    ("pinverse", both("pinverse"), [M34], None),
    ("matrix_power", both("matrix_power", 3), [A], None),
    ("slogdet", both("slogdet"), [B], None),
    ("logdet", both("logdet"), [SPD], None),
    ("logdet-negative", both("logdet"), [np.diag([-1.0, 2.0])], None),
    ("cholesky", both("cholesky"), [SPD], None),
    ("cholesky-upper", both("cholesky", True), [SPD], None),
    ("qr", both("qr"), [M34.T], _qr_loss),
    ("qr-complete", both("qr", some=False), [A], _qr_loss),
    ("svd", both("svd"), [M34], _svd_loss),
    ("svd-full", both("svd", some=False), [M34.T.copy()], _svd_loss),
    ("complex", both("complex"), [V3, V3[::-1].copy()], None),
    ("polar", both("polar"), [np.abs(V3), V3], None),
    ("view_as_real", both("view_as_real"), [Z], None),
    ("view_as_complex", both("view_as_complex"), [M34.reshape(3, 2, 2)], None),
    ("sgn-real", both("sgn"), [np.array([-2.0, 0.0, 3.0])], None),
    ("sgn-complex", both("sgn"), [np.array([0j, 3 + 4j, -1j])], None),
    ("conj_physical", both("conj_physical"), [Z], None),
    ("resolve_conj", both("resolve_conj"), [Z], None),
    ("resolve_neg", both("resolve_neg"), [Z], None),
    ("adjoint", both("adjoint"), [Z], None),
    ("signbit", both("signbit"), [np.array([-0.0, 0.0, -1.0, np.inf, -np.nan])], None),
    ("float_power", both("float_power", 2.5), [np.abs(V4)], None),
    ("float_power-tensor", both("float_power"), [np.abs(V4) + 0.5, V4], None),
    ("logcumsumexp", both("logcumsumexp", 1), [np.array([[-1000.0, 0.0, 3.0], [1.0, 1.0, -np.inf]])], None),
    ("vdot", both("vdot"), [V3, V3[::-1].copy()], None),
    ("baddbmm", both("baddbmm", beta=0.5, alpha=2.0), [B[:, :, :2], B, B[:, :, :2].copy()], None),
    ("baddbmm-beta0", both("baddbmm", beta=0), [np.full((2, 3, 3), np.nan), B, B], None),
    ("chain_matmul", both("chain_matmul"), [M34, M34.T.copy(), A], None),
    ("trapezoid", both("trapezoid"), [M34], None),
    ("trapezoid-x", both("trapezoid"), [M34, np.array([0.0, 0.5, 2.0, 2.5])], None),
    ("trapezoid-dx", both("trapezoid", dx=0.3, dim=0), [M34], None),
    ("trapz", both("trapz"), [M34], None),
    ("cumulative_trapezoid", both("cumulative_trapezoid"), [M34], None),
    ("cumulative_trapezoid-x", both("cumulative_trapezoid"), [M34, np.array([0.0, 0.5, 2.0, 2.5])], None),
    ("cumulative_trapezoid-dx", both("cumulative_trapezoid", dx=0.5, dim=0), [M34], None),
    ("pdist", both("pdist"), [M34], None),
    ("pdist-p1", both("pdist", p=1), [M34], None),
    ("pdist-repeated-row", both("pdist"), [np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]])], None),
    ("pdist-inf", both("pdist", p=float("inf")), [M34], None),
    ("cosine_similarity", both("cosine_similarity"), [M34, M34[::-1].copy()], None),
    ("pairwise_distance", both("pairwise_distance"), [M34, M34[::-1].copy()], None),
    ("std_mean", both("std_mean"), [M34], None),
    ("std_mean-dim", both("std_mean", 1, keepdim=True), [M34], None),
    ("var_mean-correction", both("var_mean", 0, correction=0), [M34], None),
    ("var_mean-unbiased", both("var_mean", 1, False), [M34], None),
]


@pytest.mark.parametrize(("case", "functions", "inputs", "loss"), CASES, ids=[c[0] for c in CASES])
def test_against_torch(case, functions, inputs, loss):
    ours, theirs = functions
    compare(ours, theirs, inputs, loss=loss, rtol=1e-9, atol=1e-12)
    if all(np.asarray(a).dtype.kind == "f" for a in inputs):
        check_float32(ours, theirs, inputs)


@pytest.mark.parametrize(("a", "b"), [("int64", "float32"), ("uint8", "int8"), ("bool", "int32"),
                                      ("float32", "complex64"), ("float16", "float64"), ("int16", "bool")])
def test_dtype_queries(a, b):
    ta, tb = getattr(torch, a), getattr(torch, b)
    assert cr.promote_types(a, b) == np.dtype(str(torch.promote_types(ta, tb)).removeprefix("torch."))
    assert cr.can_cast(a, b) == torch.can_cast(ta, tb)
    assert cr.can_cast(b, a) == torch.can_cast(tb, ta)
    x = np.ones(2, a)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # chainrule's floating dtype of new Tensors from numbers
    try:
        expected = str(torch.result_type(torch.tensor(x), 2.5)).removeprefix("torch.")
    finally:
        torch.set_default_dtype(default)
    assert cr.result_type(cr.tensor(x), 2.5) == np.dtype(expected)


@pytest.mark.parametrize("kwargs", [{}, {"N": 5, "increasing": True}, {"N": 2}])
def test_vander(kwargs):
    # values against PyTorch; its vander's backward fails in 2.13 (an in-place write it
    # checks itself), so the gradient against central differences
    ours, theirs = cr.vander(V3, **kwargs), torch.vander(torch.tensor(V3), **kwargs)
    np.testing.assert_allclose(np.asarray(ours), theirs.numpy(), rtol=1e-12)
    W = rng.normal(size=tuple(theirs.shape))
    x = cr.tensor(V3, requires_grad=True)
    (cr.vander(x, **kwargs) * cr.tensor(W)).sum().backward()
    f = lambda v: (torch.vander(torch.tensor(v), **kwargs).numpy() * W).sum()  # noqa: E731
    expected = [(f(V3 + e) - f(V3 - e)) / 2e-6 for e in np.eye(3) * 1e-6]
    np.testing.assert_allclose(np.asarray(x.grad), expected, rtol=1e-6)


def test_meshgrid_without_indexing_warns_as_pytorch_and_uses_ij():
    with pytest.warns(UserWarning, match="indexing"):
        x, _ = cr.meshgrid(cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0, 5.0]))
    assert x.shape == (2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert torch.meshgrid(torch.ones(2), torch.ones(3))[0].shape == (2, 3)


def test_svd_without_uv_and_named_fields():
    ours, theirs = cr.svd(M34, compute_uv=False), torch.svd(torch.tensor(M34), compute_uv=False)
    assert ours._fields == theirs.__match_args__ == ("U", "S", "V")
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(np.asarray(a), b.numpy(), atol=1e-12)
    assert cr.slogdet(A)._fields == ("sign", "logabsdet")
    assert cr.qr(A)._fields == ("Q", "R")


def test_bad_inputs_are_refused_with_the_reason():
    with pytest.raises(TypeError, match="complex"):
        cr.view_as_real(cr.ones(2))
    with pytest.raises(ValueError, match="size 2"):
        cr.view_as_complex(cr.ones(2, 3))
    with pytest.raises(TypeError, match="one dtype"):
        cr.complex(cr.ones(2, dtype=cr.float32), cr.ones(2, dtype=cr.float64))
    with pytest.raises(ValueError, match="2-d"):
        cr.pdist(cr.ones(3))
    with pytest.raises(ValueError, match="non-negative p"):  # (PyTorch's RuntimeError)
        cr.pdist(cr.ones(3, 2), p=-1)
    with pytest.raises(TypeError, match="not both"):
        cr.trapezoid(cr.ones(3), cr.ones(3), dx=0.1)


def test_results_are_eager_tensors_for_plain_inputs():
    for result in (cr.block_diag(np.ones((1, 1)), np.ones(2)), cr.signbit(np.array([-1.0])), cr.vander([1, 2]),
                   *cr.meshgrid([1, 2], [3], indexing="ij"), cr.combinations([1, 2, 3])):
        assert isinstance(result, cr.Tensor)


def test_complex_sets_the_parts_without_arithmetic():
    # a real part of -0.0 keeps its sign (angle π), an infinite imaginary part leaves the
    # real part finite, as PyTorch's (re + 1j·im gave angle 0 and a NaN real part)
    re, im = [-0.0, 1.0, 2.0], [0.0, float("inf"), -0.0]
    ours = cr.complex(cr.tensor(re, dtype=cr.float32), cr.tensor(im, dtype=cr.float32))
    theirs = torch.complex(torch.tensor(re), torch.tensor(im))
    assert ours.dtype == cr.complex64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(np.signbit(ours.numpy().real), np.signbit(theirs.numpy().real))
    np.testing.assert_array_equal(np.signbit(ours.numpy().imag), np.signbit(theirs.numpy().imag))
    np.testing.assert_allclose(ours.angle().numpy(), theirs.angle().numpy())
    w = np.array([[1 + 2j, 3 - 1j, 0.5j]])
    compare(lambda r, i: cr.complex(r, i) * cr.tensor(w), lambda r, i: torch.complex(r, i) * torch.tensor(w),
            [rng.normal(size=(2, 3)), rng.normal(size=(2, 3))])
    compare(lambda x: cr.view_as_complex(x), lambda x: torch.view_as_complex(x), [rng.normal(size=(3, 2))])


def test_conjugates_are_computed_so_there_is_no_lazy_bit_to_resolve():
    grads = []
    for lib in (cr, torch):
        z = lib.tensor(Z, requires_grad=True)
        c = z.clone()
        assert c.conj_physical_() is c and not lib.is_conj(c) and not c.is_neg()
        (c * lib.tensor(Z)).real.sum().backward()
        grads.append(z.grad.numpy())
        x = lib.tensor(V3)
        assert lib.conj_physical(x) is x and x.resolve_conj() is x  # a real Tensor itself, as PyTorch's
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-14)

"""Products (dot, vdot, inner, outer, matmul, tensordot, einsum, kron, cross): both modes
against finite differences, to second order, in every calling form; values against
NumPy; gradients against PyTorch."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

# NumPy 2 deprecates 2-vectors in np.cross; the reference values still use them.
pytestmark = pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors:DeprecationWarning")

rng = np.random.default_rng(0)


def normal(*shape):
    return rng.standard_normal(shape)


def cnormal(*shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


# name: (function, [shapes of the arguments, one tuple per case])
PRODUCTS = {
    "dot": (cnp.dot, [
        ((), ()), ((), (3,)), ((2, 3), ()), ((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 2)),
        ((3, 4), (4, 2)), ((2, 3, 4), (4,)), ((2, 3, 4), (5, 4, 2)), ((3,), (2, 3, 4)),
    ]),
    "vdot": (cnp.vdot, [((4,), (4,)), ((2, 3), (3, 2)), ((2, 3), (6,))]),
    "inner": (cnp.inner, [
        ((), ()), ((3,), ()), ((4,), (4,)), ((2, 4), (4,)), ((2, 4), (3, 4)), ((2, 3, 4), (5, 4)),
    ]),
    "outer": (cnp.outer, [((3,), (4,)), ((2, 2), (3,)), ((), (3,))]),
    "matmul": (cnp.matmul, [
        ((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 2)), ((3, 4), (4, 2)), ((2, 3, 4), (4,)),
        ((4,), (2, 4, 3)), ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((1, 3, 4), (2, 4, 2)),
    ]),
    "tensordot_1": (lambda a, b: cnp.tensordot(a, b, axes=1),
                    [((3, 4), (4, 2)), ((2, 3, 4), (4,))]),
    "tensordot_0": (lambda a, b: cnp.tensordot(a, b, axes=0), [((3,), (2, 2)), ((), (3,))]),
    "tensordot_2": (cnp.tensordot, [((2, 3, 4), (3, 4, 5)), ((3, 4), (3, 4))]),
    "tensordot_pairs": (lambda a, b: cnp.tensordot(a, b, axes=([1, 0], [0, 2])),
                        [((3, 2, 4), (2, 5, 3))]),
    "tensordot_negative": (lambda a, b: cnp.tensordot(a, b, axes=([-1], [-2])),
                           [((3, 4), (2, 4, 5))]),
    "kron": (cnp.kron, [((2, 3), (3, 2)), ((3,), (2, 2)), ((2, 2), (3,)), ((), (3,)),
                        ((1, 2), (2, 1, 2))]),
    "cross": (cnp.cross, [((3,), (3,)), ((4, 3), (3,)), ((2, 1, 3), (4, 3)), ((4, 2), (4, 2)),
                          ((2,), (3,)), ((3,), (4, 2))]),
    "cross_axes": (lambda a, b: cnp.cross(a, b, axisa=0, axisb=1, axisc=0), [((3, 4), (4, 3))]),
    "cross_axis": (lambda a, b: cnp.cross(a, b, axis=0),
                   [((3, 4), (3, 4)), ((3, 2, 2), (3, 1, 2))]),
    "vecdot": (cnp.vecdot, [((3, 4), (4,)), ((2, 1, 3), (4, 3))]),
}
if hasattr(np, "matvec"):  # NumPy 2.2 and later
    PRODUCTS["matvec"] = (cnp.matvec, [((3, 4), (4,)), ((2, 3, 4), (1, 4))])
    PRODUCTS["vecmat"] = (cnp.vecmat, [((3,), (3, 4)), ((2, 3), (1, 3, 4))])

CASES = [(name, shapes) for name, (_, cases) in PRODUCTS.items() for shapes in cases]


@pytest.mark.parametrize("name, shapes", CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_products(name, shapes):
    f = PRODUCTS[name][0]
    args = [normal(*s) for s in shapes]
    assert cr.gradcheck(f, *args, order=2)


@pytest.mark.parametrize("name, shapes", CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_products_value_and_gradient_shape(name, shapes):
    f = PRODUCTS[name][0]
    args = [normal(*s) for s in shapes]
    out, pull = cr.vjp(f, *args)
    expected = f(*args)  # plain arrays: NumPy's own result
    assert np.allclose(out, expected)
    grads = pull(np.ones_like(np.asarray(expected)))
    for g, x in zip(grads, args, strict=True):
        assert np.shape(g) == np.shape(x)


COMPLEX = ["dot", "vdot", "inner", "outer", "matmul", "tensordot_2", "kron", "cross", "vecdot"]


@pytest.mark.parametrize("name", COMPLEX)
def test_products_complex(name):
    f, cases = PRODUCTS[name]
    args = [cnormal(*s) for s in cases[-1]]
    assert cr.gradcheck(f, *args, order=2)


@pytest.mark.parametrize("shapes", [((3, 4), (4,)), ((4,), (4, 2))])
@pytest.mark.parametrize("kinds", ["cc", "rc", "cr"])
def test_matmul_of_a_vector_and_a_matrix_complex(shapes, kinds):
    # the vector-and-matrix rules (outer product, matrix-vector product), with a real
    # operand's cotangent projected to real when the other one is complex
    args = [cnormal(*s) if k == "c" else normal(*s) for s, k in zip(shapes, kinds, strict=True)]
    assert cr.gradcheck(cnp.matmul, *args, order=2)
    _, pull = cr.vjp(cnp.matmul, *args)
    g = cnormal(*np.shape(np.matmul(*args)))
    got = pull(g)
    for k, (x, gx) in enumerate(zip(args, got, strict=True)):
        assert np.iscomplexobj(gx) == np.iscomplexobj(x)
        # the transpose convention: d/dx of sum(g * (x @ y)) with no conjugation
        other = args[1 - k]
        want = (np.multiply.outer(g, other) if k == 0 and other.ndim == 1 else
                g @ other.T if k == 0 else
                np.multiply.outer(args[0], g) if args[0].ndim == 1 else args[0].T @ g)
        assert np.allclose(gx, want if np.iscomplexobj(x) else want.real)


def test_vdot_conjugates_its_first_argument():
    a, b = cnormal(3), cnormal(3)
    _, pull = cr.vjp(cnp.vdot, a, b)
    ga, gb = pull(1.0 + 0j)
    # JAX's convention: the cotangent of Σ conj(a) b is conj(b) for a and conj(a) for b
    assert np.allclose(ga, np.conj(b)) and np.allclose(gb, np.conj(a))


# (subscripts, shapes): '...', implicit outputs, repeated indices, broadcasting, sums
EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("ij,jk", [(3, 4), (4, 2)]),
    ("ji", [(3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->ji", [(3, 3, 2)]),
    ("iji->j", [(2, 3, 2)]),
    ("ij->", [(3, 4)]),
    ("ijk,jl->il", [(2, 3, 4), (3, 5)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("ij,jk->ik", [(2, 1), (3, 4)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(1, 3, 4), (2, 4, 2)]),
    ("...ij,...jk", [(2, 3, 4), (4, 5)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("...i,...i", [(2, 3), (3,)]),
    ("i...->...", [(3, 2, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("bi,bj,bk->ijk", [(5, 2), (5, 3), (5, 2)]),
    ("ij,ji->", [(3, 3), (3, 3)]),
    ("ii,i->i", [(3, 3), (3,)]),
    ("aB,Bc->ac", [(2, 3), (3, 2)]),
]


@pytest.mark.parametrize("subscripts, shapes", EINSUM, ids=[s for s, _ in EINSUM])
def test_einsum(subscripts, shapes):
    args = [normal(*s) for s in shapes]
    f = lambda *a: cnp.einsum(subscripts, *a)
    assert cr.gradcheck(f, *args, order=2)
    # the value under differentiation is NumPy's
    out, _ = cr.vjp(f, *args)
    assert np.allclose(out, np.einsum(subscripts, *args))


def test_einsum_optimize_and_sublists():
    a, b, c = normal(2, 3), normal(3, 4), normal(4, 2)
    assert cr.gradcheck(lambda x, y, z: cnp.einsum("ij,jk,kl->il", x, y, z, optimize=True), a, b, c)
    f = lambda x, y: cnp.einsum(x, [0, 1], y, [1, 2], [0, 2])
    assert cr.gradcheck(f, a, b)
    assert np.allclose(cr.vjp(f, a, b)[0], a @ b)
    g = lambda x: cnp.einsum(x, [Ellipsis, 0, 0], [Ellipsis, 0])
    assert np.allclose(cr.vjp(g, normal(2, 3, 3))[0].shape, (2, 3))


def test_einsum_complex():
    a, b = cnormal(2, 3), cnormal(3, 3)
    assert cr.gradcheck(lambda x, y: cnp.einsum("ij,jj->ij", x, y), a, b)


def test_einsum_errors_as_numpy():
    x, y = normal(2, 3), normal(3)
    with pytest.raises(ValueError):
        cr.grad(lambda a: cnp.sum(cnp.einsum("...i,...i->i", a, y)))(x)
    with pytest.raises(ValueError):
        cr.grad(lambda a: cnp.sum(cnp.einsum("ijk", a)))(x)


def test_numpy_functions_dispatch():
    a, b = normal(3, 4), normal(4)
    f = lambda x: (np.dot(x, b) @ np.einsum("ij->i", x) + np.inner(x, x).sum()
                   + np.tensordot(x, x, axes=2) + np.kron(x, b).sum() + np.outer(x, b).sum()
                   + np.vdot(x, x) + np.cross(x[:, :3], b[:3]).sum())
    assert cr.gradcheck(f, a)


def test_float32_stays_float32():
    a, b = normal(3, 4).astype(np.float32), normal(4, 2).astype(np.float32)
    for f in (cnp.dot, cnp.matmul, lambda x, y: cnp.einsum("ij,jk->ik", x, y), cnp.tensordot):
        axes = 1 if f is cnp.tensordot else None
        h = (lambda x, y, f=f: f(x, y, axes=1)) if axes else f
        ga, gb = cr.grad(lambda x, y, h=h: cnp.sum(h(x, y)), (0, 1))(a, b)
        assert ga.dtype == np.float32 and gb.dtype == np.float32


def test_against_torch():
    torch = pytest.importorskip("torch")
    a, b, c = normal(2, 3, 4), normal(4, 5), normal(2, 3, 5)
    f = lambda x, y: (cnp.sum(cnp.einsum("bij,jk->bik", x, y) * c)
                      + cnp.sum(cnp.tensordot(x, y, 1) ** 2))
    ga, gb = cr.grad(f, (0, 1))(a, b)
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a, b))
    out = ((torch.einsum("bij,jk->bik", ta, tb) * torch.tensor(c)).sum()
           + (torch.tensordot(ta, tb, 1) ** 2).sum())
    out.backward()
    assert np.allclose(ga, ta.grad.numpy()) and np.allclose(gb, tb.grad.numpy())

    x, y = normal(4, 3), normal(3)
    g = cr.grad(lambda p: cnp.sum(cnp.cross(p, y) ** 2) + cnp.sum(cnp.kron(p, p)))(x)
    tx = torch.tensor(x, requires_grad=True)
    crossed = torch.cross(tx, torch.tensor(y).expand(4, 3), dim=-1)
    (crossed.pow(2).sum() + torch.kron(tx, tx).sum()).backward()
    assert np.allclose(g, tx.grad.numpy())


# Lists holding traced entries, as programs written for autograd build them: NumPy's value,
# derivatives against finite differences.
LIST_OPERANDS = {
    "einsum": lambda m, x: m.einsum("i,i->", [x[0], x[1]], [x[1], x[2]]),
    "einsum_sublists": lambda m, x: m.einsum([x[0], x[1]], [0], [x[1], 2.0], [0], []),
    "kron": lambda m, x: m.kron([x[0], 1.0], [x[1], x[2]]),
    "vecdot": lambda m, x: m.vecdot([x[0], x[1]], [1.0, x[2]]),
    "matvec": lambda m, x: m.matvec([[x[0], x[1]], [1.0, x[2]]], [1.0, 2.0]),
    "vecmat": lambda m, x: m.vecmat([1.0, 2.0], [[x[0], x[1]], [1.0, x[2]]]),
    "cross": lambda m, x: m.cross([x[0], x[1], 1.0], x),
    "cross_second": lambda m, x: m.cross(x[::-1], [x[0], 2.0, x[1]]),
    "dot": lambda m, x: m.dot([x[0], x[1]], [1.0, 2.0]),
    "tensordot": lambda m, x: m.tensordot([x[0], x[1]], [1.0, x[2]], 1),
}


@pytest.mark.parametrize("name", sorted(LIST_OPERANDS))
def test_lists_holding_traced_entries(name):
    call = LIST_OPERANDS[name]
    if not hasattr(np, name.split("_")[0]):
        pytest.skip(f"this NumPy has no {name}")
    x = np.array([0.3, -1.2, 0.7])
    np.testing.assert_allclose(cr.vjp(lambda a: call(cnp, a), x)[0], call(np, x), rtol=1e-15)
    assert cr.gradcheck(lambda a: call(cnp, a), x, order=2)

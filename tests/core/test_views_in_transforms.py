"""In-place changes through views inside the transforms (grad, jvp, vmap, hessian, and
chainrule.func's), both ways: a change of a view reaches its base, and a change of the
base shows through its views, for every operation that PyTorch makes a view with (and
NumPy, for code written with chainrule.numpy); a copy (advanced indexing, a reshape of a
transposed view) stays a copy.

Each program is written once for a namespace ``T`` (torch or chainrule) and run with
torch.func's transforms as the oracle; the NumPy programs run with NumPy itself, their
gradients checked against central differences of the NumPy program.
"""

import numpy as np
import pytest
from tests.finite_differences import central_differences

import chainrule as cr
import chainrule.func as crf
import chainrule.numpy as cnp

torch = pytest.importorskip("torch")
tf = torch.func

pytestmark = pytest.mark.usefixtures("one_torch_thread")

X = np.array([[0.3, 0.7, -0.4], [1.1, 0.2, 0.9]])
BATCH = np.stack([X, -0.5 * X, X[::-1]])
DIRECTION = np.array([[1.0, -2.0, 0.5], [0.25, 0.1, -0.3]])

# (T, x) -> a number; x is 2 x 3
PROGRAMS = {
    "view": lambda T, x: _then(x * 1, lambda y: y.view(3, 2).mul_(2)),
    "t": lambda T, x: _then(x.clone(), lambda y: y.t().add_(1)),
    "transpose row": lambda T, x: _then(x.clone(), lambda y: y.transpose(0, 1)[0].mul_(x[0, 0])),
    "reshape of contiguous": lambda T, x: _then(x.clone(), lambda y: y.reshape(-1)[:2].sigmoid_()),
    "reshape of transposed copies": lambda T, x: _then(x * 2, lambda y: y.t().reshape(-1).mul_(5)),
    "view of a copy": lambda T, x: _copy_then_view(x),
    "permute": lambda T, x: _then(x * 2, lambda y: y.permute(1, 0)[1].mul_(3)),
    "unsqueeze": lambda T, x: _then(x * 2, lambda y: y.unsqueeze(0).mul_(x)),
    "squeeze": lambda T, x: _then(x[None] * 2, lambda y: y.squeeze().exp_()),
    "squeeze dim": lambda T, x: _then(x[None] * 2, lambda y: y.squeeze(0).tanh_()),
    "zero_ of the base": lambda T, x: _then(x * 2, lambda y: y.zero_()),
    "diagonal fill_": lambda T, x: _then(x * 2, lambda y: y.diagonal().fill_(0)),
    "diagonal mul_": lambda T, x: _then(x * 2, lambda y: y.diagonal().mul_(x[0, 1])),
    "narrow": lambda T, x: _then(x * 2, lambda y: y.narrow(1, 1, 2).mul_(x[:, :2])),
    "select": lambda T, x: _then(x * 2, lambda y: y.select(0, 1).add_(x[0])),
    "movedim": lambda T, x: _then(x * 2, lambda y: y.movedim(0, 1)[2].mul_(5)),
    "flatten": lambda T, x: _then(x * 2, lambda y: y.flatten()[1:3].mul_(5)),
    "unflatten": lambda T, x: _then(x * 2, lambda y: y.reshape(-1).unflatten(0, (3, 2))[1].mul_(5)),
    "view_as": lambda T, x: _then(x * 2, lambda y: y.view_as(x.reshape(-1)).mul_(x.reshape(-1))),
    "swapaxes": lambda T, x: _then(x * 2, lambda y: y.swapaxes(0, 1)[0].mul_(3)),
    "T": lambda T, x: _then(x * 2, lambda y: y.T[0].mul_(3)),
    "mT": lambda T, x: _then(x * 2, lambda y: y.mT[0].mul_(3)),
    "setitem into view": lambda T, x: _then(x * 2, lambda y: y.view(-1).__setitem__(1, x[1, 1])),
    "setitem into t": lambda T, x: _then(x * 2, lambda y: y.t().__setitem__((1, 0), 7.0)),
    "advanced index copies": lambda T, x: _then(x * 2, lambda y: y[[0, 1]].mul_(5)),
    "mask copies": lambda T, x: _then(x * 2, lambda y: y[y > 1].mul_(5)),
    "base to view": lambda T, x: _base_then_view(x, lambda y: y.view(-1)),
    "base to t": lambda T, x: _base_then_view(x, lambda y: y.t()[1:]),
    "base to diagonal and permute": lambda T, x: _base_to_several(x),
    "real and imag": lambda T, x: _parts(T, x),
    "base to imag": lambda T, x: _base_then_view(T.complex(x, x * x), lambda y: y.imag),
    "detach": lambda T, x: _then(x * 2, lambda y: y.detach().mul_(5)),
    "base to detach": lambda T, x: _base_then_view(x, lambda y: y.detach()),
    "detach of the argument": lambda T, x: _then(x, lambda y: y.detach().mul_(2)),
}

# x.flatten() and x.detach() are NumPy's inside chainrule's own transforms (a copy, a
# plain array); chainrule.func's transforms give them PyTorch's meaning
NUMPY_MEANING = {"flatten", "detach", "base to detach", "detach of the argument"}

# torch.func.grad refuses a change of a view that split, chunk or unbind made (chainrule
# allows it, as its eager layer does); the transforms without a backward pass take it
PIECES = {
    "split": lambda T, x: _then(x * 2, lambda y: y.split(1)[1].mul_(3)),
    "split sizes": lambda T, x: _then(x * 2, lambda y: y.split([1, 2], dim=1)[1].mul_(x[:, 1:])),
    "chunk": lambda T, x: _then(x * 2, lambda y: y.chunk(2)[0].sin_()),
    "unbind": lambda T, x: _then(x * 2, lambda y: y.unbind(0)[1].mul_(3)),
    "base to unbind": lambda T, x: _base_then_view(x, lambda y: y.unbind(1)[2]),
}


def _then(y, change):
    x = _then.x
    change(y)
    return (y * x).sum()


def _copy_then_view(x):
    y = x * 2
    z = y.t().reshape(-1)  # a copy: the views of z are not y's
    z[:2].mul_(5)
    return (z * z).sum() + (y * x).sum()


def _parts(T, x):
    y = T.complex(x, x * x) * 1
    y.real.mul_(3)
    y.imag.add_(x)
    return (y * y.conj()).real.sum()


def _base_then_view(x, view):
    y = x * 2
    v = view(y)
    y.mul_(_then.x)
    y.add_(1)
    return (v * v).sum()


def _base_to_several(x):
    y = x * 2
    p, d = y.permute(1, 0), y.diagonal()
    y.mul_(x)
    p.add_(1)
    return (d * x[0, :2]).sum() + (y * y).sum()


def _bound(program, T):
    def f(x):
        _then.x = x
        return program(T, x)
    return f


def _numpy(result):
    if isinstance(result, tuple):
        return tuple(_numpy(r) for r in result)
    return np.asarray(result.detach().numpy() if hasattr(result, "detach") else result)


def _torch(kind, program):
    f = _bound(program, torch)
    t = torch.tensor
    if kind in ("func.grad", "grad"):
        return tf.grad(f)(t(X))
    if kind in ("func.vmap", "vmap"):
        return tf.vmap(f)(t(BATCH))
    if kind in ("func.jvp", "jvp"):
        return tf.jvp(f, (t(X),), (t(DIRECTION),))
    if kind == "func.vmap(grad)":
        return tf.vmap(tf.grad(f))(t(BATCH))
    if kind == "func.jacrev":
        return tf.jacrev(f)(t(X))
    return tf.hessian(f)(t(X))


def _fresh(a):
    return cr.tensor(a.copy())  # (a program may change its argument)


def _chainrule(kind, program):
    f = _bound(program, cr)
    t = _fresh
    return {
        "func.grad": lambda: crf.grad(f)(t(X)),
        "func.vmap": lambda: crf.vmap(f)(t(BATCH)),
        "func.jvp": lambda: crf.jvp(f, (t(X),), (t(DIRECTION),)),
        "func.vmap(grad)": lambda: crf.vmap(crf.grad(f))(t(BATCH)),
        "func.jacrev": lambda: crf.jacrev(f)(t(X)),
        "grad": lambda: cr.grad(f)(X),
        "vmap": lambda: cr.vmap(f)(BATCH),
        "jvp": lambda: cr.jvp(f, (X,), (DIRECTION,)),
        "hessian": lambda: cr.hessian(f)(X),
    }[kind]()


def _agree(kind, program):
    expected, got = _numpy(_torch(kind, program)), _numpy(_chainrule(kind, program))
    for e, g in zip(expected if isinstance(expected, tuple) else (expected,),
                    got if isinstance(got, tuple) else (got,), strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)


KINDS = ["func.grad", "func.vmap", "func.jvp", "func.vmap(grad)", "func.jacrev", "grad", "vmap", "jvp", "hessian"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", PROGRAMS)
def test_changes_through_views_agree_with_torch_func(name, kind):
    if name in NUMPY_MEANING and not kind.startswith("func."):
        pytest.skip("NumPy's meaning of the method inside chainrule's own transforms")
    if name == "mask copies" and "vmap" in kind:
        pytest.skip("a mask's count differs between examples: refused by both under vmap")
    _agree(kind, PROGRAMS[name])


@pytest.mark.parametrize("kind", ["func.vmap", "func.jvp", "vmap", "jvp"])
@pytest.mark.parametrize("name", PIECES)
def test_changes_of_pieces_agree_with_torch_func(name, kind):
    _agree(kind, PIECES[name])


def test_change_of_a_piece_under_grad_is_that_of_views_made_one_at_a_time():
    pieces = _bound(lambda T, x: _then(x * 2, lambda y: y.split([1, 2], dim=1)[1].mul_(x[:, 1:])), cr)
    one_at_a_time = _bound(lambda T, x: _then(x * 2, lambda y: y.narrow(1, 1, 2).mul_(x[:, 1:])), torch)
    expected = tf.grad(one_at_a_time)(torch.tensor(X)).numpy()
    np.testing.assert_allclose(crf.grad(pieces)(cr.tensor(X)).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(cr.grad(pieces)(X), expected, rtol=1e-12)


def _expanded(T, x):
    y = x[0] * 2
    y.expand(2, 3).mul_(2)
    return (y * x).sum()


@pytest.mark.parametrize("kind", KINDS)
def test_change_of_an_expanded_view_is_refused_as_by_torch(kind):
    for run in (_torch, _chainrule):
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            run(kind, _expanded)


LEAVES = {
    "leaf": lambda T, x: _leaf_then(x, lambda: x.mul_(2)),
    "view of leaf": lambda T, x: _leaf_then(x, lambda: x.view(-1).mul_(2)),
    "setitem": lambda T, x: _leaf_then(x, lambda: x.__setitem__(0, 1.0)),
}


def _leaf_then(x, change):
    change()
    return (x * x).sum()


@pytest.mark.parametrize("kind", ["func.grad", "func.vmap(grad)", "func.jacrev"])
@pytest.mark.parametrize("name", LEAVES)
def test_change_of_the_differentiated_argument_is_refused_as_by_torch_func(name, kind):
    for run in (_torch, _chainrule):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad is being used in an in-place"):
            run(kind, LEAVES[name])


@pytest.mark.parametrize("kind", ["func.vmap", "func.jvp", "grad", "jvp"])
@pytest.mark.parametrize("name", LEAVES)
def test_change_of_the_argument_without_a_backward_pass_agrees(name, kind):
    # (chainrule's own grad takes the derivative in the argument as given, as for NumPy)
    if kind == "grad":
        np.testing.assert_allclose(_chainrule(kind, LEAVES[name]), central_differences(
            lambda v: float(_bound(LEAVES[name], cr)(cr.tensor(v))), X), rtol=1e-7, atol=1e-8)
    else:
        _agree(kind, LEAVES[name])


# chainrule.numpy code: NumPy's views (reshape where the layout allows, .T, transpose,
# swapaxes, expand_dims, ravel, diagonal, real, imag) share changes; flatten and advanced
# indexing copy
NUMPY_PROGRAMS = {
    "reshape": lambda np, x: _np_then(x, lambda y: y.reshape(3, 2).__iadd__(x.reshape(3, 2) ** 2)),
    "T": lambda np, x: _np_then(x, lambda y: y.T[0].__imul__(3.0)),
    "setitem into reshape": lambda np, x: _np_then(x, lambda y: np.reshape(y, (-1,)).__setitem__(
        slice(1, 3), np.sin(x[0, :2]))),
    "transpose": lambda np, x: _np_then(x, lambda y: np.transpose(y)[1].__iadd__(x[:, 0])),
    "expand_dims": lambda np, x: _np_then(x, lambda y: np.expand_dims(y, 0)[0, 1].__imul__(4.0)),
    "reshape of transposed copies": lambda np, x: _np_then(x, lambda y: y.T.reshape(-1).__iadd__(1.0)),
    "flatten copies": lambda np, x: _np_then(x, lambda y: y.flatten().__imul__(5.0)),
    "advanced index copies": lambda np, x: _np_then(x, lambda y: y[[0, 1]].__imul__(3.0)),
    "real and imag": lambda np, x: _np_parts(np, x),
    "base to ravel": lambda np, x: _np_base_then_view(x, np.ravel),
    "base to swapaxes": lambda np, x: _np_base_then_view(x, lambda y: np.swapaxes(y, 0, 1)),
    "base to diagonal": lambda np, x: _np_base_then_view(x, lambda y: np.diagonal(y[:, :2])),
}


def _np_then(x, change):
    y = x * 2.0
    change(y)
    return (y * x).sum()


def _np_parts(np, x):
    z = x * (1 + 2j)
    z.real = x ** 2
    z.imag += x
    z.T.imag[1] *= 3.0
    return np.abs(z).sum()


def _np_base_then_view(x, view):
    y = x * 2.0
    v = view(y)
    y *= x
    y[0] = y[1] ** 2
    return (v * v).sum()


@pytest.mark.parametrize("name", NUMPY_PROGRAMS)
def test_numpy_views_share_changes_as_numpys(name):
    program = NUMPY_PROGRAMS[name]
    value = program(np, X.copy())
    got, grad = cr.value_and_grad(lambda x: program(cnp, x))(X)
    assert got == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(grad, central_differences(lambda v: program(np, v.copy()), X), rtol=1e-6, atol=1e-7)
    batched = cr.vmap(lambda x: program(cnp, x))(BATCH)
    np.testing.assert_allclose(batched, [program(np, b.copy()) for b in BATCH], rtol=1e-12)
    tangent = cr.jvp(lambda x: program(cnp, x), (X,), (DIRECTION,))[1]
    assert tangent == pytest.approx(float((grad * DIRECTION).sum()), rel=1e-12)

"""In-place operations on values being transformed (grad, jvp, hessian, vmap).

Inside a transform, ``y.add_(1)`` returns a value nobody uses: the Tensor ``y`` itself
must take on the result, or the change is lost silently. Each program is checked against
the same program run eagerly (the in-place writes of plain Tensors, as PyTorch's) and its
derivative against central finite differences; PyTorch's ``torch.func`` is a second
oracle where it is installed.
"""

import numpy as np
import pytest
from tests.finite_differences import central_differences

import chainrule as cr
import chainrule.nn.functional as F

# y is an intermediate value (x scaled), changed in place, then read through another name
INPLACE = {
    "add_": lambda y: y.add_(0.5),
    "add_ alpha": lambda y: y.add_(y, alpha=0.25),
    "sub_": lambda y: y.sub_(0.25),
    "mul_": lambda y: y.mul_(y),
    "div_": lambda y: y.div_(3.0),
    "pow_": lambda y: y.pow_(3),
    "exp_": lambda y: y.exp_(),
    "tanh_": lambda y: y.tanh_(),
    "clamp_": lambda y: y.clamp_(min=0.2, max=1.3),
    "addcmul_": lambda y: y.addcmul_(y, y, value=0.5),
    "lerp_": lambda y: y.lerp_(y * y, 0.3),
    "relu inplace": lambda y: F.relu(y - 0.5, inplace=True),
    "iadd": lambda y: y.__iadd__(y * y),
    "imul": lambda y: y.__imul__(2.0),
    "twice": lambda y: (y.mul_(2.0), y.sin_()),
}

X = np.array([0.3, 0.7, -0.4, 1.1])


def program(change):
    def f(x):
        y = x * 1.5
        alias = y
        change(y)
        return (alias * alias * x).sum()
    return f


def eager_value(f, x) -> float:
    return float(f(cr.tensor(np.array(x, dtype=float))))


def eager_differences(f, x):
    return central_differences(lambda v: eager_value(f, v), x)


@pytest.mark.parametrize("name", INPLACE)
def test_grad_sees_the_change(name):
    f = program(INPLACE[name])
    value, grad = cr.value_and_grad(f)(X)
    assert value == pytest.approx(eager_value(f, X), rel=1e-14)
    np.testing.assert_allclose(grad, eager_differences(f, X), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", INPLACE)
def test_forward_mode_and_hessian_see_the_change(name):
    f = program(INPLACE[name])
    direction = np.array([1.0, -2.0, 0.5, 0.25])
    value, tangent = cr.jvp(f, (X,), (direction,))
    assert value == pytest.approx(eager_value(f, X), rel=1e-14)
    assert tangent == pytest.approx(cr.grad(f)(X) @ direction, rel=1e-12)
    g = cr.grad(f)
    h = 1e-5
    column = (g(X + h * direction) - g(X - h * direction)) / (2 * h)
    np.testing.assert_allclose(cr.hessian(f)(X) @ direction, column, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", INPLACE)
def test_vmap_sees_the_change(name):
    f = program(INPLACE[name])
    batch = np.stack([X, X[::-1], X * 0.5])
    np.testing.assert_allclose(cr.vmap(f)(batch), [eager_value(f, row) for row in batch], rtol=1e-14)
    np.testing.assert_allclose(cr.vmap(cr.grad(f))(batch), [cr.grad(f)(row) for row in batch], rtol=1e-14)


def test_argument_changed_in_place_keeps_its_derivative():
    # the derivative is in the argument as given, not in what the function made of it
    def f(x):
        x.mul_(3.0)
        return (x * x).sum()
    np.testing.assert_allclose(cr.grad(f)(X), 18 * X, rtol=1e-14)
    np.testing.assert_allclose(cr.vmap(cr.grad(f))(np.stack([X, -X])), [18 * X, -18 * X], rtol=1e-14)


def test_in_place_keeps_shape_and_dtype():
    def grows(x):
        y = x * 1.0
        y.add_(np.ones((2, x.shape[0])))
        return y.sum()
    with pytest.raises(RuntimeError, match="cannot change the shape"):
        cr.grad(grows)(X)

    def rebinds(x):  # s += v of a NumPy scalar, or one that broadcasts, rebinds s (as autograd)
        s = x.sum()
        first = s
        s += x
        y = x * 1.0
        y += np.ones((2, x.shape[0]))
        return (s * s).sum() + first + y.sum()
    total, n = X.sum(), X.size  # d/dx_j of sum_i (S + x_i)^2 + S + sum(2 x + 1), S = sum(x)
    np.testing.assert_allclose(cr.grad(rebinds)(X), 2 * (n + 1) * total + 2 * (total + X) + 3, rtol=1e-14)
    autograd = pytest.importorskip("autograd")
    np.testing.assert_allclose(cr.grad(rebinds)(X), autograd.grad(rebinds)(X), rtol=1e-14)

    def narrows(x):
        y = x.astype(np.float32)
        y += x  # float64 written into float32: stays float32, as NumPy's and PyTorch's
        return y
    assert cr.vmap(narrows)(np.stack([X, X])).dtype == np.float32


def test_agrees_with_torch_func():
    torch = pytest.importorskip("torch")
    from torch.func import grad, vmap

    def f(x):  # (in-place steps PyTorch allows: none changes a value its backward needs)
        y = x * x
        y.mul_(2.0)
        y.add_(0.5)
        y.sub_(x)
        return (y * x).sum()

    batch = np.stack([X, X[::-1]])
    expected = vmap(grad(f))(torch.tensor(batch)).numpy()
    np.testing.assert_allclose(cr.vmap(cr.grad(f))(batch), expected, rtol=1e-14)


def views_program(x):
    """Views made by basic indexing share the change, both ways, as PyTorch's."""
    y = x * 1.5
    y[0].add_(1.0)  # into the base
    v = y[1:]
    y.mul_(2.0)  # the view sees it
    v[0].sub_(0.25)  # and the base this
    y[..., 2:].tanh_()
    w = y[None, -1]
    w += 1.0
    y[1] = y[0] * 3.0
    return (y * v.sum() * x).sum() + w.sum()


def test_views_made_by_indexing_share_changes():
    batch = np.stack([X, -X, 2 * X])
    eager = [eager_value(views_program, row) for row in batch]
    np.testing.assert_allclose(cr.vmap(views_program)(batch), eager, rtol=1e-14)
    np.testing.assert_allclose(cr.grad(views_program)(X), eager_differences(views_program, X), rtol=1e-7)
    np.testing.assert_allclose(cr.vmap(cr.grad(views_program))(batch), [cr.grad(views_program)(r) for r in batch],
                               rtol=1e-14)
    value, tangent = cr.jvp(views_program, (X,), (np.ones(4),))
    assert value == pytest.approx(eager[0], rel=1e-14)
    assert tangent == pytest.approx(cr.grad(views_program)(X).sum(), rel=1e-12)
    torch = pytest.importorskip("torch")
    from torch.func import grad, vmap

    def legal(x):  # (the changes PyTorch's backward pass allows: no value it saved is changed)
        y = x * 1.5
        y[0].add_(1.0)
        v = y[1:]
        y.mul_(2.0)
        v[0].sub_(0.25)
        y[..., 2:].tanh_()
        return (y * v.sum() * x).sum()
    expected = vmap(grad(legal))(torch.tensor(batch)).numpy()
    np.testing.assert_allclose(cr.vmap(cr.grad(legal))(batch), expected, rtol=1e-13)

"""Edges of in-place writes and repeated backward passes, each against PyTorch in float64.

PyTorch refuses a second backward pass only through a node whose saved tensors the first
one freed; nodes that save none (clone, add, sum, views, slicing) can be gone through
again. An in-place write under ``no_grad()`` changes a value and leaves its graph alone.
"""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Ops whose nodes save no tensor in PyTorch: a second backward pass goes through them.
SAVE_NOTHING = {
    "clone": lambda t, x: x.clone(),
    "add": lambda t, x: x + 1,
    "add_tensor": lambda t, x: x + x,
    "sub": lambda t, x: x - x.detach(),
    "neg": lambda t, x: -x,
    "view": lambda t, x: x.view(3, 1),
    "transpose": lambda t, x: x.reshape(3, 1).t(),
    "slice": lambda t, x: x[1:],
    "expand": lambda t, x: x[None].expand(2, 3),
    "sum": lambda t, x: x.sum(),
    "cat": lambda t, x: t.cat([x, x + 1]),
    "stack": lambda t, x: t.stack([x, -x], 1),
    "clone_of_sum": lambda t, x: (x + 2).sum().clone(),
}
# Ops that save a tensor: refused the second time, with PyTorch's words.
SAVE_TENSORS = {
    "exp": lambda t, x: x.exp(),
    "square": lambda t, x: x * x,
    "sin": lambda t, x: x.sin(),
    "relu": lambda t, x: x.relu(),
    "clone_of_exp": lambda t, x: x.exp().clone(),
    "add_of_sin": lambda t, x: x.sin() + 1,
    "mul_number": lambda t, x: x * 3,  # (the number is saved)
    "div_number": lambda t, x: x / 2,
}


def _twice(lib, op, dtype):
    x = lib.ones(3, dtype=dtype, requires_grad=True)
    y = op(lib, x)
    y.sum().backward()
    (y * 2).sum().backward()
    return np.asarray(x.grad.detach() if lib is torch else x.grad)


@pytest.mark.parametrize("name", sorted(SAVE_NOTHING))
def test_second_backward_through_nodes_that_save_nothing(name):
    op = SAVE_NOTHING[name]
    np.testing.assert_allclose(_twice(cr, op, cr.float64), _twice(torch, op, torch.float64))


@pytest.mark.parametrize("name", sorted(SAVE_TENSORS))
def test_second_backward_through_saved_values_is_refused_as_in_torch(name):
    op = SAVE_TENSORS[name]
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        _twice(torch, op, torch.float64)
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        _twice(cr, op, cr.float64)


def test_second_backward_through_a_large_reduction_and_layouts():
    # large arrays are outlined (shape, dtype, layout), not kept: the gradient is unchanged
    a = np.arange(3000.0).reshape(50, 60) / 3000
    results = []
    for lib in (cr, torch):
        x = lib.tensor(a.T.copy().T if lib is cr else a, dtype=lib.float64, requires_grad=True)
        y = (x.reshape(60, 50) + x.t().reshape(60, 50)).sum()
        y.backward()
        (y * 3).backward()
        results.append(np.asarray(x.grad.detach() if lib is torch else x.grad))
    np.testing.assert_allclose(*results)


def test_second_backward_with_create_graph_through_nodes_that_save_nothing():
    results = []
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = x.clone() + 1
        y.sum().backward()
        (g,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)  # y*y saves y: recorded now
        g.sum().backward()  # through the second derivative
        results.append([g.detach().tolist(), x.grad.tolist()])
    np.testing.assert_allclose(*results)


# -- in-place writes under no_grad() inside the transforms --------------------------------
def _scaled_under_no_grad(lib):
    def f(x):
        y = x * 2
        with lib.no_grad():
            y.mul_(3)  # the value is 6x, the derivative of y stays 2
        return (y * x).sum()

    return f


def _view_scaled_under_no_grad(lib):
    def f(x):
        y = x * 2
        with lib.no_grad():
            y[:1].mul_(3)
            y[1] = 10.0
        return (y * x).sum()

    return f


def _argument_scaled_under_no_grad(lib):
    def f(x):
        with lib.no_grad():
            x.mul_(3)
        return (x * x).sum()

    return f


def _constant_changed(lib):
    def f(x):
        with lib.no_grad():
            c = x * 1  # does not require grad: it may be changed in place
        c.add_(1)
        return (c * x).sum()

    return f


@pytest.mark.parametrize("make", [_scaled_under_no_grad, _view_scaled_under_no_grad, _argument_scaled_under_no_grad,
                                  _constant_changed])
def test_in_place_under_no_grad_inside_grad_is_torchs(make):
    ours = cr.func.grad(make(cr))(cr.tensor([1.0, 2.0], dtype=cr.float64))
    theirs = torch.func.grad(make(torch))(torch.tensor([1.0, 2.0], dtype=torch.float64))
    np.testing.assert_allclose(np.asarray(ours), theirs.numpy())
    np.testing.assert_allclose(cr.grad(make(cr))(np.array([1.0, 2.0])), theirs.numpy())


def test_in_place_under_no_grad_nested_and_batched_is_torchs():
    def run(lib, func):
        f = _scaled_under_no_grad(lib)
        x = lib.tensor([1.0, 2.0], dtype=lib.float64)
        return [func.jacrev(f)(x), func.grad(lambda x: func.grad(f)(x).sum())(x),
                func.vmap(func.grad(f))(lib.stack([x, x * 2]))]

    for ours, theirs in zip(run(cr, cr.func), run(torch, torch.func), strict=True):
        np.testing.assert_allclose(np.asarray(ours), theirs.numpy())


def test_in_place_under_no_grad_eagerly_is_torchs():
    def run(lib):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = x * 2
        with lib.no_grad():
            y.mul_(3)
            c = x * 1
        c.add_(1)
        (y * x + c * x).sum().backward()
        return x.grad.tolist(), c.requires_grad

    assert run(cr) == run(torch)

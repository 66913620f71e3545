"""cr.jit of functions that make eager Tensors sharing an argument's memory
(``cr.from_numpy(x)``, ``cr.as_tensor(x)``): every call, the trace and the replays, writes
into the caller's array as the plain call does (in place, through ``out=``, through a view
or ``.data``), and returns what the plain call returns. Oracles: the plain call on a copy
of the arguments, and PyTorch's ``torch.from_numpy``, which shares memory the same way."""

import numpy as np
import pytest
import torch
from tests.transforms.test_jit_soundness import same

import chainrule as cr
import chainrule.numpy as cnp

# each program takes the library (chainrule or torch) and a float64 array
PROGRAMS = {
    "add_": lambda L, x: L.from_numpy(x).add_(1) * 2,
    "setitem": lambda L, x: ((t := L.from_numpy(x)).__setitem__(0, 5.0), t * 2)[1],
    "mul_": lambda L, x: L.from_numpy(x).mul_(2),
    "zero_": lambda L, x: L.from_numpy(x).zero_() + 1,
    "a view's add_": lambda L, x: ((t := L.from_numpy(x))[1:].add_(1), t.sum())[1],
    "an element's add_": lambda L, x: ((t := L.from_numpy(x))[0].add_(1), t)[1],
    "an element returned": lambda L, x: L.from_numpy(x)[2] * 1,
    "out= itself": lambda L, x: L.add(t := L.from_numpy(x), 1, out=t),
    "out= of a new Tensor": lambda L, x: L.mul(L.tensor([1.0, 2.0, 3.0], dtype=L.float64), 2, out=L.from_numpy(x)),
    "copy_": lambda L, x: L.from_numpy(x).copy_(L.tensor([7.0, 8.0, 9.0], dtype=L.float64)) + 1,
    "data.add_": lambda L, x: ((t := L.from_numpy(x)).data.add_(1), t * 1)[1],
    "the array read after a write": lambda L, x: (L.from_numpy(x).sub_(0.5), x * 2)[1],
    "as_tensor add_": lambda L, x: L.as_tensor(x).add_(1) * 3,
    "as_tensor of another dtype (a copy)": lambda L, x: L.as_tensor(x, dtype=L.float32).add_(1),
    "the Tensor itself": lambda L, x: L.from_numpy(x),
}


def _torch_value(result):
    return result.numpy() if isinstance(result, torch.Tensor) else result


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_writes_through_a_tensor_sharing_an_arguments_memory_reach_it_on_every_call(name):
    program = PROGRAMS[name]
    step = cr.jit(lambda x: program(cr, x))
    x = np.array([0.5, -1.0, 2.0])
    for _ in range(3):  # the trace, then replays: each call writes x again, as the plain call
        plain_x, torch_x = x.copy(), x.copy()
        want = program(cr, plain_x)
        got = step(x)
        assert same(got, want), (got, want)
        assert same(x, plain_x), (x, plain_x)
        if isinstance(want, cr.Tensor):
            assert np.shares_memory(got.numpy(), x) == np.shares_memory(want.numpy(), plain_x)
        torch_result = _torch_value(program(torch, torch_x))  # PyTorch's sharing
        assert np.array_equal(torch_x, x)
        assert np.array_equal(torch_result, got.numpy() if isinstance(got, cr.Tensor) else got)
        assert torch_result.dtype == np.asarray(got).dtype
    assert step.traces == 1


def test_writes_through_an_element_of_an_eager_argument_reach_it():
    # PyTorch's t[0] is a 0-d view: its add_ writes into t, jitted too
    def f(p):
        p[0].add_(1.0)
        return p[1] * 2
    step = cr.jit(f)
    with cr.no_grad():
        for _ in range(3):
            mine, theirs = cr.tensor([0.5, 1.5]), cr.tensor([0.5, 1.5])
            assert same(step(mine), f(theirs))
            assert same(mine, theirs)


def test_rebinding_data_inside_jit_is_refused_with_the_way_out():
    # the caller's Tensor would keep its memory, and a replay would compute with the old values
    def f(x):
        t = cr.from_numpy(x)
        t.data = t * 2
        return t + 1
    with pytest.raises(TypeError, match=r"t.data.copy_\(v\)"):
        cr.jit(f)(np.zeros(2))


def test_from_numpy_of_a_numpy_scalar_raises_as_in_the_plain_call():
    f = lambda x: cr.from_numpy(x[0])  # noqa: E731
    with pytest.raises(TypeError, match="not float64") as plain:
        f(np.zeros(2))
    with pytest.raises(TypeError, match="not float64") as jitted:
        cr.jit(f)(np.zeros(2))
    assert str(jitted.value) == str(plain.value)


# an ndarray's own method given a Tensor: NumPy converts the Tensor with __array__
NDARRAY_METHODS_OF_TENSORS = {
    "dot of a Tensor made inside": lambda x: np.sin(x).dot(cr.tensor([1.0, 2.0, 3.0])),
    "dot of a from_numpy": lambda x: (x * 2).dot(cr.from_numpy(x)) + 1,
    "put of Tensors": lambda x: (x.put(cr.tensor([0]), cr.tensor([9.0])), x * 1)[1],
}


@pytest.mark.parametrize("name", list(NDARRAY_METHODS_OF_TENSORS))
def test_an_ndarrays_method_given_an_eager_tensor_gives_numpys_result(name):
    f = NDARRAY_METHODS_OF_TENSORS[name]
    step = cr.jit(f)
    for k in range(3):
        mine, theirs = np.arange(3.0) + k, np.arange(3.0) + k
        assert same(step(mine), f(theirs))
        assert same(mine, theirs)


@pytest.mark.parametrize("sin", [np.sin, cnp.sin])
def test_an_ndarrays_dot_of_a_value_being_differentiated_raises_jitted_as_plain(sin):
    # NumPy's ndarray.dot converts its argument with __array__, which a value being
    # differentiated refuses (HIPS autograd, whose boxes NumPy takes for sequences, makes
    # an object array of them there); chainrule.numpy.dot(a, w) and a @ w differentiate
    x, w = np.arange(3.0), np.full(3, 0.5)
    g = lambda x, w: sin(x).dot(w)  # noqa: E731
    with pytest.raises(TypeError, match=r"chainrule.numpy.dot\(a, x\) or a @ x") as plain:
        cr.grad(g, argnums=1)(x, w)
    jit_of_grad = lambda: cr.jit(cr.grad(g, argnums=1))(x, w)  # noqa: E731
    grad_of_jit = lambda: cr.grad(lambda w: cr.jit(g)(x, w))(w)  # noqa: E731
    for jitted in (jit_of_grad, grad_of_jit):
        with pytest.raises(TypeError) as raised:
            jitted()
        assert str(raised.value) == str(plain.value)
    rewritten = cr.jit(cr.grad(lambda x, w: sin(x) @ w, argnums=1))
    assert np.array_equal(rewritten(x, w), np.sin(x))  # d(sin(x) . w)/dw


@pytest.mark.parametrize("read", [
    lambda t, x: x * t.detach().numpy(),
    lambda t, x: x * np.asarray(t.detach()),
    lambda t, x: x * float(t[0]),
])
def test_a_closed_over_torch_tensor_written_in_place_is_read_anew(read):
    t = torch.ones(2, dtype=torch.float64, requires_grad=True)

    def f(x):
        return read(t, x)

    jitted = cr.jit(f)
    x = np.array([1.0, -2.0])
    for _ in range(3):
        assert same(jitted(x), f(x))
        with torch.no_grad():
            t.mul_(2.0)

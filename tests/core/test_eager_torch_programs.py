"""Short programs written as PyTorch users write them, run with PyTorch and with
chainrule in its place: results (values in float64, dtypes, shapes, requires_grad, is_leaf,
whether there is a grad_fn) and the errors raised must agree."""

from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _describe(value):
    if isinstance(value, cr.Tensor | torch.Tensor):
        return ("tensor", tuple(value.shape), str(value.dtype).removeprefix("torch."), value.requires_grad,
                value.is_leaf, value.grad_fn is None, np.asarray(value.detach().numpy()))
    if isinstance(value, list | tuple):
        return [_describe(v) for v in value]
    if isinstance(value, dict):
        return {k: _describe(v) for k, v in value.items()}
    return value


def _compare(ours, theirs):
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            _compare(a, b)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs)
        for k in theirs:
            _compare(ours[k], theirs[k])
    elif isinstance(theirs, tuple) and theirs and theirs[0] == "tensor":
        assert ours[:6] == theirs[:6], (ours[:6], theirs[:6])
        np.testing.assert_allclose(ours[6], theirs[6], rtol=1e-10, atol=1e-12, equal_nan=True)
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, rel=1e-10, nan_ok=True)
    else:
        assert ours == theirs


def retain_grad(L):
    x = L.tensor([1.0, 2.0, 3.0], dtype=L.float64, requires_grad=True)
    y = x * 2
    y.retain_grad()
    w = x.exp()
    (y ** 2).sum().backward()
    return [x.grad, y.grad, y.retains_grad, w.retains_grad, x.retains_grad]


def state_dict_variants(L):
    m = L.nn.Linear(2, 2)
    sd = m.state_dict()
    kept = m.state_dict(keep_vars=True)
    into = {}
    m.state_dict(destination=into, prefix="model.")
    return [type(sd) is OrderedDict, list(sd), sd["weight"].requires_grad, kept["weight"].requires_grad,
            kept["weight"] is m.weight, list(into)]


def normal_draws(L):
    L.manual_seed(0)
    a = L.normal(L.zeros(3, dtype=L.float64), 1.0)
    b = L.normal(0.0, L.ones(2, 2, dtype=L.float32))
    c = L.normal(2.0, 3.0, size=(4,))
    d = L.normal(L.zeros(2, 1, dtype=L.float64), L.ones(3, dtype=L.float64))
    return [(tuple(t.shape), str(t.dtype).removeprefix("torch."), t.requires_grad) for t in (a, b, d)] + [
        tuple(c.shape)]


def floor_divide(L):
    i = L.tensor([-7, 7, 5])
    return [L.floor_divide(i, 2), i.floor_divide(2), i // 2, L.floor_divide(L.tensor([-7.5, 7.0], dtype=L.float64), 2)]


def sign_then_abs(L):
    x = L.tensor([float("nan"), -2.0, 0.0, 3.0], dtype=L.float64, requires_grad=True)
    y = x.sign() * x
    y.sum().backward()
    return [x.sign(), L.sign(x), x.grad]


def casts_to_the_same_dtype(L):
    b = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
    i = L.tensor([1, 2])
    return [b.double(), b.double() is b, b.float(), i.long() is i, i.int(), b.to(L.float64) is b]


def where_of_a_condition(L):
    a = L.arange(6, dtype=L.float64).reshape(2, 3)
    return [L.where(a > 2), L.where(a > 2, a, 0.5), a.nonzero()]


def views_and_strides(L):
    x = L.arange(6, dtype=L.float64).reshape(2, 3)
    t = x.t()
    out = [x.stride(), t.stride(), t.stride(0), x[:, 1:].stride(), t.is_contiguous()]
    try:
        t.view(6)
    except RuntimeError:
        out.append("refused")
    v = t.contiguous().view(6)
    v[0] = 100.0  # the contiguous copy, not x
    w = x.view(3, 2)
    w[0, 0] = -1.0  # x itself
    return out + [t.reshape(6), v, x, t[:, :1].view(3)]


def median_of_ties_and_nan(L):
    out = []
    for values in ([1.0, 1.0, 2.0], [3.0, 1.0, 2.0, 2.0], [float("nan"), 1.0, float("nan")], [0.1, 0.1, 0.1, 5.0]):
        c = L.tensor(values, dtype=L.float64, requires_grad=True)
        m = c.median()
        out += [m, L.autograd.grad(m, c)[0]]
    return out + [L.tensor([3, 1, 2]).median(), L.tensor([[3.0, 1.0], [2.0, 5.0]], dtype=L.float32).median()]


def masked_scatter_argwhere_diagonal(L):
    x = L.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], dtype=L.float64, requires_grad=True)
    src = L.arange(6, dtype=L.float64).requires_grad_()
    m = x > 0
    y = x.masked_scatter(m, src * 10)
    d = L.arange(24, dtype=L.float64).reshape(2, 3, 4).diagonal(dim1=1, dim2=2)
    (y * y).sum().backward()
    return [y, x.grad, src.grad, L.argwhere(m), m.argwhere(), d, x.diagonal()]


PROGRAMS = [masked_scatter_argwhere_diagonal, median_of_ties_and_nan, retain_grad, state_dict_variants, normal_draws,
            floor_divide, sign_then_abs, casts_to_the_same_dtype, where_of_a_condition, views_and_strides]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_program_runs_as_with_pytorch(program):
    _compare(_describe(program(cr)), _describe(program(torch)))


ERRORS = {  # name: a call that PyTorch refuses with a RuntimeError (NumPy's ValueError in chainrule's core)
    "broadcast": lambda L: L.ones(2, 3) + L.ones(4),
    "matmul": lambda L: L.ones(2, 3) @ L.ones(2, 3),
    "view": lambda L: L.ones(3).view(2, 2),
    "cat": lambda L: L.cat([L.ones(2, 3), L.ones(2, 2)]),
    "expand": lambda L: L.ones(2, 3).expand(4, 3),
    "reshape": lambda L: L.ones(2, 3).reshape(4, -1),
    "stack": lambda L: L.stack([L.ones(2), L.ones(3)]),
    "bool": lambda L: bool(L.ones(2)),
    "item": lambda L: L.ones(2, 2).item(),
    "broadcast_grad": lambda L: L.ones(2, 3, requires_grad=True) * L.ones(3, 2),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_are_runtime_errors_as_pytorch(name):
    with pytest.raises(RuntimeError):
        ERRORS[name](torch)
    with pytest.raises(RuntimeError) as caught:
        ERRORS[name](cr)
    assert isinstance(caught.value, ValueError)  # NumPy's kind, for code written for NumPy


def test_broadcast_error_names_the_sizes_as_pytorch():
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of tensor b \(4\) at "
                                           r"non-singleton dimension 1"):
        cr.ones(2, 3) + cr.ones(4)
    with pytest.raises(IndexError):  # a dim out of range stays an IndexError, as PyTorch's
        cr.ones(2, 3).sum(dim=2)

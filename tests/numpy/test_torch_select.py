"""PyTorch's counting, rounding, sampling and in-place indexed-write methods of eager
Tensors, against PyTorch: values, dtypes, the result being a Tensor, and gradients."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

rng = np.random.default_rng(3)
A = rng.normal(size=(3, 4))
INTS = np.array([3, -1, 3, 2, -7, 0])


def _written(name):
    return lambda x, L: getattr(x.clone() if x.requires_grad else x, name)


# name: (function of (tensor, library), input); the same code runs on both libraries
CASES = {
    "sign": (lambda x, L: x.sign(), A),
    "floor": (lambda x, L: x.floor() * x, A),
    "ceil": (lambda x, L: x.ceil(), A),
    "trunc": (lambda x, L: x.trunc(), A),
    "round": (lambda x, L: x.round(), np.array([0.5, 1.5, 2.5, -0.5, -1.2])),
    "round_decimals": (lambda x, L: x.round(decimals=1), np.array([0.25, 1.55, -3.14159])),
    "floordiv_int": (lambda x, L: x // 2, INTS),
    "rfloordiv_int": (lambda x, L: 7 // x[x != 0], INTS),
    "div_trunc_int": (lambda x, L: x.div(2, rounding_mode="trunc"), INTS),
    "div_trunc_float": (lambda x, L: x.div(0.7, rounding_mode="trunc"), A),
    "div_floor_int": (lambda x, L: x.div(-2, rounding_mode="floor"), INTS),
    "type_as_int": (lambda x, L: x.type_as(L.tensor([1], dtype=L.int32)), A),
    "nonzero_as_tuple": (lambda x, L: x.nonzero(as_tuple=True), INTS),
    "unique": (lambda x, L: x.unique(), INTS),
    "unique_inverse_counts": (lambda x, L: x.unique(return_inverse=True, return_counts=True), INTS),
    "unique_function": (lambda x, L: L.unique(x.reshape(2, 3), return_inverse=True), INTS),
    "unique_float": (lambda x, L: (x > 0).float().unique(), A),
    "bincount": (lambda x, L: x.abs().bincount(), INTS),
    "bincount_minlength": (lambda x, L: L.bincount(x.abs(), minlength=10), INTS),
    "log_softmax_dtype": (lambda x, L: x.float().log_softmax(1, dtype=L.float64), A),
    "softmax_dtype": (lambda x, L: L.softmax(x.float(), -1, dtype=L.float64), A),
    "scatter_": (lambda x, L: L.zeros(3, 5, dtype=L.float64).scatter_(1, L.tensor([[0, 2], [1, 3], [4, 4]]), 1.0), A),
    "scatter_src_on_graph": (lambda x, L: (x * 1).scatter_(1, L.tensor([[0, 2], [1, 3], [3, 0]]), x[:, :2] ** 2), A),
    "scatter_add_": (lambda x, L: L.zeros(3, 4, dtype=L.float64).scatter_add_(0, L.tensor([[0, 0, 1, 2]]), x[:1] * 2),
                     A),
    "scatter_reduce_sum": (lambda x, L: (x * 1).scatter_reduce_(1, L.tensor([[0, 0], [1, 1], [2, 3]]), x[:, 2:],
                                                                 "sum"), A),
    # an excluded self value equal to the result shares the gradient with the tied sources
    "scatter_reduce_amax_excluded_tie": (lambda x, L: L.zeros(3, 4, dtype=L.float64).scatter_reduce_(
        1, L.tensor([[1, 1], [2, 0], [3, 3]]), x[:, :2] - x[:, :2].detach(), "amax", include_self=False), A),
    "scatter_reduce_amin_excluded_tie": (lambda x, L: (x * 1).scatter_reduce(
        1, L.tensor([[1, 1], [2, 2], [0, 3]]), x[:, [1, 1]], "amin", include_self=False), A),
    # PyTorch's put is out of place (NumPy's ndarray.put writes in place and returns None)
    "put": (lambda x, L: (lambda y: [y.put(L.tensor([-1, 0, 5]), x[1, :3] * 2), y])(x * 1), A),
    "put_accumulate_": (lambda x, L: (x * 1).put_(L.tensor([[1], [1]]), x[:2, :1] ** 2, accumulate=True), A),
    "index_reduce_amax": (lambda x, L: L.zeros(3, 3, dtype=L.float64).index_reduce_(
        1, L.tensor([0, 2, 0, 0]), x.relu(), "amax", include_self=False), A),
    "index_reduce_mean": (lambda x, L: (x[:2] * 1).index_reduce(0, L.tensor([1, 1, 0]), x, "mean"), A),
    "index_reduce_prod": (lambda x, L: (x[:, :2] * 1).index_reduce_(1, L.tensor([1, 0, 1, 1]), x, "prod",
                                                                      include_self=False), A),
    "index_reduce_function_amin": (lambda x, L: L.index_reduce(x[1:] * 1, 0, L.tensor([0, 0, 1]), x, "amin"), A),
    "index_add_": (lambda x, L: (x * 1).index_add_(0, L.tensor([0, 0, 2]), x.flip(0), alpha=0.5), A),
    "index_copy_": (lambda x, L: (x * 1).index_copy_(1, L.tensor([2, 0]), x[:, 1:3] * 3), A),
    "index_fill_": (lambda x, L: (x * 1).index_fill_(1, L.tensor([1, 3]), -2.0), A),
    "index_put_accumulate": (lambda x, L: (x * 1).index_put_((L.tensor([0, 0, 1]), L.tensor([1, 1, 2])),
                                                              x[2, :3], accumulate=True), A),
    "index_put": (lambda x, L: x.index_put((L.tensor([0, 2]),), x[1] * 3), A),
    "clip_": (lambda x, L: (x * 1).clip_(-0.5, 0.5), A),
    "scatter_no_grad_int": (lambda x, L: x.clone().scatter_(0, L.tensor([0, 0, 5]), L.tensor([9, 8, 7])), INTS),
}


def _flat(out):
    return [a for o in out for a in _flat(o)] if isinstance(out, tuple | list) else [out]


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    f, a = CASES[name]
    grad = a.dtype.kind == "f"
    x, xt = cr.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)
    ours, theirs = _flat(f(x, cr)), _flat(f(xt, torch))
    assert len(ours) == len(theirs)
    loss, tloss = 0.0, 0.0
    for o, t in zip(ours, theirs, strict=True):
        assert isinstance(o, cr.Tensor), type(o)
        assert o.dtype == np.dtype(str(t.dtype).removeprefix("torch.")), (o.dtype, t.dtype)
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-13)
        if t.requires_grad:
            w = rng.normal(size=tuple(t.shape))
            loss, tloss = loss + (o * w).sum(), tloss + (t * torch.tensor(w)).sum()
    if isinstance(tloss, torch.Tensor):
        loss.backward()
        tloss.backward()
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-11, atol=1e-12)


def test_multinomial_draws_by_weight_and_refuses_what_pytorch_refuses():
    cr.manual_seed(0)
    draws = cr.tensor([0.0, 3.0, 1.0]).multinomial(4000, replacement=True)
    assert draws.dtype == np.int64 and set(draws.tolist()) == {1, 2}
    assert abs((draws == 1).float().mean().item() - 0.75) < 0.03
    rows = cr.multinomial(cr.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]), 2)
    assert rows.shape == (2, 2) and sorted(rows[0].tolist()) == [0, 2] and sorted(rows[1].tolist()) == [1, 2]
    for bad in ([0.0, 0.0], [-1.0, 2.0]):
        with pytest.raises(RuntimeError):
            torch.multinomial(torch.tensor(bad), 2)
        with pytest.raises(RuntimeError, match="multinomial"):
            cr.multinomial(cr.tensor(bad), 2)
    with pytest.raises(RuntimeError, match="3 samples of 2"):
        cr.multinomial(cr.tensor([1.0, 1.0]), 3)
    # without replacement, zero weights come last, after every positive one
    assert sorted(cr.multinomial(cr.tensor([0.0, 2.0, 0.0, 1.0]), 4)[:2].tolist()) == [1, 3]


def test_bernoulli_draws_each_with_its_probability():
    cr.manual_seed(1)
    draws = cr.bernoulli(cr.tensor([0.0, 1.0, 0.3]).expand(5000, 3))
    assert draws.dtype == np.float64
    means = draws.mean(0).tolist()
    assert means[0] == 0.0 and means[1] == 1.0 and abs(means[2] - 0.3) < 0.03

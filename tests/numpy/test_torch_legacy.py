"""PyTorch's legacy typed constructors (torch.FloatTensor(2, 3), torch.LongTensor([1, 2]),
...), torch.spmm of dense matrices and nn.utils.clip_grad_norm, against PyTorch."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

NAMES = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
         "ByteTensor", "BoolTensor"]
ARGS = {"sizes": (2, 3), "one_size": (4,), "data": ([1, 0, 2],), "nested": ([[1.5, 0.0], [2.0, 3.0]],),
        "ndarray": (np.array([1, 2]),), "nothing": (), "torch_size": ("Size", (2, 2))}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("args", sorted(ARGS))
def test_typed_constructor_matches_torch(name, args):
    given = ARGS[args]
    ours_args, their_args = given, given
    if given and isinstance(given[0], str):
        ours_args, their_args = (cr.Size(given[1]),), (torch.Size(given[1]),)
    ours, theirs = getattr(cr, name)(*ours_args), getattr(torch, name)(*their_args)
    assert isinstance(ours, cr.Tensor) and ours.shape == tuple(theirs.shape)
    assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))
    if args not in ("sizes", "one_size", "torch_size"):  # sizes give memory to fill
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_typed_constructor_refuses_a_number():
    with pytest.raises(TypeError):
        torch.FloatTensor(2.5)
    with pytest.raises(TypeError, match="sizes"):
        cr.FloatTensor(2.5)


def test_spmm_of_dense_matrices_and_its_gradient():
    a = np.random.default_rng(0).normal(size=(3, 4))
    b = np.random.default_rng(1).normal(size=(4, 2))
    x, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out, tout = cr.spmm(x, cr.tensor(b)), torch.spmm(xt, torch.tensor(b))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-13)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-13)
    with pytest.raises(RuntimeError, match="2-d"):
        cr.spmm(cr.ones(2), cr.ones(2, 2))


def test_clip_grad_norm_is_the_deprecated_spelling_of_clip_grad_norm_():
    norms = []
    for L in (cr, torch):
        w = L.tensor([3.0, 4.0], requires_grad=True)
        (w * w / 2).sum().backward()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            norms.append(float(L.nn.utils.clip_grad_norm([w], 1.0, foreach=None)))
        assert any(issubclass(c.category, FutureWarning) for c in caught)
        norms.append(w.grad.tolist())
    assert norms[0] == norms[2] == 5.0
    np.testing.assert_allclose(norms[1], norms[3], rtol=1e-6)

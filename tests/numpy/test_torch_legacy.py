"""PyTorch's legacy constructors (torch.Tensor(2, 3), torch.FloatTensor(2, 3),
torch.LongTensor([1, 2]), x.new(2, 3), ...), torch.spmm of dense matrices and
nn.utils.clip_grad_norm, against PyTorch."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

NAMES = ["Tensor", "FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
         "ByteTensor", "BoolTensor"]
ARGS = {"sizes": (2, 3), "one_size": (4,), "data": ([1, 0, 2],), "nested": ([[1.5, 0.0], [2.0, 3.0]],),
        "ndarray": (np.array([1, 2]),), "nothing": (), "torch_size": ("Size", (2, 2)), "tuple": ((2, 3),),
        "numpy_ints": (np.int64(2), np.int32(3)), "zero": (0,), "bools": ([True, False],)}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("args", sorted(ARGS))
def test_typed_constructor_matches_torch(name, args):
    cr.set_default_dtype(cr.float32)  # torch.Tensor is of the default dtype (conftest restores it)
    given = ARGS[args]
    ours_args, their_args = given, given
    if given and isinstance(given[0], str):
        ours_args, their_args = (cr.Size(given[1]),), (torch.Size(given[1]),)
    ours, theirs = getattr(cr, name)(*ours_args), getattr(torch, name)(*their_args)
    assert isinstance(ours, cr.Tensor) and ours.shape == tuple(theirs.shape)
    assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))
    if args not in ("sizes", "one_size", "torch_size", "numpy_ints"):  # sizes give memory to fill
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert not ours.requires_grad and ours.is_leaf and ours.grad_fn is None


@pytest.mark.parametrize("L", [cr, torch], ids=["chainrule", "torch"])
def test_tensor_of_a_size_is_of_that_shape(L):
    x = L.zeros(2, 3)
    assert tuple(L.Tensor(x.size()).shape) == (2, 3) and tuple(x.new(x.size()).shape) == (2, 3)
    assert tuple(L.Tensor(tuple(x.size())).shape) == (2,)  # a plain tuple is data
    assert isinstance(x.size(), L.Size)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("args", [(2, 3), ([1, 2],), ()])
def test_new_is_of_the_tensors_dtype_as_pytorch(dtype, args):
    ours = cr.zeros(1, dtype=getattr(cr, dtype)).new(*args)
    theirs = torch.zeros(1, dtype=getattr(torch, dtype)).new(*args)
    assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")


def test_tensor_of_a_tensor_shares_its_memory_and_dtype():
    for L in (cr, torch):
        x = L.tensor([1, 2])
        y = L.Tensor(x)
        y[0] = 5
        assert x.tolist() == [5, 2] and str(y.dtype).endswith("int64")


def test_a_legacy_tensor_trains_as_a_leaf():
    w = cr.Tensor(3).fill_(2.0).requires_grad_()
    (w * w).sum().backward()
    assert w.is_leaf and w.grad.tolist() == [4.0, 4.0, 4.0]


@pytest.mark.parametrize("args, error", [((-1,), RuntimeError), ((2, 3.0), TypeError), ((2.5,), TypeError)])
def test_tensor_refuses_what_pytorch_refuses(args, error):
    with pytest.raises(error):
        torch.Tensor(*args)
    with pytest.raises(error, match="size"):
        cr.Tensor(*args)
    with pytest.raises(TypeError, match="requires grad"):
        cr.Tensor(cr.ones(2, requires_grad=True))


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

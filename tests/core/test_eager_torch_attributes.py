"""PyTorch's Tensor attributes side by side with PyTorch: the transposes ``T``, ``mT``,
``H``, ``mH`` of every rank, ``storage_offset()`` of views, and the dtype names."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

VALUES = {0: 1.5 - 2j, 1: [1 + 1j, 2 - 3j], 2: [[1 + 2j, 3j], [4.0, 5 - 1j]],
          3: np.arange(12).reshape(2, 3, 2) * (1 - 1j)}


@pytest.mark.parametrize("name", ["T", "mT", "H", "mH"])
@pytest.mark.parametrize("ndim", sorted(VALUES))
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_transposes_of_every_rank_match_torch(name, ndim, dtype):
    a = np.asarray(VALUES[ndim])
    a = a.real.copy() if dtype == "float64" else a
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # (PyTorch's deprecation of 0-d and n-d .T)
        try:
            want = getattr(torch.tensor(a), name).resolve_conj().numpy()
        except RuntimeError as e:
            with pytest.raises(RuntimeError, match=str(e).split("(")[0].strip()):
                getattr(cr.tensor(a), name)
            return
    x = cr.tensor(a, requires_grad=True)
    got = getattr(x, name)
    np.testing.assert_array_equal(got.detach().numpy(), want)
    assert got.dtype == want.dtype
    if ndim and got.dtype.kind == "f":  # a view, differentiated as one
        got.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.ones_like(a))


def test_storage_offset_of_views_is_torchs():
    cases = [lambda x: x, lambda x: x[1:], lambda x: x[:, 1], lambda x: x[2, 3], lambda x: x.narrow(1, 1, 2),
             lambda x: x[1:].view(-1)[3:], lambda x: x.t()[1], lambda x: x.unbind(0)[2], lambda x: x.split(1, 1)[3],
             lambda x: x.diagonal(1), lambda x: x[1:][1:, 2:], lambda x: x.clone()[1:]]
    a = np.arange(12.0).reshape(3, 4)
    for f in cases:
        assert f(cr.tensor(a)).storage_offset() == f(torch.tensor(a)).storage_offset()


def test_dtype_names_of_torch():
    for name in ("uint8", "uint16", "uint32", "uint64", "int8", "int64", "float16", "complex64"):
        dtype = getattr(cr, name)
        assert dtype == np.dtype(name) and dtype.itemsize == getattr(torch, name).itemsize
        assert cr.tensor([1, 2], dtype=dtype).dtype == np.dtype(name)
    b = cr.bfloat16
    t = torch.bfloat16
    assert (b.is_floating_point, b.is_complex, b.is_signed, b.itemsize) == (
        t.is_floating_point, t.is_complex, t.is_signed, t.itemsize)


GRAD_FN_NAMES = ["x + 1", "x - y", "x * 2", "x / y", "-x", "x ** 2", "x ** y", "x.sqrt()", "x.exp()", "x.log()",
                 "x.sin()", "x.tanh()", "x.sigmoid()", "x.relu()", "x.sum()", "x.sum(0)", "x.mean()", "x.mean(1)",
                 "x.max()", "x @ y", "v @ v", "x @ v", "x.view(4)", "x.T", "x.transpose(0, 1)", "x.unsqueeze(0)",
                 "x.unsqueeze(0).squeeze(0)", "x[0]", "x[:, 1:]", "x[[0, 1]]", "lib.cat([x, y])", "lib.stack([x, y])",
                 "x.clone()", "lib.where(x > 2, x, y)", "x.expand(2, 2, 2)", "x.logsumexp(1)", "x.amax(0)", "x.min()",
                 "x.clamp(0, 2)", "x.cumsum(0)", "x.prod()", "x.var()"]


@pytest.mark.parametrize("code", GRAD_FN_NAMES)
def test_grad_fn_names_are_torchs(code):
    names = []
    for lib in (torch, cr):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64, requires_grad=True)
        y = lib.tensor([[0.5, -1.0], [2.0, 1.5]], dtype=lib.float64, requires_grad=True)
        v = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        node = eval(code, {"x": x, "y": y, "v": v, "lib": lib}).grad_fn
        # (the arguments off the graph: PyTorch lists a number beside a Tensor, not a shape)
        names.append((node.name(), type(node).__name__, [type(n).__name__ for n, _ in node.next_functions if n]))
    assert names[0] == names[1]


def test_negative_slice_steps_are_numpys_reversed_views():
    # PyTorch refuses x[::-1] (ValueError: step must be greater than zero); chainrule's
    # eager Tensor is also chainrule.numpy's array, so NumPy's meaning stands (docs/training.md)
    with pytest.raises(ValueError, match="step must be greater than zero"):
        torch.tensor([1.0, 2.0])[::-1]
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    y = x[:, ::-2]
    np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy()[:, ::-2])
    assert np.shares_memory(y.detach().numpy(), x.detach().numpy())
    (y * cr.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, 0.0, 1.0], [4.0, 0.0, 3.0]])


def _graph_attributes(x):
    y = x * 2
    return [(t.is_leaf, t.grad_fn is None, t.requires_grad) for t in (x, y)]


@pytest.mark.parametrize("transform", ["grad", "vmap"])
def test_graph_attributes_inside_transforms_match_torch_func(transform):
    """is_leaf, grad_fn and requires_grad of an argument and of a value computed from it,
    read inside grad and vmap, as torch.func's (they raised AttributeError under grad).
    torch.func.grad shows a computed value's grad_fn; chainrule's tapes have no such node,
    so that one entry is not compared."""
    seen = {}

    def ours(x):
        seen["ours"] = _graph_attributes(x)
        return (x * 2).sum()

    def theirs(x):
        seen["theirs"] = _graph_attributes(x)
        return (x * 2).sum()

    if transform == "grad":
        cr.grad(ours)(cr.ones(3, dtype=cr.float64))
        torch.func.grad(theirs)(torch.ones(3, dtype=torch.float64))
        seen["theirs"][1] = (seen["theirs"][1][0], True, seen["theirs"][1][2])
    else:
        cr.vmap(ours)(cr.ones(2, 3))
        torch.func.vmap(theirs)(torch.ones(2, 3))
    assert seen["ours"] == seen["theirs"]


@pytest.mark.parametrize("make", [lambda: cr.randn(3), lambda: cr.ones(3), lambda: cr.rand(3).detach()],
                         ids=["randn", "ones", "rand-detach"])
def test_graph_attributes_of_an_eager_tensor_made_inside_jit_are_the_plain_calls(make):
    """A Tensor that a jitted function makes (a draw included) is an eager Tensor in the
    plain call: its PyTorch attributes are read as such (a draw's raised AttributeError)."""
    def f(x):
        t = make()
        return x + float(t.is_leaf) + float(t.grad_fn is None) + float(t.requires_grad) + t.sum().item() * 0

    x = np.zeros(2)
    np.testing.assert_array_equal(cr.jit(f)(x), f(x))

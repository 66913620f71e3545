"""EmbeddingBag (F.embedding_bag) and LazyLinear against PyTorch: outputs, the gradients
of the weight and of per_sample_weights in float64, state-dict keys and shapes, and
PyTorch's refusals."""

import itertools

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

rng = np.random.default_rng(11)
TABLE = rng.normal(size=(10, 3))
FLAT = np.array([1, 2, 4, 5, 4, 3, 2, 9])
# (input, offsets, include_last_offset): bags by offsets (one empty), rows of a 2-d input,
# and PyTorch's include_last_offset form (the last offset ends the input, as it is used:
# PyTorch's gradient also reaches indices past a last offset that ends earlier, although
# its output leaves them out)
BAGS = {
    "offsets": (FLAT, np.array([0, 2, 2, 5]), False),
    "rows": (FLAT[:6].reshape(2, 3), None, False),
    "last_offset": (FLAT, np.array([0, 2, 2, 5, 8]), True),
    "one_bag": (FLAT, np.array([0]), False),
}
CASES = [(b, m, pad, psw) for b, m, pad, psw in itertools.product(BAGS, ("sum", "mean", "max"), (None, 4, -8),
                                                                   (False, True))
         if not (psw and m != "sum")]


@pytest.mark.parametrize("bags,mode,padding_idx,weighted", CASES)
def test_embedding_bag_matches_torch(bags, mode, padding_idx, weighted):
    inp, offsets, last = BAGS[bags]
    layers = {}
    for L in (cr, torch):
        layer = L.nn.EmbeddingBag(10, 3, mode=mode, include_last_offset=last, padding_idx=padding_idx,
                                  dtype=L.float64)
        layer.load_state_dict({"weight": L.tensor(TABLE)})
        layers[L] = layer
    w = rng.normal(size=inp.shape)
    g = None
    results = {}
    for L, layer in layers.items():
        psw = L.tensor(w, requires_grad=True) if weighted else None
        out = layer(L.tensor(inp), None if offsets is None else L.tensor(offsets), per_sample_weights=psw)
        g = rng.normal(size=tuple(out.shape)) if g is None else g
        (out * L.tensor(g)).sum().backward()
        results[L] = (out.detach().numpy(), layer.weight.grad.numpy(), psw.grad.numpy() if weighted else None)
    assert list(layers[cr].state_dict()) == list(layers[torch].state_dict()) == ["weight"]
    for ours, theirs in zip(results[cr], results[torch], strict=True):
        if theirs is not None:
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-13)


def test_embedding_bag_function_and_max_norm_match_torch():
    table = TABLE * 3
    for L in (cr, torch):
        weight = L.tensor(table.copy(), requires_grad=True)
        out = L.nn.functional.embedding_bag(L.tensor(FLAT), weight, L.tensor([0, 3]), max_norm=1.5, mode="sum")
        out.sum().backward()
        if L is cr:
            ours = (out.detach().numpy(), weight.detach().numpy(), weight.grad.numpy())
        else:
            theirs = (out.detach().numpy(), weight.detach().numpy(), weight.grad.numpy())
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_embedding_bag_default_init_and_float32():
    bag = cr.nn.EmbeddingBag(50, 4, padding_idx=0)
    assert bag.weight.dtype == np.float32 and bag.weight.shape == (50, 4) and bag.mode == "mean"
    assert np.all(bag.weight.detach().numpy()[0] == 0)
    assert bag(cr.tensor([[0, 0]])).tolist() == [[0.0, 0.0, 0.0, 0.0]]  # every index padding: an empty bag


REFUSED = {
    "psw_mean": lambda L: L.nn.EmbeddingBag(5, 2)(L.tensor([1, 2]), L.tensor([0]),
                                                  per_sample_weights=L.ones(2)),
    "offsets_2d": lambda L: L.nn.EmbeddingBag(5, 2)(L.tensor([[1, 2]]), L.tensor([0])),
    "offsets_start": lambda L: L.nn.EmbeddingBag(5, 2)(L.tensor([1, 2]), L.tensor([1])),
    "bad_mode": lambda L: L.nn.EmbeddingBag(5, 2, mode="median")(L.tensor([[1]])),
    "out_of_range": lambda L: L.nn.EmbeddingBag(5, 2)(L.tensor([[7]])),
    "float_indices": lambda L: L.nn.EmbeddingBag(5, 2)(L.tensor([[1.0]])),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_embedding_bag_refuses_as_torch(name):
    errors = (ValueError, RuntimeError, IndexError, TypeError, NotImplementedError)
    with pytest.raises(errors):
        REFUSED[name](torch)
    with pytest.raises(errors, match="embedding_bag|mode"):
        REFUSED[name](cr)


@pytest.mark.parametrize("bias,shape", [(True, (4, 3)), (False, (4, 3)), (True, (2, 5, 3)), (True, (3,))])
def test_lazy_linear_matches_torch(bias, shape):
    x = rng.normal(size=shape)
    ours, theirs = cr.nn.LazyLinear(2, bias=bias, dtype=cr.float64), torch.nn.LazyLinear(2, bias=bias,
                                                                                          dtype=torch.float64)
    assert ours.weight is None
    ours.reset_parameters(), theirs.reset_parameters()  # nothing to reset yet, in both
    xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    theirs(xt)
    out = ours(xc)
    assert type(ours) is cr.nn.Linear and type(theirs) is torch.nn.Linear
    assert ours.in_features == theirs.in_features == shape[-1]
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    bound = 1 / np.sqrt(shape[-1])  # Linear's initialisation
    assert np.all(np.abs(ours.weight.detach().numpy()) <= bound)
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    out, tout = ours(xc), theirs(xt)
    g = rng.normal(size=tuple(tout.shape))
    (out * cr.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(dict(ours.named_parameters())[name].grad.numpy(), p.grad.numpy(), rtol=1e-12)


def test_lazy_linear_in_a_model_trains_with_an_optimizer_made_after_the_first_call():
    model = cr.nn.Sequential(cr.nn.LazyLinear(8), cr.nn.ReLU(), cr.nn.LazyLinear(1))
    x, y = cr.randn(16, 5), cr.randn(16, 1)
    model(x)
    assert [m.in_features for m in model if isinstance(m, cr.nn.Linear)] == [5, 8]
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    before = cr.nn.functional.mse_loss(model(x), y).item()
    for _ in range(20):
        opt.zero_grad()
        cr.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    assert cr.nn.functional.mse_loss(model(x), y).item() < before


@pytest.mark.parametrize("name, args, kwargs, shape", [
    ("LazyConv1d", (4, 3), {}, (2, 5, 7)), ("LazyConv2d", (4, 3), {"stride": 2}, (5, 6, 6)),
    ("LazyConv2d", (4, 3), {"groups": 2}, (1, 6, 5, 5)), ("LazyConv3d", (2, 2), {}, (1, 3, 4, 4, 4)),
    ("LazyConvTranspose1d", (4, 3), {"bias": False}, (2, 5, 6)), ("LazyConvTranspose2d", (2, 2), {}, (1, 3, 3, 3)),
    ("LazyBatchNorm1d", (), {}, (4, 3)), ("LazyBatchNorm2d", (), {"momentum": 0.2}, (2, 3, 4, 4)),
    ("LazyBatchNorm3d", (), {}, (2, 3, 2, 2, 2)), ("LazyInstanceNorm1d", (), {"affine": True}, (2, 5, 6)),
    ("LazyInstanceNorm2d", (), {}, (2, 3, 4, 4)), ("LazyInstanceNorm3d", (), {}, (2, 3, 2, 2, 3))])
def test_lazy_layers_become_their_layer_as_torch(name, args, kwargs, shape):
    ours, theirs = getattr(cr.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    ours.reset_parameters(), theirs.reset_parameters()  # nothing to reset yet, in both
    x = np.random.default_rng(0).standard_normal(shape)
    ours(x.astype(np.float32))
    theirs(torch.tensor(x, dtype=torch.float32))
    assert type(ours).__name__ == type(theirs).__name__ and repr(ours) == repr(theirs)
    mine, their = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(their) and [v.shape for v in mine.values()] == [tuple(v.shape) for v in their.values()]
    ours.load_state_dict({k: v.numpy() for k, v in their.items()})
    np.testing.assert_allclose(ours(x.astype(np.float32)).detach().numpy(),
                               theirs(torch.tensor(x, dtype=torch.float32)).detach().numpy(), rtol=1e-4, atol=1e-5)
    ours.reset_parameters(), theirs.reset_parameters()  # now the layer's own
    bound = 1 / np.sqrt(np.prod(ours.weight.shape[1:])) if name.startswith("LazyConv") else np.inf
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert a.shape == tuple(b.shape) and np.abs(a.detach().numpy()).max() <= bound
    if name.startswith("LazyConv"):
        with pytest.raises(RuntimeError, match="unbatched"):
            getattr(cr.nn, name)(*args, **kwargs)(np.ones(3))

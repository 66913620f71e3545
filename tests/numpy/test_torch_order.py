"""PyTorch's order statistics, windows, counts and search functions of eager Tensors
(quantile, nanquantile, kthvalue, aminmax, histc, histogram, logit, unfold, searchsorted, bucketize,
isin, cdist), against PyTorch: values, dtypes, the result being a Tensor, and gradients
in float64."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

rng = np.random.default_rng(5)
A = rng.normal(size=(3, 5))
TIES = np.array([[1.0, 2.0, 2.0, 1.0, 0.5], [3.0, 3.0, 3.0, -1.0, -1.0]])
WITH_NAN = np.array([[1.0, np.nan, 2.0, 0.0], [4.0, 1.0, -2.0, 3.0], [np.nan, np.nan, np.nan, np.nan]])
P = rng.uniform(0.05, 0.95, size=(2, 4))
SORTED = np.array([-1.0, 0.0, 0.0, 2.5, 3.0])
ROWS_SORTED = np.sort(rng.normal(size=(2, 6)), axis=1)
PTS = rng.normal(size=(4, 3))
PTS_B = rng.normal(size=(2, 4, 3))


def _cases():
    cases = {}
    for interp in ("linear", "lower", "higher", "midpoint", "nearest"):
        for q in (0.0, 0.3, 0.5, 1.0):
            cases[f"quantile_{interp}_{q}"] = (lambda x, L, q=q, i=interp: x.quantile(q, dim=1, interpolation=i), A)
        cases[f"quantile_vector_{interp}"] = (
            lambda x, L, i=interp: L.quantile(x, L.tensor([0.1, 0.5, 0.875], dtype=L.float64), dim=0, keepdim=True,
                                              interpolation=i), A)
        cases[f"nanquantile_{interp}"] = (lambda x, L, i=interp: x.nanquantile(0.4, dim=1, interpolation=i), WITH_NAN)
    cases.update({
        "quantile_all": (lambda x, L: x.quantile(0.37), A),
        "quantile_ties": (lambda x, L: x.quantile(0.5, dim=-1), TIES),
        "quantile_nan_row": (lambda x, L: x.quantile(0.5, dim=1), WITH_NAN),
        "nanquantile_all": (lambda x, L: L.nanquantile(x, 0.9), WITH_NAN),
        "kthvalue": (lambda x, L: x.kthvalue(2, dim=1), A),
        "kthvalue_dim0_keepdim": (lambda x, L: L.kthvalue(x, 3, 0, True), A),
        # which of equal entries PyTorch's selection picks is unspecified: the values only
        "kthvalue_ties_values": (lambda x, L: x.kthvalue(3).values.detach(), TIES),
        "aminmax": (lambda x, L: x.aminmax(), A),
        "aminmax_dim": (lambda x, L: L.aminmax(x, dim=0, keepdim=True), A),
        "histc": (lambda x, L: x.histc(bins=4, min=-1, max=1), A),
        "histc_own_range": (lambda x, L: L.histc(x, bins=7), A),
        "histc_edges": (lambda x, L: x.histc(bins=2, min=1, max=3), TIES),
        # PyTorch's histogram has no derivative (its results claim requires_grad): the values
        "histogram": (lambda x, L: [t.detach() for t in x.histogram(5)], A),
        "histogram_density_range": (lambda x, L: [t.detach() for t in L.histogram(x, 4, range=(-1.0, 1.0),
                                                                                 density=True)], A),
        "histogram_edges_weight": (lambda x, L: [t.detach() for t in x.histogram(x.new_tensor([-1.0, 0.0, 0.5, 2.0]),
                                                                                weight=x.abs())], A),
        "histogram_one_value": (lambda x, L: [t.detach() for t in (x * 0).histogram(2, density=True)], A),
        "logit": (lambda x, L: x.logit(), P),
        "logit_eps": (lambda x, L: L.logit(x * 1.5 - 0.2, eps=0.1), P),
        "unfold": (lambda x, L: x.unfold(1, 2, 1), A),
        "unfold_step": (lambda x, L: x.unfold(1, 2, 2) * 3, A),
        "unfold_dim0": (lambda x, L: x.unfold(0, 2, 1).sum(-1), A),
        "unfold_twice": (lambda x, L: x.unfold(0, 2, 1).unfold(1, 3, 2), A),
        "unfold_all": (lambda x, L: x.unfold(-1, 5, 1), A),
        "searchsorted": (lambda x, L: L.searchsorted(x, L.tensor([[-2.0, 0.0, 2.9], [3.0, 0.0, 9.0]])), SORTED),
        "searchsorted_right": (lambda x, L: L.searchsorted(x, L.tensor([0.0, 3.0]), right=True), SORTED),
        "searchsorted_side_int32": (lambda x, L: L.searchsorted(x, L.tensor([0.0]), side="right", out_int32=True),
                                    SORTED),
        "searchsorted_rows": (lambda x, L: L.searchsorted(x, L.tensor([[0.0, 1.0], [-1.0, 5.0]])), ROWS_SORTED),
        "searchsorted_sorter": (lambda x, L: L.searchsorted(x.flip(0), L.tensor([0.5, 2.5]),
                                                            sorter=L.tensor([4, 3, 2, 1, 0])), SORTED),
        "bucketize": (lambda x, L: L.bucketize(L.tensor([[-1.0, 0.0], [0.1, 7.0]]), x), SORTED),
        "bucketize_right": (lambda x, L: L.bucketize(L.tensor([-1.0, 0.0, 3.0]), x, right=True), SORTED),
        "isin": (lambda x, L: L.isin(x, L.tensor([0.0, 3.0])), SORTED),
        "isin_invert": (lambda x, L: L.isin(x, L.tensor([0.0, 3.0]), invert=True), SORTED),
        "isin_scalar": (lambda x, L: L.isin(x, 2.5), SORTED),
        "isin_int": (lambda x, L: L.isin(L.tensor([1, 2, 5, 2]), L.tensor([2, 5])), SORTED),
    })
    for p in (0.0, 0.5, 1.0, 2.0, 3.0, float("inf")):
        cases[f"cdist_p{p}"] = (lambda x, L, p=p: L.cdist(x, x[:3] * 0.5 + 0.1, p=p), PTS)
        cases[f"cdist_batch_p{p}"] = (lambda x, L, p=p: L.cdist(x, x.flip(1)[:, :2], p=p), PTS_B)
        if p != float("inf"):  # (PyTorch's maximum there skips NaN or not by position)
            # a NaN coordinate makes the distances of its point NaN (they were left out)
            cases[f"cdist_nan_p{p}"] = (lambda x, L, p=p: L.cdist(x, x.flip(0)[:2], p=p),
                                        np.array([[np.nan, 1.0, -1.0], [0.5, 0.0, 2.0], [1.0, 0.5, -0.5]]))
    cases["cdist_self_zero_distance"] = (lambda x, L: L.cdist(x, x), PTS)
    cases["cdist_self_zero_distance_p3"] = (lambda x, L: L.cdist(x, x, p=3), PTS)
    return cases


CASES = _cases()


def _flat(out):
    return [a for o in out for a in _flat(o)] if isinstance(out, tuple | list) else [out]


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    f, a = CASES[name]
    x, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ours, theirs = _flat(f(x, cr)), _flat(f(xt, torch))
    assert len(ours) == len(theirs)
    loss, tloss = 0.0, 0.0
    for o, t in zip(ours, theirs, strict=True):
        assert isinstance(o, cr.Tensor), type(o)
        assert o.dtype == np.dtype(str(t.dtype).removeprefix("torch.")), (o.dtype, t.dtype)
        assert o.shape == tuple(t.shape)
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-13)
        if t.requires_grad:
            w = rng.normal(size=tuple(t.shape))
            loss, tloss = loss + (o * w).nansum(), tloss + (t * torch.tensor(w)).nansum()
    if isinstance(tloss, torch.Tensor):
        loss.backward()
        tloss.backward()
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float32_and_grad_of_quantile_and_cdist(dtype):
    a = A.astype(dtype)
    x, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (x.quantile(0.3, dim=0).sum() + cr.cdist(x, x[:2] + 1).sum()).backward()
    (xt.quantile(0.3, dim=0).sum() + torch.cdist(xt, xt[:2] + 1).sum()).backward()
    assert x.grad.dtype == np.dtype(dtype)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


# what PyTorch refuses: (function of the library, the part of chainrule's message)
REFUSED = {
    "int_mean": (lambda L: L.tensor([1, 2]).mean(), "could not infer output dtype"),
    "int_mean_function": (lambda L: L.mean(L.tensor([[1, 2]]), 0), "could not infer output dtype"),
    "bool_mean": (lambda L: L.tensor([True]).mean(), "could not infer output dtype"),
    "int_quantile": (lambda L: L.tensor([1, 2]).quantile(0.5), "float or double"),
    "quantile_out_of_range": (lambda L: L.tensor([1.0, 2.0]).quantile(1.5), r"\[0, 1\]"),
    "quantile_empty": (lambda L: L.tensor([]).quantile(0.5), "non-empty"),
    "kthvalue_k": (lambda L: L.tensor([1.0, 2.0]).kthvalue(3), "out of range"),
    "unfold_size": (lambda L: L.tensor([1.0, 2.0]).unfold(0, 3, 1), "size 3"),
    "unfold_step": (lambda L: L.tensor([1.0, 2.0]).unfold(0, 1, 0), "step"),
    "histc_range": (lambda L: L.tensor([1.0]).histc(4, 2, 1), "max must be larger"),
    "histc_int": (lambda L: L.tensor([1, 2]).histc(4), "floating-point"),
    "histogram_int": (lambda L: L.histogram(L.tensor([1, 2]), 4), "floating-point"),
    "cdist_dims": (lambda L: L.cdist(L.ones(2, 3), L.ones(2, 4)), "same last"),
    "cdist_negative_p": (lambda L: L.cdist(L.ones(2, 3), L.ones(2, 3), p=-1), "p must be"),
    "searchsorted_rows": (lambda L: L.searchsorted(L.ones(2, 3), L.ones(3, 1)), "leading dimensions"),
    "bucketize_2d": (lambda L: L.bucketize(L.ones(3), L.ones(2, 2)), "1-d"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refuses_as_torch(name):
    f, message = REFUSED[name]
    with pytest.raises((RuntimeError, IndexError)):
        f(torch)
    with pytest.raises((RuntimeError, IndexError), match=message):
        f(cr)


def test_int_mean_with_dtype_and_float_mean_still_work():
    assert cr.tensor([1, 2]).mean(dtype=cr.float64).item() == torch.tensor([1, 2]).mean(dtype=torch.float64).item()
    assert cr.tensor([1, 2]).float().mean().item() == 1.5


@pytest.mark.parametrize("n", [5, 40])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_sort_ties_in_stable_order_as_torch_stable(n, descending, dtype):
    a = np.random.default_rng(n).integers(0, 3, size=(3, n)).astype(dtype)
    # (PyTorch's default, stable=False, orders ties as its introsort leaves them: the same
    # order here, chainrule.numpy.torch_tie_order)
    for stable in (True, False):
        theirs = torch.tensor(a).sort(dim=1, descending=descending, stable=stable)
        ours = cr.tensor(a).sort(dim=1, descending=descending, stable=stable)
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(cr.tensor(a).argsort(dim=1, descending=descending, stable=stable).numpy(),
                                      torch.tensor(a).argsort(dim=1, descending=descending, stable=stable).numpy())
    top = cr.tensor(a).topk(3, dim=1, largest=descending)
    np.testing.assert_array_equal(np.take_along_axis(a, top.indices.numpy(), 1), top.values.numpy())
    np.testing.assert_array_equal(top.values.numpy(), torch.tensor(a).topk(3, dim=1, largest=descending).values)


@pytest.mark.parametrize(("dim", "size", "step"), [(0, 3, 2), (0, 2, 2), (1, 2, 1)])
def test_unfold_is_a_view_as_torch(dim, size, step):
    # a write into a window reaches the base; the gradient adds up where windows overlap
    results = []
    for lib in (cr, torch):
        x = lib.arange(12.0).reshape(3, 4)
        u = x.unfold(dim, size, step)
        u[0, 0] = 100.0
        w = lib.arange(float(np.prod(u.shape))).reshape(u.shape)
        y = lib.arange(12.0, requires_grad=True)
        (y.reshape(3, 4).unfold(dim, size, step) * w).sum().backward()
        results.append((tuple(u.shape), x.tolist(), u.tolist(), y.grad.tolist()))
    assert results[0] == results[1]


def test_fill_of_overlapping_windows_writes_the_base_as_torch():
    # (an add_ there is refused: PyTorch's result of it depends on the order it runs in)
    results = []
    for lib in (cr, torch):
        x = lib.arange(8.0)
        x.unfold(0, 3, 2).fill_(-1.0)
        results.append(x.tolist())
    assert results[0] == results[1]
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        cr.arange(8.0).unfold(0, 3, 2).add_(1.0)


@pytest.mark.parametrize(("size", "stride", "offset"), [((2, 2), (1, 2), 1), ((2, 2), (1, 1), 2), ((3,), (2,), None)])
def test_as_strided_values_gradient_and_view_as_torch(size, stride, offset):
    results = []
    for lib in (cr, torch):
        x = lib.arange(6.0, dtype=lib.float64, requires_grad=True)
        y = x.as_strided(size, stride, offset)
        (y * lib.arange(float(np.prod(size)), dtype=lib.float64).reshape(size)).sum().backward()
        base = lib.arange(10.0)
        base[2:].as_strided((2,), (1,), offset and offset + 2)[1] = -1.0  # (an offset counts from base[0])
        results.append((y.tolist(), x.grad.tolist(), base.tolist()))
    assert results[0] == results[1]
    np.testing.assert_array_equal(cr.as_strided(cr.arange(6.0), size, stride, offset).numpy(),
                                  torch.as_strided(torch.arange(6.0), size, stride, offset).numpy())
    with pytest.raises(RuntimeError, match="as_strided"):
        cr.arange(6.0).as_strided((7,), (1,))
    with pytest.raises(RuntimeError, match="clone"):
        cr.arange(6.0).reshape(2, 3).t().as_strided((2,), (1,))


@pytest.mark.parametrize(("size", "stride", "offset"), [((3, 2), (2, 1), 1), ((2, 2), (1, 1), 0), ((4,), (2,), None)])
def test_as_strided_per_example_under_vmap_as_torch(size, stride, offset):
    """Each example's view of its own elements, and the gradient per example."""
    x = np.arange(24.0).reshape(3, 8)
    view = lambda v: v.as_strided(size, stride, offset)  # noqa: E731
    loss = lambda v: (view(v) ** 2).sum()  # noqa: E731
    def per_example(lib):
        return lib.func.vmap(view)(lib.tensor(x)), lib.func.vmap(lib.func.grad(loss))(lib.tensor(x))

    with warnings.catch_warnings():  # batched, not a loop over the examples (which warns)
        warnings.simplefilter("error")
        ours = per_example(cr)
    theirs = per_example(torch)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(RuntimeError, match="as_strided"):  # an example's view reaching past its elements
        cr.func.vmap(lambda v: v.as_strided((8,), (1,), 1))(cr.tensor(x))

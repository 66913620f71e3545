"""Sorting and running extremes of eager Tensors as PyTorch's: NaN counts as the largest
value (first in a descending sort and in topk), descending sorts of bool, unsigned and the
most negative integer, cummax/cummin through NaN, and mode; values, indices and gradients
against torch."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

NAN = float("nan")
ROWS = {
    "nan": [1.0, NAN, -1.0, NAN, 1.0, -0.0, 0.0, np.inf],
    "ties": [2.0, 1.0, 2.0, 1.0, 2.0],
    "uint8": np.array([0, 5, 0, 3, 255], dtype=np.uint8),
    "int64": np.array([-(2**63), 5, 0, 2**63 - 1, 5], dtype=np.int64),
    "bool": np.array([True, False, True, False]),
}


def both(name):
    a = np.asarray(ROWS[name])
    return cr.tensor(a), torch.tensor(a)


def same(ours, theirs):
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())


@pytest.mark.parametrize("name", sorted(ROWS))
def test_sorts_are_torch_s(name):
    x, t = both(name)
    for descending in (False, True):
        got, want = x.sort(descending=descending, stable=True), t.sort(descending=descending, stable=True)
        same(got.values, want.values)
        same(got.indices, want.indices)
        same(x.argsort(descending=descending, stable=True), t.argsort(descending=descending, stable=True))
        same(cr.sort(x, dim=0, descending=descending, stable=True)[1],
             torch.sort(t, dim=0, descending=descending, stable=True)[1])
    if name in ("nan", "uint8", "int64"):  # topk of distinct leading values (PyTorch leaves ties unordered)
        k = 3 if name == "nan" else 2
        same(x.topk(k).values, t.topk(k).values)
        same(x.topk(k).indices, t.topk(k).indices)


def test_descending_sort_and_topk_of_a_matrix_with_their_gradients():
    a = np.array([[3.0, NAN, 1.0], [0.5, 2.0, 2.5]])
    x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    got = [x.sort(dim=1, descending=True), x.topk(2, dim=1), x.topk(1, dim=0, largest=True)]
    want = [t.sort(dim=1, descending=True), t.topk(2, dim=1), t.topk(1, dim=0, largest=True)]
    for g, w in zip(got, want, strict=True):
        same(g.values, w.values)
        same(g.indices, w.indices)
    w = np.arange(1.0, 7.0).reshape(2, 3)
    (cr.nan_to_num(got[0].values) * cr.tensor(w)).sum().backward()
    (torch.nan_to_num(want[0].values) * torch.tensor(w)).sum().backward()
    same(x.grad, t.grad)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_running_extremes_go_through_nan_as_torch_s(name):
    a = np.array([[1.0, NAN, -1.0, NAN, 5.0], [2.0, 1.0, 2.0, 1.0, 2.0]])
    x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    got, want = getattr(x, name)(1), getattr(t, name)(1)
    same(got.values, want.values)
    same(got.indices, want.indices)
    cr.nan_to_num(got.values).sum().backward()
    torch.nan_to_num(want.values).sum().backward()
    same(x.grad, t.grad)
    i = np.array([3, 1, 3, 1, 4])
    same(getattr(cr.tensor(i), name)(0).indices, getattr(torch.tensor(i), name)(0).indices)


def test_mode_is_torch_s():
    cases = [np.array([3, 1, 3, 2, 2, 1]), np.array([[1.0, 2.0, 2.0], [5.0, 5.0, 1.0]]),
             np.array([[[4, 4], [1, 4]], [[0, 2], [2, 2]]]), np.array(7.0)]
    for a in cases:
        for dim in range(-1, a.ndim) if a.ndim else [-1]:
            for keepdim in (False, True):
                got, want = cr.tensor(a).mode(dim, keepdim), torch.tensor(a).mode(dim, keepdim)
                same(got.values, want.values)
                same(got.indices, want.indices)
                same(cr.mode(cr.tensor(a), dim, keepdim).indices, torch.mode(torch.tensor(a), dim, keepdim).indices)
    m = [[1.0, 2.0, 2.0], [5.0, 5.0, 1.0]]
    x, t = (lib.tensor(m, dtype=lib.float64, requires_grad=True) for lib in (cr, torch))
    x.mode(0).values.sum().backward()
    t.mode(0).values.sum().backward()
    same(x.grad, t.grad)


def test_median_propagates_nan_and_nanmedian_leaves_it_out_as_torch_s():
    a = np.array([[NAN, 1.0, -1.0, 3.0], [2.0, NAN, 5.0, NAN], [4.0, 3.0, 2.0, 1.0], [1.0, NAN, 1.0, 1.0]])
    x, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for name in ("median", "nanmedian"):
        got, want = getattr(cr, name)(x, 1), getattr(torch, name)(t, 1)
        same(got.values, want.values)
        same(got.indices, want.indices)
        same(getattr(x, name)(), getattr(t, name)())
    (cr.nanmedian(x, 0).values.sum() + cr.nanmedian(x[1:])).backward()
    (torch.nanmedian(t, 0).values.sum() + torch.nanmedian(t[1:])).backward()
    same(x.grad, t.grad)
    all_nan = np.full((2, 3), NAN)  # (the index of an all-NaN row is PyTorch's implementation's)
    same(cr.nanmedian(cr.tensor(all_nan), 1).values, torch.nanmedian(torch.tensor(all_nan), 1).values)
    same(cr.tensor(all_nan).nanmedian(), torch.tensor(all_nan).nanmedian())


TIE_PICKS = {
    "sort": lambda x, d: x.sort(d), "sort-descending": lambda x, d: x.sort(d, descending=True),
    "argsort": lambda x, d: (None, x.argsort(d)), "topk-1": lambda x, d: x.topk(1, d),
    "topk-3": lambda x, d: x.topk(3, d), "topk-3-smallest": lambda x, d: x.topk(3, d, largest=False),
    "topk-3-unsorted": lambda x, d: x.topk(3, d, sorted=False), "topk-all": lambda x, d: x.topk(x.shape[d], d),
    "kthvalue-1": lambda x, d: x.kthvalue(1, d), "kthvalue-middle": lambda x, d: x.kthvalue((x.shape[d] + 1) // 2, d),
    "kthvalue-last": lambda x, d: x.kthvalue(x.shape[d], d), "mode": lambda x, d: x.mode(d),
    "max": lambda x, d: x.max(d), "min": lambda x, d: x.min(d), "median": lambda x, d: x.median(d),
}


@pytest.mark.parametrize("length", [3, 5, 17, 40, 200])
@pytest.mark.parametrize("name", sorted(TIE_PICKS))
def test_which_of_equal_values_is_picked_is_torch_s(name, length):
    # PyTorch's CPU algorithms (libstdc++'s introsort, partial_sort and nth_element, ATen's
    # quickselect) are deterministic: the same index for the same row, and the gradient goes there
    rng = np.random.default_rng(length)
    a = rng.integers(0, 3, size=(4, length)).astype(float)
    a[0, rng.integers(0, length, 2)] = NAN
    a[1, : length // 2] = -0.0 if name != "mode" else a[1, : length // 2]
    if name == "mode":
        a[0] = np.nan_to_num(a[0])  # (PyTorch's mode of a long row with NaN sorts by <, which NaN breaks)
    for dim in (1, 0):
        b = np.ascontiguousarray(a.T) if dim == 0 else a
        x, t = cr.tensor(b, requires_grad=True), torch.tensor(b, requires_grad=True)
        got, want = TIE_PICKS[name](x, dim), TIE_PICKS[name](t, dim)
        same(got[1], want[1])
        if want[0] is not None:
            w = np.arange(1.0, want[0].numel() + 1).reshape(tuple(want[0].shape))
            (cr.nan_to_num(got[0]) * cr.tensor(w)).sum().backward()
            (torch.nan_to_num(want[0]) * torch.tensor(w)).sum().backward()
            same(x.grad, t.grad)


def test_a_call_past_the_tie_budget_keeps_equal_values_in_their_order():
    # (PyTorch's algorithms run in Python, so only calls of at most 2048 elements take them)
    a = np.random.default_rng(0).integers(0, 3, size=(2, 1500)).astype(float)
    stable = np.argsort(a, axis=1, kind="stable")
    np.testing.assert_array_equal(cr.tensor(a).sort(1)[1].numpy(), stable)
    np.testing.assert_array_equal(cr.tensor(a).topk(4, 1, largest=False)[1].numpy(), stable[:, :4])

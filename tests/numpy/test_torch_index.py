"""Indexing an eager Tensor with integers beside advanced indices, as PyTorch reads it:
the integers (and 0-d integer Tensors) select first, so the axes are where PyTorch puts
them (NumPy would move the advanced axes to the front); reading, gradients and writes
against torch."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

CASES = [
    ((2, 3, 4), (1, slice(None), [True, False, True, False])),
    ((2, 3, 4), (1, slice(None), [0, 2])),
    ((2, 3, 4), (-1, slice(None), [2, 2, 0])),
    ((2, 3, 4, 5), (slice(None), [0, 1], 2, [0, 1])),
    ((2, 3, 4, 5), (0, slice(1, None), [[0], [3]], slice(None, None, 2))),
    ((2, 3, 4), ([0, 1], 1, [0, 2])),
    ((2, 3, 4), (Ellipsis, 1, [0, 2])),
    ((2, 3, 4), (1, Ellipsis, [3, 0])),
    ((2, 3, 4), (None, 1, slice(None), [2, 0], None)),
    ((2, 3, 4), (-1, [[0, 1], [1, 0]], slice(1, 3))),
    ((2, 3, 4), (1, slice(None), "array")),
    ((2, 3, 4), ("scalar", slice(None), [0, 2])),
    ((2, 3, 4), (1, slice(None), "mask")),
    ((2, 3, 4), ("scalar", slice(None))),
]


def key_for(lib, key):
    out = []
    for e in key:
        if e == "array":
            e = lib.tensor([3, 1])
        elif e == "scalar":
            e = lib.tensor(1)
        elif e == "mask":
            e = lib.tensor([True, False, False, True])
        out.append(e)
    return tuple(out)


REPEATS = {2, 9}  # the cases that select a position twice


@pytest.mark.parametrize(("case_id", "shape", "key"), [(i, *c) for i, c in enumerate(CASES)],
                         ids=[str(i) for i in range(len(CASES))])
def test_reads_gradients_and_writes_are_torch_s(case_id, shape, key):
    a = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = x[key_for(cr, key)], tx[key_for(torch, key)]
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    w = np.random.default_rng(0).standard_normal(tuple(ty.shape))
    (y * cr.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    # a write of a value in PyTorch's layout, broadcast too
    for value in (np.arange(w.size, dtype=np.float64).reshape(w.shape) - 50, 7.0):
        z, tz = cr.tensor(a), torch.tensor(a)
        z[key_for(cr, key)] = cr.tensor(value) if isinstance(value, np.ndarray) else value
        tz[key_for(torch, key)] = torch.tensor(value) if isinstance(value, np.ndarray) else value
        np.testing.assert_array_equal(z.numpy(), tz.numpy())
    # recorded: a write into a computed Tensor, differentiated in both the Tensor and the value
    v = cr.tensor(np.ones(tuple(ty.shape)), requires_grad=True)
    tv = torch.tensor(np.ones(tuple(ty.shape)), requires_grad=True)
    z, tz = x * 2, tx * 2
    z[key_for(cr, key)] = v * 3
    tz[key_for(torch, key)] = tv * 3
    np.testing.assert_array_equal(z.detach().numpy(), tz.detach().numpy())
    x.grad, tx.grad = None, None
    (z * z).sum().backward()
    (tz * tz).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    if case_id not in REPEATS:  # a position written twice: the value written first gets 0 here, as it is
        np.testing.assert_array_equal(v.grad.numpy(), tv.grad.numpy())  # overwritten (PyTorch gives it the gradient)


def test_a_zero_d_integer_tensor_selects_a_view_as_an_int():
    x = cr.arange(12.0).reshape(3, 4)
    row = x[cr.tensor(1), :]
    row[0] = -1.0
    assert x[1, 0].item() == -1.0


def test_numpy_s_meaning_stays_inside_the_transforms():
    a = np.arange(24.0).reshape(2, 3, 4)
    assert cr.grad(lambda v: v[1, :, [0, 2]].sum())(a).shape == (2, 3, 4)
    assert cr.jit(lambda v: v[1, :, [0, 2]])(a).shape == a[1, :, [0, 2]].shape == (2, 3)


def test_the_reading_costs_memory_of_the_selection_not_of_the_tensor():
    import tracemalloc

    x = cr.zeros(200, 200, 500)  # 20 million elements
    tracemalloc.start()
    try:
        y = x[1, :, [0, 2]]
        x[-1, ..., [3]] = 5.0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert tuple(y.shape) == (200, 2) and float(x[-1, 7, 3]) == 5.0
    assert peak < 5_000_000  # the selection's coordinates, not an index of every element

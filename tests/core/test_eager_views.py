"""In-place writes into views of eager Tensors, against PyTorch (float64).

Basic indexing, ``view``/``reshape``/``flatten``, ``transpose``/``t``/``permute``/``T``,
``unsqueeze``, ``narrow``, ``select``, ``diagonal``, ``split``/``chunk``/``unbind`` and
``real``/``imag`` of a complex Tensor make views: a write into one reaches its base and the
base's other views, on a recorded graph too, and the gradient is PyTorch's. Where PyTorch
refuses, chainrule refuses with a message that names the way out; where PyTorch refuses
only because it has discarded a value that chainrule still holds, chainrule gives the
derivative of the computation as recorded.
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

torch = pytest.importorskip("torch")

X = [[1.0, -2.0, 3.0], [0.5, 4.0, -1.5]]

# name: program over ``lib`` (chainrule or torch) and ``x`` (a leaf that requires grad);
# it returns the Tensors whose values are compared, and the loss whose gradient is.
PROGRAMS = {
    "index_add": lambda lib, x: _last(y := x * 2, y[0, 1].add_(5), (y * y).sum()),
    "index_mul_by_graph": lambda lib, x: _last(y := x * 1, y[1].mul_(x[0]), (y * y).sum()),
    "slice_then_index": lambda lib, x: _last(y := x * 1, y[:, 1:][1, 0].sub_(x[0, 0]), y.sin().sum()),
    "view_slice": lambda lib, x: _last(y := x * 1, y.view(6)[1:4].mul_(x.reshape(6)[:3]), (y ** 3).sum()),
    "reshape_index": lambda lib, x: _last(y := x * 3, y.reshape(3, 2)[2].div_(x[0, 0]), y.exp().sum()),
    "flatten_index": lambda lib, x: _last(y := x * 1, y.flatten()[4].mul_(3), (y * x).sum()),
    "transpose_row": lambda lib, x: _last(y := x * 1, y.t()[0].mul_(x[1, 2]), (y * y).sum()),
    "permute_and_T": lambda lib, x: _last(y := x * 1, y.T[2].add_(1), y.permute(1, 0)[1, 1].mul_(5),
                                           (y * y).sum()),
    "unsqueeze_select_narrow": lambda lib, x: _last(
        y := x * 1, y.unsqueeze(0).transpose(1, 2).select(2, 1).narrow(1, 0, 2).add_(10), (y * y).sum()),
    "diagonal": lambda lib, x: _last(y := x[:, :2] * 1, y.diagonal().mul_(2), (y * y).sum()),
    "setitem_into_view": lambda lib, x: _last(y := x * 1, y[0].__setitem__(1, x[1, 0] * 7), (y * y).sum()),
    "write_base_view_follows": lambda lib, x: _last(y := x * 1, v := y[1:, 1:], y.mul_(2), v.add_(1),
                                                     (v * y[:, :2]).sum()),
    "sibling_views": lambda lib, x: _last(y := x * 1, v := y[0], w := y[:, 1], v.mul_(3), (w * w).sum()),
    "backward_twice": lambda lib, x: _last(y := x * 2, y[0].add_(5), y.sum().backward(retain_graph=True),
                                           y[1].mul_(2), y.sum()),
    "real_and_imag": lambda lib, x: _last(y := lib.complex(x, x * x) * 1, y.real.mul_(3), y.imag.add_(x),
                                          r := y.imag, y.mul_(x), (y * y.conj()).real.sum() + (r * x).sum()),
    "views_of_a_constant_get_a_graph": lambda lib, x: _last(
        a := lib.tensor(np.zeros(4)), a[1:3].add_(x[0, :2]), (a * a).sum()),
}


def _last(*steps):
    """The program's last value (the loss), the ones before it run for their effects."""
    return steps[-1]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_in_place_write_into_a_view_matches_torch(name):
    results = []
    for lib in (cr, torch):
        x = lib.tensor(np.array(X), requires_grad=True)
        loss = PROGRAMS[name](lib, x)
        loss.backward()
        results.append((float(loss.item()), np.asarray(x.grad.tolist())))
    (cr_loss, cr_grad), (torch_loss, torch_grad) = results
    np.testing.assert_allclose(cr_loss, torch_loss, rtol=1e-12)
    np.testing.assert_allclose(cr_grad, torch_grad, rtol=1e-12, atol=1e-12)


# PyTorch refuses a recorded write into one of several views made by one call (split,
# chunk, unbind); chainrule allows it, with the gradient of the same write into views
# made one at a time, which PyTorch allows.
SEVERAL = {
    "split": (lambda y: y.split([1, 2], dim=1), lambda y: (y.narrow(1, 0, 1), y.narrow(1, 1, 2))),
    "chunk": (lambda y: y.chunk(2), lambda y: (y[:1], y[1:])),
    "unbind": (lambda y: y.unbind(1), lambda y: tuple(y.select(1, i) for i in range(3))),
}


@pytest.mark.parametrize("name", sorted(SEVERAL))
def test_write_into_one_of_several_views(name):
    pieces, one_at_a_time = SEVERAL[name]
    results = []
    for lib, make in ((cr, pieces), (torch, one_at_a_time)):
        x = lib.tensor(np.array(X), requires_grad=True)
        y = x * 1
        parts = make(y)
        parts[-1].mul_(parts[0].sum() * x[0, 0])
        loss = (y * y).sum()
        loss.backward()
        results.append((y.tolist(), x.grad.tolist()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_values_after_writes_follow_torch(lib):
    x = lib.tensor(np.array(X), requires_grad=True)
    y = x * 1
    v, col = y[0], y[:, 2]
    v.add_(1)
    y.t()[2].mul_(10)
    with lib.no_grad():
        col[1].zero_()
    got = (y.tolist(), v.tolist(), col.tolist())
    expected = ([[2.0, -1.0, 40.0], [0.5, 4.0, 0.0]], [2.0, -1.0, 40.0], [40.0, 0.0])
    assert got == expected


def test_no_grad_writes_through_views_reach_the_leaf_as_in_torch():
    x = cr.tensor(np.array(X), requires_grad=True)
    with cr.no_grad():
        x[0].mul_(3)
        x.t()[1].add_(1)
        x.diagonal().sub_(1)
    assert x.tolist() == [[2.0, -5.0, 9.0], [0.5, 4.0, -1.5]]


def test_advanced_indexing_copies_as_in_torch():
    x = cr.tensor(np.array(X), requires_grad=True)
    y = x * 1
    y[[0, 1]].mul_(2)
    y[y > 0].zero_()
    assert y.tolist() == X


@pytest.mark.parametrize(("program", "message"), [
    (lambda x: x[0].add_(1), "a view of a leaf Tensor that requires grad"),
    (lambda x: (x * 1).expand(4, 2, 3).add_(1), "more than one element of the written-to tensor"),
    (lambda x: cnp.broadcast_to((x * 1)[None], (3, 2, 3)).mul_(2), "more than one element of the written-to"),
    (lambda x: (x * 1).detach().add_(x), "comes from .detach()"),
], ids=["view_of_leaf", "expand", "broadcast_to", "detached_gets_graph"])
def test_ambiguous_writes_are_refused(program, message):
    x = cr.tensor(np.array(X), requires_grad=True)
    with pytest.raises(RuntimeError, match=message):
        program(x)


@pytest.mark.parametrize("write", [lambda e: e.fill_(2.0), lambda e: e.zero_(), lambda e: e[1].fill_(3.0),
                                   lambda e: e.__setitem__(0, 5.0), lambda e: e.add_(1),
                                   lambda e: e.copy_(e * 0 + 1), lambda e: e.__setitem__((slice(None), 0), 5.0)],
                         ids=["fill_", "zero_", "row_fill_", "setitem_row", "add_", "copy_", "setitem_column"])
def test_writes_into_an_expanded_view_as_torch(write):
    # a fill writes every element of its base, one value everywhere, as PyTorch's; writes
    # that could give one element two values raise PyTorch's error
    torch = pytest.importorskip("torch")

    results = []
    for lib in (cr, torch):
        base = lib.arange(3.0) - 1
        try:
            write(base.expand(2, 3))
            results.append(base.tolist())
        except RuntimeError as error:
            assert "more than one element of the written-to tensor" in str(error)
            results.append("refused")
    assert results[0] == results[1]


def test_view_made_without_recording_refuses_a_recorded_write():
    x = cr.tensor(np.array(X), requires_grad=True)
    y = x * 1
    with cr.no_grad():
        v = y[0]
    with pytest.raises(RuntimeError, match="made while recording was off"):
        v.add_(1)


@pytest.mark.parametrize("write", [
    lambda y: y[0].add_(1),
    lambda y: y.add_(1),
], ids=["through_a_view", "into_the_base"])
def test_saved_value_written_outside_the_graph_is_caught(write):
    x = cr.tensor(np.array(X), requires_grad=True)
    y = x * 1
    z = y[0].sin() + y.cos().sum()  # sin saved a view of y, cos saved y
    with cr.no_grad():
        write(y)
    with pytest.raises(RuntimeError, match="modified in place afterwards"):
        z.sum().backward()


def test_detach_shares_memory_and_the_version_count():
    x = cr.tensor(np.array(X), requires_grad=True)
    y = x * 1
    z = (y * y).sum()  # saved y
    d = y.detach()
    d.zero_()
    assert y.tolist() == [[0.0] * 3] * 2
    with pytest.raises(RuntimeError, match="modified in place afterwards"):
        z.backward()


def test_data_writes_are_not_counted_as_in_torch():
    x = cr.tensor(np.array(X), requires_grad=True)
    z = (x * x).sum()
    x.data.mul_(2)  # PyTorch's escape hatch: reaches x, not checked by backward
    z.backward()
    np.testing.assert_allclose(x.grad.tolist(), 4 * np.array(X))


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_contiguous_copies_a_transpose_as_in_torch(lib):
    x = lib.tensor(np.array(X), requires_grad=True)
    y = x * 1
    assert y.is_contiguous() and not y.t().is_contiguous()
    c = y.t().contiguous()
    assert c.is_contiguous()
    c[0] = 5.0
    y[1].contiguous().mul_(3)  # already C-ordered: the view itself, so the write reaches y
    (c * c).sum().backward()
    assert y.tolist() == [X[0], [3 * v for v in X[1]]]
    assert c.tolist() == [[5.0, 5.0], [-2.0, 4.0], [3.0, -1.5]]
    assert x.grad.tolist() == [[0.0, -4.0, 6.0], [0.0, 8.0, -3.0]]


def test_create_graph_after_a_recorded_in_place_write_matches_torch():
    results = []
    for lib in (cr, torch):
        x = lib.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
        y = x ** 2
        y[1:].mul_(x[:2])  # through a view: the base is rebound
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (g ** 2).sum().backward()
        results.append((g.tolist(), x.grad.tolist()))
    assert results[0] == results[1]


@pytest.mark.parametrize("lib", [cr, torch], ids=["chainrule", "torch"])
def test_retain_grad_follows_the_tensor_through_an_in_place_write(lib):
    x = lib.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 1
    y.retain_grad()
    y[0].mul_(5)
    (y * y).sum().backward()
    assert y.grad.tolist() == [10.0, 4.0, 6.0]
    assert x.grad.tolist() == [50.0, 4.0, 6.0]


# view() of what PyTorch lays out C-ordered (a convolution's output, a chunk of a result of
# its own) as PyTorch: accepted or refused as there, whatever order chainrule keeps the values in
VIEWS_OF_A_CONVOLUTION = {
    "output": (lambda o, lib: o.view(4, -1), True),
    "chunk_of_a_result": (lambda o, lib: lib.sigmoid((o * 2).chunk(2, 1)[0]).view(4, -1), True),
    "first_example": (lambda o, lib: o[0].view(-1), True),
    "channel_slice": (lambda o, lib: o[:, :4].view(4, -1), True),
    "transposed": (lambda o, lib: o.transpose(2, 3).view(-1), False),
    "one_row": (lambda o, lib: o[:, :, 1].view(4, -1), False),
}


@pytest.mark.parametrize("name", sorted(VIEWS_OF_A_CONVOLUTION))
def test_view_of_a_convolution_is_accepted_or_refused_as_in_torch(name):
    program, accepted = VIEWS_OF_A_CONVOLUTION[name]
    x0 = np.random.default_rng(0).normal(size=(4, 3, 5, 5))
    weights = torch.nn.Conv2d(3, 8, 3).double().state_dict()
    results = []
    for lib in (torch, cr):
        conv = lib.nn.Conv2d(3, 8, 3).double()
        conv.load_state_dict({k: lib.tensor(v.numpy()) for k, v in weights.items()})
        x = lib.tensor(x0, requires_grad=True)
        if not accepted:
            with pytest.raises(RuntimeError, match="view size is not compatible"):
                program(conv(x), lib)
            continue
        y = program(conv(x), lib)
        (y * y).sum().backward()
        results.append([y.detach().numpy(), x.grad.numpy()])
    for ours, theirs in zip(*results[::-1], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_writes_through_a_view_of_a_convolution_reach_it_as_in_torch():
    # the view shares the output's memory, as PyTorch's does (not a copy that takes the write)
    x0 = np.random.default_rng(1).normal(size=(3, 2, 5, 5))
    weights = torch.nn.Conv2d(2, 4, 3).double().state_dict()
    results = []
    for lib in (torch, cr):
        conv = lib.nn.Conv2d(2, 4, 3).double()
        conv.load_state_dict({k: lib.tensor(v.numpy()) for k, v in weights.items()})
        x = lib.tensor(x0, requires_grad=True)
        y = conv(x)
        part = y[:, 1:3]
        y.mul_(2)
        y.view(3, -1)[0, 0] = 5.0
        part.view(3, -1)[1, 3] = -1.0
        z = lib.nn.functional.relu(y, inplace=True)
        (z ** 2).sum().backward()
        results.append([y.detach().numpy(), part.detach().numpy(), x.grad.numpy(), conv.weight.grad.numpy()])
    for ours, theirs in zip(*results[::-1], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)

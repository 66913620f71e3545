"""Differences from PyTorch 2.13 and JAX (the oracles here) that programs met: each test
checks that chainrule now behaves as the real library does."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

MODIFIED = "one of the variables needed for gradient computation has been modified by an inplace operation"


def _linear_then(lib, change):
    """A loss through ``x @ w.T`` (the view ``w.T`` saved for the backward pass), then
    ``change(lib, layer, optimizer)`` writing into the weight before ``backward()``."""
    lib.manual_seed(0)
    layer = lib.nn.Linear(2, 2, bias=False)
    x = lib.tensor([[1.0, 2.0]], requires_grad=True, dtype=layer.weight.dtype)
    opt = lib.optim.SGD(layer.parameters(), lr=1.0)
    loss = (x @ layer.weight.T).sum()
    layer.weight.grad = lib.ones_like(layer.weight)
    change(lib, layer, opt)
    loss.backward()


@pytest.mark.parametrize("change", [
    lambda lib, layer, opt: opt.step(),
    lambda lib, layer, opt: lib.nn.init.normal_(layer.weight),
    lambda lib, layer, opt: layer.load_state_dict({"weight": lib.zeros_like(layer.weight)}),
    lambda lib, layer, opt: lib.optim.Adam(layer.parameters()).step(),
], ids=["sgd_step", "init", "load_state_dict", "adam_step"])
def test_a_write_into_a_parameter_reaches_the_views_the_graph_saved(change):
    # optimizer.step() before loss.backward(): the transposed weight that the product saved
    # was changed, and the gradient silently used the new values
    with pytest.raises(RuntimeError, match=MODIFIED):
        _linear_then(torch, change)
    with pytest.raises(RuntimeError, match=MODIFIED):
        _linear_then(cr, change)


INDICES = {  # PyTorch's node: Select and Slice save no Tensor, Index saves the index
    "int": lambda L: 1, "numpy_int": lambda L: np.int64(1), "int_tensor": lambda L: L.tensor(1),
    "slice": lambda L: (slice(None), slice(1, None)), "none": lambda L: (None, 1), "ellipsis": lambda L: (Ellipsis, 1),
    "list": lambda L: [1], "slice_list": lambda L: (slice(None), [0, 2]), "bool": lambda L: True,
    "bool_tensor": lambda L: L.tensor(True), "mask": lambda L: L.tensor([True, False]),
    "ints": lambda L: (0, L.tensor([1])),
}


def _backward_twice(lib, index):
    x = lib.ones(2, 3, requires_grad=True)
    z = x[index(lib)].sum()
    name = type(z.grad_fn.next_functions[0][0]).__name__
    z.backward()
    try:
        z.backward()
    except RuntimeError as e:
        assert "Trying to backward through the graph a second time" in str(e)
        return name, None
    return name, x.grad.tolist()


@pytest.mark.parametrize("index", INDICES.values(), ids=INDICES.keys())
def test_a_second_backward_through_indexing_is_refused_where_pytorchs_index_node_freed_the_index(index):
    # x[[0, 2]] went through a second backward() without retain_graph
    assert _backward_twice(cr, index) == _backward_twice(torch, index)


def _raised(call, *libs):
    """For each library, the exception type ``call(lib)`` raises (None where it returns)
    and, for a RuntimeError, its message."""
    found = []
    for lib in libs:
        try:
            call(lib)
        except Exception as e:  # noqa: BLE001 (the oracle's exception is the result)
            found.append((type(e), str(e)))
        else:
            found.append((None, ""))
    return found


@pytest.mark.parametrize("a, b, dim", [([[1, 2]], [[3, 4]], 1), ([True], [False], 0), ([1.0, 2.0], [3.0, 4.0], 1)])
def test_cosine_similarity_refuses_integers_and_a_dim_out_of_range_as_pytorch(a, b, dim):
    # int inputs gave a value, 1-d ones NumPy's AxisError
    call = lambda lib: lib.nn.functional.cosine_similarity(lib.tensor(a), lib.tensor(b), dim=dim)  # noqa: E731
    (ours, message), (theirs, their_message) = _raised(call, cr, torch)
    assert issubclass(ours, theirs)
    if theirs is RuntimeError:
        assert their_message.split(", yet")[0] in message

"""Differences from PyTorch 2.13 and JAX (the oracles here) that programs met: each test
checks that chainrule now behaves as the real library does."""

import warnings

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


def test_capturable_is_refused_at_the_step_on_the_cpu_as_pytorch():
    # Adam(capturable=True) stepped silently; PyTorch's asserts the parameters are on a GPU
    for lib in (cr, torch):
        p = lib.nn.Parameter(lib.zeros(2))
        opt = lib.optim.Adam([p], capturable=True)
        opt.step()  # nothing to update yet: no refusal
        p.grad = lib.ones_like(p)
        with pytest.raises(AssertionError, match="If capturable=True, params and state_steps must be on supported"):
            opt.step()


@pytest.mark.parametrize("name, options", [("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.1})])
def test_a_parameter_listed_twice_warns_and_is_stepped_twice_as_pytorch(name, options):
    # it raised ValueError, where PyTorch warns (it will become an error there) and steps it twice
    found = []
    for lib in (cr, torch):
        p = lib.nn.Parameter(lib.tensor([1.0, -2.0], dtype=lib.float64))
        with pytest.warns(UserWarning, match="optimizer contains a parameter group with duplicate parameters"):
            opt = getattr(lib.optim, name)([p, p], **options)
        for _ in range(3):
            p.grad = p.detach() * lib.tensor([0.5, 0.25], dtype=lib.float64)
            opt.step()
        found.append(p.detach().numpy().copy())
    np.testing.assert_allclose(found[0], found[1], rtol=1e-13)
    for lib in (cr, torch):
        p = lib.nn.Parameter(lib.zeros(2))
        with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
            lib.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def test_grad_scaler_keeps_its_scale_as_pytorchs():
    # _scale was a float from the start; PyTorch's is None until scale(), then a float32 0-d Tensor
    w = cr.nn.Parameter(cr.ones(2))
    ours, theirs = cr.amp.GradScaler("cpu", init_scale=8.0), torch.amp.GradScaler("cpu", init_scale=8.0)
    assert ours._scale is None is theirs._scale and ours._init_scale == theirs._init_scale == 8.0
    for s in (ours, theirs):
        with pytest.raises(AssertionError, match="Attempted update but _scale is None"):
            s.update()
    opt = cr.optim.SGD([w], lr=0.1)
    ours.scale(w.sum()).backward()
    theirs.scale(torch.ones(2, requires_grad=True).sum())
    assert isinstance(ours._scale, cr.Tensor) and ours._scale.dtype == np.float32 and ours._scale.shape == ()
    assert ours._growth_tracker.dtype == np.int32
    held = ours._scale
    ours.step(opt)
    ours.update(4.0)
    theirs.update(4.0)
    assert held.item() == theirs._scale.item() == 4.0 and ours.state_dict() == theirs.state_dict()


def test_dataloader_says_its_dataset_kind_as_pytorchs():
    # DataLoader._dataset_kind (read by Lightning and Accelerate) was missing
    class Stream(cr.utils.data.IterableDataset):
        def __iter__(self):
            return iter([1, 2])

    from chainrule.utils.data.dataloader import _DatasetKind

    assert cr.utils.data.DataLoader([1, 2])._dataset_kind == _DatasetKind.Map == 0
    assert cr.utils.data.DataLoader(Stream())._dataset_kind == _DatasetKind.Iterable == 1


@pytest.mark.parametrize("read", [memoryview, np.frombuffer, lambda x: x.__array_interface__,
                                  lambda x: x.__array_struct__],
                         ids=["memoryview", "frombuffer", "interface", "struct"])
def test_jit_says_how_to_read_a_traced_values_memory(read):
    # memoryview(x) of a traced value raised 'a bytes-like object is required' without a word of jit
    def f(x):
        read(x * 2)
        return x.sum()

    with pytest.raises((TypeError, AttributeError)) as info:
        cr.jit(f)(np.ones(3))
    assert any("memoryview(np.asarray(x))" in note for note in getattr(info.value, "__notes__", ()))
    with pytest.warns(UserWarning, match="runs without jit"):  # the way out given works
        assert cr.jit(lambda x: (memoryview(np.asarray(x)), x.sum())[1])(np.ones(3)) == 3.0


def _inference_facts(lib):
    """What PyTorch says of Tensors made inside inference_mode(), and what it refuses of them."""
    w, n = lib.ones(2, requires_grad=True), lib.ones(2)
    with lib.inference_mode():
        made, computed, view_of_normal, from_graph = lib.ones(2), n * 2, n[:1], w * 2
        with lib.inference_mode(False):
            normal_inside = lib.ones(1)
        facts = [made.is_inference(), computed.is_inference(), view_of_normal.is_inference(),
                 from_graph.is_inference(), from_graph.requires_grad, normal_inside.is_inference()]
    with lib.no_grad():
        facts.append(lib.ones(1).is_inference())
    facts += [made[:1].is_inference(), made.detach().is_inference(), made.clone().is_inference(),
              (made * 2).is_inference()]
    (made + w).sum().backward()  # add saves nothing: allowed
    refusals = [lambda: made * w, lambda: w.exp() @ made, lambda: made.requires_grad_(),
                lambda: lib.nn.Parameter(made), lambda: made.add_(1), lambda: made.__setitem__(0, 1.0)]
    for refused in refusals:
        with pytest.raises(RuntimeError) as info:
            refused()
        facts.append(str(info.value).split(" (")[0].split(".")[0].removeprefix("add_: ").removeprefix("__setitem__: "))
    return facts


def test_tensors_made_in_inference_mode_are_pytorchs_inference_tensors():
    # is_inference() was always False, and autograd took them
    assert _inference_facts(cr) == _inference_facts(torch)


@pytest.mark.parametrize("op", [lambda h: h.reciprocal(), lambda h: h.cumsum(0)], ids=["reciprocal", "cumsum"])
def test_a_write_into_an_input_that_pytorch_does_not_save_leaves_the_gradient(op):
    # chainrule refused the backward pass: reciprocal saves only its result, cumsum nothing
    found = []
    for lib in (cr, torch):
        x = lib.tensor([0.5, -1.0], requires_grad=True)
        h = x * 1.0
        y = op(h)
        with lib.no_grad():
            h.mul_(10)
        (y * lib.tensor([1.0, 2.0])).sum().backward()
        found.append((type(y.grad_fn).__name__, x.grad.tolist()))
    assert found[0] == found[1]


SOFTMAXES = {"function": lambda L, x, **kw: L.softmax(x, 0, **kw), "method": lambda L, x, **kw: x.log_softmax(1, **kw),
             "functional": lambda L, x, **kw: L.nn.functional.softmax(x, 1, **kw),
             "softmin": lambda L, x, **kw: L.nn.functional.softmin(x, 0, **kw)}


@pytest.mark.parametrize("make", [lambda L: L.tensor([[3, -1], [2, 7]]), lambda L: L.tensor([[True, False]])],
                         ids=["int", "bool"])
@pytest.mark.parametrize("softmax", SOFTMAXES.values(), ids=SOFTMAXES.keys())
def test_softmax_of_integers_is_refused_unless_a_dtype_is_given_as_pytorch(softmax, make):
    # an int64 Tensor raised NumPy's OverflowError ("cannot convert float infinity to integer")
    for lib in (cr, torch):
        with pytest.raises(RuntimeError, match="softmax|softmin|bool"):
            softmax(lib, make(lib))
    ours, theirs = (softmax(lib, make(lib).long(), dtype=lib.float64) for lib in (cr, torch))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


FLOOR_DIVISIONS = {"operator": lambda L, a: a // 0, "reflected": lambda L, a: 1.0 // (a * 0),
                   "function": lambda L, a: L.floor_divide(a, 0.0), "method": lambda L, a: a.floor_divide(L.zeros(3)),
                   "div_floor": lambda L, a: a.div(0, rounding_mode="floor"),
                   "div_trunc": lambda L, a: L.div(a, 0.0, rounding_mode="trunc")}


@pytest.mark.parametrize("divide", FLOOR_DIVISIONS.values(), ids=FLOOR_DIVISIONS.keys())
def test_a_float_floor_division_by_zero_is_inf_and_nan_silently_as_pytorch(divide):
    # NumPy's "divide by zero encountered in floor_divide" reached the user
    found = []
    for lib in (cr, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            found.append(divide(lib, lib.tensor([1.0, -2.0, 0.0])).tolist())
    np.testing.assert_array_equal(*found)


MIXED_KIND_WRITES = {
    "scatter_": lambda L: L.zeros(3, dtype=L.int64).scatter_(0, L.tensor([0]), L.tensor([1.7])),
    "scatter": lambda L: L.zeros(3).scatter(0, L.tensor([0]), L.tensor([1])),
    "scatter_add_": lambda L: L.zeros(3).scatter_add_(0, L.tensor([0]), L.tensor([1])),
    "scatter_add": lambda L: L.zeros(3, dtype=L.int64).scatter_add(0, L.tensor([0]), L.tensor([1.7])),
    "scatter_reduce_": lambda L: L.zeros(3).scatter_reduce_(0, L.tensor([0]), L.tensor([1]), "amax"),
    "index_add_": lambda L: L.zeros(3, dtype=L.int64).index_add_(0, L.tensor([0]), L.tensor([1.7])),
    "index_add": lambda L: L.zeros(3).index_add(0, L.tensor([0]), L.tensor([1])),
    "index_copy_": lambda L: L.zeros(3, dtype=L.int64).index_copy_(0, L.tensor([0]), L.tensor([1.7])),
    "topk_too_many": lambda L: L.arange(6.0).reshape(2, 3).topk(4),
    "topk_negative": lambda L: L.arange(6.0).topk(-1),
}


@pytest.mark.parametrize("write", MIXED_KIND_WRITES.values(), ids=MIXED_KIND_WRITES.keys())
def test_a_source_of_another_kind_and_a_topk_out_of_range_are_refused_as_pytorch(write):
    # 1.7 scattered into an int64 Tensor was written as 1 (PyTorch refuses the dtypes); a
    # topk larger than the dimension raised NumPy's IndexError about an axis
    for lib in (torch, cr):
        with pytest.raises(RuntimeError):
            write(lib)


EMPTY_DIM_REDUCTIONS = {
    "sum": lambda L, x, d, k: x.sum(dim=d, keepdim=k), "mean": lambda L, x, d, k: L.mean(x, d, keepdim=k),
    "var": lambda L, x, d, k: x.var(dim=d, keepdim=k), "std": lambda L, x, d, k: L.std(x, dim=d, keepdim=k),
    "norm": lambda L, x, d, k: x.norm(dim=d, keepdim=k), "amax": lambda L, x, d, k: L.amax(x, d, k),
    "amin": lambda L, x, d, k: x.amin(dim=d, keepdim=k), "nansum": lambda L, x, d, k: x.nansum(d, keepdim=k),
    "nanmean": lambda L, x, d, k: L.nanmean(x, dim=d, keepdim=k),
    "logsumexp": lambda L, x, d, k: x.logsumexp(dim=d, keepdim=k),
    "vector_norm": lambda L, x, d, k: L.linalg.vector_norm(x, dim=d, keepdim=k),
    "var_mean": lambda L, x, d, k: L.var_mean(x, dim=d, keepdim=k)[0],
    "sum_axis_alias": lambda L, x, d, k: x.sum(axis=d, keepdim=k),
    "count_nonzero": lambda L, x, d, k: L.count_nonzero(x, dim=d),
    "any": lambda L, x, d, k: (x > 2).any(dim=d, keepdim=k), "all": lambda L, x, d, k: L.all(x > 2, dim=d),
}

SPREADS = [EMPTY_DIM_REDUCTIONS[name] for name in ("var", "std", "var_mean")]


def _outcome(lib, reduce, data, dim, keepdim):
    """(result, gradient, warnings) of ``reduce`` of ``data``, or the type of the error it raises."""
    x = lib.tensor(data, dtype=lib.float64, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = reduce(lib, x, dim, keepdim)
        except RuntimeError:
            return RuntimeError
    grad = None
    if out.requires_grad:
        out.sum().backward()
        grad = x.grad.numpy()
    return out.detach().numpy(), grad, sorted(type(w.message).__name__ for w in caught)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [[], ()])
@pytest.mark.parametrize("data", [[[1.0, 2.0, 3.0], [4.0, 0.0, 6.0]], 3.0], ids=["2d", "0d"])
@pytest.mark.parametrize("reduce", EMPTY_DIM_REDUCTIONS.values(), ids=EMPTY_DIM_REDUCTIONS.keys())
def test_an_empty_list_of_dims_is_read_as_pytorch_reads_it(reduce, data, dim, keepdim):
    # x.sum(dim=[]) reduces every dim in PyTorch (any/all none, logsumexp only with
    # keepdim); chainrule reduced none, as NumPy's axis=()
    ours, theirs = _outcome(cr, reduce, data, dim, keepdim), _outcome(torch, reduce, data, dim, keepdim)
    if theirs is RuntimeError:
        assert ours is RuntimeError
        return
    if reduce in SPREADS and np.ndim(data):
        # PyTorch's backward of var/std over dim=[] divides by 0 (it counts one element
        # reduced): the gradient is that of the same variance spelled dim=None
        theirs = (theirs[0], _outcome(torch, reduce, data, None, keepdim)[1], theirs[2])
    assert ours[2] == theirs[2]  # the same warnings (var of one element: degrees of freedom)
    for mine, torchs in zip(ours[:2], theirs[:2], strict=True):
        assert (mine is None) == (torchs is None)
        if torchs is not None:
            assert mine.shape == torchs.shape and mine.dtype == torchs.dtype
            np.testing.assert_allclose(mine, torchs, rtol=1e-12, equal_nan=True)


def test_numpys_empty_axis_still_reduces_nothing():
    x = np.arange(6.0).reshape(2, 3)
    for name in ("sum", "mean", "amax", "var", "nansum", "count_nonzero"):
        np.testing.assert_array_equal(getattr(cr.numpy, name)(x, axis=()), getattr(np, name)(x, axis=()))


@pytest.mark.parametrize("reduce", [lambda x: x.all(), lambda x: x.any(1), lambda x: x.all(1, keepdim=True),
                                    lambda x: torch_or_cr(x).any(x, dim=(0, 1))])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "bool"])
def test_all_and_any_of_uint8_are_uint8_as_pytorchs(reduce, dtype):
    # PyTorch's all/any of a uint8 Tensor are uint8 0 or 1 (bool of other dtypes); chainrule's were bool
    x = np.array([[1, 0], [3, 1]], dtype)
    ours, theirs = reduce(cr.tensor(x)), reduce(torch.tensor(x))
    assert ours.dtype == theirs.numpy().dtype
    np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())


def torch_or_cr(x):
    return torch if isinstance(x, torch.Tensor) else cr


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin"])
def test_the_extreme_of_an_empty_tensor_raises_pytorchs_error(name):
    # chainrule raised NumPy's "zero-size array to reduction operation maximum which has no identity"
    message = "Expected reduction dim to be specified for input.numel"
    for lib in (torch, cr):
        with pytest.raises(RuntimeError, match=message):
            getattr(lib.zeros(0, 3), name)()
        with pytest.raises(RuntimeError, match=message):
            getattr(lib, name)(lib.zeros(0))

"""Places where a program written for PyTorch, run with ``import chainrule as torch``,
met a difference from PyTorch 2.13 (the oracle here): each test checks that chainrule
now behaves as PyTorch does."""

import itertools
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.torch_version import TorchVersion

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

VERSIONS = ["1.0", "1.0.0", "1.0a1", "1.0b2", "1.0rc1", "1.0.dev1", "1.0a1.dev2", "1.0.post1", "1.0.post1.dev3",
            "1.0+abc", "1.0+5", "1.0+abc.5", "1.0+5.abc", "1!0.1", "v1.2", "2.13", "2.13.0+cpu", "parrot"]


def test_version_compares_as_pytorchs_torchversion():
    v = cr.__version__
    assert isinstance(v, str) and v == "2.13.0+chainrule0.1.0" and cr.version.__version__ == v
    assert v >= "1.9" and v > (2, 0) and v < "2.14" and v > "2.13" and not v < "1.10"
    assert cr.version.chainrule == "0.1.0" and cr.version.cuda is None
    packaging = pytest.importorskip("packaging.version")
    assert packaging.parse(v) >= packaging.parse("2.0") and v > packaging.Version("2.1")
    theirs = type(torch.__version__)
    for a, b in itertools.product(VERSIONS, VERSIONS):
        for method in ("__eq__", "__lt__", "__le__", "__gt__", "__ge__"):
            assert getattr(TorchVersion(a), method)(b) == getattr(theirs(a), method)(b), (a, method, b)
    assert {TorchVersion("1.0"): 1}["1.0"] == 1


SCHEDULES = {  # name: (arguments, the metric that step() takes or None)
    "StepLR": (lambda S, o: S.StepLR(o, 2, 0.5), None),
    "MultiStepLR": (lambda S, o: S.MultiStepLR(o, [3, 1, 3], 0.5), None),
    "CosineAnnealingLR": (lambda S, o: S.CosineAnnealingLR(o, T_max=4), None),
    "OneCycleLR": (lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=10), None),
    "OneCycleLR3": (lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, three_phase=True,
                                               anneal_strategy="linear"), None),
    "ReduceLROnPlateau": (lambda S, o: S.ReduceLROnPlateau(o, patience=0), 1.0),
    "LambdaLR": (lambda S, o: S.LambdaLR(o, lambda e: 0.9 ** e), None),
    "ConstantLR": (lambda S, o: S.ConstantLR(o, factor=0.5, total_iters=4), None),
    "CyclicLR": (lambda S, o: S.CyclicLR(o, 0.01, 0.1, step_size_up=2), None),
    "ExponentialLR": (lambda S, o: S.ExponentialLR(o, 0.9), None),
    "LinearLR": (lambda S, o: S.LinearLR(o), None),
    "PolynomialLR": (lambda S, o: S.PolynomialLR(o, 4), None),
    "CosineAnnealingWarmRestarts": (lambda S, o: S.CosineAnnealingWarmRestarts(o, 2), None),
}


def _scheduled(lib, name, steps, state=None):
    """The scheduler ``name`` of ``lib`` on an SGD with momentum, loaded from ``state``
    (if given) and stepped ``steps`` times; and the learning rates it set."""
    optimizer = lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=0.1, momentum=0.9)
    make, metric = SCHEDULES[name]
    scheduler = make(lib.optim.lr_scheduler, optimizer)
    if state is not None:
        scheduler.load_state_dict(state)
    lrs = []
    for _ in range(steps):
        optimizer.step()
        scheduler.step() if metric is None else scheduler.step(metric)
        lrs.append(optimizer.param_groups[0]["lr"])
    return scheduler, lrs


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_scheduler_state_dict_is_pytorchs_and_loads_across(name):
    ours, _ = _scheduled(cr, name, 3)
    theirs, _ = _scheduled(torch, name, 3)
    mine, their_state = ours.state_dict(), theirs.state_dict()
    assert sorted(mine) == sorted(their_state)
    for key, value in their_state.items():
        if key != "_step_count":  # (CosineAnnealingWarmRestarts's counts none in PyTorch 2.13)
            expected = pytest.approx(value) if isinstance(value, float) or key == "_last_lr" else value
            assert mine[key] == expected, key
    # a checkpoint of either library's resumes in the other's, on the same schedule
    _, rates = _scheduled(torch, name, 4, state=their_state)
    _, our_rates = _scheduled(cr, name, 4, state=their_state)
    _, rates_from_ours = _scheduled(torch, name, 4, state=dict(mine))
    assert our_rates == pytest.approx(rates) and rates_from_ours == pytest.approx(rates)


GRAD_FNS = {  # an operation of torch's API on x (3, 4), w (2, 4), b (2,) and a row r (1, 4)
    "abs": lambda T, x, w, b, r: x.abs(), "torch.abs": lambda T, x, w, b, r: T.abs(x),
    "clamp": lambda T, x, w, b, r: x.clamp(-1, 1), "clamp tensors": lambda T, x, w, b, r: T.clamp(x, T.zeros(4)),
    "relu": lambda T, x, w, b, r: T.nn.functional.relu(x), "sigmoid": lambda T, x, w, b, r: x.sigmoid(),
    "tanh": lambda T, x, w, b, r: T.tanh(x), "mean": lambda T, x, w, b, r: x.mean(),
    "mean dim": lambda T, x, w, b, r: x.mean(1), "sum": lambda T, x, w, b, r: x.sum(),
    "sum dim": lambda T, x, w, b, r: x.sum(0), "mm": lambda T, x, w, b, r: x.mm(w.t()),
    "matmul": lambda T, x, w, b, r: x @ w.t(), "addmm": lambda T, x, w, b, r: T.addmm(b, x, w.t()),
    "addmm beta 0": lambda T, x, w, b, r: T.addmm(b, x, w.t(), beta=0, alpha=2),
    "baddbmm": lambda T, x, w, b, r: T.baddbmm(b, x[None], w.t()[None]),
    "view": lambda T, x, w, b, r: x.view(12), "reshape": lambda T, x, w, b, r: x.reshape(2, 6),
    "permute": lambda T, x, w, b, r: x.permute(1, 0), "t": lambda T, x, w, b, r: x.t(),
    "transpose": lambda T, x, w, b, r: x.transpose(0, 1), "expand": lambda T, x, w, b, r: r.expand(3, 4),
    "rsqrt": lambda T, x, w, b, r: x.exp().rsqrt(),
    "softmax": lambda T, x, w, b, r: x.softmax(1), "torch.softmax": lambda T, x, w, b, r: T.softmax(x, 1),
    "F.softmax": lambda T, x, w, b, r: T.nn.functional.softmax(x, dim=1),
    "log_softmax": lambda T, x, w, b, r: x.log_softmax(-1),
    "F.log_softmax": lambda T, x, w, b, r: T.nn.functional.log_softmax(x, dim=1),
    "linear": lambda T, x, w, b, r: T.nn.functional.linear(x, w, b),
    "linear no bias": lambda T, x, w, b, r: T.nn.functional.linear(x, w),
    "linear 1-d": lambda T, x, w, b, r: T.nn.functional.linear(x[0], w, b),
    "linear 3-d": lambda T, x, w, b, r: T.nn.functional.linear(x[None], w, b),
    "gelu": lambda T, x, w, b, r: T.nn.functional.gelu(x),
    "gelu tanh": lambda T, x, w, b, r: T.nn.functional.gelu(x, approximate="tanh"),
    "silu": lambda T, x, w, b, r: T.nn.functional.silu(x), "elu": lambda T, x, w, b, r: T.nn.functional.elu(x),
    "leaky_relu": lambda T, x, w, b, r: T.nn.functional.leaky_relu(x),
    "softplus": lambda T, x, w, b, r: T.nn.functional.softplus(x),
    "layer_norm": lambda T, x, w, b, r: T.nn.functional.layer_norm(x, (4,), r[0], r[0]),
    "layer_norm bare": lambda T, x, w, b, r: T.nn.functional.layer_norm(x, (4,)),
    "conv2d": lambda T, x, w, b, r: T.nn.functional.conv2d(x[None, None], w[None, None]),
    "mse_loss": lambda T, x, w, b, r: T.nn.functional.mse_loss(x, x.detach() + 1),
    "mse_loss none": lambda T, x, w, b, r: T.nn.functional.mse_loss(x, x.detach() + 1, reduction="none"),
    "smooth_l1_loss": lambda T, x, w, b, r: T.nn.functional.smooth_l1_loss(x, x.detach() + 1),
    "cross_entropy": lambda T, x, w, b, r: T.nn.functional.cross_entropy(x, T.tensor([0, 1, 3])),
    "cross_entropy 1-d": lambda T, x, w, b, r: T.nn.functional.cross_entropy(x[0], T.tensor(1), reduction="none"),
    "nll_loss": lambda T, x, w, b, r: T.nn.functional.nll_loss(x, T.tensor([0, 1, 3]), reduction="sum"),
    "binary_cross_entropy": lambda T, x, w, b, r: T.nn.functional.binary_cross_entropy(x.sigmoid(), x.detach() * 0 + 1),
    "max dim": lambda T, x, w, b, r: x.max(1)[0], "torch.max dim": lambda T, x, w, b, r: T.max(x, 1).values,
    "min dim": lambda T, x, w, b, r: x.min(0, keepdim=True)[0], "median dim": lambda T, x, w, b, r: x.median(1)[0],
    "mode": lambda T, x, w, b, r: x.mode(1)[0], "norm": lambda T, x, w, b, r: x.norm(),
    "norm dim": lambda T, x, w, b, r: x.norm(dim=1), "norm 1": lambda T, x, w, b, r: x.norm(p=1),
    "norm inf": lambda T, x, w, b, r: x.norm(p=float("inf")),
    "bce_with_logits": lambda T, x, w, b, r: T.nn.functional.binary_cross_entropy_with_logits(x, x.detach()),
}


@pytest.mark.parametrize("name", sorted(GRAD_FNS))
def test_grad_fn_is_named_as_pytorchs(name):
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(shape) for shape in ((3, 4), (2, 4), (2,), (1, 4))]
    expected = GRAD_FNS[name](torch, *(torch.tensor(v, requires_grad=True) for v in values)).grad_fn
    got = GRAD_FNS[name](cr, *(cr.tensor(v, requires_grad=True) for v in values)).grad_fn
    assert got.name() == expected.name() and type(got).__name__ == type(expected).__name__


@pytest.mark.parametrize("out_dims", [5, 2, -3])
def test_vmap_out_dims_out_of_range_raises_pytorchs_index_error(out_dims):
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got") as theirs:
        torch.func.vmap(lambda a: a * 2, out_dims=out_dims)(torch.ones(3, 4))
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got") as ours:
        cr.func.vmap(lambda a: a * 2, out_dims=out_dims)(cr.ones(3, 4))
    assert str(ours.value).endswith(str(theirs.value).partition("(")[2])
    with pytest.raises(ValueError):  # and JAX's ValueError
        cr.vmap(lambda a: a * 2, out_axes=out_dims)(np.ones((3, 4)))


def _recorded(w, write):
    """``write`` into an expanded view of a copy of ``w``, on the graph; the copy's
    values, and ``w.grad`` after a backward pass from it."""
    x = w.clone()
    write(x[None].expand(3, 4))
    x.sum().backward()
    return x.detach().numpy(), w.grad.numpy()


OVERLAPPING_WRITES = {  # an in-place write into an expanded view of r (4,), or recorded from w
    "fill_ number": lambda T, r, w: r[None].expand(3, 4).fill_(5.0).numpy(),
    "fill_ Tensor": lambda T, r, w: r[None].expand(3, 4).fill_(T.tensor(5.0)).numpy(),
    "fill_ one row": lambda T, r, w: r[None].expand(1, 4).fill_(T.tensor(5.0)).numpy(),
    "zero_": lambda T, r, w: r[None].expand(3, 4).zero_().numpy(),
    "add_": lambda T, r, w: r[None].expand(3, 4).add_(1).numpy(),
    "copy_": lambda T, r, w: r[None].expand(3, 4).copy_(T.ones(3, 4)).numpy(),
    # (PyTorch refuses these in the backward pass, chainrule at the write)
    "recorded fill_ number": lambda T, r, w: _recorded(w, lambda e: e.fill_(5.0)),
    "recorded add_": lambda T, r, w: _recorded(w, lambda e: e.add_(1.0)),
    "recorded zero_": lambda T, r, w: _recorded(w, lambda e: e.zero_()),
}


@pytest.mark.parametrize("name", sorted(OVERLAPPING_WRITES))
def test_write_into_memory_shared_by_elements_is_refused_as_pytorch_refuses(name):
    def run(T):
        try:
            return OVERLAPPING_WRITES[name](T, T.zeros(4), T.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True))
        except RuntimeError as e:
            assert "more than one element of the written-to tensor refers to a single memory location" in str(e)
            return None

    theirs, ours = run(torch), run(cr)
    assert (ours is None) == (theirs is None)
    if ours is not None:
        np.testing.assert_array_equal(np.stack(ours), np.stack(theirs))


LAYOUTS = {  # a Tensor made from x (2, 3, 4, 5), in some layout
    "C order": lambda T, x: x, "permuted": lambda T, x: x.permute(0, 2, 3, 1),
    "channels_last": lambda T, x: x.contiguous(memory_format=T.channels_last),
    "to channels_last": lambda T, x: x.to(memory_format=T.channels_last),
    "clone channels_last": lambda T, x: x.clone(memory_format=T.channels_last),
    "channels_last, then + 1": lambda T, x: x.contiguous(memory_format=T.channels_last) + 1,
    "channels_last, cloned": lambda T, x: x.contiguous(memory_format=T.channels_last).clone(),
    "channels_last, then contiguous": lambda T, x: x.contiguous(memory_format=T.channels_last).contiguous(),
    "channels_last_3d of 5-d": lambda T, x: x[..., None].contiguous(memory_format=T.channels_last_3d),
    "1x1 pixels": lambda T, x: x[:, :, :1, :1], "3-d": lambda T, x: x[0],
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_memory_format_layouts_and_is_contiguous_are_pytorchs(name):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))

    def run(T):
        t = T.tensor(x, requires_grad=True)
        y = LAYOUTS[name](T, t)
        (y * y).sum().backward()
        return (y.stride(), y.is_contiguous(), y.is_contiguous(memory_format=T.channels_last),
                y.is_contiguous(memory_format=T.channels_last_3d), y.detach().numpy(), t.grad.numpy())

    theirs, ours = run(torch), run(cr)
    assert ours[:4] == theirs[:4]
    np.testing.assert_array_equal(ours[4], theirs[4])
    np.testing.assert_allclose(ours[5], theirs[5])


def test_channels_last_of_a_tensor_of_another_rank_is_refused_as_pytorch_refuses():
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        torch.ones(3, 4).contiguous(memory_format=torch.channels_last)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        cr.ones(3, 4).contiguous(memory_format=cr.channels_last)


def _sqrt_backward(T):
    x = T.tensor([0.0, 1.0], requires_grad=True)
    T.sqrt(x).sum().backward()
    return x.grad


def _norm_backward(T):
    x = T.tensor([0.0, 0.0], requires_grad=True)
    x.norm().backward()
    return x.grad


QUIET = {  # computations that give inf or nan, silently in PyTorch
    "log 0": lambda T: T.log(T.tensor(0.0)), "1 / 0": lambda T: T.tensor(1.0) / 0, "0 / 0": lambda T: T.tensor(0.0) / 0,
    "0 / 0 Tensors": lambda T: T.tensor(0.0) / T.tensor(0.0), "sqrt -1": lambda T: T.sqrt(T.tensor(-1.0)),
    "exp 1000": lambda T: T.exp(T.tensor(1000.0)), "acos 2": lambda T: T.acos(T.tensor(2.0)),
    "0 ** -1": lambda T: T.tensor(0.0) ** -1, "log1p -1": lambda T: T.log1p(T.tensor(-1.0)),
    "log of an int 0": lambda T: T.log(T.tensor(0)), "int / 0": lambda T: T.tensor(1) / 0,
    "log_softmax of -inf": lambda T: T.nn.functional.log_softmax(T.tensor([-np.inf, -np.inf]), 0),
    "softmax of -inf": lambda T: T.softmax(T.tensor([-np.inf, -np.inf]), 0),
    "Tensor.log_softmax of -inf": lambda T: T.tensor([-np.inf, -np.inf]).log_softmax(0),
    "div_ 0": lambda T: T.ones(2).div_(0), "mean of nothing": lambda T: T.tensor([]).mean(),
    "mean of no rows": lambda T: T.ones(0, 3).mean(0), "var of one": lambda T: T.ones(1).var(),
    "std of one row": lambda T: T.ones(2, 1).std(1), "sqrt backward at 0": _sqrt_backward,
    "norm backward at 0": _norm_backward,
}


@pytest.mark.parametrize("name", sorted(QUIET))
def test_eager_inf_and_nan_come_without_numpys_warnings(name):
    def run(T):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = QUIET[name](T)
        return np.asarray(value.detach().numpy(), float), [(w.category, str(w.message)[:60]) for w in caught]

    (theirs, their_warnings), (ours, our_warnings) = run(torch), run(cr)
    np.testing.assert_array_equal(ours, theirs)
    assert our_warnings == their_warnings


# (function, its arguments after the input, the shape of each result)
OUT_PAIRS = {"max": ((1,), (2,)), "min": ((1,), (2,)), "median": ((1,), (2,)), "nanmedian": ((1,), (2,)),
             "mode": ((1,), (2,)), "kthvalue": ((2, 1), (2,)), "topk": ((2, 1), (2, 2)), "sort": ((1,), (2, 3)),
             "cummax": ((1,), (2, 3)), "cummin": ((0,), (2, 3))}


@pytest.mark.parametrize("name", sorted(OUT_PAIRS))
def test_out_tuple_of_values_and_indices_is_written_as_pytorchs(name):
    args, shape = OUT_PAIRS[name]
    data = np.array([[1.0, 5.0, 2.0], [4.0, 0.0, 4.0]])
    results = []
    for lib in (cr, torch):
        values, indices = lib.zeros(shape, dtype=lib.float64), lib.zeros(shape, dtype=lib.int64)
        returned = getattr(lib, name)(lib.tensor(data), *args, out=(values, indices))
        assert returned[0] is values and returned[1] is indices and returned.values is values
        results.append((values.numpy(), indices.numpy()))
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("out_dtypes", [("float32", "int64"), ("float64", "float64")])
def test_out_tuple_of_another_dtype_is_refused_as_pytorch_refuses_it(out_dtypes):
    for lib in (torch, cr):
        out = tuple(lib.zeros(2, dtype=getattr(lib, d)) for d in out_dtypes)
        with pytest.raises(RuntimeError, match="Expected out tensor to have dtype"):
            lib.max(lib.tensor([[1.0, 5.0], [4.0, 0.0]], dtype=lib.float64), 1, out=out)


DIM_REQUIRED = ["cumsum", "cumprod", "logsumexp", "softmax", "log_softmax"]


@pytest.mark.parametrize("form", ["method", "function"])
@pytest.mark.parametrize("name", DIM_REQUIRED)
def test_dim_is_required_as_pytorch_requires_it(name, form):
    # x.cumsum() flattened the eager Tensor (NumPy's method), x.softmax() normalised all
    # its elements; PyTorch's raise a TypeError
    for lib in (torch, cr):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
        with pytest.raises(TypeError, match="dim"):
            getattr(x, name)() if form == "method" else getattr(lib, name)(x)


def test_numpys_cumsum_and_cumprod_still_flatten_without_an_axis():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(np.asarray(cr.numpy.cumsum(cr.tensor(x))), np.cumsum(x))
    np.testing.assert_array_equal(np.asarray(np.cumprod(cr.tensor(x))), np.cumprod(x))
    # a transform's value in NumPy code: ndarray's methods (d/dx_ij of the flattened
    # running sums' total is the count of sums that include x_ij)
    np.testing.assert_array_equal(cr.grad(lambda a: a.cumsum().sum())(x), [[4.0, 3.0], [2.0, 1.0]])


# dims of a 0-d Tensor: most methods read dim 0 (and -1) as its one element; those that
# cut along a dimension refuse it, and trace wants a matrix
ZERO_D_ACCEPTED = {
    "swapaxes": lambda x: x.swapaxes(-1, -1),
    "swapaxes 0 -1": lambda x: x.swapaxes(0, -1),
    "swapdims": lambda x: x.swapdims(-1, 0),
    "repeat_interleave flat": lambda x: x.repeat_interleave(2),
}
ZERO_D_REFUSED = {
    "repeat_interleave dim 0": (IndexError, lambda x: x.repeat_interleave(2, 0)),
    "repeat_interleave dim -1": (IndexError, lambda x: x.repeat_interleave(3, dim=-1)),
    "split": (RuntimeError, lambda x: x.split(1, 0)),
    "split sections": (RuntimeError, lambda x: x.split([1])),
    "chunk": (RuntimeError, lambda x: x.chunk(2)),
    "narrow": (RuntimeError, lambda x: x.narrow(0, 0, 1)),
    "tensor_split": (RuntimeError, lambda x: x.tensor_split(2)),
}


@pytest.mark.parametrize("name", ZERO_D_ACCEPTED)
def test_zero_d_tensor_dims_accepted_as_pytorch_accepts_them(name):
    results = []
    for lib in (torch, cr):
        x = lib.tensor(1.5, dtype=lib.float64, requires_grad=True)
        y = ZERO_D_ACCEPTED[name](x)
        y.sum().backward()
        results.append((np.asarray(y.detach()), np.asarray(x.grad)))
    for ours, theirs in zip(results[1], results[0], strict=True):
        np.testing.assert_array_equal(ours, theirs)
        assert ours.shape == theirs.shape


@pytest.mark.parametrize("name", ZERO_D_REFUSED)
def test_zero_d_tensor_dims_refused_as_pytorch_refuses_them(name):
    error, call = ZERO_D_REFUSED[name]
    for lib in (torch, cr):
        with pytest.raises(error):
            call(lib.tensor(1.5))


@pytest.mark.parametrize("shape", [(3,), (2, 2, 2), ()])
def test_trace_of_a_tensor_not_a_matrix_is_refused_as_pytorch_refuses_it(shape):
    for lib in (torch, cr):
        x = lib.ones(shape)
        with pytest.raises(RuntimeError, match="trace: expected a matrix"):
            x.trace()
        with pytest.raises(RuntimeError, match="trace: expected a matrix"):
            lib.trace(x)
    # NumPy's trace of a stack of matrices is kept for arrays
    assert cr.numpy.trace(np.ones((2, 2, 2))).shape == (2,)

"""PyTorch's Tensor methods on eager Tensors (chainrule/numpy/torch_methods.py) against
torch in float64: values, dtypes, the indices they return, and the gradient that reaches
the input; NumPy's meaning of the same names inside the transforms."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

torch = pytest.importorskip("torch")

rng = np.random.default_rng(3)
A = rng.normal(size=(3, 4))
B = rng.normal(size=(2, 3, 4))
MASK = [[1, 0, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1]]  # zero elements and a zero row
IDX = np.array([[0, 1], [2, 3], [1, 1]])

# name: (function of the Tensor, input array); the same code runs on both libraries'
# Tensors, with ``I`` making an int64 Tensor of the library in use
CASES = {
    "view": (lambda x, I: x.view(4, 3), A),
    "view_minus_one": (lambda x, I: x.view(-1, 2), A),
    "view_as": (lambda x, I: x.view_as(x.t().contiguous()), A),
    "reshape_tuple": (lambda x, I: x.reshape((2, 6)), A),
    "reshape_as": (lambda x, I: x.reshape_as(x.t()), A),
    "permute": (lambda x, I: x.permute(2, 0, 1), B),
    "permute_list": (lambda x, I: x.permute([1, 2, 0]), B),
    "transpose_2d_swap": (lambda x, I: x.transpose(0, 1), A),
    "transpose_3d_swap": (lambda x, I: x.transpose(0, 2), B),
    "t": (lambda x, I: x.t(), A),
    "mT": (lambda x, I: x.mT, B),
    "unsqueeze": (lambda x, I: x.unsqueeze(1), A),
    "unsqueeze_negative": (lambda x, I: x.unsqueeze(-1), A),
    "squeeze_dim": (lambda x, I: x.unsqueeze(1).squeeze(1), A),
    "squeeze_dim_not_one": (lambda x, I: x.squeeze(0), A),
    "squeeze_all": (lambda x, I: x[None, :, None].squeeze(), A),
    "expand": (lambda x, I: x.unsqueeze(-1).expand(3, 4, 2), A),
    "expand_keep": (lambda x, I: x[:, :1].expand(-1, 5), A),
    "expand_as": (lambda x, I: x[:1].expand_as(x), A),
    "repeat": (lambda x, I: x.repeat(2, 1), A),
    "repeat_more_dims": (lambda x, I: x.repeat(2, 1, 3), A),
    "flatten": (lambda x, I: x.flatten(), B),
    "flatten_start": (lambda x, I: x.flatten(1), B),
    "flatten_range": (lambda x, I: x.flatten(0, 1), B),
    "unflatten": (lambda x, I: x.unflatten(1, (2, 2)), A),
    "chunk": (lambda x, I: x.chunk(3, dim=1), A),
    "split_size": (lambda x, I: x.split(3, dim=1), A),
    "split_sections": (lambda x, I: x.split([1, 3], dim=1), A),
    "unbind": (lambda x, I: x.unbind(1), A),
    "narrow": (lambda x, I: x.narrow(1, 1, 2), A),
    "narrow_from_the_end": (lambda x, I: x.narrow(-1, -2, 2), A),
    "renorm_rows": (lambda x, I: x.renorm(2, 0, 1.0), A),
    "renorm_columns_p1": (lambda x, I: x.renorm(1, -1, 0.8), A),
    "select": (lambda x, I: x.select(1, 2), A),
    "flip": (lambda x, I: x.flip(0), A),
    "flip_dims": (lambda x, I: x.flip(dims=[0, 1]), A),
    "roll": (lambda x, I: x.roll(1, 0), A),
    "tril": (lambda x, I: x.tril(), A),
    "triu": (lambda x, I: x.triu(1), A),
    "gather": (lambda x, I: x.gather(1, I(IDX)), A),
    "gather_smaller_index": (lambda x, I: x.gather(0, I([[2, 0]])), A),
    "index_select": (lambda x, I: x.index_select(1, I([0, 2, 2])), A),
    "scatter_value": (lambda x, I: x.scatter(1, I([[0], [2], [1]]), 5.0), A),
    "scatter_src": (lambda x, I: x.scatter(1, I([[0, 1], [2, 3], [1, 0]]), x[:, 1:3] * 2), A),
    "scatter_add": (lambda x, I: x.scatter_add(1, I(IDX), x[:, :2] * 3), A),
    "index_add": (lambda x, I: x.index_add(0, I([0, 2, 0]), x * 2), A),
    "index_copy": (lambda x, I: x.index_copy(1, I([3, 0]), x[:, :2] * 2), A),
    "index_copy_function": (lambda x, I: _library(x).index_copy(x, 0, I([2]), x[:1] - 1), A),
    "masked_fill": (lambda x, I: x.masked_fill(x > 0, 0.5), A),
    "masked_select": (lambda x, I: x.masked_select(x > 0), A),
    "where_method": (lambda x, I: x.where(x > 0, x * 3), A),
    "sum_dim_keepdim": (lambda x, I: x.sum(dim=1, keepdim=True), A),
    "sum_positional_keepdim": (lambda x, I: x.sum(1, True), A),
    "sum_dims": (lambda x, I: x.sum(dim=(0, 2)), B),
    "mean_dim": (lambda x, I: x.mean(dim=-1), B),
    "mean_dim_list_keepdim": (lambda x, I: x.mean([1, 2], keepdim=True), B),
    "prod_dim": (lambda x, I: x.prod(dim=1), A),
    "max_dim": (lambda x, I: x.max(dim=1), A),
    "max_positional": (lambda x, I: x.max(1), A),
    "max_keepdim": (lambda x, I: x.max(0, keepdim=True), A),
    "max_values_indices": (lambda x, I: x.max(dim=1).values + x.max(dim=1).indices, A),
    "max_all": (lambda x, I: x.max(), A),
    "max_other": (lambda x, I: x.max(x.flip(0)), A),
    "min_dim": (lambda x, I: x.min(dim=0), A),
    "amax": (lambda x, I: x.amax(dim=1), B),
    "amin_dims": (lambda x, I: x.amin((0, 2)), B),
    "argmax_dim": (lambda x, I: x.argmax(dim=1), A),
    "argmax_keepdim": (lambda x, I: x.argmax(dim=1, keepdim=True), A),
    "argmin": (lambda x, I: x.argmin(), A),
    "median": (lambda x, I: x.median(), A),
    "median_dim": (lambda x, I: x.median(dim=1), A),
    "std": (lambda x, I: x.std(), A),
    "std_dim": (lambda x, I: x.std(dim=1), A),
    "std_positional": (lambda x, I: x.std(0), A),
    "std_biased": (lambda x, I: x.std(unbiased=False), A),
    "std_keepdim": (lambda x, I: x.std(1, keepdim=True), A),
    "var": (lambda x, I: x.var(), A),
    "var_dim": (lambda x, I: x.var(1), A),
    "var_correction": (lambda x, I: x.var(dim=0, correction=0), A),
    "var_unbiased_false": (lambda x, I: x.var(0, unbiased=False), A),
    "cumsum_dim": (lambda x, I: x.cumsum(dim=1), A),
    "cumprod_dim": (lambda x, I: x.cumprod(dim=0), A),
    "logsumexp": (lambda x, I: x.logsumexp(dim=1), A),
    "logsumexp_keepdim": (lambda x, I: (x * 300).logsumexp(0, keepdim=True), A),
    "norm": (lambda x, I: x.norm(), A),
    "norm_p1_dim": (lambda x, I: x.norm(p=1, dim=1), A),
    "norm_dim_keepdim": (lambda x, I: x.norm(dim=1, keepdim=True), A),
    "norm_of_zero_rows": (lambda x, I: (x * (I([[1], [0], [0]]) > 0)).norm(dim=1), A),
    "norm_of_zero": (lambda x, I: (x - x.detach()).norm(), A),
    "norm_p3": (lambda x, I: x.norm(3), A),
    "norm_inf": (lambda x, I: x.norm(float("inf"), dim=0), A),
    # zero rows and zero elements: PyTorch's gradient is 0 there (the formula's is NaN)
    "norm_p3_of_zero_rows": (lambda x, I: (x * (I([[1], [0], [0]]) > 0)).norm(3, dim=1), A),
    "norm_p_half_of_zeros": (lambda x, I: (x * (I(MASK) > 0)).norm(0.5, dim=1), A),
    "norm_p1_5_of_zero": (lambda x, I: (x - x.detach()).norm(1.5), A),
    "norm_p_negative_of_zeros": (lambda x, I: (x * (I(MASK[::-1]) > 0)).norm(-1, dim=1), A),
    "flip_then_write": (lambda x, I: _written(x.flip(1)) + x, A),
    "softmax": (lambda x, I: x.softmax(dim=1), A),
    "softmax_large": (lambda x, I: (x * 500).softmax(-1), A),
    "log_softmax": (lambda x, I: x.log_softmax(dim=0), A),
    "sort": (lambda x, I: x.sort(dim=1), A),
    "sort_no_args": (lambda x, I: x.sort(), A),
    "sort_descending": (lambda x, I: x.sort(dim=0, descending=True), A),
    "argsort_descending": (lambda x, I: x.argsort(dim=1, descending=True), A),
    "topk": (lambda x, I: x.topk(2, dim=1), A),
    "topk_smallest": (lambda x, I: x.topk(2, dim=0, largest=False), A),
    "nonzero": (lambda x, I: (x > 0).nonzero(), A),
    "clamp": (lambda x, I: x.clamp(-0.5, 0.5), A),
    "clamp_min_kw": (lambda x, I: x.clamp(min=0), A),
    "clamp_min": (lambda x, I: x.clamp_min(0.1), A),
    "clamp_max": (lambda x, I: x.clamp_max(0.1), A),
    "add_alpha": (lambda x, I: x.add(x * x, alpha=2), A),
    "sub_alpha": (lambda x, I: x.sub(1.0, alpha=3), A),
    "mul_div": (lambda x, I: x.mul(3).div(x.abs() + 1), A),
    "div_floor": (lambda x, I: (x * 5).div(2, rounding_mode="floor") + x, A),
    "pow": (lambda x, I: x.pow(3), A),
    "square_rsqrt": (lambda x, I: x.square() + (x.abs() + 1).rsqrt(), A),
    "reciprocal_neg_sign": (lambda x, I: x.reciprocal() + x.neg() * x.sign(), A),
    "log1p_expm1": (lambda x, I: x.abs().log1p() + x.expm1(), A),
    "lerp": (lambda x, I: x.lerp(x * x, 0.3), A),
    "maximum": (lambda x, I: x.maximum(x.flip(1)), A),
    "matmul_mm": (lambda x, I: x.mm(x.t()) + x.matmul(x.t()), A),
    "bmm": (lambda x, I: x.bmm(x.transpose(1, 2)), B),
    "comparison_float_mean": (lambda x, I: (x > 0).float().mean(), A),
    "eq_argmax_float": (lambda x, I: (x.argmax(dim=1) == I([2, 2, 1])).float(), A),
    "gt_long": (lambda x, I: x.gt(0).long(), A),
    "logical_and": (lambda x, I: (x > 0).logical_and(x < 1), A),
    "float_double": (lambda x, I: x.float().double() * 2, A),
    "to_dtype_of": (lambda x, I: x.to(x.float()).double() * 2, A),
    "type_as": (lambda x, I: x.type_as(x.float()).to(x), A),
    "clone": (lambda x, I: x.clone() * 2, A),
    "isnan_any": (lambda x, I: (x / x.abs().round()).isnan().any(), A),
    # axis= and keepdims= as PyTorch's aliases of dim= and keepdim= where NumPy's meaning is
    # not at stake (torch.cat([a, b], axis=-1) is in HF's masks), also beside a PyTorch keyword
    "softmax_axis": (lambda x, I: x.softmax(axis=-1), A),
    "log_softmax_axis": (lambda x, I: x.log_softmax(axis=0), A),
    "unsqueeze_axis": (lambda x, I: x.unsqueeze(axis=1) * 2, A),
    "amax_axis": (lambda x, I: x.amax(axis=1, keepdims=True), A),
    "amin_axis": (lambda x, I: x.amin(axis=0), A),
    "logsumexp_axis": (lambda x, I: x.logsumexp(axis=0, keepdims=True), A),
    "var_axis_unbiased": (lambda x, I: x.var(axis=-1, keepdims=True, unbiased=False), A),
    "std_axis_correction": (lambda x, I: x.std(axis=0, correction=0), A),
    "cat_axis": (lambda x, I: _library(x).cat([x, x * 2], axis=-1), A),
    "concat_axis": (lambda x, I: _library(x).concat([x, x * 2], axis=0), A),
    "stack_axis": (lambda x, I: _library(x).stack([x, x * 2], axis=1), A),
    "softmax_function_axis": (lambda x, I: _library(x).softmax(x, axis=1), A),
    # repeat copies, as PyTorch's, also along a dim of size 1 (tile's broadcast view there
    # refused .view and in-place writes): GPT-J's duplicate_interleave
    "repeat_size_one_then_view": (lambda x, I: x[:1].repeat(3, 1).view(-1), A),
    "repeat_size_one_written": (lambda x, I: _written(x[:1].repeat(3, 1)), A),
    "duplicate_interleave": (lambda x, I: x[:, :1].reshape(-1, 1).repeat(1, 2).view(x.shape[0], -1), A),
    # beta 0 ignores the input (its NaN does not reach the result); Bloom's alibi.baddbmm(...)
    "addmm_beta_zero": (lambda x, I: _library(x).full((3, 3), float("nan"), dtype=x.dtype).addmm(
        x[:, :2], x[:2, :3], beta=0, alpha=2), A),
    "baddbmm_method": (lambda x, I: x[None, :, :3].baddbmm(batch1=x[None, :, :2], batch2=x[None, :2, :3],
                                                           beta=0.5, alpha=2), A),
}


def _library(x):
    return torch if isinstance(x, torch.Tensor) else cr


def _written(t):
    """``t`` after an in-place write: PyTorch's flip is a copy, so the write stays in it."""
    with (torch.no_grad() if isinstance(t, torch.Tensor) else cr.no_grad()):
        t.detach()[0, 0] = 100.0
    return t


def _lib_index(lib):
    return lambda v: lib.tensor(np.asarray(v), dtype=None) if lib is cr else torch.tensor(np.asarray(v))


def _flat(out):
    return [a for o in out for a in _flat(o)] if isinstance(out, tuple | list) else [out]


def _np(a):
    return a.detach().numpy() if isinstance(a, torch.Tensor | cr.Tensor) else np.asarray(a)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    f, a = CASES[name]
    x, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ours, theirs = f(x, _lib_index(cr)), f(xt, _lib_index(torch))
    assert type(ours) is type(theirs) or isinstance(theirs, torch.Tensor) and isinstance(ours, cr.Tensor) \
        or isinstance(theirs, tuple) and isinstance(ours, tuple), (type(ours), type(theirs))
    if isinstance(theirs, tuple) and hasattr(theirs, "values"):
        assert hasattr(ours, "values") and hasattr(ours, "indices")
    ours, theirs = _flat(ours), _flat(theirs)
    assert len(ours) == len(theirs)
    loss, tloss = 0.0, 0.0
    for o, t in zip(ours, theirs, strict=True):
        assert isinstance(o, cr.Tensor), type(o)
        assert o.dtype == np.dtype(str(t.dtype).removeprefix("torch.")), (o.dtype, t.dtype)
        np.testing.assert_allclose(_np(o), _np(t), rtol=1e-12, atol=1e-13)
        if t.requires_grad:
            w = rng.normal(size=tuple(t.shape))
            loss, tloss = loss + (o * w).sum(), tloss + (t * torch.tensor(w)).sum()
    if isinstance(tloss, torch.Tensor):
        loss.backward()
        tloss.backward()
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-11, atol=1e-12)


def test_size_is_numpys_count_and_pytorchs_shape():
    x = cr.tensor(B)
    assert x.size == 24 and x.size * 2 == 48
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.dim() == 3 and x.numel() == 24 and x.device.type == "cpu" and x.device == "cpu"


def test_in_place_methods_match_torch():
    for name, f in {
        "clamp_": lambda x: x.clamp_(-0.5, 0.5),
        "clamp_min_": lambda x: x.clamp_min_(0.0),
        "masked_fill_": lambda x: x.masked_fill_(x > 0, 2.0),
        "exp_": lambda x: x.exp_(),
        "pow_": lambda x: x.pow_(2),
        "addcmul_": lambda x: x.addcmul_(x, x, value=0.5),
        "addcdiv_": lambda x: x.addcdiv_(x, x.abs() + 1, value=-2),
        "lerp_": lambda x: x.lerp_(x * 0 + 1, 0.25),
        "sigmoid_": lambda x: x.sigmoid_(),
        "abs_neg_": lambda x: x.abs_().neg_(),
    }.items():
        ours, theirs = cr.tensor(A.copy()), torch.tensor(A.copy())
        assert f(ours) is ours, name
        f(theirs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, err_msg=name)


def test_in_place_on_a_graph_differentiates_as_torch():
    x, xt = cr.tensor(A, requires_grad=True), torch.tensor(A, requires_grad=True)
    for v in (x, xt):
        y = v * 2
        y.clamp_(min=-0.5).masked_fill_(y > 1, 1.0).mul_(3)
        (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_new_tensors_have_the_dtype_and_no_gradient():
    x = cr.tensor(A.astype(np.float32), requires_grad=True)
    z = x.new_zeros((2, 3))
    assert z.dtype == np.float32 and z.shape == (2, 3) and not z.requires_grad
    assert x.new_ones(2, 3).numpy().sum() == 6 and x.new_full((2,), 3.0).numpy().tolist() == [3.0, 3.0]
    assert x.new_tensor([1, 2]).dtype == np.float32 and x.new_zeros(2, dtype=np.int64).dtype == np.int64
    assert x.grad_fn is None and (x * 2).grad_fn is not None


def test_numpy_meaning_inside_the_transforms():
    # autograd-style code: ndarray methods keep NumPy's meaning on a transform's Tensors
    def f(v):
        assert v.max(1).shape == (3,) and v.repeat(2, 1).shape == (3, 8)
        assert (v > 0).dtype == bool and not isinstance(v > 0, cr.Tensor)
        return v.std() + v.var(0).sum() + v.transpose(1, 0).sum()
    g = cr.grad(f)(A)
    n = A.size
    want = (A - A.mean()) / (n * A.std()) + 2 * (A - A.mean(0)) / 3 + 1
    np.testing.assert_allclose(g, want, rtol=1e-12)
    assert cnp.allclose(cr.grad(lambda v: v.std(ddof=1))(A), torch.func.grad(lambda t: t.std())(torch.tensor(A)))


def test_numpy_keywords_keep_numpys_meaning_on_eager_tensors():
    t = cr.tensor(A)
    np.testing.assert_allclose(t.std(axis=0).numpy(), A.std(axis=0), rtol=1e-13)
    np.testing.assert_allclose(t.var(ddof=1).numpy(), A.var(ddof=1), rtol=1e-13)
    np.testing.assert_allclose(t.max(axis=1).numpy(), A.max(axis=1))
    u = cr.tensor(A.copy())
    assert u.sort(axis=0) is None and np.array_equal(u.numpy(), np.sort(A, axis=0))
    values, indices = t.max(1, True)  # PyTorch's positional keepdim
    assert values.shape == (3, 1) and indices.numpy().ravel().tolist() == A.argmax(1).tolist()


NAN_AND_TIES = [[1.0, float("nan"), 3.0], [3.0, 1.0, 3.0], [[1.0, 2.0], [float("nan"), float("nan")]]]


@pytest.mark.parametrize("x", NAN_AND_TIES, ids=["nan", "tie", "two nans"])
@pytest.mark.parametrize("name", ["max", "min", "amax", "amin"])
def test_whole_tensor_extremum_of_nan_matches_torch(x, name):
    """x.max() of an eager Tensor sends the derivative to its NaN entries, as PyTorch's does
    (torch.amax gives NaN, as NumPy's max does inside the transforms)."""
    torch = pytest.importorskip("torch")
    t = torch.tensor(x, requires_grad=True)
    getattr(t, name)().backward()
    c = cr.tensor(x, requires_grad=True)
    getattr(c, name)().backward()
    np.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())
    with np.errstate(invalid="ignore"):  # inside a transform, the method is NumPy's (autograd's)
        inside = cr.grad(lambda a: getattr(a, "max" if name in ("max", "amax") else "min")())(np.array(x))
    assert np.isnan(inside).all() == bool(np.isnan(x).any())


@pytest.mark.parametrize("args", [(1, 0, 5), (1, 3, 2), (0, -4, 1), (0, 4, 0), (1, 0, -1), (2, 0, 1)])
def test_narrow_out_of_range_raises_as_torch(args):
    # NumPy's slicing would give a shorter (or empty) piece silently
    with pytest.raises((IndexError, RuntimeError)) as theirs:
        torch.tensor(A).narrow(*args)
    with pytest.raises(type(theirs.value), match=str(theirs.value).split("(")[0].strip()):
        cr.tensor(A).narrow(*args)


INF = float("inf")


@pytest.mark.parametrize("x", [[1e200, INF], [1.0, INF], [INF, INF], [-INF, -INF], [1.0, -INF], [INF, -INF],
                               [-INF, 2.0], [[0.5, 3.0, -3.0], [2.0, 700.0, 710.0]]])
def test_logsumexp_beside_infinities_differentiates_as_torch(x):
    """PyTorch's derivative is exp(x - logsumexp): 0 for a finite entry beside +inf (the
    shifted sum of exponentials gave inf / inf = NaN), and so is its second derivative."""
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    c = cr.tensor(x, requires_grad=True)
    (gt,) = torch.autograd.grad(torch.logsumexp(t, -1).sum(), t, create_graph=True)
    (gc,) = cr.autograd.grad(c.logsumexp(-1).sum(), c, create_graph=True)
    np.testing.assert_array_equal(c.logsumexp(-1).detach().numpy(), torch.logsumexp(t, -1).detach().numpy())
    # to PyTorch's rounding, which is lse's (an ulp of 710 is 1e-13); ours is softmax's
    np.testing.assert_allclose(gc.detach().numpy(), gt.detach().numpy(), rtol=1e-12, atol=0)
    if np.isfinite(x).all():
        from scipy.special import softmax
        np.testing.assert_allclose(gc.detach().numpy(), softmax(np.asarray(x), axis=-1), rtol=1e-15, atol=0)
    if np.isfinite(x).all():
        w = rng.normal(size=np.shape(x))
        (ht,) = torch.autograd.grad((gt * torch.tensor(w)).sum(), t)
        (hc,) = cr.autograd.grad((gc * cr.tensor(w)).sum(), c)
        # (p - p p) cancels where p is near 1: PyTorch's is 1e-10 off at 710, ours 2e-13
        np.testing.assert_allclose(hc.numpy(), ht.numpy(), rtol=1e-9, atol=1e-300)
    x = np.asarray(x)  # forward mode and vmap: the same derivative
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda a: a.logsumexp(-1)))(x.reshape(-1, x.shape[-1])),
                               gc.detach().numpy().reshape(-1, x.shape[-1]), rtol=4e-16, atol=0)


@pytest.mark.parametrize("call", ["unsqueeze_(-1)", "squeeze_()", "squeeze_(1)", "t_()", "transpose_(0, 1)",
                                  "swapdims_(1, 0)"])
def test_in_place_view_operations_change_the_tensor_as_torch(call):
    # the tutorials' target_line_tensor.unsqueeze_(-1): the Tensor itself gets the new dimensions
    outs = []
    for lib in (torch, cr):
        x = lib.tensor(A[:, :1] if "squeeze" in call else A, requires_grad=True)
        y = x * 2
        assert eval(f"y.{call}") is y
        (y * lib.tensor(np.arange(y.numel(), dtype=float).reshape(tuple(y.shape)))).sum().backward()
        base = lib.tensor(np.arange(6.0).reshape(3, 2) if "squeeze" not in call else np.arange(3.0).reshape(3, 1))
        view = base[1:]
        eval(f"view.{call}")
        view[(0,) * view.dim()] = -1.0  # the view still writes into its base
        outs.append((y.detach().numpy(), x.grad.numpy(), base.numpy(), view.numpy()))
    for ours, theirs in zip(outs[1], outs[0], strict=True):
        np.testing.assert_array_equal(ours, theirs)
    leaf = cr.tensor(A, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Tensor that requires grad"):
        leaf.unsqueeze_(0)
    viewed = cr.tensor(A)
    view = viewed[0]
    with pytest.raises(RuntimeError, match="has views"):
        viewed.t_()
    view[0] = 5.0
    assert viewed[0, 0] == 5.0
    with pytest.raises(RuntimeError, match="inside chainrule's transforms"):  # refused, not silently ignored
        cr.grad(lambda v: (lambda y: (y.unsqueeze_(0), y.sum())[1])(v * 2))(A)


def test_comparison_with_none_or_a_string_is_pythons_as_torch():
    # `if mask == None:` in PyTorch code is a plain False, not an elementwise Tensor
    for lib in (torch, cr):
        x = lib.tensor(A)
        assert (x == None) is False and (x != None) is True  # noqa: E711
        assert (x == "auto") is False and ("auto" != x) is True
        with pytest.raises(TypeError, match="not supported"):
            x < None  # noqa: B015


def test_is_pinned_is_false_as_torchs_on_the_cpu():
    for lib in (torch, cr):
        assert lib.zeros(3).is_pinned() is False

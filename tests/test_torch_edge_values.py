"""PyTorch programs at the edges of floating point (inf, NaN, values whose squares or sums
overflow): chainrule gives PyTorch's values and gradients, and no NumPy RuntimeWarning
where PyTorch is silent. Oracle: torch 2.13 (CPU)."""

import concurrent.futures
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

INF = float("inf")
NAN = float("nan")


def _silently(fun):
    """fun() with every warning turned into an error (PyTorch is silent in these cases)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fun()


def _assert_same(ours, theirs, rtol=1e-10, atol=0):
    ours, theirs = np.asarray(ours.detach()), theirs.detach().numpy()
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, equal_nan=True)


def _silent_results(lib, fun, *arrays):
    """``fun(lib, *tensors)`` of ``arrays`` and the gradients of its sum in them (None where
    it does not depend on one), every warning an error."""
    def run():
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = fun(lib, *xs)
        out.sum().backward()
        return [out, *(x.grad for x in xs)]
    return _silently(run)


def _assert_same_results(fun, *arrays, rtol=1e-6, atol=0):
    for ours, theirs in zip(_silent_results(cr, fun, *arrays), _silent_results(torch, fun, *arrays), strict=True):
        assert (ours is None) == (theirs is None)
        if theirs is not None:
            _assert_same(ours, theirs, rtol=rtol, atol=atol)


REDUCTIONS = [
    lambda t: t.sum(), lambda t: t.mean(), lambda t: t.nansum(), lambda t: t.nanmean(), lambda t: t.prod(),
    lambda t: t.var(), lambda t: t.std(), lambda t: t.cumsum(0), lambda t: t.cumprod(0),
    lambda t: t.logsumexp(0), lambda t: t.logcumsumexp(0), lambda t: t.norm(),
]


@pytest.mark.parametrize("data", [[INF, -INF], [INF, INF], [-INF, -INF], [NAN, 1.0], [NAN, NAN], [1e308, 1e308]])
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_reductions_of_inf_and_nan_are_silent(reduce, data):
    ours = _silently(lambda: reduce(cr.tensor(data, dtype=cr.float64)))
    theirs = reduce(torch.tensor(data, dtype=torch.float64))
    _assert_same(ours, theirs)


def test_vector_norm_that_overflows_float32_is_silent():
    x = np.array([1e20, -1e20, 3e20, 0.5], np.float32)
    _assert_same(_silently(lambda: cr.linalg.vector_norm(cr.tensor(x))), torch.linalg.vector_norm(torch.tensor(x)))
    _assert_same(_silently(lambda: cr.linalg.norm(cr.tensor(x.reshape(2, 2)), "fro")),
                 torch.linalg.norm(torch.tensor(x.reshape(2, 2)), "fro"))


NORMS = {"norm": lambda t: t.norm(), "fro": lambda t: t.norm("fro"), "p3": lambda t: t.norm(3),
         "p_half": lambda t: t.norm(0.5), "dim": lambda t: t.reshape(2, 2).norm(dim=1),
         "function": lambda t: (torch if isinstance(t, torch.Tensor) else cr).norm(t, 2.5, dim=0, keepdim=True),
         "vector_norm": lambda t: (torch if isinstance(t, torch.Tensor) else cr).linalg.vector_norm(t, 3)}


@pytest.mark.parametrize("data", [[1e20, -1e20, 3e20, 0.5], [1e-30, 1e-30, 2e-30, 0.0], [1e-45, 1e-45, 0.0, 3e38]])
@pytest.mark.parametrize("norm", NORMS.values(), ids=NORMS.keys())
def test_float32_norms_whose_powers_overflow_or_underflow(norm, data):
    # PyTorch sums the powers in float32: inf where they overflow, 0 where they underflow
    # (chainrule's Tensor.norm scaled by the largest element and gave 3.3e20 and 2.4e-30)
    x = np.array(data, np.float32)
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours, out_theirs = _silently(lambda: norm(ours)), norm(theirs)
    _assert_same(out_ours, out_theirs, rtol=1e-6)
    _silently(lambda: out_ours.sum().backward())
    out_theirs.sum().backward()
    _assert_same(ours.grad, theirs.grad, rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("pool", [
    lambda F, t: F.adaptive_avg_pool1d(t, 2),  # windows of 3
    lambda F, t: F.adaptive_avg_pool1d(t, 4),  # windows that overlap
    lambda F, t: F.adaptive_avg_pool2d(t.reshape(1, 2, 3), (1, 2)),
    lambda F, t: F.adaptive_avg_pool3d(t.reshape(1, 1, 2, 3), (1, 1, 2)),
    lambda F, t: F.lp_pool1d(t, 3, 2),  # [1e30, -1e30]: powers that cancel, sum 0
])
def test_pools_of_inf_and_huge_values(pool, dtype):
    """An inf stays in its own windows (0 · inf = NaN spread by an averaging matrix before);
    a window whose powers cancel has gradient 0 (PyTorch's relu before the root)."""
    x = np.array([[1e30, -1e30, INF, 2.0, 3e38, 3e38]], dtype)
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours = _silently(lambda: pool(F, ours))
    out_theirs = pool(TF, theirs)
    _assert_same(out_ours, out_theirs, rtol=1e-6 if dtype == "float32" else 1e-10)
    _silently(lambda: out_ours.sum().backward())
    out_theirs.sum().backward()
    _assert_same(ours.grad, theirs.grad, rtol=1e-6 if dtype == "float32" else 1e-10)



NAN_POOLS = {
    "max_pool1d": lambda F, t: F.max_pool1d(t, 2), "max_pool2d": lambda F, t: F.max_pool2d(t[None], (2, 2)),
    "max_pool3d": lambda F, t: F.max_pool3d(t[None, None], (1, 2, 2)),
    "adaptive_max_pool1d": lambda F, t: F.adaptive_max_pool1d(t, 1),
    "adaptive_max_pool2d": lambda F, t: F.adaptive_max_pool2d(t[None], (1, 2)),
    "adaptive_max_pool3d": lambda F, t: F.adaptive_max_pool3d(t[None, None], (1, 1, 1)),
    **{f"lp_pool1d_{p}": lambda F, t, p=p: F.lp_pool1d(t, p, 2) for p in (1, 1.5, 2, 0.5, INF, -INF)},
    "lp_pool2d_1": lambda F, t: F.lp_pool2d(t[None], 1, (2, 2)),
}


NAN_ROWS = [[[NAN, 1.0, 2.0, 3.0], [1.0, NAN, NAN, 3.0]], [[NAN, NAN, 0.0, 0.0], [-1.0, 2.0, 0.0, 3.0]]]


@pytest.mark.parametrize("data", NAN_ROWS)
@pytest.mark.parametrize("pool", NAN_POOLS.values(), ids=NAN_POOLS.keys())
def test_pools_at_nan(pool, data):
    # PyTorch's max pools send the gradient to a window's last NaN, and its lp pools' sign and
    # abs are 0 there: the NaN of a window stops at its sum for p = 1 and the inf norms
    _assert_same_results(lambda lib, t: pool(lib.nn.functional, t), np.array(data), rtol=1e-10)
    if pool is NAN_POOLS["max_pool1d"]:  # and the index of that NaN
        _assert_same(F.max_pool1d(cr.tensor(data), 4, return_indices=True)[1],
                     TF.max_pool1d(torch.tensor(data), 4, return_indices=True)[1])


TRANSFORMED = [
    ("LogNormal", (0.3, 1.2), [0.5, 2.0]), ("HalfNormal", (1.5,), [0.5, 2.0]), ("HalfCauchy", (0.7,), [0.5, 2.0]),
    ("Gumbel", (0.3, 1.2), [-1.0, 2.0]), ("Weibull", (1.3, 2.0), [0.5, 2.0]), ("Pareto", (1.0, 2.0), [1.5, 3.0]),
]


@pytest.mark.parametrize(("name", "params", "values"), TRANSFORMED)
def test_families_that_pytorch_builds_as_transformed_distributions(name, params, values):
    """isinstance, base_dist and transforms as PyTorch's, and the same values through them."""
    ours = getattr(cr.distributions, name)(*(cr.tensor(p, dtype=cr.float64) for p in params))
    theirs = getattr(torch.distributions, name)(*(torch.tensor(p, dtype=torch.float64) for p in params))
    assert isinstance(ours, cr.distributions.TransformedDistribution)
    assert type(ours.base_dist).__name__ == type(theirs.base_dist).__name__
    assert [type(t).__name__ for t in ours.transforms] == [type(t).__name__ for t in theirs.transforms]
    for method in ("log_prob", "cdf"):
        _assert_same(getattr(ours, method)(cr.tensor(values, dtype=cr.float64)),
                     getattr(theirs, method)(torch.tensor(values, dtype=torch.float64)))
    if name != "Pareto":  # (PyTorch's Pareto has no icdf of its own)
        probs = [0.0, 0.25, 1.0] if name == "Gumbel" else [0.25, 0.75]  # Gumbel: the Uniform's finite ends
        _assert_same(ours.icdf(cr.tensor(probs, dtype=cr.float64)),
                     theirs.icdf(torch.tensor(probs, dtype=torch.float64)))
    _assert_same(ours.entropy(), theirs.entropy())
    _assert_same(ours.expand((3,)).mean, theirs.expand((3,)).mean)
    assert type(ours.expand((3,))).__name__ == name


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_cross_entropy_gradients_at_the_ends(dtype):
    """PyTorch's derivatives: (p − t) / max(p (1 − p), eps) in p (0 where p = t = 0, not
    1/(1 − p)), the clamped logs' difference in t."""
    p = np.array([0.0, 1.0, 0.5, 1e-20, 0.0, 1.0, 1e-10], dtype)  # log1p(-1e-10), not log(1 - 1e-10)
    t = np.array([0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0], dtype)
    grads = []
    for lib, fun in ((cr, F.binary_cross_entropy), (torch, TF.binary_cross_entropy)):
        pp, tt = lib.tensor(p, requires_grad=True), lib.tensor(t, requires_grad=True)
        loss = fun(pp, tt, weight=lib.tensor(np.arange(1.0, 8.0, dtype=dtype)))
        _silently(loss.backward) if lib is cr else loss.backward()
        grads.append((loss, pp.grad, tt.grad))
    for ours, theirs in zip(*grads, strict=True):
        _assert_same(ours, theirs, rtol=1e-6 if dtype == "float32" else 1e-10)


def test_binary_cross_entropy_second_derivatives():
    t = np.array([0.3, 0.9])
    cr.gradcheck(lambda p: F.binary_cross_entropy(p, cr.tensor(t)), np.array([0.2, 0.6]), order=2)
    cr.gradcheck(lambda s: F.binary_cross_entropy(cr.tensor([0.2, 0.6]), s), t, order=2)


@pytest.mark.parametrize("target", [[0, 3], [0, -1], [-100, 5]])
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_a_target_class_out_of_range_raises_pytorchs_index_error(loss, target):
    x = np.zeros((2, 3))
    with pytest.raises(IndexError):
        getattr(TF, loss)(torch.tensor(x), torch.tensor(target))
    with pytest.raises(IndexError, match="out of range for 3 classes"):
        getattr(F, loss)(cr.tensor(x), cr.tensor(target))


AT_THE_ORIGIN = {
    "atan2": lambda L, a, b: L.atan2(a, b), "atan2_method": lambda L, a, b: a.atan2(b),
    "hypot": lambda L, a, b: L.hypot(a, b), "hypot_method": lambda L, a, b: a.hypot(b),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("fun", AT_THE_ORIGIN.values(), ids=AT_THE_ORIGIN.keys())
def test_atan2_and_hypot_derivatives_at_the_origin(fun, dtype):
    # PyTorch's atan2 has derivatives 0 at (0, 0) (chainrule gave NaN), its hypot NaN
    # (chainrule gave 0, the mirror's convention, kept for chainrule.numpy)
    a = np.array([0.0, -0.0, 0.0, -0.0, 1.0, 0.0, 3e38], dtype)
    b = np.array([0.0, 0.0, -0.0, -0.0, 0.0, 2.0, 3e38], dtype)
    _assert_same_results(fun, a, b)
    # a 0-d second operand, broadcast
    _assert_same_results(lambda L, x: fun(L, x, L.zeros((), dtype=x.dtype)), a)


def test_numpys_atan2_and_hypot_keep_the_mirrors_derivatives_at_the_origin():
    # chainrule.numpy's: as HIPS autograd's arctan2 (NaN) and the 2-norm's at 0 (0)
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.isnan(cr.grad(lambda y: cr.numpy.arctan2(y, 0.0))(0.0))
    assert cr.grad(lambda y: cr.numpy.hypot(y, 0.0))(0.0) == 0.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_hardswish_of_values_whose_six_fold_overflows(dtype):
    # PyTorch computes x · 6 / 6 above 3: inf where x · 6 overflows (chainrule gave x)
    big = float(np.finfo(dtype).max) / 2
    x = np.array([big, -big, 2.0, 3.0, 4.0, INF, NAN], dtype)
    _assert_same_results(lambda L, t: (F if L is cr else TF).hardswish(t), x)


ARITHMETIC = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "matmul": lambda a, b: a @ b,
    "radd": lambda a, b: -INF + a, "rmul": lambda a, b: 0.0 * a, "square": lambda a, b: a ** 2,
    "sin": lambda a, b: a.sin(), "hypot": lambda a, b: a.hypot(b), "outer": lambda a, b: a[:, None] @ b[None],
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", ARITHMETIC.values(), ids=ARITHMETIC.keys())
def test_arithmetic_of_inf_nan_and_overflow_is_silent(op, dtype):
    # NumPy's "invalid value encountered in add" (inf - inf), "overflow encountered in
    # multiply" reached PyTorch programs, forward and backward; PyTorch is silent
    big = float(np.finfo(dtype).max)
    _assert_same_results(lambda L, a, b: op(a, b), np.array([INF, NAN, big, 0.0], dtype),
                         np.array([-INF, 1.0, big, INF], dtype))


def test_numpys_own_arithmetic_still_warns_beside_the_eager_layer():
    cr.tensor([INF]) - cr.tensor([INF])
    with pytest.warns(RuntimeWarning, match="invalid value"):
        np.array([INF]) - np.array([INF])
    with pytest.warns(RuntimeWarning, match="invalid value"):
        cr.grad(lambda x: cr.numpy.sum(x - INF))(np.array([INF]))  # a transform's code: NumPy's warnings


def test_arithmetic_in_threads_at_once_is_silent():
    # each operation runs in a context that one thread enters at a time; the others set
    # NumPy's error state around their call instead
    a = cr.tensor(np.full(200_000, INF))
    def work(_):
        return [float((a - a)[0]) for _ in range(20)]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = _silently(lambda: list(pool.map(work, range(8))))
    assert np.isnan(results).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_cross_entropy_with_logits_target_gradient_at_infinite_logits(dtype):
    # ∂/∂t is −x: ∓inf at x = ±inf (chainrule gave NaN, 0 · inf from the branch not taken)
    x, t = np.array([INF, -INF, 100.0, -3.0], dtype), np.array([0.3, 1.0, 0.5, 0.0], dtype)
    def loss(L, a, b):
        return (F if L is cr else TF).binary_cross_entropy_with_logits(a, b, reduction="none")
    ours, theirs = _silent_results(cr, loss, x, t), _silent_results(torch, loss, x, t)
    _assert_same(ours[2], theirs[2])  # the target's gradient
    # (the loss at x = -inf is inf, PyTorch's NaN, from its −inf + inf)
    for mine, torchs in zip(ours[:2], theirs[:2], strict=True):
        _assert_same(mine[[0, 2, 3]], torchs[[0, 2, 3]], rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sinc_of_inf_is_silent(dtype):
    # NumPy's sinc (a Python function, not a ufunc) warned "invalid value encountered in sin"
    _assert_same_results(lambda L, a: a.sinc(), np.array([INF, -INF, NAN, 0.5], dtype))


VECTOR_NORMS = {"norm": lambda lib, t, p: t.norm(p), "vector_norm": lambda lib, t, p: lib.linalg.vector_norm(t, p),
                "linalg_norm": lambda lib, t, p: lib.linalg.norm(t, p),
                "norm_dim": lambda lib, t, p: t.reshape(1, -1).norm(p, dim=1)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("data", [[NAN, 1.0], [0.0, 0.0], [NAN, NAN], [NAN, INF], [0.0, 1.0], [-2.0, 2.0], [INF, INF],
                                  [NAN, 0.0], [-INF, 0.0]])  # (a zero beside NaN: 0 · NaN, PyTorch's)
@pytest.mark.parametrize("p", [INF, -INF, 0, 1, 2, 3, -1, 0.5])
@pytest.mark.parametrize("norm", VECTOR_NORMS.values(), ids=VECTOR_NORMS.keys())
def test_vector_norm_values_and_gradients_at_nan_zero_and_ties(norm, p, data, dtype):
    results = []
    for lib in (cr, torch):
        x = lib.tensor(np.array(data, dtype))
        x.requires_grad_(True)
        out = _silently(lambda: norm(lib, x, p))  # noqa: B023
        out.sum().backward()
        grad = np.zeros(len(data), dtype) if x.grad is None else np.asarray(x.grad.detach())  # (p=0: no gradient)
        results.append((np.asarray(out.detach()), grad))
    (ours, our_grad), (theirs, their_grad) = results
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, equal_nan=True)
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-6, equal_nan=True)


SPREADS = {"std": lambda lib, t: t.std(), "var": lambda lib, t: t.var(), "std_dim": lambda lib, t: t.std(dim=0),
           "std_correction0": lambda lib, t: t.std(correction=0), "std_keepdim": lambda lib, t: t.std(0, keepdim=True),
           "var_dim": lambda lib, t: t.var(0, correction=2), "std_mean": lambda lib, t: lib.std_mean(t)[0],
           "var_mean": lambda lib, t: lib.var_mean(t)[0], "torch_std": lambda lib, t: lib.std(t, 0)}


@pytest.mark.parametrize("data", [[1e20, -1e20, 3e19], [3e19, 1e19, -2e19], [1.0, 2.0, 4.0], [300.0, -300.0, 0.0]])
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("spread", SPREADS.values(), ids=SPREADS.keys())
def test_std_and_var_of_half_and_single_precision_accumulate_in_double(spread, dtype, data):
    """PyTorch computes them in float64 and rounds the result: the std of float32 values
    whose variance overflows is finite."""
    results = []
    for lib in (cr, torch):
        x = lib.tensor(np.array(data, dtype), requires_grad=True)
        out = _silently(lambda: spread(lib, x))  # noqa: B023
        out.sum().backward()
        results.append((np.asarray(out.detach()), np.asarray(x.grad.detach())))
    (ours, our_grad), (theirs, their_grad) = results
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    tol = 1e-3 if dtype == "float16" else 1e-6
    np.testing.assert_allclose(ours, theirs, rtol=tol)
    np.testing.assert_allclose(our_grad, their_grad, rtol=tol, atol=tol)


INTEGER_POWERS = {
    "scalar_minus_one": lambda lib, x: x ** -1, "scalar_minus_two": lambda lib, x: x.pow(-2),
    "pow_minus_one": lambda lib, x: x.clone().pow_(-1), "torch_pow": lambda lib, x: lib.pow(x, -1),
    "zero": lambda lib, x: x ** 0, "three": lambda lib, x: x ** 3, "method_zero": lambda lib, x: x.pow(0),
    "zero_dim_tensor": lambda lib, x: x ** lib.tensor(-1), "tensor": lambda lib, x: x ** lib.tensor([-1, 2, -3]),
    "method_tensor": lambda lib, x: x.pow(lib.tensor([-1, 2, -3])), "reflected": lambda lib, x: 2 ** -x,
    "reflected_mixed": lambda lib, x: 3 ** (x - 2), "float": lambda lib, x: x ** -1.5,
}


@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8", "bool"])
@pytest.mark.parametrize("power", INTEGER_POWERS.values(), ids=INTEGER_POWERS.keys())
def test_integer_powers_are_pytorchs(power, dtype):
    """A negative Python int power of integers is refused (RuntimeError), a Tensor's is
    PyTorch's integer power (0 but for a base of ±1), in PyTorch's dtype."""
    data = np.array([1, 2, 3]) if dtype != "bool" else np.array([True, False, True])
    try:
        theirs = power(torch, torch.tensor(data.astype(dtype)))
    except RuntimeError as error:
        with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"
                           if "negative integer" in str(error) else ""):
            power(cr, cr.tensor(data.astype(dtype)))
        return
    ours = power(cr, cr.tensor(data.astype(dtype)))
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.") or theirs.dtype == torch.float32
    np.testing.assert_allclose(np.asarray(ours, np.float64), theirs.double().numpy(), rtol=1e-6)


BOOL_REFUSALS = {
    "abs": lambda lib, x: x.abs(), "torch_abs": lambda lib, x: lib.abs(x), "abs_": lambda lib, x: x.abs_(),
    "median": lambda lib, x: x.median(), "median_dim": lambda lib, x: x.median(0),
    "nanmedian": lambda lib, x: lib.nanmedian(x), "kthvalue": lambda lib, x: x.kthvalue(1),
    "topk": lambda lib, x: x.topk(1), "floor": lambda lib, x: x.floor(), "ceil": lambda lib, x: x.ceil(),
    "trunc": lambda lib, x: lib.trunc(x), "round": lambda lib, x: x.round(), "frac": lambda lib, x: x.frac(),
    "softsign": lambda lib, x: (F if lib is cr else TF).softsign(x),
}


@pytest.mark.parametrize("call", BOOL_REFUSALS.values(), ids=BOOL_REFUSALS.keys())
def test_functions_of_numbers_refuse_bool_tensors_as_pytorch(call):
    data = np.array([True, False, True])
    with pytest.raises(RuntimeError if "topk" in str(call.__code__.co_names) else NotImplementedError) as theirs:
        call(torch, torch.tensor(data))
    with pytest.raises(type(theirs.value), match="convert"):
        call(cr, cr.tensor(data))


@pytest.mark.parametrize("name", ["mode", "sort", "max", "cummax", "argsort"])
def test_order_functions_of_bool_tensors_are_pytorchs(name):
    data = np.array([True, False, True, False])
    args = () if name in ("sort",) else (0,)
    ours, theirs = getattr(cr, name)(cr.tensor(data), *args), getattr(torch, name)(torch.tensor(data), *args)
    for a, b in zip(ours if isinstance(ours, tuple) else (ours,), theirs if isinstance(theirs, tuple) else (theirs,),
                    strict=True):
        assert str(a.dtype) == str(b.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(np.asarray(a), b.numpy())


TIES = [[1.0, 2.0, 1.0, 2.0, 1.0, 3.0, 3.0, 1.0], [0.0, -0.0, 0.0, -0.0, 1.0, 1.0, 0.0, 0.0], [2.0] * 16,
        [1.0, NAN, 1.0, 0.0, NAN, 0.0]]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("data", TIES)
@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_argsort_keep_ties_in_order_as_pytorch(data, descending, dtype):
    """PyTorch's CPU sort keeps tied values in their order with stable=True, and without
    it for rows of up to 16 (NaN last ascending, first descending)."""
    if dtype == "int64" and np.isnan(data).any():
        pytest.skip("integers hold no NaN")
    x = np.array(data, dtype)
    for call in (lambda lib, t: lib.argsort(t, descending=descending), lambda lib, t: t.argsort(descending=descending),
                 lambda lib, t: lib.sort(t, descending=descending)[1],
                 lambda lib, t: lib.sort(t, descending=descending, stable=True)[1]):
        np.testing.assert_array_equal(np.asarray(call(cr, cr.tensor(x))), call(torch, torch.tensor(x)).numpy())


def test_integer_power_in_place_by_a_tensor_of_negative_integers():
    ours, theirs = cr.tensor([[1, 2], [3, -1]]), torch.tensor([[1, 2], [3, -1]])
    ours.pow_(cr.tensor([[1, -1], [2, -3]]))
    theirs.pow_(torch.tensor([[1, -1], [2, -3]]))
    np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())


POWERS_OF_TENSORS = {
    "operator": lambda L, x, y: x ** y, "method": lambda L, x, y: x.pow(y), "function": lambda L, x, y: L.pow(x, y),
    "in_place": lambda L, x, y: x.clone().pow_(y), "augmented": lambda L, x, y: _augmented_power(x, y),
    "float_power": lambda L, x, y: L.float_power(x, y), "broadcast": lambda L, x, y: x[[0, 2], None] ** y[:3],
    "zero_dim": lambda L, x, y: x[[0, 2, 6]] ** y[1], "reflected": lambda L, x, y: 0.0 ** y + (-0.0) ** y,
    "number_base": lambda L, x, y: L.pow(0.0, y), "empty": lambda L, x, y: x[:0] ** y[:0],
}


def _augmented_power(x, y):
    z = x.clone()
    z **= y
    return z


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("power", POWERS_OF_TENSORS.values(), ids=POWERS_OF_TENSORS.keys())
def test_power_derivatives_at_zero_and_nan_bases(power, dtype):
    # ∂(x^y)/∂y at x = ±0, y < 0 is x^y log x = ∓inf in PyTorch (chainrule gave NaN: log 0
    # taken as 0), and ∂/∂x at a NaN x with y = 0 is 0 (chainrule gave NaN)
    x = np.array([0.0, -0.0, 0.0, -0.0, 0.0, NAN, 0.0, 2.0, -2.0], dtype)
    y = np.array([-1.0, -1.0, -2.5, -2.0, 0.0, 0.0, 2.0, -INF, 0.5], dtype)
    _assert_same_results(power, x, y)


def test_power_tangents_at_zero_bases_are_torch_funcs():
    x = np.array([0.0, -0.0, 0.0, NAN, 2.0])
    y = np.array([-1.0, -1.0, 2.0, 0.0, 3.0])
    for wrt in (0, 1):
        def tangent(lib, wrt=wrt):
            primals = [lib.tensor(x), lib.tensor(y)]
            f = (lambda a: lib.pow(a, primals[1])) if wrt == 0 else (lambda b: lib.pow(primals[0], b))
            return lib.func.jvp(f, (primals[wrt],), (lib.ones(5, dtype=lib.float64),))[1]
        _assert_same(tangent(cr), tangent(torch))



DISTANCES = {
    "cdist": lambda lib, a, b, p: lib.cdist(a[None], b, p=p),
    "dist": lambda lib, a, b, p: lib.stack([lib.dist(a, b[0], p), b[1].dist(a, p)]),
    "pairwise_distance": lambda lib, a, b, p: lib.nn.functional.pairwise_distance(a[None], b, p=p),
    "renorm": lambda lib, a, b, p: (a[None] - b).renorm(p, 0, 1.0),
    "normalize": lambda lib, a, b, p: lib.nn.functional.normalize(a[None] - b, p=p, dim=1),
}
CASES = [(name, p) for name in DISTANCES for p in (0.5, 1, 1.5, 2, 3)] + [("normalize", p) for p in (-1, 0, INF, -INF)]


@pytest.mark.parametrize("row", [[NAN, 0.0, 0.0], [INF, 1.0, 0.0], [0.0, -0.0, 3.0], [1.0, -2.0, 0.5]])
@pytest.mark.parametrize(("name", "p"), CASES)
def test_distance_gradients_at_nan_inf_and_equal_coordinates(name, p, row):
    # the second point of `points` shares coordinates with `row`: a zero difference
    points = np.array([[1.0, -2.0, 0.5], [0.0, 0.0, 0.0]])
    # (atol: normalize's gradients that cancel to 0 are rounding noise in both)
    _assert_same_results(lambda lib, a, b: DISTANCES[name](lib, a, b, p), np.array(row), points, atol=1e-14)



PAIRWISE = {"cdist": lambda lib, a, b, p: lib.cdist(a, b, p=p),
            "pdist": lambda lib, a, b, p: lib.nn.functional.pdist(lib.cat([a, b]), p=p)}
POINTS = {
    "nan_inf_ties": ([[1.0, NAN, 2.0], [0.0, 1.0, 1.0]], [[1.0, 2.0, 3.0], [NAN, 0.0, 1.0], [0.0, INF, 1.0]]),
    "inf_minus_inf": ([[INF, 1.0], [INF, 2.0]], [[0.0, -INF], [INF, -1.0]]),
    "all_nan": ([[NAN, NAN]], [[1.0, 2.0], [5.0, -5.0]]),
    "no_points": (np.zeros((0, 3)), [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]),
    "no_coordinates": (np.zeros((2, 0)), np.zeros((3, 0))),
}


@pytest.mark.parametrize("p", [0, 0.5, 1, 2, 3, INF])
@pytest.mark.parametrize("points", POINTS.values(), ids=POINTS.keys())
@pytest.mark.parametrize("name", PAIRWISE)
def test_cdist_and_pdist_at_nan_inf_ties_and_empty_points(name, points, p):
    # PyTorch's inf-distance: cdist leaves a NaN coordinate out, pdist's is NaN; every tie
    # gets the whole derivative; the derivative is NaN at a NaN coordinate and at inf - inf
    a, b = (np.array(v, dtype=np.float64) for v in points)
    _assert_same_results(lambda lib, a, b: PAIRWISE[name](lib, a, b, p), a, b)



@pytest.mark.parametrize(("a", "b", "eps"), [
    ([1e-9, 2e-9], [1.0, 1.0], 1e-8), ([0.0, 0.0], [1.0, 2.0], 1e-8), ([1e-9, 0.0], [3e-9, 1e-9], 1e-8),
    ([3.0, 4.0], [1.0, 2.0], 10.0), ([NAN, 1.0], [1.0, 1.0], 1e-8), ([INF, 1.0], [1.0, 1.0], 1e-8)])
def test_cosine_similarity_gradient_where_a_norm_is_below_eps(a, b, eps):
    # PyTorch clamps each norm to eps in value only (in place, under no_grad): the derivative
    # is that of the unclamped norm
    _assert_same_results(lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b, dim=0, eps=eps),
                         np.array(a), np.array(b), rtol=1e-9)


SECOND_DERIVATIVE_NORMS = {
    "vector_norm": lambda lib, x: lib.linalg.vector_norm(x),
    "dist": lambda lib, x: lib.dist(x, lib.zeros_like(x)),
    "normalize": lambda lib, x: lib.nn.functional.normalize(x, dim=0)[0],
}


@pytest.mark.parametrize("norm", SECOND_DERIVATIVE_NORMS.values(), ids=SECOND_DERIVATIVE_NORMS.keys())
def test_two_norm_second_derivatives_at_a_zero_coordinate(norm):
    def hessian_row(lib):
        x = lib.tensor([1.0, 0.0, 0.5], dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(norm(lib, x), x, create_graph=True)
        return lib.autograd.grad(g[1], x)[0]
    _assert_same(hessian_row(cr), hessian_row(torch))


# (before the first zero only finite numbers: there PyTorch divides the products by the
# entry, inf / inf = NaN, where chainrule's derivative is the product of the others, as prod's)
CUMPRODS_WITH_ZEROS = [[0.0, INF, 1.0], [2.0, 0.0, INF], [1.0, 0.0, 2.0, INF], [0.0, 0.0, INF], [0.0, INF, 0.0],
                       [3.0, 0.0, INF, 2.0], [0.0, NAN, 1.0], [0.5, 0.0, -INF, 0.0, 4.0]]


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("data", CUMPRODS_WITH_ZEROS)
def test_cumprod_gradient_through_zeros_and_inf(data, create_graph):
    # PyTorch's first derivative at a zero counts the products from it on as 0 (0 * inf too);
    # with create_graph it takes the products of the others (0 * inf = NaN), as chainrule's rule
    weights = np.arange(1.0, 2 * len(data) + 1).reshape(2, -1)
    def gradient(lib):  # (a second row without zeros beside it)
        x = lib.tensor(np.array([data, np.linspace(-2.0, 3.0, len(data))]), requires_grad=True)
        out = (lib.cumprod(x, 1) * lib.tensor(weights)).sum()
        return lib.autograd.grad(out, x, create_graph=create_graph)[0]
    _assert_same(_silently(lambda: gradient(cr)), gradient(torch))

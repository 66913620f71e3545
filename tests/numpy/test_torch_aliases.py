"""PyTorch's other names and short compositions (torch.addcmul, x.xlogy, torch.greater,
torch.diag_embed, ...), as methods and as torch.<name> functions, against torch: values,
dtypes and gradients."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((3, 4))
P = rng.uniform(0.5, 2.0, (3, 4))
V = rng.standard_normal(4)
M = rng.standard_normal((2, 3, 4))

# name -> (arrays that require grad, other positional args as arrays/numbers, keyword args)
CASES = {
    "arccos": ([np.tanh(A)], [], {}),
    "arcsin": ([np.tanh(A)], [], {}),
    "arctan": ([A], [], {}),
    "arccosh": ([P + 1], [], {}),
    "arcsinh": ([A], [], {}),
    "arctanh": ([np.tanh(A) * 0.9], [], {}),
    "absolute": ([A], [], {}),
    "fix": ([A * 3], [], {}),
    "positive": ([A], [], {}),
    "multiply": ([A, B], [], {}),
    "divide": ([A, P], [], {}),
    "divide_floor": ([A * 5, P], [], {"rounding_mode": "floor"}),
    "subtract": ([A, B], [], {"alpha": 2}),
    "addcmul": ([A, B, P], [], {"value": -0.5}),
    "addcmul_default": ([A, B, P], [], {}),
    "addcdiv": ([A, B, P], [], {"value": 2.0}),
    "xlogy": ([A, P], [], {}),
    "copysign": ([A], [B], {}),
    "logaddexp2": ([A, B], [], {}),
    "inner": ([A, M], [], {}),
    "ger": ([V, V[::-1].copy()], [], {}),
    "msort": ([A], [], {}),
    "diag_embed": ([M], [], {}),
    "diag_embed_offset": ([M], [], {"offset": -2, "dim1": 0, "dim2": 2}),
    "diag_embed_positive_offset": ([A], [], {"offset": 1}),
    "diagflat": ([A], [], {"offset": 1}),
    "cov": ([A], [], {}),
    "cov_weights": ([A], [], {"correction": 0, "fweights": np.array([1, 2, 1, 3]), "aweights": P[0]}),
    "corrcoef": ([A], [], {}),
    "i0": ([A], [], {}),
    "mvlgamma": ([P + 2], [], {"p": 3}),
    "deg2rad": ([A], [], {}),
    "rad2deg": ([A], [], {}),
    "ravel": ([A.T], [], {}),
    "swapdims": ([M], [0, 2], {}),
    "unflatten": ([A], [1, (2, 2)], {}),
    "arctan2": ([A, B], [], {}),
}
NAMES = {"divide_floor": "divide", "addcmul_default": "addcmul", "diag_embed_offset": "diag_embed",
         "diag_embed_positive_offset": "diag_embed", "cov_weights": "cov"}


def call(lib, case, dtype):
    grads, others, kwargs = CASES[case]
    name = NAMES.get(case, case)
    if lib is torch:
        xs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in grads]
        others = [torch.tensor(o) if isinstance(o, np.ndarray) else o for o in others]
        kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    else:
        xs = [cr.tensor(a.astype(dtype), requires_grad=True) for a in grads]
        others = [cr.tensor(o) if isinstance(o, np.ndarray) else o for o in others]
        kwargs = {k: cr.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    if case == "copysign":
        others = [o.to(xs[0].dtype) for o in others]
    if case == "cov_weights":
        kwargs["aweights"] = kwargs["aweights"].to(xs[0].dtype)
    return xs, getattr(lib, name)(*xs, *others, **kwargs), (xs, others, kwargs, name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", sorted(CASES))
def test_function_and_method_forms_give_torch_s_values_and_gradients(case, dtype):
    xs, y, (_, others, kwargs, name) = call(cr, case, dtype)
    txs, ty, _ = call(torch, case, dtype)
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}
    assert str(y.dtype) == str(ty.dtype).removeprefix("torch.") and tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **tol)
    # the method form gives the same
    method = getattr(xs[0], name)(*xs[1:], *others, **kwargs)
    np.testing.assert_array_equal(method.detach().numpy(), y.detach().numpy())
    w = rng.standard_normal(ty.shape).astype(dtype)
    (y * cr.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    for x, tx in zip(xs, txs, strict=True):
        if tx.grad is None or x.grad is None:  # a piecewise-constant result: zero, or no gradient
            assert not np.any(x.grad.numpy() if x.grad is not None else tx.grad.numpy())
        else:
            np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol)


@pytest.mark.parametrize("name", ["greater", "greater_equal", "less", "less_equal", "not_equal"])
def test_comparison_names_give_bool_tensors(name):
    a, b = np.array([1.0, np.nan, -0.0, 2.0]), np.array([1.0, np.nan, 0.0, -1.0])
    got, want = getattr(cr, name)(cr.tensor(a), cr.tensor(b)), getattr(torch, name)(torch.tensor(a), torch.tensor(b))
    assert got.dtype == np.bool_ and got.tolist() == want.tolist()
    assert getattr(cr.tensor(a), name)(1.0).tolist() == getattr(torch.tensor(a), name)(1.0).tolist()


def test_integer_and_test_functions():
    a, b = np.array([12, -7, 0, 5], dtype=np.int64), np.array([18, 3, 4, -10], dtype=np.int64)
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "gcd", "lcm", "bitwise_left_shift",
                 "bitwise_right_shift"):
        y = getattr(cr, name)(cr.tensor(a), cr.tensor(np.abs(b) % 5))
        ty = getattr(torch, name)(torch.tensor(a), torch.tensor(np.abs(b) % 5))
        assert y.dtype == np.int64 and y.tolist() == ty.tolist(), name
    assert cr.bitwise_not(cr.tensor(a)).tolist() == torch.bitwise_not(torch.tensor(a)).tolist()
    flags = np.array([True, False])
    assert cr.bitwise_xor(cr.tensor(flags), True).tolist() == [False, True]
    with pytest.raises(TypeError):
        cr.bitwise_and(cr.tensor([1.0]), cr.tensor([2.0]))
    f = np.array([np.inf, -np.inf, np.nan, 1.0])
    for name in ("isposinf", "isneginf", "isreal"):
        assert getattr(cr, name)(cr.tensor(f)).tolist() == getattr(torch, name)(torch.tensor(f)).tolist()
    z = np.array([1 + 0j, 1j])
    assert cr.isreal(cr.tensor(z)).tolist() == torch.isreal(torch.tensor(z)).tolist()
    assert cr.is_nonzero(cr.tensor([0.5])) is True and cr.tensor([[0.0]]).is_nonzero() is False
    for bad in ([1.0, 2.0], []):
        with pytest.raises(RuntimeError, match="ambiguous"):
            torch.is_nonzero(torch.tensor(bad))
        with pytest.raises(RuntimeError, match="ambiguous"):
            cr.is_nonzero(cr.tensor(bad))
    assert cr.is_same_size(cr.zeros(2, 3), cr.ones(2, 3)) and not cr.zeros(2).is_same_size(cr.zeros(3))
    for dtype in ("float32", "int8", "uint8", "bool", "int64"):
        want = torch.zeros(1, dtype=getattr(torch, dtype)).is_signed()
        assert cr.zeros(1, dtype=getattr(cr, dtype)).is_signed() == want
    with pytest.raises(TypeError, match="bool"):
        cr.positive(cr.tensor([True]))


def test_splits_polygamma_and_xlogy_forms():
    x = np.arange(24.0).reshape(2, 3, 4)
    for name, arg in (("hsplit", 3), ("vsplit", [1]), ("dsplit", [1, 3])):
        got, want = getattr(cr, name)(cr.tensor(x), arg), getattr(torch, name)(torch.tensor(x), arg)
        assert isinstance(got, tuple) and [g.tolist() for g in got] == [w.tolist() for w in want]
    t = cr.tensor([0.5, 2.0], requires_grad=True)
    y = cr.polygamma(1, t)
    tt = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)
    ty = torch.polygamma(1, tt)
    # torch's trigamma is good to 4e-10 here; the closed forms pi^2/2 and pi^2/6 - 1 to rounding
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-9)
    np.testing.assert_allclose(t.polygamma(1).detach().numpy(), [np.pi**2 / 2, np.pi**2 / 6 - 1], rtol=1e-14)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-9)
    # a number for either argument, zeros, NaN, and the in-place form
    cases = [(0.0, np.array([0.0, np.nan, 2.0])), (np.array([0.0, 0.0, 3.0]), np.array([-1.0, np.nan, 0.0])),
             (np.array([2.0, 0.0], dtype=np.float32), 3)]
    for a, b in cases:
        wrap = lambda lib, v: lib.tensor(v) if isinstance(v, np.ndarray) else v  # noqa: E731
        got, want = cr.xlogy(wrap(cr, a), wrap(cr, b)), torch.xlogy(wrap(torch, a), wrap(torch, b))
        assert str(got.dtype) == str(want.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    s = cr.tensor([0.0, 2.0])
    assert s.xlogy_(cr.tensor([0.0, np.e])) is s and s.tolist() == pytest.approx([0.0, 2.0])
    leaf = cr.tensor([1.0, 2.0], requires_grad=True)
    s = leaf * 1.0
    s.xlogy_(leaf)  # on the graph: d/dx (x log x) = log x + 1
    s.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), np.log([1.0, 2.0]) + 1, rtol=1e-15)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf.xlogy_(leaf)
    with pytest.raises(TypeError, match="integer division"):
        cr.addcdiv(cr.tensor([1.0]), cr.tensor([1]), cr.tensor([2]))


# name -> (values, extra arguments): the in-place form against torch's, on a plain Tensor
# and on one computed on a graph (the gradient through the write)
IN_PLACE_CASES = {
    "acos": (np.tanh(A), ()), "asinh": (A, ()), "atanh": (np.tanh(A) * 0.9, ()), "ceil": (A * 3, ()),
    "cos": (A, ()), "cosh": (A, ()), "deg2rad": (A, ()), "digamma": (P, ()), "erf": (A, ()), "erfinv": (np.tanh(A), ()),
    "exp2": (A, ()), "expm1": (A, ()), "fix": (A * 3, ()), "frac": (A * 3, ()), "i0": (A, ()), "lgamma": (P, ()),
    "log10": (P, ()), "log1p": (P, ()), "log2": (P, ()), "negative": (A, ()), "rsqrt": (P, ()), "sin": (A, ()),
    "sinc": (A, ()), "tan": (A, ()), "trunc": (A * 3, ()), "absolute": (A, ()), "sgn": (A, ()),
    "atan2": (A, (B,)), "copysign": (A, (B,)), "cumsum": (A, (1,)), "cumprod": (A, (0,)), "divide": (A, (P,)),
    "multiply": (A, (B,)), "subtract": (A, (B,)), "gt": (A, (B,)), "less_equal": (A, (0.1,)), "fmod": (A * 3, (P,)),
    "remainder": (A * 3, (P,)), "hypot": (A, (B,)), "logit": (np.tanh(P) * 0.9, ()), "polygamma": (P, (1,)),
    "tril": (A, ()), "triu": (A, (1,)), "float_power": (P, (2.5,)), "heaviside": (A, (B,)),
    "nan_to_num": (np.where(A > 0.5, np.nan, A), ()), "mvlgamma": (P + 2, (2,)),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE_CASES))
def test_in_place_forms_are_torch_s(name):
    values, extra = IN_PLACE_CASES[name]
    outs = []
    for lib in (cr, torch):
        args = [lib.tensor(e) if isinstance(e, np.ndarray) else e for e in extra]
        x = lib.tensor(values.copy())
        r = getattr(x, name + "_")(*args)
        leaf = lib.tensor(values.copy(), requires_grad=True)
        y = leaf * 1.0
        getattr(y, name + "_")(*args)
        if name not in NO_TORCH_DERIVATIVE:
            (y * lib.tensor(B)).sum().backward()
        g = None if leaf.grad is None else (lib.zeros_like(leaf.grad) + leaf.grad).numpy()  # (torch's zero tensor)
        outs.append((r is x, x.detach().numpy(), g))
    assert outs[0][0] and outs[1][0]
    rtol = 1e-9 if name == "polygamma" else 1e-10  # torch's trigamma is good to ~5e-10
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=rtol, atol=1e-12)
    if name not in NO_TORCH_DERIVATIVE:
        np.testing.assert_allclose(outs[0][2], outs[1][2], rtol=1e-7, atol=1e-12)


# torch: "the derivative for 'inplace version of asinh' is not implemented" (heaviside_ too)
NO_TORCH_DERIVATIVE = {"asinh", "atanh", "heaviside"}


def test_in_place_forms_refuse_what_torch_refuses():
    for lib in (cr, torch):
        with pytest.raises(RuntimeError):
            lib.tensor([1, 2]).sin_()  # a float result into an int64 Tensor
        with pytest.raises(RuntimeError, match="leaf"):
            lib.tensor([1.0], requires_grad=True).cos_()
        a = lib.tensor([12, 18])
        assert a.gcd_(lib.tensor([8, 12])).tolist() == [4, 6]
        assert a.bitwise_and_(lib.tensor([1, 2])).tolist() == [0, 2]


def test_linear_algebra_methods_casts_and_the_device_are_torch_s():
    m = np.array([[2.0, 1.0], [0.5, 3.0]])
    spd = m @ m.T + np.eye(2)
    for name, values, args in (("det", m, ()), ("logdet", m, ()), ("inverse", m, ()), ("pinverse", m, ()),
                               ("matrix_power", m, (3,)), ("matrix_exp", m, ()), ("cholesky", spd, ()),
                               ("signbit", np.array([-0.0, 0.0, -1.0]), ()), ("vdot", m[0], (m[1],)),
                               ("logcumsumexp", m, (1,)), ("rot90", m, (1, (0, 1))), ("float_power", m, (2,))):
        got = getattr(cr.tensor(values), name)(*[cr.tensor(a) if isinstance(a, np.ndarray) else a for a in args])
        want = getattr(torch.tensor(values), name)(*[torch.tensor(a) if isinstance(a, np.ndarray) else a
                                                     for a in args])
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, err_msg=name)
    sign, logabs = cr.tensor(m).slogdet()
    tsign, tlogabs = torch.tensor(m).slogdet()
    assert sign.item() == tsign.item() and logabs.item() == pytest.approx(tlogabs.item())
    assert [t.tolist() for t in cr.arange(7).tensor_split(3)] == [t.tolist() for t in torch.arange(7).tensor_split(3)]
    for cast in ("byte", "char", "cfloat", "cdouble"):
        got, want = (getattr(lib.tensor([1.7, -1.0], dtype=lib.float64), cast)() for lib in (cr, torch))
        assert str(got.dtype) == str(want.dtype).removeprefix("torch.") and got.tolist() == want.tolist(), cast
    assert cr.ones(1).is_cpu and cr.ones(1).get_device() == torch.ones(1).get_device() == -1
    for shape, wrap in (((3, 3), False), ((5, 2), True), ((5, 2), False), ((2, 2, 2), False)):
        got, want = cr.zeros(*shape).fill_diagonal_(7.0, wrap), torch.zeros(*shape).fill_diagonal_(7.0, wrap)
        assert got.tolist() == want.tolist()
    with pytest.raises(RuntimeError):
        cr.zeros(2, 3, 4).fill_diagonal_(1.0)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_is_torch_s(reduce, include_self):
    # self ties src at [1, 1]; without self, PyTorch still splits the gradient with it there (its
    # derivative counts self's tie though self is left out), so that case has no tie
    base = np.array([[1.0, -2.0, 3.0, 0.5], [4.0, 3.0 if include_self else 5.0, -6.0, 2.0]])
    index = np.array([[0, 0, 3], [1, 2, 2]])
    src = np.array([[2.0, 7.0, -1.0], [3.0, 3.0, 0.25]])  # ties for amax/amin at row 1
    outs = []
    for lib in (cr, torch):
        x, s = lib.tensor(base, requires_grad=True), lib.tensor(src, requires_grad=True)
        y = x.scatter_reduce(1, lib.tensor(index), s, reduce, include_self=include_self)
        (y * lib.tensor(np.arange(1.0, 9.0).reshape(2, 4))).sum().backward()
        z = lib.tensor(base.copy())
        z.scatter_reduce_(1, lib.tensor(index), lib.tensor(src), reduce, include_self=include_self)
        outs.append([y.detach().numpy(), x.grad.numpy(), s.grad.numpy(), z.numpy()])
        ints = lib.tensor([[5, 1, 2]]).scatter_reduce(1, lib.tensor([[0, 0]]), lib.tensor([[2, 4]]), reduce,
                                                       include_self=include_self)
        outs[-1].append(ints.numpy())
    for a, b in zip(*outs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)

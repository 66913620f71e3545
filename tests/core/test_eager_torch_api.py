"""PyTorch's Tensor API on eager Tensors, side by side with PyTorch: the same calls, the
same results (values, dtypes, errors)."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def test_detach_in_place_makes_a_leaf_without_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    assert h.detach_() is h and not h.requires_grad and h.is_leaf and h.grad_fn is None
    (h * x).sum().backward()                      # h is a constant now, as in PyTorch
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    th = tx * 2
    th.detach_()
    (th * tx).sum().backward()
    assert x.grad.tolist() == tx.grad.tolist() == [2.0, 4.0]


def test_detach_in_place_refuses_a_view_on_a_graph_as_pytorch():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="view"):
        (x * 2)[0].detach_()
    with pytest.raises(RuntimeError, match="view"):
        (torch.tensor([1.0, 2.0], requires_grad=True) * 2)[0].detach_()


TYPE_NAMES = [("float32", "FloatTensor"), ("float64", "DoubleTensor"), ("float16", "HalfTensor"),
              ("int64", "LongTensor"), ("int32", "IntTensor"), ("int16", "ShortTensor"),
              ("int8", "CharTensor"), ("uint8", "ByteTensor"), ("bool", "BoolTensor")]


@pytest.mark.parametrize("dtype, name", TYPE_NAMES)
def test_type_names_the_type_as_pytorch_under_chainrules_name(dtype, name):
    t = cr.zeros(2, dtype=dtype)
    assert t.type() == f"chainrule.{name}"
    assert torch.zeros(2, dtype=getattr(torch, dtype)).type() == f"torch.{name}"
    for spelling in (f"torch.{name}", f"chainrule.{name}", cr.float64):
        converted = cr.ones(2, dtype="float32").type(spelling)
        expected = np.dtype(dtype) if spelling is not cr.float64 else np.dtype("float64")
        assert converted.dtype == expected and cr.is_tensor(converted)


def test_type_to_its_own_dtype_is_the_tensor_itself():
    t = cr.ones(2, dtype=cr.float32)
    assert t.type(cr.float32) is t and t.type("torch.FloatTensor") is t


@pytest.mark.parametrize("name", ["float32", "float64", "float16", "int64", "int32", "uint8", "bool", "complex64"])
def test_torch_dtype_objects_are_read_as_numpys(name):
    tdtype = getattr(torch, name)
    assert cr.tensor([1, 0], dtype=tdtype).dtype == np.dtype(name)
    assert cr.zeros(3, dtype=tdtype).dtype == np.dtype(name)
    assert cr.zeros_like(cr.ones(2), dtype=tdtype).dtype == np.dtype(name)
    assert cr.ones(2).to(tdtype).dtype == np.dtype(name)
    assert cr.arange(2, dtype=tdtype).dtype == np.dtype(name)


def test_a_torch_dtype_without_a_numpy_one_is_refused_by_name():
    with pytest.raises(TypeError, match="qint8.*cr.float32"):
        cr.tensor([1.0], dtype=torch.qint8)
    with pytest.raises(TypeError, match="not a dtype"):
        cr.zeros(2, dtype="floaty")
    with pytest.raises(TypeError, match="FloatTensor"):
        cr.zeros(2).type("torch.FloatyTensor")


def test_modules_take_torch_dtypes():
    layer = cr.nn.Linear(2, 3, dtype=torch.float64)
    assert layer.weight.dtype == np.float64
    assert layer.to(torch.float32).weight.dtype == np.float32


def _both(op, values, dtype, other):
    a = op(cr.tensor(values, dtype=dtype), other(cr))
    b = op(torch.tensor(values, dtype=getattr(torch, dtype)), other(torch))
    return a, b


OTHERS = {
    "np.float64": lambda lib: np.float64(0.1),
    "python float": lambda lib: 0.1,
    "0-d float64": lambda lib: lib.tensor(0.1, dtype=lib.float64),
    "np.float32": lambda lib: np.float32(0.1),
}
COMPARISONS = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "eq": lambda a, b: a.eq(b), "ge": lambda a, b: a.ge(b),
    "lt": lambda a, b: a.lt(b),
}


@pytest.mark.parametrize("other", OTHERS)
@pytest.mark.parametrize("op", COMPARISONS)
def test_comparisons_of_float32_tensors_promote_as_pytorch(op, other):
    # 0.1 in float32 is above 0.1 in float64: compared in float64 (NumPy) they differ
    a, b = _both(COMPARISONS[op], [0.1, 0.2, 0.05], "float32", OTHERS[other])
    assert cr.is_tensor(a) and a.dtype == np.bool_
    assert a.tolist() == b.tolist()


@pytest.mark.parametrize("other", ["python float", "0-d float64", "np.float64", "np.float32"])
@pytest.mark.parametrize("op", ["<", "==", ">="])
def test_reflected_comparisons_promote_as_pytorch(other, op):
    compare = {"<": lambda t, o: o < t, "==": lambda t, o: o == t, ">=": lambda t, o: o >= t}[op]
    a, b = _both(compare, [0.1, 0.2, 0.05], "float32", OTHERS[other])
    assert cr.is_tensor(a) and a.tolist() == b.tolist()


def test_numpy_comparison_ufuncs_on_an_eager_tensor_give_eager_tensors():
    x = cr.tensor([0.1, 0.2], dtype=cr.float32)
    for result, expected in ((np.less(x, 0.15), [True, False]), (np.equal(np.float64(0.1), x), [True, False]),
                             (np.greater_equal(x, np.array(0.2)), [False, True])):
        assert cr.is_tensor(result) and result.tolist() == expected


def test_comparisons_inside_grad_keep_numpys_rules():
    def f(x):
        return (x * (x == np.float64(0.1))).sum()
    assert cr.grad(f)(np.array([0.1, 0.2], dtype=np.float32)).tolist() == [0.0, 0.0]


def test_a_gradient_penalty_written_for_pytorch_runs_and_agrees():
    rng = np.random.default_rng(0)
    w0, x0 = rng.normal(size=(4, 3)), rng.normal(size=(5, 4))
    results = []
    for lib in (cr, torch):
        w = lib.tensor(w0, requires_grad=True)
        x = lib.tensor(x0).requires_grad_(True)
        out = (x @ w).tanh()
        (g,) = lib.autograd.grad(outputs=out, inputs=x, grad_outputs=lib.ones(5, 3, dtype=lib.float64),
                                 create_graph=True, retain_graph=True, only_inputs=True)
        penalty = ((g.norm(2, dim=1) - 1) ** 2).mean()
        (penalty + out.sum()).backward()
        results.append((penalty.item(), w.grad.numpy().copy()))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-13)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)


def test_backward_into_the_given_inputs_only_as_torch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = lib.tensor([3.0], dtype=lib.float64, requires_grad=True)
        h = x * y  # not a leaf: its .grad is filled when it is one of the inputs
        loss = (h * h).sum()
        loss.backward(inputs=[y, h], retain_graph=True)
        first = [x.grad, y.grad.tolist(), h.grad.tolist()]
        loss.backward(inputs=x)
        lib.autograd.backward([(x * 2).sum()], inputs=[x])
        lib.autograd.backward((y * 3).sum(), grad_variables=lib.tensor(2.0, dtype=lib.float64), inputs=y)
        results.append(first + [x.grad.tolist(), y.grad.tolist()])
        with pytest.raises(RuntimeError):
            (x * 2).sum().backward(inputs=[lib.tensor([1.0])])
    assert results[0] == results[1]
    assert results[0][0] is None


def test_grad_assignment_is_checked_and_a_non_leaf_s_grad_warns_as_torch():
    import warnings

    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        for bad in (lib.zeros(3, dtype=lib.float64), lib.zeros(2, dtype=lib.float32)):
            with pytest.raises(RuntimeError, match="attempting to assign a gradient"):
                x.grad = bad
        with pytest.raises(TypeError, match="expected to be a Tensor or None"):
            x.grad = [1.0, 2.0]
        x.grad = lib.ones(2, dtype=lib.float64)
        (x * 3).sum().backward()
        assert x.grad.tolist() == [4.0, 4.0]
        y = x * 2
        with pytest.warns(UserWarning, match="not a leaf Tensor is being accessed"):
            assert y.grad is None
        y.retain_grad()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert y.grad is None and x.grad is not None and lib.tensor([1.0]).grad is None


def test_an_in_place_operation_on_a_graph_keeps_the_tensor_s_dtype_as_torch():
    results = []
    for lib in (cr, torch):
        x = lib.tensor(np.ones(2, np.float32), requires_grad=True)
        w = lib.tensor(np.array([2.0, 3.0]), requires_grad=True)
        y = x * 1
        y.add_(lib.tensor(np.array([0.1, 0.2])))
        y.mul_(w)
        (y * y).sum().backward()
        results.append([str(y.dtype).removeprefix("torch."), y.detach().numpy(), x.grad.numpy(),
                        str(w.grad.dtype).removeprefix("torch."), w.grad.numpy()])
    assert results[0][0] == results[1][0] == "float32" and results[0][3] == results[1][3] == "float64"
    for a, b in zip(results[0][1:], results[1][1:], strict=True):
        if not isinstance(a, str):
            np.testing.assert_allclose(a, b, rtol=1e-6)


def test_sums_and_products_of_unsigned_and_bool_tensors_are_int64_as_torch():
    for dtype in ("uint8", "uint16", "uint32", "bool", "int8", "int32"):
        values = np.array([120, 10, 3], dtype=dtype) if dtype != "bool" else np.array([True, True, False])
        for name, args in (("sum", ()), ("prod", ()), ("cumsum", (0,)), ("cumprod", (0,)), ("sum", (0,))):
            if dtype in ("uint16", "uint32") and name == "cumprod":
                continue  # not in torch for these dtypes
            got = getattr(cr.tensor(values), name)(*args)
            want = getattr(torch.tensor(values), name)(*args)
            assert str(got.dtype) == str(want.dtype).removeprefix("torch.") == "int64", (dtype, name)
            assert got.tolist() == want.tolist()
    assert cr.tensor(np.array([250, 10], np.uint8)).sum(dtype=cr.uint8).item() == 4  # as asked, wrapping


def test_cat_passes_over_an_empty_1d_tensor_as_torch():
    results = []
    for lib in (cr, torch):
        out = lib.tensor([], dtype=lib.float32)
        for i in range(3):  # the accumulation idiom
            out = lib.cat([out, lib.ones(2, 2, dtype=lib.int64) * i])
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        z = lib.cat([lib.tensor([], dtype=lib.float64), x.reshape(1, 2) * 3, lib.empty(0, dtype=lib.float64)])
        z.sum().backward()
        results.append([str(out.dtype).removeprefix("torch."), out.tolist(), z.tolist(), x.grad.tolist(),
                        tuple(lib.cat([lib.tensor([]), lib.tensor([])]).shape)])
        with pytest.raises(RuntimeError):
            lib.cat([lib.zeros(0, 2), lib.ones(1, 3)])  # a 2-d empty Tensor still has to fit
    assert results[0] == results[1]


def test_where_promotes_as_torch():
    c = np.array([True, False])
    pairs = [(np.array([1.0, 2.0], np.float32), np.array([5, 6])), (np.array([1.0, 2.0], np.float32), np.array(0.5)),
             (np.array([1, 2], np.int32), np.array([5, 6], np.int64)), (np.array([1.0, 2.0], np.float16), 3),
             (np.array([1, 2]), np.array([True, False]))]
    for a, b in pairs:
        got = cr.where(cr.tensor(c), cr.tensor(a), b if np.ndim(b) == 0 and not isinstance(b, np.ndarray)
                       else cr.tensor(b))
        want = torch.where(torch.tensor(c), torch.tensor(a), b if np.ndim(b) == 0 and not isinstance(b, np.ndarray)
                           else torch.tensor(b))
        assert str(got.dtype) == str(want.dtype).removeprefix("torch."), (a.dtype, b)
        assert got.tolist() == want.tolist()
    x = cr.tensor([1.0, 2.0], dtype=cr.float32, requires_grad=True)
    cr.where(cr.tensor(c), x, cr.tensor([5, 6])).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0] and x.grad.dtype == np.float32


def test_clamp_promotes_as_torch():
    cr.set_default_dtype(cr.float32)
    try:
        i, f = np.array([1, 5, 9]), np.array([1.0, 5.0, 9.0], np.float32)
        for values, kwargs in ((i, {"min": 2.5, "max": 6}), (i, {"min": 2, "max": 6}), (i, {"min": "0d"}),
                               (f, {"max": "0d64"}), (f, {"min": "1d64"})):
            out = []
            for lib in (cr, torch):
                bounds = {"0d": lib.tensor(2.5), "0d64": lib.tensor(7.0, dtype=lib.float64),
                          "1d64": lib.tensor([2.0, 2.0, 2.0], dtype=lib.float64)}
                kw = {k: bounds.get(v, v) if isinstance(v, str) else v for k, v in kwargs.items()}
                y = lib.tensor(values).clamp(**kw)
                out.append((str(y.dtype).removeprefix("torch."), y.tolist()))
            assert out[0] == out[1], kwargs
        assert cr.tensor(i).clamp_min(1.5).dtype == np.float32
    finally:
        cr.set_default_dtype(None)


def test_a_one_element_tensor_of_any_shape_converts_to_a_number_as_torch():
    for lib in (cr, torch):
        for values in ([1.5], [[2.5]], [7], [[[-3]]]):
            t = lib.tensor(values)
            assert float(t) == float(np.ravel(values)[0]) and int(t) == int(np.ravel(values)[0])
            assert complex(t) == complex(np.ravel(values)[0])
        with pytest.raises(ValueError, match="only one element tensors"):
            float(lib.tensor([1.0, 2.0]))
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        assert x.numpy(force=True).tolist() == [1.0, 2.0]
        with pytest.raises(RuntimeError):
            x.numpy()


def _run_side(lib, code: str) -> list:
    """Run ``code`` with ``T`` bound to ``lib`` (float64 default dtype); what it passes to
    ``P`` comes back as (value, dtype name, is a Tensor) triples, or the exception's type."""
    seen = []

    def record(*values):
        for v in values:
            if v is None:
                seen.append(None)
            else:
                a = np.asarray(v.detach().numpy() if lib.is_tensor(v) else v)
                seen.append((a, str(getattr(v, "dtype", a.dtype)).removeprefix("torch."), lib.is_tensor(v)))

    lib.set_default_dtype(lib.float64)
    try:
        exec(code, {"T": lib, "P": record})
    except (RuntimeError, TypeError, ValueError) as e:
        seen.append(type(e).__name__ if not isinstance(e, RuntimeError) else "RuntimeError")
    finally:
        lib.set_default_dtype(None if lib is cr else torch.float32)
    return seen


def _same_as_pytorch(code: str) -> None:
    expected, got = _run_side(torch, code), _run_side(cr, code)
    assert len(got) == len(expected), (got, expected)
    for g, e in zip(got, expected, strict=True):
        if isinstance(e, tuple) and isinstance(g, tuple):
            assert g[1:] == e[1:], (g, e)
            np.testing.assert_allclose(g[0], e[0], rtol=1e-12, atol=0)
        else:
            assert g == e, (g, e)


# division with a rounding mode is piecewise constant: a zero gradient for both operands
ROUNDED_DIVISIONS = [
    "y = T.tensor([1.5, -2.5, 3.0], requires_grad=True)\n"
    "z = T.div(2.0, y, rounding_mode='floor'); z.sum().backward(); P(z, y.grad)",
    "y = T.tensor([1.5, -2.5, 3.0], requires_grad=True)\n"
    "z = T.div(2.0, y, rounding_mode='trunc'); z.sum().backward(); P(z, y.grad)",
    "x = T.tensor([1.5, -2.5, 3.0], requires_grad=True); y = T.tensor([1., 2., 4.], requires_grad=True)\n"
    "z = x.div(y, rounding_mode='floor'); (z * x).sum().backward(); P(z, x.grad, y.grad)",
    "x = T.tensor([[1.5], [-2.5]], requires_grad=True); y = T.tensor([1., 2., 4.], requires_grad=True)\n"
    "z = T.div(x, y, rounding_mode='trunc'); z.sum().backward(); P(z, x.grad, y.grad)",
    "y = T.tensor([1., 2., 4.], requires_grad=True)\n"
    "P(*T.autograd.grad(T.div(2.0, y, rounding_mode='floor').sum(), y))",
    "y = T.tensor([1., 2., 4.], requires_grad=True)\n"
    "z = y.clone(); z.div_(2.5, rounding_mode='floor'); (z * y).sum().backward(); P(z, y.grad)",
    "z = T.tensor([7, -7], dtype=T.int32); z.div_(2, rounding_mode='trunc'); P(z)",
    "z = T.tensor([7., -7.]); z.div_(T.tensor([2., 4.]), rounding_mode='floor'); P(z)",
]


@pytest.mark.parametrize("code", ROUNDED_DIVISIONS)
def test_rounded_division_as_pytorch(code):
    _same_as_pytorch(code)


# integer arithmetic wraps as PyTorch's (a Python int out of range is wrapped into the
# Tensor's dtype first); exp, sin... of integers are of the default floating dtype
INTEGER_ARITHMETIC = [
    "P(T.tensor([250], dtype=T.uint8) + 10, T.tensor([250], dtype=T.uint8) * 2, 10 - T.tensor([11], dtype=T.uint8))",
    "P(T.tensor([120], dtype=T.int8) + 10, T.tensor([32000], dtype=T.int16) * 2, -T.tensor([200], dtype=T.uint8))",
    "P(T.tensor([1, 2], dtype=T.uint8) + 300, T.tensor([1, 2], dtype=T.uint8) + (-1), "
    "300 - T.tensor([1], dtype=T.uint8))",
    "P(T.tensor([1, 2], dtype=T.int8) * 1000, T.tensor([1, 2], dtype=T.int32) + 2**40, "
    "T.tensor([3], dtype=T.int16) - 2**17)",
    "P(T.tensor([1, 2], dtype=T.uint8).add(5, alpha=60), T.tensor([100], dtype=T.uint8) % 300)",
    "a = T.tensor([250], dtype=T.uint8); a += 10; a.mul_(3); a -= 300; P(a)",
    "a = T.tensor([2, 100], dtype=T.uint8); P(a == 258, a > 1000, a < -1, a != 258)",
    "P(T.tensor([1, 2], dtype=T.uint8) + T.tensor([1, 2], dtype=T.int8), T.tensor(300) + T.tensor([1], dtype=T.uint8))",
    "P(T.tensor([1, 2], dtype=T.int8).exp(), T.tensor([1, 2], dtype=T.int16).sin(), "
    "T.tensor([1, 2], dtype=T.uint8).sigmoid())",
    "P(T.tensor([1, 2], dtype=T.uint8).log(), T.tensor([4], dtype=T.int8).sqrt(), "
    "T.tensor([True]).exp(), T.tanh(T.tensor([1], dtype=T.int32)))",
    "P(T.tensor([7], dtype=T.int16) << 14, T.tensor([7], dtype=T.uint8) >> 1, 1 << T.tensor([1, 2], dtype=T.uint8))",
    "P(8 >> T.tensor([1, 2]), 3 & T.tensor([1, 2]), 3 | T.tensor([1, 2]), "
    "3 ^ T.tensor([1, 2]), True | T.tensor([False]))",
]


@pytest.mark.parametrize("code", INTEGER_ARITHMETIC)
def test_integer_arithmetic_as_pytorch(code):
    _same_as_pytorch(code)


def _graph_shape(node):
    """The graph below ``node`` as nested tuples: 'leaf' for an AccumulateGrad, None for an
    argument off the graph."""
    if node is None:
        return None
    if node.name().endswith("AccumulateGrad"):  # PyTorch: torch::autograd::AccumulateGrad
        return "leaf"
    return tuple(_graph_shape(n) for n, _ in node.next_functions)


@pytest.mark.parametrize("code", ["((a * 2).exp() * b).sum()", "(a - b).relu().mean() + a.sum() * 3",
                                  "(a.sin() / 2).sum()"])
def test_grad_fn_next_functions_walk_the_graph_as_pytorchs(code):
    shapes = []
    for lib in (cr, torch):
        a = lib.tensor([0.5, 1.5], dtype=lib.float64, requires_grad=True)
        b = lib.tensor([1.0, -1.0], dtype=lib.float64, requires_grad=True)
        shapes.append(_graph_shape(eval(code, {"a": a, "b": b}).grad_fn))
    assert shapes[0] == shapes[1]


def test_a_post_accumulate_grad_hook_that_returns_a_value_is_refused_as_in_pytorch():
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        x.register_post_accumulate_grad_hook(lambda p: p.grad.mul_(0.5))  # mul_ returns the grad
        with pytest.raises(RuntimeError, match="return None"):
            (x * 2).sum().backward()


# in-place operations with several Tensor operands (clamp_'s bounds, lerp_'s end and weight)
# differentiate in each; PyTorch's deprecated add_(alpha, other); data_ptr
IN_PLACE_OPERANDS = [
    "x = T.tensor([1., 4.]); x.lerp_(T.tensor([0., 0.]), T.tensor([0.5, 0.25])); P(x)",
    "w = T.tensor([0.5, 0.25], requires_grad=True); e = T.tensor([2., 3.], requires_grad=True)\n"
    "x = T.tensor([1., 4.]); x.lerp_(e, w); (x * x).sum().backward(); P(x, w.grad, e.grad)",
    "lo = T.tensor([2., 0.], requires_grad=True)\n"
    "x = T.tensor([1., 4.]); x.clamp_(min=lo); (x * 3).sum().backward(); P(x, lo.grad)",
    "lo = T.tensor([2., 0.], requires_grad=True); hi = T.tensor([3., 3.], requires_grad=True)\n"
    "x = T.tensor([1., 4.]); x.clamp_(lo, hi); (x * T.tensor([3., 5.])).sum().backward(); P(x, lo.grad, hi.grad)",
    "p = T.tensor([1., 2.], requires_grad=True); (p ** 2).sum().backward()\n"
    "p.data.add_(-0.1, p.grad.data); p.data.sub_(0.5, p.grad)\n"
    "P(p, T.tensor([1.]).add(2., T.tensor([3.])), T.tensor([1.]).sub(2, T.tensor([3.])))",
    "x = T.arange(6.).reshape(2, 3)\n"
    "P(x.data_ptr() == x.view(3, 2).data_ptr(), x[1].data_ptr() - x.data_ptr(), "
    "x.clone().data_ptr() == x.data_ptr(), x.t().data_ptr() == x.data_ptr())",
]


@pytest.mark.filterwarnings("ignore:This overload")
@pytest.mark.parametrize("code", IN_PLACE_OPERANDS)
def test_in_place_operands_as_pytorch(code):
    _same_as_pytorch(code)


# integer division and remainder by zero raise, as PyTorch's (NumPy gives 0 and warns);
# floats give inf and nan
INTEGER_DIVISION_BY_ZERO = [
    "P(T.tensor([3, -7]) // T.tensor([0, 2]))", "P(T.tensor([5]) % 0)", "P(5 % T.tensor([0, 1]))",
    "P(7 // T.tensor([0, 1]))", "P(T.tensor([5, 6]).remainder(T.tensor([1, 0])))", "P(T.fmod(T.tensor([5, 6]), 0))",
    "P(T.tensor([5, 6]).div(0, rounding_mode='floor'))", "P(T.tensor([5, 6]).div(0, rounding_mode='trunc'))",
    "P(T.tensor([5, 6]).floor_divide(T.tensor(0)))", "a = T.tensor([5, 6]); a //= 0", "a = T.tensor([5, 6]); a %= 0",
    "P(T.tensor([5., -6.]) // 0, T.tensor([5., 6.]) % 0, T.tensor([5, 6]) / 0, T.tensor([5, 6]) // 2, "
    "T.tensor([5, 6]) % T.tensor([4, 5]), T.tensor([7, -7]).div(2, rounding_mode='trunc'))",
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("code", INTEGER_DIVISION_BY_ZERO)
def test_integer_division_by_zero_as_pytorch(code):
    _same_as_pytorch(code)


# autograd.grad(is_grads_batched=True): a batch of grad_outputs, the gradients stacked
BATCHED_GRADS = [
    "x = T.tensor([1., 2., 3.], requires_grad=True)\n"
    "g, = T.autograd.grad(x ** 2, x, grad_outputs=T.eye(3), is_grads_batched=True); P(g)",
    "x = T.tensor([1., 2.], requires_grad=True); w = T.tensor([3., 4.], requires_grad=True)\n"
    "y = (x * w).sum() * x\n"
    "gx, gw = T.autograd.grad([y], [x, w], grad_outputs=[T.tensor([[1., 0.], [0., 1.], [1., 1.]])],\n"
    "                         is_grads_batched=True, create_graph=True)\n"
    "(gx.sum() + gw.sum()).backward(); P(gx, gw, x.grad, w.grad)",
    "x = T.tensor([1., 2.], requires_grad=True); z = T.tensor([1.], requires_grad=True)\n"
    "g = T.autograd.grad(x * 2, [x, z], grad_outputs=T.eye(2), is_grads_batched=True, allow_unused=True)\n"
    "P(g[0], g[1])",
]


@pytest.mark.parametrize("code", BATCHED_GRADS)
def test_batched_grad_outputs_as_pytorch(code):
    _same_as_pytorch(code)


# unique_consecutive: each run of equal consecutive values (or slices along dim) once
UNIQUE_CONSECUTIVE = [
    "x = T.tensor([1, 1, 2, 2, 3, 1, 1, 2])\n"
    "P(x.unique_consecutive(), *x.unique_consecutive(return_inverse=True, return_counts=True), "
    "*T.unique_consecutive(x, return_counts=True))",
    "x = T.tensor([[1, 1], [1, 1], [2, 3], [1, 1]])\n"
    "P(*T.unique_consecutive(x, return_inverse=True, return_counts=True, dim=0))",
    "x = T.tensor([[1, 1, 2], [1, 1, 3]])\n"
    "P(*x.unique_consecutive(return_inverse=True, return_counts=True, dim=1), "
    "*x.unique_consecutive(return_inverse=True))",
    "x = T.tensor([2.5, 2.5, float('nan'), float('nan')])\nP(x.unique_consecutive())",
    "P(T.tensor([], dtype=T.int64).unique_consecutive(return_counts=True))",
]


@pytest.mark.parametrize("code", UNIQUE_CONSECUTIVE)
def test_unique_consecutive_as_pytorch(code):
    _same_as_pytorch(code)


def test_autograd_graph_context_managers_as_torch_on_the_cpu():
    seen = []
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        with lib.autograd.graph.save_on_cpu(pin_memory=False):
            y = (x * x.exp()).sum()
        with lib.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
            y = y + (x ** 3).sum()
        y.backward()
        seen.append(x.grad.tolist())
    assert seen[0] == pytest.approx(seen[1], rel=1e-14)
    with pytest.raises(NotImplementedError, match="pack/unpack hooks"), \
            cr.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        pass


def test_tensor_of_a_list_of_tensors_on_a_graph_copies_their_values_as_pytorch():
    # an actor-critic that collects critic values in a list and writes torch.tensor(values)
    out = []
    for lib in (torch, cr):
        w = lib.tensor([0.5, -1.5], dtype=lib.float64, requires_grad=True)
        values = [w[0] * 2, w[1] + 1, 3.0]
        with warnings.catch_warnings(record=True) as caught:  # PyTorch's warns once a session
            warnings.simplefilter("always")
            t = lib.tensor(values)
            nested = lib.tensor([[w[0], w[1]]])
        if lib is cr:
            assert [str(c.message) for c in caught] == [
                "Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
                "Consider using tensor.detach() first."] * 2
        assert not t.requires_grad and t.grad_fn is None and t.dtype == w.dtype
        out.append([t.numpy(), nested.numpy()])
    for a, b in zip(*out, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="being differentiated"):  # under a transform: refused, as before
        cr.grad(lambda a: cr.tensor([a * 2]).sum())(1.0)


def test_grad_with_no_inputs_is_refused_as_pytorch():
    # grads = torch.autograd.grad(loss, params) with params an exhausted generator
    for lib in (torch, cr):
        w = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        params = (p for p in [w])
        list(params)
        with pytest.raises(RuntimeError, match="`inputs` argument to `grad\\(\\)` cannot be empty"):
            lib.autograd.grad((w * w).sum(), params)

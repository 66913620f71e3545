"""PyTorch's type promotion for arithmetic on eager Tensors, checked against torch itself:
a dimensioned Tensor decides over 0-d Tensors, Python numbers and NumPy scalars of its
kind; a floating operand over an integer one; integers divide in the default float."""

import operator

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

torch = pytest.importorskip("torch")

F32, F64, F16, I32, I64, B = "float32", "float64", "float16", "int32", "int64", "bool"


def _operand(lib, spec):
    kind, value = spec
    if kind == "t":  # (dtype, shape)
        dtype, shape = value
        data = np.arange(1, 1 + int(np.prod(shape))).reshape(shape).astype(dtype)
        return lib.tensor(data) if lib is cr else torch.tensor(data)
    return value  # a Python number or a NumPy scalar, as is


OPERANDS = [
    (("t", (F32, (3,))), ("s", 2.5)),
    (("t", (F32, (3,))), ("s", np.float64(2.5))),
    (("t", (F32, (3,))), ("t", (F64, ()))),
    (("t", (F32, ())), ("t", (F64, ()))),
    (("t", (F32, ())), ("s", np.float64(2.5))),
    (("t", (F16, (3,))), ("t", (F32, ()))),
    (("t", (I32, (3,))), ("t", (I64, ()))),
    (("t", (I32, (3,))), ("s", np.int64(3))),
    (("t", (I64, (3,))), ("t", (F32, (3,)))),
    (("t", (I64, (3,))), ("t", (F16, (3,)))),
    (("t", (I64, (3,))), ("t", (F32, ()))),
    (("t", (I64, (3,))), ("t", (F64, ()))),
    (("t", (I64, (3,))), ("s", 1.5)),
    (("t", (I64, (3,))), ("s", np.float32(1.5))),
    (("t", (I64, (3,))), ("s", 2)),
    (("t", (B, (3,))), ("s", 2)),
    (("t", (B, (3,))), ("t", (I64, ()))),
    (("t", (F32, (3,))), ("s", 2j)),
]
OPS = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
    "pow": operator.pow, "mod": operator.mod,
}


@pytest.fixture(params=[None, "float32"], ids=["default-float64", "default-float32"])
def default_dtype(request):
    before = torch.get_default_dtype()
    cr.set_default_dtype(request.param)
    torch.set_default_dtype(torch.float64 if request.param is None else torch.float32)
    yield
    cr.set_default_dtype(None)
    torch.set_default_dtype(before)


def _comparable(a, b, op):
    kinds = {getattr(x, "dtype", np.result_type(type(x))).kind if not isinstance(x, complex) else "c"
             for x in (a, b)}
    if op in ("mod",) and "c" in kinds:
        return False
    return not (op == "mod" and "b" in kinds)


@pytest.mark.parametrize("reflected", [False, True], ids=["tensor-first", "tensor-second"])
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("specs", OPERANDS, ids=lambda s: f"{s[0][1]}-{s[1][1]!r}")
def test_result_dtype_and_values_follow_torch(specs, op, reflected, default_dtype):
    ours = [_operand(cr, s) for s in specs]
    theirs = [_operand(torch, s) for s in specs]
    if reflected:
        ours, theirs = ours[::-1], theirs[::-1]
    if not _comparable(*ours, op):
        pytest.skip("not defined for these kinds")
    try:
        expected = OPS[op](*theirs)
    except RuntimeError:
        pytest.skip("torch refuses it")
    got = OPS[op](*ours)
    assert str(got.dtype) == str(expected.dtype).removeprefix("torch.")
    np.testing.assert_allclose(np.asarray(got.tolist()), np.asarray(expected.tolist()), rtol=1e-6)


@pytest.mark.parametrize("fun", [cnp.multiply, np.multiply, cnp.maximum, np.maximum])
def test_numpy_functions_on_eager_tensors_promote_as_the_operators(fun):
    x = cr.tensor(np.ones(3, np.float32))
    assert fun(x, np.float64(2.0)).dtype == np.float32
    assert fun(np.float64(2.0), x).dtype == np.float32


def test_inside_transforms_numpy_rules_stay():
    def f(x):
        y = x * np.float64(2.0)
        assert y.dtype == np.float64  # NumPy's rule, as HIPS autograd's code expects
        return y.sum()
    g = cr.grad(f)(np.ones(3, np.float32))
    assert g.dtype == np.float32 and g.tolist() == [2.0] * 3


def test_gradients_through_a_promotion_match_torch():
    values = {"s": np.float64(0.1), "v": np.array([1.1, 2.2, 3.3], np.float32), "i": np.array([1, 2, 3])}

    def run(lib):
        s = lib.tensor(values["s"], requires_grad=True)
        v = lib.tensor(values["v"], requires_grad=True)
        i = lib.tensor(values["i"])
        out = (v * s + s / v - i * s + i / s + v ** s + s ** (i * 1.0)).sum()
        out.backward()
        return out, s.grad, v.grad

    ours, theirs = run(cr), run(torch)
    for a, b in zip(ours, theirs, strict=True):
        assert str(a.dtype) == str(b.dtype).removeprefix("torch.")
        np.testing.assert_allclose(np.asarray(a.tolist()), np.asarray(b.tolist()), rtol=1e-6)


def test_the_gradient_of_a_float32_leaf_is_float32():
    # as PyTorch's .grad: the leaf's dtype, though float64 arithmetic came downstream
    v = cr.tensor(np.array([1.5, 2.5], np.float32), requires_grad=True)
    w = cr.tensor(np.array([1.0, 1.0]), requires_grad=True)
    ((v * 3) + w).sum().backward()
    assert v.grad.dtype == np.float32 and w.grad.dtype == np.float64
    assert v.grad.tolist() == [3.0, 3.0]


FUNCTIONS = {  # functions of two Tensors (not the operators) that promote as they do
    "maximum": lambda lib, a, b: lib.maximum(a, b), "minimum": lambda lib, a, b: lib.minimum(a, b),
    "fmax": lambda lib, a, b: lib.fmax(a, b), "fmin": lambda lib, a, b: lib.fmin(a, b),
    "atan2": lambda lib, a, b: lib.atan2(a, b), "hypot": lambda lib, a, b: lib.hypot(a, b),
    "copysign": lambda lib, a, b: lib.copysign(a, b), "logaddexp": lambda lib, a, b: lib.logaddexp(a, b),
    "logaddexp2": lambda lib, a, b: lib.logaddexp2(a, b),
    "Tensor.where": lambda lib, a, b: a.where(a > 1.5 if a.ndim else lib.tensor(True), b),
}


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("specs", [s for s in OPERANDS if s[1][0] == "t"],
                         ids=lambda s: f"{s[0][1]}-{s[1][1]!r}")
def test_functions_of_two_tensors_promote_as_torch(specs, name, default_dtype):
    ours = [_operand(cr, s) for s in specs]
    theirs = [_operand(torch, s) for s in specs]
    for reflected in (False, True):
        try:
            expected = FUNCTIONS[name](torch, *(theirs[::-1] if reflected else theirs))
        except (RuntimeError, TypeError):
            continue  # torch refuses it
        got = FUNCTIONS[name](cr, *(ours[::-1] if reflected else ours))
        assert str(got.dtype) == str(expected.dtype).removeprefix("torch."), reflected
        np.testing.assert_allclose(np.asarray(got.tolist()), np.asarray(expected.tolist()), rtol=1e-3)


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "nearest", "midpoint"])
def test_quantile_of_float32_is_float32(interpolation):
    x = np.array([[0.1, 0.5, 0.9, 0.3], [2.0, -1.0, 0.25, 4.0]], np.float32)
    for q in (0.3, [0.3, 0.75]):
        got = cr.quantile(cr.tensor(x), cr.tensor(q, dtype=cr.float32) if isinstance(q, list) else q, dim=1,
                          interpolation=interpolation)
        want = torch.quantile(torch.tensor(x), torch.tensor(q) if isinstance(q, list) else q, dim=1,
                              interpolation=interpolation)
        assert got.dtype == np.float32 and str(want.dtype) == "torch.float32"
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)

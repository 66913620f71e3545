"""The eager layer's modes and in-place writes: thread-local grad mode, zero_/fill_,
ReLU at 0, the default dtype, and anomaly detection."""

import sys
import threading

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
import chainrule.numpy as cnp
from chainrule import nn
from chainrule.core.trace import EagerTrace, ReverseTrace


# -- grad mode is per thread ------------------------------------------------------------
def test_no_grad_in_one_thread_does_not_stop_another_from_training_1000_times():
    # the other thread stays in no_grad for the whole of training (not just 1,000 short
    # visits that could finish in one time slice), and threads switch every few µs
    errors = []
    start, done = threading.Barrier(2), threading.Event()
    visits = [0]

    def idle_in_no_grad():
        start.wait()
        with cr.no_grad():
            while not done.is_set() or visits[0] < 1000:
                y = cr.tensor([1.0], requires_grad=True) * 2
                if y.requires_grad or cr.is_grad_enabled():
                    errors.append("no_grad leaked into its own thread's results")
                visits[0] += 1

    def train():
        w = cr.tensor([0.5, -1.0], requires_grad=True)
        start.wait()
        for i in range(1000):
            loss = ((w * w).sum() * 0.5)
            loss.backward()  # fails if the other thread's no_grad were global
            if not np.array_equal(w.grad.numpy(), w.detach().numpy()):
                errors.append(f"wrong gradient at step {i}")
            w.grad = None
            with cr.no_grad():
                w -= 0.001 * w.detach()
        done.set()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=idle_in_no_grad), threading.Thread(target=train)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert visits[0] >= 1000
    assert cr.is_grad_enabled()


def test_new_thread_starts_with_grad_enabled_even_inside_no_grad():
    seen = []
    with cr.no_grad():
        t = threading.Thread(target=lambda: seen.append(cr.is_grad_enabled()))
        t.start()
        t.join()
        assert not cr.is_grad_enabled()
    assert seen == [True]


def test_set_grad_enabled_function_context_and_decorator():
    x = cr.tensor([2.0], requires_grad=True)
    cr.set_grad_enabled(False)
    try:
        assert not (x * x).requires_grad
    finally:
        cr.set_grad_enabled(True)
    assert (x * x).requires_grad
    with cr.set_grad_enabled(False):
        assert not (x * x).requires_grad
        with cr.enable_grad():
            assert (x * x).requires_grad
    assert cr.is_grad_enabled()

    @cr.set_grad_enabled(False)
    def square(v):
        return v * v

    assert cr.is_grad_enabled()  # decorating does not switch the mode
    assert not square(x).requires_grad and cr.is_grad_enabled()

    @cr.no_grad()
    def fails():
        raise ValueError("boom")

    with pytest.raises(ValueError):
        fails()
    assert cr.is_grad_enabled()  # restored on an exception too


# -- zero_ / fill_ / copy_ write values ---------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_zero_and_fill_overwrite_nan_and_inf(dtype):
    t = cr.tensor(np.array([np.nan, np.inf, -np.inf, -0.0], dtype=dtype))
    buf = t._value
    t.zero_()
    assert np.array_equal(t.numpy(), np.zeros(4)) and t.dtype == dtype
    assert t._value is buf  # written in place
    t.fill_(2.5)
    assert t.numpy().tolist() == [2.5] * 4 and t.dtype == dtype
    t.copy_(np.array([np.nan, 1.0, 2.0, 3.0]))
    assert np.isnan(t.numpy()[0]) and t.numpy()[1:].tolist() == [1, 2, 3]
    t.copy_(np.array([0.0, 1.0, 2.0, 3.0]))
    assert t.numpy().tolist() == [0, 1, 2, 3]


def test_zero_of_parameter_under_no_grad_and_fill_on_graph():
    w = cr.tensor([np.nan, np.inf], requires_grad=True)
    with cr.no_grad():
        w.zero_()
    assert w.detach().numpy().tolist() == [0.0, 0.0] and w.requires_grad
    # on a recorded graph fill_ is out of place: the gradient of the old value is zero
    # (zeros, not None: y stays on x's graph with derivative 0, as PyTorch's FillBackward)
    x = cr.tensor([np.inf, 2.0], requires_grad=True)
    v = cr.tensor(3.0, requires_grad=True)
    y = x * 1.0
    y.fill_(v)
    assert y.detach().numpy().tolist() == [3.0, 3.0]
    (y * np.array([1.0, 2.0])).sum().backward()
    assert x.grad.numpy().tolist() == [0.0, 0.0]
    assert v.grad.item() == 3.0


def test_zero_grad_clears_a_nan_gradient():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    (w * np.nan).sum().backward()
    assert np.isnan(w.grad.numpy()).all()
    w.grad.zero_()
    assert w.grad.numpy().tolist() == [0.0, 0.0]


# -- ReLU at 0 --------------------------------------------------------------------------
def test_tensor_relu_and_functional_relu_are_one_primitive_with_derivative_0_at_0():
    torch = pytest.importorskip("torch")
    values = np.array([-1.0, -0.0, 0.0, 1e-300, 2.0])
    a = cr.tensor(values, requires_grad=True)
    b = cr.tensor(values, requires_grad=True)
    a.relu().sum().backward()
    F.relu(b).sum().backward()
    t = torch.tensor(values, requires_grad=True)
    torch.relu(t).sum().backward()
    assert a.grad.numpy().tolist() == t.grad.numpy().tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert b.grad.numpy().tolist() == a.grad.numpy().tolist()
    # the functional transforms agree, in both modes
    assert cr.grad(lambda x: F.relu(x))(0.0) == 0.0
    assert cr.jvp(lambda x: cr.tensor(0.0).relu() + x * 0 + F.relu(x), (0.0,), (1.0,))[1] == 0.0
    sig = cr.tensor(values, requires_grad=True)
    sig.sigmoid().sum().backward()
    s = 1 / (1 + np.exp(-values))
    np.testing.assert_allclose(sig.grad.numpy(), s * (1 - s), rtol=1e-15)


# -- default dtype ------------------------------------------------------------------------
@pytest.fixture
def default_dtype():
    from chainrule.core import eager

    saved = eager._DEFAULT_DTYPE[0]
    yield
    eager._DEFAULT_DTYPE[0] = saved


@pytest.mark.usefixtures("default_dtype")
def test_set_default_dtype_for_parameters_and_python_float_tensors():
    assert cr.get_default_dtype() == np.float32
    assert nn.Linear(3, 2).weight.dtype == np.float32
    cr.set_default_dtype(None)
    assert cr.tensor([1.0]).dtype == np.float64 and nn.Linear(1, 1).weight.dtype == np.float32
    assert cr.tensor([1.0, 2.0]).dtype == np.float64  # NumPy's rule until a default is set
    cr.set_default_dtype(np.float64)
    assert cr.get_default_dtype() == np.float64
    for layer in (nn.Linear(3, 2), nn.Conv2d(1, 2, 3), nn.BatchNorm1d(3), nn.LayerNorm(3),
                  nn.Embedding(4, 2), nn.Conv1d(1, 2, 3), nn.ConvTranspose2d(1, 2, 3),
                  nn.GroupNorm(1, 2)):
        assert all(p.dtype == np.float64 for p in layer.parameters()), layer
    assert nn.Linear(3, 2, dtype=np.float32).weight.dtype == np.float32  # explicit wins
    cr.set_default_dtype("float32")
    assert cr.tensor(1.5).dtype == np.float32
    assert cr.tensor([[1, 2.5]]).dtype == np.float32
    assert cr.tensor([1, 2]).dtype == np.int64  # integers are not floats
    assert cr.tensor(np.ones(2)).dtype == np.float64  # an array keeps its dtype
    assert cr.tensor([1.0], dtype=np.float64).dtype == np.float64
    assert nn.Linear(3, 2).weight.dtype == np.float32


@pytest.mark.usefixtures("default_dtype")
@pytest.mark.parametrize("default", ["float32", "float64"])
@pytest.mark.parametrize("make", [
    lambda lib: lib.tensor([1j, 2]), lambda lib: lib.tensor(0.5j), lambda lib: lib.as_tensor([[1.5j]]),
    lambda lib: lib.full((2,), 1j), lambda lib: lib.full((1, 2), 2 + 1j, requires_grad=True),
    lambda lib: lib.tensor(np.float64(1.5)), lambda lib: lib.tensor([np.float64(1.5), np.float64(2)]),
    lambda lib: lib.tensor(np.complex128(1j)), lambda lib: lib.tensor(np.float32(1.5)),
    # NumPy values among Python numbers: promoted by kind, as PyTorch's, not widened by NumPy
    lambda lib: lib.tensor([[1.0], [np.float64(2)]]), lambda lib: lib.tensor([1, np.float32(2)]),
    lambda lib: lib.tensor([np.float16(1), 2]), lambda lib: lib.tensor([np.float32(1.5), 2.0]),
    lambda lib: lib.tensor([1.0, np.int64(2)]), lambda lib: lib.tensor([np.int64(1), np.float32(2.5)]),
    lambda lib: lib.tensor([np.uint8(1), np.int8(-2)]), lambda lib: lib.tensor([True, np.uint8(3)]),
    lambda lib: lib.tensor([np.complex64(1j), np.float64(2)]), lambda lib: lib.tensor([1j, np.float32(2)]),
    lambda lib: lib.tensor([np.array([1.0, 2], np.float32), [3, 4.5]]),
    lambda lib: lib.as_tensor([[np.float32(1), 2], [3, 4.0]]),
    lambda lib: lib.tensor([]), lambda lib: lib.tensor([[], []]),
])
def test_python_complex_numbers_take_the_default_dtypes_complex_and_numpy_scalars_keep_theirs(default, make):
    # as PyTorch's: complex64 under a float32 default (a full of 1j was float, its imaginary
    # part dropped), and a NumPy float64 scalar (a subclass of float) stays float64
    torch = pytest.importorskip("torch")
    previous = torch.get_default_dtype()
    try:
        torch.set_default_dtype(getattr(torch, default))
        cr.set_default_dtype(default)
        theirs, ours = make(torch), make(cr)
    finally:
        torch.set_default_dtype(previous)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    assert ours.requires_grad == theirs.requires_grad
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())


@pytest.mark.parametrize("bad", [np.int32, "complex128", bool, "nonsense"])
def test_set_default_dtype_refuses_non_float(bad):
    with pytest.raises(TypeError, match="floating-point dtype"):
        cr.set_default_dtype(bad)


# -- detect_anomaly -------------------------------------------------------------------------
def _this_line_containing(text):
    import inspect

    src, start = inspect.getsourcelines(inspect.currentframe().f_back.f_code)
    return next(start + i for i, line in enumerate(src) if text in line)


def test_detect_anomaly_eager_names_the_operation_and_the_line():
    x = cr.tensor([4.0, 0.0], requires_grad=True)
    with cr.detect_anomaly():
        y = (cnp.sqrt(x) * 2).sum()  # the culprit
        with pytest.raises(FloatingPointError, match=r"backward rule of sqrt") as info:
            y.backward()
    message = str(info.value)
    assert f"line {_this_line_containing('# the culprit')}" in message
    assert "cnp.sqrt(x) * 2" in message and __file__ in message


def test_detect_anomaly_functional_and_decorator():
    def loss(x):
        h = cnp.log(x)  # log of 0
        return cnp.sum(h) * 2

    with pytest.raises(FloatingPointError, match=r"backward rule of log") as info:
        cr.detect_anomaly()(cr.grad(loss))(np.array([1.0, 0.0]))
    assert "h = cnp.log(x)" in str(info.value)
    # without it, the NaN goes through silently, as before
    with np.errstate(all="ignore"):
        g = cr.grad(loss)(np.array([1.0, 0.0]))
    assert not np.isfinite(g).all()


def test_detect_anomaly_costs_nothing_when_off():
    methods = [cls.__dict__[name] for cls in (EagerTrace, ReverseTrace)
               for name in ("unary", "binary", "process")]
    x = cr.tensor([1.0], requires_grad=True)
    with cr.detect_anomaly(), cr.detect_anomaly():  # nested scopes
        assert cr.is_anomaly_enabled()
        assert EagerTrace.__dict__["unary"] is not methods[0]
        (x * 2).sum().backward()
    assert not cr.is_anomaly_enabled()
    assert methods == [cls.__dict__[name] for cls in (EagerTrace, ReverseTrace)
                       for name in ("unary", "binary", "process")]
    y = x * 2
    assert getattr(y._node, "origin", None) is None  # nothing recorded outside


def test_detect_anomaly_finite_run_is_unchanged_and_backward_outside_forward():
    x = cr.tensor([0.5, 2.0], requires_grad=True)
    with cr.detect_anomaly():
        cnp.tanh(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 - np.tanh([0.5, 2.0]) ** 2, rtol=1e-15)
    y = cnp.sqrt(cr.tensor([0.0], requires_grad=True)).sum()  # recorded outside
    with cr.detect_anomaly(), pytest.raises(FloatingPointError, match="not known"):
        y.backward()

"""sum, max, min, amax and amin on an ndarray call ``ufunc.reduce`` directly
(reductions.direct_reduction): the result must be NumPy's own, value, dtype and type, for
every calling form, and every form the shortcut does not take goes to NumPy's function."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

R = np.random.default_rng(5)
ARRAYS = {
    "float64": R.normal(size=(4, 5)),
    "float32": R.normal(size=(3, 2, 4)).astype(np.float32),
    "int8": R.integers(-100, 100, size=(4, 6)).astype(np.int8),
    "bool": R.normal(size=(5, 3)) > 0,
    "complex": R.normal(size=(3, 3)) + 1j * R.normal(size=(3, 3)),
    "nan and signed zeros": np.array([[np.nan, 0.0, -0.0], [-0.0, 0.0, 1.0], [-np.inf, np.inf, 2.0]]),
    "0-d": np.array(3.5),
    "empty": np.zeros((0, 3)),
    "non-contiguous": R.normal(size=(6, 8))[::2, 1::3],
}
CALLS = {
    "plain": {},
    "axis 0": {"axis": 0},
    "axis -1 keepdims": {"axis": -1, "keepdims": True},
    "axis tuple": {"axis": (0, 1)},
    "axis None keepdims": {"axis": None, "keepdims": True},
    "keepdims NoValue": {"keepdims": np._NoValue},
    "where": {"axis": 0, "where": True, "initial": 0},
}
NAMES = ["sum", "max", "min", "amax", "amin"]


def _outcome(fun, a, kwargs):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return fun(a, **kwargs)
    except Exception as e:  # noqa: BLE001 - the same exception is the expected outcome
        return type(e)


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("array", list(ARRAYS))
@pytest.mark.parametrize("name", NAMES)
def test_the_same_result_as_numpys_function(name, array, call):
    a, kwargs = ARRAYS[array], dict(CALLS[call])
    want = _outcome(getattr(np, name), a, dict(kwargs))
    got = _outcome(getattr(cnp, name), a, dict(kwargs))
    if isinstance(want, type):
        assert got is want
        return
    assert type(got) is type(want)
    assert np.result_type(got) == np.result_type(want)
    np.testing.assert_array_equal(got, want)
    if np.result_type(want).kind == "f":
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_dtype_and_positional_forms_and_subclasses_go_where_numpy_goes():
    a = ARRAYS["int8"]
    assert cnp.sum(a, dtype=np.int8).dtype == np.sum(a, dtype=np.int8).dtype
    np.testing.assert_array_equal(cnp.sum(a, 1, np.int16, None, True), np.sum(a, 1, np.int16, None, True))
    with pytest.raises(TypeError):
        cnp.max(a, dtype=np.int16)  # np.max has no dtype=: refused as NumPy refuses it
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    assert type(cnp.sum(m, axis=0)) is type(np.sum(m, axis=0))
    masked = np.ma.masked_array([1.0, 5.0, 2.0], mask=[False, True, False])
    assert cnp.max(masked) == np.max(masked) == 2.0
    assert cnp.sum([1.0, 2.0, 3.5]) == 6.5
    out = np.empty(5)
    assert cnp.sum(ARRAYS["float64"], axis=0, out=out) is out


def test_gradients_and_replays_through_the_direct_forms():
    x = R.normal(size=(4, 5))

    def f(x):
        return cnp.sum(cnp.max(x, axis=1) * cnp.sum(x, axis=0, keepdims=True)[:, :4])

    g = cr.grad(f)(x)
    eps, fd = 1e-6, np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        fd[i] = (f(x + d) - f(x - d)) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    jitted = cr.jit(cr.grad(f))
    for _ in range(3):
        np.testing.assert_array_equal(jitted(x), g)

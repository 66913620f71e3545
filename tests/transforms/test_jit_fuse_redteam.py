"""cr.jit(f, fuse=...) on programs and inputs that the fusion was not written around:
each case is one that a fused loop once computed otherwise than the NumPy calls it
replaces (beyond the ulps of docs/jit.md), compared here with NumPy itself."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.transforms import fuse as fusion

pytestmark = pytest.mark.skipif(not fusion.available(), reason="fuse=True needs Numba (the [fast] extra)")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_FUSED_CACHE", str(tmp_path))


def same_bits(a, b):
    assert type(a) is type(b) and np.shape(a) == np.shape(b) and np.result_type(a) == np.result_type(b)
    assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), (a, b)


SPECIAL = [-0.0, 0.0, -np.inf, np.inf, -4.0, 4.0, 2.5, 1e-310]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_power_by_a_scalar_takes_numpys_fast_path(dtype):
    # NumPy's power by a scalar 0.5 is sqrt (-0.0 -> -0.0, -inf -> nan), by -1 a division,
    # by 2 a product; pow(-inf, 0.5) would be inf. The float32 exponent 0.50000001 is 0.5.
    x = np.array(SPECIAL, dtype)
    exponents = (0.5, -1, 2, 1, 0, 0.50000001, 3)

    def f(x):
        h = x * 1.0
        return [cnp.power(h, e) + 0.0 for e in exponents]

    fused = cr.jit(f, fuse="wait")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2):
            got = fused(x)
        want = [np.power(x * 1.0, e) + 0.0 for e in exponents]
    for a, b in zip(want[:-1], got[:-1], strict=True):
        same_bits(a, b)
    assert np.array_equal(want[-1], got[-1])  # pow itself: within ulps, here exact


def test_power_by_an_array_exponent_stays_numpys():
    # whether NumPy's loop takes its fast path for an array exponent depends on how it
    # iterates the broadcast operands: a (2, 1) exponent of 0.5 gives pow's inf at -inf
    x, e = np.full((2, 3), -np.inf), np.full((2, 1), 0.5)
    fused = cr.jit(lambda x, e: cnp.power(x * 1.0, e) + 0.0, fuse="wait")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = [[fused(*args) for _ in range(2)][-1] for args in ((x, e), (x, e[0, 0]), (x[0, :1], e[0]))]
        want = [np.power(x, e), np.power(x, e[0, 0]), np.power(x[0, :1], e[0])]
    for a, b in zip(want, got, strict=True):
        same_bits(a, b)


def runtime_warnings(f, *args) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f(*args)
    return [str(w.message).split(" encountered")[0] for w in caught if w.category is RuntimeWarning]


@pytest.mark.parametrize("logical", [cnp.logical_and, cnp.logical_or])
def test_logical_ops_report_the_errors_of_both_operands(logical):
    # a short circuit would compute 1 / y only where x decides nothing, and drop NumPy's
    # "divide by zero" where it does
    def f(x, y):
        return logical(x * 1.0, 1.0 / y)

    fused = cr.jit(f, fuse="wait")
    for x in (0.0, 1.0):
        args = (np.float64(x), np.float64(0.0))
        runtime_warnings(fused, *args)  # the first call traces
        assert runtime_warnings(fused, *args) == runtime_warnings(f, *args) == ["divide by zero"]

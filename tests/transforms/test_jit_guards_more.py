"""cr.jit against the plain call on programs that read what earlier tests did not vary:
NumPy's own keywords of a ufunc."""

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import run_both, same

import chainrule as cr
import chainrule.numpy as cnp


# -- a ufunc's keywords ----------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{"order": "F"}, {"order": "C"}, {"subok": False}, {"casting": "unsafe"},
                                    {"dtype": np.float32}, {"signature": (None, np.float32)}])
def test_ufunc_keywords_replay_as_numpy(kwargs):
    x = np.arange(6.0).reshape(2, 3) / 7
    jitted = run_both(lambda x: cnp.exp(x, **kwargs), [(x,), (x + 1,), (x * 2,)])
    assert jitted(x).flags.f_contiguous == np.exp(x, **kwargs).flags.f_contiguous


def test_ufunc_where_into_a_traced_out_replays_as_numpy():
    def f(x, m):
        out = cnp.zeros_like(x)
        cnp.exp(x, out=out, where=m)
        return out

    m = np.array([True, False, True])
    run_both(f, [(np.ones(3), m), (np.zeros(3), m), (np.ones(3), ~m)])


def test_frexp_out_as_numpy():
    x = np.array([1.0, 3.0, -0.5])
    got = (np.empty(3), np.empty(3, np.int32))
    want = (np.empty(3), np.empty(3, np.int32))
    assert same(cnp.frexp(x, out=got), np.frexp(x, out=want))
    assert same(got, want)
    with pytest.raises(TypeError, match="frexp: out="):
        cr.grad(lambda x: cnp.sum(cnp.frexp(x, out=got)[0]))(x)

"""What build_program makes of a recorded call list: dead calls dropped, buffers reused,
broadcasts elided, results never in a reused buffer (checked on cr.jit's programs)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.nn import functional as F


def program_of(fun, *args):
    jitted = cr.jit(fun)
    jitted(*args)
    (program,) = jitted.programs
    return program


def test_unused_calls_are_not_replayed():
    def f(x):
        cnp.exp(x) * 3.0  # computed, never used
        return cnp.sin(x)

    program = program_of(f, np.ones(3))
    assert program.n_calls == 1 and "out=" not in program.source  # the result: no buffer


def test_values_of_one_shape_share_buffers():
    def f(x):
        for _ in range(10):
            x = cnp.tanh(x) * 0.5
        return cnp.sum(x)

    program = program_of(f, np.ones(8))
    assert program.n_calls == 21
    assert len(program.buffers) <= 2  # twenty intermediates, two live at a time


def test_broadcast_feeding_an_elementwise_call_is_elided():
    f = cr.grad(lambda x: cnp.sum(cnp.sum(x, axis=1, keepdims=True) * x))
    program = program_of(f, np.ones((4, 3)))
    assert "broadcast_to" not in repr([program.replay.__globals__[k] for k in
                                       program.replay.__globals__ if k.startswith("f")])


def test_buffers_are_written_only_by_their_program():
    f = cr.jit(lambda x: (cnp.exp(x) + 1.0) * 2.0)
    a = f(np.zeros(3))
    b = f(np.ones(3))
    assert a is not b and np.array_equal(a, np.full(3, 4.0))
    assert not any(np.shares_memory(b, buf) for buf in f.programs[0].buffers)


_R = np.random.default_rng(3)
_DOTS = {
    "matrices, float32": (_R.normal(size=(5, 4)).astype(np.float32), _R.normal(size=(4, 3)).astype(np.float32)),
    "matrix and vector": (_R.normal(size=(5, 4)), _R.normal(size=4)),
    "vector and matrix": (_R.normal(size=4), _R.normal(size=(4, 3))),
    "mixed dtypes": (_R.normal(size=(3, 4)).astype(np.float32), _R.normal(size=(4, 2))),
    "integers": (_R.integers(-9, 9, size=(3, 4)), _R.integers(-9, 9, size=(4, 2))),
    "scalar": (np.float32(2.5), _R.normal(size=(3, 2)).astype(np.float32)),
    "stacked": (_R.normal(size=(2, 3, 4)), _R.normal(size=(4, 2))),
    "transposed": (_R.normal(size=(4, 5)).T, _R.normal(size=(3, 4)).T),
}


@pytest.mark.parametrize("case", list(_DOTS))
def test_dot_and_relu_write_into_reused_buffers(case):
    """np.dot and ReLU's forward (not ufuncs) write their intermediate results into the
    program's buffers like ufuncs; every replay gives the plain call's bits, also on
    new data with NaN, inf and signed zeros, and the result handed back is never a
    buffer."""
    a, b = _DOTS[case]

    def f(a, b):
        h = F.relu(np.dot(a, b))
        return np.dot(h, np.ones(np.shape(h)[-1:], dtype=h.dtype)) * 1.0, np.dot(a, b)

    jitted = cr.jit(f)
    jitted(a, b)
    (program,) = jitted.programs
    writes = [line for line in program.source.splitlines() if "out=b" in line]
    assert len(writes) >= (2 if np.ndim(a) or np.ndim(b) else 1)
    edge = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1.5])
    for k in range(3):
        a2 = (a * (k + 1)).astype(np.result_type(a))
        if np.issubdtype(np.result_type(a2), np.floating) and np.ndim(a2):
            a2 = np.array(a2, copy=True)
            a2.flat[: min(a2.size, edge.size)] = edge[: min(a2.size, edge.size)]
        want = f(a2, b)
        got = jitted(a2, b)
        for w, g in zip(want, got, strict=True):
            w, g = np.asarray(w), np.asarray(g)
            assert (g.dtype, g.shape, g.tobytes()) == (w.dtype, w.shape, w.tobytes())
            assert not any(np.shares_memory(g, buf) for buf in program.buffers)
    assert jitted.programs == [program]  # replayed, not traced again

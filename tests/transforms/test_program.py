"""What build_program makes of a recorded call list: dead calls dropped, buffers reused,
broadcasts elided, results never in a reused buffer (checked on cr.jit's programs)."""

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp


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

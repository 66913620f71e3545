"""docs/autograd.md: programs written for HIPS autograd give the same numbers with
chainrule, here where the function differentiated has effects of its own: it draws
random numbers or counts its calls. autograd 1.9 is the oracle."""

import autograd
import autograd.numpy as anp
import autograd.numpy.random as anpr
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
import chainrule.numpy.random as cnpr

LIBRARIES = {"autograd": (autograd, anp, anpr), "chainrule": (cr, cnp, cnpr)}

# (the function of x, with np and npr the library's; the input): square and tall Jacobians
# (forward mode's shapes), wide ones (reverse mode's), several outputs
NOISY = {
    "square": (lambda np, npr, x: x * npr.randn(3), np.ones(3)),
    "tall": (lambda np, npr, x: np.outer(npr.randn(4), x).ravel(), np.ones(2)),
    "wide": (lambda np, npr, x: np.sum(x * npr.randn(5)), np.ones(5)),
    "scalar in": (lambda np, npr, x: np.sin(x) * npr.randn(3), 0.7),
    "nonlinear": (lambda np, npr, x: np.tanh(x * npr.randn(3)) ** 2, np.array([0.5, -1.0, 2.0])),
}


def _run(library, name):
    lib, np_, npr = LIBRARIES[library]
    f, x = NOISY[name]
    calls = []

    def counted(x):
        calls.append(1)
        return f(np_, npr, x)

    npr.seed(0)
    jac = lib.jacobian(counted)(x)
    return jac, len(calls), npr.randn()


@pytest.mark.parametrize("name", list(NOISY))
def test_jacobian_runs_the_function_once_as_autograd(name):
    want, want_calls, want_next = _run("autograd", name)
    got, calls, next_draw = _run("chainrule", name)
    assert calls == want_calls == 1
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    assert next_draw == want_next  # the generator moved on as far


def test_jacobian_of_several_arguments_and_outputs_runs_once():
    calls = []

    def f(a, b):
        calls.append(1)
        return a * b, cnp.sum(a) * b[0]

    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    (jaa, jab), (jsa, jsb) = cr.jacobian(f, argnums=(0, 1))(a, b)
    assert len(calls) == 1
    np.testing.assert_array_equal(jaa, np.diag(b))
    np.testing.assert_array_equal(jab, np.diag(a))
    np.testing.assert_array_equal(jsa, [b[0], b[0]])
    np.testing.assert_array_equal(jsb, [a.sum(), 0.0])


def test_jacobian_through_a_vjp_written_with_plain_numpy_runs_once():
    # a rule reverse mode cannot go through (autograd's users wrap SciPy so): rows instead
    calls = []
    p = cr.primitive(lambda v: v * 2.0)
    cr.defvjp(p, lambda ans, v: lambda g: 2.0 * np.asarray(g))

    def f(x):
        calls.append(1)
        return p(x)

    np.testing.assert_array_equal(cr.jacobian(f)(np.ones(3)), 2.0 * np.eye(3))
    assert len(calls) == 1

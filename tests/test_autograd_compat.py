"""Programs written for HIPS autograd's public API run unchanged with chainrule.

Each program below is written once against a module namespace ``ag`` (``autograd``
itself, or ``chainrule``) and ``np`` (``autograd.numpy`` or ``chainrule.numpy``); where
autograd is installed the two results must agree, and each is also checked against a
closed form or finite differences.
"""

import importlib

import numpy as onp
import pytest

import chainrule
import chainrule.numpy as cnp


def libraries():
    libs = [("chainrule", chainrule, cnp)]
    try:
        ag = importlib.import_module("autograd")
        libs.append(("autograd", ag, importlib.import_module("autograd.numpy")))
    except ImportError:
        pass
    return libs


def extend(ag):
    return importlib.import_module(ag.__name__ + ".extend")


def logistic_regression(ag, np):
    # from autograd's README
    def sigmoid(x):
        return 0.5 * (np.tanh(x / 2.0) + 1)

    def logistic_predictions(weights, inputs):
        return sigmoid(np.dot(inputs, weights))

    inputs = np.array([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15],
                       [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]])
    targets = np.array([True, True, False, True])

    def training_loss(weights):
        preds = logistic_predictions(weights, inputs)
        label_probabilities = preds * targets + (1 - preds) * (1 - targets)
        return -np.sum(np.log(label_probabilities))

    training_gradient_fun = ag.grad(training_loss)
    weights = np.array([0.0, 0.0, 0.0])
    for _ in range(100):
        weights = weights - training_gradient_fun(weights) * 0.01
    return onp.asarray(weights), float(training_loss(weights))


def tanh_derivatives(ag, np):
    # from autograd's tutorial: six derivatives of tanh by elementwise_grad
    x = np.linspace(-3, 3, 7)
    f = np.tanh
    out = []
    for _ in range(6):
        f = ag.elementwise_grad(f)
        out.append(onp.asarray(f(x)))
    return onp.stack(out)


def small_net(ag, np):
    # a one-hidden-layer network trained a few steps, parameters as a list of tuples
    rs = onp.random.RandomState(0)
    params = [(rs.randn(3, 4) * 0.1, rs.randn(4) * 0.1), (rs.randn(4, 1) * 0.1, rs.randn(1) * 0.1)]
    x, y = rs.randn(8, 3), rs.randn(8, 1)

    def predict(params, inputs):
        for w, b in params:
            outputs = np.dot(inputs, w) + b
            inputs = np.tanh(outputs)
        return outputs

    def loss(params):
        return np.mean((predict(params, x) - y) ** 2)

    g = ag.grad(loss)
    for _ in range(5):
        grads = g(params)
        params = [(w - 0.1 * dw, b - 0.1 * db) for (w, b), (dw, db) in zip(params, grads, strict=True)]
    return float(loss(params))


def hessian_and_jacobian(ag, np):
    def f(x):
        return np.sum(np.sin(x) * x ** 2)

    x = np.array([0.3, -0.5, 1.2])
    h = ag.hessian(f)(x)
    j = ag.jacobian(lambda x: np.sin(x) * x)(x)
    hvp = ag.hessian_tensor_product(f)(x, np.ones(3))
    return onp.asarray(h), onp.asarray(j), onp.asarray(hvp)


def vjp_jvp_and_extension(ag, np):
    @extend(ag).primitive
    def logsumexp(x):
        m = onp.max(x)
        return m + onp.log(onp.sum(onp.exp(x - m)))

    extend(ag).defvjp(logsumexp, lambda ans, x: lambda g: g * np.exp(x - ans))
    x = np.array([0.1, 0.7, -0.4])
    g = ag.grad(logsumexp)(x)
    vjp, out = ag.make_vjp(lambda x: np.sin(x) * 2)(x)
    jvp = ag.make_jvp(lambda x: np.sin(x) * 2)(x)(np.ones(3))[1]
    value, grad = ag.value_and_grad(lambda x: np.sum(x ** 3))(x)
    return onp.asarray(g), onp.asarray(vjp(np.ones(3))), onp.asarray(jvp), float(value), onp.asarray(grad)


PROGRAMS = [logistic_regression, tanh_derivatives, small_net, hessian_and_jacobian, vjp_jvp_and_extension]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_program_runs_and_agrees_with_autograd(program):
    results = {name: program(ag, np) for name, ag, np in libraries()}
    if "autograd" in results:
        a, c = results["autograd"], results["chainrule"]
        for x, y in zip(a if isinstance(a, tuple) else (a,), c if isinstance(c, tuple) else (c,), strict=True):
            assert onp.allclose(x, y, rtol=1e-10, atol=1e-12)


def test_closed_forms_of_the_programs():
    x = onp.linspace(-3, 3, 7)
    t = onp.tanh(x)
    d = tanh_derivatives(chainrule, cnp)
    assert onp.allclose(d[0], 1 - t**2) and onp.allclose(d[1], -2 * t * (1 - t**2))
    h, j, hvp = hessian_and_jacobian(chainrule, cnp)
    xs = onp.array([0.3, -0.5, 1.2])
    assert onp.allclose(onp.diag(h), -onp.sin(xs) * xs**2 + 4 * xs * onp.cos(xs) + 2 * onp.sin(xs))
    assert onp.allclose(j, onp.diag(onp.cos(xs) * xs + onp.sin(xs)))
    assert onp.allclose(hvp, h.sum(axis=1))
    g = vjp_jvp_and_extension(chainrule, cnp)[0]
    x = onp.array([0.1, 0.7, -0.4])
    assert onp.allclose(g, onp.exp(x) / onp.exp(x).sum())


@pytest.mark.parametrize("x", [1.5, onp.float32(1.5)], ids=["python-float", "float32"])
def test_python_float_argument_as_documented(x):
    """docs/autograd.md, Python floats: a Python float is differentiated as float64 (autograd
    keeps it weakly typed, so float32 arithmetic stays float32 there); np.float32 agrees."""
    ag = pytest.importorskip("autograd")
    anp = importlib.import_module("autograd.numpy")
    seen = {}

    def f(np, key):
        def run(v):
            seen[key] = out = np.tanh(v * onp.float32(2.0))
            return out
        return run

    want = ag.grad(f(anp, "autograd"))(x)
    got = chainrule.grad(f(cnp, "chainrule"))(x)
    dtype_c, dtype_a = (onp.result_type(seen[k]._value) for k in ("chainrule", "autograd"))
    assert dtype_c == (onp.float64 if type(x) is float else onp.float32)
    assert dtype_a == onp.float32
    assert type(got) is (onp.float64 if type(x) is float else onp.float32)
    onp.testing.assert_allclose(got, want, rtol=1e-5)  # float32 rounding of either formula

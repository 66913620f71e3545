"""chainrule.scipy.integrate.odeint: values are SciPy's; reverse mode (adjoint) and
forward mode (sensitivities) against finite differences to second order, against closed
forms, and against HIPS autograd's adjoint odeint."""

import ast
import importlib
import pathlib

import numpy as np
import pytest
import scipy.integrate as si

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.scipy.integrate import odeint

rng = np.random.default_rng(11)
TOL = {"rtol": 1e-11, "atol": 1e-11}


def neural_dynamics(y, t, params):
    """autograd's ODE-net example: a small network of the state and the time."""
    h = cnp.tanh(cnp.dot(params["w1"], y) + params["b1"] * t)
    return cnp.dot(params["w2"], h) - 0.1 * y


def make_params():
    return {"w1": 0.5 * rng.standard_normal((3, 2)), "b1": 0.5 * rng.standard_normal(3),
            "w2": 0.5 * rng.standard_normal((2, 3))}


def test_values_are_scipys():
    params, y0, t = make_params(), rng.standard_normal(2), np.linspace(0, 1.5, 4)
    ours = cr.jvp(lambda y: odeint(neural_dynamics, y, t, (params,), **TOL), (y0,),
                  (np.zeros(2),))[0]
    np.testing.assert_allclose(ours, si.odeint(neural_dynamics, y0, t, (params,), **TOL),
                               rtol=1e-13, atol=1e-14)
    assert odeint(neural_dynamics, y0, t, (params,)).tobytes() == si.odeint(
        neural_dynamics, y0, t, (params,)).tobytes()


def test_second_order_in_every_argument_both_modes():
    params, y0, t = make_params(), rng.standard_normal(2), np.array([0.0, 0.3, 1.0])

    def solution(y0, t, w1, b1, w2):
        return odeint(neural_dynamics, y0, t, ({"w1": w1, "b1": b1, "w2": w2},), **TOL)

    # The solver's error (about TOL) divided by the step is the noise of finite differences,
    # and not a smooth one (the adaptive steps differ between x + εv and x - εv): at
    # gradcheck's default ε = 1e-6 it is 1e-5, as large as gradcheck's tolerance; at
    # ε = 1e-4 it is 1e-7, and the truncation error of the central difference ~ε² = 1e-8
    assert cr.gradcheck(solution, y0, t, params["w1"], params["b1"], params["w2"], order=2, eps=1e-4)


def test_exponential_decay_closed_form():
    """y' = -k y, y(t0) = y0: y(t) = y0 exp(-k (t - t0)), in every argument."""
    def y_end(y0, k, t0, t1):
        return odeint(lambda y, t, k: -k * y, cnp.reshape(y0, (1,)), cnp.stack([t0, t1]),
                      (k,), **TOL)[1, 0]

    y0, k, t0, t1 = 1.3, 0.7, 0.2, 1.1
    e = np.exp(-k * (t1 - t0))
    expected = [e, -y0 * (t1 - t0) * e, y0 * k * e, -y0 * k * e]
    grads = cr.grad(y_end, argnums=(0, 1, 2, 3))(y0, k, t0, t1)
    np.testing.assert_allclose(grads, expected, rtol=1e-8)
    for i, d in enumerate(expected):
        tangents = [0.0] * 4
        tangents[i] = 1.0
        np.testing.assert_allclose(cr.jvp(y_end, (y0, k, t0, t1), tuple(tangents))[1], d,
                                   rtol=1e-8)
    d2 = cr.grad(cr.grad(y_end, argnums=1), argnums=1)(y0, k, t0, t1)  # y0 (t1-t0)² e
    np.testing.assert_allclose(d2, y0 * (t1 - t0) ** 2 * e, rtol=1e-7)


def test_tfirst_and_static_arguments():
    def f(t, y, k, n):  # tfirst order, with an integer argument that is not differentiated
        return -k * y ** n

    def y_end(k):
        return odeint(f, np.array([1.0]), np.array([0.0, 1.0]), (k, 2), tfirst=True, **TOL)[1, 0]

    # y' = -k y², y(0) = 1: y = 1 / (1 + k t)
    np.testing.assert_allclose(cr.grad(y_end)(0.5), -1 / 1.5**2, rtol=1e-8)


def test_unsupported_options_are_named():
    with pytest.raises(NotImplementedError, match="full_output"):
        cr.grad(lambda k: odeint(lambda y, t, k: -k * y, np.ones(1), np.array([0.0, 1.0]), (k,),
                                 full_output=True)[0][1, 0])(1.0)
    with pytest.raises(ValueError, match="must be vectors"):
        cr.grad(lambda y: odeint(lambda y, t: -y, y, np.array([0.0, 1.0])).sum())(np.ones((2, 2)))


def test_against_autograd():
    autograd = pytest.importorskip("autograd")
    anp = importlib.import_module("autograd.numpy")
    aode = importlib.import_module("autograd.scipy.integrate").odeint
    atuple = importlib.import_module("autograd.builtins").tuple
    w, y0, t = 0.5 * rng.standard_normal((2, 2)), rng.standard_normal(2), np.linspace(0, 1, 3)
    weights = rng.standard_normal((3, 2))

    def dynamics(np_):
        return lambda y, t, w: np_.tanh(np_.dot(w, y)) * np_.cos(t)

    def loss(np_, solve, pack):
        return lambda y0, t, w: np_.sum(solve(dynamics(np_), y0, t, pack((w,)), **TOL) * weights)

    theirs = autograd.grad(loss(anp, aode, atuple), (0, 1, 2))(y0, t, w)
    ours = cr.grad(loss(cnp, odeint, tuple), (0, 1, 2))(y0, t, w)
    # two solvers' solutions of the adjoint system, each accurate to about TOL (1e-11), not
    # to the last bit: they differ by a few TOL
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


def test_scipy_mirror_imports_no_transform():
    """Layering: the mirror builds on core and the NumPy mirror, never on transforms."""
    root = pathlib.Path(__file__).resolve().parents[2] / "src" / "chainrule" / "scipy"
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names
                          if n.startswith(("chainrule.transforms", "chainrule.nn"))]
    assert not offenders


def test_under_jit_the_same_gradients():
    def loss(k, w):
        y = odeint(lambda y, t, k, w: -k * y + cnp.tanh(w * y), np.ones(2),
                   np.array([0.0, 0.5, 1.0]), (k, w), **TOL)
        return cnp.sum(y ** 2)

    plain_grad = cr.grad(loss, argnums=(0, 1))
    jitted = cr.jit(plain_grad)
    for k, w in ((0.5, np.array([0.3, -0.2])), (0.9, np.array([0.1, 0.4]))):
        for a, b in zip(jitted(k, w), plain_grad(k, w), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)

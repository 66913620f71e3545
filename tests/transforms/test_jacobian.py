"""Jacobians and Hessians against closed forms (Rosenbrock)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp


def rosenbrock(x):
    return cnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        h[i + 1, i + 1] += 200
        h[i, i + 1] = h[i + 1, i] = -400 * x[i]
    return h


X = np.random.default_rng(3).normal(size=6)


def test_hessian_of_rosenbrock():
    assert np.allclose(cr.hessian(rosenbrock)(X), rosenbrock_hessian(X), rtol=1e-12)


def test_hvp_flavours_agree_with_closed_form():
    v = np.arange(6.0)
    expected = rosenbrock_hessian(X) @ v
    assert np.allclose(cr.hvp(rosenbrock, (X,), (v,)), expected, rtol=1e-12)
    assert np.allclose(cr.hessian_vector_product(rosenbrock)(X, v), expected, rtol=1e-12)
    hvp_fn, g = cr.make_hvp(rosenbrock)(X)
    assert np.allclose(hvp_fn(v), expected, rtol=1e-12)


@pytest.mark.parametrize("jac", [cr.jacobian, cr.jacrev, cr.jacfwd])
def test_jacobian_shapes_and_values(jac):
    a = np.random.default_rng(4).normal(size=(2, 3))
    J = jac(lambda x: cnp.tanh(a @ x))(np.array([0.1, 0.2, 0.3]))
    expected = (1 - np.tanh(a @ [0.1, 0.2, 0.3]) ** 2)[:, None] * a
    assert J.shape == (2, 3) and np.allclose(J, expected, rtol=1e-13)
    M = jac(lambda m: m * 2)(np.ones((2, 2)))
    assert M.shape == (2, 2, 2, 2) and np.array_equal(M.reshape(4, 4), 2 * np.eye(4))


def test_jacfwd_of_jacrev_is_the_hessian():
    assert np.allclose(cr.jacfwd(cr.jacrev(rosenbrock))(X), rosenbrock_hessian(X), rtol=1e-12)
    assert np.allclose(cr.jacrev(cr.jacrev(rosenbrock))(X), rosenbrock_hessian(X), rtol=1e-12)


def test_jacobian_argnums_tuple():
    jx, jy = cr.jacobian(lambda x, y: x * y, (0, 1))(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert np.array_equal(jx, np.diag([3.0, 4.0])) and np.array_equal(jy, np.diag([1.0, 2.0]))


def test_make_ggnvp():
    a = np.random.default_rng(5).normal(size=(3, 2))
    ggnvp = cr.make_ggnvp(lambda w: a @ w)(np.ones(2))
    v = np.array([1.0, -2.0])
    assert np.allclose(ggnvp(v), a.T @ a @ v)

"""lax.custom_root and lax.custom_linear_solve against JAX's (float64), on JAX's documented
examples: Newton's method for a square root, and conjugate gradients for a linear system.
Values and derivatives (grad, jvp, vmap, jit, nested) agree; gradients also with central
differences."""

import functools

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import lax as clax
from finite_differences import central_differences

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jlax = pytest.importorskip("jax.lax")
jax.config.update("jax_enable_x64", True)

A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
B = np.array([1.0, 2.0, 3.0])
N = np.array([[4.0, 1.0, 0.0], [2.0, 3.0, 1.0], [0.0, -1.0, 2.0]])


def sqrt_program(lib, lax):
    """JAX's custom_root example: Newton's method, with a scalar tangent_solve."""

    def newton(f, x0):
        def step(_, x):
            return x - f(x) / lib.grad(f)(x)
        return lax.fori_loop(0, 30, step, x0)

    def sqrt(a):
        return lax.custom_root(lambda x: x ** 2 - a, 1.0, newton, lambda g, y: y / g(1.0))

    return sqrt


def cg_program(npm, lax):
    """JAX's custom_linear_solve example: a hand-written conjugate gradient, symmetric."""

    def cg(matvec, b):
        x = npm.zeros_like(b)
        r = b - matvec(x)
        p, rs = r, r @ r
        for _ in range(b.shape[0]):
            ap = matvec(p)
            alpha = rs / (p @ ap)
            x, r = x + alpha * p, r - alpha * ap
            new = r @ r
            p, rs = r + (new / rs) * p, new
        return x

    def solve(a, b):
        return lax.custom_linear_solve(lambda x: a @ x, b, cg, symmetric=True)

    def loss(a, b):
        return npm.sum(npm.sin(solve(a, b)))

    return solve, loss


def dense_program(lib, npm, lax):
    """A non-symmetric system: solve and transpose_solve build the matrix from what they are given."""

    def dense(matvec, b):
        return npm.linalg.solve(lib.vmap(matvec)(npm.eye(b.shape[0])).T, b)

    def loss(a, b):
        return npm.sum(npm.sin(lax.custom_linear_solve(lambda x: a @ x, b, dense, transpose_solve=dense)))

    return loss


c_sqrt, j_sqrt = sqrt_program(cr, clax), jax.jit(sqrt_program(jax, jlax))
c_solve, c_loss = cg_program(cnp, clax)
j_solve, j_loss = (jax.jit(f) for f in cg_program(jnp, jlax))


def test_custom_root_values_and_derivatives_match_jax():
    a = np.array([2.0, 4.0, 9.0])
    np.testing.assert_allclose(cr.vmap(c_sqrt)(a), jax.vmap(j_sqrt)(a), rtol=1e-14)
    np.testing.assert_allclose(cr.vmap(cr.grad(c_sqrt))(a), jax.vmap(jax.grad(j_sqrt))(a), rtol=1e-12)
    np.testing.assert_allclose(cr.jvp(c_sqrt, (2.0,), (1.0,))[1], jax.jvp(j_sqrt, (2.0,), (1.0,))[1], rtol=1e-12)
    np.testing.assert_allclose(cr.jit(cr.grad(c_sqrt))(2.0), jax.grad(j_sqrt)(2.0), rtol=1e-12)
    np.testing.assert_allclose(cr.grad(cr.grad(c_sqrt))(2.0), jax.grad(jax.grad(j_sqrt))(2.0), rtol=1e-10)
    fd = central_differences(lambda v: float(c_sqrt(float(v[0]))), np.array([2.0]))
    np.testing.assert_allclose(cr.grad(c_sqrt)(2.0), fd[0], rtol=1e-8)


def test_custom_root_solver_iterations_are_not_differentiated():
    seen = []

    def solve(f, x0):
        seen.append(type(x0))
        return np.sqrt(3.0) + 0 * x0  # any solver, even one chainrule cannot differentiate

    def root(a):
        return clax.custom_root(lambda x: x ** 2 - a, 1.0, solve, lambda g, y: y / g(1.0))

    assert float(cr.grad(root)(3.0)) == pytest.approx(0.5 / np.sqrt(3.0), rel=1e-14)
    assert seen and all(t is not cr.Tensor for t in seen)


def test_custom_linear_solve_cg_matches_jax():
    np.testing.assert_allclose(c_solve(A, B), j_solve(A, B), rtol=1e-12)
    for c, j in zip(cr.grad(c_loss, argnums=(0, 1))(A, B), jax.grad(j_loss, (0, 1))(A, B), strict=True):
        np.testing.assert_allclose(c, j, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(cr.jvp(c_solve, (A, B), (A.T, B[::-1]))[1],
                               jax.jvp(j_solve, (A, B), (A.T, B[::-1]))[1], rtol=1e-10)
    bs = np.eye(3) + 0.5
    np.testing.assert_allclose(cr.vmap(c_solve, (None, 0))(A, bs), jax.vmap(j_solve, (None, 0))(A, bs),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(cr.vmap(cr.grad(c_loss), (None, 0))(A, bs),
                               jax.vmap(jax.grad(j_loss), (None, 0))(A, bs), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(cr.jit(cr.grad(c_loss, argnums=1))(A, B), jax.grad(j_loss, 1)(A, B), rtol=1e-10)
    np.testing.assert_allclose(cr.jacrev(cr.grad(c_loss, argnums=1), argnums=1)(A, B),
                               jax.hessian(j_loss, 1)(A, B), rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(cr.hessian(c_loss)(A, B), jax.hessian(j_loss)(A, B), rtol=1e-9, atol=1e-13)
    # (symmetric=True: the matrix stays symmetric, so it is perturbed as S + S.T)
    fd = central_differences(lambda s: float(c_loss(s + s.T, B)), A / 2)
    np.testing.assert_allclose(cr.grad(lambda s: c_loss(s + s.T, B))(A / 2), fd, rtol=1e-6, atol=1e-9)


def test_custom_linear_solve_with_transpose_solve_matches_jax():
    c, j = dense_program(cr, cnp, clax), jax.jit(dense_program(jax, jnp, jlax))
    for u, v in zip(cr.grad(c, argnums=(0, 1))(N, B), jax.grad(j, (0, 1))(N, B), strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(cr.jacfwd(cr.grad(c, argnums=1), argnums=1)(N, B), jax.hessian(j, 1)(N, B),
                               rtol=1e-9, atol=1e-13)


def test_custom_linear_solve_reverse_mode_needs_a_transpose():
    def loss(a, b):
        return cnp.sum(clax.custom_linear_solve(lambda x: a @ x, b, lambda mv, r: r / 4.0))

    assert cr.jvp(lambda b: loss(A, b), (B,), (B,))[1] == pytest.approx(1.5)
    with pytest.raises(TypeError, match="transpose_solve"):
        cr.grad(loss, argnums=1)(A, B)


def test_custom_root_parameters_in_partials_and_nested_closures_with_aux():
    def newton(f, x0):
        for _ in range(30):
            x0 = x0 - f(x0) / cr.grad(f)(x0)
        return x0, "aux"

    def cube(x, p):
        return x ** 3 - p["a"] * p["b"]

    def root(a, b):  # the cube root of a * b, its parameters in a partial's dict
        out, aux = clax.custom_root(functools.partial(cube, p={"a": a, "b": b}), 1.0, newton,
                                    lambda g, y: y / g(1.0), has_aux=True)
        assert aux == "aux"
        return out

    def root_nested(a):
        def inner(x):
            return x ** 2 - a
        return clax.custom_root(lambda x: inner(x), 1.0, lambda f, x0: newton(f, x0)[0], lambda g, y: y / g(1.0))

    np.testing.assert_allclose(cr.grad(root, argnums=(0, 1))(2.0, 4.0), (4 / 12, 2 / 12), rtol=1e-14)
    assert float(cr.grad(root_nested)(9.0)) == pytest.approx(1 / 6, rel=1e-14)


GLOBAL_MATRIX = cr.tensor(A[:2, :2], requires_grad=True)


class _Operator:
    def __init__(self, m):
        self.m = m

    def matvec(self, v):
        return self.m @ v


def test_custom_linear_solve_matrix_in_a_global_eager_tensor_or_an_object():
    # x = b / 4 from a solver that ignores the matrix: the matrix's cotangent is still -λ xᵀ (JAX's rule)
    def quarter(matvec, r):
        return r / 4.0

    b = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    x = clax.custom_linear_solve(lambda v: GLOBAL_MATRIX @ v, b, quarter, symmetric=True)
    x.sum().backward()
    np.testing.assert_allclose(GLOBAL_MATRIX.grad.numpy(), -np.outer([0.25, 0.25], [0.25, 0.5]))
    np.testing.assert_allclose(b.grad.numpy(), [0.25, 0.25])
    grad = cr.grad(lambda m: cnp.sum(clax.custom_linear_solve(_Operator(m).matvec, np.ones(2), quarter,
                                                              symmetric=True)))(np.eye(2))
    np.testing.assert_allclose(grad, np.full((2, 2), -0.0625))

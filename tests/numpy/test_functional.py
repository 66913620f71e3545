"""piecewise, apply_along_axis, apply_over_axes and vectorize (chainrule/numpy/functional.py): values
equal NumPy's, derivatives against finite differences in both modes to second order and
against JAX, and under vmap against jax.vmap."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = pytest.importorskip("jax.numpy")

rng = np.random.default_rng(3)
X = np.array([-2.0, -0.5, 0.3, 1.2, 3.0, 0.7])
A = rng.normal(size=(3, 4, 2))


def _pieces(L):
    return lambda x: L.piecewise(x, [x < 0, x > 1], [lambda v: -v ** 3, lambda v: L.sqrt(v), 0.5])


# name: (function of (module, *arrays), arrays, whether JAX has the same function)
CASES = {
    "piecewise": (lambda L, x: _pieces(L)(x), (X,), True),
    "piecewise_otherwise": (lambda L, x: L.piecewise(x, [x < 0], [lambda v: L.sin(v), lambda v: v ** 2]),
                            (X,), True),
    "piecewise_2d_extra_args": (lambda L, x: L.piecewise(x, [x > 0.2], [lambda v, k: k * L.exp(v), 0.0], 3.0),
                                (A[0],), False),
    "piecewise_one_condition": (lambda L, x: L.piecewise(x, x > 0, [lambda v: v * 2]), (X,), False),
    "piecewise_0d": (lambda L, x: L.piecewise(x, [x > 0, x <= 0], [lambda v: v ** 2, lambda v: -v]),
                     (np.array(0.7),), False),
    "apply_along_axis_reduce": (lambda L, a: L.apply_along_axis(lambda v: L.sum(v ** 2) * v[0], 1, a), (A,), True),
    "apply_along_axis_vector": (lambda L, a: L.apply_along_axis(lambda v: L.stack([L.max(v), L.mean(v)]), 1, a),
                                (A,), True),
    "apply_along_axis_matrix_negative": (lambda L, a: L.apply_along_axis(lambda v: L.outer(v, L.sin(v)), -1, a),
                                         (A,), True),
    "apply_along_axis_args": (lambda L, a: L.apply_along_axis(lambda v, p: L.cumsum(v) ** p, 0, a, 2), (A,), False),
    "apply_over_axes_sum": (lambda L, a: L.apply_over_axes(L.sum, a, [0, 2]), (A,), True),
    "apply_over_axes_keepdims_func": (lambda L, a: L.apply_over_axes(lambda v, ax: L.max(v, axis=ax, keepdims=True),
                                                                     a, -1), (A,), False),
    "vectorize_branch": (lambda L, x: L.vectorize(lambda a: a * a if a > 1 else 3 * L.sin(a))(x), (X,), False),
    "vectorize_broadcast_two_args": (lambda L, a: L.vectorize(lambda u, v: L.exp(u) * v)(a, a[0]), (A[0],), True),
    "vectorize_excluded": (lambda L, x: L.vectorize(lambda a, n: a ** n, excluded={1})(x, 3), (X,), True),
    "vectorize_keyword": (lambda L, x: L.vectorize(lambda a, b=1.0: L.tanh(a) * b)(x, b=x[::-1]), (X,), False),
    "vectorize_signature_reduce": (lambda L, a: L.vectorize(lambda r: L.sum(r ** 2) * r[0], signature="(n)->()")(a),
                                   (A,), True),
    "vectorize_signature_matrix": (lambda L, a: L.vectorize(lambda r: L.outer(r, L.sin(r)),
                                                            signature="(n)->(n,n)")(a), (A,), True),
    "vectorize_signature_two": (lambda L, a: L.vectorize(lambda u, v: L.dot(u, v), signature="(n),(n)->()")(a, a[0]),
                                (A,), True),
    "vectorize_0d": (lambda L, x: L.vectorize(lambda a: L.cos(a) * a)(x), (np.array(0.7),), True),
}


def _value(t):
    return t.primal() if isinstance(t, cr.Tensor) else t


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_equal_numpy(name):
    f, args, _ = CASES[name]
    want = f(np, *args)
    got = f(cnp, *(cr.tensor(a) for a in args))
    assert isinstance(got, cr.Tensor)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(_value(got), want)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_both_modes(name):
    f, args, _ = CASES[name]
    assert cr.gradcheck(lambda *a: f(cnp, *a), *args, order=2)


@pytest.mark.parametrize("name", sorted(n for n, case in CASES.items() if case[2]))
def test_gradient_and_vmap_against_jax(name):
    f, args, _ = CASES[name]
    want = jax.grad(lambda a: jnp.sum(jnp.sin(f(jnp, a))))(*args)
    got = cr.grad(lambda a: cnp.sum(cnp.sin(f(cnp, a))))(*args)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    batch = np.stack([args[0], -args[0], args[0] * 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(cr.vmap(lambda a: f(cnp, a))(batch), jax.vmap(lambda a: f(jnp, a))(batch),
                                   rtol=1e-12, atol=1e-14)
        g = cr.vmap(cr.grad(lambda a: cnp.sum(f(cnp, a))))(batch)
    np.testing.assert_allclose(g, jax.vmap(jax.grad(lambda a: jnp.sum(f(jnp, a))))(batch), rtol=1e-12, atol=1e-14)


def test_piecewise_under_vmap_keeps_nan_out_of_the_gradient():
    # each example selects other elements; sqrt is never differentiated at a negative number
    xs = np.stack([X, -X, np.full(6, -1.0)])
    g = cr.vmap(cr.grad(lambda x: cnp.sum(_pieces(cnp)(x))))(xs)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, jax.vmap(jax.grad(lambda x: jnp.sum(_pieces(jnp)(x))))(xs), rtol=1e-13)


def test_errors_as_numpy():
    with pytest.raises(ValueError, match="either 2 or 3 functions"):
        cnp.piecewise(cr.tensor(X), [X < 0, X > 1], [np.sin])
    with pytest.raises(ValueError, match="iteration dimensions are 0"):
        cnp.apply_along_axis(cnp.sum, 1, cr.tensor(np.zeros((0, 3))))
    with pytest.raises(np.exceptions.AxisError):
        cnp.apply_along_axis(cnp.sum, 3, cr.tensor(A))
    with pytest.raises(ValueError, match="correct shape"):
        cnp.apply_over_axes(lambda v, ax: cnp.sum(v), cr.tensor(A), [0])


def test_plain_inputs_are_numpys():
    assert type(cnp.piecewise(X, [X < 0], [1.0, 2.0])) is np.ndarray
    np.testing.assert_array_equal(cnp.apply_along_axis(np.sum, 0, A), np.apply_along_axis(np.sum, 0, A))


def test_vectorize_as_numpys_and_autograds():
    import autograd
    import autograd.numpy as anp

    f = cnp.vectorize(lambda a: a * a if a > 1 else 3 * a)
    assert isinstance(f, np.vectorize)
    x = np.array([0.5, 2.0, 3.0])
    want = autograd.grad(lambda x: anp.sum(anp.vectorize(lambda a: a * a if a > 1 else 3 * a)(x)))(x)
    np.testing.assert_array_equal(cr.grad(lambda x: cnp.sum(f(x)))(x), want)
    np.testing.assert_array_equal(cr.elementwise_grad(f)(x), want)  # (autograd: zeros, a warning)
    assert cr.grad(lambda x: f(x))(2.0) == 4.0
    np.testing.assert_array_equal(cr.hessian(lambda x: cnp.sum(cnp.vectorize(lambda a: a ** 3)(x)))(x),
                                  np.diag(6 * x))
    pair = cnp.vectorize(lambda a: (a, a * a))  # two results, each stacked
    np.testing.assert_array_equal(cr.jacobian(lambda x: pair(x)[1])(x), np.diag(2 * x))

    @cnp.vectorize
    def scaled(a, b=1.0):
        return a * b

    assert cr.grad(lambda b: cnp.sum(scaled(x, b=b)))(2.0) == x.sum()
    # results take the first result's dtype, as in NumPy (here an int: no derivative)
    first_int = cnp.vectorize(lambda a: 0 if a < 1 else a)
    assert first_int(cr.tensor(x)).dtype == np.vectorize(lambda a: 0 if a < 1 else a)(x).dtype
    floats = cnp.vectorize(lambda a: 0 if a < 1 else a, otypes=[float])
    np.testing.assert_array_equal(cr.grad(lambda x: cnp.sum(floats(x)))(x), [0.0, 1.0, 1.0])
    step = cr.jit(cr.grad(lambda x: cnp.sum(cnp.vectorize(lambda a: a * a)(x))))
    for v in (x, x * 2, x):
        np.testing.assert_array_equal(step(v), 2 * v)


def test_vectorize_errors_as_numpy():
    f = cnp.vectorize(lambda a: a)
    with pytest.raises(ValueError, match="size 0 inputs unless `otypes`"):
        f(cr.tensor(np.zeros(0)))
    assert cnp.vectorize(lambda a: a, otypes=[float])(cr.tensor(np.zeros((0, 2)))).shape == (0, 2)
    with pytest.raises(ValueError, match="give signature="):  # an array for one element
        cnp.vectorize(lambda a: a * np.ones(2))(cr.tensor(np.ones(2)))
    with pytest.raises(ValueError, match="not a valid gufunc signature"):
        cnp.vectorize(lambda a: a, signature="(n->)")(cr.tensor(np.ones(2)))
    with pytest.raises(ValueError, match="inconsistent size"):
        cnp.vectorize(lambda a, b: a, signature="(n),(n)->()")(cr.tensor(np.ones(2)), np.ones(3))
    with pytest.raises(TypeError, match="vmap"):  # a branch on each example's value, as in JAX
        cr.vmap(cnp.vectorize(lambda a: a if a > 0 else -a))(np.ones((2, 3)))

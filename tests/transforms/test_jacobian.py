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


# -- the unit basis: vmap scales rows or columns instead of multiplying by the zeros -------------
rng = np.random.default_rng(6)
W = rng.normal(size=(4, 5))
U = rng.normal(size=(5, 4))


def basis_by_basis(jac_kind, f, x):
    """The Jacobian one unit vector at a time, without vmap: the dense reference."""
    eye = np.eye(x.size).reshape((x.size, *x.shape))
    if jac_kind == "fwd":
        cols = [np.asarray(cr.jvp(f, (x,), (e,))[1]) for e in eye]
        out = np.stack(cols)  # (in, out...)
        return np.moveaxis(out.reshape(x.size, -1), 0, -1).reshape(out.shape[1:] + x.shape)
    y, pull = cr.vjp(f, x)
    eye_out = np.eye(np.size(y)).reshape((np.size(y), *np.shape(y)))
    rows = [np.asarray(pull(e)[0]) for e in eye_out]
    return np.stack(rows).reshape(np.shape(y) + x.shape)


UNIT_PROGRAMS = {  # f(x) for x of shape (4,) (W @ x... with every orientation of a unit batch)
    "matrix times vector": lambda x: cnp.tanh(U @ x),
    "vector times matrix": lambda x: cnp.tanh(x @ W) * 2.0,
    "row times matrix": lambda x: cnp.reshape(x, (1, 4)) @ W,
    "matrix times column": lambda x: U @ cnp.expand_dims(x, -1),
    "scaled first": lambda x: U @ (x * np.arange(1.0, 5.0)),
    "two layers": lambda x: cnp.tanh(W @ cnp.tanh(U @ x + 1.0)),
    "a 2-d input": lambda x: cnp.sum(cnp.reshape(x, (2, 2)) @ W[:2], axis=0),
}


@pytest.mark.parametrize("kind", ["fwd", "rev"])
@pytest.mark.parametrize("name", sorted(UNIT_PROGRAMS))
def test_jacobians_over_the_unit_basis_match_the_dense_products(kind, name):
    f = UNIT_PROGRAMS[name]
    x = rng.normal(size=4)
    jac = cr.jacfwd if kind == "fwd" else cr.jacrev
    np.testing.assert_allclose(jac(f)(x), basis_by_basis(kind, f, x), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind", ["fwd", "rev"])
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_unit_basis_with_a_non_finite_matrix_or_scale_keeps_the_dense_nans(kind, bad):
    # 0 * inf is NaN in the dense product of each unit vector: the Jacobian keeps it
    m = U.copy()
    m[1, 2] = bad
    scale = np.arange(1.0, 5.0)
    scale[3] = bad
    jac = cr.jacfwd if kind == "fwd" else cr.jacrev
    x = rng.normal(size=4)
    for f in (lambda v: m @ v, lambda v: v @ m.T, lambda v: U @ (v * scale),
              lambda v: (v * scale) @ W):
        np.testing.assert_array_equal(jac(f)(x), basis_by_basis(kind, f, x))


@pytest.mark.parametrize("dtype", [np.float32, np.complex128, np.int64])
def test_unit_basis_dtypes(dtype):
    x = (np.arange(4) + (1j if dtype == np.complex128 else 0)).astype(dtype)
    w = W.astype(np.float32) if dtype == np.float32 else W
    for jac, kind in ((cr.jacfwd, "fwd"), (cr.jacrev, "rev")):
        got = jac(lambda v, w=w: v @ w, holomorphic=dtype == np.complex128)(x)
        want = basis_by_basis(kind, lambda v, w=w: v @ w, x.astype(np.float64) if dtype == np.int64 else x)
        assert got.dtype == want.dtype or dtype == np.int64, (got.dtype, want.dtype)
        np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-13)


def test_vmap_over_the_unit_basis_is_vmap_over_its_values():
    from chainrule.transforms.vmap import unit_basis

    basis = unit_basis((2, 3), np.float64)
    assert np.array_equal(basis, np.eye(6).reshape(6, 2, 3))

    def f(e):  # scaled, reshaped, multiplied on both sides, then used densely
        v = cnp.reshape(e * np.arange(1.0, 4.0), (6,))
        return [v @ rng_fixed, rng_fixed.T @ v, cnp.exp(v) * v, cnp.squeeze(cnp.expand_dims(v, 0))]

    rng_fixed = rng.normal(size=(6, 3))
    for got, want in zip(cr.vmap(f)(basis), cr.vmap(f)(np.asarray(basis).copy()), strict=True):
        np.testing.assert_array_equal(got, want)
    outs = cr.vmap(f)(basis)
    assert all(type(o) is np.ndarray for o in outs)
    # along another axis it is the array it stands for
    np.testing.assert_array_equal(cr.vmap(lambda e: e * 2.0, in_axes=1)(basis),
                                  np.moveaxis(2.0 * np.eye(6).reshape(6, 2, 3), 1, 0))


def test_the_unit_basis_is_multiplied_by_scaling(monkeypatch):
    from chainrule.transforms import batch_trace

    scaled = []
    real = batch_trace._unit_matmul
    monkeypatch.setattr(batch_trace, "_unit_matmul", lambda *a: scaled.append(r := real(*a)) or r)
    f = UNIT_PROGRAMS["two layers"]
    for jac in (cr.jacfwd, cr.jacrev):
        scaled.clear()
        jac(f)(np.ones(4))
        # the first product meets the (scaled) unit basis, the second a dense batch
        assert [s is not None for s in scaled] == [True, False]


@pytest.mark.parametrize("jac", [cr.jacrev, cr.jacfwd])
def test_jacobian_of_the_identity_and_of_scalings_is_a_fresh_array(jac):
    # the unit basis's dense value is made when it is handed back
    for f, want in ((lambda v: v, np.eye(4)), (lambda v: v * np.arange(4.0), np.diag(np.arange(4.0))),
                    (lambda v: 3.0 * cnp.reshape(v, (2, 2)), 3 * np.eye(4).reshape(2, 2, 4))):
        got = jac(f)(np.ones(4))
        assert type(got) is np.ndarray and got.flags.writeable
        np.testing.assert_array_equal(got, want)
        got[...] = 7.0  # nothing shared with the next call
        np.testing.assert_array_equal(jac(f)(np.ones(4)), want)


@pytest.mark.parametrize("f", [
    lambda L, z: L.real(z) ** 2 + L.imag(z),  # real output of a complex input, as many elements
    lambda L, z: L.abs(z) ** 2 * L.real(z[::-1]),
    lambda L, z: L.concatenate([L.abs(z), L.real(z)]),  # more outputs than inputs
])
def test_jacobian_of_a_complex_input_is_autograds(f):
    import autograd
    import autograd.numpy as anp

    z = np.array([1 + 1j, 2 - 1j])
    want = autograd.jacobian(lambda z: f(anp, z))(z)
    got = cr.jacobian(lambda z: f(cnp, z))(z)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-14)
    np.testing.assert_allclose(got, cr.jacrev(lambda z: f(cnp, z))(z), rtol=1e-14)


def test_jacobian_of_a_holomorphic_function_is_its_derivative():
    z = np.array([1 + 1j, 2 - 1j])
    np.testing.assert_allclose(cr.jacobian(lambda z: cnp.sin(z) * z)(z), np.diag(np.cos(z) * z + np.sin(z)),
                               rtol=1e-14)


_Z = np.array([1 + 2j, 0.5 - 1j])


def _jax():
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)  # (as the other files comparing with JAX)
    return jax, jnp


@pytest.mark.parametrize("transform, f, x", [
    ("jacrev", lambda L, z: L.conj(z) * z, _Z),  # complex outputs
    ("jacrev", lambda L, x: x * (1 + 1j), np.array([1.0, 2.0])),  # (their real parts alone, before)
    ("jacfwd", lambda L, z: L.abs(z) ** 2, _Z),  # complex inputs (d/dx alone, before)
    ("jacfwd", lambda L, z: L.conj(z) * z, _Z),
    ("hessian", lambda L, z: L.sum(L.abs(z) ** 2), _Z),
])
def test_complex_values_without_holomorphic_are_refused_as_jax_does(transform, f, x):
    jax, jnp = _jax()

    with pytest.raises(TypeError, match="holomorphic=True") as want:
        getattr(jax, transform)(lambda a: f(jnp, a))(x)
    with pytest.raises(TypeError, match="holomorphic=True") as got:
        getattr(cr, transform)(lambda a: f(cnp, a))(x)
    assert str(want.value).split(" requires ")[0] == str(got.value).split(" needs ")[0]  # the same transform named


@pytest.mark.parametrize("f", [lambda L, z: z * L.sin(z), lambda L, z: L.conj(z) * z])
def test_holomorphic_jacobians_and_real_rows_equal_jax(f):
    jax, jnp = _jax()

    for transform in ("jacrev", "jacfwd"):
        want = getattr(jax, transform)(lambda a: f(jnp, a), holomorphic=True)(_Z)
        got = getattr(cr, transform)(lambda a: f(cnp, a), holomorphic=True)(_Z)
        np.testing.assert_allclose(got, want, rtol=1e-14)
    real = lambda L, z: L.real(f(L, z)) * L.abs(z)  # noqa: E731
    np.testing.assert_allclose(cr.jacrev(lambda a: real(cnp, a))(_Z), jax.jacrev(lambda a: real(jnp, a))(_Z),
                               rtol=1e-14)
    np.testing.assert_allclose(cr.jacfwd(lambda a: f(cnp, a * (1 + 1j)))(_Z.real),
                               jax.jacfwd(lambda a: f(jnp, a * (1 + 1j)))(_Z.real), rtol=1e-14)
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda a: f(cnp, a), holomorphic=True))(_Z),
                               jax.vmap(jax.grad(lambda a: f(jnp, a), holomorphic=True))(_Z), rtol=1e-14)


# jacobian of a function with as many outputs as inputs transposes its recorded backward
# pass; differentiated again (a third derivative, jacobian(jacobian(grad(f)))), prod's rule
# had been recorded at a zero cotangent, which it takes as the constant 0: the result was 0
@pytest.mark.parametrize("f", [
    lambda L, x: L.prod(x) * L.ones(3),
    lambda L, x: x * L.sin(L.prod(x)),
    lambda L, x: L.cumprod(x) * L.prod(x[::-1] ** 2),
])
@pytest.mark.parametrize("outer", ["jacobian", "jacrev", "jacfwd"])
def test_jacobian_differentiated_again_equals_jax(f, outer):
    jax, jnp = _jax()
    x = np.array([1.5, -0.5, 2.0])
    want = jax.jacfwd(jax.jacfwd(lambda a: f(jnp, a)))(x)
    np.testing.assert_allclose(getattr(cr, outer)(cr.jacobian(lambda a: f(cnp, a)))(x), want, rtol=1e-13, atol=1e-13)
    third = jax.jacfwd(jax.hessian(lambda a: jnp.prod(a) ** 2))(x)
    np.testing.assert_allclose(cr.jacobian(cr.jacobian(cr.grad(lambda a: cnp.prod(a) ** 2)))(x), third, rtol=1e-13)

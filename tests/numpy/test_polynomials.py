"""Polynomials (chainrule/numpy/polynomials.py): values equal NumPy's, derivatives in the
coefficients and the points against central finite differences to second order in both
modes, against jax.grad, and under cr.vmap against jax.vmap."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = pytest.importorskip("jax.numpy")

rng = np.random.default_rng(11)


def value(t):
    return t.primal() if isinstance(t, cr.Tensor) else t


P = rng.normal(size=4)
# name: (function of (module, *args), arguments, whether jax.numpy has the same signature)
CASES = {
    "polyval": (lambda L, p, x: L.polyval(p, x), (P, rng.normal(size=(3, 2))), True),
    "polyval_scalar": (lambda L, p, x: L.polyval(p, x), (P, 0.7), True),
    "polyval_2d_coefficients": (lambda L, p, x: L.polyval(p, x), (rng.normal(size=(3, 2)), rng.normal(size=2)), True),
    "polyadd": (lambda L, a, b: L.polyadd(a, b), (P, rng.normal(size=2)), True),
    "polyadd_same": (lambda L, a, b: L.polyadd(a, b), (P, rng.normal(size=4)), True),
    "polysub": (lambda L, a, b: L.polysub(a, b), (rng.normal(size=2), P), True),
    "polymul": (lambda L, a, b: L.polymul(a, b), (P, rng.normal(size=3)), True),
    "polyder": (lambda L, p: L.polyder(p), (P,), True),
    "polyder_2": (lambda L, p: L.polyder(p, 2), (P,), True),
    "polyder_0": (lambda L, p: L.polyder(p, 0), (P,), True),
    "polyint": (lambda L, p: L.polyint(p), (P,), True),
    "polyint_k": (lambda L, p, k: L.polyint(p, 2, k=k), (P, np.array([1.0, -2.0])), False),
    "polyint_scalar_k": (lambda L, p, k: L.polyint(p, 3, k=k), (P, 0.5), False),
    "vander": (lambda L, x: L.vander(x), (rng.normal(size=4),), True),
    "vander_N": (lambda L, x: L.vander(x, 2, increasing=True), (rng.normal(size=3),), True),
    "vander_1": (lambda L, x: L.vander(x, 1), (rng.normal(size=3),), True),
    "polyfit": (lambda L, x, y: L.polyfit(x, y, 2), (np.linspace(-1, 1, 7) + 0.1, rng.normal(size=7)), True),
    "polyfit_2d": (lambda L, x, y: L.polyfit(x, y, 1), (np.linspace(0.5, 2, 5), rng.normal(size=(5, 3))), True),
    "polyfit_w": (lambda L, x, y, w: L.polyfit(x, y, 2, w=w),
                  (np.linspace(-1, 1, 6), rng.normal(size=6), rng.uniform(1, 2, 6)), True),
    # long division (JAX keeps the remainder's leading zeros: only the quotient compared)
    "polydiv_quotient": (lambda L, u, v: L.polydiv(u, v)[0], (rng.normal(size=5), rng.normal(size=3)), True),
    "polydiv_remainder": (lambda L, u, v: L.polydiv(u, v)[1], (rng.normal(size=5), rng.normal(size=3)), False),
    "polydiv_by_constant": (lambda L, u, v: L.polydiv(u, v)[0], (rng.normal(size=4), rng.normal(size=1)), True),
    "polydiv_higher_divisor": (lambda L, u, v: L.polydiv(u, v)[1], (rng.normal(size=2), rng.normal(size=4)), False),
    "poly": (lambda L, z: L.poly(z), (rng.normal(size=3),), True),
    "poly_complex": (lambda L, z: L.real(L.poly(z) * (1 - 2j)), (rng.normal(size=2) + 1j * rng.normal(size=2),), True),
    "poly_of_matrix": (lambda L, a: L.poly(a), (rng.normal(size=(3, 3)),), False),
    # real and complex roots (JAX's roots strips zeros only outside grad)
    "roots_real": (lambda L, p: L.roots(p), (np.array([1.0, -3.5, 2.0]),), False),
    "roots_complex": (lambda L, p: L.roots(p), (np.array([3.0, 1.0, -2.0, 0.5]),), False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_gradcheck_and_jax(name):
    f, args, jax_has = CASES[name]
    want = f(np, *args)
    got = value(f(cnp, *(cr.tensor(a) for a in args)))
    assert np.shape(got) == np.shape(want)
    if name.startswith("polyfit"):  # lstsq's own (LAPACK) path differs in the last bits
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13)
    else:
        np.testing.assert_array_equal(got, want)
    assert cr.gradcheck(lambda *a: f(cnp, *a), *args, order=2)
    if jax_has:
        argnums = tuple(range(len(args)))
        want = jax.grad(lambda *a: jnp.sum(jnp.sin(f(jnp, *a))), argnums=argnums)(*args)
        got = cr.grad(lambda *a: cnp.sum(cnp.sin(f(cnp, *a))), argnums=argnums)(*args)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-11)


def test_poly_of_conjugate_pairs_is_real_and_roots_as_jax():
    z = np.array([1 + 2j, 1 - 2j, 3.0])
    got = cnp.poly(cr.tensor(z))
    np.testing.assert_array_equal(value(got), np.poly(z))
    assert got.dtype == np.float64
    p = np.array([3.0, 1.0, -2.0, 0.5])
    want = jax.grad(lambda p: jnp.sum(jnp.abs(jnp.roots(p, strip_zeros=False)) ** 2))(p)
    np.testing.assert_allclose(cr.grad(lambda p: cnp.sum(cnp.abs(cnp.roots(p)) ** 2))(p), want, rtol=1e-10)


@pytest.mark.parametrize("p", [np.zeros(3), np.array([2.0, 0.0]), np.array([5.0]), np.array([0.0, 2.0, -1.0, 0.0])])
def test_roots_of_degenerate_polynomials_as_numpy(p):
    # (zero coefficients are stripped: a finite-difference step would change the count)
    got = cnp.roots(cr.tensor(p))
    got = value(got)
    assert got.dtype == np.roots(p).dtype
    np.testing.assert_array_equal(got, np.roots(p))


def test_polydiv_poly_roots_under_vmap():
    u, v = rng.normal(size=(3, 5)), rng.normal(size=3)
    q, r = cr.vmap(lambda u: cnp.polydiv(u, v))(u)
    for k in range(3):
        np.testing.assert_allclose(q[k], np.polydiv(u[k], v)[0], rtol=1e-14)
        np.testing.assert_allclose(r[k], np.polydiv(u[k], v)[1], rtol=1e-12, atol=1e-14)
    zs = rng.normal(size=(4, 3))
    np.testing.assert_allclose(cr.vmap(cnp.poly)(zs), [np.poly(z) for z in zs], rtol=1e-14)
    ps = np.array([[1.0, -3.0, 2.0], [1.0, -5.0, 6.0]])
    np.testing.assert_allclose(cr.vmap(cnp.roots)(ps), [np.roots(p) for p in ps], rtol=1e-14)


def test_polymul_drops_leading_zeros_as_numpy():
    a, b = np.array([0.0, 0.0, 1.0, 2.0]), np.array([3.0, 1.0])
    np.testing.assert_array_equal(value(cnp.polymul(cr.tensor(a), b)), np.polymul(a, b))
    np.testing.assert_array_equal(value(cnp.polymul(cr.tensor(np.zeros(3)), b)), np.polymul(np.zeros(3), b))


def test_polyval_of_nan_and_inf_points_as_numpy():
    x = np.array([np.nan, np.inf, -np.inf, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(value(cnp.polyval(cr.tensor(P), x)), np.polyval(P, x))


@pytest.mark.parametrize("p,x", [
    ([1.0, -2.0, 3.0], np.array([0.5, 2.0], np.float32)),  # a list of floats is float64
    (np.array([1.0, 2.0], np.float32), 0.7),  # a Python x: NumPy's scalar
    (np.array([1.0, 2.0], np.float32), np.float32(0.7)),
    ([1, 2, 3], np.array([0.5, 1.5])),
])
def test_polyval_types_as_numpy(p, x):
    want = np.polyval(p, x)
    for i in (0, 1):  # differentiated in p, then in x
        args = [p, x]
        if np.asarray(args[i]).dtype.kind != "f":
            continue
        got = cr.vjp(lambda a, i=i, args=args: cnp.polyval(*args[:i], a, *args[i + 1:]), args[i])[0]
        assert type(got) is type(want) and np.result_type(got) == np.result_type(want)
        np.testing.assert_array_equal(got, want)


def test_errors():
    t = cr.tensor(P)
    with pytest.raises(TypeError, match="0-d"):
        cnp.polyval(cr.tensor(2.0), 1.0)
    with pytest.raises(ValueError, match="Order of derivative must be positive"):
        cnp.polyder(t, -1)
    with pytest.raises(ValueError, match="Order of integral must be positive"):
        cnp.polyint(t, -1)
    with pytest.raises(ValueError, match="k must be a scalar"):
        cnp.polyint(t, 3, k=[1.0, 2.0])
    with pytest.raises(ValueError, match="one-dimensional"):
        cnp.vander(cr.tensor(np.ones((2, 2))))
    with pytest.raises(TypeError, match="same length"):
        cnp.polyfit(t, np.ones(3), 1)
    with pytest.raises(NotImplementedError, match="cov=True"):
        cnp.polyfit(np.arange(4.0), t, 1, cov=True)
    with pytest.raises(TypeError, match="poly1d"):
        cnp.polyval(np.poly1d([1.0, 2.0]), t)
    with pytest.warns(np.exceptions.RankWarning):
        cnp.polyfit(cr.tensor(np.ones(4)), np.arange(4.0), 2)


@pytest.mark.parametrize("in_axes", [(0, 0), (None, 0), (0, None), (1, -1)])
def test_polyval_under_vmap_equals_jax(in_axes):
    p = rng.normal(size=(4, 4) if in_axes[0] is not None else 4)
    x = rng.normal(size=(3, 4) if in_axes[1] == -1 else (4, 3))
    f = lambda L: (lambda p, x: L.polyval(p, x) ** 2)  # noqa: E731
    np.testing.assert_allclose(cr.vmap(f(cnp), in_axes=in_axes)(p, x), jax.vmap(f(jnp), in_axes=in_axes)(p, x),
                               atol=1e-12)
    g = cr.vmap(cr.grad(lambda p, x: cnp.sum(f(cnp)(p, x)), argnums=(0, 1)), in_axes=in_axes)(p, x)
    w = jax.vmap(jax.grad(lambda p, x: jnp.sum(f(jnp)(p, x)), argnums=(0, 1)), in_axes=in_axes)(p, x)
    for a, b in zip(g, w, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.parametrize("name", ["polyadd", "polymul", "polyder", "vander"])
def test_coefficient_functions_under_vmap_equal_jax(name):
    f, args, _ = CASES[name]
    batch = tuple(np.stack([a, a * 0.5 + 0.1, -a]) for a in args)
    np.testing.assert_allclose(cr.vmap(lambda *a: f(cnp, *a))(*batch), jax.vmap(lambda *a: f(jnp, *a))(*batch),
                               atol=1e-12)

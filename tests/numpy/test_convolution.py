"""convolve and correlate (chainrule/numpy/convolution.py): values equal NumPy's for every
mode and both length orders (complex too), derivatives against central finite differences
to second order in both modes, against jax.grad, and under cr.vmap against jax.vmap; the
primitive underneath (the full convolution with broadcast leading axes) on its own."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.numpy.convolution import convolve_full

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = pytest.importorskip("jax.numpy")

rng = np.random.default_rng(3)
LENGTHS = [(5, 3), (3, 5), (1, 4), (4, 4), (6, 1), (1, 1)]
MODES = ["full", "same", "valid"]


def value(t):
    return t.primal() if isinstance(t, cr.Tensor) else t


@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n,m", LENGTHS)
def test_values_and_derivatives(name, mode, n, m):
    a, v = rng.normal(size=n), rng.normal(size=m)
    f = getattr(cnp, name)
    want = getattr(np, name)(a, v, mode)
    got = value(f(cr.tensor(a), v, mode))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    if name == "convolve":
        np.testing.assert_array_equal(got, want)  # NumPy's own routine
    assert cr.gradcheck(lambda a, v: f(a, v, mode), a, v, order=2)
    jf = getattr(jnp, name)
    want = jax.grad(lambda a, v: jnp.sum(jnp.sin(jf(a, v, mode))), argnums=(0, 1))(a, v)
    got = cr.grad(lambda a, v: cnp.sum(cnp.sin(f(a, v, mode))), argnums=(0, 1))(a, v)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", MODES)
def test_complex_sequences(name, mode):
    a = rng.normal(size=5) + 1j * rng.normal(size=5)
    v = rng.normal(size=3) + 1j * rng.normal(size=3)
    f = getattr(cnp, name)
    np.testing.assert_allclose(value(f(cr.tensor(a), v, mode)), getattr(np, name)(a, v, mode),
                               rtol=1e-13)
    assert cr.gradcheck(lambda a, v: cnp.real(f(a, v, mode) * (1 - 2j)), a, v, order=2)
    # a real sequence beside a complex one gets a real gradient
    g = cr.grad(lambda r: cnp.sum(cnp.abs(f(r, v, mode)) ** 2))(a.real)
    assert g.dtype == np.float64


def test_modes_by_numpys_other_spellings_and_errors():
    a, v = cr.tensor(rng.normal(size=4)), rng.normal(size=2)
    for mode, canonical in (("FULL", "full"), ("s", "same"), (0, "valid"), (2, "full")):
        np.testing.assert_array_equal(value(cnp.convolve(a, v, mode)), np.convolve(a.primal(), v, canonical))
    with pytest.raises(ValueError, match="mode must be one of"):
        cnp.convolve(a, v, "middle")
    with pytest.raises(ValueError, match="v cannot be empty"):
        cnp.convolve(a, np.zeros(0))
    with pytest.raises(ValueError, match="a cannot be empty"):
        cnp.correlate(cr.tensor(np.zeros(0)), v)
    with pytest.raises(ValueError, match="1-D"):
        cnp.convolve(cr.tensor(np.ones((2, 2))), v)


def test_scalars_are_sequences_of_one_and_plain_arrays_are_numpy():
    assert np.array_equal(value(cnp.convolve(cr.tensor(2.0), [1.0, 3.0])), np.convolve(2.0, [1.0, 3.0]))
    assert cnp.convolve([1.0, 2.0], [3.0]).__class__ is np.ndarray


def test_float32_stays_float32():
    a, v = rng.normal(size=5).astype(np.float32), rng.normal(size=3).astype(np.float32)
    assert value(cnp.convolve(cr.tensor(a), v)).dtype == np.float32
    assert cr.grad(lambda a: cnp.sum(cnp.correlate(a, v, "same")))(a).dtype == np.float32


# -- the primitive: the full convolution, leading axes broadcast ----------------------------
@pytest.mark.parametrize("sa,sv", [((3, 5), (4,)), ((2, 1, 4), (3, 2)), ((6,), (2, 3, 2)), ((2, 3), (2, 3))])
def test_full_convolution_primitive(sa, sv):
    a, v = rng.normal(size=sa), rng.normal(size=sv)
    lead = np.broadcast_shapes(sa[:-1], sv[:-1])
    aa, vv = np.broadcast_to(a, lead + sa[-1:]), np.broadcast_to(v, lead + sv[-1:])
    want = np.array([np.convolve(x, y) for x, y in zip(aa.reshape(-1, sa[-1]), vv.reshape(-1, sv[-1]), strict=True)])
    np.testing.assert_allclose(value(convolve_full(cr.tensor(a), v)), want.reshape(lead + (-1,)), rtol=1e-13)
    assert cr.gradcheck(convolve_full, a, v, order=2)


# -- under vmap -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["convolve", "correlate"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shapes,in_axes", [
    (((4, 6), (4, 3)), 0), (((6, 4), (3,)), (1, None)), (((5,), (3, 4)), (None, -1)),
])
def test_vmap_equals_jax(name, mode, shapes, in_axes):
    a, v = (rng.normal(size=s) for s in shapes)
    f, jf = getattr(cnp, name), getattr(jnp, name)
    np.testing.assert_allclose(cr.vmap(lambda a, v: f(a, v, mode), in_axes=in_axes)(a, v),
                               jax.vmap(lambda a, v: jf(a, v, mode), in_axes=in_axes)(a, v), atol=1e-12)
    got = cr.vmap(cr.grad(lambda a, v: cnp.sum(cnp.tanh(f(a, v, mode))), argnums=(0, 1)), in_axes=in_axes)(a, v)
    want = jax.vmap(jax.grad(lambda a, v: jnp.sum(jnp.tanh(jf(a, v, mode))), argnums=(0, 1)), in_axes=in_axes)(a, v)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, atol=1e-12)

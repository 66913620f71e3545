"""ufunc methods on the mirror's binary ufuncs (chainrule/numpy/ufunc_methods.py):
``outer``, ``reduce`` and ``accumulate`` equal NumPy's, differentiate (finite differences
to second order, jax.grad), batch under cr.vmap, and ``np.add.outer(t, u)`` on Tensors
lands on them; heaviside and copysign against JAX at their kinks."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.numpy.elementwise import _UFUNCS

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = pytest.importorskip("jax.numpy")

rng = np.random.default_rng(2)
BINARY = sorted(p.__name__ for p in _UFUNCS if getattr(p.fun, "nin", 0) == 2 and p.__name__ != "ldexp")
POSITIVE = {"power", "float_power", "divide", "true_divide", "mod", "remainder", "fmod",
            "floor_divide", "arctan2", "hypot"}


def value(t):
    return t.primal() if isinstance(t, cr.Tensor) else t


def inputs(name, *shapes):
    low, high = (0.5, 2) if name in POSITIVE else (-2, 2)
    return tuple(rng.uniform(low, high, size=s) for s in shapes)


@pytest.mark.parametrize("name", BINARY)
def test_outer_equals_numpy_and_differentiates(name):
    a, b = inputs(name, (3,), (2, 4))
    f = getattr(cnp, name)
    want = getattr(np, name).outer(a, b)
    np.testing.assert_array_equal(value(f.outer(cr.tensor(a), b)), want)
    np.testing.assert_array_equal(value(getattr(np, name).outer(cr.tensor(a), cr.tensor(b))), want)
    if name not in ("mod", "remainder", "fmod"):  # jumps
        assert cr.gradcheck(f.outer, a, b, order=2)


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "power", "maximum", "arctan2"])
def test_outer_grad_equals_jax_and_batches(name):
    a, b = inputs(name, (4,), (3,))
    jf = getattr(jnp, name)
    jouter = lambda a, b: jf(a[:, None], b)  # noqa: E731  (not every jnp ufunc has .outer)
    want = jax.grad(lambda a, b: jnp.sum(jnp.sin(jouter(a, b))), argnums=(0, 1))(a, b)
    got = cr.grad(lambda a, b: cnp.sum(cnp.sin(getattr(cnp, name).outer(a, b))), argnums=(0, 1))(a, b)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, atol=1e-12)
    A, B = inputs(name, (5, 4), (3, 5))
    np.testing.assert_allclose(cr.vmap(getattr(cnp, name).outer, in_axes=(0, 1))(A, B),
                               jax.vmap(jouter, in_axes=(0, 1))(A, B), atol=1e-12)


METHODS = [("add", "reduce"), ("multiply", "reduce"), ("maximum", "reduce"), ("minimum", "reduce"),
           ("logaddexp", "reduce"), ("hypot", "reduce"), ("add", "accumulate"),
           ("multiply", "accumulate"), ("maximum", "accumulate"), ("minimum", "accumulate"),
           ("logaddexp", "accumulate")]


@pytest.mark.parametrize("name,method", METHODS)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_reduce_and_accumulate(name, method, axis):
    (x,) = inputs(name, (3, 4))
    f = getattr(getattr(cnp, name), method)
    want = getattr(getattr(np, name), method)(x, axis=axis)
    np.testing.assert_allclose(value(f(cr.tensor(x), axis=axis)), want, rtol=1e-14)
    np.testing.assert_allclose(value(getattr(getattr(np, name), method)(cr.tensor(x), axis=axis)), want,
                               rtol=1e-14)
    assert cr.gradcheck(lambda v: f(v, axis=axis), x, order=2)
    np.testing.assert_allclose(cr.vmap(lambda v: f(v, axis=axis))(np.stack([x, 2 * x])),
                               np.stack([want, getattr(getattr(np, name), method)(2 * x, axis=axis)]),
                               rtol=1e-13)


def test_reduce_forms_and_errors():
    x = rng.normal(size=(2, 3, 4))
    t = cr.tensor(x)
    for kw in ({"axis": None}, {"axis": (0, 2), "keepdims": True}, {"axis": 1, "initial": 5.0}):
        np.testing.assert_allclose(value(cnp.add.reduce(t, **kw)), np.add.reduce(x, **kw), rtol=1e-14)
    np.testing.assert_allclose(value(cnp.logaddexp.reduce(t, axis=(0, 2), keepdims=True)),
                               np.logaddexp.reduce(x, axis=(0, 2), keepdims=True), rtol=1e-14)
    with pytest.raises(ValueError, match="no identity"):
        cnp.arctan2.reduce(cr.tensor(np.zeros((0, 2))), axis=0)
    # as NumPy: an empty axis gives the ufunc's identity (logaddexp's -inf, hypot's 0), a
    # 0-d array itself; accumulate refuses a 0-d array and keeps an empty one
    for f, arg, kw in [("logaddexp.reduce", np.zeros((0, 2)), {"axis": 0}),
                       ("hypot.reduce", np.zeros((3, 0)), {"axis": None, "keepdims": True}),
                       ("subtract.reduce", np.array(1.5), {}), ("hypot.reduce", np.array(2.5), {"axis": None}),
                       ("maximum.accumulate", np.zeros((0, 3)), {}), ("add.accumulate", np.array(1.5), {}),
                       ("logaddexp.accumulate", np.zeros((2, 0)), {"axis": 1})]:
        ufunc, method = f.split(".")
        try:
            want = getattr(getattr(np, ufunc), method)(arg, **kw)
        except TypeError:
            with pytest.raises(TypeError, match="scalar"):
                cr.vjp(lambda a, m=method, u=ufunc, kw=kw: getattr(getattr(cnp, u), m)(a, **kw), arg)
            continue
        got = cr.vjp(lambda a, m=method, u=ufunc, kw=kw: getattr(getattr(cnp, u), m)(a, **kw), arg)[0]
        assert type(got) is type(want) and np.shape(got) == np.shape(want)
        np.testing.assert_array_equal(got, want)
    with pytest.raises(NotImplementedError, match="where="):
        cnp.logaddexp.reduce(t, where=x > 0)
    with pytest.raises(TypeError, match="out="):
        cnp.add.reduce(t, out=np.empty((3, 4)))
    assert cnp.add.outer([1.0], [2.0]).__class__ is np.ndarray  # plain arrays: NumPy's


@pytest.mark.parametrize("name", ["heaviside", "copysign"])
def test_steps_at_their_kinks_equal_jax(name):
    x = np.array([-1.5, 0.0, -0.0, 2.0, 0.0, 3.0])
    y = np.array([0.5, 0.25, -0.7, -0.0, 0.0, np.inf])
    np.testing.assert_array_equal(value(getattr(cnp, name)(cr.tensor(x), y)), getattr(np, name)(x, y))
    jf = getattr(jnp, name)
    y = np.where(np.isinf(y), 3.0, y)
    want = jax.grad(lambda x, y: jnp.sum(jnp.cos(jf(x, y))), argnums=(0, 1))(x, y)
    got = cr.grad(lambda x, y: cnp.sum(cnp.cos(getattr(cnp, name)(x, y))), argnums=(0, 1))(x, y)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, np.asarray(w))


UFUNC_NAMES = sorted(n for n in dir(np) if isinstance(getattr(np, n), np.ufunc))


@pytest.mark.parametrize("name", UFUNC_NAMES)
def test_every_ufunc_of_the_mirror_has_numpys_attributes_and_methods(name):
    """Code written for NumPy reads a ufunc's attributes and calls its methods on the
    mirror's function (``np.add.at`` raised AttributeError with chainrule.numpy as np)."""
    ours, theirs = getattr(cnp, name), getattr(np, name)
    for attribute in ("nin", "nout", "nargs", "identity", "ntypes", "types", "signature"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    for method in ("outer", "reduce", "accumulate", "reduceat", "at"):
        assert callable(getattr(ours, method)), method


def test_ufunc_methods_numpy_code_calls_on_plain_arrays():
    counts = np.zeros(4)
    cnp.add.at(counts, [0, 0, 3], 1.0)  # a histogram, NumPy's scatter-add idiom
    want = np.zeros(4)
    np.add.at(want, [0, 0, 3], 1.0)
    np.testing.assert_array_equal(counts, want)
    low = np.full(3, 9)
    cnp.minimum.at(low, [1, 1], [5, 3])
    np.testing.assert_array_equal(low, [9, 3, 9])
    np.testing.assert_array_equal(cnp.add.reduceat(np.arange(8), [0, 4, 5]), np.add.reduceat(np.arange(8), [0, 4, 5]))
    masks = [np.array([True, False, False]), np.array([False, False, True])]
    np.testing.assert_array_equal(cnp.logical_or.reduce(masks), np.logical_or.reduce(masks))
    np.testing.assert_array_equal(cnp.equal.outer([1, 2], [2, 1]), np.equal.outer([1, 2], [2, 1]))
    assert cnp.gcd.reduce([12, 18, 8]) == 2
    with pytest.raises(ValueError, match="binary"):
        cnp.sin.reduce([1.0])  # NumPy's own error
    # a Tensor: NumPy's ufunc.at writes in place, which a derivative cannot follow
    with pytest.raises(TypeError, match=r"add\.at writes .* chainrule\.at\(a\)\[indices\]\.add\(values\)"):
        cr.grad(lambda x: cnp.sum(cnp.add.at(np.zeros(3), [0, 0], x)))(np.ones(2))
    # the non-differentiable ufuncs' methods read a Tensor's values, as those functions do
    t = cr.tensor([True, False])
    np.testing.assert_array_equal(np.asarray(cnp.logical_and.reduce([t, cr.tensor([True, True])])), [True, False])

"""interp and trapezoid (chainrule/numpy/sampled.py): values equal NumPy's (sample points
hit exactly, outside the range, left/right, periodic, repeated sample points, complex
values), derivatives against central finite differences to second order away from the
kinks, against jax.grad at the kinks too, and under cr.vmap against jax.vmap."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = pytest.importorskip("jax.numpy")

rng = np.random.default_rng(5)
XP = np.sort(rng.uniform(-2, 2, size=7))
FP = np.sin(3 * XP)
X_SMOOTH = rng.uniform(-3, 3, size=9)  # away from the sample points (a.s.)
X_KNOTS = np.concatenate([XP, [XP[0] - 1, XP[-1] + 1, 0.3]])


def value(t):
    return t.primal() if isinstance(t, cr.Tensor) else t


INTERP = {
    "default": {},
    "left_right": {"left": -4.0, "right": 2.5},
    "period": {"period": 1.7},
}


@pytest.mark.parametrize("kw", INTERP.values(), ids=INTERP.keys())
@pytest.mark.parametrize("x", [X_SMOOTH, X_KNOTS, 0.25, np.array(0.5), X_KNOTS.reshape(2, 5)])
def test_interp_values_equal_numpy(x, kw):
    for args in ((cr.tensor(x), XP, FP), (x, cr.tensor(XP), FP), (x, XP, cr.tensor(FP))):
        want = np.interp(x, XP, FP, **kw)
        got = value(cnp.interp(*args, **kw))
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    for i in range(3):  # differentiated in each argument: NumPy's type (np.float64 for a scalar x)
        got = cr.vjp(lambda a, i=i: cnp.interp(*(x, XP, FP)[:i], a, *(x, XP, FP)[i + 1:], **kw),
                     (x, XP, FP)[i])[0]
        assert type(got) is type(want)


@pytest.mark.parametrize("kw", INTERP.values(), ids=INTERP.keys())
def test_interp_gradcheck_in_every_argument(kw):
    assert cr.gradcheck(lambda x, xp, fp: cnp.interp(x, xp, fp, **kw), X_SMOOTH, XP, FP, order=2)


def test_interp_gradcheck_in_left_and_right():
    x = np.array([-5.0, 0.1, 5.0])
    assert cr.gradcheck(lambda lo, hi: cnp.interp(x, XP, FP, left=lo, right=hi), -1.0, 2.0, order=2)


@pytest.mark.parametrize("kw", [{}, {"period": 1.7}], ids=["default", "period"])
def test_interp_grad_equals_jax_at_sample_points(kw):
    """At a sample point the derivative in x is the slope of the interval to the right."""
    want = jax.grad(lambda x, xp, fp: jnp.sum(jnp.interp(x, xp, fp, **kw) ** 2), argnums=(0, 1, 2))(X_KNOTS, XP, FP)
    got = cr.grad(lambda x, xp, fp: cnp.sum(cnp.interp(x, xp, fp, **kw) ** 2), argnums=(0, 1, 2))(X_KNOTS, XP, FP)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_interp_repeated_sample_points_and_nan_as_numpy():
    xp = np.array([0.0, 1.0, 1.0, 2.0, 3.0])
    fp = np.array([0.0, 1.0, 5.0, 2.0, np.inf])
    x = np.array([-1.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.interp(x, xp, fp)
        got = value(cnp.interp(cr.tensor(x), xp, fp))
    np.testing.assert_array_equal(got, want)


def test_interp_complex_values_and_one_sample_point():
    fp = FP + 1j * np.cos(XP)
    np.testing.assert_allclose(value(cnp.interp(cr.tensor(X_KNOTS), XP, fp)), np.interp(X_KNOTS, XP, fp), rtol=1e-14)
    assert cr.gradcheck(lambda f: cnp.real(cnp.interp(X_SMOOTH, XP, f) * (2 - 1j)), fp, order=2)
    x = np.array([-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(value(cnp.interp(cr.tensor(x), [0.0], [3.0])), np.interp(x, [0.0], [3.0]))


@pytest.mark.parametrize("args,match", [
    ((np.ones((2, 2)), np.ones((2, 2))), "1-D"),
    ((np.ones(3), np.ones(2)), "not of the same length"),
    ((np.ones(0), np.ones(0)), "empty"),
])
def test_interp_errors(args, match):
    with pytest.raises(ValueError, match=match):
        cnp.interp(cr.tensor(0.5), *args)
    with pytest.raises(ValueError, match="period must be a non-zero"):
        cnp.interp(cr.tensor(0.5), XP, FP, period=0)
    with pytest.raises(TypeError):  # NumPy cannot cast complex x to float64, nor can we
        np.interp(0.5 + 1j, XP, FP)
    with pytest.raises(TypeError, match="x must be real"):
        cnp.interp(cr.tensor(0.5 + 1j), XP, FP)


@pytest.mark.parametrize("in_axes", [(0, None, None), (None, 0, 0), (0, 0, 0), (1, None, 0)])
def test_interp_under_vmap_equals_jax(in_axes):
    b = 3
    x = rng.uniform(-3, 3, size=(b, 5) if in_axes[0] == 0 else (5, b) if in_axes[0] == 1 else 5)
    xp = np.sort(rng.uniform(-2, 2, size=(b, 6)), axis=-1) if in_axes[1] == 0 else XP
    fp = rng.normal(size=(b, shape[-1])) if in_axes[2] == 0 and (shape := np.shape(xp)) else FP
    if in_axes[2] == 0 and in_axes[1] is None:
        fp = rng.normal(size=(b, XP.shape[0]))
    np.testing.assert_allclose(cr.vmap(cnp.interp, in_axes=in_axes)(x, xp, fp),
                               jax.vmap(jnp.interp, in_axes=in_axes)(x, xp, fp), atol=1e-12)
    g = cr.vmap(cr.grad(lambda x, xp, fp: cnp.sum(cnp.interp(x, xp, fp) ** 2), argnums=(0, 1, 2)),
                in_axes=in_axes)(x, xp, fp)
    w = jax.vmap(jax.grad(lambda x, xp, fp: jnp.sum(jnp.interp(x, xp, fp) ** 2), argnums=(0, 1, 2)),
                 in_axes=in_axes)(x, xp, fp)
    for a, c in zip(g, w, strict=True):
        np.testing.assert_allclose(a, c, atol=1e-12)


# -- trapezoid ------------------------------------------------------------------------------
TRAPEZOID = [
    ((6,), {}),
    ((6,), {"dx": 0.3}),
    ((3, 5), {"axis": 0}),
    ((3, 5), {"x": np.linspace(0, 1, 5) ** 2}),
    ((3, 5), {"x": np.cumsum(rng.uniform(0.1, 1, size=(3, 5)), axis=1)}),
    ((2, 3, 4), {"axis": 1, "x": np.array([0.0, 0.5, 2.0])}),
    ((1,), {}),
    ((0,), {}),
]


@pytest.mark.parametrize("shape,kw", TRAPEZOID)
def test_trapezoid(shape, kw):
    y = rng.normal(size=shape)
    np.testing.assert_array_equal(value(cnp.trapezoid(cr.tensor(y), **kw)), np.trapezoid(y, **kw))
    if y.size:
        assert cr.gradcheck(lambda y: cnp.trapezoid(y, **kw), y, order=2)
    if "x" in kw:
        x = kw["x"]
        rest = {k: v for k, v in kw.items() if k != "x"}
        assert cr.gradcheck(lambda x: cnp.trapezoid(y, x, **rest), x, order=2)
        want = jax.grad(lambda y, x: jnp.sum(jnp.trapezoid(y, x, **rest) ** 2), argnums=(0, 1))(y, x)
        got = cr.grad(lambda y, x: cnp.sum(cnp.trapezoid(y, x, **rest) ** 2), argnums=(0, 1))(y, x)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, atol=1e-12)


def test_trapezoid_in_dx_and_under_vmap():
    y = rng.normal(size=(4, 6))
    assert cr.grad(lambda d: cnp.trapezoid(y[0], dx=d))(0.5) == pytest.approx(np.trapezoid(y[0]))
    for in_axes in (0, 1):
        np.testing.assert_allclose(cr.vmap(cnp.trapezoid, in_axes=in_axes)(y),
                                   jax.vmap(jnp.trapezoid, in_axes=in_axes)(y), atol=1e-12)
    x = np.cumsum(rng.uniform(0.1, 1, size=(4, 6)), axis=1)
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda y, x: cnp.trapezoid(cnp.sin(y), x), argnums=(0, 1)))(y, x),
                               jax.vmap(jax.grad(lambda y, x: jnp.trapezoid(jnp.sin(y), x), argnums=(0, 1)))(y, x),
                               atol=1e-12)

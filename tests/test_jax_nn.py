"""chainrule.jax_nn against jax.nn (x64): values and derivatives of every activation at
points that include the kinks and signed zeros, the reductions with axis= and where=,
one_hot, and initializers drawing JAX's weights from the same keys."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.jax_nn as C
from chainrule import random as R

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
Jn, jnp = jax.nn, jax.numpy

POINTS = np.array([-30.0, -3.0, -1.0, -1e-8, -0.0, 0.0, 0.5, 1.0, 3.0, 6.0, 7.0, 40.0])
ELEMENTWISE = ["relu", "relu6", "sigmoid", "softplus", "silu", "swish", "log_sigmoid", "leaky_relu", "elu", "celu",
               "selu", "gelu", "mish", "tanh", "hard_tanh", "hard_sigmoid", "hard_silu", "hard_swish", "soft_sign",
               "squareplus", "sparse_plus", "sparse_sigmoid", "identity"]


@pytest.mark.parametrize("name", [*ELEMENTWISE, "glu"])
def test_activations_of_integers_are_jaxs(name):
    """jax.nn keeps integers where it can (relu, hard_tanh), promotes them to floats, or
    refuses them (its logistic: sigmoid, silu, swish, glu) with a TypeError."""
    x = np.array([-3, -1, 0, 2, 7, 1])
    try:
        theirs = np.asarray(getattr(Jn, name)(jnp.asarray(x)))
    except TypeError:
        with pytest.raises(TypeError, match="logistic does not accept dtype int64"):
            getattr(C, name)(x)
        return
    ours = np.asarray(getattr(C, name)(x))
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-13)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_values_and_derivatives_are_jaxs(name):
    ours, theirs = getattr(C, name), getattr(Jn, name)
    np.testing.assert_allclose(ours(POINTS), np.asarray(theirs(jnp.asarray(POINTS))), rtol=1e-13, atol=1e-300)
    want = np.asarray(jax.vmap(jax.grad(theirs))(jnp.asarray(POINTS)))
    # (tanh's derivative is 1 - tanh², as PyTorch's; JAX's (1 - t)(1 + t) differs by an ulp of 1)
    np.testing.assert_allclose(cr.vmap(cr.grad(ours))(POINTS), want, rtol=1e-12, atol=3e-16)


@pytest.mark.parametrize("name, kwargs", [
    ("gelu", {"approximate": False}), ("leaky_relu", {"negative_slope": 0.2}), ("elu", {"alpha": 0.5}),
    ("celu", {"alpha": 2.0}),
])
def test_activation_arguments(name, kwargs):
    got = getattr(C, name)(POINTS, **kwargs)
    want = np.asarray(getattr(Jn, name)(jnp.asarray(POINTS), **kwargs))
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)  # (erf's far tail: both round to about 0)


X = np.random.default_rng(0).normal(size=(3, 4))
MASK = X > -0.3


@pytest.mark.parametrize("name, kwargs", [
    ("softmax", {}), ("softmax", {"axis": 0}), ("softmax", {"where": MASK}), ("log_softmax", {}),
    ("log_softmax", {"axis": (0, 1)}), ("log_softmax", {"where": MASK}), ("glu", {}),
    ("standardize", {}), ("logsumexp", {"axis": 1}), ("logmeanexp", {"axis": 0}),
])
def test_reductions_and_their_gradients(name, kwargs):
    ours, theirs = getattr(C, name), getattr(Jn, name)
    np.testing.assert_allclose(ours(X, **kwargs), np.asarray(theirs(jnp.asarray(X), **kwargs)), rtol=1e-12)
    w = np.linspace(-1, 1, ours(X, **kwargs).size).reshape(np.shape(ours(X, **kwargs)))
    g = cr.grad(lambda x: cr.numpy.sum(cr.numpy.where(np.isfinite(ours(X, **kwargs)), ours(x, **kwargs), 0.0) * w))(X)
    want = jax.grad(lambda x: jnp.sum(jnp.where(np.isfinite(ours(X, **kwargs)), theirs(x, **kwargs), 0.0) * w))(
        jnp.asarray(X))
    np.testing.assert_allclose(g, np.asarray(want), rtol=1e-10, atol=1e-14)


EDGES = np.array([[1.0, 2.0, -np.inf, 0.5], [-np.inf, -np.inf, -np.inf, -np.inf], [1e300, 1.0, 2.0, 3.0],
                  [0.3, -1.0, 2.0, 5.0]])
ROWS_MASK = np.array([[True, True, True, False], [True, True, False, False], [False, False, False, False],
                      [True, False, True, True]])
B = np.array([[1.0, 0.0, 2.0, 1.0], [1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, 1.0], [1.0, 1.0, -3.0, 0.0]])


@pytest.mark.parametrize("name, args, kwargs", [
    # a slice with nothing unmasked: zeros (softmax) and -inf (log_softmax), derivatives 0
    ("softmax", (EDGES,), {"where": ROWS_MASK}), ("log_softmax", (EDGES,), {"where": ROWS_MASK}),
    ("softmax", (EDGES,), {"axis": 0, "where": ROWS_MASK}), ("softmax", (EDGES,), {}),
    ("softmax", (np.zeros((2, 0)),), {}), ("log_softmax", (np.zeros((0, 3)),), {"axis": 0}),
    ("softmax", (np.array([1, 2, 3]),), {}),
    # terms with b = 0 are left out whatever their a; a negative sum is NaN without return_sign
    ("logsumexp", (EDGES,), {"axis": 1, "b": B}), ("logsumexp", (EDGES,), {"axis": 1, "b": B, "return_sign": True}),
    ("logsumexp", (EDGES,), {"axis": 0, "b": np.zeros(4)}), ("logsumexp", (np.zeros((2, 0)),), {"axis": 1}),
    ("logsumexp", (X,), {"axis": 1, "b": B[:3], "keepdims": True}), ("logsumexp", (X,), {"b": -1.0}),
])
def test_reductions_at_masked_empty_and_infinite_slices(name, args, kwargs):
    ours, theirs = getattr(C, name), getattr(Jn, name)
    got, want = ours(*args, **kwargs), theirs(*(jnp.asarray(a) for a in args), **kwargs)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want), strict=True):
        assert np.shape(g) == w.shape
        np.testing.assert_allclose(g, np.asarray(w), rtol=1e-12)
    if np.asarray(args[0]).dtype.kind != "f" or not np.asarray(args[0]).size:
        return
    first = lambda r: r[0] if isinstance(r, tuple) else r  # noqa: E731
    w = np.linspace(-1, 1, np.size(first(got))).reshape(np.shape(first(got)))
    keep = np.isfinite(first(got))
    g = cr.grad(lambda x: cr.numpy.sum(cr.numpy.where(keep, first(ours(x, **kwargs)), 0.0) * w))(args[0])
    want = jax.grad(lambda x: jnp.sum(jnp.where(keep, first(theirs(x, **kwargs)), 0.0) * w))(jnp.asarray(args[0]))
    np.testing.assert_allclose(g, np.asarray(want), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("labels, axis, dtype", [
    (np.array([0, 2, 5, -1]), -1, None), (np.array([[0, 1], [2, 0]]), 0, None),
    (np.array([[0, 1], [2, 0]]), 1, np.int32), (np.array(1), -1, np.float32),
])
def test_one_hot(labels, axis, dtype):
    got = C.one_hot(labels, 3, axis=axis, dtype=dtype)
    want = np.asarray(Jn.one_hot(jnp.asarray(labels), 3, axis=axis, dtype=dtype))
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name, args, shape", [
    (n, (), s) for n in ["glorot_uniform", "glorot_normal", "xavier_uniform", "lecun_uniform", "lecun_normal",
                         "he_uniform", "he_normal", "kaiming_normal"] for s in [(5, 4), (3, 3, 2, 6)]
] + [(n, a, s) for n, a in [("normal", ()), ("normal", (0.5,)), ("uniform", ()), ("truncated_normal", (0.1,)),
                             ("orthogonal", ()), ("orthogonal", (2.0, 0)), ("constant", (0.3,))]
     for s in [(4, 3), (3, 5), (2, 3, 4)]])
def test_initializers_draw_jaxs_weights(name, args, shape):
    got = getattr(C.initializers, name)(*args)(R.PRNGKey(2), shape)
    want = np.asarray(getattr(Jn.initializers, name)(*args)(jax.random.PRNGKey(2), shape))
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)


def test_variance_scaling_modes_axes_and_errors():
    for mode in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg"):
        for dist in ("truncated_normal", "normal", "uniform"):
            kw = dict(in_axis=(0, 1), out_axis=2, batch_axis=())
            got = C.initializers.variance_scaling(0.7, mode, dist, **kw)(R.PRNGKey(3), (2, 3, 4), np.float32)
            want = Jn.initializers.variance_scaling(0.7, mode, dist, **kw)(jax.random.PRNGKey(3), (2, 3, 4), np.float32)
            assert got.dtype == np.float32
            np.testing.assert_allclose(got, np.asarray(want), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="at least 2-d"):
        C.initializers.glorot_normal()(R.PRNGKey(0), (3,))
    with pytest.raises(ValueError, match="invalid mode"):
        C.initializers.variance_scaling(1.0, "fan_sideways", "normal")(R.PRNGKey(0), (2, 2))

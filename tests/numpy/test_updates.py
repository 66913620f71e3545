"""JAX's ``x.at[index]`` updates on Tensors (chainrule/numpy/shape/updates.py): values and
derivatives against JAX, finite differences in both modes, and the refusal of repeated
indices where the result would differ from JAX's."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = pytest.importorskip("jax.numpy")

rng = np.random.default_rng(4)
X = rng.normal(size=(4, 3))
V = rng.normal(size=(2, 3))
REPEATS = np.array([1, 1])

# name: update of (numpy module, x, v), as JAX users write it
UPDATES = {
    "set": lambda L, x, v: x.at[np.array([2, 0])].set(v),
    "set_slice_broadcast": lambda L, x, v: x.at[1:, ::2].set(v[0, 0] * 2),
    "add_repeated": lambda L, x, v: x.at[REPEATS].add(v * x[0]),
    "add_scalar_index": lambda L, x, v: x.at[3].add(v[1]),
    "subtract_tuple": lambda L, x, v: x.at[np.array([0, 3]), 1].subtract(v[:, 0]),
    "multiply": lambda L, x, v: x.at[2].multiply(v[0]),
    "divide_ellipsis": lambda L, x, v: x.at[..., 1].divide(v[:1, 2] + 3),
    "power": lambda L, x, v: x.at[:, 0].power(2),
    "min": lambda L, x, v: x.at[1].min(v[1]),
    "max_newaxis": lambda L, x, v: x.at[0, None].max(v[:1]),
    "apply": lambda L, x, v: x.at[np.array([3, 1])].apply(L.sin),
    "get": lambda L, x, v: x.at[REPEATS].get() * v,
}


@pytest.mark.parametrize("name", sorted(UPDATES))
def test_values_and_gradients_as_jax(name):
    f = UPDATES[name]
    want = f(jnp, jnp.asarray(X), jnp.asarray(V))
    got = f(cnp, cr.tensor(X), cr.tensor(V))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-15, atol=0)
    if name != "apply":  # (JAX does not differentiate .apply)
        want_g = jax.grad(lambda x, v: jnp.sum(jnp.sin(f(jnp, x, v))), argnums=(0, 1))(X, V)
        got_g = cr.grad(lambda x, v: cnp.sum(cnp.sin(f(cnp, x, v))), argnums=(0, 1))(X, V)
        for g, w in zip(got_g, want_g, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-15)
    assert cr.gradcheck(lambda x, v: f(cnp, _tensor(x), v), X, V + 0.1, order=2)


def _tensor(x):  # finite differences call with plain arrays, which have no .at
    return x if isinstance(x, cr.Tensor) else cr.tensor(x)


@pytest.mark.parametrize("update", ["multiply", "divide", "power", "min", "max"])
def test_repeated_indices_refused_where_jax_would_combine(update):
    with pytest.raises(NotImplementedError, match="may repeat"):
        getattr(cr.tensor(X).at[REPEATS], update)(2.0)
    with pytest.raises(NotImplementedError, match="may repeat"):  # each example two indices
        cr.vmap(lambda x, i: getattr(x.at[i], update)(2.0))(np.stack([X, X]), np.array([[0, 1], [2, 3]]))


def test_the_original_is_left_alone():
    x = cr.tensor(X)
    x.at[0].set(0.0)
    x.at[REPEATS].add(1.0)
    np.testing.assert_array_equal(x.numpy(), X)


def test_repeated_set_differentiates_only_the_write_that_stays():
    # x[[1, 1, 2]] = v keeps v[1] at position 1: v[0] has no derivative (finite differences)
    def f(L, x, v):
        x = x.at[np.array([1, 1, 2])].set(v) if L is cnp else _np_set(x, v)
        return L.sum(L.sin(x) * np.array([1.0, 2.0, 3.0]))

    def _np_set(x, v):
        x = x.copy()
        x[[1, 1, 2]] = v
        return x

    x, v = np.array([0.3, -0.2, 0.9]), np.array([0.4, 0.5, 0.6])
    got = cr.grad(lambda x, v: f(cnp, cr.tensor(x) if not isinstance(x, cr.Tensor) else x, v), argnums=(0, 1))(x, v)
    np.testing.assert_allclose(got[1], [0.0, 2 * np.cos(0.5), 3 * np.cos(0.6)], rtol=1e-15)
    np.testing.assert_allclose(got[0], [np.cos(0.3), 0.0, 0.0], rtol=1e-15)
    scalar = cr.grad(lambda s: cnp.sum(cr.tensor(x).at[np.array([1, 1])].set(s)))(2.0)
    assert scalar == 1.0  # one element holds s

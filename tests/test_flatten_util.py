"""chainrule.flatten_util.ravel_pytree against jax.flatten_util.ravel_pytree: the same
vector, the same pytree back (leaves, shapes, dtypes), derivatives through both ways, and
``unravel`` under vmap."""

import collections

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.flatten_util import ravel_pytree

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jfu = pytest.importorskip("jax.flatten_util")

State = collections.namedtuple("State", ["position", "momentum", "step"])
rng = np.random.default_rng(3)
TREES = {
    "dict with None": {"w": rng.normal(size=(2, 3)), "b": (rng.normal(size=3), None), "s": 0.5},
    "namedtuple of mixed dtypes": State(rng.normal(size=2), rng.normal(size=(2, 1)), np.array(3, np.int32)),
    "one scalar": np.array(1.5),
    "int32 and float32": [np.arange(3, dtype=np.int32), np.ones(2, np.float32)],
    "empty": {"a": None, "b": ()},
}


def assert_same_tree(got, want):
    got_leaves, got_tree = cr.tree_flatten(got)
    want_leaves, want_tree = jax.tree_util.tree_flatten(want)
    assert got_tree.num_leaves == want_tree.num_leaves
    if not isinstance(want, jax.Array):
        assert type(got).__name__ == type(want).__name__
    for g, w in zip(got_leaves, want_leaves, strict=True):
        assert np.asarray(g).dtype == np.asarray(w).dtype
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("name", TREES)
def test_ravel_pytree_is_jaxs(name):
    tree = TREES[name]
    flat, unravel = ravel_pytree(tree)
    want, jax_unravel = jfu.ravel_pytree(tree)
    # JAX promotes int32 and float32 to float32 (NumPy to float64), and its empty vector is
    # float32 (chainrule's float64, its default)
    if name not in ("int32 and float32", "empty"):
        assert flat.dtype == want.dtype
    np.testing.assert_array_equal(flat, want)
    assert_same_tree(unravel(flat * 2), jax_unravel((want * 2).astype(want.dtype)))
    with pytest.raises(ValueError, match="expected an array of shape"):
        unravel(np.zeros(flat.size + 1))


def test_ravel_pytree_differentiates_both_ways():
    tree = TREES["namedtuple of mixed dtypes"]

    def energy(L, fu, v):
        s = fu.ravel_pytree(tree)[1](v)
        return L.sum(s.position ** 2 * L.sin(s.momentum)) + L.sum(fu.ravel_pytree(s)[0] ** 3)

    v = ravel_pytree(tree)[0]
    np.testing.assert_allclose(cr.grad(lambda v: energy(cnp, cr.flatten_util, v))(v),
                               jax.grad(lambda v: energy(jax.numpy, jfu, v))(v), rtol=1e-13)
    unravel = ravel_pytree(TREES["dict with None"])[1]
    batch = rng.normal(size=(4, 10))
    got = cr.vmap(unravel)(batch)
    want = jax.vmap(jfu.ravel_pytree(TREES["dict with None"])[1])(batch)
    assert_same_tree(got, want)
    with pytest.raises(TypeError, match="expected dtype float64"):
        ravel_pytree(TREES["namedtuple of mixed dtypes"])[1](np.zeros(5, np.float32))

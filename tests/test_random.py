"""chainrule.random against jax.random (x64): the same keys give the same numbers, bit
for bit where the docstring says so and to a few ulps through erfinv, log and tan; and
the samplers work under vmap (over keys and seeds), jit and grad as JAX's do."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import random as R

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
J = jax.random
jnp = jax.numpy

SEED = 1234
P = np.array([0.1, 0.2, 0.3, 0.2, 0.2])
COV = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.5]])

EXACT = {
    "PRNGKey": lambda M: M.PRNGKey(SEED),
    "PRNGKey 64-bit": lambda M: M.PRNGKey(2**40 + 17),
    "PRNGKey negative": lambda M: M.PRNGKey(-5),
    "PRNGKey int32": lambda M: M.PRNGKey(np.int32(-5)),
    "split": lambda M: M.split(M.PRNGKey(SEED), 5),
    "split shape": lambda M: M.split(M.PRNGKey(SEED), (2, 3)),
    "split of split": lambda M: M.split(M.split(M.PRNGKey(SEED))[1]),
    "fold_in": lambda M: M.fold_in(M.PRNGKey(SEED), 7),
    "bits": lambda M: M.bits(M.PRNGKey(SEED), (3, 2)),
    "bits uint32": lambda M: M.bits(M.PRNGKey(SEED), (5,), np.uint32),
    "bits uint8": lambda M: M.bits(M.PRNGKey(SEED), (5,), np.uint8),
    "bits uint16 0-d": lambda M: M.bits(M.PRNGKey(SEED), (), np.uint16),
    "uniform": lambda M: M.uniform(M.PRNGKey(SEED), (4, 3)),
    "uniform float32 bounds": lambda M: M.uniform(M.PRNGKey(SEED), (1000,), np.float32, -2.0, 3.0),
    "uniform float64 bounds": lambda M: M.uniform(M.PRNGKey(SEED), (1000,), np.float64, -1e3, 7.5),
    "uniform float16": lambda M: M.uniform(M.PRNGKey(SEED), (9,), np.float16),
    # XLA rounds float16's multiply and add each, float32's and float64's fused ones once
    "uniform float16 bounds": lambda M: M.uniform(M.PRNGKey(SEED), (2000,), np.float16, -3.0, 5.5),
    "uniform float64 bounds rounded once": lambda M: M.uniform(M.PRNGKey(SEED), (20000,), np.float64, 0.1, 0.7),
    "uniform float32 bounds rounded once": lambda M: M.uniform(M.PRNGKey(SEED), (20000,), np.float32, -1e4, 3.3),
    "uniform array bounds": lambda M: M.uniform(M.PRNGKey(SEED), (2, 3), minval=np.array([0.0, 1.0, 2.0]), maxval=5.0),
    "uniform 0-d": lambda M: M.uniform(M.PRNGKey(SEED)),
    "uniform empty": lambda M: M.uniform(M.PRNGKey(SEED), (0, 3)),
    "randint": lambda M: M.randint(M.PRNGKey(SEED), (50,), 0, 10),
    "randint negative": lambda M: M.randint(M.PRNGKey(SEED), (20,), -1000, 7),
    "randint int32": lambda M: M.randint(M.PRNGKey(SEED), (20,), 3, 2**20, np.int32),
    "randint int8": lambda M: M.randint(M.PRNGKey(SEED), (20,), -5, 100, np.int8),
    "randint uint8 to 256": lambda M: M.randint(M.PRNGKey(SEED), (20,), 0, 256, np.uint8),
    "randint array bounds": lambda M: M.randint(M.PRNGKey(SEED), (2, 3), np.array([0, 10, 100]),
                                                np.array([5, 20, 1000])),
    "randint empty range": lambda M: M.randint(M.PRNGKey(SEED), (4,), 5, 5),
    # a span of 2**32 wraps to 0, which XLA's remainder leaves the bits alone by
    "randint uint32 full range": lambda M: M.randint(M.PRNGKey(SEED), (20,), 0, 2**32, np.uint32),
    "randint int32 full range": lambda M: M.randint(M.PRNGKey(SEED), (20,), -2**31, 2**31, np.int32),
    "bernoulli": lambda M: M.bernoulli(M.PRNGKey(SEED), 0.3, (10,)),
    "bernoulli p array": lambda M: M.bernoulli(M.PRNGKey(SEED), np.linspace(0, 1, 6)),
    "bernoulli high": lambda M: M.bernoulli(M.PRNGKey(SEED), 0.3, (10,), mode="high"),
    "rademacher": lambda M: M.rademacher(M.PRNGKey(SEED), (8,)),
    "categorical": lambda M: M.categorical(M.PRNGKey(SEED), np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]]))),
    "categorical shape": lambda M: M.categorical(M.PRNGKey(SEED), np.array([0.1, 2.0, -1.0]), shape=(4, 5)),
    "categorical axis 0": lambda M: M.categorical(M.PRNGKey(SEED), np.arange(6.0).reshape(3, 2), axis=0),
    "categorical without replacement": lambda M: M.categorical(M.PRNGKey(SEED), np.arange(6.0), shape=(3,),
                                                               replace=False),
    "permutation int": lambda M: M.permutation(M.PRNGKey(SEED), 10),
    "permutation rows": lambda M: M.permutation(M.PRNGKey(SEED), np.arange(12.0).reshape(4, 3)),
    "permutation independent": lambda M: M.permutation(M.PRNGKey(SEED), np.arange(12.0).reshape(4, 3), axis=1,
                                                       independent=True),
    "choice": lambda M: M.choice(M.PRNGKey(SEED), 10, (4,)),
    "choice without replacement": lambda M: M.choice(M.PRNGKey(SEED), np.arange(10.0) * 2, (4,), replace=False),
    "choice p": lambda M: M.choice(M.PRNGKey(SEED), 5, (6,), p=P),
    "choice p without replacement": lambda M: M.choice(M.PRNGKey(SEED), 5, (3,), replace=False, p=P),
    "choice axis 1": lambda M: M.choice(M.PRNGKey(SEED), np.arange(12).reshape(3, 4), (2,), axis=1),
}

CLOSE = {  # through erfinv, log, log1p, tan: XLA's own roundings
    "normal": lambda M: M.normal(M.PRNGKey(SEED), (2000,)),
    "normal complex": lambda M: M.normal(M.PRNGKey(SEED), (5,), np.complex128),
    "gumbel": lambda M: M.gumbel(M.PRNGKey(SEED), (6,)),
    "gumbel high": lambda M: M.gumbel(M.PRNGKey(SEED), (6,), mode="high"),
    "exponential": lambda M: M.exponential(M.PRNGKey(SEED), (50,)),
    "laplace": lambda M: M.laplace(M.PRNGKey(SEED), (50,)),
    "logistic": lambda M: M.logistic(M.PRNGKey(SEED), (50,)),
    "cauchy": lambda M: M.cauchy(M.PRNGKey(SEED), (50,)),
    "truncated_normal": lambda M: M.truncated_normal(M.PRNGKey(SEED), -1.0, 2.0, (60,)),
    "multivariate_normal": lambda M: M.multivariate_normal(M.PRNGKey(SEED), np.ones(3), COV, (4,)),
    "multivariate_normal eigh": lambda M: M.multivariate_normal(M.PRNGKey(SEED), np.ones(3), COV, (4,),
                                                                method="eigh"),
}


@pytest.mark.parametrize("name", sorted(EXACT))
def test_same_bits_as_jax(name):
    want, got = np.asarray(EXACT[name](J)), np.asarray(EXACT[name](R))
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", sorted(CLOSE))
def test_same_numbers_as_jax_to_rounding(name):
    want, got = np.asarray(CLOSE[name](J)), np.asarray(CLOSE[name](R))
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_float32_normal_within_four_ulps():
    want = np.asarray(J.normal(J.PRNGKey(7), (20000,), np.float32))
    got = np.asarray(R.normal(R.PRNGKey(7), (20000,), np.float32))
    assert got.dtype == np.float32
    assert (np.abs(got - want) <= 4 * np.spacing(np.abs(want))).all()


def test_erfinv_matches_jax_and_differentiates():
    x = np.concatenate([np.linspace(-1, 1, 2001), [np.nan, 1 - 1e-16, -1 + 1e-16]])
    want = np.asarray(jax.scipy.special.erfinv(jnp.asarray(x)))
    np.testing.assert_allclose(R.erfinv(x), want, rtol=1e-12, equal_nan=True)
    pts = np.array([-0.9, -0.3, 0.0, 0.5, 0.99])
    np.testing.assert_allclose(cr.elementwise_grad(R.erfinv)(pts),
                               np.asarray(jax.vmap(jax.grad(jax.scipy.special.erfinv))(jnp.asarray(pts))), rtol=1e-12)
    cr.gradcheck(R.erfinv, pts, order=2)


KEYS_J = J.split(J.PRNGKey(0), 4)
KEYS_C = R.split(R.PRNGKey(0), 4)
X = np.arange(12.0).reshape(4, 3)

TRANSFORMED = {
    "vmap normal over keys": (lambda: jax.vmap(lambda k: J.normal(k, (3,)))(KEYS_J),
                              lambda: cr.vmap(lambda k: R.normal(k, (3,)))(KEYS_C)),
    "vmap PRNGKey over seeds": (lambda: jax.vmap(J.PRNGKey)(jnp.arange(5)), lambda: cr.vmap(R.PRNGKey)(np.arange(5))),
    "vmap split": (lambda: jax.vmap(lambda k: J.split(k, 3))(KEYS_J), lambda: cr.vmap(lambda k: R.split(k, 3))(KEYS_C)),
    "vmap fold_in over data": (lambda: jax.vmap(lambda i: J.fold_in(J.PRNGKey(1), i))(jnp.arange(4)),
                               lambda: cr.vmap(lambda i: R.fold_in(R.PRNGKey(1), i))(np.arange(4))),
    "vmap fold_in over keys and data": (lambda: jax.vmap(J.fold_in)(KEYS_J, jnp.arange(4)),
                                        lambda: cr.vmap(R.fold_in)(KEYS_C, np.arange(4))),
    "vmap randint": (lambda: jax.vmap(lambda k: J.randint(k, (3,), 0, 100))(KEYS_J),
                     lambda: cr.vmap(lambda k: R.randint(k, (3,), 0, 100))(KEYS_C)),
    "vmap permutation": (lambda: jax.vmap(lambda k: J.permutation(k, 6))(KEYS_J),
                         lambda: cr.vmap(lambda k: R.permutation(k, 6))(KEYS_C)),
    "vmap categorical": (lambda: jax.vmap(J.categorical)(KEYS_J, jnp.log(jnp.ones((4, 3)) / 3)),
                         lambda: cr.vmap(R.categorical)(KEYS_C, np.log(np.ones((4, 3)) / 3))),
    "jit vmap dropout": (
        lambda: jax.jit(jax.vmap(lambda k, x: jnp.where(J.bernoulli(k, 0.8, x.shape), x / 0.8, 0)))(KEYS_J, X),
        lambda: cr.jit(cr.vmap(lambda k, x: cnp.where(R.bernoulli(k, 0.8, x.shape), x / 0.8, 0)))(KEYS_C, X)),
    "vmap of vmap": (lambda: jax.vmap(jax.vmap(lambda k: J.uniform(k, (2,))))(J.split(J.PRNGKey(3), (2, 3))),
                     lambda: cr.vmap(cr.vmap(lambda k: R.uniform(k, (2,))))(R.split(R.PRNGKey(3), (2, 3)))),
    "grad reparameterised": (
        lambda: jax.grad(lambda m, s: jnp.sum(m + s * J.normal(J.PRNGKey(2), (4,)) ** 2), argnums=(0, 1))(1.0, 2.0),
        lambda: cr.grad(lambda m, s: cnp.sum(m + s * R.normal(R.PRNGKey(2), (4,)) ** 2), argnums=(0, 1))(1.0, 2.0)),
    "grad uniform bounds": (
        lambda: jax.grad(lambda lo, hi: jnp.sum(J.uniform(J.PRNGKey(2), (4,), minval=lo, maxval=hi) ** 2),
                         argnums=(0, 1))(-1.0, 2.0),
        lambda: cr.grad(lambda lo, hi: cnp.sum(R.uniform(R.PRNGKey(2), (4,), minval=lo, maxval=hi) ** 2),
                        argnums=(0, 1))(-1.0, 2.0)),
    "grad multivariate_normal cov": (
        lambda: jax.grad(lambda c: jnp.sum(J.multivariate_normal(J.PRNGKey(2), jnp.zeros(3), c) ** 2))(COV),
        lambda: cr.grad(lambda c: cnp.sum(R.multivariate_normal(R.PRNGKey(2), np.zeros(3), c) ** 2))(COV)),
    "grad truncated_normal bound": (
        lambda: jax.grad(lambda a: jnp.sum(J.truncated_normal(J.PRNGKey(2), a, 2.0, (5,))))(-0.5),
        lambda: cr.grad(lambda a: cnp.sum(R.truncated_normal(R.PRNGKey(2), a, 2.0, (5,))))(-0.5)),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMED))
def test_under_transforms_as_jax(name):
    theirs, ours = TRANSFORMED[name]
    for w, g in zip(jax.tree_util.tree_leaves(theirs()), cr.tree_leaves(ours()), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-12, atol=1e-14)


def test_uniform_with_traced_bounds_gives_jax_bits():
    lo, hi = np.array([0.1, -0.5, 0.3]), np.array([[0.7], [2.0]])
    want = np.asarray(J.uniform(J.PRNGKey(SEED), (2000, 2, 3), minval=lo, maxval=hi))
    got = cr.jit(lambda k, a, b: R.uniform(k, (2000, 2, 3), minval=a, maxval=b))(R.PRNGKey(SEED), lo, hi)
    np.testing.assert_array_equal(got, want)
    los = np.linspace(-1.0, 0.5, 4)
    want = np.asarray(jax.vmap(lambda a: J.uniform(J.PRNGKey(SEED), (3000,), np.float32, a, 3.3))(los))
    got = cr.vmap(lambda a: R.uniform(R.PRNGKey(SEED), (3000,), np.float32, a, 3.3))(los)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)
    # the fused multiply-add's derivatives, in both modes
    f = lambda a, b: cnp.sum(R.uniform(R.PRNGKey(SEED), (2, 3), minval=a, maxval=b) ** 2)  # noqa: E731
    fj = lambda a, b: jnp.sum(J.uniform(J.PRNGKey(SEED), (2, 3), minval=a, maxval=b) ** 2)  # noqa: E731
    for g, w in zip(cr.grad(f, (0, 1))(lo, hi), jax.grad(fj, (0, 1))(lo, hi), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-13)
    tangents = (np.ones(3), np.ones((2, 1)))
    np.testing.assert_allclose(cr.jvp(f, (lo, hi), tangents)[1], jax.jvp(fj, (lo, hi), tangents)[1], rtol=1e-13)


def test_jit_replays_draws_for_each_new_key():
    f = cr.jit(lambda k, x: x + R.normal(k, (3,)))
    for seed in range(4):
        np.testing.assert_allclose(f(R.PRNGKey(seed), np.zeros(3)), np.asarray(J.normal(J.PRNGKey(seed), (3,))),
                                   rtol=1e-12)
    assert len(f.programs) == 1


def test_a_jax_training_loop_runs_unchanged_and_agrees():
    """The MLP of JAX's tutorial: keys for the initial weights, vmap'ed predictions,
    logsumexp, a jitted SGD update; the same loss and gradients as JAX's."""
    from chainrule.scipy.special import logsumexp as cr_logsumexp

    def program(random, np_, grad, jit, vmap, logsumexp):
        def init(sizes, key):
            keys = random.split(key, len(sizes))
            return [(0.1 * random.normal(k1, (n, m)), 0.1 * random.normal(k2, (n,)))
                    for m, n, k in zip(sizes[:-1], sizes[1:], keys, strict=False)
                    for k1, k2 in [random.split(k)]]

        def predict(params, x):
            for w, b in params[:-1]:
                x = np_.maximum(0, np_.dot(w, x) + b)
            w, b = params[-1]
            logits = np_.dot(w, x) + b
            return logits - logsumexp(logits)

        def loss(params, xs, ys):
            return -np_.mean(vmap(predict, in_axes=(None, 0))(params, xs) * ys)

        @jit
        def update(params, xs, ys):
            g = grad(loss)(params, xs, ys)
            return [(w - 0.05 * dw, b - 0.05 * db) for (w, b), (dw, db) in zip(params, g, strict=True)]

        key = random.PRNGKey(0)
        params = init([8, 16, 3], key)
        kx, ky = random.split(random.fold_in(key, 1))
        xs = random.normal(kx, (32, 8))
        ys = np_.eye(3)[random.randint(ky, (32,), 0, 3)]
        for _ in range(3):
            params = update(params, xs, ys)
        return loss(params, xs, ys), grad(loss)(params, xs, ys)

    want = program(J, jnp, jax.grad, jax.jit, jax.vmap, jax.scipy.special.logsumexp)
    got = program(R, cnp, cr.grad, cr.jit, cr.vmap, cr_logsumexp)
    for w, g in zip(jax.tree_util.tree_leaves(want), cr.tree_leaves(got), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-10)


def test_errors_say_what_to_do():
    key = R.PRNGKey(0)
    with pytest.raises(TypeError, match="seed must be an integer"):
        R.PRNGKey(1.5)
    with pytest.raises(TypeError, match="scalar seed"):
        R.PRNGKey(np.arange(3))
    with pytest.raises(ValueError, match="single key.*vmap"):
        R.normal(R.split(key, 3), (2,))
    with pytest.raises(TypeError, match="uint32 array of shape"):
        R.uniform(np.zeros(2), (2,))
    with pytest.raises(ValueError, match="must broadcast to the shape argument"):
        R.uniform(key, (3,), minval=np.zeros(4))
    with pytest.raises(ValueError, match="floating-point"):
        R.uniform(key, (2,), np.int32)
    with pytest.raises(TypeError, match="integer dtype"):
        R.randint(key, (2,), 0, 3, np.float32)
    with pytest.raises(ValueError, match="larger sample"):
        R.choice(key, 3, (5,), replace=False)
    with pytest.raises(AttributeError, match="rejection sampling"):
        R.gamma  # noqa: B018
    with pytest.raises(ValueError, match="threefry2x32"):
        R.key(0, impl="rbg")


def test_torch_random_names_seed_chainrules_global_generator():
    # PyTorch programs that seed through torch.random: torch.R.manual_seed(0)
    torch = pytest.importorskip("torch")
    for name in ("manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "fork_rng"):
        assert hasattr(torch.random, name)
    R.manual_seed(5)
    a = cr.rand(3).tolist()
    cr.manual_seed(5)
    assert cr.rand(3).tolist() == a and R.initial_seed() == 5
    with R.fork_rng():
        inside = cr.randn(2).tolist()
    assert cr.randn(2).tolist() == inside
    saved = R.get_rng_state()
    b = cr.rand(2).tolist()
    R.set_rng_state(saved)
    assert cr.rand(2).tolist() == b

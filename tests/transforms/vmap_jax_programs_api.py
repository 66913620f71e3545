"""Programs for the table of ``vmap_jax_programs`` that reach the corners of JAX's API:
``logsumexp`` with signs, indexed updates that combine repeated updates, ``.at`` on a
freshly made array, ``size=`` for functions whose output length depends on the values,
``eigh``'s derivative, and special functions and distributions of ``jax.scipy``.

``L.at(x)`` is ``x.at`` in JAX and ``chainrule.at(x)`` in chainrule (a plain NumPy array,
which ``chainrule.numpy``'s creation functions return, has no ``.at``).
"""

from __future__ import annotations

import numpy as np
from vmap_jax_programs import program

API_PROGRAMS: list = []


def api_program(make_args):
    """Register in the shared table and in this module's list (run without JAX too)."""

    def register(fn):
        API_PROGRAMS.append(fn.__name__)
        return program(make_args)(fn)

    return register


def _normal(*ss):
    return lambda rng: tuple(rng.normal(size=s) for s in ss)


# -- logsumexp(..., return_sign=True) -------------------------------------------------------------
def _lse_args(rng):
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    b[0, 1] = 0.0  # a zero weight: that entry counts for nothing
    a[1, 2] = -np.inf
    return a, b


@api_program(_lse_args)
def logsumexp_return_sign(L, a, b):
    return L.vmap(lambda a, b: L.special.logsumexp(a, b=b, return_sign=True))(a, b)


@api_program(_lse_args)
def logsumexp_return_sign_axis_keepdims(L, a, b):
    f = lambda a, b: L.special.logsumexp(a, axis=0, b=b, keepdims=True, return_sign=True)  # noqa: E731
    return L.vmap(f, in_axes=(1, None))(a, b[:, 0])


@api_program(_lse_args)
def grad_of_logsumexp_return_sign(L, a, b):
    f = lambda a, b: L.special.logsumexp(a, b=b, return_sign=True)[0]  # noqa: E731
    ga, gb = L.vmap(L.grad(f, argnums=(0, 1)))(a, b)
    # at a zero weight JAX's derivative in b is 0, but log|sum b e^a| is smooth there and its
    # derivative is that term's (tests/scipy/test_special.py checks it by differences)
    return ga, gb * (b != 0)


# -- .at[] with repeated indices -------------------------------------------------------------------
def _repeats(rng):
    x, v = rng.normal(size=(4, 5)), rng.normal(size=(4, 3))
    i = np.array([[0, 0, 2], [1, 1, 1], [4, 3, 4], [0, 1, 2]])
    v[1, 2] = v[1, 0]  # two updates tie for the maximum
    x[2, 4] = max(v[2, 0], v[2, 2])  # and an element ties with its update
    return x, v, i


@api_program(_repeats)
def at_max_min_repeated_batched_index(L, x, v, i):
    return L.vmap(lambda x, v, i: (L.at(x)[i].max(v), L.at(x)[i].min(v), L.at(x)[i].multiply(v)))(x, v, i)


@api_program(_repeats)
def at_divide_power_repeated_batched_index(L, x, v, i):
    f = lambda x, v, i: (L.at(x)[i].divide(v), L.at(L.np.abs(x))[i].power(v))  # noqa: E731
    return L.vmap(f)(x, v + 3.0, i)


@api_program(_repeats)
def grad_of_at_max_min_repeated(L, x, v, i):
    def f(x, v, i):
        return L.np.sum(L.np.sin(L.at(x)[i].max(v)) + L.np.cos(L.at(x)[i].min(v)) ** 2)

    return L.vmap(L.grad(f, argnums=(0, 1)))(x, v, i)


@api_program(_repeats)
def at_max_repeated_unbatched_index(L, x, v, i):
    return L.vmap(lambda x, v: L.at(x)[np.array([3, 3, 0])].max(v))(x, v)


# -- .at on an array made inside the function ---------------------------------------------------------
@api_program(lambda rng: (rng.normal(size=(4, 3)), np.array([0, 2, 1, 1])))
def at_on_a_new_array(L, x, k):
    def f(x, k):
        z = L.np.zeros(3)
        return L.at(z)[k].set(x[0]), L.at(z)[k].add(x[1]), L.at(L.np.ones((2, 3)))[:, k].max(x[:2])

    return L.vmap(f)(x, k)


@api_program(lambda rng: (rng.normal(size=(4, 3)), np.array([0, 2, 1, 1])))
def grad_of_at_on_a_new_array(L, x, k):
    def f(x, k):
        return L.np.sum(L.np.tanh(L.at(L.np.zeros((3, 3)))[k, k].set(x[0] * x[1]) @ x))

    return L.vmap(L.grad(f))(x, k)


# -- eigh's derivative: that of the symmetrised input, as JAX's --------------------------------------
def _spd_batch(rng):
    a = rng.normal(size=(4, 3, 3))
    return (a @ np.swapaxes(a, 1, 2) + np.eye(3),)


def _eigh_loss(L):
    def f(m):
        w, v = L.np.linalg.eigh(m)
        return L.np.sum(w ** 3) + L.np.sum(L.np.abs(v) * L.np.arange(3.0))
    return f


@api_program(_spd_batch)
def grad_of_eigh_is_symmetric(L, m):
    return L.vmap(L.grad(_eigh_loss(L)))(m)


@api_program(_spd_batch)
def hessian_of_eigvalsh(L, m):
    return L.vmap(L.jacfwd(L.grad(lambda m: L.np.sum(L.np.linalg.eigvalsh(m) ** 3))))(m)


@api_program(_spd_batch)
def jacrev_of_eigh_vectors(L, m):
    return L.vmap(L.jacrev(lambda m: L.np.abs(L.np.linalg.eigh(m)[1][:, -1])))(m)


# -- special functions and distributions of jax.scipy ------------------------------------------------
def _positive_pairs(rng):
    p, q = rng.uniform(0.2, 2.0, size=(5, 3)), rng.uniform(0.2, 2.0, size=(5, 3))
    p[0, 0], q[1, 1], p[2, 2], q[2, 2] = 0.0, 0.0, -1.0, 0.5  # SciPy's constants there
    return p, q


@api_program(_positive_pairs)
def relative_entropies_and_gradients(L, p, q):
    def f(p, q):
        return L.np.sum(L.special.rel_entr(p, q) + 2 * L.special.kl_div(p, q)
                        + L.special.xlog1py(p, q) + L.special.entr(q))

    return (L.vmap(lambda p, q: L.special.kl_div(p, q))(p, q),
            L.vmap(L.grad(f, argnums=(0, 1)))(p[3:], q[3:]))


@api_program(lambda rng: (rng.uniform(1.5, 6.0, size=(5, 2)), rng.uniform(0.3, 3.0, size=5)))
def hurwitz_zeta_derivatives(L, x, q):
    def f(x, q):
        return L.np.sum(L.special.zeta(x, q) ** 2)

    return (L.vmap(lambda x, q: L.special.zeta(x, q), in_axes=(1, None))(x, q),
            L.vmap(L.grad(f, argnums=(0, 1)))(x, q))


_DISTRIBUTIONS = {"laplace": ("logpdf", "pdf", "cdf"),
                  "logistic": ("logpdf", "pdf", "cdf", "sf", "ppf", "isf"),
                  "cauchy": ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"),
                  "expon": ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf")}


def _dist_args(rng):
    x = rng.uniform(-2.0, 3.0, size=(4, 3))
    x[0, 0] = -0.25  # expon: below loc
    return x, rng.uniform(0.1, 0.9, size=(4, 3)), rng.uniform(-0.2, 0.2, size=4), rng.uniform(0.5, 2, size=4)


@api_program(_dist_args)
def distributions_batched_in_every_parameter(L, x, u, loc, scale):
    def f(x, u, loc, scale):
        return {f"{d}.{fn}": getattr(getattr(L.stats, d), fn)(u if fn in ("ppf", "isf") else x, loc, scale)
                for d, fns in _DISTRIBUTIONS.items() for fn in fns}

    return L.vmap(f)(x, u, loc, scale)


@api_program(_dist_args)
def distribution_gradients_in_every_parameter(L, x, u, loc, scale):
    def f(x, u, loc, scale):
        s = L.stats
        return L.np.sum(s.laplace.logpdf(x, loc, scale) + s.laplace.cdf(x, loc, scale)
                        + s.logistic.logpdf(x, loc, scale) + s.logistic.ppf(u, loc, scale)
                        + s.cauchy.logcdf(x, loc, scale) + s.cauchy.isf(u, loc, scale)
                        + s.expon.cdf(x, loc, scale) + s.expon.logsf(x, loc, scale))

    return L.vmap(L.grad(f, argnums=(0, 1, 2, 3)))(x, u, loc, scale)


# -- size=: a fixed number of results where it depends on the values -----------------------------------
def _with_repeats(rng):
    x = rng.integers(0, 3, size=(4, 5)).astype(float)
    x[1] = 2.0  # one value only
    x[2, :2] = np.nan
    return (x,)


@api_program(_with_repeats)
def unique_with_size(L, x):
    def f(x):
        return (L.np.unique(x, size=3), L.np.unique(x, size=6, fill_value=-1.0),
                L.np.unique(x, size=4, fill_value=0.5, return_index=True, return_inverse=True,
                            return_counts=True))

    return L.vmap(f)(x)


@api_program(lambda rng: (rng.integers(0, 4, size=(4, 6)).astype(float) + rng.normal(size=(4, 6)) * 0,))
def grad_through_unique_with_size(L, x):
    def f(x):
        return L.np.sum(L.np.unique(x, size=3) ** 2 * L.np.arange(3.0)) + L.np.sum(
            L.np.unique(x * 2, size=5, fill_value=1.0) ** 3)

    return L.vmap(L.grad(f))(x)


@api_program(lambda rng: (rng.integers(-1, 2, size=(5, 2, 3)),))
def nonzero_family_with_size(L, m):
    def f(m):
        return (L.np.nonzero(m, size=4), L.np.nonzero(m, size=2, fill_value=(-1, -2)),
                L.np.flatnonzero(m, size=3, fill_value=9), L.np.argwhere(m > 0, size=4),
                L.np.argwhere(m, size=7, fill_value=-1), L.np.where(m < 0, size=3, fill_value=0))

    return L.vmap(f)(m)


@api_program(lambda rng: (rng.normal(size=(5, 6)),))
def gather_by_nonzero_with_size(L, x):
    def f(x):
        (i,) = L.np.nonzero(x > 0, size=3, fill_value=0)
        return L.np.sum(x[i] ** 2)

    return L.vmap(L.grad(f))(x), L.vmap(L.jacrev(lambda x: x[L.np.flatnonzero(x < 0, size=2)]))(x)


# -- bincount's length and quantiles at batched q ----------------------------------------------------
@api_program(lambda rng: (rng.integers(0, 5, size=(4, 6)), rng.normal(size=(4, 6))))
def bincount_with_length(L, k, w):
    def f(k, w):
        return L.np.bincount(k, length=4), L.np.bincount(k, weights=w, length=3)

    return L.vmap(f)(k, w), L.vmap(L.grad(lambda w, k: L.np.sum(f(k, w)[1] ** 2)))(w, k)


@api_program(lambda rng: (rng.normal(size=(4, 6)), rng.uniform(size=(4, 2))))
def quantiles_at_batched_q(L, x, q):
    def f(x, q):
        return L.np.quantile(x, q), L.np.percentile(x, 100 * q[0], method="nearest"), L.np.nanquantile(x, q[1])

    return L.vmap(f)(x, q), L.vmap(L.grad(lambda x, q: L.np.sum(f(x, q)[0]), argnums=(0, 1)))(x, q)


# -- jax.nn spellings on chainrule.nn.functional ------------------------------------------------------
@api_program(lambda rng: (rng.normal(size=(4, 5)), rng.integers(0, 5, size=(4, 2))))
def one_hot_of_batched_labels(L, x, k):
    def loss(x, k):
        return -L.np.sum(L.nn.one_hot(k[0], 5, dtype=np.float64) * L.nn.log_softmax(x))

    return (L.vmap(lambda k: L.nn.one_hot(k, 5, dtype=np.float64, axis=0))(k),
            L.vmap(L.grad(loss))(x, k), L.vmap(lambda v: L.nn.gelu(v, approximate=True))(x))


@api_program(_dist_args)
def more_distributions_and_gradients(L, x, u, loc, scale):
    def f(x, u, loc, scale):
        s = L.stats
        return (s.uniform.logpdf(x, loc - 2.0, scale + 4.0), s.uniform.cdf(x, loc, scale),
                s.uniform.ppf(u, loc, scale), s.pareto.logpdf(L.np.abs(x) + 1.2, scale + 1.0),
                s.pareto.cdf(L.np.abs(x) + 1.2, scale + 1.0), s.gumbel_r.logpdf(x, loc, 1.5),
                s.gumbel_r.cdf(x, loc, 1.5), s.gumbel_l.logpdf(x, loc, 1.5),
                s.gumbel_l.cdf(x, loc, 1.5),
                s.bernoulli.logpmf(L.np.array([0.0, 1.0, 1.0]), u), s.geom.logpmf(L.np.array([1.0, 3.0, 2.0]), u))

    def total(x, u, loc, scale):
        return sum(L.np.sum(L.np.where(L.np.isfinite(v), v, 0.0)) for v in f(x, u, loc, scale))

    # (JAX's Gumbel functions cannot be differentiated in scale, nor its gumbel_r.ppf at all)
    return (L.vmap(f)(x, u, loc, scale), L.vmap(L.stats.gumbel_r.ppf)(u, loc, scale),
            L.vmap(L.grad(total, argnums=(0, 1, 2, 3)))(x, u, loc, scale))


# -- jax.nn's activations and reductions, with their derivatives at the kinks ---------------------------
_JAX_NN = ("log_sigmoid", "soft_sign", "swish", "hard_tanh", "hard_sigmoid", "hard_silu", "hard_swish",
           "squareplus", "sparse_plus", "sparse_sigmoid", "identity")


def _with_kinks(rng):
    x = rng.normal(scale=3.0, size=(4, 8))
    x[0] = [-1.0, 1.0, 0.0, 6.0, -3.0, 3.0, np.log(2.0), -6.0]
    return x, rng.normal(size=(4, 8)) > -0.8


@api_program(_with_kinks)
def jax_nn_activations_and_reductions(L, x, m):
    def f(x, m):
        out = {n: getattr(L.nn, n)(x) for n in _JAX_NN}
        return {**out, "log1mexp": L.nn.log1mexp(L.np.abs(x) + 0.01), "logsumexp": L.nn.logsumexp(x),
                "lse_where": L.nn.logsumexp(x, where=m),
                "lse_sign": L.nn.logsumexp(x, b=L.np.where(m, 1.0, -0.5), return_sign=True),
                "logmeanexp": L.nn.logmeanexp(x, where=m, keepdims=True),
                "standardize": L.nn.standardize(x), "standardize_where": L.nn.standardize(x, where=m),
                "standardize_given": L.nn.standardize(x, mean=0.5, variance=2.0)}

    def loss(x, m):
        return (L.np.sum(L.nn.standardize(x) ** 3) + L.nn.logsumexp(x * 0.5)
                + L.nn.logmeanexp(x, where=m) + L.np.sum(L.nn.log1mexp(x * x + 0.01)))

    per_entry = {n: L.vmap(L.vmap(L.grad(getattr(L.nn, n))))(x) for n in _JAX_NN}
    return L.vmap(f)(x, m), per_entry, L.vmap(L.grad(loss))(x, m)


# -- the Poisson entropy in each of JAX's regimes (summed below 10 and 100, asymptotic above) ----------
@api_program(lambda rng: (np.array([0.0, 0.5, 3.0, 9.99, 10.0, 50.0, 99.9, 100.0, 150.0, 1000.0]),))
def poisson_entropy_in_every_regime(L, mu):
    positive = mu[1:-1]  # (JAX's derivative at 1000 is nan, from the summed regimes it does not use)
    return (L.vmap(L.stats.poisson.entropy)(mu), L.stats.poisson.entropy(mu),
            L.stats.poisson.entropy(mu[:3], L.np.zeros((2, 1))), L.stats.poisson.entropy(L.np.array([1, 5, 200])),
            L.vmap(L.grad(L.stats.poisson.entropy))(positive),
            L.vmap(L.vmap(L.stats.poisson.entropy))(positive.reshape(2, 4)))

"""More programs for the table of ``vmap_jax_programs``: empty batches (a batch of size 0
and 1 through every kind of rule, and through the per-example fallback), traced
arguments where NumPy takes plain numbers, and other edges JAX users reach."""

from __future__ import annotations

from functools import partial

import numpy as np
from vmap_jax_programs import program, shapes


def _many_kinds(L, x, i, m):
    """One call of each kind of batching rule (and two that run per example)."""
    eye = L.np.eye(3)
    return (x[i], L.np.take(x, i), x.at[i].set(1.0), x.at[i].add(x[0]), L.np.sort(x), L.np.argsort(x),
            L.np.cumsum(x), L.np.cumsum(x.reshape(5, 1)), L.np.argmax(x.reshape(5, 1)),
            L.np.linalg.inv(m + 5 * eye), L.np.linalg.eigh(m + m.T)[0], L.np.where(x > 0, x, 0.0),
            L.np.pad(x, 1, constant_values=x[0]), L.np.fft.fft(x), L.np.einsum("ij,j->i", m, x[:3]),
            L.np.linalg.svd(m, compute_uv=False), L.np.linalg.det(m), L.np.convolve(x, x[:2]),
            L.np.linalg.norm(x), L.np.linalg.norm(m), L.np.outer(x, x[:2]), L.np.vdot(m, m),
            x.reshape(-1, 1), m.reshape(-1), L.np.roll(m, 1), L.np.roll(x, i),
            L.np.take_along_axis(x, L.np.argsort(x), axis=0), L.np.linalg.solve(m + 5 * eye, x[:3]),
            m.at[i % 3, :].set(x[:3]), m.at[:, i % 3].add(1.0))


def _batch_of(n):
    return lambda rng: (rng.normal(size=(n, 5)), rng.integers(-5, 5, size=n), rng.normal(size=(n, 3, 3)))


@program(_batch_of(0))
def empty_batch_every_kind(L, x, i, m):
    return L.vmap(lambda x, i, m: _many_kinds(L, x, i, m))(x, i, m)


@program(_batch_of(1))
def batch_of_one_every_kind(L, x, i, m):
    return L.vmap(lambda x, i, m: _many_kinds(L, x, i, m))(x, i, m)


@program(_batch_of(4))
def batch_every_kind(L, x, i, m):
    return L.vmap(lambda x, i, m: _many_kinds(L, x, i, m))(x, i, m)


@program(lambda rng: (rng.normal(size=(0, 5)),))
def empty_batch_derivatives(L, x):
    p = {"w": np.ones((5, 2)), "b": np.zeros(2)}
    f = lambda p, x: L.np.sum(L.np.tanh(x @ p["w"] + p["b"]))  # noqa: E731
    return (L.vmap(L.grad(f), in_axes=(None, 0))(p, x), L.vmap(L.grad(f, argnums=1), in_axes=(None, 0))(p, x),
            L.vmap(L.jacrev(L.np.sin))(x), L.vmap(L.jacfwd(L.np.sin))(x),
            L.vmap(lambda v: L.np.outer(v, v), out_axes=1)(x), L.jit(L.vmap(L.np.sum))(x),
            L.grad(lambda x: L.np.sum(L.vmap(lambda v: L.np.sum(L.np.roll(v, 1) ** 2))(x)))(x))


@program(lambda rng: (rng.normal(size=(4, 2, 5)), rng.integers(-7, 7, size=4), rng.integers(-7, 7, size=(4, 2))))
def roll_by_a_batched_shift(L, x, s, ss):
    # jnp.roll takes a traced shift; each example rolls by its own
    def f(x, s, ss):
        return (L.np.roll(x, s), L.np.roll(x, s, axis=1), L.np.roll(x, s, axis=-2), L.np.roll(x, (s, 2), axis=(1, 0)),
                L.np.roll(x, ss, axis=(0, 1)), L.np.roll(x, s, axis=(0, 1)), L.np.roll(x[0], ss[0]))

    def total(x, s, ss):
        return sum(L.np.sum(L.np.sin(o) * L.np.arange(o.size).reshape(o.shape)) for o in f(x, s, ss))

    return (L.vmap(f)(x, s, ss), L.vmap(L.grad(total))(x, s, ss), L.jit(L.vmap(f))(x, s, ss),
            L.vmap(f, in_axes=(None, 0, 0))(x[0], s, ss), L.vmap(lambda s: L.np.roll(L.np.arange(5.0), s))(s))


@program(lambda rng: tuple(rng.normal(size=s) for s in ((4, 3, 3), (4, 3), (3, 3))))
def lu_per_example(L, a, b, a0):
    # each example pivots its own way: the permutation and pivots are read per example
    sl = L.scipy.linalg

    def f(a, b):
        lu, piv = sl.lu_factor(a)
        p, lo, up = sl.lu(a)
        return (sl.lu_solve((lu, piv), b), sl.lu_solve((lu, piv), b, trans=1), lu, piv, p, lo, up,
                sl.lu(a, permute_l=True)[0], sl.lu_solve(sl.lu_factor(a0), b))

    def s(a, b):
        lu, piv = sl.lu_factor(a)
        return L.np.sum(L.np.sin(sl.lu_solve((lu, piv), b))) + L.np.sum(sl.lu(a)[1] ** 2) + L.np.sum(sl.lu(a)[2] ** 3)

    return (L.vmap(f)(a, b), L.vmap(L.grad(s, argnums=(0, 1)))(a, b), L.vmap(L.jacfwd(lambda a: sl.lu(a)[2]))(a),
            L.jit(L.vmap(f))(a, b))


@program(shapes((4, 3), (3, 3)))
def jacobians_with_aux(L, x, w):
    # jax.jacrev/jacfwd/hessian(f, has_aux=True): f returns (output, aux); (jacobian, aux)
    def f(v):
        h = L.np.tanh(w @ v)
        return h * v[0], {"h": h, "n": L.np.sum(v ** 2)}

    def s(v):
        return L.np.sum(L.np.sin(v) * v[1]), (v * 2, L.np.prod(v))

    one = x[0]
    return (L.jacrev(f, has_aux=True)(one), L.jacfwd(f, has_aux=True)(one), L.hessian(s, has_aux=True)(one),
            L.vmap(L.jacrev(f, has_aux=True))(x), L.vmap(L.jacfwd(f, has_aux=True))(x),
            L.vmap(L.hessian(s, has_aux=True))(x),
            L.jacrev(lambda a, b: (a * b, b), argnums=1, has_aux=True)(one, x[1]),
            L.jit(L.vmap(L.jacfwd(f, has_aux=True)))(x))


@program(lambda rng: (rng.normal(size=(4, 3)), rng.normal(size=(4, 3, 3)),
                      np.array([[1.0, -1.0, 0.5], [2.0, 2.0, -2.0]])))
def max_norm_gradients_per_example(L, x, m, tied):
    # the inf and 1 norms' derivatives pick each example's largest entry (or row or column
    # sum), shared among ties as JAX shares them
    def vec(v):
        return L.np.linalg.norm(v, ord=L.np.inf) + 2 * L.np.linalg.norm(v, ord=-L.np.inf)

    def mat(a):
        return L.np.linalg.norm(a, 1) + 2 * L.np.linalg.norm(a, L.np.inf) + 3 * L.np.linalg.norm(a, -1)

    return (L.vmap(L.grad(vec))(x), L.vmap(L.grad(vec))(tied), L.vmap(L.jacfwd(vec))(x), L.vmap(L.grad(mat))(m),
            L.vmap(L.jacrev(L.grad(vec)))(x))


@program(shapes((4, 3), (3,)))
def custom_derivatives_with_nondiff_argnums(L, x, w):
    # partial(custom_vjp, nondiff_argnums=...): bwd(*nondiff, residuals, g) returns the
    # other arguments' cotangents; custom_jvp's rule(*nondiff, primals, tangents)
    @partial(L.custom_vjp, nondiff_argnums=(1,))
    def power(x, n):
        return x ** n

    power.defvjp(lambda x, n: (x ** n, x), lambda n, x, g: (g * n * x ** (n - 1) * 2,))

    @partial(L.custom_vjp, nondiff_argnums=(0,))
    def scaled(k, x, w):
        return k * L.np.sin(x) * w

    scaled.defvjp(lambda k, x, w: (scaled(k, x, w), (x, w)),
                  lambda k, res, g: (g * k * L.np.cos(res[0]) * res[1], g * k * L.np.sin(res[0]) * 3))

    @partial(L.custom_jvp, nondiff_argnums=(1,))
    def wave(x, k):
        return L.np.sin(k * x)

    @wave.defjvp
    def wave_jvp(k, primals, tangents):
        (x,), (t,) = primals, tangents
        return wave(x, k), 2 * k * L.np.cos(k * x) * t

    def loss(x, w):
        return L.np.sum(power(x, 3) + scaled(2.0, x, w) + wave(x, 1.5))

    return (L.vmap(lambda v: (power(v, 3), scaled(2.0, v, w), wave(v, 1.5)))(x),
            L.vmap(L.grad(loss, argnums=(0, 1)), in_axes=(0, None))(x, w),
            L.vmap(L.hessian(lambda v: L.np.sum(wave(v, 1.5))))(x),
            L.jit(L.vmap(L.grad(loss), in_axes=(0, None)))(x, w),
            L.vmap(L.checkpoint(L.grad(loss)), in_axes=(0, None))(x, w))


@program(lambda rng: (rng.normal(size=(4, 2, 3)), rng.normal(size=(4, 2)), rng.normal(size=4)))
def block_diag_of_batched_blocks(L, a, v, s):
    bd = L.scipy.linalg.block_diag
    weights = L.np.arange(24.0).reshape(4, 6)
    return (L.vmap(lambda a, v, s: bd(a, v, s, L.np.eye(2)))(a, v, s),
            L.vmap(bd, in_axes=(0, None, 0), out_axes=-1)(a, v[0], s),
            L.vmap(L.vmap(lambda a, s: bd(a, s), in_axes=(1, None)), in_axes=(0, 0))(a, s),
            L.vmap(L.grad(lambda a, v, s: L.np.sum(bd(a, v, s) ** 2 * weights), argnums=(0, 1, 2)))(a, v, s))


@program(lambda rng: (rng.normal(size=(4, 5)), np.array([[1, 7, -9, 3], [-1, -5, 5, 0], [4, 4, 9, -6], [0, 2, 2, 2]]),
                      rng.normal(size=(4, 4)), rng.normal(size=(4, 3, 4))))
def jax_index_modes(L, x, i, v, m):
    # JAX's mode= for indices out of range: "clip" clamps (a negative index counted from
    # the end), "fill" reads fill_value (NaN by default) and a scatter drops the update;
    # "promise_in_bounds" clamps a gather and drops a scatter on the CPU
    def f(x, i, v, m, mul=True):
        r, c = i % 3, i[::-1]
        a = L.at(x)[i]
        return (a.get(mode="clip"), a.get(mode="fill"), a.get(mode="fill", fill_value=-1.0),
                a.get(mode="promise_in_bounds"), a.get(mode="drop", fill_value=2.0),
                a.set(v, mode="drop"), a.set(v, mode="clip"), a.set(v, mode="promise_in_bounds"),
                a.add(v, mode="drop"), a.add(v, mode="clip"),
                a.max(v, mode="clip"), a.min(v, mode="fill"), L.at(x)[i[0]].set(v[0], mode="drop"),
                L.at(x)[7].get(mode="fill", fill_value=3.0), L.at(x)[-7].set(1.0, mode="drop"),
                L.at(x)[9].add(1.0, mode="clip"), L.np.take(x, i, mode="fill"),
                L.np.take(x, i, mode="fill", fill_value=0.5), L.np.take(x, i, fill_value=0.5),
                L.np.take(x, i, mode="clip"), L.np.take(x, i, mode="wrap"), L.np.take(m, i[:2], axis=1, mode="fill"),
                L.np.take_along_axis(x, i, axis=0, mode="clip"), L.np.take_along_axis(x, i, axis=0, mode="fill"),
                L.np.take_along_axis(m, L.np.broadcast_to(i[:2] % 5 - 1, (3, 2)), axis=1, mode="fill",
                                     fill_value=-3.0),
                L.at(m)[r, c].get(mode="fill"), L.at(m)[r, c].set(v, mode="drop"), L.at(m)[:, c].get(mode="clip"),
                L.at(m)[..., c].add(1.0, mode="drop"), L.at(m)[r, 1:].get(mode="fill", fill_value=0.0),
                L.at(m)[r, None, c].set(v[:, None], mode="drop"), L.at(m)[i[0], c].get(mode="fill"),
                *([a.multiply(v, mode="drop")] if mul else []))

    def total(x, i, v, m):
        # not JAX's derivatives of scatter_mul (for repeated indices: not implemented), of
        # promise_in_bounds out of range (left undefined) and of max with repeats that clip
        # sends to one element (-inf)
        return sum(L.np.sum(L.np.where(L.np.isnan(o), 0.0, o) * L.np.cos(L.np.arange(o.size).reshape(o.shape)))
                   for k, o in enumerate(f(x, i, v, m, mul=False)) if k not in (3, 10))

    return (f(x[0], i[0], v[0], m[0]), L.vmap(f)(x, i, v, m), L.vmap(f, in_axes=(None, 0, 0, None))(x[0], i, v, m[0]),
            L.vmap(f, in_axes=(0, None, 0, 0))(x, i[1], v, m), L.jit(L.vmap(f))(x, i, v, m),
            L.vmap(L.grad(total, argnums=(0, 2, 3)))(x, i, v, m),
            L.vmap(L.jacfwd(lambda x: L.np.take(x, i[2], mode="fill", fill_value=0.0)))(x),
            L.jit(lambda x, i: L.np.take(x, i, mode="fill"))(x[0], i[0]),
            L.grad(lambda x: L.np.sum(L.vmap(f)(x, i, v, m)[9] ** 2))(x))


@program(lambda rng: (rng.integers(0, 9, size=(3, 4)), np.array([[0, 5, -1, 2], [4, -6, 1, 1], [3, 3, 9, 0]])))
def jax_index_modes_integers(L, k, i):
    # fill values of integer and boolean arrays: the least signed value, the greatest
    # unsigned one, True
    def f(k, i):
        return (L.np.take(k, i, mode="fill"), L.at(k)[i].get(mode="fill"),
                L.np.take(k.astype(np.uint8), i, mode="fill"), L.np.take(k > 4, i, mode="fill"),
                L.at(k)[i].set(-1, mode="drop"), L.at(k)[i].add(1, mode="clip"),
                L.np.take_along_axis(k, i, axis=0, mode="fill", fill_value=7))
    return L.vmap(f)(k, i), f(k[0], i[0]), L.jit(L.vmap(f))(k, i)


@program(lambda rng: (rng.normal(size=(4, 3)),))
def spmd_axis_name_and_unbatched_outputs(L, x):
    # spmd_axis_name (sharding over devices in JAX) changes nothing on one device
    return (L.vmap(lambda v: v * 2, spmd_axis_name="s")(x),
            L.vmap(lambda v: (v * 2, L.np.ones(3), 5.0), out_axes=(0, None, None))(x),
            L.jit(L.vmap(lambda v: (L.np.outer(v, v), 5.0), out_axes=(-2, None)))(x),
            L.vmap(lambda: L.np.arange(3.0), axis_size=2)(), L.vmap(lambda v: v * 2, in_axes=None, axis_size=3)(x))


def _empty_and_one(rng):
    return np.zeros((0, 4)), np.zeros((0, 2), int), rng.normal(size=(1, 4)), np.array([[5, -1]])


@program(_empty_and_one)
def collectives_modes_and_lax_ops_on_batches_of_0_and_1(L, e, ie, one, ione):
    def f(v, i):
        return (L.at(v)[i].get(mode="fill"), L.at(v)[i].set(1.0, mode="drop"), L.np.take(v, i, mode="fill"),
                v - L.lax.pmean(v, "i") + L.lax.psum(v, "i"), L.lax.all_gather(v, "i"), L.lax.top_k(v, 2)[0],
                L.lax.cumsum(v, reverse=True), L.lax.associative_scan(L.lax.add, v), L.lax.pad(v, 0.0, [(1, 1, 1)]))

    def g(v):
        return L.np.sum(L.lax.psum(v, "i") * L.np.sin(v) + L.lax.all_gather(v, "i").sum())

    return (L.vmap(f, axis_name="i")(e, ie), L.vmap(f, axis_name="i")(one, ione),
            L.vmap(L.grad(g), axis_name="i")(e), L.vmap(L.grad(g), axis_name="i")(one))


@program(lambda rng: (rng.normal(size=4), rng.integers(0, 4, size=4).astype(np.int32)))
def branches_and_carries_of_agreeing_types(L, x, n):
    # what JAX accepts when it checks both branches: a Python float beside a float64, a
    # Python bool beside a bool, a loop's carry starting as a Python number
    def f(v, n):
        return (L.lax.cond(v > 0, lambda: 1.0, lambda: v), L.lax.cond(v > 0, lambda: True, lambda: v > 1),
                L.lax.cond(n > 1, lambda: L.np.array(3), lambda: 2), L.lax.switch(n, [lambda: 1.0, lambda: v * 2]))

    def loops(v, n):  # (in float32 too: the carry's Python number takes the body's float32)
        return (L.lax.while_loop(lambda c: c < 3, lambda c: c + L.np.abs(v) + 0.1, 0),
                L.lax.fori_loop(0, n, lambda i, c: c * v + 0.5, 1.0), L.lax.fori_loop(0, n, lambda i, c: c + i, n))
    return L.vmap(f)(x, n), L.vmap(loops)(x, n), L.vmap(loops)(x.astype(np.float32), n)


@program(lambda rng: (rng.normal(size=(4, 3)),))
def checkpoint_of_a_numpy_function(L, x):
    # cnp.sin has keyword-only parameters with defaults (where=, dtype=...): left out, they
    # keep them, and checkpoint binds the rest by position
    f = lambda v: L.np.sum(L.checkpoint(L.np.sin)(v) * L.checkpoint(L.np.multiply)(v, 2.0))  # noqa: E731
    return L.vmap(L.grad(f))(x), L.grad(f)(x[0]), L.vmap(L.grad(f))(x[:0])

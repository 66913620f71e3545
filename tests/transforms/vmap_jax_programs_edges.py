"""More programs for the table of ``vmap_jax_programs``: traced arguments where NumPy
takes plain numbers, and other edges JAX users reach."""

from __future__ import annotations

from vmap_jax_programs import program


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

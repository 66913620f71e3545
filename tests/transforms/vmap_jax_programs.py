"""vmap programs written the way JAX users write them, once for both libraries.

Each program takes ``L`` (a namespace holding either JAX or chainrule: ``L.np``,
``L.vmap``, ``L.grad``...) and NumPy arguments, and returns its result. The test module
runs every program with JAX (float64) and with chainrule and compares the results.
"""

from __future__ import annotations

import numpy as np

PROGRAMS: dict = {}


def program(make_args):
    """Register a program; ``make_args(rng)`` gives its NumPy arguments."""

    def register(fn):
        PROGRAMS[fn.__name__] = (fn, make_args)
        return fn

    return register


def shapes(*ss):
    return lambda rng: tuple(rng.normal(size=s) for s in ss)


def spd(rng, *lead, n=3):
    a = rng.normal(size=(*lead, n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


# -- in_axes ------------------------------------------------------------------------------------
@program(shapes((5, 3)))
def in_axes_default(L, x):
    return L.vmap(lambda v: L.np.sin(v) * v)(x)


@program(shapes((3, 5, 2)))
def in_axes_1(L, x):
    return L.vmap(lambda v: L.np.sum(v ** 2, axis=0), in_axes=1)(x)


@program(shapes((4, 3, 5)))
def in_axes_negative(L, x):
    return L.vmap(lambda v: v @ v.T, in_axes=-1)(x)


@program(shapes((3, 2), (5, 3)))
def in_axes_none_and_0(L, w, x):
    return L.vmap(lambda w, x: L.np.tanh(x @ w), in_axes=(None, 0))(w, x)


@program(shapes((3, 5), (2, 5, 3)))
def in_axes_tuple_negative(L, a, b):
    return L.vmap(lambda a, b: b @ a, in_axes=(-1, 1))(a, b)


@program(lambda rng: ({"w": rng.normal(size=(3, 2)), "b": rng.normal(size=(5, 2))},
                      rng.normal(size=(5, 3))))
def in_axes_dict_prefix(L, p, x):
    return L.vmap(lambda p, x: x @ p["w"] + p["b"], in_axes=({"w": None, "b": 0}, 0))(p, x)


@program(lambda rng: ([rng.normal(size=(5, 3)), rng.normal(size=3)], rng.normal(size=(3, 5))))
def in_axes_list_prefix(L, pair, x):
    return L.vmap(lambda pair, x: pair[0] * pair[1] + x, in_axes=([0, None], 1))(pair, x)


@program(lambda rng: ((rng.normal(size=(4, 3)), rng.normal(size=(3, 4))), rng.normal(size=4)))
def in_axes_nested_tuple(L, ab, c):
    def f(ab, c):
        a, b = ab
        return L.np.sum(a * b) * c

    return L.vmap(f, in_axes=((0, 1), 0))(ab, c)


@program(lambda rng: ({"a": {"b": rng.normal(size=(2, 5)), "c": rng.normal(size=5)},
                       "d": [rng.normal(size=2)]},))
def in_axes_deep_dict(L, tree):
    def f(t):
        return {"s": t["a"]["b"] * t["a"]["c"] + t["d"][0], "n": L.np.sum(t["a"]["b"])}

    return L.vmap(f, in_axes=({"a": {"b": 1, "c": 0}, "d": [None]},))(tree)


@program(shapes((5, 3), (5, 3)))
def in_axes_list_top_level(L, x, y):
    return L.vmap(lambda x, y: L.np.dot(x, y), in_axes=[0, 0])(x, y)


@program(shapes((5, 3), (5, 3)))
def kwargs_batched_on_axis_0(L, x, y):
    return L.vmap(lambda x, y: x * L.np.exp(y))(x, y=y)


@program(shapes((3, 5), (5, 3)))
def kwargs_axis_0_whatever_in_axes(L, x, y):
    return L.vmap(lambda x, y: x - y, in_axes=(1,))(x, y=y)


@program(lambda rng: (rng.normal(size=(5, 3)), {"w": rng.normal(size=(5, 3, 2))}))
def kwargs_pytree(L, x, p):
    return L.vmap(lambda x, p: x @ p["w"])(x, p=p)


@program(lambda rng: (rng.normal(size=5), 2.5))
def python_scalar_unbatched(L, x, s):
    return L.vmap(lambda x, s: x * s, in_axes=(0, None))(x, s)


# -- out_axes, axis_size ----------------------------------------------------------------------------
@program(shapes((5, 3, 2)))
def out_axes_1(L, x):
    return L.vmap(lambda v: v.T, out_axes=1)(x)


@program(shapes((5, 3, 2)))
def out_axes_negative(L, x):
    return L.vmap(lambda v: L.np.cos(v), out_axes=-1)(x)


@program(shapes((5, 3)))
def out_axes_pytree(L, x):
    def f(v):
        return {"a": L.np.outer(v, v), "b": (L.np.sum(v), v * 2)}

    return L.vmap(f, out_axes={"a": -1, "b": (0, 1)})(x)


@program(shapes((5, 3), (2,)))
def out_axes_none_for_unbatched(L, x, c):
    return L.vmap(lambda v, c: (v + 1, c * 2), in_axes=(0, None), out_axes=(0, None))(x, c)


@program(shapes((5, 3), (2,)))
def unbatched_output_broadcast(L, x, c):
    return L.vmap(lambda v, c: (L.np.sum(v), c * 2, 1.0), in_axes=(0, None))(x, c)


@program(shapes((3,)))
def axis_size_nothing_batched(L, x):
    return L.vmap(lambda v: L.np.sin(v), in_axes=None, axis_size=4)(x)


@program(shapes((4, 3)))
def axis_size_agrees(L, x):
    return L.vmap(lambda v: v * 3, axis_size=4)(x)


@program(shapes((4, 3)))
def out_axes_list_top_level(L, x):
    return L.vmap(lambda v: [v, v[0]], out_axes=[1, 0])(x)


# -- nested vmap ---------------------------------------------------------------------------------------
@program(shapes((4, 3, 2), (3, 4)))
def nested_different_axes(L, x, y):
    inner = L.vmap(lambda a, b: L.np.dot(a, b), in_axes=(1, None))
    return L.vmap(inner, in_axes=(0, 1))(x, y)


@program(shapes((4, 3, 5)))
def nested_out_axes(L, x):
    inner = L.vmap(lambda v: v * L.np.sum(v), in_axes=1, out_axes=1)
    return L.vmap(inner, in_axes=0, out_axes=-1)(x)


@program(shapes((2, 3, 4, 5)))
def triple_nested(L, x):
    f = lambda v: L.np.max(v) - L.np.min(v)  # noqa: E731
    return L.vmap(L.vmap(L.vmap(f, in_axes=0), in_axes=1), in_axes=-1)(x)


@program(shapes((4, 3), (5, 3)))
def pairwise_distances(L, a, b):
    dist = lambda u, v: L.np.sqrt(L.np.sum((u - v) ** 2))  # noqa: E731
    return L.vmap(L.vmap(dist, in_axes=(None, 0)), in_axes=(0, None))(a, b)


# -- with derivatives ----------------------------------------------------------------------------------
def mlp_loss(L, params, x, y):
    h = L.np.tanh(x @ params["w1"] + params["b1"])
    out = h @ params["w2"] + params["b2"]
    return L.np.sum((out - y) ** 2)


def mlp_args(rng):
    params = {"w1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4),
              "w2": rng.normal(size=(4, 2)), "b2": rng.normal(size=2)}
    return params, rng.normal(size=(6, 3)), rng.normal(size=(6, 2))


@program(mlp_args)
def per_example_grads(L, params, x, y):
    return L.vmap(L.grad(lambda p, x, y: mlp_loss(L, p, x, y)), in_axes=(None, 0, 0))(params, x, y)


@program(mlp_args)
def per_example_value_and_grad(L, params, x, y):
    f = L.value_and_grad(lambda p, x, y: mlp_loss(L, p, x, y), argnums=(0, 1))
    return L.vmap(f, in_axes=(None, 0, 0))(params, x, y)


@program(mlp_args)
def grad_of_vmap(L, params, x, y):
    def total(p):
        return L.np.mean(L.vmap(lambda x, y: mlp_loss(L, p, x, y))(x, y))

    return L.grad(total)(params)


@program(shapes((5, 3), (5, 3)))
def vmap_of_jvp(L, x, t):
    f = lambda v: L.np.sin(v) * L.np.sum(v ** 2)  # noqa: E731
    return L.vmap(lambda x, t: L.jvp(f, (x,), (t,)))(x, t)


@program(shapes((5, 3), (5, 3)))
def jvp_of_vmap(L, x, t):
    f = L.vmap(lambda v: L.np.exp(v) / L.np.sum(L.np.exp(v)))
    return L.jvp(f, (x,), (t,))


G = lambda L, v: L.np.tanh(v)[:2] * L.np.sum(v ** 2)  # noqa: E731
H = lambda L, v: L.np.sum(L.np.sin(v) ** 3) + L.np.prod(v)  # noqa: E731


@program(shapes((5, 3)))
def vmap_of_jacfwd(L, x):
    return L.vmap(L.jacfwd(lambda v: G(L, v)))(x)


@program(shapes((5, 3)))
def vmap_of_jacrev(L, x):
    return L.vmap(L.jacrev(lambda v: G(L, v)))(x)


@program(shapes((5, 3)))
def vmap_of_hessian(L, x):
    return L.vmap(L.hessian(lambda v: H(L, v)))(x)


@program(shapes((3, 4)))
def jacfwd_of_vmap(L, x):
    return L.jacfwd(L.vmap(lambda v: G(L, v), in_axes=1))(x)


@program(shapes((3, 4)))
def jacrev_of_vmap(L, x):
    return L.jacrev(L.vmap(lambda v: G(L, v)))(x)


@program(shapes((3, 2)))
def hessian_of_vmap(L, x):
    return L.hessian(lambda x: L.np.sum(L.vmap(lambda v: H(L, v))(x)))(x)


@program(shapes((4, 3), (3,)))
def vmap_of_jacrev_two_args(L, x, w):
    f = lambda x, w: L.np.sin(x * w)  # noqa: E731
    return L.vmap(L.jacrev(f, argnums=(0, 1)), in_axes=(0, None))(x, w)


@program(shapes((4, 3)))
def vmap_of_grad_of_grad(L, x):
    f = lambda v: L.np.sum(L.grad(lambda u: L.np.sum(L.np.cos(u) * u))(v) ** 2)  # noqa: E731
    return L.vmap(L.grad(f))(x)


@program(shapes((5, 3)))
def jit_of_vmap(L, x):
    return L.jit(L.vmap(lambda v: L.np.sum(L.np.sin(v) * v)))(x)


@program(shapes((5, 3)))
def vmap_of_jit(L, x):
    return L.vmap(L.jit(lambda v: L.np.exp(v) / L.np.sum(L.np.exp(v))))(x)


@program(mlp_args)
def jit_of_vmap_of_grad(L, params, x, y):
    f = L.vmap(L.grad(lambda p, x, y: mlp_loss(L, p, x, y)), in_axes=(None, 0, 0))
    return L.jit(f)(params, x, y)


@program(shapes((5, 3), (5, 3)))
def jit_of_vmap_twice(L, x, y):
    f = L.jit(L.vmap(lambda a, b: L.np.dot(a, b)))
    f(x, y)
    return f(y, x)


@program(shapes((2, 3, 4)))
def jit_of_vmap_of_jit(L, x):
    inner = L.jit(lambda a: L.np.sum(a ** 2, axis=0))
    return L.jit(L.vmap(inner, in_axes=2))(x), L.jit(L.vmap(L.grad(L.jit(lambda a: L.np.sum(a ** 3)))))(x)


# -- indexing --------------------------------------------------------------------------------------------
def ints(high, *shape):
    return lambda rng: rng.integers(0, high, size=shape)


@program(lambda rng: (rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)))
def batched_index(L, x, i):
    return L.vmap(lambda x, i: x[i])(x, i)


@program(lambda rng: (rng.normal(size=(4, 3)), rng.integers(-4, 4, size=5)))
def index_unbatched_array(L, x, i):
    # (a NumPy array cannot be indexed by a batched index, in JAX or here: NumPy's own
    # indexing reads the index as numbers; make it an array of the library first, which in
    # chainrule is an eager Tensor, so the result is one too)
    return L.plain(L.vmap(lambda x, i: L.tensor(x)[i] * 2, in_axes=(None, 0))(x, i))


@program(lambda rng: (rng.normal(size=(5, 4, 3)), rng.integers(0, 4, size=5), rng.integers(0, 3, size=5)))
def two_batched_indices(L, x, i, j):
    return L.vmap(lambda x, i, j: x[i, j])(x, i, j)


@program(lambda rng: (rng.normal(size=(5, 4, 3)), rng.integers(0, 4, size=(5, 2))))
def batched_index_array(L, x, i):
    return L.vmap(lambda x, i: x[i])(x, i)


@program(lambda rng: (rng.normal(size=(5, 4, 3)), rng.integers(0, 3, size=5)))
def batched_index_after_slice(L, x, i):
    return L.vmap(lambda x, i: x[:, i])(x, i)


@program(shapes((5, 4, 3)))
def static_indexing(L, x):
    def f(v):
        return (v[1:3], v[..., 0], v[None, :, 1], v[::-1, ::2], v[-1], v[np.array([0, 2, 2])],
                v[:, np.array([1, 0])], v[np.array([0, 1]), np.array([2, 0])])

    return L.vmap(f)(x)


@program(shapes((5, 4)))
def boolean_mask_constant(L, x):
    mask = np.array([True, False, True, True])
    return L.vmap(lambda v: v[mask])(x)


@program(lambda rng: (rng.normal(size=(5, 4, 3)), rng.integers(0, 4, size=(5, 2))))
def take_batched_indices(L, x, i):
    return L.vmap(lambda x, i: (L.np.take(x, i, axis=0), L.np.take(x, i[0], axis=1)))(x, i)


@program(lambda rng: (rng.normal(size=(6,)), rng.integers(0, 6, size=(5, 3))))
def take_unbatched_array(L, x, i):
    return L.vmap(lambda x, i: L.np.take(x, i), in_axes=(None, 0))(x, i)


@program(shapes((5, 4, 3)))
def take_along_axis_sorted(L, x):
    def f(v):
        idx = L.np.argsort(v, axis=-1)
        return L.np.take_along_axis(v, idx, axis=-1), L.np.take_along_axis(v, idx[:1], axis=0)

    return L.vmap(f)(x)


@program(lambda rng: (rng.normal(size=(4, 3)), rng.integers(0, 3, size=(5, 4, 2))))
def take_along_axis_batched_index(L, x, i):
    return L.vmap(lambda x, i: L.np.take_along_axis(x, i, axis=1), in_axes=(None, 0))(x, i)


@program(lambda rng: (rng.normal(size=(5, 4)), rng.integers(0, 4, size=5), rng.normal(size=5)))
def setitem_batched_index(L, x, i, v):
    return L.vmap(lambda x, i, v: L.set(x, i, v))(x, i, v)


@program(lambda rng: (rng.normal(size=(5, 4)), rng.normal(size=(5, 2))))
def setitem_slice(L, x, v):
    return L.vmap(lambda x, v: L.set(x, slice(1, 3), v * 2))(x, v)


@program(lambda rng: (rng.normal(size=(5, 4, 3)), rng.integers(0, 4, size=(5, 2)), rng.normal(size=(5, 2, 3))))
def setitem_batched_index_array(L, x, i, v):
    return L.vmap(lambda x, i, v: L.set(x, i, v))(x, i, v), L.vmap(lambda x, i: L.set(x, i, 0.0))(x, i)


@program(lambda rng: (rng.normal(size=(5, 4, 3)), rng.normal(size=(5, 3))))
def setitem_static_index_batched_value(L, x, v):
    return (L.vmap(lambda x, v: L.set(x, (slice(None), 1), v[:4] if v.shape[0] > 4 else v[0]))(x, v),
            L.vmap(lambda x, v: L.set(x, 2, v), in_axes=(None, 0))(x[0], v))


@program(lambda rng: (rng.normal(size=(5, 4)), rng.normal(size=5)))
def grad_through_setitem(L, x, v):
    def f(x, v):
        return L.np.sum(L.set(x, 2, v) ** 2 * x)

    return L.vmap(L.grad(f, argnums=(0, 1)))(x, v)


# -- where, sort, cumulative, reductions ---------------------------------------------------------------
@program(shapes((5, 4), (4,)))
def where_batched_condition(L, x, c):
    def f(x, c):
        return (L.np.where(x > 0, x, 0.1 * x), L.np.where(x > 0, c, -c),
                L.np.where(c > 0, x, 1.0), L.np.where(x > c, 1.0, 0.0))

    return L.vmap(f, in_axes=(0, None))(x, c)


@program(shapes((5, 4, 3)))
def sorting(L, x):
    def f(v):
        return (L.np.sort(v, axis=0), L.np.sort(v), L.np.argsort(v, axis=0), L.np.argsort(v, axis=-1),
                L.np.sort(v, axis=None), L.np.argmax(v), L.np.argmin(v, axis=1),
                L.np.argmax(v, axis=-1, keepdims=True))

    return L.vmap(f, in_axes=1)(x)


@program(shapes((5, 4, 3)))
def cumulative(L, x):
    def f(v):
        return (L.np.cumsum(v, axis=-1), L.np.cumprod(v, axis=0), L.np.cumsum(v),
                L.np.cumprod(v, axis=-2))

    return L.vmap(f, in_axes=2)(x)


@program(shapes((5, 4, 3)))
def reductions(L, x):
    def f(v):
        return (L.np.sum(v, axis=-1, keepdims=True), L.np.mean(v, axis=(0, -1)),
                L.np.max(v, axis=0, keepdims=True), L.np.min(v), L.np.prod(v, axis=-2),
                L.np.std(v, axis=-1), L.np.var(v, axis=0, ddof=1), L.np.sum(v, keepdims=True),
                L.np.linalg.norm(v, axis=-1), L.np.all(v > -3, axis=0), L.np.any(v > 1),
                L.np.mean(v, axis=-1, keepdims=True), L.np.amax(v, axis=(-2, -1)))

    return L.vmap(f)(x)


@program(shapes((5, 4, 3)))
def reductions_grad(L, x):
    def f(v):
        return (L.np.sum(L.np.max(v, axis=-1, keepdims=True) ** 2) + L.np.sum(L.np.std(v, axis=0))
                + L.np.prod(L.np.mean(v, axis=(0, -1))))

    return L.vmap(L.grad(f), in_axes=1)(x)


# -- shapes --------------------------------------------------------------------------------------------
@program(shapes((5, 4, 3), (4, 3)))
def concatenate_stack_mixed(L, x, c):
    def f(x, c):
        return (L.np.concatenate([x, c], axis=-1), L.np.concatenate([c, x, c]),
                L.np.stack([x, c], axis=1), L.np.stack([c, x]), L.np.stack([x, c], axis=-1),
                L.np.hstack([x, c]), L.np.vstack([x, c]), L.np.concatenate([x[0], c[1]]))

    return L.vmap(f, in_axes=(0, None))(x, c)


@program(shapes((2, 3, 5, 4)))
def reshapes(L, x):
    def f(v):
        return (L.np.reshape(v, (-1,)), L.np.reshape(v, (6, -1)), v.reshape(3, 8), v.ravel(),
                v.flatten(), L.np.reshape(v, (2, 3, 2, 2)))

    return L.vmap(f, in_axes=2)(x)


@program(shapes((5, 2, 3, 4)))
def transposes(L, x):
    def f(v):
        return (L.np.transpose(v), L.np.transpose(v, (1, 0, 2)), v.T, L.np.moveaxis(v, 0, -1),
                L.np.moveaxis(v, -1, 0), L.np.swapaxes(v, 0, 2), L.np.expand_dims(v, -1),
                L.np.expand_dims(v, 1), L.np.squeeze(v[:, :1], 1), L.np.squeeze(v[:1]),
                L.np.transpose(v, (-1, 0, 1)), L.np.swapaxes(v, -1, -2), v[:, None].squeeze(axis=1))

    return L.vmap(f, in_axes=-1)(x)


@program(shapes((5, 3)))
def broadcast_tile_repeat(L, x):
    def f(v):
        return (L.np.broadcast_to(v, (2, 3)), L.np.tile(v, 2), L.np.tile(v, (2, 1)),
                L.np.repeat(v, 2), L.np.flip(v), L.np.roll(v, 1), L.np.atleast_2d(v),
                L.np.diag(v), L.np.diag(L.np.outer(v, v)), L.np.trace(L.np.outer(v, v)),
                L.np.pad(v, (1, 2)), L.np.tril(L.np.outer(v, v)), L.np.triu(L.np.outer(v, v), 1))

    return L.vmap(f)(x)


@program(shapes((5, 6)))
def splits(L, x):
    def f(v):
        a, b = L.np.split(v, 2)
        c, d, e = L.np.split(v, [1, 4])
        return a * b, c, d, e

    return L.vmap(f)(x)


# -- products --------------------------------------------------------------------------------------------
EINSUMS = [
    ("ij,jk->ik", (3, 4), (4, 2)), ("ii->i", (3, 3)), ("ij->", (3, 4)), ("ij->ji", (3, 4)),
    ("i,i->", (4,), (4,)), ("i,j->ij", (3,), (4,)), ("ij,ij->i", (3, 4), (3, 4)),
    ("bij,bjk->bik", (2, 3, 4), (2, 4, 2)), ("...ij,...jk->...ik", (2, 3, 4), (4, 2)),
    ("ij,jk,kl->il", (2, 3), (3, 4), (4, 2)), ("ijk->kji", (2, 3, 4)), ("ii", (3, 3)),
    ("ij,j", (3, 4), (4,)), ("i...->...", (3, 2, 2)), ("ab,cd->abcd", (2, 3), (2, 2)),
]


def einsum_args(rng):
    return tuple(tuple(rng.normal(size=(5, *s)) for s in shapes_) for _, *shapes_ in EINSUMS)


@program(einsum_args)
def einsums_all_batched(L, *operands):
    return [L.vmap(lambda *ops, s=spec: L.np.einsum(s, *ops))(*ops)
            for (spec, *_), ops in zip(EINSUMS, operands, strict=True)]


@program(einsum_args)
def einsums_first_batched(L, *operands):
    out = []
    for (spec, *_), ops in zip(EINSUMS, operands, strict=True):
        axes = (0,) + (None,) * (len(ops) - 1)
        rest = [o[0] for o in ops[1:]]
        out.append(L.vmap(lambda *o, s=spec: L.np.einsum(s, *o), in_axes=axes)(ops[0], *rest))
    return out


RANKS = [(1, 1), (1, 2), (2, 1), (2, 2), (3, 2), (2, 3), (3, 3), (1, 3), (3, 1), (4, 2)]


A_SHAPES = {1: (4,), 2: (3, 4), 3: (2, 3, 4), 4: (2, 2, 3, 4)}
B_SHAPES = {1: (4,), 2: (4, 2), 3: (2, 4, 2)}


def matmul_args(rng):
    return ([(rng.normal(size=(5, *A_SHAPES[ra])), rng.normal(size=(5, *B_SHAPES[rb])))
             for ra, rb in RANKS],)


@program(matmul_args)
def matmul_every_rank(L, pairs):
    out = []
    for a, b in pairs:
        for axes in [(0, 0), (0, None), (None, 0)]:
            args = [x if ax == 0 else x[0] for x, ax in zip((a, b), axes, strict=True)]
            out.append(L.vmap(lambda a, b: a @ b, in_axes=axes)(*args))
            out.append(L.vmap(L.np.matmul, in_axes=axes)(*args))
    return out


@program(shapes((5, 3), (5, 3), (5, 3, 4), (5, 2, 2), (5, 4)))
def dot_family(L, u, v, m, k, w):
    def f(u, v, m, k, w):
        return (L.np.dot(u, v), L.np.dot(u, m), L.np.dot(m, w), L.np.tensordot(u, m, axes=1),
                L.np.tensordot(m, m, axes=2), L.np.tensordot(m, m, axes=((0,), (0,))),
                L.np.outer(u, w), L.np.inner(u, v), L.np.inner(m, w), L.np.kron(k, k), L.np.kron(u, v),
                L.np.vdot(u, v), L.np.cross(u, v), L.np.dot(2.0, u))

    out = L.vmap(f)(u, v, m, k, w)
    mixed = L.vmap(f, in_axes=(0, None, 0, None, None))(u, v[0], m, k[0], w[0])
    return out, mixed


# -- linear algebra ---------------------------------------------------------------------------------------
@program(lambda rng: (spd(rng, 5), rng.normal(size=(5, 3)), rng.normal(size=(5, 3, 2))))
def linalg_solve_inv_det(L, a, b, bm):
    la = L.np.linalg

    def f(a, b, bm):
        sign, logdet = la.slogdet(a)
        return (la.solve(a, b), la.solve(a, bm), la.inv(a), la.det(a), sign, logdet,
                la.cholesky(a), la.norm(a), la.norm(b), la.norm(a, "fro"), la.norm(b, 1),
                la.norm(b, np.inf), la.norm(a, 2), la.norm(a, -np.inf), la.norm(a, "nuc"),
                la.pinv(a), la.matrix_power(a, 3))

    return (L.vmap(f)(a, b, bm), L.vmap(la.solve, in_axes=(None, 0))(a[0], b),
            L.vmap(la.solve, in_axes=(0, None))(a, b[0]))


@program(lambda rng: (spd(rng, 5), rng.normal(size=(5, 4, 3))))
def linalg_decompositions(L, a, m):
    la = L.np.linalg

    def f(a, m):
        w, v = la.eigh(a)
        u, s, vt = la.svd(m, full_matrices=False)
        q, r = la.qr(m)
        return (w, L.np.abs(v), la.eigvalsh(a), s, (u * s) @ vt, la.svd(m, compute_uv=False),
                q @ r, L.np.abs(L.np.diag(r)))

    return L.vmap(f)(a, m)


@program(lambda rng: (spd(rng, 5), rng.normal(size=(5, 3))))
def linalg_grads(L, a, b):
    la = L.np.linalg

    def f(a, b):
        a = (a + a.T) / 2  # eigh and cholesky read one triangle: a symmetric gradient either way
        w, _ = la.eigh(a)
        return (L.np.sum(la.solve(a, b) ** 2) + la.slogdet(a)[1] + L.np.sum(w ** 2)
                + L.np.sum(la.cholesky(a)) + la.norm(a) + L.np.sum(la.svd(a, compute_uv=False)))

    return L.vmap(L.grad(f, argnums=(0, 1)))(a, b)


# -- fft -----------------------------------------------------------------------------------------------------
@program(shapes((5, 4, 6)))
def ffts(L, x):
    ff = L.np.fft

    def f(v):
        return (ff.fft(v), ff.ifft(v, axis=0), ff.rfft(v), ff.irfft(ff.rfft(v), n=6), ff.fft2(v),
                ff.fftn(v, axes=(0,)), ff.fft(v, n=8, norm="ortho"), ff.rfftn(v), ff.fftshift(v),
                ff.ifftshift(v, axes=-1), ff.hfft(v), ff.ihfft(v))

    return L.vmap(f, in_axes=1)(x)


@program(shapes((5, 6)))
def fft_grad(L, x):
    return L.vmap(L.grad(lambda v: L.np.sum(L.np.abs(L.np.fft.rfft(v)) ** 2)))(x)


# -- scipy.special, softmax-like programs ------------------------------------------------------------------
@program(shapes((5, 4, 3)))
def special_functions(L, x):
    sp = L.special

    def f(v):
        return (sp.logsumexp(v), sp.logsumexp(v, axis=-1), sp.logsumexp(v, axis=0, keepdims=True),
                sp.logsumexp(v, axis=(0, 1)), sp.softmax(v, axis=-1), sp.log_softmax(v, axis=0),
                sp.expit(v), sp.logit(sp.expit(v)), sp.erf(v), sp.gammaln(L.np.abs(v) + 1),
                sp.xlogy(L.np.abs(v), L.np.abs(v) + 1), sp.logsumexp(v, axis=-1, b=L.np.abs(v)))

    return L.vmap(f)(x)


@program(lambda rng: (rng.normal(size=(3, 4)), rng.normal(size=(6, 3)), rng.integers(0, 4, size=6)))
def softmax_cross_entropy_per_example(L, w, x, y):
    def loss(w, x, y):
        logits = x @ w
        z = logits - L.np.max(logits, axis=-1, keepdims=True)
        logp = z - L.np.log(L.np.sum(L.np.exp(z), axis=-1, keepdims=True))
        return -logp[y]

    return L.vmap(loss, in_axes=(None, 0, 0))(w, x, y), L.vmap(L.grad(loss), in_axes=(None, 0, 0))(w, x, y)


@program(shapes((5, 4, 3)))
def attention_like(L, x):
    def attend(v):
        scores = v @ v.T / np.sqrt(3.0)
        weights = L.special.softmax(scores, axis=-1)
        return weights @ v

    return L.vmap(attend)(x), L.vmap(L.grad(lambda v: L.np.sum(attend(v) ** 2)))(x)


@program(shapes((5, 4), (4,)))
def elementwise_zoo(L, x, c):
    def f(x, c):
        return (L.np.maximum(x, c), L.np.minimum(x, 0.0), L.np.clip(x, -0.5, 0.5), L.np.abs(x),
                L.np.sign(x), L.np.power(L.np.abs(x), c), L.np.arctan2(x, c), L.np.hypot(x, c),
                L.np.logaddexp(x, c), L.np.sqrt(L.np.abs(x)), L.np.floor(x), x ** 2, 2.0 ** x,
                L.np.square(x), x // 0.3, x % 0.7, -x, L.np.expm1(x), L.np.log1p(L.np.abs(x)))

    return L.vmap(f, in_axes=(0, None))(x, c), L.vmap(f, in_axes=(None, 0))(c, x)


@program(shapes((5, 4)))
def creation_inside(L, x):
    def f(v):
        return (v + L.np.zeros(4), L.np.zeros_like(v), L.np.ones_like(v) * v, L.np.full_like(v, 2.0),
                v * L.np.arange(4), L.np.eye(4) @ v, L.np.linspace(0, 1, 4) * v)

    return L.vmap(f)(x)


@program(lambda rng: (rng.normal(size=(5, 3)), rng.normal(size=(5, 3))))
def complex_values(L, x, y):
    def f(x, y):
        z = x + 1j * y
        return (L.np.abs(z), z * L.np.conj(z), L.np.exp(z), L.np.real(z @ z), L.np.imag(z),
                L.np.angle(z))

    return L.vmap(f)(x, y)


# -- array methods and more of numpy ------------------------------------------------------------------
@program(shapes((5, 4, 3), (3,)))
def array_methods(L, x, w):
    def f(v, w):
        return (v.sum(), v.sum(axis=0), v.mean(axis=-1, keepdims=True), v.max(axis=1), v.min(),
                v.std(), v.var(axis=0), v.prod(axis=-1), v.dot(w), v.clip(-0.5, 0.5), v.astype(np.float32),
                v.reshape(-1), v.T, v.transpose(1, 0), v.swapaxes(0, 1), v.cumsum(axis=0),
                v.argmax(axis=-1), v.argmin(), v.squeeze(), v.conj(), abs(v), v.real, v @ w)

    return L.vmap(f, in_axes=(0, None))(x, w)


@program(shapes((5, 6), (6,)))
def more_numpy(L, x, c):
    def f(v, c):
        return (L.np.diff(v), L.np.diff(v, n=2), L.np.nanmean(v), L.np.nansum(v), L.np.nanmax(v),
                L.np.searchsorted(L.np.sort(c), v), L.np.searchsorted(L.np.sort(v), c),
                L.np.average(v, weights=L.np.abs(c)), L.np.max(v, initial=0.5), L.np.cumsum(v[::-1]),
                L.np.mean(v, where=c > 0), L.np.sum(v, where=v > 0), L.np.ptp(v), L.np.sinc(v),
                L.np.linalg.multi_dot([L.np.outer(v, c), L.np.outer(c, v), v]),
                L.np.count_nonzero(v > 0), L.np.sum(v > 0), L.np.cumsum(v > 0), L.np.isfinite(v),
                L.np.round(v, 2), L.np.digitize(v, np.array([-1.0, 0.0, 1.0])), L.np.append(v, c),
                L.np.rot90(L.np.outer(v, c)), L.np.fliplr(L.np.outer(v, c)), L.np.column_stack([v, c]),
                L.np.dstack([v, c]), L.np.array([v, c]), L.np.array([v[0], v[1] * 2, 3.0]),
                L.np.array_split(v, 4), L.np.outer(v, c)[L.np.triu_indices(6)], L.np.prod(v, keepdims=True),
                L.np.logaddexp2(v, c), L.np.float_power(L.np.abs(v), c), L.np.fmod(v, 0.3), L.np.cbrt(v),
                L.np.isclose(v, c), L.np.clip(v, c - 1, c + 1), L.np.argmax(v > 0), L.np.sum(v, dtype=np.float32),
                L.np.take(v, np.array([7, -8]), mode="wrap"), L.np.roll(L.np.outer(v, c), 2),
                L.np.select([v > 0.5, v < -0.5], [v, -v], 0.0), L.np.select([c > 0], [v], -1.0))

    return L.vmap(f, in_axes=(0, None))(x, c)


@program(shapes((5, 6)))
def fortran_order_and_casts(L, x):
    def f(v):
        m = L.np.outer(v, v[:4])
        return (L.np.reshape(v, (2, 3), order="F"), L.np.ravel(m, order="F"), m.reshape((4, 6), order="F"),
                v.astype(np.float32), v.astype(np.int64), L.np.asarray(v, dtype=np.float32),
                (v > 0).astype(np.float64) * v)

    return L.vmap(f)(x)


@program(shapes((5, 3, 3), (5, 3, 2), (5, 4, 3)))
def more_linalg(L, a, b, m):
    la = L.np.linalg

    def f(a, b, m):
        return (la.matrix_rank(m), la.cond(a),
                la.tensorsolve(a @ a.T + 3 * L.np.eye(3), b[:, 0]), la.pinv(m), L.np.trace(a), la.eigvals(a @ a.T).real)

    return L.vmap(f)(a, b, m)


@program(shapes((5, 4), (5, 4)))
def nn_activations(L, x, y):
    def f(x, y):
        relu = L.np.maximum(x, 0)
        sig = 1 / (1 + L.np.exp(-x))
        gelu = 0.5 * x * (1 + L.np.tanh(0.7978845608 * (x + 0.044715 * x ** 3)))
        softplus = L.np.logaddexp(x, 0.0)
        mse = L.np.mean((x - y) ** 2)
        return relu, sig, gelu, softplus, mse, L.np.sum(L.np.where(x > y, x, y))

    return L.vmap(f)(x, y), L.vmap(L.grad(lambda x, y: L.np.sum(f(x, y)[2] * y) + f(x, y)[4]))(x, y)


@program(shapes((4, 5, 3)))
def vmap_of_vmap_of_grad(L, x):
    g = L.grad(lambda v: L.np.sum(L.np.log1p(v ** 2)))
    return L.vmap(L.vmap(g, in_axes=1), in_axes=0)(x)


@program(shapes((5, 3), (5, 3)))
def vmap_with_closure(L, x, y):
    scale = L.np.asarray(np.array([1.0, 2.0, 3.0]))

    def f(v):
        return L.vmap(lambda u: u * scale * v)(y)

    return L.vmap(f)(x)


@program(shapes((2, 3), (5, 2)))
def vmap_of_linear_map_matvec(L, w, x):
    return L.vmap(L.np.dot, in_axes=(None, 0))(w.T, x), L.vmap(lambda v: w.T @ v)(x)


# -- NumPy functions built from other primitives: statistics, signals, polynomials ----------------
def with_ties(rng, *shape):
    x = rng.normal(size=shape)
    x[..., 1] = x[..., 3]  # tied values: the derivative goes to the first, as in JAX
    return x


@program(lambda rng: (with_ties(rng, 5, 4, 6),))
def median_quantile_percentile(L, x):
    def f(v):
        return (L.np.median(v, axis=-1), L.np.quantile(v, np.array([0.1, 0.5, 0.9]), axis=0),
                L.np.percentile(v, 30.0, keepdims=True), L.np.median(v))

    loss = lambda v: L.np.sum(L.np.sin(f(v)[0])) + L.np.sum(f(v)[1] ** 2)  # noqa: E731
    return L.vmap(f)(x), L.vmap(L.grad(loss), in_axes=1)(x), L.vmap(f, in_axes=2)(x)


@program(lambda rng: (np.where(rng.uniform(size=(4, 3, 6)) < 0.2, np.nan, rng.normal(size=(4, 3, 6))),))
def nanmedian_nanquantile(L, x):
    def f(v):
        return L.np.nanmedian(v, axis=1), L.np.nanquantile(v, 0.25, axis=1, method="midpoint")

    return L.vmap(f)(x), L.vmap(L.grad(lambda v: L.np.sum(f(v)[0] * f(v)[1])))(x)


@program(shapes((4, 3, 7)))
def cov_and_corrcoef(L, x):
    def f(v):
        return L.np.cov(v), L.np.corrcoef(v[0], v[1]), L.np.cov(v, rowvar=False, ddof=0)

    off = ~np.eye(3, dtype=bool)
    loss = lambda v: L.np.sum(f(v)[0] ** 2) + L.np.sum(L.np.corrcoef(v)[off] ** 3)  # noqa: E731
    return L.vmap(f)(x), L.vmap(L.grad(loss))(x), L.vmap(L.grad(loss), in_axes=2)(np.moveaxis(x, 0, 2))


@program(shapes((5, 8), (3, 5)))
def convolve_correlate(L, a, v):
    def f(a, v):
        return L.np.convolve(a, v), L.np.convolve(v, a, mode="same"), L.np.correlate(a, v)

    loss = lambda a, v: L.np.sum(L.np.tanh(f(a, v)[0])) + L.np.sum(f(a, v)[2] ** 2)  # noqa: E731
    return (L.vmap(f, in_axes=(0, 1))(a, v), L.vmap(L.grad(loss, argnums=(0, 1)), in_axes=(0, 1))(a, v),
            L.vmap(f, in_axes=(0, None))(a, v[:, 0]))


@program(shapes((5, 4), (5, 6)))
def polyval_and_polynomial_arithmetic(L, p, x):
    def f(p, x):
        q = L.np.polymul(p, p[:2])
        return L.np.polyval(p, x), L.np.polyval(L.np.polyder(q), x), L.np.polyadd(p, q)

    return (L.vmap(f)(p, x), L.vmap(f, in_axes=(None, 0))(p[0], x),
            L.vmap(L.grad(lambda p, x: L.np.sum(f(p, x)[1] ** 2), argnums=(0, 1)))(p, x))


@program(lambda rng: (rng.uniform(-3, 3, size=(4, 7)), np.sort(rng.uniform(-2, 2, size=(4, 6)), axis=1),
                      rng.normal(size=(4, 6))))
def interp_and_trapezoid(L, x, xp, fp):
    def f(x, xp, fp):
        y = L.np.interp(x, xp, fp)
        return y, L.np.trapezoid(fp, xp), L.np.interp(x, xp, fp, left=0.0, right=1.0)

    loss = lambda x, xp, fp: L.np.sum(f(x, xp, fp)[0] ** 2) + f(x, xp, fp)[1]  # noqa: E731
    return (L.vmap(f)(x, xp, fp), L.vmap(f, in_axes=(0, None, None))(x, xp[0], fp[0]),
            L.vmap(L.grad(loss, argnums=(0, 1, 2)))(x, xp, fp))


@program(shapes((5, 3), (5, 4)))
def ufunc_outer(L, a, b):
    def f(a, b):
        return L.np.add.outer(a, b), L.np.multiply.outer(L.np.sin(a), b)

    return (L.vmap(f)(a, b), L.vmap(f, in_axes=(0, None))(a, b[0]),
            L.vmap(L.grad(lambda a, b: L.np.sum(f(a, b)[1] ** 2), argnums=(0, 1)))(a, b))


@program(lambda rng: (rng.normal(size=(4, 6, 3)), rng.normal(size=(4, 6)), rng.normal(size=(4, 6, 2))))
def lstsq_per_example(L, a, b, b2):
    def f(a, b):
        x, res, rank, s = L.np.linalg.lstsq(a, b, rcond=None)
        return x, res, rank, s

    loss = lambda a, b: L.np.sum(L.np.linalg.lstsq(a, b, rcond=None)[0] ** 2)  # noqa: E731
    return (L.vmap(f)(a, b), L.vmap(f)(a, b2), L.vmap(f, in_axes=(None, 0))(a[0], b),
            L.vmap(L.grad(loss, argnums=(0, 1)))(a, b))


@program(lambda rng: (rng.normal(size=(4, 5, 3)), np.array([0, 4, 2, 1]), rng.normal(size=(5, 3))))
def batched_index_with_slices(L, x, i, w):
    def f(v, i):
        return v[i, 1:], v[1:, i % 3], v[None, i, ::-1]

    emb = lambda w, i: L.np.sum(L.np.tanh(w[i, :]) * w[i, 1])  # noqa: E731  (a shared table)
    return (L.vmap(f)(x, i), L.vmap(L.grad(lambda v, i: L.np.sum(f(v, i)[0] ** 2)))(x, i),
            L.vmap(L.grad(emb), in_axes=(None, 0))(w, i))


@program(shapes((5, 4), (5, 4)))
def heaviside_copysign(L, x, y):
    def f(x, y):
        return L.np.heaviside(x, 0.5) * y + L.np.copysign(x, y) ** 2

    return L.vmap(f)(x, y), L.vmap(L.grad(lambda x, y: L.np.sum(f(x, y)), argnums=(0, 1)))(x, y)


@program(lambda rng: (rng.normal(size=(4, 5)), np.array([0, 3, 2, 3, 1])))
def jacobians_of_a_shared_table_row(L, w, i):
    # W[i, 1:] with i batched and W the differentiated (unbatched) argument, under every
    # Jacobian: jacfwd must not evaluate f on W before W is a traced value
    def f(w, i):
        return L.np.tanh(w[i, 1:]) * w[0, :-1]

    def s(w, i):
        return L.np.sum(L.np.sin(w[i, 1:]) * w[i, 1:] ** 2)

    return tuple(L.vmap(t(g), in_axes=(None, 0))(w, i)
                 for t, g in ((L.jacfwd, f), (L.jacrev, f), (L.hessian, s), (L.grad, s)))


@program(lambda rng: (rng.normal(size=(5, 4)), np.array([0, 3, 2, 3, 1])))
def jacobians_through_setitem(L, x, i):
    # an item assignment under forward mode carries its tangent (jacfwd, jvp, hessian)
    def f(v, i):
        return L.set(v, i, L.np.sin(v[0]) * v[1])

    def s(v, i):
        return L.np.sum(f(v, i) ** 3)

    tangent = L.np.ones(4)
    return (L.vmap(L.jacfwd(f))(x, i), L.vmap(L.jacrev(f))(x, i), L.vmap(L.hessian(s))(x, i),
            L.vmap(lambda v, i: L.jvp(lambda v: f(v, i), (v,), (tangent,)))(x, i))


@program(lambda rng: (rng.normal(size=(5, 4, 3)), np.array([[0, 0], [1, 3], [2, 2], [3, 0], [1, 1]]),
                      rng.normal(size=(5, 2, 3)), np.array([0, 3, 2, 3, 1])))
def at_updates(L, w, ii, v, i):
    # JAX's x.at[...] on a batched value: add accumulates at repeated indices (JAX does not
    # differentiate .apply: only its values are compared)
    def f(w, ii, v, i):
        return (w.at[ii].add(v * w[0]), w.at[i, 1].multiply(w[0, 0]), w.at[1:, ::2].set(v[0, 0] * 2),
                w.at[i].max(w[3] * 2), w.at[0].divide(2.0), w.at[:, 0].power(2),
                w.at[ii].get(), w.at[ii].subtract(1.0), w.at[i].min(0.0))

    def s(w, ii, v, i):
        return sum(L.np.sum(L.np.tanh(o)) for o in f(w, ii, v, i))

    return (L.vmap(f)(w, ii, v, i), L.vmap(L.grad(s, argnums=(0, 2)))(w, ii, v, i),
            L.vmap(L.jacfwd(lambda w, i: w.at[i, 1].multiply(w[0, 0])))(w, i),
            L.jit(L.vmap(lambda w, i: w.at[i].apply(L.np.sin)))(w, i))

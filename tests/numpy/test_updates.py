"""JAX's ``x.at[index]`` updates on Tensors (chainrule/numpy/shape/updates.py): values and
derivatives against JAX, finite differences in both modes, repeated indices combined as
JAX combines them, and ``chainrule.at`` for plain arrays."""

from types import SimpleNamespace

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
    "max_repeated": lambda L, x, v: x.at[np.array([1, 3, 1])].max(v[:1] * 2 - 1),
    "min_repeated_tie": lambda L, x, v: x.at[np.array([[0, 0], [2, 0]])].min(x[0, 1]),
    "apply": lambda L, x, v: x.at[np.array([3, 1])].apply(L.sin),
    "get": lambda L, x, v: x.at[REPEATS].get() * v,
    # JAX's modes for indices out of range: clamp, fill, drop
    "get_clip": lambda L, x, v: x.at[np.array([5, -7, 1]), np.array([[-1], [3]])].get(mode="clip") * v[0, 0],
    "get_fill": lambda L, x, v: x.at[np.array([5, -4, 1]), 1:].get(mode="fill", fill_value=0.5) * v[0, 1:],
    "set_drop": lambda L, x, v: x.at[np.array([4, -1]), np.array([0, -4])].set(v[:, 0], mode="drop"),
    "add_clip": lambda L, x, v: x.at[np.array([9, -9, 3])].add(v[0] * x[0], mode="clip"),
    "add_fill": lambda L, x, v: x.at[:, np.array([2, 3, -3, -4])].add(v[:1, :1] ** 2, mode="fill"),
    "max_drop": lambda L, x, v: x.at[np.array([1, 6, 1])].max(v[:1] * 2 - 1, mode="drop"),
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
def test_repeated_indices_combine_every_update_as_jax(update):
    # (JAX differentiates only min and max here; the others by finite differences)
    index, v = np.array([1, 3, 1, 1]), rng.uniform(0.5, 2.0, size=(4, 3))
    x = np.abs(X) + 0.5
    got = getattr(cr.tensor(x).at[index], update)(v)
    np.testing.assert_allclose(got.numpy(), getattr(jnp.asarray(x).at[index], update)(v), rtol=1e-14)
    assert cr.gradcheck(lambda x, v: getattr(_tensor(x).at[index], update)(v), x, v, order=1)
    idx = np.array([[0, 1, 0], [2, 2, 2]])  # each example its own, repeated
    f = lambda L: lambda x, v, i: getattr(L.at(x)[i], update)(v)  # noqa: E731
    got = cr.vmap(f(cr))(np.stack([x, x + 1]), v[:2], idx)
    want = jax.vmap(f(SimpleNamespace(at=lambda x: x.at)))(np.stack([x, x + 1]), v[:2], idx)
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_index_modes_refuse_what_jax_does_not_name():
    with pytest.raises(ValueError, match=r"mode must be 'clip', 'fill'.*got 'wrap'"):
        cr.tensor(X).at[np.array([5])].get(mode="wrap")
    with pytest.raises(ValueError, match="mode must be"):
        cr.tensor(X).at[0].set(1.0, mode="raise")
    with pytest.raises(ValueError, match="fill_value applies to mode='fill' only"):
        cnp.take(cr.tensor(X), [0], mode="clip", fill_value=1.0)
    with pytest.raises(IndexError, match="index 5 is out of bounds"):  # no mode: NumPy's rule
        cr.tensor(X).at[np.array([5])].get()
    # jax.lax.GatherScatterMode's members are read by name
    got = cr.tensor(X).at[np.array([5])].get(mode=jax.lax.GatherScatterMode.FILL_OR_DROP)
    np.testing.assert_array_equal(got.numpy(), jnp.asarray(X).at[np.array([5])].get(mode="fill"))


def test_apply_refuses_a_repeated_index():
    with pytest.raises(NotImplementedError, match="may repeat"):
        cr.tensor(X).at[REPEATS].apply(cnp.sin)
    with pytest.raises(NotImplementedError, match="may repeat"):  # each example two indices
        cr.vmap(lambda x, i: x.at[i].apply(cnp.sin))(np.stack([X, X]), np.array([[0, 1], [2, 3]]))


def test_at_of_a_plain_array():
    # what chainrule.numpy's creation functions return is NumPy's ndarray, without .at
    assert not hasattr(cnp.zeros(3), "at")
    k, v = np.array([0, 2, 2]), np.array([1.0, 2.0, 3.0])
    got = cr.vmap(lambda k, v: cr.at(cnp.zeros(3))[k].set(v))(k, v)
    np.testing.assert_array_equal(got, jax.vmap(lambda k, v: jnp.zeros(3).at[k].set(v))(k, v))
    np.testing.assert_array_equal(cr.at([1.0, 2.0])[np.array([0, 0])].add(1.0), [3.0, 2.0])
    g = cr.grad(lambda v: cnp.sum(cr.at(np.ones((2, 2)))[1].multiply(v) ** 2))(np.array([2.0, 3.0]))
    np.testing.assert_allclose(g, [4.0, 6.0])


def test_the_original_is_left_alone():
    x = cr.tensor(X)
    x.at[0].set(0.0)
    x.at[REPEATS].add(1.0)
    np.testing.assert_array_equal(x.numpy(), X)


# -- NumPy's in-place writers on Tensors ----------------------------------------------------
def _fill_wrap(L, x):
    a = L.outer(L.concatenate([x, x[:3]]), x[:2])
    L.fill_diagonal(a, x[0], wrap=True)
    return a


def _written(writer):
    """``writer(L, a, x)`` applied to a fresh array made from ``x``; the array returned."""
    def f(L, x):
        a = L.outer(x, x[:3]) if writer is not _fill_diagonal_3d else L.reshape(L.outer(x[:2], L.outer(x[:2], x[:2])),
                                                                                (2, 2, 2))
        writer(L, a, x)
        return a
    return f


def _fill_diagonal_3d(L, a, x):
    L.fill_diagonal(a, x[3])


# name: write of (module, a, x) into a (4, 3) array a made from x; repeated positions included
WRITERS = {
    "put": lambda L, a, x: L.put(a, [0, 5, -1, 5], x[1:] ** 2),
    "put_scalar": lambda L, a, x: L.put(a, 7, x[0] * 3),
    "put_wrap_clip": lambda L, a, x: (L.put(a, [13, -13], x[2], mode="wrap"), L.put(a, [40], x[1], mode="clip")),
    "place": lambda L, a, x: L.place(a, a > 0.5, [x[0], 7.0]),
    "putmask": lambda L, a, x: L.putmask(a, np.arange(12).reshape(4, 3) % 5 == 0, x * 3),
    "fill_diagonal": lambda L, a, x: L.fill_diagonal(a, x[::-1] * 2),
    "fill_diagonal_3d": _fill_diagonal_3d,
}
WX = np.array([0.5, 1.5, -2.5, 0.75])


def _numpy_written(name, x):
    f = _fill_wrap if name == "fill_diagonal_wrap" else _written(WRITERS[name])
    return f(np, x)


@pytest.mark.parametrize("name", sorted(WRITERS) + ["fill_diagonal_wrap"])
def test_numpy_writers_on_tensors_write_and_differentiate(name):
    f = _fill_wrap if name == "fill_diagonal_wrap" else _written(WRITERS[name])
    want = f(np, WX.copy())
    got = f(cnp, cr.tensor(WX))
    np.testing.assert_array_equal(got.numpy(), want)
    weights = np.linspace(1.0, 2.0, want.size).reshape(want.shape)
    assert cr.gradcheck(lambda x: cnp.sum(cnp.sin(f(cnp, x)) * weights), WX, order=2)
    # the last of repeated writes is the one that stays, and the only one with a derivative
    eps = 1e-6
    fd = [(np.sum(np.sin(f(np, WX + eps * e)) * weights) - np.sum(np.sin(f(np, WX - eps * e)) * weights)) / (2 * eps)
          for e in np.eye(4)]
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(cnp.sin(f(cnp, x)) * weights))(WX), fd, rtol=1e-7, atol=1e-8)


def test_numpy_writers_under_vmap_and_jit():
    f = _written(WRITERS["put"])
    xs = np.stack([WX, -WX, WX * 2])
    np.testing.assert_array_equal(cr.vmap(lambda x: f(cnp, x))(xs), np.stack([f(np, x) for x in xs]))

    def g(x):
        a = x * 1.0
        np.put(a, [0, 2], x[1] * 3)  # NumPy's own function, on a traced array
        np.fill_diagonal(b := cnp.outer(x, x), 0.0)
        return cnp.sum(a) + cnp.sum(b)

    step = cr.jit(cr.value_and_grad(g))
    for x in (WX, WX[::-1].copy(), WX):
        value, grad = step(x)
        np.testing.assert_allclose(value, g(x))
        np.testing.assert_allclose(grad, cr.grad(g)(x), rtol=1e-14)


def test_numpy_writers_on_eager_tensors():
    t = cr.tensor(np.zeros(3))
    np.put(t, [1], 5.0)  # a constant: written in place, as NumPy writes
    assert t.tolist() == [0.0, 5.0, 0.0]
    p = cr.tensor(np.ones(3), requires_grad=True)
    q = p * 2
    np.put(q, [0], p[1] * 10)
    q.sum().backward()
    assert p.grad.tolist() == [0.0, 12.0, 2.0]


@pytest.mark.parametrize("write", [
    lambda v: np.put(np.zeros(3), [0], v),
    lambda v: np.place(np.zeros(3), np.array([True, False, True]), v),
    lambda v: np.putmask(np.zeros(3), np.array([True, False, True]), v),
    lambda v: cnp.fill_diagonal(np.zeros((3, 3)), v),
])
def test_writing_a_differentiated_value_into_a_plain_array_is_refused(write):
    with pytest.raises(TypeError, match=r"writes into a plain ndarray.*chainrule.tensor\(a\)"):
        cr.grad(lambda v: (write(v), v)[1])(1.0)
    # (NumPy dispatches np.fill_diagonal on its array alone, then converts the value)
    with pytest.raises(TypeError, match="would drop its derivative silently"):
        cr.grad(lambda v: (np.fill_diagonal(np.zeros((3, 3)), v), v)[1])(1.0)


@pytest.mark.parametrize("call, error", [
    (lambda t: cnp.put(t, [12], 1.0), IndexError),
    (lambda t: cnp.put(t, [0], 1.0, mode="bad"), ValueError),
    (lambda t: cnp.place(t, np.ones(12, bool), []), ValueError),
    (lambda t: cnp.fill_diagonal(t[0], 1.0), ValueError),
])
def test_numpy_writers_errors_as_numpy(call, error):
    with pytest.raises(error):
        call(cr.tensor(np.zeros((4, 3))))
    with pytest.raises(error):
        call(np.zeros((4, 3)))


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


def test_fill_diagonal_out_of_place_as_jax_writes_it():
    def f(L, x, v):  # jnp.fill_diagonal takes only inplace=False
        return L.sum(L.sin(L.fill_diagonal(x * 2, v * x[0, 1], inplace=False)))

    x, v = rng.normal(size=(5, 3)), np.array([0.5, -1.0])
    for argnums in (0, 1):
        np.testing.assert_allclose(cr.grad(lambda *a: f(cnp, *a), argnums)(x, v),
                                   jax.grad(lambda *a: f(jnp, *a), argnums)(x, v), rtol=1e-13)
    a = x.copy()
    got = cnp.fill_diagonal(a, v, inplace=False)
    np.testing.assert_array_equal(got, jnp.fill_diagonal(x, v, inplace=False))
    np.testing.assert_array_equal(a, x)  # left as it was
    np.testing.assert_array_equal(cr.vmap(lambda a: cnp.fill_diagonal(a, v, inplace=False))(x[None]), got[None])
    np.fill_diagonal(want := x.copy(), v, wrap=True)  # (JAX has no wrap)
    np.testing.assert_array_equal(cnp.fill_diagonal(x, v, wrap=True, inplace=False), want)

"""Random programs under cr.vmap against jax.vmap: hypothesis draws a chain of paired
operations (chainrule.numpy and jax.numpy, the same code) over a table of elementwise
functions, reductions, shape functions, indexing, joining, products, sorting, linear
algebra and FFTs; random in_axes and out_axes (None and negative included); nested vmap,
vmap of grad, grad of vmap, and jacfwd, jacrev and hessian under vmap. Values, shapes and
kinds of dtype must agree (float64). Wrong batch sizes and axes must raise in both, ours
naming the argument and the sizes."""

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = pytest.importorskip("jax.numpy")

import chainrule as cr  # noqa: E402
import chainrule.numpy as cnp  # noqa: E402

NP = SimpleNamespace(np=np)
JAX = SimpleNamespace(np=jnp, vmap=jax.vmap, grad=jax.grad, jacfwd=jax.jacfwd, jacrev=jax.jacrev,
                      hessian=jax.hessian)
CR = SimpleNamespace(np=cnp, vmap=cr.vmap, grad=cr.grad, jacfwd=cr.jacfwd, jacrev=cr.jacrev,
                     hessian=cr.hessian)


def _spd(n, x):
    """A symmetric positive definite matrix made of the square matrix ``x``."""
    return x @ x.T + x.shape[0] * n.eye(x.shape[0])


def _full_rank(n, x):
    """``x`` shifted off the rank-deficient matrices that earlier steps can make ("take"
    repeats a column): QR and the singular values have no derivative there."""
    return x + x.shape[0] * n.eye(*x.shape)


# name: (does it apply to an example of this shape, the operation of (numpy module, x));
# the same code runs with NumPy (for the shapes), jax.numpy and chainrule.numpy
def nd(k):
    return lambda s: len(s) >= k


def square(s):
    return len(s) == 2 and s[0] == s[1] and s[0] >= 2


ALWAYS = lambda s: True  # noqa: E731
OPS = {
    # elementwise, one and two arguments, with constants broadcast
    "sin": (ALWAYS, lambda n, x: n.sin(x)),
    "tanh*2": (ALWAYS, lambda n, x: n.tanh(x) * 2.0),
    "exp of tanh": (ALWAYS, lambda n, x: n.exp(n.tanh(x))),
    "square": (ALWAYS, lambda n, x: x * x),
    "log1p of square": (ALWAYS, lambda n, x: n.log1p(x * x)),
    "sqrt": (ALWAYS, lambda n, x: n.sqrt(x * x + 0.5)),
    "power": (ALWAYS, lambda n, x: n.power(x * x + 0.5, 1.5)),
    "arctan2": (ALWAYS, lambda n, x: n.arctan2(x, 1.5)),
    "divide": (ALWAYS, lambda n, x: x / (1.0 + x * x)),
    "leaky where": (ALWAYS, lambda n, x: n.where(x > 0, x, 0.1 * x)),
    "maximum": (ALWAYS, lambda n, x: n.maximum(x, 0.3 * x + 0.1)),
    "row constant": (nd(1), lambda n, x: x * n.linspace(0.5, 1.5, x.shape[-1])),
    "logaddexp": (ALWAYS, lambda n, x: n.logaddexp(x, 0.5)),
    # reductions
    "sum 0": (nd(1), lambda n, x: n.sum(x, axis=0)),
    "sum -1 keepdims": (nd(1), lambda n, x: n.sum(x, axis=-1, keepdims=True)),
    "mean": (nd(1), lambda n, x: n.mean(x, axis=-1)),
    "max": (nd(1), lambda n, x: n.max(x, axis=0)),
    "min keepdims": (nd(2), lambda n, x: n.min(x, axis=1, keepdims=True)),
    "prod": (nd(1), lambda n, x: n.prod(n.tanh(x) + 1.5, axis=-1)),
    "var": (nd(1), lambda n, x: n.var(x, axis=0)),
    "std": (nd(2), lambda n, x: n.std(x, axis=(0, 1))),
    "cumsum": (nd(1), lambda n, x: n.cumsum(x, axis=-1)),
    "cumprod": (nd(1), lambda n, x: n.cumprod(n.tanh(x) + 1.2, axis=0)),
    # shape
    "flatten": (nd(1), lambda n, x: n.reshape(x, (-1,))),
    "reshape": (lambda s: len(s) == 1 and s[0] % 2 == 0, lambda n, x: n.reshape(x, (2, -1))),
    "transpose": (nd(2), lambda n, x: n.transpose(x)),
    "moveaxis": (nd(2), lambda n, x: n.moveaxis(x, 0, -1)),
    "swapaxes": (nd(2), lambda n, x: n.swapaxes(x, -1, -2)),
    "expand squeeze": (ALWAYS, lambda n, x: n.squeeze(n.expand_dims(x, 0), axis=0) * 1.5),
    "expand -1": (lambda s: len(s) <= 2, lambda n, x: n.expand_dims(x, -1) * n.ones(2)),
    "flip": (nd(1), lambda n, x: n.flip(x, axis=-1)),
    "roll": (nd(1), lambda n, x: n.roll(x, 1, axis=0)),
    "tile": (lambda s: len(s) == 1, lambda n, x: n.tile(x, 2)),
    "broadcast_to": (lambda s: len(s) == 1, lambda n, x: n.broadcast_to(x, (2, *x.shape)) * 1.0),
    # indexing: ints, slices, None, Ellipsis, integer arrays, static boolean masks
    "x[0]": (nd(1), lambda n, x: x[0]),
    "x[1:]": (lambda s: len(s) >= 1 and s[0] >= 2, lambda n, x: x[1:]),
    "x[::-1]": (nd(1), lambda n, x: x[::-1]),
    "x[None]": (lambda s: len(s) <= 2, lambda n, x: x[None] * 2.0),
    "x[..., 0]": (nd(1), lambda n, x: x[..., 0]),
    "x[:, None]": (lambda s: 1 <= len(s) <= 2, lambda n, x: x[:, None] + x[None, :1]),
    "x[ints]": (lambda s: len(s) >= 1 and s[0] >= 2, lambda n, x: x[np.array([1, 0, 1])]),
    "x[ints, ints]": (lambda s: len(s) >= 2 and s[1] >= 2, lambda n, x: x[np.array([0, -1]), np.array([1, 0])]),
    "x[mask]": (lambda s: len(s) >= 1 and s[0] == 3, lambda n, x: x[np.array([True, False, True])]),
    "take": (nd(1), lambda n, x: n.take(x, np.array([0, 0, -1]), axis=-1)),
    "take_along_axis": (nd(1), lambda n, x: n.take_along_axis(x, n.argsort(x, axis=-1), axis=-1)),
    # joining
    "concatenate": (nd(1), lambda n, x: n.concatenate([x, n.sin(x)], axis=0)),
    "stack": (ALWAYS, lambda n, x: n.stack([x, x * x], axis=-1)),
    "where of two": (ALWAYS, lambda n, x: n.where(n.sin(x) > 0.2, x * x, -x)),
    # products
    "x @ x.T": (lambda s: len(s) == 2, lambda n, x: x @ x.T),
    "x @ W": (nd(1), lambda n, x: x @ n.linspace(-1.0, 1.0, 2 * x.shape[-1]).reshape(x.shape[-1], 2)),
    "einsum ij,ik": (lambda s: len(s) == 2, lambda n, x: n.einsum("ij,ik->jk", x, n.tanh(x))),
    "einsum trace": (square, lambda n, x: n.einsum("ii->i", x)),
    "tensordot": (nd(1), lambda n, x: n.tensordot(x, n.ones(x.shape[-1]) * 0.5, axes=1)),
    "outer": (lambda s: len(s) == 1, lambda n, x: n.outer(x, n.sin(x))),
    "dot": (lambda s: len(s) == 1, lambda n, x: n.dot(x, x)),
    # sorting
    "sort": (nd(1), lambda n, x: n.sort(x, axis=-1)),
    "sort 0": (nd(1), lambda n, x: n.sort(x, axis=0)),
    # linear algebra
    "inv": (square, lambda n, x: n.linalg.inv(_spd(n, x))),
    "solve": (square, lambda n, x: n.linalg.solve(_spd(n, x), x[:, 0])),
    "det": (square, lambda n, x: n.linalg.det(_spd(n, x))),
    "slogdet": (square, lambda n, x: n.linalg.slogdet(_spd(n, x))[1]),
    "cholesky": (square, lambda n, x: n.linalg.cholesky(_spd(n, x))),
    "qr": (lambda s: len(s) == 2 and s[0] >= s[1], lambda n, x: n.linalg.qr(_full_rank(n, x))[1]),
    "eigh": (square, lambda n, x: n.linalg.eigh(_spd(n, x))[0]),
    "eigh vectors": (square, lambda n, x: n.linalg.eigh(_spd(n, x))[1] ** 2),
    "svd values": (lambda s: len(s) == 2, lambda n, x: n.linalg.svd(_full_rank(n, x), compute_uv=False)),
    "norm": (nd(1), lambda n, x: n.linalg.norm(x + 3.0, axis=-1)),
    # Fourier transforms
    "fft": (nd(1), lambda n, x: n.real(n.fft.fft(x)) + n.imag(n.fft.fft(x, axis=0))),
    "rfft": (nd(1), lambda n, x: n.abs(n.fft.rfft(x)) ** 2),
    "irfft": (nd(1), lambda n, x: n.fft.irfft(n.fft.rfft(x), n=x.shape[-1])),
}
SHAPES = [(3,), (4,), (3, 3), (4, 3), (2, 3, 2)]


def _out_shape(name, shape):
    return np.shape(OPS[name][1](np, np.linspace(0.3, 1.3, int(np.prod(shape))).reshape(shape)))


@st.composite
def programs(draw, max_steps=4):
    """A shape of one example and a chain of operations that applies to it."""
    shape = draw(st.sampled_from(SHAPES))
    steps, s = [], shape
    for _ in range(draw(st.integers(1, max_steps))):
        choices = sorted(k for k, (ok, _) in OPS.items() if ok(s))
        name = draw(st.sampled_from(choices))
        with np.errstate(all="ignore"):
            s = _out_shape(name, s)
        steps.append(name)
        if int(np.prod(s)) > 64:
            break
    return shape, steps


def run(L, steps):
    """The program: the operations in turn, on an example scaled by a second argument."""

    def f(x, w):
        h = x * w
        for name in steps:
            h = OPS[name][1](L.np, h)
        return h

    return f


def assert_same(got, want, tol=1e-9):
    got_leaves, got_tree = jax.tree_util.tree_flatten(got)
    want_leaves, want_tree = jax.tree_util.tree_flatten(want)
    assert got_tree == want_tree
    for g, w in zip(got_leaves, want_leaves, strict=True):
        assert not isinstance(g, cr.Tensor)
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, (g.shape, w.shape)
        assert g.dtype.kind == w.dtype.kind, (g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


def both(make):
    """``make(L)`` with JAX, then with chainrule; compared."""
    want = make(JAX)
    with np.errstate(all="ignore"):
        got = make(CR)
    assert_same(got, want)


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=40, **SETTINGS)
@given(program=programs(), data=st.data())
def test_vmap_with_random_axes(program, data):
    shape, steps = program
    batch = data.draw(st.integers(0, 3), label="batch size")
    x_axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="x in_axes")
    w_axis = data.draw(st.sampled_from([None, 0, -1]), label="w in_axes")
    out_ndim = len(_out_shape_of(steps, shape)) + 1
    out_axis = data.draw(st.integers(-out_ndim, out_ndim - 1), label="out_axes")
    r = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    x = np.moveaxis(r.normal(size=(batch, *shape)), 0, x_axis)
    w = r.uniform(0.5, 1.5, size=shape if w_axis is None else (batch, *shape))
    if w_axis == -1:
        w = np.moveaxis(w, 0, -1)
    both(lambda L: L.vmap(run(L, steps), in_axes=(x_axis, w_axis), out_axes=out_axis)(x, w))


def _out_shape_of(steps, shape):
    for name in steps:
        with np.errstate(all="ignore"):
            shape = _out_shape(name, shape)
    return shape


@settings(max_examples=25, **SETTINGS)
@given(program=programs(max_steps=3), data=st.data())
def test_nested_vmap(program, data):
    shape, steps = program
    r = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    inner = data.draw(st.sampled_from([(0, None), (None, 0), (0, 0)]), label="inner in_axes")
    x = r.normal(size=(2, 3, *shape) if inner[0] == 0 else (2, *shape))
    w = r.uniform(0.5, 1.5, size=(3, *shape) if inner[1] == 0 else shape)
    both(lambda L: L.vmap(L.vmap(run(L, steps), in_axes=inner), in_axes=(0, None))(x, w))


def _scalar(L, steps):
    f = run(L, steps)
    return lambda x, w: L.np.sum(L.np.sin(f(x, w)))


TRANSFORMS = ["vmap of grad", "grad of vmap", "vmap of grad in w", "jacfwd", "jacrev", "hessian",
              "jacfwd of vmap", "jacrev of vmap"]


@settings(max_examples=30, **SETTINGS)
@given(program=programs(max_steps=3), seed=st.integers(0, 2**16), which=st.sampled_from(TRANSFORMS))
# the table once let "x[ints, ints]" (which reads column 1) follow "reshape" to (2, 1), so
# drawing this program's last step raised IndexError
@example(program=((4, 3), ("x[ints, ints]", "reshape", "x[ints]")), seed=0, which="jacrev of vmap")
# "take" repeated a column, and QR of the rank-deficient result has no derivative
@example(program=((4, 3), ("take", "qr")), seed=0, which="vmap of grad")
def test_derivatives_and_vmap(program, seed, which):
    shape, steps = program
    r = np.random.default_rng(seed)
    xs = r.normal(size=(3, *shape))
    w = r.uniform(0.5, 1.5, size=shape)
    if which == "vmap of grad":
        both(lambda L: L.vmap(L.grad(_scalar(L, steps)), in_axes=(0, None))(xs, w))
    elif which == "vmap of grad in w":
        both(lambda L: L.vmap(L.grad(_scalar(L, steps), 1), in_axes=(0, None), out_axes=-1)(xs, w))
    elif which == "grad of vmap":
        both(lambda L: L.grad(lambda w: L.np.sum(L.vmap(_scalar(L, steps), in_axes=(0, None))(xs, w)))(w))
    elif which.endswith("of vmap"):
        both(lambda L: getattr(L, which.split()[0])(lambda w: L.vmap(run(L, steps), in_axes=(0, None))(xs, w))(w))
    elif which in ("jacfwd", "jacrev"):
        both(lambda L: L.vmap(getattr(L, which)(run(L, steps)), in_axes=(0, None))(xs, w))
    else:
        assume(int(np.prod(shape)) <= 9)
        both(lambda L: L.vmap(L.hessian(_scalar(L, steps)), in_axes=(0, None))(xs, w))


def _reachable_shapes():
    """Every shape of an intermediate value that ``programs`` can draw."""
    seen, frontier = set(), [(s, 0) for s in SHAPES]
    while frontier:
        shape, depth = frontier.pop()
        if shape in seen or depth == 4:
            continue
        seen.add(shape)
        for name, (ok, _) in OPS.items():
            if ok(shape):
                with np.errstate(all="ignore"):
                    out = _out_shape(name, shape)
                if int(np.prod(out)) <= 64:
                    frontier.append((out, depth + 1))
    return seen


def test_table_applies_where_it_says():
    """Each operation runs (in NumPy) on every shape the table lets it follow."""
    for shape in sorted(_reachable_shapes()):
        x = np.linspace(0.3, 1.3, int(np.prod(shape))).reshape(shape)
        for ok, op in OPS.values():
            if ok(shape):
                with np.errstate(all="ignore"):
                    op(np, x)  # raises if the table is wrong


def _first_shape(name):
    return next(s for s in SHAPES if OPS[name][0](s))


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_operation_under_derivatives_of_vmap(name):
    """Each operation once, batched, under a derivative taken outside vmap (where the
    batching rules' calls are differentiated: concatenate and stack once handed their
    vjp a negative axis, which sliced the cotangent along the batch axis)."""
    shape = _first_shape(name)
    r = np.random.default_rng(1)
    xs, w = r.normal(size=(3, *shape)), r.uniform(0.5, 1.5, size=shape)
    batched = lambda L: lambda w: L.vmap(run(L, [name]), in_axes=(0, None))(xs, w)  # noqa: E731
    both(lambda L: L.grad(lambda w: L.np.sum(L.np.sin(batched(L)(w))))(w))
    both(lambda L: L.jacfwd(batched(L))(w))
    both(lambda L: L.jacrev(batched(L))(w))


# -- errors: both raise; ours names the argument and the sizes ------------------------------------
@settings(max_examples=30, **SETTINGS)
@given(shape=st.sampled_from(SHAPES), sizes=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       axes=st.tuples(st.integers(-1, 0), st.integers(-1, 0)), keyword=st.booleans())
def test_mismatched_batch_sizes(shape, sizes, axes, keyword):
    assume(sizes[0] != sizes[1])
    x = np.moveaxis(np.ones((sizes[0], *shape)), 0, axes[0])
    y = np.moveaxis(np.ones((sizes[1], *shape)), 0, axes[1])
    for L in (JAX, CR):
        f = L.vmap(lambda x, y: x + y, in_axes=(axes[0],) if keyword else axes)
        with pytest.raises(ValueError) as info:
            if keyword:
                f(x, y=np.moveaxis(y, axes[1], 0))
            else:
                f(x, y)
    message = str(info.value)
    assert f"size {sizes[0]}" in message and f"size {sizes[1]}" in message, message
    assert ("'y'" if keyword else "argument 1") in message, message


@settings(max_examples=30, **SETTINGS)
@given(shape=st.sampled_from(SHAPES), axis=st.integers(-6, 6), which=st.integers(0, 1))
def test_in_axes_out_of_range(shape, axis, which):
    assume(not -len(shape) <= axis < len(shape))
    in_axes = (axis, 0) if which == 0 else (0, axis)
    for L in (JAX, CR):
        with pytest.raises(ValueError) as info:
            L.vmap(lambda x, y: x * y, in_axes=in_axes)(np.ones(shape), np.ones(shape))
    message = str(info.value)
    assert f"in_axes={axis}" in message and str(len(shape)) in message, message

"""chainrule.lax against jax.lax on programs written for JAX: each program is written
once over ``(lib, lax, npm)`` and run with chainrule's and with JAX's (the oracle)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import lax as clax

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
jlax = pytest.importorskip("jax.lax")
jax.config.update("jax_enable_x64", True)

X = np.array([0.3, 1.2, -0.7])
W = np.array([[0.5, -0.2, 0.1], [0.3, 0.8, -0.4], [0.0, 0.2, 0.9]])
XS = np.linspace(-1.0, 1.0, 15).reshape(5, 3)
INDICES = np.array([-1, 0, 1, 2, 5])


def rnn(lax, npm):  # an Elman network over a sequence, by scan
    def loss(W, h0, xs):
        def step(h, x):
            h = npm.tanh(W @ h + x)
            return h, npm.sum(h**2)

        h, ys = lax.scan(step, h0, xs)
        return npm.sum(ys) + npm.sum(h)

    return loss


def power_iteration(lax, npm):
    return lambda W: lax.fori_loop(0, 20, lambda i, v: W @ v / npm.linalg.norm(W @ v), npm.ones(3))


def newton_sqrt(lax, npm):
    return lambda a: lax.while_loop(lambda v: npm.abs(v * v - a) > 1e-12, lambda v: 0.5 * (v + a / v), a)


def piecewise(lax, npm):
    return lambda x: lax.cond(x > 0, lambda x: npm.sin(x) * x, lambda x: -(x**3), x)


def three_way(lax, npm):
    return lambda i, x: lax.switch(i, [lambda x: x, lambda x: npm.sin(x), lambda x: x**2], x)


PROGRAMS = {
    "scan": lambda lib, lax, npm: rnn(lax, npm)(W, X, XS),
    "grad of scan": lambda lib, lax, npm: lib.grad(rnn(lax, npm), argnums=(0, 1, 2))(W, X, XS),
    "jit of grad of scan": lambda lib, lax, npm: lib.jit(lib.grad(rnn(lax, npm)))(W, X, XS),
    "vmap of scan": lambda lib, lax, npm: lib.vmap(rnn(lax, npm), in_axes=(None, 0, None))(W, XS, XS),
    "hessian of scan": lambda lib, lax, npm: lib.hessian(rnn(lax, npm), argnums=1)(W, X, XS),
    "scan in reverse": lambda lib, lax, npm: lax.scan(
        lambda c, x: (c + x, c * x), 0.0, XS[:, 0], reverse=True),
    "scan over pytrees": lambda lib, lax, npm: lax.scan(
        lambda c, x: ({"a": c["a"] + x[0]}, (x[1] * 2, {"z": x[0]})), {"a": 0.0}, (XS[:, 0], XS[:, 1])),
    "scan by length": lambda lib, lax, npm: lax.scan(lambda c, _: (c * 2, c), 1.0, None, length=4),
    "scan of no steps": lambda lib, lax, npm: lax.scan(
        lambda c, x: (c + x, c * x), np.zeros(3), np.zeros((0, 3))),
    "scan without outputs": lambda lib, lax, npm: lax.scan(lambda c, x: (c + x, None), 0.0, XS[:, 0]),
    "map": lambda lib, lax, npm: lax.map(lambda r: npm.sum(r**2), XS),
    "fori_loop": lambda lib, lax, npm: power_iteration(lax, npm)(W),
    "grad of fori_loop": lambda lib, lax, npm: lib.grad(
        lambda W: npm.sum(power_iteration(lax, npm)(W)))(W),
    "jit of fori_loop": lambda lib, lax, npm: lib.jit(power_iteration(lax, npm))(W),
    "while_loop": lambda lib, lax, npm: newton_sqrt(lax, npm)(2.0),
    "jit of while_loop": lambda lib, lax, npm: [lib.jit(newton_sqrt(lax, npm))(a) for a in (3.0, 0.5)],
    "jvp of while_loop": lambda lib, lax, npm: lib.jvp(newton_sqrt(lax, npm), (2.0,), (1.0,)),
    "grad of cond": lambda lib, lax, npm: [lib.grad(piecewise(lax, npm))(v) for v in (0.5, -0.5, 0.0)],
    "jit of cond, branch flipping": lambda lib, lax, npm: [
        lib.jit(lib.grad(piecewise(lax, npm)))(v) for v in (0.5, -0.5, 0.7, -0.0)],
    "vmap of cond": lambda lib, lax, npm: lib.vmap(piecewise(lax, npm))(X),
    "vmap of grad of cond": lambda lib, lax, npm: lib.vmap(lib.grad(piecewise(lax, npm)))(X),
    "cond over pytrees": lambda lib, lax, npm: lax.cond(
        False, lambda a, b: (a, {"s": b}), lambda a, b: (b, {"s": a}), 1.0, 2.0),
    "switch, index clamped": lambda lib, lax, npm: [three_way(lax, npm)(i, 0.7) for i in INDICES],
    "vmap of switch": lambda lib, lax, npm: lib.vmap(three_way(lax, npm))(INDICES, XS[:, 0]),
    "vmap of grad of switch": lambda lib, lax, npm: lib.vmap(
        lib.grad(three_way(lax, npm), argnums=1))(INDICES, XS[:, 0]),
    # a condition or bounds that differ between examples: each example stops on its own
    "vmap of while_loop, condition per example": lambda lib, lax, npm: lib.vmap(
        lambda a: lax.while_loop(lambda v: v < a, lambda v: v * 2, 1.0))(np.array([3.0, 10.0, 0.5])),
    "vmap of newton's while_loop": lambda lib, lax, npm: lib.vmap(newton_sqrt(lax, npm))(np.abs(XS[:, 0]) + 0.1),
    "vmap of while_loop over a pytree carry": lambda lib, lax, npm: lib.vmap(
        lambda k, v: lax.while_loop(lambda c: c[0] < k, lambda c: (c[0] + 1, {"v": npm.sin(c[1]["v"]) * 2}),
                                    (0, {"v": v})))(np.array([1, 3, 0, 2, 2]), XS),
    "vmap of while_loop, condition batched, body not": lambda lib, lax, npm: lib.vmap(
        lambda a: lax.while_loop(lambda c: c[1] < a, lambda c: (c[0] * 3.0, c[1] + 1), (1.0, 0)))(INDICES),
    "jacfwd of vmap of while_loop": lambda lib, lax, npm: lib.jacfwd(
        lambda a: lib.vmap(newton_sqrt(lax, npm))(a))(np.array([2.0, 0.5])),
    "vmap of jacfwd of while_loop": lambda lib, lax, npm: lib.vmap(lib.jacfwd(
        lambda x, n: lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, npm.tanh(W @ c[1])), (0, x))[1]),
        in_axes=(0, 0))(XS, np.array([0, 1, 2, 3, 4])),
    "vmap of fori_loop, bounds per example": lambda lib, lax, npm: lib.vmap(
        lambda lo, hi, x: lax.fori_loop(lo, hi, lambda i, v: v * x + i, x))(
        np.array([0, 2, 1, 3, 0]), np.array([3, 2, 4, 0, 1]), XS[:, 0]),
    "vmap of fori_loop, upper bound per example": lambda lib, lax, npm: lib.vmap(
        lambda n, v: lax.fori_loop(0, n, lambda i, v: W @ v / npm.linalg.norm(W @ v), v))(
        np.array([0, 1, 5, 2, 3]), XS),
    "empty vmap of while_loop": lambda lib, lax, npm: lib.vmap(
        lambda a: lax.while_loop(lambda v: v < a, lambda v: v * 2, 1.0))(np.zeros(0)),
    # dynamic slicing: a negative start counts from the end, every start is clamped to fit
    "dynamic_slice, starts clamped": lambda lib, lax, npm: [
        lax.dynamic_slice(XS, (i, j), (2, 2)) for i in INDICES for j in (-4, 0, 2, 7)],
    "vmap of dynamic_slice": lambda lib, lax, npm: lib.vmap(
        lambda x, i: lax.dynamic_slice(x, (i,), (2,)))(XS, INDICES),
    "vmap of dynamic_slice, the operand shared": lambda lib, lax, npm: lib.vmap(
        lambda i: lax.dynamic_slice(XS, (i, i), (3, 2)))(INDICES),
    "vmap of grad of dynamic_slice_in_dim": lambda lib, lax, npm: lib.vmap(lib.grad(
        lambda x, i: npm.sum(npm.sin(lax.dynamic_slice_in_dim(W @ x, i, 2)))))(XS, INDICES),
    "jit of vmap of dynamic_index_in_dim": lambda lib, lax, npm: lib.jit(lib.vmap(
        lambda i: (lax.dynamic_index_in_dim(XS, i), lax.dynamic_index_in_dim(XS, i, 1, False))))(INDICES),
    "vmap of dynamic_update_slice": lambda lib, lax, npm: lib.vmap(
        lambda x, u, i: lax.dynamic_update_slice(x, u, (i,)))(XS, XS[:, :2] * 9, INDICES),
    "vmap of dynamic_update_slice, the update shared": lambda lib, lax, npm: lib.vmap(
        lambda i: lax.dynamic_update_slice(XS, W[:2, :2], (i, i)))(INDICES),
    "vmap of grad of dynamic_update_slice": lambda lib, lax, npm: lib.vmap(lib.grad(
        lambda x, u, i: npm.sum(npm.sin(lax.dynamic_update_slice(x, u * x[0], (i,)))), argnums=(0, 1)))(
        XS, XS[:, :2], INDICES),
    "vmap of jacfwd of dynamic_update_index_in_dim": lambda lib, lax, npm: lib.vmap(lib.jacfwd(
        lambda u, i: lax.dynamic_update_index_in_dim(XS, u ** 2, i, 0)))(XS, INDICES),
    "dynamic_update_slice_in_dim": lambda lib, lax, npm: lax.dynamic_update_slice_in_dim(XS, W[:, :2], -1, 1),
    "vmap of grad of clamp": lambda lib, lax, npm: lib.vmap(lib.grad(
        lambda x: npm.sum(lax.clamp(-0.5, x, 0.5) ** 2)))(XS),
    # collectives over the batch axis of a named vmap
    "vmap with pmean, psum, pmax, pmin": lambda lib, lax, npm: lib.vmap(
        lambda x: (x - lax.pmean(x, "i"), x / lax.psum(x, "i"), lax.pmax(x, "i"), lax.pmin(x, "i"),
                   x * lax.psum(1, "i"), lax.psum(X, "i")), axis_name="i")(XS),
    "batch norm over a named axis": lambda lib, lax, npm: lib.vmap(lambda x: (
        x - lax.pmean(x, "batch")) / npm.sqrt(lax.pmean((x - lax.pmean(x, "batch")) ** 2, "batch") + 1e-5),
        axis_name="batch")(XS),
    "axis_index and all_gather": lambda lib, lax, npm: lib.vmap(lambda x: (
        x * lax.axis_index("i"), lax.all_gather(x, "i"), lax.all_gather(x, "i", axis=1),
        lax.all_gather(x, "i", tiled=True), lax.psum({"a": x, "b": [x[0]]}, "i")), axis_name="i")(XS),
    "grad and jacfwd of a vmap with pmean": lambda lib, lax, npm: (
        lib.grad(lambda xs: npm.sum(lib.vmap(lambda x: npm.sin(W @ x - lax.pmean(x, "i")) ** 2,
                                             axis_name="i")(xs)))(XS),
        lib.jacfwd(lib.vmap(lambda x: x * lax.psum(x ** 2, "i"), axis_name="i"))(XS[:, 0])),
    "jit of a vmap with psum": lambda lib, lax, npm: lib.jit(lib.vmap(
        lambda x: x / lax.psum(x, "i"), axis_name="i"))(XS),
    "nested named maps": lambda lib, lax, npm: lib.vmap(lib.vmap(lambda x: (
        x - lax.pmean(x, "i"), x - lax.pmean(x, "j"), x / lax.psum(x ** 2, ("i", "j")), lax.all_gather(x, "i"),
        x * lax.axis_index("i") + lax.axis_index("j")), axis_name="j"), axis_name="i")(XS.reshape(5, 3, 1)),
    "nested, gathered over a map the value does not vary in": lambda lib, lax, npm: lib.vmap(
        lambda y: lib.vmap(lambda x: lax.all_gather(x, "i") + y, axis_name="j")(XS), axis_name="i")(X),
    # derivatives inside the named map: psum's transpose is psum (2 * sum(x) below)
    "grad inside a vmap with psum": lambda lib, lax, npm: lib.vmap(lib.grad(lambda x: lax.psum(x, "i") * x),
                                                                   axis_name="i")(XS[:, 0]),
    "batch norm's gradient inside the named map": lambda lib, lax, npm: lib.vmap(lib.value_and_grad(
        lambda v: npm.sum(((v - lax.pmean(v, "b")) / npm.sqrt(lax.pmean((v - lax.pmean(v, "b")) ** 2, "b") + 1e-5))
                          ** 3)), axis_name="b")(XS),
    "grads, jacobians and hessians inside a named map": lambda lib, lax, npm: lib.vmap(lambda x: (
        lib.grad(lambda v: npm.sum(lax.pmean(v, "i") * v))(x), lib.jacfwd(lambda v: npm.tanh(v - lax.pmean(v, "i")))(x),
        lib.jacrev(lambda v: npm.sin(lax.psum(v, "i")) * v ** 2)(x),
        lib.hessian(lambda v: npm.sum(npm.sin(lax.pmean(v, "i")) * v ** 2))(x),
        lib.jvp(lambda v: lax.all_gather(v ** 2, "i"), (x,), (npm.cos(x),)),
        lib.grad(lambda v: npm.sum(npm.sin(lax.all_gather(v, "i", axis=1)) * npm.arange(15.0).reshape(3, 5)))(x),
        lib.grad(lambda v: npm.sum(npm.sin(lax.all_gather(v, "i", tiled=True)) * v[0]))(x),
        lib.grad(lambda v: npm.sum(lax.psum(v, "i") * v * lax.axis_index("i")))(x)), axis_name="i")(XS),
    "nested maps with a grad between them": lambda lib, lax, npm: (
        lib.vmap(lib.grad(lambda v: npm.sum(lib.vmap(lambda u: lax.psum(u, "i") * u, axis_name="j")(v) ** 2)),
                 axis_name="i")(XS.reshape(5, 3, 1)),
        lib.vmap(lib.vmap(lib.grad(lambda v: npm.sum(lax.psum(v, ("i", "j")) * v ** 2)), axis_name="j"),
                 axis_name="i")(XS.reshape(5, 3, 1)),
        lib.grad(lambda xs: npm.sum(lib.vmap(lib.grad(lambda v: npm.sum(lax.psum(v, "i") * v ** 2)),
                                             axis_name="i")(xs) ** 2))(XS),
        lib.jit(lib.vmap(lib.grad(lambda v: npm.sum(lax.psum(v, "i") * npm.sin(v))), axis_name="i"))(XS),
        lib.vmap(lib.jit(lambda v: v / lax.psum(v, "i")), axis_name="i")(XS),
        lib.vmap(lambda c: lib.grad(lambda v: lax.psum(v, "i") * c)(1.5), axis_name="i")(X)),
    # the collectives whose result differs between the examples, and their derivatives
    "ppermute, pshuffle, psum_scatter, all_to_all, pbroadcast, axis_size": lambda lib, lax, npm: lib.vmap(lambda x: (
        lax.ppermute(x, "i", [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0)]), lax.pshuffle(x, "i", [4, 0, 1, 3, 2]),
        lax.psum_scatter(npm.concatenate([x, x[:2]]), "i"), lax.psum_scatter(npm.tile(x, 5), "i", tiled=True),
        lax.all_to_all(npm.outer(npm.arange(5.0), x), "i", 0, 1), lax.pbroadcast(x, "i", 3),
        lax.all_to_all(npm.outer(x, npm.arange(10.0)), "i", 1, 0, tiled=True), x * lax.axis_size("i"),
        lax.ppermute(1.0, "i", [(0, 1), (1, 0), (2, 2), (3, 4), (4, 3)])), axis_name="i")(XS),
    "their derivatives inside the map": lambda lib, lax, npm: lib.vmap(lambda x: (
        lib.grad(lambda v: npm.sum(npm.sin(lax.ppermute(v * v, "i", [(0, 1), (1, 0), (2, 3), (3, 4), (4, 2)])) * v))(x),
        lib.grad(lambda v: npm.sum(npm.sin(lax.pshuffle(v, "i", [4, 0, 1, 3, 2])) * npm.arange(3.0)))(x),
        lib.grad(lambda v: npm.sum(npm.sin(lax.psum_scatter(npm.tile(v, 5), "i", tiled=True)) * v))(x),
        lib.jacfwd(lambda v: lax.psum_scatter(npm.concatenate([v, v[:2]]) ** 2, "i"))(x),
        lib.jacrev(lambda v: lax.ppermute(npm.sin(v), "i", [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0)]))(x),
        lib.grad(lambda v: npm.sum(npm.sin(lax.all_to_all(npm.outer(v, npm.arange(10.0)), "i", 1, 0, tiled=True))
                                   * npm.arange(30.0).reshape(15, 2)))(x)), axis_name="i")(XS),
    "map with a batch_size": lambda lib, lax, npm: lax.map(lambda x: npm.sin(x) * x[0], XS, batch_size=2),
    "select": lambda lib, lax, npm: lax.select(X > 0, X, -X),
    "stop_gradient": lambda lib, lax, npm: lib.grad(lambda x: x * lax.stop_gradient(x))(2.0),
}


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_written_for_jax_lax_gives_jax_results(name):
    ours = PROGRAMS[name](cr, clax, cnp)
    theirs = PROGRAMS[name](jax, jlax, jnp)
    ours_leaves = cr.tree_leaves(ours)
    theirs_leaves = jax.tree_util.tree_leaves(theirs)
    assert len(ours_leaves) == len(theirs_leaves)
    for a, b in zip(ours_leaves, theirs_leaves, strict=True):
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14)


F32 = np.arange(1.0, 4.0, dtype=np.float32)
WEAK_CARRIES = {  # a carry's Python number takes the body's dtype before the first step, as JAX's weak type
    "scan's ys from the promoted carry": lambda lax, npm: lax.scan(lambda c, x: (c + x, c * 3), 1, F32),
    "scan of a tuple, one leaf promoted": lambda lax, npm: lax.scan(
        lambda c, x: ((c[0] + x, c[1]), c[0] / 3), (1.0, 2), F32),
    "scan of int32 from 0": lambda lax, npm: lax.scan(lambda c, x: (c + x, c), 0, F32.astype(np.int32)),
    "scan of no steps": lambda lax, npm: lax.scan(lambda c, x: (c + x, c), 0.0, F32[:0]),
    "scan by length": lambda lax, npm: lax.scan(lambda c, _: (c * np.float32(2), c / 3), 1.0, None, length=2),
    "while_loop of no steps": lambda lax, npm: lax.while_loop(lambda c: c < 0, lambda c: c + 1.5, 0),
    "while_loop": lambda lax, npm: lax.while_loop(lambda c: c < 2, lambda c: c * 3 + np.float32(0.7), 1.0),
    "fori_loop of no steps": lambda lax, npm: lax.fori_loop(0, 0, lambda i, c: c + np.float32(1.5), 0.0),
    "fori_loop": lambda lax, npm: lax.fori_loop(0, 2, lambda i, c: (c[0] / 3 + np.float32(3), c[1]), (1.0, 1)),
}


@pytest.mark.parametrize("name", WEAK_CARRIES)
def test_a_python_number_in_a_carry_takes_the_body_dtype_as_in_jax(name):
    ours, theirs = WEAK_CARRIES[name](clax, cnp), WEAK_CARRIES[name](jlax, jnp)
    for a, b in zip(cr.tree_leaves(ours), jax.tree_util.tree_leaves(theirs), strict=True):
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_carry_python_number_that_cannot_take_the_body_dtype_is_refused():
    # as JAX's: 0.0 does not become an int32, nor True an int
    for carry, new in ((0.0, np.int32(5)), (True, np.int32(5)), (0, np.bool_(True))):
        for lax in (jlax, clax):
            with pytest.raises(TypeError):
                lax.while_loop(lambda c: c < 3, lambda c, new=new: new, carry)


def test_grad_of_while_loop_where_jax_has_no_reverse_mode():
    # d sqrt(a)/da = 1 / (2 sqrt(a)): the loop's iterations are differentiated as they ran
    np.testing.assert_allclose(cr.grad(newton_sqrt(clax, cnp))(2.0), 0.5 / np.sqrt(2.0), rtol=1e-12)


def test_bad_calls_say_what_was_wrong():
    with pytest.raises(TypeError, match="predicate must be a scalar, got shape"):
        clax.cond(X > 0, lambda: 1.0, lambda: 2.0)
    with pytest.raises(ValueError, match="xs and length disagree"):
        clax.scan(lambda c, x: (c, x), 0.0, XS, length=3)
    with pytest.raises(ValueError, match="give length="):
        clax.scan(lambda c, x: (c, x), 0.0, None)
    with pytest.raises(ValueError, match="a 0-d value has none"):
        clax.scan(lambda c, x: (c, x), 0.0, 1.0)
    with pytest.raises(TypeError, match=r"must return a pair \(carry, y\), as in JAX; it returned float64"):
        clax.scan(lambda c, x: c + x, 0.0, XS[:, 0])
    with pytest.raises(TypeError, match=r"shape \(5, 3\) needs 2 start indices and sizes; got 1 and 2"):
        clax.dynamic_slice(XS, (1,), (2, 2))
    with pytest.raises(TypeError, match=r"the sizes \(6, 2\) do not fit in the shape \(5, 3\)"):
        clax.dynamic_slice(XS, (0, 0), (6, 2))
    with pytest.raises(TypeError, match="the same number of axes"):
        clax.dynamic_update_slice(XS, np.ones(2), (0, 0))
    with pytest.raises(NameError, match="unbound axis name: 'k'"):
        cr.vmap(lambda x: clax.psum(x, "k"), axis_name="i")(XS)
    with pytest.raises(TypeError, match="differently structured outputs"):
        cr.vmap(lambda v: clax.cond(v > 0, lambda: (v,), lambda: [v]))(X)
    # select and select_n do not broadcast, as JAX's
    with pytest.raises(TypeError, match=r"the cases must have one shape.*\(3,\), \(1,\)"):
        clax.select(X > 0, np.ones(1), X)
    with pytest.raises(TypeError, match=r"must be 0-d or of the cases' shape"):
        clax.select_n(X > 0, XS, XS)
    with pytest.raises(TypeError, match=r"clamp: min must be 0-d or of the operand's shape"):
        clax.clamp(np.zeros(2), X, 1.0)
    for lax in (jlax, clax):
        with pytest.raises(TypeError):
            lax.select(X > 0, np.ones(1), X)
        with pytest.raises(TypeError):
            lax.select_n(X > 0, XS, XS)
        with pytest.raises(TypeError):
            lax.clamp(np.zeros(2), X, 1.0)


def test_fori_loop_with_bounds_per_example_counts_in_their_dtype():
    # JAX's counter has the bounds' dtype (a Python int taking the other's): int32 here
    f = lambda lax, npm: lambda n: lax.fori_loop(0, n, lambda i, c: c + i, npm.int32(1))  # noqa: E731
    n = np.array([0, 3, 5], np.int32)
    ours, theirs = cr.vmap(f(clax, cnp))(n), jax.vmap(f(jlax, jnp))(n)
    assert ours.dtype == theirs.dtype == np.int32
    np.testing.assert_array_equal(ours, theirs)


def test_jit_traces_again_when_the_number_of_iterations_changes():
    power = cr.jit(lambda n, x: clax.fori_loop(0, n, lambda i, v: v * x, 1.0))
    assert [float(power(np.array(n), 2.0)) for n in (3, 4, 3, 0)] == [8.0, 16.0, 8.0, 1.0]
    doubling = cr.jit(lambda a: clax.while_loop(lambda v: v < a, lambda v: v * 2, 1.0))
    assert [float(doubling(a)) for a in (3.0, 10.0, 0.5)] == [4.0, 16.0, 1.0]



@pytest.mark.parametrize("collective", ["pmax", "pmin"])
def test_pmax_and_pmin_differentiate_inside_the_map(collective):
    # JAX has no derivative for them; each example's gradient inside the map is that of the
    # sum over the examples, which central differences give (ties share evenly, as max's)
    reduce = np.max if collective == "pmax" else np.min
    xs = np.random.default_rng(3).normal(size=(4, 3))

    def total(xs):
        return np.sum(np.sin(reduce(xs, axis=0)) * xs ** 2)

    got = cr.vmap(cr.grad(lambda v: cnp.sum(cnp.sin(getattr(clax, collective)(v, "i")) * v ** 2)), axis_name="i")(xs)
    h, want = 1e-6, np.zeros_like(xs)
    for k in np.ndindex(xs.shape):
        e = np.zeros_like(xs)
        e[k] = h
        want[k] = (total(xs + e) - total(xs - e)) / (2 * h)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-8)
    tangent = np.cos(xs)
    _, jvp = cr.vmap(lambda v, t: cr.jvp(lambda v: getattr(clax, collective)(v, "i"), (v,), (t,)),
                     axis_name="i")(xs, tangent)
    at_extreme = tangent[np.argmax(xs == reduce(xs, axis=0), axis=0), range(3)]
    np.testing.assert_allclose(jvp, np.broadcast_to(at_extreme, xs.shape))
    tied = np.array([[1.0, 2.0], [1.0, -1.0]])  # column 0 tied: half each
    g = cr.vmap(cr.grad(lambda v: cnp.sum(getattr(clax, collective)(v, "i"))), axis_name="i")(tied)
    assert g[:, 0].tolist() == [1.0, 1.0]


SEND = [(0, 1), (1, 2), (2, 0), (3, 3)]
MIXING = {  # collectives whose derivatives JAX gets wrong or lacks here (pmax, pmin above)
    "pbroadcast": lambda v: clax.pbroadcast(v, "i", 2) * v,
    "all_to_all": lambda v: clax.all_to_all(cnp.outer(v, cnp.arange(4.0)), "i", 1, 0) * v[0],
    "all_to_all, tiled": lambda v: clax.all_to_all(cnp.outer(v, cnp.arange(8.0)), "i", 1, 0, tiled=True),
    "ppermute": lambda v: clax.ppermute(v ** 2, "i", SEND) * v,
}


@pytest.mark.parametrize("name", MIXING)
def test_derivatives_of_collectives_inside_the_map_against_central_differences(name):
    # each example's gradient inside the map is that of the sum over the examples; the sum
    # is computed by vmap alone (no derivative), and differenced
    f = MIXING[name]
    xs = np.random.default_rng(7).normal(size=(4, 3))
    weights = np.cos(np.arange(cr.vmap(f, axis_name="i")(xs)[0].size)).reshape(cr.vmap(f, axis_name="i")(xs)[0].shape)

    def total(xs):
        return float(np.sum(np.sin(cr.vmap(f, axis_name="i")(xs)) * weights))

    got = cr.vmap(cr.grad(lambda v: cnp.sum(cnp.sin(f(v)) * weights)), axis_name="i")(xs)
    h, want = 1e-6, np.zeros_like(xs)
    for k in np.ndindex(xs.shape):
        e = np.zeros_like(xs)
        e[k] = h
        want[k] = (total(xs + e) - total(xs - e)) / (2 * h)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_collectives_say_what_was_wrong():
    with pytest.raises(ValueError, match="sends from or to an example twice"):
        clax.ppermute(np.ones(2), "i", [(0, 1), (0, 2)])
    with pytest.raises(ValueError, match="outside the 5 of the map"):
        cr.vmap(lambda x: clax.ppermute(x, "i", [(0, 7)]), axis_name="i")(XS)
    with pytest.raises(ValueError, match="not a permutation"):
        cr.vmap(lambda x: clax.pshuffle(x, "i", [0, 0, 1, 2, 3]), axis_name="i")(XS)
    with pytest.raises(ValueError, match="3 entries, the map 5 examples"):
        cr.vmap(lambda x: clax.psum_scatter(x, "i"), axis_name="i")(XS)
    with pytest.raises(ValueError, match="does not split into the map's 5 examples"):
        cr.vmap(lambda x: clax.all_to_all(x, "i", 0, 0), axis_name="i")(XS)


BRANCHES = {  # the branch not taken differs from the taken one's outputs: JAX traces both and refuses
    "shape": lambda lax, npm: lax.cond(True, lambda x: x, lambda x: x[:1], npm.ones(2)),
    "dtype": lambda lax, npm: lax.cond(False, lambda x: x.astype(npm.float32), lambda x: x, npm.ones(2)),
    "structure": lambda lax, npm: lax.cond(True, lambda x: (x,), lambda x: [x], npm.ones(2)),
    "switch": lambda lax, npm: lax.switch(0, [lambda x: x, lambda x: x, lambda x: x.sum()], npm.ones(2)),
    "closure": lambda lax, npm: lax.cond(True, lambda: npm.ones(2), lambda: npm.ones(3)),
}


@pytest.mark.parametrize("program", BRANCHES.values(), ids=BRANCHES.keys())
def test_cond_checks_the_branch_not_taken_as_jax(program):
    # only the branch taken ran: its outputs were returned without a word of the other's
    with pytest.raises(TypeError):
        program(jlax, jnp)
    with pytest.raises(TypeError, match="the branches returned"):
        program(clax, cnp)


def test_cond_passes_over_a_branch_not_taken_that_cannot_run_on_zeros():
    # JAX's tracing computes no values: a Cholesky factor of the zero matrix is never taken
    for lax, npm in ((jlax, jnp), (clax, cnp)):
        cholesky = npm.linalg.cholesky
        assert np.allclose(lax.cond(True, lambda a: a, cholesky, np.eye(2)), np.eye(2))
        assert lax.cond(True, lambda x: 1.0, lambda x: x.sum(), npm.ones(2)) == 1.0

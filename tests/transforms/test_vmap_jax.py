"""cr.vmap against jax.vmap: the same programs (tests/transforms/vmap_jax_programs.py),
written as JAX users write them, run by both libraries in float64 and compared to 1e-12;
errors raised where JAX raises; Modules (per-example gradients, ensembles) against the
same model written for JAX."""

import inspect
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = pytest.importorskip("jax.numpy")
jsp = pytest.importorskip("jax.scipy.special")
jnn = pytest.importorskip("jax.nn")
jsl = pytest.importorskip("jax.scipy.linalg")

import vmap_jax_programs_api  # noqa: E402, F401  (registers its programs in the same table)
import vmap_jax_programs_edges  # noqa: E402, F401
from vmap_jax_programs import PROGRAMS  # noqa: E402  (tests/transforms is on sys.path)

import chainrule as cr  # noqa: E402
import chainrule.numpy as cnp  # noqa: E402
import chainrule.scipy.linalg as csl  # noqa: E402
import chainrule.scipy.special as csp  # noqa: E402
import chainrule.scipy.stats as cst  # noqa: E402
from chainrule import lax as clax  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.nn import functional as F  # noqa: E402


def _jax_set(x, index, v):
    return jnp.asarray(x).at[index].set(v)


def _cr_set(x, index, v):
    # a copy, so the caller's array is left alone (as .at[].set does); assigning into a
    # plain NumPy array is NumPy's own code, so a batched value goes into a batched copy
    out = cnp.array(x) if isinstance(x, cr.Tensor) else cnp.zeros_like(v, shape=np.shape(x)) + x
    out[index] = v
    return out


JAX = SimpleNamespace(
    np=jnp, vmap=jax.vmap, grad=jax.grad, value_and_grad=jax.value_and_grad, jvp=jax.jvp,
    jit=jax.jit, jacfwd=jax.jacfwd, jacrev=jax.jacrev, hessian=jax.hessian,
    custom_vjp=jax.custom_vjp, custom_jvp=jax.custom_jvp, checkpoint=jax.checkpoint,
    special=SimpleNamespace(logsumexp=jsp.logsumexp, softmax=jnn.softmax, log_softmax=jnn.log_softmax,
                            expit=jsp.expit, logit=jsp.logit, erf=jsp.erf, gammaln=jsp.gammaln,
                            xlogy=jsp.xlogy, xlog1py=jsp.xlog1py, entr=jsp.entr, zeta=jsp.zeta,
                            rel_entr=jsp.rel_entr, kl_div=jsp.kl_div),
    set=_jax_set, tensor=jnp.asarray, plain=np.asarray, scipy=SimpleNamespace(linalg=jsl),
    at=lambda x: jnp.asarray(x).at, stats=pytest.importorskip("jax.scipy.stats"), nn=jnn, lax=jax.lax,
)
CR = SimpleNamespace(
    np=cnp, vmap=cr.vmap, grad=cr.grad, value_and_grad=cr.value_and_grad, jvp=cr.jvp,
    jit=cr.jit, jacfwd=cr.jacfwd, jacrev=cr.jacrev, hessian=cr.hessian, special=csp,
    custom_vjp=cr.custom_vjp, custom_jvp=cr.custom_jvp, checkpoint=cr.checkpoint,
    set=_cr_set, tensor=cr.tensor, plain=lambda t: t.numpy(), scipy=SimpleNamespace(linalg=csl),
    at=cr.at, stats=cst, nn=F, lax=clax,
)


def assert_same(got, want, tol=1e-12):
    """``got`` (chainrule's) has JAX's structure, shapes, kinds of dtype and values."""
    got_leaves, got_tree = jax.tree_util.tree_flatten(got)
    want_leaves, want_tree = jax.tree_util.tree_flatten(want)
    assert got_tree == want_tree, (got_tree, want_tree)
    for k, (g, w) in enumerate(zip(got_leaves, want_leaves, strict=True)):
        assert not isinstance(g, cr.Tensor), f"leaf {k} is a Tensor, not an array"
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"leaf {k}: shape {g.shape}, JAX {w.shape}"
        assert g.dtype.kind == w.dtype.kind or {g.dtype.kind, w.dtype.kind} <= {"i", "u"}, (
            f"leaf {k}: dtype {g.dtype}, JAX {w.dtype}")
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol, err_msg=f"leaf {k}")


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_matches_jax(name):
    fn, make_args = PROGRAMS[name]
    args = make_args(np.random.default_rng(sum(map(ord, name))))
    want = fn(JAX, *args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a per-example fallback warns; its values still count
        got = fn(CR, *args)
    assert_same(got, want)


# -- errors where JAX raises ----------------------------------------------------------------------
ones = np.ones
ERRORS = {
    "different batch sizes": (lambda L: L.vmap(lambda x, y: x + y)(ones(3), ones(4)),
                              r"argument 0 has size 3.*argument 1 has size 4"),
    "different batch sizes, kwargs": (lambda L: L.vmap(lambda x, y: x + y)(ones(3), y=ones(4)),
                                      r"size 3.*'y'.* size 4"),
    "different batch sizes, in a pytree": (
        lambda L: L.vmap(lambda d: d["a"] + d["b"])({"a": ones(3), "b": ones(2)}), r"size 3.*size 2"),
    "axis_size disagrees": (lambda L: L.vmap(lambda x: x, axis_size=4)(ones(3)), r"size 3.*axis_size=4"),
    "in_axes out of range": (lambda L: L.vmap(lambda x: x, in_axes=2)(ones((3, 4))), r"in_axes=2"),
    "negative in_axes out of range": (lambda L: L.vmap(lambda x: x, in_axes=-3)(ones((3, 4))),
                                      r"in_axes=-3"),
    "in_axes for a scalar": (lambda L: L.vmap(lambda x: x)(1.0), r"in_axes=0.*0 axes.*in_axes=None"),
    "in_axes too short": (lambda L: L.vmap(lambda x, y: x, in_axes=(0,))(ones(3), ones(3)),
                          r"1 entries but 2"),
    "in_axes too long": (lambda L: L.vmap(lambda x: x, in_axes=(0, 0))(ones(3)), r"2 entries but 1"),
    "in_axes dict keys": (lambda L: L.vmap(lambda d: d, in_axes=({"a": 0},))({"b": ones(3)}),
                          r"keys \['a'\] but the value there is a dict with keys \['b'\].*prefix"),
    "out_axes dict keys": (lambda L: L.vmap(lambda x: {"a": x}, out_axes={"b": 0})(ones(3)),
                           r"keys \['b'\] but the value there is a dict with keys \['a'\].*prefix"),
    "in_axes dict of other keys": (lambda L: L.vmap(lambda d: d["a"], in_axes=({"a": 0, "b": 0},))({"a": ones(3)}),
                                   r"keys \['a', 'b'\] but the value there is a dict with keys \['a'\]"),
    "a string output": (lambda L: L.vmap(lambda x: (x, "done"))(ones(3)), r"output 1 is 'done' of type str"),
    "a function output": (lambda L: L.vmap(lambda x: {"f": len, "x": x})(ones(3)), r"output 0 is <built-in"),
    "in_axes list length": (lambda L: L.vmap(lambda p: p, in_axes=([0, 0],))([ones(3)]), r"prefix"),
    "in_axes dict for an array": (lambda L: L.vmap(lambda p: p, in_axes=({"a": 0},))(ones(3)),
                                  r"prefix"),
    "in_axes a dict at the top": (lambda L: L.vmap(lambda d: d["a"], in_axes={"a": 0})({"a": ones(3)}),
                                  r"one\s+entry per positional argument"),
    "in_axes not an axis": (lambda L: L.vmap(lambda x: x, in_axes=1.5)(ones(3)), r"in_axes"),
    # JAX takes Python ints only: a NumPy integer is refused, at the top or inside a tuple
    "in_axes a NumPy integer": (lambda L: L.vmap(lambda x: x, in_axes=np.int64(0))(ones(3)),
                                r"in_axes is np.int64\(0\), a NumPy integer.*int\(\.\.\.\)"),
    "in_axes holding a NumPy integer": (lambda L: L.vmap(lambda x, y: x, in_axes=(np.int32(0), None))(ones(3), 1.0),
                                        r"in_axes\[0\] is np.int32\(0\), a NumPy integer"),
    "out_axes a NumPy integer": (lambda L: L.vmap(lambda x: {"a": x}, out_axes={"a": np.int64(-1)})(ones(3)),
                                 r"out_axes\[0\] is np.int64\(-1\), a NumPy integer"),
    "not a function": (lambda L: L.vmap(3), r"vmap: expected a function to map, got 3 of type int"),
    "axis_size missing": (lambda L: L.vmap(lambda x: x, in_axes=None)(ones(3)), r"axis_size"),
    "no arguments": (lambda L: L.vmap(lambda: 1.0)(), r"axis_size"),
    "out_axes None for a batched output": (lambda L: L.vmap(lambda x: x, out_axes=None)(ones(3)),
                                           r"out_axes"),
    "out_axes out of range": (lambda L: L.vmap(lambda x: x, out_axes=2)(ones(3)), r"out_axes=2"),
    "out_axes structure": (lambda L: L.vmap(lambda x: (x, x), out_axes=(0, 0, 0))(ones(3)),
                           r"prefix"),
    # a count that depends on each example's values, even where the examples agree on it
    "nonzero without size": (lambda L: L.vmap(lambda x: L.np.nonzero(x > 0))(ones((2, 3))), r"size=n"),
    "one-argument where without size": (lambda L: L.vmap(lambda x: L.np.where(x > 0)[0])(ones((2, 3))),
                                        r"size=n"),
    "flatnonzero without size": (lambda L: L.vmap(lambda x: L.np.flatnonzero(x))(ones((2, 3))), r"size=n"),
    "argwhere without size": (lambda L: L.vmap(lambda x: L.np.argwhere(x))(ones((2, 3))), r"size=n"),
}




def _bad_bwd(L, bwd, in_axes=(0, None)):
    """vmap of grad of a custom_vjp ``f(x, p)`` (``x`` a vector, ``p`` a dict) whose
    ``bwd(residuals, g)`` is ``bwd``, which gets ``(x, p)`` as its residuals."""
    f = L.custom_vjp(lambda x, p: L.np.sin(x) * p["s"] + p["t"])
    f.defvjp(lambda x, p: (f(x, p), (x, p)), bwd)
    return L.vmap(L.grad(lambda x, p: L.np.sum(f(x, p)), argnums=(0, 1)), in_axes=in_axes)(
        ones((2, 3)), {"s": 1.5, "t": 0.5})


ERRORS.update({  # a custom_vjp's bwd must give each argument a cotangent of its structure and shape
    "custom_vjp bwd, broadcast cotangent": (
        lambda L: _bad_bwd(L, lambda r, g: (g * L.np.cos(r[0]) * r[1]["s"],
                                            {"s": g * L.np.sin(r[0]), "t": L.np.sum(g)})),
        r"shape \(3,\) for argument 1 \(leaf 0\), which has shape \(\); each cotangent must have its argument's shape"),
    "custom_vjp bwd, batched argument": (
        lambda L: _bad_bwd(L, lambda r, g: (L.np.sum(g), {"s": L.np.sum(g), "t": L.np.sum(g)})),
        r"shape \(\) for argument 0, which has shape \(3,\)"),
    "custom_vjp bwd, dict of other keys": (
        lambda L: _bad_bwd(L, lambda r, g: (g, {"s": L.np.sum(g)})), r"cotangent of argument 1"),
})

_V, _I = np.array([0.5, -1.0]), np.array([1, 0], np.int32)
ERRORS.update({  # branches that both run under a batched predicate must agree in type, as JAX's must
    "cond branches of different dtypes": (
        lambda L: L.vmap(lambda v: L.lax.cond(v > 0, lambda: 1, lambda: v))(_V), r"cond: .*int64\[\] and float64\[\]"),
    "cond branches of different shapes": (
        lambda L: L.vmap(lambda v: L.lax.cond(v > 0, lambda: v, lambda: v[None]))(_V), r"float64\[\] and float64\[1\]"),
    "cond int32 branch and a Python int": (
        lambda L: L.vmap(lambda i: L.lax.cond(i > 0, lambda: i, lambda: 2))(_I), r"int32\[\] and int64\[\]"),
    "switch branches of different dtypes": (
        lambda L: L.vmap(lambda i: L.lax.switch(i, [lambda: 1.0, lambda: L.np.int32(2)]))(_I),
        r"switch: .*float64\[\] and int32\[\]"),
    "while_loop body changes the carry's dtype": (
        lambda L: L.vmap(lambda v: L.lax.while_loop(lambda c: c < 3, lambda c: c + 1.0, v))(_I),
        r"while_loop: the body changed the type of the carry: float64\[\] and int32\[\]"),
    "while_loop body changes the carry's shape": (
        lambda L: L.vmap(lambda v: L.lax.while_loop(lambda c: c[0] < 3, lambda c: L.np.concatenate([c, c]),
                                                    L.np.stack([v])))(_I), r"int32\[2\] and int32\[1\]"),
})

_X3, _N = np.ones((2, 2, 2)), np.array([1, 1])
ERRORS.update({  # a shape or an axis that is batched: a clear error, not NumPy's own about an array
    f"batched {what} of {name}": (lambda L, f=f: L.vmap(lambda v, n: f(L, v, n))(_X3, _N),
                                  rf"{name}: its {what} is batched \(one per example\).*in_axes=None")
    for name, what, f in [
        ("expand_dims", "axis", lambda L, v, n: L.np.expand_dims(v, n)),
        ("broadcast_to", "shape", lambda L, v, n: L.np.broadcast_to(v[0, :1], (n,))),
        ("transpose", "axes", lambda L, v, n: L.np.transpose(v, (n, 0, 2))),
        ("squeeze", "axis", lambda L, v, n: L.np.squeeze(v[:1], n - 1)),
        ("flip", "axis", lambda L, v, n: L.np.flip(v, n))]
})


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_where_jax_raises(name):
    fn, message = ERRORS[name]
    with pytest.raises((ValueError, TypeError)):
        fn(JAX)
    with pytest.raises((ValueError, TypeError), match=message):
        fn(CR)


def test_python_branch_on_a_batched_value():
    with pytest.raises(Exception):  # noqa: B017  JAX: a ConcretizationTypeError
        jax.vmap(lambda v: v if v.sum() > 0 else -v)(np.ones((3, 2)))
    with pytest.raises(TypeError, match="where"):
        cr.vmap(lambda v: v if v.sum() > 0 else -v)(np.ones((3, 2)))


# -- the derivatives at kinks where chainrule's convention is not JAX's (docs/vmap.md) -----------
KINKS = {  # name: (function of one number in either library's numpy, x, chainrule's, JAX's)
    "abs": (lambda n, x: n.abs(x), 0.0, 0.0, 1.0),
    "clip at lo": (lambda n, x: n.clip(x, 0.0, 1.0), 0.0, 0.0, 0.5),
    "clip at hi": (lambda n, x: n.clip(x, 0.0, 1.0), 1.0, 0.0, 0.5),
    "norm at 0": (lambda n, x: n.linalg.norm(n.stack([x, x])), 0.0, 0.0, np.nan),
    "std of equal values": (lambda n, x: n.std(n.stack([x, 1.0])), 1.0, 0.0, np.nan),
    "fmax tie": (lambda n, x: n.fmax(x, 1.0), 1.0, 0.5, 0.0),
    # and where they agree: ties share the derivative evenly
    "maximum tie": (lambda n, x: n.maximum(x, 1.0), 1.0, 0.5, 0.5),
    "max of ties": (lambda n, x: n.max(n.stack([x, x, 2 * x - 1])), 1.0, 4 / 3, 4 / 3),
    "sqrt at 0": (lambda n, x: n.sqrt(x), 0.0, np.inf, np.inf),
}


@pytest.mark.parametrize("name", sorted(KINKS))
def test_derivative_at_a_kink(name):
    f, x, ours, theirs = KINKS[name]
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(cr.grad(lambda v: f(cnp, v))(x), ours)
        np.testing.assert_array_equal(jax.grad(lambda v: f(jnp, v))(x), theirs)
        # batched, the examples on the kink take it, the others the ordinary derivative
        xs = np.array([x - 0.25, x, x + 0.25])
        got = cr.vmap(cr.grad(lambda v: f(cnp, v)))(xs)
        want = np.asarray(jax.vmap(jax.grad(lambda v: f(jnp, v)))(xs))
    np.testing.assert_array_equal(got[1], ours)
    np.testing.assert_allclose(got[[0, 2]], want[[0, 2]], rtol=1e-15)


def test_logsumexp_derivative_in_a_zero_weight():
    """log|sum(b * exp(a))| is smooth in a weight b_j = 0: its derivative there is
    exp(a_j) / sum (central differences agree); JAX's is 0."""
    a, b = np.array([0.3, -1.2, 0.8]), np.array([1.5, 0.0, -0.4])
    f = lambda S: lambda b: S.logsumexp(a, b=b, return_sign=True)[0]  # noqa: E731
    ours, theirs = cr.grad(f(csp))(b), jax.grad(f(jsp))(b)
    e = np.zeros(3)
    e[1] = 1e-6
    central = (f(csp)(b + e) - f(csp)(b - e)) / 2e-6
    np.testing.assert_allclose(ours[1], central, rtol=1e-8)
    np.testing.assert_allclose(ours[1], np.exp(a[1]) / abs(np.sum(b * np.exp(a))), rtol=1e-12)
    assert theirs[1] == 0.0
    np.testing.assert_allclose(ours[[0, 2]], np.asarray(theirs)[[0, 2]], rtol=1e-12)
    batched = cr.vmap(cr.grad(f(csp)))(np.stack([b, b[::-1]]))
    np.testing.assert_allclose(batched[0], ours, rtol=1e-14)


# -- Modules: per-example gradients and ensembles, against the same model in JAX ------------------
def _mlp(seed):
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    rng = np.random.default_rng(seed)
    with cr.no_grad():
        for p in model.parameters():
            p.copy_(rng.normal(size=p.shape))
    return model


def _jax_params(model):
    return [(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in (model[0], model[2])]


def _jax_mlp(params, x):
    (w1, b1), (w2, b2) = params
    return jnp.tanh(x @ w1.T + b1) @ w2.T + b2


def _jax_loss(params, x, y):
    return -jnn.log_softmax(_jax_mlp(params, x[None]))[0, y]


def test_module_per_example_gradients():
    model = _mlp(0)
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(7, 3)), rng.integers(0, 2, size=7)

    def loss(model, x, y):
        return F.cross_entropy(model(x[None]), y[None])

    got = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(model, X, Y)
    want = jax.vmap(jax.grad(_jax_loss), in_axes=(None, 0, 0))(_jax_params(model), X, Y)
    for layer, (gw, gb) in zip((got[0], got[2]), want, strict=True):
        np.testing.assert_allclose(np.asarray(layer.weight), gw, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.asarray(layer.bias), gb, rtol=1e-12, atol=1e-12)
    # the loss itself is on the Module's graph (its parameters require gradients), as in PyTorch
    losses = cr.vmap(loss, in_axes=(None, 0, 0))(model, X, Y).detach().numpy()
    np.testing.assert_allclose(losses, jax.vmap(_jax_loss, in_axes=(None, 0, 0))(
        _jax_params(model), X, Y), rtol=1e-12)


def test_ensemble_with_stacked_parameters():
    members = [_mlp(seed) for seed in range(4)]
    stacked = cr.tree_map(lambda *ps: np.stack([p.detach().numpy() for p in ps]), *members)
    X = np.random.default_rng(2).normal(size=(6, 3))
    got = cr.vmap(lambda m, x: m(x), in_axes=(0, None))(stacked, X)
    jax_stacked = jax.tree_util.tree_map(lambda *ps: np.stack(ps), *map(_jax_params, members))
    want = jax.vmap(_jax_mlp, in_axes=(0, None))(jax_stacked, X)
    assert_same(got, want)
    # and an ensemble's per-member gradients of a shared loss
    Y = np.random.default_rng(3).integers(0, 2, size=6)

    def loss(m, x, y):
        return F.cross_entropy(m(x), y)

    def jax_loss(p, x, y):
        return -jnp.mean(jnn.log_softmax(_jax_mlp(p, x))[jnp.arange(6), y])

    got_g = cr.vmap(cr.grad(loss), in_axes=(0, None, None))(stacked, X, Y)
    want_g = jax.vmap(jax.grad(jax_loss), in_axes=(0, None, None))(jax_stacked, X, Y)
    np.testing.assert_allclose(np.asarray(got_g[0].weight), want_g[0][0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(got_g[2].bias), want_g[1][1], rtol=1e-12, atol=1e-12)


def test_numpy_array_indexed_by_a_batched_index_names_the_way_out():
    table = np.arange(6.0)
    with pytest.raises(Exception):  # noqa: B017  JAX: a TracerArrayConversionError
        jax.vmap(lambda i: table[i])(np.array([1, 2]))
    with pytest.raises(TypeError, match=r"take\(array, index, axis=0\)"):
        cr.vmap(lambda i: table[i])(np.array([1, 2]))
    np.testing.assert_array_equal(cr.vmap(lambda i: cnp.take(table, i, axis=0))(np.array([1, 2])), [1.0, 2.0])


# -- an index out of bounds: NumPy's IndexError, batched or not (JAX clamps, fills or drops) ----
_X = np.arange(12.0).reshape(3, 4)
OUT_OF_BOUNDS = {  # name: (one example's function, in either library, of (x, i))
    "x[i]": lambda L, x, i: x[i],
    "x[i] + 1 under grad": lambda L, x, i: L.grad(lambda x: x[i] * x[0])(x),
    "x[:, i] of a matrix": lambda L, x, i: L.np.outer(x, x)[:, i],
    "take": lambda L, x, i: L.np.take(x, i),
    "take_along_axis": lambda L, x, i: L.np.take_along_axis(x, L.np.stack([i, 0]), axis=0),
    "at[i].get": lambda L, x, i: L.at(x)[i].get(),
    "at[i].set": lambda L, x, i: L.at(x)[i].set(0.0),
    "at[i].add": lambda L, x, i: L.at(x)[i].add(1.0),
    "at[i].max": lambda L, x, i: L.at(x)[i].max(1.0),
}


@pytest.mark.parametrize("name", sorted(OUT_OF_BOUNDS))
@pytest.mark.parametrize("index_batched", [True, False])
def test_index_out_of_bounds_raises_batched_as_unbatched(name, index_batched):
    f = OUT_OF_BOUNDS[name]
    i = np.array([1, 5, -1]) if index_batched else np.array([5, 5, 5])
    first = 1 if index_batched else 0  # the first example out of bounds
    with pytest.raises(IndexError, match=r"^index 5 is out of bounds for axis \d with size 4$") as unbatched:
        f(CR, cr.tensor(_X[first]), 5)
    for x_axes in (0, None):
        jax.vmap(lambda x, i: f(JAX, x, i), in_axes=(x_axes, 0))(  # JAX: no error
            JAX.tensor(_X if x_axes == 0 else _X[0]), i)
        # the example's own error (its axes, not the batch's), naming the example
        with pytest.raises(IndexError) as batched:
            cr.vmap(lambda x, i: f(CR, x, i), in_axes=(x_axes, 0))(cr.tensor(_X if x_axes == 0 else _X[0]), i)
        assert str(batched.value) == f"{unbatched.value} (in example {first} of the 3 that vmap maps over)"
    # nested maps and jit name each level's example
    with pytest.raises(IndexError) as nested:
        cr.jit(cr.vmap(cr.vmap(lambda x, i: f(CR, x, i), in_axes=(None, 0)), in_axes=(None, 1)))(
            cr.tensor(_X[0]), np.stack([i, i], 1))
    assert str(nested.value) == (f"{unbatched.value} (in example 0 of the 2 that vmap maps over) "
                                 f"(in example {first} of the 3 that vmap maps over)")
    # in bounds, negative indices included, the values are JAX's
    ok = np.array([1, -4, 3])
    assert_same(cr.vmap(lambda x, i: f(CR, x, i))(_X, ok), jax.vmap(lambda x, i: f(JAX, x, i))(_X, ok))


# -- result dtypes: batched as unbatched; NumPy's where JAX's differ (docs/vmap.md) ----------------
_B = np.array([[True, False, True], [False, False, True]])
_S = np.sort(np.random.default_rng(5).normal(size=(2, 5)), axis=1)
DTYPES = {  # name: (one example's function of (L, example), batch, chainrule's dtype, JAX's)
    "mean of bool": (lambda L, b: L.np.mean(b), _B, np.float64, np.float32),
    "mean of int32": (lambda L, b: L.np.mean(b), _B.astype(np.int32), np.float64, np.float32),
    "var of bool": (lambda L, b: L.np.var(b), _B, np.float64, np.float32),
    "std of bool, axis": (lambda L, b: L.np.std(b, axis=0), _B, np.float64, np.float32),
    "average of bool": (lambda L, b: L.np.average(b), _B, np.float64, np.float32),
    "mean of int64": (lambda L, b: L.np.mean(b), _B.astype(np.int64), np.float64, np.float64),
    "mean of float32": (lambda L, b: L.np.mean(b), _B.astype(np.float32), np.float32, np.float32),
    "searchsorted": (lambda L, s: L.np.searchsorted(s, 0.1), _S, np.int64, np.int32),
    "searchsorted, right": (lambda L, s: L.np.searchsorted(s, s[:2], side="right"), _S, np.int64, np.int32),
    "digitize": (lambda L, s: L.np.digitize(s[:2], s), _S, np.int64, np.int32),
}


@pytest.mark.parametrize("name", sorted(DTYPES))
def test_result_dtype_batched_as_unbatched(name):
    f, batch, ours, theirs = DTYPES[name]
    assert np.asarray(f(CR, batch[0])).dtype == ours
    got = cr.vmap(lambda v: f(CR, v))(batch)
    assert got.dtype == ours
    assert cr.jit(cr.vmap(lambda v: f(CR, v)))(batch).dtype == ours
    want = jax.vmap(lambda v: f(JAX, v))(batch)
    assert want.dtype == theirs and jnp.asarray(f(JAX, batch[0])).dtype == theirs
    np.testing.assert_allclose(got, want, rtol=1e-6)


def _stats_functions():
    """(distribution, function, arguments) of every function in both libraries' scipy.stats,
    its arguments float32 arrays or Python numbers, in its support."""
    values = {"x": 1.3, "q": 0.3, "k": 2.0, "loc": 1.0, "scale": 1.5, "df": 3.0, "a": 2.0, "b": 3.0,
              "p": 0.3, "n": 5.0, "mu": 2.0}
    at = {"pareto": {"x": 3.0}, "bernoulli": {"k": 1.0}}
    cases = []
    for dist in cst.__all__:
        for fun in getattr(cst, dist).__all__:
            theirs = getattr(getattr(JAX.stats, dist, None), fun, None)
            params = list(inspect.signature(getattr(getattr(cst, dist), fun)).parameters)
            if theirs is None or dist == "multinomial" or not set(params) <= set(values) or len(
                    inspect.signature(theirs).parameters) < len(params):
                continue
            cases.append((dist, fun, {p: at.get(dist, {}).get(p, values[p]) for p in params}))
    return cases


@pytest.mark.parametrize("dist,fun,args", _stats_functions(), ids=lambda v: v if isinstance(v, str) else "-")
@pytest.mark.parametrize("first_only", [True, False])
def test_stats_float32_takes_scipys_dtype(dist, fun, args, first_only):
    scipy_stats = pytest.importorskip("scipy.stats")
    ours, theirs = getattr(getattr(cst, dist), fun), getattr(getattr(JAX.stats, dist), fun)
    k = 1 if first_only else len(args)  # float32 arrays, the other parameters Python numbers
    # (a count stays a whole number: SciPy's mass off the integers is 0, JAX's is not)
    counts = {"poisson", "binom", "nbinom", "geom", "bernoulli", "betabinom"}
    batch = [(np.array([[0, 1, 0], [1, 0, 0]], np.float32) if dist in counts and name in ("k", "n", "loc") else
              np.linspace(-0.1, 0.1, 6, dtype=np.float32).reshape(2, 3)) + np.float32(a)
             for name, a in list(args.items())[:k]]
    args = list(args.values())
    got = cr.vmap(lambda *b: ours(*b, *args[k:]))(*batch)
    want = jax.vmap(lambda *b: theirs(*b, *args[k:]))(*batch)
    # float32 in, SciPy's dtype out (float64: SciPy's and HIPS autograd's), batched or
    # not; JAX's is float32 (its norm.ppf and isf widen to float64); the derivative of a
    # float32 input is float32
    scipy_fun = getattr(getattr(scipy_stats, dist), fun)
    scipy_dtype = np.asarray(scipy_fun(*[b[0] for b in batch], *args[k:])).dtype
    assert np.asarray(ours(*[b[0] for b in batch], *args[k:])).dtype == got.dtype == scipy_dtype
    assert want.dtype == (np.float64 if (dist, fun) in {("norm", "ppf"), ("norm", "isf")} else np.float32)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-5)
    g = cr.vmap(cr.grad(lambda *b: ours(*b, *args[k:])))(*[b[:, 0] for b in batch])
    assert g.dtype == np.float32

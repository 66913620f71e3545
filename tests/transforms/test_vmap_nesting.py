"""cr.vmap nested with itself and with grad, jvp, hessian, checkpoint, custom_vjp and jit;
random programs; per-example gradients of functional models and nn Modules against
torch.func; dropout and ensembles."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.transforms.test_jit import STEPS as JIT_STEPS
from tests.transforms.test_jit import random_program as jit_random_program

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import nn
from chainrule.nn import functional as F

rng = np.random.default_rng(1)
TOL = dict(rtol=1e-12, atol=1e-12)

# The random-program steps of the jit tests, less the one that branches in Python on data
# (under vmap each example may take its own branch: cnp.where is the way to write it).
# The branch tests the sum of cubes, not the sum: after "mean" the sum is zero up to
# rounding, and a batched sum rounds differently from one example's, so its sign is noise.
STEPS = {k: v for k, v in JIT_STEPS.items() if k != "branch"}
STEPS["where branch"] = lambda h: cnp.where(cnp.sum(h * h * h) > 0, h * 2.0, h - 1.0)


def random_program(steps):
    return jit_random_program(steps, STEPS)


def per_example(f, w, xs):
    return np.stack([np.asarray(f(w, x)) for x in xs])


programs = st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=5)


@settings(max_examples=30, deadline=None)
@given(steps=programs, seed=st.integers(0, 2**16))
def test_random_programs_vmap_and_vmap_of_grad(steps, seed):
    f = random_program(steps)
    r = np.random.default_rng(seed)
    w, xs = r.normal(size=(4, 4)), r.normal(size=(5, 3, 4))
    np.testing.assert_allclose(cr.vmap(f, in_axes=(None, 0))(w, xs), per_example(f, w, xs), **TOL)
    np.testing.assert_allclose(cr.vmap(cr.grad(f), in_axes=(None, 0))(w, xs),
                               per_example(cr.grad(f), w, xs), **TOL)
    # the examples along another axis, the gradients out along the last one
    np.testing.assert_allclose(
        cr.vmap(cr.grad(f, 1), in_axes=(None, 1), out_axes=-1)(w, np.moveaxis(xs, 0, 1)),
        np.moveaxis(per_example(cr.grad(f, 1), w, xs), 0, -1), **TOL)


@settings(max_examples=25, deadline=None)
@given(steps=programs, seed=st.integers(0, 2**16))
def test_random_programs_grad_of_vmap_and_vmap_of_vmap(steps, seed):
    f = random_program(steps)
    r = np.random.default_rng(seed)
    w, xs = r.normal(size=(4, 4)), r.normal(size=(2, 3, 3, 4))
    total = cr.grad(lambda w: cnp.sum(cr.vmap(f, in_axes=(None, 0))(w, xs[0])))(w)
    np.testing.assert_allclose(total, per_example(cr.grad(f), w, xs[0]).sum(0), **TOL)
    nested = cr.vmap(cr.vmap(f, in_axes=(None, 0)), in_axes=(None, 0))(w, xs)
    want = np.stack([per_example(f, w, batch) for batch in xs])
    np.testing.assert_allclose(nested, want, **TOL)
    # the outer map over the weights, the inner over the examples
    ws = r.normal(size=(2, 4, 4))
    both = cr.vmap(cr.vmap(f, in_axes=(None, 0)), in_axes=(0, None))(ws, xs[0])
    np.testing.assert_allclose(both, np.stack([per_example(f, wk, xs[0]) for wk in ws]), **TOL)


@settings(max_examples=20, deadline=None)
@given(steps=programs, seed=st.integers(0, 2**16))
def test_random_programs_jit_of_vmap_of_grad(steps, seed):
    f = random_program(steps)
    batched = cr.vmap(cr.value_and_grad(f), in_axes=(None, 0))
    jitted = cr.jit(batched)
    r = np.random.default_rng(seed)
    for _ in range(2):
        w, xs = r.normal(size=(4, 4)), r.normal(size=(5, 3, 4))
        got, want = jitted(w, xs), batched(w, xs)
        np.testing.assert_allclose(got[0], want[0], **TOL)
        np.testing.assert_allclose(got[1], want[1], **TOL)


def test_jit_of_vmap_records_batched_calls():
    """The recorded program has as many calls for 64 examples as for 4: one per primitive."""
    f = random_program(["tanh", "softmax", "row max"])
    jitted = cr.jit(cr.vmap(cr.grad(f), in_axes=(None, 0)))
    w = rng.normal(size=(4, 4))
    jitted(w, rng.normal(size=(4, 3, 4)))
    jitted(w, rng.normal(size=(64, 3, 4)))
    small, large = jitted.programs
    assert small.n_calls == large.n_calls


def test_per_example_outer_products_are_one_einsum_call():
    """A layer's per-example weight gradient, ``outer(x, g)`` of batches of vectors, is one
    call (einsum, or the broadcast multiply where a product is zero): the examples, flat
    already, are not reshaped first (the recorded program holds one call), and the values
    are the outer products."""
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 5))
    jitted = cr.jit(cr.vmap(cnp.outer))
    np.testing.assert_allclose(jitted(a, b), a[:, :, None] * b[:, None, :], **TOL)
    assert jitted.programs[0].n_calls == 1
    # an unbatched vector against a batch: one call too, and the same products
    jitted = cr.jit(cr.vmap(cnp.outer, in_axes=(None, 0)))
    np.testing.assert_allclose(jitted(a[0], b), a[0][None, :, None] * b[:, None, :], **TOL)
    assert jitted.programs[0].n_calls == 1


@pytest.mark.parametrize("param", ["matrix", "0-d array", "number"])
def test_jit_of_per_example_gradients_hands_them_back_without_a_copy(param):
    """The gradient of an array parameter under vmap is an array already: the recorded
    program returns it as computed (no np.copy of a whole batch of gradients)."""
    w = {"matrix": rng.normal(size=(4, 4)), "0-d array": np.array(0.7), "number": 0.7}[param]

    def loss(w, x):
        return cnp.sum(cnp.tanh(x @ (w * np.ones((4, 4)))))

    jitted = cr.jit(cr.vmap(cr.grad(loss), in_axes=(None, 0)))
    xs = rng.normal(size=(5, 3, 4))
    got = jitted(w, xs)
    np.testing.assert_allclose(got, per_example(cr.grad(loss), w, xs), **TOL)
    assert type(got) is np.ndarray and got.shape == (5, *np.shape(w))
    program = jitted.programs[0]
    copies = [name for name, fun in program.replay.__globals__.items() if fun is np.copy]
    assert not any(f"{name}(" in program.source for name in copies), program.source


def test_vmap_of_jit():
    f = random_program(["sin", "mean"])
    w, xs = rng.normal(size=(4, 4)), rng.normal(size=(5, 3, 4))
    got = cr.vmap(cr.jit(cr.grad(f)), in_axes=(None, 0))(w, xs)
    np.testing.assert_allclose(got, per_example(cr.grad(f), w, xs), **TOL)


def test_jvp_and_vmap_both_orders():
    xs, ts = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    f = lambda x: cnp.sin(x) * cnp.sum(x ** 2)  # noqa: E731
    outer = cr.jvp(cr.vmap(f), (xs,), (ts,))[1]
    inner = cr.vmap(lambda x, t: cr.jvp(f, (x,), (t,))[1])(xs, ts)
    want = np.stack([cr.jvp(f, (x,), (t,))[1] for x, t in zip(xs, ts, strict=True)])
    np.testing.assert_allclose(outer, want, **TOL)
    np.testing.assert_allclose(inner, want, **TOL)


def test_hessians_per_example():
    f = lambda x: cnp.sum(cnp.tanh(x) ** 3) + cnp.prod(x)  # noqa: E731
    xs = rng.normal(size=(4, 3))
    want = np.stack([cr.hessian(f)(x) for x in xs])
    np.testing.assert_allclose(cr.vmap(cr.hessian(f))(xs), want, **TOL)
    # and the Hessian of a batched sum, block diagonal
    h = cr.hessian(lambda x: cnp.sum(cr.vmap(f)(x)))(xs)
    for i in range(4):
        np.testing.assert_allclose(h[i, :, i, :], want[i], **TOL)


def test_jacobians_match_the_loop_over_the_basis():
    f = lambda x, y: cnp.tanh(x @ y) * cnp.sum(x)  # noqa: E731
    x, y = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    jr, jf = cr.jacrev(f, (0, 1))(x, y), cr.jacfwd(f, (0, 1))(x, y)
    for k, arg in enumerate((x, y)):
        fd = np.zeros((2, 4) + arg.shape)
        for idx in np.ndindex(arg.shape):
            e = np.zeros(arg.shape)
            e[idx] = 1e-6
            plus = [x, y]
            minus = [x, y]
            plus[k], minus[k] = arg + e, arg - e
            fd[(...,) + idx] = (np.asarray(f(*plus)) - np.asarray(f(*minus))) / 2e-6
        np.testing.assert_allclose(jr[k], fd, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(jf[k], jr[k], **TOL)


def test_batched_jacobians():
    f = lambda x: cnp.sin(x)[:2] * cnp.sum(x ** 2)  # noqa: E731
    xs = rng.normal(size=(5, 3))
    want = np.stack([cr.jacrev(f)(x) for x in xs])
    np.testing.assert_allclose(cr.vmap(cr.jacrev(f))(xs), want, **TOL)
    np.testing.assert_allclose(cr.vmap(cr.jacfwd(f))(xs), want, **TOL)


def test_checkpoint_and_custom_vjp_both_orders():
    block = cr.checkpoint(lambda h: cnp.tanh(cnp.sin(h) * 2.0))
    xs = rng.normal(size=(4, 3))
    plain = lambda h: cnp.tanh(cnp.sin(h) * 2.0)  # noqa: E731
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda h: cnp.sum(block(h))))(xs),
                               cr.vmap(cr.grad(lambda h: cnp.sum(plain(h))))(xs), **TOL)
    np.testing.assert_allclose(cr.grad(lambda v: cnp.sum(cr.vmap(block)(v)))(xs),
                               cr.grad(lambda v: cnp.sum(plain(v)))(xs), **TOL)

    @cr.custom_vjp
    def clip_gradient(x):
        return x

    clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (cnp.clip(g, -1, 1),))
    scale = np.array([0.5, 3.0, -4.0])
    inner = cr.vmap(cr.grad(lambda x, s: cnp.sum(s * clip_gradient(x))), in_axes=(0, None))
    np.testing.assert_allclose(inner(xs, scale), np.broadcast_to([0.5, 1.0, -1.0], xs.shape))
    outer = cr.grad(lambda x: cnp.sum(cr.vmap(clip_gradient)(x) * scale))(xs)
    np.testing.assert_allclose(outer, np.broadcast_to([0.5, 1.0, -1.0], xs.shape))


# -- per-example gradients --------------------------------------------------------------------------
def mlp_loss(params, x, y):
    h = cnp.tanh(x @ params["w1"] + params["b1"])
    logits = h @ params["w2"] + params["b2"]
    return F.cross_entropy(logits[None], cnp.array(y)[None]) if np.ndim(y) == 0 else \
        F.cross_entropy(logits[None], y[None])


def test_per_example_gradients_of_a_functional_model_match_torch_func():
    torch = pytest.importorskip("torch")
    from torch.func import grad, vmap

    params = {"w1": rng.normal(size=(5, 8)), "b1": rng.normal(size=8),
              "w2": rng.normal(size=(8, 3)), "b2": rng.normal(size=3)}
    X, Y = rng.normal(size=(6, 5)), rng.integers(0, 3, size=6)
    ours = cr.vmap(cr.grad(mlp_loss), in_axes=(None, 0, 0))(params, X, Y)

    def torch_loss(p, x, y):
        h = torch.tanh(x @ p["w1"] + p["b1"])
        return torch.nn.functional.cross_entropy((h @ p["w2"] + p["b2"])[None], y[None])

    tp = {k: torch.tensor(v) for k, v in params.items()}
    theirs = vmap(grad(torch_loss), in_dims=(None, 0, 0))(tp, torch.tensor(X), torch.tensor(Y))
    for k in params:
        np.testing.assert_allclose(ours[k], theirs[k].numpy(), rtol=1e-10, atol=1e-12)


def test_per_example_gradients_of_a_module_match_torch_func():
    torch = pytest.importorskip("torch")
    from torch.func import functional_call, grad, vmap

    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    X, Y = rng.normal(size=(6, 5)), rng.integers(0, 3, size=6)

    def loss(m, x, y):
        return F.cross_entropy(m(x[None]), y[None])

    ours = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(model, X, Y)
    assert isinstance(ours, nn.Sequential)
    tmodel = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    tmodel = tmodel.double()
    with torch.no_grad():
        for (_, tparam), param in zip(tmodel.named_parameters(), model.parameters(), strict=True):
            tparam.copy_(torch.tensor(np.asarray(param.detach().numpy())))
    tparams = dict(tmodel.named_parameters())

    def torch_loss(p, x, y):
        out = functional_call(tmodel, p, (x[None],))
        return torch.nn.functional.cross_entropy(out, y[None])

    theirs = vmap(grad(torch_loss), in_dims=(None, 0, 0))(tparams, torch.tensor(X), torch.tensor(Y))
    for ours_p, (name, _) in zip(cr.tree_leaves(ours), tmodel.named_parameters(), strict=True):
        np.testing.assert_allclose(ours_p, theirs[name].detach().numpy(), rtol=1e-10, atol=1e-12)


def test_dropout_draws_a_mask_per_example():
    x = np.ones((4, 200))
    out = cr.vmap(lambda v: F.dropout(v, 0.5, training=True))(x)
    assert out.shape == (4, 200)
    masks = out != 0
    assert all(not np.array_equal(masks[0], masks[k]) for k in range(1, 4))
    assert set(np.unique(out)) <= {0.0, 2.0}
    # nested maps: every example of every batch its own mask
    nested = cr.vmap(cr.vmap(lambda v: F.dropout(v, 0.5)))(np.ones((3, 4, 50))) != 0
    assert not np.array_equal(nested[0, 0], nested[1, 0])
    assert not np.array_equal(nested[0, 0], nested[0, 1])
    # under jit each call draws new masks too
    jitted = cr.jit(cr.vmap(lambda v: F.dropout(v, 0.5, training=True), in_axes=(0,)))
    first, second = jitted(np.ones((4, 200))), jitted(np.ones((4, 200)))
    assert not np.array_equal(first != 0, second != 0)


def test_an_ensemble_of_models():
    members = [nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)) for _ in range(5)]
    stacked = cr.tree_map(lambda *ps: np.stack([np.asarray(p.detach().numpy()) for p in ps]),
                          *members)
    x = rng.normal(size=(7, 3))
    out = cr.vmap(lambda m, x: m(x), in_axes=(0, None))(stacked, x)
    with cr.no_grad():
        want = np.stack([np.asarray(m(x).numpy()) for m in members])
    np.testing.assert_allclose(out, want, **TOL)

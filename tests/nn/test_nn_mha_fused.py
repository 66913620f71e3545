"""The fused multi-head attention pair (``chainrule.nn._mha``): against a plain NumPy
reference, against central finite differences (both modes, second order, packed and
separate projections, masks that are differentiated), its backward primitive on its
own, under vmap (batched masks included), in float32, and under jit with dropout."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import nn
from chainrule.nn import _mha

N, L, S, E, H = 2, 3, 4, 4, 2
rng = np.random.default_rng(5)


def _reference(q, k, v, mask=None, keep=None, scale=0.7):
    """softmax over the keys of k·qᵀ·scale + mask, per head, by hand in NumPy."""
    def heads(x):
        return x.reshape(x.shape[0], x.shape[1], H, -1).transpose(0, 2, 1, 3)

    scores = heads(k) @ (heads(q) * scale).swapaxes(-1, -2)
    if mask is not None:
        scores = scores + mask
    w = np.exp(scores - scores.max(-2, keepdims=True))
    w /= w.sum(-2, keepdims=True)
    out = (w if keep is None else w * keep).swapaxes(-1, -2) @ heads(v)
    return out.transpose(0, 2, 1, 3).reshape(q.shape[0], q.shape[1], -1), w


def _projections(packed, dtype=np.float64):
    if packed:
        return [rng.standard_normal((N, L, 3 * E)).astype(dtype), None, None]
    return [rng.standard_normal(s).astype(dtype) for s in ((N, L, E), (N, S, E), (N, S, E))]


MASKS = {"none": None, "keys_by_queries": (S, L), "per_example": (N, 1, S, 1), "per_head": (N, H, S, L)}


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("mask", sorted(MASKS))
@pytest.mark.parametrize("dropout", [False, True])
def test_forward_matches_numpy(packed, mask, dropout):
    q, k, v = _projections(packed)
    source = L if packed else S
    m = None if MASKS[mask] is None else rng.standard_normal(MASKS[mask][:-2] + (source, L))
    keep = (rng.uniform(size=(N, H, source, L)) > 0.3) / 0.7 if dropout else None
    out, w = _mha.mha_forward(q, k, v, m, keep, heads=H, scale=0.7)
    parts = (q[..., :E], q[..., E:2 * E], q[..., 2 * E:]) if packed else (q, k, v)
    want_out, want_w = _reference(*parts, m, keep)
    np.testing.assert_allclose(out, want_out, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(w, want_w, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("packed", [False, True])
def test_forward_matches_finite_differences(packed):
    q, k, v = _projections(packed)
    source = L if packed else S
    mask = rng.standard_normal((source, L))
    keep = (rng.uniform(size=(N, H, source, L)) > 0.3) / 0.7
    differentiated = [q, mask] if packed else [q, k, v, mask]

    def f(*args):
        qkv = (args[0], None, None) if packed else args[:3]
        out, w = _mha.mha_forward(*qkv, args[-1], keep, heads=H, scale=0.7)
        return cnp.sin(out).sum() + (w * w * w).sum()

    assert cr.gradcheck(f, *differentiated, order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("missing", [None, 0, 1])
def test_backward_matches_finite_differences(packed, missing):
    q, k, v = _projections(packed)
    out, w = _mha.mha_forward(q, k, v, None, heads=H, scale=0.7)
    cots = [rng.standard_normal(out.shape), rng.standard_normal(w.shape)]
    arrays = [a for a in (q, k, v) if a is not None]

    def f(g_out, g_w, w, *qkv):
        g = [g_out, g_w]
        if missing is not None:
            g[missing] = None
        qkv = (qkv[0], None, None) if packed else qkv
        return _mha.mha_backward(*g, *qkv, w, None, heads=H, scale=0.7)

    assert cr.gradcheck(f, *cots, w, *arrays, order=1, modes=("fwd", "rev"))


@pytest.mark.parametrize("mask_batched", [False, True])
def test_vmap_matches_a_loop_over_examples(mask_batched):
    batch = 3
    qkv = rng.standard_normal((batch, N, L, 3 * E))
    mask = rng.standard_normal((batch, L, L) if mask_batched else (L, L))

    def f(x, m):
        return cnp.sin(_mha.mha_forward(x, None, None, m, heads=H, scale=0.7)[0]).sum()

    in_axes = (0, 0 if mask_batched else None)
    masks = list(mask) if mask_batched else [mask] * batch
    for fun in (lambda x, m: _mha.mha_forward(x, None, None, m, heads=H, scale=0.7)[0], cr.grad(f)):
        got = cr.vmap(fun, in_axes)(qkv, mask)
        np.testing.assert_allclose(got, np.stack([fun(x, m) for x, m in zip(qkv, masks, strict=True)]),
                                   rtol=1e-12, atol=1e-12)


def test_float32_stays_float32():
    q, k, v = _projections(True, np.float32)
    out, w = _mha.mha_forward(q, k, v, np.zeros((L, L), np.float32), heads=H, scale=0.7)
    grads = _mha.mha_backward(np.ones_like(out), None, q, k, v, w, heads=H, scale=0.7)
    assert {a.dtype for a in (out, w, *grads)} == {np.dtype(np.float32)}


def test_jit_draws_a_new_dropout_mask_each_replay_as_eager_does():
    x = rng.standard_normal((N, L, E))

    def run(fun, seed):
        mha = nn.MultiheadAttention(E, H, dropout=0.5, batch_first=True, dtype=np.float64, rng=seed)
        params = cr.tree_map(lambda p: p.detach().numpy().copy(), mha)
        return [np.asarray(fun(params, x)) for _ in range(3)]

    def attend(m, x):
        return cr.grad(lambda m: (m(x, x, x, need_weights=False)[0] ** 2).sum())(m).in_proj_weight

    eager, jitted = run(attend, 4), run(cr.jit(attend), 4)
    assert not np.array_equal(eager[0], eager[1])
    for a, b in zip(eager, jitted, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)

"""chainrule.jax_nn.dot_product_attention against jax.nn.dot_product_attention: values and
derivatives of multi-head, grouped-query and multi-query attention with the masks, biases,
windows and sequence lengths JAX takes, unbatched layouts, and JAX's errors. JAX computes
the softmax in float32 even for float64 inputs, so float64 results agree to float32's
precision; chainrule's own derivatives are checked against central differences."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.jax_nn as cjnn
from chainrule.test_util import check_grads

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)

rng = np.random.default_rng(7)
B, T, S, N, H = 2, 3, 4, 4, 5


def _qkv(K=N, batched=True):
    lead = (B,) if batched else ()
    return (rng.normal(size=lead + (T, N, H)), rng.normal(size=lead + (S, K, H)), rng.normal(size=lead + (S, K, H)))


CASES = {
    "plain": {},
    "causal": dict(is_causal=True),
    "scale": dict(scale=0.3),
    "window": dict(local_window_size=(1, 0)),
    "symmetric window": dict(local_window_size=1),
    "lengths": dict(query_seq_lengths=np.array([2, 3], np.int32), key_value_seq_lengths=np.array([1, 4], np.int32)),
    "mask": dict(mask=rng.random((B, 1, T, S)) > 0.3),
    "bias": dict(bias=rng.normal(size=(1, N, T, S))),
    "everything masked in a row": dict(mask=np.zeros((1, 1, T, S), bool)),
}


# each case with one of multi-head (N key/value heads), grouped-query (2) and multi-query (1)
@pytest.mark.parametrize("case, heads", [(case, (N, 2, 1)[i % 3]) for i, case in enumerate(CASES)])
def test_values_and_gradients_agree_with_jax(case, heads):
    q, k, v = _qkv(heads)
    kwargs = CASES[case]
    ours = cjnn.dot_product_attention(q, k, v, **kwargs)
    theirs = jax.jit(lambda q, k, v: jax.nn.dot_product_attention(q, k, v, **kwargs))(q, k, v)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    loss = lambda lib, f: lambda q, k, v: lib.sum(f(q, k, v, **kwargs) * w)  # noqa: E731
    w = rng.normal(size=ours.shape)
    g_ours = cr.grad(loss(cr.numpy, cjnn.dot_product_attention), argnums=(0, 1, 2))(q, k, v)
    g_theirs = jax.jit(jax.grad(loss(jax.numpy, jax.nn.dot_product_attention), argnums=(0, 1, 2)))(q, k, v)
    for a, b in zip(g_ours, g_theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_derivatives_in_float64_against_central_differences():
    q, k, v = _qkv(2)
    bias = rng.normal(size=(B, N, T, S))
    f = lambda q, k, v, bias: cjnn.dot_product_attention(q, k, v, bias, is_causal=True)  # noqa: E731
    check_grads(f, (0, 1, 2, 3), modes=["rev", "fwd"], order=2)(q, k, v, bias)


def test_unbatched_layout_float32_and_residual():
    q, k, v = (x.astype(np.float32) for x in _qkv(2, batched=False))
    ours, lse = cjnn.dot_product_attention(q, k, v, is_causal=True, return_residual=True)
    theirs, lse_j = jax.nn.dot_product_attention(q, k, v, is_causal=True, return_residual=True)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype == np.float32
    assert lse.shape == lse_j.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lse, lse_j, rtol=1e-5, atol=1e-6)


def test_under_vmap_and_jit():
    q, k, v = _qkv()
    ours = cr.jit(cr.vmap(lambda q, k, v: cjnn.dot_product_attention(q, k, v, is_causal=True)))(q, k, v)
    theirs = jax.vmap(lambda q, k, v: jax.nn.dot_product_attention(q, k, v, is_causal=True))(q, k, v)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad, message", [
    (dict(key_heads=3), "multiple of key/value heads"),
    (dict(mask=np.ones((1, 1, T, S))), "mask dtype should be bool"),
    (dict(value_shape=(B, S + 1, N, H)), "value shape should be"),
    (dict(query_seq_lengths=np.array([1, 2])), "query_seq_lengths dtype should be int32"),
    (dict(implementation="cudnn"), "Unsupported implementation"),
])
def test_errors_as_jax(bad, message):
    bad = dict(bad)
    q, k, v = _qkv(bad.pop("key_heads", N))
    if "value_shape" in bad:
        v = rng.normal(size=bad.pop("value_shape"))
    if bad.get("implementation") != "cudnn":  # (JAX's cudnn needs a GPU: its own error differs)
        with pytest.raises(ValueError, match=message):
            jax.nn.dot_product_attention(q, k, v, **bad)
    with pytest.raises(ValueError, match=message):
        cjnn.dot_product_attention(q, k, v, **bad)

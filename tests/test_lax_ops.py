"""chainrule.lax's array operations (chainrule/lax_ops.py, lax_windows.py) against jax.lax: each program
is written once over ``(lib, lax)``, run alone, under ``vmap`` and under ``vmap`` of
``grad``, with chainrule's and with JAX's, and compared to 1e-12 in float64."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import lax as clax

jax = pytest.importorskip("jax")
jlax = pytest.importorskip("jax.lax")
jax.config.update("jax_enable_x64", True)

rng = np.random.default_rng(3)
X, A, B = rng.normal(size=(4, 5)), rng.normal(size=(4, 3, 5)), rng.normal(size=(4, 5, 2))
I = rng.integers(-7, 7, size=(4, 5))  # noqa: E741
CX, CW = rng.normal(size=(4, 2, 5, 6)), rng.normal(size=(4, 4, 2, 3, 2))  # images (C, H, W), kernels (O, I, h, w)

# name: (function of one example's arrays, written for (lib, lax), the batched arrays, differentiable)
PROGRAMS = {
    "elementwise": (lambda lib, lax: lambda x: lax.add(lax.mul(lax.exp(x), lax.logistic(x)), lax.rsqrt(lax.abs(x) + 1))
                    + lax.integer_pow(x, 3) + lax.square(x) - lax.tanh(x) + lax.erf(x) + lax.atan2(x, x * 0 + 1.5)
                    + lax.pow(lax.abs(x) + 1, 1.5) + lax.expm1(x) + lax.log1p(lax.abs(x)) + lax.cbrt(x)
                    + lax.neg(lax.max(x, x * 0 + 0.1)) + lax.min(x, x * 0 + 0.2), (X,), True),
    "special functions": (lambda lib, lax: lambda x: lax.erf_inv(lax.tanh(x) * 0.9) + lax.lgamma(lax.abs(x) + 0.5)
                          + lax.digamma(lax.abs(x) + 0.5), (X,), True),
    # lax.div and lax.rem of integers round toward zero (C's), lax.round half away from zero
    "integer division": (lambda lib, lax: lambda i: (lax.div(i, i * 0 + 3), lax.rem(i, i * 0 + 3),
                                                     lax.div(i, i * 0 - 2)), (I,), False),
    "division and rounding": (lambda lib, lax: lambda x: lax.div(x, x * 0 + 0.7) + lax.rem(x * 3, x * 0 + 0.7)
                              + lax.round(x * 4) + lax.round(x * 4, 1) + lax.round(x * 0 + 2.5)
                              + lax.round(x * 0 - 0.5), (X,), True),
    "select_n and comparisons": (lambda lib, lax: lambda x: lax.select_n(lax.gt(x, x * 0), x * 2, -x)
                                 + lax.select_n(lax.convert_element_type(lax.abs(x) * 2, np.int32) % 3,
                                                x, x * 2, x * 3),
                                 (X,), True),
    "convert_element_type": (lambda lib, lax: lambda x: lax.convert_element_type(x * 3, np.int32) * 1.0
                             + lax.convert_element_type(x, np.float32).astype(np.float64), (X,), True),
    # XLA's casts of floats to integers saturate (NaN gives 0); ties round away from zero
    # exactly, the float just below 0.5 included
    "saturating casts and exact ties": (
        lambda lib, lax: lambda x: (*(lax.convert_element_type(x, t) for t in (np.int32, np.uint8, np.int64,
                                                                                np.uint64)),
                                    lax.round(x * 0 + 0.49999999999999994),
                                    lax.round(x, lax.RoundingMethod.TO_NEAREST_EVEN),
                                    lax.round(x, lax.RoundingMethod.AWAY_FROM_ZERO)),
        (np.array([[-1.7, 2.9, np.nan, np.inf, -np.inf], [1e20, -1e20, 2.0 ** 63, 255.9, -0.5]]),), False),
    "broadcasting": (lambda lib, lax: lambda x: lax.broadcast_in_dim(x, (2, 5, 3), (1,))
                     * lax.broadcast(x, (2,))[..., None], (X,), True),
    "reshaping": (lambda lib, lax: lambda a: (lax.reshape(a, (5, 3), dimensions=(1, 0)) + lax.reshape(a, (5, 3)),
                                              lax.rev(lax.transpose(lax.squeeze(lax.expand_dims(a, (0, 3)), (0,)),
                                                                    (2, 1, 0)), (0, 2)),
                                              lax.concatenate([lax.collapse(a, 0, 2), lax.collapse(a, 0)], 0)),
                  (A,), True),
    "slicing": (lambda lib, lax: lambda a: (lax.slice(a, (0, 1), (3, 5), (2, 2)),
                                            lax.slice_in_dim(a, 1, None, 2, axis=-1), lax.index_in_dim(a, -1, 1),
                                            lax.index_in_dim(a, 0, 0, keepdims=False)),
                (A,), True),
    # interior padding, and negative padding that cuts entries off
    "pad": (lambda lib, lax: lambda x, a: (lax.pad(x, 0.0, [(1, 2, 1)]), lax.pad(x, -1.5, [(-1, 1, 2)]),
                                           lax.pad(x, x[0], [(2, -2, 0)]), lax.pad(a, 0.5, [(1, 0, 1), (0, -1, 2)])),
            (X, A), True),
    "iota and full": (lambda lib, lax: lambda x: x * lax.iota(np.float64, 5) + lax.full((5,), x[0])
                      + lax.full_like(x, 2.0), (X,), True),
    "argmax": (lambda lib, lax: lambda a: (lax.argmax(a, 1, np.int32), lax.argmin(a, 0, np.int64)), (A,), False),
    "cumulative": (lambda lib, lax: lambda a: lax.cumsum(a, 1) + lax.cumsum(a, axis=1, reverse=True)
                   + lax.cumprod(a, 0) + lax.cummax(a, 1) + lax.cummin(a, 1, reverse=True) + lax.cumlogsumexp(a, 1),
                   (A,), True),
    "associative_scan": (lambda lib, lax: lambda x, a: (
        lax.associative_scan(lax.add, x), lax.associative_scan(lax.max, x),
        lax.associative_scan(lambda p, q: (p[0] * q[0], p[1] * q[0] + q[1]), (lax.exp(a * 0.1), a), axis=1,
                             reverse=True)), (X, A), True),
    "sort": (lambda lib, lax: lambda x, a, i: (lax.sort(x), lax.sort(x, is_stable=False),
                                               lax.sort((i, a[0]), num_keys=1), lax.sort((i % 2, i, x), num_keys=2),
                                               lax.sort_key_val(x, i)),
             (X, A, I), True),
    "top_k": (lambda lib, lax: lambda x, i: (*lax.top_k(x, 3), lax.top_k(i % 3, 4)), (X, I), True),
    "products": (lambda lib, lax: lambda a, b: (lax.dot_general(a, b, (((1,), (0,)), ((), ()))), lax.dot(a, b),
                                                lax.dot_general(a[None], a[None], (((2,), (2,)), ((0,), (0,)))),
                                                lax.batch_matmul(a[None], b[None])), (A, B), True),
    # strides, SAME and explicit (negative) padding, input and kernel dilation, feature
    # groups, and the axes in other layouts (TensorFlow's NHWC/HWIO, 1-d NWC)
    "convolution": (lambda lib, lax: lambda x, w: (
        lax.conv_general_dilated(x[None], w, (1, 2), "SAME", rhs_dilation=(2, 1)),
        lax.conv_general_dilated(x[None].transpose(0, 2, 3, 1), w.transpose(2, 3, 1, 0), (2, 1), [(1, 0), (-1, 2)],
                                 lhs_dilation=(2, 1), dimension_numbers=("NHWC", "HWIO", "NCHW")),
        lax.conv_general_dilated(x[None], w[:, :1], (1, 1), "VALID", feature_group_count=2),
        lax.conv_general_dilated(x[None, :, 0].transpose(0, 2, 1), w[:, :, 0], (2,), "SAME_LOWER",
                                 dimension_numbers=("NWC", "OIW", "NCW")),
        lax.conv(x[None], w, (1, 1), "VALID")), (CX, CW), True),
    "conv_transpose": (lambda lib, lax: lambda x, w: (
        lax.conv_transpose(x[None].transpose(0, 2, 3, 1), w.transpose(2, 3, 1, 0), (2, 2), "SAME"),
        lax.conv_transpose(x[None].transpose(0, 2, 3, 1), w.transpose(2, 3, 1, 0), (2, 1), "VALID",
                           rhs_dilation=(1, 2)),
        lax.conv_transpose(x[None], w.transpose(1, 0, 2, 3), (1, 2), [(1, 2), (0, 1)],
                           dimension_numbers=("NCHW", "OIHW", "NCHW"), transpose_kernel=True)), (CX, CW), True),
    # pooling as Flax and Equinox write it: sums and maxima over windows
    "reduce_window": (lambda lib, lax: lambda x: (
        lax.reduce_window(x, 0.0, lax.add, (1, 2, 2), (1, 2, 2), "VALID"),
        lax.reduce_window(x, -lib.numpy.inf, lax.max, (1, 3, 3), (1, 2, 2), "SAME"),
        lax.reduce_window(x, lib.numpy.inf, lax.min, (2, 2, 1), (1, 1, 2), [(0, 0), (1, 1), (0, 1)],
                          base_dilation=(1, 2, 1)),
        lax.reduce_window(x, 0.0, lax.add, (1, 2, 2), (1, 1, 1), "SAME", window_dilation=(1, 1, 2)),
        lax.reduce(x, 0.0, lax.add, (0, 2)), lax.reduce_max(x, (1,)), lax.reduce_sum(x, (0, 2)),
        lax.reduce_min(x, (2,)), lax.reduce_prod(x, (0,))), (CX,), True),
    # ties (x rounded, straight through): the first maximum or minimum of a window takes
    # the window's gradient, as in JAX, not a share split between the ties
    "reduce_window with ties": (lambda lib, lax: lambda x: (
        lax.reduce_window(x - lax.stop_gradient(x - lib.numpy.round(x)), -lib.numpy.inf, lax.max, (1, 3, 3),
                          (1, 2, 2), "SAME"),
        lax.reduce_window(x - lax.stop_gradient(x - lib.numpy.round(x)), lib.numpy.inf, lax.min, (2, 2, 2),
                          (1, 1, 1), "VALID")), (CX,), True),
    # a product, a computation of the user's, a pytree of operands (no derivatives in JAX)
    "reduce_window of other computations": (lambda lib, lax: lambda x: (
        lax.reduce_window(x, 1.0, lax.mul, (1, 2, 1), (1, 1, 1), "VALID"),
        lax.reduce_window(x, 0.5, lambda a, b: a + b * b, (2, 2, 2), (1, 1, 1), "VALID"),
        lax.reduce_window((x, 2 * x), (0.0, -lib.numpy.inf), lambda a, b: (a[0] + b[0], lax.max(a[1], b[1])),
                          (1, 2, 2), (1, 1, 2), "VALID"),
        lax.reduce((x, x), (0.0, 1.0), lambda a, b: (a[0] + b[0], a[1] * b[1]), (1,)),
        lax.reduce_and(x > 0, (0,)), lax.reduce_or(x > 0, (1, 2))), (CX,), False),
}


def _same(ours, theirs):
    ours_leaves, theirs_leaves = cr.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)
    assert len(ours_leaves) == len(theirs_leaves)
    for a, b in zip(ours_leaves, theirs_leaves, strict=True):
        assert np.shape(a) == np.shape(b)
        assert np.asarray(a).dtype.kind == np.asarray(b).dtype.kind, (np.asarray(a).dtype, np.asarray(b).dtype)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", PROGRAMS)
def test_lax_operation_under_vmap_and_grad_as_jax(name):
    program, args, differentiable = PROGRAMS[name]
    ours_f, theirs_f = program(cr, clax), program(jax, jlax)
    # JAX's side compiled (a third of the time of its dispatches one operation at a time)
    _same(ours_f(*(a[0] for a in args)), jax.jit(theirs_f)(*(a[0] for a in args)))
    _same(cr.vmap(ours_f)(*args), jax.jit(jax.vmap(theirs_f))(*args))
    if differentiable:
        def total(lib, f):
            def t(*xs):
                outs = f(*xs)
                outs = outs if isinstance(outs, tuple | list) else (outs,)
                return sum(lib.numpy.sum(lib.numpy.sin(o)) for o in cr.tree_leaves(outs) if o.dtype.kind == "f")
            return t
        floats = tuple(k for k, a in enumerate(args) if a.dtype.kind == "f")
        _same(cr.vmap(cr.grad(total(cr, ours_f), argnums=floats))(*args),
              jax.jit(jax.vmap(jax.grad(total(jax, theirs_f), argnums=floats)))(*args))


def test_round_of_integers_is_refused_as_in_jax():
    with pytest.raises(TypeError):
        jlax.round(np.array([1, 2]))
    with pytest.raises(TypeError, match="lax.round takes floating-point values.*int64"):
        cr.vmap(clax.round)(np.array([1, 2]))


def test_convolution_refuses_what_does_not_fit():
    x, w = np.ones((1, 3, 5, 5)), np.ones((4, 2, 3, 3))
    with pytest.raises(ValueError, match="3 features.*2 inputs"):
        clax.conv_general_dilated(x, w, (1, 1), "VALID")
    with pytest.raises(TypeError, match="exactly once"):
        clax.conv_general_dilated(x, w, (1, 1), "VALID", dimension_numbers=("NCHW", "OOHW", "NCHW"))
    with pytest.raises(ValueError, match="padding must be"):
        clax.conv_general_dilated(x, np.ones((4, 3, 3, 3)), (1, 1), "FULL")
    with pytest.raises(ValueError, match="one entry per axis"):
        clax.reduce_window(x, 0.0, clax.add, (2, 2), (1, 1), "VALID")
    with pytest.raises(ValueError, match="smaller than the window"):
        clax.reduce_window(x, 0.0, clax.add, (1, 1, 6, 1), (1, 1, 1, 1), "VALID")


@pytest.mark.parametrize("x", [-0.0, 0.0, 1e-300, 2.0])
def test_rsqrt_derivative_at_signed_zeros(x):
    """lax.rsqrt's derivative is JAX's, -rsqrt(x) / (2 x): -inf at -0.0 as at 0.0 (the
    function decreases); Tensor.rsqrt keeps PyTorch's -rsqrt(x)**3 / 2, +inf at -0.0."""
    torch = pytest.importorskip("torch")
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_allclose(cr.grad(clax.rsqrt)(x), jax.grad(jlax.rsqrt)(x), rtol=1e-14)
        np.testing.assert_allclose(cr.grad(cr.grad(clax.rsqrt))(x), jax.grad(jax.grad(jlax.rsqrt))(x), rtol=1e-14)
        ours = cr.tensor(x, requires_grad=True)
        ours.rsqrt().backward()
    theirs = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    theirs.rsqrt().backward()
    assert float(ours.grad) == theirs.grad.item()

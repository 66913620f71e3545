"""Every public function of ``chainrule.nn.functional`` under ``chainrule.vmap``: over a
batch of per-example inputs (targets, labels, lengths, masks, indices and weights batched
too), and with each argument batched alone, the map gives the stacked loop of the
function over the examples, its per-example gradients the stacked loop's gradients
(batching only: the gradients themselves are checked against PyTorch and finite
differences in the other nn tests), in one call: no primitive runs once per example.
Functions that draw random numbers, write in place or are helpers are listed apart, with
the reason."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
import chainrule.numpy as cnp
from chainrule.transforms import batch_trace

R = np.random.default_rng(0)


def n(*s):
    return lambda: R.normal(size=s)


def pos(*s):
    return lambda: np.abs(R.normal(size=s)) + 0.1


def prob(*s):
    return lambda: R.uniform(0.05, 0.95, size=s)


def ints(hi, *s):
    return lambda: R.integers(0, hi, size=s)


def sgn(*s):
    return lambda: np.where(R.normal(size=s) > 0, 1.0, -1.0)


def labels_lists():
    """multilabel_margin_loss's targets: each row's classes, then -1."""
    out = np.full((2, 4), -1)
    for r in range(2):
        k = R.integers(1, 4)
        out[r, :k] = R.permutation(4)[:k]
    return out


CASES: dict = {}  # name (the function's, and what the case is about): (function, per-example draws, gradient)


def case(name, f, *draws, grad=True):
    CASES[name] = (f, draws, grad)


X2, X3, X4, X5 = (4, 5), (2, 3, 6), (2, 3, 6, 6), (1, 2, 4, 4, 4)
for a in ["celu", "elu", "selu", "gelu", "hardsigmoid", "hardswish", "hardtanh", "leaky_relu", "logsigmoid", "mish",
          "relu", "relu6", "sigmoid", "silu", "softsign", "tanh", "tanhshrink", "hard_sigmoid", "hard_silu",
          "hard_swish", "hard_tanh", "log_sigmoid", "soft_sign", "sparse_plus", "sparse_sigmoid", "squareplus",
          "swish", "identity", "softplus", "hardshrink", "softshrink"]:
    case(a, getattr(F, a), n(*X2))
case("log1mexp", F.log1mexp, lambda: -pos(*X2)())
case("rrelu_eval", F.rrelu, n(*X2))
case("threshold", lambda x: F.threshold(x, 0.1, -1.0), n(*X2))
case("softmax", lambda x: F.softmax(x, dim=1), n(*X2))
case("log_softmax", lambda x: F.log_softmax(x, dim=1), n(*X2))
case("softmin", lambda x: F.softmin(x, dim=1), n(*X2))
case("glu", lambda x: F.glu(x, dim=-1), n(4, 6))
case("logsumexp", lambda x: F.logsumexp(x, axis=1), n(*X2))
case("logmeanexp", lambda x: F.logmeanexp(x, axis=1), n(*X2))
case("standardize", lambda x: F.standardize(x), n(*X2))
case("normalize", lambda x: F.normalize(x, dim=1), n(*X2))
case("prelu", F.prelu, n(*X3), pos(3))
case("linear", F.linear, n(*X2), n(3, 5), n(3))
case("bilinear", F.bilinear, n(4, 3), n(4, 2), n(5, 3, 2), n(5))
case("conv1d", F.conv1d, n(*X3), n(4, 3, 3), n(4))
case("conv2d", F.conv2d, n(*X4), n(4, 3, 3, 3), n(4))
case("conv3d", F.conv3d, n(1, 2, 4, 4, 4), n(3, 2, 2, 2, 2))
case("conv_tbc", F.conv_tbc, n(6, 2, 3), n(3, 3, 4), n(4))
case("conv_transpose1d", F.conv_transpose1d, n(*X3), n(3, 4, 3))
case("conv_transpose2d", F.conv_transpose2d, n(*X4), n(3, 4, 3, 3))
case("conv_transpose3d", F.conv_transpose3d, n(1, 2, 3, 3, 3), n(2, 3, 2, 2, 2))
case("avg_pool1d", lambda x: F.avg_pool1d(x, 3, 2, 1), n(*X3))
case("avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), n(*X4))
case("avg_pool3d", lambda x: F.avg_pool3d(x, 2), n(*X5))
case("max_pool1d", lambda x: F.max_pool1d(x, 3, 2, 1), n(*X3))
case("max_pool2d", lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), n(*X4))
case("max_pool3d", lambda x: F.max_pool3d(x, 2), n(*X5))
case("max_pool1d_indices", lambda x: F.max_pool1d(x, 3, 2, 1, return_indices=True)[1], n(*X3), grad=False)
case("max_pool2d_with_indices", lambda x: F.max_pool2d_with_indices(x, 2, return_indices=True)[1], n(*X4), grad=False)
case("max_pool2d_dil", lambda x: F.max_pool2d(x, 2, dilation=2), n(*X4))
case("lp_pool1d", lambda x: F.lp_pool1d(x, 2.0, 2), pos(*X3))
case("lp_pool2d", lambda x: F.lp_pool2d(x, 2.0, 2), pos(*X4))
case("lp_pool3d", lambda x: F.lp_pool3d(x, 2.0, 2), pos(*X5))
case("adaptive_avg_pool1d", lambda x: F.adaptive_avg_pool1d(x, 4), n(*X3))
case("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (4, 3)), n(*X4))
case("adaptive_avg_pool3d", lambda x: F.adaptive_avg_pool3d(x, 3), n(*X5))
case("adaptive_max_pool1d", lambda x: F.adaptive_max_pool1d(x, 4), n(*X3))
case("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (4, 3)), n(*X4))
case("adaptive_max_pool3d", lambda x: F.adaptive_max_pool3d(x, 3), n(*X5))
case("adaptive_max_pool2d_with_indices", lambda x: F.adaptive_max_pool2d_with_indices(x, 4)[1], n(*X4), grad=False)
# the samples given, each example's own (without them one draw serves every example)
case("fractional_max_pool2d", lambda x, u: F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=u), n(*X4),
     prob(2, 3, 2))
case("fractional_max_pool3d", lambda x, u: F.fractional_max_pool3d(x, 2, output_size=2, _random_samples=u), n(*X5),
     prob(1, 2, 3))
case("fractional_max_pool2d_with_indices",
     lambda x, u: F.fractional_max_pool2d_with_indices(x, 2, output_size=3, _random_samples=u)[1], n(*X4),
     prob(2, 3, 2), grad=False)
case("fractional_max_pool3d_with_indices",
     lambda x, u: F.fractional_max_pool3d_with_indices(x, 2, output_size=2, _random_samples=u)[0], n(*X5),
     prob(1, 2, 3))
case("max_pool3d_with_indices", lambda x: F.max_pool3d_with_indices(x, 2)[1], n(*X5), grad=False)
case("max_pool1d_with_indices", lambda x: F.max_pool1d_with_indices(x, 2)[0], n(*X3))
case("adaptive_max_pool1d_with_indices", lambda x: F.adaptive_max_pool1d_with_indices(x, 4)[1], n(*X3), grad=False)
case("adaptive_max_pool3d_with_indices", lambda x: F.adaptive_max_pool3d_with_indices(x, 3)[0], n(*X5))

def pool_then_unpool(d):
    pool = [F.max_pool1d, F.max_pool2d, F.max_pool3d][d - 1]
    unpool = [F.max_unpool1d, F.max_unpool2d, F.max_unpool3d][d - 1]

    def f(x):
        o, i = pool(x, 2, return_indices=True)
        return unpool(o, i, 2)

    return f


case("max_unpool1d", pool_then_unpool(1), n(*X3))
case("max_unpool2d", pool_then_unpool(2), n(*X4))
case("max_unpool3d", pool_then_unpool(3), n(*X5))
case("local_response_norm", lambda x: F.local_response_norm(x, 3), n(*X4))
case("channel_shuffle", lambda x: F.channel_shuffle(x, 2), n(2, 4, 3, 3))
case("native_channel_shuffle", lambda x: F.native_channel_shuffle(x, 2), n(2, 4, 3, 3))
case("pixel_shuffle", lambda x: F.pixel_shuffle(x, 2), n(1, 8, 3, 3))
case("pixel_unshuffle", lambda x: F.pixel_unshuffle(x, 2), n(1, 2, 4, 4))
case("unfold", lambda x: F.unfold(x, 2, padding=1), n(*X4))
case("fold", lambda x: F.fold(x, (4, 5), 2), n(2, 12, 12))
case("pad_const", lambda x: F.pad(x, (1, 2, 0, 1), value=1.5), n(*X4))
case("pad_reflect", lambda x: F.pad(x, (2, 1), mode="reflect"), n(*X3))
case("pad_replicate", lambda x: F.pad(x, (1, 1, 2, 0), mode="replicate"), n(*X4))
case("pad_circular", lambda x: F.pad(x, (1, 2), mode="circular"), n(*X3))
case("interpolate_nearest", lambda x: F.interpolate(x, scale_factor=2), n(*X3))
case("interpolate_linear", lambda x: F.interpolate(x, size=9, mode="linear"), n(*X3))
case("interpolate_bilinear", lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=True), n(*X4))
case("interpolate_bicubic", lambda x: F.interpolate(x, size=(7, 5), mode="bicubic"), n(*X4))
case("interpolate_trilinear", lambda x: F.interpolate(x, scale_factor=2, mode="trilinear"), n(*X5))
case("interpolate_area", lambda x: F.interpolate(x, size=(3, 4), mode="area"), n(*X4))
case("interpolate_nearest_exact", lambda x: F.interpolate(x, size=(5, 7), mode="nearest-exact"), n(*X4))
case("upsample", lambda x: F.upsample(x, scale_factor=2), n(*X3))
case("upsample_bilinear", lambda x: F.upsample_bilinear(x, scale_factor=2), n(*X4))
case("upsample_nearest", lambda x: F.upsample_nearest(x, scale_factor=2), n(*X4))
case("affine_grid", lambda t: F.affine_grid(t, (2, 3, 4, 5), align_corners=False), n(2, 2, 3))
case("grid_sample", lambda x, g: F.grid_sample(x, g, align_corners=False), n(*X4),
     lambda: R.uniform(-1.1, 1.1, size=(2, 3, 4, 2)))
case("grid_sample_nearest",
     lambda x, g: F.grid_sample(x, g, mode="nearest", padding_mode="border", align_corners=True), n(*X4),
     lambda: R.uniform(-1.1, 1.1, size=(2, 3, 4, 2)), grad=False)
case("batch_norm_training", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), n(4, 3), pos(3), n(3))
case("batch_norm_eval", lambda x, m, v: F.batch_norm(x, m, v), n(4, 3), n(3), pos(3))
case("instance_norm", lambda x, w, b: F.instance_norm(x, weight=w, bias=b), n(*X3), pos(3), n(3))
case("layer_norm", lambda x, w, b: F.layer_norm(x, (5,), w, b), n(*X2), pos(5), n(5))
case("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), n(2, 4, 3), pos(4), n(4))
case("rms_norm", lambda x, w: F.rms_norm(x, (5,), w), n(*X2), pos(5))
case("layer_norm_forward", lambda x, w, b: F.layer_norm_forward(x, w, b, width=5)[0], n(*X2), pos(5), n(5))
case("embedding", lambda i, w: F.embedding(i, w), ints(6, 4), n(6, 3))
case("embedding_padding", lambda i, w: F.embedding(i, w, padding_idx=0), ints(6, 4), n(6, 3))
case("embedding_bag", lambda i, w: F.embedding_bag(i, w, np.array([0, 2])), ints(6, 5), n(6, 3))
case("embedding_bag_2d_sum", lambda i, w, pw: F.embedding_bag(i, w, mode="sum", per_sample_weights=pw),
     ints(6, 2, 3), n(6, 3), n(2, 3))
case("embedding_bag_max", lambda i, w: F.embedding_bag(i, w, mode="max"), ints(6, 2, 3), n(6, 3))
case("one_hot", lambda i: F.one_hot(i, 5), ints(5, 4), grad=False)
case("cosine_similarity", F.cosine_similarity, n(*X2), n(*X2))
case("pairwise_distance", F.pairwise_distance, n(*X2), n(*X2))
case("pdist", F.pdist, n(*X2))
case("mse_loss", F.mse_loss, n(*X2), n(*X2))
case("l1_loss", F.l1_loss, n(*X2), n(*X2))
case("smooth_l1_loss", lambda x, t: F.smooth_l1_loss(x, t, beta=0.5), n(*X2), n(*X2))
case("huber_loss", lambda x, t: F.huber_loss(x, t, delta=0.5), n(*X2), n(*X2))
case("huber_loss_weight", lambda x, t, w: F.huber_loss(x, t, weight=w), n(*X2), n(*X2), pos(*X2))
case("mse_loss_weight", lambda x, t, w: F.mse_loss(x, t, weight=w), n(*X2), n(*X2), pos(*X2))
case("l1_loss_weight", lambda x, t, w: F.l1_loss(x, t, weight=w), n(*X2), n(*X2), pos(*X2))
case("binary_cross_entropy", F.binary_cross_entropy, prob(*X2), prob(*X2))
case("binary_cross_entropy_weight", lambda x, t, w: F.binary_cross_entropy(x, t, w), prob(*X2), prob(*X2), pos(*X2))
case("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits, n(*X2), prob(*X2))
case("binary_cross_entropy_with_logits_pos_weight",
     lambda x, t, w, p: F.binary_cross_entropy_with_logits(x, t, w, pos_weight=p), n(*X2), prob(*X2), pos(*X2), pos(5))
case("cross_entropy", F.cross_entropy, n(*X2), ints(5, 4))
case("cross_entropy_weight_smoothing", lambda x, t, w: F.cross_entropy(x, t, w, label_smoothing=0.1), n(*X2),
     ints(5, 4), pos(5))
case("cross_entropy_ignore", lambda x, t: F.cross_entropy(x, t, ignore_index=1), n(*X2), ints(5, 4))
case("cross_entropy_prob", F.cross_entropy, n(*X2), prob(*X2))
case("cross_entropy_2d", F.cross_entropy, n(2, 5, 3, 3), ints(5, 2, 3, 3))
case("nll_loss", F.nll_loss, n(*X2), ints(5, 4))
case("nll_loss_weight", lambda x, t, w: F.nll_loss(x, t, w, reduction="sum"), n(*X2), ints(5, 4), pos(5))
case("kl_div", lambda x, t: F.kl_div(x, t, reduction="batchmean"), n(*X2), prob(*X2))
case("kl_div_log_target", lambda x, t: F.kl_div(x, t, reduction="sum", log_target=True), n(*X2), n(*X2))
case("poisson_nll_loss", lambda x, t: F.poisson_nll_loss(x, t, full=True), n(*X2), pos(*X2))
case("gaussian_nll_loss", lambda x, t, v: F.gaussian_nll_loss(x, t, v, full=True), n(*X2), n(*X2), pos(*X2))
case("margin_ranking_loss", F.margin_ranking_loss, n(5), n(5), sgn(5))
case("triplet_margin_loss", F.triplet_margin_loss, n(*X2), n(*X2), n(*X2))
case("triplet_margin_with_distance_loss", lambda a, p, q: F.triplet_margin_with_distance_loss(a, p, q, swap=True),
     n(*X2), n(*X2), n(*X2))
case("soft_margin_loss", F.soft_margin_loss, n(*X2), sgn(*X2))
case("cosine_embedding_loss", F.cosine_embedding_loss, n(*X2), n(*X2), sgn(4))
case("hinge_embedding_loss", F.hinge_embedding_loss, n(*X2), sgn(*X2))
case("multi_margin_loss", F.multi_margin_loss, n(*X2), ints(5, 4))
case("multi_margin_loss_weight", lambda x, t, w: F.multi_margin_loss(x, t, p=2, weight=w), n(*X2), ints(5, 4), pos(5))
case("multi_margin_loss_one_sample", F.multi_margin_loss, n(5), ints(5))
case("multilabel_margin_loss", F.multilabel_margin_loss, n(2, 4), labels_lists)
case("multilabel_soft_margin_loss", F.multilabel_soft_margin_loss, n(*X2), lambda: (R.random(X2) > 0.5).astype(float))
case("ctc_loss", F.ctc_loss, lambda: np.log(R.dirichlet(np.ones(4), size=(7, 2))),
     lambda: R.integers(1, 4, size=(2, 3)), lambda: R.integers(5, 8, size=2), lambda: R.integers(1, 4, size=2))
case("ctc_loss_none", lambda lp, tg: F.ctc_loss(lp, tg, np.array([7, 6]), np.array([3, 2]), reduction="none"),
     lambda: np.log(R.dirichlet(np.ones(4), size=(7, 2))), lambda: R.integers(1, 4, size=(2, 3)))
case("ctc_loss_concatenated", lambda lp, tg: F.ctc_loss(lp, tg, np.array([7, 6]), np.array([3, 2]), reduction="sum"),
     lambda: np.log(R.dirichlet(np.ones(4), size=(7, 2))), lambda: R.integers(1, 4, size=5))
case("ctc_loss_unbatched", lambda lp, tg: F.ctc_loss(lp, tg, 7, 3),
     lambda: np.log(R.dirichlet(np.ones(4), size=7)), lambda: R.integers(1, 4, size=3))
case("scaled_dot_product_attention", F.scaled_dot_product_attention, n(2, 3, 4), n(2, 5, 4), n(2, 5, 4))
case("scaled_dot_product_attention_float_mask", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m),
     n(2, 3, 4), n(2, 5, 4), n(2, 5, 4), n(3, 5))
case("scaled_dot_product_attention_bool_mask", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m),
     n(2, 3, 4), n(2, 5, 4), n(2, 5, 4), lambda: R.random((3, 5)) > 0.3)


def mha(q, w, b, ow, ob):
    return F.multi_head_attention_forward(q, q, q, 4, 2, w, b, None, None, False, 0.0, ow, ob, training=False)[0]


case("multi_head_attention_forward", mha, n(3, 2, 4), n(12, 4), n(12), n(4, 4), n(4))
case("dropout_eval", lambda x: F.dropout(x, training=False), n(*X2))
case("alpha_dropout_eval", lambda x: F.alpha_dropout(x), n(*X2))


# name -> why it is not in the table
APART = {
    **dict.fromkeys(["dropout", "dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout", "gumbel_softmax",
                     "rrelu"], "draws random numbers in training: each example of the map draws its own, the loop "
                                "draws in another order (dropout_eval, alpha_dropout_eval and rrelu_eval cover "
                                "the rest)"),
    **dict.fromkeys(["celu_", "elu_", "hardtanh_", "leaky_relu_", "relu_", "rrelu_", "selu_", "threshold_"],
                    "writes into its argument: the out-of-place function is in the table"),
    **dict.fromkeys(["anywhere", "as_eager", "batched", "every", "in_place", "named_as_torch", "not_bool", "plain",
                     "same_dtype", "undifferentiated", "whole_batch", "softmax_input", "renorm_rows", "eager_quiet"],
                    "a helper of the library, not a function of torch.nn.functional"),
}


def _public_functions() -> list[str]:
    return sorted(name for name, v in vars(F).items() if not name.startswith("_") and callable(v)
                  and not inspect.isclass(v) and not inspect.ismodule(v))


def test_every_public_function_is_swept():
    missing = [name for name in _public_functions() if name not in APART
               and not any(c == name or c.startswith(name + "_") for c in CASES)]
    assert not missing, f"add these functions of chainrule.nn.functional to CASES (or APART, with why): {missing}"


def _in_axes(k: int):
    """Every argument batched, then each alone (the others the same for every example)."""
    return [(0,) * k] + ([tuple(0 if j == i else None for j in range(k)) for i in range(k)] if k > 1 else [])


@pytest.mark.parametrize("name", sorted(CASES))
def test_vmap_is_the_stacked_loop(name, monkeypatch):
    f, draws, grad = CASES[name]
    looped = []

    def no_loop(trace, fun, *args, **kwargs):
        looped.append(getattr(fun, "__name__", repr(fun)))
        return loop(trace, fun, *args, **kwargs)

    loop = batch_trace.loop_over_examples
    monkeypatch.setattr(batch_trace, "loop_over_examples", no_loop)
    examples = [[d() for d in draws] for _ in range(3)]
    for axes in _in_axes(len(draws)):
        per = [[e[k] if a == 0 else examples[0][k] for k, a in enumerate(axes)] for e in examples]
        args = [np.stack([p[k] for p in per]) if a == 0 else examples[0][k] for k, a in enumerate(axes)]
        want = np.stack([np.asarray(f(*p)) for p in per])
        got = cr.vmap(f, in_axes=axes)(*args)
        assert np.asarray(got).dtype == want.dtype, axes
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13, err_msg=str(axes))
        floats = tuple(k for k, v in enumerate(examples[0]) if np.asarray(v).dtype.kind == "f")
        if grad and floats:  # the gradients of the floating arguments
            w = np.random.default_rng(1).normal(size=want.shape[1:])

            def loss(*a, w=w):
                return cnp.sum(f(*a) * w)

            slopes = cr.vmap(cr.grad(loss, argnums=floats), in_axes=axes)(*args)
            for k, s in enumerate(slopes):
                np.testing.assert_allclose(s, np.stack([cr.grad(loss, argnums=floats)(*p)[k] for p in per]),
                                           rtol=1e-10, atol=1e-12, err_msg=str(axes))
        assert not looped, f"{looped} ran once per example for in_axes={axes}"

"""Pooling (chainrule/nn/_pooling.py), resampling and instance normalisation
(_resample.py) and their layers (spatial.py) against torch.nn.functional and torch.nn in
float64: values, returned indices, every input's and parameter's gradient; finite
differences in both modes to second order; and under vmap."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

torch = pytest.importorskip("torch")
from torch_parity import compare, copy_weights  # noqa: E402

TF = torch.nn.functional
T = torch.nn
rng = np.random.default_rng(11)
X4 = rng.normal(size=(2, 3, 7, 9))
X3 = rng.normal(size=(2, 3, 11))
X5 = rng.normal(size=(1, 2, 3, 4, 5))


def both(name, *args, **kwargs):
    """(our function, torch's) called with the same arguments."""
    return (lambda *a: getattr(F, name)(*a, *args, **kwargs), lambda *a: getattr(TF, name)(*a, *args, **kwargs))


# name: (ours, torch's, arrays); a tuple result (values, indices) compares both
CASES = {
    "max_pool2d_ceil": (*both("max_pool2d", 2, ceil_mode=True), [X4]),
    "max_pool2d_ceil_pad_stride": (*both("max_pool2d", 3, 2, 1, ceil_mode=True), [X4]),
    "max_pool2d_ceil_rect": (*both("max_pool2d", (2, 3), (2, 2), (1, 0), ceil_mode=True), [X4]),
    "max_pool2d_indices_dilation": (*both("max_pool2d", 2, 1, 1, 2, True, True), [X4]),
    "max_pool2d_unbatched": (*both("max_pool2d", 2, return_indices=True), [X4[0]]),
    "avg_pool2d_ceil": (*both("avg_pool2d", 3, 2, 1, True), [X4]),
    "avg_pool2d_ceil_exclude_pad": (*both("avg_pool2d", 3, 2, 1, True, False), [X4]),
    "avg_pool2d_ceil_no_pad": (*both("avg_pool2d", 2, ceil_mode=True), [X4]),
    "avg_pool2d_divisor_override": (*both("avg_pool2d", 3, 2, 1, True, True, 5), [X4]),
    "max_pool1d": (*both("max_pool1d", 3), [X3]),
    "max_pool1d_ceil_indices": (*both("max_pool1d", 4, 3, 2, ceil_mode=True, return_indices=True), [X3]),
    "max_pool1d_unbatched_dilation": (*both("max_pool1d", 2, 1, 1, 2), [X3[0]]),
    "avg_pool1d": (*both("avg_pool1d", 3, 2, 1), [X3]),
    "avg_pool1d_ceil_exclude_pad": (*both("avg_pool1d", 3, 2, 1, True, False), [X3]),
    "adaptive_avg_pool1d": (*both("adaptive_avg_pool1d", 4), [X3]),
    "adaptive_max_pool1d_indices": (*both("adaptive_max_pool1d", 4, True), [X3]),
    "adaptive_max_pool2d_1": (*both("adaptive_max_pool2d", 1), [X4]),
    "adaptive_max_pool2d_uneven_indices": (*both("adaptive_max_pool2d", (3, 4), True), [X4]),
    "adaptive_max_pool2d_upsample_none": (*both("adaptive_max_pool2d", (None, 13)), [X4]),
    "adaptive_max_pool2d_unbatched": (*both("adaptive_max_pool2d", 3), [X4[0]]),
    "interpolate_nearest_2x": (*both("interpolate", scale_factor=2), [X4]),
    "interpolate_nearest_size": (*both("interpolate", size=(5, 13)), [X4]),
    "interpolate_nearest_fraction": (*both("interpolate", scale_factor=(0.5, 1.3)), [X4]),
    "interpolate_nearest_recompute": (*both("interpolate", scale_factor=2.3, recompute_scale_factor=True), [X4]),
    "interpolate_nearest_exact": (*both("interpolate", scale_factor=1.7, mode="nearest-exact"), [X4]),
    "interpolate_nearest_1d": (*both("interpolate", scale_factor=3), [X3]),
    "interpolate_nearest_3d": (*both("interpolate", size=(4, 3, 7)), [X5]),
    "interpolate_bilinear": (*both("interpolate", scale_factor=2, mode="bilinear"), [X4]),
    "interpolate_bilinear_align": (*both("interpolate", scale_factor=2, mode="bilinear", align_corners=True), [X4]),
    "interpolate_bilinear_size": (*both("interpolate", size=(4, 17), mode="bilinear"), [X4]),
    "interpolate_bilinear_down": (*both("interpolate", scale_factor=0.6, mode="bilinear"), [X4]),
    "interpolate_bilinear_to_1": (*both("interpolate", size=(1, 1), mode="bilinear", align_corners=True), [X4]),
    "interpolate_linear": (*both("interpolate", scale_factor=1.5, mode="linear"), [X3]),
    "interpolate_linear_align": (*both("interpolate", size=5, mode="linear", align_corners=True), [X3]),
    "interpolate_trilinear": (*both("interpolate", scale_factor=2, mode="trilinear"), [X5]),
    "interpolate_area": (*both("interpolate", size=(3, 4), mode="area"), [X4]),
    # N-HiTS's 'cubic' interpolation of its forecast knots
    "interpolate_bicubic": (*both("interpolate", scale_factor=2, mode="bicubic"), [X4]),
    "interpolate_bicubic_size": (*both("interpolate", size=(1, 9), mode="bicubic"), [X4]),
    "interpolate_bicubic_down": (*both("interpolate", scale_factor=(0.6, 1.7), mode="bicubic"), [X4]),
    "interpolate_bicubic_align": (*both("interpolate", size=(7, 5), mode="bicubic", align_corners=True), [X4]),
    "unfold": (*both("unfold", 2), [X4]),
    "unfold_all_options": (*both("unfold", (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), [X4]),
    "unfold_unbatched": (*both("unfold", 3), [X4[0]]),
    "fold": (*both("fold", (7, 9), 2), [rng.normal(size=(2, 12, 48))]),
    "fold_all_options": (*both("fold", (7, 9), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
                         [rng.normal(size=(2, 18, 28))]),
    "pixel_shuffle": (*both("pixel_shuffle", 2), [rng.normal(size=(2, 8, 3, 4))]),
    "pixel_shuffle_5d": (*both("pixel_shuffle", 2), [rng.normal(size=(2, 3, 4, 2, 2))]),
    "pixel_unshuffle": (*both("pixel_unshuffle", 2), [rng.normal(size=(2, 3, 4, 6))]),
    "conv_transpose1d": (*both("conv_transpose1d", stride=2, padding=1, output_padding=1, dilation=2),
                         [X3, rng.normal(size=(3, 2, 3)), rng.normal(size=2)]),
    "conv_transpose1d_groups": (*both("conv_transpose1d", groups=3), [X3, rng.normal(size=(3, 2, 3))]),
    "conv_transpose1d_unbatched": (*both("conv_transpose1d"), [X3[0], rng.normal(size=(3, 2, 3))]),
    "instance_norm_affine": (*both("instance_norm"), [X4]),
    "instance_norm_weight_bias": (lambda x, w, b: F.instance_norm(x, weight=w, bias=b, eps=1e-3),
                                  lambda x, w, b: TF.instance_norm(x, weight=w, bias=b, eps=1e-3),
                                  [X4, rng.normal(size=3), rng.normal(size=3)]),
    "instance_norm_1d": (*both("instance_norm"), [X3]),
}


def _split(out):
    return (out[0], list(out[1:])) if isinstance(out, tuple) else (out, [])


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    ours, theirs, arrays = CASES[name]
    a_in = [cr.tensor(a, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    (a, a_idx), (t, t_idx) = _split(ours(*a_in)), _split(theirs(*t_in))
    assert a.shape == tuple(t.shape) and a.dtype == np.float64
    np.testing.assert_allclose(a.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-13)
    for i, j in zip(a_idx, t_idx, strict=True):
        assert np.asarray(i).dtype == np.int64
        np.testing.assert_array_equal(np.asarray(i), j.numpy())
    w = rng.normal(size=tuple(t.shape))
    (a * w).sum().backward()
    (t * torch.tensor(w)).sum().backward()
    for x, y in zip(a_in, t_in, strict=True):
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-11, atol=1e-12)


# the functions whose value alone is compared under finite differences and vmap
GRADCHECK = [n for n in sorted(CASES) if "indices" not in n and "unbatched" not in n]


@pytest.mark.parametrize("name", GRADCHECK)
def test_gradcheck_and_vmap(name):
    ours, _, arrays = CASES[name]
    x, *rest = arrays
    x = x[:1] if x.ndim >= 3 else x  # one sample: finite differences stay quick
    assert cr.gradcheck(ours, x, *rest, order=2, modes=("fwd", "rev"))
    # a batch of two copies of the input, the second scaled: each example as the function alone
    got = cr.vmap(lambda v: ours(v, *rest))(np.stack([x, x * 0.9]))
    for k, scale in enumerate([1.0, 0.9]):
        np.testing.assert_allclose(np.asarray(got)[k], np.asarray(ours(x * scale, *rest)), rtol=1e-13, atol=1e-14)


def test_float32_stays_float32():
    x = X4.astype(np.float32)
    for out in [F.max_pool2d(x, 3, 2, ceil_mode=True), F.avg_pool2d(x, 3, 2, 1, True, False),
                F.adaptive_max_pool2d(x, 2), F.interpolate(x, scale_factor=1.5, mode="bilinear"),
                F.unfold(x, 2), F.pixel_shuffle(x[:, :1].repeat(4, 1), 2), F.instance_norm(x)]:
        assert out.dtype == np.float32
    got = F.interpolate(x, scale_factor=1.7, mode="bilinear")
    want = TF.interpolate(torch.tensor(x), scale_factor=1.7, mode="bilinear").numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_nan_and_inf_reach_the_output_as_in_torch():
    x = X4.copy()
    x[0, 0, 1, 1], x[0, 1, 2, 3] = np.nan, np.inf
    for ours, theirs in [both("max_pool2d", 3, 2, 1, ceil_mode=True), both("adaptive_max_pool2d", 3),
                         both("interpolate", scale_factor=2, mode="bilinear"), both("avg_pool2d", 2)]:
        np.testing.assert_allclose(ours(x), theirs(torch.tensor(x)).numpy(), rtol=1e-12)


def I(*a, **k):  # noqa: E743  (a layer's constructor arguments, given to both libraries)
    return a, k


# name: (layer class name, constructor arguments, input shape)
LAYERS = {
    "MaxPool1d": ("MaxPool1d", I(3, 2, 1, ceil_mode=True), (2, 3, 10)),
    "MaxPool2d_ceil": ("MaxPool2d", I(3, 2, ceil_mode=True), (2, 3, 8, 8)),
    "AvgPool1d": ("AvgPool1d", I(3, 2, 1, True, False), (2, 3, 10)),
    "AvgPool2d_positional": ("AvgPool2d", I(3, 2, 1, True, False), (2, 3, 8, 8)),
    "AvgPool2d_divisor": ("AvgPool2d", I(2, divisor_override=3), (2, 3, 4, 4)),
    "AdaptiveAvgPool1d": ("AdaptiveAvgPool1d", I(3), (2, 3, 10)),
    "AdaptiveMaxPool1d": ("AdaptiveMaxPool1d", I(4), (2, 3, 10)),
    "AdaptiveMaxPool2d": ("AdaptiveMaxPool2d", I((2, 3)), (2, 3, 7, 8)),
    "Upsample_nearest": ("Upsample", I(scale_factor=2), (2, 3, 4, 5)),
    "Upsample_bilinear_align": ("Upsample", I(size=(7, 9), mode="bilinear", align_corners=True), (2, 3, 4, 5)),
    "Upsample_bicubic": ("Upsample", I(scale_factor=1.5, mode="bicubic"), (2, 3, 4, 5)),
    "UpsamplingNearest2d": ("UpsamplingNearest2d", I(scale_factor=3), (1, 2, 3, 3)),
    "UpsamplingBilinear2d": ("UpsamplingBilinear2d", I(scale_factor=2), (1, 2, 3, 3)),
    "Unfold": ("Unfold", I(2, padding=1), (2, 3, 4, 5)),
    "Fold": ("Fold", I((4, 5), 2, stride=(1, 2)), (2, 8, 6)),
    "PixelShuffle": ("PixelShuffle", I(3), (2, 18, 2, 3)),
    "PixelUnshuffle": ("PixelUnshuffle", I(2), (2, 2, 4, 6)),
    "ConvTranspose1d": ("ConvTranspose1d", I(3, 4, 3, stride=2, padding=1, output_padding=1), (2, 3, 6)),
    "ConvTranspose1d_groups_unbatched": ("ConvTranspose1d", I(4, 2, 2, groups=2, dilation=2, bias=False), (4, 5)),
    "InstanceNorm1d": ("InstanceNorm1d", I(3), (4, 3, 6)),
    "InstanceNorm1d_unbatched_affine": ("InstanceNorm1d", I(3, affine=True), (3, 6)),
    "InstanceNorm2d_affine": ("InstanceNorm2d", I(3, eps=1e-3, affine=True), (2, 3, 4, 5)),
    "InstanceNorm3d": ("InstanceNorm3d", I(2, affine=True), (2, 2, 3, 2, 4)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_torch(name, dtype):
    cls, (args, kwargs), shape = LAYERS[name]
    ours = getattr(nn, cls)(*args, **kwargs).to(dtype)
    theirs = getattr(T, cls)(*args, **kwargs).to(torch.float64 if dtype == np.float64 else torch.float32)
    copy_weights(ours, theirs)
    outs, touts = compare(ours, theirs, [(rng.standard_normal(shape) * 2).astype(dtype)], dtype)


@pytest.mark.parametrize("cls", ["InstanceNorm1d", "InstanceNorm2d"])
def test_instance_norm_running_statistics_and_eval_match_torch(cls):
    shape = (3, 2, 5) if cls == "InstanceNorm1d" else (3, 2, 4, 3)
    ours = getattr(nn, cls)(2, momentum=0.3, affine=True, track_running_stats=True, dtype=np.float64)
    theirs = getattr(T, cls)(2, momentum=0.3, affine=True, track_running_stats=True).double()
    copy_weights(ours, theirs)
    for _ in range(3):
        x = rng.standard_normal(shape) * 2 + 1
        ours(x)
        theirs(torch.tensor(x))
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy(), rtol=1e-12, atol=1e-14, err_msg=k)
    ours.eval(), theirs.eval()
    compare(ours, theirs, [rng.standard_normal(shape)])


@pytest.mark.parametrize("bad, match", [
    (lambda: F.interpolate(X4, scale_factor=2, mode="bicubic", antialias=True), "antialias"),
    (lambda: F.interpolate(X3, scale_factor=2, mode="bicubic"), "4-d input"),
    (lambda: F.interpolate(X4, scale_factor=2, mode="cubic"), "mode must be"),
    (lambda: F.interpolate(X4, scale_factor=2, align_corners=True), "align_corners"),
    (lambda: F.interpolate(X4, size=3, scale_factor=2), "exactly one"),
    (lambda: F.interpolate(X4), "exactly one"),
    (lambda: F.interpolate(X4, size=(2, 3, 4)), "one entry per spatial axis"),
    (lambda: F.interpolate(X3, scale_factor=2, mode="bilinear"), "4-d input"),
    (lambda: F.pixel_shuffle(np.ones((1, 3, 2, 2)), 2), "C·r²"),
    (lambda: F.fold(np.ones((1, 8, 5)), (4, 5), 2), "does not fit"),
    (lambda: F.max_pool2d(np.ones((2, 2)), 2), r"\(N, C, H, W\)"),
    (lambda: F.max_pool2d(np.ones((1, 1, 4, 4)), 2, padding=2), "half the kernel"),
    (lambda: F.avg_pool2d(np.ones((1, 1, 4, 4)), 2, divisor_override=0), "non-zero"),
    (lambda: F.instance_norm(np.ones((2, 3, 1))), "more than one spatial"),
    (lambda: nn.MaxPool1d(), "missing"),
    (lambda: nn.Upsample(None, 2, "nearest", None, None, 7), "at most"),
])
def test_bad_arguments_say_what_is_wrong(bad, match):
    with pytest.raises((ValueError, TypeError, NotImplementedError), match=match):
        bad()

"""Conv1d, grouped and depthwise Conv2d, ConvTranspose2d, AdaptiveAvgPool2d and GroupNorm:
against PyTorch on the same weights (float64 to 1e-10, float32), and their functional
forms against central finite differences in both modes."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

torch = pytest.importorskip("torch")
from torch_parity import compare, copy_weights  # noqa: E402

rng = np.random.default_rng(5)
T = torch.nn

# name: (ours, theirs, input shape); constructors take the same arguments in both
CASES = {
    "Conv1d": (lambda: nn.Conv1d(3, 4, 3), lambda: T.Conv1d(3, 4, 3), (2, 3, 9)),
    "Conv1d_stride_pad_dilation_groups": (
        lambda: nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2),
        lambda: T.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2), (2, 4, 11)),
    "Conv1d_same_no_bias": (lambda: nn.Conv1d(2, 3, 5, padding="same", bias=False),
                            lambda: T.Conv1d(2, 3, 5, padding="same", bias=False), (3, 2, 7)),
    "Conv1d_unbatched": (lambda: nn.Conv1d(2, 3, 2), lambda: T.Conv1d(2, 3, 2), (2, 6)),
    "Conv2d_groups": (lambda: nn.Conv2d(4, 6, 3, padding=1, groups=2),
                      lambda: T.Conv2d(4, 6, 3, padding=1, groups=2), (2, 4, 5, 6)),
    "Conv2d_depthwise": (lambda: nn.Conv2d(3, 3, 3, stride=2, groups=3),
                         lambda: T.Conv2d(3, 3, 3, stride=2, groups=3), (2, 3, 7, 7)),
    "Conv2d_depthwise_multiplier_dilation": (
        lambda: nn.Conv2d(2, 6, (3, 2), padding=(2, 1), dilation=(2, 1), groups=2, bias=False),
        lambda: T.Conv2d(2, 6, (3, 2), padding=(2, 1), dilation=(2, 1), groups=2, bias=False), (1, 2, 6, 5)),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(3, 2, 3), lambda: T.ConvTranspose2d(3, 2, 3), (2, 3, 4, 5)),
    "ConvTranspose2d_stride_pad_outpad": (
        lambda: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
        lambda: T.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1), (2, 4, 3, 4)),
    "ConvTranspose2d_groups_dilation": (
        lambda: nn.ConvTranspose2d(4, 6, (2, 3), stride=(1, 2), padding=(1, 0), groups=2, dilation=(2, 1)),
        lambda: T.ConvTranspose2d(4, 6, (2, 3), stride=(1, 2), padding=(1, 0), groups=2, dilation=(2, 1)),
        (1, 4, 4, 3)),
    "ConvTranspose2d_outpad_below_dilation": (
        lambda: nn.ConvTranspose2d(2, 2, 3, stride=1, padding=2, output_padding=1, dilation=2, bias=False),
        lambda: T.ConvTranspose2d(2, 2, 3, stride=1, padding=2, output_padding=1, dilation=2, bias=False),
        (2, 2, 5, 5)),
    "ConvTranspose2d_depthwise_unbatched": (
        lambda: nn.ConvTranspose2d(3, 3, 2, stride=2, groups=3),
        lambda: T.ConvTranspose2d(3, 3, 2, stride=2, groups=3), (3, 3, 4)),
    "AdaptiveAvgPool2d_1": (lambda: nn.AdaptiveAvgPool2d(1), lambda: T.AdaptiveAvgPool2d(1), (2, 3, 5, 7)),
    "AdaptiveAvgPool2d_uneven": (lambda: nn.AdaptiveAvgPool2d((3, 4)), lambda: T.AdaptiveAvgPool2d((3, 4)),
                                 (2, 2, 7, 5)),
    "AdaptiveAvgPool2d_none_upsample": (lambda: nn.AdaptiveAvgPool2d((None, 9)),
                                        lambda: T.AdaptiveAvgPool2d((None, 9)), (3, 4, 6)),
    "GroupNorm": (lambda: nn.GroupNorm(2, 6), lambda: T.GroupNorm(2, 6), (3, 6, 4, 5)),
    "GroupNorm_1d_eps": (lambda: nn.GroupNorm(3, 3, eps=1e-3), lambda: T.GroupNorm(3, 3, eps=1e-3), (4, 3, 5)),
    "GroupNorm_no_affine": (lambda: nn.GroupNorm(1, 4, affine=False), lambda: T.GroupNorm(1, 4, affine=False),
                            (2, 4, 3, 3)),
    "GroupNorm_no_bias": (lambda: nn.GroupNorm(2, 4, bias=False), lambda: T.GroupNorm(2, 4, bias=False),
                          (2, 4, 3)),
    "BatchNorm1d_no_bias": (lambda: nn.BatchNorm1d(4, bias=False), lambda: T.BatchNorm1d(4, bias=False), (5, 4, 3)),
    "InstanceNorm2d_affine_no_bias": (lambda: nn.InstanceNorm2d(4, affine=True, bias=False),
                                      lambda: T.InstanceNorm2d(4, affine=True, bias=False), (2, 4, 3, 3)),
}


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_matches_torch(name, dtype):
    make_ours, make_theirs, shape = CASES[name]
    ours, theirs = make_ours().to(dtype), make_theirs().to(torch.float64 if dtype == np.float64 else torch.float32)
    copy_weights(ours, theirs)
    compare(ours, theirs, [(rng.standard_normal(shape) * 2).astype(dtype)], dtype)


@pytest.mark.torch
def test_conv_transpose_output_size_argument_matches_torch():
    ours, theirs = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1), T.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    ours.double(), theirs.double()
    copy_weights(ours, theirs)
    x = rng.standard_normal((1, 2, 4, 4))
    for size in [(7, 7), (8, 8), (1, 3, 8, 7)]:
        np.testing.assert_allclose(ours(x, output_size=size).detach().numpy(),
                                   theirs(torch.tensor(x), output_size=size).detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="not reachable"):
        ours(x, output_size=(10, 10))


def test_default_initialisation_has_torch_shapes_and_bounds():
    layer = nn.ConvTranspose2d(4, 6, 3, groups=2, rng=0)
    assert layer.weight.shape == (4, 3, 3, 3) and layer.bias.shape == (6,)
    bound = 1 / np.sqrt(3 * 9)  # fan-in from the weight's second axis, as PyTorch
    assert np.abs(layer.weight.detach().numpy()).max() <= bound >= np.abs(layer.bias.detach().numpy()).max()
    assert nn.Conv2d(4, 8, 3, groups=4).weight.shape == (8, 1, 3, 3)
    assert nn.Conv1d(4, 8, 3).weight.dtype == np.float32


@pytest.mark.parametrize("bad, match", [
    (lambda: nn.Conv2d(4, 6, 3, groups=4), "divisor"),
    (lambda: nn.Conv1d(3, 3, 3, padding_mode="mirror"), "padding_mode"),
    (lambda: nn.GroupNorm(4, 6), "divisible"),
    (lambda: F.conv2d(np.ones((1, 4, 5, 5)), np.ones((2, 3, 3, 3)), groups=2), "per group"),
    (lambda: F.conv_transpose2d(np.ones((1, 2, 3, 3)), np.ones((2, 1, 3, 3)), stride=2, output_padding=2),
     "output_padding"),
    (lambda: F.conv_transpose2d(np.ones((1, 3, 3, 3)), np.ones((2, 1, 3, 3))), "channels"),
    (lambda: F.adaptive_avg_pool2d(np.ones((3, 4)), 2), r"\(N, C, H, W\)"),
    # a padding string is checked where the layer is made, as PyTorch does
    (lambda: nn.Conv1d(2, 3, 3, padding="full"), "Conv1d: padding must be 'same', 'valid'"),
    (lambda: nn.Conv3d(2, 3, 3, padding="SAME"), "Conv3d: padding must be 'same', 'valid'"),
    (lambda: nn.Conv2d(2, 3, 3, padding="same", stride=(1, 2)), "Conv2d: padding='same' is not supported for strided"),
])
def test_bad_arguments_say_what_is_wrong(bad, match):
    with pytest.raises((ValueError, NotImplementedError), match=match):
        bad()


def r(*shape):
    return rng.standard_normal(shape)


GRADCHECK = {
    "conv1d_groups_stride": (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, groups=2),
                             (r(2, 4, 7), r(2, 2, 3), r(2))),
    "conv2d_depthwise": (lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2), (r(1, 2, 4, 4), r(4, 1, 3, 3), r(4))),
    "conv_transpose2d": (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
                         (r(2, 2, 3, 3), r(2, 3, 3, 3), r(3))),
    "conv_transpose2d_groups_dilation": (
        lambda x, w: F.conv_transpose2d(x, w, groups=2, dilation=2), (r(1, 4, 3, 2), r(4, 1, 2, 2))),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (2, 3)), (r(2, 1, 5, 4),)),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), (r(2, 4, 3), r(4), r(4))),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_functional_gradients_match_finite_differences(name):
    f, args = GRADCHECK[name]
    assert cr.gradcheck(f, *args, order=2, modes=("fwd", "rev"))



# (ours, PyTorch's same call, what our error must say)
CHANNEL_ERRORS = {
    "Conv1d": (lambda: nn.Conv1d(3, 3, 3)(np.zeros((1, 2, 9))),
               lambda: torch.nn.Conv1d(3, 3, 3)(torch.zeros(1, 2, 9)),
               "conv1d: the input has 2 channels but the weight expects 3"),
    "conv1d groups": (lambda: F.conv1d(np.zeros((1, 4, 9)), np.zeros((6, 2, 3)), groups=4),
                      lambda: torch.nn.functional.conv1d(torch.zeros(1, 4, 9), torch.zeros(6, 2, 3), groups=4),
                      "conv1d: groups=4 must be"),
    "Conv2d": (lambda: nn.Conv2d(3, 3, 3)(np.zeros((1, 2, 9, 9))),
               lambda: torch.nn.Conv2d(3, 3, 3)(torch.zeros(1, 2, 9, 9)),
               "conv2d: the input has 2 channels"),
}


@pytest.mark.parametrize("name", list(CHANNEL_ERRORS))
def test_channel_errors_name_the_function_called(name):
    ours, theirs, message = CHANNEL_ERRORS[name]
    with pytest.raises(ValueError, match=message):
        ours()
    with pytest.raises(RuntimeError):  # PyTorch refuses the same call
        theirs()

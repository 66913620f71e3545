"""The convolution family against PyTorch over the product of its options: padding (ints,
'same' with odd and even kernels, 'valid'), every padding_mode, groups, dilation and
stride; ConvTranspose2d's output_padding and ``output_size=``; AdaptiveAvgPool2d with
sizes that do not divide; GroupNorm. Weights loaded from torch's state dict by name;
float64 to 1e-10: outputs, input gradients, every parameter gradient."""

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
from torch_parity import Call, compare, load_from_torch  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel:UserWarning")]
_rng = np.random.default_rng(31)
MODES = ("zeros", "reflect", "replicate", "circular")


def _pair(cls, *args, **kw):
    theirs = getattr(torch.nn, cls)(*args, **kw).double()
    with torch.no_grad():
        for p in theirs.parameters():  # GroupNorm starts at ones and zeros
            p.copy_(torch.randn_like(p))
    ours = getattr(nn, cls)(*args, **kw, dtype=np.float64)
    load_from_torch(ours, theirs)
    return ours, theirs


def _conv_cases(paddings, dilations, strides):
    for padding, mode, groups, dilation, stride in itertools.product(paddings, MODES, (1, 2), dilations, strides):
        if padding == "same" and stride != 1:
            continue  # torch refuses it too
        yield padding, mode, groups, dilation, stride


@pytest.mark.parametrize("padding, mode, groups, dilation, stride",
                         list(_conv_cases((0, (1, 2), "same", "valid"), (1, (2, 1)), (1, (2, 1)))))
def test_conv2d_matches_torch(padding, mode, groups, dilation, stride):
    ours, theirs = _pair("Conv2d", 4, 6, (3, 2), stride=stride, padding=padding, dilation=dilation, groups=groups,
                         padding_mode=mode)
    compare(ours, theirs, [_rng.standard_normal((2, 4, 5, 6))], np.float64)


@pytest.mark.parametrize("padding, mode, groups, dilation, stride",
                         list(_conv_cases((0, 2, "same", "valid"), (1, 2), (1, 2))))
def test_conv1d_matches_torch(padding, mode, groups, dilation, stride):
    kernel = 2 if dilation == 1 else 3  # an even 'same' total, and an odd one
    ours, theirs = _pair("Conv1d", 2, 4, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups,
                         padding_mode=mode)
    compare(ours, theirs, [_rng.standard_normal((2, 2, 7))], np.float64)


@pytest.mark.parametrize("mode", MODES)
def test_unbatched_padding_modes_match_torch(mode):
    ours, theirs = _pair("Conv2d", 2, 3, 3, padding=1, padding_mode=mode)
    compare(ours, theirs, [_rng.standard_normal((2, 4, 5))], np.float64)
    ours, theirs = _pair("Conv1d", 2, 3, 3, padding="same", padding_mode=mode)
    compare(ours, theirs, [_rng.standard_normal((2, 5))], np.float64)


def _transpose_cases():
    for stride, padding, dilation, groups in itertools.product((1, 2, 3), (0, 1), (1, 2), (1, 2)):
        for output_padding in range(max(stride, dilation)):
            yield stride, padding, output_padding, dilation, groups


@pytest.mark.parametrize("stride, padding, output_padding, dilation, groups", list(_transpose_cases()))
def test_conv_transpose2d_matches_torch(stride, padding, output_padding, dilation, groups):
    ours, theirs = _pair("ConvTranspose2d", 4, 2, (3, 2), stride=stride, padding=padding,
                         output_padding=output_padding, dilation=dilation, groups=groups)
    compare(ours, theirs, [_rng.standard_normal((2, 4, 3, 4))], np.float64)


@pytest.mark.parametrize("extra", [(0, 0), (1, 0), (0, 2), (2, 2)])
def test_conv_transpose2d_output_size_matches_torch(extra):
    ours, theirs = _pair("ConvTranspose2d", 2, 3, 3, stride=3, padding=1)
    size = (3 * 2 - 2 + 3 + extra[0], 3 * 3 - 2 + 3 + extra[1])  # input 3 × 4
    build = lambda m, x: m(x, output_size=size)  # noqa: E731
    compare(Call.wrap(nn.Module, ours, build), Call.wrap(torch.nn.Module, theirs, build),
            [_rng.standard_normal((2, 2, 3, 4))], np.float64)
    with pytest.raises(ValueError, match="not reachable"):
        ours(np.zeros((2, 2, 3, 4)), output_size=(size[0] + 3, size[1]))


@pytest.mark.parametrize("size, output", list(itertools.product(
    [(7, 5), (5, 7), (6, 6), (1, 3)], [(3, 4), (4, 3), (2, None), (5, 5), (1, 1), (7, 2), 3])))
def test_adaptive_avg_pool2d_matches_torch(size, output):
    compare(nn.AdaptiveAvgPool2d(output), torch.nn.AdaptiveAvgPool2d(output),
            [_rng.standard_normal((2, 3, *size))], np.float64)


@pytest.mark.parametrize("layer, output, shape", [
    ("AdaptiveAvgPool2d", 0, (1, 2, 4, 4)), ("AdaptiveAvgPool2d", (0, 2), (2, 4, 4)),
    ("AdaptiveMaxPool2d", (2, 0), (1, 2, 4, 4)), ("AdaptiveAvgPool1d", 0, (2, 4)),
    ("AdaptiveMaxPool1d", 0, (1, 2, 4)), ("AdaptiveAvgPool3d", (1, 0, 2), (1, 2, 3, 4, 4)),
])
def test_adaptive_pools_to_an_empty_output_as_torch(layer, output, shape):
    x = np.ones(shape)
    want = getattr(torch.nn, layer)(output)(torch.tensor(x))
    got = getattr(nn, layer)(output)(x)
    assert got.shape == tuple(want.shape)
    g = cr.grad(lambda x: cr.numpy.sum(getattr(nn, layer)(output)(x)))(x)
    np.testing.assert_array_equal(g, np.zeros(shape))  # nothing reads the input
    with pytest.raises(ValueError, match="at least 0"):
        getattr(nn, layer)(-1)(x)


@pytest.mark.parametrize("groups, affine, shape", list(itertools.product(
    (1, 2, 3, 6), (False, True), [(3, 6), (2, 6, 5), (2, 6, 3, 4), (1, 6, 2, 2, 2)])))
def test_group_norm_matches_torch(groups, affine, shape):
    ours, theirs = _pair("GroupNorm", groups, 6, affine=affine)
    compare(ours, theirs, [_rng.standard_normal(shape)], np.float64)


def test_bad_padding_modes_say_what_is_wrong():
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(2, 2, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="only padding_mode='zeros'"):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="smaller than the input size"):
        nn.Conv2d(1, 1, 3, padding=3, padding_mode="reflect")(np.zeros((1, 1, 3, 3)))

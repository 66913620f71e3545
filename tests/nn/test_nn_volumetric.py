"""3-d convolution and pooling (Conv3d, MaxPool3d, AvgPool3d, AdaptiveAvgPool3d) and the
power-average pools (LPPool1d/2d/3d), functions and layers, against PyTorch: outputs,
indices, and the gradients of the input and of every parameter in float64."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
from torch_parity import compare, copy_weights  # noqa: E402

rng = np.random.default_rng(7)
X = rng.normal(size=(2, 4, 5, 6, 7))
X[0, 0, :2, :2, :2] = 1.25  # a window of equal values: the gradient goes to the first, as PyTorch's
POS = np.abs(X) + 0.1

GEOMETRIES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3, 2), stride=(1, 2, 3), ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
]


def _cases():
    cases = {}
    for i, g in enumerate(GEOMETRIES):
        cases[f"max_pool3d_{i}"] = (lambda L, x, g=g: L.nn.functional.max_pool3d(x, **g, return_indices=True), X)
        cases[f"MaxPool3d_dilated_{i}"] = (
            lambda L, x, g=g: L.nn.MaxPool3d(**g, dilation=1 if "padding" in g else 2)(x), X)
        for j, more in enumerate([{}, dict(count_include_pad=False), dict(divisor_override=5)]):
            cases[f"avg_pool3d_{i}_{j}"] = (lambda L, x, g=g, m=more: L.nn.AvgPool3d(**g, **m)(x), X)
        cases[f"lp_pool3d_{i}"] = (lambda L, x, g=g: L.nn.LPPool3d(2, g["kernel_size"], g.get("stride"),
                                                                    g.get("ceil_mode", False))(x), X)
    for size in (1, 3, (2, None, 4), (5, 6, 7), (4, 4, 9)):
        cases[f"AdaptiveAvgPool3d_{size}"] = (lambda L, x, s=size: L.nn.AdaptiveAvgPool3d(s)(x), X)
    for p in (1, 2, 3.5, float("inf")):
        cases[f"LPPool1d_{p}"] = (lambda L, x, p=p: L.nn.LPPool1d(p, 3, 2)(x[:, :, 0, 0]), POS)
        cases[f"LPPool2d_{p}"] = (lambda L, x, p=p: L.nn.LPPool2d(p, (2, 3))(x[:, :, 0]), POS)
        cases[f"lp_pool2d_ceil_{p}"] = (lambda L, x, p=p: L.nn.functional.lp_pool2d(x[0], p, 2, ceil_mode=True), POS)
    cases["lp_pool1d_negative_values_nan"] = (lambda L, x: L.nn.functional.lp_pool1d(x[:, :, 0, 0], 3.5, 2), X)
    cases["lp_pool1d_zero_window"] = (lambda L, x: L.nn.functional.lp_pool1d(x[:, :, 0, 0] * 0 + 1, 2, 2), X)
    cases["max_pool3d_unbatched"] = (lambda L, x: L.nn.functional.max_pool3d(x[0], 2, return_indices=True), X)
    cases["avg_pool3d_unbatched"] = (lambda L, x: L.nn.functional.avg_pool3d(x[1], 3, 1, 1), X)
    return cases


CASES = _cases()


def _flat(out):
    return list(out) if isinstance(out, tuple | list) else [out]


@pytest.mark.parametrize("name", sorted(CASES))
def test_pooling_matches_torch(name):
    f, a = CASES[name]
    x, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ours, theirs = _flat(f(cr, x)), _flat(f(torch, xt))
    for o, t in zip(ours, theirs, strict=True):
        assert tuple(o.shape) == tuple(t.shape)
        np.testing.assert_allclose(np.asarray(cr.tensor(o).detach().numpy()), t.detach().numpy(), rtol=1e-12,
                                   atol=1e-13)
    g = rng.normal(size=tuple(theirs[0].shape))
    (ours[0] * cr.tensor(g)).sum().backward()
    (theirs[0] * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-11, atol=1e-12)


CONV = [
    dict(),
    dict(stride=2),
    dict(padding=1, dilation=2),
    dict(padding="same"),
    dict(padding="valid", bias=False),
    dict(stride=(1, 2, 1), padding=(0, 1, 2)),
    dict(groups=2),
    dict(groups=4, padding=1),
    dict(padding=1, padding_mode="reflect"),
    dict(padding=(1, 0, 2), padding_mode="replicate"),
    dict(padding="same", padding_mode="circular"),
]


@pytest.mark.parametrize("options", CONV, ids=[str(c) for c in CONV])
@pytest.mark.parametrize("kernel", [2, (3, 2, 1)])
def test_conv3d_matches_torch(options, kernel):
    ours = cr.nn.Conv3d(4, 8, kernel, **options, dtype=cr.float64)
    theirs = torch.nn.Conv3d(4, 8, kernel, **options, dtype=torch.float64)
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x, xt = cr.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    out, tout = ours(x), theirs(xt)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-11, atol=1e-12)
    g = rng.normal(size=tuple(tout.shape))
    (out * cr.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-11, atol=1e-12)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(dict(ours.named_parameters())[name].grad.numpy(), p.grad.numpy(), rtol=1e-11,
                                   atol=1e-12)


def test_conv3d_defaults_and_initialisation():
    layer = cr.nn.Conv3d(3, 5, 2)
    assert layer.weight.shape == (5, 3, 2, 2, 2) and layer.weight.dtype == np.float32
    assert (layer.kernel_size, layer.stride, layer.padding, layer.dilation) == ((2, 2, 2), (1, 1, 1), (0, 0, 0),
                                                                                  (1, 1, 1))
    bound = 1 / np.sqrt(3 * 8)
    assert np.abs(layer.weight.detach().numpy()).max() <= bound and np.abs(layer.bias.detach().numpy()).max() <= bound
    assert layer(cr.zeros(3, 4, 4, 4, dtype=cr.float32)).shape == (5, 3, 3, 3)  # unbatched


REFUSED = {
    "conv3d_channels": lambda L: L.nn.functional.conv3d(L.ones(1, 3, 4, 4, 4), L.ones(2, 2, 2, 2, 2)),
    "conv3d_4d_weight": lambda L: L.nn.functional.conv3d(L.ones(1, 3, 4, 4, 4), L.ones(2, 3, 2, 2)),
    "conv3d_too_small": lambda L: L.nn.functional.conv3d(L.ones(1, 1, 2, 2, 2), L.ones(1, 1, 3, 3, 3)),
    "max_pool3d_2d_input": lambda L: L.nn.functional.max_pool3d(L.ones(3, 4, 4), 2),
    "max_pool3d_padding": lambda L: L.nn.functional.max_pool3d(L.ones(1, 1, 4, 4, 4), 2, padding=2),
    "avg_pool3d_window": lambda L: L.nn.functional.avg_pool3d(L.ones(1, 1, 2, 4, 4), 3),
    "conv3d_same_strided": lambda L: L.nn.functional.conv3d(L.ones(1, 1, 4, 4, 4), L.ones(1, 1, 2, 2, 2), stride=2,
                                                            padding="same"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refuses_as_torch(name):
    with pytest.raises((RuntimeError, ValueError)):
        REFUSED[name](torch)
    with pytest.raises(ValueError):
        REFUSED[name](cr)


@pytest.mark.parametrize("kwargs", [{}, {"stride": 2, "padding": 1, "output_padding": 1},
                                    {"stride": (1, 2, 3), "padding": (0, 1, 2), "output_padding": (0, 1, 0),
                                     "dilation": (1, 1, 2)},
                                    {"groups": 2, "bias": False}, {"dilation": 2, "padding": 2}])
@pytest.mark.parametrize("batched", [True, False])
def test_conv_transpose3d_as_torch(kwargs, batched):
    ours = cr.nn.ConvTranspose3d(4, 6, (2, 3, 2), dtype=np.float64, **kwargs)
    theirs = torch.nn.ConvTranspose3d(4, 6, (2, 3, 2), **kwargs).double()
    copy_weights(ours, theirs)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 4, 3) if batched else (4, 3, 4, 3))
    compare(ours, theirs, [x])
    lazy = cr.nn.LazyConvTranspose3d(6, (2, 3, 2), **kwargs)
    assert repr(lazy) == repr(torch.nn.LazyConvTranspose3d(6, (2, 3, 2), **kwargs))
    lazy(x.astype(np.float32))
    assert type(lazy) is cr.nn.ConvTranspose3d and lazy.in_channels == 4


@pytest.mark.parametrize("output_size", [2, (1, 3, None), (3, 2, 1)])
def test_adaptive_max_pool3d_and_max_unpool3d_as_torch(output_size):
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5, 3))
    compare(cr.nn.AdaptiveMaxPool3d(output_size), torch.nn.AdaptiveMaxPool3d(output_size), [x])
    ours = cr.nn.functional.adaptive_max_pool3d(x, output_size, return_indices=True)
    theirs = torch.nn.functional.adaptive_max_pool3d(torch.tensor(x), output_size, return_indices=True)
    np.testing.assert_array_equal(ours[1], theirs[1].numpy())
    assert repr(cr.nn.AdaptiveMaxPool3d(output_size)) == repr(torch.nn.AdaptiveMaxPool3d(output_size))
    pooled, idx = torch.nn.functional.max_pool3d(torch.tensor(x), 2, return_indices=True)
    unpool, tunpool = cr.nn.MaxUnpool3d(2), torch.nn.MaxUnpool3d(2)
    assert repr(unpool) == repr(tunpool)
    compare(_Unpool(unpool, idx.numpy(), x.shape), _TUnpool(tunpool, idx, x.shape),
            [pooled.numpy()])


class _Unpool(cr.nn.Module):
    def __init__(self, layer, idx, size):
        super().__init__()
        self.layer, self.idx, self.size = layer, idx, size

    def forward(self, v):
        return self.layer(v, self.idx, self.size)


class _TUnpool(torch.nn.Module):
    def __init__(self, layer, idx, size):
        super().__init__()
        self.layer, self.idx, self.size = layer, idx, size

    def forward(self, v):
        return self.layer(v, self.idx, self.size)


@pytest.mark.parametrize("name, shape, kwargs", [
    ("FractionalMaxPool2d", (2, 3, 9, 8), {"kernel_size": 2, "output_size": (4, 5)}),
    ("FractionalMaxPool2d", (3, 9, 8), {"kernel_size": (3, 2), "output_ratio": 0.5}),
    ("FractionalMaxPool3d", (1, 2, 7, 6, 8), {"kernel_size": 2, "output_size": (3, 3, 4)}),
    ("FractionalMaxPool3d", (2, 7, 6, 8), {"kernel_size": (2, 3, 2), "output_ratio": (0.5, 0.6, 0.4)})])
def test_fractional_max_pool_as_torch(name, shape, kwargs):
    dims = 2 if name.endswith("2d") else 3
    rng = np.random.default_rng(2)
    u = rng.random((1 if len(shape) == dims + 1 else shape[0], shape[-dims - 1], dims))
    ours = getattr(cr.nn, name)(**kwargs, _random_samples=u)
    theirs = getattr(torch.nn, name)(**kwargs, _random_samples=torch.tensor(u))
    assert repr(ours) == repr(theirs)
    compare(ours, theirs, [rng.standard_normal(shape)])
    fn, tfn = getattr(cr.nn.functional, f"fractional_max_pool{dims}d"), \
        getattr(torch.nn.functional, f"fractional_max_pool{dims}d")
    x = rng.standard_normal(shape)
    ratio = kwargs.get("output_ratio")
    kw = dict(kwargs, output_ratio=(ratio,) * dims if isinstance(ratio, float) else ratio)
    np.testing.assert_array_equal(fn(x, **kw, return_indices=True, _random_samples=u)[1],
                                  tfn(torch.tensor(x), **kw, return_indices=True, _random_samples=torch.tensor(u))[1])
    with pytest.raises(ValueError, match="only one of output_size and output_ratio"):
        getattr(cr.nn, name)(2, output_size=2, output_ratio=0.5)

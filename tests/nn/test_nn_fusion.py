"""``nn.utils.fuse_conv_bn_eval`` and ``fuse_linear_bn_eval`` against PyTorch: the fused
layer's state dict, its parameters' ``requires_grad``, its output, and the errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch_parity import copy_weights

import chainrule as cr
from chainrule import nn


def _randomise(module, rng):
    """Random running statistics and affine parameters, in place."""
    sd = module.state_dict()
    module.load_state_dict({k: (rng.uniform(0.5, 2.0, v.shape) if "var" in k else rng.standard_normal(v.shape))
                            if v.dtype.kind == "f" else v.numpy() for k, v in sd.items()})


@pytest.mark.parametrize("kind", ["conv", "conv_nobias", "convT", "linear", "linear_bn1"])
def test_fused_layer_as_torch(kind):
    rng = np.random.default_rng(0)
    f64 = np.float64
    layer, tlayer, bn, tbn, x = {
        "conv": (nn.Conv2d(2, 3, 3, dtype=f64), torch.nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, dtype=f64),
                 torch.nn.BatchNorm2d(3), rng.standard_normal((2, 2, 5, 5))),
        "conv_nobias": (nn.Conv1d(2, 3, 2, bias=False, dtype=f64), torch.nn.Conv1d(2, 3, 2, bias=False),
                        nn.BatchNorm1d(3, dtype=f64), torch.nn.BatchNorm1d(3), rng.standard_normal((2, 2, 5))),
        "convT": (nn.ConvTranspose2d(2, 3, 2, dtype=f64), torch.nn.ConvTranspose2d(2, 3, 2),
                  nn.BatchNorm2d(3, dtype=f64), torch.nn.BatchNorm2d(3), rng.standard_normal((1, 2, 3, 3))),
        "linear": (nn.Linear(4, 3, dtype=f64), torch.nn.Linear(4, 3), nn.BatchNorm1d(3, dtype=f64),
                   torch.nn.BatchNorm1d(3), rng.standard_normal((5, 4))),
        "linear_bn1": (nn.Linear(4, 3, dtype=f64), torch.nn.Linear(4, 3), nn.BatchNorm1d(1, dtype=f64),
                       torch.nn.BatchNorm1d(1), rng.standard_normal((5, 1, 4))),
    }[kind]
    _randomise(bn, rng)
    for ours, theirs in ((layer, tlayer.double()), (bn, tbn.double())):
        copy_weights(ours, theirs)
        ours.eval(), theirs.eval()
    if kind.startswith("linear"):
        fused, tfused = nn.utils.fuse_linear_bn_eval(layer, bn), torch.nn.utils.fuse_linear_bn_eval(tlayer, tbn)
    else:
        fused = nn.utils.fuse_conv_bn_eval(layer, bn, transpose=kind == "convT")
        tfused = torch.nn.utils.fuse_conv_bn_eval(tlayer, tbn, transpose=kind == "convT")
    mine, theirs = fused.state_dict(), tfused.state_dict()
    assert list(mine) == list(theirs)
    for k in mine:
        np.testing.assert_allclose(mine[k].numpy(), theirs[k].numpy(), rtol=1e-12, atol=1e-14)
    assert [(n, p.requires_grad) for n, p in fused.named_parameters()] == \
        [(n, p.requires_grad) for n, p in tfused.named_parameters()]
    np.testing.assert_allclose(fused(x).detach().numpy(), tfused(torch.tensor(x)).detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        nn.utils.fuse_conv_bn_eval(layer.train(), bn)


def test_skip_init_as_torch():
    m = nn.utils.skip_init(nn.Linear, 3, 2, bias=False)
    assert type(m) is nn.Linear and m.weight.shape == (2, 3) and m.bias is None
    for ours, theirs in ((nn.ReLU, torch.nn.ReLU), (int, int)):
        with pytest.raises(RuntimeError) as e_ours:
            nn.utils.skip_init(ours)
        with pytest.raises(RuntimeError) as e_theirs:
            torch.nn.utils.skip_init(theirs)
        assert str(e_ours.value).split(";")[0] == str(e_theirs.value).split(";")[0]


def test_stateless_functional_call_as_torch():
    ours, theirs = nn.Linear(3, 2, dtype=np.float64), torch.nn.Linear(3, 2).double()
    w = np.arange(6.0).reshape(2, 3)
    said = []
    for lib, m, t in ((nn, ours, np.asarray), (torch.nn, theirs, torch.tensor)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = lib.utils.stateless.functional_call(m, {"weight": t(w)}, (t(np.ones((1, 3))),))
        said.append(([(c.category, str(c.message)) for c in caught if "functional_call" in str(c.message)],
                     np.asarray(out.detach().numpy()) - m.bias.detach().numpy()))
    assert said[0][0] == said[1][0] and len(said[0][0]) == 1
    np.testing.assert_allclose(said[0][1], said[1][1])


def test_convert_conv_weight_memory_format_as_torch():
    x = np.random.default_rng(4).standard_normal((1, 2, 5, 5))
    ours, theirs = nn.Conv2d(2, 3, 3, dtype=np.float64), torch.nn.Conv2d(2, 3, 3).double()
    copy_weights(ours, theirs)
    assert nn.utils.convert_conv2d_weight_memory_format(ours, cr.channels_last) is ours
    theirs = torch.nn.utils.convert_conv2d_weight_memory_format(theirs, torch.channels_last)
    np.testing.assert_allclose(ours(x).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="memory_format must be"):
        nn.utils.convert_conv3d_weight_memory_format(ours, "channels_last")

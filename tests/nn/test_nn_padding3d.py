"""The 3-d padding layers and ``F.pad`` on 5-d inputs against PyTorch: values, input
gradients, repr, float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_parity import compare

import chainrule.nn.functional as F
from chainrule import nn


@pytest.mark.parametrize("name, args", [("ZeroPad3d", ((1, 0, 2, 1, 0, 2),)), ("ZeroPad3d", (1,)),
                                        ("ConstantPad3d", ((2, 1, 0, 1, 1, 0), -1.5)),
                                        ("ReflectionPad3d", ((1, 2, 0, 1, 2, 1),)), ("ReflectionPad3d", (1,)),
                                        ("ReplicationPad3d", ((2, 0, 1, 3, 0, 1),)),
                                        ("CircularPad3d", ((1, 2, 2, 0, 1, 1),))])
@pytest.mark.parametrize("shape", [(2, 2, 3, 4, 3), (2, 3, 4, 3)])
def test_3d_padding_layers_as_torch(name, args, shape):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    compare(ours, theirs, [np.random.default_rng(0).standard_normal(shape)])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_of_a_5d_input_as_torch(mode):
    x = np.random.default_rng(1).standard_normal((1, 2, 3, 3, 4))
    pad = (1, 2, 2, 1, 0, 2)
    ours = nn.Module()
    ours.forward = lambda a: F.pad(a, pad, mode)
    theirs = torch.nn.Module()
    theirs.forward = lambda a: torch.nn.functional.pad(a, pad, mode)
    compare(ours, theirs, [x])

"""``nn.AdaptiveLogSoftmaxWithLoss`` against PyTorch in float64: repr, state-dict keys,
the output, the loss and every gradient, ``log_prob`` and ``predict``, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_parity import compare, copy_weights

from chainrule import nn


@pytest.mark.parametrize("target", [[0, 4, 7, 9, 2, 5], [1, 2, 0, 2, 1, 0], [9, 8, 7, 6, 7, 8], 4])
@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_as_torch(target, head_bias):
    ours = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0, head_bias=head_bias, dtype=np.float64)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0, head_bias=head_bias).double()
    assert repr(ours) == repr(theirs)
    copy_weights(ours, theirs)
    rng = np.random.default_rng(0)
    target = np.array(target)
    x = rng.standard_normal((6, 8) if target.ndim else (8,))
    compare(ours, theirs, [x, target])
    if target.ndim:
        np.testing.assert_allclose(ours.log_prob(x).detach().numpy(),
                                   theirs.log_prob(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(np.asarray(ours.predict(x)), theirs.predict(torch.tensor(x)).numpy())
    with pytest.raises(RuntimeError, match="Target values should be in"):
        ours(x, np.full(target.shape, 10))
    with pytest.raises(ValueError, match="cutoffs should be"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [6, 3])

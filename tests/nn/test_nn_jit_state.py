"""cr.jit on chainrule.nn's layers where they keep state that users of PyTorch rely on:
batch norm's cumulative average (``momentum=None``) and an embedding that renormalises
its rows (``max_norm``). Each is called jitted and plain over several calls and must give
the plain call's bits, leave the same state behind, and trace once."""

import copy

import numpy as np
import pytest
from tests.transforms.test_jit_soundness import same

import chainrule as cr
from chainrule import nn


def _arrays(tree):
    return cr.tree_map(lambda v: v._value if isinstance(v, cr.Tensor) else v, tree)


# -- batch norm's cumulative average (momentum=None) --------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_cumulative_batch_norm_replays_its_running_average(dtype):
    def step(model, x):
        return model(x)

    jitted = cr.jit(step)
    mine = nn.BatchNorm1d(3, momentum=None, dtype=dtype)
    theirs = copy.deepcopy(mine)
    rng = np.random.default_rng(1)
    means = []
    with cr.no_grad():
        for _ in range(5):
            x = rng.normal(size=(4, 3)).astype(dtype)
            means.append(x.mean(axis=0, dtype=np.float64))
            assert same(_arrays(jitted(mine, x)), _arrays(step(theirs, x)))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                assert same(*_arrays((getattr(mine, name), getattr(theirs, name)))), name
    # the cumulative average: the mean of the batch means so far
    np.testing.assert_allclose(_arrays(mine.running_mean), np.mean(means, axis=0),
                               rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert jitted.traces == 1


# -- Embedding(max_norm=...): the rows looked up are scaled in the weight on every call -----
@pytest.mark.parametrize("dtype, norm_type", [(np.float32, 2.0), (np.float64, 2.0), (np.float64, 1.0),
                                              (np.float64, np.inf)])
def test_an_embedding_with_max_norm_renormalises_on_every_replay(dtype, norm_type):
    def lookup(model, idx):
        return model(idx) * 2.0

    jitted = cr.jit(lookup)
    mine = nn.Embedding(10, 3, max_norm=1.0, norm_type=norm_type, dtype=dtype)
    theirs = copy.deepcopy(mine)
    rng = np.random.default_rng(2)
    with cr.no_grad():
        for _ in range(4):
            idx = rng.integers(0, 10, size=(2, 3))
            before = _arrays(mine.weight).copy()
            assert same(_arrays(jitted(mine, idx)), _arrays(lookup(theirs, idx)))
            assert same(_arrays(mine.weight), _arrays(theirs.weight))
            # the rows looked up are within the norm (scaled to it where beyond), the others kept
            after = _arrays(mine.weight)
            norms = np.linalg.norm(before[idx.ravel()].astype(np.float64), ord=norm_type, axis=1)
            scaled = np.linalg.norm(after[idx.ravel()].astype(np.float64), ord=norm_type, axis=1)
            np.testing.assert_allclose(scaled, np.minimum(norms, 1.0), rtol=1e-6)
            untouched = np.setdiff1d(np.arange(10), idx)
            assert same(after[untouched], before[untouched])
    assert jitted.traces == 1

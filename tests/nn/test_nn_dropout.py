"""The dropout family (chainrule/nn/_dropout.py, chainrule/nn/dropout.py): which elements
or channels a mask drops, the scaling, alpha dropout's arithmetic against PyTorch's
formula and moments, eval mode, p = 0 and 1, errors, and per-example masks under vmap."""

import copy

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("fn, shape, channel_axes", [
    (F.dropout1d, (4, 6, 50), 2), (F.dropout1d, (6, 50), 1),
    (F.dropout2d, (4, 6, 5, 7), 2),
    (F.dropout3d, (4, 6, 2, 3, 5), 2), (F.dropout3d, (6, 2, 3, 5), 1),
])
def test_channel_dropout_keeps_or_drops_whole_channels(fn, shape, channel_axes):
    y = np.asarray(fn(np.ones(shape), 0.4, rng=1))
    rows = y.reshape(int(np.prod(shape[:channel_axes])), -1)
    assert set(np.unique(rows)) <= {0.0, 1 / 0.6}
    assert (rows.min(axis=1) == rows.max(axis=1)).all()  # each channel all kept or all dropped
    assert 0 < (rows[:, 0] == 0).sum() < len(rows)


def test_channel_dropout_follows_pytorch_on_other_ranks():
    x = np.ones((3, 4, 20))
    with pytest.warns(UserWarning, match=r"taken as \(N, C, L\)"):
        y = np.asarray(F.dropout2d(x, 0.5, rng=0))
    assert (y.min(axis=2) == y.max(axis=2)).all()  # as PyTorch: channels of (N, C, L)
    with pytest.raises(ValueError, match=r"\(N, C, L\) or \(C, L\)"):
        F.dropout1d(np.ones((2, 3, 4, 5)), 0.5)
    with pytest.warns(UserWarning, match="deprecated"):
        F.dropout3d(np.ones((2, 3)), 0.5)


@pytest.mark.parametrize("fn", [F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout,
                                F.feature_alpha_dropout])
def test_identity_when_not_training_or_p_zero_and_zero_at_p_one(fn):
    ndim = {F.dropout1d: 3, F.dropout3d: 5}.get(fn, 4)
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5, 6)[:ndim])
    assert fn(x, 0.5, training=False) is x and fn(x, 0.0, training=True) is x
    np.testing.assert_array_equal(np.asarray(fn(x, 1.0, training=True)), np.zeros_like(x))
    want = torch.nn.functional.__dict__[fn.__name__](torch.tensor(x), 1.0, training=True).numpy()
    np.testing.assert_array_equal(np.asarray(fn(x, 1.0, training=True)), want)


def test_alpha_dropout_is_pytorchs_affine_map_and_keeps_the_moments():
    p, alpha = 0.3, 1.7580993408473766
    a = 1 / np.sqrt((alpha**2 * p + 1) * (1 - p))
    x = np.random.default_rng(2).normal(size=200_000)
    y = np.asarray(F.alpha_dropout(x, p, training=True, rng=3))
    kept = np.isclose(y, x * a + alpha * a * p, rtol=0, atol=1e-12)
    dropped = np.isclose(y, -alpha * a + alpha * a * p, rtol=0, atol=1e-12)
    assert (kept | dropped).all() and abs(dropped.mean() - p) < 0.01
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01  # zero mean, unit variance kept
    t = torch.nn.functional.alpha_dropout(torch.tensor(x), p, training=True).numpy()
    assert abs(t.mean() - y.mean()) < 0.01 and abs(t.std() - y.std()) < 0.01
    z = np.asarray(F.feature_alpha_dropout(np.ones((8, 30, 5)), p, training=True, rng=4))
    assert (z.min(axis=2) == z.max(axis=2)).all()


def test_gradient_flows_through_the_kept_entries():
    x = cr.tensor(np.ones((3, 8, 4)), requires_grad=True)
    y = F.dropout1d(x, 0.5, rng=5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.asarray(y.detach().numpy()))


def test_modules_take_pytorchs_arguments_and_eval_mode():
    for cls in (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout):
        layer = cls(0.2, True)
        assert repr(layer) == repr(getattr(torch.nn, cls.__name__)(0.2, True))
        x = np.ones((2, 3, 4, 5, 6)[: {nn.Dropout1d: 3, nn.Dropout3d: 5}.get(cls, 4)])
        assert layer.eval()(x) is x
    with pytest.raises(TypeError, match="rng="):
        nn.Dropout(0.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout2d(1.5)


def test_each_example_draws_its_own_channel_mask_under_vmap():
    out = np.asarray(cr.vmap(lambda v: F.dropout2d(v, 0.5, training=True))(np.ones((16, 1, 8, 3, 3))))
    masks = out[:, 0, :, 0, 0]
    assert len({m.tobytes() for m in masks}) > 1


@pytest.mark.parametrize("make", [
    lambda lib, **kw: lib.nn.Dropout(0.5, **kw),
    lambda lib, **kw: lib.nn.Sequential(lib.nn.Linear(8, 8), lib.nn.Dropout2d(0.5, **kw)),
    lambda lib, **kw: lib.nn.LSTM(8, 8, 2, dropout=0.5, **kw),
], ids=["dropout", "nested", "lstm"])
def test_a_deep_copy_draws_its_own_masks_as_pytorch_s(make):
    # PyTorch's copy draws from its one generator after the original; a copy of a layer made with rng=
    # shares the layer's generator, where a copy of the generator drew the original's masks again
    def output(module, x):
        module.train()
        out = module(x)
        out = out[0] if isinstance(out, tuple) else out
        return np.asarray(out.detach() if hasattr(out, "detach") else out).tobytes()

    torch.manual_seed(0)
    theirs = make(torch)
    twin = copy.deepcopy(theirs)
    assert output(theirs, torch.ones(4, 8, 8)) != output(twin, torch.ones(4, 8, 8))
    ours = make(cr, rng=0)
    twin = copy.deepcopy(ours)
    assert output(ours, np.ones((4, 8, 8), np.float32)) != output(twin, np.ones((4, 8, 8), np.float32))

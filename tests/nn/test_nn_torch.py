"""Layers, activations and losses against PyTorch on the same weights and inputs:
outputs, input gradients and parameter gradients (where torch is installed)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

torch = pytest.importorskip("torch")
from torch_parity import compare  # noqa: E402

pytestmark = pytest.mark.torch
TF = torch.nn.functional

rng = np.random.default_rng(1)


def to_torch(a, grad=False):
    t = torch.tensor(np.asarray(a))
    return t.requires_grad_(grad)


def copy_weights(ours: nn.Module, theirs) -> None:
    """Give the torch module our parameters and buffers (same names)."""
    with torch.no_grad():
        for name, value in ours.state_dict().items():
            target = dict(theirs.named_parameters()).get(name)
            if target is None:
                target = dict(theirs.named_buffers())[name]
            target.copy_(torch.tensor(value.numpy()))


def run_both(ours, theirs, x, loss_weights):
    """Forward both, backward sum(out * loss_weights); return outputs and gradients."""
    xa = cr.tensor(x, requires_grad=True)
    out = ours(xa)
    (out * loss_weights).sum().backward()
    xt = to_torch(x, grad=True)
    tout = theirs(xt)
    (tout * to_torch(loss_weights)).sum().backward()
    return out, xa, tout, xt


def assert_close(ours, theirs, rtol, atol):
    a = ours.detach().numpy() if isinstance(ours, cr.Tensor) else np.asarray(ours)
    b = theirs.detach().numpy()
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


LAYER_CASES = {
    "Linear": (lambda: nn.Linear(6, 4), lambda: torch.nn.Linear(6, 4), (5, 6)),
    "Linear_3d_input": (lambda: nn.Linear(6, 4), lambda: torch.nn.Linear(6, 4), (2, 5, 6)),
    "Conv2d": (lambda: nn.Conv2d(3, 4, 3), lambda: torch.nn.Conv2d(3, 4, 3), (2, 3, 7, 6)),
    "Conv2d_stride_pad_dilation": (
        lambda: nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(2, 1), dilation=(2, 1)),
        lambda: torch.nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(2, 1), dilation=(2, 1)),
        (2, 2, 9, 7),
    ),
    "Conv2d_same_no_bias": (
        lambda: nn.Conv2d(2, 2, 5, padding="same", bias=False),
        lambda: torch.nn.Conv2d(2, 2, 5, padding="same", bias=False),
        (1, 2, 6, 6),
    ),
    "MaxPool2d": (lambda: nn.MaxPool2d(2), lambda: torch.nn.MaxPool2d(2), (2, 3, 6, 6)),
    "MaxPool2d_overlap_pad": (
        lambda: nn.MaxPool2d(3, stride=2, padding=1),
        lambda: torch.nn.MaxPool2d(3, stride=2, padding=1),
        (2, 2, 7, 5),
    ),
    "MaxPool2d_dilation": (
        lambda: nn.MaxPool2d(2, stride=1, dilation=2),
        lambda: torch.nn.MaxPool2d(2, stride=1, dilation=2),
        (1, 2, 5, 5),
    ),
    "AvgPool2d": (lambda: nn.AvgPool2d(2), lambda: torch.nn.AvgPool2d(2), (2, 3, 6, 6)),
    "AvgPool2d_pad_exclude": (
        lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
        lambda: torch.nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
        (2, 2, 7, 5),
    ),
    "AvgPool2d_pad_include": (
        lambda: nn.AvgPool2d(3, stride=2, padding=1),
        lambda: torch.nn.AvgPool2d(3, stride=2, padding=1),
        (2, 2, 7, 5),
    ),
    "Flatten": (lambda: nn.Flatten(), lambda: torch.nn.Flatten(), (2, 3, 4, 5)),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(5), lambda: torch.nn.BatchNorm1d(5), (8, 5)),
    "BatchNorm1d_3d": (lambda: nn.BatchNorm1d(3), lambda: torch.nn.BatchNorm1d(3), (4, 3, 6)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(3), lambda: torch.nn.BatchNorm2d(3), (4, 3, 5, 5)),
    "BatchNorm3d": (lambda: nn.BatchNorm3d(3), lambda: torch.nn.BatchNorm3d(3), (2, 3, 2, 3, 2)),
    "Softmax2d": (lambda: nn.Softmax2d(), lambda: torch.nn.Softmax2d(), (2, 3, 2, 4)),
    "LayerNorm": (lambda: nn.LayerNorm(6), lambda: torch.nn.LayerNorm(6), (4, 6)),
    "LayerNorm_2d": (lambda: nn.LayerNorm((3, 4)), lambda: torch.nn.LayerNorm((3, 4)), (2, 3, 4)),
    "ReLU": (lambda: nn.ReLU(), lambda: torch.nn.ReLU(), (4, 5)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.1), lambda: torch.nn.LeakyReLU(0.1), (4, 5)),
    "Tanh": (lambda: nn.Tanh(), lambda: torch.nn.Tanh(), (4, 5)),
    "Sigmoid": (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid(), (4, 5)),
    "GELU": (lambda: nn.GELU(), lambda: torch.nn.GELU(), (4, 5)),
    "GELU_tanh": (lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh"), (4, 5)),
    "SiLU": (lambda: nn.SiLU(), lambda: torch.nn.SiLU(), (4, 5)),
    "Softplus": (lambda: nn.Softplus(beta=2.0, threshold=5.0), lambda: torch.nn.Softplus(2.0, 5.0), (4, 5)),
    "Softmax": (lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1), (4, 5)),
    "LogSoftmax": (lambda: nn.LogSoftmax(dim=0), lambda: torch.nn.LogSoftmax(dim=0), (4, 5)),
    "ELU": (lambda: nn.ELU(0.5), lambda: torch.nn.ELU(0.5), (4, 5)),
    "CELU": (lambda: nn.CELU(alpha=2.0), lambda: torch.nn.CELU(alpha=2.0), (4, 5)),
    "SELU": (lambda: nn.SELU(), lambda: torch.nn.SELU(), (4, 5)),
    "ReLU6_inplace": (lambda: nn.Sequential(nn.Linear(5, 5), nn.ReLU6(inplace=True)),  # in place on a non-leaf
                      lambda: torch.nn.Sequential(torch.nn.Linear(5, 5), torch.nn.ReLU6(inplace=True)), (4, 5)),
    "Hardtanh": (lambda: nn.Hardtanh(-2.0, 2.0), lambda: torch.nn.Hardtanh(-2.0, 2.0), (4, 5)),
    "Mish": (lambda: nn.Mish(), lambda: torch.nn.Mish(), (4, 5)),
    "LogSigmoid": (lambda: nn.LogSigmoid(), lambda: torch.nn.LogSigmoid(), (4, 5)),
    "Softsign": (lambda: nn.Softsign(), lambda: torch.nn.Softsign(), (4, 5)),
    "Tanhshrink": (lambda: nn.Tanhshrink(), lambda: torch.nn.Tanhshrink(), (4, 5)),
    "Softmin": (lambda: nn.Softmin(dim=0), lambda: torch.nn.Softmin(dim=0), (4, 5)),
    "GLU": (lambda: nn.GLU(), lambda: torch.nn.GLU(), (4, 6)),
    "Softshrink": (lambda: nn.Softshrink(0.7), lambda: torch.nn.Softshrink(0.7), (4, 5)),
    "Hardshrink": (lambda: nn.Hardshrink(), lambda: torch.nn.Hardshrink(), (4, 5)),
    "Threshold": (lambda: nn.Threshold(0.3, -2.0), lambda: torch.nn.Threshold(0.3, -2.0), (4, 5)),
    "PReLU": (lambda: nn.PReLU(), lambda: torch.nn.PReLU(), (4, 5)),
    "PReLU_channels": (lambda: nn.PReLU(3, init=0.1), lambda: torch.nn.PReLU(3, init=0.1), (2, 3, 4)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layer_matches_torch(name, dtype):
    make_ours, make_theirs, shape = LAYER_CASES[name]
    ours, theirs = make_ours(), make_theirs()
    theirs = theirs.double() if dtype == np.float64 else theirs
    if dtype == np.float64:
        ours.double()
    if any(True for _ in ours.parameters()):
        copy_weights(ours, theirs)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    weights = rng.standard_normal(ours(x).shape).astype(dtype)
    out, xa, tout, xt = run_both(ours, theirs, x, weights)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    assert out.dtype == dtype
    assert_close(out, tout, **tol)
    assert xa.grad.dtype == dtype
    assert_close(xa.grad, xt.grad, **tol)
    theirs_params = dict(theirs.named_parameters())
    for pname, p in ours.named_parameters():
        assert p.grad.dtype == dtype, pname
        assert_close(p.grad, theirs_params[pname].grad, **tol)


@pytest.mark.parametrize("cls", ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"])
def test_batch_norm_running_statistics_and_eval_mode_match_torch(cls):
    shape = {"BatchNorm1d": (6, 3), "BatchNorm2d": (4, 3, 2, 3), "BatchNorm3d": (2, 3, 2, 2, 3)}[cls]
    ours = getattr(nn, cls)(3, momentum=0.3, dtype=np.float64)
    theirs = getattr(torch.nn, cls)(3, momentum=0.3).double()
    for _ in range(3):
        x = rng.standard_normal(shape) * 2 + 1
        ours(x)
        theirs(to_torch(x))
    assert_close(ours.running_mean, theirs.running_mean, rtol=1e-12, atol=1e-12)
    assert_close(ours.running_var, theirs.running_var, rtol=1e-12, atol=1e-12)
    assert int(ours.num_batches_tracked.item()) == 3
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape)
    with torch.no_grad():
        assert_close(ours(x), theirs(to_torch(x)), rtol=1e-12, atol=1e-12)


def test_batch_norm_cumulative_average_with_momentum_none():
    ours = nn.BatchNorm1d(2, momentum=None, dtype=np.float64)
    theirs = torch.nn.BatchNorm1d(2, momentum=None).double()
    for _ in range(4):
        x = rng.standard_normal((5, 2))
        ours(x)
        theirs(to_torch(x))
    assert_close(ours.running_mean, theirs.running_mean, rtol=1e-12, atol=1e-12)
    assert_close(ours.running_var, theirs.running_var, rtol=1e-12, atol=1e-12)


def test_embedding_matches_torch_including_padding_idx_and_repeats():
    ours = nn.Embedding(6, 3, padding_idx=2, dtype=np.float64)
    theirs = torch.nn.Embedding(6, 3, padding_idx=2).double()
    copy_weights(ours, theirs)
    idx = np.array([[0, 2, 5], [5, 5, 1]])
    w = rng.standard_normal((2, 3, 3))
    (ours(idx) * w).sum().backward()
    (theirs(torch.tensor(idx)) * to_torch(w)).sum().backward()
    assert_close(ours(idx), theirs(torch.tensor(idx)), rtol=1e-12, atol=0)
    assert_close(ours.weight.grad, theirs.weight.grad, rtol=1e-12, atol=1e-12)
    assert np.all(ours.weight.grad.numpy()[2] == 0)


@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("max_norm, norm_type", [(None, 2.0), (1.0, 2.0), (0.3, 1.0)])
@pytest.mark.parametrize("scale_grad_by_freq", [False, True])
def test_embedding_max_norm_and_scale_grad_by_freq_match_torch_over_steps(padding_idx, max_norm, norm_type,
                                                                           scale_grad_by_freq):
    kwargs = dict(padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                  scale_grad_by_freq=scale_grad_by_freq)
    ours = nn.Embedding(5, 3, dtype=np.float64, **kwargs)
    theirs = torch.nn.Embedding(5, 3, **kwargs).double()
    copy_weights(ours, theirs)
    for _ in range(2):  # max_norm rescales rows of the weight itself, as it is looked up
        idx = rng.integers(0, 5, size=(2, 4))
        w = rng.standard_normal((2, 4, 3))
        out, want = ours(idx), theirs(torch.tensor(idx))
        assert_close(out, want, rtol=1e-12, atol=1e-14)
        (out * w).sum().backward()
        (want * to_torch(w)).sum().backward()
        assert_close(ours.weight.grad, theirs.weight.grad, rtol=1e-12, atol=1e-14)
        assert_close(ours.weight, theirs.weight, rtol=1e-12, atol=1e-14)
        ours.weight.grad = theirs.weight.grad = None


@pytest.mark.parametrize("freeze", [True, False])
def test_embedding_from_pretrained_matches_torch(freeze):
    table = rng.standard_normal((4, 3))
    ours = nn.Embedding.from_pretrained(table, freeze=freeze, padding_idx=1)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(table), freeze=freeze, padding_idx=1)
    assert ours.weight.requires_grad == theirs.weight.requires_grad == (not freeze)
    assert_close(ours(np.array([1, 2])), theirs(torch.tensor([1, 2])), rtol=0, atol=0)
    with pytest.raises(NotImplementedError, match="sparse gradients"):
        nn.Embedding(3, 2, sparse=True)
    with pytest.raises(NotImplementedError, match="renormalise the weight outside"):
        cr.grad(lambda w: F.embedding(np.array([0]), w, max_norm=1.0).sum())(np.ones((2, 2)))


def test_embedding_padding_row_loaded_nonzero_is_returned_and_kept_without_gradient():
    # weights from PyTorch whose padding row was changed: PyTorch returns the stored row
    theirs = torch.nn.Embedding(5, 4, padding_idx=-2).double()
    with torch.no_grad():
        theirs.weight[3] = torch.tensor([1.5, -2.0, np.inf, 0.25])
    ours = nn.Embedding(5, 4, padding_idx=-2, dtype=np.float64)
    copy_weights(ours, theirs)
    idx = np.array([[3, 0, 3], [1, 3, 4]])
    w = rng.standard_normal((2, 3, 4))
    out = ours(idx)
    assert_close(out, theirs(torch.tensor(idx)), rtol=0, atol=0)
    (out * w).sum().backward()
    (theirs(torch.tensor(idx)) * to_torch(w)).sum().backward()
    assert_close(ours.weight.grad, theirs.weight.grad, rtol=1e-12, atol=0)
    assert np.all(ours.weight.grad.numpy()[3] == 0)
    # functional form, under grad and to second order: the padding row stays constant
    W0 = ours.weight.detach().numpy()
    g = cr.grad(lambda W: (F.embedding(idx, W, padding_idx=3) ** 2).sum())(W0)
    assert np.all(g[3] == 0) and np.all(g[0] == 2 * W0[0])


def test_dropout_statistics_and_eval_identity():
    d = nn.Dropout(0.25, rng=0)
    x = np.ones((200, 200), dtype=np.float32)
    y = d(x)
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    assert np.allclose(y[kept], 1 / 0.75)
    assert y.dtype == np.float32
    d.eval()
    assert d(x) is x


# -- losses -------------------------------------------------------------------------------
def _ce_cases():
    logits = rng.standard_normal((5, 4)) * 3
    y = np.array([0, 3, 1, 1, 2])
    y_ign = np.array([0, -100, 1, 1, 2])
    w = np.array([1.0, 2.0, 0.5, 3.0])
    probs = rng.dirichlet(np.ones(4), 5)
    spatial = rng.standard_normal((2, 4, 3, 2))
    y_spatial = rng.integers(0, 4, (2, 3, 2))
    return {
        "plain": (logits, y, {}),
        "sum": (logits, y, {"reduction": "sum"}),
        "none": (logits, y, {"reduction": "none"}),
        "weight": (logits, y, {"weight": w}),
        "ignore_index": (logits, y_ign, {}),
        "weight_ignore_smoothing": (logits, y_ign, {"weight": w, "label_smoothing": 0.15}),
        # a batch of padding only: PyTorch's NaN loss, with a zero gradient
        "all_ignored": (logits, np.full(5, -100), {}),
        "all_ignored_weight_smoothing": (logits, np.full(5, -100), {"weight": w, "label_smoothing": 0.1}),
        "smoothing_none": (logits, y, {"label_smoothing": 0.3, "reduction": "none"}),
        "probabilities": (logits, probs, {}),
        "probabilities_weight_smoothing": (logits, probs, {"weight": w, "label_smoothing": 0.2}),
        "spatial": (spatial, y_spatial, {"weight": w}),
        "unbatched": (logits[0], np.array(2), {}),
    }


@pytest.mark.parametrize("case", sorted(_ce_cases()))
def test_cross_entropy_matches_torch(case):
    x, t, kw = _ce_cases()[case]
    xa = cr.tensor(x, requires_grad=True)
    ours = F.cross_entropy(xa, t, **kw)
    xt = to_torch(x, grad=True)
    tkw = {k: (to_torch(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    theirs = TF.cross_entropy(xt, to_torch(t), **tkw)
    assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(np.shape(ours.detach().numpy()))
    (ours * g).sum().backward()
    (theirs * to_torch(g)).sum().backward()
    assert_close(xa.grad, xt.grad, rtol=1e-10, atol=1e-12)


def test_nll_loss_matches_torch():
    logp = np.log(rng.dirichlet(np.ones(3), 4))
    y = np.array([2, 0, -100, 1])
    w = np.array([0.5, 1.0, 2.0])
    for reduction in ("mean", "sum", "none"):
        ours = F.nll_loss(logp, y, weight=w, reduction=reduction)
        theirs = TF.nll_loss(to_torch(logp), to_torch(y), weight=to_torch(w), reduction=reduction)
        assert_close(ours, theirs, rtol=1e-12, atol=1e-12)


REGRESSION = {
    "mse_loss": (F.mse_loss, TF.mse_loss, {}),
    "l1_loss": (F.l1_loss, TF.l1_loss, {}),
    "smooth_l1_loss": (F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.5}),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(REGRESSION))
def test_regression_losses_match_torch(name, reduction):
    ours_f, theirs_f, kw = REGRESSION[name]
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    xa = cr.tensor(x, requires_grad=True)
    xt = to_torch(x, grad=True)
    ours, theirs = ours_f(xa, y, reduction=reduction, **kw), theirs_f(xt, to_torch(y), reduction=reduction, **kw)
    assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    ours.sum().backward()
    theirs.sum().backward()
    assert_close(xa.grad, xt.grad, rtol=1e-12, atol=1e-12)


_P = np.abs(rng.standard_normal((4, 3))) + 0.1
# loss layers of several inputs: (ours, theirs, inputs); constructors take the same arguments
LOSS_LAYERS = {
    "KLDivLoss_batchmean": (nn.KLDivLoss(reduction="batchmean"), torch.nn.KLDivLoss(reduction="batchmean"),
                            [np.log(_P / _P.sum(1, keepdims=True)), _P / _P.sum(1, keepdims=True)]),
    "HuberLoss": (nn.HuberLoss(delta=0.5), torch.nn.HuberLoss(delta=0.5), [rng.standard_normal((4, 3)), _P]),
    "PoissonNLLLoss_full": (nn.PoissonNLLLoss(full=True, reduction="sum"),
                            torch.nn.PoissonNLLLoss(full=True, reduction="sum"), [rng.standard_normal((4, 3)), _P * 3]),
    "GaussianNLLLoss": (nn.GaussianNLLLoss(), torch.nn.GaussianNLLLoss(), [rng.standard_normal((4, 3)), _P, _P + 0.5]),
    "MarginRankingLoss": (nn.MarginRankingLoss(0.2), torch.nn.MarginRankingLoss(0.2),
                          [rng.standard_normal(5), rng.standard_normal(5), np.array([1.0, -1, 1, -1, 1])]),
    "TripletMarginLoss": (nn.TripletMarginLoss(margin=2.0, swap=True),
                          torch.nn.TripletMarginLoss(margin=2.0, swap=True),
                          [rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal((4, 3))]),
}


@pytest.mark.parametrize("name", sorted(LOSS_LAYERS))
def test_loss_layers_match_torch(name):
    ours, theirs, inputs = LOSS_LAYERS[name]
    compare(ours, theirs, inputs)


def test_binary_cross_entropies_match_torch():
    x = rng.standard_normal(6) * 4
    t = rng.uniform(0, 1, 6)
    w, pw = rng.uniform(0.5, 2, 6), rng.uniform(0.5, 2, 6)
    xa, xt = cr.tensor(x, requires_grad=True), to_torch(x, grad=True)
    ours = F.binary_cross_entropy_with_logits(xa, t, weight=w, pos_weight=pw)
    theirs = TF.binary_cross_entropy_with_logits(xt, to_torch(t), weight=to_torch(w), pos_weight=to_torch(pw))
    assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    ours.backward()
    theirs.backward()
    assert_close(xa.grad, xt.grad, rtol=1e-12, atol=1e-12)
    p = 1 / (1 + np.exp(-x))
    assert_close(F.binary_cross_entropy(p, t, reduction="sum"),
                 TF.binary_cross_entropy(to_torch(p), to_torch(t), reduction="sum"), rtol=1e-12, atol=1e-12)


def test_losses_are_finite_for_extreme_logits():
    big = np.array([[1e4, -1e4, 0.0]])
    xa = cr.tensor(big, requires_grad=True)
    loss = F.cross_entropy(xa, np.array([1]))
    loss.backward()
    assert loss.item() == pytest.approx(2e4)
    assert np.all(np.isfinite(xa.grad.numpy()))
    z = cr.tensor(np.array([-1e4, 1e4]), requires_grad=True)
    bce = F.binary_cross_entropy_with_logits(z, np.array([1.0, 0.0]), reduction="sum")
    bce.backward()
    assert bce.item() == pytest.approx(2e4)
    assert z.grad.tolist() == [-1.0, 1.0]
    s = F.sigmoid(np.array([-1e4, 0.0, 1e4], dtype=np.float32))
    assert s.tolist() == [0.0, 0.5, 1.0] and s.dtype == np.float32
    assert np.isfinite(F.logsigmoid(np.array([-1e4]))).all()


def test_gelu_erf_without_scipy_is_accurate():
    import math

    from chainrule.nn._ops import erf_numpy

    xs = np.linspace(-7, 7, 20001)
    exact = np.array([math.erf(v) for v in xs])
    assert np.max(np.abs(erf_numpy(xs) - exact)) < 1e-15

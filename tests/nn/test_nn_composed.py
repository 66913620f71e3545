"""The composed part of nn.functional (chainrule/nn/_composed.py) against
torch.nn.functional in float64: values, the gradients of every input, and finite
differences in both modes; and under vmap."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

rng = np.random.default_rng(8)
X = rng.normal(size=(4, 5)) * 2
P = np.abs(rng.normal(size=(4, 5))) + 0.1
P /= P.sum(axis=1, keepdims=True)
X3 = rng.normal(size=(2, 3, 6))
SIGN = np.array([1.0, -1.0, 1.0, -1.0, 1.0])
SIGNS = np.where(rng.normal(size=(4, 5)) > 0, 1.0, -1.0)
XI = rng.integers(-2, 3, size=(4, 5)).astype(float)  # integer scores: hinges exactly at 0
CLASSES = np.array([0, 3, 1, 4])
LABEL_LISTS = np.array([[3, 0, -1, 1, 2], [1, 2, 3, 4, 0], [-1, 2, 0, 0, 0], [4, -1, -1, -1, -1]])
LABELS = (rng.random((4, 5)) > 0.5).astype(float)

# name: (our call, torch's call (same arguments), arrays)
CASES = {
    "elu": (lambda x: F.elu(x, 0.7), lambda x: TF.elu(x, 0.7), [X]),
    "selu": (F.selu, TF.selu, [X]),
    "celu": (lambda x: F.celu(x, 1.3), lambda x: TF.celu(x, 1.3), [X]),
    "relu6": (lambda x: F.relu6(x * 4), lambda x: TF.relu6(x * 4), [X]),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 0.5), lambda x: TF.hardtanh(x, -0.5, 0.5), [X]),
    "hardswish": (F.hardswish, TF.hardswish, [X * 2]),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid, [X * 2]),
    "softsign": (F.softsign, TF.softsign, [X]),
    "tanhshrink": (F.tanhshrink, TF.tanhshrink, [X]),
    "mish": (F.mish, TF.mish, [X]),
    "softmin": (lambda x: F.softmin(x, dim=0), lambda x: TF.softmin(x, dim=0), [X]),
    "glu": (lambda x: F.glu(x, dim=-1), lambda x: TF.glu(x, dim=-1), [X3]),
    "softshrink": (lambda x: F.softshrink(x, 0.7), lambda x: TF.softshrink(x, 0.7), [X]),
    "hardshrink": (lambda x: F.hardshrink(x, 0.4), lambda x: TF.hardshrink(x, 0.4), [X]),
    "threshold": (lambda x: F.threshold(x, 0.3, -2.0), lambda x: TF.threshold(x, 0.3, -2.0), [X]),
    "prelu": (F.prelu, TF.prelu, [X, np.array([0.3])]),
    "prelu_channels": (F.prelu, TF.prelu, [X3, np.array([0.1, 0.2, -0.3])]),
    "pad_constant": (lambda x: F.pad(x, (1, 2, 0, 1), value=3.0), lambda x: TF.pad(x, (1, 2, 0, 1), value=3.0), [X3]),
    "pad_crop": (lambda x: F.pad(x, (-1, 2)), lambda x: TF.pad(x, (-1, 2)), [X3]),
    "pad_reflect": (lambda x: F.pad(x, (2, 1), mode="reflect"), lambda x: TF.pad(x, (2, 1), mode="reflect"), [X3]),
    "pad_replicate": (lambda x: F.pad(x, (1, 3), mode="replicate"), lambda x: TF.pad(x, (1, 3), mode="replicate"),
                      [X3]),
    "pad_circular_2d": (lambda x: F.pad(x[None], (1, 2, 1, 1), mode="circular"),
                        lambda x: TF.pad(x[None], (1, 2, 1, 1), mode="circular"), [X3]),
    "normalize": (lambda x: F.normalize(x, dim=1), lambda x: TF.normalize(x, dim=1), [X]),
    "normalize_p1": (lambda x: F.normalize(x, p=1.0, dim=-1), lambda x: TF.normalize(x, p=1.0, dim=-1), [X3]),
    "cosine_similarity": (lambda a, b: F.cosine_similarity(a, b), lambda a, b: TF.cosine_similarity(a, b), [X, P]),
    "cosine_similarity_broadcast": (lambda a, b: F.cosine_similarity(a, b[0]),
                                    lambda a, b: TF.cosine_similarity(a, b[0]), [X, P]),
    "gaussian_nll_float_var": (lambda x, p: F.gaussian_nll_loss(x, p, 0.5, reduction="sum"),
                               lambda x, p: TF.gaussian_nll_loss(x, p, 0.5, reduction="sum"), [X, P]),
    "gaussian_nll_var_axis": (lambda x, p, v: F.gaussian_nll_loss(x, p, v[:1]),
                              lambda x, p, v: TF.gaussian_nll_loss(x, p, v[:1]), [X, P, P + 0.2]),
    "pairwise_distance": (F.pairwise_distance, TF.pairwise_distance, [X, P]),
    "kl_div_batchmean": (lambda x, p: F.kl_div(F.log_softmax(x, dim=1), p, reduction="batchmean"),
                         lambda x, p: TF.kl_div(TF.log_softmax(x, dim=1), p, reduction="batchmean"), [X, P]),
    "kl_div_log_target": (lambda x, p: F.kl_div(x, np.log(p), reduction="sum", log_target=True),
                          lambda x, p: TF.kl_div(x, torch.log(p.detach()), reduction="sum", log_target=True), [X, P]),
    "huber": (lambda x, p: F.huber_loss(x, p, delta=0.7), lambda x, p: TF.huber_loss(x, p, delta=0.7), [X, P]),
    "poisson_nll": (lambda x, p: F.poisson_nll_loss(x, p * 5, full=True),
                    lambda x, p: TF.poisson_nll_loss(x, p * 5, full=True), [X, P]),
    "poisson_nll_rates": (lambda x, p: F.poisson_nll_loss(x * x, p, log_input=False, reduction="sum"),
                          lambda x, p: TF.poisson_nll_loss(x * x, p, log_input=False, reduction="sum"), [X, P]),
    "gaussian_nll": (lambda x, p, v: F.gaussian_nll_loss(x, p, v, full=True),
                     lambda x, p, v: TF.gaussian_nll_loss(x, p, v, full=True), [X, P, P + 0.2]),
    "gaussian_nll_one_var": (lambda x, p, v: F.gaussian_nll_loss(x, p, v[:, 0]),
                             lambda x, p, v: TF.gaussian_nll_loss(x, p, v[:, 0]), [X, P, P + 0.2]),
    "margin_ranking": (lambda a, b: F.margin_ranking_loss(a[0], b[0], SIGN, margin=0.1),
                       lambda a, b: TF.margin_ranking_loss(a[0], b[0], torch.tensor(SIGN), margin=0.1), [X, P]),
    "triplet_swap": (lambda a, b: F.triplet_margin_loss(a, b, b[::-1] * 2, swap=True),
                     lambda a, b: TF.triplet_margin_loss(a, b, b.flip(0) * 2, swap=True), [X, P]),
    # ties of the hinges at exactly 0 (integer scores): PyTorch's clamp_min gives the
    # derivative 1 there, its multi-class margin losses count no term
    "margin_ranking_tie": (lambda a, b: F.margin_ranking_loss(a[0], b[0], SIGN),
                           lambda a, b: TF.margin_ranking_loss(a[0], b[0], torch.tensor(SIGN)), [XI, XI]),
    "soft_margin": (lambda x: F.soft_margin_loss(x, SIGNS), lambda x: TF.soft_margin_loss(x, torch.tensor(SIGNS)),
                    [X * 20]),
    "soft_margin_none": (lambda x: F.soft_margin_loss(x[0], SIGN, reduction="none"),
                         lambda x: TF.soft_margin_loss(x[0], torch.tensor(SIGN), reduction="none"), [X]),
    "cosine_embedding": (lambda a, b: F.cosine_embedding_loss(a, b, SIGN[:4], margin=0.1),
                         lambda a, b: TF.cosine_embedding_loss(a, b, torch.tensor(SIGN[:4]), margin=0.1), [X, P]),
    "cosine_embedding_1d": (lambda a, b: F.cosine_embedding_loss(a[0], b[0], np.array(-1.0), reduction="sum"),
                            lambda a, b: TF.cosine_embedding_loss(a[0], b[0], torch.tensor(-1.0), reduction="sum"),
                            [X, P]),
    "hinge_embedding": (lambda x: F.hinge_embedding_loss(x, SIGNS, margin=1.0),
                        lambda x: TF.hinge_embedding_loss(x, torch.tensor(SIGNS), margin=1.0), [XI]),
    "multi_margin": (lambda x: F.multi_margin_loss(x, CLASSES),
                     lambda x: TF.multi_margin_loss(x, torch.tensor(CLASSES)), [XI]),
    "multi_margin_p2_weight": (
        lambda x: F.multi_margin_loss(x, CLASSES, p=2, margin=0.7, weight=P[0], reduction="sum"),
        lambda x: TF.multi_margin_loss(x, torch.tensor(CLASSES), p=2, margin=0.7, weight=torch.tensor(P[0]),
                                       reduction="sum"),
        [X]),
    "multi_margin_one_sample": (lambda x: F.multi_margin_loss(x[1], CLASSES[1]),
                                lambda x: TF.multi_margin_loss(x[1], torch.tensor(CLASSES[1])), [X]),
    "multilabel_margin": (lambda x: F.multilabel_margin_loss(x, LABEL_LISTS, reduction="none"),
                          lambda x: TF.multilabel_margin_loss(x, torch.tensor(LABEL_LISTS), reduction="none"), [XI]),
    "multilabel_margin_mean": (lambda x: F.multilabel_margin_loss(x * 0.3, LABEL_LISTS),
                               lambda x: TF.multilabel_margin_loss(x * 0.3, torch.tensor(LABEL_LISTS)), [X]),
    "multilabel_soft_margin": (
        lambda x, w: F.multilabel_soft_margin_loss(x * 30, LABELS, weight=w),
        lambda x, w: TF.multilabel_soft_margin_loss(x * 30, torch.tensor(LABELS), weight=w), [X, P[0]]),
}
# PyTorch's backward of these uses a float32 constant (1/6; celu's 1/alpha): exp(-0.5/1.3)
# is 0.68071239832, PyTorch's celu gradient there 0.68071241369
LOOSE = {"hardsigmoid", "hardswish", "celu"}
# evaluated on a kink on purpose (to match PyTorch's one-sided choice there): finite
# differences straddle it, so only the batching is checked below
AT_KINKS = {"margin_ranking_tie", "hinge_embedding", "multi_margin", "multilabel_margin"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    ours, theirs, arrays = CASES[name]
    a_in = [cr.tensor(a, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    a, t = ours(*a_in), theirs(*t_in)
    np.testing.assert_allclose(a.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-13)
    w = rng.normal(size=tuple(t.shape))
    (a * w).sum().backward()
    (t * torch.tensor(w)).sum().backward()
    tol = 1e-7 if name in LOOSE else 1e-11
    for x, y in zip(a_in, t_in, strict=True):
        if y.grad is not None:
            np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_and_vmap(name):
    ours, _, arrays = CASES[name]
    if name not in AT_KINKS:
        assert cr.gradcheck(ours, *arrays, order=2)
    # a batch of two copies, the second scaled: each example as the function alone
    batch = [np.stack([a, a * 0.9]) for a in arrays]
    got = cr.vmap(ours)(*batch)
    for k in range(2):
        np.testing.assert_allclose(np.asarray(got)[k], np.asarray(ours(*(b[k] for b in batch))), rtol=1e-13, atol=1e-14)



# labels that differ between the examples of a vmap (a label set per example): the
# values of the stacked loop and torch.func's per-example gradients.
# name: (our loss of (x, target), torch's, inputs (B, ...), targets (B, ...))
XB = rng.normal(size=(3, 4, 5))
CLASSES_B = np.array([[0, 3, 1, 4], [2, 2, 0, 1], [4, 1, 3, 0]])
LABEL_LISTS_B = np.stack([LABEL_LISTS, LABEL_LISTS[::-1], np.roll(LABEL_LISTS, 1, axis=1)])
TARGET_CASES = {
    "multi_margin": (F.multi_margin_loss, TF.multi_margin_loss, XB, CLASSES_B),
    "multi_margin_p2_weight": (lambda x, t: F.multi_margin_loss(x, t, p=2, margin=0.7, weight=P[0], reduction="sum"),
                               lambda x, t: TF.multi_margin_loss(x, t, p=2, margin=0.7, weight=torch.tensor(P[0]),
                                                                 reduction="sum"), XB, CLASSES_B),
    "multi_margin_one_sample": (lambda x, t: F.multi_margin_loss(x[1], t[1]),
                                lambda x, t: TF.multi_margin_loss(x[1], t[1]), XB, CLASSES_B),
    "multilabel_margin": (lambda x, t: F.multilabel_margin_loss(x, t, reduction="none"),
                          lambda x, t: TF.multilabel_margin_loss(x, t, reduction="none"), XB, LABEL_LISTS_B),
}


@pytest.mark.parametrize("name", sorted(TARGET_CASES))
def test_vmap_over_targets(name):
    ours, theirs, xs, ts = TARGET_CASES[name]
    got = cr.vmap(ours)(xs, ts)
    np.testing.assert_allclose(got, np.stack([ours(x, t) for x, t in zip(xs, ts, strict=True)]), rtol=1e-13,
                               atol=1e-14)
    grads = cr.vmap(cr.grad(lambda x, t: ours(x, t).sum()))(xs, ts)
    want = torch.func.vmap(torch.func.grad(lambda x, t: theirs(x, t).sum()))(torch.tensor(xs), torch.tensor(ts))
    np.testing.assert_allclose(grads, want.numpy(), rtol=1e-12, atol=1e-13)
    # the labels alone batched, and the input alone
    np.testing.assert_allclose(cr.vmap(ours, in_axes=(None, 0))(xs[0], ts),
                               np.stack([ours(xs[0], t) for t in ts]), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(cr.vmap(ours, in_axes=(0, None))(xs, ts[1]),
                               np.stack([ours(x, ts[1]) for x in xs]), rtol=1e-13, atol=1e-14)


def test_bad_arguments():
    with pytest.raises(ValueError, match="even"):
        F.glu(np.ones((2, 3)))
    with pytest.raises(ValueError, match="mode must be"):
        F.pad(np.ones((1, 2, 3)), (1, 1), mode="edge")
    with pytest.raises(ValueError, match="pairs"):
        F.pad(np.ones(3), (1, 1, 1))
    with pytest.raises(ValueError, match="reflect"):
        F.pad(np.ones((1, 1, 2)), (2, 0), mode="reflect")
    with pytest.raises(ValueError, match="reduction"):
        F.huber_loss(np.ones(2), np.ones(2), reduction="avg")
    # gaussian_nll_loss's checks of var, as PyTorch's (the same class and message)
    for var in (-0.5, -np.ones((4, 5)), np.ones((4, 2)), np.ones((4, 5, 1)), np.ones((1, 1))):
        for lib, functional in ((cr, F), (torch, TF)):
            with pytest.raises(ValueError, match="var has negative|var is of incorrect size"):
                v = var if isinstance(var, float) else lib.tensor(var)
                functional.gaussian_nll_loss(lib.tensor(X), lib.tensor(P), v)


@pytest.mark.parametrize("name, kwargs, inputs", [
    ("SoftMarginLoss", {"reduction": "sum"}, lambda: (X, SIGNS)),
    ("CosineEmbeddingLoss", {"margin": 0.2}, lambda: (X, P, SIGN[:4])),
    ("HingeEmbeddingLoss", {"margin": 0.5}, lambda: (X, SIGNS)),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5}, lambda: (X, CLASSES)),
    ("MultiLabelMarginLoss", {}, lambda: (X, LABEL_LISTS)),
    ("MultiLabelSoftMarginLoss", {"reduction": "none"}, lambda: (X, LABELS)),
])
def test_loss_modules_match_torch(name, kwargs, inputs):
    from chainrule import nn

    args = inputs()
    got = getattr(nn, name)(**kwargs)(*args)
    want = getattr(torch.nn, name)(**kwargs)(*(torch.tensor(a) for a in args))
    np.testing.assert_allclose(np.asarray(got), want.numpy(), rtol=1e-12)


def test_margin_losses_refuse_bad_targets():
    with pytest.raises(ValueError, match=r"class indices in \[0, 5\)"):
        F.multi_margin_loss(X, np.array([0, 5, 1, 2]))
    with pytest.raises(TypeError, match="class indices"):
        F.multi_margin_loss(X, CLASSES.astype(float))
    with pytest.raises(ValueError, match="p must be 1 or 2"):
        F.multi_margin_loss(X, CLASSES, p=3)
    with pytest.raises(ValueError, match="the input's shape"):
        F.multilabel_margin_loss(X, LABEL_LISTS[:, :3])
    with pytest.raises(ValueError, match=r"\(C,\) or \(N, C\)"):
        F.multi_margin_loss(X3, CLASSES)
    with pytest.raises(ValueError, match=r"class indices in \[0, 5\)"):  # in one example of a vmap
        cr.vmap(F.multi_margin_loss)(np.stack([X, X]), np.stack([CLASSES, CLASSES + 1]))
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 5\)"):
        cr.vmap(F.multilabel_margin_loss)(np.stack([X, X]), np.stack([LABEL_LISTS, LABEL_LISTS + 2]))

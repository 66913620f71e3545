"""The loss layers and functions against PyTorch: the deprecated ``size_average=`` /
``reduce=`` arguments (by keyword and in PyTorch's positions), mapped to a reduction and
warned about as PyTorch does, the class weights as buffers, and the new ``weight=`` of
``mse_loss``, ``l1_loss`` and ``huber_loss``; values and gradients in float64."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F

TOL = dict(rtol=1e-10, atol=1e-12)


def _inputs(name, rng):
    x = rng.standard_normal((4, 3))
    sign = np.where(rng.random(4) < 0.5, -1.0, 1.0)
    cls = np.array([0, 2, 1, 2])
    return {
        "L1Loss": [x, rng.standard_normal((4, 3))],
        "MSELoss": [x, rng.standard_normal((4, 3))],
        "SmoothL1Loss": [x, rng.standard_normal((4, 3))],
        "SoftMarginLoss": [x, np.sign(rng.standard_normal((4, 3)))],
        "BCELoss": [rng.uniform(0.1, 0.9, (4, 3)), rng.uniform(0, 1, (4, 3))],
        "BCEWithLogitsLoss": [x, rng.uniform(0, 1, (4, 3))],
        "CrossEntropyLoss": [x, cls],
        "NLLLoss": [x, cls],
        "KLDivLoss": [x, rng.uniform(0.1, 1, (4, 3))],
        "PoissonNLLLoss": [x, rng.uniform(0, 3, (4, 3))],
        "MarginRankingLoss": [x[:, 0], x[:, 1], sign],
        "TripletMarginLoss": [x, rng.standard_normal((4, 3)), rng.standard_normal((4, 3))],
        "CosineEmbeddingLoss": [x, rng.standard_normal((4, 3)), sign],
        "HingeEmbeddingLoss": [x, np.sign(rng.standard_normal((4, 3)))],
        "MultiMarginLoss": [x, cls],
        "MultiLabelMarginLoss": [x, np.array([[0, 2, -1], [1, -1, 0], [2, 1, 0], [-1, 0, 1]])],
        "MultiLabelSoftMarginLoss": [x, (rng.random((4, 3)) < 0.5).astype(float)],
    }[name]


LEGACY = [
    "L1Loss", "MSELoss", "SmoothL1Loss", "SoftMarginLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
    "NLLLoss", "KLDivLoss", "PoissonNLLLoss", "MarginRankingLoss", "TripletMarginLoss", "CosineEmbeddingLoss",
    "HingeEmbeddingLoss", "MultiMarginLoss", "MultiLabelMarginLoss", "MultiLabelSoftMarginLoss",
]
_FN = {"L1Loss": "l1_loss", "MSELoss": "mse_loss", "SmoothL1Loss": "smooth_l1_loss",
       "SoftMarginLoss": "soft_margin_loss",
       "BCELoss": "binary_cross_entropy", "BCEWithLogitsLoss": "binary_cross_entropy_with_logits",
       "CrossEntropyLoss": "cross_entropy", "NLLLoss": "nll_loss", "KLDivLoss": "kl_div",
       "PoissonNLLLoss": "poisson_nll_loss", "MarginRankingLoss": "margin_ranking_loss",
       "TripletMarginLoss": "triplet_margin_loss", "CosineEmbeddingLoss": "cosine_embedding_loss",
       "HingeEmbeddingLoss": "hinge_embedding_loss", "MultiMarginLoss": "multi_margin_loss",
       "MultiLabelMarginLoss": "multilabel_margin_loss", "MultiLabelSoftMarginLoss": "multilabel_soft_margin_loss"}


def _positional(sig, skip: int, size_average, reduce):
    """The arguments up to ``reduce`` in PyTorch's order, defaults but the two legacy ones."""
    args = []
    for p in list(sig.parameters.values())[skip:]:
        if p.name == "size_average":
            args.append(size_average)
        elif p.name == "reduce":
            args.append(reduce)
            return args
        else:
            args.append(p.default)
    raise AssertionError("no reduce argument")


def _run(fn, inputs, torch_side):
    ins = [(torch.tensor(a, requires_grad=a.dtype.kind == "f" and i == 0) if torch_side
            else cr.tensor(a, requires_grad=a.dtype.kind == "f" and i == 0)) for i, a in enumerate(inputs)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*ins)
    said = [str(w.message) for w in caught if "size_average and reduce" in str(w.message)]
    w = np.random.default_rng(1).standard_normal(tuple(out.shape))
    (out * (torch.tensor(w) if torch_side else w)).sum().backward()
    return out.detach().numpy(), ins[0].grad.numpy(), said


@pytest.mark.parametrize("legacy", [(False, None), (True, False), (True, True)])
@pytest.mark.parametrize("name", LEGACY)
def test_size_average_and_reduce_map_to_a_reduction_as_torch(name, legacy):
    inputs = _inputs(name, np.random.default_rng(0))
    size_average, reduce = legacy
    sig = inspect.signature(getattr(torch.nn, name).__init__)
    args = _positional(sig, 1, size_average, reduce)
    fsig = inspect.signature(getattr(torch.nn.functional, _FN[name]))
    n_in = len(inputs)
    fargs = _positional(fsig, n_in, size_average, reduce)
    cases = [
        (lambda *a: getattr(nn, name)(*args)(*a), lambda *a: getattr(torch.nn, name)(*args)(*a)),
        (lambda *a: getattr(nn, name)(size_average=size_average, reduce=reduce)(*a),
         lambda *a: getattr(torch.nn, name)(size_average=size_average, reduce=reduce)(*a)),
        (lambda *a: getattr(F, _FN[name])(*a, *fargs), lambda *a: getattr(torch.nn.functional, _FN[name])(*a, *fargs)),
    ]
    for ours, theirs in cases:
        v1, g1, said1 = _run(ours, inputs, False)
        v2, g2, said2 = _run(theirs, inputs, True)
        np.testing.assert_allclose(v1, v2, **TOL)
        np.testing.assert_allclose(g1, g2, **TOL)
        assert said1 == said2 and len(said1) == 1


def test_class_weights_are_buffers_and_mse_l1_huber_take_weight_as_torch():
    w = np.array([0.5, 2.0, 1.0])
    for name, kw in [("CrossEntropyLoss", {"weight": w}), ("NLLLoss", {"weight": w}), ("BCELoss", {"weight": w}),
                     ("BCEWithLogitsLoss", {"weight": w, "pos_weight": w}), ("MultiMarginLoss", {"weight": w}),
                     ("MultiLabelSoftMarginLoss", {"weight": w}), ("MSELoss", {})]:
        ours = getattr(nn, name)(**kw).state_dict()
        theirs = getattr(torch.nn, name)(**{k: torch.tensor(v) for k, v in kw.items()}).state_dict()
        assert list(ours) == list(theirs), name
        for k in ours:
            np.testing.assert_array_equal(ours[k].numpy(), theirs[k].numpy())
    rng = np.random.default_rng(2)
    x, t, wt = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.uniform(0.1, 2, (3, 4))
    for fn in ("mse_loss", "l1_loss", "huber_loss"):
        for reduction in ("mean", "sum", "none"):
            v1, g1, _ = _run(lambda a, b, c, fn=fn, r=reduction: getattr(F, fn)(a, b, reduction=r, weight=c),
                             [x, t, wt], False)
            v2, g2, _ = _run(lambda a, b, c, fn=fn, r=reduction: getattr(torch.nn.functional, fn)(
                a, b, reduction=r, weight=c), [x, t, wt], True)
            np.testing.assert_allclose(v1, v2, **TOL)
            np.testing.assert_allclose(g1, g2, **TOL)
        with pytest.raises(ValueError, match="same size"):
            getattr(F, fn)(x, t, weight=wt[0])
    with pytest.raises(TypeError):
        nn.GaussianNLLLoss(True)  # keyword-only, as PyTorch's
    with pytest.raises(ValueError, match="p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("distance", ["default", "cosine"])
def test_triplet_margin_with_distance_loss_as_torch(swap, reduction, distance):
    rng = np.random.default_rng(7)
    a, p, n = (rng.standard_normal((4, 5)) for _ in range(3))
    ours_d = None if distance == "default" else (lambda x, y: 1.0 - F.cosine_similarity(x, y))
    their_d = None if distance == "default" else (lambda x, y: 1.0 - torch.nn.functional.cosine_similarity(x, y))
    ours = nn.TripletMarginWithDistanceLoss(distance_function=ours_d, margin=0.5, swap=swap, reduction=reduction)
    theirs = torch.nn.TripletMarginWithDistanceLoss(distance_function=their_d, margin=0.5, swap=swap,
                                                    reduction=reduction)
    assert repr(ours) == repr(theirs) or distance != "default"
    v1, g1, _ = _run(lambda *x: ours(*x), [a, p, n], False)
    v2, g2, _ = _run(lambda *x: theirs(*x), [a, p, n], True)
    np.testing.assert_allclose(v1, v2, **TOL)
    np.testing.assert_allclose(g1, g2, **TOL)
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_with_distance_loss(a, p, n, margin=0.0)
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        nn.NLLLoss2d()


def test_kl_div_warns_about_mean_as_torch():
    x, t = np.log(np.full((2, 3), 1 / 3)), np.full((2, 3), 1 / 3)
    said = []
    for fn, a, b in ((F.kl_div, x, t), (torch.nn.functional.kl_div, torch.tensor(x), torch.tensor(t))):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn(a, b)
            fn(a, b, reduction="batchmean")
        said.append([(w.category, str(w.message)) for w in caught if "batchmean" in str(w.message)])
    assert said[0] == said[1] and len(said[0]) == 1

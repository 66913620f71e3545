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
}
# PyTorch's backward of these uses a float32 constant (1/6; celu's 1/alpha): exp(-0.5/1.3)
# is 0.68071239832, PyTorch's celu gradient there 0.68071241369
LOOSE = {"hardsigmoid", "hardswish", "celu"}


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
    assert cr.gradcheck(ours, *arrays, order=2)
    # a batch of two copies, the second scaled: each example as the function alone
    batch = [np.stack([a, a * 0.9]) for a in arrays]
    got = cr.vmap(ours)(*batch)
    for k in range(2):
        np.testing.assert_allclose(np.asarray(got)[k], np.asarray(ours(*(b[k] for b in batch))), rtol=1e-13, atol=1e-14)


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

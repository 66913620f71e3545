"""torch.nn.functional's in-place activations (inplace=True and the F.relu_ family),
gumbel_softmax, pdist, and nn.utils.get_total_norm / clip_grads_with_norm_, against torch."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")

X = np.array([-3.5, -1.0, -0.0, 0.0, 0.3, 2.0, 4.0, 7.0])
CASES = {  # name -> extra positional arguments
    "relu": (), "leaky_relu": (0.2,), "elu": (0.7,), "selu": (), "celu": (1.5,), "hardtanh": (-2.0, 3.0),
    "relu6": (), "hardsigmoid": (), "hardswish": (), "mish": (), "silu": (), "threshold": (0.1, -5.0),
}
UNDERSCORE = ("relu", "leaky_relu", "elu", "selu", "celu", "hardtanh", "threshold")


@pytest.mark.parametrize("name", sorted(CASES))
def test_inplace_true_writes_into_the_input_as_torch(name):
    args = CASES[name]
    results = []
    for lib in (cr, torch):
        fn = getattr(lib.nn.functional, name)
        x = lib.tensor(X.copy())
        out = fn(x, *args, inplace=True)
        leaf = lib.tensor(X.copy(), requires_grad=True)
        y = leaf * 2.0
        z = fn(y, *args, inplace=True)
        (z * lib.tensor(np.arange(8.0))).sum().backward()
        results.append([out is x, z is y, x.numpy(), leaf.grad.numpy()])
        with pytest.raises(RuntimeError, match="leaf"):
            fn(lib.tensor(X.copy(), requires_grad=True), *args, inplace=True)
        if name in UNDERSCORE:
            x2 = lib.tensor(X.copy())
            assert getattr(lib.nn.functional, name + "_")(x2, *args) is x2
            np.testing.assert_allclose(x2.numpy(), x.numpy())
    assert results[0][:2] == results[1][:2] == [True, True]
    np.testing.assert_allclose(results[0][2], results[1][2], rtol=1e-12)
    np.testing.assert_allclose(results[0][3], results[1][3], rtol=1e-12)
    # an array, or inside a transform: computed out of place
    a = X.copy()
    np.testing.assert_allclose(getattr(F, name)(a, *args, inplace=True), getattr(F, name)(a, *args))
    np.testing.assert_array_equal(a, X)
    g = cr.grad(lambda v: (getattr(F, name)(v * 2.0, *args, inplace=True) * np.arange(8.0)).sum())(X)
    np.testing.assert_allclose(g, results[0][3], rtol=1e-12)  # the eager gradient of the same function


def test_rrelu_in_place():
    x = cr.tensor(X.copy())
    assert F.rrelu_(x, 0.1, 0.3) is x
    np.testing.assert_allclose(x.numpy(), np.where(X > 0, X, X * 0.2))
    y = cr.tensor(-np.ones(1000))
    F.rrelu(y, training=True, inplace=True)
    assert np.all((y.numpy() >= -1 / 3) & (y.numpy() <= -1 / 8)) and len(np.unique(y.numpy())) > 900


def test_gumbel_softmax_samples_the_categorical_and_passes_the_soft_gradient():
    probs = np.array([0.2, 0.3, 0.5])
    logits = cr.tensor(np.log(np.tile(probs, (20000, 1))), requires_grad=True)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True, rng=3)
    assert set(np.unique(hard.detach().numpy()).tolist()) == {0.0, 1.0}
    assert np.all(hard.detach().numpy().sum(axis=1) == 1)
    np.testing.assert_allclose(hard.detach().numpy().mean(axis=0), probs, atol=0.015)  # Gumbel-max
    w = cr.tensor([1.0, 2.0, 3.0])
    (hard * w).sum().backward()
    g_hard = logits.grad.numpy().copy()
    logits.grad = None
    soft = F.gumbel_softmax(logits, tau=0.5, rng=3)  # the same noise: the straight-through gradient is soft's
    np.testing.assert_allclose(soft.detach().numpy().sum(axis=1), 1.0)
    (soft * w).sum().backward()
    np.testing.assert_allclose(g_hard, logits.grad.numpy(), rtol=1e-12)
    assert np.array_equal(soft.detach().numpy().argmax(axis=1), hard.detach().numpy().argmax(axis=1))
    t = torch.nn.functional.gumbel_softmax(torch.zeros(5, 4), tau=2.0, dim=0)
    ours = F.gumbel_softmax(cr.zeros(5, 4), tau=2.0, dim=0)
    assert tuple(ours.shape) == tuple(t.shape) and np.allclose(ours.numpy().sum(axis=0), 1.0)
    with pytest.warns(UserWarning, match="eps"):
        F.gumbel_softmax(cr.zeros(2, 2), eps=1e-3)


def test_pdist_and_the_total_norm_helpers_are_torch_s():
    a = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_allclose(F.pdist(cr.tensor(a), p=1.5).numpy(),
                               torch.nn.functional.pdist(torch.tensor(a), p=1.5).numpy(), rtol=1e-12)
    grads = [np.array([[3.0, -4.0]]), np.array([12.0])]
    for norm_type in (2.0, 1.0, float("inf"), 3.0):
        ours = cr.nn.utils.get_total_norm([cr.tensor(g) for g in grads], norm_type)
        theirs = torch.nn.utils.get_total_norm([torch.tensor(g) for g in grads], norm_type)
        assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)
    results = []
    for lib in (cr, torch):
        ps = [lib.tensor(np.ones((1, 2)), requires_grad=True), lib.tensor(np.ones(1), requires_grad=True)]
        for p, g in zip(ps, grads, strict=True):
            p.grad = lib.tensor(g)
        total = lib.nn.utils.get_total_norm([p.grad for p in ps])
        lib.nn.utils.clip_grads_with_norm_(ps, 2.6, total)
        results.append([total.item()] + [p.grad.numpy() for p in ps])
    assert results[0][0] == pytest.approx(results[1][0])
    for x, y in zip(results[0][1:], results[1][1:], strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-9)

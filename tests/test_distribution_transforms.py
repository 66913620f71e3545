"""chainrule.distributions.TransformedDistribution and its transforms against torch's in
float64: shapes, support, log_prob and reparameterised draws (with the same injected
noise) and their gradients in the parameters, and the KL of two transformed distributions."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

# name: (build(D, T, *params), parameters, value)
CASES = {
    "tanh_normal": (lambda D, T, a, b: D.TransformedDistribution(D.Normal(a, b), [T.TanhTransform()]),
                    [[0.3, -0.5], [1.2, 0.7]], [0.3, -0.7]),
    "affine_exp_flow": (lambda D, T, a, b: D.TransformedDistribution(
        D.Normal(a, b), [T.AffineTransform(a * 0.5, b), T.ExpTransform()]), [[0.3, -0.5], [1.2, 0.7]], [0.4, 2.5]),
    "sigmoid_normal": (lambda D, T, a, b: D.TransformedDistribution(D.Normal(a, b), T.SigmoidTransform()),
                       [[0.3, -0.5], [1.2, 0.7]], [0.2, 0.9]),
    "affine_event_dim": (lambda D, T, a, b: D.TransformedDistribution(
        D.Normal(a[:, None] * b, b), [T.AffineTransform(b, a[0] + b, event_dim=1)]),
        [[0.3, 0.6], [1.2, 0.7]], [[0.1, 0.2], [1.0, -1.0]]),
    "power_exponential": (lambda D, T, r: D.TransformedDistribution(D.Exponential(r), [T.PowerTransform(0.5)]),
                          [[0.5, 2.0]], [0.4, 1.5]),
    "decreasing_affine": (lambda D, T, a, b: D.TransformedDistribution(D.Normal(a, b), [T.AffineTransform(1.0, -2.0)]),
                          [[0.3, -0.5], [1.2, 0.7]], [0.4, 2.5]),
    "softplus_normal": (lambda D, T, a, b: D.TransformedDistribution(D.Normal(a, b), [T.SoftplusTransform()]),
                        [[0.3, -0.5], [1.2, 0.7]], [0.4, 2.5]),
    "log_gamma": (lambda D, T, c, r: D.TransformedDistribution(D.Gamma(c, r), [T.ExpTransform().inv]),
                  [[0.7, 3.0], [1.5, 0.4]], [-0.4, 1.5]),
}


# the cases whose base distribution has cdf and icdf in both libraries
CDF = ("tanh_normal", "affine_exp_flow", "sigmoid_normal", "power_exponential", "decreasing_affine",
       "softplus_normal")


def _run(lib, name, monkeypatch, eps):
    build, params, value = CASES[name]
    noise = iter([eps] * 2)
    if lib is torch:
        monkeypatch.setattr(torch.distributions.normal, "_standard_normal",
                            lambda shape, dtype, device: torch.tensor(next(noise)[:shape[0]], dtype=dtype))
    else:
        monkeypatch.setattr(cr.distributions.continuous, "noise",
                            lambda kind, shape, dtype, *a, like=(): cr.tensor(next(noise)[:shape[0]], dtype=dtype))
    ts = [lib.tensor(p, dtype=lib.float64, requires_grad=True) for p in params]
    d = build(lib.distributions, lib.distributions.transforms, *ts)
    lp = d.log_prob(lib.tensor(value, dtype=lib.float64))
    out = [lp.detach().numpy()]
    loss = lp.sum()
    if name in CDF:
        c = d.cdf(lib.tensor(value, dtype=lib.float64))
        q = d.icdf(lib.tensor([0.3, 0.8], dtype=lib.float64))
        out += [c.detach().numpy(), q.detach().numpy()]
        loss = loss + c.sum() + 0.5 * q.sum()
    if "normal" in name or "flow" in name:
        r = d.rsample((3,))
        out.append(r.detach().numpy())
        loss = loss + (r * lib.tensor([1.0, 2.0], dtype=lib.float64)).sum()
    grads = lib.autograd.grad(loss, ts)
    monkeypatch.undo()
    return d, out + [g.numpy() for g in grads]


@pytest.mark.parametrize("name", sorted(CASES))
def test_transformed_distributions_match_torch(name, monkeypatch):
    eps = np.random.default_rng(0).standard_normal((3, 2))
    ours_d, ours = _run(cr, name, monkeypatch, eps)
    theirs_d, theirs = _run(torch, name, monkeypatch, eps)
    assert tuple(ours_d.batch_shape) == tuple(theirs_d.batch_shape)
    assert tuple(ours_d.event_shape) == tuple(theirs_d.event_shape)
    assert repr(ours_d.support) == repr(theirs_d.support)
    assert ours_d.sample((4,)).shape == tuple(theirs_d.sample((4,)).shape)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_kl_of_transformed_distributions_and_validation():
    results = []
    for lib in (cr, torch):
        D, T = lib.distributions, lib.distributions.transforms
        a = lib.tensor([0.3, -0.5], dtype=lib.float64, requires_grad=True)
        p = D.TransformedDistribution(D.Normal(a, 1.0), [T.TanhTransform()])
        q = D.TransformedDistribution(D.Normal(0.0, a.exp()), [T.TanhTransform()])
        kl = D.kl_divergence(p, q)
        results.append([kl.detach().numpy(), lib.autograd.grad(kl.sum(), a)[0].numpy()])
        with pytest.raises(NotImplementedError):
            D.kl_divergence(p, D.TransformedDistribution(D.Normal(a, 1.0), [T.SigmoidTransform()]))
        with pytest.raises(ValueError, match="Expected value argument"):
            p.log_prob(lib.tensor([1.5, 0.0], dtype=lib.float64))
    for x, y in zip(*results, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-10)


@pytest.mark.parametrize("build", [
    lambda D, T, a: (D.HalfCauchy(a), D.HalfCauchy(a.exp())),
    lambda D, T, a: (D.LogNormal(a, 1.0), D.TransformedDistribution(D.Normal(0.0, a.exp()), [T.ExpTransform()])),
    lambda D, T, a: (D.TransformedDistribution(D.Normal(a, 1.0), [T.ExpTransform()]), D.LogNormal(0.0, a.exp())),
    lambda D, T, a: (D.HalfNormal(a), D.TransformedDistribution(D.Normal(0.0, a.exp()), [T.AbsTransform()])),
    lambda D, T, a: (D.TransformedDistribution(D.Cauchy(0.0, a), [T.AbsTransform()]), D.HalfCauchy(a.exp())),
    lambda D, T, a: (D.HalfNormal(a), D.HalfCauchy(a)),
    lambda D, T, a: (D.LogNormal(a, 1.0), D.TransformedDistribution(D.Normal(a, 1.0), [T.AbsTransform()])),
], ids=["halfcauchy", "lognormal-td", "td-lognormal", "halfnormal-td", "td-halfcauchy", "none", "other-transforms"])
def test_kl_between_transformed_families_and_transformed_distributions_is_torchs(build):
    """LogNormal, HalfNormal and HalfCauchy are TransformedDistributions in PyTorch: their
    KL against one with the same transforms is that of the bases, else not implemented."""
    results = []
    for lib in (cr, torch):
        D = lib.distributions
        a = lib.tensor([0.3, 1.5], dtype=lib.float64, requires_grad=True)
        try:
            kl = D.kl_divergence(*build(D, D.transforms, a))
        except NotImplementedError:
            results.append(None)
            continue
        results.append([kl.detach().numpy(), lib.autograd.grad(kl.sum(), a)[0].numpy()])
    assert (results[0] is None) == (results[1] is None)
    for x, y in zip(*(results if results[0] is not None else [[], []]), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-10)


RELAXED = {
    "one_hot": (lambda D, t, p: D.RelaxedOneHotCategorical(t, logits=p), [0.7, [[0.2, -1.0, 0.5], [1.0, 0.0, -0.3]]],
                [[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]], (3, 2, 3)),
    "bernoulli": (lambda D, t, p: D.RelaxedBernoulli(t, probs=p), [0.5, [0.3, 0.8]], [0.4, 0.9], (3, 2)),
}


@pytest.mark.parametrize("name", sorted(RELAXED))
def test_relaxed_distributions_match_torch_with_the_same_uniforms(name, monkeypatch):
    build, params, value, shape = RELAXED[name]
    u = np.random.default_rng(1).random(shape)
    results = []
    for lib in (torch, cr):
        if lib is torch:
            monkeypatch.setattr(torch, "rand", lambda *s, dtype=None, device=None: torch.tensor(u, dtype=dtype))
        else:
            monkeypatch.setattr(cr.distributions.families, "noise",
                                lambda kind, s, dtype, like=(): cr.tensor(u, dtype=dtype))
        ts = [lib.tensor(p, dtype=lib.float64, requires_grad=True) for p in params]
        d = build(lib.distributions, *ts)
        lp, r = d.log_prob(lib.tensor(value, dtype=lib.float64)), d.rsample((3,))
        monkeypatch.undo()
        grads = lib.autograd.grad(lp.sum() + (r * lib.arange(r.shape[-1], dtype=lib.float64)).sum(), ts)
        results.append([lp.detach().numpy(), r.detach().numpy()] + [g.numpy() for g in grads])
        assert tuple(d.event_shape) == ((3,) if name == "one_hot" else ())
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_the_submodules_pytorch_code_imports_from():
    from chainrule.distributions.bernoulli import Bernoulli
    from chainrule.distributions.categorical import Categorical
    from chainrule.distributions.independent import Independent
    from chainrule.distributions.multivariate_normal import MultivariateNormal
    from chainrule.distributions.normal import Normal
    from chainrule.distributions.uniform import Uniform

    D = cr.distributions
    assert (Normal, Categorical, Bernoulli, MultivariateNormal, Uniform, Independent) == (
        D.Normal, D.Categorical, D.Bernoulli, D.MultivariateNormal, D.Uniform, D.Independent)
    for name in ("normal", "categorical", "bernoulli", "multivariate_normal", "uniform", "independent"):
        assert hasattr(torch.distributions, name) and hasattr(cr.distributions, name)


def test_the_transforms_are_names_of_distributions_too_as_in_torch():
    # karpathy/pytorch-normalizing-flows' logistic prior:
    # from torch.distributions import Uniform, TransformedDistribution, SigmoidTransform
    for name in cr.distributions.transforms.__all__:
        assert getattr(cr.distributions, name) is getattr(cr.distributions.transforms, name)
        assert hasattr(torch.distributions, name)
    x = np.random.default_rng(1).normal(size=(4, 2))
    out = []
    for lib in (cr, torch):
        D = lib.distributions
        prior = D.TransformedDistribution(D.Uniform(lib.zeros(2, dtype=lib.float64), lib.ones(2, dtype=lib.float64)),
                                          D.SigmoidTransform().inv)
        out.append(prior.log_prob(lib.tensor(x)).sum(1).numpy())
    np.testing.assert_allclose(*out, rtol=1e-12)


def test_a_cached_tanh_transform_gives_the_draw_back_as_torch(monkeypatch):
    # a SAC policy (CORL's TanhGaussianPolicy): TanhTransform(cache_size=1), so the log_prob
    # of a draw that tanh rounded to 1 is finite, read from the cached pre-tanh value
    eps = np.array([[0.3, 25.0]])
    out = []
    for lib in (torch, cr):
        if lib is torch:
            monkeypatch.setattr(torch.distributions.normal, "_standard_normal",
                                lambda shape, dtype, device: torch.tensor(eps, dtype=dtype))
        else:
            monkeypatch.setattr(cr.distributions.continuous, "noise",
                                lambda kind, shape, dtype, like=(): cr.tensor(eps))
        D = lib.distributions
        loc = lib.tensor([[0.2, 0.5]], dtype=lib.float64, requires_grad=True)
        t = D.TanhTransform(cache_size=1)
        d = D.Independent(D.TransformedDistribution(D.Normal(loc, loc.exp()), t), 1)
        y = d.rsample()
        lp = d.log_prob(y)
        (g,) = lib.autograd.grad(lp.sum() + y.sum(), loc)
        monkeypatch.undo()
        out.append([y.detach().numpy(), lp.detach().numpy(), g.numpy()])
        assert np.isfinite(out[-1][1]).all()
        assert t.inv(y) is t.inv(y) and t.with_cache(1) is t and t.with_cache(0)._cache_size == 0
        assert D.AffineTransform(1.0, 2.0).with_cache()._cache_size == 1
        assert D.ComposeTransform([D.ExpTransform()], cache_size=1).parts[0]._cache_size == 1
        assert t.inv.with_cache(0).inv._cache_size == 0
        with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
            D.TanhTransform(cache_size=2)
    for a, b in zip(*out, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_every_submodule_pytorch_code_imports_a_class_from_holds_it():
    # pytorch_sac: pyd.transformed_distribution.TransformedDistribution; DrQ-v2:
    # from torch.distributions.utils import _standard_normal
    import importlib

    from chainrule.distributions.utils import _standard_normal, _sum_rightmost

    for name in cr.distributions._SUBMODULES:
        theirs = importlib.import_module(f"torch.distributions.{name}")
        ours = importlib.import_module(f"chainrule.distributions.{name}")
        assert getattr(cr.distributions, name) is ours
        for cls in theirs.__all__:
            assert getattr(ours, cls) is getattr(cr.distributions, cls), (name, cls)
    eps = _standard_normal((2, 3), dtype=cr.float32, device=cr.device("cpu"))
    assert eps.shape == (2, 3) and eps.dtype == np.float32
    np.testing.assert_array_equal(_sum_rightmost(cr.ones(2, 3, 4), 2).numpy(), [12.0, 12.0])


def test_one_hot_categorical_straight_through_as_torch():
    # DreamerV2's discrete latents: the draw in value, the gradient of the probabilities
    out = []
    for lib in (torch, cr):
        logits = lib.tensor([[0.0, 60.0, 0.5], [70.0, 0.2, -0.1]], dtype=lib.float64, requires_grad=True)
        d = lib.distributions.OneHotCategoricalStraightThrough(logits=logits)
        z = d.rsample()
        (g,) = lib.autograd.grad((z * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum(), logits)
        out.append([z.detach().numpy(), g.numpy(), d.has_rsample])
    for a, b in zip(*out, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-30)

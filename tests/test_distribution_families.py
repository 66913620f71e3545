"""chainrule.distributions' families against torch.distributions in float64: log_prob,
entropy, moments, cdf/icdf and KL values and their gradients in the parameters; shapes of
draws and expand; validate_args errors; reparameterised-draw gradients against their
closed form; and a VAE written for PyTorch run with both from the same weights and noise."""

import re

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

TRIL = [[[1.2, 0.0, 0.0], [0.3, 0.8, 0.0], [-0.5, 0.2, 1.5]], [[0.7, 0.0, 0.0], [0.1, 1.1, 0.0], [0.4, -0.6, 0.9]]]
COV = [[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 1.5]]
SIMPLEX = [[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]
PD = [[1.5, -0.4, 0.2], [-0.4, 0.9, 0.1], [0.2, 0.1, 2.2]]
# name: (constructor, parameters, value, quantities without a gradient in torch)
CASES = {
    "normal": (lambda D, a, b: D.Normal(a, b), [[0.5, -1.0], [1.5, 0.3]], [0.1, 0.2], ()),
    "lognormal": (lambda D, a, b: D.LogNormal(a, b), [[0.5, -1.0], [1.5, 0.3]], [0.7, 2.5], ()),
    "uniform": (lambda D, a, b: D.Uniform(a, b), [[-1.0, 0.5], [2.0, 3.0]], [0.3, 1.0], ()),
    "laplace": (lambda D, a, b: D.Laplace(a, b), [[0.5, -1.0], [1.5, 0.3]], [0.1, -1.2], ()),
    "cauchy": (lambda D, a, b: D.Cauchy(a, b), [[0.5, -1.0], [1.5, 0.3]], [0.1, 2.0], ()),
    "exponential": (lambda D, r: D.Exponential(r), [[0.5, 2.0]], [0.3, 1.7], ()),
    "gamma": (lambda D, c, r: D.Gamma(c, r), [[0.7, 3.0], [1.5, 0.4]], [0.3, 6.0], ("cdf",)),
    "beta": (lambda D, a, b: D.Beta(a, b), [[0.7, 3.0], [1.5, 2.5]], [0.3, 0.8], ()),
    "studentt": (lambda D, df, a, b: D.StudentT(df, a, b), [[0.8, 1.5, 5.0], [0.5, -1.0, 0.0], [1.5, 0.3, 2.0]],
                 [0.1, 2.0, -0.4], ()),
    "dirichlet": (lambda D, c: D.Dirichlet(c), [[[0.7, 3.0, 1.2], [1.5, 0.4, 2.0]]], SIMPLEX, ()),
    "mvn_scale_tril": (lambda D, m, L: D.MultivariateNormal(m, scale_tril=L), [[0.5, -1.0, 0.2], TRIL],
                       [[0.1, 0.2, 0.3], [1.0, -1.0, 0.5]], ()),
    "mvn_covariance": (lambda D, m, S: D.MultivariateNormal(m, covariance_matrix=S), [[[0.5, -1.0, 0.2]], COV],
                       [0.1, 0.2, 0.3], ()),
    "mvn_precision": (lambda D, m, P: D.MultivariateNormal(m, precision_matrix=P), [[0.5, -1.0, 0.2], COV],
                      [[0.1, 0.2, 0.3], [1.0, -1.0, 0.5]], ()),
    "lowrank_mvn": (lambda D, m, W, d: D.LowRankMultivariateNormal(m, W, d),
                    [[[0.5, -1.0, 0.2], [0.0, 0.3, 1.0]], [[0.5, 0.1], [-0.3, 0.8], [1.0, 0.2]], [1.2, 0.7, 0.4]],
                    [[0.1, 0.2, 0.3], [1.0, -1.0, 0.5]], ()),
    "categorical_probs": (lambda D, p: D.Categorical(probs=p), [SIMPLEX], [2, 0], ()),
    "categorical_logits": (lambda D, p: D.Categorical(logits=p), [[[0.2, -1.5, 0.3], [2.0, 0.0, -4.0]]], [1, 2], ()),
    "onehot": (lambda D, p: D.OneHotCategorical(probs=p), [SIMPLEX], [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]], ()),
    "bernoulli_probs": (lambda D, p: D.Bernoulli(probs=p), [[0.3, 0.9]], [1.0, 0.0], ()),
    "bernoulli_logits": (lambda D, p: D.Bernoulli(logits=p), [[-0.3, 4.0]], [1.0, 0.0], ()),
    "binomial_probs": (lambda D, p: D.Binomial(5, probs=p), [[0.3, 0.9]], [2.0, 5.0], ()),
    "binomial_logits": (lambda D, p: D.Binomial(torch.tensor([4.0, 7.0]).numpy(), logits=p), [[-0.3, 1.5]],
                        [0.0, 6.0], ()),
    "poisson": (lambda D, r: D.Poisson(r), [[0.5, 3.2]], [0.0, 4.0], ()),
    "chi2": (lambda D, df: D.Chi2(df), [[0.8, 3.0]], [0.3, 2.0], ("cdf",)),
    "halfnormal": (lambda D, s: D.HalfNormal(s), [[1.5, 0.3]], [0.1, 0.2], ()),
    "halfcauchy": (lambda D, s: D.HalfCauchy(s), [[1.5, 0.3]], [0.1, 0.2], ()),
    "gumbel": (lambda D, a, b: D.Gumbel(a, b), [[0.5, -1.0], [1.5, 0.3]], [0.1, -1.2], ()),
    "geometric_probs": (lambda D, p: D.Geometric(probs=p), [[0.3, 0.8]], [0.0, 3.0], ()),
    "geometric_logits": (lambda D, p: D.Geometric(logits=p), [[-0.3, 1.5]], [2.0, 0.0], ()),
    "negative_binomial": (lambda D, n, p: D.NegativeBinomial(n, probs=p), [[2.5, 4.0], [0.3, 0.6]], [0.0, 3.0], ()),
    "multinomial": (lambda D, p: D.Multinomial(4, probs=p), [SIMPLEX], [[1.0, 1.0, 2.0], [0.0, 4.0, 0.0]], ()),
    "mixture_normal": (lambda D, w, m, s: D.MixtureSameFamily(D.Categorical(logits=w), D.Normal(m, s)),
                       [[0.2, -0.5, 1.0], [-1.0, 0.5, 2.0], [0.7, 1.2, 0.4]], [0.3, -1.0], ()),
    "mixture_diag_gaussian": (lambda D, w, m, s: D.MixtureSameFamily(D.Categorical(logits=w),
                                                                     D.Independent(D.Normal(m, s), 1)),
                              [[0.2, -0.5], [[-1.0, 0.5], [2.0, 0.1]], [[0.7, 1.2], [0.4, 0.9]]], [0.3, -1.0], ()),
    "weibull": (lambda D, s, c: D.Weibull(s, c), [[1.5, 0.3], [0.7, 2.5]], [0.4, 0.2], ()),
    "pareto": (lambda D, s, a: D.Pareto(s, a), [[1.5, 0.3], [0.7, 2.5]], [1.7, 0.5], ()),
    "independent_normal": (lambda D, a, b: D.Independent(D.Normal(a, b), 1), [[[0.5, -1.0]], [[1.5, 0.3]]],
                           [[0.1, 0.2]], ()),
    "wishart_scale_tril": (lambda D, df, L: D.Wishart(df, scale_tril=L), [[4.5, 6.0], TRIL], [COV, PD], ()),
    "wishart_covariance": (lambda D, df, S: D.Wishart(df, covariance_matrix=S), [5.0, COV], PD, ()),
    "wishart_precision": (lambda D, df, P: D.Wishart(df, precision_matrix=P), [[[3.5], [6.0]], COV], [COV, PD], ()),
}
QUANTITIES = ["log_prob", "entropy", "mean", "variance", "stddev", "mode", "cdf", "icdf"]


def _quantities(lib, name):
    make, params, value, nograd = CASES[name]
    ts = [lib.tensor(p, dtype=lib.float64, requires_grad=True) for p in params]
    if name.startswith("binomial_logits") and lib is cr:
        make = lambda D, p: D.Binomial(cr.tensor([4.0, 7.0], dtype=cr.float64), logits=p)  # noqa: E731
    elif name.startswith("binomial_logits"):
        make = lambda D, p: D.Binomial(torch.tensor([4.0, 7.0], dtype=torch.float64), logits=p)  # noqa: E731
    m = make(lib.distributions, *ts)
    v = lib.tensor(value, dtype=lib.int64 if name.startswith("categorical") else lib.float64)
    out = {}
    for q in QUANTITIES:
        try:
            if q in ("log_prob", "cdf"):
                out[q] = getattr(m, q)(v)
            elif q == "icdf":
                out[q] = m.icdf(lib.tensor(np.linspace(0.2, 0.7, int(np.prod(m.batch_shape))), dtype=lib.float64))
            elif q == "entropy":
                out[q] = m.entropy()
            else:
                out[q] = getattr(m, q)
        except NotImplementedError:
            out[q] = None
    loss = sum((i + 1.3) * out[q].sum() for i, q in enumerate(QUANTITIES)
               if out[q] is not None and out[q].dtype == lib.float64 and q not in nograd
               and bool(np.isfinite(out[q].detach().numpy()).all()))
    grads = [g.numpy() for g in lib.autograd.grad(loss, ts, allow_unused=False)]
    return m, {q: (None if t is None else t.detach().numpy()) for q, t in out.items()}, grads


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(name):
    ours_m, ours, ours_g = _quantities(cr, name)
    torch_m, theirs, theirs_g = _quantities(torch, name)
    assert tuple(ours_m.batch_shape) == tuple(torch_m.batch_shape)
    assert tuple(ours_m.event_shape) == tuple(torch_m.event_shape)
    for q in QUANTITIES:
        assert (ours[q] is None) == (theirs[q] is None), q
        if theirs[q] is not None:
            # torch's Multinomial entropy takes lgamma(n + 1) of an integer tensor, in float32
            atol = 1e-7 if (name, q) == ("multinomial", "entropy") else 1e-12
            np.testing.assert_allclose(ours[q], theirs[q], rtol=1e-10, atol=atol, err_msg=q)
    for a, b in zip(ours_g, theirs_g, strict=True):
        np.testing.assert_allclose(a, b, rtol=TRIGAMMA_RTOL.get(name, 1e-10), atol=1e-12)


# Gradients through digamma use trigamma, which torch's float64 CPU kernel computes only
# to ~1e-9 relative (against mpmath; SciPy's, which chainrule uses, is exact to 1e-15)
TRIGAMMA_RTOL = {"beta": 1e-8, "dirichlet": 1e-8, "gamma": 1e-8, "studentt": 1e-8, "chi2": 1e-8,
                 **dict.fromkeys(("wishart_scale_tril", "wishart_covariance", "wishart_precision"), 1e-8)}

def test_utils_match_torch():
    p = [[0.0, 0.3, 0.7], [1.0, 0.5, 0.25]]
    for binary in (False, True):
        ours = cr.distributions.utils.probs_to_logits(cr.tensor(p, dtype=cr.float64), is_binary=binary)
        theirs = torch.distributions.utils.probs_to_logits(torch.tensor(p, dtype=torch.float64), is_binary=binary)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-14)
        back = cr.distributions.utils.logits_to_probs(ours, is_binary=binary).numpy()
        np.testing.assert_allclose(back, torch.distributions.utils.logits_to_probs(theirs, is_binary=binary).numpy(),
                                   rtol=1e-14)


def test_multinomial_entropy_is_the_sum_over_outcomes():
    from scipy.stats import multinomial

    outcomes = [(a, b, 4 - a - b) for a in range(5) for b in range(5 - a)]
    for p in SIMPLEX:
        pmf = multinomial(4, p).pmf(outcomes)
        want = -(pmf * np.log(pmf)).sum()
        got = cr.distributions.Multinomial(4, cr.tensor(p, dtype=cr.float64)).entropy().item()
        np.testing.assert_allclose(got, want, rtol=1e-13)


KL_PAIRS = {
    "normal": ("Normal", [[0.5, -1.0], [1.5, 0.3]], [[0.1, 0.4], [0.7, 1.2]]),
    "lognormal": ("LogNormal", [[0.5, -1.0], [1.5, 0.3]], [[0.1, 0.4], [0.7, 1.2]]),
    "laplace": ("Laplace", [[0.5, -1.0], [1.5, 0.3]], [[0.1, 0.4], [0.7, 1.2]]),
    "cauchy": ("Cauchy", [[0.5, -1.0], [1.5, 0.3]], [[0.1, 0.4], [0.7, 1.2]]),
    "uniform": ("Uniform", [[0.0, -1.0], [1.5, 0.3]], [[-0.5, -2.0], [2.0, 0.2]]),
    "exponential": ("Exponential", [[0.5, 2.0]], [[1.5, 0.3]]),
    "gamma": ("Gamma", [[0.7, 3.0], [1.5, 0.4]], [[2.0, 0.5], [0.3, 1.1]]),
    "beta": ("Beta", [[0.7, 3.0], [1.5, 0.4]], [[2.0, 0.5], [0.3, 1.1]]),
    "dirichlet": ("Dirichlet", [[[0.7, 3.0, 1.2], [1.5, 0.4, 2.0]]], [[[2.0, 0.5, 1.0]]]),
    "categorical": ("Categorical", [SIMPLEX], [[[0.3, 0.3, 0.4], [0.5, 0.2, 0.3]]]),
    "onehot": ("OneHotCategorical", [SIMPLEX], [[[0.3, 0.3, 0.4], [0.5, 0.2, 0.3]]]),
    "bernoulli": ("Bernoulli", [[0.3, 0.9]], [[0.6, 0.2]]),
    "poisson": ("Poisson", [[0.5, 3.2]], [[1.5, 2.0]]),
    "mvn": ("MultivariateNormal", [[0.5, -1.0, 0.2], TRIL], [[[0.0, 0.3, 1.0]], TRIL[1]]),
}


def _kl(lib, family, p_params, q_params):
    ts = [lib.tensor(v, dtype=lib.float64, requires_grad=True) for v in p_params + q_params]
    D = lib.distributions
    build = {"MultivariateNormal": lambda m, L: D.MultivariateNormal(m, scale_tril=L)}.get(family, getattr(D, family))
    p, q = build(*ts[:len(p_params)]), build(*ts[len(p_params):])
    if family == "Normal":  # Independent wraps the same pair
        p, q = D.Independent(p, 1), D.Independent(q, 1)
    kl = lib.distributions.kl_divergence(p, q)
    return [kl.detach().numpy()] + [g.numpy() for g in lib.autograd.grad(kl.sum(), ts)]


@pytest.mark.parametrize("name", sorted(KL_PAIRS))
def test_kl_divergence_and_its_gradients_match_torch(name):
    for a, b in zip(_kl(cr, *KL_PAIRS[name]), _kl(torch, *KL_PAIRS[name]), strict=True):
        np.testing.assert_allclose(a, b, rtol=TRIGAMMA_RTOL.get(name, 1e-10), atol=1e-12)


FAMILY_PARAMS = {
    "Normal": [[0.3, -0.5], [1.2, 0.7]], "Laplace": [[0.3, -0.5], [1.2, 0.7]], "Exponential": [[0.5, 2.0]],
    "Gamma": [[0.7, 3.0], [1.5, 0.4]], "Beta": [[0.7, 3.0], [1.5, 2.5]], "Uniform": [[0.2, 0.1], [0.9, 0.5]],
    "Bernoulli": [[0.3, 0.8]], "Poisson": [[0.5, 3.2]], "Binomial": [[0.3, 0.8]],
    "Gumbel": [[0.3, -0.5], [1.2, 0.7]], "Geometric": [[0.3, 0.8]], "HalfNormal": [[1.2, 0.7]],
    "Pareto": [[0.2, 0.1], [2.5, 3.5]],
}
NEW_FAMILIES = ("Gumbel", "Geometric", "HalfNormal", "Pareto")
CROSS_PAIRS = sorted((p.__name__, q.__name__) for p, q in torch.distributions.kl._KL_REGISTRY
                     if (p is not q or p.__name__ in NEW_FAMILIES)
                     and p.__name__ in FAMILY_PARAMS and q.__name__ in FAMILY_PARAMS)


def _cross_kl(lib, p_name, q_name):
    D = lib.distributions
    build = {"Binomial": lambda probs: D.Binomial(5, probs)}
    ps = [lib.tensor(v, dtype=lib.float64, requires_grad=True) for v in FAMILY_PARAMS[p_name]]
    qs = [lib.tensor(v, dtype=lib.float64, requires_grad=True) for v in FAMILY_PARAMS[q_name]]
    p = build.get(p_name, getattr(D, p_name))(*ps)
    q = build.get(q_name, getattr(D, q_name))(*qs)
    kl = D.kl_divergence(p, q)
    if not np.isfinite(kl.detach().numpy()).all():
        return [kl.detach().numpy()]
    return [kl.detach().numpy()] + [g.numpy() for g in lib.autograd.grad(kl.sum(), ps + qs, allow_unused=True)
                                   if g is not None]


@pytest.mark.parametrize("pair", CROSS_PAIRS, ids="-".join)
def test_kl_across_families_matches_torch(pair):
    """Every pair PyTorch registers between the families here, values and gradients."""
    ours, theirs = _cross_kl(cr, *pair), _cross_kl(torch, *pair)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8 if "Gamma" in pair or "Beta" in pair else 1e-10, atol=1e-12)


@pytest.mark.parametrize("q_family", ["Beta", "Gamma"])
@pytest.mark.parametrize("bounds", [(0.0, 1.0), (0.0, 0.5), (0.3, 1.0), (0.2, 0.7)])
def test_kl_from_a_uniform_reaching_zero_or_one_matches_torch(q_family, bounds):
    """x log x is 0 at x = 0 (PyTorch's xlogy), not 0·(-inf) = nan."""
    def kl_and_grads(lib):
        ts = [lib.tensor([v], dtype=lib.float64, requires_grad=True) for v in (*bounds, 2.0, 3.0)]
        D = lib.distributions
        kl = D.kl_divergence(D.Uniform(ts[0], ts[1]), getattr(D, q_family)(ts[2], ts[3]))
        return [kl.detach().numpy()] + [g.numpy() for g in lib.autograd.grad(kl.sum(), ts)]

    ours, theirs = kl_and_grads(cr), kl_and_grads(torch)
    assert np.isfinite(ours[0]).all()
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _gaussian(D, kind, ts):
    if kind == "mvn":
        return D.MultivariateNormal(ts[0], scale_tril=ts[1])
    return D.LowRankMultivariateNormal(ts[0], ts[2], ts[3])


@pytest.mark.parametrize("kinds", [("lowrank", "lowrank"), ("mvn", "lowrank"), ("lowrank", "mvn")])
def test_kl_between_low_rank_and_full_gaussians_matches_torch(kinds):
    params = [[[0.5, -1.0, 0.2], TRIL[0], [[0.5, 0.1], [-0.3, 0.8], [1.0, 0.2]], [1.2, 0.7, 0.4]],
              [[0.1, 0.3, -0.2], TRIL[1], [[0.2, -0.4], [0.6, 0.1], [0.3, 0.5]], [0.5, 1.1, 0.9]]]
    results = []
    for lib in (cr, torch):
        ts = [[lib.tensor(v, dtype=lib.float64, requires_grad=True) for v in side] for side in params]
        kl = lib.distributions.kl_divergence(_gaussian(lib.distributions, kinds[0], ts[0]),
                                             _gaussian(lib.distributions, kinds[1], ts[1]))
        flat = ts[0] + ts[1]
        results.append([kl.detach().numpy()] + [g.numpy() for g in lib.autograd.grad(kl, flat, allow_unused=True,
                                                                                      materialize_grads=True)])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_kl_infinities_registration_and_missing_pairs():
    for lib in (cr, torch):
        D = lib.distributions
        kl = D.kl_divergence(D.Uniform(lib.tensor([0.0, 0.0]), lib.tensor([1.0, 1.0])),
                             D.Uniform(lib.tensor([0.5, -1.0]), lib.tensor([2.0, 2.0])))
        assert np.isinf(kl.numpy()[0]) and np.isfinite(kl.numpy()[1])
        with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p type StudentT"):
            D.kl_divergence(D.StudentT(lib.tensor(3.0)), D.StudentT(lib.tensor(4.0)))

    class MyNormal(cr.distributions.Normal):
        pass

    @cr.distributions.register_kl(MyNormal, cr.distributions.Normal)
    def _kl_mine(p, q):
        return cr.tensor(42.0)

    D = cr.distributions
    assert D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(0.0, 1.0)).item() == 42.0
    assert D.kl_divergence(D.Normal(0.0, 1.0), MyNormal(0.0, 1.0)).item() == 0.0  # the Normal pair still wins


SHAPES = {
    "Normal": lambda D, lib: D.Normal(lib.zeros(2, 3), lib.ones(3)),
    "LogNormal": lambda D, lib: D.LogNormal(lib.zeros(3), 1.0),
    "Uniform": lambda D, lib: D.Uniform(lib.zeros(3), 2.0),
    "Laplace": lambda D, lib: D.Laplace(lib.zeros(2, 1), lib.ones(3)),
    "Cauchy": lambda D, lib: D.Cauchy(0.0, lib.ones(3)),
    "Exponential": lambda D, lib: D.Exponential(lib.ones(3)),
    "Gamma": lambda D, lib: D.Gamma(lib.ones(3), 2.0),
    "Beta": lambda D, lib: D.Beta(lib.ones(3), 2.0),
    "StudentT": lambda D, lib: D.StudentT(lib.ones(3) * 4),
    "Dirichlet": lambda D, lib: D.Dirichlet(lib.ones(2, 4)),
    "MultivariateNormal": lambda D, lib: D.MultivariateNormal(lib.zeros(2, 3), scale_tril=lib.eye(3)),
    "Categorical": lambda D, lib: D.Categorical(logits=lib.zeros(2, 4)),
    "OneHotCategorical": lambda D, lib: D.OneHotCategorical(logits=lib.zeros(2, 4)),
    "Bernoulli": lambda D, lib: D.Bernoulli(lib.ones(3) * 0.5),
    "Binomial": lambda D, lib: D.Binomial(3, lib.ones(3) * 0.5),
    "Poisson": lambda D, lib: D.Poisson(lib.ones(3)),
    "Independent": lambda D, lib: D.Independent(D.Normal(lib.zeros(2, 3), 1.0), 1),
    "Chi2": lambda D, lib: D.Chi2(lib.ones(3)),
    "LowRankMultivariateNormal": lambda D, lib: D.LowRankMultivariateNormal(lib.zeros(2, 3), lib.ones(3, 1),
                                                                            lib.ones(3)),
    "Weibull": lambda D, lib: D.Weibull(lib.ones(3), 2.0),
    "Pareto": lambda D, lib: D.Pareto(lib.ones(3), 3.0),
    "HalfNormal": lambda D, lib: D.HalfNormal(lib.ones(2, 3)),
    "HalfCauchy": lambda D, lib: D.HalfCauchy(lib.ones(3)),
    "Gumbel": lambda D, lib: D.Gumbel(lib.zeros(3), 1.0),
    "Geometric": lambda D, lib: D.Geometric(lib.ones(3) * 0.3),
    "NegativeBinomial": lambda D, lib: D.NegativeBinomial(lib.ones(3) * 2, lib.ones(3) * 0.3),
    "Multinomial": lambda D, lib: D.Multinomial(5, lib.ones(2, 4) / 4),
    "MixtureSameFamily": lambda D, lib: D.MixtureSameFamily(D.Categorical(logits=lib.zeros(2, 3)),
                                                            D.Independent(D.Normal(lib.zeros(2, 3, 4), 1.0), 1)),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_draw_and_expand_shapes_match_torch(name):
    cr.manual_seed(0)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # chainrule.zeros and ones make float64 arrays
    try:
        ours, theirs = SHAPES[name](cr.distributions, cr), SHAPES[name](torch.distributions, torch)
    finally:
        torch.set_default_dtype(default)
    for s in [(), (4,), (2, 5)]:
        a, b = ours.sample(s), theirs.sample(s)
        assert a.shape == tuple(b.shape) and a.dtype == b.numpy().dtype and not a.requires_grad
        assert bool(np.all(ours.support.check(a).numpy()))
        if ours.has_rsample:
            assert ours.rsample(s).shape == tuple(theirs.rsample(s).shape)
    big = (5,) + tuple(theirs.batch_shape)
    e_ours, e_theirs = ours.expand(big), theirs.expand(big)
    assert e_ours.batch_shape == tuple(e_theirs.batch_shape) and e_ours.event_shape == tuple(e_theirs.event_shape)
    value = theirs.sample()
    np.testing.assert_allclose(e_ours.log_prob(cr.tensor(value.numpy())).numpy(), e_theirs.log_prob(value).numpy(),
                               rtol=1e-6)
    assert ours.has_rsample == theirs.has_rsample
    assert ours.has_enumerate_support == theirs.has_enumerate_support
    if theirs.has_enumerate_support:
        for expand in (True, False):
            np.testing.assert_array_equal(ours.enumerate_support(expand).numpy(),
                                          theirs.enumerate_support(expand).numpy())
    if not theirs.has_rsample:
        with pytest.raises(NotImplementedError, match="has no reparameterised draw"):
            ours.rsample()


def _user_laplace(lib):
    """A distribution as a user writes it for PyTorch: its own __init__ and an expand
    through ``_get_checked_instance``; and a subclass that adds an __init__ but no expand."""
    D = lib.distributions

    class Laplace2(D.Distribution):
        arg_constraints = {"loc": D.constraints.real, "scale": D.constraints.positive}
        support = D.constraints.real

        def __init__(self, loc, scale, validate_args=None):
            self.loc, self.scale = D.utils.broadcast_all(loc, scale)
            super().__init__(self.loc.shape, validate_args=validate_args)

        def expand(self, batch_shape, _instance=None):
            new = self._get_checked_instance(Laplace2, _instance)
            new.loc, new.scale = self.loc.expand(batch_shape), self.scale.expand(batch_shape)
            super(Laplace2, new).__init__(batch_shape, validate_args=False)
            new._validate_args = self._validate_args
            return new

        def log_prob(self, value):
            return -lib.log(2 * self.scale) - (value - self.loc).abs() / self.scale

    class Shifted(Laplace2):
        def __init__(self, scale):
            super().__init__(1.0, scale)

    return Laplace2, Shifted


@pytest.mark.parametrize("lib", [torch, cr], ids=["torch", "chainrule"])
def test_a_distribution_written_for_pytorch_expands_through_get_checked_instance(lib):
    Laplace2, Shifted = _user_laplace(lib)
    d = Laplace2(lib.tensor([0.0, 1.0], dtype=lib.float64), 2.0).expand((3, 2))
    assert tuple(d.batch_shape) == (3, 2) and type(d) is Laplace2
    value = lib.tensor([0.5, -1.0], dtype=lib.float64)
    np.testing.assert_allclose(np.asarray(d.log_prob(value)), np.log(0.25) - np.abs([0.5, 2.0]) / 2 + np.zeros((3, 1)))
    with pytest.raises(NotImplementedError, match="must also define a custom .expand"):
        Shifted(2.0).expand((3,))


@pytest.mark.parametrize("name, args", [
    ("LogNormal", (0.0, 1.0)), ("InverseGamma", (2.0, 1.0)), ("Kumaraswamy", (2.0, 3.0)),
    ("FisherSnedecor", (3.0, 4.0)), ("Gumbel", (0.0, 1.0)), ("Weibull", (1.0, 2.0)), ("Pareto", (1.0, 2.0)),
    ("HalfNormal", (1.0,)), ("HalfCauchy", (1.0,)),
])
@pytest.mark.parametrize("lib", [torch, cr], ids=["torch", "chainrule"])
def test_a_subclass_of_a_family_expands_to_itself_or_asks_for_its_own_expand(lib, name, args):
    """As PyTorch's: a subclass that keeps the family's __init__ expands to an instance of
    itself; one with an __init__ of its own must define expand."""
    family = getattr(lib.distributions, name)
    Plain = type("Plain", (family,), {})
    Fixed = type("Fixed", (family,), {"__init__": lambda self: family.__init__(self, *args)})
    d = Plain(*[lib.tensor(a, dtype=lib.float64) for a in args]).expand((3, 2))
    assert type(d) is Plain and tuple(d.batch_shape) == (3, 2)
    with pytest.raises(NotImplementedError, match="must also define a custom .expand"):
        Fixed().expand((3,))


@pytest.mark.parametrize("build", [
    lambda D, lib: D.Bernoulli(probs=lib.ones(3) * 0.3),
    lambda D, lib: D.Bernoulli(logits=lib.zeros(2, 3)),
    lambda D, lib: D.Binomial(5, probs=lib.ones(3) * 0.3),
    lambda D, lib: D.Binomial(lib.ones(3) * 4, logits=lib.zeros(3)),
    lambda D, lib: D.ContinuousBernoulli(probs=lib.ones(3) * 0.3),
    lambda D, lib: D.NegativeBinomial(2.0, probs=lib.ones(3) * 0.3),
    lambda D, lib: D.NegativeBinomial(lib.ones(3), logits=lib.zeros(3)),
    lambda D, lib: D.Multinomial(5, probs=lib.ones(3, 4) / 4),
    lambda D, lib: D.Categorical(logits=lib.zeros(3, 4)),
    lambda D, lib: D.OneHotCategorical(probs=lib.ones(3, 4) / 4),
])
def test_param_shape_and_its_expansion_match_torch(build):
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        ours, theirs = build(cr.distributions, cr), build(torch.distributions, torch)
    finally:
        torch.set_default_dtype(default)
    assert ours.param_shape == tuple(theirs.param_shape)
    big = (2,) + tuple(theirs.batch_shape)
    assert ours.expand(big).param_shape == tuple(theirs.expand(big).param_shape)


@pytest.mark.parametrize("build", [
    lambda D, lib: D.StudentT(lib.tensor([0.5, 1.5, 3.0], dtype=lib.float32)),
    lambda D, lib: D.Wishart(lib.tensor(3.0, dtype=lib.float32), lib.eye(2, dtype=lib.float32)),
    lambda D, lib: D.Normal(lib.zeros(2, dtype=lib.float32), 1.0),
    lambda D, lib: D.Pareto(1.0, lib.tensor([0.5, 3.0], dtype=lib.float32)),
])
def test_float32_parameters_give_float32_moments_and_entropy_as_torch(build):
    ours, theirs = build(cr.distributions, cr), build(torch.distributions, torch)
    for name in ("mean", "variance", "stddev", "entropy"):
        a, b = getattr(ours, name), getattr(theirs, name)
        a, b = (a(), b()) if callable(a) else (a, b)
        assert b.dtype == torch.float32 and a.dtype == np.float32, name
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5)


def _error(lib, build):
    """The message without the distribution's repr (tensors print differently)."""
    with pytest.raises(ValueError) as info:
        build(lib.distributions, lib)
    message = str(info.value).split("but found")[0]
    message = re.sub(r"torch\.Size\(\[(\d+)\]\)", r"(\1,)", message)
    return re.sub(r" of (the )?distribution [A-Za-z]+\(.*\)( to satisfy|,)", r" of \1distribution ...\2", message)


@pytest.mark.parametrize("build", [
    lambda D, lib: D.Normal(lib.tensor([0.0, 1.0]), lib.tensor([1.0, -1.0])),
    lambda D, lib: D.Gamma(lib.tensor(0.0), lib.tensor(1.0)),
    lambda D, lib: D.Categorical(probs=lib.tensor([0.5, -0.5, 1.0])),
    lambda D, lib: D.MultivariateNormal(lib.zeros(2), scale_tril=lib.tensor([[1.0, 0.5], [0.0, 1.0]])),
    lambda D, lib: D.Normal(0.0, 1.0).log_prob(lib.tensor([1.0, float("nan")])),
    lambda D, lib: D.Exponential(lib.tensor([1.0])).log_prob(lib.tensor([-1.0])),
    lambda D, lib: D.Bernoulli(lib.tensor([0.5])).log_prob(lib.tensor([0.5])),
    lambda D, lib: D.Dirichlet(lib.ones(3)).log_prob(lib.tensor([0.5, 0.6, 0.1])),
    lambda D, lib: D.Normal(lib.zeros(3), 1.0).log_prob(lib.zeros(2)),
    lambda D, lib: D.Uniform(lib.tensor(1.0), lib.tensor(0.0)),
    lambda D, lib: D.Categorical(),
    lambda D, lib: D.Geometric(lib.tensor([0.5, 0.0])),
    lambda D, lib: D.Geometric(0.0),
])
def test_validation_errors_say_what_torchs_say(build):
    assert _error(cr, build) == _error(torch, build)


def test_validation_can_be_switched_off():
    D = cr.distributions
    with np.errstate(invalid="ignore"):
        assert np.isnan(D.Normal(0.0, -1.0, validate_args=False).log_prob(cr.tensor(0.0)).item())
    D.Distribution.set_default_validate_args(False)
    try:
        D.Normal(0.0, -1.0)
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError, match="Expected parameter scale"):
        D.Normal(0.0, -1.0)
    r = repr(D.constraints.positive), repr(D.constraints.simplex), repr(D.Normal(0.0, 1.0).support)
    C = torch.distributions.constraints
    assert r == (repr(C.positive), repr(C.simplex), "Real()")


def _rsample_and_grads(make, params, closed_form):
    ts = [cr.tensor(p, dtype=cr.float64, requires_grad=True) for p in params]
    cr.manual_seed(3)
    r = make(cr.distributions, *ts).rsample((7,))
    grads = cr.autograd.grad(r.sum(), ts)
    for g, want in zip(grads, closed_form(r.detach().numpy(), *[np.array(p) for p in params]), strict=True):
        np.testing.assert_allclose(g.numpy(), want, rtol=1e-12, atol=1e-12)


def LOC_SCALE(r, loc, scale):
    """d(loc + scale·ε)/d(loc, scale) = (1, ε), summed over the 7 draws."""
    return [np.full(2, 7.0), ((r - loc) / scale).sum(0)]


@pytest.mark.parametrize("make,params,closed_form", [
    (lambda D, a, b: D.Normal(a, b), [[0.5, -1.0], [1.5, 0.3]], LOC_SCALE),
    (lambda D, a, b: D.Laplace(a, b), [[0.5, -1.0], [1.5, 0.3]], LOC_SCALE),
    (lambda D, a, b: D.Cauchy(a, b), [[0.5, -1.0], [1.5, 0.3]], LOC_SCALE),
    (lambda D, a, b: D.LogNormal(a, b), [[0.5, -1.0], [1.5, 0.3]],
     lambda r, a, b: [r.sum(0), (r * (np.log(r) - a) / b).sum(0)]),
    (lambda D, lo, hi: D.Uniform(lo, hi), [[0.5, -1.0], [1.5, 0.3]],
     lambda r, lo, hi: [(1 - (r - lo) / (hi - lo)).sum(0), ((r - lo) / (hi - lo)).sum(0)]),
    (lambda D, rate: D.Exponential(rate), [[0.5, 2.0]], lambda r, rate: [(-r / rate).sum(0)]),
    (lambda D, m, L: D.MultivariateNormal(m, scale_tril=L), [[0.5, -1.0, 0.2], TRIL[0]],
     lambda r, m, L: [np.full(3, 7.0), np.ones((3, 1)) * np.linalg.solve(L, (r - m).T).sum(1)[None]]),
])
def test_rsample_gradients_are_the_reparameterisation(make, params, closed_form):
    _rsample_and_grads(make, params, closed_form)


FUNCTIONAL = {
    "normal": lambda D, lib, m: D.Normal(m, lib.exp(m)).log_prob(lib.tensor([0.5, 0.1], dtype=lib.float64)).sum(),
    "gamma": lambda D, lib, m: D.Gamma(m, 2.0).entropy().sum(),
    "categorical": lambda D, lib, m: D.Categorical(logits=m).log_prob(lib.tensor(1)),
    "kl_beta_normal": lambda D, lib, m: D.kl_divergence(D.Beta(m[0], m[1]), D.Normal(m[1], 2.0)),
    "mvn": lambda D, lib, m: D.MultivariateNormal(
        m, scale_tril=lib.tensor([[1.2, 0.0], [0.3, 0.8]], dtype=lib.float64)).log_prob(
        lib.tensor([0.1, 0.2], dtype=lib.float64)),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_log_prob_and_kl_under_grad_jit_and_vmap_give_torchs_gradients(name):
    """Distributions built inside chainrule.grad, jit and vmap (values validated where
    they are concrete) differentiate as torch.autograd does."""
    f = FUNCTIONAL[name]
    rows = np.array([[0.7, 1.3], [1.1, 0.4], [2.0, 0.9]])
    want = []
    for row in rows:
        t = torch.tensor(row, requires_grad=True)
        want.append(torch.autograd.grad(f(torch.distributions, torch, t), t)[0].numpy())
    g = cr.grad(lambda m: f(cr.distributions, cr, m))
    rtol = 1e-8 if name in ("gamma", "kl_beta_normal") else 1e-10  # torch's trigamma, see TRIGAMMA_RTOL
    np.testing.assert_allclose(cr.jit(g)(rows[0]), want[0], rtol=rtol)
    np.testing.assert_allclose(cr.vmap(g)(rows), np.array(want), rtol=rtol)


@pytest.mark.parametrize("make,values", [
    (lambda D, m: D.Categorical(logits=m), np.array([0, 2, 1, 2])),
    (lambda D, m: D.OneHotCategorical(logits=m), np.eye(3)[[0, 2, 1, 2]]),
])
def test_discrete_log_prob_of_batched_values_under_vmap_is_torch_funcs(make, values):
    """The observed category is batched too (a policy's actions, one per example): it was
    made a NumPy copy, which a batched value cannot become."""
    logits = np.array([[0.7, -1.3, 0.2], [1.1, 0.4, -2.0], [2.0, 0.9, 0.0], [-0.5, 0.5, 1.5]])
    def f(D):
        return lambda m, v: make(D, m).log_prob(v)
    want = torch.func.vmap(torch.func.grad_and_value(f(torch.distributions)))(
        torch.tensor(logits), torch.tensor(values))
    got = cr.vmap(cr.value_and_grad(f(cr.distributions)))(logits, values)
    np.testing.assert_allclose(got[0], want[1].numpy(), rtol=1e-12)
    np.testing.assert_allclose(got[1], want[0].numpy(), rtol=1e-12, atol=1e-15)


def _vae_losses(lib, saved, eps):
    """Four Adam steps of a small VAE written as PyTorch code, with ``lib`` as torch."""
    nn, D = lib.nn, lib.distributions

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.dec = nn.Linear(6, 5), nn.Linear(2, 6)
            self.mu, self.logvar = nn.Linear(5, 2), nn.Linear(5, 2)

        def forward(self, x):
            h = lib.tanh(self.enc(x))
            q = D.Normal(self.mu(h), lib.exp(0.5 * self.logvar(h)))
            z = q.rsample()
            px = D.Independent(D.Bernoulli(logits=self.dec(z)), 1)
            prior = D.Normal(lib.zeros_like(z), lib.ones_like(z))
            kl = D.kl_divergence(D.Independent(q, 1), D.Independent(prior, 1))
            return (kl - px.log_prob(x)).mean()

    model = VAE().double()
    if saved:
        model.load_state_dict(saved)
    else:
        saved.update({k: v.detach().numpy().copy() for k, v in model.state_dict().items()})
    opt = lib.optim.Adam(model.parameters(), lr=0.05)
    x = lib.tensor(eps["data"])
    losses = []
    for _ in range(4):
        opt.zero_grad()
        loss = model(x)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_gamma_rsample_gradient_is_the_implicit_reparameterisation():
    """dx/dα = -(∂P/∂α)(α, x) / p(x; α) at each draw, against mpmath's incomplete gamma."""
    mpmath = pytest.importorskip("mpmath")
    a = cr.tensor([0.3, 2.5, 40.0], dtype=cr.float64, requires_grad=True)
    rate = cr.tensor([1.0, 2.0, 0.5], dtype=cr.float64, requires_grad=True)
    cr.manual_seed(1)
    x = cr.distributions.Gamma(a, rate).rsample((2,))
    ga, grate = cr.autograd.grad(x.sum(), [a, rate])
    want = np.zeros(3)
    for (_, j), xij in np.ndenumerate(x.detach().numpy()):
        A, X = float(a.detach().numpy()[j]), float(xij * rate.detach().numpy()[j])
        dP = mpmath.diff(lambda s, X=X: mpmath.gammainc(s, 0, X, regularized=True), A)
        want[j] += float(-dP / (X ** (A - 1) * mpmath.exp(-X) / mpmath.gamma(A))) / rate.detach().numpy()[j]
    np.testing.assert_allclose(ga.numpy(), want, rtol=1e-11)
    np.testing.assert_allclose(grate.numpy(), -(x.detach().numpy() / rate.detach().numpy()).sum(0), rtol=1e-12)


@pytest.mark.parametrize("make,d_mean", [
    (lambda D, a, b: D.Beta(a, b), lambda a, b: [b / (a + b) ** 2, -a / (a + b) ** 2]),
    (lambda D, a, b: D.Dirichlet(cr.stack([a, b])), lambda a, b: [b / (a + b) ** 2, -a / (a + b) ** 2]),
    (lambda D, a, b: D.Gamma(a, b), lambda a, b: [1 / b, -a / b ** 2]),
])
def test_rsample_through_gamma_draws_is_an_unbiased_gradient(make, d_mean):
    """The mean of 20000 reparameterised draws differentiates to d(mean)/d(parameters)."""
    a, b = (cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in (2.0, 3.0))
    cr.manual_seed(5)
    x = make(cr.distributions, a, b).rsample((20000,))
    grads = cr.autograd.grad(x.reshape(20000, -1)[:, 0].mean(), [a, b])
    np.testing.assert_allclose([g.item() for g in grads], d_mean(2.0, 3.0), atol=0.01)


def test_a_vae_training_loop_written_for_pytorch_agrees(monkeypatch):
    """The same weights and the same noise ε (injected into both libraries' standard-normal
    draws) give the same losses along four training steps."""
    rng = np.random.default_rng(0)
    data = {"data": (rng.random((8, 6)) > 0.5).astype(np.float64)}
    eps = rng.standard_normal((4, 8, 2))
    torch_noise, cr_noise = iter(eps), iter(eps)
    monkeypatch.setattr(torch.distributions.normal, "_standard_normal",
                        lambda shape, dtype, device: torch.tensor(next(torch_noise), dtype=dtype))
    monkeypatch.setattr(cr.distributions.continuous, "noise",
                        lambda kind, shape, dtype, *a, like=(): cr.tensor(next(cr_noise), dtype=dtype))
    saved = {}
    theirs = _vae_losses(torch, saved, data)
    ours = _vae_losses(cr, saved, data)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def _torch_dirichlet_backward(x, concentration, g):
    """torch.distributions' Dirichlet backward (torch.distributions.dirichlet._Dirichlet) at
    the draws ``x``: the same formula, fed chainrule's draws."""
    x, c, g = (torch.tensor(v, dtype=torch.float64) for v in (x, concentration, g))
    total = c.sum(-1, True).expand_as(c)
    d = torch._dirichlet_grad(x, c.expand_as(x), total.expand_as(x))
    return (d * (g - (x * g).sum(-1, True))).numpy()


@pytest.mark.parametrize("concentration", [[0.4, 2.5], [3.0, 1.2, 0.7, 8.0], [60.0, 0.2, 5.0]])
def test_dirichlet_and_beta_rsample_differentiate_as_torchs(concentration):
    """PyTorch moves each entry as a draw of its Beta(α_j, α₀ − α_j) marginal at a fixed
    quantile (the others in proportion); the gradient of a draw is a function of the draw,
    which torch's own backward formula, fed the same draws, gives to its approximation
    (about 1e-3); the marginal's is the derivative of SciPy's inverse CDF."""
    scipy_special = pytest.importorskip("scipy.special")
    c = cr.tensor(concentration, dtype=cr.float64, requires_grad=True)
    cr.manual_seed(3)
    x = cr.distributions.Dirichlet(c).rsample((3,))
    g = np.random.default_rng(0).normal(size=tuple(x.shape))
    (ours,) = cr.autograd.grad((x * cr.tensor(g)).sum(), [c], retain_graph=True)
    xs = x.detach().numpy()
    want = _torch_dirichlet_backward(xs, np.asarray(concentration), g).sum(0)
    np.testing.assert_allclose(ours.numpy(), want, rtol=5e-3, atol=1e-6)
    a, b = concentration[0], sum(concentration) - concentration[0]  # x_0's marginal, in α_0
    u, h = scipy_special.betainc(a, b, xs[:, 0]), 1e-6 * a
    fd = (scipy_special.betaincinv(a + h, b, u) - scipy_special.betaincinv(a - h, b, u)) / (2 * h)
    (d0,) = cr.autograd.grad(x[:, 0].sum(), [c])
    np.testing.assert_allclose(d0.numpy()[0], fd.sum(), rtol=1e-6)
    if len(concentration) == 2:  # Beta(c1, c0) is the first entry of Dirichlet((c1, c0))
        c1, c0 = (cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in concentration)
        cr.manual_seed(3)
        y = cr.distributions.Beta(c1, c0).rsample((3,))
        np.testing.assert_array_equal(y.detach().numpy(), xs[:, 0])
        grads = cr.autograd.grad((y * cr.tensor(g[:, 0])).sum(), [c1, c0])
        np.testing.assert_allclose([v.item() for v in grads], _torch_dirichlet_backward(
            xs, np.asarray(concentration), np.stack([g[:, 0], 0 * g[:, 0]], -1)).sum(0), rtol=5e-3)


def test_scalar_draws_moments_at_edges_and_the_constraints_as_torchs():
    D = cr.distributions
    for d in (D.Poisson(cr.tensor(2.5)), D.Geometric(cr.tensor(0.3)), D.Binomial(5, cr.tensor(0.3)),
              D.NegativeBinomial(cr.tensor(2.0), cr.tensor(0.3))):
        assert d.sample().shape == () and d.sample((2,)).shape == (2,)  # one draw raised AttributeError
    # the derivative of log sigmoid(x) at x = -30 is sigmoid(-30) to the last digit, as torch's
    x = cr.tensor([-30.0, -27.6], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(D.Bernoulli(logits=x).log_prob(cr.tensor([0.0, 0.0])).sum(), [x])
    np.testing.assert_allclose(g.numpy(), -1 / (1 + np.exp([30.0, 27.6])), rtol=1e-13)
    # a Pareto's mean is infinite for alpha <= 1: no nan in the gradient of the finite ones
    alpha = cr.tensor([0.5, 3.0], dtype=cr.float64, requires_grad=True)
    mean = D.Pareto(cr.tensor(2.0, dtype=cr.float64), alpha).mean
    (g,) = cr.autograd.grad(mean[1], [alpha])
    np.testing.assert_allclose(g.numpy(), [0.0, -2.0 / 4.0])
    assert np.isinf(mean[0].item())
    for name in torch.distributions.constraints.__all__:
        assert hasattr(cr.distributions.constraints, name), name
    for lib in (cr, torch):
        C = lib.distributions.constraints
        m = lib.distributions.MixtureSameFamily(lib.distributions.Categorical(logits=lib.zeros(2)),
                                               lib.distributions.Gamma(lib.ones(3, 2), lib.ones(3, 2)))
        assert type(m.support).__name__ == "MixtureSameFamilyConstraint"
        assert m.support.check(lib.tensor([1.0, -1.0, 2.0])).tolist() == [True, False, True]
        assert repr(lib.distributions.Multinomial(4, probs=lib.ones(3)).support) == "Multinomial()"
        v = lib.tensor([[[1.0, 0.0], [2.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]], [[1.0, 2.0], [3.0, 1.0]]])
        assert C.symmetric.check(v).tolist() == [False, True, False]
        assert C.lower_triangular.check(v).tolist() == [True, False, False]
        assert C.cat([C.positive, C.real], 0, [1, 1]).check(lib.tensor([-1.0, -1.0])).tolist() == [False, True]
        assert C.stack([C.positive, C.real], 0).check(lib.tensor([-1.0, -1.0])).tolist() == [False, True]


def test_exponential_families_are_torchs():
    """The same families derive from ExponentialFamily as in torch; its entropy (the Bregman
    form, by autograd) and the generic KL give torch's numbers."""
    D, TD = cr.distributions, torch.distributions
    members = {"ExponentialFamily"} | {c.__name__ for c in _subclasses(TD.ExponentialFamily)}
    for name in sorted(TD.__all__):
        if isinstance(getattr(TD, name), type) and issubclass(getattr(TD, name), TD.Distribution):
            assert issubclass(getattr(D, name), D.ExponentialFamily) == (name in members), name
    for name, params in [("Normal", [[0.3, -1.0], [1.5, 0.4]]), ("Gamma", [[2.5, 0.3], [1.5, 2.0]]),
                         ("Bernoulli", [[0.3, 0.9]]), ("ContinuousBernoulli", [[0.2, 0.4995, 0.9]])]:
        got = D.ExponentialFamily.entropy(getattr(D, name)(*[cr.tensor(p, dtype=cr.float64) for p in params]))
        want = TD.ExponentialFamily.entropy(getattr(TD, name)(*[torch.tensor(p, dtype=torch.float64)
                                                                for p in params]))
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12, err_msg=name)
    for lib in (cr, torch):
        w = lib.distributions.Wishart(lib.tensor(4.0, dtype=lib.float64), covariance_matrix=lib.eye(3,
                                                                                                      dtype=lib.float64))
        with pytest.raises(NotImplementedError, match="different exponential families"):
            lib.distributions.kl_divergence(w, lib.distributions.Normal(lib.tensor(0.0), lib.tensor(1.0)))


def _subclasses(cls):
    for c in cls.__subclasses__():
        yield c
        yield from _subclasses(c)


def _wishart_kl(lib):
    ts = [lib.tensor(v, dtype=lib.float64, requires_grad=True) for v in ([4.5, 6.0], TRIL, 5.0, COV)]
    D = lib.distributions
    kl = D.kl_divergence(D.Wishart(ts[0], scale_tril=ts[1]), D.Wishart(ts[2], covariance_matrix=ts[3]))
    return [kl.detach().numpy()] + [g.numpy() for g in lib.autograd.grad(kl.sum(), ts, materialize_grads=True)]


def test_kl_between_wisharts_is_torchs_bregman_divergence():
    for a, b in zip(_wishart_kl(cr), _wishart_kl(torch), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_wishart_draws_are_positive_definite_and_average_to_the_mean():
    cr.manual_seed(0)
    df = cr.tensor([4.5, 8.0], dtype=cr.float64, requires_grad=True)
    w = cr.distributions.Wishart(df, scale_tril=cr.tensor(TRIL, dtype=cr.float64))
    x = w.rsample((2000,))
    assert tuple(x.shape) == (2000, 2, 3, 3) and x.dtype == cr.float64
    assert bool(torch.distributions.constraints.positive_definite.check(torch.tensor(x.detach().numpy())).all())
    np.testing.assert_allclose(x.detach().numpy().mean(0), w.mean.detach().numpy(), rtol=0.1, atol=0.3)
    (g,) = cr.autograd.grad(x.sum(), df)  # the draws' gradient in df estimates d(mean)/d(df)
    want = np.asarray(COV_OF_TRIL).sum((-2, -1))
    np.testing.assert_allclose(g.numpy() / 2000, want, rtol=0.15)
    assert tuple(w.sample().shape) == (2, 3, 3) and tuple(w.expand((4, 2)).rsample().shape) == (4, 2, 3, 3)


COV_OF_TRIL = np.einsum("bij,bkj->bik", np.asarray(TRIL), np.asarray(TRIL))


@pytest.mark.parametrize("build", [
    lambda D, lib: D.Wishart(lib.tensor(1.5), covariance_matrix=lib.eye(3)),
    lambda D, lib: D.Wishart(lib.tensor(4.0), covariance_matrix=-lib.eye(3), validate_args=True),
    lambda D, lib: D.Wishart(lib.tensor(4.0), scale_tril=lib.ones(3, 3), validate_args=True),
    lambda D, lib: D.Wishart(lib.tensor(4.0), scale_tril=lib.ones(3)),
    lambda D, lib: D.Wishart(lib.tensor(4.0), validate_args=True).log_prob(-lib.eye(3)),
    lambda D, lib: D.Wishart(lib.tensor(4.0), covariance_matrix=lib.eye(3), validate_args=True).log_prob(-lib.eye(3)),
])
def test_wishart_rejects_what_torchs_rejects(build):
    errors = []
    for lib in (cr, torch):
        with pytest.raises((ValueError, AssertionError)) as e:
            build(lib.distributions, lib)
        errors.append(e.type)
    assert errors[0] is ValueError

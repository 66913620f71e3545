"""chainrule.distributions under the transforms, table-driven over the families and
parameters of ``test_distribution_sweep.SETTINGS`` (and its wrapped families), in float64:

* ``cr.vmap`` and ``chainrule.func.vmap`` over a batch of parameters of log_prob (at a
  batch of values), cdf, icdf, entropy, mean and variance equal the per-example loop;
  ``rsample``/``sample`` under ``cr.vmap`` and ``func.vmap(randomness="different")`` give
  the loop's shapes, each example its own draws, of the example's mean (a moment check
  with a fixed seed), and ``func.vmap``'s default refuses to draw, as torch.func's does;
* ``cr.jit`` of a function that builds the distribution from its arguments gives the
  plain call's log_prob, cdf, entropy and mean over calls with changing values, and its
  reparameterised (or score-function) loss draws what the plain call draws from the same
  state, and new values at each call;
* per-example gradients of log_prob in the parameters, ``vmap(grad)``, are
  ``torch.func.vmap(torch.func.grad)``'s;
* every KL pair of the sweep under ``vmap`` (and its per-example gradients, torch.func's)
  and ``jit``.

Each difference is a line ``family[setting].check: what differs``; those kept on purpose
are in ``KEPT``. ``python tests/test_distribution_transforms_sweep.py`` prints them all."""

# ruff: noqa: B023  (every lambda in a loop here is called at once, by _try)
from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.distributions as cd
import chainrule.func as func
from test_distribution_sweep import _TRIGAMMA, KL_PARAMS, SETTINGS, WRAPPED, _diff, _lib, _t, _try

torch = pytest.importorskip("torch")
td = torch.distributions
pytestmark = pytest.mark.usefixtures("one_torch_thread")

B = 3  # examples in a batch of parameters
QUANTITIES = {  # name: (what it computes of a distribution d and a value v, whether it takes v)
    "log_prob": lambda d, v: d.log_prob(v),
    "cdf": lambda d, v: d.cdf(v),
    "icdf": lambda d, v: d.icdf(v * 0 + 0.3),
    "entropy": lambda d, v: d.entropy(),
    "mean": lambda d, v: d.mean,
    "mode": lambda d, v: d.mode,
    "variance": lambda d, v: d.variance,
}
DRAWS = 2000  # draws per example for the moment check
NOT_MEANS = {"VonMises"}  # (its mean is the circular mean, not the draws' mean)


def _np(x):
    """An array of a Tensor's (or a transform's array's) values."""
    return np.asarray(x.detach().numpy() if hasattr(x, "detach") else x)


def _make(lib, family, ps, fixed, **kw):
    """The distribution of ``family`` with the parameters ``ps`` as they are (a transform's
    values) and the fixed ones made Tensors of ``lib``."""
    _, D = _lib(lib)
    if family in WRAPPED:
        return WRAPPED[family][0](D, ps)
    fx = {k: (v if isinstance(v, int) else _t(lib, v)) for k, v in fixed.items()}
    return _family_class(D, family)(**fx, **ps, **kw)


def _family_class(D, family):
    """``D.family``, or torch's from its module where torch.distributions does not export it
    (ExpRelaxedCategorical, LogitRelaxedBernoulli)."""
    found = getattr(D, family, None)
    return found or next(getattr(m, family) for m in vars(D).values() if hasattr(m, family))


def _rows(family, params, fixed):
    """B parameter settings near ``params``, inside the constraints: moved in the
    unconstrained space of each parameter's constraint (torch's transform_to)."""
    dt = _make("torch", family, {k: _t("torch", v) for k, v in params.items()}, fixed, validate_args=False)
    batch = {}
    for k, v in params.items():
        v = np.asarray(v, dtype=np.float64)
        c = getattr(dt, "arg_constraints", {}).get(k)
        T = _try(lambda: td.transform_to(c)) if c is not None and not td.constraints.is_dependent(c) else None
        steps = [0.1 * i * (-1) ** i for i in range(B)]
        if T is not None and not isinstance(T, type):
            u = T.inv(torch.tensor(v))
            batch[k] = np.stack([T(u + s).numpy() for s in steps])
        elif np.all(v > 0):
            batch[k] = np.stack([v * (1 + abs(s)) for s in steps])
        else:
            batch[k] = np.stack([v + abs(s) for s in steps])
    return batch


def _row(batch, i, lib):
    return {k: _t(lib, v[i]) for k, v in batch.items()}


def _values(family, batch, fixed):
    """A value in the support of each example (torch's draw), stacked."""
    out = []
    for i in range(B):
        torch.manual_seed(i)
        out.append(_make("torch", family, _row(batch, i, "torch"), fixed, validate_args=False).sample().numpy())
    return np.stack(out)


def _stack(outs):
    if any(isinstance(o, type) for o in outs):
        return next(o for o in outs if isinstance(o, type))
    return np.stack([_np(o) for o in outs])


def _vmap_quantities(tag, family, batch, values, fixed, report):
    """vmap of each quantity over the batch of parameters (and values) against the loop."""
    for q, get in QUANTITIES.items():
        def f(ps, v):
            return get(_make("cr", family, ps, fixed), v)

        want = _stack([_try(lambda i=i: f(_row(batch, i, "cr"), cr.tensor(values[i]))) for i in range(B)])
        if isinstance(want, type):
            continue
        for name, vmap in (("vmap", cr.vmap), ("func.vmap", func.vmap)):
            got = _try(lambda: _np(vmap(f)(batch, values)))
            d = _diff(got, want, rtol=1e-10)
            if d:
                report(f"{tag}.{name}({q})", d.replace("torch", "loop"))


def _draws(d, method, n):
    return getattr(d, method)((n,))


def _moments_ok(draws, mean, var):
    """The draws' mean is ``mean`` within 6 standard errors (where the variance is finite)."""
    ok = np.isfinite(mean) & np.isfinite(var)
    if not ok.any():
        return True
    se = np.sqrt(np.where(ok, var, 1.0) / draws.shape[0])
    err = np.abs(np.where(ok, draws.mean(0) - mean, 0.0))
    return bool(np.all(err <= 6 * se + 1e-9 * np.abs(np.where(ok, mean, 0.0))))


def _vmap_draws(tag, family, batch, fixed, report):
    dc = _make("cr", family, _row(batch, 0, "cr"), fixed)
    method = "rsample" if dc.has_rsample else "sample"

    def f(ps):
        return _draws(_make("cr", family, ps, fixed), method, 2)

    cr.manual_seed(0)
    want = _stack([_try(lambda i=i: f(_row(batch, i, "cr"))) for i in range(B)])
    if isinstance(want, type):
        report(f"{tag}.{method}", f"the plain call raises {want.__name__}")
        return
    for name, vmap in (("vmap", cr.vmap), ("func.vmap", lambda g: func.vmap(g, randomness="different"))):
        cr.manual_seed(0)
        got = _try(lambda: _np(vmap(f)(batch)))
        d = _diff(got if isinstance(got, type) else got.shape, want.shape)
        one = {k: np.stack([v[0]] * B) for k, v in batch.items()}
        same = _try(lambda: _np(vmap(lambda ps: _draws(_make("cr", family, ps, fixed), method, 64))(one)))
        if not d and not isinstance(same, type) and all(np.array_equal(same[0], same[i]) for i in range(1, B)):
            d = "examples of the same parameters draw the same values"
        if not d:
            many = _try(lambda: _np(vmap(lambda ps: _draws(_make("cr", family, ps, fixed), method, DRAWS))(batch)))
            mean = _try(lambda: _stack([_make("cr", family, _row(batch, i, "cr"), fixed).mean for i in range(B)]))
            var = _try(lambda: _stack([_make("cr", family, _row(batch, i, "cr"), fixed).variance for i in range(B)]))
            if isinstance(many, type):
                d = f"{DRAWS} draws raise {many.__name__}"
            elif family not in NOT_MEANS and not isinstance(mean, type) and not isinstance(var, type) and not all(
                _moments_ok(many[i], mean[i], var[i]) for i in range(B)
            ):
                d = "the draws' mean is not the example's mean"
        if d:
            report(f"{tag}.{name}({method})", d)
    # torch.func.vmap refuses to draw unless told how (randomness="error")
    ft = lambda ps: getattr(_make("torch", family, ps, fixed, validate_args=False), method)()  # noqa: E731
    want = _try(lambda: torch.func.vmap(ft)({k: torch.tensor(v) for k, v in batch.items()}))
    got = _try(lambda: func.vmap(lambda ps: getattr(_make("cr", family, ps, fixed), method)())(batch))
    if want is RuntimeError:
        d = _diff(got, want)
        if d:
            report(f"{tag}.func.vmap({method}, randomness='error')", d)


def _heard(f):
    """``_try(f)`` and the warnings that ``f()`` issued (which ``_try`` silences)."""
    with warnings.catch_warnings(record=True) as heard, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            out = f()
        except Exception as e:  # noqa: BLE001  (the exception class is the result)
            out = type(e)
    return out, [str(w.message) for w in heard]


def _jit(tag, family, batch, values, fixed, report):
    """jit of log_prob & co. over calls with changing values, and of a loss of draws."""
    dc0 = _make("cr", family, _row(batch, 0, "cr"), fixed)
    defined = [
        q for q, get in QUANTITIES.items()
        if not isinstance(_try(lambda: get(dc0, cr.tensor(values[0]))), type)
    ]

    def f(ps, v):
        d = _make("cr", family, ps, fixed)
        return [QUANTITIES[q](d, v) for q in defined]

    jf = cr.jit(f)
    for i in range(B):
        ps, v = _row(batch, i, "cr"), cr.tensor(values[i])
        want = [_np(o) for o in f(ps, v)]
        got = _try(lambda: [_np(o) for o in jf(ps, v)])
        if isinstance(got, type):
            report(f"{tag}.jit", f"raises {got.__name__}")
            return
        for q, g, w in zip(defined, got, want, strict=True):
            d = _diff(np.asarray(g), np.asarray(w), rtol=1e-12)
            if d:
                report(f"{tag}.jit({q})", d.replace("torch", "plain call") + f" (call {i})")
    if jf.traces > 1:
        report(f"{tag}.jit", f"traced {jf.traces} times for {B} calls with new values of the same shapes")
    method = "rsample" if dc0.has_rsample else "sample"

    def loss(ps):
        d = _make("cr", family, ps, fixed)
        x = getattr(d, method)((2,))
        if method == "sample":  # the score-function loss
            return d.log_prob(x).sum()
        x = x.reshape(-1)
        return (x * x * np.arange(1.0, x.shape[0] + 1)).sum()  # (weighted: one-hot draws have a fixed sum)

    step = cr.jit(cr.value_and_grad(loss))
    plain = cr.value_and_grad(loss)
    seen = []
    for i in range(B):
        ps = _row(batch, i, "cr")
        cr.manual_seed(i)
        want = _try(lambda: plain(ps))
        if isinstance(want, type):
            report(f"{tag}.jit({method} loss)", f"the plain call raises {want.__name__}")
            return
        cr.manual_seed(i)
        (got, heard), (again, heard_again) = _heard(lambda: step(ps)), _heard(lambda: step(ps))
        fell_back = [w for w in heard + heard_again if "runs without jit" in w]
        if isinstance(got, type) or isinstance(again, type):
            report(f"{tag}.jit({method} loss)", f"raises {(got if isinstance(got, type) else again).__name__}")
            return
        d = _diff(np.asarray(_np(got[0])), np.asarray(_np(want[0])), rtol=1e-12)
        for k in want[1]:
            d = d or _diff(np.asarray(_np(got[1][k])), np.asarray(_np(want[1][k])), rtol=1e-12)
        if not d and fell_back:
            d = "runs without jit: " + fell_back[0].split(": ", 2)[-1]
        if not d and np.array_equal(np.asarray(_np(got[0])), np.asarray(_np(again[0]))) and method == "rsample":
            d = "a second call draws the same values"
        seen.append(float(_np(got[0])))
        if d:
            report(f"{tag}.jit({method} loss)", d.replace("torch", "plain call") + f" (call {i})")
            return


def _vmap_grad(tag, family, batch, values, fixed, report):
    """Per-example gradients of log_prob in the parameters: torch.func's."""
    def f(lib):
        L, _ = _lib(lib)

        def lp(ps, v):
            d = _make(lib, family, ps, fixed, **({"validate_args": False} if lib == "torch" else {}))
            return d.log_prob(v).sum()

        return lp

    want = _try(lambda: torch.func.vmap(torch.func.grad(f("torch")))(
        {k: torch.tensor(v) for k, v in batch.items()}, torch.tensor(values)))
    if isinstance(want, type):
        return
    _per_example_grads_agree(lambda: cr.vmap(cr.grad(f("cr")))(batch, values), want, f"{tag}.vmap(grad(log_prob))",
                             "", 1e-9, report)


def _per_example_grads_agree(ours, want: dict, tag: str, prefix: str, rtol: float, report) -> None:
    """Report where chainrule's per-example gradients (``ours()``, a dict) differ from
    torch.func's ``want`` (or raise where they do not)."""
    got = _try(ours)
    if isinstance(got, type):
        report(tag, f"raises {got.__name__}")
        return
    for k in want:
        w = want[k].numpy()
        scale = float(np.abs(w[np.isfinite(w)]).max(initial=1.0))
        d = _diff(np.asarray(_np(got[k])), w, rtol=rtol, atol=1e-12 * scale)
        if d:
            report(f"{tag}[{prefix}{k}]", d)


def _family(family, setting, params, fixed, report, jit=True):
    tag = f"{family}[{setting}]"
    batch = _try(lambda: _rows(family, params, fixed))
    if isinstance(batch, type):
        report(tag, f"no batch of parameters ({batch.__name__})")
        return
    values = _values(family, batch, fixed)
    _vmap_quantities(tag, family, batch, values, fixed, report)
    _vmap_draws(tag, family, batch, fixed, report)
    if jit:
        _jit(tag, family, batch, values, fixed, report)
    _vmap_grad(tag, family, batch, values, fixed, report)


def _kl(report):
    from torch.distributions.kl import _KL_REGISTRY  # noqa: PLC0415  (torch's registry, the oracle)

    for p, q in sorted(_KL_REGISTRY, key=lambda pq: (pq[0].__name__, pq[1].__name__)):
        pn, qn = p.__name__, q.__name__
        if pn not in KL_PARAMS or qn not in KL_PARAMS:
            continue
        tag = f"kl({pn},{qn})"
        (_, pp, pf), (_, qp, qf) = KL_PARAMS[pn], KL_PARAMS[qn]
        pb, qb = _rows(pn, pp, pf), _rows(qn, qp, qf)

        def kl(lib, ps, qs, check=True):
            kw = {} if lib == "cr" else {"validate_args": False}
            _, D = _lib(lib)
            return D.kl_divergence(_make(lib, pn, ps, pf, **kw), _make(lib, qn, qs, qf, **kw))

        want = _stack([_try(lambda i=i: kl("cr", _row(pb, i, "cr"), _row(qb, i, "cr"))) for i in range(B)])
        if isinstance(want, type):
            continue
        for name, vmap in (("vmap", cr.vmap), ("func.vmap", func.vmap)):
            got = _try(lambda: _np(vmap(lambda ps, qs: kl("cr", ps, qs))(pb, qb)))
            d = _diff(got, want, rtol=1e-10)
            if d:
                report(f"{tag}.{name}", d.replace("torch", "loop"))
        jk = cr.jit(lambda ps, qs: kl("cr", ps, qs))
        for i in range(B):
            got = _try(lambda: _np(jk(_row(pb, i, "cr"), _row(qb, i, "cr"))))
            d = _diff(np.asarray(got) if not isinstance(got, type) else got, want[i], rtol=1e-12)
            if d:
                report(f"{tag}.jit", d.replace("torch", "plain call") + f" (call {i})")
                break

        def total(lib):
            return lambda ps, qs: kl(lib, ps, qs).sum()

        tw = _try(lambda: torch.func.vmap(torch.func.grad(total("torch")))(
            {k: torch.tensor(v) for k, v in pb.items()}, {k: torch.tensor(v) for k, v in qb.items()}))
        if isinstance(tw, type):
            continue
        _per_example_grads_agree(lambda: cr.vmap(cr.grad(total("cr")))(pb, qb), tw, f"{tag}.vmap(grad)", "p.",
                                 1e-8, report)


def sweep(families=None, kl=True, every_jit=False) -> dict:
    """{where: what differs} over the table (or the given families); jit is checked at the
    first setting of each family (at each with ``every_jit``: some minutes)."""
    found = {}

    def report(where, what):
        found.setdefault(where, what)

    dtypes = (torch.get_default_dtype(), cr.get_default_dtype())
    try:
        torch.set_default_dtype(torch.float64)
        cr.set_default_dtype(cr.float64)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for name in [*SETTINGS, *WRAPPED] if families is None else families:
                for i, (setting, params, fixed) in enumerate(SETTINGS.get(name) or [("wrapped", WRAPPED[name][1], {})]):
                    _family(name, setting, params, fixed, report, jit=every_jit or i == 0)
            if kl:
                _kl(report)
    finally:
        torch.set_default_dtype(dtypes[0])
        cr.set_default_dtype(dtypes[1])
    return found


# differences kept on purpose: where -> why
KEPT: dict[str, str] = {
    "Bernoulli[edge].vmap(grad(log_prob))[probs]": "torch's loses 5 digits at probs = 1e-12 (through logits and "
                                                   "back); chainrule's is -1/(1 - probs) to the last digit",
    "kl(Beta,Gamma).vmap(grad)[p.concentration1]": _TRIGAMMA,
    "kl(Gamma,Gumbel).vmap(grad)[p.concentration]": _TRIGAMMA,
}


@pytest.mark.parametrize("make,value,good,bad", [
    (lambda D, p, v: D.Normal(0.0, p).log_prob(v), 0.3, [1.0, 2.0], [1.0, -2.0]),  # a parameter
    (lambda D, p, v: D.Uniform(p, 2.0).log_prob(v), 0.3, [0.0, 0.2], [0.0, 0.5]),  # the value outside p's support
    (lambda D, p, v: D.Pareto(p, 2.0).log_prob(v), 1.2, [1.0, 0.2], [1.0, 1.5]),
])
def test_validation_under_vmap_and_jit_raises_as_the_plain_calls_do(make, value, good, bad):
    """Every example is validated under vmap (against a support whose bounds are batched
    too), and a jitted function validates by a guard on the answer: new valid values replay
    without tracing again, invalid ones raise the plain call's ValueError."""
    def f(p, v):
        return make(cd, p, v)

    v = cr.tensor(value)
    np.testing.assert_allclose(cr.vmap(f, in_axes=(0, None))(np.array(good), v), [f(cr.tensor(p), v) for p in good])
    with pytest.raises(ValueError):
        cr.vmap(f, in_axes=(0, None))(np.array(bad), v)
    jf = cr.jit(f)
    for p in good:
        np.testing.assert_allclose(jf(cr.tensor(p), v), f(cr.tensor(p), v))
    assert jf.traces == 1
    with pytest.raises(ValueError):
        jf(cr.tensor(bad[1]), v)


def test_distributions_under_vmap_jit_and_grad_agree_but_for_the_kept_differences():
    found = sweep()
    assert {k: v for k, v in found.items() if k not in KEPT} == {}
    assert [k for k in KEPT if k not in found] == [], "kept differences that are gone: remove them from KEPT"


if __name__ == "__main__":
    import sys
    import time

    t0 = time.perf_counter()
    result = sweep(sys.argv[1:] or None, every_jit=True)
    for k, v in sorted(result.items()):
        print(f"{k}: {v}")
    print(len(result), "differences", f"{time.perf_counter() - t0:.1f} s")

"""chainrule.distributions against torch.distributions, table-driven, in float64: every
family both have, at scalar, broadcast and edge parameters (tiny scales, huge
concentrations, probabilities near 0 and 1, logits), compared in shapes, support, moments,
entropy, log_prob inside the support and on its boundary, cdf/icdf, enumerate_support,
expand, draws' shapes and support, gradients of log_prob/entropy/cdf in the parameters,
validation errors, the transforms, and every KL pair both register. Each difference is a
line ``family[setting].quantity: what differs``; those kept on purpose are in ``KEPT``.

``python tests/test_distribution_sweep.py`` prints every difference of the full table."""

# ruff: noqa: B023  (every lambda in a loop here is called at once, by _try)
from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.distributions as cd

torch = pytest.importorskip("torch")
td = torch.distributions
pytestmark = pytest.mark.usefixtures("one_torch_thread")

TRIL = [[1.2, 0.0, 0.0], [0.3, 0.8, 0.0], [-0.5, 0.2, 1.5]]
COV = [[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 1.5]]
P3 = [[0.2, 0.5, 0.3], [1e-12, 1e-12, 1 - 2e-12]]

# family: [(setting, {parameter: value}, {keyword: value not differentiated})]
SETTINGS = {
    "Normal": [
        ("scalar", {"loc": 0.3, "scale": 1.5}, {}),
        ("broadcast", {"loc": [[0.5], [-1.0]], "scale": [0.3, 2.0, 1e-8]}, {}),
    ],
    "LogNormal": [("scalar", {"loc": 0.3, "scale": 0.5}, {}), ("edge", {"loc": [-1.0, 2.0], "scale": [1e-6, 3.0]}, {})],
    "Laplace": [
        ("scalar", {"loc": 0.3, "scale": 1.5}, {}),
        ("edge", {"loc": [[0.5], [-1.0]], "scale": [1e-8, 2.0]}, {}),
    ],
    "Cauchy": [
        ("scalar", {"loc": 0.3, "scale": 1.5}, {}),
        ("edge", {"loc": [[0.5], [-1.0]], "scale": [1e-8, 2.0]}, {}),
    ],
    "Gumbel": [
        ("scalar", {"loc": 0.3, "scale": 1.5}, {}),
        ("edge", {"loc": [[0.5], [-1.0]], "scale": [1e-3, 2.0]}, {}),
    ],
    "Uniform": [
        ("scalar", {"low": -1.0, "high": 2.0}, {}),
        ("edge", {"low": [[0.0], [-3.0]], "high": [1e-8, 5.0]}, {}),
    ],
    "Exponential": [("scalar", {"rate": 1.5}, {}), ("edge", {"rate": [1e-6, 0.5, 1e6]}, {})],
    "HalfNormal": [("scalar", {"scale": 1.5}, {}), ("edge", {"scale": [1e-6, 0.5, 1e6]}, {})],
    "HalfCauchy": [("scalar", {"scale": 1.5}, {}), ("edge", {"scale": [1e-6, 0.5, 1e6]}, {})],
    "Gamma": [
        ("scalar", {"concentration": 2.5, "rate": 1.5}, {}),
        ("edge", {"concentration": [[1e-3], [1e4]], "rate": [0.5, 3.0]}, {}),
    ],
    "Chi2": [("scalar", {"df": 2.5}, {}), ("edge", {"df": [1e-2, 1.0, 1e4]}, {})],
    "Beta": [
        ("scalar", {"concentration1": 2.5, "concentration0": 1.5}, {}),
        ("edge", {"concentration1": [[0.5], [1e4]], "concentration0": [1.0, 1e-2]}, {}),
    ],
    "StudentT": [
        ("scalar", {"df": 2.5, "loc": 0.3, "scale": 1.5}, {}),
        ("edge", {"df": [[0.8], [1.5], [1e5]], "loc": [0.0, 1.0], "scale": [1e-4, 2.0]}, {}),
    ],
    "Weibull": [
        ("scalar", {"scale": 1.5, "concentration": 0.7}, {}),
        ("edge", {"scale": [[1e-3], [10.0]], "concentration": [0.2, 50.0]}, {}),
    ],
    "Pareto": [
        ("scalar", {"scale": 1.5, "alpha": 2.7}, {}),
        ("edge", {"scale": [[0.3], [10.0]], "alpha": [0.5, 1.5, 50.0]}, {}),
    ],
    "Dirichlet": [
        ("vector", {"concentration": [0.7, 3.0, 1.2]}, {}),
        ("edge", {"concentration": [[1e-2, 1.0, 2.0], [1e4, 1e4, 1.0]]}, {}),
    ],
    "Bernoulli": [
        ("probs", {"probs": 0.3}, {}),
        ("edge", {"probs": [1e-12, 0.5, 1 - 1e-12]}, {}),
        ("logits", {"logits": [-30.0, 0.3, 40.0]}, {}),
    ],
    "Geometric": [
        ("probs", {"probs": 0.3}, {}),
        ("edge", {"probs": [1e-9, 0.5, 1 - 1e-9]}, {}),
        ("logits", {"logits": [-3.0, 0.3, 4.0]}, {}),
    ],
    "Categorical": [("probs", {"probs": P3}, {}), ("logits", {"logits": [[0.2, -30.0, 40.0], [1.0, 2.0, 3.0]]}, {})],
    "OneHotCategoricalStraightThrough": [("probs", {"probs": P3}, {})],
    "OneHotCategorical": [("probs", {"probs": P3}, {}), ("logits", {"logits": [0.2, -3.0, 4.0]}, {})],
    "Binomial": [
        ("scalar", {"probs": 0.3}, {"total_count": 5}),
        ("probs", {"probs": [0.3, 1e-9, 1 - 1e-9]}, {"total_count": 5}),
        ("logits", {"logits": [[-3.0], [0.3]]}, {"total_count": [4.0, 7.0]}),
    ],
    "NegativeBinomial": [
        ("scalar", {"total_count": 2.5, "probs": 0.3}, {}),
        ("probs", {"total_count": [2.5, 0.5], "probs": [0.3, 0.9]}, {}),
        ("logits", {"total_count": [[2.5], [7.0]], "logits": [-3.0, 0.3]}, {}),
    ],
    "Multinomial": [
        ("probs", {"probs": P3}, {"total_count": 4}),
        ("logits", {"logits": [0.2, -3.0, 4.0]}, {"total_count": 3}),
    ],
    "ContinuousBernoulli": [
        ("probs", {"probs": [0.2, 0.4995, 0.5, 0.9]}, {}),
        ("logits", {"logits": [[-3.0], [0.3]]}, {}),
        ("edge", {"probs": [1e-9, 0.501, 1 - 1e-9]}, {}),
    ],
    "FisherSnedecor": [
        ("scalar", {"df1": 2.5, "df2": 5.5}, {}),
        ("edge", {"df1": [[0.5], [3.0]], "df2": [1.5, 3.0, 40.0]}, {}),
    ],
    "GeneralizedPareto": [
        ("scalar", {"loc": 0.3, "scale": 1.5, "concentration": 0.4}, {}),
        ("edge", {"loc": [[0.0], [1.0]], "scale": [2.0, 0.5, 1e-3], "concentration": [0.0, -0.5, 1.5]}, {}),
    ],
    "LKJCholesky": [
        ("scalar", {"concentration": 2.5}, {"dim": 3}),
        ("edge", {"concentration": [[0.1], [1.0], [50.0]]}, {"dim": 2}),
    ],
    "VonMises": [
        ("scalar", {"loc": 0.3, "concentration": 1.5}, {}),
        ("edge", {"loc": [[0.5], [-4.0]], "concentration": [1e-6, 3.0, 3.75, 50.0]}, {}),
    ],
    "Wishart": [
        ("scale_tril", {"df": [4.5, 3.5], "scale_tril": TRIL}, {}),
        ("covariance", {"df": 5.0, "covariance_matrix": COV}, {}),
        ("precision", {"df": [[2.5], [6.0]], "precision_matrix": COV}, {}),
    ],
    "InverseGamma": [
        ("scalar", {"concentration": 2.5, "rate": 1.5}, {}),
        ("edge", {"concentration": [[0.5], [1.5], [30.0]], "rate": [0.5, 3.0]}, {}),
    ],
    "Kumaraswamy": [
        ("scalar", {"concentration1": 2.5, "concentration0": 1.5}, {}),
        ("edge", {"concentration1": [[0.5], [3.0]], "concentration0": [0.7, 2.0, 40.0]}, {}),
    ],
    "LogisticNormal": [
        ("vector", {"loc": [0.5, -1.0], "scale": [1.5, 0.3]}, {}),
        ("batch", {"loc": [[0.5, -1.0, 0.2], [0.0, 2.0, -3.0]], "scale": [1.5, 0.3, 1e-3]}, {}),
    ],
    "Poisson": [("scalar", {"rate": 2.5}, {}), ("edge", {"rate": [1e-8, 0.5, 1e4]}, {})],
    "MultivariateNormal": [
        ("scale_tril", {"loc": [0.5, -1.0, 0.2], "scale_tril": TRIL}, {}),
        ("covariance", {"loc": [[0.5, -1.0, 0.2], [0.0, 0.0, 1.0]], "covariance_matrix": COV}, {}),
        ("precision", {"loc": [0.5, -1.0, 0.2], "precision_matrix": COV}, {}),
    ],
    "LowRankMultivariateNormal": [
        (
            "lowrank",
            {
                "loc": [[0.5, -1.0, 0.2], [0.0, 0.3, 1.0]],
                "cov_factor": [[0.5, 0.1], [-0.3, 0.8], [1.0, 0.2]],
                "cov_diag": [1.2, 0.7, 0.4],
            },
            {},
        )
    ],
    "RelaxedBernoulli": [
        ("probs", {"probs": [0.3, 0.9]}, {"temperature": 0.5}),
        ("logits", {"logits": [-3.0, 0.3]}, {"temperature": 2.0}),
    ],
    "LogitRelaxedBernoulli": [("probs", {"probs": [0.3, 0.9]}, {"temperature": 0.5})],
    "RelaxedOneHotCategorical": [("probs", {"probs": [0.2, 0.5, 0.3]}, {"temperature": 0.7})],
    "ExpRelaxedCategorical": [("logits", {"logits": [0.2, -0.5, 0.3]}, {"temperature": 0.7})],
}
WRAPPED = {  # families built from others: name -> (build(D, params), parameters)
    "Independent": (
        lambda D, p: D.Independent(D.Normal(p["loc"], p["scale"]), 1),
        {"loc": [[0.5, -1.0], [0.2, 0.0]], "scale": [1.5, 0.3]},
    ),
    "MixtureSameFamily": (
        lambda D, p: D.MixtureSameFamily(D.Categorical(logits=p["w"]), D.Normal(p["m"], p["s"])),
        {"w": [0.2, -0.5, 1.0], "m": [-1.0, 0.5, 2.0], "s": [0.7, 1.2, 0.4]},
    ),
    "MixtureSameFamilyIndependent": (
        lambda D, p: D.MixtureSameFamily(D.Categorical(logits=p["w"]), D.Independent(D.Normal(p["m"], p["s"]), 1)),
        {"w": [0.2, -0.5], "m": [[-1.0, 0.5], [2.0, 0.1]], "s": [[0.7, 1.2], [0.4, 0.9]]},
    ),
    "TransformedDistribution": (
        lambda D, p: D.TransformedDistribution(
            D.Normal(p["loc"], p["scale"]),
            [D.transforms.AffineTransform(p["a"], p["b"]), D.transforms.SigmoidTransform()],
        ),
        {"loc": [0.5, -1.0], "scale": [1.5, 0.3], "a": 0.3, "b": 2.0},
    ),
}
PROPERTIES = ["mean", "mode", "variance", "stddev"]
METHODS = ["entropy", "perplexity"]
ATTRS = ["has_rsample", "has_enumerate_support"]


def _lib(lib):
    return (cr, cd) if lib == "cr" else (torch, td)


def _t(lib, x, grad=False):
    L, _ = _lib(lib)
    if isinstance(x, int) and lib == "torch":
        return x
    if isinstance(x, int):
        return x
    return L.tensor(np.asarray(x, dtype=np.float64), dtype=L.float64, requires_grad=grad)


def _np(x):
    if x is None or isinstance(x, type | str | bool | int | float | tuple):
        return x
    return np.asarray(x.detach().numpy())


def _try(f):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return f()
        except Exception as e:  # noqa: BLE001  (the exception class is the result)
            return type(e)


def _diff(got, want, rtol=1e-9, atol=1e-13):
    """'' when ``got`` is ``want`` (values within rtol, NaN = NaN), else what differs."""
    if isinstance(want, type) or isinstance(got, type):
        gn = got.__name__ if isinstance(got, type) else "a value"
        wn = want.__name__ if isinstance(want, type) else "a value"
        if isinstance(want, type) and isinstance(got, type):
            if want is NotImplementedError and got is NotImplementedError:
                return ""
            return "" if issubclass(got, want) or (gn == wn) else f"raises {gn}, torch {wn}"
        return f"{gn}, torch {wn}"
    if isinstance(want, np.ndarray):
        got = np.asarray(got)
        if got.shape != want.shape:
            return f"shape {got.shape}, torch {want.shape}"
        if got.dtype.kind != want.dtype.kind:
            return f"dtype {got.dtype}, torch {want.dtype}"
        a, b = got.astype(float), want.astype(float)
        same = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True) | (a == b)
        if not same.all():
            i = np.flatnonzero(~same.ravel())[0]
            return f"{a.ravel()[i]!r}, torch {b.ravel()[i]!r} at {np.unravel_index(i, a.shape)}"
        return ""
    return "" if got == want else f"{got!r}, torch {want!r}"


def _build(lib, family, params, fixed, grad=True, **kw):
    _, D = _lib(lib)
    ps = {k: _t(lib, v, grad) for k, v in params.items()}
    fx = {k: (v if isinstance(v, int) else _t(lib, v)) for k, v in fixed.items()}
    if family in WRAPPED:
        return WRAPPED[family][0](D, ps), ps
    return getattr(D, family)(**fx, **ps, **kw), ps


def _constraint_name(c):
    return type(c).__name__.lstrip("_") + "".join(
        f"({getattr(c, a)})"
        for a in ("lower_bound", "upper_bound", "reinterpreted_batch_ndims")
        if hasattr(c, a) and not isinstance(getattr(c, a), torch.Tensor | cr.Tensor)
    )


def _points(dist_t, support_name):
    """In-support points (torch's draws) and boundary points of the support."""
    torch.manual_seed(0)
    inside = _try(lambda: dist_t.sample((2,)))
    points = {"inside": inside} if not isinstance(inside, type) else {}
    shape = tuple(dist_t.batch_shape) + tuple(dist_t.event_shape)
    edges = {
        "GreaterThan(0.0)": [0.0],
        "GreaterThanEq(0.0)": [0.0],
        "Interval(0.0)(1.0)": [0.0, 1.0],
        "IntegerGreaterThan(0)": [0.0],
        "Boolean": [0.0, 1.0],
        "Real": [-1e300],
    }
    for i, e in enumerate(edges.get(support_name, [])):
        points[f"edge{i}"] = torch.full(shape, e, dtype=torch.float64)
    return points


def _value_for(lib, v):
    return cr.tensor(v.numpy()) if lib == "cr" else v


def _grads(lib, out, ps):
    L, _ = _lib(lib)
    if not isinstance(out, L.Tensor) or not out.requires_grad:
        return None
    mask = np.isfinite(_np(out))
    if not mask.any():
        return None
    total = (
        (out * L.tensor(mask.astype(np.float64))).sum()
        if lib == "torch"
        else (out * cr.tensor(mask.astype(np.float64))).sum()
    )
    keys = sorted(ps)
    grads = _try(lambda: L.autograd.grad(total, [ps[k] for k in keys], allow_unused=True))
    if isinstance(grads, type):
        return grads
    return {k: (None if g is None else _np(g)) for k, g in zip(keys, grads, strict=True)}


def _compare_grads(report, where, got, want):
    if want is None or isinstance(want, type) or got is None or isinstance(got, type):
        if (want is None) != (got is None) and not isinstance(want, type):
            report(where, f"gradient {got!r}, torch {want!r}")
        return
    for k in want:
        w, g = want[k], got.get(k)
        if w is None or g is None:
            if (w is None) != (g is None) and not (w is not None and not np.any(w)):
                report(f"{where}.grad[{k}]", "missing" if g is None else "unexpected")
            continue
        finite = np.abs(w[np.isfinite(w)]) if np.ndim(w) else np.abs([w])
        d = _diff(g, w, atol=1e-12 * max(1.0, float(finite.max(initial=0.0))))
        if d:
            report(f"{where}.grad[{k}]", d)


def _family(family, setting, params, fixed, report):
    tag = f"{family}[{setting}]"
    build = {lib: _try(lambda lib=lib: _build(lib, family, params, fixed)) for lib in ("cr", "torch")}
    if isinstance(build["torch"], type):
        return
    if isinstance(build["cr"], type):
        report(f"{tag}", f"construction raises {build['cr'].__name__}")
        return
    (dc, pc), (dt, pt) = build["cr"], build["torch"]
    for attr in ("batch_shape", "event_shape"):
        d = _diff(tuple(getattr(dc, attr)), tuple(getattr(dt, attr)))
        if d:
            report(f"{tag}.{attr}", d)
    sup_t = _try(lambda: _constraint_name(dt.support))
    d = _diff(_try(lambda: _constraint_name(dc.support)), sup_t)
    if d:
        report(f"{tag}.support", d)
    for attr in ATTRS:
        d = _diff(getattr(dc, attr, None), getattr(dt, attr, None))
        if d:
            report(f"{tag}.{attr}", d)
    for q in PROPERTIES + METHODS:
        get = (lambda d, q=q: getattr(d, q)) if q in PROPERTIES else (lambda d, q=q: getattr(d, q)())
        oc, ot = _try(lambda: get(dc)), _try(lambda: get(dt))
        d = _diff(_try(lambda: _np(oc)), _try(lambda: _np(ot)))
        if d:
            report(f"{tag}.{q}", d)
        elif q in ("entropy", "mean", "variance"):
            _compare_grads(report, f"{tag}.{q}", _grads("cr", oc, pc), _grads("torch", ot, pt))
    for name, v in _points(dt, sup_t).items():
        for q in ("log_prob", "cdf"):
            oc = _try(lambda q=q: getattr(dc, q)(_value_for("cr", v)))
            ot = _try(lambda q=q: getattr(dt, q)(v))
            if name != "inside":
                dc._validate_args = dt._validate_args = False
                oc = _try(lambda q=q: getattr(dc, q)(_value_for("cr", v)))
                ot = _try(lambda q=q: getattr(dt, q)(v))
                dc._validate_args = dt._validate_args = True
            d = _diff(_try(lambda: _np(oc)), _try(lambda: _np(ot)))
            if d:
                report(f"{tag}.{q}({name})", d)
            else:
                _compare_grads(report, f"{tag}.{q}({name})", _grads("cr", oc, pc), _grads("torch", ot, pt))
    u = torch.full(tuple(dt.batch_shape), 0.3, dtype=torch.float64)
    d = _diff(_try(lambda: _np(dc.icdf(cr.tensor(u.numpy())))), _try(lambda: _np(dt.icdf(u))))
    if d:
        report(f"{tag}.icdf", d)
    for expand in (True, False):
        d = _diff(
            _try(lambda e=expand: _np(dc.enumerate_support(e))), _try(lambda e=expand: _np(dt.enumerate_support(e)))
        )
        if d:
            report(f"{tag}.enumerate_support({expand})", d)
    ec, et = (
        _try(lambda: dc.expand((4,) + tuple(dc.batch_shape))),
        _try(lambda: dt.expand((4,) + tuple(dt.batch_shape))),
    )
    if isinstance(ec, type) or isinstance(et, type):
        d = _diff(ec if isinstance(ec, type) else "ok", et if isinstance(et, type) else "ok")
    else:
        d = _diff(_try(lambda: _np(ec.mean)), _try(lambda: _np(et.mean))) or _diff(
            tuple(ec.batch_shape), tuple(et.batch_shape)
        )
    if d:
        report(f"{tag}.expand", d)
    for method in ("sample", "rsample"):
        for shape in ((), (2,), (2, 3)):
            sc, st = (
                _try(lambda m=method, s=shape: getattr(dc, m)(s)),
                _try(lambda m=method, s=shape: getattr(dt, m)(s)),
            )
            if isinstance(sc, type) or isinstance(st, type):
                d = _diff(sc if isinstance(sc, type) else "a value", st if isinstance(st, type) else "a value")
            else:
                d = _diff(tuple(sc.shape), tuple(st.shape)) or _diff(
                    str(sc.dtype).split(".")[-1], str(st.dtype).split(".")[-1]
                )
                if not d and not np.all(_np(dt.support.check(torch.from_numpy(_np(sc).copy())))):
                    d = "a draw outside the support"
            if d:
                report(f"{tag}.{method}{shape}", d)


def _invalid_params(family, params):
    """A parameter setting outside the constraints (-1 for the first parameter)."""
    p = dict(params)
    k = next(iter(p))
    p[k] = np.negative(np.abs(np.asarray(p[k], dtype=float))) - 1.0
    return p


def _validation(family, setting, params, fixed, report):
    tag = f"{family}[{setting}]"
    bad = _invalid_params(family, params)
    wc = _try(lambda: _build("cr", family, bad, fixed, validate_args=True))
    wt = _try(lambda: _build("torch", family, bad, fixed, validate_args=True))
    d = _diff(wc if isinstance(wc, type) else "ok", wt if isinstance(wt, type) else "ok")
    if d:
        report(f"{tag}.validate(params)", d)
    dc, dt = (
        _try(lambda: _build("cr", family, params, fixed)[0]),
        _try(lambda: _build("torch", family, params, fixed)[0]),
    )
    if isinstance(dt, type) or isinstance(dc, type):
        return
    shape = tuple(dt.batch_shape) + tuple(dt.event_shape)
    v = torch.full(
        shape,
        -0.5 if family not in ("Normal", "Cauchy", "Laplace", "Gumbel", "StudentT") else math.nan,
        dtype=torch.float64,
    )
    d = _diff(_try(lambda: _np(dc.log_prob(cr.tensor(v.numpy())))), _try(lambda: _np(dt.log_prob(v))))
    d = d if d.startswith("raises") or "torch" in d and ("Error" in d) else ""
    if d:
        report(f"{tag}.validate(value)", d)


def _transforms(report):
    cases = {
        "ExpTransform": lambda T: T.ExpTransform(),
        "AffineTransform": lambda T: T.AffineTransform(0.3, -2.0),
        "SigmoidTransform": lambda T: T.SigmoidTransform(),
        "TanhTransform": lambda T: T.TanhTransform(),
        "SoftplusTransform": lambda T: T.SoftplusTransform(),
        "PowerTransform": lambda T: T.PowerTransform(2.5),
        "ComposeTransform": lambda T: T.ComposeTransform([T.AffineTransform(0.3, 2.0), T.ExpTransform()]),
        "AbsTransform": lambda T: T.AbsTransform(),
        "StickBreakingTransform": lambda T: T.StickBreakingTransform(),
        "SoftmaxTransform": lambda T: T.SoftmaxTransform(),
        "LowerCholeskyTransform": lambda T: T.LowerCholeskyTransform(),
        "IndependentTransform": lambda T: T.IndependentTransform(T.ExpTransform(), 1),
        "ReshapeTransform": lambda T: T.ReshapeTransform((6,), (2, 3)),
        "CatTransform": lambda T: T.CatTransform([T.ExpTransform(), T.AffineTransform(1.0, 2.0)], 0, [1, 1]),
        "StackTransform": lambda T: T.StackTransform([T.ExpTransform(), T.AffineTransform(1.0, 2.0)], 0),
        "CorrCholeskyTransform": lambda T: T.CorrCholeskyTransform(),
        "PositiveDefiniteTransform": lambda T: T.PositiveDefiniteTransform(),
        "CumulativeDistributionTransform": lambda T: T.CumulativeDistributionTransform(
            (cd if T is cd.transforms else td).Normal(0.0, 1.0)
        ),
    }
    x = np.linspace(-0.9, 0.8, 6).reshape(2, 3) + 0.05
    inputs = {
        "LowerCholeskyTransform": np.array([[0.5, 0.2], [-0.3, 0.4]]),
        "ReshapeTransform": x.reshape(6),
        "CorrCholeskyTransform": x,
        "PositiveDefiniteTransform": np.array([[0.5, 0.0], [-0.3, 0.4]]),
        "CatTransform": x[:2, :],
        "StackTransform": x[:2, :],
    }
    for name in sorted(
        {n for n in dir(td.transforms) if n.endswith("Transform") and n[0] != "_" and n != "Transform"} | set(cases)
    ):
        if name not in cases:
            report(f"{name}", "not in the sweep's table")
            continue
        if not hasattr(cd.transforms, name):
            report(f"{name}", "missing")
            continue
        tc, tt = cases[name](cd.transforms), cases[name](td.transforms)
        xin = inputs.get(name, x)
        xc, xt = cr.tensor(xin, requires_grad=True), torch.tensor(xin, requires_grad=True)
        yc, yt = _try(lambda: tc(xc)), _try(lambda: tt(xt))
        for q, oc, ot in [
            ("forward", yc, yt),
            ("inverse", _try(lambda: tc.inv(yc.detach())), _try(lambda: tt.inv(yt.detach()))),
            (
                "log_abs_det_jacobian",
                _try(lambda: tc.log_abs_det_jacobian(xc, yc)),
                _try(lambda: tt.log_abs_det_jacobian(xt, yt)),
            ),
        ]:
            d = _diff(_try(lambda oc=oc: _np(oc)), _try(lambda ot=ot: _np(ot)))
            if d:
                report(f"{name}.{q}", d)
            elif q != "inverse":
                _compare_grads(report, f"{name}.{q}", _grads("cr", oc, {"x": xc}), _grads("torch", ot, {"x": xt}))
        for attr in ("domain.event_dim", "codomain.event_dim", "sign", "bijective", "inv.inv"):

            def get(t, attr=attr):
                v = t
                for a in attr.split("."):
                    v = getattr(v, a)
                return v if attr != "inv.inv" else type(v).__name__

            d = _diff(_try(lambda: get(tc)), _try(lambda: get(tt)))
            if d:
                report(f"{name}.{attr}", d)


def _constraints(report):
    for n in sorted(td.constraints.__all__):
        if not hasattr(cd.constraints, n):
            report(f"constraints.{n}", "missing")
    x = np.linspace(-0.9, 0.8, 6).reshape(2, 3) + 0.05
    square = np.array([[0.5, 0.2], [-0.3, 0.4]])
    cases = {  # constraint: (build(C), unconstrained input)
        "real": (lambda C: C.real, x),
        "real_vector": (lambda C: C.real_vector, x),
        "positive": (lambda C: C.positive, x),
        "nonnegative": (lambda C: C.nonnegative, x),
        "greater_than": (lambda C: C.greater_than(1.5), x),
        "greater_than_eq": (lambda C: C.greater_than_eq(-2.0), x),
        "less_than": (lambda C: C.less_than(0.5), x),
        "unit_interval": (lambda C: C.unit_interval, x),
        "interval": (lambda C: C.interval(-1.0, 3.0), x),
        "half_open_interval": (lambda C: C.half_open_interval(-1.0, 3.0), x),
        "simplex": (lambda C: C.simplex, x),
        "lower_cholesky": (lambda C: C.lower_cholesky, square),
        "positive_definite": (lambda C: C.positive_definite, square),
        "positive_semidefinite": (lambda C: C.positive_semidefinite, square),
        "corr_cholesky": (lambda C: C.corr_cholesky, x[0]),
        "cat": (lambda C: C.cat([C.positive, C.interval(0.0, 2.0)], 0, [1, 1]), x),
        "stack": (lambda C: C.stack([C.positive, C.real], 0), x),
        "independent_positive": (lambda C: C.independent(C.positive, 1), x),
    }
    for name, (build, xin) in cases.items():
        for reg in ("biject_to", "transform_to"):
            tag = f"{reg}({name})"
            tc = _try(lambda build=build, reg=reg: getattr(cd, reg)(build(cd.constraints)))
            tt = _try(lambda build=build, reg=reg: getattr(td, reg)(build(td.constraints)))
            if isinstance(tc, type) or isinstance(tt, type):
                d = _diff(tc if isinstance(tc, type) else "a transform", tt if isinstance(tt, type) else "a transform")
                if d:
                    report(tag, d)
                continue
            d = _diff(type(tc).__name__, type(tt).__name__)
            yc, yt = (
                _try(lambda tc=tc, xin=xin: _np(tc(cr.tensor(xin)))),
                _try(lambda tt=tt, xin=xin: _np(tt(torch.tensor(xin)))),
            )
            d = d or _diff(yc, yt)
            if not d and not isinstance(yt, type):
                c = build(td.constraints)
                ok = _try(lambda c=c, yc=yc: bool(np.all(_np(c.check(torch.tensor(yc))))))
                okc = _try(lambda yc=yc, build=build: bool(np.all(_np(build(cd.constraints).check(cr.tensor(yc))))))
                d = _diff(okc, ok)
            if d:
                report(tag, d)


KL_PARAMS = {name: settings[0] for name, settings in SETTINGS.items()}


def _kl(report):
    from torch.distributions.kl import _KL_REGISTRY  # noqa: PLC0415  (torch's registry, the oracle)

    for p, q in sorted(_KL_REGISTRY, key=lambda pq: (pq[0].__name__, pq[1].__name__)):
        pn, qn = p.__name__, q.__name__
        tag = f"kl({pn},{qn})"
        if pn not in KL_PARAMS or qn not in KL_PARAMS:
            if not (hasattr(cd, pn) and hasattr(cd, qn)):
                report(tag, "a family missing")
            continue
        out = {}
        for lib in ("cr", "torch"):
            bp = _try(lambda lib=lib: _build(lib, pn, KL_PARAMS[pn][1], KL_PARAMS[pn][2]))
            bq = _try(lambda lib=lib: _build(lib, qn, KL_PARAMS[qn][1], KL_PARAMS[qn][2]))
            if isinstance(bp, type) or isinstance(bq, type):
                out[lib] = (bp if isinstance(bp, type) else bq, None)
                continue
            _, D = _lib(lib)
            k = _try(lambda D=D, bp=bp, bq=bq: D.kl_divergence(bp[0], bq[0]))
            out[lib] = (k, {**{f"p.{a}": b for a, b in bp[1].items()}, **{f"q.{a}": b for a, b in bq[1].items()}})
        d = _diff(_try(lambda: _np(out["cr"][0])), _try(lambda: _np(out["torch"][0])))
        if d:
            report(tag, d)
        elif out["torch"][1] is not None:
            _compare_grads(
                report, tag, _grads("cr", out["cr"][0], out["cr"][1]), _grads("torch", out["torch"][0], out["torch"][1])
            )


def _families_present(report):
    both = []
    for name in sorted(
        n for n in dir(td) if inspect.isclass(getattr(td, n)) and issubclass(getattr(td, n), td.Distribution)
    ):
        if name in ("Distribution", "ExponentialFamily"):
            continue
        if not hasattr(cd, name):
            report(name, "missing")
        elif name not in SETTINGS and name not in WRAPPED:
            report(name, "not in the sweep's table")
        else:
            both.append(name)
    return both


def sweep(families=None, parts=("families", "validation", "transforms", "constraints", "kl")) -> dict:
    """{where: what differs} over the table (or the given families and parts)."""
    found = {}

    def report(where, what):
        found.setdefault(where, what)

    default, dtypes = td.Distribution._validate_args, (torch.get_default_dtype(), cr.get_default_dtype())
    try:
        torch.set_default_dtype(torch.float64)
        cr.set_default_dtype(cr.float64)
        td.Distribution.set_default_validate_args(True)
        cd.Distribution.set_default_validate_args(True)
        names = _families_present(report) if families is None else families
        if "families" in parts:
            for name in names:
                for setting, params, fixed in SETTINGS.get(name) or [("wrapped", WRAPPED[name][1], {})]:
                    _family(name, setting, params, fixed, report)
                    if "validation" in parts and name in SETTINGS:
                        _validation(name, setting, params, fixed, report)
        if "transforms" in parts:
            _transforms(report)
        if "constraints" in parts:
            _constraints(report)
        if "kl" in parts:
            _kl(report)
    finally:
        torch.set_default_dtype(dtypes[0])
        cr.set_default_dtype(dtypes[1])
        td.Distribution.set_default_validate_args(default)
        cd.Distribution.set_default_validate_args(default)
    return found


# differences kept on purpose: where -> why
_NOT_YET = "not in chainrule yet"
_TRIGAMMA = "torch's float64 trigamma is accurate to ~1e-9 relative only (SciPy's, which chainrule uses, to 1e-15)"
KEPT: dict[str, str] = {
    **{
        k: _TRIGAMMA
        for k in (
            "Beta[scalar].entropy.grad[concentration0]",
            "StudentT[scalar].entropy.grad[df]",
            "kl(Beta,Gamma).grad[p.concentration0]",
            "kl(Beta,Gamma).grad[p.concentration1]",
            "kl(Beta,Normal).grad[p.concentration0]",
            "kl(Beta,Uniform).grad[p.concentration0]",
            "kl(Gamma,Gumbel).grad[p.concentration]",
            "kl(Beta,ContinuousBernoulli).grad[p.concentration0]",
            "Kumaraswamy[scalar].entropy.grad[concentration0]",
        )
    },
    "Pareto[edge].mean.grad[scale]": "torch's is nan (inf·0 where alpha <= 1); chainrule sums the finite terms",
    # The four below were hidden until a second backward() could pass through nodes that
    # save nothing (the sweep's repeated gradient raised first); earlier code gives the same
    # values for a fresh computation.
    "Pareto[edge].variance.grad[scale]": "torch's is nan (inf·0 where the variance is infinite); "
                                         "chainrule sums the finite terms",
    "FisherSnedecor[edge].variance.grad[df1]": "torch's is nan (inf·0 from the masked entries where the "
                                               "variance is undefined); chainrule sums the finite terms",
    "Beta[edge].log_prob(edge1).grad[concentration0]": "at value 1 and concentration0 1, d/dc0 of (c0 - 1) log(1 - x) "
                                                       "is log 0 = -inf; torch's xlogy gives 0 where c0 - 1 = 0",
    "Bernoulli[edge].entropy.grad[probs]": "ill-conditioned: 1 - probs keeps 4 digits at probs = 1 - 1e-12",
    "Geometric[edge].entropy": "torch's loses 8 digits at probs = 1e-9 (1 - sigmoid cancels); chainrule's is exact",
    "Geometric[edge].perplexity": "torch's loses 8 digits at probs = 1e-9 (1 - sigmoid cancels); chainrule's is exact",
    "InverseGamma[edge].cdf(inside)": "torch's float64 igamma is 1.5e-9 off at concentration 30 (SciPy's agrees)",
    "Gumbel[scalar].cdf(edge0)": "torch's Gumbel validates the base Uniform's value even with validate_args=False",
    "Gumbel[edge].cdf(edge0)": "torch's Gumbel validates the base Uniform's value even with validate_args=False",
}


@pytest.mark.parametrize("diag", [-2, -1, 0, 1])
def test_tril_vector_helpers_as_torchs(diag):
    m = np.arange(32.0).reshape(2, 4, 4)
    vec = td.utils.tril_matrix_to_vec(torch.tensor(m), diag)
    np.testing.assert_array_equal(cd.utils.tril_matrix_to_vec(cr.tensor(m), diag).numpy(), vec.numpy())
    if diag <= 0:
        want = td.utils.vec_to_tril_matrix(vec, diag).numpy()
        np.testing.assert_array_equal(cd.utils.vec_to_tril_matrix(cr.tensor(vec.numpy()), diag).numpy(), want)


def test_chainrule_agrees_with_torch_but_for_the_kept_differences():
    found = sweep()
    assert {k: v for k, v in found.items() if k not in KEPT} == {}
    assert [k for k in KEPT if k not in found] == [], "kept differences that are gone: remove them from KEPT"


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    result = sweep()
    for k, v in sorted(result.items()):
        print(f"{k}: {v}")
    print(len(result), "differences")

"""Derivatives at the ends of the support and in the tails where a function or an
intermediate under- or overflows: the first and second derivatives in ``x`` against
mpmath's closed forms, or SciPy's central differences, in both modes. A branch not taken,
or an infinite intermediate, must not turn a finite derivative into nan (0 * inf)."""

import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st

import chainrule as cr
from chainrule.scipy.stats import beta, chi2, gamma, gennorm, gumbel_l, gumbel_r


def derivatives(f, x):
    """The first and second derivatives of ``f`` at ``x``, in reverse and in forward mode."""
    fwd = lambda g: lambda v: cr.jvp(g, (v,), (1.0,))[1]  # noqa: E731
    with np.errstate(all="ignore"):
        return {"rev": (cr.grad(f)(x), cr.grad(cr.grad(f))(x)), "fwd": (fwd(f)(x), fwd(fwd(f))(x))}


def _gamma_tails(a, x):
    """(cdf, sf, pdf, pdf') of the standard gamma distribution, in mpmath."""
    pdf = x ** (a - 1) * mp.exp(-x) / mp.gamma(a)
    return (mp.gammainc(a, 0, x, regularized=True), mp.gammainc(a, x, mp.inf, regularized=True),
            pdf, pdf * ((a - 1) / x - 1))


def _beta_tails(a, b, x):
    pdf = x ** (a - 1) * (1 - x) ** (b - 1) / mp.beta(a, b)
    return (mp.betainc(a, b, 0, x, regularized=True), mp.betainc(a, b, x, 1, regularized=True),
            pdf, pdf * ((a - 1) / x - (b - 1) / (1 - x)))


REFERENCES = {"gamma": (gamma, _gamma_tails), "beta": (beta, _beta_tails),
              "chi2": (chi2, lambda df, x: (lambda c, s, p, dp: (c, s, p / 2, dp / 4))(
                  *_gamma_tails(df / 2, x / 2)))}
NEAR_THE_LOWER_END = [(name, shapes) for name, cases in [
    ("gamma", [(0.5,), (1.0,), (2.5,)]), ("chi2", [(1.0,), (2.0,)]),
    ("beta", [(0.5, 0.5), (0.5, 2.5), (1.0, 2.5), (2.5, 0.5)])] for shapes in cases]


@pytest.mark.parametrize("fn", ["cdf", "sf", "logsf", "logcdf"])
@pytest.mark.parametrize("name, shapes", NEAR_THE_LOWER_END)
def test_near_the_lower_end_against_mpmath(name, shapes, fn):
    """x = 1e-300, 1e-20, 1e-10: the density may be infinite at 0 (a < 1) and its
    derivative overflow at 1e-300 (then the second derivative is that infinity, not nan);
    beta.sf's 1 - x rounds x away below 1e-16."""
    module, tails = REFERENCES[name]
    mp.mp.dps = 40
    for x in (1e-300, 1e-20, 1e-10):
        cdf, sf, pdf, dpdf = tails(*map(mp.mpf, shapes), mp.mpf(x))
        if fn == "logcdf" and cdf < mp.mpf("1e-300"):
            continue  # the cdf underflows: SciPy's log cdf is -inf, as chainrule's
        d1, d2 = {"cdf": (pdf, dpdf), "sf": (-pdf, -dpdf),
                  "logcdf": (pdf / cdf, dpdf / cdf - (pdf / cdf) ** 2),
                  "logsf": (-pdf / sf, -dpdf / sf - (pdf / sf) ** 2)}[fn]
        want = [float(d) if abs(d) < mp.mpf("1e308") else float(mp.sign(d)) * np.inf for d in (d1, d2)]
        f = lambda v: getattr(module, fn)(v, *shapes)  # noqa: E731
        for mode, got in derivatives(f, x).items():
            for order, (g, w) in enumerate(zip(got, want, strict=True), 1):
                assert (g == w if np.isinf(w) else np.isclose(g, w, rtol=1e-7, atol=1e-100)), \
                    (mode, order, x, g, w)


# (loc, scale) = (0.5, 2): z is -750, -1000 for gumbel_r and 800 for gumbel_l, its mirror
FAR_TAILS = [(d, fn, x) for d, fns, xs in (("gumbel_r", ("pdf", "cdf", "sf", "logsf"), (-1499.5, -1999.5)),
                                           ("gumbel_l", ("pdf", "sf", "cdf", "logcdf"), (1600.5,)))
             for fn in fns for x in xs]


@pytest.mark.parametrize("dist, fn, x", FAR_TAILS)
def test_gumbel_far_tails_against_scipys_differences(dist, fn, x):
    """Past z = -709 (gumbel_r) e^-z overflows while the density, cdf, sf and log sf are
    their limits: the derivatives in x, loc and scale are SciPy's differences (0)."""
    ref = getattr(getattr(st, dist), fn)
    ours = getattr({"gumbel_r": gumbel_r, "gumbel_l": gumbel_l}[dist], fn)
    point = np.array([x, 0.5, 2.0])
    for i, arg in enumerate(("x", "loc", "scale")):
        e = np.eye(3)[i] * 1e-3
        with np.errstate(all="ignore"):
            want = ((ref(*(point + e)) - ref(*(point - e))) / 2e-3,
                    (ref(*(point + e)) - 2 * ref(*point) + ref(*(point - e))) / 1e-6)
        assert np.isfinite(want).all()
        f = lambda v, i=i: ours(*point[:i], v, *point[i + 1:])  # noqa: E731
        for mode, got in derivatives(f, point[i]).items():
            np.testing.assert_allclose(got, want, atol=1e-300, err_msg=f"{arg} {mode}")


@pytest.mark.parametrize("fn", ["cdf", "logcdf", "sf", "logsf"])
@pytest.mark.parametrize("shape", [1.0, 1.5, 3.0])
def test_gennorm_near_the_centre_against_scipys_density(shape, fn):
    """Around z = 0 the tails' derivative is inf (gammaincc's at |z|^β, which underflows)
    times 0 or a tiny number; the derivatives are the density and its derivative,
    f'(z) = -β sign(z) |z|^(β-1) f(z), divided as the logarithms ask, from SciPy's values."""
    sign = 1.0 if fn in ("cdf", "logcdf") else -1.0
    for x in (-1e-300, 1e-300, -1e-12, 1e-12, -1e-6, 1e-6, 0.3):
        f, p = st.gennorm.pdf(x, shape), getattr(st.gennorm, fn.replace("log", ""))(x, shape)
        df = -shape * np.sign(x) * abs(x) ** (shape - 1) * f
        want = (sign * f, sign * df) if not fn.startswith("log") else \
            (sign * f / p, sign * df / p - (f / p) ** 2)
        for mode, got in derivatives(lambda v: getattr(gennorm, fn)(v, shape), x).items():
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11, err_msg=f"{mode} {x}")


# (distribution, shapes, the end): the density is finite at the end, its derivatives too
FINITE_AT_THE_END = [("gamma", (1.0,), 0.0), ("gamma", (3.0,), 0.0), ("chi2", (2.0,), 0.0),
                     ("chi2", (6.0,), 0.0), ("beta", (2.0, 3.0), 0.0), ("beta", (2.0, 3.0), 1.0),
                     ("beta", (3.0, 1.0), 1.0), ("beta", (1.0, 1.0), 0.0)]


@pytest.mark.parametrize("name, shapes, end", FINITE_AT_THE_END)
def test_density_at_a_finite_end_against_scipys_one_sided_differences(name, shapes, end):
    """The one-sided first and second derivatives, on the side inside the support (the
    density as exp(logpdf) had 0 * inf there: the log density's derivative is infinite)."""
    module, _ = REFERENCES[name]
    inward, h = (1.0 if end == 0.0 else -1.0), 1e-4
    f0, f1, f2, f3 = (getattr(st, name).pdf(end + inward * k * h, *shapes) for k in range(4))
    want = (inward * (-3 * f0 + 4 * f1 - f2) / (2 * h), (2 * f0 - 5 * f1 + 4 * f2 - f3) / h ** 2)
    for mode, got in derivatives(lambda v: module.pdf(v, *shapes), end).items():
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=mode)


@pytest.mark.parametrize("z", [5.0, 10.0, 10.5, 30.0, 745.0, 800.0, 1e4])
def test_gumbel_log_sf_far_right_against_mpmath(z):
    """log(1 - exp(-e^-z)) and its derivatives, also where the sf underflows (z > 745: its
    log was -inf, the derivatives nan; the value is ≈ -z) and where log(-expm1(-t))'s
    second derivative cancels; gumbel_l.logcdf is its mirror."""
    mp.mp.dps = 40
    t = mp.exp(-mp.mpf(z))
    s, ds, d2s = -mp.expm1(-t), -t * mp.exp(-t), t * mp.exp(-t) * (1 - t)
    want = [float(mp.log(s)), float(ds / s), float(d2s / s - (ds / s) ** 2)]
    for f, x, sign in [(gumbel_r.logsf, z, 1.0), (gumbel_l.logcdf, -z, -1.0)]:
        got = [f(x)] + [sign * d for d in derivatives(f, x)["rev"]]
        got[2] *= sign  # the second derivative does not change sign under the mirror
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-300)
        np.testing.assert_allclose(np.multiply([sign, sign * sign], derivatives(f, x)["fwd"]), want[1:],
                                   rtol=1e-11, atol=1e-300)

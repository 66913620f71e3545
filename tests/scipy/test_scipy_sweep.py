"""chainrule.scipy.special and chainrule.scipy.stats against SciPy, JAX and HIPS
autograd, table-driven (the engine is tests/scipy/scipy_sweep.py): every function,
each argument over ordinary and special values (signed zeros, poles, 1e300, subnormals,
infinities, NaN, the ends of [0, 1]), grids of special values in two arguments, scalars,
0-d, empty and integer arrays, broadcasting shapes. Values and exceptions must agree
with SciPy's, gradients with the oracles', but for the differences kept on purpose,
listed below with their reasons.

The test compares all values, and gradients on ordinary values by central differences;
``python tests/scipy/scipy_sweep.py FILE`` compares every gradient with JAX's as well
(minutes: JAX compiles each operation it meets)."""

import numpy as np
import pytest
import scipy.stats
from tests.finite_differences import central_differences
from tests.scipy import scipy_sweep as sweep

import chainrule as cr
from chainrule.scipy import special, stats

_EXTREMES = ("1e+300", "1e-300", "5e-324")


def _extreme(name, text, why):
    """A difference at an argument of 1e300, 1e-300 or a subnormal (in a grid, or beside
    another such argument)."""
    return any(e in why.split(":")[0] for e in _EXTREMES)


def _infinite_shape(name, text, why):
    return name.startswith(("stats.chi2.", "stats.gamma.", "stats.poisson.", "stats.t.")) and "inf" in why.split(":")[0]


def _scipy_raises(name, text, why):
    return why.startswith("returns, SciPy raises")


def _underflow(name, text, why):
    return (name.startswith(("stats.laplace.", "stats.pareto.", "stats.gumbel_r.logsf", "stats.gumbel_l.logcdf"))
            and "SciPy np.float64(-inf)" in why)


def _gumbel_density_limit(name, text, why):
    return name in ("stats.gumbel_r.pdf", "stats.gumbel_l.pdf") and why.endswith("0.0), SciPy np.float64(nan)")


# Families of differences kept on purpose: name -> (reason, test of a disagreement)
KNOWN_FAMILIES = {
    "extreme arguments": ("at 1e300, 1e-300 and subnormal arguments SciPy's values underflow or cancel (the log "
                          "of an underflowed density, 1 - x^-1e-300), as do some of chainrule's (gammaln "
                          "differences at 1e300); JAX's gradients are nan or 0 there and central differences "
                          "cannot decide (python tests/scipy/scipy_sweep.py FILE lists them)", _extreme),
    "infinite shape parameters": ("SciPy's own convention for an infinite shape parameter or mean (nan density, "
                                  "0 or 1 at x = inf); chainrule's arithmetic gives nan or the limit",
                                  _infinite_shape),
    "SciPy raises": ("SciPy raises on invalid values (OverflowError of Boost's error policy, ValueError of "
                     "dirichlet's checks); chainrule returns nan or -inf, as JAX, so that traced values need "
                     "no checks", _scipy_raises),
    "Gumbel density at an infinite z": ("the limit 0 of gumbel_r's density at z = -inf (gumbel_l's at +inf); "
                                        "SciPy's -z - e^-z is inf - inf = nan there", _gumbel_density_limit),
    "SciPy underflows": ("SciPy's log density (gumbel_r's log sf) is the logarithm of a density (an sf) that "
                         "underflowed (-inf at x = 1e3); chainrule's is the accurate one", _underflow),
}

_SCALAR = "a NumPy scalar for one draw, as every distribution function of chainrule; SciPy's multinomial a 0-d array"
# (name, pattern) -> why chainrule's answer differs on purpose
KNOWN = {
    ("stats.multinomial.logpmf", "x, n, p"): _SCALAR, ("stats.multinomial.logpmf", "sum not n"): _SCALAR,
    ("stats.multinomial.logpmf", "p with 0"): _SCALAR,
    ("stats.multivariate_normal.logpdf", "points"): "a point with an infinite coordinate raises ValueError "
                                                    "(chainrule's check of finite arguments); SciPy gives -inf",
    ("stats.multivariate_normal.pdf", "points"): "a point with an infinite coordinate raises ValueError",
}

# (name, pattern): calls that disagreed and agree now
FIXED = [
    ("stats.gennorm.logpdf", "arg 1: int"), ("stats.gennorm.cdf", "arg 1: int"),
    ("stats.gennorm.logsf", "arg 1: int"),
    ("stats.cauchy.logpdf", "arg 0: VALUES"), ("stats.cauchy.cdf", "arg 0: VALUES"),
    ("stats.cauchy.logcdf", "arg 0: VALUES"), ("stats.cauchy.sf", "arg 0: VALUES"),
    ("stats.cauchy.logsf", "arg 0: VALUES"), ("stats.cauchy.ppf", "arg 0: VALUES"),
    ("stats.cauchy.isf", "arg 0: VALUES"), ("stats.gumbel_l.ppf", "arg 0: VALUES"),
    ("stats.expon.logcdf", "arg 0: VALUES"), ("stats.gamma.logcdf", "arg 0: VALUES"),
    ("stats.chi2.logcdf", "arg 0: VALUES"), ("stats.chi2.logsf", "arg 1: VALUES"),
    ("stats.beta.logcdf", "arg 2: VALUES"), ("stats.beta.logsf", "arg 1: VALUES"),
    ("stats.truncnorm.logpdf", "arg 4: VALUES"), ("stats.truncnorm.cdf", "arg 4: VALUES"),
    ("stats.truncnorm.logsf", "arg 4: int"),
]

# names with disagreements not yet worked off (python tests/scipy/scipy_sweep.py FILE lists them)
UNFIXED = {"stats.poisson.entropy"}


def _known(row) -> bool:
    return tuple(row[:2]) in KNOWN or any(test(*row) for _, test in KNOWN_FAMILIES.values())


def _disagreements(rows):
    return [row for row in rows if not _known(row) and row[0] not in UNFIXED]


@pytest.mark.parametrize("case", FIXED, ids=[":".join(c) for c in FIXED])
def test_fixed_calls_agree_with_scipy(case):
    name, text = case
    pattern = next(p for p in sweep.patterns(name) if p.text == text)
    assert sweep.check(name, pattern, gradients=False) is None


@pytest.mark.parametrize("x", [-2.5, 0.7, 3.1])
@pytest.mark.parametrize("name", ["cdf", "sf", "logcdf", "logsf"])
def test_truncnorm_gradients_on_and_off_the_support(name, x):
    """Finite gradients, those of central differences: off the support (where the value is
    constant) they were nan (an unused branch's infinite derivative times 0)."""
    f = lambda *a: getattr(stats.truncnorm, name)(*a)  # noqa: E731
    args = np.array([x, -0.5, 1.5, 0.2, 1.3])
    got = cr.grad(lambda v: f(*v))(args)
    theirs = lambda v: float(getattr(scipy.stats.truncnorm, name)(*v))  # noqa: E731
    # where the log is -inf (off the support) the value is constant: derivative 0
    want = central_differences(theirs, args) if np.isfinite(theirs(args)) else np.zeros(5)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["gammainc", "gammaincc", "betainc"])
def test_density_derivative_at_negative_zero_is_that_at_zero(name):
    """d/dx at x = -0.0 with a tiny shape ``a`` is +inf (-inf for gammaincc), as at +0.0
    and as JAX's; it had the other sign: ``a - 1`` rounds to -1, and (-0.0) ** -1 is -inf."""
    f = getattr(special, name)
    shapes = (1e-20, 2.0) if name == "betainc" else (1e-20,)
    at = lambda x: cr.grad(lambda v: f(*shapes, v))(x)  # noqa: E731
    with np.errstate(divide="ignore"):
        assert at(-0.0) == at(0.0) == (-np.inf if name == "gammaincc" else np.inf)


@pytest.mark.parametrize("group", ["special", "stats"])
def test_values_agree_with_scipy(group):
    """Every call of the table gives SciPy's values and exceptions, or differs as listed."""
    rows = [(name, p.text, why) for name in sweep.names() if name.startswith(group) and name not in UNFIXED
            for p in sweep.patterns(name) if (why := sweep.check(name, p, gradients=False))]
    assert _disagreements(rows) == []


def test_gradients_on_ordinary_values_agree():
    """The gradients at ordinary values in arguments of broadcasting shapes agree with
    autograd's where it has the name, else with central differences of SciPy's functions."""
    rows = [(name, p.text, why) for name in sweep.names() if name not in UNFIXED for p in sweep.patterns(name)
            if p.text == "broadcast (2, 1) with (3,)" and (why := sweep.check(name, p, oracles=["autograd"]))]
    assert _disagreements(rows) == []


def test_the_lists_name_what_chainrule_has():
    have = set(sweep.names())
    assert UNFIXED <= have and {n for n, _ in KNOWN} <= have and {n for n, _ in FIXED} <= have

"""``chainrule.scipy.special``: SciPy's special functions, differentiable.

One line per rule, as in :mod:`chainrule.numpy.elementwise`: each gives the partial
derivative ``d(ans, *args)`` in one argument, written with functions of this module, so
that derivatives of every order follow (the derivative of ``gammaln`` is ``digamma``,
whose derivative is ``polygamma(1, x)``, and so on). Bessel functions differentiate by
their recurrences.

Orders and shape parameters with no standard closed-form derivative (the ``a`` of
``gammainc``, the order ``v`` of a Bessel function, the degrees of freedom of ``stdtr``)
raise a ``NotImplementedError`` naming the argument when differentiated, rather than
contributing a silent zero. Integer arguments (``n`` of ``polygamma``, ``d`` of
``multigammaln``, ``k`` of ``pdtr``) have no derivative.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import scipy.special as sc

import chainrule.numpy as cnp
from chainrule.core.primitive import Primitive, def_batch, def_jvps, def_vjps
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.values import plain as plain_value
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import shape_of, unbroadcast
from chainrule.numpy.elementwise import exp_neg_square
from chainrule.numpy.reductions import float_dtype, logsumexp_weights, weighted_by
from chainrule.numpy.registry import elementwise_derivatives as derivs
from chainrule.numpy.registry import mirrors, wrap
from chainrule.scipy.reexport import fallback

__all__ = [
    "gamma", "gammaln", "digamma", "psi", "polygamma", "multigammaln", "rgamma", "gammasgn",
    "beta", "betaln", "gammainc", "gammaincc", "betainc", "betaincc",
    "erf", "erfc", "erfinv", "erfcinv", "erfcx", "ndtr", "log_ndtr", "ndtri",
    "expit", "logit", "log_expit", "xlogy", "xlog1py", "entr", "rel_entr", "kl_div", "zeta",
    "logsumexp", "softmax", "log_softmax",
    "i0", "i1", "i0e", "i1e", "iv", "ive", "j0", "j1", "jv", "jn", "y0", "y1", "yv", "yn",
    "k0", "k1", "kv", "stdtr", "pdtr",
]

FAMILY = "scipy.special"
# Python floats, not NumPy float64 scalars: they take the dtype of the array they meet
# (NEP 50), so the derivatives of float32 values stay float32
_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)
_SQRT2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def special(sc_fun, name: str | None = None) -> Primitive:
    return wrap(sc_fun, FAMILY, name)


def undefined(fname: str, arg: str, why: str):
    """A partial derivative that is not available: differentiating in ``arg`` raises."""

    def partial(ans, *args):
        raise NotImplementedError(
            f"scipy.special.{fname}: no derivative in {arg!r} ({why}); "
            f"hold {arg} constant, or wrap it in chainrule.stop_gradient"
        )

    return partial


def note(prim: Primitive, text: str) -> None:
    prim.__doc__ = f"{text}\n\n{prim.__doc__ or ''}"


# -- gamma and beta functions ----------------------------------------------------------
gamma = special(sc.gamma)
gammaln = special(sc.gammaln)
digamma = psi = special(sc.digamma, "digamma")  # SciPy names this ufunc "psi"
polygamma = special(sc.polygamma)
multigammaln = special(sc.multigammaln)
rgamma = special(sc.rgamma)
beta = special(sc.beta)
betaln = special(sc.betaln)


def _as_dtype_of(v, like):
    """``v`` in the floating dtype of ``like`` (a float32 value's derivative stays float32
    where SciPy computes it in float64)."""
    dtype = getattr(like, "dtype", None)
    if dtype is None or dtype.kind != "f" or getattr(v, "dtype", dtype) == dtype:
        return v
    return cnp.astype(v, dtype)


def _multidigamma(a, d):
    """d/da of log Γ_d(a): the sum of ψ(a − j/2) for j < d."""
    return sum(digamma(a - 0.5 * j) for j in range(int(d)))


derivs(gamma, lambda ans, x: ans * digamma(x))
derivs(gammaln, lambda ans, x: digamma(x))
derivs(digamma, lambda ans, x: _as_dtype_of(polygamma(1, x), ans))  # (SciPy's is float64)
derivs(polygamma, None, lambda ans, n, x: polygamma(n + 1, x))
derivs(multigammaln, lambda ans, a, d: _multidigamma(a, d), None)


def _multigammaln_batch(prim, batched, a, d):
    """Elementwise in ``a`` for a ``d`` the same for every example; for ``d < 1`` SciPy's
    value is one number (the empty sum's constant), which each example gets."""
    if batched[1]:
        return NotImplemented
    ans = prim(a, d)
    return ans if shape_of(ans) else cnp.broadcast_to(ans, shape_of(a)[:1])


multigammaln.batch = _multigammaln_batch


def _rgamma_derivative(ans, x):
    """d/dx 1/Γ(x) = -ψ(x)/Γ(x); below x = 1/2 that of the reflection sin(πx) Γ(1 - x) / π,
    as 1/Γ is entire: -ψ(x)/Γ(x) is inf · 0 at its zeros (0, -1, ...) and, differentiated
    again, loses its digits near them (ψ² - ψ' cancels). Each branch sees only its own
    points, so the other's infinities never meet a zero cotangent."""
    low = x < 0.5
    xl, xh = cnp.where(low, x, 0.0), cnp.where(low, 1.0, x)
    reflected = gamma(1 - xl) * (cnp.cos(np.pi * xl) - cnp.sin(np.pi * xl) * digamma(1 - xl) / np.pi)
    return cnp.where(low, reflected, -ans * digamma(xh))


derivs(rgamma, _rgamma_derivative)
derivs(beta, lambda ans, a, b: ans * (digamma(a) - digamma(a + b)),
             lambda ans, a, b: ans * (digamma(b) - digamma(a + b)))
derivs(betaln, lambda ans, a, b: digamma(a) - digamma(a + b),
               lambda ans, a, b: digamma(b) - digamma(a + b))
# the sign of Γ is piecewise constant: zero derivative, as for numpy.sign
gammasgn = special(sc.gammasgn)
def_vjps(gammasgn, None)
def_jvps(gammasgn, None)

# -- incomplete gamma and beta: derivatives in the integration limit only ----------------
gammainc = special(sc.gammainc)
gammaincc = special(sc.gammaincc)
betainc = special(sc.betainc)
betaincc = special(sc.betaincc)  # 1 - betainc, without 1 - x rounding x away
_NO_SHAPE = "its derivative is a hypergeometric series that chainrule does not provide"


# The densities through logarithms, except at the ends of the support, where the log's
# derivative is infinite while the density's need not be (gammainc(2, x)'' at 0 is 1): there
# the powers themselves, of x + 0.0 (-0.0 is +0.0 then: (-0.0) ** -0.5 would be -inf). Each
# branch sees a harmless point where it is not taken: the logarithms at the ends, the powers
# inside (x ** -0.5's derivative overflows at x = 1e-300), so there is no 0 * inf. (Not
# SciPy's names: the densities of the gamma and beta distributions, which they share.)
def gamma_density(a, x):
    """The density ``x^(a-1) e^-x / Γ(a)``, the derivative of ``gammainc(a, x)`` in ``x``.

    >>> float(gamma_density(2.0, 0.0)), float(gamma_density(1.0, 0.0))
    (0.0, 1.0)
    """
    end = x == 0
    inside, at_end = cnp.where(end, 1.0, x), cnp.where(end, x, 1.0)
    return cnp.where(end, (at_end + 0.0) ** (a - 1) * cnp.exp(-at_end - gammaln(a)),
                     cnp.exp(xlogy(a - 1, inside) - inside - gammaln(a)))


def beta_density(a, b, x):
    """The density ``x^(a-1) (1-x)^(b-1) / B(a, b)``, the derivative of ``betainc(a, b, x)``.

    >>> float(beta_density(2.0, 3.0, 0.0)), float(beta_density(1.0, 1.0, 1.0))
    (0.0, 1.0)
    """
    end = (x == 0) | (x == 1)
    inside, at_end = cnp.where(end, 0.5, x), cnp.where(end, x, 0.5)
    return cnp.where(end, (at_end + 0.0) ** (a - 1) * (1 - at_end) ** (b - 1) * cnp.exp(-betaln(a, b)),
                     cnp.exp(xlogy(a - 1, inside) + xlog1py(b - 1, -inside) - betaln(a, b)))


derivs(gammainc, undefined("gammainc", "a", _NO_SHAPE), lambda ans, a, x: gamma_density(a, x))
derivs(gammaincc, undefined("gammaincc", "a", _NO_SHAPE),
       lambda ans, a, x: -gamma_density(a, x))
derivs(betainc, undefined("betainc", "a", _NO_SHAPE), undefined("betainc", "b", _NO_SHAPE),
       lambda ans, a, b, x: beta_density(a, b, x))
derivs(betaincc, undefined("betaincc", "a", _NO_SHAPE), undefined("betaincc", "b", _NO_SHAPE),
       lambda ans, a, b, x: -beta_density(a, b, x))
note(gammainc, "Differentiable in x only; differentiating in a raises NotImplementedError.")
note(gammaincc, "Differentiable in x only; differentiating in a raises NotImplementedError.")
note(betainc, "Differentiable in x only; differentiating in a or b raises NotImplementedError.")
note(betaincc, "Differentiable in x only; differentiating in a or b raises NotImplementedError.")

# -- error function and the normal distribution ----------------------------------------
erf = special(sc.erf)
erfc = special(sc.erfc)
erfinv = special(sc.erfinv)
erfcinv = special(sc.erfcinv)
erfcx = special(sc.erfcx)
ndtr = special(sc.ndtr)
log_ndtr = special(sc.log_ndtr)
ndtri = special(sc.ndtri)


derivs(erf, lambda ans, x: 2 / _SQRT_PI * exp_neg_square(x))
derivs(erfc, lambda ans, x: -2 / _SQRT_PI * exp_neg_square(x))
derivs(erfinv, lambda ans, x: _SQRT_PI / 2 * cnp.exp(ans * ans))
derivs(erfcinv, lambda ans, x: -_SQRT_PI / 2 * cnp.exp(ans * ans))
derivs(erfcx, lambda ans, x: _erfcx_dx(x, ans))
derivs(ndtr, lambda ans, x: exp_neg_square(x, 0.5) / _SQRT_2PI)


def _erfcx_dx(x, ans):
    """2x erfcx(x) − 2/√π, which cancels for large x (a relative error of 2x²ε: 1e-6 at
    1e5, every digit lost by 1e8; log_ndtr's second derivative far left goes through it),
    so past 25 its asymptotic series −Σ (−1)ⁿ (2n+1)!!/(2x²)ⁿ/(√π x²), off by below 1e-17."""
    far = x > 25
    w = 0.5 * cnp.where(far, x, 50.0) ** -2
    series = 0.0
    for n in range(7, -1, -1):  # Horner's rule, the (2n+1)!! from the last
        series = math.prod(range(1, 2 * n + 2, 2)) - w * series
    near = cnp.where(far, 0.0, x)
    return cnp.where(far, -2 * w * series / _SQRT_PI, 2 * near * ans - 2 / _SQRT_PI)


def _log_ndtr_dx(x):
    """φ(x)/Φ(x). Below 0 as √(2/π)/erfcx(-x/√2): exp(-x²/2 - log Φ(x)) cancels there (a
    relative error of 3e-11 at x = -1e3, 7e-7 at -1e5, inf at -1e10). Each branch sees
    only its own side, so no inf reaches a higher derivative through the other one."""
    below = x < 0
    neg, pos = cnp.where(below, x, 0.0), cnp.where(below, 0.0, x)
    return cnp.where(below, _SQRT_2_OVER_PI / erfcx(neg / -_SQRT2),
                     cnp.exp(-0.5 * pos * pos - log_ndtr(pos)) / _SQRT_2PI)


derivs(log_ndtr, lambda ans, x: _log_ndtr_dx(x))
derivs(ndtri, lambda ans, x: _SQRT_2PI * cnp.exp(0.5 * ans * ans))

# -- logistic, logarithms and entropy ----------------------------------------------------
expit = special(sc.expit)
logit = special(sc.logit)
log_expit = special(sc.log_expit)
xlogy = special(sc.xlogy)
xlog1py = special(sc.xlog1py)
entr = special(sc.entr)

derivs(expit, lambda ans, x: ans * expit(-x))  # not ans (1 - ans): 1 - ans is 0 past x ≈ 37
derivs(logit, lambda ans, x: 1 / (x * (1 - x)))
derivs(log_expit, lambda ans, x: expit(-x))
derivs(xlogy, lambda ans, x, y: cnp.log(y), lambda ans, x, y: x / y)
derivs(xlog1py, lambda ans, x, y: cnp.log1p(y), lambda ans, x, y: x / (1 + y))
derivs(entr, lambda ans, x: -1 - cnp.log(x))

# rel_entr(p, q) = p log(p / q) and kl_div(p, q) = p log(p / q) - p + q where p, q > 0, and
# SciPy's constants (0, q or inf) elsewhere, whose derivative is 0 (as JAX's)
rel_entr = special(sc.rel_entr)
kl_div = special(sc.kl_div)


def _positive(p, q):
    """Whether p > 0 and q > 0, and p, q where they are (1 elsewhere: a safe logarithm)."""
    both = (p > 0) & (q > 0)
    return both, cnp.where(both, p, 1.0), cnp.where(both, q, 1.0)


def _log_ratio(p, q):
    """log(p / q) for positive p, q: log p - log q where p / q underflows below the smallest
    normal number or overflows (log(1e-300 / 1e300) is -1381.6, not -inf), log(p / q)
    elsewhere (one rounding fewer)."""
    ratio = undifferentiated(p) / undifferentiated(q)
    info = np.finfo(float_dtype(ratio))
    normal = (ratio >= info.tiny) & (ratio <= info.max)
    # each branch reads 1 where the other is taken: no 0 * inf in the discarded derivatives
    quotient = cnp.where(normal, p, 1.0) / cnp.where(normal, q, 1.0)
    apart = cnp.log(cnp.where(normal, 1.0, p)) - cnp.log(cnp.where(normal, 1.0, q))
    return cnp.where(normal, cnp.log(quotient), apart)


def _rel_entr_dp(p, q):
    both, p, q = _positive(p, q)
    return cnp.where(both, _log_ratio(p, q) + 1, 0.0)


def _rel_entr_dq(p, q):
    both, p, q = _positive(p, q)
    return cnp.where(both, -p / q, 0.0)


derivs(rel_entr, lambda ans, p, q: _rel_entr_dp(p, q), lambda ans, p, q: _rel_entr_dq(p, q))
derivs(kl_div, lambda ans, p, q: _rel_entr_dp(p, q) - 1, lambda ans, p, q: _rel_entr_dq(p, q) + 1)

# -- Bessel functions: derivatives from the recurrences ------------------------------
i0, i1, i0e, i1e = (special(f) for f in (sc.i0, sc.i1, sc.i0e, sc.i1e))
iv, ive = special(sc.iv), special(sc.ive)
j0, j1, y0, y1 = (special(f) for f in (sc.j0, sc.j1, sc.y0, sc.y1))
jv, yv, yn = special(sc.jv), special(sc.yv), special(sc.yn)
jn = jv
k0, k1, kv = special(sc.k0), special(sc.k1), special(sc.kv)
_NO_ORDER = "the derivative in the order is not implemented"

derivs(i0, lambda ans, x: i1(x))
derivs(i1, lambda ans, x: 0.5 * (i0(x) + iv(2, x)))
derivs(i0e, lambda ans, x: i1e(x) - cnp.sign(x) * ans)


def _i1e_dx(ans, x):
    """i1e'(x) = (i0e(x) + ive(2, x)) / 2 - sign(x) i1e(x), with ive(2, x) from the recurrence
    i0e(x) - 2 i1e(x) / x past |x| = 1 (SciPy's ive is nan past |x| = 2^31; i0e and i1e are
    not), so that every derivative of i0e and i1e is finite there. Each branch reads a
    harmless point where the other is taken."""
    far = cnp.abs(undifferentiated(x)) > 1
    near, away = cnp.where(far, 0.0, x), cnp.where(far, x, 1.0)
    return cnp.where(far, i0e(x) - (1 / away + cnp.sign(x)) * ans,
                     0.5 * (i0e(x) + ive(2, near)) - cnp.sign(x) * ans)


derivs(i1e, _i1e_dx)
derivs(iv, undefined("iv", "v", _NO_ORDER), lambda ans, v, x: 0.5 * (iv(v - 1, x) + iv(v + 1, x)))
derivs(ive, undefined("ive", "v", _NO_ORDER),
       lambda ans, v, x: 0.5 * (ive(v - 1, x) + ive(v + 1, x)) - cnp.sign(x) * ans)
derivs(j0, lambda ans, x: -j1(x))
derivs(j1, lambda ans, x: 0.5 * (j0(x) - jv(2, x)))
derivs(jv, undefined("jv", "v", _NO_ORDER), lambda ans, v, x: 0.5 * (jv(v - 1, x) - jv(v + 1, x)))
derivs(y0, lambda ans, x: -y1(x))
derivs(y1, lambda ans, x: 0.5 * (y0(x) - yv(2, x)))
derivs(yv, undefined("yv", "v", _NO_ORDER), lambda ans, v, x: 0.5 * (yv(v - 1, x) - yv(v + 1, x)))
derivs(yn, None, lambda ans, n, x: 0.5 * (yn(cnp.trunc(n) - 1, x) - yn(cnp.trunc(n) + 1, x)))  # SciPy truncates n
derivs(k0, lambda ans, x: -k1(x))
derivs(k1, lambda ans, x: -0.5 * (k0(x) + kv(2, x)))
derivs(kv, undefined("kv", "v", _NO_ORDER), lambda ans, v, x: -0.5 * (kv(v - 1, x) + kv(v + 1, x)))

# -- the Hurwitz zeta function ----------------------------------------------------------
# d/dq ζ(x, q) = -x ζ(x + 1, q). In x there is no closed form: the derivative is that of
# the Euler-Maclaurin expansion JAX differentiates (F. Johansson, "Rigorous high-precision
# computation of the Hurwitz zeta function and its derivatives", 2015, formula (5)), with
# N = M = 16 terms, written out in x.
_hurwitz = wrap(sc.zeta, FAMILY, "zeta", public=False)
_ZETA_N = 16


def _bernoulli_coefficients(m: int) -> np.ndarray:
    """(2j + 2)! / B(2j + 2) for j < m, B the Bernoulli numbers (exact rationals first)."""
    b = [Fraction(1)]
    for n in range(1, 2 * m + 1):
        b.append(-sum(math.comb(n + 1, k) * b[k] for k in range(n)) / (n + 1))
    return np.array([float(math.factorial(2 * j + 2) / b[2 * j + 2]) for j in range(m)])


_ZETA_COEFS = _bernoulli_coefficients(_ZETA_N)


def _zeta_dx(x, q):
    """d/dx of the Euler-Maclaurin expansion of ζ(x, q)."""
    n = _ZETA_N
    s, a = cnp.expand_dims(x, -1), cnp.expand_dims(q, -1)
    terms = a + np.arange(n)
    d_head = -cnp.sum(cnp.log(terms) * terms ** -s, axis=-1)
    end = q + n
    tail = end ** (1 - x) / (x - 1)
    d_tail = -tail * (cnp.log(end) + 1 / (x - 1))
    m = np.arange(2 * n)
    ratios = (s + m) / cnp.expand_dims(end, -1)
    t1 = cnp.cumprod(ratios, axis=-1)[..., ::2]
    d_t1 = t1 * cnp.cumsum(1 / (s + m), axis=-1)[..., ::2]
    t0 = end ** -x
    series = 0.5 + cnp.sum(t1 / _ZETA_COEFS, axis=-1)
    return d_head + d_tail + t0 * (cnp.sum(d_t1 / _ZETA_COEFS, axis=-1) - cnp.log(end) * series)


derivs(_hurwitz, lambda ans, x, q: _as_dtype_of(_zeta_dx(x, q), ans), lambda ans, x, q: -x * _hurwitz(x + 1, q))
# Riemann's ζ(x): ζ(x, 1) for x > 1, and its continuation below (where the Hurwitz form is
# NaN), which the Euler-Maclaurin expansion also gives
_riemann = wrap(lambda x: sc.zeta(x), FAMILY, "zeta", public=False)
derivs(_riemann, lambda ans, x: _as_dtype_of(_zeta_dx(x, 1.0), ans))


@mirrors(sc.zeta, FAMILY)
def zeta(x, q=None, out=None):
    """``scipy.special.zeta``: the Hurwitz zeta function ζ(x, q), differentiable in ``x``
    and ``q`` (as JAX's); with ``q`` None, Riemann's ζ(x) = ζ(x, 1): ``zeta(2.0)`` is
    π²/6 (``tests/scipy/test_special.py`` compares both forms with SciPy's values).
    """
    if out is not None or (q is None and not isinstance(x, Tensor)):
        return sc.zeta(plain_value(x), q, out=out)
    return _riemann(x) if q is None else _hurwitz(x, q)


# -- distribution functions used by chainrule.scipy.stats -------------------------------
stdtr = special(sc.stdtr)
pdtr = special(sc.pdtr)


def _t_density(df, t):
    return cnp.exp(gammaln(0.5 * (df + 1)) - gammaln(0.5 * df) - 0.5 * cnp.log(df * np.pi)
                   - 0.5 * (df + 1) * cnp.log1p(t * t / df))


def _poisson_mass(k, mu):
    k = cnp.floor(k)
    return cnp.exp(xlogy(k, mu) - mu - gammaln(k + 1))


derivs(stdtr, undefined("stdtr", "df", _NO_SHAPE), lambda ans, df, t: _t_density(df, t))
derivs(pdtr, None, lambda ans, k, mu: -_poisson_mass(k, mu))
note(stdtr, "Differentiable in t only; differentiating in df raises NotImplementedError.")


# -- reductions: logsumexp, softmax, log_softmax -----------------------------------------
def _reduced_axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int | np.integer):
        axis = (axis,)
    if ndim == 0:  # SciPy reduces a 0-d array as one of one entry
        return ()
    return tuple(int(a) % ndim for a in axis)


def _kept(v, shape, axis, keepdims):
    """A reduced value ``v`` with the reduced axes of ``shape`` kept (as length 1)."""
    if not keepdims:
        axes = _reduced_axes(axis, len(shape))
        v = cnp.reshape(v, tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return v


def _spread(v, shape, axis, keepdims):
    """A reduced value ``v`` broadcast back over the ``shape`` it was reduced from."""
    return cnp.broadcast_to(_kept(v, shape, axis, keepdims), shape)


# SciPy's logsumexp, softmax and log_softmax (1.15 and later) go through its array-API
# layer, which costs 60-340 µs per call on a 64×10 array against about 20 µs for the same
# NumPy arithmetic; the model code of a training step calls them once per step. So their
# values are computed here, as SciPy computes them (shift by the finite maximum), and
# SciPy is called for what this arithmetic does not cover (complex, integer, empty or
# 0-d values).


def _numpy_handles(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.size > 0 and a.ndim > 0


def _max(a, axis, keepdims):
    # on an ndarray, the ufunc's reduce is what np.max calls, without NumPy's Python
    # wrapper (about 1 µs a call); a subclass keeps np.max, which may call its method
    if type(a) is np.ndarray:
        return np.maximum.reduce(a, axis=axis, keepdims=keepdims)
    return np.max(a, axis=axis, keepdims=keepdims)


def _sum(a, axis, keepdims):
    if type(a) is np.ndarray:
        return np.add.reduce(a, axis=axis, keepdims=keepdims)
    return np.sum(a, axis=axis, keepdims=keepdims)


def _shifted(a, axis):
    """``a`` minus its maximum along ``axis`` (kept dims); a maximum that is not finite
    (all -inf, an inf, a NaN) shifts by 0, so that those values come out as SciPy's.
    Also whether every maximum was finite (then no step below can divide by zero or
    make an invalid value, and no error state needs setting)."""
    top = _max(a, axis=axis, keepdims=True)
    if np.isfinite(top).all():
        return a - top, top, True
    top = np.where(np.isfinite(top), top, 0)
    with np.errstate(invalid="ignore"):  # inf - 0 stays inf, NaN stays NaN
        return a - top, top, False


def _lse(a, axis=None, keepdims=False):
    """SciPy's logsumexp by SciPy's arithmetic in SciPy's order, so the same bits: the
    maxima apart, ``log1p`` of the other terms' sum (shifted by the maximum, over the
    maxima's count), plus the log of that count and the maximum; where that is not
    finite, the direct ``log(sum(exp(a)))``."""
    if not _numpy_handles(a):
        return sc.logsumexp(a, axis=axis, keepdims=keepdims)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        top = _max(a, axis=axis, keepdims=True)
        at_top = a == top
        count = _sum(at_top.astype(a.dtype), axis=axis, keepdims=True)
        rest = _sum(np.exp(np.where(at_top, -np.inf, a) - top), axis=axis, keepdims=True)
        rest = np.where(rest == 0, rest, rest / count)
        out = np.log1p(rest) + np.log(count) + top
        finite = np.isfinite(out)
        if not finite.all():
            out = np.where(finite, out, np.log(_sum(np.exp(a), axis=axis, keepdims=True)))
    return out if keepdims else np.squeeze(out, axis=axis)[()]


def _softmax(x, axis=None):
    if not _numpy_handles(x):
        return sc.softmax(x, axis=axis)
    shifted, _, finite = _shifted(x, axis)
    if finite:
        e = np.exp(shifted)
        return e / _sum(e, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore"):  # NaN where an inf or only -inf is, as SciPy's
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis=None):
    if not _numpy_handles(x):
        return sc.log_softmax(x, axis=axis)
    shifted, _, finite = _shifted(x, axis)
    if finite:
        return shifted - np.log(_sum(np.exp(shifted), axis=axis, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _lse_weighted(a, b, axis=None, keepdims=False):
    return sc.logsumexp(a, axis=axis, b=b, keepdims=keepdims)


_logsumexp = wrap(_lse, FAMILY, "logsumexp", public=False)
_logsumexp_b = wrap(_lse_weighted, FAMILY, "logsumexp", public=False)


def _lse_weights(ans, a, axis, keepdims, b=None):
    """exp(a − logsumexp) over the reduced axes: the softmax weights (times b, their sum)."""
    shape = shape_of(a) if b is None else _both_shape(a, b)
    return logsumexp_weights(a, _spread(ans, shape, axis, keepdims), axis, b)


def _both_shape(a, b):
    return np.broadcast_shapes(shape_of(a), shape_of(b))


# (a has the full shape, so g and ans need only their reduced axes kept to broadcast)
def_vjps(_logsumexp, lambda g, ans, a, axis=None, keepdims=False:
         _kept(g, shape_of(a), axis, keepdims) * logsumexp_weights(a, _kept(ans, shape_of(a), axis, keepdims), axis))
def_jvps(_logsumexp, lambda t, ans, a, axis=None, keepdims=False:
         cnp.sum(t * logsumexp_weights(a, _kept(ans, shape_of(a), axis, keepdims), axis), axis=axis, keepdims=keepdims))
def_vjps(
    _logsumexp_b,
    lambda g, ans, a, b, axis=None, keepdims=False: unbroadcast(
        _spread(g, _both_shape(a, b), axis, keepdims) * weighted_by(b, _lse_weights(ans, a, axis, keepdims, b)), a),
    lambda g, ans, a, b, axis=None, keepdims=False: unbroadcast(
        _spread(g, _both_shape(a, b), axis, keepdims) * _lse_weights(ans, a, axis, keepdims, b), b),
)
def_jvps(
    _logsumexp_b,
    lambda t, ans, a, b, axis=None, keepdims=False: cnp.sum(
        t * weighted_by(b, _lse_weights(ans, a, axis, keepdims, b)), axis=axis, keepdims=keepdims),
    lambda t, ans, a, b, axis=None, keepdims=False: cnp.sum(
        t * _lse_weights(ans, a, axis, keepdims, b), axis=axis, keepdims=keepdims),
)


def _shifted_total(a, axis, b, keepdims):
    """Σ b eᵃ⁻ᵗᵒᵖ and the shift ``top``: the finite maximum of ``a`` (without a derivative)."""
    if b is not None:
        a = cnp.where(cnp.not_equal(b, 0), a, -np.inf)
    top = cnp.max(cnp.real(undifferentiated(a)), axis=axis, keepdims=True, initial=-np.inf)
    top = cnp.where(cnp.isfinite(top), top, 0.0)
    e = cnp.exp(a - top)
    return cnp.sum(e if b is None else e * b, axis=axis, keepdims=keepdims), top


def _logsumexp_sign(a, axis, b, keepdims):
    """logsumexp's ``return_sign=True``, composed as JAX composes it: shift by the finite
    maximum (without a derivative), sum, take the logarithm of the absolute value."""
    total, top = _shifted_total(a, axis, b, keepdims)
    return cnp.log(cnp.abs(total)) + cnp.reshape(top, shape_of(total)), cnp.sign(total)


def _lse_abs(a, axis=None, keepdims=False):
    return sc.logsumexp(a, axis=axis, keepdims=keepdims, return_sign=True)[0]


def _lse_abs_weighted(a, b, axis=None, keepdims=False):
    return sc.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=True)[0]


# return_sign=True's log|Σ b eᵃ|: SciPy's value; the derivative in (b eᵃ) is sign · eᵃ⁻ᵃⁿˢ
_logsumexp_abs = wrap(_lse_abs, FAMILY, "logsumexp", public=False)
_logsumexp_abs_b = wrap(_lse_abs_weighted, FAMILY, "logsumexp", public=False)


def _signed_weights(ans, a, b, axis, keepdims):
    """sign(Σ b eᵃ) eᵃ⁻ˡᵒᵍ|Σ b eᵃ| over the reduced axes: the derivative in b, and over b
    in a. An infinite or NaN a whose weight is 0 (an entry SciPy leaves out) gets 0."""
    shape = shape_of(a) if b is None else _both_shape(a, b)
    if b is not None:
        a = cnp.where(cnp.not_equal(b, 0) | cnp.isfinite(undifferentiated(a)), a, -np.inf)
    return logsumexp_weights(a, _spread(ans, shape, axis, keepdims), axis, b, signed=True)


def_vjps(_logsumexp_abs, lambda g, ans, a, axis=None, keepdims=False:
         _spread(g, shape_of(a), axis, keepdims) * _signed_weights(ans, a, None, axis, keepdims))
def_jvps(_logsumexp_abs, lambda t, ans, a, axis=None, keepdims=False:
         cnp.sum(t * _signed_weights(ans, a, None, axis, keepdims), axis=axis, keepdims=keepdims))
def_vjps(
    _logsumexp_abs_b,
    lambda g, ans, a, b, axis=None, keepdims=False: unbroadcast(
        _spread(g, _both_shape(a, b), axis, keepdims) * b * _signed_weights(ans, a, b, axis, keepdims), a),
    lambda g, ans, a, b, axis=None, keepdims=False: unbroadcast(
        _spread(g, _both_shape(a, b), axis, keepdims) * _signed_weights(ans, a, b, axis, keepdims), b),
)
def_jvps(
    _logsumexp_abs_b,
    lambda t, ans, a, b, axis=None, keepdims=False: cnp.sum(
        t * b * _signed_weights(ans, a, b, axis, keepdims), axis=axis, keepdims=keepdims),
    lambda t, ans, a, b, axis=None, keepdims=False: cnp.sum(
        t * _signed_weights(ans, a, b, axis, keepdims), axis=axis, keepdims=keepdims),
)


def _real(v) -> bool:
    """Whether ``v`` (an array, a Tensor, a list of numbers; None) holds real numbers."""
    if v is None:
        return True
    if hasattr(v, "dtype"):
        return np.dtype(v.dtype).kind in "fiub"
    try:
        return np.asarray(v).dtype.kind in "fiub"  # a list holding Tensors: object, False
    except (TypeError, ValueError):
        return False


@mirrors(sc.logsumexp, FAMILY)
def logsumexp(a, axis=None, b=None, keepdims: bool = False, return_sign: bool = False):
    """``scipy.special.logsumexp``, differentiable in ``a`` and in the weights ``b``.

    ``return_sign=True`` gives ``(log|sum|, sign(sum))``: the logarithm is differentiable
    (as JAX's is: an entry whose weight is 0 contributes nothing, nor a derivative in
    ``a``), the sign is piecewise constant.

    >>> import numpy as np
    >>> logsumexp(np.log([1.0, 2.0]), b=[1.0, -2.0], return_sign=True)
    (np.float64(1.0986122886681096), np.float64(-1.0))
    """
    if return_sign:
        if not (_real(a) and _real(b)):
            return _logsumexp_sign(a, axis, b, keepdims)
        # (only the sum's sign: the logarithm of a sum of 0 would warn, which SciPy does not)
        sign = cnp.sign(_shifted_total(a, axis, b, keepdims)[0])
        if b is None:
            return _logsumexp_abs(a, axis=axis, keepdims=keepdims), sign
        return _logsumexp_abs_b(a, b, axis=axis, keepdims=keepdims), sign
    if b is None:
        return _logsumexp(a, axis=axis, keepdims=keepdims)
    return _logsumexp_b(a, b, axis=axis, keepdims=keepdims)


softmax = special(sc.softmax)
log_softmax = special(sc.log_softmax)
softmax.fun, log_softmax.fun = _softmax, _log_softmax  # SciPy's values, computed faster
def_vjps(softmax, lambda g, ans, x, axis=None:
         ans * (g - cnp.sum(g * ans, axis=axis, keepdims=True)))
def_jvps(softmax, lambda t, ans, x, axis=None:
         ans * (t - cnp.sum(t * ans, axis=axis, keepdims=True)))
def_vjps(log_softmax, lambda g, ans, x, axis=None:
         g - cnp.exp(ans) * cnp.sum(g, axis=axis, keepdims=True))
def_jvps(log_softmax, lambda t, ans, x, axis=None:
         t - cnp.sum(cnp.exp(ans) * t, axis=axis, keepdims=True))


# Batching rules for vmap: the ufuncs are elementwise; the rest reduce along axes.
def_batch(batching.elementwise, *(p for p in globals().values()
                                  if isinstance(p, Primitive) and p.batch is None
                                  and p not in (_logsumexp, _logsumexp_b, _logsumexp_abs, _logsumexp_abs_b,
                                                softmax, log_softmax)))
def_batch(batching.reduction, _logsumexp, _logsumexp_abs, softmax, log_softmax)
def_batch(batching.broadcast_reduction, _logsumexp_b, _logsumexp_abs_b)
# SciPy's own counting functions, elementwise in their arrays though not ufuncs
for _name in ("factorial", "factorial2", "comb", "perm", "stirling2"):
    if hasattr(sc, _name):
        batching.NONDIFF_BATCH[getattr(sc, _name)] = batching.nondiff_elementwise


# every other name of scipy.special: SciPy's own, refusing Tensors (see reexport.py)
__getattr__, __dir__ = fallback(__name__, "scipy.special")

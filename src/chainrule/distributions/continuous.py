"""The univariate continuous families of ``torch.distributions``: Normal, LogNormal,
Uniform, Laplace, Exponential, Cauchy, StudentT, Gamma and Beta, with PyTorch's formulas,
written with chainrule.numpy and chainrule.scipy.special so that ``log_prob``, ``entropy``,
``cdf``, moments and ``rsample`` differentiate in the parameters.

``rsample`` is the reparameterised draw ``loc + scale·ε`` (ε from the global generator)
in closed form, and for Gamma (hence StudentT) the implicit reparameterisation gradient
dx/dα = -(∂F/∂α)/p of the CDF F; Beta and Dirichlet draws differentiate as PyTorch's, by
that of each entry's Beta marginal (:func:`dirichlet_rsample`).

>>> import chainrule as cr
>>> round(Normal(0.0, 2.0).log_prob(cr.tensor(1.0)).item(), 6)
-1.737086
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special as scipy_special

import chainrule.numpy as cnp
import chainrule.scipy.special as sp
from chainrule.core.tensor import Tensor
from chainrule.distributions import constraints
from chainrule.distributions.distribution import Distribution, as_tensor, broadcast_all, noise
from chainrule.distributions.exp_family import ExponentialFamily
from chainrule.numpy import batching
from chainrule.numpy.nondiff import unboxing
from chainrule.transforms.custom import stop_gradient

__all__ = ["Normal", "Uniform", "Laplace", "Exponential", "Cauchy", "StudentT", "Gamma", "Beta"]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _full(like, value):
    return as_tensor(np.full(like.shape, value, dtype=like.dtype))


def _gammainc_da(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """∂P/∂a of the regularised lower incomplete gamma P(a, x), summing its series
    P = Σₙ exp((a+n) log x - x - lnΓ(a+n+1)) term by term: each term's derivative is the
    term times (log x - ψ(a+n+1)). Once a + n + 1 passes x the terms fall, each by at least
    the ratio r = x/(a+n+1) of the last, so the rest of the sum is below term/(1 - r) (times
    the largest factor to come): the sum stops there, after about √x terms where a ≈ x."""
    log_x = np.log(x)
    total, n = np.zeros(np.broadcast_shapes(a.shape, x.shape)), 0
    while True:
        term = np.exp((a + n) * log_x - x - scipy_special.gammaln(a + n + 1))
        factor = log_x - scipy_special.digamma(a + n + 1)
        total += term * factor
        ratio = x / (a + n + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            rest = np.where(ratio < 1, term / (1 - ratio), np.inf) * np.maximum(np.abs(factor), 1.0)
        if np.all(rest <= 1e-17 * np.maximum(np.abs(total), 1e-300)):
            return total
        n += 1


def _differentiated(x) -> bool:
    """Whether a derivative in ``x`` is taken (a transform's, or the eager graph's)."""
    return isinstance(x, Tensor) and (x.differentiated_by() is not None or x.requires_grad)


def _gamma_draw_grad(a, x) -> np.ndarray:
    """dx/dα of a draw x of Gamma(α, 1) at its quantile held fixed: -(∂P/∂α)(α, x) / p(x; α),
    P the regularised incomplete gamma and p the density (in float64)."""
    a, x = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(x, dtype=np.float64))
    density = np.exp((a - 1) * np.log(x) - x - scipy_special.gammaln(a))
    return -_gammainc_da(a, x) / density


def standard_gamma_rsample(concentration, shape):
    """Draws of Gamma(concentration, 1) that differentiate in ``concentration`` by implicit
    reparameterisation, as PyTorch's: dx/dα (:func:`_gamma_draw_grad`) carried by
    x + dx/dα·(α - stop_gradient(α)) (whose value is x)."""
    alpha = cnp.broadcast_to(concentration, tuple(shape))
    x = cnp.maximum(noise("standard_gamma", shape, np.float64, alpha), np.finfo(alpha.dtype).tiny)
    if not _differentiated(alpha):  # (sample(): dx/dα is not needed)
        return cnp.astype(x, alpha.dtype)
    dx_da = GAMMA_DRAW_GRAD(alpha, x)
    return cnp.astype(x, alpha.dtype) + cnp.astype(dx_da, alpha.dtype) * (alpha - stop_gradient(alpha))


def _betainc_grads_over_pdf(p: np.ndarray, q: np.ndarray, y: np.ndarray) -> tuple:
    """∂I/∂p and ∂I/∂q of the regularised incomplete beta I_y(p, q), each over the density
    of Beta(p, q) at y (flat arrays), by its series I = Σₙ tₙ, tₙ = y^p (1-y)^q (p+q)ₙ yⁿ /
    (p B(p, q) (p+1)ₙ), term by term: ∂tₙ/∂p = tₙ (log y + ψ(p+q+n) − ψ(p+1+n)) and
    ∂tₙ/∂q = tₙ (log(1−y) − ψ(q) + ψ(p+q+n)); t₀ over the density is y (1−y) / p. The
    terms fall once n passes ((p+q) y − p − 1) / (1 − y), then about as yⁿ (y ≤ 1/2 here);
    each entry's sum stops on its own, once its terms no longer count."""
    dp, dq = np.zeros_like(y), np.zeros_like(y)
    at = np.arange(y.size)  # the entries still summing, and their running values below
    log_y, log_1my = np.log(y), np.log1p(-y)
    log_t = log_y + log_1my - np.log(p)
    psi_pq, psi_p1 = scipy_special.digamma(p + q), scipy_special.digamma(p + 1)
    log_1my_psi_q = log_1my - scipy_special.digamma(q)
    falls_from = ((p + q) * y - p - 1) / (1 - y)
    size, n = np.zeros_like(y), 0
    while at.size:
        t = np.exp(log_t)
        dp[at] += t * (log_y + psi_pq - psi_p1)
        dq[at] += t * (log_1my_psi_q + psi_pq)
        size += t * (np.abs(log_y) + np.abs(psi_pq - psi_p1) + np.abs(log_1my_psi_q + psi_pq))
        going = (n <= falls_from) | (t * (1.0 + np.abs(log_y) + np.abs(psi_pq) + np.abs(log_1my_psi_q)) > 1e-17 * size)
        log_t = log_t + np.log((p + q + n) / (p + 1 + n)) + log_y
        psi_pq, psi_p1 = psi_pq + 1 / (p + q + n), psi_p1 + 1 / (p + 1 + n)
        n += 1
        if not going.all():
            at, p, q, log_y, log_t, psi_pq, psi_p1, log_1my_psi_q, falls_from, size = (
                v[going] for v in (at, p, q, log_y, log_t, psi_pq, psi_p1, log_1my_psi_q, falls_from, size))
    return dp, dq


def beta_sample_grads(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple:
    """∂x/∂a and ∂x/∂b of a draw x of Beta(a, b) at its quantile held fixed (implicit
    reparameterisation: -(∂I_x/∂a) / p(x), I the CDF, p the density), as PyTorch's
    Beta and Dirichlet samples differentiate; below the mean's side the series of
    I_x(a, b), above it that of I_{1-x}(b, a) = 1 - I_x(a, b)."""
    lower = x <= 0.5
    da, db = np.zeros_like(x), np.zeros_like(x)
    if lower.any():
        dp, dq = _betainc_grads_over_pdf(a[lower], b[lower], x[lower])
        da[lower], db[lower] = -dp, -dq
    upper = ~lower
    if upper.any():
        dp, dq = _betainc_grads_over_pdf(b[upper], a[upper], 1 - x[upper])
        da[upper], db[upper] = dq, dp
    return da, db


def _dirichlet_draw_grad(x, a) -> np.ndarray:
    """D_j = (∂x_j/∂α_j) / (1 − x_j) of a Dirichlet draw x (categories along the last
    axis), its Beta(α_j, α₀ − α_j) marginal's at a fixed quantile."""
    x, a = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(a, dtype=np.float64))
    return beta_sample_grads(x, a, a.sum(-1, keepdims=True) - a)[0] / (1 - x)


def dirichlet_rsample(concentration, shape):
    """Draws of Dirichlet(concentration) (categories along the last axis), normalised
    Gamma draws, that differentiate in ``concentration`` as PyTorch's do: each x_j moves
    as a draw of its Beta(α_j, α₀ − α_j) marginal at a fixed quantile and the others in
    proportion, dx_k/dα_j = D_j (δ_kj − x_k) (:func:`_dirichlet_draw_grad`), carried by a
    term of value 0."""
    alpha = cnp.broadcast_to(concentration, tuple(shape))
    g = noise("standard_gamma", shape, np.float64, alpha)
    eps = np.finfo(alpha.dtype).eps
    x = cnp.clip(g / g.sum(-1, keepdims=True), np.finfo(alpha.dtype).tiny, 1 - eps / 2)
    draw = cnp.astype(x, alpha.dtype)
    if not _differentiated(alpha):
        return draw
    moved = cnp.astype(DIRICHLET_DRAW_GRAD(x, alpha), alpha.dtype) * (alpha - stop_gradient(alpha))
    return draw + moved - draw * moved.sum(-1, keepdims=True)


# the derivatives of the draws: data for the differentiating traces, calls that jit records
# and vmap batches (the examples' arrays broadcast together, each along its last axis)
GAMMA_DRAW_GRAD, DIRICHLET_DRAW_GRAD = unboxing(_gamma_draw_grad), unboxing(_dirichlet_draw_grad)
batching.NONDIFF_BATCH[_gamma_draw_grad] = batching.NONDIFF_BATCH[_dirichlet_draw_grad] = batching.nondiff_elementwise


def dirichlet_mode(c):
    """PyTorch's Dirichlet mode: the normalised (c - 1)⁺, or the corner of the largest
    entry where every concentration is below 1."""
    cm1 = cnp.clip(c - 1, 0, None)
    mode = cm1 / cm1.sum(-1, keepdims=True)
    corner = cnp.take(np.eye(c.shape[-1], dtype=c.dtype), cnp.argmax(mode, -1), axis=0)
    return cnp.where((c < 1).all(-1, keepdims=True), corner, mode)


class _LocScale(Distribution):
    """A family ``loc + scale·X`` for a standard X: rsample draws X and scales it."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    _standard = "standard_normal"

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def rsample(self, sample_shape=()):
        eps = noise(self._standard, self._extended_shape(sample_shape), self.loc.dtype, like=self)
        return self.loc + eps * self.scale

    @property
    def mode(self):
        return self.loc


class Normal(_LocScale, ExponentialFamily):
    """Mean ``loc``, standard deviation ``scale``."""

    @property
    def mean(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale ** 2

    def log_prob(self, value):
        value = self._checked(value)
        return -((value - self.loc) ** 2) / (2 * self.scale ** 2) - cnp.log(self.scale) - _LOG_SQRT_2PI

    def cdf(self, value):
        value = self._checked(value)
        # times 1/scale, as PyTorch's: at an extreme z the derivative in scale is then 0·z
        # and 0·(1/scale)², not 0·((x - loc)/scale²) = 0·inf = nan
        return 0.5 * (1 + sp.erf((value - self.loc) * cnp.reciprocal(self.scale) / math.sqrt(2)))

    def icdf(self, value):
        return self.loc + self.scale * sp.erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self):
        return 0.5 + _LOG_SQRT_2PI + cnp.log(self.scale)

    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return (self.loc / self.scale ** 2, -0.5 / self.scale ** 2)

    def _log_normalizer(self, x, y):
        return -0.25 * x ** 2 / y + 0.5 * cnp.log(-math.pi / y)


class Laplace(_LocScale):
    """Density exp(-|x - loc| / scale) / (2 scale)."""

    def rsample(self, sample_shape=()):
        u = noise("uniform", self._extended_shape(sample_shape), self.loc.dtype,
                  np.nextafter(-1.0, 0.0), 1.0, like=self)
        return self.loc - self.scale * cnp.sign(u) * cnp.log1p(-cnp.abs(u))

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale ** 2

    @property
    def stddev(self):
        return math.sqrt(2) * self.scale

    def log_prob(self, value):
        value = self._checked(value)
        return -cnp.log(2 * self.scale) - cnp.abs(value - self.loc) / self.scale

    def cdf(self, value):
        value = self._checked(value)
        return 0.5 - 0.5 * cnp.sign(value - self.loc) * cnp.expm1(-cnp.abs(value - self.loc) / self.scale)

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * cnp.sign(term) * cnp.log1p(-2 * cnp.abs(term))

    def entropy(self):
        return 1 + cnp.log(2 * self.scale)


class Cauchy(_LocScale):
    """Density 1 / (π scale (1 + ((x - loc) / scale)²)); no mean or variance."""

    _standard = "standard_cauchy"

    @property
    def mean(self):
        return _full(self.loc, np.nan)

    @property
    def variance(self):
        return _full(self.loc, np.inf)

    def log_prob(self, value):
        value = self._checked(value)
        return -math.log(math.pi) - cnp.log(self.scale) - cnp.log1p(((value - self.loc) / self.scale) ** 2)

    def cdf(self, value):
        value = self._checked(value)
        return cnp.arctan((value - self.loc) / self.scale) / math.pi + 0.5

    def icdf(self, value):
        return cnp.tan(math.pi * (value - 0.5)) * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + cnp.log(self.scale)


class Uniform(Distribution):
    """Uniform on [``low``, ``high``)."""

    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(self.low.shape, validate_args=validate_args)

    @property
    def arg_constraints(self):
        return {"low": constraints.less_than(self.high), "high": constraints.greater_than(self.low)}

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def mode(self):
        return np.nan * self.high

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=()):
        u = noise("random", self._extended_shape(sample_shape), self.low.dtype, like=self)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        value = self._checked(value)
        inside = ((self.low <= value) & (self.high > value)).astype(self.low.dtype)
        return cnp.log(inside) - cnp.log(self.high - self.low)

    def cdf(self, value):
        value = self._checked(value)
        return cnp.clip((value - self.low) / (self.high - self.low), 0, 1)

    def icdf(self, value):
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return cnp.log(self.high - self.low)


class Exponential(ExponentialFamily):
    """Density rate·exp(-rate·x) on x ≥ 0."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self):
        return 1 / self.rate

    @property
    def mode(self):
        return _full(self.rate, 0.0)

    @property
    def stddev(self):
        return 1 / self.rate

    @property
    def variance(self):
        return self.rate ** -2

    def rsample(self, sample_shape=()):
        return noise("standard_exponential", self._extended_shape(sample_shape), self.rate.dtype, like=self) / self.rate

    def log_prob(self, value):
        value = self._checked(value)
        return cnp.log(self.rate) - self.rate * value

    def cdf(self, value):
        value = self._checked(value)
        return 1 - cnp.exp(-self.rate * value)

    def icdf(self, value):
        return -cnp.log1p(-value) / self.rate

    def entropy(self):
        return 1.0 - cnp.log(self.rate)

    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return (-self.rate,)

    def _log_normalizer(self, x):
        return -cnp.log(-x)


class Gamma(ExponentialFamily):
    """Shape ``concentration``, inverse scale ``rate``."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    has_rsample = True
    support = constraints.nonnegative

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return cnp.clip((self.concentration - 1) / self.rate, 0, None)

    @property
    def variance(self):
        return self.concentration / self.rate ** 2

    def rsample(self, sample_shape=()):
        g = standard_gamma_rsample(self.concentration, self._extended_shape(sample_shape)) / self.rate
        return cnp.clip(g, np.finfo(self.rate.dtype).tiny, None)

    def log_prob(self, value):
        value = self._checked(value).astype(self.rate.dtype)  # as PyTorch's: in the rate's dtype
        c, r = self.concentration, self.rate
        return sp.xlogy(c, r) + sp.xlogy(c - 1, value) - r * value - sp.gammaln(c)

    def cdf(self, value):
        value = self._checked(value)
        return sp.gammainc(self.concentration, self.rate * value)

    def entropy(self):
        c = self.concentration
        return c - cnp.log(self.rate) + sp.gammaln(c) + (1.0 - c) * sp.digamma(c)

    _mean_carrier_measure = 0

    @property
    def _natural_params(self):
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return sp.gammaln(x + 1) + (x + 1) * cnp.log(-1 / y)


class Beta(ExponentialFamily):
    """Density x^(c1-1) (1-x)^(c0-1) / B(c1, c0) on [0, 1]; rsample is the first entry of
    a Dirichlet draw of (c1, c0), as PyTorch's."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    has_rsample = True
    support = constraints.unit_interval

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        super().__init__(self.concentration1.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return dirichlet_mode(cnp.stack([self.concentration1, self.concentration0], -1))[..., 0]

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total ** 2 * (total + 1))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        both = cnp.stack([cnp.broadcast_to(c, shape) for c in (self.concentration1, self.concentration0)], -1)
        return dirichlet_rsample(both, (*shape, 2))[..., 0]

    def log_prob(self, value):
        value = self._checked(value)
        a, b = self.concentration1, self.concentration0
        return sp.xlogy(a - 1, value) + sp.xlogy(b - 1, 1 - value) + sp.gammaln(a + b) - sp.gammaln(a) - sp.gammaln(b)

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        return (sp.gammaln(a) + sp.gammaln(b) - sp.gammaln(a + b) - (2 - a - b) * sp.digamma(a + b)
                - (a - 1) * sp.digamma(a) - (b - 1) * sp.digamma(b))

    @property
    def _natural_params(self):
        return (self.concentration1, self.concentration0)

    def _log_normalizer(self, x, y):
        return sp.gammaln(x) + sp.gammaln(y) - sp.gammaln(x + y)


class StudentT(Distribution):
    """Student's t with ``df`` degrees of freedom, location ``loc`` and scale ``scale``;
    rsample is loc + scale·X / sqrt(χ²/df), the χ² a reparameterised Gamma draw."""

    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    has_rsample = True
    support = constraints.real

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        super().__init__(self.df.shape, validate_args=validate_args)

    @property
    def mean(self):
        return cnp.where(self.df > 1, self.loc, np.nan)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        df = self.df
        finite = self.scale ** 2 * df / cnp.where(df > 2, df - 2, 1.0)
        return cnp.where(df > 1, cnp.where(df > 2, finite, np.inf), np.nan)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        x = noise("standard_normal", shape, self.df.dtype, like=self)
        chi2 = 2 * standard_gamma_rsample(0.5 * self.df, shape)
        return self.loc + self.scale * x / cnp.sqrt(chi2 / self.df)

    def log_prob(self, value):
        value = self._checked(value)
        y = (value - self.loc) / self.scale
        z = (cnp.log(self.scale) + 0.5 * cnp.log(self.df) + 0.5 * math.log(math.pi)
             + sp.gammaln(0.5 * self.df) - sp.gammaln(0.5 * (self.df + 1.0)))
        return -0.5 * (self.df + 1.0) * cnp.log1p(y ** 2 / self.df) - z

    def entropy(self):
        df = self.df
        lbeta = sp.gammaln(0.5 * df) + math.lgamma(0.5) - sp.gammaln(0.5 * (df + 1))
        return (cnp.log(self.scale) + 0.5 * (df + 1) * (sp.digamma(0.5 * (df + 1)) - sp.digamma(0.5 * df))
                + 0.5 * cnp.log(df) + lbeta)

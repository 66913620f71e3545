"""``torch.distributions.transforms`` and ``TransformedDistribution``: a base distribution
pushed through invertible maps (normalising flows, a SAC policy's ``tanh``-squashed
Normal), with ``log_prob`` corrected by the log-determinant of each map's Jacobian.

>>> import chainrule as cr
>>> from chainrule.distributions import Normal
>>> d = TransformedDistribution(Normal(0.0, 1.0), [ExpTransform()])   # a LogNormal
>>> round(d.log_prob(cr.tensor(2.0)).item(), 6)
-1.852312
"""

from __future__ import annotations

import math
import numbers

import numpy as np

import chainrule.nn.functional as F
import chainrule.numpy as cnp
from chainrule.core.grad_mode import no_grad
from chainrule.distributions import constraints
from chainrule.distributions.distribution import Distribution, as_tensor, sum_rightmost
from chainrule.distributions.multivariate import Independent
from chainrule.distributions.utils import tril_matrix_to_vec, vec_to_tril_matrix

__all__ = ["Transform", "ComposeTransform", "ExpTransform", "AffineTransform", "SigmoidTransform", "TanhTransform",
           "PowerTransform", "SoftplusTransform", "TransformedDistribution", "AbsTransform", "CatTransform",
           "CorrCholeskyTransform",
           "CumulativeDistributionTransform", "IndependentTransform", "LowerCholeskyTransform",
           "PositiveDefiniteTransform", "ReshapeTransform", "SoftmaxTransform", "StackTransform",
           "StickBreakingTransform", "identity_transform"]


class Transform:
    """An invertible map: ``t(x)``, ``t.inv(y)``, ``t.log_abs_det_jacobian(x, y)``, and the
    sets it maps between (``domain``, ``codomain``).

    ``cache_size=1`` keeps the last pair (x, y), as PyTorch does: ``t.inv(y)`` of the very
    ``y`` that ``t(x)`` returned is that ``x``, not ``t``'s inverse computed again (a SAC
    policy's ``tanh`` draw rounded to ±1 has a finite ``log_prob`` so)."""

    bijective = True
    domain = constraints.real
    codomain = constraints.real
    # chainrule.jit watches a transform that a jitted function reads (t.scale = ...)
    __jit_watch__ = True
    _cache_size = 0
    _cached_x_y = (None, None)

    def __init__(self, cache_size: int = 0):
        if cache_size not in (0, 1):
            raise ValueError(f"cache_size must be 0 or 1, but was {cache_size!r}")
        self._cache_size = cache_size
        self._cached_x_y = (None, None)

    def with_cache(self, cache_size: int = 1) -> Transform:
        """This transform with ``cache_size`` (itself where it already has it)."""
        if self._cache_size == cache_size:
            return self
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        raise NotImplementedError(f"{type(self).__name__}.with_cache is not implemented")

    @property
    def event_dim(self) -> int:
        return self.domain.event_dim

    @property
    def sign(self):
        """+1 where the map increases, -1 where it decreases (bijections of the reals only)."""
        raise NotImplementedError(f"{type(self).__name__} has no sign: it is not a monotone map of the reals")

    @property
    def inv(self) -> Transform:
        return _InverseTransform(self)

    def __call__(self, x):
        if not self._cache_size:
            return self._call(x)
        x_old, y_old = self._cached_x_y
        if x is x_old:
            return y_old
        y = self._call(x)
        self._cached_x_y = x, y
        return y

    def _inv_call(self, y):
        if not self._cache_size:
            return self._inverse(y)
        x_old, y_old = self._cached_x_y
        if y is y_old:
            return x_old
        x = self._inverse(y)
        self._cached_x_y = x, y
        return x

    def _call(self, x):
        raise NotImplementedError

    def _inverse(self, y):
        raise NotImplementedError

    def log_abs_det_jacobian(self, x, y):
        raise NotImplementedError

    def forward_shape(self, shape):
        return shape

    def inverse_shape(self, shape):
        return shape

    def __eq__(self, other):
        return type(self) is type(other)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = object.__hash__

    def __repr__(self):
        return type(self).__name__ + "()"


class _InverseTransform(Transform):
    def __init__(self, transform: Transform):
        super().__init__(cache_size=transform._cache_size)
        self._inv = transform

    domain = property(lambda self: self._inv.codomain)
    codomain = property(lambda self: self._inv.domain)
    inv = property(lambda self: self._inv)
    sign = property(lambda self: self._inv.sign)

    def __call__(self, x):
        return self._inv._inv_call(x)

    def _inv_call(self, y):
        return self._inv(y)

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self._inv.with_cache(cache_size).inv

    def _call(self, x):
        return self._inv._inverse(x)

    def _inverse(self, y):
        return self._inv._call(y)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inv.forward_shape(shape)

    def __eq__(self, other):
        return isinstance(other, _InverseTransform) and self._inv == other._inv


class ComposeTransform(Transform):
    """``parts`` applied in order."""

    def __init__(self, parts, cache_size: int = 0):
        if cache_size:
            parts = [part.with_cache(cache_size) for part in parts]
        super().__init__(cache_size=cache_size)
        self.parts = list(parts)

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self if self._cache_size == cache_size else ComposeTransform(self.parts, cache_size=cache_size)

    def __eq__(self, other):
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    @property
    def sign(self):
        sign = 1
        for part in self.parts:
            sign = sign * part.sign
        return sign

    @property
    def domain(self):
        if not self.parts:
            return constraints.real
        domain, event_dim = self.parts[0].domain, self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            event_dim = max(event_dim + part.domain.event_dim - part.codomain.event_dim, part.domain.event_dim)
        return constraints.independent(domain, event_dim - domain.event_dim) if event_dim > domain.event_dim \
            else domain

    @property
    def codomain(self):
        if not self.parts:
            return constraints.real
        codomain, event_dim = self.parts[-1].codomain, self.parts[0].domain.event_dim
        for part in self.parts:
            event_dim = max(event_dim + part.codomain.event_dim - part.domain.event_dim, part.codomain.event_dim)
        return constraints.independent(codomain, event_dim - codomain.event_dim) \
            if event_dim > codomain.event_dim else codomain

    def _call(self, x):
        for part in self.parts:
            x = part(x)
        return x

    def forward_shape(self, shape):
        for part in self.parts:
            shape = part.forward_shape(shape)
        return shape

    def inverse_shape(self, shape):
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return shape

    def _inverse(self, y):
        for part in reversed(self.parts):
            y = part.inv(y)
        return y

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return cnp.zeros_like(x)
        xs = [x]
        for part in self.parts[:-1]:
            xs.append(part(xs[-1]))
        xs.append(y)
        total, event_dim = 0.0, self.domain.event_dim
        for part, a, b in zip(self.parts, xs[:-1], xs[1:], strict=True):
            total = total + sum_rightmost(part.log_abs_det_jacobian(a, b), event_dim - part.domain.event_dim)
            event_dim += part.codomain.event_dim - part.domain.event_dim
        return total


class ExpTransform(Transform):
    """y = exp(x)."""

    sign = 1

    codomain = constraints.positive

    def _call(self, x):
        return cnp.exp(x)

    def _inverse(self, y):
        return cnp.log(y)

    def log_abs_det_jacobian(self, x, y):
        return x


class PowerTransform(Transform):
    """y = x ** exponent on the positive reals."""

    domain = codomain = constraints.positive

    def __init__(self, exponent, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.exponent = as_tensor(exponent) if not isinstance(exponent, numbers.Real) else exponent

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self if self._cache_size == cache_size else PowerTransform(self.exponent, cache_size=cache_size)

    def __eq__(self, other):
        return isinstance(other, PowerTransform) and bool(np.all(np.asarray(self.exponent == other.exponent)))

    @property
    def sign(self):
        return cnp.sign(self.exponent) if not isinstance(self.exponent, numbers.Real) else math.copysign(
            1, self.exponent)

    def _call(self, x):
        return x ** self.exponent

    def _inverse(self, y):
        return y ** (1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):
        return cnp.log(cnp.abs(self.exponent * y / x))


class SigmoidTransform(Transform):
    """y = sigmoid(x), clamped into (0, 1) as PyTorch clamps it."""

    sign = 1

    codomain = constraints.unit_interval

    def _call(self, x):
        info = np.finfo(x.dtype)
        return cnp.clip(F.sigmoid(x), float(info.tiny), 1.0 - float(info.eps))

    def _inverse(self, y):
        info = np.finfo(y.dtype)
        y = cnp.clip(y, float(info.tiny), 1.0 - float(info.eps))
        return cnp.log(y) - cnp.log1p(-y)

    def log_abs_det_jacobian(self, x, y):
        return -F.softplus(-x) - F.softplus(x)


class SoftplusTransform(Transform):
    """y = log(1 + exp(x)), onto the positive reals (PyTorch's inverse, log(-expm1(-y)) + y)."""

    sign = 1

    codomain = constraints.positive

    def _call(self, x):
        return F.softplus(x)

    def _inverse(self, y):
        return cnp.log(-cnp.expm1(-y)) + y

    def log_abs_det_jacobian(self, x, y):
        return -F.softplus(-x)


class TanhTransform(Transform):
    """y = tanh(x), with PyTorch's stable log-Jacobian 2 (log 2 - x - softplus(-2x))."""

    sign = 1

    codomain = constraints.interval(-1.0, 1.0)

    def _call(self, x):
        return cnp.tanh(x)

    def _inverse(self, y):
        return cnp.arctanh(y)

    def log_abs_det_jacobian(self, x, y):
        return 2.0 * (math.log(2.0) - x - F.softplus(-2.0 * x))


class AffineTransform(Transform):
    """y = loc + scale·x; ``event_dim`` dimensions make one event (the log-Jacobian sums
    over them)."""

    def __init__(self, loc, scale, event_dim: int = 0, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.loc, self.scale, self._event_dim = loc, scale, int(event_dim)

    @property
    def event_dim(self):
        return self._event_dim

    @property
    def domain(self):
        return constraints.real if self._event_dim == 0 else constraints.independent(constraints.real,
                                                                                      self._event_dim)

    codomain = domain

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self if self._cache_size == cache_size else AffineTransform(
            self.loc, self.scale, self._event_dim, cache_size=cache_size)

    def __eq__(self, other):
        if not isinstance(other, AffineTransform):
            return False
        return all(bool(np.all(np.asarray(a == b))) for a, b in ((self.loc, other.loc), (self.scale, other.scale)))

    @property
    def sign(self):
        return cnp.sign(self.scale) if not isinstance(self.scale, numbers.Real) else math.copysign(1, self.scale)

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        shape = tuple(x.shape)
        if isinstance(self.scale, numbers.Real):
            result = cnp.full(x.shape, math.log(abs(self.scale)), dtype=x.dtype)
        else:
            result = cnp.log(cnp.abs(self.scale))
        if self._event_dim:
            result = sum_rightmost(cnp.broadcast_to(result, np.broadcast_shapes(result.shape, shape)), self._event_dim)
            shape = shape[:len(shape) - self._event_dim]
        return cnp.broadcast_to(as_tensor(result), shape)


class TransformedDistribution(Distribution):
    """``base_distribution`` pushed through ``transforms`` (one Transform or a list)."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution, transforms, validate_args=None):
        if isinstance(transforms, Transform):
            transforms = [transforms]
        elif not (isinstance(transforms, list) and all(isinstance(t, Transform) for t in transforms)):
            raise ValueError(f"transforms must be a Transform or a list of Transforms, but was {transforms}")
        self.transforms = transforms
        transform = ComposeTransform(transforms)
        base_shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        if len(base_shape) < transform.domain.event_dim:
            raise ValueError(f"base_distribution needs to have shape with size at least "
                             f"{transform.domain.event_dim}, but got {base_shape}.")
        reinterpreted = transform.domain.event_dim - len(base_distribution.event_shape)
        if reinterpreted > 0:
            base_distribution = Independent(base_distribution, reinterpreted)
        self.base_dist = base_distribution
        change = transform.codomain.event_dim - transform.domain.event_dim
        event_dim = max(transform.codomain.event_dim, len(base_distribution.event_shape) + change)
        shape = tuple(transform.forward_shape(base_shape))  # (StickBreakingTransform adds an entry)
        cut = len(shape) - event_dim
        super().__init__(shape[:cut], shape[cut:], validate_args=validate_args)

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @constraints.dependent_property
    def support(self):
        if not self.transforms:
            return self.base_dist.support
        support = self.transforms[-1].codomain
        if len(self.event_shape) > support.event_dim:
            support = constraints.independent(support, len(self.event_shape) - support.event_dim)
        return support

    def expand(self, batch_shape, _instance=None):
        base = self.base_dist.expand(tuple(batch_shape) + tuple(self.base_dist.batch_shape[len(self.batch_shape):]))
        return TransformedDistribution(base, self.transforms, validate_args=self._validate_args)

    def rsample(self, sample_shape=()):
        x = self.base_dist.rsample(sample_shape)
        for transform in self.transforms:
            x = transform(x)
        return x

    def sample(self, sample_shape=()):
        with no_grad():
            x = self.base_dist.sample(sample_shape)
            for transform in self.transforms:
                x = transform(x)
            return x

    def log_prob(self, value):
        y = self._checked(value)
        event_dim, log_prob = len(self.event_shape), 0.0
        for transform in reversed(self.transforms):
            x = transform.inv(y)
            event_dim += transform.domain.event_dim - transform.codomain.event_dim
            log_prob = log_prob - sum_rightmost(transform.log_abs_det_jacobian(x, y),
                                                event_dim - transform.domain.event_dim)
            y = x
        return log_prob + sum_rightmost(self.base_dist.log_prob(y), event_dim - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value):
        sign = ComposeTransform(self.transforms).sign
        if isinstance(sign, numbers.Real) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value):
        value = as_tensor(value)
        for transform in reversed(self.transforms):
            value = transform.inv(value)
        if self._validating():
            self.base_dist._validate_sample(value)
        return self._monotonize_cdf(self.base_dist.cdf(value))

    def icdf(self, value):
        value = self.base_dist.icdf(self._monotonize_cdf(as_tensor(value)))
        for transform in self.transforms:
            value = transform(value)
        return value

    def __repr__(self):
        return f"TransformedDistribution({self.base_dist!r}, {self.transforms})"


class AbsTransform(Transform):
    """y = |x| (not bijective: the inverse gives the positive root)."""

    bijective = False
    codomain = constraints.positive

    def _call(self, x):
        return cnp.abs(x)

    def _inverse(self, y):
        return y


def _clipped_sigmoid(x):
    info = np.finfo(x.dtype)
    return cnp.clip(F.sigmoid(x), float(info.tiny), 1.0 - float(info.eps))


def _stick_offset(n: int, dtype):
    return cnp.log(cnp.asarray(np.arange(n, 0, -1, dtype=dtype)))


class StickBreakingTransform(Transform):
    """Unconstrained vectors of length K onto the simplex of K + 1 entries, by breaking
    a stick (a bijection, unlike softmax)."""

    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x):
        z = _clipped_sigmoid(x - _stick_offset(x.shape[-1], x.dtype))
        pad = [(0, 0)] * (z.ndim - 1)
        z_cumprod = cnp.cumprod(1 - z, axis=-1)
        return (cnp.pad(z, pad + [(0, 1)], constant_values=1.0)
                * cnp.pad(z_cumprod, pad + [(1, 0)], constant_values=1.0))

    def _inverse(self, y):
        y_crop = y[..., :-1]
        sf = cnp.maximum(1 - cnp.cumsum(y_crop, axis=-1), float(np.finfo(y.dtype).tiny))
        return cnp.log(y_crop) - cnp.log(sf) + _stick_offset(y_crop.shape[-1], y.dtype)

    def log_abs_det_jacobian(self, x, y):
        x = x - _stick_offset(x.shape[-1], x.dtype)
        return (-x + F.logsigmoid(x) + cnp.log(y[..., :-1])).sum(-1)

    def forward_shape(self, shape):
        return tuple(shape[:-1]) + (shape[-1] + 1,)

    def inverse_shape(self, shape):
        return tuple(shape[:-1]) + (shape[-1] - 1,)


class SoftmaxTransform(Transform):
    """Unconstrained vectors onto the simplex by softmax (not bijective: the inverse is log)."""

    bijective = False
    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x):
        probs = cnp.exp(x - cnp.max(x, axis=-1, keepdims=True))
        return probs / probs.sum(-1, keepdim=True)

    def _inverse(self, y):
        return cnp.log(y)


class LowerCholeskyTransform(Transform):
    """Square matrices onto lower-triangular ones with a positive diagonal: the strict
    lower triangle kept, the diagonal exponentiated."""

    bijective = False
    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def _call(self, x):
        return x.tril(-1) + cnp.exp(x.diagonal(dim1=-2, dim2=-1)).diag_embed()

    def _inverse(self, y):
        return y.tril(-1) + cnp.log(y.diagonal(dim1=-2, dim2=-1)).diag_embed()


class PositiveDefiniteTransform(Transform):
    """Square matrices onto positive-definite ones: L Lᵀ of their LowerCholeskyTransform."""

    bijective = False
    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def _call(self, x):
        lower = LowerCholeskyTransform()(x)
        return lower @ lower.mT

    def _inverse(self, y):
        return LowerCholeskyTransform().inv(cnp.linalg.cholesky(y))


class IndependentTransform(Transform):
    """``base_transform`` with its ``reinterpreted_batch_ndims`` rightmost batch dimensions
    made event dimensions (the log-Jacobian sums over them)."""

    def __init__(self, base_transform: Transform, reinterpreted_batch_ndims: int, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = int(reinterpreted_batch_ndims)

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self if self._cache_size == cache_size else IndependentTransform(
            self.base_transform, self.reinterpreted_batch_ndims, cache_size=cache_size)

    domain = property(lambda self: constraints.independent(self.base_transform.domain, self.reinterpreted_batch_ndims))
    codomain = property(lambda self: constraints.independent(self.base_transform.codomain,
                                                             self.reinterpreted_batch_ndims))
    bijective = property(lambda self: self.base_transform.bijective)
    sign = property(lambda self: self.base_transform.sign)

    def _call(self, x):
        return self.base_transform(x)

    def _inverse(self, y):
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        return sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y), self.reinterpreted_batch_ndims)

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)


class ReshapeTransform(Transform):
    """The rightmost dimensions ``in_shape`` reshaped to ``out_shape`` (volume-preserving)."""

    def __init__(self, in_shape, out_shape, cache_size: int = 0):
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        if math.prod(self.in_shape) != math.prod(self.out_shape):
            raise ValueError("in_shape, out_shape have different numbers of elements")
        super().__init__(cache_size=cache_size)

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self if self._cache_size == cache_size else ReshapeTransform(
            self.in_shape, self.out_shape, cache_size=cache_size)

    domain = property(lambda self: constraints.independent(constraints.real, len(self.in_shape)))
    codomain = property(lambda self: constraints.independent(constraints.real, len(self.out_shape)))

    def _call(self, x):
        return x.reshape(tuple(x.shape[:x.ndim - len(self.in_shape)]) + self.out_shape)

    def _inverse(self, y):
        return y.reshape(tuple(y.shape[:y.ndim - len(self.out_shape)]) + self.in_shape)

    def log_abs_det_jacobian(self, x, y):
        return x.new_zeros(tuple(x.shape[:x.ndim - len(self.in_shape)]))

    def forward_shape(self, shape):
        return tuple(shape[:len(shape) - len(self.in_shape)]) + self.out_shape

    def inverse_shape(self, shape):
        return tuple(shape[:len(shape) - len(self.out_shape)]) + self.in_shape


class CatTransform(Transform):
    """``tseq[i]`` on the ``lengths[i]`` consecutive slices along ``dim``, the results
    concatenated."""

    def __init__(self, tseq, dim: int = 0, lengths=None, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.transforms = [t.with_cache(cache_size) for t in tseq]
        self.lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.transforms):
            raise ValueError(f"CatTransform takes one length per transform: {len(self.transforms)} transforms, "
                             f"{len(self.lengths)} lengths")
        self.dim = dim

    event_dim = property(lambda self: max(t.event_dim for t in self.transforms))
    bijective = property(lambda self: all(t.bijective for t in self.transforms))
    domain = property(lambda self: constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths))
    codomain = property(lambda self: constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths))

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self if self._cache_size == cache_size else CatTransform(
            self.transforms, self.dim, self.lengths, cache_size=cache_size)

    def _slices(self, x):
        if not -x.ndim <= self.dim < x.ndim or x.shape[self.dim] != sum(self.lengths):
            raise ValueError(f"CatTransform needs {sum(self.lengths)} entries along dim {self.dim}, "
                             f"but got shape {tuple(x.shape)}")
        starts = np.cumsum([0] + self.lengths[:-1])
        return [x.narrow(self.dim, int(s), n) for s, n in zip(starts, self.lengths, strict=True)]

    def _call(self, x):
        return cnp.concatenate([t(s) for t, s in zip(self.transforms, self._slices(x), strict=True)], self.dim)

    def _inverse(self, y):
        return cnp.concatenate([t.inv(s) for t, s in zip(self.transforms, self._slices(y), strict=True)], self.dim)

    def log_abs_det_jacobian(self, x, y):
        parts = []
        for t, xs, ys in zip(self.transforms, self._slices(x), self._slices(y), strict=True):
            part = t.log_abs_det_jacobian(xs, ys)
            parts.append(sum_rightmost(part, self.event_dim - t.event_dim) if t.event_dim < self.event_dim else part)
        dim = (self.dim - x.ndim if self.dim >= 0 else self.dim) + self.event_dim
        return cnp.concatenate(parts, dim) if dim < 0 else sum(parts)


class StackTransform(Transform):
    """``tseq[i]`` on the ``i``-th index along ``dim``, the results stacked."""

    def __init__(self, tseq, dim: int = 0, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.transforms = [t.with_cache(cache_size) for t in tseq]
        self.dim = dim

    bijective = property(lambda self: all(t.bijective for t in self.transforms))
    domain = property(lambda self: constraints.stack([t.domain for t in self.transforms], self.dim))
    codomain = property(lambda self: constraints.stack([t.codomain for t in self.transforms], self.dim))

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self if self._cache_size == cache_size else StackTransform(self.transforms, self.dim, cache_size)

    def _slices(self, x):
        if not -x.ndim <= self.dim < x.ndim or x.shape[self.dim] != len(self.transforms):
            raise ValueError(f"StackTransform needs {len(self.transforms)} entries along dim {self.dim}, "
                             f"but got shape {tuple(x.shape)}")
        return [x.select(self.dim, i) for i in range(len(self.transforms))]

    def _call(self, x):
        return cnp.stack([t(s) for t, s in zip(self.transforms, self._slices(x), strict=True)], self.dim)

    def _inverse(self, y):
        return cnp.stack([t.inv(s) for t, s in zip(self.transforms, self._slices(y), strict=True)], self.dim)

    def log_abs_det_jacobian(self, x, y):
        return cnp.stack([t.log_abs_det_jacobian(a, b) for t, a, b in
                          zip(self.transforms, self._slices(x), self._slices(y), strict=True)], self.dim)


class CumulativeDistributionTransform(Transform):
    """x ↦ ``distribution.cdf(x)``, onto the unit interval (a copula's marginal)."""

    sign = 1

    codomain = constraints.unit_interval

    def __init__(self, distribution, cache_size: int = 0):
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    domain = property(lambda self: self.distribution.support)

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self if self._cache_size == cache_size else CumulativeDistributionTransform(
            self.distribution, cache_size=cache_size)

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)


class CorrCholeskyTransform(Transform):
    """Vectors of D(D − 1)/2 reals onto Cholesky factors of D × D correlation matrices:
    tanh into (−1, 1), then stick-breaking row by row so each row has unit length (Stan's
    and PyTorch's; the log-Jacobian is of the factor's strict lower triangle)."""

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky

    def _call(self, x):
        eps = float(np.finfo(x.dtype).eps)
        r = vec_to_tril_matrix(cnp.clip(cnp.tanh(x), -1 + eps, 1 - eps), diag=-1)
        z1m_cumprod_sqrt = cnp.cumprod(cnp.sqrt(1 - r ** 2), axis=-1)
        pad = [(0, 0)] * (r.ndim - 1) + [(1, 0)]
        return (r + cnp.eye(r.shape[-1], dtype=r.dtype)) * cnp.pad(z1m_cumprod_sqrt[..., :-1], pad,
                                                                    constant_values=1.0)

    def _inverse(self, y):
        y_cumsum = 1 - cnp.cumsum(y * y, axis=-1)
        pad = [(0, 0)] * (y.ndim - 1) + [(1, 0)]
        shifted = cnp.pad(y_cumsum[..., :-1], pad, constant_values=1.0)
        t = tril_matrix_to_vec(y, diag=-1) / cnp.sqrt(tril_matrix_to_vec(shifted, diag=-1))
        return (cnp.log1p(t) - cnp.log1p(-t)) / 2

    def log_abs_det_jacobian(self, x, y):
        y1m_cumsum_tril = tril_matrix_to_vec(1 - cnp.cumsum(y * y, axis=-1), diag=-2)
        stick_breaking_logdet = 0.5 * cnp.log(y1m_cumsum_tril).sum(-1)
        tanh_logdet = -2 * (x + F.softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick_breaking_logdet + tanh_logdet

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        n = shape[-1]
        d = round((0.25 + 2 * n) ** 0.5 + 0.5)
        if d * (d - 1) // 2 != n:
            raise ValueError("Input is not a flattend lower-diagonal number")
        return tuple(shape[:-1]) + (d, d)

    def inverse_shape(self, shape):
        if len(shape) < 2:
            raise ValueError("Too few dimensions on input")
        if shape[-2] != shape[-1]:
            raise ValueError("Input is not square")
        d = shape[-1]
        return tuple(shape[:-2]) + (d * (d - 1) // 2,)


identity_transform = ComposeTransform([])

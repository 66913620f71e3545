"""``torch.distributions.constraints``: the sets a parameter or a value must lie in, with
PyTorch's names and reprs (they appear in the ``validate_args`` errors).
``constraint.check(value)`` is a boolean Tensor, one entry per distribution in the batch.

>>> import chainrule as cr
>>> positive.check(cr.tensor([1.0, -1.0])).tolist(), repr(unit_interval)
([True, False], 'Interval(lower_bound=0.0, upper_bound=1.0)')
"""

from __future__ import annotations

import copy

import numpy as np

from chainrule.core.eager import EAGER
from chainrule.core.primitive import RECORDING
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.values import plain
from chainrule.numpy import batching
from chainrule.numpy.nondiff import batched, unboxing, whole_batch

__all__ = [
    "Constraint", "MixtureSameFamilyConstraint", "boolean", "cat", "corr_cholesky", "dependent", "dependent_property",
    "greater_than", "greater_than_eq", "half_open_interval", "independent", "integer_interval", "interval",
    "is_dependent", "less_than", "lower_cholesky", "lower_triangular", "multinomial", "nonnegative",
    "nonnegative_integer", "one_hot", "positive", "positive_definite", "positive_integer", "positive_semidefinite",
    "real", "real_vector", "simplex", "square", "stack", "symmetric", "unit_interval",
]


def _np(x) -> np.ndarray:
    return np.asarray(plain(x))


def _bound(b):
    if batched(b):  # (the examples' bounds of a vmap, as a batch's)
        return whole_batch(b)
    return b.item() if isinstance(b, Tensor) and b.numel() == 1 else b


class Constraint:
    """A set of values: ``check`` says which entries belong to it; ``event_dim`` is how
    many rightmost dimensions make one element (1 for vectors, 2 for matrices)."""

    is_discrete = False
    event_dim = 0

    def check(self, value) -> Tensor:
        if RECORDING[0]:
            args = [undifferentiated(v) for v in (value, *(t for t, _ in _tensors(self)))]
            if any(isinstance(v, Tensor) and (v._trace.records or v._trace.batches) for v in args):
                return _CHECK(self, *args)  # under jit or vmap: a recorded call on the traced values
        return Tensor(self._check(_np(value)), EAGER)

    def _check(self, v: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.__class__.__name__[1:] + "()"


class _Dependent(Constraint):
    """A constraint that depends on other parameters (Uniform's support): not checked."""

    def __init__(self, *, is_discrete=False, event_dim=0):
        self.is_discrete, self.event_dim = is_discrete, event_dim

    def __call__(self, *, is_discrete=False, event_dim=0):
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def check(self, value):
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint) -> bool:
    return isinstance(constraint, _Dependent)


class dependent_property(property, _Dependent):
    """A property that is also an unchecked constraint (PyTorch's ``support`` of Uniform)."""

    def __init__(self, fn=None, *, is_discrete=False, event_dim=0):
        property.__init__(self, fn)
        _Dependent.__init__(self, is_discrete=is_discrete, event_dim=event_dim)

    def __call__(self, fn):
        return dependent_property(fn, is_discrete=self.is_discrete, event_dim=self.event_dim)


class _IndependentConstraint(Constraint):
    def __init__(self, base_constraint: Constraint, reinterpreted_batch_ndims: int):
        self.base_constraint, self.reinterpreted_batch_ndims = base_constraint, int(reinterpreted_batch_ndims)
        self.is_discrete = base_constraint.is_discrete
        self.event_dim = base_constraint.event_dim + self.reinterpreted_batch_ndims

    def _check(self, v):
        ok = self.base_constraint._check(v)
        n = self.reinterpreted_batch_ndims
        return ok.reshape(ok.shape[:ok.ndim - n] + (-1,)).all(-1) if n else ok

    def __repr__(self):
        return f"IndependentConstraint({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


class _Boolean(Constraint):
    is_discrete = True

    def _check(self, v):
        return (v == 0) | (v == 1)


class _OneHot(Constraint):
    is_discrete, event_dim = True, 1

    def _check(self, v):
        return ((v == 0) | (v == 1)).all(-1) & (v.sum(-1) == 1)


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def _check(self, v):
        return (v % 1 == 0) & (_np(self.lower_bound) <= v) & (v <= _np(self.upper_bound))

    def __repr__(self):
        return f"IntegerInterval(lower_bound={_bound(self.lower_bound)}, upper_bound={_bound(self.upper_bound)})"


class _IntegerGreaterThan(Constraint):
    is_discrete = True

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def _check(self, v):
        return (v % 1 == 0) & (v >= _np(self.lower_bound))

    def __repr__(self):
        return f"IntegerGreaterThan(lower_bound={_bound(self.lower_bound)})"


class _Real(Constraint):
    def _check(self, v):
        return v == v  # everything but NaN


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def _check(self, v):
        return _np(self.lower_bound) < v

    def __repr__(self):
        return f"{self.__class__.__name__[1:]}(lower_bound={_bound(self.lower_bound)})"


class _GreaterThanEq(_GreaterThan):
    def _check(self, v):
        return _np(self.lower_bound) <= v


class _LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def _check(self, v):
        return v < _np(self.upper_bound)

    def __repr__(self):
        return f"LessThan(upper_bound={_bound(self.upper_bound)})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def _check(self, v):
        return (_np(self.lower_bound) <= v) & (v <= _np(self.upper_bound))

    def __repr__(self):
        return (f"{self.__class__.__name__[1:]}(lower_bound={_bound(self.lower_bound)}, "
                f"upper_bound={_bound(self.upper_bound)})")


class _HalfOpenInterval(_Interval):
    def _check(self, v):
        return (_np(self.lower_bound) <= v) & (v < _np(self.upper_bound))


class _Simplex(Constraint):
    event_dim = 1

    def _check(self, v):
        return (v >= 0).all(-1) & (np.abs(v.sum(-1) - 1) < 1e-6)


class _LowerCholesky(Constraint):
    event_dim = 2

    def _check(self, v):
        lower = (np.tril(v) == v).reshape(v.shape[:-2] + (-1,)).min(-1)
        return lower & (np.diagonal(v, axis1=-2, axis2=-1) > 0).min(-1)


class _LowerTriangular(Constraint):
    event_dim = 2

    def _check(self, v):
        return (np.tril(v) == v).reshape(v.shape[:-2] + (-1,)).min(-1)


class _CorrCholesky(Constraint):
    """Lower Cholesky factors of correlation matrices: rows of unit length."""

    event_dim = 2

    def _check(self, v):
        unit_rows = (np.abs(np.linalg.norm(v, axis=-1) - 1) <= np.finfo(v.dtype).eps * v.shape[-1] * 10).all(-1)
        return lower_cholesky._check(v) & unit_rows


class _Square(Constraint):
    event_dim = 2

    def _check(self, v):
        return np.full(v.shape[:-2], v.shape[-1] == v.shape[-2])


class _Symmetric(_Square):
    def _check(self, v):
        square = super()._check(v)
        return square if not square.all() else np.isclose(v, np.swapaxes(v, -1, -2), atol=1e-6).all((-2, -1))


def _eigenvalues_where(symmetric: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The eigenvalues of the matrices of ``v`` that are symmetric (those of the identity
    for the others, which each check rejects on its own)."""
    if symmetric.all():
        return np.linalg.eigvalsh(v)
    return np.linalg.eigvalsh(np.where(symmetric[..., None, None], v, np.eye(v.shape[-1], dtype=v.dtype)))


class _PositiveSemidefinite(_Symmetric):
    def _check(self, v):
        symmetric = super()._check(v)
        return symmetric if not symmetric.any() else symmetric & (_eigenvalues_where(symmetric, v) >= 0).all(-1)


class _PositiveDefinite(_Symmetric):
    def _check(self, v):
        symmetric = super()._check(v)
        return symmetric if not symmetric.any() else symmetric & (_eigenvalues_where(symmetric, v) > 0).all(-1)


class _Multinomial(Constraint):
    """Nonnegative counts summing to at most ``upper_bound``."""

    is_discrete, event_dim = True, 1

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def _check(self, v):
        return (v >= 0).all(-1) & (v.sum(-1) <= _np(self.upper_bound))


class _Cat(Constraint):
    """``cseq[i]`` on the ``lengths[i]`` consecutive slices along ``dim``."""

    def __init__(self, cseq, dim=0, lengths=None):
        self.cseq, self.dim = list(cseq), dim
        self.lengths = [1] * len(self.cseq) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.cseq):
            raise ValueError(f"cat takes one length per constraint: {len(self.cseq)} constraints, "
                             f"{len(self.lengths)} lengths")

    is_discrete = property(lambda self: any(c.is_discrete for c in self.cseq))
    event_dim = property(lambda self: max(c.event_dim for c in self.cseq))

    def _check(self, v):
        bounds = np.cumsum([0] + self.lengths)
        parts = [c._check(np.take(v, range(a, b), axis=self.dim))
                 for c, a, b in zip(self.cseq, bounds[:-1], bounds[1:], strict=True)]
        return np.concatenate(parts, self.dim)


class _Stack(Constraint):
    """``cseq[i]`` on the ``i``-th index along ``dim``."""

    def __init__(self, cseq, dim=0):
        self.cseq, self.dim = list(cseq), dim

    is_discrete = property(lambda self: any(c.is_discrete for c in self.cseq))
    @property
    def event_dim(self):
        dim = max(c.event_dim for c in self.cseq)
        return dim + 1 if self.dim + dim < 0 else dim

    def _check(self, v):
        return np.stack([c._check(np.take(v, i, axis=self.dim)) for i, c in enumerate(self.cseq)], self.dim)


class MixtureSameFamilyConstraint(Constraint):
    """The support of a MixtureSameFamily: its component's, checked with the mixture
    dimension reduced."""

    def __init__(self, base_constraint):
        self.base_constraint = base_constraint

    is_discrete = property(lambda self: self.base_constraint.is_discrete)
    event_dim = property(lambda self: self.base_constraint.event_dim)

    def _check(self, v):
        if v.ndim < self.event_dim:
            raise ValueError(f"value must have at least {self.event_dim} dimensions, but has {v.ndim}")
        ok = np.asarray(self.base_constraint._check(np.expand_dims(v, -1 - self.event_dim)))
        keep = v.ndim - self.event_dim
        return ok.reshape(ok.shape[:keep] + (-1,)).all(-1)

    def __repr__(self):
        return f"MixtureSameFamilyConstraint({self.base_constraint!r})"


def _tensors(constraint: Constraint) -> list:
    """(Tensor, the constraint that holds it) for each bound that is a Tensor (the support
    of Uniform) in the constraint and those it is made of, in a fixed order."""
    found = []
    for v in vars(constraint).values():
        for item in v if isinstance(v, list) else (v,):
            if isinstance(item, Tensor):
                found.append((item, constraint))
            elif isinstance(item, Constraint):
                found.extend(_tensors(item))
    return found


def _with_bounds(constraint: Constraint, bounds) -> Constraint:
    """A copy of the constraint whose Tensors are the next ones of ``bounds``, in the
    order of :func:`_tensors`."""
    def replaced(item):
        if isinstance(item, Tensor):
            return next(bounds)
        return _with_bounds(item, bounds) if isinstance(item, Constraint) else item

    new = copy.copy(constraint)
    for k, v in vars(constraint).items():
        setattr(new, k, [replaced(x) for x in v] if isinstance(v, list) else replaced(v))
    return new


def _check_of(constraint: Constraint, value, *bounds) -> np.ndarray:
    """``constraint``'s check of ``value``, its Tensor bounds given as ``bounds`` (a
    replay's values: what the recorded constraint holds is the traced call's)."""
    if bounds:
        constraint = _with_bounds(constraint, iter(np.asarray(b) for b in bounds))
    return constraint._check(np.asarray(value))


def _batch_check(trace, fun, batched, constraint, value, *bounds):
    """The examples' axis is one more of the batch's, which every check keeps; a batched
    bound is lifted to the rank at which its constraint compares it with the value."""
    rank = len(batching.shape_of(value)) - (batched[1] is True)
    lifted = [batching.lift(b, rank - owner.event_dim - (len(batching.shape_of(b)) - 1)) if nb is True else b
              for b, nb, (_, owner) in zip(bounds, batched[2:], _tensors(constraint), strict=True)]
    return trace.call_below(fun, constraint, value, *lifted)


_CHECK = unboxing(_check_of)  # recorded by jit, batched by vmap
batching.NONDIFF_BATCH[_check_of] = _batch_check


dependent = _Dependent()
independent = _IndependentConstraint
boolean = _Boolean()
one_hot = _OneHot()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
integer_interval = _IntegerInterval
real = _Real()
real_vector = independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
unit_interval = _Interval(0.0, 1.0)
interval = _Interval
half_open_interval = _HalfOpenInterval
simplex = _Simplex()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
lower_triangular = _LowerTriangular()
corr_cholesky = _CorrCholesky()
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
multinomial = _Multinomial
cat = _Cat
stack = _Stack

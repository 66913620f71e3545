"""``torch.distributions.constraint_registry``: ``biject_to(constraint)`` is a bijection
from the unconstrained reals onto the constraint's set, ``transform_to(constraint)`` a
map onto it that need not be bijective (softmax onto the simplex): the Transforms that
optimise a constrained parameter through an unconstrained one, as PyTorch's.

>>> import chainrule as cr
>>> from chainrule.distributions import constraints
>>> transform_to(constraints.positive)(cr.tensor(0.0)).item()
1.0
"""

from __future__ import annotations

import numbers

from chainrule.distributions import constraints
from chainrule.distributions import transforms as T

__all__ = ["ConstraintRegistry", "biject_to", "transform_to"]


class ConstraintRegistry:
    """Factories of Transforms keyed by constraint class; ``register`` adds one."""

    def __init__(self):
        self._registry: dict = {}

    def register(self, constraint, factory=None):
        if factory is None:
            return lambda factory: self.register(constraint, factory)
        if isinstance(constraint, constraints.Constraint):
            constraint = type(constraint)
        if not (isinstance(constraint, type) and issubclass(constraint, constraints.Constraint)):
            raise TypeError(f"Expected constraint to be either a Constraint subclass or instance, "
                            f"but got {constraint}")
        self._registry[constraint] = factory
        return factory

    def __call__(self, constraint):
        try:
            factory = self._registry[type(constraint)]
        except KeyError:
            raise NotImplementedError(f"Cannot transform {type(constraint).__name__} constraints") from None
        return factory(constraint)


biject_to = ConstraintRegistry()
transform_to = ConstraintRegistry()


def _both(*cs):
    def decorate(factory):
        for c in cs:
            biject_to.register(c, factory)
            transform_to.register(c, factory)
        return factory
    return decorate


@_both(constraints.real)
def _to_real(constraint):
    return T.identity_transform


@biject_to.register(constraints.independent)
def _biject_to_independent(constraint):
    return T.IndependentTransform(biject_to(constraint.base_constraint), constraint.reinterpreted_batch_ndims)


@transform_to.register(constraints.independent)
def _transform_to_independent(constraint):
    return T.IndependentTransform(transform_to(constraint.base_constraint), constraint.reinterpreted_batch_ndims)


# positive and greater_than share a class, as in PyTorch: both give exp then a shift
@_both(constraints.greater_than, constraints.greater_than_eq)
def _to_greater_than(constraint):
    return T.ComposeTransform([T.ExpTransform(), T.AffineTransform(constraint.lower_bound, 1)])


@_both(constraints.less_than)
def _to_less_than(constraint):
    return T.ComposeTransform([T.ExpTransform(), T.AffineTransform(constraint.upper_bound, -1)])


@_both(constraints.interval, constraints.half_open_interval)
def _to_interval(constraint):
    lower, upper = constraint.lower_bound, constraint.upper_bound
    if isinstance(lower, numbers.Number) and lower == 0 and isinstance(upper, numbers.Number) and upper == 1:
        return T.SigmoidTransform()
    return T.ComposeTransform([T.SigmoidTransform(), T.AffineTransform(lower, upper - lower)])


_both(constraints.corr_cholesky)(lambda constraint: T.CorrCholeskyTransform())
biject_to.register(constraints.simplex, lambda constraint: T.StickBreakingTransform())
transform_to.register(constraints.simplex, lambda constraint: T.SoftmaxTransform())
transform_to.register(constraints.lower_cholesky, lambda constraint: T.LowerCholeskyTransform())
transform_to.register(constraints.positive_definite, lambda constraint: T.PositiveDefiniteTransform())
transform_to.register(constraints.positive_semidefinite, lambda constraint: T.PositiveDefiniteTransform())
biject_to.register(constraints.cat, lambda c: T.CatTransform([biject_to(x) for x in c.cseq], c.dim, c.lengths))
transform_to.register(constraints.cat, lambda c: T.CatTransform([transform_to(x) for x in c.cseq], c.dim, c.lengths))
biject_to.register(constraints.stack, lambda c: T.StackTransform([biject_to(x) for x in c.cseq], c.dim))
transform_to.register(constraints.stack, lambda c: T.StackTransform([transform_to(x) for x in c.cseq], c.dim))

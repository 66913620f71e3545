"""JAX's ``jax.custom_derivatives`` namespace: custom derivative rules and the symbolic
zeros that rules defined with ``symbolic_zeros=True`` receive and return.

>>> from chainrule.custom_derivatives import SymbolicZero, custom_jvp
>>> SymbolicZero.__name__, custom_jvp.__name__
('SymbolicZero', 'custom_jvp')
"""

from chainrule.transforms.custom import custom_gradient, custom_jvp, custom_vjp
from chainrule.transforms.symbolic_zeros import (
    CustomVJPPrimal,
    SymbolicZero,
    custom_vjp_primal_tree_values,
    zero_from_primal,
)

__all__ = [
    "custom_jvp", "custom_vjp", "custom_gradient", "SymbolicZero", "CustomVJPPrimal",
    "zero_from_primal", "custom_vjp_primal_tree_values",
]

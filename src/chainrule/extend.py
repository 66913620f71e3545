"""Extension API under HIPS autograd's module name: ``from chainrule.extend import
primitive, defvjp, defjvp`` works where ``from autograd.extend import ...`` did."""

from chainrule.core.primitive import Primitive, def_jvps, def_vjps, defjvp, defvjp, primitive

__all__ = ["Primitive", "primitive", "defvjp", "defjvp", "def_vjps", "def_jvps"]

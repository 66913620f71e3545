"""The extension API under HIPS autograd's module name: ``from chainrule.extend import
primitive, defvjp, defjvp`` works where ``from autograd.extend import ...`` did.

Rules follow autograd's conventions: a vjp maker ``maker(ans, *args, **kwargs)``
returns ``g ↦ cotangent``; a jvp rule is ``rule(g, ans, *args, **kwargs)`` (or
``"same"``: the function is linear in that argument); the ``_argnum`` forms take the
argument number first, the ``_argnums`` forms handle several arguments at once. A vjp
may return a :class:`SparseObject`; it is made dense before the backward pass adds it.

>>> import chainrule as cr, chainrule.numpy as cnp
>>> @primitive
... def cube(x):
...     return x ** 3
>>> defvjp(cube, lambda ans, x: lambda g: 3 * g * x ** 2)
>>> defjvp(cube, lambda g, ans, x: 3 * g * x ** 2)
>>> float(cr.grad(cube)(2.0)), float(cr.deriv(cube)(2.0))
(12.0, 12.0)
"""

from __future__ import annotations

from collections.abc import Callable

from chainrule.core.primitive import (
    Primitive,
    RulesByArgument,
    def_jvps,
    def_vjps,
    given_jvps,
    new_vjp_rules,
    replaced_vjps,
    rule_argnums,
)
from chainrule.core.user_primitive import all_output_cotangents, engine_output, primitive, user_output
from chainrule.core.user_primitive import defjvp as _core_defjvp
from chainrule.numpy.numpy_vspaces import VSpace, vspace
from chainrule.tracer import Box, JVPNode, VJPNode, notrace_primitive, register_notrace

__all__ = [
    "Primitive",
    "primitive",
    "defvjp",
    "defjvp",
    "defvjp_argnum",
    "defvjp_argnums",
    "defjvp_argnum",
    "defjvp_argnums",
    "def_linear",
    "def_vjps",
    "def_jvps",
    "vspace",
    "VSpace",
    "SparseObject",
    "Box",
    "VJPNode",
    "JVPNode",
    "notrace_primitive",
    "register_notrace",
]


class SparseObject:
    """A cotangent that is mostly zeros: ``mut_add(A)`` adds it into a dense ``A`` of
    the space ``vs`` and returns the sum (autograd's sparse gradient of indexing)."""

    __slots__ = ("vs", "mut_add")

    def __init__(self, vs: VSpace, mut_add: Callable):
        self.vs = vs
        self.mut_add = mut_add


VSpace.register(SparseObject, lambda x: x.vs)


def _dense(ct):
    return ct.mut_add(ct.vs.zeros()) if isinstance(ct, SparseObject) else ct


def _check(prim, what: str) -> None:
    if not isinstance(prim, Primitive):
        raise TypeError(f"{what} expects a function made with chainrule.extend.primitive, got {prim!r}")


def defvjp(fun: Primitive, *vjpmakers: Callable | None, argnums=None) -> None:
    """Reverse-mode rules, one maker per argument (``None``: no derivative).

    >>> import chainrule as cr
    >>> mul = primitive(lambda x, y: x * y)
    >>> defvjp(mul, lambda ans, x, y: lambda g: g * y, lambda ans, x, y: lambda g: g * x)
    >>> cr.grad(mul, argnum=1)(3.0, 4.0)
    np.float64(3.0)
    """
    _check(fun, "defvjp")

    def flat(maker):
        if maker is None:
            return None
        return lambda g, ans, *args, **kwargs: _dense(
            maker(user_output(ans), *args, **kwargs)(all_output_cotangents(g, ans)))

    argnums = rule_argnums(argnums, len(vjpmakers))
    def_vjps(fun, *(flat(m) for m in vjpmakers), argnums=argnums)
    replaced_vjps(fun, argnums)


def defvjp_argnum(fun: Primitive, vjpmaker: Callable) -> None:
    """One maker for every argument: ``vjpmaker(argnum, ans, args, kwargs)`` returns
    ``g ↦ cotangent of argument argnum``."""
    _check(fun, "defvjp_argnum")

    def make(argnum):
        return lambda g, ans, *args, **kwargs: _dense(
            vjpmaker(argnum, user_output(ans), args, kwargs)(all_output_cotangents(g, ans)))

    fun.vjps = RulesByArgument(make)
    new_vjp_rules(fun)
    replaced_vjps(fun)


def defvjp_argnums(fun: Primitive, vjpmaker: Callable) -> None:
    """One maker for the differentiated arguments together: ``vjpmaker(argnums, ans,
    args, kwargs)`` returns ``g ↦ (cotangent of each argument in argnums)``."""
    _check(fun, "defvjp_argnums")

    def make(argnum):
        def rule(g, ans, *args, **kwargs):
            cotangents = vjpmaker((argnum,), user_output(ans), args, kwargs)(all_output_cotangents(g, ans))
            return _dense(next(iter(cotangents)))

        return rule

    fun.vjps = RulesByArgument(make)
    new_vjp_rules(fun)
    replaced_vjps(fun)


def _same(fun: Primitive, argnum: int):
    def rule(g, ans, *args, **kwargs):
        args = list(args)
        args[argnum] = g
        return fun(*args, **kwargs)

    return rule


def defjvp(fun: Primitive, *jvpfuns: Callable | str | None, argnums=None) -> None:
    """Forward-mode rules ``rule(g, ans, *args, **kwargs)``, one per argument; ``"same"``
    for an argument the function is linear in; ``None`` for no derivative.

    >>> import chainrule as cr
    >>> twice = primitive(lambda x: 2 * x)
    >>> defjvp(twice, "same")
    >>> cr.make_jvp(twice)(1.0)(3.0)
    (np.float64(2.0), np.float64(6.0))
    """
    _check(fun, "defjvp")
    argnums = rule_argnums(argnums, len(jvpfuns))
    rules = []
    for argnum, rule in zip(argnums, jvpfuns, strict=True):
        if rule == "same":
            rule = _same(fun, argnum)
        elif rule is not None and not callable(rule):
            raise TypeError(f"defjvp: a jvp rule is a function, 'same' or None, not {rule!r}")
        elif rule is not None:
            rule = _dict_outputs_rule(rule)
        rules.append(rule)
    _core_defjvp(fun, *rules, argnums=argnums)  # (which records them as given)


def _dict_outputs_rule(rule: Callable) -> Callable:
    """A forward rule of a primitive that returns a dict sees ``ans`` as that dict and
    may give the tangent as a dict, as in HIPS autograd."""

    def dict_rule(g, ans, *args, **kwargs):
        return engine_output(rule(g, user_output(ans), *args, **kwargs), ans)

    return dict_rule


def defjvp_argnum(fun: Primitive, jvpmaker: Callable) -> None:
    """One forward rule for every argument: ``jvpmaker(argnum, g, ans, args, kwargs)``."""
    _check(fun, "defjvp_argnum")
    fun.jvps = RulesByArgument(
        lambda argnum: lambda g, ans, *args, **kwargs: engine_output(
            jvpmaker(argnum, g, user_output(ans), args, kwargs), ans)
    )
    given_jvps(fun)


def defjvp_argnums(fun: Primitive, jvpmaker: Callable) -> None:
    """One forward rule for the differentiated arguments together: ``jvpmaker(argnums,
    gs, ans, args, kwargs)`` returns the output's tangent."""
    _check(fun, "defjvp_argnums")
    fun.jvps = RulesByArgument(
        lambda argnum: lambda g, ans, *args, **kwargs: engine_output(
            jvpmaker((argnum,), (g,), user_output(ans), args, kwargs), ans)
    )
    given_jvps(fun)


def def_linear(fun: Primitive) -> None:
    """``fun`` is linear in each argument: its jvp is ``fun`` of the tangent."""
    _check(fun, "def_linear")
    fun.jvps = RulesByArgument(lambda argnum: _same(fun, argnum))
    given_jvps(fun)



"""HIPS autograd's ``differential_operators`` module: every operator, by name.

They are chainrule's transforms (``chainrule.grad`` and friends), plus the few that
only autograd has: :func:`make_jvp_reversemode`, :func:`grad_named` and
:func:`multigrad_dict`. The names autograd's module imports for its own use are here
too, because libraries reach them through it (geomstats calls
``autograd.differential_operators._make_vjp(fun, x)`` and ``.vspace(ans)``):
``_make_vjp``, ``_make_jvp`` (autograd.core's forms), ``vspace``, ``primitive``,
``defvjp_argnum`` and ``atuple``.

>>> import chainrule.numpy as cnp
>>> float(make_jvp_reversemode(cnp.sin)(0.0)(3.0))
3.0
>>> dict(multigrad_dict(lambda x, y=2.0: x * y)(3.0))
{'x': np.float64(2.0), 'y': np.float64(3.0)}
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Callable

# autograd's module imports these for its own use; libraries reach them through it
from chainrule.autograd_core import make_jvp as _make_jvp  # noqa: F401
from chainrule.autograd_core import make_vjp as _make_vjp  # noqa: F401
from chainrule.builtins import tuple as atuple  # noqa: F401
from chainrule.extend import defvjp_argnum, primitive, vspace  # noqa: F401
from chainrule.transforms.custom import checkpoint
from chainrule.transforms.forward import deriv, make_jvp
from chainrule.transforms.jacobian import (
    hessian,
    hessian_tensor_product,
    hessian_vector_product,
    jacobian,
    make_ggnvp,
    make_hvp,
    tensor_jacobian_product,
    vector_jacobian_product,
)
from chainrule.transforms.reverse import (
    either_argnums,
    elementwise_grad,
    grad,
    grad_and_aux,
    holomorphic_grad,
    make_vjp,
    value_and_grad,
)
from chainrule.wrap_util import unary_to_nary

__all__ = [
    "make_vjp",
    "make_jvp",
    "grad",
    "elementwise_grad",
    "deriv",
    "jacobian",
    "holomorphic_grad",
    "grad_named",
    "hessian",
    "make_hvp",
    "hessian_tensor_product",
    "hessian_vector_product",
    "tensor_jacobian_product",
    "vector_jacobian_product",
    "make_jvp_reversemode",
    "make_ggnvp",
    "value_and_grad",
    "grad_and_aux",
    "multigrad_dict",
    "checkpoint",
    "unary_to_nary",
]


def make_jvp_reversemode(fun: Callable, argnum: int = 0, *, argnums: int | None = None) -> Callable:
    """``make_jvp_reversemode(fun, argnum)(*args)(v)``: the Jacobian-vector product
    ``J·v`` at ``args`` (autograd computes it as the vjp of a vjp; chainrule runs
    forward mode, which gives the same product exactly)."""
    argnum = either_argnums(argnum, argnums)

    def at(*args, **kwargs):
        push = make_jvp(fun, argnum)(*args, **kwargs)
        return lambda v: push(v)[1]

    return at


def grad_named(fun: Callable, argname: str) -> Callable:
    """The gradient in the argument named ``argname`` (not ``*args`` or ``**kwargs``).

    >>> float(grad_named(lambda a, b: a * b, "b")(2.0, 5.0))
    2.0
    """
    arg_index = inspect.getfullargspec(fun).args.index(argname)
    return grad(fun, arg_index)


def multigrad_dict(fun: Callable) -> Callable:
    """Gradients in every argument at once, as an ``OrderedDict`` from argument name to
    gradient (defaults are filled in and differentiated too)."""
    sig = inspect.signature(fun)
    params = sig.parameters
    var_pos = [n for n, p in params.items() if p.kind == p.VAR_POSITIONAL]
    var_kwd = [n for n, p in params.items() if p.kind == p.VAR_KEYWORD]
    argnames = [n for n in params if n not in var_pos + var_kwd]

    def apply_defaults(arguments):
        defaults = {n: p.default for n, p in params.items() if p.default is not p.empty}
        return OrderedDict((n, arguments[n] if n in arguments else defaults[n]) for n in params)

    def gradfun(*args, **kwargs):
        bindings = sig.bind(*args, **kwargs)

        def newfun(dct):
            positional = tuple(dct[n] for n in argnames)
            extra = tuple(dct[var_pos[0]]) if var_pos else ()
            keywords = dict(dct[var_kwd[0]]) if var_kwd else {}
            return fun(*(positional + extra), **keywords)

        argdict = apply_defaults(bindings.arguments)
        grad_dict = grad(newfun)(dict(argdict))
        return OrderedDict((name, grad_dict[name]) for name in argdict)

    return gradfun

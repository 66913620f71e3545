"""HIPS autograd's ``autograd.core`` names, for programs that import them from there
(``from autograd.core import primitive, defvjp, getval``): the same objects as in
:mod:`chainrule.extend`, :mod:`chainrule.tracer` and :mod:`chainrule.util`, and
``make_vjp``/``make_jvp`` in autograd's core form ``(fun, x)``. The import hook of
docs/autograd.md resolves ``autograd.core`` here; ``chainrule.core`` is chainrule's own
engine. ``backward_pass`` runs back from a value computed from
:func:`chainrule.tracer.new_box`'s; autograd's other engine internals (``primitive_vjps``,
...) have no counterpart.

>>> import chainrule.numpy as cnp
>>> vjp, value = make_vjp(cnp.sin, 0.0)
>>> float(value), float(vjp(2.0))
(0.0, 2.0)
>>> value, tangent = make_jvp(lambda x: x ** 3, 2.0)(1.0)
>>> float(value), float(tangent)
(8.0, 12.0)
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from chainrule.core.tensor import Tensor
from chainrule.extend import (
    SparseObject,
    VSpace,
    def_linear,
    defjvp,
    defjvp_argnum,
    defjvp_argnums,
    defvjp,
    defvjp_argnum,
    defvjp_argnums,
    vspace,
)
from chainrule.tracer import (
    Box,
    JVPNode,
    Node,
    VJPNode,
    backward_pass,
    getval,
    isbox,
    notrace_primitive,
    primitive,
    register_notrace,
    trace,
)
from chainrule.transforms import forward, reverse
from chainrule.util import func, subval, subvals, toposort

__all__ = [
    "primitive", "notrace_primitive", "register_notrace", "Box", "Node", "trace", "getval",
    "isbox", "toposort", "VSpace", "vspace", "SparseObject", "VJPNode", "JVPNode", "defvjp",
    "defvjp_argnum", "defvjp_argnums", "defjvp", "defjvp_argnum", "defjvp_argnums",
    "def_linear", "make_vjp", "make_jvp", "func", "subval", "subvals", "backward_pass",
]


def make_vjp(fun: Callable, x: Any) -> tuple[Callable, Any]:
    """autograd.core's ``make_vjp(fun, x) -> (vjp, fun(x))`` for a function of one
    argument (``chainrule.make_vjp(fun)(x)``)."""
    return reverse.make_vjp(fun)(x)


def make_jvp(fun: Callable, x: Any) -> Callable:
    """autograd.core's ``make_jvp(fun, x)``: ``jvp(v) -> (fun(x), J·v)`` for a function of
    one argument (``chainrule.make_jvp(fun)(x)``)."""
    return forward.make_jvp(fun)(x)


def register_as_autograd() -> None:
    """Have libraries that name an array's library from its class see chainrule's arrays
    as autograd's, where ``autograd`` is resolved to chainrule (the import hook of
    docs/autograd.md calls this).

    autoray (quimb, PennyLane's ``qml.math``) takes the first part of the class's module:
    ``chainrule``, whose top-level functions are PyTorch's (``tensordot(a, b, dims)``),
    where autograd's boxes give ``autograd`` and so ``autograd.numpy``'s functions. Where
    autoray is installed, chainrule's ``Tensor`` is registered with it as ``"autograd"``:
    its calls go to ``autograd.numpy``, that is ``chainrule.numpy``, with autoray's
    adjustments for autograd (``linalg.svd`` without full matrices, ...).
    """
    if importlib.util.find_spec("autoray") is not None:
        importlib.import_module("autoray").register_backend(Tensor, "autograd")

"""HIPS autograd's ``numpy_wrapper``: NumPy's namespace as autograd wraps it.

In autograd, ``autograd.numpy`` re-exports this module, which wraps every NumPy function
as a primitive; code that imports from it directly (``from autograd.numpy.numpy_wrapper
import array``, ``import autograd.numpy.numpy_wrapper as anp``) gets here, under the
import hook of docs/autograd.md, the mirror's names (``chainrule.numpy``'s), and
autograd's ``wrap_namespace``, with which copies of autograd's own modules make
primitives of a namespace (``wrap_namespace(scipy.linalg.__dict__, globals())``) and
then give them rules.

>>> import chainrule as cr, scipy.special
>>> from chainrule.extend import defvjp
>>> space = {}
>>> wrap_namespace({"expit": scipy.special.expit, "tiny": 1e-300}, space)
>>> defvjp(space["expit"], lambda ans, x: lambda g: g * ans * (1 - ans))
>>> float(cr.grad(space["expit"])(0.0)), space["tiny"]
(0.25, 1e-300)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chainrule.numpy as cnp
from chainrule.core.user_primitive import primitive
from chainrule.numpy.creation import make_diagonal
from chainrule.numpy.elementwise import _astype
from chainrule.numpy.numpy_vjps import metadata

__all__ = ["wrap_namespace", "primitive", "metadata", "make_diagonal", "_astype"]

_UNCHANGED = (float, int, type(None), type)


def wrap_namespace(old: dict[str, Any], new: dict[str, Any]) -> None:
    """Put into ``new`` a primitive (without rules yet) for each function of ``old``, and
    its numbers, types and None as they are; autograd's. Several names of one function
    get one primitive; other objects (modules, arrays) are left out.
    """
    wrapped: list[tuple[Any, Callable]] = []
    for name, obj in old.items():
        for seen, made in wrapped:
            if seen is obj:
                new[name] = made
                break
        else:
            if callable(obj) and type(obj) is not type:
                made = primitive(obj)
                new[name] = made
                wrapped.append((obj, made))
            elif type(obj) in _UNCHANGED:
                new[name] = obj


def __getattr__(name: str) -> Any:
    """Every other name is the mirror's (``array``, ``dot``, ``float64``, ...)."""
    try:
        return getattr(cnp, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.numpy.numpy_wrapper' has no attribute {name!r}") from None

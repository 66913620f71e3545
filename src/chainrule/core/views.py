"""Views: values linked to the memory of the Tensor they were taken from.

PyTorch makes indexing, reshape, transpose... views of their argument, so an in-place
write into either reaches the other (``chainrule.core.eager``). A view's ``_view`` holds
its root Tensor and the calls that make it from the root; the root keeps weak references
to its live views.
"""

from __future__ import annotations

import weakref

import numpy as np

from chainrule.core.tensor import Tensor

__all__ = ["register_view", "note_transform_view", "shares_memory_of", "replay", "live_views"]


def register_view(root: Tensor, view: Tensor) -> None:
    """Remember ``view`` (weakly) among the live views of ``root``."""
    views = getattr(root, "_views", None)
    if views is None:
        root._views = [weakref.ref(view)]
        return
    views.append(weakref.ref(view))
    n = len(views)
    if n >= 16 and not n & (n - 1):  # now and then, forget the views that died
        views[:] = [r for r in views if r() is not None]


def replay(steps, x):
    """The view that ``steps`` (the calls recorded by ``note_view``) make of ``x``."""
    for prim, rest, kwargs in steps:
        x = prim(x, *rest, **kwargs)
    return x


def live_views(root: Tensor) -> list:
    """The views of ``root`` still alive (a copy of ``root`` holds the original's list,
    whose views are not its own)."""
    return [v for v in (r() for r in getattr(root, "_views", ())) if v is not None and v._view[0] is root]


def note_transform_view(base: Tensor, out: Tensor, prim, rest: tuple, kwargs) -> None:
    """Inside a transform (grad, jvp, vmap): link ``out = prim(base, *rest, **kwargs)`` to
    ``base`` as a view where NumPy would make one of a C-ordered base (PyTorch's views: basic
    indexing, reshape where the layout allows, transpose, diagonal...), so that a change of
    either in place reaches the other (``chainrule.core.eager``). The transform's values
    carry no memory of their own to compare, so the steps from the base are made again on
    a stand-in of its shape."""
    if out._trace is not base._trace:
        return
    for r in rest:  # an index computed in the transform: advanced indexing, which copies
        if r.__class__ is tuple:
            for i in r:
                if isinstance(i, Tensor):
                    return
        elif isinstance(r, Tensor):
            return
    link = getattr(base, "_view", None)
    if link is None:
        root, steps, alias = base, ((prim, rest, kwargs),), False
    else:
        root, steps, alias = link[0], (*link[1], (prim, rest, kwargs)), link[2]
    if not shares_memory_of(root, steps):  # (a reshape of a transposed view copies, as in NumPy)
        return
    out._view = (root, steps, alias)
    register_view(root, out)


def shares_memory_of(root: Tensor, steps) -> bool:
    """Whether the calls ``steps`` give a view of a C-ordered array of ``root``'s shape (and
    kind: complex or not)."""
    key = root.shape, root.dtype.kind == "c"  # (of a complex one: z.imag is a view too)
    memory = _STAND_INS.get(key)
    if memory is None:
        if len(_STAND_INS) > 64:
            _STAND_INS.clear()
        memory = _STAND_INS[key] = np.empty(key[0], np.complex64 if key[1] else np.int8)  # (never written)
    x = memory
    for prim, rest, kwargs in steps:
        y = getattr(prim, "fun", prim)(x, *rest, **kwargs)
        if y.__class__ is not np.ndarray:
            make = getattr(prim, "makes_view", None)
            if not callable(make):
                return False
            y = make(x, *rest, **kwargs)  # a 0-d view where NumPy gives a scalar (x[0, 1])
        x = y
    return x is memory or x.base is memory  # (NumPy's base of a view of a view: the array owning the memory)


_STAND_INS: dict = {}  # (shape, complex) -> an array of that shape, C-ordered, whose views shares_memory_of follows

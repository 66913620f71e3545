"""Collectives over the batch axis of a named :func:`~chainrule.transforms.vmap.vmap`
(``chainrule.lax.psum``, ``pmean``, ``pmax``, ``pmin``, ``all_gather``), as composite
primitives: the map they name reduces (or gathers) its examples, a map inside it passes
each of its own examples on, and a ``grad``, ``jvp`` or ``hessian`` inside the map
differentiates them by their own rules, as JAX's do (the transpose of ``psum`` is
``psum``: ``vmap(grad(lambda x: psum(x, 'i') * x), axis_name='i')`` gives ``2 * sum(x)``
in every example).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import CompositePrimitive, Primitive, def_vjps
from chainrule.core.tensor import Tensor
from chainrule.core.values import zeros_like
from chainrule.transforms.vmap import BatchTrace, named_map

__all__ = ["Collective", "KINDS", "axis_index"]


@dataclass(frozen=True)
class Kind:
    """What a collective does to the examples: ``whole(batch, k)`` of the examples stacked
    on axis 0 (after which come the ``k`` axes of maps inside the named one); ``same(x,
    n, k)`` of a value that does not differ between the ``n`` examples; and its
    derivatives, ``tangent(c, t, ans, x)`` and ``transpose(c, g, ans, x)`` for the
    collective ``c`` of that kind (with its axis name)."""

    name: str
    whole: Callable
    same: Callable
    tangent: Callable
    transpose: Callable


def _share(c, x, ans):
    """1 where an example holds the collective's extreme value, over how many do."""
    ties = cnp.astype(cnp.equal(x, ans), ans.dtype if hasattr(ans, "dtype") else np.float64)
    return ties / c.again("psum")(ties)


def _gathered(b, k: int, axis: int, tiled: bool):
    """The examples (stacked on axis 0, then ``k`` axes of inner maps) as all_gather gives
    them: on ``axis`` of an example, or joined along it."""
    nd = len(cnp.shape(b)) - k
    if not tiled:
        return cnp.moveaxis(b, 0, k + axis % nd)
    a = k + axis % (nd - 1)
    b = cnp.moveaxis(b, 0, a)
    shape = cnp.shape(b)
    return cnp.reshape(b, (*shape[:a], -1, *shape[a + 2:]))


def _own_part(c, g, axis: int, tiled: bool):
    """Each example's part of the sum of the cotangents of an all_gather."""
    total = c.again("psum")(g)
    me = axis_index(c.axis_name)
    shape = cnp.shape(total)
    a = c.inner + axis % (len(shape) - c.inner)
    if not tiled:
        return cnp.take(total, me, axis=a)
    n = named_map(c.axis_name).size
    blocks = cnp.reshape(total, (*shape[:a], n, shape[a] // n, *shape[a + 1:]))
    return cnp.take(blocks, me, axis=a)


def _gather_kind(axis: int, tiled: bool) -> Kind:
    return Kind(
        "all_gather",
        lambda b, k: _gathered(b, k, axis, tiled),
        lambda v, n, k: _gathered(cnp.broadcast_to(v, (n, *cnp.shape(v))), k, axis, tiled),
        lambda c, t, ans, x: c(t),
        lambda c, g, ans, x: _own_part(c, g, axis, tiled),
    )


KINDS = {
    "psum": Kind("psum", lambda b, k: cnp.sum(b, axis=0), lambda v, n, k: v * n,
                 lambda c, t, ans, x: c(t), lambda c, g, ans, x: c(g)),
    "pmean": Kind("pmean", lambda b, k: cnp.mean(b, axis=0), lambda v, n, k: v,
                  lambda c, t, ans, x: c(t), lambda c, g, ans, x: c(g)),
    # the derivative of the largest (smallest) value is shared by the examples that hold it
    "pmax": Kind("pmax", lambda b, k: cnp.max(b, axis=0), lambda v, n, k: v,
                 lambda c, t, ans, x: c.again("psum")(t * _share(c, x, ans)),
                 lambda c, g, ans, x: c.again("psum")(g) * _share(c, x, ans)),
    "pmin": Kind("pmin", lambda b, k: cnp.min(b, axis=0), lambda v, n, k: v,
                 lambda c, t, ans, x: c.again("psum")(t * _share(c, x, ans)),
                 lambda c, g, ans, x: c.again("psum")(g) * _share(c, x, ans)),
}


class Collective(CompositePrimitive):
    """A collective of one kind over the map named ``axis_name``, on one array. The
    map named ``axis_name`` computes it from its examples (the result is the same for
    all of them, so it has no batch axis); a map inside it computes it for each of its
    own examples; a reverse or forward trace inside it differentiates it by
    :class:`Kind`'s rules.

    >>> import chainrule as cr, numpy as np
    >>> total = Collective(KINDS["psum"], "i")
    >>> cr.vmap(cr.grad(lambda x: total(x) * x), axis_name="i")(np.array([1.0, 2.0]))
    array([6., 6.])
    """

    def __init__(self, kind: Kind, axis_name, inner: int = 0):
        super().__init__(self._body, name=kind.name)
        # inner: how many axes of maps inside the named one lead each value it is given
        self.kind, self.axis_name, self.inner = kind, axis_name, inner

    def again(self, name: str) -> Collective:
        """The collective ``name`` over the same map, on values like this one's."""
        return Collective(KINDS[name], self.axis_name, self.inner)

    def _body(self, x):
        trace = named_map(self.axis_name)
        if not isinstance(x, Tensor) or x._trace.level < trace.level:
            return self.kind.same(x, trace.size, self.inner)  # made outside the map: no batch axis
        if x._trace is trace:
            return self.kind.whole(x._value, self.inner)
        if isinstance(x._trace, BatchTrace):  # a map inside the named one: its axis leads
            return x._trace.box(Collective(self.kind, self.axis_name, self.inner + 1)(x._value))
        raise NotImplementedError(
            f"{self.kind.name} over the axis {self.axis_name!r} of a value that chainrule.jit "
            "records inside that vmap; put the jit outside the vmap (jit(vmap(f)))")

    def reverse(self, leaves, in_tree):
        (x,) = leaves
        out = self(x)
        rules = Primitive(self, name=self.kind.name)
        def_vjps(rules, lambda g, ans, x: self.kind.transpose(self, g, ans, x))
        return out, rules

    def tangent(self, primals, tangents, in_tree):
        (x,), (t,) = primals, tangents
        out = self(x)
        return out, (zeros_like(out) if t is None else self.kind.tangent(self, t, out, x))


def gather_collective(axis_name, axis: int, tiled: bool) -> Collective:
    """``all_gather`` over the map named ``axis_name``, on ``axis`` (joined if ``tiled``)."""
    return Collective(_gather_kind(axis, tiled), axis_name)


def axis_index(axis_name):
    """Each example's position along the map named ``axis_name``."""
    trace = named_map(axis_name)
    return trace.box(np.arange(trace.size))

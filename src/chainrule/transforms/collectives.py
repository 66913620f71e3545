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
from chainrule.core.composite import CompositePrimitive
from chainrule.core.primitive import Primitive, def_vjps
from chainrule.core.tensor import Tensor
from chainrule.core.values import zeros_like
from chainrule.transforms.batch_trace import BatchTrace
from chainrule.transforms.vmap import named_map

__all__ = ["Collective", "KINDS", "axis_index", "collective_of", "gather_collective"]


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
    varies: bool = False  # whether the result differs between the examples (ppermute's)


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
        _linear,
        lambda c, g, ans, x: _own_part(c, g, axis, tiled),
    )


def _linear(c, t, ans, x):
    return c(t)


def _examples_of(v, n: int):
    """``v``, the same in each of ``n`` examples, stacked on a new axis 0."""
    return cnp.broadcast_to(v, (n, *cnp.shape(v)))


def _permuted(b, sources):
    """Example ``i`` of the result is example ``sources[i]`` of ``b`` (zeros where that is
    ``n``: no example sends there)."""
    n = cnp.shape(b)[0]
    if (np.asarray(sources) < n).all():
        return cnp.take(b, sources, axis=0)
    return cnp.take(cnp.concatenate([b, cnp.zeros_like(b[:1])]), sources, axis=0)


def _ppermute_kind(perm) -> Kind:
    perm = tuple((int(s), int(d)) for s, d in perm)
    if len({s for s, _ in perm}) != len(perm) or len({d for _, d in perm}) != len(perm):
        raise ValueError(f"ppermute: perm {list(perm)} sends from or to an example twice")

    def whole(b, k):
        n = cnp.shape(b)[0]
        if any(not 0 <= i < n for pair in perm for i in pair):
            raise ValueError(f"ppermute: perm {list(perm)} names an example outside the {n} of the map")
        sources = np.full(n, n)
        for src, dst in perm:
            sources[dst] = src
        return _permuted(b, sources)

    return Kind("ppermute", whole, lambda v, n, k: whole(_examples_of(v, n), k), _linear,
                lambda c, g, ans, x: Collective(_ppermute_kind([(d, s) for s, d in perm]), c.axis_name, c.inner)(g),
                varies=True)


def _pshuffle_kind(perm) -> Kind:
    perm = [int(i) for i in perm]
    if sorted(perm) != list(range(len(perm))):
        raise ValueError(f"pshuffle: perm {perm} is not a permutation of the examples")

    def whole(b, k):
        if len(perm) != cnp.shape(b)[0]:
            raise ValueError(f"pshuffle: perm has {len(perm)} entries, the map {cnp.shape(b)[0]} examples")
        return cnp.take(b, np.asarray(perm, dtype=np.intp), axis=0)

    return Kind("pshuffle", whole, lambda v, n, k: whole(_examples_of(v, n), k), _linear,
                lambda c, g, ans, x: Collective(_pshuffle_kind(np.argsort(perm)), c.axis_name, c.inner)(g),
                varies=True)


def _scattered(s, k: int, dim: int, tiled: bool, n: int):
    """The sum ``s`` (``k`` axes of inner maps in front) split among the ``n`` examples
    along ``dim`` of an example (a part each if ``tiled``): the examples on axis 0."""
    d = k + dim % (len(cnp.shape(s)) - k)
    size = cnp.shape(s)[d]
    if not tiled:
        if size != n:
            raise ValueError(f"psum_scatter: the scattered axis has {size} entries, the map {n} examples "
                             "(tiled=True splits it into equal parts)")
        return cnp.moveaxis(s, d, 0)
    if size % n:
        raise ValueError(f"psum_scatter: the scattered axis ({size} entries) does not split into {n} equal parts")
    shape = cnp.shape(s)
    return cnp.moveaxis(cnp.reshape(s, (*shape[:d], n, size // n, *shape[d + 1:])), d, 0)


def _psum_scatter_kind(dim: int, tiled: bool) -> Kind:
    return Kind(
        "psum_scatter",
        lambda b, k: _scattered(cnp.sum(b, axis=0), k, dim, tiled, cnp.shape(b)[0]),
        lambda v, n, k: _scattered(v * n, k, dim, tiled, n),
        _linear,
        lambda c, g, ans, x: Collective(_gather_kind(dim, tiled), c.axis_name, c.inner)(g),
        varies=True)


def _all_to_all(b, k: int, split: int, concat: int, tiled: bool):
    """Example ``i`` gets part ``i`` (along ``split``) of every example's value, joined
    along ``concat`` (stacked there unless ``tiled``)."""
    n, nd = cnp.shape(b)[0], len(cnp.shape(b)) - 1 - k
    s = 1 + k + split % nd
    size = cnp.shape(b)[s]
    if (size != n) if not tiled else size % n:
        raise ValueError(f"all_to_all: the split axis has {size} entries, which does not split into the "
                         f"map's {n} examples" + ("" if tiled else " (without tiled, one each)"))
    if not tiled:  # (n_from, ..., n_to at s, ...) -> (n_to, n_from, ...)
        parts = cnp.moveaxis(b, s, 0)
        return cnp.moveaxis(parts, 1, 1 + k + concat % nd)
    shape = cnp.shape(b)
    parts = cnp.moveaxis(cnp.reshape(b, (*shape[:s], n, size // n, *shape[s + 1:])), s, 0)
    c = 1 + k + concat % nd  # the axis the senders join along, in the result
    parts = cnp.moveaxis(parts, 1, c)
    shape = cnp.shape(parts)
    return cnp.reshape(parts, (*shape[:c], -1, *shape[c + 2:]))


def _all_to_all_kind(split: int, concat: int, tiled: bool) -> Kind:
    return Kind(
        "all_to_all",
        lambda b, k: _all_to_all(b, k, split, concat, tiled),
        lambda v, n, k: _all_to_all(_examples_of(v, n), k, split, concat, tiled),
        _linear,
        lambda c, g, ans, x: Collective(_all_to_all_kind(concat, split, tiled), c.axis_name, c.inner)(g),
        varies=True)


def _pbroadcast_kind(source: int) -> Kind:
    def whole(b, k):
        n = cnp.shape(b)[0]
        if not 0 <= source < n:
            raise ValueError(f"pbroadcast: source {source} is not one of the map's {n} examples")
        return b[source]

    return Kind("pbroadcast", whole, lambda v, n, k: v, _linear,
                lambda c, g, ans, x: c.again("psum")(g) * cnp.equal(axis_index(c.axis_name), source))


KINDS = {
    "psum": Kind("psum", lambda b, k: cnp.sum(b, axis=0), lambda v, n, k: v * n,
                 _linear, lambda c, g, ans, x: c(g)),
    "pmean": Kind("pmean", lambda b, k: cnp.mean(b, axis=0), lambda v, n, k: v,
                  _linear, lambda c, g, ans, x: c(g)),
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
            out = self.kind.same(x, trace.size, self.inner)  # made outside the map: no batch axis
        elif x._trace is trace:
            out = self.kind.whole(x._value, self.inner)
        else:
            return self._inside(x)
        return trace.box(out) if self.kind.varies else out

    def _inside(self, x):
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


def collective_of(name: str, axis_name, **params) -> Collective:
    """The collective ``name`` (``ppermute``, ``pshuffle``, ``psum_scatter``,
    ``all_to_all``, ``pbroadcast``, or one of :data:`KINDS`) over the map ``axis_name``."""
    makers = {"ppermute": _ppermute_kind, "pshuffle": _pshuffle_kind, "psum_scatter": _psum_scatter_kind,
              "all_to_all": _all_to_all_kind, "pbroadcast": _pbroadcast_kind}
    kind = makers[name](**params) if name in makers else KINDS[name]
    return Collective(kind, axis_name)


def axis_index(axis_name):
    """Each example's position along the map named ``axis_name``."""
    trace = named_map(axis_name)
    return trace.box(np.arange(trace.size))

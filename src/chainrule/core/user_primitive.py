"""Primitives of your own: :func:`primitive`, :func:`defvjp` and :func:`defjvp`, HIPS
autograd's way of extending the engine.

A primitive made with :func:`primitive` may take containers (lists, tuples, dicts) of
values being differentiated and return several outputs, nested containers too, as HIPS
autograd's primitives do; the engine carries them as flat tuples.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable

import numpy as np

from chainrule.core.backward import derive_vjp
from chainrule.core.primitive import (
    OutputCotangents,
    Primitive,
    RulesByArgument,
    def_jvps,
    def_vjps,
    given_jvps,
    replaced_vjps,
    rule_argnums,
)
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.core.tensor import Tensor

__all__ = [
    "primitive",
    "FunctionPrimitive",
    "user_function",
    "defvjp",
    "defjvp",
    "all_output_cotangents",
    "user_output",
    "engine_output",
    "TreeOutputs",
]


def all_output_cotangents(g, ans):
    """The cotangent of a primitive of your own that returned a tuple, list or dict, as
    HIPS autograd hands it to a vjp: one entry per output, zeros for an output not used."""
    if g.__class__ is not OutputCotangents:
        return user_output(g) if isinstance(ans, TreeOutputs) else own_copy(g)
    items = [np.zeros_like(a) if c is None else own_copy(c) for a, c in zip(ans, g, strict=True)]
    if isinstance(ans, TreeOutputs):
        return tree_unflatten(ans._treedef, items)
    return ans.__class__(*items) if hasattr(ans, "_fields") else ans.__class__(items)


def own_copy(g):
    """A cotangent the vjp of your own may write into (``g *= 2``, ``g[mask] = 0``), as
    HIPS autograd's often are: the backward pass hands a read-only broadcast view (from
    ``sum``) or the same array to several rules (both operands of ``+``), where a write
    would fail or change the others' derivatives."""
    return g.copy() if isinstance(g, np.ndarray) else g


class TreeOutputs(tuple):
    """The outputs of a primitive of your own that returned a dict, or a tuple or list
    holding dicts, lists or tuples (tidy3d's ``run_async`` returns a dict per task), as
    the engine carries several outputs: a tuple of the leaves, as a namedtuple is (its
    ``_fields`` name them); the caller, the vjp maker (its ``ans``) and the vjp (its
    cotangent) see the nested containers, as HIPS autograd gives them (a DictBox or
    SequenceBox)."""

    __slots__ = ()
    _fields: tuple = ()
    _treedef = None

    def __new__(cls, *items):
        return tuple.__new__(cls, items)


@functools.lru_cache(maxsize=256)
def _tree_outputs_type(treedef) -> type:
    return type("TreeOutputs", (TreeOutputs,),
                {"__slots__": (), "_fields": tuple(range(treedef.num_leaves)), "_treedef": treedef})


def _as_tree_outputs(d: dict) -> TreeOutputs:
    leaves, treedef = tree_flatten(d)
    return _tree_outputs_type(treedef)(*leaves)


def _holds_container(ans) -> bool:
    return any(v.__class__ in (dict, list, tuple) for v in ans)


def user_output(ans):
    """``ans`` as the user's function gave it: the containers for :class:`TreeOutputs`."""
    return tree_unflatten(ans._treedef, list(ans)) if isinstance(ans, TreeOutputs) else ans


def engine_output(ans, like=None):
    """Nested containers (a primitive's result, or a forward rule's tangent of one) as the
    engine carries several outputs: :class:`TreeOutputs`, its leaves in the order of
    ``like``'s (the result it is the tangent of) where that is given; anything else as it is."""
    if isinstance(like, TreeOutputs):
        if ans.__class__ is dict or ans.__class__ is list or ans.__class__ is tuple:
            return type(like)(*like._treedef.flatten_up_to(ans))
        return ans
    if ans.__class__ is dict or (ans.__class__ is tuple or ans.__class__ is list) and _holds_container(ans):
        return _as_tree_outputs(ans)
    return ans


def primitive(fun: Callable) -> Primitive:
    """Mark ``fun`` as a primitive whose derivatives come from rules you give.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> import numpy as np
    >>> @cr.primitive
    ... def logsumexp(x):
    ...     m = x.max()
    ...     return m + np.log(np.sum(np.exp(x - m)))
    >>> cr.defvjp(logsumexp, lambda ans, x: lambda g: g * cnp.exp(x - ans))
    """
    return FunctionPrimitive(fun)


class FunctionPrimitive(Primitive):
    """A primitive made with :func:`primitive`. Like the function it wraps (and like a
    HIPS autograd primitive, which is a function), it becomes a method when it is stored
    on a class: ``obj.method(x)`` calls it as ``method(obj, x)``. (The mirror's own
    primitives stay unbound, as NumPy's ufuncs do: ``class A: act = cnp.tanh`` works.)"""

    __slots__ = ()

    def __init__(self, fun: Callable, name: str | None = None):
        super().__init__(fun, name)
        self.fun = _MarksOutputs(fun, self)

    def __get__(self, obj, objtype=None):
        return self if obj is None else types.MethodType(self, obj)

    def __call__(self, *args, **kwargs):
        for a in args:
            if (a.__class__ is list or a.__class__ is tuple or a.__class__ is dict) and _holds_value(a):
                return _call_with_containers(self, args, kwargs)
        return user_output(Primitive.__call__(self, *args, **kwargs))


class _MarksOutputs:
    """Calls ``fun``; a result that is a tuple, a namedtuple (NumPy's ``eigh``, ``svd``,
    ``slogdet`` results) or a list marks ``prim`` as having several outputs, each its own
    value (HIPS autograd boxes such a result as a sequence), known once it has run. The
    mark is the latest call's: one primitive may return a tuple in one call and an array
    in the next (a library's single primitive that runs whichever kernel it is handed),
    and the engine reads it right after each call. (An object, not a closure: a primitive
    pickles with its function.)"""

    __slots__ = ("fun", "prim")

    def __init__(self, fun: Callable, prim: Primitive):
        self.fun, self.prim = fun, prim

    def __call__(self, *args, **kwargs):
        ans = self.fun(*args, **kwargs)
        if ans.__class__ is dict or (ans.__class__ is tuple or ans.__class__ is list) and _holds_container(ans):
            ans = _as_tree_outputs(ans)  # (HIPS autograd boxes it as a DictBox or SequenceBox)
        self.prim.multiple_outputs = ans.__class__ is tuple or ans.__class__ is list or (
            isinstance(ans, tuple) and hasattr(ans, "_fields"))
        return ans


def user_function(fun: Callable) -> Callable:
    """The function that the forward ``fun`` of a :func:`primitive` calls: the user's own
    (``fun`` itself for other primitives' forwards)."""
    return fun.fun if isinstance(fun, _MarksOutputs) else fun


# A list, tuple or dict argument of a primitive of your own that holds values being
# differentiated is passed to it as a container of plain values, as HIPS autograd passes
# a boxed container (autograd.builtins.tuple/list/dict; PennyLane hands its circuits'
# parameters so); its vjp returns the container's cotangent, which is read at each
# value's place, cotangent[i][j] (a tuple of arrays for a tuple of lists, say).

def _holds_value(a) -> bool:
    for v in (a.values() if a.__class__ is dict else a):
        if isinstance(v, Tensor):
            if v.dtype.kind in "fc":
                return True
        elif (v.__class__ is list or v.__class__ is tuple or v.__class__ is dict) and _holds_value(v):
            return True
    return False


def _paths(a, path=()):
    """The (path, leaf) pairs of a nested list/tuple/dict, in order."""
    if a.__class__ is list or a.__class__ is tuple:
        for i, v in enumerate(a):
            yield from _paths(v, (*path, i))
    elif a.__class__ is dict:
        for k, v in a.items():
            yield from _paths(v, (*path, k))
    else:
        yield path, a


def _refill(a, leaves):
    """``a`` with its leaves replaced, in order, by the next of ``leaves``."""
    if a.__class__ is list or a.__class__ is tuple:
        return a.__class__(_refill(v, leaves) for v in a)
    if a.__class__ is dict:
        return {k: _refill(v, leaves) for k, v in a.items()}
    return next(leaves)


def _at(ct, path):
    for k in path:
        ct = ct[k]
    return ct


def _call_with_containers(prim: FunctionPrimitive, args, kwargs):
    """Call ``prim`` with its container arguments taken apart: a primitive made for this
    call takes every leaf as an argument of its own, rebuilds the containers and calls
    ``prim``'s function; its rules are ``prim``'s, asked with the containers rebuilt."""
    flat: list = []
    where: list[tuple[int, list | None]] = []  # each argument: first flat position, leaf paths
    for a in args:
        if (a.__class__ is list or a.__class__ is tuple or a.__class__ is dict) and _holds_value(a):
            pairs = list(_paths(a))
            where.append((len(flat), [p for p, _ in pairs]))
            flat.extend(v for _, v in pairs)
        else:
            where.append((len(flat), None))
            flat.append(a)

    def rebuild(values):
        return [values[k] if paths is None else _refill(a, iter(values[k:k + len(paths)]))
                for a, (k, paths) in zip(args, where, strict=True)]

    owner = {}  # flat position -> (argument, leaf path or None)
    for i, (k, paths) in enumerate(where):
        for j, path in enumerate(paths or [None]):
            owner[k + j] = (i, path)

    def user_vjp(i, g, ans, values, kw):
        try:
            rule = prim.vjps[i]
        except KeyError:
            rule = derive_vjp(prim, i)
        return None if rule is None else rule(g, ans, *rebuild(values), **kw)

    def make_vjp(p):
        i, path = owner[p]
        def rule(g, ans, *values, **kw):
            ct = user_vjp(i, g, ans, values, kw)
            return ct if ct is None or path is None else _at(ct, path)
        return rule

    def joint(g, ans, argnums, *values, **kw):
        out = [None] * len(values)
        cts = {}
        for p in argnums:
            i, path = owner[p]
            if i not in cts:
                cts[i] = user_vjp(i, g, ans, values, kw)
            ct = cts[i]
            out[p] = ct if ct is None or path is None else _at(ct, path)
        return out

    def make_jvp(p):
        i, path = owner[p]
        if i not in prim.jvps:  # forward mode transposes the vjp rules instead
            raise KeyError(p)
        user = prim.jvps[i]
        if user is None:
            return None
        if path is None:
            return lambda t, ans, *values, **kw: user(t, ans, *rebuild(values), **kw)
        k = where[i][0]
        def rule(t, ans, *values, **kw):
            # the tangent of the container: t at this leaf, zeros at the others
            leaves = [t if q == p else np.zeros_like(values[q]) for q in range(k, k + len(where[i][1]))]
            return user(_refill(args[i], iter(leaves)), ans, *rebuild(values), **kw)
        return rule

    inner = FunctionPrimitive(lambda *values, **kw: prim.fun(*rebuild(values), **kw), name=prim.__name__)
    inner.vjps = RulesByArgument(make_vjp)
    inner.joint_vjp = joint if prim.joint_vjp is None else None
    inner.jvps = RulesByArgument(make_jvp)
    return inner(*flat, **kwargs)


def defvjp(prim: Primitive, *makers: Callable | None, argnums: tuple[int, ...] | None = None):
    """Define reverse-mode rules, HIPS autograd style.

    Each maker is called as ``maker(ans, *args, **kwargs)`` and returns a function of the
    output cotangent ``g`` that gives the argument's cotangent. Use ``None`` for an
    argument without a derivative.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> square = cr.primitive(lambda x: x * x)
    >>> cr.defvjp(square, lambda ans, x: lambda g: 2 * g * x)
    >>> float(cr.grad(square)(3.0))
    6.0
    """
    if not isinstance(prim, Primitive):
        raise TypeError(f"defvjp expects a function made with chainrule.primitive, got {prim!r}")

    def flat(maker):
        if maker is None:
            return None
        return lambda g, ans, *args, **kwargs: maker(user_output(ans), *args, **kwargs)(all_output_cotangents(g, ans))

    argnums = rule_argnums(argnums, len(makers))
    def_vjps(prim, *(flat(m) for m in makers), argnums=argnums)
    replaced_vjps(prim, argnums)


def defjvp(prim: Primitive, *rules: Callable | None, argnums: tuple[int, ...] | None = None):
    """Define forward-mode rules, HIPS autograd style: ``rule(t, ans, *args, **kwargs)``.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> square = cr.primitive(lambda x: x * x)
    >>> cr.defjvp(square, lambda t, ans, x: 2 * t * x)
    >>> float(cr.jvp(square, (3.0,), (1.0,))[1])
    6.0
    """
    if not isinstance(prim, Primitive):
        raise TypeError(f"defjvp expects a function made with chainrule.primitive, got {prim!r}")
    argnums = rule_argnums(argnums, len(rules))
    def_jvps(prim, *rules, argnums=argnums)
    given_jvps(prim, argnums)

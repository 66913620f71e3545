"""The backward pass: cotangents flow from the outputs back to the inputs.

A reverse trace's tape is already in execution order, so its backward pass walks it
from the end, keeping cotangents in a flat list indexed by tape position: apply the vjp
rule of every differentiated argument and add the result to that argument's slot. A
cotangent is dropped as soon as it has been used. The eager graph goes through the same
pass: its nodes, sorted by :func:`toposort`, are the keys of its entries and cotangents.
The outputs of a multiple-output primitive have entries of their own (``PROJECT``), whose
cotangents gather into one list for the primitive's rules. A primitive with a joint vjp
rule (``def_joint_vjp``) is asked once for the cotangents of all its arguments.

Where the pass itself combines arrays (the cotangent times an elementwise derivative, a
cotangent added to another for the same value) it writes into one of them instead of a
new array when it can prove that no one else can see that one (:func:`sole_owner`): for
large arrays, that saves the allocation and the page faults of a fresh buffer.

A primitive without a vjp rule for an argument gets one here (:func:`derive_vjp`): its
jvp rule transposed by a small backward pass (:func:`transpose`), and the other way round
for forward mode (:func:`derive_jvp`). The backward pass needs derived rules and derived
rules need the backward pass, so the two live together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from sys import getrefcount

import numpy as np
from numpy import add, empty, multiply, ndarray

from chainrule.core.anomaly import ANOMALY, CHECKING, check_cotangent
from chainrule.core.linearity import check_linear, check_odd, generic_point
from chainrule.core.primitive import real_if_real
from chainrule.core.reverse_trace import ReverseTrace
from chainrule.core.tensor import Tensor
from chainrule.core.values import in_dtype_of, like_input, zeros_like

__all__ = [
    "backward_pass",
    "toposort",
    "sole_owner",
    "pullback",
    "TRANSPOSING",
    "transpose",
    "transpose_densely",
    "derive_vjp",
    "derive_jvp",
]

# Arrays at least this large are combined in place when the pass owns one of them: below
# it NumPy's own cache of small buffers makes a new array about as cheap as the checks.
IN_PLACE_BYTES = 1 << 15

# ``unbroadcast(g, x)``: ``g`` summed down to the shape of ``x``, which the numpy layer
# defines (chainrule.numpy.broadcasting: its sums are differentiable) and sets here.
UNBROADCAST: list = [None]


def _references(a) -> int:
    return getrefcount(a)


def _stand_in(a) -> int:
    """Reads the count as :func:`sole_owner` does: one parameter, then _references."""
    return _references(a)


def _calibrate() -> int:
    """What :func:`sole_owner` reads beyond its caller's own references. Measured, not
    assumed (the interpreter's own references to arguments differ between Python
    versions); if one more holder, a list slot or a second variable, does not read
    exactly one more, counts prove nothing here and nothing is written in place."""
    alone = empty(1)
    n = _stand_in(alone)
    slot = [alone]
    with_slot = _stand_in(alone)
    other = alone
    with_other = _stand_in(other)
    del slot, other
    return n - 1 if with_slot == n + 1 and with_other == n + 2 else -(1 << 30)


_BEYOND_HOLDERS = _calibrate()


def sole_owner(a, holders: int) -> bool:
    """Whether the array ``a``, which its caller and the pass hold in ``holders``
    references (its local variables and list or dict slots), is large, writeable and
    seen by no one else: no other variable, container, Tensor, hook or ``.grad`` refers
    to it, and it is no view (a view's memory belongs to its base, which others may
    read; an array that views are taken of is held by them, which counts). Writing into
    it then changes nothing anyone can read."""
    return (
        a.__class__ is ndarray and a.nbytes >= IN_PLACE_BYTES and a.base is None
        and _references(a) == _BEYOND_HOLDERS + holders and a.flags.writeable
    )


def backward_pass(
    tape, cots, stop: int = 0, origins: dict | None = None, order=None, visit=None,
    watched=None, top: int | None = None,
) -> None:
    """Propagate the cotangents ``cots`` (one slot per tape entry) back through ``tape``,
    down to position ``stop`` (where the inputs' entries begin to stand), from position
    ``top`` (the last one if None).

    Entries and cotangents are dropped from ``tape`` and ``cots`` as soon as they have
    been used, so memory falls during the pass; pass a copy of a tape to keep it. Under
    ``detect_anomaly`` every cotangent a rule makes is checked (``origins``: where each
    entry's call was made).

    For the eager graph, ``order`` gives the keys (nodes, newest first) of the dicts
    ``tape`` and ``cots``, and ``visit(key, g, entry) -> (g, entry)`` sees the cotangent
    of each entry whose key is in ``watched`` before its rules run (hooks, ``.grad``,
    in-place checks, recomputation).
    """
    checking = ANOMALY[0] and CHECKING[0]
    for i in range(len(tape) - 1 if top is None else top, stop - 1, -1) if order is None else order:
        g = cots[i]
        if g is None:
            continue
        cots[i] = None
        entry = tape[i]
        tape[i] = None
        if visit is not None and i in watched:
            g, entry = visit(i, g, entry)
        prim, parents, args, kwargs, ans = entry
        if prim is None:  # a leaf
            continue
        partials = prim.partials
        if partials is not None and not kwargs and len(partials) == 1:
            # an elementwise function of one argument: g times its derivative, without
            # the call of the rule that says just that (this is most of a backward pass)
            p = parents[0][1]
            d = partials[0](ans, args[0])
            if (d.__class__ is ndarray and d.nbytes >= IN_PLACE_BYTES and g.__class__ is ndarray
                    and g.shape == d.shape and g.dtype == d.dtype and sole_owner(d, 1)):
                gi = multiply(g, d, out=d)  # the derivative was made for this product alone
            else:
                gi = g * d  # (times(g, d) spelled out: this is the hot path)
            del d
            try:  # (the common case: g * d of the argument's dtype already)
                if gi.dtype is not (ans if args[0] is None else args[0]).dtype:
                    gi = argument_cotangent(gi, args, 0, ans)
            except AttributeError:  # a Python number or a list: argument_cotangent knows
                gi = argument_cotangent(gi, args, 0, ans)
            if checking:
                check_cotangent(gi, prim, 0, origins and origins.get(i))
            c = cots[p]
            if c is None:
                cots[p] = gi
            elif c.__class__ is ndarray and c.nbytes >= IN_PLACE_BYTES:
                cots[p] = accumulate(c, gi)
            else:
                cots[p] = c + gi
            continue
        # an elementwise function of several arguments (+ - * /): the same, broadcasting
        # summed away; any other: its vjp rules
        elementwise = partials is not None and not kwargs
        vjps = prim.vjps
        joint = None if elementwise else prim.joint_vjp  # one rule for every argument, asked once
        if joint is not None:  # (see def_joint_vjp)
            joint = joint(g, ans, [a for a, _ in parents], *args, **kwargs)
        for argnum, p in parents:
            if elementwise:
                d = partials[argnum]
                if d is None:
                    continue
                if d.__class__ is int:
                    gi = g if d == 1 else -g
                else:
                    d = d(ans, *args)
                    gi = times(g, d)
                    del d
                x = args[argnum]
                try:
                    if gi.shape != x.shape:
                        gi = UNBROADCAST[0](gi, x)
                except AttributeError:  # a Python number
                    gi = UNBROADCAST[0](gi, x)
            elif joint is None:
                try:
                    rule = vjps[argnum]
                except KeyError:
                    rule = derive_vjp(prim, argnum)
                if rule is None:
                    continue
                gi = rule(g, ans, *args, **kwargs) if kwargs else rule(g, ans, *args)
            else:
                gi = joint[argnum]
                if gi is None:
                    continue
            # the cotangent in its argument's dtype (argument_cotangent), asked for only
            # where the dtypes differ: two dtype reads per cotangent
            try:  # (gi first: a multiple output's entry gathers a list, its argument a count)
                if gi.dtype is not (ans if args[argnum] is None else args[argnum]).dtype:
                    gi = argument_cotangent(gi, args, argnum, ans)
            except AttributeError:
                gi = argument_cotangent(gi, args, argnum, ans)
            if checking:
                check_cotangent(gi, prim, argnum, origins and origins.get(i))
            c = cots[p]
            if c is None:
                cots[p] = gi
            elif c.__class__ is ndarray and c.nbytes >= IN_PLACE_BYTES:
                cots[p] = accumulate(c, gi)
            else:
                cots[p] = c + gi


def argument_cotangent(gi, args, argnum: int, ans):
    """The cotangent ``gi`` that a rule made for ``args[argnum]``, as that argument's: real
    if it is real (:func:`real_if_real`) and of its floating-point dtype
    (:func:`in_dtype_of`), so a float32 value's cotangent is float32 where NumPy's
    promotion widened the result (``x32 * i64``). A tape entry that keeps only its output
    (``args[argnum] is None``) keeps it for a function that preserves the dtype's kind,
    so ``ans`` stands in."""
    gi = real_if_real(gi, args, argnum, ans)
    if not hasattr(gi, "dtype"):  # a Python number, or the list a multiple output gathers
        return gi
    x = args[argnum]
    return in_dtype_of(gi, ans if x is None else x)


def times(g, d):
    """``g * d``, the cotangent times a partial derivative, written into ``d`` where the
    pass made it for this product alone: the caller's variable and this function's
    argument are its two references."""
    if (d.__class__ is ndarray and d.nbytes >= IN_PLACE_BYTES and g.__class__ is ndarray
            and g.shape == d.shape and g.dtype == d.dtype and sole_owner(d, 2)):
        return multiply(g, d, out=d)
    return g * d


def accumulate(c, gi):
    """``c + gi``, the sum of two cotangents of one value, written into ``c`` where no
    one else holds it: its slot in ``cots``, the pass's variable and this function's
    argument are its three references."""
    if (gi.__class__ is ndarray and c.shape == gi.shape and c.dtype == gi.dtype
            and sole_owner(c, 3)):
        return add(c, gi, out=c)
    return c + gi


def toposort(root) -> list:
    """Eager nodes reachable from ``root``, each before the nodes it was computed from.

    Nodes are numbered as they are made, and a node is always made after its parents, so
    sorting the reachable nodes by that number, newest first, is a topological order (and
    a deterministic one). No recursion, so no depth limit.
    """
    seen = {root}  # nodes hash by identity
    found = [root]
    stack = [root]
    while stack:
        for _, parent in stack.pop().parents or ():
            if parent not in seen:
                seen.add(parent)
                found.append(parent)
                stack.append(parent)
    found.sort(key=attrgetter("seq"), reverse=True)
    return found


# The name of the trace that transposes a linear rule (:func:`transpose`):
# a vjp rule run there, to give a primitive's forward rule, sees its cotangent as a Tensor
# of that trace, which HIPS autograd's getval leaves in place (chainrule.tracer.getval).
TRANSPOSING = "transposing"


def pullback(fun: Callable, args: Sequence, name: str = "pullback"):
    """``fun(*args)`` and its pullback: a function from the output's cotangent to the
    cotangents of ``args`` (None for an argument the output does not depend on). A tuple
    of outputs takes a tuple of cotangents (None for an output without one).

    >>> import numpy as np
    >>> out, pull = pullback(lambda x, y: x * y, (np.float64(3.0), np.float64(2.0)))
    >>> float(out), [float(c) for c in pull(np.float64(1.0))]
    (6.0, [2.0, 3.0])
    """
    trace = ReverseTrace(name)
    tape = trace.tape
    try:
        boxed = [trace.new_tensor(a) for a in args]
        inputs = [t._node for t in boxed]  # (an argument changed in place takes on a new node)
        out = fun(*boxed)
    finally:
        trace.close()
    several = isinstance(out, tuple)
    outs = out if several else (out,)
    recorded = [isinstance(o, Tensor) and o._trace is trace for o in outs]
    values = tuple(o._value if r else o for o, r in zip(outs, recorded, strict=True))

    def pull(cotangent) -> list:
        if not any(recorded):
            return [None] * len(args)
        cots = [None] * len(tape)
        for o, r, c in zip(outs, recorded, cotangent if several else (cotangent,), strict=True):
            if r and c is not None:
                cots[o._node] = c if cots[o._node] is None else cots[o._node] + c
        backward_pass(list(tape), cots, stop=len(args))
        return [cots[node] for node in inputs]

    return (values if several else values[0]), pull


def derive_vjp(prim, argnum: int) -> Callable | None:
    """A vjp rule for ``argnum`` obtained from its jvp rule, or an error if there is none.

    The jvp rule is linear in the tangent, t ↦ J t; reverse mode applied to that map
    gives its transpose, g ↦ Jᵀ g, exactly. This works because rules are written in
    chainrule.numpy; it costs one extra small reverse pass per use.
    """
    if argnum not in prim.jvps:  # (with several outputs: a tuple of tangents, transposed too)
        raise prim.missing_rule("rev", argnum)
    jvp_rule = prim.jvps[argnum]
    if jvp_rule is None:
        prim.vjps[argnum] = None
        return None
    def rule(g, ans, *args, **kwargs):
        tangent_map = lambda t: jvp_rule(t, ans, *args, **kwargs)  # noqa: E731
        return transpose(tangent_map, args[argnum], g, f"{prim.__name__}: the jvp rule of argument {argnum}")

    prim.vjps[argnum] = rule
    return rule

def derive_jvp(prim, argnum: int) -> Callable | None:
    """A jvp rule for ``argnum`` obtained from its vjp rule (the transpose of the
    linear map g ↦ Jᵀ g is t ↦ J t), or an error if there is none."""
    if prim.multiple_outputs:
        raise prim.missing_rule("fwd", argnum)
    try:  # (rules made per argument on first use, RulesByArgument, are found so too)
        vjp_rule = prim.vjps[argnum]
    except KeyError:
        raise prim.missing_rule("fwd", argnum) from None
    if vjp_rule is None:
        prim.jvps[argnum] = None
        return None
    def rule(t, ans, *args, **kwargs):
        cotangent_map = lambda g: vjp_rule(g, ans, *args, **kwargs)  # noqa: E731
        return transpose(cotangent_map, ans, t, f"{prim.__name__}: the vjp rule of argument {argnum}")

    prim.jvps[argnum] = rule
    return rule


def transpose(linear_map: Callable, like, v, what: str = "a rule"):
    """The transpose of ``linear_map`` (defined on values like ``like``) applied to ``v``,
    by one small reverse pass; the result is real if ``like`` is, and of its dtype. A map
    that is not linear raises an error naming ``what`` (``linearity.check_linear``)."""
    zero = zeros_like(like)
    point = generic_point(zero)  # the map is linear: any point will do, a random one checks that
    try:
        value, pull = pullback(linear_map, (point,), TRANSPOSING)
        out = pull(v)[0]
    except Exception as traced:
        # the rule was written for plain arrays, as HIPS autograd hands them to a vjp: a
        # Tensor cannot go where it takes it (SciPy, C code), it calls a primitive without
        # rules of its own (an adjoint solve made with ``primitive`` alone, first order
        # being all its library needs), or it checks what it was given (``assert
        # isinstance(g, np.ndarray)``): run it on plain arrays
        try:
            out = transpose_densely(linear_map, zero, v)
        except Exception:
            raise traced from None
    else:
        check_linear(what, point, value, v, out)
        if not isinstance(point, Tensor) and not any(isinstance(a, Tensor) for a in _outputs(value)):
            # no trace saw the map (plain values in and out): it runs once more, on plain
            # values, at minus the point, which catches what check_linear cannot see
            check_odd(what, value, linear_map(-point))
    return zero if out is None else like_input(out, zero)


def _outputs(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def transpose_densely(linear_map: Callable, point, v):
    """The transpose of ``linear_map`` applied to ``v``, from the map's values at the unit
    vectors of ``point``'s space, one call each, on plain arrays: for a rule that hands its
    argument to a function that takes no Tensor (autograd's users wrap SciPy and C code
    so: ``defvjp(blur, lambda ans, x: lambda g: gaussian_filter(g, 1.0))``), which the
    traced transpose cannot run.

    >>> import numpy as np
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> transpose_densely(lambda g: np.asarray(g) @ a, np.zeros(3), np.array([1.0, 0.0]))
    array([1., 3., 5.])
    """
    if isinstance(point, Tensor):
        shape, dtype = tuple(point.shape), point.dtype
    else:
        shape, dtype = np.shape(point), np.result_type(point)
    size = int(np.prod(shape))
    flat_v = v.reshape(-1) if isinstance(v, Tensor) else np.reshape(v, -1)
    rows = []
    for k in range(size):
        unit = np.zeros(size, dtype)
        unit[k] = 1
        column = linear_map(unit.reshape(shape))
        if isinstance(column, Tensor):
            raise TypeError("the map gave a Tensor on a plain argument")
        rows.append(np.zeros(flat_v.shape, dtype) if column is None else np.ravel(column))
    matrix = np.stack(rows) if rows else np.zeros((0,) + tuple(flat_v.shape), dtype)
    return (matrix @ flat_v).reshape(shape)

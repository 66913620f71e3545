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
"""

from __future__ import annotations

from operator import attrgetter
from sys import getrefcount

from numpy import add, empty, multiply, ndarray

from chainrule.core.anomaly import ANOMALY, check_cotangent
from chainrule.core.primitive import real_if_real

__all__ = ["backward_pass", "toposort", "sole_owner"]

# Arrays at least this large are combined in place when the pass owns one of them: below
# it NumPy's own cache of small buffers makes a new array about as cheap as the checks.
IN_PLACE_BYTES = 1 << 15


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
    checking = ANOMALY[0] > 0
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
        partial = prim.partial
        if partial is not None and not kwargs:
            # an elementwise function of one argument: g times its derivative, without
            # the call of the rule that says just that (this is most of a backward pass)
            p = parents[0][1]
            d = partial(ans, args[0])
            if (d.__class__ is ndarray and d.nbytes >= IN_PLACE_BYTES and g.__class__ is ndarray
                    and g.shape == d.shape and g.dtype == d.dtype and sole_owner(d, 1)):
                gi = multiply(g, d, out=d)  # the derivative was made for this product alone
            else:
                gi = g * d
            del d
            try:
                if gi.dtype.kind == "c":
                    gi = real_if_real(gi, args, 0, ans)
            except AttributeError:  # a Python number or a list: real_if_real knows
                gi = real_if_real(gi, args, 0, ans)
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
        vjps = prim.vjps
        joint = prim.joint_vjp  # one rule for every argument, asked once (see def_joint_vjp)
        if joint is not None:
            joint = joint(g, ans, [a for a, _ in parents], *args, **kwargs)
        for argnum, p in parents:
            if joint is None:
                try:
                    rule = vjps[argnum]
                except KeyError:
                    rule = prim.derive_vjp(argnum)
                if rule is None:
                    continue
                gi = rule(g, ans, *args, **kwargs) if kwargs else rule(g, ans, *args)
            else:
                gi = joint[argnum]
                if gi is None:
                    continue
            # the projection of a complex cotangent for a real argument (real_if_real),
            # asked for only where the cotangent is complex: one dtype read per cotangent
            try:
                if gi.dtype.kind == "c":
                    gi = real_if_real(gi, args, argnum, ans)
            except AttributeError:
                gi = real_if_real(gi, args, argnum, ans)
            if checking:
                check_cotangent(gi, prim, argnum, origins and origins.get(i))
            c = cots[p]
            if c is None:
                cots[p] = gi
            elif c.__class__ is ndarray and c.nbytes >= IN_PLACE_BYTES:
                cots[p] = accumulate(c, gi)
            else:
                cots[p] = c + gi


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

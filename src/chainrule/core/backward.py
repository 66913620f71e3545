"""The backward pass: cotangents flow from the outputs back to the inputs.

A reverse trace's tape is already in execution order, so its backward pass walks it
from the end, keeping cotangents in a flat list indexed by tape position: apply the vjp
rule of every differentiated argument and add the result to that argument's slot. A
cotangent is dropped as soon as it has been used. The eager graph goes through the same
pass: its nodes, sorted by :func:`toposort`, are the keys of its entries and cotangents.
The outputs of a multiple-output primitive have entries of their own (``PROJECT``), whose
cotangents gather into one list for the primitive's rules. A primitive with a joint vjp
rule (``def_joint_vjp``) is asked once for the cotangents of all its arguments.
"""

from __future__ import annotations

from operator import attrgetter

from chainrule.core.anomaly import ANOMALY, check_cotangent
from chainrule.core.primitive import real_if_real

__all__ = ["backward_pass", "toposort"]


def backward_pass(
    tape, cots, stop: int = 0, origins: dict | None = None, order=None, visit=None,
    watched=None,
) -> None:
    """Propagate the cotangents ``cots`` (one slot per tape entry) back through ``tape``,
    down to position ``stop`` (where the inputs' entries begin to stand).

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
    for i in range(len(tape) - 1, stop - 1, -1) if order is None else order:
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
            gi = g * partial(ans, *args)
            try:
                if gi.dtype.kind == "c":
                    gi = real_if_real(gi, args, 0, ans)
            except AttributeError:  # a Python number or a list: real_if_real knows
                gi = real_if_real(gi, args, 0, ans)
            if checking:
                check_cotangent(gi, prim, 0, origins and origins.get(i))
            c = cots[p]
            cots[p] = gi if c is None else c + gi
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
            cots[p] = gi if c is None else c + gi


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

"""The backward pass: cotangents flow from the output back to the leaves.

Each node keeps its output's cotangent in ``node.cot`` while the pass accumulates it;
the pass visits nodes in reverse topological order (a tape, reversed, already is one),
applies the vjp rule of every differentiated argument and adds the result to that
argument's node. A cotangent is dropped as soon as it has been used.
"""

from __future__ import annotations

from chainrule.core.trace import PROJECT, Node

__all__ = ["backward_pass", "toposort"]


def backward_pass(nodes, free: bool = False) -> None:
    """Propagate cotangents through ``nodes``, given outputs-first.

    Leaves (``prim is None``) keep their accumulated cotangent in ``.cot`` for the
    caller to collect. With ``free``, each node lets go of its saved values once used.
    """
    for node in nodes:
        g = node.cot
        if g is None:
            continue
        prim = node.prim
        if prim is None:
            continue
        node.cot = None
        if prim is PROJECT:
            accumulate_output(node, g)
            continue
        args = node.args
        kwargs = node.kwargs
        ans = node.ans
        vjps = prim.vjps
        for argnum, parent in node.parents:
            try:
                rule = vjps[argnum]
            except KeyError:
                rule = prim.derive_vjp(argnum)
            if rule is None:
                continue
            gi = rule(g, ans, *args, **kwargs)
            c = parent.cot
            parent.cot = gi if c is None else c + gi
        if free:
            node.args = node.ans = node.parents = None


def accumulate_output(proj: Node, g) -> None:
    """Add the cotangent of output k into the list of cotangents of its primitive."""
    ((k, main),) = proj.parents
    cots = main.cot
    if cots is None:
        cots = main.cot = [None] * len(main.ans)
    cots[k] = g if cots[k] is None else cots[k] + g


def toposort(root: Node) -> list[Node]:
    """Nodes reachable from ``root``, each after every node that uses it (iterative DFS)."""
    order = []
    visited = {id(root)}
    stack = [(root, iter(root.parents or ()))]
    while stack:
        node, parents = stack[-1]
        for _, parent in parents:
            if id(parent) not in visited:
                visited.add(id(parent))
                stack.append((parent, iter(parent.parents or ())))
                break
        else:
            stack.pop()
            order.append(node)
    order.reverse()
    return order

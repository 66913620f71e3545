"""Collapsing repetitions: consecutive copies of the same pattern of operations (a loop
body, identical layers) drawn once in a cluster marked ``× N``, and name scopes
collapsed into single nodes."""

from __future__ import annotations

from dataclasses import dataclass

from chainrule.core.trace import PROJECT
from chainrule.viz.drawing import GraphNode, _describe, _short

# Longest block of operations searched for as the body of a repetition.
MAX_PERIOD = 64
# A parent this many operations back or more counts as "far" in a pattern, so that loop
# bodies reading an early value at growing distances still compare equal.
FAR = 64


@dataclass
class _Group:
    """A name scope in the unit tree: its path, its units (tape positions or groups), and
    its index among the scopes recorded."""

    path: str
    units: list
    rid: int


def _unit_tree(ops: list[int], chain_of: dict[int, tuple], paths: list[str]) -> list:
    """The operations as a tree of units: a tape position, or a scope group of units."""
    root: list = []
    stack: list[tuple[tuple, list]] = [((), root)]
    for i in ops:
        chain = chain_of.get(i, ())
        while stack[-1][0] != chain[: len(stack[-1][0])]:
            stack.pop()  # leave the scopes that do not contain this operation
        while len(stack[-1][0]) < len(chain):
            depth = len(stack[-1][0])
            group = _Group(paths[chain[depth]], [], chain[depth])
            stack[-1][1].append(group)
            stack.append((chain[: depth + 1], group.units))
        stack[-1][1].append(i)
    return root


def _flat(units) -> list[int]:
    out = []
    for u in units:
        if isinstance(u, _Group):
            out.extend(_flat(u.units))
        else:
            out.append(u)
    return out


def _signatures(tape, ops, nodes) -> dict[int, tuple]:
    """A hashable description of each operation that equal loop bodies share: primitive,
    type, and where its arguments come from (an operation some steps back, or outside)."""
    op_index = {pos: k for k, pos in enumerate(ops)}
    sigs = {}
    for i in ops:
        prim, parents, args, kwargs, ans = tape[i]
        node = nodes[f"n{i}"]
        src = []
        for a, q in parents:
            if q in op_index and op_index[i] - op_index[q] < FAR:
                src.append((a, op_index[i] - op_index[q]))
            else:
                src.append((a, "far"))
        traced = {a for a, _ in parents}
        consts = tuple(
            (j, _describe(x)) for j, x in enumerate(args or ()) if j not in traced
        ) if prim is not PROJECT else ()
        kw = tuple(sorted((k, _short(v)) for k, v in (kwargs or {}).items()))
        sigs[i] = (prim.__name__, node.shape, node.dtype, tuple(src), consts, kw)
    return sigs


def _unit_sig(u, sigs):
    if isinstance(u, _Group):
        return ("scope", tuple(_unit_sig(c, sigs) for c in u.units))
    return sigs[u]


def _collapse(units, sigs, rep, rep_index, runs, clusters) -> None:
    """Find runs of repeated units; keep the first repetition, map the others onto it.

    ``runs[id(units)]`` maps a run's first index to (period, count, cluster id)."""
    s = [_unit_sig(u, sigs) for u in units]
    n = len(s)
    found: dict[int, tuple[int, int, str]] = {}
    i = 0
    while i < n:
        best = None
        for p in range(1, min(MAX_PERIOD, (n - i) // 2) + 1):
            if s[i] != s[i + p] or s[i + p : i + 2 * p] != s[i : i + p]:
                continue
            block = s[i : i + p]
            k = 2
            while i + (k + 1) * p <= n and s[i + k * p : i + (k + 1) * p] == block:
                k += 1
            # folding away a single operation would only make the drawing harder to read
            if len(_flat(units[i + p : i + p * k])) < 2:
                continue
            if best is None or p * k > best[0] * best[1]:
                best = (p, k)
        if best is None:
            if isinstance(units[i], _Group):
                _collapse(units[i].units, sigs, rep, rep_index, runs, clusters)
            i += 1
            continue
        p, k = best
        # Of the rotations of the same run, draw the latest: the block then ends where the
        # loop body ends (a layer is "matmul, tanh", not "tanh, matmul").
        shift = 0
        for d in range(1, p):
            end = i + p * k + d
            if end > n or any(s[j] != s[j - p] for j in range(i + p * k, end)):
                break
            shift = d
        for j in range(i, i + shift):
            if isinstance(units[j], _Group):
                _collapse(units[j].units, sigs, rep, rep_index, runs, clusters)
        i += shift
        cid = f"repeat{sum(1 for c in clusters if c.startswith('repeat'))}"
        clusters[cid] = f"× {k} (the first is drawn)"
        found[i] = (p, k, cid)
        base = _flat(units[i : i + p])
        for r in range(k):
            block_pos = _flat(units[i + r * p : i + (r + 1) * p])
            for a, b in zip(block_pos, base, strict=True):
                rep_index[f"n{a}"] = (cid, r)
                if r:
                    rep[f"n{a}"] = f"n{b}"
        for u in units[i : i + p]:
            if isinstance(u, _Group):
                _collapse(u.units, sigs, rep, rep_index, runs, clusters)
        i += p * k
    runs[id(units)] = found


class _Placer:
    """Assigns each drawn operation its clusters (repetitions and scopes, outer first) and
    replaces the scopes to collapse by one node each."""

    def __init__(self, nodes, order, rep, runs, clusters, cluster_of, wanted, all_scopes):
        self.nodes, self.order, self.rep, self.runs = nodes, order, rep, runs
        self.clusters, self.cluster_of = clusters, cluster_of
        self.wanted, self.all_scopes = wanted, all_scopes

    def walk(self, units: list, prefix: tuple) -> None:
        found = self.runs.get(id(units), {})
        j = 0
        while j < len(units):
            if j in found:
                p, k, cid = found[j]
                for u in units[j : j + p]:
                    self.place(u, (*prefix, cid))
                j += p * k
            else:
                self.place(units[j], prefix)
                j += 1

    def place(self, u, prefix: tuple) -> None:
        if not isinstance(u, _Group):
            self.cluster_of[f"n{u}"] = prefix
            return
        short = u.path.rsplit("/", 1)[-1]
        if self.all_scopes or u.path in self.wanted or short in self.wanted:
            self.fold(u, prefix)
            return
        cid = f"scope{u.rid}"
        self.clusters[cid] = short
        self.walk(u.units, (*prefix, cid))

    def fold(self, u: _Group, prefix: tuple) -> None:
        nodes, rep = self.nodes, self.rep
        members = [f"n{p}" for p in _flat(u.units)]
        visible = [m for m in members if m not in rep]
        if not visible:
            return
        sid = f"s{sum(1 for n in nodes.values() if n.kind == 'scope')}"
        last = nodes[visible[-1]]
        node = GraphNode(sid, "scope", u.path, last.shape, last.dtype, last.value,
                         last.adjoint, detail=f" ({len(members)} ops)",
                         is_output=any(nodes[m].is_output for m in visible),
                         used=any(nodes[m].used for m in members))
        nodes[sid] = node
        self.order.insert(self.order.index(visible[0]), sid)
        self.cluster_of[sid] = prefix
        for m in visible:
            rep[m] = sid

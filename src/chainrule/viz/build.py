"""Recording a function (or an eager Tensor's history) and building its drawing: input
names, adjoints from the backward pass, nodes and edges, scopes, repetitions, the
``max_nodes`` cut."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from chainrule.core.backward import backward_pass, toposort
from chainrule.core.pytree import TreeDef, tree_flatten
from chainrule.core.tensor import Tensor
from chainrule.core.trace import EAGER, LEAF, PROJECT, tape_entry
from chainrule.transforms.reverse import normalize_argnums, trace_vjp
from chainrule.viz.collapse import _collapse, _Placer, _signatures, _unit_tree
from chainrule.viz.drawing import Graph, GraphEdge, GraphNode, _array, _describe, _is_array_constant, _plain, _short
from chainrule.viz.scopes import _SCOPE_LOGS, _ScopeLog

# Graphs with more nodes than this are collapsed when ``collapse=None`` (the default):
# below it every operation is worth seeing, above it repetitions hide the structure.
AUTO_COLLAPSE_NODES = 50


def graph(
    fun: Callable,
    *args: Any,
    argnums: int | Sequence[int] | None = 0,
    adjoints: bool = True,
    max_nodes: int | None = 200,
    collapse: bool | None = None,
    collapse_scopes: bool | Iterable[str] = False,
    constants: bool = True,
    max_values: int = 4,
    rankdir: str = "TB",
    **kwargs: Any,
) -> Graph:
    """The computational graph of ``fun(*args, **kwargs)``, differentiated in ``argnums``.

    The inputs ``argnums`` (``None``: all positional arguments) become input nodes named
    after ``fun``'s parameters (``params[0]``, ``params['W']`` inside pytrees); other
    arrays become constant nodes. With ``adjoints``, the backward pass is run with a
    cotangent of ones on every output, so for a scalar output ``δ`` is the gradient
    ∂output/∂node. ``collapse`` draws repetitions of identical operation patterns once
    (``None``: when the graph has more than 50 nodes); ``collapse_scopes`` draws every
    :class:`scope` (``True``) or the named ones as single nodes. Beyond ``max_nodes`` the
    earliest nodes are left out, with a note node that says so.

    >>> import chainrule.numpy as cnp, numpy as np
    >>> g = graph(lambda W, x: cnp.tanh(W @ x).sum(), np.eye(2), np.ones(2))
    >>> [n.name for n in g.nodes]
    ['W', 'x', 'matmul', 'tanh', 'sum']
    >>> g.node("W").adjoint.round(3).tolist()  # (1 - tanh(1)²) on every row
    [[0.42, 0.42], [0.42, 0.42]]
    """
    nums = tuple(range(len(args))) if argnums is None else normalize_argnums(argnums, len(args))
    names = _input_names(fun, args, nums)
    others = tuple(i for i in range(len(args)) if i not in nums)
    const_names = {
        id(leaf): name
        for name, leaf in zip(_input_names(fun, args, others),
                              (x for i in others for x in tree_flatten(args[i])[0]), strict=True)
        if isinstance(leaf, np.ndarray)
    }
    logs: list[_ScopeLog] = []

    def run(*a):
        tape = _find_tape(a, nums)
        if tape is not None:
            logs.append(_ScopeLog(tape))
            _SCOPE_LOGS.append(logs[-1])
        try:
            return fun(*a, **kwargs)
        finally:
            if tape is not None:
                _SCOPE_LOGS.pop()

    out, record = trace_vjp(run, args, nums, "viz", lean=False)
    tape = record.tape
    leaf_info = {
        pos: (name, value)
        for pos, name, value in zip(record.in_nodes, names, record.in_values, strict=True)
    }
    outputs = [(p, v) for p, v in zip(record.out_nodes, record.out_values, strict=True)
               if p is not None]
    ranges = logs[0].ranges if logs else []
    title = getattr(fun, "__name__", "function")
    return _assemble(tape, leaf_info, outputs, ranges, title, adjoints, max_nodes, collapse,
                     collapse_scopes, constants, max_values, rankdir, stop=len(record.in_nodes),
                     const_names=const_names)


def graph_of(
    tensor: Tensor,
    names: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None,
    adjoints: bool = True,
    max_nodes: int | None = 200,
    collapse: bool | None = None,
    constants: bool = True,
    max_values: int = 4,
    rankdir: str = "TB",
) -> Graph:
    """The recorded history of an eager Tensor, drawn like :func:`graph`.

    Call it before ``backward()`` (which frees the graph), or after
    ``backward(retain_graph=True)``. ``names`` labels leaf Tensors: a mapping or pairs, such
    as ``model.named_parameters()``. Name scopes belong to :func:`graph`; eager graphs are
    grouped by collapsing repetitions only.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> loss = (w * w).sum()
    >>> g = graph_of(loss, names={"w": w})
    >>> [(n.name, n.adjoint.tolist()) for n in g.nodes]
    [('w', [2.0, 4.0]), ('multiply', [1.0, 1.0]), ('sum', 1.0)]
    """
    if not isinstance(tensor, Tensor) or tensor._trace is not EAGER:
        raise TypeError(
            "graph_of draws the history of an eager Tensor (made with chainrule.tensor); "
            "for a function use chainrule.viz.graph(f, *args)"
        )
    root = tensor._node
    if root is None:
        raise ValueError(
            "this Tensor has no recorded history: make its inputs with "
            "chainrule.tensor(..., requires_grad=True), outside no_grad()"
        )
    pairs = names.items() if isinstance(names, Mapping) else (names or ())
    by_node = {id(t._node): str(n) for n, t in pairs if isinstance(t, Tensor) and t._node}
    order = list(reversed(toposort(root)))  # inputs first: an execution order
    # Leaves open the tape, as in a functional trace, where the backward pass stops.
    order = [n for n in order if n.prim is None] + [n for n in order if n.prim is not None]
    n_leaves = sum(1 for n in order if n.prim is None)
    index = {id(node): i for i, node in enumerate(order)}
    tape: list[tuple] = []
    leaf_info: dict[int, tuple[str, Any]] = {}
    for i, node in enumerate(order):
        if node.prim is None:
            owner = node.tensor_ref() if node.tensor_ref is not None else None
            value = None if owner is None else owner._value
            leaf_info[i] = (by_node.get(id(node), "leaf"), value)
            tape.append(LEAF)
            continue
        if node.parents is None:
            raise RuntimeError(
                f"the graph through {node.prim.__name__} was freed by backward(); call "
                "graph_of before backward(), or pass retain_graph=True to backward()"
            )
        parents = tuple((a, index[id(p)]) for a, p in node.parents)
        tape.append(tape_entry(node.prim, parents, tuple(node.args), node.kwargs, node.ans))
    return _assemble(tape, leaf_info, [(len(tape) - 1, tensor._value)], [], "tensor", adjoints,
                     max_nodes, collapse, False, constants, max_values, rankdir, stop=n_leaves)


# -- building the drawing ------------------------------------------------------------------
def _find_tape(args, nums):
    for i in nums:
        for leaf in tree_flatten(args[i])[0]:
            if isinstance(leaf, Tensor) and getattr(leaf._trace, "tape", None) is not None:
                return leaf._trace.tape
    return None


def _input_names(fun, args, nums) -> list[str]:
    try:
        params = [
            p for p in inspect.signature(fun).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]
    except (TypeError, ValueError):
        params = []
    names = []
    for i in nums:
        if i < len(params) and params[i].kind is not params[i].VAR_POSITIONAL:
            base = params[i].name
        elif params and params[-1].kind is params[-1].VAR_POSITIONAL:
            base = f"{params[-1].name}[{i - len(params) + 1}]"
        else:
            base = f"arg{i}"
        names.extend(_leaf_paths(base, tree_flatten(args[i])[1]))
    return names


def _leaf_paths(prefix: str, tree: TreeDef) -> list[str]:
    if tree.kind is None:
        return [prefix]
    if tree.kind is dict:
        keys = [f"[{k!r}]" for k in tree.aux]
    elif hasattr(tree.kind, "_fields"):
        keys = [f".{f}" for f in tree.kind._fields]
    else:
        keys = [f"[{i}]" for i in range(len(tree.subtrees))]
    out = []
    for key, child in zip(keys, tree.subtrees, strict=False):
        out.extend(_leaf_paths(prefix + key, child))
    return out


class _CotangentLog(list):
    """A cotangent list that remembers each entry's cotangent as the backward pass uses it
    (the pass clears a slot right after reading it, to free memory)."""

    def __init__(self, n: int):
        super().__init__([None] * n)
        self.seen: dict[int, Any] = {}

    def __setitem__(self, i, v):
        if v is None:
            old = list.__getitem__(self, i)
            if old is not None:
                self.seen[i] = old
        list.__setitem__(self, i, v)


def _adjoints(tape, outputs, stop) -> dict[int, Any]:
    cots = _CotangentLog(len(tape))
    for pos, value in outputs:
        dtype = np.result_type(_plain(value))
        if dtype.kind not in "fc":
            continue
        seed = np.ones(np.shape(_plain(value)), dtype=dtype)
        old = list.__getitem__(cots, pos)
        list.__setitem__(cots, pos, seed if old is None else old + seed)
    backward_pass(list(tape), cots, stop=stop)
    seen = cots.seen
    for pos in range(len(tape)):
        v = list.__getitem__(cots, pos)
        if v is not None:
            seen[pos] = v  # the inputs' slots, which the pass leaves in place
    return seen


def _assemble(tape, leaf_info, outputs, ranges, title, adjoints, max_nodes, collapse,
              collapse_scopes, constants, max_values, rankdir, stop, const_names=None) -> Graph:
    cot = {}
    if adjoints and outputs:
        try:
            cot = _adjoints(tape, outputs, stop)
        except NotImplementedError:
            cot = {}  # a primitive without a reverse rule: draw the forward graph only
    out_pos = {p for p, _ in outputs}

    # Which entries the outputs depend on: the rest is drawn dashed, as unused.
    used = set(out_pos)
    for i in range(len(tape) - 1, -1, -1):
        if i in used and tape[i][0] is not None:
            used.update(q for _, q in tape[i][1])

    # The scopes around each tape position, outer first, as indices into ``ranges`` (a
    # name used twice, as in a loop over layers, is two scopes).
    chain_of: dict[int, tuple[int, ...]] = {}
    for rid, (_, start, end) in sorted(
        enumerate(ranges), key=lambda r: (r[1][1], -r[1][2], r[1][0].count("/"))
    ):
        for i in range(start, end):
            chain_of[i] = (*chain_of.get(i, ()), rid)
    paths = [path for path, _, _ in ranges]
    scope_of = {i: paths[chain[-1]] for i, chain in chain_of.items()}

    nodes: dict[str, GraphNode] = {}
    order: list[str] = []
    edges: list[GraphEdge] = []
    const_ids: dict[int, str] = {}
    consumers: dict[str, list[str]] = {}
    ops: list[int] = []

    def add(node: GraphNode) -> None:
        nodes[node.id] = node
        order.append(node.id)

    def link(src: str, dst: str, label: str = "") -> None:
        edges.append(GraphEdge(src, dst, label))
        consumers.setdefault(src, []).append(dst)

    for i, (prim, parents, args, kwargs, ans) in enumerate(tape):
        nid = f"n{i}"
        if prim is None:
            name, value = leaf_info.get(i, ("leaf", None))
            shape, dtype = _describe(value)
            add(GraphNode(nid, "input", name, shape, dtype, _array(value),
                          _array(cot.get(i)), is_output=i in out_pos,
                          used=i in used))
            continue
        ops.append(i)
        if prim is PROJECT:
            (k, q), = parents
            shape, dtype = _describe(ans)
            base = nodes[f"n{q}"].name
            add(GraphNode(nid, "op", f"{base}[{k}]", shape, dtype, _array(ans),
                          _array(cot.get(i)), scope=scope_of.get(i, ""),
                          is_output=i in out_pos, used=i in used))
            link(f"n{q}", nid)
            continue
        traced = {a for a, _ in parents}
        parts, const_links = [], []
        for j, a in enumerate(args):
            if j in traced:
                parts.append("·")
            elif constants and _is_array_constant(a):
                parts.append("·")
                const_links.append((j, a))
            else:
                parts.append(_short(a))
        # Defaults such as axis=None or keepdims=False say nothing worth the space.
        parts.extend(f"{k}={_short(v)}" for k, v in (kwargs or {}).items()
                     if v is not None and v is not False)
        simple = all(p == "·" for p in parts)
        detail = "" if simple else f"({', '.join(parts)})"
        types = ""
        if prim.multiple_outputs:
            shape = dtype = None
            value = adj = None
            types = "(" + ", ".join(
                GraphNode("", "", "", *_describe(v)).type_str for v in ans) + ")"
        else:
            shape, dtype = _describe(ans)
            value, adj = _array(ans), _array(cot.get(i))
        sources = [(a, f"n{q}") for a, q in parents]
        for j, a in const_links:
            key = id(a)
            if key not in const_ids:
                cid = f"c{len(const_ids)}"
                const_ids[key] = cid
                cshape, cdtype = _describe(a)
                cname = (const_names or {}).get(id(a), "const")
                add(GraphNode(cid, "const", cname, cshape, cdtype, _array(a),
                              used=i in used))
            sources.append((j, const_ids[key]))
        add(GraphNode(nid, "op", prim.__name__, shape, dtype, value, adj, detail=detail,
                      scope=scope_of.get(i, ""), is_output=i in out_pos, used=i in used,
                      types=types))
        for j, src_id in sorted(sources):
            link(src_id, nid, str(j) if len(sources) > 1 else "")

    for cid in const_ids.values():
        nodes[cid].used = any(nodes[c].used for c in consumers.get(cid, ()))

    clusters: dict[str, str] = {}
    cluster_of: dict[str, tuple] = {}
    units = _unit_tree(ops, chain_of, paths)
    do_collapse = len(order) > AUTO_COLLAPSE_NODES if collapse is None else collapse
    rep: dict[str, str] = {}  # a hidden node -> the node drawn in its place
    rep_index: dict[str, tuple[str, int]] = {}  # node -> (repetition cluster, repetition)
    runs: dict[int, dict[int, tuple[int, int, str]]] = {}
    if do_collapse:
        _collapse(units, _signatures(tape, ops, nodes), rep, rep_index, runs, clusters)
    repeat_hidden = set(rep)
    wanted = set() if isinstance(collapse_scopes, bool) else set(collapse_scopes)
    placer = _Placer(nodes, order, rep, runs, clusters, cluster_of, wanted,
                     collapse_scopes is True)
    placer.walk(units, ())

    def resolve(nid: str) -> str:
        while nid in rep:
            nid = rep[nid]
        return nid

    hidden = set(rep)
    for nid in order:  # an input or constant that only feeds hidden repetitions
        if nodes[nid].kind in ("input", "const") and consumers.get(nid):
            if all(c in repeat_hidden for c in consumers[nid]):
                hidden.add(nid)
    for nid in hidden:
        if nodes[nid].is_output and nid in rep:
            nodes[resolve(nid)].is_output = True
    for nid, node in nodes.items():
        node.clusters = cluster_of.get(nid, ())
        node.max_values = max_values

    seen_edges = set()
    drawn: list[GraphEdge] = []
    for e in edges:
        if e.src in hidden and e.src not in rep:
            continue
        src, dst = resolve(e.src), resolve(e.dst)
        a, b = rep_index.get(e.src), rep_index.get(e.dst)
        carry = a is not None and b is not None and a[0] == b[0] and a[1] != b[1]
        if src == dst and not carry:
            continue  # inside a collapsed scope
        label = "next" if carry else e.label
        key = (src, dst, label)
        if key in seen_edges:
            continue
        seen_edges.add(key)
        drawn.append(GraphEdge(src, dst, label, "carry" if carry else ""))

    shown = [nodes[n] for n in order if n not in hidden]
    omitted = 0
    if max_nodes is not None and len(shown) > max_nodes:
        keep = max(max_nodes - 1, 1)
        omitted = len(shown) - keep
        gone = {n.id for n in shown[:omitted]}
        shown = shown[omitted:]
        note = GraphNode(
            "note", "note",
            f"… {omitted} earlier nodes not drawn (max_nodes={max_nodes}). Pass max_nodes=None "
            "to draw all, collapse=True to fold repetitions, or group code with "
            "chainrule.viz.scope(...) and collapse_scopes=True",
        )
        shown.insert(0, note)
        kept: list[GraphEdge] = []
        pairs = set()
        for e in drawn:
            if e.dst in gone:
                continue
            if e.src in gone:
                e = GraphEdge("note", e.dst)
            if (e.src, e.dst, e.label) in pairs:
                continue
            pairs.add((e.src, e.dst, e.label))
            kept.append(e)
        drawn = kept
    used_clusters = {c for n in shown for c in n.clusters}
    clusters = {c: label for c, label in clusters.items() if c in used_clusters}
    return Graph(shown, drawn, clusters, title, omitted, rankdir)

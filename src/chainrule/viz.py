"""Computational graphs you can look at.

:func:`graph` records a function at given inputs and draws what the chain rule sees: one
node per primitive call, labelled with its name, shape and dtype, and, for small arrays,
the value computed in the forward pass and the adjoint ``δ`` (the derivative of the
output with respect to that node) computed in the backward pass. Edges run in data-flow
order, from each value to the operations that use it. :func:`graph_of` draws the history
of an eager Tensor the same way.

The result is Graphviz DOT text, always (``Graph.dot``); SVG and PNG need the Graphviz
program ``dot`` (``apt-get install graphviz``, ``brew install graphviz`` or
``conda install graphviz``). ``Graph.text()`` lists the nodes as plain text for a terminal.

Large graphs stay readable: consecutive repetitions of the same pattern of operations (the
body of a loop, identical layers) are drawn once in a cluster marked ``× N``;
``with scope("name"):`` groups the operations recorded inside it into a named cluster (or,
with ``collapse_scopes``, into one node); and beyond ``max_nodes`` nodes the earliest ones
are left out with a note that says how many and what to do about it.

>>> import chainrule.numpy as cnp
>>> g = graph(lambda x: cnp.sin(x) * x, 0.5)
>>> [n.name for n in g.nodes]
['x', 'sin', 'multiply']
>>> print(g.text())  # doctest: +NORMALIZE_WHITESPACE
n0  x         f64[]  value 0.5     δ 0.9182
n1  sin       f64[]  value 0.4794  δ 0.5     <- n0
n2  multiply  f64[]  value 0.2397  δ 1       <- n1, n0  (output)
"""

from __future__ import annotations

import functools
import inspect
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.core.backward import backward_pass, toposort
from chainrule.core.pytree import TreeDef, tree_flatten
from chainrule.core.tensor import Tensor
from chainrule.core.trace import EAGER, LEAF, PROJECT, tape_entry
from chainrule.transforms.reverse import normalize_argnums, trace_vjp

__all__ = [
    "graph",
    "graph_of",
    "scope",
    "Graph",
    "GraphNode",
    "GraphEdge",
    "GraphvizNotFoundError",
    "graphviz_available",
]

# Graphs with more nodes than this are collapsed when ``collapse=None`` (the default):
# below it every operation is worth seeing, above it repetitions hide the structure.
AUTO_COLLAPSE_NODES = 50
# Longest block of operations searched for as the body of a repetition.
MAX_PERIOD = 64
# A parent this many operations back or more counts as "far" in a pattern, so that loop
# bodies reading an early value at growing distances still compare equal.
FAR = 64

INSTALL_HINT = (
    "Drawing SVG or PNG needs the Graphviz program `dot`. Install it with "
    "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
    "`conda install graphviz`, or from https://graphviz.org/download/; "
    "`pip install graphviz` adds the Python bindings, which also need the program. "
    "The DOT text is always available as `graph.dot` (and `graph.render('g.dot')`)."
)


class GraphvizNotFoundError(RuntimeError):
    """SVG or PNG output was asked for, but the Graphviz program ``dot`` is not installed."""


def graphviz_available() -> bool:
    """Whether SVG/PNG rendering works here (the ``dot`` program is on the PATH).

    >>> isinstance(graphviz_available(), bool)
    True
    """
    return shutil.which("dot") is not None


# -- name scopes --------------------------------------------------------------------------
class _ScopeLog:
    """The scopes entered while :func:`graph` records one function: tape ranges by path."""

    def __init__(self, tape: list):
        self.tape = tape
        self.stack: list[tuple[str, int]] = []
        self.ranges: list[tuple[str, int, int]] = []


_SCOPE_LOGS: list[_ScopeLog] = []


class scope:
    """Group the operations recorded inside it under ``name`` in drawings of :func:`graph`.

    Scopes nest (``"encoder/layer1"``) and work as decorators. Outside :func:`graph` they
    cost next to nothing, so they can stay in model code.

    >>> import chainrule.numpy as cnp
    >>> def f(x):
    ...     with scope("square"):
    ...         y = x * x
    ...     return cnp.sin(y)
    >>> [(n.name, n.scope) for n in graph(f, 1.0).nodes]
    [('x', ''), ('multiply', 'square'), ('sin', '')]
    """

    def __init__(self, name: str):
        if not isinstance(name, str) or not name:
            raise ValueError(f"scope needs a non-empty string name, got {name!r}")
        self.name = name
        self._logs: list[_ScopeLog | None] = []

    def __enter__(self) -> scope:
        log = _SCOPE_LOGS[-1] if _SCOPE_LOGS else None
        self._logs.append(log)
        if log is not None:
            log.stack.append((self.name, len(log.tape)))
        return self

    def __exit__(self, *exc) -> bool:
        log = self._logs.pop()
        if log is not None:
            name, start = log.stack.pop()
            path = "/".join([n for n, _ in log.stack] + [name])
            log.ranges.append((path, start, len(log.tape)))
        return False

    def __call__(self, fun: Callable) -> Callable:
        @functools.wraps(fun)
        def scoped(*args, **kwargs):
            with scope(self.name):
                return fun(*args, **kwargs)

        return scoped


# -- the drawn graph ----------------------------------------------------------------------
@dataclass
class GraphNode:
    """One node of a drawing.

    ``kind`` is ``"input"`` (a value differentiated with respect to), ``"op"`` (a primitive
    call), ``"const"`` (an array argument that is not differentiated), ``"scope"`` (a
    collapsed name scope) or ``"note"`` (the message about nodes left out). ``value`` is
    the forward value and ``adjoint`` the cotangent from the backward pass (None where there
    is none); labels show them for arrays of at most ``max_values`` elements.
    """

    id: str
    kind: str
    name: str
    shape: tuple | None = None
    dtype: str | None = None
    value: Any = None
    adjoint: Any = None
    detail: str = ""
    scope: str = ""
    is_output: bool = False
    used: bool = True
    clusters: tuple = ()
    types: str = ""
    max_values: int = 4

    @property
    def type_str(self) -> str:
        """``f64[3,4]``: dtype and shape, as JAX prints them."""
        if self.types or self.shape is None:
            return self.types
        return f"{self.dtype}[{','.join(map(str, self.shape))}]"

    @property
    def value_str(self) -> str:
        """The value as the label shows it, or ``""`` when it is absent or too large."""
        return _shown(self.value, self.max_values)

    @property
    def adjoint_str(self) -> str:
        """The adjoint as the label shows it, or ``""`` when it is absent or too large."""
        return _shown(self.adjoint, self.max_values)

    def label_lines(self) -> list[str]:
        lines = [self.name + self.detail]
        if self.type_str:
            lines.append(self.type_str)
        if self.value_str:
            lines.append(f"value {self.value_str}")
        if self.adjoint_str:
            lines.append(f"δ {self.adjoint_str}")
        return lines


@dataclass
class GraphEdge:
    """Data flows from node ``src`` to node ``dst`` (as argument ``label``, if set).

    ``style`` is ``"carry"`` for an edge from one repetition of a collapsed loop body to the
    next, ``""`` otherwise."""

    src: str
    dst: str
    label: str = ""
    style: str = ""


@dataclass
class Graph:
    """A drawing of a computational graph: nodes, edges, clusters, and its DOT text.

    >>> import chainrule.numpy as cnp
    >>> g = graph(lambda x: cnp.exp(-x), 0.0)
    >>> len(g.nodes), len(g.edges), g.dot.startswith("digraph")
    (3, 2, True)
    """

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    clusters: dict[str, str] = field(default_factory=dict)
    title: str = ""
    omitted: int = 0
    rankdir: str = "TB"

    def node(self, name: str) -> GraphNode:
        """The first node called ``name`` (a primitive name, or an input's name)."""
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"no node named {name!r}; names: {sorted({n.name for n in self.nodes})}")

    @property
    def dot(self) -> str:
        """The Graphviz DOT source of the drawing."""
        return _to_dot(self)

    @property
    def source(self) -> str:
        """The DOT source (the name the ``graphviz`` package uses)."""
        return self.dot

    def pipe(self, format: str = "svg") -> bytes:
        """The drawing rendered by Graphviz as ``format`` (``"svg"``, ``"png"``, ``"pdf"``).

        Raises :class:`GraphvizNotFoundError`, saying how to install Graphviz, where the
        ``dot`` program is missing."""
        return _run_dot(self.dot, format)

    def render(self, path: str | Path, format: str | None = None) -> Path:
        """Write the drawing to ``path``; the format comes from its suffix unless given.

        ``.dot``/``.gv`` files are written as text and need nothing installed; SVG, PNG and
        PDF need Graphviz (see :class:`GraphvizNotFoundError`).
        """
        path = Path(path)
        fmt = (format or path.suffix.lstrip(".") or "svg").lower()
        if fmt in ("dot", "gv"):
            path.write_text(self.dot, encoding="utf-8")
        else:
            path.write_bytes(self.pipe(fmt))
        return path

    def _repr_svg_(self) -> str | None:
        # Notebooks show the SVG where Graphviz is installed and fall back to text otherwise.
        if not graphviz_available():
            return None
        return self.pipe("svg").decode("utf-8")

    def text(self) -> str:
        """One line per node, in data-flow order: name, type, value, adjoint, inputs."""
        incoming: dict[str, list[str]] = {}
        for e in self.edges:
            src = f"{e.src} (previous repetition)" if e.style == "carry" else e.src
            incoming.setdefault(e.dst, []).append(src)
        rows = []
        notes_text = [n.name for n in self.nodes if n.kind == "note"]
        for n in self.nodes:
            if n.kind == "note":
                continue
            head = n.name + n.detail
            if n.kind == "scope":
                head = f"[{head}]"
            row = [n.id, head, n.type_str]
            row.append(f"value {n.value_str}" if n.value_str else "")
            row.append(f"δ {n.adjoint_str}" if n.adjoint_str else "")
            ins = incoming.get(n.id)
            row.append(f"<- {', '.join(ins)}" if ins else "")
            notes = []
            if n.is_output:
                notes.append("output")
            if not n.used:
                notes.append("unused")
            if n.scope:
                notes.append(f"scope {n.scope}")
            for c in n.clusters:
                if c.startswith("repeat"):
                    notes.append(self.clusters[c])
            row.append(f"({'; '.join(notes)})" if notes else "")
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))] if rows else []
        return "\n".join(notes_text + [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ])

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        extra = f", {self.omitted} left out" if self.omitted else ""
        return f"<Graph {self.title!r}: {len(self.nodes)} nodes, {len(self.edges)} edges{extra}>"


# -- public entry points ------------------------------------------------------------------
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


# -- building ----------------------------------------------------------------------------
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
        keys = [f"[{i}]" for i in range(len(tree.children))]
    out = []
    for key, child in zip(keys, tree.children, strict=False):
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


def _plain(v):
    while isinstance(v, Tensor):
        v = v._value
    return v


_DTYPES = {"float64": "f64", "float32": "f32", "float16": "f16", "complex128": "c128",
           "complex64": "c64", "int64": "i64", "int32": "i32", "bool": "bool"}


def _describe(v) -> tuple[tuple | None, str | None]:
    v = _plain(v)
    if v is None:
        return None, None
    try:
        dt = np.result_type(v)
        return tuple(np.shape(v)), _DTYPES.get(dt.name, dt.name)
    except (TypeError, ValueError):
        return None, None


def _array(v):
    """``v`` as a NumPy array (any size), or None if it is not a numeric array."""
    v = _plain(v)
    if v is None or isinstance(v, list | tuple):
        return None
    try:
        a = np.asarray(v)
    except Exception:
        return None
    return a if a.dtype.kind in "biufc" else None


def _shown(a, max_values: int) -> str:
    if a is None or np.size(a) > max_values:
        return ""
    return _fmt(a)


def _fmt(a) -> str:
    a = np.asarray(a)
    if a.ndim == 0:
        x = a.item()
        return f"{x:.4g}" if isinstance(x, float | complex) else str(x)
    text = np.array2string(a, precision=4, separator=", ", suppress_small=False,
                           formatter={"float_kind": lambda x: f"{x:.4g}"})
    return re.sub(r"\s*\n\s*", " ", text)


def _short(x) -> str:
    x = _plain(x)
    if isinstance(x, np.ndarray):
        if x.ndim == 0:
            return _fmt(x)
        return f"{_describe(x)[1]}[{','.join(map(str, x.shape))}]"
    if isinstance(x, float | np.floating):
        return f"{float(x):.4g}"
    text = repr(x)
    return text if len(text) <= 16 else text[:15] + "…"


def _is_array_constant(x) -> bool:
    x = _plain(x)
    return isinstance(x, np.ndarray) and x.ndim >= 1


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


# -- collapsing repetitions ----------------------------------------------------------------
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


# -- DOT and rendering -------------------------------------------------------------------
def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_STYLE = {
    "input": {"shape": "ellipse", "style": "filled", "fillcolor": "#dbeafe"},
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff"},
    "const": {"shape": "note", "style": "filled", "fillcolor": "#f3f4f6",
              "fontcolor": "#4b5563"},
    "scope": {"shape": "box3d", "style": "filled", "fillcolor": "#ede9fe"},
    "note": {"shape": "plaintext", "fontcolor": "#b91c1c"},
}


def _attrs(attrs: dict) -> str:
    return ", ".join(f"{k}={_q(str(v))}" for k, v in attrs.items())


def _node_dot(n: GraphNode) -> str:
    attrs = {"label": "\n".join(n.label_lines()), **_STYLE[n.kind]}
    if n.is_output:
        attrs.update(peripheries=2, fillcolor="#fef3c7")
    if not n.used:
        attrs.update(color="#9ca3af", fontcolor="#9ca3af", style="dashed")
    return f"{n.id} [{_attrs(attrs)}];"


def _to_dot(g: Graph) -> str:
    lines = [
        "digraph chainrule {",
        f"  graph [rankdir={g.rankdir}, fontname=Helvetica, fontsize=11, labelloc=t, "
        f"label={_q(g.title + '  (value: forward pass; δ: adjoint from the backward pass)')}];",
        "  node [fontname=Helvetica, fontsize=10];",
        "  edge [fontname=Helvetica, fontsize=9, color=\"#374151\"];",
    ]
    tree: dict = {"nodes": [], "sub": {}}
    for n in g.nodes:
        where = tree
        for c in n.clusters:
            where = where["sub"].setdefault(c, {"nodes": [], "sub": {}})
        where["nodes"].append(n)
    counter = [0]

    def emit(branch: dict, indent: str) -> None:
        for n in branch["nodes"]:
            lines.append(indent + _node_dot(n))
        for cid, sub in branch["sub"].items():
            counter[0] += 1
            style = ('style="rounded,dashed"; color="#7c3aed"' if cid.startswith("repeat")
                     else 'style="rounded"; color="#6b7280"')
            lines.append(f"{indent}subgraph cluster_{counter[0]} {{")
            lines.append(f"{indent}  label={_q(g.clusters.get(cid, cid))}; {style};")
            emit(sub, indent + "  ")
            lines.append(f"{indent}}}")

    emit(tree, "  ")
    for e in g.edges:
        attrs = []
        if e.label:
            attrs.append(f"label={_q(e.label)}")
        if e.style == "carry":
            attrs.append('style=dashed, color="#7c3aed", constraint=false')
        lines.append(f"  {e.src} -> {e.dst}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _run_dot(source: str, fmt: str) -> bytes:
    exe = shutil.which("dot")
    if exe is not None:
        done = subprocess.run([exe, f"-T{fmt}"], input=source.encode("utf-8"),
                              capture_output=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"Graphviz failed: {done.stderr.decode(errors='replace')}")
        return done.stdout
    try:
        import graphviz  # type: ignore[import-not-found]

        return graphviz.Source(source).pipe(format=fmt)
    except ImportError:
        pass
    except Exception as err:  # the bindings are there but the program is not
        raise GraphvizNotFoundError(INSTALL_HINT) from err
    raise GraphvizNotFoundError(INSTALL_HINT)

"""The drawn graph: nodes, edges and clusters, its text listing, and how values are
shown in labels."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.core.tensor import Tensor
from chainrule.viz.render import _run_dot, _to_dot, graphviz_available


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
    >>> from chainrule.viz import graph
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


# -- how values are shown ------------------------------------------------------------------
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

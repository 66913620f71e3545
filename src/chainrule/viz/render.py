"""DOT text of a drawing, and SVG/PNG/PDF through the Graphviz program ``dot``."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the drawing's classes import this module to render themselves
    from chainrule.viz.drawing import Graph, GraphNode

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

"""chainrule.viz: the structure of drawn graphs, their DOT text, adjoints against hand
formulas, eager histories, name scopes, folding of repetitions, the node limit, rendering."""

import builtins
import doctest
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import viz

ROOT = Path(__file__).resolve().parents[1]
needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None,
                                    reason="the Graphviz program `dot` is not installed")


def parse_dot(text: str):
    """Nodes (id -> label), edges (src, dst, attrs) and clusters (label -> node ids) of the
    DOT text that viz writes; an independent reading of the output."""
    nodes, edges, clusters, stack = {}, [], {}, []
    for line in text.splitlines():
        line = line.strip()
        if m := re.match(r'subgraph cluster_\d+ \{', line):
            stack.append(None)
        elif m := re.match(r'label="((?:[^"\\]|\\.)*)"; style=', line):
            stack[-1] = m.group(1)
            clusters[m.group(1)] = []
        elif line == "}" and stack:
            stack.pop()
        elif m := re.match(r'(\w+) -> (\w+)(?: \[(.*)\])?;$', line):
            edges.append((m.group(1), m.group(2), m.group(3) or ""))
        elif m := re.match(r'(\w+) \[label="((?:[^"\\]|\\.)*)"', line):
            nodes[m.group(1)] = m.group(2).replace("\\n", "\n")
            for label in stack:
                clusters[label].append(m.group(1))
    return nodes, edges, clusters


# -- structure -------------------------------------------------------------------------------
def test_simple_function_nodes_edges_labels():
    g = viz.graph(lambda x: cnp.sin(x) * x, 0.5)
    nodes, edges, _ = parse_dot(g.dot)
    assert list(nodes) == ["n0", "n1", "n2"]
    assert nodes["n0"].split("\n")[:2] == ["x", "f64[]"]
    assert nodes["n1"].startswith("sin\nf64[]\nvalue 0.4794")
    assert nodes["n2"].startswith("multiply\nf64[]")
    assert {(s, d) for s, d, _ in edges} == {("n0", "n1"), ("n1", "n2"), ("n0", "n2")}
    # the multiply has two inputs: edges say which argument each one is
    assert sorted(a for s, d, a in edges if d == "n2") == ['label="0"', 'label="1"']
    assert len(g.nodes) == 3 and len(g.edges) == 3
    assert [n.is_output for n in g.nodes] == [False, False, True]
    assert "peripheries" in g.dot.splitlines()[[i for i, l in enumerate(g.dot.splitlines())
                                                if l.strip().startswith("n2 [")][0]]


def test_adjoints_are_the_hand_derived_gradients():
    rng = np.random.default_rng(0)
    W, x = rng.normal(size=(2, 2)), rng.normal(size=2)
    g = viz.graph(lambda W, x: cnp.sum(cnp.tanh(W @ x) ** 2), W, x)
    z = W @ x
    t = np.tanh(z)
    dt = 2 * t
    dz = dt * (1 - t ** 2)
    assert np.allclose(g.node("sum").adjoint, 1.0)
    assert np.allclose(g.node("square").adjoint, np.ones(2))  # ndarray ** 2 is NumPy's square
    assert np.allclose(g.node("tanh").adjoint, dt, rtol=1e-12)
    assert np.allclose(g.node("matmul").adjoint, dz, rtol=1e-12)
    assert np.allclose(g.node("W").adjoint, np.outer(dz, x), rtol=1e-12)
    assert np.allclose(g.node("tanh").value, t)
    assert g.node("x").kind == "const" and g.node("x").adjoint is None
    assert "δ" in g.dot and "value" in g.dot


def test_large_values_are_not_in_labels_but_kept():
    x = np.arange(10.0)
    g = viz.graph(lambda x: cnp.sum(x * x), x)
    assert g.node("multiply").value_str == ""
    assert "value" not in parse_dot(g.dot)[0]["n1"]
    assert np.array_equal(g.node("multiply").value, x * x)
    assert np.array_equal(g.node("x").adjoint, 2 * x)
    wide = viz.graph(lambda x: cnp.sum(x * x), x, max_values=10)
    assert "value [0, 1, 4" in parse_dot(wide.dot)[0]["n1"]


def test_argument_names_pytrees_kwargs_and_constants():
    def loss(params, x, *, scale=1.0):
        return cnp.sum(cnp.tanh(params["W"] @ x + params["b"])) * scale

    params = {"W": np.eye(2), "b": np.zeros(2)}
    g = viz.graph(loss, params, np.ones(2), scale=3.0)
    names = [n.name for n in g.nodes]
    assert names == ["params['W']", "params['b']", "x", "matmul", "add", "tanh", "sum",
                     "multiply"]
    assert g.node("multiply").detail == "(·, 3)"
    assert g.node("x").kind == "const"
    both = viz.graph(loss, params, np.ones(2), argnums=None)
    assert [n.kind for n in both.nodes[:3]] == ["input"] * 3
    assert np.allclose(both.node("x").adjoint, cr.grad(loss, argnums=1)(params, np.ones(2)))


def test_keyword_defaults_are_left_out_of_labels():
    g = viz.graph(lambda x: x.sum(axis=0, keepdims=True).sum(), np.ones((2, 2)))
    details = [n.detail for n in g.nodes if n.name == "sum"]
    assert details == ["(·, axis=0, keepdims=True)", ""]


def test_multiple_output_primitive():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    g = viz.graph(lambda A: cnp.sum(cnp.linalg.eigh(A)[0] ** 2), A)
    assert g.node("eigh").type_str == "(f64[2], f64[2,2])"
    assert [n.name for n in g.nodes if n.name.startswith("eigh[")] == ["eigh[0]", "eigh[1]"]
    w = np.linalg.eigvalsh(A)
    assert np.allclose(g.node("eigh[0]").adjoint, 2 * w)
    assert not g.node("eigh[1]").used
    # Σλ² = tr(S²) of the symmetric S that eigh reads from A's lower triangle
    # eigh differentiates as a function of (A + Aᵀ)/2: d(sum w²)/dA = 2A, symmetric
    assert np.allclose(g.node("A").adjoint, 2 * A)


def test_unused_operations_are_marked():
    def f(x):
        cnp.exp(x)
        return cnp.sin(x)

    g = viz.graph(f, 1.0)
    assert not g.node("exp").used and g.node("sin").used
    line = next(l for l in g.dot.splitlines() if l.strip().startswith("n1 ["))
    assert 'style="dashed"' in line
    assert "(unused)" in g.text()


def test_nested_transform_inside_the_function():
    def f(x):
        return cr.grad(lambda t: cnp.sin(t * x))(1.0) * 2.0  # d/dt sin(tx) = x cos(tx)

    g = viz.graph(f, 0.3)
    assert float(g.node("x").adjoint) == pytest.approx(2 * (np.cos(0.3) - 0.3 * np.sin(0.3)))
    assert "cos" in [n.name for n in g.nodes]


def test_constant_output_and_identity():
    g = viz.graph(lambda x: 3.0, 1.0)
    assert [n.used for n in g.nodes] == [False]
    g = viz.graph(lambda x: x, 2.0)
    assert g.nodes[0].is_output and float(g.nodes[0].adjoint) == 1.0


def test_every_edge_endpoint_is_declared():
    def f(x):
        for _ in range(5):
            x = cnp.sin(x) * x + cnp.cos(x)
        return x

    for kw in ({}, {"collapse": True}, {"collapse": False, "max_nodes": 6}):
        nodes, edges, _ = parse_dot(viz.graph(f, 0.4, **kw).dot)
        for s, d, _ in edges:
            assert s in nodes and d in nodes


def test_labels_are_escaped():
    def f(x):
        with viz.scope('quote " and \\ backslash'):
            return cnp.sin(x)

    g = viz.graph(f, 1.0)
    assert 'label="quote \\" and \\\\ backslash"' in g.dot
    if shutil.which("dot"):
        ET.fromstring(g.pipe("svg"))


# -- eager histories ---------------------------------------------------------------------------
def test_graph_of_eager_tensor():
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    W = cr.tensor(rng.normal(size=(2, 2)), requires_grad=True)
    loss = cnp.tanh(x @ W).sum()
    g = viz.graph_of(loss, names=[("x", x), ("W", W)])
    assert [n.name for n in g.nodes] == ["x", "W", "matmul", "tanh", "sum"]
    nodes, edges, _ = parse_dot(g.dot)
    assert len(nodes) == 5 and len(edges) == 4
    t = np.tanh(x.primal() @ W.primal())
    assert np.allclose(g.node("W").adjoint, x.primal().T @ (1 - t ** 2), rtol=1e-12)
    loss.backward()
    assert np.allclose(g.node("x").adjoint, x.grad.primal())
    with pytest.raises(RuntimeError, match="freed by backward"):
        viz.graph_of(loss)


def test_graph_of_errors_and_retain_graph():
    with pytest.raises(TypeError, match="eager Tensor"):
        viz.graph_of(np.ones(2))
    with pytest.raises(ValueError, match="requires_grad=True"):
        viz.graph_of(cr.tensor([1.0]))
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    g = viz.graph_of(loss)
    assert g.nodes[0].name == "leaf"
    assert np.allclose(g.nodes[0].adjoint, [2.0, 4.0])


# -- scopes --------------------------------------------------------------------------------------
def test_scopes_make_nested_clusters():
    @viz.scope("head")
    def head(y):
        return cnp.sum(y ** 2)

    def f(x):
        with viz.scope("encoder"):
            with viz.scope("layer1"):
                y = cnp.tanh(x * 2.0)
            y = cnp.sin(y)
        return head(y)

    g = viz.graph(f, np.ones(2))
    scopes = {n.name: n.scope for n in g.nodes}
    assert scopes["tanh"] == "encoder/layer1" and scopes["sin"] == "encoder"
    assert scopes["square"] == "head" and scopes["x"] == ""
    _, _, clusters = parse_dot(g.dot)
    ids = {n.name: n.id for n in g.nodes}
    assert set(clusters) == {"encoder", "layer1", "head"}
    assert set(clusters["encoder"]) == {ids["multiply"], ids["tanh"], ids["sin"]}
    assert set(clusters["layer1"]) == {ids["multiply"], ids["tanh"]}
    assert set(clusters["head"]) == {ids["square"], ids["sum"]}


def test_scope_names_repeat_and_scopes_outside_graph_do_nothing():
    def f(x):
        for _ in range(2):
            with viz.scope("block"):
                x = cnp.sin(x)
        return x

    g = viz.graph(f, 1.0, collapse=False)
    assert list(g.clusters.values()) == ["block", "block"]  # two scopes of one name
    with viz.scope("nothing"):
        assert float(f(1.0)) == pytest.approx(np.sin(np.sin(1.0)))
    with pytest.raises(ValueError, match="non-empty"):
        viz.scope("")


def test_collapse_scopes_to_single_nodes():
    def f(W1, W2, x):
        with viz.scope("layer1"):
            y = cnp.tanh(W1 @ x)
        with viz.scope("layer2"):
            y = cnp.tanh(W2 @ y)
        return cnp.sum(y)

    args = (np.eye(2), 2 * np.eye(2), np.ones(2))
    g = viz.graph(f, *args, argnums=(0, 1), collapse_scopes=True)
    kinds = [(n.kind, n.name) for n in g.nodes]
    assert kinds == [("input", "W1"), ("input", "W2"), ("const", "x"), ("scope", "layer1"),
                     ("scope", "layer2"), ("op", "sum")]
    ids = {n.name: n.id for n in g.nodes}
    pairs = {(e.src, e.dst) for e in g.edges}
    assert pairs == {(ids["W1"], ids["layer1"]), (ids["x"], ids["layer1"]),
                     (ids["W2"], ids["layer2"]), (ids["layer1"], ids["layer2"]),
                     (ids["layer2"], ids["sum"])}
    assert g.node("layer2").detail == " (2 ops)"
    assert np.allclose(g.node("layer1").value, np.tanh(1.0))
    one = viz.graph(f, *args, collapse_scopes=["layer2"])
    assert [n.name for n in one.nodes if n.kind == "scope"] == ["layer2"]
    assert list(one.clusters.values()) == ["layer1"]


# -- folding repetitions ---------------------------------------------------------------------------
def test_loop_is_folded_into_one_repetition():
    def f(x):
        for _ in range(50):
            x = cnp.sin(x) * 0.9
        return x

    full = viz.graph(f, 0.5, collapse=False, max_nodes=None)
    assert len(full.nodes) == 101
    g = viz.graph(f, 0.5)  # more than 50 nodes: folded by default
    assert list(g.clusters.values()) == ["× 49 (the first is drawn)"]
    assert [n.name for n in g.nodes] == ["x", "sin", "multiply", "sin", "multiply"]
    _, edges, clusters = parse_dot(g.dot)
    inside = clusters["× 49 (the first is drawn)"]
    assert len(inside) == 2
    carry = [e for e in g.edges if e.style == "carry"]
    assert len(carry) == 1 and carry[0].src in inside and carry[0].dst in inside
    assert g.nodes[-1].is_output


def test_identical_layers_fold_and_distinct_ones_stay():
    rng = np.random.default_rng(0)
    Ws = [rng.normal(size=(3, 2))] + [rng.normal(size=(3, 3)) for _ in range(6)]

    def mlp(Ws, x):
        for W in Ws:
            x = cnp.tanh(W @ x)
        return cnp.sum(x)

    g = viz.graph(mlp, Ws, np.ones(2), collapse=True)
    assert list(g.clusters.values()) == ["× 6 (the first is drawn)"]
    ops = [n.name for n in g.nodes if n.kind == "op"]
    assert ops == ["matmul", "tanh", "matmul", "tanh", "sum"]  # layer 1, then the × 6 block
    names = [n.name for n in g.nodes if n.kind == "input"]
    assert names == ["Ws[0]", "Ws[1]"]  # inputs of hidden repetitions are not drawn
    small = viz.graph(mlp, Ws[:2], np.ones(2))  # small graphs are drawn in full
    assert small.clusters == {}


def test_folded_scopes():
    def f(x):
        for k in range(6):
            with viz.scope(f"step{k}"):
                x = cnp.cos(x) + x
        return x

    g = viz.graph(f, 0.1, collapse=True)
    labels = list(g.clusters.values())
    assert "× 5 (the first is drawn)" in labels and "step1" in labels and "step0" in labels
    assert "step3" not in labels
    _, _, clusters = parse_dot(g.dot)
    assert set(clusters["step1"]) <= set(clusters["× 5 (the first is drawn)"])


# -- the node limit -----------------------------------------------------------------------------------
def test_node_limit_leaves_a_clear_note():
    def f(x):
        for _ in range(40):
            x = cnp.sin(x)
        return x

    g = viz.graph(f, 0.5, collapse=False, max_nodes=10)
    assert g.omitted == 32 and len(g.nodes) == 10
    note = g.nodes[0]
    assert note.kind == "note"
    assert "32 earlier nodes not drawn (max_nodes=10)" in note.name
    assert "max_nodes=None" in note.name and "collapse=True" in note.name
    assert g.text().startswith("… 32 earlier nodes")
    assert g.nodes[-1].is_output
    nodes, edges, _ = parse_dot(g.dot)
    assert ("note", g.nodes[1].id) in {(s, d) for s, d, _ in edges}
    assert repr(g).endswith("32 left out>")


# -- output formats -------------------------------------------------------------------------------------
@needs_graphviz
def test_svg_and_png_with_graphviz(tmp_path):
    g = viz.graph(lambda x: cnp.exp(cnp.sin(x)), np.array([0.1, 0.2]))
    svg = g.render(tmp_path / "g.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    texts = "".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "sin" in texts and "exp" in texts
    png = g.render(tmp_path / "g.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert g._repr_svg_().lstrip().startswith("<?xml")


def test_dot_file_needs_nothing(tmp_path):
    g = viz.graph(cnp.sin, 0.5)
    path = g.render(tmp_path / "g.dot")
    assert path.read_text(encoding="utf-8") == g.dot == g.source


def test_missing_graphviz_says_how_to_install(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    real_import = builtins.__import__

    def no_graphviz(name, *args, **kwargs):
        if name == "graphviz":
            raise ImportError("no graphviz")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_graphviz)
    monkeypatch.delitem(sys.modules, "graphviz", raising=False)
    g = viz.graph(cnp.sin, 0.5)
    assert not viz.graphviz_available()
    with pytest.raises(viz.GraphvizNotFoundError, match="apt-get install graphviz"):
        g.pipe("svg")
    with pytest.raises(viz.GraphvizNotFoundError, match="pip install graphviz"):
        g.render("never.png")
    assert g._repr_svg_() is None
    assert g.dot.startswith("digraph")


# -- documentation -----------------------------------------------------------------------------------------
def test_docs_viz_runs(capsys):
    text = (ROOT / "docs" / "viz.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 6
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/viz.md, block {i}", "exec"), namespace)


def test_doctests():
    failed = attempted = 0
    for module in (viz, viz.build, viz.drawing, viz.render, viz.scopes, viz.collapse):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        failed, attempted = failed + result.failed, attempted + result.attempted
    assert failed == 0 and attempted > 5

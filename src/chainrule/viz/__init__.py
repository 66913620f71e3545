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

from chainrule.viz.build import AUTO_COLLAPSE_NODES as AUTO_COLLAPSE_NODES
from chainrule.viz.build import graph, graph_of
from chainrule.viz.collapse import FAR as FAR
from chainrule.viz.collapse import MAX_PERIOD as MAX_PERIOD
from chainrule.viz.drawing import Graph, GraphEdge, GraphNode
from chainrule.viz.render import INSTALL_HINT as INSTALL_HINT
from chainrule.viz.render import GraphvizNotFoundError, graphviz_available
from chainrule.viz.scopes import scope

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

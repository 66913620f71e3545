"""autograd's ``misc.tracers``: graphs of primitive calls built with
:func:`chainrule.tracer.trace` (``const_graph`` replays a traced function; ``full_graph``
returns its whole graph).

>>> import chainrule.numpy as cnp
>>> f = const_graph(lambda x: cnp.sin(x) * 2.0)
>>> float(f(0.5)) == float(f(0.5)) == float(cnp.sin(0.5) * 2.0)
True
>>> float(f(1.0)) == float(cnp.sin(1.0) * 2.0)    # replays the recorded calls
True
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from itertools import repeat
from typing import Any

from chainrule.tracer import Node, trace
from chainrule.util import subvals, toposort
from chainrule.wrap_util import wraps

__all__ = ["ConstGraphNode", "const_graph_unary", "const_graph", "FullGraphNode", "full_graph"]


class ConstGraphNode(Node):
    __slots__ = ["parents", "partial_fun"]

    def __init__(self, value, fun, args, kwargs, parent_argnums, parents):
        args = subvals(args, zip(parent_argnums, repeat(None)))

        def partial_fun(partial_args):
            return fun(*subvals(args, zip(parent_argnums, partial_args, strict=True)), **kwargs)

        self.parents = parents
        self.partial_fun = partial_fun

    def initialize_root(self):
        self.parents = []


def const_graph_unary(fun: Callable) -> Callable:
    """``fun`` of one argument, traced at its first call and replayed afterwards (the
    function must do the same primitive calls for every input)."""
    graph = []
    _fun = [fun]  # lets fun be freed after the first call, since it may hold arguments

    def maybe_cached_fun(x):
        if graph:
            _graph = graph[0]
            vals = {_graph[0]: x}
            for node in _graph[1:]:
                vals[node] = node.partial_fun([vals[p] for p in node.parents])
            return vals[node]
        start_node = ConstGraphNode.new_root()
        end_value, end_node = trace(start_node, _fun.pop(), x)
        if end_node is None:
            raise ValueError("const_graph: the output does not depend on the input")
        graph.append(list(toposort(end_node))[::-1])
        return end_value

    return maybe_cached_fun


def const_graph(fun: Callable, *args: Any, **kwargs: Any) -> Callable:
    """``fun`` (with ``args`` and ``kwargs`` bound) traced once and replayed."""
    partial_fun = partial(fun, *args, **kwargs)
    maybe_cached_unary_fun = const_graph_unary(lambda args: partial_fun(*args))

    @wraps(fun)
    def _fun(*args):
        return maybe_cached_unary_fun(args)

    return _fun


class FullGraphNode(Node):
    __slots__ = ["value", "recipe"]

    def __init__(self, value, fun, args, kwargs, parent_argnums, parents):
        self.value = value
        self.recipe = (fun, args, kwargs, zip(parent_argnums, parents, strict=True))

    def initialize_root(self):
        self.value = None
        self.recipe = (lambda x: x, (), {}, [])


def full_graph(fun: Callable, *args: Any, **kwargs: Any) -> Node | None:
    """The end node of ``fun(*args, **kwargs)``'s graph of :class:`FullGraphNode`."""
    start_node = FullGraphNode.new_root()
    _, end_node = trace(start_node, lambda args: fun(*args, **kwargs), args)
    return end_node

"""HIPS autograd's ``tracer`` module, as an adapter over chainrule's traces.

autograd builds a graph of ``Node`` objects while a function runs; programs (and
autograd's own ``print_trace`` example and ``misc.tracers``) subclass ``Node`` to see
every primitive call. Here :func:`trace` runs the function on a chainrule reverse trace
that keeps every call, then builds your ``Node`` subclass for each recorded call in the
order they ran, with the arguments ``__init__(value, fun, args, kwargs, parent_argnums,
parents)`` that autograd passes. The one difference: the nodes are built right after
the function returns, not while it runs (so their ``__init__`` side effects come after
the function's own).

>>> import chainrule.numpy as cnp
>>> class Names(Node):
...     def __init__(self, value, fun, args, kwargs, parent_argnums, parents):
...         self.names = [n for p in parents for n in p.names] + [fun.__name__]
...     def initialize_root(self):
...         self.names = []
>>> value, node = trace(Names.new_root(), lambda x: cnp.sin(x) * 2.0, 1.0)
>>> node.names
['sin', 'multiply']
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.core.backward import toposort as eager_nodes
from chainrule.core.eager import tensor
from chainrule.core.eager_backward import node_backward
from chainrule.core.linearize import TRANSPOSING
from chainrule.core.primitive import Primitive, RulesByArgument, given_jvps, new_vjp_rules
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.core.tensor import Tensor
from chainrule.core.trace import CONSTANT, EAGER, LEAF, PROJECT, EagerNode
from chainrule.core.user_primitive import primitive
from chainrule.numpy.numpy_boxes import Box
from chainrule.transforms.reverse import trace_vjp
from chainrule.util import subvals, toposort
from chainrule.wrap_util import wraps

__all__ = [
    "trace",
    "new_box",
    "trace_stack",
    "TraceStack",
    "backward_pass",
    "Node",
    "VJPNode",
    "JVPNode",
    "primitive",
    "notrace_primitive",
    "register_notrace",
    "Box",
    "isbox",
    "getval",
    "toposort",
    "subvals",
    "wraps",
]


class Node:
    """A node of autograd's graph: subclass it with ``__init__(value, fun, args,
    kwargs, parent_argnums, parents)`` for a primitive call and ``initialize_root(...)``
    for the start node, and pass ``YourNode.new_root(...)`` to :func:`trace`."""

    __slots__ = ()

    def __init__(self, value, fun, args, kwargs, parent_argnums, parents):
        raise NotImplementedError("a Node subclass defines __init__")

    def initialize_root(self, *args, **kwargs):
        raise NotImplementedError("a Node subclass defines initialize_root")

    @classmethod
    def new_root(cls, *args, **kwargs):
        root = cls.__new__(cls)
        root.initialize_root(*args, **kwargs)
        return root


class VJPNode(Node):
    """Names reverse mode in :func:`register_notrace` (autograd's reverse-mode node), and
    is the start of a graph of one's own: ``new_box(x, 0, VJPNode.new_root())``."""

    __slots__ = ()

    def initialize_root(self):
        pass


class JVPNode(Node):
    """Names forward mode in :func:`register_notrace` (autograd's forward-mode node)."""

    __slots__ = ()

    def initialize_root(self):
        pass


def container_take(A, idx):
    """``A[idx]``: how one output of a multiple-output primitive reaches the graph."""
    return A[idx]


def _leaf_of(tree, k):
    def container_take(container):
        return tree_flatten(container)[0][k]

    return container_take


def _pack(tree):
    def pack(*leaves):
        return tree_unflatten(tree, leaves)

    pack.__name__ = "pack"
    return pack


def trace(start_node: Node, fun: Callable, x: Any):
    """Run ``fun(x)``, building a node (of ``start_node``'s class) for every primitive
    call that depends on ``x``. Returns ``(fun(x), end_node)``; ``end_node`` is None
    (with autograd's warning) when the output does not depend on ``x``.

    ``x`` may be a container of arrays: each leaf then gets a node (of a function that
    takes it out of the container) whose parent is ``start_node``.
    """
    node_class = type(start_node)
    if node_class is VJPNode:
        return _trace_eagerly(start_node, fun, x)
    out, record = trace_vjp(fun, (x,), (0,), "tracer", lean=False)
    tape = record.tape

    def make(value, f, args, kwargs, parent_argnums, parents):
        node = node_class.__new__(node_class)
        node.__init__(value, f, tuple(args), dict(kwargs or {}), tuple(parent_argnums), tuple(parents))
        return node

    x_leaves, x_tree = tree_flatten(x)
    if x_tree.num_leaves == 1 and x_leaves[0] is x:
        nodes: dict[int, Any] = {record.in_nodes[0]: start_node}
    else:  # a container: each leaf's node takes it out of the start node's value
        nodes = {
            pos: make(value, _leaf_of(x_tree, k), (x,), {}, (0,), (start_node,))
            for k, (pos, value) in enumerate(zip(record.in_nodes, record.in_values, strict=True))
        }

    for pos, entry in enumerate(tape):
        if entry is LEAF or entry is CONSTANT:
            continue
        prim, parents, vals, kwargs, ans = entry
        if prim is PROJECT:  # output k of a multiple-output call: take item k of it
            ((k, parent),) = parents
            source = tape[parent]
            nodes[pos] = make(ans, container_take, (source[4], k), {}, (0,), (nodes[parent],))
            continue
        nodes[pos] = make(
            ans, prim, vals, kwargs, [i for i, _ in parents], [nodes[p] for _, p in parents]
        )
    traced = [(leaf, pos) for leaf, pos in zip(record.out_values, record.out_nodes, strict=True)]
    if len(traced) == 1 and traced[0][1] is not None and tree_flatten(out)[1].num_leaves == 1:
        return out, nodes[traced[0][1]]
    if all(pos is None for _, pos in traced):
        warnings.warn("Output seems independent of input.", stacklevel=2)
        return out, None
    # A container of results: one node that packs its leaves.
    _, tree = tree_flatten(out)
    leaves = [leaf for leaf, _ in traced]
    argnums = [i for i, (_, pos) in enumerate(traced) if pos is not None]
    parents = [nodes[pos] for _, pos in traced if pos is not None]
    return out, make(out, _pack(tree), leaves, {}, argnums, parents)


def _trace_eagerly(start_node: VJPNode, fun: Callable, x: Any):
    """autograd's own ``make_vjp``: ``trace(VJPNode.new_root(), fun, x)``, then
    ``backward_pass(g, end_node)``. ``fun`` runs on :func:`new_box`'s eager Tensor of
    ``x``, and the end node is its result's, which :func:`backward_pass` runs back from."""
    if not isinstance(x, Tensor | np.ndarray | np.generic | int | float | complex):
        raise TypeError(
            f"trace(VJPNode.new_root(), fun, x) takes an array or a number x, not a "
            f"{type(x).__name__}: for a container use chainrule.make_vjp(fun)(x)"
        )
    out = fun(new_box(x, 0, start_node))
    node = out._node if isinstance(out, Tensor) else None
    if node is None:
        warnings.warn("Output seems independent of input.", stacklevel=3)
        return out, None
    return getval(out), node


# The values new_box made: where backward_pass's gradient goes
_NEW_BOXES: weakref.WeakSet = weakref.WeakSet()
# For each box new_box made as an item of a tuple or list: the container's type and all
# its items' boxes (weakly), so that backward_pass gives the gradient of the whole; by
# id, as a Tensor's == is elementwise (the entry goes with the box)
_ITEM_OF: dict[int, tuple] = {}


class TraceStack:
    """autograd's stack of trace ids: ``with trace_stack.new_trace() as t:`` gives the
    next id, for ``new_box(x, t, node)`` (PennyLane's ``qml.math.is_independent``).
    chainrule's eager graph has no trace ids; the number is only handed back."""

    def __init__(self):
        self.top = -1

    @contextlib.contextmanager
    def new_trace(self):
        self.top += 1
        try:
            yield self.top
        finally:
            self.top -= 1


trace_stack = TraceStack()


class SequenceStart(tuple):
    """What :func:`new_box` makes of a tuple or list, as autograd's ``SequenceBox``: a
    tuple of the items' boxes (``fun(*start)`` unpacks them), with ``_value`` (the
    container), ``_node`` and ``_trace`` (the eager trace, as the items' ``_trace``)."""

    _value: Any
    _node: Any
    _trace: Any


def new_box(value: Any, trace: Any, node: Node) -> Tensor | SequenceStart:
    """autograd's ``new_box(value, trace_id, node)``, for libraries that drive autograd's
    engine themselves (pymoo's and NEORL's gradients): ``x = new_box(value, 0,
    VJPNode.new_root())``, then ``out = fun(x)``, then ``backward_pass(g, out._node)``.

    Here ``x`` is an eager Tensor that requires grad (``chainrule.tensor(value,
    requires_grad=True)``): what is computed from it with ``chainrule.numpy`` is recorded,
    and :func:`backward_pass` runs back to it. ``trace`` is not used (chainrule's eager
    graph has no trace ids). Forward mode (a ``JVPNode``) has no such start: use
    ``chainrule.make_jvp``. A tuple or list gives a :class:`SequenceStart`, a tuple of its
    items' boxes (``fun(*x)``), and :func:`backward_pass` then gives a gradient per item.

    >>> import chainrule.numpy as cnp
    >>> x = new_box(cnp.array([1.0, 2.0]), 0, VJPNode.new_root())
    >>> out = cnp.sum(x ** 3)
    >>> backward_pass(1.0, out._node)
    array([ 3., 12.])
    """
    if not isinstance(node, VJPNode):
        raise NotImplementedError(
            f"new_box starts reverse mode only (a VJPNode.new_root()), not a {type(node).__name__}: "
            "for forward mode use chainrule.make_jvp(fun)(x)(v)"
        )
    if isinstance(value, tuple | list) and not isinstance(value, SequenceStart):
        items = [new_box(v, trace, node) for v in value]
        refs = tuple(weakref.ref(b) for b in items)
        for b in items:
            if isinstance(b, Tensor):
                _ITEM_OF[id(b)] = (type(value), refs)
                weakref.finalize(b, _ITEM_OF.pop, id(b), None)
        start = SequenceStart(items)
        start._value, start._node, start._trace = value, node, EAGER
        return start
    box = tensor(getval(value), requires_grad=True)
    _NEW_BOXES.add(box)
    return box


def backward_pass(g: Any, end_node: EagerNode) -> Any:
    """autograd's ``backward_pass(g, end_node)``: the gradient, weighted by ``g``, of the
    value whose node ``end_node`` is (``out._node``) with respect to the value
    :func:`new_box` made that it was computed from. The graph is kept: call it again with
    another ``g`` for another row of a Jacobian. A Tensor where ``g`` is one (as autograd
    gives a box for a box), else a NumPy array."""
    if not isinstance(end_node, EagerNode):
        raise TypeError(
            f"backward_pass: end_node is the _node of a value computed from new_box's value "
            f"(got {type(end_node).__name__}); inside chainrule.grad and the other transforms, "
            "return the value and let the transform differentiate it"
        )
    reached = set(eager_nodes(end_node))
    starts = [b for b in list(_NEW_BOXES) if b._node in reached]
    if not starts:
        raise ValueError("backward_pass: end_node's value was not computed from a value that new_box made")
    start = min(starts, key=lambda b: b._node.seq)  # the first made: the function's argument
    if id(start) in _ITEM_OF:  # an item of a tuple or list: the gradient of every item
        kind, refs = _ITEM_OF[id(start)]
        items = [r() for r in refs]
        grads = node_backward(end_node, g, [b for b in items if b is not None])
        grads = [np.zeros_like(b._value) if d is None else d for b, d in zip(items, grads, strict=True)]
        return kind(Tensor(d, EAGER) if isinstance(g, Tensor) else d for d in grads)
    (grad,) = node_backward(end_node, g, [start])
    return Tensor(grad, EAGER) if isinstance(g, Tensor) else grad


def isbox(x: Any) -> bool:
    """Whether ``x`` is a value being differentiated (a Tensor, or the tuple of boxes
    :func:`new_box` makes of a sequence)."""
    return isinstance(x, Tensor | SequenceStart)


def getval(x: Any) -> Any:
    """The plain value inside ``x`` (under every trace); ``x`` itself if not a box.

    One trace is left in place: the one that transposes a vjp rule into a forward rule
    (a primitive given only vjp rules, in forward mode). There the rule's cotangent is a
    Tensor of that trace, and a rule that reads ``getval(g)`` (to stop derivatives of
    ``g``, as autograd's rules may) is still the linear map to transpose.
    """
    if isinstance(x, SequenceStart):
        return x._value
    while isinstance(x, Tensor) and getattr(x._trace, "name", None) != TRANSPOSING:
        x = x._value
    return x


def notrace_primitive(f_raw: Callable) -> Callable:
    """``f_raw`` called on the plain values of its positional arguments: its result is
    data, never differentiated (autograd's wrapper for ``isinstance``, ``shape`` ...).

    >>> import chainrule as cr
    >>> kind = notrace_primitive(lambda x: type(x).__name__)
    >>> cr.grad(lambda x: x * len(kind(x)))(1.0)
    np.float64(7.0)
    """

    @wraps(f_raw)
    def f_wrapped(*args, **kwargs):
        return f_raw(*map(getval, args), **kwargs)

    f_wrapped._is_primitive = True
    return f_wrapped


def register_notrace(trace_type: type, primitive_fun: Primitive) -> None:
    """Make ``primitive_fun`` constant in one mode: ``VJPNode`` (reverse mode) or
    ``JVPNode`` (forward mode); its result then carries no derivative in that mode."""
    if not isinstance(primitive_fun, Primitive):
        raise TypeError(
            f"register_notrace expects a function made with chainrule.primitive, got {primitive_fun!r}"
        )
    no_rule = RulesByArgument(lambda k: None)
    if issubclass(trace_type, JVPNode):
        primitive_fun.jvps = no_rule
        primitive_fun.joint_jvp = None
        given_jvps(primitive_fun)
    elif issubclass(trace_type, VJPNode):
        primitive_fun.vjps = no_rule
        new_vjp_rules(primitive_fun)
    else:
        raise TypeError(
            f"register_notrace: the trace type is VJPNode (reverse mode) or JVPNode (forward "
            f"mode), not {trace_type!r}"
        )

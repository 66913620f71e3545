"""Traces: where a primitive call on Tensors is recorded (reverse) or pushed forward.

Every transform opens a trace with a fresh, higher ``level``. A primitive called on
Tensors goes to the trace with the highest level among its arguments; that trace unboxes
only its own Tensors and calls the primitive again on the rest, so outer traces see the
call too. Because each trace only unboxes what is its own, nested transforms cannot
confuse their perturbations (Siskind and Pearlmutter's example stays correct).

* :class:`ReverseTrace` appends a :class:`Node` per call to its tape, so the backward
  pass runs over the tape in reverse without sorting anything.
* :class:`ForwardTrace` computes each output's tangent at once from the jvp rules.
* :class:`EagerTrace` is the PyTorch-like layer: level 0, always open, with the graph
  kept as links between nodes so unused parts are freed by Python.
"""

from __future__ import annotations

import itertools

from chainrule.core.tensor import Tensor

__all__ = ["Node", "EagerNode", "ReverseTrace", "ForwardTrace", "EagerTrace", "EAGER", "PROJECT"]

_levels = itertools.count(1)


class Node:
    """One recorded primitive call: what the backward pass needs to apply its vjp rules.

    ``parents`` pairs each differentiated argument position with that argument's node;
    ``cot`` holds the output's cotangent while the backward pass accumulates it.
    """

    __slots__ = ("prim", "parents", "args", "kwargs", "ans", "cot")

    def __init__(self, prim, parents, args, kwargs, ans):
        self.prim = prim
        self.parents = parents
        self.args = args
        self.kwargs = kwargs
        self.ans = ans
        self.cot = None

    def __repr__(self) -> str:
        name = "leaf" if self.prim is None else self.prim.__name__
        return f"<Node {name}>"


class EagerNode(Node):
    """A node of the eager graph; ``inputs`` are the argument Tensors themselves (for
    ``create_graph=True``), ``tensor_ref`` a weak reference to a leaf's Tensor (where its
    ``.grad`` goes) and ``hooks`` the functions registered on the Tensor."""

    __slots__ = ("inputs", "tensor_ref", "hooks", "stamp")

    def __init__(self, prim, parents, args, kwargs, ans, inputs=None):
        Node.__init__(self, prim, parents, args, kwargs, ans)
        self.inputs = inputs
        self.tensor_ref = None
        self.hooks = None
        self.stamp = 0  # the eager clock when recorded; later in-place writes are newer


class _Project:
    """Marks the node of one output of a multiple-output primitive (eigh, svd, ...)."""

    __name__ = "project"
    multiple_outputs = False


PROJECT = _Project()


def leaf_node() -> Node:
    return Node(None, (), None, None, None)


class ReverseTrace:
    """Records primitive calls on a tape for one reverse-mode transform."""

    __slots__ = ("level", "tape", "name")

    def __init__(self, name: str = "grad"):
        self.level = next(_levels)
        self.tape: list[Node] | None = []
        self.name = name

    def new_tensor(self, value) -> Tensor:
        return Tensor(value, self, leaf_node())

    def process(self, prim, args, kwargs):
        tape = self.tape
        if tape is None:
            raise escaped_tensor_error(self, prim)
        vals = list(args)
        parents = []
        lower = False
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                if a._trace is self:
                    vals[i] = a._value
                    parents.append((i, a._node))
                else:
                    lower = True
        ans = prim(*vals, **kwargs) if lower else prim.fun(*vals, **kwargs)
        node = Node(prim, parents, vals, kwargs, ans)
        tape.append(node)
        if prim.multiple_outputs:
            return project_outputs(self, node, ans, tape)
        return Tensor(ans, self, node)

    def close(self) -> None:
        self.tape = None


def project_outputs(trace, node, ans, tape, node_type=Node):
    """One Tensor per output of a multiple-output primitive, each with its own node."""
    outs = []
    for k, value in enumerate(ans):
        proj = node_type(PROJECT, ((k, node),), None, None, value)
        if tape is not None:
            tape.append(proj)
        outs.append(Tensor(value, trace, proj))
    return same_tuple_type(ans, outs)


def same_tuple_type(like, items):
    """A tuple of ``items`` of the same kind as ``like`` (NumPy returns namedtuples)."""
    return type(like)(*items) if hasattr(like, "_fields") else tuple(items)


class ForwardTrace:
    """Pushes tangents forward through each primitive call (forward mode)."""

    __slots__ = ("level", "name", "open")

    def __init__(self, name: str = "jvp"):
        self.level = next(_levels)
        self.name = name
        self.open = True

    def new_tensor(self, value, tangent) -> Tensor:
        return Tensor(value, self, None, tangent)

    def process(self, prim, args, kwargs):
        if not self.open:
            raise escaped_tensor_error(self, prim)
        vals = list(args)
        tangents = []
        lower = False
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                if a._trace is self:
                    vals[i] = a._value
                    tangents.append((i, a._tangent))
                else:
                    lower = True
        ans = prim(*vals, **kwargs) if lower else prim.fun(*vals, **kwargs)
        jvps = prim.jvps
        out = None
        for i, t in tangents:
            try:
                rule = jvps[i]
            except KeyError:
                rule = prim.derive_jvp(i)
            if rule is None:
                continue
            ti = rule(t, ans, *vals, **kwargs)
            if out is None:
                out = ti
            elif prim.multiple_outputs:
                out = tuple(a + b for a, b in zip(out, ti, strict=True))
            else:
                out = out + ti
        if prim.multiple_outputs:
            if out is None:
                out = tuple(zeros_tangent(v) for v in ans)
            outs = [Tensor(v, self, None, t) for v, t in zip(ans, out, strict=True)]
            return same_tuple_type(ans, outs)
        if out is None:
            out = zeros_tangent(ans)
        return Tensor(ans, self, None, out)

    def close(self) -> None:
        self.open = False


def zeros_tangent(value):
    from chainrule.numpy import zeros_like

    return zeros_like(value)


def escaped_tensor_error(trace, prim) -> Exception:
    return RuntimeError(
        f"{prim.__name__} was called on a Tensor of a {trace.name} transform that has already "
        "returned. A value that was being differentiated escaped its transform (stored in "
        "a global, a closure or an attribute); return it from the function instead."
    )


class EagerTrace:
    """The eager layer: level 0, nodes linked to their parents, no tape.

    Tensors with ``requires_grad`` carry a node; the graph of a result is kept alive by
    the result alone, so what is never differentiated is freed by reference counting.
    """

    __slots__ = ("level", "name", "grad_enabled", "clock")

    def __init__(self):
        self.level = 0
        self.name = "eager"
        self.grad_enabled = True
        self.clock = 0  # counts in-place writes, to detect those after a node was recorded

    def process(self, prim, args, kwargs):
        vals = list(args)
        parents = []
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                vals[i] = a._value
                if a._node is not None:
                    parents.append((i, a._node))
        ans = prim.fun(*vals, **kwargs)
        node = None
        if parents and self.grad_enabled:
            node = EagerNode(prim, parents, vals, kwargs, ans, args)
            node.stamp = self.clock
        if prim.multiple_outputs:
            if node is None:
                return same_tuple_type(ans, [Tensor(v, self) for v in ans])
            return project_outputs(self, node, ans, None, EagerNode)
        return Tensor(ans, self, node)


EAGER = EagerTrace()

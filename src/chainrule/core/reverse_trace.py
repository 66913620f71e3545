"""The reverse trace: records primitive calls on a tape for one reverse-mode transform.

Each call appends an entry to the trace's tape, so the backward pass runs over the tape
in reverse without sorting anything, with the cotangents in a flat list indexed by tape
position.
"""

from __future__ import annotations

import threading

from chainrule.core.primitive import RECORDING, Primitive
from chainrule.core.pytree import tree_flatten
from chainrule.core.tape import LEAF, lean_entry
from chainrule.core.tensor import BOX_TYPES, NO_KWARGS, Tensor
from chainrule.core.trace_protocol import (
    Trace,
    _levels,
    _new_tensor,
    keyword_tensor,
    own_leaves,
    project_outputs,
    record_composite,
    returned_call,
    unbox_own,
)
from chainrule.core.views import note_transform_view

__all__ = ["ReverseTrace", "OPEN_REVERSE"]


class ReverseTrace(Trace):
    """Records primitive calls on a tape for one reverse-mode transform.

    A ``lean`` trace keeps of each call only what its vjp rules read (``Primitive.keeps``);
    a trace that is to be inspected (``chainrule.viz``) keeps everything.
    """

    __slots__ = ("level", "tape", "name", "lean", "origins", "outer_mode", "branches")

    def __init__(self, name: str = "grad", lean: bool = True):
        self.level = next(_levels)
        self.tape: list[tuple] | None = []
        self.name = name
        self.lean = lean
        self.origins: dict | None = None  # tape position -> call site, under detect_anomaly
        # the branches of a chainrule.lax.cond batched by a vmap below, recorded on the tape:
        # (start, end, predicate) each, for a backward pass that is itself differentiated
        # (chainrule.transforms.branches)
        self.branches: list | None = None
        # The transforms' grad mode where this trace was opened (False inside no_grad()): a
        # trace opened there records, and the traces below it stay paused (see OPEN_REVERSE)
        self.outer_mode = OPEN_REVERSE.mode
        OPEN_REVERSE.mode = True
        OPEN_REVERSE.traces += (self,)

    @property
    def open(self) -> bool:
        return self.tape is not None

    def maker(self, node):
        return None if self.tape is None else self.tape[node][0]  # (an input's entry, LEAF, has none)

    def new_tensor(self, value) -> Tensor:
        tape = self.tape
        tape.append(LEAF)
        box = BOX_TYPES.get(type(value))
        if box is not None:
            return box(value, self, len(tape) - 1)
        t = _new_tensor(Tensor)
        t._value, t._trace, t._node = value, self, len(tape) - 1
        return t

    def process(self, prim, args, kwargs):
        n = len(args)
        if n == 1:  # one argument: it is this trace's Tensor
            return self.unary(prim, args[0], kwargs)
        if n == 2:
            return self.binary(prim, args[0], args[1], kwargs)
        tape = self.tape
        if tape is None:
            return returned_call(self, prim, args, kwargs)
        vals, own, lower = unbox_own(self, args)
        parents = [(i, args[i]._node) for i, mine in enumerate(own) if mine]
        ans = prim(*vals, **kwargs) if lower or keyword_tensor(kwargs) else prim.fun(*vals, **kwargs)
        if prim.keeps is None or not self.lean:
            tape.append((prim, parents, vals, kwargs, ans))
        else:
            tape.append(lean_entry(prim, parents, vals, kwargs, ans))
        if prim.multiple_outputs:
            return project_outputs(self, len(tape) - 1, ans, tape)
        out = Tensor(ans, self, len(tape) - 1)
        if prim.makes_view and isinstance(args[0], Tensor):
            note_transform_view(args[0], out, prim, tuple(args[1:]), kwargs)
        return out

    # One and two arguments are the hot path: spelled out, with lean_entry inlined.
    def unary(self, prim, a, kwargs=NO_KWARGS):
        tape = self.tape
        if tape is None:
            return returned_call(self, prim, (a,), kwargs)
        v = a._value
        if isinstance(v, Tensor):  # a value of a trace below: Primitive.__call__'s door to it
            ans = v._trace.unary(prim, v) if not kwargs and prim.__class__ is Primitive else prim(v, **kwargs)
        elif kwargs:
            ans = prim(v, **kwargs) if keyword_tensor(kwargs) else prim.fun(v, **kwargs)
        else:
            ans = prim.fun(v)
        keeps = prim.keeps if self.lean else None
        if keeps is None:
            tape.append((prim, ((0, a._node),), (v,), kwargs, ans))
        elif keeps == "output":
            tape.append((prim, ((0, a._node),), (None,), kwargs, ans))
        else:
            tape.append((prim, ((0, a._node),), (v,), kwargs, None))
        if prim.multiple_outputs:
            return project_outputs(self, len(tape) - 1, ans, tape)
        out = _new_tensor(Tensor)  # Tensor(ans, self, node) without the __init__ call
        out._value, out._trace, out._node = ans, self, len(tape) - 1
        if prim.makes_view:
            note_transform_view(a, out, prim, (), kwargs)
        return out

    def binary(self, prim, a, b, kwargs=NO_KWARGS):
        tape = self.tape
        if tape is None:
            return returned_call(self, prim, (a, b), kwargs)
        first = a
        if isinstance(a, Tensor) and a._trace is self:
            if isinstance(b, Tensor) and b._trace is self:
                parents = ((0, a._node), (1, b._node))
                b = b._value
            else:
                parents = ((0, a._node),)
            a = a._value
        else:
            parents = ((1, b._node),)
            b = b._value
        if isinstance(a, Tensor) or isinstance(b, Tensor) or (b.__class__ is tuple and RECORDING[0]) \
                or (kwargs and keyword_tensor(kwargs)):
            ans = prim(a, b, **kwargs) if kwargs else prim(a, b)  # (a tuple: an index that may hold a batched value)
        else:
            ans = prim.fun(a, b, **kwargs) if kwargs else prim.fun(a, b)
        keeps = prim.keeps if self.lean else None
        if keeps is None:
            tape.append((prim, parents, (a, b), kwargs, ans))
        elif keeps == "output":
            tape.append((prim, parents, (None, None), kwargs, ans))
        else:
            tape.append((prim, parents, (a, b), kwargs, None))
        if prim.multiple_outputs:
            return project_outputs(self, len(tape) - 1, ans, tape)
        out = _new_tensor(Tensor)
        out._value, out._trace, out._node = ans, self, len(tape) - 1
        if prim.makes_view:
            note_transform_view(first, out, prim, (b,), kwargs)
        return out

    def composite(self, prim, args):
        if self.tape is None:
            return returned_call(self, prim, args, NO_KWARGS)
        leaves, values, own, in_tree = own_leaves(self, args)
        made = prim.reverse(values, in_tree)
        if made is None:
            return prim.fun(*args)
        out, rules = made
        if any(isinstance(v, Tensor) and v._trace is self for v in tree_flatten(out)[0]):
            # the body read one of this trace's values that is not an argument (a closure):
            # rules made from the arguments cannot give it its cotangent
            return prim.closed_over(self, args)
        parents = [(i, leaves[i]._node) for i in own]
        return record_composite(self, rules, parents, values, out)

    def close(self) -> None:
        self.tape = None
        self.__class__ = ReverseTrace  # (if paused) the escaped-Tensor errors are ReverseTrace's
        traces = OPEN_REVERSE.traces
        if traces and traces[-1] is self:
            OPEN_REVERSE.traces = traces[:-1]
            OPEN_REVERSE.mode = self.outer_mode
        elif self in traces:  # closed out of order: the others keep their states
            OPEN_REVERSE.traces = tuple(t for t in traces if t is not self)


class OpenReverse(threading.local):
    """The reverse traces open in this thread, innermost last, and the transforms' grad
    mode: True when a trace opens, set by ``no_grad()``/``enable_grad()`` inside it.
    Where the mode is off, the innermost trace is paused, and so is each trace below one
    opened where the mode was off (PyTorch's rule for ``torch.func.grad``):
    ``chainrule.core.paused`` switches the traces' classes when the mode changes, so that
    recording costs nothing more per call."""

    traces: tuple = ()
    mode = True


OPEN_REVERSE = OpenReverse()

"""``no_grad()`` inside a reverse-mode transform, as PyTorch's ``torch.func.grad`` reads it:
what is computed there is a constant for the transforms that were recording when it was
entered, and ``enable_grad()`` within it records again.

Entering or leaving such a block switches the class of each open
:class:`~chainrule.core.reverse_trace.ReverseTrace` to :class:`PausedReverseTrace` or back, so a
trace that is not paused records exactly as before, at no cost per call. A paused trace
reads its own Tensors as their values (the call is still seen by the traces below, so
forward mode and ``vmap`` are not affected, as in PyTorch) and gives the result as a new
input of its tape: a constant, which no cotangent leaves.

>>> import chainrule as cr
>>> def f(x):
...     with cr.no_grad():
...         c = x ** 2
...     return x - c
>>> float(cr.grad(f)(0.5))
1.0
"""

from __future__ import annotations

from chainrule.core.tensor import NO_KWARGS, Tensor
from chainrule.core.trace import (
    CONSTANT,
    OPEN_REVERSE,
    ReverseTrace,
    Trace,
    note_transform_view,
    returned_call,
    same_tuple_type,
)

__all__ = ["PausedReverseTrace", "set_transforms_grad_mode"]


class PausedReverseTrace(ReverseTrace):
    """A reverse trace inside ``no_grad()``: its calls are not recorded."""

    __slots__ = ()

    def process(self, prim, args, kwargs):
        if self.tape is None:
            return returned_call(self, prim, args, kwargs)
        vals = [a._value if isinstance(a, Tensor) and a._trace is self else a for a in args]
        ans = prim(*vals, **kwargs)
        if prim.multiple_outputs:
            return same_tuple_type(ans, [self.constant(v) for v in ans])
        out = self.constant(ans)
        if prim.makes_view and isinstance(args[0], Tensor):
            note_transform_view(args[0], out, prim, tuple(args[1:]), kwargs)
        return out

    def unary(self, prim, a, kwargs=NO_KWARGS):
        return self.process(prim, (a,), kwargs)

    def binary(self, prim, a, b, kwargs=NO_KWARGS):
        return self.process(prim, (a, b), kwargs)

    composite = Trace.composite  # the body runs, its calls come back here

    def constant(self, value) -> Tensor:
        """``value`` as a Tensor of this trace that depends on nothing (a new input)."""
        tape = self.tape
        tape.append(CONSTANT)
        return Tensor(value, self, len(tape) - 1)


def set_transforms_grad_mode(flag: bool) -> bool:
    """Set the grad mode of the reverse traces open in this thread (``no_grad()`` and
    ``enable_grad()`` inside a transformed function); returns the previous one. The
    innermost trace records where the mode is on; below a trace opened with the mode off,
    none does (PyTorch's rule: ``no_grad()`` around a nested ``grad`` call makes its
    result a constant for the outer one)."""
    old = OPEN_REVERSE.mode
    OPEN_REVERSE.mode = flag = bool(flag)
    if OPEN_REVERSE.traces:
        for trace in reversed(OPEN_REVERSE.traces):
            cls = ReverseTrace if flag else PausedReverseTrace
            if trace.__class__ is not cls and trace.tape is not None:
                trace.__class__ = cls
            flag = flag and trace.outer_mode
    return old

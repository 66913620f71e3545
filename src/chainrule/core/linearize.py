"""One function's derivatives at a point, for rules that need them inside a primitive.

A rule that integrates an ODE (``chainrule.scipy.integrate.odeint``) needs, at every
step of the solver, the vjp or jvp of the user's right-hand side at plain values. These
two helpers open a trace, run the function once, and close it; unlike the transforms
(``chainrule.vjp``, ``chainrule.jvp``) they take flat argument lists only and do no
argument checking, which is what a rule wants at every step of a solver.

Arguments may themselves be Tensors of outer traces: the results are then Tensors of
those traces, so a rule built on these helpers differentiates again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chainrule.core.backward import backward_pass
from chainrule.core.tensor import Tensor
from chainrule.core.trace import ForwardTrace, ReverseTrace

__all__ = ["pullback", "pushforward", "TRANSPOSING"]

# The name of the trace that transposes a linear rule (chainrule.core.primitive.transpose):
# a vjp rule run there, to give a primitive's forward rule, sees its cotangent as a Tensor
# of that trace, which HIPS autograd's getval leaves in place (chainrule.tracer.getval).
TRANSPOSING = "transposing"


def pullback(fun: Callable, args: Sequence, name: str = "pullback"):
    """``fun(*args)`` and its pullback: a function from the output's cotangent to the
    cotangents of ``args`` (None for an argument the output does not depend on). A tuple
    of outputs takes a tuple of cotangents (None for an output without one).

    >>> import numpy as np
    >>> out, pull = pullback(lambda x, y: x * y, (np.float64(3.0), np.float64(2.0)))
    >>> float(out), [float(c) for c in pull(np.float64(1.0))]
    (6.0, [2.0, 3.0])
    """
    trace = ReverseTrace(name)
    tape = trace.tape
    boxed = [trace.new_tensor(a) for a in args]
    try:
        out = fun(*boxed)
    finally:
        trace.close()
    several = isinstance(out, tuple)
    outs = out if several else (out,)
    recorded = [isinstance(o, Tensor) and o._trace is trace for o in outs]
    values = tuple(o._value if r else o for o, r in zip(outs, recorded, strict=True))

    def pull(cotangent) -> list:
        if not any(recorded):
            return [None] * len(args)
        cots = [None] * len(tape)
        for o, r, c in zip(outs, recorded, cotangent if several else (cotangent,), strict=True):
            if r and c is not None:
                cots[o._node] = c if cots[o._node] is None else cots[o._node] + c
        backward_pass(list(tape), cots, stop=len(args))
        return [cots[t._node] for t in boxed]

    return (values if several else values[0]), pull


def pushforward(fun: Callable, args: Sequence, tangents: Sequence):
    """``fun(*args)`` and its directional derivative along ``tangents`` (None if the
    output does not depend on ``args``).

    >>> import numpy as np
    >>> out, tangent = pushforward(lambda x: x * x, (np.float64(3.0),), (np.float64(1.0),))
    >>> float(out), float(tangent)
    (9.0, 6.0)
    """
    trace = ForwardTrace("pushforward")
    boxed = [trace.new_tensor(a, t) for a, t in zip(args, tangents, strict=True)]
    try:
        out = fun(*boxed)
    finally:
        trace.close()
    if isinstance(out, Tensor) and out._trace is trace:
        return out._value, out._tangent
    return out, None

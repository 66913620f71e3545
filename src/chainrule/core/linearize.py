"""One function's derivatives at a point, for rules that need them inside a primitive.

A rule that integrates an ODE (``chainrule.scipy.integrate.odeint``) needs, at every
step of the solver, the vjp or jvp of the user's right-hand side at plain values. These
two helpers open a trace, run the function once, and close it; unlike the transforms
(``chainrule.vjp``, ``chainrule.jvp``) they take flat argument lists only and do no
argument checking, which is what a rule wants at every step of a solver. (:func:`pullback`
lives with the backward pass, which transposes rules by it; :func:`generic_point` and
:func:`check_linear` with the test of linearity; both are here too.)

Arguments may themselves be Tensors of outer traces: the results are then Tensors of
those traces, so a rule built on these helpers differentiates again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chainrule.core.backward import TRANSPOSING, pullback
from chainrule.core.forward_trace import ForwardTrace
from chainrule.core.linearity import NonLinearRule, check_linear, generic_point
from chainrule.core.tensor import Tensor

__all__ = ["pullback", "pushforward", "TRANSPOSING", "generic_point", "check_linear", "NonLinearRule"]


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

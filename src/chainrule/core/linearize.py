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

import numpy as np

from chainrule.core.backward import backward_pass
from chainrule.core.tensor import Tensor
from chainrule.core.trace import ForwardTrace, ReverseTrace

__all__ = ["pullback", "pushforward", "TRANSPOSING", "generic_point", "check_linear", "NonLinearRule"]

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
    try:
        boxed = [trace.new_tensor(a) for a in args]
        inputs = [t._node for t in boxed]  # (an argument changed in place takes on a new node)
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
        return [cots[node] for node in inputs]

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


# Where a linear map is transposed: a random point (drawn once, from a generator of its own,
# so the user's NumPy seed is left alone). The transpose of a linear map is the same at
# every point; at a random one, a rule that is not linear is caught by check_linear.
_POINT_VALUES = [np.random.default_rng(20261206).uniform(0.5, 1.5, 4096)]


def generic_point(zero):
    """A random value like the floating-point ``zero`` (of its shape and dtype, batched as
    it is under ``vmap``), or ``zero`` itself where it is not one (an integer)."""
    raw, levels = _raw(zero)
    if not isinstance(raw, np.ndarray | np.generic) or raw.dtype.kind not in "fc":
        return zero
    shape = tuple(zero.shape) if levels else raw.shape
    size = 2 * int(np.prod(shape))
    values = _POINT_VALUES[0]
    if size > values.size:
        values = _POINT_VALUES[0] = np.random.default_rng(size).uniform(0.5, 1.5, size)
    point = values[: size // 2].reshape(shape)
    if raw.dtype.kind == "c":
        point = point + 1j * values[size // 2: size].reshape(shape)
    point = point.astype(raw.dtype)
    if levels:
        return zero + point  # (batched like zero)
    return point[()] if isinstance(raw, np.generic) else point


def check_linear(what: str, point, value, cotangent, transposed) -> None:
    """Raise if a map that reverse mode transposed is not linear: for a linear map ``L``
    and its transpose ``Lᵀ`` (JAX's convention for complex values), Re Σ Lᵀ(v)·p equals
    Re Σ v·L(p) for every point ``p`` and cotangent ``v``; ``value`` is L(point) and
    ``transposed`` Lᵀ(cotangent) (None: zero). Values batched by nested ``vmap``s in ways
    that do not line up are not checked.

    >>> import numpy as np
    >>> check_linear("double", np.float64(2.0), np.float64(4.0), np.float64(1.0), np.float64(2.0))
    >>> try:  # t ↦ t ** 2 at 2: its "transpose" 4 fails the test
    ...     check_linear("square", np.float64(2.0), np.float64(4.0), np.float64(1.0), np.float64(4.0))
    ... except NonLinearRule as e:
    ...     print(str(e)[:35])
    square is not linear in the tangent
    """
    p = _raw(point)
    if not isinstance(p[0], np.ndarray | np.generic) or p[0].dtype.kind not in "fc":
        return
    pairs = [(transposed, p)] if transposed is not None else []
    several = isinstance(value, tuple)
    pairs += [(v, _raw(out)) for v, out in zip(cotangent if several else (cotangent,), value if several else (value,),
                                               strict=False) if v is not None and out is not None]
    sums = [_inner(_raw(a), b) for a, b in pairs]
    if any(s is None for s in sums):
        return
    lhs, rhs = (sums[0][0], sum(s[0] for s in sums[1:])) if transposed is not None else (0.0, sum(s[0] for s in sums))
    scale = sum(s[1] for s in sums)
    if not np.isfinite(scale) or abs(lhs - rhs) <= np.sqrt(np.finfo(p[0].dtype).eps) * scale:
        return
    raise NonLinearRule(
        f"{what} is not linear in the tangent (or cotangent) it is given, so it cannot be transposed: "
        "reverse mode (grad, vjp, backward) derives its rule for the other mode by "
        "transposition, which is exact only for a linear map, as in JAX. Write the "
        "rule's result as a linear function of the tangent (cnp.cos(x) * t, not t ** 2 or "
        "cnp.sin(t)), or give the reverse-mode rule yourself (custom_vjp, defvjp)"
    )


class NonLinearRule(NotImplementedError):
    """A rule that reverse (or forward) mode would transpose is not linear."""


def _raw(x) -> tuple:
    """The NumPy value under ``x``, looked into through every trace (chainrule.jit's
    records what it reads through ``primal()`` only), and the vmap traces whose batch
    axes lead it (outermost first)."""
    levels = []
    while isinstance(x, Tensor):
        if x._trace.batches:
            levels.append(x._trace.level)
        x = x._value
    return x, tuple(reversed(levels))


def _inner(a: tuple, b: tuple) -> tuple | None:
    """Re Σ a·b and Σ |a||b| of two raw values with their vmap levels (summed over the
    batches too), or None where they are not plain numbers or their batches do not line up."""
    (a, a_levels), (b, b_levels) = a, b
    number = np.ndarray | np.generic | float | complex | int
    if not isinstance(a, number) or not isinstance(b, number) or (a_levels and b_levels and a_levels != b_levels):
        return None
    try:
        return np.sum(a * b).real, np.sum(np.abs(a) * np.abs(b))
    except ValueError:
        return None

"""Whether a rule that is transposed is linear: it is checked at a random point.

Reverse mode derives a primitive's missing vjp rule by transposing its jvp rule (and
forward mode the other way round, ``chainrule.core.backward``): exact only for a rule that
is linear in its tangent, which :func:`check_linear` tests at :func:`generic_point`.
"""

from __future__ import annotations

import numpy as np

from chainrule.core.tensor import Tensor

__all__ = ["generic_point", "check_linear", "check_odd", "NonLinearRule"]


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
    raise _not_linear(what)


def check_odd(what: str, value, opposite) -> None:
    """Raise unless ``opposite``, the map's value at minus the point, is minus ``value``, its
    value at the point (plain values, a tuple of them for several outputs). A map that is
    positively homogeneous but not linear (``cnp.abs(t)``, ``cnp.maximum(t, 0)``) passes
    :func:`check_linear` at any one point (Euler's identity), and fails this one.

    >>> import numpy as np
    >>> check_odd("double", np.array([2.0, 4.0]), np.array([-2.0, -4.0]))
    >>> try:  # t ↦ |t| at (1, 2) and at (-1, -2)
    ...     check_odd("abs", np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    ... except NonLinearRule as e:
    ...     print(str(e)[:32])
    abs is not linear in the tangent
    """
    several = isinstance(value, tuple)
    for a, b in zip(value if several else (value,), opposite if several else (opposite,), strict=False):
        if a is None or b is None or isinstance(a, Tensor) or isinstance(b, Tensor):
            continue
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype.kind not in "fc" or a.shape != b.shape:
            continue
        scale = np.sum(np.abs(a))
        if np.isfinite(scale) and np.sum(np.abs(a + b)) > np.sqrt(np.finfo(a.dtype).eps) * scale:
            raise _not_linear(what)


def _not_linear(what: str) -> NotImplementedError:
    return NonLinearRule(
        f"{what} is not linear in the tangent (or cotangent) it is given, so it cannot be transposed: "
        "reverse mode (grad, vjp, backward) derives its rule for the other mode by "
        "transposition, which is exact only for a linear map, as in JAX. Write the "
        "rule's result as a linear function of the tangent (cnp.cos(x) * t, not t ** 2, "
        "cnp.sin(t) or cnp.abs(t)), or give the reverse-mode rule yourself (custom_vjp, defvjp)"
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

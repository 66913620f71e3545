"""``gradcheck``: derivatives checked against central finite differences, to any order."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.core.values import plain
from chainrule.transforms.forward import jvp
from chainrule.transforms.reverse import vjp

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """A derivative disagrees with finite differences."""


def _random_like(tree, rng):
    leaves, treedef = tree_flatten(tree)
    out = []
    for x in leaves:
        x = np.asarray(plain(x))
        r = rng.standard_normal(x.shape)
        if x.dtype.kind == "c":
            r = r + 1j * rng.standard_normal(x.shape)
        out.append(r.astype(np.result_type(x.dtype, np.float64)))
    return tree_unflatten(treedef, out)


def _axpy(a, xs, ys):
    """ys + a * xs over matching pytrees."""
    x_leaves, treedef = tree_flatten(xs)
    y_leaves, _ = tree_flatten(ys)
    return tree_unflatten(treedef, [y + a * x for x, y in zip(x_leaves, y_leaves, strict=True)])


def _inner(xs, ys) -> float:
    """Re ⟨conj(x), y⟩ summed over the leaves of two pytrees."""
    x_leaves, _ = tree_flatten(xs)
    y_leaves, _ = tree_flatten(ys)
    return float(
        sum(
            np.real(np.sum(np.conj(np.asarray(plain(x))) * np.asarray(plain(y))))
            for x, y in zip(x_leaves, y_leaves, strict=True)
        )
    )


def _conj(tree):
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [np.conj(np.asarray(plain(x))) for x in leaves])


def _numerical_jvp(f, args, tangents, eps):
    plus = f(*_axpy(eps, tangents, args))
    minus = f(*_axpy(-eps, tangents, args))
    p_leaves, treedef = tree_flatten(plus)
    m_leaves, _ = tree_flatten(minus)
    return tree_unflatten(
        treedef,
        [
            (np.asarray(plain(p)) - np.asarray(plain(m))) / (2 * eps)
            for p, m in zip(p_leaves, m_leaves, strict=True)
        ],
    )


def _close(actual: float, expected: float, rtol: float, atol: float, what: str) -> None:
    if not abs(actual - expected) <= atol + rtol * abs(expected):
        raise GradcheckError(
            f"{what}: got {actual!r}, finite differences give {expected!r} "
            f"(difference {abs(actual - expected):.3g}, allowed {atol + rtol * abs(expected):.3g})"
        )


def _check_fwd(f, args, rng, eps, rtol, atol, name):
    tangents = _random_like(args, rng)
    _, analytic = jvp(f, args, tangents)
    numeric = _numerical_jvp(f, args, tangents, eps)
    probe = _random_like(numeric, rng)
    _close(_inner(probe, analytic), _inner(probe, numeric), rtol, atol, f"{name}: jvp")


def _check_rev(f, args, rng, eps, rtol, atol, name):
    out, pull = vjp(f, *args)
    tangents = _random_like(args, rng)
    numeric = _numerical_jvp(f, args, tangents, eps)
    cotangent = _random_like(out, rng)
    pulled = _conj(pull(_conj(cotangent)))
    _close(_inner(tangents, pulled), _inner(numeric, cotangent), rtol, atol, f"{name}: vjp")


def gradcheck(
    f: Callable,
    *args,
    order: int = 2,
    modes: Sequence[str] = ("fwd", "rev"),
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    seed: int = 0,
) -> bool:
    """Check ``f``'s derivatives at ``args`` against central finite differences.

    Along random directions, the forward mode (``jvp``) and the reverse mode (``vjp``)
    are compared with ``(f(x + εv) − f(x − εv)) / 2ε``; with ``order=N`` the same check
    is repeated on the derivative functions themselves, up to the N-th derivative.
    Run it in float64. Raises :class:`GradcheckError` on a mismatch, returns True.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.gradcheck(cnp.tanh, np.array([0.1, -0.4]), order=3)
    True
    """
    modes = tuple(modes)
    for m in modes:
        if m not in ("fwd", "rev"):
            raise ValueError(f"gradcheck: unknown mode {m!r}; use 'fwd' and/or 'rev'")
    rng = np.random.default_rng(seed)
    name = getattr(f, "__name__", "f")
    _gradcheck(f, tuple(args), order, modes, rng, eps, rtol, atol, name)
    return True


def _gradcheck(f, args, order, modes, rng, eps, rtol, atol, name):
    if "fwd" in modes:
        _check_fwd(f, args, rng, eps, rtol, atol, f"{name} (order {order})")
    if "rev" in modes:
        _check_rev(f, args, rng, eps, rtol, atol, f"{name} (order {order})")
    if order <= 1:
        return
    if "rev" in modes:
        cotangent = _random_like(f(*args), rng)

        def f_vjp(*a):
            return vjp(f, *a)[1](cotangent)

        _gradcheck(f_vjp, args, order - 1, modes, rng, eps, rtol, atol, f"vjp of {name}")
    if "fwd" in modes:
        tangents = _random_like(args, rng)

        def f_jvp(*a):
            return jvp(f, a, tangents)[1]

        _gradcheck(f_jvp, args, order - 1, modes, rng, eps, rtol, atol, f"jvp of {name}")

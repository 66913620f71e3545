"""Forward mode: jvp and the transforms built on it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from chainrule.core.errors import TensorError, TensorTypeError
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.core.tensor import Tensor
from chainrule.core.trace import ForwardTrace
from chainrule.numpy import zeros_like
from chainrule.transforms.reverse import (
    differentiable_value,
    either_argnums,
    normalize_argnums,
    shape_of,
)

__all__ = ["jvp", "make_jvp", "linearize", "deriv"]


def _tangent_for(primal, tangent, where: str):
    if isinstance(tangent, Tensor):
        if tangent.shape != shape_of(primal):
            raise TensorError(
                f"tangent for {where} has shape {tangent.shape}, its primal {shape_of(primal)}"
            )
        return tangent
    dtype = primal.dtype if hasattr(primal, "dtype") else np.result_type(primal)
    t = np.asarray(tangent)
    if t.shape != shape_of(primal):
        raise TensorError(
            f"tangent for {where} has shape {t.shape}, but its primal has shape "
            f"{shape_of(primal)}; give a tangent of the primal's shape"
        )
    if t.dtype != dtype:
        t = t.astype(np.result_type(dtype, t.dtype) if t.dtype.kind == "c" else dtype)
    return t[()] if t.ndim == 0 and not isinstance(primal, np.ndarray) else t


def trace_jvp(fun: Callable, primals: Sequence, tangents: Sequence, name: str = "jvp"):
    """Run ``fun(*primals)`` with each primal leaf carrying its tangent.

    Returns the output and its tangent, as pytrees of the same structure.
    """
    if len(primals) != len(tangents):
        raise TensorError(
            f"{name}: {len(primals)} primal(s) but {len(tangents)} tangent(s); give one "
            "tangent per primal (primals and tangents are tuples)"
        )
    trace = ForwardTrace(name)
    boxed = []
    for i, (p, t) in enumerate(zip(primals, tangents, strict=True)):
        p_leaves, p_tree = tree_flatten(p)
        t_leaves, t_tree = tree_flatten(t)
        if p_tree != t_tree:
            raise TensorError(f"{name}: tangent {i} has structure {t_tree}, its primal {p_tree}")
        leaves = []
        for pl, tl in zip(p_leaves, t_leaves, strict=True):
            value = differentiable_value(pl, f"primal {i}")
            leaves.append(trace.new_tensor(value, _tangent_for(value, tl, f"primal {i}")))
        boxed.append(tree_unflatten(p_tree, leaves))
    try:
        out = fun(*boxed)
    finally:
        trace.close()
    out_leaves, out_tree = tree_flatten(out)
    values, tans = [], []
    for leaf in out_leaves:
        if isinstance(leaf, Tensor) and leaf._trace is trace:
            values.append(leaf._value)
            tans.append(leaf._tangent)
        else:
            values.append(leaf)
            tans.append(zeros_like(leaf))
    return tree_unflatten(out_tree, values), tree_unflatten(out_tree, tans)


def jvp(fun: Callable, primals: Sequence, tangents: Sequence, has_aux: bool = False):
    """JAX's ``jvp``: ``(fun(*primals), J · tangents)`` in one forward pass; with
    ``has_aux``, ``fun`` returns ``(output, aux)`` and the result is ``(output, J ·
    tangents, aux)``.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> cr.jvp(cnp.sin, (0.0,), (2.0,))
    (np.float64(0.0), np.float64(2.0))
    >>> cr.jvp(lambda x: (x * x, "note"), (3.0,), (1.0,), has_aux=True)
    (np.float64(9.0), np.float64(6.0), 'note')
    """
    if not isinstance(primals, tuple | list) or not isinstance(tangents, tuple | list):
        raise TensorTypeError("jvp(fun, primals, tangents): primals and tangents must be tuples (or lists), "
                              f"not {type(primals).__name__}; e.g. jvp(f, (x,), (v,)), so that f(*primals) is valid")
    if not has_aux:
        return trace_jvp(fun, tuple(primals), tuple(tangents))

    def pair(*args):
        out = fun(*args)
        if not isinstance(out, tuple | list) or len(out) != 2:
            raise TensorTypeError(f"with has_aux=True, {getattr(fun, '__name__', 'the function')} must return a pair "
                            "(output, auxiliary data)")
        return tuple(out)

    (out, aux), (tangent, _) = trace_jvp(pair, tuple(primals), tuple(tangents))
    return out, tangent, aux


def make_jvp(
    fun: Callable, argnum: int | Sequence[int] = 0, *, argnums: int | Sequence[int] | None = None
) -> Callable:
    """HIPS autograd's ``make_jvp``: ``make_jvp(f, argnum)(*args)(v) -> (out, J·v)``.

    With a tuple ``argnum``, ``v`` is a tuple of tangents, one per argument.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> cr.make_jvp(cnp.exp)(0.0)(3.0)
    (np.float64(1.0), np.float64(3.0))
    """
    argnum = either_argnums(argnum, argnums)

    def at(*args, **kwargs):
        nums = normalize_argnums(argnum, len(args))
        f = functools.partial(fun, **kwargs) if kwargs else fun

        def push(v):
            def only_args(*xs):
                full = list(args)
                for i, x in zip(nums, xs, strict=True):
                    full[i] = x
                return f(*full)

            primals = tuple(args[i] for i in nums)
            tangents = (v,) if isinstance(argnum, int) else tuple(v)
            return trace_jvp(only_args, primals, tangents, "make_jvp")

        return push

    return at


def linearize(fun: Callable, *primals):
    """``(fun(*primals), f_jvp)`` where ``f_jvp(*tangents)`` is J · tangents at primals.

    Each call of ``f_jvp`` runs one forward-mode pass (values are recomputed).

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> out, f_jvp = cr.linearize(cnp.sin, 0.0)
    >>> f_jvp(2.0)
    np.float64(2.0)
    """
    out = fun(*primals)

    def f_jvp(*tangents):
        return trace_jvp(fun, primals, tangents, "linearize")[1]

    return out, f_jvp


def deriv(
    fun: Callable, argnum: int = 0, *, argnums: int | None = None
) -> Callable:
    """The derivative of a function of one scalar (or elementwise) argument, by forward
    mode: the jvp with a tangent of ones (HIPS autograd's ``deriv``).

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> float(cr.deriv(cnp.sin)(0.0))
    1.0
    """
    argnum = either_argnums(argnum, argnums)

    @functools.wraps(fun)
    def deriv_fun(*args, **kwargs):
        (num,) = normalize_argnums(argnum, len(args))
        value = differentiable_value(args[num])
        ones = np.ones(shape_of(value), dtype=np.result_type(value))
        return make_jvp(fun, num)(*args, **kwargs)(ones)[1]

    return deriv_fun

"""``torch.autograd.functional``'s spellings: Jacobians, Hessians and their products of a
function of eager Tensors, with PyTorch's argument and result structure (one Tensor for
one input, tuples for a tuple of inputs or outputs).

They are chainrule's transforms (``jacrev``, ``jacfwd``, ``hessian``, ``vjp``, ``jvp``)
under PyTorch's signatures, so every Jacobian is built in one vectorised pass
(``vectorize`` changes nothing). The results are Tensors without a graph.
``create_graph=True`` is refused with the way to get a derivative of the result instead
(nest the transforms: ``cr.jacrev(cr.jacrev(f))``), and so is ``strict=True``.

>>> import chainrule as cr
>>> from chainrule.autograd.functional import jacobian
>>> jacobian(lambda x: x ** 2, cr.tensor([1.0, 2.0])).tolist()
[[2.0, 0.0], [0.0, 4.0]]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.core.eager import EAGER
from chainrule.core.pytree import tree_map
from chainrule.core.tensor import Tensor
from chainrule.transforms import forward, reverse
from chainrule.transforms import jacobian as jacobians

__all__ = ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"]


def _inputs(inputs) -> tuple[tuple, bool]:
    """The inputs as a tuple, and whether a single Tensor was given (not a tuple)."""
    if isinstance(inputs, tuple | list):
        return tuple(inputs), False
    return (inputs,), True


def _result(tree):
    """Every leaf as an eager Tensor without a graph."""
    return tree_map(lambda v: v.detach() if isinstance(v, Tensor) else Tensor(np.asarray(v), EAGER), tree)


def _check(strict: bool, create_graph: bool, name: str) -> None:
    if strict:
        raise NotImplementedError(
            f"{name}(strict=True) is not supported: an output independent of an input gets zeros "
            "there (what strict=False gives in PyTorch)"
        )
    if create_graph:
        raise NotImplementedError(
            f"{name}(create_graph=True) is not supported: for a derivative of the result, nest the "
            "transforms instead (cr.jacrev(cr.jacrev(f)), cr.grad(lambda x: ... cr.hessian(f)(x) ...)), "
            "or use cr.autograd.grad(..., create_graph=True)"
        )


def _scalar(func: Callable, name: str) -> Callable:
    """``func`` with its single-element output made 0-d, as PyTorch's Hessian wants."""
    def scalar_func(*args):
        out = func(*args)
        if isinstance(out, tuple) or np.size(out) != 1:
            raise RuntimeError(f"{name}: the function must return a Tensor with a single element")
        return out.reshape(())
    return scalar_func


def jacobian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs`` (a Tensor or a tuple of Tensors): one
    Tensor of shape ``out.shape + in.shape``, or tuples per output and per input.
    ``strategy`` is ``"reverse-mode"`` or ``"forward-mode"``."""
    _check(strict, create_graph, "jacobian")
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got {strategy!r}")
    args, single = _inputs(inputs)
    argnums = 0 if single else tuple(range(len(args)))
    transform = jacobians.jacrev if strategy == "reverse-mode" else jacobians.jacfwd
    return _result(transform(func, argnums)(*args))


def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of ``func`` (a single-element output) at ``inputs``: shape
    ``in.shape + in.shape``, or a tuple of tuples for a tuple of inputs."""
    _check(strict, create_graph, "hessian")
    args, single = _inputs(inputs)
    argnums = 0 if single else tuple(range(len(args)))
    return _result(jacobians.hessian(_scalar(func, "hessian"), argnums)(*args))


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False) -> tuple:
    """``(func(inputs), vᵀ J)``; ``v`` may be left out for a single-element output."""
    _check(strict, create_graph, "vjp")
    args, single = _inputs(inputs)
    out, pull = reverse.vjp(func, *args)
    if v is None:
        if isinstance(out, tuple) or np.size(out) != 1:
            raise RuntimeError("vjp: give v, the cotangent of the output (it may be left out only for an "
                               "output with a single element)")
        v = np.ones(np.shape(out), np.result_type(out))
    cotangents = pull(v)
    return _result(out), _result(cotangents[0] if single else tuple(cotangents))


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False) -> tuple:
    """``(func(inputs), J v)``; ``v`` may be left out for a single-element input."""
    _check(strict, create_graph, "jvp")
    args, single = _inputs(inputs)
    if v is None:
        if len(args) != 1 or np.size(args[0]) != 1:
            raise RuntimeError("jvp: give v, the tangent of the inputs (it may be left out only for a single "
                               "input with a single element)")
        v = np.ones(np.shape(args[0]), np.result_type(args[0]))
    tangents, _ = _inputs(v)
    out, tangent = forward.jvp(func, args, tangents)
    return _result(out), _result(tangent)


def hvp(func: Callable, inputs, v, create_graph: bool = False, strict: bool = False) -> tuple:
    """``(func(inputs), H v)`` for a single-element output."""
    _check(strict, create_graph, "hvp")
    args, single = _inputs(inputs)
    tangents, _ = _inputs(v)
    scalar = _scalar(func, "hvp")
    gradient = reverse.grad(scalar, 0 if single else tuple(range(len(args))))
    product = forward.jvp(gradient, args, tangents)[1]
    return _result(scalar(*args)), _result(product)


def vhp(func: Callable, inputs, v, create_graph: bool = False, strict: bool = False) -> tuple:
    """``(func(inputs), vᵀ H)`` for a single-element output."""
    _check(strict, create_graph, "vhp")
    args, single = _inputs(inputs)
    scalar = _scalar(func, "vhp")
    gradient = reverse.grad(scalar, 0 if single else tuple(range(len(args))))
    _, pull = reverse.vjp(gradient, *args)
    product = pull(v)
    return _result(scalar(*args)), _result(product[0] if single else tuple(product))

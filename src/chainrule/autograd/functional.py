"""``torch.autograd.functional``'s spellings: Jacobians, Hessians and their products of a
function of eager Tensors, with PyTorch's argument and result structure (one Tensor for
one input, tuples for a tuple of inputs or outputs).

By default they are chainrule's transforms (``jacrev``, ``jacfwd``, ``hessian``, ``vjp``,
``jvp``) under PyTorch's signatures, so every Jacobian is built in one vectorised pass
(``vectorize`` changes nothing), and the results are Tensors without a graph.

With ``create_graph=True`` or ``strict=True`` they are computed as PyTorch computes them, by
backward passes of the eager layer (:func:`chainrule.autograd.grad`): a Jacobian row by row,
``jvp`` and ``hvp`` by the double-backward trick. With ``create_graph=True`` the results are
on the graph of the inputs that require grad, so a loss made of them differentiates again
(a Jacobian or Hessian penalty); ``strict=True`` raises PyTorch's errors where an output
does not depend on an input. PyTorch's refusals stay: ``strategy="forward-mode"`` with
``create_graph=True`` or ``strict=True``, and ``strict=True`` with ``vectorize=True``.

>>> import chainrule as cr
>>> from chainrule.autograd.functional import jacobian
>>> jacobian(lambda x: x ** 2, cr.tensor([1.0, 2.0])).tolist()
[[2.0, 0.0], [0.0, 4.0]]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.autograd import _by_backward as by_backward
from chainrule.core.eager import EAGER
from chainrule.core.eager_backward import torch_convention
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


def _in_torch_convention(tree):
    """Complex gradients or cotangents in PyTorch's convention, from the transforms' or back."""
    return tree_map(torch_convention, tree)


def _scalar(func: Callable, name: str) -> Callable:
    """``func`` with its single-element output made 0-d, as PyTorch's Hessian wants."""
    def scalar_func(*args):
        out = func(*args)
        if isinstance(out, tuple) or np.size(out) != 1:
            raise RuntimeError(f"{name}: the function must return a Tensor with a single element")
        return out.reshape(())
    return scalar_func


def _structured(result: tuple, outputs_tuple: bool, inputs_tuple: bool):
    """PyTorch's structure of a tuple (per output) of tuples (per input)."""
    if not outputs_tuple:
        result = result[0]
        return result if inputs_tuple else result[0]
    return result if inputs_tuple else tuple(r[0] for r in result)


def _one(result: tuple, inputs_tuple: bool):
    return result if inputs_tuple else result[0]


def jacobian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs`` (a Tensor or a tuple of Tensors): one
    Tensor of shape ``out.shape + in.shape``, or tuples per output and per input.
    ``strategy`` is ``"reverse-mode"`` or ``"forward-mode"``; ``create_graph=True`` keeps
    the result on the inputs' graph.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> jacobian(lambda x: x ** 3, x, create_graph=True).trace().backward(); x.grad.tolist()
    [6.0, 12.0]
    """
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got {strategy!r}")
    if strategy == "forward-mode" and (create_graph or strict):
        raise (NotImplementedError if create_graph else RuntimeError)(
            f"jacobian: `{'create_graph' if create_graph else 'strict'}=True` and `strategy=\"forward-mode\"` "
            "are not supported together (as in PyTorch): use strategy='reverse-mode'")
    if strict and vectorize:
        raise RuntimeError("jacobian: `strict=True` and `vectorized=True` are not supported together (as in "
                           "PyTorch): set `strict=False` or `vectorize=False`")
    args, single = _inputs(inputs)
    if create_graph or strict:
        result, outputs_tuple = by_backward.jacobian(func, by_backward.as_tuple(args)[0], create_graph, strict)
        return _structured(result, outputs_tuple, not single)
    argnums = 0 if single else tuple(range(len(args)))
    if strategy == "forward-mode":
        return _result(jacobians.jacfwd(func, argnums)(*args))
    return _result(_in_torch_convention(jacobians.jacrev(func, argnums)(*args)))


def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of ``func`` (a single-element output) at ``inputs``: shape
    ``in.shape + in.shape``, or a tuple of tuples for a tuple of inputs;
    ``create_graph=True`` keeps it on the inputs' graph."""
    if outer_jacobian_strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError("hessian: outer_jacobian_strategy must be 'reverse-mode' or 'forward-mode', got "
                         f"{outer_jacobian_strategy!r}")
    args, single = _inputs(inputs)
    scalar = _scalar(func, "hessian")
    if create_graph or strict:
        if outer_jacobian_strategy == "forward-mode":
            raise (NotImplementedError if create_graph else RuntimeError)(
                "hessian: create_graph=True or strict=True with outer_jacobian_strategy='forward-mode' is not "
                "supported (as in PyTorch): use 'reverse-mode'")

        def gradient(*xs):
            (rows,), _ = by_backward.jacobian(scalar, xs, True, False)
            by_backward.require_grad(rows, "jacobian", strict)
            return rows

        result, _ = by_backward.jacobian(gradient, by_backward.as_tuple(args)[0], create_graph, strict)
        return _structured(result, not single, not single)
    argnums = 0 if single else tuple(range(len(args)))
    return _result(jacobians.hessian(scalar, argnums)(*args))


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False) -> tuple:
    """``(func(inputs), vᵀ J)``; ``v`` may be left out for a single-element output."""
    args, single = _inputs(inputs)
    if create_graph or strict:
        outputs, product, outputs_tuple = by_backward.vjp(func, by_backward.as_tuple(args)[0], v, create_graph,
                                                          strict)
        return _one(outputs, outputs_tuple), _one(product, not single)
    out, pull = reverse.vjp(func, *args)
    if v is None:
        if isinstance(out, tuple) or np.size(out) != 1:
            raise RuntimeError("vjp: give v, the cotangent of the output (it may be left out only for an "
                               "output with a single element)")
        v = np.ones(np.shape(out), np.result_type(out))
    cotangents = _in_torch_convention(pull(_in_torch_convention(v)))
    return _result(out), _result(cotangents[0] if single else tuple(cotangents))


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False) -> tuple:
    """``(func(inputs), J v)``; ``v`` may be left out for a single-element input."""
    args, single = _inputs(inputs)
    if create_graph or strict:
        outputs, product, outputs_tuple = by_backward.jvp(func, by_backward.as_tuple(args)[0], v, create_graph,
                                                          strict)
        return _one(outputs, outputs_tuple), _one(product, outputs_tuple)
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
    args, single = _inputs(inputs)
    if create_graph or strict:
        out, product = by_backward.hvp(func, by_backward.as_tuple(args)[0], v, create_graph, strict)
        return out, _one(product, not single)
    tangents, _ = _inputs(v)
    scalar = _scalar(func, "hvp")
    gradient = reverse.grad(scalar, 0 if single else tuple(range(len(args))))
    product = forward.jvp(gradient, args, tangents)[1]
    return _result(scalar(*args)), _result(_in_torch_convention(product))


def vhp(func: Callable, inputs, v, create_graph: bool = False, strict: bool = False) -> tuple:
    """``(func(inputs), vᵀ H)`` for a single-element output."""
    args, single = _inputs(inputs)
    if create_graph or strict:
        out, product = by_backward.vhp(func, by_backward.as_tuple(args)[0], v, create_graph, strict)
        return out, _one(product, not single)
    scalar = _scalar(func, "vhp")
    gradient = reverse.grad(scalar, 0 if single else tuple(range(len(args))))
    _, pull = reverse.vjp(gradient, *args)
    product = _in_torch_convention(pull(v))
    return _result(scalar(*args)), _result(product[0] if single else tuple(product))

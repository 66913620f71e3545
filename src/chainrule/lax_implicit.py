"""JAX's ``lax.custom_root`` and ``lax.custom_linear_solve``: a solver run forward, whose
derivatives come by implicit differentiation, so its own iterations are never differentiated.

The values that ``f`` or ``matvec`` read from closures, globals, ``functools.partial``
arguments or a bound method's object (the parameters of the equation, as JAX code writes
it) become arguments of a custom rule, as JAX's ``closure_convert``
makes them: the rule gives them their derivatives, under every transform, nested.

>>> import chainrule as cr
>>> def newton(f, x0):
...     for _ in range(20):
...         x0 = x0 - f(x0) / cr.grad(f)(x0)
...     return x0
>>> def sqrt(a):
...     return custom_root(lambda x: x ** 2 - a, 1.0, newton, lambda g, y: y / g(1.0))
>>> round(float(sqrt(2.0)), 12), float(cr.grad(sqrt)(4.0))
(1.414213562373, 0.25)
"""

from __future__ import annotations

import copy
import functools
import types
from collections.abc import Callable
from typing import Any

import chainrule.numpy as cnp
from chainrule.core.pytree import tree_flatten, tree_map, tree_unflatten
from chainrule.core.tensor import Tensor
from chainrule.numpy import zeros_like
from chainrule.transforms.custom import custom_jvp, custom_vjp, stop_gradient
from chainrule.transforms.forward import jvp
from chainrule.transforms.reverse import vjp
from chainrule.transforms.vmap import vmap

__all__ = ["custom_root", "custom_linear_solve"]


def _closure_convert(fun: Callable) -> tuple[list, Callable]:
    """``(consts, rebuild)``: the Tensors that ``fun`` reads from its closure (through the
    functions and ``functools.partial`` arguments there too), and ``rebuild(consts)``, the
    same function reading the given values in their place."""
    if isinstance(fun, functools.partial):
        inner, rebuild_inner = _closure_convert(fun.func)
        leaves, tree = tree_flatten((fun.args, fun.keywords))
        at = [k for k, v in enumerate(leaves) if isinstance(v, Tensor)]
        n = len(inner)

        def rebuild_partial(consts):
            new = list(leaves)
            for k, c in zip(at, consts[n:], strict=True):
                new[k] = c
            args, keywords = tree_unflatten(tree, new)
            return functools.partial(rebuild_inner(consts[:n]), *args, **keywords)

        return [*inner, *(leaves[k] for k in at)], rebuild_partial
    if isinstance(fun, types.MethodType):
        found, make = _tensors_in(fun.__self__)
        if not found:
            return [], lambda consts: fun
        return found, lambda consts: types.MethodType(fun.__func__, make(consts))
    if not isinstance(fun, types.FunctionType):
        return [], lambda consts: fun
    consts: list = []
    cells = fun.__closure__ or ()
    names = [n for n in fun.__code__.co_names if n in fun.__globals__]  # the globals it reads
    makers = []  # per cell, then per global: (number of consts, maker of the new value)
    for value in [*(_contents(cell) for cell in cells), *(fun.__globals__[n] for n in names)]:
        if value is fun or value is _EMPTY or isinstance(value, (type, types.ModuleType)):
            makers.append((0, None))  # (a function that calls itself; an empty cell)
            continue
        if isinstance(value, (types.FunctionType, functools.partial)):
            found, make = _closure_convert(value)
        else:
            found, make = _tensors_in(value)
        consts.extend(found)
        makers.append((len(found), make if found else None))
    if not consts:
        return [], lambda consts: fun

    def rebuild(new_consts):
        made, start = [], 0
        for n, make in makers:
            made.append(None if make is None else make(new_consts[start:start + n]))
            start += n
        new_cells = tuple(cell if m is None else types.CellType(v)
                          for cell, (_, m), v in zip(cells, makers, made, strict=False))
        new_globals = fun.__globals__
        replaced = {n: v for n, (_, m), v in zip(names, makers[len(cells):], made[len(cells):], strict=True)
                    if m is not None}
        if replaced:  # (a copy of the globals, reading the given values in place of those)
            new_globals = {**fun.__globals__, **replaced}
        new = types.FunctionType(fun.__code__, new_globals, fun.__name__, fun.__defaults__, new_cells or None)
        new.__kwdefaults__ = fun.__kwdefaults__
        return new

    return consts, rebuild


def _tensors_in(value) -> tuple[list, Callable]:
    """``(tensors, make)``: the Tensors among the leaves of the pytree ``value`` (or, for
    an object that is a leaf, among its attributes), and ``make(new)``, a copy of ``value``
    with ``new`` in their places."""
    leaves, tree = tree_flatten(value)
    if len(leaves) == 1 and leaves[0] is value and not isinstance(value, Tensor) and hasattr(value, "__dict__"):
        found, make_attrs = _tensors_in(dict(vars(value)))

        def make_object(new):
            copied = copy.copy(value)
            vars(copied).update(make_attrs(new))
            return copied

        return found, make_object
    at = [k for k, v in enumerate(leaves) if isinstance(v, Tensor)]

    def make(new_consts):
        new = list(leaves)
        for k, c in zip(at, new_consts, strict=True):
            new[k] = c
        return tree_unflatten(tree, new)

    return [leaves[k] for k in at], make


_EMPTY = object()


def _contents(cell):
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell (a name bound later)
        return _EMPTY


def _linear_transpose(matvec: Callable, like) -> Callable:
    """The transpose of the linear function ``matvec`` of values shaped as ``like``."""
    return lambda y: vjp(matvec, tree_map(zeros_like, like))[1](y)[0]


def custom_root(f: Callable, initial_guess: Any, solve: Callable, tangent_solve: Callable,
                has_aux: bool = False) -> Any:
    """A root of ``f`` found by ``solve(f, initial_guess)``, differentiated implicitly (JAX's
    ``lax.custom_root``): the derivative of the solution ``x*`` with respect to the values
    that ``f`` closes over is ``-tangent_solve(g, ∂f)``, where ``g`` is ``f`` linearised
    in ``x`` at ``x*``, and ``tangent_solve(g, y)`` solves ``g(x) = y``. The solver's
    iterations are not differentiated; ``initial_guess`` gets no derivative. With
    ``has_aux``, ``solve`` returns ``(solution, aux)``, and so does ``custom_root``
    (``aux`` has no derivative).
    """
    consts, rebuild = _closure_convert(f)
    guess = stop_gradient(initial_guess)

    def run(consts, x0):
        return solve(rebuild(consts), x0)

    root = custom_jvp(run)
    root.__name__ = "custom_root"

    @root.defjvp
    def root_jvp(primals, tangents):
        consts, x0 = primals
        out = root(consts, x0)
        solution = out[0] if has_aux else out
        _, rhs = jvp(lambda c: rebuild(c)(solution), (consts,), (tangents[0],))
        g = functools.partial(_linearised, rebuild(consts), solution)
        solution_dot = tree_map(cnp.negative, tangent_solve(g, rhs))
        if has_aux:
            return out, (solution_dot, tree_map(zeros_like, out[1]))
        return out, solution_dot

    return root(consts, guess)


def _linearised(f: Callable, x, t):
    return jvp(f, (x,), (t,))[1]


class _with_jvp(custom_vjp):
    """A custom vjp that has a jvp rule too, ``jvp_rule(primals, tangents)`` as
    ``custom_jvp``'s, so that forward mode uses the rule and reverse mode ``bwd``."""

    def __init__(self, fun: Callable, jvp_rule: Callable):
        super().__init__(fun)
        self.jvp_rule = jvp_rule

    def tangent(self, primals, tangents, in_tree):
        tangents = [zeros_like(p) if t is None else t for p, t in zip(primals, tangents, strict=True)]
        return self.jvp_rule(tuple(tree_unflatten(in_tree, primals)), tuple(tree_unflatten(in_tree, tangents)))

    def batched(self, in_axes, in_tree, axes):
        mapped = super().batched(in_axes, in_tree, axes)
        out = _with_jvp(mapped.fun, vmap(self.jvp_rule, (in_axes, in_axes)))
        out.__name__ = self.__name__
        out.defvjp(mapped.fwd, mapped.bwd)
        return out


def _linear_solve(rebuild: Callable, solve: Callable, transpose: Callable | None, has_aux: bool) -> _with_jvp:
    """``solve(matvec, b)`` as a function of ``(consts, b)`` (``matvec`` is
    ``rebuild(consts)``): its jvp solves again for the tangent, its vjp solves the
    transposed system (``transpose()``, another such function), so neither goes through
    the solver's iterations."""

    def solution(out):
        return out[0] if has_aux else out

    def run(consts, b):
        return solve(rebuild(consts), b)

    def jvp_rule(primals, tangents):
        (consts, b), (dconsts, db) = primals, tangents
        out = prim(consts, b)
        x = solution(out)
        _, matvec_dot = jvp(lambda c: rebuild(c)(x), (consts,), (dconsts,))
        x_dot = solution(prim(consts, tree_map(cnp.subtract, db, matvec_dot)))
        return out, ((x_dot, tree_map(zeros_like, out[1])) if has_aux else x_dot)

    def fwd(consts, b):
        out = prim(consts, b)
        return out, (consts, solution(out))

    def bwd(residuals, g):
        consts, x = residuals
        if transpose is None:
            raise TypeError("custom_linear_solve: reverse mode needs transpose_solve (or "
                            "symmetric=True, where solve serves for the transposed system)")
        lam = solution(transpose()(consts, solution(g)))
        cts_consts = vjp(lambda c: rebuild(c)(x), consts)[1](lam)[0]
        return tree_map(cnp.negative, cts_consts), lam

    prim = _with_jvp(run, jvp_rule)
    prim.__name__ = "custom_linear_solve"
    prim.defvjp(fwd, bwd)
    return prim


def custom_linear_solve(matvec: Callable, b: Any, solve: Callable, transpose_solve: Callable | None = None,
                        symmetric: bool = False, has_aux: bool = False) -> Any:
    """``solve(matvec, b)``, the solution ``x`` of ``matvec(x) = b``, differentiated
    implicitly (JAX's ``lax.custom_linear_solve``): forward mode solves again for the
    tangent (``solve(matvec, ḃ - ṁatvec(x))``), reverse mode solves the transposed system
    with ``transpose_solve(vecmat, x̄)`` (``solve`` where ``symmetric``), so the solver's
    iterations are never differentiated. The values ``matvec`` closes over (the matrix)
    get their derivatives. With ``has_aux``, ``solve`` returns ``(x, aux)`` and so does
    this (``aux`` has no derivative).
    """
    consts, rebuild = _closure_convert(matvec)
    prims: list = []  # the solve of the system, and of the transposed one (made when needed)

    def transposed() -> _with_jvp:
        if len(prims) == 1:
            prims.append(_linear_solve(lambda c: _linear_transpose(rebuild(c), b), transpose_solve,
                                       lambda: prims[0], has_aux))
        return prims[1]

    if symmetric:
        prims.append(_linear_solve(rebuild, solve, lambda: prims[0], has_aux))
    else:
        prims.append(_linear_solve(rebuild, solve, None if transpose_solve is None else transposed, has_aux))
    return prims[0](consts, b)

"""Custom derivatives, stopping gradients, and rematerialisation (``checkpoint``)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from chainrule.core.primitive import Primitive, def_jvps, def_vjps
from chainrule.core.pytree import tree_flatten, tree_map, tree_unflatten
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.trace import EAGER, EagerNode, ForwardTrace, project_outputs
from chainrule.transforms.vmap import batch_by_mapping, batch_custom_vjp

__all__ = ["stop_gradient", "custom_vjp", "custom_jvp", "checkpoint"]


def stop_gradient(x: Tensor | object) -> Tensor | object:
    """``x`` as a constant: no derivative of any order flows through it.

    >>> import chainrule as cr
    >>> float(cr.grad(lambda x: x * cr.stop_gradient(x))(3.0))
    3.0
    """
    return tree_map(lambda v: undifferentiated(v) if isinstance(v, Tensor) else v, x)


def _top_trace(leaves):
    top = None
    for v in leaves:
        if isinstance(v, Tensor) and (top is None or v._trace.level > top.level):
            top = v._trace
    return top


def _zeros_like(x):
    import chainrule.numpy as cnp

    return cnp.zeros_like(x)


class custom_vjp:
    """A function whose reverse-mode derivative you supply (JAX's ``custom_vjp``).

    ``f.defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)`` and
    ``bwd(residuals, g) -> tuple`` with one cotangent per positional argument.
    Outer transforms of a nested differentiation differentiate ``fwd`` and ``bwd`` as
    ordinary code. Forward mode is not available (define ``custom_jvp`` instead).

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> @cr.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (cnp.clip(g, -1, 1),))
    >>> float(cr.grad(lambda x: 5 * clip_gradient(x))(2.0))
    1.0
    """

    def __init__(self, fun: Callable):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        self.fwd, self.bwd = fwd, bwd

    def forward_mode(self, *args):
        raise TypeError(
            f"{self.__name__} has a custom vjp only, so forward mode (jvp, jacfwd, hessian) "
            "cannot differentiate it; use reverse mode, or give it a custom_jvp"
        )

    def __call__(self, *args):
        if self.fwd is None:
            raise TypeError(f"{self.__name__}: call .defvjp(fwd, bwd) before using it")
        leaves, in_tree = tree_flatten(args)
        top = _top_trace(leaves)
        if top is None or top.records:  # chainrule.jit records fun's own calls
            return self.fun(*args)
        if isinstance(top, ForwardTrace):
            return self.forward_mode(*args)
        if top.batches:  # under vmap: fwd and bwd mapped over the batch
            return batch_custom_vjp(self, top, args)
        vals, parents = [], []
        for i, v in enumerate(leaves):
            if isinstance(v, Tensor) and v._trace is top:
                vals.append(v._value)
                if v._node is not None:
                    parents.append((i, v._node))
            else:
                vals.append(v)
        if top is EAGER and not (parents and EAGER.grad_enabled):
            return self.fun(*tree_unflatten(in_tree, vals))
        out, residuals = self.fwd(*tree_unflatten(in_tree, vals))
        out_leaves, out_tree = tree_flatten(out)
        prim = self._node_primitive(residuals, in_tree, out_tree, len(leaves))
        ans = tuple(out_leaves) if prim.multiple_outputs else out_leaves[0]
        if top is EAGER:
            node = EagerNode(prim, parents, vals, {}, ans, leaves)
            node.stamp = EAGER.clock
            tape = None
        else:
            tape = top.tape
            tape.append((prim, parents, vals, {}, ans))
            node = len(tape) - 1
        boxed = (
            project_outputs(top, node, ans, tape)
            if prim.multiple_outputs
            else (Tensor(ans, top, node),)
        )
        return tree_unflatten(out_tree, list(boxed))

    def _node_primitive(self, residuals, in_tree, out_tree, n_in: int) -> Primitive:
        """A one-off primitive whose vjp rules call ``bwd`` once per backward pass."""
        bwd = self.bwd
        n_out = out_tree.num_leaves
        prim = Primitive(self.fun, name=self.__name__, multiple_outputs=n_out > 1)
        last = [None, None]  # the cotangent seen last, and what bwd made of it

        def rule(i):
            def vjp_i(g, ans, *args):
                if last[0] is not g:
                    gs = g if n_out > 1 else [g]
                    gs = [
                        _zeros_like(a) if c is None else c
                        for c, a in zip(gs, _as_list(ans, n_out), strict=True)
                    ]
                    cts = bwd(residuals, tree_unflatten(out_tree, gs))
                    if not isinstance(cts, tuple | list) or len(cts) != len(in_tree.children):
                        raise TypeError(
                            f"{self.__name__}: bwd must return a tuple with one cotangent per "
                            f"positional argument ({len(in_tree.children)})"
                        )
                    last[0], last[1] = g, _align(cts, in_tree)
                c = last[1][i]
                return _zeros_like(args[i]) if c is None else c

            return vjp_i

        def_vjps(prim, *(rule(i) for i in range(n_in)))
        return prim


def _as_list(ans, n):
    return list(ans) if n > 1 else [ans]


def _align(cts, in_tree):
    """Flatten ``bwd``'s cotangents against the input structure; ``None`` entries stand
    for a whole argument without a cotangent."""
    flat = []
    for ct, sub in zip(cts, in_tree.children, strict=True):
        if ct is None:
            flat.extend([None] * sub.num_leaves)
        else:
            flat.extend(tree_flatten(ct)[0])
    return flat


class custom_jvp:
    """A function whose forward-mode derivative you supply (JAX's ``custom_jvp``).

    ``f.defjvp(rule)`` with ``rule(primals, tangents) -> (out, tangent_out)``. Reverse
    mode works too: its vjp is obtained by transposing your (linear) tangent map with
    reverse mode, so write the rule with ``chainrule.numpy``.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> @cr.custom_jvp
    ... def log1pexp(x):
    ...     return cnp.log1p(cnp.exp(x))
    >>> @log1pexp.defjvp
    ... def log1pexp_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return log1pexp(x), t * (1 - 1 / (1 + cnp.exp(x)))
    >>> float(cr.grad(log1pexp)(100.0))
    1.0
    """

    def __init__(self, fun: Callable):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.rule: Callable | None = None
        self.prim: Primitive | None = None

    def defjvp(self, rule: Callable) -> Callable:
        self.rule = rule
        prim = Primitive(lambda *a: self.fun(*a), name=self.__name__)

        def jvp_i(i):
            def tangent(t, ans, *args):
                ts = [_zeros_like(a) for a in args]
                ts[i] = t
                return rule(tuple(args), tuple(ts))[1]

            return tangent

        self._jvp_i = jvp_i
        prim.batch = batch_by_mapping(self.fun)
        self.prim = prim
        return rule

    def __call__(self, *args):
        if self.prim is None:
            raise TypeError(f"{self.__name__}: call .defjvp(rule) before using it")
        prim = self.prim
        for i in range(len(args)):
            if i not in prim.jvps:
                def_jvps(prim, self._jvp_i(i), argnums=(i,))
        return prim(*args)


def checkpoint(fun: Callable) -> Callable:
    """``fun``, but its intermediate values are recomputed in the backward pass instead
    of stored: memory for time. Arguments are arrays (or pytrees of arrays).

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> block = cr.checkpoint(lambda h: cnp.tanh(cnp.tanh(h)))
    >>> cr.grad(lambda h: cnp.sum(block(h)))(np.zeros(2))
    array([1., 1.])
    """
    from chainrule.transforms.reverse import vjp

    remat = custom_vjp(fun)
    remat.defvjp(lambda *args: (fun(*args), args), lambda args, g: vjp(fun, *args)[1](g))
    remat.forward_mode = fun  # forward mode stores nothing, so it just runs fun
    return functools.wraps(fun)(lambda *args: remat(*args))

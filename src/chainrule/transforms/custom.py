"""Custom derivatives, stopping gradients, and rematerialisation (``checkpoint``)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

import chainrule.numpy as cnp
from chainrule.core.primitive import CompositePrimitive, Primitive, def_jvps, def_vjps
from chainrule.core.pytree import tree_flatten, tree_map, tree_unflatten
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy import zeros_like
from chainrule.transforms.reverse import vjp
from chainrule.transforms.vmap import vmap

__all__ = ["stop_gradient", "custom_vjp", "custom_jvp", "checkpoint"]


def stop_gradient(x: Tensor | object) -> Tensor | object:
    """``x`` as a constant: no derivative of any order flows through it.

    >>> import chainrule as cr
    >>> float(cr.grad(lambda x: x * cr.stop_gradient(x))(3.0))
    3.0
    """
    return tree_map(lambda v: undifferentiated(v) if isinstance(v, Tensor) else v, x)


class custom_vjp(CompositePrimitive):
    """A function whose reverse-mode derivative you supply (JAX's ``custom_vjp``).

    ``f.defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)`` and
    ``bwd(residuals, g) -> tuple`` with one cotangent per positional argument (None for
    none). Arguments and outputs may be pytrees. Outer transforms of a nested
    differentiation differentiate ``fwd`` and ``bwd`` as ordinary code; a trace with no
    derivative to take (``chainrule.jit`` outside ``grad``) runs ``f`` itself. Forward
    mode is not available (define ``custom_jvp`` instead).

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> @cr.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (cnp.clip(g, -1, 1),))
    >>> float(cr.grad(lambda x: 5 * clip_gradient(x))(2.0))
    1.0
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        super().__init__(fun)
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None
        self.nondiff_argnums = tuple(nondiff_argnums)

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args):
        if self.fwd is None:
            raise TypeError(f"{self.__name__}: call .defvjp(fwd, bwd) before using it")
        if self.nondiff_argnums:  # JAX's bwd(*nondiff, residuals, g), for the others only
            static, full, diff = _split_nondiff(self.nondiff_argnums, args)
            inner = custom_vjp(lambda *d: self.fun(*full(d)))
            inner.__name__ = self.__name__
            inner.defvjp(lambda *d: self.fwd(*full(d)), lambda res, g: self.bwd(*static, res, g))
            return inner(*diff)
        return super().__call__(*args)

    def tangent(self, primals, tangents, in_tree):
        raise TypeError(
            f"{self.__name__} has a custom vjp only, so forward mode (jvp, jacfwd, hessian) "
            "cannot differentiate it; use reverse mode, or give it a custom_jvp"
        )

    def batched(self, in_axes, in_tree, axes):
        bwd = self.bwd

        def batch_bwd(residuals, g):
            out, first = [], 0
            for ct, sub in zip(vmap(bwd)(residuals, g), in_tree.children, strict=True):
                if ct is not None:
                    # an argument shared by every example gets the sum of their cotangents
                    ct_leaves, ct_tree = tree_flatten(ct)
                    ct = tree_unflatten(ct_tree, [
                        c if axes[first + k] == 0 else cnp.sum(c, axis=0)
                        for k, c in enumerate(ct_leaves)
                    ])
                out.append(ct)
                first += sub.num_leaves
            return tuple(out)

        mapped = custom_vjp(vmap(self.fun, in_axes))
        mapped.__name__ = self.__name__
        mapped.defvjp(vmap(self.fwd, in_axes), batch_bwd)
        return mapped

    def reverse(self, leaves, in_tree):
        out, residuals = self.fwd(*tree_unflatten(in_tree, leaves))
        return out, self._call_rules(residuals, in_tree, tree_flatten(out)[1])

    def _call_rules(self, residuals, in_tree, out_tree) -> Primitive:
        """The rules of one call: a one-off primitive whose vjp rules (one per argument
        leaf) call ``bwd`` once per backward pass, on this call's residuals."""
        bwd, in_leaves = self.bwd, in_tree.num_leaves
        n_out = out_tree.num_leaves
        fun = self.fun

        def flat_fun(*leaves):  # the call on flat leaves (an eager create_graph recomputes)
            out = tree_flatten(fun(*tree_unflatten(in_tree, leaves)))[0]
            return tuple(out) if n_out > 1 else out[0]

        rules = Primitive(flat_fun, name=self.__name__, multiple_outputs=n_out > 1)
        last = [None, None]  # the cotangent seen last, and what bwd made of it

        def rule(i):
            def vjp_i(g, ans, *args):
                if last[0] is not g:
                    gs = list(g) if n_out > 1 else [g]
                    outs = list(ans) if n_out > 1 else [ans]
                    gs = [zeros_like(a) if c is None else c for c, a in zip(gs, outs, strict=True)]
                    cts = bwd(residuals, tree_unflatten(out_tree, gs))
                    if not isinstance(cts, tuple | list) or len(cts) != len(in_tree.children):
                        raise TypeError(
                            f"{self.__name__}: bwd must return a tuple with one cotangent per "
                            f"positional argument ({len(in_tree.children)})"
                        )
                    last[0], last[1] = g, _align(cts, in_tree)
                c = last[1][i]
                return zeros_like(args[i]) if c is None else c

            return vjp_i

        def_vjps(rules, *(rule(i) for i in range(in_leaves)))
        return rules


def _split_nondiff(nondiff_argnums, args):
    """``(static, full, diff)`` for a call with ``nondiff_argnums``: the arguments at those
    positions, a function putting them back among the others, and the others."""
    positions = {operator.index(i) % len(args) for i in nondiff_argnums}
    static = [args[i] for i in sorted(positions)]
    diff = [a for i, a in enumerate(args) if i not in positions]

    def full(d):
        rest = iter(d)
        return [args[i] if i in positions else next(rest) for i in range(len(args))]

    return static, full, diff


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


class custom_jvp(CompositePrimitive):
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

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        super().__init__(fun)
        self.rule: Callable | None = None
        self._rules_by_tree: list = []
        self.nondiff_argnums = tuple(nondiff_argnums)

    def defjvp(self, rule: Callable) -> Callable:
        self.rule = rule
        self._rules_by_tree = []
        return rule

    def __call__(self, *args):
        if self.rule is None:
            raise TypeError(f"{self.__name__}: call .defjvp(rule) before using it")
        if self.nondiff_argnums:  # JAX's rule(*nondiff, primals, tangents) of the others
            static, full, diff = _split_nondiff(self.nondiff_argnums, args)
            inner = custom_jvp(lambda *d: self.fun(*full(d)))
            inner.__name__ = self.__name__
            inner.defjvp(lambda primals, tangents: self.rule(*static, primals, tangents))
            return inner(*diff)
        return super().__call__(*args)

    def tangent(self, primals, tangents, in_tree):
        tangents = [zeros_like(p) if t is None else t for p, t in zip(primals, tangents, strict=True)]
        return self.rule(
            tuple(tree_unflatten(in_tree, primals)), tuple(tree_unflatten(in_tree, tangents))
        )

    def batched(self, in_axes, in_tree, axes):
        mapped = custom_jvp(vmap(self.fun, in_axes))
        mapped.__name__ = self.__name__
        mapped.defjvp(vmap(self.rule, (in_axes, in_axes)))
        return mapped

    def reverse(self, leaves, in_tree):
        out = self.fun(*tree_unflatten(in_tree, leaves))
        return out, self._rules(in_tree)

    def _rules(self, in_tree) -> Primitive:
        """A primitive with the rule as its jvp rules, one per argument leaf (the others'
        tangents zero); its vjp rules are their transposes, derived when first needed."""
        for tree, rules in self._rules_by_tree:  # argument structures seen so far
            if tree == in_tree:
                return rules
        fun, rule = self.fun, self.rule

        def flat_fun(*leaves):
            return fun(*tree_unflatten(in_tree, leaves))

        rules = Primitive(flat_fun, name=self.__name__)

        def jvp_i(i):
            def tangent(t, ans, *leaves):
                ts = [zeros_like(a) for a in leaves]
                ts[i] = t
                return rule(
                    tuple(tree_unflatten(in_tree, list(leaves))), tuple(tree_unflatten(in_tree, ts))
                )[1]

            return tangent

        def_jvps(rules, *(jvp_i(i) for i in range(in_tree.num_leaves)))
        self._rules_by_tree.append((in_tree, rules))
        return rules


class checkpoint_call(custom_vjp):
    """``fun`` whose intermediate values are recomputed in the backward pass: a custom
    vjp that keeps only the arguments, and runs ``fun`` as it is in forward mode."""

    def __init__(self, fun: Callable):
        super().__init__(fun)
        self.defvjp(lambda *args: (fun(*args), args), lambda args, g: vjp(fun, *args)[1](g))

    def tangent(self, primals, tangents, in_tree):
        return None  # forward mode stores nothing, so it just runs fun

    def batched(self, in_axes, in_tree, axes):
        return checkpoint_call(vmap(self.fun, in_axes))


def checkpoint(fun: Callable) -> Callable:
    """``fun``, but its intermediate values are recomputed in the backward pass instead
    of stored: memory for time. Arguments are arrays (or pytrees of arrays).

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> block = cr.checkpoint(lambda h: cnp.tanh(cnp.tanh(h)))
    >>> cr.grad(lambda h: cnp.sum(block(h)))(np.zeros(2))
    array([1., 1.])
    """
    return checkpoint_call(fun)

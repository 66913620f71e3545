"""Custom derivatives, stopping gradients, and rematerialisation (``checkpoint``)."""

from __future__ import annotations

import contextlib
import functools
import inspect
import operator
from collections.abc import Callable, Sequence

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.composite import NO_TANGENT, CompositePrimitive
from chainrule.core.eager import enable_grad, nested_backward, no_grad, tensor
from chainrule.core.primitive import MissingRule, Primitive, def_joint_vjp, def_jvps, def_vjps
from chainrule.core.pytree import tree_children, tree_flatten, tree_map, tree_unflatten
from chainrule.core.rng import default_generator
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.trace import grad_enabled
from chainrule.numpy import zeros_like
from chainrule.transforms.reverse import vjp
from chainrule.transforms.symbolic_zeros import CustomVJPPrimal, SymbolicZero, vmap_rule
from chainrule.transforms.vmap import vmap

__all__ = [
    "stop_gradient", "custom_vjp", "custom_jvp", "custom_gradient", "checkpoint", "remat",
    "checkpoint_policies",
]


def stop_gradient(x: Tensor | object) -> Tensor | object:
    """``x`` as a constant: no derivative of any order flows through it.

    >>> import chainrule as cr
    >>> float(cr.grad(lambda x: x * cr.stop_gradient(x))(3.0))
    3.0
    """
    return tree_map(lambda v: _stopped(v) if isinstance(v, Tensor) else v, x)


def _stopped(v: Tensor):
    v = undifferentiated(v)
    # an eager Tensor is its array (jit's value of one: a variable that is not an eager Tensor)
    return v._trace.as_array(v) if isinstance(v, Tensor) and v._trace.records else v


class NoForwardMode(MissingRule, TypeError):
    """Forward mode of a function with a custom vjp only: a TypeError, as JAX raises, and a
    missing forward rule, so that ``jacobian``, ``hessian`` and ``hessian_vector_product``
    take reverse mode for it, as JAX's ``jacobian`` (``jacrev``) and HIPS autograd's do."""


def _differentiating_trace(out):
    """The trace that differentiates a leaf of ``out`` (a reverse- or forward-mode one, or
    the eager layer's for a Tensor that requires grad), or None."""
    for leaf in tree_flatten(out)[0]:
        if isinstance(leaf, Tensor):
            trace = leaf.differentiated_by()
            if trace is None and leaf._trace.level == 0 and leaf.requires_grad:
                trace = leaf._trace
            if trace is not None:
                return trace
    return None


class custom_vjp(CompositePrimitive):
    """A function whose reverse-mode derivative you supply (JAX's ``custom_vjp``).

    ``f.defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)`` and
    ``bwd(residuals, g) -> tuple`` with one cotangent per positional argument (None for
    none). Arguments and outputs may be pytrees. As in JAX, keyword arguments of a call
    are bound to ``f``'s parameters and passed by position, defaults included, so ``fwd``
    and ``bwd`` see every parameter of ``f``. Outer transforms of a nested
    differentiation differentiate ``fwd`` and ``bwd`` as ordinary code; a trace with no
    derivative to take (``chainrule.jit`` outside ``grad``) runs ``f`` itself. Forward
    mode is not available (define ``custom_jvp`` instead).

    With ``defvjp(fwd, bwd, symbolic_zeros=True)``, as in JAX, ``fwd`` receives each
    argument leaf as a :class:`CustomVJPPrimal` ``(value, perturbed)``, ``bwd`` receives a
    :class:`SymbolicZero` as the cotangent of each output that is not used, and may return
    one (or None) for an argument's cotangent.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> @cr.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (cnp.clip(g, -1, 1),))
    >>> float(cr.grad(lambda x: 5 * clip_gradient(x))(2.0))
    1.0
    """

    closure_is_an_error = True  # (a checkpoint's body may read values from a closure)

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        super().__init__(fun)
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None
        self.symbolic_zeros = False
        self._perturbed: list | None = None  # of the call being made (symbolic_zeros only)
        self.nondiff_argnums = tuple(nondiff_argnums)
        self._binding = None  # (signature, number of positional parameters), when first called

    def defvjp(self, fwd: Callable, bwd: Callable, symbolic_zeros: bool = False,
               optimize_remat: bool = False) -> None:
        if symbolic_zeros and optimize_remat:
            raise NotImplementedError(f"{self.__name__}: optimize_remat=True does not support "
                                      "symbolic_zeros=True; set only one of them")
        self.fwd, self.bwd, self.symbolic_zeros = fwd, bwd, bool(symbolic_zeros)

    def __call__(self, *args, **kwargs):
        if self.fwd is None:
            raise TypeError(f"{self.__name__}: call .defvjp(fwd, bwd) before using it")
        args = _positional(self, args, kwargs)
        if self.nondiff_argnums:
            static, full, diff = _split_nondiff(self.nondiff_argnums, args)
            return self._of_differentiated(static, full)(*diff)
        if self.symbolic_zeros:
            self._perturbed = perturbed_leaves(args)
        out = super().__call__(*args)
        if self.closure_is_an_error and not any(isinstance(a, Tensor) for a in tree_flatten(args)[0]):
            # no argument is differentiated, so no trace saw the call, and the body ran as
            # it is: an output being differentiated came from a closure (as JAX's does, the
            # rules, made from the arguments, cannot give that value its derivative)
            trace = _differentiating_trace(out)
            if trace is not None:
                self.closed_over(trace, args)
        return out

    def _of_differentiated(self, static: list, full: Callable) -> custom_vjp:
        """The same function of the differentiated arguments alone, the ``nondiff_argnums``
        fixed at ``static``: JAX's ``bwd(*nondiff, residuals, g)`` for the others only."""
        inner = custom_vjp(lambda *d: self.fun(*full(d)))
        inner.__name__ = self.__name__
        inner.defvjp(lambda *d: self.fwd(*full(d)), lambda res, g: self.bwd(*static, res, g),
                     symbolic_zeros=self.symbolic_zeros)
        return inner

    def tangent(self, primals, tangents, in_tree):
        raise NoForwardMode(
            f"{self.__name__} has a custom vjp only, so forward mode (jvp, jacfwd) "
            "cannot differentiate it; use reverse mode, or give it a custom_jvp", "fwd"
        )

    def batched(self, in_axes, in_tree, axes):
        bwd, symbolic = self.bwd, self.symbolic_zeros

        def batch_bwd(residuals, g):
            out, first = [], 0
            if symbolic:  # (a SymbolicZero cotangent of the batch's shape: each example's own)
                cts = vmap_rule(bwd, [0] * len(tree_flatten((residuals, g))[0]))(residuals, g)
            else:
                cts = vmap(bwd)(residuals, g)
            for ct, sub in zip(cts, in_tree.subtrees, strict=True):
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
        fwd = vmap_rule(self.fwd, axes) if symbolic else vmap(self.fwd, in_axes)
        mapped.defvjp(fwd, batch_bwd, symbolic_zeros=symbolic)
        return mapped

    def reverse(self, leaves, in_tree):
        args = leaves
        if self.symbolic_zeros:
            perturbed = self._perturbed
            if perturbed is None or len(perturbed) != len(leaves):
                perturbed = [True] * len(leaves)
            args = [CustomVJPPrimal(v, p) for v, p in zip(leaves, perturbed, strict=True)]
        out, residuals = self.fwd(*tree_unflatten(in_tree, args))
        return out, self._call_rules(residuals, in_tree, tree_flatten(out)[1])

    def _call_rules(self, residuals, in_tree, out_tree) -> Primitive:
        """The rules of one call: a one-off primitive whose vjp rules (one per argument
        leaf) call ``bwd`` once per backward pass, on this call's residuals."""
        bwd, in_leaves, symbolic = self.bwd, in_tree.num_leaves, self.symbolic_zeros
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
                    zero = SymbolicZero.from_primal_value if symbolic else zeros_like
                    gs = [zero(a) if c is None else c for c, a in zip(gs, outs, strict=True)]
                    cts = bwd(residuals, tree_unflatten(out_tree, gs))
                    if not isinstance(cts, tuple | list) or len(cts) != len(in_tree.subtrees):
                        raise TypeError(
                            f"{self.__name__}: bwd must return a tuple with one cotangent per "
                            f"positional argument ({len(in_tree.subtrees)})"
                        )
                    flat_cts = _align(cts, in_tree, args, self.__name__)
                    last[0] = g
                    last[1] = [None if isinstance(c, SymbolicZero) else c for c in flat_cts]
                c = last[1][i]
                return zeros_like(args[i]) if c is None else c

            return vjp_i

        def_vjps(rules, *(rule(i) for i in range(in_leaves)))
        return rules


def custom_gradient(fun: Callable) -> custom_vjp:
    """JAX's ``custom_gradient``: ``fun(*args)`` returns ``(value, vjp)``, where
    ``vjp(g)`` gives the cotangents of the arguments (a tuple, or one value for a function
    of one argument). A :class:`custom_vjp` whose ``fwd`` and ``bwd`` are both in ``fun``.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> @cr.custom_gradient
    ... def log1pexp(x):
    ...     e = cnp.exp(x)
    ...     return cnp.log1p(e), lambda g: g * (1 - 1 / (1 + e))
    >>> float(cr.grad(log1pexp)(0.0))
    0.5
    """

    def primal(*args):
        return fun(*args)[0]

    functools.update_wrapper(primal, fun)  # fun's name, and its signature for keywords

    def bwd(vjp_of_call, g):
        cotangents = vjp_of_call(g)
        return cotangents if isinstance(cotangents, tuple) else (cotangents,)

    wrapped = custom_vjp(primal)
    wrapped.defvjp(fun, bwd)
    return wrapped


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


def _align(cts, in_tree, leaves, name: str) -> list:
    """Flatten ``bwd``'s cotangents against the input structure, as JAX reads them:
    ``None`` stands for no cotangent (of a whole argument, or of a part of it), and every
    other cotangent has the structure, and each leaf the shape, of its argument."""
    flat: list = []
    for p, (ct, sub) in enumerate(zip(cts, in_tree.subtrees, strict=True)):
        if not _cotangent_leaves(ct, sub, flat):
            raise TypeError(
                f"{name}: bwd returned {ct!r} as the cotangent of argument {p}, whose structure "
                f"is {sub!r}; give it the argument's structure (None: no cotangent)")
    starts = [0]
    for sub in in_tree.subtrees:
        starts.append(starts[-1] + sub.num_leaves)
    for k, (ct, arg) in enumerate(zip(flat, leaves, strict=True)):
        if ct is None:
            continue
        have, want = _shape(ct), _shape(arg)
        if have != want and _dtype(arg).kind in "fc":
            p = next(p for p in range(len(cts)) if k < starts[p + 1])
            raise ValueError(
                f"{name}: bwd returned a cotangent of shape {have} for argument {p}"
                + (f" (leaf {k - starts[p]})" if starts[p + 1] - starts[p] > 1 else "")
                + f", which has shape {want}; each cotangent must have its argument's shape "
                "(as in JAX): sum a broadcast cotangent back to it")
    return flat


def _cotangent_leaves(ct, treedef, out: list) -> bool:
    """Append the leaves of cotangent ``ct`` for an argument of structure ``treedef`` (None
    for each leaf under a None); False if ``ct`` has another structure."""
    if ct is None:
        out.extend([None] * treedef.num_leaves)
        return True
    if treedef.kind is None:
        out.append(ct)
        return True
    node = tree_children(ct)
    if node is None or node[0] is not treedef.kind or len(node[2]) != len(treedef.subtrees):
        return False
    try:
        if not node[1] == treedef.aux:
            return False
    except Exception:  # an aux that does not compare (arrays): the kinds and lengths agree
        pass
    return all(_cotangent_leaves(c, t, out) for c, t in zip(node[2], treedef.subtrees, strict=True))


def _shape(x) -> tuple:
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def _dtype(x) -> np.dtype:
    return x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype


class custom_jvp(CompositePrimitive):
    """A function whose forward-mode derivative you supply (JAX's ``custom_jvp``).

    ``f.defjvp(rule)`` with ``rule(primals, tangents) -> (out, tangent_out)``, or
    ``f.defjvps(*rules)`` with one ``rule(t, ans, *args)`` per positional argument (None
    for an argument with no derivative); keyword arguments of a call are bound to
    positions as for :class:`custom_vjp`. Reverse mode works too: its vjp is obtained by
    transposing your (linear) tangent map with reverse mode, so write the rule with
    ``chainrule.numpy``. With ``defjvp(rule, symbolic_zeros=True)``, as in JAX, the rule
    receives a :class:`SymbolicZero` as the tangent of each argument the transform does not
    perturb, and may return one as the output's tangent.

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
        self.symbolic_zeros = False
        self._rules_by_tree: list = []
        self.nondiff_argnums = tuple(nondiff_argnums)
        self._binding = None  # (signature, number of positional parameters), when first called

    def defjvp(self, rule: Callable, symbolic_zeros: bool = False) -> Callable:
        self.rule, self.symbolic_zeros = rule, bool(symbolic_zeros)
        self._rules_by_tree = []
        return rule

    def defjvps(self, *rules: Callable | None) -> None:
        """One tangent rule per positional argument, ``rule(t, ans, *args)``, each linear in
        ``t``; the output's tangent is their sum (JAX's ``defjvps``).

        >>> import chainrule as cr
        >>> @cr.custom_jvp
        ... def mul(x, y):
        ...     return x * y
        >>> mul.defjvps(lambda t, ans, x, y: t * y, lambda t, ans, x, y: x * t)
        >>> [float(d) for d in cr.grad(mul, argnums=(0, 1))(2.0, 3.0)]
        [3.0, 2.0]
        """

        def rule(primals, tangents):
            if len(rules) != len(primals):
                raise TypeError(f"{self.__name__}: defjvps was given {len(rules)} rules for a "
                                f"call with {len(primals)} positional arguments; give one per "
                                "argument (None for an argument without a derivative)")
            ans = self(*primals)
            parts = [r(t, ans, *primals) for r, t in zip(rules, tangents, strict=True) if r is not None]
            if not parts:
                return ans, tree_map(zeros_like, ans)
            return ans, tree_map(lambda *ts: sum(ts[1:], ts[0]), *parts)

        self.defjvp(rule)

    def __call__(self, *args, **kwargs):
        if self.rule is None:
            raise TypeError(f"{self.__name__}: call .defjvp(rule) before using it")
        args = _positional(self, args, kwargs)
        if self.nondiff_argnums:  # JAX's rule(*nondiff, primals, tangents) of the others
            static, full, diff = _split_nondiff(self.nondiff_argnums, args)
            inner = custom_jvp(lambda *d: self.fun(*full(d)))
            inner.__name__ = self.__name__
            inner.defjvp(lambda primals, tangents: self.rule(*static, primals, tangents),
                         symbolic_zeros=self.symbolic_zeros)
            return inner(*diff)
        return super().__call__(*args)

    def tangent(self, primals, tangents, in_tree):
        zero = SymbolicZero.from_primal_value if self.symbolic_zeros else zeros_like
        tangents = [zero(p) if t is None else t for p, t in zip(primals, tangents, strict=True)]
        return self._checked(self.rule(
            tuple(tree_unflatten(in_tree, primals)), tuple(tree_unflatten(in_tree, tangents))
        ), instantiate=False)

    def _checked(self, result, instantiate: bool = True):
        """The rule's ``(out, tangent_out)``, checked as JAX checks it: a pair whose tangent
        has the output's structure and, leaf by leaf, its shape; else a TypeError. A
        SymbolicZero in the tangent becomes zeros, or (``instantiate`` False, for the
        forward trace) NO_TANGENT: that output stays unperturbed, as in JAX."""
        if not isinstance(result, tuple | list) or len(result) != 2:
            raise TypeError(f"{self.__name__}: the jvp rule must return a pair (output, tangent of "
                            f"the output), got {type(result).__name__}")
        out, t_out = result
        out_leaves, out_tree = tree_flatten(out)
        t_leaves, t_tree = tree_flatten(t_out)
        if t_tree != out_tree:
            raise TypeError(f"{self.__name__}: the jvp rule returned a tangent structured as {t_tree} "
                            f"for an output structured as {out_tree}; give them the same structure")
        for k, (o, t) in enumerate(zip(out_leaves, t_leaves, strict=True)):
            if _shape(o) != _shape(t):
                where = f" (leaf {k})" if len(out_leaves) > 1 else ""
                raise TypeError(f"{self.__name__}: the jvp rule returned a tangent of shape {_shape(t)} for "
                                f"an output of shape {_shape(o)}{where}; as in JAX, each tangent must "
                                "have its output's shape")
        if any(isinstance(t, SymbolicZero) for t in t_leaves):
            t_out = tree_unflatten(out_tree, [
                (zeros_like(o) if instantiate else NO_TANGENT) if isinstance(t, SymbolicZero) else t
                for o, t in zip(out_leaves, t_leaves, strict=True)])
            return out, t_out
        return result

    def batched(self, in_axes, in_tree, axes):
        mapped = custom_jvp(vmap(self.fun, in_axes))
        mapped.__name__ = self.__name__
        if self.symbolic_zeros:
            mapped.defjvp(vmap_rule(self.rule, axes + axes, keep_zeros=True), symbolic_zeros=True)
        else:
            mapped.defjvp(vmap(self.rule, (in_axes, in_axes)))
        return mapped

    def reverse(self, leaves, in_tree):
        # the output through the traces below (an outer grad's) as this function again, not
        # its body: they differentiate it by the rule too, as JAX's (grad(grad(f(x) ** 2)))
        out = self(*tree_unflatten(in_tree, leaves))
        return out, self._rules(in_tree, tree_flatten(out)[1])

    def _rules(self, in_tree, out_tree) -> Primitive:
        """A primitive with the rule as its jvp rules, one per argument leaf (the others'
        tangents zero); its vjp rules are their transposes, derived when first needed."""
        for trees, rules in self._rules_by_tree:  # argument and output structures seen so far
            if trees == (in_tree, out_tree):
                return rules
        fun, rule, symbolic = self.fun, self.rule, self.symbolic_zeros
        several = out_tree.num_leaves > 1

        def flat(out):
            leaves = tree_flatten(out)[0]
            return tuple(leaves) if several else leaves[0]

        def flat_fun(*leaves):
            return flat(fun(*tree_unflatten(in_tree, leaves)))

        rules = Primitive(flat_fun, name=self.__name__, multiple_outputs=several)

        def out_tangent(leaves, at, ts):
            """The rule's flat output tangent for tangents ``ts`` of the leaves ``at``."""
            zero = SymbolicZero.from_primal_value if symbolic else zeros_like
            full = [zero(a) for a in leaves]
            for i, t in zip(at, ts, strict=True):
                full[i] = t
            return flat(self._checked(rule(
                tuple(tree_unflatten(in_tree, list(leaves))), tuple(tree_unflatten(in_tree, full))
            ))[1])

        def jvp_i(i):
            return lambda t, ans, *leaves: out_tangent(leaves, (i,), (t,))

        def_jvps(rules, *(jvp_i(i) for i in range(in_tree.num_leaves)))
        if symbolic:  # one call of the rule, with the perturbed arguments' tangents, as in JAX
            def_joint_vjp(rules, lambda g, ans, argnums, *leaves: self._transposed(
                out_tangent, g, ans, argnums, leaves, several))
        self._rules_by_tree.append(((in_tree, out_tree), rules))
        return rules

    @staticmethod
    def _transposed(out_tangent: Callable, g, ans, argnums, leaves, several: bool) -> list:
        """The cotangents of the leaves at ``argnums`` (None at the others): the transpose
        of the rule's tangent map in the tangents of those leaves, the others symbolic zeros."""
        if several:
            g = tuple(zeros_like(a) if c is None else c for c, a in zip(g, ans, strict=True))
        _, pull = vjp(lambda *ts: out_tangent(leaves, argnums, ts), *[zeros_like(leaves[i]) for i in argnums])
        cts = [None] * len(leaves)
        for i, c in zip(argnums, pull(g), strict=True):
            cts[i] = c
        return cts


def _positional(composite, args: tuple, kwargs: dict) -> tuple:
    """The call's arguments by position, as JAX passes them to ``fwd``, ``bwd`` and jvp
    rules: keywords bound to the function's parameters, and the defaults of parameters
    not given filled in (so the rules see the same arguments however ``f`` was called)."""
    if composite._binding is None:
        try:
            signature = inspect.signature(composite.fun)
            n = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                    for p in signature.parameters.values())
            composite._binding = (signature, n)
        except (TypeError, ValueError):  # a builtin without one: positions are all there is
            composite._binding = (None, 0)
    signature, n_positional = composite._binding
    if not kwargs and (len(args) >= n_positional or isinstance(composite, checkpoint_call)):
        return args  # (checkpoint has no rules to show defaults to: fun fills in its own)
    if signature is None:
        raise TypeError(f"{composite.__name__}: keyword arguments need a function whose "
                        "signature Python can read; pass them by position")
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{composite.__name__}: {e}") from None
    bound.apply_defaults()
    given = [k for k in bound.kwargs if k in kwargs]  # (those left out keep their defaults)
    if given:
        raise TypeError(f"{composite.__name__}: keyword-only parameters ({', '.join(given)}) "
                        "have no position to pass them in; make them ordinary parameters, or "
                        "close over them")
    return bound.args


def perturbed_leaves(args) -> list[bool]:
    """Whether each leaf of ``args`` is perturbed by the transform a composite call goes
    to (the innermost one among its Tensors): one of its Tensors, and on eager Tensors one
    that requires grad."""
    leaves = tree_flatten(args)[0]
    top = None
    for leaf in leaves:
        if isinstance(leaf, Tensor) and (top is None or leaf._trace.level > top.level):
            top = leaf._trace
    eager = top is not None and top.name == "eager"
    return [isinstance(v, Tensor) and v._trace is top and (not eager or v._node is not None)
            for v in leaves]


class checkpoint_call(custom_vjp):
    """``fun`` whose intermediate values are recomputed in the backward pass: a custom
    vjp that keeps only the arguments, and runs ``fun`` as it is in forward mode. The
    arguments at ``static_argnums`` are constants of the call, not differentiated."""

    closure_is_an_error = False

    def __init__(self, fun: Callable, static_argnums: Sequence[int] = ()):
        super().__init__(fun, nondiff_argnums=static_argnums)

        def fwd(*args):
            first_draw = draw_states()
            return fun(*args), (args, first_draw)

        def bwd(residuals, g):
            args, first_draw = residuals
            with drawing_again(first_draw):
                return vjp(fun, *args)[1](g)

        self.defvjp(fwd, bwd)

    def _of_differentiated(self, static, full):
        return checkpoint_call(lambda *d: self.fun(*full(d)))

    def reverse(self, leaves, in_tree):
        first_draw = draw_states()
        made = super().reverse(leaves, in_tree)
        self._first_draw = first_draw  # (after the body ran: a call inside it sets its own)
        return made

    def closed_over(self, trace, args):
        """A body that reads values being differentiated from a closure (a scan's step
        using the parameters it closes over, as JAX code writes it) runs again, inline, so
        that those values get their derivatives too; its intermediate values are then kept
        as without checkpoint (a closure cannot be rebound to recompute them). The second
        run draws the random numbers the first one drew."""
        with drawing_again(self._first_draw):
            return self.fun(*args)

    def tangent(self, primals, tangents, in_tree):
        return None  # forward mode stores nothing, so it just runs fun

    def batched(self, in_axes, in_tree, axes):
        return checkpoint_call(vmap(self.fun, in_axes))

    def eager(self, args):
        """On eager Tensors: ``fun`` runs without recording, and the backward pass runs it
        again, recording, and calls ``backward()`` through it, so that the Tensors ``fun``
        reads without being given them (a module's parameters) get their ``.grad`` as
        without ``checkpoint``, as PyTorch's checkpoint does. The global generator is put
        back to its state of the first run for the second, so dropout draws the same masks."""
        fun = self.fun
        leaves, in_tree = tree_flatten(args)
        at = [i for i, v in enumerate(leaves) if isinstance(v, Tensor)]
        first_draw = draw_states()
        with no_grad():
            out = fun(*args)
        out_leaves, out_tree = tree_flatten(out)
        tensor_outs = [k for k, o in enumerate(out_leaves) if isinstance(o, Tensor)]
        if not tensor_outs:
            return out
        values = [out_leaves[k]._value for k in tensor_outs]
        several = len(values) > 1

        def run(*_):
            return tuple(values) if several else values[0]

        def rerun_and_backward(g, ans, argnums, *inputs):
            gs = list(g) if several else [g]
            if grad_enabled():  # backward(create_graph=True)
                raise NotImplementedError(
                    f"{self.__name__}: backward(create_graph=True) through a checkpoint of eager "
                    "Tensors is not supported; call the function without checkpoint")
            again = list(leaves)
            for k, i in enumerate(at):
                again[i] = tensor(inputs[k], requires_grad=leaves[i].requires_grad)
            with drawing_again(first_draw), enable_grad():
                redone = tree_flatten(fun(*tree_unflatten(in_tree, again)))[0]
            roots = [(redone[k], c) for k, c in zip(tensor_outs, gs, strict=True)
                     if c is not None and isinstance(redone[k], Tensor) and redone[k].requires_grad]
            needed = [again[i] for k, i in enumerate(at) if k in argnums and again[i].requires_grad]
            if not roots:
                return [None] * len(at)
            got = nested_backward([r for r, _ in roots], [c for _, c in roots], needed)
            by_leaf = {id(t): c for t, c in zip(needed, got, strict=True)}
            return [by_leaf.get(id(again[i])) for i in at]

        rules = Primitive(run, name=self.__name__, multiple_outputs=several)
        def_joint_vjp(rules, rerun_and_backward)
        made = rules(*[leaves[i] for i in at])
        made = list(made) if several else [made]
        for k, t in zip(tensor_outs, made, strict=True):
            out_leaves[k] = t
        return tree_unflatten(out_tree, out_leaves)


def draw_states() -> tuple:
    """Where the global generators are: chainrule's (dropout's, ``manual_seed``) and
    NumPy's (``np.random.randn``, which HIPS autograd's programs draw from)."""
    return default_generator().bit_generator.state, np.random.get_state()


@contextlib.contextmanager
def drawing_again(states: tuple):
    """The global generators at ``states`` (:func:`draw_states`, where they were when a
    checkpointed function first ran), so that its recomputation draws the same random
    numbers (dropout's masks, ``np.random.randn``); put back as they were afterwards."""
    rng = default_generator()
    now = draw_states()
    rng.bit_generator.state, numpy_state = states
    np.random.set_state(numpy_state)
    try:
        yield
    finally:
        rng.bit_generator.state = now[0]
        np.random.set_state(now[1])


def checkpoint(fun: Callable, *, prevent_cse: bool = True, policy: Callable | None = None,
               static_argnums: int | Sequence[int] = ()) -> Callable:
    """``fun``, but its intermediate values are recomputed in the backward pass instead
    of stored: memory for time. Arguments are arrays (or pytrees of arrays); those at
    ``static_argnums`` are Python values that ``fun`` may branch on, not differentiated.

    JAX's signature (also as :func:`remat`). chainrule does no common-subexpression
    elimination, so ``prevent_cse`` changes nothing. A ``policy`` from
    :data:`checkpoint_policies` is taken, and the values and derivatives are the same
    whatever it says; only ``everything_saveable`` changes what is stored (everything,
    as without ``checkpoint``); every other policy recomputes all of ``fun``.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> block = cr.checkpoint(lambda h: cnp.tanh(cnp.tanh(h)))
    >>> cr.grad(lambda h: cnp.sum(block(h)))(np.zeros(2))
    array([1., 1.])
    """
    if not callable(fun):
        raise TypeError(f"checkpoint: expected a function to wrap, got {type(fun).__name__}")
    if policy is not None and not callable(policy):
        raise TypeError("checkpoint: policy must be one of cr.checkpoint_policies (or None), "
                        f"got {type(policy).__name__}")
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    if policy is checkpoint_policies.everything_saveable:
        return fun
    call = checkpoint_call(fun, static_argnums=tuple(static_argnums))
    try:
        keyword_only = [p.name for p in inspect.signature(fun).parameters.values() if p.kind is p.KEYWORD_ONLY]
    except (TypeError, ValueError):
        keyword_only = []
    if not keyword_only:
        return call
    by_names: dict = {}  # the keyword-only arguments a call gives, as the last positional ones

    @functools.wraps(fun)
    def with_keywords(*args, **kwargs):
        names = tuple(n for n in keyword_only if n in kwargs)
        if not names:
            return call(*args, **kwargs)
        if names not in by_names:
            def by_position(*a, _names=names):
                k = len(a) - len(_names)
                return fun(*a[:k], **dict(zip(_names, a[k:], strict=True)))
            by_names[names] = checkpoint_call(by_position, static_argnums=tuple(static_argnums))
        return by_names[names](*args, *(kwargs.pop(n) for n in names), **kwargs)

    return with_keywords


remat = checkpoint


def _saveable(*_, **__) -> bool:
    return True


def _not_saveable(*_, **__) -> bool:
    return False


def _dots(prim, *_, **__) -> bool:
    return getattr(prim, "__name__", "") in ("dot", "matmul", "einsum", "tensordot", "inner")


class checkpoint_policies:
    """JAX's names for what a :func:`checkpoint` may store, so that code written with
    ``jax.checkpoint_policies`` runs; see :func:`checkpoint` for what each does here."""

    everything_saveable = staticmethod(_saveable)
    nothing_saveable = staticmethod(_not_saveable)
    dots_saveable = checkpoint_dots = staticmethod(_dots)
    dots_with_no_batch_dims_saveable = checkpoint_dots_with_no_batch_dims = staticmethod(_dots)

    @staticmethod
    def save_only_these_names(*names: str) -> Callable:
        return _not_saveable

    @staticmethod
    def save_any_names_but_these(*names: str) -> Callable:
        return _not_saveable

    @staticmethod
    def save_from_both_policies(first: Callable, second: Callable) -> Callable:
        return lambda *args, **kwargs: first(*args, **kwargs) or second(*args, **kwargs)

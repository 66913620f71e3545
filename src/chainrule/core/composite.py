"""Composite primitives: a body of other primitives, with rules of its own for some
transforms (``custom_vjp``, ``custom_jvp``, ``checkpoint``)."""

from __future__ import annotations

from chainrule.core.primitive import Primitive
from chainrule.core.pytree import tree_flatten
from chainrule.core.tensor import Tensor

__all__ = ["CompositePrimitive", "NO_TANGENT"]


class _NoTangent:
    """The type of :data:`NO_TANGENT`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_TANGENT"


# An output tangent that a composite's ``tangent`` gives for an output that does not depend
# on the perturbed arguments (a custom jvp rule's symbolic zero): the forward trace returns
# that output unperturbed, so that what follows sees no tangent (a symbolic zero) either.
NO_TANGENT = _NoTangent()


class CompositePrimitive(Primitive):
    """A primitive whose body is Python code over other primitives, with rules of its own
    for some transforms: ``custom_vjp``, ``custom_jvp`` and ``checkpoint`` are of this kind.

    Arguments and results may be pytrees. Called on Tensors, it goes through the same door
    as every primitive, to the innermost trace, whose ``composite`` method handles it: a
    reverse trace records one entry whose rules come from :meth:`reverse`, a forward trace
    asks :meth:`tangent`, and a trace without rules of its own (``chainrule.jit``'s
    recording trace) runs the body on its Tensors, so the body's primitives are seen.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> square = CompositePrimitive(lambda x: x * x, name="square")
    >>> float(cr.grad(square)(3.0))  # no rules of its own: the body is differentiated
    6.0
    """

    def __call__(self, *args):
        top = None
        for leaf in tree_flatten(args)[0]:
            if isinstance(leaf, Tensor) and (top is None or leaf._trace.level > top.level):
                top = leaf._trace
        if top is None:
            return self.fun(*args)
        return top.composite(self, args)

    def reverse(self, leaves: list, in_tree):
        """``(output, rules)`` for a reverse trace: the output pytree computed from the
        argument ``leaves``, and a Primitive whose vjp rules (one per leaf) give the leaves'
        cotangents; ``rules.multiple_outputs`` says whether the output has several leaves.
        By default: the body differentiated as it runs (None: inline it)."""
        return None

    def closed_over(self, trace, args: tuple):
        """For a reverse trace whose values :meth:`reverse`'s body read without being given
        them as arguments (a closure): the output pytree computed another way, or an error.
        By default an error, as JAX's custom_vjp raises: the rules, made from the arguments,
        would leave that value's derivative out."""
        what = "a Tensor that requires grad" if trace.name == "eager" else (
            f"a value that {trace.name} is differentiating")
        raise TypeError(
            f"{self.__name__} read {what} without being given it as an argument (from a "
            "closure, a global or an attribute); its custom rules cannot give that value its "
            "derivative, so pass it as an argument")

    def eager(self, args: tuple):
        """For the eager layer, called on eager Tensors of which one requires grad (and
        gradients enabled): the output pytree, recorded on the eager graph by the method
        itself. None (the default): record the rules of :meth:`reverse`, as a reverse trace
        does. For a body whose derivatives reach Tensors it was not given (the parameters
        of a module it calls), which the reverse rules, made from the arguments, cannot see."""
        return None

    def tangent(self, primals: list, tangents: list, in_tree):
        """``(output, output tangent)`` pytrees for a forward trace, given the argument
        leaves and their tangents (None: no tangent); an output tangent leaf may be
        :data:`NO_TANGENT`. None: run the body inline."""
        return None

    def batched(self, in_axes: tuple, in_tree, axes: list):
        """For a batching trace: the same kind of function over a batch, with ``in_axes``
        (vmap's, one pytree per argument) saying which leaves carry the batch on axis 0
        (``axes``: 0 or None per leaf of ``in_tree``); its outputs all carry it. None: run
        the body on the batched Tensors."""
        return None

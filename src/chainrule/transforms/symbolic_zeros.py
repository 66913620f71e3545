"""JAX's symbolic zeros for custom derivative rules (``symbolic_zeros=True``).

A rule defined with ``custom_jvp.defjvp(rule, symbolic_zeros=True)`` receives a
:class:`SymbolicZero` for the tangent of each argument that the transform does not
perturb, and a ``custom_vjp``'s ``fwd`` defined with ``defvjp(fwd, bwd,
symbolic_zeros=True)`` receives each argument leaf as a :class:`CustomVJPPrimal` saying
whether it is perturbed; its ``bwd`` receives a :class:`SymbolicZero` for the cotangent
of each output that nothing downstream uses. Rules may return a ``SymbolicZero`` (or
None, for a ``bwd``) where their result is zero.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.core.pytree import tree_flatten, tree_map, tree_unflatten
from chainrule.transforms.eval_shape import ShapeDtypeStruct
from chainrule.transforms.vmap import vmap

__all__ = ["SymbolicZero", "CustomVJPPrimal", "zero_from_primal", "custom_vjp_primal_tree_values", "float0"]

# JAX's dtype of the tangent of an integer or boolean value (jax.dtypes.float0): a
# tangent that holds no numbers, for a value that has no derivative
float0 = np.dtype([("float0", np.void, 0)])


def tangent_dtype(dtype) -> np.dtype:
    """The dtype of a tangent of a value of ``dtype``: its own for inexact numbers,
    :data:`float0` for integers and booleans (as JAX's)."""
    dtype = np.dtype(dtype)
    return float0 if dtype.kind in "biu" else dtype


class SymbolicZero:
    """A zero tangent or cotangent known to be zero without its values: ``aval`` (a
    :class:`ShapeDtypeStruct`) gives its ``shape`` and ``dtype``, as JAX's does.

    >>> z = SymbolicZero.from_primal_value(np.ones((2, 3)))
    >>> z, z.shape, z.dtype
    (SymbolicZero, (2, 3), dtype('float64'))
    """

    __slots__ = ("aval",)

    def __init__(self, aval: ShapeDtypeStruct):
        self.aval = aval

    def __repr__(self) -> str:
        return "SymbolicZero"

    @property
    def shape(self) -> tuple:
        return self.aval.shape

    @property
    def dtype(self) -> np.dtype:
        return self.aval.dtype

    @property
    def ndim(self) -> int:
        return self.aval.ndim

    @property
    def size(self) -> int:
        return self.aval.size

    @staticmethod
    def from_primal_value(val: Any) -> SymbolicZero:
        """The symbolic zero tangent of the array ``val``; of dtype :data:`float0` for an
        integer or boolean ``val``, as JAX's.

        >>> SymbolicZero.from_primal_value(np.arange(3)).dtype == float0
        True
        """
        shape = tuple(val.shape) if hasattr(val, "shape") else np.shape(val)
        dtype = val.dtype if hasattr(val, "dtype") else np.result_type(val)
        return SymbolicZero(ShapeDtypeStruct(shape, tangent_dtype(dtype)))

    def instantiate(self) -> np.ndarray:
        """The zeros it stands for, as an array."""
        return np.zeros(self.shape, self.dtype)


@dataclasses.dataclass(slots=True)
class CustomVJPPrimal:
    """An argument leaf of a ``custom_vjp``'s ``fwd`` defined with ``symbolic_zeros=True``:
    its ``value``, and whether the transform differentiates it (``perturbed``)."""

    value: Any
    perturbed: bool


def zero_from_primal(val: Any, symbolic_zeros: bool = False) -> Any:
    """The zero tangent of each leaf of the pytree ``val``: a :class:`SymbolicZero`, or
    (``symbolic_zeros=False``) an array of zeros, as JAX's ``zero_from_primal``."""

    def zero(x):
        z = SymbolicZero.from_primal_value(x)
        return z if symbolic_zeros else z.instantiate()

    return tree_map(zero, val)


def custom_vjp_primal_tree_values(tree: Any) -> Any:
    """The pytree ``tree`` of :class:`CustomVJPPrimal` leaves with each replaced by its
    ``value`` (JAX's helper for a ``fwd`` defined with ``symbolic_zeros=True``)."""

    def value(leaf):
        if type(leaf) is not CustomVJPPrimal:
            raise TypeError(f"unexpected leaf type {type(leaf)}")
        return leaf.value

    return tree_map(value, tree)


def instantiate_zeros(tree: Any) -> Any:
    """``tree`` with each :class:`SymbolicZero` leaf replaced by the zeros it stands for."""
    return tree_map(lambda t: t.instantiate() if isinstance(t, SymbolicZero) else t, tree)


def vmap_rule(fun: Callable, axes: list, keep_zeros: bool = False) -> Callable:
    """``vmap`` of a rule whose arguments' leaves (with batch axes ``axes``: 0 or None per
    leaf of the whole argument tuple) may be :class:`SymbolicZero` (of the batch's shape)
    or :class:`CustomVJPPrimal`: each example gets a ``SymbolicZero`` of its own shape, and
    a ``CustomVJPPrimal`` of its own value with the same ``perturbed``. ``SymbolicZero``
    results become zeros, or (``keep_zeros``) ``SymbolicZero`` of the batch's shape (a jvp
    rule's zero tangent is the same for every example: the output stays unperturbed)."""

    def mapped(*args):
        leaves, tree = tree_flatten(args)
        fixed, plain, plain_axes = {}, [], []
        for k, (v, a) in enumerate(zip(leaves, axes, strict=True)):
            if isinstance(v, SymbolicZero):
                shape = v.shape[1:] if a == 0 else v.shape
                fixed[k] = SymbolicZero(ShapeDtypeStruct(shape, v.dtype))
            else:
                plain.append(v.value if isinstance(v, CustomVJPPrimal) else v)
                plain_axes.append(a)

        def per_example(*values):
            rest = iter(values)
            full = []
            for k, v in enumerate(leaves):
                if k in fixed:
                    full.append(fixed[k])
                elif isinstance(v, CustomVJPPrimal):
                    full.append(CustomVJPPrimal(next(rest), v.perturbed))
                else:
                    full.append(next(rest))
            result = fun(*tree_unflatten(tree, full))
            zeros[:] = [isinstance(v, SymbolicZero) for v in tree_flatten(result)[0]]
            return instantiate_zeros(result)

        zeros: list = []
        out = vmap(per_example, tuple(plain_axes))(*plain)
        if not keep_zeros or not any(zeros):
            return out
        out_leaves, out_tree = tree_flatten(out)
        return tree_unflatten(out_tree, [SymbolicZero(ShapeDtypeStruct(np.shape(v), v.dtype)) if z else v
                                         for v, z in zip(out_leaves, zeros, strict=True)])

    return mapped

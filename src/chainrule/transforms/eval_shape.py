"""Shapes and dtypes of a function's results: :func:`eval_shape` and
:class:`ShapeDtypeStruct`, with JAX's API (Flax and Equinox code asks for the shapes of
a model's parameters this way before it makes them).

chainrule has no abstract values: it runs the function, on zeros where it is given only
a shape and a dtype, and keeps the shapes and dtypes of what comes back.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.core.tensor import Tensor

__all__ = ["eval_shape", "ShapeDtypeStruct"]


class ShapeDtypeStruct:
    """An array's shape and dtype, without its values, as JAX's.

    >>> s = ShapeDtypeStruct((2, 3), np.float32)
    >>> s
    ShapeDtypeStruct(shape=(2, 3), dtype=float32)
    >>> s.ndim, s.size
    (2, 6)
    """

    __slots__ = ("shape", "dtype", "sharding", "weak_type")

    def __init__(self, shape, dtype, *, sharding=None, weak_type: bool = False):
        try:
            self.shape = tuple(int(d) for d in shape)
        except TypeError:
            raise TypeError(f"ShapeDtypeStruct: shape must be a sequence of ints, got {shape!r}") from None
        if dtype is None:
            raise ValueError("ShapeDtypeStruct: dtype must be given (a NumPy dtype such as np.float32)")
        self.dtype = np.dtype(dtype)
        self.sharding = sharding
        self.weak_type = weak_type

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __eq__(self, other) -> bool:
        return (isinstance(other, ShapeDtypeStruct) and (self.shape, self.dtype, self.weak_type)
                == (other.shape, other.dtype, other.weak_type))

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype, self.weak_type))

    def __repr__(self) -> str:
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name}{weak})"


def eval_shape(fun: Callable, *args, **kwargs) -> Any:
    """The shapes and dtypes of ``fun(*args, **kwargs)``: its results' pytree with a
    :class:`ShapeDtypeStruct` for each array or number, as ``jax.eval_shape``. An argument
    leaf may be an array or anything with ``shape`` and ``dtype`` (a ShapeDtypeStruct);
    those are given to ``fun`` as zeros of that shape and dtype.

    chainrule computes the result to learn its shape (there are no abstract values), so
    the call costs what ``fun`` costs, and a function that cannot run on zeros (a Cholesky
    factorization of a zero matrix) raises: give it arrays of real values then. NumPy's
    warnings about the zeros (a division by zero) are not shown.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> cr.eval_shape(lambda w, x: cnp.tanh(x @ w), ShapeDtypeStruct((3, 4), np.float32), np.ones((5, 3)))
    ShapeDtypeStruct(shape=(5, 4), dtype=float64)
    """
    leaves, tree = tree_flatten((args, kwargs))
    leaves = [_as_value(leaf) for leaf in leaves]
    args, kwargs = tree_unflatten(tree, leaves)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        out = fun(*args, **kwargs)
    out_leaves, out_tree = tree_flatten(out)
    return tree_unflatten(out_tree, [_shape_of(leaf) for leaf in out_leaves])


def _as_value(leaf):
    """An argument leaf as ``fun`` is given it: zeros in place of a shape and a dtype."""
    if isinstance(leaf, ShapeDtypeStruct) or (
        not isinstance(leaf, np.ndarray | np.generic | Tensor)
        and hasattr(leaf, "shape") and hasattr(leaf, "dtype")
    ):
        return np.zeros(leaf.shape, leaf.dtype)
    return leaf


def _shape_of(leaf) -> ShapeDtypeStruct:
    if isinstance(leaf, ShapeDtypeStruct):
        return leaf
    if isinstance(leaf, bool | int | float | complex):  # a Python number: NumPy's dtype for it
        return ShapeDtypeStruct((), np.asarray(leaf).dtype, weak_type=not isinstance(leaf, bool))
    if isinstance(leaf, np.ndarray | np.generic | Tensor):
        return ShapeDtypeStruct(np.shape(leaf), leaf.dtype)
    raise TypeError(
        f"eval_shape: the function returned a {type(leaf).__name__} ({leaf!r:.60}), which has no "
        "shape and dtype; return arrays, numbers or pytrees of them"
    )

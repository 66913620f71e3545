"""JAX's ``jax.flatten_util``: ``ravel_pytree`` turns any pytree of arrays into one vector
and back, as ODE solvers, HMC samplers and optimizers over parameter pytrees use it.

Unlike :func:`chainrule.misc.flatten.flatten` (HIPS autograd's, for tuples, lists and
dicts), it reads every pytree (namedtuples, registered classes, ``None``) in JAX's leaf
order, and ``unravel`` gives each leaf its own dtype back, as JAX's does.

>>> import numpy as np
>>> flat, unravel = ravel_pytree({"w": np.ones((2, 2)), "b": (np.zeros(1), None)})
>>> flat
array([0., 1., 1., 1., 1.])
>>> unravel(np.arange(5.0))["w"]
array([[1., 2.],
       [3., 4.]])
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.numpy.broadcasting import shape_of

__all__ = ["ravel_pytree"]


def ravel_pytree(pytree: Any) -> tuple[Any, Callable]:
    """``(vector, unravel)``: the leaves of ``pytree`` raveled and joined in pytree order,
    in the dtype they promote to, and ``unravel(vector)``, which rebuilds the pytree from
    a vector of that shape, each leaf in its own shape and dtype (JAX's ``ravel_pytree``).
    Both are differentiable, and ``unravel`` works per example under ``vmap``."""
    leaves, treedef = tree_flatten(pytree)
    if not leaves:
        return np.zeros(0), functools.partial(_unravel_empty, treedef)
    from_dtypes = [_dtype(leaf) for leaf in leaves]
    to_dtype = np.result_type(*from_dtypes)
    shapes = [shape_of(leaf) for leaf in leaves]
    stops = np.cumsum([int(np.prod(s)) for s in shapes])
    flat = cnp.concatenate([cnp.ravel(cnp.asarray(leaf).astype(to_dtype, copy=False)) for leaf in leaves])
    same = all(d == to_dtype for d in from_dtypes)
    # one dtype: unravel keeps the vector's (as JAX's does, so it may take a tangent of
    # another precision); several: each leaf goes back to its own, from that dtype only
    return flat, functools.partial(_unravel, treedef, stops, shapes, None if same else (from_dtypes, to_dtype))


def _unravel(treedef, stops, shapes, dtypes, flat):
    if shape_of(flat) != (int(stops[-1]),):
        raise ValueError(f"The unravel function expected an array of shape {(int(stops[-1]),)}, "
                         f"got shape {shape_of(flat)}.")
    chunks = cnp.split(flat, stops[:-1])
    leaves = [cnp.reshape(c, s) for c, s in zip(chunks, shapes, strict=True)]
    if dtypes is not None:
        from_dtypes, to_dtype = dtypes
        if _dtype(flat) != to_dtype:
            raise TypeError(f"unravel function given array of dtype {_dtype(flat)} but expected "
                            f"dtype {to_dtype}")
        leaves = [leaf.astype(d) for leaf, d in zip(leaves, from_dtypes, strict=True)]
    return tree_unflatten(treedef, leaves)


def _unravel_empty(treedef, flat):
    if shape_of(flat) != (0,):
        raise ValueError(f"The unravel function expected an array of shape (0,), got shape {shape_of(flat)}.")
    return tree_unflatten(treedef, [])


def _dtype(x) -> np.dtype:
    return x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype

"""NumPy's functional-programming helpers on Tensors: ``piecewise``, ``apply_along_axis``
and ``apply_over_axes``.

Each runs NumPy's own algorithm with the mirror's differentiable pieces, so the values
are NumPy's and the derivatives follow through the functions they call, in both modes,
to any order, and under vmap (no rules of their own).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.nondiff import batched
from chainrule.numpy.registry import mirrors
from chainrule.numpy.shape.primitives import _as_input, _has_tensor, index_update

__all__ = ["piecewise", "apply_along_axis", "apply_over_axes"]


def _dtype(x) -> np.dtype:
    return np.dtype(x.dtype if hasattr(x, "dtype") else np.result_type(x))


def _conditions(x, condlist) -> list:
    """NumPy's reading of ``condlist``: one condition or a list of them, as booleans."""
    first = None if np.isscalar(condlist) else condlist[0]
    # a 0-d Tensor (an element of a Tensor of conditions) is one condition's value, as np.bool_
    if np.isscalar(condlist) or (
        not (isinstance(first, list) or isinstance(first, np.ndarray | Tensor) and np.ndim(first) > 0)
        and len(shape_of(x)) != 0
    ):
        condlist = [condlist]
    return [cnp.astype(undifferentiated(c), bool) if isinstance(c, Tensor) else np.asarray(c, bool)
            for c in condlist]


def _selected_or_filled(x, cond):
    """``x`` where ``cond`` holds, elsewhere (a constant) one of the example's selected
    elements: the function then runs only on values it is meant for, so its derivative
    at the others (a square root's at a negative number, say) cannot put a NaN into the
    gradient through the zero cotangent there."""
    flat = cnp.reshape(x, (-1,))
    fill = undifferentiated(flat[cnp.argmax(cnp.reshape(cond, (-1,)))])
    return cnp.where(cond, x, fill)


@mirrors(np.piecewise, "functional")
def piecewise(x, condlist, funclist, *args, **kw):
    """``np.piecewise``: where ``condlist[k]`` holds, ``funclist[k]`` of those elements of
    ``x`` (or a constant); an extra function for where no condition holds; zero elsewhere.
    As in NumPy, each function sees only the elements it is for, so it is differentiated
    only there. Under ``vmap`` with conditions that differ between examples, each function
    is called on an array of ``x``'s shape holding the elements it is for (the others
    replaced by one of those) and its values chosen with ``where``: the same values for
    a function of elementwise operations.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> f = lambda x: cnp.piecewise(x, [x < 0], [lambda v: -v, lambda v: v ** 2])
    >>> cr.elementwise_grad(f)(np.array([-2.0, 3.0]))
    array([-1.,  6.])
    """
    if not _has_tensor([x]) and not any(isinstance(c, Tensor) for c in np.atleast_1d(condlist)
                                        if not np.isscalar(condlist)):
        return np.piecewise(x, condlist, funclist, *args, **kw)
    x = _as_input(x)
    conds = _conditions(x, condlist)
    n, n_funcs = len(conds), len(funclist)
    if n == n_funcs - 1:  # the "otherwise" condition
        none = cnp.logical_not(conds[0])
        for c in conds[1:]:
            none = cnp.logical_and(none, cnp.logical_not(c))
        conds.append(none)
    elif n != n_funcs:
        raise ValueError(f"piecewise: with {n} condition(s), either {n} or {n + 1} functions "
                         f"are expected, not {n_funcs}")
    y = np.zeros(shape_of(x), _dtype(x))
    for cond, func in zip(conds, funclist, strict=True):
        if batched(cond):  # a different selection in each example: choose by where
            value = func(_selected_or_filled(x, cond), *args, **kw) if callable(func) else func
            y = cnp.where(cond, cnp.astype(value, _dtype(x)), y)
        elif not callable(func):
            y = index_update(y, cond, func)
        else:
            vals = x[cond]
            if int(np.prod(shape_of(vals))) > 0:
                y = index_update(y, cond, cnp.astype(func(vals, *args, **kw), _dtype(x)))
    return y


@mirrors(np.apply_along_axis, "functional")
def apply_along_axis(func1d: Callable, axis: int, arr, *args, **kwargs):
    """``np.apply_along_axis``: ``func1d`` of each 1-d slice of ``arr`` along ``axis``; the
    result's axes replace ``axis``.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.grad(lambda a: cnp.sum(cnp.apply_along_axis(cnp.max, 1, a)))(np.eye(2))
    array([[1., 0.],
           [0., 1.]])
    """
    if not _has_tensor([arr]):
        return np.apply_along_axis(func1d, axis, arr, *args, **kwargs)
    arr = _as_input(arr)
    nd = len(shape_of(arr))
    if not -nd <= axis < nd:
        raise np.exceptions.AxisError(axis, nd)
    axis %= nd
    view = cnp.moveaxis(arr, axis, -1)
    outer = shape_of(view)[:-1]
    if 0 in outer:
        raise ValueError("Cannot apply_along_axis when any iteration dimensions are 0")
    results = [func1d(view[ind], *args, **kwargs) for ind in itertools.product(*map(range, outer))]
    first = cnp.asarray(results[0]) if isinstance(results[0], Tensor) else np.asarray(results[0])
    stacked = cnp.stack([cnp.astype(r, _dtype(first)) for r in results])
    k = len(shape_of(first))
    stacked = cnp.reshape(stacked, outer + shape_of(first))
    return cnp.moveaxis(stacked, list(range(len(outer), len(outer) + k)),
                        list(range(axis, axis + k))) if k else stacked


@mirrors(np.apply_over_axes, "functional")
def apply_over_axes(func: Callable, a, axes):
    """``np.apply_over_axes``: ``func(a, axis)`` for each axis in turn, keeping the rank
    (a reduced axis is put back with length 1).

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cnp.apply_over_axes(cnp.sum, cr.tensor(np.ones((2, 3))), [0, 1]).tolist()
    [[6.0]]
    """
    if not _has_tensor([a]):
        return np.apply_over_axes(func, a, axes)
    val = _as_input(a)
    n = len(shape_of(val))
    for axis in (axes,) if np.ndim(axes) == 0 else axes:
        axis = axis + n if axis < 0 else axis
        res = func(val, axis)
        if len(shape_of(res)) != len(shape_of(val)):
            res = cnp.expand_dims(res, axis)
            if len(shape_of(res)) != len(shape_of(val)):
                raise ValueError("function is not returning an array of the correct shape")
        val = res
    return val

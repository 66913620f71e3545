"""NumPy's functional-programming helpers on Tensors: ``piecewise``, ``apply_along_axis``,
``apply_over_axes`` and ``vectorize``.

Each runs NumPy's own algorithm with the mirror's differentiable pieces, so the values
are NumPy's and the derivatives follow through the functions they call, in both modes,
to any order, and under vmap (no rules of their own).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.nondiff import batched
from chainrule.numpy.registry import mirrors, stands_for
from chainrule.numpy.shape.primitives import _as_input, _has_tensor, index_update

__all__ = ["piecewise", "apply_along_axis", "apply_over_axes", "vectorize"]


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


_SIGNATURE = re.compile(r"^\(\w*(?:,\w+)*\)(?:,\(\w*(?:,\w+)*\))*->\(\w*(?:,\w+)*\)(?:,\(\w*(?:,\w+)*\))*$")


def _core_dims(signature: str) -> tuple[list, list]:
    """``"(n),(n)->()"`` -> ``([["n"], ["n"]], [[]])``, the core dimensions of the inputs
    and the outputs (NumPy's gufunc signature)."""
    text = signature.replace(" ", "")
    if not _SIGNATURE.match(text):
        raise ValueError(f"not a valid gufunc signature: {signature}")
    ins, outs = text.split("->")
    return [[[d for d in arg.split(",") if d] for arg in re.findall(r"\((.*?)\)", side)]
            for side in (ins, outs)]


class vectorize(np.vectorize):
    """``np.vectorize``: ``pyfunc`` called on each element of the broadcast arguments (on
    each core slice with ``signature=``) and the results stacked, as NumPy does. On
    Tensors the calls are chainrule's, so derivatives flow through ``pyfunc`` (both modes,
    any order, and under ``vmap``, where ``pyfunc`` sees each example's elements). The
    results take ``otypes`` or, as in NumPy, the dtype of the first result.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> f = cnp.vectorize(lambda a: a * a if a > 1 else 3 * a)
    >>> cr.grad(lambda x: cnp.sum(f(x)))(np.array([0.5, 2.0]))
    array([3., 4.])
    """

    def __call__(self, *args, **kwargs):
        if self.pyfunc is np._NoValue or not _has_tensor([list(args), list(kwargs.values())]):
            return super().__call__(*args, **kwargs)
        return _vectorized(self, args, kwargs)


stands_for(np.vectorize, vectorize, "functional")


def _vectorized(vec: np.vectorize, args: tuple, kwargs: dict):
    """``vec(*args, **kwargs)`` as a loop over the broadcast elements whose results are
    stacked with ``chainrule.numpy``."""
    names = [i for i in range(len(args)) if i not in vec.excluded]
    names += [k for k in kwargs if k not in vec.excluded]
    given = {**dict(enumerate(args)), **kwargs}
    inputs = [_as_input(given[k]) for k in names]
    if vec.signature is None:
        in_core, out_core = [[] for _ in inputs], None
    else:
        in_core, out_core = _core_dims(vec.signature)
        if len(in_core) != len(inputs):
            raise TypeError(f"wrong number of positional arguments: expected {len(in_core)}, "
                            f"got {len(inputs)}")
    sizes: dict = {}
    loop_shapes = []
    for x, core in zip(inputs, in_core, strict=True):
        shape = shape_of(x)
        if len(shape) < len(core):
            raise ValueError(f"input with shape {shape} does not have enough dimensions for "
                             f"all core dimensions {tuple(core)} of signature {vec.signature}")
        for dim, n in zip(core, shape[len(shape) - len(core):], strict=True):
            if sizes.setdefault(dim, n) != n:
                raise ValueError(f"inconsistent size for core dimension {dim!r}: {n} vs "
                                 f"{sizes[dim]}")
        loop_shapes.append(shape[:len(shape) - len(core)])
    loop = np.broadcast_shapes(*loop_shapes)
    inputs = [cnp.broadcast_to(x, loop + shape_of(x)[len(s):]) if s != loop else x
              for x, s in zip(inputs, loop_shapes, strict=True)]
    if int(np.prod(loop)) == 0 and vec.otypes and vec.signature is None:  # NumPy's result
        outs = tuple(np.zeros(loop, t) for t in vec.otypes)
        return outs if len(outs) > 1 else outs[0]
    if int(np.prod(loop)) == 0:
        raise ValueError("cannot call `vectorize` with a signature on size 0 inputs"
                         if vec.signature else
                         "cannot call `vectorize` on size 0 inputs unless `otypes` is set")
    results = []
    for index in np.ndindex(*loop):
        for k, x in zip(names, inputs, strict=True):
            given[k] = x[index] if index else x
        out = vec.pyfunc(*(given[i] for i in range(len(args))),
                         **{k: given[k] for k in kwargs})
        results.append(out)
    n_out = len(vec.otypes) if vec.otypes else (
        len(out_core) if out_core is not None else
        len(results[0]) if isinstance(results[0], tuple) else 1)
    if n_out == 1 and out_core is not None and len(out_core) == 1 or \
            n_out == 1 and not isinstance(results[0], tuple):
        results = [(r,) for r in results]
    outs = []
    for j in range(n_out):
        first = results[0][j]
        dtype = np.dtype(vec.otypes[j]) if vec.otypes else _dtype(first)
        core = shape_of(first)
        if vec.signature is None and core:
            raise ValueError("vectorize: pyfunc returned an array of shape "
                             f"{core} for one element; give signature= to return arrays")
        column = [r[j] for r in results]
        if any(shape_of(c) != core for c in column):
            raise ValueError("vectorize: pyfunc returned results of different shapes")
        stacked = cnp.reshape(cnp.stack([cnp.astype(c, dtype) if isinstance(c, Tensor)
                                         else np.asarray(c, dtype) for c in column]), loop + core)
        outs.append(stacked)
    return tuple(outs) if n_out > 1 or (out_core is not None and len(out_core) > 1) else outs[0]

"""``jax.lax``'s convolutions and its reductions over windows and axes, for code written
with them (Flax's and Equinox's convolutions and pooling): each is a ``chainrule.numpy``
composition (strided views of the padded input, stacked, then one ``einsum`` or one
reduction), so every transform sees through it. ``chainrule.lax`` re-exports them.

>>> import numpy as np
>>> from chainrule import lax
>>> lax.reduce_window(np.arange(4.0), 0.0, lax.add, (2,), (2,), "VALID")
array([1., 5.])
"""

from __future__ import annotations

import builtins
import itertools
import string
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.core.tensor import Tensor
from chainrule.lax_ops import _BITS, _check, _dtype, _kind, add, bitwise_and, bitwise_or, max, min, mul, pad, rev  # noqa: A004
from chainrule.numpy.broadcasting import shape_of

__all__ = ["ConvDimensionNumbers", "conv_dimension_numbers", "conv_general_dilated", "conv", "conv_transpose",
           "padtype_to_pads", "reduce_window", "reduce", "reduce_sum", "reduce_max", "reduce_min", "reduce_prod",
           "reduce_and", "reduce_or"]


# -- convolution ------------------------------------------------------------------------------------
class ConvDimensionNumbers(NamedTuple):
    """Where the batch, feature and spatial axes are: ``lhs_spec`` is (batch, feature,
    spatial...) axes of the input, ``rhs_spec`` (out feature, in feature, spatial...) of the
    kernel, ``out_spec`` (batch, feature, spatial...) of the output, as in JAX."""

    lhs_spec: tuple
    rhs_spec: tuple
    out_spec: tuple


def _conv_permutations(specs) -> ConvDimensionNumbers:
    lhs_spec, rhs_spec, out_spec = specs
    for i, (spec, pair) in enumerate(zip(specs, (("N", "C"), ("O", "I"), ("N", "C")), strict=True)):
        if not spec.count(pair[0]) == spec.count(pair[1]) == 1 or len(set(spec)) != len(spec):
            raise TypeError(f"conv_general_dilated: dimension_numbers[{i}] must name '{pair[0]}' and "
                            f"'{pair[1]}' exactly once and no axis twice, got {spec!r}")
    if not set(lhs_spec) - {"N", "C"} == set(rhs_spec) - {"O", "I"} == set(out_spec) - {"N", "C"}:
        raise TypeError(f"conv_general_dilated: the specs {tuple(specs)} must name the same spatial axes")

    def perm(spec, pair):
        spatial = [i for i, c in enumerate(spec) if c not in pair]
        if spec is not rhs_spec:  # spatial axes in the kernel's order
            spatial.sort(key=lambda i: rhs_spec.index(spec[i]))
        return (spec.index(pair[0]), spec.index(pair[1]), *spatial)

    return ConvDimensionNumbers(perm(lhs_spec, "NC"), perm(rhs_spec, "OI"), perm(out_spec, "NC"))


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers) -> ConvDimensionNumbers:
    """``dimension_numbers`` (None, a :class:`ConvDimensionNumbers`, or strings such as
    ``("NHWC", "HWIO", "NHWC")``) as axis numbers, as ``jax.lax.conv_dimension_numbers``."""
    if len(lhs_shape) != len(rhs_shape) or len(lhs_shape) < 2:
        raise TypeError(f"conv_general_dilated: the input and the kernel need the same rank (2 + the number "
                        f"of spatial axes), got shapes {tuple(lhs_shape)} and {tuple(rhs_shape)}")
    if dimension_numbers is None:
        default = tuple(range(len(lhs_shape)))
        return ConvDimensionNumbers(default, default, default)
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return dimension_numbers
    if len(dimension_numbers) != 3 or any(len(s) != len(lhs_shape) for s in dimension_numbers):
        raise TypeError(f"conv_general_dilated: dimension_numbers must be three specs of {len(lhs_shape)} "
                        f"axes each (such as ('NCHW', 'OIHW', 'NCHW')), got {dimension_numbers!r}")
    return _conv_permutations(tuple(dimension_numbers))


def padtype_to_pads(in_shape, window_shape, window_strides, padding: str) -> list[tuple[int, int]]:
    """``'SAME'``, ``'SAME_LOWER'`` or ``'VALID'`` as ``(low, high)`` pads per spatial axis."""
    kind = str(padding).upper()
    if kind == "VALID":
        return [(0, 0)] * len(in_shape)
    if kind not in ("SAME", "SAME_LOWER"):
        raise ValueError(f"padding must be 'VALID', 'SAME', 'SAME_LOWER' or (low, high) pairs, got {padding!r}")
    pads = [builtins.max((-(-n // s) - 1) * s + k - n, 0) for n, k, s in zip(in_shape, window_shape,
                                                                           window_strides, strict=True)]
    return [(p // 2, p - p // 2) if kind == "SAME" else (p - p // 2, p // 2) for p in pads]


def _window_views(window, dilation, out_sizes, strides) -> list[tuple]:
    """One tuple of slices per offset in the window: the entries that each output position
    takes at that offset (``(N, C, K, out...)`` once stacked on a new axis)."""
    return [tuple(builtins.slice(j * d, j * d + (m - 1) * s + 1, s)
                  for j, d, m, s in zip(offset, dilation, out_sizes, strides, strict=True))
            for offset in itertools.product(*map(range, window))]


def conv_general_dilated(lhs, rhs, window_strides: Sequence[int], padding, lhs_dilation=None, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count: int = 1, batch_group_count: int = 1,
                         precision=None, preferred_element_type=None):
    """The n-d convolution (cross-correlation) of ``jax.lax.conv_general_dilated``: strides,
    padding (``'SAME'``, ``'VALID'`` or ``(low, high)`` pairs, negative ones crop), input
    dilation (a transposed convolution), kernel dilation, feature groups and any layout of
    the axes (``dimension_numbers``). Computed as one strided view of the padded input per
    kernel offset, stacked, and one ``einsum`` with the kernel.

    >>> conv_general_dilated(np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 4)), (2, 2), "SAME",
    ...                      dimension_numbers=("NHWC", "HWIO", "NHWC")).shape
    (1, 3, 3, 4)
    """
    lhs_shape, rhs_shape = shape_of(lhs), shape_of(rhs)
    dn = conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers)
    n_spatial = len(lhs_shape) - 2
    strides = tuple(window_strides)
    lhs_dilation = tuple(lhs_dilation or (1,) * n_spatial)
    rhs_dilation = tuple(rhs_dilation or (1,) * n_spatial)
    if builtins.min((len(strides), len(lhs_dilation), len(rhs_dilation))) != n_spatial or builtins.max(
            (len(strides), len(lhs_dilation), len(rhs_dilation))) != n_spatial:
        raise ValueError(f"conv_general_dilated: window_strides, lhs_dilation and rhs_dilation need one entry "
                         f"per spatial axis ({n_spatial}), got {strides}, {lhs_dilation}, {rhs_dilation}")
    if batch_group_count != 1:
        raise NotImplementedError("conv_general_dilated: batch_group_count other than 1 is not supported; "
                                  "split the batch and call it once per group")
    x = cnp.transpose(lhs, dn.lhs_spec)  # (N, C, spatial...)
    w = cnp.transpose(rhs, dn.rhs_spec)  # (O, I, kernel...)
    (n, c, *in_sizes), (o, i, *kernel) = shape_of(x), shape_of(w)
    groups = feature_group_count
    if c != i * groups or o % groups:
        raise ValueError(f"conv_general_dilated: the input has {c} features, the kernel {o} outputs of {i} "
                         f"inputs; with feature_group_count={groups}, {c} must be {i} x {groups} and {o} a "
                         f"multiple of {groups}")
    dilated_kernel = [(k - 1) * d + 1 for k, d in zip(kernel, rhs_dilation, strict=True)]
    if isinstance(padding, str):
        if any(d != 1 for d in lhs_dilation):
            raise ValueError("conv_general_dilated: string padding with lhs_dilation is not supported; give "
                             "(low, high) pairs, as JAX asks")
        padding = padtype_to_pads(in_sizes, dilated_kernel, strides, padding)
    padding = [(int(lo), int(hi)) for lo, hi in padding]
    if len(padding) != n_spatial:
        raise ValueError(f"conv_general_dilated: padding needs one (low, high) pair per spatial axis "
                         f"({n_spatial}), got {padding}")
    if any(lo or hi for lo, hi in padding) or any(d != 1 for d in lhs_dilation):
        x = pad(x, cnp.zeros((), x.dtype), [(0, 0, 0), (0, 0, 0)] + [
            (lo, hi, d - 1) for (lo, hi), d in zip(padding, lhs_dilation, strict=True)])
    sizes = shape_of(x)[2:]
    out_sizes = [(p - k) // s + 1 for p, k, s in zip(sizes, dilated_kernel, strides, strict=True)]
    if builtins.min(out_sizes, default=1) < 1:
        raise ValueError(f"conv_general_dilated: the (padded, dilated) input {tuple(sizes)} is smaller than the "
                         f"(dilated) kernel {tuple(dilated_kernel)}")
    windows = cnp.stack([x[(builtins.slice(None), builtins.slice(None), *view)]
                         for view in _window_views(kernel, rhs_dilation, out_sizes, strides)], axis=2)
    windows = cnp.reshape(windows, (n, groups, i, -1, *out_sizes))
    w = cnp.reshape(w, (groups, o // groups, i, -1))
    spatial = string.ascii_letters[:n_spatial]
    out = cnp.einsum(f"ngik{spatial},goik->ngo{spatial}", windows, w)
    out = cnp.reshape(out, (n, o, *out_sizes))
    out = cnp.transpose(out, tuple(np.argsort(dn.out_spec)))
    return out if preferred_element_type is None else cnp.astype(out, np.dtype(preferred_element_type))


def conv(lhs, rhs, window_strides: Sequence[int], padding: str, precision=None, preferred_element_type=None):
    """:func:`conv_general_dilated` with the default layout (``NCHW``, ``OIHW``) and no dilation."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, precision=precision,
                                preferred_element_type=preferred_element_type)


def conv_transpose(lhs, rhs, strides: Sequence[int], padding, rhs_dilation=None, dimension_numbers=None,
                   transpose_kernel: bool = False, precision=None, preferred_element_type=None):
    """The transposed (fractionally strided) convolution of ``jax.lax.conv_transpose``:
    ``'SAME'``/``'VALID'`` are the forward convolution's padding, pairs the transposed
    one's; the layout defaults to TensorFlow's (``NHWC``, ``HWIO``)."""
    ndim = len(shape_of(lhs))
    if dimension_numbers is None:
        spatial = "HWD"[:ndim - 2] if ndim <= 5 else None
        if spatial is None:
            raise ValueError("conv_transpose: give dimension_numbers for more than 3 spatial axes")
        dimension_numbers = (f"N{spatial}C", f"{spatial}IO", f"N{spatial}C")
    dn = conv_dimension_numbers(shape_of(lhs), shape_of(rhs), dimension_numbers)
    kernel = [shape_of(rhs)[a] for a in dn.rhs_spec[2:]]
    rhs_dilation = tuple(rhs_dilation or (1,) * len(kernel))
    if isinstance(padding, str):
        kind = padding.upper()
        if kind not in ("SAME", "VALID"):
            raise ValueError(f"conv_transpose: padding must be 'SAME', 'VALID' or (low, high) pairs, got {padding!r}")
        pads = []
        for k, s in zip(((k - 1) * d + 1 for k, d in zip(kernel, rhs_dilation, strict=True)), strides, strict=True):
            before = k - 1 if kind == "VALID" or s > k - 1 else -(-(k + s - 2) // 2)
            pads.append((before, k + s - 2 + (builtins.max(k - s, 0) if kind == "VALID" else 0) - before))
        padding = pads
    if transpose_kernel:  # the kernel of the forward convolution: spatial axes flipped, in/out swapped
        rhs = cnp.swapaxes(rev(rhs, dn.rhs_spec[2:]), dn.rhs_spec[0], dn.rhs_spec[1])
    return conv_general_dilated(lhs, rhs, (1,) * len(kernel), padding, strides, rhs_dilation, dn,
                                precision=precision, preferred_element_type=preferred_element_type)


# -- reductions over windows and axes ---------------------------------------------------------------
def _monoid(computation, operand) -> Callable | None:
    """The chainrule.numpy reduction that folding with ``computation`` amounts to, if it is
    one of lax's own (JAX's reductions recognise the same ones); the bitwise ones only on
    booleans (on integers they fold bit by bit)."""
    reductions = {cnp.add: cnp.sum, add: cnp.sum, cnp.maximum: cnp.max, max: cnp.max, cnp.minimum: cnp.min,
                  min: cnp.min, cnp.multiply: cnp.prod, mul: cnp.prod, cnp.logical_and: cnp.all,
                  cnp.logical_or: cnp.any}
    if _kind(operand) == "b":
        reductions.update({cnp.bitwise_and: cnp.all, bitwise_and: cnp.all, cnp.bitwise_or: cnp.any,
                           bitwise_or: cnp.any})
    return next((r for c, r in reductions.items() if c is computation), None)


def reduce_window(operand, init_value, computation: Callable, window_dimensions: Sequence[int],
                  window_strides: Sequence[int], padding, base_dilation=None, window_dilation=None):
    """``computation`` folded over each window of ``operand`` (starting from
    ``init_value``, which also fills the padding and the holes of ``base_dilation``), as
    ``jax.lax.reduce_window``: the pooling of Flax and Equinox (``lax.add`` for a sum,
    ``lax.max`` with ``-inf``). ``operand`` may be a pytree of arrays, with ``init_value``
    of the same structure and ``computation`` taking and returning such pytrees.

    >>> reduce_window(np.arange(6.0).reshape(2, 3), -np.inf, max, (1, 2), (1, 1), "VALID")
    array([[1., 2.],
           [4., 5.]])
    """
    leaves, treedef = tree_flatten(operand)
    inits = tree_flatten(init_value)[0]
    if len(inits) != len(leaves) or not leaves:
        raise ValueError(f"reduce_window: init_value must have the structure of operand ({treedef}), "
                         f"got {tree_flatten(init_value)[1]}")
    shape = shape_of(leaves[0])
    if any(shape_of(x) != shape for x in leaves):
        raise ValueError(f"reduce_window: the operands must have one shape, got {[shape_of(x) for x in leaves]}")
    ndim = len(shape)
    window = tuple(window_dimensions)
    strides = tuple(window_strides)
    base_dilation = tuple(base_dilation or (1,) * ndim)
    window_dilation = tuple(window_dilation or (1,) * ndim)
    if {len(window), len(strides), len(base_dilation), len(window_dilation)} != {ndim}:
        raise ValueError(f"reduce_window: window_dimensions, window_strides and the dilations need one entry per "
                         f"axis of the operand ({ndim}), got {window}, {strides}, {base_dilation}, {window_dilation}")
    dilated_window = [(w - 1) * d + 1 for w, d in zip(window, window_dilation, strict=True)]
    if isinstance(padding, str):
        dilated_shape = [(n - 1) * b + 1 for n, b in zip(shape, base_dilation, strict=True)]
        padding = padtype_to_pads(dilated_shape, dilated_window, strides, padding)
    padding = [(int(lo), int(hi)) for lo, hi in padding]
    if len(padding) != ndim:
        raise ValueError(f"reduce_window: padding needs one (low, high) pair per axis ({ndim}), got {padding}")
    config = [(lo, hi, b - 1) for (lo, hi), b in zip(padding, base_dilation, strict=True)]
    padded = [pad(x, cnp.asarray(v, dtype=_dtype(x)), config) if any(any(c) for c in config) else x
              for x, v in zip(leaves, inits, strict=True)]
    out_sizes = [(p - w) // s + 1 for p, w, s in zip(shape_of(padded[0]), dilated_window, strides, strict=True)]
    if builtins.min(out_sizes, default=1) < 1:
        raise ValueError(f"reduce_window: the padded operand {shape_of(padded[0])} is smaller than the window "
                         f"{tuple(dilated_window)}")
    views = _window_views(window, window_dilation, out_sizes, strides)
    reduction = _monoid(computation, leaves[0]) if len(leaves) == 1 else None
    if reduction is not None:
        x, v = padded[0], cnp.asarray(inits[0], dtype=_dtype(leaves[0]))
        stacked = cnp.stack([x[view] for view in views])
        if reduction is cnp.max or reduction is cnp.min:
            # the first extremum of each window takes its whole gradient, as in JAX (and
            # PyTorch's max pooling), not a share of it split between ties
            first = (cnp.argmax if reduction is cnp.max else cnp.argmin)(stacked, axis=0)
            out = cnp.take_along_axis(stacked, first[None], axis=0)[0]
        else:
            out = reduction(stacked, axis=0)
        if reduction in (cnp.max, cnp.min) and not isinstance(inits[0], Tensor) and np.all(
                inits[0] == (-np.inf if reduction is cnp.max else np.inf)):
            return out  # (the identity as init: folding it in would take a NaN window's derivative away)
        return cnp.astype(computation(v, out), _dtype(leaves[0]))
    acc = tree_unflatten(treedef, [cnp.broadcast_to(cnp.asarray(v, dtype=_dtype(x)), tuple(out_sizes))
                                   for x, v in zip(leaves, inits, strict=True)])
    for view in views:
        acc = computation(acc, tree_unflatten(treedef, [x[view] for x in padded]))
    return acc


def reduce(operands, init_values, computation: Callable, dimensions: Sequence[int]):
    """``computation`` folded over the axes ``dimensions`` of ``operands`` (a pytree of
    arrays) from ``init_values``, as ``jax.lax.reduce``."""
    leaves, treedef = tree_flatten(operands)
    dims = tuple(sorted(d % len(shape_of(leaves[0])) for d in dimensions))
    reduction = _monoid(computation, leaves[0]) if len(leaves) == 1 else None
    if reduction is not None:
        return computation(cnp.asarray(tree_flatten(init_values)[0][0], dtype=_dtype(leaves[0])),
                           reduction(leaves[0], axis=dims))
    moved = [cnp.reshape(cnp.moveaxis(x, dims, tuple(range(len(dims)))), (-1, *[
        n for k, n in enumerate(shape_of(x)) if k not in dims])) for x in leaves]
    acc = tree_unflatten(treedef, [cnp.broadcast_to(cnp.asarray(v, dtype=_dtype(x)), shape_of(m)[1:])
                                   for x, v, m in zip(leaves, tree_flatten(init_values)[0], moved, strict=True)])
    for k in range(shape_of(moved[0])[0]):
        acc = computation(acc, tree_unflatten(treedef, [m[k] for m in moved]))
    return acc


def _axes_reduction(reduction: Callable, name: str) -> Callable:
    def reduce_axes(operand, axes: Sequence[int]):
        return reduction(operand, axis=tuple(axes))
    reduce_axes.__name__ = reduce_axes.__qualname__ = name
    reduce_axes.__doc__ = f"``jax.lax.{name}``: ``{reduction.__name__}`` over ``axes``."
    return reduce_axes


reduce_sum = _axes_reduction(cnp.sum, "reduce_sum")
reduce_max = _axes_reduction(cnp.max, "reduce_max")
reduce_min = _axes_reduction(cnp.min, "reduce_min")
reduce_prod = _axes_reduction(cnp.prod, "reduce_prod")


def _logical_reduction(name: str, bitwise: Callable, identity: int) -> Callable:
    def reduce_axes(operand, axes: Sequence[int]):
        _check(name, _BITS, (operand,))
        if _kind(operand) == "b":
            return (cnp.all if identity else cnp.any)(operand, axis=tuple(axes))
        return reduce(operand, ~_dtype(operand).type(0) if identity else _dtype(operand).type(0), bitwise, axes)
    reduce_axes.__name__ = reduce_axes.__qualname__ = name
    reduce_axes.__doc__ = (f"``jax.lax.{name}``: {'and' if identity else 'or'} over ``axes``, of booleans, or of "
                           "integers bit by bit (in their dtype), as in JAX.")
    return reduce_axes


reduce_and = _logical_reduction("reduce_and", bitwise_and, -1)
reduce_or = _logical_reduction("reduce_or", bitwise_or, 0)

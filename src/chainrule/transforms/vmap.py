"""Vectorising map: :func:`vmap` runs a function written for one example on a batch.

This module is the user's side of it, with JAX's semantics: reading ``in_axes`` (pytree
prefixes of the arguments) and moving each batched argument's axis to the front,
the batch size, the named axes of the collectives, and ``out_axes`` on the results.
The computing happens in :mod:`chainrule.transforms.batch_trace`, whose
:class:`~chainrule.transforms.batch_trace.BatchTrace` hands every primitive called on
a batch to its batching rule.
"""

from __future__ import annotations

import contextlib
import functools
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.eager import EAGER
from chainrule.core.pytree import tree_children, tree_flatten, tree_map, tree_unflatten
from chainrule.core.rng import map_randomness
from chainrule.core.tensor import Tensor
from chainrule.numpy.shape import AxisError
from chainrule.transforms.batch_trace import BatchTensor, BatchTrace, UnitBasis, unit_basis

__all__ = ["vmap", "torch_vmap", "check_randomness", "call_batched", "named_map", "BatchTrace", "BatchTensor",
           "UnitBasis", "unit_basis"]

# -- in_axes and out_axes ------------------------------------------------------------------
class InAxesError(TypeError, ValueError):
    """An ``in_axes``/``out_axes`` (``in_dims``/``out_dims``) that is not an axis, None or a
    structure of them: a TypeError, as JAX's, and a ValueError, as torch.func's."""


def _axes_of_leaves(prefix, tree, leaves: list, where: str) -> list:
    """``_leaf_axes`` for a tree already flattened into ``leaves``."""
    if prefix is None or isinstance(prefix, int) and not isinstance(prefix, bool):
        return [None if prefix is None else prefix] * len(leaves)
    return _leaf_axes(prefix, tree, where)


def _not_numpy_integer(prefix, where: str) -> None:
    if isinstance(prefix, np.integer):
        raise TypeError(
            f"vmap: {where} is {prefix!r}, a NumPy integer; an axis must be a Python int or "
            f"None (as in JAX): write int(...) there")


def _leaf_axes(prefix, tree, where: str) -> list:
    """One axis (an int or None) per leaf of ``tree``, from the pytree prefix ``prefix``."""
    if prefix is None or isinstance(prefix, int) and not isinstance(prefix, bool):
        n = tree_flatten(tree)[1].num_leaves
        return [None if prefix is None else prefix] * n
    _not_numpy_integer(prefix, where)
    node = tree_children(prefix)
    if node is None:
        raise InAxesError(
            f"vmap: {where} is {prefix!r}; an axis must be an int, None, or a tuple/list/dict "
            "of them matching the arguments' structure"
        )
    kind, aux, children = node
    tnode = tree_children(tree)
    if tnode is None or tnode[0] is not kind or len(tnode[2]) != len(children) or not _same(
        tnode[1], aux
    ):
        got = (("array" if isinstance(tree, Tensor | np.ndarray) else type(tree).__name__) if tnode is None
               else f"{tnode[0].__name__} of {len(tnode[2])}")
        mine = f"{kind.__name__} of {len(children)}"
        if tnode is not None and tnode[0] is kind and (len(tnode[2]) == len(children) or kind is dict):
            # the same kind and length: the keys (or fields) differ
            mine, got = (f"{kind.__name__} with keys {list(aux)}", f"{kind.__name__} with keys "
                         f"{list(tnode[1])}") if kind is dict else (f"{mine} ({aux!r})", f"{got} ({tnode[1]!r})")
        raise ValueError(
            f"vmap: {where} is a {mine} but the value there is {'an' if got[0] in 'aeiou' else 'a'} {got}; "
            "in_axes/out_axes must be a prefix of the structure (an int or None covers a whole subtree)"
        )
    out = []
    for k, (p, t) in enumerate(zip(children, tnode[2], strict=True)):
        out.extend(_leaf_axes(p, t, f"{where}[{k}]"))
    return out


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return a is b


def _shape(x) -> tuple:
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def _moveaxis(x, source: int, destination: int):
    if source == destination:
        return x
    if isinstance(x, Tensor):

        return cnp.moveaxis(x, source, destination)
    return np.moveaxis(x, source, destination)


def _innermost_recorder(leaves):
    top = None
    for v in leaves:
        while isinstance(v, Tensor):
            if (v._trace.records or v._trace.batches) and (top is None or v._trace.level > top.level):
                top = v._trace
            v = v._value
    return top


_TORCH = object()  # a torch.vmap keyword not given


def vmap(
    fun: Callable,
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_size: int | None = None,
    axis_name: Any = None,
    spmd_axis_name: Any = None,
    *,
    in_dims: Any = _TORCH,
    out_dims: Any = _TORCH,
    randomness: Any = _TORCH,
    chunk_size: Any = _TORCH,
) -> Callable:
    """Map ``fun`` over a batch axis of its arguments, with JAX's semantics.

    ``in_axes``: an int (the batch axis of every argument; negative counts from the end),
    ``None`` (not batched: the same value for every example), or a tuple with one entry
    per positional argument, each itself such a prefix of that argument's pytree.
    ``out_axes`` says where the batch axis goes in each output, likewise. ``axis_size``
    is needed only when no argument is batched. ``axis_name`` names the batch axis for
    the collectives of :mod:`chainrule.lax` (``psum``, ``pmean``, ``axis_index``...).
    ``spmd_axis_name`` (JAX's sharding of the batch over devices) is accepted and changes
    nothing: the batch is computed in one process.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> cr.vmap(cnp.dot, in_axes=(0, None))(np.eye(2), np.array([1.0, 2.0]))
    array([1., 2.])
    """
    if not callable(fun):
        raise TypeError(f"vmap: expected a function to map, got {fun!r} of type {type(fun).__name__}")
    torch_keywords = {k: v for k, v in (("in_dims", in_dims), ("out_dims", out_dims), ("randomness", randomness),
                                        ("chunk_size", chunk_size)) if v is not _TORCH}
    if torch_keywords:  # torch.vmap(func, in_dims=..., randomness=...): PyTorch's rules
        jax_keywords = [k for k, v, default in (("in_axes", in_axes, 0), ("out_axes", out_axes, 0),
                                                ("axis_size", axis_size, None), ("axis_name", axis_name, None))
                        if v is not default]
        if jax_keywords:
            raise TypeError(f"vmap: {', '.join(torch_keywords)} (PyTorch's spelling) and {', '.join(jax_keywords)} "
                            "(JAX's) given together; use one of them")
        return torch_vmap(fun, **torch_keywords)

    @functools.wraps(fun)
    def batched_fun(*args, **kwargs):
        return call_batched(fun, in_axes, out_axes, axis_size, args, kwargs, axis_name)

    return batched_fun


RANDOMNESS = ("error", "different", "same")


def check_randomness(randomness) -> None:
    """PyTorch's error for a ``randomness`` it does not know."""
    if randomness not in RANDOMNESS:
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. "
                           f"Got {randomness}")


def torch_vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
               chunk_size: int | None = None) -> Callable:
    """PyTorch's ``torch.vmap``: ``in_dims``/``out_dims`` as JAX's ``in_axes``/``out_axes``;
    keyword arguments reach every example unbatched; random draws inside follow
    ``randomness``: ``"error"`` (the default) refuses them, ``"different"`` gives each
    example its own, ``"same"`` one draw shared by all. ``chunk_size`` (how many examples
    PyTorch computes at once) is checked and changes nothing: the batch is one call."""
    if not callable(func):
        raise TypeError(f"vmap: expected a function to map, got {func!r} of type {type(func).__name__}")
    check_randomness(randomness)
    if chunk_size is not None and (not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def mapped(*args, **kwargs):
        given = tree_flatten(args)[0]
        spec = tuple(in_dims) if isinstance(in_dims, list) else in_dims
        axes = _leaf_axes(spec, args, "in_dims") if isinstance(spec, tuple) and len(spec) == len(args) else None

        @functools.wraps(func)
        def f(*examples):
            out, changed = call_noting_changes(func, examples, kwargs)
            return _only_tensors(out, out_dims, func), changed

        if axes is None:  # (an in_dims that does not fit: call_batched says so)
            axes = [in_dims if isinstance(in_dims, int) else None] * len(given)
        out, changed = call_batched(f, in_dims, (out_dims, tuple(axes)), None, args, {}, randomness=randomness)
        write_back(args, changed)
        if any(isinstance(arg, Tensor) for arg in given):  # Tensors, as torch.func gives, whatever
            out = tree_map(_as_eager, out)  # path the batch took (a gather's derivative: arrays)
        return out

    return mapped


def call_noting_changes(func: Callable, args: tuple, kwargs: dict) -> tuple[Any, tuple]:
    """``(func(*args, **kwargs), changed)``: ``changed`` holds, for each leaf of ``args``,
    the Tensor if the call changed it in place (``x.add_(1)``), else None. torch.func's
    transforms write such changes back to the caller's Tensors (:func:`write_back`), and
    inside a transform the changed value is a traced one, to be taken out as an output."""
    leaves = tree_flatten(args)[0]
    before = [leaf._value if isinstance(leaf, Tensor) else None for leaf in leaves]
    out = func(*args, **kwargs)
    return out, tuple(leaf if isinstance(leaf, Tensor) and leaf._value is not value else None
                      for leaf, value in zip(leaves, before, strict=True))


def write_back(args: tuple, changed: tuple) -> None:
    """Copy the values of ``changed`` (from :func:`call_noting_changes`, taken out of the
    transform) into the caller's Tensors among ``args``."""
    for arg, new in zip(tree_flatten(args)[0], changed, strict=True):
        if new is not None and isinstance(arg, Tensor) and arg is not new:
            arg.copy_(new)


def _as_eager(leaf):
    return Tensor(leaf, EAGER) if isinstance(leaf, np.ndarray | np.generic) else leaf


def _only_tensors(out, out_dims, func: Callable):
    """``out``, refused as torch.func refuses it where it holds something other than an
    array (a Python number, None) at an output whose ``out_dims`` is not None."""
    leaves = tree_flatten(out)[0]
    axes = _axes_of_leaves(out_dims, out, leaves, "out_dims") if out is not None else [0]
    for leaf, axis in zip(leaves if out is not None else [None], axes, strict=True):
        if axis is not None and not isinstance(leaf, Tensor | np.ndarray | np.generic):
            name = getattr(func, "__name__", "the function")
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(leaf)}. "
                             "Did you mean to set out_dims= to None for output?")
    return out


_PYTHON_SCALARS = (int, float, complex, bool, str)


def call_batched(fun: Callable, in_axes: Any, out_axes: Any, axis_size: int | None,
                 args: tuple, kwargs: dict, axis_name: Any = None, randomness: str | None = None) -> Any:
    """``vmap(fun, in_axes, out_axes, axis_size)(*args, **kwargs)``, for the transforms
    that map a function of their own once (``jacrev``, ``jacfwd``): no wrapper made.

    >>> import chainrule.numpy as cnp, numpy as np
    >>> call_batched(cnp.sum, 0, 0, None, (np.eye(2) * 3,), {})
    array([3., 3.])
    """
    axes_spec = tuple(in_axes) if isinstance(in_axes, list) else in_axes
    _not_numpy_integer(axes_spec, "in_axes")
    if not (axes_spec is None or isinstance(axes_spec, tuple | int)):
        raise InAxesError(
            f"vmap: in_axes is {in_axes!r}; it must be an int, None, or a tuple with one "
            "entry per positional argument (a dict of axes for a dict argument goes "
            "inside the tuple: in_axes=({...},))"
        )
    values = [*args, *kwargs.values()]
    flat_args = [tree_flatten(a) for a in values]
    if isinstance(axes_spec, tuple):
        if len(axes_spec) != len(args):
            raise ValueError(
                f"vmap: in_axes has {len(axes_spec)} entries but {len(args)} positional "
                f"argument(s) were given; give one entry per argument (None: not batched)"
            )
        axes = [[spec] * len(leaves) if spec is None or spec.__class__ is int
                else _axes_of_leaves(spec, a, leaves, f"in_axes[{i}]") for i, (spec, a, (leaves, _))
                in enumerate(zip(axes_spec, args, flat_args, strict=False))]
    else:
        axes = [_axes_of_leaves(axes_spec, a, leaves, "in_axes")
                for a, (leaves, _) in zip(args, flat_args, strict=False)]
    # keyword arguments are batched along axis 0, whatever in_axes says (as in JAX); a Python
    # number or string, which has no axis (JAX refuses it), reaches every example (torch.vmap's rule)
    axes += [[None if type(leaf) in _PYTHON_SCALARS else 0 for leaf in leaves] for leaves, _ in flat_args[len(args):]]
    sizes = []
    for i, ((leaves, _), ax) in enumerate(zip(flat_args, axes, strict=True)):
        for k, (leaf, axis) in enumerate(zip(leaves, ax, strict=True)):
            if axis is None:
                continue
            shape = _shape(leaf)
            if not -len(shape) <= axis < len(shape):
                name = _argument_name(i, args, kwargs)
                raise ValueError(
                    f"vmap: in_axes={axis} for {name}"
                    + (f" (leaf {k})" if len(leaves) > 1 else "")
                    + f" of shape {shape}, which has {len(shape)} axes; "
                    + (f"use an axis in [{-len(shape)}, {len(shape)}) or None for an unbatched "
                       "argument" if shape else "a 0-d value has no axis to map over: give it "
                       "in_axes=None (the same value for every example), or add the axis")
                    + (" (keyword arguments are always batched along axis 0: pass an "
                       "unbatched value positionally with in_axes=None, or close over it)"
                       if name.startswith("keyword") else "")
                )
            sizes.append((i, k, len(leaves), shape[axis % len(shape)]))
    size = _batch_size(sizes, axis_size, args, kwargs)
    batched_leaves = [leaf for (leaves, _), ax in zip(flat_args, axes, strict=True)
                      for leaf, axis in zip(leaves, ax, strict=True) if axis is not None]
    trace = BatchTrace(size, _innermost_recorder(batched_leaves))
    trace.axis_name = axis_name
    boxed = []
    for (leaves, tree), ax in zip(flat_args, axes, strict=True):
        new = []
        for leaf, axis in zip(leaves, ax, strict=True):
            if axis is None:
                new.append(leaf)
                continue
            if leaf.__class__ is UnitBasis and axis % leaf.ndim == 0:
                new.append(trace.unit(np.ones(len(leaf), leaf.dtype), tuple(leaf.shape[1:])))
                continue
            if not isinstance(leaf, Tensor):
                leaf = np.asarray(leaf)
            new.append(trace.box(leaf if axis == 0 else _moveaxis(leaf, axis % len(_shape(leaf)), 0)))
        boxed.append(tree_unflatten(tree, new))
    if axis_name is not None:
        _NAMED.append(trace)
    try:
        with map_randomness(trace, randomness) if randomness else contextlib.nullcontext():
            out = fun(*boxed[:len(args)], **dict(zip(kwargs, boxed[len(args):], strict=True)))
    finally:
        trace.close()
        if axis_name is not None:
            _NAMED.remove(trace)
    return _unbatch_outputs(trace, out, out_axes)


# -- collectives over a named batch axis (chainrule.lax.psum, pmean, axis_index...) -------------
_NAMED: list[BatchTrace] = []  # the open maps with an axis_name, innermost last


def named_map(axis_name) -> BatchTrace:
    """The innermost open :func:`vmap` called with ``axis_name``."""
    for trace in reversed(_NAMED):
        if trace.axis_name == axis_name:
            return trace
    raise NameError(f"unbound axis name: {axis_name!r}; a collective names the batch axis of an "
                    "enclosing map: vmap(f, axis_name=...)")


def _argument_name(i: int, args, kwargs) -> str:
    """How an error names argument ``i`` (positional ones first, then the keywords)."""
    if i < len(args):
        return f"argument {i}"
    return f"keyword argument {list(kwargs)[i - len(args)]!r}"


def _checked_axis_size(axis_size) -> int | None:
    """``axis_size`` as a Python int (a NumPy integer or a bool will do, as in JAX)."""
    if axis_size is None:
        return None
    try:
        size = operator.index(axis_size)
    except TypeError:
        raise TypeError(f"vmap: axis_size is {axis_size!r}; it must be an int, the number of "
                        "examples (or None, to take it from the batched arguments)") from None
    if size < 0:
        raise ValueError(f"vmap: axis_size is {size}; a batch cannot have fewer than 0 examples")
    return size


def _batch_size(sizes, axis_size, args, kwargs):
    axis_size = _checked_axis_size(axis_size)
    if not sizes:
        if axis_size is None:
            raise ValueError(
                "vmap: no argument is batched (every in_axes is None), so the batch size is "
                "unknown; pass axis_size=N"
            )
        return axis_size
    distinct = {s for *_, s in sizes}
    if axis_size is not None:
        distinct.add(axis_size)
    if len(distinct) > 1:
        described = ", ".join(
            _argument_name(i, args, kwargs) + (f" leaf {k}" if n > 1 else "")
            + f" has size {s}" for i, k, n, s in sizes
        )
        extra = f" and axis_size={axis_size}" if axis_size is not None else ""
        raise ValueError(
            f"vmap: the batched arguments have different sizes along their batch axes: "
            f"{described}{extra}. Every batched argument needs the same batch size."
        )
    return distinct.pop()


def _unbatch_outputs(trace: BatchTrace, out, out_axes):
    leaves, tree = tree_flatten(out)
    axes = _axes_of_leaves(out_axes, out, leaves, "out_axes")
    results = []
    for k, (leaf, axis) in enumerate(zip(leaves, axes, strict=True)):
        if isinstance(leaf, Tensor) and leaf._trace is trace:
            value = leaf._value
            if axis is None:
                raise ValueError(
                    f"vmap: out_axes is None for output {k}, but that output depends on the "
                    "batched inputs; give it an axis, or return an unbatched value there"
                )
        else:
            if not isinstance(leaf, Tensor) and np.asarray(leaf).dtype.kind in "OSUV":
                raise TypeError(
                    f"vmap: output {k} is {leaf!r} of type {type(leaf).__name__}, which is not "
                    "an array or a number; return arrays (or pytrees of them), and keep other "
                    "values out of the mapped function's results"
                )
            if axis is None:
                results.append(leaf)
                continue
            value = _broadcast_batch(leaf, trace.size)
        nd = value.ndim if value.__class__ is np.ndarray else len(_shape(value))
        if not -nd <= axis < nd:  # an IndexError, as torch.func's, and a ValueError, as JAX's
            raise AxisError(
                f"vmap: out_axes={axis} for output {k}, which has {nd - 1} axes per example: dimension out of "
                f"range (expected to be in range of [{-nd}, {nd - 1}], but got {axis})"
            )
        results.append(value if axis == 0 else _moveaxis(value, 0, axis % nd))
    return tree_unflatten(tree, results)


def _broadcast_batch(x, size: int):
    if isinstance(x, Tensor):

        return cnp.broadcast_to(cnp.expand_dims(x, 0), (size, *x.shape))
    x = np.asarray(x)
    return np.broadcast_to(x[None], (size, *x.shape))

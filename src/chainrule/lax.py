"""JAX's structured control flow (``jax.lax``), so that code written with it runs here.

JAX needs ``scan``, ``fori_loop``, ``while_loop``, ``cond`` and ``switch`` because its
tracer cannot follow Python control flow. chainrule's transforms can, so each of these is
the Python loop or branch it stands for, and every transform sees the calls inside it:
``grad`` differentiates through all of them (``while_loop`` and ``fori_loop`` with
traced bounds included, where JAX refuses reverse mode), ``jit`` guards the branches it
took, and under ``vmap`` a ``cond`` or ``switch`` whose predicate differs between
examples runs every branch and selects per example, as JAX does.

>>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
>>> from chainrule import lax
>>> lax.scan(lambda c, x: (c + x, c * x), 0.0, np.arange(1.0, 4.0))
(np.float64(6.0), array([0., 2., 9.]))
"""

from __future__ import annotations

import builtins
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import chainrule.numpy as cnp
from chainrule import lax_ops, lax_windows
from chainrule.core.pytree import tree_flatten, tree_leaves, tree_map, tree_unflatten
from chainrule.core.tensor import Tensor
from chainrule.lax_implicit import custom_linear_solve, custom_root
from chainrule.lax_ops import *  # noqa: F403 (jax.lax's array operations)
from chainrule.lax_windows import *  # noqa: F403 (its convolutions and reductions)
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.nondiff import anywhere, batched
from chainrule.numpy.shape.updates import at
from chainrule.transforms.branches import branch_of
from chainrule.transforms.collectives import KINDS, Collective, collective_of, gather_collective
from chainrule.transforms.collectives import axis_index as _axis_index
from chainrule.transforms.custom import stop_gradient
from chainrule.transforms.vmap import named_map

__all__ = ["scan", "map", "fori_loop", "while_loop", "cond", "switch", "select", "stop_gradient",
           "custom_root", "custom_linear_solve",
           "clamp", "dynamic_slice", "dynamic_slice_in_dim", "dynamic_index_in_dim",
           "dynamic_update_slice", "dynamic_update_slice_in_dim", "dynamic_update_index_in_dim",
           "psum", "pmean", "pmax", "pmin", "axis_index", "all_gather", "ppermute", "pshuffle",
           "psum_scatter", "all_to_all", "pbroadcast", "axis_size", *lax_ops.__all__, *lax_windows.__all__]


def _length(xs, length: int | None) -> int:
    sizes = {cnp.shape(x)[0] if cnp.ndim(x) else None for x in tree_leaves(xs)}
    if None in sizes:
        raise ValueError("scan: every leaf of xs needs a leading axis to scan over; "
                         "a 0-d value has none")
    if length is not None:
        sizes.add(int(length))
    if len(sizes) > 1:
        raise ValueError(f"scan: xs and length disagree on the number of steps: {sorted(sizes)}")
    if not sizes:
        raise ValueError("scan: with no xs to scan over, give length=")
    return sizes.pop()


def _stack(ys: list):
    """One pytree of arrays with a leading axis from a list of same-structured pytrees."""
    flat = [tree_flatten(y) for y in ys]
    tree = flat[0][1]
    for _, other in flat[1:]:
        if other != tree:
            raise TypeError(f"scan: the body returned differently structured outputs: {tree} and {other}")
    return tree_unflatten(tree, [cnp.stack(column) for column in zip(*(leaves for leaves, _ in flat),
                                                                     strict=True)])


def scan(f: Callable, init: Any, xs: Any = None, length: int | None = None, reverse: bool = False,
         unroll: int | bool = 1) -> tuple[Any, Any]:
    """``(carry, ys)``: ``carry, y = f(carry, x)`` for each ``x`` along the leading axis of
    the pytree ``xs`` (or ``length`` times with ``x = None``), the ``y`` stacked.
    ``reverse=True`` runs from the last ``x`` and stacks ``ys`` in the order of ``xs``.
    ``unroll`` is taken and changes nothing (the loop is Python's).

    >>> import numpy as np
    >>> scan(lambda c, x: (c + x, c), 0.0, np.array([1.0, 2.0, 3.0]))[1]
    array([0., 1., 3.])
    """
    n = _length(xs, length)
    steps = builtins.range(n - 1, -1, -1) if reverse else builtins.range(n)
    carry, ys = init, []
    for k, i in enumerate(steps):
        x = None if xs is None else tree_map(lambda v, i=i: v[i], xs)
        new, y = _scan_step(f, carry, x)
        if k == 0:  # the carry's Python numbers take the body's dtypes, and the step runs again
            carry, promoted = _promote_weak(carry, new)
            if promoted:
                new, y = _scan_step(f, carry, x)
        _same_types(new, carry, "scan")
        carry = new
        ys.append(y)
    if reverse:
        ys.reverse()
    if n == 0:  # the outputs' shapes come from one call on zeros of an element's shape
        x = None if xs is None else tree_map(lambda v: cnp.zeros(cnp.shape(v)[1:], cnp.result_type(v)), xs)
        new, y = _scan_step(f, init, x)
        init, promoted = _promote_weak(init, new)
        if promoted:
            new, y = _scan_step(f, init, x)
        _same_types(new, init, "scan")
        return init, tree_map(lambda v: cnp.zeros((0, *cnp.shape(v)), cnp.result_type(v)), y)
    return carry, _stack(ys)


def _scan_step(f: Callable, carry, x) -> tuple:
    out = f(carry, x)
    if not isinstance(out, tuple | list) or len(out) != 2:
        length = f" of length {len(out)}" if isinstance(out, tuple | list) else ""
        raise TypeError(f"scan: the body must return a pair (carry, y), as in JAX; it returned "
                        f"{type(out).__name__}{length}")
    return out


def map(f: Callable, xs: Any, *, batch_size: int | None = None) -> Any:  # noqa: A001 (JAX's name)
    """``f`` applied to each element along the leading axis of ``xs``, results stacked.
    ``batch_size`` (JAX's, which maps over chunks of that many elements at once) is
    taken and gives the same result.

    >>> import numpy as np
    >>> map(lambda x: x * 2, np.array([1.0, 2.0]))
    array([2., 4.])
    """
    return scan(lambda _, x: (None, f(x)), None, xs)[1]


def fori_loop(lower: int, upper: int, body_fun: Callable, init_val: Any, *,
              unroll: int | bool | None = None) -> Any:
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``. Under ``vmap``
    with bounds that differ between examples, it is JAX's ``while_loop`` on ``(i, val)``:
    each example takes its own number of steps, and ``i`` is batched.

    >>> fori_loop(0, 4, lambda i, v: v + i, 0)
    6
    """
    _same_bound_types(lower, upper)
    if batched(lower) or batched(upper):
        # the counter has the bounds' dtype (a Python int takes the other's), as JAX's does
        lower = cnp.asarray(lower).astype(cnp.result_type(lower, upper))
        return while_loop(lambda c: c[0] < upper, lambda c: (c[0] + 1, body_fun(c[0], c[1])),
                          (lower, init_val))[1]
    val = init_val
    steps = builtins.range(int(lower), int(upper))
    for i in steps:
        new = body_fun(i, val)
        if i == steps.start:  # the value's Python numbers take the body's dtypes, and the step runs again
            val, promoted = _promote_weak(val, new)
            if promoted:
                new = body_fun(i, val)
        _same_types(new, val, "fori_loop")
        val = new
    if not steps:
        val = _promote_without_steps(lambda v: body_fun(steps.start, v), val, "fori_loop")
    return val


def _same_bound_types(lower, upper) -> None:
    """JAX's check of ``fori_loop``'s bounds: the same dtype, a Python number taking the
    other bound's if that is of its kind (``0`` and ``np.int32(3)``, not ``0`` and ``2.5``)."""
    (da, weak_a), (db, weak_b) = ((_PYTHON_DTYPES.get(type(b)), type(b) in (int, float)) for b in (lower, upper))
    da, db = (np.dtype(cnp.result_type(b)) if d is None else d for b, d in ((lower, da), (upper, db)))
    if da == db or (weak_a or weak_b) and da.kind == db.kind:
        return
    raise TypeError(f"fori_loop: lower and upper must have the same type, as in JAX: got {da} and {db} "
                    "(a Python number takes the other bound's type if it is of its kind)")


def while_loop(cond_fun: Callable, body_fun: Callable, init_val: Any) -> Any:
    """``val = body_fun(val)`` while ``cond_fun(val)``. Under ``vmap`` with a predicate
    that differs between examples, the body runs while it holds in any example, and an
    example whose predicate is false keeps its value, as JAX's does.

    >>> while_loop(lambda v: v < 10, lambda v: v * 2, 1)
    16
    >>> import chainrule as cr, numpy as np
    >>> cr.vmap(lambda v: while_loop(lambda c: c < 10, lambda c: c * 2, v))(np.array([1, 5, 20]))
    array([16, 10, 20])
    """
    val, first = init_val, True
    while True:
        pred = _scalar_predicate(cond_fun(val), "while_loop")
        if not (anywhere(pred) if batched(pred) else pred):
            return _promote_without_steps(body_fun, val, "while_loop") if first else val
        if not batched(pred):
            new = body_fun(val)
        else:
            with branch_of(pred):
                new = body_fun(val)
        if first:  # the carry's Python numbers take the body's dtypes, and the loop starts again
            first = False
            val, promoted = _promote_weak(val, new)
            if promoted:
                continue
        val = _select_trees(pred, new, val, "while_loop") if batched(pred) else _checked(new, val)


def _checked(new, val):
    _same_types(new, val, "while_loop")
    return new


_WEAK = (int, float, complex)  # JAX's weakly typed Python numbers (a bool is not)


def _promote_weak(carry, new) -> tuple[Any, bool]:
    """``carry`` with each Python number (JAX's weak type) cast to the dtype it takes with
    the body's output ``new`` where that is another dtype, as JAX promotes a loop's initial
    carry: ``0`` with a float32 output becomes ``np.float32(0)``; and whether any was."""
    leaves, tree = tree_flatten(carry)
    if not any(type(v) in _WEAK for v in leaves):
        return carry, False
    outs, out_tree = tree_flatten(new)
    if out_tree != tree:
        return carry, False  # (the structures differ: _same_types says so)
    promoted = False
    for k, (b, a) in enumerate(zip(leaves, outs, strict=True)):
        dtype = _type_of(a)[1]
        if type(b) not in _WEAK or dtype is None:
            continue
        dtype = np.result_type(b, dtype)
        if dtype != _PYTHON_DTYPES[type(b)]:
            leaves[k] = type(a)(b) if type(a) in _WEAK else dtype.type(b)
            promoted = True
    return (tree_unflatten(tree, leaves), True) if promoted else (carry, False)


def _promote_without_steps(body: Callable, carry, who: str):
    """The carry of a loop that takes no step: JAX traces the body all the same, and the
    carry's Python numbers take the dtypes of its outputs. When the carry holds any, the
    body runs here once on it, its result dropped (one that fails or warns on these
    values, which JAX's tracing would not compute, leaves the carry as it is)."""
    if not any(type(v) in _WEAK for v in tree_leaves(carry)):
        return carry
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            new = body(carry)
    except Exception:  # noqa: BLE001 (values JAX's tracing would not compute)
        return carry
    carry = _promote_weak(carry, new)[0]
    _same_types(new, carry, who)
    return carry


# the kinds of dtype JAX takes for a predicate or an index: cond's is a boolean or a real
# number, while_loop's a boolean, switch's an integer
_PREDICATE_KINDS = {"cond": ("buif", "a boolean or a real number"), "while_loop": ("b", "a boolean"),
                    "switch": ("iu", "an integer (a boolean or a float is refused, as JAX does)")}


def _scalar_predicate(pred, name: str):
    if not isinstance(pred, (bool, int, float, complex, np.ndarray, np.generic, Tensor)):
        raise TypeError(f"{name}: the predicate must be a scalar, got {pred!r} of type {type(pred).__name__}")
    if cnp.shape(pred) != ():
        raise TypeError(f"{name}: the predicate must be a scalar, got shape {cnp.shape(pred)}")
    kinds, what = _PREDICATE_KINDS[name]
    dtype = np.dtype(cnp.result_type(pred))
    if dtype.kind not in kinds:
        noun = {"switch": "the index", "while_loop": "cond_fun's result"}.get(name, "the predicate")
        given = "a traced value" if isinstance(pred, Tensor) else repr(pred)
        raise TypeError(f"{name}: {noun} must be {what}, got {given} of dtype {dtype}")
    return pred


_MISMATCH = {  # what differs, said of the branches (cond, switch) or of a loop's carry
    "cond": ("cond: the branches returned differently structured outputs",
             "cond: the branches returned outputs of different types"),
    "switch": ("switch: the branches returned differently structured outputs",
               "switch: the branches returned outputs of different types"),
    "while_loop": ("while_loop: the body returned differently structured outputs than the carry it was given",
                   "while_loop: the body changed the type of the carry"),
    "scan": ("scan: the body returned a carry structured differently from the one it was given",
             "scan: the body changed the type of the carry"),
    "fori_loop": ("fori_loop: the body returned a value structured differently from the one it was given",
                  "fori_loop: the body changed the type of the value it carries"),
}
_WEAK_CARRY = ("while_loop", "scan", "fori_loop")  # loops whose carry, a Python number, takes the body's dtype


def _select_trees(pred, on_true, on_false, who: str = "cond"):
    """``cnp.where(pred, ...)`` leaf by leaf, the two trees checked as JAX checks them when
    it traces both (:func:`_same_types`)."""
    _same_types(on_true, on_false, who)
    return tree_map(lambda a, b: cnp.where(pred, a, b), on_true, on_false)


def _same_types(on_true, on_false, who: str) -> None:
    """Whether two trees have the same structure and, leaf by leaf, the same shape and dtype
    (a Python number's being the 64-bit one of its kind), as JAX checks the outputs of
    branches and a loop's carry; else a TypeError. For a loop (``who`` "while_loop" or
    "scan") ``on_false`` is the carry the body was given, whose Python numbers take the
    body's dtype (JAX's weak types)."""
    structure, types = _MISMATCH[who]
    tree = tree_flatten(on_true)[1]
    if tree_flatten(on_false)[1] != tree:
        raise TypeError(f"{structure}: {tree} and {tree_flatten(on_false)[1]}")
    for k, (a, b) in enumerate(zip(tree_leaves(on_true), tree_leaves(on_false), strict=True)):
        (sa, da), (sb, db) = _type_of(a), _type_of(b)
        if sa != sb or da != db and not (
                who in _WEAK_CARRY and type(b) in _WEAK and da is not None and np.result_type(b, da) == da):
            where = f" (leaf {k})" if tree.num_leaves > 1 else ""
            when = "from one step to the next" if who in _WEAK_CARRY else "whichever way the predicate goes"
            raise TypeError(f"{types}{where}: {da}{list(sa)} and {db}{list(sb)}; as in JAX, each "
                            f"leaf must keep its shape and dtype {when} (make them agree with "
                            ".astype or broadcasting)")


_PYTHON_DTYPES = {bool: np.dtype(bool), int: np.dtype(np.int64), float: np.dtype(np.float64),
                  complex: np.dtype(np.complex128)}


def _type_of(x) -> tuple[tuple, np.dtype | None]:
    """The shape and dtype JAX gives ``x`` (a Python number: the 64-bit one of its kind)."""
    dtype = _PYTHON_DTYPES.get(type(x))
    if dtype is not None:
        return (), dtype
    return tuple(shape_of(x)), getattr(x, "dtype", None)


# The sets of branches checked as JAX checks them: their code, which one ran, and the
# operands' structure and types (with their closures, these decide the results' types)
_CHECKED_BRANCHES: set = set()


def _check_untaken(branches: Sequence[Callable], taken: int, out, operands: tuple, who: str) -> None:
    """JAX traces every branch of ``cond`` and ``switch``: a branch whose outputs differ in
    structure, shape or dtype from the taken one's is a TypeError even where it does not run.
    chainrule has no abstract values: the branches not taken run on zeros of the operands'
    shapes and dtypes (NumPy's warnings off, their results dropped), once per set of branch
    functions and operand types; one that cannot run on zeros (a Cholesky factor of a zero
    matrix, which JAX's tracing never computes) goes unchecked."""
    key = (who, taken, *[getattr(b, "__code__", b) for b in branches], *_signature(operands))
    if key in _CHECKED_BRANCHES:
        return
    leaves, tree = tree_flatten(operands)
    zeros = tree_unflatten(tree, [np.zeros(*_type_of(v)) if isinstance(v, np.ndarray | np.generic | Tensor) else v
                                  for v in leaves])
    for k, branch in enumerate(branches):
        if k == taken:
            continue
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                other = branch(*zeros)
        except Exception:  # noqa: BLE001 (values JAX's tracing would not compute: left unchecked)
            continue
        _same_types(*((out, other) if taken < k else (other, out)), who)
    if len(_CHECKED_BRANCHES) > 4096:
        _CHECKED_BRANCHES.clear()
    _CHECKED_BRANCHES.add(key)


def _signature(operands: tuple) -> tuple:
    """The types of ``operands`` for the key of :func:`_check_untaken`: each array's shape
    and dtype, each number's type (cheap to read); their pytree's structure and leaves'
    types where they are containers."""
    sig = []
    for v in operands:
        if v.__class__ is np.ndarray or isinstance(v, Tensor):
            sig.append((tuple(v.shape), v.dtype))
        elif v.__class__ in _PYTHON_DTYPES:
            sig.append(v.__class__)
        else:
            leaves, tree = tree_flatten(operands)
            return (tree, *[_type_of(leaf) for leaf in leaves])
    return tuple(sig)


def cond(pred, true_fun: Callable, false_fun: Callable, *operands) -> Any:
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``. Under ``vmap``
    with a predicate that differs between examples, both run and each example takes its
    branch's result.

    >>> cond(3 > 2, lambda x: x + 1, lambda x: x - 1, 10)
    11

    As JAX's, the branch not taken must return outputs of the same structure, shapes and
    dtypes (JAX traces both): a TypeError otherwise (:func:`_check_untaken`).
    """
    _scalar_predicate(pred, "cond")
    if batched(pred):
        with branch_of(pred):
            on_true = true_fun(*operands)
        with branch_of(cnp.logical_not(pred)):
            on_false = false_fun(*operands)
        return _select_trees(pred, on_true, on_false)
    taken = 0 if pred else 1
    out = (true_fun, false_fun)[taken](*operands)
    _check_untaken((true_fun, false_fun), taken, out, operands, "cond")
    return out


def switch(index, branches: Sequence[Callable], *operands) -> Any:
    """``branches[index](*operands)``, ``index`` clamped into range as JAX does. Under
    ``vmap`` with an index that differs between examples, every branch runs and each
    example takes its own.

    >>> switch(5, [lambda x: x, lambda x: -x], 2)
    -2
    """
    if not branches:
        raise ValueError("switch: give at least one branch")
    _scalar_predicate(index, "switch")
    last = len(branches) - 1
    if batched(index):
        index = cnp.clip(index, 0, last)
        with branch_of(index == last):
            out = branches[last](*operands)
        for k in builtins.range(last - 1, -1, -1):
            with branch_of(index == k):
                taken = branches[k](*operands)
            out = _select_trees(index == k, taken, out, "switch")
        return out
    taken = builtins.min(builtins.max(int(index), 0), last)
    out = branches[taken](*operands)
    _check_untaken(branches, taken, out, operands, "switch")
    return out


def select(pred, on_true, on_false):
    """``on_true`` where ``pred`` holds, else ``on_false``, as ``jax.lax.select``: the two
    of one shape and dtype, ``pred`` 0-d or of their shape (a TypeError otherwise, as in
    JAX; ``cnp.where`` broadcasts and promotes).

    >>> import numpy as np
    >>> select(np.array([True, False]), np.array([1, 2]), np.array([3, 4]))
    array([1, 4])
    """
    lax_ops._check_select("select", pred, (on_false, on_true))
    return cnp.where(pred, on_true, on_false)


def clamp(min, x, max):  # noqa: A002 (JAX's names)
    """``x`` clipped into ``[min, max]`` (``jax.lax.clamp``'s argument order).

    >>> import numpy as np
    >>> clamp(0.0, np.array([-1.0, 0.5, 2.0]), 1.0)
    array([0. , 0.5, 1. ])

    As in JAX, the three have one dtype, and the derivative goes to ``x`` where it lies
    strictly between the bounds, to ``min`` where it is above ``x`` (and below ``max``),
    to ``max`` where it is below ``x``: at a tie, to none of them.
    """
    lax_ops._check("clamp", "buif", (min, x, max))
    for name, bound in (("min", min), ("max", max)):
        if shape_of(bound) != () and tuple(shape_of(bound)) != tuple(shape_of(x)):
            raise TypeError(f"lax.clamp: {name} must be 0-d or of the operand's shape, as in JAX, got "
                            f"{tuple(shape_of(bound))} for an operand of shape {tuple(shape_of(x))}")
    if lax_ops._kind(x) != "f":
        return cnp.clip(x, min, max)
    # XLA's min(max(x, min), max), whose max(-0.0, 0.0) is 0.0 and min -0.0 (NumPy's clip keeps x)
    out = lax_ops.min(lax_ops.max(x, min), max)
    above, below = cnp.less(max, x), cnp.greater(min, x) & cnp.less(min, max)
    inside = cnp.greater(x, min) & cnp.less(x, max)
    return cnp.where(above, max, cnp.where(below, min, cnp.where(inside, x, stop_gradient(out))))


def _starts(shape, start_indices, sizes, name: str) -> list:
    """The start of a slice of ``sizes`` along each axis, JAX's: a negative start counts
    from the end, and the start is clamped so that the slice fits (an index out of range
    moves the slice, it is not an error)."""
    if len(start_indices) != len(shape) or len(sizes) != len(shape):
        raise TypeError(f"{name}: an operand of shape {tuple(shape)} needs {len(shape)} start "
                        f"indices and sizes; got {len(start_indices)} and {len(sizes)}")
    if any(not 0 <= k <= n for k, n in zip(sizes, shape, strict=True)):
        raise TypeError(f"{name}: the sizes {tuple(sizes)} do not fit in the shape {tuple(shape)}")
    return [cnp.clip(cnp.where(s < 0, s + n, s), 0, n - k)
            for s, k, n in zip(start_indices, sizes, shape, strict=True)]


def dynamic_slice(operand, start_indices: Sequence, slice_sizes: Sequence[int]):
    """``operand[s0:s0 + k0, s1:s1 + k1, ...]`` for starts that may be traced or differ
    between examples under ``vmap`` (``jax.lax.dynamic_slice``); a negative start counts
    from the end, and each start is clamped to ``[0, n - k]``, as JAX's is.

    >>> import numpy as np
    >>> dynamic_slice(np.arange(5.0), (3,), (3,))
    array([2., 3., 4.])
    """
    shape = shape_of(operand)
    starts = _starts(shape, start_indices, slice_sizes, "dynamic_slice")
    for axis, (start, size) in enumerate(zip(starts, slice_sizes, strict=True)):
        if size != shape[axis]:
            operand = cnp.take(operand, start + np.arange(size), axis=axis)
    return operand


def dynamic_slice_in_dim(operand, start_index, slice_size: int, axis: int = 0):
    """:func:`dynamic_slice` along one ``axis`` (``jax.lax.dynamic_slice_in_dim``)."""
    shape = shape_of(operand)
    axis = axis % len(shape)
    return dynamic_slice(operand, [start_index if k == axis else 0 for k in range(len(shape))],
                         [slice_size if k == axis else n for k, n in enumerate(shape)])


def dynamic_index_in_dim(operand, index, axis: int = 0, keepdims: bool = True):
    """The slice at ``index`` along ``axis`` (``jax.lax.dynamic_index_in_dim``); the index
    clamped into range."""
    out = dynamic_slice_in_dim(operand, index, 1, axis)
    return out if keepdims else cnp.squeeze(out, axis)


def dynamic_update_slice(operand, update, start_indices: Sequence):
    """``operand`` with the block at ``start_indices`` replaced by ``update``, out of place
    (``jax.lax.dynamic_update_slice``); each start clamped so that the block fits.

    >>> import numpy as np
    >>> dynamic_update_slice(np.zeros(4), np.ones(2), (3,))
    array([0., 0., 1., 1.])
    """
    lax_ops._check("dynamic_update_slice", "buifc", (operand, update))
    shape, sizes = shape_of(operand), shape_of(update)
    if len(sizes) != len(shape):
        raise TypeError(f"dynamic_update_slice: an update of shape {tuple(sizes)} for an operand "
                        f"of shape {tuple(shape)}; they need the same number of axes")
    starts = _starts(shape, start_indices, sizes, "dynamic_update_slice")
    nd = len(shape)
    index = tuple(cnp.reshape(start + np.arange(k), (1,) * axis + (k,) + (1,) * (nd - axis - 1))
                  for axis, (start, k) in enumerate(zip(starts, sizes, strict=True)))
    return at(operand)[index].set(update)


def dynamic_update_slice_in_dim(operand, update, start_index, axis: int):
    """:func:`dynamic_update_slice` along one ``axis``."""
    axis = axis % len(shape_of(operand))
    return dynamic_update_slice(operand, update, [start_index if k == axis else 0
                                                  for k in range(len(shape_of(operand)))])


def dynamic_update_index_in_dim(operand, update, index, axis: int):
    """``operand`` with the slice at ``index`` along ``axis`` replaced by ``update`` (which
    may lack that axis)."""
    axis = axis % len(shape_of(operand))
    if len(shape_of(update)) == len(shape_of(operand)) - 1:
        update = cnp.expand_dims(update, axis)
    return dynamic_update_slice_in_dim(operand, update, index, axis)


# -- collectives over the batch axis of a named vmap (vmap(f, axis_name="i")) ----------------------
def _collective(x, axis_name, make: Callable):
    if isinstance(axis_name, tuple | list):  # several maps: one after the other
        for name in axis_name:
            x = _collective(x, name, make)
        return x
    collective = make(axis_name)
    return tree_map(collective, x)


def psum(x, axis_name):
    """The sum of ``x`` over the examples of the ``vmap`` named ``axis_name`` (a pytree
    ``x`` leaf by leaf; ``psum(1, name)`` is the batch size), as ``jax.lax.psum``; a
    ``grad`` inside the map differentiates it as JAX does (its transpose is ``psum``).

    >>> import chainrule as cr, numpy as np
    >>> cr.vmap(lambda v: v / psum(v, "i"), axis_name="i")(np.array([1.0, 3.0]))
    array([0.25, 0.75])
    >>> cr.vmap(cr.grad(lambda v: psum(v, "i") * v), axis_name="i")(np.array([1.0, 3.0]))
    array([8., 8.])
    """
    return _collective(x, axis_name, lambda name: Collective(KINDS["psum"], name))


def pmean(x, axis_name):
    """The mean of ``x`` over the examples of the ``vmap`` named ``axis_name``."""
    return _collective(x, axis_name, lambda name: Collective(KINDS["pmean"], name))


def pmax(x, axis_name):
    """The largest ``x`` of the examples of the ``vmap`` named ``axis_name`` (its
    derivative shared by the examples that hold it)."""
    return _collective(x, axis_name, lambda name: Collective(KINDS["pmax"], name))


def pmin(x, axis_name):
    """The smallest ``x`` of the examples of the ``vmap`` named ``axis_name``."""
    return _collective(x, axis_name, lambda name: Collective(KINDS["pmin"], name))


def all_gather(x, axis_name, *, axis: int = 0, tiled: bool = False):
    """Every example's ``x``, stacked along ``axis`` (concatenated if ``tiled``), in every
    example of the ``vmap`` named ``axis_name``, as ``jax.lax.all_gather``."""
    return _collective(x, axis_name, lambda name: gather_collective(name, axis, tiled))


def ppermute(x, axis_name, perm):
    """Example ``dst`` gets example ``src``'s ``x`` for each pair ``(src, dst)`` of
    ``perm`` in the ``vmap`` named ``axis_name`` (zeros where no example sends), as
    ``jax.lax.ppermute``; its transpose sends back.

    >>> import chainrule as cr, numpy as np
    >>> cr.vmap(lambda v: ppermute(v, "i", [(0, 1), (1, 2), (2, 0)]), axis_name="i")(np.array([1.0, 2.0, 3.0]))
    array([3., 1., 2.])
    """
    return _collective(x, axis_name, lambda name: collective_of("ppermute", name, perm=perm))


def pshuffle(x, axis_name, perm):
    """Example ``i`` gets example ``perm[i]``'s ``x``, as ``jax.lax.pshuffle``."""
    return _collective(x, axis_name, lambda name: collective_of("pshuffle", name, perm=perm))


def psum_scatter(x, axis_name, *, scatter_dimension: int = 0, tiled: bool = False):
    """The sum of ``x`` over the examples, example ``i`` keeping entry ``i`` (its part, if
    ``tiled``) along ``scatter_dimension``, as ``jax.lax.psum_scatter``."""
    return _collective(x, axis_name, lambda name: collective_of(
        "psum_scatter", name, dim=scatter_dimension, tiled=tiled))


def all_to_all(x, axis_name, split_axis: int, concat_axis: int, *, tiled: bool = False):
    """Example ``i`` gets part ``i`` along ``split_axis`` of every example's ``x``, joined
    along ``concat_axis``, as ``jax.lax.all_to_all``."""
    return _collective(x, axis_name, lambda name: collective_of(
        "all_to_all", name, split=split_axis, concat=concat_axis, tiled=tiled))


def pbroadcast(x, axis_name, source: int):
    """Example ``source``'s ``x`` in every example, as ``jax.lax.pbroadcast``."""
    return _collective(x, axis_name, lambda name: collective_of("pbroadcast", name, source=source))


def axis_size(axis_name) -> int:
    """The number of examples of the ``vmap`` named ``axis_name`` (of several: their
    product), as ``jax.lax.axis_size``."""
    if isinstance(axis_name, tuple | list):
        return int(np.prod([axis_size(name) for name in axis_name]))
    return named_map(axis_name).size


def axis_index(axis_name):
    """Each example's position along the ``vmap`` named ``axis_name`` (an int), as
    ``jax.lax.axis_index``.

    >>> import chainrule as cr, numpy as np
    >>> cr.vmap(lambda v: v * axis_index("i"), axis_name="i")(np.ones(3))
    array([0., 1., 2.])
    """
    return _axis_index(axis_name)

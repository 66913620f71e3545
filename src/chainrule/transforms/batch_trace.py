"""The batching trace of :func:`~chainrule.transforms.vmap.vmap`: the Tensors that hold a
batch, the trace that hands each primitive to its batching rule, and the rules of last resort.

A :class:`BatchTrace` is one more trace on the trace stack. Its Tensors hold a whole
batch with the batch axis in front, and report one example's shape; a primitive called
on them goes through ``Primitive.__call__`` like every other call and is handed to the
primitive's batching rule (``Primitive.batch``, declared beside its other rules), which
computes the batched result with NumPy's own broadcasting, axis arguments and stacked
linear algebra. The calls the rule makes go on to the traces below, so ``grad``,
``jvp`` and ``jit`` around or inside a ``vmap`` see batched calls. A primitive without a
rule (a user's ``chainrule.primitive``) runs once per example, with a warning naming it.
The unit basis that ``jacrev`` and ``jacfwd`` map over is a batch of its own
(:class:`UnitBatchTensor`), scaled and reshaped without being written out.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.errors import TensorError
from chainrule.core.global_state import warn_once
from chainrule.core.primitive import RECORDING
from chainrule.core.pytree import tree_flatten, tree_map, tree_unflatten
from chainrule.core.rng import default_generator
from chainrule.core.tensor import NO_KWARGS, Tensor, undifferentiated
from chainrule.core.trace import Trace, _levels, escaped_tensor_error, note_transform_view
from chainrule.core.trace_protocol import unbox_own
from chainrule.core.user_primitive import engine_output, user_output
from chainrule.numpy import batching
from chainrule.numpy.batching import (
    NONDIFF_BATCH,
    elementwise,
    lift,
    nondiff_elementwise,
    per_example,
    plain_or_recorded,
    reduction,
)

__all__ = ["BatchTrace", "BatchTensor", "UnitBatchTensor", "UnitBasis", "unit_basis",
           "loop_over_examples", "batch_composite"]

_new_tensor = object.__new__
_ndarray = np.ndarray


class BatchTensor(Tensor):
    """A Tensor of a :class:`BatchTrace`: its value holds the batch along axis 0, and its
    ``shape`` is one example's (what the function being mapped sees)."""

    __slots__ = ()

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._value.shape[1:])


class UnitBatchTensor(BatchTensor):
    """A BatchTensor whose example ``i``, flattened, is ``scale[i]`` times unit vector ``i``
    (the unit basis that ``jacrev``/``jacfwd`` map over, and what scaling, reshaping and
    matrix products make of it). ``scale`` lets a matrix product with it scale rows or
    columns instead of multiplying by the zeros; the dense value is made only when
    something else reads it. (``scale`` is None once the value has been replaced.)"""

    __slots__ = ("scale", "example", "dense")

    @property
    def _value(self):
        dense = self.dense
        if dense is None:
            n = len(self.scale)
            if isinstance(self.scale, Tensor):  # recorded by chainrule.jit: zeros, then the scales
                dense = cnp.diag(self.scale)
            else:
                dense = np.zeros((n, n), self.scale.dtype)
                dense.flat[:: n + 1] = self.scale
            dense = self.dense = dense.reshape((n, *self.example))
        return dense

    @_value.setter
    def _value(self, value):
        self.dense, self.scale = value, None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.example if self.scale is not None else tuple(self.dense.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return self.scale.dtype if self.scale is not None else self.dense.dtype


class BatchTrace(Trace):
    """The trace of one :func:`vmap`: every value carries ``size`` examples along axis 0."""

    __slots__ = ("level", "name", "size", "open", "below", "effects", "axis_name")
    batches = True  # undifferentiated calls (comparisons, argmax, masks) come here too

    def __init__(self, size: int, below=None):
        self.level = next(_levels)
        self.name = "vmap"
        self.size = size
        self.open = True
        # the trace of chainrule.jit or of an outer vmap under the inputs, if any: random
        # draws and other calls without a traced argument go there
        self.below = below
        self.effects: dict = {}  # what the call being batched does besides computing
        self.axis_name = None  # the name collectives (chainrule.lax.psum...) know the map by
        RECORDING[0] += 1

    def box(self, value) -> BatchTensor:
        t = _new_tensor(BatchTensor)
        t._value, t._trace, t._node = value, self, None
        return t

    def unit(self, scale, example: tuple, value=None) -> UnitBatchTensor:
        """A batch whose example ``i`` is ``scale[i]`` times unit vector ``i`` (of shape
        ``example``); ``value``: its dense value, if made already."""
        t = _new_tensor(UnitBatchTensor)
        t.dense, t._trace, t._node, t.scale, t.example = value, self, None, scale, example
        return t

    def close(self) -> None:
        if self.open:
            RECORDING[0] -= 1
        self.open = False

    def _unbox(self, args):
        """The arguments' values and, for each, whether it carries the batch (a tuple of
        such flags for a tuple or list argument): what the batching rules take."""
        vals, batched, _ = unbox_own(self, args, into_sequences=True)
        return vals, tuple(batched)

    # Elementwise calls of one or two arguments are most of a batched program: their rule
    # (``batching.elementwise``: align the examples' axes, call once) is spelled out here,
    # and plain values go straight to the NumPy function, as the other traces' hot paths do;
    # so is the rule of a reduction over a whole example (``batching.reduction``).
    def unary(self, prim, a, kwargs=NO_KWARGS):
        rule = prim.batch
        if prim.multiple_outputs or not self.open:
            return self._process(prim, (a,), kwargs)
        v = a._value
        if rule is elementwise and not kwargs:
            ans = prim(v) if isinstance(v, Tensor) else prim.fun(v)
        elif rule is reduction and (not kwargs or kwargs.keys() <= _AXIS_KEYWORDS
                                    and not isinstance(kwargs.get("axis"), Tensor)):
            # (the sums of a softmax and of unbroadcast: axes of one example, not a batch)
            try:
                ans = reduction(prim, _ONE_BATCHED, v, **kwargs)
            except IndexError:  # an axis out of range: the general path says which example
                return self._process(prim, (a,), kwargs)
        else:
            return self._process(prim, (a,), kwargs)
        t = _new_tensor(BatchTensor)
        t._value, t._trace, t._node = ans, self, None
        return t

    def binary(self, prim, a, b, kwargs=NO_KWARGS):
        if prim.batch is not elementwise or kwargs or prim.multiple_outputs or not self.open:
            return self._process(prim, (a, b), kwargs)
        if a.__class__ is UnitBatchTensor or b.__class__ is UnitBatchTensor:
            if prim is cnp.multiply:
                scaled = _unit_times(self, a, b)
                if scaled is not None:
                    return scaled
        # the batched operand gets singleton axes after the batch axis up to the other
        # operand's rank of one example, so that broadcasting lines the examples up
        # (the ranks of arrays read here: the call costs as much as the rest of the test)
        if isinstance(a, Tensor) and a._trace is self:
            va = a._value
            a_own, na = True, (va.ndim if va.__class__ is _ndarray else _operand_ndim(va)) - 1
        else:
            va = a
            a_own, na = False, a.ndim if a.__class__ is _ndarray else _operand_ndim(a)
        if isinstance(b, Tensor) and b._trace is self:
            vb = b._value
            b_own, nb = True, (vb.ndim if vb.__class__ is _ndarray else _operand_ndim(vb)) - 1
        else:
            vb = b
            b_own, nb = False, b.ndim if b.__class__ is _ndarray else _operand_ndim(b)
        if na != nb:
            if na < -1 or nb < -1:  # a list, a dtype...: the general rule
                return self._process(prim, (a, b), kwargs)
            if a_own and na < nb:
                va = lift(va, nb - na)
            elif b_own and nb < na:
                vb = lift(vb, na - nb)
        elif na < -1:
            return self._process(prim, (a, b), kwargs)
        if va.__class__ is _ndarray and vb.__class__ is _ndarray:  # (most calls: no Tensor below)
            ans = prim.fun(va, vb)
        else:
            ans = prim(va, vb) if isinstance(va, Tensor) or isinstance(vb, Tensor) else prim.fun(va, vb)
        t = _new_tensor(BatchTensor)
        t._value, t._trace, t._node = ans, self, None
        return t

    def process(self, prim, args, kwargs):
        if len(args) == 2 and prim.batch is elementwise:
            return self.binary(prim, args[0], args[1], kwargs)
        if len(args) == 1 and isinstance(args[0], Tensor) and args[0]._trace is self:
            return self.unary(prim, args[0], kwargs)
        return self._process(prim, args, kwargs)

    def _process(self, prim, args, kwargs):
        if not self.open:
            raise escaped_tensor_error(self, prim)
        if prim.batch is batching.matmul and len(args) == 2 and not kwargs:
            product = _unit_matmul(self, *args)
            if product is not None:
                return self.box(product)
        vals, batched = self._unbox(args)
        if kwargs and any(isinstance(v, Tensor) and v._trace is self for v in kwargs.values()):
            ans = loop_over_examples(self, prim, args, kwargs)
        else:
            rule = prim.batch
            if rule is None:
                _warn_loop(prim.__name__)
                ans = loop_over_examples(self, prim, args, kwargs)
            else:
                try:
                    ans = rule(prim, batched, *vals, **kwargs)
                except IndexError as error:
                    raise _example_error(self, prim, args, kwargs, error) from None
                if (rule in _KEEP_UNITS and args[0].__class__ is UnitBatchTensor
                        and args[0].scale is not None and len(args) <= 2
                        and (not kwargs or kwargs == _C_ORDER) and plain_or_recorded(ans)):
                    # the same order of elements: still unit vectors, scaled alike
                    return self.unit(args[0].scale, tuple(ans.shape[1:]), ans)
                if ans is NotImplemented:  # a case the rule does not vectorise
                    if rule is not per_example:
                        _warn_loop(prim.__name__, "for these arguments")
                    ans = loop_over_examples(self, prim, args, kwargs)
        if prim.multiple_outputs:
            return type(ans)(*map(self.box, ans)) if hasattr(ans, "_fields") else tuple(
                map(self.box, ans)
            )
        out = self.box(ans)
        if prim.makes_view and isinstance(args[0], Tensor):
            note_transform_view(args[0], out, prim, tuple(args[1:]), kwargs)
        return out

    def composite(self, prim, args):
        if not self.open:
            raise escaped_tensor_error(self, prim)
        return batch_composite(prim, self, args)

    def record(self, fun: Callable, args, kwargs, **effects):
        """A function without a derivative (a comparison, ``argmax``, a random draw) called
        on batched values: its batching rule, or one call per example. ``effects`` (a
        random draw's, say) go with the calls to the trace of ``chainrule.jit`` below."""
        if not effects and not self.effects:  # (the common case: nothing to hand on)
            return self._record(fun, args, kwargs)
        outer, self.effects = self.effects, effects
        try:
            return self._record(fun, args, kwargs)
        finally:
            self.effects = outer

    def _record(self, fun: Callable, args, kwargs):
        if not self.open:
            raise escaped_tensor_error(self, _Named(fun))
        vals, batched = self._unbox(args)
        kw_batched = any(isinstance(v, Tensor) and v._trace is self for v in kwargs.values())
        if not kw_batched and not self.effects and not batching.any_batched(batched):
            # handed down by the call_below of a vmap inside this one (a comparison of its
            # batched values): the same for every example here (unlike a random draw, each
            # example's own), so passed on down unboxed
            return self.call_below(fun, *vals, **kwargs)
        rule = _nondiff_rule(fun)
        if kw_batched and not getattr(rule, "batched_keywords", False):
            rule = None
        ans = None
        if rule is nondiff_elementwise and not kwargs and (self.below is None or not self.below.open):
            # (comparisons and masks in the rules: plain values, nothing below to record
            # them, so nondiff_elementwise's call needs no look for a trace below)
            aligned = _aligned_plain(vals, batched)
            if aligned is not None:
                ans = fun(*aligned)  # (a tuple of several results: np.modf, scipy.special.sici)
                if ans.__class__ is np.ndarray:
                    return self.box(ans)
        if ans is not None:
            pass
        elif rule is None:
            ans = loop_over_examples(self, fun, args, kwargs, call=self.call_below)
        else:
            try:
                ans = rule(self, fun, batched, *vals, **kwargs)
            except IndexError as error:
                raise _example_error(self, fun, args, kwargs, error, call=self.call_below) from None
            if ans is NotImplemented:
                ans = loop_over_examples(self, fun, args, kwargs, call=self.call_below)
        if isinstance(ans, tuple | list):  # (a nested result, histogramdd's, as the function gives it)
            return user_output(tree_map(self.box, ans))
        return self.box(ans)

    def foreign(self, fun: Callable, args, kwargs):
        """A NumPy function that chainrule neither mirrors nor differentiates
        (``np.histogram2d``) on batched values: without a batching rule, it runs once per
        example and the results are stacked, with a warning naming it, as a primitive
        without a batching rule does."""
        if _nondiff_rule(fun) is None:
            _warn_loop(getattr(fun, "__name__", repr(fun)), stacklevel=5)
        return self.record(fun, args, kwargs)

    def call_below(self, fun: Callable, *args, **kwargs):
        """``fun`` (without a derivative) on unboxed values: recorded by the trace of
        ``chainrule.jit`` below, if there is one, so that a replay computes it again."""
        args = tuple(map(undifferentiated, args))
        kwargs = {k: undifferentiated(v) for k, v in kwargs.items()}
        trace = _innermost(args, kwargs) or (self.below if self.below and self.below.open else None)
        if trace is not None:
            return trace.record(fun, args, kwargs, **self.effects)
        return fun(*args, **kwargs)

    def guard(self, t) -> None:
        """Library code read a batched value as a whole (a shape check, a branch for the
        batch at once); nothing to record."""


def _aligned_plain(vals, batched):
    """``batching.align`` for plain values (arrays and numbers, batched or not); None if
    one is anything else (a Tensor of a trace below, a list, a tuple argument)."""
    ranks = []
    for v, b in zip(vals, batched, strict=True):
        if b is not True and b is not False or isinstance(v, Tensor):
            return None
        n = _operand_ndim(v)
        if n < 0:
            return None
        ranks.append(n - b)
    r = max(ranks, default=0)
    return [lift(v, r - n) if b else v for v, b, n in zip(vals, batched, ranks, strict=True)]


def _operand_ndim(x) -> int:
    """The number of axes of an array, Tensor or number; -9 for anything else."""
    if x.__class__ is np.ndarray:
        return x.ndim
    if isinstance(x, np.ndarray | Tensor | np.generic):
        return len(x.shape)
    if isinstance(x, int | float | complex):
        return 0
    return -9


# -- the unit basis of jacrev and jacfwd ------------------------------------------------------
class UnitBasis:
    """The unit vectors of an array of ``shape``, stacked along axis 0: shape
    ``(size, *shape)``. ``vmap`` over it (``in_axes=0``) knows what it is, so it never
    writes it out and multiplies it by a matrix without a GEMM; anything else reads it
    as the array it stands for (``np.asarray``)."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = (math.prod(shape), *shape), np.dtype(dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        n = self.shape[0]
        return np.eye(n, dtype=dtype or self.dtype).reshape(self.shape)


def unit_basis(shape, dtype) -> UnitBasis:
    """The unit vectors of an array of ``shape``, stacked: shape ``(size, *shape)``.

    >>> np.asarray(unit_basis((2,), np.float64))
    array([[1., 0.],
           [0., 1.]])
    """
    return UnitBasis(tuple(shape), dtype)


# keyword arguments of a reduction that say how, never what (so never batched)
_AXIS_KEYWORDS = frozenset(("axis", "keepdims", "dtype"))
_ONE_BATCHED = (True,)

# calls that keep the order of an example's elements: a unit batch stays one
_KEEP_UNITS = (batching.reshape, batching.expand_dims, batching.squeeze)
_C_ORDER = {"order": "C"}


def _finite(x) -> bool:
    """Whether every element of ``x`` is finite (a sum that overflows says no: then the
    caller only takes the longer way)."""
    if x.__class__ is float:
        return math.isfinite(x)
    if x.__class__ is int or x.__class__ is bool:
        return True
    kind = x.dtype.kind if hasattr(x, "dtype") else "f"
    return kind in "biu" or (kind in "fc" and bool(np.isfinite(x.sum() if hasattr(x, "sum") else x)))


def _unit_times(trace, a, b):
    """``a * b`` (one a unit batch of ``trace``, the other unbatched) as a unit batch, or
    None when the product is not one: the other operand widens the examples, is not
    finite (0 * inf is NaN, not 0) or not a plain value. (The scales' product has the
    dtype of the dense product: NumPy promotes both alike.)"""
    unit, other = (a, b) if a.__class__ is UnitBatchTensor and a._trace is trace else (b, a)
    if (unit._trace is not trace or unit.scale is None or not plain_or_recorded(other, True)
            or not _finite(other)):
        return None
    if isinstance(other, np.ndarray | Tensor) and other.ndim:
        if other.shape == unit.example:
            other = other.reshape(-1)
        elif np.broadcast_shapes(other.shape, unit.example) != unit.example:
            return None
        else:
            other = np.broadcast_to(other, unit.example).reshape(-1)
    return trace.unit(unit.scale * other, unit.example)


def _unit_matmul(trace, a, b):
    """``matmul`` of a unit batch of vectors (or rows or columns) and a finite matrix, by
    scaling the matrix's rows (unit on the left) or columns (on the right); None when
    that is not the case."""
    if a.__class__ is UnitBatchTensor and a._trace is trace and a.scale is not None:
        unit, m, left = a, b, True
    elif b.__class__ is UnitBatchTensor and b._trace is trace and b.scale is not None:
        unit, m, left = b, a, False
    else:
        return None
    if not plain_or_recorded(m) or m.ndim != 2:
        return None
    example = unit.example
    k = m.shape[0] if left else m.shape[1]
    if example not in (((k,), (1, k)) if left else ((k,), (k, 1))) or not _finite(m):
        return None
    # example i is scale[i] e_i: e_i @ m is row i of m, m @ e_i its column i
    out = unit.scale[:, None] * m if left else (m * unit.scale).T
    if len(example) == 1:
        return out
    return out[:, None, :] if left else out[:, :, None]


class _Named:
    def __init__(self, fun):
        self.__name__ = getattr(fun, "__name__", repr(fun))


def _nondiff_rule(fun):
    """The batching rule of a function without a derivative (None: none, or unhashable)."""
    try:
        rule = NONDIFF_BATCH.get(fun)
    except TypeError:
        return None
    return nondiff_elementwise if rule is None and isinstance(fun, np.ufunc) else rule


def _innermost(args, kwargs):
    top = None
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor):
            t = a._trace
        elif isinstance(a, list | tuple):
            t = _innermost(a, {})
        else:
            continue
        if t is not None and (t.records or t.batches) and (top is None or t.level > top.level):
            top = t
    return top


def _warn_loop(name: str, case: str = "", stacklevel: int = 4) -> None:
    warn_once(
        ("vmap loop", name, case),
        f"chainrule.vmap: {name} has no batching rule{' ' + case if case else ''}, so it "
        "runs once per example and the results are stacked. Declare one with "
        "chainrule.core.primitive.def_batch for speed.",
        stacklevel=stacklevel,
    )


def _example(v, b: int, batched):
    """Example ``b`` of an unboxed argument (a tuple argument looked into)."""
    if batched is True:
        return v[b]
    if isinstance(batched, tuple):
        return type(v)(x[b] if f else x for x, f in zip(v, batched, strict=True))
    return v


def loop_over_examples(trace: BatchTrace, fun, args, kwargs, call=None):
    """``fun`` once per example (each batched argument indexed by the example), the
    results stacked along a new axis 0: the batching rule of last resort."""

    vals, batched = trace._unbox(args)
    kw_batched = {k: isinstance(v, Tensor) and v._trace is trace for k, v in kwargs.items()}
    kvals = {k: v._value if kw_batched[k] else v for k, v in kwargs.items()}
    if trace.size == 0:
        return _empty_batch_of(fun, vals, batched, kvals, kw_batched, call)
    results = []
    for b in range(trace.size):
        a = [_example(v, b, f) for v, f in zip(vals, batched, strict=True)]
        kw = {k: v[b] if kw_batched[k] else v for k, v in kvals.items()}
        results.append(engine_output(call(fun, *a, **kw) if call is not None else fun(*a, **kw)))
    first = results[0]
    if isinstance(first, tuple | list):
        for k in range(len(first)):
            _same_shapes(fun, [r[k] for r in results])
        return type(first)(
            cnp.stack([r[k] for r in results]) for k in range(len(first))
        ) if not hasattr(first, "_fields") else type(first)(
            *(cnp.stack([r[k] for r in results]) for k in range(len(first))))
    _same_shapes(fun, results)
    return cnp.stack(results)


def _same_shapes(fun, results) -> None:
    shapes = {np.shape(r) if not isinstance(r, Tensor) else r.shape for r in results}
    if len(shapes) > 1:
        raise TensorError(  # a ValueError, and torch.func's RuntimeError
            f"chainrule.vmap: {getattr(fun, '__name__', fun)} gives results of different "
            f"shapes {sorted(shapes)} for different examples, which cannot form one batch "
            "(its output shape depends on the values)"
        )


def _example_error(trace: BatchTrace, fun, args, kwargs, error: IndexError, call=None) -> IndexError:
    """The error of a batched call that indexed out of bounds, as the function written for
    one example sees it: the error of the first example that raises one when run on its
    own (its axes counted as the example's, not the batch's), or ``error`` if none does."""
    vals, batched = trace._unbox(args)
    kw_batched = {k: isinstance(v, Tensor) and v._trace is trace for k, v in kwargs.items()}
    kvals = {k: v._value if kw_batched[k] else v for k, v in kwargs.items()}
    for b in range(trace.size):
        a = [_example(v, b, f) for v, f in zip(vals, batched, strict=True)]
        kw = {k: v[b] if kw_batched[k] else v for k, v in kvals.items()}
        try:
            call(fun, *a, **kw) if call is not None else fun(*a, **kw)
        except np.exceptions.AxisError as e:
            return e  # an axis out of one example's bounds is out of every one's: the plain call's words
        except IndexError as e:
            return type(e)(f"{e} (in example {b} of the {trace.size} that vmap maps over)")
    return error


def _empty_batch_of(fun, vals, batched, kvals, kw_batched, call):
    """The loop's result for an empty batch: ``fun`` runs once on an example of zeros (of
    each batched argument's example shape and dtype, and a Tensor where it is one) for the
    shape and dtype of its result, which then gets a batch axis of length 0."""

    def zeros_like_example(v, flag):
        if flag is True:
            return cnp.concatenate([v, np.zeros((1, *tuple(v.shape)[1:]), v.dtype)])[0]
        if isinstance(flag, tuple):
            return type(v)(zeros_like_example(x, f) for x, f in zip(v, flag, strict=True))
        return v

    a = [zeros_like_example(v, f) for v, f in zip(vals, batched, strict=True)]
    kw = {k: zeros_like_example(v, kw_batched[k]) for k, v in kvals.items()}
    try:
        with np.errstate(all="ignore"):
            one = engine_output(call(fun, *a, **kw) if call is not None else fun(*a, **kw))
    except Exception as e:
        raise ValueError(
            f"chainrule.vmap: {getattr(fun, '__name__', fun)} runs once per example, and on an "
            "empty batch it could not run on a stand-in example of zeros to tell the shape "
            f"of its result ({type(e).__name__}: {e})"
        ) from e

    def empty(r):  # what stacking gives, less its one example
        return cnp.stack([r])[:0]

    if isinstance(one, tuple | list):
        items = [empty(r) for r in one]
        return type(one)(*items) if hasattr(one, "_fields") else type(one)(items)
    return empty(one)


# -- composite primitives (custom_vjp, custom_jvp, checkpoint) under vmap ------------------
def batch_composite(prim, trace: BatchTrace, args):
    """A composite primitive called on batched values: the same kind of function with
    its parts mapped over the batch (``prim.batched``), bound on the traces below, so
    outer derivatives still use its own rules; a composite without rules of its own runs
    its body on the batched Tensors."""
    leaves, tree = tree_flatten(args)
    axes = [0 if isinstance(v, Tensor) and v._trace is trace else None for v in leaves]
    in_axes = tuple(tree_unflatten(tree, axes))
    mapped = prim.batched(in_axes, tree, axes)
    if mapped is None:
        return prim.fun(*args)
    vals = [v._value if a == 0 else v for v, a in zip(leaves, axes, strict=True)]
    generator = default_generator()
    first_draw = generator.bit_generator.state
    out = mapped(*tree_unflatten(tree, vals))
    out_leaves, out_tree = tree_flatten(out)
    if any(isinstance(v, Tensor) and v._trace.level > trace.level for v in out_leaves):
        # the body read a value of a transform inside this vmap from a closure (a
        # checkpointed scan step reading the parameters that grad differentiates), which
        # cannot be boxed here: the body runs on the batched values, as it runs without
        # vmap where none of its arguments is that transform's, drawing the same numbers
        generator.bit_generator.state = first_draw
        return prim.fun(*args)
    return tree_unflatten(out_tree, [trace.box(v) for v in out_leaves])

"""Batching rules for ``chainrule.vmap``, by kind.

A batching rule ``rule(prim, batched, *args, **kwargs)`` receives the arguments with the
batch axis in front of those that ``batched`` marks, and returns the batched result,
batch axis in front. It computes it by calling ``prim`` (or other primitives) once on
the whole batch, so the traces below see one call. Most primitives are one of a few
kinds:

* elementwise: batched arguments get singleton axes after the batch axis, so that
  NumPy's broadcasting lines up one example's axes with the unbatched arguments';
* along axes (reductions, shape changes, FFTs): an axis of one example is counted from
  the end (``-1`` is the same axis with or without a batch in front), and ``axis=None``
  becomes every axis of one example (indexing's rules are in
  :mod:`chainrule.numpy.index_batching`);
* stacked linear algebra: NumPy's ``linalg`` already maps over leading axes;
* products: the batch axis becomes a batch dimension of ``matmul`` or ``einsum``.

A rule returns ``NotImplemented`` for a case it does not vectorise (say, a batched
boolean mask, which selects a different number of elements per example); vmap then runs
that call once per example.
"""

from __future__ import annotations

import functools
import math
import operator
import string

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.errors import BatchedValueError
from chainrule.core.tensor import Tensor
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.einsum_subscripts import parse_einsum

__all__ = [
    "elementwise",
    "reduction",
    "cumulative",
    "stacked",
    "NONDIFF_BATCH",
    "lift",
    "align",
    "negative_axes",
]

AxisError = np.exceptions.AxisError


# -- helpers --------------------------------------------------------------------------------
def batch_size(args, batched) -> int:
    for a, b in zip(args, batched, strict=True):
        if b is True:
            return shape_of(a)[0]
        if isinstance(b, tuple):
            for v, f in zip(a, b, strict=True):
                if f:
                    return shape_of(v)[0]
    raise ValueError("internal: a batching rule called without a batched argument")


def example_ndim(x, batched) -> int:
    if batched is True:
        return len(shape_of(x)) - 1
    return 0 if isinstance(x, type) else len(shape_of(x))  # a dtype argument: no axes


def lift(x, k: int):
    """``k`` new axes right after the batch axis of ``x``."""
    if k <= 0:
        return x
    s = tuple(shape_of(x))
    new = s[:1] + (1,) * k + s[1:]
    # a plain array is reshaped as cnp.reshape would (a view), without the dispatch
    return x.reshape(new) if x.__class__ is np.ndarray else cnp.reshape(x, new)


def align(args, batched) -> list:
    """Batched arguments lifted to the largest rank of one example among ``args``, so
    that broadcasting lines up the examples' axes with the unbatched arguments'."""
    r = max((example_ndim(a, b) for a, b in zip(args, batched, strict=True)), default=0)
    return [lift(a, r - example_ndim(a, True)) if b is True else a
            for a, b in zip(args, batched, strict=True)]


def with_batch(x, b, size: int):
    """``x`` with a batch axis in front: broadcast along it if ``x`` has none."""
    if b is True:
        return x
    return cnp.broadcast_to(x, (size, *shape_of(x)))


def flat_examples(x):
    """``x`` with each example flattened: shape ``(size, n)``. (Not ``(size, -1)``, which
    NumPy cannot resolve for an empty batch.)"""
    shape = shape_of(x)
    if len(shape) == 2:  # one axis per example already: no call to make
        return x
    return cnp.reshape(x, (shape[0], math.prod(shape[1:])))


def negative_axis(axis, ndim: int) -> int:
    """``axis`` of an example with ``ndim`` axes, counted from the end (so it names the
    same axis with the batch axis in front)."""
    a = operator.index(axis)
    if not -ndim <= a < ndim:
        raise AxisError(a, ndim)
    return a % ndim - ndim


def negative_axes(axis, ndim: int):
    if isinstance(axis, tuple | list):
        return tuple(negative_axis(a, ndim) for a in axis)
    return negative_axis(axis, ndim)


def all_axes(ndim: int) -> tuple[int, ...]:
    return tuple(range(-ndim, 0))


def get(args: list, kwargs: dict, pos: int, name: str, default=None):
    if len(args) > pos:
        return args[pos]
    return kwargs.get(name, default)


def put(args: list, kwargs: dict, pos: int, name: str, value) -> None:
    if len(args) > pos:
        args[pos] = value
    else:
        kwargs[name] = value


def any_batched(batched) -> bool:
    return any(b is True or (isinstance(b, tuple) and any(b)) for b in batched)


def refuse_batched(prim, batched, what: str) -> None:
    """JAX's rule for the arguments after the first that give shapes and axes: the same for
    every example (a batched one reached NumPy as an array, with NumPy's own puzzling error)."""
    if any_batched(batched[1:]):
        raise TypeError(
            f"{getattr(prim, '__name__', prim)}: its {what} is batched (one per example); under "
            "vmap, as in JAX, shapes and axes must be the same for every example: pass it "
            "unbatched (in_axes=None, or a Python int)")


# -- the generic kinds ----------------------------------------------------------------------
def elementwise(prim, batched, *args, **kwargs):
    """Functions of corresponding elements (ufuncs, ``where``, ``clip``, special functions)."""
    return prim(*align(args, batched), **kwargs)


def reduction(prim, batched, x, *rest, **kwargs):
    """``prim(x, axis, ...)`` reducing over ``axis`` (None: all of an example's axes)."""
    if any_batched(batched[1:]):
        return NotImplemented
    rest = list(rest)
    nd = example_ndim(x, True)
    axis = get(rest, kwargs, 0, "axis")
    put(rest, kwargs, 0, "axis", all_axes(nd) if axis is None else negative_axes(axis, nd))
    return prim(x, *rest, **kwargs)


def cumulative(prim, batched, x, *rest, **kwargs):
    """``cumsum``-like: along ``axis``, or along one example flattened when it is None (or
    0-d: NumPy reads it as one entry along any axis)."""
    if any_batched(batched[1:]):
        return NotImplemented
    rest = list(rest)
    axis = get(rest, kwargs, 0, "axis")
    if axis is None or (example_ndim(x, True) == 0 and axis in (0, -1)):
        x = flat_examples(x)
        axis = -1
    else:
        axis = negative_axis(axis, example_ndim(x, True))
    put(rest, kwargs, 0, "axis", axis)
    return prim(x, *rest, **kwargs)


def broadcast_reduction(prim, batched, *arrays, axis=None, **kwargs):
    """A reduction of several arrays broadcast together (``logsumexp(a, b=weights)``)."""
    nd = max(example_ndim(a, b) for a, b in zip(arrays, batched, strict=True))
    axis = all_axes(nd) if axis is None else negative_axes(axis, nd)
    return prim(*align(arrays, batched), axis=axis, **kwargs)


def points_density(prim, batched, x, mean, *rest):
    """A density of points ``x`` (..., d) around ``mean`` with fixed further parameters."""
    if any_batched(batched[2:]):
        return NotImplemented
    return prim(*align((x, mean), batched[:2]), *rest)


def per_example(prim, batched, *args, **kwargs):
    """For a primitive whose work differs from example to example (an iteration to
    convergence): one call per example, which is what vmap does on ``NotImplemented``."""
    return NotImplemented


def all_stacked(prim, batched, *args, **kwargs):
    """Stacked linear algebra of several matrices that must share their stack
    (``solve_sylvester(a, b, q)``): unbatched ones are broadcast along the batch."""
    size = batch_size(args, batched)
    return prim(*(with_batch(a, b, size) for a, b in zip(args, batched, strict=True)), **kwargs)


def stacked(prim, batched, x, *rest, **kwargs):
    """Linear algebra that NumPy already maps over leading axes (inv, det, eigh, svd...)."""
    if any_batched(batched[1:]):
        return NotImplemented
    return prim(x, *rest, **kwargs)


# -- functions without a derivative (comparisons, argmax, masks, random draws) ---------------
def nondiff_elementwise(trace, fun, batched, *args, **kwargs):
    return trace.call_below(fun, *align(args, batched), **kwargs)


def nondiff_reduction(trace, fun, batched, x, *rest, **kwargs):
    if any_batched(batched[1:]):
        return NotImplemented
    rest = list(rest)
    nd = example_ndim(x, True)
    axis = get(rest, kwargs, 0, "axis")
    put(rest, kwargs, 0, "axis", all_axes(nd) if axis is None else negative_axes(axis, nd))
    return trace.call_below(fun, x, *rest, **kwargs)


def nondiff_flattening(axis_pos: int):
    """``argmax``, ``argsort``...: ``axis=None`` means one example flattened."""

    def rule(trace, fun, batched, x, *rest, **kwargs):
        if any_batched(batched[1:]):
            return NotImplemented
        args = [x, *rest]
        axis = get(args, kwargs, axis_pos, "axis", -1 if fun in (np.argsort, np.argpartition)
                   else None)
        nd = example_ndim(x, True)
        if axis is None or (nd == 0 and fun in (np.argsort, np.argpartition)):
            # (NumPy's argsort and argpartition take a 0-d example as one entry along any axis: [0])
            if axis is not None:
                negative_axis(axis, 1)
            args[0] = flat_examples(x)
            put(args, kwargs, axis_pos, "axis", -1)
            ans = trace.call_below(fun, *args, **kwargs)
            if kwargs.get("keepdims"):
                ans = cnp.reshape(ans, (shape_of(x)[0],) + (1,) * nd)
            return ans
        put(args, kwargs, axis_pos, "axis", negative_axis(axis, nd))
        return trace.call_below(fun, *args, **kwargs)

    return rule


def nondiff_like(trace, fun, batched, x, *rest, shape=None, **kwargs):
    """``zeros_like(x, shape=...)`` and friends: the batch axis in front of ``shape``."""
    if any_batched(batched[1:]):
        return NotImplemented
    if shape is not None:
        shape = (shape_of(x)[0], *((shape,) if isinstance(shape, int | np.integer) else shape))
    return trace.call_below(fun, x, *rest, shape=shape, **kwargs)


def nondiff_searchsorted(trace, fun, batched, a, v, *rest, **kwargs):
    """``searchsorted(a, v)``: a batch of values ``v`` in one sorted array is one call (the
    result has ``v``'s shape); a batch of sorted arrays runs once per example."""
    if batched[0] or any_batched(batched[2:]):
        return NotImplemented
    return trace.call_below(fun, a, v, *rest, **kwargs)


def takes_batched_keywords(rule):
    """Marks a rule that is called also when a keyword argument is batched; such a value
    reaches it as given, a Tensor of ``trace`` (other rules are not called then, and the
    function runs once per example)."""
    rule.batched_keywords = True
    return rule


def _batch_of(trace, v) -> bool:
    return isinstance(v, Tensor) and v._trace is trace


@takes_batched_keywords
def nondiff_sizes(trace, fun, batched, *args, **kwargs):
    """Functions whose arguments are shapes, sizes or dtypes (``zeros(shape)``, ``arange``,
    ``tril_indices(n)``, ``hanning(M)``), given one that is batched: refused, as JAX refuses
    it (the shape of a result is the same for every example)."""
    raise BatchedValueError(
        f"chainrule.vmap: {fun.__name__} was given a batched value (one per example) as a "
        "shape, size or count; under vmap, as in JAX, a result's shape must be the same for "
        "every example: pass it unbatched (in_axes=None, or a Python int)")


def _band(offsets, k, compare, dtype):
    return compare(offsets, k).astype(dtype)


@takes_batched_keywords
def nondiff_band(trace, fun, batched, N, M=None, k=0, dtype=float, *rest, **kwargs):
    """``eye(N, M, k)`` and ``tri(N, M, k)`` with the diagonal ``k`` batched: the offsets
    ``j - i`` compared with each example's ``k`` in one call (sizes batched: refused)."""
    k_batched = batched[2] if len(batched) > 2 else _batch_of(trace, k)
    if not k_batched or any_batched((*batched[:2], *batched[3:])) or any(
            _batch_of(trace, v) for name, v in kwargs.items()):
        return nondiff_sizes(trace, fun, batched)
    k = k._value if isinstance(k, Tensor) and k._trace is trace else k
    offsets = np.arange(N if M is None else M) - np.arange(N)[:, None]
    compare = np.equal if fun is np.eye else np.less_equal
    return trace.call_below(_band, offsets, lift(k, 2), compare=compare, dtype=dtype)


NONDIFF_BATCH: dict = {}


def _nondiff(rule, *names: str) -> None:
    for name in names:
        fun = getattr(np, name, None)
        if fun is not None:
            NONDIFF_BATCH[fun] = rule


_nondiff(nondiff_elementwise, *"""
isfinite isnan isinf isposinf isneginf isreal iscomplex signbit isnat isclose
equal not_equal less less_equal greater greater_equal
logical_and logical_or logical_not logical_xor
bitwise_and bitwise_or bitwise_xor invert left_shift right_shift gcd lcm
floor ceil rint trunc fix sign round around floor_divide
""".split())
_nondiff(nondiff_reduction, "all", "any", "count_nonzero")
_nondiff(nondiff_like, "zeros_like", "ones_like", "empty_like", "full_like")
_nondiff(nondiff_flattening(1), "argmax", "argmin", "argsort")
_nondiff(nondiff_flattening(2), "argpartition")
_nondiff(nondiff_searchsorted, "searchsorted")
_nondiff(nondiff_flattening(1), "packbits", "unpackbits")
_nondiff(nondiff_band, "eye", "tri")
_nondiff(nondiff_sizes, "zeros", "ones", "empty", "identity", "arange", "indices", "tril_indices",
         "triu_indices", "diag_indices", "mask_indices", "bartlett", "blackman", "hamming", "hanning")




# -- shapes -----------------------------------------------------------------------------------
def reshape(prim, batched, x, *rest, **kwargs):
    rest = list(rest)
    shape = get(rest, kwargs, 0, "shape", kwargs.get("newshape"))
    order = get(rest, kwargs, 1, "order", "C")
    refuse_batched(prim, batched, "shape")
    if order not in ("C", "F", None) or "newshape" in kwargs:
        return NotImplemented
    shape = (shape,) if isinstance(shape, int | np.integer) else tuple(shape)
    if -1 in shape and shape_of(x)[0] == 0:  # NumPy cannot resolve it in an empty batch
        shape = np.empty(shape_of(x)[1:], np.int8).reshape(shape).shape
    if order == "F":  # the batch axis last is the slowest in Fortran order, as first is in C
        put(rest, kwargs, 0, "shape", (*shape, shape_of(x)[0]))
        return cnp.moveaxis(prim(cnp.moveaxis(x, 0, -1), *rest, **kwargs), -1, 0)
    put(rest, kwargs, 0, "shape", (shape_of(x)[0], *shape))
    return prim(x, *rest, **kwargs)


def transpose(prim, batched, x, axes=None):
    refuse_batched(prim, batched, "axes")
    nd = example_ndim(x, True)
    if axes is None:
        order = tuple(range(nd, 0, -1))
    else:
        order = tuple(a % nd + 1 for a in negative_axes(tuple(axes), nd))
    return prim(x, (0, *order))


def swapaxes(prim, batched, x, axis1, axis2):
    refuse_batched(prim, batched, "axes")
    nd = example_ndim(x, True)
    return prim(x, negative_axis(axis1, nd), negative_axis(axis2, nd))


def expand_dims(prim, batched, x, axis):
    refuse_batched(prim, batched, "axis")
    axes = tuple(axis) if isinstance(axis, tuple | list) else (axis,)
    out = negative_axes(axes, example_ndim(x, True) + len(axes))
    return prim(x, out if isinstance(axis, tuple | list) else out[0])


def squeeze(prim, batched, x, axis=None):
    refuse_batched(prim, batched, "axis")
    shape = shape_of(x)[1:]
    if axis is None:
        axes = tuple(i - len(shape) for i, n in enumerate(shape) if n == 1)
    else:
        axes = negative_axes(axis, len(shape))
    return prim(x, axes)


def broadcast_to(prim, batched, x, shape, **kwargs):
    refuse_batched(prim, batched, "shape")
    shape = (shape,) if isinstance(shape, int | np.integer) else tuple(shape)
    x = lift(x, len(shape) - example_ndim(x, True))
    return prim(x, (shape_of(x)[0], *shape), **kwargs)


def flip(prim, batched, x, axis=None):
    refuse_batched(prim, batched, "axis")
    nd = example_ndim(x, True)
    return prim(x, all_axes(nd) if axis is None else negative_axes(axis, nd))


def roll(prim, batched, x, shift, axis=None):
    if any_batched(batched[1:]):
        return NotImplemented
    if axis is None:
        shape = shape_of(x)
        flat = prim(flat_examples(x), shift, axis=-1)
        return cnp.reshape(flat, shape)
    return prim(x, shift, axis=negative_axes(axis, example_ndim(x, True)))


def diagonal(prim, batched, x, offset=0, axis1=0, axis2=1):
    refuse_batched(prim, batched, "offset or axes")
    nd = example_ndim(x, True)
    return prim(x, offset, negative_axis(axis1, nd), negative_axis(axis2, nd))


def diag_scatter(prim, batched, g, *, shape, offset=0, axis1=0, axis2=1):
    nd = len(shape)
    return prim(g, shape=(shape_of(g)[0], *shape), offset=offset,
                axis1=negative_axis(axis1, nd), axis2=negative_axis(axis2, nd))


def concatenate(prim, batched, *arrays, axis=0):
    # the axis counted from the front of the batch (the joining primitives' rules take
    # the axis as NumPy's public functions hand it to them: not negative)
    size = batch_size(arrays, batched)
    nd = example_ndim(arrays[0], batched[0])
    arrays = [with_batch(a, b, size) for a, b in zip(arrays, batched, strict=True)]
    return prim(*arrays, axis=negative_axis(axis, nd) + nd + 1)


def stack(prim, batched, *arrays, axis=0):
    size = batch_size(arrays, batched)
    nd = example_ndim(arrays[0], batched[0])
    arrays = [with_batch(a, b, size) for a, b in zip(arrays, batched, strict=True)]
    return prim(*arrays, axis=negative_axis(axis, nd + 1) + nd + 2)


def split(prim, batched, x, bounds, axis):
    refuse_batched(prim, batched, "split points or axis")
    return prim(x, bounds, negative_axis(axis, example_ndim(x, True)) % len(shape_of(x)))


def unstack(prim, batched, x, axis=0):
    refuse_batched(prim, batched, "axis")
    return prim(cnp.moveaxis(x, negative_axis(axis, example_ndim(x, True)), 1), axis=1)


def crop_or_pad(prim, batched, x, shape):
    refuse_batched(prim, batched, "shape")
    return prim(x, (shape_of(x)[0], *shape))


def fft(prim, batched, x, s, axes, norm):
    """The n-dimensional transforms, with ``s`` and ``axes`` already explicit."""
    return prim(x, s, tuple(a % example_ndim(x, True) + 1 for a in axes), norm)


def fftshift(prim, batched, x, axes=None):
    refuse_batched(prim, batched, "axes")
    nd = example_ndim(x, True)
    return prim(x, all_axes(nd) if axes is None else negative_axes(axes, nd))


# -- products --------------------------------------------------------------------------------
def matmul(prim, batched, a, b, **kwargs):
    """An example's vector operand becomes a matrix (a row or a column) for the product and
    its axis is dropped after; batched operands are lifted to a common rank."""
    a_vec, b_vec = example_ndim(a, batched[0]) == 1, example_ndim(b, batched[1]) == 1
    if not kwargs and batched[0] != batched[1]:
        # one matrix and a batch of vectors or matrices: one matrix product with the batch
        # merged into the rows (NumPy would run a stack of small products, many times slower)
        if batched[0] and len(shape_of(b)) == 2 and example_ndim(a, True) in (1, 2):
            if a_vec:
                return prim(a, b)
            size, m, k = shape_of(a)
            return cnp.reshape(prim(cnp.reshape(a, (size * m, k)), b), (size, m, shape_of(b)[-1]))
        if batched[1] and len(shape_of(a)) == 2 and example_ndim(b, True) in (1, 2):
            if b_vec:
                return prim(b, cnp.swapaxes(a, -1, -2))
            size, k, n = shape_of(b)
            rows = cnp.reshape(cnp.swapaxes(b, -1, -2), (size * n, k))
            out = prim(rows, cnp.swapaxes(a, -1, -2))
            return cnp.swapaxes(cnp.reshape(out, (size, n, shape_of(a)[0])), -1, -2)
    if a_vec:
        a = cnp.expand_dims(a, -2)
    if b_vec:
        b = cnp.expand_dims(b, -1)
    a, b = align((a, b), batched)
    if shape_of(a)[-1] == 1 and len(shape_of(b)) > 1 and shape_of(b)[-2] == 1 and not kwargs:
        # a sum of one term (an outer product per example, as in per-example weight
        # gradients of examples written as rows), which NumPy's stacked matmul computes
        # without BLAS: of a column and a row per example, one einsum contraction (1.5-2x
        # faster than the broadcast multiply at W7's shapes, and its sum from 0 gives a zero
        # product NumPy's matmul's sign); of stacks of them, broadcasting
        if example_ndim(a, batched[0]) == 2 and example_ndim(b, batched[1]) == 2:
            ans = contraction(a, b, batched, (1,), (0,))
        else:
            ans = cnp.multiply(a, b)
    else:
        ans = prim(a, b, **kwargs)
    if a_vec and b_vec:
        return cnp.reshape(ans, shape_of(ans)[:-2])
    if a_vec:
        return cnp.squeeze(ans, -2)
    if b_vec:
        return cnp.squeeze(ans, -1)
    return ans


def _letters(n: int) -> str:
    return string.ascii_letters[:n]


def contraction(a, b, batched, a_axes, b_axes, conj_a=False):
    """One example's ``tensordot(a, b, (a_axes, b_axes))`` over the batch, by einsum
    (which would broadcast a contracted axis of length 1 against a longer one: refused,
    as NumPy refuses one example's product)."""
    sa, sb = shape_of(a)[batched[0] is True:], shape_of(b)[batched[1] is True:]
    for i, j in zip(a_axes, b_axes, strict=True):
        if sa[i] != sb[j]:
            raise ValueError(f"shapes {tuple(sa)} and {tuple(sb)} not aligned: {sa[i]} (dim {i}) != {sb[j]} (dim {j})")
    subscripts = _contraction_subscripts(example_ndim(a, batched[0]), example_ndim(b, batched[1]),
                                         batched[0] is True, batched[1] is True, a_axes, b_axes)
    if conj_a and a.dtype.kind == "c":  # (NumPy's conj of booleans makes int8)
        a = cnp.conj(a)
    return cnp.einsum(subscripts, a, b)


@functools.lru_cache(maxsize=256)
def _contraction_subscripts(na: int, nb: int, a_batched: bool, b_batched: bool,
                            a_axes: tuple, b_axes: tuple) -> str:
    """The einsum subscripts of :func:`contraction` (made once per kind of call: the
    string building costs as much as a small product)."""
    letters = _letters(na + nb + 1)
    z, la, lb = letters[0], list(letters[1:na + 1]), list(letters[na + 1:])
    for i, j in zip(a_axes, b_axes, strict=True):
        lb[j] = la[i]
    out = [c for k, c in enumerate(la) if k not in a_axes] + [
        c for k, c in enumerate(lb) if k not in b_axes]
    sa = (z if a_batched else "") + "".join(la)
    sb = (z if b_batched else "") + "".join(lb)
    return f"{sa},{sb}->{z}{''.join(out)}"


def _scalar_product(a, b, batched):
    """One example's ``dot(a, b)`` (``inner``) where a factor is 0-d: the product, of a
    Python number as an array, as ``dot`` reads it (``dot(x32, 2)`` is float64, where
    ``x32 * 2`` is float32)."""
    a, b = (np.asarray(x) if isinstance(x, int | float | complex) else x for x in (a, b))
    return cnp.multiply(*align((a, b), batched))


def dot(prim, batched, a, b):
    na, nb = example_ndim(a, batched[0]), example_ndim(b, batched[1])
    if na == 0 or nb == 0:
        return _scalar_product(a, b, batched)
    return contraction(a, b, batched, (na - 1,), (max(nb - 2, 0),))


def inner(prim, batched, a, b):
    na, nb = example_ndim(a, batched[0]), example_ndim(b, batched[1])
    if na == 0 or nb == 0:
        return _scalar_product(a, b, batched)
    return contraction(a, b, batched, (na - 1,), (nb - 1,))


def _flat(x, b):
    if b:
        return flat_examples(x)
    return x if len(shape_of(x)) == 1 else cnp.reshape(x, (-1,))


def plain_or_recorded(x, scalars: bool = False) -> bool:
    """Whether ``x`` is an ndarray (or, with ``scalars``, a NumPy or Python number), or a
    value that ``chainrule.jit`` records in its place: a rule's shortcut that reads values
    takes the same path for both, so a jitted call computes what the plain one does."""
    if x.__class__ is np.ndarray or (scalars and isinstance(x, np.ndarray | np.generic | int | float | complex)):
        return True
    return isinstance(x, Tensor) and x._trace.records


def _outer_products(subscripts: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A batch of outer products of plain arrays, each entry one product as NumPy's outer
    has it. einsum (twice as fast as a broadcast multiply here) adds each product to 0,
    which is exact but for a zero product (0 + -0.0 is +0.0): taken where none of the
    real products can be zero (the smallest magnitudes' product is not), else the
    multiply."""
    out = np.einsum(subscripts, a, b)
    if out.dtype.kind in "biu" or not out.size:
        return out
    if out.dtype.kind == "f" and np.multiply(np.fmin.reduce(np.abs(a), axis=None),
                                             np.fmin.reduce(np.abs(b), axis=None)) != 0:
        return out
    return np.multiply(np.expand_dims(a, -1), np.expand_dims(b, -2))


def outer(prim, batched, a, b):
    """One example's ``a.ravel()[:, None] * b.ravel()[None, :]``, as NumPy's outer: on
    plain (or jit-recorded) values by :func:`_outer_products`, else (differentiated, or
    batched again) by the broadcast multiply."""
    a, b = _flat(a, batched[0]), _flat(b, batched[1])
    if plain_or_recorded(a) and plain_or_recorded(b):
        subscripts = _contraction_subscripts(1, 1, batched[0] is True, batched[1] is True, (), ())
        recorder = next((x._trace for x in (a, b) if isinstance(x, Tensor)), None)
        if recorder is None:
            return _outer_products(subscripts, a, b)
        return recorder.record(_outer_products, (subscripts, a, b), {})
    return cnp.multiply(cnp.expand_dims(a, -1), cnp.expand_dims(b, -2))


def vdot(prim, batched, a, b):
    return contraction(_flat(a, batched[0]), _flat(b, batched[1]), batched, (0,), (0,),
                       conj_a=True)


def tensordot(prim, batched, a, b, axes=2):
    refuse_batched(prim, batched[1:], "axes")  # (batched[2]: the axes)
    na, nb = example_ndim(a, batched[0]), example_ndim(b, batched[1])
    if isinstance(axes, int | np.integer):
        a_axes, b_axes = tuple(range(na - axes, na)), tuple(range(axes))
    else:
        a_axes, b_axes = axes
        a_axes = (a_axes,) if isinstance(a_axes, int | np.integer) else tuple(a_axes)
        b_axes = (b_axes,) if isinstance(b_axes, int | np.integer) else tuple(b_axes)
    if (len(a_axes) != len(b_axes) or any(not -na <= x < na for x in a_axes)
            or any(not -nb <= x < nb for x in b_axes)):
        # NumPy's error for one example (an axis out of range, counts that differ)
        np.tensordot(np.zeros(shape_of(a)[batched[0] is True:]), np.zeros(shape_of(b)[batched[1] is True:]), axes)
    a_axes = tuple(x % na for x in a_axes)
    b_axes = tuple(x % nb for x in b_axes)
    return contraction(a, b, batched, a_axes, b_axes)


def einsum(prim, batched, *operands, subscripts, **kwargs):
    ndims = tuple(example_ndim(x, b) for x, b in zip(operands, batched, strict=True))
    ins, out = parse_einsum(subscripts, ndims)
    z = next(c for c in string.ascii_letters if c not in "".join(ins) + out)
    ins = [(z + s) if b else s for s, b in zip(ins, batched, strict=True)]
    return prim(*operands, subscripts=",".join(ins) + "->" + z + out, **kwargs)


def cross(prim, batched, a, b):
    """One example's cross product of 3-vectors along its last axis (``cnp.cross`` moves and
    pads the vectors there) over the batch: with the batch axis in front they stay last, so
    the call keeps the two arguments the primitive's derivative rules take (axes passed too
    made ``grad`` of a ``vmap`` of ``cross`` fail)."""
    return prim(*align((a, b), batched))


# -- linear algebra -----------------------------------------------------------------------------
def solve(prim, batched, a, b, *rest, **kwargs):
    """``solve(a, b)`` (and triangular solves): an example's vector ``b`` becomes a column,
    and the batched operands are lifted to a common rank of stacked matrices."""
    if any_batched(batched[2:]):
        return NotImplemented
    b_vec = example_ndim(b, batched[1]) == 1
    if b_vec:
        b = cnp.expand_dims(b, -1)
    a, b = align((a, b), batched[:2])
    ans = prim(a, b, *rest, **kwargs)
    return cnp.squeeze(ans, -1) if b_vec else ans


def norm(prim, batched, x, ord=None, axis=None, keepdims=False):
    nd = example_ndim(x, True)
    size = shape_of(x)[0]
    if axis is None:
        if ord is None or nd == 1:
            ans = prim(flat_examples(x), ord, -1)
            return cnp.reshape(ans, (size,) + (1,) * nd) if keepdims else ans
        axis = (-2, -1) if nd == 2 else axis
        if axis is None:
            return NotImplemented
    return prim(x, ord, negative_axes(axis, nd), keepdims)

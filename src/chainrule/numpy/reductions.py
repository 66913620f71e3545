"""Reductions: sum, mean, prod, max, min, var, std, cumulative sums and their kin.

A reduction's cotangent is spread back over the axes it reduced (``expand_reduced``).
The primitives are NumPy's own functions, so every calling form NumPy accepts works;
the rules take the same arguments in the same order (``axis``, ``dtype``, ``out``,
``keepdims``, ``initial``, ``where``, ``ddof``). A ``where=`` mask is honoured by every
rule: entries it leaves out get a zero derivative. The ``nan*`` functions are the plain
reductions with NaN entries left out in the same way.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import operator

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.primitive import def_batch, def_jvps, def_linear, def_vjps, reads_only
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import broadcast_view, is_complex, shape_of
from chainrule.numpy.nondiff import anywhere
from chainrule.numpy.registry import mirrors, optional, wrap

__all__ = [
    "sum",
    "mean",
    "prod",
    "max",
    "min",
    "amax",
    "amin",
    "var",
    "std",
    "cumsum",
    "cumprod",
    "nansum",
    "nanmean",
    "nanprod",
    "nanmax",
    "nanmin",
    "nanvar",
    "nanstd",
    "nancumsum",
    "nancumprod",
    "average",
    "ptp",
]

_NoValue = np._NoValue


def size_of(x) -> int:
    return int(np.prod(shape_of(x)))


def reduced_axes(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, an int or a tuple, negatives allowed) as sorted non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int | np.integer):
        axis = (axis,)
    return tuple(sorted(int(a) % ndim if ndim else 0 for a in axis))


def expand_reduced(g, x, axis=None, keepdims=False):
    """Broadcast the cotangent of a reduction back to the shape of its input ``x``."""
    shape = shape_of(x)
    gshape = shape_of(g)
    if not keepdims and gshape != shape and gshape != ():  # (a 0-d g broadcasts as it is)
        axes = reduced_axes(axis, len(shape))
        g = cnp.reshape(g, tuple(1 if i in axes else n for i, n in enumerate(shape)))
    if g.__class__ is np.ndarray:  # a plain cotangent: the view, without a primitive call
        return broadcast_view(g, shape)
    return cnp.broadcast_to(g, shape)


def reduction(np_fun, name=None, public=True):
    return wrap(np_fun, "reductions", name, public=public)


def direct_reduction(np_fun, ufunc, keywords: frozenset):
    """``np_fun`` (np.sum, np.max, ...) that, on an ndarray with no other keyword than
    ``keywords``, calls what it would end in, ``ufunc.reduce``, itself: the same call and
    result without NumPy's Python wrapper, which costs about a microsecond, as much as
    the reduction of a small array. The primitive's forward, so every trace and every
    rule that reduces gets it; ``chainrule.jit`` records the NumPy function it stands
    for (``numpy_function``)."""
    reduce = ufunc.reduce

    @functools.wraps(np_fun)
    def fun(a, *args, **kwargs):
        if (type(a) is np.ndarray and not args and keywords.issuperset(kwargs)
                and kwargs.get("keepdims") is not _NoValue):
            if "axis" not in kwargs:
                return reduce(a, None, **kwargs)  # reduce's axis defaults to 0, np_fun's to None
            return reduce(a, **kwargs)
        return np_fun(a, *args, **kwargs)

    fun.numpy_function = np_fun
    return fun


# -- helpers shared by the rules -------------------------------------------------------
def dtype_of(x) -> np.dtype:
    return x.dtype if hasattr(x, "dtype") else np.result_type(x)


def float_dtype(x) -> np.dtype:
    """The real floating dtype that goes with ``x`` (float32 for complex64 data)."""
    dt = dtype_of(x)
    if dt.kind == "f":
        return dt
    return np.finfo(dt).dtype if dt.kind == "c" else np.dtype(np.float64)


def undo_dtype(g, x, dtype):
    """The cotangent in ``x``'s dtype, where ``dtype=`` made the output's differ."""
    if dtype is None:
        return g
    dt = dtype_of(x)
    if is_complex(g) and dt.kind != "c":
        g = cnp.real(g)
    return g if dtype_of(g) == dt else cnp.astype(g, dt)


def mask_of(where, x):
    """The ``where=`` mask spread over ``x``'s shape, or None when every entry counts."""
    if where is True or where is _NoValue:
        return None
    return cnp.broadcast_to(undifferentiated(where), shape_of(x))


def count_of(mask, x, axis):
    """How many entries each output reduces over, shaped to broadcast against ``x``."""
    if mask is None:
        shape = shape_of(x)
        return float(np.prod([shape[a] for a in reduced_axes(axis, len(shape))]))
    return np.sum(mask, axis=axis, keepdims=True).astype(float_dtype(x))


def not_nan(x, where=True):
    """``where`` with the NaN entries of ``x`` left out (``where`` itself if none)."""
    # under chainrule.jit the mask is recorded and only "is there a NaN" is guarded; under
    # vmap the question is asked of the whole batch
    nan = cnp.isnan(undifferentiated(x))
    if not anywhere(nan):
        return where
    return ~nan if where is True or where is _NoValue else ~nan & undifferentiated(where)


def flip(x, axis: int):
    return cnp.getitem(x, (slice(None),) * axis + (slice(None, None, -1),))


def along(x, axis):
    """``x`` and the axis a cumulative function runs along: NumPy flattens for None, and
    reads a 0-d ``x`` as one entry whatever the axis (its result has shape ``(1,)``)."""
    if axis is None or not shape_of(x):
        return cnp.reshape(x, (-1,)), 0
    return x, int(axis) % len(shape_of(x))


def cum_axis(x, axis) -> int:
    return 0 if axis is None or not shape_of(x) else int(axis) % len(shape_of(x))


def reshape_like(d, x):
    return d if shape_of(d) == shape_of(x) else cnp.reshape(d, shape_of(x))


# -- sum and mean ----------------------------------------------------------------------
sum = reduction(np.sum)
sum.fun = direct_reduction(np.sum, np.add, frozenset(("axis", "dtype", "keepdims")))


def sum_vjp(g, ans, x, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    g = expand_reduced(g, x, axis, keepdims)
    if where is not True and where is not _NoValue:
        g = cnp.where(undifferentiated(where), g, 0)
    return g if dtype is None else undo_dtype(g, x, dtype)


def sum_jvp(t, ans, x, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    return sum(t, axis=axis, dtype=dtype, keepdims=keepdims, where=where)  # initial drops out


def_vjps(sum, sum_vjp)
def_jvps(sum, sum_jvp)

mean = reduction(np.mean)


def mean_vjp(g, ans, x, axis=None, dtype=None, out=None, keepdims=False, where=True):
    m = mask_of(where, x)
    if m is None:
        g = expand_reduced(g, x, axis, keepdims) * (size_of(ans) / (size_of(x) or 1))
    else:
        g = cnp.where(m, expand_reduced(g, x, axis, keepdims), 0)
        g = g / np.maximum(count_of(m, x, axis), 1)
    return undo_dtype(g, x, dtype)

def mean_jvp(t, ans, x, axis=None, dtype=None, out=None, keepdims=False, where=True):
    return mean(t, axis=axis, dtype=dtype, keepdims=keepdims, where=where)


def_vjps(mean, mean_vjp)
def_jvps(mean, mean_jvp)
reads_only(sum, ())  # x's shape, not its values
reads_only(mean, ())


def leaving_out_nan(rule, where_at=None):
    """The rule of a reduction with the NaN entries of x left out through its ``where=``
    (``where_at``: its position among the arguments after x, where it has one)."""

    def nan_rule(g, ans, x, *args, **kwargs):
        if shape_of(x) == ():  # NumPy's nan* take axis=0 of a 0-d array (np.sum does): all of it
            args, kwargs = (None, *args[1:]) if args else args, {**kwargs, "axis": None}
        if where_at is not None and len(args) > where_at:
            args = (*args[:where_at], not_nan(x, args[where_at]), *args[where_at + 1 :])
        else:
            kwargs["where"] = not_nan(x, kwargs.get("where", True))
        return rule(g, ans, x, *args, **kwargs)

    return nan_rule


nansum = reduction(np.nansum)
def_vjps(nansum, leaving_out_nan(sum_vjp, 5))
def_jvps(nansum, leaving_out_nan(sum_jvp, 5))

nanmean = reduction(np.nanmean)
def_vjps(nanmean, leaving_out_nan(mean_vjp))
def_jvps(nanmean, leaving_out_nan(mean_jvp))


# -- prod: its derivatives, exact where partial products over- or underflow, are in
# exact_products.py ------------------------------------------------------------------------
prod = reduction(np.prod)
nanprod = reduction(np.nanprod)


# -- max and min -------------------------------------------------------------------------
def tie_hits(ans, x, axis=None, keepdims=False, where=True, initial=None, nan_hits=False):
    """Where ``x`` attains its extremum ``ans`` (a mask of ``x``'s shape), and how many
    entries do along each reduction (reduced axes kept, in ``x``'s real float dtype).
    A NaN extremum is attained by no entry, so its derivative is 0/0, NaN over the
    reduction, as in HIPS autograd and JAX; ``nan_hits`` (nanmax's all-NaN reductions)
    counts the NaN entries as attaining it."""
    # Values without their derivatives; under chainrule.jit, traced values (so that the
    # weights are recorded as calls and follow the data on a replay).
    xv, av = undifferentiated(x), undifferentiated(ans)
    if not keepdims:
        av = cnp.reshape(av, _kept_dims_shape(shape_of(xv), reduced_axes(axis, len(shape_of(xv)))))
    hit = cnp.equal(xv, av)
    if nan_hits and anywhere(cnp.isnan(av)):
        hit = cnp.logical_or(hit, cnp.logical_and(cnp.isnan(xv), cnp.isnan(av)))
    masked = where is not True and where is not _NoValue
    if masked:
        hit = cnp.logical_and(hit, undifferentiated(where))
    # counted in the float dtype the weights take (float32 stays float32)
    count = cnp.sum(hit, axis=axis, keepdims=True, dtype=float_dtype(x))
    if masked or (initial is not None and initial is not _NoValue):
        count = cnp.maximum(count, 1)  # no entry attains it: all weights 0, not 0/0
    return hit, count


def tie_weights(ans, x, axis=None, keepdims=False, where=True, initial=None, nan_hits=False):
    """1/k on each of the k entries that attain the extremum, 0 elsewhere: tied maxima
    share the derivative evenly (as in JAX and HIPS autograd)."""
    hit, count = tie_hits(ans, x, axis, keepdims, where, initial, nan_hits)
    return hit / count


def _kept_dims_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def max_vjp(g, ans, x, axis=None, out=None, keepdims=False, initial=None, where=True, nan_hits=False):
    # g/k on each of the k entries that attain the extremum: the division is done on the
    # reduced cotangent, and the mask spreads it (one pass over x's shape, not four)
    hit, count = tie_hits(ans, x, axis, keepdims, where, initial, nan_hits)
    if not keepdims:
        g = cnp.reshape(g, shape_of(count))
    return hit * (g / count)


def max_jvp(t, ans, x, axis=None, out=None, keepdims=False, initial=None, where=True, nan_hits=False):
    return sum(t * tie_weights(ans, x, axis, keepdims, where, initial, nan_hits), axis=axis, keepdims=keepdims)


max = reduction(np.max)
min = reduction(np.min)
amax = reduction(np.amax)
amin = reduction(np.amin)
for _extremum, _ufunc in ((max, np.maximum), (min, np.minimum), (amax, np.maximum),
                         (amin, np.minimum)):
    _extremum.fun = direct_reduction(_extremum.fun, _ufunc, frozenset(("axis", "keepdims")))
nanmax = reduction(np.nanmax)
nanmin = reduction(np.nanmin)  # a NaN is their result only where all are NaN: those share it
for _extremum in (max, min, amax, amin):
    def_vjps(_extremum, max_vjp)
    def_jvps(_extremum, max_jvp)
# PyTorch's Tensor.max() and min() of a whole eager Tensor: a NaN maximum is attained by the
# NaN entries, which share its derivative (torch.amax, like NumPy's max, gives NaN)
max_of_all_nan_attained = reduction(np.max, "max", public=False)
min_of_all_nan_attained = reduction(np.min, "min", public=False)
for _extremum in (nanmax, nanmin, max_of_all_nan_attained, min_of_all_nan_attained):
    def_vjps(_extremum, functools.partial(max_vjp, nan_hits=True))
    def_jvps(_extremum, functools.partial(max_jvp, nan_hits=True))
del _extremum


# -- a traced initial= ---------------------------------------------------------------------
def about_a_traced_initial(prim, args, kwargs):
    """sum, prod, max or min with a Tensor ``initial=`` (NumPy's takes a number only): the
    reduction without it, combined with it by the reduction's own operation, so that the
    initial value is differentiated too."""
    init = kwargs.get("initial")
    if not isinstance(init, Tensor):  # the primitive's own path (Primitive.__call__'s)
        # the innermost trace among the arguments and the keywords (a mask where= that a
        # vmap batches or a jit traces, about an array it does not: NumPy's own call would
        # hand the call back here through the mask's __array_ufunc__, without end)
        top = None
        for v in (*args, *kwargs.values()):
            if isinstance(v, Tensor) and (top is None or v._trace.level > top.level):
                top = v._trace
        if len(args) == 1 and isinstance(args[0], Tensor) and args[0]._trace is top:
            return top.unary(prim, args[0], kwargs)
        return top.process(prim, args, kwargs)
    combine, start = _INITIAL_COMBINE[prim]
    rest = {k: v for k, v in kwargs.items() if k != "initial"}
    if start is not None:  # max, min: the ufunc's identity keeps empty reductions defined
        rest["initial"] = _identity(dtype_of(args[0]) if args else np.dtype(float), start)
    return combine(prim(*args, **rest), init)


def _identity(dt: np.dtype, lowest: bool):
    """The lowest (or highest) value of ``dt``: maximum's (minimum's) identity."""
    if dt.kind in "iu":
        return np.iinfo(dt).min if lowest else np.iinfo(dt).max
    return (not lowest) if dt.kind == "b" else (-np.inf if lowest else np.inf)


_INITIAL_COMBINE = {sum: (cnp.add, None), nansum: (cnp.add, None), prod: (cnp.multiply, None),
                    nanprod: (cnp.multiply, None), max: (cnp.maximum, True), amax: (cnp.maximum, True),
                    nanmax: (cnp.maximum, True), min: (cnp.minimum, False), amin: (cnp.minimum, False),
                    nanmin: (cnp.minimum, False)}
for _prim in _INITIAL_COMBINE:
    _prim.call_keywords = about_a_traced_initial
del _prim


# -- var and std -------------------------------------------------------------------------
def equal_entries_shift(x, axis, m):
    """The largest entry of each slice reduced over ``axis`` (among those the mask ``m``
    keeps), a constant; 0 for a slice with no finite largest entry or no entry at all."""
    if size_of(x) == 0:
        return 0.0
    u = undifferentiated(cnp.real(x) if is_complex(x) else x)
    top = cnp.max(u if m is None else cnp.where(m, u, -np.inf), axis=axis, keepdims=True)
    return cnp.where(cnp.isfinite(top), top, 0.0)


def deviations(x, axis, ddof, correction, where, center=None):
    """``x - mean`` (conjugated for complex x) and ``1 / (N - ddof)`` for each output;
    entries that ``where`` leaves out deviate by 0. ``center``: NumPy's ``mean=``, the
    mean to deviate from (held constant), instead of x's own."""
    if correction is not None and correction is not _NoValue:
        ddof = correction
    m = mask_of(where, x)
    if m is not None:
        x = cnp.where(m, x, 0)  # a NaN left out must not reach the derivatives
    if center is None or center is _NoValue:
        # The deviations of x shifted by a constant of each reduced slice (its largest
        # entry): the same function of x, but exactly 0 where every entry is the same, where
        # x - mean(x) is not (the mean of three 0.1 is 0.1 + 1e-17), so that std's
        # derivative there is 0 and not d / std = -1/3 of rounding errors.
        x = x - equal_entries_shift(x, axis, m)
        center = mean(x, axis=axis, keepdims=True, where=True if m is None else m)
    d = x - center
    if m is not None:
        d = cnp.where(m, d, 0)
    if is_complex(x):
        d = cnp.conj(d)
    n = count_of(m, x, axis) - ddof
    if m is None:
        return d, 1.0 / n if n > 0 else np.inf
    with np.errstate(divide="ignore"):
        return d, (1 / np.maximum(n, 0)).astype(float_dtype(x))


def real_part(z):
    return cnp.real(z) if is_complex(z) else z


def var_vjp(g, ans, x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *,
            where=True, mean=None, correction=None):
    d, scale = deviations(x, axis, ddof, correction, where, mean)
    return undo_dtype(expand_reduced(g, x, axis, keepdims) * d * (2 * scale), x, dtype)


def var_jvp(t, ans, x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *,
            where=True, mean=None, correction=None):
    d, scale = deviations(x, axis, ddof, correction, where, mean)
    return sum(real_part(d * t) * (2 * scale), axis=axis, dtype=dtype, keepdims=keepdims)


def _spread(ans):
    """The standard deviation as a divisor: 1 where it is 0. All deviations are 0 there, so
    the derivative is taken as 0 (a subgradient, as HIPS autograd's), not 0/0."""
    return cnp.where(ans == 0, 1, ans)


def std_vjp(g, ans, x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *,
            where=True, mean=None, correction=None):
    d, scale = deviations(x, axis, ddof, correction, where, mean)
    return undo_dtype(expand_reduced(g / _spread(ans), x, axis, keepdims) * d * scale, x, dtype)


def std_jvp(t, ans, x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *,
            where=True, mean=None, correction=None):
    d, scale = deviations(x, axis, ddof, correction, where, mean)
    return sum(real_part(d * t) * scale, axis=axis, dtype=dtype, keepdims=keepdims) / _spread(ans)


var = reduction(np.var)
std = reduction(np.std)


def about_a_traced_mean(prim, args, kwargs):
    """var or std of a Tensor with a Tensor ``mean=``: NumPy's arithmetic about that mean,
    composed, so that the mean is differentiated too (the primitive's rules hold it)."""
    m = kwargs.get("mean")
    traces = [a._trace for a in args if isinstance(a, Tensor)]
    if not isinstance(m, Tensor) and traces:  # the primitive's own path (Primitive.__call__'s)
        return builtins.max(traces, key=lambda t: t.level).process(prim, args, kwargs)
    w = kwargs.get("where")
    if not isinstance(m, Tensor) and isinstance(w, Tensor) and w._trace.batches:
        return w._trace.process(prim, args, kwargs)  # each example's mask, under vmap
    bound = inspect.signature(prim.fun).bind(*args, **kwargs).arguments
    x, axis, where = bound["a"], bound.get("axis"), bound.get("where", True)
    if not isinstance(m, Tensor):
        raise TypeError(f"{prim.__name__}: where= is traced while the array is not; pass the "
                        f"array as a Tensor, or use chainrule.numpy.where to select the entries")
    ddof = bound.get("correction", _NoValue)
    ddof = bound.get("ddof", 0) if ddof is _NoValue or ddof is None else ddof
    if bound.get("out") is not None:
        raise TypeError(f"{prim.__name__}: out= cannot hold a result that is being differentiated")
    d = x - m
    sq = cnp.real(d) ** 2 + cnp.imag(d) ** 2 if is_complex(d) else d * d
    total = sum(sq, axis=axis, dtype=bound.get("dtype"), keepdims=bound.get("keepdims", False),
                where=where)
    n = count_of(mask_of(where, x), x, axis)
    n = np.maximum(n - ddof, 0) if isinstance(n, np.ndarray) else builtins.max(n - ddof, 0)
    v = total / (cnp.reshape(n, shape_of(total)) if isinstance(n, np.ndarray) else n)
    return cnp.sqrt(v) if prim is std else v


var.call_keywords = std.call_keywords = about_a_traced_mean
def_vjps(var, var_vjp)
def_jvps(var, var_jvp)
def_vjps(std, std_vjp)
def_jvps(std, std_jvp)

nanvar = reduction(np.nanvar)
nanstd = reduction(np.nanstd)
for _prim, _vjp, _jvp in ((nanvar, var_vjp, var_jvp), (nanstd, std_vjp, std_jvp)):
    def_vjps(_prim, leaving_out_nan(_vjp))
    def_jvps(_prim, leaving_out_nan(_jvp))
del _prim, _vjp, _jvp


# -- cumulative sums and products ----------------------------------------------------------
def reverse_cumsum(g, axis: int):
    return flip(cumsum(flip(g, axis), axis=axis), axis)


def cumsum_vjp(g, ans, x, axis=None, dtype=None, out=None):
    return undo_dtype(reshape_like(reverse_cumsum(g, cum_axis(x, axis)), x), x, dtype)


cumsum = reduction(np.cumsum)
def_vjps(cumsum, cumsum_vjp)
def_linear(cumsum)
reads_only(cumsum, ())  # x's shape and dtype, not its values (PyTorch's node saves none)

cumprod = reduction(np.cumprod)  # its derivatives: exact_products.py

# NumPy warns where these meet inf - inf, inf * 0 or an overflowing sum ("invalid value
# encountered in reduce"); PyTorch's reductions give nan and inf silently, and so does the
# eager layer (Primitive.eager_quiet)
for _prim in (sum, mean, nansum, nanmean, prod, nanprod, var, std, nanvar, nanstd, cumsum, cumprod):
    _prim.eager_quiet = True
del _prim


def _logsumexp(x, axis=None, keepdims=False):
    """log Σ exp(x) over ``axis``, shifted by the maximum where it is finite (PyTorch's
    ``logsumexp``: -inf over no elements)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        top = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
        top = np.where(np.isfinite(top), top, 0)
        out = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis)


def weighted_by(b, w):
    """b w, 0 where b is 0 (there w can be inf: an entry that overflows, left out by b)."""
    return b * cnp.where(cnp.not_equal(b, 0), w, 0)


def logsumexp_weights(x, lse, axis=None, b=None, signed: bool = False):
    """exp(x - lse), the derivative of ``lse = log Σ b exp(x)`` over ``axis`` in ``b exp(x)``
    (``lse`` broadcastable against ``x``): softmax(x) when ``b`` is None. They are divided
    once more by their weighted sum, which is 1 (or the sum's sign, ``signed``) but for the
    rounding of ``lse``: half an ulp of its magnitude is a common factor of every weight
    (3e-5 for float32 logits near 1000; two tied logits of 1e300 each got 1, not ½), as
    JAX's softmax, shifted by the maximum, has none. Where that sum is not finite (an entry
    +inf) nothing is divided: a finite x beside +inf keeps 0, PyTorch's convention."""
    e = cnp.exp(x - lse)
    total = sum(undifferentiated(e if b is None else weighted_by(b, e)), axis=axis, keepdims=True)
    if not signed:  # (a finite total is near 1 here, never 0)
        return e / cnp.where(cnp.isfinite(total), total, 1)
    unusable = cnp.where(cnp.equal(total, 0), 1, cnp.sign(total))
    return e / cnp.where(cnp.isfinite(total) & cnp.not_equal(total, 0), total, unusable)


# the derivative is softmax(x) (logsumexp_weights): 0 for a finite x beside +inf, as PyTorch's
logsumexp = reduction(_logsumexp, "logsumexp", public=False)
def_vjps(logsumexp, lambda g, ans, x, axis=None, keepdims=False:
         expand_reduced(g, x, axis, keepdims) * logsumexp_weights(x, expand_reduced(ans, x, axis, keepdims), axis))
def_jvps(logsumexp, lambda t, ans, x, axis=None, keepdims=False:
         sum(t * logsumexp_weights(x, expand_reduced(ans, x, axis, keepdims), axis), axis=axis, keepdims=keepdims))

# Under vmap: the axes of one example, counted from the end (None: all of them).
def_batch(batching.reduction, sum, mean, nansum, nanmean, prod, nanprod, max, min, amax, amin,
          nanmax, nanmin, max_of_all_nan_attained, min_of_all_nan_attained, var, std, nanvar, nanstd,
          logsumexp)
def_batch(batching.cumulative, cumsum, cumprod)


# -- functions built from the primitives above ---------------------------------------------
def any_tensor(*xs) -> bool:
    return builtins.any(isinstance(x, Tensor) for x in xs)


def no_out(name: str, out) -> None:
    if out is not None:
        raise TypeError(
            f"{name}: out= cannot hold a result that is being differentiated; "
            "use the returned value instead"
        )


@mirrors(np.nancumsum, "reductions")
def nancumsum(a, axis=None, dtype=None, out=None):
    if not any_tensor(a):
        return np.nancumsum(a, axis=axis, dtype=dtype, out=out)
    no_out("nancumsum", out)
    return cumsum(cnp.where(cnp.isnan(undifferentiated(a)), 0, a), axis=axis, dtype=dtype)


@mirrors(np.nancumprod, "reductions")
def nancumprod(a, axis=None, dtype=None, out=None):
    if not any_tensor(a):
        return np.nancumprod(a, axis=axis, dtype=dtype, out=out)
    no_out("nancumprod", out)
    return cumprod(cnp.where(cnp.isnan(undifferentiated(a)), 1, a), axis=axis, dtype=dtype)


@mirrors(np.ptp, "reductions")
def ptp(a, axis=None, out=None, keepdims=_NoValue):
    """``np.ptp``, as ``max - min``; tied extrema share the derivative evenly."""
    if not any_tensor(a):
        return np.ptp(a, axis=axis, out=out, keepdims=keepdims)
    no_out("ptp", out)
    keepdims = False if keepdims is _NoValue else keepdims
    return max(a, axis=axis, keepdims=keepdims) - min(a, axis=axis, keepdims=keepdims)


@mirrors(np.average, "reductions")
def average(a, axis=None, weights=None, returned=False, *, keepdims=_NoValue):
    """``np.average``; differentiable in ``a`` and in ``weights``."""
    if not any_tensor(a, weights):
        return np.average(a, axis=axis, weights=weights, returned=returned, keepdims=keepdims)
    keepdims = False if keepdims is _NoValue else keepdims
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keepdims)
        scl = dtype_of(avg).type(size_of(a) / size_of(avg))  # (NumPy's ZeroDivisionError too)
    else:
        ashape, wshape = shape_of(a), shape_of(weights)
        if ashape != wshape:
            # NumPy's rule: weights of other shape run along the given axes, in their order
            if axis is None:
                raise TypeError(
                    "average: axis must be specified when shapes of a and weights differ"
                )
            axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
            axes = tuple(operator.index(ax) % len(ashape) for ax in axes)  # (a float axis: TypeError)
            if wshape != tuple(ashape[ax] for ax in axes):
                raise ValueError(
                    f"average: weights of shape {wshape} do not match a of shape {ashape} "
                    f"along axis {axis}"
                )
            if len(axes) > 1:
                weights = cnp.transpose(weights, tuple(np.argsort(axes)))
            spread = tuple(n if i in axes else 1 for i, n in enumerate(ashape))
            weights = cnp.reshape(weights, spread)
        # NumPy sums the weights in the result's dtype (complex for complex a)
        floor = "f8" if dtype_of(a).kind in "biu" else dtype_of(a)
        scl = sum(weights, axis=axis, keepdims=keepdims, dtype=np.result_type(floor, dtype_of(weights)))
        if anywhere(cnp.equal(scl, 0)):
            raise ZeroDivisionError("average: weights sum to zero, can't be normalized")
        avg = sum(a * weights, axis=axis, keepdims=keepdims) / scl
    if not returned:
        return avg
    if shape_of(scl) != shape_of(avg):
        scl = cnp.broadcast_to(scl, shape_of(avg))
    return avg, scl


def prepend(y, axis: int, value):
    """``value`` put in front of ``y`` along ``axis`` (the ``include_initial`` entry)."""
    if shape_of(y)[axis] == 0:
        return sum(y, axis=axis, keepdims=True, dtype=y.dtype) * 0 + value  # (int32 stays int32)
    n = shape_of(y)[axis]
    idx = np.maximum(np.arange(n + 1) - 1, 0)
    first = (np.arange(n + 1) == 0).reshape((n + 1,) + (1,) * (len(shape_of(y)) - axis - 1))
    return cnp.where(first, value, cnp.getitem(y, (slice(None),) * axis + (idx,)))


def _cumulative(np_fun, prim, identity):
    name = np_fun.__name__

    @mirrors(np_fun, "reductions", name)
    def cumulative(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        if not any_tensor(x):
            return np_fun(x, axis=axis, dtype=dtype, out=out, include_initial=include_initial)
        no_out(name, out)
        if shape_of(x) == ():  # NumPy: a 0-d array is one entry along one axis
            x = cnp.reshape(x, (1,))
        ndim = len(shape_of(x))
        if axis is None:
            if ndim != 1:
                raise ValueError(f"{name}: axis must be given for an array of {ndim} dimensions")
            axis = 0
        y = prim(x, axis=axis, dtype=dtype)
        return prepend(y, int(axis) % ndim, identity) if include_initial else y

    cumulative.__name__ = cumulative.__qualname__ = name
    return cumulative


# NumPy 2.1 added the array API's cumulative_sum and cumulative_prod.
if optional(np, "cumulative_sum") is not None:
    cumulative_sum = _cumulative(np.cumulative_sum, cumsum, 0)
    __all__.append("cumulative_sum")
if optional(np, "cumulative_prod") is not None:
    cumulative_prod = _cumulative(np.cumulative_prod, cumprod, 1)
    __all__.append("cumulative_prod")

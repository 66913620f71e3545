"""The derivatives of ``prod``, ``nanprod`` and ``cumprod``, exact where the products
of some entries over- or underflow though the derivative is a float.

The quotient ``ans / x`` is each entry's product of the others wherever every product is
a normal float, and costs one division: the common case. Elsewhere (a zero or infinite
entry, a product NumPy rounded to 0 or inf, or a rule that is differentiated again,
where the quotient's own derivative -ans / x² overflows) the products of the others are
made without dividing: from the cumulative products before and after each entry, with
the entries' binary exponents summed apart from their mantissas.
"""

from __future__ import annotations

import builtins

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.linearize import pullback, pushforward
from chainrule.core.primitive import def_batch, def_jvps, def_vjps
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.elementwise import times_power_of_two
from chainrule.numpy.nondiff import every, unboxing
from chainrule.numpy.reductions import (
    along,
    cumprod,
    cumsum,
    expand_reduced,
    flip,
    float_dtype,
    leaving_out_nan,
    mask_of,
    nanprod,
    prod,
    reduced_axes,
    reduction,
    reshape_like,
    reverse_cumsum,
    sum,
    undo_dtype,
)

__all__: list[str] = []

_NoValue = np._NoValue


def shift_in(y, axis: int, fill):
    """``y`` moved one step along ``axis``, ``fill`` entering at the front: the exclusive
    version of an inclusive scan. Gather and select only, so it differentiates again."""
    n = shape_of(y)[axis]
    idx = np.arange(n)
    prev = cnp.getitem(y, (slice(None),) * axis + (np.maximum(idx - 1, 0),))
    first = (idx == 0).reshape((n,) + (1,) * (len(shape_of(y)) - axis - 1))
    return cnp.where(first, fill, prev)


def scan_cumprod(y, axis: int):
    """The cumulative product by log2(n) rounds of products (Hillis and Steele): no
    division, so its derivatives are right where entries are zero or the products over-
    or underflow. Each round multiplies only the entries it changes (slices, no mask), so
    no zero tangent or cotangent ever meets an infinite partial product."""
    n = shape_of(y)[axis]
    lead = (slice(None),) * axis
    s = 1
    while s < n:
        changed = cnp.getitem(y, lead + (slice(s, None),)) * cnp.getitem(y, lead + (slice(None, n - s),))
        y = cnp.concatenate([cnp.getitem(y, lead + (slice(None, s),)), changed], axis=axis)
        s *= 2
    return y


# -- prod ---------------------------------------------------------------------------------
def centred_exponents(x):
    """Integers e with |x| / 2**e in [√½, √2) (-1 for zero, 0 for inf and NaN): the
    binary exponents to take out of many entries before multiplying them."""
    mantissa, e = np.frexp(np.abs(x))
    return e - (mantissa < _SQRT_HALF)


_SQRT_HALF = np.sqrt(0.5)
_centred_exponents = unboxing(centred_exponents)


def exclusive_products(x, axis):
    """∂prod/∂x without dividing by x: each entry's product of the others along the
    reduced axes, from the cumulative products before and after it. The entries' binary
    exponents are summed apart from their mantissas, so that where that product is a
    float, partial products that over- or underflow do not lose it (of [1e-200, 1e-200,
    1e200, 1e200, 0.5], whose product NumPy rounds to 0, the last entry's is 1)."""
    shape = shape_of(x)
    axes = reduced_axes(axis, len(shape))
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    perm = kept + axes
    y = x if perm == tuple(range(len(shape))) else cnp.transpose(x, perm)
    y = cnp.reshape(y, tuple(shape[i] for i in kept) + (-1,))
    e = _centred_exponents(y)
    y = times_power_of_two(y, -e)  # entries of magnitude in [√½, √2), zeros, inf and NaN
    before = shift_in(cumprod(y, axis=-1), len(kept), 1)
    after = flip(shift_in(cumprod(flip(y, len(kept)), axis=-1), len(kept), 1), len(kept))
    others_exponents = cnp.sum(e, axis=-1, keepdims=True) - e
    d = cnp.reshape(times_power_of_two(before * after, others_exponents), tuple(shape[i] for i in perm))
    return d if perm == tuple(range(len(shape))) else cnp.transpose(d, tuple(np.argsort(perm)))


def normal_floats(v):
    """Where ``v`` is a finite, normal float (nonzero, not subnormal)."""
    dt = np.result_type(v)
    return np.isfinite(v) & (np.abs(v) >= (np.finfo(dt).tiny if dt.kind in "fc" else 1))


_normal_floats = unboxing(normal_floats)


def representable(ans) -> bool:
    """Whether every product in ``ans`` is a finite, normal float: then ``ans / x`` holds
    each entry's product of the others to rounding (and no entry is 0, infinite or NaN,
    or its product would be too)."""
    return every(_normal_floats(undifferentiated(ans)))


def differentiated(x) -> bool:
    """Whether a transform that differentiates follows ``x`` (not only ``jit``'s recording
    or ``vmap``'s batching, under which a rule must compute what the plain call does)."""
    while isinstance(x, Tensor):
        if not (x._trace.records or x._trace.batches):
            return True
        x = x._value
    return False


def prod_partials(ans, x, axis=None, keepdims=False, initial=None, where=True):
    """∂ans/∂x, shaped like x: ans / x where the products are finite normal floats, else
    the product of the others (so that zero and infinite entries, and products that over-
    or underflowed, get the right derivative); and whether it is the latter.

    Where this is differentiated again, always the product of the others:
    the quotient's own derivative, -ans / x², overflows where ans / x does not (of
    [1e-200, 3, 1e200, 2], whose ∂²/∂x₀² is 0, it made inf - inf)."""
    m = mask_of(where, x)
    if m is not None:
        x = cnp.where(m, x, 1)
    others = differentiated(x) or not representable(ans)
    if not others:
        d = expand_reduced(ans, x, axis, keepdims) / x
    else:
        d = exclusive_products(x, axis)
        if initial is not None and initial is not _NoValue:
            d = d * initial
    return (d if m is None else cnp.where(m, d, 0)), others


def times_partials(v, d, others):
    """``v * d``; for products of the others, 0 where ``v`` is 0 though ``d`` (or its
    derivative, at the next order) is infinite or NaN: a product of the others that
    overflows does not make the derivative along a direction that leaves its entry alone
    (a column of ``jacfwd``) NaN."""
    vd = v * d
    if not others:
        return vd
    return cnp.where(cnp.equal(undifferentiated(v), 0), 0, vd)


def prod_vjp(g, ans, x, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    d, others = prod_partials(ans, x, axis, keepdims, initial, where)
    return undo_dtype(times_partials(expand_reduced(g, x, axis, keepdims), d, others), x, dtype)


def prod_jvp(t, ans, x, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    d, others = prod_partials(ans, x, axis, keepdims, initial, where)
    return sum(times_partials(t, d, others), axis=axis, dtype=dtype, keepdims=keepdims)


def_vjps(prod, prod_vjp)
def_jvps(prod, prod_jvp)
def_vjps(nanprod, leaving_out_nan(prod_vjp, 5))
def_jvps(nanprod, leaving_out_nan(prod_jvp, 5))


# -- cumprod ------------------------------------------------------------------------------
def runs_fit(x, axis: int) -> tuple[bool, bool]:
    """Whether every product of up to three runs of consecutive entries of ``x`` along
    ``axis`` is a normal float (zeros, inf and NaN aside: they make their runs exactly 0,
    inf or NaN), first of ``x``, then of its entries with their binary exponents taken out
    (as :func:`exclusive_products` scales them). The derivatives of the scan, to second
    order, are sums of such products. A run's product is 2 to the difference of two
    cumulative sums of log2|x|, so none leaves the floats when their spread fits."""
    v = cnp.abs(undifferentiated(x))
    if not shape_of(v)[axis]:
        return True, True
    finite = cnp.logical_and(cnp.isfinite(v), cnp.not_equal(v, 0))
    logs = cnp.where(finite, cnp.log2(cnp.where(finite, v, 1)), 0)
    room = builtins.min(np.finfo(float_dtype(v)).maxexp, -np.finfo(float_dtype(v)).minexp) - 2

    def spread_fits(logs):
        runs = cnp.cumsum(logs, axis=axis)
        spread = cnp.maximum(cnp.max(runs, axis=axis), 0) - cnp.minimum(cnp.min(runs, axis=axis), 0)
        return every(spread * 3 < room)

    return spread_fits(logs), spread_fits(logs - cnp.where(finite, _centred_exponents(v), 0))


def cumprod_partials(xs, axis: int):
    """∂cumprod(xs)_k/∂xs_j with k and j the last two axes (``axis`` moved last): row k
    the product of the others among the first k + 1 entries, each row's binary exponents
    summed apart (prod's :func:`exclusive_products`), 0 past them. n² entries: only for
    products that the scan's partial products cannot hold."""
    y = cnp.moveaxis(xs, axis, -1)
    lower = np.tri(shape_of(y)[-1], dtype=bool)  # j <= k
    return cnp.where(lower, exclusive_products(cnp.where(lower, cnp.expand_dims(y, -2), 1), -1), 0)


def cumprod_kind(ans, xs, axis: int) -> str:
    """How cumprod's derivative is computed: ``"quotient"`` (ans / x, every product a
    normal float), ``"scan"`` (through the scan's products, exact where x has zeros or
    infinite entries, so long as no run of entries over- or underflows) or ``"others"``
    (:func:`cumprod_partials`, where one does; and where the entries' exponents taken out
    would not help, the scan). Not the quotient where the rule is differentiated again:
    its own derivative, -ans / x², overflows where ans / x does not (as prod's)."""
    if representable(ans) and not differentiated(xs):
        return "quotient"
    raw, scaled = runs_fit(xs, axis)
    return "scan" if raw or not scaled else "others"


def cumprod_cotangent(g, ans, xs, ax: int, kind: str):
    """cumprod's vjp along ``ax`` computed as ``kind`` says (:func:`cumprod_kind`)."""
    if kind == "quotient":
        return reverse_cumsum(g * ans, ax) / xs
    if kind == "scan":
        return pullback(lambda v: scan_cumprod(v, ax), (xs,))[1](g)[0]
    per_output = cnp.expand_dims(cnp.moveaxis(g, ax, -1), -1)  # (..., k, 1)
    return cnp.moveaxis(cnp.sum(times_partials(per_output, cumprod_partials(xs, ax), True), axis=-2), -1, ax)


def cumprod_vjp(g, ans, x, axis=None, dtype=None, out=None):
    xs, ax = along(x, axis)
    return undo_dtype(reshape_like(cumprod_cotangent(g, ans, xs, ax, cumprod_kind(ans, xs, ax)), x), x, dtype)


def cumprod_jvp(t, ans, x, axis=None, dtype=None, out=None):
    xs, ax = along(x, axis)
    ts = along(t, axis)[0]
    kind = cumprod_kind(ans, xs, ax)
    if kind == "quotient":
        return cumsum(ts / xs, axis=ax, dtype=dtype) * ans
    if kind == "scan":
        return pushforward(lambda v: scan_cumprod(v, ax), (xs,), (ts,))[1]
    per_input = cnp.expand_dims(cnp.moveaxis(ts, ax, -1), -2)  # (..., 1, j)
    return cnp.moveaxis(cnp.sum(times_partials(per_input, cumprod_partials(xs, ax), True), axis=-1), -1, ax)


def_vjps(cumprod, cumprod_vjp)
def_jvps(cumprod, cumprod_jvp)


# -- PyTorch's cumprod --------------------------------------------------------------------
def first_zero_vjp(g, xs, ax: int):
    """PyTorch's first derivative of cumprod along ``ax`` where ``xs`` has a zero (its
    cumprod_backward outside grad mode): the outputs from the first zero on count as 0 in
    the entries before it, and those from the second zero on in the first zero itself,
    whatever the entries between (0 * inf counts as 0); the entries after the first zero
    get 0. Before it, the product of the others (no quotient, as cumprod's own)."""
    zero = cnp.equal(undifferentiated(xs), 0)
    zeros_so_far = cumsum(zero, axis=ax)
    before, first = zeros_so_far == 0, zero & (zeros_so_far == 1)
    after_first = (zeros_so_far == 1) & ~zero
    x_before = cnp.where(before, xs, 1)
    # (the products of the others, not the scan, where one is not a normal float: a zero
    # cotangent past the first zero must not meet an infinite product and make NaN)
    prefix = cumprod(x_before, axis=ax)
    d_before = cumprod_cotangent(cnp.where(before, g, 0), prefix, x_before, ax,
                                 "quotient" if representable(prefix) else "others")
    runs_after_first = cumprod(cnp.where(after_first, xs, 1), axis=ax) * cnp.where(zeros_so_far == 1, g, 0)
    d_first = prod(x_before, axis=ax, keepdims=True) * sum(runs_after_first, axis=ax, keepdims=True)
    return cnp.where(before, d_before, cnp.where(first, d_first, 0))


def torch_cumprod_vjp(g, ans, x, axis=None, dtype=None, out=None):
    """cumprod's derivative, PyTorch's: its first derivative where ``x`` has a zero
    (:func:`first_zero_vjp`); where the rule is differentiated again, or ``x`` has no zero,
    cumprod's own (as PyTorch's in grad mode: the products of the others)."""
    xs, ax = along(x, axis)
    if differentiated(xs) or every(cnp.not_equal(undifferentiated(xs), 0)):
        return cumprod_vjp(g, ans, x, axis, dtype, out)
    return undo_dtype(reshape_like(first_zero_vjp(cnp.reshape(g, shape_of(xs)), xs, ax), x), x, dtype)


# PyTorch's Tensor.cumprod: the values and forward derivative of cumprod, PyTorch's first
# derivative at zeros (which differs from its second-order one there, as PyTorch's does)
torch_cumprod = reduction(np.cumprod, "cumprod", public=False)
torch_cumprod.eager_quiet = True
def_vjps(torch_cumprod, torch_cumprod_vjp)
def_jvps(torch_cumprod, cumprod_jvp)
def_batch(batching.cumulative, torch_cumprod)

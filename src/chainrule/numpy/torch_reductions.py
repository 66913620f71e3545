"""PyTorch's reductions and sorting on chainrule's Tensor (``sum(dim=)``, ``max(dim)``
returning (values, indices), ``std``/``var`` unbiased by default, ``sort``, ``topk``, ...),
written with the mirror so that each differentiates and traces under the transforms.

Where PyTorch and NumPy give the same name different results (``x.max(1)``, ``x.std()``,
``x.sort()``, ``x.nonzero()``), PyTorch's meaning is taken with a PyTorch keyword or on an
eager Tensor, NumPy's with NumPy's keywords or inside a transform (see
:mod:`chainrule.numpy.torch_methods`).
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

import chainrule.numpy as cnp
from chainrule.core import eager
from chainrule.core.dtypes import as_dtype
from chainrule.core.eager import EAGER, default_float_dtype
from chainrule.core.errors import TensorError
from chainrule.core.tensor import Tensor, stands_for_array, undifferentiated
from chainrule.core.trace import named_as_torch, quiet_numpy, restore_numpy
from chainrule.core.values import plain
from chainrule.numpy import reductions
from chainrule.numpy.exact_products import torch_cumprod
from chainrule.numpy.reductions import max_of_all_nan_attained, min_of_all_nan_attained
from chainrule.numpy.torch_common import (
    as_axes,
    as_eager,
    axis_or_dim,
    dim_required,
    elementwise_extreme,
    floating_only,
    is_eager,
    magnitude,
    no_bool_kernel,
    pytorchs,
    reduced_axes,
    scalar_dims,
    values_indices,
)
from chainrule.numpy.torch_linalg import (
    element_powers,
    largest_magnitude,
    negative_norm,
    norm_input,
    power_flat_at_zero,
)
from chainrule.numpy.torch_shape import checked_dim
from chainrule.numpy.torch_tie_order import LONGEST, redo_tied_rows, sort_order, topk_order
from chainrule.numpy.torch_tie_order import mode_index as torch_mode_index

__all__ = ["TorchReductionMethods"]

_NO = np._NoValue  # NumPy's "not given" for initial= and where=


def numpy_keywords(out=None, initial=_NO, where=_NO, mean=_NO) -> dict:
    """NumPy's keywords of a reduction method (``out=``, ``initial=``, ``where=``,
    ``mean=``) that the call gave, for the mirror's function; none if it gave none."""
    given = {"out": out} if out is not None else {}
    for name, value in (("initial", initial), ("where", where), ("mean", mean)):
        if value is not _NO:
            given[name] = value
    return given


def _order(key, axis: int, descending: bool):
    """The stable order of ``key`` along ``axis``, as PyTorch sorts: NaN counts as the
    largest value (last ascending, first descending), equal values keep their order, and
    descending works for every dtype (bool, unsigned, the most negative integer), where
    sorting ``-key`` would not."""
    if not descending:
        return cnp.argsort(key, axis=axis, kind="stable")
    flipped = cnp.argsort(cnp.flip(key, axis), axis=axis, kind="stable")
    return (np.shape(key)[axis] - 1) - cnp.flip(flipped, axis)


def _unstable_order(key, axis: int, descending: bool):
    """The order of PyTorch's ``sort(stable=False)``: :func:`_order`, but for rows longer
    than 16 with equal values, which PyTorch's introsort leaves in its own order
    (chainrule.numpy.torch_tie_order)."""
    order = _order(key, axis, descending)
    if np.ndim(key) == 0 or np.shape(key)[axis] <= 16:  # (an insertion sort: stable)
        return order
    return redo_tied_rows(key, order, axis, lambda row: sort_order(row, descending))


def _softmax(x, dim):
    quiet = quiet_numpy()  # a row of -inf gives nan silently, as PyTorch's (-inf - -inf)
    try:
        shifted = x - undifferentiated(cnp.max(x, axis=dim, keepdims=True, initial=-np.inf))
        e = cnp.exp(shifted)
        return named_as_torch(e / cnp.sum(e, axis=dim, keepdims=True), "SoftmaxBackward0")
    finally:
        restore_numpy(quiet)


def _log_softmax(x, dim):
    quiet = quiet_numpy()
    try:
        shifted = x - undifferentiated(cnp.max(x, axis=dim, keepdims=True, initial=-np.inf))
        return named_as_torch(shifted - cnp.log(cnp.sum(cnp.exp(shifted), axis=dim, keepdims=True)),
                              "LogSoftmaxBackward0")
    finally:
        restore_numpy(quiet)


def _vector_norm(x, p, dim, keepdim, dtype):
    """Tensor.norm's value (see :meth:`TorchReductionMethods.norm`)."""
    dim = None if as_axes(dim) == () else as_axes(dim)  # PyTorch's dim=[]: every dim
    if p == "fro" and isinstance(dim, tuple) and len(dim) > 2:
        raise RuntimeError(f"norm: the Frobenius norm takes one or two dims, got {dim}; use p=2 for the "
                           "2-norm of all the elements over more dims")
    x = x if dtype is None else cnp.astype(x, dtype)
    p = 2 if p == "fro" else p
    if p == 2 and x.dtype.kind == "c":
        return power_flat_at_zero(cnp.sum(cnp.abs(x) ** 2, axis=dim, keepdims=keepdim), 0.5)
    if p == "nuc":
        return cnp.linalg.norm(x, "nuc", axis=dim, keepdims=keepdim)
    if p in (float("inf"), float("-inf")):
        return largest_magnitude(x, p > 0, dim, keepdim)
    if p == 0:  # a count: derivative 0, on x's graph, as PyTorch's
        count = cnp.sum(cnp.astype(x != 0, x.dtype), axis=dim, keepdims=keepdim)
        return cnp.where(True, count, cnp.sum(magnitude(x), axis=dim, keepdims=keepdim))
    if p == 1:  # (its derivative at NaN is PyTorch's, 0)
        return cnp.sum(magnitude(x), axis=dim, keepdims=keepdim)
    a = cnp.abs(x)
    if p < 0:
        return negative_norm(a, p, dim, keepdim)
    if x.ndim == 0 or _reduced_count(x, dim) == 1:  # one element: its absolute value, as PyTorch's (no power
        return cnp.sum(a, axis=dim, keepdims=keepdim)  # to under- or overflow: |-1e-114| ** 3)
    # the powers summed in x's dtype, as PyTorch's: inf where they overflow (float32's
    # [1e20, 1e20]), 0 where they underflow, with PyTorch's gradients there (0)
    if p == 2:
        total = cnp.sum(x * x, axis=dim, keepdims=keepdim)  # x * x: NaN's derivative is NaN
    else:
        total = cnp.sum(element_powers(a, p), axis=dim, keepdims=keepdim)
    return power_flat_at_zero(total, 1.0 / p)


def _reduced_count(x, axis) -> int:
    """How many elements of ``x`` each result of a reduction over ``axis`` (None: all) takes."""
    if axis is None:
        return int(np.prod(x.shape))
    # (an axis out of range: NumPy's AxisError, as the reduction's)
    return math.prod(x.shape[a] for a in normalize_axis_tuple(axis, len(x.shape)))


def _without_numpys_warnings(fun, *args, **kwargs):
    """``fun(*args, **kwargs)`` without NumPy's RuntimeWarnings ("Mean of empty slice"),
    where PyTorch's gives nan silently or warns in its own words."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fun(*args, **kwargs)



def _nonempty_dims(x, dim, name: str) -> None:
    """PyTorch's IndexError for a reduction without identity (a maximum) over an empty dim,
    and its RuntimeError for one over all of an empty eager Tensor (NumPy's words: "zero-size
    array to reduction operation maximum which has no identity")."""
    if x.size == 0 and dim is None and pytorchs(x):
        raise TensorError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                          "reduction dim with the 'dim' argument.")
    if x.size == 0 and dim is not None and dim != ():
        for d in (dim if isinstance(dim, tuple | list) else (dim,)):
            if isinstance(d, int | np.integer) and -x.ndim <= d < x.ndim and x.shape[d] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


@scalar_dims()
def _cumsum(x, axis=None, dtype=None, out=None, *, dim=None):
    return cnp.cumsum(x, axis=axis_or_dim(axis, dim, "cumsum"), dtype=_accumulator(x, dtype), **numpy_keywords(out))


def _accumulator(x, dtype):
    """The dtype of a sum or product of ``x``: ``dtype`` where given; int64 for an eager
    unsigned Tensor (uint8, ...), as PyTorch's, where NumPy's is uint64."""
    if dtype is None and x.dtype.kind == "u" and x.dtype.itemsize < 8 and is_eager(x):
        return np.int64
    return dtype


def _pick(x, dim, keepdim, arg, torch_name: str):
    """(values, indices) of the reduction whose indices ``arg`` gives, the gradient going
    to the picked element only (as PyTorch), the values' node named ``torch_name``."""
    idx = as_eager(x, cnp.expand_dims(arg(undifferentiated(x), axis=dim), dim))
    vals = cnp.take_along_axis(x, idx, axis=dim)
    if not keepdim:
        vals, idx = cnp.squeeze(vals, dim), cnp.squeeze(idx, dim)
    return values_indices(named_as_torch(vals, torch_name), idx)


def _median_index(v, axis: int):
    """The position, along ``axis``, of each row's lower middle value; of its first NaN
    where it has one (PyTorch's median propagates NaN). Of chainrule.numpy, so that it
    maps under vmap."""
    idx = cnp.take(cnp.argsort(v, axis=axis, kind="stable"), (v.shape[axis] - 1) // 2, axis=axis)
    if v.dtype.kind in "fc":
        nan = cnp.isnan(v)
        idx = cnp.where(cnp.any(nan, axis=axis), cnp.argmax(nan, axis=axis), idx)
    return idx


def _nanmedian_index(v, axis: int):
    """The position, along ``axis``, of the lower middle value of each row's numbers
    (NaN left out; a row of NaN only: its first)."""
    order = cnp.argsort(v, axis=axis, kind="stable")  # NaN last
    if v.dtype.kind in "fc":
        count = cnp.sum(~cnp.isnan(v), axis=axis)
    else:
        count = np.full(np.delete(v.shape, axis), v.shape[axis])
    middle = cnp.expand_dims(cnp.maximum(count - 1, 0) // 2, axis)
    return cnp.squeeze(cnp.take_along_axis(order, middle, axis=axis), axis)


def _shared_median(x, skip_nan: bool):
    """The median of all of ``x``'s elements, its gradient shared by the elements equal
    to it, as PyTorch's: NaN if there is one (``median``), or of the numbers only
    (``nanmedian``; NaN if there are none). Of chainrule.numpy, so that it maps under
    vmap."""
    flat = cnp.ravel(x)
    v = undifferentiated(flat)
    if v.size == 0 and v.dtype.kind in "fc":
        return cnp.sum(flat) + np.nan  # PyTorch's NaN, on the graph
    if v.size == 0:
        raise TensorError("median() of an empty Tensor: give dim=")
    if v.dtype.kind not in "fc":
        return cnp.take(flat, _median_index(v, 0))
    ordered = cnp.sort(v)  # NaN last
    if skip_nan:
        value = cnp.take(ordered, cnp.maximum(cnp.sum(~cnp.isnan(v)) - 1, 0) // 2)
    else:
        value = cnp.where(cnp.isnan(cnp.take(ordered, -1)), np.nan, cnp.take(ordered, (v.size - 1) // 2))
    hit = cnp.where(cnp.isnan(value), cnp.isnan(v), v == value)
    count = cnp.sum(hit).astype(v.dtype)
    size = cnp.abs(cnp.where(cnp.isfinite(value), value, 0))  # inf - inf would be NaN
    # A median of zeros is -0.0 where every zero equal to it is (x - 0 keeps its sign).
    shift = cnp.where(cnp.all(cnp.signbit(v) | ~hit), -size, size)
    return shift - cnp.sum(cnp.where(hit, shift - flat, 0)) / count


def _mode_index(v, axis: int):
    """The last position, along ``axis``, of the most frequent value (the smallest of
    those equally frequent) of each row of ``v``."""
    if v.shape[axis] == 0:
        raise IndexError(f"mode(): Expected reduction dim {axis} to have non-zero size.")
    if not isinstance(v, np.ndarray):  # a transform's value (vmap's): by comparing every pair, which maps
        rows = cnp.moveaxis(v, axis, -1)
        counts = cnp.sum(cnp.expand_dims(rows, -1) == cnp.expand_dims(rows, -2), axis=-1)
        most = counts == cnp.max(counts, axis=-1, keepdims=True)
        value = cnp.min(cnp.where(most, rows, cnp.max(rows, axis=-1, keepdims=True)), axis=-1, keepdims=True)
        return rows.shape[-1] - 1 - cnp.argmax(cnp.flip(rows == value, -1), axis=-1)
    rows = np.moveaxis(v, axis, -1)
    flat = rows.reshape(-1, rows.shape[-1])
    out = np.empty(flat.shape[0], dtype=np.int64)
    for r, row in enumerate(flat):
        if row.dtype.kind in "fc" and len(row) <= 16 and np.isnan(row).any():
            out[r] = _mode_index_with_nan(row)
            continue
        values, counts = np.unique(row, return_counts=True)
        best = np.argmax(counts)
        with_nan = row.dtype.kind in "fc" and np.isnan(row).any()
        if counts[best] > 1 and 16 < len(row) and flat.size <= LONGEST and not with_nan:
            out[r] = torch_mode_index(row)  # which of them PyTorch's introsort leaves last
        else:
            out[r] = np.flatnonzero(row == values[best])[-1]
    return out.reshape(rows.shape[:-1])


def _mode_index_with_nan(row) -> int:
    """PyTorch's mode of a row (of at most 16 elements) that holds NaN: PyTorch sorts the
    row by ``<`` (an insertion sort for so few, which leaves a NaN where it stands and
    moves a number only past the numbers greater than it), then takes the last element of
    the first longest run of equal values (every NaN a run of its own)."""
    order: list[int] = []
    for i in range(len(row)):
        j = len(order)
        if order and row[i] < row[order[0]]:
            j = 0
        else:
            while j and row[i] < row[order[j - 1]]:
                j -= 1
        order.insert(j, i)
    best, best_count, count = order[0], 0, 0
    for k, i in enumerate(order):
        count += 1
        if k == len(order) - 1 or not row[i] == row[order[k + 1]]:
            if count > best_count:
                best, best_count = i, count
            count = 0
    return best


def _moments(x, name, pos, axis, dtype, ddof, keepdims, dim, unbiased, keepdim, correction, extra):
    """var/std: NumPy's with its keywords (axis=, ddof=, dtype=, keepdims=, out=, where=,
    mean=) or inside chainrule's transforms; PyTorch's (unbiased by default) with its
    keywords, on an eager Tensor, as ``torch.var`` or under torch.func."""
    fun = cnp.var if name == "var" else cnp.std
    if isinstance(dtype, bool):  # x.std(0, False): PyTorch's positional unbiased
        dtype, unbiased = None, dtype
    numpy_kw = axis is not None or ddof is not None or dtype is not None or keepdims or extra
    torch_kw = dim is not None or unbiased is not None or keepdim is not None or correction is not None
    if torch_kw or (pytorchs(x) and not numpy_kw):
        if correction is None:
            correction = 1 if unbiased is None else int(bool(unbiased))
        # axis= beside a PyTorch keyword (x.var(axis=-1, unbiased=False)) is PyTorch's alias of dim=
        where = as_axes(dim if dim is not None else pos if axis is None else axis)
        where = None if where == () else where  # PyTorch's dim=[]: every dim
        # float16 and float32 in float64, as PyTorch accumulates them: the std of float32's [1e20, -1e20] is
        # finite though its variance overflows
        wide = cnp.astype(x, np.float64) if x.dtype.kind == "f" and x.dtype.itemsize < 8 else x
        if _reduced_count(x, where) - correction > 0:
            out = fun(wide, axis=where, ddof=correction, keepdims=bool(keepdim or keepdims))
        else:
            warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                          "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=4)
            out = _without_numpys_warnings(fun, wide, axis=where, ddof=correction, keepdims=bool(keepdim or keepdims))
        return out if wide is x else _without_numpys_warnings(cnp.astype, out, x.dtype)
    return fun(x, axis=as_axes(pos if axis is None else axis), dtype=dtype, ddof=ddof or 0, keepdims=keepdims,
               **extra)


def _extreme(x, pos, keepdims, axis, dim, keepdim, elementwise, arg, reduce, extra):
    """max/min: of two Tensors; PyTorch's (values, indices) with dim= or a positional dim
    on an eager Tensor (or as ``torch.max``, or under torch.func); NumPy's reduction with
    axis= (or out=, initial=, where=) or inside chainrule's transforms."""
    if isinstance(pos, Tensor) or isinstance(pos, np.ndarray) and pos.ndim > 0:
        return elementwise(x, pos)
    if (axis is None and not extra
            and (dim is not None or keepdim is not None or (pos is not None and pytorchs(x)))):
        _over_values("max" if arg is cnp.argmax else "min", x, pos if dim is None else dim)
        return _pick(x, pos if dim is None else dim, bool(keepdim or keepdims), arg,
                     "MaxBackward0" if arg is cnp.argmax else "MinBackward0")
    return reduce(x, axis=as_axes(pos if axis is None else axis), keepdims=keepdims, **extra)


def _over_values(name: str, x, dim) -> None:
    """PyTorch's refusals of max/min/argmax/argmin of an eager Tensor over no values (an
    IndexError; NumPy's is a ValueError) and of argmax/argmin of a bool one."""
    if not pytorchs(x):
        return
    if name.startswith("arg") and x.dtype.kind == "b":
        raise TensorError(f"{name}(): does not support bool input; convert with .int() or .float()")
    if dim is None and x.size == 0:
        raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
    if isinstance(dim, int) and x.ndim and -x.ndim <= dim < x.ndim and x.shape[dim] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")


def _out_or_keepdims(out, keepdims):
    """(out, keepdims) of a position that is NumPy's ``out`` and PyTorch's ``keepdim``
    (``x.max(0, True)``, ``x.std(0, False, True)``): a bool is the latter."""
    if isinstance(out, bool | np.bool_):
        return None, out
    return out, keepdims


def _whole(x, pos, axis, dim) -> bool:
    """``x.max()`` of a whole eager Tensor, PyTorch's (inside the transforms, NumPy's)."""
    return pos is None and axis is None and dim is None and pytorchs(x)


def _truth(x, result):
    """all/any's ``result`` of ``x`` as an eager Tensor; of a uint8 ``x`` as uint8 0 or 1,
    as PyTorch's (its bool inputs' type of old)."""
    if x.dtype == np.uint8 and pytorchs(x) and result.dtype == np.bool_:
        result = cnp.astype(result, np.uint8)
    return as_eager(x, result)


def _maximum(x, other):
    return elementwise_extreme(x, other, True)


def _minimum(x, other):
    return elementwise_extreme(x, other, False)


def _softmax_dim(x, dim, dtype, name: str):
    """``dim``, after PyTorch's checks of the softmax family, in its order: the dimension's
    range first, then a floating-point input (or ``dtype``)."""
    if isinstance(dim, int):
        checked_dim(x, dim)
    floating_only(x, dtype, f"{name}: the input must be a floating point Tensor")
    return dim


class TorchReductionMethods:
    """PyTorch's reductions and sorting, set on Tensor by
    :func:`chainrule.numpy.bindings.bind_to_core`."""

    # -- reductions -----------------------------------------------------------------------------
    @scalar_dims()
    def sum(self, axis=None, dtype=None, out=None, keepdims=False, initial=_NO, where=_NO, *, dim=None,
            keepdim=None):
        if isinstance(dtype, bool):  # x.sum(1, True): PyTorch's keepdim
            dtype, keepdims = None, dtype
        return cnp.sum(self, axis=reduced_axes(self, axis, dim, "sum"), dtype=_accumulator(self, dtype),
                       keepdims=bool(keepdim or keepdims),
                       **numpy_keywords(out, initial, where))

    @scalar_dims()
    def mean(self, axis=None, dtype=None, out=None, keepdims=False, *, dim=None, keepdim=None, where=_NO):
        if isinstance(dtype, bool):
            dtype, keepdims = None, dtype
        if dtype is None and is_eager(self) and not np.issubdtype(self.dtype, np.inexact):
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a floating point or "
                               f"complex dtype. Got: {np.dtype(self.dtype).name}; convert with .float() or pass dtype=")
        if dtype is not None and is_eager(self) and not np.issubdtype(np.dtype(as_dtype(dtype)), np.inexact):
            raise RuntimeError(f"mean(): could not infer output dtype. Optional dtype must be either a floating point "
                               f"or complex dtype. Got: {np.dtype(as_dtype(dtype)).name}")
        axis = reduced_axes(self, axis, dim, "mean")
        # of nothing: nan, silently as PyTorch's; NumPy's warns, as under jit for a plain array
        numpys = _reduced_count(self, axis) or stands_for_array(self)
        mean = cnp.mean if numpys else functools.partial(_without_numpys_warnings, cnp.mean)
        return mean(self, axis=axis, dtype=dtype, keepdims=bool(keepdim or keepdims),
                    **numpy_keywords(out, where=where))

    def trace(self, offset=0, axis1=0, axis2=1, dtype=None, out=None):
        """The sum of the diagonal, of an unsigned Tensor in int64 as :meth:`sum`'s.

        >>> import numpy as np, chainrule as cr
        >>> str(cr.tensor(np.eye(2, dtype=np.uint8)).trace().dtype)
        'int64'
        """
        if pytorchs(self) and self.ndim != 2:  # NumPy's sums the diagonals of a stack
            raise TensorError(f"trace: expected a matrix, but got tensor with dim {self.ndim}; for a stack of "
                              f"matrices use x.diagonal(dim1=-2, dim2=-1).sum(-1)")
        return cnp.trace(self, offset, axis1, axis2, _accumulator(self, dtype), out)

    @scalar_dims()
    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        return cnp.nansum(self, axis=reduced_axes(self, None, dim, "nansum"), keepdims=keepdim,
                          dtype=_accumulator(self, dtype))

    def nanmean(self, dim=None, keepdim: bool = False, *, dtype=None):
        floating_only(self, None, "nanmean(): expected input to have floating point or complex dtype")
        # of no non-NaN element: nan, silently as PyTorch's (NumPy's warns "Mean of empty slice")
        return _without_numpys_warnings(cnp.nanmean, self, axis=reduced_axes(self, None, dim, "nanmean"),
                                        keepdims=keepdim, dtype=dtype)

    @scalar_dims()
    def prod(self, axis=None, dtype=None, out=None, keepdims=False, initial=_NO, where=_NO, *, dim=None,
             keepdim=None):
        if isinstance(dtype, bool):
            dtype, keepdims = None, dtype
        return cnp.prod(self, axis=axis_or_dim(axis, dim, "prod"), dtype=_accumulator(self, dtype),
                        keepdims=bool(keepdim or keepdims),
                        **numpy_keywords(out, initial, where))

    def all(self, axis=None, keepdims=False, *, dim=None, keepdim=None, out=None, where=_NO):
        return _truth(self, cnp.all(self, axis=axis_or_dim(axis, dim, "all"), keepdims=bool(keepdim or keepdims),
                                    **numpy_keywords(out, where=where)))

    def any(self, axis=None, keepdims=False, *, dim=None, keepdim=None, out=None, where=_NO):
        return _truth(self, cnp.any(self, axis=axis_or_dim(axis, dim, "any"), keepdims=bool(keepdim or keepdims),
                                    **numpy_keywords(out, where=where)))

    @scalar_dims()
    def max(self, pos=None, /, out=None, keepdims=False, initial=_NO, where=_NO, *, axis=None, dim=None,
            keepdim=None):
        """No axis: the maximum. ``max(dim)`` on an eager Tensor, or with ``dim=``: PyTorch's
        (values, indices); ``max(other)``: the elementwise maximum; ``axis=`` (or ``out=``,
        ``initial=``, ``where=``): NumPy's. Positions are NumPy's (axis, out, keepdims,
        initial, where), a bool second PyTorch's keepdim."""
        out, keepdims = _out_or_keepdims(out, keepdims)
        if _whole(self, pos, axis, dim):
            _nonempty_dims(self, None, "max")
        return _extreme(self, pos, keepdims, axis, dim, keepdim, _maximum, cnp.argmax,
                        max_of_all_nan_attained if _whole(self, pos, axis, dim) else cnp.max,
                        numpy_keywords(out, initial, where))

    @scalar_dims()
    def min(self, pos=None, /, out=None, keepdims=False, initial=_NO, where=_NO, *, axis=None, dim=None,
            keepdim=None):
        """As :meth:`max`, for the minimum."""
        out, keepdims = _out_or_keepdims(out, keepdims)
        if _whole(self, pos, axis, dim):
            _nonempty_dims(self, None, "min")
        return _extreme(self, pos, keepdims, axis, dim, keepdim, _minimum, cnp.argmin,
                        min_of_all_nan_attained if _whole(self, pos, axis, dim) else cnp.min,
                        numpy_keywords(out, initial, where))

    @scalar_dims()
    def amax(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        dim = reduced_axes(self, axis, dim, "amax")
        _nonempty_dims(self, dim, "amax")
        return cnp.max(self, axis=dim, keepdims=bool(keepdim or keepdims))

    @scalar_dims()
    def amin(self, dim=None, keepdim=False, *, axis=None, keepdims=False):
        dim = reduced_axes(self, axis, dim, "amin")
        _nonempty_dims(self, dim, "amin")
        return cnp.min(self, axis=dim, keepdims=bool(keepdim or keepdims))

    @scalar_dims()
    def argmax(self, axis=None, out=None, *, keepdims=False, dim=None, keepdim=None):
        out, keepdims = _out_or_keepdims(out, keepdims)  # x.argmax(1, True): PyTorch's keepdim
        where = axis_or_dim(axis, dim, "argmax")
        _over_values("argmax", self, where)
        return as_eager(self, cnp.argmax(self, axis=where, keepdims=bool(keepdim or keepdims), **numpy_keywords(out)))

    @scalar_dims()
    def argmin(self, axis=None, out=None, *, keepdims=False, dim=None, keepdim=None):
        out, keepdims = _out_or_keepdims(out, keepdims)  # x.argmin(1, True): PyTorch's keepdim
        where = axis_or_dim(axis, dim, "argmin")
        _over_values("argmin", self, where)
        return as_eager(self, cnp.argmin(self, axis=where, keepdims=bool(keepdim or keepdims), **numpy_keywords(out)))

    @scalar_dims()
    def median(self, dim=None, keepdim=False):
        """PyTorch's median: the lower of the two middle values; with ``dim``, (values,
        indices)."""
        no_bool_kernel(self, "median_cpu" if dim is None else "median_out")
        if dim is None:
            return _shared_median(self, skip_nan=False)
        return _pick(self, dim, keepdim, _median_index, "MedianBackward1")

    @scalar_dims()
    def nanmedian(self, dim=None, keepdim=False):
        """PyTorch's nanmedian: :meth:`median` of the numbers, NaN left out."""
        no_bool_kernel(self, "median_cpu" if dim is None else "median_out")
        if dim is None:
            return _shared_median(self, skip_nan=True)
        return _pick(self, dim, keepdim, _nanmedian_index, "NanmedianBackward1")

    def mode(self, dim: int = -1, keepdim: bool = False):
        """PyTorch's mode along ``dim``, (values, indices): the most frequent value (the
        smallest of those equally frequent) and the last position where it stands, the
        gradient going to that element."""
        if self.ndim == 0:
            return values_indices(self, as_eager(self, np.int64(0)))
        return _pick(self, dim, keepdim, _mode_index, "ModeBackward0")

    @scalar_dims()
    def var(self, pos=None, /, dtype=None, out=None, ddof=None, keepdims=False, *, axis=None, dim=None,
            unbiased=None, keepdim=None, correction=None, where=_NO, mean=_NO):
        """NumPy's var (ddof 0) with its keywords or inside transforms; PyTorch's (unbiased
        unless ``unbiased=False`` or ``correction=0``) with its keywords or on an eager Tensor.
        Positions are NumPy's (axis, dtype, out, ddof, keepdims), or PyTorch's (dim,
        unbiased, keepdim) after a bool second."""
        out, keepdim = _out_or_keepdims(out, keepdim)
        floating_only(self, dtype, "std and var only support floating point and complex dtypes")
        return _moments(self, "var", pos, axis, dtype, ddof, keepdims, dim, unbiased, keepdim, correction,
                        numpy_keywords(out, where=where, mean=mean))

    @scalar_dims()
    def std(self, pos=None, /, dtype=None, out=None, ddof=None, keepdims=False, *, axis=None, dim=None,
            unbiased=None, keepdim=None, correction=None, where=_NO, mean=_NO):
        """As :meth:`var`, the square root."""
        out, keepdim = _out_or_keepdims(out, keepdim)
        floating_only(self, dtype, "std and var only support floating point and complex dtypes")
        return _moments(self, "std", pos, axis, dtype, ddof, keepdims, dim, unbiased, keepdim, correction,
                        numpy_keywords(out, where=where, mean=mean))

    def cumsum(self, axis=None, dtype=None, out=None, *, dim=None):
        dim_required(self, axis, dim, "cumsum")
        result = _cumsum(self, axis, dtype, out, dim=dim)
        if out is None and self.ndim and result.dtype.kind == "f" and is_eager(self):
            # PyTorch's sums start at +0.0, so a leading -0.0 gives 0.0. Set in the new
            # value itself: cumsum's rule does not read it, and the graph keeps one node
            # (CumsumBackward0), as PyTorch's.
            value = undifferentiated(result)
            np.add(value, 0.0, out=value)
        return result

    @scalar_dims()
    def cumprod(self, axis=None, dtype=None, out=None, *, dim=None):
        dim_required(self, axis, dim, "cumprod")
        return torch_cumprod(self, axis=axis_or_dim(axis, dim, "cumprod"), dtype=_accumulator(self, dtype),
                             **numpy_keywords(out))

    @scalar_dims()
    def logsumexp(self, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False):
        dim_required(self, axis, dim, "logsumexp", numpys=False)
        keepdim = bool(keepdim or keepdims)
        if axis_or_dim(axis, dim, "logsumexp") == () and not keepdim and self.ndim:  # as PyTorch refuses it
            raise RuntimeError(f"logsumexp(): output with shape [] doesn't match the broadcast shape "
                               f"{[1] * self.ndim}: an empty list of dims reduces every dim; give keepdim=True, "
                               "or flatten first, x.flatten().logsumexp(0)")
        dim = reduced_axes(self, axis, dim, "logsumexp")
        x = self if self.dtype.kind in "fc" else self.to(default_float_dtype())  # (integers: PyTorch's)
        return reductions.logsumexp(x, axis=as_axes(dim), keepdims=keepdim)

    def norm(self, p="fro", dim=None, keepdim: bool = False, dtype=None):
        """PyTorch's ``Tensor.norm``: the vector p-norm over ``dim`` (all elements by
        default; 'fro' is 2), ``inf`` the largest magnitude."""
        floating_only(self, None, "linalg.vector_norm: Expected a floating point or complex tensor as input")
        if dtype is not None and is_eager(self):  # PyTorch's checks of dtype
            norm_input(self, dtype, "vector_norm")
        out = _vector_norm(self, p, dim, keepdim, dtype)
        return out if p == "nuc" else named_as_torch(out, "LinalgVectorNormBackward0")

    def renorm(self, p, dim: int, maxnorm):
        """PyTorch's renorm: each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm``
        scaled down to it (by ``maxnorm / (norm + 1e-7)``, PyTorch's factor)."""
        if self.ndim < 2:
            raise TensorError(f"renorm: input needs at least 2 dimensions, got {self.ndim}")
        if p <= 0:
            raise TensorError(f"renorm: non-positive norm not supported (p = {p})")
        if maxnorm < 0:
            raise TensorError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
        d = dim + self.ndim if dim < 0 else dim
        others = tuple(a for a in range(self.ndim) if a != d)
        over = undifferentiated(TorchReductionMethods.norm(self, p, others, keepdim=True)) > maxnorm
        # the norm of the slices not scaled (a NaN one among them) taken of zeros: its NaN
        # derivative would reach them through where's 0, where PyTorch's passes the gradient as is
        norm = TorchReductionMethods.norm(cnp.where(over, self, 0.0), p, others, keepdim=True)
        return self * cnp.where(over, maxnorm / (norm + 1e-7), 1.0)

    def renorm_(self, p, dim: int, maxnorm):
        return eager.inplace(self, lambda a, b: TorchReductionMethods.renorm(a, *b), (p, dim, maxnorm), "renorm_")

    # axis= (and keepdims=) are PyTorch's NumPy-style aliases of dim= (keepdim=) where
    # NumPy gives the name no other meaning: torch.cat([a, b], axis=-1) in HF's models
    def softmax(self, dim=None, dtype=None, *, axis=None):
        dim_required(self, axis, dim, "softmax", numpys=False)  # (F.softmax's implicit dim is F.softmax's)
        dim = _softmax_dim(self, axis_or_dim(axis, dim, "softmax"), dtype, "softmax")
        return _softmax(self if dtype is None else self.to(dtype), dim)

    def log_softmax(self, dim=None, dtype=None, *, axis=None):
        dim_required(self, axis, dim, "log_softmax", numpys=False)
        dim = _softmax_dim(self, axis_or_dim(axis, dim, "log_softmax"), dtype, "log_softmax")
        return _log_softmax(self if dtype is None else self.to(dtype), dim)

    # -- sorting --------------------------------------------------------------------------------
    @scalar_dims(always=True)
    def sort(self, pos=None, /, kind=None, *, axis=None, dim=None, descending: bool | None = None,
             stable: bool = False):
        """PyTorch's sort, (values, indices), with its keywords, on an eager Tensor or as
        ``torch.sort``/under torch.func; NumPy's in-place ``ndarray.sort`` with
        ``axis=``/``kind=`` or inside chainrule's transforms."""
        torch_kw = dim is not None or descending is not None or stable
        if not torch_kw and (axis is not None or kind is not None or not pytorchs(self)):
            where = -1 if pos is None and axis is None else (pos if axis is None else axis)
            eager.inplace(self, lambda a, how: cnp.sort(a, axis=how[0], kind=how[1]), (where, kind), "sort")
            return None
        d = -1 if dim is None and pos is None else (pos if dim is None else dim)
        key = undifferentiated(self)
        order = as_eager(self, (_order if stable else _unstable_order)(key, d, bool(descending)))
        return values_indices(cnp.take_along_axis(self, order, axis=d), order)

    @scalar_dims(always=True)
    def argsort(self, axis=-1, kind=None, order=None, *, dim=None, descending: bool = False, stable: bool = False):
        d = axis_or_dim(None if axis == -1 and dim is not None else axis, dim, "argsort")
        key = undifferentiated(self)
        if pytorchs(self) and kind is None:  # PyTorch's sort, stable or not
            return as_eager(self, (_order if stable else _unstable_order)(key, d, descending))
        if descending:
            return as_eager(self, _order(key, d, True))
        return as_eager(self, cnp.argsort(key, axis=d, kind="stable" if stable else kind))

    @scalar_dims()
    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
        if self.dtype.kind == "b" and is_eager(self):
            raise TensorError("topk does not support bool dtypes on CPU; convert with .int() or .float() first")
        size = self.shape[dim] if self.ndim else 1
        if not 0 <= k <= size:
            raise TensorError(f"topk: selected index k out of range: k = {k} for a dimension of size {size}")
        key = undifferentiated(self)
        first = cnp.take(_order(key, dim, largest), np.arange(k), axis=dim)
        if k:  # which of equal values PyTorch's selection returns, and its order when not sorted
            first = redo_tied_rows(key, first, dim, lambda row: topk_order(row, k, largest, sorted),
                                   not sorted and k * 64 > size)
        idx = as_eager(self, first)
        return values_indices(cnp.take_along_axis(self, idx, axis=dim), idx)

    def nonzero(self, as_tuple: bool = False):
        """NumPy's tuple of index arrays inside transforms or with ``as_tuple=True``;
        PyTorch's (n, ndim) int64 Tensor on an eager Tensor."""
        if not pytorchs(self):
            return cnp.nonzero(self)
        if as_tuple:
            return tuple(Tensor(i.astype(np.int64), EAGER) for i in np.nonzero(plain(self)))
        return Tensor(np.argwhere(plain(self)).astype(np.int64), EAGER)

    def argwhere(self):
        """PyTorch's ``argwhere``: the (n, ndim) int64 indices of the nonzero elements."""
        return Tensor(np.argwhere(plain(self)).astype(np.int64), EAGER)



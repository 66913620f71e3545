"""PyTorch's order statistics, windows and counts on chainrule's Tensor: ``quantile``,
``nanquantile``, ``kthvalue``, ``aminmax``, ``histc``, ``histogram``, ``logit`` and ``unfold``,
written with the mirror so that the differentiable ones (all but the histograms) differentiate as
PyTorch's do; and the functions ``torch.searchsorted``, ``torch.bucketize``,
``torch.isin`` and ``torch.cdist`` (:mod:`chainrule.numpy.torch_functions` exports them).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.eager import EAGER, tensor  # noqa: F401  (tensor: the docstring examples use it)
from chainrule.core.errors import TensorError
from chainrule.core.primitive import def_batch, def_jvps, def_vjps
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.values import plain
from chainrule.numpy import batching
from chainrule.numpy.registry import wrap
from chainrule.numpy.shape.primitives import strided
from chainrule.numpy.torch_common import (
    as_eager,
    no_bool_kernel,
    nonnegative_dim,
    sharing_tensor,
    tensor_of,
    values_indices,
)
from chainrule.numpy.torch_linalg import element_powers, power_flat_at_zero
from chainrule.numpy.torch_special_functions import logit as special_logit
from chainrule.numpy.torch_tie_order import kth_index, redo_tied_rows

__all__ = ["TorchOrderMethods", "bucketize", "cdist", "histogram_result", "isin", "min_max", "searchsorted"]


def _c_strides(shape) -> tuple:
    """The strides, in elements, of an array of ``shape`` in C order."""
    return tuple(int(np.prod(shape[k + 1:])) for k in range(len(shape)))

min_max = namedtuple("min_max", ["min", "max"])
"""What ``aminmax`` returns, as PyTorch's ``torch.return_types.aminmax``."""

histogram_result = namedtuple("histogram", ["hist", "bin_edges"])
"""What ``histogram`` returns, as PyTorch's ``torch.return_types.histogram``."""

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(x, q, dim, keepdim, interpolation, ignore_nan, name):
    if interpolation not in _INTERPOLATIONS:
        raise TensorError(f"{name}() interpolation must be one of {', '.join(_INTERPOLATIONS)}; got {interpolation!r}")
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}(): argument 'dim' must be int, not {type(dim).__name__}")
    if x.dtype not in (np.float32, np.float64):  # PyTorch's kernel: float16 refused too
        raise RuntimeError("quantile() input tensor must be either float or double dtype; convert it with .double()")
    qs = np.asarray(plain(q), dtype=x.dtype)
    if qs.ndim > 1 or np.any((qs < 0) | (qs > 1)) or np.any(np.isnan(qs)):
        raise RuntimeError(f"{name}() q must be a number or a 1-d Tensor of values in [0, 1]")
    if dim is None:
        x, dim = cnp.reshape(x, (-1,)), 0
    dim = nonnegative_dim(x, dim)
    if x.shape[dim] == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty along dim {dim}")
    key = undifferentiated(x)
    nan = np.isnan(key)
    ordered = cnp.take_along_axis(x, as_eager(x, np.argsort(key, axis=dim, kind="stable")), axis=dim)
    # Per row, the count of values taken into account: all of them, or (nanquantile) those not NaN
    counted = ~nan if ignore_nan else np.ones_like(nan)
    valid = np.sum(counted, axis=dim, keepdims=True)
    row_nan = np.any(nan, axis=dim, keepdims=True) if not ignore_nan else valid == 0
    # a Tensor q differentiates: linear interpolation's weight is q (n - 1) less its floor
    q_each = cnp.reshape(cnp.astype(q, x.dtype), (-1,)) if isinstance(q, Tensor) else np.atleast_1d(qs)
    results = []
    for i, quantile in enumerate(np.atleast_1d(qs)):
        pos = quantile * np.maximum(valid - 1, 0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.ceil(pos).astype(np.int64)
        below = cnp.take_along_axis(ordered, as_eager(x, lo), axis=dim)
        above = cnp.take_along_axis(ordered, as_eager(x, hi), axis=dim)
        if interpolation == "lower":
            value = below
        elif interpolation == "higher":
            value = above
        elif interpolation == "nearest":
            value = cnp.take_along_axis(ordered, as_eager(x, np.round(pos).astype(np.int64)), axis=dim)
        elif interpolation == "midpoint":
            value = below + (above - below) * 0.5
        else:
            value = below + (above - below) * (q_each[i] * np.maximum(valid - 1, 0).astype(x.dtype)
                                               - lo.astype(x.dtype))
        value = cnp.where(row_nan, np.nan, value)
        results.append(value if keepdim else cnp.squeeze(value, dim))
    return results[0] if qs.ndim == 0 else cnp.stack(results)


class TorchOrderMethods:
    """Set on Tensor with the other PyTorch methods (:mod:`chainrule.numpy.torch_methods`)."""

    def quantile(self, q, dim: int | None = None, keepdim: bool = False, *, interpolation: str = "linear"):
        """The ``q``-th quantiles along ``dim`` (of all values when None), as PyTorch's
        ``quantile``: a number ``q`` gives one, a 1-d ``q`` a first dimension of them; a row
        holding NaN gives NaN.

        >>> import chainrule as cr
        >>> cr.tensor([1.0, 2.0, 4.0]).quantile(0.75).item()
        3.0
        """
        return _quantile(self, q, dim, keepdim, interpolation, False, "quantile")

    def nanquantile(self, q, dim: int | None = None, keepdim: bool = False, *, interpolation: str = "linear"):
        """``quantile`` of the values that are not NaN (NaN where a row has none)."""
        return _quantile(self, q, dim, keepdim, interpolation, True, "nanquantile")

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False):
        """(values, indices) of the ``k``-th smallest entry (counting from 1) along ``dim``,
        the gradient going to that entry, as PyTorch's ``kthvalue``.

        >>> import chainrule as cr
        >>> cr.tensor([3.0, 1.0, 2.0]).kthvalue(2).indices.item()
        2
        """
        no_bool_kernel(self, "kthvalue_cpu")
        n = self.shape[dim] if self.ndim else 1
        if not 1 <= k <= n:
            raise TensorError(f"kthvalue(): selected number k = {k} out of range for dimension {dim}; it must be "
                              f"between 1 and {n} (the size of dim)")
        x = self if self.ndim else cnp.reshape(self, (1,))
        key = undifferentiated(x)
        picked = np.take(np.argsort(key, axis=dim, kind="stable"), k - 1, axis=dim)
        # which of equal values PyTorch's quickselect picks (chainrule.numpy.torch_tie_order)
        picked = redo_tied_rows(key, picked, dim, lambda row: kth_index(row, k - 1))
        idx = as_eager(x, np.expand_dims(picked, dim))
        vals = cnp.take_along_axis(x, idx, axis=dim)
        if not keepdim or not self.ndim:
            vals, idx = cnp.squeeze(vals, dim), cnp.squeeze(idx, dim)
        return values_indices(vals, idx)

    def aminmax(self, *, dim: int | None = None, keepdim: bool = False):
        """(min, max) along ``dim`` (of all values when None), as PyTorch's ``aminmax``.

        >>> import chainrule as cr
        >>> cr.tensor([3.0, 1.0, 2.0]).aminmax().max.item()
        3.0
        """
        if self.size == 0 and dim is None:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty tensor without dim=")
        return min_max(self.amin(dim, keepdim), self.amax(dim, keepdim))

    def histc(self, bins: int = 100, min: float = 0, max: float = 0):
        """A histogram of ``bins`` equal bins over [min, max] (the values' own range when
        min == max), values outside left out, as PyTorch's ``histc`` (no derivative).

        >>> import chainrule as cr
        >>> cr.tensor([1.0, 2.0, 1.0, 4.0]).histc(bins=3, min=1, max=4).tolist()
        [2.0, 1.0, 1.0]
        """
        v = np.asarray(plain(self))
        if not np.issubdtype(v.dtype, np.floating):
            raise RuntimeError("histc(): input must be a floating-point Tensor; convert it with .float()")
        if bins <= 0:
            raise RuntimeError(f"histc(): bins must be > 0; got {bins}")
        lo, hi = float(min), float(max)
        if lo > hi:
            raise RuntimeError(f"histc(): max must be larger than min; got min={lo}, max={hi}")
        if lo == hi and v.size:
            lo, hi = float(v.min()), float(v.max())
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise RuntimeError(f"histc(): range of [{lo}, {hi}] is not finite")
        counts, _ = np.histogram(v[(v >= lo) & (v <= hi)], bins=bins, range=(lo, hi))
        return Tensor(counts.astype(v.dtype), EAGER)

    def histogram(self, bins=100, *, range=None, weight=None, density: bool = False):
        """(hist, bin_edges): a histogram of ``bins`` equal bins over ``range`` (the values'
        own range when None), or over the edges ``bins`` given as a 1-D Tensor; with
        ``weight``, each value counts its weight; with ``density``, the counts are scaled to
        integrate to 1. As PyTorch's ``histogram`` (no derivative).

        >>> import chainrule as cr
        >>> h = cr.tensor([1.0, 2.0, 1.0, 4.0]).histogram(3)
        >>> h.hist.tolist(), h.bin_edges.tolist()
        ([2.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0])
        """
        v = np.asarray(plain(self))
        if not np.issubdtype(v.dtype, np.floating):
            raise RuntimeError("histogram(): input must be a floating-point Tensor; convert it with .float()")
        w = None if weight is None else np.asarray(plain(weight))
        if w is not None and w.shape != v.shape:
            raise RuntimeError(f"histogram(): weight must have the shape of input {v.shape}; got {w.shape}")
        if isinstance(bins, Tensor | np.ndarray | list | tuple):
            edges = np.asarray(plain(bins), dtype=v.dtype)
            if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) < 0):
                raise RuntimeError("histogram(): bins must be a 1-D Tensor of at least 2 increasing edges")
        else:
            if int(bins) <= 0:
                raise RuntimeError(f"histogram(): bins must be > 0; got {bins}")
            lo, hi = (float(v.min()), float(v.max())) if range is None and v.size else (0.0, 1.0)  # empty: [0, 1]
            if range is not None:
                lo, hi = float(range[0]), float(range[1])
            if lo > hi:
                raise RuntimeError(f"histogram(): max must be larger than min; got range=({lo}, {hi})")
            if lo == hi:
                lo, hi = lo - 0.5, hi + 0.5
            if not (np.isfinite(lo) and np.isfinite(hi)):
                raise RuntimeError(f"histogram(): range of [{lo}, {hi}] is not finite")
            edges = np.linspace(lo, hi, int(bins) + 1).astype(v.dtype)
        hist, _ = np.histogram(v.ravel(), bins=edges, weights=None if w is None else w.ravel(), density=density)
        return histogram_result(Tensor(hist.astype(v.dtype), EAGER), Tensor(edges, EAGER))

    def logit(self, eps: float | None = None):
        """``log(x / (1 - x))``, the inverse of ``sigmoid``; with ``eps``, of ``x`` clamped
        to [eps, 1 - eps] (derivative 0 outside), as PyTorch's ``logit``.

        >>> import chainrule as cr
        >>> cr.tensor([0.5]).logit().item()
        0.0
        """
        return special_logit(self, eps)  # torch.special.logit's, derivatives at 0 and 1 included

    def unfold(self, dimension: int, size: int, step: int):
        """Every window of ``size`` entries along ``dimension``, ``step`` apart, as a new last
        dimension, as PyTorch's ``Tensor.unfold``.

        >>> import chainrule as cr
        >>> cr.arange(5.0).unfold(0, 2, 2).tolist()
        [[0.0, 1.0], [2.0, 3.0]]
        """
        x = self if self.ndim else cnp.reshape(self, (1,))
        d = nonnegative_dim(x, dimension)
        n = x.shape[d]
        if size < 0 or size > n:
            raise RuntimeError(f"unfold(): size {size} must be between 0 and the size of dimension {dimension} ({n})")
        if step <= 0:
            raise RuntimeError(f"unfold(): step must be > 0; got {step}")
        count = (n - size) // step + 1
        if x._trace is EAGER and isinstance(x._value, np.ndarray) and x._value.flags.c_contiguous:
            # a view, as PyTorch's: a write into a window reaches the Tensor
            c = _c_strides(x.shape)
            shape = (*x.shape[:d], count, *x.shape[d + 1:], size)
            out = strided(x, shape, (*c[:d], c[d] * step, *c[d + 1:], c[d]))
        else:
            windows = np.arange(count)[:, None] * step + np.arange(size)
            out = cnp.moveaxis(cnp.take(x, windows, axis=d), d + 1, -1)
        return out if self.ndim else cnp.reshape(out, (-1,))

    def as_strided(self, size, stride, storage_offset: int | None = None):
        """PyTorch's ``as_strided``: the elements at ``storage_offset + sum(i_k * stride[k])``
        of this Tensor's memory (C order) for each index ``i`` of ``size``, as a view; the
        gradient adds up where elements repeat. The offset of a view counts from its base's
        first element, as PyTorch's, but the elements reached must lie from the view's
        first one on. A Tensor not laid out in C order (a transposed or sliced view) is
        refused: ``clone()`` it first.

        >>> import chainrule as cr
        >>> cr.arange(6.0).as_strided((2, 2), (1, 2), 1).tolist()
        [[1.0, 3.0], [2.0, 4.0]]
        """
        value = self._value
        if self._trace is EAGER and not (isinstance(value, np.ndarray) and value.flags.c_contiguous):
            raise RuntimeError("as_strided: this Tensor is not laid out in C order (a transposed or sliced view "
                               "of another), so its memory is not the one PyTorch's strides refer to; call "
                               ".clone() first")
        view = getattr(self, "_view", None)
        if storage_offset is not None and view is not None and view[0] is not self:
            start = (value.__array_interface__["data"][0] - view[0]._value.__array_interface__["data"][0])
            storage_offset -= start // value.itemsize  # PyTorch's offset counts from its base's first element
        return strided(self, tuple(int(n) for n in size), tuple(int(s) for s in stride), int(storage_offset or 0))


def searchsorted(sorted_sequence, input, *, out_int32: bool = False, right: bool = False, side: str | None = None,
                 sorter=None) -> Tensor:
    """For each of ``input``'s values, the index in ``sorted_sequence`` (sorted along its
    last dimension, rows matching ``input``'s leading dimensions) where it would be
    inserted to keep the order, as ``torch.searchsorted``.

    >>> searchsorted(tensor([1.0, 2.0, 3.0]), tensor([2.5, 1.0])).tolist()
    [2, 0]
    """
    if side is not None and side not in ("left", "right"):
        raise RuntimeError(f"searchsorted(): side must be 'left' or 'right'; got {side!r}")
    if side is not None and right and side == "left":
        raise RuntimeError("searchsorted(): side='left' and right=True contradict each other; give one")
    how = side or ("right" if right else "left")
    dtype = np.int32 if out_int32 else np.int64
    if np.ndim(sorted_sequence) == 1:  # by the mirror: under vmap, a batch of values (or sequences) in one call
        seq = sorted_sequence if sorter is None else cnp.take(sorted_sequence, sorter)
        out = cnp.astype(cnp.searchsorted(seq, input, side=how), dtype)
        made = sharing_tensor(np.asarray(out) if isinstance(out, np.generic) else out)  # (a plain array's: eager)
        return out if made is None else made
    seq, values = np.asarray(plain(sorted_sequence)), np.asarray(plain(input))
    if sorter is not None:
        seq = np.take_along_axis(seq, np.asarray(plain(sorter)), axis=-1)
    if seq.ndim == 0:
        raise RuntimeError("searchsorted(): sorted_sequence must have at least one dimension")
    if seq.shape[:-1] != values.shape[:-1]:
        raise RuntimeError(f"searchsorted(): the leading dimensions of sorted_sequence {seq.shape[:-1]} and "
                           f"input {values.shape[:-1]} must be the same (or sorted_sequence must be 1-d)")
    rows = seq.reshape(-1, seq.shape[-1])
    out = np.stack([np.searchsorted(r, v, side=how) for r, v in
                    zip(rows, values.reshape(len(rows), -1), strict=True)]).reshape(values.shape)
    return Tensor(np.asarray(out, dtype=dtype), EAGER)


def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each of ``input``'s values among the sorted 1-d ``boundaries``
    (``boundaries[i-1] < v <= boundaries[i]``; ``<=`` and ``<`` with ``right=True``), as
    ``torch.bucketize``.

    >>> bucketize(tensor([1.0, 2.5]), tensor([1.0, 2.0, 3.0])).tolist()
    [0, 2]
    """
    if np.ndim(plain(boundaries)) != 1:
        raise RuntimeError("bucketize(): boundaries must be a 1-d Tensor")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each of ``elements`` occurs in ``test_elements`` (a Tensor or a number), as
    ``torch.isin``.

    >>> isin(tensor([1, 2, 5]), tensor([2, 5])).tolist()
    [False, True, True]
    """
    if any(np.asarray(plain(v)).dtype.kind == "b" for v in (elements, test_elements)):
        raise TensorError("Unsupported input type encountered for isin(): Bool")
    return Tensor(np.isin(plain(elements), plain(test_elements), assume_unique=assume_unique, invert=invert), EAGER)


def _largest_difference_values(diff, ignore_nan: bool):
    """max |diff| over the last axis, 0 over no coordinates; a NaN coordinate is left out
    (``ignore_nan``: cdist's kernel) or makes the distance NaN (pdist's)."""
    magnitudes = np.abs(diff)
    if ignore_nan:
        magnitudes = np.where(np.isnan(magnitudes), 0, magnitudes)
    return np.max(magnitudes, axis=-1, initial=0)


def largest_difference_partials(diff, dist):
    """∂dist/∂diff of the inf-distance ``dist`` of coordinate differences ``diff``, that of
    PyTorch's cdist and pdist kernels: sign(diff) at every coordinate whose magnitude is the
    distance (each tie gets all of it, not a share), 0 elsewhere, and NaN where the distance
    less the magnitude is NaN (a NaN coordinate or distance, or inf at an infinite distance)."""
    d, m = undifferentiated(diff), cnp.expand_dims(undifferentiated(dist), -1)
    undefined = cnp.isnan(d) | cnp.isnan(m) | (cnp.isinf(d) & cnp.isinf(m))
    return cnp.where(undefined, np.nan, cnp.sign(d) * (cnp.abs(d) >= m))


# PyTorch's inf-distance: max |diff| over the last axis, each tie with the whole derivative
largest_difference = wrap(_largest_difference_values, "torch", "largest_difference", public=False)
def_vjps(largest_difference, lambda g, ans, diff, ignore_nan: cnp.expand_dims(g, -1) * largest_difference_partials(
    diff, ans))
def_jvps(largest_difference, lambda t, ans, diff, ignore_nan: cnp.sum(t * largest_difference_partials(diff, ans),
                                                                     axis=-1))
def_batch(batching.stacked, largest_difference)


def coordinate_distances(diff, p: float, nan_propagates: bool):
    """The ``p``-norm over the last axis of coordinate differences ``diff``, as PyTorch's
    cdist and pdist kernels give it and its gradient: a count of the coordinates that differ
    for p = 0 (NaN where one is NaN; derivative 0); for p = inf the largest magnitude
    (:func:`largest_difference`; a NaN coordinate is left out, unless ``nan_propagates``,
    pdist's); 0 over no coordinates. ``diff`` is on the graph of the points."""
    if p == 0:  # (derivative 0, NaN or not)
        d = np.asarray(undifferentiated(diff))
        counts = np.where(np.isnan(d).any(axis=-1), np.nan, np.sum(d != 0, axis=-1)).astype(d.dtype)
        return cnp.where(True, counts, cnp.sum(diff, axis=-1))
    if p == np.inf:
        return largest_difference(diff, ignore_nan=not nan_propagates)
    magnitudes = cnp.abs(diff)
    if p == 1:
        return cnp.sum(magnitudes, axis=-1)
    # (a zero coordinate difference has derivative 0 with p < 1, PyTorch's cdist's, where the
    # vector norms' is NaN with a NaN distance)
    powers = power_flat_at_zero(magnitudes, p) if p < 1 else element_powers(magnitudes, p)
    return power_flat_at_zero(cnp.sum(powers, axis=-1), 1.0 / p)


def cdist(x1, x2, p: float = 2.0, compute_mode: str | None = None):
    """The ``p``-norm distances between each row of ``x1`` (..., P, M) and each row of
    ``x2`` (..., R, M), a (..., P, R) Tensor, as ``torch.cdist``; differentiable, with
    gradient 0 where two points coincide.

    >>> cdist(tensor([[0.0, 0.0]]), tensor([[3.0, 4.0], [0.0, 1.0]])).tolist()
    [[5.0, 1.0]]
    """
    x1, x2 = tensor_of(x1), tensor_of(x2)
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist(): x1 {x1.shape} and x2 {x2.shape} must be at least 2-d with the same last "
                           "dimension (the coordinates)")
    if not (np.issubdtype(x1.dtype, np.floating) and np.issubdtype(x2.dtype, np.floating)):
        raise RuntimeError("cdist(): only floating-point Tensors are supported; convert with .float()")
    if p < 0:
        raise RuntimeError(f"cdist(): p must be >= 0; got {p}")
    return coordinate_distances(cnp.expand_dims(x1, -2) - cnp.expand_dims(x2, -3), p, nan_propagates=False)

"""Pooling, the ``torch.nn.functional`` way: ``max_pool1d``/``max_pool2d`` (``ceil_mode``,
``return_indices``), ``avg_pool1d``/``avg_pool2d`` (``ceil_mode``, ``count_include_pad``,
``divisor_override``), ``adaptive_avg_pool1d``/``adaptive_avg_pool2d`` and
``adaptive_max_pool1d``/``adaptive_max_pool2d``. The 1-d forms are the 2-d ones on a
height-1 image; all take batched (N, C, ...) or unbatched (C, ...) inputs, and being
compositions of the engine's window operations they differentiate to any order.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.errors import DimensionError, TensorError
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.nn import _ops
from chainrule.numpy.torch_common import as_eager

__all__ = [
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
]


def _pair(v, name: str) -> tuple[int, int]:
    if isinstance(v, int | np.integer):
        v = (int(v), int(v))
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise TensorError(f"{name} must be an int or a pair of ints, got {v}")
    return v


def _single(v, name: str) -> int:
    if isinstance(v, int | np.integer):
        return int(v)
    v = tuple(v)
    if len(v) != 1:
        raise TensorError(f"{name} must be an int or a 1-tuple, got {v}")
    return int(v[0])


def _dtype(x) -> np.dtype:
    return x.dtype if isinstance(x, Tensor | np.ndarray | np.generic) else np.asarray(x).dtype


def _batched(input, ndim: int, name: str, layout: str):
    """(the input with a batch axis, whether one was added)."""
    if input.ndim == ndim - 1:
        return cnp.reshape(input, (1, *input.shape)), True
    if input.ndim != ndim:
        raise DimensionError(f"{name} expects an input of shape {layout} (or without N), got {tuple(input.shape)}")
    return input, False


def _unbatch(out, unbatched: bool):
    return cnp.reshape(out, out.shape[1:]) if unbatched else out


def _pool_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool, name: str) -> int:
    """PyTorch's output length of a pooling window: with ``ceil_mode`` a last partial
    window is kept if it starts inside the input or its left padding."""
    span = d * (k - 1) + 1
    if s < 1 or k < 1 or d < 1:
        raise TensorError(f"{name}: kernel_size, stride and dilation must be positive, got {k}, {s} and {d}")
    if n + 2 * p < span:
        raise TensorError(
            f"{name}: a window of {k} (dilation {d}) does not fit an input of size {n} with padding {p}")
    out = (n + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_setup(input, kernel_size, stride, padding, dilation, ceil_mode, name):
    """(kernel, stride, padding, dilation, output size, extra cells on the right)."""
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or stride == () or stride == [] else _pair(stride, "stride")
    padding, dilation = _pair(padding, "padding"), _pair(dilation, "dilation")
    if any(2 * p > k for p, k in zip(padding, kernel, strict=True)):
        raise TensorError(f"{name}: padding {padding} should be at most half the kernel size {kernel}")
    hw = tuple(input.shape[2:])
    out = tuple(_pool_size(*a, ceil_mode, name) for a in zip(hw, kernel, stride, padding, dilation, strict=True))
    extra = tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p))
                  for o, s, d, k, n, p in zip(out, stride, dilation, kernel, hw, padding, strict=True))
    return kernel, stride, padding, dilation, out, extra


def indices_like(x, indices):
    """A max pool's indices: an eager Tensor where ``x`` is one (as PyTorch's), else as they
    are (a transform's, batched by vmap, say)."""
    return as_eager(x, indices) if isinstance(x, Tensor) else indices


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """The maximum of each window (padding counts as −∞); the gradient goes to the
    first maximum of each window. ``ceil_mode`` keeps a last partial window;
    ``return_indices`` also returns each maximum's flat index into H·W (int64).

    >>> max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    >>> max_pool2d(np.arange(9.0).reshape(1, 3, 3), 2, ceil_mode=True).tolist()
    [[[4.0, 5.0], [7.0, 8.0]]]
    """
    x, unbatched = _batched(input, 4, "max_pool2d", "(N, C, H, W)")
    kernel, stride, padding, dilation, _, extra = _pool_setup(
        x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    if extra != (0, 0):
        x = cnp.pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])), constant_values=-np.inf)
    geom = (kernel, stride, padding, dilation)
    out = _ops.max_pool(x, geom)
    if not return_indices:
        return _unbatch(out, unbatched)
    k = _ops._argmax_windows(undifferentiated(x), undifferentiated(out), geom).astype(np.int64)
    rows = np.arange(out.shape[2]).reshape(-1, 1) * stride[0] - padding[0]
    cols = np.arange(out.shape[3]) * stride[1] - padding[1]
    flat = (rows + (k // kernel[1]) * dilation[0]) * input.shape[-1] + cols + (k % kernel[1]) * dilation[1]
    return _unbatch(out, unbatched), indices_like(input, _unbatch(flat, unbatched))


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """:func:`max_pool2d` along the last axis of (N, C, L) or (C, L).

    >>> max_pool1d(np.array([[1.0, 3.0, 2.0, 5.0, 4.0]]), 2, ceil_mode=True).tolist()
    [[3.0, 5.0, 4.0]]
    """
    x, unbatched = _batched(input, 3, "max_pool1d", "(N, C, L)")
    stride = None if stride is None or stride == () or stride == [] else (1, _single(stride, "stride"))
    res = max_pool2d(cnp.expand_dims(x, 2), (1, _single(kernel_size, "kernel_size")), stride,
                     (0, _single(padding, "padding")), (1, _single(dilation, "dilation")), ceil_mode,
                     return_indices)
    if return_indices:
        return tuple(_unbatch(r[:, :, 0], unbatched) for r in res)
    return _unbatch(res[:, :, 0], unbatched)


def _window_sizes(n, o, k, s, p, include_pad):
    """PyTorch's divisor along one axis: the window clipped to the padded input, or
    (``include_pad=False``) to the input itself."""
    start = np.arange(o) * s - p
    end = np.minimum(start + k, n + p)
    if include_pad:
        return end - start
    return np.minimum(end, n) - np.maximum(start, 0)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None):
    """The mean of each window, with PyTorch's arguments in PyTorch's order: with
    ``count_include_pad=False`` the padding is left out of the count; ``ceil_mode`` keeps
    a last partial window (divided by its part inside the padded input);
    ``divisor_override`` divides every window's sum by that number instead.

    >>> avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    x, unbatched = _batched(input, 4, "avg_pool2d", "(N, C, H, W)")
    kernel, stride, padding, _, out_hw, extra = _pool_setup(
        x, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    if extra != (0, 0):
        x = cnp.pad(x, ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    win = cnp.sum(_ops.unfold(x, (kernel, stride, padding, (1, 1)), "pool"), axis=0)  # (N, C, OH, OW)
    if divisor_override is not None:
        if int(divisor_override) == 0:
            raise TensorError("avg_pool2d: divisor_override must be non-zero")
        return _unbatch(win / _dtype(win).type(divisor_override), unbatched)
    sizes = [_window_sizes(n, o, k, s, p, count_include_pad)
             for n, o, k, s, p in zip(input.shape[-2:], out_hw, kernel, stride, padding, strict=True)]
    div = np.multiply.outer(*sizes)
    if np.all(div == div.flat[0]):
        return _unbatch(win / _dtype(win).type(div.flat[0]), unbatched)
    return _unbatch(win / div.astype(_dtype(win)), unbatched)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True):
    """:func:`avg_pool2d` along the last axis of (N, C, L) or (C, L).

    >>> avg_pool1d(np.array([[1.0, 3.0, 2.0, 6.0]]), 2).tolist()
    [[2.0, 4.0]]
    """
    x, unbatched = _batched(input, 3, "avg_pool1d", "(N, C, L)")
    stride = None if stride is None or stride == () or stride == [] else (1, _single(stride, "stride"))
    out = avg_pool2d(cnp.expand_dims(x, 2), (1, _single(kernel_size, "kernel_size")), stride,
                     (0, _single(padding, "padding")), ceil_mode, count_include_pad)
    return _unbatch(out[:, :, 0], unbatched)


def _adaptive_bounds(n_in: int, n_out: int):
    i = np.arange(n_out)
    return (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)


def _adaptive_mean(x, axis: int, n_out: int):
    """The mean over each of PyTorch's ``n_out`` adaptive windows along ``axis`` (negative):
    each window's sum divided by its size, as PyTorch's, so an inf or NaN stays in its own
    windows (a product with an averaging matrix would spread 0 · inf = NaN to the others)."""
    n_in = x.shape[axis]
    if n_out and n_in % n_out == 0:  # equal windows side by side
        shape = tuple(x.shape)
        split = (*shape[:axis % x.ndim], n_out, n_in // n_out, *shape[axis % x.ndim + 1:])
        return cnp.sum(cnp.reshape(x, split), axis=axis) / _dtype(x).type(n_in // n_out)
    start, stop = _adaptive_bounds(n_in, n_out)
    index = _adaptive_index(n_in, n_out) if n_out else np.zeros((0, 1), np.int64)
    inside = np.arange(index.shape[1]) < (stop - start)[:, None]  # the padding repeats positions
    windows = cnp.moveaxis(cnp.take(x, index, axis=axis), (axis - 1, axis), (-2, -1))
    sums = cnp.sum(cnp.where(inside, windows, 0), axis=-1)
    return cnp.moveaxis(sums / (stop - start).astype(_dtype(x)), -1, axis)


def _adaptive_sizes(input, output_size, name):
    if input.ndim not in (3, 4):
        raise DimensionError(f"{name} expects (N, C, H, W) or (C, H, W), got {tuple(input.shape)}")
    if output_size is None or isinstance(output_size, int | np.integer):
        output_size = (output_size, output_size)
    h, w = input.shape[-2:]
    oh, ow = (n if o is None else int(o) for n, o in zip((h, w), output_size, strict=True))
    if oh < 0 or ow < 0:  # 0 is allowed: an empty output, as PyTorch's
        raise TensorError(f"{name}: output_size must be at least 0, got {output_size}")
    return h, w, oh, ow


def adaptive_avg_pool2d(input, output_size):
    """The mean over PyTorch's adaptive windows: output row i averages input rows
    ⌊i·H/OH⌋ … ⌈(i+1)·H/OH⌉ − 1 (columns alike). ``output_size``: an int or a pair,
    None keeping that size. Input (N, C, H, W) or (C, H, W).

    >>> adaptive_avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 1).tolist()
    [[[[7.5]]]]
    """
    h, w, oh, ow = _adaptive_sizes(input, output_size, "adaptive_avg_pool2d")
    return _adaptive_mean(_adaptive_mean(input, -2, oh), -1, ow)


def adaptive_avg_pool1d(input, output_size):
    """:func:`adaptive_avg_pool2d` along the last axis of (N, C, L) or (C, L).

    >>> adaptive_avg_pool1d(np.array([[1.0, 2.0, 3.0, 4.0]]), 2).tolist()
    [[1.5, 3.5]]
    """
    _batched(input, 3, "adaptive_avg_pool1d", "(N, C, L)")
    return adaptive_avg_pool2d(cnp.expand_dims(input, -2), (1, _single(output_size, "output_size")))[..., 0, :]


def _adaptive_index(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, k): the input positions of each adaptive window, the shorter ones padded
    with their last position (which does not change a maximum)."""
    start, stop = _adaptive_bounds(n_in, n_out)
    k = int((stop - start).max())
    return np.minimum(start[:, None] + np.arange(k), stop[:, None] - 1)


def window_maximum_index(key):
    """The index along the last axis of ``key`` (plain values, each window's flattened) of
    the first maximum, or of the last NaN where a window holds one, as PyTorch's max pools
    (their scan takes a NaN as a new maximum), kept as a last axis of size 1.

    >>> window_maximum_index(np.array([[1.0, 3.0, 3.0], [np.nan, 5.0, np.nan]])).tolist()
    [[1], [2]]
    """
    nan = cnp.isnan(key)
    last_nan = key.shape[-1] - 1 - cnp.argmax(nan[..., ::-1], axis=-1)
    return cnp.where(cnp.any(nan, axis=-1), last_nan, cnp.argmax(key, axis=-1))[..., None]


def adaptive_max_pool2d(input, output_size, return_indices: bool = False):
    """The maximum over PyTorch's adaptive windows (see :func:`adaptive_avg_pool2d`); the
    gradient goes to each window's first maximum, NaN propagates (to its last NaN); ``return_indices``
    also returns the flat index into H·W of each maximum.

    >>> adaptive_max_pool2d(np.arange(16.0).reshape(1, 4, 4), 2).tolist()
    [[[5.0, 7.0], [13.0, 15.0]]]
    """
    h, w, oh, ow = _adaptive_sizes(input, output_size, "adaptive_max_pool2d")
    lead = tuple(input.shape[:-2])
    if oh == 0 or ow == 0:  # no window: an empty output (and no maximum to point at)
        out = cnp.reshape(input[..., :0, :0], (*lead, oh, ow))
        return (out, indices_like(input, np.zeros((*lead, oh, ow), np.int64))) if return_indices else out
    ih, iw = _adaptive_index(h, oh), _adaptive_index(w, ow)
    kh, kw = ih.shape[1], iw.shape[1]
    g = cnp.reshape(cnp.take(input, ih.ravel(), axis=-2), (*lead, oh, kh, w))
    g = cnp.reshape(cnp.take(g, iw.ravel(), axis=-1), (*lead, oh, kh, ow, kw))
    g = cnp.reshape(cnp.swapaxes(g, -3, -2), (*lead, oh, ow, kh * kw))
    best = window_maximum_index(undifferentiated(g))
    out = cnp.take_along_axis(g, best, axis=-1)[..., 0]
    if not return_indices:
        return out
    table = (ih[:, None, :, None] * w + iw[None, :, None, :]).reshape(oh, ow, kh * kw)
    flat = cnp.take_along_axis(np.broadcast_to(table, (*lead, oh, ow, kh * kw)), best, axis=-1)[..., 0]
    return out, indices_like(input, flat)


def adaptive_max_pool1d(input, output_size, return_indices: bool = False):
    """:func:`adaptive_max_pool2d` along the last axis of (N, C, L) or (C, L).

    >>> adaptive_max_pool1d(np.array([[1.0, 3.0, 2.0, 5.0, 4.0]]), 2).tolist()
    [[3.0, 5.0]]
    """
    _batched(input, 3, "adaptive_max_pool1d", "(N, C, L)")
    res = adaptive_max_pool2d(cnp.expand_dims(input, -2), (1, _single(output_size, "output_size")), return_indices)
    return tuple(r[..., 0, :] for r in res) if return_indices else res[..., 0, :]

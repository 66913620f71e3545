"""Fractional max pooling (Graham, 2014), PyTorch's ``fractional_max_pool2d`` and
``fractional_max_pool3d``: windows of ``kernel_size`` whose starts, along each axis, are
PyTorch's pseudo-random sequence ⌊(i + u)·α⌋ − ⌊u·α⌋ (α = (n − k)/(out − 1), the last
window at the end) for a sample u ∈ [0, 1) per plane and axis. ``_random_samples``
(N, C, dims) fixes the samples, as in PyTorch (2-d: the first for the width, the second
for the height); without it they are drawn from the global generator."""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.rng import get_generator
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.nn._pooling import _dtype, indices_like

__all__ = ["fractional_max_pool2d", "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d_with_indices"]


def _starts(u, n: int, out: int, k: int, dtype):
    """(N, C, out) window starts along an axis of size n, from the samples u (N, C) (a batch
    of vmap too: each example's own samples)."""
    last = np.full((*u.shape, min(out, 1)), n - k, dtype=np.int64)
    if out <= 1:
        return last
    alpha = dtype.type(n - k) / dtype.type(out - 1)
    i = np.arange(out - 1, dtype=dtype)
    first = cnp.astype((i + cnp.expand_dims(u, -1)) * alpha, np.int64) - \
        cnp.expand_dims(cnp.astype(u * alpha, np.int64), -1)
    return cnp.concatenate([first, last + cnp.zeros_like(first[..., :1])], axis=-1)


def _fractional(input, kernel_size, output_size, output_ratio, return_indices, samples, dims: int, name: str):
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    unbatched = input.ndim == dims + 1
    if input.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{name}: expected a {dims + 1}-d or {dims + 2}-d input, got shape {tuple(input.shape)}")
    x = cnp.expand_dims(input, 0) if unbatched else input
    n, c, spatial = x.shape[0], x.shape[1], tuple(x.shape[2:])

    def tup(v, kind):
        return (kind(v),) * dims if np.ndim(v) == 0 else tuple(kind(a) for a in v)

    kernel = tup(kernel_size, int)
    if output_size is None:
        out = tuple(int(s * r) for s, r in zip(spatial, tup(output_ratio, float), strict=True))
    else:
        out = tup(output_size, int)
    for size, k, o in zip(spatial, kernel, out, strict=True):
        if o + k - 1 > size:
            raise RuntimeError(f"{name}(): pool size {k} too large relative to input size {size} for an output "
                               f"of {o}")
    dtype = _dtype(x)
    if samples is None:
        u = get_generator(None).random((n, c, dims)).astype(dtype)
    else:  # samples batched by vmap (each example's own) stay a batch
        u = undifferentiated(samples)
        u = cnp.astype(u, dtype) if isinstance(u, Tensor) else np.asarray(u, dtype=dtype)
    order = (1, 0) if dims == 2 else (0, 1, 2)  # PyTorch's: a 2-d plane's first sample is the width's
    # positions[a]: (N, C, out_a, k_a), placed for broadcasting into (N, C, *out, *kernel)
    idx = [np.arange(n).reshape(n, 1, *(1,) * 2 * dims), np.arange(c).reshape(1, c, *(1,) * 2 * dims)]
    for a in range(dims):
        pos = cnp.expand_dims(_starts(u[:, :, order[a]], spatial[a], out[a], kernel[a], dtype), -1) + \
            np.arange(kernel[a])
        shape = [n, c] + [1] * 2 * dims
        shape[2 + a], shape[2 + dims + a] = out[a], kernel[a]
        idx.append(cnp.reshape(pos, shape))
    windows = cnp.getitem(x, tuple(idx))  # (N, C, *out, *kernel); x may be a plain array, idx batched
    windows = cnp.reshape(windows, (n, c, *out, -1))
    key = undifferentiated(windows)
    best = cnp.argmax(cnp.where(cnp.isnan(key), np.inf, key), axis=-1)[..., None]  # NaN wins, as PyTorch's
    res = cnp.take_along_axis(windows, best, axis=-1)[..., 0]
    res = res[0] if unbatched else res
    if not return_indices:
        return res
    flat = np.zeros(np.broadcast_shapes(*(tuple(i.shape) for i in idx[2:])), dtype=np.int64)
    for a in range(dims):
        flat = flat * spatial[a] + idx[2 + a]
    # best batched by vmap (each example's own maxima) stays a batch: one gather over it
    flat = cnp.take_along_axis(cnp.reshape(flat, (n, c, *out, -1)), undifferentiated(best), axis=-1)[..., 0]
    return res, indices_like(input, flat[0] if unbatched else flat)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices: bool = False,
                          _random_samples=None):
    """2-d fractional max pooling of (N, C, H, W) or (C, H, W) to ``output_size`` (or
    ``output_ratio`` of the input's size); indices flat into H·W.

    >>> fractional_max_pool2d(np.arange(25.0).reshape(1, 5, 5), 2, 2, _random_samples=np.zeros((1, 1, 2))).tolist()
    [[[6.0, 9.0], [21.0, 24.0]]]
    """
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 2,
                       "fractional_max_pool2d")


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices: bool = False,
                          _random_samples=None):
    """3-d fractional max pooling of (N, C, T, H, W) or (C, T, H, W); indices flat into T·H·W."""
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 3,
                       "fractional_max_pool3d")


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices: bool = False, _random_samples=None):
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True, _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices: bool = False, _random_samples=None):
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True, _random_samples)

"""Spatial transformers, as ``torch.nn.functional``: ``affine_grid`` (the sampling grid of
a batch of 2-d affine maps) and ``grid_sample`` (the input read at a grid of normalised
points, by bilinear or nearest interpolation, with zeros, border or reflection padding).
Both differentiate: ``grid_sample`` in the input and in the grid (its bilinear weights),
``affine_grid`` in ``theta``.

>>> import numpy as np
>>> theta = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])        # the identity map
>>> x = np.arange(12.0).reshape(1, 1, 3, 4)
>>> grid = affine_grid(theta, (1, 1, 3, 4), align_corners=False)
>>> bool(np.allclose(grid_sample(x, grid, align_corners=False), x))
True
"""

from __future__ import annotations

import warnings

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.errors import DimensionError, TensorError
from chainrule.core.tensor import Tensor, undifferentiated

__all__ = ["affine_grid", "grid_sample"]

_DEFAULT_CHANGED = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since "
                    "PyTorch 1.3.0; chainrule follows it. Pass align_corners= to say which you mean.")


def _base(n: int, align_corners: bool, dtype) -> np.ndarray:
    """The normalised coordinates (−1 … 1) of ``n`` pixel centres (or corners)."""
    if align_corners:
        return np.linspace(-1.0, 1.0, n, dtype=dtype) if n > 1 else np.zeros(1, dtype=dtype)
    return ((np.arange(n, dtype=dtype) * 2 + 1) / n - 1).astype(dtype)


def affine_grid(theta, size, align_corners: bool | None = None):
    """The (N, H, W, 2) grid of (x, y) points that the affine maps ``theta`` (N, 2, 3) send
    the output pixels of ``size`` (N, C, H, W) to, in normalised coordinates (PyTorch's).

    ``align_corners`` (default False, with PyTorch's warning when not given) says whether
    −1 and 1 are the centres of the corner pixels (True) or their outer edges (False).
    """
    if align_corners is None:
        warnings.warn(_DEFAULT_CHANGED, UserWarning, stacklevel=2)
        align_corners = False
    if not isinstance(theta, Tensor):
        theta = np.asarray(theta)
    if theta.dtype.kind not in "fc":
        raise ValueError(f"affine_grid: Expected theta to have floating point type, but got {theta.dtype}; convert "
                         "it with .float() or .double()")
    n, _, h, w = (int(v) for v in size) if len(size) == 4 else (None,) * 4
    if n is None:
        raise NotImplementedError(f"affine_grid: a 4-d size (N, C, H, W) is supported, got {tuple(size)}")
    if tuple(theta.shape) != (n, 2, 3):
        raise TensorError(f"affine_grid: theta must have shape (N, 2, 3) = ({n}, 2, 3) for size {tuple(size)}, "
                         f"got {tuple(theta.shape)}")
    dtype = theta.dtype if theta.dtype.kind == "f" else np.float64
    xs, ys = _base(w, align_corners, dtype), _base(h, align_corners, dtype)
    base = np.stack(np.broadcast_arrays(xs[None, :], ys[:, None], np.ones((1, 1), dtype=dtype)), axis=-1)
    return cnp.einsum("hwk,njk->nhwj", base, theta)


def _unnormalise(coord, n: int, align_corners: bool):
    """Pixel coordinates of normalised ones along an axis of ``n`` pixels."""
    if align_corners:
        return (coord + 1) / 2 * (n - 1)
    return ((coord + 1) * n - 1) / 2


def _reflect(coord, low: float, high: float):
    """``coord`` reflected into [low, high] (PyTorch's reflection padding of coordinates)."""
    span = high - low
    if span <= 0:
        return coord * 0 + low
    extra = cnp.abs(coord - low)
    flips = cnp.floor(undifferentiated(extra) / span)
    rest = extra - flips * span
    return cnp.where(flips % 2 == 0, rest + low, high - rest)


def _padded(coord, n: int, padding_mode: str, align_corners: bool):
    if padding_mode == "border":
        return cnp.clip(coord, 0, n - 1)
    if padding_mode == "reflection":
        coord = _reflect(coord, 0.0, n - 1.0) if align_corners else _reflect(coord, -0.5, n - 0.5)
        return cnp.clip(coord, 0, n - 1)
    return coord


def grid_sample(input, grid, mode: str = "bilinear", padding_mode: str = "zeros", align_corners: bool | None = None):
    """``input`` (N, C, H, W) read at the points of ``grid`` (N, Ho, Wo, 2), (x, y) in
    normalised coordinates (−1 the left/top, 1 the right/bottom), as PyTorch's: ``mode``
    'bilinear' or 'nearest', ``padding_mode`` 'zeros', 'border' or 'reflection'."""
    if not isinstance(mode, str) or mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but "
                         f"got: {mode!r}")
    if mode == "bicubic":
        raise NotImplementedError(f"grid_sample: mode {mode!r}; 'bilinear' and 'nearest' are supported")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise TensorError(f"grid_sample: padding_mode must be 'zeros', 'border' or 'reflection', not {padding_mode!r}")
    if align_corners is None:
        warnings.warn(_DEFAULT_CHANGED, UserWarning, stacklevel=2)
        align_corners = False
    if not isinstance(input, Tensor):
        input = np.asarray(input)
    if not isinstance(grid, Tensor):
        grid = np.asarray(grid)
    if input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise DimensionError(f"grid_sample: input (N, C, H, W) and grid (N, Ho, Wo, 2) of the same N are supported, "
                         f"got {tuple(input.shape)} and {tuple(grid.shape)}")
    n, c, h, w = input.shape
    _, ho, wo, _ = grid.shape
    x = _padded(_unnormalise(grid[..., 0], w, align_corners), w, padding_mode, align_corners)
    y = _padded(_unnormalise(grid[..., 1], h, align_corners), h, padding_mode, align_corners)
    flat = cnp.reshape(input, (n, c, h * w))

    def read(iy, ix):
        """input at the integer points (iy, ix) (N, Ho, Wo), 0 outside, as (N, C, Ho, Wo)."""
        inside = (ix >= 0) & (ix <= w - 1) & (iy >= 0) & (iy <= h - 1)
        where = cnp.astype(cnp.clip(iy, 0, h - 1) * w + cnp.clip(ix, 0, w - 1), np.int64)
        where = cnp.broadcast_to(cnp.reshape(where, (n, 1, ho * wo)), (n, c, ho * wo))
        values = cnp.reshape(cnp.take_along_axis(flat, where, axis=2), (n, c, ho, wo))
        return cnp.where(inside[:, None], values, 0)

    # (the points' values without their derivative: a batch of vmap stays one)
    xv, yv = undifferentiated(x), undifferentiated(y)
    if mode == "nearest":
        return read(cnp.rint(yv), cnp.rint(xv))  # halves to even, as PyTorch's nearbyint
    x0, y0 = cnp.floor(xv), cnp.floor(yv)
    wx1, wy1 = x - x0, y - y0
    wx0, wy0 = 1 - wx1, 1 - wy1
    return (read(y0, x0) * (wy0 * wx0)[:, None] + read(y0, x0 + 1) * (wy0 * wx1)[:, None]
            + read(y0 + 1, x0) * (wy1 * wx0)[:, None] + read(y0 + 1, x0 + 1) * (wy1 * wx1)[:, None])

"""Resampling and rearranging, the ``torch.nn.functional`` way: ``interpolate`` (nearest,
nearest-exact, linear/bilinear/bicubic/trilinear with or without ``align_corners``, area),
``pixel_shuffle``/``pixel_unshuffle``, ``unfold``/``fold`` (sliding blocks as columns and
back) and ``instance_norm``. Each is a composition of the engine's differentiable
operations, with PyTorch's index arithmetic (so the same pixels are read), and
differentiates to any order.
"""

from __future__ import annotations

import math

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.errors import DimensionError, TensorError
from chainrule.core.tensor import undifferentiated
from chainrule.core.trace import eager_quiet
from chainrule.nn import _ops
from chainrule.nn._pooling import _dtype, _pair, adaptive_avg_pool1d, adaptive_avg_pool2d
from chainrule.numpy.torch_common import floating_kernel
from chainrule.transforms.custom import stop_gradient

__all__ = ["interpolate", "upsample", "pixel_shuffle", "pixel_unshuffle", "unfold", "fold", "instance_norm"]

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
_CUBIC_A = -0.75  # PyTorch's (and OpenCV's) cubic convolution coefficient


def _per_axis(v, dims: int, name: str, cast):
    if isinstance(v, tuple | list):
        if len(v) != dims:
            raise TensorError(f"interpolate: {name} {tuple(v)} must have one entry per spatial axis ({dims})")
        return tuple(cast(a) for a in v)
    return (cast(v),) * dims


def _nearest_index(n_in: int, n_out: int, scale, exact: bool) -> np.ndarray:
    """PyTorch's source index of each output cell (its scale in float32, as its kernel)."""
    i = np.arange(n_out)
    if not exact and n_out == n_in:
        return i
    if not exact and n_out == 2 * n_in:
        return i >> 1
    s = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
    src = ((i + 0.5) * np.float64(s)).astype(np.float32) if exact else i.astype(np.float32) * s
    return np.minimum(np.floor(src).astype(np.int64), n_in - 1)


def _linear_weights(n_in: int, n_out: int, scale, align_corners: bool, dtype):
    """(first index, second index, weight of the second) along one axis, as PyTorch's
    kernel computes them (in the input's precision)."""
    dtype = np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.dtype(np.float32)
    i = np.arange(n_out).astype(dtype)
    if align_corners:
        s = dtype.type(n_in - 1) / dtype.type(n_out - 1) if n_out > 1 else dtype.type(0)
        src = s * i
    else:
        s = dtype.type(1.0 / scale) if scale else dtype.type(n_in) / dtype.type(n_out)
        src = np.maximum(s * (i + dtype.type(0.5)) - dtype.type(0.5), 0)
    i0 = np.minimum(src.astype(np.int64), n_in - 1)
    i1 = i0 + (i0 < n_in - 1)
    lam = np.clip(src - i0, 0, 1).astype(dtype)
    return i0, i1, lam


def _cubic_weights(n_in: int, n_out: int, scale, align_corners: bool, dtype):
    """(the four source indices, clamped to the axis, and their weights) of each output
    cell along one axis, PyTorch's cubic convolution (A = −0.75) and index arithmetic."""
    dtype = np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.dtype(np.float32)
    i = np.arange(n_out).astype(dtype)
    if align_corners:
        src = (dtype.type(n_in - 1) / dtype.type(n_out - 1) if n_out > 1 else dtype.type(0)) * i
    else:  # not clamped at 0, as for the linear modes
        s = dtype.type(1.0 / scale) if scale else dtype.type(n_in) / dtype.type(n_out)
        src = s * (i + dtype.type(0.5)) - dtype.type(0.5)
    base = np.floor(src)
    t = (src - base).astype(dtype)
    a = dtype.type(_CUBIC_A)

    def near(x):  # |x| ≤ 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
    index = [np.clip(base.astype(np.int64) - 1 + k, 0, n_in - 1) for k in range(4)]
    return index, weights


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False):
    """Resize the spatial axes of (N, C, L), (N, C, H, W) or (N, C, D, H, W) to ``size``
    or by ``scale_factor`` (output size ⌊in·scale⌋), as ``torch.nn.functional.interpolate``:
    ``mode`` 'nearest' (PyTorch's legacy rounding), 'nearest-exact', 'linear',
    'bilinear', 'bicubic' (PyTorch's cubic convolution, A = −0.75, edges replicated),
    'trilinear' (``align_corners`` False by default) or 'area' (adaptive average pooling).
    With a ``scale_factor`` the source positions use it, unless ``recompute_scale_factor=True``.

    >>> interpolate(np.array([[[1.0, 3.0]]]), scale_factor=2, mode="linear").tolist()
    [[[1.0, 1.5, 2.5, 3.0]]]
    >>> interpolate(np.array([[[1.0, 3.0]]]), size=3, mode="linear", align_corners=True).tolist()
    [[[1.0, 2.0, 3.0]]]
    """
    dims = input.ndim - 2
    if dims not in (1, 2, 3):
        raise TensorError(f"interpolate expects a 3-d, 4-d or 5-d input (N, C, ...), got shape {tuple(input.shape)}")
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode must be one of {', '.join(_MODES)}; got {mode!r}")
    if mode in _LINEAR and _LINEAR[mode] != dims:
        raise TensorError(f"interpolate: mode {mode!r} expects a {_LINEAR[mode] + 2}-d input, got {input.ndim}-d")
    if mode == "bicubic" and dims != 2:
        raise TensorError(f"interpolate: mode 'bicubic' expects a 4-d input, got {input.ndim}-d")
    if align_corners is not None and mode not in _LINEAR and mode != "bicubic":
        raise TensorError("interpolate: align_corners can only be set with the interpolating modes "
                         "linear, bilinear, bicubic and trilinear")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if (size is None) == (scale_factor is None):
        raise TensorError("interpolate: give exactly one of size and scale_factor")
    in_sizes = tuple(input.shape[2:])
    if size is not None:
        out_sizes, scales = _per_axis(size, dims, "size", int), (None,) * dims
    else:
        factors = _per_axis(scale_factor, dims, "scale_factor", float)
        out_sizes = tuple(int(math.floor(n * f)) for n, f in zip(in_sizes, factors, strict=True))
        scales = (None,) * dims if recompute_scale_factor else factors
    if min(out_sizes) < 1:
        raise TensorError(f"interpolate: the output size {out_sizes} must be positive")
    if mode == "area":
        if dims == 3:
            raise NotImplementedError("interpolate: mode='area' is supported for 3-d and 4-d inputs")
        return (adaptive_avg_pool1d if dims == 1 else adaptive_avg_pool2d)(input, out_sizes)
    out = input
    for ax, (n_in, n_out, sc) in enumerate(zip(in_sizes, out_sizes, scales, strict=True), start=2):
        if mode in ("nearest", "nearest-exact"):
            out = cnp.take(out, _nearest_index(n_in, n_out, sc, mode == "nearest-exact"), axis=ax)
            continue
        if mode == "bicubic":
            index, weights = _cubic_weights(n_in, n_out, sc, bool(align_corners), _dtype(input))
            shape = (-1,) + (1,) * (input.ndim - 1 - ax)
            out = sum(cnp.take(out, i, axis=ax) * w.reshape(shape) for i, w in zip(index, weights, strict=True))
            continue
        i0, i1, lam = _linear_weights(n_in, n_out, sc, bool(align_corners), _dtype(input))
        lam = lam.reshape((-1,) + (1,) * (input.ndim - 1 - ax))
        out = cnp.take(out, i0, axis=ax) * (1 - lam) + cnp.take(out, i1, axis=ax) * lam
    return out


def upsample(input, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None):
    """:func:`interpolate` under its older name (as ``torch.nn.functional.upsample``).

    >>> upsample(np.ones((1, 1, 2)), scale_factor=2).shape
    (1, 1, 4)
    """
    return interpolate(input, size, scale_factor, mode, align_corners)


def pixel_shuffle(input, upscale_factor: int):
    """(*, C·r², H, W) → (*, C, H·r, W·r): each group of r² channels becomes an r×r block.

    >>> pixel_shuffle(np.arange(4.0).reshape(1, 4, 1, 1), 2).tolist()
    [[[[0.0, 1.0], [2.0, 3.0]]]]
    """
    r = int(upscale_factor)
    if input.ndim < 3 or r < 1 or input.shape[-3] % (r * r):
        raise TensorError(
            f"pixel_shuffle expects (*, C·r², H, W) with r={upscale_factor} positive, got shape {tuple(input.shape)}")
    *lead, c, h, w = input.shape
    k = len(lead)
    x = cnp.reshape(input, (*lead, c // (r * r), r, r, h, w))
    x = cnp.transpose(x, (*range(k), k, k + 3, k + 1, k + 4, k + 2))
    return cnp.reshape(x, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor: int):
    """(*, C, H·r, W·r) → (*, C·r², H, W), the inverse of :func:`pixel_shuffle`.

    >>> pixel_unshuffle(np.arange(4.0).reshape(1, 1, 2, 2), 2).ravel().tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    r = int(downscale_factor)
    if input.ndim < 3 or r < 1 or input.shape[-1] % r or input.shape[-2] % r:
        raise TensorError(
            f"pixel_unshuffle expects (*, C, H·r, W·r) with r={downscale_factor} positive, got shape "
            f"{tuple(input.shape)}")
    *lead, c, h, w = input.shape
    k = len(lead)
    x = cnp.reshape(input, (*lead, c, h // r, r, w // r, r))
    x = cnp.transpose(x, (*range(k), k, k + 2, k + 4, k + 1, k + 3))
    return cnp.reshape(x, (*lead, c * r * r, h // r, w // r))


def _block_geometry(kernel_size, dilation, padding, stride):
    return (_pair(kernel_size, "kernel_size"), _pair(stride, "stride"), _pair(padding, "padding"),
            _pair(dilation, "dilation"))


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """The sliding blocks of (N, C, H, W) (or (C, H, W)) as columns: (N, C·kh·kw, L), L
    the number of blocks, channel-major as ``torch.nn.functional.unfold`` (im2col).

    >>> unfold(np.arange(9.0).reshape(1, 1, 3, 3), 2)[0].tolist()
    [[0.0, 1.0, 3.0, 4.0], [1.0, 2.0, 4.0, 5.0], [3.0, 4.0, 6.0, 7.0], [4.0, 5.0, 7.0, 8.0]]
    """
    unbatched = input.ndim == 3
    if unbatched:
        input = cnp.reshape(input, (1, *input.shape))
    if input.ndim != 4:
        raise DimensionError(f"unfold expects an input of shape (N, C, H, W) or (C, H, W), got {tuple(input.shape)}")
    geom = _block_geometry(kernel_size, dilation, padding, stride)
    n, c = input.shape[:2]
    cols = _ops.unfold(input, geom, "conv")  # (C, kh·kw, N, OH, OW)
    kk, oh, ow = cols.shape[1], cols.shape[3], cols.shape[4]
    out = cnp.reshape(cnp.transpose(cols, (2, 0, 1, 3, 4)), (n, c * kk, oh * ow))
    return out[0] if unbatched else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The adjoint of :func:`unfold`: columns (N, C·kh·kw, L) (or (C·kh·kw, L)) summed back
    into an image (N, C, H, W) of ``output_size`` (H, W); overlapping blocks add up.

    >>> fold(np.ones((1, 4, 4)), (3, 3), 2)[0, 0].tolist()
    [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    unbatched = input.ndim == 2
    if unbatched:
        input = cnp.reshape(input, (1, *input.shape))
    if input.ndim != 3:
        raise TensorError(f"fold expects an input of shape (N, C·kh·kw, L) or (C·kh·kw, L), got {tuple(input.shape)}")
    geom = _block_geometry(kernel_size, dilation, padding, stride)
    hw = _pair(output_size, "output_size")
    oh, ow = _ops.pool_geometry(hw, *geom)
    n, ckk, length = input.shape
    kk = geom[0][0] * geom[0][1]
    if ckk % kk or length != oh * ow:
        raise TensorError(
            f"fold: an input of shape {tuple(input.shape)} does not fit: axis 1 must be a multiple of "
            f"kh·kw = {kk} and axis 2 the number of blocks, {oh}·{ow} = {oh * ow}, for output_size {hw}")
    cols = cnp.transpose(cnp.reshape(input, (n, ckk // kk, kk, oh, ow)), (1, 2, 0, 3, 4))
    out = _ops.fold(cols, (n, ckk // kk, *hw), geom, "conv")
    return out[0] if unbatched else out


@eager_quiet
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1, eps: float = 1e-5):
    """Normalise each channel of each sample (N, C, ...) over its spatial axes, then scale
    and shift per channel. With ``use_input_stats`` (the default) the sample's own
    statistics are used and ``running_mean``/``running_var`` (if given) move by
    ``momentum`` towards their batch average (the variance unbiased); otherwise the
    running statistics normalise.

    >>> y = instance_norm(np.arange(8.0).reshape(1, 2, 4))
    >>> np.allclose(y.mean(axis=-1), 0)
    True
    """
    if input.ndim < 3:
        raise TensorError(f"instance_norm expects (N, C, ...) with spatial axes, got shape {tuple(input.shape)}")
    floating_kernel(input, "batch_norm")
    axes = tuple(range(2, input.ndim))
    shape = (1, input.shape[1]) + (1,) * len(axes)
    if use_input_stats:
        count = math.prod(input.shape[2:])
        if count < 2:
            raise TensorError(f"instance_norm needs more than one spatial element, got shape {tuple(input.shape)}")
        out = _ops.normalize(input, axes, eps)[0]
        if running_mean is not None or running_var is not None:
            x = undifferentiated(input)
            mean = cnp.mean(x, axis=axes)
            var = cnp.mean((x - cnp.reshape(mean, mean.shape + (1,) * len(axes))) ** 2, axis=axes)
            if running_mean is not None:
                _ops.update_running(running_mean, cnp.mean(mean, axis=0), momentum)
            if running_var is not None:
                _ops.update_running(running_var, cnp.mean(var, axis=0) * (count / (count - 1)), momentum)
    else:
        if running_mean is None or running_var is None:
            raise TensorError("instance_norm: use_input_stats=False needs running_mean and running_var")
        rm, rv = stop_gradient(running_mean), stop_gradient(running_var)  # (arrays, as plain reads them)
        out = (input - cnp.reshape(rm, shape)) / cnp.reshape(cnp.sqrt(rv + eps), shape)
    if weight is not None:
        out = out * cnp.reshape(weight, shape)
    if bias is not None:
        out = out + cnp.reshape(bias, shape)
    return out


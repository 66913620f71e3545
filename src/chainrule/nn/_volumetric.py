"""The 3-d window operations of ``torch.nn.functional``: ``conv3d``, ``max_pool3d``
(``ceil_mode``, ``return_indices``), ``avg_pool3d`` (``ceil_mode``,
``count_include_pad``, ``divisor_override``), ``adaptive_avg_pool3d`` and the power-average
pools ``lp_pool1d``/``lp_pool2d``/``lp_pool3d``. Inputs are (N, C, D, H, W) or unbatched
(C, D, H, W). The windows are gathered along each spatial axis with the mirror's ``take``,
so everything differentiates to any order.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.errors import TensorError
from chainrule.core.tensor import undifferentiated
from chainrule.nn._pooling import (
    _adaptive_index,
    _adaptive_mean,
    _batched,
    _dtype,
    _pool_size,
    _single,
    _unbatch,
    _window_sizes,
    avg_pool1d,
    avg_pool2d,
    indices_like,
    max_pool1d,
    max_pool2d,
    window_maximum_index,
)
from chainrule.numpy.activations import relu
from chainrule.numpy.torch_common import magnitude
from chainrule.numpy.torch_elementwise import pytorch_sign

__all__ = ["conv3d", "conv_transpose3d", "max_pool3d", "avg_pool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d",
           "lp_pool1d", "lp_pool2d", "lp_pool3d"]


def _triple(v, name: str) -> tuple[int, int, int]:
    if isinstance(v, int | np.integer):
        v = (int(v),) * 3
    v = tuple(int(a) for a in v)
    if len(v) != 3:
        raise TensorError(f"{name} must be an int or a triple of ints, got {v}")
    return v


def _windows(x, kernel, stride, dilation, out):
    """(N, C, OD, OH, OW, KD, KH, KW): the windows of the padded (N, C, D, H, W) ``x``."""
    for axis in (4, 3, 2):  # last first, so that the earlier axes keep their positions
        i = axis - 2
        idx = np.arange(out[i])[:, None] * stride[i] + np.arange(kernel[i]) * dilation[i]
        x = cnp.take(x, idx, axis=axis)
    return cnp.transpose(x, (0, 1, 2, 4, 6, 3, 5, 7))


def _setup(input, kernel_size, stride, padding, dilation, ceil_mode, name):
    """(the batched input, unbatched?, kernel, stride, padding, dilation, output size,
    extra cells on the right of each axis)."""
    x, unbatched = _batched(input, 5, name, "(N, C, D, H, W)")
    kernel = _triple(kernel_size, "kernel_size")
    stride = kernel if stride is None or stride == () or stride == [] else _triple(stride, "stride")
    padding, dilation = _triple(padding, "padding"), _triple(dilation, "dilation")
    if any(2 * p > k for p, k in zip(padding, kernel, strict=True)):
        raise TensorError(f"{name}: padding {padding} should be at most half the kernel size {kernel}")
    size = tuple(x.shape[2:])
    out = tuple(_pool_size(*a, ceil_mode, name) for a in zip(size, kernel, stride, padding, dilation, strict=True))
    extra = tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p))
                  for o, s, d, k, n, p in zip(out, stride, dilation, kernel, size, padding, strict=True))
    return x, unbatched, kernel, stride, padding, dilation, out, extra


def _pad(x, padding, extra, value):
    widths = ((0, 0), (0, 0), *((p, p + e) for p, e in zip(padding, extra, strict=True)))
    return cnp.pad(x, widths, constant_values=value) if any(sum(w) for w in widths) else x


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """The maximum of each window of (N, C, D, H, W) (padding counts as −∞); the gradient
    goes to each window's first maximum, NaN propagates (the gradient goes to its last NaN);
    ``return_indices`` also returns each maximum's flat index into D·H·W (int64), as PyTorch's.

    >>> max_pool3d(np.arange(8.0).reshape(1, 2, 2, 2), 2).tolist()
    [[[[7.0]]]]
    """
    x, unbatched, kernel, stride, padding, dilation, out, extra = _setup(
        input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool3d")
    win = _windows(_pad(x, padding, extra, -np.inf), kernel, stride, dilation, out)
    win = cnp.reshape(win, (*win.shape[:5], -1))
    best = window_maximum_index(undifferentiated(win))
    res = cnp.take_along_axis(win, best, axis=-1)[..., 0]
    if not return_indices:
        return _unbatch(res, unbatched)
    k = undifferentiated(best)[..., 0]
    kd, rest = np.divmod(k, kernel[1] * kernel[2])
    kh, kw = np.divmod(rest, kernel[2])
    grid = np.meshgrid(*(np.arange(o) * s - p for o, s, p in zip(out, stride, padding, strict=True)), indexing="ij")
    d, h, w = (g + kk * dl for g, kk, dl in zip(grid, (kd, kh, kw), dilation, strict=True))
    size = x.shape[2:]
    flat = ((d * size[1] + h) * size[2] + w).astype(np.int64)
    return _unbatch(res, unbatched), indices_like(input, _unbatch(flat, unbatched))


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None):
    """The mean of each window of (N, C, D, H, W), PyTorch's divisors: with
    ``count_include_pad=False`` the padding is not counted, a ``ceil_mode`` window is
    clipped to the padded input, ``divisor_override`` divides every sum by that number.

    >>> avg_pool3d(np.arange(8.0).reshape(1, 2, 2, 2), 2).tolist()
    [[[[3.5]]]]
    """
    x, unbatched, kernel, stride, padding, _, out, extra = _setup(
        input, kernel_size, stride, padding, 1, ceil_mode, "avg_pool3d")
    sums = cnp.sum(_windows(_pad(x, padding, extra, 0), kernel, stride, (1, 1, 1), out), axis=(-3, -2, -1))
    dtype = _dtype(sums)
    if divisor_override is not None:
        if int(divisor_override) == 0:
            raise TensorError("avg_pool3d: divisor_override must be non-zero")
        return _unbatch(sums / dtype.type(divisor_override), unbatched)
    sizes = [_window_sizes(n, o, k, s, p, count_include_pad)
             for n, o, k, s, p in zip(x.shape[2:], out, kernel, stride, padding, strict=True)]
    div = sizes[0][:, None, None] * sizes[1][None, :, None] * sizes[2][None, None, :]
    return _unbatch(sums / div.astype(dtype), unbatched)


def adaptive_avg_pool3d(input, output_size):
    """The mean over PyTorch's adaptive windows of (N, C, D, H, W) (see
    :func:`~chainrule.nn.functional.adaptive_avg_pool2d`); ``output_size`` an int or a
    triple, None keeping that size.

    >>> adaptive_avg_pool3d(np.arange(8.0).reshape(1, 2, 2, 2), 1).tolist()
    [[[[3.5]]]]
    """
    x, unbatched = _batched(input, 5, "adaptive_avg_pool3d", "(N, C, D, H, W)")
    sizes = (output_size,) * 3 if output_size is None or isinstance(output_size, int | np.integer) else output_size
    if len(sizes) != 3:
        raise TensorError(f"adaptive_avg_pool3d: output_size must be an int or a triple, got {output_size}")
    outs = [n if o is None else int(o) for n, o in zip(x.shape[2:], sizes, strict=True)]
    if min(outs) < 0:  # 0 is allowed: an empty output, as PyTorch's
        raise TensorError(f"adaptive_avg_pool3d: output_size must be at least 0, got {output_size}")
    for axis, n_out in zip((-3, -2, -1), outs, strict=True):
        x = _adaptive_mean(x, axis, n_out)
    return _unbatch(x, unbatched)


def adaptive_max_pool3d(input, output_size, return_indices: bool = False):
    """The maximum over PyTorch's adaptive windows of (N, C, D, H, W) or (C, D, H, W) (see
    :func:`~chainrule.nn.functional.adaptive_max_pool2d`): the gradient to each window's
    first maximum, NaN propagating; ``return_indices`` also gives each maximum's flat index
    into D·H·W.

    >>> adaptive_max_pool3d(np.arange(8.0).reshape(1, 2, 2, 2), 1).tolist()
    [[[[7.0]]]]
    """
    x, unbatched = _batched(input, 5, "adaptive_max_pool3d", "(N, C, D, H, W)")
    sizes = (output_size,) * 3 if output_size is None or isinstance(output_size, int | np.integer) else output_size
    if len(sizes) != 3:
        raise TensorError(f"adaptive_max_pool3d: output_size must be an int or a triple, got {output_size}")
    size = tuple(x.shape[2:])
    outs = tuple(n if o is None else int(o) for n, o in zip(size, sizes, strict=True))
    if min(outs) < 0:
        raise TensorError(f"adaptive_max_pool3d: output_size must be at least 0, got {output_size}")
    lead = tuple(x.shape[:2])
    if 0 in outs:  # no window: an empty output
        out = cnp.reshape(x[:, :, :0, :0, :0], (*lead, *outs))
        empty = np.zeros((*lead, *outs), np.int64)
        return (_unbatch(out, unbatched), indices_like(input, _unbatch(empty, unbatched))) if return_indices \
            else _unbatch(out, unbatched)
    index = [_adaptive_index(n, o) for n, o in zip(size, outs, strict=True)]
    g = x
    for i, ix in enumerate(index):  # axis 2 + 2i becomes (out, k)
        axis = 2 + 2 * i
        g = cnp.take(g, ix.ravel(), axis=axis)
        g = cnp.reshape(g, (*g.shape[:axis], *ix.shape, *g.shape[axis + 1:]))
    ks = tuple(ix.shape[1] for ix in index)
    g = cnp.reshape(cnp.transpose(g, (0, 1, 2, 4, 6, 3, 5, 7)), (*lead, *outs, int(np.prod(ks))))
    best = window_maximum_index(undifferentiated(g))
    out = cnp.take_along_axis(g, best, axis=-1)[..., 0]
    if not return_indices:
        return _unbatch(out, unbatched)
    d, h, w = index
    table = ((d[:, None, None, :, None, None] * size[1] + h[None, :, None, None, :, None]) * size[2]
             + w[None, None, :, None, None, :]).reshape(*outs, -1)
    # best batched by vmap (each example's own maxima) stays a batch: one gather over it
    flat = cnp.astype(cnp.take_along_axis(np.broadcast_to(table, (*lead, *table.shape)), undifferentiated(best),
                                          axis=-1)[..., 0], np.int64)
    return _unbatch(out, unbatched), indices_like(input, _unbatch(flat, unbatched))


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """3-d convolution (cross-correlation, as PyTorch's) of (N, C, D, H, W) or (C, D, H, W)
    with ``weight`` (out, C/groups, kd, kh, kw); ``padding`` an int, a triple, 'valid' or
    'same' (the extra cell of an odd total on the right).

    >>> conv3d(np.ones((1, 1, 3, 3, 3)), np.ones((2, 1, 2, 2, 2))).shape
    (1, 2, 2, 2, 2)
    """
    x, unbatched = _batched(input, 5, "conv3d", "(N, C, D, H, W)")
    if weight.ndim != 5:
        raise TensorError(f"conv3d: weight must be (out, in/groups, kd, kh, kw), got shape {tuple(weight.shape)}")
    n, c = x.shape[:2]
    o, cg = weight.shape[:2]
    if groups < 1 or c % groups or o % groups or cg * groups != c:
        raise TensorError(f"conv3d: an input of {c} channels, groups={groups} and a weight for {cg} channels per "
                         f"group with {o} outputs do not fit (in/groups must equal the weight's second size)")
    kernel = tuple(weight.shape[2:])
    stride, dilation = _triple(stride, "stride"), _triple(dilation, "dilation")
    if padding == "same":
        if any(s != 1 for s in stride):
            raise TensorError("conv3d: padding='same' is not supported for strided convolutions")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        widths = [(t // 2, t - t // 2) for t in totals]
    elif padding == "valid":
        widths = [(0, 0)] * 3
    else:
        widths = [(p, p) for p in _triple(padding, "padding")]
    if any(sum(w) for w in widths):
        x = cnp.pad(x, ((0, 0), (0, 0), *widths))
    size = x.shape[2:]
    out = tuple((s - d * (k - 1) - 1) // st + 1 for s, d, k, st in zip(size, dilation, kernel, stride, strict=True))
    if min(out) < 1:
        raise TensorError(f"conv3d: the kernel {kernel} (dilation {dilation}) is larger than the padded input {size}")
    win = _windows(x, kernel, stride, dilation, out)  # (N, C, OD, OH, OW, KD, KH, KW)
    win = cnp.reshape(win, (n, groups, cg, *out, *kernel))
    w = cnp.reshape(weight, (groups, o // groups, cg, *kernel))
    res = cnp.reshape(cnp.einsum("ngcdhwxyz,gocxyz->ngodhw", win, w), (n, o, *out))
    if bias is not None:
        res = res + cnp.reshape(bias, (1, o, 1, 1, 1))
    return _unbatch(res, unbatched)


def _dilate(x, axis: int, s: int):
    """``x`` with s − 1 zeros between neighbours along ``axis``."""
    if s == 1:
        return x
    shape = tuple(x.shape)
    zeros = cnp.zeros((*shape[:axis + 1], s - 1, *shape[axis + 1:]), dtype=_dtype(x))
    both = cnp.concatenate([cnp.expand_dims(x, axis + 1), zeros], axis=axis + 1)
    merged = cnp.reshape(both, (*shape[:axis], shape[axis] * s, *shape[axis + 1:]))
    return merged[(slice(None),) * axis + (slice(0, (shape[axis] - 1) * s + 1),)]


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1,
                     dilation=1):
    """The transposed 3-d convolution (the adjoint of :func:`conv3d` in its input), PyTorch's
    arguments: input (N, C, D, H, W) or (C, D, H, W), weight (C, O/groups, kd, kh, kw). Each
    output size is (n − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1: the
    input spread out by the stride, padded by dilation·(k − 1) − padding, convolved with the
    flipped kernel.

    >>> conv_transpose3d(np.ones((1, 2, 3, 3, 3)), np.ones((2, 4, 3, 3, 3)), stride=2).shape
    (1, 4, 7, 7, 7)
    """
    x, unbatched = _batched(input, 5, "conv_transpose3d", "(N, C, D, H, W)")
    if weight.ndim != 5:
        raise TensorError(f"conv_transpose3d: weight must be (in, out/groups, kd, kh, kw), got shape "
                         f"{tuple(weight.shape)}")
    c, (wc, og), kernel = x.shape[1], weight.shape[:2], tuple(weight.shape[2:])
    if wc != c or groups < 1 or c % groups:
        raise TensorError(f"conv_transpose3d: an input of {c} channels and groups={groups} do not fit a weight for "
                         f"{wc} input channels (the weight's first size)")
    stride, padding = _triple(stride, "stride"), _triple(padding, "padding")
    extra, dilation = _triple(output_padding, "output_padding"), _triple(dilation, "dilation")
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation, strict=True)):
        raise TensorError(f"conv_transpose3d: output_padding {extra} must be smaller than the stride {stride} or the "
                         f"dilation {dilation}")
    for axis, s in enumerate(stride):
        x = _dilate(x, axis + 2, s)
    widths = [(d * (k - 1) - p, d * (k - 1) - p + e) for k, p, e, d in zip(kernel, padding, extra, dilation,
                                                                          strict=True)]
    x = x[(slice(None), slice(None), *(slice(max(-a, 0), n - max(-b, 0)) for (a, b), n in
                                       zip(widths, x.shape[2:], strict=True)))]
    if any(max(a, 0) + max(b, 0) for a, b in widths):
        x = cnp.pad(x, ((0, 0), (0, 0), *((max(a, 0), max(b, 0)) for a, b in widths)))
    # (C, O/g, k) → (O, C/g, k), the kernel flipped
    w = cnp.reshape(weight, (groups, c // groups, og, *kernel))
    w = cnp.reshape(cnp.swapaxes(w, 1, 2), (groups * og, c // groups, *kernel))[:, :, ::-1, ::-1, ::-1]
    return _unbatch(conv3d(x, w, bias, 1, 0, dilation, groups), unbatched)


def _lp(out, norm_type, count):
    """PyTorch's ending of the power-average pools: (sign(s)·relu(|s|)·count)^(1/p) (relu's
    derivative 0 at 0 stops the root's infinite one where a window's powers cancel). Its sign
    is 0 at NaN and |s|'s derivative is g·sign(s): at a window whose sum is NaN the root's
    derivative (NaN, but 1 for p = 1) times sign 0 is what passes, as in PyTorch."""
    sign = undifferentiated(pytorch_sign(out))
    return (sign * relu(out * sign) * _dtype(out).type(count)) ** (1.0 / norm_type)


def lp_pool1d(input, norm_type: float, kernel_size: int, stride=None, ceil_mode: bool = False):
    """The ``norm_type``-norm of each window of (N, C, L) or (C, L), as PyTorch's
    (``inf``: the maximum of ``|x|``).

    >>> lp_pool1d(np.array([[3.0, 4.0]]), 2, 2).tolist()
    [[5.0]]
    """
    if norm_type == np.inf:  # (|x| with PyTorch's derivative, 0 at NaN)
        return max_pool1d(magnitude(input), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -np.inf:
        return -max_pool1d(-magnitude(input), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool1d(input ** norm_type, kernel_size, stride, 0, ceil_mode)
    return _lp(out, norm_type, _single(kernel_size, "kernel_size"))


def lp_pool2d(input, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
    """The ``norm_type``-norm of each window of (N, C, H, W) or (C, H, W), as PyTorch's.

    >>> lp_pool2d(np.array([[[3.0, 4.0]]]), 2, (1, 2)).tolist()
    [[[5.0]]]
    """
    if norm_type == np.inf:  # (|x| with PyTorch's derivative, 0 at NaN)
        return max_pool2d(magnitude(input), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -np.inf:
        return -max_pool2d(-magnitude(input), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool2d(input ** norm_type, kernel_size, stride, 0, ceil_mode)
    k = (kernel_size, kernel_size) if isinstance(kernel_size, int | np.integer) else tuple(kernel_size)
    return _lp(out, norm_type, int(np.prod(k)))


def lp_pool3d(input, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
    """The ``norm_type``-norm of each window of (N, C, D, H, W) or (C, D, H, W), as PyTorch's."""
    if norm_type == np.inf:  # (|x| with PyTorch's derivative, 0 at NaN)
        return max_pool3d(magnitude(input), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -np.inf:
        return -max_pool3d(-magnitude(input), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool3d(input ** norm_type, kernel_size, stride, 0, ceil_mode)
    return _lp(out, norm_type, int(np.prod(_triple(kernel_size, "kernel_size"))))

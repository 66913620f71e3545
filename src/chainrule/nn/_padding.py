"""Padding for the convolution layers' ``padding_mode``: PyTorch pads the input itself
('reflect', 'replicate', 'circular') and then convolves without padding."""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.core.errors import TensorError

__all__ = ["PADDING_MODES", "check_padding_mode", "check_padding_string", "pad_input"]

# PyTorch's names -> numpy.pad's
PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def check_padding_mode(padding_mode: str, name: str) -> str:
    if padding_mode not in PADDING_MODES:
        raise TensorError(f"{name}: padding_mode must be one of {sorted(PADDING_MODES)}, not {padding_mode!r}")
    return padding_mode


def check_padding_string(padding, stride: tuple, name: str):
    """A convolution's ``padding`` given as a string, checked where the layer is made (as
    PyTorch does): 'valid' or 'same', and 'same' only without a stride. Other values pass.

    >>> check_padding_string("same", (1, 1), "Conv2d")
    'same'
    """
    if not isinstance(padding, str):
        return padding
    if padding not in ("same", "valid"):
        raise TensorError(f"{name}: padding must be 'same', 'valid', an int or a tuple of ints, not {padding!r}")
    if padding == "same" and any(s != 1 for s in stride):
        raise TensorError(f"{name}: padding='same' is not supported for strided convolutions (stride={stride}); "
                         "give the padding as numbers")
    return padding


def pad_input(x, padding, kernel, dilation, padding_mode: str):
    """``x`` ((N,) C, *spatial) padded per ``padding_mode`` and the padding left for the
    convolution: for 'zeros' nothing changes; otherwise the padding (ints, or 'same' —
    the extra cell of an odd total on the right, as PyTorch — or 'valid') is applied here.

    >>> import numpy as np
    >>> pad_input(np.arange(3.0).reshape(1, 1, 3), (1,), (3,), (1,), "circular")[0].tolist()
    [[[2.0, 0.0, 1.0, 2.0, 0.0]]]
    """
    if padding_mode == "zeros":
        return x, padding
    if padding == "valid":
        return x, padding
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        widths = [(t // 2, t - t // 2) for t in totals]
    else:
        widths = [(p, p) for p in padding]
    if padding_mode == "reflect":
        for (left, right), size in zip(widths, x.shape[x.ndim - len(widths):], strict=True):
            if max(left, right) >= size:
                raise TensorError(f"padding_mode='reflect' needs padding smaller than the input size: padding "
                                 f"{(left, right)} for an axis of size {size}")
    x = cnp.pad(x, ((0, 0),) * (x.ndim - len(widths)) + tuple(widths), mode=PADDING_MODES[padding_mode])
    return x, (0,) * len(widths)

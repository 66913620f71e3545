"""More of ``torch.nn.functional`` over channels and windows: ``local_response_norm``
(AlexNet's normalisation across neighbouring channels), ``channel_shuffle`` (ShuffleNet)
and ``max_unpool1d``/``max_unpool2d`` (the partial inverse of max pooling, from its
indices: SegNet's decoder), each differentiable as PyTorch's.

>>> import numpy as np
>>> channel_shuffle(np.arange(4.0).reshape(1, 4, 1, 1), 2).ravel().tolist()
[0.0, 2.0, 1.0, 3.0]
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.errors import DimensionError, TensorError
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.trace import eager_quiet
from chainrule.numpy.nondiff import every
from chainrule.numpy.shape.updates import at

__all__ = ["local_response_norm", "channel_shuffle", "native_channel_shuffle", "max_unpool1d", "max_unpool2d",
           "max_unpool3d"]


def _input(x):
    return x if isinstance(x, Tensor) else np.asarray(x)


@eager_quiet
def local_response_norm(input, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
    """x / (k + α/n · Σ x²)^β, the sum over the ``size`` channels around each one (zeros
    beyond the ends), as PyTorch's (N, C, ...) ``local_response_norm``."""
    x = _input(input)
    if x.ndim < 3:
        raise TensorError(f"local_response_norm: expected an input of 3 or more dimensions (N, C, ...), got {x.ndim}")
    if x.shape[1] == 0:
        return x
    squares = x * x
    before, after = size // 2, (size - 1) // 2
    padded = cnp.pad(squares, [(0, 0), (before, after)] + [(0, 0)] * (x.ndim - 2))
    c = x.shape[1]
    window = sum(padded[:, j:j + c] for j in range(size))
    return x / (window * (alpha / size) + k) ** beta


def channel_shuffle(input, groups: int):
    """The channels (N, C, ...) regrouped: ``groups`` groups of C/groups interleaved, as
    ShuffleNet's (PyTorch's ``channel_shuffle``)."""
    x = _input(input)
    if x.ndim <= 2:
        raise TensorError(f"channel_shuffle expects input with > 2 dims, (N, C, ...), but got input with sizes "
                          f"{list(x.shape)}")
    n, c = x.shape[:2]
    if groups <= 0 or c % groups:
        raise TensorError(f"channel_shuffle: the {c} channels must be divisible by groups={groups}")
    rest = tuple(x.shape[2:])
    return cnp.reshape(cnp.swapaxes(cnp.reshape(x, (n, groups, c // groups, *rest)), 1, 2), (n, c, *rest))


native_channel_shuffle = channel_shuffle


def _unpool(input, indices, kernel_size, stride, padding, output_size, dims: int, name: str):
    x = _input(input)
    if x.ndim < dims + 1:
        raise DimensionError(f"{name} expects an input of {dims + 1} or {dims + 2} dims, (C, ...) or (N, C, ...) "
                             f"with {dims} spatial dims, got shape {tuple(x.shape)}")

    def tup(v, label):
        if np.ndim(v) == 0:
            return (int(v),) * dims
        if np.ndim(v) != 1 or len(v) != dims:
            raise DimensionError(f"{name}: {label} must be an int or {dims} ints, got {v!r}")
        return tuple(int(a) for a in v)
    kernel = tup(kernel_size, "kernel_size")
    stride = kernel if stride is None else tup(stride, "stride")
    padding = tup(padding, "padding")
    spatial = tuple(x.shape[-dims:])
    if output_size is None:
        out = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(spatial, stride, padding, kernel, strict=True))
    else:
        out = tuple(int(v) for v in tuple(output_size)[-dims:])
    lead = tuple(x.shape[:-dims])
    idx = undifferentiated(indices)  # indices batched by vmap (each example's own) stay a batch
    if not isinstance(idx, Tensor):
        idx = np.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise TensorError(f"{name}: elements in indices should be type int64 but got: {idx.dtype}; pass the indices "
                          "that max_pool returns (return_indices=True)")
    if tuple(idx.shape) != tuple(x.shape):
        raise TensorError(f"{name}: indices of shape {tuple(idx.shape)} for an input of shape {tuple(x.shape)}")
    size = int(np.prod(out))
    if idx.size and not every(cnp.logical_and(idx >= 0, idx < size)):
        raise IndexError(f"{name}: an index is outside the output of size {out}")
    rows = int(np.prod(lead))
    flat = cnp.reshape(x, (rows, -1))
    where = (np.arange(rows)[:, None], cnp.reshape(cnp.astype(idx, np.int64), (rows, -1)))
    zeros = cnp.zeros((rows, size), dtype=x.dtype)
    # PyTorch's: the values written (where overlapping windows chose one position twice, it
    # holds their equal maximum), each input's gradient read back from its position (the
    # scatter-add's), so every window that chose a position gets that position's gradient
    written = at(zeros)[where].set(undifferentiated(flat))
    summed = at(zeros)[where].add(flat)
    return cnp.reshape(written + (summed - undifferentiated(summed)), (*lead, *out))


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The values of a 1-d max pooling put back where ``indices`` (``return_indices=True``)
    says, zeros elsewhere, as PyTorch's."""
    return _unpool(input, indices, kernel_size, stride, padding, output_size, 1, "max_unpool1d")


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The values of a 2-d max pooling put back where ``indices`` says (positions in each
    H×W plane), zeros elsewhere, as PyTorch's.

    >>> import numpy as np
    >>> max_unpool2d(np.array([[[[5.0]]]]), np.array([[[[3]]]]), 2).tolist()
    [[[[0.0, 0.0], [0.0, 5.0]]]]
    """
    return _unpool(input, indices, kernel_size, stride, padding, output_size, 2, "max_unpool2d")


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The values of a 3-d max pooling put back where ``indices`` says (positions in each
    D×H×W volume), zeros elsewhere, as PyTorch's."""
    return _unpool(input, indices, kernel_size, stride, padding, output_size, 3, "max_unpool3d")

"""``torch.nn.functional.embedding_bag``: the sums, means or maxima of bags of an
embedding table's rows, and the in-place renormalisation of looked-up rows that it and
:func:`~chainrule.nn.functional.embedding` do for ``max_norm``.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.errors import TensorError, TensorTypeError
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.values import plain
from chainrule.nn.module import mark_modified
from chainrule.numpy.nondiff import batched, every, whole_batch

__all__ = ["embedding_bag"]

_MODES = ("sum", "mean", "max")


def renorm_rows(weight, idx, max_norm: float, norm_type: float) -> None:
    """PyTorch's ``embedding_renorm_``: the rows at ``idx`` whose norm exceeds ``max_norm``
    scaled to it, in ``weight``'s own memory (not recorded in a graph: a change of the
    parameter). While chainrule.jit traces, the weight and the indices are its values and
    the write is recorded, so that each replay scales the rows that its indices look up."""
    if batched(idx):
        raise NotImplementedError(
            "embedding(max_norm=...) with indices batched by vmap would renormalise each "
            "example's rows of the one weight in place; renormalise the weight outside vmap "
            "(with every example's indices), or leave max_norm out")
    recorded = isinstance(weight, Tensor) and weight._trace.records
    if isinstance(weight, Tensor) and weight._trace.level != 0 and not recorded:
        raise NotImplementedError(
            "embedding(max_norm=...) writes the renormalised rows into the weight, which a "
            "transform (grad, vmap) cannot do to the values it traces; renormalise the "
            "weight outside the transform, or leave max_norm out")
    table = weight if recorded or not isinstance(weight, Tensor) else weight._value
    rows = cnp.ravel(idx)
    looked_up = cnp.getitem(table, rows)
    norms = cnp.linalg.norm(looked_up, ord=norm_type, axis=1)
    # a row within the norm is multiplied by one: the same bits (a repeated index is
    # written once per occurrence, with the same row)
    scale = cnp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(table.dtype)
    table[rows] = looked_up * scale[:, None]
    if isinstance(weight, Tensor) and not recorded:
        mark_modified(weight)


def _bags(idx: np.ndarray, offsets, include_last_offset: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """(the flat indices, the bag of each, the number of bags) of 2-d ``input`` (a bag per
    row) or 1-d ``input`` cut at ``offsets``."""
    if idx.ndim == 2:
        if offsets is not None:
            raise TensorError("embedding_bag: offsets has to be None if input is 2-d (each row is a bag)")
        return cnp.ravel(idx), np.repeat(np.arange(idx.shape[0]), idx.shape[1]), idx.shape[0]
    if idx.ndim != 1:
        raise TensorError(f"embedding_bag: input has to be 1-d or 2-d, got shape {tuple(idx.shape)}")
    if offsets is None:
        raise TensorError("embedding_bag: offsets has to be a 1-d Tensor when input is 1-d")
    starts = np.asarray(plain(offsets))
    if starts.ndim != 1 or starts.dtype.kind not in "iu":
        raise TensorError(f"embedding_bag: offsets has to be a 1-d integer Tensor, got {starts.dtype} {starts.shape}")
    if starts.size and starts[0] != 0:
        raise TensorError(f"embedding_bag: offsets[0] has to be 0, i.e. the first sequence in the mini-batch has to "
                         f"start from position 0; got {starts[0]}")
    if np.any(np.diff(starts) < 0) or (starts.size and starts[-1] > idx.size):
        raise TensorError(f"embedding_bag: offsets must be non-decreasing and at most the input's length "
                         f"({idx.size}); got {starts.tolist()}")
    n_bags = starts.size - 1 if include_last_offset else starts.size  # the last bag runs to the end (PyTorch's)
    return idx, np.searchsorted(starts[:max(n_bags, 0)], np.arange(idx.size), side="right") - 1, max(n_bags, 0)


def embedding_bag(input, weight, offsets=None, max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights=None, include_last_offset: bool = False, padding_idx: int | None = None):
    """For each bag of indices, the ``mode`` ('sum', 'mean' or 'max') of ``weight``'s rows
    at them, as PyTorch's: ``input`` 2-d (a bag per row) or 1-d cut at ``offsets`` (the
    start of each bag; with ``include_last_offset`` one more entry, ignored as by PyTorch's CPU
    kernel: the last bag runs to the end of ``input``);
    ``per_sample_weights`` (mode 'sum') weighs each index; indices equal to
    ``padding_idx`` are left out of their bag; an empty bag gives zeros.

    >>> import numpy as np
    >>> table = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> embedding_bag(np.array([0, 1, 2]), table, np.array([0, 2]), mode="sum").tolist()
    [[4.0, 6.0], [5.0, 6.0]]
    """
    if mode not in _MODES:
        raise TensorError(f"embedding_bag: mode has to be one of {', '.join(_MODES)}; got {mode!r}")
    if sparse:
        raise NotImplementedError("embedding_bag(sparse=True): sparse gradients are not supported; "
                                  "chainrule's gradients are dense arrays (leave sparse=False)")
    if scale_grad_by_freq:
        raise NotImplementedError("embedding_bag(scale_grad_by_freq=True) is not supported; leave it False")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode={mode!r}); sum the weighted rows instead")
    if np.ndim(weight) != 2:
        raise ValueError(f"embedding_bag: weight has to be a 2D Tensor (num_embeddings, embedding_dim), but got "
                         f"Tensor of dimension {np.ndim(weight)}")
    raw = undifferentiated(input)  # indices batched by vmap (each example's own bags) stay a batch
    raw = raw if isinstance(raw, Tensor) else np.asarray(raw)
    if raw.ndim not in (1, 2):
        raise ValueError(f"embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of dimension {raw.ndim}")
    if raw.ndim == 2 and offsets is not None:
        raise ValueError("embedding_bag: if input is 2D, then offsets has to be None, as input is treated as a "
                         "mini-batch of fixed length sequences")
    if raw.dtype.kind not in "iu":
        raise TensorTypeError(f"embedding_bag: indices must be integers, got {raw.dtype}")
    idx, bag, n_bags = _bags(raw, offsets, include_last_offset)
    n = weight.shape[0]
    if idx.size and not every(cnp.logical_and(idx >= 0, idx < n)):
        values = np.asarray(plain(whole_batch(idx)))  # every example's, under vmap
        raise IndexError(f"embedding_bag: indices must lie in [0, {n}), got {values.min()}…{values.max()}")
    if max_norm is not None:
        renorm_rows(weight, idx, max_norm, norm_type)
    member = bag[None, :] == np.arange(n_bags)[:, None]  # (bags, indices)
    if padding_idx is not None:
        member = cnp.logical_and(member, cnp.expand_dims(cnp.not_equal(idx, padding_idx % n), 0))
    rows = cnp.getitem(weight, idx)  # (indices, dim)
    dtype = np.dtype(weight.dtype)
    if not idx.size:  # every bag empty: zeros, still a result of the weight
        return cnp.matmul(np.zeros((n_bags, 0), dtype), rows)
    if mode == "max":
        key = cnp.where(cnp.expand_dims(member, 2), cnp.expand_dims(undifferentiated(rows), 0), -np.inf)
        picked = cnp.take_along_axis(rows, cnp.argmax(key, axis=1), axis=0)  # key: (bags, indices, dim)
        return cnp.where(cnp.expand_dims(cnp.any(member, axis=1), 1), picked, 0)
    scale = cnp.astype(member, dtype)
    if mode == "mean":
        scale = scale / cnp.astype(cnp.maximum(cnp.sum(member, axis=1, keepdims=True), 1), dtype)
    if per_sample_weights is not None:
        psw = per_sample_weights
        if tuple(np.shape(psw)) != tuple(raw.shape):
            raise TensorError(f"embedding_bag: per_sample_weights has shape {np.shape(psw)}; it must have the "
                             f"input's {tuple(raw.shape)}")
        scale = scale * cnp.reshape(psw, (-1,))[: idx.size]
    return cnp.matmul(scale, rows)

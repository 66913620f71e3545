"""Batching sequences of different lengths for the recurrent and attention layers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.dtypes import to_arguments
from chainrule.core.tensor import Tensor
from chainrule.nn._ops import plain
from chainrule.numpy.torch_common import as_eager

__all__ = ["pad_sequence", "PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pack_sequence",
           "unpad_sequence", "unpack_sequence"]


def pad_sequence(sequences: Sequence, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right"):
    """Stack sequences of shape (T_i, *) into one (T_max, B, *) array (or (B, T_max, *)
    with ``batch_first``), filling with ``padding_value``, as
    ``torch.nn.utils.rnn.pad_sequence``; differentiable in the sequences.

    >>> import numpy as np
    >>> pad_sequence([np.ones(3), np.ones(1)], batch_first=True).tolist()
    [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]
    """
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', not {padding_side!r}")
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: got no sequences")
    trailing = tuple(sequences[0].shape[1:]) if np.ndim(sequences[0]) else None
    if trailing is None or any(tuple(np.shape(s)[1:]) != trailing for s in sequences):
        raise ValueError(f"pad_sequence: every sequence must have shape (T, {', '.join(map(str, trailing or ()))}), "
                         f"got {[tuple(np.shape(s)) for s in sequences]}")
    longest = max(np.shape(s)[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - np.shape(s)[0]
        before, after = (0, missing) if padding_side == "right" else (missing, 0)
        widths = ((before, after),) + ((0, 0),) * len(trailing)
        padded.append(cnp.pad(s, widths, constant_values=padding_value) if missing else s)
    return cnp.stack(padded, axis=0 if batch_first else 1)


class _Packed(NamedTuple):
    data: Any
    batch_sizes: Any
    sorted_indices: np.ndarray | None = None
    unsorted_indices: np.ndarray | None = None


class PackedSequence(_Packed):
    """Sequences of different lengths packed time step by time step, as PyTorch's:
    ``data`` (sum of the lengths, *) holds step 0 of every sequence, then step 1 of those
    that are that long, ...; ``batch_sizes[t]`` says how many sequences have a step t
    (an int64 Tensor for Tensor data, as PyTorch's; a NumPy array for NumPy data);
    the sequences are in order of decreasing length, ``sorted_indices`` (into the
    original batch; None when it was already sorted) and ``unsorted_indices`` (its
    inverse, computed when only ``sorted_indices`` is given, as PyTorch does) say how
    (int64 Tensors for Tensor data too).
    The recurrent layers take one and return one.

    >>> import numpy as np
    >>> PackedSequence(np.arange(3.0), np.array([2, 1]), np.array([1, 0])).unsorted_indices.tolist()
    [1, 0]
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = np.argsort(np.asarray(plain(sorted_indices)), kind="stable")
        if isinstance(data, Tensor):
            # PyTorch's batch_sizes and indices are int64 tensors (.tolist(), .numpy(), .to(device), len)
            batch_sizes, sorted_indices, unsorted_indices = (
                v if v is None or isinstance(v, Tensor) else as_eager(data, np.asarray(plain(v), dtype=np.int64))
                for v in (batch_sizes, sorted_indices, unsorted_indices))
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, dtype=None, device=None, **kwargs) -> PackedSequence:
        """The same packing with ``data.to(...)`` (PyTorch's ``to(dtype)``, ``to('cpu')``, ...).

        >>> import numpy as np
        >>> pack_sequence([np.ones(2), np.ones(1)]).to(np.float32).data.dtype
        dtype('float32')
        """
        if isinstance(self.data, Tensor):
            return self._replace(data=self.data.to(*args, dtype=dtype, device=device, **kwargs))
        dtype, device = to_arguments(args, dtype, device)
        if device is not None and str(device).split(":")[0] != "cpu":
            raise RuntimeError(f"to({str(device)!r}): chainrule computes on the CPU only; use 'cpu'")
        return self if dtype is None else self._replace(data=np.asarray(self.data).astype(dtype))

    def cpu(self) -> PackedSequence:
        """Itself: chainrule computes on the CPU."""
        return self

    def float(self) -> PackedSequence:
        """The data in float32."""
        return self.to(np.float32)

    def double(self) -> PackedSequence:
        """The data in float64."""
        return self.to(np.float64)

    def half(self) -> PackedSequence:
        """The data in float16."""
        return self.to(np.float16)

    def long(self) -> PackedSequence:
        """The data in int64."""
        return self.to(np.int64)

    def int(self) -> PackedSequence:
        """The data in int32."""
        return self.to(np.int32)

    def short(self) -> PackedSequence:
        """The data in int16."""
        return self.to(np.int16)

    def char(self) -> PackedSequence:
        """The data in int8."""
        return self.to(np.int8)

    def byte(self) -> PackedSequence:
        """The data in uint8."""
        return self.to(np.uint8)

    @property
    def is_cuda(self) -> bool:
        """False: chainrule computes on the CPU."""
        return False

    def is_pinned(self) -> bool:
        """False: chainrule's memory is never pinned (there is no accelerator to copy to)."""
        return False


def _lengths(lengths, batch: int) -> np.ndarray:
    lengths = np.asarray(plain(lengths))
    if lengths.dtype.kind == "f":  # cast, truncated, as PyTorch's as_tensor(lengths, dtype=torch.int64)
        lengths = lengths.astype(np.int64)
    if lengths.ndim != 1 or lengths.shape[0] != batch or lengths.dtype.kind not in "iu":
        raise ValueError(f"lengths must be {batch} integers (one per sequence), got {lengths!r}")
    if np.any(lengths <= 0):
        raise ValueError(f"every length must be positive, got {lengths.tolist()}")
    return lengths.astype(np.int64)


def pack_padded_sequence(input, lengths, batch_first: bool = False, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) ((B, T, *) with ``batch_first``) of sequences of the
    given ``lengths``, as ``torch.nn.utils.rnn.pack_padded_sequence``; differentiable in
    ``input``. With ``enforce_sorted`` the lengths must already decrease.

    >>> import numpy as np
    >>> packed = pack_padded_sequence(np.arange(6.0).reshape(3, 2), [3, 1])
    >>> packed.data.tolist(), packed.batch_sizes.tolist()
    ([0.0, 1.0, 2.0, 4.0], [2, 1, 1])
    """
    if np.ndim(input) < 2:
        raise ValueError(f"pack_padded_sequence: input must be a padded batch (T, B, *) ((B, T, *) with "
                         f"batch_first), got shape {tuple(np.shape(input))}")
    if batch_first:
        input = cnp.swapaxes(input, 0, 1)
    if input.shape[1] == 0:
        raise ValueError(f"pack_padded_sequence: cannot pack an empty batch (shape {tuple(input.shape)})")
    lengths = _lengths(lengths, input.shape[1])
    if lengths.max() > input.shape[0]:
        raise ValueError(f"a length ({lengths.max()}) is longer than the padded sequences ({input.shape[0]})")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise ValueError("lengths must be in decreasing order when enforce_sorted=True; pass "
                             f"enforce_sorted=False to have them sorted, got {lengths.tolist()}")
        sorted_indices = unsorted_indices = None
        order = lengths
    else:
        sorted_indices = np.argsort(-lengths, kind="stable")
        unsorted_indices = np.argsort(sorted_indices)
        input, order = input[:, sorted_indices], lengths[sorted_indices]
    batch_sizes = (order[None, :] > np.arange(order[0])[:, None]).sum(axis=1).astype(np.int64)
    return PackedSequence(_pack_steps(input, batch_sizes), batch_sizes, sorted_indices, unsorted_indices)


def _pack_steps(sorted_input, batch_sizes):
    """Step t's first batch_sizes[t] rows of a (T, B, *) batch sorted by length, concatenated."""
    return cnp.concatenate([sorted_input[t, :b] for t, b in enumerate(batch_sizes.tolist())], axis=0)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None):
    """The inverse of :func:`pack_padded_sequence`: (padded batch (T, B, *), lengths) in
    the original order of the batch, as ``torch.nn.utils.rnn.pad_packed_sequence``.

    >>> import numpy as np
    >>> padded, lengths = pad_packed_sequence(pack_padded_sequence(np.arange(6.0).reshape(3, 2), [3, 1]))
    >>> padded.tolist(), lengths.tolist()
    ([[0.0, 1.0], [2.0, 0.0], [4.0, 0.0]], [3, 1])
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence expects a PackedSequence, got {type(sequence).__name__}")
    data, batch_sizes = sequence.data, np.asarray(sequence.batch_sizes)
    steps, batch = len(batch_sizes), int(batch_sizes[0])
    if total_length is not None and total_length < steps:
        raise ValueError(f"total_length ({total_length}) is shorter than the longest sequence ({steps})")
    rows, start = [], 0
    trailing = ((0, 0),) * (len(data.shape) - 1)
    for b in batch_sizes.tolist():
        step = data[start : start + b]
        rows.append(cnp.pad(step, ((0, batch - b), *trailing), constant_values=padding_value) if b < batch else step)
        start += b
    padded = cnp.stack(rows, axis=0)
    if total_length is not None and total_length > steps:
        padded = cnp.pad(padded, ((0, total_length - steps), (0, 0), *trailing), constant_values=padding_value)
    lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1).astype(np.int64)
    if sequence.unsorted_indices is not None:
        order = np.asarray(plain(sequence.unsorted_indices))
        padded, lengths = padded[:, order], lengths[order]
    if isinstance(data, Tensor):  # PyTorch's lengths are a tensor: lengths.to(device), .unsqueeze(1)
        lengths = as_eager(data, lengths)
    return (cnp.swapaxes(padded, 0, 1) if batch_first else padded), lengths


def pack_sequence(sequences: Sequence, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (T_i, *) sequences: :func:`pad_sequence` then :func:`pack_padded_sequence`.

    >>> import numpy as np
    >>> pack_sequence([np.ones(2), np.zeros(1)]).data.tolist()
    [1.0, 0.0, 1.0]
    """
    lengths = [np.shape(s)[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), np.asarray(lengths), enforce_sorted=enforce_sorted)


def repack_like(padded, packed: PackedSequence) -> PackedSequence:
    """A padded (T, B, *) batch in the original order, packed with ``packed``'s layout."""
    if packed.sorted_indices is not None:
        padded = padded[:, np.asarray(plain(packed.sorted_indices))]
    return PackedSequence(_pack_steps(padded, np.asarray(packed.batch_sizes)), packed.batch_sizes,
                          packed.sorted_indices, packed.unsorted_indices)


def unpad_sequence(padded_sequences, lengths, batch_first: bool = False) -> list:
    """The inverse of :func:`pad_sequence`: the list of sequences (T_i, *), as
    ``torch.nn.utils.rnn.unpad_sequence``; differentiable in ``padded_sequences``.

    >>> import numpy as np
    >>> [s.tolist() for s in unpad_sequence(np.array([[1.0, 2.0], [3.0, 0.0]]), [2, 1], batch_first=True)]
    [[1.0, 2.0], [3.0]]
    """
    batch = padded_sequences.shape[0 if batch_first else 1]
    lengths = _lengths(lengths, batch)
    if np.any(lengths > padded_sequences.shape[1 if batch_first else 0]):
        raise ValueError(f"unpad_sequence: a length ({int(lengths.max())}) is longer than the padded sequences "
                         f"({padded_sequences.shape[1 if batch_first else 0]})")
    rows = padded_sequences if batch_first else cnp.swapaxes(padded_sequences, 0, 1)
    return [rows[i, :n] for i, n in enumerate(lengths.tolist())]


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The inverse of :func:`pack_sequence`: the list of sequences (T_i, *) in their
    original order, as ``torch.nn.utils.rnn.unpack_sequence``.

    >>> import numpy as np
    >>> [s.tolist() for s in unpack_sequence(pack_sequence([np.ones(1), np.zeros(2)], enforce_sorted=False))]
    [[1.0], [0.0, 0.0]]
    """
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)

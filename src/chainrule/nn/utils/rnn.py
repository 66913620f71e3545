"""Batching sequences of different lengths for the recurrent and attention layers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import chainrule.numpy as cnp

__all__ = ["pad_sequence"]


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

"""What a library contributes to a workload: one or more cases (table rows)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class Unavailable(Exception):
    """The library lacks what the case needs (reported, not timed)."""


@dataclass
class Case:
    """One row of the table.

    ``step`` is the timed call. ``grads`` returns the arrays that are cross-checked
    against the float64 reference; it is called once, before any timing (for a training
    step it computes the gradients at the initial parameters without updating them).
    For a memory case (W6), ``grads`` is None and the output of the first ``step`` call,
    whose peak memory is measured, is passed to ``convert`` instead.
    ``ops`` is the number of operations per call, for a µs/op column.
    """

    name: str
    step: Callable[[], object]
    grads: Callable[[], list] | None = None
    convert: Callable[[object], list] | None = None
    ops: int | None = None
    checked: bool = True  # False for the GEMM floor, which computes no gradient

"""Fingerprints of the state a traced call may change besides arrays.

A replay repeats NumPy calls, not Python's other side effects. What :func:`chainrule.jit`
cannot replay it must at least notice while tracing: random generators that something
drew from outside a recorded call (their states before and after each recorded draw), and
warnings filters changed inside the function. :class:`~chainrule.transforms.record.RecordTrace`
takes these fingerprints; :class:`~chainrule.transforms.jitted.Jitted` finds the generators a
function can reach before tracing it.
"""

from __future__ import annotations

import warnings

import numpy as np

from chainrule.core.trace import RANDOM_SOURCES

__all__ = ["filters_fingerprint", "generators_seen_by", "rng_state", "same_state"]


def filters_fingerprint() -> tuple:
    """What tells a change of the warnings filters: the list, its length and first entry."""
    filters = warnings.filters
    return id(filters), len(filters), filters[0] if filters else None


def rng_state(generator) -> dict:
    """The state of a NumPy ``Generator`` or ``RandomState``, to compare with :func:`same_state`."""
    if isinstance(generator, np.random.RandomState):
        return generator.get_state(legacy=False)
    return generator.bit_generator.state


def same_state(a, b) -> bool:
    """Whether two generator states (nested dicts of numbers and arrays) are equal."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    return type(a) is type(b) and a == b


def generators_seen_by(leaves) -> list:
    """The NumPy generators a call may draw from that the trace can check, besides those
    the function reads (found by :class:`~chainrule.transforms.captures.Captures`): NumPy's
    global one, the registered ones (chainrule.nn.init's) and those among the arguments."""
    found = [np.random.mtrand._rand, *(source() for source in RANDOM_SOURCES)]
    return found + [leaf for leaf in leaves if isinstance(leaf, np.random.Generator | np.random.RandomState)]

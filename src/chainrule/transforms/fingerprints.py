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


def generators_seen_by(fun, leaves) -> list:
    """The NumPy generators a function may draw from that the trace can check: NumPy's
    global one, the registered ones (chainrule.nn.init's), those among the arguments and
    those its code names (closure cells and globals)."""
    found = [np.random.mtrand._rand, *(source() for source in RANDOM_SOURCES)]
    found += [leaf for leaf in leaves if isinstance(leaf, np.random.Generator | np.random.RandomState)]
    code = getattr(fun, "__code__", None)
    if code is not None:
        cells = [c.cell_contents for c in (fun.__closure__ or ()) if _cell_full(c)]
        names = getattr(fun, "__globals__", {})
        cells += [names[n] for n in code.co_names if n in names]
        found += [v for v in cells if isinstance(v, np.random.Generator | np.random.RandomState)]
    return found


def _cell_full(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True

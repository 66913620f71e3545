"""The global random generator of the eager layer, PyTorch's ``torch.manual_seed``.

What draws random numbers without being given a generator (``Tensor.uniform_`` and
``normal_``, layer initialisation, dropout, a shuffling ``DataLoader``, the creation
functions ``chainrule.randn`` and ``rand``) draws from this one NumPy generator, so
``chainrule.manual_seed(s)`` makes a program's random numbers the same on every run (they
are NumPy's, not PyTorch's: the same seed gives other values than in PyTorch).

It lives in the core because Tensor methods (the mirror's layer) draw from it as well as
the training layer above.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import numpy as np

from chainrule.core.global_state import global_setting
from chainrule.core.tensor import Tensor
from chainrule.core.trace import EAGER, RANDOM_SOURCES

__all__ = ["manual_seed", "default_generator", "get_generator", "initial_seed", "seed", "map_randomness",
           "randomness_of", "drawing_maps", "recorder_opened", "recorder_closed", "open_recorder",
           "get_rng_state", "set_rng_state"]

# The seed the generator started from (PyTorch's ``initial_seed``): a fresh one per
# process until manual_seed sets it
_SEED = [int(np.random.SeedSequence().entropy % 2**63)]
_GENERATOR = np.random.default_rng(_SEED[0])


def manual_seed(seed) -> np.random.Generator:
    """Reseed the global generator (an int, or what ``numpy.random.default_rng`` takes) and
    return it; a reference to it taken earlier follows the new seed too.

    >>> import chainrule as cr
    >>> a = cr.manual_seed(3).random(2); b = cr.manual_seed(3).random(2)
    >>> bool((a == b).all())
    True
    """
    _GENERATOR.bit_generator.state = np.random.default_rng(seed).bit_generator.state
    _SEED[0] = seed
    return _GENERATOR


@global_setting
def initial_seed() -> int:
    """The seed the global generator started from: the last :func:`manual_seed`'s, or the
    one drawn for this process (PyTorch's ``torch.initial_seed()``).

    >>> import chainrule as cr
    >>> _ = cr.manual_seed(7); cr.initial_seed()
    7
    """
    return _SEED[0]


def seed() -> int:
    """Reseed the global generator from fresh entropy and return the new seed (PyTorch's
    ``torch.seed()``).

    >>> import chainrule as cr
    >>> cr.seed() == cr.initial_seed()
    True
    """
    new = int(np.random.SeedSequence().entropy % 2**63)
    manual_seed(new)
    return new


# PCG64's state as bytes (PyTorch's get_rng_state is a uint8 tensor): the 128-bit state
# and increment, whether a 32-bit half is buffered, and that half; then the initial seed
# (modulo 2**64), which PyTorch's state also restores. A state of the first 40 bytes
# alone (saved before the seed was kept) restores the generator and leaves the seed.
_STATE_BYTES = 48
_GENERATOR_BYTES = 40


@global_setting(key=lambda: _GENERATOR.bit_generator.state)
def get_rng_state() -> Tensor:
    """The global generator's state and initial seed as 48 bytes (a uint8 Tensor), which
    :func:`set_rng_state` restores: PyTorch's ``torch.get_rng_state()``, savable in a
    checkpoint as any array.

    >>> import chainrule as cr
    >>> saved = cr.get_rng_state(); a = cr.rand(2).tolist()
    >>> cr.set_rng_state(saved); a == cr.rand(2).tolist()
    True
    """
    return generator_state(_GENERATOR, _SEED[0])


def set_rng_state(new_state) -> None:
    """Restore the global generator and its initial seed from what :func:`get_rng_state`
    returned (an array or Tensor of 48 bytes)."""
    seed = restore_generator(_GENERATOR, new_state, "set_rng_state")
    if seed is not None:
        _SEED[0] = seed


def generator_state(generator: np.random.Generator, seed) -> Tensor:
    """A PCG64 generator's state and its initial ``seed`` as the 48 bytes (a uint8 Tensor)
    that :func:`restore_generator` restores."""
    state = generator.bit_generator.state
    inner = state["state"]
    raw = (inner["state"].to_bytes(16, "little") + inner["inc"].to_bytes(16, "little")
           + int(state["has_uint32"]).to_bytes(4, "little") + int(state["uinteger"]).to_bytes(4, "little")
           + (int(seed) % 2**64 if isinstance(seed, int | np.integer) else 0).to_bytes(8, "little"))
    return Tensor(np.frombuffer(raw, dtype=np.uint8).copy(), EAGER)


def restore_generator(generator: np.random.Generator, new_state, name: str) -> int | None:
    """Set a PCG64 generator to the state :func:`generator_state` gave and return the
    initial seed it holds, None for a state saved without one (``name``: the caller's, for
    the error)."""
    raw = np.asarray(getattr(new_state, "_value", new_state))
    if raw.dtype != np.uint8 or raw.shape not in ((_STATE_BYTES,), (_GENERATOR_BYTES,)):
        raise ValueError(f"{name}: expected the {_STATE_BYTES} bytes (uint8) that get_rng_state / get_state return, "
                         f"got dtype {raw.dtype} and shape {raw.shape}")
    b = raw.tobytes()
    generator.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": int.from_bytes(b[:16], "little"), "inc": int.from_bytes(b[16:32], "little")},
        "has_uint32": int.from_bytes(b[32:36], "little"),
        "uinteger": int.from_bytes(b[36:40], "little"),
    }
    return int.from_bytes(b[40:], "little") if len(b) == _STATE_BYTES else None


def default_generator() -> np.random.Generator:
    """The global generator (see :func:`manual_seed`).

    >>> import chainrule as cr
    >>> cr.manual_seed(0) is default_generator()
    True
    """
    return _GENERATOR


RANDOM_SOURCES.append(default_generator)  # chainrule.jit checks draws from it are recorded


def get_generator(rng: np.random.Generator | int | None = None, name: str = "rng") -> np.random.Generator:
    """``rng`` itself, a new generator seeded by an int, or the global one for None
    (``name``: what the caller calls the argument, for the error).

    >>> get_generator(None) is default_generator()
    True
    >>> int(get_generator(5).integers(10)) == int(get_generator(5).integers(10))
    True
    """
    if _OPEN_MAPS.errors:
        raise RuntimeError(_ERROR_MODE)
    if rng is None:
        return _GENERATOR
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer):
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be a numpy Generator, an int seed or None, not {type(rng).__name__}")


# -- random draws under torch.func's vmap, by its ``randomness`` ------------------------------------
# "error" refuses every draw, "same" shares one draw among the examples, "different" gives each
# example its own. The maps register here (the batching trace of each, from the transforms
# above), and the draws of the layers above look them up.
_ERROR_MODE = ("vmap: called random operation while in randomness error mode. Please either use the 'same' or "
               "'different' randomness flags on vmap or perform the randomness operation out of vmap")


class _OpenMaps(threading.local):
    def __init__(self):
        self.maps: list = []  # (trace, randomness) of the open maps given a randomness, innermost last
        self.errors = 0  # how many of them refuse draws
        self.recorders: list = []  # the open traces of chainrule.jit, innermost last


_OPEN_MAPS = _OpenMaps()


@contextlib.contextmanager
def map_randomness(trace, randomness: str) -> Iterator[None]:
    """While it is open, draws inside the map of ``trace`` (its batching trace; None for a
    map that only refuses or allows draws) follow ``randomness``."""
    entry = (trace, randomness)
    _OPEN_MAPS.maps.append(entry)
    _OPEN_MAPS.errors += randomness == "error"
    try:
        yield
    finally:
        _OPEN_MAPS.maps.remove(entry)
        _OPEN_MAPS.errors -= randomness == "error"


def randomness_of(trace) -> str | None:
    """The randomness that the open map of ``trace`` was given (None: none given)."""
    for t, randomness in reversed(_OPEN_MAPS.maps):
        if t is trace:
            return randomness
    return None


def drawing_maps() -> list:
    """The batching traces of the open maps whose examples draw apart ("different"),
    innermost last."""
    return [t for t, randomness in _OPEN_MAPS.maps if randomness == "different" and t is not None]


# -- random draws under chainrule.jit ---------------------------------------------------------------
# A draw that depends on no traced value (cr.randn(3) inside a jitted function) is recorded by the
# innermost open trace of jit, so that each replay draws anew.
def recorder_opened(trace) -> None:
    """``trace`` (a trace of chainrule.jit) records the draws made while it is open."""
    _OPEN_MAPS.recorders.append(trace)


def recorder_closed(trace) -> None:
    recorders = _OPEN_MAPS.recorders
    for i in range(len(recorders) - 1, -1, -1):
        if recorders[i] is trace:
            del recorders[i]
            return


def open_recorder():
    """The innermost open trace of chainrule.jit in this thread (None: none is open)."""
    recorders = _OPEN_MAPS.recorders
    return recorders[-1] if recorders else None

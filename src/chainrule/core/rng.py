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

import numpy as np

from chainrule.core.trace import RANDOM_SOURCES

__all__ = ["manual_seed", "default_generator", "get_generator"]

_GENERATOR = np.random.default_rng()


def manual_seed(seed) -> np.random.Generator:
    """Reseed the global generator (an int, or what ``numpy.random.default_rng`` takes) and
    return it; a reference to it taken earlier follows the new seed too.

    >>> import chainrule as cr
    >>> a = cr.manual_seed(3).random(2); b = cr.manual_seed(3).random(2)
    >>> bool((a == b).all())
    True
    """
    _GENERATOR.bit_generator.state = np.random.default_rng(seed).bit_generator.state
    return _GENERATOR


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
    if rng is None:
        return _GENERATOR
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer):
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be a numpy Generator, an int seed or None, not {type(rng).__name__}")

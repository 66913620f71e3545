"""Trace once, replay many times: :func:`jit`.

The first call of a jitted function runs it on Tensors of a recording trace, so every
NumPy call that the function, its derivatives (the backward pass too) and its updates
make lands on one flat list. That list becomes straight-line Python source, one NumPy
call per line: no Tensors, no tape, no rules, no broadcasting checks. Later calls with
arrays of the same shapes and dtypes run that code.

What keeps a replay exact:

* Shapes, dtypes, memory layouts and Python values (numbers, strings, the structure of
  the arguments) are the key of a recorded program; a call that differs in any of them
  is traced anew.
* Every value that Python reads from a traced array (``bool(x)``, ``float(x)``, ``if x >
  0:``, an index made of one, ``.primal()``) becomes a *guard*: the replay checks that it
  reads the same, and traces again if not. Python control flow can therefore depend on
  data; it is never replayed wrong, only traced once per path taken.
* Comparisons, ``argmax`` and the other functions without a derivative are recorded like
  any other call, so their results follow the data; operations whose output shape
  depends on values (boolean masks, ``nonzero``, ``unique``) have their shapes checked.
* A result handed back to the caller is never a buffer that a later call writes into.

The parts, each in its module: the recording trace (:mod:`chainrule.transforms.record`,
with :mod:`~chainrule.transforms.record_scalars` and :mod:`~chainrule.transforms.record_writes`),
the fingerprints of generators and warnings filters it takes
(:mod:`chainrule.transforms.fingerprints`), what the function reads besides its arguments
(:mod:`chainrule.transforms.captures`), the keys of arguments
(:mod:`chainrule.transforms.arguments`), the parts of a program and how a replay runs
(:mod:`chainrule.transforms.program`), how a recorded call list becomes one
(:mod:`chainrule.transforms.passes`), and the cache that replays it
(:mod:`chainrule.transforms.jitted`). This module holds the public entry point.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chainrule.transforms.jitted import Jitted
from chainrule.transforms.record import RecordTrace

__all__ = ["jit", "Jitted", "RecordTrace"]


def jit(fun: Callable | None = None, *, static_argnums=(), static_argnames=(),
        max_programs: int = 8, donate_argnums=(), fuse: bool | str = False) -> Any:
    """Trace ``fun`` once per kind of input, then replay the recorded NumPy calls.

    The replay runs the same NumPy calls as the first, traced, call, in the same order,
    so its results are the same to the last bit; the Python around them (Tensors,
    tracing, rule lookups, broadcasting checks) is gone. Use it for a function called
    many times with same-shaped arrays, such as a training step. ``max_programs`` caps the
    paths kept per input signature when Python branches on traced values.
    ``static_argnums``/``static_argnames`` (JAX's) name arguments that are not traced:
    each hashable value keys its own programs and reaches the function as it is.
    ``donate_argnums`` names positional arguments whose arrays the caller gives up: a
    replay may write results into them (say, new parameters into the old ones).
    ``fuse=True`` compiles each chain of elementwise calls into one loop with Numba (the
    ``[fast]`` extra; without it, a warning and the plain replay): faster, and equal to
    the plain call within the bounds in ``docs/jit.md`` rather than to the last bit. The
    loops compile on a background thread while the calls replay unfused;
    ``fuse="wait"`` compiles them before the first call returns, and
    ``wait_compiled()`` waits for them.

    >>> import numpy as np, chainrule as cr, chainrule.numpy as cnp
    >>> step = cr.jit(cr.grad(lambda x: cnp.sum(cnp.tanh(x) ** 2)))
    >>> g = step(np.zeros(3))          # traced
    >>> g = step(np.ones(3))           # replayed
    >>> step.traces
    1
    >>> power = cr.jit(lambda x, n: x ** n, static_argnums=1)
    >>> power(np.arange(3.0), 2)
    array([0., 1., 4.])
    """
    if fun is None:
        return functools.partial(jit, static_argnums=static_argnums, static_argnames=static_argnames,
                                 max_programs=max_programs, donate_argnums=donate_argnums, fuse=fuse)
    return Jitted(fun, max_programs, donate_argnums, fuse, static_argnums, static_argnames)

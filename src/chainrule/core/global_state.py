"""Global state that a function's result may depend on beyond its arguments.

Settings read through :func:`global_setting` and the random generators that library code
draws from by default: ``chainrule.jit`` keys its records on the settings and checks that
a traced call draws only through recorded calls.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

__all__ = ["SETTINGS", "SETTINGS_READ", "global_setting", "RANDOM_SOURCES"]

# The global settings that functions read (``cr.is_grad_enabled()``), and those read while
# chainrule.jit records a call: one set of getters per open record. A replay checks on
# entry that each gives what it gave when the call was traced.
SETTINGS: list = []
SETTINGS_READ: list[set] = []


def global_setting(getter: Callable | None = None, *, key: Callable | None = None,
                   on_entry: bool = True) -> Callable:
    """``getter`` of a global setting, noting each read while a call is recorded; its
    plain read is ``.unwatched`` (``key()``, where given: what a replay compares, such as
    a generator's state as bytes). ``on_entry=False`` for one costly to read (BLAS's
    threads): not taken when each record opens, so its value at the record's end stands
    for it."""
    if getter is None:
        return functools.partial(global_setting, key=key, on_entry=on_entry)

    @functools.wraps(getter)
    def read(*args, **kwargs):
        if SETTINGS_READ:
            SETTINGS_READ[-1].add(read)
        return getter(*args, **kwargs)

    read.unwatched = key or getter
    if on_entry:
        SETTINGS.append(read)
    return read


# Functions returning the NumPy generators that library code draws from by default
# (chainrule.nn.init registers its global one): chainrule.jit checks that a traced call
# draws from them only through recorded calls.
RANDOM_SOURCES: list = []

"""Global state that a function's result may depend on beyond its arguments.

Settings read through :func:`global_setting` and the random generators that library code
draws from by default: ``chainrule.jit`` keys its records on the settings and checks that
a traced call draws only through recorded calls.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

__all__ = ["SETTINGS", "SETTINGS_READ", "global_setting", "warn_once", "RANDOM_SOURCES"]

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


# The keys of the warnings that warn_once has shown in this process
_SHOWN_ONCE: set = set()


@global_setting
def _shown_once() -> frozenset:
    return frozenset(_SHOWN_ONCE)


def warn_once(key, message: str, category: type[Warning] = UserWarning, stacklevel: int = 1) -> None:
    """``warnings.warn(message, category)`` the first time this process asks with ``key``,
    and never again. Which keys have been shown is a global setting: a call that
    ``chainrule.jit`` traced while the warning was still to come (and whose replays issue
    it again, as they do every warning the function issued) is traced anew once it has
    been shown, so that its replays stay as silent as the plain call is from then on.

    >>> warn_once("example", "shown once")  # doctest: +SKIP
    """
    if key in _shown_once():
        return
    _SHOWN_ONCE.add(key)
    warnings.warn(message, category, stacklevel=stacklevel + 1)


# Functions returning the NumPy generators that library code draws from by default
# (chainrule.nn.init registers its global one): chainrule.jit checks that a traced call
# draws from them only through recorded calls.
RANDOM_SOURCES: list = []

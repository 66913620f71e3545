"""Fingerprints of the state a traced call may change besides arrays.

A replay repeats NumPy calls, not Python's other side effects. What :func:`chainrule.jit`
cannot replay it must at least notice while tracing: random generators that something
drew from outside a recorded call (their states before and after each recorded draw),
warnings filters changed inside the function, numbers drawn from the operating system's
entropy (a generator made without a seed), and the warnings that Python code issues
(``warnings.warn``), which a replay issues again. A replay holds the warnings it shows
until it has finished (:func:`hold_warnings`): one that stops early hands over to a retrace
or the plain call, which show them. :class:`~chainrule.transforms.record.RecordTrace`
takes these fingerprints; :class:`~chainrule.transforms.jitted.Jitted` finds the generators a
function can reach before tracing it.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import threading
import warnings
from collections.abc import Callable

import numpy as np
import numpy.random.bit_generator as _bit_generator

from chainrule.core.trace import RANDOM_SOURCES

__all__ = ["GENERATED", "PACKAGE", "call_from", "entropy_drawn", "filters_fingerprint", "generators_seen_by",
           "hear_warnings", "hold_warnings", "is_generator", "place_outside", "release_warnings", "rng_state",
           "same_state", "special_errstate", "warn_again", "warnings_issued"]


def filters_fingerprint() -> tuple:
    """What tells a change of the warnings filters: the list, its length and first entry."""
    filters = warnings.filters
    return id(filters), len(filters), filters[0] if filters else None


def special_errstate() -> dict:
    """The error state of SciPy's special functions (``scipy.special.errstate``), which
    decides whether ``gamma(-1)`` raises; the state SciPy starts with where they are not
    loaded (a function that imports them while traced finds that one)."""
    special = sys.modules.get("scipy.special")
    return _SPECIAL_START if special is None else special.geterr()


_SPECIAL_START = {**dict.fromkeys(("singular", "underflow", "overflow", "slow", "loss", "no_result", "domain",
                                   "arg", "other"), "ignore"), "memory": "raise"}


def rng_state(generator) -> dict | tuple:
    """The state of a NumPy ``Generator`` or ``RandomState``, or of a Python
    ``random.Random``, to compare with :func:`same_state`."""
    if isinstance(generator, np.random.RandomState):
        return generator.get_state(legacy=False)
    if isinstance(generator, random.Random):
        return generator.getstate()
    return generator.bit_generator.state


def is_generator(value) -> bool:
    """A generator of random numbers whose state can be read: NumPy's, or a Python
    ``random.Random`` (not a ``SystemRandom``, which draws from the operating system)."""
    return (isinstance(value, np.random.Generator | np.random.RandomState)
            or isinstance(value, random.Random) and not isinstance(value, random.SystemRandom))


def same_state(a, b) -> bool:
    """Whether two generator states (nested dicts of numbers and arrays) are equal."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and np.array_equal(a, b)
    return type(a) is type(b) and a == b


def generators_seen_by(leaves) -> list:
    """The generators a call may draw from that the trace can check, besides those the
    function reads (found by :class:`~chainrule.transforms.captures.Captures`): NumPy's
    global one, the registered ones (chainrule.nn.init's) and those among the arguments
    (NumPy's, and Python's ``random.Random``)."""
    found = [np.random.mtrand._rand, *(source() for source in RANDOM_SOURCES)]
    return found + [leaf for leaf in leaves if is_generator(leaf)]


# where NumPy's seedless generators (np.random.default_rng(), SeedSequence(), RandomState())
# and Python's random.SystemRandom, secrets and uuid.uuid4 read the operating system's
# entropy: each looks the name up when called
_ENTROPY_SOURCES = ((_bit_generator, "randbits"), (random, "_urandom"), (os, "urandom"))


@contextlib.contextmanager
def entropy_drawn():
    """While the block runs, count the draws from the operating system's entropy (of
    any thread); yields a list that holds one item per draw. A generator made without a
    seed inside a traced call would give a replay the first call's numbers. The sources
    are counted while any trace of any thread is open, and put back after the last."""
    drawn: list = []
    with _hook_lock:
        if not _drawing:
            _entropy_saved[:] = [(module, name, getattr(module, name)) for module, name in _ENTROPY_SOURCES]
            for module, name, source in _entropy_saved:
                setattr(module, name, _counting(source))
        _drawing.append(drawn)
    try:
        yield drawn
    finally:
        with _hook_lock:
            del _drawing[next(i for i, d in enumerate(_drawing) if d is drawn)]  # by identity
            if not _drawing:
                for module, name, source in _entropy_saved:
                    setattr(module, name, source)


_hook_lock = threading.Lock()
_drawing: list = []  # the lists of the open traces, each counting the draws
_entropy_saved: list = []  # (module, name, source) replaced while traces are open


def _counting(source):
    def draw(*args):
        for drawn in list(_drawing):
            drawn.append(None)
        return source(*args)
    return draw


# warnings.warn while a trace runs in this thread: the trace hears of each warning issued
_tracing = threading.local()  # .hearing: the callbacks of this thread's open traces
_hooked = [0, None]  # how many traces hear warnings (all threads), the warn they replaced


@contextlib.contextmanager
def warnings_issued(hear: Callable):
    """While the block runs, ``hear(message, category, stacklevel, source, frame, more)``
    after each ``warnings.warn`` of this thread that returned (``frame``: its caller's).
    ``warnings.warn`` is looked up when called, so code that names it hears too; it is
    put back once no trace of any thread is open."""
    with _hook_lock:
        if _hooked[0] == 0:
            _hooked[1] = warnings.warn
            warnings.warn = _warn
        _hooked[0] += 1
    hearing = _tracing.__dict__.setdefault("hearing", [])
    hearing.append(hear)
    try:
        yield
    finally:
        hearing.pop()
        with _hook_lock:
            _hooked[0] -= 1
            if _hooked[0] == 0 and warnings.warn is _warn:
                warnings.warn = _hooked[1]


# NumPy's shuffle of an object that is not its ndarray (a traced value) warns so before it
# swaps the rows; the trace hears it and swaps them as NumPy's shuffle of the array does
SHUFFLE_NOTICE = "you are shuffling a 'Tensor' object"


def _warn(message, category=None, stacklevel=1, source=None, **more):
    # the warn it replaced (kept once hooked: code that bound this one still reaches it);
    # what it shows is heard here, not by hear_warnings
    hearing = getattr(_tracing, "hearing", None)
    if (hearing and category is UserWarning and isinstance(message, str) and message.startswith(SHUFFLE_NOTICE)
            and hearing[-1](message, category, stacklevel, source, sys._getframe(1), more)):
        return None  # a traced value's: not shown, as the plain call's shuffle of an array does not warn
    _holding.warning = getattr(_holding, "warning", 0) + 1
    try:
        result = _hooked[1](message, category, stacklevel + 1, source, **more)
    finally:
        _holding.warning -= 1
    hearing = getattr(_tracing, "hearing", None)
    if hearing:
        hearing[-1](message, category, stacklevel, source, sys._getframe(1), more)
    return result


# warnings shown while a replay of this thread runs: held until it finishes, since a replay
# that stops early (a guard, a call that raises) is followed by a retrace or the plain
# call, which issue them again
_holding = threading.local()  # .stack: a list of held warnings per running replay
_shown = [None]  # the warnings._showwarnmsg that _hold stands in front of
_standard = warnings._showwarnmsg  # the standard library's


def _show(message) -> None:
    """Show ``message`` as the ``_showwarnmsg`` that ``_hold`` stands in front of does;
    the standard library's where that one called ``_hold`` again (a wrapper of it that
    calls what it replaced, installed after it)."""
    if getattr(_holding, "showing", False):
        _standard(message)
        return
    _holding.showing = True
    try:
        _shown[0](message)
    finally:
        _holding.showing = False


def hold_warnings() -> list:
    """Start holding the warnings this thread shows (after the filters let them through:
    an ``error`` filter still raises at once); returns the list they go to. End with
    :func:`release_warnings`. Python looks ``warnings._showwarnmsg`` up for each warning
    it shows, NumPy's floating-point warnings included: ``_hold`` stands in front of it
    from the first replay on (set again if something replaced it since), and passes on
    the warnings of threads that hold none."""
    current = warnings._showwarnmsg
    if current is not _hold:
        _shown[0] = current
        warnings._showwarnmsg = _hold
    try:
        stack = _holding.stack
    except AttributeError:
        stack = _holding.stack = []
    held: list = []
    stack.append(held)
    return held


class _Passing(list):
    """A holder that holds nothing: each warning is heard, then shown at once."""

    def __init__(self, hear: Callable):
        super().__init__()
        self.hear = hear

    def append(self, message) -> None:
        if not getattr(_holding, "warning", 0):  # not one of warnings.warn
            self.hear(message)
        _show(message)

    def extend(self, messages) -> None:
        for message in messages:
            self.append(message)


def hear_warnings(hear: Callable) -> list:
    """Until :func:`release_warnings`, ``hear(message)`` of each warning this thread shows
    (a ``warnings.WarningMessage``) other than through ``warnings.warn``, such as NumPy's
    floating-point warnings, just before it is shown."""
    hold_warnings()  # stands in front of Python's showing, and a place on the stack
    _holding.stack[-1] = passing = _Passing(hear)
    return passing


def release_warnings(held: list, show: bool, places: dict | None = None) -> None:
    """Stop holding: show the warnings held (``show``: the replay finished), as they
    would have been shown, or drop them (it stopped: what runs next issues them).
    ``places``: line of the generated code -> the place in the user's code (see
    :func:`place_outside`) where the call it replays was made; a warning of such a line
    is issued again there, through the filters and registry of that place, as the plain
    call issues it."""
    stack = _holding.stack
    stack.pop()
    if show and held:
        for message in held:
            place = places.get(message.lineno) if places and message.filename == GENERATED else None
            if place is not None:
                warn_again(message.message, message.category, *place[:3], None)
            elif stack:  # a replay inside a replay: the outer one decides
                stack[-1].append(message)
            else:
                _show(message)


# the file name of a replay's generated code
GENERATED = "<chainrule.jit>"
# chainrule's own source: the first frame outside it is the user's code calling it (and
# NumPy's warnings attributed to it are not the user's code's)
PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def place_outside(frame) -> tuple | None:
    """(file name, line, module globals, function name) of the innermost frame from
    ``frame`` on that is not chainrule's own code: where the user's code called what led
    to it."""
    while frame is not None and frame.f_code.co_filename.startswith(PACKAGE):
        frame = frame.f_back
    return None if frame is None else (frame.f_code.co_filename, frame.f_lineno, frame.f_globals,
                                       frame.f_code.co_name)


def call_from(place: tuple | None, fun: Callable, args, kwargs):
    """``fun(*args, **kwargs)``, called from a frame at ``place`` (see
    :func:`place_outside`): a NumPy warning of ``fun`` (a ufunc's "invalid value
    encountered in log") is attributed to that line and module, as in the plain call."""
    if place is None:
        return fun(*args, **kwargs)
    return _caller(*place)(fun, args, kwargs)


def _call(fun, args, kwargs):
    return fun(*args, **kwargs)  # (its line: the first after the def's)


_callers: dict = {}  # (file name, line, id of the globals) -> (globals, a _call made there)


def _caller(filename: str, lineno: int, module_globals: dict, name: str) -> Callable:
    key = (filename, lineno, id(module_globals))
    found = _callers.get(key)
    if found is not None and found[0] is module_globals:
        return found[1]
    if len(_callers) > 4096:  # (code made with exec, each with globals of its own)
        _callers.clear()
    # named as the user's function, whose line a traceback through it shows
    code = _call.__code__.replace(co_filename=filename, co_firstlineno=lineno - 1, co_name=name, co_qualname=name)
    caller = type(_call)(code, module_globals)
    _callers[key] = (module_globals, caller)
    return caller


def warn_again(message, category, filename: str, lineno: int, module_globals: dict, source) -> None:
    """A warning that the traced call issued, issued again where it was (a replay's)."""
    registry = module_globals.setdefault("__warningregistry__", {})
    warnings.warn_explicit(message, category, filename, lineno, module_globals.get("__name__", "<string>"),
                           registry, module_globals, source)


def _hold(message) -> None:
    stack = getattr(_holding, "stack", None)
    if stack:
        stack[-1].append(message)
    else:
        _show(message)

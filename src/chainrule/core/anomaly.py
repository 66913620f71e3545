"""Anomaly detection: which forward operation made a NaN or inf of the backward pass.

Inside :class:`detect_anomaly`, every primitive call that a reverse or eager trace records
also records where in the user's code it was made, and the backward pass checks each
cotangent a rule produces: the first one holding a NaN or inf raises an error that names
the operation and shows that line. Outside it nothing is recorded or checked: the traces'
methods are swapped for recording ones only while a ``detect_anomaly`` scope is open.
"""

from __future__ import annotations

import functools
import linecache
import os
import sys
import threading
from collections.abc import Callable

import numpy as np

from chainrule.core.eager_node import EagerNode
from chainrule.core.eager_trace import EagerTrace
from chainrule.core.global_state import global_setting
from chainrule.core.reverse_trace import ReverseTrace
from chainrule.core.tensor import Tensor

__all__ = ["detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled", "set_anomaly_mode",
           "ANOMALY", "CHECKING", "check_cotangent"]

# The mode, as PyTorch's: global (in any thread, because a backward pass may run in another
# thread than its forward pass); each scope sets it, and its end restores the mode before.
ANOMALY = [False]  # whether calls record where they were made
CHECKING = [True]  # whether the backward pass then checks each cotangent (check_nan)
_lock = threading.Lock()
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ORIGINAL: dict = {}


@global_setting
def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on (a :class:`detect_anomaly` scope is open).

    >>> import chainrule as cr
    >>> cr.is_anomaly_enabled()
    False
    """
    return ANOMALY[0]


@global_setting
def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection, when on, checks the backward pass for NaN and inf (the
    innermost scope's ``check_nan``; True outside any), as ``torch.is_anomaly_check_nan_enabled``.

    >>> import chainrule as cr
    >>> with cr.detect_anomaly(check_nan=False):
    ...     cr.is_anomaly_check_nan_enabled()
    False
    """
    return CHECKING[0]


def set_anomaly_mode(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off from here on (what :class:`detect_anomaly` and
    ``chainrule.autograd.set_detect_anomaly`` do on entry and undo on exit)."""
    with _lock:
        if enabled and not ANOMALY[0]:
            _install()
        elif not enabled and ANOMALY[0]:
            _uninstall()
        ANOMALY[0], CHECKING[0] = bool(enabled), bool(check_nan)


class detect_anomaly:
    """Context manager (and decorator): a NaN or inf produced by a backward rule raises an
    error naming the forward operation and the line of your code that called it.

    >>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
    >>> x = cr.tensor([0.0], requires_grad=True)
    >>> with cr.detect_anomaly():
    ...     y = cnp.sqrt(x).sum()
    ...     y.backward()
    Traceback (most recent call last):
    ...
    FloatingPointError: detect_anomaly: the backward rule of sqrt ...

    ``check_nan=False`` (PyTorch's argument) records where each operation was called but
    checks nothing.
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = bool(check_nan)
        self._before: list[tuple[bool, bool]] = []  # the modes to restore, one per entry

    def __enter__(self):
        self._before.append((ANOMALY[0], CHECKING[0]))
        set_anomaly_mode(True, self.check_nan)
        return self

    def __exit__(self, *exc):
        set_anomaly_mode(*self._before.pop())
        return False

    def __call__(self, fun: Callable) -> Callable:
        @functools.wraps(fun)
        def wrapped(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fun(*args, **kwargs)

        return wrapped


# -- recording where each call was made --------------------------------------------------
def user_frame():
    """(file, line, function) of the innermost caller outside chainrule, or None."""
    f = sys._getframe(2)
    while f is not None and f.f_code.co_filename.startswith(_PACKAGE_DIR):
        f = f.f_back
    if f is None:
        return None
    return f.f_code.co_filename, f.f_lineno, f.f_code.co_name


# Code of the frames a warning's attribution stops below (chainrule.jit's trace: a warning
# attributed past the function it traces is one a replay cannot issue again)
ATTRIBUTION_BOUNDARIES: set = set()


def user_stacklevel() -> int:
    """The ``stacklevel`` for a warning its caller issues that names the innermost line
    outside chainrule (the user's call, however deep in the transforms it is raised:
    ``vmap(grad(f))``), as Python 3.12's ``skip_file_prefixes`` does; inside a function
    that ``jit`` traces, no further out than the function.

    >>> import warnings
    >>> def issued_inside():  # (this module is chainrule's, so the caller is the user)
    ...     warnings.warn("note", stacklevel=user_stacklevel())
    >>> user_stacklevel() >= 1
    True
    """
    level, f = 1, sys._getframe(1)
    while (f.f_back is not None and f.f_code.co_filename.startswith(_PACKAGE_DIR)
           and f.f_back.f_code not in ATTRIBUTION_BOUNDARIES):
        level, f = level + 1, f.f_back
    return level


def _eager_recording(method):
    def recording(self, *args, **kwargs):
        out = method(self, *args, **kwargs)
        for t in out if isinstance(out, tuple) else (out,):
            node = t._node if isinstance(t, Tensor) else None
            if isinstance(node, EagerNode) and getattr(node, "origin", None) is None:
                node.origin = where = user_frame()
                if node.parents and node.prim is not None and node.prim.__name__ == "project":
                    parent = node.parents[0][1]
                    if getattr(parent, "origin", None) is None:
                        parent.origin = where
        return out

    return recording


def _tape_recording(method):
    def recording(self, *args, **kwargs):
        out = method(self, *args, **kwargs)
        origins = self.origins
        if origins is None:
            origins = self.origins = {}
        where = None
        for t in out if isinstance(out, tuple) else (out,):
            if isinstance(t, Tensor) and t._trace is self and t._node not in origins:
                where = where or user_frame()
                origins[t._node] = where
                entry = self.tape[t._node]
                if entry[0] is not None and entry[0].__name__ == "project":
                    origins.setdefault(entry[1][0][1], where)
        return out

    return recording


def _install() -> None:
    for cls, wrap in ((EagerTrace, _eager_recording), (ReverseTrace, _tape_recording)):
        for name in ("unary", "binary", "process"):
            _ORIGINAL[cls, name] = method = cls.__dict__[name]
            setattr(cls, name, wrap(method))


def _uninstall() -> None:
    for (cls, name), method in _ORIGINAL.items():
        setattr(cls, name, method)
    _ORIGINAL.clear()


# -- the check in the backward pass ------------------------------------------------------
def _finite(g) -> bool:
    if g is None:
        return True
    if isinstance(g, list | tuple):
        return all(_finite(v) for v in g)
    while isinstance(g, Tensor):
        g = g._value
    a = np.asarray(g)
    return a.dtype.kind not in "fc" or bool(np.isfinite(a).all())


def check_cotangent(g, prim, argnum: int, origin) -> None:
    """Raise if the cotangent ``g`` that ``prim``'s rule gave for ``argnum`` is not finite."""
    if _finite(g):
        return
    if origin is None:
        where = (
            "  (where it was called is not known: run the forward pass inside "
            "detect_anomaly() too)"
        )
    else:
        filename, lineno, function = origin
        source = linecache.getline(filename, lineno).strip()
        where = f'  File "{filename}", line {lineno}, in {function}\n    {source}'
    raise FloatingPointError(
        f"detect_anomaly: the backward rule of {prim.__name__} returned NaN or inf for its "
        f"argument {argnum}. The {prim.__name__} call was made at:\n{where}\n"
        "Its inputs are outside the domain where the derivative is finite (a 0 under "
        "sqrt or log, an overflow); guard them in the forward pass (e.g. cnp.where)."
    )

"""PyTorch's grad modes for the eager layer: ``no_grad``, ``enable_grad``,
``set_grad_enabled`` and ``inference_mode``, each a context manager and a decorator (with or
without parentheses, as PyTorch's), and ``is_grad_enabled``/``is_inference_mode_enabled``.
The mode belongs to the calling thread. Inside a function a reverse-mode transform
differentiates, ``no_grad()`` makes what it computes a constant for that transform (and
for those it is nested in), as ``torch.func.grad`` does (:mod:`chainrule.core.paused`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import threading
from collections.abc import Callable
from contextvars import ContextVar

from chainrule.core.global_state import global_setting
from chainrule.core.paused import set_transforms_grad_mode
from chainrule.core.trace import grad_enabled, set_grad_mode, set_inference_mode

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled", "pytorch_meaning", "pytorch_meaning_on"]

_INFERENCE = threading.local()  # .depth: how many inference_mode(True) blocks this thread is in
# .asked: the grad mode asked for inside inference mode, where nothing is recorded whatever is
# asked (PyTorch's enable_grad there turns is_grad_enabled() on, and records nothing)
_ASKED = threading.local()


def _ask(flag: bool) -> tuple:
    """Ask for grad mode ``flag``: recording is turned on only outside inference mode.
    Returns what :func:`_restore` puts back."""
    saved = getattr(_ASKED, "flag", False)
    _ASKED.flag = flag
    flag = flag and not is_inference_mode_enabled()
    return saved, set_grad_mode(flag), set_transforms_grad_mode(flag)


def _restore(saved: tuple) -> None:
    _ASKED.flag = saved[0]
    set_grad_mode(saved[1])
    set_transforms_grad_mode(saved[2])


class no_grad:
    """Context manager (and decorator) in which eager operations record no graph.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> with cr.no_grad():
    ...     w -= 0.1          # an optimizer step: written in place, not recorded
    >>> w.requires_grad, w.grad is None
    (True, True)
    """

    mode = False

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)  # @no_grad without parentheses, as PyTorch allows

    def __enter__(self):
        self._saved = _ask(self.mode)

    def __exit__(self, *exc):
        _restore(self._saved)
        return False

    def __call__(self, fun: Callable) -> Callable:
        mode = self.mode
        if inspect.isgeneratorfunction(fun):  # the mode holds while the body runs, between yields too
            return _generator_in(lambda: _Asked(mode), fun)

        @functools.wraps(fun)
        def wrapped(*args, **kwargs):
            saved = _ask(mode)
            try:
                return fun(*args, **kwargs)
            finally:
                _restore(saved)

        return wrapped


class _Asked:
    """The grad mode ``mode`` for a ``with`` block."""

    def __init__(self, mode: bool):
        self.mode = mode

    def __enter__(self):
        self._saved = _ask(self.mode)

    def __exit__(self, *exc) -> bool:
        _restore(self._saved)
        return False


def _generator_in(context: Callable, fun: Callable) -> Callable:
    """The generator function ``fun`` with each stretch of its body (up to a yield) run
    inside ``context()``, and the caller's code between them outside it, as PyTorch's grad
    mode decorators wrap a generator function."""

    @functools.wraps(fun)
    def generator(*args, **kwargs):
        gen = fun(*args, **kwargs)
        try:
            with context():
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with context():
                        gen.close()
                    raise
                except BaseException:
                    with context():
                        response = gen.throw(*sys.exc_info())
                else:
                    with context():
                        response = gen.send(request)
        except StopIteration as stop:
            return stop.value

    return generator


class enable_grad(no_grad):
    """Context manager (and decorator) that turns recording back on inside ``no_grad``."""

    mode = True


class set_grad_enabled(no_grad):
    """Turn recording on or off: called, it sets the mode at once (for this thread); used
    with ``with``, it restores the previous mode on exit; as a decorator, it sets the mode
    only while the function runs (PyTorch's ``torch.set_grad_enabled``).

    >>> import chainrule as cr
    >>> with cr.set_grad_enabled(False):
    ...     cr.is_grad_enabled()
    False
    >>> cr.is_grad_enabled()
    True
    """

    def __new__(cls, mode: bool):
        return object.__new__(cls)

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._saved = _ask(self.mode)

    def __enter__(self):
        pass  # the mode was set when this object was made

    def __call__(self, fun: Callable) -> Callable:
        _restore(self._saved)  # decorating does not change the mode now
        return super().__call__(fun)


@global_setting
def is_grad_enabled() -> bool:
    """Whether eager operations record a graph in this thread; inside ``inference_mode()``,
    whether ``enable_grad`` asked for one (nothing is recorded there, as in PyTorch).

    >>> import chainrule as cr
    >>> cr.is_grad_enabled()
    True
    """
    if is_inference_mode_enabled():
        return getattr(_ASKED, "flag", False)
    return grad_enabled()


class inference_mode(no_grad):
    """PyTorch's ``torch.inference_mode(mode=True)``: with ``mode`` True, a block (or a
    function, decorated with or without parentheses) that records no graph, as ``no_grad``;
    ``inference_mode(False)`` turns recording back on inside one, as PyTorch's does.

    >>> import chainrule as cr
    >>> with cr.inference_mode():
    ...     cr.is_grad_enabled(), cr.is_inference_mode_enabled()
    (False, True)
    """

    def __new__(cls, mode: bool = True):
        if isinstance(mode, bool):
            return object.__new__(cls)
        return cls()(mode)  # @inference_mode without parentheses

    def __init__(self, mode: bool = True):
        self.inference = mode
        self.mode = not mode

    def __enter__(self):
        self._depth = getattr(_INFERENCE, "depth", 0)
        _INFERENCE.depth = self._depth + 1 if self.inference else 0
        self._was = set_inference_mode(self.inference)
        super().__enter__()

    def __exit__(self, *exc):
        super().__exit__(*exc)
        set_inference_mode(self._was)
        _INFERENCE.depth = self._depth
        return False

    def __call__(self, fun: Callable) -> Callable:
        if inspect.isgeneratorfunction(fun):
            return _generator_in(lambda: inference_mode(self.inference), fun)

        @functools.wraps(fun)
        def wrapped(*args, **kwargs):
            with inference_mode(self.inference):
                return fun(*args, **kwargs)

        return wrapped


@global_setting
def is_inference_mode_enabled() -> bool:
    """Whether the calling thread is inside ``inference_mode()`` (and not an
    ``inference_mode(False)`` within it)."""
    return getattr(_INFERENCE, "depth", 0) > 0


_PYTORCH_MEANING: ContextVar[bool] = ContextVar("chainrule_pytorch_meaning", default=False)


@contextlib.contextmanager
def pytorch_meaning():
    """Within it, the methods whose name means one thing to NumPy and another to PyTorch
    (``x.sort()``, ``x.max(0)``, ``x.var()``) take PyTorch's meaning on a transform's
    values too: ``torch.sort(x)`` and the other functions of ``import chainrule as
    torch`` are PyTorch's wherever they run, and so is the code that torch.func's
    transforms run (an in-place change that PyTorch's autograd refuses is refused there)."""
    token = _PYTORCH_MEANING.set(True)
    try:
        yield
    finally:
        _PYTORCH_MEANING.reset(token)


@global_setting
def pytorch_meaning_on() -> bool:
    """Whether :func:`pytorch_meaning` is on (a global setting: a call ``chainrule.jit``
    traces is keyed on it where its methods read it, ``x.var()`` of a ``grad``'s value)."""
    return _PYTORCH_MEANING.get()

"""Name scopes: ``with scope("name"):`` groups the operations recorded inside it."""

from __future__ import annotations

import functools
from collections.abc import Callable


class _ScopeLog:
    """The scopes entered while :func:`graph` records one function: tape ranges by path."""

    def __init__(self, tape: list):
        self.tape = tape
        self.stack: list[tuple[str, int]] = []
        self.ranges: list[tuple[str, int, int]] = []


_SCOPE_LOGS: list[_ScopeLog] = []


class scope:
    """Group the operations recorded inside it under ``name`` in drawings of :func:`graph`.

    Scopes nest (``"encoder/layer1"``) and work as decorators. Outside :func:`graph` they
    cost next to nothing, so they can stay in model code.

    >>> import chainrule.numpy as cnp
    >>> from chainrule.viz import graph
    >>> def f(x):
    ...     with scope("square"):
    ...         y = x * x
    ...     return cnp.sin(y)
    >>> [(n.name, n.scope) for n in graph(f, 1.0).nodes]
    [('x', ''), ('multiply', 'square'), ('sin', '')]
    """

    def __init__(self, name: str):
        if not isinstance(name, str) or not name:
            raise ValueError(f"scope needs a non-empty string name, got {name!r}")
        self.name = name
        self._logs: list[_ScopeLog | None] = []

    def __enter__(self) -> scope:
        log = _SCOPE_LOGS[-1] if _SCOPE_LOGS else None
        self._logs.append(log)
        if log is not None:
            log.stack.append((self.name, len(log.tape)))
        return self

    def __exit__(self, *exc) -> bool:
        log = self._logs.pop()
        if log is not None:
            name, start = log.stack.pop()
            path = "/".join([n for n, _ in log.stack] + [name])
            log.ranges.append((path, start, len(log.tape)))
        return False

    def __call__(self, fun: Callable) -> Callable:
        @functools.wraps(fun)
        def scoped(*args, **kwargs):
            with scope(self.name):
                return fun(*args, **kwargs)

        return scoped

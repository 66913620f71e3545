"""The arguments that ``chainrule.jit(f, static_argnums=..., static_argnames=...)`` keeps
static, with JAX's meaning.

A static argument is not traced: the function gets it as it is (a NumPy scalar stays a
NumPy scalar, a tuple a tuple), and its value is part of the key of the recorded programs,
so that each value traces once. It must be hashable. As in JAX, positions and names
complete each other through the function's signature (``static_argnums=1`` of ``f(x, n)``
makes ``f(x, n=3)`` static too), a negative position counts from the end of the
positional parameters (of the call's positional arguments for ``f(*args)``), and a
position or name that the signature does not have is an error when ``jit`` is applied.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from chainrule.transforms.arguments import Static, strict_key

__all__ = ["StaticArguments", "unwrap_static"]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _as_tuple(value, kind: type, name: str) -> tuple:
    items = (value,) if isinstance(value, kind) else tuple(value)
    for v in items:
        if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
            raise TypeError(f"chainrule.jit: {name} takes {'ints' if kind is int else 'strings'} "
                            f"or a sequence of them, got {value!r}")
    return items


class StaticArguments:
    """Which arguments of ``fun`` are static, and how a call marks them."""

    def __init__(self, fun: Callable, static_argnums=(), static_argnames=(), donate_argnums=()):
        nums = _as_tuple(static_argnums, int, "static_argnums")
        names = _as_tuple(static_argnames, str, "static_argnames")
        label = getattr(fun, "__name__", "the function")
        try:
            params = list(inspect.signature(fun).parameters.values())
        except (TypeError, ValueError):  # a builtin or other callable without a signature
            params = None
        positional = [p.name for p in params or () if p.kind in _POSITIONAL]
        varargs = params is None or any(p.kind is p.VAR_POSITIONAL for p in params)
        varkw = params is None or any(p.kind is p.VAR_KEYWORD for p in params)
        resolved = set()
        for i in nums:
            if not varargs:
                if not -len(positional) <= i < len(positional):
                    raise ValueError(
                        f"chainrule.jit: static_argnums={nums} but {label} takes "
                        f"{len(positional)} positional argument(s); positions run from "
                        f"{-len(positional)} to {len(positional) - 1}")
                i %= len(positional)
            resolved.add(i)
        if params is not None and not varkw:
            known = {p.name for p in params if p.kind is not p.POSITIONAL_ONLY}
            unknown = sorted(set(names) - known)
            if unknown:
                raise ValueError(f"chainrule.jit: static_argnames names {unknown}, which "
                                 f"{label} does not take as keyword argument(s)")
        names = set(names)
        for i, name in enumerate(positional):  # JAX's completion through the signature
            if i in resolved and params[i].kind is not inspect.Parameter.POSITIONAL_ONLY:
                names.add(name)
            if name in names:
                resolved.add(i)
        donated = {d % len(positional) if not varargs and positional else d for d in donate_argnums}
        clash = sorted(resolved & donated)
        if clash:
            raise ValueError(f"chainrule.jit: argument(s) {clash} are both static and donated; "
                             "a static argument is a constant of the program, not memory to reuse")
        self.nums = frozenset(resolved)
        self.names = frozenset(names)

    def __bool__(self) -> bool:
        return bool(self.nums or self.names)

    def mark(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """``args`` and ``kwargs`` with each static argument wrapped as a :class:`Static`
        (a key by value); a clear error for one that cannot be hashed."""
        n = len(args)
        if self.nums:
            args = tuple(_static(a, f"argument {i}") if i in self.nums or i - n in self.nums else a
                         for i, a in enumerate(args))
        if self.names and kwargs:
            kwargs = {k: _static(v, f"argument {k!r}") if k in self.names else v
                      for k, v in kwargs.items()}
        return args, kwargs


def _static(value, where: str) -> Static:
    try:
        key = strict_key(value)
        hash(key)
    except TypeError as e:  # unhashable, at any depth
        raise ValueError(
            f"chainrule.jit: static {where} must be hashable (it is part of the key of the "
            f"recorded programs), but a {type(value).__name__} is not ({e}). Pass arrays and "
            "lists as ordinary (traced) arguments, or a tuple instead of a list."
        ) from None
    return Static(value, key)


def unwrap_static(x):
    """The value of a :class:`Static`; anything else as it is."""
    return x.value if type(x) is Static else x

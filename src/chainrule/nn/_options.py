"""The base of the parameterless layers that call one ``nn.functional`` function with
their constructor's options (PyTorch's constructor arguments, in PyTorch's order)."""

from __future__ import annotations

import inspect
import numbers

import numpy as np

from chainrule.nn.module import Module


class _Options(Module):
    """A layer whose ``forward(*inputs)`` is ``_fn(*inputs, **options)``; ``_names`` are
    the options in the constructor's order (the function's keyword names), ``_defaults``
    the defaults of those that have one.

    A subclass that writes no ``__init__`` of its own gets one with PyTorch's constructor
    signature (its options, then ``inplace`` where it takes one), which ``inspect`` shows."""

    _fn = None
    _names: tuple[str, ...] = ()
    _defaults: dict = {}
    _inplace = False  # PyTorch's constructor ends with inplace: it may come positionally
    _shown: tuple[str, ...] | None = None  # the options the repr shows, as PyTorch's (None: all)
    _check = None  # a check of the options, raising where they are wrong

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if getattr(cls.__init__, "takes_options", False):
            cls.__init__ = _init_taking_options(cls)

    def __init__(self, *args, **kwargs):
        super().__init__()
        if self._inplace and len(args) == len(self._names) + 1:
            *args, kwargs["inplace"] = args
        inplace = kwargs.get("inplace", False)
        # True or False, as PyTorch's layers take it (1 and 0 too): anything else is an argument
        # given in the wrong place (a generator where inplace stands)
        if not (isinstance(inplace, bool | numbers.Integral | np.bool_) and inplace in (0, 1)):
            raise TypeError(f"{type(self).__name__}: inplace must be True or False, got {inplace!r}")
        if len(args) > len(self._names):
            raise TypeError(f"{type(self).__name__} takes at most {len(self._names)} arguments")
        values = dict(zip(self._names, args, strict=False))
        self.inplace = bool(inplace)
        for k, v in kwargs.items():
            if k == "inplace" and self._inplace:
                continue  # PyTorch's inplace=True: the result written into an eager input
            if k not in self._names or k in values:
                raise TypeError(f"{type(self).__name__} got an unexpected or repeated argument {k!r}")
            values[k] = v
        for k in self._names:
            if k not in values and k not in self._defaults:
                raise TypeError(f"{type(self).__name__} is missing the argument {k!r}")
            setattr(self, k, values.get(k, self._defaults.get(k)))
        if self._check is not None:
            type(self)._check(self)

    __init__.takes_options = True

    def forward(self, *inputs):
        options = {k: getattr(self, k) for k in self._names}
        if self.inplace:
            options["inplace"] = True
        return type(self)._fn(*inputs, **options)

    def extra_repr(self) -> str:
        """The options as PyTorch's layers show them: ``name=value``, a string quoted."""
        shown = self._names if self._shown is None else self._shown
        parts = [f"{k}={getattr(self, k)!r}" if isinstance(getattr(self, k), str) else f"{k}={getattr(self, k)}"
                 for k in shown]
        return ", ".join(parts + (["inplace=True"] if self.inplace else []))


def _init_taking_options(cls: type) -> object:
    """``_Options.__init__`` for ``cls``, signed with its options (``inspect.signature(cls)``
    shows PyTorch's constructor, not ``*args, **kwargs``)."""

    def __init__(self, *args, **kwargs):
        _Options.__init__(self, *args, **kwargs)

    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [inspect.Parameter("self", positional)]
    parameters += [inspect.Parameter(name, positional, default=cls._defaults.get(name, inspect.Parameter.empty))
                   for name in cls._names]
    if cls._inplace:
        parameters.append(inspect.Parameter("inplace", positional, default=False))
    __init__.__signature__ = inspect.Signature(parameters)
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.takes_options = True
    return __init__

"""The base of the parameterless layers that call one ``nn.functional`` function with
their constructor's options (PyTorch's constructor arguments, in PyTorch's order)."""

from __future__ import annotations

from chainrule.nn.module import Module


class _Options(Module):
    """A layer whose ``forward(*inputs)`` is ``_fn(*inputs, **options)``; ``_names`` are
    the options in the constructor's order (the function's keyword names), ``_defaults``
    the defaults of those that have one."""

    _fn = None
    _names: tuple[str, ...] = ()
    _defaults: dict = {}
    _inplace = False  # PyTorch's constructor ends with inplace: it may come positionally
    _shown: tuple[str, ...] | None = None  # the options the repr shows, as PyTorch's (None: all)
    _check = None  # a check of the options, raising where they are wrong

    def __init__(self, *args, **kwargs):
        super().__init__()
        if self._inplace and len(args) == len(self._names) + 1:
            *args, kwargs["inplace"] = args
        if not isinstance(kwargs.get("inplace", False), bool):
            raise TypeError(f"{type(self).__name__}: inplace must be True or False, got {kwargs['inplace']!r}")
        if len(args) > len(self._names):
            raise TypeError(f"{type(self).__name__} takes at most {len(self._names)} arguments")
        values = dict(zip(self._names, args, strict=False))
        self.inplace = bool(kwargs.get("inplace", False))
        for k, v in kwargs.items():
            if k == "inplace" and "inplace" not in self._names:
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

    def forward(self, *inputs):
        options = {k: getattr(self, k) for k in self._names}
        if self.inplace:
            options["inplace"] = True
        return type(self)._fn(*inputs, **options)

    def extra_repr(self) -> str:
        shown = self._names if self._shown is None else self._shown
        parts = [f"{k}={getattr(self, k)!r}" for k in shown]
        return ", ".join(parts + (["inplace=True"] if self.inplace else []))

"""The containers: ``Sequential``, ``ModuleList`` and ``ModuleDict`` of sub-modules, and
``ParameterList`` and ``ParameterDict`` of parameters, each registering what it holds so
that ``parameters()``, ``state_dict()`` and the optimizers find it (keys ``0``, ``1``, ...
or the dict's own, as in PyTorch).

>>> from chainrule import nn
>>> scales = nn.ParameterList([nn.Parameter(np.ones(2)), np.zeros(3)])
>>> sorted(scales.state_dict()), type(scales[1]).__name__
(['0', '1'], 'Parameter')
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from chainrule.core.tensor import Tensor
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Container"]


class _ModuleSequence(Module):
    """What Sequential and ModuleList share: a list of sub-modules, registered under
    ``0``, ``1``, ... and numbered again after an insertion or a deletion, as PyTorch's."""

    def _renumber(self, mods: list[Module]) -> None:
        for name in list(self._modules):
            self.__dict__.pop(name, None)
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), _check_module(m))

    def __getitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return type(self)().extend(mods[idx])
        return mods[idx]

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules)[idx]  # an IndexError past the end, as a list's
        self.add_module(key, _check_module(module))

    def __delitem__(self, idx) -> None:
        mods = list(self._modules.values())
        del mods[idx]
        self._renumber(mods)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __add__(self, other: _ModuleSequence):
        """A new container of both's modules (the modules themselves, not copies)."""
        if not isinstance(other, _ModuleSequence):
            return NotImplemented
        joined = type(self)()
        return joined.extend([*self, *other])

    def __iadd__(self, other: Iterable[Module]):
        return self.extend(other)

    def append(self, module: Module):
        self.add_module(str(len(self._modules)), _check_module(module))
        return self

    def extend(self, modules: Iterable[Module]):
        for m in list(modules):
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        mods = list(self._modules.values())
        mods.insert(index, _check_module(module))
        self._renumber(mods)

    def pop(self, index: int = -1) -> Module:
        module = self[index]
        del self[index]
        return module


class Sequential(_ModuleSequence):
    """Modules applied one after the other; indexed, sliced, appended to, inserted into
    and deleted from as PyTorch's (``seq[1:]`` is a Sequential of the same modules).

    >>> import numpy as np
    >>> from chainrule import nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> net(np.ones((5, 4), dtype=np.float32)).shape
    torch.Size([5, 2])
    >>> net
    Sequential(
      (0): Linear(in_features=4, out_features=8, bias=True)
      (1): ReLU()
      (2): Linear(in_features=8, out_features=2, bias=True)
    )
    """

    def __init__(self, *modules: Module):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, m in modules[0].items():
                self.add_module(str(name), _check_module(m))
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), _check_module(m))

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, idx):
        if isinstance(idx, slice):  # the names kept, as PyTorch's
            return Sequential(dict(list(self._modules.items())[idx]))
        return super().__getitem__(idx)

    def insert(self, index: int, module: Module) -> Sequential:
        """Put ``module`` before position ``index`` (from -len to len, as PyTorch's); returns self."""
        if not -len(self) <= index <= len(self):
            raise IndexError(f"Sequential.insert: index {index} is out of range for {len(self)} modules")
        super().insert(index, module)
        return self

    def __mul__(self, times: int) -> Sequential:
        """A Sequential of these modules (the same objects) ``times`` over, as PyTorch's."""
        if not isinstance(times, int) or isinstance(times, bool):
            return NotImplemented
        if times <= 0:
            raise ValueError(f"Non-positive multiplication factor {times} for Sequential")
        return Sequential(*(list(self) * times))

    __rmul__ = __mul__

    def __imul__(self, times: int) -> Sequential:
        joined = self * times
        if joined is NotImplemented:
            return NotImplemented
        return self.extend(list(joined)[len(self):])


def _check_module(m):
    if not isinstance(m, Module):
        raise TypeError(f"expected a Module, got {type(m).__name__}")
    return m


class ModuleList(_ModuleSequence):
    """A list of sub-modules, registered (so their parameters are found).

    >>> from chainrule import nn
    >>> blocks = nn.ModuleList([nn.Linear(3, 3) for _ in range(2)])
    >>> len(list(blocks.parameters()))
    4
    """

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __repr__(self) -> str:
        """As PyTorch prints it: a run of sub-modules that print alike as one line,
        ``(0-5): 6 x TransformerEncoderLayer(...)``."""
        reprs = [repr(m) for m in self._modules.values()]
        if not reprs:
            return f"{type(self).__name__}()"
        runs: list[list] = []  # [first, last, repr]
        for i, r in enumerate(reprs):
            if runs and runs[-1][2] == r:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        lines = [(f"({a}): {r}" if a == b else f"({a}-{b}): {b - a + 1} x {r}").replace("\n", "\n  ")
                 for a, b, r in runs]
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class _Registered(Module):
    """Dict access to one of a Module's registries (``_modules`` or ``_parameters``)."""

    _registry = "_modules"

    def _entries(self) -> dict:
        return getattr(self, self._registry)

    def __getitem__(self, key: str):
        return self._entries()[key]

    def __delitem__(self, key: str) -> None:
        self.__delattr__(key)

    def __contains__(self, key) -> bool:
        return key in self._entries()

    def __len__(self) -> int:
        return len(self._entries())

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries())

    def keys(self):
        return self._entries().keys()

    def values(self):
        return self._entries().values()

    def items(self):
        return self._entries().items()


class ModuleDict(_Registered):
    """A dict of sub-modules, registered under their keys.

    >>> from chainrule import nn
    >>> heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
    >>> sorted(heads.keys())
    ['a', 'b']
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _check_module(module))

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        for key in list(self.keys()):
            del self[key]

    def update(self, modules) -> None:
        """Add or replace entries from a mapping or a sequence of ``(key, module)`` pairs,
        in their order."""
        if isinstance(modules, Mapping | ModuleDict):
            pairs = modules.items()
        elif isinstance(modules, Iterable):
            pairs = modules
        else:
            raise TypeError("ModuleDict.update should be called with an iterable of key/value pairs, but got "
                            f"{type(modules).__name__}")
        for i, pair in enumerate(pairs):
            if not (isinstance(pair, Iterable) and len(pair := tuple(pair)) == 2):
                raise ValueError(f"ModuleDict update sequence element #{i} is not a (key, module) pair: {pair!r}")
            self[pair[0]] = pair[1]


def _as_entry(value):
    """What a parameter container holds for ``value``: a Parameter or a Module as it is, an
    array or a Tensor made into a Parameter (as PyTorch's containers do with a plain
    tensor), any other object as it is (PyTorch keeps numbers, strings and None so, and
    registers them nowhere)."""
    if isinstance(value, Parameter | Module):
        return value
    if isinstance(value, Tensor):
        value = value.detach().numpy()
    if isinstance(value, np.ndarray | np.generic):
        return Parameter(np.array(value))
    return value


def _entry_repr(key, p, dtype_name: bool) -> str:
    """PyTorch's line for one entry of a parameter container (its ParameterList names the
    dtype, its ParameterDict the Tensor type)."""
    if isinstance(p, Tensor):
        kind = "Parameter" if isinstance(p, Parameter) else "Tensor"
        name = f"torch.{p.dtype}" if dtype_name else p.type().replace("chainrule.", "torch.")
        return f"  ({key}): {kind} containing: [{name} of size {_size(p)}]"
    return f"  ({key}): Object of type: {type(p).__name__}"


def _size(p) -> str:
    return "x".join(map(str, p.shape))


class ParameterList(Module):
    """A list of parameters, registered under ``0``, ``1``, ...; arrays and Tensors
    appended become Parameters, other objects (numbers, strings, None) are kept as they
    are and registered nowhere, as in PyTorch.

    >>> from chainrule import nn
    >>> ws = nn.ParameterList([np.ones((2, 2)) for _ in range(3)])
    >>> len(ws), len(list(ws.parameters()))
    (3, 3)
    """

    def __init__(self, values: Iterable[Any] | None = None):
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def _items(self) -> list:
        return [getattr(self, str(i)) for i in range(self._size)]

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList(self._items()[idx])
        return self._items()[idx]

    def __setitem__(self, idx: int, value) -> None:
        if not -self._size <= idx < self._size:
            raise IndexError(f"index {idx} is out of range for a ParameterList of {self._size}")
        setattr(self, str(idx % self._size), _as_entry(value))  # a Parameter's place takes a Parameter or None

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items())

    def append(self, value) -> ParameterList:
        setattr(self, str(self._size), _as_entry(value))
        self._size += 1
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_entry_repr(i, p, True) for i, p in enumerate(self))  # PyTorch's


class ParameterDict(Module):
    """A dict of parameters, registered under their keys; arrays and Tensors become
    Parameters, other objects are kept as they are and registered nowhere, as in PyTorch.

    >>> from chainrule import nn
    >>> d = nn.ParameterDict({"shift": np.zeros(3), "scale": np.ones(3)})
    >>> list(d.keys())  # a plain dict's entries sorted by key, as in PyTorch
    ['scale', 'shift']
    """

    def __init__(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None):
        super().__init__()
        self._keys: dict[str, None] = {}
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str):
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(f"ParameterDict keys are non-empty strings without '.', got {key!r}")
        self._keys[key] = None
        setattr(self, key, _as_entry(value))

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        self.__delattr__(key)

    def __contains__(self, key) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __reversed__(self) -> Iterator[str]:
        return reversed(self._keys)

    def keys(self):
        return self._keys.keys()

    def values(self):
        return [self[k] for k in self._keys]

    def items(self):
        return [(k, self[k]) for k in self._keys]

    def get(self, key: str, default=None):
        return self[key] if key in self._keys else default

    def pop(self, key: str):
        value = self[key]
        del self[key]
        return value

    def setdefault(self, key: str, default=None):
        if key not in self._keys:
            self[key] = default
        return self[key]

    def popitem(self) -> tuple[str, Any]:
        key = next(reversed(self._keys))
        return key, self.pop(key)

    def clear(self) -> None:
        for key in list(self._keys):
            del self[key]

    def copy(self) -> ParameterDict:
        return ParameterDict(OrderedDict(self.items()))

    def fromkeys(self, keys: Iterable[str], default=None) -> ParameterDict:
        """A new ParameterDict of ``keys``, each holding ``default`` (PyTorch's)."""
        return ParameterDict((k, default) for k in keys)

    def __or__(self, other: ParameterDict) -> ParameterDict:
        """A copy with ``other``'s entries added or replaced (PyTorch's ``d | other``)."""
        if not isinstance(other, ParameterDict):
            return NotImplemented
        joined = self.copy()
        joined.update(other)
        return joined

    def __ror__(self, other: ParameterDict) -> ParameterDict:
        if not isinstance(other, ParameterDict):
            return NotImplemented
        joined = other.copy()
        joined.update(self)
        return joined

    def __ior__(self, other) -> ParameterDict:
        self.update(other)
        return self

    def update(self, parameters) -> None:
        """Add or replace entries, in order: a plain dict's sorted by key (PyTorch's rule,
        so that state_dict keys agree with its), an OrderedDict's, a ParameterDict's or
        a sequence of pairs' as given."""
        if isinstance(parameters, OrderedDict | ParameterDict):
            pairs = parameters.items()
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())
        else:
            pairs = parameters
        for k, v in pairs:
            self[k] = v

    def extra_repr(self) -> str:
        return "\n".join(_entry_repr(k, p, False) for k, p in self.items())  # PyTorch's


class Container(Module):
    """PyTorch's deprecated ``nn.Container`` (with its FutureWarning): a Module holding the
    sub-modules given by keyword."""

    def __init__(self, **kwargs):
        warnings.warn("`nn.Container` is deprecated. All of its functionality is now implemented in `nn.Module`. "
                      "Subclass that instead.", FutureWarning, stacklevel=2)
        super().__init__()
        for key, value in kwargs.items():
            self.add_module(key, value)

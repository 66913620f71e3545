"""``Module``: the base class of layers and models (the containers built on it are in
:mod:`chainrule.nn.containers`).

A Module registers the :class:`~chainrule.nn.Parameter` objects and sub-Modules that are
assigned to its attributes, so that ``parameters()``, ``state_dict()``, ``train()`` and
the optimizers find them. It is also a pytree (as in Equinox): its children are its
parameters and sub-modules, everything else is static. So a transform can take a whole
model as an argument,

>>> import numpy as np, chainrule as cr
>>> from chainrule import nn
>>> model = nn.Linear(3, 2, dtype=np.float64)
>>> grads = cr.grad(lambda m, x: (m(x) ** 2).sum())(model, np.ones((4, 3)))
>>> grads.weight.shape, type(grads).__name__
((2, 3), 'Linear')

and the gradient comes back shaped like the model, its parameters replaced by arrays.
"""

from __future__ import annotations

import copy
import struct
import types
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from chainrule.core.eager import EAGER
from chainrule.core.pytree import register_pytree_node
from chainrule.core.tensor import Tensor
from chainrule.nn._module_convert import ModuleConversions, mark_modified
from chainrule.nn._module_hooks import HOOK_STORES, ModuleHooks
from chainrule.nn._module_state import IncompatibleKeys, ModuleStateDict, StateDictError
from chainrule.nn.parameter import Buffer, Parameter

__all__ = [
    "Module",
    "StateDictError",
    "IncompatibleKeys",
    "mark_modified",
]

_REGISTRIES = ("_parameters", "_buffers", "_modules")


def _as_buffer(value, what: str):
    """``value`` as the Tensor a buffer holds (an array or a number is taken, as a Tensor)."""
    if value is None or isinstance(value, Tensor):
        return value
    array = np.asarray(value)
    if array.dtype.kind not in "biufc":
        raise TypeError(f"cannot assign a {type(value).__name__} to {what}: a Tensor, an array or None is expected")
    return Tensor(array, EAGER)


class Module(ModuleHooks, ModuleStateDict, ModuleConversions):
    """Base class of every layer and model: subclass it, assign parameters and
    sub-modules in ``__init__``, and compute the output in ``forward``.

    >>> import numpy as np
    >>> from chainrule import nn
    >>> class MLP(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = nn.Linear(4, 8)
    ...         self.out = nn.Linear(8, 2)
    ...     def forward(self, x):
    ...         return self.out(self.hidden(x).tanh())
    >>> [name for name, _ in MLP().named_parameters()]
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    """

    training: bool
    _version: int = 1  # PyTorch's: the state dict's _metadata version of the module's class

    @property
    def _non_persistent_buffers_set(self) -> set[str]:
        """PyTorch's name of the set of buffers that ``state_dict`` leaves out (the same set)."""
        return self.__dict__["_non_persistent"]

    def __init__(self) -> None:
        d = self.__dict__
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent"] = set()
        d["_modules"] = {}
        d["training"] = True
        for kind in HOOK_STORES:  # PyTorch's: the hooks under their handles' ids
            d[kind] = OrderedDict()
        d["_is_full_backward_hook"] = None

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        _register_pytree(cls)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward() method")

    # -- registration -------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if params is None:
            if isinstance(value, Parameter | Module):
                raise AttributeError(
                    f"cannot assign {type(value).__name__} '{name}' before Module.__init__() "
                    "has run: call super().__init__() first in your __init__"
                )
            object.__setattr__(self, name, value)
            return
        modules, buffers = d["_modules"], d["_buffers"]
        if isinstance(value, Buffer):  # PyTorch's nn.Buffer: registered as a buffer
            self.register_buffer(name, value, value.persistent)
            return
        if isinstance(value, Parameter):
            self._forget(name, keep="_parameters")
            params[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to parameter '{name}' of "
                    f"{type(self).__name__}: wrap it in nn.Parameter (or assign None, or del it first)"
                )
            params[name] = None
        elif isinstance(value, Module):
            self._forget(name, keep="_modules")
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to sub-module '{name}' of "
                    f"{type(self).__name__}: a Module (or None) is expected"
                )
            modules[name] = None
        elif name in buffers:
            value = _as_buffer(value, f"buffer '{name}' of {type(self).__name__}")
            buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._forget(name)
        object.__delattr__(self, name)

    # -- state for chainrule.jit ----------------------------------------------------------
    def __jit_state__(self) -> dict[str, Any]:
        """The arrays this module reads and may write that are not pytree children: its
        buffers (running statistics) and plain ndarray attributes. ``chainrule.jit``
        passes them to the recorded program as inputs, so their values (not only their
        shapes) reach each replay, and in-place updates of them are replayed."""
        d = self.__dict__
        state = {k: v for k, v in d["_buffers"].items() if v is not None}
        params = d["_parameters"]  # (arrays, in a model that a step returned: pytree children)
        for k, v in d.items():
            if isinstance(v, np.ndarray) and k not in state and k not in params:
                state[k] = v
        return state

    def __jit_set_state__(self, name: str, value) -> None:
        """Put ``value`` (a traced value) in place of state ``name`` of this module, a
        pytree-rebuilt copy (its registries are shared with the original: copied here)."""
        d = self.__dict__
        if name in d["_buffers"]:
            d["_buffers"] = {**d["_buffers"], name: value}
        d[name] = value

    def _forget(self, name: str, keep: str | None = None) -> None:
        """Take ``name`` out of the registries, but ``keep``'s: a module or parameter
        assigned again keeps its place there (``model.fc = nn.Linear(...)``), as in
        PyTorch, so the order of parameters() and state_dict() does not change."""
        d = self.__dict__
        for reg in _REGISTRIES:
            if reg != keep:
                d[reg].pop(name, None)
        d["_non_persistent"].discard(name)

    def _check_new_name(self, name, registry: str, kind: str) -> None:
        """PyTorch's refusals of ``name`` for a new ``kind`` (parameter, buffer, module):
        not a string, empty, dotted (its state_dict key would name a submodule), or taken
        by an attribute that is not already one of ``registry``'s."""
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} '{name}' before Module.__init__() has run: "
                                 "call super().__init__() first in your __init__")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{kind} name can't be empty or contain \".\", got {name!r}")
        if hasattr(self, name) and name not in self.__dict__[registry]:
            raise KeyError(f"attribute '{name}' already exists: delete it first (del module.{name})")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or a None placeholder) under ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: expected a Parameter or None, got {type(param)}")
        self._check_new_name(name, "_parameters", "parameter")
        self._forget(name, keep="_parameters")
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Register a state array that is not trained (running statistics, say); it goes
        into ``state_dict()`` unless ``persistent=False``.

        >>> import numpy as np
        >>> from chainrule import nn
        >>> m = nn.Module(); m.register_buffer("count", np.zeros(()))
        >>> list(m.state_dict())
        ['count']
        """
        if isinstance(tensor, Parameter):
            raise TypeError(f"register_buffer: '{name}' is a Parameter; use register_parameter")
        self._check_new_name(name, "_buffers", "buffer")
        self._forget(name, keep="_buffers")
        tensor = _as_buffer(tensor, f"buffer '{name}' of {type(self).__name__}")
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` under ``name`` (which need not be an identifier, but has no dot)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: expected a Module, got {type(module).__name__}")
        self._check_new_name(name, "_modules", "module")
        self._forget(name, keep="_modules")
        self._modules[name] = module
        object.__setattr__(self, name, module)

    # -- traversal -------------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """This module and all below it, with their dotted names: a module reached by two
        paths once, or (``remove_duplicate=False``) under each, as PyTorch's."""
        if remove_duplicate:
            memo = set() if memo is None else memo
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their names; one registered under two names comes
        once, under the first (as PyTorch's; ``named_modules(remove_duplicate=False)`` has both)."""
        seen: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool = True):
        seen: set[int] = set()
        mods = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse
                else [(prefix, self)])
        for mod_prefix, m in mods:
            for name, v in m.__dict__[registry].items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), v

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs: this module's own first, then each
        sub-module's in the order they were assigned; a shared parameter appears once
        (under each of its names with ``remove_duplicate=False``)."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters, in the order of :meth:`named_parameters` (give them to an
        optimizer)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- lookup by dotted path ----------------------------------------------------------------
    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target`` (``'0.weight'``), as PyTorch's."""
        prefix, _, name = target.rpartition(".")
        module = self.get_submodule(prefix)
        if name not in module._parameters:
            raise AttributeError(f"{type(module).__name__} has no parameter {name!r} (looking for {target!r})")
        return module._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path ``target`` (``'1.running_mean'``), as PyTorch's."""
        prefix, _, name = target.rpartition(".")
        module = self.get_submodule(prefix)
        if name not in module._buffers:
            raise AttributeError(f"{type(module).__name__} has no buffer {name!r} (looking for {target!r})")
        return module._buffers[name]

    def register_module(self, name: str, module: Module | None) -> None:
        """PyTorch's other name for :meth:`add_module`."""
        self.add_module(name, module)

    def get_submodule(self, target: str) -> Module:
        """The sub-module at the dotted path ``target`` ('' is this module).

        >>> from chainrule import nn
        >>> type(nn.Sequential(nn.Linear(2, 2), nn.ReLU()).get_submodule("1")).__name__
        'ReLU'
        """
        m = self
        for part in target.split(".") if target else []:
            if part not in m._modules:
                raise AttributeError(f"{type(m).__name__} has no sub-module {part!r} (looking for {target!r})")
            m = m._modules[part]
        return m

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Put ``module`` at the dotted path ``target``, whose parent must exist; the last
        name may be new unless ``strict``, and may not name an attribute that is not a
        Module (PyTorch's, with its errors).

        >>> from chainrule import nn
        >>> seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
        >>> seq.set_submodule("1", nn.Tanh()); seq[1]
        Tanh()
        """
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent_key, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_key)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{parent._get_name()} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    # -- copying and printing ---------------------------------------------------------------
    def __deepcopy__(self, memo):
        memo.setdefault(id(EAGER), EAGER)  # Tensors stay on the one eager trace
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            if isinstance(v, np.random.Generator):
                # a random stream (a dropout layer's rng=) is shared, as PyTorch's copies share its one
                # generator: a copy of the generator would draw the original's masks again
                memo.setdefault(id(v), v)
            new.__dict__[k] = copy.deepcopy(v, memo)
        return new

    def extra_repr(self) -> str:
        """The text between the parentheses of this module's line in ``repr``."""
        return ""

    def _get_name(self) -> str:  # PyTorch's name for it, which custom __repr__ methods call
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        if len(lines) <= 1 and not children:  # PyTorch's: one line of options, no children
            return f"{type(self).__name__}({extra})"
        inner = "\n  ".join(lines + children)
        return f"{type(self).__name__}(\n  {inner}\n)"


# -- Module as a pytree ---------------------------------------------------------------------
class _Static:
    """The non-parameter attributes of a module, as pytree metadata.

    Two are equal when they describe the same structure: the same names, scalars and
    strings equal (floats by their bits: 0.0 is not -0.0), arrays of equal shape and
    dtype, lists, tuples, dicts and sets by their items, the user's objects by identity
    and their attributes, other objects identical; all as they were when the module was
    flattened (a dict attribute changed in place since, or a second forward hook
    appended, is another structure, so ``chainrule.jit`` traces such a call again).
    """

    __slots__ = ("fields", "frozen")

    def __init__(self, fields: dict):
        self.fields = fields
        frozen = {}
        for k, v in fields.items():
            t = type(v)
            frozen[k] = (t, v) if t in _BY_VALUE else _frozen(v, 1)
        self.frozen = frozen

    def __eq__(self, other) -> bool:
        return isinstance(other, _Static) and self.frozen == other.frozen

    __hash__ = None  # type: ignore[assignment]

    def __jit_arrays__(self) -> list:
        """The arrays held in the module's lists, dicts, tuples and config objects (lookup
        tables, masks), as they are now: a program reads them where they are, so
        ``chainrule.jit`` keys a call on them by identity and bytes (a plain ndarray
        attribute is a program input instead, and the structure compares shapes only)."""
        found: list = []
        for k, v in self.fields.items():
            if (type(v) not in _NO_ARRAYS and k != "_buffers" and not isinstance(v, np.ndarray)
                    and not (type(v) in _CONTAINERS and not v)):
                _nested_arrays(v, found, 1)  # (buffers and ndarray attributes: program inputs)
        return found


_NO_ARRAYS = frozenset((bool, int, float, str, bytes, type(None), set))
_CONTAINERS = frozenset((dict, OrderedDict, list, tuple))


def _nested_arrays(v, into: list, depth: int) -> None:
    if isinstance(v, np.ndarray):
        into.append(v)
    elif type(v) in _NO_ARRAYS or depth > _FROZEN_DEPTH or isinstance(v, Tensor | Module | types.ModuleType):
        return
    elif isinstance(v, list | tuple):
        for x in v:
            _nested_arrays(x, into, depth + 1)
    elif isinstance(v, dict):
        for x in v.values():
            _nested_arrays(x, into, depth + 1)
    elif type(getattr(v, "__dict__", None)) is dict and not callable(v):
        for x in vars(v).values():  # a config object of the user's
            _nested_arrays(x, into, depth + 1)


class _Identity:
    """An object compared by identity inside a frozen description."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other) -> bool:
        return type(other) is _Identity and other.obj is self.obj

    __hash__ = None  # type: ignore[assignment]


_BY_VALUE = frozenset((bool, int, str, bytes, type(None)))
_pack_double = struct.Struct("<d").pack
# how deep containers and objects are described, and from what length a list or tuple is
# copied as it is rather than item by item
_FROZEN_DEPTH = 6
_FROZEN_LONG = 64


def _frozen(v, depth: int):
    """What :class:`_Static` compares of an attribute: a description of ``v`` as it is now
    (a copy of a container's items, not the container)."""
    t = type(v)
    if t in _BY_VALUE:
        return (t, v)
    exact = _FREEZE.get(t)
    if exact is not None:
        return exact(v, t, depth)
    if isinstance(v, Tensor | np.ndarray):
        return (t, v.shape, v.dtype)
    if isinstance(v, np.generic):
        return (t, v.dtype, v.tobytes())
    if depth > _FROZEN_DEPTH:
        return _Identity(v)
    for kind, freeze in _FREEZE_KINDS:
        if isinstance(v, kind):
            return freeze(v, t, depth)
    fields = getattr(v, "__dict__", None)
    if type(fields) is dict and not callable(v) and not isinstance(v, types.ModuleType | Module):
        return (_Identity(v), _frozen(fields, depth + 1))  # a config object of the user's
    return _Identity(v)


def _frozen_dict(v, t, depth: int):
    if depth > _FROZEN_DEPTH:
        return _Identity(v)
    return (t, {k: (type(x), x) if type(x) in _BY_VALUE else _frozen(x, depth + 1) for k, x in v.items()})


def _frozen_ordered(v, t, depth: int):
    """An OrderedDict (a module's hooks) by its items in their order."""
    frozen = _frozen_dict(v, t, depth)
    return frozen if isinstance(frozen, _Identity) else (t, tuple(frozen[1].items()))


def _frozen_sequence(v, t, depth: int):
    if depth > _FROZEN_DEPTH:
        return _Identity(v)
    if len(v) > _FROZEN_LONG:  # items by value, arrays by shape, others by identity
        return (t, tuple([x if type(x) in _BY_VALUE
                          else (type(x), x.shape, x.dtype) if isinstance(x, Tensor | np.ndarray)
                          else _Identity(x) for x in v]))
    return (t, tuple([(type(x), x) if type(x) in _BY_VALUE else _frozen(x, depth + 1) for x in v]))


_FREEZE_KINDS = [
    (dict, _frozen_dict),
    (list | tuple, _frozen_sequence),
    (set | frozenset, lambda v, t, depth: (t, frozenset(v))),
]
_FREEZE = {
    float: lambda v, t, depth: (t, _pack_double(v)),
    complex: lambda v, t, depth: (t, _pack_double(v.real), _pack_double(v.imag)),
    Tensor: lambda v, t, depth: (t, v.shape, v.dtype),
    np.ndarray: lambda v, t, depth: (t, v.shape, v.dtype),
    dict: _frozen_dict,
    OrderedDict: _frozen_ordered,
    list: _frozen_sequence,
    tuple: _frozen_sequence,
    set: lambda v, t, depth: (t, frozenset(v)),
    frozenset: lambda v, t, depth: (t, v),
}


def _flatten_module(m: Module):
    d = m.__dict__
    params, modules = d["_parameters"], d["_modules"]
    static = {
        k: v for k, v in d.items() if k not in params and k not in modules and k not in ("_parameters", "_modules")
    }
    children = (*params.values(), *modules.values())
    return children, (tuple(params), tuple(modules), _Static(static))


def _unflatten_module(cls, aux, children):
    pnames, mnames, static = aux
    obj = cls.__new__(cls)
    d = obj.__dict__
    d.update(static.fields)
    params = dict(zip(pnames, children[: len(pnames)], strict=True))
    modules = dict(zip(mnames, children[len(pnames) :], strict=True))
    d["_parameters"] = params
    d["_modules"] = modules
    d.update(params)
    d.update(modules)
    return obj


def _register_pytree(cls: type) -> None:
    register_pytree_node(cls, _flatten_module, lambda aux, children: _unflatten_module(cls, aux, children))


_register_pytree(Module)

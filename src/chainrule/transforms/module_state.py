"""The Python state that a function :func:`chainrule.jit` traces reads and writes.

Besides arrays, a traced function reads and writes Python state: the Modules among its
arguments (their attributes and their registries of buffers, parameters and submodules),
the lists and dicts it is given, the attributes of other objects among them. This module
watches that state around a trace (:class:`WatchedState`: what it was before the call, and
whether the call changed it, which a replay would not do again) and puts it back as the
plain call leaves it, so that a call that raises while tracing leaves the caller's state
as the plain call would. It also sets the state (buffers) of the Modules that a replay
returns, and counts the writes into the caller's eager Tensors.
"""

from __future__ import annotations

import collections
import types

import numpy as np

from chainrule.core.eager import count_write
from chainrule.core.tensor import Tensor
from chainrule.transforms.arguments import (
    STATIC_TYPES,
    attributes_key,
    changed,
    containers,
    deeper_than_key,
    dict_orders,
    flatten_noting_state,
    found_arrays,
    rebound_attributes,
    replace_traced,
    write_containers_back,
)
from chainrule.transforms.captures import Captures

__all__ = ["DATA", "WatchedState", "count_writes", "outside_arrays", "reachable_objects", "set_state"]

# arguments that are data (read anew by each replay) or static values
DATA = (Tensor, np.ndarray, np.generic, *STATIC_TYPES)


class WatchedState:
    """The Python state among the arguments of a call being traced, as it was before the
    call: what the checks after it compare with, and what a call that raised puts back."""

    def __init__(self, stateful: list, rebuilt: list, traced_arguments, given: list, tree):
        self.stateful = stateful  # the caller's objects with array state (Modules)
        self.rebuilt = rebuilt  # their traced copies, which the function gets
        self.before = [dict(vars(obj)) for obj in rebuilt]
        self.registries = module_registries(stateful)
        self.containers = containers(traced_arguments, [])
        # the objects among the arguments as the key reads them (attributes, the arrays
        # and lists they hold): one the call changes is keyed on a state a replay would
        # not leave behind (self.n = 1 - self.n, self.s[:] = 1 - self.s)
        self.keyed = [(leaf, attributes_key(leaf, 0)) for leaf in given if not isinstance(leaf, DATA)]
        self.structure = dict_orders(tree, [])  # and the aux data of pytree nodes (a module's settings)

    def objects(self) -> list:
        """The arguments that are neither data nor static values (objects, containers)."""
        return [leaf for leaf, _ in self.keyed]

    def containers_written_back(self, caller_arguments, boxed: list, leaves: list, trace) -> bool:
        """The changes the call made to the lists and dicts it was given (an append, an
        item assigned or removed), made to the caller's as the plain call makes them;
        whether there were any."""
        if not changed(self.containers):
            return False
        write_containers_back(self.containers, containers(caller_arguments, []), boxed, leaves, trace)
        return True

    def leave_as_raised(self, caller_arguments, boxed: list, leaves: list, trace) -> None:
        """The caller's state as the plain call that raised leaves it: traced values stored
        in objects among the arguments replaced by their values, containers changed,
        attributes rebound."""
        for leaf in self.objects():
            replace_traced(leaf, trace)
        self.containers_written_back(caller_arguments, boxed, leaves, trace)
        rebind_before_raising(self.stateful, self.rebuilt, self.before, trace, self.registries)

    def leaked(self, trace) -> list:
        """Whether each object among the arguments, and each public list or dict of a
        traced Module, holds traced values (replaced by their values, as the plain call
        leaves them)."""
        leaked = [replace_traced(leaf, trace) for leaf in self.objects()]
        leaked += [replace_traced(value, trace) for obj in self.rebuilt for name, value in vars(obj).items()
                   if isinstance(value, list | dict) and not name.startswith("_")]  # self.log.append(y)
        return leaked

    def objects_changed(self, caller_arguments, tree) -> bool:
        """Whether the call changed an object among the arguments (an attribute, an array,
        list or dict it holds) or the structure of the arguments."""
        now = flatten_noting_state(caller_arguments)[1]  # (a module's rebound attributes: written back)
        return (any(attributes_key(leaf, 0) != key for leaf, key in self.keyed)
                or now != tree or dict_orders(now, []) != self.structure)

    def too_deep(self) -> bool:
        """Whether an object among the arguments holds state deeper than the key reads."""
        return any(deeper_than_key(leaf) for leaf in self.objects())

    def rebound(self, trace) -> list:
        """The attributes the call rebound on the Modules among the arguments, which each
        replay sets; an error (with the registries put back) for what cannot be set again."""
        try:
            return rebound_attributes(self.rebuilt, self.before, trace)
        except TypeError:
            restore_registries(self.registries)  # (a buffer registered inside: not half done to the caller's)
            raise


def reachable_objects(x, into: dict, depth: int) -> dict:
    """The objects reachable from the arguments (items, attributes), by id, which a
    result hands back as themselves."""
    if isinstance(x, Tensor):  # an eager Tensor: itself, but not its items
        into[id(x)] = x
        return into
    if isinstance(x, DATA) or id(x) in into or depth > 6:
        return into
    into[id(x)] = x
    if isinstance(x, list | tuple | set | frozenset | collections.deque):
        for v in x:
            reachable_objects(v, into, depth + 1)
    elif isinstance(x, dict):
        for v in x.values():
            reachable_objects(v, into, depth + 1)
    elif isinstance(getattr(x, "__dict__", None), dict) and not isinstance(x, type | types.ModuleType):
        for v in vars(x).values():
            reachable_objects(v, into, depth + 1)
    return into


def outside_arrays(captures: Captures, leaves: list) -> list:
    """The arrays the function finds rather than makes: global, closed-over or default
    arrays, and array attributes of objects among the arguments."""
    outside = captures.arrays()
    for leaf in leaves:
        if not isinstance(leaf, Tensor | np.ndarray | np.generic):
            found_arrays(leaf, outside)
    return outside


def module_registries(modules: list) -> list:
    """The registries of the modules among the arguments (``_buffers``, ``_modules``,
    ...), which their traced copies share, with what they hold now."""
    return [(v, dict(v) if isinstance(v, dict) else set(v)) for obj in modules
            for name, v in vars(obj).items() if name.startswith("_") and isinstance(v, dict | set)]


def restore_registries(registries: list) -> None:
    """The registries as :func:`module_registries` found them: a buffer, parameter or
    submodule that a refused call registered on the traced copy is not left in the
    caller's module without its attribute."""
    for registry, items in registries:
        if isinstance(registry, dict):
            same = registry.keys() == items.keys() and all(registry[k] is v for k, v in items.items())
        else:
            same = registry == items
        if not same:
            registry.clear()
            registry.update(items)


def rebind_before_raising(stateful: list, rebuilt: list, before: list, trace, registries) -> None:
    """The attributes that a call which raised had rebound on the modules among its
    arguments (``self.calls += 1`` before the error): set on the caller's, as the plain
    call leaves them, with values for traced values."""
    try:
        rebound = rebound_attributes(rebuilt, before, trace)
    except TypeError:  # what cannot be set again: the function's own exception matters
        restore_registries(registries)
        return
    for k, name, value in rebound:
        if isinstance(value, Tensor) and value._trace is trace:
            value = trace.stored(value)
        else:
            replace_traced(value, trace)
        setattr(stateful[k], name, value)


def count_writes(eager_args: dict, written) -> None:
    """The caller's eager Tensors (arguments, a module's buffers) among the inputs
    ``written`` count the write, as the eager layer's in-place operations do: a backward
    pass through a graph that saved one before the call raises, as after the plain call,
    instead of giving the gradient of the values written."""
    for i in written:
        count_write(eager_args[i])


def set_state(objects: list, slots, values) -> None:
    """Set state (buffers) on modules of a result, rebuilt from the program's structure:
    each gets registries of its own first (the structure's are shared by every result)."""
    for (k, name), value in zip(slots, values, strict=True):
        objects[k].__jit_set_state__(name, value)
        setattr(objects[k], name, value)  # as the module stores it (a buffer)

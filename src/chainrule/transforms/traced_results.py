"""What a call that :func:`chainrule.jit` traces hands back, and what its replays hand back.

The function's result is flattened into templates for the program (:func:`result_templates`):
a traced value, a constant the program holds, a fresh copy of what the function made
(each caller gets its own, as from the plain call), or the caller's own object (a global
array, an argument handed back). The traced call itself returns its result as the plain
call returns it (:func:`caller_result`), with eager Tensors where the plain call gives
them and the state that the call rebound set on the caller's Modules.
"""

from __future__ import annotations

import enum
import functools
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import numpy as np

from chainrule.core.pytree import tree_flatten
from chainrule.core.tensor import Tensor
from chainrule.core.trace import EAGER
from chainrule.numpy.torch_methods import Size
from chainrule.transforms.arguments import (
    replace_traced,
    stateful_objects,
    traced_in_structure,
    untraced,
    write_back,
)
from chainrule.transforms.module_state import outside_arrays, set_state
from chainrule.transforms.program import Fresh, Shared, Var, copy_made, unflatten_in_order
from chainrule.transforms.record import foreign_tensor_error

__all__ = ["caller_result", "result_templates"]

# results that go on running after the call (a generator, a coroutine) or are spent by it
_SUSPENDED = (Iterator, AsyncIterator, Awaitable)
# results that cannot be changed (or are shared by every caller anyway): handed back as
# they are; any other result the function made is copied for each call
_ATOMIC = (int, float, complex, str, bytes, type(None), np.generic, np.dtype, range, slice,
           type(Ellipsis), frozenset, enum.Enum, type, types.FunctionType, types.BuiltinFunctionType,
           types.MethodType, types.ModuleType, functools.partial, Tensor)


def result_templates(fun: Callable, out, trace, captures, given, reachable, callers, result_state) -> tuple:
    """The result's structure, and for each of its leaves what the program gives back
    there (a traced value, a constant, a fresh copy, the caller's own object) and the
    value this call hands back there."""
    # a list or dict the function found (a global), returned: the plain call hands back
    # that object itself (the caller's append reaches the global), not a new one
    out_leaves, out_tree = tree_flatten(out, is_leaf=lambda v: isinstance(v, list | dict)
                                        and id(v) in captures.found and id(v) not in reachable)
    handled = {id(value) for _, _, value in result_state}
    if any(id(t) not in handled for t in traced_in_structure(out_tree, trace)):
        # a registered class's aux data made of traced values: a replay would return them
        # as they were when traced
        trace.refuse("the structure of the result (the aux data of a registered pytree "
                     "class) holds traced values; make them children of the node instead")
    templates, values = [], []
    made: list = []  # positions of the results made without traced values, copied for the caller
    # the results that are eager Tensors in the plain call, by position: the number of
    # the traced value (one Tensor wherever it is returned), or the input whose
    # caller's Tensor it is (see callers)
    eager: dict = {}
    eager_given: dict = {}
    numbers: dict = {}
    outside = outside_arrays(captures, given)  # arrays the function found
    # what results made by the function hold themselves in the copy the caller gets:
    # what it found (a global array), and this call's arguments (a replay's copies
    # hold the globals; the arguments of the call traced are not a replay's)
    keep = {**captures.found, **captures.tensors, **reachable, **{id(a): a for a in outside}}
    views: dict = {}
    for leaf in out_leaves:
        if isinstance(leaf, _SUSPENDED):
            raise TypeError(
                f"chainrule.jit: {getattr(fun, '__name__', 'the function')} returned a "
                f"{type(leaf).__name__}, whose code runs after the jitted call has returned "
                "(a replay would hand back the same, spent object): call the function "
                "without jit, or return arrays (a list or tuple of them) instead")
        if isinstance(leaf, Tensor) and leaf._trace.level == 0 and leaf._node is None:
            # an eager Tensor computed from constants: one the function found (a global)
            # is handed back itself; one it made, a new one on every call
            found_tensor = id(leaf) in captures.tensors or id(leaf) in reachable
            if not found_tensor:
                made.append(len(values))
            templates.append(leaf if found_tensor else Fresh(leaf))
            values.append(leaf)
            continue
        if isinstance(leaf, Tensor):
            if leaf._trace is not trace:
                raise foreign_tensor_error(leaf)
            if id(leaf) in callers:
                eager_given[len(values)] = callers[id(leaf)]
            elif leaf._node in trace.eager:
                eager[len(values)] = numbers.setdefault(id(leaf), len(numbers))
            templates.append(Var(leaf._node))
            values.append(leaf._value)
        else:
            leaf, held = untraced(leaf, trace)  # (a slice made of them: a new one)
            if held:
                trace.refuse(
                    f"the result holds traced values inside a {type(leaf).__name__}, which "
                    "is not a pytree (return tuples, lists or dicts, or register the class "
                    "with chainrule.register_pytree_node)"
                )
            if isinstance(leaf, np.ndarray) and any(np.may_share_memory(leaf, a) for a in outside):
                # a global array: the caller's own; a view of one, made by the function:
                # a view of the caller's memory (a new one each call, as the plain call's)
                itself = any(leaf is a for a in outside)
                templates.append(Shared(leaf, view=not itself))
                values.append(leaf if itself else views.setdefault(id(leaf), leaf.view()))
                continue
            if type(leaf) is Size:  # a traced value's size: an ndarray's is an int
                leaf = int(leaf)
            if (not isinstance(leaf, (np.ndarray, *_ATOMIC)) and id(leaf) not in captures.found
                    and id(leaf) not in reachable):
                # made by the function, and changeable: a new one on every call
                made.append(len(values))
                templates.append(Fresh(leaf))
                values.append(leaf)
                continue
            if isinstance(leaf, np.ndarray):  # a constant of the program: the caller's copy
                made.append(len(values))
            templates.append(leaf)
            values.append(leaf)
    if made and trace.unreplayable is None:
        # the program keeps what the function made; the caller gets copies (that share
        # memory as the function's results do), as every replay will give
        try:
            copies = copy_made([values[k] for k in made], keep)
        except Exception as e:  # noqa: BLE001 (whatever deepcopy raises)
            kinds = sorted({type(values[k]).__name__ for k in made})
            trace.refuse(f"a {' or '.join(kinds)} among the results cannot be copied for "
                         f"each replay ({type(e).__name__}: {e})")
        else:
            for k, c in zip(made, copies, strict=True):
                values[k] = c
    return out_tree, templates, values, eager, eager_given



def caller_result(trace, out_tree, values: list, eager: dict, eager_given: dict, eager_args,
                   stateful, writebacks: list, result_state: list):
    """The result the traced call hands back, as the plain call returns it, with the
    attributes it rebound and the state of the modules it returns set."""
    # eager Tensors where the plain call computes them from eager Tensors, as every
    # replay gives them
    tensors: dict = {}
    for k, number in eager.items():
        values[k] = tensors.setdefault(number, Tensor(values[k], EAGER))
    for k, i in eager_given.items():
        values[k] = eager_args[i]
    # not replayed: the results themselves, as the plain call returns them (the
    # argument that np.asarray(x) hands back, not a copy of it)
    result = unflatten_in_order(out_tree, values)
    if trace.unreplayable is not None:
        replace_traced(result, trace)  # the values, as the plain call returns them
    if result_state:
        result, state_values = result
    if writebacks:
        result, written = result
        write_back(stateful, [(k, name) for k, name, _ in writebacks], written)
    if result_state:
        set_state(stateful_objects(result, []), [(k, name) for k, name, _ in result_state],
                  state_values)
    return result

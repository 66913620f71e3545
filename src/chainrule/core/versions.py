"""In-place writes into eager memory, and the version counter that keeps a backward pass
from reading a value that was written after it was saved (PyTorch's ``_version``).

A Tensor's memory is shared by its family: its base and the base's live views
(core.views). Every in-place operation on an eager Tensor counts one write into that
family, whether it is recorded (``y.add_(1)`` on a graph, which records ``y + 1`` and
rebinds ``y``) or not (a constant, a parameter under ``no_grad()``, an optimizer's step,
``count_write``): the eager clock ``EAGER.clock`` goes up and every member's ``_version``
takes its value. A node records the clock when it is made (``EagerNode.stamp``), so
"was this input written after the node saved it" is one comparison,
``t._version > node.stamp``: nothing is copied or stored per saved value. A write into
the Tensor that a node made, where the node's rules read that output
(``keeps_only("output")``: exp, tanh, sigmoid, relu, ...), marks the node
(``overwritten``). The backward pass looks closer only at nodes recorded before the clock
last moved (:func:`check_saved`), and raises PyTorch's RuntimeError for a value that a
rule reads and that was written since, as PyTorch does at the same places: the rules read
what ``Primitive.reads`` and ``keeps`` declare (PyTorch's saved tensors).

A call may also read the memory of an eager Tensor that is not among its inputs: an
index, a mask or a target (an integer or boolean Tensor, handed to the primitive as its
NumPy array: ``x[i]``, ``gather``, ``where(c, a, b)``, ``cross_entropy``), or the indices
that ``sort``, ``topk`` or ``max(dim)`` return beside the values, which the call that
picked the values read. A write in place into such memory is noted by the memory's owner
(:data:`WRITTEN`, only while that array lives), and the backward pass refuses a call whose
rules read an array of memory written after the call, as PyTorch refuses a saved index.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np

from chainrule.core.primitive import read_arguments
from chainrule.core.tensor import Tensor
from chainrule.core.trace import EAGER
from chainrule.core.views import live_views, replay

__all__ = ["family", "count_write", "recorded_write", "write", "keep_saved_outputs", "overlaps", "overlap_error",
           "put", "FILLS", "check_saved"]


# in-place writes into the memory of eager Tensors (write, write_part, count_write), by the
# NumPy array that owns the memory: id(owner) -> (weak reference to it, clock, writer)
WRITTEN: dict[int, tuple] = {}


def _owner(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (the last ndarray of NumPy's chain of bases)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _note_written(members, buf, name: str) -> None:
    """Note that ``buf``'s memory, that of the Tensors ``members`` (a family), was written in
    place by ``name`` at the eager clock now; not through ``.data`` (which PyTorch does not
    count)."""
    if not isinstance(buf, np.ndarray) or getattr(members[0], "_uncounted", False):
        return
    owner = _owner(buf)
    key = id(owner)
    held = WRITTEN.get(key)
    if held is not None and held[0]() is owner:
        WRITTEN[key] = (held[0], EAGER.clock, name)
        return

    def forget(ref, key=key):
        if WRITTEN.get(key, (None,))[0] is ref:
            del WRITTEN[key]

    WRITTEN[key] = (weakref.ref(owner, forget), EAGER.clock, name)


def _written_since(value, stamp: int):
    """The write (its clock and writer) into the memory of an array in ``value`` (an array,
    or a tuple or list of them, as an index) made after the clock was ``stamp``, or None."""
    if isinstance(value, np.ndarray):
        owner = _owner(value)
        held = WRITTEN.get(id(owner))
        if held is not None and held[1] > stamp and held[0]() is owner:
            return value, held[2]
    elif isinstance(value, tuple | list):
        for v in value:
            found = _written_since(v, stamp)
            if found is not None:
                return found
    return None


def family(t: Tensor) -> list:
    """``t`` and the Tensors that share its memory: its base and the base's live views."""
    view = getattr(t, "_view", None)
    if view is not None:
        return [view[0], *live_views(view[0])]
    return [t, *live_views(t)] if getattr(t, "_views", None) else [t]


def _count(members, name: str) -> None:
    """One write into memory that ``members`` share, by the operation ``name``."""
    EAGER.clock += 1
    clock = EAGER.clock
    for member in members:
        member._version = clock
        member._writer = name


def count_write(t: Tensor, name: str = "a write outside the Tensor operations (an optimizer's step, "
                                       "load_state_dict, an initialiser)") -> None:
    """Count one write into ``t``'s memory made outside the eager operations (an
    optimizer's step, an initialiser, a loaded state dict): the Tensors that share the
    memory (its base and its views) count it too, so that a backward pass through a call
    that saved any of them before the write raises instead of giving a wrong gradient
    (PyTorch's version counter, which ``opt.step()`` before ``loss.backward()`` trips)."""
    members = family(t)
    _mark_saved_outputs(members, name)
    _count(members, name)
    _note_written(members, members[0]._value, name)


def _mark_saved_outputs(members, name: str) -> list:
    """Mark the nodes that made a member of ``members`` and whose rules read that output
    (``keeps_only("output")``) as written by ``name``; the (node, previous mark) pairs."""
    marked = []
    for member in members:
        node = member._node
        if node is not None and node.prim is not None and node.prim.keeps == "output" and node.entry is not None:
            marked.append((node, getattr(node, "overwritten", None)))
            node.overwritten = (name, member.dtype, tuple(member.shape))
    return marked


def keep_saved_outputs(members, buf) -> None:
    """A recorded call whose rules may read its result (``keeps`` not declared: ``x / y``
    reads it for y's partial) keeps that result for the backward pass; when its memory is
    about to be written outside the graph, the call keeps a copy instead, so that its
    derivative is that of the values it computed. (PyTorch, which knows what each of its
    functions saves, may refuse the backward pass there instead.)"""
    for member in members:
        node = member._node
        if node is None or node.prim is None or node.entry is None or node.prim.keeps is not None:
            continue
        ans = node.entry[4]
        if isinstance(ans, np.ndarray) and np.may_share_memory(ans, buf):
            node.entry = (*node.entry[:4], ans.copy())


def recorded_write(t: Tensor, other, name: str, make: Callable[[], None]) -> None:
    """Count the recorded in-place write into ``t`` that ``make()`` does (it records the
    operation out of place and rebinds ``t``): before it, so that the nodes it records,
    which read ``t``'s old value, are newer than the write, and the nodes recorded before
    that read ``t`` (or a view sharing its memory) are older; again after it where
    ``other`` shares that memory (``y.mul_(y)``: the operation read ``other``, which it then
    changed, and PyTorch refuses its backward pass). If ``make()`` raises, nothing is counted."""
    members = family(t)
    before = [(m, getattr(m, "_version", 0), getattr(m, "_writer", None)) for m in members]
    marked = _mark_saved_outputs(members, name)
    _count(members, name)
    try:
        make()
    except BaseException:
        for m, version, writer in before:
            m._version, m._writer = version, writer
        for node, mark in marked:
            node.overwritten = mark
        raise
    operands = other if isinstance(other, list | tuple) else (other,)
    if any(o is m for o in operands if isinstance(o, Tensor) for m in members):
        _count(family(t), name)


def write(t: Tensor, new, name: str = "in-place write") -> None:
    """Write ``new`` into ``t``'s memory (no graph is recorded): the Tensors that share it
    (its base and views) see the write, and all of them count it as one in-place write."""
    view = getattr(t, "_view", None)
    root = t if view is None else view[0]
    members = family(t)
    buf = t._value
    _mark_saved_outputs(members, name)
    keep_saved_outputs(members, buf)
    if isinstance(buf, np.ndarray) and buf.shape == np.shape(new) and buf.flags.writeable:
        np.copyto(buf, new, casting="unsafe")
    elif view is not None:  # a view NumPy made read-only (diagonal, expand): through the base
        positions = replay(view[1], np.arange(root.size).reshape(root.shape))
        if name not in FILLS and np.unique(positions).size != positions.size:
            raise overlap_error(name)
        put(t, positions, new)
    else:
        t._value = np.asarray(new, dtype=np.result_type(buf))
        _count(members, name)
        return
    _count(members, name)
    _note_written(members, root._value, name)


def write_part(t: Tensor, index, value, name: str = "__setitem__") -> bool:
    """``t[index] = value`` written into ``t``'s memory (no graph is recorded), where that
    memory can be written: counted as :func:`write` counts; False where it cannot."""
    buf = t._value
    view = getattr(t, "_view", None)
    if isinstance(buf, np.ndarray) and buf.flags.writeable:
        members = family(t)
        _mark_saved_outputs(members, name)
        keep_saved_outputs(members, buf)
        buf[index] = value
    elif view is not None and isinstance(buf, np.ndarray):  # a read-only view (expand): the part written
        positions = replay(view[1], np.arange(view[0].size).reshape(view[0].shape))[index]
        if np.unique(positions).size != np.size(positions):
            raise overlap_error(name)
        members = family(t)
        _mark_saved_outputs(members, name)
        keep_saved_outputs(members, view[0]._value)
        put(t, positions, value)
    else:
        return False
    _count(members, name)
    _note_written(members, buf if view is None or buf.flags.writeable else view[0]._value, name)
    return True


# writes that PyTorch lets into a view whose elements share memory (an expand) when they
# are not recorded: every element gets the one number, so it does not matter which of them
# is written last (fill_ of a Tensor is refused there, as PyTorch's: see overlap_error)
FILLS = ("fill_", "zero_", "fill")


def overlaps(t: Tensor) -> bool:
    """Whether elements of ``t`` share memory (a view made by expand, broadcast_to,
    unfold or as_strided), so that an in-place write into it is refused."""
    view = getattr(t, "_view", None)
    if view is None:
        return False
    positions = replay(view[1], np.arange(view[0].size).reshape(view[0].shape))
    return np.unique(positions).size != np.size(positions)


def overlap_error(name: str) -> RuntimeError:
    """PyTorch's error for an in-place write into a Tensor whose elements share memory."""
    return RuntimeError(
        f"{name}: unsupported operation: more than one element of the written-to tensor refers to a "
        "single memory location (a view made by expand, broadcast_to, unfold or as_strided). Please "
        "clone() the tensor before performing the operation."
    )


def put(t: Tensor, positions, new) -> None:
    """Write ``new`` at ``positions`` of the base of the view ``t`` (a view NumPy made
    read-only), and read ``t`` again from the base."""
    root, steps, _ = t._view
    base = root._value
    np.put(base, positions, np.broadcast_to(np.asarray(new, dtype=base.dtype), np.shape(positions)))
    t._value = replay(steps, base)


# -- the backward pass's check --------------------------------------------------------
def check_saved(node, create_graph: bool) -> None:
    """Raise PyTorch's RuntimeError if a value that ``node``'s rules read (an input, or
    its output) was written in place after the node saved it. Called by the backward
    pass for a node recorded before the clock last moved. With ``create_graph`` the call
    is made again from its inputs (a rebound one, written by a recorded operation, as it
    was), so an input whose own memory was written counts too."""
    overwritten = getattr(node, "overwritten", None)
    if overwritten is not None:
        writer, dtype, shape = overwritten
        raise _modified(node, f"its output (a {dtype} Tensor of shape {shape})", writer)
    inputs, args = node.inputs, node.entry[2]
    stamp = node.stamp
    read = read_arguments(node.prim, node.entry[1], len(inputs))
    for i, a in enumerate(inputs):
        if isinstance(a, Tensor) and getattr(a, "_version", 0) > stamp and (
                i in read or create_graph and np.may_share_memory(a._value, args[i])):
            shape = tuple(a.shape) if a._trace is EAGER else "?"
            raise _modified(node, f"its input {i} (a {a.dtype} Tensor of shape {shape})",
                            getattr(a, "_writer", "an in-place operation"))
    if WRITTEN:  # an index, mask or target read as its array (see the module's docstring)
        for i in read:
            if isinstance(inputs[i], Tensor):  # (its version says)
                continue
            found = _written_since(args[i], stamp)
            if found is not None:
                value, writer = found
                raise _modified(node, f"its input {i} (a {value.dtype} array of shape {value.shape}, the memory "
                                      "of a Tensor)", writer)


def _modified(node, what: str, writer: str) -> RuntimeError:
    name = getattr(node, "torch_name", None) or node.prim.__name__
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace operation: "
        f"{what}, which {name} saved for the backward pass, was modified in place afterwards (by {writer}), "
        "so its gradient would be wrong. Modify a copy instead (y = x.clone(); y.add_(1), or x = x + y "
        "rather than x += y), or run backward() before the update (optimizer.step() after loss.backward())."
    )

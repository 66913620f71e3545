"""What every trace offers, and the helpers the traces share.

Every transform opens a trace with a fresh, higher ``level``. A primitive called on
Tensors goes to the trace with the highest level among its arguments; that trace unboxes
only its own Tensors and calls the primitive again on the rest, so outer traces see the
call too. Because each trace only unboxes what is its own, nested transforms cannot
confuse their perturbations (Siskind and Pearlmutter's example stays correct).
"""

from __future__ import annotations

import itertools

from numpy import ndarray

from chainrule.core.eager_node import EagerNode
from chainrule.core.errors import escaped_tensor_error
from chainrule.core.primitive import FLAT_ITEMS, RECORDING
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.core.tape import PROJECT, tape_entry
from chainrule.core.tensor import NO_KWARGS, TRACE_TYPES, Tensor

__all__ = [
    "Trace",
    "own_leaves",
    "unbox_own",
    "record_composite",
    "project_outputs",
    "same_tuple_type",
    "escaped_tensor_error",
    "returned_call",
    "keyword_tensor",
]

_levels = itertools.count(1)
_new_tensor = object.__new__  # the hot paths make Tensors without calling __init__


def keyword_tensor(kwargs) -> bool:
    """Whether a keyword argument holds a Tensor of a trace below (a mask ``where=`` that a
    vmap batches): the call then goes through ``Primitive.__call__``'s door to that trace,
    as a positional one does (NumPy's own call would hand it back through the mask's
    ``__array_ufunc__``, without end)."""
    return any(isinstance(v, Tensor) for v in kwargs.values())


class Trace:
    """What every trace offers: ``process(prim, args, kwargs)``, and the one- and
    two-argument calls (operators, ufuncs) that a trace may spell out for speed."""

    __slots__ = ()
    open = True  # False once its transform has returned (ReverseTrace: its tape is gone)
    records = False  # only chainrule.jit's trace records a program
    batches = False  # only chainrule.vmap's trace: its values hold a batch of examples
    # only chainrule.jit's trace: its values that stand for NumPy arrays of the plain call
    # (core.tensor.stands_for_array) have only NumPy's methods, as the plain call's have
    plain_arrays = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        TRACE_TYPES.add(cls)  # what Tensor(value, trace) tells from torch.Tensor(2, 3)

    def unary(self, prim, a, kwargs=NO_KWARGS):
        return self.process(prim, (a,), kwargs)

    def binary(self, prim, a, b, kwargs=NO_KWARGS):
        return self.process(prim, (a, b), kwargs)

    def maker(self, node):
        """The primitive whose call made the value at ``node``, None for an input of the
        trace (a leaf). A trace that keeps no graph (forward, batching, jit's recording:
        its values stand for the plain call's, which have none) has leaves only."""
        return None

    def composite(self, prim, args):
        """A :class:`~chainrule.core.composite.CompositePrimitive` called on this trace's
        Tensors. A trace without rules for it runs its body, whose calls come back here."""
        return prim.fun(*args)


def own_leaves(trace, args):
    """The leaves of the pytree ``args`` with this trace's Tensors unboxed, the positions
    of those, and the tree: what a trace's ``composite`` method starts from."""
    leaves, in_tree = tree_flatten(args)
    values = list(leaves)
    own = []
    for i, v in enumerate(leaves):
        if isinstance(v, Tensor) and v._trace is trace:
            values[i] = v._value
            own.append(i)
    return leaves, values, own, in_tree


def unbox_own(trace, args, into_sequences: bool = False):
    """The arguments of a call with the Tensors of ``trace`` replaced by their values, as
    every trace's ``process`` starts: ``(values, own, lower)``.

    ``own[i]`` is True where argument ``i`` is a Tensor of ``trace``, else False.
    ``lower`` says whether the call must go on through ``Primitive.__call__`` to a trace
    below rather than to the NumPy function: an argument is a Tensor of another trace, a
    Tensor of ``trace`` holds one as its value, or (while a jit or vmap trace is open) an
    argument is a tuple, an index that may hold a value that they trace. With
    ``into_sequences`` (vmap's trace, whose rules read the examples in tuple and list
    arguments), the Tensors of ``trace`` inside a tuple or list argument are replaced
    too, and ``own[i]`` is then a tuple of such flags, one per item.

    >>> from chainrule.core.reverse_trace import ReverseTrace
    >>> trace = ReverseTrace()
    >>> x = trace.new_tensor(2.0)
    >>> unbox_own(trace, (x, 3.0))
    ([2.0, 3.0], [True, False], False)
    >>> trace.close()
    """
    vals = list(args)
    own = [False] * len(vals)
    lower = False
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            if a._trace is trace:
                v = vals[i] = a._value
                own[i] = True
                if v.__class__ is not ndarray and isinstance(v, Tensor):
                    lower = True
            else:
                lower = True
        elif a.__class__ is tuple or a.__class__ is list:
            if into_sequences and not FLAT_ITEMS.issuperset(map(type, a)):
                flags = tuple(isinstance(v, Tensor) and v._trace is trace for v in a)
                if any(flags):
                    vals[i] = type(a)(v._value if f else v for v, f in zip(a, flags, strict=True))
                    own[i] = flags
            if a.__class__ is tuple and RECORDING[0]:
                lower = True
    return vals, own, lower


def record_composite(trace, rules, parents, values, out, inputs=None):
    """Box a composite call's ``out`` pytree on a reverse or eager trace: one record (a
    tape entry or an EagerNode) of ``rules`` for the call, one more per output leaf if
    there are several (as for any multiple-output primitive)."""
    out_leaves, out_tree = tree_flatten(out)
    ans = tuple(out_leaves) if rules.multiple_outputs else out_leaves[0]
    record = tape_entry(rules, parents, values, NO_KWARGS, ans)
    tape = getattr(trace, "tape", None)
    if tape is not None:
        tape.append(record)
        node = len(tape) - 1
    else:
        node = EagerNode(*record, inputs=inputs)
        node.stamp = trace.clock
    if rules.multiple_outputs:
        boxed = project_outputs(trace, node, ans, tape)
    else:
        boxed = (Tensor(ans, trace, node),)
    return tree_unflatten(out_tree, list(boxed))


def project_outputs(trace, node, ans, tape):
    """One Tensor per output of a multiple-output primitive, each with its own record:
    a tape entry (reverse trace, ``node`` a tape position) or an EagerNode (eager)."""
    outs = []
    for k, value in enumerate(ans):
        record = tape_entry(PROJECT, ((k, node),), (len(ans),), {}, value)
        if tape is not None:
            tape.append(record)
            proj = len(tape) - 1
        else:
            proj = EagerNode(*record, inputs=(len(ans),), stamp=trace.clock)
        outs.append(Tensor(value, trace, proj))
    return same_tuple_type(ans, outs)


def same_tuple_type(like, items):
    """A tuple of ``items`` of the same kind as ``like`` (NumPy returns namedtuples)."""
    return type(like)(*items) if hasattr(like, "_fields") else tuple(items)


def returned_call(trace, prim, args, kwargs):
    """``prim`` called on Tensors of ``trace``, whose transform has returned: a value the
    function stored (``history.append(loss)``) and the program reads after the transform.
    Nothing differentiates it any more, so it is a constant: the call runs on its value
    (a trace below, still open, sees the call), as HIPS autograd's boxes of a finished
    trace compute on.

    >>> import chainrule as cr
    >>> kept = []
    >>> _ = cr.grad(lambda x: kept.append(x * 2) or kept[-1])(1.5)
    >>> float(kept[0] + 1)
    4.0
    """
    _, values, _, in_tree = own_leaves(trace, args)
    return prim(*tree_unflatten(in_tree, values), **kwargs)

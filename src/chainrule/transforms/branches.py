"""The branches of a ``chainrule.lax.cond``, ``switch`` or ``while_loop`` whose predicate
differs between the examples of a ``vmap``: every branch runs on the whole batch and each
example takes its own branch's result (``cnp.where``), as in JAX. That selects the
values, and forward mode's tangents, but not reverse mode's cotangents by itself: the
cotangent of a branch an example did not take is zero there, and zero times the infinite
or NaN derivative of that branch (``sqrt`` or ``log`` of a negative number, guarded by the
predicate) is NaN. JAX's derivative is the taken branch's alone, as a loop over the
examples gives it, so :func:`branch_of` keeps the derivatives that leave a branch, towards
what was computed before it, to the examples that take that branch.

While it is open, each open reverse trace takes a value made before the branch, where a
call in the branch reads it, through :data:`branch_mask` (the identity, whose cotangent
is zero in the examples that do not take the branch: a ``where``, which drops a NaN,
not a product): a trace above the ``vmap`` does so itself (``vmap(grad(f))``); for a
trace below it (``grad(vmap(f))``), where the examples are along the values' first axis,
the ``vmap``'s trace does it for the values it hands down. The traces' classes switch for
the branch, as ``no_grad()`` switches them (:mod:`chainrule.core.paused`), so nothing is
spent outside such a branch. (A call in the branch that reads only values the ``vmap``
does not batch, and a trace below the ``vmap``, is not masked: its cotangent is summed
over the examples already.)

>>> import chainrule as cr, chainrule.numpy as cnp, numpy as np
>>> from chainrule import lax
>>> f = lambda v: lax.cond(v > 0, cnp.sqrt, lambda a: 0.0 * a, v)
>>> cr.vmap(cr.grad(f))(np.array([4.0, -1.0]))
array([0.25, 0.  ])
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.backward import backward_pass
from chainrule.core.primitive import Primitive, def_batch, def_jvps, def_vjps
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.core.tensor import NO_KWARGS, Tensor, undifferentiated
from chainrule.core.trace import OPEN_REVERSE, ReverseTrace
from chainrule.transforms.batch_trace import BatchTrace

__all__ = ["branch_of", "branch_mask", "backward_in_branches"]


def _where_taken(g, on):
    g = np.asarray(g)
    on = np.asarray(on)
    return np.where(on.reshape(on.shape + (1,) * (g.ndim - on.ndim)), g, np.zeros((), g.dtype))


def _flags_batch(prim, batched, x, on):
    """The batching rule of both: the examples of ``x`` and of the flags ``on`` in front.
    Whichever of the two this batch does not batch is broadcast along it, so that the flags
    stay with the axis of ``x`` they stand for (``jacrev`` maps a basis of cotangents over
    the backward pass of a branch: ``x`` is batched, its flags are not)."""
    if batched[1] and not batched[0]:
        x = cnp.broadcast_to(x, (cnp.shape(on)[0], *cnp.shape(x)))
    elif batched[0] and not batched[1]:
        on = cnp.broadcast_to(on, (cnp.shape(x)[0], *cnp.shape(on)))
    return prim(x, on)


branch_mask = Primitive(lambda x, on: x, name="branch_mask")
branch_mask.__doc__ = """``x`` itself; its cotangent is zero where ``on`` does not hold."""
where_taken = Primitive(_where_taken, name="where_taken")
where_taken.__doc__ = """``g`` where ``on`` holds, else zero (``on`` has one flag per example,
along the first axis of ``g`` if it has several): linear in ``g``, its own transpose."""
def_vjps(branch_mask, lambda g, ans, x, on: where_taken(g, on), None)
def_jvps(branch_mask, lambda t, ans, x, on: t, None)
def_vjps(where_taken, lambda g, ans, x, on: where_taken(g, on), None)
def_jvps(where_taken, lambda t, ans, x, on: where_taken(t, on), None)
def_batch(_flags_batch, branch_mask, where_taken)


class _Branches(threading.local):
    """The branch open in this thread on each trace that masks (keyed by the trace):
    a reverse trace's ``(start, on, masked)``, the tape position where the branch began,
    the predicate and the masked stand-ins made so far (by tape position); a batching
    trace's ``(starts, on, masked)``, the start of each reverse trace below it, its
    predicate's values (the examples along the first axis) and its stand-ins (by id)."""

    def __init__(self):
        self.open: dict = {}


BRANCHES = _Branches()


class _Masking:
    """What a trace does inside a branch: each call's arguments pass through ``_masked``."""

    __slots__ = ()

    def process(self, prim, args, kwargs):
        return super().process(prim, tuple(map(self._masked, args)), kwargs)

    def unary(self, prim, a, kwargs=NO_KWARGS):
        return super().unary(prim, self._masked(a), kwargs)

    def binary(self, prim, a, b, kwargs=NO_KWARGS):
        return super().binary(prim, self._masked(a), self._masked(b), kwargs)

    def composite(self, prim, args):
        leaves, tree = tree_flatten(args)
        return super().composite(prim, tree_unflatten(tree, list(map(self._masked, leaves))))


class BranchReverseTrace(_Masking, ReverseTrace):
    """A reverse trace inside a branch: its values from before the branch are masked."""

    __slots__ = ()

    def _masked(self, a):
        if not (isinstance(a, Tensor) and a._trace is self):
            return a
        start, on, masked = BRANCHES.open[self]
        node = a._node
        if node is None or node >= start:
            return a
        stand_in = masked.get(node)
        if stand_in is None:
            tape = self.tape
            tape.append((branch_mask, ((0, node),), (a._value, on), NO_KWARGS, a._value))
            stand_in = masked[node] = Tensor(a._value, self, len(tape) - 1)
        return stand_in


def _made_before(v, starts: dict) -> bool:
    """Whether ``v`` is, at some level below, a value of a reverse trace in ``starts`` that
    was made before that trace's branch began."""
    while isinstance(v, Tensor):
        start = starts.get(v._trace)
        if start is not None and v._node is not None and v._node < start:
            return True
        v = v._value
    return False


class BranchBatchTrace(_Masking, BatchTrace):
    """A batching trace inside a branch whose predicate it batches, above reverse traces:
    what it hands down from before the branch is masked."""

    __slots__ = ()

    def _masked(self, a):
        if not isinstance(a, Tensor):
            return a
        starts, on, masked = BRANCHES.open[self]
        own = a._trace is self
        if not _made_before(a._value if own else a, starts):
            return a
        made = masked.get(id(a))
        if made is None:
            v = a._value if own else cnp.broadcast_to(a, (self.size, *cnp.shape(a)))
            made = masked[id(a)] = (a, self.box(branch_mask(v, on)))
        return made[1]


def _batching_trace(pred):
    """The innermost ``vmap`` trace that batches ``pred`` (None if none does)."""
    while isinstance(pred, Tensor):
        if pred._trace.batches:
            return pred._trace
        pred = pred._value
    return None


# NumPy's floating-point errors, which a branch meets in the examples that do not take it
# (sqrt of a negative number): neither warned of nor raised (np.seterr(all="raise")), as
# JAX, which runs the branches so too, says nothing of them
_QUIET = {"divide": "ignore", "invalid": "ignore", "over": "ignore", "under": "ignore"}


@contextlib.contextmanager
def branch_of(pred):
    """Run a branch taken by the examples where the batched ``pred`` holds: reverse mode's
    derivatives leave it only in those examples (see the module's docstring), and NumPy's
    floating-point errors are not reported (``_QUIET``)."""
    reverse = [t for t in OPEN_REVERSE.traces if t.tape is not None
               and t.__class__ in (ReverseTrace, BranchReverseTrace)]
    batch = _batching_trace(pred)
    if not reverse or batch is None or batch.__class__ not in (BatchTrace, BranchBatchTrace):
        with np.errstate(**_QUIET):
            yield
        return
    on = undifferentiated(pred)
    if on.dtype != bool:
        on = on != 0
    switched, saved = [], {}
    below = {}
    for trace in reverse:
        if trace.level > batch.level:
            outer = BRANCHES.open.get(trace)
            here = on if outer is None else cnp.logical_and(outer[1], on)
            saved[trace] = outer
            BRANCHES.open[trace] = (len(trace.tape), here, {})
            switched.append((trace, trace.__class__))
            trace.__class__ = BranchReverseTrace
        else:
            below[trace] = len(trace.tape)
    if below:
        outer = BRANCHES.open.get(batch)
        here = on
        while here._trace is not batch:  # (a trace above the vmap's, jit's, holds it)
            here = here._value
        here = here._value
        if outer is not None:
            below = {**outer[0], **below}
            here = cnp.logical_and(outer[1], here)
        saved[batch] = outer
        BRANCHES.open[batch] = (below, here, {})
        switched.append((batch, batch.__class__))
        batch.__class__ = BranchBatchTrace
    try:
        with np.errstate(**_QUIET):
            yield
    finally:
        for trace, cls in switched:
            if cls is not BatchTrace and trace.__class__ is BranchReverseTrace and trace.tape is not None:
                start, here = BRANCHES.open[trace][:2]
                if len(trace.tape) > start:  # for a backward pass that is differentiated
                    trace.branches = [*(trace.branches or ()), (start, len(trace.tape), here)]
            if trace.__class__ in (BranchReverseTrace, BranchBatchTrace):
                trace.__class__ = cls
            if saved[trace] is None:
                del BRANCHES.open[trace]
            else:
                BRANCHES.open[trace] = saved[trace]


def backward_in_branches(tape, cots, stop: int, origins, branches: list) -> None:
    """``backward_pass`` of a tape with ``branches`` (``(start, end, predicate)`` each, nested
    or apart), while an outer reverse trace records it: the pass through each branch's
    entries is itself a branch for the outer trace, so that its derivatives too (second
    derivatives: ``vmap(grad(grad(f)))``) are the taken branch's alone."""
    _segments(tape, cots, stop, len(tape) - 1, sorted(branches, key=lambda b: (-b[1], b[0])), origins)


def _segments(tape, cots, stop: int, top: int, branches: list, origins) -> None:
    i = 0
    while i < len(branches):
        start, end, on = branches[i]
        j = i + 1
        while j < len(branches) and branches[j][0] >= start:  # the branches within this one
            j += 1
        backward_pass(tape, cots, stop=end, origins=origins, top=top)
        # the cotangents that the values from before the branch have already are added to
        # what the branch gives them after it: the sum is no part of the branch
        before = cots[:start]
        cots[:start] = [None] * start
        with branch_of(on):
            _segments(tape, cots, start, end - 1, branches[i + 1:j], origins)
        for k, c in enumerate(before):
            if c is not None:
                cots[k] = c if cots[k] is None else c + cots[k]
        top, i = start - 1, j
    backward_pass(tape, cots, stop=stop, origins=origins, top=top)

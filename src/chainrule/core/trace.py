"""Traces: where a primitive call on Tensors is recorded (reverse) or pushed forward.

Every transform opens a trace with a fresh, higher ``level``. A primitive called on
Tensors goes to the trace with the highest level among its arguments; that trace unboxes
only its own Tensors and calls the primitive again on the rest, so outer traces see the
call too. Because each trace only unboxes what is its own, nested transforms cannot
confuse their perturbations (Siskind and Pearlmutter's example stays correct).

This module gathers the traces, each in a module of its own:

* :class:`ReverseTrace` (``chainrule.core.reverse_trace``) appends an entry per call to
  its tape (``chainrule.core.tape``), so the backward pass runs over the tape in reverse
  without sorting anything, with the cotangents in a flat list indexed by tape position.
* :class:`ForwardTrace` (``chainrule.core.forward_trace``) computes each output's tangent
  at once from the jvp rules.
* :class:`EagerTrace` (``chainrule.core.eager_trace``) is the PyTorch-like layer: level 0,
  always open, with the graph kept as links between nodes (``chainrule.core.eager_node``)
  so unused parts are freed by Python.

What every trace offers, and the helpers they share, are in ``chainrule.core.trace_protocol``;
the links of views to their bases in ``chainrule.core.views``.
"""

from __future__ import annotations

from chainrule.core.eager_node import EagerNode, index_replayable, named_as_torch
from chainrule.core.eager_trace import (
    EAGER,
    GRAD_MODE,
    INFERENCE_MADE,
    INFERENCE_MODE,
    EagerTrace,
    eager_quiet,
    eager_trace,
    grad_enabled,
    mark_inference,
    note_pieces,
    note_view,
    quiet_numpy,
    refuse_saved_inference,
    restore_numpy,
    set_grad_mode,
    set_inference_mode,
)
from chainrule.core.forward_trace import ForwardTrace
from chainrule.core.global_state import RANDOM_SOURCES
from chainrule.core.reverse_trace import OPEN_REVERSE, ReverseTrace
from chainrule.core.tape import CONSTANT, LEAF, PROJECT, lean_entry, tape_entry
from chainrule.core.trace_protocol import (
    Trace,
    _levels,
    escaped_tensor_error,
    own_leaves,
    project_outputs,
    record_composite,
    returned_call,
    same_tuple_type,
)
from chainrule.core.views import note_transform_view, register_view, shares_memory_of

__all__ = [
    "Trace",
    "EagerNode",
    "ReverseTrace",
    "OPEN_REVERSE",
    "ForwardTrace",
    "EagerTrace",
    "EAGER",
    "eager_trace",
    "eager_quiet",
    "PROJECT",
    "LEAF",
    "CONSTANT",
    "tape_entry",
    "lean_entry",
    "own_leaves",
    "record_composite",
    "project_outputs",
    "same_tuple_type",
    "escaped_tensor_error",
    "returned_call",
    "RANDOM_SOURCES",
    "GRAD_MODE",
    "grad_enabled",
    "set_grad_mode",
    "set_inference_mode",
    "mark_inference",
    "refuse_saved_inference",
    "INFERENCE_MODE",
    "INFERENCE_MADE",
    "note_view",
    "note_transform_view",
    "note_pieces",
    "register_view",
    "shares_memory_of",
    "named_as_torch",
    "index_replayable",
    "quiet_numpy",
    "restore_numpy",
    "_levels",
]

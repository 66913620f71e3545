"""Tape entries: what a trace records of one primitive call.

A reverse trace appends one entry per call to its tape; the eager layer keeps the same
tuple in each :class:`~chainrule.core.eager_node.EagerNode`. The backward pass
(``chainrule.core.backward``) reads them.
"""

from __future__ import annotations

from chainrule.core.primitive import OutputCotangents, Primitive, RulesByArgument

__all__ = ["PROJECT", "LEAF", "CONSTANT", "tape_entry", "lean_entry"]


def _project_rule(k: int):
    def rule(g, ans, n_outputs):
        cots = OutputCotangents([None] * n_outputs)
        cots[k] = g
        return cots

    return rule


# The record of output k of a multiple-output primitive: a one-parent primitive whose
# "argument number" is k and whose vjp puts the cotangent in place k of the outputs' list.
PROJECT = Primitive(lambda *args: None, name="project")
PROJECT.vjps = RulesByArgument(_project_rule)


# A tape entry of a reverse trace is a plain tuple (cheaper to make than an object):
#   (prim, parents, args, kwargs, ans), parents = ((argnum, tape position), ...).
# A Tensor of a reverse trace holds its tape position in ``_node``; an input's entry is
# LEAF, and one output of a multiple-output primitive has prim PROJECT. A value computed
# under no_grad() is a CONSTANT: an entry like LEAF's, but of nothing the transform
# differentiates (PyTorch lets it be changed in place).
LEAF = (None, (), None, None, None)
CONSTANT = tuple(list(LEAF))  # (a tuple of its own: the two are told apart by identity)


def tape_entry(prim, parents, args, kwargs, ans) -> tuple:
    """A tape entry, for code outside the hot paths (which build the same tuple inline)."""
    return (prim, parents, args, kwargs, ans)


def lean_entry(prim, parents, args, kwargs, ans):
    """A tape entry without what the primitive's vjp rules do not read."""
    if prim.keeps == "output":
        return (prim, parents, (None,) * len(args), kwargs, ans)
    return (prim, parents, args, kwargs, None)

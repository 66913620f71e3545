"""HIPS autograd's ``util``: small helpers that autograd programs import.

>>> subvals((1, 2, 3), [(0, "a"), (2, "c")])
('a', 2, 'c')
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from chainrule.test_util import check_grads

# defined where wrap_util, which test_util builds on, can use it without importing this module
from chainrule.wrap_util import subvals

__all__ = ["subvals", "subval", "func", "toposort", "quick_grad_check"]


def subval(x: Iterable, i: int, v: Any) -> tuple:
    """``x`` as a tuple with item ``i`` replaced by ``v``.

    >>> subval([1, 2], 1, 5)
    (1, 5)
    """
    x_ = list(x)
    x_[i] = v
    return tuple(x_)


def func(f: Callable) -> Callable:
    """``f`` itself (autograd's spelling for naming an unbound method as a function)."""
    return f


def toposort(end_node: Any, parents: Callable = operator.attrgetter("parents")) -> Iterator:
    """The nodes above ``end_node``, children before parents (each after all its
    children), following ``parents(node)``; iterative, so deep graphs do not recurse."""
    child_counts: dict = {}
    stack = [end_node]
    while stack:
        node = stack.pop()
        if node in child_counts:
            child_counts[node] += 1
        else:
            child_counts[node] = 1
            stack.extend(parents(node))
    childless_nodes = [end_node]
    while childless_nodes:
        node = childless_nodes.pop()
        yield node
        for parent in parents(node):
            if child_counts[parent] == 1:
                childless_nodes.append(parent)
            else:
                child_counts[parent] -= 1


def quick_grad_check(
    fun, arg0, extra_args=(), kwargs=None, verbose=True, eps=1e-4, rtol=1e-4, atol=1e-6, rs=None
) -> None:
    """Deprecated in autograd too: checks ``fun``'s reverse-mode gradient in ``arg0``
    against finite differences; use :func:`chainrule.test_util.check_grads`."""
    warnings.warn(
        "quick_grad_check is deprecated; use chainrule.test_util.check_grads", stacklevel=2
    )
    kwargs = kwargs or {}
    check_grads(lambda a: fun(a, *extra_args, **kwargs), modes=["rev"], order=1)(arg0)

"""Pytrees: nested tuples, lists, dicts, namedtuples and None around array leaves.

Transforms take and return pytrees. Other containers join with
:func:`register_pytree_node` (``chainrule.nn.Module`` does, so a model is a pytree).
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Callable
from typing import Any

__all__ = [
    "tree_flatten",
    "tree_unflatten",
    "tree_map",
    "tree_leaves",
    "register_pytree_node",
    "tree_children",
    "TreeDef",
    "DictKeys",
    "sorted_dicts",
    "sorted_keys",
]

_registry: dict[type, tuple[Callable, Callable]] = {}


def register_pytree_node(cls: type, flatten: Callable, unflatten: Callable) -> None:
    """Teach transforms to look inside ``cls``.

    ``flatten(x) -> (children, aux)`` and ``unflatten(aux, children) -> x``; ``aux`` must
    be hashable-free static data (compared with ``==``).

    >>> class Pair:
    ...     def __init__(self, a, b): self.a, self.b = a, b
    >>> register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda _, c: Pair(*c))
    """
    _registry[cls] = (flatten, unflatten)


class DictKeys(tuple):
    """The keys of a dict node: sorted, the order of its leaves (and what structures
    compare by), with the dict's own insertion order in ``order``, the order of a rebuilt
    dict: a function differentiated with respect to a dict sees the dict it was given
    (``list(d.values())`` in its order), and the gradient has the same key order, as in
    HIPS autograd. :func:`sorted_dicts` gives JAX's rebuild, keys sorted."""

    order: tuple


def sorted_keys(x: dict) -> list:
    """The keys of ``x`` in JAX's order, sorted (``9`` before ``10``); keys that do not
    compare with each other (``1`` and ``"a"``, which JAX refuses) by their repr.

    >>> sorted_keys({10: "a", 9: "b", -1: "c"})
    [-1, 9, 10]
    """
    try:
        return sorted(x)
    except TypeError:
        return sorted(x, key=repr)


def _dict_keys(x: dict) -> DictKeys:
    keys = DictKeys(sorted_keys(x))
    keys.order = tuple(x)
    return keys


def _rebuild_dict(keys, children) -> dict:
    d = dict(zip(keys, children, strict=True))
    order = getattr(keys, "order", None)
    return d if order is None else {k: d[k] for k in order}


def _flatten_dict(x: dict):
    keys = _dict_keys(x)
    return tuple(x[k] for k in keys), keys


register_pytree_node(tuple, lambda x: (x, None), lambda _, c: tuple(c))
register_pytree_node(list, lambda x: (x, None), lambda _, c: list(c))
register_pytree_node(dict, _flatten_dict, _rebuild_dict)
register_pytree_node(type(None), lambda x: ((), None), lambda _, c: None)
# an OrderedDict's order is part of its value (== compares it): its leaves go in that order
register_pytree_node(OrderedDict, lambda x: (tuple(x.values()), tuple(x)),
                     lambda keys, c: OrderedDict(zip(keys, c, strict=True)))
register_pytree_node(
    defaultdict,
    lambda x: ((flat := _flatten_dict(x))[0], (x.default_factory, flat[1])),
    lambda aux, c: defaultdict(aux[0], _rebuild_dict(aux[1], c)),
)


def _node_kind(x) -> tuple[Callable, Callable] | None:
    kind = _registry.get(type(x))
    if kind is None and isinstance(x, tuple) and hasattr(x, "_fields"):
        cls = type(x)
        kind = (lambda t: (tuple(t), None), lambda _, c, cls=cls: cls(*c))
    return kind


class TreeDef:
    """The structure of a pytree, without its leaves."""

    __slots__ = ("kind", "aux", "subtrees", "num_leaves", "rebuild")

    def __init__(self, kind, aux, subtrees, rebuild=None, num_leaves=None):
        self.kind = kind  # None for a leaf, else the container type
        self.aux = aux
        self.subtrees = subtrees  # a tuple of TreeDefs, one per child
        self.rebuild = rebuild
        if num_leaves is None:
            num_leaves = 1 if kind is None else sum(c.num_leaves for c in subtrees)
        self.num_leaves = num_leaves

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, TreeDef)
            and self.kind == other.kind
            and _aux_equal(self.aux, other.aux)
            and self.subtrees == other.subtrees
        )

    def __hash__(self) -> int:
        """Structures are hashable, as JAX's are (a structure can key a cache, or be a
        static argument of ``jit``); a node whose aux data is unhashable hashes by its type."""
        return hash((self.kind, _aux_hash(self.aux), self.subtrees))

    def children(self) -> list:
        """The structures of the children (JAX's ``PyTreeDef.children()``).

        >>> from chainrule.core.pytree import tree_flatten
        >>> tree_flatten((1, [2, 3]))[1].children()
        [PyTreeDef(*), PyTreeDef([*, *])]
        """
        return list(self.subtrees)

    def node_data(self) -> tuple | None:
        """``(type, aux data)`` of the root node, None for a leaf (JAX's ``node_data()``)."""
        if self.kind is None:
            return None
        return self.kind, list(self.aux) if self.kind is dict else self.aux

    def unflatten(self, leaves) -> Any:
        """The tree of this structure with ``leaves`` (JAX's ``PyTreeDef.unflatten``)."""
        return tree_unflatten(self, leaves)

    def flatten_up_to(self, tree) -> list:
        """The subtrees of ``tree`` at this structure's leaves, this structure being a
        prefix of ``tree``'s (JAX's ``PyTreeDef.flatten_up_to``)."""
        if self.kind is None:
            return [tree]
        node = tree_children(tree) if tree is not None else (type(None), None, ())
        # as JAX's: the same node types, and the same metadata (a dict's, an OrderedDict's
        # or a defaultdict's keys, a registered class's aux data)
        if (node is None or node[0] is not self.kind or len(node[2]) != len(self.subtrees)
                or not _aux_equal(node[1], self.aux)):
            keys = node is not None and node[0] is self.kind and self.kind in (dict, OrderedDict)
            raise ValueError(f"a tree of structure {tree_flatten(tree)[1]} does not have the structure "
                             f"{self} (nor it as a prefix)"
                             + (f": its keys {list(node[1])} are not {list(self.aux)}" if keys else ""))
        return [s for sub, child in zip(self.subtrees, node[2], strict=True) for s in sub.flatten_up_to(child)]

    @property
    def num_nodes(self) -> int:
        """How many nodes, leaves and ``None`` included, as JAX counts them."""
        return 1 + sum(c.num_nodes for c in self.subtrees)

    def __repr__(self) -> str:
        """JAX's spelling, so that printed structures read as in JAX's documentation:
        ``PyTreeDef([*, None, {'a': (*,)}])``."""
        return f"PyTreeDef({self._body()})"

    def _body(self) -> str:
        kids = [c._body() for c in self.subtrees]
        if self.kind is None:
            return "*"
        if self.kind is type(None):
            return "None"
        if self.kind is tuple:
            return f"({', '.join(kids)}{',' if len(kids) == 1 else ''})"
        if self.kind is list:
            return f"[{', '.join(kids)}]"
        if self.kind is dict:
            return "{" + ", ".join(f"{k!r}: {c}" for k, c in zip(self.aux, kids, strict=True)) + "}"
        if issubclass(self.kind, tuple) and hasattr(self.kind, "_fields"):
            return f"CustomNode(namedtuple[{self.kind.__name__}], [{', '.join(kids)}])"
        aux = tuple(self.aux) if isinstance(self.aux, DictKeys) else self.aux
        return f"CustomNode({self.kind.__name__}[{aux}], [{', '.join(kids)}])"


def _aux_equal(a, b) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return a is b


def _aux_hash(aux) -> int:
    try:
        return hash(aux)
    except TypeError:  # equal aux data have equal types: a hash consistent with __eq__
        return hash(type(aux))


_LEAF = TreeDef(None, None, ())


def sorted_dicts(treedef: TreeDef) -> TreeDef:
    """``treedef`` with its dicts rebuilt with their keys sorted, as JAX rebuilds them.

    >>> tree_unflatten(sorted_dicts(tree_flatten({"b": 1, "a": 2})[1]), [2, 1])
    {'a': 2, 'b': 1}
    """
    if treedef.kind is None:
        return treedef
    aux = treedef.aux
    if isinstance(aux, DictKeys):
        aux = tuple(aux)
    elif treedef.kind is defaultdict:
        aux = (aux[0], tuple(aux[1]))
    return TreeDef(treedef.kind, aux, tuple(map(sorted_dicts, treedef.subtrees)), treedef.rebuild,
                   treedef.num_leaves)


def tree_flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list, TreeDef]:
    """Leaves in a fixed order (dict keys sorted), and the structure to rebuild the tree.
    ``is_leaf(node)`` true makes a node a leaf, as in JAX.

    >>> tree_flatten({"b": 2, "a": (1, None)})[0]
    [1, 2]
    >>> tree_flatten({"b": 2, "a": (1, None)}, is_leaf=lambda n: isinstance(n, tuple))[0]
    [(1, None), 2]
    """
    leaves: list = []
    return leaves, _flatten(tree, leaves, is_leaf)


def _flatten(tree, leaves, is_leaf=None) -> TreeDef:
    kind = _registry.get(type(tree))
    if kind is None:
        kind = _node_kind(tree)  # a namedtuple, or a leaf
        if kind is None:
            leaves.append(tree)
            return _LEAF
    if is_leaf is not None and is_leaf(tree):
        leaves.append(tree)
        return _LEAF
    children, aux = kind[0](tree)
    start = len(leaves)
    subtrees = []
    for c in children:
        # a leaf child (an array, a number: most children) is taken here, without the
        # call that would find it is one (arguments are flattened on every transform call)
        if type(c) not in _registry and not isinstance(c, tuple):
            leaves.append(c)
            subtrees.append(_LEAF)
        else:
            subtrees.append(_flatten(c, leaves, is_leaf))
    return TreeDef(type(tree), aux, tuple(subtrees), kind[1], len(leaves) - start)


def tree_unflatten(treedef: TreeDef, leaves) -> Any:
    """Rebuild a tree of ``treedef``'s structure from ``leaves``."""
    it = iter(leaves)
    try:
        out = _unflatten(treedef, it)
    except StopIteration:
        raise ValueError("tree_unflatten: fewer leaves than the structure holds") from None
    if next(it, _sentinel) is not _sentinel:
        raise ValueError("tree_unflatten: more leaves than the structure holds")
    return out


_sentinel = object()


def _unflatten(treedef, it):
    if treedef.kind is None:
        try:
            return next(it)
        except StopIteration:
            raise ValueError("tree_unflatten: fewer leaves than the structure holds") from None
    # (a leaf child, most children, is taken here without a call of its own; running out
    # of leaves raises StopIteration, which tree_unflatten reports)
    return treedef.rebuild(treedef.aux, [next(it) if c.kind is None else _unflatten(c, it)
                                         for c in treedef.subtrees])


def tree_children(x: Any) -> tuple[type, Any, tuple] | None:
    """``(type, aux, children)`` of a container node, or None for a leaf (``None`` counts
    as a leaf here, as an entry of ``in_axes`` does).

    >>> tree_children({"a": 1})
    (<class 'dict'>, ('a',), (1,))
    """
    if x is None:
        return None
    kind = _registry.get(type(x)) or _node_kind(x)
    if kind is None:
        return None
    children, aux = kind[0](x)
    return type(x), aux, tuple(children)


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list:
    return tree_flatten(tree, is_leaf)[0]


def tree_map(f: Callable, tree: Any, *rest: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Apply ``f`` to each leaf (and the matching leaves of ``rest``); ``is_leaf`` as in
    :func:`tree_flatten`.

    >>> tree_map(lambda x: x * 2, {"w": 1.0, "b": [2.0]})
    {'w': 2.0, 'b': [4.0]}
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    others = []
    for r in rest:
        r_leaves, r_def = tree_flatten(r, is_leaf)
        if r_def != treedef:
            raise ValueError(f"tree_map: structures differ: {treedef} and {r_def}")
        others.append(r_leaves)
    return tree_unflatten(treedef, [f(*xs) for xs in zip(leaves, *others, strict=True)])

"""JAX's ``jax.tree_util`` on chainrule's pytrees (nested tuples, lists, dicts,
namedtuples, None, and registered classes such as ``nn.Module``), so that code written
with it runs here; :mod:`chainrule.tree` has the short names of ``jax.tree``.

Leaves come in JAX's order (a dict's by sorted key), ``None`` is a node without
leaves, and key paths name each leaf as JAX's do (``DictKey``, ``SequenceKey``,
``GetAttrKey`` for namedtuple and dataclass fields, ``FlattenedIndexKey`` for other
registered classes).

>>> from chainrule import tree_util
>>> params = {"w": [1.0, 2.0], "b": 0.5}
>>> tree_util.tree_structure(params).num_leaves, tree_util.tree_reduce(lambda a, b: a + b, params)
(3, 3.5)
>>> [tree_util.keystr(p) for p, _ in tree_util.tree_flatten_with_path(params)[0]]
["['b']", "['w'][0]", "['w'][1]"]
"""

from __future__ import annotations

import dataclasses
import functools
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from chainrule.core import pytree
from chainrule.core.pytree import (
    TreeDef,
    register_pytree_node,
    sorted_dicts,
    tree_children,
    tree_leaves,
    tree_unflatten,
)

__all__ = [
    "tree_flatten", "tree_unflatten", "tree_map", "tree_leaves", "tree_structure", "tree_reduce", "tree_all",
    "tree_transpose", "all_leaves", "treedef_is_leaf", "treedef_children", "treedef_tuple", "register_pytree_node",
    "register_pytree_node_class", "register_pytree_with_keys", "register_pytree_with_keys_class",
    "register_dataclass", "register_static", "Partial", "PyTreeDef",
    "DictKey", "SequenceKey", "GetAttrKey", "FlattenedIndexKey", "keystr", "tree_flatten_with_path",
    "tree_leaves_with_path", "tree_map_with_path",
]

PyTreeDef = TreeDef
_NO_INITIALIZER = object()


def tree_flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list, TreeDef]:
    """Leaves (dict keys sorted) and the structure, which rebuilds dicts with their keys
    sorted, as JAX's does.

    >>> tree_unflatten(tree_flatten({"b": 2, "a": 1})[1], [10, 20])
    {'a': 10, 'b': 20}
    """
    leaves, treedef = pytree.tree_flatten(tree, is_leaf)
    return leaves, sorted_dicts(treedef)


def tree_map(f: Callable, tree: Any, *rest: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """``f`` applied to each leaf (and the matching leaves of ``rest``); dicts come back
    with their keys sorted, as JAX's do.

    >>> tree_map(lambda x: x * 2, {"w": 1.0, "b": [2.0]})
    {'b': [4.0], 'w': 2.0}
    """
    leaves, treedef = pytree.tree_flatten(tree, is_leaf)
    # as JAX's: the first tree's structure is a prefix of the others', whose subtrees at its
    # leaves (None included) are passed whole
    others = []
    for k, r in enumerate(rest, start=1):
        try:
            others.append(_up_to(treedef, r))
        except ValueError as e:
            raise ValueError(f"tree_map: tree {k} does not match the first: {e}") from None
    return tree_unflatten(sorted_dicts(treedef), [f(*xs) for xs in zip(leaves, *others, strict=True)])


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> TreeDef:
    """The structure of ``tree`` without its leaves (``.num_leaves``)."""
    return tree_flatten(tree, is_leaf)[1]


def tree_reduce(function: Callable, tree: Any, initializer: Any = _NO_INITIALIZER,
                is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """``functools.reduce`` over the leaves of ``tree``."""
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _NO_INITIALIZER:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_all(tree: Any, *, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Whether every leaf is true."""
    return all(tree_leaves(tree, is_leaf))


def all_leaves(iterable, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Whether every element of ``iterable`` is a leaf; with ``is_leaf``, JAX's test:
    whether the list of them equals its own leaves (``is_leaf`` sees the list too).

    >>> all_leaves([1.0, 2.0]), all_leaves([1.0, None]), all_leaves([[1.0]])
    (True, False, False)
    """
    if is_leaf is None:
        return all(tree_structure(x).kind is None for x in iterable)
    items = list(iterable)
    return items == tree_leaves(items, is_leaf)


def treedef_is_leaf(treedef: TreeDef) -> bool:
    """Whether ``treedef`` is a single node: a leaf, or a node without children (``None``,
    ``()``), as JAX's."""
    return treedef.num_nodes == 1


def treedef_children(treedef: TreeDef) -> list[TreeDef]:
    return list(treedef.subtrees)


def treedef_tuple(treedefs) -> TreeDef:
    """The structure of a tuple whose children have the structures ``treedefs``."""
    treedefs = tuple(treedefs)
    return TreeDef(tuple, None, treedefs, lambda _, c: tuple(c))


def _up_to(treedef: TreeDef, tree: Any) -> list:
    """The subtrees of ``tree`` at the leaves of ``treedef``, a prefix of its structure."""
    return treedef.flatten_up_to(tree)


def tree_transpose(outer_treedef: TreeDef, inner_treedef: TreeDef | None, pytree_to_transpose: Any) -> Any:
    """A tree of ``outer`` structure whose leaves are trees of ``inner`` structure, turned
    into a tree of ``inner`` structure whose leaves are trees of ``outer`` structure
    (``inner_treedef=None``: the structure of the first inner tree).

    >>> tree_transpose(tree_structure([0, 0]), None, [(1, 2), (3, 4)])
    ([1, 3], [2, 4])
    """
    inner_trees = _up_to(outer_treedef, pytree_to_transpose)
    if inner_treedef is None:
        inner_treedef = tree_structure(inner_trees[0])
    columns = []
    for t in inner_trees:
        leaves, structure = tree_flatten(t)
        if structure != inner_treedef:
            raise TypeError(f"tree_transpose: an inner tree has structure {structure}, not {inner_treedef}")
        columns.append(leaves)
    return tree_unflatten(inner_treedef, [tree_unflatten(outer_treedef, list(c)) for c in zip(*columns, strict=True)])


# -- registering classes ----------------------------------------------------------------
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}  # classes whose children are named fields
_KEYED_FLATTEN: dict[type, Callable] = {}  # classes whose flatten names each child's key


def register_pytree_node_class(cls: type) -> type:
    """A class decorator: ``cls`` flattens with its ``tree_flatten()`` method and rebuilds
    with its ``tree_unflatten(aux, children)`` classmethod."""
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def register_pytree_with_keys(nodetype: type, flatten_with_keys: Callable, unflatten_func: Callable,
                              flatten_func: Callable | None = None) -> None:
    """Register ``nodetype`` with ``flatten_with_keys(x) -> ([(key, child), ...], aux)``:
    key paths (:func:`tree_flatten_with_path`) show those keys; ``flatten_func``, if
    given, must give the same children and aux without the keys."""
    def flatten(x):
        pairs, aux = flatten_with_keys(x)
        return tuple(child for _, child in pairs), aux

    register_pytree_node(nodetype, flatten if flatten_func is None else flatten_func, unflatten_func)
    _KEYED_FLATTEN[nodetype] = flatten_with_keys


def register_pytree_with_keys_class(cls: type) -> type:
    """A class decorator: ``cls`` flattens with its ``tree_flatten_with_keys()`` method
    (and ``tree_flatten()``, if it has one) and rebuilds with ``tree_unflatten``."""
    flatten = cls.tree_flatten if hasattr(cls, "tree_flatten") else None
    register_pytree_with_keys(cls, lambda x: x.tree_flatten_with_keys(), cls.tree_unflatten, flatten)
    return cls


def register_dataclass(nodetype: type, data_fields: Sequence[str] | None = None,
                       meta_fields: Sequence[str] | None = None, drop_fields: Sequence[str] = ()) -> type:
    """A dataclass as a node: ``data_fields`` are its children, ``meta_fields`` static
    data (by default, the fields marked ``field(metadata={"static": True})`` are meta)."""
    if data_fields is None or meta_fields is None:
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(f"register_dataclass: {nodetype.__name__} is not a dataclass; give data_fields "
                            "and meta_fields")
        fields = [f for f in dataclasses.fields(nodetype) if f.init and f.name not in drop_fields]
        meta = [f.name for f in fields if f.metadata.get("static", False)]
        data_fields = [f.name for f in fields if f.name not in meta] if data_fields is None else data_fields
        meta_fields = meta if meta_fields is None else meta_fields
    data_fields, meta_fields = tuple(data_fields), tuple(meta_fields)

    def flatten(x):
        return tuple(getattr(x, n) for n in data_fields), tuple(getattr(x, n) for n in meta_fields)

    def unflatten(meta, children):
        return nodetype(**dict(zip(data_fields, children, strict=True)), **dict(zip(meta_fields, meta, strict=True)))

    register_pytree_node(nodetype, flatten, unflatten)
    _FIELD_NAMES[nodetype] = data_fields
    return nodetype


def register_static(cls: type) -> type:
    """``cls``'s instances are static data: nodes without leaves, compared by ``==``."""
    register_pytree_node(cls, lambda x: ((), x), lambda aux, _: aux)
    return cls


class Partial(functools.partial):
    """``functools.partial`` as a pytree node: its bound arguments are its children, so a
    partially applied function passes through transforms as JAX's ``Partial`` does.

    A partial given as the function stays whole, its arguments static (``functools.partial``
    would merge them into the new one's), as in JAX:

    >>> tree_leaves(Partial(Partial(max, 1.0), 2.0)), Partial(Partial(max, 1.0), 2.0)()
    ([2.0], 2.0)
    """

    def __new__(cls, func, *args, **keywords):
        if isinstance(func, functools.partial):
            func = _WholePartial(func)
        return super().__new__(cls, func, *args, **keywords)


class _WholePartial:
    """A partial as the function of a :class:`Partial`: called as it is, compared and
    hashed as it is, with its ``func``, ``args`` and ``keywords`` readable."""

    def __init__(self, partial: functools.partial):
        self.partial = partial
        self.func, self.args, self.keywords = partial.func, partial.args, partial.keywords

    def __call__(self, *args, **kwargs):
        return self.partial(*args, **kwargs)

    def __eq__(self, other) -> bool:
        return self.partial == (other.partial if isinstance(other, _WholePartial) else other)

    def __hash__(self) -> int:
        return hash(self.partial)


register_pytree_node(
    Partial,
    lambda p: ((p.args, p.keywords), p.func),
    lambda func, children: Partial(func, *children[0], **children[1]),
)


# -- key paths --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class DictKey:
    key: Any

    def __str__(self) -> str:
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True)
class SequenceKey:
    idx: int

    def __str__(self) -> str:
        return f"[{self.idx}]"


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    name: str

    def __str__(self) -> str:
        return f".{self.name}"


@dataclasses.dataclass(frozen=True)
class FlattenedIndexKey:
    key: int

    def __str__(self) -> str:
        return f"[<flat index {self.key}>]"


def keystr(keys: Sequence, *, simple: bool = False, separator: str = "") -> str:
    """A key path as text: ``"['w'][0]"``; ``simple=True`` writes each key bare, joined by
    ``separator``.

    >>> path = tree_flatten_with_path({"w": [1.0]})[0][0][0]
    >>> keystr(path), keystr(path, simple=True, separator="/")
    ("['w'][0]", 'w/0')
    """
    return separator.join((_simple_key(k) if simple else str(k)) for k in keys)


def _simple_key(k) -> str:
    if isinstance(k, DictKey | FlattenedIndexKey):
        return str(k.key)
    if isinstance(k, SequenceKey):
        return str(k.idx)
    if isinstance(k, GetAttrKey):
        return k.name
    return str(k)


def _child_keys(node_type: type, aux, n: int) -> list:
    if node_type in (dict, OrderedDict):
        return [DictKey(k) for k in aux]
    if node_type is defaultdict:
        return [DictKey(k) for k in aux[1]]
    if node_type in (list, tuple):
        return [SequenceKey(i) for i in range(n)]
    if issubclass(node_type, tuple) and hasattr(node_type, "_fields"):
        return [GetAttrKey(f) for f in node_type._fields]
    if node_type in _FIELD_NAMES:
        return [GetAttrKey(f) for f in _FIELD_NAMES[node_type]]
    return [FlattenedIndexKey(i) for i in range(n)]


def _with_path(tree, path: tuple, out: list, is_leaf) -> None:
    node = None if (is_leaf is not None and is_leaf(tree)) else tree_children(tree)
    if node is None:
        if tree is not None or (is_leaf is not None and is_leaf(tree)):
            out.append((path, tree))
        return
    node_type, aux, children = node
    keys = ([k for k, _ in _KEYED_FLATTEN[node_type](tree)[0]] if node_type in _KEYED_FLATTEN
            else _child_keys(node_type, aux, len(children)))
    for k, child in zip(keys, children, strict=True):
        _with_path(child, (*path, k), out, is_leaf)


def tree_flatten_with_path(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list, TreeDef]:
    """``([(key path, leaf), ...], structure)``, leaves in :func:`tree_flatten`'s order."""
    out: list = []
    _with_path(tree, (), out, is_leaf)
    return out, tree_structure(tree, is_leaf)


def tree_leaves_with_path(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list:
    return tree_flatten_with_path(tree, is_leaf)[0]


def tree_map_with_path(f: Callable, tree: Any, *rest: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """``f(path, leaf, *matching leaves of rest)`` for each leaf."""
    pairs, treedef = tree_flatten_with_path(tree, is_leaf)
    others = [_up_to(treedef, r) for r in rest]
    return tree_unflatten(treedef, [f(p, x, *xs) for (p, x), *xs in zip(pairs, *others, strict=True)])

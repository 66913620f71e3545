"""chainrule.tree_util and chainrule.tree against jax.tree_util and jax.tree: the same
leaves, orders, key paths and results on the trees JAX programs pass around."""

import collections
import dataclasses
import functools

import numpy as np
import pytest

import chainrule as cr
from chainrule import tree, tree_util

jax = pytest.importorskip("jax")
jtu = jax.tree_util

Point = collections.namedtuple("Point", ["x", "y"])

TREES = [
    {"w": [1.0, 2.0], "b": 0.5},
    [(1, 2), {"z": 3, "a": (4, None)}, []],
    Point(1.0, {"k": [2.0, 3.0]}),
    collections.OrderedDict([("second", 1), ("first", 2)]),
    {"params": {"dense": {"kernel": np.ones((2, 2)), "bias": np.zeros(2)}}, "step": 3},
    (None, 5, [None, 6]),
    {10: 1.0, 9: 2.0, 100: 3.0, -1: 4.0},  # keys sorted as numbers, as JAX's
    {(1, 10): 1.0, (1, 2): 2.0},
]


@pytest.mark.parametrize("t", TREES, ids=range(len(TREES)))
def test_leaves_structure_and_paths_are_jaxs(t):
    assert [np.asarray(v).tolist() for v in tree_util.tree_leaves(t)] == \
        [np.asarray(v).tolist() for v in jtu.tree_leaves(t)]
    assert tree_util.tree_structure(t).num_leaves == jtu.tree_structure(t).num_leaves
    ours = [tree_util.keystr(p) for p, _ in tree_util.tree_flatten_with_path(t)[0]]
    theirs = [jtu.keystr(p) for p, _ in jtu.tree_flatten_with_path(t)[0]]
    assert ours == theirs
    f = lambda path, v: (len(path), np.asarray(v).sum())  # noqa: E731
    assert str(tree_util.tree_map_with_path(f, t)) == str(jtu.tree_map_with_path(f, t))
    assert tree_util.tree_reduce(lambda a, b: a + np.sum(b), t, 0) == jtu.tree_reduce(lambda a, b: a + np.sum(b), t, 0)
    assert tree.map(lambda v: v, t) is not t and str(tree.map(lambda v: v, t)) == str(jax.tree.map(lambda v: v, t))
    try:
        theirs_all = jtu.tree_all(t)
    except ValueError:  # leaves that are arrays of several elements have no truth value
        with pytest.raises(ValueError):
            tree_util.tree_all(t)
    else:
        assert tree_util.tree_all(t) == theirs_all


def test_transpose_registered_classes_partial_and_static():
    outer = tree_util.tree_structure([0, 0, 0])
    inner = tree_util.tree_structure((0, 0))
    x = [(1, 2), (3, 4), (5, 6)]
    assert tree_util.tree_transpose(outer, inner, x) == jtu.tree_transpose(jtu.tree_structure([0, 0, 0]),
                                                                             jtu.tree_structure((0, 0)), x)

    @tree_util.register_pytree_node_class
    class Box:
        def __init__(self, a, b, name):
            self.a, self.b, self.name = a, b, name

        def tree_flatten(self):
            return (self.a, self.b), self.name

        @classmethod
        def tree_unflatten(cls, name, children):
            return cls(*children, name)

    doubled = tree_util.tree_map(lambda v: v * 2, Box(1.0, [2.0], "box"))
    assert (doubled.a, doubled.b, doubled.name) == (2.0, [4.0], "box")
    assert [tree_util.keystr(p) for p, _ in tree_util.tree_leaves_with_path(Box(1, 2, "n"))] == \
        ["[<flat index 0>]", "[<flat index 1>]"]

    @functools.partial(tree_util.register_dataclass, data_fields=["w"], meta_fields=["act"])
    @dataclasses.dataclass
    class Layer:
        w: object
        act: str

    g = cr.grad(lambda layer: cr.numpy.sum(layer.w ** 2))(Layer(np.array([1.0, 2.0]), "relu"))
    assert g.act == "relu" and g.w.tolist() == [2.0, 4.0]
    assert [tree_util.keystr(p) for p, _ in tree_util.tree_leaves_with_path(Layer(1, "x"))] == [".w"]

    scale = tree_util.Partial(lambda s, v: s * v, np.array(3.0))
    assert tree_util.tree_leaves(scale)[0] == 3.0
    assert float(cr.jit(lambda f, v: f(v))(scale, 2.0)) == 6.0

    @tree_util.register_static
    class Config:
        def __init__(self, n):
            self.n = n

        def __eq__(self, other):
            return isinstance(other, Config) and other.n == self.n

    assert tree_util.tree_leaves({"c": Config(3), "x": 1.0}) == [1.0]
    assert tree_util.all_leaves([1, 2.0, np.ones(2)]) and not tree_util.all_leaves([[1]])
    assert tree_util.treedef_is_leaf(tree_util.tree_structure(1.0))
    assert len(tree_util.treedef_children(tree_util.tree_structure((1, [2, 3])))) == 2
    with pytest.raises(ValueError, match="does not have the structure"):
        tree_util.tree_map_with_path(lambda p, a, b: a, [1, 2], (1, 2))


# tree_map(f, tree, *rest): the first tree's structure is a prefix of the others', whose
# subtrees at its leaves (None included) reach f whole; other structures are refused
MAPS = {  # name: (f, trees, the message where JAX raises)
    "None at a leaf of the first": (lambda x, y: x if y is None else x - y, ([1.0, 2.0], [None, 0.5]), None),
    "deeper second tree": (lambda x, y: x * len(y), ([1.0, 2.0], [(1, 2), [3, 4, 5]]), None),
    "dicts in other orders": (lambda x, y: x - y, ({"b": 1.0, "a": 2.0}, {"a": 0.5, "b": 0.25}), None),
    "is_leaf on the first only": (lambda x, y: y, ({"a": (1, 2)}, {"a": 3}), None),
    "dicts with other keys": (lambda x, y: x, ({"a": 1, "b": 2}, {"a": 1, "c": 2}), r"tree 1 .*keys \['a', 'c'\]"),
    "a list for a tuple": (lambda x, y: x, ([1], (1,)), r"tree_map: tree 1 does not match"),
    "a leaf where the first has None": (lambda x, y: y, ([None, 1], [1, 1]), r"tree 1"),
    # JAX compares every node's metadata: OrderedDicts' keys in order, registered classes' aux
    "OrderedDicts in other orders": (lambda x, y: x + y, (collections.OrderedDict(b=1, a=2),
                                                           collections.OrderedDict(a=1, b=2)), r"tree 1"),
    "defaultdicts with other keys": (lambda x, y: x, (collections.defaultdict(int, a=1),
                                                      collections.defaultdict(int, b=1)), r"tree 1"),
}


@pytest.mark.parametrize("name", MAPS)
def test_tree_map_reads_the_other_trees_up_to_the_first_as_jax(name):
    f, trees, message = MAPS[name]
    is_leaf = (lambda t: isinstance(t, tuple)) if name.startswith("is_leaf") else None
    if message is not None:
        with pytest.raises(ValueError):
            jtu.tree_map(f, *trees, is_leaf=is_leaf)
        with pytest.raises(ValueError, match=message):
            tree_util.tree_map(f, *trees, is_leaf=is_leaf)
    else:
        assert tree_util.tree_map(f, *trees, is_leaf=is_leaf) == jtu.tree_map(f, *trees, is_leaf=is_leaf)


def test_structures_are_hashable_as_jaxs():
    # a structure keys caches and is a static argument of jit, as Equinox's filter_jit passes it
    a, b = tree_util.tree_structure({"w": [1, 2], "f": None}), tree_util.tree_structure({"w": [3, 4], "f": None})
    assert hash(a) == hash(b) and a == b and len({a, b}) == 1
    assert hash(jtu.tree_structure({"w": [1, 2], "f": None})) is not None
    assert tree_util.tree_structure((1, 2)) not in {a}

    @functools.partial(cr.jit, static_argnums=1)
    def rebuild(leaves, treedef):
        return tree_util.tree_unflatten(treedef, leaves)

    assert rebuild([np.ones(2), np.zeros(2)], a)["w"][1].tolist() == [0.0, 0.0]
    assert rebuild([np.ones(2), np.ones(2)], b)["w"][1].tolist() == [1.0, 1.0]


def test_small_differences_from_jax_tree_util():
    # a node without children is a leaf of a structure; keystr's simple form
    for t in (None, (), [], 1.0, [1.0]):
        assert tree_util.treedef_is_leaf(tree_util.tree_structure(t)) == jtu.treedef_is_leaf(jtu.tree_structure(t))
    path = tree_util.tree_flatten_with_path({"a": [Point(1, 2)]})[0][1][0]
    assert tree_util.keystr(path, simple=True, separator="/") == "a/0/y"
    jpath = jtu.tree_flatten_with_path({"a": [Point(1, 2)]})[0][1][0]
    assert jtu.keystr(jpath, simple=True, separator="/") == "a/0/y"
    # a Partial of a partial keeps the inner one whole: only the outer arguments are leaves
    f = lambda a, b, c: a * b + c  # noqa: E731
    p, jp = tree_util.Partial(tree_util.Partial(f, 2.0), 3.0), jtu.Partial(jtu.Partial(f, 2.0), 3.0)
    assert tree_util.tree_leaves(p) == jtu.tree_leaves(jp) == [3.0]
    assert p(1.0) == jp(1.0) == 7.0
    assert cr.grad(lambda q: q(1.0))(p).args == (2.0,)
    # all_leaves with is_leaf: JAX's test, the list against its own leaves
    for items in ([[1], [2]], [1, 2], [(1,), 2]):
        is_leaf = lambda x: isinstance(x, list)  # noqa: E731
        assert tree_util.all_leaves(items, is_leaf) == jtu.all_leaves(items, is_leaf)

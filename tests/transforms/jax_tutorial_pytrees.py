"""The Pytrees tutorial's programs for ``test_jax_tutorial_programs``: custom containers
registered by functions, by class methods and with keys, namedtuples, ``None`` leaves,
``tree_transpose``, ``is_leaf``, and transforms of registered classes; each written once
over ``(lib, npm)``."""

from collections import namedtuple
from typing import Any, NamedTuple

import jax
import numpy as np

import chainrule as cr

Point = namedtuple("Point", ["x", "y"])
X5 = np.linspace(-2.0, 2.0, 5)
XS = np.stack([np.arange(5.0), np.arange(5.0) * 2])


def nn_of(lib):
    return jax.nn if lib is jax else cr.jax_nn


# ---- Pytrees ---------------------------------------------------------------------------


class MyContainer:
    """A custom container, registered by functions."""

    def __init__(self, name: str, a: Any, b: Any, c: Any):
        self.name, self.a, self.b, self.c = name, a, b, c


class MyOtherContainer(NamedTuple):
    name: str
    a: Any
    b: Any
    c: Any


def flatten_my_container(container):
    return [container.a, container.b, container.c], container.name


def unflatten_my_container(aux_data, flat_contents):
    return MyContainer(aux_data, *flat_contents)


def make_special(register):
    @register
    class Special:
        def __init__(self, x, y):
            self.x, self.y = x, y

        def tree_flatten(self):
            return ((self.x, self.y), None)

        @classmethod
        def tree_unflatten(cls, aux_data, children):
            return cls(*children)

    return Special


for _tu in (cr.tree_util, jax.tree_util):
    _tu.register_pytree_node(MyContainer, flatten_my_container, unflatten_my_container)
SPECIAL = {cr: make_special(cr.tree_util.register_pytree_node_class),
           jax: make_special(jax.tree_util.register_pytree_node_class)}


def make_keyed(tree_util):
    class MyKeyPathContainer(MyContainer):
        pass

    def flatten_with_keys(obj):
        children = [(tree_util.GetAttrKey(name), getattr(obj, name)) for name in ("a", "b", "c")]
        return children, obj.name

    tree_util.register_pytree_with_keys(MyKeyPathContainer, flatten_with_keys, unflatten_my_container)

    @tree_util.register_pytree_with_keys_class
    class Special:
        def __init__(self, x, y):
            self.x, self.y = x, y

        def tree_flatten_with_keys(self):
            return (((tree_util.GetAttrKey("x"), self.x), (tree_util.GetAttrKey("y"), self.y)), None)

        @classmethod
        def tree_unflatten(cls, aux_data, children):
            return cls(*children)

    return MyKeyPathContainer, Special


KEYED = {cr: make_keyed(cr.tree_util), jax: make_keyed(jax.tree_util)}


def pytree_key_paths(lib, npm):
    tu = lib.tree_util
    keyed, special = KEYED[lib]
    tree = [keyed("Alice", 1, {"k": 2}, (3,)), special(4.0, [5.0, None]), MyContainer("Bob", 6, 7, 8)]
    flattened, _ = tu.tree_flatten_with_path(tree)
    doubled = tu.tree_map_with_path(lambda p, v: (tu.keystr(p), v * 2), tree)
    grads = lib.grad(lambda t: t[0].a * npm.sin(t[0].b["k"]) + t[1].x * t[1].y[0])(
        [keyed("Carol", 1.5, {"k": 0.5}, None), special(2.0, [3.0, None])])
    return ([(tu.keystr(k), repr(k), v) for k, v in flattened], tu.tree_leaves(doubled),
            [grads[0].a, grads[0].b, grads[1].x, grads[1].y], grads[0].name)


def init_mlp_params(layer_widths):
    rng = np.random.default_rng(1)
    params = []
    for n_in, n_out in zip(layer_widths[:-1], layer_widths[1:], strict=True):
        params.append(dict(weights=rng.normal(size=(n_in, n_out)) * np.sqrt(2 / n_in), biases=np.ones(shape=(n_out,))))
    return params


def pytree_mlp(lib, npm):
    tu, relu = lib.tree_util, nn_of(lib).relu
    params = init_mlp_params([1, 8, 8, 1])
    xs = np.linspace(-1, 1, 6).reshape(6, 1)
    ys = xs**2

    def forward(params, x):
        *hidden, last = params
        for layer in hidden:
            x = relu(x @ layer["weights"] + layer["biases"])
        return x @ last["weights"] + last["biases"]

    def loss_fn(params, x, y):
        return npm.mean((forward(params, x) - y) ** 2)

    @lib.jit
    def update(params, x, y):
        grads = lib.grad(loss_fn)(params, x, y)
        return tu.tree_map(lambda p, g: p - 0.01 * g, params, grads)

    for _ in range(3):
        params = update(params, xs, ys)
    return params, [tuple(s) for s in tu.tree_leaves(tu.tree_map(lambda x: np.shape(x), params),
                                                     is_leaf=lambda v: isinstance(v, tuple))]


def pytree_utilities(lib, npm):
    tu = lib.tree_util
    example_trees = [[1, "a", None], (1, (2, 3), ()), [1, {"k1": 2, "k2": (3, 4)}, 5], {"a": 2, "b": (2, 3)},
                     np.array([1, 2, 3])]
    leaves = [tu.tree_leaves(t) for t in example_trees]
    list_of_lists = [[1, 2, 3], [1, 2], [1, 2, 3, 4]]
    Special = SPECIAL[lib]
    containers = [MyContainer("Alice", 1, 2, 3), MyContainer("Bob", 4, 5, 6)]
    others = [MyOtherContainer("Alice", 1, 2, 3), MyOtherContainer("Bob", 4, 5, 6)]
    doubled = tu.tree_map(lambda x: x * 2, containers)
    episode_steps = [dict(t=1, obs=3), dict(t=2, obs=4)]
    transposed = tu.tree_map(lambda *xs: list(xs), *episode_steps)
    by_library = tu.tree_transpose(tu.tree_structure([0 for e in episode_steps]),
                                   tu.tree_structure(episode_steps[0]), episode_steps)
    special = tu.tree_map(lambda v: v + 1, Special(1.0, (2.0, 3.0)))
    leaves_kept = tu.tree_leaves(containers, is_leaf=lambda x: isinstance(x, MyContainer))
    return (leaves, tu.tree_map(lambda x: x * 2, list_of_lists), tu.tree_map(lambda x, y: x + y, list_of_lists,
                                                                              list_of_lists),
            tu.tree_leaves(containers), tu.tree_leaves(others), [(c.name, c.a, c.c) for c in doubled], transposed,
            by_library, [special.x, special.y], tu.tree_leaves([None, None, None]),
            tu.tree_structure([None, None, None]).num_leaves, tu.tree_structure(containers[0]).num_leaves,
            [c.name for c in leaves_kept],
            tu.tree_map(lambda x: [x], [1, [2, 3]], is_leaf=lambda x: isinstance(x, int)),
            tu.tree_unflatten(tu.tree_structure({"a": 1, "b": (2, None)}), [10, 20]),
            [tu.keystr(p) for p, _ in tu.tree_flatten_with_path({"a": [1, Point(2, 3)], "b": 4})[0]],
            [str(tu.tree_structure(t)) for t in ([None, None, None], [1, None, {"b": 1, "a": (2,)}], Point(1, ()),
                                                 containers[0], Special(1.0, [2.0]), episode_steps)],
            tu.tree_structure({"a": 1, "b": (2, 3)}).unflatten([7, 8, 9]),
            tu.tree_structure([0, 0]).flatten_up_to([(1, 2), {"a": 3}]),
            tu.tree_structure([1, (2, 3), None, containers[0]]).num_nodes,
            str(tu.treedef_tuple([tu.tree_structure(1), tu.tree_structure([1, None])])),
            tu.tree_unflatten(tu.treedef_tuple([tu.tree_structure(1), tu.tree_structure([1])]), [5, 6]),
            [str(c) for c in tu.tree_structure((1, [2, None], {"a": 3})).children()],
            [repr(tu.tree_structure(t).node_data()) for t in (1, (1, 2), [3], {"b": 1, "a": 2})])


def pytree_transforms(lib, npm):
    Special = SPECIAL[lib]

    def loss(c):
        return npm.sum(npm.sin(c.a) * c.b) + c.c**2

    def loss_special(s):
        return npm.sum(s.x * npm.cos(s.y[0]) + s.y[1] ** 3)

    def loss_named(c):
        return npm.sum(c.a * c.b * c.c)

    c = MyContainer("Alice", X5, X5[::-1], 0.5)
    s = Special(X5, (X5 * 2, X5 - 1))
    gc, gs = lib.grad(loss)(c), lib.grad(loss_special)(s)
    gn = lib.grad(loss_named)(MyOtherContainer(1.0, X5, X5 + 1, 2.0)._replace(name=None))
    vm = lib.vmap(lambda c: loss(c))(MyContainer("Bob", XS, XS + 1, np.array([1.0, 2.0])))
    jt = lib.jit(lib.grad(loss_special))(s)
    nones = lib.grad(lambda t: npm.sum(t[0] ** 2) + t[2]["k"] * 3)((X5, None, {"k": 1.5, "z": None}))
    return (gc.name, gc.a, gc.b, gc.c, gs.x, gs.y, gn, vm, jt.x, jt.y, nones)

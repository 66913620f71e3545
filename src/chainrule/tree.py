"""JAX's ``jax.tree``: the pytree functions under their short names (``tree.map``,
``tree.leaves``, ...); see :mod:`chainrule.tree_util`.

>>> from chainrule import tree
>>> tree.map(lambda x: x * 2, {"a": 1, "b": (2, 3)})
{'a': 2, 'b': (4, 6)}
"""

from chainrule.tree_util import (
    tree_all as all,  # noqa: A004
)
from chainrule.tree_util import (
    tree_flatten as flatten,
)
from chainrule.tree_util import (
    tree_flatten_with_path as flatten_with_path,
)
from chainrule.tree_util import (
    tree_leaves as leaves,
)
from chainrule.tree_util import (
    tree_leaves_with_path as leaves_with_path,
)
from chainrule.tree_util import (
    tree_map as map,  # noqa: A004
)
from chainrule.tree_util import (
    tree_map_with_path as map_with_path,
)
from chainrule.tree_util import (
    tree_reduce as reduce,
)
from chainrule.tree_util import (
    tree_structure as structure,
)
from chainrule.tree_util import (
    tree_transpose as transpose,
)
from chainrule.tree_util import (
    tree_unflatten as unflatten,
)

__all__ = ["all", "flatten", "flatten_with_path", "leaves", "leaves_with_path", "map", "map_with_path", "reduce",
           "structure", "transpose", "unflatten"]

"""JAX's out-of-place indexed updates on Tensors: ``x.at[index].set(v)``, ``.add``,
``.subtract``, ``.multiply``, ``.divide``, ``.power``, ``.min``, ``.max``, ``.apply`` and
``.get``, differentiable in ``x`` and ``v`` and batched under ``vmap``.

``add`` and ``subtract`` accumulate at repeated indices (one scatter-add), as JAX does;
``set`` keeps the last of repeated writes (NumPy's order). The others combine the element
with the update once, which is JAX's result only when no index repeats: an integer-array
index that repeats is refused for them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.tensor import Tensor
from chainrule.numpy.broadcasting import shape_of
from chainrule.numpy.nondiff import batched
from chainrule.numpy.shape.indexing import _plain_index
from chainrule.numpy.shape.primitives import index_update, scatter_add


class IndexedUpdates:
    """``x.at``: ``x.at[index]`` names the elements an update is for."""

    __slots__ = ("_x",)

    def __init__(self, x):
        self._x = x

    def __getitem__(self, index) -> IndexedUpdate:
        return IndexedUpdate(self._x, index)


class IndexedUpdate:
    """The elements ``x[index]``, and what can be done to them out of place.

    >>> import chainrule as cr, numpy as np
    >>> cr.tensor(np.zeros(3)).at[np.array([0, 0, 2])].add(1.0).tolist()
    [2.0, 0.0, 1.0]
    """

    __slots__ = ("_x", "_index")

    def __init__(self, x, index):
        self._x = x
        self._index = index if type(index) in (int, slice) else _plain_index(index)

    def get(self):
        return cnp.getitem(self._x, self._index)

    def set(self, values):
        return index_update(self._x, self._index, values)

    def add(self, values):
        selected = shape_of(self.get())
        spread = cnp.broadcast_to(cnp.astype(values, self._x.dtype) if isinstance(values, Tensor)
                                  else np.asarray(values, self._x.dtype), selected)
        return self._x + scatter_add(spread, self._index, shape_of(self._x))

    def subtract(self, values):
        return self.add(-values)

    def multiply(self, values):
        return self._combine(cnp.multiply, values, "multiply")

    def divide(self, values):
        return self._combine(cnp.divide, values, "divide")

    def power(self, values):
        return self._combine(cnp.power, values, "power")

    def min(self, values):
        return self._combine(cnp.minimum, values, "min")

    def max(self, values):
        return self._combine(cnp.maximum, values, "max")

    def apply(self, func: Callable):
        return self._combine(lambda old, _: func(old), None, "apply")

    def _combine(self, op: Callable, values, name: str):
        self._refuse_repeats(name)
        new = op(self.get(), values)
        return index_update(self._x, self._index, cnp.astype(new, self._x.dtype)
                            if new.dtype != self._x.dtype else new)

    def _refuse_repeats(self, name: str) -> None:
        items = self._index if isinstance(self._index, tuple) else (self._index,)
        arrays = [i for i in items if isinstance(i, np.ndarray | Tensor) and i.dtype != bool]
        if not arrays or int(np.prod(np.broadcast_shapes(*map(shape_of, arrays)))) <= 1:
            return  # one element per example, or basic indexing: nothing repeats
        if not any(batched(i) for i in arrays):
            positions = np.arange(int(np.prod(shape_of(self._x)))).reshape(shape_of(self._x))
            chosen = positions[tuple(np.asarray(i.primal() if isinstance(i, Tensor) else i)
                                     if isinstance(i, np.ndarray | Tensor) else i for i in items)]
            if len(np.unique(chosen)) == chosen.size:
                return
        raise NotImplementedError(
            f"x.at[index].{name}: an integer-array index that may repeat an element (JAX "
            f"combines repeated updates; chainrule.numpy does so only for add and subtract). "
            "Use .add, or an index without repeats"
        )

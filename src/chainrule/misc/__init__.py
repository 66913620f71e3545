"""HIPS autograd's ``misc``: ``flatten``, ``optimizers``, ``fixed_points``, ``tracers``.

>>> import numpy as np
>>> flat, unflatten = flatten({"w": np.ones(2), "b": 3.0})
>>> flat
array([3., 1., 1.])
>>> unflatten(flat)
{'w': array([1., 1.]), 'b': np.float64(3.0)}
"""

from chainrule.misc.flatten import flatten
from chainrule.misc.tracers import const_graph

__all__ = ["flatten", "const_graph"]

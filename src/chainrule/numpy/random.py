"""``chainrule.numpy.random``: NumPy's random module, importable from the mirror.

``import chainrule.numpy.random as npr`` gives every name of ``numpy.random`` (random
numbers have no derivative, so these are NumPy's own functions), as
``autograd.numpy.random`` does.

>>> import chainrule.numpy.random as npr
>>> npr.RandomState(0).randn(2).shape
(2,)
"""

from __future__ import annotations

import numpy.random as _npr

__all__ = [name for name in dir(_npr) if not name.startswith("_")]
globals().update({name: getattr(_npr, name) for name in __all__})


def __getattr__(name: str):
    try:
        return getattr(_npr, name)
    except AttributeError:
        raise AttributeError(f"module 'chainrule.numpy.random' has no attribute {name!r}") from None

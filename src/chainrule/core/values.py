"""Small helpers on values that every layer needs, each defined once.

* :func:`plain`: the NumPy value under a Tensor (lists and tuples looked into).
* :func:`zeros_like`: zeros like a value, as the numpy mirror makes them (a batched value
  under ``vmap``, a recorded one under ``jit``).
"""

from __future__ import annotations

from chainrule.core.tensor import Tensor

__all__ = ["plain", "zeros_like"]


def plain(x):
    """The plain NumPy value under ``x`` (lists and tuples looked into); no gradient flows
    through it, and under ``chainrule.jit`` reading it guards the recorded program.

    >>> import chainrule as cr
    >>> plain([cr.tensor(1.0), 2.0])
    [array(1.), 2.0]
    """
    if isinstance(x, Tensor):
        return x.primal()
    if isinstance(x, list | tuple) and any(isinstance(v, Tensor) for v in x):
        return type(x)(plain(v) for v in x)
    return x


def zeros_like(x):
    """Zeros of ``x``'s shape and dtype, made by the numpy mirror's ``zeros_like``.

    >>> float(zeros_like(3.0))
    0.0
    """
    # The one place where the core reaches the mirror for a value (see the layering test).
    from chainrule.numpy import zeros_like as mirror_zeros_like

    return mirror_zeros_like(x)

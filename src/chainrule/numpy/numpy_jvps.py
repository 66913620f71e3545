"""HIPS autograd's ``numpy_jvps`` helper that extension code imports: ``broadcast``.

chainrule's own forward rules sit beside the reverse ones in the family modules
(``elementwise``, ``reductions``, ...); this module gives autograd's helper with
autograd's signature, written with ``chainrule.numpy`` so that a rule built from it
differentiates again (tidy3d's ``add_at`` forward rule is ``broadcast(g, ans)``).

>>> import numpy as np
>>> broadcast(np.array([1.0, 2.0]), np.zeros((3, 2)))
array([[1., 2.],
       [1., 2.],
       [1., 2.]])
"""

from __future__ import annotations

from typing import Any

import chainrule.numpy as cnp
from chainrule.numpy.numpy_vjps import metadata

__all__ = ["broadcast"]


def broadcast(x: Any, target: Any) -> Any:
    """``x`` repeated to ``target``'s shape (leading axes added, axes of length 1
    repeated), and complex if ``target`` is: a tangent for an output that broadcast it.

    >>> import numpy as np
    >>> broadcast(np.float64(2.0), np.zeros(2, complex))
    array([2.+0.j, 2.+0.j])
    """
    target_shape, target_ndim, _dtype, target_iscomplex = metadata(target)
    while cnp.ndim(x) < target_ndim:
        x = cnp.expand_dims(x, 0)
    for axis, size in enumerate(cnp.shape(x)):
        if size == 1:
            x = cnp.repeat(x, target_shape[axis], axis=axis)
    if target_iscomplex and not cnp.iscomplexobj(x):
        x = x + 0j
    return x

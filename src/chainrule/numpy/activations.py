"""The two activations that ``Tensor`` has methods for, as primitives of the mirror.

``Tensor.relu()`` / ``Tensor.sigmoid()`` and ``chainrule.nn.functional.relu`` /
``sigmoid`` are these same primitives, so the eager methods and the layers agree on
every derivative (ReLU's derivative at 0 is 0, as in PyTorch).
"""

from __future__ import annotations

import numpy as np

from chainrule.core.primitive import Primitive, def_batch, def_jvps, def_vjps, keeps_only
from chainrule.core.tensor import undifferentiated
from chainrule.numpy import batching
from chainrule.numpy.selection import where

__all__ = ["relu", "sigmoid"]

def _relu(x, out=None):
    # out=: chainrule.jit's replay writes the result into a buffer it reuses, which may
    # be x's own once x is dead (each element is read before it is written). x where it is
    # not negative, -0.0 included, as PyTorch's (np.maximum(-0.0, 0) is 0.0)
    negative = x < 0
    if out is None:
        return np.where(negative, np.zeros((), np.result_type(x)), x)
    np.copyto(out, x)
    np.putmask(out, negative, 0)
    return out


_relu.writes_out = "elementwise"
relu = Primitive(_relu, name="relu")
# The derivative at 0 is taken as 0 and at NaN as 1, as in PyTorch (its backward keeps the
# gradient where the result is not <= 0); selected, so an infinite g where x < 0 gives 0.
def_vjps(relu, lambda g, ans, x: where(undifferentiated(ans) <= 0, 0.0, g))
def_jvps(relu, lambda t, ans, x: where(undifferentiated(ans) <= 0, 0.0, t))


def _sigmoid(x):
    if np.iscomplexobj(x):  # (|x| would be the modulus)
        return 1 / (1 + np.exp(-x))
    # exp of a non-positive number only: no overflow, full relative precision both ways
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


sigmoid = Primitive(_sigmoid, name="sigmoid")
def_vjps(sigmoid, lambda g, ans, x: g * (ans * (1 - ans)))
def_jvps(sigmoid, lambda t, ans, x: t * (ans * (1 - ans)))
def_batch(batching.elementwise, relu, sigmoid)
# Their rules read the output alone (as PyTorch's, which saves the result): a trace keeps
# that, and an in-place write into the input before the backward pass is harmless
keeps_only("output", relu, sigmoid)

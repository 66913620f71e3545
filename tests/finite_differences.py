"""Central differences in float64: the oracle that gradients in the tests are checked against."""

import numpy as np


def central_differences(f, x, h=1e-6):
    """The gradient of the scalar function ``f`` at the array ``x`` (float64 for a true check), one element at a time.

    >>> central_differences(lambda v: float((v ** 2).sum()), np.array([1.0, -2.0])).round(6)
    array([ 2., -4.])
    """
    x = np.asarray(x)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        grad[index] = (f(x + step) - f(x - step)) / (2 * h)
    return grad

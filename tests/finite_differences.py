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


def central_hessian(f, x, h=1e-4):
    """The Hessian of the scalar function ``f`` at ``x``, shape ``x.shape * 2``: central
    differences of the central-difference gradient (accurate to about 1e-8 in float64).

    >>> central_hessian(lambda v: float(v[0] ** 2 * v[1]), np.array([1.0, 2.0])).round(6)
    array([[4., 2.],
           [2., 0.]])
    """
    x = np.asarray(x, dtype=float)
    steps = h * np.eye(x.size).reshape((x.size,) + x.shape)
    columns = [(central_differences(f, x + e, h) - central_differences(f, x - e, h)) / (2 * h) for e in steps]
    return np.stack(columns, axis=-1).reshape(x.shape * 2)

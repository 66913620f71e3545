"""JAX's ``jax.nn.initializers``: each returns ``init(key, shape, dtype=None)``, which draws
from :mod:`chainrule.random` with the key as JAX's does, so the same key gives JAX's
initial weights (to the roundings of ``normal`` and ``truncated_normal``).

>>> from chainrule import random
>>> from chainrule.jax_nn import initializers
>>> initializers.glorot_uniform()(random.PRNGKey(0), (3, 2)).shape
(3, 2)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

import chainrule.numpy as cnp
from chainrule import random

__all__ = ["zeros", "ones", "constant", "normal", "uniform", "truncated_normal", "variance_scaling",
           "glorot_normal", "glorot_uniform", "xavier_normal", "xavier_uniform", "he_normal", "he_uniform",
           "kaiming_normal", "kaiming_uniform", "lecun_normal", "lecun_uniform", "orthogonal"]

Initializer = Callable


def _dtype(dtype) -> np.dtype:
    return np.dtype(np.float64 if dtype is None else dtype)


def zeros(key, shape: Sequence[int], dtype=None):
    return np.zeros(tuple(shape), _dtype(dtype))


def ones(key, shape: Sequence[int], dtype=None):
    return np.ones(tuple(shape), _dtype(dtype))


def constant(value, dtype=None) -> Initializer:
    def init(key, shape, dtype=dtype):
        return np.full(tuple(shape), value, _dtype(dtype))
    return init


def normal(stddev: float = 1e-2, dtype=None) -> Initializer:
    def init(key, shape, dtype=dtype):
        dt = _dtype(dtype)
        return random.normal(key, shape, dt) * np.asarray(stddev, dt)
    return init


def uniform(scale: float = 1e-2, dtype=None) -> Initializer:
    def init(key, shape, dtype=dtype):
        dt = _dtype(dtype)
        return random.uniform(key, shape, dt) * np.asarray(scale, dt)
    return init


def truncated_normal(stddev: float = 1e-2, dtype=None, lower: float = -2.0, upper: float = 2.0) -> Initializer:
    def init(key, shape, dtype=dtype):
        dt = _dtype(dtype)
        return random.truncated_normal(key, lower, upper, shape, dt) * np.asarray(stddev, dt)
    return init


def _fans(shape: tuple, in_axis, out_axis, batch_axis) -> tuple[float, float]:
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(f"cannot compute the input and output sizes of a {len(shape)}-d weight with the default "
                         "in_axis; it must be at least 2-d, or give in_axis")

    def size(axes):
        return shape[axes] if isinstance(axes, int) else math.prod(shape[a] for a in axes)

    in_size, out_size, batch = size(in_axis), size(out_axis), size(batch_axis)
    receptive = math.prod(shape) / in_size / out_size / batch
    return in_size * receptive, out_size * receptive


def variance_scaling(scale: float, mode: str, distribution: str, in_axis: int | Sequence[int] = -2,
                     out_axis: int | Sequence[int] = -1, batch_axis: int | Sequence[int] = (),
                     dtype=None) -> Initializer:
    """Draws with variance ``scale / n``, ``n`` the fan in, out, their mean
    (``"fan_avg"``) or geometric mean (``"fan_geo_avg"``), from a ``"truncated_normal"``,
    ``"normal"`` or ``"uniform"`` distribution."""
    if distribution not in ("truncated_normal", "normal", "uniform"):
        raise ValueError(f"invalid distribution for variance scaling initializer: {distribution}")

    def init(key, shape, dtype=dtype):
        shape, dt = tuple(shape), _dtype(dtype)
        fan_in, fan_out = _fans(shape, in_axis, out_axis, batch_axis)
        denominators = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2,
                        "fan_geo_avg": (fan_in * fan_out) ** 0.5}
        if mode not in denominators:
            raise ValueError(f"invalid mode for variance scaling initializer: {mode}")
        variance = np.asarray(scale / denominators[mode], dt)
        if distribution == "truncated_normal":
            # the standard deviation of a standard normal truncated to (-2, 2)
            stddev = np.sqrt(variance) / np.asarray(0.87962566103423978, dt)
            return random.truncated_normal(key, -2, 2, shape, dt) * stddev
        if distribution == "normal":
            return random.normal(key, shape, dt) * np.sqrt(variance)
        return random.uniform(key, shape, dt, -1) * np.sqrt(3 * variance)

    return init


def glorot_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None) -> Initializer:
    return variance_scaling(1.0, "fan_avg", "uniform", in_axis, out_axis, batch_axis, dtype)


def glorot_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None) -> Initializer:
    return variance_scaling(1.0, "fan_avg", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


def lecun_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None) -> Initializer:
    return variance_scaling(1.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def lecun_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None) -> Initializer:
    return variance_scaling(1.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


def he_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None) -> Initializer:
    return variance_scaling(2.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def he_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None) -> Initializer:
    return variance_scaling(2.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal


def orthogonal(scale: float = 1.0, column_axis: int = -1, dtype=None) -> Initializer:
    """A (semi-)orthogonal matrix: the Q of a normal matrix's QR, its signs fixed by R's
    diagonal, reshaped to ``shape``."""
    def init(key, shape, dtype=dtype):
        shape, dt = tuple(shape), _dtype(dtype)
        if len(shape) < 2:
            raise ValueError("orthogonal initializer requires at least a 2-d shape")
        if 0 in shape:
            return np.zeros(shape, dt)
        n_cols = shape[column_axis]
        n_rows = math.prod(shape) // n_cols
        m, n = (n_rows, n_cols) if n_rows >= n_cols else (n_cols, n_rows)
        q, r = cnp.linalg.qr(random.normal(key, (m, n), dt))
        q = q * cnp.sign(cnp.diagonal(r))
        if n_rows < n_cols:
            q = q.T
        rest = tuple(d for i, d in enumerate(shape) if i != column_axis % len(shape))
        return np.asarray(scale, dt) * cnp.moveaxis(cnp.reshape(q, (*rest, n_cols)), -1, column_axis)

    return init

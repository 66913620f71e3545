"""Transforms composed in random orders, against JAX: hypothesis writes a small program out
of NumPy steps (elementwise, reductions and their nan-functions, shapes, indexing by
constants and by data, products, linear algebra, special functions, where, cumsum, sort,
concatenate, lax control flow...), each written once for a namespace so that the same description runs as
chainrule.numpy and as jax.numpy, and wraps it in a random stack of one to four of jit,
vmap (random in_axes and out_axes, or over one argument closing over the other), grad of a
sum, value_and_grad, vjp, jvp, linearize, jacfwd, jacrev, hessian (each by argnums or by a
closure), checkpoint, and custom_vjp / custom_jvp wrappers whose rules are the function's
true derivative. The same transformed function is called on one to three inputs (a jitted
one replays). Both libraries run in float64 and agree to 1e-10; a stack without
derivatives also gives the NumPy program's values, looped over the examples, with its
signs of zeros.

Values with ties and signed zeros (where max, sort, abs and where flip) are kept for stacks
that only compute values; a stack that differentiates gets values away from the kinks,
where the conventions differ on purpose (docs/vmap.md, "Where the numbers differ from
JAX's"). The CI run is short and repeatable; ``TRANSFORM_FUZZ_EXAMPLES=2000`` hunts (or
``make_case`` with a random generator's choices, every choice equally likely)."""

import os
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = pytest.importorskip("jax.numpy")
jsp = pytest.importorskip("jax.scipy.special")

import chainrule as cr  # noqa: E402
import chainrule.numpy as cnp  # noqa: E402
import chainrule.scipy.special as csp  # noqa: E402
from chainrule import lax as clax  # noqa: E402
from chainrule.transforms.custom import NoForwardMode  # noqa: E402

IDX = np.array([0, -1, 0])  # a repeated index: its gradient is a scatter-add


def _size(shape) -> int:
    return int(np.prod(shape, dtype=int))


def lax(m):
    """The ``lax`` module of the NumPy namespace ``m``."""
    return jax.lax if m is jnp else clax


def special(m):
    """The ``scipy.special`` module of the NumPy namespace ``m``."""
    return jsp if m is jnp else csp


def _eye(m, h):
    return m.eye(h.shape[0]) * 2.0


def _switch(m, h):
    index = m.argmax(m.stack([m.sum(h), m.max(h) - 0.5, m.min(h) + 0.5]))
    return lax(m).switch(index, [m.sin, lambda v: m.cos(v) * 2.0, lambda v: v * v], h)


def _scan_step(m):
    return lambda c, v: (c * 0.5 + m.sin(v), c * v)


# name -> (applies to a value of this shape?, step(m, h, y) with m a NumPy namespace, h the
# value so far and y the second argument, of the base shape).
STEPS = {
    # elementwise
    "sin": (lambda s, b: True, lambda m, h, y: m.sin(h)),
    "tanh": (lambda s, b: True, lambda m, h, y: m.tanh(h)),
    "exp tanh": (lambda s, b: True, lambda m, h, y: m.exp(m.tanh(h))),
    "abs": (lambda s, b: True, lambda m, h, y: m.abs(h)),
    "square": (lambda s, b: True, lambda m, h, y: h * h),
    "cube": (lambda s, b: True, lambda m, h, y: h ** 3),
    "sqrt": (lambda s, b: True, lambda m, h, y: m.sqrt(h * h + 1.0)),
    "log1p": (lambda s, b: True, lambda m, h, y: m.log1p(h * h)),
    "reciprocal": (lambda s, b: True, lambda m, h, y: 1.0 / (1.0 + h * h)),
    "arctan": (lambda s, b: True, lambda m, h, y: m.arctan(h)),
    "leaky relu": (lambda s, b: True, lambda m, h, y: m.where(h > 0, h, 0.1 * h)),
    "maximum": (lambda s, b: True, lambda m, h, y: m.maximum(h, 0.25)),
    "minimum neg": (lambda s, b: True, lambda m, h, y: m.minimum(h, -h)),
    "floor": (lambda s, b: True, lambda m, h, y: m.floor(h) * 0.5 + h),
    "sign": (lambda s, b: True, lambda m, h, y: m.sign(h) * h),
    "where zero": (lambda s, b: True, lambda m, h, y: m.where(h == 0, 1.0, h)),
    "where sin cos": (lambda s, b: True, lambda m, h, y: m.where(h > 0, m.sin(h), m.cos(h))),
    "logaddexp": (lambda s, b: True, lambda m, h, y: m.logaddexp(h, 0.5 * h)),
    "power": (lambda s, b: True, lambda m, h, y: m.power(m.abs(h) + 1.0, 1.5)),
    # with the second argument
    "mul y": (lambda s, b: s == b, lambda m, h, y: h * y),
    "sub y": (lambda s, b: s == b, lambda m, h, y: h - 2.0 * y),
    "maximum y": (lambda s, b: s == b, lambda m, h, y: m.maximum(h, y)),
    "where y": (lambda s, b: s == b, lambda m, h, y: m.where(h > y, h, 2.0 * y)),
    "scale sum y": (lambda s, b: True, lambda m, h, y: h * m.sum(m.sin(y))),
    "add max y": (lambda s, b: True, lambda m, h, y: h + m.max(y)),
    # reductions
    "sum": (lambda s, b: True, lambda m, h, y: m.sum(h)),
    "sum 0": (lambda s, b: len(s) >= 1, lambda m, h, y: m.sum(h, axis=0)),
    "sum -1 keepdims": (lambda s, b: len(s) >= 1, lambda m, h, y: m.sum(h, axis=-1, keepdims=True)),
    "mean": (lambda s, b: True, lambda m, h, y: m.mean(h)),
    "max": (lambda s, b: True, lambda m, h, y: m.max(h)),
    "max -1": (lambda s, b: len(s) >= 1 and s[-1] > 0, lambda m, h, y: m.max(h, axis=-1)),
    "min 0 keepdims": (lambda s, b: len(s) >= 1 and s[0] > 0, lambda m, h, y: m.min(h, axis=0, keepdims=True)),
    "prod -1": (lambda s, b: len(s) >= 1, lambda m, h, y: m.prod(h, axis=-1)),
    "var 0": (lambda s, b: len(s) >= 1 and s[0] > 1, lambda m, h, y: m.var(h, axis=0)),
    "norm": (lambda s, b: len(s) >= 1, lambda m, h, y: m.linalg.norm(h + 3.0)),
    "softmax": (lambda s, b: len(s) >= 1 and s[-1] > 0, lambda m, h, y: m.exp(h - m.max(h, axis=-1, keepdims=True))
                / m.sum(m.exp(h - m.max(h, axis=-1, keepdims=True)), axis=-1, keepdims=True)),
    "cumsum": (lambda s, b: len(s) >= 1, lambda m, h, y: m.cumsum(h, axis=-1)),
    "cumprod 0": (lambda s, b: len(s) >= 1, lambda m, h, y: m.cumprod(h, axis=0)),
    "sort": (lambda s, b: len(s) >= 1, lambda m, h, y: m.sort(h, axis=-1)),
    "sort 0": (lambda s, b: len(s) >= 1, lambda m, h, y: m.sort(h, axis=0)),
    "argsort take": (lambda s, b: len(s) >= 1, lambda m, h, y: m.take_along_axis(h, m.argsort(-h, axis=-1), axis=-1)),
    # shapes
    "reshape": (lambda s, b: True, lambda m, h, y: m.reshape(h, (-1,))),
    "transpose": (lambda s, b: True, lambda m, h, y: m.transpose(h)),
    "new axis": (lambda s, b: len(s) >= 1, lambda m, h, y: h[:, None]),
    "concatenate": (lambda s, b: len(s) >= 1, lambda m, h, y: m.concatenate([h, 2.0 * h + 1.0], axis=0)),
    "stack": (lambda s, b: True, lambda m, h, y: m.stack([h, m.sin(h)], axis=-1)),
    "flip": (lambda s, b: len(s) >= 1, lambda m, h, y: m.flip(h, axis=0)),
    "roll": (lambda s, b: len(s) >= 1, lambda m, h, y: m.roll(h, 1, axis=-1)),
    "swapaxes": (lambda s, b: len(s) >= 2, lambda m, h, y: m.swapaxes(h, 0, -1)),
    "broadcast": (lambda s, b: True, lambda m, h, y: m.broadcast_to(h, (2, *h.shape))
                  * m.reshape(m.arange(1.0, 3.0), (2,) + (1,) * h.ndim)),
    "tile": (lambda s, b: True, lambda m, h, y: m.tile(h, 2)),
    "squeeze": (lambda s, b: 1 in s, lambda m, h, y: m.squeeze(h)),
    # indexing
    "first": (lambda s, b: len(s) >= 1 and s[0] > 0, lambda m, h, y: h[0]),
    "reverse": (lambda s, b: len(s) >= 1, lambda m, h, y: h[::-1]),
    "tail": (lambda s, b: len(s) >= 1, lambda m, h, y: h[1:]),
    "gather": (lambda s, b: len(s) >= 1 and s[0] > 0, lambda m, h, y: h[IDX]),
    "last column": (lambda s, b: len(s) >= 2 and s[-1] > 0, lambda m, h, y: h[..., -1]),
    "take": (lambda s, b: len(s) >= 1 and s[-1] > 0, lambda m, h, y: m.take(h, IDX, axis=-1)),
    # products
    "gram": (lambda s, b: len(s) == 2, lambda m, h, y: h @ h.T),
    "dot": (lambda s, b: len(s) == 1, lambda m, h, y: m.dot(h, h)),
    "matmul y": (lambda s, b: s == b and len(s) == 2, lambda m, h, y: h @ m.swapaxes(y, 0, 1)),
    "outer y": (lambda s, b: s == b and len(s) == 1, lambda m, h, y: m.outer(h, y)),
    "einsum": (lambda s, b: len(s) == 2, lambda m, h, y: m.einsum("ij,ij->j", h, m.cos(h))),
    # control flow
    "cond": (lambda s, b: True, lambda m, h, y: lax(m).cond(m.sum(h * h * h) > 0, lambda v: m.sin(v) * 2.0,
                                                           lambda v: v - 1.0, h)),
    "fori loop": (lambda s, b: True, lambda m, h, y: lax(m).fori_loop(0, 3, lambda i, v: m.sin(v) + i * 0.5, h)),
    "scan": (lambda s, b: len(s) >= 1, lambda m, h, y: lax(m).scan(_scan_step(m), m.zeros_like(h[0]), h)[1]),
    "stop gradient": (lambda s, b: True, lambda m, h, y: h + m.sin(lax(m).stop_gradient(h)) * h),
    "switch": (lambda s, b: True, lambda m, h, y: _switch(m, h)),
    "lax map": (lambda s, b: len(s) >= 1, lambda m, h, y: lax(m).map(lambda r: m.sin(r) * m.sum(r), h)),
    "dynamic slice": (lambda s, b: len(s) >= 1 and s[0] > 0, lambda m, h, y: lax(m).dynamic_slice_in_dim(
        h, m.argmax(m.ravel(y)) - 1, min(2, h.shape[0]), axis=0)),
    "dynamic update": (lambda s, b: len(s) >= 1 and s[0] > 0, lambda m, h, y: lax(m).dynamic_update_slice_in_dim(
        h, m.sin(h[:1]) * 3.0, m.argmax(m.ravel(y)), axis=0)),
    # indices computed from data
    # (take, not h[i]: a plain NumPy array, an argument vmap does not batch, cannot be indexed
    # by a batched index, docs/vmap.md)
    "take argmax y": (lambda s, b: len(s) >= 1 and s[0] > 0,
                      lambda m, h, y: m.take(h, m.argmax(m.ravel(y)) % h.shape[0], axis=0)),
    "take argsort y": (lambda s, b: len(s) >= 1 and s[-1] > 0,
                       # (stable: NumPy's default sort orders ties as it likes, JAX's keeps them)
                       lambda m, h, y: m.take(h, m.argsort(m.ravel(y), stable=True) % h.shape[-1], axis=-1)),
    # more NumPy
    "diff": (lambda s, b: len(s) >= 1 and s[-1] >= 2, lambda m, h, y: m.diff(h, axis=-1)),
    "pad": (lambda s, b: len(s) >= 1, lambda m, h, y: m.pad(h, 1)),
    "pad edge": (lambda s, b: len(s) >= 1 and s[0] > 0, lambda m, h, y: m.pad(h, [(1, 0)] + [(0, 0)] * (h.ndim - 1),
                                                                            mode="edge")),
    "repeat": (lambda s, b: len(s) >= 1, lambda m, h, y: m.repeat(h, 2, axis=0)),
    "split": (lambda s, b: len(s) >= 1 and s[-1] >= 2, lambda m, h, y: m.split(h, [1], axis=-1)[1]),
    "triu": (lambda s, b: len(s) == 2, lambda m, h, y: m.triu(h)),
    "diag": (lambda s, b: len(s) in (1, 2), lambda m, h, y: m.diag(h)),
    "trace": (lambda s, b: len(s) == 2, lambda m, h, y: m.trace(h)),
    "tensordot": (lambda s, b: len(s) >= 1, lambda m, h, y: m.tensordot(h, m.cos(h), axes=([-1], [-1]))),
    "kron": (lambda s, b: len(s) >= 1, lambda m, h, y: m.kron(h, m.array([1.0, -2.0]))),
    "rot90": (lambda s, b: len(s) >= 2, lambda m, h, y: m.rot90(h)),
    "moveaxis": (lambda s, b: len(s) >= 2, lambda m, h, y: m.moveaxis(h, 0, -1)),
    "cross y": (lambda s, b: s == b and len(s) >= 1 and s[-1] == 3, lambda m, h, y: m.cross(h, y)),
    "hypot y": (lambda s, b: s == b, lambda m, h, y: m.hypot(h, y)),
    "fmax y": (lambda s, b: s == b, lambda m, h, y: m.fmax(h, y)),
    "copysign y": (lambda s, b: s == b, lambda m, h, y: m.copysign(h, y)),
    "clip y": (lambda s, b: s == b, lambda m, h, y: m.clip(h, y - 0.5, y + 0.5)),
    "round": (lambda s, b: True, lambda m, h, y: m.round(h, 1) + h),
    "mod": (lambda s, b: True, lambda m, h, y: m.mod(h, 0.7)),
    "select": (lambda s, b: True, lambda m, h, y: m.select([h > 0.5, h < -0.5], [h * 2.0, m.sin(h)], h * h)),
    "median": (lambda s, b: len(s) >= 1 and s[-1] > 0, lambda m, h, y: m.median(h, axis=-1)),
    "quantile": (lambda s, b: len(s) >= 1 and s[-1] > 0, lambda m, h, y: m.quantile(h, 0.3, axis=-1)),
    "ptp": (lambda s, b: len(s) >= 1 and s[-1] > 0, lambda m, h, y: m.ptp(h, axis=-1)),
    "average": (lambda s, b: len(s) >= 1 and s[0] > 0,
                lambda m, h, y: m.average(h, axis=0, weights=m.arange(1.0, h.shape[0] + 1.0))),
    "sum where": (lambda s, b: True, lambda m, h, y: m.sum(h, where=h > 0)),
    "sum where y": (lambda s, b: s == b, lambda m, h, y: m.sum(h * h, where=y > 0)),
    "mean where y": (lambda s, b: s == b and len(s) >= 1, lambda m, h, y: m.mean(m.sin(h), where=y > -0.5, axis=0)),
    "max initial": (lambda s, b: len(s) >= 1, lambda m, h, y: m.max(h, axis=-1, initial=0.2)),
    "logsumexp": (lambda s, b: len(s) >= 1 and s[-1] > 0, lambda m, h, y: special(m).logsumexp(h, axis=-1)),
    "expit": (lambda s, b: True, lambda m, h, y: special(m).expit(h)),
    "erf": (lambda s, b: True, lambda m, h, y: special(m).erf(h)),
    "gammaln": (lambda s, b: True, lambda m, h, y: special(m).gammaln(m.abs(h) + 0.5)),
    "xlogy": (lambda s, b: True, lambda m, h, y: special(m).xlogy(h, h * h + 1.0)),
    # linear algebra
    "solve": (lambda s, b: len(s) == 2, lambda m, h, y: m.linalg.solve(h @ h.T + _eye(m, h), h)),
    "inv": (lambda s, b: len(s) == 2, lambda m, h, y: m.linalg.inv(h @ h.T + _eye(m, h))),
    "det": (lambda s, b: len(s) == 2 and s[0] == s[1], lambda m, h, y: m.linalg.det(h)),
    "slogdet": (lambda s, b: len(s) == 2, lambda m, h, y: m.linalg.slogdet(h @ h.T + _eye(m, h))[1]),
    "cholesky": (lambda s, b: len(s) == 2, lambda m, h, y: m.linalg.cholesky(h @ h.T + _eye(m, h))),
    "eigvalsh": (lambda s, b: len(s) == 2, lambda m, h, y: m.linalg.eigvalsh(h @ h.T + _eye(m, h))),
    "singular values": (lambda s, b: len(s) == 2, lambda m, h, y: m.linalg.svd(h, compute_uv=False)),
    "matrix power": (lambda s, b: len(s) == 2 and s[0] == s[1], lambda m, h, y: m.linalg.matrix_power(h, 3)),
    "norm -1": (lambda s, b: len(s) >= 1, lambda m, h, y: m.linalg.norm(h + 3.0, axis=-1)),
    "multi dot": (lambda s, b: len(s) == 2, lambda m, h, y: m.linalg.multi_dot([h, h.T, h])),
    # more elementwise functions
    "arcsin": (lambda s, b: True, lambda m, h, y: m.arcsin(0.9 * m.tanh(h))),
    "arccos": (lambda s, b: True, lambda m, h, y: m.arccos(0.9 * m.tanh(h))),
    "arctanh": (lambda s, b: True, lambda m, h, y: m.arctanh(0.9 * m.tanh(h))),
    "arcsinh": (lambda s, b: True, lambda m, h, y: m.arcsinh(h)),
    "arccosh": (lambda s, b: True, lambda m, h, y: m.arccosh(h * h + 1.5)),
    "sinh cosh": (lambda s, b: True, lambda m, h, y: m.sinh(h) - 0.5 * m.cosh(h)),
    "tan": (lambda s, b: True, lambda m, h, y: m.tan(m.tanh(h))),
    "cbrt": (lambda s, b: True, lambda m, h, y: m.cbrt(h * h + 0.5)),
    "exp2 log2": (lambda s, b: True, lambda m, h, y: m.log2(m.exp2(h) + 1.0)),
    "log10": (lambda s, b: True, lambda m, h, y: m.log10(h * h + 1.0)),
    "expm1": (lambda s, b: True, lambda m, h, y: m.expm1(m.tanh(h))),
    "fabs": (lambda s, b: True, lambda m, h, y: m.fabs(h)),
    "negative": (lambda s, b: True, lambda m, h, y: m.negative(m.positive(h))),
    "float power": (lambda s, b: True, lambda m, h, y: m.float_power(h * h + 1.0, 0.7)),
    "fmod": (lambda s, b: True, lambda m, h, y: m.fmod(h, 0.7)),
    "remainder": (lambda s, b: True, lambda m, h, y: m.remainder(h, -0.6)),
    "floor divide": (lambda s, b: True, lambda m, h, y: m.floor_divide(h, 0.7) * 0.5 + h),
    "trunc ceil rint": (lambda s, b: True, lambda m, h, y: m.trunc(h) + m.ceil(h) * 0.5 + m.rint(2.0 * h) + h),
    "heaviside": (lambda s, b: True, lambda m, h, y: m.heaviside(h, 0.5) * h),
    "logaddexp2": (lambda s, b: True, lambda m, h, y: m.logaddexp2(h, 0.5 * h)),
    "sinc": (lambda s, b: True, lambda m, h, y: m.sinc(h)),
    "degrees": (lambda s, b: True, lambda m, h, y: m.deg2rad(m.rad2deg(h) * 2.0)),
    "square reciprocal": (lambda s, b: True, lambda m, h, y: m.square(h) + m.reciprocal(h * h + 1.0)),
    "ldexp": (lambda s, b: True, lambda m, h, y: m.ldexp(h, 2)),
    "i0": (lambda s, b: True, lambda m, h, y: m.i0(h)),
    "nan to num": (lambda s, b: True, lambda m, h, y: m.nan_to_num(m.log(h), nan=0.5, neginf=-3.0)),
    "fmin y": (lambda s, b: s == b, lambda m, h, y: m.fmin(h, y)),
    "arctan2 y": (lambda s, b: s == b, lambda m, h, y: m.arctan2(h, y)),
    "divide y": (lambda s, b: s == b, lambda m, h, y: m.divide(h, y * y + 1.0)),
    # more reductions, with NaNs for the nan-functions (where the value is above 0.6)
    "amax 0": (lambda s, b: len(s) >= 1 and s[0] > 0, lambda m, h, y: m.amax(h, axis=0)),
    "amin -1 keepdims": (lambda s, b: len(s) >= 1 and s[-1] > 0, lambda m, h, y: m.amin(h, axis=-1, keepdims=True)),
    "std -1": (lambda s, b: len(s) >= 1 and s[-1] > 1, lambda m, h, y: m.std(h, axis=-1)),
    "nansum": (lambda s, b: len(s) >= 1, lambda m, h, y: m.nansum(m.where(h > 0.6, m.nan, h), axis=-1)),
    "nanmean": (lambda s, b: len(s) >= 1, lambda m, h, y: m.nanmean(m.where(h > 0.6, m.nan, h), axis=0)),
    "nanmax": (lambda s, b: len(s) >= 1 and s[-1] > 0, lambda m, h, y: m.nanmax(m.where(h > 0.6, m.nan, h), axis=-1)),
    "nanmin": (lambda s, b: True, lambda m, h, y: m.nanmin(m.where(h > 0.6, m.nan, h))),
    "nanvar": (lambda s, b: len(s) >= 1, lambda m, h, y: m.nanvar(m.where(h > 0.6, m.nan, h), axis=-1)),
    "nanstd": (lambda s, b: len(s) >= 1 and s[0] > 1, lambda m, h, y: m.nanstd(m.where(h > 0.6, m.nan, h), axis=0,
                                                                               ddof=1)),
    "nanprod": (lambda s, b: len(s) >= 1, lambda m, h, y: m.nanprod(m.where(h > 0.6, m.nan, h), axis=-1)),
    "nancumsum": (lambda s, b: len(s) >= 1, lambda m, h, y: m.nancumsum(m.where(h > 0.6, m.nan, h), axis=-1)),
    "nancumprod": (lambda s, b: len(s) >= 1, lambda m, h, y: m.nancumprod(m.where(h > 0.6, m.nan, h), axis=0)),
    "nanmedian": (lambda s, b: len(s) >= 1 and s[-1] > 0,
                  lambda m, h, y: m.nanmedian(m.where(h > 0.6, m.nan, h), axis=-1)),
    "nanquantile": (lambda s, b: len(s) >= 1 and s[-1] > 0,
                    lambda m, h, y: m.nanquantile(m.where(h > 0.6, m.nan, h), 0.7, axis=-1)),
    "percentile": (lambda s, b: len(s) >= 1 and s[0] > 0, lambda m, h, y: m.percentile(h, 40.0, axis=0)),
    "count nonzero": (lambda s, b: True, lambda m, h, y: h * m.count_nonzero(h > 0)),
    "any all": (lambda s, b: True, lambda m, h, y: m.where(m.any(h > 0.5), h, -h) * m.where(m.all(h < 1.0), 2.0, 1.0)),
    "cumulative sum": (lambda s, b: len(s) >= 1, lambda m, h, y: m.cumulative_sum(h, axis=-1, include_initial=True)),
    "cumulative prod": (lambda s, b: len(s) >= 1, lambda m, h, y: m.cumulative_prod(h, axis=0)),
    "trapezoid": (lambda s, b: len(s) >= 1, lambda m, h, y: m.trapezoid(h, axis=-1)),
    "cov": (lambda s, b: len(s) == 2 and s[-1] > 1, lambda m, h, y: m.cov(h)),
    "argmin take": (lambda s, b: len(s) >= 1 and s[-1] > 0,
                    lambda m, h, y: m.take_along_axis(h, m.argmin(h, axis=-1, keepdims=True), axis=-1)),
    # more shapes
    "diagonal": (lambda s, b: len(s) >= 2, lambda m, h, y: m.diagonal(h, offset=-1, axis1=-1, axis2=0)),
    "tril": (lambda s, b: len(s) >= 2, lambda m, h, y: m.tril(h, 1)),
    "triu 1": (lambda s, b: len(s) >= 2, lambda m, h, y: m.triu(h, 1) + h),
    "expand dims": (lambda s, b: True, lambda m, h, y: m.expand_dims(h, -1)),
    "flipud fliplr": (lambda s, b: len(s) >= 2, lambda m, h, y: m.fliplr(m.flipud(h))),
    "atleast 2d": (lambda s, b: True, lambda m, h, y: m.atleast_2d(h)),
    "hstack": (lambda s, b: True, lambda m, h, y: m.hstack([h, m.cos(h)])),
    "vstack": (lambda s, b: True, lambda m, h, y: m.vstack([h, m.sin(h)])),
    "dstack": (lambda s, b: True, lambda m, h, y: m.dstack([h, 2.0 * h])),
    "column stack": (lambda s, b: len(s) <= 2, lambda m, h, y: m.column_stack([h, h * h])),
    "append": (lambda s, b: True, lambda m, h, y: m.append(h, 2.0)),
    "delete": (lambda s, b: len(s) >= 1 and s[-1] >= 2, lambda m, h, y: m.delete(h, 0, axis=-1)),
    "insert": (lambda s, b: len(s) >= 1, lambda m, h, y: m.insert(h, 1 if h.shape[0] else 0, 0.5, axis=0)),
    "array split": (lambda s, b: len(s) >= 1, lambda m, h, y: m.array_split(h, 2, axis=-1)[0]),
    "rollaxis": (lambda s, b: len(s) >= 2, lambda m, h, y: m.rollaxis(h, -1)),
    "permute dims": (lambda s, b: True, lambda m, h, y: m.permute_dims(h, tuple(range(h.ndim))[::-1])),
    "matrix transpose": (lambda s, b: len(s) >= 2, lambda m, h, y: m.matrix_transpose(h)),
    "unstack": (lambda s, b: len(s) >= 1 and s[-1] > 0, lambda m, h, y: m.unstack(h, axis=-1)[-1]),
    "resize": (lambda s, b: True, lambda m, h, y: m.resize(h, (5,))),
    "diagflat": (lambda s, b: True, lambda m, h, y: m.diagflat(h)),
    "ediff1d": (lambda s, b: True, lambda m, h, y: m.ediff1d(h)),
    "broadcast arrays y": (lambda s, b: len(s) <= len(b) and s == b[len(b) - len(s):],
                           lambda m, h, y: m.broadcast_arrays(h, y)[0] * 2.0),
    # more products
    "inner": (lambda s, b: len(s) >= 1, lambda m, h, y: m.inner(h, m.cos(h))),
    "vdot": (lambda s, b: True, lambda m, h, y: m.vdot(h, m.sin(h))),
    "vecdot": (lambda s, b: len(s) >= 1, lambda m, h, y: m.vecdot(h, m.cos(h))),
    "matvec": (lambda s, b: len(s) == 2 and s[0] > 0, lambda m, h, y: m.matvec(h, m.cos(h[0]))),
    "vecmat": (lambda s, b: len(s) == 2 and s[-1] > 0, lambda m, h, y: m.vecmat(m.sin(h[:, 0]), h)),
    "convolve": (lambda s, b: len(s) == 1 and s[0] > 0, lambda m, h, y: m.convolve(h, m.array([1.0, -0.5, 0.25]))),
    "correlate": (lambda s, b: len(s) == 1 and s[0] > 0,
                  lambda m, h, y: m.correlate(h, m.array([1.0, 2.0]), mode="full")),
    "polyval": (lambda s, b: True, lambda m, h, y: m.polyval(m.array([0.5, -2.0, 1.0]), h)),
    "vander": (lambda s, b: len(s) == 1, lambda m, h, y: m.vander(h, 3)),
    "interp": (lambda s, b: True, lambda m, h, y: m.interp(h, m.array([-1.0, 0.1, 1.5]), m.array([0.5, -1.0, 2.0]))),
    # more linear algebra
    "pinv": (lambda s, b: len(s) == 2, lambda m, h, y: m.linalg.pinv(h @ h.T + _eye(m, h))),
    "lstsq": (lambda s, b: len(s) == 2, lambda m, h, y: m.linalg.lstsq(h @ h.T + _eye(m, h), h)[0]),
    "qr": (lambda s, b: len(s) == 2, lambda m, h, y: m.linalg.qr(h @ h.T + _eye(m, h))[1]),
    "vector norm": (lambda s, b: len(s) >= 1, lambda m, h, y: m.linalg.vector_norm(h + 3.0, ord=3, axis=-1)),
    "matrix norm": (lambda s, b: len(s) == 2, lambda m, h, y: m.linalg.matrix_norm(h, ord=1)),
    "svdvals": (lambda s, b: len(s) == 2, lambda m, h, y: m.linalg.svdvals(h @ h.T + _eye(m, h))),
    "condition number": (lambda s, b: len(s) == 2, lambda m, h, y: m.linalg.cond(h @ h.T + _eye(m, h))),
    "tensordot 0": (lambda s, b: len(s) <= 1, lambda m, h, y: m.tensordot(h, m.sin(h), axes=0)),
    # more special functions
    "erfc": (lambda s, b: True, lambda m, h, y: special(m).erfc(h)),
    "erfinv": (lambda s, b: True, lambda m, h, y: special(m).erfinv(0.9 * m.tanh(h))),
    "ndtr ndtri": (lambda s, b: True, lambda m, h, y: special(m).ndtri(0.05 + 0.9 * special(m).ndtr(h))),
    "log ndtr": (lambda s, b: True, lambda m, h, y: special(m).log_ndtr(h)),
    "logit": (lambda s, b: True, lambda m, h, y: special(m).logit(0.05 + 0.9 * special(m).expit(h))),
    "digamma": (lambda s, b: True, lambda m, h, y: special(m).digamma(m.abs(h) + 0.5)),
    "xlog1py": (lambda s, b: True, lambda m, h, y: special(m).xlog1py(h, h * h)),
    "entr": (lambda s, b: True, lambda m, h, y: special(m).entr(h * h + 0.1)),
    "i0e i1": (lambda s, b: True, lambda m, h, y: special(m).i0e(h) + special(m).i1(h)),
    "betaln": (lambda s, b: True, lambda m, h, y: special(m).betaln(m.abs(h) + 0.5, 1.5)),
    "softmax special": (lambda s, b: len(s) >= 1, lambda m, h, y: special(m).softmax(h, axis=0)),
    "log softmax": (lambda s, b: len(s) >= 1, lambda m, h, y: special(m).log_softmax(h, axis=-1)),
    "gammainc": (lambda s, b: True, lambda m, h, y: special(m).gammainc(1.5, h * h + 0.1)),
    "polygamma": (lambda s, b: True, lambda m, h, y: special(m).polygamma(1, m.abs(h) + 0.5)),
}
# steps whose sign of a zero result is not NumPy's to keep under vmap: which of two equal
# zeros fmax and median give back depends on NumPy's loop (its SIMD loop differs from its
# one-element loop), and vmap's outer product of a batch is one einsum, which adds each
# product to +0.0 (np.outer multiplies: -0.0 stays)
UNSIGNED_ZEROS = {"fmax y", "fmin y", "median", "quantile", "percentile", "nanmedian", "nanquantile", "outer y"}
DERIVATIVES = {"grad", "value_and_grad", "jvp", "linearize", "vjp", "jacfwd", "jacrev", "hessian"}
FORWARD = {"jvp", "linearize", "jacfwd", "hessian", "custom_jvp"}
KINDS = ["vmap", "grad", "jvp", "jacrev", "hessian", "jacfwd", "value_and_grad", "vjp", "linearize",
         "custom_jvp", "custom_vjp", "checkpoint", "vmap", "jit"]
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, 0.25]
MAX_SIZE = 400


class Case(NamedTuple):
    steps: tuple
    stack: tuple  # innermost transform first
    calls: tuple  # of (x, y)


def program(m, steps):
    def f(x, y):
        h = x
        for name in steps:
            h = STEPS[name][1](m, h, y)
        return h

    return f


def _insert(shape, axis, size):
    shape = list(shape)
    shape.insert(axis if axis >= 0 else len(shape) + 1 + axis, size)
    return tuple(shape)


def make_case(choose):
    """A random case, each choice ``choose(options)``: hypothesis's draws, or (to hunt with
    every choice equally likely) a random generator's. None where a result would be big."""
    base = choose([(3,), (2, 3), (), (1, 2), (2, 2)])
    steps, shape = [], base
    for _ in range(choose([3, 2, 4, 1, 5])):
        options = []
        for name, (applies, step) in STEPS.items():
            if applies(shape, base):
                with np.errstate(all="ignore"):
                    out = np.shape(step(cnp, np.ones(shape), np.ones(base)))
                if 0 < _size(out) <= 12:
                    options.append((name, out))
        name, shape = choose(options)
        steps.append(name)
    stack, ins, out = [], [base, base], shape
    for _ in range(choose([2, 3, 4, 1])):
        kind = choose(KINDS)
        if kind == "vmap":
            axes = [choose([0, None, -1, 1] if len(s) else [0, None, -1]) for s in ins]
            if axes == [None, None]:
                axes[choose([0, 1])] = 0
            out_axis = choose([0, -1, 1] if len(out) else [0, -1])
            size = choose([2, 3, 1, 0])
            ins = [s if a is None else _insert(s, a, size) for s, a in zip(ins, axes, strict=True)]
            out = _insert(out, out_axis, size)
            # over one argument, with the other closed over (a value of the outer transforms)
            spec = ("vmap", *axes, out_axis, None in axes and choose([False, True]))
        elif kind in ("grad", "value_and_grad", "vjp", "jacfwd", "jacrev", "hessian"):
            argnum = choose([0, 1])
            out = {"grad": ins[argnum], "value_and_grad": ins[argnum], "vjp": ins[argnum],
                   "hessian": ins[argnum] * 2}.get(kind, out + ins[argnum])
            spec = (kind, argnum, choose([False, True]))
        else:
            spec = (kind,)
        stack.append(spec)
        if _size(out) > MAX_SIZE or max(map(_size, ins)) > MAX_SIZE:
            return None
    calls = []
    for _ in range(choose([2, 1, 3])):  # one transformed function, called again
        if any(t[0] in DERIVATIVES for t in stack):
            # away from the kinks: distinct values, none zero, no two equal up to sign
            rng = np.random.default_rng(choose(range(2**32)))
            calls.append(tuple(np.round(rng.uniform(0.2, 1.2, size=s) * rng.choice([-1, 1], size=s), 6)
                               for s in ins))
        else:
            calls.append(tuple(np.array([choose(SPECIAL) for _ in range(_size(s))]).reshape(s) for s in ins))
    return Case(tuple(steps), tuple(stack), tuple(calls))


@st.composite
def cases(draw):
    case = make_case(lambda options: draw(st.sampled_from(options)))
    assume(case is not None)
    return case


TRANSFORMS = ("jit", "vmap", "grad", "value_and_grad", "jvp", "linearize", "vjp", "jacfwd", "jacrev", "hessian",
              "checkpoint", "custom_vjp", "custom_jvp")
CR = SimpleNamespace(np=cnp, **{name: getattr(cr, name) for name in TRANSFORMS})
JAX = SimpleNamespace(np=jnp, **{name: getattr(jax, name) for name in TRANSFORMS})


def _custom_vjp(lib, f):
    g = lib.custom_vjp(lambda x, y: f(x, y))
    g.defvjp(lambda x, y: (f(x, y), (x, y)), lambda res, ct: tuple(lib.vjp(f, *res)[1](ct)))
    return g


def _custom_jvp(lib, f):
    g = lib.custom_jvp(lambda x, y: f(x, y))
    g.defjvp(lambda primals, tangents: lib.jvp(f, tuple(primals), tuple(tangents)))
    return g


def _of_one(t, f, argnum, closure):
    """``t`` of ``f`` in argument ``argnum``: by ``argnums``, or of a function of that argument
    alone that closes over the other (a value of the transforms outside)."""
    if not closure:
        return lambda x, y: t(f, argnums=argnum)(x, y)
    if argnum == 0:
        return lambda x, y: t(lambda x: f(x, y))(x)
    return lambda x, y: t(lambda y: f(x, y))(y)


def transform(lib, f, spec, custom=True):
    kind, *params = spec
    m = lib.np
    total = lambda x, y: m.sum(f(x, y))  # noqa: E731
    if kind == "jit":
        return lib.jit(f)
    if kind == "vmap":
        x_axis, y_axis, out_axis, closure = params
        if closure and y_axis is None:
            return lambda x, y: lib.vmap(lambda x: f(x, y), in_axes=x_axis, out_axes=out_axis)(x)
        if closure:
            return lambda x, y: lib.vmap(lambda y: f(x, y), in_axes=y_axis, out_axes=out_axis)(y)
        return lib.vmap(f, in_axes=(x_axis, y_axis), out_axes=out_axis)
    if kind in ("grad", "hessian"):
        return _of_one(getattr(lib, kind), total, *params)
    if kind == "value_and_grad":
        both = _of_one(lib.value_and_grad, total, *params)
        return lambda x, y: both(x, y)[0] + both(x, y)[1]
    if kind in ("jacfwd", "jacrev"):
        return _of_one(getattr(lib, kind), f, *params)
    if kind == "jvp":
        def jvp(x, y):
            out, tangent = lib.jvp(f, (x, y), (m.cos(x), m.sin(y)))
            return 0.5 * out + tangent
        return jvp
    if kind == "linearize":
        def linearized(x, y):
            out, f_jvp = lib.linearize(f, x, y)
            return f_jvp(m.sin(x), m.cos(y)) - out
        return linearized
    if kind == "vjp":
        argnum, closure = params
        def pulled(x, y):  # a cotangent that depends on the value
            if closure:
                out, f_vjp = lib.vjp(lambda x: f(x, y), x) if argnum == 0 else lib.vjp(lambda y: f(x, y), y)
                return f_vjp(m.cos(out))[0]
            out, f_vjp = lib.vjp(f, x, y)
            return f_vjp(m.cos(out))[argnum]
        return pulled
    if kind == "checkpoint":
        return lib.checkpoint(f)
    if not custom:  # the wrappers' rules are the true derivatives: the same function
        return f
    return _custom_vjp(lib, f) if kind == "custom_vjp" else _custom_jvp(lib, f)


def run(lib, case, custom=True):
    """The stack's results for each call of ``case`` (a jitted function replays)."""
    f = program(lib.np, case.steps)
    for spec in case.stack:
        f = transform(lib, f, spec, custom)
    if lib is JAX:  # one compiled program (JAX's eager calls compile each operation)
        f = jax.jit(f)
    return [np.asarray(f(x, y)) for x, y in case.calls]


def _numpy_vmap(f, x_axis, y_axis, out_axis):
    """``vmap`` as a loop over the examples, each a call of plain NumPy code."""
    def looped(x, y):
        size = x.shape[x_axis] if x_axis is not None else y.shape[y_axis]
        examples = [f(x if x_axis is None else np.take(x, i, x_axis), y if y_axis is None else np.take(y, i, y_axis))
                    for i in range(size)]
        return np.stack(examples, axis=out_axis)

    return looped


def run_numpy(case):
    """What a stack without derivatives computes, by NumPy itself: its signs of zeros are
    NumPy's (JAX's sums start from +0.0, NumPy's from the first term)."""
    f = program(np, case.steps)
    for kind, *params in case.stack:
        if kind == "vmap":
            f = _numpy_vmap(f, *params[:3])
    return [np.asarray(f(x, y)) for x, y in case.calls]


def check(case):
    with np.errstate(all="ignore"):
        try:
            want = run(JAX, case)
        except (TypeError, NotImplementedError, AssertionError) as e:
            # JAX refuses forward mode of a custom_vjp, and cannot transpose some custom_jvp
            # rules (a stop_gradient in them): its numbers without the wrappers are the oracle
            assert any(k in str(e) for k in ("custom_vjp", "custom_lin", "Transpose rule")), e
            want = None
        try:
            got = run(CR, case)
        except NoForwardMode:
            # chainrule refuses it too (and where JAX would transpose the forward mode of a
            # custom_vjp in a custom_jvp's rule later, chainrule refuses at once), or (its
            # hessian and jacobian fall back to reverse mode for a custom_vjp) gives the true
            # derivative: JAX's without the wrapper
            kinds = [t[0] for t in case.stack]
            assert "custom_vjp" in kinds and FORWARD & set(kinds[kinds.index("custom_vjp"):]), kinds
            return
        if want is None:
            want = run(JAX, case, custom=False)
        values_only = not any(t[0] in DERIVATIVES for t in case.stack)
        signed = not UNSIGNED_ZEROS & set(case.steps)
        plain = run_numpy(case) if values_only and all(np.size(a) for c in case.calls for a in c) \
            else [None] * len(got)
    for mine, theirs, numpy in zip(got, want, plain, strict=True):
        assert mine.shape == theirs.shape, (mine.shape, theirs.shape)
        assert mine.dtype == theirs.dtype, (mine.dtype, theirs.dtype)
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-10)
        if numpy is not None:
            np.testing.assert_allclose(mine, numpy, rtol=1e-10, atol=1e-10)
            zeros = (mine == 0) & (numpy == 0) & signed
            assert (np.signbit(mine) == np.signbit(numpy))[zeros].all(), (mine, numpy)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=int(os.environ.get("TRANSFORM_FUZZ_EXAMPLES", 15)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(case=cases())
# a lax.cond whose predicate differs between the examples, under jacrev: the flags of the
# taken branch met a basis of cotangents mapped over by jacrev (a broadcasting error)
@example(Case(("cond",), (("vmap", 0, 0, 0, False), ("jacrev", 0, False)),
              ((np.array([[0.6, -0.8], [-0.2, 0.3], [0.5, 0.1]]), np.zeros((3, 2))),)))
# grad of a vmap of cross: the batched call passed the vectors' axes, which the cross
# product's derivative rules do not take (a TypeError)
@example(Case(("cross y",), (("vmap", 0, 0, 0, False), ("grad", 0, False)),
              ((np.array([[0.3, -0.5, 0.7], [0.2, 0.9, -0.4]]), np.array([[0.5, 1.1, -0.2], [0.4, -0.6, 0.9]])),)))
# a reduction's where= mask batched by vmap about an array it does not batch (the tangent
# or cotangent of hessian's inner derivative): NumPy's call handed itself back, without end
@example(Case(("sum where", "gammaln"), (("hessian", 0, True), ("vmap", 0, 0, 0, False)),
              ((np.array([[0.3, -0.5, 0.9], [0.2, 0.4, -0.6]]), np.ones((2, 3))),)))
@example(Case(("sum where y",), (("vmap", None, 0, 0, False), ("grad", 0, False)),
              ((np.array([0.3, -0.5, 0.9]), np.array([[0.3, -0.5, 0.9], [0.2, 0.4, -0.6]])),)))
@example(Case(("mean where y",), (("vmap", None, 0, 0, False), ("grad", 0, False)),
              ((np.array([0.3, -0.5, 0.9]), np.array([[0.3, -0.7, 0.9], [0.2, 0.4, -0.6]])),)))
@example(Case(("switch", "floor"), (("custom_jvp",), ("vmap", 0, None, -1, True), ("jacrev", 0, True)),
              ((np.zeros(0), np.array(-0.954316)),)))
def test_transform_stacks_agree_with_jax(case):
    check(case)


def test_a_ufunc_where_mask_that_vmap_batches_is_refused_with_the_fix():
    """A ufunc's where= mask batched by vmap, about plain arrays, is refused as on Tensors,
    saying to use chainrule.numpy.where (NumPy's call handed itself back, without end)."""
    x, masks = np.array([0.3, -0.5, 0.9]), np.array([[True, False, True], [False, True, True]])
    with pytest.raises(TypeError, match="chainrule.numpy.where"):
        cr.vmap(lambda w: cnp.exp(x, where=w, out=np.zeros(3)))(masks)
    np.testing.assert_allclose(cr.vmap(lambda w: cnp.where(w, cnp.exp(x), 0.0))(masks), np.where(masks, np.exp(x), 0))

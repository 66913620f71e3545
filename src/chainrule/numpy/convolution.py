"""Discrete convolution and correlation of sequences: ``convolve``, ``correlate``.

Both are slices of one primitive, the full convolution along the last axis. Its rules:
convolution is bilinear, so the tangent is the convolution of each tangent with the
other operand, and the cotangent of one operand is the (valid part of the) full
convolution of the cotangent with the other operand reversed; written with the
primitive itself, so they differentiate again. Leading axes broadcast, which is the
batching rule under ``chainrule.vmap``: a batch of sequences is one call.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import chainrule.numpy as cnp
from chainrule.core.primitive import def_batch, def_jvps, def_vjps
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import shape_of, unbroadcast
from chainrule.numpy.registry import MIRROR_OF, mirrors, wrap
from chainrule.numpy.shape.primitives import _as_input, _has_tensor

__all__ = ["convolve", "correlate"]


def _convolve_full_impl(a, v):
    """The full convolution of ``a`` (..., n) and ``v`` (..., m) along the last axis,
    (..., n + m - 1); leading axes broadcast. NumPy's own for two sequences."""
    a, v = np.asarray(a), np.asarray(v)
    if a.ndim == 1 and v.ndim == 1:
        return np.convolve(a, v)
    lead = np.broadcast_shapes(a.shape[:-1], v.shape[:-1])
    n, m = a.shape[-1], v.shape[-1]
    if not (np.isfinite(a).all() and np.isfinite(v).all()):
        # the sum of the products that overlap, as NumPy's: the zero padding below would
        # make 0 * inf (NaN) terms where NumPy has none
        out = np.zeros(lead + (n + m - 1,), dtype=np.result_type(a, v))
        with np.errstate(invalid="ignore"):  # (np.convolve warns of none)
            for j in range(m):
                out[..., j:j + n] += a * v[..., j:j + 1]
        return out
    padded = np.zeros(lead + (n + 2 * (m - 1),), dtype=np.result_type(a, v))
    padded[..., m - 1:m - 1 + n] = a
    windows = sliding_window_view(padded, m, axis=-1)  # (..., n + m - 1, m), no copy
    return np.einsum("...ij,...j->...i", windows, np.broadcast_to(v[..., ::-1], lead + (m,)))


convolve_full = wrap(_convolve_full_impl, "convolution", "convolve_full", public=False)


def _reversed(x):
    return cnp.flip(x, -1)


def _valid_part(y, start: int, length: int):
    return y[..., start:start + length]


def _convolve_vjp_a(g, ans, a, v):
    n, m = shape_of(a)[-1], shape_of(v)[-1]
    return unbroadcast(_valid_part(convolve_full(g, _reversed(v)), m - 1, n), a)


def _convolve_vjp_v(g, ans, a, v):
    n, m = shape_of(a)[-1], shape_of(v)[-1]
    return unbroadcast(_valid_part(convolve_full(g, _reversed(a)), n - 1, m), v)


def_vjps(convolve_full, _convolve_vjp_a, _convolve_vjp_v)
def_jvps(convolve_full,
         lambda t, ans, a, v: convolve_full(t, v),
         lambda t, ans, a, v: convolve_full(a, t))
def_batch(batching.elementwise, convolve_full)  # leading axes broadcast like elementwise ones


_MODES = {"f": "full", 2: "full", "s": "same", 1: "same", "v": "valid", 0: "valid"}


def _sequences(name: str, a, v, mode, at_least_1d: bool = True):
    a, v = _as_input(a), _as_input(v)
    if not at_least_1d and not (shape_of(a) and shape_of(v)):  # correlate, unlike convolve
        raise ValueError("object of too small depth for desired array")
    a = cnp.atleast_1d(a)
    v = cnp.atleast_1d(v)
    if len(shape_of(a)) != 1 or len(shape_of(v)) != 1:
        raise ValueError(f"{name}: object too deep for desired array (a and v must be 1-D)")
    if shape_of(a)[0] == 0:
        raise ValueError(f"{name}: a cannot be empty")
    if shape_of(v)[0] == 0:
        raise ValueError(f"{name}: v cannot be empty")
    try:
        mode = _MODES[mode.lower()[:1] if isinstance(mode, str) else mode]
    except (KeyError, TypeError):
        raise ValueError(
            f"{name}: mode must be one of 'valid', 'same', or 'full' (got {mode!r})") from None
    return a, v, mode


def _cast(ans, preferred_element_type):
    return ans if preferred_element_type is None else cnp.astype(ans, preferred_element_type)


# jax.numpy's convolve and correlate take precision= and preferred_element_type=, as its
# products (chainrule.numpy.products.JAX_KEYWORDS): precision changes nothing (NumPy
# multiplies in the operands' own precision); the result is cast to the type asked for.
def _np_convolve(a, v, mode="full", *, precision=None, preferred_element_type=None):
    """``np.convolve`` with jax.numpy's keywords."""
    return _cast(np.convolve(a, v, mode), preferred_element_type)


def _np_correlate(a, v, mode="valid", *, precision=None, preferred_element_type=None):
    """``np.correlate`` with jax.numpy's keywords."""
    return _cast(np.correlate(a, v, mode), preferred_element_type)


@mirrors(_np_convolve, "convolution", "convolve")
def convolve(a, v, mode="full", *, precision=None, preferred_element_type=None):
    """``np.convolve``: differentiable in both sequences. jax.numpy's ``precision=``
    changes nothing; ``preferred_element_type=`` is the result's dtype.

    >>> import chainrule as cr, chainrule.numpy as cnp
    >>> cr.grad(lambda a: cnp.convolve(a, [1.0, 2.0])[1])(cnp.array([3.0, 4.0]))
    array([2., 1.])
    """
    if not _has_tensor([a, v]):
        return _np_convolve(a, v, mode, preferred_element_type=preferred_element_type)
    return _cast(_convolved(a, v, mode), preferred_element_type)


def _convolved(a, v, mode):
    a, v, mode = _sequences("convolve", a, v, mode)
    n, m = shape_of(a)[0], shape_of(v)[0]
    full = convolve_full(a, v)
    longer, shorter = max(n, m), min(n, m)
    if mode == "same":
        return _valid_part(full, (shorter - 1) // 2, longer)
    if mode == "valid":
        return _valid_part(full, shorter - 1, longer - shorter + 1)
    return full


@mirrors(_np_correlate, "convolution", "correlate")
def correlate(a, v, mode="valid", *, precision=None, preferred_element_type=None):
    """``np.correlate`` (``v`` conjugated, as NumPy does): differentiable in both.
    jax.numpy's ``precision=`` changes nothing; ``preferred_element_type=`` is the
    result's dtype."""
    if not _has_tensor([a, v]):
        return _np_correlate(a, v, mode, preferred_element_type=preferred_element_type)
    return _cast(_correlated(a, v, mode), preferred_element_type)


def _correlated(a, v, mode):
    a, v, mode = _sequences("correlate", a, v, mode, at_least_1d=False)
    n, m = shape_of(a)[0], shape_of(v)[0]
    full = convolve_full(a, _reversed(cnp.conj(v)))
    longer, shorter = max(n, m), min(n, m)
    if mode == "same":  # NumPy centres the window one step later when v is the longer
        return _valid_part(full, (shorter - 1) // 2 if n >= m else shorter // 2, longer)
    if mode == "valid":
        return _valid_part(full, shorter - 1, longer - shorter + 1)
    return full


MIRROR_OF[np.convolve], MIRROR_OF[np.correlate] = convolve, correlate  # (records replay _np_*)

"""Selection and cleaning: ``where``, ``clip``, PyTorch's ``clamp``, ``nan_to_num``.

Each picks, elementwise, one of its inputs (or a constant) and sends the derivative to
the input it picked, so its rules are selections of the cotangent rather than products.
"""

from __future__ import annotations

import numpy as np

from chainrule.core.primitive import def_batch, def_jvps, def_vjps, reads_only
from chainrule.core.tensor import Tensor
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import broadcast_like, unbroadcast
from chainrule.numpy.nondiff import isfinite, nonzero
from chainrule.numpy.registry import MIRROR_OF, mirrors, optional, wrap
from chainrule.numpy.registry import elementwise_derivatives as derivs

__all__ = ["where", "clip", "nan_to_num"]


def _np_where(condition, x, y):
    """``np.where(condition, x, y)``, the same values bit for bit.

    NumPy's where branches on every element, and a condition that changes at random (the
    signs of an activation) makes the processor mispredict about every other one: 2.5 ms
    for a 256×1024 float32 array on the reference machine, against 0.1 ms for a product.
    For large real floating-point results the selection is done on the bits instead,
    ``y ^ ((x ^ y) & mask)`` with a mask of all ones where the condition holds, which
    has no branch and copies each chosen value exactly (NaN payloads, signed zeros)."""
    if (
        condition.__class__ is not np.ndarray
        or condition.dtype != bool
        or condition.size < _BIT_SELECT_SIZE
        or not isinstance(x, _SELECTABLE)
        or not isinstance(y, _SELECTABLE)
    ):
        return np.where(condition, x, y)
    dtype = np.result_type(x, y)
    unsigned = _UNSIGNED_OF_SIZE.get(dtype.itemsize) if dtype.kind == "f" else None
    if unsigned is None or np.broadcast_shapes(condition.shape, np.shape(x), np.shape(y)) \
            != condition.shape:
        return np.where(condition, x, y)
    mask = condition.astype(unsigned)
    np.negative(mask, out=mask)  # 1 -> all ones, 0 -> 0
    x_bits = np.asarray(x, dtype=dtype).view(unsigned)
    y_bits = np.asarray(y, dtype=dtype).view(unsigned)
    if y_bits.ndim == 0 and y_bits == 0:  # where(c, x, 0): the usual case, one pass
        return (x_bits & mask).view(dtype)
    if x_bits.ndim == 0 and x_bits == 0:
        np.invert(mask, out=mask)
        return (y_bits & mask).view(dtype)
    return (y_bits ^ ((x_bits ^ y_bits) & mask)).view(dtype)


_BIT_SELECT_SIZE = 4096  # below this NumPy's where is as fast
_SELECTABLE = (np.ndarray, np.generic, float, int)
_UNSIGNED_OF_SIZE = {2: np.uint16, 4: np.uint32, 8: np.uint64}

_where = wrap(_np_where, "elementwise", "where", public=False)
def_vjps(_where, None,
         lambda g, ans, c, x, y: unbroadcast(_where(c, g, 0), x),
         lambda g, ans, c, x, y: unbroadcast(_where(c, 0, g), y))
def_jvps(_where, None,
         lambda t, ans, c, x, y: broadcast_like(_where(c, t, 0), ans),
         lambda t, ans, c, x, y: broadcast_like(_where(c, 0, t), ans))
reads_only(_where, (), (0,), (0,))  # the condition (PyTorch's where saves it alone)


# where's x and y when not given (None is a value to pick, as NumPy's where takes it)
_NOT_GIVEN = object()


@mirrors(np.where, "elementwise")
def where(condition, x=_NOT_GIVEN, y=_NOT_GIVEN, *, size: int | None = None, fill_value=None):
    """``np.where``: with ``x`` and ``y`` it picks elementwise and differentiates in both;
    with the condition alone it is ``nonzero`` (``size`` and ``fill_value`` as JAX's).

    >>> import numpy as np
    >>> where(np.array([True, False]), np.array([1.0, 2.0]), -1.0)
    array([ 1., -1.])
    """
    if x is _NOT_GIVEN and y is _NOT_GIVEN:
        return nonzero(condition, size=size, fill_value=fill_value)
    if x is _NOT_GIVEN or y is _NOT_GIVEN:
        raise ValueError("either both or neither of x and y should be given")
    if size is not None or fill_value is not None:
        raise TypeError("where: size and fill_value go with the one-argument form where(condition)")
    if not (_holds_array(condition) or _holds_array(x) or _holds_array(y)):
        # Python values in, Python values out (a number, or a list), as in HIPS autograd
        picked = np.where(condition, x, y)
        return picked.tolist() if isinstance(picked, np.ndarray) else picked
    return _where(condition, x, y)


def _holds_array(v) -> bool:
    """Whether ``v`` is an array, a NumPy scalar or a Tensor, or a list or tuple holding one."""
    if isinstance(v, np.ndarray | np.generic | Tensor):
        return True
    return isinstance(v, list | tuple) and any(_holds_array(u) for u in v)


_clip = wrap(np.clip, "elementwise", "clip", public=False)
# np.clip follows HIPS autograd: where the result equals a bound (a touches it, or lies
# beyond it) the derivative goes to that bound, not to ``a``; exactly one of ``a``, ``a_min``
# and ``a_max`` receives each element's derivative (JAX splits it at a tie, PyTorch gives
# it to ``a``: see clamp below).
derivs(_clip, lambda ans, x, lo, hi: _differs(ans, lo) & _differs(ans, hi),
              lambda ans, x, lo, hi: _equals(ans, lo) & _differs(ans, hi),
              lambda ans, x, lo, hi: _equals(ans, hi))


def _differs(ans, bound):
    return True if bound is None else ans != bound


def _equals(ans, bound):
    return False if bound is None else ans == bound


@mirrors(np.clip, "elementwise")
def clip(a, a_min=np._NoValue, a_max=np._NoValue, **kwargs):
    """``np.clip``; the derivative goes to ``a`` where the result is strictly between the
    bounds and to the bound where it equals one, as in HIPS autograd.

    >>> import chainrule as cr
    >>> cr.grad(lambda a: clip(a, 0.0, 1.0).sum())(np.array([-1.0, 0.0, 0.5, 1.0]))
    array([0., 0., 1., 0.])
    """
    if not any(isinstance(v, Tensor) for v in (a, a_min, a_max, *kwargs.values())):
        return np.clip(a, a_min, a_max, **kwargs)  # (out=, NumPy's checks)
    a_min = None if a_min is np._NoValue else a_min
    a_max = None if a_max is np._NoValue else a_max
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    if kwargs:
        raise TypeError(f"clip: unexpected arguments {sorted(kwargs)}")
    return _clip(a, a_min, a_max)


# an ndarray's own a.clip(lo, hi) computes with NumPy's clip ufunc (not a public name),
# which hands a Tensor bound to the Tensor's __array_ufunc__: the same function as np.clip
_UMATH = optional(optional(np, "_core") or np.core, "umath")
if isinstance(optional(_UMATH, "clip"), np.ufunc):
    MIRROR_OF[_UMATH.clip] = clip


def _inside(x, lo, hi):
    mask = True
    if lo is not None:
        mask = mask & (x >= lo)
    if hi is not None:
        mask = mask & (x <= hi)
    return mask


def _below(x, lo, hi):
    return (x < lo) if hi is None else (x < lo) & (lo < hi)


def _above(x, lo, hi):
    return (x > hi) if lo is None else (x > hi) | (hi < lo)


def _clamp(x, lo, hi):
    # PyTorch's clamp keeps x where it equals a bound (relu(-0.0) and clamp(-0.0, min=0) are
    # -0.0; np.clip gives the bound) and gives NaN where a bound is NaN
    out = x if lo is None else np.where((x < lo) | np.isnan(lo), lo, x)
    return out if hi is None else np.where((out > hi) | np.isnan(hi), hi, out)


# PyTorch's clamp: a value on a bound keeps its derivative (the bounds get it only beyond);
# where the bounds cross (min > max) the result is max, and so is the derivative's home.
# Each part is selected, not multiplied by a mask, as PyTorch's: an infinite cotangent
# (sqrt of a clamped 0) gives 0 where it does not pass, not inf * 0 = nan.
clamp = wrap(_clamp, "elementwise", "clamp", public=False)
def_vjps(clamp, lambda g, ans, x, lo, hi: unbroadcast(where(_inside(x, lo, hi), g, 0), x),
                lambda g, ans, x, lo, hi: unbroadcast(where(_below(x, lo, hi), g, 0), lo),
                lambda g, ans, x, lo, hi: unbroadcast(where(_above(x, lo, hi), g, 0), hi))
def_jvps(clamp, lambda t, ans, x, lo, hi: where(_inside(x, lo, hi), t, 0),
                lambda t, ans, x, lo, hi: where(_below(x, lo, hi), t, 0),
                lambda t, ans, x, lo, hi: where(_above(x, lo, hi), t, 0))


nan_to_num = wrap(np.nan_to_num, "elementwise")
def_vjps(nan_to_num, lambda g, ans, x, *values, **kw: where(isfinite(x), g, 0))  # (copy, nan, posinf, neginf)
def_jvps(nan_to_num, lambda t, ans, x, *values, **kw: where(isfinite(x), t, 0))


# Under vmap each is elementwise: broadcast the batch axis.
def_batch(batching.elementwise, _where, _clip, clamp)


def _nan_to_num_batch(prim, batched, x, *rest, **kwargs):
    """Elementwise in ``x`` and the values put in; ``copy`` (second) says how, not what:
    a batched one is read example by example."""
    if len(batched) > 1 and batched[1]:
        return NotImplemented
    return batching.elementwise(prim, batched, x, *rest, **kwargs)


nan_to_num.batch = _nan_to_num_batch

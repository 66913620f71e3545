"""``chainrule.numpy.fft``: differentiable discrete Fourier transforms.

Every transform reduces to four n-dimensional primitives (``fftn``, ``ifftn``,
``rfftn``, ``irfftn``) called with explicit sizes ``s``, ``axes`` and ``norm``; the 1-d,
2-d and Hermitian variants are thin functions over them. All are linear, so the jvp is
the transform of the tangent. The vjp is the transpose (not the conjugate transpose:
the JAX and HIPS autograd convention for complex numbers):

* the DFT matrix is symmetric, so ``fftn`` and ``ifftn`` transpose to themselves, with
  the same ``norm``, followed by undoing the padding or cropping of the input to ``s``;
* ``rfftn`` is ``fftn`` of a real input cropped to half the last axis; its transpose
  zero-pads the cotangent back to full length, transforms it and keeps the real part;
* ``irfftn`` extends its input to a Hermitian spectrum, so each kept frequency except
  the zero and Nyquist ones appears twice: its transpose is ``rfftn`` of the cotangent
  (with the opposite scaling), weighted by 2 there, and conjugated.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from chainrule.core.primitive import def_batch, def_linear, def_vjps
from chainrule.core.tensor import Tensor
from chainrule.numpy import batching
from chainrule.numpy.broadcasting import is_complex, shape_of
from chainrule.numpy.elementwise import conj, real
from chainrule.numpy.nondiff import unboxing
from chainrule.numpy.products import any_tensor
from chainrule.numpy.registry import mirrors, wrap

__all__ = [
    "fft",
    "ifft",
    "rfft",
    "irfft",
    "hfft",
    "ihfft",
    "fft2",
    "ifft2",
    "rfft2",
    "irfft2",
    "fftn",
    "ifftn",
    "rfftn",
    "irfftn",
    "fftshift",
    "ifftshift",
    "fftfreq",
    "rfftfreq",
]

# Sample frequencies depend only on sizes: NumPy's own, not differentiable in ``n``. (On
# values that chainrule.jit traces, NumPy's call on their values is recorded; NumPy's
# arithmetic on a spacing ``d`` being differentiated carries its derivative.)
_fftfreq, _rfftfreq = unboxing(np.fft.fftfreq), unboxing(np.fft.rfftfreq)


def _differentiated(d) -> bool:
    return isinstance(d, Tensor) and (d.differentiated_by() is not None or getattr(d, "requires_grad", False))


def fftfreq(n, d=1.0, device=None):
    return (np.fft.fftfreq if _differentiated(d) else _fftfreq)(n, d, device=device)


def rfftfreq(n, d=1.0, device=None):
    return (np.fft.rfftfreq if _differentiated(d) else _rfftfreq)(n, d, device=device)


fftfreq.__doc__, rfftfreq.__doc__ = np.fft.fftfreq.__doc__, np.fft.rfftfreq.__doc__


_DUAL_NORM = {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}


def _crop_or_pad(x, shape):
    """Crop or zero-pad ``x`` to ``shape`` (same number of dimensions), at the end of each
    axis: what the transforms do to their input when ``s`` differs from its shape."""
    x = np.asarray(x)
    out = np.zeros(shape, dtype=x.dtype)
    common = tuple(slice(0, min(a, b)) for a, b in zip(x.shape, shape, strict=True))
    out[common] = x[common]
    return out


crop_or_pad = wrap(_crop_or_pad, "fft", public=False)
# Cropping and zero-padding are each other's transpose.
def_vjps(crop_or_pad, lambda g, ans, x, shape: crop_or_pad(g, shape_of(x)))
def_linear(crop_or_pad)


def _fit(g, x):
    """The cotangent ``g`` brought to the shape of ``x`` and, for a real ``x``, made real."""
    shape = shape_of(x)
    if shape_of(g) != shape:
        g = crop_or_pad(g, shape)
    if is_complex(g) and not is_complex(x):
        g = real(g)
    return g


def _hermitian_weights(s, axes, ndim, dtype):
    """2 on each frequency of the half axis that ``irfftn`` uses twice, 1 on the zero
    frequency and, for an even length, on the Nyquist frequency."""
    n = s[-1]
    w = np.full(n // 2 + 1, 2.0, dtype=dtype)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    shape = [1] * ndim
    shape[axes[-1]] = w.size
    return w.reshape(shape)


# Called positionally with explicit (s, axes, norm): see the public functions below.
_fftn = wrap(np.fft.fftn, "fft", public=False)
_ifftn = wrap(np.fft.ifftn, "fft", public=False)
_rfftn = wrap(np.fft.rfftn, "fft", public=False)
_irfftn = wrap(np.fft.irfftn, "fft", public=False)


def _irfftn_vjp(g, ans, x, s, axes, norm):
    g = real(g) if is_complex(g) else g
    weights = _hermitian_weights(s, axes, len(shape_of(g)), _real_dtype(g))
    return _fit(conj(_rfftn(g, s, axes, _DUAL_NORM[norm]) * weights), x)


def_vjps(_fftn, lambda g, ans, x, s, axes, norm: _fit(_fftn(g, s, axes, norm), x))
def_vjps(_ifftn, lambda g, ans, x, s, axes, norm: _fit(_ifftn(g, s, axes, norm), x))
def_vjps(_rfftn, lambda g, ans, x, s, axes, norm: _fit(real(_fftn(g, s, axes, norm)), x))
def_vjps(_irfftn, _irfftn_vjp)
for _prim in (_fftn, _ifftn, _rfftn, _irfftn):
    def_linear(_prim)


def _real_dtype(x) -> np.dtype:
    dtype = np.result_type(x.dtype if hasattr(x, "dtype") else x)
    return np.finfo(dtype).dtype if dtype.kind in "fc" else np.dtype(np.float64)


# -- argument handling: NumPy's defaults made explicit -----------------------------------
def _axes_and_sizes(x, s, axes, halved: bool = False):
    """``(s, axes)`` as explicit tuples with NumPy's defaults (all axes, or the last
    ``len(s)``; sizes from the input, -1 or None meaning the input's size). For an
    inverse real transform the default size of the last axis is ``2 * (m - 1)``."""
    shape = shape_of(x)
    ndim = len(shape)
    if axes is None:
        axes = range(ndim) if s is None else range(ndim - len(s), ndim)
    axes = tuple(normalize_axis_index(int(a), ndim) for a in _as_tuple(axes))  # NumPy's IndexError
    defaults = [shape[a] for a in axes]
    if halved and axes:
        defaults[-1] = 2 * (defaults[-1] - 1)
    if s is None:
        s = defaults
    else:
        s = _as_tuple(s)
        if len(s) != len(axes):
            raise ValueError(f"fft: s {s} and axes {axes} must have the same length")
        s = [d if n is None or n == -1 else int(n) for n, d in zip(s, defaults, strict=True)]
    return tuple(s), axes


def _as_tuple(v) -> tuple:
    if isinstance(v, int | np.integer):
        return (int(v),)
    return tuple(v)


def _norm(norm: str | None) -> str:
    if norm is None:
        return "backward"
    if norm not in _DUAL_NORM:
        raise ValueError(f'fft: norm must be "backward", "ortho" or "forward", got {norm!r}')
    return norm


def _plain_out(np_fun):
    """``np_fun`` itself where ``out=`` is given an array to write and nothing is traced:
    NumPy's result in ``out`` (on a value being differentiated, :func:`_no_out` refuses)."""

    def deco(f):
        @functools.wraps(f)
        def call(a, *args, **kwargs):
            out = kwargs.get("out", args[3] if len(args) > 3 else None)
            if out is not None and not any_tensor((a, out)):
                return np_fun(a, *args, **kwargs)
            return f(a, *args, **kwargs)

        return call

    return deco


def _no_out(out, name: str) -> None:
    if out is not None:
        raise TypeError(f"fft.{name}: out= is not supported on differentiable transforms")


def _one_axis(n, axis) -> tuple[tuple | None, tuple]:
    return (None if n is None else (n,)), (axis,)


# -- the public transforms -----------------------------------------------------------------
@mirrors(np.fft.fft, "fft")
@_plain_out(np.fft.fft)
def fft(a, n: int | None = None, axis: int = -1, norm: str | None = None, out=None):
    """``numpy.fft.fft``, differentiable in ``a``."""
    _no_out(out, "fft")
    return fftn(a, *_one_axis(n, axis), norm=norm)


@mirrors(np.fft.ifft, "fft")
@_plain_out(np.fft.ifft)
def ifft(a, n: int | None = None, axis: int = -1, norm: str | None = None, out=None):
    """``numpy.fft.ifft``, differentiable in ``a``."""
    _no_out(out, "ifft")
    return ifftn(a, *_one_axis(n, axis), norm=norm)


@mirrors(np.fft.rfft, "fft")
@_plain_out(np.fft.rfft)
def rfft(a, n: int | None = None, axis: int = -1, norm: str | None = None, out=None):
    """``numpy.fft.rfft``, differentiable in ``a``."""
    _no_out(out, "rfft")
    return rfftn(a, *_one_axis(n, axis), norm=norm)


@mirrors(np.fft.irfft, "fft")
@_plain_out(np.fft.irfft)
def irfft(a, n: int | None = None, axis: int = -1, norm: str | None = None, out=None):
    """``numpy.fft.irfft``, differentiable in ``a``."""
    _no_out(out, "irfft")
    return irfftn(a, *_one_axis(n, axis), norm=norm)


@mirrors(np.fft.hfft, "fft")
@_plain_out(np.fft.hfft)
def hfft(a, n: int | None = None, axis: int = -1, norm: str | None = None, out=None):
    """``numpy.fft.hfft``, differentiable in ``a``: ``irfft`` of the conjugate, scaled
    the other way (as NumPy computes it)."""
    _no_out(out, "hfft")
    return irfft(conj(a), n, axis, norm=_DUAL_NORM[_norm(norm)])


@mirrors(np.fft.ihfft, "fft")
@_plain_out(np.fft.ihfft)
def ihfft(a, n: int | None = None, axis: int = -1, norm: str | None = None, out=None):
    """``numpy.fft.ihfft``, differentiable in ``a``: the conjugate of ``rfft``, scaled
    the other way (as NumPy computes it)."""
    _no_out(out, "ihfft")
    return conj(rfft(a, n, axis, norm=_DUAL_NORM[_norm(norm)]))


@mirrors(np.fft.fftn, "fft")
@_plain_out(np.fft.fftn)
def fftn(a, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
         norm: str | None = None, out=None):
    """``numpy.fft.fftn``, differentiable in ``a``."""
    _no_out(out, "fftn")
    return _fftn(a, *_axes_and_sizes(a, s, axes), _norm(norm))


@mirrors(np.fft.ifftn, "fft")
@_plain_out(np.fft.ifftn)
def ifftn(a, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None, out=None):
    """``numpy.fft.ifftn``, differentiable in ``a``."""
    _no_out(out, "ifftn")
    return _ifftn(a, *_axes_and_sizes(a, s, axes), _norm(norm))


@mirrors(np.fft.rfftn, "fft")
@_plain_out(np.fft.rfftn)
def rfftn(a, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None, out=None):
    """``numpy.fft.rfftn``, differentiable in ``a`` (which must be real)."""
    _no_out(out, "rfftn")
    if is_complex(a):
        raise TypeError("fft.rfftn: the input must be real; use fftn for complex input")
    return _rfftn(a, *_axes_and_sizes(a, s, axes), _norm(norm))


@mirrors(np.fft.irfftn, "fft")
@_plain_out(np.fft.irfftn)
def irfftn(a, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
           norm: str | None = None, out=None):
    """``numpy.fft.irfftn``, differentiable in ``a``.

    Like NumPy, it reads only the real part of the zero frequency (and of the Nyquist
    frequency for an even length), so the imaginary parts there get a zero gradient.
    """
    _no_out(out, "irfftn")
    return _irfftn(a, *_axes_and_sizes(a, s, axes, halved=True), _norm(norm))


@mirrors(np.fft.fft2, "fft")
def fft2(a, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
         norm: str | None = None, out=None):
    """``numpy.fft.fft2``, differentiable in ``a``."""
    return fftn(a, s, axes, norm, out)


@mirrors(np.fft.ifft2, "fft")
def ifft2(a, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
          norm: str | None = None, out=None):
    """``numpy.fft.ifft2``, differentiable in ``a``."""
    return ifftn(a, s, axes, norm, out)


@mirrors(np.fft.rfft2, "fft")
def rfft2(a, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
          norm: str | None = None, out=None):
    """``numpy.fft.rfft2``, differentiable in ``a``."""
    return rfftn(a, s, axes, norm, out)


@mirrors(np.fft.irfft2, "fft")
def irfft2(a, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
           norm: str | None = None, out=None):
    """``numpy.fft.irfft2``, differentiable in ``a``."""
    return irfftn(a, s, axes, norm, out)


# -- shifts: a permutation, undone by the opposite shift ------------------------------
fftshift = wrap(np.fft.fftshift, "fft")
ifftshift = wrap(np.fft.ifftshift, "fft")
def_vjps(fftshift, lambda g, ans, x, axes=None: ifftshift(g, axes))
def_vjps(ifftshift, lambda g, ans, x, axes=None: fftshift(g, axes))
def_linear(fftshift)
def_linear(ifftshift)

del _prim

# Batching rules for vmap: the transformed axes of one example, shifted past the batch axis.
def_batch(batching.fft, _fftn, _ifftn, _rfftn, _irfftn)
def_batch(batching.fftshift, fftshift, ifftshift)
def_batch(batching.crop_or_pad, crop_or_pad)

"""``torch.fft`` (``import chainrule as torch; torch.fft.rfft(x, dim=-1)``): PyTorch's
discrete Fourier transforms with PyTorch's arguments (``n``/``s``, ``dim``, ``norm``),
built on :mod:`chainrule.numpy.fft`'s differentiable transforms. A float32 input gives
complex64 (and the inverse real transforms float32); an integer input is first made the
default floating dtype, as in PyTorch.

>>> import chainrule as torch
>>> x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
>>> torch.fft.rfft(x).real.sum().backward()      # Σₖ cos(2πkn/4), k = 0, 1, 2
>>> x.grad.tolist()
[3.0, 0.0, 1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.dtypes import as_dtype, check_cpu
from chainrule.core.eager import default_float_dtype, tensor
from chainrule.core.errors import TensorError
from chainrule.core.tensor import Tensor
from chainrule.numpy.torch_linalg import as_input, no_out

__all__ = [
    "fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2",
    "fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift",
]

_NORMS = (None, "backward", "ortho", "forward")
_SWAPPED = {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}


def _input(x) -> Tensor:
    x = as_input(x)
    if x.dtype.kind in "biu":
        return x.to(default_float_dtype())
    return x


def _norm(norm: str | None) -> str | None:
    if norm not in _NORMS:
        raise TensorError(f"fft: norm must be 'backward', 'ortho' or 'forward' (or None), got {norm!r}")
    return norm


def _dims(dim) -> tuple[int, ...] | None:
    return None if dim is None else tuple(dim) if isinstance(dim, Sequence) else (dim,)


def _real_axes(x: Tensor, s, dim, name: str) -> None:
    """PyTorch's refusal of a real n-d transform over no dims (NumPy's fails on an index)."""
    count = len(_dims(dim)) if dim is not None else len(_dims(s)) if s is not None else x.ndim
    if count == 0:
        raise TensorError(f"{name} must transform at least one axis; give a Tensor of at least one dimension, or "
                          "the dims in dim=")


def _one(numpy_name: str, name: str):
    transform = getattr(cnp.fft, numpy_name)

    def function(input, n: int | None = None, dim: int = -1, norm: str | None = None, *, out=None) -> Tensor:
        no_out(out, name)
        return transform(_input(input), n=n, axis=dim, norm=_norm(norm))

    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"``torch.fft.{name}(input, n=None, dim=-1, norm=None)``: NumPy's ``fft.{numpy_name}`` "
                        "along ``dim``, cropped or zero-padded to ``n``.")
    return function


def _many(numpy_name: str, name: str, default_dim):
    transform = getattr(cnp.fft, numpy_name)

    def function(input, s: Sequence[int] | None = None, dim=default_dim, norm: str | None = None, *,
                 out=None) -> Tensor:
        no_out(out, name)
        x = _input(input)
        if numpy_name.startswith(("rfft", "irfft")):
            _real_axes(x, s, dim, name)
        result = transform(x, s=_dims(s), axes=_dims(dim), norm=_norm(norm))
        if numpy_name in ("fftn", "ifftn") and result.dtype.kind != "c":  # (a 0-d input: no dims transformed)
            result = cnp.astype(result, np.result_type(result.dtype, np.complex64))
        return result

    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"``torch.fft.{name}(input, s=None, dim={default_dim!r}, norm=None)``: NumPy's "
                        f"``fft.{numpy_name}`` over ``dim`` (the last ``len(s)`` dims when only ``s`` is given).")
    return function


fft, ifft, rfft, irfft = (_one(n, n) for n in ("fft", "ifft", "rfft", "irfft"))
hfft, ihfft = _one("hfft", "hfft"), _one("ihfft", "ihfft")
fft2, ifft2, rfft2, irfft2 = (_many(n, n, (-2, -1)) for n in ("fft2", "ifft2", "rfft2", "irfft2"))
fftn, ifftn, rfftn, irfftn = (_many(n, n, None) for n in ("fftn", "ifftn", "rfftn", "irfftn"))


def hfftn(input, s: Sequence[int] | None = None, dim=None, norm: str | None = None, *, out=None) -> Tensor:
    """``torch.fft.hfftn``: the real n-d transform of a Hermitian-symmetric signal given by
    its half (the last ``dim`` halved), the inverse of ``ihfftn``: ``irfftn`` of the
    conjugate with the normalisation on the other side.

    >>> import chainrule as torch
    >>> torch.fft.hfftn(torch.fft.ihfftn(torch.tensor([[1.0, 2.0], [3.0, 5.0]]))).tolist()
    [[1.0, 2.0], [3.0, 5.0]]
    """
    no_out(out, "hfftn")
    x = _input(input)
    _real_axes(x, s, dim, "hfftn")
    return cnp.fft.irfftn(cnp.conj(x), s=_dims(s), axes=_dims(dim),
                          norm=_SWAPPED[_norm(norm)])


def ihfftn(input, s: Sequence[int] | None = None, dim=None, norm: str | None = None, *, out=None) -> Tensor:
    """``torch.fft.ihfftn``: the half of the inverse n-d transform of a real signal
    (``rfftn``'s half, conjugated, with the normalisation on the other side)."""
    no_out(out, "ihfftn")
    x = _input(input)
    _real_axes(x, s, dim, "ihfftn")
    return cnp.conj(cnp.fft.rfftn(x, s=_dims(s), axes=_dims(dim), norm=_SWAPPED[_norm(norm)]))


def hfft2(input, s: Sequence[int] | None = None, dim=(-2, -1), norm: str | None = None, *, out=None) -> Tensor:
    """``torch.fft.hfft2``: ``hfftn`` over the last two dims."""
    return hfftn(input, s, dim, norm, out=out)


def ihfft2(input, s: Sequence[int] | None = None, dim=(-2, -1), norm: str | None = None, *, out=None) -> Tensor:
    """``torch.fft.ihfft2``: ``ihfftn`` over the last two dims."""
    return ihfftn(input, s, dim, norm, out=out)


def _frequencies(values: np.ndarray, dtype, device, requires_grad: bool) -> Tensor:
    check_cpu(device, "fftfreq")
    dtype = default_float_dtype() if dtype is None else dtype
    if np.dtype(as_dtype(dtype)).kind not in "fc":
        raise TensorError(f"fftfreq requires a floating point or complex dtype, got {np.dtype(as_dtype(dtype)).name}")
    return tensor(values, dtype=dtype, requires_grad=requires_grad)


def fftfreq(n: int, d: float = 1.0, *, out=None, dtype=None, layout=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """``torch.fft.fftfreq``: the sample frequencies of an ``n``-point transform, of the
    default floating dtype unless ``dtype`` is given.

    >>> import chainrule as torch
    >>> torch.fft.fftfreq(4).tolist()
    [0.0, 0.25, -0.5, -0.25]
    """
    no_out(out, "fftfreq")
    return _frequencies(np.fft.fftfreq(n, d) if n else np.zeros(0), dtype, device, requires_grad)  # (n = 0: none)


def rfftfreq(n: int, d: float = 1.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``torch.fft.rfftfreq``: the nonnegative sample frequencies of ``rfft``."""
    no_out(out, "rfftfreq")
    return _frequencies(np.fft.rfftfreq(n, d) if n else np.array([np.nan]), dtype, device, requires_grad)  # (0 / 0)


def fftshift(input, dim=None) -> Tensor:
    """``torch.fft.fftshift``: the zero frequency moved to the centre of ``dim`` (all)."""
    return cnp.fft.fftshift(as_input(input), axes=_dims(dim))


def ifftshift(input, dim=None) -> Tensor:
    """``torch.fft.ifftshift``: ``fftshift`` undone."""
    return cnp.fft.ifftshift(as_input(input), axes=_dims(dim))

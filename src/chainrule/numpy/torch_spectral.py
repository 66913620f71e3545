"""PyTorch's short-time Fourier transform and its window functions: ``torch.stft`` and
``torch.istft`` (centred frames with reflect padding, a window shorter than ``n_fft``
padded to it, one- or two-sided spectra, overlap-add with the window's envelope divided
out), and ``torch.hann_window``, ``hamming_window``, ``blackman_window``,
``bartlett_window``, ``kaiser_window``. Built on :mod:`chainrule.numpy`'s differentiable
padding, gathering and FFTs, so that gradients reach the signal and the window.

>>> import chainrule as torch
>>> x = torch.arange(16.0)
>>> spec = torch.stft(x, 8, hop_length=2, window=torch.hann_window(8), return_complex=True)
>>> tuple(spec.shape)
(5, 9)
>>> bool((torch.istft(spec, 8, hop_length=2, window=torch.hann_window(8), length=16) - x).abs().max() < 1e-12)
True
"""

from __future__ import annotations

import warnings

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.dtypes import as_dtype, check_cpu
from chainrule.core.eager import EAGER, default_float_dtype, set_requires_grad
from chainrule.core.tensor import Tensor
from chainrule.core.values import plain
from chainrule.numpy.shape.updates import at
from chainrule.numpy.torch_linalg import as_input

__all__ = ["stft", "istft", "hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]

_PAD_MODES = {"reflect": "reflect", "constant": "constant", "replicate": "edge", "circular": "wrap"}


def _window(name: str, window_length: int, periodic: bool, dtype, device, requires_grad: bool, values) -> Tensor:
    check_cpu(device, name)
    if isinstance(window_length, bool) or not isinstance(window_length, int | np.integer):
        raise TypeError(f"{name}(): argument 'window_length' (position 1) must be int, not "
                        f"{type(window_length).__name__}")
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    dtype = default_float_dtype() if dtype is None else as_dtype(dtype)
    if dtype.kind != "f":
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dtype}")
    if window_length <= 1:
        w = np.ones(window_length)
    else:
        m = window_length + 1 if periodic else window_length  # a periodic window: one more point, dropped
        w = values(np.arange(m, dtype=np.float64), m)[:window_length]
    t = Tensor(np.asarray(w, dtype), EAGER)
    if requires_grad:
        set_requires_grad(t, True)
    return t


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None, device=None,
                requires_grad: bool = False) -> Tensor:
    """``torch.hann_window``: 0.5 − 0.5·cos(2πn/(N−1)), of N + 1 points with the last
    dropped when ``periodic`` (the default, for spectral analysis).

    >>> import chainrule as torch
    >>> torch.hann_window(4).round(decimals=12).tolist()
    [0.0, 0.5, 1.0, 0.5]
    """
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, m: 0.5 - 0.5 * np.cos(2 * np.pi * n / (m - 1)))


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype=None, layout=None, device=None, requires_grad: bool = False) -> Tensor:
    """``torch.hamming_window``: α − β·cos(2πn/(N−1)), periodic by default."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, m: alpha - beta * np.cos(2 * np.pi * n / (m - 1)))


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None, device=None,
                    requires_grad: bool = False) -> Tensor:
    """``torch.blackman_window``: 0.42 − 0.5·cos(2πn/(N−1)) + 0.08·cos(4πn/(N−1))."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, m: 0.42 - 0.5 * np.cos(2 * np.pi * n / (m - 1)) + 0.08 * np.cos(4 * np.pi * n / (m - 1)))


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None, device=None,
                    requires_grad: bool = False) -> Tensor:
    """``torch.bartlett_window``: the triangle 1 − |2n/(N−1) − 1|."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, m: 1 - np.abs(2 * n / (m - 1) - 1))


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype=None, layout=None,
                  device=None, requires_grad: bool = False) -> Tensor:
    """``torch.kaiser_window``: I₀(β·√(1 − (2n/(N−1) − 1)²)) / I₀(β), NumPy's ``kaiser``."""
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, m: np.kaiser(m, beta))


def _stft_window(name: str, window, n_fft: int, win_length: int, like: Tensor) -> Tensor | None:
    """The window padded with zeros on both sides to ``n_fft`` (None: rectangular)."""
    if window is None:
        warnings.warn(f"{name}: a window was not provided. A rectangular window will be applied, which is known to "
                      "cause spectral leakage (and istft needs the window stft used); to suppress this warning, pass "
                      "window=torch.ones(n_fft) explicitly, or torch.hann_window(n_fft).", UserWarning, stacklevel=3)
        return None if win_length == n_fft else \
            cnp.pad(cnp.ones(win_length, np.real(np.zeros((), like.dtype)).dtype),
                    ((n_fft - win_length) // 2, n_fft - win_length - (n_fft - win_length) // 2))
    window = as_input(window)
    if window.ndim != 1 or window.shape[0] != win_length:
        raise RuntimeError(f"{name}: expected a 1D window tensor of size equal to win_length={win_length}, but got "
                           f"window with size {list(window.shape)}")
    left = (n_fft - win_length) // 2
    return window if win_length == n_fft else cnp.pad(window, ((left, n_fft - win_length - left),))


def _lengths(name: str, n_fft: int, hop_length, win_length):
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    if hop <= 0:
        raise RuntimeError(f"{name}: expected hop_length > 0, but got hop_length={hop}")
    if not 0 < win <= n_fft:
        raise RuntimeError(f"{name}: expected 0 < win_length <= n_fft, but got win_length={win}")
    return hop, win


def _length(value, name: str) -> int:
    """An int argument given as PyTorch takes it: a Python or NumPy integer, or a Tensor of
    one integer (as PyTorch's parser converts it)."""
    if isinstance(value, Tensor | np.ndarray):
        if np.size(value) != 1:
            raise ValueError(f"stft: {name} must be an int, got a Tensor of shape {tuple(np.shape(value))}: only one "
                             "element tensors can be converted to Python scalars")
        value = np.asarray(plain(value)).reshape(()).item()
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"stft: {name} must be an int, got {value!r}")
    return int(value)


def stft(input, n_fft: int, hop_length: int | None = None, win_length: int | None = None, window=None,
         center: bool = True, pad_mode: str = "reflect", normalized: bool = False, onesided: bool | None = None,
         return_complex: bool | None = None, align_to_window: bool | None = None) -> Tensor:
    """``torch.stft``: the Fourier transforms of ``input``'s frames (1-D (L,) or 2-D (B, L)),
    ``n_fft`` long and ``hop_length`` (n_fft // 4) apart, each multiplied by ``window``
    (``win_length`` long, centred in ``n_fft``; rectangular when None). With ``center``
    the signal is first padded by n_fft // 2 on both sides in ``pad_mode``. The result is
    (B?, n_fft // 2 + 1 (all n_fft when not ``onesided``), frames), complex; with
    ``return_complex=False`` (deprecated in PyTorch) real and imaginary parts as a last dim.

    >>> import chainrule as torch
    >>> torch.stft(torch.ones(8), 4, hop_length=4, window=torch.ones(4), center=False,
    ...            return_complex=True).real.tolist()
    [[4.0, 4.0], [0.0, 0.0], [0.0, 0.0]]
    """
    x = as_input(input)
    n_fft = _length(n_fft, "n_fft")
    if align_to_window:
        raise NotImplementedError("stft: align_to_window=True is not supported; leave it None (or False)")
    complex_input = x.dtype.kind == "c" or (window is not None and as_input(window).dtype.kind == "c")
    if return_complex is None:
        if not complex_input:
            raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will "
                               "further require that return_complex=True in a future PyTorch release.")
        return_complex = True
    if x.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, got one of shape {tuple(x.shape)}")
    if x.dtype.kind in "biu":
        raise RuntimeError(f"stft: expected a floating point or complex input, got {x.dtype}")
    if not return_complex:
        warnings.warn("stft with return_complex=False is deprecated. In a future pytorch release, stft will return "
                      "complex tensors for all inputs, and return_complex=False will raise an error.", UserWarning,
                      stacklevel=2)
    hop, win = _lengths("stft", n_fft, hop_length, win_length)
    if center:
        if pad_mode not in _PAD_MODES:
            raise NotImplementedError(f"Unrecognised padding mode {pad_mode}")
        pad = n_fft // 2
        if pad_mode == "reflect" and pad >= x.shape[-1]:
            raise RuntimeError(f"stft: reflect padding by n_fft // 2 = {pad} needs a signal longer than that, got "
                               f"{x.shape[-1]} samples; pass a smaller n_fft or pad_mode='constant'")
        x = cnp.pad(x, ((0, 0),) * (x.ndim - 1) + ((pad, pad),), mode=_PAD_MODES[pad_mode])
    length = x.shape[-1]
    if not 0 < n_fft <= length:
        raise RuntimeError(f"stft: expected 0 < n_fft <= {length}, but got n_fft={n_fft}")
    n_frames = 1 + (length - n_fft) // hop
    frames = cnp.take(x, np.arange(n_frames)[:, None] * hop + np.arange(n_fft), axis=-1)  # (B?, frames, n_fft)
    w = _stft_window("stft", window, n_fft, win, x)
    if w is not None:
        frames = frames * w
    onesided = not complex_input if onesided is None else onesided
    if onesided and complex_input:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    spec = cnp.fft.rfft(frames, axis=-1) if onesided else cnp.fft.fft(frames, axis=-1)
    if normalized:
        spec = spec * (1.0 / np.sqrt(n_fft))
    spec = cnp.swapaxes(spec, -1, -2)
    return spec if return_complex else cnp.stack([cnp.real(spec), cnp.imag(spec)], axis=-1)


def istft(input, n_fft: int, hop_length: int | None = None, win_length: int | None = None, window=None,
          center: bool = True, normalized: bool = False, onesided: bool | None = None, length: int | None = None,
          return_complex: bool = False) -> Tensor:
    """``torch.istft``: the signal back from its ``stft`` (complex, (B?, freq, frames)) by
    inverse transforms of the frames, multiplied by the window, added where they overlap
    and divided by the overlap-added squared window; the ``center`` padding is cut off and
    the result cut (or zero-padded) to ``length`` when given.

    >>> import chainrule as torch
    >>> x = torch.tensor([1.0, -2.0, 3.0, 0.5, 2.0, -1.0])
    >>> w = torch.hann_window(4)
    >>> y = torch.istft(torch.stft(x, 4, 1, window=w, return_complex=True), 4, 1, window=w, length=6)
    >>> y.round(decimals=12).tolist()
    [1.0, -2.0, 3.0, 0.5, 2.0, -1.0]
    """
    spec = as_input(input)
    if spec.dtype.kind != "c":
        raise RuntimeError("istft requires a complex-valued input tensor matching the output from stft with "
                           "return_complex=True.")
    if spec.ndim not in (2, 3):
        raise RuntimeError(f"istft: expected a tensor with 2 or 3 dimensions of complex dtype, got shape "
                           f"{tuple(spec.shape)}")
    hop, win = _lengths("istft", n_fft, hop_length, win_length)
    n_freq, n_frames = spec.shape[-2], spec.shape[-1]
    onesided = n_freq != n_fft if onesided is None else onesided
    if onesided:
        if n_freq != n_fft // 2 + 1:
            raise RuntimeError(f"istft: expected the frequency dimension (3rd to the last) of the input tensor to "
                               f"match n_fft / 2 + 1 when onesided=True, but got {n_freq}")
        if return_complex:
            raise RuntimeError("istft: cannot have onesided output if window or input is complex; pass "
                               "onesided=False with a two-sided spectrum")
    elif n_freq != n_fft:
        raise RuntimeError(f"istft: expected the frequency dimension (3rd to the last) of the input tensor to match "
                           f"n_fft when onesided=False, but got {n_freq}")
    spec = cnp.swapaxes(spec, -1, -2)  # (B?, frames, freq)
    if normalized:
        spec = spec * np.sqrt(n_fft)
    if return_complex:
        frames = cnp.fft.ifft(spec, axis=-1)
    else:  # a real signal from the first half (a two-sided spectrum taken as Hermitian), as PyTorch
        frames = cnp.fft.irfft(spec if onesided else spec[..., :n_fft // 2 + 1], n=n_fft, axis=-1)
    w = _stft_window("istft", window, n_fft, win, frames)
    if w is None:
        w = cnp.ones(n_fft, np.real(np.zeros((), frames.dtype)).dtype)
    frames = frames * w
    total = n_fft + hop * (n_frames - 1)
    positions = (np.arange(n_frames)[:, None] * hop + np.arange(n_fft)).ravel()
    flat = cnp.reshape(frames, (*frames.shape[:-2], n_frames * n_fft))
    y = at(cnp.zeros((*frames.shape[:-2], total), frames.dtype))[..., positions].add(flat)
    envelope = at(cnp.zeros(total, w.dtype))[positions].add(cnp.tile(w * w, n_frames))
    start = n_fft // 2 if center else 0
    end = total if length is None else start + length
    if length is None and center:
        end = total - n_fft // 2
    stop = min(end, total)
    y, envelope = y[..., start:stop], envelope[start:stop]
    if envelope.shape[0] and float(np.min(np.abs(plain(envelope)))) < 1e-11:
        raise RuntimeError(f"istft: window overlap add min < 1e-11: the squared window, overlap-added with "
                           f"hop_length={hop}, is zero somewhere in the output; use a smaller hop_length or a "
                           f"window without zeros there")
    y = y / envelope
    if end > total:
        warnings.warn("The length of signal is shorter than the length parameter. Result is being padded with zeros "
                      "in the tail. Please check your center and hop_length settings.", UserWarning, stacklevel=2)
        y = cnp.pad(y, ((0, 0),) * (y.ndim - 1) + ((0, end - total),))
    return y

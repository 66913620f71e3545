"""``torch.stft``, ``torch.istft`` and the window functions against PyTorch's: values,
dtypes, shapes and gradients (of the signal, the window and the spectrum) in float64, the
float32 dtypes, and PyTorch's errors."""

import warnings

import numpy as np
import pytest
import torch
from tests.numpy.torch_oracle import check_float32, compare

import chainrule as cr

rng = np.random.default_rng(5)
X20, X221 = rng.normal(size=20), rng.normal(size=(2, 21))

STFT = [
    ({"n_fft": 8, "hop_length": 2}, X20, 8),
    ({"n_fft": 8}, X221, 8),
    ({"n_fft": 8, "hop_length": 3, "win_length": 6}, X221, 6),
    ({"n_fft": 8, "hop_length": 3, "win_length": 5, "center": False}, X20, 5),
    ({"n_fft": 8, "hop_length": 2, "pad_mode": "constant", "normalized": True}, X221, 8),
    ({"n_fft": 7, "hop_length": 2, "pad_mode": "replicate", "onesided": False}, X20, 7),
    ({"n_fft": 8, "hop_length": 4, "pad_mode": "circular"}, X221, 8),
    ({"n_fft": 6, "hop_length": 2, "center": False}, X20, None),
]


@pytest.mark.parametrize(("kwargs", "x", "win"), STFT)
def test_stft_against_torch(kwargs, x, win):
    w = None if win is None else rng.uniform(0.2, 1.0, size=win)
    arrays = [x] if w is None else [x, w]

    def run(lib):
        def f(x, w=None):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a rectangular window, warned of in both
                return lib.stft(x, window=w, return_complex=True, **kwargs)
        return f
    compare(run(cr), run(torch), arrays, rtol=1e-9, atol=1e-10)
    check_float32(run(cr), run(torch), arrays)


ISTFT = [
    ({"n_fft": 8, "hop_length": 2}, X20, 8, {}),
    ({"n_fft": 8, "hop_length": 2}, X221, 8, {"length": 25}),
    ({"n_fft": 8, "hop_length": 3, "win_length": 6}, X221, 6, {"length": 21}),
    ({"n_fft": 8, "hop_length": 2, "normalized": True}, X20, 8, {"length": 18}),
    ({"n_fft": 7, "hop_length": 2, "onesided": False}, X20, 7, {"onesided": False}),
    ({"n_fft": 8, "hop_length": 2, "center": False}, X221, 8, {}),
]


@pytest.mark.parametrize(("kwargs", "x", "win", "extra"), ISTFT)
def test_istft_against_torch(kwargs, x, win, extra):
    w = rng.uniform(0.2, 1.0, size=win)
    spec = torch.stft(torch.tensor(x), window=torch.tensor(w), return_complex=True, **kwargs).numpy()
    options = {k: v for k, v in kwargs.items() if k not in ("pad_mode", "onesided")} | extra

    def run(lib):
        def f(spec, w):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # padded to length, warned of in both
                return lib.istft(spec, window=w, **options)
        return f
    compare(run(cr), run(torch), [spec, w], rtol=1e-9, atol=1e-10)
    check_float32(run(cr), run(torch), [spec, w])


def test_stft_round_trip_and_method():
    x = cr.tensor(X221)
    w = cr.hann_window(8, dtype=cr.float64)
    spec = x.stft(8, hop_length=2, window=w, return_complex=True)
    np.testing.assert_allclose(spec.istft(8, hop_length=2, window=w, length=21).numpy(), X221, atol=1e-12)
    with pytest.warns(UserWarning, match="return_complex=False is deprecated"):
        old = cr.stft(x, 8, window=w, return_complex=False)
    np.testing.assert_allclose(old.numpy(), torch.view_as_real(torch.tensor(spec.numpy())).numpy())


@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
                                  "kaiser_window"])
@pytest.mark.parametrize("n", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("periodic", [True, False])
def test_windows_against_torch(name, n, periodic):
    ours, theirs = getattr(cr, name)(n, periodic), getattr(torch, name)(n, periodic, dtype=torch.float64)
    assert ours.dtype == cr.zeros(1).dtype  # that of the creation functions
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-15)
    assert getattr(cr, name)(n, dtype=cr.float32).dtype == np.float32
    assert getattr(cr, name)(3, requires_grad=True).requires_grad


ERRORS = [
    (lambda lib: lib.stft(lib.ones(20), 8), RuntimeError, "return_complex parameter be given"),
    (lambda lib: lib.stft(lib.ones(1, 1, 20), 8, return_complex=True), RuntimeError, "expected a 1D or 2D tensor"),
    (lambda lib: lib.stft(lib.ones(20), 8, hop_length=0, return_complex=True), RuntimeError,
     "expected hop_length > 0"),
    (lambda lib: lib.stft(lib.ones(20), 8, win_length=9, return_complex=True), RuntimeError,
     "expected 0 < win_length <= n_fft"),
    (lambda lib: lib.stft(lib.ones(20), 8, window=lib.ones(7), return_complex=True), RuntimeError,
     "expected a 1D window tensor of size equal to win_length=8"),
    (lambda lib: lib.stft(lib.ones(20), 8, pad_mode="bogus", return_complex=True), NotImplementedError,
     "Unrecognised padding mode bogus"),
    (lambda lib: lib.istft(lib.ones(5, 11), 8), RuntimeError, "istft requires a complex-valued input"),
    (lambda lib: lib.istft(lib.ones(5, 11, dtype=lib.complex128), 10), RuntimeError,
     "match n_fft / 2 \\+ 1 when onesided=True"),
    (lambda lib: lib.istft(lib.stft(lib.ones(20), 8, 8, window=lib.hann_window(8), center=False,
                                    return_complex=True), 8, 8, window=lib.hann_window(8), center=False),
     RuntimeError, "window overlap add min"),
    (lambda lib: lib.hann_window(-1), RuntimeError, "requires non-negative window_length"),
    (lambda lib: lib.hann_window(3, dtype=lib.int64), RuntimeError, "expects floating point dtypes"),
    (lambda lib: lib.hann_window(3.0), TypeError, "must be int, not float"),
]


@pytest.mark.parametrize(("call", "error", "match"), ERRORS)
def test_errors_as_torch(call, error, match):
    with pytest.raises(error, match=match):
        call(torch)
    with pytest.raises(error, match=match):
        call(cr)

"""``chainrule.fft`` against ``torch.fft`` in float64 and float32: values, dtypes,
shapes and gradients of real and complex inputs; a spectral filter written as PyTorch
users write it."""

import numpy as np
import pytest
import torch
from tests.numpy.torch_oracle import check_float32, compare

import chainrule as cr

rng = np.random.default_rng(3)
X8 = rng.normal(size=8)
X7 = rng.normal(size=7)
X34 = rng.normal(size=(3, 4))
X345 = rng.normal(size=(3, 4, 5))
Z34 = rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))
Z5 = rng.normal(size=5) + 1j * rng.normal(size=5)

CASES = [
    ("fft", {}, X8), ("fft", {"n": 5}, X8), ("fft", {"n": 11, "norm": "ortho"}, X8), ("fft", {"dim": 0}, Z34),
    ("ifft", {"norm": "forward"}, Z5), ("ifft", {"n": 3, "dim": 0}, X34),
    ("rfft", {}, X7), ("rfft", {"n": 10, "dim": 0, "norm": "ortho"}, X34),
    ("irfft", {}, Z5), ("irfft", {"n": 9}, Z5), ("irfft", {"n": 4, "dim": 0, "norm": "forward"}, Z34),
    ("hfft", {}, Z5), ("hfft", {"n": 6, "norm": "ortho"}, Z5),
    ("ihfft", {}, X7), ("ihfft", {"n": 6, "norm": "forward", "dim": 0}, X34),
    ("fft2", {}, X345), ("fft2", {"s": (2, 6), "norm": "ortho"}, X34), ("ifft2", {"dim": (0, 2)}, X345),
    ("rfft2", {}, X345), ("irfft2", {}, Z34), ("irfft2", {"s": (3, 5)}, Z34),
    ("fftn", {}, X345), ("fftn", {"s": (3, 3)}, X345), ("fftn", {"dim": (0,), "norm": "forward"}, X345),
    ("ifftn", {"s": (2, 2, 2)}, X345), ("rfftn", {"dim": (1, 0)}, X345), ("irfftn", {}, Z34),
    ("irfftn", {"s": (4, 6), "norm": "ortho"}, Z34),
    ("hfft2", {}, Z34), ("hfftn", {"s": (3, 5), "norm": "forward"}, Z34), ("ihfft2", {}, X34),
    ("ihfftn", {"norm": "ortho"}, X345),
    ("fftshift", {}, X345), ("fftshift", {"dim": 1}, X345), ("ifftshift", {"dim": (0, 2)}, X345),
]


@pytest.mark.parametrize(("name", "kwargs", "x"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_against_torch(name, kwargs, x):
    ours = lambda a: getattr(cr.fft, name)(a, **kwargs)  # noqa: E731
    theirs = lambda a: getattr(torch.fft, name)(a, **kwargs)  # noqa: E731
    compare(ours, theirs, [x], rtol=1e-9, atol=1e-10)
    check_float32(ours, theirs, [x])


@pytest.mark.parametrize("name", ["fftfreq", "rfftfreq"])
@pytest.mark.parametrize(("n", "d"), [(1, 1.0), (8, 1.0), (7, 0.1)])
def test_frequencies(name, n, d):
    ours, theirs = getattr(cr.fft, name)(n, d, dtype=cr.float64), getattr(torch.fft, name)(n, d, dtype=torch.float64)
    np.testing.assert_allclose(np.asarray(ours), theirs.numpy(), rtol=1e-15)
    assert isinstance(ours, cr.Tensor)
    assert getattr(cr.fft, name)(n, d).dtype == cr.zeros(1).dtype


def test_integer_input_becomes_the_default_floating_dtype():
    complex_default = np.result_type(cr.zeros(1).dtype, np.complex64)
    assert cr.fft.fft(np.arange(4)).dtype == complex_default
    assert cr.fft.rfft(cr.tensor([1, 2, 3])).dtype == complex_default
    assert torch.fft.fft(torch.arange(4)).dtype == torch.complex64  # PyTorch's default float32


def test_bad_norm_and_out_are_refused():
    with pytest.raises(ValueError, match="norm"):
        cr.fft.fft(X8, norm="unitary")
    with pytest.raises(TypeError, match="out="):
        cr.fft.rfft(X8, out=cr.zeros(5))


def test_spectral_filter_written_as_in_pytorch():
    # low-pass filter a noisy signal, and learn the signal that the filter maps to a target
    t = np.linspace(0, 1, 64, endpoint=False)
    signal = np.sin(2 * np.pi * 3 * t) + 0.3 * rng.normal(size=64)
    results = {}
    for lib in (torch, cr):
        x = lib.tensor(signal, requires_grad=True)
        spectrum = lib.fft.rfft(x)
        freqs = lib.fft.rfftfreq(64, d=1 / 64)
        mask = (freqs.abs() <= 5).to(spectrum.dtype)
        smooth = lib.fft.irfft(spectrum * mask, n=64)
        loss = ((smooth - lib.tensor(np.sin(2 * np.pi * 3 * t))) ** 2).mean()
        loss.backward()
        results[lib.__name__] = (smooth.detach().numpy(), x.grad.numpy())
    np.testing.assert_allclose(results["chainrule"][0], results["torch"][0], atol=1e-12)
    np.testing.assert_allclose(results["chainrule"][1], results["torch"][1], atol=1e-12)


def test_under_grad_and_vmap():
    f = lambda x: cr.fft.irfft(cr.fft.rfft(x) * 2j).real.sum() + cr.fft.fft(x).abs().sum()  # noqa: E731
    g = cr.grad(f)(X8)
    t = torch.tensor(X8, requires_grad=True)
    (torch.fft.irfft(torch.fft.rfft(t) * 2j).real.sum() + torch.fft.fft(t).abs().sum()).backward()
    np.testing.assert_allclose(np.asarray(g), t.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(np.asarray(cr.vmap(f)(X34)), [float(f(r)) for r in X34], rtol=1e-12)

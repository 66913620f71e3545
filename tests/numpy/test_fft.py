"""Every transform of chainrule.numpy.fft: values against NumPy, both modes against
finite differences to second order (complex inputs included), for every ``norm``, with
sizes that pad and crop, and gradients against PyTorch where it is installed."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp

F = cnp.fft
NORMS = [None, "ortho", "forward"]

# id: (name, input kind, input shape, keyword arguments)
CASES = {
    "fft": ("fft", "complex", (6,), {}),
    "fft-real-input": ("fft", "real", (2, 5), {}),
    "fft-pad-axis0": ("fft", "complex", (3, 4), {"n": 5, "axis": 0}),
    "fft-crop": ("fft", "complex", (2, 6), {"n": 4}),
    "ifft": ("ifft", "complex", (2, 5), {}),
    "ifft-pad": ("ifft", "complex", (4,), {"n": 7}),
    "rfft": ("rfft", "real", (6,), {}),
    "rfft-odd": ("rfft", "real", (2, 7), {}),
    "rfft-pad-axis0": ("rfft", "real", (5, 3), {"n": 8, "axis": 0}),
    "rfft-crop": ("rfft", "real", (2, 7), {"n": 4}),
    "irfft": ("irfft", "complex", (4,), {}),
    "irfft-odd-n": ("irfft", "complex", (2, 4), {"n": 7}),
    "irfft-crop-input": ("irfft", "complex", (2, 6), {"n": 6}),
    "irfft-pad-input": ("irfft", "complex", (3, 2), {"n": 8, "axis": 0}),
    "irfft-real-input": ("irfft", "real", (5,), {}),
    "hfft": ("hfft", "complex", (4,), {}),
    "hfft-odd-n": ("hfft", "complex", (2, 4), {"n": 7}),
    "ihfft": ("ihfft", "real", (7,), {}),
    "fft2": ("fft2", "complex", (3, 4), {}),
    "fft2-sizes": ("fft2", "complex", (2, 3, 4), {"s": (4, 3)}),
    "ifft2": ("ifft2", "complex", (3, 4), {"axes": (0, 1)}),
    "rfft2": ("rfft2", "real", (4, 5), {}),
    "rfft2-sizes": ("rfft2", "real", (3, 4), {"s": (5, 6)}),
    "irfft2": ("irfft2", "complex", (4, 3), {}),
    "irfft2-sizes": ("irfft2", "complex", (3, 3), {"s": (4, 5)}),
    "fftn": ("fftn", "complex", (2, 3, 4), {}),
    "fftn-axes": ("fftn", "complex", (2, 3, 4), {"axes": (2, 0), "s": (3, 3)}),
    "ifftn": ("ifftn", "complex", (3, 4), {"s": (5, 2), "axes": (0, 1)}),
    "rfftn": ("rfftn", "real", (2, 3, 4), {}),
    "rfftn-axes": ("rfftn", "real", (4, 3), {"axes": (1, 0)}),
    "irfftn": ("irfftn", "complex", (2, 3, 3), {}),
    "irfftn-axes": ("irfftn", "complex", (3, 4), {"axes": (1, 0), "s": (5, 4)}),
}
SHIFTS = {
    "fftshift": ("fftshift", "real", (5,), {}),
    "fftshift-axes": ("fftshift", "complex", (3, 4), {"axes": 0}),
    "ifftshift": ("ifftshift", "real", (2, 5), {}),
    "ifftshift-axes": ("ifftshift", "complex", (3, 4), {"axes": (1,)}),
}


def sample(kind, shape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if kind == "complex" else x


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_transform(case, norm):
    name, kind, shape, kwargs = CASES[case]
    x = sample(kind, shape)
    f = lambda a: getattr(F, name)(a, norm=norm, **kwargs)
    np.testing.assert_allclose(f(x), getattr(np.fft, name)(x, norm=norm, **kwargs), atol=1e-12)
    assert cr.gradcheck(f, x, order=2)


@pytest.mark.parametrize("case", sorted(SHIFTS))
def test_shift(case):
    name, kind, shape, kwargs = SHIFTS[case]
    x = sample(kind, shape)
    f = lambda a: getattr(F, name)(a, **kwargs)
    np.testing.assert_array_equal(f(x), getattr(np.fft, name)(x, **kwargs))
    assert cr.gradcheck(f, x, order=2)


def test_positional_arguments_and_numpy_dispatch():
    x = sample("real", (4, 6))
    loss = lambda a: cnp.sum(cnp.abs(np.fft.rfft(a, 8, 0, "ortho")) ** 2)
    expected = cr.grad(lambda a: cnp.sum(cnp.abs(F.rfft(a, n=8, axis=0, norm="ortho")) ** 2))(x)
    np.testing.assert_allclose(cr.grad(loss)(x), expected)
    t = cr.tensor(x, requires_grad=True)
    cnp.sum(cnp.real(np.fft.fft2(t))).backward()
    assert t.grad.shape == x.shape


def test_real_input_gets_real_gradient():
    x = sample("real", (5,))
    g = cr.grad(lambda a: cnp.sum(cnp.imag(F.fft(a)) * np.arange(5.0)))(x)
    assert not np.iscomplexobj(g)


def test_irfft_ignores_imaginary_part_of_zero_and_nyquist_frequencies():
    z = sample("complex", (5,))
    g = cr.grad(lambda a: cnp.sum(F.irfft(a) * np.arange(8.0)))(z)
    assert g[0].imag == 0 and g[-1].imag == 0


def test_out_and_bad_norm_are_rejected():
    x = sample("real", (4,))
    with pytest.raises(TypeError, match="out="):  # out= cannot hold a value being differentiated
        cr.grad(lambda a: cnp.sum(cnp.abs(F.fft(a, out=np.empty(4, complex)))))(x)
    out = np.empty(4, complex)
    assert F.fft(x, out=out) is out and np.array_equal(out, np.fft.fft(x))  # plain: NumPy's
    with pytest.raises(ValueError, match="norm"):
        F.fft(x, norm="unitary")
    # an axis the array lacks is NumPy's IndexError, not another axis taken modulo ndim
    for f, axes in [(F.fft2, (-2, -1)), (F.fftn, (5,)), (F.rfftn, (-3,)), (F.irfftn, (1,))]:
        with pytest.raises(IndexError):
            f(np.ones(4), axes=axes)
        with pytest.raises(IndexError, match="out of bounds"):
            cr.grad(lambda a, f=f, axes=axes: cnp.sum(cnp.abs(f(a, axes=axes))))(np.ones(4))


def test_frequencies_are_numpys():
    assert F.fftfreq.__doc__ == np.fft.fftfreq.__doc__ and F.rfftfreq.__doc__ == np.fft.rfftfreq.__doc__
    np.testing.assert_array_equal(F.fftfreq(6, 0.5), np.fft.fftfreq(6, 0.5))
    np.testing.assert_array_equal(F.rfftfreq(np.int64(7), 0.5), np.fft.rfftfreq(np.int64(7), 0.5))


# -- PyTorch as an independent oracle -----------------------------------------------
try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")
WEIGHTS = np.random.default_rng(1).standard_normal(64)


def real_loss(y, lib):
    """A real scalar of a (possibly complex) transform output, in NumPy or torch terms."""
    w = WEIGHTS[: y.size if lib is cnp else y.numel()].reshape(tuple(y.shape))
    if lib is cnp:
        parts = (cnp.real(y), cnp.imag(y)) if y.dtype.kind == "c" else (y,)
        return sum(cnp.sum(p * w * (k + 1)) for k, p in enumerate(parts))
    wt = torch.from_numpy(w)
    parts = (y.real, y.imag) if y.is_complex() else (y,)
    return sum((p * wt * (k + 1)).sum() for k, p in enumerate(parts))


TORCH_CASES = [
    ("fft", "complex", (6,), {"n": 8}),
    ("rfft", "real", (7,), {"n": 6}),
    ("irfft", "complex", (5,), {"n": 9}),
    ("rfft2", "real", (4, 6), {}),
    ("irfftn", "complex", (3, 4), {"s": (3, 6)}),
    ("hfft", "complex", (4,), {}),
    ("ihfft", "real", (6,), {}),
]


@pytest.mark.torch
@needs_torch
@pytest.mark.parametrize("norm", ["backward", "ortho", "forward"])
@pytest.mark.parametrize("name, kind, shape, kwargs", TORCH_CASES)
def test_gradient_matches_torch(name, kind, shape, kwargs, norm):
    x = sample(kind, shape, seed=3)
    ours = cr.grad(lambda a: real_loss(getattr(F, name)(a, norm=norm, **kwargs), cnp))(x)
    xt = torch.tensor(x, requires_grad=True)
    real_loss(getattr(torch.fft, name)(xt, norm=norm, **kwargs), torch).backward()
    # PyTorch's gradient of a real loss in a complex input is the conjugate of
    # chainrule's (which follows JAX and HIPS autograd).
    np.testing.assert_allclose(ours, np.conj(xt.grad.resolve_conj().numpy()), atol=1e-10)


def test_complex_gradient_convention_matches_autograd():
    autograd = pytest.importorskip("autograd")
    anp = autograd.numpy
    z = sample("complex", (5,), seed=4)
    w = np.arange(8.0)

    def loss(lib):
        return lambda a: lib.sum(lib.fft.irfft(a, 8) * w + lib.real(lib.fft.fft(a, 8)) * w)

    np.testing.assert_allclose(cr.grad(loss(cnp))(z), autograd.grad(loss(anp))(z), atol=1e-12)

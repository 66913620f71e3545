"""chainrule.scipy.signal.convolve: autograd's n-d form (axes, dot_axes, mode); values
against scipy.signal and autograd, both modes against finite differences to second
order, gradients against autograd."""

import importlib

import numpy as np
import pytest
import scipy.signal as ss

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.scipy import signal

rng = np.random.default_rng(5)


def normal(*shape):
    return rng.standard_normal(shape)


# name: (shape of A, shape of B, keyword arguments)
CONFIGS = {
    "1d_full": ((5,), (3,), {}),
    "1d_valid": ((6,), (3,), {"mode": "valid"}),
    "1d_valid_swapped": ((3,), (6,), {"mode": "valid"}),
    "1d_same": ((6,), (3,), {"mode": "same"}),
    "1d_same_even": ((5,), (4,), {"mode": "same"}),
    "1d_full_swapped": ((3,), (5,), {}),
    "2d_full": ((4, 3), (2, 2), {}),
    "2d_same": ((4, 5), (3, 2), {"mode": "same"}),
    "2d_valid": ((5, 4), (2, 3), {"mode": "valid"}),
    # autograd's convolutional net: images (batch, channel, h, w), filters (channel, out, h, w)
    "convnet": ((2, 3, 5, 5), (3, 4, 3, 3),
                {"axes": ([2, 3], [2, 3]), "dot_axes": ([1], [0]), "mode": "valid"}),
    "one_axis_with_ignored": ((2, 6), (3, 4), {"axes": ([1], [1]), "mode": "full"}),
    "one_axis_same": ((2, 6), (3, 3), {"axes": ([1], [1]), "mode": "same"}),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_convolve(name):
    a_shape, b_shape, kwargs = CONFIGS[name]
    a, b = normal(*a_shape), normal(*b_shape)
    f = lambda x, y: signal.convolve(x, y, **kwargs)  # noqa: E731
    if "axes" not in kwargs:  # the n-d case is SciPy's convolution
        expected = ss.convolve(a, b, mode=kwargs.get("mode", "full"))
        value = cr.jvp(f, (a, b), (0 * a, 0 * b))[0]  # computed on Tensors
        np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-12)
    assert cr.gradcheck(f, a, b, order=2)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_against_autograd(name):
    autograd = pytest.importorskip("autograd")
    anp = importlib.import_module("autograd.numpy")
    asig = importlib.import_module("autograd.scipy.signal")
    a_shape, b_shape, kwargs = CONFIGS[name]
    a, b = normal(*a_shape), normal(*b_shape)
    np.testing.assert_allclose(signal.convolve(a, b, **kwargs), asig.convolve(a, b, **kwargs),
                               rtol=1e-12, atol=1e-12)
    w = normal(*np.shape(asig.convolve(a, b, **kwargs)))
    for argnum in (0, 1):
        theirs = autograd.grad(lambda x, y: anp.sum(asig.convolve(x, y, **kwargs) * w),
                               argnum)(a, b)
        ours = cr.grad(lambda x, y: cnp.sum(signal.convolve(x, y, **kwargs) * w), argnum)(a, b)
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_scipy_signature_and_plain_calls():
    a, b = normal(7), normal(3)
    np.testing.assert_array_equal(signal.convolve(a, b, "same"), ss.convolve(a, b, "same"))
    np.testing.assert_array_equal(signal.convolve(a, b, "valid", "direct"),
                                  ss.convolve(a, b, "valid", "direct"))
    g = cr.grad(lambda x: cnp.sum(signal.convolve(x, b, mode="valid") ** 2))(a)
    full = np.array([cnp.sum(ss.convolve(np.eye(7)[i], b, "valid") * 2
                             * ss.convolve(a, b, "valid")) for i in range(7)])
    np.testing.assert_allclose(g, full, rtol=1e-12)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="mode must be one of"):
        signal.convolve(normal(3), normal(2), mode="circular")
    with pytest.raises(ValueError, match="must pair the axes"):
        signal.convolve(normal(3, 2), normal(2, 2), axes=([0, 1], [0]))
    with pytest.raises(ValueError, match="at least as large"):
        signal.convolve(normal(3, 5), normal(4, 2), mode="valid")


def test_other_signal_names_are_scipys():
    np.testing.assert_array_equal(signal.windows.hann(5), ss.windows.hann(5))
    assert signal.windows.__name__ == "chainrule.scipy.signal.windows"
    with pytest.raises(TypeError, match=r"scipy\.signal\.lfilter is not differentiable"):
        cr.grad(lambda x: signal.lfilter([1.0], [1.0, -0.5], x).sum())(normal(4))

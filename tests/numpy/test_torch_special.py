"""PyTorch's special functions as eager Tensor methods and chainrule.* functions, against
PyTorch's values and gradients (float64 and float32), and their second derivatives
against finite differences."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")

# name: inputs inside its domain (erfinv on (-1, 1), lgamma and digamma off the poles)
INPUTS = {
    "erf": [0.3, -1.2, 6.0, 0.0],
    "erfc": [0.3, -1.2, 6.0, 0.0],
    "erfinv": [0.3, -0.7, 0.95, 0.0],
    "lgamma": [0.3, 1.7, 5.5, -0.5],
    "digamma": [0.3, 1.7, 5.5, -0.5],
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(INPUTS))
@pytest.mark.parametrize("form", ["method", "function"])
def test_special_functions_match_torch(name, dtype, form):
    x = cr.tensor(INPUTS[name], dtype=dtype, requires_grad=True)
    xt = torch.tensor(INPUTS[name], dtype=getattr(torch, dtype), requires_grad=True)
    y = getattr(x, name)() if form == "method" else getattr(cr, name)(x)
    yt = getattr(torch, name)(xt)
    assert isinstance(y, cr.Tensor) and y.dtype == np.dtype(dtype)
    rtol = 1e-12 if dtype == "float64" else 2e-6
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=rtol, atol=0)
    w = np.array([1.0, -2.0, 0.5, 3.0])
    (y * cr.tensor(w, dtype=dtype)).sum().backward()
    (yt * torch.tensor(w, dtype=getattr(torch, dtype))).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-8 if dtype == "float64" else 2e-6, atol=0)


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_special_functions_differentiate_twice(name):
    x = np.array(INPUTS[name][:3])
    second = cr.grad(lambda v: cr.grad(lambda u: getattr(cr, name)(u).sum())(v).sum())(x)
    h = 1e-5
    first = [cr.grad(lambda u: getattr(cr, name)(u).sum())(x + s * h) for s in (1, -1)]
    np.testing.assert_allclose(second, (first[0] - first[1]) / (2 * h), rtol=1e-5)


@pytest.mark.parametrize("default", [None, "float32"])
@pytest.mark.parametrize("dtype", ["float16", "float32", "int64", "bool"])
@pytest.mark.parametrize("name", ["erf", "erfc", "erfinv", "lgamma", "digamma"])
def test_special_methods_keep_pytorchs_dtype(name, dtype, default):
    # x.erf() of float16 is float16 (SciPy's is float64), of integers the default float, as PyTorch's
    data = np.array([0.5, 0.25, 0.0]).astype(dtype)
    before = torch.get_default_dtype()
    cr.set_default_dtype(default)
    torch.set_default_dtype(torch.float64 if default is None else torch.float32)
    try:
        want = getattr(torch.tensor(data), name)()
        got = getattr(cr.tensor(data), name)()
    finally:
        cr.set_default_dtype(None)
        torch.set_default_dtype(before)
    assert str(got.dtype) == str(want.dtype).removeprefix("torch.")
    np.testing.assert_allclose(got.numpy().astype(float), want.double().numpy(), rtol=2e-3)

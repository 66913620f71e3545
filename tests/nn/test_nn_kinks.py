"""Activations, clamps and losses at their kinks, at NaN and at ±inf against PyTorch in
float64: values, dtypes and the gradient of the input. The inputs are Tensors of at most 7
elements, which PyTorch's kernels compute element by element (its vectorised kernels,
used for longer Tensors, give other derivatives at NaN for some of these functions)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

NAN, INF = float("nan"), float("inf")
# kinks of the functions below, NaN and the infinities, in Tensors of at most 7 elements
INPUTS = {"nonfinite": [NAN, INF, -INF, 0.0, -0.0, 1.0, -1.0], "kinks": [6.0, -3.0, 3.0, 0.5, -0.5, 20.0, -20.0],
          "near": [1e-3, -1e-3, 2.9, -2.9, 5.5, 0.7, -0.7], "nan_alone": [NAN]}


def _both(f):
    return (lambda L, x: f(L, F if L is cr else TF, x))


FUNCTIONS = {
    "relu": lambda L, F, x: F.relu(x),
    "relu_method": lambda L, F, x: x.relu(),
    "relu6": lambda L, F, x: F.relu6(x),
    "hardtanh": lambda L, F, x: F.hardtanh(x),
    "hardtanh_range": lambda L, F, x: F.hardtanh(x, -0.5, 0.5),
    "elu": lambda L, F, x: F.elu(x),
    "elu_alpha": lambda L, F, x: F.elu(x, 0.5),
    "selu": lambda L, F, x: F.selu(x),
    "celu": lambda L, F, x: F.celu(x),
    "celu_alpha": lambda L, F, x: F.celu(x, 2.0),
    "leaky_relu": lambda L, F, x: F.leaky_relu(x, 0.2),
    "hardswish": lambda L, F, x: F.hardswish(x),
    "hardsigmoid": lambda L, F, x: F.hardsigmoid(x),
    "threshold": lambda L, F, x: F.threshold(x, 0.5, -2.0),
    "prelu": lambda L, F, x: F.prelu(x, L.tensor([0.25], dtype=L.float64)),
    "softshrink": lambda L, F, x: F.softshrink(x),
    "hardshrink": lambda L, F, x: F.hardshrink(x),
    "relu_then_sqrt": lambda L, F, x: F.relu(x).sqrt(),
    "huber": lambda L, F, x: F.huber_loss(x, L.zeros_like(x), reduction="none"),
    "smooth_l1": lambda L, F, x: F.smooth_l1_loss(x, L.zeros_like(x), reduction="none"),
    "mse": lambda L, F, x: F.mse_loss(x, L.zeros_like(x), reduction="none"),
    "silu": lambda L, F, x: F.silu(x),
    "gelu": lambda L, F, x: F.gelu(x),
    "gelu_tanh": lambda L, F, x: F.gelu(x, approximate="tanh"),
    "softplus": lambda L, F, x: F.softplus(x, beta=2, threshold=5),
    "mish": lambda L, F, x: F.mish(x),
    "clamp": lambda L, F, x: L.clamp(x, -1, 1),
    "clamp_min": lambda L, F, x: x.clamp(min=0.0),
    "sign": lambda L, F, x: L.sign(x) * x,
    "sign_method": lambda L, F, x: x.sign(),
    "norm": lambda L, F, x: x.norm(),
    "norm_dim": lambda L, F, x: L.stack([x, x * 0 + 1]).norm(dim=1),
    "softmax": lambda L, F, x: F.softmax(x, 0),
    "maximum": lambda L, F, x: L.maximum(x, L.zeros_like(x)),
    "minimum": lambda L, F, x: x.minimum(L.zeros_like(x) + 1),
    "maximum_flipped": lambda L, F, x: L.maximum(x, x.flip(0)),
    "max_of_two": lambda L, F, x: L.max(x, x.flip(0) * 2) + L.min(x, L.ones_like(x)),
    "maximum_number": lambda L, F, x: x.maximum(L.tensor(0.5, dtype=L.float64)),
    "abs": lambda L, F, x: L.abs(x) + abs(x * 2) + x.abs() * 3,
    "l1": lambda L, F, x: F.l1_loss(x, L.zeros_like(x) + 0.5, reduction="none"),
}


# the gradient of a sum of a softmax is 0 up to the rounding of the softmax's own sum,
# which depends on the order of NumPy's (SIMD) summation
GRAD_ATOL = {"softmax": 1e-15}


@pytest.mark.parametrize("inputs", sorted(INPUTS))
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_values_and_gradients_at_kinks_and_nan_as_pytorch(name, inputs):
    results = []
    for L, NF in ((cr, F), (torch, TF)):
        x = L.tensor(INPUTS[inputs], dtype=L.float64, requires_grad=True)
        y = FUNCTIONS[name](L, NF, x)
        if y.requires_grad:
            y.sum().backward()
        results.append((y.detach().numpy(), None if x.grad is None else x.grad.numpy(), str(y.dtype)))
    (ours, our_grad, our_dtype), (theirs, their_grad, their_dtype) = results
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-300, equal_nan=True)
    assert our_dtype == their_dtype.removeprefix("torch.")
    assert (our_grad is None) == (their_grad is None)
    if our_grad is not None:
        np.testing.assert_allclose(our_grad, their_grad, rtol=1e-10, atol=GRAD_ATOL.get(name, 1e-300), equal_nan=True)


@pytest.mark.parametrize("name", ["elu", "celu_alpha", "hardswish", "hardtanh_range", "softshrink", "threshold"])
def test_second_derivatives_agree_away_from_the_kinks(name):
    for L, NF in ((cr, F), (torch, TF)):
        x = L.tensor([-2.5, -0.3, 0.2, 1.7], dtype=L.float64, requires_grad=True)
        (g,) = L.autograd.grad(FUNCTIONS[name](L, NF, x).sum(), x, create_graph=True)
        (h,) = L.autograd.grad((g * g).sum(), x) if g.requires_grad else (L.zeros_like(x),)
        if L is cr:
            ours = (g.detach().numpy(), h.numpy())
        else:
            np.testing.assert_allclose(ours[0], g.detach().numpy(), rtol=1e-10)
            np.testing.assert_allclose(ours[1], h.numpy(), rtol=1e-10, atol=1e-14)

"""Activations, clamps and losses at their kinks, at NaN and at ±inf against PyTorch in
float64: values, dtypes and the gradient of the input. The inputs are Tensors of at most 7
elements, which PyTorch's kernels compute element by element (its vectorised kernels,
used for longer Tensors, give other derivatives at NaN for some of these functions)."""

import warnings

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


# Rows of inf, NaN, -0.0 and values whose squares and products overflow float32, through
# layers whose NumPy computation warns of them ("overflow encountered", "invalid value"),
# where PyTorch's is silent; each row's other entries are ordinary.
NONFINITE_ROWS = np.array([[INF, 1.0, -2.0, 0.5], [NAN, 0.3, 1.0, -1.0], [-0.0, 0.0, 2.0, -0.5],
                           [3e38, -3e38, 1e30, 1.0], [-INF, -1e30, 0.25, 2.0], [1.5, -0.5, 0.0, 1e15]])


def _module(L, make):
    """``make(L.nn)`` with the same parameters in both libraries (chainrule's, seeded)."""
    cr.manual_seed(0)
    ours = make(cr.nn)
    if L is cr:
        return ours
    theirs = make(torch.nn)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return theirs


def _attention(L, F, x):
    mha = _module(L, lambda nn: nn.MultiheadAttention(4, 2, batch_first=True))
    return mha(x.reshape(2, 3, 4), x.reshape(2, 3, 4), x.reshape(2, 3, 4))[0]


LAYERS = {
    "multihead_attention": _attention,
    "scaled_dot_product_attention": lambda L, F, x: F.scaled_dot_product_attention(*[x.reshape(1, 2, 3, 4)] * 3),
    "layer_norm": lambda L, F, x: _module(L, lambda nn: nn.LayerNorm(4))(x),
    "batch_norm": lambda L, F, x: _module(L, lambda nn: nn.BatchNorm1d(4))(x),
    "group_norm": lambda L, F, x: _module(L, lambda nn: nn.GroupNorm(2, 4))(x.reshape(3, 4, 2)),
    "instance_norm": lambda L, F, x: F.instance_norm(x.reshape(2, 3, 4)),
    "rms_norm": lambda L, F, x: F.rms_norm(x, (4,)),
    "normalize": lambda L, F, x: F.normalize(x, dim=1),
    "linear": lambda L, F, x: _module(L, lambda nn: nn.Linear(4, 3))(x),
    "gelu": lambda L, F, x: F.gelu(x),
    "gelu_tanh": lambda L, F, x: F.gelu(x, approximate="tanh"),
    "silu": lambda L, F, x: F.silu(x),
    "softplus": lambda L, F, x: F.softplus(x),
    "log_softmax": lambda L, F, x: F.log_softmax(x, 1),
    "cross_entropy": lambda L, F, x: F.cross_entropy(x, L.tensor([0, 1, 2, 3, 0, 1])),
    "mse": lambda L, F, x: F.mse_loss(x, L.ones_like(x)),
    "l1": lambda L, F, x: F.l1_loss(x, L.ones_like(x)),
    "smooth_l1": lambda L, F, x: F.smooth_l1_loss(x, L.ones_like(x)),
    "huber": lambda L, F, x: F.huber_loss(x, L.ones_like(x)),
    "bce_with_logits": lambda L, F, x: F.binary_cross_entropy_with_logits(x, L.full_like(x, 0.25)),
    "kl_div": lambda L, F, x: F.kl_div(F.log_softmax(x, 1), L.full_like(x, 0.25), reduction="batchmean"),
    "poisson_nll": lambda L, F, x: F.poisson_nll_loss(x, L.ones_like(x)),
    "gaussian_nll": lambda L, F, x: F.gaussian_nll_loss(x, L.ones_like(x), L.ones_like(x)),
    "cosine_embedding": lambda L, F, x: F.cosine_embedding_loss(x, L.ones_like(x), L.ones(6)),
    "margin_ranking": lambda L, F, x: F.margin_ranking_loss(x[0], x[1], L.ones(4, dtype=x.dtype)),
    "soft_margin": lambda L, F, x: F.soft_margin_loss(x, L.ones_like(x)),
    "multilabel_soft_margin": lambda L, F, x: F.multilabel_soft_margin_loss(x, L.ones_like(x)),
    "triplet": lambda L, F, x: F.triplet_margin_loss(x, L.zeros_like(x), L.ones_like(x)),
    "multi_margin": lambda L, F, x: F.multi_margin_loss(x, L.tensor([0, 1, 2, 3, 0, 1])),
    "hardsigmoid": lambda L, F, x: F.hardsigmoid(x),
    "tanhshrink": lambda L, F, x: F.tanhshrink(x),
}


# Where PyTorch's kernels give other non-finite values, its answer is an artefact of how it
# computes, not of the function, and these compare only dtypes and shapes: a variance that
# overflows float32 is NaN by its Welford sums (inf here, so x̂ = 0); its attention kernel
# spreads a NaN score to a part of the row only; soft_margin's derivative is z/(1 + z) with
# z = exp(−y·x), NaN where z overflows; mse's 2·x overflows for x > 1.7e38 (PyTorch's 2/n·x not).
OTHER_NONFINITE = {("layer_norm", "huge"), ("group_norm", "huge"), ("batch_norm", "huge"), ("rms_norm", "huge"),
                   ("scaled_dot_product_attention", "inf_nan"), ("scaled_dot_product_attention", "minus_inf"),
                   ("soft_margin", "huge"), ("soft_margin", "minus_inf"), ("mse", "huge")}
# PyTorch's vectorised float32 gelu overflows on some processors (AMD EPYC): NaN at ±inf
# and inf at 3e38, where its one-element and float64 kernels give the limits (inf, 0) and
# 3e38, as here: compared where its answer is finite.
OVERFLOWS_ON_SOME_PROCESSORS = {("gelu", "huge"), ("gelu", "inf_nan")}
ROWS = {"inf_nan": [0, 1, 2], "huge": [2, 3, 5], "minus_inf": [1, 4, 5]}


@pytest.mark.parametrize("rows", sorted(ROWS))
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layers_and_losses_of_inf_nan_and_huge_inputs_are_silent_and_as_pytorch(name, rows):
    # NumPy's RuntimeWarnings escaped from the layers (PyTorch gives inf and nan silently)
    results = []
    for L, NF in ((cr, F), (torch, TF)):
        x = L.tensor(NONFINITE_ROWS[ROWS[rows] * 2].astype(np.float32), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = LAYERS[name](L, NF, x)
            y.backward(L.ones_like(y))
        results.append((y.detach().numpy(), x.grad.numpy()))
    for ours, theirs in zip(*results, strict=True):
        assert (ours.dtype, ours.shape) == (theirs.dtype, theirs.shape)
        if (name, rows) in OVERFLOWS_ON_SOME_PROCESSORS:
            finite = np.isfinite(theirs)
            np.testing.assert_allclose(ours[finite], theirs[finite], rtol=2e-5, atol=1e-6)
        elif (name, rows) not in OTHER_NONFINITE:
            np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
            np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-6, equal_nan=True)

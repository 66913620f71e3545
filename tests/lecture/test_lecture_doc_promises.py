"""docs/lecture.md: the backward passes written out by hand agree with chainrule.grad
to 1e-12, at the inputs a real network meets too: a zero example with zero biases puts
ReLU exactly at its kink (PyTorch's derivative there, 0, is the oracle)."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import lecture

TORCH = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "identity": lambda z: z}


@pytest.mark.parametrize("acts", [["relu", "relu"], ["relu", "identity"], ["tanh", "relu"], ["relu", "sigmoid"]])
def test_mlp_backward_and_grad_agree_with_pytorch_at_the_relu_kink(acts):
    rng = np.random.default_rng(0)
    W = [rng.normal(size=(3, 2)), rng.normal(size=(2, 3))]
    b = [np.zeros(3), np.zeros(2)]                      # the usual initialisation
    X = np.array([[0.0, 0.0], [1.0, -0.5], [0.0, 0.0]])  # zero examples: z = 0 exactly
    T = rng.normal(size=(3, 2))
    _, by_hand = lecture.mlp_gradients(W, b, X, T, acts)
    gW, gb = cr.grad(lecture.mlp_loss)((W, b), X, T, acts)
    tW = [torch.tensor(w, requires_grad=True) for w in W]
    tb = [torch.tensor(v, requires_grad=True) for v in b]
    y = torch.tensor(X)
    for w, v, a in zip(tW, tb, acts, strict=True):
        y = TORCH[a](y @ w.T + v)
    (0.5 * ((y - torch.tensor(T)) ** 2).sum() / X.shape[0]).backward()
    want = [t.grad.numpy() for t in tW + tb]
    for hand, auto, oracle in zip(by_hand.dW + by_hand.db, gW + gb, want, strict=True):
        assert lecture.relative_error(hand, oracle) < 1e-12
        assert lecture.relative_error(auto, oracle) < 1e-12


def test_two_layer_backward_and_grad_agree_at_the_relu_kink():
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    B[0] = 0.0  # a dead unit: z'[0] = 0 exactly
    x, t = rng.normal(size=4), rng.normal(size=2)
    cache = lecture.two_layer_forward(A, B, x, phi="relu", psi="identity")
    grads = lecture.two_layer_backward(A, B, cache, dy=cache.y - t)
    relu = lecture.get_activation("relu").cf
    gA, gB = cr.grad(lambda A, B: 0.5 * cr.numpy.sum((A @ relu(B @ x) - t) ** 2), argnums=(0, 1))(A, B)
    tA, tB = torch.tensor(A, requires_grad=True), torch.tensor(B, requires_grad=True)
    (0.5 * ((tA @ torch.relu(tB @ torch.tensor(x)) - torch.tensor(t)) ** 2).sum()).backward()
    for hand, auto, oracle in ((grads.dA, gA, tA.grad.numpy()), (grads.dB, gB, tB.grad.numpy())):
        np.testing.assert_allclose(hand, oracle, atol=1e-15)
        np.testing.assert_allclose(auto, oracle, atol=1e-15)

"""Backpropagation written out by hand in plain NumPy: the lecture's formulas, runnable.

Two networks, exactly as on the slides (Goodfellow et al. 2016, sec. 6.5):

* the two-layer vector case ``z' = B x``, ``y' = φ(z')``, ``z = A y'``, ``y = ψ(z)``,
  ``l = ℓ(y)``, whose backward pass is

      δA  = (δy ⊙ ψ'(z)) y'ᵀ
      δy' = Aᵀ (δy ⊙ ψ'(z))
      δB  = (δy' ⊙ φ'(z')) xᵀ

  (:func:`two_layer_forward`, :func:`two_layer_backward`);
* the L-layer network with biases, ``z_k = W_k y_{k-1} + b_k``, ``y_k = φ_k(z_k)``, on a
  batch, whose backward pass runs for ``k = L, ..., 1``:

      g_k      = δy_k ⊙ φ_k'(z_k)
      δW_k     = g_k y_{k-1}ᵀ      (summed over the batch)
      δb_k     = g_k 1             (summed over the batch)
      δy_{k-1} = W_kᵀ g_k

  (:func:`mlp_forward`, :func:`mlp_backward`).

The backward functions take the forward pass's *cache*: backpropagation reuses the values
the forward pass computed (``z``, ``y'``, ...) instead of computing them again. Each
function has a twin written with :mod:`chainrule.numpy` (:func:`two_layer_loss`,
:func:`mlp_loss`) so that ``chainrule.grad`` can be compared with the hand derivation.

>>> import numpy as np, chainrule as cr
>>> rng = np.random.default_rng(0)
>>> A, B, x, t = rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=4), np.ones(2)
>>> loss, g = two_layer_gradients(A, B, x, t, phi="tanh", psi="sigmoid")
>>> dA, dB = cr.grad(two_layer_loss, argnums=(0, 1))(A, B, x, t, "tanh", "sigmoid")
>>> bool(np.allclose(g.dA, dA, rtol=1e-12, atol=0) and np.allclose(g.dB, dB, rtol=1e-12, atol=0))
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

import chainrule.numpy as cnp
from chainrule.numpy.activations import relu

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "TwoLayerCache",
    "TwoLayerGrads",
    "two_layer_forward",
    "two_layer_backward",
    "two_layer_gradients",
    "two_layer_loss",
    "MLPCache",
    "MLPGrads",
    "mlp_forward",
    "mlp_backward",
    "mlp_gradients",
    "mlp_loss",
    "mse",
    "relative_error",
]


class Activation(NamedTuple):
    """An activation φ: ``f`` and its derivative ``df`` in plain NumPy (for the hand-written
    passes), and ``cf``, the same φ written with :mod:`chainrule.numpy` (for ``cr.grad``).

    >>> act = get_activation("tanh")
    >>> float(act.df(np.float64(0.0)))
    1.0
    """

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    df: Callable[[np.ndarray], np.ndarray]
    cf: Callable


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _dsigmoid(z):
    s = _sigmoid(z)
    return s * (1.0 - s)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", np.tanh, lambda z: 1.0 - np.tanh(z) ** 2, cnp.tanh),
    "sigmoid": Activation("sigmoid", _sigmoid, _dsigmoid,
                          lambda z: 1.0 / (1.0 + cnp.exp(-z))),
    # ReLU's derivative at exactly 0 is taken as 0, as PyTorch's, in both versions (a zero
    # example with zero biases lands there; cnp.maximum(z, 0) would give it 1/2)
    "relu": Activation("relu", lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(z.dtype),
                       relu),
    "identity": Activation("identity", lambda z: z, lambda z: np.ones_like(z), lambda z: z),
}
"""The activations of the lecture, by name."""


def get_activation(act: str | Activation) -> Activation:
    """The :class:`Activation` called ``act`` (one of :data:`ACTIVATIONS`), or ``act``.

    >>> get_activation("relu").name
    'relu'
    """
    if isinstance(act, Activation):
        return act
    try:
        return ACTIVATIONS[act]
    except KeyError:
        raise ValueError(
            f"unknown activation {act!r}; use one of {sorted(ACTIVATIONS)} or an Activation"
        ) from None


def relative_error(a, b) -> float:
    """``max|a - b| / max|b|``: the error of ``a`` relative to the scale of ``b``.

    >>> relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 2e-16]))
    0.0
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.max(np.abs(b)) if b.size else 0.0
    diff = np.max(np.abs(a - b)) if a.size else 0.0
    return float(diff / scale) if scale > 0 else float(diff)


def mse(y: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """The loss ``ℓ = ‖y - t‖² / (2N)`` over a batch of N rows, and ``δy = ∂ℓ/∂y``.

    For a single vector (N = 1) this is the lecture's ``ℓ(y) = ½‖y - t‖²``, ``δy = y - t``.

    >>> mse(np.array([3.0]), np.array([1.0]))
    (2.0, array([2.]))
    """
    n = y.shape[0] if y.ndim == 2 else 1
    r = y - t
    return float(0.5 * np.sum(r * r) / n), r / n


# -- the two-layer vector case --------------------------------------------------------------
class TwoLayerCache(NamedTuple):
    """What the forward pass keeps for the backward pass: the input and every
    intermediate value, and the activations used."""

    x: np.ndarray
    zp: np.ndarray  # z' = B x
    yp: np.ndarray  # y' = φ(z')
    z: np.ndarray  # z = A y'
    y: np.ndarray  # y = ψ(z)
    phi: Activation
    psi: Activation


class TwoLayerGrads(NamedTuple):
    """The adjoints of the two-layer network: ``δA``, ``δB``, ``δy'`` and ``δx``."""

    dA: np.ndarray
    dB: np.ndarray
    dyp: np.ndarray
    dx: np.ndarray


def two_layer_forward(
    A: np.ndarray, B: np.ndarray, x: np.ndarray,
    phi: str | Activation = "tanh", psi: str | Activation = "sigmoid",
) -> TwoLayerCache:
    """The forward pass ``z' = Bx, y' = φ(z'), z = Ay', y = ψ(z)`` for ``x ∈ ℝᵐ``,
    ``B ∈ ℝⁿˣᵐ``, ``A ∈ ℝᵏˣⁿ``.

    >>> c = two_layer_forward(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4), "tanh", "identity")
    >>> c.y
    array([0., 0.])
    """
    phi, psi = get_activation(phi), get_activation(psi)
    zp = B @ x
    yp = phi.f(zp)
    z = A @ yp
    y = psi.f(z)
    return TwoLayerCache(x, zp, yp, z, y, phi, psi)


def two_layer_backward(
    A: np.ndarray, B: np.ndarray, cache: TwoLayerCache, dy: np.ndarray
) -> TwoLayerGrads:
    """The backward pass of the two-layer network, from ``δy = ∂l/∂y``.

    The slides' products of diagonal matrices are elementwise products here:
    ``diag(δy) diag(ψ'(z)) [y'ᵀ; …; y'ᵀ] = (δy ⊙ ψ'(z)) y'ᵀ``, and
    ``∂y/∂y' = Aᵀ diag(ψ'(z))`` so ``δy' = Aᵀ (δy ⊙ ψ'(z))``. ``B`` only enters through
    ``δx = Bᵀ (δy' ⊙ φ'(z'))``, the adjoint a layer below would need.

    >>> c = two_layer_forward(np.eye(2), np.eye(2), np.array([1.0, 2.0]), "identity", "identity")
    >>> two_layer_backward(np.eye(2), np.eye(2), c, np.array([1.0, 0.0])).dB
    array([[1., 2.],
           [0., 0.]])
    """
    g = dy * cache.psi.df(cache.z)  # δy ⊙ ψ'(z): the adjoint of z
    dA = np.outer(g, cache.yp)
    dyp = A.T @ g
    gp = dyp * cache.phi.df(cache.zp)  # δy' ⊙ φ'(z'): the adjoint of z'
    dB = np.outer(gp, cache.x)
    return TwoLayerGrads(dA, dB, dyp, B.T @ gp)


def two_layer_gradients(
    A: np.ndarray, B: np.ndarray, x: np.ndarray, t: np.ndarray,
    phi: str | Activation = "tanh", psi: str | Activation = "sigmoid",
) -> tuple[float, TwoLayerGrads]:
    """Loss ``l = ½‖y - t‖²`` and all adjoints, by one forward and one backward pass.

    >>> loss, g = two_layer_gradients(np.eye(2), np.eye(2), np.ones(2), np.zeros(2),
    ...                               "identity", "identity")
    >>> loss, g.dA.tolist()
    (1.0, [[1.0, 1.0], [1.0, 1.0]])
    """
    cache = two_layer_forward(A, B, x, phi, psi)
    loss, dy = mse(cache.y, t)
    return loss, two_layer_backward(A, B, cache, dy)


def two_layer_loss(A, B, x, t, phi="tanh", psi="sigmoid"):
    """The same network and loss written with :mod:`chainrule.numpy`, for ``cr.grad``.

    >>> import chainrule as cr
    >>> float(cr.grad(two_layer_loss)(np.eye(1), np.eye(1), np.ones(1), np.zeros(1),
    ...                               "identity", "identity")[0, 0])
    1.0
    """
    phi, psi = get_activation(phi), get_activation(psi)
    y = psi.cf(A @ phi.cf(B @ x))
    r = y - t
    return 0.5 * cnp.sum(r * r)


# -- the L-layer network, batched ----------------------------------------------------------
class MLPCache(NamedTuple):
    """The forward pass's values: ``ys[k] = y_k`` (``ys[0]`` is the input) and
    ``zs[k] = z_k`` (``zs[0]`` is None), one row per example, and the activations."""

    ys: list
    zs: list
    activations: list


class MLPGrads(NamedTuple):
    """Adjoints of an L-layer network: ``dW[k-1] = δW_k``, ``db[k-1] = δb_k``, ``dX = δy_0``."""

    dW: list
    db: list
    dX: np.ndarray


def _layer_activations(activations, n_layers: int) -> list[Activation]:
    if isinstance(activations, str | Activation):
        return [get_activation(activations)] * n_layers
    acts = [get_activation(a) for a in activations]
    if len(acts) != n_layers:
        raise ValueError(f"{len(acts)} activations for {n_layers} layers")
    return acts


def mlp_forward(
    weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: np.ndarray,
    activations: str | Activation | Sequence[str | Activation] = "tanh",
) -> MLPCache:
    """The forward pass ``z_k = W_k y_{k-1} + b_k``, ``y_k = φ_k(z_k)``, ``k = 1..L``.

    ``X`` holds one example per row (N × n_0) and ``W_k`` is n_k × n_{k-1} as on the
    slides, so a row of ``Z_k = Y_{k-1} W_kᵀ + b_k`` is the slides' ``z_kᵀ`` for that
    example. ``activations`` is one name for all layers or one per layer.

    >>> c = mlp_forward([np.eye(2)], [np.ones(2)], np.zeros((3, 2)), "identity")
    >>> c.ys[-1].tolist()
    [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
    """
    if len(weights) != len(biases):
        raise ValueError(f"{len(weights)} weight matrices but {len(biases)} bias vectors")
    acts = _layer_activations(activations, len(weights))
    ys, zs = [X], [None]
    for W, b, act in zip(weights, biases, acts, strict=True):
        z = ys[-1] @ W.T + b
        zs.append(z)
        ys.append(act.f(z))
    return MLPCache(ys, zs, acts)


def mlp_backward(weights: Sequence[np.ndarray], cache: MLPCache, dY: np.ndarray) -> MLPGrads:
    """The backward pass, for ``k = L, L-1, ..., 1``, from ``δy_L = dY`` (N × n_L):

    ``g_k = δy_k ⊙ φ_k'(z_k)``, ``δW_k = g_kᵀ y_{k-1}``, ``δb_k = g_kᵀ 1``,
    ``δy_{k-1} = g_k W_k`` (rows are examples; the sums over the batch are the products
    with ``1``). The slide writes ``δy_{k-1}`` as ``φ_k'(z_k) ⊙ W_kᵀ δy_k``; the
    derivative belongs inside, on ``δy_k``, before the product with ``W_kᵀ``.

    >>> c = mlp_forward([np.eye(2)], [np.zeros(2)], np.ones((1, 2)), "identity")
    >>> mlp_backward([np.eye(2)], c, np.ones((1, 2))).db[0]
    array([1., 1.])
    """
    L = len(weights)
    dW, db = [None] * L, [None] * L
    d = dY
    for k in range(L, 0, -1):
        g = d * cache.activations[k - 1].df(cache.zs[k])
        dW[k - 1] = g.T @ cache.ys[k - 1]
        db[k - 1] = g.sum(axis=0)
        d = g @ weights[k - 1]
    return MLPGrads(dW, db, d)


def mlp_gradients(
    weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], X: np.ndarray,
    T: np.ndarray, activations: str | Activation | Sequence[str | Activation] = "tanh",
) -> tuple[float, MLPGrads]:
    """Mean-squared-error loss ``‖Y_L - T‖² / (2N)`` and its gradients, by hand.

    >>> loss, g = mlp_gradients([np.eye(1)], [np.zeros(1)], np.ones((2, 1)),
    ...                         np.zeros((2, 1)), "identity")
    >>> loss, g.dW[0].tolist()
    (0.5, [[1.0]])
    """
    cache = mlp_forward(weights, biases, X, activations)
    loss, dY = mse(cache.ys[-1], T)
    return loss, mlp_backward(weights, cache, dY)


def mlp_loss(params, X, T, activations="tanh"):
    """The same network and loss with :mod:`chainrule.numpy`; ``params = (weights,
    biases)``, so ``cr.grad(mlp_loss)(params, X, T)`` returns gradients of that shape.

    >>> import chainrule as cr
    >>> gW, gb = cr.grad(mlp_loss)(([np.eye(1)], [np.zeros(1)]), np.ones((2, 1)),
    ...                            np.zeros((2, 1)), "identity")
    >>> gW[0].tolist(), gb[0].tolist()
    ([[1.0]], [1.0])
    """
    weights, biases = params
    acts = _layer_activations(activations, len(weights))
    y = X
    for W, b, act in zip(weights, biases, acts, strict=True):
        y = act.cf(y @ W.T + b)
    r = y - T
    return 0.5 * cnp.sum(r * r) / X.shape[0]

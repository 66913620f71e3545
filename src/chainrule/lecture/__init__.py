"""The backpropagation lecture, executable: ``python -m chainrule.lecture``.

The lecture (Goodfellow et al. 2016, sec. 6.5) in five sections, each a module here and a
section of ``docs/lecture.md``:

1. gradient descent and SGD with a learning-rate schedule (:mod:`.descent`);
2. the scalar chain ``z = f(f(f(w)))`` and why backpropagation evaluates ``f`` only in
   the forward pass (:mod:`.chain`);
3. the two-layer vector case with explicit ``δA``, ``δy'``, ``δB``
   (:func:`two_layer_backward`);
4. the L-layer network with biases on a batch (:func:`mlp_backward`);
5. automatic differentiation of programs with loops, branches and recursion
   (:mod:`.programs`), drawn with :mod:`chainrule.viz`.

The hand-written backward passes of 3 and 4 are a teaching reference in plain NumPy, and
are checked against ``chainrule.grad`` to 1e-12 in float64.

>>> import numpy as np, chainrule as cr
>>> from chainrule.lecture import mlp_gradients, mlp_loss
>>> rng = np.random.default_rng(0)
>>> Ws, bs = [rng.normal(size=(4, 3)), rng.normal(size=(2, 4))], [np.zeros(4), np.zeros(2)]
>>> X, T = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
>>> loss, g = mlp_gradients(Ws, bs, X, T, ["tanh", "identity"])
>>> gW, gb = cr.grad(mlp_loss)((Ws, bs), X, T, ["tanh", "identity"])
>>> all(np.allclose(a, b, rtol=1e-12, atol=0) for a, b in zip(g.dW, gW))
True
"""

from chainrule.lecture.backprop import (
    ACTIVATIONS,
    Activation,
    MLPCache,
    MLPGrads,
    TwoLayerCache,
    TwoLayerGrads,
    get_activation,
    mlp_backward,
    mlp_forward,
    mlp_gradients,
    mlp_loss,
    mse,
    relative_error,
    two_layer_backward,
    two_layer_forward,
    two_layer_gradients,
    two_layer_loss,
)
from chainrule.lecture.chain import Counted, backprop_derivative, compose, naive_derivative
from chainrule.lecture.sections import main, run

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "MLPCache",
    "MLPGrads",
    "TwoLayerCache",
    "TwoLayerGrads",
    "get_activation",
    "mlp_backward",
    "mlp_forward",
    "mlp_gradients",
    "mlp_loss",
    "mse",
    "relative_error",
    "two_layer_backward",
    "two_layer_forward",
    "two_layer_gradients",
    "two_layer_loss",
    "Counted",
    "backprop_derivative",
    "compose",
    "naive_derivative",
    "run",
    "main",
]


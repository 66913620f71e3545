"""Derivatives of ordinary NumPy code."""

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp


def loss(w, x, y):
    return cnp.mean((cnp.tanh(x @ w) - y) ** 2)


rng = np.random.default_rng(0)
x, y, w = rng.normal(size=(8, 3)), rng.normal(size=8), rng.normal(size=3)
print("loss      ", loss(w, x, y))
print("gradient  ", cr.grad(loss)(w, x, y))
print("d/dx sin at 0, 1st..4th:", [float(f(0.0)) for f in (
    cr.grad(cnp.sin), cr.grad(cr.grad(cnp.sin)),
    cr.grad(cr.grad(cr.grad(cnp.sin))), cr.grad(cr.grad(cr.grad(cr.grad(cnp.sin)))))])

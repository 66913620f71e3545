"""Optimizers as pure functions of pytrees, for steps that ``chainrule.jit`` replays.

``chainrule.optim.SGD`` and friends update eager parameters in place; inside a jitted
step there are no eager parameters, only arrays. Each function here returns an
:class:`Optimizer` pair: ``init(params) -> state`` and ``update(params, grads, state) ->
(new_params, new_state)``, with the state a pytree of arrays (the step count too, so a
replay does not freeze it). The arithmetic is the same, in the same order, as the
in-place optimizers', so the trajectories agree to the last bit. The gradients are those
of chainrule's transforms (``cr.grad``); a complex parameter steps as the in-place
optimizers step it with its ``.grad`` (their conjugate, PyTorch's convention), its real
and imaginary parts as two reals (its state holds them along a last axis of 2).

>>> import numpy as np, chainrule as cr, chainrule.numpy as cnp
>>> from chainrule.optim import functional as fopt
>>> opt = fopt.adam(lr=0.1)
>>> params = {"w": np.ones(3)}
>>> state = opt.init(params)
>>> @cr.jit
... def step(params, state):
...     grads = cr.grad(lambda p: cnp.sum(p["w"] ** 2))(params)
...     return opt.update(params, grads, state)
>>> for _ in range(3):
...     params, state = step(params, state)
>>> np.round(params["w"], 4).tolist()   # as torch.optim.Adam(lr=0.1) gives
[0.7016, 0.7016, 0.7016]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.pytree import tree_flatten, tree_unflatten
from chainrule.numpy.broadcasting import is_complex
from chainrule.optim.algorithms import _check, _check_betas

__all__ = ["Optimizer", "sgd", "adam", "adamw"]


class Optimizer(NamedTuple):
    """``init(params) -> state`` and ``update(params, grads, state) -> (params, state)``."""

    init: Callable[[Any], Any]
    update: Callable[[Any, Any, Any], tuple[Any, Any]]


def _per_leaf(init_leaf, update_leaf) -> Optimizer:
    """An optimizer from the rule for one parameter array; its state is a dict of arrays
    per leaf plus the step count."""

    def init(params):
        leaves, _ = tree_flatten(params)
        return {"step": np.int64(0), "leaves": [init_leaf(_as_real(p)) for p in leaves]}

    def update(params, grads, state):
        leaves, tree = tree_flatten(params)
        grad_leaves, grad_tree = tree_flatten(grads)
        if grad_tree != tree:
            raise ValueError(f"the gradients' structure {grad_tree} is not the parameters' {tree}")
        t = state["step"] + 1
        new_leaves, new_states = [], []
        for p, g, s in zip(leaves, grad_leaves, state["leaves"], strict=True):
            if is_complex(p):  # .grad's convention, the conjugate; the parts as two reals
                stepped, s = update_leaf(_as_real(p), _as_real(cnp.conj(g)), s, t)
                p = stepped[..., 0] + 1j * stepped[..., 1]
            else:
                p, s = update_leaf(p, g, s, t)
            new_leaves.append(p)
            new_states.append(s)
        return tree_unflatten(tree, new_leaves), {"step": t, "leaves": new_states}

    return Optimizer(init, update)


def _as_real(p):
    """A complex parameter (or gradient) as PyTorch's ``view_as_real``: its real and
    imaginary parts along a last axis; a real one as it is."""
    return cnp.stack([cnp.real(p), cnp.imag(p)], axis=-1) if is_complex(p) else p


def _in_dtype_of(p, x):
    """A step-dependent scalar in the parameter's dtype: what NumPy does with a Python
    float next to a float32 array (the in-place optimizers' case)."""
    dtype = p.dtype if hasattr(p, "dtype") else np.result_type(p)
    return cnp.astype(x, dtype) if dtype.kind == "f" else x


def sgd(lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
        weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False) -> Optimizer:
    """``chainrule.optim.SGD`` as pure functions (see there for the rule)."""
    _check("learning rate", lr)
    _check("momentum", momentum)
    _check("weight_decay", weight_decay)
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def init_leaf(p):
        return {"momentum_buffer": np.zeros_like(p)} if momentum else {}

    def update_leaf(p, g, s, t):
        if maximize:
            g = -g
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            later = s["momentum_buffer"] * momentum + (1 - dampening) * g
            buf = cnp.where(t == 1, g, later)  # the first step starts the buffer at g
            s = {"momentum_buffer": buf}
            g = g + momentum * buf if nesterov else buf
        return p - lr * g, s

    return _per_leaf(init_leaf, update_leaf)


def adam(lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
         weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False,
         decoupled: bool = False) -> Optimizer:
    """``chainrule.optim.Adam`` as pure functions (``decoupled=True``: AdamW)."""
    _check("learning rate", lr)
    _check("epsilon", eps)
    _check("weight_decay", weight_decay)
    b1, b2 = _check_betas(betas)

    def init_leaf(p):
        s = {"exp_avg": np.zeros_like(p), "exp_avg_sq": np.zeros_like(p)}
        if amsgrad:
            s["max_exp_avg_sq"] = np.zeros_like(p)
        return s

    def update_leaf(p, g, s, t):
        if maximize:
            g = -g
        if weight_decay:
            if decoupled:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
        m = s["exp_avg"]
        m = m + (1 - b1) * (g - m)  # PyTorch's lerp, as optim.Adam
        v = s["exp_avg_sq"] * b2 + (1 - b2) * (g * g)
        new = {"exp_avg": m, "exp_avg_sq": v}
        if amsgrad:
            v = new["max_exp_avg_sq"] = cnp.maximum(s["max_exp_avg_sq"], v)
        step_size = _in_dtype_of(p, lr / (1 - b1**t))
        denom = cnp.sqrt(v) / _in_dtype_of(p, cnp.sqrt(1 - b2**t)) + eps
        return p - step_size * (m / denom), new

    return _per_leaf(init_leaf, update_leaf)


def adamw(lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
          weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False) -> Optimizer:
    """``chainrule.optim.AdamW`` as pure functions."""
    return adam(lr, betas, eps, weight_decay, amsgrad, maximize, decoupled=True)

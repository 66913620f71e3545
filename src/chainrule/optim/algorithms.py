"""SGD, Adam, AdamW, RMSprop and Adagrad, by the published update rules.

Each update follows the algorithm as PyTorch documents it (so trajectories agree with
``torch.optim`` step for step), computed in the parameter's dtype: with float32
parameters the moments are float32 and the Python-float hyperparameters do not promote.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from chainrule.core.tensor import Tensor
from chainrule.optim.optimizer import Optimizer

__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


def _check(name: str, value: float, low: float = 0.0) -> None:
    """Refuse a hyperparameter below ``low`` in PyTorch's words ("Invalid learning rate: -1",
    "Invalid momentum value: -1"), and a Tensor of more than one element."""
    if isinstance(value, Tensor) and value.size != 1:
        short = "lr" if name == "learning rate" else name
        raise ValueError(f"Tensor {short} must be 1-element, got shape {tuple(value.shape)}")
    if not value >= low:
        raise ValueError(f"Invalid {name if name == 'learning rate' else name + ' value'}: {value}")


def _check_betas(betas) -> tuple:
    """Refuse a beta outside [0, 1) in PyTorch's words."""
    for i, b in enumerate(betas):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {b} (each beta must lie in [0, 1))")
    return tuple(betas)


class SGD(Optimizer):
    """Stochastic gradient descent, with momentum, Nesterov momentum, dampening and
    weight decay:

    g ← ∇ + λθ;  b ← μ b + (1 − τ) g (b = g at the first step);
    g ← g + μ b (Nesterov) or b;  θ ← θ − η g.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = optim.SGD([w], lr=0.1, momentum=0.9)
    >>> (w * w).sum().backward(); opt.step(); w.tolist()
    [0.8]
    """

    torch_flags = ("foreach", "differentiable", "fused")
    _torch_state = True
    _state_read_first = True

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ):
        _check("learning rate", lr)
        _check("momentum", momentum)
        _check("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(
            params,
            {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
             "nesterov": nesterov, "maximize": maximize},
            {"foreach": foreach, "differentiable": differentiable, "fused": fused},
        )

    def _update(self, p, g, state, group):
        if group["maximize"]:
            g = -g
        wd = group["weight_decay"]
        if wd:
            g = g + wd * p
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype, copy=True)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        p -= group["lr"] * g


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with optional AMSGrad and (L2) weight decay:

    m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
    θ ← θ − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)   (v → max of all v with AMSGrad).

    ``decoupled_weight_decay=True`` shrinks θ by θ(1 − ηλ) before the step instead of
    adding λθ to the gradient: AdamW, as PyTorch's option.

    >>> from chainrule import nn, optim
    >>> opt = optim.Adam(nn.Linear(4, 2).parameters(), lr=1e-3, decoupled_weight_decay=True)
    >>> opt.param_groups[0]["decoupled_weight_decay"]
    True
    """

    torch_flags = ("foreach", "capturable", "differentiable", "fused")
    _torch_state = True
    _lerped_state = ("exp_avg",)

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ):
        flags = {"foreach": foreach, "capturable": capturable, "differentiable": differentiable, "fused": fused}
        _check("learning rate", lr)
        _check("epsilon", eps)
        _check_betas(betas)
        _check("weight_decay", weight_decay)
        if isinstance(betas[0], Tensor) != isinstance(betas[1], Tensor):
            raise ValueError("betas must be either both floats or both Tensors")
        for what, v in (("lr", lr), ("betas[0]", betas[0]), ("betas[1]", betas[1])):
            if isinstance(v, Tensor) and flags.get("foreach") and not flags.get("capturable"):
                raise ValueError(f"{what} as a Tensor is not supported for capturable=False and foreach=True (as "
                                 f"in PyTorch): pass a number, or leave foreach out")
        super().__init__(
            params,
            {"lr": lr, "betas": _check_betas(betas), "eps": eps, "weight_decay": weight_decay,
             "amsgrad": amsgrad, "maximize": maximize, "decoupled_weight_decay": bool(decoupled_weight_decay)},
            flags,
        )

    def _update(self, p, g, state, group):
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if group["maximize"]:
            g = -g
        if wd:
            if group["decoupled_weight_decay"]:
                p *= 1 - lr * wd
            else:
                g = g + wd * p
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - b1) * (g - m)  # PyTorch's lerp: the same rounding as torch.optim
        v *= b2
        v += (1 - b2) * (g * g)
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"]
            np.maximum(vmax, v, out=vmax)
            v = vmax
        step_size = lr / (1 - b1**t)
        denom = np.sqrt(v)
        denom /= math.sqrt(1 - b2**t)
        denom += eps
        p -= step_size * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): θ ← θ(1 − ηλ)
    before the Adam step, instead of adding λθ to the gradient. Default λ = 0.01; it is
    ``Adam(..., decoupled_weight_decay=True)``."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), optionally centred and with momentum:

    v ← αv + (1 − α)g²;  d ← √(v − ḡ²) (centred, ḡ the mean gradient) or √v;
    θ ← θ − η g / (d + ε)   (with momentum: b ← μb + g/(d + ε), θ ← θ − ηb).
    """

    torch_flags = ("foreach", "capturable", "differentiable")
    _torch_state = True
    _lerped_state = ("grad_avg",)

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ):
        _check("learning rate", lr)
        _check("epsilon", eps)
        _check("alpha", alpha)
        _check("momentum", momentum)
        _check("weight_decay", weight_decay)
        super().__init__(
            params,
            {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
             "momentum": momentum, "centered": centered, "maximize": maximize},
            {"foreach": foreach, "capturable": capturable, "differentiable": differentiable},
        )

    def _update(self, p, g, state, group):
        alpha, eps = group["alpha"], group["eps"]
        if group["maximize"]:
            g = -g
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p)
        state["step"] += 1
        sq = state["square_avg"]
        sq *= alpha
        sq += (1 - alpha) * (g * g)
        if group["centered"]:
            ga = state["grad_avg"]
            ga += (1 - alpha) * (g - ga)
            avg = np.sqrt(sq - ga * ga)
        else:
            avg = np.sqrt(sq)
        avg += eps
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += g / avg
            p -= group["lr"] * buf
        else:
            p -= group["lr"] * (g / avg)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): s ← s + g²;  θ ← θ − η/(1 + (t − 1)δ) · g / (√s + ε),
    δ the learning-rate decay."""

    torch_flags = ("foreach", "differentiable", "fused")
    _torch_state = True

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ):
        _check("learning rate", lr)
        _check("lr_decay", lr_decay)
        _check("weight_decay", weight_decay)
        _check("initial_accumulator_value", initial_accumulator_value)
        _check("epsilon", eps)
        super().__init__(
            params,
            {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
             "initial_accumulator_value": initial_accumulator_value, "eps": eps, "maximize": maximize},
            {"foreach": foreach, "differentiable": differentiable, "fused": fused},
        )

    def _update(self, p, g, state, group):
        if group["maximize"]:
            g = -g
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p, group["initial_accumulator_value"])
        state["step"] += 1
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        s += g * g
        std = np.sqrt(s)
        std += group["eps"]
        p -= clr * (g / std)

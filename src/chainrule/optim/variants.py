"""Adam's variants (Adamax, NAdam, RAdam), two older adaptive rules (Adadelta, Rprop),
averaged SGD (ASGD) and Adafactor.

Each follows the algorithm as ``torch.optim`` documents and computes it (constructor
arguments, defaults, state keys and the order of the floating-point operations), so
trajectories agree with PyTorch's step for step; updates run in the parameter's dtype.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from chainrule.core.dtypes import get_default_dtype
from chainrule.core.tensor import Tensor
from chainrule.optim.algorithms import _check, _check_betas
from chainrule.optim.optimizer import Optimizer

__all__ = ["Adamax", "NAdam", "RAdam", "Adadelta", "Rprop", "ASGD", "Adafactor"]


def _gradient(p, g, group, decoupled: bool = False):
    """The gradient after ``maximize`` and weight decay (L2: added to the gradient;
    decoupled: the parameter shrinks by lr·λ first)."""
    if group["maximize"]:
        g = -g
    wd = group["weight_decay"]
    if wd:
        if decoupled:
            p *= 1 - group["lr"] * wd
        else:
            g = g + wd * p
    return g


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, 2015), Adam with the infinity norm:

    m ← β₁m + (1 − β₁)g;  u ← max(β₂u, |g| + ε);  θ ← θ − η/(1 − β₁ᵗ) · m / u.

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = optim.Adamax([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 6)
    0.9
    """

    torch_flags = ("foreach", "capturable", "differentiable")
    _torch_state = True
    _lerped_state = ("exp_avg",)

    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False):
        _check("learning rate", lr)
        _check("epsilon", eps)
        _check("weight_decay", weight_decay)
        super().__init__(params, {"lr": lr, "betas": _check_betas(betas), "eps": eps,
                                  "weight_decay": weight_decay, "maximize": maximize},
                         {"foreach": foreach, "capturable": capturable, "differentiable": differentiable})

    def _update(self, p, g, state, group):
        (b1, b2), eps = group["betas"], group["eps"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_inf"] = np.zeros_like(p)
        state["step"] += 1
        g = _gradient(p, g, group)
        m, u = state["exp_avg"], state["exp_inf"]
        m += (1 - b1) * (g - m)
        u *= b2
        np.maximum(u, np.abs(g) + eps, out=u)
        clr = group["lr"] / (1 - b1 ** state["step"])
        p -= clr * (m / u)


class NAdam(Optimizer):
    """NAdam (Dozat, 2016): Adam with Nesterov momentum, the momentum coefficient
    μₜ = β₁(1 − ½·0.96^(t·ψ)) warming up with the momentum decay ψ:

    θ ← θ − η(1 − μₜ)/(1 − Πμ) · g/d − η μₜ₊₁/(1 − Πμ·μₜ₊₁) · m/d,  d = √(v/(1 − β₂ᵗ)) + ε.

    ``decoupled_weight_decay=True`` gives NAdamW.

    >>> from chainrule import nn, optim
    >>> sorted(optim.NAdam(nn.Linear(2, 1).parameters()).defaults)
    ['betas', 'capturable', 'decoupled_weight_decay', 'differentiable', 'eps', 'foreach', 'lr', 'maximize',
     'momentum_decay', 'weight_decay']
    """

    torch_flags = ("foreach", "capturable", "differentiable")
    _torch_state = True
    _lerped_state = ("exp_avg",)

    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False):
        _check("learning rate", lr)
        _check("epsilon", eps)
        _check_betas(betas)
        _check("weight_decay", weight_decay)
        _check("momentum_decay", momentum_decay)
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "momentum_decay": momentum_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize},
                         {"foreach": foreach, "capturable": capturable, "differentiable": differentiable})

    def _update(self, p, g, state, group):
        lr, (b1, b2), eps, psi = group["lr"], group["betas"], group["eps"], group["momentum_decay"]
        if not state:
            state["step"] = 0
            # a scalar of PyTorch's scalar dtype: float32, or float64 once that is the default
            state["mu_product"] = get_default_dtype().type(1.0)
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        g = _gradient(p, g, group, group["decoupled_weight_decay"])
        mu = b1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
        mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * psi)))
        state["mu_product"] = state["mu_product"] * state["mu_product"].dtype.type(mu)
        mu_product = float(state["mu_product"])
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - b1) * (g - m)
        v *= b2
        v += (1 - b2) * (g * g)
        denom = np.sqrt(v / (1 - b2**t))
        denom += eps
        p += (-lr * (1.0 - mu) / (1.0 - mu_product)) * (g / denom)
        p += ((-lr * mu_next) / (1.0 - mu_product * mu_next)) * (m / denom)


class RAdam(Optimizer):
    """RAdam (Liu et al., 2020): Adam whose adaptive step is switched on, and rectified,
    once the variance of the adaptive rate is tractable (ρₜ > 5); before that, SGD with
    momentum. ``decoupled_weight_decay=True`` gives RAdamW.

    >>> from chainrule import nn, optim
    >>> optim.RAdam(nn.Linear(2, 1).parameters()).defaults["lr"]
    0.001
    """

    torch_flags = ("foreach", "capturable", "differentiable")
    _torch_state = True
    _lerped_state = ("exp_avg",)

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        _check("learning rate", lr)
        _check("epsilon", eps)
        _check_betas(betas)
        _check("weight_decay", weight_decay)
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "decoupled_weight_decay": decoupled_weight_decay,
                                  "maximize": maximize},
                         {"foreach": foreach, "capturable": capturable, "differentiable": differentiable})

    def _update(self, p, g, state, group):
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        g = _gradient(p, g, group, group["decoupled_weight_decay"])
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - b1) * (g - m)
        v *= b2
        v += (1 - b2) * (g * g)
        bias_correction2 = 1 - b2**t
        corrected = m / (1 - b1**t)
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * (b2**t) / bias_correction2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive = (bias_correction2**0.5) / (np.sqrt(v) + eps)
            p -= corrected * lr * adaptive * rect
        else:
            p -= corrected * lr


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): steps scaled by the ratio of running RMS of past updates
    and of gradients:

    v ← ρv + (1 − ρ)g²;  δ = √(a + ε)/√(v + ε) · g;  a ← ρa + (1 − ρ)δ²;  θ ← θ − ηδ.

    >>> from chainrule import nn, optim
    >>> optim.Adadelta(nn.Linear(2, 1).parameters()).defaults["rho"]
    0.9
    """

    torch_flags = ("foreach", "capturable", "differentiable")
    _torch_state = True

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False):
        _check("learning rate", lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho} (rho must lie in [0, 1])")
        _check("epsilon", eps)
        _check("weight_decay", weight_decay)
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                                  "maximize": maximize},
                         {"foreach": foreach, "capturable": capturable, "differentiable": differentiable})

    def _update(self, p, g, state, group):
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            state["acc_delta"] = np.zeros_like(p)
        state["step"] += 1
        g = _gradient(p, g, group)
        sq, acc = state["square_avg"], state["acc_delta"]
        sq *= rho
        sq += (1 - rho) * (g * g)
        delta = np.sqrt(acc + eps)
        delta /= np.sqrt(sq + eps)
        delta *= g
        acc *= rho
        acc += (1 - rho) * (delta * delta)
        p -= group["lr"] * delta


class Rprop(Optimizer):
    """Rprop (Riedmiller & Braun, 1993): each weight moves by its own step size, in the
    direction against its gradient's sign; the size grows by η₊ while the sign holds and
    shrinks by η₋ when it flips (that step is then skipped), within ``step_sizes``.

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = optim.Rprop([w], lr=0.5)
    >>> (w * w).sum().backward(); opt.step(); w.tolist()
    [0.5, -0.5]
    """

    torch_flags = ("foreach", "capturable", "differentiable")
    _torch_state = True

    def __init__(self, params: Iterable, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False):
        _check("learning rate", lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]} (they need 0 < eta- < 1 < eta+)")
        super().__init__(params, {"lr": lr, "etas": tuple(etas), "step_sizes": tuple(step_sizes),
                                  "maximize": maximize},
                         {"foreach": foreach, "capturable": capturable, "differentiable": differentiable})

    def _update(self, p, g, state, group):
        (eta_minus, eta_plus), (smallest, largest) = group["etas"], group["step_sizes"]
        if group["maximize"]:
            g = -g
        if not state:
            state["step"] = 0
            state["prev"] = np.zeros_like(p)
            state["step_size"] = np.full_like(p, group["lr"])
        state["step"] += 1
        prev, size = state["prev"], state["step_size"]
        sign = np.sign(g * prev)
        factor = np.where(sign > 0, eta_plus, np.where(sign < 0, eta_minus, 1)).astype(p.dtype)
        size *= factor
        np.clip(size, smallest, largest, out=size)
        g = np.where(factor == eta_minus, 0, g).astype(p.dtype)
        p -= np.sign(g) * size
        prev[...] = g


class ASGD(Optimizer):
    """Averaged SGD (Polyak & Juditsky, 1992), as ``torch.optim.ASGD``: SGD with a step
    size η that decays with the step count t and a running average ``ax`` of the iterates,
    started at step ``t0``:

    θ ← θ(1 − λη) − ηg;  ax ← ax + μ(θ − ax);  η ← lr/(1 + λ·lr·t)^α;  μ ← 1/max(1, t − t0).

    The parameters take the SGD iterates; the average is ``opt.state[p]["ax"]``. η and μ
    are kept as PyTorch keeps them, in its scalar dtype (float32).

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = optim.ASGD([w], lr=0.25, lambd=0.0)
    >>> (w * w).sum().backward(); opt.step(); w.tolist()
    [0.5]
    """

    torch_flags = ("foreach", "differentiable", "capturable")
    _torch_state = True

    def __init__(self, params: Iterable, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        _check("learning rate", lr)
        _check("weight_decay", weight_decay)
        super().__init__(params, {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": weight_decay,
                                  "maximize": maximize},
                         {"foreach": foreach, "differentiable": differentiable, "capturable": capturable})

    def _update(self, p, g, state, group):
        lr, lambd = group["lr"], group["lambd"]
        scalar = get_default_dtype().type  # PyTorch's dtype for a number it keeps as a tensor
        if not state:
            state["step"] = 0
            state["eta"] = scalar(lr)
            state["mu"] = scalar(1.0)
            state["ax"] = np.zeros_like(p)
        state["step"] += 1
        g = _gradient(p, g, group)
        eta, mu, ax = float(state["eta"]), state["mu"], state["ax"]
        p *= 1 - lambd * eta
        p -= eta * g
        if float(mu) != 1:
            ax += (p - ax) * mu
        else:
            ax[...] = p
        t = state["step"]
        # η and μ are computed in Python floats and stored as scalars (float32), in the
        # dtype a loaded state_dict gave them
        state["eta"] = state["eta"].dtype.type(scalar(lr / ((1 + lambd * lr * t) ** group["alpha"])))
        state["mu"] = mu.dtype.type(scalar(1 / max(1, t - group["t0"])))


def _lerp(a: np.ndarray, b: np.ndarray, w: float) -> None:
    """``a.lerp_(b, w)`` with PyTorch's rounding: from ``a`` for w < ½, from ``b`` above."""
    if w < 0.5:
        a += w * (b - a)
    else:
        a[...] = b - (b - a) * (1 - w)


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern, 2018) as ``torch.optim.Adafactor``: the second moment of a
    matrix (of the last two dimensions of a tensor) kept factored as row and column means,
    β₂ₜ = 1 − t^``beta2_decay``, a relative step size ρₜ = min(lr, 1/√t) scaled by the
    parameter's RMS (at least ``eps[1]``), the update's RMS clipped to ``d``; ``eps[0]``
    (None: the dtype's machine epsilon) bounds the variance from below.

    >>> from chainrule import nn, optim
    >>> sorted(optim.Adafactor(nn.Linear(2, 1).parameters()).defaults)
    ['beta2_decay', 'd', 'eps', 'foreach', 'lr', 'maximize', 'weight_decay']
    """

    torch_flags = ("foreach",)
    _torch_state = True
    _lerped_state = ("row_var", "col_var", "variance")
    _takes_complex = False

    def __init__(self, params: Iterable, lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *,
                 foreach: bool | None = None, maximize: bool = False):
        if isinstance(lr, Tensor) and lr.size != 1:
            raise ValueError(f"Tensor lr must be 1-element, got shape {tuple(lr.shape)}")
        # refused in PyTorch's words
        for what, bad in ((f"Learning rate should be >= 0 but is: {lr}", not lr >= 0.0),
                          (f"beta2_decay should be <= 0 but is: {beta2_decay}", not beta2_decay <= 0.0),
                          (f"epsilon1 should be >= 0 but is: {eps[0]}", eps[0] is not None and not eps[0] >= 0.0),
                          (f"epsilon2 should be >= 0 but is: {eps[1]}", not eps[1] >= 0.0),
                          (f"Clipping threshold d should be >= 1 but is: {d}", not d >= 1.0),
                          (f"weight_decay should be >= 0 but is: {weight_decay}", not weight_decay >= 0.0)):
            if bad:
                raise ValueError(what)
        super().__init__(params, {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d,
                                  "weight_decay": weight_decay, "maximize": maximize}, {"foreach": foreach})

    def _state_shape(self, key, shape):
        if key in ("row_var", "col_var"):
            return (*shape[:-1], 1) if key == "row_var" else (*shape[:-2], 1, shape[-1])
        return shape

    def _update(self, p, g, state, group):
        lr, wd = group["lr"], group["weight_decay"]
        if not state:
            state["step"] = 0.0
            if g.ndim > 1:
                state["row_var"] = np.zeros(self._state_shape("row_var", g.shape), p.dtype)
                state["col_var"] = np.zeros(self._state_shape("col_var", g.shape), p.dtype)
            else:
                state["variance"] = np.zeros_like(p)
        if group["maximize"]:
            g = -g
        eps1, eps2 = group["eps"]
        if eps1 is None:
            eps1 = float(np.finfo(p.dtype).eps)
        state["step"] += 1
        t = float(state["step"])
        one_minus_beta2 = t ** group["beta2_decay"]
        alpha = max(eps2, float(np.linalg.norm(p.ravel())) / (p.size ** 0.5)) * min(lr, 1 / (t ** 0.5))
        if wd != 0:
            p *= 1 - lr * wd
        if g.ndim > 1:
            _lerp(state["row_var"], np.mean(g * g, axis=-1, keepdims=True), one_minus_beta2)
            _lerp(state["col_var"], np.mean(g * g, axis=-2, keepdims=True), one_minus_beta2)
            row = state["row_var"]
            estimate = (row @ state["col_var"]) / np.maximum(row.mean(axis=-2, keepdims=True), eps1)
        else:
            _lerp(state["variance"], g * g, one_minus_beta2)
            estimate = state["variance"].copy()
        update = g / np.sqrt(np.maximum(estimate, eps1 * eps1))
        denom = max(1.0, float(np.linalg.norm(update.ravel())) / ((update.size ** 0.5) * group["d"]))
        p -= (alpha / denom) * update

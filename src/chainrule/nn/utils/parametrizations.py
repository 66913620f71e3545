"""``nn.utils.parametrizations``, PyTorch's: ``weight_norm`` and ``spectral_norm`` as
parametrizations (:mod:`chainrule.nn.utils.parametrize`), with PyTorch's state-dict keys
(``parametrizations.weight.original0`` the magnitude and ``original1`` the direction of
weight norm; ``parametrizations.weight.original`` and the power method's vectors
``parametrizations.weight.0._u`` and ``._v`` of spectral norm).

>>> from chainrule import nn
>>> m = weight_norm(nn.Linear(20, 40))
>>> sorted(m.state_dict()), type(m).__name__
(['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1'], 'ParametrizedLinear')
"""

from __future__ import annotations

import chainrule.numpy as cnp
from chainrule.core.grad_mode import no_grad
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.nn._composed import normalize
from chainrule.nn.module import Module
from chainrule.nn.utils import parametrize
from chainrule.nn.utils.spectral_norm import default_dim, random_unit, weight_matrix, write
from chainrule.nn.utils.weight_norm import norm_except_dim, weight_from_norm

__all__ = ["weight_norm", "spectral_norm"]


class _WeightNorm(Module):
    """g · v / ‖v‖, the norm over every axis but ``dim`` (-1: the whole tensor)."""

    def __init__(self, dim: int | None = 0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_from_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Weight-normalise ``module.<name>`` as a parametrization, as PyTorch's
    ``torch.nn.utils.parametrizations.weight_norm``; ``parametrize.remove_parametrizations``
    undoes it. Returns ``module``."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    """``weight`` / σ, σ the power method's estimate of its largest singular value (a
    vector: divided by its norm); in training mode each call runs ``n_power_iterations``
    steps of the method on the buffers ``_u`` and ``_v`` first."""

    def __init__(self, weight, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            h, w = weight_matrix(weight.detach(), self.dim).shape
            self.register_buffer("_u", random_unit(h, weight.dtype, eps))
            self.register_buffer("_v", random_unit(w, weight.dtype, eps))
            self._power_method(weight_matrix(weight.detach(), self.dim), 15)

    def _power_method(self, weight_mat, n_power_iterations: int) -> None:
        w = undifferentiated(weight_mat)
        with no_grad():
            u, v = self._u, self._v
            for _ in range(n_power_iterations):
                u = normalize(cnp.matmul(w, v), dim=0, eps=self.eps)
                v = normalize(cnp.matmul(cnp.conj(w).T, u), dim=0, eps=self.eps)
            write(self._u, u)
            write(self._v, v)

    def forward(self, weight):
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        weight_mat = weight_matrix(weight, self.dim)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u, v = undifferentiated(self._u), undifferentiated(self._v)
        sigma = cnp.vdot(u, cnp.matmul(weight_mat, v))
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """Spectrally normalise ``module.<name>`` as a parametrization, as PyTorch's
    ``torch.nn.utils.parametrizations.spectral_norm`` (``dim``: by default 0, 1 for a
    transposed convolution). Returns ``module``."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = default_dim(module)
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module

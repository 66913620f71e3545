"""``nn.utils.spectral_norm`` and ``remove_spectral_norm``, PyTorch's older form of
spectral normalisation (Miyato et al., 2018): before each forward, ``weight`` is
``weight_orig`` / σ, σ = uᵀ W v the estimate of its largest singular value from the
buffers ``weight_u`` and ``weight_v``; in training mode each forward first runs
``n_power_iterations`` steps of the power method on them (in place, without gradient),
in evaluation mode they stay as they are. The state-dict keys are PyTorch's.
:func:`chainrule.nn.utils.parametrizations.spectral_norm` is the current form.
"""

from __future__ import annotations

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.grad_mode import no_grad
from chainrule.core.rng import get_generator
from chainrule.core.tensor import undifferentiated
from chainrule.nn._composed import normalize
from chainrule.nn._ops import update_running
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter

__all__ = ["spectral_norm", "remove_spectral_norm"]


def weight_matrix(weight, dim: int):
    """``weight`` as a matrix whose rows run along axis ``dim``."""
    if dim != 0:
        weight = cnp.permute_dims(weight, (dim, *[d for d in range(weight.ndim) if d != dim]))
    return cnp.reshape(weight, (weight.shape[0], -1))


def random_unit(n: int, dtype, eps: float):
    """A random unit vector of length ``n`` (normal draws from the global generator,
    normalised), PyTorch's starting point of the power method."""
    return normalize(np.asarray(get_generator(None).normal(size=n), dtype=dtype), dim=0, eps=eps)


def write(buffer, value) -> None:
    """``buffer`` set to ``value`` in place (PyTorch writes the vectors with ``out=``)."""
    update_running(buffer, value, 1.0)


def default_dim(module: Module) -> int:
    """1 for a transposed convolution (its weight is (in, out, ...)), else 0."""
    return 1 if any(c.__name__.startswith("ConvTranspose") for c in type(module).__mro__) else 0


class SpectralNorm:
    """The forward pre-hook that sets ``module.<name>`` to ``<name>_orig`` / σ."""

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12):
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def compute_weight(self, module: Module, do_power_iteration: bool):
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        weight_mat = weight_matrix(weight, self.dim)
        if do_power_iteration:
            w = undifferentiated(weight_mat)
            with no_grad():
                uu, vv = u, v
                for _ in range(self.n_power_iterations):
                    vv = normalize(cnp.matmul(w.T, uu), dim=0, eps=self.eps)
                    uu = normalize(cnp.matmul(w, vv), dim=0, eps=self.eps)
                write(v, vv)
                write(u, uu)
            u, v = undifferentiated(uu), undifferentiated(vv)
        sigma = cnp.dot(u, cnp.matmul(weight_mat, v))
        return weight / sigma

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        for suffix in ("", "_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        module.register_parameter(self.name, Parameter(weight.detach().numpy()))

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int, eps: float) -> SpectralNorm:
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters.get(name)
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        h, w = weight_matrix(weight.detach(), dim).shape
        u, v = random_unit(h, weight.dtype, eps), random_unit(w, weight.dtype, eps)
        delattr(module, name)
        module.register_parameter(name + "_orig", weight)
        setattr(module, name, weight.data)
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """Spectrally normalise ``module.<name>`` (``dim``: the axis of the outputs, by
    default 0, 1 for a transposed convolution), as PyTorch's
    ``torch.nn.utils.spectral_norm``. Returns ``module``.

    >>> from chainrule import nn
    >>> m = spectral_norm(nn.Linear(20, 40))
    >>> m.weight_u.shape, sorted(m.state_dict())
    (torch.Size([40]), ['bias', 'weight_orig', 'weight_u', 'weight_v'])
    """
    SpectralNorm.apply(module, name, n_power_iterations, default_dim(module) if dim is None else dim, eps)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo :func:`spectral_norm`: ``module.<name>`` is a parameter again, holding
    ``<name>_orig`` / σ with the current vectors."""
    hooks = module._forward_pre_hooks
    for i, hook in list(hooks.items()):
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del hooks[i]
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")

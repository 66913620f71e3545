"""``nn.utils.weight_norm`` and ``remove_weight_norm``, PyTorch's deprecated form of
weight normalisation (Salimans and Kingma, 2016): ``weight`` is recomputed before each
forward as g · v / ‖v‖ from the parameters ``weight_g`` (the magnitude) and ``weight_v``
(the direction), the keys of PyTorch's state dict. The norm is taken over every axis
but ``dim`` (``dim=None``, or PyTorch's -1: over the whole tensor).
:func:`chainrule.nn.utils.parametrizations.weight_norm` is the current form.

>>> import warnings
>>> from chainrule import nn
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")
...     m = weight_norm(nn.Linear(20, 40))
>>> m.weight_g.shape, m.weight_v.shape
(torch.Size([40, 1]), torch.Size([40, 20]))
"""

from __future__ import annotations

import warnings

import chainrule.numpy as cnp
from chainrule.core.grad_mode import no_grad
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter

__all__ = ["weight_norm", "remove_weight_norm", "norm_except_dim"]


def norm_except_dim(v, pow: float = 2, dim: int = 0):
    """The ``pow``-norm of ``v`` over every axis but ``dim``, keeping them as axes of
    size 1 (PyTorch's ``torch.norm_except_dim``; ``dim=-1``: the norm of the whole
    tensor, a scalar)."""
    if dim == -1:
        return cnp.linalg.vector_norm(v, ord=pow)
    dim = dim % v.ndim
    axes = tuple(a for a in range(v.ndim) if a != dim)
    return cnp.linalg.vector_norm(v, ord=pow, axis=axes, keepdims=True)


def weight_from_norm(v, g, dim: int):
    """g · v / ‖v‖ (PyTorch's ``torch._weight_norm``)."""
    return v * (g / norm_except_dim(v, 2, dim))


class WeightNorm:
    """The forward pre-hook that recomputes ``module.<name>`` from its magnitude and
    direction."""

    def __init__(self, name: str, dim: int):
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module: Module):
        return weight_from_norm(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"), self.dim)

    @staticmethod
    def apply(module: Module, name: str, dim: int | None) -> WeightNorm:
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
        fn = WeightNorm(name, dim)
        weight = module._parameters.get(name)
        if weight is None:
            raise ValueError(f"weight_norm: {type(module).__name__} has no parameter {name!r}")
        with no_grad():
            g = norm_except_dim(weight, 2, fn.dim)
        delattr(module, name)
        module.register_parameter(name + "_g", Parameter(g.detach().numpy().copy()))
        module.register_parameter(name + "_v", Parameter(weight.detach().numpy()))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module)
        delattr(module, self.name)
        delattr(module, self.name + "_g")
        delattr(module, self.name + "_v")
        setattr(module, self.name, Parameter(weight.detach().numpy()))

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Weight-normalise ``module.<name>``, as PyTorch's deprecated
    ``torch.nn.utils.weight_norm`` (and with its FutureWarning). Returns ``module``."""
    warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                  "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=2)
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo :func:`weight_norm`: ``module.<name>`` is a parameter again, holding the
    normalised values."""
    hooks = module._forward_pre_hooks
    for i, hook in list(hooks.items()):
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            del hooks[i]
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")

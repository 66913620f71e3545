"""``nn.utils.fuse_conv_bn_eval`` / ``fuse_linear_bn_eval`` and their ``*_weights``
halves, PyTorch's: a convolution or linear layer followed by a batch norm in evaluation
mode, folded into one layer (a copy; the originals are left as they are), its weight
scaled per output channel by γ/√(running_var + eps) and its bias (running_mean removed)
shifted by β. As PyTorch's, the fused parameters keep the originals' ``requires_grad``
(a bias made for a layer that had none does not require grad)."""

from __future__ import annotations

import copy

import numpy as np

from chainrule.core.values import plain
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]


def _values(t):
    return None if t is None else np.asarray(plain(t.detach() if hasattr(t, "detach") else t))


def _requires_grad(t) -> bool:
    return bool(getattr(t, "requires_grad", False))


def _check_eval(layer: Module, bn: Module) -> None:
    if layer.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")


def fuse_conv_bn_eval(conv: Module, bn: Module, transpose: bool = False) -> Module:
    """A copy of ``conv`` that computes ``bn(conv(x))`` (both in evaluation mode);
    ``transpose`` for a transposed convolution (its weight's output axis is 1).

    >>> import numpy as np
    >>> from chainrule import nn
    >>> conv, bn = nn.Conv2d(2, 3, 3, dtype=np.float64).eval(), nn.BatchNorm2d(3, dtype=np.float64).eval()
    >>> x = np.ones((1, 2, 4, 4))
    >>> bool(np.allclose(fuse_conv_bn_eval(conv, bn)(x).detach().numpy(), bn(conv(x)).detach().numpy()))
    True
    """
    _check_eval(conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps: float, bn_w, bn_b,
                         transpose: bool = False) -> tuple[Parameter, Parameter]:
    """The fused convolution's (weight, bias), as Parameters."""
    w, rm, rv = _values(conv_w), _values(bn_rm), _values(bn_rv)
    b_dtype = w.dtype if conv_b is None else _values(conv_b).dtype
    b = np.zeros_like(rm) if conv_b is None else _values(conv_b)
    gamma = np.ones_like(rm) if bn_w is None else _values(bn_w)
    beta = np.zeros_like(rm) if bn_b is None else _values(bn_b)
    rsqrt = 1.0 / np.sqrt(rv + bn_eps)
    shape = ([1, -1] if transpose else [-1, 1]) + [1] * (w.ndim - 2)
    fused_w = (w * (gamma * rsqrt).reshape(shape)).astype(w.dtype)
    fused_b = ((b - rm) * rsqrt * gamma + beta).astype(b_dtype)
    return Parameter(fused_w, _requires_grad(conv_w)), Parameter(fused_b, _requires_grad(conv_b))


def fuse_linear_bn_eval(linear: Module, bn: Module) -> Module:
    """A copy of ``linear`` that computes ``bn(linear(x))`` (both in evaluation mode)."""
    _check_eval(linear, bn)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(f"To fuse, linear.out_features == bn.num_features or bn.num_features == 1, got "
                             f"linear.out_features={linear.out_features} and bn.num_features={bn.num_features}")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                      bn.eps, bn.weight, bn.bias)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps: float, bn_w, bn_b) -> tuple[Parameter, Parameter]:
    """The fused linear layer's (weight, bias), as Parameters."""
    w, rm, rv = _values(linear_w), _values(bn_rm), _values(bn_rv)
    b_dtype = w.dtype if linear_b is None else _values(linear_b).dtype
    b = np.zeros_like(rm) if linear_b is None else _values(linear_b)
    scale = _values(bn_w) / np.sqrt(rv + bn_eps)
    fused_w = w * scale[:, None].astype(w.dtype)
    fused_b = ((b - rm) * scale + _values(bn_b)).astype(b_dtype)
    return Parameter(fused_w, _requires_grad(linear_w)), Parameter(fused_b, _requires_grad(linear_b))

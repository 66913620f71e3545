"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_`` (also in ``chainrule.optim``),
and its two halves, ``get_total_norm`` and ``clip_grads_with_norm_``, as PyTorch's."""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np

from chainrule.core.eager import EAGER
from chainrule.core.grad_mode import no_grad
from chainrule.core.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def _grads(parameters) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(
    parameters: Iterable[Tensor] | Tensor,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The norm is taken over all gradients as if concatenated into one vector; each is
    multiplied by min(1, max_norm / (norm + 1e-6)), as in PyTorch (``foreach``, PyTorch's
    choice of kernel, changes nothing here). Returns the norm
    before clipping (a 0-d Tensor).

    >>> import chainrule as cr
    >>> w = cr.tensor([3.0, 4.0], requires_grad=True)
    >>> (w * w / 2).sum().backward()          # grad = w, norm 5
    >>> float(clip_grad_norm_([w], 1.0))
    5.0
    >>> [round(v, 4) for v in w.grad.tolist()]
    [0.6, 0.8]
    """
    params = _grads(parameters)
    if not params:
        return Tensor(np.zeros(()), EAGER)
    total = get_total_norm([p.grad for p in params], norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def get_total_norm(tensors: Iterable[Tensor] | Tensor, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """The ``norm_type``-norm of ``tensors`` (gradients, say) taken together, as if
    concatenated into one vector, as PyTorch's (a 0-d Tensor of their dtype; 0 for none).

    >>> import chainrule as cr
    >>> float(get_total_norm([cr.tensor([3.0]), cr.tensor([4.0])]))
    5.0
    """
    tensors = [tensors] if isinstance(tensors, Tensor) else [t for t in tensors if t is not None]
    if not tensors:
        return Tensor(np.zeros(()), EAGER)
    norm_type = float(norm_type)
    # as PyTorch's: each tensor's norm in its own dtype, then the norm of those norms
    norms = [_vector_norm(np.asarray(t.primal() if isinstance(t, Tensor) else t), norm_type) for t in tensors]
    total = _vector_norm(np.array(norms, dtype=np.result_type(*norms)), norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
            "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            f"`error_if_nonfinite=False` (the norm is {total})"
        )
    return Tensor(np.asarray(total), EAGER)


def _vector_norm(g: np.ndarray, norm_type: float) -> np.generic:
    """``torch.linalg.vector_norm(g, norm_type)``: in ``g``'s dtype, 0 for an empty ``g``."""
    g = np.abs(g.ravel())
    if not g.size:
        return g.dtype.type(0)
    if norm_type == np.inf:
        return g.max()
    if norm_type == -np.inf:
        return g.min()
    if norm_type == 0:
        return g.dtype.type(np.count_nonzero(g))
    if norm_type == 2:
        return np.sqrt(np.dot(g, g))
    return np.sum(g ** norm_type) ** (1 / norm_type)


def clip_grads_with_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, total_norm,
                          foreach: bool | None = None) -> None:
    """Scale the gradients of ``parameters`` by min(1, max_norm / (total_norm + 1e-6)), the
    second half of :func:`clip_grad_norm_` (``total_norm`` from :func:`get_total_norm`).

    >>> import chainrule as cr
    >>> w = cr.tensor([3.0, 4.0], requires_grad=True)
    >>> (w * w / 2).sum().backward()
    >>> clip_grads_with_norm_([w], 1.0, get_total_norm([w.grad])); [round(v, 4) for v in w.grad.tolist()]
    [0.6, 0.8]
    """
    total = np.asarray(total_norm.primal() if isinstance(total_norm, Tensor) else total_norm)
    if total.dtype.kind != "f":
        total = total.astype(np.float64)
    # rounded as PyTorch's: in the norm's dtype, and max_norm / t as its reciprocal(t) *
    # max_norm; a NaN norm gives a NaN factor (np.minimum keeps it, where min() would drop
    # it), which makes every gradient NaN as in PyTorch
    coef = np.minimum(np.reciprocal(total + 1e-6) * max_norm, 1.0)
    if not coef >= 1.0:
        # in place, as PyTorch's: a reference to a gradient taken before sees it clipped
        with no_grad():
            for p in _grads(parameters):
                p.grad.mul_(np.asarray(coef, dtype=p.grad.dtype))


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient element into [−clip_value, clip_value] (``foreach``, PyTorch's
    choice of kernel, changes nothing here).

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -5.0], requires_grad=True)
    >>> (w * w).sum().backward()
    >>> clip_grad_value_([w], 3.0); w.grad.tolist()
    [2.0, -3.0]
    """
    with no_grad():
        for p in _grads(parameters):
            p.grad.clamp_(-clip_value, clip_value)


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None):
    """PyTorch's deprecated spelling of :func:`clip_grad_norm_` (with its FutureWarning)."""
    warnings.warn("torch.nn.utils.clip_grad_norm is now deprecated in favor of torch.nn.utils.clip_grad_norm_.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)

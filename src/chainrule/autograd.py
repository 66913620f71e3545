"""``chainrule.autograd``: PyTorch's ``torch.autograd`` spellings for the eager layer:
:func:`grad` (gradients returned, not accumulated; ``create_graph`` for gradient
penalties and double backward) and :func:`backward`.

>>> import chainrule as cr
>>> x = cr.tensor([3.0], requires_grad=True)
>>> cr.autograd.grad(x * x, x, grad_outputs=cr.tensor([1.0]))[0].tolist()
[6.0]
"""

from __future__ import annotations

from chainrule.core.eager import grad
from chainrule.core.tensor import Tensor

__all__ = ["grad", "backward"]


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
    """``torch.autograd.backward``: ``t.backward(g)`` for each Tensor of ``tensors``.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> backward([x * 2, x.sum()]); x.grad.tolist()
    [3.0, 3.0]
    """
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    grads = [None] * len(tensors) if grad_tensors is None else (
        [grad_tensors] if isinstance(grad_tensors, Tensor) else list(grad_tensors))
    for k, (t, g) in enumerate(zip(tensors, grads, strict=True)):
        if g is None and t.size != 1:
            g = t.new_ones(t.shape)
        keep = bool(retain_graph) or create_graph or k < len(tensors) - 1
        t.backward(g, retain_graph=keep, create_graph=create_graph)

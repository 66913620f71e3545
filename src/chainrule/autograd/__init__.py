"""``chainrule.autograd``: PyTorch's ``torch.autograd`` spellings for the eager layer:
:func:`grad` (gradients returned, not accumulated; ``create_graph`` for gradient
penalties and double backward), :func:`backward`, :class:`Function` (a function
with a backward pass written by hand), and :mod:`~chainrule.autograd.functional`
(Jacobians, Hessians and their products).

>>> import chainrule as cr
>>> x = cr.tensor([3.0], requires_grad=True)
>>> cr.autograd.grad(x * x, x, grad_outputs=cr.tensor([1.0]))[0].tolist()
[6.0]
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd import functional
from chainrule.core.eager import EAGER, grad, is_grad_enabled, no_grad
from chainrule.core.primitive import Primitive, def_joint_vjp
from chainrule.core.tensor import Tensor
from chainrule.numpy.broadcasting import unbroadcast

__all__ = ["grad", "backward", "Function", "FunctionCtx", "functional"]


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



def _expands_to(shape: tuple, grad_shape: tuple) -> bool:
    """Whether an input of ``shape`` broadcasts to ``grad_shape`` (a gradient PyTorch sums back)."""
    if len(shape) > len(grad_shape):
        return False
    return all(n in (1, m) for n, m in zip(shape[::-1], grad_shape[::-1], strict=False))

class FunctionCtx:
    """The ``ctx`` of a :class:`Function`: what ``forward`` keeps for ``backward``."""

    def __init__(self, needs_input_grad: tuple):
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple = ()
        self.materialize_grads = True
        self.non_differentiable: set = set()

    def save_for_backward(self, *tensors) -> None:
        """Keep Tensors (or None) for ``backward``, read back as ``ctx.saved_tensors``."""
        self.saved_tensors = tuple(tensors)

    def mark_non_differentiable(self, *outputs) -> None:
        """Outputs (an index, a mask) that carry no gradient."""
        self.non_differentiable |= {id(o) for o in outputs}

    def set_materialize_grads(self, value: bool) -> None:
        """Whether ``backward`` sees zeros (True, the default) or None for an output that
        the loss does not use."""
        self.materialize_grads = bool(value)


class Function:
    """PyTorch's ``torch.autograd.Function`` for eager Tensors: subclass it with static
    ``forward(ctx, *args)`` (computed without recording) and ``backward(ctx, *grads)``
    (one gradient per output in, one per ``forward`` argument out, None for an argument
    without one), or with ``forward(*args)`` and ``setup_context(ctx, inputs, output)``;
    call ``MyFunction.apply(*args)``. Inside ``chainrule.grad`` and the other transforms,
    use :func:`chainrule.custom_vjp`.

    >>> import chainrule as cr
    >>> class Cube(cr.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return g * 3 * x ** 2
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> Cube.apply(x).sum().backward(); x.grad.tolist()
    [3.0, 12.0]
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass defines forward")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("a Function subclass defines backward to be differentiated")

    setup_context = None

    @classmethod
    def apply(cls, *args, **kwargs):
        for a in args:
            if isinstance(a, Tensor) and a._trace is not EAGER:
                raise TypeError(f"{cls.__name__}.apply takes eager Tensors; inside chainrule.grad, jit or vmap, "
                                "write the rule with chainrule.custom_vjp")
        ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        detached = tuple(a.detach() if isinstance(a, Tensor) else a for a in args)
        with no_grad():
            if cls.setup_context is None:
                out = cls.forward(ctx, *detached, **kwargs)
            else:
                out = cls.forward(*detached, **kwargs)
                cls.setup_context(ctx, detached, out)
        several = isinstance(out, tuple)
        outs = list(out) if several else [out]
        values = [o.primal() if isinstance(o, Tensor) else o for o in outs]
        at = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not any(ctx.needs_input_grad) or not is_grad_enabled():
            return out
        frozen = [id(o) in ctx.non_differentiable for o in outs]

        def run(*_):
            return tuple(values) if several else values[0]

        def joint(g, ans, argnums, *inputs):
            grads = list(g) if several else [g]
            for k, gk in enumerate(grads):
                if gk is None and ctx.materialize_grads:
                    grads[k] = np.zeros_like(values[k])
            returned = cls.backward(ctx, *[None if gk is None else _eager(gk) for gk in grads])
            returned = returned if isinstance(returned, tuple) else (returned,)
            if len(returned) < len(args):
                raise RuntimeError(f"{cls.__name__}.backward returned {len(returned)} gradients; forward took "
                                   f"{len(args)} arguments (return None for those without one)")
            cots = []
            for k, i in enumerate(at):
                gi = returned[i]
                if gi is not None and tuple(np.shape(gi)) != tuple(args[i].shape):
                    if not _expands_to(tuple(args[i].shape), tuple(np.shape(gi))):
                        raise RuntimeError(f"{cls.__name__}.backward returned a gradient of shape "
                                           f"{tuple(np.shape(gi))} for argument {i}, of shape "
                                           f"{tuple(args[i].shape)}")
                    gi = unbroadcast(gi, args[i])  # summed over the broadcast axes, as PyTorch does
                if isinstance(gi, Tensor) and not is_grad_enabled():  # no create_graph: plain values
                    gi = gi.primal()
                cots.append(None if gi is None or k not in argnums else gi)
            return cots

        prim = Primitive(run, name=cls.__name__, multiple_outputs=several)
        def_joint_vjp(prim, joint)
        made = prim(*[args[i] for i in at])
        made = list(made) if several else [made]
        for k, flag in enumerate(frozen):
            if flag:
                made[k] = made[k].detach()
        return tuple(made) if several else made[0]


def _eager(g) -> Tensor:
    return g if isinstance(g, Tensor) else Tensor(g, EAGER)

"""``chainrule.autograd.function`` (PyTorch's ``torch.autograd.function``): :class:`Function`,
a function of eager Tensors with a backward pass written by hand, its :class:`FunctionCtx`,
and :func:`once_differentiable` for a ``backward`` that is not itself differentiated.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

import chainrule.numpy as cnp
from chainrule.autograd import forward_ad
from chainrule.core.composite import NO_TANGENT
from chainrule.core.eager import EAGER, as_it_is, inplace, is_grad_enabled, no_grad
from chainrule.core.primitive import Primitive, def_joint_vjp
from chainrule.core.pytree import register_pytree_node, tree_unflatten
from chainrule.core.tensor import Tensor
from chainrule.numpy.broadcasting import unbroadcast
from chainrule.transforms.custom import custom_vjp

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


def _expands_to(shape: tuple, grad_shape: tuple) -> bool:
    """Whether an input of ``shape`` broadcasts to ``grad_shape`` (a gradient PyTorch sums back)."""
    if len(shape) > len(grad_shape):
        return False
    return all(n in (1, m) for n, m in zip(shape[::-1], grad_shape[::-1], strict=False))

class FunctionCtx:
    """The ``ctx`` of a :class:`Function`: what ``forward`` keeps for ``backward``."""

    def __init__(self, needs_input_grad: tuple):
        self.needs_input_grad = needs_input_grad
        self._saved: tuple = ()
        self._graph: dict = {}  # during a create_graph backward: saved Tensor's id -> it on the graph
        self._inputs: dict = {}  # forward's (detached) input's id -> the Tensor apply was given
        self.materialize_grads = True
        self.non_differentiable: set = set()
        self.dirty: set = set()
        self._for_forward: tuple = ()
        self._in_jvp = False

    def save_for_backward(self, *tensors) -> None:
        """Keep Tensors (or None) for ``backward``, read back as ``ctx.saved_tensors``;
        anything else is refused, as PyTorch refuses it (keep it as an attribute of ``ctx``)."""
        for k, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {k} is of type "
                                f"{type(t).__name__}")
        self._saved = tuple(tensors)

    def save_for_forward(self, *tensors) -> None:
        """Keep Tensors (or None) for ``jvp``, read back there as ``ctx.saved_tensors``, as
        PyTorch's."""
        for k, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_forward expects all arguments to be tensors; but argument {k} is of type "
                                f"{type(t).__name__}")
        self._for_forward = tuple(tensors)

    @property
    def saved_tensors(self) -> tuple:
        """What :meth:`save_for_backward` kept: the inputs among them as the Tensors ``apply``
        was given (a parameter that requires grad, so that ``backward`` can differentiate
        through it under ``enable_grad``, as an adjoint method does); in a backward pass with
        ``create_graph=True``, the inputs and outputs among them as the Tensors on the graph
        (so what ``backward`` computes from them differentiates again), as in PyTorch."""
        graph = self._graph or self._inputs
        return tuple(graph.get(id(t), t) for t in (self._for_forward if self._in_jvp else self._saved))

    def mark_non_differentiable(self, *outputs) -> None:
        """Outputs (an index, a mask) that carry no gradient."""
        self.non_differentiable |= {id(o) for o in outputs}

    def mark_dirty(self, *tensors) -> None:
        """Inputs that ``forward`` modified in place (and returns): the call gives back
        those input Tensors themselves, now on the graph of the Function, as PyTorch's."""
        self.dirty |= {id(t) for t in tensors}

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

    @staticmethod
    def jvp(ctx, *tangents):
        """The tangents of the outputs from those of the inputs, for forward_ad's dual Tensors."""
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it "
                                  "with forward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        dual = forward_ad.open_level()
        if dual is not None and any(isinstance(a, Tensor) and a._trace is dual for a in args):
            return _apply_dual(cls, dual, args, kwargs)
        if any(isinstance(a, Tensor) and a._trace is not EAGER for a in args):
            return _apply_transformed(cls, args, kwargs)
        return _apply_eager(cls, args, kwargs)[0]

    generate_vmap_rule = False  # True: under vmap, forward and backward are vmapped as they are

    @staticmethod
    def vmap(info, in_dims, *args):
        """Under ``chainrule.func.vmap``: ``(outputs, out_dims)`` for the whole batch, given
        each argument's batch dimension (``in_dims``, None where it has none) and ``info``
        (``batch_size``, ``randomness``), as PyTorch's; or set ``generate_vmap_rule = True``."""
        raise NotImplementedError("To use autograd.Function with vmap, you must either override the vmap "
                                  "staticmethod or set generate_vmap_rule=True.")


def _apply_eager(cls, args: tuple, kwargs: dict) -> tuple:
    """``cls.apply(*args, **kwargs)`` of eager Tensors, and its ctx."""
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
    dirty = {k: _dirty_input(cls, ctx, o, detached) for k, o in enumerate(outs) if id(o) in ctx.dirty}
    ctx._inputs = {id(detached[i]): args[i] for i in at}
    if not any(ctx.needs_input_grad) or not is_grad_enabled():
        for k, i in dirty.items():  # the input itself, modified in place
            outs[k] = args[i]
        return (tuple(outs) if several else outs[0]), ctx
    frozen = [id(o) in ctx.non_differentiable for o in outs]

    def run(*_):
        return tuple(values) if several else values[0]

    def joint(g, ans, argnums, *inputs):
        grads = list(g) if several else [g]
        for k, gk in enumerate(grads):
            if not isinstance(outs[k], Tensor):  # a number forward returned: None, as in PyTorch
                grads[k] = None
            elif gk is None and ctx.materialize_grads:
                grads[k] = np.zeros_like(values[k])
        if is_grad_enabled() and ctx._saved:  # create_graph: the saved inputs and outputs on the graph
            again = prim(*inputs)  # the stored outputs, recorded again from the inputs on the graph
            again = list(again) if several else [again]
            ctx._graph = {id(detached[i]): inputs[k] for k, i in enumerate(at)}
            ctx._graph.update({id(o): a for o, a in zip(outs, again, strict=True) if isinstance(o, Tensor)})
        try:
            returned = cls.backward(ctx, *[None if gk is None else _eager(gk) for gk in grads])
        finally:
            ctx._graph = {}
        returned = returned if isinstance(returned, tuple) else (returned,)
        if len(returned) < len(args) or any(r is not None for r in returned[len(args):]):
            raise RuntimeError(f"{cls.__name__}.backward returned an incorrect number of gradients "
                               f"(expected {len(args)}, got {len(returned)}): one per argument of "
                               "forward, None for those without one")
        for i, a in enumerate(args):
            if returned[i] is not None and not isinstance(a, Tensor):
                raise RuntimeError(f"function {cls.__name__}Backward returned a gradient different than None at "
                                   f"position {i + 1}, but the corresponding forward input was not a Variable")
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
    # (an input it modified in place is read as it was: the call's node is not one that
    # read the value written later, which would trip the check of in-place writes)
    written = set(dirty.values())
    made = prim(*[as_it_is(args[i]) if i in written else args[i] for i in at])
    made = list(made) if several else [made]
    for k, flag in enumerate(frozen):
        if flag:
            made[k] = made[k].detach()
        if not isinstance(outs[k], Tensor):  # a number (or None) forward returned stays one
            made[k] = outs[k]
    for k, i in dirty.items():  # the input takes the output's place on the graph
        made[k] = inplace(args[i], lambda a, b: b, made[k], f"{cls.__name__} (mark_dirty)")
    return (tuple(made) if several else made[0]), ctx


class VmapInfo(NamedTuple):
    """What a Function's ``vmap`` staticmethod is told of the batch, as PyTorch's."""

    batch_size: int
    randomness: str


class _TransformCtx(FunctionCtx):
    """The ctx of a Function inside a transform: a pytree whose children are the Tensors
    saved (so that vmap of ``forward`` and ``setup_context`` batches them), the rest of it
    static (an attribute such as ``ctx.k = k`` is shared by the examples)."""

    def flatten(self) -> tuple:
        return (self._saved, self._for_forward), _Static(self)

    @staticmethod
    def unflatten(static: _Static, children) -> _TransformCtx:
        ctx = _TransformCtx.__new__(_TransformCtx)
        ctx.__dict__.update(static.ctx.__dict__)
        ctx._saved, ctx._for_forward = (tuple(c) for c in children)
        return ctx


class _Static:
    """The static part of a :class:`_TransformCtx`, equal only to itself."""

    __slots__ = ("ctx",)

    def __init__(self, ctx):
        self.ctx = ctx


register_pytree_node(_TransformCtx, _TransformCtx.flatten, _TransformCtx.unflatten)


class _FunctionRules(custom_vjp):
    """A Function as a function with a custom vjp, for chainrule's transforms (PyTorch's
    autograd.Function under torch.func): ``forward`` then ``setup_context`` before the
    ``backward`` that gives the gradients; under vmap, the Function's ``vmap`` staticmethod
    unless it asks for the rule to be made (``generate_vmap_rule``)."""

    closure_is_an_error = False

    def __init__(self, cls, args: tuple, kwargs: dict):
        self.cls, self.at = cls, [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        # (the rules may be given the arrays under a Tensor: the Function's code sees Tensors)
        self.full = lambda ts: tuple(_eager(ts[self.at.index(i)]) if i in self.at else a for i, a in enumerate(args))
        super().__init__(lambda *ts: cls.forward(*self.full(ts), **kwargs))
        self.__name__ = cls.__name__

        def fwd(*ts):
            full = self.full(ts)
            out = cls.forward(*full, **kwargs)
            ctx = _TransformCtx(tuple(isinstance(a, Tensor) for a in full))
            cls.setup_context(ctx, full, out)
            return out, ctx

        self.forward_with_ctx = fwd

        def bwd(ctx, g):
            grads = g if isinstance(g, tuple) else (g,)
            returned = cls.backward(ctx, *[None if gk is None else _eager(gk) for gk in grads])
            returned = returned if isinstance(returned, tuple) else (returned,)
            if len(returned) < len(args) or any(r is not None for r in returned[len(args):]):
                raise RuntimeError(f"{cls.__name__}.backward returned an incorrect number of gradients "
                                   f"(expected {len(args)}, got {len(returned)})")
            return tuple(returned[i] for i in self.at)

        self.defvjp(fwd, bwd)

    def tangent(self, primals, tangents, in_tree):
        """Forward mode (``chainrule.func.jvp``): the Function's ``jvp`` staticmethod, as
        under forward_ad."""
        ts = tree_unflatten(in_tree, primals)
        out, ctx = self.forward_with_ctx(*ts)
        full = self.full(ts)
        given = dict(zip(self.at, tangents, strict=True))
        ts = [None if i not in given else _eager(given[i]) if given[i] is not None
              else a.new_zeros(a.shape) if ctx.materialize_grads else None for i, a in enumerate(full)]
        ctx._in_jvp = True
        t_out = self.cls.jvp(ctx, *ts)
        if isinstance(out, tuple):
            t_out = tuple(NO_TANGENT if t is None else t for t in t_out)
        return out, NO_TANGENT if t_out is None else t_out

    def batched(self, in_axes, in_tree, axes):
        cls = self.cls
        if cls.generate_vmap_rule:
            return super().batched(in_axes, in_tree, axes)
        if cls.vmap is Function.vmap:
            raise RuntimeError(f"You tried to vmap over {cls.__name__}, but it does not have vmap support. Please "
                               "override and implement the vmap staticmethod or set generate_vmap_rule=True.")

        def run(*ts):
            full = self.full(ts)
            in_dims = tuple(0 if i in self.at and axes[self.at.index(i)] == 0 else None for i in range(len(full)))
            size = next(full[i].shape[0] for i, d in enumerate(in_dims) if d == 0)
            out, out_dims = cls.vmap(VmapInfo(size, "error"), in_dims, *full)
            several = isinstance(out, tuple)
            outs, dims = (list(out), list(out_dims)) if several else ([out], [out_dims])
            outs = [cnp.broadcast_to(o, (size, *o.shape)) if d is None else cnp.moveaxis(o, d, 0)
                    for o, d in zip(outs, dims, strict=True)]
            return tuple(outs) if several else outs[0]

        return run


def _apply_transformed(cls, args: tuple, kwargs: dict):
    """``cls.apply`` inside chainrule's transforms (grad, vjp, vmap, jit), as PyTorch's
    autograd.Function inside torch.func's: the Function must define ``setup_context``."""
    if cls.setup_context is None:
        raise RuntimeError("In order to use an autograd.Function with functorch transforms (vmap, grad, jvp, "
                           "jacrev, ...), it must override the setup_context staticmethod.")
    return _FunctionRules(cls, args, kwargs)(*[a for a in args if isinstance(a, Tensor)])


def _apply_dual(cls, trace, args: tuple, kwargs: dict):
    """``cls.apply`` where some arguments are dual Tensors of the open forward_ad level, as
    PyTorch's: ``forward`` (and ``backward``, for the primal outputs) on the primal values,
    and ``cls.jvp(ctx, *tangents)`` for the tangents of the outputs, given a tangent for each
    argument (zeros for a Tensor that is not dual, None for one with
    ``ctx.set_materialize_grads(False)`` and for a non-Tensor); in it ``ctx.saved_tensors``
    are what ``ctx.save_for_forward`` kept. An input modified in place (mark_dirty) is the
    dual Tensor given, its primal and tangent updated."""
    duals = [isinstance(a, Tensor) and a._trace is trace for a in args]
    primals = tuple(_eager(a._value) if d else a for a, d in zip(args, duals, strict=True))
    result, ctx = _apply_eager(cls, primals, kwargs)
    tangents = [_eager(a._tangent) if d else a.new_zeros(a.shape) if isinstance(a, Tensor) and ctx.materialize_grads
                else None for a, d in zip(args, duals, strict=True)]
    ctx._in_jvp = True
    try:
        returned = cls.jvp(ctx, *tangents)
    finally:
        ctx._in_jvp = False
    several = isinstance(result, tuple)
    outs = list(result) if several else [result]
    returned = list(returned) if isinstance(returned, tuple | list) else [returned]
    if len(returned) != len(outs):
        raise RuntimeError(f"{cls.__name__}.jvp returned {len(returned)} tangents for {len(outs)} outputs of forward")
    for k, (o, t) in enumerate(zip(outs, returned, strict=True)):
        if not isinstance(o, Tensor) or t is None or not np.issubdtype(o.dtype, np.inexact):
            continue
        if tuple(np.shape(t)) != tuple(o.shape):
            raise RuntimeError(f"Trying to set a forward gradient that has a different size than that of the "
                               f"original Tensor, this is not supported. Tensor is of size {list(o.shape)} while "
                               f"the given forward gradient is of size {list(np.shape(t))}.")
        t = _eager(t)
        t = t.to(o.dtype) if t.dtype != o.dtype else t
        i = next((i for i, p in enumerate(primals) if p is o and duals[i]), None)
        if i is not None:  # an input modified in place: the dual Tensor given, updated
            args[i]._value = o if isinstance(args[i]._value, Tensor) else o._value
            args[i]._tangent = t
            outs[k] = args[i]
        else:
            outs[k] = trace.new_tensor(o, t)
    return tuple(outs) if several else outs[0]


def _dirty_input(cls, ctx: FunctionCtx, output, detached: tuple) -> int:
    """The position of the input that ``output``, marked dirty, is (modified in place)."""
    for i, d in enumerate(detached):
        if d is output:
            return i
    raise RuntimeError(f"{cls.__name__}: ctx.mark_dirty() was given a Tensor that forward returns but that is "
                       "not one of its inputs; mark only the inputs that forward modifies in place")


def _eager(g) -> Tensor:
    return g if isinstance(g, Tensor) else Tensor(g, EAGER)


def once_differentiable(backward: Callable) -> Callable:
    """PyTorch's decorator for a ``backward`` that is differentiated only once: it runs
    without recording, so a gradient taken with ``create_graph=True`` through it does not
    require grad (a second differentiation finds nothing to differentiate and says so).

    >>> import chainrule as cr
    >>> from chainrule.autograd.function import once_differentiable
    >>> class Square(cr.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     @once_differentiable
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return 2 * x * g
    >>> x = cr.tensor([3.0], requires_grad=True)
    >>> Square.apply(x).sum().backward(); x.grad.tolist()
    [6.0]
    """

    @functools.wraps(backward)
    def wrapped(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)

    return wrapped

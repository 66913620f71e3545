"""A Module's backward hooks, PyTorch's ``register_full_backward_hook`` and
``register_full_backward_pre_hook`` (and, at the end, its ``load_state_dict`` pre-hooks).

A call of a module with such hooks passes its positional Tensor arguments through
:data:`INPUT_BOUNDARY`, and then its output Tensors through :data:`BOUNDARY`, primitives of
several outputs that return their arguments. In the backward pass each boundary's node receives the gradients of all
its outputs at once: the outputs' node calls the pre-hooks (``hook(module, grad_output)``,
which may replace ``grad_output``) and the inputs' node the hooks
(``hook(module, grad_input, grad_output)``, which may replace ``grad_input``), once per
backward pass, as PyTorch's ``BackwardHook`` does.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.eager import EAGER, grad_enabled
from chainrule.core.primitive import Primitive, RulesByArgument, def_batch, def_joint_vjp
from chainrule.core.tensor import Tensor
from chainrule.core.values import zeros_like

__all__ = ["BOUNDARY", "INPUT_BOUNDARY", "call_with_backward_hooks", "hook_kind", "run_load_pre_hooks",
           "GLOBAL_BACKWARD_HOOKS", "GLOBAL_BACKWARD_PRE_HOOKS"]

# the hooks of every module (torch.nn.modules.module.register_module_full_backward_hook and
# _pre_hook), run before each module's own, as PyTorch's: dicts from the handle's id to the hook
GLOBAL_BACKWARD_HOOKS: OrderedDict = OrderedDict()
GLOBAL_BACKWARD_PRE_HOOKS: OrderedDict = OrderedDict()

_NON_FULL_HOOK = ("Using a non-full backward hook when the forward contains multiple autograd Nodes is deprecated "
                  "and will be removed in future versions. This hook will be missing some grad_input. Please use "
                  "register_full_backward_hook to get the documented behavior.")


def _pass(*xs):
    return tuple(xs)


BOUNDARY = Primitive(_pass, name="module_boundary", multiple_outputs=True)


def _rule(k: int):
    def vjp(g, ans, *xs):
        return zeros_like(xs[k]) if g[k] is None else g[k]
    return vjp


BOUNDARY.vjps = RulesByArgument(_rule)

# the boundary of the inputs: an input whose gradient the full hooks left None (or that
# the output does not depend on) gets nothing from the module, as in PyTorch (its ``.grad``
# stays None where no other path reaches it), where the outputs' boundary passes zeros
INPUT_BOUNDARY = Primitive(_pass, name="module_input_boundary", multiple_outputs=True)
INPUT_BOUNDARY.vjps = RulesByArgument(_rule)
def_joint_vjp(INPUT_BOUNDARY, lambda g, ans, argnums, *xs: g)


def _batch(prim, batched, *xs):
    """Under vmap (where no hooks are set) the pass-through keeps each value, an unbatched
    one spread along the batch axis in front."""
    n = next(x.shape[0] for x, b in zip(xs, batched, strict=True) if b)
    return tuple(x if b else cnp.broadcast_to(x[None], (n, *x.shape)) for x, b in zip(xs, batched, strict=True))


def_batch(_batch, BOUNDARY)
def_batch(_batch, INPUT_BOUNDARY)


def _on_graph(x) -> bool:
    return isinstance(x, Tensor) and x._trace is EAGER and x._node is not None


def _through(tensors: list, boundary: Primitive = BOUNDARY) -> tuple[list, object]:
    """The Tensors passed through ``boundary``, and the node whose hooks see them."""
    passed = list(boundary(*tensors))
    return passed, passed[0]._node.parents[0][1]


def call_with_backward_hooks(module, args: tuple, kwargs: dict, call: Callable):
    """``call(args, kwargs)`` (the module's forward, with its forward hooks) with the
    module's backward hooks and pre-hooks set on its inputs and outputs."""
    if not grad_enabled():
        return call(args, kwargs)
    if module.__dict__.get("_is_full_backward_hook") is False:  # PyTorch's deprecated register_backward_hook
        warnings.warn(_NON_FULL_HOOK, FutureWarning, stacklevel=3)
    at = [i for i, a in enumerate(args) if _on_graph(a)]
    # a Tensor argument off the graph shows zeros in grad_input, as in PyTorch
    off = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a._trace is EAGER and a._node is None]
    in_node = None
    if at:
        passed, in_node = _through([args[i] for i in at], INPUT_BOUNDARY)
        args = list(args)
        for i, t in zip(at, passed, strict=True):
            args[i] = t
        args = tuple(args)
    out = call(args, kwargs)
    single = isinstance(out, Tensor)
    outs = [out] if single else list(out) if isinstance(out, tuple | list) else []
    out_at = [i for i, o in enumerate(outs) if _on_graph(o)]
    if not out_at:
        return out
    passed, out_node = _through([outs[i] for i in out_at])
    for i, t in zip(out_at, passed, strict=True):
        outs[i] = t
    seen: dict = {}
    n_args = len(args)

    def full_hooks(grad_input: tuple) -> tuple:
        for hook in (*GLOBAL_BACKWARD_HOOKS.values(), *module._backward_hooks.values()):
            new = hook(module, grad_input, seen["grad_output"])
            if new is not None:
                new = tuple(new) if isinstance(new, tuple | list) else (new,)
                if len(new) != len(grad_input):
                    raise RuntimeError(f"a backward hook of {type(module).__name__} returned {len(new)} "
                                       f"gradients; the module has {len(grad_input)} positional inputs")
                grad_input = new
        return grad_input

    def on_output(grads: tuple) -> tuple:
        grad_output = tuple(grads)
        for hook in (*GLOBAL_BACKWARD_PRE_HOOKS.values(), *module._backward_pre_hooks.values()):
            new = hook(module, grad_output)
            if new is not None:
                new = tuple(new) if isinstance(new, tuple | list) else (new,)
                if len(new) != len(grad_output):
                    raise RuntimeError(f"a backward pre-hook of {type(module).__name__} returned {len(new)} "
                                       f"gradients; the module has {len(grad_output)} outputs")
                grad_output = new
        seen["grad_output"] = grad_output
        if in_node is None:  # no input on the graph: the hooks see only the outputs' gradients
            full_hooks((None,) * n_args)
        return grad_output

    at = at if in_node is not None else []

    def on_input(grads: tuple) -> tuple:
        grad_input = [None] * n_args
        for i in off:
            grad_input[i] = Tensor(np.zeros_like(args[i]._value), EAGER)
        for i, g in zip(at, grads, strict=True):
            grad_input[i] = g
        grad_input = full_hooks(tuple(grad_input))
        return tuple(grad_input[i] for i in at)

    out_node.hooks = [on_output]
    if in_node is not None:
        in_node.hooks = [on_input]
    if single:
        return outs[0]
    return type(out)(outs)


def run_load_pre_hooks(module, state_dict, *args) -> None:
    """Call the ``load_state_dict`` pre-hooks of ``module`` (``args``: its prefix, local
    metadata, strict, and the lists of missing keys, unexpected keys and error messages),
    which may rewrite ``state_dict`` in place."""
    for hook in list((module.__dict__.get("_load_state_dict_pre_hooks") or {}).values()):
        hook(module, state_dict, *args)


def hook_kind(module, full: bool) -> None:
    """Record that ``module`` has backward hooks of the full kind or of the deprecated one;
    PyTorch refuses a module both."""
    if module.__dict__.get("_is_full_backward_hook") is (not full):
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks on a single Module. "
                           "Please use only one of them.")
    module.__dict__["_is_full_backward_hook"] = full


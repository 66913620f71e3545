"""``torch.autograd.functional`` computed as PyTorch computes it, by backward passes of the
eager layer: what :mod:`chainrule.autograd.functional` runs for ``create_graph=True``
(results on the inputs' graph) and ``strict=True`` (PyTorch's errors where an output does
not depend on an input). Each function takes the inputs as a tuple and returns the results
as tuples (per output, per input); the caller gives them PyTorch's structure.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import chainrule.numpy as cnp
from chainrule.core.eager import EAGER, enable_grad, set_grad_enabled
from chainrule.core.eager import grad as autograd_grad
from chainrule.core.tensor import Tensor

__all__ = ["as_tuple", "jacobian", "require_grad", "vjp", "jvp", "vhp", "hvp"]


def as_tuple(value) -> tuple[tuple, bool]:
    """``value`` as a tuple of eager Tensors, and whether it was a tuple (or list) already."""
    given = isinstance(value, tuple | list)
    return tuple(v if isinstance(v, Tensor) else Tensor(np.asarray(v), EAGER)
                 for v in (value if given else (value,))), given


def _zeros(x) -> Tensor:
    return Tensor(np.zeros(x.shape, x.dtype), EAGER)


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    # an input that requires grad stays on its graph when the results should be (a view of
    # it, as PyTorch's); any other is a new leaf
    return tuple(x.view_as(x) if create_graph and x.requires_grad else x.detach().requires_grad_(True)
                 for x in inputs)


def _finish(results: tuple, create_graph: bool) -> tuple:
    return results if create_graph else tuple(r.detach() for r in results)


def _grads(outputs: tuple, inputs: tuple, grad_outputs, create_graph: bool, retain_graph=None) -> tuple:
    """``autograd.grad`` of the outputs that require grad (None for an input they do not reach)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    kept = [(o, g) for o, g in zip(outputs, grad_outputs, strict=True) if o is not None and o.requires_grad]
    if not kept:
        return (None,) * len(inputs)
    outs, gos = zip(*kept, strict=True)
    gos = None if all(g is None for g in gos) else tuple(cnp.ones_like(o) if g is None else g
                                                          for o, g in zip(outs, gos, strict=True))
    return autograd_grad(outs, inputs, gos, retain_graph=retain_graph, create_graph=create_graph,
                         allow_unused=True)


_INDEPENDENT = {
    "back": "The output of the user-provided function is independent of input {i}. This is not allowed in "
            "strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the grad_outputs when "
                  "using the double backward trick to compute forward mode gradients. This is not allowed in "
                  "strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. This is not allowed "
                   "in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} in the "
                         "grad_jacobian. This is not allowed in strict mode as it prevents from using the double "
                         "backward trick to replace forward mode AD.",
}


def _fill(grads: tuple, refs: tuple, strict: bool, create_graph: bool, stage: str) -> tuple:
    """Zeros for the inputs not reached, or PyTorch's error in strict mode."""
    out = []
    for i, (g, ref) in enumerate(zip(grads, refs, strict=True)):
        if g is None:
            if strict:
                raise RuntimeError(_INDEPENDENT[stage].format(i=i))
            g = _zeros(ref)
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of input {i}. This is "
                               "not allowed in strict mode when create_graph=True.")
        out.append(g)
    return tuple(out)


def require_grad(values: tuple, what: str, strict: bool) -> None:
    if not strict:
        return
    for i, v in enumerate(values):
        if v is None:
            raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This is "
                               "not allowed in strict mode.")
        if not v.requires_grad:
            raise RuntimeError({
                "outputs": f"Output {i} of the user-provided function does not require gradients. The outputs "
                           "must be computed in a differentiable manner from the input when running in strict mode.",
                "grad_inputs": f"The gradient with respect to input {i} is independent of the inputs of the "
                               "user-provided function. This is not allowed in strict mode.",
                "jacobian": "While computing the hessian, found that the jacobian of the user-provided function "
                            f"with respect to input {i} is independent of the input. This is not allowed in "
                            "strict mode. You should ensure that your function is twice differentiable and that "
                            "the jacobian depends on the inputs (this would be violated by a linear function for "
                            "example).",
                "hessian": f"The hessian of the user-provided function with respect to input {i} is independent "
                           "of the input. This is not allowed in strict mode. You should ensure that your function "
                           "is thrice differentiable and that the hessian depends on the inputs.",
            }[what])


def _outputs(func: Callable, inputs: tuple, strict: bool) -> tuple[tuple, bool]:
    outputs, given = as_tuple(func(*inputs))
    require_grad(outputs, "outputs", strict)
    return outputs, given


def jacobian(func: Callable, inputs: tuple, create_graph: bool, strict: bool) -> tuple[tuple, bool]:
    """The Jacobian, one backward pass per output element: a tuple per output of a tuple per
    input, and whether the outputs were a tuple.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> (((j,),), _) = jacobian(lambda x: x ** 3, (x,), True, False); j.sum().backward(); x.grad.tolist()
    [6.0, 12.0]
    """
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        outputs, given = _outputs(func, inputs, strict)
        result = []
        for i, out in enumerate(outputs):
            rows = [[] for _ in inputs]
            flat = out.reshape(-1)
            for j in range(flat.shape[0]):
                for k, g in enumerate(_grads((flat[j],), inputs, None, create_graph, retain_graph=True)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is independent of input "
                                               f"{k}. This is not allowed in strict mode.")
                        g = _zeros(inputs[k])
                    elif strict and create_graph and not g.requires_grad:
                        raise RuntimeError(f"The jacobian of the user-provided function is independent of input "
                                           f"{i}. This is not allowed in strict mode when create_graph=True.")
                    rows[k].append(g)
            result.append(_finish(tuple(
                cnp.reshape(cnp.stack(r), out.shape + x.shape) if r else Tensor(np.zeros(out.shape + x.shape,
                                                                                         x.dtype), EAGER)
                for r, x in zip(rows, inputs, strict=True)), create_graph))
    return tuple(result), given


def vjp(func: Callable, inputs: tuple, v, create_graph: bool, strict: bool):
    """``(outputs, vᵀ J)`` as tuples, and whether the outputs were a tuple."""
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        outputs, given = _outputs(func, inputs, strict)
        if v is None and (len(outputs) != 1 or outputs[0].size != 1):
            raise RuntimeError("The vector v can only be None if the user-provided function returns a single "
                               "Tensor with a single element.")
        vs = None if v is None else as_tuple(v)[0]
        result = _fill(_grads(outputs, inputs, vs, create_graph), inputs, strict, create_graph, "back")
    return _finish(outputs, create_graph), _finish(result, create_graph), given


def jvp(func: Callable, inputs: tuple, v, create_graph: bool, strict: bool):
    """``(outputs, J v)`` by the double-backward trick, as PyTorch's."""
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        if v is None and (len(inputs) != 1 or inputs[0].size != 1):
            raise RuntimeError("The vector v can only be None if the input to the user-provided function is a "
                               "single Tensor with a single element.")
        vs = tuple(cnp.ones_like(x) for x in inputs) if v is None else as_tuple(v)[0]
        outputs, given = _outputs(func, inputs, strict)
        dummies = tuple(_zeros(o).requires_grad_() for o in outputs)
        back = _grads(outputs, inputs, dummies, create_graph=True)
        require_grad(back, "grad_inputs", strict)
    with set_grad_enabled(create_graph):
        result = _fill(_grads(back, dummies, vs, create_graph), outputs, strict, create_graph, "back_trick")
    return _finish(outputs, create_graph), _finish(result, create_graph), given


def _gradient(func: Callable, inputs: tuple, create_graph: bool, strict: bool, name: str):
    inputs = _prepare(inputs, create_graph)
    outputs, _ = _outputs(func, inputs, strict)
    if len(outputs) != 1 or outputs[0].size != 1:
        raise RuntimeError(f"{name}: the function given to {name} must return a single Tensor with a single "
                           "element")
    jac = _grads(outputs, inputs, None, create_graph=True)
    require_grad(jac, "jacobian", strict)
    return inputs, outputs, _fill(jac, inputs, strict, create_graph, "back")


def vhp(func: Callable, inputs: tuple, v, create_graph: bool, strict: bool):
    """``(output, vᵀ H)`` of a single-element output."""
    with enable_grad():
        inputs, outputs, jac = _gradient(func, inputs, create_graph, strict, "vhp")
        vs = as_tuple(v)[0]
        result = _fill(_grads(jac, inputs, vs, create_graph), inputs, strict, create_graph, "double_back")
    return _finish(outputs, create_graph)[0], _finish(result, create_graph)


def hvp(func: Callable, inputs: tuple, v, create_graph: bool, strict: bool):
    """``(output, H v)`` of a single-element output, by the double-backward trick."""
    with enable_grad():
        inputs, outputs, jac = _gradient(func, inputs, create_graph, strict, "hvp")
        dummies = tuple(_zeros(x).requires_grad_() for x in inputs)
        back = _grads(jac, inputs, dummies, create_graph=True)
        require_grad(back, "hessian", strict)
    with set_grad_enabled(create_graph):
        vs = as_tuple(v)[0]
        result = _fill(_grads(back, dummies, vs, create_graph), inputs, strict, create_graph, "double_back_trick")
    return _finish(outputs, create_graph)[0], _finish(result, create_graph)

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

import warnings
from collections.abc import Callable

import numpy as np

import chainrule.numpy as cnp
from chainrule.autograd import forward_ad, function, functional, grad_mode, graph
from chainrule.autograd.function import Function, FunctionCtx, once_differentiable
from chainrule.core.anomaly import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_anomaly_mode
from chainrule.core.eager import grad as _eager_grad
from chainrule.core.eager import tensor
from chainrule.core.grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled
from chainrule.core.tensor import Tensor

__all__ = ["grad", "backward", "Function", "FunctionCtx", "forward_ad", "function", "functional", "graph", "grad_mode",
           "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "once_differentiable",
           "Variable", "detect_anomaly", "set_detect_anomaly", "gradcheck", "gradgradcheck", "GradcheckError"]


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None, create_graph: bool = False,
             grad_variables=None, inputs=None) -> None:
    """``torch.autograd.backward``: ``t.backward(g)`` for each Tensor of ``tensors`` (into
    the ``.grad`` of ``inputs`` only, where given).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> backward([x * 2, x.sum()]); x.grad.tolist()
    [3.0, 3.0]
    """
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    grad_tensors = grad_variables if grad_tensors is None else grad_tensors  # PyTorch's older name
    grads = [None] * len(tensors) if grad_tensors is None else (
        [grad_tensors] if isinstance(grad_tensors, Tensor) else list(grad_tensors))
    for k, (t, g) in enumerate(zip(tensors, grads, strict=True)):
        if g is None and t.size != 1:
            g = t.new_ones(t.shape)
        keep = bool(retain_graph) or create_graph or k < len(tensors) - 1
        t.backward(g, retain_graph=keep, create_graph=create_graph, inputs=inputs)



def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple:
    """PyTorch's ``torch.autograd.grad`` (:func:`chainrule.core.eager.grad`); with
    ``is_grads_batched=True`` the first dimension of each of ``grad_outputs`` is a batch of
    them, and each gradient comes back with that dimension in front (one backward pass per
    entry: rows of a Jacobian, as PyTorch's vmap does in one).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> cr.autograd.grad(x ** 2, x, cr.eye(2), is_grads_batched=True)[0].tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """
    if not is_grads_batched:
        return _eager_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, only_inputs, allow_unused,
                           False, materialize_grads)
    several = not isinstance(grad_outputs, Tensor | np.ndarray)
    batches = list(grad_outputs) if several else [grad_outputs]
    if not batches or any(b is None for b in batches):
        raise ValueError("grad(is_grads_batched=True): give grad_outputs, each with the batch dimension first")
    n = len(batches[0])
    if any(len(b) != n for b in batches):
        raise ValueError("grad(is_grads_batched=True): the grad_outputs differ in their batch size")
    rows = [_eager_grad(outputs, inputs, [b[k] for b in batches] if several else batches[0][k],
                        True if k < n - 1 else retain_graph, create_graph, only_inputs, allow_unused, False,
                        materialize_grads) for k in range(n)]
    return tuple(None if col[0] is None else cnp.stack(col) for col in zip(*rows, strict=True))


def Variable(data, requires_grad: bool = False, volatile: bool = False) -> Tensor:
    """PyTorch's legacy ``Variable(t, requires_grad=...)``: a Variable is a Tensor, so this
    is ``t`` itself, or, with ``requires_grad=True``, a leaf sharing its memory that
    requires grad.

    >>> import chainrule as cr
    >>> v = cr.autograd.Variable(cr.ones(2), requires_grad=True); v.requires_grad
    True
    """
    t = data if isinstance(data, Tensor) else tensor(data)
    return t.detach().requires_grad_(True) if requires_grad else t


class set_detect_anomaly:
    """PyTorch's ``torch.autograd.set_detect_anomaly(mode, check_nan=True)``: turns anomaly
    detection (:class:`~chainrule.core.anomaly.detect_anomaly`) on or off from here on, or,
    used as a context manager, until the block ends.

    >>> import chainrule as cr
    >>> with cr.autograd.set_detect_anomaly(True):
    ...     cr.is_anomaly_enabled()
    True
    >>> cr.is_anomaly_enabled()
    False
    """

    def __init__(self, mode: bool, check_nan: bool = True):
        self._before = (is_anomaly_enabled(), is_anomaly_check_nan_enabled())
        set_anomaly_mode(mode, check_nan)

    def __enter__(self) -> set_detect_anomaly:
        return self

    def __exit__(self, *exc) -> None:
        set_anomaly_mode(*self._before)


class GradcheckError(RuntimeError):
    """What :func:`gradcheck` raises where the derivatives disagree with finite differences."""


def gradcheck(func: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False, masked: bool | None = None) -> bool:
    """PyTorch's ``torch.autograd.gradcheck``: the Jacobian of ``func`` at ``inputs`` (the
    Tensors among them that require grad), computed by backward passes, against central
    finite differences with step ``eps``; each entry must satisfy
    ``|analytical - numerical| <= atol + rtol * |numerical|``. Returns True, or raises
    :class:`GradcheckError` (returns False with ``raise_exception=False``). Use float64.

    >>> import chainrule as cr
    >>> x = cr.tensor([0.3, -1.2], dtype=cr.float64, requires_grad=True)
    >>> cr.autograd.gradcheck(lambda t: (t.tanh() * t).sum(), (x,))
    True
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: none of the inputs requires grad; make them with requires_grad=True")
    for i in checked:
        if inputs[i].dtype != np.float64 and inputs[i].dtype != np.complex128:
            warnings.warn(f"gradcheck: input {i} requires grad and is not a double precision floating point "
                          "tensor; finite differences in float32 are not precise enough", stacklevel=2)

    def outputs(args) -> list:
        out = func(*args)
        out = out if isinstance(out, tuple | list) else (out,)
        return [o for o in out if isinstance(o, Tensor)]

    with no_grad():
        base = outputs(inputs)
    for i in checked:
        x = inputs[i]
        values = np.array(x.detach().numpy(), dtype=x.dtype, copy=True)
        numerical = [np.zeros((x.numel(), o.numel())) for o in base]
        for j in range(values.size):
            shifted = []
            for step in (eps, -eps):
                moved = values.copy()
                moved.flat[j] += step
                args = list(inputs)
                args[i] = tensor(moved)
                with no_grad():
                    shifted.append([np.asarray(o.detach().numpy(), dtype=np.float64).ravel() for o in outputs(args)])
            for n, (plus, minus) in enumerate(zip(*shifted, strict=True)):
                numerical[n][j] = (plus - minus) / (2 * eps)
        analytical = [np.zeros_like(m) for m in numerical]
        outs = outputs(inputs)
        for n, o in enumerate(outs):
            if not o.requires_grad:
                continue
            flat = o.reshape(-1)
            for m in range(flat.numel()):
                (g,) = grad(flat[m], inputs[i], retain_graph=True, allow_unused=True)
                if g is not None:
                    analytical[n][:, m] = np.asarray(g.numpy(), dtype=np.float64).ravel()
        for n in range(len(outs)):
            if not np.allclose(analytical[n], numerical[n], rtol=rtol, atol=atol):
                message = (f"Jacobian mismatch for output {n} with respect to input {i},\n"
                           f"numerical:{numerical[n]}\nanalytical:{analytical[n]}\n")
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def gradgradcheck(func: Callable, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False, masked: bool = False) -> bool:
    """PyTorch's ``torch.autograd.gradgradcheck``: :func:`gradcheck` of the gradient of
    ``func`` (taken with ``create_graph=True``, weighted by ``grad_outputs``, random
    float64 ones by default) with respect to the inputs that require grad and to the
    ``grad_outputs``: second derivatives against finite differences of first ones.

    >>> import chainrule as cr
    >>> x = cr.tensor([0.3, -1.2], dtype=cr.float64, requires_grad=True)
    >>> cr.autograd.gradgradcheck(lambda t: t.sin() * t, (x,))
    True
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is None:
        with no_grad():
            made = func(*inputs)
        made = made if isinstance(made, tuple | list) else (made,)
        rng = np.random.default_rng(0)
        grad_outputs = tuple(tensor(rng.standard_normal(o.shape), dtype=o.dtype, requires_grad=True)
                             for o in made if isinstance(o, Tensor))
    else:
        grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
    n = len(inputs)
    wrt = [k for k, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]

    def first_derivatives(*args):
        with enable_grad():  # also where gradcheck moves an input by eps (a constant, under no_grad)
            xs = [a if k not in wrt or a.requires_grad else a.detach().requires_grad_(True)
                  for k, a in enumerate(args[:n])]
            outs = func(*xs)
            outs = outs if isinstance(outs, tuple | list) else (outs,)
            return _eager_grad(list(outs), [xs[k] for k in wrt], list(args[n:]), create_graph=True,
                               allow_unused=True, materialize_grads=True)

    return gradcheck(first_derivatives, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol)

"""``torch.func``'s API on chainrule's transforms, so that code written for it runs with
``import chainrule.func as func`` in place of ``import torch.func as func``:
``functional_call``, ``stack_module_state``, ``grad``, ``grad_and_value``, ``vjp``,
``jvp``, ``jacrev``, ``jacfwd``, ``hessian``, ``vmap`` (``in_dims``/``out_dims``),
``linearize``, ``replace_all_batch_norm_modules_``, ``functionalize`` and ``debug_unwrap``.

The model is called with parameters and buffers given as dicts by their dotted names,
which the transforms differentiate and batch:

>>> import numpy as np
>>> from chainrule import nn
>>> import chainrule.nn.functional as F
>>> model = nn.Linear(3, 1, dtype=np.float64)
>>> params = {k: v.detach() for k, v in model.named_parameters()}
>>> def loss(params, x, y):
...     return F.mse_loss(functional_call(model, params, (x[None],)), y[None])
>>> x, y = np.ones((5, 3)), np.zeros((5, 1))
>>> per_example = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
>>> per_example["weight"].shape
torch.Size([5, 1, 3])

Random draws under ``vmap`` (dropout, ``torch.rand``...) follow PyTorch's ``randomness``:
``"error"`` (the default) refuses them, ``"different"`` gives each example its own,
``"same"`` shares one draw among the examples.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from chainrule.core.eager import EAGER
from chainrule.core.eager_backward import torch_convention
from chainrule.core.errors import TensorError, TensorTypeError
from chainrule.core.pytree import tree_leaves, tree_map
from chainrule.core.rng import map_randomness
from chainrule.core.tensor import Tensor
from chainrule.nn.layers import _BatchNorm
from chainrule.nn.module import Module
from chainrule.nn.utils.stateless import call_with_values
from chainrule.numpy.torch_common import pytorch_meaning
from chainrule.transforms import forward, jacobian, reverse
from chainrule.transforms import vmap as batching

__all__ = ["functional_call", "stack_module_state", "grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd",
           "hessian", "vmap", "linearize", "replace_all_batch_norm_modules_", "functionalize", "debug_unwrap"]


def functional_call(module: Module, parameter_and_buffer_dicts: Mapping | Sequence[Mapping], args: Any = (),
                    kwargs: Mapping | None = None, *, tie_weights: bool = True, strict: bool = False) -> Any:
    """``module(*args, **kwargs)`` with its parameters and buffers replaced by the values
    in ``parameter_and_buffer_dicts`` (a dict by dotted name, or a tuple of dicts), as
    ``torch.func.functional_call``; the module itself is left as it was. With
    ``tie_weights`` (the default), a value given for one name of tied weights
    (``decoder.weight = encoder.weight``) is used for all of them; ``strict`` refuses a
    call that does not give every parameter and buffer."""
    return call_with_values(module, parameter_and_buffer_dicts, args, kwargs, strict, tie_weights)


def stack_module_state(models: Sequence[Module]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """(parameters, buffers) of several models of the same structure, each name's
    arrays stacked along a new first axis: for ``vmap`` over an ensemble."""
    if not models:
        raise TensorError("stack_module_state: Expected at least one model, got 0.")

    def stacked(named):
        names = [n for n, _ in named(models[0])]
        out = {}
        for name in names:
            members = [dict(named(m))[name] for m in models]
            arrays = [np.asarray(t.detach().numpy()) for t in members]
            if len({a.shape for a in arrays}) != 1:
                raise TensorError(f"stack_module_state: {name!r} has different shapes in the models: "
                                  f"{sorted({a.shape for a in arrays})}")
            out[name] = Tensor(np.stack(arrays), EAGER)
            if all(t.requires_grad for t in members):  # as PyTorch: a leaf to train the ensemble by
                out[name].requires_grad_(True)
        return out

    return (stacked(lambda m: m.named_parameters()), stacked(lambda m: m.named_buffers()))


def _as_tensors(tree: Any) -> Any:
    """``tree`` with its NumPy arrays and scalars as (eager) Tensors: torch.func's
    transforms give Tensors, whatever path a derivative took through the library (under
    ``chainrule.jit``, values that stand for such arrays stand for those Tensors)."""
    def as_tensor(v):
        if isinstance(v, np.ndarray | np.generic):
            return Tensor(np.asarray(v), EAGER)
        return v._trace.as_eager(v) if isinstance(v, Tensor) and v._trace.records else v

    return tree_map(as_tensor, tree)


def _returning_tensors(func: Callable, name: str, has_aux: bool = False, *, scalar: bool = False,
                       floating: bool = False) -> Callable:
    """``func``, refusing (as torch.func does) an output that is not made of Tensors
    (arrays pass too): a Python number returned where a Tensor was meant is a mistake;
    with ``scalar``, one that is not 0-d (``grad``'s), with ``floating``, one of an integer
    or boolean dtype (whose zero derivative the reverse-mode transforms would give)."""
    @functools.wraps(func)
    def returning_tensors(*args, **kwargs):
        out = func(*args, **kwargs)
        main = out[0] if has_aux and isinstance(out, tuple | list) and len(out) == 2 else out
        for leaf in tree_leaves(main) if main is not None else [None]:
            if not isinstance(leaf, Tensor | np.ndarray | np.generic):
                raise TensorTypeError(f"{name}: expected {getattr(func, '__name__', 'the function')} to return "
                                      f"only Tensors, got {type(leaf).__name__} ({leaf!r}); return a Tensor "
                                      "(torch.tensor(value)) instead")
            if scalar and np.ndim(leaf) != 0:
                raise TensorTypeError(f"{name}: expected {getattr(func, '__name__', 'the function')} to return a "
                                      f"scalar output (a 0-d Tensor), got one of shape {tuple(np.shape(leaf))}; "
                                      "reduce it (.sum()) or use the vjp or jacrev APIs instead")
            if floating and np.dtype(leaf.dtype).kind not in "fc":
                raise TensorTypeError(f"{name}: all outputs of {getattr(func, '__name__', 'the function')} must be "
                                      f"floating-point or complex Tensors, got one of dtype {leaf.dtype}; an integer "
                                      "or boolean result has no derivative")
        return out

    return returning_tensors


def _refusing_integers(transformed: Callable, argnums: Any, error: type[Exception] = TensorTypeError) -> Callable:
    """``transformed``, refusing as torch.func does Tensors of integer or boolean dtype
    among the arguments it differentiates (``argnums``; None: all)."""
    @functools.wraps(transformed)
    def refusing_integers(*args, **kwargs):
        nums = range(len(args)) if argnums is None else reverse.normalize_argnums(argnums, len(args))
        for i in nums:
            for leaf in tree_leaves(args[i]):
                if isinstance(leaf, Tensor) and np.dtype(leaf.dtype).kind not in "fc":
                    raise error(f"only Tensors of floating point and complex dtype can be differentiated, but "
                                f"argument {i} holds one of {leaf.dtype}; convert it with .float() first")
        return transformed(*args, **kwargs)

    return refusing_integers


def _giving_tensors(transformed: Callable) -> Callable:
    """``transformed`` as torch.func's transforms are: it differentiates eager Tensors that
    require grad on their graph (so that a loss made of a gradient backpropagates through
    it, as MAML's does), runs the code with PyTorch's meaning of the methods (``x.sort()``,
    ``x.max(0)``: :func:`~chainrule.numpy.torch_common.pytorch_meaning`) and gives Tensors."""
    @functools.wraps(transformed)
    def giving_tensors(*args, **kwargs):
        with reverse.on_eager_graph(), pytorch_meaning():
            return _as_tensors(transformed(*args, **kwargs))

    return giving_tensors


def _noting_changes(func: Callable, has_aux: bool) -> Callable:
    """``func`` returning ``(output, (aux, changed))`` for a transform's ``has_aux``:
    arguments it changes in place are taken out of the forward-mode transforms (whose
    aux is not differentiated) to be written back, as torch.func's ``jvp`` and ``jacfwd``
    do; the reverse-mode ones refuse such a change, as PyTorch does."""
    @functools.wraps(func)
    def noting_changes(*args, **kwargs):
        out, changed = batching.call_noting_changes(func, args, kwargs)
        output, aux = reverse.unwrap_aux(out, has_aux, func)
        return output, (aux, changed)

    return noting_changes


def _nonempty(argnums: int | tuple[int, ...]) -> int | tuple[int, ...]:
    """``argnums``, refused as torch.func refuses it where it names no argument (``()``)."""
    if isinstance(argnums, tuple | list) and not argnums:
        raise TensorError("argnums must be non-empty: name the argument(s) to differentiate, argnums=0 or (0, 1)")
    return argnums


def _in_torch_convention(tree: Any) -> Any:
    """Complex gradients (or cotangents) in ``tree`` as PyTorch has them, from chainrule's
    transforms' (JAX's) or back: their conjugates (``∂L/∂x + i ∂L/∂y`` for a real ``L`` of
    ``x + iy``, which a descent step subtracts), as ``.grad`` of the eager layer."""
    return tree_map(torch_convention, tree)


def _gradient_in_torch_convention(transformed: Callable, has_aux: bool) -> Callable:
    """``transformed`` (a gradient or Jacobian transform) with its complex gradients in
    PyTorch's convention; with ``has_aux``, the aux as it is."""
    @functools.wraps(transformed)
    def in_torch_convention(*args, **kwargs):
        out = transformed(*args, **kwargs)
        return (_in_torch_convention(out[0]), out[1]) if has_aux else _in_torch_convention(out)

    return in_torch_convention


def grad(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """The gradient of a scalar ``func`` (``(gradient, aux)`` with ``has_aux``); that of a
    complex argument in PyTorch's convention, as ``.grad``."""
    checked = _returning_tensors(func, "grad(f)(*args)", has_aux, scalar=True)
    gradient = _gradient_in_torch_convention(reverse.grad(checked, _nonempty(argnums), has_aux), has_aux)
    return _refusing_integers(_giving_tensors(gradient), argnums)


def grad_and_value(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """``(gradient, value)`` — PyTorch's order; with ``has_aux``, ``(gradient, (value, aux))``."""
    both = reverse.value_and_grad(_returning_tensors(func, "grad_and_value(f)(*args)", has_aux, scalar=True),
                                  _nonempty(argnums), has_aux)

    def grad_and_value_fun(*args, **kwargs):
        value, gradient = both(*args, **kwargs)
        return _in_torch_convention(gradient), value

    return _refusing_integers(_giving_tensors(grad_and_value_fun), argnums)


def vjp(func: Callable, *primals, has_aux: bool = False):
    """``(output, vjp_fn)`` (and ``aux``); ``vjp_fn(cotangent)`` gives a tuple, one per primal.
    Complex cotangents, given and returned, are in PyTorch's convention, as ``.grad``."""
    checked = _returning_tensors(func, "vjp(f, *primals)", has_aux, floating=True)
    with reverse.on_eager_graph(), pytorch_meaning():
        output, vjp_fn, *aux = _refusing_integers(functools.partial(reverse.vjp, checked, has_aux=has_aux),
                                                  None)(*primals)

    @functools.wraps(vjp_fn)
    def vjp_fn_in_torch_convention(*cotangents, **kwargs):
        return _in_torch_convention(vjp_fn(*_in_torch_convention(cotangents), **kwargs))

    return (_as_tensors(output), _giving_tensors(vjp_fn_in_torch_convention), *_as_tensors(aux))


def jvp(func: Callable, primals: Sequence, tangents: Sequence, *, strict: bool = False, has_aux: bool = False):
    """``(output, J · tangents)`` (and ``aux``)."""
    if not isinstance(primals, tuple | list):  # refused, before the integers among them are looked for
        return forward.jvp(func, primals, tangents)
    checked = _noting_changes(_returning_tensors(func, "jvp(f, primals, tangents)", has_aux), has_aux)

    def jvp_at(*at):
        for leaf in tree_leaves(tangents):  # (after the primals' check, as torch.func's order)
            if isinstance(leaf, Tensor) and np.dtype(leaf.dtype).kind not in "fc":
                raise TensorError(f"jvp: Expected tangent to be floating point or complex, but got: {leaf.dtype}; "
                                  "convert it with .double() or .float()")
        return forward.jvp(checked, at, tangents, has_aux=True)

    jvp_at = _refusing_integers(jvp_at, None, TensorError)
    out, tangent, (aux, changed) = _giving_tensors(jvp_at)(*primals)
    batching.write_back(tuple(primals), changed)
    return (out, tangent, aux) if has_aux else (out, tangent)


def jacrev(func: Callable, argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False,
           chunk_size: int | None = None, _preallocate_and_copy: bool = False) -> Callable:
    """The Jacobian by reverse mode (one vjp per output element, batched: ``chunk_size``
    is checked, as PyTorch checks it, and changes nothing). Where torch.func refuses
    complex inputs, each row of a real output's Jacobian is their gradient, as ``grad``'s."""
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")
    checked = _returning_tensors(func, "jacrev(f)(*args)", has_aux, floating=True)
    rows = _gradient_in_torch_convention(jacobian.jacrev(checked, _nonempty(argnums), has_aux), has_aux)
    return _refusing_integers(_giving_tensors(rows), argnums)


def jacfwd(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable:
    """The Jacobian by forward mode (one jvp per input element, batched)."""
    batching.check_randomness(randomness)
    checked = _noting_changes(_returning_tensors(func, "jacfwd(f)(*args)", has_aux), has_aux)
    jacfwd_fun = _refusing_integers(_giving_tensors(jacobian.jacfwd(checked, _nonempty(argnums), True)), argnums,
                                    TensorError)

    @functools.wraps(func)
    def jacfwd_with_randomness(*args, **kwargs):  # the forward pass is mapped over the input's directions
        with map_randomness(None, randomness):
            jac, (aux, changed) = jacfwd_fun(*args, **kwargs)
        batching.write_back(args, changed)
        return (jac, aux) if has_aux else jac

    return jacfwd_with_randomness


def hessian(func: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """The Hessian (forward over reverse)."""
    checked = _returning_tensors(func, "hessian(f)(*args)", floating=True)
    return _refusing_integers(_giving_tensors(jacobian.hessian(checked, _nonempty(argnums))), argnums, TensorError)


def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """``func`` over a batch: ``in_dims``/``out_dims`` as ``vmap``'s ``in_axes``/``out_axes``.
    As in torch.func (and unlike JAX), keyword arguments are passed to every example
    unbatched, and random draws inside follow ``randomness``: ``"error"`` refuses them,
    ``"different"`` draws per example, ``"same"`` once for all."""
    mapped = batching.torch_vmap(func, in_dims, out_dims, randomness, chunk_size=chunk_size)

    @functools.wraps(func)
    def giving_tensors(*args, **kwargs):
        with pytorch_meaning():
            return _as_tensors(mapped(*args, **kwargs))

    return giving_tensors


def linearize(func: Callable, *primals) -> tuple[Any, Callable]:
    """``(func(*primals), jvp_fn)``, ``jvp_fn(*tangents)`` the directional derivative at
    ``primals`` (torch.func's ``linearize``)."""
    with pytorch_meaning():
        output, jvp_fn = forward.linearize(func, *primals)

    @functools.wraps(jvp_fn)
    def jvp_fn_of_primals_dtypes(*tangents):
        # (tangents of another structure: the transform's own error)
        for i, (primal, tangent) in enumerate(zip(tree_leaves(primals), tree_leaves(tangents), strict=False)):
            if hasattr(primal, "dtype") and hasattr(tangent, "dtype") and tangent.dtype != primal.dtype:
                raise TensorError(f"linearize: tangent:{i} with dtype {tangent.dtype} in flattened pytree doesn't "
                                  f"match the dtype {primal.dtype} of the corresponding primal; give tangents of "
                                  "the primals' dtypes")
        return jvp_fn(*tangents)

    return _as_tensors(output), _giving_tensors(jvp_fn_of_primals_dtypes)


def replace_all_batch_norm_modules_(root: Module) -> Module:
    """Every batch norm in ``root`` (itself included) made to track no running statistics,
    in place, as torch.func's: ``running_mean``, ``running_var`` and
    ``num_batches_tracked`` become None and ``track_running_stats`` False, so that each
    call normalises by its own batch's statistics and writes no buffer (under ``vmap``,
    every example or task its own: functorch's MAML). Returns ``root``."""
    for module in root.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root


_REMOVE = ("mutations", "mutations_and_views")


def functionalize(func: Callable, *, remove: str = "mutations") -> Callable:
    """``func`` as torch.func's ``functionalize`` makes it: with the same results and the
    same changes to its arguments. Inside chainrule's transforms a Tensor changed in place
    already takes on the new value (there is no aliasing graph to rewrite), so this checks
    ``remove`` as PyTorch does and returns ``func`` wrapped unchanged, for code written
    for torch.func."""
    if remove not in _REMOVE:
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument for remove={remove}. "
                           "Valid options are:\n     remove='mutations': all inplace and out= operators will be "
                           "removed from the program, and replaced with their out-of-place equivalents.\n"
                           "     remove='mutations_and_views': In addition to the above, all aliasing operators "
                           "{view} will be replaced with their non-aliasing counterparts, {view}_copy.\n")

    @functools.wraps(func)
    def functionalized(*args, **kwargs):
        return func(*args, **kwargs)

    return functionalized


def debug_unwrap(tensor: Any, *, recurse: bool = True) -> Any:
    """The value under a transform's Tensor, for debugging, as torch.func's: inside
    ``vmap`` the whole batch (with its batch axis), inside ``grad`` the value without its
    derivative; ``recurse`` goes through every transform (else one). Anything else
    (an eager Tensor, a number) is returned as it is."""
    if not isinstance(tensor, Tensor) or tensor._trace is EAGER:
        return tensor
    value = tensor._value
    while recurse and isinstance(value, Tensor) and value._trace is not EAGER:
        value = value._value
    return value if isinstance(value, Tensor) else Tensor(np.asarray(value), EAGER)

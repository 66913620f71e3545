"""The eager layer: PyTorch-like Tensors with ``.backward()`` on the same engine.

An eager Tensor that requires grad carries an :class:`EagerNode`; every primitive call
on it records one more node linked to its parents, and ``backward()`` sorts the graph
below the output and runs the same vjp rules as the functional transforms.

In-place operations follow PyTorch's rule, and no gradient is ever wrong:

* on a Tensor that is part of a recorded graph, ``x += y`` records ``x + y`` and rebinds
  ``x`` to it (the values saved by the graph are left intact);
* on a Tensor without a graph (a constant, or a parameter inside ``no_grad()``), the
  buffer is written in place;
* either way the write is counted (the version of ``x`` and of the Tensors sharing its
  memory goes up, chainrule.core.versions), and a backward pass through a node whose
  rules read the value from before the write raises an error naming that node's
  operation, as PyTorch's does.
"""

from __future__ import annotations

import sys
import warnings
import weakref
from collections import deque
from collections.abc import Callable

import numpy as np

from chainrule.core.dtypes import (
    _DEFAULT_DTYPE,
    as_dtype,
    check_cpu,
    default_complex_dtype,
    default_float_dtype,
    get_default_dtype,
    sequence_dtype,
    set_default_dtype,
    wrapped_int,
)
from chainrule.core.eager_backward import (  # noqa: F401  (the eager layer's names, imported from here too)
    HookHandle,
    backward,
    eager_backward_pass,
    grad,
    nested_backward,
    queue_callback,
    register_hook,
    register_post_accumulate_grad_hook,
    retain_grad,
    retains_grad,
)
from chainrule.core.errors import TensorTypeError, eager_error, not_eager_error
from chainrule.core.grad_mode import (  # noqa: F401  (PyTorch's grad modes, imported from here too)
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    pytorch_meaning_on,
    set_grad_enabled,
)
from chainrule.core.paused import PausedReverseTrace, set_transforms_grad_mode
from chainrule.core.rng import randomness_of
from chainrule.core.tensor import Tensor, undifferentiated
from chainrule.core.trace import (
    EAGER,
    INFERENCE_MADE,
    INFERENCE_MODE,
    LEAF,
    EagerNode,
    ReverseTrace,
    grad_enabled,
    quiet_numpy,
    register_view,
    restore_numpy,
)
from chainrule.core.values import plain
from chainrule.core.versions import (  # noqa: F401  (the eager layer's names, imported from here too)
    count_write,
    overlap_error,
    overlaps,
    recorded_write,
    write,
    write_part,
)
from chainrule.core.views import live_views, replay

__all__ = [
    "tensor", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "set_default_dtype", "get_default_dtype", "default_float_dtype", "backward", "grad", "queue_callback", "EAGER",
    "zero_grad_in_place", "overlaps", "overlap_error", "count_write", "as_it_is",
]

def _takes_default_dtype(data) -> bool:
    """Whether ``data`` (nested lists, tuples) holds a Python float or complex number (a
    NumPy scalar, np.float64 a subclass of float, keeps its dtype, as in PyTorch), or no
    number at all (``[]``, ``[[], []]``: PyTorch's default dtype too)."""
    if isinstance(data, float | complex):
        return not isinstance(data, np.generic)
    if isinstance(data, list | tuple):
        return not data or any(_takes_default_dtype(v) for v in data)
    return False


def tensor(data, requires_grad: bool = False, dtype=None, device=None) -> Tensor:
    """An eager Tensor holding a copy of ``data``. Python floats become float64 (NumPy's
    rule) or the dtype set with :func:`set_default_dtype`; arrays keep their dtype.

    >>> import chainrule as cr
    >>> x = cr.tensor([[1.0, 2.0]], requires_grad=True)
    >>> x.shape, x.dtype
    (torch.Size([1, 2]), dtype('float64'))
    """
    check_cpu(device, "tensor")
    value = data.primal() if isinstance(data, Tensor) else data
    try:
        return _new_tensor(value, requires_grad, dtype)
    except TypeError:  # Tensors on a graph in a list: torch.tensor copies their values
        if not _holds_graph_tensor(value):
            raise
    warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
                  "Consider using tensor.detach() first.", UserWarning, stacklevel=2)
    return _new_tensor(_values_of(value), requires_grad, dtype)


def _holds_graph_tensor(data) -> bool:
    """Whether ``data`` (nested lists, tuples, deques) holds an eager Tensor that requires grad."""
    if isinstance(data, Tensor):
        return data._trace is EAGER and data._node is not None
    return isinstance(data, list | tuple | deque) and any(_holds_graph_tensor(v) for v in data)


def _values_of(data):
    """``data`` with its eager Tensors that require grad replaced by their values."""
    if isinstance(data, Tensor):
        return data._value if data._trace is EAGER else data
    return [_values_of(v) for v in data] if isinstance(data, list | tuple | deque) else data


def _new_tensor(value, requires_grad: bool, dtype) -> Tensor:
    given = type(value).__name__
    if dtype is None:
        dtype = sequence_dtype(value)
    if dtype is None and _DEFAULT_DTYPE[0] is not None and _takes_default_dtype(value):
        value = np.array(value)
        if value.dtype.kind == "f":
            value = value.astype(_DEFAULT_DTYPE[0])
        elif value.dtype.kind == "c":
            value = value.astype(default_complex_dtype())
    else:
        value = np.array(value, dtype=as_dtype(dtype))
    if value.dtype == object:
        raise TypeError(f"tensor(): cannot make a numeric array from {given}")
    t = Tensor(value, EAGER)
    if requires_grad:
        set_requires_grad(t, True)
    return t


# The hooks of a leaf (register_hook, register_post_accumulate_grad_hook) belong to the
# Tensor, as in PyTorch: switching requires_grad off and on again (a GAN freezing its
# discriminator for the generator's step) keeps them. They live on the leaf's node, which
# switching off drops; kept here, by id, while it is off (until the Tensor is freed).
_LEAF_HOOKS: dict[int, list] = {}


def set_requires_grad(t: Tensor, flag: bool) -> None:
    if t._trace is not EAGER:
        raise not_eager_error(t, "requires_grad", "use chainrule.grad here")
    if flag:
        if getattr(t, "_inference", False) and not INFERENCE_MODE.enabled:
            raise RuntimeError("Setting requires_grad=True on inference tensor outside InferenceMode is not "
                               "allowed (it was made inside inference_mode()); make a clone (x.clone()) first")
        if t._node is None:
            kind = np.result_type(t._value).kind
            if kind not in "fc":
                raise TensorTypeError(
                    f"only Tensors of floating point and complex dtype can require gradients, not "
                    f"{np.result_type(t._value)}; convert with .float() (or .astype(float)) first"
                )
            node = EagerNode(None, (), None, None, None)
            node.tensor_ref = weakref.ref(t)
            node.stamp = EAGER.clock
            node.hooks = _LEAF_HOOKS.get(id(t))
            t._node = node
            # whether operations on it record a graph is grad mode's: read, so that a call
            # chainrule.jit records (cr.tensor(x, requires_grad=True) inside) is keyed on it
            is_grad_enabled()
    elif t._node is not None:
        if t._node.prim is not None:
            raise RuntimeError(
                "requires_grad can be switched off only on a leaf Tensor; use .detach() "
                "for a copy of a computed Tensor without its graph"
            )
        if t._node.hooks:
            if id(t) not in _LEAF_HOOKS:
                weakref.finalize(t, _LEAF_HOOKS.pop, id(t), None)
            _LEAF_HOOKS[id(t)] = t._node.hooks
        t._node = None


# -- in-place operations --------------------------------------------------------------
def _check_inference(t: Tensor, name: str) -> None:
    """PyTorch's refusal of a write into an inference Tensor outside inference mode."""
    if getattr(t, "_inference", False) and not INFERENCE_MODE.enabled:
        raise RuntimeError(
            f"{name}: Inplace update to inference tensor outside InferenceMode is not allowed (it was made "
            "inside inference_mode()). You can make a clone to get a normal tensor before doing inplace "
            "update (x = x.clone())."
        )


def _check_leaf(t: Tensor, name: str) -> None:
    if t._node is not None and t._node.prim is None:
        raise RuntimeError(
            f"{name}: a leaf Tensor that requires grad cannot be modified in place while "
            "operations are recorded. Update it inside `with chainrule.no_grad():` (as "
            "optimizers do), or use an out-of-place operation (x = x + y)."
        )


def _records(t: Tensor, other) -> bool:
    """Whether ``t`` or ``other`` (a Tensor, or a tuple or list of operands, as
    ``clamp_(min, max)`` passes) is on a graph while recording is on."""
    if not grad_enabled():
        return False
    if t._node is not None:
        return True
    if isinstance(other, list | tuple):
        return any(isinstance(v, Tensor) and v._node is not None for v in other)
    return isinstance(other, Tensor) and other._node is not None


def _of_a_transform(value) -> bool:
    """True for a value of a functional transform's trace (grad, jvp, vmap), or a tuple or
    list holding one: written into an eager Tensor, it makes the Tensor that trace's value
    (writing its plain value would drop its derivative silently)."""
    if isinstance(value, list | tuple):
        return any(_of_a_transform(v) for v in value)
    return isinstance(value, Tensor) and value._trace is not EAGER and not value._trace.records


def _torch_maps(value) -> set:
    """The traces of torch.func's vmaps (``torch.vmap``, ``chainrule.func.vmap``: those given
    a ``randomness``) that batch ``value`` (a Tensor, or a tuple or list of them)."""
    if isinstance(value, list | tuple):
        return set().union(*map(_torch_maps, value)) if value else set()
    found = set()
    while isinstance(value, Tensor):
        if value._trace.batches and randomness_of(value._trace) is not None:
            found.add(value._trace)
        value = value._value
    return found


def _refuse_batched_into_unbatched(t: Tensor, other, name: str) -> None:
    """A batched ``other`` of torch.func's vmap written in place into ``t``, which that vmap
    does not batch (a Tensor made or captured outside each example's computation): refused,
    as torch.func refuses it. (``chainrule.vmap``, JAX's, makes ``t`` take on the batch.)"""
    if _torch_maps(other) - _torch_maps(t):
        raise RuntimeError(
            f"vmap: {name}(self, *extra_args) is not possible because there exists a Tensor `other` in "
            "extra_args that has more elements than `self`. This happened due to `other` being vmapped over "
            "but `self` not being vmapped over in a vmap (a Tensor created or captured outside the example's "
            "computation cannot hold every example's value). Use the out-of-place form instead "
            f"(y = y + x, or torch.where / index_put for an indexed write).")


def _take_on(t: Tensor, result: Tensor) -> None:
    """``t`` becomes ``result`` (its value, trace, node and forward-mode tangent, and the
    kind of Tensor its trace makes: a vmap's reads its shape without the batch axis)."""
    if type(t) is not type(result):
        for kind in type(result).__mro__:  # the nearest kind with t's memory layout
            try:
                t.__class__ = kind
                break
            except TypeError:
                continue
    t._value, t._trace, t._node = result._value, result._trace, result._node
    if hasattr(result, "_tangent"):
        t._tangent = result._tangent


def zero_grad_in_place(p: Tensor) -> None:
    """``p.grad`` made zeros as PyTorch's ``zero_grad(set_to_none=False)`` does: in place, so
    that a reference to it (or the bucket of gradients it is a view of) sees the zeros; a
    gradient on a graph (made with create_graph) is first taken off it in place, the same
    object (PyTorch's ``p.grad.detach_()``, or ``requires_grad_(False)`` on a leaf)."""
    g = p.grad
    if g._trace is EAGER:
        if g._node is not None:
            if g._node.prim is None:
                set_requires_grad(g, False)
            else:
                detach_(g)
        write(g, np.zeros(g.shape, dtype=g.dtype), "zero_grad")
    else:
        p.grad = Tensor(np.zeros_like(np.asarray(g.primal())), EAGER)


def inplace(t: Tensor, op: Callable, other, name: str, augmented: bool = False) -> Tensor:
    """``t <op>= other``, by the rules in this module's docstring (``augmented``: Python's
    ``t += other``, not a method such as ``add_``)."""
    if t._trace.records:  # chainrule.jit: written, as NumPy would (PyTorch on eager Tensors), and recorded
        return t._trace.inplace(t, op, other, name)
    wrapped = wrapped_int(other, t.dtype)  # uint8 -= 300 is uint8 -= 44, as PyTorch's
    if wrapped is not None:
        other = wrapped
    if INFERENCE_MADE[0]:
        _check_inference(t, name)
    if t._trace is not EAGER:
        # inside a transform (grad, jvp, vmap) the Tensor takes on the result, so that every
        # name for it sees the change, as for a NumPy array (y.add_(1) returns nothing used)
        result = op(as_it_is(t), other)
        if augmented and not _writable_as_numpy(t, result):
            return result  # s += v of a scalar, or one that broadcasts: rebinds, as NumPy's scalars (and autograd)
        _refuse_batched_into_unbatched(t, other, name)
        result = _fits(t, result, name)
        if result.dtype != t.dtype:  # float32 += float64 stays float32, as in NumPy and PyTorch
            result = result.astype(t.dtype)
        if not isinstance(result, Tensor) or result._trace.level < t._trace.level:
            result = t.at[...].set(result)  # a constant (zero_, fill_): a value of t's transform still
        _changed_in_transform(t, result, name)
        return t
    if _of_a_transform(other) or _on_graph(t, other):
        _refuse_batched_into_unbatched(t, other, name)
        _check_leaf(t, name)
        # (the operand is t as it is now, so the nodes the operation records, which read this
        # value, are not taken for readers of what t holds after a later write)
        recorded_write(t, other, name, lambda: _commit(t, _fits(t, op(as_it_is(t), other), name), name))
        return t
    quiet = quiet_numpy()  # (silent about inf and nan, as the eager operations are)
    try:
        result = op(plain(t), plain(other))
    except (TypeError, ValueError) as error:  # as the operation raises out of place (PyTorch's RuntimeError)
        raise eager_error(name, error, (t, other)) from None
    finally:
        restore_numpy(quiet)
    write(t, _fits(t, result, name), name)
    return t


def as_it_is(t: Tensor) -> Tensor:
    """A new Tensor for ``t``'s present value (its value, trace, node and tangent), the
    operand of an in-place change that ``t`` then takes on: a transform above ``t``'s trace
    keeps such an operand as a constant that its derivative reads (``o.mul_(x)``'s in ``x``
    is ``o`` before the change), which must not become ``t``'s new value; and the nodes the
    change records read it, not ``t``, whose later writes they did not see."""
    before = Tensor(t._value, t._trace, t._node)
    _take_on(before, t)
    return before


def _writable_as_numpy(t: Tensor, result: Tensor) -> bool:
    """Whether ``t += ...`` giving ``result`` writes ``t`` rather than rebinding the name:
    an array (not a NumPy scalar, which is immutable) whose shape and kind the result keeps."""
    raw = t._value
    while isinstance(raw, Tensor):  # (through the traces under it, without reading it as a value)
        raw = raw._value
    return (isinstance(raw, np.ndarray) and tuple(result.shape) == tuple(t.shape)
            and np.can_cast(result.dtype, t.dtype, "same_kind"))


def _fits(t: Tensor, result, name: str):
    """``result`` of an in-place operation on ``t``, if it can be written into ``t``: of its
    shape, and of a dtype that casts to ``t``'s within its kind (float64 into float32, not
    a float into an integer Tensor), as PyTorch and NumPy require; else an error."""
    shape = tuple(result.shape) if hasattr(result, "shape") else np.shape(result)
    if shape != tuple(t.shape):
        raise RuntimeError(
            f"{name}: the result has shape {shape}, this Tensor has shape {tuple(t.shape)}; an "
            "in-place operation cannot change the shape. Compute out of place: x = x + y."
        )
    dtype = result.dtype if hasattr(result, "dtype") else np.result_type(result)
    if not np.can_cast(dtype, t.dtype, "same_kind"):
        raise RuntimeError(
            f"{name}: the result is {dtype}, which cannot be written into this {t.dtype} Tensor "
            f"(PyTorch refuses it too). Compute out of place (x = x + 0.5), or convert first "
            "(x = x.double())."
        )
    return result


def restride(t: Tensor, result: Tensor, name: str) -> Tensor:
    """``t`` becomes ``result``, a view of it with other dimensions: PyTorch's in-place view
    operations (``unsqueeze_``, ``squeeze_``, ``t_``, ``transpose_``, ...), which give a
    Tensor new dimensions over the same memory. A view stays a view of its base; the
    graph continues through ``result``. Inside a transform (grad, vmap, jit) it is refused."""
    if t._trace is not EAGER:  # a traced value cannot take on new dimensions in place: refused, not ignored
        raise RuntimeError(f"{name}: inside chainrule's transforms (grad, vmap, jit) a Tensor cannot change its "
                           f"dimensions in place; use the out-of-place form, x = x.{name[:-1]}(...)")
    if t._node is not None and t._node.prim is None:
        raise RuntimeError(f"{name}: a leaf Tensor that requires grad cannot change its dimensions in place "
                           f"(PyTorch refuses it too); use the out-of-place form, x = x.{name[:-1]}(...)")
    if [v for v in live_views(t) if v is not result]:
        raise RuntimeError(f"{name}: this Tensor has views, which would no longer match its dimensions; "
                           f"use the out-of-place form, x = x.{name[:-1]}(...)")
    old = t._node
    _take_on(t, result)
    _keep_retained(old, t)
    link = getattr(result, "_view", None)
    if link is not None and link[0] is not t:  # a view of a base: of that base still
        if getattr(t, "_view", None) is None:
            register_view(link[0], t)
        t._view = link
    elif hasattr(t, "_view"):
        del t._view
    if getattr(t, "_views", None):
        t._views = [r for r in t._views if r() is not result]
    return t


def _on_graph(t: Tensor, other) -> bool:
    """Whether an in-place write into ``t`` is recorded: ``t`` or ``other`` is on a graph,
    or ``t`` is a view of a Tensor that is, while recording is on."""
    if _records(t, other):
        return True
    view = getattr(t, "_view", None)
    return view is not None and not view[2] and view[0]._node is not None and grad_enabled()


# -- views: in-place writes into a view reach its base, and the base's into its views ----
def detach(t: Tensor) -> Tensor:
    """``t``'s values without its graph, sharing its memory: PyTorch's ``detach``."""
    if t._trace is EAGER and isinstance(t._value, np.generic):
        # a 0-d result holds a NumPy scalar, which nothing can write into: an array of
        # its own now, so that a write into the detached Tensor reaches t (a loss that
        # dist.all_reduce writes in place, as PyTorch's)
        t._value = np.array(t._value)
    d = Tensor(t.primal(), EAGER)
    if getattr(t, "_inference", False):  # (one Tensor's values: an inference one's are, as PyTorch's)
        d._inference = True
    if t._trace is EAGER and isinstance(d._value, np.ndarray):
        root, steps, _ = getattr(t, "_view", (t, (), False))
        d._view = (root, steps, True)
        register_view(root, d)
    return d


def detach_in_transform(t: Tensor) -> Tensor:
    """torch.func's ``x.detach()`` inside a transform: ``t``'s values, a value of the same
    transform without derivative, sharing ``t``'s memory (a change in place of either is
    seen by the other, and leaves the derivative of the other as it was)."""
    d = t.at[...].set(undifferentiated(t))
    root, steps, _ = getattr(t, "_view", (t, (), False))
    d._view = (root, steps, True)
    register_view(root, d)
    return d


def detach_(t: Tensor) -> Tensor:
    """``t`` itself, taken off its graph: a leaf without gradient from now on (PyTorch's
    ``detach_``; a view of a Tensor on a graph refuses, as there)."""
    if t._trace is not EAGER:
        raise not_eager_error(t, "detach_()", "use x.detach() or chainrule.stop_gradient(x)")
    view = getattr(t, "_view", None)
    if view is not None and not view[2] and view[0] is not t and (t._node is not None or view[0]._node is not None):
        raise RuntimeError("detach_(): this Tensor is a view of another one on a graph, which cannot be "
                           "detached in place (PyTorch refuses it too); use x = x.detach()")
    t._node = None
    return t


def _commit(t: Tensor, result: Tensor, name: str) -> None:
    """``t`` (an eager Tensor) takes the value ``result`` of an in-place operation that is
    recorded: a view's new values are written into its base, out of place and on the
    graph (PyTorch's CopySlices), and every live view of that base is made again from it
    (PyTorch's view replay), so all of them show the write and differentiate through it."""
    if not isinstance(result, Tensor):  # a constant (zero_, fill_): no derivative
        result = Tensor(np.asarray(result, dtype=t.dtype), EAGER)
    elif result._trace.records and t._trace is EAGER:
        # chainrule.jit: the value an eager Tensor takes on is one in the plain call too
        # (there an array that NumPy computed is made an eager Tensor above)
        result = result._trace.as_eager(result)
    elif result.dtype != t.dtype:  # x32.add_(y64) stays float32, as PyTorch's
        result = result.astype(t.dtype)
    view = getattr(t, "_view", None)
    if view is None:
        old = t._node
        _take_on(t, result)
        _keep_retained(old, t)
        root = t
    else:
        root, steps, alias = view
        if alias:
            raise RuntimeError(
                f"{name}: this Tensor shares its memory with one on a graph (it comes from "
                ".detach()), so a write that is recorded cannot reach both. Write into a copy "
                "(x.detach().clone()), or do the write inside `with chainrule.no_grad():`."
            )
        if root._node is not None and root._node.prim is None and grad_enabled():
            raise RuntimeError(
                f"{name}: a view of a leaf Tensor that requires grad cannot be modified in place "
                "while operations are recorded. Update the leaf inside `with chainrule.no_grad():` "
                "(as optimizers do), or write into a copy (y = x.clone(); y[0] += 1)."
            )
        if t._node is None and root._node is not None and grad_enabled():
            raise RuntimeError(
                f"{name}: this view was made while recording was off (no_grad), so it is not on "
                "its base's graph; a recorded write into it would give a wrong gradient. Make the "
                "view with recording on, or do the write inside `with chainrule.no_grad():`."
            )
        old = root._node
        _take_on(root, _root_holding(root, steps, result, name))
        _keep_retained(old, root)
    for v in live_views(root):
        rv = getattr(v, "_view", None)
        if rv is None or rv[0] is not root:
            continue
        if rv[2]:  # a detached view: the values only
            v._value = plain(replay(rv[1], root._value))
        else:
            again = replay(rv[1], root)
            old = v._node
            v._value, v._trace, v._node = again._value, again._trace, again._node
            _keep_retained(old, v)


def _root_holding(root: Tensor, steps, result: Tensor, name: str) -> Tensor:
    """``root``'s values with the view that ``steps`` make of it holding ``result``, out of
    place (PyTorch's CopySlices): the elements the view reads are found by making it of
    their positions; a step that reads parts of elements (``z.real``) writes them back by
    its primitive's ``view_scatter(base, new)``."""
    if any(getattr(prim, "view_scatter", None) is not None for prim, _, _ in steps):
        bases = [root]
        for step in steps[:-1]:
            bases.append(replay((step,), bases[-1]))
        for base, step in zip(reversed(bases), reversed(steps), strict=True):
            scatter = getattr(step[0], "view_scatter", None)
            result = scatter(base, result) if scatter is not None else _root_holding(base, (step,), result, name)
        return result
    positions = replay(steps, np.arange(root.size).reshape(root.shape)).reshape(-1)
    if np.unique(positions).size != positions.size:  # (PyTorch's backward pass refuses it)
        raise overlap_error(name)
    new = result if result.dtype == root.dtype else result.astype(root.dtype)
    return root.reshape(-1).at[positions].set(new.reshape(-1)).reshape(root.shape)


def _changed_in_transform(t: Tensor, result: Tensor, name: str) -> None:
    """``t``, a value of a transform, takes on ``result`` of an in-place change (see
    :func:`_write_in_transform`). Under ``no_grad()`` the values change and the
    derivative stays what it was, as PyTorch's graph does (``y.mul_(3)`` there leaves the
    derivative of ``y = x * 2`` at 2): the base of ``t`` takes on its new values with
    its old derivative, and its views are made again from it."""
    trace = t._trace
    link = getattr(t, "_view", None)
    root = t if link is None else link[0]
    if not isinstance(trace, PausedReverseTrace) or trace.tape is None or root._trace is not trace:
        _write_in_transform(t, result, name, True)
        return
    old = Tensor(root._value, trace, root._node)
    _write_in_transform(t, result, name, True)  # the new values, constants of the paused trace
    saved = set_transforms_grad_mode(True)  # (the mode the no_grad() block was entered from)
    try:
        _write_in_transform(root, old + (undifferentiated(root) - undifferentiated(old)), name, False)
    finally:
        set_transforms_grad_mode(saved)


def _write_in_transform(t: Tensor, result: Tensor, name: str, check: bool) -> None:
    """``t``, a value of a transform, takes on ``result``; a view writes it into its base
    (out of place, as PyTorch's CopySlices), and the base's other views are made again
    from it. ``check``: refuse what PyTorch's autograd refuses (:func:`_check_pytorch_allows`)."""
    trace = t._trace
    link = getattr(t, "_view", None)
    root = t if link is None else link[0]
    if check and pytorch_meaning_on() and (link is None or not link[2]):  # (x.detach() may be changed)
        _check_pytorch_allows(link, root, name)
    _take_on(t, result)
    if root is not t:
        if root._trace is not trace:  # (the base's transform has ended)
            return
        holding = _root_holding(root, link[1], t, name)
        if link[2]:  # through a detached alias: new values, the base's derivative (PyTorch's)
            holding = root + (undifferentiated(holding) - undifferentiated(root))
        _take_on(root, holding)
    for v in live_views(root):
        if v is not t and (v._trace is trace or v._trace is root._trace):
            again = replay(v._view[1], root)
            _take_on(v, again.at[...].set(undifferentiated(again)) if v._view[2] else again)


def _check_pytorch_allows(link, root: Tensor, name: str) -> None:
    """The refusals of PyTorch's autograd, for code that torch.func's reverse-mode transforms
    run (grad, vjp, jacrev, hessian): an in-place change of a differentiated argument, or
    of a view of it. (A view that split, chunk or unbind made may be changed, as in the
    eager layer, with the gradient of the same change of views made one at a time.)"""
    x = root
    while isinstance(x, Tensor):
        trace = x._trace
        if isinstance(trace, ReverseTrace) and not isinstance(trace, PausedReverseTrace) and trace.tape is not None:
            if x._node is not None and trace.tape[x._node] is LEAF:
                what = "a leaf Variable" if link is None else "a view of a leaf Variable"
                raise RuntimeError(
                    f"{name}: {what} that requires grad is being used in an in-place operation (the "
                    f"argument that {trace.name} differentiates; PyTorch refuses it too). Change a copy "
                    "(y = x.clone(); y.mul_(2)), or compute out of place (y = x * 2)."
                )
        x = x._value


def to_c_order(t: Tensor) -> None:
    """Move the memory ``t`` shares (its base's) to a C-ordered copy of the same values,
    its base's live views made again from it, so that they all still share it: a view that
    PyTorch's strides allow and NumPy's order of the values (chainrule's own, a
    convolution's channels first) does not can then share it too."""
    view = getattr(t, "_view", None)
    root = t if view is None else view[0]
    if not isinstance(root._value, np.ndarray) or root._value.flags.c_contiguous:
        return
    root._value = np.ascontiguousarray(root._value)
    for v in live_views(root):
        v._value = plain(replay(v._view[1], root._value))


def _keep_retained(old, t: Tensor) -> None:
    """``retain_grad()`` follows the Tensor to its new node, as in PyTorch: ``.grad`` is
    then the gradient of the value after the in-place operation."""
    if old is not None and old.prim is not None and old.tensor_ref is not None and t._node is not None:
        if t._node.tensor_ref is None:
            t._node.tensor_ref = old.tensor_ref
        old.tensor_ref = None


_NUMPY_DISPATCH = frozenset({"__array_ufunc__", "__array_function__"})


def numpy_called_by_user() -> bool:
    """Whether the NumPy call being handled (the innermost that NumPy handed to a Tensor's
    ``__array_ufunc__`` or ``__array_function__``) was made by the user's code rather than
    by chainrule's (NumPy's own Python frames in between skipped). Under ``chainrule.jit``
    chainrule's code writes into the arrays of eager Tensors (``undifferentiated(t)`` is a
    traced value there), which is recorded; the user's ``np.copyto(t, x)`` on an eager
    Tensor is refused, as in the plain call. False where no such call is being handled
    (chainrule's own functions called directly)."""
    frame = sys._getframe(1)
    while frame is not None and not (frame.f_code.co_name in _NUMPY_DISPATCH
                                     and (frame.f_globals.get("__name__") or "").startswith("chainrule.")):
        frame = frame.f_back
    if frame is None:
        return False
    frame = frame.f_back
    while frame is not None and (frame.f_globals.get("__name__") or "").split(".")[0] == "numpy":
        frame = frame.f_back
    return frame is not None and not (frame.f_globals.get("__name__") or "").startswith("chainrule.")


def recording_trace(target, values=()):
    """The trace of ``chainrule.jit`` when ``target`` (or the one array of an ``out=``
    tuple) is one of its values, else None: NumPy's writes into it (``out=``,
    ``np.copyto``, ``ufunc.at``) are then done and recorded, as ``x[i] = v`` is. None too
    where the target is an ndarray of the plain call and a Tensor among ``values`` (the
    write's operands, lists and tuples looked into) an eager Tensor there, a write that
    the plain call refuses; and where the target is an eager Tensor of the plain call and
    the user's code made the NumPy call (``np.copyto(t, x)``, which the plain call refuses
    too). A target that is an eager Tensor is chainrule's own write into its array
    otherwise (``undifferentiated(t)``, see numpy_called_by_user): recorded."""
    targets = target if isinstance(target, tuple) else (target,)
    traces = {t._trace for t in targets if isinstance(t, Tensor) and t._trace.records}
    if len(traces) != 1 or not all(isinstance(t, Tensor) for t in targets):
        return None
    trace = traces.pop()
    into_eager = bool(trace.eager) and any(t._node in trace.eager for t in targets)
    if into_eager and numpy_called_by_user():
        return None
    if trace.eager and not into_eager and any(
            isinstance(t, Tensor) and t._node in trace.eager
            for v in values for t in (v if isinstance(v, list | tuple) else (v,))):
        return None
    return trace


def recorded_only(values):
    """The trace of ``chainrule.jit`` when every Tensor among ``values`` (and in lists
    and tuples among them) is one of its values, which nothing differentiates, else None.
    None too where one of them is an eager Tensor in the plain call (``is_eager``): a
    NumPy function that the plain call refuses an eager Tensor is refused jitted too."""
    traces = set()
    for v in values:
        for t in v if isinstance(v, list | tuple) else (v,):
            if isinstance(t, Tensor):
                if not t._trace.records or t._node in t._trace.eager:
                    return None
                traces.add(t._trace)
    return traces.pop() if len(traces) == 1 else None


def _without_leading_ones(value):
    """``value`` without its leading dimensions of size 1, which broadcasting to the part
    written never needs: PyTorch's ``x[mask] = v`` takes a ``v`` of shape (1, 1), NumPy's
    refuses it for a boolean or array index (it drops them for basic indexing only)."""
    if not isinstance(value, Tensor | np.ndarray) or not value.ndim or value.shape[0] != 1:
        return value
    shape = value.shape
    k = next((i for i, n in enumerate(shape) if n != 1), len(shape))
    return value.reshape(shape[k:])


def setitem(t: Tensor, index, value, index_update: Callable) -> None:
    """``t[index] = value``: recorded out of place on a graph (by the mirror's
    ``index_update`` primitive), written in place otherwise."""
    if t._trace.records:  # chainrule.jit: written, as NumPy would, and recorded
        t._trace.setitem(t, index, value)
        return
    value = _without_leading_ones(value)
    if INFERENCE_MADE[0]:
        _check_inference(t, "__setitem__")
    if t._trace is not EAGER:
        # an index computed under chainrule.vmap stays a batch (one index per example)
        _refuse_batched_into_unbatched(t, (index, value), "__setitem__")
        _changed_in_transform(t, index_update(t, undifferentiated(index), value), "__setitem__")
        return
    if _on_graph(t, value) or _of_a_transform(value):
        _refuse_batched_into_unbatched(t, (index, value), "__setitem__")
        _check_leaf(t, "__setitem__")
        recorded_write(t, None, "__setitem__",
                       lambda: _commit(t, index_update(t, undifferentiated(index), value), "__setitem__"))
        return
    if write_part(t, plain(index), plain(value)):
        return
    new = np.array(t._value)
    new[plain(index)] = plain(value)
    write(t, new, "__setitem__")

"""The eager layer: PyTorch-like Tensors with ``.backward()`` on the same engine.

An eager Tensor that requires grad carries an :class:`EagerNode`; every primitive call
on it records one more node linked to its parents, and ``backward()`` sorts the graph
below the output and runs the same vjp rules as the functional transforms.

In-place operations follow one rule, so that no gradient is ever wrong:

* on a Tensor that is part of a recorded graph, ``x += y`` records ``x + y`` and rebinds
  ``x`` to it (the values saved by the graph are left intact);
* on a Tensor without a graph (a constant, or a parameter inside ``no_grad()``), the
  buffer is written in place and the Tensor's version goes up; a backward pass through a
  node that saved the old buffer then raises an error naming that node's operation.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np

from chainrule.core.anomaly import ANOMALY
from chainrule.core.backward import backward_pass, toposort
from chainrule.core.dtypes import (
    _DEFAULT_DTYPE,
    as_dtype,
    check_cpu,
    default_float_dtype,
    get_default_dtype,
    set_default_dtype,
    wrapped_int,
)
from chainrule.core.grad_mode import (  # noqa: F401  (PyTorch's grad modes, imported from here too)
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from chainrule.core.tensor import Tensor, TensorTypeError, undifferentiated
from chainrule.core.trace import EAGER, EagerNode, OutputCotangents, grad_enabled, register_view, set_grad_mode
from chainrule.core.values import MIRROR, plain

__all__ = [
    "tensor", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "set_default_dtype", "get_default_dtype", "default_float_dtype", "backward", "grad", "queue_callback", "EAGER",
]

def _holds_python_float(data) -> bool:
    if isinstance(data, float):
        return True
    if isinstance(data, list | tuple):
        return any(_holds_python_float(v) for v in data)
    return False


def tensor(data, requires_grad: bool = False, dtype=None, device=None) -> Tensor:
    """An eager Tensor holding a copy of ``data``. Python floats become float64 (NumPy's
    rule) or the dtype set with :func:`set_default_dtype`; arrays keep their dtype.

    >>> import chainrule as cr
    >>> x = cr.tensor([[1.0, 2.0]], requires_grad=True)
    >>> x.shape, x.dtype
    ((1, 2), dtype('float64'))
    """
    check_cpu(device, "tensor")
    value = data.primal() if isinstance(data, Tensor) else data
    if dtype is None and _DEFAULT_DTYPE[0] is not None and _holds_python_float(value):
        value = np.array(value)
        if value.dtype.kind == "f":
            value = value.astype(_DEFAULT_DTYPE[0])
    else:
        value = np.array(value, dtype=as_dtype(dtype))
    if value.dtype == object:
        raise TypeError(f"tensor(): cannot make a numeric array from {type(data).__name__}")
    t = Tensor(value, EAGER)
    if requires_grad:
        set_requires_grad(t, True)
    return t


def set_requires_grad(t: Tensor, flag: bool) -> None:
    if t._trace is not EAGER:
        raise RuntimeError("requires_grad belongs to eager Tensors; use chainrule.grad here")
    if flag:
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
            t._node = node
    elif t._node is not None:
        if t._node.prim is not None:
            raise RuntimeError(
                "requires_grad can be switched off only on a leaf Tensor; use .detach() "
                "for a copy of a computed Tensor without its graph"
            )
        t._node = None


# -- in-place operations --------------------------------------------------------------
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


def _take_on(t: Tensor, result: Tensor) -> None:
    """``t`` becomes ``result`` (its value, trace, node and forward-mode tangent)."""
    t._value, t._trace, t._node = result._value, result._trace, result._node
    if hasattr(result, "_tangent"):
        t._tangent = result._tangent


def inplace(t: Tensor, op: Callable, other, name: str) -> Tensor:
    """``t <op>= other``, by the rules in this module's docstring."""
    wrapped = wrapped_int(other, t.dtype)  # uint8 -= 300 is uint8 -= 44, as PyTorch's
    if wrapped is not None:
        other = wrapped
    if t._trace.records:  # chainrule.jit: written, as NumPy would, and recorded
        return t._trace.inplace(t, op, other, name)
    if t._trace is not EAGER:  # inside a transform, in-place is plain rebinding
        return op(t, other)
    if _of_a_transform(other) or _on_graph(t, other):
        _check_leaf(t, name)
        _commit(t, _fits(t, op(t, other), name), name)
        return t
    _write(t, _fits(t, op(plain(t), plain(other)), name), name)
    return t


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
    if t._trace is EAGER and isinstance(d._value, np.ndarray):
        root, steps, _ = getattr(t, "_view", (t, (), False))
        d._view = (root, steps, True)
        register_view(root, d)
    return d


def detach_(t: Tensor) -> Tensor:
    """``t`` itself, taken off its graph: a leaf without gradient from now on (PyTorch's
    ``detach_``; a view of a Tensor on a graph refuses, as there)."""
    if t._trace is not EAGER:
        raise RuntimeError("detach_() belongs to eager Tensors; use x.detach() or chainrule.stop_gradient(x)")
    view = getattr(t, "_view", None)
    if view is not None and not view[2] and view[0] is not t and (t._node is not None or view[0]._node is not None):
        raise RuntimeError("detach_(): this Tensor is a view of another one on a graph, which cannot be "
                           "detached in place (PyTorch refuses it too); use x = x.detach()")
    t._node = None
    return t


def _replay(steps, x):
    """The view that ``steps`` (the calls recorded by ``note_view``) make of ``x``."""
    for prim, rest, kwargs in steps:
        x = prim(x, *rest, **kwargs)
    return x


def _live_views(root: Tensor) -> list:
    """The views of ``root`` still alive (a copy of ``root`` holds the original's list,
    whose views are not its own)."""
    return [v for v in (r() for r in getattr(root, "_views", ())) if v is not None and v._view[0] is root]


def _commit(t: Tensor, result: Tensor, name: str) -> None:
    """``t`` (an eager Tensor) takes the value ``result`` of an in-place operation that is
    recorded: a view's new values are written into its base, out of place and on the
    graph (PyTorch's CopySlices), and every live view of that base is made again from it
    (PyTorch's view replay), so all of them show the write and differentiate through it."""
    if not isinstance(result, Tensor):  # a constant (zero_, fill_): no derivative
        result = Tensor(np.asarray(result, dtype=t.dtype), EAGER)
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
        positions = _replay(steps, np.arange(root.size).reshape(root.shape)).reshape(-1)
        if np.unique(positions).size != positions.size:
            raise RuntimeError(
                f"{name}: several elements of this view are one element of its base (a view "
                "made by expand or broadcast_to), so an in-place write is ambiguous. Write into "
                "a copy: x = x.clone()."
            )
        new = result if result.dtype == root.dtype else result.astype(root.dtype)
        flat = root.reshape(-1).at[positions].set(new.reshape(-1))
        old = root._node
        _take_on(root, flat.reshape(root.shape))
        _keep_retained(old, root)
    for v in _live_views(root):
        rv = getattr(v, "_view", None)
        if rv is None or rv[0] is not root:
            continue
        if rv[2]:  # a detached view: the values only
            v._value = plain(_replay(rv[1], root._value))
        else:
            again = _replay(rv[1], root)
            old = v._node
            v._value, v._trace, v._node = again._value, again._trace, again._node
            _keep_retained(old, v)


def _keep_retained(old, t: Tensor) -> None:
    """``retain_grad()`` follows the Tensor to its new node, as in PyTorch: ``.grad`` is
    then the gradient of the value after the in-place operation."""
    if old is not None and old.prim is not None and old.tensor_ref is not None and t._node is not None:
        if t._node.tensor_ref is None:
            t._node.tensor_ref = old.tensor_ref
        old.tensor_ref = None


def _write(t: Tensor, new, name: str = "in-place write") -> None:
    """Write ``new`` into ``t``'s memory (no graph is recorded): the Tensors that share it
    (its base and views) see the write, and all of them count it as one in-place write."""
    view = getattr(t, "_view", None)
    root = t if view is None else view[0]
    family = _family(t)
    buf = t._value
    _keep_saved_outputs(family, buf)
    if isinstance(buf, np.ndarray) and buf.shape == np.shape(new) and buf.flags.writeable:
        np.copyto(buf, new, casting="unsafe")
    elif view is not None:  # a view NumPy made read-only (diagonal): through the base
        positions = _replay(view[1], np.arange(root.size).reshape(root.shape))
        if np.unique(positions).size != positions.size:
            raise RuntimeError(
                f"{name}: several elements of this view are one element of its base (a view "
                "made by expand or broadcast_to), so an in-place write is ambiguous. Write into "
                "a copy: x = x.clone()."
            )
        base = root._value
        np.put(base, positions, np.broadcast_to(np.asarray(new, dtype=base.dtype), positions.shape))
        t._value = _replay(view[1], base)
    else:
        t._value = np.asarray(new, dtype=np.result_type(buf))
    _count_write(family)


def _family(t: Tensor) -> list:
    """``t`` and the Tensors that share its memory: its base and the base's live views."""
    view = getattr(t, "_view", None)
    if view is not None:
        return [view[0], *_live_views(view[0])]
    return [t, *_live_views(t)] if getattr(t, "_views", None) else [t]


def _count_write(family) -> None:
    """One in-place write into memory that ``family`` shares (PyTorch's version counter,
    shared by a base and its views)."""
    EAGER.clock += 1
    for member in family:
        member._version = EAGER.clock


def _keep_saved_outputs(family, buf) -> None:
    """A recorded call keeps its result for the backward pass; when that result's memory
    is about to be written (outside the graph), the call keeps a copy instead, so that
    its derivative is that of the values it computed."""
    for member in family:
        node = member._node
        if node is None or node.prim is None or node.entry is None:
            continue
        ans = node.entry[4]
        if isinstance(ans, np.ndarray) and np.may_share_memory(ans, buf):
            node.entry = (*node.entry[:4], ans.copy())


def recording_trace(target):
    """The trace of ``chainrule.jit`` when ``target`` (or the one array of an ``out=``
    tuple) is one of its values, else None: NumPy's writes into it (``out=``,
    ``np.copyto``, ``ufunc.at``) are then done and recorded, as ``x[i] = v`` is."""
    targets = target if isinstance(target, tuple) else (target,)
    traces = {t._trace for t in targets if isinstance(t, Tensor) and t._trace.records}
    if len(traces) == 1 and all(isinstance(t, Tensor) for t in targets):
        return traces.pop()
    return None


def recorded_only(values):
    """The trace of ``chainrule.jit`` when every Tensor among ``values`` (and in lists
    and tuples among them) is one of its values, which nothing differentiates, else None."""
    traces = set()
    for v in values:
        for t in v if isinstance(v, list | tuple) else (v,):
            if isinstance(t, Tensor):
                if not t._trace.records:
                    return None
                traces.add(t._trace)
    return traces.pop() if len(traces) == 1 else None


def setitem(t: Tensor, index, value, index_update: Callable) -> None:
    """``t[index] = value``: recorded out of place on a graph (by the mirror's
    ``index_update`` primitive), written in place otherwise."""
    if t._trace.records:  # chainrule.jit: written, as NumPy would, and recorded
        t._trace.setitem(t, index, value)
        return
    if t._trace is not EAGER:
        # an index computed under chainrule.vmap stays a batch (one index per example)
        _take_on(t, index_update(t, undifferentiated(index), value))
        return
    if _on_graph(t, value) or _of_a_transform(value):
        _check_leaf(t, "__setitem__")
        _commit(t, index_update(t, undifferentiated(index), value), "__setitem__")
        return
    buf = t._value
    if isinstance(buf, np.ndarray) and buf.flags.writeable:
        family = _family(t)
        _keep_saved_outputs(family, buf)
        buf[plain(index)] = plain(value)
        _count_write(family)
        return
    new = np.array(buf)
    new[plain(index)] = plain(value)
    _write(t, new, "__setitem__")


# -- hooks ----------------------------------------------------------------------------
class HookHandle:
    def __init__(self, hooks: list, hook: Callable):
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _require_graph(t: Tensor, what: str) -> EagerNode:
    if t._trace is not EAGER or t._node is None:
        raise RuntimeError(f"{what} needs an eager Tensor that requires grad")
    return t._node


def register_hook(t: Tensor, hook: Callable) -> HookHandle:
    node = _require_graph(t, "register_hook")
    if node.hooks is None:
        node.hooks = []
    node.hooks.append(hook)
    return HookHandle(node.hooks, hook)


class _AfterAccumulate:
    """A hook kept in a leaf's ``hooks`` list that runs after its ``.grad`` is updated
    (the others run before, on the incoming gradient)."""

    __slots__ = ("fun",)

    def __init__(self, fun: Callable):
        self.fun = fun


def register_post_accumulate_grad_hook(t: Tensor, hook: Callable) -> HookHandle:
    node = _require_graph(t, "register_post_accumulate_grad_hook")
    if node.prim is not None:
        raise RuntimeError(
            "register_post_accumulate_grad_hook: only a leaf Tensor accumulates a .grad; "
            "use register_hook on a computed Tensor"
        )
    if node.tensor_ref is None:
        node.tensor_ref = weakref.ref(t)
    if node.hooks is None:
        node.hooks = []
    entry = _AfterAccumulate(hook)
    node.hooks.append(entry)
    return HookHandle(node.hooks, entry)


# Callbacks queued by hooks during a backward pass, one list per running backward().
_queued: list[list[Callable]] = []


def queue_callback(callback: Callable[[], None]) -> None:
    """Run ``callback()`` when the backward pass now running has finished, just before its
    ``backward()`` returns (callbacks run in the order queued). Call it from a hook:
    data-parallel training waits for its gradient reductions this way.

    >>> import chainrule as cr
    >>> from chainrule.core.eager import queue_callback
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> h = w.register_hook(lambda g: queue_callback(lambda: print("done")))
    >>> (w * w).sum().backward()
    done
    """
    if not _queued:
        raise RuntimeError("queue_callback() is for hooks that run during backward()")
    _queued[-1].append(callback)


def retain_grad(t: Tensor) -> None:
    node = _require_graph(t, "retain_grad")
    if node.tensor_ref is None:
        node.tensor_ref = weakref.ref(t)


def retains_grad(t: Tensor) -> bool:
    node = t._node
    return (t._trace is EAGER and node is not None and node.prim is not None
            and getattr(node, "tensor_ref", None) is not None and node.tensor_ref() is t)


# -- the backward pass ------------------------------------------------------------------
def backward(t: Tensor, gradient=None, retain_graph: bool | None = None, create_graph: bool = False,
             inputs=None) -> None:
    """``t.backward()``: the gradient into ``.grad`` of the leaves ``t`` came from, or only
    of ``inputs`` (leaves or not), as PyTorch's ``inputs=``."""
    if inputs is None:
        _run_backward(t, gradient, bool(retain_graph), create_graph, None)
        return
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not inputs:
        raise RuntimeError("backward: inputs= is an empty sequence; leave it out to fill the .grad of every leaf")
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or x._trace is not EAGER or x._node is None:
            raise RuntimeError(f"backward: inputs[{i}] is not an eager Tensor that requires grad")
    collect = {x._node: None for x in inputs}
    _run_backward(t, gradient, bool(retain_graph), create_graph, collect)
    for x in inputs:
        g = collect[x._node]
        if g is not None:
            g = _in_dtype(g, x.dtype)
            old = getattr(x, "_grad", None)  # (a non-leaf input: no warning for reading it here)
            x._grad = _as_tensor(g) if old is None else _as_tensor(_plain_sum(old, g))


def _run_backward(t: Tensor, gradient, retain_graph: bool, create_graph: bool, collect) -> None:
    if t._trace is not EAGER:
        raise RuntimeError(
            "backward() is for eager Tensors; inside chainrule.grad and the other "
            "transforms, return the value and let the transform differentiate it"
        )
    root = t._node
    if root is None:
        raise RuntimeError(
            "this Tensor does not require grad, so there is nothing to differentiate: make "
            "its inputs with chainrule.tensor(..., requires_grad=True) (outside no_grad())"
        )
    value = t._value
    if gradient is None:
        if np.size(value) != 1:
            raise RuntimeError(
                f"backward() without a gradient needs a one-element Tensor, this one has shape "
                f"{np.shape(value)}; call .sum() first or pass gradient= of that shape"
            )
        gradient = np.ones_like(value)
    else:
        gradient = gradient if create_graph and isinstance(gradient, Tensor) else plain(gradient)
        if np.shape(plain(gradient)) != np.shape(value):
            raise ValueError(
                f"gradient has shape {np.shape(plain(gradient))} but the Tensor has shape "
                f"{np.shape(value)}"
            )
    retain_graph = retain_graph or create_graph  # a graph of the gradient refers to it
    order = toposort(root)
    saved = set_grad_mode(create_graph)
    _queued.append(callbacks := [])
    _collecting.append(collect)
    _reached_by_recomputation.append((len(_running_cotangents), pending := {} if collect is None else None))
    try:
        try:
            eager_backward_pass(order, gradient, retain_graph, create_graph, collect)
        finally:
            set_grad_mode(saved)
            _collecting.pop()
            _reached_by_recomputation.pop()
        for node, g in (pending or {}).items():  # once each, as if the pass had reached them
            _to_grad(node, _hooked(node, g, False))
        for callback in callbacks:  # a callback may queue more: the loop reaches them
            callback()
    finally:
        _queued.pop()


# What each running backward pass collects into (None: the .grad of leaves), innermost last
_collecting: list = []
# The cotangents of each running pass over a graph (the nodes it has still to reach),
# innermost last
_running_cotangents: list[dict] = []
# For each running backward() or grad(): where its passes begin in _running_cotangents,
# and the gradients of leaves that only checkpoints' recomputations reached (a module's
# parameters read inside a checkpointed function), summed and written to .grad once the
# pass is done, so that their hooks run once, as for any leaf (None for grad(), which
# writes no .grad)
_reached_by_recomputation: list[tuple[int, dict | None]] = []


def nested_backward(roots: list, gradients: list, inputs: list) -> list:
    """From inside a vjp rule of a running backward pass (a checkpoint's recomputation):
    the backward pass of the eager Tensors ``roots`` weighted by ``gradients``, whose leaf
    gradients go where the running pass puts its own (``.grad``, or what :func:`grad`
    collects), and whose callbacks run when the running pass ends. Returns the gradients
    of the leaves ``inputs`` (None where there is none), which it does not write."""
    if not _collecting:
        raise RuntimeError("nested_backward is for vjp rules that run during backward()")
    outer = _collecting[-1]
    collect = {t._node: None for t in inputs}
    if outer is not None:
        collect.update((node, None) for node in outer)
    others: dict = {}
    saved = set_grad_mode(False)
    _collecting.append(collect)
    try:
        for k, (root, g) in enumerate(zip(roots, gradients, strict=True)):
            eager_backward_pass(toposort(root._node), plain(g), k < len(roots) - 1, False, collect, others)
    finally:
        _collecting.pop()
        set_grad_mode(saved)
    if outer is not None:
        for node in outer:
            g = collect[node]
            if g is not None:
                outer[node] = g if outer[node] is None else outer[node] + g
    # the other leaves' gradients go to the innermost pass of this backward() that reaches
    # the leaf too (it has not yet: a leaf is older than the calls that read it), else to
    # what backward() writes to .grad when it is done
    first, pending = _reached_by_recomputation[-1]
    passes = _running_cotangents[first:][::-1]
    for node, g in others.items():
        into = next((cots for cots in passes if node in cots), pending)
        if into is not None:
            into[node] = g if into.get(node) is None else into[node] + g
    return [collect[t._node] for t in inputs]


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` (weighted by ``grad_outputs``) with respect to
    ``inputs``, returned rather than added to ``.grad`` (PyTorch's ``torch.autograd.grad``).
    With ``create_graph=True`` they are on the graph, so a gradient penalty differentiates.
    PyTorch's arguments in its order (``only_inputs`` is accepted and, as there, ignored).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> (g,) = cr.autograd.grad((x ** 3).sum(), x, create_graph=True)
    >>> (g * g).sum().backward(); x.grad.tolist()
    [36.0, 288.0]
    """
    if is_grads_batched:
        raise NotImplementedError("grad(is_grads_batched=True): use chainrule.vmap over the grad_outputs")
    allow_unused = bool(allow_unused) or materialize_grads
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor | np.ndarray):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or x._trace is not EAGER or x._node is None:
            raise RuntimeError(f"grad: input {i} is not an eager Tensor that requires grad")
    collect = {x._node: None for x in inputs}
    kept = retain_graph if retain_graph is not None else create_graph
    for k, (out, go) in enumerate(zip(outputs, grad_outputs, strict=True)):
        if not isinstance(out, Tensor) or out._node is None:
            raise RuntimeError(f"grad: output {k} does not require grad (it does not depend on the inputs)")
        _run_backward(out, go, kept or k < len(outputs) - 1, create_graph, collect)
    result = []
    for i, x in enumerate(inputs):
        g = collect[x._node]
        if g is None:
            if not (allow_unused or materialize_grads):
                raise RuntimeError(f"grad: input {i} was not used to compute the outputs; pass allow_unused=True "
                                   "to get None for it")
            g = np.zeros_like(x._value) if materialize_grads else None
        result.append(None if g is None else _as_tensor(g))
    return tuple(result)


def _as_tensor(g) -> Tensor:
    return g if isinstance(g, Tensor) else Tensor(g, EAGER)


def eager_backward_pass(order, gradient, retain_graph: bool, create_graph: bool, collect=None,
                        others: dict | None = None) -> None:
    """The backward pass over an eager graph: ``core.backward.backward_pass`` with the
    nodes (``order``, the root first) as keys, and the eager layer's own work at the
    nodes that need it (``visit``): hooks, ``.grad`` of leaves and retained Tensors,
    checks of in-place writes, recomputation for ``create_graph``.

    Most nodes need none of that (an interior node without hooks, recorded after the
    last in-place write): their entries are handed to the pass as they are and, unless
    the graph is retained, taken off the nodes at once, so the pass frees each node's
    saved values as soon as its rules have run, as it does on a tape. A leaf without
    hooks has no rules to run: its ``.grad`` is written once the pass is done.

    ``collect`` (for :func:`grad`): a dict whose nodes get their gradient added there,
    and no ``.grad`` is written (unless ``others``: then the gradients of the other
    leaves are added there, for :func:`nested_backward` to hand on).
    """
    tape = {}
    watched = set()
    leaves = []
    clock = EAGER.clock
    free = not retain_graph
    for node in order:
        prim = node.prim
        if prim is None and not node.hooks:
            leaves.append(node)
            continue
        tape[node] = entry = node.entry
        if (node.hooks or node.tensor_ref is not None or node.stamp < clock or create_graph
                or prim is None or entry is None or (collect is not None and node in collect)):
            watched.add(node)
        elif free:
            node.free()
    cots = dict.fromkeys(order)
    cots[order[0]] = gradient
    origins = {node: getattr(node, "origin", None) for node in order} if ANOMALY[0] else None

    def visit(node, g, entry):
        # a leaf's gradient handed on (see nested_backward) meets its hooks where it lands
        if node.hooks and (others is None or node.prim is not None or node in collect):
            g = _hooked(node, g, create_graph)
        if collect is not None and node in collect:
            collect[node] = g if collect[node] is None else collect[node] + g
        elif node.tensor_ref is not None:
            if others is not None:
                others[node] = g if others.get(node) is None else others[node] + g
            elif collect is None:
                _to_grad(node, g)
        prim = node.prim
        if prim is None:
            return g, entry
        if entry is None:
            raise RuntimeError(
                f"backward through {prim.__name__} a second time: its graph was freed by the "
                "first backward(). Pass retain_graph=True to the first call to keep it."
            )
        if EAGER.clock > node.stamp:  # something was written in place since: look closer
            _check_versions(node)
        if create_graph:
            kwargs = entry[3]
            inputs = _as_recorded(node.inputs, entry[2], entry[1])
            entry = (prim, entry[1], inputs, kwargs, prim(*inputs, **kwargs))
        if free:
            node.free()
        return g, entry

    _running_cotangents.append(cots)
    try:
        backward_pass(tape, cots, origins=origins, order=tape, visit=visit, watched=watched)
    finally:
        _running_cotangents.pop()
    for node in leaves:
        g = cots[node]
        if g is None:
            continue
        if collect is not None and node in collect:
            collect[node] = g if collect[node] is None else collect[node] + g
        elif others is not None:
            others[node] = g if others.get(node) is None else others[node] + g
        elif collect is None:
            _accumulate(node, g)


def _hooked(node: EagerNode, g, create_graph: bool):
    """``g`` after the hooks of ``node`` that see the incoming gradient (register_hook)."""
    for hook in list(node.hooks or ()):
        if type(hook) is _AfterAccumulate:
            continue
        if isinstance(g, OutputCotangents):  # a node of several outputs: a tuple
            r = hook(tuple(None if c is None else _as_tensor(c) for c in g))
            if r is not None:
                g = OutputCotangents(c if c is None or create_graph else plain(c) for c in r)
            continue
        r = hook(_as_tensor(g))
        if r is not None:
            g = r if create_graph else plain(r)
    return g


def _to_grad(node: EagerNode, g) -> None:
    """``g`` added to the ``.grad`` of the Tensor of ``node``, then its post-accumulate hooks."""
    owner = _accumulate(node, g)
    if owner is not None and node.hooks:
        for hook in list(node.hooks):
            if type(hook) is _AfterAccumulate and hook.fun(owner) is not None:
                raise RuntimeError("a post-accumulate-grad hook must return None (it changes "
                                   "tensor.grad in place), as in PyTorch")


def _as_recorded(inputs, args, parents) -> tuple:
    """The argument Tensors of a recorded call as they were then: one that an in-place
    operation has since rebound to a new value (``y.mul_(x)`` on a graph) is stood in for by
    a Tensor of the value and node the call saw, so that recomputing the call for
    ``create_graph`` differentiates what was computed."""
    fixed = None
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t._value is not args[i]:
            if fixed is None:
                fixed = list(inputs)
            fixed[i] = Tensor(args[i], EAGER, dict(parents).get(i))
    return inputs if fixed is None else tuple(fixed)


def _accumulate(node: EagerNode, g) -> Tensor | None:
    """Add ``g`` to the ``.grad`` of the Tensor of ``node`` (if it is still alive); that
    Tensor, or None."""
    owner = node.tensor_ref()
    if owner is not None:
        g = _in_dtype(g, owner.dtype)
        old = owner.grad
        owner._grad = _as_tensor(g) if old is None else _as_tensor(_plain_sum(old, g))
    return owner


def _in_dtype(g, dtype: np.dtype):
    """A gradient in the dtype of its Tensor, as PyTorch's ``.grad`` (a float32 leaf used
    in float64 arithmetic downstream gets a float32 gradient); on the graph with
    create_graph."""
    gd = g.dtype if isinstance(g, Tensor) else np.result_type(g)
    if gd == dtype or dtype.kind not in "fc":
        return g
    if gd.kind == "c" and dtype.kind != "c":
        g = MIRROR.real(g) if isinstance(g, Tensor) else np.real(g)
    return MIRROR.astype(g, dtype) if isinstance(g, Tensor) else np.asarray(g).astype(dtype)


def _plain_sum(old: Tensor, g):
    # .grad accumulates; with create_graph the sum stays on the graph
    return old + g if isinstance(g, Tensor) else old._value + g


def _check_versions(node: EagerNode) -> None:
    for a in node.inputs:
        if isinstance(a, Tensor) and getattr(a, "_version", 0) > node.stamp:
            raise RuntimeError(
                f"a value that {node.prim.__name__} saved for the backward pass was modified "
                "in place afterwards, so its gradient would be wrong. Modify a copy instead "
                "(x = x + y rather than x += y), or run backward() before the update."
            )
